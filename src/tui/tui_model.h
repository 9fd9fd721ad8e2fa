/*
 * tui_model: the TUI's VM table, free of I/O and curses so it is unit-tested
 * directly.
 *
 * Rows come from the daemon's VM JSON (GET /v1/vms, event payloads) and stay
 * sorted by name. A name filter picks the visible rows. The selection is a
 * VM *name*, so it survives re-sorting and updates; when the selected VM
 * disappears (deleted, filtered out) the row that took its place on screen
 * is selected instead.
 */
#ifndef BANGER_TUI_TUI_MODEL_H
#define BANGER_TUI_TUI_MODEL_H

#include <jansson.h>
#include <stddef.h>

#include "state/vm_state.h"

#define TUI_NAME_MAX 64
#define TUI_TEXT_MAX 512

struct tui_row {
	char name[TUI_NAME_MAX];
	enum vm_state state; /* VM_STATE_COUNT: absent or unknown to this banger */
	char address[48];
	char image[TUI_NAME_MAX];
	char vmm[16];
	char accel[16];
	char mac[24];
	char dns_name[96];
	char dir[TUI_TEXT_MAX];
	char console_log[TUI_TEXT_MAX];
	char last_error[TUI_TEXT_MAX];
	char last_exit[128];
	long long vcpu, memory_mib, pid;
	long long disk_size, disk_used;	      /* work disk: configured, allocated bytes */
	long long overlay_size, overlay_used; /* overlay: configured, allocated bytes */
	long long started_at;		      /* unix seconds, 0 when not running */
	long long state_bytes;		      /* saved state while suspended, else 0 */
	int nat;
	double cpu; /* VMM CPU percent from the last stats poll, -1 unknown */
};

struct tui_model {
	struct tui_row *rows; /* sorted by name */
	size_t n, cap;
	size_t *vis; /* indices into rows of the rows matching the filter */
	size_t nvis;
	char filter[TUI_NAME_MAX];
	char selected[TUI_NAME_MAX]; /* "" when nothing is visible */
};

void tui_model_init(struct tui_model *m);
void tui_model_done(struct tui_model *m);

/* Fills r from one VM object of the API. Missing fields become empty/0.
 * Returns -1 (r untouched) if vm has no name. */
int tui_row_from_json(struct tui_row *r, json_t *vm);

/* Replaces all rows with the array `vms` (the "vms" of GET /v1/vms). CPU
 * figures of VMs that are still there are kept until the next poll. */
void tui_model_load(struct tui_model *m, json_t *vms);

/* Inserts or replaces the row for vm (by name). Returns 1 if it changed
 * the model, 0 if vm was unusable. */
int tui_model_upsert(struct tui_model *m, json_t *vm);

/* Removes the row called name. Returns 1 if there was one. */
int tui_model_remove(struct tui_model *m, const char *name);

/* Applies one line of GET /v1/events: vm.state, vm.created and vm.updated
 * upsert "vm"; vm.deleted removes "name"; anything else (hello, image
 * events, unknown types) is ignored. Returns 1 if the model changed. */
int tui_model_apply_event(struct tui_model *m, json_t *ev);

/* Records a GET /v1/vms/{name}/stats answer (CPU percent and disk usage).
 * Returns 1 if the row exists. */
int tui_model_apply_stats(struct tui_model *m, json_t *stats);

/* Shows only rows whose name contains filter (case-insensitive); "" or
 * NULL shows all. */
void tui_model_set_filter(struct tui_model *m, const char *filter);

/* Visible row i (0 <= i < m->nvis), or NULL. */
const struct tui_row *tui_model_visible(const struct tui_model *m, size_t i);

/* Index of the selected row among the visible ones, or -1 if none. */
long tui_model_selected_index(const struct tui_model *m);

/* The selected row, or NULL. The pointer is valid until the next change. */
const struct tui_row *tui_model_selected(const struct tui_model *m);

/* Moves the selection by delta visible rows, clamped to the list. */
void tui_model_move(struct tui_model *m, long delta);

/* Selects the VM called name if it is visible. Returns 1 on success. */
int tui_model_select(struct tui_model *m, const char *name);

/* Seconds the row's VM has been running at time now (0 when not running). */
long long tui_row_uptime(const struct tui_row *r, long long now);

#endif
