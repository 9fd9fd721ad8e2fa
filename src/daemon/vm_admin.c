/* vm_admin: delete, set, and reconcile after a daemon restart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/events.h"
#include "daemon/mapdns.h"
#include "daemon/ssh_keys.h"
#include "daemon/supervisor.h"
#include "daemon/vm.h"
#include "daemon/vm_net.h"
#include "storage/disk.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"
#include "util/size.h"

static int is_active(const struct store_vm *vm)
{
	return strcmp(vm->state, "stopped") != 0;
}

/* Removes the VM's files and record. It is in state "deleting". */
static int finish_delete(struct daemon *d, struct store_vm *vm, struct err *e)
{
	struct vm_files f;

	vm_files_get(d, vm, &f);
	vm_driver(vm)->cleanup(&(struct vmm_config){.vm_id = vm->id, .api_sock = f.api_sock});
	vmnet_down(d, vm);
	if (fs_rm_rf(f.dir, e) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	if (store_vm_delete(d->store, vm->id, e) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	ssh_known_hosts_sync(d, NULL);
	events_emit(d, "vm.deleted", json_pack("{s:s, s:s}", "name", vm->name, "id", vm->id));
	mapdns_publish(d);
	log_info(d->log, "vm deleted", LF_S("vm", vm->name), LF_S("vm_id", vm->id));
	return 0;
}

int vm_delete(struct daemon *d, const char *name, int force, struct err *e)
{
	struct store_vm vm;

	if (store_vm_get(d->store, name, &vm, e) < 0)
		return err_wrap(e, "vm delete %s", name);
	if (is_active(&vm)) {
		if (!force) {
			err_set(e, ERR_BAD_STATE, "vm delete %s: the VM is %s", vm.name, vm.state);
			err_hint(e, "stop it first (banger vm stop %s) or use --force", vm.name);
			return -1;
		}
		if (vm_stop(d, vm.id, &vm, e) < 0)
			return err_wrap(e, "vm delete %s", vm.name);
	}
	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, vm.id, &vm, e) < 0 || is_active(&vm)) {
		pthread_mutex_unlock(&d->lock);
		if (e->code == ERR_OK)
			err_set(e, ERR_BAD_STATE, "the VM was started again meanwhile");
		return err_wrap(e, "vm delete %s", name);
	}
	snprintf(vm.state, sizeof(vm.state), "deleting");
	if (store_vm_update(d->store, &vm, e) < 0) {
		pthread_mutex_unlock(&d->lock);
		return err_wrap(e, "vm delete %s", name);
	}
	pthread_mutex_unlock(&d->lock);
	if (finish_delete(d, &vm, e) < 0)
		return err_wrap(e, "vm delete %s", vm.name);
	return 0;
}

int vm_set(struct daemon *d, const char *name, const struct vm_set_req *req, struct store_vm *out,
	   struct err *e)
{
	int offline = req->vcpu || req->memory_mib || req->disk_size;
	long long disk = 0;
	struct vm_files f;
	char *log = NULL;
	int ret = -1;

