/* cmd_vm: `banger vm ...`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_json.h"
#include "cli/vm_ssh.h"
#include "util/buf.h"
#include "util/size.h"

/* The API path of a VM (its name escaped) plus suffix. */
static char *vm_path(const char *name, const char *suffix)
{
	char *esc = client_escape(name), *p = xasprintf("/v1/vms/%s%s", esc, suffix);

	free(esc);
	return p;
}

static int get_vm(struct cli *c, const char *name, json_t **vm, struct err *e)
{
	struct client *cl = cli_client(c, e);
	char *p;
	int ret;

	if (!cl)
		return -1;
	p = vm_path(name, "");
	ret = client_call(cl, "GET", p, NULL, vm, e);
	free(p);
	return ret;
}

/* "calm-otter: running, 172.30.77.2 (ready in 0.9 s)": the boot time once
 * the guest said it is ready. */
static void print_state_line(const char *name, json_t *vm)
{
	enum vm_state st = cli_vm_state(vm);

	printf("%s: %s", name, cli_str(vm, "state"));
	if (cli_str(vm, "address")[0])
		printf(", %s", cli_str(vm, "address"));
	if (st == VM_STATE_RUNNING && cli_int(vm, "ready_ms") > 0 &&
	    strncmp(cli_str(vm, "resume_note"), "resumed", 7) == 0)
		printf(" (resumed in %.1f s)", (double)cli_int(vm, "ready_ms") / 1000.0);
	else if (st == VM_STATE_RUNNING && cli_int(vm, "ready_ms") > 0)
		printf(" (ready in %.1f s)", (double)cli_int(vm, "ready_ms") / 1000.0);
	else if (st == VM_STATE_SUSPENDED) {
		char size[32];

		cli_fmt_bytes(cli_int(vm, "state_bytes"), size, sizeof(size));
		printf(" (%s of saved state: banger vm start %s resumes it)", size, name);
	}
	else if (st == VM_STATE_STARTING)
		printf(" (the guest is booting: banger vm show %s)", name);
	printf("\n");
}

static void print_created(json_t *vm)
{
	print_state_line(cli_str(vm, "name"), vm);
	if (cli_vm_state(vm) == VM_STATE_RUNNING)
		printf("  ssh:  banger vm ssh %s\n", cli_str(vm, "name"));
	else
		printf("  start: banger vm start %s\n", cli_str(vm, "name"));
	if (cli_str(vm, "last_error")[0])
		printf("  last error: %s\n", cli_str(vm, "last_error"));
}

