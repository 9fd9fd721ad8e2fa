/*
 * guest_boot: what only PID 1 in the initrd does: early mounts, waiting for
 * the disks, the kernel modules tree, switch_root, and failing loudly.
 * libc only (banger-init is linked -static).
 */
#ifndef BANGER_GUEST_BOOT_H
#define BANGER_GUEST_BOOT_H

#include "util/err.h"

#include <stddef.h>

/* Mounts proc on /proc, sysfs on /sys and devtmpfs on /dev (creating the
 * directories). Returns 0 or -1 with e set. */
int guest_boot_early_mounts(struct err *e);

/* Reads /proc/cmdline into buf (NUL-terminated). Returns 0 or -1. */
int guest_boot_read_cmdline(char *buf, size_t cap, struct err *e);

/* Waits until every path in devs exists (devtmpfs creates the nodes as the
 * drivers probe), polling for at most timeout_ms. On timeout returns -1 with
 * e listing the block devices that did appear. */
int guest_boot_wait_devices(const char *const *devs, size_t n, int timeout_ms, struct err *e);

/* Makes /lib/modules/<kver> exist in newroot so modprobe works in the guest:
 * the base image normally carries the full tree there. If it does not and
 * the initrd has /lib/modules/<kver>, that tree is bind-mounted and its path
 * written to keep (switch_root must not delete it); otherwise keep is "" and
 * a warning is printed. Never fails the boot. */
void guest_boot_modules_tree(const char *newroot, const char *kver, char *keep, size_t cap);

/* switch_root(8): moves /proc, /sys and /dev into newroot, deletes the
 * initramfs contents (except keep; only when / really is an initramfs), moves
 * newroot onto / and chroots into it. The caller then execs init. Returns 0
 * or -1 with e set. */
int guest_boot_switch_root(const char *newroot, const char *keep, struct err *e);

/* Prints "banger-init: " + fmt as one console line. */
void guest_boot_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints e as ONE line starting "banger-init: error: " on the console (kmsg as a
 * fallback) and resets the machine. A reset rather than a power-off: under
 * Firecracker on x86 a powered-off guest leaves the VMM running (a hung VM),
 * while a reset ends both Firecracker and QEMU -no-reboot. Never returns. */
void guest_boot_fail(const struct err *e) __attribute__((noreturn));

#endif
