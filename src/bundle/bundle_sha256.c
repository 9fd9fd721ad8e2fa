/* bundle_sha256: see bundle_sha256.h. Uses libcrypto's EVP interface. */

/* OpenSSL's types.h declares a type ERR_BAD_STATE, which clashes with banger's
 * enum err_code value of that name; rename OpenSSL's while including it. */
#define ERR_BAD_STATE openssl_ERR_STATE
#include <openssl/evp.h>
#undef ERR_BAD_STATE

#include "bundle/bundle_sha256.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static void to_hex(const unsigned char *md, unsigned int n, char out[BUNDLE_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

int bundle_sha256_file(const char *path, char out[BUNDLE_SHA256_HEX], struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *chunk = NULL;
	int fd, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	ctx = EVP_MD_CTX_new();
	chunk = malloc(CHUNK);
	if (!ctx || !chunk || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		err_set(e, ERR_INTERNAL, "sha256 %s: cannot set up libcrypto", path);
		goto out;
	}
	while ((n = read(fd, chunk, CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "read %s", path);
			goto out;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		err_set(e, ERR_INTERNAL, "sha256 %s: libcrypto failed", path);
		goto out;
	}
	to_hex(md, mdlen, out);
	rc = 0;
out:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

int bundle_sha256_valid(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; s[i]; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return i == 64;
}

int bundle_sha256_equal(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}
