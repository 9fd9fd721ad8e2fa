/*
 * cmd_image_build: `banger image build`, which asks the daemon to build a
 * Debian image with mmdebstrap and shows its progress as it goes.
 *
 * Paths are resolved here (the daemon may have another working directory).
 * Progress goes to stderr, the result to stdout; Ctrl-C stops only the
 * watching: the daemon finishes the build (see `banger image list`).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/buf.h"


int cli_image_build(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
	    {"name", required_argument, 0, 'n'},
	    {"docker", no_argument, 0, 'D'},
	    {"packages", required_argument, 0, 'p'},
	    {"suite", required_argument, 0, 's'},
	    {"mirror", required_argument, 0, 'm'},
	    {"size", required_argument, 0, 'z'},
	    {"base-rootfs", required_argument, 0, 'b'},
	    {"json", no_argument, 0, 'j'},
	    {0, 0, 0, 0},
	};
	json_t *body = json_object(), *result = NULL, *img;
	int o, json = 0, ret = -1;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (cli_body_str(body, "name", "--name", optarg, e) < 0)
				goto out;
			break;
		case 'D':
			json_object_set_new(body, "docker", json_true());
			break;
		case 'p':
			if (cli_body_path(body, "packages_file", "--packages", optarg, e) < 0)
				goto out;
			break;
		case 's':
			if (cli_body_str(body, "suite", "--suite", optarg, e) < 0)
				goto out;
			break;
		case 'm':
			if (cli_body_str(body, "mirror", "--mirror", optarg, e) < 0)
				goto out;
			break;
		case 'z':
			if (cli_body_str(body, "size", "--size", optarg, e) < 0)
				goto out;
			break;
		case 'b':
			if (cli_body_path(body, "base_rootfs", "--base-rootfs", optarg, e) < 0)
				goto out;
			break;
		case 'j':
			json = 1;
			break;
		default:
			cli_usage_error(cmd, e, "unknown option %s", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\" (give the name with --name)",
				argv[optind]);
		goto out;
	}
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
