/*
 * tui_log: the tail of a VM's console log, cleaned for a curses window.
 *
 * Guest consoles print ANSI colour and cursor sequences, carriage returns
 * and the odd binary byte; shown raw they would wreck the screen. Each line
 * is reduced to printable ASCII (escape sequences removed, tabs expanded,
 * text before a carriage return dropped, other bytes shown as '?').
 */
#ifndef BANGER_TUI_TUI_LOG_H
#define BANGER_TUI_TUI_LOG_H

#include <stddef.h>

#include "util/err.h"

struct tui_lines {
	char **v;
	size_t n;
};

/* Splits data into cleaned lines, keeping the last max_lines; a trailing
 * line without a newline counts. Replaces out's previous contents. */
void tui_log_split(const char *data, size_t len, size_t max_lines, struct tui_lines *out);

/* Cleans one raw line (no '\n') into a new malloc'd string. */
char *tui_log_clean(const char *line, size_t len);

/* Reads the last max_bytes of path and splits them as tui_log_split does
 * (a first partial line is dropped when the file is longer). A missing
 * file is an ERR_NOT_FOUND error. */
int tui_log_tail(const char *path, size_t max_bytes, size_t max_lines, struct tui_lines *out,
		 struct err *e);

void tui_lines_free(struct tui_lines *l);

/* The last lines of one file, re-read only when the file changed (size or
 * mtime) or another file or line count is asked for: the screen is redrawn
 * several times a second. Zero-initialise; tui_log_cache_done frees. */
struct tui_log_cache {
	char path[512];
	long long size, mtime_ns;
	size_t max_lines;
	int ok;
	struct tui_lines lines;
};

/* Returns the cached or fresh lines of path (NULL if it cannot be read).
 * The pointer is valid until the next call. */
const struct tui_lines *tui_log_cache_get(struct tui_log_cache *c, const char *path,
					  size_t max_bytes, size_t max_lines);
void tui_log_cache_done(struct tui_log_cache *c);

#endif
