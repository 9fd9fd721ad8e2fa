/* Unit tests: errors survive any input (util/err, util/utf8). A message,
 * hint or log path is always valid UTF-8 without terminal controls, and
 * every cut falls on a character boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"
#include "util/utf8.h"

static int no_controls(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

static void utf8_is_as_strict_as_jansson(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq("a", 1), 1);
	assert_int_equal(utf8_seq("\xc3\xa9", 2), 2);
	assert_int_equal(utf8_seq("\xe2\x82\xac", 3), 3);
	assert_int_equal(utf8_seq("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(utf8_seq("\xc3", 1), 0);	      /* cut short */
	assert_int_equal(utf8_seq("\xc0\x80", 2), 0);	      /* overlong NUL */
	assert_int_equal(utf8_seq("\xe0\x80\xaf", 3), 0);     /* overlong '/' */
	assert_int_equal(utf8_seq("\xed\xa0\x80", 3), 0);     /* surrogate */
	assert_int_equal(utf8_seq("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
	assert_int_equal(utf8_seq("\x80", 1), 0);
	assert_true(utf8_valid("caf\xc3\xa9", 5));
	assert_false(utf8_valid("caf\xc3", 4));
	assert_int_equal(utf8_cut("caf\xc3", 4), 3);
	assert_int_equal(utf8_cut("a\xe2\x82", 3), 1);
	assert_int_equal(utf8_cut("caf\xc3\xa9", 5), 5);
	assert_int_equal(utf8_cut("abc", 3), 3);
}

static void messages_escape_what_cannot_be_shown(void **state)
{
	struct err e;

	(void)state;
	err_set(&e, ERR_INVALID, "name \"%s\"", "caf\xc3");
	assert_string_equal(e.msg, "name \"caf\\xc3\"");
	err_set(&e, ERR_INVALID, "x %s", "\x1b[31mred\r");
	assert_string_equal(e.msg, "x \\x1b[31mred\\r");
	err_set(&e, ERR_INVALID, "line one\n\tline two \xc2\x85");
	assert_string_equal(e.msg, "line one\n\tline two \\u0085");
	err_hint(&e, "try %s", "\x7f");
	assert_string_equal(e.hint, "try \\x7f");
	err_log(&e, "/tmp/\xff.log");
	assert_string_equal(e.log, "/tmp/\\xff.log");
	err_wrap(&e, "ctx \xe2\x82");
	assert_string_equal(e.msg, "ctx \\xe2\\x82: line one\n\tline two \\u0085");
}

static void long_messages_are_cut_on_a_character(void **state)
{
	static char big[3 * ERR_MSG_MAX];
	struct err e;

	(void)state;
	/* Two-byte characters at every offset: a byte cut would split one. */
	for (int shift = 0; shift < 2; shift++) {
		memset(big, 'a', (size_t)shift);
		for (size_t i = (size_t)shift; i + 2 < sizeof(big); i += 2)
			memcpy(big + i, "\xc3\xa9", 2);
		big[sizeof(big) - 2] = '\0';
		err_set(&e, ERR_INVALID, "%s", big);
		assert_true(strlen(e.msg) < ERR_MSG_MAX);
		assert_true(utf8_valid(e.msg, strlen(e.msg)));
		assert_non_null(strstr(e.msg, "..."));
		err_wrap(&e, "context");
		assert_true(utf8_valid(e.msg, strlen(e.msg)));
		assert_int_equal(strncmp(e.msg, "context: ", 9), 0);
	}
}

static void quotes_are_one_short_line(void **state)
{
	static char big[10001];
	const char *q;

	(void)state;
	assert_string_equal(ERR_Q("caf\xc3\xa9"), "caf\xc3\xa9");
	assert_string_equal(ERR_Q("a\nb\"c\\"), "a\\nb\\\"c\\\\");
	assert_string_equal(ERR_Q("\x1b[31m"), "\\x1b[31m");
	assert_string_equal(ERR_Q(NULL), "");
	memset(big, 'x', sizeof(big) - 1);
	q = ERR_Q(big);
	assert_true(strlen(q) < ERR_QUOTE_MAX);
	assert_string_equal(q + strlen(q) - 3, "...");
	for (size_t i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	q = ERR_Q(big);
	assert_true(utf8_valid(q, strlen(q)));
	assert_true(no_controls(q));
}

static void every_byte_makes_a_valid_message(void **state)
{
	char s[4] = {0};
	struct err e;

	(void)state;
	for (int a = 1; a < 256; a++) {
		for (int b = 0; b < 256; b += 15) {
			s[0] = (char)a;
			s[1] = (char)b;
			err_set(&e, ERR_INVALID, "v %s", s);
			assert_true(utf8_valid(e.msg, strlen(e.msg)));
			assert_true(no_controls(e.msg));
			assert_true(utf8_valid(ERR_Q(s), strlen(ERR_Q(s))));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(utf8_is_as_strict_as_jansson),
	    cmocka_unit_test(messages_escape_what_cannot_be_shown),
	    cmocka_unit_test(long_messages_are_cut_on_a_character),
	    cmocka_unit_test(quotes_are_one_short_line),
	    cmocka_unit_test(every_byte_makes_a_valid_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
