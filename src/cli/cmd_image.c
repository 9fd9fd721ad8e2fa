/* cmd_image: `banger image ...`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/buf.h"

static int cmd_register(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
			struct err *e)
{
	/* option, body key; paths are resolved here: the daemon may run elsewhere. */
	static const char *const paths[][2] = {{"rootfs", "rootfs"},
					       {"kernel", "kernel"},
					       {"initrd", "initrd"},
					       {"modules-dir", "modules_dir"}};
	json_t *body = json_object(), *img = NULL;
	struct client *cl;
	int ret = -1;

	if (argc > 1) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\"", ERR_Q(argv[1]));
		goto out;
	}
	if (!cli_val(c, "name") || !cli_val(c, "rootfs") || !cli_val(c, "kernel")) {
		cli_usage_error(cmd, e, "--name, --rootfs and --kernel are required");
		goto out;
	}
	if (cli_body_str(body, "name", "--name", cli_val(c, "name"), e) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char opt[32];

		snprintf(opt, sizeof(opt), "--%s", paths[i][0]);
		if (cli_val(c, paths[i][0]) &&
		    cli_body_path(body, paths[i][1], opt, cli_val(c, paths[i][0]), e) < 0)
			goto out;
	}
	if (!(cl = cli_client(c, e)) || client_call(cl, "POST", "/v1/images", body, &img, e) < 0)
		goto out;
	if (cli_flag(c, "json"))
		cli_print_json(img);
	else
		printf("%s: registered\n", cli_str(img, "name"));
	ret = 0;
out:
	json_decref(body);
	json_decref(img);
	return ret;
}

static int cmd_list(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct client *cl;
	json_t *resp = NULL, *imgs, *img;
	int json = cli_flag(c, "json");
	size_t i;

	if (argc > 1)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", ERR_Q(argv[1]));
	if (!(cl = cli_client(c, e)) || client_call(cl, "GET", "/v1/images", NULL, &resp, e) < 0)
		return -1;
	imgs = json_object_get(resp, "images");
	if (json) {
		cli_print_json(imgs);
	} else {
		printf("%-20s %8s %-20s %4s\n", "NAME", "SIZE", "CREATED", "VMS");
		json_array_foreach(imgs, i, img)
		{
			char size[16], when[32];
			time_t t = (time_t)cli_int(img, "created_at");
			struct tm tm;

			cli_fmt_bytes(cli_int(img, "size_bytes"), size, sizeof(size));
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
			printf("%-20s %8s %-20s %4lld\n", cli_str(img, "name"), size, when,
			       cli_int(img, "vms"));
		}
		if (json_array_size(imgs) == 0)
			printf(
			    "(no images: run `make runtime-bundle` or `banger image register`)\n");
	}
	json_decref(resp);
	return 0;
}

static int cmd_show(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	int json = cli_flag(c, "json");
	const char *name;
	struct client *cl;
	json_t *img = NULL;
	char *esc, *p;

	if (argc < 2)
		return cli_usage_error(cmd, e, "which image? give its name");
	if (argc > 2)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\" (one image at a time)",
				       ERR_Q(argv[2]));
	name = argv[1];
	if (!(cl = cli_client(c, e)))
		return -1;
	esc = client_escape(name);
	p = xasprintf("/v1/images/%s", esc);
	free(esc);
	if (client_call(cl, "GET", p, NULL, &img, e) < 0) {
		free(p);
		return -1;
	}
	free(p);
	if (json) {
		cli_print_json(img);
	} else {
		const char *k[] = {"name",   "id",     "state",	     "rootfs",
				   "kernel", "initrd", "modules_dir"};

		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
			printf("%-12s %s\n", k[i],
			       cli_str(img, k[i])[0] ? cli_str(img, k[i]) : "-");
		printf("%-12s %lld\n", "vms", cli_int(img, "vms"));
	}
	json_decref(img);
	return 0;
}

static int cmd_delete(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	struct client *cl;
	int failed = 0;

	(void)c;
	if (argc < 2)
		return cli_usage_error(cmd, e, "which image? give its name");
	for (int i = 1; i < argc; i++) {
		char *esc = client_escape(argv[i]), *p = xasprintf("/v1/images/%s", esc);
		json_t *r = NULL;
		struct err one;

		free(esc);
		err_clear(&one);
		if (!(cl = cli_client(c, e))) {
			free(p);
			return -1;
		}
		if (client_call(cl, "DELETE", p, NULL, &r, &one) < 0) {
			cli_print_error("banger", &one);
			failed++;
		} else {
			printf("%s: deleted\n", argv[i]);
		}
		json_decref(r);
		free(p);
	}
	if (failed == 0)
		return CLI_EXIT_OK;
	return failed == argc - 1 ? CLI_EXIT_FAIL : CLI_EXIT_PARTIAL;
}

static const struct cli_opt register_opts[] = {
    {"name", 'n', "NAME", "the image's name (required)", NULL},
    {"rootfs", 0, "FILE", "the ext4 root filesystem (required)", "@file"},
    {"kernel", 0, "FILE", "the uncompressed kernel, vmlinux (required)", "@file"},
    {"initrd", 0, "FILE", "the initrd (default: the runtime bundle's)", "@file"},
    {"modules-dir", 0, "DIR", "kernel modules directory for the guest", "@dir"},
    {"json", 0, NULL, "print the image as JSON (the API object)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt build_opts[] = {
    {"name", 'n', "NAME", "the image's name (required)", NULL},
    {"docker", 0, NULL, "add Debian's docker.io, enabled", NULL},
    {"packages", 0, "FILE", "extra packages, one per line (default: the bundle's packages.apt)",
     "@file"},
    {"suite", 0, "SUITE", "Debian suite (default bookworm)", "bookworm trixie"},
    {"mirror", 0, "URL", "Debian mirror (default: the host's apt mirror)", NULL},
    {"size", 0, "SIZE", "rootfs size, e.g. 2G (default: content + headroom)", NULL},
    {"base-rootfs", 0, "FILE", "start from this ext4 (it must already have every package)",
     "@file"},
    {"json", 0, NULL, "print the image as JSON (the API object)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt json_opts[] = {
    {"json", 0, NULL, "print JSON (the API objects)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_image_cmds[] = {
    {"image", "register", "", "register an image from existing files", NULL, cmd_register,
     register_opts, NULL, 0},
    {"image", "build", "",
     "build a Debian image (from the bundle's base when it has every package, else with "
     "mmdebstrap)",
     NULL, cli_image_build, build_opts, NULL, 0},
    {"image", "list", "", "list images", NULL, cmd_list, json_opts, NULL, 0},
    {"image", "show", "NAME", "show an image", NULL, cmd_show, json_opts, "@images", 0},
    {"image", "delete", "NAME...", "delete images no VM uses", NULL, cmd_delete, no_opts, "@images",
     0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
