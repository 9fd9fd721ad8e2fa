/* vm_power: start, stop, restart, kill, and what happens when a VMM exits. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/supervisor.h"
#include "daemon/suspend_state.h"
#include "daemon/vm.h"
#include "daemon/vm_accel.h"
#include "daemon/vm_bin.h"
#include "daemon/vm_console.h"
#include "daemon/vm_net.h"
#include "daemon/workers.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"

/* vm start: a stopped VM starts; a running one is already where the user
 * wants it (success, nothing written); one whose VMM is up and booting is
 * waited for. */
static int start_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)arg;
	if (vm->state == VM_STATE_RUNNING || (vm->state == VM_STATE_STARTING && vm->pid > 0))
		return VM_EDIT_SKIP;
	if (vm->state != VM_STATE_STOPPED && vm->state != VM_STATE_SUSPENDED)
		return vm_refuse(e, vm);
	vm->state = VM_STATE_STARTING;
	return 0;
}

/* What boot learnt, written when the VMM is configured and booting: the
 * VM stays "starting" until its guest says it is ready (vm_ready.c). */
struct booted {
	struct vmm_proc p;
	const char *accel;
	int resumed;	  /* the guest runs on from its saved state: ready now */
	long long ms;	  /* resumed: from the start request to the guest running */
	const char *note; /* resume_note */
};

static int spawned_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	const struct booted *b = arg;

	(void)busy;
	if (vm->state != VM_STATE_STARTING)
		return vm_refuse(e, vm);
	vm->pid = b->p.pid;
	vm->pid_start = b->p.start_time;
	vm->started_at = (long long)time(NULL);
	vm->ready_ms = b->resumed ? b->ms : 0;
	vm->guest_ready_ms = 0;
	vm->last_error[0] = '\0';
	vm->state_bytes = 0;
	snprintf(vm->resume_note, sizeof(vm->resume_note), "%s", b->note);
	if (b->resumed)
		vm->state = VM_STATE_RUNNING;
	snprintf(vm->accel, sizeof(vm->accel), "%s", b->accel);
	return 0;
}

/* Writes the end of a boot that failed, and keeps it in memory when the
 * database refuses it, to retry later. Returns -1 (e filled) in that case. */
static int record_exit(struct daemon *d, const struct store_vm *vm, const struct vm_exit *x,
		       struct err *e)
{
	struct store_vm out;
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = vm_update_locked(d, vm->id, vm_exit_edit, (void *)x, &out, e);
	if (rc < 0) {
		vm_exit_pending_locked(d, vm, x);
		pthread_cond_broadcast(&d->changed);
	}
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		events_vm(d, "vm.state", vm); /* the view shows the pending exit */
	vm_update_publish(d, rc, &out);
	return rc < 0 ? -1 : 0;
}

void vm_vmm_config(struct daemon *d, const struct store_vm *vm, const struct store_image *img,
		   const struct vm_files *f, struct buf *args, char *bin, const char *tap,
		   struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vm_id = vm->id;
	c->vm_name = vm->name;
	c->vm_dir = f->dir;
	c->api_sock = f->api_sock;
	c->bin = bin;
	c->kernel = img->kernel;
	c->initrd = img->initrd[0] ? img->initrd : NULL;
	/* guest_kernel_args (config), for either driver, before banger's own;
	 * by default cryptomgr.notests (config.c). */
	if (d->cfg.guest_kernel_args && d->cfg.guest_kernel_args[0])
		buf_printf(args, "%s ", d->cfg.guest_kernel_args);
	vmnet_boot_args(d, vm, args);
	c->boot_args = buf_str(args);
	c->drives[0] = (struct vmm_drive){"base", img->rootfs, 1, 1};
	c->drives[1] = (struct vmm_drive){"overlay", f->overlay, 0, 0};
	c->drives[2] = (struct vmm_drive){"work", f->work, 0, 0};
	c->ndrives = 3;
	c->tap = tap && tap[0] ? tap : NULL;
	c->mac = vm->mac;
	c->vcpu = (int)vm->vcpu;
	c->mem_mib = (int)vm->memory_mib;
	c->console_log = f->console_log;
	c->metrics_path = f->metrics;
	c->accel = vm->accel;
	c->log = d->log;
}

/* Boots a VM that is in state "starting" (vm is that record). On failure it
 * is "stopped" with last_error set. */
