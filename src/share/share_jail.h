/*
 * share_jail: runs OpenSSH's sftp-server confined to one host directory.
 *
 * The server gets a mount namespace of its own whose root is an empty,
 * read-only tmpfs holding only the share (at /share, read-only for a ro
 * share), the server binary, its loader and libraries (bound read-only),
 * and a one-line passwd. The old root is detached (pivot_root), so no path
 * the guest sends, with ".." or through a symlink, names a host file
 * outside the share. Run as root it becomes the directory's owner (files
 * the guest makes are the user's) with no capabilities; run as a user it
 * takes a user namespace for the mounts and stays that user.
 */
#ifndef BANGER_SHARE_SHARE_JAIL_H
#define BANGER_SHARE_SHARE_JAIL_H

#include "util/err.h"

#define SHARE_JAIL_DIR "/share"
#define SHARE_SFTP_SERVER "/usr/lib/openssh/sftp-server"

/* The files the dynamic loader needs to start the ELF program at path: its
 * interpreter and the libraries it needs, found the way the loader finds
 * them (DT_RUNPATH aside), recursively. Fills paths (malloc'd, absolute, as
 * the loader opens them) and returns their count, or -1. */
int share_jail_deps(const char *path, char **paths, int max, struct err *e);

/* Sets up the jail for dir and execs server (SHARE_SFTP_SERVER if NULL)
 * serving SHARE_JAIL_DIR on stdin/stdout; returns only on failure. */
int share_jail_exec(const char *dir, int ro, const char *server, struct err *e);

#endif
