/*
 * vm_suspend: vm suspend, the resume half of a start, discarding a saved
 * state, and their reconcile (issue 11).
 *
 * Crash safety rests on names: the driver writes into suspend.tmp, which is
 * never used; it becomes suspend only once sealed (suspend_state.h) and
 * renamed; a resume renames it suspend.used before the VMM reads it, so a
 * state that a guest has run on since is never taken for a good one. The
 * record is written before each step on the host: suspending before the
 * save, suspended only by the VMM's exit once suspend exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/guest_clock.h"
#include "daemon/ssh_keys.h"
#include "daemon/supervisor.h"
#include "daemon/suspend_state.h"
#include "daemon/vm.h"
#include "daemon/vm_bin.h"
#include "daemon/vm_console.h"
#include "daemon/vm_net.h"
#include "daemon/workers.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"

/* The guest's memory plus this much must be free before a save begins. */
#define SUSPEND_SPACE_MARGIN (64LL << 20)

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static int fsync_file(const char *path, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (fsync(fd) < 0)
		ret = err_errno(e, errno, "fsync %s", path);
	close(fd);
	return ret;
}

/* Removes a state directory, logging a failure (a leftover is removed by
 * the next reconcile). */
static void drop_dir(struct daemon *d, const struct store_vm *vm, const char *dir)
{
	struct err e;

	if (fs_exists(dir) && fs_rm_rf(dir, &e) < 0)
		log_warn(d->log, "cannot remove saved state", LF_S("vm", vm->name),
			 LF_S("path", dir), LF_S("error", e.msg));
}

/* What a state is made against, from the configuration a start uses. */
static void ident_of(struct daemon *d, const struct store_vm *vm, const struct vmm_config *c,
		     char *bin_id, size_t len, struct suspend_ident *id)
{
	vm_bin_identity(d, vm->vmm, bin_id, len);
	*id = (struct suspend_ident){
	    vm_driver(vm)->name, bin_id,  c->kernel,  c->initrd ? c->initrd : "",
	    c->drives[0].path,	 c->vcpu, c->mem_mib, c->mac};
}

/* Builds the configuration of a VM as its start would (no tap: the save
 * and the ident need none). */
static int config_of(struct daemon *d, const struct store_vm *vm, struct store_image *img,
		     struct vm_files *f, struct buf *args, char **bin, struct vmm_config *c,
		     struct err *e)
{
	vm_files_get(d, vm, f);
	if (store_image_get(d->store, vm->image_id, img, e) < 0)
		return -1;
	*bin = vm_bin_path(d, vm->vmm);
	vm_vmm_config(d, vm, img, f, args, *bin, NULL, c);
	return 0;
}

/* ---- vm suspend ------------------------------------------------------- */

static int suspend_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)arg;
	if (vm->state == VM_STATE_SUSPENDED)
		return VM_EDIT_SKIP;
	if (vm->state != VM_STATE_RUNNING || vm->pid <= 0)
		return vm_refuse(e, vm);
	if (!vm_driver(vm)->suspend) {
		err_set(e, ERR_INVALID, "the %s driver cannot suspend a VM", vm_driver(vm)->name);
		return err_hint(e, "stop it instead: banger vm stop %s", vm->name), -1;
	}
	vm->state = VM_STATE_SUSPENDING;
	return 0;
}

/* A save that failed: the guest runs on (the driver let it), so the VM is
 * running again, if its VMM is still the one that was being saved. */
static int unsuspend_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	if (vm->state != VM_STATE_SUSPENDING || vm->pid != *(const long long *)arg)
		return VM_EDIT_SKIP;
	vm->state = VM_STATE_RUNNING;
	return 0;
}

static int bytes_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	vm->state_bytes = *(const long long *)arg;
	return 0;
}

/* Refuses a save that cannot fit: a full disk midway would cost the time
 * of a save for nothing. */
static int check_space(struct daemon *d, const struct store_vm *vm, const char *dir, struct err *e)
{
	struct statvfs sv;
	long long need = vm->memory_mib * (1LL << 20) + SUSPEND_SPACE_MARGIN, avail;

	if (statvfs(dir, &sv) < 0)
		return 0; /* the save itself will say what is wrong */
	avail = (long long)sv.f_bavail * (long long)sv.f_frsize;
	if (avail >= need)
		return 0;
	err_set(e, ERR_IO,
		"not enough space to save the guest's state: %lld MiB needed in %s, "
		"%lld MiB free",
		need >> 20, d->paths.state_dir, avail >> 20);
	err_hint(e, "free some space, or stop the VM instead: banger vm stop %s", vm->name);
	return -1;
}

