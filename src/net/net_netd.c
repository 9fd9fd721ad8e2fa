/* net_netd: see net_netd.h. Everything the helper accepts passes here first. */
#include "net/net_netd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_addr.h"

static const struct {
	const char *name;
	int nargs;
	const char *args;
} ops[] = {
    [NETD_BRIDGE_UP] = {"bridge-up", 2, "NAME CIDR"},
    [NETD_BRIDGE_DOWN] = {"bridge-down", 1, "NAME"},
    [NETD_TAP_ADD] = {"tap-add", 3, "TAP BRIDGE UID"},
    [NETD_TAP_DEL] = {"tap-del", 1, "TAP"},
    [NETD_NAT_ADD] = {"nat-add", 5, "VMID TAP IP BRIDGE CIDR"},
    [NETD_NAT_DEL] = {"nat-del", 1, "VMID"},
    [NETD_NAT_LIST] = {"nat-list", 0, ""},
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

const char *net_netd_op_name(enum net_netd_op op)
{
	return ops[op].name;
}

const char *net_netd_usage(void)
{
	return "usage: banger-netd OPERATION ARGS...\n"
	       "  bridge-up NAME CIDR\n"
	       "  bridge-down NAME\n"
	       "  tap-add TAP BRIDGE UID\n"
	       "  tap-del TAP\n"
	       "  nat-add VMID TAP IP BRIDGE CIDR\n"
	       "  nat-del VMID\n"
	       "  nat-list\n"
	       "Changes only banger's links (banger*, bgr*), banger's nftables table and\n"
	       "addresses inside a private banger subnet.\n";
}

static int check_bridge(const char *name, struct err *e)
{
	if (net_name_is_bridge(name))
		return 0;
	return err_set(e, ERR_INVALID,
		       "refusing bridge \"%s\": not a banger bridge (banger[a-z0-9]*, at most "
		       "15 characters)",
		       name);
}

static int check_tap(const char *name, struct err *e)
{
	if (net_name_is_tap(name) || net_name_is_spare(name))
		return 0;
	return err_set(e, ERR_INVALID,
		       "refusing tap \"%s\": not a banger tap (bgr[a-z0-9]+, at most 15 "
		       "characters)",
		       name);
}

static int check_vm_id(const char *id, struct err *e)
{
	if (net_vm_id_valid(id))
		return 0;
	return err_set(e, ERR_INVALID, "refusing VM id \"%s\": not 16 lower-case hex characters",
		       id);
}

static int check_cidr(const char *cidr, struct net_subnet *sub, struct err *e)
{
	if (net_subnet_parse(cidr, sub, e) < 0 || net_subnet_check(sub, e) < 0)
		return err_wrap(e, "refusing subnet \"%s\"", cidr);
	return 0;
}

static int check_guest_ip(const char *ip, const char *cidr, struct err *e)
{
	struct net_subnet sub;
	uint32_t a;

	if (check_cidr(cidr, &sub, e) < 0 || net_addr_parse(ip, &a, e) < 0)
		return -1;
	if (!net_subnet_is_guest(&sub, a))
		return err_set(e, ERR_INVALID,
			       "refusing address %s: not a guest address of subnet %s", ip, cidr);
	return 0;
}

static int check_uid(const char *s, const char *sudo_uid, unsigned *out, struct err *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v >= 0xffffffffUL)
		return err_set(e, ERR_INVALID, "refusing uid \"%s\": not a number", s);
	/* Through sudo, a user may make taps for themselves only. */
	if (sudo_uid && strcmp(sudo_uid, s) != 0)
		return err_set(e, ERR_INVALID, "refusing uid %s: the calling user is uid %s", s,
			       sudo_uid);
	*out = (unsigned)v;
	return 0;
}

static int find_op(const char *word, struct err *e)
{
	for (size_t i = 0; i < NOPS; i++)
		if (strcmp(word, ops[i].name) == 0)
			return (int)i;
	return err_set(e, ERR_INVALID, "unknown operation \"%s\"", word);
}

int net_netd_parse(int argc, char *const argv[], const char *sudo_uid, struct net_netd_req *req,
		   struct err *e)
{
	struct net_subnet sub;
	int op;

	memset(req, 0, sizeof(*req));
	if (argc < 1)
		return err_set(e, ERR_INVALID, "no operation given");
	if ((op = find_op(argv[0], e)) < 0)
		return -1;
	if (argc - 1 != ops[op].nargs)
		return err_set(e, ERR_INVALID, "usage: banger-netd %s %s", ops[op].name,
			       ops[op].args);
	req->op = (enum net_netd_op)op;
	switch (req->op) {
	case NETD_BRIDGE_UP:
		req->bridge = argv[1];
		req->cidr = argv[2];
		return check_bridge(req->bridge, e) < 0 ? -1 : check_cidr(req->cidr, &sub, e);
	case NETD_BRIDGE_DOWN:
		req->bridge = argv[1];
		return check_bridge(req->bridge, e);
	case NETD_TAP_ADD:
		req->tap = argv[1];
		req->bridge = argv[2];
		if (check_tap(req->tap, e) < 0 || check_bridge(req->bridge, e) < 0)
			return -1;
		return check_uid(argv[3], sudo_uid, &req->uid, e);
	case NETD_TAP_DEL:
		req->tap = argv[1];
		return check_tap(req->tap, e);
	case NETD_NAT_ADD:
		req->vm_id = argv[1];
		req->tap = argv[2];
		req->ip = argv[3];
		req->bridge = argv[4];
		req->cidr = argv[5];
		if (check_vm_id(req->vm_id, e) < 0 || check_tap(req->tap, e) < 0 ||
		    check_bridge(req->bridge, e) < 0)
			return -1;
		return check_guest_ip(req->ip, req->cidr, e);
	case NETD_NAT_DEL:
		req->vm_id = argv[1];
		return check_vm_id(req->vm_id, e);
	case NETD_NAT_LIST:
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unhandled operation");
}
