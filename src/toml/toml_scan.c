/*
 * toml_scan: the lowest layer of the parser - where we are (line and
 * column for messages), the first error, the UTF-8 check of the whole
 * document, and skipping whitespace, comments and newlines.
 *
 * TOML whitespace is only space and tab; a newline is LF or CRLF, and a
 * CR anywhere else is an error (it is a control character).
 */
#include <stdarg.h>
#include <stdio.h>

#include "toml_internal.h"

int toml_scan_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Control characters TOML forbids in comments and strings (tab is allowed). */
int toml_scan_is_ctrl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

int toml_scan_eof(const struct toml_parser *p)
{
	return p->p >= p->end;
}

/* Byte off positions ahead, or -1 past the end. */
int toml_scan_peek(const struct toml_parser *p, size_t off)
{
	if ((size_t)(p->end - p->p) <= off)
		return -1;
	return (unsigned char)p->p[off];
}

/* 1-based line of position at; cached so a forward walk stays linear. */
int toml_scan_line(struct toml_parser *p, const char *at)
{
	const char *s;

	if (at > p->end)
		at = p->end;
	if (at < p->line_pos) {
		p->line_pos = p->start;
		p->line = 1;
	}
	for (s = p->line_pos; s < at; s++)
		if (*s == '\n')
			p->line++;
	p->line_pos = at;
	return p->line;
}

/* Record the first error, located at position at. */
void toml_scan_fail(struct toml_parser *p, const char *at, const char *fmt, ...)
{
	const char *ls;
	va_list ap;
	int col = 1;

	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err)
		return;
	if (at > p->end)
		at = p->end;
	if (at < p->start)
		at = p->start;
	p->err->line = toml_scan_line(p, at);
	ls = at;
	while (ls > p->start && ls[-1] != '\n')
		ls--;
	/* columns count characters, so skip UTF-8 continuation bytes */
	for (; ls < at; ls++)
		if (((unsigned char)*ls & 0xc0) != 0x80)
			col++;
	p->err->column = col;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 if it is malformed. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned cp, need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		need = 2, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3, cp = s[0] & 0x07;
	else
		return 0;
	if (n <= need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int toml_scan_utf8(struct toml_parser *p)
{
	const unsigned char *s = (const unsigned char *)p->start;
	const unsigned char *end = (const unsigned char *)p->end;

	while (s < end) {
		size_t n = utf8_seq(s, (size_t)(end - s));

		if (!n) {
			toml_scan_fail(p, (const char *)s,
				       "invalid UTF-8 byte 0x%02x; TOML documents must be UTF-8",
				       *s);
			return -1;
		}
		s += n;
	}
	return 0;
}

void toml_scan_ws(struct toml_parser *p)
{
	while (p->p < p->end && (*p->p == ' ' || *p->p == '\t'))
		p->p++;
}

/* Consume one LF or CRLF; 1 if there was one. */
int toml_scan_newline(struct toml_parser *p)
{
	if (toml_scan_peek(p, 0) == '\n') {
		p->p++;
		return 1;
	}
	if (toml_scan_peek(p, 0) == '\r' && toml_scan_peek(p, 1) == '\n') {
		p->p += 2;
		return 1;
	}
	return 0;
}

/* Consume a comment up to (not including) its newline; -1 on a control character. */
int toml_scan_comment(struct toml_parser *p)
{
	if (toml_scan_peek(p, 0) != '#')
		return 0;
	for (p->p++; p->p < p->end && *p->p != '\n'; p->p++) {
		unsigned char c = (unsigned char)*p->p;

		if (c == '\r' && toml_scan_peek(p, 1) == '\n')
			break;
		if (toml_scan_is_ctrl(c)) {
			toml_scan_fail(p, p->p, "control character 0x%02x in comment", c);
			return -1;
		}
	}
	return 0;
}

/* Skip any mix of whitespace, comments and newlines. */
int toml_scan_blank(struct toml_parser *p)
{
	for (;;) {
		toml_scan_ws(p);
		if (toml_scan_comment(p) < 0)
			return -1;
		if (!toml_scan_newline(p))
			return 0;
	}
}

/* After a key/value pair or header: only whitespace and a comment may follow. */
int toml_scan_eol(struct toml_parser *p)
{
	toml_scan_ws(p);
	if (toml_scan_comment(p) < 0)
		return -1;
	if (toml_scan_eof(p) || toml_scan_newline(p))
		return 0;
	if (toml_scan_is_ctrl((unsigned char)*p->p))
		toml_scan_fail(p, p->p, "control character 0x%02x where a newline was expected",
			       (unsigned char)*p->p);
	else
		toml_scan_fail(p, p->p, "expected a newline, found '%c'", *p->p);
	return -1;
}