	if (store_vm_get(d->store, name, out, e) < 0)
		return err_wrap(e, "vm set %s", name);
	if (req->vcpu && (req->vcpu < 1 || req->vcpu > 32))
		return err_set(e, ERR_INVALID, "vm set %s: --vcpu must be between 1 and 32", name);
	if (req->memory_mib && (req->memory_mib < 128 || req->memory_mib > 1024 * 1024))
		return err_set(e, ERR_INVALID, "vm set %s: --memory must be between 128 and 1048576 MiB",
			       name);
	if (req->disk_size && size_parse(req->disk_size, &disk, e) < 0)
		return err_wrap(e, "vm set %s: --disk-size", name);
	if (offline && is_active(out)) {
		err_set(e, ERR_BAD_STATE, "vm set %s: the VM is %s; memory, vCPU and disk size change "
				      "only while it is stopped", out->name, out->state);
		err_hint(e, "run `banger vm stop %s` first", out->name);
		return -1;
	}
	vm_files_get(d, out, &f);
	log = xasprintf("%s/disk.log", f.dir);
	if (disk && disk != out->disk_size) {
		if (disk_grow(f.work, disk, log, e) < 0) {
			err_wrap(e, "vm set %s", out->name);
			goto out;
		}
		out->disk_size = disk;
		log_info(d->log, "work disk grown", LF_S("vm", out->name), LF_I("bytes", disk));
	}
	if (req->vcpu)
		out->vcpu = req->vcpu;
	if (req->memory_mib)
		out->memory_mib = req->memory_mib;
	if (req->nat >= 0 && req->nat != out->nat) {
		out->nat = req->nat;
		if (strcmp(out->state, "running") == 0 && vmnet_set_nat(d, out, req->nat, e) < 0) {
			err_wrap(e, "vm set %s", out->name);
			goto out;
		}
	}
	pthread_mutex_lock(&d->lock);
	ret = store_vm_update(d->store, out, e);
	pthread_mutex_unlock(&d->lock);
	if (ret == 0)
		events_vm(d, "vm.updated", out);
out:
	free(log);
	return ret;
}

/* One VM found in a transitional or running state at startup. */
static void reconcile_one(struct daemon *d, struct store_vm *vm)
{
	struct vm_files f;
	int alive = vm->pid > 0 && proc_alive((pid_t)vm->pid, vm->pid_start);
	struct err e;

	vm_files_get(d, vm, &f);
	if (strcmp(vm->state, "creating") == 0 || strcmp(vm->state, "deleting") == 0) {
		log_warn(d->log, "finishing an interrupted operation", LF_S("vm", vm->name),
			 LF_S("stage", vm->state));
		snprintf(vm->state, sizeof(vm->state), "deleting");
		if (finish_delete(d, vm, &e) < 0)
			log_error(d->log, "cleanup failed", LF_S("vm", vm->name), LF_S("error", e.msg));
		return;
	}
	if (alive && strcmp(vm->state, "starting") != 0) {
		log_info(d->log, "re-adopted running VM", LF_S("vm", vm->name),
			 LF_I("pid", vm->pid));
		if (sup_watch(d, vm->id, (pid_t)vm->pid, 0,
			      vm_driver(vm)->poweroff_keeps_running ? f.console_log : NULL, &e) < 0)
			log_error(d->log, "cannot watch VMM", LF_S("vm", vm->name),
				  LF_S("error", e.msg));
		if (strcmp(vm->state, "stopping") == 0)
			kill((pid_t)vm->pid, SIGTERM); /* finish the interrupted stop */
		return;
	}
	if (alive) {
		/* Interrupted mid-boot: its configuration is unknown, start over. */
		kill((pid_t)vm->pid, SIGKILL);
		snprintf(vm->last_error, sizeof(vm->last_error),
			 "the daemon stopped while this VM was starting; start it again");
	} else if (strcmp(vm->state, "stopped") != 0) {
		snprintf(vm->last_exit, sizeof(vm->last_exit), "exited while the daemon was down");
	}
	vm_driver(vm)->cleanup(&(struct vmm_config){.vm_id = vm->id, .api_sock = f.api_sock});
	if (strcmp(vm->state, "stopped") != 0)
		log_info(d->log, "vm found stopped", LF_S("vm", vm->name),
			 LF_S("stage", vm->state));
	vm->pid = 0;
	vm->pid_start = 0;
	snprintf(vm->state, sizeof(vm->state), "stopped");
	pthread_mutex_lock(&d->lock);
	store_vm_update(d->store, vm, NULL);
	pthread_mutex_unlock(&d->lock);
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
	for (size_t i = 0; i < n; i++)
		reconcile_one(d, &vms[i]);
	free(vms);
	vmnet_reconcile(d);
	ssh_known_hosts_sync(d, NULL);
}
