/*
 * share_spec: a VM's shared host directories (vm create --mount, vm mount).
 *
 * A share is a host directory, the guest path it is mounted at, and
 * whether the guest may write to it. A VM records its shares as text, one
 * per line: "rw\tHOSTDIR\tGUESTPATH" or "ro\t...". Both paths are
 * absolute and clean (no "//", ".", ".." or trailing "/").
 */
#ifndef BANGER_SHARE_SHARE_SPEC_H
#define BANGER_SHARE_SHARE_SPEC_H

#include <stddef.h>

#include "util/err.h"

#define SHARE_MAX 8
#define SHARE_PATH_MAX 512

struct share_spec {
	char host[SHARE_PATH_MAX];
	char guest[SHARE_PATH_MAX];
	int ro;
};

/* "HOSTDIR[:GUESTPATH][:ro|:rw]" as the user types it. HOSTDIR is kept as
 * given (the CLI makes it absolute from its own directory); GUESTPATH
 * defaults to HOSTDIR. Checks the form only. */
int share_spec_parse(const char *text, struct share_spec *out, struct err *e);

/* A guest path a share may be mounted at: absolute, clean, printable, and
 * not / or a system directory (/etc, /usr, /proc...) or under /proc, /sys,
 * /dev or /run. */
int share_guest_path_check(const char *path, struct err *e);

/* A host path as the daemon takes it: absolute and clean, printable. */
int share_host_path_check(const char *path, struct err *e);

/* The record list (see above): parse gives the count or -1 (e may be NULL);
 * format writes specs into out. */
int share_list_parse(const char *list, struct share_spec *out, int max, struct err *e);
int share_list_format(const struct share_spec *specs, int n, char *out, size_t len, struct err *e);

/* Index in specs of the share whose guest path or host directory is
 * which, or -1. */
int share_list_find(const struct share_spec *specs, int n, const char *which);

#endif
