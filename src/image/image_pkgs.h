/*
 * image_pkgs: the extra package list of an image build (packages.apt).
 *
 * One Debian package name per line; '#' starts a comment; blank lines are
 * ignored. Names are checked against Debian policy (5.6.1: lowercase
 * letters, digits, '+', '-' and '.', at least two characters, starting
 * with a letter or digit), so nothing else (apt patterns, options, paths,
 * shell syntax) ever reaches mmdebstrap's --include.
 */
#ifndef BANGER_IMAGE_IMAGE_PKGS_H
#define BANGER_IMAGE_IMAGE_PKGS_H

#include "util/buf.h"
#include "util/err.h"

/* 1 if s is a valid Debian package name. */
int image_pkgs_name_ok(const char *s);

/* Parses a package list (text of the file `name`, for messages) and appends
 * the names, comma-separated and without duplicates, to csv. A bad name is an
 * ERR_INVALID error quoting the file, line and name. */
int image_pkgs_parse(const char *text, const char *name, struct buf *csv, struct err *e);

/* Reads and parses the file at path (see image_pkgs_parse). */
int image_pkgs_load(const char *path, struct buf *csv, struct err *e);

#endif
