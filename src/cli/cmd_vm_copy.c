/*
 * cmd_vm_copy: `banger vm clone SRC NEW` and `banger vm snapshot
 * create|list|restore|delete NAME [TAG]`: copies of a VM's disks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

/* The positionals after the command (the parser took the options). */
static int words(const struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		 const char **w, int max, int *json, struct err *e)
{
	int n = 0;

	*json = cli_flag(c, "json");
	for (int i = 1; i < argc; i++) {
		if (n >= max)
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"",
					       ERR_Q(argv[i]));
		w[n++] = argv[i];
	}
	return n;
}

static int cmd_clone(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *w[2];
	int json, n = words(c, cmd, argc, argv, w, 2, &json, e), ret = -1;
	struct client *cl;
	json_t *body = NULL, *vm = NULL;
	char *esc = NULL, *url = NULL;

	if (n < 0)
		return -1;
	if (n != 2)
		return cli_usage_error(cmd, e, "give the VM to clone and the new VM's name");
	if (!(cl = cli_client(c, e)))
		return -1;
	body = json_object();
	if (cli_body_str(body, "name", "NEW", w[1], e) < 0)
		goto out;
	esc = client_escape(w[0]);
	url = xasprintf("/v1/vms/%s/clone", esc);
	if (client_call(cl, "POST", url, body, &vm, e) < 0)
		goto out;
	if (json)
		cli_print_json(vm);
	else
		printf("%s: cloned from %s (stopped, %s; start it: banger vm start %s)\n",
		       cli_str(vm, "name"), w[0], cli_str(vm, "address"), cli_str(vm, "name"));
	ret = 0;
out:
	json_decref(body);
	json_decref(vm);
	free(esc);
	free(url);
	return ret;
}

static int cmd_snapshot(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
			struct err *e)
{
	const char *w[3];
	int json, n = words(c, cmd, argc, argv, w, 3, &json, e), ret = -1;
	struct client *cl;
	json_t *body = NULL, *res = NULL;
	char *esc = NULL, *tag = NULL, *url = NULL;
	const char *sub;

	if (n < 0)
		return -1;
	if (n < 2)
		return cli_usage_error(cmd, e, "say create, list, restore or delete, and the VM");
	sub = w[0];
	if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "restore") &&
	    strcmp(sub, "delete"))
		return cli_usage_error(cmd, e, "say create, list, restore or delete, not \"%s\"",
				       sub);
	if ((!strcmp(sub, "restore") || !strcmp(sub, "delete")) && n != 3)
		return cli_usage_error(cmd, e, "%s needs the snapshot's tag", sub);
	if (!strcmp(sub, "list") && n != 2)
		return cli_usage_error(cmd, e, "list takes only the VM's name");
	if (!(cl = cli_client(c, e)))
		return -1;
	esc = client_escape(w[1]);
	tag = n == 3 ? client_escape(w[2]) : NULL;
	if (!strcmp(sub, "create")) {
		body = json_object();
		if (n == 3 && cli_body_str(body, "tag", "TAG", w[2], e) < 0)
			goto out;
		url = xasprintf("/v1/vms/%s/snapshots", esc);
		if (client_call(cl, "POST", url, body, &res, e) < 0)
			goto out;
		if (!json)
			printf("%s: snapshot %s taken (%lld bytes copied%s)\n", w[1],
			       cli_str(res, "tag"), cli_int(res, "bytes_copied"),
			       json_is_true(json_object_get(res, "suspended"))
				   ? ", with its saved memory state"
				   : "");
	} else if (!strcmp(sub, "list")) {
		json_t *s;
		size_t i;

		url = xasprintf("/v1/vms/%s/snapshots", esc);
		if (client_call(cl, "GET", url, NULL, &res, e) < 0)
			goto out;
		if (!json) {
			json_t *arr = json_object_get(res, "snapshots");

			if (json_array_size(arr) == 0)
				printf("%s has no snapshots (banger vm snapshot create %s TAG)\n",
				       w[1], w[1]);
			else
				printf("%-24s %-20s %-10s %s\n", "TAG", "CREATED", "SIZE",
				       "MEMORY");
			json_array_foreach(arr, i, s)
			{
				char when[32], size[32];
				time_t t = (time_t)cli_int(s, "created_at");
				struct tm tm;

				localtime_r(&t, &tm);
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
				cli_fmt_bytes(cli_int(s, "allocated_bytes"), size, sizeof(size));
				printf("%-24s %-20s %-10s %s\n", cli_str(s, "tag"), when, size,
				       json_is_true(json_object_get(s, "suspended")) ? "saved"
										     : "-");
			}
		}
	} else if (!strcmp(sub, "restore")) {
		url = xasprintf("/v1/vms/%s/snapshots/restore?tag=%s", esc, tag);
		if (client_call(cl, "POST", url, NULL, &res, e) < 0)
			goto out;
		if (!json)
			printf("%s: restored from snapshot %s (%s)\n", w[1], w[2],
			       cli_str(res, "state"));
	} else {
		url = xasprintf("/v1/vms/%s/snapshots?tag=%s", esc, tag);
		if (client_call(cl, "DELETE", url, NULL, &res, e) < 0)
			goto out;
		if (!json)
			printf("%s: snapshot %s deleted\n", w[1], w[2]);
	}
	if (json)
		cli_print_json(res);
	ret = 0;
out:
	json_decref(body);
	json_decref(res);
	free(esc);
	free(tag);
	free(url);
	return ret;
}

static const struct cli_opt clone_opts[] = {
    {"json", 0, NULL, "print the new VM as JSON", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt snapshot_opts[] = {
    {"json", 0, NULL, "print the answer as JSON", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

/* snapshot: create NAME [TAG] copies the VM's disks (and a suspended VM's
 * memory state); list NAME; restore NAME TAG (refused while it runs);
 * delete NAME TAG. */
const struct cli_cmd cli_vm_copy_cmds[] = {
    {"vm", "clone", "SRC NEW",
     "a new VM from a stopped or suspended one: copies of its disks, its own identity", NULL,
     cmd_clone, clone_opts, "@vms", 0},
    {"vm", "snapshot", "create|list|restore|delete NAME [TAG]",
     "disk checkpoints of a stopped or suspended VM (create NAME [TAG], list NAME, restore "
     "NAME TAG, delete NAME TAG)",
     NULL, cmd_snapshot, snapshot_opts, "create list restore delete", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
