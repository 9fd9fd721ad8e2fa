/* image_tree: see image_tree.h. */
#include "image/image_tree.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Detaches the mounts at or below dir, deepest (last mounted) first. */
static void detach_mounts(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t dlen = strlen(dir), n = 0, cap = 0;
	char **points = NULL, line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *mp = NULL;

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
		strtok_r(line, " ", &save);
		for (int i = 0; i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		unescape(mp);
		if (strncmp(mp, dir, dlen) != 0 || (mp[dlen] != '/' && mp[dlen] != '\0'))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			points = xrealloc(points, cap * sizeof(*points));
		}
		points[n++] = xstrdup(mp);
	}
	fclose(f);
	while (n > 0) {
		n--;
		umount2(points[n], MNT_DETACH);
		free(points[n]);
	}
	free(points);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Without root, a tree may hold directories we own but cannot write (a
 * Debian tree has 0555 ones); open them up before removing their entries. */
static int open_up(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

int image_tree_remove(const char *path, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_errno(e, errno, "stat %s", path);
	if (geteuid() == 0)
		detach_mounts(path);
	else
		nftw(path, open_up, 32, FTW_PHYS | FTW_MOUNT);
	/* FTW_MOUNT: a mount that could not be detached is left alone (its
	 * mount point's rmdir then fails) rather than emptied. */
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 || fs_exists(path))
		return err_errno(e, errno ? errno : EBUSY, "remove %s", path);
	return 0;
}

static int is_id(const char *s)
{
	size_t n = strlen(s);

	if (n != 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

void image_tree_reconcile(struct store *st, const char *images_dir, struct logger *lg)
{
	struct store_image *imgs = NULL;
	struct dirent *de;
	size_t n = 0;
	struct err e;
	DIR *d;

	err_clear(&e);
	if (store_image_list(st, &imgs, &n, &e) < 0) {
		log_warn(lg, "image build reconcile: cannot list images", LF_S("error", e.msg));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *dir;

		if (strcmp(imgs[i].state, "building") != 0)
			continue;
		dir = xasprintf("%s/%s", images_dir, imgs[i].id);
		if (image_tree_remove(dir, &e) < 0)
			log_warn(lg, "cannot remove an interrupted image build's files",
				 LF_S("image", imgs[i].name), LF_S("path", dir),
				 LF_S("error", e.msg));
		if (store_image_delete(st, imgs[i].id, &e) < 0)
			log_warn(lg, "cannot remove an interrupted image build's record",
				 LF_S("image", imgs[i].name), LF_S("error", e.msg));
		else
			log_warn(lg, "removed an image whose build was interrupted",
				 LF_S("image", imgs[i].name), LF_S("path", dir));
		free(dir);
	}
	/* Directories with no record: a crash between an image's record delete
	 * and its file removal. Only banger's own id-named entries are touched. */
	d = opendir(images_dir);
	while (d && (de = readdir(d))) {
		int known = 0;
		char *dir;

		if (!is_id(de->d_name))
			continue;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(imgs[i].id, de->d_name) == 0 &&
				strcmp(imgs[i].state, "building") != 0;
		if (known)
			continue;
		dir = xasprintf("%s/%s", images_dir, de->d_name);
		if (fs_is_dir(dir) && image_tree_remove(dir, &e) == 0)
			log_info(lg, "removed an image directory no image uses", LF_S("path", dir));
		free(dir);
	}
	if (d)
		closedir(d);
	free(imgs);
}
