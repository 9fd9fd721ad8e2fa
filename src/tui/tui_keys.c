/*
 * tui_keys: the key bindings. Table keys act on the selected VM; long
 * operations go to the action worker; questions (filter, delete
 * confirmation, the create form) open a prompt on the status line while
 * the table keeps updating above it.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/tui_action.h"
#include "tui/tui_ui.h"
#include "util/size.h"

/* The selected VM's name into out (""/0 when nothing is selected). */
static int selected_name(struct tui_ui *ui, char *out, size_t len)
{
	const struct tui_row *r;

	tui_state_lock(ui->s);
	r = tui_model_selected(&ui->s->model);
	snprintf(out, len, "%s", r ? r->name : "");
	tui_state_unlock(ui->s);
	if (!out[0])
		tui_state_status(ui->s, TUI_STATUS_ERROR, "no VM selected (n creates one)");
	return out[0] != '\0';
}

static void ask(struct tui_ui *ui, enum tui_ask what, const char *label, const char *initial)
{
	ui->mode = TUI_MODE_PROMPT;
	ui->ask = what;
	tui_prompt_start(&ui->prompt, label, initial);
}

/* Asks create question `what`; problem (or NULL) says what was wrong
 * with the last answer, in front of the question, where the user looks. */
static void ask_create(struct tui_ui *ui, enum tui_ask what, const char *problem)
{
	char q[128], label[256];

	switch (what) {
	case TUI_ASK_NAME:
		snprintf(q, sizeof(q), "new VM name (empty: generated, Esc cancels): ");
		break;
	case TUI_ASK_VCPU:
		snprintf(q, sizeof(q), "vCPUs [%lld]: ", ui->def_vcpu);
		break;
	case TUI_ASK_MEMORY:
		snprintf(q, sizeof(q), "memory in MiB [%lld]: ", ui->def_memory);
		break;
	case TUI_ASK_DISK:
		snprintf(q, sizeof(q), "work disk size [%s]: ", ui->def_disk);
		break;
	default:
		what = TUI_ASK_NAT;
		snprintf(q, sizeof(q), "outbound internet (NAT)? y/N: ");
	}
	snprintf(label, sizeof(label), "%s%s%s", problem ? problem : "", problem ? " " : "", q);
	ask(ui, what, label, NULL);
}

/* A positive whole number, or -1. */
static long long positive(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	return *s && !*end && v > 0 ? v : -1;
}

/* One create answer: records it and asks the next question, or re-asks
 * with the problem in the status line. */
static void create_answer(struct tui_ui *ui, const char *text)
{
	char problem[160];
	long long v = 0;
	struct err e;

	switch (ui->ask) {
	case TUI_ASK_NAME:
		if (text[0]) {
			json_t *name = json_string(text);

			/* Dropping a name JSON cannot carry would create another. */
			if (!name) {
				ask_create(ui, TUI_ASK_NAME, "That name is not valid UTF-8 text.");
				return;
			}
			json_object_set_new(ui->create, "name", name);
		}
		ask_create(ui, TUI_ASK_VCPU, NULL);
		return;
	case TUI_ASK_VCPU:
	case TUI_ASK_MEMORY:
		if (text[0] && (v = positive(text)) < 0) {
			snprintf(problem, sizeof(problem), "\"%s\" is not a positive whole number.",
				 ERR_Q(text));
			ask_create(ui, ui->ask, problem);
			return;
		}
		if (text[0])
			json_object_set_new(ui->create,
					    ui->ask == TUI_ASK_VCPU ? "vcpu" : "memory_mib",
					    json_integer(v));
		ask_create(ui, ui->ask == TUI_ASK_VCPU ? TUI_ASK_MEMORY : TUI_ASK_DISK, NULL);
		return;
	case TUI_ASK_DISK:
		err_clear(&e);
		if (text[0] && size_parse(text, &v, &e) < 0) {
			snprintf(problem, sizeof(problem), "%s.", e.msg);
			ask_create(ui, TUI_ASK_DISK, problem);
			return;
		}
		if (text[0])
			json_object_set_new(ui->create, "disk_size", json_string(text));
		ask_create(ui, TUI_ASK_NAT, NULL);
		return;
	default:
		if (text[0] == 'y' || text[0] == 'Y')
			json_object_set_new(ui->create, "nat", json_true());
		ui->mode = TUI_MODE_TABLE;
		tui_action_start(ui->s, TUI_ACT_CREATE,
				 json_string_value(json_object_get(ui->create, "name")),
				 ui->create);
		ui->create = NULL;
	}
}

static void prompt_done(struct tui_ui *ui)
{
	const char *text = ui->prompt.text;

	if (ui->ask == TUI_ASK_FILTER) {
		ui->mode = TUI_MODE_TABLE;
	} else if (ui->ask == TUI_ASK_DELETE) {
		ui->mode = TUI_MODE_TABLE;
		if (strcmp(text, ui->target) == 0)
			tui_action_start(ui->s, TUI_ACT_DELETE, ui->target, NULL);
		else
			tui_state_status(ui->s, TUI_STATUS_INFO,
					 "delete cancelled: \"%s\" is not \"%s\"", text,
					 ui->target);
	} else {
		create_answer(ui, text);
	}
}

