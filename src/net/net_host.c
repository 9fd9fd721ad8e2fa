/*
 * net_host: the bridge and the taps (NAT is in net_nat.c). See net_host.h.
 *
 * Privilege: runs as root, in bangerd or in banger-netd. Links are read with
 * `ip -j` (JSON) and changed with `ip` argv commands, except on the path of
 * every `vm start` and `vm stop`: a tap is made, attached, set up, parked
 * and renamed with ioctls (TUNSETIFF, SIOCBRADDIF, SIOCSIFFLAGS,
 * SIOCSIFNAME), which cost microseconds where each `ip` run is a process
 * start of milliseconds (bench/lifecycle).
 */
#include "net/net_host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_run.h"
#include "util/buf.h"

#define IP_ABSENT "does not exist"

void net_list_add(struct net_list *l, const char *s)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n++] = xstrdup(s);
}

void net_list_free(struct net_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int net_list_has(const struct net_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return 1;
	return 0;
}

/* `ip -j -d link show dev NAME`: the link's object, or NULL when absent. */
static int link_get(const char *name, json_t **out, struct err *e)
{
	const char *argv[] = {"ip", "-j", "-d", "link", "show", "dev", name, NULL};
	json_t *arr;

	*out = NULL;
	if (net_run_json(argv, IP_ABSENT, &arr, e) < 0)
		return -1;
	if (arr && json_array_size(arr) > 0)
		*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

/* The link's kind ("bridge", "tun", ...) or "" (borrowed from link). */
static const char *link_kind(json_t *link)
{
	const char *kind =
	    json_string_value(json_object_get(json_object_get(link, "linkinfo"), "info_kind"));

	return kind ? kind : "";
}

/* A route's destination as a subnet: "default" is skipped (returns 0), a bare
 * address is a /32. Returns 1 when *out was filled. */
static int route_dst(json_t *route, struct net_subnet *out)
{
	const char *dst = json_string_value(json_object_get(route, "dst"));
	char cidr[64];

	if (!dst || strcmp(dst, "default") == 0)
		return 0;
	snprintf(cidr, sizeof(cidr), strchr(dst, '/') ? "%s" : "%s/32", dst);
	return net_subnet_parse(cidr, out, NULL) == 0;
}

/* Refuses a subnet that overlaps a route of the main table other than the
 * bridge's own: two networks behind one prefix break both. Routes shorter
 * than /8 are catch-alls, not networks: VPNs replace the default route with
 * 0.0.0.0/1 + 128.0.0.0/1, and the bridge's longer prefix wins over them. */
static int check_routes(const struct net_conf *c, const struct net_subnet *sub, struct err *e)
{
	const char *argv[] = {"ip", "-j", "-4", "route", "show", "table", "main", NULL};
	json_t *routes, *r;
	size_t i;
	int rc = 0;

	if (net_run_json(argv, NULL, &routes, e) < 0)
		return err_wrap(e, "read the host's routes");
	json_array_foreach(routes, i, r)
	{
		const char *dev = json_string_value(json_object_get(r, "dev"));
		const char *dst = json_string_value(json_object_get(r, "dst"));
		const char *type = json_string_value(json_object_get(r, "type"));
		struct net_subnet rs;

		if ((dev && strcmp(dev, c->bridge) == 0) || !route_dst(r, &rs) || rs.prefix < 8 ||
		    !net_subnet_overlaps(sub, &rs))
			continue;
		err_set(e, ERR_CONFLICT, "subnet %s overlaps the host route \"%s%s%s%s%s\"",
			c->subnet, type ? type : "", type ? " " : "", dst, dev ? " dev " : "",
			dev ? dev : "");
		err_hint(e, "choose a free private range for `subnet` in "
			    "~/.config/banger/config.toml (or BANGER_SUBNET), e.g. "
			    "subnet = \"172.31.77.0/24\"");
		rc = -1;
		break;
	}
	json_decref(routes);
	return rc;
}

/* 1 if the bridge has exactly the address want/prefix and no other IPv4. */
static int has_only_addr(json_t *link_addrs, const char *want, int prefix)
{
	json_t *info = json_object_get(json_array_get(link_addrs, 0), "addr_info"), *a;
	size_t i, n = 0, match = 0;

	json_array_foreach(info, i, a)
	{
		const char *local = json_string_value(json_object_get(a, "local"));

		n++;
		if (local && strcmp(local, want) == 0 &&
		    json_integer_value(json_object_get(a, "prefixlen")) == prefix)
			match++;
	}
	return n == 1 && match == 1;
}

/* Gives the bridge the subnet's first address, dropping any other (left over
 * from an earlier `subnet`). */
static int bridge_set_addr(const struct net_conf *c, const struct net_subnet *sub, struct err *e)
{
	const char *show[] = {"ip", "-j", "-4", "addr", "show", "dev", c->bridge, NULL};
	const char *flush[] = {"ip", "-4", "addr", "flush", "dev", c->bridge, NULL};
	char ip[NET_ADDR_MAX], cidr[NET_CIDR_MAX + 4];
	const char *add[] = {"ip", "addr", "add", cidr, "dev", c->bridge, NULL};
	json_t *addrs;
	int ok;

	net_addr_format(net_subnet_bridge(sub), ip);
	snprintf(cidr, sizeof(cidr), "%s/%d", ip, sub->prefix);
	if (net_run_json(show, NULL, &addrs, e) < 0)
		return -1;
	ok = has_only_addr(addrs, ip, sub->prefix);
	json_decref(addrs);
	if (ok)
		return 0;
	if (net_run(flush, NULL, c->log_path, e) < 0 || net_run(add, NULL, c->log_path, e) < 0)
		return -1;
	return 0;
}

int net_bridge_ensure(const struct net_conf *c, struct err *e)
{
	const char *create[] = {"ip", "link", "add", "name", c->bridge, "type", "bridge", NULL};
	const char *up[] = {"ip", "link", "set", "dev", c->bridge, "up", NULL};
	struct net_subnet sub;
	json_t *link = NULL;
	int rc = -1;

	if (net_subnet_parse(c->subnet, &sub, e) < 0 || net_subnet_check(&sub, e) < 0)
		return -1;
	if (!net_name_is_bridge(c->bridge)) {
		err_set(e, ERR_INVALID, "bridge name \"%s\" is not a banger bridge name",
			c->bridge);
		err_hint(e, "`bridge_name` must start with \"banger\", use only a-z and 0-9 "
			    "and be at most 15 characters");
		return -1;
	}
	if (check_routes(c, &sub, e) < 0 || link_get(c->bridge, &link, e) < 0)
		goto out;
	if (link && strcmp(link_kind(link), "bridge") != 0) {
		err_set(e, ERR_CONFLICT, "a network link named %s exists and is not a bridge",
			c->bridge);
		err_hint(e, "remove it (ip link del %s) or set another `bridge_name`", c->bridge);
		goto out;
	}
	if (!link && net_run(create, NULL, c->log_path, e) < 0)
		goto out;
	if (bridge_set_addr(c, &sub, e) < 0 || net_run(up, NULL, c->log_path, e) < 0)
		goto out;
	rc = 0;
out:
	json_decref(link);
	return rc < 0 ? err_wrap(e, "set up bridge %s", c->bridge) : 0;
}

/* RTM_DELLINK of the link with index idx: 0 or an errno. */
static int nl_del_link(unsigned idx)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc = EIO;
	ssize_t n;

	if (fd < 0)
		return errno;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_DELLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)idx;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		rc = errno;
		goto out;
	}
	do
		n = recv(fd, &ack, sizeof(ack), 0);
	while (n < 0 && errno == EINTR);
	if (n >= (ssize_t)NLMSG_LENGTH(sizeof(ack.err)) && ack.nh.nlmsg_type == NLMSG_ERROR)
		rc = -ack.err.error;
	else if (n < 0)
		rc = errno;
