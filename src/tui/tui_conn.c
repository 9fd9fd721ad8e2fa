/* tui_conn: see tui_conn.h. */
#include "tui/tui_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "util/buf.h"

#define RETRY_MS 1000
#define STATS_EVERY_MS 5000

struct stream_ctx {
	struct tui_state *s;
	struct client *side; /* a second connection for GET /v1/vms */
	int failed;
};

/* Loads the whole list; the stream is subscribed already. */
static int load_all(struct stream_ctx *c)
{
	json_t *resp = NULL;
	struct err e;

	err_clear(&e);
	if (client_call(c->side, "GET", "/v1/vms", NULL, &resp, &e) < 0) {
		tui_state_lock(c->s);
		snprintf(c->s->conn_err, sizeof(c->s->conn_err), "%s", e.msg);
		tui_state_unlock(c->s);
		return -1;
	}
	tui_state_lock(c->s);
	tui_model_load(&c->s->model, json_object_get(resp, "vms"));
	c->s->connected = 1;
	c->s->conn_err[0] = '\0';
	tui_state_unlock(c->s);
	json_decref(resp);
	return 0;
}

static int on_event(void *ctx, json_t *ev)
{
	struct stream_ctx *c = ctx;
	const char *type = json_string_value(json_object_get(ev, "type"));
	int quit;

	if (type && strcmp(type, "hello") == 0 && load_all(c) < 0) {
		c->failed = 1;
		return 1;
	}
	tui_state_lock(c->s);
	tui_model_apply_event(&c->s->model, ev);
	if (c->s->select_next[0] && tui_model_select(&c->s->model, c->s->select_next))
		c->s->select_next[0] = '\0';
	quit = c->s->quit;
	tui_state_unlock(c->s);
	return quit;
}

static void set_down(struct tui_state *s, const struct err *e)
{
	tui_state_lock(s);
	s->connected = 0;
	if (e && e->msg[0])
		snprintf(s->conn_err, sizeof(s->conn_err), "%s", e->msg);
	tui_state_unlock(s);
}

/* One connection's life: subscribe, load, apply events until it ends. */
static void follow_once(struct tui_state *s)
{
	struct stream_ctx c = {s, NULL, 0};
	struct client *cl = NULL;
	struct err e;

	err_clear(&e);
	if (client_open(&s->paths, 0, &cl, &e) < 0 || client_open(&s->paths, 0, &c.side, &e) < 0) {
		set_down(s, &e);
		goto out;
	}
	if (client_stream(cl, "GET", "/v1/events", NULL, on_event, &c, &e) < 0) {
		set_down(s, &e);
		goto out;
	}
	/* The stream ended without an error: the daemon closed it. */
	err_set(&e, ERR_UNAVAILABLE, "bangerd closed the event stream");
	set_down(s, &e);
out:
	client_close(c.side);
	client_close(cl);
}

static void *event_thread(void *arg)
{
	struct tui_state *s = arg;

	while (!tui_state_quitting(s)) {
		follow_once(s);
		if (tui_state_nap(s, RETRY_MS))
			break;
	}
	tui_state_unref(s);
	return NULL;
}

/* Polls the stats of each VM in the poll list once. */
static void poll_stats(struct tui_state *s, struct client **cl)
{
	char names[TUI_POLL_MAX][TUI_NAME_MAX];
	int n;

	tui_state_lock(s);
	n = s->connected ? s->npoll : 0;
	memcpy(names, s->poll, sizeof(names));
	tui_state_unlock(s);
	for (int i = 0; i < n && !tui_state_quitting(s); i++) {
		char *esc = client_escape(names[i]),
		     *path = xasprintf("/v1/vms/%s/stats?flush=0", esc);
		json_t *st = NULL;
		struct err e;

		err_clear(&e);
		if (!*cl && client_open(&s->paths, 0, cl, &e) < 0) {
			free(esc);
			free(path);
			return;
		}
		if (client_call(*cl, "GET", path, NULL, &st, &e) == 0) {
			tui_state_lock(s);
			tui_model_apply_stats(&s->model, st);
			tui_state_unlock(s);
		} else if (e.code == ERR_UNAVAILABLE) {
			client_close(*cl); /* reopened next round */
			*cl = NULL;
		}
		json_decref(st);
		free(esc);
		free(path);
	}
}

static void *stats_thread(void *arg)
{
	struct tui_state *s = arg;
	struct client *cl = NULL;

	/* A first sample soon after start, then every few seconds. */
	while (!tui_state_nap(s, 500)) {
		poll_stats(s, &cl);
		if (tui_state_nap(s, STATS_EVERY_MS - 500))
			break;
	}
	client_close(cl);
	tui_state_unref(s);
	return NULL;
}

static int start(void *(*fn)(void *), struct tui_state *s, struct err *e)
{
	tui_state_ref(s);
	if (tui_thread_start(fn, s, e) < 0) {
		tui_state_unref(s);
		return -1;
	}
	return 0;
}

int tui_conn_start(struct tui_state *s, struct err *e)
{
	if (start(event_thread, s, e) < 0 || start(stats_thread, s, e) < 0)
		return -1;
	return 0;
}
