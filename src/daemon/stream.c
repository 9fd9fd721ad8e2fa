/* stream: see stream.h. */
#include "daemon/stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct buf data;
	size_t off;
	int closed;
	int cancelled;
	int refs;
};

struct stream *stream_new(void)
{
	struct stream *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->refs = 1;
	return s;
}

void stream_push(struct stream *s, json_t *v)
{
	char *line = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	if (!line)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->closed) {
		buf_puts(&s->data, line);
		buf_putc(&s->data, '\n');
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	free(line);
}

void stream_close(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

long stream_read(struct stream *s, char *out, size_t max, int timeout_ms)
{
	struct timespec dl;
	long n = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->off == s->data.len && !s->closed && !s->cancelled)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT)
			break;
	if (s->off < s->data.len) {
		size_t avail = s->data.len - s->off;

		n = (long)(avail < max ? avail : max);
		memcpy(out, s->data.data + s->off, (size_t)n);
		s->off += (size_t)n;
		if (s->off == s->data.len) {
			buf_reset(&s->data);
			s->off = 0;
		}
	} else if (s->closed || s->cancelled) {
		n = -1;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int stream_cancelled(struct stream *s)
{
	int c;

	pthread_mutex_lock(&s->lock);
	c = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	return c;
}

void stream_cancel(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->cancelled = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void stream_ref(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->refs++;
	pthread_mutex_unlock(&s->lock);
}

void stream_unref(struct stream *s)
{
	int last;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	buf_free(&s->data);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
