/* Unit tests for guest_files: per-boot config text from kernel parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "guest/guest_files.h"

static const struct guest_file *get(const struct guest_files *fs, const char *path)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].path, path) == 0)
			return &fs->f[i];
	return NULL;
}

static struct guest_cmdline parse(const char *line)
{
	struct guest_cmdline c;
	struct err e;

	assert_int_equal(guest_cmdline_parse(line, &c, &e), 0);
	return c;
}

static void test_all_files(void **state)
{
	(void)state;
	struct guest_cmdline c = parse("banger.hostname=calm-otter banger.ip=172.30.0.5/24 "
				       "banger.gw=172.30.0.1 banger.dns=172.30.0.1,9.9.9.9");
	struct guest_files fs;
	struct err e;

	assert_int_equal(guest_files_render(&c, NULL, &fs, &e), 0);
	assert_string_equal(get(&fs, "/etc/hostname")->content, "calm-otter\n");
	const char *net = get(&fs, GUEST_FILES_NETWORK)->content;
	assert_non_null(strstr(net, "[Match]\nName=eth0\n"));
	assert_non_null(strstr(net, "[Network]\n"));
	assert_non_null(strstr(net, "\nAddress=172.30.0.5/24\n"));
	assert_non_null(strstr(net, "\nGateway=172.30.0.1\n"));
	assert_non_null(strstr(net, "\nDNS=172.30.0.1\nDNS=9.9.9.9\n"));
	const char *res = get(&fs, "/etc/resolv.conf")->content;
	assert_non_null(strstr(res, "\nnameserver 172.30.0.1\nnameserver 9.9.9.9\n"));
	const char *hosts = get(&fs, "/etc/hosts")->content;
	assert_non_null(strstr(hosts, "127.0.0.1\tlocalhost\n127.0.1.1\tcalm-otter\n"));
	assert_non_null(strstr(hosts, "::1"));
	guest_files_free(&fs);
}

static void test_hosts_keeps_user_lines(void **state)
{
	(void)state;
	struct guest_cmdline c = parse("banger.hostname=new-name");
	struct guest_files fs;
	struct err e;
	const char old[] = "127.0.0.1 localhost\n127.0.1.1 old-name\n10.1.2.3 db.internal\n";

	assert_int_equal(guest_files_render(&c, old, &fs, &e), 0);
	assert_string_equal(get(&fs, "/etc/hosts")->content,
			    "127.0.0.1 localhost\n127.0.1.1\tnew-name\n10.1.2.3 db.internal\n");
	guest_files_free(&fs);
}

static void test_hosts_without_localhost_line_and_fqdn(void **state)
{
	(void)state;
	struct guest_cmdline c = parse("banger.hostname=dev.example.org");
	struct guest_files fs;
	struct err e;

	assert_int_equal(guest_files_render(&c, "10.0.0.9 x\n", &fs, &e), 0);
	assert_string_equal(get(&fs, "/etc/hosts")->content,
			    "127.0.1.1\tdev.example.org dev\n10.0.0.9 x\n");
	guest_files_free(&fs);
}

static void test_absent_parameters(void **state)
{
	(void)state;
	struct guest_cmdline c = parse("console=ttyS0");
	struct guest_files fs;
	struct err e;

	assert_int_equal(guest_files_render(&c, NULL, &fs, &e), 0);
	/* Nothing to write: hostname, hosts and resolv.conf are left alone, a stale
	 * .network file from an earlier boot is removed (content NULL). */
	assert_null(get(&fs, "/etc/hostname"));
	assert_null(get(&fs, "/etc/hosts"));
	assert_null(get(&fs, "/etc/resolv.conf"));
	assert_non_null(get(&fs, GUEST_FILES_NETWORK));
	assert_null(get(&fs, GUEST_FILES_NETWORK)->content);
	guest_files_free(&fs);
}

static void test_network_without_gateway(void **state)
{
	(void)state;
	struct guest_cmdline c = parse("banger.ip=10.9.8.7/16");
	struct guest_files fs;
	struct err e;

	assert_int_equal(guest_files_render(&c, NULL, &fs, &e), 0);
	const char *net = get(&fs, GUEST_FILES_NETWORK)->content;
	assert_non_null(strstr(net, "Address=10.9.8.7/16\n"));
	assert_null(strstr(net, "Gateway="));
	assert_null(strstr(net, "DNS="));
	guest_files_free(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_files),
	    cmocka_unit_test(test_hosts_keeps_user_lines),
	    cmocka_unit_test(test_hosts_without_localhost_line_and_fqdn),
	    cmocka_unit_test(test_absent_parameters),
	    cmocka_unit_test(test_network_without_gateway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
