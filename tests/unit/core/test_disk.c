/* Unit tests: disk images (storage/disk) made with real e2fsprogs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/disk.h"
#include "util/spawn.h"

static char dir[] = "/tmp/banger-disk-XXXXXX";

static char *debugfs_stat(const char *img, const char *path)
{
	char req[256];
	const char *argv[] = {"debugfs", "-R", req, img, NULL};
	char *out = NULL;
	struct err e;

	snprintf(req, sizeof(req), "stat %s", path);
	assert_int_equal(spawn_output(argv, NULL, &out, &e), 0);
	return out;
}

static void sparse_and_filled_from_staging(void **state)
{
	char img[128], stage[128], file[160];
	struct stat st;
	struct err e;
	FILE *f;
	char *out;

	(void)state;
	snprintf(img, sizeof(img), "%s/a.ext4", dir);
	snprintf(stage, sizeof(stage), "%s/stage-a", dir);
	mkdir(stage, 0755);
	snprintf(file, sizeof(file), "%s/hello", stage);
	f = fopen(file, "w");
	fputs("hi\n", f);
	fclose(f);
	assert_int_equal(disk_create(img, 1LL << 30, "t", stage, NULL, &e), 0);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 1LL << 30);
	assert_true(st.st_blocks * 512 < 16 << 20); /* lazy init: sparse */
	out = debugfs_stat(img, "/hello");
	assert_non_null(strstr(out, "Size: 3"));
	free(out);
	/* An existing file is never overwritten. */
	assert_int_equal(disk_create(img, 1LL << 30, "t", NULL, NULL, &e), -1);
}

static void grows_and_refuses_to_shrink(void **state)
{
	char img[128];
	struct stat st;
	struct err e;

	(void)state;
	snprintf(img, sizeof(img), "%s/b.ext4", dir);
	assert_int_equal(disk_create(img, 256LL << 20, "t", NULL, NULL, &e), 0);
	assert_int_equal(disk_grow(img, 512LL << 20, NULL, &e), 0);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 512LL << 20);
	assert_int_equal(disk_grow(img, 128LL << 20, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "shrink"));
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 512LL << 20);
}

/* Made without resize_inode (disk.c), a disk still grows offline far
 * beyond what reserved descriptors would cover, to a clean file system of
 * the new size that keeps its files. */
static void grows_a_hundredfold_without_reserved_descriptors(void **state)
{
	char img[128], stage[128], file[160];
	const char *fsck[] = {"e2fsck", "-f", "-n", img, NULL};
	struct err e;
	char *out;
	FILE *f;

	(void)state;
	snprintf(img, sizeof(img), "%s/d.ext4", dir);
	snprintf(stage, sizeof(stage), "%s/stage-d", dir);
	mkdir(stage, 0755);
	snprintf(file, sizeof(file), "%s/kept", stage);
	f = fopen(file, "w");
	fputs("still here\n", f);
	fclose(f);
	assert_int_equal(disk_create(img, 64LL << 20, "t", stage, NULL, &e), 0);
	assert_int_equal(disk_grow(img, 8LL << 30, NULL, &e), 0);
	assert_int_equal(spawn_check(fsck, NULL, &e), 0);
	{
		const char *argv[] = {"dumpe2fs", "-h", img, NULL};
		long long blocks = 0, bsize = 0;
		char *p;

		assert_int_equal(spawn_output(argv, NULL, &out, &e), 0);
		assert_non_null(p = strstr(out, "Block count:"));
		blocks = atoll(p + strlen("Block count:"));
		assert_non_null(p = strstr(out, "Block size:"));
		bsize = atoll(p + strlen("Block size:"));
		assert_true(blocks * bsize == 8LL << 30);
		assert_null(strstr(out, "resize_inode"));
		free(out);
	}
	out = debugfs_stat(img, "/kept");
	assert_non_null(strstr(out, "Size: 11"));
	free(out);
}

/* A daemon that is not root stages files as the user; the guest must
 * still see root's home and authorized_keys owned by root. */
static void staged_files_belong_to_root_when_made_by_a_user(void **state)
{
	char img[128], stage[128], ssh[160], keys[192];
	char *out;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(img, sizeof(img), "%s/c.ext4", dir);
	snprintf(stage, sizeof(stage), "%s/stage-c", dir);
	snprintf(ssh, sizeof(ssh), "%s/.ssh", stage);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", ssh);
	chmod(dir, 0777);
	pid = fork();
	if (pid == 0) {
		struct err e;
		FILE *f;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		mkdir(stage, 0700);
		mkdir(ssh, 0700);
		f = fopen(keys, "w");
		if (!f)
			_exit(3);
		fputs("ssh-ed25519 AAAA test\n", f);
		fclose(f);
		_exit(disk_create(img, 64LL << 20, "t", stage, NULL, &e) == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	out = debugfs_stat(img, "/.ssh/authorized_keys");
	assert_non_null(strstr(out, "User:     0"));
	free(out);
	out = debugfs_stat(img, "/");
	assert_non_null(strstr(out, "User:     0"));
	free(out);
}

static int cleanup(void **state)
{
	const char *argv[] = {"rm", "-rf", dir, NULL};
	struct err e;

	(void)state;
	spawn_check(argv, NULL, &e);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sparse_and_filled_from_staging),
	    cmocka_unit_test(grows_and_refuses_to_shrink),
	    cmocka_unit_test(grows_a_hundredfold_without_reserved_descriptors),
	    cmocka_unit_test(staged_files_belong_to_root_when_made_by_a_user),
	};

	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
