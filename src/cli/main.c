/*
 * banger: the CLI. `banger <group> <command> [options]`; `--help` anywhere.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/size.h"

static const struct cli_cmd *const tables[] = {
    cli_vm_cmds,    cli_vm_cp_cmds,  cli_vm_port_cmds, cli_vm_copy_cmds,
    cli_image_cmds, cli_daemon_cmds, cli_daemon_unit_cmds, cli_misc_cmds,
    cli_doctor_cmds,
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static const struct {
	const char *name;
	const char *summary;
} groups[] = {
	{"vm", "create, run and manage VMs"},
	{"image", "manage base images"},
	{"daemon", "inspect and control bangerd"},
};

struct client *cli_client(struct cli *c, struct err *e)
{
	if (!c->client && client_open(&c->paths, 1, &c->client, e) < 0)
		return NULL;
	return c->client;
}

void cli_usage(const struct cli_cmd *cmd)
{
	printf("usage: banger %s%s%s %s\n\n%s\n", cmd->group ? cmd->group : "",
	       cmd->group ? " " : "", cmd->name, cmd->args, cmd->summary);
	if (cmd->help)
		printf("\noptions:\n%s", cmd->help);
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int cli_usage_error(const struct cli_cmd *cmd, struct err *e, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(e, ERR_INVALID, "%s%s%s: %s", cmd->group ? cmd->group : "", cmd->group ? " " : "",
		cmd->name, msg);
	err_hint(e, "usage: banger %s%s%s %s", cmd->group ? cmd->group : "", cmd->group ? " " : "",
		 cmd->name, cmd->args);
	return -1;
}

int cli_body_str(json_t *body, const char *key, const char *opt, const char *value, struct err *e)
{
	json_t *s = json_string(value);

	if (!s) {
		err_set(e, ERR_INVALID, "%s \"%s\" is not valid UTF-8 text", opt, ERR_Q(value));
		err_hint(e, "names, sizes and paths must be UTF-8 (names: a-z, 0-9 and hyphens)");
		return -1;
	}
	json_object_set_new(body, key, s);
	return 0;
}

int cli_body_path(json_t *body, const char *key, const char *opt, const char *path, struct err *e)
{
	char *real = realpath(path, NULL), *abs = NULL, cwd[PATH_MAX];
	int ret;

	if (!real && path[0] && path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		abs = xasprintf("%s/%s", cwd, path);
	ret = cli_body_str(body, key, opt, real ? real : abs ? abs : path, e);
	free(real);
	free(abs);
	return ret;
}

const char *cli_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

enum vm_state cli_vm_state(json_t *vm)
{
	enum vm_state s = VM_STATE_COUNT;

	vm_state_parse(cli_str(vm, "state"), &s);
	return s;
}

long long cli_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
}

void cli_print_error(const char *prefix, const struct err *e)
{
	char msg[ERR_MSG_MAX + 2 * ERR_AUX_MAX];

	err_format(e, msg, sizeof(msg));
	fprintf(stderr, "%s: %s\n", prefix, msg);
}

void cli_fmt_bytes(long long bytes, char *buf, size_t len)
{
	size_format(bytes, buf, len);
}

static void main_usage(FILE *out)
{
	fprintf(out, "usage: banger <command> [options]\n\n"
		     "banger runs persistent development VMs (Firecracker, or QEMU when\n"
		     "Firecracker is not available).\n\ncommands:\n");
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		fprintf(out, "  %-22s %s\n", groups[g].name, groups[g].summary);
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct cli_cmd *c = tables[t]; c->name; c++)
			if (!c->group)
				fprintf(out, "  %-22s %s\n", c->name, c->summary);
	fprintf(out, "\nRun `banger <command> --help` for details. `banger --version` prints "
		     "the version.\n");
}

static void group_usage(const char *group, FILE *out)
{
	fprintf(out, "usage: banger %s <command> [options]\n\ncommands:\n", group);
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct cli_cmd *c = tables[t]; c->name; c++)
			if (c->group && strcmp(c->group, group) == 0)
				fprintf(out, "  %-10s %-34s %s\n", c->name, c->args, c->summary);
	fprintf(out, "\nRun `banger %s <command> --help` for details.\n", group);
}

static const struct cli_cmd *find(const char *group, const char *name)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct cli_cmd *c = tables[t]; c->name; c++)
			if (((!group && !c->group) || (group && c->group && !strcmp(group, c->group))) &&
			    strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

static int is_group(const char *s)
{
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		if (strcmp(groups[g].name, s) == 0)
			return 1;
	return 0;
}

static int run(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	const char *group = NULL;
	struct err e;
	int rc;

	err_clear(&e);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_usage(stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("banger %s\n", BANGER_VERSION);
		return 0;
	}
	argv++;
	argc--;
	if (is_group(argv[0])) {
		group = argv[0];
		if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			group_usage(group, argc < 2 ? stderr : stdout);
			return argc < 2 ? 2 : 0;
		}
		argv++;
		argc--;
	}
	cmd = find(group, argv[0]);
	if (!cmd) {
		fprintf(stderr, "banger: unknown command \"%s%s%s\"\n", group ? group : "",
			group ? " " : "", ERR_Q(argv[0]));
		if (group)
			group_usage(group, stderr);
		else
			main_usage(stderr);
		return 2;
	}
	if (cli_wants_help(argc, argv)) {
		cli_usage(cmd);
		return 0;
	}
	if (paths_init(&c->paths, &e) < 0) {
		cli_print_error("banger", &e);
		return 1;
	}
	rc = cmd->fn(c, cmd, argc, argv, &e);
	if (rc < 0) {
		cli_print_error("banger", &e);
		return e.code == ERR_INVALID && strstr(e.hint, "usage:") ? 2 : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = {.prog = argv[0]};
	int rc = run(&c, argc, argv);

	client_close(c.client);
	paths_free(&c.paths);
	return rc;
}
