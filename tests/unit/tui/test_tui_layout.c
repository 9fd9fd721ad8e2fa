/* Unit tests for tui_layout: the table must fit any width without
 * overlapping cells, keep NAME and STATE, and stay complete at 80 columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "tui/tui_layout.h"

static int has(const struct tui_col *c, size_t n, enum tui_col_id id)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].id == id)
			return 1;
	return 0;
}

/* Columns are in order, separated, inside the width, and at least as wide
 * as their titles (a header cut in half is unreadable). */
static void check_fits(const struct tui_col *c, size_t n, int width)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(c[i].width > 0);
		assert_true(c[i].x + c[i].width <= width);
		if (i > 0) {
			assert_true(c[i].id > c[i - 1].id);
			assert_true(c[i].x >= c[i - 1].x + c[i - 1].width + TUI_COL_GAP);
		}
		if (width >= 40)
			assert_true(c[i].width >= (int)strlen(tui_col_title(c[i].id)));
	}
}

static void test_wide_has_everything(void **state)
{
	struct tui_col c[TUI_NCOLS];
	size_t n = tui_layout(120, c);

	(void)state;
	assert_int_equal(n, TUI_NCOLS);
	check_fits(c, n, 120);
	assert_int_equal(c[0].id, TUI_COL_NAME);
	assert_true(c[0].width > 20); /* spare room goes to NAME */
	assert_true(c[0].width <= 40);
}

static void test_80_columns_keep_every_column(void **state)
{
	struct tui_col c[TUI_NCOLS];
	size_t n = tui_layout(80, c);

	(void)state;
	check_fits(c, n, 80);
	assert_int_equal(n, TUI_NCOLS);
	assert_true(c[0].width >= 10);
}

static void test_narrow_drops_least_important(void **state)
{
	struct tui_col c[TUI_NCOLS];

	(void)state;
	for (int w = 20; w <= 200; w++) {
		size_t n = tui_layout(w, c);

		check_fits(c, n, w);
		assert_true(has(c, n, TUI_COL_NAME));
		assert_true(has(c, n, TUI_COL_STATE));
	}
	{
		size_t n = tui_layout(60, c);

		assert_true(n < TUI_NCOLS);
		assert_true(has(c, n, TUI_COL_ADDRESS));
		assert_false(has(c, n, TUI_COL_VCPU)); /* least important first */
	}
}

static void test_tiny_width_never_overflows(void **state)
{
	struct tui_col c[TUI_NCOLS];

	(void)state;
	for (int w = 1; w < 20; w++) {
		size_t n = tui_layout(w, c);

		assert_true(n >= 1);
		check_fits(c, n, w);
	}
}

static void test_cells(void **state)
{
	struct tui_row r = {0};
	struct tui_col name = {TUI_COL_NAME, 0, 10, 0}, disk = {TUI_COL_DISK, 0, 13, 1};
	struct tui_col cpu = {TUI_COL_CPU, 0, 5, 1}, up = {TUI_COL_UPTIME, 0, 6, 1};
	struct tui_col addr = {TUI_COL_ADDRESS, 0, 15, 0}, mem = {TUI_COL_MEMORY, 0, 6, 1};
	char buf[64];

	(void)state;
	strcpy(r.name, "a-very-long-vm-name");
	r.state = VM_STATE_RUNNING;
	r.disk_used = 3 << 20;
	r.disk_size = 128 << 20;
	r.memory_mib = 1536;
	r.cpu = 7.25;
	r.started_at = 1000;
	tui_cell(&r, &name, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a-very-lo~");
	tui_cell(&r, &disk, 0, buf, sizeof(buf));
	assert_string_equal(buf, "3M/128M");
	disk.width = 6;
	tui_cell(&r, &disk, 0, buf, sizeof(buf));
	assert_string_equal(buf, "3M");
	tui_cell(&r, &cpu, 0, buf, sizeof(buf));
	assert_string_equal(buf, "7.2");
	tui_cell(&r, &up, 1000 + 3725, buf, sizeof(buf));
	assert_string_equal(buf, "1h02m");
	tui_cell(&r, &addr, 0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	tui_cell(&r, &mem, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1.5G");
	/* A stopped VM has no CPU figure or uptime, whatever was polled last. */
	r.state = VM_STATE_STOPPED;
	tui_cell(&r, &cpu, 0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	tui_cell(&r, &up, 5000, buf, sizeof(buf));
	assert_string_equal(buf, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wide_has_everything),
	    cmocka_unit_test(test_80_columns_keep_every_column),
	    cmocka_unit_test(test_narrow_drops_least_important),
	    cmocka_unit_test(test_tiny_width_never_overflows),
	    cmocka_unit_test(test_cells),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
