/*
 * firecracker: the Firecracker driver behind the VMM interface (vmm.h).
 *
 * start = unlink the stale API socket, truncate the metrics file, append a
 * marker to the console log, spawn `firecracker --api-sock S --id ID` in its
 * own session with stdout+stderr appended to the console log, wait for the
 * socket to answer, then configure it through the API in the order of
 * shared/firecracker/NOTES.md (logger, metrics, machine, boot source,
 * drives, network) and send InstanceStart. Any failure kills and reaps the
 * process and removes the socket, so a failed start leaves nothing behind
 * (process handling: vmm_child.h).
 *
 * Firecracker never unlinks its API socket and refuses to bind over a stale
 * one, hence the unlink before spawning and in cleanup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/proc.h"
#include "util/spawn.h"
#include "vmm/fc_api.h"
#include "vmm/fc_metrics.h"
#include "vmm/vmm.h"
#include "vmm/vmm_child.h"

/* Debian's cloud kernel has no VIRTIO_MMIO_CMDLINE_DEVICES and finds the
 * virtio-mmio devices only through ACPI, which Firecracker provides since 1.8. */
#define FC_MIN_MAJOR 1
#define FC_MIN_MINOR 8

/* Readiness polling, as the Go SDK does it, but every 2 ms rather than
 * 10: a connect() that fails is a cheap syscall, and the interval is
 * added to every `vm start` (5 ms on average at 10). */
#define FC_READY_POLL_MS 2
#define FC_READY_TIMEOUT_MS 3000

/* After a transport error, how long to wait for the process to finish dying
 * so the error can report its real exit status. */
#define FC_DEATH_GRACE_MS 200

/* Serial console on, clean process exit on guest reboot (reboot=k goes
 * through the emulated i8042, which Firecracker turns into exit 0), reboot
 * 1 s after a panic, and i8042 probing trimmed. Never i8042.nopnp: on ACPI
 * kernels it breaks SendCtrlAltDel. Never nomodule: banger's initrd loads
 * the virtio modules. No root=: Firecracker appends it for the root drive. */
#define FC_BOOT_ARGS "console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd"

/* x86_64 command-line limit is 2048 bytes including what Firecracker
 * appends (pci=off, root=/dev/vda ro, one virtio_mmio.device=... per device). */
#define FC_CMDLINE_MAX 2048
#define FC_CMDLINE_RESERVE 320

#define FC_TAIL_LINES 10

static const char missing_hint[] =
    "set firecracker_bin in config.toml, or put firecracker in PATH or in the runtime bundle";

/* One start in progress. */
struct fc_run {
	const struct vmm_config *cfg;
	const char *state_dir; /* a resume: the saved state to load, else NULL */
	struct fc_api *api;
	struct vmm_child child;
	int status_told; /* the error already says how the process ended */
};

/* Saved-state files in a suspend's directory. */
#define FC_VMSTATE "vmstate"
#define FC_MEMORY "memory"

/* Saving or loading memory: a base plus 100 ms per MiB (a slow disk). */
static int state_timeout_ms(const struct vmm_config *cfg)
{
	return 30000 + 100 * (cfg->mem_mib > 0 ? cfg->mem_mib : 1024);
}

/* ---- small helpers ---------------------------------------------------- */

/* The failure path of start: the process goes, the socket goes, and the
 * error gets the stage, the exit status if the VMM died by itself, the
 * console log path and its last lines. */
