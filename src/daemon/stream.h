/*
 * stream: a JSON-lines response produced while the request runs.
 *
 * A worker thread pushes lines (progress, events, the final result); the
 * HTTP connection thread drains them to the client. Used for long operations
 * (the client sees progress) and for /v1/events.
 */
#ifndef BANGER_DAEMON_STREAM_H
#define BANGER_DAEMON_STREAM_H

#include <jansson.h>
#include <stddef.h>

struct stream;

struct stream *stream_new(void);
/* Appends one JSON value as a line (steals v). */
void stream_push(struct stream *s, json_t *v);
/* Marks the end: the client sees EOF once the buffer is drained. */
void stream_close(struct stream *s);
/* Blocks until data, close or timeout_ms; copies up to max bytes into buf.
 * Returns bytes copied, 0 on timeout, -1 at end of stream. */
long stream_read(struct stream *s, char *buf, size_t max, int timeout_ms);
/* 1 if the client went away (set by the server). */
int stream_cancelled(struct stream *s);
void stream_cancel(struct stream *s);
/* Reference counting: the worker and the server each hold one. */
void stream_ref(struct stream *s);
void stream_unref(struct stream *s);

#endif
