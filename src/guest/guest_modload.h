/*
 * guest_modload: load the initrd's kernel modules with finit_module(2).
 * Runs in the guest only (PID 1, before any device exists). libc only.
 */
#ifndef BANGER_GUEST_MODLOAD_H
#define BANGER_GUEST_MODLOAD_H

#include "util/err.h"

/* Loads every module listed in moddir/modules.dep, dependencies first
 * (guest_modules_order). mmio_params ("device=..." or "") is passed to the
 * virtio_mmio module; the kernel ignores it with a log line when that module
 * lacks cmdline device support. A module that is already loaded or built in
 * is fine. No modules.dep (a kernel with everything built in) loads nothing.
 * Sets *loaded to the number of modules loaded. Returns 0 or -1 with e set. */
int guest_modload_all(const char *moddir, const char *mmio_params, int *loaded, struct err *e);

#endif
