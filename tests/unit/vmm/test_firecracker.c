/*
 * Tests of the Firecracker driver (vmm_firecracker).
 *
 * Most run the driver against the strict Firecracker API emulator
 * (tests/fcemu/firecracker, path in $FCEMU_BIN), with real files: an ELF
 * kernel header, sparse drive images. They check what a user would: the
 * exact API requests (from the emulator's journal), the console log, the
 * error text on failure, and that no process or socket is left behind.
 * Without the emulator those tests are skipped with a message.
 *
 * Some failure cases use small fake "firecracker" programs instead: shell
 * scripts, or this test binary itself started as `--api-sock S --id ID`,
 * which serves the API and dies (SIGABRT, like a Firecracker panic) when
 * the request named by $FAKEFC_DIE_AT arrives.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "vmm/fc_metrics.h"
#include "vmm/vmm.h"

#include "pid_guard.h"

#define VM_ID "0123456789abcdef"

struct fixture {
	char dir[64];
	char kernel[128], initrd[128], base[128], overlay[128], work[128];
	char sock[128], console[128], metrics[128], journal_dir[128], emu_config[128];
	char daemon_log[128];
	struct logger *log;
	struct vmm_config cfg;
};

/* ---- helpers ------------------------------------------------------------- */

static const char *fcemu_bin(void)
{
	const char *p = getenv("FCEMU_BIN");

	return p && access(p, X_OK) == 0 ? p : NULL;
}

