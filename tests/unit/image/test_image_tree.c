/* Unit tests: removing a build directory (also with a mount inside) and
 * reconciling interrupted builds at daemon start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image_tree.h"
#include "util/buf.h"
#include "util/fs.h"

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static void remove_plain(void **state)
{
	char dir[] = "/tmp/banger-test-tree-XXXXXX", *p;
	struct err e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/a/b", dir);
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);
	p = xasprintf("%s/a/b/f", dir);
	touch(p);
	free(p);
	p = xasprintf("%s/a", dir);
	chmod(p, 0555); /* a Debian tree has read-only directories */
	free(p);
	assert_int_equal(image_tree_remove(dir, &e), 0);
	assert_false(fs_exists(dir));
	assert_int_equal(image_tree_remove(dir, &e), 0); /* missing: fine */
}

/* A tmpfs mounted inside the tree (like a killed chroot's /proc) is
 * detached, not emptied into the host, and the tree goes. Root only. */
static void remove_with_mount(void **state)
{
	char dir[] = "/tmp/banger-test-tree-XXXXXX", *mnt, *f;
	struct err e;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	mnt = xasprintf("%s/tree/proc", dir);
	assert_int_equal(fs_mkdir_p(mnt, 0755, &e), 0);
	if (mount("banger-test", mnt, "tmpfs", 0, "size=1m") < 0) {
		fs_rm_rf(dir, NULL);
		free(mnt);
		skip();
	}
	f = xasprintf("%s/inside", mnt);
	touch(f);
	assert_int_equal(image_tree_remove(dir, &e), 0);
	assert_false(fs_exists(dir));
	free(f);
	free(mnt);
}

static void reconcile(void **state)
{
	char dir[] = "/tmp/banger-test-rec-XXXXXX", *db, *imgs, *p;
	struct store *st;
	struct store_image a = {0}, b = {0}, got;
	struct err e;
	struct logger *lg = logger_fd(2, LOG_ERROR);

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = xasprintf("%s/banger.db", dir);
	imgs = xasprintf("%s/images", dir);
	assert_int_equal(store_open(db, &st, &e), 0);
	snprintf(a.id, sizeof(a.id), "00000000000000aa");
	snprintf(a.name, sizeof(a.name), "half");
	snprintf(a.state, sizeof(a.state), "building");
	a.managed = 1;
	snprintf(a.rootfs, sizeof(a.rootfs), "/x");
	snprintf(a.kernel, sizeof(a.kernel), "/x");
	b.managed = 1;
	snprintf(b.id, sizeof(b.id), "00000000000000bb");
	snprintf(b.name, sizeof(b.name), "done");
	snprintf(b.state, sizeof(b.state), "ready");
	snprintf(b.rootfs, sizeof(b.rootfs), "/x");
	snprintf(b.kernel, sizeof(b.kernel), "/x");
	assert_int_equal(store_image_insert(st, &a, &e), 0);
	assert_int_equal(store_image_insert(st, &b, &e), 0);
	p = xasprintf("%s/00000000000000aa/tree/etc", imgs);
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);
	p = xasprintf("%s/00000000000000bb", imgs);
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);
	p = xasprintf("%s/00000000000000cc", imgs); /* no record */
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);
	p = xasprintf("%s/not-an-image", imgs); /* not banger's: left alone */
	assert_int_equal(fs_mkdir_p(p, 0755, &e), 0);
	free(p);

	image_tree_reconcile(st, imgs, lg);

	assert_int_equal(store_image_get(st, "half", &got, NULL), -1);
	assert_int_equal(store_image_get(st, "done", &got, NULL), 0);
	p = xasprintf("%s/00000000000000aa", imgs);
	assert_false(fs_exists(p));
	free(p);
	p = xasprintf("%s/00000000000000bb", imgs);
	assert_true(fs_is_dir(p));
	free(p);
	p = xasprintf("%s/00000000000000cc", imgs);
	assert_false(fs_exists(p));
	free(p);
	p = xasprintf("%s/not-an-image", imgs);
	assert_true(fs_is_dir(p));
	free(p);
	store_close(st);
	logger_free(lg);
	fs_rm_rf(dir, NULL);
	free(db);
	free(imgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(remove_plain),
	    cmocka_unit_test(remove_with_mount),
	    cmocka_unit_test(reconcile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
