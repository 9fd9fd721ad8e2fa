/*
 * vm_update: the one way a VM record changes (see vm.h), and the per-VM
 * facts that live only in memory, under d->lock:
 *   busy     an operation holds the VM without a state of its own (vm set
 *            growing the disk, vm delete removing files): state changes are
 *            refused meanwhile;
 *   pending  a VMM exit that the database refused to record (full disk).
 *            It is retried before every later write, shown by vm_to_json,
 *            and found again by reconcile after a restart (dead pid).
 *
 * Invariant: a record is written only from a copy read under the same hold
 * of d->lock, so no write can undo another one that happened in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/events.h"
#include "daemon/vm.h"
#include "util/buf.h"

struct vm_mark {
	char id[17];
	const char *busy; /* static text, or NULL */
	int pending;	  /* an exit not yet written */
	struct vm_exit exit;
};

static struct vm_mark *mark_find(struct daemon *d, const char *id)
{
	for (size_t i = 0; i < d->nmarks; i++)
		if (strcmp(d->marks[i].id, id) == 0)
			return &d->marks[i];
	return NULL;
}

static struct vm_mark *mark_get(struct daemon *d, const char *id)
{
	struct vm_mark *m = mark_find(d, id);

	if (m)
		return m;
	d->marks = xrealloc(d->marks, (d->nmarks + 1) * sizeof(*d->marks));
	m = &d->marks[d->nmarks++];
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	return m;
}

/* Drops a mark that holds nothing; frees the table when it is empty, so a
 * daemon that drained its work leaves nothing allocated. */
static void mark_put(struct daemon *d, struct vm_mark *m)
{
	if (m->busy || m->pending)
		return;
	*m = d->marks[--d->nmarks];
	if (d->nmarks == 0) {
		free(d->marks);
		d->marks = NULL;
	}
}

const char *vm_busy_locked(struct daemon *d, const char *id)
{
	struct vm_mark *m = mark_find(d, id);

	return m ? m->busy : NULL;
}

int vm_busy_claim_locked(struct daemon *d, const struct store_vm *vm, const char *what,
			 struct err *e)
{
	struct vm_mark *m = mark_get(d, vm->id);

	if (m->busy) {
		err_set(e, ERR_BAD_STATE, "the VM is busy: %s", m->busy);
		err_hint(e, "wait for the other command to finish, then try again");
		mark_put(d, m);
		return -1;
	}
	m->busy = what;
	return 0;
}

void vm_busy_release(struct daemon *d, const char *id)
{
	struct vm_mark *m;

	pthread_mutex_lock(&d->lock);
	m = mark_find(d, id);
	if (m) {
		m->busy = NULL;
		mark_put(d, m);
	}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
}

/* Writes what an exit changes: only onto the record of the process that
 * ended, and only if nothing recorded its end since. */
static int exit_apply(struct store_vm *vm, const struct vm_exit *x)
{
	if (vm->pid != x->pid || !vm_state_is_active(vm->state) || vm->state == VM_STATE_CREATING ||
	    vm->state == VM_STATE_DELETING)
		return VM_EDIT_SKIP;
	vm->state = x->suspended ? VM_STATE_SUSPENDED : VM_STATE_STOPPED;
	vm->pid = 0;
	vm->pid_start = 0;
	if (x->last_exit[0])
		snprintf(vm->last_exit, sizeof(vm->last_exit), "%s", x->last_exit);
	if (x->last_error[0])
		snprintf(vm->last_error, sizeof(vm->last_error), "%s", x->last_error);
	return 0;
}

void vm_exit_pending_locked(struct daemon *d, const struct store_vm *vm, const struct vm_exit *x)
{
	struct vm_mark *m = mark_get(d, vm->id);

	m->pending = 1;
	m->exit = *x;
}

int vm_exit_is_pending_locked(struct daemon *d, const char *id)
{
	struct vm_mark *m = mark_find(d, id);

	return m && m->pending;
}

void vm_view_locked(struct daemon *d, struct store_vm *vm)
{
	struct vm_mark *m = mark_find(d, vm->id);

	if (m && m->pending)
		exit_apply(vm, &m->exit);
}

int vm_view_differs_locked(struct daemon *d, const char *id)
{
	struct vm_mark *m = mark_find(d, id);

	return m && m->pending;
}

/* Retries the pending exit of vm (a record read under the lock). Returns
 * -1 when it still cannot be written: nothing else may be decided on a
 * record that says "running" about a process that is gone. */
static int pending_flush(struct daemon *d, struct store_vm *vm, struct err *e)
{
	struct vm_mark *m = mark_find(d, vm->id);
	struct store_vm next = *vm;

	if (!m || !m->pending)
		return 0;
	if (exit_apply(&next, &m->exit) == 0) {
		if (store_vm_update(d->store, &next, e) < 0) {
			log_error(d->log, "cannot record the VMM's exit (will retry)",
				  LF_S("vm", vm->name), LF_S("vm_id", vm->id),
				  LF_S("error", e->msg));
			return err_wrap(e, "record the end of its VMM process");
		}
		log_info(d->log, "recorded the VMM's exit", LF_S("vm", vm->name),
			 LF_S("vm_id", vm->id));
		*vm = next;
		pthread_cond_broadcast(&d->changed);
	}
	m->pending = 0;
	mark_put(d, m);
	return 0;
}

