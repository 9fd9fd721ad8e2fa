/*
 * bundle_unpack: unpacks a runtime bundle tarball (tar.gz) into a directory,
 * refusing anything that could write outside it.
 */
#ifndef BANGER_BUNDLE_UNPACK_H
#define BANGER_BUNDLE_UNPACK_H

#include "util/err.h"

/* Unpacks tarball into dest, an existing empty directory. Every entry is
 * checked before anything is written for it: absolute paths, ".." components,
 * symlinks whose target leaves dest, hard links to absolute or ".." paths, and
 * device nodes, FIFOs or sockets are refused with an error naming the entry.
 * On failure dest may hold a partial tree: the caller removes it. */
int bundle_unpack(const char *tarball, const char *dest, struct err *e);

/* The checks above, for one entry (exposed for unit tests). type is an
 * st_mode file type (S_IFREG, ...); link_target is the symlink target for a
 * symlink, the link target for a hard link (hardlink = 1), else NULL.
 * Returns -1 with an error naming the entry when it must be refused. */
int bundle_unpack_check(const char *name, unsigned int type, const char *link_target, int hardlink,
			struct err *e);

#endif
