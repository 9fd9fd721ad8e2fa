/*
 * qemu: the QEMU driver (vmm_qemu), its accelerator choice and command line.
 *
 * QEMU needs no configuration calls: the whole VM is on the command line, so
 * start = spawn + wait until QMP answers + check the VM runs. Stop is QMP
 * send-key ctrl-alt-delete: the guest's systemd reboots and -no-reboot turns
 * that reset into QEMU exiting (system_powerdown is ignored by a minimal
 * guest without logind, so it is not used). See qemu.h for the sockets,
 * vmm_child.h for the process (spawn, console marker and tail, reaping).
 *
 * Suspend is a migration into a file: QMP stop, then migrate to "fd:NAME"
 * with the state file, which banger opens itself (O_EXCL, 0600) and hands
 * over with getfd (SCM_RIGHTS), so no shell or exec: URI is ever involved.
 * Resume spawns start's command line plus "-incoming defer" and feeds the
 * file back the same way with migrate-incoming, then cont. Guest clock:
 * under TCG the guest TSC stands still while QEMU is stopped and goes on
 * from the saved value (there is no kvmclock to catch up), so after a
 * resume the guest's wall clock is behind by the time spent suspended;
 * the daemon sets it afterwards.
 */
#include "vmm/qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/spawn.h"
#include "vmm/vmm_child.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h> /* __rdtsc */
#endif

#define QEMU_DEFAULT_BIN "qemu-system-x86_64"
#define QEMU_PACKAGE_HINT "apt-get install qemu-system-x86"
#define QEMU_EVENT_SUFFIX ".events"
#define QEMU_START_TIMEOUT_MS 30000 /* spawn until QMP answers, TCG on a busy host */
#define QEMU_QMP_STEP_MS 5000	    /* one QMP exchange */
#define QEMU_RETRY_MS 20
#define QEMU_TAIL_LINES 8
#define QEMU_DEATH_GRACE_MS 1000	 /* after a QMP error: is QEMU exiting? */
#define QEMU_STATE_FDNAME "banger-state" /* getfd name of the state file */
#define QEMU_MIGRATE_POLL_MS 20
#define QEMU_MIGRATE_BASE_MS 30000
#define QEMU_MIGRATE_MS_PER_MIB 100	   /* 1 GiB: 130 s, far above what it takes */
#define QEMU_MIGRATE_BANDWIDTH (1LL << 40) /* bytes/s: no cap, the disk sets the pace */
#define QEMU_MIGRATE_DOWNTIME_MS 2000000   /* QEMU's maximum: one pass, no rounds */

/* ---- accelerator ---------------------------------------------------- */

const char *qemu_accel_choose_at(const char *want, const char *kvm_dev, const char *pvm_dir,
				 char *why, size_t len)
{
	int fd;

	if (want && (!strcmp(want, "kvm") || !strcmp(want, "tcg"))) {
		snprintf(why, len, "accelerator %s requested by configuration", want);
		return !strcmp(want, "kvm") ? "kvm" : "tcg";
	}
	if (want && *want && strcmp(want, "auto")) {
		snprintf(why, len, "unknown QEMU accelerator \"%s\" (use auto, kvm or tcg)", want);
		return NULL;
	}
	fd = open(kvm_dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "using tcg (software emulation): cannot open %s read-write: %s",
			 kvm_dev, strerror(errno));
		return "tcg";
	}
	close(fd);
	if (access(pvm_dir, F_OK) == 0) {
		snprintf(why, len,
			 "using tcg (software emulation): %s exists, this is a nested PVM "
			 "host where ordinary guest kernels do not run under KVM",
			 pvm_dir);
		return "tcg";
	}
	snprintf(why, len, "using kvm: %s is usable", kvm_dev);
	return "kvm";
}

const char *qemu_accel_choose(const char *want, char *why, size_t len)
{
	return qemu_accel_choose_at(want, "/dev/kvm", "/sys/module/kvm_pvm", why, len);
}

/* ---- host TSC rate ------------------------------------------------------ */

#if defined(__x86_64__) || defined(__i386__)
/* One (time, TSC) pair; the read with the narrowest clock bracket wins,
 * so a preemption between the two reads does not skew it. */
static void qemu_tsc_sample(long long *ns, unsigned long long *tsc)
{
	long long best = -1;

	for (int i = 0; i < 8; i++) {
		struct timespec a, b;
		unsigned long long t;
		long long gap;

		clock_gettime(CLOCK_MONOTONIC_RAW, &a);
		t = __rdtsc();
		clock_gettime(CLOCK_MONOTONIC_RAW, &b);
		gap = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
		if (best < 0 || gap < best) {
			best = gap;
			*tsc = t;
			*ns = a.tv_sec * 1000000000LL + a.tv_nsec + gap / 2;
		}
	}
}

