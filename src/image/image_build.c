/* image_build: see image_build.h. */
#include "image/image_build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image_guest.h"
#include "image/image_tree.h"
#include "image/image_watch.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/size.h"
#include "util/spawn.h"

/* Run inside mmdebstrap (root or unshare mode alike) with the tree as $1:
 * `systemctl enable` needs the guest's own systemctl and unit files. These
 * are fixed strings; nothing the user typed goes into a shell. */
static const char hook_networkd[] = "chroot \"$1\" systemctl enable systemd-networkd.service";
static const char hook_docker[] = "chroot \"$1\" systemctl enable docker.service";

struct build {
	const struct image_plan *p;
	const char *dir;
	const char *log;
	char *tree;
	char *fakeroot_state;
	int cancel_fd;
	image_progress_fn progress;
	void *ctx;
};

static void say(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A progress message, also written into the log so the log reads as a story. */
static void say(struct build *b, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->progress)
		b->progress(b->ctx, msg);
	f = fopen(b->log, "ae");
	if (f) {
		fprintf(f, "\n=== %s\n", msg);
		fclose(f);
	}
}

static void log_argv(struct build *b, const char *what, const char *const argv[])
{
	FILE *f = fopen(b->log, "ae");

	if (!f)
		return;
	fprintf(f, "\n### %s\n###", what);
	/* Quoted like a shell would need, so the line can be re-run by hand. */
	for (int i = 0; argv[i]; i++)
		if (argv[i][strcspn(argv[i], " \t\"'$\\;&|<>()*?")])
			fprintf(f, " '%s'", argv[i]);
		else
			fprintf(f, " %s", argv[i]);
	fputc('\n', f);
	fclose(f);
}

/* The line of a command's output tail that says most: mmdebstrap and apt
 * print the cause as the first "E: " line and a generic one last. */
static void first_error(const char *tail, char *out, size_t len)
{
	const char *p = tail, *pick = NULL, *last = tail;

	for (const char *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!pick && strncmp(p, "E: ", 3) == 0)
			pick = p;
		last = p;
		if (!nl)
			break;
	}
	pick = pick ? pick : last;
	snprintf(out, len, "%.*s", (int)strcspn(pick, "\n"), pick);
}

/* Runs argv with its output in the log. tree_op: it reads or writes the
 * tree, so without root it runs under the build's fakeroot session (the
 * tree's ownership exists only there). */
static int run(struct build *b, const char *what, const char *const argv[], int tree_op,
	       struct err *e)
{
	const char *full[64];
	size_t n = 0;
	struct spawn_opts o = {.log_path = b->log, .cancel_fd = b->cancel_fd};
	struct spawn_result r;

