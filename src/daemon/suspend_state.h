/*
 * suspend_state: the manifest of a saved guest state (issue 11).
 *
 * A suspend leaves the VMM's state files in a directory together with
 * manifest.json, which records what the state was made against (driver,
 * VMM binary, kernel, initrd, base image, vCPUs, memory, MAC) and every
 * state file's size and SHA-256. A resume uses the state only when all of
 * it is unchanged; otherwise the VM boots cold, and the reason says why.
 * The manifest is written last: a directory without one is not a state.
 */
#ifndef BANGER_DAEMON_SUSPEND_STATE_H
#define BANGER_DAEMON_SUSPEND_STATE_H

#include "util/err.h"

#define SUSPEND_MANIFEST "manifest.json"

/* What a state was made against. Files are recorded by path, size and
 * mtime (a rebuilt kernel or image has a new mtime); vmm_bin is the VMM
 * binary's identity as vm_bin_identity() gives it. initrd may be "". */
struct suspend_ident {
	const char *driver;
	const char *vmm_bin;
	const char *kernel;
	const char *initrd;
	const char *rootfs;
	long long vcpu;
	long long memory_mib;
	const char *mac;
};

/* Writes dir/manifest.json for the files the VMM wrote into dir (every
 * regular file), fsyncs it and dir. *bytes: the total size of the state
 * files (the disk space they take: a memory file may be sparse). Errors
 * name the file. */
int suspend_state_seal(const char *dir, const struct suspend_ident *id, long long *bytes,
		       struct err *e);

/* Whether dir holds a complete state usable with id: 0, or -1 with e
 * saying why not in words for the user ("the kernel changed since the
 * suspend", "memory is truncated: 1048576 bytes, 268435456 expected").
 * *bytes gets the recorded total (0 when unreadable). */
int suspend_state_check(const char *dir, const struct suspend_ident *id, long long *bytes,
			struct err *e);

/* The total size of the state files its manifest records; 0 when none. */
long long suspend_state_bytes(const char *dir);

/* 1 when dir has a manifest (it was sealed), else 0. Checks nothing else. */
int suspend_state_sealed(const char *dir);

#endif
