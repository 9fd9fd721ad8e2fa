/*
 * opts: the one option parser of the CLI, driven by each command's option
 * table, and the usage text generated from the same table.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"

static const char *group_sp(const struct cli_cmd *cmd)
{
	return cmd->group ? " " : "";
}

char *cli_usage_line(const struct cli_cmd *cmd)
{
	const char *g = cmd->group ? cmd->group : "";

	if (!cmd->opts)
		return xasprintf("banger %s%s%s%s%s", g, group_sp(cmd), cmd->name,
				 cmd->args[0] ? " " : "", cmd->args);
	return xasprintf("banger %s%s%s%s%s%s", g, group_sp(cmd), cmd->name,
			 cmd->opts[0].name ? " [options]" : "", cmd->args[0] ? " " : "", cmd->args);
}

void cli_usage(const struct cli_cmd *cmd)
{
	char *line = cli_usage_line(cmd);

	printf("usage: %s\n\n%s\n", line, cmd->summary);
	free(line);
	if (!cmd->opts) {
		if (cmd->help)
			printf("\noptions:\n%s", cmd->help);
		return;
	}
	printf("\noptions:\n");
	for (const struct cli_opt *o = cmd->opts; o->name; o++) {
		char head[64];

		snprintf(head, sizeof(head), "%c%c%s--%s%s%s", o->short_name ? '-' : ' ',
			 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
			 o->value ? " " : "", o->value ? o->value : "");
		/* Help text may span lines ("\n"): indent the continuation. */
		printf("  %-24s ", head);
		for (const char *h = o->help; *h; h++) {
			putchar(*h);
			if (*h == '\n' && h[1])
				printf("%27s", "");
		}
		printf("\n");
	}
	printf("  %-24s %s\n", "-h, --help", "print this help");
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
	char msg[512], *line = cli_usage_line(cmd);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(e, ERR_USAGE, "%s%s%s: %s", cmd->group ? cmd->group : "", group_sp(cmd), cmd->name,
		msg);
	err_hint(e, "usage: %s (`banger %s%s%s --help` lists the options)", line,
		 cmd->group ? cmd->group : "", group_sp(cmd), cmd->name);
	free(line);
	return -1;
}

static int set_val(const struct cli_cmd *cmd, struct cli_parsed *p, const struct cli_opt *o,
		   const char *v, struct err *e)
{
	size_t i = (size_t)(o - cmd->opts);

	if (p->val[i] && o->value && o->repeat) {
		/* Kept for the process's life, like argv (the CLI runs one command). */
		p->val[i] = xasprintf("%s\n%s", p->val[i], v);
		return 0;
	}
	if (p->val[i] && o->value)
		return cli_usage_error(cmd, e,
				       "--%s given twice (\"%s\", then \"%s\"): give it once",
				       o->name, ERR_Q(p->val[i]), ERR_Q(v));
	p->val[i] = v;
	return 0;
}

/* A word that cannot be a value of --opt VALUE: another long option. A
 * value that starts with "--" is still possible as --opt=VALUE. */
static int is_long_opt(const char *s)
{
	return s[0] == '-' && s[1] == '-' && s[2];
}

static int missing_value(const struct cli_cmd *cmd, const struct cli_opt *o, struct err *e)
{
	return cli_usage_error(cmd, e, "--%s needs a value (--%s %s or --%s=%s)", o->name, o->name,
			       o->value, o->name, o->value);
}

static int parse_long(const struct cli_cmd *cmd, struct cli_parsed *p, int argc, char **argv,
		      int *i, struct err *e)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	const struct cli_opt *o;

	for (o = cmd->opts; o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, a, n) == 0)
			break;
	if (!o->name) {
		char name[ERR_QUOTE_MAX];

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
			 a);
		return cli_usage_error(cmd, e, "unknown option --%s", ERR_Q(name));
	}
	if (!o->value) {
		if (eq)
			return cli_usage_error(cmd, e, "--%s takes no value (give just --%s)",
					       o->name, o->name);
		return set_val(cmd, p, o, "", e);
	}
	if (eq)
		return set_val(cmd, p, o, eq + 1, e);
	if (*i + 1 >= argc || is_long_opt(argv[*i + 1]))
		return missing_value(cmd, o, e);
	return set_val(cmd, p, o, argv[++*i], e);
}

