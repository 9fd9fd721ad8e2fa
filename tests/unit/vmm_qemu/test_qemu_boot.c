/*
 * Tests of the QEMU driver against the real qemu-system-x86_64: probing, a
 * start that QEMU refuses, and a real guest from the runtime bundle booted
 * to systemd and stopped with ctrl-alt-delete. Each test skips, saying why,
 * when QEMU or the bundle ($BANGER_RUNTIME_DIR, built by `make
 * runtime-bundle`) is absent. No timing is asserted; the figures are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/spawn.h"
#include "vmm/qemu.h"

#define QEMU_BIN "qemu-system-x86_64"

static int have_qemu(void)
{
	char *p = spawn_which(QEMU_BIN);
	int ok = p != NULL;

	free(p);
	if (!ok)
		print_message("SKIP: %s not installed (apt-get install qemu-system-x86)\n",
			      QEMU_BIN);
	return ok;
}

static char *tmpdir_new(void)
{
	char *d = xstrdup("/tmp/banger-qemu-boot.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static char *slurp(const char *path)
{
	char *d = NULL;

	if (fs_read(path, 64 << 20, &d, NULL, NULL) < 0)
		return xstrdup("");
	return d;
}

static int file_has(const char *path, const char *needle)
{
	char *d = slurp(path);
	int r = strstr(d, needle) != NULL;

	free(d);
	return r;
}

static void test_probe_real(void **state)
{
	char version[32] = "";
	struct err e;

	(void)state;
	if (!have_qemu())
		skip();
	err_clear(&e);
	assert_int_equal(vmm_qemu.probe(NULL, version, sizeof(version), &e), 0);
	assert_true(atoi(version) >= QEMU_MIN_MAJOR);
	print_message("QEMU %s\n", version);
}

/* QEMU refuses to start (no kernel file): the error says why, in QEMU's
 * words, points at the console log, and nothing is left behind. */
static void test_start_failure_reports_qemu_message(void **state)
{
	char *dir, sock[256], ev[256], con[256], kernel[256], msg[4096];
	struct vmm_config c = {0};
	struct vmm_proc p = {0};
	struct err e;
	char *log;

	(void)state;
	if (!have_qemu())
		skip();
	dir = tmpdir_new();
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(con, sizeof(con), "%s/firecracker.log", dir);
	snprintf(kernel, sizeof(kernel), "%s/no-such-vmlinux", dir);
	assert_int_equal(fs_write_atomic(con, "output of an earlier boot\n", 26, 0600, &e), 0);
	c.vm_name = "broken";
	c.api_sock = sock;
	c.kernel = kernel;
	c.vcpu = 1;
	c.mem_mib = 128;
	c.console_log = con;
	c.accel = "tcg";
	err_clear(&e);
	assert_int_equal(vmm_qemu.start(&c, &p, &e), -1);
	err_format(&e, msg, sizeof(msg));
	print_message("error as the user sees it: %s\n", msg);
	assert_int_equal(e.code, ERR_VMM);
	assert_non_null(strstr(e.msg, "exited with status"));
	assert_non_null(strstr(e.msg, "no-such-vmlinux")); /* QEMU's own message */
	assert_string_equal(e.log, con);
	assert_int_equal(qemu_event_sock_path(sock, ev, sizeof(ev), &e), 0);
	assert_false(fs_exists(sock));
	assert_false(fs_exists(ev));
	/* The log was appended to, not truncated, and marks this start. */
	log = slurp(con);
	assert_non_null(strstr(log, "output of an earlier boot\n--- banger: qemu start "));
	free(log);
	fs_rm_rf(dir, NULL);
	free(dir);
}

/* ---- real guest from the runtime bundle ---------------------------------- */

struct bundle {
	char kernel[512], initrd[512], rootfs[512];
};

