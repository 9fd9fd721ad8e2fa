/*
 * tui_main: tui_run(). Connects first (starting bangerd if needed, while
 * errors can still be printed plainly), then sets up curses and loops:
 * draw, wait up to a tick for a key, handle it. The loop never blocks on
 * the daemon: requests run on the connection, stats and action threads.
 */
#include "tui/tui.h"

#include <curses.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/client.h"
#include "tui/tui_conn.h"
#include "tui/tui_ui.h"

#define TICK_MS 200

/* The first list, with autostart: the only time the TUI starts bangerd. */
static int first_load(const struct paths *p, struct tui_state *s, struct err *e)
{
	struct client *cl = NULL;
	json_t *resp = NULL;

	if (client_open(p, 1, &cl, e) < 0 ||
	    client_call(cl, "GET", "/v1/vms", NULL, &resp, e) < 0) {
		client_close(cl);
		return -1;
	}
	tui_model_load(&s->model, json_object_get(resp, "vms"));
	s->connected = 1;
	json_decref(resp);
	client_close(cl);
	return 0;
}

/* The create form's defaults, from the same config the daemon reads. */
static void load_defaults(struct tui_ui *ui, const struct paths *p)
{
	struct config cfg = {0};

	if (config_load(&cfg, p, NULL) < 0) {
		config_free(&cfg);
		memset(&cfg, 0, sizeof(cfg));
		config_defaults(&cfg);
	}
	ui->def_vcpu = cfg.default_vcpu;
	ui->def_memory = cfg.default_memory;
	snprintf(ui->def_disk, sizeof(ui->def_disk), "%s",
		 cfg.default_disk_size ? cfg.default_disk_size : "default");
	config_free(&cfg);
}

static int screen_init(struct tui_ui *ui, struct err *e)
{
	const char *nc = getenv("NO_COLOR");

	/* ncursesw needs the locale for UTF-8 terminals. */
	setlocale(LC_ALL, "");
	if (!initscr())
		return err_set(e, ERR_INTERNAL, "cannot initialise the terminal (TERM=%s)",
			       getenv("TERM") ? getenv("TERM") : "");
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	timeout(TICK_MS);
	curs_set(0);
	/* https://no-color.org: present and not empty means no colour. */
	ui->color = !(nc && nc[0]) && has_colors();
	if (ui->color) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_YELLOW, -1);
		init_pair(3, COLOR_RED, -1);
		init_pair(4, COLOR_CYAN, -1);
	}
	return 0;
}

int tui_run(const struct paths *p, struct err *e)
{
	struct tui_ui ui = {0};
	int ret = -1, curses = 0;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		err_set(e, ERR_INVALID, "banger tui needs a terminal");
		err_hint(e,
			 "in scripts use `banger vm list --json` and `banger vm show NAME --json`");
		return -1;
	}
	if (!(ui.s = tui_state_new(e)))
		return -1;
	if (first_load(p, ui.s, e) < 0)
		goto out;
	load_defaults(&ui, p);
	if (screen_init(&ui, e) < 0)
		goto out;
	curses = 1;
	if (tui_conn_start(ui.s, e) < 0)
		goto out;
	while (!ui.quit) {
		int key;

		tui_draw(&ui);
		key = getch();
		if (key != ERR)
			tui_keys(&ui, key);
	}
	ret = 0;
out:
	if (curses)
		endwin();
	json_decref(ui.create);
	tui_log_cache_done(&ui.pane_log);
	tui_log_cache_done(&ui.full_log);
	tui_state_lock(ui.s);
	ui.s->quit = 1;
	tui_state_unlock(ui.s);
	tui_state_unref(ui.s);
	return ret;
}
