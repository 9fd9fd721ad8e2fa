/* Unit tests for share_spec: the --mount form, guest path rules, the record
 * list, and share_jail_deps on a real program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "share/share_jail.h"
#include "share/share_spec.h"

static void test_parse_forms(void **state)
{
	struct share_spec s;
	struct err e;

	(void)state;
	assert_int_equal(share_spec_parse("/home/u/proj", &s, &e), 0);
	assert_string_equal(s.host, "/home/u/proj");
	assert_string_equal(s.guest, "");
	assert_int_equal(s.ro, 0);
	assert_int_equal(share_spec_parse("/home/u/proj:ro", &s, &e), 0);
	assert_string_equal(s.guest, "");
	assert_int_equal(s.ro, 1);
	assert_int_equal(share_spec_parse("/src:/root/src", &s, &e), 0);
	assert_string_equal(s.host, "/src");
	assert_string_equal(s.guest, "/root/src");
	assert_int_equal(s.ro, 0);
	assert_int_equal(share_spec_parse("rel/dir:/mnt/x:ro", &s, &e), 0);
	assert_string_equal(s.host, "rel/dir");
	assert_int_equal(s.ro, 1);
	assert_int_equal(share_spec_parse("/a:/mnt/x:rw", &s, &e), 0);
	assert_int_equal(s.ro, 0);
}

static void test_parse_errors(void **state)
{
	struct share_spec s;
	struct err e;

	(void)state;
	assert_int_equal(share_spec_parse("", &s, &e), -1);
	assert_non_null(strstr(e.msg, "no host directory"));
	assert_int_equal(share_spec_parse(":/mnt/x", &s, &e), -1);
	assert_int_equal(share_spec_parse("/a:/mnt/x:rx", &s, &e), -1);
	assert_non_null(strstr(e.msg, "ro or rw"));
	assert_int_equal(share_spec_parse("/a:/b:ro:x", &s, &e), -1);
	assert_non_null(strstr(e.msg, "more than three"));
	assert_int_equal(share_spec_parse("/a:relative", &s, &e), -1);
	assert_non_null(strstr(e.msg, "not absolute"));
	assert_int_equal(share_spec_parse("/a:/etc", &s, &e), -1);
	assert_non_null(strstr(e.msg, "system directory"));
}

static void test_guest_paths(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(share_guest_path_check("/mnt", &e), 0);
	assert_int_equal(share_guest_path_check("/root/project", &e), 0);
	assert_int_equal(share_guest_path_check("/home/u/proj", &e), 0);
	assert_int_equal(share_guest_path_check("/tmp/x y", &e), 0);
	const char *bad[] = {"/",	 "/root",  "/usr",    "/proc/x",  "/sys/fs",
			     "/dev/shm", "/run/x", "/a/../b", "/a/./b",	  "/a//b",
			     "/a/",	 "/a\nb",  "x",	      "/boot/efi"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (share_guest_path_check(bad[i], &e) == 0)
			fail_msg("accepted guest path \"%s\"", bad[i]);
	}
	assert_int_equal(share_host_path_check("/", &e), 0);
	assert_int_equal(share_host_path_check("/a/..", &e), -1);
}

static void test_list_roundtrip(void **state)
{
	struct share_spec in[2] = {{"/home/u/a b", "/home/u/a b", 0}, {"/srv/x", "/mnt/x", 1}};
	struct share_spec out[SHARE_MAX];
	char text[2048];
	struct err e;

	(void)state;
	assert_int_equal(share_list_format(in, 2, text, sizeof(text), &e), 0);
	assert_string_equal(text, "rw\t/home/u/a b\t/home/u/a b\nro\t/srv/x\t/mnt/x");
	assert_int_equal(share_list_parse(text, out, SHARE_MAX, &e), 2);
	assert_string_equal(out[1].guest, "/mnt/x");
	assert_int_equal(out[1].ro, 1);
	assert_int_equal(out[0].ro, 0);
	assert_int_equal(share_list_find(out, 2, "/mnt/x"), 1);
	assert_int_equal(share_list_find(out, 2, "/home/u/a b"), 0);
	assert_int_equal(share_list_find(out, 2, "/nope"), -1);
	assert_int_equal(share_list_parse("", out, SHARE_MAX, &e), 0);
	assert_int_equal(share_list_parse("xx\t/a\t/b", out, SHARE_MAX, &e), -1);
	assert_int_equal(share_list_format(in, 2, text, 10, &e), -1);
}

static void test_jail_deps(void **state)
{
	char *deps[32];
	int n, interp = 0, libc = 0;
	struct err e;

	(void)state;
	if (access(SHARE_SFTP_SERVER, X_OK) != 0)
		skip();
	n = share_jail_deps(SHARE_SFTP_SERVER, deps, 32, &e);
	assert_true(n >= 2);
	for (int i = 0; i < n; i++) {
		interp |= strstr(deps[i], "ld-linux") != NULL;
		libc |= strstr(deps[i], "/libc.so.6") != NULL;
		assert_int_equal(deps[i][0], '/');
		free(deps[i]);
	}
	assert_true(interp && libc);
	assert_int_equal(share_jail_deps("/etc/hostname", deps, 32, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_forms), cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_guest_paths), cmocka_unit_test(test_list_roundtrip),
	    cmocka_unit_test(test_jail_deps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