#define NEED_FCEMU()                                                                               \
	do {                                                                                       \
		if (!fcemu_bin()) {                                                                \
			print_message("SKIP: Firecracker emulator not found at FCEMU_BIN=%s\n",    \
				      getenv("FCEMU_BIN") ? getenv("FCEMU_BIN") : "(unset)");      \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *read_text(const char *path)
{
	char *out = NULL;

	if (fs_read(path, 16 * 1024 * 1024, &out, NULL, NULL) < 0)
		return NULL;
	return out;
}

/* A minimal x86_64 ELF executable header: the emulator (like Firecracker)
 * checks the ELF magic of kernel_image_path. */
static void write_elf(const char *path)
{
	Elf64_Ehdr h = {0};
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = ELFCLASS64;
	h.e_ident[EI_DATA] = ELFDATA2LSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = ET_EXEC;
	h.e_machine = EM_X86_64;
	h.e_version = EV_CURRENT;
	h.e_entry = 0x1000000;
	h.e_ehsize = sizeof(h);
	h.e_phentsize = sizeof(Elf64_Phdr);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
}

static void write_sparse(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vmm_config *c = &f->cfg;

	strcpy(f->dir, "/tmp/fctest-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
#define P(field, name) snprintf(f->field, sizeof(f->field), "%s/%s", f->dir, name)
	P(kernel, "vmlinux");
	P(initrd, "initrd.img");
	P(base, "base.ext4");
	P(overlay, "overlay.ext4");
	P(work, "work.ext4");
	P(sock, "fc.sock");
	P(console, "firecracker.log");
	P(metrics, "metrics.json");
	P(journal_dir, "journal");
	P(emu_config, "fcemu.json");
	P(daemon_log, "bangerd.log");
#undef P
	write_elf(f->kernel);
	write_text(f->initrd, "initrd", 0644);
	write_sparse(f->base, 64 << 20);
	write_sparse(f->overlay, 128 << 20);
	write_sparse(f->work, 256 << 20);
	mkdir(f->journal_dir, 0755);
	setenv("FCEMU_JOURNAL_DIR", f->journal_dir, 1);
	unsetenv("FCEMU_CONFIG");
	unsetenv("FAKEFC_DIE_AT");
	pid_guard_reset();
	f->log = logger_open(f->daemon_log, LOG_DEBUG, NULL);

	c->vm_id = VM_ID;
	c->vm_name = "calm-otter";
	c->vm_dir = f->dir;
	c->api_sock = f->sock;
	c->bin = fcemu_bin() ? fcemu_bin() : "/nonexistent/firecracker";
	c->kernel = f->kernel;
	c->initrd = f->initrd;
	c->boot_args = "banger.hostname=calm-otter";
	c->drives[0] = (struct vmm_drive){"base", f->base, 1, 1};
	c->drives[1] = (struct vmm_drive){"overlay", f->overlay, 0, 0};
	c->drives[2] = (struct vmm_drive){"work", f->work, 0, 0};
	c->ndrives = 3;
	c->vcpu = 2;
	c->mem_mib = 1024;
	c->console_log = f->console;
	c->metrics_path = f->metrics;
	c->log = f->log;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	logger_free(f->log);
	fs_rm_rf(f->dir, NULL);
	free(f);
	return 0;
}

/* Pid of a live process whose command line holds arg, or 0. */
static pid_t find_proc_with_arg(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	assert_non_null(d);
	while (!found && (de = readdir(d))) {
		char path[300], cmd[4096];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
			cmd[n] = '\0';
			if (strcmp(cmd + i, arg) == 0) {
				found = (pid_t)atoi(de->d_name);
				break;
			}
		}
	}
	closedir(d);
	return found;
}

/* After a failed start: the VMM is gone (reaped, and never signalled or
 * waited for once reaped) and so is its socket. */
static void assert_nothing_left(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(find_proc_with_arg(f->sock), 0);
	assert_int_equal(lstat(f->sock, &st), -1);
	pid_guard_assert_clean();
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* The requests in the emulator's journal (one JSON object per line; lines
 * with an "event" key record its start and exit, not requests). */
static json_t *journal(const struct fixture *f)
{
	char path[256];
	char *text, *save = NULL;
	json_t *arr = json_array();

	snprintf(path, sizeof(path), "%s/%s.jsonl", f->journal_dir, VM_ID);
	text = read_text(path);
	assert_non_null(text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);

		assert_non_null(j);
		if (json_object_get(j, "event"))
			json_decref(j);
		else
			json_array_append_new(arr, j);
	}
	free(text);
	return arr;
}

/* A journal entry's body as JSON (the journal may keep it as text). */
static json_t *entry_body(json_t *entry)
{
	json_t *b = json_object_get(entry, "body");

	if (json_is_string(b))
		return json_loads(json_string_value(b), 0, NULL);
	return json_incref(b);
}

static void assert_request(json_t *entry, const char *method, const char *path, int status,
			   const char *body_json)
{
	json_t *got;

	if (!entry)
		fail_msg("no journal entry where %s %s was expected", method, path);
	got = entry_body(entry);
	assert_string_equal(json_string_value(json_object_get(entry, "method")), method);
	assert_string_equal(json_string_value(json_object_get(entry, "path")), path);
	assert_int_equal(json_integer_value(json_object_get(entry, "status")), status);
	if (body_json) {
		json_t *want = json_loads(body_json, 0, NULL);
		char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);

		assert_non_null(want);
		assert_string_equal(g ? g : "(none)", w);
		free(g);
		free(w);
		json_decref(want);
	}
	json_decref(got);
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static int wait_exit(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* ---- happy path against the emulator ------------------------------------- */

static void test_start_configures_in_order_and_stops(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	json_t *j;
	char body[1024], *console, *dlog;
	struct stat st;
	int status;

	NEED_FCEMU();
	/* Leftovers of an earlier run: a stale socket, an old console. */
	write_text(f->sock, "", 0600);
	write_text(f->console, "output of an earlier boot\n", 0600);
	write_text(f->metrics, "{\"stale\":true}\n", 0600);

	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), 0);
	assert_true(p.pid > 0);
	assert_true(p.start_time > 0);
	assert_int_equal(find_proc_with_arg(f->sock), p.pid);

	/* The metrics file was emptied before the spawn. */
	console = read_text(f->metrics);
	assert_null(strstr(console ? console : "", "stale"));
	free(console);

	assert_int_equal(vmm_firecracker.request_stop(&f->cfg, &p, &e), 0);
	status = wait_exit(p.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The emulator journals a request after answering it: read the journal
	 * once the process is gone. */
	j = journal(f);
	assert_int_equal(json_array_size(j), 10);
	assert_request(json_array_get(j, 0), "GET", "/", 200, NULL);
	assert_request(json_array_get(j, 1), "PUT", "/logger", 204,
		       "{\"level\":\"Info\",\"show_level\":true}");
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", f->metrics);
	assert_request(json_array_get(j, 2), "PUT", "/metrics", 204, body);
	assert_request(json_array_get(j, 3), "PUT", "/machine-config", 204,
		       "{\"vcpu_count\":2,\"mem_size_mib\":1024,\"smt\":false}");
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\":\"%s\",\"initrd_path\":\"%s\",\"boot_args\":"
		 "\"console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd "
		 "banger.hostname=calm-otter\"}",
		 f->kernel, f->initrd);
	assert_request(json_array_get(j, 4), "PUT", "/boot-source", 204, body);
	snprintf(body, sizeof(body),
		 "{\"drive_id\":\"base\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
		 "\"is_read_only\":true}",
		 f->base);
	assert_request(json_array_get(j, 5), "PUT", "/drives/base", 204, body);
	snprintf(body, sizeof(body),
		 "{\"drive_id\":\"overlay\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"is_read_only\":false,\"cache_type\":\"Writeback\"}",
		 f->overlay);
	assert_request(json_array_get(j, 6), "PUT", "/drives/overlay", 204, body);
	snprintf(body, sizeof(body),
		 "{\"drive_id\":\"work\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
		 "\"is_read_only\":false,\"cache_type\":\"Writeback\"}",
		 f->work);
	assert_request(json_array_get(j, 7), "PUT", "/drives/work", 204, body);
	assert_request(json_array_get(j, 8), "PUT", "/actions", 204,
		       "{\"action_type\":\"InstanceStart\"}");
	assert_request(json_array_get(j, 9), "PUT", "/actions", 204,
		       "{\"action_type\":\"SendCtrlAltDel\"}");
	json_decref(j);
	vmm_firecracker.cleanup(&f->cfg);
	assert_int_equal(lstat(f->sock, &st), -1);

	/* The console log kept the earlier boot and got our marker after it. */
	console = read_text(f->console);
	assert_non_null(console);
	assert_prefix(console, "output of an earlier boot\n--- banger: firecracker start ");
	free(console);

	/* The daemon log has each API exchange at debug and each stage at info. */
	dlog = read_text(f->daemon_log);
	assert_non_null(strstr(dlog, "\"path\":\"/drives/overlay\""));
	assert_non_null(strstr(dlog, "\"stage\":\"configure drives\""));
	assert_non_null(strstr(dlog, "\"msg\":\"firecracker started\""));
	free(dlog);
}

