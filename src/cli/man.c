/*
 * man: hidden commands that expose the command tables to the build and the
 * tests. `banger __man TEMPLATE` prints the scdoc source of banger(1): the
 * template (the prose) with its @COMMANDS@ line replaced by every command
 * and option, so the page cannot miss one. `banger __commands` prints the
 * tables as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"
#include "util/fs.h"

/* Text with scdoc's inline markup characters escaped. */
static void scd_text(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '*' || *s == '_' || *s == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
}

static void man_cmd(struct buf *b, const struct cli_cmd *c)
{
	const char *g = c->group ? c->group : "";
	const char *sp = c->group ? " " : "";

	buf_printf(b, "## %s%s%s\n\n*banger %s%s%s*", g, sp, c->name, g, sp, c->name);
	if (c->opts && c->opts[0].name)
		buf_puts(b, " [_options_]");
	if (c->args[0]) {
		buf_putc(b, ' ');
		scd_text(b, c->args);
	}
	buf_puts(b, "\n\n");
	scd_text(b, c->summary);
	buf_puts(b, ".\n\n");
	if (!c->opts) {
		if (c->help)
			buf_printf(b, "```\n%s```\n\n", c->help);
		return;
	}
	for (const struct cli_opt *o = c->opts; o->name; o++) {
		if (o->short_name)
			buf_printf(b, "*-%c*, ", o->short_name);
		buf_printf(b, "*--%s*", o->name);
		if (o->value) {
			buf_puts(b, " _");
			scd_text(b, o->value);
			buf_putc(b, '_');
		}
		buf_puts(b, "\n\t");
		for (const char *h = o->help; *h; h++) {
			if (*h == '\n') {
				buf_puts(b, "\n\t");
				continue;
			}
			if (*h == '*' || *h == '_' || *h == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *h);
		}
		buf_puts(b, ".\n\n");
	}
}

/* The command sections: groups in their order, then top-level commands. */
static void man_commands(struct buf *b)
{
	for (const struct cli_group *g = cli_groups; g->name; g++)
		for (size_t t = 0; cli_tables[t]; t++)
			for (const struct cli_cmd *c = cli_tables[t]; c->name; c++)
				if (!c->hidden && c->group && !strcmp(c->group, g->name))
					man_cmd(b, c);
	for (size_t t = 0; cli_tables[t]; t++)
		for (const struct cli_cmd *c = cli_tables[t]; c->name; c++)
			if (!c->hidden && !c->group)
				man_cmd(b, c);
}

static int cmd_man(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct buf out = BUF_INIT;
	char *text = NULL, *line, *next;
	size_t len;

	(void)c;
	if (argc != 2)
		return cli_usage_error(cmd, e, "give the template (docs/man/banger.1.scd)");
	if (fs_read(argv[1], 1 << 20, &text, &len, e) < 0)
		return -1;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strcmp(line, "@COMMANDS@") == 0)
			man_commands(&out);
		else if (strcmp(line, "@VERSION@") == 0)
			buf_printf(&out, "%s\n", BANGER_VERSION);
		else
			buf_printf(&out, "%s\n", line);
	}
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	free(text);
	return 0;
}

static const char *or_null(const char *s)
{
	return s ? s : "";
}

static int cmd_commands(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
			struct err *e)
{
	json_t *all = json_array();

	(void)c;
	(void)argv;
	if (argc > 1) {
		json_decref(all);
		return cli_usage_error(cmd, e, "takes no arguments");
	}
	for (size_t t = 0; cli_tables[t]; t++)
		for (const struct cli_cmd *k = cli_tables[t]; k->name; k++) {
			json_t *o =
			    json_pack("{s:s?,s:s,s:s,s:s,s:s?,s:b,s:b}", "group", k->group, "name",
				      k->name, "args", k->args, "summary", k->summary, "complete",
				      k->complete, "hidden", k->hidden, "parsed", k->opts != NULL);
			json_t *opts = json_array();

			for (const struct cli_opt *p = k->opts; p && p->name; p++) {
				char s[2] = {p->short_name, 0};

				json_array_append_new(
				    opts, json_pack("{s:s,s:s,s:s?,s:s,s:s?}", "name", p->name,
						    "short", s, "value", p->value, "help", p->help,
						    "complete", p->complete));
			}
			json_object_set_new(o, "opts", opts);
			json_object_set_new(o, "usage", json_string(or_null(k->help)));
			json_array_append_new(all, o);
		}
	cli_print_json(all);
	json_decref(all);
	return 0;
}

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_man_cmds[] = {
    {NULL, "__man", "TEMPLATE", "print banger(1) in scdoc from its template (hidden)", NULL,
     cmd_man, no_opts, "@file", 1},
    {NULL, "__commands", "", "print the command tables as JSON (hidden)", NULL, cmd_commands,
     no_opts, NULL, 1},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
