/* Unit tests for tui_model: rows from JSON, sorting, events, selection,
 * filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tui/tui_model.h"

static json_t *vm(const char *name, const char *state)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:b, s:s, s:{s:I}, s:I}", "name", name,
			 "state", state, "address", "172.16.0.2", "vcpu", 2, "memory_mib", 512,
			 "disk_size", (json_int_t)(128 << 20), "nat", 1, "console_log",
			 "/tmp/x/firecracker.log", "work_disk", "allocated_bytes",
			 (json_int_t)(3 << 20), "started_at", (json_int_t)1000);
}

static void load(struct tui_model *m, const char *const *names)
{
	json_t *arr = json_array();

	for (; *names; names++)
		json_array_append_new(arr, vm(*names, "stopped"));
	tui_model_load(m, arr);
	json_decref(arr);
}

/* The visible names joined by spaces, for easy comparison. */
static const char *names(const struct tui_model *m)
{
	static char out[512];

	out[0] = '\0';
	for (size_t i = 0; i < m->nvis; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, tui_model_visible(m, i)->name);
	}
	return out;
}

static const char *sel(const struct tui_model *m)
{
	const struct tui_row *r = tui_model_selected(m);

	return r ? r->name : "(none)";
}

static void test_row_from_json(void **state)
{
	struct tui_row r;
	json_t *v = vm("calm-otter", "running"), *bad = json_pack("{s:s}", "state", "running");

	(void)state;
	assert_int_equal(tui_row_from_json(&r, v), 0);
	assert_string_equal(r.name, "calm-otter");
	assert_int_equal(r.state, VM_STATE_RUNNING);
	assert_string_equal(r.address, "172.16.0.2");
	assert_int_equal(r.vcpu, 2);
	assert_int_equal(r.memory_mib, 512);
	assert_int_equal(r.disk_size, 128 << 20);
	assert_int_equal(r.disk_used, 3 << 20);
	assert_int_equal(r.nat, 1);
	assert_string_equal(r.console_log, "/tmp/x/firecracker.log");
	assert_true(r.cpu < 0);
	assert_int_equal(tui_row_uptime(&r, 1065), 65);
	r.state = VM_STATE_STOPPED;
	assert_int_equal(tui_row_uptime(&r, 1065), 0);
	assert_int_equal(tui_row_from_json(&r, bad), -1);
	assert_string_equal(r.name, "calm-otter"); /* untouched */
	json_decref(v);
	json_decref(bad);
}

static void test_load_sorts_and_selects_first(void **state)
{
	static const char *const in[] = {"zeta", "alpha", "mid", NULL};
	struct tui_model m;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	assert_string_equal(names(&m), "alpha mid zeta");
	assert_string_equal(sel(&m), "alpha");
	tui_model_done(&m);
}

