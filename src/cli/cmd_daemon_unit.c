/*
 * cmd_daemon_unit: `banger daemon install|uninstall`, the systemd user
 * units. install writes bangerd.socket and bangerd.service into the user's
 * unit directory ($XDG_CONFIG_HOME/systemd/user), with ExecStart the
 * bangerd next to this banger and the environment this CLI locates its
 * files with, then enables them; uninstall disables and removes them.
 * Without systemd nothing changes: the CLI's auto-start needs none.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/spawn.h"

#define NO_SYSTEMD_HINT                                                                            \
	"without systemd, bangerd still starts on demand: any banger command starts it"

static char *unit_dir(void)
{
	const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (cfg && cfg[0] == '/')
		return xasprintf("%s/systemd/user", cfg);
	return xasprintf("%s/.config/systemd/user", home ? home : "");
}

/* The bangerd next to this banger, absolute. */
static char *bangerd_exe(struct err *e)
{
	char exe[PATH_MAX], *slash, *p;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return err_errno(e, errno, "read /proc/self/exe"), NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	p = xasprintf("%s/bangerd", exe);
	if (access(p, X_OK) == 0)
		return p;
	err_set(e, ERR_NOT_FOUND, "bangerd is not next to banger (%s)", p);
	err_hint(e, "install both with `make install`");
	free(p);
	return NULL;
}

/* A value for a unit file, quoted: systemd expands % specifiers and C
 * escapes inside quotes. A newline cannot be written: NULL. */
static char *unit_quote(const char *s)
{
	struct buf b = BUF_INIT;

	if (strchr(s, '\n'))
		return NULL;
	buf_putc(&b, '"');
	for (; *s; s++) {
		if (*s == '%')
			buf_putc(&b, '%');
		else if (*s == '"' || *s == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *s);
	}
	buf_putc(&b, '"');
	return buf_steal(&b);
}

/* Runs systemctl --user ARGS; -1 with a message that says what it means
 * when systemctl is missing or the user manager does not answer. */
static int systemctl(const char *a1, const char *a2, const char *a3, const char *a4, struct err *e)
{
	const char *argv[] = {"systemctl", "--user", a1, a2, a3, a4, NULL};
	struct spawn_opts o = {0};
	struct spawn_result r;
	struct buf cmd = BUF_INIT;

	for (int i = 0; argv[i]; i++)
		buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
	if (spawn_run(argv, &o, &r, e) < 0) {
		err_set(e, ERR_MISSING_TOOL, "systemctl is not installed: no systemd here");
		err_hint(e, NO_SYSTEMD_HINT);
		buf_free(&cmd);
		return -1;
	}
	if (r.status != 0) {
		char *tail = r.tail;

		tail[strcspn(tail, "\n")] = '\0';
		err_set(e, ERR_UNAVAILABLE, "`%s` failed (status %d): %s", buf_str(&cmd), r.status,
			tail[0] ? tail : "no output");
		buf_free(&cmd);
		return -1;
	}
	buf_free(&cmd);
	return 0;
}

/* Is there a user manager to talk to? Nothing is written before this. */
static int probe(struct err *e)
{
	if (systemctl("show-environment", NULL, NULL, NULL, e) == 0)
		return 0;
	if (e->code == ERR_UNAVAILABLE) {
		err_wrap(e,
			 "systemctl --user is unavailable (no systemd user manager or no user bus "
			 "in this session)");
		err_hint(e, "log in with a systemd session (XDG_RUNTIME_DIR and the user bus "
			    "set); " NO_SYSTEMD_HINT);
	}
	return -1;
}

static void socket_text(const struct paths *p, struct buf *b)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *t = rt ? xasprintf("%s/banger/bangerd.sock", rt) : NULL;
	char *q = unit_quote(p->socket);

	buf_puts(b, "# Written by `banger daemon install`; `banger daemon uninstall` removes it.\n"
		    "[Unit]\nDescription=banger daemon API socket\nDocumentation=man:bangerd(8)\n\n"
		    "[Socket]\n");
	/* %t is the manager's $XDG_RUNTIME_DIR: the same path when this CLI's
	 * is the usual one, else the path this CLI dials. */
	buf_printf(b, "ListenStream=%s\n",
		   t && strcmp(t, p->socket) == 0 ? "%t/banger/bangerd.sock"
		   : q				  ? q
						  : p->socket);
	buf_puts(b, "SocketMode=0600\nDirectoryMode=0700\n\n[Install]\nWantedBy=sockets.target\n");
	free(t);
	free(q);
}

static int service_text(const char *bangerd, struct buf *b, struct err *e)
{
	/* What locates banger's config, state and tools: the user manager's
	 * environment may lack this shell's settings. */
	static const char *const vars[] = {"XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
					   "PATH"};
	char *q = unit_quote(bangerd);

	if (!q)
		return err_set(e, ERR_INVALID, "the path of bangerd has a newline: %s",
			       ERR_Q(bangerd));
	buf_puts(b, "# Written by `banger daemon install`; `banger daemon uninstall` removes it.\n"
		    "[Unit]\nDescription=banger daemon (persistent Firecracker/QEMU dev VMs)\n"
		    "Documentation=man:bangerd(8)\nRequires=bangerd.socket\n"
		    "After=bangerd.socket\n\n[Service]\nType=simple\n");
	buf_printf(b, "ExecStart=%s\n", q);
	free(q);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		char *kv, *qkv;

		if (!v || !v[0])
			continue;
		kv = xasprintf("%s=%s", vars[i], v);
		qkv = unit_quote(kv);
		if (qkv)
			buf_printf(b, "Environment=%s\n", qkv);
		free(kv);
		free(qkv);
	}
	buf_puts(b, "# VMs outlive bangerd (the next one re-adopts them): stop bangerd only.\n"
		    "KillMode=process\nTimeoutStopSec=35\nRestart=on-failure\nRestartSec=2\n\n"
		    "[Install]\nWantedBy=default.target\nAlso=bangerd.socket\n");
	return 0;
}

