/*
 * tui_prompt: a one-line text input (the `/` filter, delete confirmation,
 * the create questions). Pure key handling; tui_draw shows it.
 */
#ifndef BANGER_TUI_TUI_PROMPT_H
#define BANGER_TUI_TUI_PROMPT_H

#include <stddef.h>

struct tui_prompt {
	char label[256];
	char text[128];
	size_t len;
};

enum tui_prompt_result { TUI_PROMPT_EDITING, TUI_PROMPT_DONE, TUI_PROMPT_CANCEL };

/* Starts an input: label is shown before the text; initial may be NULL. */
void tui_prompt_start(struct tui_prompt *p, const char *label, const char *initial);

/* Feeds one curses key: printable ASCII is typed, Backspace/DEL erase,
 * ctrl-U clears, Enter finishes, Esc and ctrl-C/ctrl-G cancel. Other keys
 * are ignored. */
enum tui_prompt_result tui_prompt_key(struct tui_prompt *p, int key);

#endif
