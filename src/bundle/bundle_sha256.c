/* bundle_sha256: see bundle_sha256.h. Built with BUNDLE_SHA256_LIBCRYPTO it
 * uses libcrypto's EVP interface (fast: SHA extensions); without it, a plain C
 * FIPS 180-4 implementation, so that `banger doctor` verifies the bundle with
 * no library beyond libc and jansson. */

#ifdef BUNDLE_SHA256_LIBCRYPTO
/* OpenSSL's types.h declares a type ERR_BAD_STATE, which clashes with banger's
 * enum err_code value of that name; rename OpenSSL's while including it. */
#define ERR_BAD_STATE openssl_ERR_STATE
#include <openssl/evp.h>
#undef ERR_BAD_STATE
#endif

#include "bundle/bundle_sha256.h"

#include <ctype.h>
#include <stdint.h>
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

#ifdef BUNDLE_SHA256_LIBCRYPTO
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
#endif

#ifndef BUNDLE_SHA256_LIBCRYPTO
struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->nbuf = 0;
}

static void sha256_update(struct sha256 *s, const unsigned char *p, size_t n)
{
	s->len += n;
	if (s->nbuf) {
		size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;

		memcpy(s->buf + s->nbuf, p, take);
		s->nbuf += take, p += take, n -= take;
		if (s->nbuf < 64)
			return;
		sha256_block(s->h, s->buf);
		s->nbuf = 0;
	}
	for (; n >= 64; p += 64, n -= 64)
		sha256_block(s->h, p);
	memcpy(s->buf, p, n);
	s->nbuf = n;
}

static void sha256_final(struct sha256 *s, unsigned char md[32])
{
	uint64_t bits = s->len * 8;
	unsigned char pad[72] = {0x80};
	size_t npad = (s->nbuf < 56 ? 56 : 120) - s->nbuf;

	for (int i = 0; i < 8; i++)
		pad[npad + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, pad, npad + 8);
	for (int i = 0; i < 8; i++) {
		md[4 * i] = (unsigned char)(s->h[i] >> 24);
		md[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		md[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		md[4 * i + 3] = (unsigned char)s->h[i];
	}
}

int bundle_sha256_file(const char *path, char out[BUNDLE_SHA256_HEX], struct err *e)
{
	unsigned char md[32], *chunk;
	struct sha256 s;
	int fd, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	chunk = malloc(CHUNK);
	if (!chunk) {
		err_set(e, ERR_INTERNAL, "sha256 %s: out of memory", path);
		goto out;
	}
	sha256_init(&s);
	while ((n = read(fd, chunk, CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "read %s", path);
			goto out;
		}
		sha256_update(&s, chunk, (size_t)n);
	}
	sha256_final(&s, md);
	to_hex(md, 32, out);
	rc = 0;
out:
	free(chunk);
	close(fd);
	return rc;
}
#endif

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
