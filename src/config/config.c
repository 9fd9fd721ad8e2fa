/* config: see config.h. Keys are described once, in the table below. */
#include "config/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml/toml.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

enum key_type { KEY_STR, KEY_INT, KEY_BOOL }; /* a bool is a long long 0 or 1 */

struct key {
	const char *name;
	enum key_type type;
	size_t off;
};

/* clang-format off */
#define S(k) {#k, KEY_STR, offsetof(struct config, k)}
#define I(k) {#k, KEY_INT, offsetof(struct config, k)}
#define B(k) {#k, KEY_BOOL, offsetof(struct config, k)}

static const struct key keys[] = {
	S(log_level),        S(runtime_dir),         S(firecracker_bin),
	S(mapdns_bin),       S(mapdns_data_file),    S(ssh_key_path),
	S(namegen_path),     S(customize_script),    S(default_rootfs),
	S(default_base_rootfs), S(default_kernel),   S(default_initrd),
	S(default_modules_dir), S(default_packages_file), S(vmm),
	S(qemu_bin),         S(qemu_accel),          S(bridge_name),
	S(subnet),           S(netd_path),           I(dns_port),
	I(stop_timeout),     I(boot_timeout),        I(default_vcpu),        I(default_memory),
	S(default_disk_size), S(default_overlay_size), B(suspend_on_stop),
	S(guest_kernel_args),
};
/* clang-format on */

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char **str_field(struct config *cfg, const struct key *k)
{
	return (char **)((char *)cfg + k->off);
}

