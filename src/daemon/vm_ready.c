/*
 * vm_ready: from "VMM up" to "guest ready", and the console watch's
 * verdicts at any time.
 *
 * A start records the VMM's pid while the VM stays "starting"; the
 * supervisor feeds the console to console_scan and calls vm_on_console:
 * the guest's "banger: ready in <s> s" line (banger-ready.service, ordered
 * after sshd) makes it "running"; a panic, lockup, RCU stall, banger-init
 * or sshd failure at any time goes to last_error with the line and the log.
 * One waiter per boot (the request's thread, or a worker with --no-wait or
 * after a daemon restart) ends the boot when the guest will not come up:
 * trouble on the console, the VMM gone, or boot_timeout passed. It then
 * stops the VMM (the exit handler takes the network down) and the VM is
 * "stopped" with last_error saying why; the error the user gets adds the
 * last console lines.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/vm.h"
#include "daemon/vm_console.h"
#include "daemon/workers.h"
#include "util/buf.h"
#include "util/proc.h"

#define READY_TAIL_LINES 6

long long vm_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ready_ctx {
	const struct console_event *ev;
	long long t0_ms;
	int mine;
};

static int ready_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct ready_ctx *c = arg;
	long long ms = vm_realtime_ms() - c->t0_ms;

	(void)busy;
	(void)e;
	if (vm->state != VM_STATE_STARTING || vm->pid <= 0)
		return VM_EDIT_SKIP; /* already running (a re-scan), or on its way down */
	vm->state = VM_STATE_RUNNING;
	vm->ready_ms = ms > 0 ? ms : 1;
	vm->guest_ready_ms = c->ev->seconds >= 0 ? (long long)(c->ev->seconds * 1000 + 0.5) : 0;
	c->mine = 1;
	return 0;
}

/* last_error for trouble on the console, e.g.
 * `CPU lockup on the console: "watchdog: BUG: soft lockup - ..." (see PATH)`. */
static void trouble_text(const struct console_event *ev, const char *log, char *out, size_t len)
{
	snprintf(out, len, "%s on the console: \"%.300s\" (see %s)", console_kind_name(ev->kind),
		 ev->line, log);
}

struct trouble_ctx {
	struct daemon *d;
	const struct console_event *ev;
	int mine;
};

static int trouble_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct trouble_ctx *c = arg;
	struct vm_files f;
	char text[sizeof(vm->last_error)];

	(void)busy;
	(void)e;
	if (!vm_state_has_vmm(vm->state) || vm->state == VM_STATE_STOPPING || vm->pid <= 0)
		return VM_EDIT_SKIP;
	vm_files_get(c->d, vm, &f);
	trouble_text(c->ev, f.console_log, text, sizeof(text));
	if (strcmp(vm->last_error, text) == 0)
		return VM_EDIT_SKIP; /* the same line seen again (a re-scan) */
	snprintf(vm->last_error, sizeof(vm->last_error), "%s", text);
	c->mine = 1;
	return 0;
}

void vm_on_console(struct daemon *d, const char *vm_id, const struct console_event *ev,
		   long long t0_ms)
{
	struct store_vm vm;
	struct err e;

	if (ev->kind == CONSOLE_READY) {
		struct ready_ctx c = {ev, t0_ms, 0};

		if (vm_update(d, vm_id, ready_edit, &c, &vm, &e) == 0 && c.mine)
			log_info(d->log, "vm ready", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
				 LF_I("ready_ms", vm.ready_ms),
				 LF_I("guest_ready_ms", vm.guest_ready_ms));
	} else if (console_kind_fatal(ev->kind) && ev->kind != CONSOLE_SHUTDOWN) {
		struct trouble_ctx c = {d, ev, 0};

		if (vm_update(d, vm_id, trouble_edit, &c, &vm, &e) == 0 && c.mine)
			log_warn(d->log, "guest trouble on the console", LF_S("vm", vm.name),
				 LF_S("vm_id", vm.id), LF_S("kind", console_kind_name(ev->kind)),
				 LF_S("line", ev->line), LF_S("stage", vm_state_name(vm.state)));
	}
}

enum wait_end { W_READY, W_TROUBLE, W_GONE, W_TIMEOUT, W_SHUTDOWN, W_MISSING };

