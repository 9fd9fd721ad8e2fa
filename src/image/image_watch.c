/* image_watch: see image_watch.h. */
#include "image/image_watch.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

#define MSG_MAX 160

struct image_watch {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int fd;
	char *prefix;
	struct buf pending; /* a partial last line */
	void (*fn)(void *ctx, const char *msg);
	void *ctx;
};

static void emit_lines(struct image_watch *w)
{
	char *start = w->pending.data, *nl;
	size_t used = 0;

	if (!start)
		return;
	while ((nl = memchr(start + used, '\n', w->pending.len - used))) {
		char *line = start + used;

		*nl = '\0';
		used = (size_t)(nl - start) + 1;
		if (strncmp(line, "I: ", 3) == 0) {
			char msg[MSG_MAX + 64];

			snprintf(msg, sizeof(msg), "%s%.*s%s", w->prefix, MSG_MAX, line + 3,
				 strlen(line + 3) > MSG_MAX ? "..." : "");
			w->fn(w->ctx, msg);
		}
	}
	if (used) {
		size_t rest = w->pending.len - used;

		memmove(start, start + used, rest);
		w->pending.len = rest;
		start[rest] = '\0';
	}
}

static void drain(struct image_watch *w)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(w->fd, chunk, sizeof(chunk))) > 0)
		buf_append(&w->pending, chunk, (size_t)n);
	emit_lines(w);
}

static void *loop(void *arg)
{
	struct image_watch *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += 500 * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &dl);
		pthread_mutex_unlock(&w->lock);
		drain(w);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct image_watch *image_watch_start(const char *path, const char *prefix,
				      void (*fn)(void *ctx, const char *msg), void *ctx)
{
	struct image_watch *w;
	int fd;

	if (!fn)
		return NULL;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	lseek(fd, 0, SEEK_END);
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->prefix = xstrdup(prefix);
	w->fn = fn;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, loop, w) != 0) {
		close(fd);
		free(w->prefix);
		free(w);
		return NULL;
	}
	return w;
}

void image_watch_stop(struct image_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	drain(w);
	close(w->fd);
	buf_free(&w->pending);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->prefix);
	free(w);
}