long qemu_host_tsc_khz(void)
{
	long long ns0, ns1;
	unsigned long long t0, t1;

	qemu_tsc_sample(&ns0, &t0);
	usleep(20 * 1000);
	qemu_tsc_sample(&ns1, &t1);
	if (ns1 <= ns0 || t1 <= t0)
		return 0;
	return (long)((t1 - t0) * 1000000ULL / (unsigned long long)(ns1 - ns0));
}
#else
long qemu_host_tsc_khz(void)
{
	return 0;
}
#endif

/* ---- command line ---------------------------------------------------- */

struct qemu_args {
	char **v;
	size_t n, cap;
};

static void qemu_args_add(struct qemu_args *a, char *owned)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = owned;
	a->v[a->n] = NULL;
}

/* Adds each string argument (a NULL ends the list). */
static void qemu_args_put(struct qemu_args *a, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		qemu_args_add(a, xstrdup(s));
	va_end(ap);
}

/* QEMU splits option values at commas; a literal comma is written ",,". */
static char *qemu_opt_escape(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		if (*s == ',')
			buf_putc(&b, ',');
		buf_putc(&b, *s);
	}
	return buf_steal(&b);
}

void qemu_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static int qemu_check_config(const struct vmm_config *cfg, struct err *e)
{
	int roots = 0;

	if (!cfg->kernel || !*cfg->kernel)
		return err_set(e, ERR_INVALID, "no kernel given");
	if (!cfg->api_sock || !*cfg->api_sock)
		return err_set(e, ERR_INVALID, "no QMP socket path given");
	if (cfg->vcpu < 1 || cfg->mem_mib < 1)
		return err_set(e, ERR_INVALID, "vcpu (%d) and memory (%d MiB) must be positive",
			       cfg->vcpu, cfg->mem_mib);
	if (cfg->accel && strcmp(cfg->accel, "kvm") && strcmp(cfg->accel, "tcg"))
		return err_set(e, ERR_INVALID, "unknown QEMU accelerator \"%s\" (kvm or tcg)",
			       cfg->accel);
	if (cfg->ndrives > VMM_MAX_DRIVES)
		return err_set(e, ERR_INVALID, "%zu drives (at most %d)", cfg->ndrives,
			       VMM_MAX_DRIVES);
	for (size_t i = 0; i < cfg->ndrives; i++) {
		if (!cfg->drives[i].path || !*cfg->drives[i].path)
			return err_set(e, ERR_INVALID, "drive %zu has no file", i);
		roots += cfg->drives[i].is_root != 0;
	}
	if (roots > 1)
		return err_set(e, ERR_INVALID, "%d drives are marked root (at most one)", roots);
	return 0;
}

static void qemu_add_drive(struct qemu_args *a, const struct vmm_drive *d, size_t idx)
{
	char *file = qemu_opt_escape(d->path);

	qemu_args_put(a, "-drive", NULL);
	qemu_args_add(a, xasprintf("id=d%zu,file=%s,format=raw,if=none%s", idx, file,
				   d->read_only ? ",readonly=on" : ""));
	qemu_args_put(a, "-device", NULL);
	qemu_args_add(a, xasprintf("virtio-blk-device,drive=d%zu", idx));
	free(file);
}

static void qemu_add_drives(struct qemu_args *a, const struct vmm_config *cfg)
{
	size_t idx = 0;

	/* Root first: the guest sees devices in command-line order, and the
	 * base rootfs must be /dev/vda as under Firecracker's is_root_device. */
	for (size_t i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].is_root)
			qemu_add_drive(a, &cfg->drives[i], idx++);
	for (size_t i = 0; i < cfg->ndrives; i++)
		if (!cfg->drives[i].is_root)
			qemu_add_drive(a, &cfg->drives[i], idx++);
}

static void qemu_add_net(struct qemu_args *a, const struct vmm_config *cfg)
{
	char *tap = qemu_opt_escape(cfg->tap);

	qemu_args_put(a, "-netdev", NULL);
	qemu_args_add(a, xasprintf("tap,id=n0,ifname=%s,script=no,downscript=no", tap));
	qemu_args_put(a, "-device", NULL);
	if (cfg->mac && *cfg->mac) {
		char *mac = qemu_opt_escape(cfg->mac);

		qemu_args_add(a, xasprintf("virtio-net-device,netdev=n0,mac=%s", mac));
		free(mac);
	} else {
		qemu_args_put(a, "virtio-net-device,netdev=n0", NULL);
	}
	free(tap);
}

static void qemu_add_qmp(struct qemu_args *a, const char *path)
{
	char *p = qemu_opt_escape(path);

	qemu_args_put(a, "-qmp", NULL);
	qemu_args_add(a, xasprintf("unix:%s,server=on,wait=off", p));
	free(p);
}

