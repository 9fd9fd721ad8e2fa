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
#include "daemon/vm.h"
#include "daemon/vm_accel.h"
#include "daemon/vm_bin.h"
#include "daemon/vm_net.h"
#include "daemon/workers.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"

/* Updates a VM record under the daemon lock. */
static int save(struct daemon *d, const struct store_vm *vm, struct err *e)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = store_vm_update(d->store, vm, e);
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void set_state(struct store_vm *vm, const char *state)
{
	snprintf(vm->state, sizeof(vm->state), "%s", state);
}

/* Moves a VM from one of the `from` states to `to`, atomically. */
static int transition(struct daemon *d, const char *name, const char *const *from, const char *to,
		      struct store_vm *vm, struct err *e)
{
	int ok = 0;

	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, name, vm, e) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	for (; *from; from++)
		if (strcmp(vm->state, *from) == 0)
			ok = 1;
	if (!ok) {
		pthread_mutex_unlock(&d->lock);
		return err_set(e, ERR_BAD_STATE, "VM %s is %s", vm->name, vm->state);
	}
	set_state(vm, to);
	if (store_vm_update(d->store, vm, e) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	events_vm(d, "vm.state", vm);
	return 0;
}

static void fill_config(struct daemon *d, const struct store_vm *vm, const struct store_image *img,
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

/* Boots a VM that is in state "starting". On failure it is "stopped" with
 * last_error set. */
static int boot(struct daemon *d, struct store_vm *vm, struct err *e)
{
	const struct vmm_driver *drv = vm_driver(vm);
	struct store_image img;
	struct vm_files f;
	struct vmm_config c;
	struct vmm_proc p = {0};
	struct buf args = BUF_INIT;
	char tap[32] = "", *bin = NULL;
	long long t0 = mono_ms();
	struct err e2;

	vm_files_get(d, vm, &f);
	if (store_image_get(d->store, vm->image_id, &img, e) < 0)
		goto fail;
	if (strcmp(drv->name, "qemu") == 0) {
		char why[256];

		vm_accel_choose(d->cfg.qemu_accel, vm->accel, sizeof(vm->accel), why, sizeof(why));
		log_info(d->log, "qemu acceleration", LF_S("vm", vm->name), LF_S("accel", vm->accel),
			 LF_S("reason", why));
	} else {
		vm->accel[0] = '\0';
	}
	if (vmnet_up(d, vm, tap, sizeof(tap), e) < 0)
		goto fail;
	bin = vm_bin_path(d, vm->vmm);
	fill_config(d, vm, &img, &f, &args, bin, tap, &c);
	log_info(d->log, "vm start", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		 LF_S("vmm", drv->name), LF_S("stage", "spawn"));
	if (drv->start(&c, &p, e) < 0) {
		vmnet_down(d, vm);
		goto fail;
	}
	pthread_mutex_lock(&d->lock);
	vm->pid = p.pid;
	vm->pid_start = p.start_time;
	vm->started_at = (long long)time(NULL);
	vm->last_error[0] = '\0';
	set_state(vm, "running");
	if (store_vm_update(d->store, vm, e) < 0 ||
	    sup_watch(d, vm->id, p.pid, 1,
		      strcmp(drv->name, "firecracker") == 0 ? f.console_log : NULL, e) < 0) {
		pthread_mutex_unlock(&d->lock);
		kill(p.pid, SIGKILL);
		goto fail;
	}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	events_vm(d, "vm.state", vm);
	log_info(d->log, "vm running", LF_S("vm", vm->name), LF_S("vm_id", vm->id),
		 LF_I("pid", p.pid), LF_I("duration_ms", mono_ms() - t0));
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
		snprintf(vm->last_error, sizeof(vm->last_error), "%s", msg);
	}
	vm->pid = 0;
	set_state(vm, "stopped");
	save(d, vm, &e2);
	events_vm(d, "vm.state", vm);
	buf_free(&args);
	free(bin);
	return -1;
}

