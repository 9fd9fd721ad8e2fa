/*
 * net_host: the bridge and the taps (NAT is in net_nat.c). See net_host.h.
 *
 * Privilege: runs as root, in bangerd or in banger-netd. Links are read with
 * `ip -j` (JSON) and changed with `ip` argv commands.
 */
#include "net/net_host.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Deletes a link if it exists. */
/* One `ip` run, not a look and then a delete: it is on the path of every
 * `vm stop`. A link already gone is not an error. */
static int link_delete(const char *name, const char *log_path, struct err *e)
{
	const char *del[] = {"ip", "link", "del", "dev", name, NULL};
	struct err de;

	err_clear(&de);
	if (net_run(del, NULL, log_path, &de) == 0)
		return 0;
	if (strstr(de.msg, "Cannot find device"))
		return 0;
	if (e)
		*e = de;
	return -1;
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

int net_tap_create(const struct net_conf *c, const char *tap, unsigned owner_uid, struct err *e)
{
	char uid[16];
	const char *add[] = {"ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", uid, NULL};
	const char *attach[] = {"ip", "link", "set", "dev", tap, "master", c->bridge, "up", NULL};
	json_t *link = NULL;
	int keep, rc = -1;

	snprintf(uid, sizeof(uid), "%u", owner_uid);
	/* Checked first so a missing bridge leaves no orphan tap behind. */
	if (link_get(c->bridge, &link, e) < 0)
		goto out;
	if (!link) {
		err_set(e, ERR_NOT_FOUND, "bridge %s does not exist", c->bridge);
		err_hint(e, "the bridge is made when a VM starts; restart the VM");
		goto out;
	}
	json_decref(link);
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
	return rc < 0 ? err_wrap(e, "create tap %s", tap) : 0;
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

		if (name && net_name_is_tap(name) && !net_list_has(out, name))
			net_list_add(out, name);
	}
	json_decref(links);
	return 0;
}
