/*
 * banger-netd: the privileged network helper.
 *
 * Privilege: this whole program runs as root, started by bangerd through
 * `sudo -n` when bangerd is not root. It does one operation per invocation
 * (see net_netd.h), after net_netd_parse has refused every interface name,
 * subnet, address and VM id that is not banger's, and then calls the same
 * net_host code bangerd runs in-process when it is root.
 *
 * Output: nat-list prints VM ids, one a line, on stdout. Errors go to stderr
 * as "banger-netd: MESSAGE", then "hint: HINT" and "error-code: CODE" lines
 * that net_ops reads back into a struct err. Exit codes: net_netd.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_host.h"
#include "net/net_netd.h"

/* Where the ip_forward marker lives. Root's runtime directory: the helper
 * has no user session. */
#define NETD_RUN_DIR "/run/banger-netd"

static int report(const struct err *e, int status)
{
	fprintf(stderr, "banger-netd: %s\n", e->msg);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
	fprintf(stderr, "error-code: %s\n", err_code_name(e->code));
	return status;
}

static int run(const struct net_netd_req *r, const struct net_conf *c, struct err *e)
{
	struct net_list ids = {0};

	switch (r->op) {
	case NETD_BRIDGE_UP:
		return net_bridge_ensure(c, e);
	case NETD_BRIDGE_DOWN:
		return net_bridge_remove(c, e);
	case NETD_TAP_ADD:
		return net_tap_create(c, r->tap, r->uid, e);
	case NETD_TAP_DEL:
		return net_tap_delete(c, r->tap, e);
	case NETD_NAT_ADD:
		return net_nat_add(c, r->vm_id, r->tap, r->ip, e);
	case NETD_NAT_DEL:
		return net_nat_remove(c, r->vm_id, e);
	case NETD_NAT_LIST:
		if (net_nat_list(c, &ids, e) < 0)
			return -1;
		for (size_t i = 0; i < ids.n; i++)
			printf("%s\n", ids.items[i]);
		net_list_free(&ids);
		return fflush(stdout) == 0 ? 0 : err_set(e, ERR_IO, "write to stdout");
	}
	return err_set(e, ERR_INTERNAL, "unhandled operation");
}

/* The marker directory. BANGER_NETD_RUN_DIR is honoured only when root ran
 * us directly (tests): through sudo a user must not pick where root writes. */
static const char *run_dir(void)
{
	const char *d = getenv("BANGER_NETD_RUN_DIR");

	return d && d[0] && !getenv("SUDO_UID") ? d : NETD_RUN_DIR;
}

int main(int argc, char **argv)
{
	struct net_netd_req req;
	struct net_conf conf = {0};
	struct err e;

	err_clear(&e);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(net_netd_usage(), stdout);
		return NETD_EXIT_OK;
	}
	/* Run the host tools we trust, not ones found through the caller's PATH. */
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	umask(022);
	if (net_netd_parse(argc - 1, argv + 1, getenv("SUDO_UID"), &req, &e) < 0) {
		report(&e, NETD_EXIT_REFUSED);
		fputs(net_netd_usage(), stderr);
		return NETD_EXIT_REFUSED;
	}
	if (geteuid() != 0) {
		err_set(&e, ERR_PERMISSION, "banger-netd must run as root");
		err_hint(&e, "run it through sudo, as bangerd does");
		return report(&e, NETD_EXIT_FAILED);
	}
	conf.bridge = req.bridge ? req.bridge : NET_DEFAULT_BRIDGE;
	conf.subnet = req.cidr ? req.cidr : NET_DEFAULT_SUBNET;
	conf.run_dir = run_dir();
	if (run(&req, &conf, &e) < 0)
		return report(&e, NETD_EXIT_FAILED);
	return NETD_EXIT_OK;
}
