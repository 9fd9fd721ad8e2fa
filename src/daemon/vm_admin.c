/* vm_admin: delete, set, and reconcile after a daemon restart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/mapdns.h"
#include "daemon/ssh_keys.h"
#include "daemon/supervisor.h"
#include "daemon/vm.h"
#include "daemon/vm_console.h"
#include "daemon/vm_net.h"
#include "storage/disk.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/size.h"

/* Removes the VM's files and record. It is in state "deleting" and this
 * thread holds its busy mark (released here). */
static int finish_delete(struct daemon *d, struct store_vm *vm, struct err *e)
{
	struct vm_files f;
	int ret = -1;

	vm_files_get(d, vm, &f);
	vm_driver(vm)->cleanup(&(struct vmm_config){.vm_id = vm->id, .api_sock = f.api_sock});
	vmnet_down(d, vm);
	if (fs_rm_rf(f.dir, e) < 0)
		goto out;
	pthread_mutex_lock(&d->lock);
	ret = store_vm_delete(d->store, vm->id, e);
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto out;
	ssh_known_hosts_sync(d, NULL);
	events_emit(d, "vm.deleted", json_pack("{s:s, s:s}", "name", vm->name, "id", vm->id));
	mapdns_publish(d);
	log_info(d->log, "vm deleted", LF_S("vm", vm->name), LF_S("vm_id", vm->id));
out:
	if (ret < 0) {
		/* The record stays "deleting": another `vm delete`, or reconcile at
		 * the next start, finishes the job. */
		log_error(d->log, "vm delete failed", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
			  LF_S("error", e->msg));
		if (fs_err_is_nospace(e))
			fs_err_nospace(e, d->paths.state_dir);
	}
	vm_busy_release(d, vm->id);
	return ret;
}

struct delete_ctx {
	int force;
	int resume; /* reconcile: a create that was interrupted is undone too */
	int go;	    /* set when the VM went to (or was left in) "deleting" */
};

/* A stopped or suspended VM goes to deleting (a saved state goes with the
 * VM's directory); so does one left in deleting by a delete
 * that failed half-way (nobody holds it). A running one is stopped first
 * with --force (skip: the caller stops it and comes back). */
static int delete_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct delete_ctx *c = arg;

	if (busy) {
		err_set(e, ERR_BAD_STATE, "the VM is busy: %s", busy);
		err_hint(e, "wait for the other command to finish, then try again");
		return -1;
	}
	if (vm->state == VM_STATE_STOPPED || vm->state == VM_STATE_DELETING ||
	    vm->state == VM_STATE_SUSPENDED || (c->resume && vm->state == VM_STATE_CREATING)) {
		vm->state = VM_STATE_DELETING;
		c->go = 1;
		return 0;
	}
	if (c->force && vm_state_has_vmm(vm->state))
		return VM_EDIT_SKIP;
	vm_refuse(e, vm);
	if (vm_state_has_vmm(vm->state))
		err_hint(e, "stop it first (banger vm stop %s) or use --force", vm->name);
	return -1;
}

/* Moves the VM to deleting and holds it, under one hold of the lock. */
static int delete_claim(struct daemon *d, const char *name, struct delete_ctx *c,
			struct store_vm *vm, struct err *e)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = vm_update_locked(d, name, delete_edit, c, vm, e);
	if (rc >= 0 && c->go && vm_busy_claim_locked(d, vm, "it is being deleted", e) < 0)
		rc = -1;
	pthread_mutex_unlock(&d->lock);
	vm_update_publish(d, rc, vm);
	return rc < 0 ? -1 : 0;
}

int vm_delete(struct daemon *d, const char *name, int force, struct err *e)
{
	struct delete_ctx c = {.force = force};
	struct store_vm vm;

	if (delete_claim(d, name, &c, &vm, e) < 0)
		return err_wrap(e, "vm delete %s", name);
	if (!c.go) {
		if (vm_halt(d, vm.id, &vm, e) < 0)
			return err_wrap(e, "vm delete %s", vm.name);
		c.force = 0; /* started again meanwhile: refuse rather than loop */
		if (delete_claim(d, vm.id, &c, &vm, e) < 0)
			return err_wrap(e, "vm delete %s", vm.name);
	}
	if (finish_delete(d, &vm, e) < 0)
		return err_wrap(e, "vm delete %s", vm.name);
	return 0;
}

