/*
 * image_plan: the checked, resolved recipe of an image build.
 *
 * Everything the user gave and everything the build needs is checked here,
 * before any record, directory or log exists, so bad input fails fast and
 * leaves nothing behind: the package list (Debian names only), suite,
 * mirror, size, the runtime bundle's kernel and initrd ("run make
 * runtime-bundle" when missing), host tools, and the bootstrap mode
 * (mmdebstrap --mode=root as root, --mode=unshare otherwise, a clear error
 * when neither can work). Builds always start from scratch: --base-rootfs
 * (building on an existing ext4, which needs a mount and a chroot) is
 * refused with a clear error.
 */
#ifndef BANGER_IMAGE_IMAGE_PLAN_H
#define BANGER_IMAGE_IMAGE_PLAN_H

#include "config/config.h"
#include "util/err.h"

/* What the user asked for (NULL / 0: the default in the comment). */
struct image_plan_opts {
	int docker;		   /* add docker.io, enabled */
	const char *packages_file; /* cfg default_packages_file, else <bundle>/packages.apt */
	const char *suite;	   /* bookworm */
	const char *mirror;	   /* the host's apt mirror */
	const char *size;	   /* content + headroom */
	const char *base_rootfs;   /* build on this ext4 instead of from scratch */
};

/* Everything resolved and checked. */
struct image_plan {
	char *suite;
	char *mirrors[3];   /* "deb URI SUITE main" lines; unused ones NULL */
	char *mirror_desc;  /* for the log: the mirror URI and where it came from */
	char *packages;	    /* the whole --include list, comma-separated */
	char *packages_src; /* where the extra packages came from, for the log */
	int docker;
	long long size; /* bytes; 0: content + headroom */
	char *kernel;	/* bundle files to copy */
	char *initrd;
	char *modules_src; /* modules tree to copy into the rootfs, or NULL */
	char *modules_dst; /* its place in the tree: lib/modules or lib/modules/VER */
	char *customize;   /* customize_script, or NULL */
	int rootless;	   /* 1: mmdebstrap --mode=unshare + fakeroot; 0: --mode=root */
	char *base;	   /* base rootfs to start from, or NULL: from scratch */
	int base_explicit; /* given with --base-rootfs (else the bundle's or config's) */
};

/* Validates opts against cfg and the bundle in runtime_dir and fills plan
 * (free with image_plan_free, also after a failure). Makes nothing; runs
 * only harmless probes (unshare ... true). */
int image_plan_prepare(const struct image_plan_opts *opts, const struct config *cfg,
		       const char *runtime_dir, struct image_plan *plan, struct err *e);
/* Frees what plan holds and zeroes it. */
void image_plan_free(struct image_plan *plan);

#endif
