/*
 * tui_state: what the TUI's threads share. The curses (main) thread draws
 * from it and handles keys; the connection thread feeds the model from the
 * event stream; the stats thread adds CPU figures; the action worker runs
 * one long operation at a time and reports in the status line.
 *
 * Everything below `lock` is guarded by it. The state is reference
 * counted: a thread that is still blocked in a request when the user quits
 * (the event stream only wakes on events) keeps it alive and frees it
 * when it finally returns, so quitting never waits for the daemon.
 */
#ifndef BANGER_TUI_TUI_STATE_H
#define BANGER_TUI_TUI_STATE_H

#include <pthread.h>

#include "config/config.h"
#include "tui/tui_model.h"
#include "util/err.h"

#define TUI_POLL_MAX 64

enum tui_status_kind { TUI_STATUS_INFO, TUI_STATUS_BUSY, TUI_STATUS_ERROR };

struct tui_state {
	pthread_mutex_t lock;
	int refs;
	struct paths paths; /* own copy: threads may outlive tui_run's caller */
	struct tui_model model;
	int connected;	    /* the event stream is live and the model current */
	char conn_err[512]; /* why the daemon is not reachable */
	char status[1024];  /* the last action's progress or result */
	enum tui_status_kind status_kind;
	int busy;			/* an action worker is running */
	int quit;			/* set by the main thread; threads return soon */
	char select_next[TUI_NAME_MAX]; /* select this VM once it appears */
	/* Running VMs on screen, whose stats the stats thread polls. */
	char poll[TUI_POLL_MAX][TUI_NAME_MAX];
	int npoll;
};

/* A new state with one reference, paths computed like the CLI's. */
struct tui_state *tui_state_new(struct err *e);
struct tui_state *tui_state_ref(struct tui_state *s);
/* Drops a reference; the last one frees. Accepts NULL. */
void tui_state_unref(struct tui_state *s);

void tui_state_lock(struct tui_state *s);
void tui_state_unlock(struct tui_state *s);

/* Sets the status line (takes the lock). Newlines become "; ". */
void tui_state_status(struct tui_state *s, enum tui_status_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the status line to a formatted error, prefixed by what failed
 * (takes the lock). The message keeps its log path and hint. */
void tui_state_error(struct tui_state *s, const char *what, const struct err *e);

/* 1 once the main thread asked every thread to stop (takes the lock). */
int tui_state_quitting(struct tui_state *s);

/* Starts fn(arg) on a detached thread with SIGWINCH blocked, so the
 * terminal's resize signal always reaches the curses thread. */
int tui_thread_start(void *(*fn)(void *), void *arg, struct err *e);

/* Sleeps up to ms, returning early (1) if quitting. */
int tui_state_nap(struct tui_state *s, int ms);

#endif
