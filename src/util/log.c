/* log: see log.h. */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

struct logger {
	int fd;
	int owns_fd;
	enum log_level min;
	char *path;
	pthread_mutex_t lock;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_parse(const char *s, enum log_level *out, struct err *e)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (s && strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (s && strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	err_set(e, ERR_INVALID, "invalid log level \"%s\"", s ? s : "");
	err_hint(e, "use one of debug, info, warn, error");
	return -1;
}

const char *log_level_name(enum log_level lv)
{
	return lv <= LOG_ERROR ? level_names[lv] : "info";
}

static struct logger *logger_new(int fd, int owns, enum log_level min, const char *path)
{
	struct logger *lg = xcalloc(1, sizeof(*lg));

	lg->fd = fd;
	lg->owns_fd = owns;
	lg->min = min;
	lg->path = xstrdup(path ? path : "");
	pthread_mutex_init(&lg->lock, NULL);
	return lg;
}

struct logger *logger_open(const char *path, enum log_level min, struct err *e)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		err_errno(e, errno, "open log %s", path);
		return NULL;
	}
	return logger_new(fd, 1, min, path);
}

struct logger *logger_fd(int fd, enum log_level min)
{
	return logger_new(fd, 0, min, NULL);
}

void logger_free(struct logger *lg)
{
	if (!lg)
		return;
	if (lg->owns_fd)
		close(lg->fd);
	pthread_mutex_destroy(&lg->lock);
	free(lg->path);
	free(lg);
}

const char *logger_path(const struct logger *lg)
{
	return lg ? lg->path : "";
}

int logger_enabled(const struct logger *lg, enum log_level lv)
{
	return lg && lv >= lg->min;
}

long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mono_deadline_ts(long long deadline_ms, struct timespec *ts)
{
	long long wait_ms = deadline_ms - mono_ms();

	clock_gettime(CLOCK_MONOTONIC, ts);
	if (wait_ms <= 0)
		return;
	ts->tv_sec += wait_ms / 1000;
	ts->tv_nsec += (wait_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void put_time(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(b, "\"%s.%06ldZ\"", s, ts.tv_nsec / 1000);
}

void log_emit(struct logger *lg, enum log_level lv, const char *msg, ...)
{
	struct buf b = BUF_INIT;
	struct log_field f;
	va_list ap;
	size_t off = 0;

	if (!logger_enabled(lg, lv))
		return;
	buf_puts(&b, "{\"time\":");
	put_time(&b);
	buf_printf(&b, ",\"level\":\"%s\",\"msg\":", log_level_name(lv));
	buf_json_str(&b, msg);
	va_start(ap, msg);
	for (f = va_arg(ap, struct log_field); f.key; f = va_arg(ap, struct log_field)) {
		buf_putc(&b, ',');
		buf_json_str(&b, f.key);
		buf_putc(&b, ':');
		if (f.str)
			buf_json_str(&b, f.str);
		else
			buf_printf(&b, "%lld", f.num);
	}
	va_end(ap);
	buf_puts(&b, "}\n");

	pthread_mutex_lock(&lg->lock);
	while (off < b.len) {
		ssize_t n = write(lg->fd, b.data + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	pthread_mutex_unlock(&lg->lock);
	buf_free(&b);
}
