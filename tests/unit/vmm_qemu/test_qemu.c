/*
 * Unit tests for the QEMU driver: command line, accelerator choice, version
 * parsing, the QMP client against a fake QMP server (a thread on a Unix
 * socket, or a socketpair) that behaves like QEMU 7.2 does on the wire, and
 * start against QEMU stand-ins: a shell script that fails at once, and this
 * binary run as a fake QEMU (FAKEQEMU_STATUS set, QEMU's arguments) that
 * serves QMP and reports the VM running or shut down. The executable is
 * linked with --wrap for pid_guard.h, which fails a test that signals or
 * waits for a pid already reaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "vmm/qemu.h"

#include "../vmm/pid_guard.h"

/* ---- helpers --------------------------------------------------------- */

static size_t argv_len(char **argv)
{
	size_t n = 0;

	while (argv[n])
		n++;
	return n;
}

/* Index of the first argument equal to s at or after from, or -1. */
static int argv_find(char **argv, const char *s, int from)
{
	for (int i = from; argv[i]; i++)
		if (!strcmp(argv[i], s))
			return i;
	return -1;
}

/* The value following option opt (first occurrence), or NULL. */
static const char *argv_opt(char **argv, const char *opt)
{
	int i = argv_find(argv, opt, 0);

	return i >= 0 ? argv[i + 1] : NULL;
}

static struct vmm_config base_cfg(void)
{
	struct vmm_config c = {
	    .vm_id = "0123456789abcdef",
	    .vm_name = "calm-otter",
	    .api_sock = "/run/banger/vm/qmp.sock",
	    .kernel = "/rt/vmlinux",
	    .initrd = "/rt/initrd.img",
	    .boot_args = "banger.hostname=calm-otter",
	    .vcpu = 2,
	    .mem_mib = 1024,
	    .console_log = "/tmp/none/firecracker.log",
	    .accel = "tcg",
	};
	return c;
}

