/*
 * cmd_vm_mount: `banger vm mount NAME HOSTDIR [GUESTPATH] [--ro]` and
 * `banger vm umount NAME PATH`: a VM's shared host directories (mounted
 * in the guest over its SSH connection while it runs, daemon/shares.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "share/share_spec.h"
#include "util/buf.h"

/* HOSTDIR as the daemon takes it: absolute and resolved from here. */
static int host_abs(const char *dir, char *out, size_t len, struct err *e)
{
	char real[PATH_MAX];

	if (!realpath(dir, real)) {
		err_errno(e, errno, "host directory %s", dir);
		return err_hint(e, "give a directory that exists on this host"), -1;
	}
	if (strlen(real) >= len)
		return err_set(e, ERR_INVALID, "host directory %s is too long", real);
	strcpy(out, real);
	return 0;
}

int cli_mount_specs(const char *specs, json_t *arr, struct err *e)
{
	for (const char *p = specs; p && *p;) {
		size_t n = strcspn(p, "\n");
		char *one = strndup(p, n), host[SHARE_PATH_MAX];
		struct share_spec s;
		struct buf b = BUF_INIT;
		json_t *str;
		int rc = share_spec_parse(one, &s, e);

		free(one);
		if (rc < 0 || host_abs(s.host, host, sizeof(host), e) < 0)
			return err_wrap(e, "--mount");
		buf_puts(&b, host);
		if (s.guest[0])
			buf_printf(&b, ":%s", s.guest);
		if (s.ro)
			buf_puts(&b, ":ro");
		str = json_string(buf_str(&b));
		buf_free(&b);
		if (!str)
			return err_set(e, ERR_INVALID, "--mount is not valid UTF-8 text");
		json_array_append_new(arr, str);
		p += n + (p[n] == '\n');
	}
	return 0;
}

void cli_print_mounts(json_t *vm)
{
	json_t *mounts = json_object_get(vm, "mounts"), *m;
	size_t i;

	if (json_array_size(mounts) == 0) {
		printf("%-14s %s\n", "mounts", "-");
		return;
	}
	json_array_foreach(mounts, i, m)
	{
		const char *st = cli_str(m, "state"), *err = cli_str(m, "error");

		printf("%-14s %s -> %s%s%s%s%s%s\n", i ? "" : "mounts", cli_str(m, "host"),
		       cli_str(m, "guest"), json_is_true(json_object_get(m, "ro")) ? " (ro)" : "",
		       st[0] ? ", " : "", st, err[0] ? ": " : "", err);
	}
}

void cli_warn_mounts(json_t *vm)
{
	json_t *mounts = json_object_get(vm, "mounts"), *m;
	size_t i;

	if (cli_vm_state(vm) != VM_STATE_RUNNING)
		return;
	json_array_foreach(mounts, i, m)
	{
		if (!strcmp(cli_str(m, "state"), "mounted"))
			continue;
		fprintf(stderr, "warning: %s: share %s at %s is %s%s%s (see %s/share.log)\n",
			cli_str(vm, "name"), cli_str(m, "host"), cli_str(m, "guest"),
			cli_str(m, "state"), cli_str(m, "error")[0] ? ": " : "",
			cli_str(m, "error"), cli_str(vm, "dir"));
	}
}

/* The answer of vm mount / umount: the VM, or its shares. */
static void print_answer(struct cli *c, json_t *vm)
{
	if (cli_flag(c, "json"))
		cli_print_json(vm);
	else
		cli_print_mounts(vm);
}

static int cmd_mount(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	char host[SHARE_PATH_MAX];
	json_t *body, *vm = NULL;
	struct client *cl;
	char *url;
	int ret = -1;

	if (argc < 3 || argc > 4)
		return cli_usage_error(cmd, e,
				       "give the VM's name, a host directory and, "
				       "optionally, the guest path");
	if (host_abs(argv[2], host, sizeof(host), e) < 0)
		return err_wrap(e, "vm mount %s", argv[1]);
	if (argc == 4 && share_guest_path_check(argv[3], e) < 0)
		return err_wrap(e, "vm mount %s", argv[1]);
	if (!(cl = cli_client(c, e)))
		return -1;
	body = json_object();
	json_object_set_new(body, "host", json_string(host));
	if (argc == 4)
		json_object_set_new(body, "guest", json_string(argv[3]));
	if (cli_flag(c, "ro"))
		json_object_set_new(body, "ro", json_true());
	url = xasprintf("/v1/vms/%s/mounts", argv[1]);
	if (!json_object_get(body, "host") || (argc == 4 && !json_object_get(body, "guest"))) {
		err_set(e, ERR_INVALID, "vm mount %s: a path is not valid UTF-8 text", argv[1]);
		goto out;
	}
	if (client_call(cl, "POST", url, body, &vm, e) < 0)
		goto out;
	print_answer(c, vm);
	ret = 0;
out:
	free(url);
	json_decref(body);
	json_decref(vm);
	return ret;
}

static int cmd_umount(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	char host[SHARE_PATH_MAX], *url, *esc;
	const char *which;
	json_t *vm = NULL;
	struct client *cl;
	struct err ignore;
	int ret = -1;

	if (argc != 3)
		return cli_usage_error(cmd, e,
				       "give the VM's name and the share's guest path or "
				       "host directory");
	/* A host directory may be given as it is typed here ("."). */
	which = argv[2][0] != '/' && host_abs(argv[2], host, sizeof(host), &ignore) == 0 ? host
											 : argv[2];
	if (!(cl = cli_client(c, e)))
		return -1;
	esc = client_escape(which);
	url = xasprintf("/v1/vms/%s/mounts?path=%s", argv[1], esc);
	if (client_call(cl, "DELETE", url, NULL, &vm, e) < 0)
		goto out;
	print_answer(c, vm);
	ret = 0;
out:
	free(url);
	free(esc);
	json_decref(vm);
	return ret;
}

static const struct cli_opt mount_opts[] = {
    {"ro", 0, NULL, "the guest may read the share but not write to it", NULL},
    {"json", 0, NULL, "print the VM as JSON", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt umount_opts[] = {
    {"json", 0, NULL, "print the VM as JSON", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_vm_mount_cmds[] = {
    {"vm", "mount", "NAME HOSTDIR [GUESTPATH]",
     "share a host directory with a VM (mounted now if it runs, and at every boot)", NULL,
     cmd_mount, mount_opts, "@vms", 0},
    {"vm", "umount", "NAME GUESTPATH|HOSTDIR", "stop sharing a directory with a VM", NULL,
     cmd_umount, umount_opts, "@vms", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
