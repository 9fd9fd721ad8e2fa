/*
 * Unit tests for fc_api (HTTP client for Firecracker's API socket) and
 * fc_metrics, against a tiny scripted server on a Unix socket in a thread.
 * The server answers with Firecracker's exact wire quirks: no reason phrase,
 * the canned 503 without the space, micro-http's {"error": ...} bodies.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"
#include "vmm/fc_api.h"
#include "vmm/fc_metrics.h"

#define MAX_REQ 8

/* A reply script entry: raw bytes to send, or one of these actions. */
#define R_CLOSE "<close>" /* close the connection without answering */
#define R_HANG "<hang>"	  /* never answer; wait for the client to give up */

struct req {
	char method[16];
	char path[64];
	char body[512];
	long content_length; /* header value, -1 if absent */
	int conn;	     /* which accepted connection it came on */
};

struct server {
	char dir[64];
	char sock[128];
	int lfd;
	const char *const *script;
	size_t nscript;
	struct req reqs[MAX_REQ];
	size_t nreq;
	int accepts;
	pthread_t thread;
};

/* Reads one request; 0 on EOF before any byte. */
static int read_request(int fd, struct req *r)
{
	char buf[2048];
	size_t len = 0;
	char *end = NULL, *cl;

	while (!end) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	sscanf(buf, "%15s %63s", r->method, r->path);
	cl = strcasestr(buf, "\r\nContent-Length:");
	r->content_length = cl && cl < end ? strtol(cl + 17, NULL, 10) : -1;
	end += 4;
	if (r->content_length > 0) {
		size_t have = len - (size_t)(end - buf);

		while (have < (size_t)r->content_length) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

			if (n <= 0)
				break;
			len += (size_t)n;
			have += (size_t)n;
		}
		snprintf(r->body, sizeof(r->body), "%.*s", (int)have, end);
	}
	return 1;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	size_t i = 0;

	while (i < s->nscript) {
		int fd = accept(s->lfd, NULL, NULL);

		if (fd < 0)
			break;
		s->accepts++;
		while (i < s->nscript && s->nreq < MAX_REQ) {
			struct req *r = &s->reqs[s->nreq];
			const char *reply = s->script[i++];

			if (!read_request(fd, r))
				break;
			r->conn = s->accepts;
			s->nreq++;
			if (strcmp(reply, R_CLOSE) == 0)
				break;
			if (strcmp(reply, R_HANG) == 0) {
				char c;

				while (read(fd, &c, 1) > 0)
					;
				break;
			}
			if (write(fd, reply, strlen(reply)) < 0 ||
			    strstr(reply, "Connection: close"))
				break;
		}
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s, const char *const *script, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/fcapi-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->sock, sizeof(s->sock), "%s/api.sock", s->dir);
	strcpy(sa.sun_path, s->sock);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	s->script = script;
	s->nscript = n;
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	unlink(s->sock);
	rmdir(s->dir);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char reply_204[] = "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
				"Connection: keep-alive\r\n\r\n";

static void test_parse_status(void **state)
{
	(void)state;
	assert_int_equal(fc_api_parse_status("HTTP/1.1 204 ", 13), 204);
	assert_int_equal(fc_api_parse_status("HTTP/1.1 503", 12), 503);
	assert_int_equal(fc_api_parse_status("HTTP/1.1 503\r", 13), 503);
	assert_int_equal(fc_api_parse_status("HTTP/1.0 400 Bad Request", 24), 400);
	assert_int_equal(fc_api_parse_status("HTTP/1.1 20", 11), -1);
	assert_int_equal(fc_api_parse_status("HTTP/1.1 2045", 13), -1);
	assert_int_equal(fc_api_parse_status("SSH-2.0-OpenSSH", 15), -1);
}

static void test_fault_forms(void **state)
{
	const char *fm = "{\"fault_message\":\"Boot source error: nope\"}";
	const char *he = "{ \"error\": \"Invalid header.\nAll previous unanswered requests will be "
			 "dropped.\" }";
	char *s;

	(void)state;
	s = fc_api_fault(fm, strlen(fm));
	assert_string_equal(s, "Boot source error: nope");
	free(s);
	s = fc_api_fault(he, strlen(he));
	assert_string_equal(s, "Invalid header. All previous unanswered requests will be dropped.");
	free(s);
	s = fc_api_fault("plain text\n", 11);
	assert_string_equal(s, "plain text");
	free(s);
	s = fc_api_fault("", 0);
	assert_string_equal(s, "");
	free(s);
}

