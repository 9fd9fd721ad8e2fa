/*
 * `banger doctor [--json]`: checks the host for what banger needs (see
 * doctor.h). Exit status 0 when no check failed (warnings allowed), 1 when
 * one did. Starts no daemon.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/doctor.h"

static int cmd_doctor(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	struct config cfg = {0};
	struct doctor_env env;
	struct err cerr;
	json_t *list = NULL;
	int as_json = 0, failed = 0, warned = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"",
					       ERR_Q(argv[i]));
	}
	err_clear(&cerr);
	/* A broken config file is one failed check, not the end: the others run
	 * with the defaults. */
	if (config_load(&cfg, &c->paths, &cerr) < 0) {
		config_free(&cfg);
		memset(&cfg, 0, sizeof(cfg));
		config_defaults(&cfg);
	}
	doctor_env_init(&env, &c->paths, &cfg);
	if (cerr.msg[0])
		env.config_error = cerr.msg;
	if (as_json)
		list = json_array();
	for (const struct doctor_check *k = doctor_checks; k->name; k++) {
		struct doctor_result r = {.status = DOCTOR_OK};

		k->fn(&env, &r);
		failed += r.status == DOCTOR_FAIL;
		warned += r.status == DOCTOR_WARN;
		if (as_json) {
			json_t *o = json_object();

			json_object_set_new(o, "name", json_string(k->name));
			json_object_set_new(o, "status",
					    json_string(r.status == DOCTOR_OK	  ? "ok"
							: r.status == DOCTOR_WARN ? "warn"
										  : "fail"));
			json_object_set_new(o, "detail", json_string(r.detail));
			json_object_set_new(o, "fix",
					    json_string(r.status == DOCTOR_OK ? "" : r.fix));
			json_array_append_new(list, o);
			continue;
		}
		printf("%-4s  %-17s %s\n", doctor_status_name(r.status), k->name, r.detail);
		if (r.status != DOCTOR_OK && r.fix[0])
			printf("      %-17s fix: %s\n", "", r.fix);
		fflush(stdout);
	}
	if (as_json) {
		json_t *root = json_object();

		json_object_set_new(root, "checks", list);
		json_object_set_new(root, "ok", json_boolean(!failed));
		cli_print_json(root);
		json_decref(root);
	} else {
		printf("\n%s: %d failed, %d warning%s\n",
		       failed ? "doctor: problems found" : "doctor: ok", failed, warned,
		       warned == 1 ? "" : "s");
	}
	doctor_env_free(&env);
	config_free(&cfg);
	return failed ? 1 : 0;
}

const struct cli_cmd cli_doctor_cmds[] = {
    {NULL, "doctor", "[--json]",
     "check the host for what banger needs, with a fix for each problem",
     "  --json   print {\"checks\": [{name, status, detail, fix}], \"ok\": bool}\n"
     "Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed.\n",
     cmd_doctor},
    {0},
};
