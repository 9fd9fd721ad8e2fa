/* cli_json: see cli_json.h. */
#include "cli/cli_json.h"

#include <stddef.h>
#include <string.h>

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* The index just past the string that starts at t[i] ('"'), or 0. A
 * quote ends it unless an odd run of backslashes precedes it; memchr
 * finds the quotes (paths make most of a VM's bytes). */
static size_t string_end(const char *t, size_t len, size_t i)
{
	const char *q;

	for (size_t j = i + 1; j < len && (q = memchr(t + j, '"', len - j));
	     j = (size_t)(q - t) + 1) {
		size_t bs = 0;

		while (q - bs > t + i + 1 && *(q - 1 - bs) == '\\')
			bs++;
		if (bs % 2 == 0)
			return (size_t)(q - t) + 1;
	}
	return 0;
}

/* The index just past the value that starts at t[i], or 0. */
static size_t value_end(const char *t, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		char c = t[i];

		if (c == '"') {
			if (!(i = string_end(t, len, i)))
				return 0;
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i; /* closes the object a number or literal is in */
			if (--depth == 0)
				return i + 1;
		} else if (depth == 0 && (c == ',' || is_ws(c))) {
			return i; /* the end of a number or literal */
		}
		i++;
	}
	return depth == 0 ? i : 0;
}

int cli_json_member(const char *text, size_t len, const char *key, const char **val, size_t *vlen)
{
	size_t i = skip_ws(text, len, 0), klen = strlen(key);

	if (i >= len || text[i] != '{')
		return -1;
	for (i = skip_ws(text, len, i + 1); i < len && text[i] == '"';) {
		size_t kend = string_end(text, len, i), vstart, vend;

		if (!kend)
			return -1;
		vstart = skip_ws(text, len, kend);
		if (vstart >= len || text[vstart] != ':')
			return -1;
		vstart = skip_ws(text, len, vstart + 1);
		vend = value_end(text, len, vstart);
		if (vend <= vstart)
			return -1;
		if (kend - i - 2 == klen && memcmp(text + i + 1, key, klen) == 0) {
			*val = text + vstart;
			*vlen = vend - vstart;
			return 0;
		}
		i = skip_ws(text, len, vend);
		if (i < len && text[i] == ',')
			i = skip_ws(text, len, i + 1);
	}
	return -1;
}

/* Room for n more bytes (and the NUL) at the end of out: the writer
 * below stores into it directly, a byte or a run at a time, where a
 * buf_putc per byte was most of a 1 MB list's cost. */
static void grow(struct buf *out, size_t n)
{
	size_t cap = out->cap ? out->cap : 256;

	while (cap < out->len + n + 1)
		cap *= 2;
	out->data = xrealloc(out->data, cap);
	out->cap = cap;
}

static inline char *room(struct buf *out, size_t n)
{
	if (out->len + n + 1 > out->cap)
		grow(out, n);
	return out->data + out->len;
}

static inline void put(struct buf *out, const char *s, size_t n)
{
	memcpy(room(out, n), s, n);
	out->len += n;
}

/* 1 if c ends a number or literal. */
static inline int delim(char c)
{
	switch (c) {
	case ',':
	case ':':
	case '{':
	case '}':
	case '[':
	case ']':
	case '"':
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		return 1;
	default:
		return 0;
	}
}

static void newline(struct buf *out, int depth)
{
	size_t spaces = 2 * (size_t)depth;
	char *p = room(out, spaces + 1);

	*p = '\n';
	memset(p + 1, ' ', spaces);
	out->len += spaces + 1;
}

/* Copies the input as runs: text[from, i) is copied only where layout is
 * inserted (after a colon, around brackets, after a comma) or whitespace
 * dropped, so a member costs two copies and a string no copy of its own. */
int cli_json_indent(const char *t, size_t len, struct buf *out)
{
	size_t start = out->len, i = 0, from = 0;
	int depth = 0, done = 0; /* done: the top-level value has ended */

	buf_reserve(out, len + len / 4);
	while (i < len) {
		char c = t[i];

		if (is_ws(c)) {
			put(out, t + from, i - from);
			from = ++i;
			continue;
		}
		if (done)
			goto bad; /* more than one value */
		if (c == '"') {
			if (!(i = string_end(t, len, i)))
				goto bad;
		} else if (c == '{' || c == '[') {
			size_t next = skip_ws(t, len, i + 1);

			if (next < len && t[next] == (c == '{' ? '}' : ']')) {
				put(out, t + from, i + 1 - from);
				put(out, t + next, 1);
				from = i = next + 1;
				done = depth == 0;
				continue;
			}
			put(out, t + from, i + 1 - from);
			newline(out, ++depth);
			from = ++i;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				goto bad;
			put(out, t + from, i - from);
			newline(out, depth);
			from = i++; /* the bracket goes with the next run */
		} else if (c == ',') {
			put(out, t + from, i + 1 - from);
			newline(out, depth);
			from = ++i;
		} else if (c == ':') {
			put(out, t + from, i + 1 - from);
			put(out, " ", 1);
			from = ++i;
		} else {
			/* A number or literal, whole. */
			while (++i < len && !delim(t[i]))
				;
		}
		done = depth == 0;
	}
	if (depth != 0 || !done)
		goto bad;
	put(out, t + from, len - from);
	out->data[out->len] = '\0';
	return 0;
bad:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}
