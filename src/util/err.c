/* err: see err.h. Messages are truncated, never overflowed, and always
 * valid UTF-8 (see escape()). */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

/* clang-format off */
static const char *const code_names[] = {
	[ERR_OK] = "ok",
	[ERR_INTERNAL] = "internal",
	[ERR_INVALID] = "invalid",
	[ERR_NOT_FOUND] = "not_found",
	[ERR_CONFLICT] = "conflict",
	[ERR_BAD_STATE] = "bad_state",
	[ERR_IO] = "io",
	[ERR_MISSING_TOOL] = "missing_tool",
	[ERR_PERMISSION] = "permission",
	[ERR_VMM] = "vmm",
	[ERR_UNAVAILABLE] = "unavailable",
	[ERR_USAGE] = "usage",
};
/* clang-format on */

/* How escape() treats text: a message keeps its newlines, tabs, quotes and
 * backslashes; a quote of user text escapes them too (it is one line, put
 * between double quotes). */
enum esc_mode { ESC_MESSAGE, ESC_QUOTE };

/* The escaped form of the character of k bytes at s into unit (at least 8
 * bytes); returns its length. k == 0: one byte that is not UTF-8. */
static size_t esc_unit(const unsigned char *s, size_t k, enum esc_mode m, char *unit)
{
	unsigned char c = s[0];
	int plain = c >= 0x20 && c != 0x7f;

	if (k == 2 && c == 0xC2 && s[1] < 0xA0) /* C1 controls, U+0080-U+009F */
		return (size_t)snprintf(unit, 8, "\\u00%02x", s[1]);
	if (k > 1) {
		memcpy(unit, s, k);
		return k;
	}
	if (m == ESC_MESSAGE)
		plain = plain || c == '\n' || c == '\t';
	else if (c == '"' || c == '\\')
		return (size_t)snprintf(unit, 8, "\\%c", c);
	if (k == 1 && plain) {
		unit[0] = (char)c;
		return 1;
	}
	if (c == '\n' || c == '\t' || c == '\r')
		return (size_t)snprintf(unit, 8, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
	return (size_t)snprintf(unit, 8, "\\x%02x", c);
}

/* Copies n bytes of in to out (cap bytes, cap >= 4) escaped per m, always
 * NUL-terminated. What does not fit is cut after a whole character and
 * marked "..."; so is input that was already cut (`was_cut`), after
 * dropping the incomplete character the cut may have left at its end. */
static void escape(char *out, size_t cap, const char *in, size_t n, int was_cut, enum esc_mode m)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t pos = 0, keep = 0, i = 0;
	char unit[8];

	if (was_cut)
		n = utf8_cut(in, n);
	while (i < n) {
		size_t k = utf8_seq(in + i, n - i), ul = esc_unit(u + i, k, m, unit);

		if (pos + ul > cap - 1)
			break;
		memcpy(out + pos, unit, ul);
		pos += ul;
		i += k ? k : 1;
		if (pos <= cap - 4)
			keep = pos; /* room for "..." after this character */
	}
	if (i < n || was_cut) {
		memcpy(out + keep, "...", 3);
		pos = keep + 3;
	}
	out[pos] = '\0';
}

const char *err_quote(char *buf, size_t len, const char *s)
{
	if (!s)
		s = "";
	escape(buf, len, s, strlen(s), 0, ESC_QUOTE);
	return buf;
}

const char *err_clean(char *buf, size_t len, const char *s)
{
	if (!s)
		s = "";
	escape(buf, len, s, strlen(s), 0, ESC_MESSAGE);
	return buf;
}

/* vsnprintf into dst (cap bytes) through escape(). The scratch buffer is
 * larger than any message so that a cut there is rare, and seen. */
static void vformat(char *dst, size_t cap, const char *fmt, va_list ap)
{
	char tmp[2 * ERR_MSG_MAX];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (n < 0) {
		snprintf(dst, cap, "(unprintable error message)");
		return;
	}
	escape(dst, cap, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1,
	       (size_t)n >= sizeof(tmp), ESC_MESSAGE);
}

static void format(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void format(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(dst, cap, fmt, ap);
	va_end(ap);
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = ERR_OK;
	e->msg[0] = e->hint[0] = e->log[0] = '\0';
}

static void vset(struct err *e, enum err_code code, const char *fmt, va_list ap)
{
	e->code = code;
	vformat(e->msg, sizeof(e->msg), fmt, ap);
	e->hint[0] = e->log[0] = '\0';
}

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	enum err_code code = ERR_IO;

	if (!e)
		return -1;
	if (errnum == ENOENT)
		code = ERR_NOT_FOUND;
	else if (errnum == EACCES || errnum == EPERM)
		code = ERR_PERMISSION;
	else if (errnum == ENOSPC)
		code = ERR_IO;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n + 2 + strlen(strerror(errnum)) < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	if (errnum == ENOSPC)
		err_hint(e, "free some disk space and try again");
	return -1;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
	char ctx[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vformat(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	format(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
	if (e->code == ERR_OK)
		e->code = ERR_INTERNAL;
	return -1;
}

void err_hint(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vformat(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void err_log(struct err *e, const char *path)
{
	if (!e)
		return;
	err_clean(e->log, sizeof(e->log), path);
}

const char *err_code_name(enum err_code code)
{
	if ((size_t)code >= sizeof(code_names) / sizeof(code_names[0]) || !code_names[code])
		return "internal";
	return code_names[code];
}

enum err_code err_code_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++)
		if (name && code_names[i] && strcmp(name, code_names[i]) == 0)
			return (enum err_code)i;
	return ERR_INTERNAL;
}

int err_http_status(enum err_code code)
{
	switch (code) {
	case ERR_OK:
		return 200;
	case ERR_INVALID:
	case ERR_USAGE:
		return 400;
	case ERR_PERMISSION:
		return 403;
	case ERR_NOT_FOUND:
		return 404;
	case ERR_CONFLICT:
	case ERR_BAD_STATE:
		return 409;
	case ERR_UNAVAILABLE:
		return 503;
	default:
		return 500;
	}
}

void err_format(const struct err *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s", e->msg);

	if (n < 0 || (size_t)n >= len)
		return;
	if (e->log[0] && !strstr(e->msg, e->log))
		n += snprintf(buf + n, len - (size_t)n, " (see %s)", e->log);
	if ((size_t)n < len && e->hint[0])
		snprintf(buf + n, len - (size_t)n, "\nhint: %s", e->hint);
}
