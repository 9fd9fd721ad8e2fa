/*
 * log: structured JSON-lines logger for bangerd.
 *
 * Each record is one line: {"time":"2026-11-28T20:16:38.123456Z","level":"info",
 * "msg":"...", <fields>}. A line is built in memory and written with a single
 * write() on an O_APPEND descriptor under a mutex, so lines from threads (and
 * from other processes appending to the same file) never interleave. Values of
 * any content give valid JSON (see buf_json_str).
 *
 * Fields are passed as struct log_field values, terminated by LF_END; the
 * log_debug/... macros add the terminator:
 *	log_info(lg, "vm started", LF_S("vm", name), LF_I("duration_ms", ms));
 * A NULL logger drops everything, so library code can log unconditionally.
 */
#ifndef BANGER_UTIL_LOG_H
#define BANGER_UTIL_LOG_H

#include "util/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

struct log_field {
	const char *key; /* NULL ends the list */
	const char *str; /* string value, or NULL for a number */
	long long num;
};

static inline const char *log_str_or_empty(const char *s)
{
	return s ? s : "";
}

#define LF_S(k, v) ((struct log_field){(k), log_str_or_empty(v), 0})
#define LF_I(k, v) ((struct log_field){(k), NULL, (long long)(v)})
#define LF_END ((struct log_field){NULL, NULL, 0})

struct logger;

/* Parses "debug"/"info"/"warn"/"warning"/"error" (case-insensitive). */
int log_level_parse(const char *s, enum log_level *out, struct err *e);
const char *log_level_name(enum log_level lv);

/* Opens (creating, mode 0600) path for appending. */
struct logger *logger_open(const char *path, enum log_level min, struct err *e);
/* A logger that writes to an already open fd (tests, stderr). Does not own fd. */
struct logger *logger_fd(int fd, enum log_level min);
void logger_free(struct logger *lg);
const char *logger_path(const struct logger *lg);
int logger_enabled(const struct logger *lg, enum log_level lv);

void log_emit(struct logger *lg, enum log_level lv, const char *msg, ...);

#define log_debug(lg, ...) log_emit((lg), LOG_DEBUG, __VA_ARGS__, LF_END)
#define log_info(lg, ...) log_emit((lg), LOG_INFO, __VA_ARGS__, LF_END)
#define log_warn(lg, ...) log_emit((lg), LOG_WARN, __VA_ARGS__, LF_END)
#define log_error(lg, ...) log_emit((lg), LOG_ERROR, __VA_ARGS__, LF_END)

/* Milliseconds on the monotonic clock, for duration_ms fields. */
long long mono_ms(void);

/* The CLOCK_MONOTONIC time of deadline_ms (a mono_ms() value) as the
 * absolute timespec that pthread_cond_timedwait takes on a condvar made
 * with that clock. A deadline already past gives "now". */
struct timespec;
void mono_deadline_ts(long long deadline_ms, struct timespec *ts);

#endif
