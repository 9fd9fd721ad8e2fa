/* Unit tests: VM/image names and ids (daemon/names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/names.h"

static void accepts_dns_labels(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(name_check("calm-otter", "VM", &e), 0);
	assert_int_equal(name_check("a", "VM", &e), 0);
	assert_int_equal(name_check("vm2", "VM", &e), 0);
	assert_int_equal(
	    name_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "VM", &e),
	    0); /* 63 */
}

static void rejects_others(void **state)
{
	const char *bad[] = {
	    "",	    "-a",
	    "a-",   "Calm",
	    "a_b",  "a.b",
	    "../x", "a b",
	    "ä",    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(name_check(bad[i], "VM", &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	assert_int_equal(name_check(NULL, "image", &e), -1);
	assert_non_null(strstr(e.msg, "image"));
}

static void generated_names_are_valid_and_ids_hex(void **state)
{
	char name[64], id[17];
	struct err e;

	(void)state;
	for (int i = 0; i < 200; i++) {
		name_generate(name, sizeof(name));
		assert_int_equal(name_check(name, "VM", &e), 0);
		assert_non_null(strchr(name, '-'));
		id_generate(id);
		assert_int_equal(strlen(id), 16);
		assert_int_equal(strspn(id, "0123456789abcdef"), 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(accepts_dns_labels),
	    cmocka_unit_test(rejects_others),
	    cmocka_unit_test(generated_names_are_valid_and_ids_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
