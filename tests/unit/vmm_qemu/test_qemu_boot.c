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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* ---- suspend and resume of a real guest ---------------------------------- */

/* A guest service that prints a counter and the guest's clock every second:
 * after a resume the counter goes on from where it was (the same process,
 * its memory kept) and the clock shows how far the guest lags the host. */
static const char tick_script[] =
    "#!/bin/sh\n"
    "# banger.test_fill_mib=N: first fill N MiB of memory (tmpfs) with random bytes\n"
    "for w in $(cat /proc/cmdline); do\n"
    "\tcase $w in banger.test_fill_mib=*) head -c \"${w#*=}M\" /dev/urandom >/dev/shm/fill ;; esac\n"
    "done\n"
    "i=0\n"
    "while :; do\n"
    "\ti=$((i + 1))\n"
    "\techo \"banger-tick $i $(date +%s.%N)\" >/dev/console\n"
    "\tsleep 1\n"
    "done\n";
static const char tick_unit[] = "[Unit]\n"
				"Description=banger test ticker\n"
				"DefaultDependencies=no\n"
				"[Service]\n"
				"ExecStart=/usr/local/bin/banger-tick\n";

static void put_file(const char *path, const char *text, mode_t mode)
{
	struct err e;

	if (fs_write_atomic(path, text, strlen(text), mode, &e) < 0)
		fail_msg("write %s: %s", path, e.msg);
}

/* The overlay disk, its upper layer holding the ticker, enabled. */
static void make_overlay_with_ticker(const char *dir, const char *path)
{
	char src[512], p[700];
	const char *argv[] = {"mkfs.ext4", "-q", "-F", "-d", src, path, "2G", NULL};
	struct err e;

	snprintf(src, sizeof(src), "%s/overlay-src", dir);
	snprintf(p, sizeof(p), "%s/upper/etc/systemd/system/multi-user.target.wants", src);
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	snprintf(p, sizeof(p), "%s/upper/usr/local/bin", src);
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	snprintf(p, sizeof(p), "%s/upper/usr/local/bin/banger-tick", src);
	put_file(p, tick_script, 0755);
	snprintf(p, sizeof(p), "%s/upper/etc/systemd/system/banger-tick.service", src);
	put_file(p, tick_unit, 0644);
	snprintf(p, sizeof(p),
		 "%s/upper/etc/systemd/system/multi-user.target.wants/banger-tick.service", src);
	assert_int_equal(symlink("/etc/systemd/system/banger-tick.service", p), 0);
	if (spawn_check(argv, NULL, &e) < 0)
		fail_msg("mkfs.ext4 -d %s: %s", src, e.msg);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The last "banger-tick N T" line of the console from offset from on.
 * Returns N (0: none yet) and the guest's time T in *guest. */
static long last_tick(const char *con, long long from, double *guest)
{
	char *d = slurp(con), *p;
	long n = 0;

	if ((long long)strlen(d) < from)
		from = (long long)strlen(d);
	for (p = d + from; (p = strstr(p, "banger-tick ")); p++) {
		long k;
		double t;

		if (sscanf(p, "banger-tick %ld %lf", &k, &t) == 2) {
			n = k;
			*guest = t;
		}
	}
	free(d);
	return n;
}

/* Waits for a tick numbered above after; returns its number and sets *lag
 * to host time minus guest time when the line was seen (to ~50 ms). */
static long wait_tick(const char *con, long long from, long after, pid_t pid, int limit_s,
		      double *lag)
{
	long long t0 = mono_ms();
	double guest = 0;
	long n;
	int status;

	while ((n = last_tick(con, from, &guest)) <= after) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			fail_msg("QEMU exited (status %d) before a tick after %ld; see %s", status,
				 after, con);
		if (mono_ms() - t0 > limit_s * 1000LL)
			fail_msg("no tick after %ld within %d s; see %s", after, limit_s, con);
		usleep(50 * 1000);
	}
	*lag = now_s() - guest;
	return n;
}

static int has_after(const char *con, long long from, const char *needle)
{
	char *d = slurp(con);
	int r = (long long)strlen(d) >= from && strstr(d + from, needle) != NULL;

	free(d);
	return r;
}

