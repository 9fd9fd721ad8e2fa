/* client: see client.h. */
#include "api/client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/spawn.h"

/* One connection per request (Connection: close): the daemon runs a
 * thread per connection, and a CLI command makes one or two requests. */
struct client {
	char *socket;
	char *log;
	const char *header; /* client_header */
	int fd;		    /* the connection client_open found the daemon on, or -1 */
};

void client_header(struct client *c, const char *line)
{
	c->header = line;
}

/* A connected socket, or -1 with errno set. */
static int dial(const char *socket_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		if (err == EINTR)
			continue;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int client_ping(const char *socket_path)
{
	int fd = dial(socket_path);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* bangerd next to this binary, else from PATH. */
static char *bangerd_path(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		char *slash, *p;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			p = xasprintf("%s/bangerd", exe);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return xstrdup("bangerd");
}

/* The error of the last "daemon failed" line in the log, so a startup
 * failure (a bad config file, say) reaches the user verbatim. */
static void startup_error(const char *log, long long from, struct err *e)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;

	if (fs_read(log, 64 << 20, &text, &len, NULL) < 0 || (long long)len < from) {
		free(text);
		return;
	}
	for (line = strtok_r(text + from, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		const char *msg = json_string_value(json_object_get(j, "msg"));

		if (msg && strcmp(msg, "daemon failed") == 0) {
			const char *er = json_string_value(json_object_get(j, "error"));
			const char *hint = json_string_value(json_object_get(j, "hint"));

			err_set(e, ERR_UNAVAILABLE, "bangerd could not start: %s", er ? er : "?");
			if (hint && hint[0])
				err_hint(e, "%s", hint);
		}
		json_decref(j);
	}
	free(text);
}

static int start_daemon(const struct paths *p, struct err *e)
{
	char *bin = bangerd_path(), *lockpath = xasprintf("%s/start.lock", p->run_dir);
	const char *argv[] = {bin, NULL};
	int lock = -1, ret = -1;
	long long logsize = 0;
	pid_t pid;

	if (paths_ensure(p, e) < 0)
		goto out;
	/* Serialise concurrent CLIs: only one starts the daemon. */
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	if (client_ping(p->socket)) {
		ret = 0;
		goto out;
	}
	fs_sizes(p->log, &logsize, NULL, NULL);
	if (spawn_detached(argv, p->log, &pid, e) < 0) {
		err_wrap(e, "start bangerd");
		goto out;
	}
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		int st;

		if (client_ping(p->socket)) {
			ret = 0;
			goto out;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			err_set(e, ERR_UNAVAILABLE, "bangerd exited during startup (status %d)",
				WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			startup_error(p->log, logsize, e);
			err_log(e, p->log);
			goto out;
		}
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	err_set(e, ERR_UNAVAILABLE, "bangerd did not come up within 10 s");
	err_log(e, p->log);
out:
	if (lock >= 0)
		close(lock);
	free(lockpath);
	free(bin);
	return ret;
}

int client_open(const struct paths *p, int autostart, struct client **out, struct err *e)
{
	struct client *c;
	int fd = dial(p->socket);

	if (fd < 0) {
		if (!autostart) {
			err_set(e, ERR_UNAVAILABLE, "bangerd is not running (no answer on %s)",
				p->socket);
			err_hint(e, "any banger command that needs it starts it");
			return -1;
		}
		if (start_daemon(p, e) < 0)
			return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->socket = xstrdup(p->socket);
	c->log = xstrdup(p->log);
	/* The connection that answered carries the first request: one accept
	 * (and one connection thread in bangerd) less per command. */
	c->fd = fd;
	*out = c;
	return 0;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->socket);
	free(c->log);
	free(c);
}

char *client_escape(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		/* "." too: curl would fold a literal "../" out of the path. */
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
			buf_putc(&b, (char)ch);
		else
			buf_printf(&b, "%%%02X", ch);
	}
	return buf_steal(&b);
}

struct recv {
	struct buf data;
	client_line_fn on_line;
	void *ctx;
	int stop;
	long status;
};

static void drain_lines(struct recv *r, int final)
{
	char *start = r->data.data, *nl;

	if (!start)
		return;
	while (!r->stop &&
	       (nl = memchr(start, '\n', r->data.len - (size_t)(start - r->data.data)))) {
		*nl = '\0';
		if (start[0]) {
			json_t *j = json_loads(start, 0, NULL);

			if (j) {
				r->stop = r->on_line(r->ctx, j);
				json_decref(j);
			}
		}
		start = nl + 1;
	}
	if (final && !r->stop && *start) {
		json_t *j = json_loads(start, 0, NULL);

		if (j) {
			r->on_line(r->ctx, j);
			json_decref(j);
		}
		start += strlen(start);
	}
	{
		size_t rest = r->data.len - (size_t)(start - r->data.data);

		memmove(r->data.data, start, rest);
		r->data.len = rest;
		r->data.data[rest] = '\0';
	}
}

/* Body bytes as they arrive. Only a 2xx body is a stream of lines; an
 * error body is one JSON error, read whole once the response ends. */
static void on_data(struct recv *r, const char *p, size_t n)
{
	buf_append(&r->data, p, n);
	if (r->on_line && r->status >= 200 && r->status < 300)
		drain_lines(r, 0);
}

int client_error_from_json(json_t *er, const char *fallback, struct err *e)
{
	const char *msg = json_string_value(json_object_get(er, "message"));
	const char *hint = json_string_value(json_object_get(er, "hint"));
	const char *log = json_string_value(json_object_get(er, "log"));

	err_set(e, err_code_from_name(json_string_value(json_object_get(er, "code"))), "%s",
		msg ? msg : fallback);
	if (hint)
		err_hint(e, "%s", hint);
	if (log)
		err_log(e, log);
	return -1;
}

static void api_error(json_t *resp, long status, struct err *e)
{
	char fallback[64];

	snprintf(fallback, sizeof(fallback), "the daemon answered HTTP %ld", status);
	client_error_from_json(resp ? json_object_get(resp, "error") : NULL, fallback, e);
}

/* The HTTP/1.1 response reader: what a request to bangerd needs and no
 * more (one response, then the connection closes; a body delimited by
 * Content-Length, chunked encoding or the end of the connection). */
struct conn {
	int fd;
	char in[16384];
	size_t off, len; /* unread bytes: in[off, len) */
	int eof;
};

/* Reads more into c->in; 0 at the end of the connection, -1 on error. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof(c->in)) { /* only a header line can fill it */
		errno = EMSGSIZE;
		return -1;
	}
	do
		n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		c->eof = 1;
	c->len += (size_t)n;
	return n > 0;
}

