/* image_guest: see image_guest.h. */
#include "image/image_guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"

#define SSH_UNIT_DROPIN "etc/systemd/system/ssh.service.d/banger.conf"

static const char ssh_unit_dropin[] =
    "# banger: bangerd writes the VM's host key at create; make one only if missing.\n"
    "[Service]\n"
    "ExecStartPre=\n"
    "ExecStartPre=/bin/sh -c 'test -e /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t "
    "ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key'\n"
    "ExecStartPre=/usr/sbin/sshd -t\n";
static const char sshd_dropin[] =
    "# banger: root logs in with the key banger installs, never with a password.\n"
    "PermitRootLogin prohibit-password\n"
    "PasswordAuthentication no\n"
    "KbdInteractiveAuthentication no\n"
    "HostKey /etc/ssh/ssh_host_ed25519_key\n";
static const char hosts_file[] = "127.0.0.1\tlocalhost\n127.0.1.1\tbanger\n"
				 "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
				 "ff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n";

static char *tpath(const char *tree, const char *rel)
{
	return xasprintf("%s/%s", tree, rel);
}

/* Replaces a file's contents in place when it exists, so its owner, group
 * and mode (e.g. root:shadow 0640) stay; creates it otherwise. */
static int put(const char *tree, const char *rel, const char *text, mode_t mode, struct err *e)
{
	char *path = tpath(tree, rel);
	struct stat st;
	int fd, ret = -1;
	size_t len = strlen(text);

	/* Never follow a symlink out of the tree (resolv.conf often is one). */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		err_errno(e, errno, "write %s", path);
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		err_errno(e, errno, "write %s", path);
		close(fd);
		goto out;
	}
	ret = close(fd) < 0 ? err_errno(e, errno, "write %s", path) : 0;
out:
	free(path);
	return ret;
}

static void rm(const char *tree, const char *rel)
{
	char *path = tpath(tree, rel);

	unlink(path);
	free(path);
}

/* Locks root's password ("*": no password matches; unlike "!", sshd still
 * allows key logins whatever UsePAM says). */
static int lock_root(const char *tree, struct err *e)
{
	char *path = tpath(tree, "etc/shadow"), *text = NULL;
	struct buf out = BUF_INIT;
	int ret = -1;

	if (fs_read(path, 1 << 20, &text, NULL, e) < 0)
		goto out;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "root:", 5) == 0) {
			char *rest = strchr(line + 5, ':');

			buf_printf(&out, "root:*%s\n", rest ? rest : ":");
		} else {
			buf_printf(&out, "%s\n", line);
		}
	}
	ret = put(tree, "etc/shadow", buf_str(&out), 0640, e);
out:
	free(text);
	free(path);
	buf_free(&out);
	return ret;
}

/* Host keys are per VM: bangerd writes one into each VM's overlay. */
static void remove_host_keys(const char *tree)
{
	char *dir = tpath(tree, "etc/ssh");
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "ssh_host_", 9) == 0) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	free(dir);
}

static int check_tree(const char *tree, struct err *e)
{
	static const char *const need[] = {
	    "usr/sbin/sshd", "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
	    "sbin/init"};
	struct stat st;

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char *path = tpath(tree, need[i]);
		int ok = lstat(path, &st) == 0;

		free(path);
		if (!ok) {
			err_set(e, ERR_IO, "the bootstrapped tree has no /%s", need[i]);
			return -1;
		}
	}
	return 0;
}

int image_guest_configure(const char *tree, struct err *e)
{
	char *d1 = tpath(tree, "etc/systemd/system/ssh.service.d"),
	     *d2 = tpath(tree, "etc/ssh/sshd_config.d");
	int ret = -1;

	if (check_tree(tree, e) < 0)
		goto out;
	/* Each VM gets its own machine-id: systemd makes one at first boot when
	 * the file is empty and commits it to the VM's writable overlay. */
	if (put(tree, "etc/machine-id", "", 0444, e) < 0)
		goto out;
	rm(tree, "var/lib/dbus/machine-id");
	remove_host_keys(tree);
	if (fs_mkdir_p(d1, 0755, e) < 0 || fs_mkdir_p(d2, 0755, e) < 0 ||
	    put(tree, SSH_UNIT_DROPIN, ssh_unit_dropin, 0644, e) < 0 ||
	    put(tree, "etc/ssh/sshd_config.d/banger.conf", sshd_dropin, 0644, e) < 0 ||
	    lock_root(tree, e) < 0 ||
	    /* banger-init rewrites these at every boot; only defaults here. */
	    put(tree, "etc/hostname", "banger\n", 0644, e) < 0 ||
	    put(tree, "etc/hosts", hosts_file, 0644, e) < 0 ||
	    put(tree, "etc/resolv.conf", "", 0644, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		err_wrap(e, "configure the guest");
	free(d1);
	free(d2);
	return ret;
}
