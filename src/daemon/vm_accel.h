/*
 * vm_accel: QEMU acceleration choice for a VM.
 */
#ifndef BANGER_DAEMON_VM_ACCEL_H
#define BANGER_DAEMON_VM_ACCEL_H

#include <stddef.h>

/* want: "auto" | "kvm" | "tcg" (BANGER_QEMU_ACCEL overrides config). Writes
 * "kvm" or "tcg" into out and a reason for the log into why. */
void vm_accel_choose(const char *want, char *out, size_t len, char *why, size_t wlen);

#endif
