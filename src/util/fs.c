/* fs: see fs.h. */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

int fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = err_errno(e, errno, "create directory %s", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (ret == 0 && !fs_is_dir(path))
		ret = err_set(e, ERR_IO, "%s exists and is not a directory", path);
	free(p);
	return ret;
}

int fs_read(const char *path, size_t max, char **out, size_t *len, struct err *e)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "read %s", path);
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			err_set(e, ERR_INVALID, "%s is larger than %zu bytes", path, max);
			goto fail;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	*out = buf_steal(&b);
	return 0;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	const char *p = data;
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		err_errno(e, errno, "create %s", tmp);
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "write %s", tmp);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		err_errno(e, errno, "fsync %s", tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		err_errno(e, errno, "rename %s", path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int fs_write_scratch(const char *path, const void *data, size_t len, mode_t mode, struct err *e)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), ret = -1;

	if (fd < 0)
		return err_errno(e, errno, "create %s", path);
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, errno, "write %s", path);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_errno(e, errno, "stat %s", path);
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return err_errno(e, errno, "remove %s", path);
	return 0;
}

int fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_check_readable(const char *path, const char *what, struct err *e)
{
	struct stat st;

	if (!path || !path[0])
		return err_set(e, ERR_INVALID, "no %s given", what);
	if (stat(path, &st) < 0)
		return err_errno(e, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_INVALID, "%s %s is not a regular file", what, path);
	if (access(path, R_OK) < 0)
		return err_errno(e, errno, "%s %s", what, path);
	return 0;
}

int fs_sizes(const char *path, long long *apparent, long long *allocated, struct err *e)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(e, errno, "stat %s", path);
	if (apparent)
		*apparent = (long long)st.st_size;
	if (allocated)
		*allocated = (long long)st.st_blocks * 512;
	return 0;
}

char *fs_realpath(const char *path)
{
	return realpath(path, NULL);
}

int fs_err_is_nospace(const struct err *e)
{
	return e && e->code != ERR_OK && strstr(e->msg, strerror(ENOSPC)) != NULL;
}

int fs_err_nospace(struct err *e, const char *state_dir)
{
	err_set(e, ERR_IO, "no space left on device (state directory %s)", state_dir);
	err_hint(e, "free some space there (`df -h %s` shows what is left), then try again",
		 state_dir);
	return -1;
}
