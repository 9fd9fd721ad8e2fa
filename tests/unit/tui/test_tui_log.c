/* Unit tests for tui_log: console output cleaned for the screen, and the
 * tail of a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tui/tui_log.h"

static void check_clean(const char *raw, const char *want)
{
	char *got = tui_log_clean(raw, strlen(raw));

	assert_string_equal(got, want);
	free(got);
}

static void test_clean(void **state)
{
	(void)state;
	check_clean("plain text", "plain text");
	check_clean("\x1b[1;32mOK\x1b[0m done", "OK done");
	check_clean("\x1b]0;title\x07prompt", "prompt");
	check_clean("line\r", "line");
	check_clean("10%\r50%\r100%", "100%");
	check_clean("a\tb", "a       b");
	check_clean("caf\xc3\xa9 \xe2\x9c\x93", "caf? ?");
	check_clean("bell\x07 nul", "bell nul");
	check_clean("ctl\x01x", "ctl?x");
	check_clean("", "");
}

static void test_split_keeps_last_lines(void **state)
{
	struct tui_lines l = {NULL, 0};
	const char *text = "one\ntwo\r\nthree\nfour";

	(void)state;
	tui_log_split(text, strlen(text), 10, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[1], "two");
	assert_string_equal(l.v[3], "four");
	tui_log_split(text, strlen(text), 2, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "three");
	assert_string_equal(l.v[1], "four");
	tui_log_split("a\nb\n", 4, 5, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1], "b");
	tui_log_split("\n\n", 2, 5, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "");
	tui_log_split("", 0, 5, &l);
	assert_int_equal(l.n, 0);
	tui_lines_free(&l);
}

static void test_tail_of_file(void **state)
{
	char path[] = "/tmp/tui-log-XXXXXX";
	int fd = mkstemp(path);
	struct tui_lines l = {NULL, 0};
	struct err e;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "console line %04d\n", i);
	fclose(f);
	err_clear(&e);
	/* 100 bytes from the end start mid-line: that fragment is dropped. */
	assert_int_equal(tui_log_tail(path, 100, 50, &l, &e), 0);
	assert_true(l.n >= 4 && l.n <= 6);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(strncmp(l.v[i], "console line 0", 14), 0);
	assert_string_equal(l.v[l.n - 1], "console line 0999");
	assert_int_equal(tui_log_tail(path, 1 << 20, 3, &l, &e), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "console line 0997");
	unlink(path);
	assert_int_equal(tui_log_tail(path, 100, 5, &l, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	tui_lines_free(&l);
}

static void test_cache_follows_the_file(void **state)
{
	char path[] = "/tmp/tui-cache-XXXXXX";
	int fd = mkstemp(path);
	struct tui_log_cache c = {0};
	const struct tui_lines *l;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "first\nsecond\n", 13), 13);
	l = tui_log_cache_get(&c, path, 4096, 10);
	assert_non_null(l);
	assert_int_equal(l->n, 2);
	assert_string_equal(l->v[1], "second");
	f = fdopen(fd, "a");
	fprintf(f, "third\n");
	fflush(f);
	l = tui_log_cache_get(&c, path, 4096, 10);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->v[2], "third");
	l = tui_log_cache_get(&c, path, 4096, 1); /* fewer lines asked: re-cut */
	assert_int_equal(l->n, 1);
	assert_string_equal(l->v[0], "third");
	fclose(f);
	unlink(path);
	assert_null(tui_log_cache_get(&c, path, 4096, 10));
	tui_log_cache_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_split_keeps_last_lines),
	    cmocka_unit_test(test_tail_of_file),
	    cmocka_unit_test(test_cache_follows_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
