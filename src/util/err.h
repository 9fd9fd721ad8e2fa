/*
 * err: banger's one error type.
 *
 * A fixed-size value that lives on the caller's stack (nothing to free). A
 * failing function fills it with err_set()/err_errno() and returns -1; each
 * caller on the way up may prepend context with err_wrap(), so the top level
 * prints one chain: "vm start calm-otter: configure drives: ... (see PATH)".
 *
 * Every message, hint and log path is valid UTF-8 without terminal control
 * characters, whatever went into it (a JSON error must always be encodable,
 * and a terminal must not obey what a user typed): err_set and friends turn
 * invalid bytes and control characters other than newline and tab into
 * \xNN, and cut an over-long message on a character boundary, ending it
 * with "...". Text the user supplied goes into a message through ERR_Q(),
 * which also escapes quotes, backslashes and newlines and shortens it.
 */
#ifndef BANGER_UTIL_ERR_H
#define BANGER_UTIL_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_INTERNAL,	  /* a bug or an unexpected host failure */
	ERR_INVALID,	  /* bad input from the user: name, size, JSON, TOML */
	ERR_NOT_FOUND,	  /* no such VM, image, file */
	ERR_CONFLICT,	  /* name taken, resource in use */
	ERR_BAD_STATE,	  /* operation not valid in the current state */
	ERR_IO,		  /* a file or socket operation failed */
	ERR_MISSING_TOOL, /* a host program or package is absent */
	ERR_PERMISSION,	  /* not allowed */
	ERR_VMM,	  /* the VMM refused or died */
	ERR_UNAVAILABLE,  /* daemon or service not reachable */
	ERR_USAGE,	  /* a bad command line, found by the CLI itself (exit status 2) */
};

#define ERR_MSG_MAX 2048
#define ERR_AUX_MAX 512

struct err {
	enum err_code code;
	char msg[ERR_MSG_MAX];
	char hint[ERR_AUX_MAX]; /* what the user can do about it, or "" */
	char log[ERR_AUX_MAX];	/* the log file to read, or "" */
};

/* The longest quoted text ERR_Q() produces, NUL included. */
#define ERR_QUOTE_MAX 100

/* Writes s into buf (len bytes) as a one-line, printable, valid UTF-8 quote:
 * \" \\ \n \t \r, other control characters and invalid bytes as \xNN, C1
 * controls as \u00NN; cut on a character boundary with "..." when it does
 * not fit. s may be NULL (""). Returns buf. */
const char *err_quote(char *buf, size_t len, const char *s);

/* err_quote into a buffer that lives until the end of the enclosing block:
 * err_set(e, ERR_INVALID, "VM name \"%s\" ...", ERR_Q(name)). */
#define ERR_Q(s) err_quote((char[ERR_QUOTE_MAX]){0}, ERR_QUOTE_MAX, (s))

/* Writes s into buf the way err_set keeps a message: newlines and tabs stay,
 * other control characters and invalid bytes become \xNN, cut on a
 * character boundary with "...". For text put into a struct err or a JSON
 * string by other means. Returns buf. */
const char *err_clean(char *buf, size_t len, const char *s);

/* Resets e to "no error". Accepts NULL. */
void err_clear(struct err *e);

/* Sets code and message (printf-style). Always returns -1 so callers can
 * `return err_set(e, ...)`. e may be NULL (the error is then dropped). */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like err_set, appending ": strerror(errnum)". Code derives from errnum
 * (ENOENT -> not_found, EACCES/EPERM -> permission, else io). */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the message, keeping code, hint and log. Returns -1. */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the hint / log path (replacing any earlier one). */
void err_hint(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_log(struct err *e, const char *path);

/* Stable lower-case name used on the wire ("not_found", ...), and back. */
const char *err_code_name(enum err_code code);
enum err_code err_code_from_name(const char *name);

/* The HTTP status that fits the code. */
int err_http_status(enum err_code code);

/* Formats "msg (see LOG)\nhint: HINT" for humans into buf. */
void err_format(const struct err *e, char *buf, size_t len);

#endif
