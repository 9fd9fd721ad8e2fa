/* cmd_daemon: `banger daemon status|socket|stop|logs`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/proc.h"

static int no_args(const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	if (argc > 1)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", ERR_Q(argv[1]));
	return 0;
}

static int cmd_status(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	struct client *cl;
	json_t *st = NULL, *net;
	int json = cli_flag(c, "json");

	if (no_args(cmd, argc, argv, e) < 0)
		return -1;
	if (!(cl = cli_client(c, e)) || client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0)
		return -1;
	if (json) {
		cli_print_json(st);
	} else {
		printf("bangerd is running\n");
		printf("  pid:          %lld\n",
		       (long long)json_integer_value(json_object_get(st, "pid")));
		printf("  socket:       %s\n", cli_str(st, "socket"));
		printf("  log:          %s\n", cli_str(st, "log"));
		printf("  state:        %s\n", cli_str(st, "state_dir"));
		printf("  runtime:      %s\n", cli_str(st, "runtime_dir"));
		printf("  version:      %s\n", cli_str(st, "version"));
		net = json_object_get(st, "network");
		if (json_is_true(json_object_get(net, "enabled"))) {
			printf("  bridge:       %s %s\n", cli_str(net, "bridge"),
			       cli_str(net, "subnet"));
			printf("  dns:          %s\n", cli_str(net, "dns"));
			if (cli_str(net, "dns_hint")[0])
				printf("                %s\n", cli_str(net, "dns_hint"));
		} else {
			printf("  network:      off%s%s\n", cli_str(net, "reason")[0] ? ": " : "",
			       cli_str(net, "reason"));
		}
	}
	json_decref(st);
	return 0;
}

static int cmd_socket(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	if (no_args(cmd, argc, argv, e) < 0)
		return -1;
	printf("%s\n", c->paths.socket);
	return 0;
}

static int cmd_stop(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct client *cl = NULL;
	json_t *st = NULL, *r = NULL;
	pid_t pid;
	int activated;
	long long t0;

	if (no_args(cmd, argc, argv, e) < 0)
		return -1;
	if (!client_ping(c->paths.socket)) {
		printf("bangerd is not running\n");
		return 0;
	}
	if (client_open(&c->paths, 0, &cl, e) < 0)
		return -1;
	c->client = cl;
	if (client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0)
		return -1;
	pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
	/* systemd keeps listening on a socket it passed: only the pid ends. */
	activated = json_is_true(json_object_get(st, "socket_activated"));
	json_decref(st);
	if (client_call(cl, "POST", "/v1/daemon/stop", NULL, &r, e) < 0)
		return -1;
	json_decref(r);
	t0 = mono_ms();
	while (proc_alive(pid, -1) || (!activated && client_ping(c->paths.socket))) {
		if (mono_ms() - t0 > 30000) {
			err_set(e, ERR_UNAVAILABLE, "bangerd (pid %d) did not stop within 30 s",
				(int)pid);
			err_log(e, c->paths.log);
			return -1;
		}
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
	printf("bangerd stopped (VMs keep running)\n");
	if (activated)
		printf("bangerd.socket still listens: the next banger command starts it again "
		       "(`systemctl --user stop bangerd.socket` to stop that)\n");
	return 0;
}

/* `daemon logs`: bangerd.log as readable lines, or raw JSON. */
struct log_filter {
	const char *vm;
	enum log_level min;
	int json;
};

static void print_log_line(const char *line, const struct log_filter *f)
{
	json_t *j = json_loads(line, 0, NULL);
	enum log_level lv = LOG_INFO;
	const char *k;
	json_t *v;

	if (!j)
		return;
	log_level_parse(cli_str(j, "level"), &lv, NULL);
	if (lv < f->min || (f->vm && strcmp(cli_str(j, "vm"), f->vm) != 0)) {
		json_decref(j);
		return;
	}
	if (f->json) {
		printf("%s\n", line);
		json_decref(j);
		return;
	}
	printf("%s %-5s %s", cli_str(j, "time"), cli_str(j, "level"), cli_str(j, "msg"));
	json_object_foreach(j, k, v)
	{
		if (!strcmp(k, "time") || !strcmp(k, "level") || !strcmp(k, "msg"))
			continue;
		if (json_is_string(v))
			printf(" %s=%s", k, json_string_value(v));
		else {
			char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			printf(" %s=%s", k, s ? s : "?");
			free(s);
		}
	}
	printf("\n");
	json_decref(j);
}

static int cmd_logs(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct log_filter f = {cli_val(c, "vm"), LOG_DEBUG, cli_flag(c, "json")};
	int follow = cli_flag(c, "follow");
	const char *level = cli_val(c, "level");
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	long long off = 0;

	if (no_args(cmd, argc, argv, e) < 0)
		return -1;
	if (level && log_level_parse(level, &f.min, e) < 0) {
		e->code = ERR_USAGE;
		return err_wrap(e, "daemon logs --level");
	}
	for (;;) {
		in = fopen(c->paths.log, "re");
		if (!in && !follow)
			return err_errno(e, errno, "open %s", c->paths.log);
		if (in) {
			fseek(in, off, SEEK_SET);
			while (getline(&line, &cap, in) > 0) {
				size_t n = strlen(line);

				if (line[n - 1] != '\n')
					break; /* partial line: read it next round */
				line[n - 1] = '\0';
				off += (long long)n;
				print_log_line(line, &f);
			}
			fclose(in);
			fflush(stdout);
		}
		if (!follow)
			break;
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
	}
	free(line);
	return 0;
}

static const struct cli_opt status_opts[] = {
    {"json", 0, NULL, "print the daemon's status as JSON (the API object)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt logs_opts[] = {
    {"follow", 'f', NULL, "keep printing new lines", NULL},
    {"level", 0, "LEVEL", "only this level and above (debug, info, warn, error)",
     "debug info warn error"},
    {"vm", 0, "NAME", "only lines about this VM", "@vms"},
    {"json", 0, NULL, "print the raw JSON lines", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_daemon_cmds[] = {
    {"daemon", "status", "", "show the daemon's pid, socket and log", NULL, cmd_status, status_opts,
     NULL, 0},
    {"daemon", "socket", "", "print the API socket path", NULL, cmd_socket, no_opts, NULL, 0},
    {"daemon", "stop", "", "stop bangerd (running VMs keep running)", NULL, cmd_stop, no_opts, NULL,
     0},
    {"daemon", "logs", "", "print bangerd.log as readable lines", NULL, cmd_logs, logs_opts, NULL,
     0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
