/* Unit tests for tui_fmt: the short figures in the TUI table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "tui/tui_fmt.h"

static void test_mem_and_bytes(void **state)
{
	char b[32];

	(void)state;
	tui_fmt_mem(256, b, sizeof(b));
	assert_string_equal(b, "256M");
	tui_fmt_mem(1024, b, sizeof(b));
	assert_string_equal(b, "1G");
	tui_fmt_mem(1536, b, sizeof(b));
	assert_string_equal(b, "1.5G");
	tui_fmt_mem(0, b, sizeof(b));
	assert_string_equal(b, "-");
	tui_fmt_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0");
	tui_fmt_bytes(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	tui_fmt_bytes(16LL << 30, b, sizeof(b));
	assert_string_equal(b, "16G");
	tui_fmt_bytes(300 << 10, b, sizeof(b));
	assert_string_equal(b, "300K");
}

static void test_uptime(void **state)
{
	char b[32];

	(void)state;
	tui_fmt_uptime(0, b, sizeof(b));
	assert_string_equal(b, "-");
	tui_fmt_uptime(45, b, sizeof(b));
	assert_string_equal(b, "45s");
	tui_fmt_uptime(185, b, sizeof(b));
	assert_string_equal(b, "3m05s");
	tui_fmt_uptime(2 * 3600 + 3 * 60 + 59, b, sizeof(b));
	assert_string_equal(b, "2h03m");
	tui_fmt_uptime(86400 + 2 * 3600, b, sizeof(b));
	assert_string_equal(b, "1d02h");
	tui_fmt_uptime(99 * 86400 + 23 * 3600, b, sizeof(b));
	assert_true(strlen(b) <= 6);
}

static void test_cpu(void **state)
{
	char b[32];

	(void)state;
	tui_fmt_cpu(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	tui_fmt_cpu(0, b, sizeof(b));
	assert_string_equal(b, "0.0");
	tui_fmt_cpu(12.34, b, sizeof(b));
	assert_string_equal(b, "12.3");
	tui_fmt_cpu(99.96, b, sizeof(b));
	assert_string_equal(b, "100");
	tui_fmt_cpu(187.4, b, sizeof(b));
	assert_string_equal(b, "187");
	tui_fmt_cpu(99999, b, sizeof(b));
	assert_true(strlen(b) <= 5);
}

static void test_fit(void **state)
{
	char b[32];

	(void)state;
	tui_fit("hello", 10, b, sizeof(b));
	assert_string_equal(b, "hello");
	tui_fit("hello", 5, b, sizeof(b));
	assert_string_equal(b, "hello");
	tui_fit("hello world", 5, b, sizeof(b));
	assert_string_equal(b, "hell~");
	tui_fit("hello", 0, b, sizeof(b));
	assert_string_equal(b, "");
	tui_fit("a\tb\x1b[31mc", 20, b, sizeof(b));
	assert_null(strchr(b, '\x1b'));
	assert_null(strchr(b, '\t'));
	assert_int_equal(strlen(b), strlen("a\tb\x1b[31mc"));
	tui_fit("caf\xc3\xa9", 20, b, sizeof(b));
	assert_string_equal(b, "caf??");
	tui_fit("a long text", 100, b, 6); /* the buffer bounds it too */
	assert_int_equal(strlen(b), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mem_and_bytes),
	    cmocka_unit_test(test_uptime),
	    cmocka_unit_test(test_cpu),
	    cmocka_unit_test(test_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
