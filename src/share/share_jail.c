/* share_jail: see share_jail.h. */
#include "share/share_jail.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define JAIL_MAX_FILES 32

/* Where glibc's loader looks when there is no ld.so.cache (the jail has
 * none): Debian's multiarch directories, then the classic ones. */
static const char *const lib_dirs[] = {
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
};

struct elf_info {
	char interp[256];
	char needed[16][64];
	int nneeded;
};

/* Reads PT_INTERP and the DT_NEEDED names of a 64-bit ELF file. */
static int elf_read(const char *path, struct elf_info *info, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -1;
	struct stat st;
	unsigned char *m = MAP_FAILED;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	size_t ndyn = 0;
	Elf64_Addr strtab_va = 0;
	const char *strtab = NULL;

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		err_set(e, ERR_INVALID, "%s is not an ELF program", path);
		goto out;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		err_errno(e, errno, "mmap %s", path);
		goto out;
	}
	eh = (const Elf64_Ehdr *)m;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > (size_t)st.st_size) {
		err_set(e, ERR_INVALID, "%s is not a 64-bit ELF program", path);
		goto out;
	}
	ph = (const Elf64_Phdr *)(m + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_offset + ph[i].p_filesz > (size_t)st.st_size)
			continue;
		if (ph[i].p_type == PT_INTERP && ph[i].p_filesz < sizeof(info->interp))
			memcpy(info->interp, m + ph[i].p_offset, ph[i].p_filesz);
		if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(m + ph[i].p_offset);
			ndyn = ph[i].p_filesz / sizeof(Elf64_Dyn);
		}
	}
	for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++)
		if (dyn[i].d_tag == DT_STRTAB)
			strtab_va = dyn[i].d_un.d_ptr;
	/* DT_STRTAB is an address: find the file offset through PT_LOAD. */
	for (int i = 0; i < eh->e_phnum && strtab_va; i++)
		if (ph[i].p_type == PT_LOAD && strtab_va >= ph[i].p_vaddr &&
		    strtab_va < ph[i].p_vaddr + ph[i].p_filesz)
			strtab = (const char *)m + ph[i].p_offset + (strtab_va - ph[i].p_vaddr);
	for (size_t i = 0; strtab && i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
		const char *name = strtab + dyn[i].d_un.d_val;

		if (dyn[i].d_tag != DT_NEEDED)
			continue;
		if ((const unsigned char *)name >= m + st.st_size ||
		    info->nneeded >= (int)(sizeof(info->needed) / sizeof(info->needed[0])) ||
		    strnlen(name, sizeof(info->needed[0])) >= sizeof(info->needed[0])) {
			err_set(e, ERR_INVALID, "%s: a library name the jail cannot take", path);
			goto out;
		}
		strcpy(info->needed[info->nneeded++], name);
	}
	ret = 0;
out:
	if (m != MAP_FAILED)
		munmap(m, (size_t)st.st_size);
	close(fd);
	return ret;
}

static int have(char **paths, int n, const char *p)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(paths[i], p))
			return 1;
	return 0;
}

static int add_deps(const char *path, char **paths, int *n, int max, struct err *e)
{
	struct elf_info info;

	if (elf_read(path, &info, e) < 0)
		return -1;
	if (info.interp[0] && !have(paths, *n, info.interp)) {
		if (*n >= max)
			return err_set(e, ERR_INTERNAL, "too many libraries");
		paths[(*n)++] = strdup(info.interp);
	}
	for (int i = 0; i < info.nneeded; i++) {
		char lib[512];
		int found = 0;

		for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]) && !found; d++) {
			snprintf(lib, sizeof(lib), "%s/%s", lib_dirs[d], info.needed[i]);
			found = access(lib, R_OK) == 0;
		}
		if (!found)
			return err_set(e, ERR_MISSING_TOOL, "%s needs %s, which is not installed",
				       path, info.needed[i]);
		if (have(paths, *n, lib))
			continue;
		if (*n >= max)
			return err_set(e, ERR_INTERNAL, "too many libraries");
		paths[(*n)++] = strdup(lib);
		if (add_deps(lib, paths, n, max, e) < 0)
			return -1;
	}
	return 0;
}

