/* cmd_vm: `banger vm ...`. */
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
	} else if (st == VM_STATE_STARTING)
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
	cli_warn_mounts(vm);
}

/* Sets body[key] from the string option name, when given. */
static int body_opt(struct cli *c, json_t *body, const char *key, const char *name, struct err *e)
{
	const char *v = cli_val(c, name);
	char opt[64];

	snprintf(opt, sizeof(opt), "--%s", name);
	return v ? cli_body_str(body, key, opt, v, e) : 0;
}

/* Sets body[key] from the positive number option name, when given. */
static int body_num(struct cli *c, const struct cli_cmd *cmd, json_t *body, const char *key,
		    const char *name, struct err *e)
{
	long long v;
	int rc = cli_val_posint(c, cmd, name, &v, e);

	if (rc > 0)
		json_object_set_new(body, key, json_integer(v));
	return rc < 0 ? -1 : 0;
}

static int cmd_create(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	static const char *const flags[][2] = {{"nat", "nat"},
					       {"no-start", "no_start"},
					       {"no-wait", "no_wait"},
					       {"autostart", "autostart"},
					       {"suspend-on-stop", "suspend_on_stop"}};
	json_t *body = json_object(), *result = NULL, *publish = json_array();
	const char *pub = cli_val(c, "publish");
	int ret = -1;

	if (argc > 1) {
		cli_usage_error(cmd, e, "unexpected argument \"%s\" (give the name with --name)",
				ERR_Q(argv[1]));
		goto out;
	}
	if (body_opt(c, body, "name", "name", e) < 0 ||
	    body_opt(c, body, "image", "image", e) < 0 ||
	    body_num(c, cmd, body, "vcpu", "vcpu", e) < 0 ||
	    body_num(c, cmd, body, "memory_mib", "memory", e) < 0 ||
	    body_opt(c, body, "disk_size", "disk-size", e) < 0 ||
	    body_opt(c, body, "vmm", "vmm", e) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (cli_flag(c, flags[i][0]))
			json_object_set_new(body, flags[i][1], json_true());
	/* --publish A --publish B (or A,B): the daemon checks each spec. */
	for (const char *p = pub; p && *p;) {
		size_t n = strcspn(p, ",\n");
		char *one = strndup(p, n);
		json_t *str = json_string(one);

		free(one);
		if (!str) {
			err_set(e, ERR_INVALID, "--publish is not valid UTF-8 text");
			goto out;
		}
		json_array_append_new(publish, str);
		p += n + (p[n] == ',');
	}
	if (json_array_size(publish))
		json_object_set(body, "publish", publish);
	if (cli_val(c, "mount")) {
		json_t *mounts = json_array();

		json_object_set_new(body, "mount", mounts);
		if (cli_mount_specs(cli_val(c, "mount"), mounts, e) < 0)
			goto out;
	}
	if (cli_stream_request(c, "/v1/vms?stream=1", body, &result, e) < 0)
		goto out;
	if (cli_flag(c, "json"))
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

/* The one VM name a command takes. */
static int one_name(const struct cli_cmd *cmd, int argc, char **argv, const char **name,
		    struct err *e)
{
	if (argc < 2)
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (argc > 2)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\" (one VM at a time)",
				       ERR_Q(argv[2]));
	*name = argv[1];
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
	int ret;

	/* bangerd lays the array out as it is printed when asked (vm.h,
	 * vm_list_text): then it is written as it came. */
	client_header(cl, "X-Banger-Layout: indent");
	ret = client_call_text(cl, "GET", "/v1/vms", NULL, &body, e);
	client_header(cl, NULL);
	if (ret < 0)
		return -1;
	/* bangerd's text is {"vms":[...]} exactly: the array is taken without
	 * a scan for the key (cli_json_indent refuses it if it is not one
	 * value); any other shape goes the general way. */
	while (body.len && (body.data[body.len - 1] == '\n' || body.data[body.len - 1] == ' '))
		body.len--;
	if (body.len > 9 && memcmp(body.data, "{\"vms\":[", 8) == 0 &&
	    body.data[body.len - 1] == '}' &&
	    (memcmp(body.data + 8, "]}", 2) == 0 || body.data[8] == '\n')) {
		/* Laid out already ("[]" is the same either way). */
		fwrite(body.data + 7, 1, body.len - 8, stdout);
		putchar('\n');
	} else if (body.len > 8 && memcmp(body.data, "{\"vms\":", 7) == 0 &&
		   body.data[body.len - 1] == '}' &&
		   cli_json_indent(body.data + 7, body.len - 8, &out) == 0) {
		buf_putc(&out, '\n');
		fwrite(out.data, 1, out.len, stdout);
	} else if (cli_json_member(body.data, body.len, "vms", &vms, &len) == 0 &&
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

	if (argc > 1)
		return cli_usage_error(cmd, e, "unexpected argument \"%s\"", ERR_Q(argv[1]));
	if (!(cl = cli_client(c, e)))
		return -1;
	if (cli_flag(c, "json"))
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
	const char *name;
	json_t *vm = NULL;
	char buf[128], a[16], b[16];

	if (one_name(cmd, argc, argv, &name, e) < 0)
		return -1;
	if (get_vm(c, name, &vm, e) < 0)
		return -1;
	if (cli_flag(c, "json")) {
		cli_print_json(vm);
		json_decref(vm);
		return 0;
	}
	show_line("name", cli_str(vm, "name"));
	show_line("id", cli_str(vm, "id"));
	show_line("state", cli_str(vm, "state"));
	if (cli_int(vm, "ready_ms") > 0 && strncmp(cli_str(vm, "resume_note"), "resumed", 7) == 0) {
		snprintf(buf, sizeof(buf), "resumed in %.1f s",
			 (double)cli_int(vm, "ready_ms") / 1000.0);
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
	cli_print_mounts(vm);
	show_line("on stop",
		  json_is_true(json_object_get(vm, "suspend_on_stop")) ? "suspend" : "shut down");
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

/* start/stop/restart/kill/delete over several names: one line each (with
 * --json the VM objects: one, or an array of those that succeeded). 0 if
 * all succeeded, CLI_EXIT_FAIL if all failed, CLI_EXIT_PARTIAL if some. */
static int each_name(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		     const char *method, const char *suffix, json_t *body, const char *done,
		     struct err *e)
{
	int failed = 0, json = cli_flag(c, "json");
	json_t *all = json_array();
	struct client *cl;

	if (argc < 2) {
		json_decref(all);
		return cli_usage_error(cmd, e, "give at least one VM name");
	}
	for (int i = 1; i < argc; i++) {
		json_t *vm = NULL;
		struct err one;
		char *p;

		if (!(cl = cli_client(c, e))) {
			json_decref(all);
			return -1;
		}
		err_clear(&one);
		p = vm_path(argv[i], suffix);
		if (client_call(cl, method, p, body, &vm, &one) < 0) {
			cli_print_error("banger", &one);
			failed++;
		} else if (json) {
			json_array_append(all, vm);
		} else if (done) {
			printf("%s: %s\n", argv[i], done);
		} else {
			print_state_line(argv[i], vm);
			cli_warn_mounts(vm);
		}
		fflush(stdout);
		free(p);
		json_decref(vm);
	}
	if (json && json_array_size(all))
		cli_print_json(argc == 2 ? json_array_get(all, 0) : all);
	json_decref(all);
	if (failed == 0)
		return CLI_EXIT_OK;
	return failed == argc - 1 ? CLI_EXIT_FAIL : CLI_EXIT_PARTIAL;
}

static int cmd_power(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	json_t *body = NULL;
	char suffix[32];
	int ret;

	if (cli_flag(c, "no-wait"))
		body = json_pack("{s:b}", "no_wait", 1);
	snprintf(suffix, sizeof(suffix), "/%s", cmd->name);
	ret = each_name(c, cmd, argc, argv, "POST", suffix, body, NULL, e);
	json_decref(body);
	return ret;
}

static int cmd_kill(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	json_t *body = json_object();
	int ret = -1;

	if (body_opt(c, body, "signal", "signal", e) == 0)
		ret = each_name(c, cmd, argc, argv, "POST", "/kill", body, NULL, e);
	json_decref(body);
	return ret;
}

static int cmd_delete(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
		      struct err *e)
{
	return each_name(c, cmd, argc, argv, "DELETE", cli_flag(c, "force") ? "?force=1" : "", NULL,
			 "deleted", e);
}

static int cmd_set(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	static const char *const toggles[][3] = {
	    {"nat", "no-nat", "nat"},
	    {"autostart", "no-autostart", "autostart"},
	    {"suspend-on-stop", "no-suspend-on-stop", "suspend_on_stop"}};
	json_t *body = json_object(), *vm = NULL;
	const char *name;
	struct client *cl;
	char *p = NULL;
	int ret = -1, force = 0;

	if (one_name(cmd, argc, argv, &name, e) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(toggles) / sizeof(toggles[0]); i++) {
		if (cli_flag(c, toggles[i][0]) && cli_flag(c, toggles[i][1])) {
			cli_usage_error(cmd, e, "--%s and --%s contradict each other: give one",
					toggles[i][0], toggles[i][1]);
			goto out;
		}
		if (cli_flag(c, toggles[i][0]) || cli_flag(c, toggles[i][1]))
			json_object_set_new(body, toggles[i][2],
					    json_boolean(cli_flag(c, toggles[i][0])));
	}
	if (body_num(c, cmd, body, "memory_mib", "memory", e) < 0 ||
	    body_num(c, cmd, body, "vcpu", "vcpu", e) < 0 ||
	    body_opt(c, body, "disk_size", "disk-size", e) < 0)
		goto out;
	if (json_object_size(body) == 0) {
		cli_usage_error(cmd, e,
				"nothing to change (give --memory, --vcpu, --disk-size, "
				"--nat/--no-nat, --autostart/--no-autostart or "
				"--suspend-on-stop/--no-suspend-on-stop)");
		goto out;
	}
	force = cli_flag(c, "force");
	if (force)
		json_object_set_new(body, "force", json_true());
	if (!(cl = cli_client(c, e)))
		goto out;
	p = vm_path(name, "");
	if (client_call(cl, "PATCH", p, body, &vm, e) < 0)
		goto out;
	if (cli_flag(c, "json"))
		cli_print_json(vm);
	else
		printf(
		    "%s: updated (vcpu %lld, memory %lld MiB, disk %lld bytes, nat %s, on stop: "
		    "%s)\n",
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

	/* The parser took the "--": argv is NAME COMMAND..., the command
	 * only after a "--" that came right after the name. */
	if (argc < 2 || c->opt->dashdash == 0)
		return cli_usage_error(cmd, e, "which VM? give its name");
	if (argc > 2 && c->opt->dashdash != 1)
		return cli_usage_error(cmd, e,
				       "put the command after \"--\" (banger vm ssh %s -- %s)",
				       ERR_Q(argv[1]), ERR_Q(argv[2]));
	if (get_vm(c, argv[1], &vm, e) < 0)
		return -1;
	if (!(cl = cli_client(c, e)) || client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0) {
		json_decref(vm);
		return -1;
	}
	ret = vm_ssh_exec(vm, st, argc - 2, argv + 2, e);
	json_decref(vm);
	json_decref(st);
	return ret;
}

static int cmd_logs(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *name, *n = cli_val(c, "lines");
	long lines = 50;
	json_t *vm = NULL;
	char *end;
	int ret;

	if (one_name(cmd, argc, argv, &name, e) < 0)
		return -1;
	if (n && (!*n || (lines = strtol(n, &end, 10)) < 0 || *end))
		return cli_usage_error(cmd, e, "--lines needs a number of lines, not \"%s\"",
				       ERR_Q(n));
	if (get_vm(c, name, &vm, e) < 0)
		return -1;
	ret = cli_tail_file(cli_str(vm, "console_log"), lines, cli_flag(c, "follow"), e);
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
	int json = cli_flag(c, "json"), watch = cli_flag(c, "watch");
	const char *name;
	struct client *cl;
	char *p;

	if (one_name(cmd, argc, argv, &name, e) < 0)
		return -1;
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

#define JSON_OPT(what)                                                                             \
	{                                                                                          \
		"json", 0, NULL, "print " what " as JSON (the API object)", NULL                   \
	}
#define NO_WAIT_OPT                                                                                \
	{                                                                                          \
		"no-wait", 0, NULL,                                                                \
		    "return once the VMM is up (state starting), not when the guest is ready;\n"   \
		    "boot_timeout still applies in the background",                                \
		    NULL                                                                           \
	}

static const struct cli_opt create_opts[] = {
    {"name", 'n', "NAME", "DNS-label name (default: a generated adjective-animal)", NULL},
    {"image", 'i', "IMAGE", "base image (default: \"default\", the runtime bundle's)", "@images"},
    {"vcpu", 'c', "N", "virtual CPUs (default: default_vcpu, 2)", NULL},
    {"memory", 'm', "MiB", "memory in MiB (default: default_memory, 1024)", NULL},
    {"disk-size", 'd', "SIZE", "work disk at /root, e.g. 16G (default: default_disk_size)", NULL},
    {"nat", 0, NULL, "give the VM outbound internet access through the host", NULL},
    {"no-start", 0, NULL, "create the disks but do not boot", NULL},
    NO_WAIT_OPT,
    {"vmm", 0, "VMM", "auto (default), firecracker or qemu", "auto firecracker qemu"},
    {"autostart", 0, NULL, "start the VM whenever bangerd starts (after a host reboot too)", NULL},
    {"publish", 'p', "[ADDR:]HOST:GUEST",
     "forward host port HOST (on 127.0.0.1, or ADDR) to port GUEST of the VM while it runs;\n"
     "repeatable",
     NULL, 1},
    {"mount", 0, "HOSTDIR[:GUESTPATH][:ro]",
     "share a host directory with the VM, at GUESTPATH (default: the same path);\n"
     "mounted at every boot and resume (see vm mount); repeatable",
     "@dir", 1},
    {"suspend-on-stop", 0, NULL, "vm stop suspends this VM instead of shutting it down", NULL},
    JSON_OPT("the VM"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt json_opts[] = {
    JSON_OPT("it"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt boot_opts[] = {
    NO_WAIT_OPT,
    JSON_OPT("the VMs"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt stop_opts[] = {
    JSON_OPT("the VMs"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt kill_opts[] = {
    {"signal", 's', "SIG", "TERM, KILL (default), INT, QUIT, HUP, USR1, USR2, ...",
     "TERM KILL INT QUIT HUP USR1 USR2"},
    JSON_OPT("the VMs"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt delete_opts[] = {
    {"force", 'f', NULL, "stop a running or starting VM first", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt set_opts[] = {
    {"memory", 'm', "MiB", "memory in MiB (while stopped)", NULL},
    {"vcpu", 'c', "N", "virtual CPUs (while stopped)", NULL},
    {"disk-size", 'd', "SIZE", "grow the work disk (while stopped; shrinking is refused)", NULL},
    {"nat", 0, NULL, "turn NAT on (also while running)", NULL},
    {"no-nat", 0, NULL, "turn NAT off (also while running)", NULL},
    {"autostart", 0, NULL, "start the VM whenever bangerd starts", NULL},
    {"no-autostart", 0, NULL, "do not start it with bangerd", NULL},
    {"suspend-on-stop", 0, NULL, "vm stop suspends the VM (vm start resumes it)", NULL},
    {"no-suspend-on-stop", 0, NULL, "vm stop shuts the VM down", NULL},
    {"force", 'f', NULL,
     "a suspended VM: discard its saved state to change memory, vCPU or disk (the processes\n"
     "running in it are lost)",
     NULL},
    JSON_OPT("the VM"),
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt no_opts[] = {
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt logs_opts[] = {
    {"follow", 'f', NULL, "keep printing new lines", NULL},
    {"lines", 'n', "LINES", "lines to print first (default 50)", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static const struct cli_opt stats_opts[] = {
    {"json", 0, NULL, "print JSON (one line per sample with --watch)", NULL},
    {"watch", 'w', NULL, "refresh every second until interrupted", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

const struct cli_cmd cli_vm_cmds[] = {
    {"vm", "create", "", "create a VM, boot it and wait until its guest is ready", NULL, cmd_create,
     create_opts, NULL, 0},
    {"vm", "list", "", "list VMs", NULL, cmd_list, json_opts, NULL, 0},
    {"vm", "show", "NAME", "show everything about a VM", NULL, cmd_show, json_opts, "@vms", 0},
    {"vm", "start", "NAME...", "boot stopped VMs and wait until their guests are ready", NULL,
     cmd_power, boot_opts, "@vms", 0},
    {"vm", "stop", "NAME...", "shut VMs down (ctrl-alt-del, then SIGTERM, then SIGKILL)", NULL,
     cmd_power, stop_opts, "@vms", 0},
    {"vm", "suspend", "NAME...",
     "save VMs' memory and devices to disk and end their VMMs (vm start resumes them)", NULL,
     cmd_power, stop_opts, "@vms", 0},
    {"vm", "restart", "NAME...", "stop and start VMs", NULL, cmd_power, boot_opts, "@vms", 0},
    {"vm", "kill", "NAME...", "send a signal to VMs' VMM processes", NULL, cmd_kill, kill_opts,
     "@vms", 0},
    {"vm", "delete", "NAME...", "delete VMs and all their files", NULL, cmd_delete, delete_opts,
     "@vms", 0},
    {"vm", "set", "NAME", "change a VM's settings (memory, vCPU and disk while stopped)", NULL,
     cmd_set, set_opts, "@vms", 0},
    {"vm", "ssh", "NAME [-- COMMAND...]", "open a shell (or run a command) in a VM over SSH", NULL,
     cmd_ssh, no_opts, "@vms", 0},
    {"vm", "logs", "NAME", "print a VM's console and VMM log", NULL, cmd_logs, logs_opts, "@vms",
     0},
    {"vm", "stats", "NAME",
     "live figures from the host: VMM CPU and memory, disk usage, I/O counters", NULL, cmd_stats,
     stats_opts, "@vms", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
