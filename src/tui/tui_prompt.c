/* tui_prompt: see tui_prompt.h. */
#include "tui/tui_prompt.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

void tui_prompt_start(struct tui_prompt *p, const char *label, const char *initial)
{
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->text, sizeof(p->text), "%s", initial ? initial : "");
	p->len = strlen(p->text);
}

enum tui_prompt_result tui_prompt_key(struct tui_prompt *p, int key)
{
	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		return TUI_PROMPT_DONE;
	case 27: /* Esc */
	case 3:	 /* ctrl-C */
	case 7:	 /* ctrl-G */
		return TUI_PROMPT_CANCEL;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (p->len > 0)
			p->text[--p->len] = '\0';
		return TUI_PROMPT_EDITING;
	case 21: /* ctrl-U */
		p->len = 0;
		p->text[0] = '\0';
		return TUI_PROMPT_EDITING;
	default:
		if (key >= 0x20 && key < 0x7f && p->len + 1 < sizeof(p->text)) {
			p->text[p->len++] = (char)key;
			p->text[p->len] = '\0';
		}
		return TUI_PROMPT_EDITING;
	}
}
