/*
 * disk: the VM's ext4 disk images (overlay and work disk).
 *
 * Disks are sparse files formatted with mkfs.ext4 using lazy inode-table and
 * journal init, so a fresh 16G disk allocates a few MB. Initial content comes
 * from a staging directory (mkfs.ext4 -d), which needs no root and no mount.
 */
#ifndef BANGER_STORAGE_DISK_H
#define BANGER_STORAGE_DISK_H

#include "util/err.h"

/* Creates path (must not exist) as a sparse ext4 of size bytes, filled from
 * staging_dir when not NULL. Tool output goes to log_path. On failure the
 * file is removed. */
int disk_create(const char *path, long long size, const char *label, const char *staging_dir,
		const char *log_path, struct err *e);

/* Grows the filesystem in path to new_size: e2fsck -f -y, extend the file,
 * resize2fs. Shrinking is refused (ERR_INVALID). On failure the file keeps
 * its old size. */
int disk_grow(const char *path, long long new_size, const char *log_path, struct err *e);

/* Grows the filesystem in path to fill the file (e2fsck -f -y, resize2fs),
 * as disk_grow does after extending it: finishes a grow that was cut off
 * between the two. A filesystem that already fills it is left as it is. */
int disk_fit(const char *path, const char *log_path, struct err *e);

#endif