static int start_failed(struct fc_run *run, const char *stage, struct err *e)
{
	int refused = run->api && fc_api_last_status(run->api) != 0;

	if (vmm_child_end(&run->child, refused ? 0 : FC_DEATH_GRACE_MS) && !run->status_told && e) {
		char how[128];
		size_t used = strlen(e->msg);

		vmm_child_describe(run->child.status, how, sizeof(how));
		snprintf(e->msg + used, sizeof(e->msg) - used, "; firecracker %s", how);
	}
	unlink(run->cfg->api_sock);
	err_wrap(e, "%s", stage);
	/* A socket that stops answering or a failed read means the VMM failed. */
	if (e && (e->code == ERR_UNAVAILABLE || e->code == ERR_IO))
		e->code = ERR_VMM;
	if (run->child.pid > 0)
		vmm_child_err_tail(&run->child, FC_TAIL_LINES, e);
	/* At debug only: the daemon reports the error once, at its boundary. */
	log_debug(run->cfg->log, "firecracker start failed", LF_S("vm", run->cfg->vm_name),
		  LF_S("stage", stage), LF_S("error", e ? e->msg : ""));
	return -1;
}

static int valid_chars(const char *s, const char *extra, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return 0;
	return 1;
}

/* Catches what Firecracker would reject late or badly: an invalid --id
 * makes it abort (SIGABRT), a long socket path fails the bind. */
static int check_config(const struct vmm_config *cfg, struct err *e)
{
	struct sockaddr_un sa;

	if (!valid_chars(cfg->vm_id, "-", 64))
		return err_set(e, ERR_INVALID,
			       "VM id \"%s\" is not a valid Firecracker id (1-64 of A-Za-z0-9-)",
			       cfg->vm_id ? cfg->vm_id : "");
	if (!cfg->api_sock || strlen(cfg->api_sock) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "API socket path %s is longer than %zu bytes",
			       cfg->api_sock ? cfg->api_sock : "(none)", sizeof(sa.sun_path) - 1);
	if (!cfg->kernel || !cfg->console_log || !cfg->bin)
		return err_set(e, ERR_INVALID, "VMM config lacks kernel, console log or binary");
	for (size_t i = 0; i < cfg->ndrives; i++)
		if (!valid_chars(cfg->drives[i].id, "_", 64))
			return err_set(e, ERR_INVALID,
				       "drive id \"%s\" is not valid for Firecracker (A-Za-z0-9_)",
				       cfg->drives[i].id ? cfg->drives[i].id : "");
	return 0;
}

/* Firecracker opens the metrics file without O_TRUNC or O_APPEND and writes
 * from offset 0, so leftovers of an older run would trail the new lines. */
static int truncate_metrics(const char *path, struct err *e)
{
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(e, errno, "truncate metrics file %s", path);
	close(fd);
	return 0;
}

/* ---- readiness -------------------------------------------------------- */

/* Polls the socket every 10 ms until GET / answers 200; fails at once if
 * the process dies meanwhile. */
static int wait_ready(struct fc_run *run, struct err *e)
{
	long long deadline = mono_ms() + FC_READY_TIMEOUT_MS;
	struct err tmp;

	for (;;) {
		long long left = deadline - mono_ms();
		json_t *info = NULL;

		if (vmm_child_exited(&run->child)) {
			char how[128];

			run->status_told = 1;
			vmm_child_describe(run->child.status, how, sizeof(how));
			return err_set(e, ERR_VMM, "firecracker %s before its API socket answered",
				       how);
		}
		err_clear(&tmp);
		if (fc_api_connect(run->api, &tmp) == 0 &&
		    fc_api_call(run->api, "GET", "/", NULL, left > 100 ? (int)left : 100, &info,
				&tmp) == 0) {
			json_decref(info);
			return 0;
		}
		if (left <= 0)
			return err_set(e, ERR_VMM, "API socket %s did not answer within %d ms (%s)",
				       run->cfg->api_sock, FC_READY_TIMEOUT_MS, tmp.msg);
		usleep(FC_READY_POLL_MS * 1000);
	}
}

/* ---- configuration stages --------------------------------------------- */

/* PUTs body (reference stolen) to path. */
static int put(struct fc_run *run, const char *path, json_t *body, int timeout_ms, struct err *e)
{
	int ret = fc_api_call(run->api, "PUT", path, body, timeout_ms, NULL, e);

	json_decref(body);
	return ret;
}