	if (tree_op && b->p->rootless) {
		full[n++] = "fakeroot";
		full[n++] = "-i";
		full[n++] = b->fakeroot_state;
		full[n++] = "-s";
		full[n++] = b->fakeroot_state;
		full[n++] = "--";
	}
	for (int i = 0; argv[i] && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	log_argv(b, what, full);
	if (spawn_run(full, &o, &r, e) < 0)
		return err_wrap(e, "%s", what);
	if (r.status != 0) {
		char line[512];

		first_error(r.tail, line, sizeof(line));
		err_set(e, ERR_IO, "%s failed (exit status %d)%s%s", what, r.status,
			line[0] ? ": " : "", line);
		err_log(e, b->log);
		return -1;
	}
	return 0;
}

static int bootstrap(struct build *b, struct err *e)
{
	const struct image_plan *p = b->p;
	char *include = xasprintf("--include=%s", p->packages);
	char *tmpdir = xasprintf("TMPDIR=%s/tmp", b->dir);
	char *tar = xasprintf("%s/rootfs.tar", b->dir);
	char *hook_n = xasprintf("--customize-hook=%s", hook_networkd);
	char *hook_d = xasprintf("--customize-hook=%s", hook_docker);
	const char *argv[48];
	struct image_watch *w;
	size_t n = 0;
	int ret = -1;

	/* If bangerd dies, the kernel kills the bootstrap (pdeathsig). As root,
	 * mmdebstrap's mounts (proc, sys, dev in the chroot) live in a private
	 * mount namespace whose pid namespace dies with it: a crash can never
	 * leave them on the host. */
	argv[n++] = "setpriv";
	argv[n++] = "--pdeathsig";
	argv[n++] = "KILL";
	argv[n++] = "--";
	if (!p->rootless) {
		static const char *const ns[] = {
		    "unshare", "--mount",      "--propagation",	    "private", "--pid",
		    "--fork",  "--mount-proc", "--kill-child=KILL", "--",      "env"};

		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
			argv[n++] = ns[i];
		argv[n++] = tmpdir;
	}
	argv[n++] = "mmdebstrap";
	argv[n++] = p->rootless ? "--mode=unshare" : "--mode=root";
	argv[n++] = p->rootless ? "--format=tar" : "--format=directory";
	argv[n++] = "--variant=minbase";
	argv[n++] = include;
	argv[n++] = hook_n;
	if (p->docker)
		argv[n++] = hook_d;
	argv[n++] = p->suite;
	argv[n++] = p->rootless ? tar : b->tree;
	for (int i = 0; i < 3; i++)
		if (p->mirrors[i])
			argv[n++] = p->mirrors[i];
	argv[n] = NULL;

	if (!p->rootless && fs_mkdir_p(tmpdir + strlen("TMPDIR="), 0700, e) < 0)
		goto out;
	w = image_watch_start(b->log, "mmdebstrap: ", b->progress, b->ctx);
	ret = run(b, "mmdebstrap", argv, 0, e);
	image_watch_stop(w);
	if (ret < 0 || !p->rootless)
		goto out;
	/* Rootless: the tarball holds the real ownership; fakeroot keeps it for
	 * the later steps and for mkfs.ext4. */
	{
		const char *const untar[] = {"tar",  "-C", b->tree, "--numeric-owner",
					     "-xpf", tar,  NULL};
		int fd = open(b->fakeroot_state, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		if (fs_mkdir_p(b->tree, 0755, e) < 0 || run(b, "unpack the tree", untar, 1, e) < 0)
			ret = -1;
		unlink(tar);
	}
out:
	free(include);
	free(tmpdir);
	free(tar);
	free(hook_n);
	free(hook_d);
	return ret;
}

static int copy_modules(struct build *b, struct err *e)
{
	char *dst = xasprintf("%s/%s", b->tree, b->p->modules_dst),
	     *src = xasprintf("%s/.", b->p->modules_src);
	const char *const argv[] = {"cp", "-a", "--no-preserve=ownership", src, dst, NULL};
	int ret;

	ret = fs_mkdir_p(dst, 0755, e) < 0 ? -1 : run(b, "copy the kernel modules", argv, 1, e);
	free(dst);
	free(src);
	return ret;
}

struct tally {
	long long bytes;
	long long files;
};

/* Adds up dirfd's tree (apparent sizes, like du -sb) without leaving its
 * file system. Closes dirfd. */
static void tally_dir(int dirfd, dev_t dev, struct tally *t)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		t->files++;
		if (!S_ISDIR(st.st_mode)) {
			t->bytes += st.st_size;
			continue;
		}
		t->bytes += 4096;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			tally_dir(fd, dev, t);
	}
	closedir(d);
}

