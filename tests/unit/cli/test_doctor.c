/*
 * Unit tests of doctor.c's checks with the host paths injected: a missing
 * or wrong KVM device, and host routes read from a planted route file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/doctor.h"
#include "util/buf.h"

struct fixture {
	struct paths p;
	struct config cfg;
	struct doctor_env env;
	char tmp[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e;

	strcpy(f->tmp, "/tmp/test-doctor-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	setenv("HOME", f->tmp, 1);
	assert_int_equal(paths_init(&f->p, &e), 0);
	config_defaults(&f->cfg);
	doctor_env_init(&f->env, &f->p, &f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf %s", f->tmp);

	doctor_env_free(&f->env);
	config_free(&f->cfg);
	paths_free(&f->p);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->tmp);
	free(cmd);
	free(f);
	return 0;
}

static struct doctor_result run(struct fixture *f, const char *name)
{
	struct doctor_result r = {.status = DOCTOR_OK};

	for (const struct doctor_check *k = doctor_checks; k->name; k++)
		if (strcmp(k->name, name) == 0) {
			k->fn(&f->env, &r);
			return r;
		}
	fail_msg("no check %s", name);
	return r;
}

static char *plant(struct fixture *f, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", f->tmp, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void test_kvm_missing(void **state)
{
	struct fixture *f = *state;
	struct doctor_result r;

	f->env.kvm_dev = "/nonexistent/kvm";
	r = run(f, "kvm");
	assert_int_equal(r.status, DOCTOR_WARN);
	assert_non_null(strstr(r.detail, "missing"));
	assert_non_null(strstr(r.detail, "QEMU under TCG"));
	assert_non_null(strstr(r.fix, "modprobe"));
	/* A configuration that insists on Firecracker cannot do without. */
	free(f->cfg.vmm);
	f->cfg.vmm = xstrdup("firecracker");
	r = run(f, "kvm");
	assert_int_equal(r.status, DOCTOR_FAIL);
}

static void test_kvm_not_a_kvm_device(void **state)
{
	struct fixture *f = *state;
	char *dev = plant(f, "kvm", "not a device\n");
	struct doctor_result r;

	f->env.kvm_dev = dev;
	r = run(f, "kvm");
	assert_int_equal(r.status, DOCTOR_WARN);
	assert_non_null(strstr(r.detail, "KVM_GET_API_VERSION"));
	assert_true(r.fix[0] != '\0');
	free(dev);
}

#define ROUTE_HDR                                                                                  \
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static void test_route_taken(void **state)
{
	struct fixture *f = *state;
	/* 172.30.77.0/24 via eth9, in /proc/net/route's little-endian hex. */
	char *rf = plant(f, "route",
			 ROUTE_HDR "eth9\t004D1EAC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
	struct doctor_result r;

	f->env.route_file = rf;
	r = run(f, "subnet");
	assert_int_equal(r.status, DOCTOR_FAIL);
	assert_non_null(strstr(r.detail, "route 172.30.77.0/24 dev eth9"));
	assert_non_null(strstr(r.fix, "subnet = \"172.31.77.0/24\""));
	free(rf);
}

static void test_routes_ignored(void **state)
{
	struct fixture *f = *state;
	/* banger's own bridge, the default route, and a VPN's 0/1 + 128/1. */
	char *rf = plant(f, "route",
			 ROUTE_HDR "banger0\t004D1EAC\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
				   "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
				   "tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0\n"
				   "tun0\t00000080\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0\n");
	struct doctor_result r;

	f->env.route_file = rf;
	r = run(f, "subnet");
	assert_int_equal(r.status, DOCTOR_OK);
	free(rf);
}

static void test_bad_subnet_config(void **state)
{
	struct fixture *f = *state;
	struct doctor_result r;

	free(f->cfg.subnet);
	f->cfg.subnet = xstrdup("8.8.8.0/24");
	r = run(f, "subnet");
	assert_int_equal(r.status, DOCTOR_FAIL);
	assert_true(r.fix[0] != '\0');
}

static void test_bundle_missing(void **state)
{
	struct fixture *f = *state;
	struct doctor_result r;

	free(f->env.runtime_dir);
	f->env.runtime_dir = xasprintf("%s/no-bundle", f->tmp);
	r = run(f, "bundle");
	assert_int_equal(r.status, DOCTOR_FAIL);
	assert_non_null(strstr(r.fix, "make runtime-bundle"));
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(doctor_status_name(DOCTOR_OK), "ok");
	assert_string_equal(doctor_status_name(DOCTOR_WARN), "warn");
	assert_string_equal(doctor_status_name(DOCTOR_FAIL), "FAIL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kvm_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_not_a_kvm_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_taken, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_routes_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_subnet_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_missing, setup, teardown),
	    cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
