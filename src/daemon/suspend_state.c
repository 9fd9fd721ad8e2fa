/* suspend_state: see suspend_state.h. */
#include "daemon/suspend_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle/bundle_sha256.h"
#include "util/buf.h"
#include "util/fs.h"

#define MANIFEST_VERSION 1

/* "size mtime" of a file, or "absent": what changes when it is rebuilt. */
static void stamp(const char *path, char *out, size_t len)
{
	struct stat st;

	if (!path || !path[0])
		snprintf(out, len, "none");
	else if (stat(path, &st) < 0)
		snprintf(out, len, "absent");
	else
		snprintf(out, len, "%lld %lld.%09ld", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static json_t *file_ref(const char *path)
{
	char s[96];

	stamp(path, s, sizeof(s));
	return json_pack("{s:s, s:s}", "path", path ? path : "", "stamp", s);
}

static int fsync_path(const char *path, int dir, struct err *e)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (fsync(fd) < 0) {
		int err = errno;

		close(fd);
		return err_errno(e, err, "fsync %s", path);
	}
	close(fd);
	return 0;
}

int suspend_state_seal(const char *dir, const struct suspend_ident *id, long long *bytes,
		       struct err *e)
{
	json_t *m = NULL, *files = json_array();
	DIR *dh = NULL;
	struct dirent *de;
	char *path = NULL, *text = NULL;
	long long total = 0;
	int ret = -1;

	*bytes = 0;
	dh = opendir(dir);
	if (!dh) {
		err_errno(e, errno, "open %s", dir);
		goto out;
	}
	while ((de = readdir(dh))) {
		char sha[BUNDLE_SHA256_HEX];
		struct stat st;

		if (de->d_name[0] == '.' || strcmp(de->d_name, SUSPEND_MANIFEST) == 0)
			continue;
		free(path);
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0) {
			err_errno(e, errno, "stat %s", path);
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		/* The VMM wrote it, perhaps without fsync: make it durable before
		 * the manifest says it is complete. */
		if (fsync_path(path, 0, e) < 0 || bundle_sha256_file(path, sha, e) < 0)
			goto out;
		json_array_append_new(files,
				      json_pack("{s:s, s:I, s:s}", "name", de->d_name, "size",
						(json_int_t)st.st_size, "sha256", sha));
		/* Disk use: a memory file is sparse where the guest never wrote. */
		total += (long long)st.st_blocks * 512;
	}
	if (json_array_size(files) == 0) {
		err_set(e, ERR_VMM, "the VMM wrote no state file into %s", dir);
		goto out;
	}
	m = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:O, s:I}", "version",
		      MANIFEST_VERSION, "driver", id->driver, "vmm_bin", id->vmm_bin, "kernel",
		      file_ref(id->kernel), "initrd", file_ref(id->initrd), "rootfs",
		      file_ref(id->rootfs), "vcpu", (json_int_t)id->vcpu, "memory_mib",
		      (json_int_t)id->memory_mib, "mac", id->mac, "files", files, "bytes",
		      (json_int_t)total);
	if (!m) {
		err_set(e, ERR_INTERNAL, "cannot build the suspend manifest");
		goto out;
	}
	text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
	free(path);
	path = xasprintf("%s/%s", dir, SUSPEND_MANIFEST);
	if (fs_write_atomic(path, text, strlen(text), 0600, e) < 0 || fsync_path(dir, 1, e) < 0)
		goto out;
	*bytes = total;
	ret = 0;
out:
	if (dh)
		closedir(dh);
	json_decref(files);
	json_decref(m);
	free(path);
	free(text);
	return ret;
}

int suspend_state_sealed(const char *dir)
{
	char *p = xasprintf("%s/%s", dir, SUSPEND_MANIFEST);
	int ok = fs_exists(p);

	free(p);
	return ok;
}

/* Compares one recorded file reference with the file now. */
static int ref_same(json_t *m, const char *key, const char *path, const char *what, struct err *e)
{
	json_t *r = json_object_get(m, key);
	const char *rp = json_string_value(json_object_get(r, "path"));
	const char *rs = json_string_value(json_object_get(r, "stamp"));
	char now[96];

	stamp(path, now, sizeof(now));
	if (!rp || !rs)
		return err_set(e, ERR_INVALID, "the saved state's manifest has no %s", what);
	if (strcmp(rp, path ? path : "") != 0)
		return err_set(e, ERR_INVALID,
			       "the %s is another file than at the suspend (%s, now %s)", what,
			       rp[0] ? rp : "none", path && path[0] ? path : "none");
	if (strcmp(rs, now) != 0)
		return err_set(e, ERR_INVALID, "the %s changed since the suspend (%s)", what,
			       path && path[0] ? path : "none");
	return 0;
}

