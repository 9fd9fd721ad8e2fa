/* Unit tests for guest_cmdline: the kernel parameters bangerd generates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "guest/guest_cmdline.h"

static void test_full_line(void **state)
{
	(void)state;
	struct guest_cmdline c;
	struct err e;
	const char *line =
	    "console=ttyS0 reboot=k panic=1 pci=off banger.hostname=calm-otter "
	    "banger.ip=172.30.0.5/24 banger.gw=172.30.0.1 banger.dns=172.30.0.1,9.9.9.9 "
	    "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6\n";

	assert_int_equal(guest_cmdline_parse(line, &c, &e), 0);
	assert_string_equal(c.hostname, "calm-otter");
	assert_string_equal(c.ip, "172.30.0.5");
	assert_int_equal(c.prefix, 24);
	assert_string_equal(c.gw, "172.30.0.1");
	assert_int_equal(c.ndns, 2);
	assert_string_equal(c.dns[0], "172.30.0.1");
	assert_string_equal(c.dns[1], "9.9.9.9");
	assert_string_equal(c.init, "/sbin/init");
	assert_string_equal(c.mmio_params, "device=4K@0xd0000000:5 device=4K@0xd0001000:6");
}

static void test_empty_line_gives_defaults(void **state)
{
	(void)state;
	struct guest_cmdline c;
	struct err e;

	assert_int_equal(guest_cmdline_parse("", &c, &e), 0);
	assert_string_equal(c.hostname, "");
	assert_string_equal(c.ip, "");
	assert_int_equal(c.ndns, 0);
	assert_string_equal(c.init, "/sbin/init");
	assert_string_equal(c.mmio_params, "");
}

static void test_quotes_and_init_args(void **state)
{
	(void)state;
	struct guest_cmdline c;
	struct err e;

	/* Quotes are removed as the kernel does; everything after "--" is init's. */
	assert_int_equal(guest_cmdline_parse("banger.hostname=\"box1\" banger.init=/bin/sh -- "
					     "banger.hostname=ignored",
					     &c, &e),
			 0);
	assert_string_equal(c.hostname, "box1");
	assert_string_equal(c.init, "/bin/sh");
}

static void test_unknown_banger_key_ignored(void **state)
{
	(void)state;
	struct guest_cmdline c;
	struct err e;

	assert_int_equal(guest_cmdline_parse("banger.future=1 quiet banger.hostname=a", &c, &e), 0);
	assert_string_equal(c.hostname, "a");
}

static void expect_invalid(const char *line, const char *needle)
{
	struct guest_cmdline c;
	struct err e;

	err_clear(&e);
	assert_int_equal(guest_cmdline_parse(line, &c, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' does not mention '%s'", e.msg, needle);
}

static void test_bad_values_rejected(void **state)
{
	(void)state;
	expect_invalid("banger.hostname=-bad", "banger.hostname=-bad");
	expect_invalid("banger.hostname=has_underscore", "banger.hostname");
	expect_invalid("banger.hostname=", "banger.hostname");
	expect_invalid(
	    "banger.hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "banger.hostname");
	expect_invalid("banger.ip=172.30.0.5", "banger.ip=172.30.0.5");
	expect_invalid("banger.ip=172.30.0.5/33", "banger.ip");
	expect_invalid("banger.ip=172.30.0.5/0", "banger.ip");
	expect_invalid("banger.ip=172.30.0/24", "banger.ip");
	expect_invalid("banger.ip=172.30.0.5/24x", "banger.ip");
	expect_invalid("banger.ip=1.2.3.4/24 banger.gw=1.2.3", "banger.gw");
	expect_invalid("banger.dns=1.1.1.1,", "banger.dns");
	expect_invalid("banger.dns=", "banger.dns");
	expect_invalid("banger.dns=1.1.1.1,,2.2.2.2", "banger.dns");
	expect_invalid("banger.dns=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", "at most 3");
	expect_invalid("banger.init=sbin/init", "banger.init");
	expect_invalid("banger.gw=172.30.0.1", "without banger.ip");
}

static void test_hostname_rules(void **state)
{
	(void)state;
	assert_true(guest_cmdline_valid_hostname("calm-otter"));
	assert_true(guest_cmdline_valid_hostname("a"));
	assert_true(guest_cmdline_valid_hostname("dev.example.org"));
	assert_false(guest_cmdline_valid_hostname("a-"));
	assert_false(guest_cmdline_valid_hostname(".a"));
	assert_false(guest_cmdline_valid_hostname("a b"));
	assert_true(guest_cmdline_valid_ipv4("10.0.0.1"));
	assert_false(guest_cmdline_valid_ipv4("10.0.0.256"));
	assert_false(guest_cmdline_valid_ipv4("::1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_line),
	    cmocka_unit_test(test_empty_line_gives_defaults),
	    cmocka_unit_test(test_quotes_and_init_args),
	    cmocka_unit_test(test_unknown_banger_key_ignored),
	    cmocka_unit_test(test_bad_values_rejected),
	    cmocka_unit_test(test_hostname_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
