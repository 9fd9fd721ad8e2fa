/*
 * client: talks to bangerd's API over its Unix socket: plain HTTP/1.1 on an
 * AF_UNIX socket (libcurl's start-up cost a CLI command more than its request).
 *
 * client_open() connects, starting bangerd when the socket does not answer
 * (tmux-style: try, take a lock, try again, start, wait, release), so every
 * CLI command just works. API errors come back as struct err with the
 * daemon's code, message, hint and log path.
 */
#ifndef BANGER_API_CLIENT_H
#define BANGER_API_CLIENT_H

#include <jansson.h>

#include "config/config.h"
#include "util/buf.h"
#include "util/err.h"

struct client;

/* autostart: start bangerd if it is not running. */
int client_open(const struct paths *p, int autostart, struct client **out, struct err *e);
void client_close(struct client *c);

/* One request. body may be NULL (no body); *out receives the JSON response
 * (may be NULL if out is NULL). Non-2xx responses become errors. */
int client_call(struct client *c, const char *method, const char *path, json_t *body, json_t **out,
		struct err *e);

/* Like client_call, with the 2xx body appended to out as text, unparsed
 * (a body too big to be worth a tree: cli_json.h). */
int client_call_text(struct client *c, const char *method, const char *path, json_t *body,
		     struct buf *out, struct err *e);

/* A header line ("Name: value", no CRLF) sent with every later request
 * of c, or NULL for none; the string is borrowed. */
void client_header(struct client *c, const char *line);

/* A streaming request: on_line is called for each JSON line (return non-zero
 * to stop). */
typedef int (*client_line_fn)(void *ctx, json_t *line);
int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  client_line_fn on_line, void *ctx, struct err *e);

/* Fills e from an API error object {"code", "message", "hint"?, "log"?}
 * (the inside of {"error": ...}); a missing message becomes `fallback`.
 * Returns -1. */
int client_error_from_json(json_t *er, const char *fallback, struct err *e);

/* 1 if a daemon answers on the socket. */
int client_ping(const char *socket_path);

/* Percent-encodes a path segment (names are validated by the daemon, but
 * never let user input change the URL's shape). malloc'd. */
char *client_escape(const char *s);

#endif
