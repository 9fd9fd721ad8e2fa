/*
 * guest_modload: see guest_modload.h.
 */
#include "guest/guest_modload.h"

#include "guest/guest_modules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From <linux/module.h>: the kernel decompresses .ko.xz/.ko.zst itself
 * (CONFIG_MODULE_DECOMPRESS); plain .ko needs no flag. */
#define GUEST_MODULE_INIT_COMPRESSED_FILE 4

static char *slurp(const char *path, int *err_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data;
	size_t len = 0;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		*err_out = errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		abort();
	while (len < (size_t)st.st_size && (n = read(fd, data + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	data[len] = '\0';
	close(fd);
	return data;
}

static int load_one(const char *moddir, const char *rel, const char *mmio_params, struct err *e)
{
	char path[PATH_MAX], name[64];
	const char *params = "";
	int fd, flags = 0;
	long rc;

	snprintf(path, sizeof(path), "%s/%s", moddir, rel);
	guest_modules_name(rel, name, sizeof(name));
	if (strcmp(name, "virtio_mmio") == 0)
		params = mmio_params;
	if (strstr(rel, ".ko.") != NULL)
		flags = GUEST_MODULE_INIT_COMPRESSED_FILE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "load module %s: open %s", name, path);
	rc = syscall(SYS_finit_module, fd, params, flags);
	if (rc < 0 && errno != EEXIST) {
		int saved = errno;
		close(fd);
		return err_errno(e, saved, "load module %s (%s)", name, path);
	}
	close(fd);
	return 0;
}

int guest_modload_all(const char *moddir, const char *mmio_params, int *loaded, struct err *e)
{
	struct guest_modlist l;
	char path[PATH_MAX];
	char *text;
	int errnum = 0, rc = 0;

	*loaded = 0;
	snprintf(path, sizeof(path), "%s/modules.dep", moddir);
	text = slurp(path, &errnum);
	if (!text) {
		if (errnum == ENOENT)
			return 0;
		return err_errno(e, errnum, "read %s", path);
	}
	rc = guest_modules_order(text, &l, e);
	free(text);
	if (rc < 0)
		return err_wrap(e, "%s", path);
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		rc = load_one(moddir, l.paths[i], mmio_params, e);
		if (rc == 0)
			(*loaded)++;
	}
	guest_modules_free(&l);
	return rc;
}
