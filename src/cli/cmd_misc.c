/* cmd_misc: top-level commands (`banger ssh-config`). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/vm_ssh.h"
#include "util/buf.h"

static int cmd_ssh_config(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
			  struct err *e)
{
	struct client *cl;
	json_t *st = NULL, *resp = NULL, *vm;
	size_t i;

	if (argc > 1)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[1]);
	if (!(cl = cli_client(c, e)) || client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0 ||
	    client_call(cl, "GET", "/v1/vms", NULL, &resp, e) < 0) {
		json_decref(st);
		return -1;
	}
	printf("# banger VMs. Save this output to a file and add `Include FILE` to "
	       "~/.ssh/config.\n\n");
	json_array_foreach(json_object_get(resp, "vms"), i, vm) vm_ssh_config_block(vm, st);
	json_decref(st);
	json_decref(resp);
	return 0;
}

static int cmd_tui(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	char exe[PATH_MAX], *tui = NULL, *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	(void)c;
	if (argc > 1)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[1]);
	/* banger-tui next to this binary (as installed and built), else PATH.
	 * It is told which banger to run for `vm ssh`: this one. */
	if (n > 0) {
		exe[n] = '\0';
		setenv("BANGER_CLI", exe, 1);
		slash = strrchr(exe, '/');
		if (slash) {
			tui = xasprintf("%.*s/banger-tui", (int)(slash - exe), exe);
			if (access(tui, X_OK) == 0)
				execv(tui, (char *[]){tui, NULL});
			free(tui);
		}
	}
	execvp("banger-tui", (char *[]){"banger-tui", NULL});
	err_errno(e, errno, "cannot start banger-tui");
	err_hint(e, "it is installed next to banger (make install); reinstall banger");
	return -1;
}

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_misc_cmds[] = {
    {NULL, "tui", "", "the terminal UI: a live table of VMs with start/stop/ssh/logs keys", NULL,
     cmd_tui, no_opts, NULL, 0},
    {NULL, "ssh-config", "", "print ssh_config Host blocks for all VMs (for editors' remote SSH)",
     NULL, cmd_ssh_config, no_opts, NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