static int cmd_create(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	static const struct option opts[] = {
	    {"name", required_argument, 0, 'n'},
	    {"image", required_argument, 0, 'i'},
	    {"vcpu", required_argument, 0, 'c'},
	    {"memory", required_argument, 0, 'm'},
	    {"disk-size", required_argument, 0, 'd'},
	    {"nat", no_argument, 0, 'N'},
	    {"no-start", no_argument, 0, 'S'},
	    {"no-wait", no_argument, 0, 'W'},
	    {"vmm", required_argument, 0, 'v'},
	    {"json", no_argument, 0, 'j'},
	    {"publish", required_argument, 0, 'p'},
	    {"suspend-on-stop", no_argument, 0, 'Z'},
	    {0, 0, 0, 0},
	};
	json_t *body = json_object(), *result = NULL, *publish = json_array();
	int o, json = 0, ret = -1;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		char *end;
		long long v;

		switch (o) {
		case 'n':
			if (cli_body_str(body, "name", "--name", optarg, e) < 0)
				goto out;
			break;
		case 'i':
			if (cli_body_str(body, "image", "--image", optarg, e) < 0)
				goto out;
			break;
		case 'c':
		case 'm':
			v = strtoll(optarg, &end, 10);
			if (!*optarg || *end || v <= 0) {
				cli_usage_error(cmd, e,
						"--%s needs a positive whole number, not \"%s\"",
						o == 'c' ? "vcpu" : "memory", optarg);
				goto out;
			}
			json_object_set_new(body, o == 'c' ? "vcpu" : "memory_mib",
					    json_integer(v));
			break;
		case 'd':
			if (cli_body_str(body, "disk_size", "--disk-size", optarg, e) < 0)
				goto out;
			break;
		case 'N':
			json_object_set_new(body, "nat", json_true());
			break;
		case 'S':
			json_object_set_new(body, "no_start", json_true());
			break;
		case 'W':
			json_object_set_new(body, "no_wait", json_true());
			break;
		case 'v':
			if (cli_body_str(body, "vmm", "--vmm", optarg, e) < 0)
				goto out;
			break;
		case 'j':
			json = 1;
			break;
		case 'p':
			json_array_append_new(publish, json_string(optarg));
			break;
		case 'Z':
			json_object_set_new(body, "suspend_on_stop", json_true());
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
	if (json_array_size(publish))
		json_object_set(body, "publish", publish);
	if (cli_stream_request(c, "/v1/vms?stream=1", body, &result, e) < 0)
		goto out;
	if (json)
		cli_print_json(result);
	else
		print_created(result);
	ret = 0;
out:
	json_decref(body);
	json_decref(publish);
	json_decref(result);
	return ret;
}

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

/* `vm list --json`: the daemon's text indented as it stands (cli_json.h),
 * the same bytes cli_print_json would print; parsed only if it is not the
 * shape bangerd sends. */
static int list_json(struct client *cl, struct err *e)
{
	struct buf body = BUF_INIT, out = BUF_INIT;
	const char *vms;
	size_t len;
	json_t *resp;
	int ret = 0;

	if (client_call_text(cl, "GET", "/v1/vms", NULL, &body, e) < 0)
		return -1;
	if (cli_json_member(body.data, body.len, "vms", &vms, &len) == 0 &&
	    cli_json_indent(vms, len, &out) == 0) {
		buf_putc(&out, '\n');
		fwrite(out.data, 1, out.len, stdout);
	} else if ((resp = json_loadb(buf_str(&body), body.len, 0, NULL))) {
		cli_print_json(json_object_get(resp, "vms"));
		json_decref(resp);
	} else {
		ret = err_set(e, ERR_INTERNAL, "the daemon sent a malformed response");
	}
	buf_free(&body);
	buf_free(&out);
	return ret;
}

static int cmd_list(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	struct client *cl;
	json_t *resp = NULL, *vms, *vm;
	size_t i;

	for (int a = 1; a < argc; a++)
		if (strcmp(argv[a], "--json"))
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[a]);
	if (!(cl = cli_client(c, e)))
		return -1;
	if (has_flag(argc, argv, "--json"))
		return list_json(cl, e);
	if (client_call(cl, "GET", "/v1/vms", NULL, &resp, e) < 0)
		return -1;
	vms = json_object_get(resp, "vms");
	printf("%-24s %-9s %-10s %4s %7s %7s %-15s %s\n", "NAME", "STATE", "IMAGE", "VCPU",
	       "MEMORY", "DISK", "ADDRESS", "UPTIME");
	json_array_foreach(vms, i, vm)
	{
		char mem[16], disk[16], up[16];

		cli_fmt_bytes(cli_int(vm, "memory_mib") << 20, mem, sizeof(mem));
		cli_fmt_bytes(cli_int(vm, "disk_size"), disk, sizeof(disk));
		duration_format(cli_int(vm, "uptime_s"), up, sizeof(up));
		printf("%-24s %-9s %-10s %4lld %7s %7s %-15s %s\n", cli_str(vm, "name"),
		       cli_str(vm, "state"), cli_str(vm, "image"), cli_int(vm, "vcpu"), mem, disk,
		       cli_str(vm, "address")[0] ? cli_str(vm, "address") : "-", up);
	}
	if (json_array_size(vms) == 0)
		printf("(no VMs yet: banger vm create --name NAME)\n");
	json_decref(resp);
	return 0;
}

