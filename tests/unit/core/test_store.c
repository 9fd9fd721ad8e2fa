/* Unit tests: the SQLite store (schema, records, conflicts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

static char dbpath[64];

static int setup(void **state)
{
	struct store *s;
	struct err e;
	int fd;

	snprintf(dbpath, sizeof(dbpath), "/tmp/banger-store-XXXXXX");
	fd = mkstemp(dbpath);
	close(fd);
	unlink(dbpath);
	if (store_open(dbpath, &s, &e) < 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	char p[80];

	store_close(*state);
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static void image_and_vm(struct store *s, const char *name, const char *addr)
{
	struct store_image img = {0};
	struct store_vm vm = {0};
	struct err e;

	if (store_image_get(s, "img", &img, &e) < 0) {
		snprintf(img.id, sizeof(img.id), "00000000000000ff");
		snprintf(img.name, sizeof(img.name), "img");
		snprintf(img.rootfs, sizeof(img.rootfs), "/r");
		snprintf(img.kernel, sizeof(img.kernel), "/k");
		snprintf(img.state, sizeof(img.state), "ready");
		assert_int_equal(store_image_insert(s, &img, &e), 0);
	}
	snprintf(vm.id, sizeof(vm.id), "%016x", (unsigned)strlen(name) * 7919u + (unsigned)name[0]);
	snprintf(vm.name, sizeof(vm.name), "%s", name);
	snprintf(vm.image_id, sizeof(vm.image_id), "%s", img.id);
	snprintf(vm.state, sizeof(vm.state), "stopped");
	snprintf(vm.address, sizeof(vm.address), "%s", addr);
	vm.vcpu = 2;
	vm.memory_mib = 1024;
	vm.disk_size = 1LL << 34;
	store_vm_insert(s, &vm, &e);
}

static void schema_is_versioned(void **state)
{
	assert_true(store_version(*state) >= 1);
}

static void records_round_trip(void **state)
{
	struct store *s = *state;
	struct store_vm vm, *all;
	size_t n;
	struct err e;

	image_and_vm(s, "calm-otter", "172.30.77.2");
	assert_int_equal(store_vm_get(s, "calm-otter", &vm, &e), 0);
	assert_string_equal(vm.address, "172.30.77.2");
	assert_int_equal(vm.disk_size, 1LL << 34);
	assert_int_equal(store_vm_get(s, vm.id, &vm, &e), 0); /* by id too */
	snprintf(vm.state, sizeof(vm.state), "running");
	vm.pid = 1234;
	assert_int_equal(store_vm_update(s, &vm, &e), 0);
	assert_int_equal(store_vm_get(s, "calm-otter", &vm, &e), 0);
	assert_string_equal(vm.state, "running");
	assert_int_equal(vm.pid, 1234);
	image_and_vm(s, "brave-yak", "");
	assert_int_equal(store_vm_list(s, &all, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0].name, "brave-yak"); /* sorted */
	free(all);
	assert_int_equal(store_vm_delete(s, vm.id, &e), 0);
	assert_int_equal(store_vm_get(s, "calm-otter", &vm, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void conflicts_are_reported(void **state)
{
	struct store *s = *state;
	struct store_vm vm;
	long long users;
	struct err e;

	image_and_vm(s, "one", "172.30.77.9");
	assert_int_equal(store_vm_get(s, "one", &vm, &e), 0);
	snprintf(vm.id, sizeof(vm.id), "0000000000000abc");
	snprintf(vm.name, sizeof(vm.name), "two");
	/* Same address as "one": the unique index refuses it. */
	assert_int_equal(store_vm_insert(s, &vm, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	/* Image in use cannot vanish (foreign key). */
	assert_int_equal(store_vm_count_image(s, vm.image_id, &users, &e), 0);
	assert_int_equal(users, 1);
	assert_int_equal(store_image_delete(s, vm.image_id, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(schema_is_versioned, setup, teardown),
		cmocka_unit_test_setup_teardown(records_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(conflicts_are_reported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