/* QEMU's kernel parameters, then banger's. Under TCG the guest's TSC ticks
 * at the host's rate but the kernel calibrates it against the emulated PIT,
 * which fails when the host is busy ("Fast TSC calibration failed ...
 * Unable to calibrate against PIT"), and then the guest hangs at "APIC:
 * Switch to symmetric I/O mode setup" (seen on this 2-core machine under
 * load: 0 of 2 boots; with tsc_early_khz 2 of 2, 6 s to userspace). */
static char *qemu_kernel_args(const struct vmm_config *cfg, const char *accel, long tsc_khz)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, QEMU_BOOT_ARGS);
	/* tsc=reliable: every TCG vCPU reads the same host TSC, yet the boot-time
	 * sync check, run on emulated CPUs, finds them "unsynchronized" and
	 * the kernel falls back to the jiffies clocksource, whose time runs slow
	 * whenever a busy host delays the timer ticks (seen: a guest uptime 4 s
	 * behind the host's clock by the end of boot). */
	if (tsc_khz > 0 && !strcmp(accel, "tcg"))
		buf_printf(&b, " tsc_early_khz=%ld tsc=reliable", tsc_khz);
	if (cfg->boot_args && *cfg->boot_args)
		buf_printf(&b, " %s", cfg->boot_args);
	return buf_steal(&b);
}

static int qemu_args_build(const struct vmm_config *cfg, long tsc_khz, struct qemu_args *out,
			   struct err *e)
{
	const char *accel = cfg->accel ? cfg->accel : "tcg";
	char ev[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct qemu_args a = {0};

	if (qemu_check_config(cfg, e) < 0 ||
	    qemu_event_sock_path(cfg->api_sock, ev, sizeof(ev), e) < 0)
		return -1;
	qemu_args_put(&a, cfg->bin ? cfg->bin : QEMU_DEFAULT_BIN, NULL);
	if (cfg->vm_name && *cfg->vm_name) {
		qemu_args_put(&a, "-name", NULL);
		qemu_args_add(&a, xasprintf("banger-%s", cfg->vm_name));
	}
	/* tcg: -cpu max gives the guest every feature TCG emulates; kvm: the host's. */
	qemu_args_put(&a, "-M", "microvm", "-accel", accel, "-cpu",
		      !strcmp(accel, "kvm") ? "host" : "max", "-m", NULL);
	qemu_args_add(&a, xasprintf("%d", cfg->mem_mib));
	qemu_args_put(&a, "-smp", NULL);
	qemu_args_add(&a, xasprintf("%d", cfg->vcpu));
	/* -serial stdio: the console joins QEMU's own messages on stdout, which
	 * spawn_detached appends to console_log (a chardev file would truncate). */
	qemu_args_put(&a, "-nodefaults", "-no-user-config", "-nographic", "-device", "i8042",
		      "-no-reboot", "-serial", "stdio", NULL);
	qemu_add_qmp(&a, cfg->api_sock);
	qemu_add_qmp(&a, ev);
	qemu_args_put(&a, "-kernel", cfg->kernel, NULL);
	if (cfg->initrd && *cfg->initrd)
		qemu_args_put(&a, "-initrd", cfg->initrd, NULL);
	qemu_args_put(&a, "-append", NULL);
	qemu_args_add(&a, qemu_kernel_args(cfg, accel, tsc_khz));
	qemu_add_drives(&a, cfg);
	if (cfg->tap && *cfg->tap)
		qemu_add_net(&a, cfg);
	*out = a;
	return 0;
}

int qemu_build_argv(const struct vmm_config *cfg, long tsc_khz, char ***argv_out, struct err *e)
{
	struct qemu_args a = {0};

	if (qemu_args_build(cfg, tsc_khz, &a, e) < 0)
		return -1;
	*argv_out = a.v;
	return 0;
}

int qemu_build_resume_argv(const struct vmm_config *cfg, long tsc_khz, char ***argv_out,
			   struct err *e)
{
	struct qemu_args a = {0};

	if (qemu_args_build(cfg, tsc_khz, &a, e) < 0)
		return -1;
	/* defer: the state comes later over QMP (migrate-incoming with a
	 * descriptor passed by getfd), so nothing but argv reaches spawn. */
	qemu_args_put(&a, "-incoming", "defer", NULL);
	*argv_out = a.v;
	return 0;
}

int qemu_event_sock_path(const char *api_sock, char *buf, size_t len, struct err *e)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n = snprintf(buf, len, "%s%s", api_sock, QEMU_EVENT_SUFFIX);

	if (n < 0 || (size_t)n >= len || (size_t)n >= max)
		return err_set(e, ERR_INVALID,
			       "QMP socket path too long for its \"%s\" twin "
			       "(at most %zu bytes): %s",
			       QEMU_EVENT_SUFFIX, max - 1 - strlen(QEMU_EVENT_SUFFIX), api_sock);
	return 0;
}

/* ---- probe ------------------------------------------------------------ */

