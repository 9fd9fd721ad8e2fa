/* disk: see disk.h. */
#include "storage/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"

#include "util/size.h"
#include "util/spawn.h"

/* Runs a debugfs -w script on the image at path (the script goes through a
 * file next to it: a command line would be split on blanks). debugfs
 * exits 0 whatever its commands did, so callers check what they wrote by
 * what they read back, not by the exit status. */
static int run_debugfs(const char *path, const struct buf *script, const char *log_path,
		       struct err *e)
{
	char *cmdfile = xasprintf("%s.debugfs", path);
	const char *argv[] = {"debugfs", "-w", "-f", cmdfile, path, NULL};
	int ret = -1;

	if (fs_write_atomic(cmdfile, buf_str(script), script->len, 0600, e) == 0)
		ret = spawn_check(argv, log_path, e);
	unlink(cmdfile);
	free(cmdfile);
	return ret;
}

/* mkfs.ext4 -d copies the staging files' owner. When the daemon is not root
 * that is the user, and sshd refuses a root home or authorized_keys owned by
 * someone else: give every staged file to root with debugfs. */
static int disk_root_owned(const char *path, const char *staging_dir, const char *log_path,
			   struct err *e)
{
	struct buf script = BUF_INIT;
	int ret = -1;
	char *const roots[] = {(char *)staging_dir, NULL};
	size_t skip = strlen(staging_dir);
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	FTSENT *ent;

	if (!fts) {
		err_errno(e, errno, "walk %s", staging_dir);
		goto out;
	}
	while ((ent = fts_read(fts))) {
		/* Each entry once (not again on the way out of a directory); the
		 * staging dir itself is the file system's root. */
		const char *rel = ent->fts_pathlen > skip ? ent->fts_path + skip : "/";

		if (ent->fts_info == FTS_DP)
			continue;
		buf_printf(&script, "sif \"%s\" uid 0\nsif \"%s\" gid 0\n", rel, rel);
	}
	fts_close(fts);
	ret = run_debugfs(path, &script, log_path, e);
out:
	buf_free(&script);
	return ret;
}

