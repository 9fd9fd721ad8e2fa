/*
 * config: banger's settings and file locations.
 *
 * Settings come from built-in defaults, then ~/.config/banger/config.toml,
 * then BANGER_<KEY> environment variables (e.g. BANGER_LOG_LEVEL). Unknown
 * keys and wrong types are errors naming the file, line and key. Paths follow
 * the XDG base directories.
 */
#ifndef BANGER_CONFIG_CONFIG_H
#define BANGER_CONFIG_CONFIG_H

#include "util/err.h"

struct config {
	/* seed keys */
	char *log_level;
	char *runtime_dir; /* runtime bundle directory */
	char *firecracker_bin;
	char *mapdns_bin;
	char *mapdns_data_file;
	char *ssh_key_path;
	char *namegen_path;
	char *customize_script;
	char *default_rootfs;
	char *default_base_rootfs;
	char *default_kernel;
	char *default_initrd;
	char *default_modules_dir;
	char *default_packages_file;
	/* banger additions */
	char *vmm; /* "auto" | "firecracker" | "qemu" */
	char *qemu_bin;
	char *qemu_accel; /* "auto" | "kvm" | "tcg" */
	char *bridge_name;
	char *subnet;
	char *netd_path; /* privileged network helper */
	long long dns_port;
	long long stop_timeout; /* seconds to wait after ctrl-alt-del */
	long long boot_timeout; /* seconds from start to the guest's ready line */
	long long default_vcpu;
	long long default_memory; /* MiB */
	char *default_disk_size;  /* work disk, e.g. "16G" */
	char *default_overlay_size;
	long long suspend_on_stop; /* bool: new VMs' vm stop suspends */
	char *guest_kernel_args;   /* put on every guest's kernel command line */
};

struct paths {
	char *config_file;
	char *config_dir;
	char *state_dir; /* ~/.local/state/banger */
	char *cache_dir;
	char *run_dir;	/* $XDG_RUNTIME_DIR/banger, or /tmp/banger-UID */
	char *socket;	/* run_dir/bangerd.sock */
	char *pid_file; /* run_dir/bangerd.pid (also the single-daemon lock) */
	char *db;
	char *log; /* state_dir/bangerd.log */
	char *vms_dir;
	char *images_dir;
	char *image_build_dir;
	char *ssh_dir;
};

/* Fills cfg from defaults, the config file (if it exists) and the
 * environment. cfg must be zeroed or freshly config_free'd. */
int config_load(struct config *cfg, const struct paths *p, struct err *e);

/* Parses TOML text as a config file named `name` (for messages) on top of
 * what cfg holds. Used by config_load and by the tests. */
int config_parse(struct config *cfg, const char *name, const char *text, size_t len, struct err *e);

void config_defaults(struct config *cfg);
void config_free(struct config *cfg);

/* Computes every path from the XDG environment (HOME, XDG_*). Creates
 * nothing. */
int paths_init(struct paths *p, struct err *e);
/* Creates the state, run and VM directories with private modes. */
int paths_ensure(const struct paths *p, struct err *e);
void paths_free(struct paths *p);

/* The runtime bundle directory: cfg->runtime_dir if set, else
 * <exe dir>/../lib/banger when installed, else <exe dir>/runtime.
 * malloc'd. */
char *paths_runtime_dir(const struct config *cfg);

#endif
