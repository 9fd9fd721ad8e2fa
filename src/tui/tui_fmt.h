/*
 * tui_fmt: short, fixed-width renderings of VM figures for the TUI table
 * (memory, bytes, uptime, CPU percent) and fitting text into a cell.
 * Pure functions: no I/O, no curses.
 */
#ifndef BANGER_TUI_TUI_FMT_H
#define BANGER_TUI_TUI_FMT_H

#include <stddef.h>

/* "256M", "1G", "1.5G". mib <= 0 gives "-". */
void tui_fmt_mem(long long mib, char *buf, size_t len);

/* "0", "12K", "300M", "1.5G". Negative gives "-". */
void tui_fmt_bytes(long long bytes, char *buf, size_t len);

/* "-" (not running), "45s", "3m05s", "2h03m", "1d02h": at most 6 chars for
 * anything under 100 days. */
void tui_fmt_uptime(long long secs, char *buf, size_t len);

/* "-" (unknown, pct < 0), "0.0" .. "99.9", "100" and up without decimals:
 * at most 5 chars up to 99999 %. */
void tui_fmt_cpu(double pct, char *buf, size_t len);

/* Copies s into out (size len) cut to at most width characters; a cut
 * string ends in '~' so the reader sees it was shortened. Control
 * characters and non-ASCII bytes become '?'. width <= 0 gives "". */
void tui_fit(const char *s, int width, char *out, size_t len);

#endif
