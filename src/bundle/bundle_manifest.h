/*
 * bundle_manifest: reads runtime-bundle.toml, the checked-in pointer to a
 * published runtime bundle.
 *
 *	url = "https://example.org/banger-runtime.tar.gz"
 *	sha256 = "<64 hex digits>"
 *
 *	[bundle_metadata]          # optional; string values only
 *	kernel_version = "6.1.0-50-cloud-amd64"
 *
 * url may also be a file:// URL or a path (relative paths are taken from the
 * manifest's directory), so a locally staged bundle works the same way.
 * Unknown top-level keys are errors, so a typo is not silently ignored.
 */
#ifndef BANGER_BUNDLE_MANIFEST_H
#define BANGER_BUNDLE_MANIFEST_H

#include <stddef.h>

#include "util/err.h"

struct bundle_meta {
	char *key;
	char *value;
};

struct bundle_manifest {
	char *url;		  /* absolute URL (a path was turned into file://) */
	char *sha256;		  /* 64 lower-case hex digits */
	struct bundle_meta *meta; /* [bundle_metadata] in file order */
	size_t n_meta;
};

/* Parses manifest text; base_dir resolves a relative path in url (NULL: the
 * current directory). origin names the text in messages ("runtime-bundle.toml").
 * On failure *m is left empty; on success free it with bundle_manifest_free(). */
int bundle_manifest_parse(const char *text, size_t len, const char *origin, const char *base_dir,
			  struct bundle_manifest *m, struct err *e);

/* Reads and parses the manifest file at path. */
int bundle_manifest_load(const char *path, struct bundle_manifest *m, struct err *e);

/* The [bundle_metadata] value for key, or NULL. */
const char *bundle_manifest_meta(const struct bundle_manifest *m, const char *key);

/* Releases what m owns and zeroes it. Accepts an empty manifest. */
void bundle_manifest_free(struct bundle_manifest *m);

#endif