static long long *int_field(struct config *cfg, const struct key *k)
{
	return (long long *)((char *)cfg + k->off);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

void config_defaults(struct config *cfg)
{
	set_str(&cfg->log_level, "info");
	set_str(&cfg->vmm, "auto");
	set_str(&cfg->qemu_bin, "qemu-system-x86_64");
	set_str(&cfg->qemu_accel, "auto");
	set_str(&cfg->bridge_name, "banger0");
	/* 172.30.77.0/24: inside RFC 1918 space but away from the ranges that
	 * Docker (172.17-172.29), libvirt (192.168.122) and home routers
	 * (192.168.0/1) usually take. */
	set_str(&cfg->subnet, "172.30.77.0/24");
	set_str(&cfg->default_disk_size, "16G");
	set_str(&cfg->default_overlay_size, "8G");
	/* No boot-time self-tests of every crypto algorithm: 0.24 s of a 1.1 s
	 * guest kernel boot under TCG (crypto_algapi_init). */
	set_str(&cfg->guest_kernel_args, "cryptomgr.notests");
	cfg->dns_port = 53;
	cfg->stop_timeout = 10;
	/* Generous: a loaded host under TCG took up to 21 s to SSH, and a
	 * stuck guest must still be told apart from a slow one. */
	cfg->boot_timeout = 300;
	cfg->default_vcpu = 2;
	cfg->default_memory = 1024;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == KEY_STR)
			set_str(str_field(cfg, &keys[i]), NULL);
	memset(cfg, 0, sizeof(*cfg));
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Semantic checks shared by file and environment values. */
static int check_value(const struct config *cfg, struct err *e)
{
	enum log_level lv;

	if (log_level_parse(cfg->log_level, &lv, e) < 0)
		return err_wrap(e, "log_level");
	if (strcmp(cfg->vmm, "auto") && strcmp(cfg->vmm, "firecracker") && strcmp(cfg->vmm, "qemu"))
		return err_set(e, ERR_INVALID,
			       "vmm must be \"auto\", \"firecracker\" or \"qemu\", not \"%s\"",
			       cfg->vmm);
	if (strcmp(cfg->qemu_accel, "auto") && strcmp(cfg->qemu_accel, "kvm") &&
	    strcmp(cfg->qemu_accel, "tcg"))
		return err_set(e, ERR_INVALID,
			       "qemu_accel must be \"auto\", \"kvm\" or \"tcg\", not \"%s\"",
			       cfg->qemu_accel);
	if (cfg->dns_port < 0 || cfg->dns_port > 65535)
		return err_set(e, ERR_INVALID, "dns_port must be between 0 and 65535");
	if (cfg->stop_timeout < 0 || cfg->stop_timeout > 3600)
		return err_set(e, ERR_INVALID, "stop_timeout must be between 0 and 3600 seconds");
	if (cfg->boot_timeout < 1 || cfg->boot_timeout > 86400)
		return err_set(e, ERR_INVALID, "boot_timeout must be between 1 and 86400 seconds");
	if (strlen(cfg->guest_kernel_args) > 512 || strpbrk(cfg->guest_kernel_args, "\n\r\t"))
		return err_set(e, ERR_INVALID,
			       "guest_kernel_args must be one line of at most 512 characters");
	if (cfg->default_vcpu < 1 || cfg->default_vcpu > 32)
		return err_set(e, ERR_INVALID, "default_vcpu must be between 1 and 32");
	if (cfg->default_memory < 128 || cfg->default_memory > 1024 * 1024)
		return err_set(e, ERR_INVALID,
			       "default_memory must be between 128 and 1048576 MiB");
	return 0;
}

int config_parse(struct config *cfg, const char *name, const char *text, size_t len, struct err *e)
{
	struct toml_error terr = {0};
	struct toml_value *root = toml_parse(text, len, &terr);
	int ret = -1;

	if (!root)
		return err_set(e, ERR_INVALID, "%s:%d:%d: %s", name, terr.line, terr.column,
			       terr.msg);
	for (size_t i = 0; i < toml_table_len(root); i++) {
		const char *k = toml_table_key(root, i);
		const struct toml_value *v = toml_table_at(root, i);
		const struct key *key = find_key(k);
		enum toml_type want;

		if (!key) {
			err_set(e, ERR_INVALID, "%s:%d: unknown key \"%s\"", name, toml_line(v), k);
			err_hint(e, "valid keys are listed in the README (\"Configuration\")");
			goto out;
		}
		want = key->type == KEY_STR    ? TOML_STRING
		       : key->type == KEY_BOOL ? TOML_BOOL
					       : TOML_INTEGER;
		if (toml_type(v) != want) {
			err_set(e, ERR_INVALID, "%s:%d: %s must be %s %s, not %s", name,
				toml_line(v), k, want == TOML_INTEGER ? "an" : "a",
				toml_type_name(want), toml_type_name(toml_type(v)));
			goto out;
		}
		if (key->type == KEY_STR) {
			if (strlen(toml_string(v)) != toml_string_len(v)) {
				err_set(e, ERR_INVALID, "%s:%d: %s contains a NUL character", name,
					toml_line(v), k);
				goto out;
			}
			set_str(str_field(cfg, key), toml_string(v));
		} else if (key->type == KEY_BOOL) {
			*int_field(cfg, key) = toml_bool(v) ? 1 : 0;
		} else {
			*int_field(cfg, key) = toml_integer(v);
		}
		if (check_value(cfg, e) < 0) {
			err_wrap(e, "%s:%d", name, toml_line(v));
			goto out;
		}
	}
	ret = 0;
out:
	toml_free(root);
	return ret;
}

static int apply_env(struct config *cfg, struct err *e)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char var[64];
		const char *v;
		size_t n = (size_t)snprintf(var, sizeof(var), "BANGER_%s", keys[i].name);

		for (size_t j = 7; j < n; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		v = getenv(var);
		if (!v)
			continue;
		if (keys[i].type == KEY_STR) {
			set_str(str_field(cfg, &keys[i]), v);
		} else if (keys[i].type == KEY_BOOL) {
			if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
				*int_field(cfg, &keys[i]) = 1;
			else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
				*int_field(cfg, &keys[i]) = 0;
			else
				return err_set(e, ERR_INVALID,
					       "%s must be true or false (or 1 or 0), not \"%s\"",
					       var, ERR_Q(v));
		} else {
			char *end;
			long long x = strtoll(v, &end, 10);

			if (!*v || *end)
				return err_set(e, ERR_INVALID, "%s must be an integer, not \"%s\"",
					       var, v);
			*int_field(cfg, &keys[i]) = x;
		}
		if (check_value(cfg, e) < 0)
			return err_wrap(e, "environment variable %s", var);
	}
	return 0;
}

int config_load(struct config *cfg, const struct paths *p, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	config_defaults(cfg);
	if (fs_exists(p->config_file)) {
		if (fs_read(p->config_file, 1 << 20, &text, &len, e) < 0)
			return err_wrap(e, "read config");
		ret = config_parse(cfg, p->config_file, text, len, e);
		free(text);
		if (ret < 0)
			return -1;
	}
	return apply_env(cfg, e);
}
