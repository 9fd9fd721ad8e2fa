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

/* Other command files add their table here (and its extern in cli.h). */
const struct cli_cmd *const cli_tables[] = {cli_vm_cmds,
					    cli_vm_cp_cmds,
					    cli_vm_port_cmds,
					    cli_vm_mount_cmds,
					    cli_vm_copy_cmds,
					    cli_image_cmds,
					    cli_daemon_cmds,
					    cli_daemon_unit_cmds,
					    cli_misc_cmds,
					    cli_doctor_cmds,
					    cli_completion_cmds,
					    cli_man_cmds,
					    NULL};

const struct cli_group cli_groups[] = {
    {"vm", "create, run and manage VMs"},
    {"image", "manage base images"},
    {"daemon", "inspect and control bangerd"},
    {NULL, NULL},
};

struct client *cli_client(struct cli *c, struct err *e)
{
	if (!c->client && client_open(&c->paths, 1, &c->client, e) < 0)
		return NULL;
	return c->client;
}

int cli_body_str(json_t *body, const char *key, const char *opt, const char *value, struct err *e)
{
	json_t *s = json_string(value);

	if (!s) {
		err_set(e, ERR_USAGE, "%s \"%s\" is not valid UTF-8 text", opt, ERR_Q(value));
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
	for (const struct cli_group *g = cli_groups; g->name; g++)
		fprintf(out, "  %-22s %s\n", g->name, g->summary);
	for (size_t t = 0; cli_tables[t]; t++)
		for (const struct cli_cmd *c = cli_tables[t]; c->name; c++)
			if (!c->group && !c->hidden)
				fprintf(out, "  %-22s %s\n", c->name, c->summary);
	fprintf(out, "\nRun `banger <command> --help` for details. `banger --version` prints "
		     "the version.\n\n"
		     "exit status:\n"
		     "  0  success\n"
		     "  1  the command failed\n"
		     "  2  bad options or arguments (nothing was done)\n"
		     "  3  partly done: given several names, it failed for some of them\n");
}

static void group_usage(const char *group, FILE *out)
{
	fprintf(out, "usage: banger %s <command> [options]\n\ncommands:\n", group);
	for (size_t t = 0; cli_tables[t]; t++)
		for (const struct cli_cmd *c = cli_tables[t]; c->name; c++)
			if (c->group && strcmp(c->group, group) == 0 && !c->hidden) {
				char args[128];

				snprintf(args, sizeof(args), "%s%s",
					 c->opts && c->opts[0].name ? "[options] " : "", c->args);
				fprintf(out, "  %-10s %-30s %s\n", c->name, args, c->summary);
			}
	fprintf(out, "\nRun `banger %s <command> --help` for details.\n", group);
}

static const struct cli_cmd *find(const char *group, const char *name)
{
	for (size_t t = 0; cli_tables[t]; t++)
		for (const struct cli_cmd *c = cli_tables[t]; c->name; c++)
			if (((!group && !c->group) ||
			     (group && c->group && !strcmp(group, c->group))) &&
			    strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

static int is_group(const char *s)
{
	for (const struct cli_group *g = cli_groups; g->name; g++)
		if (strcmp(g->name, s) == 0)
			return 1;
	return 0;
}

/* The exit status of a failed command: from the error's code alone. */
static int exit_status(const struct err *e)
{
	return e->code == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

static int run(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd;
	const char *group = NULL;
	char **pos = NULL;
	int npos, rc;
	struct err e;

	err_clear(&e);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
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
			return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
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
		return CLI_EXIT_USAGE;
	}
	if (cli_wants_help(argc, argv)) {
		cli_usage(cmd);
		return 0;
	}
	if (cmd->opts) {
		if (cli_parse(cmd, argc, argv, &c->parsed, &npos, &pos, &e) < 0) {
			cli_print_error("banger", &e);
			return exit_status(&e);
		}
		c->opt = &c->parsed;
		argc = npos;
		argv = pos;
	}
	if (paths_init(&c->paths, &e) < 0) {
		cli_print_error("banger", &e);
		free(pos);
		return CLI_EXIT_FAIL;
	}
	rc = cmd->fn(c, cmd, argc, argv, &e);
	c->opt = NULL;
	free(pos);
	if (rc < 0) {
		cli_print_error("banger", &e);
		return exit_status(&e);
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
