/*
 * bundle_fetch: see bundle_fetch.h. The order of steps is the invariant:
 * nothing touches DESTDIR until the new tree is complete and checked, and
 * the last step is a single rename.
 */
#include "bundle/bundle_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle_sha256.h"
#include "bundle/bundle_unpack.h"
#include "util/buf.h"
#include "util/fs.h"

/* The download's file name: the URL's last path part, made safe. */
static char *url_file_name(const char *url)
{
	const char *s = strstr(url, "://");
	size_t end, start;
	char *name;

	s = s ? s + 3 : url;
	end = strcspn(s, "?#");
	start = end;
	while (start > 0 && s[start - 1] != '/')
		start--;
	if (end == start || (end - start <= 2 && s[start] == '.'))
		return xstrdup("bundle.tar.gz");
	name = xasprintf("%.*s", (int)(end - start), s + start);
	for (char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    *p))
			*p = '_';
	return name;
}

/* Swap without RENAME_EXCHANGE: move dest aside, move fresh in, and move
 * dest back if the second rename fails. */
static int swap_two_step(const char *fresh, const char *dest, struct err *e)
{
	char *old = xasprintf("%s.old-XXXXXX", dest);
	int rc = -1;

	if (!mkdtemp(old)) {
		err_errno(e, errno, "create %s", old);
		goto out;
	}
	/* Renaming a directory onto an empty one replaces it. */
	if (rename(dest, old) < 0) {
		err_errno(e, errno, "move %s aside", dest);
		rmdir(old);
		goto out;
	}
	if (rename(fresh, dest) < 0) {
		err_errno(e, errno, "move %s to %s", fresh, dest);
		if (rename(old, dest) < 0)
			err_hint(e, "the previous bundle is in %s; move it back to %s", old, dest);
		goto out;
	}
	fs_rm_rf(old, NULL);
	rc = 0;
out:
	free(old);
	return rc;
}

int bundle_fetch_swap(const char *fresh, const char *dest, struct err *e)
{
	struct stat st;

	if (lstat(dest, &st) < 0) {
		if (errno != ENOENT)
			return err_errno(e, errno, "stat %s", dest);
		if (rename(fresh, dest) < 0)
			return err_errno(e, errno, "move %s to %s", fresh, dest);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_CONFLICT, "%s exists and is not a directory", dest);
	/* RENAME_EXCHANGE swaps both names in one step: dest is never missing. */
	if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dest, RENAME_EXCHANGE) == 0) {
		fs_rm_rf(fresh, NULL); /* now holds the old tree */
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return err_errno(e, errno, "swap %s into %s", fresh, dest);
	return swap_two_step(fresh, dest, e);
}

/* The unpacked tree must carry a readable bundle.json object at its top. */
static int check_bundle_json(const char *dir, struct err *e)
{
	char *path = xasprintf("%s/bundle.json", dir);
	json_error_t jerr;
	json_t *root;
	int rc = -1;

	if (!fs_exists(path)) {
		err_set(e, ERR_INVALID, "the bundle has no bundle.json at its top level");
		err_hint(e, "pack bundles with `make runtime-package`");
		goto out;
	}
	root = json_load_file(path, 0, &jerr);
	if (!root || !json_is_object(root))
		err_set(e, ERR_INVALID,
			"the bundle's bundle.json is not a JSON object (line %d: %s)", jerr.line,
			root ? "not an object" : jerr.text);
	else
		rc = 0;
	json_decref(root);
out:
	free(path);
	return rc;
}

/* Everything after the download: checksum, unpack, check, swap. */
static int install(const struct bundle_manifest *m, const char *part, const char *dest,
		   const struct bundle_progress *progress, struct err *e)
{
	char got[BUNDLE_SHA256_HEX];
	char *fresh = xasprintf("%s.new-XXXXXX", dest);
	int rc = -1, made = 0, say = progress && progress->fd >= 0;

	if (say)
		dprintf(progress->fd, "checking sha256\n");
	if (bundle_sha256_file(part, got, e) < 0)
		goto out;
	if (!bundle_sha256_equal(m->sha256, got)) {
		err_set(e, ERR_INVALID, "checksum mismatch for %s: expected sha256 %s, got %s",
			m->url, m->sha256, got);
		err_hint(e, "the download was damaged or runtime-bundle.toml's sha256 is out of "
			    "date; the download was deleted, so running again starts afresh");
		goto out;
	}
	if (!mkdtemp(fresh)) {
		err_errno(e, errno, "create %s", fresh);
		goto out;
	}
	made = 1;
	if (say)
		dprintf(progress->fd, "unpacking into %s\n", fresh);
	/* mkdtemp makes it 0700; a bundle directory is readable like any install. */
	if (chmod(fresh, 0755) < 0) {
		err_errno(e, errno, "chmod %s", fresh);
		goto out;
	}
	if (bundle_unpack(part, fresh, e) < 0 || check_bundle_json(fresh, e) < 0 ||
	    bundle_fetch_swap(fresh, dest, e) < 0)
		goto out;
	made = 0;
	rc = 0;
out:
	if (made)
		fs_rm_rf(fresh, NULL);
	free(fresh);
	return rc;
}

static char *strip_slashes(const char *path)
{
	char *p = xstrdup(path);
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	return p;
}

int bundle_fetch(const struct bundle_manifest *m, const char *destdir,
		 const struct bundle_progress *progress, struct err *e)
{
	char *dest = strip_slashes(destdir), *parent = xstrdup(dest);
	char *partial = xasprintf("%s.partial", dest), *name = url_file_name(m->url);
	char *part = xasprintf("%s/%s.part", partial, name);
	int rc = -1, interrupted = 0, started = 0;
	struct stat st;

	if (!dest[0] || strcmp(dest, "/") == 0 || strcmp(dest, ".") == 0) {
		err_set(e, ERR_INVALID, "refusing to replace '%s' with a bundle", destdir);
		goto out;
	}
	if (fs_exists(dest) && !fs_is_dir(dest)) {
		err_set(e, ERR_CONFLICT, "%s exists and is not a directory", dest);
		goto out;
	}
	if (fs_mkdir_p(dirname(parent), 0755, e) < 0 || fs_mkdir_p(partial, 0755, e) < 0)
		goto out;
	started = 1;
	if (bundle_download(m->url, part, progress, &interrupted, e) < 0)
		goto out;
	interrupted = 0;
	rc = install(m, part, dest, progress, e);
out:
	/* Keep the partial download only when a rerun can continue it. */
	if (started && (!interrupted || stat(part, &st) < 0 || st.st_size == 0))
		fs_rm_rf(partial, NULL);
	if (rc < 0)
		err_wrap(e, "fetch runtime bundle into %s", dest);
	free(dest);
	free(parent);
	free(partial);
	free(name);
	free(part);
	return rc;
}
