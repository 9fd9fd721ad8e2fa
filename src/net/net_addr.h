/*
 * net_addr: banger's address plan, pure logic with no I/O.
 *
 * IPv4 subnets in CIDR form, the bridge address (the subnet's first host),
 * guest address allocation, overlap checks, and the names and MAC addresses
 * banger derives from a VM id. The privileged helper uses the predicates here
 * to refuse anything that is not banger's (names, subnets, addresses, ids).
 *
 * Addresses are held as uint32_t in host byte order.
 */
#ifndef BANGER_NET_NET_ADDR_H
#define BANGER_NET_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * The default subnet. 172.30.77.0/24 sits in the middle of 172.16.0.0/12,
 * which home routers (192.168.x), corporate VPNs (mostly 10.x) and Docker
 * (172.17-172.2x from the bottom of the range, 192.168.x later) use least;
 * the third octet 77 is far from the .0/.1 that most tools pick first.
 * Configurable with the `subnet` key; banger checks for collisions anyway.
 */
#define NET_DEFAULT_SUBNET "172.30.77.0/24"
#define NET_DEFAULT_BRIDGE "banger0"

#define NET_ADDR_MAX 16	  /* "255.255.255.255" + NUL */
#define NET_CIDR_MAX 19	  /* "255.255.255.255/32" + NUL */
#define NET_IFNAME_MAX 16 /* IFNAMSIZ: 15 characters + NUL */
#define NET_MAC_MAX 18	  /* "06:aa:bb:cc:dd:ee" + NUL */
#define NET_VM_ID_LEN 16  /* a VM id is 16 lower-case hex characters */
#define NET_TAP_PREFIX "bgr"
/* A parked tap, waiting to be deleted or reused (net_tap_park). */
#define NET_SPARE_PREFIX "bgs"
#define NET_BRIDGE_PREFIX "banger"

/* Smallest and largest prefix banger accepts: a /16 is plenty of VMs; a /30
 * still has the bridge plus one guest. */
#define NET_PREFIX_MIN 16
#define NET_PREFIX_MAX 30

struct net_subnet {
	uint32_t net; /* network address, host bits zero */
	int prefix;   /* 0..32 */
};

/* Parses a dotted-quad "a.b.c.d" strictly (no leading zeros beyond "0", no
 * spaces). ERR_INVALID naming the text on failure. */
int net_addr_parse(const char *s, uint32_t *out, struct err *e);
void net_addr_format(uint32_t addr, char out[NET_ADDR_MAX]);

/* Parses "a.b.c.d/n". Host bits must be zero ("172.30.77.5/24" is an error
 * whose hint gives the network address). Any prefix 0..32 parses; use
 * net_subnet_check for banger's own rules. */
int net_subnet_parse(const char *s, struct net_subnet *out, struct err *e);
void net_subnet_format(const struct net_subnet *s, char out[NET_CIDR_MAX]);

/* Checks a subnet is usable for banger: prefix NET_PREFIX_MIN..MAX and inside
 * RFC 1918 private space. The error names the config key `subnet`. */
int net_subnet_check(const struct net_subnet *s, struct err *e);

/* 1 if s lies wholly inside 10/8, 172.16/12 or 192.168/16. */
int net_subnet_is_private(const struct net_subnet *s);

uint32_t net_subnet_mask(const struct net_subnet *s);
uint32_t net_subnet_broadcast(const struct net_subnet *s);
/* The bridge's address: the subnet's first host address (.1 in a /24). */
uint32_t net_subnet_bridge(const struct net_subnet *s);

/* 1 if addr is inside s (network and broadcast included). */
int net_subnet_contains(const struct net_subnet *s, uint32_t addr);
/* 1 if addr may be given to a guest: inside s and not the network, bridge or
 * broadcast address. */
int net_subnet_is_guest(const struct net_subnet *s, uint32_t addr);
/* 1 if the two subnets share any address. */
int net_subnet_overlaps(const struct net_subnet *a, const struct net_subnet *b);

/* Picks the lowest guest address of s that is not in used[0..n). Entries of
 * used outside s are ignored. ERR_CONFLICT "subnet full" when none is left. */
int net_alloc_guest(const struct net_subnet *s, const uint32_t *used, size_t n, uint32_t *out,
		    struct err *e);

/* The same on strings, for the daemon: subnet "172.30.77.0/24", used
 * addresses as dotted quads (unparseable or empty entries are ignored). */
int net_alloc_guest_str(const char *subnet, const char *const *used, size_t n,
			char out[NET_ADDR_MAX], struct err *e);

/* 1 if id is exactly NET_VM_ID_LEN lower-case hex characters. */
int net_vm_id_valid(const char *id);

/* The VM's tap: "bgr" + the id's first 12 characters (15 characters, the
 * kernel's limit). id must be valid (net_vm_id_valid). */
void net_tap_name(const char *vm_id, char out[NET_IFNAME_MAX]);

/* The guest's MAC: 06 (locally administered, unicast) then the id's first
 * 10 hex characters as 5 bytes, so it is stable across restarts. */
void net_mac(const char *vm_id, char out[NET_MAC_MAX]);

/* Name predicates: [a-z0-9] only, 1..15 characters, and
 *   tap:    "bgr" followed by at least one character;
 *   bridge: "banger" followed by zero or more characters (default banger0);
 *   banger: either of the two.
 * The privileged helper refuses every other interface name. */
int net_name_is_tap(const char *name);
/* spare: "bgs" followed by at least one character (a parked tap). */
int net_name_is_spare(const char *name);
int net_name_is_bridge(const char *name);
int net_name_is_banger(const char *name);

#endif