int qemu_parse_version(const char *out, char *version, size_t len, int *major)
{
	const char *p = out ? strstr(out, "QEMU emulator version ") : NULL;
	size_t n;

	if (!p)
		return -1;
	p += strlen("QEMU emulator version ");
	n = strspn(p, "0123456789.");
	if (n == 0 || n >= len)
		return -1;
	memcpy(version, p, n);
	version[n] = '\0';
	*major = atoi(version);
	return 0;
}

static int qemu_probe(const char *bin, char *version, size_t len, struct err *e)
{
	const char *argv[] = {bin ? bin : QEMU_DEFAULT_BIN, "--version", NULL};
	char *out = NULL;
	int major = 0, r;

	r = spawn_output(argv, NULL, &out, e);
	if (r < 0 && e && e->code == ERR_MISSING_TOOL)
		err_hint(e, "%s", QEMU_PACKAGE_HINT);
	if (r < 0) {
		free(out);
		return err_wrap(e, "QEMU");
	}
	r = qemu_parse_version(out, version, len, &major);
	if (r < 0)
		err_set(e, ERR_MISSING_TOOL, "%s --version printed no QEMU version: %.200s",
			argv[0], out ? out : "");
	else if (major < QEMU_MIN_MAJOR)
		r = err_set(e, ERR_MISSING_TOOL,
			    "QEMU %s is too old: banger needs %d.0 or newer "
			    "(microvm with ACPI device discovery)",
			    version, QEMU_MIN_MAJOR);
	if (r < 0)
		err_hint(e, "%s", QEMU_PACKAGE_HINT);
	free(out);
	return r;
}

/* ---- start ------------------------------------------------------------ */

/* If QEMU exits within wait_ms, sets e to how it ended and returns 1 (its
 * own reason, e.g. "Failed to get write lock", is in the console lines
 * qemu_start appends). */
static int qemu_died(struct vmm_child *child, int wait_ms, struct err *e)
{
	char how[128];

	if (!vmm_child_wait(child, wait_ms))
		return 0;
	vmm_child_describe(child->status, how, sizeof(how));
	err_set(e, ERR_VMM, "QEMU %s", how);
	return 1;
}

/* Connects to QMP, retrying while QEMU starts; fails at once if it dies. */
static int qemu_wait_qmp(const struct vmm_config *cfg, struct vmm_child *child, struct err *e)
{
	long long deadline = mono_ms() + QEMU_START_TIMEOUT_MS;

	for (;;) {
		struct err sub;
		int fd;

		if (qemu_died(child, 0, e))
			return -1;
		err_clear(&sub);
		fd = qmp_connect(cfg->api_sock, QEMU_QMP_STEP_MS, cfg->log, &sub);
		if (fd >= 0)
			return fd;
		if (sub.code != ERR_UNAVAILABLE) {
			/* A QMP error is usually QEMU exiting under us: say why. */
			if (!qemu_died(child, QEMU_DEATH_GRACE_MS, e) && e)
				*e = sub;
			return -1;
		}
		if (mono_ms() > deadline)
			return err_set(e, ERR_VMM,
				       "QEMU's QMP socket %s did not answer within %d ms",
				       cfg->api_sock, QEMU_START_TIMEOUT_MS);
		usleep(QEMU_RETRY_MS * 1000);
	}
}

/* Checks that the guest runs (not paused, not already shut down). */
static int qemu_check_running(int fd, struct logger *lg, struct err *e)
{
	json_t *ret = NULL;
	const char *status;
	int r;

	if (qmp_execute(fd, "query-status", NULL, &ret, QEMU_QMP_STEP_MS, lg, e) < 0)
		return -1;
	status = json_string_value(json_object_get(ret, "status"));
	r = json_is_true(json_object_get(ret, "running"))
		? 0
		: err_set(e, ERR_VMM, "QEMU reports the VM %s, not running",
			  status ? status : "in an unknown state");
	json_decref(ret);
	return r;
}

