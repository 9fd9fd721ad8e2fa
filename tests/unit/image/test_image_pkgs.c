/* Unit tests: package lists, mirror detection and suite/mirror checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image_mirror.h"
#include "image/image_pkgs.h"
#include "util/buf.h"
#include "util/fs.h"

static void names(void **state)
{
	(void)state;
	assert_true(image_pkgs_name_ok("openssh-server"));
	assert_true(image_pkgs_name_ok("g++"));
	assert_true(image_pkgs_name_ok("libc6.1"));
	assert_true(image_pkgs_name_ok("0ad"));
	assert_false(image_pkgs_name_ok("a"));	  /* too short */
	assert_false(image_pkgs_name_ok("Vim"));  /* upper case */
	assert_false(image_pkgs_name_ok("-vim")); /* starts with '-' */
	assert_false(image_pkgs_name_ok("+vim"));
	assert_false(image_pkgs_name_ok("vim;rm"));
	assert_false(image_pkgs_name_ok("vim=2:9.0")); /* version pins are not names */
	assert_false(image_pkgs_name_ok("vim:amd64"));
	assert_false(image_pkgs_name_ok("a b"));
	assert_false(image_pkgs_name_ok("$(reboot)"));
	assert_false(image_pkgs_name_ok(""));
}

static void parse_ok(void **state)
{
	struct buf csv = BUF_INIT;
	struct err e;

	(void)state;
	buf_puts(&csv, "base");
	assert_int_equal(image_pkgs_parse("# comment\n less\n\ncurl # trailing\r\nless\nvim-tiny",
					  "p.apt", &csv, &e),
			 0);
	assert_string_equal(buf_str(&csv), "base,less,curl,vim-tiny");
	buf_free(&csv);
}

static void parse_bad(void **state)
{
	struct buf csv = BUF_INIT;
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(image_pkgs_parse("less\n\n# x\nBad_Name\n", "p.apt", &csv, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "p.apt line 4"));
	assert_non_null(strstr(e.msg, "\"Bad_Name\""));
	err_clear(&e);
	assert_int_equal(image_pkgs_parse("less curl\n", "p.apt", &csv, &e), -1);
	assert_non_null(strstr(e.msg, "line 1"));
	buf_free(&csv);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mirrors(void **state)
{
	char dir[] = "/tmp/banger-test-apt-XXXXXX", *p, *m;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Nothing configured: deb.debian.org. */
	m = image_mirror_host(dir, 0);
	assert_string_equal(m, "http://deb.debian.org/debian");
	free(m);
	/* One-line style with options. */
	p = xasprintf("%s/sources.list", dir);
	write_file(p, "# x\ndeb-src http://src.example/debian bookworm main\n"
		      "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n"
		      "deb http://m.example/debian-security bookworm-security main\n");
	m = image_mirror_host(dir, 0);
	assert_string_equal(m, "http://m.example/debian");
	free(m);
	m = image_mirror_host(dir, 1);
	assert_string_equal(m, "http://m.example/debian-security");
	free(m);
	free(p);
	/* deb822 wins over sources.list. */
	p = xasprintf("%s/sources.list.d", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/sources.list.d/debian.sources", dir);
	write_file(p, "Types: deb\nURIs: http://deb822.example/debian\nSuites: bookworm\n\n"
		      "Types: deb\nURIs: http://deb822.example/debian-security\n");
	m = image_mirror_host(dir, 0);
	assert_string_equal(m, "http://deb822.example/debian");
	free(m);
	m = image_mirror_host(dir, 1);
	assert_string_equal(m, "http://deb822.example/debian-security");
	free(m);
	free(p);
	assert_int_equal(fs_rm_rf(dir, NULL), 0);
}

static void checks(void **state)
{
	(void)state;
	assert_true(image_mirror_ok("http://deb.debian.org/debian"));
	assert_true(image_mirror_ok("https://m.example:8443/debian/"));
	assert_true(image_mirror_ok("file:///srv/mirror"));
	assert_false(image_mirror_ok("ftp://x/debian"));
	assert_false(image_mirror_ok("http://x/debian bookworm"));
	assert_false(image_mirror_ok("http://x/'debian"));
	assert_false(image_mirror_ok("deb.debian.org/debian"));
	assert_true(image_mirror_suite_ok("bookworm"));
	assert_true(image_mirror_suite_ok("bookworm-backports"));
	assert_false(image_mirror_suite_ok("Bookworm"));
	assert_false(image_mirror_suite_ok("book worm"));
	assert_false(image_mirror_suite_ok("../x"));
	assert_false(image_mirror_suite_ok("x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names),   cmocka_unit_test(parse_ok), cmocka_unit_test(parse_bad),
	    cmocka_unit_test(mirrors), cmocka_unit_test(checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