int suspend_state_check(const char *dir, const struct suspend_ident *id, long long *bytes,
			struct err *e)
{
	json_t *m = NULL, *files, *f;
	json_error_t je;
	char *path = xasprintf("%s/%s", dir, SUSPEND_MANIFEST), *text = NULL;
	size_t i;
	int ret = -1;

	*bytes = 0;
	if (fs_read(path, 1 << 20, &text, NULL, e) < 0) {
		err_wrap(e, "the saved state has no readable manifest");
		goto out;
	}
	m = json_loads(text, 0, &je);
	if (!json_is_object(m) ||
	    json_integer_value(json_object_get(m, "version")) != MANIFEST_VERSION) {
		err_set(e, ERR_INVALID,
			"the saved state's manifest %s is not one this banger "
			"wrote",
			path);
		goto out;
	}
	*bytes = json_integer_value(json_object_get(m, "bytes"));
	{
		const char *drv = json_string_value(json_object_get(m, "driver"));
		const char *bin = json_string_value(json_object_get(m, "vmm_bin"));
		const char *mac = json_string_value(json_object_get(m, "mac"));
		long long vcpu = json_integer_value(json_object_get(m, "vcpu"));
		long long mem = json_integer_value(json_object_get(m, "memory_mib"));

		if (!drv || strcmp(drv, id->driver) != 0) {
			err_set(e, ERR_INVALID, "the VM now uses %s, the state was saved by %s",
				id->driver, drv ? drv : "another VMM");
			goto out;
		}
		if (!bin || strcmp(bin, id->vmm_bin) != 0) {
			err_set(e, ERR_INVALID,
				"the %s binary changed since the suspend (%s, now %s)", id->driver,
				bin ? bin : "?", id->vmm_bin);
			goto out;
		}
		if (vcpu != id->vcpu || mem != id->memory_mib) {
			err_set(e, ERR_INVALID,
				"the VM's vCPUs or memory changed since the suspend "
				"(%lld vCPU %lld MiB, now %lld vCPU %lld MiB)",
				vcpu, mem, id->vcpu, id->memory_mib);
			goto out;
		}
		if (!mac || strcmp(mac, id->mac) != 0) {
			err_set(e, ERR_INVALID, "the VM's MAC address changed since the suspend");
			goto out;
		}
	}
	if (ref_same(m, "kernel", id->kernel, "kernel", e) < 0 ||
	    ref_same(m, "initrd", id->initrd, "initrd", e) < 0 ||
	    ref_same(m, "rootfs", id->rootfs, "base image", e) < 0)
		goto out;
	files = json_object_get(m, "files");
	if (!json_is_array(files) || json_array_size(files) == 0) {
		err_set(e, ERR_INVALID, "the saved state's manifest lists no file");
		goto out;
	}
	json_array_foreach(files, i, f)
	{
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *want = json_string_value(json_object_get(f, "sha256"));
		long long size = json_integer_value(json_object_get(f, "size"));
		char sha[BUNDLE_SHA256_HEX];
		struct stat st;

		if (!name || !want || strchr(name, '/')) {
			err_set(e, ERR_INVALID, "the saved state's manifest is damaged");
			goto out;
		}
		free(path);
		path = xasprintf("%s/%s", dir, name);
		if (stat(path, &st) < 0) {
			err_set(e, ERR_INVALID, "the state file %s is missing", path);
			goto out;
		}
		if ((long long)st.st_size != size) {
			err_set(e, ERR_INVALID,
				"the state file %s is truncated or grown: %lld bytes, "
				"%lld expected",
				path, (long long)st.st_size, size);
			goto out;
		}
		if (bundle_sha256_file(path, sha, e) < 0)
			goto out;
		if (!bundle_sha256_equal(sha, want)) {
			err_set(e, ERR_INVALID,
				"the state file %s is corrupt (its SHA-256 differs from "
				"the one saved with it)",
				path);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(m);
	free(path);
	free(text);
	return ret;
}

long long suspend_state_bytes(const char *dir)
{
	char *p = xasprintf("%s/%s", dir, SUSPEND_MANIFEST), *text = NULL;
	json_t *m;
	long long n = 0;

	if (fs_read(p, 1 << 20, &text, NULL, NULL) == 0 && (m = json_loads(text, 0, NULL))) {
		n = json_integer_value(json_object_get(m, "bytes"));
		json_decref(m);
	}
	free(p);
	free(text);
	return n;
}
