/* Unit tests for guest_plan: the guest's storage layout as data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>
#include <sys/mount.h>

#include "guest/guest_plan.h"

static const struct guest_plan_input std_in = {"/dev/vda", "/dev/vdb", "/dev/vdc", "/mnt"};

/* Index of the first step of kind mounting/moving onto target, or fail. */
static size_t find(const struct guest_plan *p, enum guest_step_kind kind, const char *target)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].kind == kind && strcmp(p->steps[i].target, target) == 0)
			return i;
	fail_msg("no step of kind %d for %s", (int)kind, target);
	return 0;
}

static void test_mounts(void **state)
{
	(void)state;
	struct guest_plan p;
	struct err e;

	assert_int_equal(guest_plan_build(&std_in, &p, &e), 0);
	assert_string_equal(p.root, "/mnt/root");

	const struct guest_step *base = &p.steps[find(&p, GUEST_STEP_MOUNT, "/mnt/base")];
	assert_string_equal(base->source, "/dev/vda");
	assert_string_equal(base->fstype, "ext4");
	assert_true(base->flags & MS_RDONLY);

	const struct guest_step *ovl = &p.steps[find(&p, GUEST_STEP_MOUNT, "/mnt/overlay")];
	assert_string_equal(ovl->source, "/dev/vdb");
	assert_false(ovl->flags & MS_RDONLY);

	const struct guest_step *root = &p.steps[find(&p, GUEST_STEP_MOUNT, "/mnt/root")];
	assert_string_equal(root->fstype, "overlay");
	assert_string_equal(
	    root->data, "lowerdir=/mnt/base,upperdir=/mnt/overlay/upper,workdir=/mnt/overlay/work");

	const struct guest_step *work = &p.steps[find(&p, GUEST_STEP_MOUNT, "/mnt/root/root")];
	assert_string_equal(work->source, "/dev/vdc");
	assert_string_equal(work->fstype, "ext4");
	assert_false(work->flags & MS_RDONLY);
}

static void test_order(void **state)
{
	(void)state;
	struct guest_plan p;
	struct err e;

	assert_int_equal(guest_plan_build(&std_in, &p, &e), 0);
	size_t mnt_ovl = find(&p, GUEST_STEP_MOUNT, "/mnt/overlay");
	size_t upper = find(&p, GUEST_STEP_MKDIR, "/mnt/overlay/upper");
	size_t work = find(&p, GUEST_STEP_MKDIR, "/mnt/overlay/work");
	size_t root = find(&p, GUEST_STEP_MOUNT, "/mnt/root");
	size_t rootdir = find(&p, GUEST_STEP_MKDIR, "/mnt/root/root");
	size_t workdisk = find(&p, GUEST_STEP_MOUNT, "/mnt/root/root");

	/* upper/ and work/ live on the overlay disk: made after it is mounted. */
	assert_true(mnt_ovl < upper && upper < root && work < root);
	assert_true(find(&p, GUEST_STEP_MOUNT, "/mnt/base") < root);
	/* /root is made inside the overlay root, then the work disk covers it. */
	assert_true(root < rootdir && rootdir < workdisk);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p.steps[i].kind, GUEST_STEP_MKDIR);
}

static void test_layers_stay_visible(void **state)
{
	(void)state;
	struct guest_plan p;
	struct err e;

	assert_int_equal(guest_plan_build(&std_in, &p, &e), 0);
	size_t ro = find(&p, GUEST_STEP_MOVE, "/mnt/root" GUEST_PLAN_RO_DIR);
	size_t rw = find(&p, GUEST_STEP_MOVE, "/mnt/root" GUEST_PLAN_RW_DIR);
	assert_string_equal(p.steps[ro].source, "/mnt/base");
	assert_string_equal(p.steps[rw].source, "/mnt/overlay");
	assert_true(find(&p, GUEST_STEP_MKDIR, "/mnt/root" GUEST_PLAN_RO_DIR) < ro);
	/* Moves come last: the overlay root must already be mounted. */
	assert_true(find(&p, GUEST_STEP_MOUNT, "/mnt/root/root") < ro);
	for (size_t i = 0; i < p.n; i++)
		assert_true(p.steps[i].what[0] != '\0');
}

static void test_other_stage(void **state)
{
	(void)state;
	struct guest_plan p;
	struct err e;
	struct guest_plan_input in = {"/dev/loop3", "/dev/loop4", "/dev/loop5", "/tmp/t x"};

	assert_int_equal(guest_plan_build(&in, &p, &e), 0);
	assert_string_equal(p.root, "/tmp/t x/root");
	assert_string_equal(p.steps[find(&p, GUEST_STEP_MOUNT, "/tmp/t x/base")].source,
			    "/dev/loop3");
}

static void test_bad_input(void **state)
{
	(void)state;
	struct guest_plan p;
	struct err e;
	struct guest_plan_input in = std_in;
	char longp[400];

	in.work_dev = NULL;
	assert_int_equal(guest_plan_build(&in, &p, &e), -1);
	assert_non_null(strstr(e.msg, "work device"));
	in = std_in;
	in.stage = "mnt";
	assert_int_equal(guest_plan_build(&in, &p, &e), -1);
	assert_non_null(strstr(e.msg, "staging dir"));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	in = std_in;
	in.base_dev = longp;
	assert_int_equal(guest_plan_build(&in, &p, &e), -1);
	assert_non_null(strstr(e.msg, "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mounts),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_layers_stay_visible),
	    cmocka_unit_test(test_other_stage),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