static void qemu_unlink_socks(const char *api_sock)
{
	char ev[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (!api_sock)
		return;
	unlink(api_sock);
	if (qemu_event_sock_path(api_sock, ev, sizeof(ev), NULL) == 0)
		unlink(ev);
}

static char *qemu_join(char **argv)
{
	struct buf b = BUF_INIT;

	for (char **p = argv; *p; p++) {
		if (p != argv)
			buf_putc(&b, ' ');
		buf_puts(&b, *p);
	}
	return buf_steal(&b);
}

/* Spawns QEMU and waits until QMP answers; logs each stage with its time.
 * Returns the connected QMP fd (close() it) or -1. */
static int qemu_launch(const struct vmm_config *cfg, char **argv, struct vmm_child *child,
		       struct err *e)
{
	long long t0 = mono_ms();
	char *cmdline = qemu_join(argv);
	int fd = -1;

	log_info(cfg->log, "qemu spawn", LF_S("vm", cfg->vm_name), LF_S("cmdline", cmdline));
	free(cmdline);
	qemu_unlink_socks(cfg->api_sock); /* stale ones from a killed QEMU */
	if (vmm_child_mark(child, e) < 0)
		return err_wrap(e, "prepare console log");
	if (vmm_child_spawn(child, (const char *const *)argv, e) < 0) {
		if (e && e->code == ERR_MISSING_TOOL)
			err_hint(e, "%s", QEMU_PACKAGE_HINT);
		return err_wrap(e, "spawn QEMU");
	}
	log_info(cfg->log, "qemu spawned", LF_S("vm", cfg->vm_name), LF_I("pid", child->pid),
		 LF_I("duration_ms", mono_ms() - t0));
	t0 = mono_ms();
	fd = qemu_wait_qmp(cfg, child, e);
	if (fd < 0)
		return err_wrap(e, "connect QMP");
	log_info(cfg->log, "qemu qmp ready", LF_S("vm", cfg->vm_name),
		 LF_I("duration_ms", mono_ms() - t0));
	return fd;
}

/* Start's last stage: the guest booting from the command line runs. */
static int qemu_boot_check(const struct vmm_config *cfg, int fd, const char *state_dir,
			   struct vmm_child *child, struct err *e)
{
	long long t0 = mono_ms();

	(void)state_dir;
	if (qemu_check_running(fd, cfg->log, e) < 0) {
		qemu_died(child, QEMU_DEATH_GRACE_MS, e);
		return err_wrap(e, "check VM status");
	}
	log_info(cfg->log, "qemu running", LF_S("vm", cfg->vm_name),
		 LF_I("duration_ms", mono_ms() - t0));
	return 0;
}

/* What start and resume share: build argv, spawn, connect QMP, then the
 * operation's own stage (then); on failure QEMU is ended, the sockets are
 * removed and the error quotes the console. */
static int qemu_run(const struct vmm_config *cfg, const char *op, int incoming,
		    int (*then)(const struct vmm_config *, int, const char *, struct vmm_child *,
				struct err *),
		    const char *state_dir, struct vmm_proc *out, struct err *e)
{
	const char *accel = cfg->accel ? cfg->accel : "tcg";
	long tsc_khz = !strcmp(accel, "tcg") ? qemu_host_tsc_khz() : 0;
	struct vmm_child child;
	char **argv = NULL;
	int r, fd = -1;

	out->pid = 0;
	out->start_time = -1;
	vmm_child_init(&child, "qemu", cfg->console_log);
	if (tsc_khz > 0)
		log_info(cfg->log, "qemu tcg host tsc", LF_S("vm", cfg->vm_name),
			 LF_I("tsc_khz", tsc_khz));
	r = incoming ? qemu_build_resume_argv(cfg, tsc_khz, &argv, e)
		     : qemu_build_argv(cfg, tsc_khz, &argv, e);
	if (r == 0)
		r = fd = qemu_launch(cfg, argv, &child, e);
	qemu_argv_free(argv);
	if (fd >= 0) {
		r = then(cfg, fd, state_dir, &child, e);
		close(fd);
	}
	if (r == 0) {
		out->pid = child.pid;
		out->start_time = child.start_time;
		vmm_child_done(&child);
		return 0;
	}
	/* Kills QEMU only if it still runs: qemu_died may have reaped it, and
	 * its pid may name another process by now. */
	vmm_child_end(&child, 0);
	vmm_child_done(&child);
	qemu_unlink_socks(cfg->api_sock);
	err_wrap(e, "qemu %s", op);
	if (child.pid > 0)
		vmm_child_err_tail(&child, QEMU_TAIL_LINES, e);
	else if (cfg->console_log)
		err_log(e, cfg->console_log);
	log_error(cfg->log, "qemu failed", LF_S("vm", cfg->vm_name), LF_S("op", op),
		  LF_S("error", e ? e->msg : ""));
	return -1;
}

static int qemu_start(const struct vmm_config *cfg, struct vmm_proc *out, struct err *e)
{
	return qemu_run(cfg, "start", 0, qemu_boot_check, NULL, out, e);
}

/* ---- suspend and resume: migration to and from a file ------------------ */

/* The migration's status and, once it failed, QEMU's reason. Returns 0
 * with status set ("active", "completed", "failed", ...), or -1. */
static int qemu_migrate_status(int fd, char *status, size_t len, char *why, size_t wlen,
			       long long *bytes, int timeout_ms, struct logger *lg, struct err *e)
{
	json_t *ret = NULL;
	const char *st, *desc;

	if (qmp_execute(fd, "query-migrate", NULL, &ret, timeout_ms, lg, e) < 0)
		return -1;
	st = json_string_value(json_object_get(ret, "status"));
	desc = json_string_value(json_object_get(ret, "error-desc"));
	snprintf(status, len, "%s", st ? st : "none");
	snprintf(why, wlen, "%s", desc ? desc : "QEMU gave no reason");
	if (bytes)
		*bytes =
		    json_integer_value(json_object_get(json_object_get(ret, "ram"), "transferred"));
	json_decref(ret);
	return 0;
}

static int qemu_migrate_done(const char *status)
{
	return !strcmp(status, "completed") || !strcmp(status, "failed") ||
	       !strcmp(status, "cancelled");
}

/* How long a migration of mem_mib may take: TCG on a busy 2-core host
 * writes a mostly-zero GiB in a few seconds; this bounds a stuck one. */
static int qemu_migrate_budget_ms(const struct vmm_config *cfg)
{
	return QEMU_MIGRATE_BASE_MS + cfg->mem_mib * QEMU_MIGRATE_MS_PER_MIB;
}

/* Makes the outgoing migration as fast as the disk allows: QEMU's default
 * bandwidth cap is 32 MiB/s, and with the guest stopped there is no
 * downtime to limit. */
static int qemu_migrate_tune(int fd, struct logger *lg, struct err *e)
{
	json_t *args = json_pack("{s:I,s:I}", "max-bandwidth", (json_int_t)QEMU_MIGRATE_BANDWIDTH,
				 "downtime-limit", (json_int_t)QEMU_MIGRATE_DOWNTIME_MS);
	int r = qmp_execute(fd, "migrate-set-parameters", args, NULL, QEMU_QMP_STEP_MS, lg, e);

	json_decref(args);
	return r;
}

/* Hands file to QEMU under QEMU_STATE_FDNAME. */
static int qemu_pass_fd(int fd, int file, struct logger *lg, struct err *e)
{
	json_t *args = json_pack("{s:s}", "fdname", QEMU_STATE_FDNAME);
	int r = qmp_execute_fd(fd, "getfd", args, file, NULL, QEMU_QMP_STEP_MS, lg, e);

	json_decref(args);
	return r;
}

/* Best effort: drops the descriptor QEMU holds under QEMU_STATE_FDNAME
 * when the migration did not take it. */
static void qemu_drop_fd(int fd, struct logger *lg)
{
	json_t *args = json_pack("{s:s}", "fdname", QEMU_STATE_FDNAME);

	qmp_execute(fd, "closefd", args, NULL, QEMU_QMP_STEP_MS, lg, NULL);
	json_decref(args);
}

/* Runs the outgoing migration into file and waits for its end. */
static int qemu_migrate_out(const struct vmm_config *cfg, int fd, int file, struct err *e)
{
	long long deadline = mono_ms() + qemu_migrate_budget_ms(cfg), bytes = 0;
	char status[32] = "", why[512] = "";
	json_t *args;
	int r;

	if (qemu_migrate_tune(fd, cfg->log, e) < 0)
		return err_wrap(e, "set migration parameters");
	if (qemu_pass_fd(fd, file, cfg->log, e) < 0)
		return err_wrap(e, "pass the state file to QEMU");
	args = json_pack("{s:s}", "uri", "fd:" QEMU_STATE_FDNAME);
	r = qmp_execute(fd, "migrate", args, NULL, QEMU_QMP_STEP_MS, cfg->log, e);
	json_decref(args);
	if (r < 0) {
		qemu_drop_fd(fd, cfg->log);
		return err_wrap(e, "start the migration");
	}
	while (!qemu_migrate_done(status)) {
		if (mono_ms() > deadline) {
			/* Cancelled and waited for, so that cont finds the
			 * source out of the migration. */
			qmp_execute(fd, "migrate_cancel", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log,
				    NULL);
			for (long long end = mono_ms() + QEMU_QMP_STEP_MS;
			     !qemu_migrate_done(status) && mono_ms() < end;
			     usleep(QEMU_MIGRATE_POLL_MS * 1000))
				if (qemu_migrate_status(fd, status, sizeof(status), why,
							sizeof(why), NULL, QEMU_QMP_STEP_MS,
							cfg->log, NULL) < 0)
					break;
			return err_set(e, ERR_VMM,
				       "the migration to the state file did not end within %d ms "
				       "(%lld bytes written)",
				       qemu_migrate_budget_ms(cfg), bytes);
		}
		usleep(QEMU_MIGRATE_POLL_MS * 1000);
		if (qemu_migrate_status(fd, status, sizeof(status), why, sizeof(why), &bytes,
					QEMU_QMP_STEP_MS, cfg->log, e) < 0)
			return err_wrap(e, "query the migration");
	}
	if (strcmp(status, "completed"))
		return err_set(e, ERR_VMM, "QEMU's migration to the state file %s: %s", status,
			       why);
	return 0;
}

/* fsync of a file or directory; errors name path. */
static int qemu_fsync_path(int fd, const char *path, struct err *e)
{
	if (fsync(fd) < 0)
		return err_errno(e, errno, "fsync %s", path);
	return 0;
}

static int qemu_fsync_dir(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return err_errno(e, errno, "open %s", dir);
	r = qemu_fsync_path(fd, dir, e);
	close(fd);
	return r;
}

static int qemu_suspend(const struct vmm_config *cfg, const struct vmm_proc *p,
			const char *state_dir, long long *state_bytes, struct err *e)
{
	long long t0 = mono_ms();
	char *path = xasprintf("%s/%s", state_dir, QEMU_STATE_FILE);
	int fd = -1, file = -1, stopped = 0, r = -1;
	struct stat st;

	*state_bytes = 0;
	if (!proc_alive(p->pid, p->start_time)) {
		err_set(e, ERR_BAD_STATE, "QEMU (pid %d) is not running", (int)p->pid);
		goto out;
	}
	/* O_EXCL: a file already there is a state someone else is writing. */
	file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (file < 0) {
		err_errno(e, errno, "create the state file %s", path);
		goto out;
	}
	fd = qmp_connect(cfg->api_sock, QEMU_QMP_STEP_MS, cfg->log, e);
	if (fd < 0)
		goto out;
	if (qmp_execute(fd, "stop", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log, e) < 0) {
		err_wrap(e, "pause the guest");
		goto out;
	}
	stopped = 1;
	log_info(cfg->log, "qemu paused", LF_S("vm", cfg->vm_name),
		 LF_I("duration_ms", mono_ms() - t0));
	if (qemu_migrate_out(cfg, fd, file, e) < 0)
		goto out;
	if (qemu_fsync_path(file, path, e) < 0 || fstat(file, &st) < 0 ||
	    qemu_fsync_dir(state_dir, e) < 0)
		goto out;
	*state_bytes = (long long)st.st_size;
	r = 0;
	log_info(cfg->log, "qemu suspended", LF_S("vm", cfg->vm_name), LF_S("state", path),
		 LF_I("state_bytes", *state_bytes), LF_I("duration_ms", mono_ms() - t0));
out:
	if (r < 0 && stopped) {
		struct err sub;

		/* The guest runs on; if even that fails, the error above
		 * is still the one to show, and the daemon sees a paused VM. */
		err_clear(&sub);
		if (qmp_execute(fd, "cont", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log, &sub) < 0)
			log_error(cfg->log, "qemu cont after a failed suspend",
				  LF_S("vm", cfg->vm_name), LF_S("error", sub.msg));
	}
	if (fd >= 0)
		close(fd);
	if (file >= 0)
		close(file);
	if (r < 0) {
		if (file >= 0)
			unlink(path);
		err_wrap(e, "qemu suspend");
		log_error(cfg->log, "qemu suspend failed", LF_S("vm", cfg->vm_name),
			  LF_S("error", e ? e->msg : ""));
	}
	free(path);
	return r;
}

/* Resume's last stage: QEMU, started with -incoming defer, reads the state
 * file, then the guest runs on. A state QEMU cannot load ends QEMU ("load
 * of migration failed: ..." on its stderr, the console log). */
static int qemu_restore(const struct vmm_config *cfg, int fd, const char *state_dir,
			struct vmm_child *child, struct err *e)
{
	long long t0 = mono_ms(), deadline = t0 + qemu_migrate_budget_ms(cfg);
	char *path = xasprintf("%s/%s", state_dir, QEMU_STATE_FILE);
	char status[32] = "", why[512] = "";
	int file = -1, r = -1;
	json_t *args;

	file = open(path, O_RDONLY | O_CLOEXEC);
	if (file < 0) {
		err_errno(e, errno, "open the state file %s", path);
		goto out;
	}
	if (qemu_pass_fd(fd, file, cfg->log, e) < 0) {
		err_wrap(e, "pass the state file to QEMU");
		goto out;
	}
	args = json_pack("{s:s}", "uri", "fd:" QEMU_STATE_FDNAME);
	r = qmp_execute(fd, "migrate-incoming", args, NULL, QEMU_QMP_STEP_MS, cfg->log, e);
	json_decref(args);
	if (r < 0) {
		err_wrap(e, "load the state");
		goto out;
	}
	r = -1;
	/* QEMU 7.2 loads the state in its main loop, so query-migrate is
	 * answered only once the load is over: each query may take long. */
	while (strcmp(status, "completed")) {
		int left = (int)(deadline - mono_ms());

		if (left <= 0) {
			err_set(e, ERR_VMM, "QEMU did not load the state file within %d ms",
				qemu_migrate_budget_ms(cfg));
			goto out;
		}
		if (qemu_migrate_status(fd, status, sizeof(status), why, sizeof(why), NULL, left,
					cfg->log, e) < 0) {
			if (!qemu_died(child, QEMU_DEATH_GRACE_MS, e))
				err_wrap(e, "query the migration");
			err_wrap(e, "load the state file %s", path);
			goto out;
		}
		if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
			err_set(e, ERR_VMM, "QEMU could not load the state file %s: %s", path, why);
			goto out;
		}
		if (strcmp(status, "completed"))
			usleep(QEMU_MIGRATE_POLL_MS * 1000);
	}
	log_info(cfg->log, "qemu state loaded", LF_S("vm", cfg->vm_name),
		 LF_I("duration_ms", mono_ms() - t0));
	/* The state says paused (suspend stopped the guest first), so QEMU
	 * does not start it by itself: cont lets it run on. */
	if (qmp_execute(fd, "cont", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log, e) < 0) {
		qemu_died(child, QEMU_DEATH_GRACE_MS, e);
		err_wrap(e, "let the guest run");
		goto out;
	}
	r = qemu_boot_check(cfg, fd, state_dir, child, e);
out:
	if (file >= 0)
		close(file);
	free(path);
	return r;
}

