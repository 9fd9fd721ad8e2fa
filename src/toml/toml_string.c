/*
 * toml_string: the four TOML string forms - "basic", 'literal',
 * """multi-line basic""" and '''multi-line literal''' - decoded into a
 * fresh NUL-terminated buffer.
 *
 * Multi-line strings: a newline right after the opening quotes is
 * dropped, CRLF is stored as LF, and up to two quote characters may sit
 * right before the closing delimiter (so """a""""" ends in a"").
 */
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sbuf_put(struct toml_parser *p, struct sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t ncap = b->cap ? b->cap : 32;
		char *np;

		while (ncap - b->len <= n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			toml_scan_fail(p, p->p, "out of memory");
			return -1;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Encode Unicode scalar value cp as UTF-8 into out; returns the length. */
static size_t utf8_put(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX or \UXXXXXXXX with p->p on the 'u'/'U'. */
static int unicode_escape(struct toml_parser *p, struct sbuf *b)
{
	const char *esc = p->p - 1;
	int ndig = *p->p == 'u' ? 4 : 8, i;
	unsigned long cp = 0;
	char out[4];

	p->p++;
	for (i = 0; i < ndig; i++) {
		int h = hexval(toml_scan_peek(p, 0));

		if (h < 0) {
			toml_scan_fail(p, esc, "escape \\%c needs %d hex digits",
				       ndig == 4 ? 'u' : 'U', ndig);
			return -1;
		}
		cp = cp * 16 + (unsigned long)h;
		p->p++;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		toml_scan_fail(p, esc, "escape U+%04lX is not a Unicode scalar value", cp);
		return -1;
	}
	return sbuf_put(p, b, out, utf8_put(cp, out));
}

/* Skip whitespace and newlines after a line-ending backslash. */
static int line_ending_backslash(struct toml_parser *p)
{
	const char *save = p->p;

	toml_scan_ws(p);
	if (!toml_scan_newline(p)) {
		p->p = save;
		return 0;
	}
	for (;;) {
		toml_scan_ws(p);
		if (!toml_scan_newline(p))
			return 1;
	}
}

/* One escape sequence; p->p is on the backslash. */
static int escape(struct toml_parser *p, struct sbuf *b, int multiline)
{
	static const char from[] = "btnfr\"\\";
	static const char to[] = "\b\t\n\f\r\"\\";
	const char *esc = p->p, *hit;
	int c;

	p->p++;
	c = toml_scan_peek(p, 0);
	if (multiline && line_ending_backslash(p))
		return 0;
	if (c == 'u' || c == 'U')
		return unicode_escape(p, b);
	hit = c > 0 ? strchr(from, c) : NULL;
	if (!hit) {
		if (c < 0)
			toml_scan_fail(p, esc, "unterminated string");
		else if (c >= 0x20 && c < 0x7f)
			toml_scan_fail(p, esc, "invalid escape sequence \\%c", c);
		else
			toml_scan_fail(p, esc, "invalid escape sequence");
		return -1;
	}
	p->p++;
	return sbuf_put(p, b, &to[hit - from], 1);
}

/*
 * Body of any string form; p->p is just past the opening delimiter.
 * q is the quote character, multiline says whether it was tripled.
 */
static int body(struct toml_parser *p, struct sbuf *b, char q, int multiline)
{
	const char *open = p->p;

	if (multiline)
		toml_scan_newline(p);
	for (;;) {
		int c = toml_scan_peek(p, 0);

		if (c < 0) {
			toml_scan_fail(p, open, "unterminated string");
			return -1;
		}
		if (c == q) {
			size_t n = 1;

			if (!multiline) {
				p->p++;
				return 0;
			}
			while (toml_scan_peek(p, n) == q)
				n++;
			if (n >= 3) {
				if (n > 5) {
					toml_scan_fail(
					    p, p->p,
					    "too many quotes at the end of a multi-line string");
					return -1;
				}
				p->p += n;
				return sbuf_put(p, b, p->p - n, n - 3);
			}
			if (sbuf_put(p, b, p->p, n) < 0)
				return -1;
			p->p += n;
			continue;
		}
		if (c == '\\' && q == '"') {
			if (escape(p, b, multiline) < 0)
				return -1;
			continue;
		}
		if (multiline && (c == '\n' || c == '\r')) {
			if (!toml_scan_newline(p)) {
				toml_scan_fail(p, p->p,
					       "carriage return without line feed in string");
				return -1;
			}
			if (sbuf_put(p, b, "\n", 1) < 0)
				return -1;
			continue;
		}
		if (toml_scan_is_ctrl((unsigned char)c)) {
			if (c == '\n' || c == '\r')
				toml_scan_fail(
				    p, p->p,
				    "newline in a single-line string (missing closing %c?)", q);
			else
				toml_scan_fail(p, p->p,
					       "control character 0x%02x in string; use an escape",
					       c);
			return -1;
		}
		if (sbuf_put(p, b, p->p, 1) < 0)
			return -1;
		p->p++;
	}
}

int toml_string_parse(struct toml_parser *p, int allow_multiline, char **out, size_t *len)
{
	struct sbuf b = {0};
	char q = *p->p;
	int multiline = toml_scan_peek(p, 1) == q && toml_scan_peek(p, 2) == q;

	if (multiline && !allow_multiline) {
		toml_scan_fail(p, p->p, "a key cannot be a multi-line string");
		return -1;
	}
	p->p += multiline ? 3 : 1;
	if (sbuf_put(p, &b, "", 0) < 0 || body(p, &b, q, multiline) < 0) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
