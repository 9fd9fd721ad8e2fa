/* net_addr: see net_addr.h. Pure functions; nothing here touches the host. */
#include "net/net_addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses one decimal octet at *p, advancing it. Rejects leading zeros so
 * "010.0.0.1" (octal to inet_aton) is not silently read as ten. */
static int parse_octet(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9' && digits < 4) {
		v = v * 10 + (unsigned)(*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && **p == '0'))
		return -1;
	*p = s;
	*out = v;
	return 0;
}

/* Parses a dotted quad at the start of s; *end points after it. */
static int parse_quad(const char *s, uint32_t *out, const char **end)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned o;

		if (i > 0 && *s++ != '.')
			return -1;
		if (parse_octet(&s, &o) < 0)
			return -1;
		a = (a << 8) | o;
	}
	*out = a;
	*end = s;
	return 0;
}

int net_addr_parse(const char *s, uint32_t *out, struct err *e)
{
	const char *end;

	if (!s || parse_quad(s, out, &end) < 0 || *end != '\0')
		return err_set(e, ERR_INVALID, "invalid IPv4 address \"%s\"", s ? s : "");
	return 0;
}

void net_addr_format(uint32_t a, char out[NET_ADDR_MAX])
{
	snprintf(out, NET_ADDR_MAX, "%u.%u.%u.%u", (a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255,
		 a & 255);
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int net_subnet_parse(const char *s, struct net_subnet *out, struct err *e)
{
	const char *p;
	uint32_t a;
	char *end;
	long prefix;

	if (!s || parse_quad(s, &a, &p) < 0 || *p != '/' || p[1] < '0' || p[1] > '9')
		goto bad;
	prefix = strtol(p + 1, &end, 10);
	if (*end != '\0' || prefix < 0 || prefix > 32 || (p[1] == '0' && p[2] != '\0'))
		goto bad;
	if (a & ~prefix_mask((int)prefix)) {
		char net[NET_ADDR_MAX];

		net_addr_format(a & prefix_mask((int)prefix), net);
		err_set(e, ERR_INVALID, "subnet \"%s\" has host bits set", s);
		err_hint(e, "use the network address: %s/%ld", net, prefix);
		return -1;
	}
	out->net = a;
	out->prefix = (int)prefix;
	return 0;
bad:
	err_set(e, ERR_INVALID, "invalid subnet \"%s\"", s ? s : "");
	err_hint(e, "write it in CIDR form, e.g. %s", NET_DEFAULT_SUBNET);
	return -1;
}

void net_subnet_format(const struct net_subnet *s, char out[NET_CIDR_MAX])
{
	char a[NET_ADDR_MAX];

	net_addr_format(s->net, a);
	snprintf(out, NET_CIDR_MAX, "%s/%d", a, s->prefix);
}

int net_subnet_is_private(const struct net_subnet *s)
{
	static const struct net_subnet rfc1918[] = {
	    {0x0a000000u, 8},  /* 10.0.0.0/8 */
	    {0xac100000u, 12}, /* 172.16.0.0/12 */
	    {0xc0a80000u, 16}, /* 192.168.0.0/16 */
	};

	for (size_t i = 0; i < sizeof(rfc1918) / sizeof(rfc1918[0]); i++)
		if (s->prefix >= rfc1918[i].prefix && net_subnet_contains(&rfc1918[i], s->net))
			return 1;
	return 0;
}

int net_subnet_check(const struct net_subnet *s, struct err *e)
{
	char cidr[NET_CIDR_MAX];

	net_subnet_format(s, cidr);
	if (s->prefix < NET_PREFIX_MIN || s->prefix > NET_PREFIX_MAX) {
		err_set(e, ERR_INVALID, "subnet %s: prefix must be /%d to /%d", cidr,
			NET_PREFIX_MIN, NET_PREFIX_MAX);
		err_hint(e, "set `subnet` in config.toml, e.g. subnet = \"%s\"",
			 NET_DEFAULT_SUBNET);
		return -1;
	}
	if (!net_subnet_is_private(s)) {
		err_set(e, ERR_INVALID,
			"subnet %s is not private address space (10/8, 172.16/12, 192.168/16)",
			cidr);
		err_hint(e, "set `subnet` in config.toml, e.g. subnet = \"%s\"",
			 NET_DEFAULT_SUBNET);
		return -1;
	}
	return 0;
}

uint32_t net_subnet_mask(const struct net_subnet *s)
{
	return prefix_mask(s->prefix);
}

uint32_t net_subnet_broadcast(const struct net_subnet *s)
{
	return s->net | ~prefix_mask(s->prefix);
}

uint32_t net_subnet_bridge(const struct net_subnet *s)
{
	return s->net + 1;
}

int net_subnet_contains(const struct net_subnet *s, uint32_t addr)
{
	return (addr & prefix_mask(s->prefix)) == s->net;
}

int net_subnet_is_guest(const struct net_subnet *s, uint32_t addr)
{
	return net_subnet_contains(s, addr) && addr != s->net && addr != net_subnet_bridge(s) &&
	       addr != net_subnet_broadcast(s);
}

int net_subnet_overlaps(const struct net_subnet *a, const struct net_subnet *b)
{
	/* Two CIDR blocks overlap exactly when the larger contains the smaller's
	 * network address. */
	return a->prefix <= b->prefix ? net_subnet_contains(a, b->net)
				      : net_subnet_contains(b, a->net);
}

static int in_list(uint32_t a, const uint32_t *used, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (used[i] == a)
			return 1;
	return 0;
}

int net_alloc_guest(const struct net_subnet *s, const uint32_t *used, size_t n, uint32_t *out,
		    struct err *e)
{
	uint32_t last = net_subnet_broadcast(s);
	char cidr[NET_CIDR_MAX];

	/* A /31 or /32 has no room for a guest: the loop body never runs. */
	for (uint32_t a = net_subnet_bridge(s) + 1; s->prefix <= 30 && a < last; a++) {
		if (!in_list(a, used, n)) {
			*out = a;
			return 0;
		}
	}
	net_subnet_format(s, cidr);
	err_set(e, ERR_CONFLICT, "no free address left in subnet %s", cidr);
	err_hint(e, "delete unused VMs or set a larger `subnet` in config.toml");
	return -1;
}

int net_alloc_guest_str(const char *subnet, const char *const *used, size_t n,
			char out[NET_ADDR_MAX], struct err *e)
{
	struct net_subnet s;
	uint32_t *addrs = NULL, a;
	size_t m = 0;
	int rc = -1;

	if (net_subnet_parse(subnet, &s, e) < 0)
		return -1;
	if (n) {
		addrs = calloc(n, sizeof(*addrs));
		if (!addrs)
			return err_set(e, ERR_INTERNAL, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		if (used[i] && net_addr_parse(used[i], &addrs[m], NULL) == 0)
			m++;
	if (net_alloc_guest(&s, addrs, m, &a, e) < 0)
		goto out;
	net_addr_format(a, out);
	rc = 0;
out:
	free(addrs);
	return rc;
}

int net_vm_id_valid(const char *id)
{
	size_t i;

	if (!id)
		return 0;
	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == NET_VM_ID_LEN;
}

void net_tap_name(const char *vm_id, char out[NET_IFNAME_MAX])
{
	snprintf(out, NET_IFNAME_MAX, NET_TAP_PREFIX "%.12s", vm_id);
}

void net_mac(const char *vm_id, char out[NET_MAC_MAX])
{
	/* 0x06: bit 1 set (locally administered), bit 0 clear (unicast). */
	snprintf(out, NET_MAC_MAX, "06:%.2s:%.2s:%.2s:%.2s:%.2s", vm_id, vm_id + 2, vm_id + 4,
		 vm_id + 6, vm_id + 8);
}

/* 1 if name is prefix + >= min_rest more characters, all [a-z0-9], <= 15. */
static int name_ok(const char *name, const char *prefix, size_t min_rest)
{
	size_t plen = strlen(prefix), len;

	if (!name || strncmp(name, prefix, plen) != 0)
		return 0;
	len = strlen(name);
	if (len > NET_IFNAME_MAX - 1 || len < plen + min_rest)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}

int net_name_is_tap(const char *name)
{
	return name_ok(name, NET_TAP_PREFIX, 1);
}

int net_name_is_spare(const char *name)
{
	return name_ok(name, NET_SPARE_PREFIX, 1);
}

int net_name_is_bridge(const char *name)
{
	return name_ok(name, NET_BRIDGE_PREFIX, 0);
}

int net_name_is_banger(const char *name)
{
	return net_name_is_tap(name) || net_name_is_bridge(name);
}