/* Two requests reuse one connection; bodies carry the right Content-Length;
 * a 400's fault_message reaches the error. */
static void test_keepalive_and_fault(void **state)
{
	static const char *const script[] = {
	    reply_204,
	    "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
	    "Content-Type: application/json\r\nContent-Length: 88\r\n\r\n"
	    "{\"fault_message\":\"The requested operation is not supported after starting "
	    "the microVM.\"}",
	};
	struct server s;
	struct err e = {0};
	struct fc_api *c;
	json_t *body = json_pack("{s:i,s:i}", "vcpu_count", 2, "mem_size_mib", 1024);

	(void)state;
	server_start(&s, script, N(script));
	c = fc_api_new(s.sock, NULL);
	assert_int_equal(fc_api_call(c, "PUT", "/machine-config", body, 2000, NULL, &e), 0);
	assert_int_equal(fc_api_last_status(c), 204);
	assert_int_equal(fc_api_call(c, "PUT", "/machine-config", body, 2000, NULL, &e), -1);
	assert_int_equal(e.code, ERR_VMM);
	assert_string_equal(e.msg, "Firecracker said 400: \"The requested operation is not "
				   "supported after starting the microVM.\"");
	assert_int_equal(fc_api_last_status(c), 400);
	fc_api_free(c);
	server_stop(&s);

	assert_int_equal(s.nreq, 2);
	assert_int_equal(s.accepts, 1);
	assert_string_equal(s.reqs[0].method, "PUT");
	assert_string_equal(s.reqs[0].path, "/machine-config");
	assert_string_equal(s.reqs[0].body, "{\"vcpu_count\":2,\"mem_size_mib\":1024}");
	assert_int_equal(s.reqs[0].content_length, (long)strlen(s.reqs[0].body));
	assert_int_equal(s.reqs[1].conn, 1);
	json_decref(body);
}

/* The canned 503 has no space after the code and closes the connection;
 * the next request must reconnect. */
static void test_canned_503_then_reconnect(void **state)
{
	static const char *const script[] = {
	    "HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"
	    "{ \"error\": \"Too many open connections\" }",
	    "HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
	    "Content-Type: application/json\r\nContent-Length: 33\r\n\r\n"
	    "{\"firecracker_version\":\"1.16.1\"}\n",
	};
	struct server s;
	struct err e = {0};
	struct fc_api *c;
	json_t *out = NULL;

	(void)state;
	server_start(&s, script, N(script));
	c = fc_api_new(s.sock, NULL);
	assert_int_equal(fc_api_call(c, "GET", "/version", NULL, 2000, &out, &e), -1);
	assert_string_equal(e.msg, "Firecracker said 503: \"Too many open connections\"");
	assert_int_equal(fc_api_call(c, "GET", "/version", NULL, 2000, &out, &e), 0);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "firecracker_version")),
			    "1.16.1");
	json_decref(out);
	fc_api_free(c);
	server_stop(&s);
	assert_int_equal(s.accepts, 2);
	/* A GET carries no body and so no Content-Length (Firecracker: 400). */
	assert_int_equal(s.reqs[0].content_length, -1);
}

/* micro-http's HTTP-level error: 400 with {"error": "...\n..."}. fc_api_raw
 * hands any status back; fc_api_call turns it into the error. */