int disk_create(const char *path, long long size, const char *label, const char *staging_dir,
		const char *log_path, struct err *e)
{
	const char *argv[16];
	char sz[32];
	int n = 0, fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(e, errno, "create %s", path);
	if (ftruncate(fd, size) < 0) {
		err_errno(e, errno, "size %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(sz, sizeof(sz), "%lld", size);
	/* Only the work the file system needs (measured with bench/lifecycle):
	 *  - no resize_inode: its reserved group-descriptor blocks are for
	 *    growing a mounted file system; banger grows disks only while the
	 *    VM is stopped (resize2fs offline does not need them). They were
	 *    1,000 of mkfs's 1,050 writes and 4 MiB of every fresh disk, and
	 *    six times the time of the rest;
	 *  - lazy inode table and journal init: the guest kernel zeroes the
	 *    inode tables in the background; a fresh file is all zeroes anyway;
	 *  - nodiscard: a fresh sparse file has nothing to discard.
	 * The journal stays (the guest needs it to survive a crash), and so do
	 * mkfs's fsyncs of the image: the VM's record says "stopped" once this
	 * returns, and after a host crash that record must not point at a file
	 * system that was only in the page cache. */
	argv[n++] = "mkfs.ext4";
	argv[n++] = "-q";
	argv[n++] = "-F";
	argv[n++] = "-O";
	argv[n++] = "^resize_inode";
	argv[n++] = "-E";
	argv[n++] = "lazy_itable_init=1,lazy_journal_init=1,nodiscard";
	argv[n++] = "-L";
	argv[n++] = label;
	if (staging_dir) {
		argv[n++] = "-d";
		argv[n++] = staging_dir;
	}
	argv[n++] = path;
	argv[n] = NULL;
	if (spawn_check(argv, log_path, e) < 0 ||
	    (staging_dir && geteuid() != 0 &&
	     disk_root_owned(path, staging_dir, log_path, e) < 0)) {
		unlink(path);
		return err_wrap(e, "format %s", path);
	}
	return 0;
}

/* e2fsck -f -y; it exits 1 or 2 when it corrected something, which is
 * still fine to resize. */
static int fsck_ok(const char *path, const char *log_path, struct err *e)
{
	const char *fsck[] = {"e2fsck", "-f", "-y", path, NULL};
	struct spawn_opts o = {.log_path = log_path};
	struct spawn_result r;

	if (spawn_run(fsck, &o, &r, e) < 0)
		return -1;
	if (r.status > 2) {
		err_set(e, ERR_IO, "e2fsck found errors it could not fix in %s (status %d)", path,
			r.status);
		err_log(e, log_path);
		return -1;
	}
	return 0;
}

int disk_fit(const char *path, const char *log_path, struct err *e)
{
	const char *resize[] = {"resize2fs", path, NULL};

	if (fsck_ok(path, log_path, e) < 0 || spawn_check(resize, log_path, e) < 0)
		return err_wrap(e, "resize %s", path);
	return 0;
}

int disk_grow(const char *path, long long new_size, const char *log_path, struct err *e)
{
	const char *resize[] = {"resize2fs", path, NULL};
	struct stat st;
	char a[32], b[32];

	if (stat(path, &st) < 0)
		return err_errno(e, errno, "stat %s", path);
	if (new_size < st.st_size) {
		size_format(st.st_size, a, sizeof(a));
		size_format(new_size, b, sizeof(b));
		err_set(e, ERR_INVALID, "cannot shrink the disk from %s to %s", a, b);
		err_hint(e, "shrinking is not supported; give a size of at least %s", a);
		return -1;
	}
	if (new_size == st.st_size)
		return 0;
	if (fsck_ok(path, log_path, e) < 0)
		return -1;
	if (truncate(path, new_size) < 0)
		return err_errno(e, errno, "extend %s", path);
	if (spawn_check(resize, log_path, e) < 0) {
		if (truncate(path, st.st_size) < 0)
			err_wrap(e, "and restoring the old size failed");
		return err_wrap(e, "resize %s", path);
	}
	return 0;
}

int disk_copy(const char *src, const char *dst, long long *copied, int *reflinked, struct err *e)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, ret = -1;
	long long total = 0;
	struct stat st;
	off_t pos = 0;

	if (copied)
		*copied = 0;
	if (reflinked)
		*reflinked = 0;
	if (in < 0)
		return err_errno(e, errno, "open %s", src);
	if (fstat(in, &st) < 0) {
		err_errno(e, errno, "stat %s", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		err_errno(e, errno, "create %s", dst);
		goto out;
	}
	if (ioctl(out, FICLONE, in) == 0) {
		if (reflinked)
			*reflinked = 1;
		goto sync;
	}
	if (ftruncate(out, st.st_size) < 0) {
		err_errno(e, errno, "size %s", dst);
		goto out;
	}
	for (;;) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only holes from pos on */
		if (data < 0) {
			err_errno(e, errno, "read %s", src);
			goto out;
		}
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t at = data; at < hole;) {
			loff_t a = at, b = at;
			ssize_t n = copy_file_range(in, &a, out, &b, (size_t)(hole - at), 0);

			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
				char buf[1 << 16];
				ssize_t r =
				    pread(in, buf,
					  sizeof(buf) < (size_t)(hole - at) ? sizeof(buf)
									    : (size_t)(hole - at),
					  at);

				n = r > 0 ? pwrite(out, buf, (size_t)r, at) : r;
				if (r == 0)
					break;
			}
			if (n <= 0) {
				err_errno(e, n < 0 ? errno : EIO, "copy %s to %s", src, dst);
				goto out;
			}
			at += n;
			total += n;
		}
		pos = hole;
		if (pos >= st.st_size)
			break;
	}
sync:
	if (fsync(out) < 0) {
		err_errno(e, errno, "fsync %s", dst);
		goto out;
	}
	if (copied)
		*copied = total;
	ret = 0;
out:
	close(in);
	if (out >= 0) {
		close(out);
		if (ret < 0)
			unlink(dst);
	}
	return ret;
}

/* debugfs reads its -f script line by line, words split on blanks: a path
 * with a blank, quote or newline cannot be said safely. */
static int debugfs_safe(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s == '"' || *s == '\\' || *s == 0x7f)
			return 0;
	return 1;
}

int disk_edit(const char *path, const char *const *rm, const struct disk_put *put, size_t nput,
	      const char *log_path, struct err *e)
{
	struct buf script = BUF_INIT;
	int ret = -1;

	for (const char *const *r = rm; r && *r; r++) {
		if (!debugfs_safe(*r)) {
			err_set(e, ERR_INTERNAL, "cannot edit %s in %s with debugfs", *r, path);
			goto out;
		}
		buf_printf(&script, "rm %s\n", *r);
	}
	for (size_t i = 0; i < nput; i++) {
		const char *to = put[i].to;

		if (!debugfs_safe(to) || !debugfs_safe(put[i].from)) {
			err_set(e, ERR_INTERNAL, "cannot write %s into %s with debugfs", to, path);
			goto out;
		}
		/* write refuses to replace: the old file goes first. */
		buf_printf(&script,
			   "rm %s\nwrite %s %s\nsif %s uid 0\nsif %s gid 0\n"
			   "sif %s mode 0100%o\n",
			   to, put[i].from, to, to, to, to, put[i].mode & 07777);
	}
	ret = run_debugfs(path, &script, log_path, e); /* an rm of a missing file is fine */
out:
	buf_free(&script);
	return ret;
}
