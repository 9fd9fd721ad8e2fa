/* vm_common: VM file layout, JSON view, state refusals, driver lookup,
 * signal names. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/vm.h"
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

/* The view shows what the daemon knows, not only what the database holds:
 * a VMM exit that the database refused to record (full disk) reads as
 * stopped. That knowledge, rather than a check of the pid, because it
 * changes at the moment the daemon has handled the exit (network down,
 * last_exit known); a pid check would show "stopped" before that. */
json_t *vm_to_json(struct daemon *d, const struct store_vm *rec)
{
	struct store_vm view = *rec, *vm = &view;
	struct vm_files f;
	long long ap = 0, al = 0, wap = 0, wal = 0;
	json_t *o;

	pthread_mutex_lock(&d->lock);
	vm_view_locked(d, vm);
	pthread_mutex_unlock(&d->lock);
	vm_files_get(d, vm, &f);
	fs_sizes(f.overlay, &ap, &al, NULL);
	fs_sizes(f.work, &wap, &wal, NULL);
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
	json_object_set_new(o, "ready_ms", json_integer(vm->ready_ms));
	json_object_set_new(o, "guest_ready_ms", json_integer(vm->guest_ready_ms));
	json_object_set_new(o, "last_error", json_string(vm->last_error));
	json_object_set_new(o, "last_exit", json_string(vm->last_exit));
	json_object_set_new(o, "image_id", json_string(vm->image_id));
	{
		struct store_image img;

		json_object_set_new(o, "image",
				    json_string(store_image_get(d->store, vm->image_id, &img, NULL) == 0
							? img.name
							: ""));
	}
	json_object_set_new(o, "dns_name", json_string(""));
	json_object_set_new(o, "dir", json_string(f.dir));
	json_object_set_new(o, "console_log", json_string(f.console_log));
	json_object_set_new(o, "metrics_file", json_string(f.metrics));
	json_object_set_new(o, "api_socket", json_string(f.api_sock));
	json_object_set_new(o, "overlay", json_pack("{s:s, s:I, s:I}", "path", f.overlay,
						    "apparent_bytes", (json_int_t)ap,
						    "allocated_bytes", (json_int_t)al));
	json_object_set_new(o, "work_disk", json_pack("{s:s, s:I, s:I}", "path", f.work,
						      "apparent_bytes", (json_int_t)wap,
						      "allocated_bytes", (json_int_t)wal));
	{
		char dns[80];

		snprintf(dns, sizeof(dns), "%s.vm", vm->name);
		json_object_set_new(o, "dns_name", json_string(dns));
	}
	return o;
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
