/* Unit tests: the table-driven option parser (src/cli/opts.c). */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int fn_unused(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	(void)c, (void)cmd, (void)argc, (void)argv, (void)e;
	return 0;
}

static const struct cli_opt opts[] = {
    {"name", 'n', "NAME", "the name", NULL},
    {"follow", 'f', NULL, "follow", NULL},
    {"json", 0, NULL, "json", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_cmd cmd = {"vm", "t", "NAME...", "test", NULL, fn_unused, opts, NULL, 0};

/* An entry in the six-field layout still compiles and has no options. */
static const struct cli_cmd legacy = {"vm", "old", "[--x]", "old", "  --x  x\n", fn_unused};

struct run {
	struct cli c;
	struct cli_parsed p;
	char **pos;
	int npos;
	struct err e;
	int rc;
};

static void parse(struct run *r, int argc, char **argv)
{
	memset(r, 0, sizeof(*r));
	err_clear(&r->e);
	r->rc = cli_parse(&cmd, argc, argv, &r->p, &r->npos, &r->pos, &r->e);
	r->c.opt = &r->p;
}

static void both_forms_and_positionals_anywhere(void **state)
{
	char *a[] = {"t", "x", "--name=eq", "y", "-f", NULL};
	char *b[] = {"t", "--name", "sp", "x", "--json", "y", NULL};
	char *s[] = {"t", "-nshort", "-f", NULL};
	struct run r;

	(void)state;
	parse(&r, 5, a);
	assert_int_equal(r.rc, 0);
	assert_string_equal(cli_val(&r.c, "name"), "eq");
	assert_true(cli_flag(&r.c, "follow"));
	assert_false(cli_flag(&r.c, "json"));
	assert_int_equal(r.npos, 3);
	assert_string_equal(r.pos[1], "x");
	assert_string_equal(r.pos[2], "y");
	free(r.pos);
	parse(&r, 6, b);
	assert_int_equal(r.rc, 0);
	assert_string_equal(cli_val(&r.c, "name"), "sp");
	assert_true(cli_flag(&r.c, "json"));
	assert_int_equal(r.npos, 3);
	free(r.pos);
	parse(&r, 3, s);
	assert_int_equal(r.rc, 0);
	assert_string_equal(cli_val(&r.c, "name"), "short");
	free(r.pos);
}

static void dashdash_ends_options(void **state)
{
	char *a[] = {"t", "vm", "--", "--json", "-f", NULL};
	struct run r;

	(void)state;
	parse(&r, 5, a);
	assert_int_equal(r.rc, 0);
	assert_false(cli_flag(&r.c, "json"));
	assert_int_equal(r.p.dashdash, 1);
	assert_int_equal(r.npos, 4);
	assert_string_equal(r.pos[2], "--json");
	free(r.pos);
}

static void errors_are_usage_errors(void **state)
{
	char *unknown[] = {"t", "--bogus=1", NULL};
	char *missing[] = {"t", "--name", NULL};
	char *twice[] = {"t", "--name=a", "-n", "b", NULL};
	char *flagval[] = {"t", "--json=1", NULL};
	char *shortu[] = {"t", "-fz", NULL};
	struct run r;

	(void)state;
	parse(&r, 2, unknown);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.e.code, ERR_USAGE);
	assert_non_null(strstr(r.e.msg, "unknown option --bogus"));
	assert_non_null(strstr(r.e.hint, "usage: banger vm t [options] NAME..."));
	parse(&r, 2, missing);
	assert_non_null(strstr(r.e.msg, "--name needs a value"));
	parse(&r, 4, twice);
	assert_non_null(strstr(r.e.msg, "--name given twice"));
	parse(&r, 2, flagval);
	assert_non_null(strstr(r.e.msg, "--json takes no value"));
	parse(&r, 2, shortu);
	assert_non_null(strstr(r.e.msg, "unknown option -z"));
	assert_int_equal(r.e.code, ERR_USAGE);
}

static void flag(void *ctx, const char *name, const struct cli_opt *o)
{
	(void)o;
	strcat(ctx, name);
	strcat(ctx, " ");
}

static void legacy_entry_flags_come_from_its_text(void **state)
{
	char got[128] = "";

	(void)state;
	assert_null(legacy.opts);
	cli_each_flag(&legacy, flag, got);
	assert_string_equal(got, "x ");
	got[0] = '\0';
	cli_each_flag(&cmd, flag, got);
	assert_string_equal(got, "name follow json ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(both_forms_and_positionals_anywhere),
	    cmocka_unit_test(dashdash_ends_options),
	    cmocka_unit_test(errors_are_usage_errors),
	    cmocka_unit_test(legacy_entry_flags_come_from_its_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
