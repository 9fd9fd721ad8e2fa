/* Unit tests: in-process ed25519 SSH keys (daemon/keygen), read back by
 * OpenSSH's own ssh-keygen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/keygen.h"
#include "util/fs.h"
#include "util/spawn.h"

static char dir[] = "/tmp/banger-keygen-XXXXXX";

/* "TYPE KEY" of a public key line (the comment cut). */
static void type_and_key(char *line)
{
	char *sp = strchr(line, ' ');

	sp = sp ? strchr(sp + 1, ' ') : NULL;
	if (sp)
		*sp = '\0';
	line[strcspn(line, "\n")] = '\0';
}

static void ssh_keygen_reads_the_private_key_and_it_matches_the_public(void **state)
{
	char key[128], pubpath[160];
	const char *derive[] = {"ssh-keygen", "-y", "-f", key, NULL};
	const char *fp[] = {"ssh-keygen", "-l", "-f", pubpath, NULL};
	char *derived = NULL, *pub = NULL, *print = NULL;
	struct stat st;
	struct err e;

	(void)state;
	snprintf(key, sizeof(key), "%s/id", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/id.pub", dir);
	assert_int_equal(keygen_ed25519(key, "banger-vm", &e), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(pubpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(fs_read(pubpath, 4096, &pub, NULL, &e), 0);
	assert_non_null(strstr(pub, " banger-vm\n"));
	assert_int_equal(strncmp(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 32), 0);
	/* -y parses the whole private key file (format, check ints, key). */
	assert_int_equal(spawn_output(derive, NULL, &derived, &e), 0);
	type_and_key(derived);
	type_and_key(pub);
	assert_string_equal(derived, pub);
	assert_int_equal(spawn_output(fp, NULL, &print, &e), 0);
	assert_non_null(strstr(print, "(ED25519)"));
	free(derived);
	free(pub);
	free(print);
}

static void two_keys_differ(void **state)
{
	char a[128], b[128];
	char *pa = NULL, *pb = NULL;
	struct err e;

	(void)state;
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	assert_int_equal(keygen_ed25519(a, "x", &e), 0);
	assert_int_equal(keygen_ed25519(b, "x", &e), 0);
	assert_int_equal(fs_read(a, 4096, &pa, NULL, &e), 0);
	assert_int_equal(fs_read(b, 4096, &pb, NULL, &e), 0);
	assert_string_not_equal(pa, pb);
	free(pa);
	free(pb);
}

static void an_unwritable_place_is_an_error(void **state)
{
	struct err e;

	(void)state;
	err_clear(&e);
	assert_int_equal(keygen_ed25519("/nonexistent-dir/k", "x", &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/k"));
}

static int cleanup(void **state)
{
	(void)state;
	fs_rm_rf(dir, NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ssh_keygen_reads_the_private_key_and_it_matches_the_public),
	    cmocka_unit_test(two_keys_differ),
	    cmocka_unit_test(an_unwritable_place_is_an_error),
	};

	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
