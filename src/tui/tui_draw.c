/*
 * tui_draw: paints the screens. The main screen, top to bottom: title bar,
 * VM table, details of the selected VM, the tail of its console log, the
 * status line (or the open prompt) and the key footer. Heights adapt to
 * the terminal; the table's columns come from tui_layout, so nothing
 * wraps at 80x24. Everything is redrawn each tick and curses sends only
 * the difference.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tui/tui_fmt.h"
#include "tui/tui_layout.h"
#include "tui/tui_log.h"
#include "tui/tui_ui.h"

enum { PAIR_GREEN = 1, PAIR_YELLOW, PAIR_RED, PAIR_CYAN };

#define LOG_PANE_BYTES (64 << 10)
#define LOG_FULL_BYTES (1 << 20)
#define LOG_FULL_LINES 5000

/* At most 80 columns: the table must read on an 80x24 terminal. */
#define FOOTER " q:quit ?:help /:filter s:start S:stop z:susp r:restart d:del n:new c:ssh l:log"
#define FOOTER_SHORT " q:quit ?:help /:filter s S z r d n c l"

static attr_t pair(const struct tui_ui *ui, short p)
{
	return ui->color ? COLOR_PAIR(p) : A_NORMAL;
}

static attr_t state_attr(const struct tui_ui *ui, const struct tui_row *r)
{
	if (r->state == VM_STATE_RUNNING) /* red: the console showed trouble since */
		return pair(ui, r->last_error[0] ? PAIR_RED : PAIR_GREEN) | A_BOLD;
	if (r->state == VM_STATE_STOPPED)
		return r->last_error[0] ? pair(ui, PAIR_RED) : A_NORMAL;
	if (r->state == VM_STATE_SUSPENDED) /* at rest, like stopped, but resumable */
		return pair(ui, PAIR_GREEN);
	return pair(ui, PAIR_YELLOW) | A_BOLD; /* creating, starting, stopping, ... */
}

/* Text at (y, x), cut to width cells, in attribute a. */
static void put(int y, int x, int width, attr_t a, const char *text)
{
	char cut[1024];

	if (width <= 0 || y < 0 || y >= LINES)
		return;
	tui_fit(text, width, cut, sizeof(cut));
	attron(a);
	mvaddstr(y, x, cut);
	attroff(a);
}

/* Paints line y in attribute a from edge to edge. */
static void bar(int y, attr_t a)
{
	attron(a);
	mvhline(y, 0, ' ', COLS);
	attroff(a);
}

/* "-- title ------" across the screen. */
static void rule(int y, const char *title)
{
	char text[512];
	int n;

	mvhline(y, 0, '-', COLS);
	n = snprintf(text, sizeof(text), "-- %s ", title);
	put(y, 0, n < COLS ? n : COLS, A_BOLD, text);
}

static void draw_title(const struct tui_model *m, int connected)
{
	char left[256];
	const char *right = connected ? "bangerd connected " : "bangerd OFFLINE ";

	if (m->filter[0])
		snprintf(left, sizeof(left), " banger tui   %zu of %zu VMs (filter: %s)", m->nvis,
			 m->n, m->filter);
	else
		snprintf(left, sizeof(left), " banger tui   %zu VM%s", m->n, m->n == 1 ? "" : "s");
	bar(0, A_REVERSE);
	put(0, 0, COLS, A_REVERSE | A_BOLD, left);
	if ((int)(strlen(left) + strlen(right) + 2) <= COLS)
		put(0, COLS - (int)strlen(right), (int)strlen(right),
		    A_REVERSE | (connected ? A_NORMAL : A_BOLD), right);
}

static void draw_cells(const struct tui_ui *ui, const struct tui_row *r, int y,
		       const struct tui_col *cols, size_t ncols, long long now, attr_t base)
{
	for (size_t c = 0; c < ncols; c++) {
		char text[256];
		int len, x;

		tui_cell(r, &cols[c], now, text, sizeof(text));
		len = (int)strlen(text);
		x = cols[c].x + (cols[c].right ? cols[c].width - len : 0);
		put(y, x, cols[c].width,
		    base | (cols[c].id == TUI_COL_STATE ? state_attr(ui, r) : 0), text);
	}
}

