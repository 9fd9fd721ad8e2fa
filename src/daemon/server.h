/*
 * server: the daemon's HTTP/1.1 + JSON API on a Unix socket (libmicrohttpd).
 *
 * One thread per connection, so a long request (a VM boot) never blocks
 * another. Only the daemon's own user (and root) may talk to it: the peer's
 * uid is checked with SO_PEERCRED and others get 403. Bodies over
 * SERVER_MAX_BODY, malformed JSON and bad names in the path get 400 with a
 * JSON error before any handler runs; each handler decodes its body with
 * req_decode.h. Every error answer is a JSON error, whatever the input.
 */
#ifndef BANGER_DAEMON_SERVER_H
#define BANGER_DAEMON_SERVER_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/daemon.h"
#include "util/buf.h"
#include "util/err.h"

#define SERVER_MAX_BODY (64 * 1024)

struct server;

struct request {
	const char *method;
	const char *url;  /* path as sent (still percent-encoded) */
	const char *arg;  /* the {VM} or {image} name, decoded and checked; "" if none */
	json_t *body;	  /* parsed JSON object or NULL when there was none */
	void *conn;	  /* struct MHD_Connection */
	struct buf *text; /* a handler may append its JSON response here as text
			   * instead of filling *out (a body too big for a tree) */
};

/* Query parameter value or NULL, as sent (bangerd keeps escapes, for its
 * {name} segments). */
const char *request_query(const struct request *r, const char *key);
/* The same with its %XX escapes decoded, into buf (len bytes); NULL when
 * absent or longer than buf. */
const char *request_query_text(const struct request *r, const char *key, char *buf, size_t len);
/* Request header value or NULL. */
const char *request_header(const struct request *r, const char *key);

/* A handler fills either *out (status 200/201 with JSON, stolen) or e. A
 * handler that streams returns 1 after setting up *stream (see stream.h). */
struct stream;
typedef int (*route_fn)(struct daemon *d, const struct request *r, json_t **out, int *status,
			struct stream **stream, struct err *e);

struct route {
	const char *method;
	/* "/v1/vms/{VM}/start": {VM} or {image} matches one path segment,
	 * which must be a valid name of that kind (names.h). */
	const char *pattern;
	route_fn fn;
};

/* Binds the socket at d->paths.socket (mode 0600), or serves on
 * d->listen_fd when systemd passed one (socket activation: that socket is
 * never unlinked), and starts serving. Once
 * d->shutting_down is set, requests other than /v1/daemon get 503
 * ERR_UNAVAILABLE "the daemon is shutting down". */
int server_start(struct daemon *d, const struct route *routes, struct server **out, struct err *e);
/* Ends every streamed answer now in flight or started later (the client sees
 * the stream end): for shutdown, once the workers that feed progress
 * streams have drained, so what is left are event streams. */
void server_cancel_streams(struct server *s);
/* Waits until no request is in flight or the mono_ms() deadline passes.
 * Returns 0, or -1 after logging each request still running (their threads
 * may still use the daemon). Accepts NULL. */
int server_drain(struct server *s, long long deadline_ms);
/* Removes the socket (one it bound), stops MHD (joining its threads) and frees s. After a
 * successful server_drain this is quick. Accepts NULL. */
void server_stop(struct server *s);

/* {"error": {"code", "message", "hint"?, "log"?}}: the one shape of every
 * API error, in plain answers and as the last line of a stream. */
json_t *server_error_json(const struct err *e);

#endif
