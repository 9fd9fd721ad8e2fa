/*
 * image_guest: the guest essentials written into a bootstrapped tree.
 *
 * The same defaults the runtime bundle's rootfs gets (scripts/runtime-bundle.sh):
 * no identity baked in (empty machine-id, no SSH host keys: each VM gets its
 * own), sshd for root by key only and started early, defaults for what
 * banger-init rewrites at every boot (hostname, hosts, resolv.conf), the
 * boot trimming (README "What banger turns off in the guest") and
 * banger-ready.service, which prints the ready line bangerd waits for.
 */
#ifndef BANGER_IMAGE_IMAGE_GUEST_H
#define BANGER_IMAGE_IMAGE_GUEST_H

#include "util/err.h"

/* Checks that the tree at `tree` has what a guest needs (/sbin/init, sshd)
 * and writes the defaults above. Files that exist are
 * rewritten in place, keeping their owner and mode; symlinks are replaced,
 * never followed. */
int image_guest_configure(const char *tree, struct err *e);

#endif
