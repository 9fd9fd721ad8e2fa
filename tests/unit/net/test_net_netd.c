/* Unit tests for net_netd: what the privileged helper accepts and refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "net/net_netd.h"

#define ID "0123456789abcdef"
#define TAP "bgr0123456789ab"
#define CIDR "172.30.77.0/24"

static int parse(const char *sudo_uid, struct net_netd_req *r, struct err *e, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, e);
	for (char *w; (w = va_arg(ap, char *)) != NULL && argc < 15;)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	return net_netd_parse(argc, argv, sudo_uid, r, e);
}

#define OK(...) assert_int_equal(parse(NULL, &r, &e, __VA_ARGS__, NULL), 0)
#define REFUSED(needle, ...)                                                                       \
	do {                                                                                       \
		assert_int_equal(parse(NULL, &r, &e, __VA_ARGS__, NULL), -1);                      \
		assert_int_equal(e.code, ERR_INVALID);                                             \
		assert_non_null(strstr(e.msg, needle));                                            \
	} while (0)

static void test_accepts_banger_requests(void **state)
{
	struct net_netd_req r;
	struct err e;

	(void)state;
	OK("bridge-up", "banger0", CIDR);
	assert_int_equal(r.op, NETD_BRIDGE_UP);
	assert_string_equal(r.bridge, "banger0");
	assert_string_equal(r.cidr, CIDR);
	OK("bridge-down", "banger0");
	assert_int_equal(r.op, NETD_BRIDGE_DOWN);
	OK("tap-add", TAP, "banger0", "1000");
	assert_int_equal(r.op, NETD_TAP_ADD);
	assert_int_equal(r.uid, 1000);
	assert_string_equal(r.tap, TAP);
	OK("tap-del", TAP);
	OK("nat-add", ID, TAP, "172.30.77.2", "banger0", CIDR);
	assert_int_equal(r.op, NETD_NAT_ADD);
	assert_string_equal(r.vm_id, ID);
	assert_string_equal(r.ip, "172.30.77.2");
	OK("nat-del", ID);
	assert_int_equal(r.op, NETD_NAT_DEL);
	OK("nat-list");
	assert_int_equal(r.op, NETD_NAT_LIST);
	assert_string_equal(net_netd_op_name(NETD_NAT_ADD), "nat-add");
}

static void test_refuses_foreign_interfaces(void **state)
{
	struct net_netd_req r;
	struct err e;

	(void)state;
	REFUSED("\"eth0\"", "bridge-up", "eth0", CIDR);
	REFUSED("\"eth0\"", "bridge-down", "eth0");
	REFUSED("\"eth0\"", "tap-del", "eth0");
	REFUSED("\"lo\"", "tap-add", "lo", "banger0", "0");
	REFUSED("\"docker0\"", "tap-add", TAP, "docker0", "0");
	/* A bridge name is not a tap name and the other way round. */
	REFUSED("\"banger0\"", "tap-del", "banger0");
	REFUSED("\"" TAP "\"", "bridge-down", TAP);
	REFUSED("\"eth0\"", "nat-add", ID, "eth0", "172.30.77.2", "banger0", CIDR);
	REFUSED("\"eth0\"", "nat-add", ID, TAP, "172.30.77.2", "eth0", CIDR);
	/* Shell or nft syntax never reaches the host. */
	REFUSED("not a banger tap", "tap-del", "bgr1;reboot");
	REFUSED("not a banger bridge", "bridge-down", "banger0\" accept");
}

static void test_refuses_foreign_addresses(void **state)
{
	struct net_netd_req r;
	struct err e;

	(void)state;
	REFUSED("not private", "bridge-up", "banger0", "8.8.8.0/24");
	REFUSED("not private", "nat-add", ID, TAP, "8.8.8.2", "banger0", "8.8.8.0/24");
	REFUSED("prefix", "bridge-up", "banger0", "10.0.0.0/8");
	REFUSED("invalid subnet", "bridge-up", "banger0", "banana");
	REFUSED("not a guest address", "nat-add", ID, TAP, "10.0.0.2", "banger0", CIDR);
	REFUSED("not a guest address", "nat-add", ID, TAP, "172.30.77.1", "banger0", CIDR);
	REFUSED("not a guest address", "nat-add", ID, TAP, "172.30.77.255", "banger0", CIDR);
	REFUSED("invalid IPv4", "nat-add", ID, TAP, "172.30.77.x", "banger0", CIDR);
}

static void test_refuses_bad_ids_and_usage(void **state)
{
	struct net_netd_req r;
	struct err e;

	(void)state;
	REFUSED("VM id", "nat-del", "0123");
	REFUSED("VM id", "nat-del", "0123456789ABCDEF");
	REFUSED("VM id", "nat-add", "../../etc/passwd", TAP, "172.30.77.2", "banger0", CIDR);
	REFUSED("unknown operation", "route-add", "x");
	REFUSED("usage", "nat-del");
	REFUSED("usage", "bridge-up", "banger0");
	REFUSED("usage", "nat-list", "extra");
	REFUSED("uid", "tap-add", TAP, "banger0", "root");
	REFUSED("uid", "tap-add", TAP, "banger0", "-1");
	assert_int_equal(net_netd_parse(0, NULL, NULL, &r, &e), -1);
}

static void test_sudo_user_gets_own_taps_only(void **state)
{
	struct net_netd_req r;
	struct err e;

	(void)state;
	assert_int_equal(parse("1000", &r, &e, "tap-add", TAP, "banger0", "1000", NULL), 0);
	assert_int_equal(parse("1000", &r, &e, "tap-add", TAP, "banger0", "0", NULL), -1);
	assert_non_null(strstr(e.msg, "uid 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_banger_requests),
	    cmocka_unit_test(test_refuses_foreign_interfaces),
	    cmocka_unit_test(test_refuses_foreign_addresses),
	    cmocka_unit_test(test_refuses_bad_ids_and_usage),
	    cmocka_unit_test(test_sudo_user_gets_own_taps_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