/* What the guest said after the resume, ticks left out (for the log). */
static void print_console_after(const char *con, long long from)
{
	char *d = slurp(con), *save = NULL;

	print_message("console after the resume (ticks left out):\n");
	if ((long long)strlen(d) > from)
		for (char *l = strtok_r(d + from, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (!strstr(l, "banger-tick "))
				print_message("  | %s\n", l);
	free(d);
}

static void count_proc(pid_t pid, const char *hit, void *ctx)
{
	(void)pid;
	(void)hit;
	(void)ctx;
}

/* QEMU processes still running for this VM (their argv names its socket). */
static int qemus_left(const char *sock)
{
	return proc_each_with_arg(sock, count_proc, NULL);
}

/* Copies src to dst, keeping only its first keep bytes (-1: all), then
 * overwrites zap bytes at offset zap_at with 0xa5 (zap 0: none). */
static void copy_state(const char *src, const char *dst, long long keep, long long zap_at,
		       size_t zap)
{
	char *d = NULL, *junk;
	size_t len = 0;
	struct err e;

	if (fs_read(src, (size_t)4 << 30, &d, &len, &e) < 0)
		fail_msg("read %s: %s", src, e.msg);
	if (keep >= 0 && (size_t)keep < len)
		len = (size_t)keep;
	if (zap) {
		assert_true((size_t)zap_at + zap <= len);
		junk = d + zap_at;
		memset(junk, 0xa5, zap);
	}
	if (fs_write_atomic(dst, d, len, 0600, &e) < 0)
		fail_msg("write %s: %s", dst, e.msg);
	free(d);
}

/* A resume from a state that cannot be used fails with QEMU's reason,
 * names the console log, and leaves no QEMU and no socket behind. */
static void resume_must_fail(struct vmm_config *c, const char *state_dir, const char *what)
{
	struct vmm_proc p = {0};
	char msg[4096];
	struct err e;
	long long t0 = mono_ms();

	err_clear(&e);
	assert_int_equal(vmm_qemu.resume(c, state_dir, &p, &e), -1);
	err_format(&e, msg, sizeof(msg));
	print_message("resume from %s failed in %lld ms, as the user sees it:\n%s\n", what,
		      mono_ms() - t0, msg);
	assert_int_equal(e.code, ERR_VMM);
	assert_non_null(strstr(e.msg, "qemu resume"));
	assert_string_equal(e.log, c->console_log);
	assert_int_equal(p.pid, 0);
	assert_int_equal(qemus_left(c->api_sock), 0);
	assert_false(fs_exists(c->api_sock));
}

/* Suspend into a full file system (a 4 MiB tmpfs, in a mount namespace of
 * this test's own): QEMU's write error is reported, no partial file is
 * left, and the guest runs on. Needs root; skipped otherwise. */
static void suspend_into_full_fs(const struct vmm_config *c, const struct vmm_proc *p,
				 const char *dir)
{
	char full[300], path[400], msg[4096];
	long long bytes = -1;
	double lag;
	long tick;
	struct err e;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		print_message("(no private mount namespace: full-disk suspend not tried)\n");
		return;
	}
	snprintf(full, sizeof(full), "%s/full", dir);
	snprintf(path, sizeof(path), "%s/%s", full, QEMU_STATE_FILE);
	assert_int_equal(mkdir(full, 0700), 0);
	assert_int_equal(mount("tmpfs", full, "tmpfs", 0, "size=4m,mode=0700"), 0);
	tick = last_tick(c->console_log, 0, &(double){0});
	err_clear(&e);
	assert_int_equal(vmm_qemu.suspend(c, p, full, &bytes, &e), -1);
	err_format(&e, msg, sizeof(msg));
	print_message("suspend into a full file system, as the user sees it: %s\n", msg);
	assert_int_equal(e.code, ERR_VMM);
	assert_non_null(strstr(e.msg, "qemu suspend"));
	assert_non_null(strstr(e.msg, "No space left on device")); /* QEMU's reason */
	assert_false(fs_exists(path));
	assert_int_equal(bytes, 0);
	/* The guest was let run again: its ticker counts on. */
	wait_tick(c->console_log, 0, tick, p->pid, 60, &lag);
	assert_int_equal(umount(full), 0);
}

/* Drops path's pages from the page cache (they are clean: fsynced). */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) : def;
}

