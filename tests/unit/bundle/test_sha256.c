/*
 * The plain C SHA-256 of bundle_sha256.c (the build without libcrypto, which
 * `banger doctor` uses): files of lengths around the 64-byte block and
 * padding boundaries, and larger than one read chunk, against digests from
 * Python's hashlib.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_sha256.h"

static const struct {
	size_t n;
	const char *hex;
} vectors[] = {
    {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {3, "6ab0dba1f4f1dfbb37b4f9eeb092c09fca4900ad32bdcd147d8dde35d6c87c35"},
    {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
    {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
    {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
    {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
    {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
    {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
    {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
    {1000003, "987ab1b5b3b71c1d1053a817cffc3695c96e78c2b068d558c6b340a8255c3ed8"},
    {(1 << 20) + 7, "d66748f132ea9164919c3bc3f127603f3216ea88a1df2f6f250e362dc5379d13"},
};

static void test_vectors(void **state)
{
	char path[] = "/tmp/test-sha256-XXXXXX", got[BUNDLE_SHA256_HEX];
	struct err e;

	(void)state;
	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		size_t n = vectors[v].n;
		unsigned char *d = malloc(n + 1);
		int fd;

		for (size_t i = 0; i < n; i++)
			d[i] = (unsigned char)((i * 7 + 3) & 255);
		strcpy(path, "/tmp/test-sha256-XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, d, n), (ssize_t)n);
		close(fd);
		assert_int_equal(bundle_sha256_file(path, got, &e), 0);
		assert_string_equal(got, vectors[v].hex);
		unlink(path);
		free(d);
	}
}

static void test_missing_file(void **state)
{
	char got[BUNDLE_SHA256_HEX];
	struct err e;

	(void)state;
	assert_int_equal(bundle_sha256_file("/nonexistent/x", got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
