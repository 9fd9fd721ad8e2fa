/* vm_autostart: at daemon start, bring back the VMs marked autostart. See vm.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vm.h"
#include "daemon/workers.h"
#include "util/buf.h"

/* What autostart does with a VM, by its state after reconcile. */
enum autostart_action {
	AUTOSTART_NONE,	 /* running, or on its way somewhere already */
	AUTOSTART_START, /* stopped: boot it; suspended: resume it (vm_start does either) */
};

static enum autostart_action autostart_action(const struct store_vm *vm)
{
	if (!vm->autostart)
		return AUTOSTART_NONE;
	switch (vm->state) {
	case VM_STATE_STOPPED:
	case VM_STATE_SUSPENDED:
		return AUTOSTART_START;
	default:
		/* Running VMs were re-adopted; transitional ones are being
		 * finished by reconcile or by a request. */
		return AUTOSTART_NONE;
	}
}

/* Records why autostart failed on a VM that is still stopped, so that
 * `vm show` says it even when the start failed before any boot. */
static int failed_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)e;
	if (vm->state != VM_STATE_STOPPED && vm->state != VM_STATE_SUSPENDED)
		return VM_EDIT_SKIP;
	snprintf(vm->last_error, sizeof(vm->last_error), "autostart: %s", (const char *)arg);
	return 0;
}

static void start_one(struct daemon *d, const struct store_vm *vm)
{
	struct store_vm out;
	struct err e, e2;

	err_clear(&e);
	log_info(d->log, "autostart: starting VM", LF_S("vm", vm->name), LF_S("vm_id", vm->id));
	/* no_wait: every VM boots at once; the boot is followed on a worker
	 * that records a failed boot in last_error like any start. */
	if (vm_start(d, vm->id, 1, &out, &e) == 0)
		return;
	log_error(d->log, "autostart failed", LF_S("vm", vm->name), LF_S("error", e.msg),
		  LF_S("hint", e.hint));
	vm_update(d, vm->id, failed_edit, e.msg, &out, &e2);
}

static void autostart_worker(void *arg)
{
	struct daemon *d = arg;
	struct store_vm *vms = NULL;
	size_t n = 0, tried = 0;
	struct err e;

	if (store_vm_list(d->store, &vms, &n, &e) < 0) {
		log_error(d->log, "autostart: cannot list VMs", LF_S("error", e.msg));
		return;
	}
	for (size_t i = 0; i < n && !workers_cancelled(d); i++) {
		switch (autostart_action(&vms[i])) {
		case AUTOSTART_START:
			start_one(d, &vms[i]);
			tried++;
			break;
		case AUTOSTART_NONE:
			break;
		}
	}
	if (tried)
		log_info(d->log, "autostart done", LF_I("vms", (long long)tried));
	free(vms);
}

void vm_autostart(struct daemon *d)
{
	struct err e;

	if (workers_spawn(d, "autostart", autostart_worker, d, &e) < 0)
		log_error(d->log, "autostart: cannot start its worker", LF_S("error", e.msg));
}
