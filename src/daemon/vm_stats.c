/* vm_stats: `vm stats`, measured from the host without entering the guest:
 * the VMM process's CPU and memory from /proc, the disks' apparent and
 * allocated sizes, and Firecracker's own block/net counters. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/vm.h"
#include "util/fs.h"
#include "util/proc.h"

/* CPU percent of pid over a short interval (100% = one host core). */
static double cpu_percent(pid_t pid, long long *rss)
{
	long long t0, t1, r;
	long long m0 = mono_ms(), m1;
	long hz = sysconf(_SC_CLK_TCK);

	if (proc_cpu_mem(pid, &t0, &r) < 0)
		return -1;
	nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
	if (proc_cpu_mem(pid, &t1, rss) < 0)
		return -1;
	m1 = mono_ms();
	if (m1 <= m0 || hz <= 0)
		return 0;
	return 100.0 * (double)(t1 - t0) / (double)hz / ((double)(m1 - m0) / 1000.0);
}

static json_t *disk(const char *path, long long configured)
{
	long long ap = 0, al = 0;

	fs_sizes(path, &ap, &al, NULL);
	return json_pack("{s:s, s:I, s:I, s:I}", "path", path, "configured_bytes",
			 (json_int_t)configured, "apparent_bytes", (json_int_t)ap,
			 "allocated_bytes", (json_int_t)al);
}

/* Block and net counters from the last metrics line (deltas since the
 * line before it, as Firecracker writes them). */
static json_t *vmm_metrics(const struct store_vm *vm, const struct vm_files *f, int flush)
{
	const struct vmm_driver *drv = vm_driver(vm);
	json_t *m = NULL, *out, *v;
	const char *k;

	if (!drv->read_metrics)
		return json_null();
	if (flush && vm->state == VM_STATE_RUNNING && drv->flush_metrics)
		drv->flush_metrics(f->api_sock, NULL);
	if (drv->read_metrics(f->metrics, &m, NULL) < 0)
		return json_null();
	out = json_object();
	json_object_foreach(m, k, v)
	{
		if (!strncmp(k, "block", 5) || !strncmp(k, "net", 3) ||
		    !strcmp(k, "utc_timestamp_ms"))
			json_object_set(out, k, v);
	}
	json_decref(m);
	return out;
}

int vm_stats(struct daemon *d, const char *name, int flush, json_t **out, struct err *e)
{
	struct store_vm vm;
	struct vm_files f;
	long long rss = 0;
	double cpu = 0;
	int running;

	if (store_vm_get(d->store, name, &vm, e) < 0)
		return err_wrap(e, "vm stats %s", name);
	vm_files_get(d, &vm, &f);
	running = vm.state == VM_STATE_RUNNING && proc_alive((pid_t)vm.pid, vm.pid_start);
	if (running)
		cpu = cpu_percent((pid_t)vm.pid, &rss);
	*out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", vm.name, "state",
			 vm_state_name(vm.state), "uptime_s",
			 (json_int_t)(running && vm.started_at ? time(NULL) - vm.started_at : 0),
			 "pid", (json_int_t)(running ? vm.pid : 0), "vcpu", (json_int_t)vm.vcpu,
			 "memory_mib", (json_int_t)vm.memory_mib);
	json_object_set_new(*out, "cpu_percent", json_real(running && cpu >= 0 ? cpu : 0));
	json_object_set_new(*out, "rss_bytes", json_integer(running ? rss : 0));
	json_object_set_new(*out, "overlay", disk(f.overlay, vm.overlay_size));
	json_object_set_new(*out, "work_disk", disk(f.work, vm.disk_size));
	json_object_set_new(*out, "address", json_string(vm.address));
	json_object_set_new(*out, "nat", json_boolean(vm.nat));
	json_object_set_new(*out, "vmm", json_string(vm.vmm));
	json_object_set_new(*out, "vmm_metrics", vmm_metrics(&vm, &f, flush));
	return 0;
}
