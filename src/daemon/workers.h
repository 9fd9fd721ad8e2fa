/*
 * workers: the daemon's background threads (a streamed vm create, an image
 * build, the restart after a guest reboot), counted so that shutdown waits
 * for them instead of closing the store under them.
 *
 * Shutdown, in main.c's order: once d->shutting_down is set, workers_spawn()
 * refuses new work with ERR_UNAVAILABLE; workers_cancel() makes the cancel
 * descriptor readable (long work polls it: the spawn helper kills a child's
 * process group when it fires) and workers_cancelled() true; workers_drain()
 * waits for the last worker, up to a deadline. Threads are joined, never
 * detached: a finished one is joined by the next spawn or by the drain.
 */
#ifndef BANGER_DAEMON_WORKERS_H
#define BANGER_DAEMON_WORKERS_H

#include "daemon/daemon.h"
#include "util/err.h"

typedef void (*worker_fn)(void *arg);

/* Sets up d->workers. Call before any thread that may spawn starts. */
int workers_init(struct daemon *d, struct err *e);
/* Frees d->workers after a successful drain. Accepts an uninitialised d. */
void workers_done(struct daemon *d);

/* Runs fn(arg) on a new counted thread named name (for the shutdown log).
 * On success the thread owns arg; on failure (ERR_UNAVAILABLE once shutdown
 * began, ERR_INTERNAL if no thread can start) the caller keeps it. */
int workers_spawn(struct daemon *d, const char *name, worker_fn fn, void *arg, struct err *e);

/* Asks every worker to stop (idempotent). d->shutting_down must be set. */
void workers_cancel(struct daemon *d);
/* 1 once shutdown began (d->shutting_down) or workers_cancel() ran. */
int workers_cancelled(struct daemon *d);
/* A descriptor that becomes readable at workers_cancel() and stays so; for
 * poll() and spawn_opts.cancel_fd. Never read it. */
int workers_cancel_fd(struct daemon *d);

/* Waits until no worker runs or the mono_ms() deadline passes. Returns 0
 * when all were joined; -1 (after logging each one still running) if not:
 * they may still use the daemon, so nothing they touch may be freed. */
int workers_drain(struct daemon *d, long long deadline_ms);

#endif