/* With a tap: the NIC is configured after the drives, before InstanceStart.
 * There is no tap here (tests never touch the host's links), so the
 * emulator refuses it like an unprivileged Firecracker; the request it got
 * is in its log lines on the console. */
static void test_network_interface_request(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	char *console;

	NEED_FCEMU();
	f->cfg.tap = "bgr-test0";
	f->cfg.mac = "06:00:ac:10:00:02";
	f->cfg.ndrives = 1;
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_prefix(e.msg, "configure network: Firecracker said 400: \"Network config error: ");
	assert_non_null(strstr(e.msg, "provided by bgr-test0"));
	assert_nothing_left(f);
	console = read_text(f->console);
	assert_non_null(strstr(console,
			       "Put request on \"/network-interfaces/eth0\" with body "
			       "\"{\\\"iface_id\\\":\\\"eth0\\\",\\\"host_dev_name\\\":"
			       "\\\"bgr-test0\\\",\\\"guest_mac\\\":\\\"06:00:ac:10:00:02\\\"}\""));
	/* Drives came first; nothing was started. */
	assert_non_null(strstr(console, "Put request on \"/drives/base\""));
	assert_null(strstr(console, "InstanceStart"));
	free(console);
}

/* ---- failures ------------------------------------------------------------ */

static void test_missing_kernel(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	char buf[4096];
	json_t *j;

	NEED_FCEMU();
	unlink(f->kernel);
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	assert_prefix(e.msg, "configure boot source: Firecracker said 400: \"");
	assert_non_null(strstr(e.msg, "Boot source error"));
	assert_string_equal(e.log, f->console);
	snprintf(buf, sizeof(buf), "last lines of %s:", f->console);
	assert_non_null(strstr(e.msg, buf));
	assert_nothing_left(f);

	/* It stopped at the boot source: no drive, no InstanceStart. */
	j = journal(f);
	for (size_t i = 0; i < json_array_size(j); i++) {
		const char *path = json_string_value(json_object_get(json_array_get(j, i), "path"));

		assert_true(strncmp(path, "/drives", 7) != 0 && strcmp(path, "/actions") != 0);
	}
	assert_true(json_array_size(j) >= 4);
	json_decref(j);
}

