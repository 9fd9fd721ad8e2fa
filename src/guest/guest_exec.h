/*
 * guest_exec: carry out a mount plan and write the per-boot files.
 *
 * The I/O half of guest_plan and guest_files, shared by banger-init (in the
 * guest, as PID 1) and banger-init-plan (the host test harness, run as root
 * in a private mount namespace). libc only.
 */
#ifndef BANGER_GUEST_EXEC_H
#define BANGER_GUEST_EXEC_H

#include "guest/guest_cmdline.h"
#include "guest/guest_plan.h"
#include "util/err.h"

/* Runs the steps of p in order. Stops at the first failure: returns -1 with
 * e saying which step ("mount the overlay disk /dev/vdb at /mnt/overlay:
 * ...") and leaves earlier mounts in place (the caller powers off or, on the
 * host, the mount namespace goes away). */
int guest_exec_plan(const struct guest_plan *p, struct err *e);

/* Renders the files for c (guest_files) and writes them under root: each
 * file is written to a temporary name and renamed into place, so a symlink
 * at the path (e.g. a dangling /etc/resolv.conf) is replaced, never followed.
 * Missing parent directories are created. Returns 0 or -1 with e set. */
int guest_exec_files(const char *root, const struct guest_cmdline *c, struct err *e);

#endif