int vm_suspend(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	const struct vmm_driver *drv;
	struct store_image img;
	struct vm_files f;
	struct vmm_config c;
	struct suspend_ident id;
	struct buf args = BUF_INIT;
	char *bin = NULL, bin_id[256];
	long long t0 = mono_ms(), bytes = 0, pid;
	int saved = 0;
	struct store_vm tmp;
	struct err e2;

	if (vm_update(d, name, suspend_edit, NULL, out, e) < 0)
		return err_wrap(e, "vm suspend %s", name);
	if (out->state == VM_STATE_SUSPENDED)
		return 0;
	drv = vm_driver(out);
	pid = out->pid;
	log_info(d->log, "vm suspend", LF_S("vm", out->name), LF_S("vm_id", out->id),
		 LF_S("vmm", drv->name));
	if (config_of(d, out, &img, &f, &args, &bin, &c, e) < 0 ||
	    check_space(d, out, f.dir, e) < 0)
		goto fail;
	drop_dir(d, out, f.suspend_tmp);
	if (mkdir(f.suspend_tmp, 0700) < 0) {
		err_errno(e, errno, "create %s", f.suspend_tmp);
		goto fail;
	}
	if (drv->suspend(&c, &(struct vmm_proc){(pid_t)pid, out->pid_start}, f.suspend_tmp, &bytes,
			 e) < 0)
		goto fail;
	saved = 1;
	/* The saved memory takes the VMM's disk writes as done: they must be
	 * on disk before the state counts, or a host crash would leave disks
	 * older than the memory that a resume trusts. */
	if (fsync_file(f.overlay, e) < 0 || fsync_file(f.work, e) < 0)
		goto fail;
	ident_of(d, out, &c, bin_id, sizeof(bin_id), &id);
	if (suspend_state_seal(f.suspend_tmp, &id, &bytes, e) < 0)
		goto fail;
	drop_dir(d, out, f.suspend);
	if (rename(f.suspend_tmp, f.suspend) < 0) {
		err_errno(e, errno, "rename %s", f.suspend_tmp);
		goto fail;
	}
	fsync_dir(f.dir);
	/* From here the state is complete: the VMM's end makes the VM
	 * suspended, whoever ends it (this call or, after a crash, reconcile). */
	vm_update(d, out->id, bytes_edit, &bytes, &tmp, &e2);
	if (proc_alive((pid_t)pid, out->pid_start))
		kill((pid_t)pid, SIGKILL);
	if (vm_wait_stopped(d, out->id, 10000) < 0) {
		err_set(e, ERR_VMM, "the %s process %lld did not exit after its state was saved",
			drv->name, pid);
		goto out;
	}
	log_info(d->log, "vm suspended", LF_S("vm", out->name), LF_S("vm_id", out->id),
		 LF_I("state_bytes", bytes), LF_I("duration_ms", mono_ms() - t0));
	buf_free(&args);
	free(bin);
	return store_vm_get(d->store, out->id, out, e);
fail:
	if (saved && drv->unpause)
		drv->unpause(&c, &(struct vmm_proc){(pid_t)pid, out->pid_start}, &e2);
	drop_dir(d, out, f.suspend_tmp);
	log_error(d->log, "vm suspend failed", LF_S("vm", out->name), LF_S("vm_id", out->id),
		  LF_S("error", e->msg));
	vm_update(d, out->id, unsuspend_edit, &pid, &tmp, &e2);
out:
	buf_free(&args);
	free(bin);
	return err_wrap(e, "vm suspend %s", out->name);
}

/* ---- resume ----------------------------------------------------------- */

int vm_resume_begin(struct daemon *d, const struct store_vm *vm, const struct vmm_config *c,
		    struct vmm_proc *p, char *note, size_t note_len)
{
	const struct vmm_driver *drv = vm_driver(vm);
	struct suspend_ident id;
	struct vm_files f;
	char bin_id[256];
	long long bytes = 0, t0 = mono_ms();
	struct err e;

