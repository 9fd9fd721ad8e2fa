/* tui_action: see tui_action.h. */
#include "tui/tui_action.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "util/buf.h"

/* printf's "%s" must never see NULL (a field missing from an answer). */
static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "?";
}

struct job {
	struct tui_state *s;
	enum tui_action_kind kind;
	char name[TUI_NAME_MAX];
	json_t *body;
};

static const struct {
	const char *verb, *ing, *method, *suffix;
} acts[] = {
    [TUI_ACT_START] = {"start", "starting", "POST", "/start"},
    [TUI_ACT_STOP] = {"stop", "stopping", "POST", "/stop"},
    [TUI_ACT_RESTART] = {"restart", "restarting", "POST", "/restart"},
    [TUI_ACT_SUSPEND] = {"suspend", "suspending", "POST", "/suspend"},
    [TUI_ACT_DELETE] = {"delete", "deleting", "DELETE", "?force=1"},
    [TUI_ACT_CREATE] = {"create", "creating", "POST", ""},
};

static int power(struct job *j, struct client *cl, struct err *e)
{
	char *esc = client_escape(j->name);
	char *path = xasprintf("/v1/vms/%s%s", esc, acts[j->kind].suffix);
	json_t *vm = NULL;
	int ret = client_call(cl, acts[j->kind].method, path, NULL, &vm, e);

	if (ret == 0 && j->kind == TUI_ACT_DELETE)
		tui_state_status(j->s, TUI_STATUS_INFO, "%s: deleted", j->name);
	else if (ret == 0)
		tui_state_status(j->s, TUI_STATUS_INFO, "%s: %s", j->name, str(vm, "state"));
	json_decref(vm);
	free(path);
	free(esc);
	return ret;
}

struct create_ctx {
	struct job *j;
	json_t *result;
};

static int on_progress(void *arg, json_t *line)
{
	struct create_ctx *c = arg;
	const char *p = json_string_value(json_object_get(line, "progress"));

	if (p) {
		tui_state_status(c->j->s, TUI_STATUS_BUSY, "creating %s: %s...",
				 c->j->name[0] ? c->j->name : "a VM", p);
		return 0;
	}
	json_decref(c->result);
	c->result = json_incref(line);
	return 0;
}

static int create(struct job *j, struct client *cl, struct err *e)
{
	struct create_ctx c = {j, NULL};
	json_t *er, *vm;
	int ret = -1;

	if (client_stream(cl, "POST", "/v1/vms?stream=1", j->body, on_progress, &c, e) < 0)
		goto out;
	if ((er = json_object_get(c.result, "error"))) {
		client_error_from_json(er, "failed", e);
		goto out;
	}
	vm = json_object_get(c.result, "result");
	if (!json_is_object(vm)) {
		err_set(e, ERR_UNAVAILABLE, "the daemon ended the request without a result");
		goto out;
	}
	snprintf(j->name, sizeof(j->name), "%s", str(vm, "name"));
	tui_state_lock(j->s);
	/* The event may already be here; if not, select it when it comes. */
	if (!tui_model_select(&j->s->model, j->name))
		snprintf(j->s->select_next, sizeof(j->s->select_next), "%s", j->name);
	tui_state_unlock(j->s);
	tui_state_status(j->s, TUI_STATUS_INFO, "%s: created, %s", j->name, str(vm, "state"));
	ret = 0;
out:
	json_decref(c.result);
	return ret;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct client *cl = NULL;
	struct err e;
	int rc;

	err_clear(&e);
	rc = client_open(&j->s->paths, 0, &cl, &e);
	if (rc == 0)
		rc = j->kind == TUI_ACT_CREATE ? create(j, cl, &e) : power(j, cl, &e);
	if (rc < 0) {
		char what[128];

		snprintf(what, sizeof(what), "%s %s", acts[j->kind].verb,
			 j->name[0] ? j->name : "VM");
		tui_state_error(j->s, what, &e);
	}
	client_close(cl);
	tui_state_lock(j->s);
	j->s->busy = 0;
	tui_state_unlock(j->s);
	tui_state_unref(j->s);
	json_decref(j->body);
	free(j);
	return NULL;
}

int tui_action_start(struct tui_state *s, enum tui_action_kind kind, const char *name, json_t *body)
{
	struct job *j;
	struct err e;
	int busy;

	tui_state_lock(s);
	busy = s->busy;
	s->busy = 1;
	tui_state_unlock(s);
	if (busy) {
		json_decref(body);
		tui_state_status(s, TUI_STATUS_ERROR,
				 "busy: wait for the running action to finish");
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = tui_state_ref(s);
	j->kind = kind;
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
	j->body = body;
	tui_state_status(s, TUI_STATUS_BUSY, "%s %s...", acts[kind].ing,
			 j->name[0] ? j->name : "a VM");
	if (tui_thread_start(worker, j, &e) < 0) {
		tui_state_lock(s);
		s->busy = 0;
		tui_state_unlock(s);
		tui_state_unref(s);
		json_decref(body);
		free(j);
		tui_state_error(s, acts[kind].verb, &e);
		return -1;
	}
	return 0;
}