int share_jail_deps(const char *path, char **paths, int max, struct err *e)
{
	int n = 0;

	if (add_deps(path, paths, &n, max, e) < 0) {
		while (n > 0)
			free(paths[--n]);
		return -1;
	}
	return n;
}

/* ---- the jail ------------------------------------------------------------ */

/* Writes text to path: a new file (create), or one that exists (/proc). */
static int write_text(const char *path, const char *text, int create, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		err_errno(e, errno, "write %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* mkdir -p of path's parent directories, then path itself as a directory
 * (dir) or an empty file (a bind mount target). */
static int make_target(const char *path, int dir, struct err *e)
{
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return err_errno(e, errno, "mkdir %s", tmp);
		*p = '/';
	}
	if (dir ? mkdir(tmp, 0755) < 0 && errno != EEXIST : write_text(tmp, "", 1, e) < 0)
		return err_errno(e, errno, "make %s", tmp);
	return 0;
}

/* Binds the file or directory open as fd at target, read-only when ro.
 * The remount keeps the flags the source mount has (a user namespace may
 * not drop them) and adds nosuid and nodev. */
static int bind_fd(int fd, const char *target, int ro, struct err *e)
{
	char src[64];
	struct statvfs sv;
	struct stat st;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;

	/* /dev/null is the one device the server opens (for its standard
	 * descriptors); nothing else in the jail is a device. */
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
		flags &= ~(unsigned long)MS_NODEV;

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return err_errno(e, errno, "bind %s", target);
	if (fstatvfs(fd, &sv) == 0) {
		if (sv.f_flag & ST_NOEXEC)
			flags |= MS_NOEXEC;
		if (sv.f_flag & ST_RDONLY)
			flags |= MS_RDONLY;
		if (sv.f_flag & ST_NOATIME)
			flags |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			flags |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			flags |= MS_RELATIME;
	}
	if (ro)
		flags |= MS_RDONLY;
	if (mount(NULL, target, NULL, flags, NULL) < 0)
		return err_errno(e, errno, "remount %s%s", target, ro ? " read-only" : "");
	return 0;
}

/* A mount namespace we may mount in: root has one for the asking; a user
 * takes a user namespace too, mapping only itself. */
static int enter_namespace(uid_t uid, gid_t gid, struct err *e)
{
	char map[64];

	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS) < 0)
			return err_errno(e, errno, "unshare (mount namespace)");
		return 0;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		err_errno(e, errno, "unshare (user and mount namespace)");
		err_hint(e, "unprivileged user namespaces must be allowed "
			    "(sysctl kernel.unprivileged_userns_clone=1)");
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_text("/proc/self/uid_map", map, 0, e) < 0 ||
	    write_text("/proc/self/setgroups", "deny\n", 0, e) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_text("/proc/self/gid_map", map, 0, e);
}

/* Root serving a directory: become its owner, with no capabilities left
 * (a root-owned share is served by uid 0 that cannot override modes). */
static int drop_privileges(uid_t uid, gid_t gid, struct err *e)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(e, errno, "no_new_privs");
	if (geteuid() != 0)
		return 0;
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return err_errno(e, errno, "become uid %u", (unsigned)uid);
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		prctl(PR_CAPBSET_DROP, c, 0, 0, 0); /* fails once we are not root: fine */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_errno(e, errno, "drop capabilities");
	return 0;
}