/* The table at rows y .. y+h-1 (header included). Called with the lock. */
static void draw_table(struct tui_ui *ui, struct tui_model *m, int y, int h, long long now)
{
	struct tui_col cols[TUI_NCOLS];
	size_t ncols = tui_layout(COLS, cols);
	long sel = tui_model_selected_index(m);
	int rows = h - 1;

	for (size_t c = 0; c < ncols; c++) {
		const char *t = tui_col_title(cols[c].id);
		int len = (int)strlen(t);

		put(y, cols[c].x + (cols[c].right && len < cols[c].width ? cols[c].width - len : 0),
		    cols[c].width, A_BOLD | A_UNDERLINE, t);
	}
	ui->page = rows > 1 ? rows : 1;
	if (sel >= 0 && sel < ui->top)
		ui->top = (int)sel;
	if (sel >= ui->top + rows)
		ui->top = (int)sel - rows + 1;
	if (ui->top > 0 && ui->top + rows > (int)m->nvis)
		ui->top = (int)m->nvis > rows ? (int)m->nvis - rows : 0;
	ui->s->npoll = 0;
	for (int i = 0; i < rows; i++) {
		const struct tui_row *r = tui_model_visible(m, (size_t)(ui->top + i));
		attr_t base = ui->top + i == sel ? A_REVERSE : A_NORMAL;

		if (!r)
			break;
		if (base != A_NORMAL)
			bar(y + 1 + i, base);
		draw_cells(ui, r, y + 1 + i, cols, ncols, now, base);
		if (r->state == VM_STATE_RUNNING && ui->s->npoll < TUI_POLL_MAX)
			snprintf(ui->s->poll[ui->s->npoll++], TUI_NAME_MAX, "%s", r->name);
	}
	if (m->nvis == 0 && m->n == 0)
		put(y + 1, 1, COLS - 1, A_NORMAL, "(no VMs yet: press n to create one)");
	else if (m->nvis == 0)
		put(y + 1, 1, COLS - 1, A_NORMAL,
		    "(no VM name matches the filter; / to change it)");
}

/* label + path; a path too long for the screen loses its start, not the
 * file name at its end. */
static void path_line(char *out, size_t len, const char *label, const char *path)
{
	int room = COLS - (int)strlen(label), plen = (int)strlen(path);

	if (room > 1 && plen > room)
		snprintf(out, len, "%s~%s", label, path + plen - room + 1);
	else
		snprintf(out, len, "%s%s", label, path);
}

static void draw_details(const struct tui_ui *ui, const struct tui_row *r, int y, int h)
{
	char line[5][1100], mem[16], du[16], ds[16], ou[16], os[16];
	int n = 0;

	if (h <= 0)
		return;
	rule(y, r ? r->name : "details");
	if (!r)
		return;
	tui_fmt_mem(r->memory_mib, mem, sizeof(mem));
	tui_fmt_bytes(r->disk_used, du, sizeof(du));
	tui_fmt_bytes(r->disk_size, ds, sizeof(ds));
	tui_fmt_bytes(r->overlay_used, ou, sizeof(ou));
	tui_fmt_bytes(r->overlay_size, os, sizeof(os));
	snprintf(line[n++], sizeof(line[0]),
		 " image %s   vmm %s%s%s   vcpu %lld   memory %s   nat %s   pid %lld",
		 r->image[0] ? r->image : "-", r->vmm, r->accel[0] ? "/" : "", r->accel, r->vcpu,
		 mem, r->nat ? "on" : "off", r->pid);
	snprintf(line[n++], sizeof(line[0]),
		 " address %s   dns %s   disk %s of %s used   overlay %s of %s",
		 r->address[0] ? r->address : "-", r->dns_name[0] ? r->dns_name : "-", du, ds, ou,
		 os);
	path_line(line[n++], sizeof(line[0]), " dir  ", r->dir);
	path_line(line[n++], sizeof(line[0]), " log  ", r->console_log);
	if (r->last_error[0]) {
		snprintf(line[n++], sizeof(line[0]), " last error: %s", r->last_error);
	} else if (r->state == VM_STATE_SUSPENDED) {
		char sb[16];

		tui_fmt_bytes(r->state_bytes, sb, sizeof(sb));
		snprintf(line[n++], sizeof(line[0]), " suspended: %s of saved state (s resumes it)",
			 sb);
	} else {
		snprintf(line[n++], sizeof(line[0]), " last exit: %s",
			 r->last_exit[0] ? r->last_exit : "-");
	}
	for (int i = 0; i < n && i + 1 < h; i++)
		put(y + 1 + i, 0, COLS,
		    i == 4 && r->last_error[0] ? pair(ui, PAIR_RED) | A_BOLD : A_NORMAL, line[i]);
}

