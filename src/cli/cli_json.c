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

static void newline(struct buf *out, int depth)
{
	static const char ws[] = "                                                                ";
	size_t spaces = 2 * (size_t)depth;

	buf_putc(out, '\n');
	while (spaces) {
		size_t n = spaces < sizeof(ws) - 1 ? spaces : sizeof(ws) - 1;

		buf_append(out, ws, n);
		spaces -= n;
	}
}

int cli_json_indent(const char *t, size_t len, struct buf *out)
{
	size_t start = out->len, i = 0;
	int depth = 0;

	while (i < len) {
		char c = t[i];

		if (is_ws(c)) {
			i++;
		} else if (c == '"') {
			size_t end = string_end(t, len, i);

			if (!end)
				goto bad;
			buf_append(out, t + i, end - i);
			i = end;
		} else if (c == '{' || c == '[') {
			size_t next = skip_ws(t, len, i + 1);

			buf_putc(out, c);
			if (next < len && t[next] == (c == '{' ? '}' : ']')) {
				buf_putc(out, t[next]);
				i = next + 1;
				continue;
			}
			newline(out, ++depth);
			i++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				goto bad;
			newline(out, depth);
			buf_putc(out, c);
			i++;
		} else if (c == ',') {
			buf_putc(out, ',');
			newline(out, depth);
			i++;
		} else if (c == ':') {
			buf_append(out, ": ", 2);
			i++;
		} else {
			buf_putc(out, c);
			i++;
		}
	}
	if (depth != 0)
		goto bad;
	return 0;
bad:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}