static void test_microhttp_error_form(void **state)
{
	static const char body[] = "{ \"error\": \"Payload too large.\nAll previous unanswered "
				   "requests will be dropped.\" }";
	char reply[512];
	const char *script[2] = {reply, reply};
	struct server s;
	struct err e = {0};
	struct fc_reply r;
	struct fc_api *c;
	json_t *empty = json_object();

	(void)state;
	snprintf(reply, sizeof(reply),
		 "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	server_start(&s, script, N(script));
	c = fc_api_new(s.sock, NULL);
	assert_int_equal(fc_api_raw(c, "PUT", "/mmds", "{}", 2000, &r, &e), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, body);
	fc_reply_done(&r);
	assert_int_equal(fc_api_call(c, "PUT", "/mmds", empty, 2000, NULL, &e), -1);
	assert_string_equal(e.msg, "Firecracker said 400: \"Payload too large. All previous "
				   "unanswered requests will be dropped.\"");
	fc_api_free(c);
	server_stop(&s);
	assert_string_equal(s.reqs[1].body, "{}");
	assert_int_equal(s.reqs[1].content_length, 2);
	json_decref(empty);
}

/* An interim "100" reply is skipped. */
static void test_interim_100(void **state)
{
	static const char *const script[] = {
	    "HTTP/1.1 100 \r\n\r\nHTTP/1.1 204 \r\nServer: Firecracker API\r\n\r\n",
	};
	struct server s;
	struct err e = {0};
	struct fc_reply r;
	struct fc_api *c;

	(void)state;
	server_start(&s, script, N(script));
	c = fc_api_new(s.sock, NULL);
	assert_int_equal(
	    fc_api_raw(c, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 2000, &r, &e),
	    0);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	fc_reply_done(&r);
	fc_api_free(c);
	server_stop(&s);
}

/* A VMM that closes without answering or never answers: transport errors,
 * no status. */
static void test_close_and_timeout(void **state)
{
	static const char *const script[] = {R_CLOSE, R_HANG};
	struct server s;
	struct err e = {0};
	struct fc_api *c;
	json_t *body = json_pack("{s:s}", "action_type", "InstanceStart");

	(void)state;
	server_start(&s, script, N(script));
	c = fc_api_new(s.sock, NULL);
	assert_int_equal(fc_api_call(c, "PUT", "/actions", body, 2000, NULL, &e), -1);
	assert_string_equal(e.msg, "PUT /actions: connection closed without a reply");
	assert_int_equal(fc_api_last_status(c), 0);
	assert_int_equal(fc_api_call(c, "PUT", "/actions", body, 200, NULL, &e), -1);
	assert_string_equal(e.msg, "PUT /actions: no reply within 200 ms");
	assert_int_equal(fc_api_last_status(c), 0);
	fc_api_free(c); /* closes the hanging connection: the server ends */
	server_stop(&s);
	assert_int_equal(s.nreq, 2);
	json_decref(body);
}

static void test_no_server(void **state)
{
	struct fc_api *c = fc_api_new("/tmp/fcapi-test-no-such-dir/api.sock", NULL);
	struct err e = {0};

	(void)state;
	assert_int_equal(fc_api_call(c, "GET", "/", NULL, 500, NULL, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "/tmp/fcapi-test-no-such-dir/api.sock"));
	fc_api_free(c);
}

static void test_flush_metrics(void **state)
{
	static const char *const script[] = {reply_204};
	struct server s;
	struct err e = {0};

	(void)state;
	server_start(&s, script, N(script));
	assert_int_equal(fc_flush_metrics(s.sock, &e), 0);
	server_stop(&s);
	assert_string_equal(s.reqs[0].method, "PUT");
	assert_string_equal(s.reqs[0].path, "/actions");
	assert_string_equal(s.reqs[0].body, "{\"action_type\":\"FlushMetrics\"}");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_metrics_last_line(void **state)
{
	char path[] = "/tmp/fcmetrics-test-XXXXXX";
	int fd = mkstemp(path);
	struct err e = {0};
	json_t *m = NULL;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* Two complete lines and one still being written. */
	write_file(path, "{\"utc_timestamp_ms\":1,\"vcpu\":{\"exit_io_in\":5}}\n"
			 "{\"utc_timestamp_ms\":2,\"vcpu\":{\"exit_io_in\":7}}\n"
			 "{\"utc_timestamp_ms\":3,\"vc");
	assert_int_equal(fc_metrics_read_last(path, &m, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "utc_timestamp_ms")), 2);
	json_decref(m);

	write_file(path, "");
	assert_int_equal(fc_metrics_read_last(path, &m, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_null(m);
	unlink(path);
	assert_int_equal(fc_metrics_read_last(path, &m, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_status),
	    cmocka_unit_test(test_fault_forms),
	    cmocka_unit_test(test_keepalive_and_fault),
	    cmocka_unit_test(test_canned_503_then_reconnect),
	    cmocka_unit_test(test_microhttp_error_form),
	    cmocka_unit_test(test_interim_100),
	    cmocka_unit_test(test_close_and_timeout),
	    cmocka_unit_test(test_no_server),
	    cmocka_unit_test(test_flush_metrics),
	    cmocka_unit_test(test_metrics_last_line),
	};

	return cmocka_run_group_tests_name("fc_api", tests, NULL, NULL);
}
