/*
 * Unit tests for image_guest_configure on a small fake Debian tree: what a
 * user of the built image finds (the ready unit enabled, the trimmed units
 * off, networkd installed but off), and that it is the same guest setup as
 * the runtime bundle's (scripts/runtime-bundle.sh writes the same texts).
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image_guest.h"
#include "util/buf.h"
#include "util/fs.h"

static char *tree;

static void touch(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", tree, rel), *dir = xstrdup(p);
	struct err e;

	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0755, &e), 0);
	assert_int_equal(fs_write_atomic(p, text, strlen(text), 0644, &e), 0);
	free(dir);
	free(p);
}

static void link_rel(const char *rel, const char *target)
{
	char *p = xasprintf("%s/%s", tree, rel), *dir = xstrdup(p);
	struct err e;

	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0755, &e), 0);
	assert_int_equal(symlink(target, p), 0);
	free(dir);
	free(p);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/banger-image-guest-XXXXXX";

	(void)state;
	tree = xstrdup(mkdtemp(tmpl));
	touch("usr/sbin/sshd", "");
	touch("usr/lib/systemd/system/ssh.service", "[Unit]\n");
	link_rel("lib", "usr/lib");
	touch("sbin/init", "");
	touch("etc/shadow", "root:!:19000:0:99999:7:::\n");
	link_rel("etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
		 "/lib/systemd/system/systemd-networkd.service");
	link_rel("etc/systemd/system/multi-user.target.wants/e2scrub_reap.service",
		 "/lib/systemd/system/e2scrub_reap.service");
	return 0;
}

static int teardown(void **state)
{
	struct err e;

	(void)state;
	fs_rm_rf(tree, &e);
	free(tree);
	return 0;
}

static char *link_of(const char *rel)
{
	static char buf[PATH_MAX];
	char *p = xasprintf("%s/%s", tree, rel);
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	free(p);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static char *read_rel(const char *rel)
{
	char *p = xasprintf("%s/%s", tree, rel), *text = NULL;
	struct err e;

	if (fs_read(p, 1 << 20, &text, NULL, &e) < 0)
		text = NULL;
	free(p);
	return text;
}

static void test_ready_unit_enabled_and_units_trimmed(void **state)
{
	struct err e;
	struct stat st;
	char *unit, *script, *p, *dropin, *hostkey;

	(void)state;
	assert_int_equal(image_guest_configure(tree, &e), 0);
	assert_string_equal(
	    link_of("etc/systemd/system/multi-user.target.wants/banger-ready.service"),
	    "/usr/lib/systemd/system/banger-ready.service");
	unit = read_rel("usr/lib/systemd/system/banger-ready.service");
	assert_non_null(unit);
	assert_non_null(strstr(unit, "After=ssh.service"));
	script = read_rel("usr/lib/banger/banger-ready");
	assert_non_null(script);
	assert_non_null(strstr(script, "banger: ready in $up s"));
	p = xasprintf("%s/usr/lib/banger/banger-ready", tree);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_mode & S_IXUSR);
	assert_null(link_of("etc/systemd/system/multi-user.target.wants/systemd-networkd.service"));
	assert_null(link_of("etc/systemd/system/multi-user.target.wants/e2scrub_reap.service"));
	assert_string_equal(link_of("etc/systemd/system/getty-static.service"), "/dev/null");
	assert_string_equal(link_of("etc/systemd/system/modprobe@loop.service"), "/dev/null");
	assert_string_equal(link_of("etc/systemd/system/dev-hugepages.mount"), "/dev/null");
	assert_string_equal(link_of("etc/systemd/system-generators/systemd-gpt-auto-generator"),
			    "/dev/null");
	assert_string_equal(link_of("etc/systemd/system-generators/systemd-sysv-generator"),
			    "/dev/null");
	/* fstab, getty and debug generators stay. */
	assert_null(link_of("etc/systemd/system-generators/systemd-fstab-generator"));
	assert_null(link_of("etc/systemd/system-generators/systemd-getty-generator"));
	/* sshd waits for no shell: the host key unit is skipped when bangerd wrote one. */
	dropin = read_rel("etc/systemd/system/ssh.service.d/banger.conf");
	assert_non_null(dropin);
	assert_non_null(strstr(dropin, "Wants=banger-ssh-hostkey.service"));
	assert_null(strstr(dropin, "/bin/sh"));
	hostkey = read_rel("usr/lib/systemd/system/banger-ssh-hostkey.service");
	assert_non_null(hostkey);
	assert_non_null(strstr(hostkey, "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key"));
	/* Idempotent: an image built from a banger base rootfs is configured again. */
	assert_int_equal(image_guest_configure(tree, &e), 0);
	free(p);
	free(unit);
	free(script);
	free(dropin);
	free(hostkey);
}

/* The bundle's rootfs and image build give the same guest: each text the C
 * side writes appears verbatim in scripts/runtime-bundle.sh. */
static void test_same_texts_as_the_bundle_script(void **state)
{
	static const char *const written[] = {"usr/lib/systemd/system/banger-ready.service",
					      "usr/lib/banger/banger-ready",
					      "etc/systemd/system/ssh.service.d/banger.conf",
					      "usr/lib/systemd/system/banger-ssh-hostkey.service"};
	static const char *const dirs[] = {"etc/systemd/system", "etc/systemd/system-generators"};
	char *script_path = xasprintf("%s/scripts/runtime-bundle.sh", SOURCE_ROOT), *script = NULL;
	struct err e;

	(void)state;
	assert_int_equal(fs_read(script_path, 1 << 20, &script, NULL, &e), 0);
	assert_int_equal(image_guest_configure(tree, &e), 0);
	for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
		char *text = read_rel(written[i]);

		assert_non_null(text);
		if (!strstr(script, text))
			fail_msg("%s differs from its text in scripts/runtime-bundle.sh",
				 written[i]);
		free(text);
	}
	/* And the same units masked and generators off. */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *dir = xasprintf("%s/%s", tree, dirs[i]);
		DIR *d = opendir(dir);
		struct dirent *de;

		assert_non_null(d);
		while ((de = readdir(d))) {
			char *rel = xasprintf("%s/%s", dirs[i], de->d_name);
			const char *to = link_of(rel);

			if (to && !strcmp(to, "/dev/null") && !strstr(script, de->d_name))
				fail_msg(
				    "%s is off in image builds, not in scripts/runtime-bundle.sh",
				    rel);
			free(rel);
		}
		closedir(d);
		free(dir);
	}
	free(script);
	free(script_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ready_unit_enabled_and_units_trimmed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_same_texts_as_the_bundle_script, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
