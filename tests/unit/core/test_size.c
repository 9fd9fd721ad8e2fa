/* Unit tests: size parsing and formatting (util/size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/size.h"

static void parses_suffixes(void **state)
{
	long long v;
	struct err e;

	(void)state;
	assert_int_equal(size_parse("16G", &v, &e), 0);
	assert_int_equal(v, 16LL << 30);
	assert_int_equal(size_parse("512m", &v, &e), 0);
	assert_int_equal(v, 512LL << 20);
	assert_int_equal(size_parse("1T", &v, &e), 0);
	assert_int_equal(v, 1LL << 40);
	assert_int_equal(size_parse("4KiB", &v, &e), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(size_parse("1048576", &v, &e), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(size_parse("10GB", &v, &e), 0);
	assert_int_equal(v, 10LL << 30);
}

static void rejects_bad_sizes(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
	    {"", "empty"},
	    {"0", "greater than zero"},
	    {"0G", "greater than zero"},
	    {"-1G", "positive"},
	    {"G", "not a number"},
	    {"12Q", "unknown suffix"},
	    {"1.5G", "fractions"},
	    {"9999999999T", "too large"},
	    {"99999999999999999999", "too large"},
	    {"16 G", "unknown suffix"},
	};
	long long v = 42;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(size_parse(bad[i].in, &v, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		assert_non_null(strstr(e.msg, bad[i].why));
		assert_int_equal(v, 42); /* untouched on error */
	}
}

static void formats(void **state)
{
	char b[32];

	(void)state;
	size_format(16LL << 30, b, sizeof(b));
	assert_string_equal(b, "16G");
	size_format(1536LL << 20, b, sizeof(b));
	assert_string_equal(b, "1.5G");
	size_format(12, b, sizeof(b));
	assert_string_equal(b, "12B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_suffixes),
	    cmocka_unit_test(rejects_bad_sizes),
	    cmocka_unit_test(formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
