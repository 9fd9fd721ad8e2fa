/*
 * net_ops: see net_ops.h.
 *
 * Privilege: this file runs inside bangerd. With use_helper it crosses the
 * privilege line only through `sudo -n banger-netd ...` (never a shell,
 * never a password prompt: -n fails instead of asking).
 */
#include "net/net_ops.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net_netd.h"
#include "util/buf.h"
#include "util/spawn.h"

int net_ops_need_helper(void)
{
	return geteuid() != 0;
}

/* The value after "prefix" on a line of text, copied into out. */
static int line_value(const char *text, const char *prefix, char *out, size_t len)
{
	size_t plen = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, plen) == 0) {
			const char *v = p + plen, *end = strchr(v, '\n');

			snprintf(out, len, "%.*s", (int)(end ? (size_t)(end - v) : strlen(v)), v);
			return 1;
		}
	}
	return 0;
}

static int sudo_refused(const struct net_conf *c, const char *out, struct err *e)
{
	struct passwd *pw = getpwuid(getuid());
	char line[256] = "";

	line_value(out, "sudo: ", line, sizeof(line));
	err_set(e, ERR_PERMISSION, "sudo refused to run the network helper %s as root%s%s",
		c->helper_path, line[0] ? ": " : "", line);
	err_hint(e,
		 "add this sudoers line (visudo -f /etc/sudoers.d/banger): "
		 "%s ALL=(root) NOPASSWD: %s",
		 pw ? pw->pw_name : "YOUR_USER", c->helper_path);
	return -1;
}

/* Turns the helper's stderr report (see banger_netd.c) back into e. */
static int helper_failed(const struct net_conf *c, const char *op, int status, const char *out,
			 struct err *e)
{
	char msg[ERR_MSG_MAX], hint[ERR_AUX_MAX] = "", code[32] = "";

	if (!line_value(out, "banger-netd: ", msg, sizeof(msg))) {
		if (status == 1 && strstr(out, "sudo"))
			return sudo_refused(c, out, e);
		return err_set(e, ERR_INTERNAL, "%s %s: exit status %d: %.300s", c->helper_path, op,
			       status, out);
	}
	line_value(out, "hint: ", hint, sizeof(hint));
	line_value(out, "error-code: ", code, sizeof(code));
	err_set(e, code[0] ? err_code_from_name(code) : ERR_INTERNAL, "%s", msg);
	if (hint[0])
		err_hint(e, "%s", hint);
	return -1;
}

/* Runs `sudo -n HELPER args...`; on success *out (may be NULL) gets stdout. */
static int helper_run(const struct net_conf *c, const char *const args[], char **out, struct err *e)
{
	const char *argv[12] = {"sudo", "-n", c->helper_path};
	struct spawn_opts o = {.log_path = c->log_path, .capture = 1};
	struct spawn_result r;
	size_t n = 3;
	int rc = -1;

	if (!c->helper_path || access(c->helper_path, X_OK) != 0) {
		err_set(e, ERR_NOT_FOUND, "network helper %s not found",
			c->helper_path ? c->helper_path : "banger-netd");
		err_hint(e, "install banger-netd next to bangerd, set `netd_path` in "
			    "config.toml, or run bangerd as root");
		return -1;
	}
	for (size_t i = 0; args[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = args[i];
	if (spawn_run(argv, &o, &r, e) < 0) {
		if (e && e->code == ERR_MISSING_TOOL)
			err_hint(e,
				 "install sudo (apt-get install sudo) and allow %s in sudoers, "
				 "or run bangerd as root",
				 c->helper_path);
		return -1;
	}
	if (r.status != 0) {
		helper_failed(c, args[0], r.status, r.out ? r.out : "", e);
		goto done;
	}
	if (out) {
		*out = r.out;
		r.out = NULL;
	}
	rc = 0;
done:
	free(r.out);
	return rc;
}

int net_ops_bridge_up(const struct net_conf *c, struct err *e)
{
	const char *args[] = {"bridge-up", c->bridge, c->subnet, NULL};

	return c->use_helper ? helper_run(c, args, NULL, e) : net_bridge_ensure(c, e);
}

int net_ops_bridge_down(const struct net_conf *c, struct err *e)
{
	const char *args[] = {"bridge-down", c->bridge, NULL};

	return c->use_helper ? helper_run(c, args, NULL, e) : net_bridge_remove(c, e);
}

int net_ops_tap_add(const struct net_conf *c, const char *tap, unsigned uid, struct err *e)
{
	char uids[16];
	const char *args[] = {"tap-add", tap, c->bridge, uids, NULL};

	snprintf(uids, sizeof(uids), "%u", uid);
	return c->use_helper ? helper_run(c, args, NULL, e) : net_tap_create(c, tap, uid, e);
}

int net_ops_tap_del(const struct net_conf *c, const char *tap, struct err *e)
{
	const char *args[] = {"tap-del", tap, NULL};

	return c->use_helper ? helper_run(c, args, NULL, e) : net_tap_delete(c, tap, e);
}

int net_ops_tap_park(const struct net_conf *c, const char *tap, const char *spare, struct err *e)
{
	if (c->use_helper)
		return err_set(e, ERR_UNAVAILABLE, "taps are not parked through the helper");
	return net_tap_park(c, tap, spare, e);
}

int net_ops_tap_unpark(const struct net_conf *c, const char *spare, const char *tap, struct err *e)
{
	if (c->use_helper)
		return err_set(e, ERR_UNAVAILABLE, "taps are not parked through the helper");
	return net_tap_unpark(c, spare, tap, e);
}

int net_ops_nat_add(const struct net_conf *c, const char *vm_id, const char *tap, const char *ip,
		    struct err *e)
{
	const char *args[] = {"nat-add", vm_id, tap, ip, c->bridge, c->subnet, NULL};

	return c->use_helper ? helper_run(c, args, NULL, e) : net_nat_add(c, vm_id, tap, ip, e);
}

int net_ops_nat_del(const struct net_conf *c, const char *vm_id, struct err *e)
{
	const char *args[] = {"nat-del", vm_id, NULL};

	return c->use_helper ? helper_run(c, args, NULL, e) : net_nat_remove(c, vm_id, e);
}

int net_ops_nat_list(const struct net_conf *c, struct net_list *out, struct err *e)
{
	const char *args[] = {"nat-list", NULL};
	char *text = NULL, *save = NULL;

	if (!c->use_helper)
		return net_nat_list(c, out, e);
	if (helper_run(c, args, &text, e) < 0)
		return -1;
	/* stdout and stderr arrive merged: keep only lines that are VM ids. */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (net_vm_id_valid(l) && !net_list_has(out, l))
			net_list_add(out, l);
	free(text);
	return 0;
}

int net_ops_tap_list(const struct net_conf *c, struct net_list *out, struct err *e)
{
	(void)c;
	return net_tap_list(out, e);
}
