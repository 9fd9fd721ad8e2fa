/* Unit tests: config parsing, types, unknown keys, env overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

static int parse(struct config *c, const char *text, struct err *e)
{
	memset(c, 0, sizeof(*c));
	config_defaults(c);
	return config_parse(c, "config.toml", text, strlen(text), e);
}

static void defaults_and_values(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(parse(&c,
			       "log_level = \"debug\"\nstop_timeout = 3\n"
			       "firecracker_bin = \"/opt/fc\"\n",
			       &e),
			 0);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.stop_timeout, 3);
	assert_string_equal(c.firecracker_bin, "/opt/fc");
	assert_string_equal(c.bridge_name, "banger0");
	assert_string_equal(c.vmm, "auto");
	assert_int_equal(c.suspend_on_stop, 0);
	config_free(&c);
	assert_int_equal(parse(&c, "suspend_on_stop = true\n", &e), 0);
	assert_int_equal(c.suspend_on_stop, 1);
	config_free(&c);
	/* The guest kernel's extra parameters: the default skips the crypto
	 * self-tests; "" gives the kernel's own behaviour back. */
	assert_int_equal(parse(&c, "", &e), 0);
	assert_string_equal(c.guest_kernel_args, "cryptomgr.notests");
	config_free(&c);
	assert_int_equal(parse(&c, "guest_kernel_args = \"\"\n", &e), 0);
	assert_string_equal(c.guest_kernel_args, "");
	config_free(&c);
	assert_int_equal(parse(&c, "guest_kernel_args = \"quiet\\nx\"\n", &e), -1);
	assert_non_null(strstr(e.msg, "guest_kernel_args"));
	config_free(&c);
}

static void unknown_key_names_file_line_key(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(parse(&c, "log_level = \"info\"\n\nfirecracker = 1\n", &e), -1);
	assert_non_null(strstr(e.msg, "config.toml:3"));
	assert_non_null(strstr(e.msg, "firecracker"));
	config_free(&c);
}

static void wrong_type_and_bad_values(void **state)
{
	struct config c;
	struct err e;

	(void)state;
	assert_int_equal(parse(&c, "stop_timeout = \"ten\"\n", &e), -1);
	assert_non_null(strstr(e.msg, "config.toml:1"));
	assert_non_null(strstr(e.msg, "integer"));
	config_free(&c);
	assert_int_equal(parse(&c, "suspend_on_stop = 1\n", &e), -1);
	assert_non_null(strstr(e.msg, "suspend_on_stop must be a boolean"));
	config_free(&c);
	assert_int_equal(parse(&c, "log_level = \"loud\"\n", &e), -1);
	assert_non_null(strstr(e.msg, "loud"));
	config_free(&c);
	assert_int_equal(parse(&c, "vmm = \"xen\"\n", &e), -1);
	config_free(&c);
	assert_int_equal(parse(&c, "[table]\nx = 1\n", &e), -1);
	config_free(&c);
	assert_int_equal(parse(&c, "log_level = \n", &e), -1); /* TOML syntax error */
	assert_non_null(strstr(e.msg, "config.toml:1"));
	config_free(&c);
}

static void env_overrides_file(void **state)
{
	struct paths p = {0};
	struct config c = {0};
	struct err e;
	char dir[] = "/tmp/banger-cfg-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	setenv("BANGER_LOG_LEVEL", "warn", 1);
	setenv("BANGER_STOP_TIMEOUT", "7", 1);
	assert_int_equal(paths_init(&p, &e), 0);
	assert_int_equal(config_load(&c, &p, &e), 0);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.stop_timeout, 7);
	config_free(&c);
	setenv("BANGER_STOP_TIMEOUT", "seven", 1);
	assert_int_equal(config_load(&c, &p, &e), -1);
	assert_non_null(strstr(e.msg, "BANGER_STOP_TIMEOUT"));
	config_free(&c);
	unsetenv("BANGER_STOP_TIMEOUT");
	setenv("BANGER_SUSPEND_ON_STOP", "true", 1);
	assert_int_equal(config_load(&c, &p, &e), 0);
	assert_int_equal(c.suspend_on_stop, 1);
	config_free(&c);
	setenv("BANGER_SUSPEND_ON_STOP", "yes", 1);
	assert_int_equal(config_load(&c, &p, &e), -1);
	assert_non_null(strstr(e.msg, "true or false"));
	config_free(&c);
	unsetenv("BANGER_SUSPEND_ON_STOP");
	unsetenv("BANGER_LOG_LEVEL");
	paths_free(&p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_and_values),
	    cmocka_unit_test(unknown_key_names_file_line_key),
	    cmocka_unit_test(wrong_type_and_bad_values),
	    cmocka_unit_test(env_overrides_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