/* A bangerd that bound the socket itself would lose it to systemd's:
 * stop it (its VMs keep running) so that the next one is systemd's. */
static int stop_unmanaged(struct cli *c, struct err *e)
{
	struct client *cl = NULL;
	json_t *st = NULL, *r = NULL;
	long long t0;
	pid_t pid;
	int ret = -1;

	if (!client_ping(c->paths.socket))
		return 0;
	if (client_open(&c->paths, 0, &cl, e) < 0 ||
	    client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0)
		goto out;
	if (json_is_true(json_object_get(st, "socket_activated"))) {
		ret = 0;
		goto out;
	}
	pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	if (client_call(cl, "POST", "/v1/daemon/stop", NULL, &r, e) < 0)
		goto out;
	for (t0 = mono_ms(); proc_alive(pid, -1); nanosleep(&(struct timespec){0, 20000000}, NULL))
		if (mono_ms() - t0 > 30000) {
			err_set(e, ERR_UNAVAILABLE, "bangerd (pid %d) did not stop within 30 s",
				(int)pid);
			goto out;
		}
	printf("stopped bangerd (pid %d), which was not started by systemd; its VMs keep running\n",
	       (int)pid);
	ret = 0;
out:
	json_decref(st);
	json_decref(r);
	client_close(cl);
	return ret;
}

static int cmd_install(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		       struct err *e)
{
	char *dir = unit_dir(), *bangerd = NULL, *sock = NULL, *svc = NULL;
	struct buf st = BUF_INIT, sv = BUF_INIT;
	int ret = -1;

	if (argc > 1) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[1]);
		goto out;
	}
	if (!(bangerd = bangerd_exe(e)) || service_text(bangerd, &sv, e) < 0 || probe(e) < 0)
		goto out;
	socket_text(&c->paths, &st);
	sock = xasprintf("%s/bangerd.socket", dir);
	svc = xasprintf("%s/bangerd.service", dir);
	if (fs_mkdir_p(dir, 0755, e) < 0 || fs_write_atomic(sock, st.data, st.len, 0644, e) < 0 ||
	    fs_write_atomic(svc, sv.data, sv.len, 0644, e) < 0)
		goto out;
	printf("wrote %s\nwrote %s\n", sock, svc);
	if (systemctl("daemon-reload", NULL, NULL, NULL, e) < 0 || stop_unmanaged(c, e) < 0 ||
	    systemctl("enable", "--now", "bangerd.socket", NULL, e) < 0 ||
	    systemctl("enable", "bangerd.service", NULL, NULL, e) < 0)
		goto out;
	printf("enabled bangerd.socket (listening on %s) and bangerd.service (starts at login "
	       "and on the first request)\n",
	       c->paths.socket);
	ret = 0;
out:
	buf_free(&st);
	buf_free(&sv);
	free(dir);
	free(bangerd);
	free(sock);
	free(svc);
	return ret < 0 ? err_wrap(e, "daemon install") : 0;
}

static int cmd_uninstall(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
			 struct err *e)
{
	char *dir = unit_dir(), *files[2];
	struct err de;
	int disabled, removed = 0, ret = -1;

	(void)c;
	files[0] = xasprintf("%s/bangerd.socket", dir);
	files[1] = xasprintf("%s/bangerd.service", dir);
	if (argc > 1) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[1]);
		goto out;
	}
	if (probe(e) < 0)
		goto out;
	/* Stopping the service stops bangerd only (KillMode=process): VMs
	 * keep running, and the next banger command starts bangerd itself. */
	disabled = systemctl("disable", "--now", "bangerd.socket", "bangerd.service", &de) == 0;
	for (int i = 0; i < 2; i++) {
		if (unlink(files[i]) == 0) {
			printf("removed %s\n", files[i]);
			removed++;
		} else if (errno != ENOENT) {
			err_errno(e, errno, "remove %s", files[i]);
			goto out;
		}
	}
	if (!disabled && !removed) {
		*e = de;
		err_hint(e, "banger's units are not installed (nothing in %s)", dir);
		goto out;
	}
	if (systemctl("daemon-reload", NULL, NULL, NULL, e) < 0)
		goto out;
	printf("bangerd.socket and bangerd.service are disabled; banger starts bangerd on demand "
	       "again\n");
	ret = 0;
out:
	free(dir);
	free(files[0]);
	free(files[1]);
	return ret < 0 ? err_wrap(e, "daemon uninstall") : 0;
}

const struct cli_cmd cli_daemon_unit_cmds[] = {
    {"daemon", "install", "", "run bangerd under systemd --user (socket activation, at login)",
     "  writes bangerd.socket and bangerd.service to $XDG_CONFIG_HOME/systemd/user\n"
     "  and enables them; autostart VMs then come back at login\n",
     cmd_install},
    {"daemon", "uninstall", "", "disable and remove the systemd user units", NULL, cmd_uninstall},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
