/*
 * banger-bundle: the runtime bundle tool behind `make runtime-bundle`.
 *
 *	banger-bundle fetch MANIFEST DESTDIR   download, check, unpack, swap in
 *	banger-bundle verify DESTDIR           check files against bundle.json
 *	banger-bundle info DESTDIR             print the bundle's resolved paths
 *
 * Exit status: 0 on success, 1 on failure (the message is on stderr), 2 on
 * bad usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_fetch.h"
#include "bundle/bundle_info.h"
#include "bundle/bundle_manifest.h"

struct command {
	const char *name;
	const char *args;
	int nargs;
	int (*run)(char **argv, struct err *e);
	const char *help;
};

static int cmd_fetch(char **argv, struct err *e)
{
	struct bundle_progress progress = {STDERR_FILENO, isatty(STDERR_FILENO)};
	struct bundle_manifest m;
	int rc;

	if (bundle_manifest_load(argv[0], &m, e) < 0)
		return -1;
	fprintf(stderr, "fetching %s\n", m.url);
	rc = bundle_fetch(&m, argv[1], &progress, e);
	if (rc == 0)
		printf("runtime bundle installed in %s (sha256 %s)\n", argv[1], m.sha256);
	bundle_manifest_free(&m);
	return rc;
}

static int cmd_verify(char **argv, struct err *e)
{
	size_t n;

	if (bundle_info_verify(argv[0], &n, e) < 0)
		return -1;
	printf("%s: all %zu files match bundle.json\n", argv[0], n);
	return 0;
}

static void print_field(const char *key, const char *val)
{
	printf("%s=%s\n", key, val ? val : "");
}

static int cmd_info(char **argv, struct err *e)
{
	struct bundle_info bi;

	if (bundle_info_load(argv[0], &bi, e) < 0)
		return -1;
	print_field("dir", bi.dir);
	print_field("kernel_version", bi.kernel_version);
	print_field("kernel", bi.kernel);
	print_field("initrd", bi.initrd);
	print_field("modules_dir", bi.modules_dir);
	print_field("rootfs", bi.rootfs);
	print_field("packages", bi.packages);
	print_field("firecracker", bi.firecracker);
	bundle_info_free(&bi);
	return 0;
}

static const struct command commands[] = {
    {"fetch", "MANIFEST DESTDIR", 2, cmd_fetch,
     "download the bundle named in MANIFEST, check its sha256, install it as DESTDIR"},
    {"verify", "DESTDIR", 1, cmd_verify, "check every file against bundle.json's sha256"},
    {"info", "DESTDIR", 1, cmd_info, "print the kernel, initrd, rootfs, ... paths"},
};

static int usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  banger-bundle %s %s\n      %s\n", commands[i].name, commands[i].args,
			commands[i].help);
	return 2;
}

int main(int argc, char **argv)
{
	char msg[ERR_MSG_MAX + 2 * ERR_AUX_MAX + 32];
	struct err e;
	int rc = -1;

	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout), 0;
	err_clear(&e);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		if (argc - 2 != commands[i].nargs)
			return usage(stderr);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = commands[i].run(argv + 2, &e);
		curl_global_cleanup();
		if (rc < 0) {
			err_format(&e, msg, sizeof(msg));
			fprintf(stderr, "banger-bundle: %s\n", msg);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "banger-bundle: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
