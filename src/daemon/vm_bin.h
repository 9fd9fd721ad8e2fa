/*
 * vm_bin: which VMM a VM uses and where its binary is.
 *
 * vmm = "auto" picks Firecracker when its binary is found (firecracker_bin,
 * the runtime bundle, PATH, in that order), else QEMU.
 */
#ifndef BANGER_DAEMON_VM_BIN_H
#define BANGER_DAEMON_VM_BIN_H

#include <stddef.h>

#include "daemon/daemon.h"

/* Resolves want (NULL: config's vmm) to "firecracker" or "qemu" and checks
 * the binary is usable; the error says what to install or configure. */
int vm_bin_choose(struct daemon *d, const char *want, char *out, size_t len, struct err *e);

/* The binary for a driver (malloc'd path or name). */
char *vm_bin_path(struct daemon *d, const char *driver);

#endif