static int qemu_resume(const struct vmm_config *cfg, const char *state_dir, struct vmm_proc *out,
		       struct err *e)
{
	char *path = xasprintf("%s/%s", state_dir, QEMU_STATE_FILE);
	int r = fs_check_readable(path, "saved VM state", e);

	free(path);
	if (r < 0) { /* nothing spawned for a state that is not there */
		out->pid = 0;
		out->start_time = -1;
		return err_wrap(e, "qemu resume");
	}
	return qemu_run(cfg, "resume", 1, qemu_restore, state_dir, out, e);
}

/* A daemon that died mid-suspend left QEMU paused, perhaps still writing
 * the state: cancel that (harmless when it is done) and let the guest run. */
static int qemu_unpause(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e)
{
	int fd, r;

	if (!proc_alive(p->pid, p->start_time))
		return err_set(e, ERR_BAD_STATE, "QEMU (pid %d) is not running", (int)p->pid);
	fd = qmp_connect(cfg->api_sock, QEMU_QMP_STEP_MS, cfg->log, e);
	if (fd < 0)
		return err_wrap(e, "unpause");
	qmp_execute(fd, "migrate_cancel", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log, NULL);
	/* A cancel takes effect asynchronously: cont may be refused until it has. */
	for (int i = 0;
	     (r = qmp_execute(fd, "cont", NULL, NULL, QEMU_QMP_STEP_MS, cfg->log, e)) < 0 && i < 20;
	     i++)
		usleep(100 * 1000);
	close(fd);
	if (r < 0)
		return err_wrap(e, "unpause");
	log_info(cfg->log, "qemu unpaused", LF_S("vm", cfg->vm_name));
	return 0;
}

