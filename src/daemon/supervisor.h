/*
 * supervisor: notices at once when a VMM process ends, and when a
 * Firecracker guest powers off (the process stays alive then).
 *
 * One thread waits with epoll on a pidfd per VMM (no polling loop) and on
 * inotify for the VMs' console logs, which it feeds to console_scan
 * (vmm/console_scan.h) from the start of the boot: the guest's ready line,
 * panics, lockups, init and sshd failures go to vm_on_console, the kernel's
 * "reboot: Power down" line to vm_on_poweroff (drivers whose VMM outlives a
 * poweroff), the end of the process to vm_on_exit (after a last scan of the
 * console). It calls them from its own thread, with no lock held.
 */
#ifndef BANGER_DAEMON_SUPERVISOR_H
#define BANGER_DAEMON_SUPERVISOR_H

#include <sys/types.h>

#include "util/err.h"

#include "daemon/daemon.h"

int sup_start(struct daemon *d, struct err *e);
void sup_stop(struct daemon *d);

struct sup_target {
	const char *vm_id;
	pid_t pid;
	int is_child;		 /* we spawned it and can reap it for its exit status */
	const char *console_log; /* scanned from console_offset (NULL: not at all) */
	off_t console_offset;	 /* the start marker of the boot, or where to resume */
	int watch_poweroff;	 /* the driver's poweroff_keeps_running */
	long long t0_ms;	 /* realtime ms when the boot began, for the ready figure */
};

/* Starts watching a VMM. Called with d->lock held (it takes only its own
 * lock); the first scan of the console runs on the supervisor thread. */
int sup_watch(struct daemon *d, const struct sup_target *t, struct err *e);

#endif