/* Retries every other pending exit: whichever write comes first after the
 * disk has room again records them all. */
static void pending_retry_others(struct daemon *d, const char *skip_id)
{
	/* Backwards: pending_flush may move the last mark into slot i. */
	for (size_t i = d->nmarks; i-- > 0;) {
		struct vm_mark *m = &d->marks[i];
		struct store_vm vm;
		struct err e;

		if (!m->pending || strcmp(m->id, skip_id) == 0)
			continue;
		if (store_vm_get(d->store, m->id, &vm, &e) == 0) {
			pending_flush(d, &vm, &e);
		} else if (e.code == ERR_NOT_FOUND) {
			m->pending = 0;
			mark_put(d, m);
		}
	}
}

static void refuse_move(struct err *e, const struct store_vm *vm, enum vm_state to,
			const char *busy)
{
	if (busy) {
		err_set(e, ERR_BAD_STATE, "the VM is busy: %s", busy);
		err_hint(e, "wait for the other command to finish, then try again");
		return;
	}
	vm_refuse(e, vm); /* for its hint */
	snprintf(e->msg, sizeof(e->msg), "the VM is %s and cannot become %s from there",
		 vm_state_name(vm->state), vm_state_name(to));
}

int vm_update_locked(struct daemon *d, const char *name, vm_edit_fn edit, void *arg,
		     struct store_vm *out, struct err *e)
{
	struct store_vm vm;
	const char *busy;
	enum vm_state from;
	int rc;

	if (store_vm_get(d->store, name, &vm, e) < 0)
		return -1;
	pending_retry_others(d, vm.id);
	if (pending_flush(d, &vm, e) < 0)
		return -1;
	from = vm.state;
	busy = vm_busy_locked(d, vm.id);
	rc = edit(&vm, busy, arg, e);
	if (rc < 0 || rc == VM_EDIT_SKIP) {
		if (rc == VM_EDIT_SKIP)
			*out = vm;
		return rc < 0 ? -1 : 0;
	}
	if (vm.state != from && (busy || !vm_state_can(from, vm.state))) {
		enum vm_state to = vm.state;

		vm.state = from;
		refuse_move(e, &vm, to, busy);
		return -1;
	}
	if (store_vm_update(d->store, &vm, e) < 0) {
		log_error(d->log, "cannot save the VM's record", LF_S("vm", vm.name),
			  LF_S("vm_id", vm.id), LF_S("stage", vm_state_name(vm.state)),
			  LF_S("error", e->msg));
		return -1;
	}
	pthread_cond_broadcast(&d->changed);
	*out = vm;
	return vm.state != from ? (from == VM_STATE_CREATING ? VM_UPD_CREATED : VM_UPD_STATE)
				: VM_UPD_FIELDS;
}

/* Writers publish after they release d->lock, so two of them can publish
 * in the other order than they wrote (a guest's ready line handled while
 * the start path still reports "booting"). Each event therefore carries the
 * record as it is when it is emitted, read and emitted under publish_lock:
 * the last event a VM gets always shows its latest state. */
void vm_update_publish(struct daemon *d, int rc, const struct store_vm *vm)
{
	const char *type = rc == VM_UPD_CREATED	 ? "vm.created"
			   : rc == VM_UPD_STATE	 ? "vm.state"
			   : rc == VM_UPD_FIELDS ? "vm.updated"
						 : NULL;
	struct store_vm now;

	if (!type)
		return;
	pthread_mutex_lock(&d->publish_lock);
	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, vm->id, &now, NULL) < 0)
		now = *vm;
	pthread_mutex_unlock(&d->lock);
	events_vm(d, type, &now);
	vm_ports_sync(d, &now); /* in event order: forwards open and close as the state goes */
	vm_mounts_sync(d, &now);
	pthread_mutex_unlock(&d->publish_lock);
}

int vm_update(struct daemon *d, const char *name, vm_edit_fn edit, void *arg, struct store_vm *out,
	      struct err *e)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = vm_update_locked(d, name, edit, arg, out, e);
	pthread_mutex_unlock(&d->lock);
	vm_update_publish(d, rc, out);
	return rc < 0 ? -1 : 0;
}

/* The edit behind a pending exit's retry path and vm_on_exit's fallback. */
int vm_exit_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	return exit_apply(vm, arg);
}

void vm_wait_changed_locked(struct daemon *d, long long deadline_ms)
{
	long long cap = mono_ms() + 200; /* re-check even if a wakeup was missed */
	struct timespec ts;

	mono_deadline_ts(deadline_ms < cap ? deadline_ms : cap, &ts);
	pthread_cond_timedwait(&d->changed, &d->lock, &ts);
}
