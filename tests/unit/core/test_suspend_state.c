/* Unit tests: the saved-state manifest (seal, then check against what a
 * resume would use), on real files in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/suspend_state.h"
#include "util/buf.h"
#include "util/fs.h"

struct fx {
	char *root, *dir, *kernel, *rootfs;
	struct suspend_ident id;
};

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	char *p;

	x->root = xstrdup("/tmp/banger-suspend-test.XXXXXX");
	assert_non_null(mkdtemp(x->root));
	x->dir = xasprintf("%s/suspend", x->root);
	x->kernel = xasprintf("%s/vmlinux", x->root);
	x->rootfs = xasprintf("%s/rootfs.ext4", x->root);
	assert_int_equal(mkdir(x->dir, 0700), 0);
	put(x->kernel, "kernel", 6);
	put(x->rootfs, "rootfs", 6);
	p = xasprintf("%s/vmstate", x->dir);
	put(p, "device state", 12);
	free(p);
	p = xasprintf("%s/memory", x->dir);
	put(p, "0123456789abcdef", 16);
	free(p);
	x->id =
	    (struct suspend_ident){"qemu", "/usr/bin/qemu 1:2 3 4.5", x->kernel, "", x->rootfs, 2,
				   1024,   "06:00:00:00:00:01"};
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	fs_rm_rf(x->root, NULL);
	free(x->root);
	free(x->dir);
	free(x->kernel);
	free(x->rootfs);
	free(x);
	return 0;
}

static void seal(struct fx *x)
{
	long long bytes = 0;
	struct err e;

	assert_int_equal(suspend_state_seal(x->dir, &x->id, &bytes, &e), 0);
	assert_true(bytes >= 12 + 16); /* blocks taken: a block or more per file */
	assert_true(suspend_state_sealed(x->dir));
	assert_int_equal(suspend_state_bytes(x->dir), bytes);
}

/* Expects the check to refuse, with `want` in the reason. */
static void refused(struct fx *x, const char *want)
{
	long long bytes;
	struct err e;

	err_clear(&e);
	assert_int_equal(suspend_state_check(x->dir, &x->id, &bytes, &e), -1);
	if (!strstr(e.msg, want))
		fail_msg("reason \"%s\" does not say \"%s\"", e.msg, want);
}

static void sealed_state_is_usable(void **state)
{
	struct fx *x = *state;
	long long bytes = 0;
	struct err e;

	assert_false(suspend_state_sealed(x->dir));
	seal(x);
	assert_int_equal(suspend_state_check(x->dir, &x->id, &bytes, &e), 0);
	assert_true(bytes >= 28);
}

static void unsealed_state_is_not(void **state)
{
	struct fx *x = *state;

	refused(x, "manifest");
}

static void truncated_file_is_refused(void **state)
{
	struct fx *x = *state;
	char *p = xasprintf("%s/memory", x->dir);

	seal(x);
	assert_int_equal(truncate(p, 8), 0);
	refused(x, "truncated");
	free(p);
}

static void corrupt_file_is_refused(void **state)
{
	struct fx *x = *state;
	char *p = xasprintf("%s/memory", x->dir);
	int fd;

	seal(x);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 3), 1);
	close(fd);
	refused(x, "corrupt");
	free(p);
}

static void missing_file_is_refused(void **state)
{
	struct fx *x = *state;
	char *p = xasprintf("%s/vmstate", x->dir);

	seal(x);
	assert_int_equal(unlink(p), 0);
	refused(x, "missing");
	free(p);
}

static void changed_machine_is_refused(void **state)
{
	struct fx *x = *state;

	seal(x);
	x->id.memory_mib = 2048;
	refused(x, "memory");
	x->id.memory_mib = 1024;
	x->id.vcpu = 4;
	refused(x, "vCPU");
	x->id.vcpu = 2;
	x->id.driver = "firecracker";
	refused(x, "saved by qemu");
	x->id.driver = "qemu";
	x->id.vmm_bin = "/usr/bin/qemu 1:9 3 4.5";
	refused(x, "binary changed");
	x->id.vmm_bin = "/usr/bin/qemu 1:2 3 4.5";
	x->id.mac = "06:00:00:00:00:02";
	refused(x, "MAC");
}

static void rebuilt_kernel_or_image_is_refused(void **state)
{
	struct fx *x = *state;
	struct timespec ts[2] = {{0, UTIME_NOW}, {1000, 0}};

	seal(x);
	assert_int_equal(utimensat(AT_FDCWD, x->kernel, ts, 0), 0);
	refused(x, "kernel changed");
	teardown(state);
	setup(state);
	x = *state;
	seal(x);
	put(x->rootfs, "rootfs v2", 9);
	refused(x, "base image changed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(sealed_state_is_usable, setup, teardown),
	    cmocka_unit_test_setup_teardown(unsealed_state_is_not, setup, teardown),
	    cmocka_unit_test_setup_teardown(truncated_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(corrupt_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_file_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(changed_machine_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(rebuilt_kernel_or_image_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