/* Waits, under d->lock, until the VM is no longer a healthy "starting". */
static enum wait_end wait_ready(struct daemon *d, const char *id, long long deadline,
				struct store_vm *vm)
{
	enum wait_end end;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		long long left;

		if (store_vm_get(d->store, id, vm, NULL) < 0) {
			end = W_MISSING;
			break;
		}
		vm_view_locked(d, vm); /* an exit the database refused reads as stopped */
		end = vm->state == VM_STATE_RUNNING    ? W_READY
		      : vm->state != VM_STATE_STARTING ? W_GONE
		      : vm->last_error[0]	       ? W_TROUBLE
		      : workers_cancelled(d)	       ? W_SHUTDOWN
						       : W_TIMEOUT;
		left = deadline - mono_ms();
		if (end != W_TIMEOUT || left <= 0)
			break;
		vm_wait_changed_locked(d, deadline);
	}
	pthread_mutex_unlock(&d->lock);
	return end;
}

struct abort_ctx {
	long long pid;
	const char *why;
	int mine;
};

static int abort_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct abort_ctx *c = arg;

	(void)busy;
	(void)e;
	if (vm->state != VM_STATE_STARTING || vm->pid != c->pid)
		return VM_EDIT_SKIP;
	vm->state = VM_STATE_STOPPING;
	snprintf(vm->last_error, sizeof(vm->last_error), "boot failed: %s", c->why);
	snprintf(vm->last_exit, sizeof(vm->last_exit), "boot failed, stopped by banger");
	c->mine = 1;
	return 0;
}

/* Ends a boot that will not come up: SIGTERM, then SIGKILL. The guest is
 * not asked (it may be hung, or have no init to hear ctrl-alt-del); the
 * exit handler takes the tap and rules down and records "stopped". */
static void abort_boot(struct daemon *d, const struct store_vm *vm, const char *why)
{
	struct abort_ctx c = {vm->pid, why, 0};
	struct store_vm out;
	struct err e;

	if (vm_update(d, vm->id, abort_edit, &c, &out, &e) < 0 || !c.mine)
		return;
	log_warn(d->log, "stopping a VM whose guest did not become ready", LF_S("vm", vm->name),
		 LF_S("vm_id", vm->id), LF_S("error", why));
	if (proc_alive((pid_t)vm->pid, vm->pid_start))
		kill((pid_t)vm->pid, SIGTERM);
	if (vm_wait_stopped(d, vm->id, 3000) == 0)
		return;
	if (proc_alive((pid_t)vm->pid, vm->pid_start))
		kill((pid_t)vm->pid, SIGKILL);
	if (vm_wait_stopped(d, vm->id, 5000) < 0)
		log_error(d->log, "VMM process did not exit", LF_S("vm", vm->name),
			  LF_I("pid", vm->pid));
}

/* The one-line reason a boot failed, from how the wait ended and what the
 * console of this boot shows. */
static void fail_reason(struct daemon *d, enum wait_end end, const struct store_vm *vm,
			const struct console_scan *scan, struct buf *out)
{
	const struct console_event *t = vm_console_trouble(scan);

	if (end == W_TIMEOUT) {
		buf_printf(out, "the guest did not become ready within %lld s (boot_timeout)",
			   d->cfg.boot_timeout);
		if (t)
			buf_printf(out, "; the console shows a %s: \"%.300s\"",
				   console_kind_name(t->kind), t->line);
		else
			buf_printf(out, "; the console shows no ready line and no error");
	} else if (end == W_TROUBLE && t) {
		buf_printf(out, "the guest will not become ready: %s: \"%.300s\"",
			   console_kind_name(t->kind), t->line);
	} else if (end == W_TROUBLE) {
		buf_printf(out, "the guest will not become ready: %s", vm->last_error);
	} else {
		buf_printf(out, "the VM is %s before its guest was ready: %s",
			   vm_state_name(vm->state),
			   vm->last_error[0]  ? vm->last_error
			   : vm->last_exit[0] ? vm->last_exit
					      : "it was stopped");
		if (t && !strstr(out->data, t->line))
			buf_printf(out, "; the console shows a %s: \"%.300s\"",
				   console_kind_name(t->kind), t->line);
	}
}

