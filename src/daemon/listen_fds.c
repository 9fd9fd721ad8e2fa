/* listen_fds: see listen_fds.h. */
#include "daemon/listen_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define FIRST_FD 3

/* A decimal that is all of s, or -1. */
static long parse_count(const char *s)
{
	char *end;
	long v;

	if (!s || !s[0])
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 ? -1 : v;
}

static int sockopt(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

int listen_fds_take(int *fd, char *path, size_t size, struct err *e)
{
	long pid = parse_count(getenv("LISTEN_PID")), n = parse_count(getenv("LISTEN_FDS"));
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*fd = -1;
	if (pid != (long)getpid() || n < 1)
		return 0;
	/* Every passed descriptor stays out of the VMMs and tools we start. */
	for (long i = 0; i < n && i < 1024; i++)
		fcntl(FIRST_FD + (int)i, F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	if (fstat(FIRST_FD, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    sockopt(FIRST_FD, SO_DOMAIN) != AF_UNIX || sockopt(FIRST_FD, SO_TYPE) != SOCK_STREAM ||
	    sockopt(FIRST_FD, SO_ACCEPTCONN) != 1 ||
	    getsockname(FIRST_FD, (struct sockaddr *)&sa, &len) < 0 || sa.sun_path[0] != '/') {
		err_set(
		    e, ERR_INVALID,
		    "the socket passed by the service manager (descriptor 3, LISTEN_FDS=%ld) is "
		    "not a listening Unix stream socket with a path",
		    n);
		err_hint(e, "bangerd.socket needs ListenStream=%%t/banger/bangerd.sock (see "
			    "`banger daemon install`)");
		return -1;
	}
	if (fcntl(FIRST_FD, F_SETFL, fcntl(FIRST_FD, F_GETFL) | O_NONBLOCK) < 0)
		return err_errno(e, errno, "make the passed socket non-blocking");
	snprintf(path, size, "%.*s", (int)sizeof(sa.sun_path), sa.sun_path);
	*fd = FIRST_FD;
	return 1;
}
