/*
 * cmd_vm_port: `banger vm port add|rm|list NAME ...`, a VM's published
 * ports (forwarded by the daemon from the host while the VM runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static char *vm_url(const char *name, const char *rest)
{
	return xasprintf("/v1/vms/%s%s", name, rest);
}

static void print_ports(json_t *vm)
{
	json_t *ports = json_object_get(vm, "ports"), *p;
	size_t i;

	if (json_array_size(ports) == 0) {
		printf("%s publishes no ports (banger vm port add %s 8080:80)\n",
		       cli_str(vm, "name"), cli_str(vm, "name"));
		return;
	}
	printf("%-22s %-10s %s\n", "HOST", "GUEST", "STATE");
	json_array_foreach(ports, i, p)
	{
		const char *s = json_string_value(p), *last = strrchr(s, ':');
		char host[32];

		snprintf(host, sizeof(host), "%.*s", (int)(last - s), s);
		printf("%-22s %-10s %s\n", host, last + 1,
		       cli_vm_state(vm) == VM_STATE_RUNNING ? "forwarded" : "when running");
	}
}

static int cmd_port(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *sub = argc > 1 ? argv[1] : "", *name = argc > 2 ? argv[2] : NULL;
	int json = cli_flag(c, "json"), nargs = 0;
	const char *args[4] = {0};
	struct client *cl;
	json_t *vm = NULL, *body = NULL;
	char *url = NULL, *esc = NULL;
	int ret = -1;

	for (int i = 3; i < argc && nargs < 4; i++)
		args[nargs++] = argv[i];
	if (strcmp(sub, "add") && strcmp(sub, "rm") && strcmp(sub, "list"))
		return cli_usage_error(cmd, e, "say add, rm or list");
	if (!name || name[0] == '-')
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (strcmp(sub, "list") ? nargs != 1 : nargs != 0)
		return cli_usage_error(cmd, e,
				       strcmp(sub, "list") ? "give one port: [ADDR:]HOST:GUEST "
							     "(add) or [ADDR:]HOST (rm)"
							   : "list takes only the VM's name");
	if (!(cl = cli_client(c, e)))
		return -1;
	if (!strcmp(sub, "list")) {
		url = vm_url(name, "");
		if (client_call(cl, "GET", url, NULL, &vm, e) < 0)
			goto out;
	} else if (!strcmp(sub, "add")) {
		body = json_object();
		if (cli_body_str(body, "spec", "port", args[0], e) < 0)
			goto out;
		url = vm_url(name, "/ports");
		if (client_call(cl, "POST", url, body, &vm, e) < 0)
			goto out;
	} else {
		esc = client_escape(args[0]);
		url = xasprintf("/v1/vms/%s/ports?port=%s", name, esc);
		if (client_call(cl, "DELETE", url, NULL, &vm, e) < 0)
			goto out;
	}
	if (json)
		cli_print_json(strcmp(sub, "list") ? vm : json_object_get(vm, "ports"));
	else
		print_ports(vm);
	ret = 0;
out:
	free(url);
	free(esc);
	json_decref(body);
	json_decref(vm);
	return ret;
}

static const struct cli_opt port_opts[] = {
    {"json", 0, NULL, "print the VM (add, rm) or its ports (list) as JSON", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

/* add NAME [ADDR:]HOST:GUEST forwards HOST on 127.0.0.1 (or ADDR) to GUEST in
 * the VM; rm NAME [ADDR:]HOST stops it; list NAME shows them. */
const struct cli_cmd cli_vm_port_cmds[] = {
    {"vm", "port", "add|rm|list NAME [[ADDR:]HOST[:GUEST]]",
     "publish a VM's port on the host's 127.0.0.1 (forwarded while the VM runs)", NULL, cmd_port,
     port_opts, "add rm list", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