static int conf_logger(struct fc_run *run, struct err *e)
{
	/* No log_path on purpose: without one Firecracker keeps logging to its
	 * stdout, which is the console log opened with O_APPEND, so guest
	 * console and VMM messages interleave in order. Firecracker opens a
	 * log_path read-write without O_APPEND and writes from offset 0: given
	 * the console log it would overwrite the earlier boots' output. */
	return put(run, "/logger", json_pack("{s:s, s:b}", "level", "Info", "show_level", 1),
		   FC_API_TIMEOUT_MS, e);
}

static int conf_metrics(struct fc_run *run, struct err *e)
{
	if (!run->cfg->metrics_path)
		return 1;
	return put(run, "/metrics", json_pack("{s:s}", "metrics_path", run->cfg->metrics_path),
		   FC_API_TIMEOUT_MS, e);
}

static int conf_machine(struct fc_run *run, struct err *e)
{
	return put(run, "/machine-config",
		   json_pack("{s:i, s:i, s:b}", "vcpu_count", run->cfg->vcpu, "mem_size_mib",
			     run->cfg->mem_mib, "smt", 0),
		   FC_API_TIMEOUT_MS, e);
}

static int conf_boot(struct fc_run *run, struct err *e)
{
	const struct vmm_config *cfg = run->cfg;
	char *args = cfg->boot_args && cfg->boot_args[0]
			 ? xasprintf("%s %s", FC_BOOT_ARGS, cfg->boot_args)
			 : xstrdup(FC_BOOT_ARGS);
	json_t *body;

	if (strlen(args) > FC_CMDLINE_MAX - FC_CMDLINE_RESERVE) {
		err_set(e, ERR_INVALID,
			"kernel command line is %zu bytes; with what Firecracker appends it must "
			"stay under %d",
			strlen(args), FC_CMDLINE_MAX);
		free(args);
		return -1;
	}
	body = json_pack("{s:s, s:s}", "kernel_image_path", cfg->kernel, "boot_args", args);
	free(args);
	if (cfg->initrd)
		json_object_set_new(body, "initrd_path", json_string(cfg->initrd));
	return put(run, "/boot-source", body, FC_API_TIMEOUT_MS, e);
}

static int conf_drives(struct fc_run *run, struct err *e)
{
	for (size_t i = 0; i < run->cfg->ndrives; i++) {
		const struct vmm_drive *d = &run->cfg->drives[i];
		json_t *body =
		    json_pack("{s:s, s:s, s:b, s:b}", "drive_id", d->id, "path_on_host", d->path,
			      "is_root_device", d->is_root != 0, "is_read_only", d->read_only != 0);
		char *path = xasprintf("/drives/%s", d->id);
		int ret;

		/* Firecracker's default cache_type "Unsafe" acknowledges the
		 * guest's flushes without syncing anything, so data the guest
		 * fsynced (ext4 journal commits included) can be lost or torn
		 * by a host crash. The overlay and /root disks are meant to
		 * persist across host reboots: "Writeback" turns each guest
		 * flush into an fsync on the host. Read-only drives have
		 * nothing to flush. */
		if (!d->read_only)
			json_object_set_new(body, "cache_type", json_string("Writeback"));
		ret = put(run, path, body, FC_API_TIMEOUT_MS, e);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int conf_network(struct fc_run *run, struct err *e)
{
	json_t *body;

	if (!run->cfg->tap)
		return 1;
	body = json_pack("{s:s, s:s}", "iface_id", "eth0", "host_dev_name", run->cfg->tap);
	if (run->cfg->mac)
		json_object_set_new(body, "guest_mac", json_string(run->cfg->mac));
	return put(run, "/network-interfaces/eth0", body, FC_API_TIMEOUT_MS, e);
}

static int conf_start(struct fc_run *run, struct err *e)
{
	/* 204 means the vCPUs run, not that the guest has booted. */
	return put(run, "/actions", json_pack("{s:s}", "action_type", "InstanceStart"),
		   2 * FC_API_TIMEOUT_MS, e);
}

/* A resume: a fresh process takes only the logger and metrics before the
 * load; the machine, drives and tap come from the saved state (banger
 * recreates the tap under the name it had, so no network_overrides). */
static int conf_load(struct fc_run *run, struct err *e)
{
	char *snap = xasprintf("%s/%s", run->state_dir, FC_VMSTATE);
	char *mem = xasprintf("%s/%s", run->state_dir, FC_MEMORY);
	json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:b}", "snapshot_path", snap, "mem_backend",
				 "backend_type", "File", "backend_path", mem, "resume_vm", 1);
	int ret = put(run, "/snapshot/load", body, state_timeout_ms(run->cfg), e);

	free(snap);
	free(mem);
	return ret;
}

