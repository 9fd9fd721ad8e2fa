/*
 * net_host: the host changes behind banger's networking: the bridge, one tap
 * per VM, NAT rules in banger's own nftables table, and IPv4 forwarding.
 *
 * Privilege: every function here that changes the host needs CAP_NET_ADMIN
 * (root). They run either inside bangerd when it is root, or inside the
 * privileged helper banger-netd (see net_ops.h for the choice). They run host
 * tools (`ip`, `nft`) from argv arrays through util/spawn and are idempotent:
 * calling one twice leaves the host as calling it once does.
 *
 * NAT layout (`nft list table ip banger`):
 *	table ip banger {
 *		chain postrouting { type nat hook postrouting priority srcnat; ... }
 *		chain forward { type filter hook forward priority filter; ... }
 *	}
 * Each VM owns exactly three rules, all with the comment "banger-vm:<id>":
 *	postrouting: ip saddr IP oifname != BRIDGE masquerade
 *	forward:     iifname TAP ip saddr IP accept
 *	forward:     oifname TAP ip daddr IP ct state established,related accept
 * The table is deleted when its last rule goes.
 *
 * IPv4 forwarding (per network namespace) must be on for NAT. banger turns it
 * on when it adds NAT rules and forwarding was off, records that in a file
 * under run_dir, and turns it back off when the last rule goes only if it was
 * banger that turned it on. A host that had forwarding on keeps it on.
 * NAT changes hold an flock on run_dir/nat.lock.<netns> so that removing the
 * last VM's rules never races with adding another's.
 *
 * Implemented in net_host.c (bridge, taps) and net_nat.c (NAT, forwarding).
 */
#ifndef BANGER_NET_NET_HOST_H
#define BANGER_NET_NET_HOST_H

#include <stddef.h>

#include "net/net_addr.h"
#include "util/err.h"

#define NET_NFT_TABLE "banger"
#define NET_RULE_TAG "banger-vm:"

/* What banger's networking is configured as. Strings are borrowed. */
struct net_conf {
	const char *bridge;	 /* bridge name, e.g. "banger0" (config `bridge_name`) */
	const char *subnet;	 /* CIDR, e.g. "172.30.77.0/24" (config `subnet`) */
	const char *run_dir;	 /* where the ip_forward marker lives (NULL: no marker,
				  * forwarding is then never turned back off) */
	const char *log_path;	 /* host tools' output is appended here (NULL: discard) */
	const char *helper_path; /* banger-netd, used by net_ops when use_helper */
	int use_helper;		 /* net_ops: 1 = run `sudo -n helper_path ...` */
};

/* A list of names or VM ids (malloc'd strings). */
struct net_list {
	char **items;
	size_t n;
};

void net_list_add(struct net_list *l, const char *s);
void net_list_free(struct net_list *l);
/* 1 if s is in l. */
int net_list_has(const struct net_list *l, const char *s);

/* Creates the bridge c->bridge if absent, gives it the subnet's first address
 * (and no other IPv4 address) and sets it up. Before creating it, refuses with
 * ERR_CONFLICT when the subnet overlaps a route of the host's main table that
 * does not belong to the bridge; the message names the route and the hint the
 * `subnet` key. ERR_CONFLICT too when a non-bridge link has the name. */
int net_bridge_ensure(const struct net_conf *c, struct err *e);

/* Deletes the bridge. A missing bridge is not an error. */
int net_bridge_remove(const struct net_conf *c, struct err *e);

/* Creates the persistent single-queue tap `tap` owned by owner_uid, attaches
 * it to c->bridge and sets it up. ERR_NOT_FOUND (and no tap made) when the
 * bridge does not exist. An existing tap with that name and owner is
 * kept (a VMM may hold it); one with another owner is recreated. */
int net_tap_create(const struct net_conf *c, const char *tap, unsigned owner_uid, struct err *e);

/* Parking, for the path of `vm stop` (a tap's delete waits for an RCU
 * barrier, 15-25 ms here): park sets the tap down (it stays a port of the
 * bridge) and renames it `spare` (a NET_SPARE_PREFIX name), all in microseconds, so
 * that the VM's tap is gone at once; the spare is then deleted in the
 * background or unparked (renamed to a VM's tap name, attached, set up) by
 * the next start. park returns 1 (nothing done) when there is no such tap. */
int net_tap_park(const struct net_conf *c, const char *tap, const char *spare, struct err *e);
int net_tap_unpark(const struct net_conf *c, const char *spare, const char *tap, struct err *e);

/* Deletes the tap. A missing tap is not an error. */
int net_tap_delete(const struct net_conf *c, const char *tap, struct err *e);

/* Fills out with the names of existing links that look like banger taps
 * (net_name_is_tap) or parked ones (net_name_is_spare). out must be zeroed; free with
 * net_list_free. */
int net_tap_list(struct net_list *out, struct err *e);

/* Installs the NAT and forward rules of one VM (see the top of this file),
 * replacing any earlier rules of that VM in the same nft transaction, and
 * turns IPv4 forwarding on if needed. ip must be a guest address of
 * c->subnet. */
int net_nat_add(const struct net_conf *c, const char *vm_id, const char *tap, const char *ip,
		struct err *e);

/* Removes every rule of that VM. When none of any VM is left, deletes the
 * table and turns forwarding back off if banger turned it on. No rules is
 * not an error. */
int net_nat_remove(const struct net_conf *c, const char *vm_id, struct err *e);

/* Fills out with the VM ids that have rules (each once). out must be zeroed. */
int net_nat_list(const struct net_conf *c, struct net_list *out, struct err *e);

#endif