static char *tmpdir_new(void)
{
	char *d = xstrdup("/tmp/banger-qemu-test.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void tmpdir_free(char *d)
{
	fs_rm_rf(d, NULL);
	free(d);
}

/* ---- command line ---------------------------------------------------- */

static void test_argv_full(void **state)
{
	struct vmm_config c = base_cfg();
	char **argv = NULL;
	struct err e;
	const char *expect[] = {
	    "qemu-system-x86_64",
	    "-name",
	    "banger-calm-otter",
	    "-M",
	    "microvm",
	    "-accel",
	    "tcg",
	    "-cpu",
	    "max",
	    "-m",
	    "1024",
	    "-smp",
	    "2",
	    "-nodefaults",
	    "-no-user-config",
	    "-nographic",
	    "-device",
	    "i8042",
	    "-no-reboot",
	    "-serial",
	    "stdio",
	    "-qmp",
	    "unix:/run/banger/vm/qmp.sock,server=on,wait=off",
	    "-qmp",
	    "unix:/run/banger/vm/qmp.sock.events,server=on,wait=off",
	    "-kernel",
	    "/rt/vmlinux",
	    "-initrd",
	    "/rt/initrd.img",
	    "-append",
	    "console=ttyS0 reboot=k panic=1 tsc_early_khz=2596140 tsc=reliable banger.hostname=calm-otter",
	    "-drive",
	    "id=d0,file=/img/base.ext4,format=raw,if=none,readonly=on",
	    "-device",
	    "virtio-blk-device,drive=d0",
	    "-drive",
	    "id=d1,file=/vm/overlay.ext4,format=raw,if=none",
	    "-device",
	    "virtio-blk-device,drive=d1",
	    "-drive",
	    "id=d2,file=/vm/work.ext4,format=raw,if=none",
	    "-device",
	    "virtio-blk-device,drive=d2",
	    "-netdev",
	    "tap,id=n0,ifname=bg-0123,script=no,downscript=no",
	    "-device",
	    "virtio-net-device,netdev=n0,mac=06:01:23:45:67:89",
	};

	(void)state;
	/* The root drive is listed last on purpose: it must still become d0/vda. */
	c.drives[0] = (struct vmm_drive){"overlay", "/vm/overlay.ext4", 0, 0};
	c.drives[1] = (struct vmm_drive){"work", "/vm/work.ext4", 0, 0};
	c.drives[2] = (struct vmm_drive){"base", "/img/base.ext4", 1, 1};
	c.ndrives = 3;
	c.tap = "bg-0123";
	c.mac = "06:01:23:45:67:89";
	assert_int_equal(qemu_build_argv(&c, 2596140, &argv, &e), 0);
	assert_int_equal(argv_len(argv), sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		assert_string_equal(argv[i], expect[i]);
	qemu_argv_free(argv);
}

static void test_argv_minimal_kvm(void **state)
{
	struct vmm_config c = base_cfg();
	char **argv = NULL;
	struct err e;

	(void)state;
	c.accel = "kvm";
	c.bin = "/opt/qemu/bin/qemu-system-x86_64";
	c.initrd = NULL;
	c.boot_args = NULL;
	c.vm_name = NULL;
	/* KVM guests read the TSC rate from the hypervisor: no tsc_early_khz. */
	assert_int_equal(qemu_build_argv(&c, 2596140, &argv, &e), 0);
	assert_string_equal(argv[0], "/opt/qemu/bin/qemu-system-x86_64");
	assert_string_equal(argv_opt(argv, "-accel"), "kvm");
	assert_string_equal(argv_opt(argv, "-cpu"), "host");
	assert_string_equal(argv_opt(argv, "-append"), QEMU_BOOT_ARGS);
	assert_int_equal(argv_find(argv, "-initrd", 0), -1);
	assert_int_equal(argv_find(argv, "-name", 0), -1);
	assert_int_equal(argv_find(argv, "-drive", 0), -1);
	assert_int_equal(argv_find(argv, "-netdev", 0), -1);
	qemu_argv_free(argv);
}

static void test_argv_default_accel_and_no_mac(void **state)
{
	struct vmm_config c = base_cfg();
	char **argv = NULL;
	struct err e;

	(void)state;
	c.accel = NULL;
	c.tap = "tap0";
	assert_int_equal(qemu_build_argv(&c, 0, &argv, &e), 0);
	assert_string_equal(argv_opt(argv, "-accel"), "tcg");
	assert_string_equal(argv[argv_find(argv, "-netdev", 0) + 3], "virtio-net-device,netdev=n0");
	qemu_argv_free(argv);
}

static void test_argv_escapes_commas(void **state)
{
	struct vmm_config c = base_cfg();
	char **argv = NULL;
	struct err e;

	(void)state;
	c.api_sock = "/tmp/a,b/qmp.sock";
	c.drives[0] = (struct vmm_drive){"base", "/img/a,b.ext4", 1, 1};
	c.ndrives = 1;
	assert_int_equal(qemu_build_argv(&c, 0, &argv, &e), 0);
	assert_string_equal(argv_opt(argv, "-qmp"), "unix:/tmp/a,,b/qmp.sock,server=on,wait=off");
	assert_string_equal(argv_opt(argv, "-drive"),
			    "id=d0,file=/img/a,,b.ext4,format=raw,if=none,readonly=on");
	qemu_argv_free(argv);
}

static void expect_invalid(struct vmm_config *c, const char *needle)
{
	char **argv = NULL;
	struct err e;

	err_clear(&e);
	assert_int_equal(qemu_build_argv(c, 0, &argv, &e), -1);
	assert_null(argv);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", e.msg, needle);
}

static void test_argv_rejects_bad_config(void **state)
{
	struct vmm_config c;
	char longsock[120];

	(void)state;
	c = base_cfg();
	c.kernel = NULL;
	expect_invalid(&c, "kernel");
	c = base_cfg();
	c.accel = "hvf";
	expect_invalid(&c, "hvf");
	c = base_cfg();
	c.vcpu = 0;
	expect_invalid(&c, "vcpu");
	c = base_cfg();
	c.drives[0] = (struct vmm_drive){"a", "/a", 1, 1};
	c.drives[1] = (struct vmm_drive){"b", "/b", 1, 1};
	c.ndrives = 2;
	expect_invalid(&c, "root");
	c = base_cfg();
	c.drives[0] = (struct vmm_drive){"a", NULL, 0, 0};
	c.ndrives = 1;
	expect_invalid(&c, "drive 0");
	/* 103 bytes fit a socket address, but not with ".events" appended. */
	memset(longsock, 'x', 103);
	longsock[0] = '/';
	longsock[103] = '\0';
	c = base_cfg();
	c.api_sock = longsock;
	expect_invalid(&c, "too long");
}

/* The guest's TSC runs at the host's rate under TCG: the figure handed to
 * the guest kernel must be a plausible CPU clock. */
/* Resume spawns the very command line of start, waiting for the state. */
static void test_resume_argv(void **state)
{
	struct vmm_config c = base_cfg();
	char **start = NULL, **resume = NULL;
	size_t n;
	struct err e;

	(void)state;
	c.drives[0] = (struct vmm_drive){"base", "/img/base.ext4", 1, 1};
	c.ndrives = 1;
	c.tap = "bg-0123";
	c.mac = "06:01:23:45:67:89";
	assert_int_equal(qemu_build_argv(&c, 2596140, &start, &e), 0);
	assert_int_equal(qemu_build_resume_argv(&c, 2596140, &resume, &e), 0);
	n = argv_len(start);
	assert_int_equal(argv_len(resume), n + 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(resume[i], start[i]);
	assert_string_equal(resume[n], "-incoming");
	assert_string_equal(resume[n + 1], "defer");
	qemu_argv_free(start);
	qemu_argv_free(resume);
	c.vcpu = 0;
	assert_int_equal(qemu_build_resume_argv(&c, 0, &resume, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_host_tsc_khz(void **state)
{
	long khz = qemu_host_tsc_khz();

	(void)state;
#if defined(__x86_64__)
	if (khz < 100000 || khz > 10000000)
		fail_msg("host TSC measured at %ld kHz", khz);
#else
	assert_int_equal(khz, 0);
#endif
}

/* ---- accelerator ----------------------------------------------------- */

struct accel_env {
	char *dir;
	char kvm[256], pvm[256];
};

static struct accel_env accel_env(int kvm_exists, int pvm_exists)
{
	struct accel_env a = {.dir = tmpdir_new()};

	snprintf(a.kvm, sizeof(a.kvm), "%s/kvm", a.dir);
	snprintf(a.pvm, sizeof(a.pvm), "%s/kvm_pvm", a.dir);
	if (kvm_exists)
		close(open(a.kvm, O_CREAT | O_RDWR, 0600));
	if (pvm_exists)
		assert_int_equal(mkdir(a.pvm, 0700), 0);
	return a;
}

static void test_accel_auto(void **state)
{
	struct accel_env a;
	char why[256];

	(void)state;
	a = accel_env(1, 0);
	assert_string_equal(qemu_accel_choose_at("auto", a.kvm, a.pvm, why, sizeof(why)), "kvm");
	assert_string_equal(qemu_accel_choose_at(NULL, a.kvm, a.pvm, why, sizeof(why)), "kvm");
	tmpdir_free(a.dir);

	a = accel_env(1, 1); /* nested PVM host: KVM opens but guests do not run */
	assert_string_equal(qemu_accel_choose_at("auto", a.kvm, a.pvm, why, sizeof(why)), "tcg");
	assert_non_null(strstr(why, "kvm_pvm"));
	tmpdir_free(a.dir);

	a = accel_env(0, 0); /* no /dev/kvm at all */
	assert_string_equal(qemu_accel_choose_at("", a.kvm, a.pvm, why, sizeof(why)), "tcg");
	assert_non_null(strstr(why, a.kvm));
	tmpdir_free(a.dir);
}

static void test_accel_explicit(void **state)
{
	struct accel_env a = accel_env(0, 1);
	char why[256];

	(void)state;
	assert_string_equal(qemu_accel_choose_at("kvm", a.kvm, a.pvm, why, sizeof(why)), "kvm");
	assert_string_equal(qemu_accel_choose_at("tcg", a.kvm, a.pvm, why, sizeof(why)), "tcg");
	assert_null(qemu_accel_choose_at("xen", a.kvm, a.pvm, why, sizeof(why)));
	assert_non_null(strstr(why, "xen"));
	tmpdir_free(a.dir);
}

/* ---- version ----------------------------------------------------------- */

static void test_parse_version(void **state)
{
	char v[32];
	int major = 0;

	(void)state;
	assert_int_equal(qemu_parse_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n"
					    "Copyright (c) 2003-2022 Fabrice Bellard\n",
					    v, sizeof(v), &major),
			 0);
	assert_string_equal(v, "7.2.22");
	assert_int_equal(major, 7);
	assert_int_equal(qemu_parse_version("bash: qemu: not found", v, sizeof(v), &major), -1);
	assert_int_equal(qemu_parse_version(NULL, v, sizeof(v), &major), -1);
}

static void test_probe_missing_binary(void **state)
{
	char v[32];
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(vmm_qemu.probe("/nonexistent/qemu-system-x86_64", v, sizeof(v), &e), -1);
	assert_int_equal(e.code, ERR_MISSING_TOOL);
	assert_string_equal(e.hint, "apt-get install qemu-system-x86");
}

/* ---- QMP over a socketpair --------------------------------------------- */

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Server side: the client may already have hung up (request_stop does
 * right after its reply), which must not kill the test with SIGPIPE. */
static void sput(int fd, const char *s)
{
	(void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

static void test_qmp_parse_event(void **state)
{
	char name[32], reason[32];

	(void)state;
	assert_int_equal(qmp_parse_event("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
					 "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, "
					 "\"reason\": \"guest-shutdown\"}}",
					 name, sizeof(name), reason, sizeof(reason)),
			 1);
	assert_string_equal(name, "SHUTDOWN");
	assert_string_equal(reason, "guest-shutdown");
	assert_int_equal(qmp_parse_event("{\"event\": \"RESUME\", \"timestamp\": {}}", name,
					 sizeof(name), reason, sizeof(reason)),
			 1);
	assert_string_equal(name, "RESUME");
	assert_string_equal(reason, "");
	assert_int_equal(
	    qmp_parse_event("{\"return\": {}}", name, sizeof(name), reason, sizeof(reason)), 0);
	assert_int_equal(
	    qmp_parse_event("{\"return\": ", name, sizeof(name), reason, sizeof(reason)), -1);
}

static void test_qmp_next_event_stream(void **state)
{
	char name[32], reason[32];
	int sv[2];
	struct err e;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Nothing yet: a timeout, not an error. */
	assert_int_equal(qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 20, &e),
			 QMP_WAIT_TIMEOUT);
	/* A reply to skip, two events in one write, then one split in two. */
	put(sv[1],
	    "{\"return\": {}}\r\n{\"event\": \"STOP\"}\r\n{\"event\": \"SHUTDOWN\", "
	    "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n{\"event\": \"SHU");
	assert_int_equal(
	    qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 1000, &e),
	    QMP_WAIT_EVENT);
	assert_string_equal(name, "STOP");
	assert_int_equal(
	    qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 1000, &e),
	    QMP_WAIT_EVENT);
	assert_string_equal(name, "SHUTDOWN");
	assert_string_equal(reason, "guest-reset");
	put(sv[1], "TDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-signal\"}}\r\n");
	assert_int_equal(
	    qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 1000, &e),
	    QMP_WAIT_EVENT);
	assert_string_equal(reason, "host-signal");
	/* QEMU exits: the connection closes. */
	close(sv[1]);
	assert_int_equal(
	    qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 1000, &e),
	    QMP_WAIT_CLOSED);
	close(sv[0]);
}

static void test_qmp_next_event_garbage(void **state)
{
	char name[32], reason[32];
	int sv[2];
	struct err e;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	put(sv[1], "this is not json\n");
	err_clear(&e);
	assert_int_equal(
	    qmp_next_event(sv[0], name, sizeof(name), reason, sizeof(reason), 1000, &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	close(sv[0]);
	close(sv[1]);
}

/* ---- fake QMP server on a Unix socket ----------------------------------- */

enum fake_mode { FAKE_OK, FAKE_REFUSE, FAKE_SILENT };

struct fake_qmp {
	char path[108];
	enum fake_mode mode;
	int lfd;
	pthread_t th;
	char caps[256]; /* first command received */
	char cmd[1024]; /* second command received */
};

static int fake_read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	while (n + 1 < len && read(fd, &c, 1) == 1) {
		if (c == '\n') {
			buf[n] = '\0';
			return 0;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return -1;
}

static void *fake_serve(void *arg)
{
	struct fake_qmp *f = arg;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (f->mode == FAKE_SILENT) {
		/* Like a QMP socket held by another client: accepted, never greeted. */
		usleep(400 * 1000);
		close(fd);
		return NULL;
	}
	/* The greeting arrives in two pieces, as a slow QEMU could send it. */
	sput(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, ");
	usleep(20 * 1000);
	sput(fd, "\"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n");
	if (fake_read_line(fd, f->caps, sizeof(f->caps)) < 0)
		goto out;
	sput(fd, "{\"return\": {}}\r\n");
	if (fake_read_line(fd, f->cmd, sizeof(f->cmd)) < 0)
		goto out;
	if (f->mode == FAKE_REFUSE) {
		sput(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter "
			 "'delete'\"}}\r\n");
		goto out;
	}
	/* An event may come before the reply; the client must skip it. */
	sput(fd,
	     "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}, \"event\": \"RESET\", "
	     "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n{\"return\": {}}\r\n");
	sput(fd, "{\"timestamp\": {\"seconds\": 2, \"microseconds\": 0}, \"event\": \"SHUTDOWN\", "
		 "\"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}\r\n");
out:
	close(fd);
	return NULL;
}

static void fake_start(struct fake_qmp *f, const char *path, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f->mode = mode;
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake_qmp *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

/* request_stop sends exactly ctrl-alt-delete and returns after QEMU's reply. */
static void test_request_stop_sends_ctrl_alt_delete(void **state)
{
	char *dir = tmpdir_new(), sock[128];
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid())};
	struct fake_qmp f;
	json_t *cmd, *keys;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	c.api_sock = sock;
	fake_start(&f, sock, FAKE_OK);
	err_clear(&e);
	assert_int_equal(vmm_qemu.request_stop(&c, &p, &e), 0);
	fake_stop(&f);

	assert_non_null(strstr(f.caps, "\"qmp_capabilities\""));
	cmd = json_loads(f.cmd, 0, NULL);
	assert_non_null(cmd);
	assert_string_equal(json_string_value(json_object_get(cmd, "execute")), "send-key");
	keys = json_object_get(json_object_get(cmd, "arguments"), "keys");
	assert_int_equal(json_array_size(keys), 3);
	const char *want[] = {"ctrl", "alt", "delete"};
	for (size_t i = 0; i < 3; i++) {
		json_t *k = json_array_get(keys, i);

		assert_string_equal(json_string_value(json_object_get(k, "type")), "qcode");
		assert_string_equal(json_string_value(json_object_get(k, "data")), want[i]);
	}
	json_decref(cmd);
	tmpdir_free(dir);
}

static void test_request_stop_refused(void **state)
{
	char *dir = tmpdir_new(), sock[128];
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid())};
	struct fake_qmp f;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	c.api_sock = sock;
	fake_start(&f, sock, FAKE_REFUSE);
	err_clear(&e);
	assert_int_equal(vmm_qemu.request_stop(&c, &p, &e), -1);
	fake_stop(&f);
	assert_int_equal(e.code, ERR_VMM);
	assert_non_null(strstr(e.msg, "Invalid parameter 'delete'"));
	tmpdir_free(dir);
}

static void test_request_stop_not_running(void **state)
{
	struct vmm_config c = base_cfg();
	/* Our pid with a start time that is not ours: a recycled pid. */
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid()) + 12345};
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(vmm_qemu.request_stop(&c, &p, &e), -1);
	assert_int_equal(e.code, ERR_BAD_STATE);
}

/* The watcher connects to the ".events" twin and reads SHUTDOWN's reason. */
static void test_watch_reads_shutdown_reason(void **state)
{
	char *dir = tmpdir_new(), sock[128], ev[128], name[32], reason[32];
	struct fake_qmp f;
	struct err e;
	int fd, r;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	assert_int_equal(qemu_event_sock_path(sock, ev, sizeof(ev), &e), 0);
	fake_start(&f, ev, FAKE_OK);
	fd = qemu_watch_open(sock, &e);
	assert_true(fd >= 0);
	/* The daemon never sends commands here; play the fake's second step. */
	json_t *ret = NULL;
	assert_int_equal(qmp_execute(fd, "query-status", NULL, &ret, 1000, NULL, &e), 0);
	json_decref(ret);
	r = qmp_next_event(fd, name, sizeof(name), reason, sizeof(reason), 2000, &e);
	assert_int_equal(r, QMP_WAIT_EVENT);
	assert_string_equal(name, "SHUTDOWN");
	assert_string_equal(reason, "guest-reset");
	assert_int_equal(qmp_next_event(fd, name, sizeof(name), reason, sizeof(reason), 2000, &e),
			 QMP_WAIT_CLOSED);
	close(fd);
	fake_stop(&f);
	tmpdir_free(dir);
}

static void test_watch_no_qemu(void **state)
{
	char *dir = tmpdir_new(), sock[128];
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	err_clear(&e);
	assert_int_equal(qemu_watch_open(sock, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	tmpdir_free(dir);
}

/* A socket that accepts but never greets (another client holds QMP). */
static void test_connect_silent_times_out(void **state)
{
	char *dir = tmpdir_new(), sock[128];
	struct fake_qmp f;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	fake_start(&f, sock, FAKE_SILENT);
	err_clear(&e);
	assert_int_equal(qmp_connect(sock, 100, NULL, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "greeting"));
	fake_stop(&f);
	tmpdir_free(dir);
}

static void test_cleanup_removes_sockets(void **state)
{
	char *dir = tmpdir_new(), sock[128], ev[128];
	struct vmm_config c = base_cfg();
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	assert_int_equal(qemu_event_sock_path(sock, ev, sizeof(ev), &e), 0);
	close(open(sock, O_CREAT | O_WRONLY, 0600));
	close(open(ev, O_CREAT | O_WRONLY, 0600));
	c.api_sock = sock;
	vmm_qemu.cleanup(&c);
	assert_false(fs_exists(sock));
	assert_false(fs_exists(ev));
	tmpdir_free(dir);
}

/* ---- descriptor passing and suspend against a fake QMP ------------------ */

/* Reads one line byte by byte with recvmsg, keeping a descriptor that came
 * with it (SCM_RIGHTS) in *got_fd (else -1). */
static int fake_recv_line(int fd, char *buf, size_t len, int *got_fd)
{
	size_t n = 0;

	*got_fd = -1;
	while (n + 1 < len) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		char c;
		struct iovec iov = {.iov_base = &c, .iov_len = 1};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		struct cmsghdr *h;

		if (recvmsg(fd, &m, 0) != 1)
			break;
		for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
				memcpy(got_fd, CMSG_DATA(h), sizeof(int));
		if (c == '\n') {
			buf[n] = '\0';
			return 0;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	return -1;
}

/* The client passes a descriptor with its command; QEMU gets the same file. */
static void test_qmp_execute_passes_fd(void **state)
{
	char *dir = tmpdir_new(), path[256], line[512];
	struct stat a, b;
	json_t *args = json_pack("{s:s}", "fdname", "x");
	int sv[2], file, got;
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/state", dir);
	file = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(file >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	put(sv[1], "{\"return\": {}}\r\n"); /* the reply, already waiting */
	err_clear(&e);
	assert_int_equal(qmp_execute_fd(sv[0], "getfd", args, file, NULL, 1000, NULL, &e), 0);
	json_decref(args);
	assert_int_equal(fake_recv_line(sv[1], line, sizeof(line), &got), 0);
	assert_non_null(strstr(line, "\"getfd\""));
	assert_true(got >= 0);
	assert_int_equal(fstat(got, &a), 0);
	assert_int_equal(fstat(file, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(got);
	close(file);
	close(sv[0]);
	close(sv[1]);
	tmpdir_free(dir);
}

/* A QEMU that migrates into the descriptor it gets: writes 3000 bytes,
 * then reports the migration completed, or failed with QEMU's reason. */
struct fake_mig {
	char path[108];
	int lfd, fail;
	pthread_t th;
	char cmds[512]; /* the commands received, space-separated */
	int passed_fd;	/* getfd came with a descriptor */
};

static void *fake_mig_serve(void *arg)
{
	struct fake_mig *f = arg;
	char line[1024], buf[3000];
	int fd = accept(f->lfd, NULL, NULL), got, state_fd = -1;
	json_t *msg;

	if (fd < 0)
		return NULL;
	sput(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
		 "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n");
	memset(buf, 'm', sizeof(buf));
	while (fake_recv_line(fd, line, sizeof(line), &got) == 0) {
		const char *cmd;

		msg = json_loads(line, 0, NULL);
		cmd = json_string_value(json_object_get(msg, "execute"));
		snprintf(f->cmds + strlen(f->cmds), sizeof(f->cmds) - strlen(f->cmds), "%s%s",
			 f->cmds[0] ? " " : "", cmd ? cmd : "?");
		if (cmd && !strcmp(cmd, "getfd") && got >= 0) {
			f->passed_fd = 1;
			state_fd = got;
		} else if (got >= 0) {
			close(got);
		}
		if (cmd && !strcmp(cmd, "migrate") && state_fd >= 0) {
			(void)!write(state_fd, buf, sizeof(buf));
			close(state_fd); /* the migration owns it, as QEMU's does */
			state_fd = -1;
		}
		if (cmd && !strcmp(cmd, "query-migrate"))
			sput(fd, f->fail
				     ? "{\"return\": {\"status\": \"failed\", \"error-desc\": "
				       "\"Unable to write to file: No space left on device\"}}\r\n"
				     : "{\"return\": {\"status\": \"completed\", \"ram\": "
				       "{\"transferred\": 3000}}}\r\n");
		else
			sput(fd, "{\"return\": {}}\r\n");
		json_decref(msg);
	}
	if (state_fd >= 0)
		close(state_fd);
	close(fd);
	return NULL;
}

static void fake_mig_start(struct fake_mig *f, const char *path, int fail)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f->fail = fail;
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_mig_serve, f), 0);
}

static void fake_mig_stop(struct fake_mig *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

/* Suspend pauses, lifts the bandwidth cap, hands the file over and waits
 * for the migration; the state is complete, 0600, its size reported; the
 * guest is not let run (the daemon ends the paused VMM). */
static void test_suspend_writes_state(void **state)
{
	char *dir = tmpdir_new(), sock[128], path[256];
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid())};
	struct fake_mig f;
	long long bytes = -1;
	struct stat st;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, QEMU_STATE_FILE);
	c.api_sock = sock;
	fake_mig_start(&f, sock, 0);
	err_clear(&e);
	assert_int_equal(vmm_qemu.suspend(&c, &p, dir, &bytes, &e), 0);
	fake_mig_stop(&f);
	assert_string_equal(f.cmds, "qmp_capabilities stop migrate-set-parameters getfd migrate "
				    "query-migrate");
	assert_true(f.passed_fd);
	assert_int_equal(bytes, 3000);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 3000);
	assert_int_equal(st.st_mode & 0777, 0600);
	tmpdir_free(dir);
}

/* A failed migration: QEMU's reason in the error, the guest let run again
 * (cont), no partial state file left. */
static void test_suspend_failure_resumes_guest(void **state)
{
	char *dir = tmpdir_new(), sock[128], path[256];
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid())};
	struct fake_mig f;
	long long bytes = -1;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, QEMU_STATE_FILE);
	c.api_sock = sock;
	fake_mig_start(&f, sock, 1);
	err_clear(&e);
	assert_int_equal(vmm_qemu.suspend(&c, &p, dir, &bytes, &e), -1);
	fake_mig_stop(&f);
	assert_int_equal(e.code, ERR_VMM);
	assert_string_equal(e.msg, "qemu suspend: QEMU's migration to the state file failed: "
				   "Unable to write to file: No space left on device");
	assert_string_equal(f.cmds, "qmp_capabilities stop migrate-set-parameters getfd migrate "
				    "query-migrate cont");
	assert_int_equal(bytes, 0);
	assert_false(fs_exists(path));
	tmpdir_free(dir);
}