struct set_ctx {
	const struct vm_set_req *req;
	long long disk; /* new work disk size, 0: unchanged */
	int nat_changed;
	enum vm_state state; /* when it was written */
};

/* Writes only what vm set changes, onto the record as it is now. */
static int set_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct set_ctx *c = arg;

	(void)busy;
	(void)e;
	if (c->disk)
		vm->disk_size = c->disk;
	if (c->req->vcpu)
		vm->vcpu = c->req->vcpu;
	if (c->req->memory_mib)
		vm->memory_mib = c->req->memory_mib;
	if (c->nat_changed)
		vm->nat = c->req->nat;
	if (c->req->suspend_on_stop >= 0)
		vm->suspend_on_stop = c->req->suspend_on_stop;
	if (c->req->autostart >= 0)
		vm->autostart = c->req->autostart ? 1 : 0;
	c->state = vm->state;
	return 0;
}

/* Checks, under the lock, that an offline change may go ahead, and holds
 * the VM so that no start or delete comes in while its disk is changed. */
static int set_claim(struct daemon *d, const char *name, int offline, struct store_vm *vm,
		     struct err *e)
{
	int ret = -1;

	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, name, vm, e) < 0)
		goto out;
	if (offline && vm->state == VM_STATE_SUSPENDED) {
		err_set(e, ERR_BAD_STATE,
			"the VM is suspended; changing its memory, vCPUs or disk "
			"discards its saved state (the processes running in it are lost)");
		err_hint(e, "add --force to discard it, or resume it first: banger vm start %s",
			 vm->name);
		goto out;
	}
	if (offline && vm->state != VM_STATE_STOPPED) {
		err_set(e, ERR_BAD_STATE,
			"the VM is %s; memory, vCPU and disk size change only "
			"while it is stopped",
			vm_state_name(vm->state));
		err_hint(e, "run `banger vm stop %s` first", vm->name);
		goto out;
	}
	if (vm_busy_locked(d, vm->id)) {
		err_set(e, ERR_BAD_STATE, "the VM is busy: %s", vm_busy_locked(d, vm->id));
		err_hint(e, "wait for the other command to finish, then try again");
		goto out;
	}
	ret =
	    offline ? vm_busy_claim_locked(d, vm, "its settings are being changed (vm set)", e) : 0;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* NAT rules of a running VM follow the new setting. Called after the
 * record is written; if the VM stopped meanwhile its rules went with it. */
static int set_live_nat(struct daemon *d, const struct store_vm *vm, const struct set_ctx *c,
			struct err *e)
{
	struct store_vm now;

	if (!c->nat_changed || !vm_state_has_vmm(c->state))
		return 0;
	if (vmnet_set_nat(d, vm, c->req->nat, e) < 0)
		return -1;
	/* A VMM that ended while the rule went in took its network down
	 * before: do not leave a rule behind it. */
	if (c->req->nat && (store_vm_get(d->store, vm->id, &now, NULL) < 0 ||
			    !vm_state_has_vmm(now.state) || now.pid != vm->pid))
		vmnet_set_nat(d, vm, 0, NULL);
	return 0;
}

static int set_check(const char *name, const struct vm_set_req *req, long long *disk, struct err *e)
{
	if (req->vcpu && (req->vcpu < 1 || req->vcpu > 32))
		return err_set(e, ERR_INVALID, "vm set %s: --vcpu must be between 1 and 32", name);
	if (req->memory_mib && (req->memory_mib < 128 || req->memory_mib > 1024 * 1024))
		return err_set(e, ERR_INVALID,
			       "vm set %s: --memory must be between 128 and 1048576 MiB", name);
	if (req->disk_size && size_parse(req->disk_size, disk, e) < 0)
		return err_wrap(e, "vm set %s: --disk-size", name);
	return 0;
}

int vm_set(struct daemon *d, const char *name, const struct vm_set_req *req, struct store_vm *out,
	   struct err *e)
{
	int offline = req->vcpu || req->memory_mib || req->disk_size;
	struct set_ctx c = {.req = req};
	long long disk = 0;
	struct vm_files f;
	char *log = NULL;
	int ret = -1;