out:
	close(fd);
	return rc;
}

/* Deletes a link if it exists: one netlink request, no `ip` run (it is
 * what a parked tap's removal costs, next to other VMs' stops). A link
 * already gone is not an error. */
static int link_delete(const char *name, const char *log_path, struct err *e)
{
	unsigned idx = if_nametoindex(name);
	int rc;

	(void)log_path;
	if (!idx)
		return 0;
	rc = nl_del_link(idx);
	if (rc == 0 || rc == ENODEV)
		return 0;
	return err_errno(e, rc, "delete link %s", name);
}

int net_bridge_remove(const struct net_conf *c, struct err *e)
{
	if (link_delete(c->bridge, c->log_path, e) < 0)
		return err_wrap(e, "remove bridge %s", c->bridge);
	return 0;
}

/* 1 if link is a tap owned by uid. `ip` shows the owner as a user name when
 * it has one, else as a number. */
static int tap_owned_by(json_t *link, unsigned uid)
{
	json_t *data = json_object_get(json_object_get(link, "linkinfo"), "info_data");
	const char *type = json_string_value(json_object_get(data, "type"));
	const char *user = json_string_value(json_object_get(data, "user"));
	struct passwd *pw = getpwuid(uid);
	char num[16];

	if (strcmp(link_kind(link), "tun") != 0 || !type || strcmp(type, "tap") != 0 || !user)
		return 0;
	snprintf(num, sizeof(num), "%u", uid);
	return strcmp(user, num) == 0 || (pw && strcmp(user, pw->pw_name) == 0);
}

