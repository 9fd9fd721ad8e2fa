/*
 * bundle_fetch: installs a published runtime bundle into a directory.
 *
 * Download (resumable) -> SHA-256 check -> unpack into a fresh sibling
 * directory -> bundle.json check -> atomic swap into place. Work files live
 * next to DESTDIR so every rename stays on one file system:
 *	DESTDIR.partial/<file>.part   the download, kept only to resume after
 *	                              a network interruption
 *	DESTDIR.new-XXXXXX            the tree being unpacked
 */
#ifndef BANGER_BUNDLE_FETCH_H
#define BANGER_BUNDLE_FETCH_H

#include "bundle/bundle_download.h"
#include "bundle/bundle_manifest.h"
#include "util/err.h"

/* Fetches m->url into destdir. On any failure destdir is exactly as it was
 * and no work directory is left, except DESTDIR.partial when the download
 * broke off and a rerun can resume it. A checksum mismatch names both sums
 * and deletes the download; a refused tar entry is named. progress may be
 * NULL. Blocks for the whole download. */
int bundle_fetch(const struct bundle_manifest *m, const char *destdir,
		 const struct bundle_progress *progress, struct err *e);

/* Replaces dest by the directory fresh (same file system) atomically: after
 * it returns 0, dest is the new tree and the old one is gone; on failure
 * dest is unchanged and fresh still exists. A missing dest is fine. */
int bundle_fetch_swap(const char *fresh, const char *dest, struct err *e);

#endif
