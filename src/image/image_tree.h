/*
 * image_tree: removing a build's directory safely, and cleaning up after
 * builds that a daemon crash or SIGTERM interrupted.
 *
 * A build directory may hold a Debian tree; if a bootstrap was killed,
 * something could still be mounted below it (mmdebstrap mounts /proc, /sys
 * and /dev into its chroot). Removal therefore detaches every mount below
 * the directory first and never descends into another file system, so a
 * leftover bind mount of /dev can never make it delete host files.
 */
#ifndef BANGER_IMAGE_IMAGE_TREE_H
#define BANGER_IMAGE_IMAGE_TREE_H

#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

/* Detaches mounts below path (root only; others cannot have made any) and
 * removes path and everything in it on path's own file system. A missing
 * path is not an error. */
int image_tree_remove(const char *path, struct err *e);

/* Called once at daemon start, before the API serves requests (so no build
 * can be running): removes every image record still in state "building"
 * together with its directory images_dir/<id>, and directories in images_dir
 * that belong to no image record. Logs what it removed; never fails. */
void image_tree_reconcile(struct store *st, const char *images_dir, struct logger *lg);

#endif
