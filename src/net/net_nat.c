/*
 * net_nat: per-VM NAT rules in banger's nftables table and the IPv4
 * forwarding switch. See net_host.h for the table layout and the forwarding
 * policy.
 *
 * Privilege: runs as root, in bangerd or in banger-netd. Every change is one
 * `nft -f -` transaction, so a VM never has half of its rules, and the rules
 * of a VM are replaced (not duplicated) when it is added again. Names and
 * addresses are validated before they go into the nft script, so nothing a
 * caller passes can add other statements.
 */
#include "net/net_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_run.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/spawn.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define NFT_ABSENT "No such file or directory"

/* One rule of the table, found by `nft -j list table ip banger`. */
struct nat_rule {
	char chain[32];
	long long handle;
	char vm_id[NET_VM_ID_LEN + 1]; /* "" for a rule without our tag */
};

struct nat_rules {
	struct nat_rule *r;
	size_t n;
	int table_exists;
};

/* Fills one rule from a {"rule": {...}} entry. Returns 0 if it is no rule. */
static int rule_from_json(json_t *item, struct nat_rule *out)
{
	json_t *rule = json_object_get(item, "rule");
	const char *chain = json_string_value(json_object_get(rule, "chain"));
	const char *comment = json_string_value(json_object_get(rule, "comment"));
	size_t tag = strlen(NET_RULE_TAG);

	if (!rule || !chain)
		return 0;
	memset(out, 0, sizeof(*out));
	snprintf(out->chain, sizeof(out->chain), "%s", chain);
	out->handle = json_integer_value(json_object_get(rule, "handle"));
	if (comment && strncmp(comment, NET_RULE_TAG, tag) == 0 && net_vm_id_valid(comment + tag))
		snprintf(out->vm_id, sizeof(out->vm_id), "%s", comment + tag);
	return 1;
}

/* Reads every rule of banger's table. A missing table is empty. */
static int rules_read(struct nat_rules *out, struct err *e)
{
	const char *argv[] = {"nft", "-j", "list", "table", "ip", NET_NFT_TABLE, NULL};
	json_t *doc, *items, *it;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (net_run_json(argv, NFT_ABSENT, &doc, e) < 0)
		return err_wrap(e, "list nftables table ip %s", NET_NFT_TABLE);
	if (!doc)
		return 0;
	out->table_exists = 1;
	items = json_object_get(doc, "nftables");
	out->r = xcalloc(json_array_size(items) + 1, sizeof(*out->r));
	json_array_foreach(items, i, it) out->n += (size_t)rule_from_json(it, &out->r[out->n]);
	json_decref(doc);
	return 0;
}

/* Appends "delete rule" lines for vm_id's rules; returns how many. */
static size_t script_delete(struct buf *s, const struct nat_rules *rules, const char *vm_id)
{
	size_t n = 0;

	for (size_t i = 0; i < rules->n; i++) {
		if (strcmp(rules->r[i].vm_id, vm_id) != 0)
			continue;
		buf_printf(s, "delete rule ip %s %s handle %lld\n", NET_NFT_TABLE,
			   rules->r[i].chain, rules->r[i].handle);
		n++;
	}
	return n;
}

static int nft_installed(void)
{
	char *nft = spawn_which("nft");

	free(nft);
	return nft != NULL;
}

/* nft is required to add rules; say so plainly rather than "nft not found". */
static int need_nft(struct err *e)
{
	if (nft_installed())
		return 0;
	err_set(e, ERR_MISSING_TOOL, "NAT needs the nft program, which is not installed");
	err_hint(e, "install it: apt-get install nftables");
	return -1;
}

static int nft_apply(const struct net_conf *c, const char *script, struct err *e)
{
	const char *argv[] = {"nft", "-f", "-", NULL};

	return net_run(argv, script, c->log_path, e);
}

/* run_dir/NAME.<netns inode>: forwarding and the table are per network
 * namespace, and so is what these files record. NULL without run_dir. */
static char *netns_file(const struct net_conf *c, const char *name)
{
	struct stat st;

	if (!c->run_dir || !c->run_dir[0])
		return NULL;
	if (stat("/proc/self/ns/net", &st) < 0)
		st.st_ino = 0;
	return xasprintf("%s/%s.%llu", c->run_dir, name, (unsigned long long)st.st_ino);
}

/* The marker saying banger turned forwarding on. */
static char *fwd_marker(const struct net_conf *c)
{
	return netns_file(c, "ip_forward");
}

/* Serialises read-modify-write of the table: without it, removing the last
 * VM's rules could delete the table (or turn forwarding off) just as another
 * VM's rules are added. Returns the lock's fd, -2 when there is no run_dir. */
