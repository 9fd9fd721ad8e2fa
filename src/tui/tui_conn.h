/*
 * tui_conn: keeps the TUI's model in step with the daemon.
 *
 * The event thread subscribes to GET /v1/events; on the stream's "hello"
 * it loads GET /v1/vms (so no event between the two is lost) and then
 * applies each event. When the daemon goes away it marks the state
 * disconnected and tries again every second without starting a daemon
 * (the user stopped it on purpose; any banger command brings it back).
 *
 * The stats thread polls GET /v1/vms/{name}/stats every few seconds for
 * the running VMs on screen only (each poll costs the daemon a 250 ms
 * sample), for the CPU % and disk usage columns.
 */
#ifndef BANGER_TUI_TUI_CONN_H
#define BANGER_TUI_TUI_CONN_H

#include "tui/tui_state.h"

/* Starts both threads (detached; each holds a reference on s). */
int tui_conn_start(struct tui_state *s, struct err *e);

#endif
