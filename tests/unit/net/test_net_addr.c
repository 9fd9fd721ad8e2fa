/* Unit tests for net_addr: subnets, allocation, overlap, names and MACs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "net/net_addr.h"

static uint32_t A(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(net_addr_parse(s, &a, NULL), 0);
	return a;
}

static struct net_subnet S(const char *s) {
	struct net_subnet sub = {0};
	struct err e;

	assert_int_equal(net_subnet_parse(s, &sub, &e), 0);
	return sub;
}

static void
test_addr_parse_format(void **state)
{
	char out[NET_ADDR_MAX];
	uint32_t a;
	struct err e;

	(void)state;
	assert_int_equal(A("172.30.77.1"), 0xac1e4d01u);
	net_addr_format(0xac1e4d01u, out);
	assert_string_equal(out, "172.30.77.1");
	net_addr_format(0xffffffffu, out);
	assert_string_equal(out, "255.255.255.255");
	const char *bad[] = {"",	 "1.2.3",      "1.2.3.4.5", "256.1.1.1",
			     "01.2.3.4", "1.2.3.4 ",   " 1.2.3.4",  "a.b.c.d",
			     "1..2.3",	 "1.2.3.4/24", "1234.1.1.1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(net_addr_parse(bad[i], &a, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void test_subnet_parse_format(void **state)
{
	struct net_subnet s = S("172.30.77.0/24");
	char out[NET_CIDR_MAX];
	struct err e;

	(void)state;
	assert_int_equal(s.net, 0xac1e4d00u);
	assert_int_equal(s.prefix, 24);
	net_subnet_format(&s, out);
	assert_string_equal(out, "172.30.77.0/24");
	assert_int_equal(S("0.0.0.0/0").prefix, 0);
	assert_int_equal(S("10.1.2.3/32").net, A("10.1.2.3"));

	/* Host bits set: refused, and the hint gives the network address. */
	assert_int_equal(net_subnet_parse("172.30.77.5/24", &s, &e), -1);
	assert_non_null(strstr(e.msg, "host bits"));
	assert_non_null(strstr(e.hint, "172.30.77.0/24"));

	const char *bad[] = {"172.30.77.0",
			     "172.30.77.0/",
			     "172.30.77.0/33",
			     "172.30.77.0/-1",
			     "172.30.77.0/024",
			     "172.30.77.0/24x",
			     "/24",
			     "x/24"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(net_subnet_parse(bad[i], &s, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void test_subnet_check(void **state)
{
	struct net_subnet s;
	struct err e;

	(void)state;
	s = S(NET_DEFAULT_SUBNET);
	assert_int_equal(net_subnet_check(&s, &e), 0);
	s = S("10.0.0.0/16");
	assert_int_equal(net_subnet_check(&s, &e), 0);
	s = S("192.168.200.0/30");
	assert_int_equal(net_subnet_check(&s, &e), 0);

	/* Public or partly public ranges are refused, naming the config key. */
	s = S("8.8.8.0/24");
	assert_int_equal(net_subnet_check(&s, &e), -1);
	assert_non_null(strstr(e.msg, "not private"));
	assert_non_null(strstr(e.hint, "subnet"));
	s = S("172.32.0.0/24"); /* just past 172.16/12 */
	assert_int_equal(net_subnet_check(&s, &e), -1);
	s = S("172.16.0.0/12");
	assert_true(net_subnet_is_private(&s));
	s = S("172.0.0.0/11"); /* wider than 172.16/12, though it contains it */
	assert_false(net_subnet_is_private(&s));
	s = S("10.0.0.0/8"); /* too big */
	assert_int_equal(net_subnet_check(&s, &e), -1);
	assert_non_null(strstr(e.msg, "prefix"));
	s = S("10.0.0.0/31"); /* no room for a guest */
	assert_int_equal(net_subnet_check(&s, &e), -1);

	s = S("192.168.0.0/16");
	assert_true(net_subnet_is_private(&s));
	s = S("192.168.0.0/15");
	assert_false(net_subnet_is_private(&s));
	s = S("11.0.0.0/24");
	assert_false(net_subnet_is_private(&s));
}

static void test_bridge_broadcast_contains(void **state)
{
	struct net_subnet s = S("172.30.77.0/24");

	(void)state;
	assert_int_equal(net_subnet_bridge(&s), A("172.30.77.1"));
	assert_int_equal(net_subnet_broadcast(&s), A("172.30.77.255"));
	assert_int_equal(net_subnet_mask(&s), A("255.255.255.0"));
	assert_true(net_subnet_contains(&s, A("172.30.77.0")));
	assert_true(net_subnet_contains(&s, A("172.30.77.255")));
	assert_false(net_subnet_contains(&s, A("172.30.78.0")));
	assert_false(net_subnet_contains(&s, A("172.30.76.255")));

	assert_false(net_subnet_is_guest(&s, A("172.30.77.0")));
	assert_false(net_subnet_is_guest(&s, A("172.30.77.1")));
	assert_false(net_subnet_is_guest(&s, A("172.30.77.255")));
	assert_true(net_subnet_is_guest(&s, A("172.30.77.2")));
	assert_true(net_subnet_is_guest(&s, A("172.30.77.254")));
	assert_false(net_subnet_is_guest(&s, A("10.0.0.2")));

	s = S("10.20.0.0/16");
	assert_int_equal(net_subnet_bridge(&s), A("10.20.0.1"));
	assert_int_equal(net_subnet_broadcast(&s), A("10.20.255.255"));
}

static void test_overlap(void **state)
{
	struct net_subnet a = S("172.30.77.0/24"), b;

	(void)state;
	b = S("172.30.0.0/16");
	assert_true(net_subnet_overlaps(&a, &b));
	assert_true(net_subnet_overlaps(&b, &a));
	b = S("172.30.77.128/25");
	assert_true(net_subnet_overlaps(&a, &b));
	b = S("172.30.77.9/32");
	assert_true(net_subnet_overlaps(&a, &b));
	b = S("172.30.78.0/24");
	assert_false(net_subnet_overlaps(&a, &b));
	b = S("172.30.76.0/24");
	assert_false(net_subnet_overlaps(&a, &b));
	b = S("0.0.0.0/0");
	assert_true(net_subnet_overlaps(&a, &b));
	assert_true(net_subnet_overlaps(&a, &a));
}

static void test_alloc_lowest_free(void **state)
{
	struct net_subnet s = S("172.30.77.0/24");
	uint32_t used[3], got;
	struct err e;

	(void)state;
	assert_int_equal(net_alloc_guest(&s, NULL, 0, &got, &e), 0);
	assert_int_equal(got, A("172.30.77.2"));

	used[0] = A("172.30.77.2");
	used[1] = A("172.30.77.4");
	used[2] = A("10.0.0.3"); /* outside: ignored */
	assert_int_equal(net_alloc_guest(&s, used, 3, &got, &e), 0);
	assert_int_equal(got, A("172.30.77.3"));
	used[1] = A("172.30.77.3");
	assert_int_equal(net_alloc_guest(&s, used, 2, &got, &e), 0);
	assert_int_equal(got, A("172.30.77.4"));
}

static void test_alloc_full(void **state)
{
	struct net_subnet s = S("192.168.5.0/29"); /* guests .2 .. .6 */
	uint32_t used[5], got;
	struct err e;

	(void)state;
	for (int i = 0; i < 4; i++)
		used[i] = A("192.168.5.2") + (uint32_t)i;
	assert_int_equal(net_alloc_guest(&s, used, 4, &got, &e), 0);
	assert_int_equal(got, A("192.168.5.6")); /* last before broadcast .7 */
	used[4] = got;
	assert_int_equal(net_alloc_guest(&s, used, 5, &got, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_non_null(strstr(e.msg, "192.168.5.0/29"));

	s = S("10.9.9.0/30"); /* .1 bridge, .2 the only guest */
	assert_int_equal(net_alloc_guest(&s, NULL, 0, &got, &e), 0);
	assert_int_equal(got, A("10.9.9.2"));
	s = S("10.9.9.0/31");
	assert_int_equal(net_alloc_guest(&s, NULL, 0, &got, &e), -1);
}

static void test_alloc_str(void **state)
{
	const char *used[] = {"172.30.77.2", "", NULL, "junk", "172.30.77.3"};
	char out[NET_ADDR_MAX];
	struct err e;

	(void)state;
	assert_int_equal(net_alloc_guest_str("172.30.77.0/24", used, 5, out, &e), 0);
	assert_string_equal(out, "172.30.77.4");
	assert_int_equal(net_alloc_guest_str("172.30.77.0/24", NULL, 0, out, &e), 0);
	assert_string_equal(out, "172.30.77.2");
	assert_int_equal(net_alloc_guest_str("nonsense", NULL, 0, out, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_vm_id(void **state)
{
	(void)state;
	assert_true(net_vm_id_valid("0123456789abcdef"));
	assert_false(net_vm_id_valid("0123456789ABCDEF"));
	assert_false(net_vm_id_valid("0123456789abcde"));
	assert_false(net_vm_id_valid("0123456789abcdef0"));
	assert_false(net_vm_id_valid("0123456789abcdeg"));
	assert_false(net_vm_id_valid(""));
	assert_false(net_vm_id_valid(NULL));
}

static void test_tap_name_and_mac(void **state)
{
	char tap[NET_IFNAME_MAX], mac[NET_MAC_MAX];

	(void)state;
	net_tap_name("0123456789abcdef", tap);
	assert_string_equal(tap, "bgr0123456789ab");
	assert_int_equal(strlen(tap), 15);
	assert_true(net_name_is_tap(tap));

	net_mac("0123456789abcdef", mac);
	assert_string_equal(mac, "06:01:23:45:67:89");
	net_mac("fedcba9876543210", mac);
	assert_string_equal(mac, "06:fe:dc:ba:98:76");
}

static void test_name_predicates(void **state)
{
	(void)state;
	assert_true(net_name_is_bridge("banger0"));
	assert_true(net_name_is_bridge("banger"));
	assert_true(net_name_is_banger("banger0"));
	assert_true(net_name_is_banger("bgr0123456789ab"));
	assert_false(net_name_is_tap("banger0"));
	assert_false(net_name_is_bridge("bgr0123456789ab"));

	const char *bad[] = {"eth0",
			     "lo",
			     "docker0",
			     "bgr",
			     "Banger0",
			     "banger-0",
			     "bgr_1",
			     "banger0123456789", /* 16 characters */
			     "bgr0123456789abc",
			     "",
			     "banger0 ",
			     "bgr0/x",
			     "xbanger0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(net_name_is_banger(bad[i]));
	assert_false(net_name_is_banger(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parse_format),
	    cmocka_unit_test(test_subnet_parse_format),
	    cmocka_unit_test(test_subnet_check),
	    cmocka_unit_test(test_bridge_broadcast_contains),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_alloc_lowest_free),
	    cmocka_unit_test(test_alloc_full),
	    cmocka_unit_test(test_alloc_str),
	    cmocka_unit_test(test_vm_id),
	    cmocka_unit_test(test_tap_name_and_mac),
	    cmocka_unit_test(test_name_predicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
