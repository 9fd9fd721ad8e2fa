/* utf8: see utf8.h. */
#include "util/utf8.h"

static int cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* How long the sequence led by c is (0: c cannot lead one), and the range
 * its second byte must be in (what rules out overlong forms, surrogates and
 * code points past U+10FFFF). */
static size_t lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF) {
		if (c == 0xE0)
			*lo = 0xA0;
		else if (c == 0xED)
			*hi = 0x9F;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (c == 0xF0)
			*lo = 0x90;
		else if (c == 0xF4)
			*hi = 0x8F;
		return 4;
	}
	return 0;
}

size_t utf8_seq(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo, hi;
	size_t len;

	if (n == 0)
		return 0;
	len = lead(u[0], &lo, &hi);
	if (len == 0 || len > n)
		return 0;
	if (len > 1 && (u[1] < lo || u[1] > hi))
		return 0;
	for (size_t i = 2; i < len; i++)
		if (!cont(u[i]))
			return 0;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(s + i, n - i)) == 0)
			return 0;
	return 1;
}

size_t utf8_cut(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo, hi;
	size_t start = n, len;

	/* Back over at most three continuation bytes to the last lead byte. */
	while (start > 0 && n - start < 3 && cont(u[start - 1]))
		start--;
	if (start == 0)
		return n;
	len = lead(u[start - 1], &lo, &hi);
	if (len > 1 && len > n - (start - 1))
		return start - 1;
	return n;
}
