/*
 * Unit tests for the pure parts of src/bundle: the manifest reader, the
 * per-entry tar checks, path safety and SHA-256 of a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle_info.h"
#include "bundle/bundle_manifest.h"
#include "bundle/bundle_sha256.h"
#include "bundle/bundle_unpack.h"

#define SUM "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static int parse(const char *text, struct bundle_manifest *m, struct err *e)
{
	return bundle_manifest_parse(text, strlen(text), "runtime-bundle.toml", "/srv/b", m, e);
}

static void test_manifest_ok(void **state)
{
	struct bundle_manifest m;
	struct err e;

	(void)state;
	assert_int_equal(
	    parse("url = \"https://example.org/r.tar.gz\"\n"
		  "sha256 = \"" SUM "\"\n"
		  "[bundle_metadata]\nkernel_version = \"6.1.0\"\nrootfs = \"rootfs.ext4\"\n",
		  &m, &e),
	    0);
	assert_string_equal(m.url, "https://example.org/r.tar.gz");
	assert_string_equal(m.sha256, SUM);
	assert_int_equal(m.n_meta, 2);
	assert_string_equal(bundle_manifest_meta(&m, "kernel_version"), "6.1.0");
	assert_string_equal(m.meta[1].key, "rootfs");
	assert_null(bundle_manifest_meta(&m, "nope"));
	bundle_manifest_free(&m);
}

static void test_manifest_upper_sum_and_path_url(void **state)
{
	struct bundle_manifest m;
	struct err e;
	char upper[65];

	(void)state;
	for (int i = 0; i < 64; i++)
		upper[i] = (char)((SUM[i] >= 'a' && SUM[i] <= 'f') ? SUM[i] - 32 : SUM[i]);
	upper[64] = '\0';
	char *text = NULL;
	assert_true(asprintf(&text, "url = \"/srv/x.tar.gz\"\nsha256 = \"%s\"\n", upper) > 0);
	assert_int_equal(parse(text, &m, &e), 0);
	assert_string_equal(m.url, "file:///srv/x.tar.gz");
	assert_string_equal(m.sha256, SUM); /* normalised to lower case */
	bundle_manifest_free(&m);
	free(text);
}

static void test_manifest_errors(void **state)
{
	struct bundle_manifest m;
	struct err e;

	(void)state;
	assert_int_equal(parse("sha256 = \"" SUM "\"\n", &m, &e), -1);
	assert_non_null(strstr(e.msg, "missing required key 'url'"));

	assert_int_equal(parse("url = \"http://x/y\"\nsha256 = \"abc\"\n", &m, &e), -1);
	assert_non_null(strstr(e.msg, "not 64 hex digits"));

	assert_int_equal(parse("url = \"http://x/y\"\nsha256 = \"" SUM "\"\nsha = 1\n", &m, &e),
			 -1);
	assert_non_null(strstr(e.msg, "unknown key 'sha'"));
	assert_non_null(strstr(e.msg, ":3:"));

	assert_int_equal(parse("url = 5\nsha256 = \"" SUM "\"\n", &m, &e), -1);
	assert_non_null(strstr(e.msg, "'url' must be a string"));

	assert_int_equal(parse("url = \"http://x/y\"\nsha256 = \"" SUM "\"\n"
			       "[bundle_metadata]\nsize = 3\n",
			       &m, &e),
			 -1);
	assert_non_null(strstr(e.msg, "bundle_metadata.size must be a string"));

	assert_int_equal(parse("url = \"http://x/y\n", &m, &e), -1);
	assert_non_null(strstr(e.msg, "runtime-bundle.toml:1:"));
	assert_null(m.url);
}

static void test_path_safe(void **state)
{
	(void)state;
	assert_true(bundle_info_path_safe("vmlinux"));
	assert_true(bundle_info_path_safe("modules/6.1/kernel/x.ko"));
	assert_true(bundle_info_path_safe("a/..b/c.."));
	assert_false(bundle_info_path_safe(""));
	assert_false(bundle_info_path_safe("/etc/passwd"));
	assert_false(bundle_info_path_safe(".."));
	assert_false(bundle_info_path_safe("a/../../b"));
	assert_false(bundle_info_path_safe("a/.."));
}

static void test_unpack_check(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(bundle_unpack_check("./vmlinux", S_IFREG, NULL, 0, &e), 0);
	assert_int_equal(bundle_unpack_check("./", S_IFDIR, NULL, 0, &e), 0);
	assert_int_equal(bundle_unpack_check("modules/lib", S_IFLNK, "../vmlinux", 0, &e), 0);
	assert_int_equal(bundle_unpack_check("a/b/c", S_IFLNK, "../../x/y", 0, &e), 0);
	assert_int_equal(bundle_unpack_check("copy", S_IFREG, "./vmlinux", 1, &e), 0);

	assert_int_equal(bundle_unpack_check("../evil", S_IFREG, NULL, 0, &e), -1);
	assert_non_null(strstr(e.msg, "'../evil'"));
	assert_int_equal(bundle_unpack_check("/etc/evil", S_IFREG, NULL, 0, &e), -1);
	assert_non_null(strstr(e.msg, "absolute path"));
	assert_int_equal(bundle_unpack_check("link", S_IFLNK, "/etc/passwd", 0, &e), -1);
	assert_non_null(strstr(e.msg, "points outside"));
	assert_int_equal(bundle_unpack_check("link", S_IFLNK, "../up", 0, &e), -1);
	assert_int_equal(bundle_unpack_check("a/link", S_IFLNK, "../../up", 0, &e), -1);
	/* ".." after a downward part could climb through another symlink */
	assert_int_equal(bundle_unpack_check("a/b/link", S_IFLNK, "x/../y", 0, &e), -1);
	assert_int_equal(bundle_unpack_check("hard", S_IFREG, "/etc/shadow", 1, &e), -1);
	assert_non_null(strstr(e.msg, "hard link"));
	assert_int_equal(bundle_unpack_check("hard", S_IFREG, "../x", 1, &e), -1);
	assert_int_equal(bundle_unpack_check("dev/sda", S_IFBLK, NULL, 0, &e), -1);
	assert_non_null(strstr(e.msg, "device node"));
	assert_int_equal(bundle_unpack_check("tty", S_IFCHR, NULL, 0, &e), -1);
	assert_int_equal(bundle_unpack_check("pipe", S_IFIFO, NULL, 0, &e), -1);
}

static void test_sha256_file(void **state)
{
	char path[] = "/tmp/test-bundle-sha-XXXXXX", out[BUNDLE_SHA256_HEX];
	struct err e;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "test", 4), 4);
	close(fd);
	assert_int_equal(bundle_sha256_file(path, out, &e), 0);
	assert_string_equal(out, SUM);
	assert_true(bundle_sha256_equal(
	    out, "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"));
	unlink(path);
	assert_int_equal(bundle_sha256_file(path, out, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_true(bundle_sha256_valid(SUM));
	assert_false(bundle_sha256_valid("9f86"));
	assert_false(bundle_sha256_valid(SUM "0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest_ok),
	    cmocka_unit_test(test_manifest_upper_sum_and_path_url),
	    cmocka_unit_test(test_manifest_errors),
	    cmocka_unit_test(test_path_safe),
	    cmocka_unit_test(test_unpack_check),
	    cmocka_unit_test(test_sha256_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
