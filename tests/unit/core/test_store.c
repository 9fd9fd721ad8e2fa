/* Unit tests: the SQLite store (schema, records, conflicts, a full disk). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
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
	vm.state = VM_STATE_STOPPED;
	snprintf(vm.address, sizeof(vm.address), "%s", addr);
	vm.vcpu = 2;
	vm.memory_mib = 1024;
	vm.disk_size = 1LL << 34;
	assert_int_equal(store_vm_insert(s, &vm, &e), 0);
}

static void schema_is_versioned(void **state)
{
	assert_true(store_version(*state) >= 3); /* 3: vms.autostart */
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
	assert_int_equal(vm.autostart, 0);
	assert_int_equal(store_vm_get(s, vm.id, &vm, &e), 0); /* by id too */
	vm.state = VM_STATE_RUNNING;
	vm.pid = 1234;
	vm.autostart = 1;
	assert_int_equal(store_vm_update(s, &vm, &e), 0);
	assert_int_equal(store_vm_get(s, "calm-otter", &vm, &e), 0);
	assert_int_equal(vm.state, VM_STATE_RUNNING);
	assert_int_equal(vm.pid, 1234);
	vm.state = VM_STATE_SUSPENDED;
	vm.suspend_on_stop = 1;
	vm.state_bytes = 123456789012LL;
	snprintf(vm.resume_note, sizeof(vm.resume_note), "cold boot: the kernel changed");
	assert_int_equal(store_vm_update(s, &vm, &e), 0);
	assert_int_equal(store_vm_get(s, "calm-otter", &vm, &e), 0);
	assert_int_equal(vm.state, VM_STATE_SUSPENDED);
	assert_int_equal(vm.suspend_on_stop, 1);
	assert_int_equal(vm.state_bytes, 123456789012LL);
	assert_string_equal(vm.resume_note, "cold boot: the kernel changed");
	assert_int_equal(vm.autostart, 1);
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

/* Every connection the store opens runs this (sqlite3_auto_extension): it
 * caps the file at its current size when max_pages is set, which is how
 * SQLite sees a full disk, and keeps the handle for raw SQL. */
static int max_pages;
static sqlite3 *raw;

static int limit_pages(sqlite3 *db, char **msg, const void *api)
{
	(void)msg;
	(void)api;
	raw = db;
	if (max_pages) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%d", max_pages);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	return SQLITE_OK;
}

static struct store *reopen(struct store *s, int pages)
{
	struct err e;

	store_close(s);
	max_pages = pages;
	assert_int_equal(store_open(dbpath, &s, &e), 0);
	max_pages = 0;
	return s;
}

static void full_disk_is_one_clear_error_and_changes_nothing(void **state)
{
	struct store *s = *state;
	struct store_vm vm, *all;
	size_t n, ok = 0;
	struct err e;

	image_and_vm(s, "first", "");
	/* max_page_count below the file's size is raised to it: no page more. */
	s = *state = reopen(s, 1);
	assert_int_equal(store_vm_get(s, "first", &vm, &e), 0);
	memset(vm.last_error, 'x', sizeof(vm.last_error) - 1);
	for (int i = 0; i < 200; i++) {
		snprintf(vm.id, sizeof(vm.id), "%016x", 0x1000 + i);
		snprintf(vm.name, sizeof(vm.name), "vm-%d", i);
		if (store_vm_insert(s, &vm, &e) < 0)
			break;
		ok++;
	}
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.msg, "no space left on device (state directory /tmp)");
	assert_non_null(strstr(e.hint, "free some space"));
	/* The failed insert left nothing behind; reads and smaller writes go on. */
	assert_int_equal(store_vm_get(s, vm.name, &vm, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(store_vm_list(s, &all, &n, &e), 0);
	assert_int_equal(n, ok + 1);
	free(all);
	/* The same inside a transaction: the commit or the insert fails, and the
	 * store is usable afterwards (no transaction left open). */
	assert_int_equal(store_begin(s, &e), 0);
	snprintf(vm.id, sizeof(vm.id), "%016x", 0x9999);
	snprintf(vm.name, sizeof(vm.name), "in-tx");
	if (store_vm_insert(s, &vm, &e) == 0)
		assert_int_equal(store_commit(s, &e), -1);
	else
		store_rollback(s);
	assert_string_equal(e.msg, "no space left on device (state directory /tmp)");
	assert_int_equal(store_begin(s, &e), 0);
	assert_int_equal(store_commit(s, &e), 0);
	assert_int_equal(store_vm_get(s, "in-tx", &vm, &e), -1);
}

static void unknown_state_in_the_database_is_an_error(void **state)
{
	struct store *s = *state;
	struct store_vm vm, *all;
	size_t n;
	struct err e;

	image_and_vm(s, "odd", "");
	assert_int_equal(sqlite3_exec(raw, "UPDATE vms SET state='hibernated'", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_vm_get(s, "odd", &vm, &e), -1);
	assert_non_null(strstr(e.msg, "unknown state \"hibernated\""));
	assert_int_equal(store_vm_list(s, &all, &n, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(schema_is_versioned, setup, teardown),
	    cmocka_unit_test_setup_teardown(records_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(conflicts_are_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(full_disk_is_one_clear_error_and_changes_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(unknown_state_in_the_database_is_an_error, setup,
					    teardown),
	};

	sqlite3_auto_extension((void (*)(void))limit_pages);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