/* An ioctl on an AF_INET socket for one interface; -1 with errno. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc, saved;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, req, ifr);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static void ifr_for(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

static int link_set_up(const char *name, int up)
{
	struct ifreq ifr;

	ifr_for(&ifr, name);
	if (if_ioctl(SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return if_ioctl(SIOCSIFFLAGS, &ifr);
}

/* Adds dev to (or removes it from) bridge. */
static int bridge_port(const char *bridge, const char *dev, int add)
{
	struct ifreq ifr;
	unsigned idx = if_nametoindex(dev);

	if (!idx)
		return -1;
	ifr_for(&ifr, bridge);
	ifr.ifr_ifindex = (int)idx;
	return if_ioctl(add ? SIOCBRADDIF : SIOCBRDELIF, &ifr);
}

static int link_rename(const char *from, const char *to)
{
	struct ifreq ifr;

	ifr_for(&ifr, from);
	snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", to);
	return if_ioctl(SIOCSIFNAME, &ifr);
}

/* /dev/net/tun attached to the single-queue tap `tap` (made if absent, as
 * `ip tuntap add mode tap` makes it: no packet information header); -1
 * with errno: EBUSY when another descriptor holds it, EINVAL when a link
 * of that name is not a single-queue tap. */
static int tun_open(const char *tap)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), saved;

	if (fd < 0)
		return -1;
	ifr_for(&ifr, tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* net_tap_create with `ip`, for a tap that a VMM holds (its owner is read
 * from `ip -d`: an ioctl cannot read it without attaching). */
static int tap_create_ip(const struct net_conf *c, const char *tap, unsigned owner_uid,
			 struct err *e)
{
	char uid[16];
	const char *add[] = {"ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", uid, NULL};
	const char *attach[] = {"ip", "link", "set", "dev", tap, "master", c->bridge, "up", NULL};
	json_t *link = NULL;
	int keep, rc = -1;

	snprintf(uid, sizeof(uid), "%u", owner_uid);
	if (link_get(tap, &link, e) < 0)
		goto out;
	keep = link && tap_owned_by(link, owner_uid);
	/* A stale tap with another owner or kind cannot be fixed in place. */
	if (link && !keep && link_delete(tap, c->log_path, e) < 0)
		goto out;
	if (!keep && net_run(add, NULL, c->log_path, e) < 0)
		goto out;
	if (net_run(attach, NULL, c->log_path, e) < 0)
		goto out;
	rc = 0;
out:
	json_decref(link);
	return rc;
}

/* Attaches the tap to the bridge and sets it up. A tap that is a port
 * already (of this bridge or another) is moved by `ip`, as before. */
static int tap_attach(const struct net_conf *c, const char *tap, struct err *e)
{
	const char *attach[] = {"ip", "link", "set", "dev", tap, "master", c->bridge, "up", NULL};

	if (bridge_port(c->bridge, tap, 1) < 0) {
		if (errno != EBUSY)
			return err_errno(e, errno, "attach %s to %s", tap, c->bridge);
		return net_run(attach, NULL, c->log_path, e);
	}
	if (link_set_up(tap, 1) < 0)
		return err_errno(e, errno, "set %s up", tap);
	return 0;
}

static int bridge_exists(const struct net_conf *c, struct err *e)
{
	if (if_nametoindex(c->bridge))
		return 0;
	err_set(e, ERR_NOT_FOUND, "bridge %s does not exist", c->bridge);
	err_hint(e, "the bridge is made when a VM starts; restart the VM");
	return -1;
}

int net_tap_create(const struct net_conf *c, const char *tap, unsigned owner_uid, struct err *e)
{
	int fd = -1, rc = -1;

	/* Checked first so a missing bridge leaves no orphan tap behind. */
	if (bridge_exists(c, e) < 0)
		goto out;
	if (if_nametoindex(tap)) {
		/* Root may attach whatever its owner: an existing single-queue
		 * tap is kept and given to owner_uid; another kind of link is
		 * replaced; one a VMM holds goes the `ip` way. */
		fd = tun_open(tap);
		if (fd < 0 && errno == EBUSY) {
			rc = tap_create_ip(c, tap, owner_uid, e);
			goto out;
		}
		if (fd < 0 && link_delete(tap, c->log_path, e) < 0)
			goto out;
	}
	if (fd < 0 && (fd = tun_open(tap)) < 0) {
		err_errno(e, errno, "open /dev/net/tun for %s", tap);
		goto out;
	}
	/* Until TUNSETPERSIST, closing fd removes a tap made here. */
	if (ioctl(fd, TUNSETOWNER, (unsigned long)owner_uid) < 0 ||
	    ioctl(fd, TUNSETPERSIST, 1UL) < 0) {
		err_errno(e, errno, "make %s persistent for uid %u", tap, owner_uid);
		goto out;
	}
	close(fd);
	fd = -1;
	rc = tap_attach(c, tap, e);
out:
	if (fd >= 0)
		close(fd);
	return rc < 0 ? err_wrap(e, "create tap %s", tap) : 0;
}

int net_tap_park(const struct net_conf *c, const char *tap, const char *spare, struct err *e)
{
	(void)c;
	if (!if_nametoindex(tap))
		return 1;
	/* Down, it carries nothing: it stays a port of the bridge (taking it
	 * off costs an RCU grace period more), and its delete or unpark deals
	 * with that. */
	if (link_set_up(tap, 0) < 0 || link_rename(tap, spare) < 0)
		return err_errno(e, errno, "park tap %s as %s", tap, spare);
	return 0;
}

int net_tap_unpark(const struct net_conf *c, const char *spare, const char *tap, struct err *e)
{
	if (bridge_exists(c, e) < 0)
		return -1;
	if (link_rename(spare, tap) < 0)
		return err_errno(e, errno, "rename tap %s to %s", spare, tap);
	/* Parked as a port of c->bridge: only set up. */
	if (bridge_port(c->bridge, tap, 1) < 0 && errno != EBUSY)
		return err_errno(e, errno, "attach %s to %s", tap, c->bridge);
	if (link_set_up(tap, 1) < 0)
		return err_errno(e, errno, "set %s up", tap);
	return 0;
}

int net_tap_delete(const struct net_conf *c, const char *tap, struct err *e)
{
	if (link_delete(tap, c->log_path, e) < 0)
		return err_wrap(e, "delete tap %s", tap);
	return 0;
}

int net_tap_list(struct net_list *out, struct err *e)
{
	const char *argv[] = {"ip", "-j", "link", "show", NULL};
	json_t *links, *l;
	size_t i;

	if (net_run_json(argv, NULL, &links, e) < 0)
		return err_wrap(e, "list taps");
	json_array_foreach(links, i, l)
	{
		const char *name = json_string_value(json_object_get(l, "ifname"));

		if (name && (net_name_is_tap(name) || net_name_is_spare(name)) &&
		    !net_list_has(out, name))
			net_list_add(out, name);
	}
	json_decref(links);
	return 0;
}
