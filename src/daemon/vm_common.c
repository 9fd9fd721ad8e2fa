/* vm_common: VM file layout, JSON view, state refusals, driver lookup,
 * signal names. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/vm.h"
#include "daemon/vm_usage.h"
#include "util/buf.h"
#include "util/fs.h"

void vm_files_get(const struct daemon *d, const struct store_vm *vm, struct vm_files *f)
{
	snprintf(f->dir, sizeof(f->dir), "%s/%s", d->paths.vms_dir, vm->id);
	snprintf(f->overlay, sizeof(f->overlay), "%s/overlay.ext4", f->dir);
	snprintf(f->work, sizeof(f->work), "%s/work.ext4", f->dir);
	snprintf(f->console_log, sizeof(f->console_log), "%s/firecracker.log", f->dir);
	snprintf(f->metrics, sizeof(f->metrics), "%s/metrics.json", f->dir);
	snprintf(f->host_key, sizeof(f->host_key), "%s/ssh_host_ed25519_key", f->dir);
	/* Short and under the run dir: sun_path holds 107 bytes whatever HOME is. */
	snprintf(f->api_sock, sizeof(f->api_sock), "%s/%s.sock", d->paths.run_dir, vm->id);
}

const struct vmm_driver *vm_driver(const struct store_vm *vm)
{
	const struct vmm_driver *drv = vmm_driver_find(vm->vmm);

	return drv ? drv : &vmm_firecracker;
}

/* The JSON of vm (a view: vm_view_locked applied), with its image's name
 * and disk usage given: building it reads no file and no table. */
static json_t *view_json(struct daemon *d, const struct store_vm *vm, const char *image,
			 const struct vm_disk_usage *u)
{
	struct vm_files f;
	char dns[80];
	json_t *o;

	vm_files_get(d, vm, &f);
	snprintf(dns, sizeof(dns), "%s.vm", vm->name);
	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:s, s:s, s:s, s:s, s:I, s:I}",
		      "id", vm->id, "name", vm->name, "state", vm_state_name(vm->state), "vcpu",
		      (json_int_t)vm->vcpu, "memory_mib", (json_int_t)vm->memory_mib, "disk_size",
		      (json_int_t)vm->disk_size, "overlay_size", (json_int_t)vm->overlay_size,
		      "nat", vm->nat, "address", vm->address, "mac", vm->mac, "vmm", vm->vmm,
		      "accel", vm->accel, "pid", (json_int_t)vm->pid, "created_at",
		      (json_int_t)vm->created_at);
	json_object_set_new(o, "started_at", json_integer(vm->started_at));
	json_object_set_new(o, "uptime_s",
			    json_integer(vm->state == VM_STATE_RUNNING && vm->started_at
						 ? (json_int_t)(time(NULL) - vm->started_at)
						 : 0));
	json_object_set_new(o, "last_error", json_string(vm->last_error));
	json_object_set_new(o, "last_exit", json_string(vm->last_exit));
	json_object_set_new(o, "image_id", json_string(vm->image_id));
	json_object_set_new(o, "image", json_string(image));
	json_object_set_new(o, "dns_name", json_string(dns));
	json_object_set_new(o, "dir", json_string(f.dir));
	json_object_set_new(o, "console_log", json_string(f.console_log));
	json_object_set_new(o, "metrics_file", json_string(f.metrics));
	json_object_set_new(o, "api_socket", json_string(f.api_sock));
	json_object_set_new(o, "overlay", json_pack("{s:s, s:I, s:I}", "path", f.overlay,
						    "apparent_bytes", (json_int_t)u->ov_apparent,
						    "allocated_bytes", (json_int_t)u->ov_allocated));
	json_object_set_new(o, "work_disk", json_pack("{s:s, s:I, s:I}", "path", f.work,
						      "apparent_bytes", (json_int_t)u->wk_apparent,
						      "allocated_bytes", (json_int_t)u->wk_allocated));
	return o;
}

/* The view shows what the daemon knows, not only what the database holds:
 * a VMM exit that the database refused to record (full disk) reads as
 * stopped. That knowledge, rather than a check of the pid, because it
 * changes at the moment the daemon has handled the exit (network down,
 * last_exit known); a pid check would show "stopped" before that.
 * One VM's view measures its disks now: it is what `vm show` prints. */
json_t *vm_to_json(struct daemon *d, const struct store_vm *rec)
{
	struct store_vm view = *rec;
	struct store_image img;
	struct vm_disk_usage u;

	pthread_mutex_lock(&d->lock);
	vm_view_locked(d, &view);
	pthread_mutex_unlock(&d->lock);
	vm_usage_measure(d, &view, &u);
	return view_json(d, &view,
			 store_image_get(d->store, view.image_id, &img, NULL) == 0 ? img.name : "",
			 &u);
}

static const char *image_name(const struct store_image *imgs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(imgs[i].id, id) == 0)
			return imgs[i].name;
	return "";
}

/* The list: two SELECTs whatever the number of VMs, one hold of d->lock
 * for every VM's view, disk usage from memory (vm_usage.h), no file read. */
int vm_list_json(struct daemon *d, json_t **out, struct err *e)
{
	struct store_vm *vms = NULL;
	struct store_image *imgs = NULL;
	size_t n = 0, nimg = 0;
	json_t *arr;

	if (store_vm_list(d->store, &vms, &n, e) < 0 ||
	    store_image_list(d->store, &imgs, &nimg, e) < 0) {
		free(vms);
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++)
		vm_view_locked(d, &vms[i]);
	pthread_mutex_unlock(&d->lock);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		struct vm_disk_usage u;

		vm_usage_get(d, &vms[i], &u);
		json_array_append_new(arr, view_json(d, &vms[i],
						     image_name(imgs, nimg, vms[i].image_id), &u));
	}
	free(vms);
	free(imgs);
	*out = arr;
	return 0;
}

int vm_refuse(struct err *e, const struct store_vm *vm)
{
	const char *n = vm->name;

	err_set(e, ERR_BAD_STATE, "the VM is %s", vm_state_name(vm->state));
	switch (vm->state) {
	case VM_STATE_CREATING:
		err_hint(e, "it is still being created: wait for `banger vm create` to finish");
		break;
	case VM_STATE_DELETING:
		err_hint(e, "it is being deleted; make a new one with `banger vm create`");
		break;
	case VM_STATE_STARTING:
		err_hint(e, "wait for it to finish starting (`banger vm show %s`), then try again", n);
		break;
	case VM_STATE_STOPPING:
		err_hint(e, "wait for it to stop (`banger vm show %s`), then try again", n);
		break;
	case VM_STATE_RUNNING:
		err_hint(e, "stop it first: banger vm stop %s", n);
		break;
	case VM_STATE_STOPPED:
		err_hint(e, "start it first: banger vm start %s", n);
		break;
	default:
		break;
	}
	return -1;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
	{"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
	{"CONT", SIGCONT}, {"ABRT", SIGABRT}, {"SEGV", SIGSEGV},
};

int vm_signal_parse(const char *s, int *sig, struct err *e)
{
	const char *n = s && strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;

	for (size_t i = 0; n && i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(n, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	err_set(e, ERR_INVALID, "unknown signal \"%s\"", s ? s : "");
	err_hint(e, "use one of TERM, KILL, INT, QUIT, HUP, USR1, USR2, STOP, CONT, ABRT, SEGV");
	return -1;
}