static void show_line(const char *k, const char *v)
{
	printf("%-14s %s\n", k, v && v[0] ? v : "-");
}

static int cmd_show(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *name = NULL;
	json_t *vm = NULL;
	char buf[128], a[16], b[16];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (argv[i][0] == '-' || name)
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[i]);
		name = argv[i];
	}
	if (!name)
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (get_vm(c, name, &vm, e) < 0)
		return -1;
	if (has_flag(argc, argv, "--json")) {
		cli_print_json(vm);
		json_decref(vm);
		return 0;
	}
	show_line("name", cli_str(vm, "name"));
	show_line("id", cli_str(vm, "id"));
	show_line("state", cli_str(vm, "state"));
	if (cli_int(vm, "ready_ms") > 0 && strncmp(cli_str(vm, "resume_note"), "resumed", 7) == 0) {
		snprintf(buf, sizeof(buf), "resumed in %.1f s", (double)cli_int(vm, "ready_ms") / 1000.0);
		show_line("boot", buf);
	} else if (cli_int(vm, "ready_ms") > 0) {
		snprintf(buf, sizeof(buf), "ready in %.1f s (the guest's own figure: %.2f s)",
			 (double)cli_int(vm, "ready_ms") / 1000.0,
			 (double)cli_int(vm, "guest_ready_ms") / 1000.0);
		show_line("boot", buf);
	}
	show_line("image", cli_str(vm, "image"));
	snprintf(buf, sizeof(buf), "%s (%s)", cli_str(vm, "vmm"),
		 cli_str(vm, "accel")[0] ? cli_str(vm, "accel") : "kvm");
	show_line("vmm", strcmp(cli_str(vm, "vmm"), "qemu") == 0 ? buf : cli_str(vm, "vmm"));
	snprintf(buf, sizeof(buf), "%lld", cli_int(vm, "vcpu"));
	show_line("vcpu", buf);
	cli_fmt_bytes(cli_int(vm, "memory_mib") << 20, a, sizeof(a));
	show_line("memory", a);
	show_line("address", cli_str(vm, "address"));
	show_line("dns name", cli_str(vm, "dns_name"));
	show_line("mac", cli_str(vm, "mac"));
	show_line("nat", json_is_true(json_object_get(vm, "nat")) ? "on" : "off");
	{
		json_t *ports = json_object_get(vm, "ports"), *p;
		struct buf pb = BUF_INIT;
		size_t i;

		json_array_foreach(ports, i, p)
			buf_printf(&pb, "%s%s", i ? ", " : "", json_string_value(p));
		show_line("ports", buf_str(&pb));
		buf_free(&pb);
	}
	show_line("on stop", json_is_true(json_object_get(vm, "suspend_on_stop")) ? "suspend"
										   : "shut down");
	if (cli_int(vm, "state_bytes") > 0) {
		cli_fmt_bytes(cli_int(vm, "state_bytes"), a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s (memory and devices; vm start resumes)", a);
		show_line("saved state", buf);
	}
	show_line("last start", cli_str(vm, "resume_note"));
	show_line("autostart", json_is_true(json_object_get(vm, "autostart")) ? "on" : "off");
	if (cli_int(vm, "pid")) {
		snprintf(buf, sizeof(buf), "%lld", cli_int(vm, "pid"));
		show_line("pid", buf);
	}
	duration_format(cli_int(vm, "uptime_s"), buf, sizeof(buf));
	show_line("uptime", buf);
	cli_fmt_bytes(
	    json_integer_value(json_object_get(json_object_get(vm, "overlay"), "allocated_bytes")),
	    a, sizeof(a));
	cli_fmt_bytes(cli_int(vm, "overlay_size"), b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s used of %s", a, b);
	show_line("overlay", buf);
	cli_fmt_bytes(json_integer_value(
			  json_object_get(json_object_get(vm, "work_disk"), "allocated_bytes")),
		      a, sizeof(a));
	cli_fmt_bytes(cli_int(vm, "disk_size"), b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s used of %s", a, b);
	show_line("work disk", buf);
	show_line("directory", cli_str(vm, "dir"));
	show_line("console log", cli_str(vm, "console_log"));
	show_line("last exit", cli_str(vm, "last_exit"));
	show_line("last error", cli_str(vm, "last_error"));
	json_decref(vm);
	return 0;
}

/* start/stop/restart/kill/delete over several names: one line each. */
static int each_name(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		     const char *method, const char *suffix, json_t *body, const char *done,
		     struct err *e)
{
	struct client *cl;
	int failed = 0, n = 0;

	for (int i = 1; i < argc; i++) {
		json_t *vm = NULL;
		struct err one;
		char *p;

		if (argv[i][0] == '-')
			continue;
		n++;
		if (!(cl = cli_client(c, e)))
			return -1;
		err_clear(&one);
		p = vm_path(argv[i], suffix);
		if (client_call(cl, method, p, body, &vm, &one) < 0) {
			cli_print_error("banger", &one);
			failed = 1;
		} else if (done) {
			printf("%s: %s\n", argv[i], done);
		} else {
			print_state_line(argv[i], vm);
		}
		free(p);
		json_decref(vm);
	}
	if (n == 0)
		return cli_usage_error(cmd, e, "give at least one VM name");
	return failed;
}

static int check_opts(const struct cli_cmd *cmd, int argc, char **argv, const char *const *ok,
		      struct err *e)
{
	for (int i = 1; i < argc; i++) {
		int good = argv[i][0] != '-';

		for (const char *const *o = ok; *o && !good; o++)
			good = strcmp(argv[i], *o) == 0;
		if (!good)
			return cli_usage_error(cmd, e, "unknown option %s", argv[i]);
	}
	return 0;
}

static int cmd_power(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	static const char *const none[] = {NULL}, *const wait[] = {"--no-wait", NULL};
	int boots = strcmp(cmd->name, "stop") != 0 && strcmp(cmd->name, "suspend") != 0;
	json_t *body = NULL;
	char suffix[32];
	int ret;

	if (check_opts(cmd, argc, argv, boots ? wait : none, e) < 0)
		return -1;
	if (boots && has_flag(argc, argv, "--no-wait"))
		body = json_pack("{s:b}", "no_wait", 1);
	snprintf(suffix, sizeof(suffix), "/%s", cmd->name);
	ret = each_name(c, cmd, argc, argv, "POST", suffix, body, NULL, e);
	json_decref(body);
	return ret;
}

static int cmd_kill(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	json_t *body = json_object();
	char **names = xcalloc((size_t)argc + 1, sizeof(char *));
	int n = 0, ret;

	names[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--signal") == 0 || strcmp(argv[i], "-s") == 0) {
			if (i + 1 >= argc) {
				ret = cli_usage_error(cmd, e, "--signal needs a value");
				goto out;
			}
			if (cli_body_str(body, "signal", "--signal", argv[++i], e) < 0) {
				ret = -1;
				goto out;
			}
		} else if (strncmp(argv[i], "--signal=", 9) == 0) {
			if (cli_body_str(body, "signal", "--signal", argv[i] + 9, e) < 0) {
				ret = -1;
				goto out;
			}
		} else if (argv[i][0] == '-') {
			ret = cli_usage_error(cmd, e, "unknown option %s", argv[i]);
			goto out;
		} else {
			names[n++] = argv[i];
		}
	}
	ret = each_name(c, cmd, n, names, "POST", "/kill", body, NULL, e);
out:
	free(names);
	json_decref(body);
	return ret;
}

static int cmd_delete(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	static const char *const ok[] = {"--force", "-f", NULL};

	if (check_opts(cmd, argc, argv, ok, e) < 0)
		return -1;
	return each_name(c, cmd, argc, argv, "DELETE",
			 has_flag(argc, argv, "--force") || has_flag(argc, argv, "-f") ? "?force=1"
										       : "",
			 NULL, "deleted", e);
}

static int cmd_set(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	json_t *body = json_object(), *vm = NULL;
	const char *name = NULL;
	struct client *cl;
	char *p = NULL;
	int ret = -1, force = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--nat") || !strcmp(a, "--no-nat")) {
			json_object_set_new(body, "nat", json_boolean(!strcmp(a, "--nat")));
		} else if (!strcmp(a, "--suspend-on-stop") || !strcmp(a, "--no-suspend-on-stop")) {
			json_object_set_new(body, "suspend_on_stop",
					    json_boolean(!strcmp(a, "--suspend-on-stop")));
		} else if (!strcmp(a, "--force")) {
			force = 1;
		} else if (!strcmp(a, "--memory") || !strcmp(a, "--vcpu") ||
			   !strcmp(a, "--disk-size")) {
			char *end;
			long long v;

			if (i + 1 >= argc) {
				cli_usage_error(cmd, e, "%s needs a value", a);
				goto out;
			}
			if (!strcmp(a, "--disk-size")) {
				if (cli_body_str(body, "disk_size", a, argv[++i], e) < 0)
					goto out;
				continue;
			}
			v = strtoll(argv[++i], &end, 10);
			if (!*argv[i] || *end || v <= 0) {
				cli_usage_error(cmd, e,
						"%s needs a positive whole number, not \"%s\"", a,
						argv[i]);
				goto out;
			}
			json_object_set_new(body, !strcmp(a, "--vcpu") ? "vcpu" : "memory_mib",
					    json_integer(v));
		} else if (a[0] == '-' || name) {
			cli_usage_error(cmd, e, "unexpected argument \"%s\"", a);
			goto out;
		} else {
			name = a;
		}
	}
	if (!name) {
		cli_usage_error(cmd, e, "which VM? give its name");
		goto out;
	}
	if (json_object_size(body) == 0) {
		cli_usage_error(cmd, e, "nothing to change");
		goto out;
	}
	if (force)
		json_object_set_new(body, "force", json_true());
	if (!(cl = cli_client(c, e)))
		goto out;
	p = vm_path(name, "");
	if (client_call(cl, "PATCH", p, body, &vm, e) < 0)
		goto out;
	printf("%s: updated (vcpu %lld, memory %lld MiB, disk %lld bytes, nat %s, on stop: %s)\n",
	       name, cli_int(vm, "vcpu"), cli_int(vm, "memory_mib"), cli_int(vm, "disk_size"),
	       json_is_true(json_object_get(vm, "nat")) ? "on" : "off",
	       json_is_true(json_object_get(vm, "suspend_on_stop")) ? "suspend" : "shut down");
	ret = 0;
