/*
 * fc_api: a small HTTP/1.1 client for Firecracker's API Unix socket.
 *
 * One connection is opened lazily and reused (Firecracker answers
 * keep-alive and allows only 10 open connections). Requests carry a computed
 * Content-Length, never chunked bodies or "Expect: 100-continue". Replies are
 * parsed leniently: Firecracker's status line has no reason phrase
 * ("HTTP/1.1 204 "), and micro-http's canned 503 even lacks the space
 * ("HTTP/1.1 503"). Error bodies come as {"fault_message": ...} from the
 * API layer or {"error": ...} from micro-http's HTTP layer; fc_api_fault()
 * reads both.
 */
#ifndef BANGER_VMM_FC_API_H
#define BANGER_VMM_FC_API_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"
#include "util/log.h"

/* Per-request timeout used by the driver: generous even for InstanceStart,
 * which Firecracker answers only once the vCPUs run. */
#define FC_API_TIMEOUT_MS 5000

struct fc_api;

struct fc_reply {
	int status; /* HTTP status, e.g. 204 */
	char *body; /* NUL-terminated, "" when the reply has none (free: fc_reply_done) */
	size_t body_len;
};

/* A client for the socket at sock_path. Does not connect yet. API traffic is
 * logged to lg at debug (lg may be NULL). Free with fc_api_free (NULL ok). */
struct fc_api *fc_api_new(const char *sock_path, struct logger *lg);
void fc_api_free(struct fc_api *c);

/* Connects if not connected (or if the server closed the idle connection).
 * A socket nobody listens on gives ERR_UNAVAILABLE. */
int fc_api_connect(struct fc_api *c, struct err *e);

/* Sends one request (body may be NULL: no body, no Content-Length) and reads
 * the whole reply into r, whatever its status. Blocks at most timeout_ms.
 * Returns -1 on transport failures (connect, write, timeout, EOF, garbage);
 * the connection is then dropped and the next request reconnects. */
int fc_api_raw(struct fc_api *c, const char *method, const char *path, const char *body,
	       int timeout_ms, struct fc_reply *r, struct err *e);

/* Like fc_api_raw with a JSON body (not stolen; NULL for none), expecting a
 * 2xx. Anything else is an ERR_VMM error `Firecracker said 400: "<fault>"`.
 * When out is not NULL it receives the reply's JSON (NULL if it had no body;
 * json_decref it). Logs method, path, body, status, response and duration at
 * debug. */
int fc_api_call(struct fc_api *c, const char *method, const char *path, json_t *body,
		int timeout_ms, json_t **out, struct err *e);

void fc_reply_done(struct fc_reply *r);

/* Status of the last reply received, or 0 if the last request got none
 * (connection refused, reset, timeout): tells "Firecracker refused" from
 * "Firecracker is gone". */
int fc_api_last_status(const struct fc_api *c);

/* The human message in an error reply body: fault_message, else micro-http's
 * "error", else the raw body; newlines become spaces, surrounding white
 * space is trimmed. Returns a malloc'd string (free()), never NULL. */
char *fc_api_fault(const char *body, size_t len);

/* Parses a status line leniently ("HTTP/1.1 204 ", "HTTP/1.1 503",
 * "HTTP/1.0 400 Bad Request"). Returns the status, or -1 if line is not one. */
int fc_api_parse_status(const char *line, size_t len);

#endif
