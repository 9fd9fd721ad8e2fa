/*
 * doctor: `banger doctor`'s checks of the host, one function per check in a
 * table. Every check only looks: none starts the daemon, creates the bridge,
 * or changes the network or any file.
 */
#ifndef BANGER_CLI_DOCTOR_H
#define BANGER_CLI_DOCTOR_H

#include <stddef.h>

#include "config/config.h"

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL };

/* Free space in the state directory below which the check fails / warns:
 * a VM's work disk and overlay are sparse but grow with use, and an image
 * build needs room for a root filesystem. */
#define DOCTOR_SPACE_FAIL (1LL << 30) /* 1 GiB */
#define DOCTOR_SPACE_WARN (5LL << 30) /* 5 GiB */

struct doctor_result {
	enum doctor_status status;
	char detail[1024]; /* what was found */
	char fix[1024];	   /* what to run or install; "" when ok */
};

/* What the checks look at. doctor_env_init fills the host's defaults; tests
 * may point the fields elsewhere. */
struct doctor_env {
	const struct paths *paths;
	const struct config *cfg;
	const char *config_error;  /* config_load's message, or NULL */
	char *runtime_dir;	   /* the bundle directory (malloc'd) */
	char *exe_dir;		   /* where banger runs from (banger-netd's default place) */
	const char *kvm_dev;	   /* "/dev/kvm" */
	const char *pvm_dir;	   /* "/sys/module/kvm_pvm" */
	const char *route_file;	   /* "/proc/net/route" */
	const char *resolved_stub; /* "/run/systemd/resolve/stub-resolv.conf" */
	/* Cached VMM probes (both checks need both answers). */
	int probed;
	char fc_bin[1024], fc_version[64], fc_error[1024], fc_hint[512];
	int fc_found, fc_ok;
	char qemu_bin[1024], qemu_version[64], qemu_error[1024];
	int qemu_ok;
};

struct doctor_check {
	const char *name;
	void (*fn)(struct doctor_env *env, struct doctor_result *r);
};

/* The checks, in the order they print; ends with a NULL name. */
extern const struct doctor_check doctor_checks[];

void doctor_env_init(struct doctor_env *env, const struct paths *p, const struct config *cfg);
void doctor_env_free(struct doctor_env *env);

/* "ok", "warn", "FAIL". */
const char *doctor_status_name(enum doctor_status s);

/* A subnet of the candidates banger suggests that overlaps none of the
 * host's routes or addresses, into out; "" when all are taken. */
void doctor_free_subnet(struct doctor_env *env, char *out, size_t len);

#endif
