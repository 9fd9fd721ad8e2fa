/*
 * fc_api: HTTP/1.1 over Firecracker's API socket. See fc_api.h.
 *
 * Invariant: c->fd is either -1 or a connected socket with no reply bytes
 * pending from an earlier request (a reply is always read in full, or the
 * connection is dropped).
 */
#include "vmm/fc_api.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/buf.h"

/* Largest reply head or body we accept; Firecracker's biggest replies
 * (GET /vm/config, MMDS) stay far below. */
#define FC_REPLY_MAX (1024 * 1024)

struct fc_api {
	char *sock_path;
	struct logger *log;
	int fd;
	int timeout_ms; /* of the request in flight, for the timeout message */
	int last_status;
};

struct fc_api *fc_api_new(const char *sock_path, struct logger *lg)
{
	struct fc_api *c = xcalloc(1, sizeof(*c));

	c->sock_path = xstrdup(sock_path);
	c->log = lg;
	c->fd = -1;
	return c;
}

static void drop_conn(struct fc_api *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void fc_api_free(struct fc_api *c)
{
	if (!c)
		return;
	drop_conn(c);
	free(c->sock_path);
	free(c);
}

void fc_reply_done(struct fc_reply *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

/* An idle keep-alive connection that is readable has been closed by the
 * server (or carries junk): either way it cannot be used. */
static int conn_is_stale(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};

	return poll(&p, 1, 0) != 0;
}

int fc_api_connect(struct fc_api *c, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (c->fd >= 0 && !conn_is_stale(c->fd))
		return 0;
	drop_conn(c);
	if (strlen(c->sock_path) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "API socket path %s is too long (max %zu bytes)",
			       c->sock_path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, c->sock_path, strlen(c->sock_path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return err_errno(e, errno, "socket");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int errnum = errno;

		drop_conn(c);
		err_errno(e, errnum, "connect to Firecracker API socket %s", c->sock_path);
		e->code = ERR_UNAVAILABLE;
		return -1;
	}
	return 0;
}

/* Waits until c->fd is ready for events or the deadline passes. */
static int wait_fd(const struct fc_api *c, short events, long long deadline, struct err *e)
{
	int fd = c->fd;

	for (;;) {
		long long left = deadline - mono_ms();
		struct pollfd p = {fd, events, 0};
		int n;

		if (left <= 0)
			return err_set(e, ERR_VMM, "no reply within %d ms", c->timeout_ms);
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return err_errno(e, errno, "poll");
	}
}

static int send_all(const struct fc_api *c, const char *data, size_t len, long long deadline,
		    struct err *e)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(c, POLLOUT, deadline, e) < 0)
			return -1;
		/* MSG_NOSIGNAL: a VMM that died must give an error, not SIGPIPE. */
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return err_errno(e, errno, "send");
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more bytes into in. Returns bytes read, 0 on EOF, -1 on error. */
static ssize_t recv_some(const struct fc_api *c, struct buf *in, long long deadline, struct err *e)
{
	char chunk[4096];

	for (;;) {
		ssize_t n;

		if (wait_fd(c, POLLIN, deadline, e) < 0)
			return -1;
		n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return err_errno(e, errno, "recv");
		if (in->len + (size_t)n > FC_REPLY_MAX)
			return err_set(e, ERR_VMM, "reply larger than %d bytes", FC_REPLY_MAX);
		buf_append(in, chunk, (size_t)n);
		return n;
	}
}

int fc_api_parse_status(const char *line, size_t len)
{
	size_t i = 5;
	int status = 0;

	if (len < 5 || strncmp(line, "HTTP/", 5) != 0)
		return -1;
	while (i < len && line[i] != ' ')
		i++;
	while (i < len && line[i] == ' ')
		i++;
	for (int digits = 0; digits < 3; digits++, i++) {
		if (i >= len || !isdigit((unsigned char)line[i]))
			return -1;
		status = status * 10 + (line[i] - '0');
	}
	/* Anything after the code (a reason phrase, or nothing) is ignored. */
	if (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '\n')
		return -1;
	return status;
}

/* Finds the end of the head ("\r\n\r\n", or bare "\n\n" to be lenient). */
static const char *head_end(const char *s, size_t len, size_t *sep)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '\n' && s[i + 1] == '\n') {
			*sep = 2;
			return s + i;
		}
		if (i + 3 < len && memcmp(s + i, "\r\n\r\n", 4) == 0) {
			*sep = 4;
			return s + i;
		}
	}
	return NULL;
}

