/* tui_state: see tui_state.h. */
#include "tui/tui_state.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

struct tui_state *tui_state_new(struct err *e)
{
	struct tui_state *s = xcalloc(1, sizeof(*s));

	if (paths_init(&s->paths, e) < 0) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	tui_model_init(&s->model);
	s->refs = 1;
	return s;
}

struct tui_state *tui_state_ref(struct tui_state *s)
{
	tui_state_lock(s);
	s->refs++;
	tui_state_unlock(s);
	return s;
}

void tui_state_unref(struct tui_state *s)
{
	int last;

	if (!s)
		return;
	tui_state_lock(s);
	last = --s->refs == 0;
	tui_state_unlock(s);
	if (!last)
		return;
	tui_model_done(&s->model);
	paths_free(&s->paths);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void tui_state_lock(struct tui_state *s)
{
	pthread_mutex_lock(&s->lock);
}

void tui_state_unlock(struct tui_state *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* The status line is one line: fold newlines (error hints) into "; ". */
static void fold(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in && n + 3 < len; in++) {
		if (*in == '\n') {
			out[n++] = ';';
			out[n++] = ' ';
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

void tui_state_status(struct tui_state *s, enum tui_status_kind kind, const char *fmt, ...)
{
	char text[sizeof(s->status)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tui_state_lock(s);
	fold(text, s->status, sizeof(s->status));
	s->status_kind = kind;
	tui_state_unlock(s);
}

void tui_state_error(struct tui_state *s, const char *what, const struct err *e)
{
	char msg[ERR_MSG_MAX + 2 * ERR_AUX_MAX];

	err_format(e, msg, sizeof(msg));
	tui_state_status(s, TUI_STATUS_ERROR, "%s: %s", what, msg);
}

int tui_state_quitting(struct tui_state *s)
{
	int q;

	tui_state_lock(s);
	q = s->quit;
	tui_state_unlock(s);
	return q;
}

int tui_state_nap(struct tui_state *s, int ms)
{
	for (int t = 0; t < ms; t += 50) {
		if (tui_state_quitting(s))
			return 1;
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	return tui_state_quitting(s);
}

int tui_thread_start(void *(*fn)(void *), void *arg, struct err *e)
{
	sigset_t block, old;
	pthread_t t;
	int rc;

	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return err_set(e, ERR_INTERNAL, "cannot start a thread (error %d)", rc);
	pthread_detach(t);
	return 0;
}
