/*
 * supervisor: notices at once when a VMM process ends, and when a
 * Firecracker guest powers off (the process stays alive then).
 *
 * One thread waits with epoll on a pidfd per VMM (no polling loop) and on
 * inotify for the VMs' console logs, where it looks for the kernel's
 * "reboot: Power down" line. It calls vm_on_exit / vm_on_poweroff from its
 * own thread, with no lock held.
 */
#ifndef BANGER_DAEMON_SUPERVISOR_H
#define BANGER_DAEMON_SUPERVISOR_H

#include <sys/types.h>

#include "daemon/daemon.h"

int sup_start(struct daemon *d, struct err *e);
void sup_stop(struct daemon *d);

/* Starts watching the VMM of vm_id. is_child: we spawned it and can reap it
 * for its exit status. console_log: scanned for the power-down line from its
 * current end (NULL: don't). */
int sup_watch(struct daemon *d, const char *vm_id, pid_t pid, int is_child,
	      const char *console_log, struct err *e);

#endif
