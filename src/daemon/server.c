/* server: see server.h. */
#include "daemon/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/req_decode.h"
#include "daemon/stream.h"
#include "util/buf.h"

struct conn_ctx;

struct server {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	const struct route *routes;
	int fd;
	/* Requests in flight, for the shutdown drain (see server.h). */
	pthread_mutex_t lock;
	pthread_cond_t idle;	 /* broadcast when a request ends (CLOCK_MONOTONIC) */
	struct conn_ctx *active; /* under lock */
	int streams_cancelled;	 /* under lock: server_cancel_streams ran */
};

/* Per-connection request state, kept across MHD's handler calls. */
struct conn_ctx {
	struct buf body;
	int too_big;
	int forbidden;
	struct stream *stream;	/* a streamed answer (own reference), under srv->lock */
	char what[160];		/* "METHOD PATH", for the shutdown log */
	struct conn_ctx **prev; /* in srv->active */
	struct conn_ctx *next;
};

const char *request_query(const struct request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *request_query_text(const struct request *r, const char *key, char *buf, size_t len)
{
	const char *v = request_query(r, key);

	if (!v || strlen(v) >= len)
		return NULL;
	strcpy(buf, v);
	MHD_http_unescape(buf);
	return buf;
}

const char *request_header(const struct request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

static int peer_allowed(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!ci)
		return 0;
	if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == getuid() || cred.uid == 0;
}

/* What a client gets when an answer cannot be encoded: still a JSON error
 * (never "{}", which a client cannot tell from an empty success). */
static const char unencodable[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"bangerd could not encode its "
    "answer as JSON (see the daemon log)\"}}";

/* A response already written as JSON text (request.text), stolen. */
static enum MHD_Result send_text(struct MHD_Connection *c, int status, struct buf *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	buf_putc(text, '\n');
	len = text->len;
	resp = MHD_create_response_from_buffer(len, buf_steal(text), MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	json_decref(body);
	if (!text) {
		text = xstrdup(unencodable);
		status = 500;
	}
	len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A JSON string of s made encodable first: err_set keeps messages valid
 * UTF-8, but some code appends to e->msg directly (a guest's console lines). */
static json_t *clean_string(const char *s)
{
	char buf[ERR_MSG_MAX];
	json_t *j = json_string(s);

	return j ? j : json_string(err_clean(buf, sizeof(buf), s));
}

json_t *server_error_json(const struct err *e)
{
	json_t *o = json_object(), *top = json_object();

	json_object_set_new(o, "code", json_string(err_code_name(e->code)));
	json_object_set_new(o, "message", clean_string(e->msg[0] ? e->msg : "unknown error"));
	if (e->hint[0])
		json_object_set_new(o, "hint", clean_string(e->hint));
	if (e->log[0])
		json_object_set_new(o, "log", clean_string(e->log));
	json_object_set_new(top, "error", o);
	return top;
}

static enum MHD_Result send_error(struct MHD_Connection *c, const struct err *e, int status)
{
	return send_json(c, status ? status : err_http_status(e->code), server_error_json(e));
}

/* Matches url (as sent, percent-encoded) against pattern. A "{KIND}"
 * segment matches one segment of url, which is returned raw in *arg and *arglen
 * with KIND ("VM", "image") in kind/kindlen; matching before decoding keeps
 * an encoded "/" inside the name. */
static int route_match(const char *pattern, const char *url, const char **arg, size_t *arglen,
		       char *kind, size_t kindlen)
{
	const char *p = pattern, *u = url;

	*arg = NULL;
	*arglen = 0;
	kind[0] = '\0';
	while (*p && *u) {
		if (p[0] == '{') {
			size_t k = strcspn(p, "}"), n = strcspn(u, "/");

			if (n == 0)
				return 0;
			snprintf(kind, kindlen, "%.*s", (int)k - 1, p + 1);
			*arg = u;
			*arglen = n;
			u += n;
			p += k + (p[k] == '}');
			continue;
		}
		if (*p++ != *u++)
			return 0;
	}
	return *p == '\0' && *u == '\0';
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	long n;

	(void)pos;
	/* Thread-per-connection: blocking here blocks only this client. A blank
	 * line every few seconds lets us notice a client that went away. */
	n = stream_read(s, buf, max, 5000);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0) {
		buf[0] = '\n';
		return 1;
	}
	return n;
}

static void stream_done(void *cls)
{
	struct stream *s = cls;

	stream_cancel(s);
	stream_unref(s);
}

static enum MHD_Result send_stream(struct MHD_Connection *c, int status, struct stream *s)
{
	struct MHD_Response *resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 8192, stream_reader, s, stream_done);
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Content-Type", "application/x-ndjson");
	ret = MHD_queue_response(c, (unsigned)(status ? status : 200), resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Keeps a reference to a streamed answer so that shutdown can end it; one
 * that starts after server_cancel_streams ends at once. */
static void track_stream(struct server *srv, struct conn_ctx *ctx, struct stream *st)
{
	stream_ref(st);
	pthread_mutex_lock(&srv->lock);
	ctx->stream = st;
	if (srv->streams_cancelled)
		stream_cancel(st);
	pthread_mutex_unlock(&srv->lock);
}

static void track_request(struct server *srv, struct conn_ctx *ctx, const char *method,
			  const char *url)
{
	snprintf(ctx->what, sizeof(ctx->what), "%s %s", method, url);
	pthread_mutex_lock(&srv->lock);
	ctx->next = srv->active;
	if (ctx->next)
		ctx->next->prev = &ctx->next;
	ctx->prev = &srv->active;
	srv->active = ctx;
	pthread_mutex_unlock(&srv->lock);
}

static void untrack_request(struct server *srv, struct conn_ctx *ctx)
{
	struct stream *st;

	pthread_mutex_lock(&srv->lock);
	*ctx->prev = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	st = ctx->stream;
	ctx->stream = NULL;
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	stream_unref(st);
}

/* Once shutdown began, only /v1/daemon (status, stop) is answered: other
 * requests could start work that the drain would have to wait for. */
static int refused(struct server *srv, const char *url, struct err *e)
{
	if (!atomic_load(&srv->d->shutting_down) || strncmp(url, "/v1/daemon", 10) == 0)
		return 0;
	err_set(e, ERR_UNAVAILABLE, "the daemon is shutting down");
	err_hint(e, "run the command again once it has stopped; any banger command starts it");
	return 1;
}

/* The first route whose pattern matches url; *path_known tells whether
 * any did, whatever the method (405 rather than 404). */
static const struct route *find_route(const struct route *routes, const char *url,
				      const char *method, const char **arg, size_t *arglen,
				      char *kind, size_t kindlen, int *path_known)
{
	*path_known = 0;
	for (const struct route *r = routes; r->method; r++) {
		if (!route_match(r->pattern, url, arg, arglen, kind, kindlen))
			continue;
		*path_known = 1;
		if (strcmp(r->method, method) == 0)
			return r;
	}
	return NULL;
}

/* Decodes what the request carries (path name, body), runs the handler
 * and answers. Bad input is answered 400 before the handler runs. */
static enum MHD_Result dispatch(struct server *srv, struct MHD_Connection *c, const char *url,
				const char *method, struct conn_ctx *ctx)
{
	struct buf text = BUF_INIT;
	struct request req = {.method = method, .url = url, .arg = "", .conn = c, .text = &text};
	const struct route *route;
	const char *raw_arg;
	char kind[16], *arg = NULL;
	size_t arglen;
	struct err e;
	json_t *out = NULL;
	struct stream *st = NULL;
	int status = 200, path_known, rc;

	err_clear(&e);
	route = find_route(srv->routes, url, method, &raw_arg, &arglen, kind, sizeof(kind),
			   &path_known);
	if (!route) {
		if (path_known)
			err_set(&e, ERR_INVALID, "method %s not allowed on %s", ERR_Q(method),
				ERR_Q(url));
		else
			err_set(&e, ERR_NOT_FOUND, "no such API path: %s %s", ERR_Q(method),
				ERR_Q(url));
		return send_error(c, &e, path_known ? 405 : 404);
	}
	if ((raw_arg && req_decode_name(raw_arg, arglen, kind, &arg, &e) < 0) ||
	    req_decode_body(ctx->body.data, ctx->body.len, &req.body, &e) < 0) {
		free(arg);
		return send_error(c, &e, 400);
	}
	if (arg)
		req.arg = arg;
	rc = route->fn(srv->d, &req, &out, &status, &st, &e);
	json_decref(req.body);
	free(arg);
	if (rc == 1) {
		track_stream(srv, ctx, st);
		return send_stream(c, status, st);
	}
	if (rc < 0) {
		buf_free(&text);
		log_debug(srv->d->log, "api request failed", LF_S("method", method),
			  LF_S("path", url), LF_S("error", e.msg));
		return send_error(c, &e, 0);
	}
	if (text.len)
		return send_text(c, status, &text);
	return send_json(c, status, out ? out : json_object());
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct server *srv = cls;
	struct conn_ctx *ctx = *con_cls;
	struct err e;

	(void)version;
	if (!ctx) {
		ctx = xcalloc(1, sizeof(*ctx));
		ctx->forbidden = !peer_allowed(c);
		track_request(srv, ctx, method, url);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*data_size) {
		if (!ctx->forbidden && !ctx->too_big) {
			if (ctx->body.len + *data_size > SERVER_MAX_BODY)
				ctx->too_big = 1;
			else
				buf_append(&ctx->body, data, *data_size);
		}
		*data_size = 0;
		return MHD_YES;
	}
	log_debug(srv->d->log, "api request", LF_S("method", method), LF_S("path", url),
		  LF_I("bytes", (long long)ctx->body.len));
	if (ctx->forbidden) {
		err_set(&e, ERR_PERMISSION, "this banger daemon belongs to another user");
		return send_error(c, &e, 403);
	}
	if (ctx->too_big) {
		err_set(&e, ERR_INVALID, "request body larger than %d bytes", SERVER_MAX_BODY);
		return send_error(c, &e, 400);
	}
	if (refused(srv, url, &e))
		return send_error(c, &e, 503);
	return dispatch(srv, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	(void)c;
	(void)toe;
	if (!ctx)
		return;
	untrack_request(cls, ctx);
	buf_free(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

/* MHD would percent-decode the path before routing, so "a%2Fb" would look
 * like two segments and "%2E%2E" like "..": keep the path as sent, and
 * decode the one segment that is a name (req_decode_name). Query values
 * are compared with plain "1"/"0" and need no decoding. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static int bind_socket(const char *path, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_errno(e, errno, "socket");
	/* The caller holds the pid-file lock, so any socket file left here
	 * belongs to a daemon that died: replace it. */
	unlink(path);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		err_errno(e, errno, "bind %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	chmod(path, 0600);
	if (listen(fd, 64) < 0) {
		err_errno(e, errno, "listen %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int server_start(struct daemon *d, const struct route *routes, struct server **out, struct err *e)
{
	struct server *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;

	s->d = d;
	s->routes = routes;
	/* A socket passed by systemd is systemd's: it outlives us. */
	s->fd = d->listen_fd >= 0 ? d->listen_fd : bind_socket(d->paths.socket, e);
	if (s->fd < 0) {
		free(s);
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				  0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
	if (!s->mhd) {
		close(s->fd);
		if (d->listen_fd < 0)
			unlink(d->paths.socket);
		pthread_cond_destroy(&s->idle);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return err_set(e, ERR_INTERNAL, "cannot start the HTTP server on %s",
			       d->paths.socket);
	}
	*out = s;
	return 0;
}

void server_cancel_streams(struct server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->streams_cancelled = 1;
	for (struct conn_ctx *c = s->active; c; c = c->next)
		if (c->stream)
			stream_cancel(c->stream);
	pthread_mutex_unlock(&s->lock);
}

int server_drain(struct server *s, long long deadline_ms)
{
	struct timespec ts;
	int busy;

	if (!s)
		return 0;
	mono_deadline_ts(deadline_ms, &ts);
	pthread_mutex_lock(&s->lock);
	while (s->active)
		if (pthread_cond_timedwait(&s->idle, &s->lock, &ts) == ETIMEDOUT)
			break;
	busy = s->active != NULL;
	for (struct conn_ctx *c = s->active; c; c = c->next)
		log_error(s->d->log, "request still running at shutdown", LF_S("request", c->what));
	pthread_mutex_unlock(&s->lock);
	return busy ? -1 : 0;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	if (s->d->listen_fd < 0)
		unlink(s->d->paths.socket);
	/* MHD closes the listen socket it was given. Every request has ended
	 * (server_drain), so this only closes idle keep-alive connections. */
	MHD_stop_daemon(s->mhd);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
