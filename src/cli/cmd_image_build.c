/*
 * cmd_image_build: `banger image build`, which asks the daemon to build a
 * Debian image with mmdebstrap and shows its progress as it goes.
 *
 * Paths are resolved here (the daemon may have another working directory).
 * Progress goes to stderr, the result to stdout; Ctrl-C stops only the
 * watching: the daemon finishes the build (see `banger image list`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"

int cli_image_build(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	/* option, body key, 1 if a path (resolved here) */
	static const struct {
		const char *opt, *key;
		int path;
	} vals[] = {
	    {"name", "name", 0},   {"packages", "packages_file", 1},
	    {"suite", "suite", 0}, {"mirror", "mirror", 0},
	    {"size", "size", 0},   {"base-rootfs", "base_rootfs", 1},
	};
	json_t *body = json_object(), *result = NULL, *img;
	int json = cli_flag(c, "json"), ret = -1;

	if (argc > 1) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\" (give the name with --name)",
				ERR_Q(argv[1]));
		goto out;
	}
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		const char *v = cli_val(c, vals[i].opt);
		char opt[32];

		snprintf(opt, sizeof(opt), "--%s", vals[i].opt);
		if (v && (vals[i].path ? cli_body_path(body, vals[i].key, opt, v, e)
				       : cli_body_str(body, vals[i].key, opt, v, e)) < 0)
			goto out;
	}
	if (cli_flag(c, "docker"))
		json_object_set_new(body, "docker", json_true());
	if (!json_object_get(body, "name")) {
		cli_usage_error(cmd, e, "--name is required");
		goto out;
	}
	if (cli_stream_request(c, "/v1/images/build?stream=1", body, &result, e) < 0)
		goto out;
	img = result;
	if (json) {
		cli_print_json(img);
	} else {
		char size[16];

		cli_fmt_bytes((long long)json_integer_value(json_object_get(img, "size_bytes")),
			      size, sizeof(size));
		printf("%s: built (%s, %s)\n  create a VM: banger vm create --image %s\n",
		       cli_str(img, "name"), size, cli_str(img, "rootfs"), cli_str(img, "name"));
	}
	ret = 0;
out:
	json_decref(body);
	json_decref(result);
	return ret;
}