/* -f, -n 10, -n10, -fn 10. */
static int parse_short(const struct cli_cmd *cmd, struct cli_parsed *p, int argc, char **argv,
		       int *i, struct err *e)
{
	const char *a = argv[*i];

	for (size_t j = 1; a[j]; j++) {
		const struct cli_opt *o;

		for (o = cmd->opts; o->name; o++)
			if (o->short_name && o->short_name == a[j])
				break;
		if (!o->name) {
			char s[2] = {a[j], 0};

			return cli_usage_error(cmd, e, "unknown option -%s", ERR_Q(s));
		}
		if (!o->value) {
			if (set_val(cmd, p, o, "", e) < 0)
				return -1;
			continue;
		}
		if (a[j + 1])
			return set_val(cmd, p, o, a + j + 1, e);
		if (*i + 1 >= argc || is_long_opt(argv[*i + 1]))
			return missing_value(cmd, o, e);
		return set_val(cmd, p, o, argv[++*i], e);
	}
	return 0;
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_parsed *p, int *npos,
	      char ***pos, struct err *e)
{
	char **out = xcalloc((size_t)argc + 1, sizeof(char *));
	int n = 0, done = 0;

	memset(p, 0, sizeof(*p));
	p->opts = cmd->opts;
	p->dashdash = -1;
	out[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (done || a[0] != '-' || !a[1]) {
			out[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done = 1;
			p->dashdash = n - 1;
			continue;
		}
		rc = a[1] == '-' ? parse_long(cmd, p, argc, argv, &i, e)
				 : parse_short(cmd, p, argc, argv, &i, e);
		if (rc < 0) {
			free(out);
			return -1;
		}
	}
	*npos = n;
	*pos = out;
	return 0;
}

static const struct cli_opt *find_opt(const struct cli *c, const char *name, size_t *idx)
{
	if (!c->opt || !c->opt->opts)
		return NULL;
	for (const struct cli_opt *o = c->opt->opts; o->name; o++)
		if (strcmp(o->name, name) == 0) {
			*idx = (size_t)(o - c->opt->opts);
			return o;
		}
	return NULL;
}

const char *cli_val(const struct cli *c, const char *name)
{
	size_t i;

	return find_opt(c, name, &i) ? c->opt->val[i] : NULL;
}

int cli_flag(const struct cli *c, const char *name)
{
	return cli_val(c, name) != NULL;
}

int cli_val_posint(const struct cli *c, const struct cli_cmd *cmd, const char *name, long long *out,
		   struct err *e)
{
	const char *v = cli_val(c, name);
	char *end;
	long long x;

	if (!v)
		return 0;
	x = strtoll(v, &end, 10);
	if (!*v || *end || x <= 0)
		return cli_usage_error(cmd, e, "--%s needs a positive whole number, not \"%s\"",
				       name, ERR_Q(v));
	*out = x;
	return 1;
}

void cli_each_flag(const struct cli_cmd *cmd,
		   void (*fn)(void *ctx, const char *name, const struct cli_opt *o), void *ctx)
{
	const char *texts[2] = {cmd->args, cmd->help};
	struct buf seen = BUF_INIT;

	if (cmd->opts) {
		for (const struct cli_opt *o = cmd->opts; o->name; o++)
			fn(ctx, o->name, o);
		return;
	}
	buf_putc(&seen, ' ');
	for (size_t t = 0; t < 2; t++) {
		for (const char *s = texts[t]; s && (s = strstr(s, "--"));) {
			const char *w = s + 2;
			size_t n = 0;
			char name[64], *key;

			while (isalnum((unsigned char)w[n]) || w[n] == '-')
				n++;
			s = w + n;
			if (n == 0 || n >= sizeof(name) || !isalpha((unsigned char)w[0]))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)n, w);
			key = xasprintf(" %s ", name);
			if (!strstr(buf_str(&seen), key)) {
				buf_puts(&seen, key + 1);
				fn(ctx, name, NULL);
			}
			free(key);
		}
	}
	buf_free(&seen);
}