struct head {
	int status;
	long long content_length; /* -1: absent */
	int close;		  /* Connection: close */
};

/* Parses the header lines we care about; others are ignored. */
static int parse_head(const char *s, size_t len, struct head *h, struct err *e)
{
	const char *eol = memchr(s, '\n', len), *p, *end = s + len;

	h->content_length = -1;
	h->close = 0;
	h->status = fc_api_parse_status(s, eol ? (size_t)(eol - s) : len);
	if (h->status < 0)
		return err_set(e, ERR_VMM, "not an HTTP status line: \"%.*s\"",
			       (int)(eol ? eol - s : (ptrdiff_t)len), s);
	for (p = eol ? eol + 1 : end; p < end; p = eol ? eol + 1 : end) {
		size_t n;

		eol = memchr(p, '\n', (size_t)(end - p));
		n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			char *stop;

			h->content_length = strtoll(p + 15, &stop, 10);
			if (h->content_length < 0 || h->content_length > FC_REPLY_MAX)
				return err_set(e, ERR_VMM, "bad Content-Length in reply");
		} else if (n > 11 && strncasecmp(p, "connection:", 11) == 0) {
			const char *v = p + 11;

			while (*v == ' ' || *v == '\t')
				v++;
			h->close = strncasecmp(v, "close", 5) == 0;
		}
	}
	return 0;
}

/* Reads one final reply (skipping interim 1xx replies) into r. */
static int read_reply(struct fc_api *c, long long deadline, struct fc_reply *r, int *close_after,
		      struct err *e)
{
	struct buf in = BUF_INIT;
	struct head h;
	const char *end;
	size_t sep = 0, body_off;
	int ret = -1;

	for (;;) {
		while (!(end = head_end(buf_str(&in), in.len, &sep))) {
			ssize_t n = recv_some(c, &in, deadline, e);

			if (n < 0)
				goto out;
			if (n == 0) {
				err_set(e, ERR_VMM, "connection closed %s",
					in.len ? "in the middle of the reply" : "without a reply");
				goto out;
			}
		}
		if (parse_head(buf_str(&in), (size_t)(end - buf_str(&in)), &h, e) < 0)
			goto out;
		body_off = (size_t)(end - buf_str(&in)) + sep;
		if (h.status >= 200)
			break;
		/* Interim reply (100 Continue): drop it and read on. */
		memmove(in.data, in.data + body_off, in.len - body_off + 1);
		in.len -= body_off;
	}
	if (h.content_length < 0 && h.close && h.status != 204 && h.status != 304) {
		/* No length but the server closes: the body runs to EOF. */
		ssize_t n;

		while ((n = recv_some(c, &in, deadline, e)) > 0)
			;
		if (n < 0)
			goto out;
		h.content_length = (long long)(in.len - body_off);
	}
	if (h.content_length < 0)
		h.content_length = 0; /* Firecracker's 204s carry neither length nor body */
	while (in.len - body_off < (size_t)h.content_length) {
		ssize_t n = recv_some(c, &in, deadline, e);

		if (n < 0)
			goto out;
		if (n == 0) {
			err_set(e, ERR_VMM, "connection closed in the middle of the reply body");
			goto out;
		}
	}
	r->status = h.status;
	r->body_len = (size_t)h.content_length;
	r->body = xmalloc(r->body_len + 1);
	memcpy(r->body, in.data + body_off, r->body_len);
	r->body[r->body_len] = '\0';
	/* Bytes beyond the body would break the next exchange: drop the connection. */
	*close_after = h.close || in.len - body_off > r->body_len;
	ret = 0;
out:
	buf_free(&in);
	return ret;
}

