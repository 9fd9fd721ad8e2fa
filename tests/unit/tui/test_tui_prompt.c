/* Unit tests for tui_prompt: the one-line input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curses.h>
#include <string.h>

#include "tui/tui_prompt.h"

static enum tui_prompt_result type(struct tui_prompt *p, const char *s)
{
	enum tui_prompt_result r = TUI_PROMPT_EDITING;

	for (; *s; s++)
		r = tui_prompt_key(p, (unsigned char)*s);
	return r;
}

static void test_typing_and_editing(void **state)
{
	struct tui_prompt p;

	(void)state;
	tui_prompt_start(&p, "name: ", NULL);
	assert_string_equal(p.label, "name: ");
	assert_int_equal(type(&p, "calm-ottex"), TUI_PROMPT_EDITING);
	assert_int_equal(tui_prompt_key(&p, KEY_BACKSPACE), TUI_PROMPT_EDITING);
	assert_int_equal(tui_prompt_key(&p, 127), TUI_PROMPT_EDITING);
	type(&p, "er");
	assert_string_equal(p.text, "calm-otter");
	/* Function keys and non-ASCII input are ignored. */
	tui_prompt_key(&p, KEY_LEFT);
	tui_prompt_key(&p, 0xe9);
	assert_string_equal(p.text, "calm-otter");
	assert_int_equal(tui_prompt_key(&p, '\r'), TUI_PROMPT_DONE);
	assert_string_equal(p.text, "calm-otter");
}

static void test_initial_clear_cancel(void **state)
{
	struct tui_prompt p;

	(void)state;
	tui_prompt_start(&p, "/", "web");
	assert_string_equal(p.text, "web");
	tui_prompt_key(&p, 21); /* ctrl-U */
	assert_string_equal(p.text, "");
	tui_prompt_key(&p, KEY_BACKSPACE); /* on empty: nothing happens */
	assert_string_equal(p.text, "");
	assert_int_equal(tui_prompt_key(&p, 27), TUI_PROMPT_CANCEL);
	assert_int_equal(tui_prompt_key(&p, KEY_ENTER), TUI_PROMPT_DONE);
}

static void test_long_input_is_bounded(void **state)
{
	struct tui_prompt p;

	(void)state;
	tui_prompt_start(&p, "x", NULL);
	for (int i = 0; i < 1000; i++)
		tui_prompt_key(&p, 'a');
	assert_int_equal(strlen(p.text), sizeof(p.text) - 1);
	assert_int_equal(p.len, sizeof(p.text) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typing_and_editing),
	    cmocka_unit_test(test_initial_clear_cancel),
	    cmocka_unit_test(test_long_input_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
