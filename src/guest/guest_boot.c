/*
 * guest_boot: PID 1 plumbing for banger-init. See guest_boot.h.
 */
#include "guest/guest_boot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* From <linux/magic.h>; spelled out to keep the include list libc-only. */
#define GUEST_RAMFS_MAGIC 0x858458f6
#define GUEST_TMPFS_MAGIC 0x01021994

static const struct {
	const char *dir, *fstype;
} early[] = {
    {"/proc", "proc"},
    {"/sys", "sysfs"},
    {"/dev", "devtmpfs"},
};

int guest_boot_early_mounts(struct err *e)
{
	for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		mkdir(early[i].dir, 0755);
		if (mount(early[i].fstype, early[i].dir, early[i].fstype, MS_NOSUID, NULL) < 0 &&
		    errno != EBUSY)
			return err_errno(e, errno, "mount %s on %s", early[i].fstype, early[i].dir);
	}
	return 0;
}

int guest_boot_read_cmdline(char *buf, size_t cap, struct err *e)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_errno(e, errno, "open /proc/cmdline");
	n = read(fd, buf, cap - 1);
	if (n < 0) {
		int errnum = errno; /* before close() may change it */

		close(fd);
		return err_errno(e, errnum, "read /proc/cmdline");
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Appends the names of /dev/vd* to out, for the timeout message. */
static void list_vd(char *out, size_t cap)
{
	DIR *d = opendir("/dev");
	struct dirent *de;
	size_t used = 0;

	snprintf(out, cap, "none");
	if (!d)
		return;
	while ((de = readdir(d)) && used + 1 < cap) {
		if (strncmp(de->d_name, "vd", 2) != 0)
			continue;
		int n = snprintf(out + used, cap - used, "%s/dev/%s", used ? " " : "", de->d_name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	closedir(d);
}

int guest_boot_wait_devices(const char *const *devs, size_t n, int timeout_ms, struct err *e)
{
	long deadline = now_ms() + timeout_ms;
	struct timespec tick = {0, 10 * 1000 * 1000};
	char seen[256];

	for (size_t i = 0; i < n;) {
		struct stat st;
		if (stat(devs[i], &st) == 0) {
			i++;
			continue;
		}
		if (now_ms() > deadline) {
			list_vd(seen, sizeof(seen));
			return err_set(
			    e, ERR_NOT_FOUND,
			    "%s did not appear within %d s (disks found: %s); a banger VM "
			    "needs 3 virtio disks: base image, overlay, work disk",
			    devs[i], timeout_ms / 1000, seen);
		}
		nanosleep(&tick, NULL);
	}
	return 0;
}

void guest_boot_modules_tree(const char *newroot, const char *kver, char *keep, size_t cap)
{
	char inroot[PATH_MAX], initrd[PATH_MAX];
	struct stat st;

	keep[0] = '\0';
	snprintf(inroot, sizeof(inroot), "%s/lib/modules/%s", newroot, kver);
	snprintf(initrd, sizeof(initrd), "/lib/modules/%s", kver);
	if (stat(inroot, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	if (stat(initrd, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* mkdir -p through the image's /lib -> usr/lib symlink. */
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", inroot);
		for (char *p = tmp + strlen(newroot) + 1; (p = strchr(p, '/')); p++) {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
		mkdir(inroot, 0755);
		if (mount(initrd, inroot, NULL, MS_BIND | MS_RDONLY, NULL) == 0) {
			snprintf(keep, cap, "%s", initrd);
			guest_boot_say(
			    "the image has no /lib/modules/%s; using the initrd's modules", kver);
			return;
		}
	}
	guest_boot_say("warning: no kernel modules for %s in the image (/lib/modules/%s): modprobe "
		       "will not work in this VM; rebuild the image for this kernel",
		       kver, kver);
}

/* Deletes the initramfs below dirfd (path names it), staying on device dev and
 * skipping keep, like util-linux switch_root. Errors are ignored: a leftover
 * file only costs memory. Closes dirfd. */
static void delete_tree(int dirfd, const char *path, dev_t dev, const char *keep)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", de->d_name);
		if (keep[0] && strncmp(keep, sub, strlen(sub)) == 0 &&
		    (keep[strlen(sub)] == '\0' || keep[strlen(sub)] == '/'))
			continue; /* keep itself or one of its parents */
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				delete_tree(fd, sub, dev, keep);
		}
		unlinkat(dirfd, de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
	}
	closedir(d);
}

static void free_initramfs(const char *keep)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	/* Only ever wipe a real initramfs: never a disk someone booted us from. */
	if (statfs("/", &sfs) < 0 || stat("/", &st) < 0)
		return;
	if ((unsigned long)sfs.f_type != GUEST_RAMFS_MAGIC &&
	    (unsigned long)sfs.f_type != GUEST_TMPFS_MAGIC)
		return;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		delete_tree(fd, "/", st.st_dev, keep);
}

int guest_boot_switch_root(const char *newroot, const char *keep, struct err *e)
{
	for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		char to[PATH_MAX];
		snprintf(to, sizeof(to), "%s%s", newroot, early[i].dir);
		mkdir(to, 0755);
		if (mount(early[i].dir, to, NULL, MS_MOVE, NULL) < 0)
			return err_errno(e, errno, "switch_root: move %s to %s", early[i].dir, to);
	}
	if (chdir(newroot) < 0)
		return err_errno(e, errno, "switch_root: chdir %s", newroot);
	free_initramfs(keep);
	if (mount(newroot, "/", NULL, MS_MOVE, NULL) < 0)
		return err_errno(e, errno, "switch_root: move %s to /", newroot);
	if (chroot(".") < 0 || chdir("/") < 0)
		return err_errno(e, errno, "switch_root: chroot %s", newroot);
	return 0;
}

static void console_write(const char *line, size_t len)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 && write(fd, line, len) == (ssize_t)len) {
		close(fd);
		return;
	}
	if (fd >= 0)
		close(fd);
	/* No console node yet (or no console): the kernel log reaches it anyway. */
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, line, len) < 0) {
			/* nothing more we can do */
		}
		close(fd);
		return;
	}
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nothing more we can do */
	}
}

void guest_boot_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "banger-init: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	console_write(line, (size_t)n);
}

void guest_boot_fail(const struct err *e)
{
	struct timespec settle = {1, 0};

	/* "banger-init: error: " is what the host's console watcher looks for
	 * (src/vmm/console_scan.h). */
	if (e->hint[0])
		guest_boot_say("error: %s (%s)", e->msg, e->hint);
	else
		guest_boot_say("error: %s", e->msg);
	sync();
	/* Let the serial line drain before the machine goes away. */
	nanosleep(&settle, NULL);
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