static int boot(struct daemon *d, struct store_vm *vm, struct err *e)
{
	const struct vmm_driver *drv = vm_driver(vm);
	struct store_image img;
	struct vm_files f;
	struct vmm_config c;
	struct vmm_proc p = {0};
	struct buf args = BUF_INIT;
	char tap[32] = "", *bin = NULL, note[sizeof(vm->resume_note)] = "";
	long long t0 = mono_ms(), t0_real = vm_realtime_ms(), exit_pid = 0;
	off_t console_off;
	struct vm_exit x = {0};
	int rc, resumed = 0;

	vm_files_get(d, vm, &f);
	if (store_image_get(d->store, vm->image_id, &img, e) < 0)
		goto fail;
	if (drv->needs_accel) {
		char why[256];

		vm_accel_choose(d->cfg.qemu_accel, vm->accel, sizeof(vm->accel), why, sizeof(why));
		log_info(d->log, "qemu acceleration", LF_S("vm", vm->name),
			 LF_S("accel", vm->accel), LF_S("reason", why));
	} else {
		vm->accel[0] = '\0';
	}
	if (vmnet_up(d, vm, tap, sizeof(tap), e) < 0)
		goto fail;
	bin = vm_bin_path(d, vm->vmm);
	vm_vmm_config(d, vm, &img, &f, &args, bin, tap, &c);
	log_info(d->log, "vm start", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		 LF_S("vmm", drv->name), LF_S("stage", "spawn"));
	console_off = vm_console_size(f.console_log); /* where the start marker goes */
	resumed = vm_resume_begin(d, vm, &c, &p, note, sizeof(note));
	if (!resumed && drv->start(&c, &p, e) < 0) {
		vmnet_down(d, vm);
		goto fail;
	}
	/* Recorded and watched under one hold of the lock: the exit of this pid
	 * cannot be handled before the record says it runs. */
	pthread_mutex_lock(&d->lock);
	rc = vm_update_locked(d, vm->id, spawned_edit,
			      &(struct booted){p, vm->accel, resumed, mono_ms() - t0, note}, vm, e);
	if (rc < 0) {
		pthread_mutex_unlock(&d->lock);
		kill(p.pid, SIGKILL);
		vmnet_down(d, vm);
		goto fail;
	}
	if (sup_watch(d,
		      &(struct sup_target){vm->id, p.pid, 1, f.console_log, console_off,
					   drv->poweroff_keeps_running, t0_real},
		      e) < 0) {
		pthread_mutex_unlock(&d->lock);
		kill(p.pid, SIGKILL);
		vmnet_down(d, vm);
		exit_pid = p.pid;
		goto fail;
	}
	pthread_mutex_unlock(&d->lock);
	vm_update_publish(d, rc, vm);
	log_info(d->log, resumed ? "vm resumed" : "vm booting", LF_S("vm", vm->name),
		 LF_S("vm_id", vm->id), LF_I("pid", p.pid), LF_I("duration_ms", mono_ms() - t0));
	if (resumed)
		vm_resume_done(d, vm);
	buf_free(&args);
	free(bin);
	return 0;
fail:
	if (!e->log[0])
		err_log(e, f.console_log);
	log_error(d->log, "vm start failed", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		  LF_S("error", e->msg), LF_S("path", e->log));
	{
		char msg[ERR_MSG_MAX];

		err_format(e, msg, sizeof(msg));
		snprintf(x.last_error, sizeof(x.last_error), "%s", msg);
	}
	x.pid = exit_pid;
	/* A resume that could not begin (its network, say) keeps the state. */
	x.suspended = !resumed && suspend_state_sealed(f.suspend);
	{
		struct err e2;

		err_clear(&e2);
		if (record_exit(d, vm, &x, &e2) < 0) {
			char hint[ERR_AUX_MAX];

			snprintf(hint, sizeof(hint), "%s", e->hint);
			err_hint(e, "%s%sthe VM's record could not be updated either: %s", hint,
				 hint[0] ? "; " : "", e2.msg);
		}
	}
	buf_free(&args);
	free(bin);
	return -1;
}

/* Another start is spawning this VM's VMM (autostart, as a daemon that a
 * `vm start` launched comes up): wait until its pid is known, or that start
 * failed, so this one watches that boot (or retries) instead of refusing. */