static void test_unreadable_drive(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};

	NEED_FCEMU();
	unlink(f->work);
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_prefix(e.msg, "configure drives: Firecracker said 400: \"");
	assert_non_null(strstr(e.msg, f->work));
	assert_nothing_left(f);
}

static void test_instance_start_fails(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};

	NEED_FCEMU();
	write_text(f->emu_config, "{\"fail_instance_start\": true}", 0644);
	setenv("FCEMU_CONFIG", f->emu_config, 1);
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_prefix(e.msg, "start instance: Firecracker said 400: \"");
	assert_string_equal(e.log, f->console);
	assert_int_equal(p.pid, 0);
	assert_nothing_left(f);
}

/* Kills the emulator while it is inside PUT /boot-source: the kernel is a
 * FIFO nobody writes to, so the emulator's open() of it blocks until it is
 * killed. The thread spots that open() in /proc/PID/task/TID/syscall and
 * reads its path argument from /proc/PID/mem (we are root and its parent). */
struct killer {
	const struct fixture *f;
	pid_t killed;
};

static int in_open_of(pid_t pid, const char *tid, const char *want)
{
	char path[128], line[256], name[256] = "";
	unsigned long a0 = 0, a1 = 0, addr;
	long nr = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	if (sscanf(line, "%ld %lx %lx", &nr, &a0, &a1) != 3)
		return 0;
	if (nr == SYS_openat)
		addr = a1;
	else if (nr == SYS_open)
		addr = a0;
	else
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = pread(fd, name, strlen(want) + 1, (off_t)addr);
	close(fd);
	return n == (ssize_t)strlen(want) + 1 && strcmp(name, want) == 0;
}

static int blocked_in_fifo_open(pid_t pid, const char *fifo)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return 0;
	while (!found && (de = readdir(d)))
		found = de->d_name[0] != '.' && in_open_of(pid, de->d_name, fifo);
	closedir(d);
	return found;
}

static void *kill_in_boot_source(void *arg)
{
	struct killer *k = arg;

	for (int i = 0; i < 2000; i++) {
		pid_t pid = find_proc_with_arg(k->f->sock);

		if (pid > 0 && blocked_in_fifo_open(pid, k->f->kernel)) {
			kill(pid, SIGKILL);
			k->killed = pid;
			return NULL;
		}
		usleep(2000);
	}
	return NULL;
}

static void test_emulator_killed_during_configuration(void **state)
{
	struct fixture *f = *state;
	struct killer k = {f, 0};
	struct vmm_proc p = {0};
	struct err e = {0};
	pthread_t t;

	NEED_FCEMU();
	unlink(f->kernel);
	assert_int_equal(mkfifo(f->kernel, 0600), 0);
	assert_int_equal(pthread_create(&t, NULL, kill_in_boot_source, &k), 0);
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	pthread_join(t, NULL);
	assert_true(k.killed > 0);
	assert_int_equal(e.code, ERR_VMM);
	assert_prefix(e.msg, "configure boot source: PUT /boot-source: ");
	assert_non_null(strstr(e.msg, "; firecracker was killed by signal 9"));
	assert_string_equal(e.log, f->console);
	assert_nothing_left(f);
}

