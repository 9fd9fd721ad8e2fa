/* progress: long requests (vm create, image build) stream JSON lines:
 * {"progress": "..."} while they run, then {"result": ...} or {"error": ...}. */
#include <stdio.h>

#include "cli/cli.h"

static int on_line(void *ctx, json_t *line)
{
	json_t **last = ctx;
	const char *p = json_string_value(json_object_get(line, "progress"));

	if (p) {
		fprintf(stderr, "... %s\n", p);
		return 0;
	}
	json_decref(*last);
	*last = json_incref(line);
	return 0;
}

int cli_stream_request(struct cli *c, const char *path, json_t *body, json_t **result,
		       struct err *e)
{
	struct client *cl = cli_client(c, e);
	json_t *last = NULL, *er;

	if (!cl || client_stream(cl, "POST", path, body, on_line, &last, e) < 0)
		goto fail;
	if (!last) {
		err_set(e, ERR_UNAVAILABLE, "the daemon ended the request without a result");
		err_hint(e, "`banger daemon logs` shows what happened");
		goto fail;
	}
	er = json_object_get(last, "error");
	if (er) {
		client_error_from_json(er, "the request failed", e);
		goto fail;
	}
	*result = json_incref(json_object_get(last, "result"));
	json_decref(last);
	return 0;
fail:
	json_decref(last);
	return -1;
}
