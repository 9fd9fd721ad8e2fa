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
#define READY_UNIT "usr/lib/systemd/system/banger-ready.service"
#define HOSTKEY_UNIT "usr/lib/systemd/system/banger-ssh-hostkey.service"
#define GENERATOR_DIR "etc/systemd/system-generators"
#define READY_SCRIPT "usr/lib/banger/banger-ready"
#define UNIT_DIR "etc/systemd/system"

static const char ssh_unit_dropin[] =
    "# banger: sshd starts as soon as the journal socket is there, not after\n"
    "# sysinit.target (the whole of early boot, ~7 s under TCG): banger-init\n"
    "# already mounted the disks and configured eth0. Remove this [Unit] section\n"
    "# to get Debian's ordering back.\n"
    "[Unit]\n"
    "DefaultDependencies=no\n"
    "After=systemd-journald.socket\n"
    "RequiresMountsFor=/root\n"
    "Conflicts=shutdown.target\n"
    "Before=shutdown.target\n"
    "# bangerd writes the VM's host key at create; banger-ssh-hostkey.service\n"
    "# makes one only when it is missing (skipped otherwise, at no cost).\n"
    "Wants=banger-ssh-hostkey.service\n"
    "After=banger-ssh-hostkey.service\n"
    "\n"
    "# No `sshd -t` pre-check: a bad configuration fails sshd itself just the same.\n"
    "[Service]\n"
    "ExecStartPre=\n";
static const char hostkey_unit[] =
    "# banger: makes the VM's SSH host key when there is none. bangerd writes one\n"
    "# into every VM's overlay at create, so this is skipped (no process runs).\n"
    "[Unit]\n"
    "Description=Make the SSH host key if the VM has none\n"
    "DefaultDependencies=no\n"
    "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
    "Before=ssh.service\n"
    "Conflicts=shutdown.target\n"
    "Before=shutdown.target\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key\n";
static const char ready_unit[] =
    "# banger: says on the serial console whether the VM is ready, once\n"
    "# ssh.service's start job is done (Type=notify: sshd listens). bangerd waits\n"
    "# for that line; without this unit `vm create` waits for boot_timeout.\n"
    "[Unit]\n"
    "Description=Tell banger the VM is ready\n"
    "DefaultDependencies=no\n"
    "Wants=ssh.service\n"
    "After=ssh.service\n"
    "Conflicts=shutdown.target\n"
    "Before=shutdown.target\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=/usr/lib/banger/banger-ready\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";
static const char ready_script[] =
    "#!/bin/sh\n"
    "# banger-ready: run by banger-ready.service. Writes \"banger: ready in <uptime> s\"\n"
    "# or \"banger: not ready: ...\" to /dev/console, the line bangerd watches for.\n"
    "# /dev/console rather than /dev/kmsg: printed whatever the console log level\n"
    "# (quiet, kernel.printk), and never hung up by agetty's vhangup of ttyS0.\n"
    "listening() {\n"
    "\tfor f in /proc/net/tcp /proc/net/tcp6; do\n"
    "\t\t[ -r \"$f\" ] || continue\n"
    "\t\twhile read -r sl local remote st rest; do\n"
    "\t\t\tcase \"$local:$st\" in *:0016:0A) return 0 ;; esac\n"
    "\t\tdone <\"$f\"\n"
    "\tdone\n"
    "\treturn 1\n"
    "}\n"
    "read -r up rest </proc/uptime\n"
    "if listening; then\n"
    "\techo \"banger: ready in $up s\" >/dev/console\n"
    "else\n"
    "\techo \"banger: not ready: sshd is not listening on port 22 (ssh.service:\" \\\n"
    "\t\t\"$(systemctl is-active ssh.service 2>/dev/null) $(systemctl is-enabled ssh.service "
    "2>/dev/null))\" >/dev/console\n"
    "fi\n";

/* What banger turns off in the guest for a fast boot: the same lists as
 * GUEST_DISABLE and GUEST_MASK in scripts/runtime-bundle.sh (README "What
 * banger turns off in the guest"). Disabled: the [Install] symlinks under
 * etc/systemd/system go (`systemctl enable` brings each back). Masked:
 * units without an [Install] section, linked to /dev/null (`systemctl
 * unmask`). systemd-networkd stays installed: banger-init configures eth0. */
