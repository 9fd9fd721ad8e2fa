/*
 * guest_net: banger-init brings eth0 up with the VM's address before
 * switch_root, so the guest is on the network the moment systemd starts and
 * sshd does not wait for systemd-networkd (which banger's images ship
 * disabled; see README "What banger turns off in the guest"). IPv4 only,
 * through the classic SIOC* ioctls: libc only, no netlink code in PID 1.
 * The .network file banger-init also writes (guest_files.h) describes the
 * same configuration, so networkd, when a user enables it, agrees with it.
 */
#ifndef BANGER_GUEST_NET_H
#define BANGER_GUEST_NET_H

#include "guest/guest_cmdline.h"
#include "util/err.h"

#define GUEST_NET_IFACE "eth0"

/* When c has banger.ip: waits up to timeout_ms for eth0 (its driver probes
 * as virtio_net loads), sets its address and prefix, brings it up and adds
 * the default route via banger.gw when given. Also brings lo up. Does
 * nothing when banger.ip is absent. Returns 0, or -1 with e set. */
int guest_net_up(const struct guest_cmdline *c, int timeout_ms, struct err *e);

#endif
