/*
 * guest_plan: the guest's storage layout as a list of steps (data, no I/O).
 *
 * The plan turns three block devices into the guest root (DESIGN "Storage
 * model"), all under a staging directory STAGE (/mnt in the initrd):
 *   1. STAGE/base     <- base rootfs (vda), ext4, read-only, shared by VMs
 *   2. STAGE/overlay  <- the VM's overlay disk (vdb), ext4, read-write;
 *                        upper/ and work/ made on first boot
 *   3. STAGE/root     <- overlayfs: lower=base, upper=overlay/upper,
 *                        work=overlay/work; this becomes "/"
 *   4. STAGE/root/root <- the VM's work disk (vdc), ext4: the persistent /root
 *   5. the base and overlay mounts are moved to /media/root-ro and
 *      /media/root-rw inside the new root (the names Ubuntu's overlayroot
 *      uses), so they stay visible in the guest's mount table: systemd can
 *      then remount the overlay disk read-only at shutdown, and a user can
 *      inspect their changes under /media/root-rw/upper.
 * guest_exec_plan() runs the steps; the unit tests check the plan itself.
 */
#ifndef BANGER_GUEST_PLAN_H
#define BANGER_GUEST_PLAN_H

#include "util/err.h"

#include <stddef.h>

#define GUEST_PLAN_PATH 512
#define GUEST_PLAN_DATA 1600
#define GUEST_PLAN_STEPS 24

/* Where the base and overlay mounts end up inside the guest root. */
#define GUEST_PLAN_RO_DIR "/media/root-ro"
#define GUEST_PLAN_RW_DIR "/media/root-rw"

enum guest_step_kind {
	GUEST_STEP_MKDIR, /* mkdir target (mode 0755) unless it exists */
	GUEST_STEP_MOUNT, /* mount(source, target, fstype, flags, data) */
	GUEST_STEP_MOVE,  /* mount(source, target, NULL, MS_MOVE, NULL) */
};

struct guest_step {
	enum guest_step_kind kind;
	char source[GUEST_PLAN_PATH]; /* device or directory; "" for MKDIR */
	char target[GUEST_PLAN_PATH];
	char fstype[16];	    /* MOUNT only */
	unsigned long flags;	    /* MOUNT only: MS_* flags */
	char data[GUEST_PLAN_DATA]; /* MOUNT only: option string or "" */
	char what[96];		    /* for error messages: "mount the base image" */
};

struct guest_plan_input {
	const char *base_dev;	 /* e.g. /dev/vda */
	const char *overlay_dev; /* e.g. /dev/vdb */
	const char *work_dev;	 /* e.g. /dev/vdc */
	const char *stage;	 /* staging directory, e.g. /mnt; no trailing '/' */
};

struct guest_plan {
	struct guest_step steps[GUEST_PLAN_STEPS];
	size_t n;
	char root[GUEST_PLAN_PATH]; /* the assembled root: STAGE/root */
};

/* Builds the plan for in. Returns 0, or -1 with e set when an input is
 * missing, not absolute, or too long. */
int guest_plan_build(const struct guest_plan_input *in, struct guest_plan *out, struct err *e);

#endif
