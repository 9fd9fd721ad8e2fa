/* tail: print the end of a log file and follow it (`vm logs`, `daemon logs`). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"

/* Offset where the last `lines` lines of fd start. */
static off_t tail_start(int fd, long lines)
{
	struct stat st;
	char chunk[8192];
	off_t pos;
	long seen = 0;

	if (fstat(fd, &st) < 0)
		return 0;
	pos = st.st_size;
	if (lines <= 0)
		return pos;
	while (pos > 0) {
		size_t n = pos < (off_t)sizeof(chunk) ? (size_t)pos : sizeof(chunk);
		ssize_t r;

		pos -= (off_t)n;
		r = pread(fd, chunk, n, pos);
		if (r <= 0)
			return 0;
		for (ssize_t i = r - 1; i >= 0; i--) {
			/* The newline ending the last line does not start a line. */
			if (chunk[i] == '\n' && (pos + i != st.st_size - 1) && ++seen == lines)
				return pos + i + 1;
		}
	}
	return 0;
}

static off_t copy_from(int fd, off_t off)
{
	char chunk[8192];
	ssize_t n;

	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n)
			break;
		off += n;
	}
	fflush(stdout);
	return off;
}

int cli_tail_file(const char *path, long lines, int follow, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ino = -1;
	off_t off;
	struct stat st;

	if (fd < 0 && !(errno == ENOENT && follow))
		return err_errno(e, errno, "open %s", path);
	off = fd >= 0 ? copy_from(fd, tail_start(fd, lines)) : 0;
	if (!follow)
		goto out;
	/* Wait for appends (or the file's creation) with inotify, re-checking
	 * now and then in case the file was replaced. */
	ino = inotify_init1(IN_CLOEXEC);
	for (;;) {
		char ev[4096];
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
		if (fd < 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			off = 0;
		}
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && st.st_size < off)
				off = 0; /* truncated */
			off = copy_from(fd, off);
		}
		inotify_add_watch(ino, fd >= 0 ? path : dir, IN_MODIFY | IN_CREATE);
		free(dir);
		{
			struct timeval tv = {1, 0};
			fd_set rf;

			FD_ZERO(&rf);
			FD_SET(ino, &rf);
			if (select(ino + 1, &rf, NULL, NULL, &tv) > 0 &&
			    read(ino, ev, sizeof(ev)) < 0)
				break;
		}
	}
out:
	if (ino >= 0)
		close(ino);
	if (fd >= 0)
		close(fd);
	return 0;
}
