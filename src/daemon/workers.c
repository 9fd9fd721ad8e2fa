/* workers: see workers.h. */
#include "daemon/workers.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

struct worker {
	struct workers *ws;
	char name[128];
	worker_fn fn;
	void *arg;
	pthread_t thread;
	int done; /* fn returned; only join is left (under ws->lock) */
	struct worker *next;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* broadcast when a worker finishes (CLOCK_MONOTONIC) */
	int cancel_fd;	     /* eventfd, written once by workers_cancel */
	int cancelled;
	struct worker *list;
};

int workers_init(struct daemon *d, struct err *e)
{
	struct workers *ws = xcalloc(1, sizeof(*ws));
	pthread_condattr_t ca;

	ws->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ws->cancel_fd < 0) {
		free(ws);
		return err_errno(e, errno, "eventfd");
	}
	pthread_mutex_init(&ws->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ws->idle, &ca);
	pthread_condattr_destroy(&ca);
	d->workers = ws;
	return 0;
}

/* Joins and frees the finished workers; takes and releases ws->lock. The
 * join happens outside the lock: a worker takes it on its way out. */
static void reap_done(struct workers *ws)
{
	struct worker *done = NULL;

	pthread_mutex_lock(&ws->lock);
	for (struct worker **pp = &ws->list; *pp;) {
		struct worker *w = *pp;

		if (!w->done) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->next = done;
		done = w;
	}
	pthread_mutex_unlock(&ws->lock);
	while (done) {
		struct worker *w = done;

		done = w->next;
		pthread_join(w->thread, NULL);
		free(w);
	}
}

void workers_done(struct daemon *d)
{
	struct workers *ws = d->workers;

	if (!ws)
		return;
	reap_done(ws);
	close(ws->cancel_fd);
	pthread_cond_destroy(&ws->idle);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
	d->workers = NULL;
}

static void *trampoline(void *arg)
{
	struct worker *w = arg;
	struct workers *ws = w->ws;

	w->fn(w->arg);
	pthread_mutex_lock(&ws->lock);
	w->done = 1;
	pthread_cond_broadcast(&ws->idle);
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

int workers_spawn(struct daemon *d, const char *name, worker_fn fn, void *arg, struct err *e)
{
	struct workers *ws = d->workers;
	struct worker *w = xcalloc(1, sizeof(*w));
	int rc;

	reap_done(ws);
	w->ws = ws;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_lock(&ws->lock);
	/* Checked under the lock that workers_drain takes after the flag is
	 * set: a worker is either refused here or seen by the drain. */
	if (atomic_load(&d->shutting_down)) {
		pthread_mutex_unlock(&ws->lock);
		free(w);
		err_set(e, ERR_UNAVAILABLE, "the daemon is shutting down");
		err_hint(e,
			 "run the command again once it has stopped; any banger command starts it");
		return -1;
	}
	rc = pthread_create(&w->thread, NULL, trampoline, w);
	if (rc == 0) {
		w->next = ws->list;
		ws->list = w;
	}
	pthread_mutex_unlock(&ws->lock);
	if (rc != 0) {
		free(w);
		return err_errno(e, rc, "cannot start a thread for %s", name);
	}
	return 0;
}

void workers_cancel(struct daemon *d)
{
	struct workers *ws = d->workers;
	uint64_t one = 1;
	int first;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	first = !ws->cancelled;
	ws->cancelled = 1;
	pthread_mutex_unlock(&ws->lock);
	if (first && write(ws->cancel_fd, &one, sizeof(one)) < 0)
		log_warn(d->log, "cannot signal workers to stop", LF_S("error", strerror(errno)));
}

int workers_cancelled(struct daemon *d)
{
	struct workers *ws = d->workers;
	int c;

	if (atomic_load(&d->shutting_down))
		return 1;
	pthread_mutex_lock(&ws->lock);
	c = ws->cancelled;
	pthread_mutex_unlock(&ws->lock);
	return c;
}

int workers_cancel_fd(struct daemon *d)
{
	return d->workers->cancel_fd;
}

static int running(struct workers *ws)
{
	int n = 0;

	for (struct worker *w = ws->list; w; w = w->next)
		n += !w->done;
	return n;
}

int workers_drain(struct daemon *d, long long deadline_ms)
{
	struct workers *ws = d->workers;
	struct timespec now;
	int left;

	if (!ws)
		return 0;
	mono_deadline_ts(deadline_ms, &now);
	pthread_mutex_lock(&ws->lock);
	while ((left = running(ws)) > 0)
		if (pthread_cond_timedwait(&ws->idle, &ws->lock, &now) == ETIMEDOUT)
			break;
	left = running(ws);
	for (struct worker *w = ws->list; left && w; w = w->next)
		if (!w->done)
			log_error(d->log, "worker still running at shutdown",
				  LF_S("worker", w->name));
	pthread_mutex_unlock(&ws->lock);
	if (left)
		return -1;
	reap_done(ws);
	return 0;
}
