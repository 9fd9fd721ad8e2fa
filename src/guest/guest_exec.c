/*
 * guest_exec: run a guest_plan, write guest_files. See guest_exec.h.
 */
#include "guest/guest_exec.h"

#include "guest/guest_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

static int run_step(const struct guest_step *s, struct err *e)
{
	switch (s->kind) {
	case GUEST_STEP_MKDIR:
		if (mkdir_one(s->target) < 0)
			return err_errno(e, errno, "%s: mkdir %s", s->what, s->target);
		return 0;
	case GUEST_STEP_MOUNT:
		if (mount(s->source, s->target, s->fstype, s->flags, s->data[0] ? s->data : NULL) <
		    0)
			return err_errno(e, errno, "%s: mount %s (%s%s) at %s", s->what, s->source,
					 s->fstype, s->flags & MS_RDONLY ? ", read-only" : "",
					 s->target);
		return 0;
	case GUEST_STEP_MOVE:
		if (mount(s->source, s->target, NULL, MS_MOVE, NULL) < 0)
			return err_errno(e, errno, "%s: move mount %s to %s", s->what, s->source,
					 s->target);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unknown mount plan step %d", (int)s->kind);
}

int guest_exec_plan(const struct guest_plan *p, struct err *e)
{
	for (size_t i = 0; i < p->n; i++)
		if (run_step(&p->steps[i], e) < 0)
			return -1;
	return 0;
}

/* mkdir -p of the directory part of path. */
static int mkdir_parents(const char *path, struct err *e)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir_one(tmp) < 0)
			return err_errno(e, errno, "mkdir %s", tmp);
		*p = '/';
	}
	return 0;
}

/* Reads path into a malloc'd string; NULL when absent, a symlink or unreadable
 * (we then start from the default content). */
static char *read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *data = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return NULL;
	data = malloc(65537);
	if (!data)
		abort();
	while (len < 65536 && (n = read(fd, data + len, 65536 - len)) > 0)
		len += (size_t)n;
	data[len] = '\0';
	close(fd);
	return data;
}

static int write_file(const char *path, const char *content, struct err *e)
{
	char tmp[PATH_MAX];
	size_t len = strlen(content);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.banger-tmp", path);
	if (mkdir_parents(path, e) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_errno(e, errno, "create %s", tmp);
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		return err_errno(e, saved, "write %s", tmp);
	}
	close(fd);
	/* rename() replaces a symlink itself (dangling or not) rather than its
	 * target: exactly what /etc/resolv.conf -> ../run/... needs. */
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_errno(e, saved, "rename %s to %s", tmp, path);
	}
	return 0;
}

int guest_exec_files(const char *root, const struct guest_cmdline *c, struct err *e)
{
	struct guest_files fs;
	char path[PATH_MAX];
	char *old_hosts;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/etc/hosts", root);
	old_hosts = read_small(path);
	rc = guest_files_render(c, old_hosts, &fs, e);
	free(old_hosts);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < fs.n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s%s", root, fs.f[i].path);
		if (fs.f[i].content)
			rc = write_file(path, fs.f[i].content, e);
		else if (unlink(path) < 0 && errno != ENOENT)
			rc = err_errno(e, errno, "remove %s", path);
	}
	guest_files_free(&fs);
	return rc;
}