/* One CRLF-terminated line (CRLF cut), into line; -1 on error or end. */
static int read_line(struct conn *c, char *line, size_t max)
{
	for (;;) {
		char *nl = memchr(c->in + c->off, '\n', c->len - c->off);

		if (nl) {
			size_t n = (size_t)(nl - (c->in + c->off));

			if (n && nl[-1] == '\r')
				n--;
			if (n >= max) {
				errno = EMSGSIZE;
				return -1;
			}
			memcpy(line, c->in + c->off, n);
			line[n] = '\0';
			c->off = (size_t)(nl - c->in) + 1;
			return 0;
		}
		if (c->off) { /* make room: keep the partial line at the start */
			memmove(c->in, c->in + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (fill(c) <= 0) {
			if (c->eof)
				errno = EPIPE;
			return -1;
		}
	}
}

/* Up to want body bytes (want < 0: until the end) to on_data. */
static int read_body(struct conn *c, struct recv *r, long long want)
{
	/* A body of known length that no line callback reads: straight into
	 * the result, sized once, in as few reads as the socket allows (a list
	 * of 1,000 VMs is 1 MB: 70 reads of 16 KiB through c->in were most of
	 * the CLI's system time). */
	if (want > 0 && !r->on_line) {
		size_t have = c->len - c->off, take = (long long)have < want ? have : (size_t)want;
		struct buf *b = &r->data;

		on_data(r, c->in + c->off, take);
		c->off += take;
		want -= (long long)take;
		if (want > 0)
			buf_reserve(b, (size_t)want);
		while (want > 0) {
			ssize_t n = read(c->fd, b->data + b->len, (size_t)want);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n == 0)
					errno = EPIPE;
				b->data[b->len] = '\0';
				return -1;
			}
			b->len += (size_t)n;
			want -= n;
		}
		if (b->data)
			b->data[b->len] = '\0';
		return 0;
	}
	while (want != 0 && !r->stop) {
		size_t have = c->len - c->off, take;

		if (!have) {
			int f = fill(c);

			if (f < 0)
				return -1;
			if (f == 0) {
				if (want < 0)
					return 0;
				errno = EPIPE;
				return -1;
			}
			continue;
		}
		take = want < 0 || (long long)have < want ? have : (size_t)want;
		on_data(r, c->in + c->off, take);
		c->off += take;
		if (want > 0)
			want -= (long long)take;
	}
	return 0;
}