static void test_events_insert_update_delete(void **state)
{
	static const char *const in[] = {"bravo", "delta", NULL};
	struct tui_model m;
	json_t *ev;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	ev = json_pack("{s:s, s:o}", "type", "vm.created", "vm", vm("charlie", "creating"));
	assert_int_equal(tui_model_apply_event(&m, ev), 1);
	json_decref(ev);
	assert_string_equal(names(&m), "bravo charlie delta");
	ev = json_pack("{s:s, s:o}", "type", "vm.state", "vm", vm("charlie", "running"));
	assert_int_equal(tui_model_apply_event(&m, ev), 1);
	json_decref(ev);
	assert_int_equal(m.n, 3);
	assert_int_equal(tui_model_visible(&m, 1)->state, VM_STATE_RUNNING);
	ev = json_pack("{s:s, s:s}", "type", "vm.deleted", "name", "bravo");
	assert_int_equal(tui_model_apply_event(&m, ev), 1);
	json_decref(ev);
	assert_string_equal(names(&m), "charlie delta");
	/* Deleting what is not there, hello, other and broken events: no change. */
	ev = json_pack("{s:s, s:s}", "type", "vm.deleted", "name", "nope");
	assert_int_equal(tui_model_apply_event(&m, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:s}", "type", "hello");
	assert_int_equal(tui_model_apply_event(&m, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:s, s:s}", "type", "image.created", "name", "x");
	assert_int_equal(tui_model_apply_event(&m, ev), 0);
	json_decref(ev);
	ev = json_pack("{s:s, s:{s:s}}", "type", "vm.state", "vm", "state", "running");
	assert_int_equal(tui_model_apply_event(&m, ev), 0);
	json_decref(ev);
	assert_string_equal(names(&m), "charlie delta");
	tui_model_done(&m);
}

static void test_selection_survives_updates(void **state)
{
	static const char *const in[] = {"b", "d", "f", NULL};
	struct tui_model m;
	json_t *v;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	tui_model_move(&m, 1);
	assert_string_equal(sel(&m), "d");
	/* A row inserted before it shifts positions, not the selection. */
	v = vm("a", "running");
	tui_model_upsert(&m, v);
	json_decref(v);
	assert_string_equal(sel(&m), "d");
	assert_int_equal(tui_model_selected_index(&m), 2);
	/* An update of the selected row keeps it selected. */
	v = vm("d", "running");
	tui_model_upsert(&m, v);
	json_decref(v);
	assert_string_equal(sel(&m), "d");
	/* A full reload keeps it too. */
	{
		static const char *const again[] = {"f", "d", "a", "b", NULL};

		load(&m, again);
	}
	assert_string_equal(sel(&m), "d");
	tui_model_done(&m);
}

static void test_delete_selected_moves_to_neighbour(void **state)
{
	static const char *const in[] = {"a", "b", "c", NULL};
	struct tui_model m;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	tui_model_select(&m, "b");
	tui_model_remove(&m, "b");
	assert_string_equal(sel(&m), "c"); /* the row that took its place */
	tui_model_remove(&m, "c");
	assert_string_equal(sel(&m), "a"); /* it was last: the one above */
	tui_model_remove(&m, "a");
	assert_null(tui_model_selected(&m));
	assert_int_equal(tui_model_selected_index(&m), -1);
	assert_int_equal(m.nvis, 0);
	tui_model_move(&m, 1); /* harmless on an empty table */
	assert_null(tui_model_selected(&m));
	tui_model_done(&m);
}

static void test_filter(void **state)
{
	static const char *const in[] = {"web-1", "db-main", "web-2", "cache", NULL};
	struct tui_model m;
	json_t *v;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	tui_model_select(&m, "db-main");
	tui_model_set_filter(&m, "WEB");
	assert_string_equal(names(&m), "web-1 web-2");
	assert_string_equal(sel(&m), "web-1"); /* db-main is hidden */
	/* Rows that do not match stay hidden as they arrive... */
	v = vm("backup", "running");
	tui_model_upsert(&m, v);
	json_decref(v);
	assert_string_equal(names(&m), "web-1 web-2");
	/* ...and matching ones appear. */
	v = vm("web-0", "running");
	tui_model_upsert(&m, v);
	json_decref(v);
	assert_string_equal(names(&m), "web-0 web-1 web-2");
	assert_string_equal(sel(&m), "web-1");
	tui_model_set_filter(&m, "zzz");
	assert_int_equal(m.nvis, 0);
	assert_null(tui_model_selected(&m));
	assert_int_equal(tui_model_select(&m, "cache"), 0); /* hidden: not selectable */
	tui_model_set_filter(&m, "");
	assert_string_equal(names(&m), "backup cache db-main web-0 web-1 web-2");
	assert_string_equal(sel(&m), "backup");
	tui_model_done(&m);
}

static void test_move_clamps(void **state)
{
	static const char *const in[] = {"a", "b", "c", NULL};
	struct tui_model m;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	tui_model_move(&m, -5);
	assert_string_equal(sel(&m), "a");
	tui_model_move(&m, 2);
	assert_string_equal(sel(&m), "c");
	tui_model_move(&m, 100);
	assert_string_equal(sel(&m), "c");
	tui_model_move(&m, -1);
	assert_string_equal(sel(&m), "b");
	tui_model_done(&m);
}

static void test_stats_and_cpu_kept_across_updates(void **state)
{
	static const char *const in[] = {"a", NULL};
	struct tui_model m;
	json_t *st = json_pack("{s:s, s:f, s:{s:I}}", "name", "a", "cpu_percent", 12.5, "work_disk",
			       "allocated_bytes", (json_int_t)(9 << 20));
	json_t *other = json_pack("{s:s, s:f}", "name", "gone", "cpu_percent", 1.0), *v;

	(void)state;
	tui_model_init(&m);
	load(&m, in);
	assert_int_equal(tui_model_apply_stats(&m, st), 1);
	assert_int_equal(tui_model_apply_stats(&m, other), 0);
	assert_true(tui_model_visible(&m, 0)->cpu > 12.4 && tui_model_visible(&m, 0)->cpu < 12.6);
	assert_int_equal(tui_model_visible(&m, 0)->disk_used, 9 << 20);
	/* An event has no CPU figure: the last one stays. */
	v = vm("a", "running");
	tui_model_upsert(&m, v);
	json_decref(v);
	assert_true(tui_model_visible(&m, 0)->cpu > 12.4);
	load(&m, in);
	assert_true(tui_model_visible(&m, 0)->cpu > 12.4);
	json_decref(st);
	json_decref(other);
	tui_model_done(&m);
}

static void test_many_rows(void **state)
{
	struct tui_model m;
	char name[16];

	(void)state;
	tui_model_init(&m);
	for (int i = 99; i >= 0; i--) {
		json_t *v;

		snprintf(name, sizeof(name), "vm-%03d", i);
		v = vm(name, "stopped");
		tui_model_upsert(&m, v);
		json_decref(v);
	}
	assert_int_equal(m.n, 100);
	for (size_t i = 0; i + 1 < m.nvis; i++)
		assert_true(
		    strcmp(tui_model_visible(&m, i)->name, tui_model_visible(&m, i + 1)->name) < 0);
	assert_string_equal(sel(&m), "vm-099"); /* the first one inserted stays selected */
	tui_model_done(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_row_from_json),
	    cmocka_unit_test(test_load_sorts_and_selects_first),
	    cmocka_unit_test(test_events_insert_update_delete),
	    cmocka_unit_test(test_selection_survives_updates),
	    cmocka_unit_test(test_delete_selected_moves_to_neighbour),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_move_clamps),
	    cmocka_unit_test(test_stats_and_cpu_kept_across_updates),
	    cmocka_unit_test(test_many_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