static void wait_spawned(struct daemon *d, const char *name, long long deadline)
{
	struct store_vm vm;

	pthread_mutex_lock(&d->lock);
	while (store_vm_get(d->store, name, &vm, NULL) == 0 && vm.state == VM_STATE_STARTING &&
	       vm.pid <= 0 && mono_ms() < deadline)
		vm_wait_changed_locked(d, deadline);
	pthread_mutex_unlock(&d->lock);
}

int vm_start(struct daemon *d, const char *name, int no_wait, struct store_vm *out, struct err *e)
{
	long long deadline = mono_ms() + d->cfg.boot_timeout * 1000;

	wait_spawned(d, name, deadline);
	if (vm_update(d, name, start_edit, NULL, out, e) < 0)
		return err_wrap(e, "vm start %s", name);
	if (out->state == VM_STATE_RUNNING)
		return 0;
	if (out->state == VM_STATE_STARTING && out->pid > 0) {
		/* Another start's waiter owns this boot; this one only watches. */
		if (!no_wait && vm_boot_wait(d, out->id, vm_boot_deadline(d, out), out, e) < 0)
			return err_wrap(e, "vm start %s", out->name);
		return 0;
	}
	if (boot(d, out, e) < 0 || vm_boot_follow(d, out, no_wait, deadline, e) < 0)
		return err_wrap(e, "vm start %s", out->name);
	if (!no_wait)
		vm_mounts_wait(d, out);
	return 0;
}

/* Waits until the VM is no longer running/stopping or timeout_ms passed.
 * Returns 0 when it stopped. */
static int wait_stopped(struct daemon *d, const char *id, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	struct store_vm vm;
	int gone = 0;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		long long left;

		if (store_vm_get(d->store, id, &vm, NULL) < 0 || !vm_state_has_vmm(vm.state) ||
		    vm_exit_is_pending_locked(d, id)) {
			gone = 1;
			break;
		}
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		vm_wait_changed_locked(d, deadline);
	}
	pthread_mutex_unlock(&d->lock);
	return gone ? 0 : -1;
}

/* ctrl-alt-del, wait, SIGTERM, wait, SIGKILL. The VM is in "stopping". */
static int escalate(struct daemon *d, struct store_vm *vm, struct err *e)
{
	const struct vmm_driver *drv = vm_driver(vm);
	struct vm_files f;
	struct vmm_config c;
	struct err ignore;
	long long t0 = mono_ms();

	vm_files_get(d, vm, &f);
	memset(&c, 0, sizeof(c));
	c.vm_id = vm->id;
	c.vm_name = vm->name;
	c.api_sock = f.api_sock;
	c.console_log = f.console_log;
	c.log = d->log;
	log_info(d->log, "vm stop requested", LF_S("vm", vm->name), LF_S("vm_id", vm->id));
	if (drv->request_stop(&c, &(struct vmm_proc){(pid_t)vm->pid, vm->pid_start}, &ignore) ==
		0 &&
	    wait_stopped(d, vm->id, (int)d->cfg.stop_timeout * 1000) == 0)
		goto done;
	if (proc_alive((pid_t)vm->pid, vm->pid_start)) {
		log_warn(d->log, "guest did not shut down, sending SIGTERM", LF_S("vm", vm->name));
		kill((pid_t)vm->pid, SIGTERM);
	}
	if (wait_stopped(d, vm->id, 3000) == 0)
		goto done;
	if (proc_alive((pid_t)vm->pid, vm->pid_start)) {
		log_warn(d->log, "VMM ignored SIGTERM, sending SIGKILL", LF_S("vm", vm->name));
		kill((pid_t)vm->pid, SIGKILL);
	}
	if (wait_stopped(d, vm->id, 5000) < 0)
		return err_set(e, ERR_VMM, "VMM process %lld did not exit", vm->pid);
done:
	log_info(d->log, "vm stopped", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		 LF_I("duration_ms", mono_ms() - t0));
	return 0;
}

/* vm stop: a running VM stops, and so does a starting one whose VMM is up
 * (its boot's waiter then fails); a stopped one already is (success). A
 * suspended one becomes stopped, its saved state discarded; a running one
 * set to suspend_on_stop is suspended instead (*arg says which). */
enum { STOP_HALT, STOP_DISCARD, STOP_SUSPEND };
struct stop_how {
	int halt; /* in: shut down even when set to suspend_on_stop */
	int how;  /* out: STOP_* */
};

