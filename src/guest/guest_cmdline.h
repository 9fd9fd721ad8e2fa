/*
 * guest_cmdline: the kernel command line that bangerd hands to banger-init.
 *
 * This header is the contract between the daemon (which generates the
 * parameters) and the guest (which applies them on every boot, so `vm set`
 * takes effect at the next start). Parameters, all optional:
 *
 *   banger.hostname=NAME        hostname: letters, digits, '-' and '.', 1-63
 *                               chars, not starting or ending with '-' or '.'.
 *                               Written to /etc/hostname and as the 127.0.1.1
 *                               line of /etc/hosts.
 *   banger.ip=A.B.C.D/NN        static IPv4 address and prefix (1-32) of eth0,
 *                               written as a systemd-networkd file
 *                               /etc/systemd/network/10-banger-eth0.network.
 *                               Without it that file is removed.
 *   banger.gw=A.B.C.D           default gateway of eth0 (needs banger.ip).
 *   banger.dns=A.B.C.D[,A.B.C.D...]  up to GUEST_DNS_MAX name servers, written
 *                               to /etc/resolv.conf and the .network file.
 *   banger.init=PATH            program to exec after switch_root
 *                               (default /sbin/init); for debugging.
 *
 * Also honoured: every `virtio_mmio.device=...` parameter (added by
 * Firecracker) is handed to the virtio_mmio module when banger-init loads it
 * (the kernel only applies `module.param=` itself to built-in code).
 * Unknown `banger.*` keys are ignored so an older guest boots with a newer
 * daemon; a known key with a bad value is an error (the VM would otherwise
 * come up silently misconfigured). Parsing stops at `--` (the rest is for
 * init). Double quotes work as in the kernel: key="a b".
 */
#ifndef BANGER_GUEST_CMDLINE_H
#define BANGER_GUEST_CMDLINE_H

#include "util/err.h"

#include <stdbool.h>

#define GUEST_DNS_MAX 3
#define GUEST_HOSTNAME_MAX 63
#define GUEST_IPV4_STR 16 /* "255.255.255.255" + NUL */
#define GUEST_PATH_MAX 256
#define GUEST_MMIO_PARAMS_MAX 1024

/* The kernel parameter names, for the daemon's generator and the parser. */
#define GUEST_PARAM_HOSTNAME "banger.hostname"
#define GUEST_PARAM_IP "banger.ip"
#define GUEST_PARAM_GW "banger.gw"
#define GUEST_PARAM_DNS "banger.dns"
#define GUEST_PARAM_INIT "banger.init"
#define GUEST_PARAM_MMIO_DEVICE "virtio_mmio.device"

struct guest_cmdline {
	char hostname[GUEST_HOSTNAME_MAX + 1]; /* "" when not given */
	char ip[GUEST_IPV4_STR];	       /* "" when not given */
	int prefix;			       /* 1..32 when ip is set */
	char gw[GUEST_IPV4_STR];	       /* "" when not given */
	char dns[GUEST_DNS_MAX][GUEST_IPV4_STR];
	int ndns;
	char init[GUEST_PATH_MAX];		 /* never "" after parsing */
	char mmio_params[GUEST_MMIO_PARAMS_MAX]; /* "device=X device=Y" or "" */
};

/* Parses a kernel command line (the text of /proc/cmdline, trailing newline
 * allowed) into out, which is fully initialised first. Returns 0, or -1 with
 * e naming the offending parameter and what a valid value looks like. */
int guest_cmdline_parse(const char *text, struct guest_cmdline *out, struct err *e);

/* Validators shared with the parser; each returns true when s is valid. */
bool guest_cmdline_valid_hostname(const char *s);
bool guest_cmdline_valid_ipv4(const char *s);

#endif