static void draw_log_pane(struct tui_ui *ui, const struct tui_row *r, int y, int h)
{
	const struct tui_lines *l;

	if (h <= 0)
		return;
	rule(y, "console log (l: full screen)");
	if (!r || h < 2)
		return;
	l = r->console_log[0]
		? tui_log_cache_get(&ui->pane_log, r->console_log, LOG_PANE_BYTES, (size_t)h - 1)
		: NULL;
	if (!l || l->n == 0) {
		put(y + 1, 1, COLS - 1, A_DIM, "(no console output yet)");
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		put(y + 1 + (int)i, 0, COLS, A_NORMAL, l->v[i]);
}

static void draw_status(const struct tui_ui *ui, int connected, const char *conn_err,
			const char *status, enum tui_status_kind kind)
{
	int y = LINES - 2;
	char text[1200];

	if (ui->mode == TUI_MODE_PROMPT) {
		int len = snprintf(text, sizeof(text), "%s%s", ui->prompt.label, ui->prompt.text);
		/* Too long for the line: show its end, where the typing is. */
		int skip = len > COLS - 1 ? len - (COLS - 1) : 0;

		put(y, 0, COLS - 1, A_BOLD, text + skip);
		move(y, len - skip);
		return;
	}
	if (!connected) {
		snprintf(text, sizeof(text), "daemon not reachable, retrying... (%s)",
			 conn_err[0] ? conn_err : "no answer");
		put(y, 0, COLS, pair(ui, PAIR_RED) | A_BOLD, text);
		return;
	}
	put(y, 0, COLS,
	    kind == TUI_STATUS_ERROR  ? pair(ui, PAIR_RED) | A_BOLD
	    : kind == TUI_STATUS_BUSY ? pair(ui, PAIR_YELLOW)
				      : A_NORMAL,
	    status);
}

static void draw_footer(const struct tui_ui *ui, const char *keys)
{
	bar(LINES - 1, ui->color ? pair(ui, PAIR_CYAN) | A_REVERSE : A_REVERSE);
	put(LINES - 1, 0, COLS, ui->color ? pair(ui, PAIR_CYAN) | A_REVERSE : A_REVERSE, keys);
}

static void draw_main(struct tui_ui *ui)
{
	struct tui_state *s = ui->s;
	struct tui_row sel;
	int has_sel, connected, avail = LINES - 3, rows, table_h, details_h, log_h, rest;
	char conn_err[sizeof(s->conn_err)], status[sizeof(s->status)];
	enum tui_status_kind kind;

	tui_state_lock(s);
	rows = (int)s->model.nvis > 0 ? (int)s->model.nvis : 1;
	if (rows > (avail * 2 / 5 > 3 ? avail * 2 / 5 : 3))
		rows = avail * 2 / 5 > 3 ? avail * 2 / 5 : 3;
	table_h = 1 + rows;
	if (table_h > avail)
		table_h = avail;
	draw_title(&s->model, s->connected);
	draw_table(ui, &s->model, 1, table_h, (long long)time(NULL));
	has_sel = tui_model_selected(&s->model) != NULL;
	if (has_sel)
		sel = *tui_model_selected(&s->model);
	connected = s->connected;
	kind = s->status_kind;
	snprintf(conn_err, sizeof(conn_err), "%s", s->conn_err);
	snprintf(status, sizeof(status), "%s", s->status);
	tui_state_unlock(s);

	rest = avail - table_h;
	details_h = rest >= 8 ? 6 : 0;
	log_h = rest - details_h;
	draw_details(ui, has_sel ? &sel : NULL, 1 + table_h, details_h);
	draw_log_pane(ui, has_sel ? &sel : NULL, 1 + table_h + details_h, log_h);
	draw_footer(ui, COLS >= (int)strlen(FOOTER) ? FOOTER : FOOTER_SHORT);
	/* Last: a prompt leaves the cursor at its end. */
	draw_status(ui, connected, conn_err, status, kind);
}

static void draw_help(struct tui_ui *ui)
{
	static const char *const lines[] = {
	    "Up/Down, j/k     move the selection (PgUp/PgDn, Home/End, g/G too)",
	    "/                filter the table by name (Esc clears the filter)",
	    "s                start the selected VM (resumes a suspended one)",
	    "S                stop it (ctrl-alt-del, then SIGTERM, then SIGKILL)",
	    "z                suspend it: memory saved to disk, no VMM left; s resumes",
	    "r                restart it",
	    "d                delete it and all its files (type its name to confirm)",
	    "n                create a VM (asks name, vCPU, memory, disk, NAT)",
	    "Enter, c         ssh into it (banger vm ssh); back here when ssh ends",
	    "l                its console log full screen (arrows scroll)",
	    "?                this help",
	    "q                quit",
	    "",
	    "The table follows the daemon's events; CPU % is the VMM process's",
	    "share of one host core, sampled every few seconds for running VMs.",
	    "NO_COLOR=1 turns colours off.",
	};

	bar(0, A_REVERSE);
	put(0, 0, COLS, A_REVERSE | A_BOLD, " banger tui: keys");
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]) && (int)i + 2 < LINES - 1; i++)
		put(2 + (int)i, 2, COLS - 2, A_NORMAL, lines[i]);
	draw_footer(ui, " press any key to go back");
}

