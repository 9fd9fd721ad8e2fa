/*
 * bundle_info: reads and checks bundle.json, the index at the top of a runtime
 * bundle directory (./runtime in a checkout, $(prefix)/lib/banger installed).
 *
 * Format (all paths relative to the bundle directory, never absolute, no ".."):
 *
 *	{
 *	  "kernel_version": "6.1.0-50-cloud-amd64",
 *	  "kernel": "vmlinux",
 *	  "initrd": "initrd.img",
 *	  "modules_dir": "modules",
 *	  "rootfs": "rootfs.ext4",
 *	  "packages": "packages.apt",
 *	  "firecracker": "firecracker",
 *	  "files": {
 *	    "vmlinux":    {"path": "vmlinux",    "sha256": "<64 hex>"},
 *	    "initrd.img": {"path": "initrd.img", "sha256": "<64 hex>"},
 *	    ...
 *	  }
 *	}
 *
 * "files" lists every regular file whose content `banger-bundle verify` checks
 * (its keys are names for messages; "path" is what counts). The role keys
 * (kernel, initrd, ...) are optional: when one is absent, the files entry of
 * that name is used ("kernel" or "vmlinux", "initrd" or "initrd.img", ...),
 * else the conventional file name if it exists in the directory. Unknown keys
 * are ignored so newer bundles still load.
 */
#ifndef BANGER_BUNDLE_INFO_H
#define BANGER_BUNDLE_INFO_H

#include <stddef.h>

#include "util/err.h"

/* Absolute paths into the bundle. Optional parts are NULL when absent. */
struct bundle_info {
	char *dir;	      /* the bundle directory itself */
	char *kernel_version; /* uname -r of the bundle's kernel, or NULL */
	char *kernel;	      /* required */
	char *initrd;
	char *modules_dir;
	char *rootfs; /* required: rootfs.ext4, else rootfs-docker.ext4 */
	char *packages;
	char *firecracker;
};

/* Loads dir/bundle.json into *out and checks that the kernel and the rootfs
 * exist. The error names the bundle and the missing or malformed part, with a
 * hint to rebuild it. Free *out with bundle_info_free() on success. */
int bundle_info_load(const char *dir, struct bundle_info *out, struct err *e);

/* Releases what bi owns and zeroes it. Accepts a zeroed struct. */
void bundle_info_free(struct bundle_info *bi);

/* Checks every "files" entry of dir/bundle.json against its SHA-256. On
 * success *checked is the number of files verified. On failure the message
 * lists the first bad files ("vmlinux: expected X, got Y", "modules/x: missing").
 * Blocks while it reads every file. */
int bundle_info_verify(const char *dir, size_t *checked, struct err *e);

/* 1 when p is a safe relative path inside a bundle: not empty, not absolute,
 * no ".." component. */
int bundle_info_path_safe(const char *p);

#endif