	if (set_check(name, req, &disk, e) < 0)
		return -1;
	if (offline && req->force && vm_discard_state(d, name, e) < 0)
		return err_wrap(e, "vm set %s", name);
	if (set_claim(d, name, offline, out, e) < 0)
		return err_wrap(e, "vm set %s", name);
	vm_files_get(d, out, &f);
	log = xasprintf("%s/disk.log", f.dir);
	if (disk && disk != out->disk_size) {
		/* The VM is held: nothing else touches the disk or the record's
		 * state until vm_busy_release. */
		if (disk_grow(f.work, disk, log, e) < 0) {
			if (fs_err_is_nospace(e))
				fs_err_nospace(e, d->paths.state_dir);
			goto out;
		}
		c.disk = disk;
		log_info(d->log, "work disk grown", LF_S("vm", out->name), LF_I("bytes", disk));
	}
	c.nat_changed = req->nat >= 0 && req->nat != out->nat;
	if (vm_update(d, out->id, set_edit, &c, out, e) < 0 || set_live_nat(d, out, &c, e) < 0)
		goto out;
	ret = 0;
out:
	if (offline)
		vm_busy_release(d, out->id);
	free(log);
	return ret < 0 ? err_wrap(e, "vm set %s", name) : 0;
}

/* Records a VM found without its VMM as stopped (and why). */
static void reconcile_stopped(struct daemon *d, const struct store_vm *vm, const char *last_exit,
			      const char *last_error)
{
	struct vm_exit x = {.pid = vm->pid};
	struct store_vm out;
	struct err e;

	snprintf(x.last_exit, sizeof(x.last_exit), "%s", last_exit);
	snprintf(x.last_error, sizeof(x.last_error), "%s", last_error);
	log_info(d->log, "vm found stopped", LF_S("vm", vm->name),
		 LF_S("stage", vm_state_name(vm->state)));
	/* A failed write is logged by vm_update; the next start tries again. */
	vm_update(d, vm->id, vm_exit_edit, &x, &out, &e);
}

static int disk_size_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	vm->disk_size = *(const long long *)arg;
	return 0;
}

static void tool_seen(pid_t pid, const char *hit, void *ctx)
{
	(void)pid;
	(void)hit;
	(void)ctx;
}

/* vm set grows the work disk before it records the new size: a daemon that
 * died in between left a file larger than the record says, perhaps with
 * its filesystem not yet resized. Finish that grow. */
static void reconcile_disk(struct daemon *d, const struct store_vm *vm)
{
	struct vm_files f;
	struct store_vm out;
	struct stat st;
	struct err e;
	long long size;
	char *log;

	vm_files_get(d, vm, &f);
	if (stat(f.work, &st) < 0 || st.st_size <= vm->disk_size)
		return;
	log = xasprintf("%s/disk.log", f.dir);
	log_warn(d->log, "finishing an interrupted work disk grow", LF_S("vm", vm->name),
		 LF_I("bytes", (long long)st.st_size));
	/* The dead daemon's e2fsck or resize2fs may still run on the disk (they
	 * are not killed with it: a resize cut short is worse than one that
	 * ends). Two at once would corrupt it, so wait for it first. */
	for (long long end = mono_ms() + 120000;
	     proc_each_with_arg(f.work, tool_seen, NULL) > 0 && mono_ms() < end;)
		usleep(50 * 1000);
	size = st.st_size;
	if (disk_fit(f.work, log, &e) < 0 ||
	    vm_update(d, vm->id, disk_size_edit, &size, &out, &e) < 0)
		log_error(d->log, "cannot finish the work disk grow", LF_S("vm", vm->name),
			  LF_S("error", e.msg), LF_S("path", log));
	free(log);
}

/* What the console of a starting VM said while no daemon watched, applied
 * before the API serves anyone: a client never sees "starting" for a guest
 * that was ready meanwhile. The supervisor reports the same lines again;
 * applying them twice changes nothing. */
static void reconcile_rescan(struct daemon *d, const struct store_vm *vm, const struct vm_files *f)
{
	struct console_scan *scan = xmalloc(sizeof(*scan));
	const struct console_event *t;

	vm_console_scan_boot(f->console_log, scan);
	t = vm_console_trouble(scan);
	if (scan->ready.kind == CONSOLE_READY)
		vm_on_console(d, vm->id, &scan->ready, vm->started_at * 1000);
	if (t && t->kind != CONSOLE_SHUTDOWN)
		vm_on_console(d, vm->id, t, vm->started_at * 1000);
	free(scan);
}

