/*
 * vm_usage: the disk usage of each VM's overlay and work disk, kept in
 * memory so that `vm list` answers without a stat() per VM.
 *
 * The figures are measured when a VM's view is built one at a time (vm
 * show, create, every state change's event), and for every VM by a
 * background worker every VM_USAGE_REFRESH_MS (a running guest fills its
 * disks between state changes). A list shows the last figures: at most
 * that old for a running VM, exact for a stopped one.
 */
#ifndef BANGER_DAEMON_VM_USAGE_H
#define BANGER_DAEMON_VM_USAGE_H

#include "daemon/daemon.h"
#include "store/store.h"

#define VM_USAGE_REFRESH_MS 5000

struct vm_disk_usage {
	long long ov_apparent, ov_allocated; /* overlay.ext4 */
	long long wk_apparent, wk_allocated; /* work.ext4 */
};

/* Sets up d->usage, empty. */
void vm_usage_init(struct daemon *d);
/* Measures every VM in the store once, then starts the refresh worker
 * (workers.h: shutdown's cancel ends it). Call after the store is open. */
int vm_usage_start(struct daemon *d, struct err *e);
/* Frees d->usage; after workers_drain. Accepts an uninitialised d. */
void vm_usage_done(struct daemon *d);

/* Measures vm's disks now (two stat) and keeps the figures. A missing
 * file counts 0. */
void vm_usage_measure(struct daemon *d, const struct store_vm *vm, struct vm_disk_usage *u);
/* The kept figures of vm; measured now only if there are none yet (a VM
 * made since the last refresh by a path that built no view). */
void vm_usage_get(struct daemon *d, const struct store_vm *vm, struct vm_disk_usage *u);

#endif
