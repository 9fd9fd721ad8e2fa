/*
 * image_build: `banger image build`, the part that makes the files.
 *
 * image_plan_prepare() (image_plan.h) first checks everything without
 * touching anything; image_build_run() then makes, in the image's directory
 * DIR:
 *
 *   DIR/tree/         the Debian tree (mmdebstrap), removed at the end
 *   DIR/rootfs.ext4   the tree as a sparse ext4 image (mkfs.ext4 -d)
 *   DIR/vmlinux       copies of the bundle's kernel and initrd, so the image
 *   DIR/initrd.img    keeps working when the bundle is rebuilt (its
 *                     /lib/modules matches this kernel)
 *
 * Every command's raw output goes to the build log; short progress messages
 * go to a callback. The record keeping (name, state "building", cleanup of a
 * failed build) is the daemon's; see routes_image_build.c.
 *
 * Builds always start from scratch (mmdebstrap). Building on top of an
 * existing rootfs (--base-rootfs) would need a mount and a chroot into the
 * ext4 image; it is refused with a clear error.
 */
#ifndef BANGER_IMAGE_IMAGE_BUILD_H
#define BANGER_IMAGE_IMAGE_BUILD_H

#include "image/image_plan.h"
#include "util/err.h"

typedef void (*image_progress_fn)(void *ctx, const char *msg);

/* Builds into dir (which must exist and be empty), appending every
 * command's output to log_path. On failure the error names the step and
 * carries log_path; dir's contents are left for the caller to remove
 * (image_tree_remove). progress may be NULL. cancel_fd (> 0, 0: none)
 * becoming readable stops the build: the running command's process group
 * is killed (spawn_opts.cancel_fd) and no further step starts. */
int image_build_run(const struct image_plan *plan, const char *dir, const char *log_path,
		    int cancel_fd, image_progress_fn progress, void *ctx, struct err *e);

#endif
