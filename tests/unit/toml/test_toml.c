/*
 * Unit tests of the toml accessor API: what a config loader relies on -
 * lookup, insertion order, types, line numbers, error positions, and
 * accessors that tolerate wrong types instead of crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "toml/toml.h"

static struct toml_value *parse_ok(const char *text)
{
	struct toml_error err;
	struct toml_value *v = toml_parse(text, strlen(text), &err);

	if (!v)
		fail_msg("parse failed at %d:%d: %s", err.line, err.column, err.msg);
	return v;
}

static void test_lookup_and_types(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("name = \"calm-otter\"\n"
					   "vcpus = 2\n"
					   "ratio = 0.5\n"
					   "enabled = true\n"
					   "created = 2024-01-02T03:04:05Z\n"
					   "tags = [\"a\", \"b\"]\n"
					   "[disk]\n"
					   "size = \"8G\"\n");
	const struct toml_value *v;

	assert_int_equal(toml_type(root), TOML_TABLE);
	assert_string_equal(toml_string(toml_table_get(root, "name")), "calm-otter");
	assert_int_equal(toml_integer(toml_table_get(root, "vcpus")), 2);
	assert_true(toml_float(toml_table_get(root, "ratio")) == 0.5);
	assert_int_equal(toml_bool(toml_table_get(root, "enabled")), 1);
	v = toml_table_get(root, "created");
	assert_int_equal(toml_type(v), TOML_DATETIME);
	assert_int_equal(toml_datetime(v)->year, 2024);
	assert_int_equal(toml_datetime(v)->second, 5);
	assert_true(toml_datetime(v)->has_offset);
	v = toml_table_get(root, "tags");
	assert_int_equal(toml_array_len(v), 2);
	assert_string_equal(toml_string(toml_array_at(v, 1)), "b");
	assert_null(toml_array_at(v, 2));
	v = toml_table_get(toml_table_get(root, "disk"), "size");
	assert_string_equal(toml_string(v), "8G");
	assert_null(toml_table_get(root, "missing"));
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
	toml_free(root);
}

static void test_insertion_order(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("zeta = 1\nalpha = 2\n[mid]\n[alpha2.x]\n");

	assert_int_equal(toml_table_len(root), 4);
	assert_string_equal(toml_table_key(root, 0), "zeta");
	assert_string_equal(toml_table_key(root, 1), "alpha");
	assert_string_equal(toml_table_key(root, 2), "mid");
	assert_string_equal(toml_table_key(root, 3), "alpha2");
	assert_int_equal(toml_integer(toml_table_at(root, 1)), 2);
	assert_null(toml_table_key(root, 4));
	assert_null(toml_table_at(root, 4));
	toml_free(root);
}

static void test_line_numbers(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("# comment\n"
					   "a = 1\n"
					   "\n"
					   "[vm]\n"
					   "name = '''\n"
					   "two\n"
					   "lines'''\n"
					   "mem = 512\n"
					   "[[drive]]\n"
					   "id = 'x'\n"
					   "[[drive]]\n"
					   "id = 'y'\n");
	const struct toml_value *vm = toml_table_get(root, "vm");
	const struct toml_value *drives = toml_table_get(root, "drive");

	assert_int_equal(toml_line(root), 0);
	assert_int_equal(toml_line(toml_table_get(root, "a")), 2);
	assert_int_equal(toml_line(vm), 4);
	assert_int_equal(toml_line(toml_table_get(vm, "name")), 5);
	assert_int_equal(toml_line(toml_table_get(vm, "mem")), 8);
	assert_int_equal(toml_line(toml_array_at(drives, 0)), 9);
	assert_int_equal(toml_line(toml_array_at(drives, 1)), 11);
	assert_int_equal(toml_line(toml_table_get(toml_array_at(drives, 1), "id")), 12);
	toml_free(root);
}

static void test_implicit_table_takes_header_line(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("[a.b]\nx = 1\n\n[a]\ny = 2\n");

	assert_int_equal(toml_line(toml_table_get(root, "a")), 4);
	assert_int_equal(toml_line(toml_table_get(toml_table_get(root, "a"), "b")), 1);
	toml_free(root);
}

static void expect_error(const char *text, int line, int column, const char *fragment)
{
	struct toml_error err;
	struct toml_value *v = toml_parse(text, strlen(text), &err);

	assert_null(v);
	assert_int_equal(err.line, line);
	assert_int_equal(err.column, column);
	if (!strstr(err.msg, fragment))
		fail_msg("error '%s' does not mention '%s'", err.msg, fragment);
}

static void test_error_positions(void **state)
{
	(void)state;
	expect_error("a = 1\nb = \n", 2, 5, "missing value");
	expect_error("a = 1\na = 2\n", 2, 1, "duplicate key 'a'");
	expect_error("[x]\n[x]\n", 2, 2, "already defined");
	expect_error("[a.b]\n[a . b]\n", 2, 6, "'a.b' is already defined");
	expect_error("n = 0x\n", 1, 5, "invalid number");
	expect_error("s = \"abc\n", 1, 9, "newline");
	expect_error("k = 1 2\n", 1, 7, "expected a newline");
	/* columns count characters, not bytes */
	expect_error("s = \"é\" x\n", 1, 9, "expected a newline");
	expect_error("d = 2023-02-29\n", 1, 5, "invalid date");
	expect_error("i = 9223372036854775808\n", 1, 5, "64 bits");
}

static void test_strings_with_nul(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("\"k\\u0000\" = \"a\\u0000b\"\n");
	const struct toml_value *v = toml_table_at(root, 0);

	assert_int_equal(toml_table_key_len(root, 0), 2);
	assert_int_equal(toml_string_len(v), 3);
	assert_memory_equal(toml_string(v), "a\0b", 4);
	toml_free(root);
}

static void test_wrong_type_accessors(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok("s = 'text'\nn = 7\n");
	const struct toml_value *s = toml_table_get(root, "s");

	assert_null(toml_datetime(s));
	assert_int_equal(toml_integer(s), 0);
	assert_int_equal(toml_table_len(s), 0);
	assert_int_equal(toml_array_len(s), 0);
	assert_null(toml_table_get(s, "x"));
	assert_null(toml_string(toml_table_get(root, "n")));
	assert_null(toml_table_get(NULL, "x"));
	assert_int_equal(toml_line(NULL), 0);
	toml_free(root);
	toml_free(NULL);
}

static void test_depth_limit(void **state)
{
	(void)state;
	char text[2 * (TOML_MAX_DEPTH + 10) + 8];
	struct toml_error err;
	size_t i, n = 0;

	n += (size_t)sprintf(text, "a = ");
	for (i = 0; i < TOML_MAX_DEPTH + 5; i++)
		text[n++] = '[';
	for (i = 0; i < TOML_MAX_DEPTH + 5; i++)
		text[n++] = ']';
	text[n] = '\0';
	assert_null(toml_parse(text, n, &err));
	assert_non_null(strstr(err.msg, "nesting"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lookup_and_types),
	    cmocka_unit_test(test_insertion_order),
	    cmocka_unit_test(test_line_numbers),
	    cmocka_unit_test(test_implicit_table_takes_header_line),
	    cmocka_unit_test(test_error_positions),
	    cmocka_unit_test(test_strings_with_nul),
	    cmocka_unit_test(test_wrong_type_accessors),
	    cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
