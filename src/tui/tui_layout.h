/*
 * tui_layout: which table columns fit a terminal width, where they go, and
 * what each cell shows. Pure: no curses, so the 80-column layout is
 * unit-tested.
 *
 * Every column has a preferred and a minimum width and a drop priority.
 * When the row does not fit, shrinkable columns shrink to their minimum
 * first, then the least important columns are dropped; NAME and STATE are
 * never dropped. Spare width goes to NAME (up to a cap), so cells never
 * wrap or overlap.
 */
#ifndef BANGER_TUI_TUI_LAYOUT_H
#define BANGER_TUI_TUI_LAYOUT_H

#include <stddef.h>

#include "tui/tui_model.h"

enum tui_col_id {
	TUI_COL_NAME,
	TUI_COL_STATE,
	TUI_COL_ADDRESS,
	TUI_COL_VCPU,
	TUI_COL_MEMORY,
	TUI_COL_CPU,
	TUI_COL_DISK,
	TUI_COL_UPTIME,
	TUI_NCOLS
};

struct tui_col {
	enum tui_col_id id;
	int x;	   /* first screen column */
	int width; /* cells */
	int right; /* right-aligned (numbers) */
};

/* One space between columns. */
#define TUI_COL_GAP 1

/* Lays the columns out for a terminal `width` cells wide, left to right in
 * display order, into out; returns how many fit (at least NAME whenever
 * width >= 1). No column extends past width. */
size_t tui_layout(int width, struct tui_col out[TUI_NCOLS]);

/* The header title of a column ("NAME", "CPU%", ...). */
const char *tui_col_title(enum tui_col_id id);

/* The text of one cell, already cut to col->width (see tui_fit). now is
 * the current unix time (for uptime). */
void tui_cell(const struct tui_row *r, const struct tui_col *col, long long now, char *buf,
	      size_t len);

#endif
