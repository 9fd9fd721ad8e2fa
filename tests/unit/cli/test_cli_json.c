/* Unit tests: cli_json prints what jansson's JSON_INDENT(2)|JSON_SORT_KEYS
 * prints, byte for byte, for text whose keys are sorted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"

/* cli_json_indent(text) and jansson's dump of text parsed. */
static void same_as_jansson(const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	char *want;
	struct buf got = BUF_INIT;

	assert_non_null(j);
	want = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	assert_int_equal(cli_json_indent(text, strlen(text), &got), 0);
	assert_string_equal(buf_str(&got), want);
	free(want);
	json_decref(j);
	buf_free(&got);
}

static void layouts_match_jansson(void **state)
{
	(void)state;
	same_as_jansson("[]");
	same_as_jansson("{}");
	same_as_jansson("[{}]");
	same_as_jansson("{\"a\":[],\"b\":{},\"c\":[1,-2,3]}");
	same_as_jansson("[{\"accel\":\"\",\"nat\":false,\"overlay\":{\"allocated_bytes\":4096,"
			"\"apparent_bytes\":134217728,\"path\":\"/tmp/x/overlay.ext4\"},\"pid\":0,"
			"\"state\":\"stopped\",\"z\":null,\"zz\":true},{\"accel\":\"kvm\"}]");
	/* Strings stay as escaped: jansson's own escapes, UTF-8 as it is. */
	same_as_jansson(
	    "{\"e\":\"a \\\"q\\\" b\\\\c\\n\\t\\u0001 /x\",\"u\":\"\xc3\xa9\xe2\x82\xac\"}");
	/* A string that ends in a backslash, one that holds a quote. */
	same_as_jansson("{\"a\":\"x\\\\\",\"b\":\"q\\\"\"}");
	/* Commas, colons and brackets inside strings are text. */
	same_as_jansson("{\"s\":\"[{,:}]\",\"t\":[\"]\",\"{\"]}");
}

static void whitespace_outside_strings_is_ignored(void **state)
{
	struct buf got = BUF_INIT;
	const char *in = " { \"a\" : [ 1 , 2 ] ,\n\"b\" : { } } ";

	(void)state;
	assert_int_equal(cli_json_indent(in, strlen(in), &got), 0);
	assert_string_equal(buf_str(&got), "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}");
	buf_free(&got);
}

static void unbalanced_text_is_refused_and_leaves_out_alone(void **state)
{
	const char *bad[] = {"[1,2", "{\"a\":1}}", "\"open", "]"};
	struct buf got = BUF_INIT;

	(void)state;
	buf_puts(&got, "kept");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_json_indent(bad[i], strlen(bad[i]), &got), -1);
		assert_string_equal(buf_str(&got), "kept");
	}
	buf_free(&got);
}

static void member_finds_the_top_level_key_only(void **state)
{
	const char *t = "{\"x\":{\"vms\":1},\"vm\":\"vms\",\"vms\":[{\"a\":\"]\"}],\"y\":2}";
	const char *v;
	size_t n;

	(void)state;
	assert_int_equal(cli_json_member(t, strlen(t), "vms", &v, &n), 0);
	assert_int_equal(n, strlen("[{\"a\":\"]\"}]"));
	assert_memory_equal(v, "[{\"a\":\"]\"}]", n);
	assert_int_equal(cli_json_member(t, strlen(t), "y", &v, &n), 0);
	assert_memory_equal(v, "2", n);
	assert_int_equal(cli_json_member(t, strlen(t), "nope", &v, &n), -1);
	assert_int_equal(cli_json_member("[1]", 3, "vms", &v, &n), -1);
	assert_int_equal(cli_json_member("{\"vms\":[1", 9, "vms", &v, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(layouts_match_jansson),
	    cmocka_unit_test(whitespace_outside_strings_is_ignored),
	    cmocka_unit_test(unbalanced_text_is_refused_and_leaves_out_alone),
	    cmocka_unit_test(member_finds_the_top_level_key_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