static void draw_log_full(struct tui_ui *ui)
{
	static const struct tui_lines none = {NULL, 0};
	const struct tui_lines *l = NULL;
	char title[700], path[TUI_TEXT_MAX] = "";
	int h = LINES - 2, first;

	tui_state_lock(ui->s);
	for (size_t i = 0; i < ui->s->model.n; i++)
		if (strcmp(ui->s->model.rows[i].name, ui->target) == 0)
			snprintf(path, sizeof(path), "%s", ui->s->model.rows[i].console_log);
	tui_state_unlock(ui->s);
	snprintf(title, sizeof(title), " console log: %s  %s", ui->target, path);
	bar(0, A_REVERSE);
	put(0, 0, COLS, A_REVERSE | A_BOLD, title);
	if (path[0])
		l = tui_log_cache_get(&ui->full_log, path, LOG_FULL_BYTES, LOG_FULL_LINES);
	if (!l || l->n == 0) {
		put(1, 1, COLS - 1, A_DIM, "(no console output yet)");
		l = &none;
	}
	if (ui->log_back > (int)l->n - h)
		ui->log_back = (int)l->n - h > 0 ? (int)l->n - h : 0;
	first = (int)l->n - h - ui->log_back;
	if (first < 0)
		first = 0;
	for (int i = 0; i < h && first + i < (int)l->n; i++)
		put(1 + i, 0, COLS, A_NORMAL, l->v[first + i]);
	draw_footer(ui, ui->log_back
			    ? " q/Esc back  Up/Down PgUp/PgDn scroll  End: follow new lines"
			    : " q/Esc back  Up/Down PgUp/PgDn scroll  (following new lines)");
}

void tui_draw(struct tui_ui *ui)
{
	erase();
	curs_set(ui->mode == TUI_MODE_PROMPT ? 1 : 0);
	if (LINES < 5 || COLS < 20) {
		put(0, 0, COLS, A_BOLD, "terminal too small");
	} else if (ui->mode == TUI_MODE_HELP) {
		draw_help(ui);
	} else if (ui->mode == TUI_MODE_LOG) {
		draw_log_full(ui);
	} else {
		draw_main(ui);
	}
	refresh();
}
