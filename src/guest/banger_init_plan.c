/*
 * banger-init-plan: host test harness for banger-init's storage code.
 *
 *   banger-init-plan BASE_DEV OVERLAY_DEV WORK_DEV STAGE_DIR [CMDLINE]
 *
 * Runs the same mount plan (guest_plan + guest_exec) and per-boot file
 * writing as banger-init, with STAGE_DIR in place of /mnt, and without
 * modules or switch_root. Run it as root inside a private mount namespace
 * (unshare -m --propagation private) so the mounts vanish with it. Prints
 * the assembled root's path on success; exits 1 with a message otherwise.
 */
#include "guest/guest_cmdline.h"
#include "guest/guest_exec.h"
#include "guest/guest_plan.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct guest_plan_input in;
	struct guest_cmdline c;
	struct guest_plan plan;
	struct err e;

	err_clear(&e);
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s BASE_DEV OVERLAY_DEV WORK_DEV STAGE_DIR [CMDLINE]\n",
			argv[0]);
		return 2;
	}
	in = (struct guest_plan_input){argv[1], argv[2], argv[3], argv[4]};
	if (guest_cmdline_parse(argc == 6 ? argv[5] : "", &c, &e) < 0 ||
	    guest_plan_build(&in, &plan, &e) < 0 || guest_exec_plan(&plan, &e) < 0 ||
	    guest_exec_files(plan.root, &c, &e) < 0) {
		fprintf(stderr, "banger-init-plan: %s\n", e.msg);
		return 1;
	}
	printf("%s\n", plan.root);
	return 0;
}