/* The deadline, as mono_ms, of a boot recorded at started_at. */
long long vm_boot_deadline(struct daemon *d, const struct store_vm *vm)
{
	long long spent = vm_realtime_ms() - vm->started_at * 1000;

	if (spent < 0)
		spent = 0;
	return mono_ms() + d->cfg.boot_timeout * 1000 - spent;
}

/* A ready line the supervisor has not reported yet (the wait timed out in
 * the moment between): the scan of the boot decides. */
static int late_ready(struct daemon *d, const struct store_vm *vm, const struct console_scan *scan,
		      struct store_vm *out)
{
	if (scan->ready.kind != CONSOLE_READY)
		return 0;
	vm_on_console(d, vm->id, &scan->ready, vm->started_at * 1000);
	return wait_ready(d, vm->id, mono_ms() + 1000, out) == W_READY;
}

int vm_boot_wait(struct daemon *d, const char *id, long long deadline, struct store_vm *out,
		 struct err *e)
{
	struct console_scan *scan;
	struct store_vm vm;
	struct vm_files f;
	struct buf why = BUF_INIT, msg = BUF_INIT;
	enum wait_end end = wait_ready(d, id, deadline, &vm);

	if (end == W_READY) {
		*out = vm;
		return 0;
	}
	if (end == W_MISSING)
		return err_set(e, ERR_NOT_FOUND, "the VM was deleted while it was starting");
	*out = vm;
	if (end == W_SHUTDOWN) {
		/* The start did its part (VMM up, recorded): the drain must not wait
		 * up to boot_timeout for the guest. The next daemon re-adopts the VM
		 * and waits for it. */
		log_info(d->log, "not waiting for the guest: the daemon is shutting down",
			 LF_S("vm", vm.name), LF_S("vm_id", vm.id));
		return 0;
	}
	vm_files_get(d, &vm, &f);
	scan = xmalloc(sizeof(*scan));
	vm_console_scan_boot(f.console_log, scan);
	if (end == W_TIMEOUT && late_ready(d, &vm, scan, out)) {
		free(scan);
		return 0;
	}
	fail_reason(d, end, &vm, scan, &why);
	buf_printf(&msg, "%s; last console lines:", why.data);
	vm_console_tail_text(scan, READY_TAIL_LINES, &msg);
	err_set(e, ERR_VMM, "%s", msg.data);
	err_log(e, f.console_log);
	if (end == W_TIMEOUT)
		err_hint(e,
			 "read the whole console with `banger vm logs %s`; a slow host may need a "
			 "larger boot_timeout (config.toml or BANGER_BOOT_TIMEOUT)",
			 vm.name);
	else
		err_hint(e, "read the whole console with `banger vm logs %s`", vm.name);
	log_error(d->log, "vm boot failed", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		  LF_S("error", why.data), LF_S("path", f.console_log));
	if (end == W_TROUBLE || end == W_TIMEOUT) {
		char *line = xasprintf("%s (see %s)", why.data, f.console_log);

		abort_boot(d, &vm, line);
		free(line);
		store_vm_get(d->store, vm.id, out, NULL);
	}
	free(scan);
	buf_free(&why);
	buf_free(&msg);
	return -1;
}

struct follow_job {
	struct daemon *d;
	char id[17];
	long long deadline;
};

static void follow_worker(void *arg)
{
	struct follow_job *j = arg;
	struct store_vm vm;
	struct err e;

	err_clear(&e);
	vm_boot_wait(j->d, j->id, j->deadline, &vm, &e); /* logs a failure itself */
	free(j);
}

int vm_boot_follow(struct daemon *d, struct store_vm *vm, int no_wait, long long deadline,
		   struct err *e)
{
	struct follow_job *j;
	char name[128];
	struct err e2;

	if (!no_wait)
		return vm_boot_wait(d, vm->id, deadline, vm, e);
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	snprintf(j->id, sizeof(j->id), "%s", vm->id);
	j->deadline = deadline;
	snprintf(name, sizeof(name), "wait for %s to become ready", vm->name);
	if (workers_spawn(d, name, follow_worker, j, &e2) == 0)
		return 0;
	/* Only at shutdown (or out of threads): the VM stays "starting" and
	 * the next daemon's reconcile waits for it. */
	log_warn(d->log, "cannot wait for the guest in the background", LF_S("vm", vm->name),
		 LF_S("error", e2.msg));
	free(j);
	return 0;
}