/* Boot, suspend, resume: the guest runs on without a new boot, its
 * processes and their memory intact, and shuts down cleanly at the end;
 * states that cannot be used fail cleanly. BANGER_TEST_MEM_MIB (default
 * 1024, the daemon's default) and BANGER_TEST_SUSPEND_GAP_S (default 3)
 * set the guest's memory and how long it stays suspended;
 * BANGER_TEST_FILL_MIB=N has the guest fill N MiB with random data first
 * (a state file as large as a busy guest's); BANGER_TEST_COLD=1 drops the
 * state file from the page cache before the resume. */
static void test_suspend_resume(void **state)
{
	char *dir, sock[256], con[256], overlay[256], work[256], why[256];
	char sdir[256], spath[300], bad[256], badpath[300], args[128];
	struct vmm_config c = {0};
	struct vmm_proc p = {0};
	struct bundle b;
	long long t0, suspend_ms, resume_ms, bytes = -1, resumed_at;
	int mem = env_int("BANGER_TEST_MEM_MIB", 1024),
	    gap = env_int("BANGER_TEST_SUSPEND_GAP_S", 3);
	int fill = env_int("BANGER_TEST_FILL_MIB", 0), cold = env_int("BANGER_TEST_COLD", 0);
	double lag_before, lag_after;
	long tick, tick2;
	struct err e;
	int status, fd;
	json_t *ret = NULL;

	(void)state;
	if (!have_qemu() || !bundle_load(&b))
		skip();
	dir = tmpdir_new();
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(con, sizeof(con), "%s/firecracker.log", dir);
	snprintf(overlay, sizeof(overlay), "%s/overlay.ext4", dir);
	snprintf(work, sizeof(work), "%s/work.ext4", dir);
	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	snprintf(spath, sizeof(spath), "%s/%s", sdir, QEMU_STATE_FILE);
	snprintf(bad, sizeof(bad), "%s/bad-state", dir);
	snprintf(badpath, sizeof(badpath), "%s/%s", bad, QEMU_STATE_FILE);
	make_overlay_with_ticker(dir, overlay);
	make_disk(work);
	c.vm_id = "00000000000000bb";
	c.vm_name = "qemu-suspend-test";
	c.vm_dir = dir;
	c.api_sock = sock;
	c.kernel = b.kernel;
	c.initrd = b.initrd;
	snprintf(args, sizeof(args), "banger.hostname=qemu-suspend-test banger.test_fill_mib=%d",
		 fill);
	c.boot_args = args;
	c.drives[0] = (struct vmm_drive){"base", b.rootfs, 1, 1};
	c.drives[1] = (struct vmm_drive){"overlay", overlay, 0, 0};
	c.drives[2] = (struct vmm_drive){"work", work, 0, 0};
	c.ndrives = 3;
	c.vcpu = 2;
	c.mem_mib = mem;
	c.console_log = con;
	c.accel = qemu_accel_choose("auto", why, sizeof(why));
	print_message("accel: %s; memory %d MiB, %d MiB filled by the guest\n", why, mem, fill);

	err_clear(&e);
	if (vmm_qemu.start(&c, &p, &e) < 0)
		fail_msg("start: %s (see %s)", e.msg, e.log);
	print_message("ready %lld ms after start\n",
		      wait_console(con, "banger: ready in", p.pid, 300));
	tick = wait_tick(con, 0, 2, p.pid, 300, &lag_before);
	print_message("tick %ld before suspend: guest clock %.2f s behind the host\n", tick,
		      lag_before);

	suspend_into_full_fs(&c, &p, dir);

	/* Suspend: the state file is complete and the VMM is left paused. */
	assert_int_equal(fs_mkdir_p(sdir, 0700, &e), 0);
	t0 = mono_ms();
	if (vmm_qemu.suspend(&c, &p, sdir, &bytes, &e) < 0)
		fail_msg("suspend: %s", e.msg);
	suspend_ms = mono_ms() - t0;
	print_message("FIGURE suspend %lld ms, state %lld bytes (%.1f MiB) for %d MiB of memory "
		      "(%d MiB filled)\n",
		      suspend_ms, bytes, bytes / 1048576.0, mem, fill);
	assert_int_equal(bytes, file_size(spath));
	assert_true(bytes > (1 << 20));			  /* at least the kernel's pages */
	assert_true(bytes < ((long long)mem + 64) << 20); /* no more than the memory */
	assert_true(proc_alive(p.pid, p.start_time));
	fd = qmp_connect(sock, 5000, NULL, &e);
	assert_true(fd >= 0);
	assert_int_equal(qmp_execute(fd, "query-status", NULL, &ret, 5000, NULL, &e), 0);
	print_message("QEMU after suspend: %s\n",
		      json_string_value(json_object_get(ret, "status")));
	assert_false(json_is_true(json_object_get(ret, "running")));
	json_decref(ret);
	close(fd);
	/* Its state taken, the paused VMM is ended the way the daemon does. */
	tick = last_tick(con, 0, &(double){0});
	assert_int_equal(kill(p.pid, SIGKILL), 0);
	assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
	vmm_qemu.cleanup(&c);
	assert_int_equal(qemus_left(sock), 0);

	/* States QEMU cannot use: each fails cleanly, the good one untouched. */
	assert_int_equal(fs_mkdir_p(bad, 0700, &e), 0);
	copy_state(spath, badpath, bytes / 2, 0, 0);
	resume_must_fail(&c, bad, "a truncated state file");
	copy_state(spath, badpath, -1, 0, 64);
	resume_must_fail(&c, bad, "a state file with a corrupt header");
	c.mem_mib = mem + 256;
	resume_must_fail(&c, sdir, "a state file of a VM with other memory");
	c.mem_mib = mem;
	assert_int_equal(file_size(spath), bytes);

	sleep((unsigned)gap);
	if (cold) /* as after a host reboot: the state is read from the disk */
		drop_cache(spath);
	resumed_at = file_size(con);
	err_clear(&e);
	t0 = mono_ms();
	if (vmm_qemu.resume(&c, sdir, &p, &e) < 0)
		fail_msg("resume: %s (see %s)", e.msg, e.log);
	resume_ms = mono_ms() - t0;
	print_message("FIGURE resume to running %lld ms (state %lld bytes, %d MiB, suspended "
		      "%d s, state file %s)\n",
		      resume_ms, bytes, mem, gap, cold ? "not cached" : "in the page cache");
	assert_true(proc_alive(p.pid, p.start_time));

	/* The same guest runs on: its ticker goes on counting, no new boot. */
	tick2 = wait_tick(con, resumed_at, tick, p.pid, 120, &lag_after);
	print_message("tick %ld after resume (last before suspend: %ld): guest clock %.2f s "
		      "behind the host (%.2f s before suspend)\n",
		      tick2, tick, lag_after, lag_before);
	assert_true(tick2 > tick);
	assert_true(last_tick(con, resumed_at, &(double){0}) > 1);
	assert_false(has_after(con, resumed_at, "Linux version"));
	print_console_after(con, resumed_at);

	/* And it still obeys: ctrl-alt-delete gives systemd's clean shutdown. */
	if (vmm_qemu.request_stop(&c, &p, &e) < 0)
		fail_msg("request_stop: %s", e.msg);
	for (t0 = mono_ms(); waitpid(p.pid, &status, WNOHANG) != p.pid; usleep(100 * 1000))
		if (mono_ms() - t0 > 180000)
			fail_msg("the resumed guest did not shut down within 180 s; see %s", con);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(has_after(con, resumed_at, "systemd-shutdown"));
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
	    cmocka_unit_test(test_suspend_resume),
	};

	/* BANGER_TEST_FILTER=test_suspend_resume runs one test (cmocka's glob). */
	if (getenv("BANGER_TEST_FILTER"))
		cmocka_set_test_filter(getenv("BANGER_TEST_FILTER"));
	return cmocka_run_group_tests_name("vmm_qemu_boot", tests, NULL, NULL);
}
