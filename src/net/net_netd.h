/*
 * net_netd: the command line of the privileged helper banger-netd, and the
 * checks that make it refuse anything that is not banger's.
 *
 * Pure: parsing and validation only, no I/O, so the refusals are unit-tested.
 * banger_netd.c runs what this accepts; net_ops.c builds the same command
 * lines from the daemon's side.
 *
 *	banger-netd bridge-up NAME CIDR
 *	banger-netd bridge-down NAME
 *	banger-netd tap-add TAP BRIDGE UID
 *	banger-netd tap-del TAP
 *	banger-netd nat-add VMID TAP IP BRIDGE CIDR
 *	banger-netd nat-del VMID
 *	banger-netd nat-list
 */
#ifndef BANGER_NET_NET_NETD_H
#define BANGER_NET_NET_NETD_H

#include "util/err.h"

/* Exit codes of banger-netd. 1 is left to sudo, which uses it for its own
 * failures (no password, not allowed), so the daemon can tell them apart. */
enum net_netd_exit {
	NETD_EXIT_OK = 0,
	NETD_EXIT_REFUSED = 2, /* usage error or a name/address that is not banger's */
	NETD_EXIT_FAILED = 3,  /* the host operation failed */
};

enum net_netd_op {
	NETD_BRIDGE_UP,
	NETD_BRIDGE_DOWN,
	NETD_TAP_ADD,
	NETD_TAP_DEL,
	NETD_NAT_ADD,
	NETD_NAT_DEL,
	NETD_NAT_LIST,
};

/* A checked request; strings point into the argv given to the parser. */
struct net_netd_req {
	enum net_netd_op op;
	const char *bridge;
	const char *cidr;
	const char *tap;
	const char *vm_id;
	const char *ip;
	unsigned uid;
};

/* Parses and checks argv[0..argc) (the words after the program name).
 * ERR_INVALID with a message naming the refused word when the operation is
 * unknown, the argument count is wrong, an interface is not banger's
 * (net_name_is_*), a subnet is not a private /16../30, an address is not a
 * guest address of the given subnet, a VM id is not 16 hex characters, or a
 * uid is not a number. sudo_uid (NULL when not run through sudo) restricts
 * tap-add to taps owned by the calling user. */
int net_netd_parse(int argc, char *const argv[], const char *sudo_uid, struct net_netd_req *req,
		   struct err *e);

/* The operation's word ("bridge-up", ...). */
const char *net_netd_op_name(enum net_netd_op op);

/* The usage text (several lines, ends with a newline). */
const char *net_netd_usage(void);

#endif
