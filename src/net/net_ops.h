/*
 * net_ops: the daemon's entry to host networking.
 *
 * Each function does one host change. When c->use_helper is 0 (bangerd runs
 * as root) it calls net_host in-process; otherwise it runs
 * `sudo -n <c->helper_path> OPERATION ARGS...` (banger-netd, see net_netd.h)
 * and turns the helper's report back into a struct err. When sudo refuses,
 * the error is ERR_PERMISSION and its hint is the sudoers line to add.
 * All block until the host tool or helper exits.
 */
#ifndef BANGER_NET_NET_OPS_H
#define BANGER_NET_NET_OPS_H

#include "net/net_host.h"

/* 1 when this process is not root and so must go through the helper. */
int net_ops_need_helper(void);

/* net_bridge_ensure(c) for c->bridge and c->subnet. */
int net_ops_bridge_up(const struct net_conf *c, struct err *e);
/* net_bridge_remove(c). */
int net_ops_bridge_down(const struct net_conf *c, struct err *e);
/* net_tap_create(c, tap, uid): a tap on c->bridge owned by uid. */
int net_ops_tap_add(const struct net_conf *c, const char *tap, unsigned uid, struct err *e);
/* net_tap_delete(c, tap). */
int net_ops_tap_del(const struct net_conf *c, const char *tap, struct err *e);
/* net_tap_park / net_tap_unpark: in-process only (ERR_UNAVAILABLE through
 * the helper, whose every change is a process start anyway). */
int net_ops_tap_park(const struct net_conf *c, const char *tap, const char *spare, struct err *e);
int net_ops_tap_unpark(const struct net_conf *c, const char *spare, const char *tap, struct err *e);
/* net_nat_add(c, vm_id, tap, ip). */
int net_ops_nat_add(const struct net_conf *c, const char *vm_id, const char *tap, const char *ip,
		    struct err *e);
/* net_nat_remove(c, vm_id). */
int net_ops_nat_del(const struct net_conf *c, const char *vm_id, struct err *e);
/* net_nat_list(c, out): VM ids with NAT rules. out must be zeroed. */
int net_ops_nat_list(const struct net_conf *c, struct net_list *out, struct err *e);
/* net_tap_list(out): existing bgr* links. Needs no privilege, so it never
 * goes through the helper. */
int net_ops_tap_list(const struct net_conf *c, struct net_list *out, struct err *e);

#endif