/* A state file already there (another suspend's) is neither used nor
 * touched, and the guest is not paused. */
static void test_suspend_refuses_existing_state(void **state)
{
	char *dir = tmpdir_new(), sock[128], path[256], *d = NULL;
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = getpid(), .start_time = proc_start_time(getpid())};
	long long bytes = -1;
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, QEMU_STATE_FILE);
	c.api_sock = sock; /* nothing listens: a QMP attempt would fail otherwise */
	assert_int_equal(fs_write_atomic(path, "other", 5, 0600, &e), 0);
	err_clear(&e);
	assert_int_equal(vmm_qemu.suspend(&c, &p, dir, &bytes, &e), -1);
	assert_non_null(strstr(e.msg, "create the state file"));
	assert_non_null(strstr(e.msg, path));
	assert_int_equal(fs_read(path, 100, &d, NULL, NULL), 0);
	assert_string_equal(d, "other");
	free(d);
	tmpdir_free(dir);
}

/* No state file: resume says so before spawning anything. */
static void test_resume_without_state(void **state)
{
	char *dir = tmpdir_new(), sock[128], bin[128];
	struct vmm_config c = base_cfg();
	struct vmm_proc p = {.pid = 99};
	struct err e;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(bin, sizeof(bin), "%s/no-qemu-here", dir); /* a spawn would fail otherwise */
	c.api_sock = sock;
	c.bin = bin;
	err_clear(&e);
	assert_int_equal(vmm_qemu.resume(&c, dir, &p, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "qemu resume"));
	assert_non_null(strstr(e.msg, QEMU_STATE_FILE));
	assert_int_equal(p.pid, 0);
	tmpdir_free(dir);
}