out:
	free(p);
	json_decref(vm);
	json_decref(body);
	return ret;
}

static int cmd_ssh(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	json_t *vm = NULL, *st = NULL;
	struct client *cl;
	int ret;

	if (argc < 2 || argv[1][0] == '-')
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (argc > 2 && strcmp(argv[2], "--") != 0)
		return cli_usage_error(cmd, e, "put the command after \"--\"");
	if (get_vm(c, argv[1], &vm, e) < 0)
		return -1;
	if (!(cl = cli_client(c, e)) || client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0) {
		json_decref(vm);
		return -1;
	}
	ret = vm_ssh_exec(vm, st, argc > 3 ? argc - 3 : 0, argv + 3, e);
	json_decref(vm);
	json_decref(st);
	return ret;
}

static int cmd_logs(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *name = NULL;
	long lines = 50;
	int follow = 0, ret;
	json_t *vm = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow")) {
			follow = 1;
		} else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--lines")) {
			char *end;

			if (i + 1 >= argc || (lines = strtol(argv[++i], &end, 10)) < 0 || *end)
				return cli_usage_error(cmd, e, "-n needs a number of lines");
		} else if (argv[i][0] == '-' || name) {
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (get_vm(c, name, &vm, e) < 0)
		return -1;
	ret = cli_tail_file(cli_str(vm, "console_log"), lines, follow, e);
	json_decref(vm);
	return ret;
}

