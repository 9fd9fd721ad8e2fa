/* image_plan: see image_plan.h. */
#include "image/image_plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_mirror.h"
#include "image/image_pkgs.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/size.h"
#include "util/spawn.h"

/* What every guest needs: init, sshd, networkd (part of systemd), device
 * events, ip, modprobe, TLS roots, and sshfs for shared directories
 * (vm mount: the host serves the share over the VM's SSH connection). */
#define GUEST_PKGS "systemd-sysv,openssh-server,udev,iproute2,kmod,ca-certificates,sshfs"
#define DEFAULT_SUITE "bookworm"
#define MIN_SIZE (64LL << 20)

void image_plan_free(struct image_plan *p)
{
	free(p->suite);
	for (int i = 0; i < 3; i++)
		free(p->mirrors[i]);
	free(p->mirror_desc);
	free(p->packages);
	free(p->packages_src);
	free(p->kernel);
	free(p->initrd);
	free(p->modules_src);
	free(p->modules_dst);
	free(p->customize);
	free(p->base);
	memset(p, 0, sizeof(*p));
}

static int set(const char *s)
{
	return s && s[0];
}

/* A bundle file: the configured default_* path, else <runtime_dir>/file. */
static int bundle_file(const char *cfgval, const char *runtime_dir, const char *file,
		       const char *what, char **out, struct err *e)
{
	char *path = set(cfgval) ? xstrdup(cfgval) : xasprintf("%s/%s", runtime_dir, file);

	if (fs_check_readable(path, what, e) < 0) {
		err_set(e, ERR_NOT_FOUND, "the runtime bundle has no %s: %s is missing", what,
			path);
		err_hint(e,
			 "run `make runtime-bundle` (or point runtime_dir / default_%s in "
			 "config.toml at one)",
			 strcmp(what, "kernel") == 0 ? "kernel" : "initrd");
		free(path);
		return -1;
	}
	*out = fs_realpath(path);
	if (!*out)
		*out = path;
	else
		free(path);
	return 0;
}

/* The bundle's modules tree: either a directory of <ver>/ trees (the bundle's
 * modules/) or one <ver> tree (it has modules.dep). */
static void pick_modules(const struct config *cfg, const char *runtime_dir, struct image_plan *p)
{
	char *dir = set(cfg->default_modules_dir) ? xstrdup(cfg->default_modules_dir)
						  : xasprintf("%s/modules", runtime_dir);
	char *dep = xasprintf("%s/modules.dep", dir);

	if (fs_is_dir(dir)) {
		char *real = fs_realpath(dir);
		const char *base;

		p->modules_src = real ? real : xstrdup(dir);
		base = strrchr(p->modules_src, '/');
		p->modules_dst = fs_exists(dep) ? xasprintf("lib/modules/%s", base ? base + 1 : "")
						: xstrdup("lib/modules");
	}
	free(dep);
	free(dir);
}

static int pick_packages(const struct image_plan_opts *o, const struct config *cfg,
			 const char *runtime_dir, struct image_plan *p, struct err *e)
{
	struct buf csv = BUF_INIT;
	char *file = NULL, *bundled = xasprintf("%s/packages.apt", runtime_dir);
	int ret = -1;

	buf_puts(&csv, GUEST_PKGS);
	if (o->docker)
		buf_puts(&csv, ",docker.io");
	if (set(o->packages_file))
		file = xstrdup(o->packages_file);
	else if (set(cfg->default_packages_file))
		file = xstrdup(cfg->default_packages_file);
	else if (fs_exists(bundled))
		file = xstrdup(bundled);
	if (file) {
		if (image_pkgs_load(file, &csv, e) < 0)
			goto out;
		p->packages_src = xstrdup(file);
	} else {
		p->packages_src = xasprintf("none (%s does not exist)", bundled);
	}
	p->packages = buf_steal(&csv);
	ret = 0;
out:
	buf_free(&csv);
	free(file);
	free(bundled);
	return ret;
}

/* prog must be in PATH; pkg is the Debian package that ships it. */
static int need_tool(const char *prog, const char *pkg, struct err *e)
{
	char *path = spawn_which(prog);

	if (path) {
		free(path);
		return 0;
	}
	err_set(e, ERR_MISSING_TOOL, "image build needs %s, which is not installed", prog);
	err_hint(e, "install it: apt-get install %s", pkg);
	return -1;
}

/* Runs a quick probe; 0 if it exited 0. tail gets its last output. */
static int probe(const char *const argv[], char *tail, size_t len)
{
	struct spawn_result r;
	struct err e;

	if (spawn_run(argv, NULL, &r, &e) < 0) {
		snprintf(tail, len, "%s", e.msg);
		return -1;
	}
	snprintf(tail, len, "%s", r.tail);
	return r.status == 0 ? 0 : -1;
}

/* mmdebstrap --mode=root inside a private mount + pid namespace, or
 * --mode=unshare without root; a clear error when neither can work here. */
