/* Unit tests for guest_modules: load order from modules.dep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "guest/guest_modules.h"

/* The initrd's modules.dep as depmod writes it for Debian's cloud kernel. */
static const char initrd_dep[] =
    "kernel/net/core/failover.ko:\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
    "kernel/net/core/failover.ko\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/drivers/block/virtio_blk.ko:\n"
    "kernel/drivers/virtio/virtio_mmio.ko:\n"
    "kernel/drivers/virtio/virtio.ko:\n"
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/fs/overlayfs/overlay.ko:\n";

static long pos(const struct guest_modlist *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->paths[i], path) == 0)
			return (long)i;
	fail_msg("%s missing from the load order", path);
	return -1;
}

static void test_every_module_once_deps_first(void **state)
{
	(void)state;
	struct guest_modlist l;
	struct err e;

	assert_int_equal(guest_modules_order(initrd_dep, &l, &e), 0);
	assert_int_equal(l.n, 8);
	assert_true(pos(&l, "kernel/net/core/failover.ko") <
		    pos(&l, "kernel/drivers/net/net_failover.ko"));
	assert_true(pos(&l, "kernel/drivers/net/net_failover.ko") <
		    pos(&l, "kernel/drivers/net/virtio_net.ko"));
	/* Independent modules keep the file's order. */
	assert_true(pos(&l, "kernel/drivers/block/virtio_blk.ko") <
		    pos(&l, "kernel/fs/overlayfs/overlay.ko"));
	guest_modules_free(&l);
}

static void test_transitive_deps_and_blank_lines(void **state)
{
	(void)state;
	struct guest_modlist l;
	struct err e;
	const char dep[] = "\n# comment\na.ko: b.ko\nb.ko: c.ko\nc.ko:\n\n";

	assert_int_equal(guest_modules_order(dep, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.paths[0], "c.ko");
	assert_string_equal(l.paths[1], "b.ko");
	assert_string_equal(l.paths[2], "a.ko");
	guest_modules_free(&l);
}

static void test_empty_file_loads_nothing(void **state)
{
	(void)state;
	struct guest_modlist l;
	struct err e;

	assert_int_equal(guest_modules_order("", &l, &e), 0);
	assert_int_equal(l.n, 0);
	guest_modules_free(&l);
}

static void test_missing_dependency_line(void **state)
{
	(void)state;
	struct guest_modlist l;
	struct err e;

	assert_int_equal(guest_modules_order("a.ko: gone.ko\n", &l, &e), -1);
	assert_non_null(strstr(e.msg, "gone.ko"));
	assert_non_null(strstr(e.msg, "rebuild"));
	assert_int_equal(l.n, 0);
}

static void test_cycle_and_garbage(void **state)
{
	(void)state;
	struct guest_modlist l;
	struct err e;

	assert_int_equal(guest_modules_order("a.ko: b.ko\nb.ko: a.ko\n", &l, &e), -1);
	assert_non_null(strstr(e.msg, "cycle"));
	assert_int_equal(guest_modules_order("no colon here\n", &l, &e), -1);
	assert_non_null(strstr(e.msg, "line 1"));
}

static void test_module_name(void **state)
{
	(void)state;
	char n[64];

	guest_modules_name("kernel/drivers/virtio/virtio_mmio.ko", n, sizeof(n));
	assert_string_equal(n, "virtio_mmio");
	guest_modules_name("kernel/x/virtio-mmio.ko.xz", n, sizeof(n));
	assert_string_equal(n, "virtio_mmio");
	guest_modules_name("overlay.ko", n, 4);
	assert_string_equal(n, "ove");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_module_once_deps_first),
	    cmocka_unit_test(test_transitive_deps_and_blank_lines),
	    cmocka_unit_test(test_empty_file_loads_nothing),
	    cmocka_unit_test(test_missing_dependency_line),
	    cmocka_unit_test(test_cycle_and_garbage),
	    cmocka_unit_test(test_module_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