static void print_stats(json_t *s)
{
	json_t *o = json_object_get(s, "overlay"), *w = json_object_get(s, "work_disk");
	json_t *m = json_object_get(s, "vmm_metrics");
	char a[16], b[16], c2[16], up[16];

	duration_format(cli_int(s, "uptime_s"), up, sizeof(up));
	printf("%-14s %s (up %s)\n", "state", cli_str(s, "state"), up);
	printf("%-14s %.1f%%\n", "vmm cpu", json_real_value(json_object_get(s, "cpu_percent")));
	cli_fmt_bytes(cli_int(s, "rss_bytes"), a, sizeof(a));
	cli_fmt_bytes(cli_int(s, "memory_mib") << 20, b, sizeof(b));
	printf("%-14s %s resident (guest memory %s, %lld vCPU)\n", "vmm memory", a, b,
	       cli_int(s, "vcpu"));
	cli_fmt_bytes(cli_int(o, "allocated_bytes"), a, sizeof(a));
	cli_fmt_bytes(cli_int(o, "apparent_bytes"), b, sizeof(b));
	printf("%-14s %s allocated of %s\n", "overlay", a, b);
	cli_fmt_bytes(cli_int(w, "allocated_bytes"), a, sizeof(a));
	cli_fmt_bytes(cli_int(w, "apparent_bytes"), c2, sizeof(c2));
	printf("%-14s %s allocated of %s\n", "work disk", a, c2);
	printf("%-14s %s%s\n", "address", cli_str(s, "address")[0] ? cli_str(s, "address") : "-",
	       json_is_true(json_object_get(s, "nat")) ? " (nat)" : "");
	if (json_is_object(m)) {
		const char *k;
		json_t *v;

		json_object_foreach(m, k, v)
		{
			if (!json_is_object(v))
				continue;
			if (!strncmp(k, "block_", 6) || !strncmp(k, "net_", 4))
				printf(
				    "%-14s read %lld B, written %lld B\n", k,
				    (long long)json_integer_value(json_object_get(
					v, strncmp(k, "net", 3) ? "read_bytes" : "rx_bytes_count")),
				    (long long)json_integer_value(json_object_get(
					v,
					strncmp(k, "net", 3) ? "write_bytes" : "tx_bytes_count")));
		}
	}
}

