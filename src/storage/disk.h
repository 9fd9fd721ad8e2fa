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

/* Copies src to dst (must not exist) at the cost of the data in it: a
 * reflink where the file system has one (FICLONE: nothing is copied),
 * else only src's data extents (SEEK_DATA/SEEK_HOLE), so holes stay holes.
 * dst is fsynced. *copied: the bytes written (0 for a reflink), *reflinked
 * whether it was one; either may be NULL. On failure dst is removed. */
int disk_copy(const char *src, const char *dst, long long *copied, int *reflinked, struct err *e);

/* Edits the files of the ext4 image at path offline with debugfs: removes
 * each of rm[] that exists (a NULL-terminated list of absolute paths in the
 * image), then writes each local file put[i].from at put[i].to, owned by
 * root with put[i].mode. Output goes to log_path. */
struct disk_put {
	const char *from;
	const char *to;
	unsigned mode; /* e.g. 0600 */
};
int disk_edit(const char *path, const char *const *rm, const struct disk_put *put, size_t nput,
	      const char *log_path, struct err *e);

#endif
