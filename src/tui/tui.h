/*
 * tui: `banger tui`, a live terminal view of the VMs (ncursesw).
 */
#ifndef BANGER_TUI_TUI_H
#define BANGER_TUI_TUI_H

#include "config/config.h"
#include "util/err.h"

/* Runs the TUI on the controlling terminal until the user quits. Starts
 * bangerd if it is not running (like every CLI command); later daemon
 * outages are shown and waited out. Errors: no terminal, the daemon cannot
 * start, curses cannot initialise. */
int tui_run(const struct paths *p, struct err *e);

#endif