int fc_api_raw(struct fc_api *c, const char *method, const char *path, const char *body,
	       int timeout_ms, struct fc_reply *r, struct err *e)
{
	long long deadline = mono_ms() + timeout_ms;
	struct buf req = BUF_INIT;
	int close_after = 0, ret = -1;

	memset(r, 0, sizeof(*r));
	c->last_status = 0;
	if (fc_api_connect(c, e) < 0)
		return -1;
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n",
		   method, path);
	if (body)
		buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			   strlen(body));
	buf_puts(&req, "\r\n");
	if (body)
		buf_puts(&req, body);
	c->timeout_ms = timeout_ms;
	if (send_all(c, buf_str(&req), req.len, deadline, e) < 0 ||
	    read_reply(c, deadline, r, &close_after, e) < 0) {
		drop_conn(c);
		goto out;
	}
	if (close_after)
		drop_conn(c);
	c->last_status = r->status;
	ret = 0;
out:
	buf_free(&req);
	return ret;
}

int fc_api_last_status(const struct fc_api *c)
{
	return c->last_status;
}

char *fc_api_fault(const char *body, size_t len)
{
	char *flat = xmalloc(len + 1);
	const char *msg = NULL;
	char *out, *start, *end;
	json_t *root;

	/* micro-http puts a raw newline inside its "error" string, which is
	 * not valid JSON; as white space outside strings means nothing,
	 * flattening control characters first makes either form parse. */
	for (size_t i = 0; i < len; i++)
		flat[i] = (body[i] == '\n' || body[i] == '\r' || body[i] == '\t') ? ' ' : body[i];
	flat[len] = '\0';
	root = json_loadb(flat, len, 0, NULL);
	free(flat);
	if (json_is_object(root)) {
		msg = json_string_value(json_object_get(root, "fault_message"));
		if (!msg)
			msg = json_string_value(json_object_get(root, "error"));
	}
	out = msg ? xstrdup(msg) : xasprintf("%.*s", (int)len, body);
	json_decref(root);
	/* One line: micro-http's messages embed a raw newline. */
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	for (start = out; *start == ' '; start++)
		;
	end = start + strlen(start);
	while (end > start && end[-1] == ' ')
		*--end = '\0';
	memmove(out, start, (size_t)(end - start) + 1);
	return out;
}

int fc_api_call(struct fc_api *c, const char *method, const char *path, json_t *body,
		int timeout_ms, json_t **out, struct err *e)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long long t0 = mono_ms();
	struct fc_reply r = {0};
	int ret = -1;

	if (out)
		*out = NULL;
	if (fc_api_raw(c, method, path, text, timeout_ms, &r, e) < 0) {
		err_wrap(e, "%s %s", method, path);
		log_debug(c->log, "firecracker api", LF_S("method", method), LF_S("path", path),
			  LF_S("body", text), LF_S("error", e ? e->msg : ""),
			  LF_I("duration_ms", mono_ms() - t0));
		goto out;
	}
	log_debug(c->log, "firecracker api", LF_S("method", method), LF_S("path", path),
		  LF_S("body", text), LF_I("status", r.status), LF_S("response", r.body),
		  LF_I("duration_ms", mono_ms() - t0));
	if (r.status < 200 || r.status > 299) {
		char *fault = fc_api_fault(r.body, r.body_len);

		err_set(e, ERR_VMM, "Firecracker said %d: \"%s\"", r.status,
			fault[0] ? fault : "(no message)");
		free(fault);
		goto out;
	}
	if (out && r.body_len > 0) {
		json_error_t je;

		*out = json_loadb(r.body, r.body_len, 0, &je);
		if (!*out) {
			err_set(e, ERR_VMM, "%s %s: reply is not JSON: %s", method, path, je.text);
			goto out;
		}
	}
	ret = 0;
out:
	free(text);
	fc_reply_done(&r);
	return ret;
}
