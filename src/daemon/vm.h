/*
 * vm: the VM operations behind the API (create, start, stop, kill, delete,
 * set) and the reaction to a VMM process exiting.
 *
 * Every change is written to the database before the host is touched, with
 * a transitional state (creating, starting, stopping, deleting), so that after
 * a crash reconcile() can finish or roll back what was under way.
 */
#ifndef BANGER_DAEMON_VM_H
#define BANGER_DAEMON_VM_H

#include <jansson.h>
#include <signal.h>

#include "daemon/daemon.h"
#include "store/store.h"
#include "vmm/vmm.h"

struct stream;

/* Files of one VM, derived from its id. */
struct vm_files {
	char dir[512];
	char overlay[600];
	char work[600];
	char console_log[600];
	char metrics[600];
	char host_key[600];
	char api_sock[108];
};

void vm_files_get(const struct daemon *d, const struct store_vm *vm, struct vm_files *f);

struct vm_create_req {
	const char *name;  /* NULL: generate */
	const char *image; /* NULL: "default" */
	long long vcpu, memory_mib; /* 0: config default */
	const char *disk_size;      /* NULL: config default */
	const char *vmm;            /* NULL: config */
	int nat;
	int no_start;
};

/* progress may be NULL; it receives {"progress": "..."} lines. */
int vm_create(struct daemon *d, const struct vm_create_req *req, struct stream *progress,
	      struct store_vm *out, struct err *e);
int vm_start(struct daemon *d, const char *name, struct store_vm *out, struct err *e);
int vm_stop(struct daemon *d, const char *name, struct store_vm *out, struct err *e);
int vm_restart(struct daemon *d, const char *name, struct store_vm *out, struct err *e);
int vm_kill(struct daemon *d, const char *name, int sig, struct store_vm *out, struct err *e);
int vm_delete(struct daemon *d, const char *name, int force, struct err *e);

struct vm_set_req {
	long long vcpu, memory_mib; /* 0: unchanged */
	const char *disk_size;      /* NULL: unchanged */
	int nat;                    /* -1: unchanged */
};
int vm_set(struct daemon *d, const char *name, const struct vm_set_req *req, struct store_vm *out,
	   struct err *e);

/* Called by the supervisor when a VMM process ended. status is the exit
 * status (128+signal when killed), or -1 when unknown (not our child). */
void vm_on_exit(struct daemon *d, const char *vm_id, int status);
/* Called by the supervisor when the guest printed its power-down line. */
void vm_on_poweroff(struct daemon *d, const char *vm_id);

/* Startup: re-adopt live VMMs, mark dead ones stopped, finish or roll back
 * half-done operations. */
void vm_reconcile(struct daemon *d);

/* Stops every running VM's supervision without stopping the VMs (daemon
 * shutdown: VMs keep running and are re-adopted next time). */

/* `vm stats`: live figures of one VM (see vm_stats.c). flush: ask
 * Firecracker for fresh counters first (it logs two lines each time). */
int vm_stats(struct daemon *d, const char *name, int flush, json_t **out, struct err *e);

/* JSON view of a VM for the API (everything `vm show` prints). */
json_t *vm_to_json(const struct daemon *d, const struct store_vm *vm);

/* The driver a VM uses. */
const struct vmm_driver *vm_driver(const struct store_vm *vm);

/* Signal names <-> numbers for `vm kill --signal`. */
int vm_signal_parse(const char *s, int *sig, struct err *e);

#endif
