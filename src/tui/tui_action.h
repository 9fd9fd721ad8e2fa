/*
 * tui_action: runs one long VM operation (start, stop, restart, delete,
 * create) on a worker thread so the screen keeps updating. Progress and
 * the result go to the status line; errors keep the daemon's log path.
 * The table itself changes through the event stream, not from here.
 */
#ifndef BANGER_TUI_TUI_ACTION_H
#define BANGER_TUI_TUI_ACTION_H

#include <jansson.h>

#include "tui/tui_state.h"

enum tui_action_kind {
	TUI_ACT_START,
	TUI_ACT_STOP,
	TUI_ACT_RESTART,
	TUI_ACT_SUSPEND,
	TUI_ACT_DELETE, /* with force: the user confirmed by typing the name */
	TUI_ACT_CREATE, /* body: the POST /v1/vms request */
};

/* Starts the action on a detached worker. Steals body (may be NULL).
 * Returns -1 with the status line saying why when another action is still
 * running or the thread cannot start. */
int tui_action_start(struct tui_state *s, enum tui_action_kind kind, const char *name,
		     json_t *body);

#endif