/* Configuration in the order of NOTES.md; a stage returns 1 if it had
 * nothing to do. */
struct fc_stage {
	const char *name;
	int (*run)(struct fc_run *run, struct err *e);
};

static const struct fc_stage fc_boot_stages[] = {
    {"configure logger", conf_logger},	 {"configure metrics", conf_metrics},
    {"configure machine", conf_machine}, {"configure boot source", conf_boot},
    {"configure drives", conf_drives},	 {"configure network", conf_network},
    {"start instance", conf_start},	 {NULL, NULL},
};

static const struct fc_stage fc_resume_stages[] = {
    {"configure logger", conf_logger},
    {"configure metrics", conf_metrics},
    {"load snapshot", conf_load},
    {NULL, NULL},
};

/* ---- driver entry points ---------------------------------------------- */

static int spawn_vmm(struct fc_run *run, struct err *e)
{
	const struct vmm_config *cfg = run->cfg;
	const char *argv[] = {cfg->bin, "--api-sock", cfg->api_sock, "--id", cfg->vm_id, NULL};

	if (vmm_child_spawn(&run->child, argv, e) < 0) {
		if (e && e->code == ERR_MISSING_TOOL)
			err_hint(e, "%s", missing_hint);
		return -1;
	}
	return 0;
}

/* Spawns Firecracker and runs stages: a boot or a resume. */
static int fc_run_stages(const struct vmm_config *cfg, const struct fc_stage *stages,
			 const char *state_dir, struct vmm_proc *out, struct err *e)
{
	struct fc_run run = {.cfg = cfg, .state_dir = state_dir};
	long long t0 = mono_ms(), ts;
	int ret = -1;

	out->pid = 0;
	out->start_time = -1;
	if (check_config(cfg, e) < 0)
		return -1;
	vmm_child_init(&run.child, "firecracker", cfg->console_log);
	if (unlink(cfg->api_sock) < 0 && errno != ENOENT)
		return err_errno(e, errno, "remove stale API socket %s", cfg->api_sock);
	if (truncate_metrics(cfg->metrics_path, e) < 0 || vmm_child_mark(&run.child, e) < 0)
		return -1;
	run.api = fc_api_new(cfg->api_sock, cfg->log);
	if (spawn_vmm(&run, e) < 0) {
		start_failed(&run, "spawn firecracker", e);
		goto out;
	}
	out->pid = run.child.pid;
	out->start_time = run.child.start_time;
	log_info(cfg->log, "firecracker spawned", LF_S("vm", cfg->vm_name),
		 LF_I("pid", run.child.pid), LF_S("api_sock", cfg->api_sock));
	ts = mono_ms();
	if (wait_ready(&run, e) < 0) {
		start_failed(&run, "wait for API socket", e);
		goto out;
	}
	log_info(cfg->log, "firecracker stage", LF_S("vm", cfg->vm_name),
		 LF_S("stage", "wait for API socket"), LF_I("duration_ms", mono_ms() - ts));
	for (const struct fc_stage *st = stages; st->name; st++) {
		int rc;

		ts = mono_ms();
		rc = st->run(&run, e);
		if (rc < 0) {
			start_failed(&run, st->name, e);
			goto out;
		}
		if (rc == 0)
			log_info(cfg->log, "firecracker stage", LF_S("vm", cfg->vm_name),
				 LF_S("stage", st->name), LF_I("duration_ms", mono_ms() - ts));
	}
	log_info(cfg->log, "firecracker started", LF_S("vm", cfg->vm_name),
		 LF_I("pid", run.child.pid), LF_I("duration_ms", mono_ms() - t0));
	ret = 0;
out:
	if (ret < 0) { /* the process is gone: nothing to record */
		out->pid = 0;
		out->start_time = -1;
	}
	fc_api_free(run.api);
	vmm_child_done(&run.child);
	return ret;
}

