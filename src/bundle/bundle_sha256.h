/*
 * bundle_sha256: SHA-256 of files, as lower-case hex, for the runtime bundle's
 * download check and `banger-bundle verify`.
 */
#ifndef BANGER_BUNDLE_SHA256_H
#define BANGER_BUNDLE_SHA256_H

#include "util/err.h"

#define BUNDLE_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* Hashes the whole file at path into out (64 lower-case hex digits). Reads in
 * chunks, so any file size is fine. Blocks on disk I/O. */
int bundle_sha256_file(const char *path, char out[BUNDLE_SHA256_HEX], struct err *e);

/* 1 when s is exactly 64 hex digits (either case), else 0. */
int bundle_sha256_valid(const char *s);

/* Case-insensitive comparison of two hex digests: 1 when equal. */
int bundle_sha256_equal(const char *a, const char *b);

#endif