static int nat_lock(const struct net_conf *c, struct err *e)
{
	char *path = netns_file(c, "nat.lock");
	int fd;

	if (!path)
		return -2;
	if (fs_mkdir_p(c->run_dir, 0700, e) < 0) {
		free(path);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		err_errno(e, errno, "lock %s", path);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static void nat_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static int fwd_get(int *on, struct err *e)
{
	char *text = NULL;

	if (fs_read(IP_FORWARD, 64, &text, NULL, e) < 0)
		return err_wrap(e, "read IPv4 forwarding setting");
	*on = text[0] == '1';
	free(text);
	return 0;
}

static int fwd_set(int on, struct err *e)
{
	FILE *f = fopen(IP_FORWARD, "w");

	if (!f || fputs(on ? "1\n" : "0\n", f) < 0 || fclose(f) != 0) {
		int errnum = errno;

		return err_errno(e, errnum, "turn IPv4 forwarding %s (%s)", on ? "on" : "off",
				 IP_FORWARD);
	}
	return 0;
}

/* Turns forwarding on if it is off, leaving the marker that banger did it. */
static int fwd_enable(const struct net_conf *c, struct err *e)
{
	char *marker = fwd_marker(c);
	int on = 0, rc = -1;

	if (fwd_get(&on, e) < 0)
		goto out;
	if (on) {
		rc = 0;
		goto out;
	}
	/* Marker first: should setting it fail, a later restore turns off
	 * nothing that was on. */
	if (marker && fs_write_atomic(marker, "1\n", 2, 0600, e) < 0)
		goto out;
	rc = fwd_set(1, e);
out:
	free(marker);
	return rc;
}

/* Turns forwarding off again if banger turned it on. */
static int fwd_restore(const struct net_conf *c, struct err *e)
{
	char *marker = fwd_marker(c);
	int rc = 0;

	if (marker && fs_exists(marker)) {
		rc = fwd_set(0, e);
		if (rc == 0 && unlink(marker) < 0 && errno != ENOENT)
			rc = err_errno(e, errno, "remove %s", marker);
	}
	free(marker);
	return rc;
}

/* Checks what goes into the nft script. */
static int nat_args_check(const struct net_conf *c, const char *vm_id, const char *tap,
			  const char *ip, struct err *e)
{
	struct net_subnet sub;
	uint32_t a;

	if (!net_vm_id_valid(vm_id))
		return err_set(e, ERR_INVALID, "invalid VM id \"%s\"", vm_id);
	if (!net_name_is_tap(tap))
		return err_set(e, ERR_INVALID, "\"%s\" is not a banger tap name", tap);
	if (!net_name_is_bridge(c->bridge))
		return err_set(e, ERR_INVALID, "\"%s\" is not a banger bridge name", c->bridge);
	if (net_subnet_parse(c->subnet, &sub, e) < 0 || net_addr_parse(ip, &a, e) < 0)
		return -1;
	if (!net_subnet_is_guest(&sub, a))
		return err_set(e, ERR_INVALID, "address %s is not a guest address of subnet %s", ip,
			       c->subnet);
	return 0;
}

int net_nat_add(const struct net_conf *c, const char *vm_id, const char *tap, const char *ip,
		struct err *e)
{
	struct nat_rules rules = {0};
	struct buf s = BUF_INIT;
	const char *tag = NET_RULE_TAG, *t = NET_NFT_TABLE;
	int rc = -1, lock = -2;

	if (nat_args_check(c, vm_id, tap, ip, e) < 0 || need_nft(e) < 0 ||
	    (lock = nat_lock(c, e)) == -1 || rules_read(&rules, e) < 0)
		goto out;
	buf_printf(&s, "add table ip %s\n", t);
	buf_printf(&s,
		   "add chain ip %s postrouting { type nat hook postrouting "
		   "priority srcnat; policy accept; }\n",
		   t);
	buf_printf(&s,
		   "add chain ip %s forward { type filter hook forward "
		   "priority filter; policy accept; }\n",
		   t);
	script_delete(&s, &rules, vm_id);
	buf_printf(&s,
		   "add rule ip %s postrouting ip saddr %s oifname != \"%s\" masquerade "
		   "comment \"%s%s\"\n",
		   t, ip, c->bridge, tag, vm_id);
	buf_printf(&s,
		   "add rule ip %s forward iifname \"%s\" ip saddr %s accept "
		   "comment \"%s%s\"\n",
		   t, tap, ip, tag, vm_id);
	buf_printf(&s,
		   "add rule ip %s forward oifname \"%s\" ip daddr %s "
		   "ct state established,related accept comment \"%s%s\"\n",
		   t, tap, ip, tag, vm_id);
	if (nft_apply(c, buf_str(&s), e) < 0 || fwd_enable(c, e) < 0)
		goto out;
	rc = 0;
out:
	nat_unlock(lock);
	free(rules.r);
	buf_free(&s);
	return rc < 0 ? err_wrap(e, "add NAT for VM %s", vm_id) : 0;
}

int net_nat_remove(const struct net_conf *c, const char *vm_id, struct err *e)
{
	struct nat_rules rules = {0};
	struct buf s = BUF_INIT;
	size_t gone;
	int rc = -1, lock = -2;

	if (!net_vm_id_valid(vm_id))
		return err_set(e, ERR_INVALID, "invalid VM id \"%s\"", vm_id);
	if (!nft_installed())
		return 0; /* without nft there can be no rules */
	if ((lock = nat_lock(c, e)) == -1 || rules_read(&rules, e) < 0)
		goto out;
	gone = script_delete(&s, &rules, vm_id);
	/* The last rule of any VM takes the table (and forwarding) with it. */
	if (rules.table_exists && gone == rules.n)
		buf_printf(&s, "delete table ip %s\n", NET_NFT_TABLE);
	if (s.len && nft_apply(c, buf_str(&s), e) < 0)
		goto out;
	if (gone == rules.n && fwd_restore(c, e) < 0)
		goto out;
	rc = 0;
out:
	nat_unlock(lock);
	free(rules.r);
	buf_free(&s);
	return rc < 0 ? err_wrap(e, "remove NAT of VM %s", vm_id) : 0;
}

int net_nat_list(const struct net_conf *c, struct net_list *out, struct err *e)
{
	struct nat_rules rules = {0};

	(void)c;
	if (!nft_installed())
		return 0; /* without nft there can be no rules */
	if (rules_read(&rules, e) < 0)
		return -1;
	for (size_t i = 0; i < rules.n; i++)
		if (rules.r[i].vm_id[0] && !net_list_has(out, rules.r[i].vm_id))
			net_list_add(out, rules.r[i].vm_id);
	free(rules.r);
	return 0;
}
