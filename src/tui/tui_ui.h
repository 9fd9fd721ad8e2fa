/*
 * tui_ui: the curses thread's own state (what screen is up, the prompt being
 * answered, scroll positions), the drawing of each screen and the key
 * bindings. Only the main thread touches curses and this struct.
 */
#ifndef BANGER_TUI_TUI_UI_H
#define BANGER_TUI_TUI_UI_H

#include <jansson.h>

#include "tui/tui_log.h"
#include "tui/tui_prompt.h"
#include "tui/tui_state.h"

enum tui_mode { TUI_MODE_TABLE, TUI_MODE_HELP, TUI_MODE_LOG, TUI_MODE_PROMPT };

/* What the open prompt asks. The create questions follow each other. */
enum tui_ask {
	TUI_ASK_FILTER,
	TUI_ASK_DELETE,
	TUI_ASK_NAME,
	TUI_ASK_VCPU,
	TUI_ASK_MEMORY,
	TUI_ASK_DISK,
	TUI_ASK_NAT,
};

struct tui_ui {
	struct tui_state *s;
	enum tui_mode mode;
	enum tui_ask ask;
	struct tui_prompt prompt;
	char target[TUI_NAME_MAX]; /* the VM a prompt or the log screen is about */
	json_t *create;		   /* the create request being filled in */
	long long def_vcpu, def_memory;
	char def_disk[32];
	int color;    /* colours on (not NO_COLOR, terminal has them) */
	int top;      /* first table row on screen */
	int page;     /* table rows on screen (for PgUp/PgDn) */
	int log_back; /* full-screen log: lines scrolled back from the end */
	struct tui_log_cache pane_log, full_log;
	int quit;
};

/* Draws the current screen from ui and the shared state. Also publishes
 * the running VMs on screen as the stats thread's poll list. */
void tui_draw(struct tui_ui *ui);

/* Handles one key from getch(). */
void tui_keys(struct tui_ui *ui, int key);

/* Leaves curses, runs `banger vm ssh NAME` (this very binary) in the
 * terminal, waits for it and restores the screen. */
void tui_ssh(struct tui_ui *ui, const char *name);

#endif