int vm_start(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	static const char *const from[] = {"stopped", NULL};

	if (transition(d, name, from, "starting", out, e) < 0) {
		if (e->code == ERR_BAD_STATE && strcmp(out->state, "running") == 0)
			return err_clear(e), 0;
		return err_wrap(e, "vm start %s", name);
	}
	if (boot(d, out, e) < 0)
		return err_wrap(e, "vm start %s", out->name);
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
		struct timespec ts;
		long long left;

		if (store_vm_get(d->store, id, &vm, NULL) < 0 ||
		    (strcmp(vm.state, "stopping") && strcmp(vm.state, "running"))) {
			gone = 1;
			break;
		}
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		if (left > 200)
			left = 200; /* re-check even if a wakeup was missed */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->changed, &d->lock, &ts);
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
	if (drv->request_stop(&c, &(struct vmm_proc){(pid_t)vm->pid, vm->pid_start}, &ignore) == 0 &&
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

int vm_stop(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	static const char *const from[] = {"running", NULL};

	if (transition(d, name, from, "stopping", out, e) < 0) {
		if (e->code == ERR_BAD_STATE && strcmp(out->state, "stopped") == 0)
			return err_clear(e), 0;
		return err_wrap(e, "vm stop %s", name);
	}
	if (escalate(d, out, e) < 0)
		return err_wrap(e, "vm stop %s", out->name);
	return store_vm_get(d->store, out->id, out, e);
}

int vm_restart(struct daemon *d, const char *name, struct store_vm *out, struct err *e)
{
	if (vm_stop(d, name, out, e) < 0)
		return -1;
	return vm_start(d, out->id, out, e);
}

int vm_kill(struct daemon *d, const char *name, int sig, struct store_vm *out, struct err *e)
{
	static const char *const from[] = {"running", "stopping", NULL};
	int ends = sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT ||
		   sig == SIGHUP;

	if (transition(d, name, from, ends ? "stopping" : "running", out, e) < 0)
		return err_wrap(e, "vm kill %s", name);
	if (!proc_alive((pid_t)out->pid, out->pid_start))
		return err_set(e, ERR_BAD_STATE, "vm kill %s: the VMM is not running", out->name);
	snprintf(out->last_exit, sizeof(out->last_exit), "killed with %s by the user",
		 strsignal(sig));
	save(d, out, NULL);
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
	else if (vm_start(j->d, j->id, &vm, &e) < 0)
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

void vm_on_exit(struct daemon *d, const char *vm_id, int status)
{
	struct store_vm vm;
	struct vm_files f;
	const struct vmm_driver *drv;
	int reboot = 0;
	char how[64];

	/* The network goes before the VM reads as stopped: a `vm stop` that has
	 * returned, or a `vm start` that follows, must not race with it. */
	if (store_vm_get(d->store, vm_id, &vm, NULL) == 0)
		vmnet_down(d, &vm);
	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, vm_id, &vm, NULL) < 0) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	drv = vm_driver(&vm);
	vm_files_get(d, &vm, &f);
	if (status < 0)
		snprintf(how, sizeof(how), "exited");
	else if (status > 128)
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", status - 128,
			 strsignal(status - 128));
	else
		snprintf(how, sizeof(how), "exited with status %d", status);
	if (strcmp(vm.state, "stopping") == 0) {
		if (!vm.last_exit[0])
			snprintf(vm.last_exit, sizeof(vm.last_exit), "stopped by banger");
	} else if (strcmp(vm.state, "running") == 0 && status == 0 &&
		   console_has(f.console_log, "Kernel panic")) {
		snprintf(vm.last_error, sizeof(vm.last_error),
			 "the guest kernel panicked (see %s)", f.console_log);
		snprintf(vm.last_exit, sizeof(vm.last_exit), "guest kernel panic");
	} else if (strcmp(vm.state, "running") == 0 && status == 0 &&
		   (strcmp(drv->name, "firecracker") == 0 ||
		    console_has(f.console_log, "reboot: Restarting system"))) {
		/* Firecracker exits 0 when the guest reboots; QEMU too with -no-reboot. */
		reboot = 1;
		snprintf(vm.last_exit, sizeof(vm.last_exit), "guest rebooted");
	} else if (strcmp(vm.state, "running") == 0 && status == 0) {
		snprintf(vm.last_exit, sizeof(vm.last_exit), "guest powered off");
	} else if (strcmp(vm.state, "running") == 0) {
		snprintf(vm.last_error, sizeof(vm.last_error), "%s %s (see %s)", drv->name, how,
			 f.console_log);
		snprintf(vm.last_exit, sizeof(vm.last_exit), "%s %s", drv->name, how);
	}
	log_info(d->log, "vm exited", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_I("status", status), LF_S("stage", vm.state), LF_S("error", vm.last_error));
	drv->cleanup(&(struct vmm_config){.vm_id = vm.id, .api_sock = f.api_sock});
	vm.pid = 0;
	vm.pid_start = 0;
	set_state(&vm, "stopped");
	store_vm_update(d->store, &vm, NULL);
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	events_vm(d, "vm.state", &vm);
	if (reboot)
		reboot_restart(d, &vm);
}

void vm_on_poweroff(struct daemon *d, const char *vm_id)
{
	struct store_vm vm;

	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, vm_id, &vm, NULL) < 0 || strcmp(vm.state, "running") != 0) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* Firecracker on x86 keeps running after a guest poweroff: end it. */
	set_state(&vm, "stopping");
	snprintf(vm.last_exit, sizeof(vm.last_exit), "guest powered off");
	store_vm_update(d->store, &vm, NULL);
	pthread_mutex_unlock(&d->lock);
	log_info(d->log, "guest powered off, stopping its VMM", LF_S("vm", vm.name),
		 LF_S("vm_id", vm.id));
	if (proc_alive((pid_t)vm.pid, vm.pid_start))
		kill((pid_t)vm.pid, SIGTERM);
}