static int stop_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct stop_how *how = arg;

	(void)busy;
	if (vm->state == VM_STATE_STOPPED)
		return VM_EDIT_SKIP;
	if (vm->state == VM_STATE_SUSPENDED) {
		how->how = STOP_DISCARD;
		return VM_EDIT_SKIP;
	}
	if (vm->state == VM_STATE_RUNNING && vm->suspend_on_stop && vm_driver(vm)->suspend &&
	    !how->halt) {
		how->how = STOP_SUSPEND;
		return VM_EDIT_SKIP;
	}
	if (vm->state != VM_STATE_RUNNING && !(vm->state == VM_STATE_STARTING && vm->pid > 0))
		return vm_refuse(e, vm);
	vm->state = VM_STATE_STOPPING;
	return 0;
}

/* halt: a real stop even when the VM is set to suspend_on_stop. */
static int stop(struct daemon *d, const char *name, int halt, struct store_vm *out, struct err *e)
{
	struct stop_how how = {halt, STOP_HALT};

	if (vm_update(d, name, stop_edit, &how, out, e) < 0)
		return err_wrap(e, "vm stop %s", name);
	if (how.how == STOP_SUSPEND)
		return vm_suspend(d, out->id, out, e);
	if (how.how == STOP_DISCARD) {
		if (vm_discard_state(d, out->id, e) < 0)
			return err_wrap(e, "vm stop %s", out->name);
		return store_vm_get(d->store, out->id, out, e);
	}
	if (out->state == VM_STATE_STOPPED)
		return 0;
	if (escalate(d, out, e) < 0)
		return err_wrap(e, "vm stop %s", out->name);
	return store_vm_get(d->store, out->id, out, e);
}

int vm_stop(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	return stop(d, name, 0, out, e);
}

int vm_halt(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	return stop(d, name, 1, out, e);
}

int vm_restart(struct daemon *d, const char *name, int no_wait, struct store_vm *out, struct err *e)
{
	if (vm_halt(d, name, out, e) < 0)
		return -1;
	return vm_start(d, out->id, no_wait, out, e);
}

/* vm kill: records who ends the VMM (and "stopping" for a signal that ends
 * it) before the signal goes out, in one write. */
static int kill_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	int sig = *(const int *)arg;
	int ends =
	    sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == SIGHUP;

	(void)busy;
	if (!vm_state_has_vmm(vm->state))
		return vm_refuse(e, vm);
	if (vm->pid <= 0) /* starting, the driver not done yet */
		return vm_refuse(e, vm);
	if (!proc_alive((pid_t)vm->pid, vm->pid_start))
		return err_set(e, ERR_BAD_STATE, "the VMM is not running");
	if (!ends)
		return VM_EDIT_SKIP; /* nothing to record: the VM goes on */
	vm->state = VM_STATE_STOPPING;
	snprintf(vm->last_exit, sizeof(vm->last_exit), "killed with %s by the user",
		 strsignal(sig));
	return 0;
}

int vm_kill(struct daemon *d, const char *name, int sig, struct store_vm *out, struct err *e)
{
	int ends =
	    sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT || sig == SIGHUP;

	if (vm_update(d, name, kill_edit, &sig, out, e) < 0)
		return err_wrap(e, "vm kill %s", name);
	if (kill((pid_t)out->pid, sig) < 0)
		return err_errno(e, errno, "vm kill %s", out->name);
	log_info(d->log, "vm kill", LF_S("vm", out->name), LF_I("signal", sig));
	if (ends)
		wait_stopped(d, out->id, 5000);
	return store_vm_get(d->store, out->id, out, e);
}

struct reboot_job {
	struct daemon *d;
	char id[sizeof(((struct store_vm *)0)->id)];
};

/* A worker (workers.h): shutdown waits for a restart under way, and one
 * that had not begun when shutdown did is skipped (the VM stays stopped,
 * last_exit "guest rebooted"). */
static void reboot_worker(void *arg)
{
	struct reboot_job *j = arg;
	struct store_vm vm;
	struct err e;

	if (workers_cancelled(j->d))
		log_info(j->d->log, "not restarting after guest reboot", LF_S("vm_id", j->id),
			 LF_S("error", "the daemon is shutting down"));
	else if (vm_start(j->d, j->id, 0, &vm, &e) < 0)
		log_error(j->d->log, "restart after guest reboot failed", LF_S("vm_id", j->id),
			  LF_S("error", e.msg));
	free(j);
}