/* ---- start against QEMU stand-ins -------------------------------------- */

struct start_fixture {
	char *dir;
	char sock[128], ev[128], con[128], bin[128];
	struct vmm_config cfg;
};

static void start_fixture_init(struct start_fixture *f)
{
	struct err e;

	memset(f, 0, sizeof(*f));
	f->dir = tmpdir_new();
	snprintf(f->sock, sizeof(f->sock), "%s/qmp.sock", f->dir);
	snprintf(f->con, sizeof(f->con), "%s/firecracker.log", f->dir);
	snprintf(f->bin, sizeof(f->bin), "%s/qemu-system-x86_64", f->dir);
	assert_int_equal(qemu_event_sock_path(f->sock, f->ev, sizeof(f->ev), &e), 0);
	f->cfg = base_cfg();
	f->cfg.api_sock = f->sock;
	f->cfg.console_log = f->con;
	f->cfg.bin = f->bin;
	f->cfg.accel = "kvm"; /* spares the TSC measurement; the stand-ins ignore it */
	pid_guard_reset();
}

/* A failed start leaves no process, zombie or socket, and never aimed a
 * signal or a wait at a pid that was already reaped. */
static void assert_start_left_nothing(struct start_fixture *f, const struct vmm_proc *p)
{
	assert_int_equal(p->pid, 0);
	pid_guard_assert_clean();
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_false(fs_exists(f->sock));
	assert_false(fs_exists(f->ev));
	tmpdir_free(f->dir);
}

