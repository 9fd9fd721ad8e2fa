/*
 * bundle_download: a resumable HTTP(S)/file download into a local file, with
 * optional progress output. Used for the runtime bundle tarball.
 */
#ifndef BANGER_BUNDLE_DOWNLOAD_H
#define BANGER_BUNDLE_DOWNLOAD_H

#include "util/err.h"

struct bundle_progress {
	int fd;	 /* where progress goes; -1 for none */
	int tty; /* 1: a redrawn bar; 0: a plain line every 10% */
};

/*
 * Downloads url into path. When path already holds bytes, they are kept and
 * the rest is asked for with a Range request; a server that ignores the Range
 * makes us start over. Redirects are followed (http/https only); an HTTP error
 * status fails. Blocks until done.
 *
 * On failure *interrupted says whether the transfer broke off in a way a retry
 * can continue (connection lost, timeout, body shorter than announced): the
 * caller then keeps path for the next attempt; otherwise it should delete it.
 */
int bundle_download(const char *url, const char *path, const struct bundle_progress *progress,
		    int *interrupted, struct err *e);

#endif
