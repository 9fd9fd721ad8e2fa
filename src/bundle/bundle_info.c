/*
 * bundle_info: see bundle_info.h. bundle.json may come from the network, so
 * every path it names is checked to stay inside the bundle directory.
 */
#include "bundle/bundle_info.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle_sha256.h"
#include "util/buf.h"
#include "util/fs.h"

#define REBUILD_HINT "rebuild it with `make runtime-bundle`"

/* How each part of the bundle is found: a top-level key, then the "files"
 * entries named in keys[], then the conventional names that exist. */
struct role {
	const char *name;
	const char *keys[4];
	const char *defaults[3];
	int required;
	int is_dir;
	size_t offset;
};

/* clang-format off */
static const struct role roles[] = {
	{"kernel", {"kernel", "vmlinux"}, {"vmlinux"}, 1, 0, offsetof(struct bundle_info, kernel)},
	{"initrd", {"initrd", "initrd.img"}, {"initrd.img"}, 0, 0,
	 offsetof(struct bundle_info, initrd)},
	{"modules_dir", {"modules_dir", "modules"}, {"modules"}, 0, 1,
	 offsetof(struct bundle_info, modules_dir)},
	{"rootfs", {"rootfs", "rootfs.ext4", "rootfs-docker.ext4"},
	 {"rootfs.ext4", "rootfs-docker.ext4"}, 1, 0, offsetof(struct bundle_info, rootfs)},
	{"packages", {"packages", "packages.apt"}, {"packages.apt"}, 0, 0,
	 offsetof(struct bundle_info, packages)},
	{"firecracker", {"firecracker"}, {"firecracker"}, 0, 0,
	 offsetof(struct bundle_info, firecracker)},
};
/* clang-format on */

int bundle_info_path_safe(const char *p)
{
	const char *s = p;

	if (!p || !p[0] || p[0] == '/')
		return 0;
	while (*s) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

/* The relative path bundle.json gives for a role, or NULL. */
static const char *named_path(json_t *root, const struct role *r)
{
	json_t *files = json_object_get(root, "files");
	json_t *v = json_object_get(root, r->name);

	if (json_is_string(v))
		return json_string_value(v);
	for (size_t i = 0; i < 4 && r->keys[i]; i++) {
		v = json_object_get(json_object_get(files, r->keys[i]), "path");
		if (json_is_string(v))
			return json_string_value(v);
	}
	return NULL;
}

static int kind_ok(const char *path, int is_dir)
{
	return is_dir ? fs_is_dir(path) : (fs_exists(path) && !fs_is_dir(path));
}

static int resolve_role(json_t *root, const struct role *r, struct bundle_info *bi, struct err *e)
{
	const char *rel = named_path(root, r);
	char **slot = (char **)((char *)bi + r->offset);

	if (rel) {
		if (!bundle_info_path_safe(rel))
			return err_set(e, ERR_INVALID,
				       "%s/bundle.json: %s path '%s' leaves the bundle directory",
				       bi->dir, r->name, rel);
		*slot = xasprintf("%s/%s", bi->dir, rel);
		if (kind_ok(*slot, r->is_dir))
			return 0;
		err_set(e, ERR_NOT_FOUND, "runtime bundle %s: bundle.json names %s '%s' but %s %s",
			bi->dir, r->name, rel, *slot,
			r->is_dir ? "is not a directory" : "is missing");
		err_hint(e, REBUILD_HINT);
		return -1;
	}
	for (size_t i = 0; i < 3 && r->defaults[i]; i++) {
		char *p = xasprintf("%s/%s", bi->dir, r->defaults[i]);

		if (kind_ok(p, r->is_dir)) {
			*slot = p;
			return 0;
		}
		free(p);
	}
	if (!r->required)
		return 0;
	err_set(e, ERR_NOT_FOUND,
		"runtime bundle %s has no %s (bundle.json names none and %s/%s "
		"is missing)",
		bi->dir, r->name, bi->dir, r->defaults[0]);
	err_hint(e, REBUILD_HINT);
	return -1;
}

/* Parses dir/bundle.json; the error says which bundle and where. */
static json_t *load_json(const char *dir, struct err *e)
{
	char *path = xasprintf("%s/bundle.json", dir);
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		if (!fs_exists(path))
			err_set(e, ERR_NOT_FOUND, "runtime bundle %s has no bundle.json", dir);
		else
			err_set(e, ERR_INVALID, "%s:%d: %s", path, jerr.line, jerr.text);
		err_hint(e, REBUILD_HINT);
	} else if (!json_is_object(root)) {
		err_set(e, ERR_INVALID, "%s: expected a JSON object", path);
		json_decref(root);
		root = NULL;
	} else if (json_object_get(root, "files") &&
		   !json_is_object(json_object_get(root, "files"))) {
		err_set(e, ERR_INVALID, "%s: \"files\" must be an object", path);
		json_decref(root);
		root = NULL;
	}
	free(path);
	return root;
}

