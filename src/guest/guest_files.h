/*
 * guest_files: the per-boot configuration files banger-init writes into the
 * new root (that is, into the VM's overlay), rendered from the kernel
 * parameters. Pure: the caller reads the old /etc/hosts and writes results.
 *
 *   /etc/hostname                            banger.hostname
 *   /etc/hosts                               the old file with its 127.0.1.1
 *                                            line replaced (user lines kept)
 *   /etc/systemd/network/10-banger-eth0.network   banger.ip/gw/dns; removed
 *                                            when banger.ip is absent
 *   /etc/resolv.conf                         banger.dns (a symlink there is
 *                                            replaced by a plain file)
 * A file whose parameter is absent is left alone (except the .network file).
 */
#ifndef BANGER_GUEST_FILES_H
#define BANGER_GUEST_FILES_H

#include "guest/guest_cmdline.h"
#include "util/err.h"

#include <stddef.h>

#define GUEST_FILES_MAX 4
#define GUEST_FILES_NETWORK "/etc/systemd/network/10-banger-eth0.network"

struct guest_file {
	const char *path; /* absolute path inside the guest root (a constant) */
	char *content;	  /* malloc'd text; NULL means "remove the file" */
};

struct guest_files {
	struct guest_file f[GUEST_FILES_MAX];
	size_t n;
};

/* Renders the files for c. old_hosts is the current /etc/hosts text of the
 * guest, or NULL when it has none. Returns 0 (out initialised by this call;
 * free with guest_files_free), or -1 with e set. */
int guest_files_render(const struct guest_cmdline *c, const char *old_hosts,
		       struct guest_files *out, struct err *e);

/* Frees the contents. Accepts an empty set. */
void guest_files_free(struct guest_files *fs);

#endif