static void reboot_restart(struct daemon *d, const struct store_vm *vm)
{
	struct reboot_job *j = xcalloc(1, sizeof(*j));
	char name[128];
	struct err e;

	j->d = d;
	snprintf(j->id, sizeof(j->id), "%s", vm->id);
	snprintf(name, sizeof(name), "restart %s after guest reboot", vm->name);
	if (workers_spawn(d, name, reboot_worker, j, &e) == 0)
		return;
	log_info(d->log, "not restarting after guest reboot", LF_S("vm", vm->name),
		 LF_S("vm_id", vm->id), LF_S("error", e.msg));
	free(j);
}

/* The tail of the console since the last start marker. */
static int console_has(const char *path, const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fseek(f, -65536, SEEK_END) < 0)
		fseek(f, 0, SEEK_SET);
	text = xmalloc(65537);
	len = fread(text, 1, 65536, f);
	text[len] = '\0';
	fclose(f);
	{
		char *m = text, *last = NULL;

		while ((m = strstr(m, "--- banger: ")))
			last = m++;
		found = strstr(last ? last : text, needle) != NULL;
	}
	free(text);
	return found;
}

/* What an exit means, decided on the record read under the lock. */
struct exit_ctx {
	struct daemon *d;
	int status;
	int reboot;
	enum vm_state from;
	struct vm_exit x;
};

static int exit_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct exit_ctx *c = arg;
	const struct vmm_driver *drv = vm_driver(vm);
	struct vm_files f;
	char how[64];
	int status = c->status;

	(void)busy;
	(void)e;
	if (!vm_state_has_vmm(vm->state))
		return VM_EDIT_SKIP; /* its end is already recorded */
	c->from = vm->state;
	vm_files_get(c->d, vm, &f);
	if (status < 0)
		snprintf(how, sizeof(how), "exited");
	else if (status > 128)
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", status - 128,
			 strsignal(status - 128));
	else
		snprintf(how, sizeof(how), "exited with status %d", status);
	if (vm->state == VM_STATE_SUSPENDING && suspend_state_sealed(f.suspend)) {
		/* The state was complete before the VMM was ended. */
		snprintf(vm->last_exit, sizeof(vm->last_exit), "suspended");
		c->x.pid = vm->pid;
		c->x.suspended = 1;
		snprintf(c->x.last_exit, sizeof(c->x.last_exit), "%s", vm->last_exit);
		vm->state = VM_STATE_SUSPENDED;
		vm->pid = 0;
		vm->pid_start = 0;
		return 0;
	} else if (vm->state == VM_STATE_SUSPENDING) {
		snprintf(vm->last_error, sizeof(vm->last_error),
			 "%s %s while the guest's state was being saved (see %s)", drv->name, how,
			 f.console_log);
		snprintf(vm->last_exit, sizeof(vm->last_exit), "%s %s during suspend", drv->name,
			 how);
	} else if (vm->state == VM_STATE_STOPPING) {
		if (!vm->last_exit[0])
			snprintf(vm->last_exit, sizeof(vm->last_exit), "stopped by banger");
	} else if (vm->state == VM_STATE_STARTING) {
		/* Never a reboot to follow: a guest that resets before it is ready
		 * (banger-init gave up) would loop. Trouble the console showed is
		 * already in last_error (the supervisor scans before the exit). */
		if (!vm->last_error[0])
			snprintf(vm->last_error, sizeof(vm->last_error),
				 "%s %s before the guest was ready (see %s)", drv->name, how,
				 f.console_log);
		snprintf(vm->last_exit, sizeof(vm->last_exit), "%s %s during boot", drv->name, how);
	} else if (status == 0 && console_has(f.console_log, "Kernel panic")) {
		snprintf(vm->last_error, sizeof(vm->last_error),
			 "the guest kernel panicked (see %s)", f.console_log);
		snprintf(vm->last_exit, sizeof(vm->last_exit), "guest kernel panic");
	} else if (status == 0 && (drv->exit0_is_reboot ||
				   console_has(f.console_log, "reboot: Restarting system"))) {
		/* Firecracker exits 0 when the guest reboots; QEMU too with -no-reboot. */
		c->reboot = 1;
		snprintf(vm->last_exit, sizeof(vm->last_exit), "guest rebooted");
	} else if (status == 0) {
		snprintf(vm->last_exit, sizeof(vm->last_exit), "guest powered off");
	} else {
		snprintf(vm->last_error, sizeof(vm->last_error), "%s %s (see %s)", drv->name, how,
			 f.console_log);
		snprintf(vm->last_exit, sizeof(vm->last_exit), "%s %s", drv->name, how);
	}
	/* Kept in case the database refuses the write. */
	c->x.pid = vm->pid;
	snprintf(c->x.last_exit, sizeof(c->x.last_exit), "%s", vm->last_exit);
	snprintf(c->x.last_error, sizeof(c->x.last_error), "%s", vm->last_error);
	vm->state = VM_STATE_STOPPED;
	vm->pid = 0;
	vm->pid_start = 0;
	return 0;
}

