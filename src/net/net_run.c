/* net_run: see net_run.h. */
#include "net/net_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/spawn.h"

/* The line of a tool's output that says what went wrong: nft prints
 * "Error: ..." followed by the offending input and a caret line, so the last
 * line is useless there; ip prints one line. */
static void error_line(const char *out, char *line, size_t len)
{
	const char *p = strstr(out, "Error:");
	const char *end;

	if (!p) {
		size_t n = strlen(out);

		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			n--;
		for (p = out + n; p > out && p[-1] != '\n'; p--)
			;
	}
	end = strchr(p, '\n');
	snprintf(line, len, "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
}

/* "ip link add name banger0 type bridge" for messages. */
static char *argv_join(const char *const argv[])
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; argv[i]; i++) {
		if (i)
			buf_putc(&b, ' ');
		buf_puts(&b, argv[i]);
	}
	return buf_steal(&b);
}

static int failed(const char *const argv[], const struct spawn_result *r, const char *log_path,
		  struct err *e)
{
	char line[512];
	char *cmd = argv_join(argv);

	error_line(r->out ? r->out : r->tail, line, sizeof(line));
	if (line[0])
		err_set(e, ERR_IO, "%s: %s", cmd, line);
	else
		err_set(e, ERR_IO, "%s: exit status %d", cmd, r->status);
	if (log_path)
		err_log(e, log_path);
	free(cmd);
	return -1;
}

int net_run(const char *const argv[], const char *stdin_data, const char *log_path, struct err *e)
{
	struct spawn_opts o = {.log_path = log_path, .stdin_data = stdin_data, .capture = 1};
	struct spawn_result r;
	int rc = 0;

	if (spawn_run(argv, &o, &r, e) < 0)
		return -1;
	if (r.status != 0)
		rc = failed(argv, &r, log_path, e);
	free(r.out);
	return rc;
}

int net_run_json(const char *const argv[], const char *absent, json_t **out, struct err *e)
{
	struct spawn_opts o = {.capture = 1};
	struct spawn_result r;
	json_error_t je;
	int rc = -1;

	*out = NULL;
	if (spawn_run(argv, &o, &r, e) < 0)
		return -1;
	if (r.status != 0) {
		if (absent && r.out && strstr(r.out, absent))
			rc = 0;
		else
			failed(argv, &r, NULL, e);
		goto done;
	}
	/* Some tools print nothing at all for an empty list. */
	if (!r.out || strspn(r.out, " \n") == strlen(r.out)) {
		*out = json_array();
		rc = 0;
		goto done;
	}
	*out = json_loads(r.out, JSON_DECODE_ANY, &je);
	if (!*out) {
		err_set(e, ERR_INTERNAL, "%s %s: unreadable JSON output: %s", argv[0], argv[1],
			je.text);
		goto done;
	}
	rc = 0;
done:
	free(r.out);
	return rc;
}