static int make_ext4(struct build *b, struct err *e)
{
	struct tally t = {0, 0};
	long long size = b->p->size, need, inodes;
	char *out = xasprintf("%s/rootfs.ext4", b->dir), sizearg[32], inodearg[32], human[16];
	const char *const mkfs[] = {
	    "mkfs.ext4", "-F",		"-q",
	    "-L",	 "banger-base", "-N",
	    inodearg,	 "-E",		"lazy_itable_init=0,lazy_journal_init=0",
	    "-d",	 b->tree,	out,
	    sizearg,	 NULL};
	const char *const fsck[] = {"e2fsck", "-fn", out, NULL};
	int ret = -1;

	{
		int fd = open(b->tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0) {
			int errnum = errno; /* before close() may change it */

			if (fd >= 0)
				close(fd);
			err_errno(e, errnum, "open %s", b->tree);
			goto out;
		}
		tally_dir(fd, st.st_dev, &t);
	}
	/* Content plus ~30% (ext4 metadata, journal), whole MiB; the image is
	 * read-only in the guest (changes go to the VM's overlay), so little
	 * free space is needed. Inodes for every file plus half again, since
	 * mkfs's default ratio is tuned for bigger files than a system tree has. */
	need = t.bytes * 11 / 10 + (32LL << 20);
	if (!size)
		size = ((t.bytes * 13 / 10 + (64LL << 20)) + (1 << 20) - 1) & ~((1LL << 20) - 1);
	if (size < need) {
		char have[16], want[16];

		size_format(t.bytes, have, sizeof(have));
		size_format(need, want, sizeof(want));
		err_set(e, ERR_INVALID, "--size is too small: the tree holds %s; give at least %s",
			have, want);
		err_log(e, b->log);
		goto out;
	}
	inodes = t.files * 3 / 2 + 4096;
	snprintf(inodearg, sizeof(inodearg), "%lld", inodes);
	snprintf(sizearg, sizeof(sizearg), "%lldk", size / 1024);
	size_format(size, human, sizeof(human));
	say(b, "making the %s ext4 image (%lld MB in %lld files)", human, t.bytes >> 20, t.files);
	if (run(b, "mkfs.ext4", mkfs, 1, e) < 0 || run(b, "e2fsck", fsck, 0, e) < 0)
		goto out;
	ret = 0;
out:
	free(out);
	return ret;
}

static int copy_boot(struct build *b, struct err *e)
{
	char *k = xasprintf("%s/vmlinux", b->dir), *i = xasprintf("%s/initrd.img", b->dir);
	const char *const ck[] = {"cp", "--sparse=auto", b->p->kernel, k, NULL};
	const char *const ci[] = {"cp", "--sparse=auto", b->p->initrd, i, NULL};
	int ret = run(b, "copy the kernel", ck, 0, e) < 0 || run(b, "copy the initrd", ci, 0, e) < 0
		      ? -1
		      : 0;

	free(k);
	free(i);
	return ret;
}