static int fc_start(const struct vmm_config *cfg, struct vmm_proc *out, struct err *e)
{
	return fc_run_stages(cfg, fc_boot_stages, NULL, out, e);
}

static int fc_resume(const struct vmm_config *cfg, const char *state_dir, struct vmm_proc *out,
		     struct err *e)
{
	char *snap = xasprintf("%s/%s", state_dir, FC_VMSTATE);
	int ok = access(snap, R_OK) == 0;

	free(snap);
	out->pid = 0;
	out->start_time = -1;
	if (!ok)
		return err_set(e, ERR_VMM, "no saved state in %s", state_dir);
	if (fc_run_stages(cfg, fc_resume_stages, state_dir, out, e) < 0)
		return err_wrap(e, "firecracker resume");
	return 0;
}

static int patch_vm(struct fc_api *api, const char *state, struct err *e)
{
	json_t *body = json_pack("{s:s}", "state", state);
	int ret = fc_api_call(api, "PATCH", "/vm", body, FC_API_TIMEOUT_MS, NULL, e);

	json_decref(body);
	return ret;
}

static int fsync_file(const char *path, int dir, long long *bytes, struct err *e)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return err_errno(e, err, "fsync %s", path);
	}
	close(fd);
	if (bytes)
		*bytes += (long long)st.st_size;
	return 0;
}

static int fc_suspend(const struct vmm_config *cfg, const struct vmm_proc *p, const char *state_dir,
		      long long *state_bytes, struct err *e)
{
	char *snap = xasprintf("%s/%s", state_dir, FC_VMSTATE);
	char *mem = xasprintf("%s/%s", state_dir, FC_MEMORY);
	long long t0 = mono_ms(), bytes = 0;
	struct fc_api *api = NULL;
	json_t *body;
	int paused = 0, ret = -1;

	*state_bytes = 0;
	if (!proc_alive(p->pid, p->start_time)) {
		err_set(e, ERR_BAD_STATE, "firecracker (pid %d) is not running", (int)p->pid);
		goto out;
	}
	api = fc_api_new(cfg->api_sock, cfg->log);
	if (patch_vm(api, "Paused", e) < 0) {
		err_wrap(e, "pause the guest");
		goto out;
	}
	paused = 1;
	body = json_pack("{s:s, s:s, s:s}", "snapshot_type", "Full", "snapshot_path", snap,
			 "mem_file_path", mem);
	ret = fc_api_call(api, "PUT", "/snapshot/create", body, state_timeout_ms(cfg), NULL, e);
	json_decref(body);
	if (ret < 0) {
		err_wrap(e, "create snapshot");
		goto out;
	}
	ret = -1;
	if (fsync_file(snap, 0, &bytes, e) < 0 || fsync_file(mem, 0, &bytes, e) < 0 ||
	    fsync_file(state_dir, 1, NULL, e) < 0)
		goto out;
	*state_bytes = bytes;
	log_info(cfg->log, "firecracker suspended", LF_S("vm", cfg->vm_name),
		 LF_I("state_bytes", bytes), LF_I("duration_ms", mono_ms() - t0));
	ret = 0;
out:
	if (ret < 0 && paused) {
		struct err sub;

		err_clear(&sub);
		if (patch_vm(api, "Resumed", &sub) < 0)
			log_error(cfg->log, "firecracker resume after a failed suspend",
				  LF_S("vm", cfg->vm_name), LF_S("error", sub.msg));
		unlink(snap);
		unlink(mem);
	}
	if (ret < 0)
		err_wrap(e, "firecracker suspend");
	fc_api_free(api);
	free(snap);
	free(mem);
	return ret;
}

