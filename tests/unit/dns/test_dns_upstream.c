/*
 * Unit tests for dns_upstream: address specs and resolv.conf parsing, and
 * which host resolvers are kept (never loopback ones).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_upstream.h"

static void fmt(const struct dns_upstream *u, char *buf)
{
	dns_upstream_format(u, buf, 80);
}

static void test_parse_specs(void **state)
{
	(void)state;
	struct dns_upstream u;
	struct err e = {0};
	char buf[80];

	assert_int_equal(dns_upstream_parse("192.0.2.53", &u, &e), 0);
	fmt(&u, buf);
	assert_string_equal(buf, "192.0.2.53:53");
	assert_int_equal(dns_upstream_parse("192.0.2.53:5353", &u, &e), 0);
	fmt(&u, buf);
	assert_string_equal(buf, "192.0.2.53:5353");
	assert_int_equal(dns_upstream_parse("2001:db8::53", &u, &e), 0);
	fmt(&u, buf);
	assert_string_equal(buf, "[2001:db8::53]:53");
	assert_int_equal(dns_upstream_parse("[2001:db8::53]:5300", &u, &e), 0);
	fmt(&u, buf);
	assert_string_equal(buf, "[2001:db8::53]:5300");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct dns_upstream u;
	const char *bad[] = {"",
			     "dns.example.com",
			     "192.0.2.53:",
			     "192.0.2.53:0",
			     "192.0.2.53:70000",
			     "192.0.2.53:x",
			     "[2001:db8::53",
			     "[2001:db8::53]x",
			     "1.2.3"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = {0};
		assert_int_equal(dns_upstream_parse(bad[i], &u, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		assert_non_null(strstr(e.msg, "invalid DNS upstream"));
	}
}

static void test_resolv_conf_skips_loopback(void **state)
{
	(void)state;
	struct dns_upstream u[3];
	char buf[80];
	const char *text = "# generated\n"
			   "nameserver 127.0.0.53\n"
			   "options edns0 trust-ad\n"
			   "search example.org\n"
			   "nameserver ::1\n"
			   "nameserver 0.0.0.0\n"
			   "nameserver 192.0.2.1\n"
			   "  nameserver 192.0.2.99\n"
			   "nameserver\n"
			   "nameserver not-an-address\n"
			   "nameserver 2001:db8::1\n";

	assert_int_equal(dns_upstream_from_resolv_conf(text, u, 3), 2);
	fmt(&u[0], buf);
	assert_string_equal(buf, "192.0.2.1:53");
	fmt(&u[1], buf);
	assert_string_equal(buf, "[2001:db8::1]:53");
}

static void test_resolv_conf_max(void **state)
{
	(void)state;
	struct dns_upstream u[3];
	const char *text = "nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
			   "nameserver 192.0.2.3\nnameserver 192.0.2.4";

	assert_int_equal(dns_upstream_from_resolv_conf(text, u, 3), 3);
	assert_int_equal(dns_upstream_from_resolv_conf("", u, 3), 0);
	assert_int_equal(dns_upstream_from_resolv_conf("nameserver 127.0.0.1", u, 3), 0);
}

static void test_local_and_equal(void **state)
{
	(void)state;
	struct dns_upstream a, b;
	struct err e = {0};

	dns_upstream_parse("127.1.2.3", &a, &e);
	assert_true(dns_upstream_is_local(&a));
	dns_upstream_parse("::ffff:127.0.0.1", &a, &e);
	assert_true(dns_upstream_is_local(&a));
	dns_upstream_parse("10.0.0.1", &a, &e);
	assert_false(dns_upstream_is_local(&a));
	dns_upstream_parse("10.0.0.1:53", &b, &e);
	assert_true(dns_upstream_equal(&a, &b));
	dns_upstream_parse("10.0.0.1:54", &b, &e);
	assert_false(dns_upstream_equal(&a, &b));
	dns_upstream_parse("::1", &b, &e);
	assert_false(dns_upstream_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_specs),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_resolv_conf_skips_loopback),
	    cmocka_unit_test(test_resolv_conf_max),
	    cmocka_unit_test(test_local_and_equal),
	};
	return cmocka_run_group_tests_name("dns_upstream", tests, NULL, NULL);
}