/* ---- stop, cleanup, watch --------------------------------------------- */

static int qemu_request_stop(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e)
{
	json_t *args;
	int fd, r;

	if (!proc_alive(p->pid, p->start_time))
		return err_set(e, ERR_BAD_STATE, "QEMU (pid %d) is not running", (int)p->pid);
	fd = qmp_connect(cfg->api_sock, QEMU_QMP_STEP_MS, cfg->log, e);
	if (fd < 0)
		return err_wrap(e, "request stop");
	/* The guest's systemd maps ctrl-alt-delete to a clean reboot, which
	 * -no-reboot turns into QEMU exiting: Firecracker's SendCtrlAltDel. */
	args = json_pack("{s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "keys", "type", "qcode", "data",
			 "ctrl", "type", "qcode", "data", "alt", "type", "qcode", "data", "delete");
	r = qmp_execute(fd, "send-key", args, NULL, QEMU_QMP_STEP_MS, cfg->log, e);
	json_decref(args);
	close(fd);
	if (r < 0)
		return err_wrap(e, "request stop");
	log_info(cfg->log, "qemu stop requested", LF_S("vm", cfg->vm_name),
		 LF_S("method", "send-key ctrl-alt-delete"));
	return 0;
}

static void qemu_cleanup(const struct vmm_config *cfg)
{
	qemu_unlink_socks(cfg->api_sock);
}

int qemu_watch_open(const char *api_sock, struct err *e)
{
	char ev[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (qemu_event_sock_path(api_sock, ev, sizeof(ev), e) < 0)
		return -1;
	return qmp_connect(ev, QEMU_QMP_STEP_MS, NULL, e);
}

const struct vmm_driver vmm_qemu = {
    .name = "qemu",
    .needs_accel = 1,
    .poweroff_keeps_running = 0,
    .exit0_is_reboot = 0,
    .flush_metrics = NULL,
    .read_metrics = NULL,
    .start = qemu_start,
    .request_stop = qemu_request_stop,
    .cleanup = qemu_cleanup,
    .probe = qemu_probe,
    .suspend = qemu_suspend,
    .resume = qemu_resume,
    .unpause = qemu_unpause,
};