	note[0] = '\0';
	vm_files_get(d, vm, &f);
	if (!fs_is_dir(f.suspend))
		return 0;
	ident_of(d, vm, c, bin_id, sizeof(bin_id), &id);
	if (!drv->resume) {
		err_set(&e, ERR_INVALID, "the %s driver cannot resume a saved state", drv->name);
		goto cold;
	}
	if (suspend_state_check(f.suspend, &id, &bytes, &e) < 0)
		goto cold;
	/* Consumed from here: once a guest runs on it, the state no longer
	 * matches the disks. */
	drop_dir(d, vm, f.suspend_used);
	if (rename(f.suspend, f.suspend_used) < 0) {
		err_errno(&e, errno, "rename %s", f.suspend);
		goto cold;
	}
	fsync_dir(f.dir);
	log_info(d->log, "vm resume", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		 LF_I("state_bytes", bytes), LF_I("check_ms", mono_ms() - t0));
	if (drv->resume(c, f.suspend_used, p, &e) < 0)
		goto cold;
	snprintf(note, note_len, "resumed from its saved state");
	return 1;
cold:
	snprintf(note, note_len, "cold boot: the saved state could not be used: %s", e.msg);
	log_warn(d->log, "saved state not used, booting cold", LF_S("vm", vm->name),
		 LF_S("vm_id", vm->id), LF_S("error", e.msg), LF_S("path", f.suspend));
	drop_dir(d, vm, f.suspend);
	drop_dir(d, vm, f.suspend_used);
	return 0;
}

struct clock_job {
	struct daemon *d;
	char name[64];
	char address[16];
};

/* A worker: the guest's ssh handshake costs seconds under TCG, which the
 * start need not wait for (the guest already runs on); the clock is set
 * about when a user's first ssh gets in. */
static void clock_worker(void *arg)
{
	struct clock_job *j = arg;
	char *key = ssh_user_key_path(j->d), *kh = ssh_known_hosts_path(j->d);
	long long skew_ms = 0, t0 = mono_ms();
	struct err e;

	if (guest_clock_set(j->address, key, kh, 15000, &skew_ms, &e) < 0)
		log_warn(j->d->log, "cannot set the guest's clock after resume",
			 LF_S("vm", j->name), LF_S("error", e.msg));
	else
		log_info(j->d->log, "guest clock set after resume", LF_S("vm", j->name),
			 LF_I("skew_ms", skew_ms), LF_I("duration_ms", mono_ms() - t0));
	free(key);
	free(kh);
	free(j);
}

void vm_resume_done(struct daemon *d, const struct store_vm *vm)
{
	struct vm_files f;
	struct clock_job *j;
	char what[128];
	struct err e;

	vm_files_get(d, vm, &f);
	drop_dir(d, vm, f.suspend_used);
	fsync_dir(f.dir);
	if (!vm->address[0])
		return;
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	snprintf(j->name, sizeof(j->name), "%s", vm->name);
	snprintf(j->address, sizeof(j->address), "%s", vm->address);
	snprintf(what, sizeof(what), "set the clock of %s", vm->name);
	if (workers_spawn(d, what, clock_worker, j, &e) < 0) {
		log_warn(d->log, "cannot set the guest's clock after resume", LF_S("vm", vm->name),
			 LF_S("error", e.msg));
		free(j);
	}
}

/* ---- discard ---------------------------------------------------------- */

static int discard_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)arg;
	(void)e;
	if (vm->state != VM_STATE_SUSPENDED)
		return VM_EDIT_SKIP;
	vm->state = VM_STATE_STOPPED;
	vm->state_bytes = 0;
	snprintf(vm->last_exit, sizeof(vm->last_exit), "saved state discarded");
	return 0;
}

int vm_discard_state(struct daemon *d, const char *name, struct err *e)
{
	struct store_vm vm;
	struct vm_files f;

	if (vm_update(d, name, discard_edit, NULL, &vm, e) < 0)
		return -1;
	if (vm.state != VM_STATE_STOPPED)
		return 0;
	vm_files_get(d, &vm, &f);
	if (fs_exists(f.suspend)) {
		log_info(d->log, "saved state discarded", LF_S("vm", vm.name),
			 LF_S("vm_id", vm.id));
		drop_dir(d, &vm, f.suspend);
	}
	return 0;
}

/* ---- reconcile -------------------------------------------------------- */

struct found {
	enum vm_state to;
	long long bytes;
	const char *last_exit, *last_error;
};

static int found_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	const struct found *f = arg;

	(void)busy;
	(void)e;
	vm->state = f->to;
	vm->pid = 0;
	vm->pid_start = 0;
	vm->state_bytes = f->to == VM_STATE_SUSPENDED ? f->bytes : 0;
	snprintf(vm->last_exit, sizeof(vm->last_exit), "%s", f->last_exit);
	if (f->last_error[0])
		snprintf(vm->last_error, sizeof(vm->last_error), "%s", f->last_error);
	return 0;
}