static char *read_file(const char *path)
{
	char *d = NULL;

	assert_int_equal(fs_read(path, 1 << 20, &d, NULL, NULL), 0);
	return d;
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

/* QEMU exits at once (it could not lock a disk): the error names the stage
 * and the exit status, quotes QEMU's message from the console log, and the
 * pid, reaped while waiting for QMP, is not killed or waited for again (it
 * may belong to another process by then). */
static void test_start_qemu_exits_early(void **state)
{
	struct start_fixture f;
	struct vmm_proc p = {0};
	struct err e = {0};
	char want[512], *log;
	int fd;

	(void)state;
	start_fixture_init(&f);
	fd = open(f.bin, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	put(fd, "#!/bin/sh\necho 'qemu-system-x86_64: -drive id=d0: Failed to get \"write\" "
		"lock' >&2\nexit 1\n");
	close(fd);
	assert_int_equal(vmm_qemu.start(&f.cfg, &p, &e), -1);
	pid_guard_assert_clean();
	assert_int_equal(e.code, ERR_VMM);
	snprintf(want, sizeof(want),
		 "qemu start: connect QMP: QEMU exited with status 1\nlast lines of %s:\n"
		 "  qemu-system-x86_64: -drive id=d0: Failed to get \"write\" lock",
		 f.con);
	assert_string_equal(e.msg, want);
	assert_string_equal(e.log, f.con);
	log = read_file(f.con);
	assert_non_null(strstr(log, "--- banger: qemu start "));
	free(log);
	assert_start_left_nothing(&f, &p);
}

/* QEMU answers QMP but the VM is not running, and QEMU exits meanwhile:
 * the same guarantees on the other failure path of start. */
static void test_start_vm_not_running(void **state)
{
	struct start_fixture f;
	struct vmm_proc p = {0};
	struct err e = {0};
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	start_fixture_init(&f);
	f.cfg.bin = self;
	setenv("FAKEQEMU_STATUS", "shutdown", 1);
	assert_int_equal(vmm_qemu.start(&f.cfg, &p, &e), -1);
	unsetenv("FAKEQEMU_STATUS");
	assert_int_equal(e.code, ERR_VMM);
	/* Usually "QEMU exited with status 0"; on a very busy host QEMU's own
	 * "reports the VM shutdown" when it had not exited within 1 s. */
	assert_prefix(e.msg, "qemu start: check VM status: QEMU ");
	assert_string_equal(e.log, f.con);
	assert_start_left_nothing(&f, &p);
}

/* A good start hands over the running QEMU, its start time recorded. */
static void test_start_hands_over_running_qemu(void **state)
{
	struct start_fixture f;
	struct vmm_proc p = {0};
	struct err e = {0};
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int st;

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	start_fixture_init(&f);
	f.cfg.bin = self;
	setenv("FAKEQEMU_STATUS", "running", 1);
	assert_int_equal(vmm_qemu.start(&f.cfg, &p, &e), 0);
	unsetenv("FAKEQEMU_STATUS");
	assert_true(p.pid > 0);
	assert_true(proc_alive(p.pid, p.start_time));
	assert_true(p.start_time == proc_start_time(p.pid));
	assert_int_equal(kill(p.pid, SIGTERM), 0);
	assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
	assert_true(WIFSIGNALED(st));
	tmpdir_free(f.dir);
}

/* The fake QEMU: serves the first -qmp socket of its command line for one
 * client, answers query-status with FAKEQEMU_STATUS ("running" or
 * "shutdown"), then exits (shutdown) or waits to be killed (running). */
static int fakeqemu_main(int argc, char **argv, const char *status)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int running = !strcmp(status, "running"), lfd, fd;
	char line[1024], reply[256];

	alarm(120); /* never outlives a test that failed before killing it */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-qmp") && !sa.sun_path[0])
			sscanf(argv[i + 1], "unix:%107[^,]", sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		return 2;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return 2;
	sput(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
		 "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n");
	if (fake_read_line(fd, line, sizeof(line)) < 0)
		return 2;
	sput(fd, "{\"return\": {}}\r\n");
	if (fake_read_line(fd, line, sizeof(line)) < 0 || !strstr(line, "query-status"))
		return 2;
	snprintf(reply, sizeof(reply),
		 "{\"return\": {\"status\": \"%s\", \"singlestep\": false, \"running\": %s}}\r\n",
		 status, running ? "true" : "false");
	sput(fd, reply);
	close(fd);
	if (running)
		for (;;)
			pause();
	fprintf(stderr, "fake qemu: guest shut down\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *fake = getenv("FAKEQEMU_STATUS");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_argv_full),
	    cmocka_unit_test(test_argv_minimal_kvm),
	    cmocka_unit_test(test_argv_default_accel_and_no_mac),
	    cmocka_unit_test(test_argv_escapes_commas),
	    cmocka_unit_test(test_argv_rejects_bad_config),
	    cmocka_unit_test(test_resume_argv),
	    cmocka_unit_test(test_host_tsc_khz),
	    cmocka_unit_test(test_accel_auto),
	    cmocka_unit_test(test_accel_explicit),
	    cmocka_unit_test(test_parse_version),
	    cmocka_unit_test(test_probe_missing_binary),
	    cmocka_unit_test(test_qmp_parse_event),
	    cmocka_unit_test(test_qmp_next_event_stream),
	    cmocka_unit_test(test_qmp_next_event_garbage),
	    cmocka_unit_test(test_request_stop_sends_ctrl_alt_delete),
	    cmocka_unit_test(test_request_stop_refused),
	    cmocka_unit_test(test_request_stop_not_running),
	    cmocka_unit_test(test_watch_reads_shutdown_reason),
	    cmocka_unit_test(test_watch_no_qemu),
	    cmocka_unit_test(test_connect_silent_times_out),
	    cmocka_unit_test(test_cleanup_removes_sockets),
	    cmocka_unit_test(test_qmp_execute_passes_fd),
	    cmocka_unit_test(test_suspend_writes_state),
	    cmocka_unit_test(test_suspend_failure_resumes_guest),
	    cmocka_unit_test(test_suspend_refuses_existing_state),
	    cmocka_unit_test(test_resume_without_state),
	    cmocka_unit_test(test_start_qemu_exits_early),
	    cmocka_unit_test(test_start_vm_not_running),
	    cmocka_unit_test(test_start_hands_over_running_qemu),
	};

	if (fake && argc > 1)
		return fakeqemu_main(argc, argv, fake);

	return cmocka_run_group_tests_name("vmm_qemu", tests, NULL, NULL);
}
