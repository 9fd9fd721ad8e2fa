/*
 * bundle_unpack: see bundle_unpack.h.
 *
 * Two layers of defence: our own per-entry checks give a clear message naming
 * the entry, and libarchive's SECURE_NODOTDOT/SECURE_SYMLINKS flags stop
 * anything the checks miss (e.g. extracting through a symlink made earlier).
 * Entries are written under dest by prefixing their names with the resolved
 * dest path, so no chdir() is needed and library users stay thread-safe.
 */
#include "bundle/bundle_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/bundle_info.h"
#include "util/buf.h"
#include "util/fs.h"

/* Strips leading "./" (tar -C dir . writes "./name"); "" means the top dir. */
static const char *strip_dot(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/' && name[1] == '/')
		name++;
	return strcmp(name, ".") == 0 ? "" : name;
}

/* Depth of the directory holding name ("a/b/c" -> 2), ignoring "." parts. */
static int parent_depth(const char *name)
{
	int depth = 0;

	for (const char *s = name; *s;) {
		size_t n = strcspn(s, "/");

		if (!(n == 1 && s[0] == '.'))
			depth++;
		s += n;
		while (*s == '/')
			s++;
	}
	return depth - 1;
}

/* A relative symlink target stays inside when it is some leading ".." parts
 * that do not climb above the top, then only downward parts. ".." after a
 * downward part is refused: through another symlink it could climb further
 * than it looks. */
static int symlink_inside(const char *name, const char *target)
{
	int depth = parent_depth(name), downward = 0;

	if (!target[0] || target[0] == '/')
		return 0;
	for (const char *s = target; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (downward || --depth < 0)
				return 0;
		} else if (n && !(n == 1 && s[0] == '.')) {
			downward = 1;
		}
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

int bundle_unpack_check(const char *name, unsigned int type, const char *link_target, int hardlink,
			struct err *e)
{
	const char *rel = strip_dot(name);

	if (name[0] == '/')
		return err_set(e, ERR_INVALID, "refusing entry '%s': absolute path", name);
	if (rel[0] && !bundle_info_path_safe(rel))
		return err_set(e, ERR_INVALID, "refusing entry '%s': path contains '..'", name);
	if (hardlink) {
		if (!link_target || link_target[0] == '/' ||
		    !bundle_info_path_safe(strip_dot(link_target)))
			return err_set(e, ERR_INVALID,
				       "refusing entry '%s': hard link to '%s' outside the bundle",
				       name, link_target ? link_target : "");
		return 0;
	}
	switch (type) {
	case S_IFREG:
	case S_IFDIR:
		return 0;
	case S_IFLNK:
		if (link_target && symlink_inside(rel, link_target))
			return 0;
		return err_set(e, ERR_INVALID,
			       "refusing entry '%s': symlink to '%s' points outside the bundle",
			       name, link_target ? link_target : "");
	case S_IFCHR:
	case S_IFBLK:
		return err_set(e, ERR_INVALID, "refusing entry '%s': device node", name);
	default:
		return err_set(e, ERR_INVALID, "refusing entry '%s': not a file, directory or link",
			       name);
	}
}

static int copy_data(struct archive *in, struct archive *out, const char *name, struct err *e)
{
	const void *block;
	size_t size;
	la_int64_t offset;
	int r;

	while ((r = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK)
		if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK)
			return err_set(e, ERR_IO, "write '%s': %s", name,
				       archive_error_string(out));
	if (r != ARCHIVE_EOF)
		return err_set(e, ERR_INVALID, "read '%s': %s", name, archive_error_string(in));
	return 0;
}

/* Checks one entry, points it under dest and writes it. */
static int extract_entry(struct archive *in, struct archive *out, struct archive_entry *ent,
			 const char *dest, struct err *e)
{
	char *name = xstrdup(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "");
	const char *hard = archive_entry_hardlink(ent);
	unsigned int type = archive_entry_filetype(ent);
	const char *target = hard ? hard : archive_entry_symlink(ent);
	char *path = NULL, *hpath = NULL;
	int rc = -1;

	if (bundle_unpack_check(name, type, target, hard != NULL, e) < 0)
		goto out;
	if (!strip_dot(name)[0]) { /* the top directory itself: dest already exists */
		rc = 0;
		goto out;
	}
	path = xasprintf("%s/%s", dest, strip_dot(name));
	archive_entry_copy_pathname(ent, path);
	if (hard) {
		hpath = xasprintf("%s/%s", dest, strip_dot(hard));
		archive_entry_copy_hardlink(ent, hpath);
	}
	if (archive_write_header(out, ent) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "unpack entry '%s': %s", name, archive_error_string(out));
		goto out;
	}
	if (archive_entry_size(ent) > 0 && copy_data(in, out, name, e) < 0)
		goto out;
	if (archive_write_finish_entry(out) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "unpack entry '%s': %s", name, archive_error_string(out));
		goto out;
	}
	rc = 0;
out:
	free(name);
	free(path);
	free(hpath);
	return rc;
}

int bundle_unpack(const char *tarball, const char *dest, struct err *e)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *ent;
	char *root = fs_realpath(dest);
	int r, rc = -1;

	archive_read_support_filter_gzip(in);
	archive_read_support_format_tar(in);
	/* No ARCHIVE_EXTRACT_OWNER/PERM: files belong to the user running us,
	 * modes pass through the umask and set-id bits are dropped. */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SPARSE |
						ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	if (!root) {
		err_errno(e, errno, "unpack into %s", dest);
		goto out;
	}
	if (archive_read_open_filename(in, tarball, 1 << 16) != ARCHIVE_OK) {
		err_set(e, ERR_INVALID, "open %s: %s", tarball, archive_error_string(in));
		goto out;
	}
	while ((r = archive_read_next_header(in, &ent)) == ARCHIVE_OK) {
		if (extract_entry(in, out, ent, root, e) < 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		err_set(e, ERR_INVALID, "%s is not a valid tar.gz: %s", tarball,
			archive_error_string(in));
		goto out;
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "unpack into %s: %s", dest, archive_error_string(out));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		err_wrap(e, "unpack %s", tarball);
	archive_read_free(in);
	archive_write_free(out);
	free(root);
	return rc;
}