static int read_chunked(struct conn *c, struct recv *r)
{
	char line[256];

	while (!r->stop) {
		char *end;
		unsigned long long size;

		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		size = strtoull(line, &end, 16);
		if (end == line) {
			errno = EPROTO;
			return -1;
		}
		if (size == 0) /* trailers are not used by bangerd */
			return 0;
		if (read_body(c, r, (long long)size) < 0)
			return -1;
		if (!r->stop && read_line(c, line, sizeof(line)) < 0)
			return -1;
	}
	return 0;
}

static int read_response(struct conn *c, struct recv *r)
{
	char line[8192];
	long long length = -1;
	int chunked = 0;

	if (read_line(c, line, sizeof(line)) < 0)
		return -1;
	if (strncmp(line, "HTTP/1.", 7) != 0 || sscanf(line + 8, " %ld", &r->status) != 1) {
		errno = EPROTO;
		return -1;
	}
	for (;;) {
		char *colon, *v;

		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		if (!line[0])
			break;
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(line, "Content-Length") == 0)
			length = strtoll(v, NULL, 10);
		else if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasestr(v, "chunked"))
			chunked = 1;
	}
	if (chunked)
		return read_chunked(c, r);
	return read_body(c, r, length);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int perform(struct client *c, const char *method, const char *path, json_t *body,
		   struct recv *r, long *status, struct err *e)
{
	struct buf req = BUF_INIT;
	struct conn *cn = xcalloc(1, sizeof(*cn));
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int ret = -1;

	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: banger\r\nConnection: close\r\n", method, path);
	if (c->header)
		buf_printf(&req, "%s\r\n", c->header);
	if (text)
		buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			   strlen(text));
	buf_puts(&req, "\r\n");
	if (text)
		buf_puts(&req, text);
	cn->fd = c->fd >= 0 ? c->fd : dial(c->socket);
	c->fd = -1;
	if (cn->fd < 0 || send_all(cn->fd, buf_str(&req), req.len) < 0 ||
	    read_response(cn, r) < 0) {
		err_set(e, ERR_UNAVAILABLE, "cannot talk to bangerd on %s: %s", c->socket,
			errno == EPIPE ? "the connection closed early" : strerror(errno));
		err_log(e, c->log);
		goto out;
	}
	*status = r->status;
	ret = 0;
out:
	if (cn->fd >= 0)
		close(cn->fd);
	free(cn);
	free(text);
	buf_free(&req);
	return ret;
}

int client_call(struct client *c, const char *method, const char *path, json_t *body, json_t **out,
		struct err *e)
{
	struct recv r = {BUF_INIT, NULL, NULL, 0, 0};
	long status = 0;
	json_t *resp = NULL;
	int ret = -1;

	if (perform(c, method, path, body, &r, &status, e) < 0)
		goto done;
	if (r.data.len)
		resp = json_loadb(r.data.data, r.data.len, 0, NULL);
	if (status < 200 || status >= 300) {
		api_error(resp, status, e);
		goto done;
	}
	if (!resp) {
		err_set(e, ERR_INTERNAL, "the daemon sent a malformed response");
		goto done;
	}
	if (out) {
		*out = resp;
		resp = NULL;
	}
	ret = 0;
done:
	json_decref(resp);
	buf_free(&r.data);
	return ret;
}

int client_call_text(struct client *c, const char *method, const char *path, json_t *body,
		     struct buf *out, struct err *e)
{
	struct recv r = {BUF_INIT, NULL, NULL, 0, 0};
	long status = 0;
	int ret = -1;

	if (perform(c, method, path, body, &r, &status, e) < 0)
		goto done;
	if (status < 200 || status >= 300) {
		json_t *resp = json_loadb(r.data.data ? r.data.data : "", r.data.len, 0, NULL);

		api_error(resp, status, e);
		json_decref(resp);
		goto done;
	}
	buf_append(out, r.data.data ? r.data.data : "", r.data.len);
	ret = 0;
done:
	buf_free(&r.data);
	return ret;
}

int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  client_line_fn on_line, void *ctx, struct err *e)
{
	struct recv r = {BUF_INIT, on_line, ctx, 0, 0};
	long status = 0;
	int ret = -1;

	if (perform(c, method, path, body, &r, &status, e) < 0)
		goto done;
	if (status < 200 || status >= 300) {
		json_t *resp = json_loadb(r.data.data ? r.data.data : "", r.data.len, 0, NULL);

		api_error(resp, status, e);
		json_decref(resp);
		goto done;
	}
	drain_lines(&r, 1);
	ret = 0;
done:
	buf_free(&r.data);
	return ret;
}