/* Removes the VMM's leftovers (API socket) before the VM reads as stopped,
 * so that they cannot be mistaken for those of the next start. d->lock held. */
static void exit_cleanup_locked(struct daemon *d, const char *vm_id)
{
	struct store_vm vm;
	struct vm_files f;

	if (store_vm_get(d->store, vm_id, &vm, NULL) < 0 || !vm_state_has_vmm(vm.state))
		return;
	vm_files_get(d, &vm, &f);
	vm_driver(&vm)->cleanup(&(struct vmm_config){.vm_id = vm.id, .api_sock = f.api_sock});
}

void vm_on_exit(struct daemon *d, const char *vm_id, int status)
{
	struct store_vm vm, out;
	struct exit_ctx c = {.d = d, .status = status, .from = VM_STATE_COUNT};
	struct err e;
	int rc;

	/* The network goes before the VM reads as stopped: a `vm stop` that has
	 * returned, or a `vm start` that follows, must not race with it. */
	if (store_vm_get(d->store, vm_id, &vm, NULL) < 0)
		return;
	vmnet_down(d, &vm);
	pthread_mutex_lock(&d->lock);
	exit_cleanup_locked(d, vm_id);
	rc = vm_update_locked(d, vm_id, exit_edit, &c, &out, &e);
	if (rc < 0 && c.from != VM_STATE_COUNT) {
		/* Logged by vm_update; kept so that the API shows the VM stopped and
		 * the next write (or reconcile after a restart) records it. */
		vm_exit_pending_locked(d, &vm, &c.x);
		pthread_cond_broadcast(&d->changed);
	}
	pthread_mutex_unlock(&d->lock);
	vm_update_publish(d, rc, &out);
	if (rc < 0 && c.from != VM_STATE_COUNT)
		events_vm(d, "vm.state", &vm); /* the view shows the pending exit */
	if (c.from == VM_STATE_COUNT)
		return;
	log_info(d->log, "vm exited", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_I("status", status), LF_S("stage", vm_state_name(c.from)),
		 LF_S("error", c.x.last_error));
	if (c.reboot)
		reboot_restart(d, &vm);
}

/* Firecracker on x86 keeps running after a guest poweroff: the VM goes to
 * stopping, then its VMM is ended. */
static int poweroff_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	if (vm->state != VM_STATE_RUNNING && vm->state != VM_STATE_STARTING)
		return VM_EDIT_SKIP;
	*(int *)arg = 1;
	vm->state = VM_STATE_STOPPING;
	snprintf(vm->last_exit, sizeof(vm->last_exit), "guest powered off");
	return 0;
}

void vm_on_poweroff(struct daemon *d, const char *vm_id)
{
	struct store_vm vm;
	struct err e;
	int mine = 0;

	/* A failed write is logged by vm_update; the VMM is then left running
	 * (its exit would read as a reboot), for `vm stop` to end. */
	if (vm_update(d, vm_id, poweroff_edit, &mine, &vm, &e) < 0 || !mine)
		return;
	log_info(d->log, "guest powered off, stopping its VMM", LF_S("vm", vm.name),
		 LF_S("vm_id", vm.id));
	if (proc_alive((pid_t)vm.pid, vm.pid_start))
		kill((pid_t)vm.pid, SIGTERM);
}

int vm_wait_stopped(struct daemon *d, const char *id, int timeout_ms)
{
	return wait_stopped(d, id, timeout_ms);
}