/* Re-adopts a live VMM. A starting one is scanned again from its boot's
 * start marker (it may have become ready, or failed, while the daemon was
 * down) and waited for in the background, within what is left of its
 * boot_timeout; the others are watched from the console's end. */
static void reconcile_adopt(struct daemon *d, struct store_vm *vm, const struct vm_files *f)
{
	int starting = vm->state == VM_STATE_STARTING;
	struct sup_target t = {vm->id,
			       (pid_t)vm->pid,
			       0,
			       f->console_log,
			       starting ? vm_console_marker(f->console_log)
					: vm_console_size(f->console_log),
			       vm_driver(vm)->poweroff_keeps_running,
			       vm->started_at * 1000};
	struct err e;

	log_info(d->log, starting ? "re-adopted starting VM" : "re-adopted running VM",
		 LF_S("vm", vm->name), LF_I("pid", vm->pid));
	pthread_mutex_lock(&d->lock);
	if (sup_watch(d, &t, &e) < 0)
		log_error(d->log, "cannot watch VMM", LF_S("vm", vm->name), LF_S("error", e.msg));
	pthread_mutex_unlock(&d->lock);
	if (vm->state == VM_STATE_STOPPING)
		kill((pid_t)vm->pid, SIGTERM); /* finish the interrupted stop */
	if (starting) {
		reconcile_rescan(d, vm, f);
		vm_boot_follow(d, vm, 1, vm_boot_deadline(d, vm), &e);
	}
}

/* One VM found in a transitional or running state at startup. */
static void reconcile_one(struct daemon *d, struct store_vm *vm)
{
	struct vm_files f;
	int alive = vm->pid > 0 && proc_alive((pid_t)vm->pid, vm->pid_start);
	struct err e;

	vm_files_get(d, vm, &f);
	if (vm->state != VM_STATE_CREATING && vm->state != VM_STATE_DELETING &&
	    vm_suspend_reconcile(d, vm))
		return;
	if (vm->state == VM_STATE_CREATING || vm->state == VM_STATE_DELETING) {
		struct delete_ctx c = {.resume = 1};

		log_warn(d->log, "finishing an interrupted operation", LF_S("vm", vm->name),
			 LF_S("stage", vm_state_name(vm->state)));
		if (delete_claim(d, vm->id, &c, vm, &e) < 0 || !c.go ||
		    finish_delete(d, vm, &e) < 0)
			log_error(d->log, "cleanup failed", LF_S("vm", vm->name),
				  LF_S("error", e.msg));
		return;
	}
	if (alive && vm_state_has_vmm(vm->state)) {
		reconcile_adopt(d, vm, &f);
		return;
	}
	/* A starting VM with no pid recorded was killed mid-spawn: its VMM,
	 * if any, is an orphan that vm_kill_orphans ends. */
	vm_driver(vm)->cleanup(&(struct vmm_config){.vm_id = vm->id, .api_sock = f.api_sock});
	if (vm->state == VM_STATE_STARTING && vm->pid <= 0)
		reconcile_stopped(d, vm, "",
				  "the daemon stopped while this VM was starting; start it again");
	else if (vm->state == VM_STATE_STARTING)
		reconcile_stopped(
		    d, vm, "exited while the daemon was down",
		    "its VMM exited before the guest was ready, while the daemon was down");
	else if (vm->state != VM_STATE_STOPPED)
		reconcile_stopped(d, vm, "exited while the daemon was down", "");
}

void vm_reconcile(struct daemon *d)
{
	struct store_vm *vms = NULL;
	size_t n = 0;
	struct err e;

	if (store_vm_list(d->store, &vms, &n, &e) < 0) {
		log_error(d->log, "reconcile: cannot list VMs", LF_S("error", e.msg));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		/* A restore cut short first: it decides which disks there are. */
		if (vms[i].state != VM_STATE_CREATING && vms[i].state != VM_STATE_DELETING)
			vm_snapshot_reconcile(d, &vms[i]);
		if (vms[i].state == VM_STATE_STOPPED)
			reconcile_disk(d, &vms[i]);
		reconcile_one(d, &vms[i]);
	}
	free(vms);
	vm_kill_orphans(d);
	vmnet_reconcile(d);
	ssh_known_hosts_sync(d, NULL);
}
