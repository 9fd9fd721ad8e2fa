/*
 * fs: small file-system helpers with err reporting.
 */
#ifndef BANGER_UTIL_FS_H
#define BANGER_UTIL_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Creates path and its parents (like mkdir -p). Existing dirs are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e);

/* Reads a whole file (at most max bytes; more is an error). *out is
 * NUL-terminated and malloc'd; *len may be NULL. */
int fs_read(const char *path, size_t max, char **out, size_t *len, struct err *e);

/* Writes data to path atomically (temp file in the same dir, fsync, rename). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e);
/* Writes path (created or truncated) with no fsync and no rename: for
 * scratch files read once and removed (a disk's staging tree), whose
 * durability nothing depends on. */
int fs_write_scratch(const char *path, const void *data, size_t len, mode_t mode, struct err *e);

/* Removes a file tree. A missing path is not an error. */
int fs_rm_rf(const char *path, struct err *e);

int fs_exists(const char *path);
int fs_is_dir(const char *path);

/* Checks that path is a readable regular file; the error names what is wrong. */
int fs_check_readable(const char *path, const char *what, struct err *e);

/* Apparent size and allocated bytes (st_blocks*512) of a file. */
int fs_sizes(const char *path, long long *apparent, long long *allocated, struct err *e);

/* Whether e says that a write found no space left: ENOSPC through
 * err_errno, or a host tool (mkfs.ext4, resize2fs, ssh-keygen) that printed
 * strerror(ENOSPC) on its stderr. Accepts NULL. */
int fs_err_is_nospace(const struct err *e);

/* Sets e to the one "disk full" error of banger: ERR_IO, "no space left on
 * device (state directory DIR)", with a hint to free space. Returns -1. */
int fs_err_nospace(struct err *e, const char *state_dir);

/* Absolute, normalised path of an existing file (malloc'd), or NULL. */
char *fs_realpath(const char *path);

#endif
