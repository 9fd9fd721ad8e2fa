/*
 * banger-init: /init in the guest initrd (PID 1, linked -static, libc only).
 *
 * Loads the initrd's kernel modules, waits for the three disks, assembles the
 * root (base image + overlay disk as overlayfs, work disk at /root; see
 * guest_plan.h), writes the per-boot files from the kernel parameters (see
 * guest_cmdline.h), brings eth0 up with the VM's address (guest_net.h), and
 * switch_roots to /sbin/init. Any failure prints one
 * "banger-init: ..." line and resets the VM, so the user gets an error in the
 * VM's log instead of a hung machine.
 */
#include "guest/guest_boot.h"
#include "guest/guest_cmdline.h"
#include "guest/guest_exec.h"
#include "guest/guest_modload.h"
#include "guest/guest_net.h"
#include "guest/guest_plan.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define DISK_TIMEOUT_MS 10000
#define NET_TIMEOUT_MS 5000

static const char *const disks[] = {"/dev/vda", "/dev/vdb", "/dev/vdc"};

/* Everything up to the assembled root; returns -1 with e set. */
static int assemble(struct guest_cmdline *c, struct guest_plan *plan, const char *kver,
		    struct err *e)
{
	static char text[8192]; /* static: PID 1's stack is small and this is big */
	const struct guest_plan_input in = {disks[0], disks[1], disks[2], "/mnt"};
	char moddir[PATH_MAX];
	int loaded = 0;

	if (guest_boot_early_mounts(e) < 0 || guest_boot_read_cmdline(text, sizeof(text), e) < 0)
		return -1;
	if (guest_cmdline_parse(text, c, e) < 0)
		return err_wrap(e, "kernel command line");
	snprintf(moddir, sizeof(moddir), "/lib/modules/%s", kver);
	if (guest_modload_all(moddir, c->mmio_params, &loaded, e) < 0)
		return -1;
	if (guest_boot_wait_devices(disks, 3, DISK_TIMEOUT_MS, e) < 0) {
		if (loaded == 0)
			err_hint(e,
				 "the initrd has no modules for kernel %s: kernel and initrd must "
				 "come from the same runtime bundle",
				 kver);
		return -1;
	}
	if (guest_plan_build(&in, plan, e) < 0 || guest_exec_plan(plan, e) < 0)
		return -1;
	if (guest_exec_files(plan->root, c, e) < 0)
		return err_wrap(e, "write per-boot settings");
	if (guest_net_up(c, NET_TIMEOUT_MS, e) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct guest_cmdline c;
	struct guest_plan plan;
	struct utsname u;
	char keep[PATH_MAX];
	struct err e;

	(void)argc;
	err_clear(&e);
	if (getpid() != 1) {
		fprintf(stderr, "banger-init: must run as PID 1 inside a banger VM's initrd\n");
		return 2;
	}
	uname(&u);
	if (assemble(&c, &plan, u.release, &e) < 0)
		guest_boot_fail(&e);
	if (c.hostname[0] && sethostname(c.hostname, strlen(c.hostname)) < 0) {
		/* systemd sets it from /etc/hostname anyway */
	}
	guest_boot_modules_tree(plan.root, u.release, keep, sizeof(keep));
	guest_boot_say("root assembled (%s read-only + %s overlay, /root on %s); starting %s",
		       disks[0], disks[1], disks[2], c.init);
	if (guest_boot_switch_root(plan.root, keep, &e) < 0)
		guest_boot_fail(&e);
	/* argv[1..] are the kernel's init arguments (e.g. after "--"). */
	argv[0] = c.init;
	execv(c.init, argv);
	err_errno(&e, errno, "exec %s", c.init);
	err_hint(&e, "the base image has no init system; was it built by banger?");
	guest_boot_fail(&e);
}