static int cmd_stats(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *name = NULL;
	int json = 0, watch = 0;
	struct client *cl;
	char *p;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--watch") || !strcmp(argv[i], "-w"))
			watch = 1;
		else if (argv[i][0] == '-' || name)
			return cli_usage_error(cmd, e, "unexpected argument \"%s\"", argv[i]);
		else
			name = argv[i];
	}
	if (!name)
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (!(cl = cli_client(c, e)))
		return -1;
	p = vm_path(name, "/stats");
	do {
		json_t *s = NULL;

		if (client_call(cl, "GET", p, NULL, &s, e) < 0) {
			free(p);
			return -1;
		}
		if (watch && !json)
			printf("\033[H\033[2J%s  (every 1 s, ctrl-c to stop)\n\n", name);
		if (json) {
			char *line = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);

			if (watch)
				printf("%s\n", line);
			else
				cli_print_json(s);
			free(line);
		} else {
			print_stats(s);
		}
		fflush(stdout);
		json_decref(s);
		if (watch)
			sleep(1);
	} while (watch);
	free(p);
	return 0;
}

const struct cli_cmd cli_vm_cmds[] = {
    {"vm", "create",
     "[--name N] [--image I] [--vcpu N] [--memory MiB] [--disk-size SIZE] [--nat] [--no-start] "
     "[--no-wait] [--vmm auto|firecracker|qemu] [--publish [ADDR:]HOST:GUEST]... "
     "[--suspend-on-stop] [--json]",
     "create a VM, boot it and wait until its guest is ready",
     "  --name N          DNS-label name (default: a generated adjective-animal)\n"
     "  --image I         base image (default: \"default\", the runtime bundle's)\n"
     "  --vcpu N          virtual CPUs (default 2)\n"
     "  --memory MiB      memory in MiB (default 1024)\n"
     "  --disk-size SIZE  work disk at /root, e.g. 16G (default 16G)\n"
     "  --nat             give the VM outbound internet access through the host\n"
     "  --no-start        create the disks but do not boot\n"
     "  --publish [ADDR:]HOST:GUEST  forward host port HOST (on 127.0.0.1, or ADDR) to\n"
     "                    port GUEST of the VM while it runs; repeatable\n"
     "  --suspend-on-stop vm stop suspends this VM instead of shutting it down\n"
     "  --no-wait         return once the VMM is up (state starting), not when the guest\n"
     "                    is ready; boot_timeout still applies in the background\n"
     "  --vmm V           auto (default), firecracker or qemu\n"
     "  --json            print the VM as JSON\n",
     cmd_create},
    {"vm", "list", "[--json]", "list VMs", "  --json  print JSON\n", cmd_list},
    {"vm", "show", "NAME [--json]", "show everything about a VM", "  --json  print JSON\n",
     cmd_show},
    {"vm", "start", "[--no-wait] NAME...", "boot stopped VMs and wait until their guests are ready",
     "  --no-wait  return once the VMM is up (state starting)\n", cmd_power},
    {"vm", "stop", "NAME...", "shut VMs down (ctrl-alt-del, then SIGTERM, then SIGKILL)", NULL,
     cmd_power},
    {"vm", "suspend", "NAME...",
     "save VMs' memory and devices to disk and end their VMMs (vm start resumes them)", NULL,
     cmd_power},
    {"vm", "restart", "[--no-wait] NAME...", "stop and start VMs",
     "  --no-wait  return once the VMM is up (state starting)\n", cmd_power},
    {"vm", "kill", "[--signal SIG] NAME...", "send a signal to VMs' VMM processes",
     "  --signal SIG  TERM, KILL (default), INT, QUIT, HUP, USR1, USR2, ...\n", cmd_kill},
    {"vm", "delete", "[--force] NAME...", "delete VMs and all their files",
     "  --force  stop a running VM first\n", cmd_delete},
    {"vm", "set",
     "NAME [--memory MiB] [--vcpu N] [--disk-size SIZE] [--nat|--no-nat] "
     "[--suspend-on-stop|--no-suspend-on-stop] [--force]",
     "change a VM's settings (memory, vCPU and disk while stopped)",
     "  --memory MiB      memory in MiB\n"
     "  --vcpu N          virtual CPUs\n"
     "  --disk-size SIZE  grow the work disk (shrinking is refused)\n"
     "  --nat, --no-nat   turn NAT on or off (also while running)\n"
     "  --suspend-on-stop, --no-suspend-on-stop  whether vm stop suspends the VM\n"
     "  --force           a suspended VM: discard its saved state to change memory, vCPU\n"
     "                    or disk (the processes running in it are lost)\n",
     cmd_set},
    {"vm", "ssh", "NAME [-- COMMAND...]", "open a shell (or run a command) in a VM over SSH", NULL,
     cmd_ssh},
    {"vm", "logs", "NAME [-f] [-n LINES]", "print a VM's console and VMM log",
     "  -f, --follow  keep printing new lines\n  -n LINES      lines to print first (default 50)\n",
     cmd_logs},
    {"vm", "stats", "NAME [--json] [--watch]",
     "live figures from the host: VMM CPU and memory, disk usage, I/O counters",
     "  --json        print JSON (one line per sample with --watch)\n"
     "  -w, --watch   refresh every second until interrupted\n",
     cmd_stats},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
