/*
 * listen_fds: socket activation, the sd_listen_fds(3) protocol without
 * libsystemd. A service manager that passes sockets sets LISTEN_PID to our
 * pid and LISTEN_FDS to their count; they start at descriptor 3.
 */
#ifndef BANGER_DAEMON_LISTEN_FDS_H
#define BANGER_DAEMON_LISTEN_FDS_H

#include <stddef.h>

#include "util/err.h"

/* Takes the first passed socket: 1 with *fd set (close-on-exec and
 * non-blocking from now on) and its path in path (size bytes), 0 when
 * nothing was passed (or passed to another pid), -1 (e filled) when fd 3
 * is not a listening AF_UNIX stream socket. Always unsets LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES, so no child sees them. Call before any
 * thread starts (it changes the environment). */
int listen_fds_take(int *fd, char *path, size_t size, struct err *e);

#endif