static int count_commas(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* Appends to missing (comma-separated) each package of the plan that the
 * base's dpkg database (read with debugfs, no mount) lacks. */
static int base_missing(struct build *b, struct buf *missing, struct err *e)
{
	const char *const argv[] = {"debugfs", "-R", "cat /var/lib/dpkg/status", b->p->base, NULL};
	char *status = NULL, *list = xstrdup(b->p->packages), *save = NULL;
	struct buf want = BUF_INIT;

	if (spawn_output(argv, b->log, &status, e) < 0) {
		free(list);
		return err_wrap(e, "read the base's package list");
	}
	for (char *pkg = strtok_r(list, ",", &save); pkg; pkg = strtok_r(NULL, ",", &save)) {
		const char *at = status;
		int found = 0;

		/* "Package: NAME\n" then, within the stanza, "Status: install ok installed". */
		buf_reset(&want);
		buf_printf(&want, "Package: %s\n", pkg);
		while (!found && (at = strstr(at, buf_str(&want)))) {
			const char *end = strstr(at, "\n\n"), *st = strstr(at, "\nStatus: ");

			found = (at == status || at[-1] == '\n') && st && (!end || st < end) &&
				strncmp(st + 9, "install ok installed", 20) == 0;
			at += want.len;
		}
		if (!found)
			buf_printf(missing, "%s%s", missing->len ? ", " : "", pkg);
	}
	free(status);
	free(list);
	buf_free(&want);
	return 0;
}

/* The base's files into the tree (debugfs rdump keeps modes, owners and
 * links, and needs no mount). */
static int extract_base(struct build *b, struct err *e)
{
	char *req = xasprintf("rdump / \"%s\"", b->tree);
	const char *const argv[] = {"debugfs", "-R", req, b->p->base, NULL};
	int ret;

	if (mkdir(b->tree, 0755) < 0 && errno != EEXIST) {
		free(req);
		return err_errno(e, errno, "create %s", b->tree);
	}
	ret = run(b, "extract the base rootfs", argv, 1, e);
	free(req);
	return ret;
}

/* Builds from the base when it has everything asked for; an implicit base
 * that lacks something gives way to a build from scratch (and says why). */
static int start_tree(struct build *b, struct err *e)
{
	const struct image_plan *p = b->p;
	struct buf missing = BUF_INIT;

	if (p->base && base_missing(b, &missing, e) < 0)
		return -1;
	if (p->base && missing.len == 0) {
		say(b, "building from the base rootfs %s (it has all %d packages asked for)",
		    p->base, count_commas(p->packages) + 1);
		buf_free(&missing);
		return extract_base(b, e);
	}
	if (p->base && p->base_explicit) {
		err_set(e, ERR_INVALID, "the base rootfs %s lacks %s", p->base, buf_str(&missing));
		err_hint(e, "banger does not install packages into a base image; leave out "
			    "--base-rootfs to build from scratch with them");
		buf_free(&missing);
		return -1;
	}
	if (p->base)
		say(b, "the base rootfs %s lacks %s: building from scratch instead", p->base,
		    buf_str(&missing));
	buf_free(&missing);
	say(b, "building from scratch with mmdebstrap --mode=%s: suite %s, %d packages",
	    p->rootless ? "unshare" : "root", p->suite, count_commas(p->packages) + 1);
	return bootstrap(b, e);
}

int image_build_run(const struct image_plan *p, const char *dir, const char *log_path,
		    int cancel_fd, image_progress_fn progress, void *ctx, struct err *e)
{
	struct build b = {.p = p,
			  .dir = dir,
			  .log = log_path,
			  .tree = xasprintf("%s/tree", dir),
			  .fakeroot_state = xasprintf("%s/fakeroot.state", dir),
			  .cancel_fd = cancel_fd,
			  .progress = progress,
			  .ctx = ctx};
	char *tmp = xasprintf("%s/tmp", dir);
	int ret = -1;

	{
		FILE *f = fopen(log_path, "ae");

		if (f) {
			fprintf(
			    f,
			    "base rootfs: %s\nmirror: %s\npackages: %s\nextra packages from: %s\n"
			    "kernel: %s\ninitrd: %s\nmodules: %s\ncustomize_script: %s\n",
			    p->base ? p->base : "none", p->mirror_desc, p->packages,
			    p->packages_src, p->kernel, p->initrd,
			    p->modules_src ? p->modules_src : "none (the bundle has no modules/)",
			    p->customize ? p->customize : "none");
			fclose(f);
		}
	}
	if (start_tree(&b, e) < 0)
		goto out;
	say(&b,
	    "configuring the guest (sshd, banger-ready, boot trimming, no machine-id, no host keys)");
	if (image_guest_configure(b.tree, e) < 0)
		goto out;
	if (p->modules_src) {
		say(&b, "copying the kernel modules into /%s", p->modules_dst);
		if (copy_modules(&b, e) < 0)
			goto out;
	}
	if (p->customize) {
		const char *const argv[] = {p->customize, b.tree, NULL};

		say(&b, "running customize_script %s", p->customize);
		if (run(&b, "customize_script", argv, 1, e) < 0)
			goto out;
	}
	if (make_ext4(&b, e) < 0 || copy_boot(&b, e) < 0)
		goto out;
	say(&b, "removing the build tree");
	if (image_tree_remove(b.tree, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && !e->log[0])
		err_log(e, log_path);
	image_tree_remove(tmp, NULL);
	unlink(b.fakeroot_state);
	free(tmp);
	free(b.tree);
	free(b.fakeroot_state);
	return ret;
}
