/* err: see err.h. Messages are truncated, never overflowed. */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
};

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
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
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
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old);
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
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void err_log(struct err *e, const char *path)
{
	if (!e)
		return;
	snprintf(e->log, sizeof(e->log), "%s", path ? path : "");
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
