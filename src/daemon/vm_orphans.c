/*
 * vm_orphans: at startup, ends VMM processes that no VM record owns.
 *
 * A VMM's pid is recorded only once its driver has configured and booted
 * it (the VM is still "starting" then, until its guest is ready), so a
 * daemon killed in between leaves a VMM that no record names (the VM
 * itself reconciles to stopped). Every VMM banger starts has its API
 * socket, <run_dir>/<vm id>.sock, in its argv (Firecracker --api-sock,
 * QEMU -qmp unix:...), so such processes are found by their command line:
 * one that is not the recorded VMM of a VM that has one is killed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/vm.h"
#include "util/buf.h"
#include "util/proc.h"

#define ORPHANS_MAX 256

struct orphan_scan {
	size_t prefix_len;
	size_t n;
	struct {
		pid_t pid;
		long long start;
		char id[17];
	} found[ORPHANS_MAX];
};

static void orphan_seen(pid_t pid, const char *hit, void *ctx)
{
	struct orphan_scan *s = ctx;
	const char *id = hit + s->prefix_len;

	if (s->n == ORPHANS_MAX || strspn(id, "0123456789abcdef") != 16 || id[16] != '.')
		return;
	s->found[s->n].pid = pid;
	s->found[s->n].start = proc_start_time(pid);
	snprintf(s->found[s->n].id, sizeof(s->found[s->n].id), "%.16s", id);
	s->n++;
}

/* 1 if pid is the VMM recorded for VM id. */
static int recorded(struct daemon *d, const char *id, pid_t pid, long long start)
{
	struct store_vm vm;

	return store_vm_get(d->store, id, &vm, NULL) == 0 && vm_state_has_vmm(vm.state) &&
	       vm.pid == pid && vm.pid_start == start;
}

/* SIGKILL through a pidfd opened while the process still had the start time
 * we saw, so a pid recycled meanwhile is never signalled. */
static void kill_exact(pid_t pid, long long start)
{
	int fd = proc_pidfd(pid);

	if (fd < 0)
		return;
	if (proc_start_time(pid) == start)
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

void vm_kill_orphans(struct daemon *d)
{
	struct orphan_scan *s = xcalloc(1, sizeof(*s));
	char *prefix = xasprintf("%s/", d->paths.run_dir);

	s->prefix_len = strlen(prefix);
	if (proc_each_with_arg(prefix, orphan_seen, s) < 0)
		log_warn(d->log, "cannot scan /proc for orphaned VMM processes");
	for (size_t i = 0; i < s->n; i++) {
		if (s->found[i].start < 0 ||
		    recorded(d, s->found[i].id, s->found[i].pid, s->found[i].start))
			continue;
		log_warn(d->log, "killing a VMM process that no VM record owns",
			 LF_S("vm_id", s->found[i].id), LF_I("pid", s->found[i].pid));
		kill_exact(s->found[i].pid, s->found[i].start);
	}
	free(prefix);
	free(s);
}
