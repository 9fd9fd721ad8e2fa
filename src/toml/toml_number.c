/*
 * toml_number: integers (decimal, 0x, 0o, 0b) and floats (with fraction
 * and/or exponent, inf, nan).
 *
 * The token is first cut at the next character that cannot belong to a
 * number, then checked as a whole, so "1.2.3" or "0r" fail here with a
 * clear message rather than later as stray text. Underscores must sit
 * between two digits; decimal integers and float integer parts have no
 * leading zeros; integers must fit in a signed 64-bit value.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

static int is_tok(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || c == '+' || c == '-' || c == '.';
}

static int digit_val(int c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

/*
 * Digits of base with single underscores between them, from s up to end;
 * returns where they stop, or NULL if there are none or an underscore is
 * misplaced.
 */
static const char *digits(const char *s, const char *end, int base)
{
	const char *start = s;

	while (s < end) {
		if (digit_val(*s, base) >= 0) {
			s++;
			continue;
		}
		if (*s == '_' && s > start && s + 1 < end && digit_val(s[1], base) >= 0) {
			s++;
			continue;
		}
		break;
	}
	return s > start ? s : NULL;
}

/* Accumulate an integer; -1 when it does not fit in max. */
static int accumulate(const char *s, const char *end, int base, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v = 0;

	for (; s < end; s++) {
		int d = digit_val(*s, base);

		if (d < 0)
			continue; /* underscore */
		if (v > (max - (unsigned)d) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + (unsigned)d;
	}
	*out = v;
	return 0;
}

static struct toml_value *make_int(struct toml_parser *p, const char *tok, long long v)
{
	struct toml_value *val = toml_value_new(TOML_INTEGER, toml_scan_line(p, tok));

	if (!val)
		toml_scan_fail(p, tok, "out of memory");
	else
		val->u.i = v;
	return val;
}

static struct toml_value *make_float(struct toml_parser *p, const char *tok, double v)
{
	struct toml_value *val = toml_value_new(TOML_FLOAT, toml_scan_line(p, tok));

	if (!val)
		toml_scan_fail(p, tok, "out of memory");
	else
		val->u.f = v;
	return val;
}

/* 0x, 0o, 0b integers: no sign allowed. */
static struct toml_value *prefixed_int(struct toml_parser *p, const char *tok, const char *end)
{
	int base = tok[1] == 'x' ? 16 : tok[1] == 'o' ? 8 : 2;
	unsigned long long v;

	if (digits(tok + 2, end, base) != end) {
		toml_scan_fail(p, tok, "invalid base-%d integer '%.*s'", base, (int)(end - tok),
			       tok);
		return NULL;
	}
	if (accumulate(tok + 2, end, base, LLONG_MAX, &v) < 0) {
		toml_scan_fail(p, tok, "integer '%.*s' does not fit in 64 bits", (int)(end - tok),
			       tok);
		return NULL;
	}
	return make_int(p, tok, (long long)v);
}

static struct toml_value *decimal_int(struct toml_parser *p, const char *tok, const char *s,
				      const char *end)
{
	unsigned long long max = *tok == '-' ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	unsigned long long v;

	if (accumulate(s, end, 10, max, &v) < 0) {
		toml_scan_fail(p, tok, "integer '%.*s' does not fit in 64 bits", (int)(end - tok),
			       tok);
		return NULL;
	}
	if (*tok == '-')
		return make_int(p, tok, v ? (long long)(0 - v) : 0);
	return make_int(p, tok, (long long)v);
}

/* Float text without underscores, converted in the C locale. */
static struct toml_value *decimal_float(struct toml_parser *p, const char *tok, const char *end)
{
	char buf[512], *q = buf, *stop;
	const char *s;
	double v;

	if ((size_t)(end - tok) >= sizeof(buf)) {
		toml_scan_fail(p, tok, "float literal too long");
		return NULL;
	}
	for (s = tok; s < end; s++)
		if (*s != '_')
			*q++ = *s;
	*q = '\0';
	if (!p->c_locale) {
		p->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
		if (!p->c_locale) {
			toml_scan_fail(p, tok, "out of memory");
			return NULL;
		}
	}
	errno = 0;
	v = strtod_l(buf, &stop, p->c_locale);
	if (*stop || (errno == ERANGE && isinf(v))) {
		toml_scan_fail(p, tok, "float '%.*s' is out of range", (int)(end - tok), tok);
		return NULL;
	}
	return make_float(p, tok, v);
}

/* Decimal integer or float after the optional sign at s. */
static struct toml_value *decimal(struct toml_parser *p, const char *tok, const char *s,
				  const char *end)
{
	const char *q = digits(s, end, 10);
	int is_float = 0;

	if (q && q - s > 1 && *s == '0') {
		toml_scan_fail(p, tok, "leading zeros are not allowed in '%.*s'", (int)(end - tok),
			       tok);
		return NULL;
	}
	if (q && q < end && *q == '.') {
		q = digits(q + 1, end, 10);
		is_float = 1;
	}
	if (q && q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		q = digits(q, end, 10);
		is_float = 1;
	}
	if (q != end) {
		toml_scan_fail(p, tok, "invalid number '%.*s'", (int)(end - tok), tok);
		return NULL;
	}
	return is_float ? decimal_float(p, tok, end) : decimal_int(p, tok, s, end);
}

struct toml_value *toml_number_parse(struct toml_parser *p)
{
	const char *tok = p->p, *end = p->p, *s;
	size_t n;

	while (end < p->end && is_tok((unsigned char)*end))
		end++;
	p->p = end;
	s = tok;
	if (s < end && (*s == '+' || *s == '-'))
		s++;
	n = (size_t)(end - s);
	if (n == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0)) {
		double v = s[0] == 'i' ? INFINITY : NAN;

		return make_float(p, tok, *tok == '-' ? -v : v);
	}
	if (s == tok && n > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b'))
		return prefixed_int(p, tok, end);
	if (end == tok) {
		int c = toml_scan_peek(p, 0);

		if (c >= 0x20 && c < 0x7f)
			toml_scan_fail(p, tok, "expected a value, found '%c'", c);
		else
			toml_scan_fail(p, tok, "expected a value (strings need quotes)");
		return NULL;
	}
	if (n == 0 || !toml_scan_is_digit((unsigned char)*s)) {
		toml_scan_fail(p, tok, "invalid value '%.*s' (strings need quotes)",
			       (int)(end - tok > 40 ? 40 : end - tok), tok);
		return NULL;
	}
	return decimal(p, tok, s, end);
}
