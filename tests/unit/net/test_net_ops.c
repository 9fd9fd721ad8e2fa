/*
 * Unit tests for net_ops' helper path: the command lines it sends through
 * sudo and how it reads the helper's answers back. A fake `sudo` (first in
 * PATH) and a fake helper stand in for the real ones, so nothing here needs
 * root or touches the host's network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_ops.h"
#include "util/buf.h"
#include "util/fs.h"

struct fixture {
	char dir[64];
	char *helper;
	char *args_file;
	struct net_conf conf;
};

/* sudo -n HELPER ARGS: refuses like the real one when FAKE_SUDO=refuse. */
static const char fake_sudo[] = "#!/bin/sh\n"
				"if [ \"$FAKE_SUDO\" = refuse ]; then\n"
				"  echo 'sudo: a password is required' >&2; exit 1\n"
				"fi\n"
				"[ \"$1\" = -n ] || { echo 'sudo: expected -n' >&2; exit 1; }\n"
				"shift; exec \"$@\"\n";

/* Records its arguments; answers per FAKE_HELPER. */
static const char fake_helper[] =
    "#!/bin/sh\n"
    "echo \"$*\" > \"$FAKE_ARGS\"\n"
    "case \"$FAKE_HELPER\" in\n"
    "conflict)\n"
    "  echo 'banger-netd: set up bridge banger0: subnet 172.30.77.0/24 overlaps' >&2\n"
    "  echo 'hint: choose another `subnet`' >&2\n"
    "  echo 'error-code: conflict' >&2; exit 3;;\n"
    "list) printf '0123456789abcdef\\nnot-an-id\\nfedcba9876543210\\n';;\n"
    "esac\n";

static void write_exe(const char *path, const char *text)
{
	struct err e;

	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0755, &e), 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *sudo, *path;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-net-ops-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sudo = xasprintf("%s/sudo", f->dir);
	f->helper = xasprintf("%s/banger-netd", f->dir);
	f->args_file = xasprintf("%s/args", f->dir);
	write_exe(sudo, fake_sudo);
	write_exe(f->helper, fake_helper);
	path = xasprintf("%s:/usr/bin:/bin", f->dir);
	setenv("PATH", path, 1);
	setenv("FAKE_ARGS", f->args_file, 1);
	unsetenv("FAKE_SUDO");
	unsetenv("FAKE_HELPER");
	free(path);
	free(sudo);
	f->conf = (struct net_conf){.bridge = "banger0",
				    .subnet = "172.30.77.0/24",
				    .helper_path = f->helper,
				    .use_helper = 1};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_rm_rf(f->dir, NULL);
	free(f->helper);
	free(f->args_file);
	free(f);
	return 0;
}

/* The helper's recorded command line. */
static char *sent(struct fixture *f)
{
	char *text = NULL;
	struct err e;

	assert_int_equal(fs_read(f->args_file, 4096, &text, NULL, &e), 0);
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static void assert_sent(struct fixture *f, const char *want)
{
	char *got = sent(f);

	assert_string_equal(got, want);
	free(got);
}

static void test_command_lines(void **state)
{
	struct fixture *f = *state;
	struct err e;

	assert_int_equal(net_ops_bridge_up(&f->conf, &e), 0);
	assert_sent(f, "bridge-up banger0 172.30.77.0/24");
	assert_int_equal(net_ops_bridge_down(&f->conf, &e), 0);
	assert_sent(f, "bridge-down banger0");
	assert_int_equal(net_ops_tap_add(&f->conf, "bgr0123456789ab", 1000, &e), 0);
	assert_sent(f, "tap-add bgr0123456789ab banger0 1000");
	assert_int_equal(net_ops_tap_del(&f->conf, "bgr0123456789ab", &e), 0);
	assert_sent(f, "tap-del bgr0123456789ab");
	assert_int_equal(
	    net_ops_nat_add(&f->conf, "0123456789abcdef", "bgr0123456789ab", "172.30.77.2", &e), 0);
	assert_sent(f, "nat-add 0123456789abcdef bgr0123456789ab 172.30.77.2 banger0 "
		       "172.30.77.0/24");
	assert_int_equal(net_ops_nat_del(&f->conf, "0123456789abcdef", &e), 0);
	assert_sent(f, "nat-del 0123456789abcdef");
}

static void test_nat_list_reads_ids(void **state)
{
	struct fixture *f = *state;
	struct net_list ids = {0};
	struct err e;

	setenv("FAKE_HELPER", "list", 1);
	assert_int_equal(net_ops_nat_list(&f->conf, &ids, &e), 0);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.items[0], "0123456789abcdef");
	assert_string_equal(ids.items[1], "fedcba9876543210");
	net_list_free(&ids);
}

static void test_helper_error_comes_back(void **state)
{
	struct fixture *f = *state;
	struct err e;

	setenv("FAKE_HELPER", "conflict", 1);
	assert_int_equal(net_ops_bridge_up(&f->conf, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_string_equal(e.msg, "set up bridge banger0: subnet 172.30.77.0/24 overlaps");
	assert_string_equal(e.hint, "choose another `subnet`");
}

static void test_sudo_refusal_gives_sudoers_line(void **state)
{
	struct fixture *f = *state;
	char want[256];
	struct err e;

	setenv("FAKE_SUDO", "refuse", 1);
	assert_int_equal(net_ops_tap_del(&f->conf, "bgr0123456789ab", &e), -1);
	assert_int_equal(e.code, ERR_PERMISSION);
	assert_non_null(strstr(e.msg, "a password is required"));
	snprintf(want, sizeof(want), "ALL=(root) NOPASSWD: %s", f->helper);
	assert_non_null(strstr(e.hint, want));
	assert_non_null(strstr(e.hint, "/etc/sudoers.d/"));
}

static void test_missing_helper(void **state)
{
	struct fixture *f = *state;
	struct net_conf c = f->conf;
	struct err e;

	c.helper_path = "/nonexistent/banger-netd";
	assert_int_equal(net_ops_nat_del(&c, "0123456789abcdef", &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "/nonexistent/banger-netd"));
	assert_non_null(strstr(e.hint, "netd_path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_command_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nat_list_reads_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_error_comes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sudo_refusal_gives_sudoers_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_helper, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