/* A daemon that died during a save: the VMM may still run, paused. */
static void reconcile_suspending(struct daemon *d, struct store_vm *vm, const struct vm_files *f,
				 int alive)
{
	const struct vmm_driver *drv = vm_driver(vm);
	struct store_vm out;
	struct err e;

	if (suspend_state_sealed(f->suspend)) {
		struct found to = {VM_STATE_SUSPENDED, suspend_state_bytes(f->suspend),
				   "suspended (finished after a daemon restart)", ""};

		log_info(d->log, "finishing an interrupted suspend", LF_S("vm", vm->name));
		if (alive)
			kill((pid_t)vm->pid, SIGKILL);
		vm_update(d, vm->id, found_edit, &to, &out, &e);
		vmnet_down(d, vm);
		return;
	}
	drop_dir(d, vm, f->suspend_tmp);
	if (alive && drv->unpause) {
		struct store_image img;
		struct vm_files ff;
		struct vmm_config c;
		struct buf args = BUF_INIT;
		char *bin = NULL;

		if (config_of(d, vm, &img, &ff, &args, &bin, &c, &e) == 0 &&
		    drv->unpause(&c, &(struct vmm_proc){(pid_t)vm->pid, vm->pid_start}, &e) == 0 &&
		    vm_update(d, vm->id, unsuspend_edit, &vm->pid, &out, &e) == 0) {
			struct sup_target t = {vm->id,
					       (pid_t)vm->pid,
					       0,
					       f->console_log,
					       vm_console_size(f->console_log),
					       drv->poweroff_keeps_running,
					       vm->started_at * 1000};

			log_info(d->log, "interrupted suspend rolled back: the guest runs on",
				 LF_S("vm", vm->name));
			pthread_mutex_lock(&d->lock);
			if (sup_watch(d, &t, &e) < 0)
				log_error(d->log, "cannot watch VMM", LF_S("vm", vm->name),
					  LF_S("error", e.msg));
			pthread_mutex_unlock(&d->lock);
			buf_free(&args);
			free(bin);
			return;
		}
		log_warn(d->log, "cannot let the guest run on after an interrupted suspend",
			 LF_S("vm", vm->name), LF_S("error", e.msg));
		buf_free(&args);
		free(bin);
	}
	if (alive)
		kill((pid_t)vm->pid, SIGKILL);
	vm_update(d, vm->id, found_edit,
		  &(struct found){VM_STATE_STOPPED, 0, "exited while the daemon was down",
				  "the daemon stopped while this VM's state was being saved; it "
				  "will boot cold"},
		  &out, &e);
	vmnet_down(d, vm);
}

int vm_suspend_reconcile(struct daemon *d, struct store_vm *vm)
{
	struct vm_files f;
	struct store_vm out;
	struct err e;
	int alive = vm->pid > 0 && proc_alive((pid_t)vm->pid, vm->pid_start);

	vm_files_get(d, vm, &f);
	if (vm->state == VM_STATE_SUSPENDING) {
		reconcile_suspending(d, vm, &f, alive);
		return 1;
	}
	/* Never a good state: a save that did not finish, or one a resume
	 * consumed (its guest may have run on it). */
	drop_dir(d, vm, f.suspend_tmp);
	drop_dir(d, vm, f.suspend_used);
	if (vm->state == VM_STATE_SUSPENDED) {
		if (suspend_state_sealed(f.suspend))
			return 1;
		log_warn(d->log, "suspended VM has no saved state", LF_S("vm", vm->name));
		vm_update(
		    d, vm->id, found_edit,
		    &(struct found){VM_STATE_STOPPED, 0, "saved state missing",
				    "its saved state was missing at daemon start; it will boot "
				    "cold"},
		    &out, &e);
		return 1;
	}
	if (vm->state == VM_STATE_STARTING && !alive && suspend_state_sealed(f.suspend)) {
		/* The daemon died before the resume began: nothing used the state. */
		log_info(d->log, "interrupted resume: the VM stays suspended",
			 LF_S("vm", vm->name));
		vm_update(d, vm->id, found_edit,
			  &(struct found){VM_STATE_SUSPENDED, suspend_state_bytes(f.suspend),
					  "suspended", ""},
			  &out, &e);
		return 1;
	}
	if (vm->state == VM_STATE_STOPPED || vm->state == VM_STATE_RUNNING)
		drop_dir(d, vm, f.suspend); /* discarded, or left by a crash after a resume */
	return 0;
}