/* The VMM dies in the middle of the configuration (a panic): the error
 * says so, with the signal, at once. */
static void test_vmm_dies_during_configuration(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	f->cfg.bin = self;
	setenv("FAKEFC_DIE_AT", "/machine-config", 1);
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	assert_prefix(e.msg, "configure machine: PUT /machine-config: ");
	assert_non_null(strstr(e.msg, "; firecracker was killed by signal 6"));
	assert_non_null(strstr(e.msg, "fakefc: panicked at /machine-config"));
	assert_nothing_left(f);
}

static void test_vmm_exits_before_socket(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	char bin[256];

	snprintf(bin, sizeof(bin), "%s/firecracker", f->dir);
	write_text(bin, "#!/bin/sh\necho 'Error: RunWithApi(FailedToBindSocket)' >&2\nexit 1\n",
		   0755);
	f->cfg.bin = bin;
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	assert_prefix(e.msg, "wait for API socket: firecracker exited with status 1 before "
			     "its API socket answered");
	assert_non_null(strstr(e.msg, "Error: RunWithApi(FailedToBindSocket)"));
	assert_string_equal(e.log, f->console);
	assert_nothing_left(f);
}

static void test_missing_binary(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	char version[32] = "";

	f->cfg.bin = "/nonexistent/firecracker";
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_MISSING_TOOL);
	assert_non_null(strstr(e.hint, "firecracker_bin"));
	assert_nothing_left(f);

	err_clear(&e);
	assert_int_equal(
	    vmm_firecracker.probe("banger-no-such-firecracker", version, sizeof(version), &e), -1);
	assert_int_equal(e.code, ERR_MISSING_TOOL);
	assert_non_null(strstr(e.hint, "firecracker_bin"));
}

static void test_probe_versions(void **state)
{
	struct fixture *f = *state;
	char bin[256], version[32] = "";
	struct err e = {0};

	snprintf(bin, sizeof(bin), "%s/fc-version", f->dir);
	write_text(bin, "#!/bin/sh\necho 'Firecracker v1.16.1'\necho\n", 0755);
	assert_int_equal(vmm_firecracker.probe(bin, version, sizeof(version), &e), 0);
	assert_string_equal(version, "1.16.1");

	unlink(bin);
	write_text(bin, "#!/bin/sh\necho 'Firecracker v1.7.0'\n", 0755);
	assert_int_equal(vmm_firecracker.probe(bin, version, sizeof(version), &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	assert_string_equal(version, "1.7.0");
	assert_non_null(strstr(e.msg, "v1.7.0"));
	assert_non_null(strstr(e.msg, "v1.8 or newer"));
	assert_non_null(strstr(e.msg, "ACPI"));

	unlink(bin);
	write_text(bin, "#!/bin/sh\necho 'QEMU emulator version 7.2.0'\n", 0755);
	assert_int_equal(vmm_firecracker.probe(bin, version, sizeof(version), &e), -1);
	assert_non_null(strstr(e.msg, "did not print \"Firecracker vX.Y.Z\""));

	if (fcemu_bin()) {
		assert_int_equal(vmm_firecracker.probe(fcemu_bin(), version, sizeof(version), &e),
				 0);
		assert_true(strncmp(version, "1.", 2) == 0);
	}
}

/* vm stats: FlushMetrics, then the last metrics line has the drives. */
static void test_metrics_after_flush(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};
	json_t *m = NULL;

	NEED_FCEMU();
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), 0);
	assert_int_equal(fc_flush_metrics(f->sock, &e), 0);
	assert_int_equal(fc_metrics_read_last(f->metrics, &m, &e), 0);
	assert_true(json_is_integer(json_object_get(m, "utc_timestamp_ms")));
	assert_true(json_is_object(json_object_get(m, "block_overlay")));
	assert_true(json_is_object(json_object_get(m, "block_work")));
	json_decref(m);
	kill(p.pid, SIGKILL);
	wait_exit(p.pid);
	vmm_firecracker.cleanup(&f->cfg);
}

