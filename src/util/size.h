/*
 * size: parsing and printing byte sizes ("16G", "512M", "1048576").
 */
#ifndef BANGER_UTIL_SIZE_H
#define BANGER_UTIL_SIZE_H

#include <stddef.h>

#include "util/err.h"

/* Parses a positive size with an optional K/M/G/T suffix (powers of 1024,
 * case-insensitive, optional trailing "B" or "iB"). Zero, negative,
 * fractional, overflowing and unparsable sizes are ERR_INVALID errors that
 * quote the input. */
int size_parse(const char *s, long long *out, struct err *e);

/* Formats bytes as "16G", "1.5G", "512M", "300K" or "12B" into buf. */
void size_format(long long bytes, char *buf, size_t len);

/* Formats seconds as "-" (0 or less), "45s", "3m05s", "2h03m" or "1d02h". */
void duration_format(long long secs, char *buf, size_t len);

#endif