static int pick_mode(struct image_plan *p, struct err *e)
{
	char tail[SPAWN_TAIL_MAX];

	p->rootless = geteuid() != 0;
	if (!p->rootless) {
		const char *const argv[] = {"unshare", "--mount", "--propagation", "private",
					    "--pid",   "--fork",  "true",	   NULL};

		if (need_tool("unshare", "util-linux", e) < 0 ||
		    need_tool("setpriv", "util-linux", e) < 0)
			return -1;
		if (probe(argv, tail, sizeof(tail)) < 0) {
			err_set(
			    e, ERR_PERMISSION,
			    "image build: cannot create a private mount namespace for mmdebstrap "
			    "(unshare --mount --pid failed: %s)",
			    tail);
			err_hint(
			    e,
			    "bangerd runs as root but lacks CAP_SYS_ADMIN (a container?); run it "
			    "where it may mount");
			return -1;
		}
		return 0;
	}
	{
		const char *const argv[] = {"unshare",	  "--user", "--map-root-user",
					    "--map-auto", "true",   NULL};

		if (need_tool("fakeroot", "fakeroot", e) < 0)
			return -1;
		if (probe(argv, tail, sizeof(tail)) < 0) {
			err_set(
			    e, ERR_PERMISSION,
			    "image build needs root, or a user namespace with subordinate ids for "
			    "mmdebstrap --mode=unshare (unshare --user --map-auto failed: %s)",
			    tail);
			err_hint(
			    e, "run bangerd as root, or give your user a range in /etc/subuid and "
			       "/etc/subgid (e.g. USER:100000:65536) and allow unprivileged user "
			       "namespaces");
			return -1;
		}
	}
	return 0;
}

int image_plan_prepare(const struct image_plan_opts *o, const struct config *cfg,
		       const char *runtime_dir, struct image_plan *p, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (set(o->base_rootfs)) {
		if (set(o->suite) || set(o->mirror)) {
			err_set(e, ERR_INVALID,
				"--base-rootfs cannot be combined with --suite or "
				"--mirror: the base already decides them");
			err_hint(e, "leave out --base-rootfs to build from scratch");
			return -1;
		}
		if (fs_check_readable(o->base_rootfs, "--base-rootfs", e) < 0)
			return -1;
		p->base = fs_realpath(o->base_rootfs);
		p->base_explicit = 1;
	} else if (!set(o->suite) && !set(o->mirror)) {
		/* The configured base, else the bundle's: used when it already has
		 * every package asked for (image_build_run checks). */
		char *b = set(cfg->default_base_rootfs) ? xstrdup(cfg->default_base_rootfs)
							: xasprintf("%s/rootfs.ext4", runtime_dir);

		if (fs_check_readable(b, "base rootfs", NULL) == 0)
			p->base = fs_realpath(b);
		free(b);
	}
	p->suite = xstrdup(set(o->suite) ? o->suite : DEFAULT_SUITE);
	if (!image_mirror_suite_ok(p->suite))
		return err_set(
		    e, ERR_INVALID,
		    "--suite \"%s\" is not a Debian suite name (like bookworm or trixie)",
		    p->suite);
	if (set(o->mirror)) {
		if (!image_mirror_ok(o->mirror)) {
			err_set(e, ERR_INVALID, "--mirror \"%s\" is not a mirror URL", o->mirror);
			err_hint(e, "give an http://, https:// or file:/ URL such as "
				    "http://deb.debian.org/debian");
			return -1;
		}
		p->mirrors[0] = xasprintf("deb %s %s main", o->mirror, p->suite);
		p->mirrors[1] = xasprintf("deb %s %s-updates main", o->mirror, p->suite);
		p->mirror_desc = xasprintf("%s (--mirror)", o->mirror);
	} else {
		char *m = image_mirror_host("/etc/apt", 0), *s = image_mirror_host("/etc/apt", 1);

		/* Updates and security keep the guest's packages current. */
		p->mirrors[0] = xasprintf("deb %s %s main", m, p->suite);
		p->mirrors[1] = xasprintf("deb %s %s-updates main", m, p->suite);
		p->mirrors[2] = xasprintf("deb %s %s-security main", s, p->suite);
		p->mirror_desc = xasprintf("%s and %s (the host's apt sources)", m, s);
		free(m);
		free(s);
	}
	if (set(o->size)) {
		if (size_parse(o->size, &p->size, e) < 0)
			return err_wrap(e, "--size");
		if (p->size < MIN_SIZE)
			return err_set(e, ERR_INVALID,
				       "--size %s is too small: an image needs at "
				       "least 64M (a minimal Debian is about 250M)",
				       o->size);
	}
	p->docker = o->docker;
	if (pick_packages(o, cfg, runtime_dir, p, e) < 0)
		return -1;
	if (bundle_file(cfg->default_kernel, runtime_dir, "vmlinux", "kernel", &p->kernel, e) < 0 ||
	    bundle_file(cfg->default_initrd, runtime_dir, "initrd.img", "initrd", &p->initrd, e) <
		0)
		return -1;
	pick_modules(cfg, runtime_dir, p);
	if (set(cfg->customize_script)) {
		int bad = access(cfg->customize_script, X_OK) < 0 ? errno
			  : fs_is_dir(cfg->customize_script)	  ? EISDIR
								  : 0;

		if (bad) {
			err_errno(e, bad, "customize_script %s cannot be run",
				  cfg->customize_script);
			err_hint(e, "make it an executable file, or unset customize_script in "
				    "config.toml");
			return -1;
		}
		p->customize = xstrdup(cfg->customize_script);
	}
	if (need_tool("mmdebstrap", "mmdebstrap", e) < 0 ||
	    need_tool("mkfs.ext4", "e2fsprogs", e) < 0 || need_tool("e2fsck", "e2fsprogs", e) < 0)
		return -1;
	return pick_mode(p, e);
}