/* request_stop on a dead VMM fails, so the daemon goes to signals. */
static void test_request_stop_dead_vmm(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};

	NEED_FCEMU();
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), 0);
	kill(p.pid, SIGKILL);
	wait_exit(p.pid);
	assert_int_equal(vmm_firecracker.request_stop(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_BAD_STATE);
	/* Without a process to check, the dead socket is the error. */
	assert_int_equal(vmm_firecracker.request_stop(&f->cfg, NULL, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "send Ctrl+Alt+Del"));
	vmm_firecracker.cleanup(&f->cfg);
}

static void test_driver_find(void **state)
{
	(void)state;
	assert_ptr_equal(vmm_driver_find("firecracker"), &vmm_firecracker);
#ifdef HAVE_QEMU_DRIVER
	assert_ptr_equal(vmm_driver_find("qemu"), &vmm_qemu);
#endif
	assert_null(vmm_driver_find("bochs"));
	assert_null(vmm_driver_find(NULL));
}

static void test_invalid_config(void **state)
{
	struct fixture *f = *state;
	struct vmm_proc p = {0};
	struct err e = {0};

	f->cfg.drives[1].id = "data-1"; /* Firecracker rejects hyphens in resource ids */
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "data-1"));
	f->cfg.drives[1].id = "overlay";
	f->cfg.vm_id = "bad_id"; /* an invalid --id makes Firecracker abort */
	assert_int_equal(vmm_firecracker.start(&f->cfg, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

/* ---- the fake firecracker (this binary started with --api-sock) ----------- */

/* Serves GET / and PUTs with 204 until the request for $FAKEFC_DIE_AT
 * arrives, then aborts like a Firecracker panic. */
static int fakefc_main(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *die_at = getenv("FAKEFC_DIE_AT");
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	char buf[8192];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		return 1;
	printf("fakefc: listening on %s\n", sock);
	fflush(stdout);
	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		ssize_t n;

		/* Requests are small and come one at a time: one read each. */
		while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			char method[16], path[128];
			static const char ok204[] = "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
						    "Connection: keep-alive\r\n\r\n";
			static const char ok200[] = "HTTP/1.1 200 \r\nConnection: "
						    "keep-alive\r\nContent-Length: 2\r\n\r\n{}";

			buf[n] = '\0';
			if (sscanf(buf, "%15s %127s", method, path) != 2)
				break;
			if (die_at && strcmp(path, die_at) == 0) {
				printf("fakefc: panicked at %s\n", path);
				fflush(stdout);
				abort();
			}
			if (strcmp(method, "GET") == 0) {
				if (write(fd, ok200, strlen(ok200)) < 0)
					break;
			} else if (write(fd, ok204, strlen(ok204)) < 0) {
				break;
			}
		}
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_start_configures_in_order_and_stops, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_network_interface_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_kernel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_drive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instance_start_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emulator_killed_during_configuration, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vmm_dies_during_configuration, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vmm_exits_before_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_binary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_after_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_stop_dead_vmm, setup, teardown),
	    cmocka_unit_test(test_driver_find),
	    cmocka_unit_test_setup_teardown(test_invalid_config, setup, teardown),
	};

	if (argc >= 3 && strcmp(argv[1], "--api-sock") == 0)
		return fakefc_main(argv[2]);
	if (!fcemu_bin())
		fprintf(stderr,
			"NOTE: Firecracker emulator not found at FCEMU_BIN=%s: tests "
			"that need it are skipped\n",
			getenv("FCEMU_BIN") ? getenv("FCEMU_BIN") : "(unset)");
	return cmocka_run_group_tests_name("vmm_firecracker", tests, NULL, NULL);
}