int share_jail_exec(const char *dir, int ro, const char *server, struct err *e)
{
	char *deps[JAIL_MAX_FILES];
	int depfd[JAIL_MAX_FILES], ndeps, dirfd, srvfd, nullfd;
	char root[] = "/tmp", target[600], passwd[256];
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (!server)
		server = SHARE_SFTP_SERVER;
	if (access(server, X_OK) < 0) {
		err_errno(e, errno, "%s", server);
		e->code = ERR_MISSING_TOOL;
		err_hint(e, "install Debian's openssh-sftp-server (apt-get install "
			    "openssh-sftp-server)");
		return -1;
	}
	ndeps = share_jail_deps(server, deps, JAIL_MAX_FILES - 1, e);
	if (ndeps < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return err_errno(e, errno, "share %s", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_INVALID, "share %s is not a directory", dir);
	uid = geteuid() == 0 ? st.st_uid : geteuid();
	gid = geteuid() == 0 ? st.st_gid : getegid();
	if (enter_namespace(uid, gid, e) < 0)
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_errno(e, errno, "make mounts private");
	/* Open every source now, in the new namespace (a bind takes only its
	 * own namespace's mounts) and before the tmpfs hides where they live
	 * (a share under /tmp). */
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return err_errno(e, errno, "share %s", dir);
	srvfd = open(server, O_PATH | O_CLOEXEC);
	if (srvfd < 0)
		return err_errno(e, errno, "open %s", server);
	for (int i = 0; i < ndeps; i++)
		if ((depfd[i] = open(deps[i], O_PATH | O_CLOEXEC)) < 0)
			return err_errno(e, errno, "open %s", deps[i]);
	nullfd = open("/dev/null", O_PATH | O_CLOEXEC);
	if (nullfd < 0)
		return err_errno(e, errno, "open /dev/null");
	if (mount("banger-share", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0)
		return err_errno(e, errno, "mount the jail's tmpfs");
	if (chdir(root) < 0)
		return err_errno(e, errno, "chdir %s", root);
	/* Paths below are relative to the new root. */
	snprintf(target, sizeof(target), "%s%s", root, SHARE_JAIL_DIR);
	if (make_target(target, 1, e) < 0 || bind_fd(dirfd, target, ro, e) < 0)
		return -1;
	snprintf(target, sizeof(target), "%s%s", root, server);
	if (make_target(target, 0, e) < 0 || bind_fd(srvfd, target, 1, e) < 0)
		return -1;
	for (int i = 0; i < ndeps; i++) {
		snprintf(target, sizeof(target), "%s%s", root, deps[i]);
		if (make_target(target, 0, e) < 0 || bind_fd(depfd[i], target, 1, e) < 0)
			return -1;
	}
	if (make_target("/tmp/dev/null", 0, e) < 0 || bind_fd(nullfd, "/tmp/dev/null", 0, e) < 0)
		return -1;
	/* sftp-server looks its user up; the jail knows only that one. */
	snprintf(passwd, sizeof(passwd), "share:x:%u:%u:banger share:%s:/nonexistent\n",
		 (unsigned)uid, (unsigned)gid, SHARE_JAIL_DIR);
	if (make_target("/tmp/etc/passwd", 0, e) < 0 ||
	    write_text("/tmp/etc/passwd", passwd, 1, e) < 0)
		return -1;
	snprintf(passwd, sizeof(passwd), "share:x:%u:\n", (unsigned)gid);
	if (write_text("/tmp/etc/group", passwd, 1, e) < 0 ||
	    write_text("/tmp/etc/nsswitch.conf", "passwd: files\ngroup: files\n", 1, e) < 0)
		return -1;
	if (make_target("/tmp/.old", 1, e) < 0)
		return -1;
	if (syscall(SYS_pivot_root, root, "/tmp/.old") < 0)
		return err_errno(e, errno, "pivot_root");
	if (chdir("/") < 0 || umount2("/.old", MNT_DETACH) < 0 || rmdir("/.old") < 0)
		return err_errno(e, errno, "detach the host's root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return err_errno(e, errno, "make the jail read-only");
	if (chdir(SHARE_JAIL_DIR) < 0)
		return err_errno(e, errno, "chdir %s", SHARE_JAIL_DIR);
	if (drop_privileges(uid, gid, e) < 0)
		return -1;
	{
		const char *argv[] = {"sftp-server",	"-e", "-l", "INFO", "-d", SHARE_JAIL_DIR,
				      ro ? "-R" : NULL, NULL};

		execv(server, (char *const *)argv);
	}
	return err_errno(e, errno, "exec %s", server);
}
