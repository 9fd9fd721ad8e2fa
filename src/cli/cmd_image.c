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
	static const char *const keys[] = {"--name",   "--rootfs",	"--kernel",
					   "--initrd", "--modules-dir", NULL};
	json_t *body = json_object(), *img = NULL;
	struct client *cl;
	int ret = -1;

	for (int i = 1; i < argc; i++) {
		int known = 0;

		for (const char *const *k = keys; *k; k++) {
			if (strcmp(argv[i], *k) == 0) {
				char key[32];

				if (i + 1 >= argc) {
					cli_usage_error(cmd, e, "%s needs a value", *k);
					goto out;
				}
				snprintf(key, sizeof(key), "%s", *k + 2);
				for (char *p = key; *p; p++)
					if (*p == '-')
						*p = '_';
				/* Paths are resolved here: the daemon may run elsewhere. */
				if ((strcmp(*k, "--name") == 0
					 ? cli_body_str(body, key, *k, argv[++i], e)
					 : cli_body_path(body, key, *k, argv[++i], e)) < 0)
					goto out;
				known = 1;
			}
		}
		if (!known) {
			cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[i]);
			goto out;
		}
	}
	if (!json_object_get(body, "name") || !json_object_get(body, "rootfs") ||
	    !json_object_get(body, "kernel")) {
		cli_usage_error(cmd, e, "--name, --rootfs and --kernel are required");
		goto out;
	}
	if (!(cl = cli_client(c, e)) || client_call(cl, "POST", "/v1/images", body, &img, e) < 0)
		goto out;
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
	int json = argc > 1 && strcmp(argv[1], "--json") == 0;
	size_t i;

	if (argc > 2 || (argc == 2 && !json))
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[argc - 1]);
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
	const char *name = NULL;
	int json = 0;
	struct client *cl;
	json_t *img = NULL;
	char *esc, *p;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' || name)
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[i]);
		else
			name = argv[i];
	}
	if (!name)
		return cli_usage_error(cmd, e, "which image? give its name");
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
			failed = 1;
		} else {
			printf("%s: deleted\n", argv[i]);
		}
		json_decref(r);
		free(p);
	}
	return failed;
}

const struct cli_cmd cli_image_cmds[] = {
    {"image", "register",
     "--name N --rootfs FILE --kernel FILE [--initrd FILE] [--modules-dir DIR]",
     "register an image from existing files", NULL, cmd_register},
    {"image", "build",
     "--name N [--docker] [--packages FILE] [--suite SUITE] [--mirror URL] [--size SIZE] "
     "[--base-rootfs FILE]",
     "build a Debian image (from the bundle's base when it has every package, else with "
     "mmdebstrap)",
     "  --name N          the image's name\n"
     "  --docker          add Debian's docker.io, enabled\n"
     "  --packages FILE   extra packages, one per line (default: the bundle's packages.apt)\n"
     "  --suite SUITE     Debian suite (default bookworm)\n"
     "  --mirror URL      Debian mirror (default: the host's apt mirror)\n"
     "  --size SIZE       rootfs size, e.g. 2G (default: content + headroom)\n"
     "  --base-rootfs F   start from this ext4 (it must already have every package)\n"
     "  --json            print the image as JSON\n",
     cli_image_build},
    {"image", "list", "[--json]", "list images", "  --json  print JSON\n", cmd_list},
    {"image", "show", "NAME [--json]", "show an image", "  --json  print JSON\n", cmd_show},
    {"image", "delete", "NAME...", "delete images no VM uses", NULL, cmd_delete},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
