/* tui_layout: see tui_layout.h. */
#include "tui/tui_layout.h"

#include <stdio.h>
#include <string.h>

#include "tui/tui_fmt.h"

/* Display order. drop: higher goes first; 0 = never dropped. */
static const struct {
	const char *title;
	int pref, min, drop, right;
} cols[TUI_NCOLS] = {
    [TUI_COL_NAME] = {"NAME", 20, 10, 0, 0},
    [TUI_COL_STATE] = {"STATE", 10, 10, 0, 0}, /* "suspending" */
    [TUI_COL_ADDRESS] = {"ADDRESS", 15, 15, 3, 0},
    [TUI_COL_VCPU] = {"VCPU", 4, 4, 7, 1},
    [TUI_COL_MEMORY] = {"MEMORY", 6, 6, 4, 1},
    [TUI_COL_CPU] = {"CPU%", 5, 5, 2, 1},
    [TUI_COL_DISK] = {"DISK", 13, 6, 6, 1},
    [TUI_COL_UPTIME] = {"UPTIME", 6, 6, 5, 1},
};

/* Columns that may shrink below their preferred width, in order. */
static const int shrink_order[] = {TUI_COL_DISK, TUI_COL_NAME};

#define NAME_MAX_WIDTH 40

static int total(const int w[TUI_NCOLS])
{
	int t = 0, n = 0;

	for (int i = 0; i < TUI_NCOLS; i++) {
		if (w[i] > 0) {
			t += w[i];
			n++;
		}
	}
	return n ? t + (n - 1) * TUI_COL_GAP : 0;
}

/* Drops the column with the highest drop priority still shown. Returns 0
 * when only never-dropped columns are left. */
static int drop_one(int w[TUI_NCOLS])
{
	int best = -1;

	for (int i = 0; i < TUI_NCOLS; i++)
		if (w[i] > 0 && cols[i].drop > 0 && (best < 0 || cols[i].drop > cols[best].drop))
			best = i;
	if (best < 0)
		return 0;
	w[best] = 0;
	return 1;
}

size_t tui_layout(int width, struct tui_col out[TUI_NCOLS])
{
	int w[TUI_NCOLS], x = 0;
	size_t n = 0;

	for (int i = 0; i < TUI_NCOLS; i++)
		w[i] = cols[i].pref;
	/* Shrink what can shrink (least important first), then drop. */
	for (size_t i = 0; i < sizeof(shrink_order) / sizeof(shrink_order[0]); i++) {
		int c = shrink_order[i], over = total(w) - width, room = w[c] - cols[c].min;

		if (over > 0)
			w[c] -= over < room ? over : room;
	}
	while (total(w) > width && drop_one(w))
		;
	if (total(w) < width) {
		int grow = width - total(w);

		if (w[TUI_COL_NAME] + grow > NAME_MAX_WIDTH)
			grow = NAME_MAX_WIDTH - w[TUI_COL_NAME];
		if (grow > 0)
			w[TUI_COL_NAME] += grow;
	}
	for (int i = 0; i < TUI_NCOLS; i++) {
		if (w[i] <= 0 || x >= width)
			continue;
		if (x + w[i] > width) /* tiny terminals: cut the last column */
			w[i] = width - x;
		out[n].id = (enum tui_col_id)i;
		out[n].x = x;
		out[n].width = w[i];
		out[n].right = cols[i].right;
		n++;
		x += w[i] + TUI_COL_GAP;
	}
	return n;
}

const char *tui_col_title(enum tui_col_id id)
{
	return id < TUI_NCOLS ? cols[id].title : "";
}

static void disk_cell(const struct tui_row *r, int width, char *buf, size_t len)
{
	char used[16], size[16];

	tui_fmt_bytes(r->disk_used, used, sizeof(used));
	tui_fmt_bytes(r->disk_size, size, sizeof(size));
	/* "used/size" when it fits, else just what is used. */
	if ((int)(strlen(used) + 1 + strlen(size)) <= width)
		snprintf(buf, len, "%s/%s", used, size);
	else
		snprintf(buf, len, "%s", used);
}

void tui_cell(const struct tui_row *r, const struct tui_col *col, long long now, char *buf,
	      size_t len)
{
	char text[TUI_TEXT_MAX];

	switch (col->id) {
	case TUI_COL_NAME:
		snprintf(text, sizeof(text), "%s", r->name);
		break;
	case TUI_COL_STATE:
		snprintf(text, sizeof(text), "%s",
			 r->state < VM_STATE_COUNT ? vm_state_name(r->state) : "?");
		break;
	case TUI_COL_ADDRESS:
		snprintf(text, sizeof(text), "%s", r->address[0] ? r->address : "-");
		break;
	case TUI_COL_VCPU:
		snprintf(text, sizeof(text), "%lld", r->vcpu);
		break;
	case TUI_COL_MEMORY:
		tui_fmt_mem(r->memory_mib, text, sizeof(text));
		break;
	case TUI_COL_CPU:
		tui_fmt_cpu(r->state == VM_STATE_RUNNING ? r->cpu : -1, text, sizeof(text));
		break;
	case TUI_COL_DISK:
		disk_cell(r, col->width, text, sizeof(text));
		break;
	case TUI_COL_UPTIME:
		tui_fmt_uptime(tui_row_uptime(r, now), text, sizeof(text));
		break;
	default:
		text[0] = '\0';
	}
	tui_fit(text, col->width, buf, len);
}