static int fc_unpause(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e)
{
	struct fc_api *api;
	int ret;

	if (!proc_alive(p->pid, p->start_time))
		return err_set(e, ERR_BAD_STATE, "firecracker (pid %d) is not running",
			       (int)p->pid);
	api = fc_api_new(cfg->api_sock, cfg->log);
	ret = patch_vm(api, "Resumed", e);
	fc_api_free(api);
	return ret < 0 ? err_wrap(e, "unpause") : 0;
}

static int fc_request_stop(const struct vmm_config *cfg, const struct vmm_proc *p, struct err *e)
{
	struct fc_api *api;
	json_t *body;
	int ret;

	if (p && p->pid > 0 && !proc_alive(p->pid, p->start_time))
		return err_set(e, ERR_BAD_STATE, "firecracker (pid %d) is not running",
			       (int)p->pid);
	api = fc_api_new(cfg->api_sock, cfg->log);
	body = json_pack("{s:s}", "action_type", "SendCtrlAltDel");
	ret = fc_api_call(api, "PUT", "/actions", body, FC_API_TIMEOUT_MS, NULL, e);
	json_decref(body);
	fc_api_free(api);
	if (ret < 0)
		return err_wrap(e, "send Ctrl+Alt+Del");
	log_info(cfg->log, "firecracker stop requested", LF_S("vm", cfg->vm_name),
		 LF_S("action", "SendCtrlAltDel"));
	return 0;
}

static void fc_cleanup(const struct vmm_config *cfg)
{
	if (cfg->api_sock)
		unlink(cfg->api_sock);
}

/* Finds "Firecracker vX.Y.Z" in the --version output. */
static int parse_version(const char *out, int v[3])
{
	const char *p = strstr(out, "Firecracker v");

	return p && sscanf(p, "Firecracker v%d.%d.%d", &v[0], &v[1], &v[2]) == 3 ? 0 : -1;
}

static int fc_probe(const char *bin, char *version, size_t len, struct err *e)
{
	const char *argv[] = {bin, "--version", NULL};
	char *out = NULL;
	int v[3];

	if (spawn_output(argv, NULL, &out, e) < 0) {
		if (e && e->code == ERR_MISSING_TOOL)
			err_hint(e, "%s", missing_hint);
		return -1;
	}
	if (parse_version(out, v) < 0) {
		err_set(e, ERR_VMM,
			"%s --version did not print \"Firecracker vX.Y.Z\" (got \"%.80s\")", bin,
			out);
		err_hint(e, "%s", missing_hint);
		free(out);
		return -1;
	}
	free(out);
	snprintf(version, len, "%d.%d.%d", v[0], v[1], v[2]);
	if (v[0] < FC_MIN_MAJOR || (v[0] == FC_MIN_MAJOR && v[1] < FC_MIN_MINOR)) {
		err_set(
		    e, ERR_VMM,
		    "%s is Firecracker v%s; banger needs v%d.%d or newer: Debian's cloud kernel "
		    "finds virtio-mmio devices only through ACPI, which Firecracker provides "
		    "since v1.8",
		    bin, version, FC_MIN_MAJOR, FC_MIN_MINOR);
		err_hint(e, "install Firecracker 1.8 or newer (1.16 is tested) and %s",
			 missing_hint);
		return -1;
	}
	return 0;
}

const struct vmm_driver vmm_firecracker = {
    .name = "firecracker",
    .needs_accel = 0,
    .poweroff_keeps_running = 1,
    .exit0_is_reboot = 1,
    .flush_metrics = fc_flush_metrics,
    .read_metrics = fc_metrics_read_last,
    .start = fc_start,
    .request_stop = fc_request_stop,
    .cleanup = fc_cleanup,
    .probe = fc_probe,
    .suspend = fc_suspend,
    .resume = fc_resume,
    .unpause = fc_unpause,
};