static const char *const disabled[] = {
    "multi-user.target.wants/e2scrub_reap.service",
    "timers.target.wants/e2scrub_all.timer",
    "sysinit.target.wants/systemd-pstore.service",
    "getty.target.wants/getty@tty1.service",
    "multi-user.target.wants/systemd-networkd.service",
    "sockets.target.wants/systemd-networkd.socket",
    "sysinit.target.wants/systemd-network-generator.service",
    "network-online.target.wants/systemd-networkd-wait-online.service",
    "dbus-org.freedesktop.network1.service",
};
static const char *const masked[] = {
    "getty-static.service",
    "modprobe@configfs.service",
    "modprobe@dm_mod.service",
    "modprobe@efi_pstore.service",
    "modprobe@fuse.service",
    "modprobe@loop.service",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-sysusers.service",
    "systemd-random-seed.service",
};
/* Generators systemd runs before it loads any unit (one process each, ~0.1 s
 * apiece under TCG) for what a banger VM has not: LUKS, dm-integrity/verity,
 * GPT partitions, hibernation, offline updates, EFI boot counting, SysV init
 * scripts, /etc/rc.local, systemd.run= on the command line. Disabled with a
 * /dev/null link in /etc/systemd/system-generators (delete it to undo);
 * fstab, getty and debug generators stay. */
static const char *const generators_off[] = {
    "systemd-cryptsetup-generator",	  "systemd-integritysetup-generator",
    "systemd-veritysetup-generator",	  "systemd-gpt-auto-generator",
    "systemd-hibernate-resume-generator", "systemd-system-update-generator",
    "systemd-bless-boot-generator",	  "systemd-sysv-generator",
    "systemd-rc-local-generator",	  "systemd-run-generator",
};

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
	static const char *const need[] = {"usr/sbin/sshd", "lib/systemd/system/ssh.service",
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

/* Replaces whatever is at tree/rel (a file or symlink) with a symlink. */
static int link_to(const char *tree, const char *rel, const char *target, struct err *e)
{
	char *path = tpath(tree, rel);
	int ret = 0;

	unlink(path);
	if (symlink(target, path) < 0)
		ret = err_errno(e, errno, "symlink %s -> %s", path, target);
	free(path);
	return ret;
}

/* The boot trimming above, plus banger-ready.service enabled and the host
 * key unit ssh.service pulls in. */
static int tune_units(const char *tree, struct err *e)
{
	char *wants = tpath(tree, UNIT_DIR "/multi-user.target.wants"),
	     *libdir = tpath(tree, "usr/lib/banger"), *gens = tpath(tree, GENERATOR_DIR);
	int ret = -1;

	for (size_t i = 0; i < sizeof(disabled) / sizeof(disabled[0]); i++) {
		char *rel = xasprintf(UNIT_DIR "/%s", disabled[i]);

		rm(tree, rel);
		free(rel);
	}
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		char *rel = xasprintf(UNIT_DIR "/%s", masked[i]);
		int r = link_to(tree, rel, "/dev/null", e);

		free(rel);
		if (r < 0)
			goto out;
	}
	if (fs_mkdir_p(gens, 0755, e) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(generators_off) / sizeof(generators_off[0]); i++) {
		char *rel = xasprintf(GENERATOR_DIR "/%s", generators_off[i]);
		int r = link_to(tree, rel, "/dev/null", e);

		free(rel);
		if (r < 0)
			goto out;
	}
	if (fs_mkdir_p(wants, 0755, e) < 0 || fs_mkdir_p(libdir, 0755, e) < 0 ||
	    put(tree, READY_UNIT, ready_unit, 0644, e) < 0 ||
	    put(tree, HOSTKEY_UNIT, hostkey_unit, 0644, e) < 0 ||
	    put(tree, READY_SCRIPT, ready_script, 0755, e) < 0 ||
	    link_to(tree, UNIT_DIR "/multi-user.target.wants/banger-ready.service", "/" READY_UNIT,
		    e) < 0)
		goto out;
	ret = 0;
out:
	free(wants);
	free(libdir);
	free(gens);
	return ret;
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
	    put(tree, "etc/resolv.conf", "", 0644, e) < 0 || tune_units(tree, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		err_wrap(e, "configure the guest");
	free(d1);
	free(d2);
	return ret;
}