static void prompt_key(struct tui_ui *ui, int key)
{
	enum tui_prompt_result r = tui_prompt_key(&ui->prompt, key);

	if (ui->ask == TUI_ASK_FILTER) { /* the table narrows as you type */
		tui_state_lock(ui->s);
		tui_model_set_filter(&ui->s->model, r == TUI_PROMPT_CANCEL ? "" : ui->prompt.text);
		tui_state_unlock(ui->s);
	}
	if (r == TUI_PROMPT_DONE) {
		prompt_done(ui);
	} else if (r == TUI_PROMPT_CANCEL) {
		if (ui->ask >= TUI_ASK_NAME)
			tui_state_status(ui->s, TUI_STATUS_INFO, "create cancelled");
		else if (ui->ask == TUI_ASK_DELETE)
			tui_state_status(ui->s, TUI_STATUS_INFO, "delete cancelled");
		json_decref(ui->create);
		ui->create = NULL;
		ui->mode = TUI_MODE_TABLE;
	}
}

static void move_sel(struct tui_ui *ui, long delta)
{
	tui_state_lock(ui->s);
	tui_model_move(&ui->s->model, delta);
	tui_state_unlock(ui->s);
}

static void power_key(struct tui_ui *ui, enum tui_action_kind kind)
{
	char name[TUI_NAME_MAX];

	if (selected_name(ui, name, sizeof(name)))
		tui_action_start(ui->s, kind, name, NULL);
}

static void table_key(struct tui_ui *ui, int key)
{
	char name[TUI_NAME_MAX], label[256];

	switch (key) {
	case 'q':
		ui->quit = 1;
		break;
	case KEY_UP:
	case 'k':
		move_sel(ui, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(ui, 1);
		break;
	case KEY_PPAGE:
		move_sel(ui, -ui->page);
		break;
	case KEY_NPAGE:
		move_sel(ui, ui->page);
		break;
	case KEY_HOME:
	case 'g':
		move_sel(ui, -1000000);
		break;
	case KEY_END:
	case 'G':
		move_sel(ui, 1000000);
		break;
	case '/':
		tui_state_lock(ui->s);
		snprintf(name, sizeof(name), "%s", ui->s->model.filter);
		tui_state_unlock(ui->s);
		ask(ui, TUI_ASK_FILTER, "filter by name (Enter keeps, Esc clears): /", name);
		break;
	case 27: /* Esc clears the filter */
		tui_state_lock(ui->s);
		tui_model_set_filter(&ui->s->model, "");
		tui_state_unlock(ui->s);
		break;
	case 's':
		power_key(ui, TUI_ACT_START);
		break;
	case 'S':
		power_key(ui, TUI_ACT_STOP);
		break;
	case 'r':
		power_key(ui, TUI_ACT_RESTART);
		break;
	case 'z':
		power_key(ui, TUI_ACT_SUSPEND);
		break;
	case 'd':
		if (!selected_name(ui, ui->target, sizeof(ui->target)))
			break;
		snprintf(label, sizeof(label),
			 "delete %s and all its files? type its name to confirm: ", ui->target);
		ask(ui, TUI_ASK_DELETE, label, NULL);
		break;
	case 'n':
		json_decref(ui->create);
		ui->create = json_object();
		ask_create(ui, TUI_ASK_NAME, NULL);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'c':
		if (selected_name(ui, name, sizeof(name)))
			tui_ssh(ui, name);
		break;
	case 'l':
		if (selected_name(ui, ui->target, sizeof(ui->target))) {
			ui->mode = TUI_MODE_LOG;
			ui->log_back = 0;
		}
		break;
	case '?':
	case KEY_F(1):
		ui->mode = TUI_MODE_HELP;
		break;
	default:
		break;
	}
}

static void log_key(struct tui_ui *ui, int key)
{
	int page = LINES > 4 ? LINES - 3 : 1;

	switch (key) {
	case 'q':
	case 'l':
	case 27:
		ui->mode = TUI_MODE_TABLE;
		break;
	case KEY_UP:
	case 'k':
		ui->log_back++;
		break;
	case KEY_DOWN:
	case 'j':
		ui->log_back = ui->log_back > 0 ? ui->log_back - 1 : 0;
		break;
	case KEY_PPAGE:
		ui->log_back += page;
		break;
	case KEY_NPAGE:
		ui->log_back = ui->log_back > page ? ui->log_back - page : 0;
		break;
	case KEY_HOME:
	case 'g':
		ui->log_back = 1 << 30; /* clamped when drawn */
		break;
	case KEY_END:
	case 'G':
		ui->log_back = 0;
		break;
	default:
		break;
	}
}

void tui_keys(struct tui_ui *ui, int key)
{
	if (key == KEY_RESIZE) {
		/* Forget what curses thinks is on screen: repaint it all. */
		clearok(curscr, TRUE);
		return;
	}
	switch (ui->mode) {
	case TUI_MODE_PROMPT:
		prompt_key(ui, key);
		break;
	case TUI_MODE_HELP:
		ui->mode = TUI_MODE_TABLE;
		break;
	case TUI_MODE_LOG:
		log_key(ui, key);
		break;
	default:
		table_key(ui, key);
	}
}
