/* client: see client.h. */
#include "api/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/spawn.h"

struct client {
	CURL *curl;
	char *socket;
	char *log;
};

int client_ping(const char *socket_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, ok;

	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
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

	if (!client_ping(p->socket)) {
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
	c->curl = curl_easy_init();
	c->socket = xstrdup(p->socket);
	c->log = xstrdup(p->log);
	*out = c;
	return 0;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
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
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_')
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
	CURL *curl;
};

static void drain_lines(struct recv *r, int final)
{
	char *start = r->data.data, *nl;

	if (!start)
		return;
	while (!r->stop && (nl = memchr(start, '\n', r->data.len - (size_t)(start - r->data.data)))) {
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

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct recv *r = arg;

	long status = 0;

	buf_append(&r->data, ptr, size * n);
	/* Only a 2xx body is a stream of lines; an error body is one JSON
	 * error, read whole once the transfer ends. */
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (r->on_line && status >= 200 && status < 300) {
		drain_lines(r, 0);
		if (r->stop)
			return 0; /* aborts the transfer */
	}
	return size * n;
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

static int perform(struct client *c, const char *method, const char *path, json_t *body,
		   struct recv *r, long *status, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	char *url = xasprintf("http://banger%s", path), *text = NULL;
	CURLcode rc;

	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	free(url);
	free(text);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && r->stop)) {
		err_set(e, ERR_UNAVAILABLE, "cannot talk to bangerd on %s: %s", c->socket,
			curl_easy_strerror(rc));
		err_log(e, c->log);
		return -1;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int client_call(struct client *c, const char *method, const char *path, json_t *body,
		json_t **out, struct err *e)
{
	struct recv r = {BUF_INIT, NULL, NULL, 0, c->curl};
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

int client_stream(struct client *c, const char *method, const char *path, json_t *body,
		  client_line_fn on_line, void *ctx, struct err *e)
{
	struct recv r = {BUF_INIT, on_line, ctx, 0, c->curl};
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