int bundle_info_load(const char *dir, struct bundle_info *out, struct err *e)
{
	json_t *root = NULL, *kver;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->dir = fs_realpath(dir);
	if (!out->dir || !fs_is_dir(out->dir)) {
		err_set(e, ERR_NOT_FOUND, "runtime bundle directory %s does not exist", dir);
		err_hint(e, "run `make runtime-bundle`, or set runtime_dir in config.toml");
		goto out;
	}
	root = load_json(out->dir, e);
	if (!root)
		goto out;
	kver = json_object_get(root, "kernel_version");
	if (json_is_string(kver) && json_string_value(kver)[0])
		out->kernel_version = xstrdup(json_string_value(kver));
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (resolve_role(root, &roles[i], out, e) < 0)
			goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		bundle_info_free(out);
	return rc;
}

void bundle_info_free(struct bundle_info *bi)
{
	free(bi->dir);
	free(bi->kernel_version);
	free(bi->kernel);
	free(bi->initrd);
	free(bi->modules_dir);
	free(bi->rootfs);
	free(bi->packages);
	free(bi->firecracker);
	memset(bi, 0, sizeof(*bi));
}

/* Checks one files entry; a problem is appended to bad and counted. */
static void verify_one(const char *dir, const char *name, json_t *ent, struct buf *bad,
		       size_t *nbad)
{
	const char *rel = json_string_value(json_object_get(ent, "path"));
	const char *want = json_string_value(json_object_get(ent, "sha256"));
	char got[BUNDLE_SHA256_HEX], *path;
	struct err e2;
	struct stat st;

	if (!rel || !bundle_info_path_safe(rel) || !bundle_sha256_valid(want)) {
		buf_printf(bad,
			   "%s%s: bad entry (needs a relative \"path\" and a 64-hex \"sha256\")",
			   (*nbad)++ ? "; " : "", name);
		return;
	}
	path = xasprintf("%s/%s", dir, rel);
	if (stat(path, &st) < 0)
		buf_printf(bad, "%s%s: %s", (*nbad)++ ? "; " : "", rel,
			   errno == ENOENT ? "missing" : strerror(errno));
	else if (!S_ISREG(st.st_mode))
		buf_printf(bad, "%s%s: not a regular file", (*nbad)++ ? "; " : "", rel);
	else if (bundle_sha256_file(path, got, &e2) < 0)
		buf_printf(bad, "%s%s", (*nbad)++ ? "; " : "", e2.msg);
	else if (!bundle_sha256_equal(want, got))
		buf_printf(bad, "%s%s: expected sha256 %s, got %s", (*nbad)++ ? "; " : "", rel,
			   want, got);
	free(path);
}

int bundle_info_verify(const char *dir, size_t *checked, struct err *e)
{
	struct buf bad = BUF_INIT;
	size_t nbad = 0, total;
	json_t *root = load_json(dir, e), *files, *ent;
	const char *name;

	*checked = 0;
	if (!root)
		return -1;
	files = json_object_get(root, "files");
	total = json_object_size(files);
	if (total == 0) {
		json_decref(root);
		err_set(e, ERR_INVALID, "%s/bundle.json lists no files to verify", dir);
		err_hint(e, REBUILD_HINT);
		return -1;
	}
	json_object_foreach(files, name, ent)
	{
		verify_one(dir, name, ent, &bad, &nbad);
	}
	json_decref(root);
	if (nbad) {
		err_set(e, ERR_INVALID,
			"runtime bundle %s: %zu of %zu files failed verification: %s", dir, nbad,
			total, buf_str(&bad));
		err_hint(e, "the bundle is damaged or was changed; " REBUILD_HINT
			    " or fetch it again");
		buf_free(&bad);
		return -1;
	}
	*checked = total;
	return 0;
}