static int bundle_load(struct bundle *b)
{
	const char *dir = getenv("BANGER_RUNTIME_DIR");
	char path[512];
	json_t *root;
	int ok = 0;

	if (!dir || !*dir) {
		print_message("SKIP: BANGER_RUNTIME_DIR is not set\n");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/bundle.json", dir);
	root = json_load_file(path, 0, NULL);
	if (!root) {
		print_message("SKIP: no runtime bundle at %s (run `make runtime-bundle`)\n", path);
		return 0;
	}
	snprintf(b->kernel, sizeof(b->kernel), "%s/%s", dir,
		 json_string_value(json_object_get(root, "kernel")));
	snprintf(b->initrd, sizeof(b->initrd), "%s/%s", dir,
		 json_string_value(json_object_get(root, "initrd")));
	snprintf(b->rootfs, sizeof(b->rootfs), "%s/%s", dir,
		 json_string_value(json_object_get(root, "rootfs")));
	json_decref(root);
	ok = fs_exists(b->kernel) && fs_exists(b->initrd) && fs_exists(b->rootfs);
	if (!ok)
		print_message("SKIP: runtime bundle in %s is incomplete\n", dir);
	return ok;
}

static void make_disk(const char *path)
{
	const char *argv[] = {
	    "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
	    path,	 "2G", NULL};
	struct err e;

	if (spawn_check(argv, NULL, &e) < 0)
		fail_msg("mkfs.ext4 %s: %s", path, e.msg);
}

/* Waits until console shows needle; fails if QEMU exits first. */
static long long wait_console(const char *con, const char *needle, pid_t pid, int limit_s)
{
	long long t0 = mono_ms();
	int status;

	while (!file_has(con, needle)) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			fail_msg("QEMU exited (status %d) before the console showed \"%s\"; see %s",
				 status, needle, con);
		if (mono_ms() - t0 > limit_s * 1000LL)
			fail_msg("console did not show \"%s\" within %d s; see %s", needle, limit_s,
				 con);
		usleep(200 * 1000);
	}
	return mono_ms() - t0;
}

static void test_boot_to_systemd_and_stop(void **state)
{
	char *dir, sock[256], con[256], overlay[256], work[256], why[256];
	char name[64], reason[64] = "", shutdown_reason[64] = "";
	struct vmm_config c = {0};
	struct vmm_proc p = {0};
	struct bundle b;
	long long t0, boot_ms, stop_ms;
	struct err e;
	int fd, r, status;

	(void)state;
	if (!have_qemu() || !bundle_load(&b))
		skip();
	dir = tmpdir_new();
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(con, sizeof(con), "%s/firecracker.log", dir);
	snprintf(overlay, sizeof(overlay), "%s/overlay.ext4", dir);
	snprintf(work, sizeof(work), "%s/work.ext4", dir);
	make_disk(overlay);
	make_disk(work);
	c.vm_id = "00000000000000aa";
	c.vm_name = "qemu-boot-test";
	c.vm_dir = dir;
	c.api_sock = sock;
	c.kernel = b.kernel;
	c.initrd = b.initrd;
	c.boot_args = "banger.hostname=qemu-boot-test";
	c.drives[0] = (struct vmm_drive){"base", b.rootfs, 1, 1};
	c.drives[1] = (struct vmm_drive){"overlay", overlay, 0, 0};
	c.drives[2] = (struct vmm_drive){"work", work, 0, 0};
	c.ndrives = 3;
	c.vcpu = 2;
	c.mem_mib = 1024;
	c.console_log = con;
	c.accel = qemu_accel_choose("auto", why, sizeof(why));
	print_message("accel: %s\n", why);

	err_clear(&e);
	t0 = mono_ms();
	if (vmm_qemu.start(&c, &p, &e) < 0)
		fail_msg("start: %s (see %s)", e.msg, e.log);
	print_message("start returned in %lld ms (pid %d)\n", mono_ms() - t0, (int)p.pid);
	assert_true(proc_alive(p.pid, p.start_time));
	fd = qemu_watch_open(sock, &e);
	if (fd < 0)
		fail_msg("watch: %s", e.msg);

	/* systemd is PID 1 and handles ctrl-alt-delete as a clean reboot. */
	boot_ms = wait_console(con, "Reached target", p.pid, 300);
	print_message("console showed systemd's \"Reached target\" %lld ms after start\n", boot_ms);
	assert_true(file_has(con, "/dev/vda read-only"));

	t0 = mono_ms();
	if (vmm_qemu.request_stop(&c, &p, &e) < 0)
		fail_msg("request_stop: %s", e.msg);
	while ((r = qmp_next_event(fd, name, sizeof(name), reason, sizeof(reason), 180000, &e)) ==
	       QMP_WAIT_EVENT)
		if (!strcmp(name, "SHUTDOWN"))
			snprintf(shutdown_reason, sizeof(shutdown_reason), "%s", reason);
	assert_int_equal(r, QMP_WAIT_CLOSED);
	assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
	stop_ms = mono_ms() - t0;
	close(fd);
	print_message("QEMU exited by itself %lld ms after request_stop, status %d, SHUTDOWN "
		      "reason %s\n",
		      stop_ms, WEXITSTATUS(status), shutdown_reason);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(shutdown_reason, "guest-reset");
	assert_true(file_has(con, "systemd-shutdown"));

	vmm_qemu.cleanup(&c);
	assert_false(fs_exists(sock));
	fs_rm_rf(dir, NULL);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probe_real),
	    cmocka_unit_test(test_start_failure_reports_qemu_message),
	    cmocka_unit_test(test_boot_to_systemd_and_stop),
	};

	return cmocka_run_group_tests_name("vmm_qemu_boot", tests, NULL, NULL);
}
