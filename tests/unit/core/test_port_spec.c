/* Unit tests: published port specs and a VM's list of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/port_spec.h"

static void specs_parse_with_and_without_an_address(void **state)
{
	struct port_spec p;
	char s[64];
	struct err e;

	(void)state;
	assert_int_equal(port_spec_parse("8080:80", &p, &e), 0);
	assert_string_equal(p.addr, "127.0.0.1");
	assert_int_equal(p.host, 8080);
	assert_int_equal(p.guest, 80);
	port_spec_format(&p, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:8080:80");
	assert_int_equal(port_spec_parse("0.0.0.0:65535:1", &p, &e), 0);
	assert_string_equal(p.addr, "0.0.0.0");
	assert_int_equal(p.host, 65535);
	assert_int_equal(p.guest, 1);
}

static void bad_specs_say_what_a_spec_is(void **state)
{
	static const char *const bad[] = {
	    "",	     "80",	    ":80",   "80:",	    "0:80",  "80:0", "65536:80",
	    "8o:80", "1.2.3:80:80", "a:b:c", "80:80:80:80", "-1:80", "::80", "999999:1"};
	struct port_spec p;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (port_spec_parse(bad[i], &p, &e) == 0)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
		assert_non_null(strstr(e.msg, "published port"));
	}
}

static void lists_round_trip(void **state)
{
	struct port_spec p[PORT_SPEC_MAX];
	char out[512];
	struct err e;

	(void)state;
	assert_int_equal(port_list_parse("", p, PORT_SPEC_MAX, &e), 0);
	assert_int_equal(port_list_parse("127.0.0.1:8080:80,0.0.0.0:2222:22", p, PORT_SPEC_MAX, &e),
			 2);
	assert_int_equal(p[1].host, 2222);
	assert_int_equal(port_list_format(p, 2, out, sizeof(out), &e), 0);
	assert_string_equal(out, "127.0.0.1:8080:80,0.0.0.0:2222:22");
	assert_int_equal(port_list_format(p, 2, out, 20, &e), -1);	/* does not fit */
	assert_int_equal(port_list_parse("1:1,2:2,3:3", p, 2, &e), -1); /* too many */
}

static void clashes_follow_the_host_socket(void **state)
{
	struct port_spec a, b;
	struct err e;

	(void)state;
	port_spec_parse("8080:80", &a, &e);
	port_spec_parse("8080:81", &b, &e);
	assert_true(port_spec_clash(&a, &b)); /* same host socket, whatever the guest port */
	port_spec_parse("0.0.0.0:8080:80", &b, &e);
	assert_true(port_spec_clash(&a, &b)); /* the wildcard takes every address */
	port_spec_parse("10.0.0.1:8080:80", &b, &e);
	assert_false(port_spec_clash(&a, &b));
	port_spec_parse("8081:80", &b, &e);
	assert_false(port_spec_clash(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(specs_parse_with_and_without_an_address),
	    cmocka_unit_test(bad_specs_say_what_a_spec_is),
	    cmocka_unit_test(lists_round_trip),
	    cmocka_unit_test(clashes_follow_the_host_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
