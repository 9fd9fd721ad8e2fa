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

/* The probe cache (d->bins): a binary is run for its version once per file
 * (path, device, inode, size, mtime), not once per create. */
void vm_bin_cache_init(struct daemon *d);
void vm_bin_cache_done(struct daemon *d);

/* What identifies the binary a driver would run now (path, device, inode,
 * size, mtime), for a saved state to be resumed only by the same VMM. */
void vm_bin_identity(struct daemon *d, const char *driver, char *out, size_t len);

/* The binary for a driver (malloc'd path or name). */
char *vm_bin_path(struct daemon *d, const char *driver);

#endif
