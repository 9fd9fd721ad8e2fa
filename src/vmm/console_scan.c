/*
 * console_scan: classify serial console lines. See console_scan.h.
 *
 * Bytes go through a small state machine (ESC sequences dropped, CR
 * dropped, the line cut at CONSOLE_SCAN_LINE - 1) into s->part; each newline
 * ends a line, which is stripped of its kernel timestamp and classified.
 */
#include "vmm/console_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ESC-sequence states of the byte filter. */
enum { ESC_NONE, ESC_SEEN, ESC_CSI };

struct filter {
	int esc;
	char *out;
	size_t len, cap;
};

/* One byte through the filter: CSI sequences (ESC [ ... final byte 0x40-0x7e)
 * and two-byte ESC sequences (ESC M, ESC 7...) vanish, CR and other control
 * bytes too (systemd's status line redraws with them). */
static void filter_byte(struct filter *f, unsigned char c)
{
	if (f->esc == ESC_SEEN) {
		f->esc = c == '[' ? ESC_CSI : ESC_NONE;
		return;
	}
	if (f->esc == ESC_CSI) {
		if (c >= 0x40 && c <= 0x7e)
			f->esc = ESC_NONE;
		return;
	}
	if (c == 0x1b) {
		f->esc = ESC_SEEN;
		return;
	}
	if ((c < 0x20 && c != '\t') || c == 0x7f)
		return;
	if (f->len + 1 < f->cap)
		f->out[f->len++] = (char)c;
}

/* "[    1.234567] " at the start of a kernel line: its length, else 0. */
static size_t timestamp_len(const char *s)
{
	size_t i = 1;

	if (s[0] != '[')
		return 0;
	while (s[i] == ' ')
		i++;
	if (s[i] < '0' || s[i] > '9')
		return 0;
	while ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')
		i++;
	if (s[i] != ']')
		return 0;
	i++;
	return s[i] == ' ' ? i + 1 : i;
}

static void strip_timestamp(char *s)
{
	size_t n = timestamp_len(s);

	if (n)
		memmove(s, s + n, strlen(s + n) + 1);
}

void console_scan_clean(const char *raw, size_t len, char *out, size_t cap)
{
	struct filter f = {ESC_NONE, out, 0, cap};

	if (cap == 0)
		return;
	for (size_t i = 0; i < len; i++)
		filter_byte(&f, (unsigned char)raw[i]);
	out[f.len] = '\0';
	strip_timestamp(out);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* systemd 252 prints "[FAILED] Failed to start ssh.service - OpenBSD Secure
 * Shell server." but ellipsizes the name to fit the terminal ("ssh.servic…"),
 * so the unit name's start or the description is what is matched. */
static bool sshd_failed(const char *l)
{
	const char *f = strstr(l, "Failed to start ");

	if (starts(l, "banger: not ready"))
		return true;
	if (!f)
		return false;
	f += strlen("Failed to start ");
	return starts(f, "ssh.") || starts(f, "sshd.") || strstr(f, "OpenBSD Secure Shell server");
}

static bool shutdown_line(const char *l)
{
	return starts(l, "reboot: Restarting system") || starts(l, "reboot: Power down") ||
	       starts(l, "reboot: System halted");
}

/* "banger: ready in 4.21 s": the figure, or -1 when it does not parse. */
static double ready_seconds(const char *l)
{
	const char *p = l + strlen("banger: ready in ");
	char *end;
	double v = strtod(p, &end);

	return end == p || v < 0 ? -1 : v;
}

enum console_kind console_scan_line(const char *l, struct console_event *ev)
{
	enum console_kind k = CONSOLE_NONE;

	if (starts(l, "Linux version "))
		k = CONSOLE_BOOT;
	else if (starts(l, "banger: ready in "))
		k = CONSOLE_READY;
	else if (sshd_failed(l))
		k = CONSOLE_SSHD_FAIL;
	else if (starts(l, "banger-init: error: "))
		k = CONSOLE_INIT_FAIL;
	else if (strstr(l, "Kernel panic - not syncing"))
		k = CONSOLE_PANIC;
	else if (strstr(l, "watchdog: BUG: soft lockup") ||
		 strstr(l, "Watchdog detected hard LOCKUP"))
		k = CONSOLE_LOCKUP;
	else if (strstr(l, "rcu: INFO: rcu_") && strstr(l, "stall"))
		k = CONSOLE_RCU_STALL;
	else if (shutdown_line(l))
		k = CONSOLE_SHUTDOWN;
	if (ev) {
		ev->kind = k;
		ev->seconds = k == CONSOLE_READY ? ready_seconds(l) : -1;
		snprintf(ev->line, sizeof(ev->line), "%s", l);
	}
	return k;
}

void console_scan_init(struct console_scan *s)
{
	memset(s, 0, sizeof(*s));
}

static void tail_push(struct console_scan *s, const char *line)
{
	/* line is s->part, never a tail slot: distinct buffers, same size. */
	memcpy(s->tail[s->tail_next], line, strlen(line) + 1);
	s->tail_next = (s->tail_next + 1) % CONSOLE_SCAN_TAIL;
	if (s->ntail < CONSOLE_SCAN_TAIL)
		s->ntail++;
}

/* A complete line in s->part: classify it, update the state, tell fn. */
static void end_line(struct console_scan *s, console_scan_fn fn, void *ctx)
{
	struct console_event ev;

	s->part[s->plen] = '\0';
	s->plen = 0;
	strip_timestamp(s->part);
	if (console_scan_line(s->part, &ev) == CONSOLE_BOOT) {
		/* A new boot: what the previous one said no longer holds. */
		memset(&s->ready, 0, sizeof(s->ready));
		memset(&s->trouble, 0, sizeof(s->trouble));
		s->ntail = s->tail_next = 0;
	} else if (ev.kind == CONSOLE_READY && s->ready.kind == CONSOLE_NONE) {
		s->ready = ev;
	} else if (console_kind_fatal(ev.kind) && s->trouble.kind == CONSOLE_NONE) {
		s->trouble = ev;
	}
	if (s->part[0])
		tail_push(s, s->part);
	if (fn && ev.kind != CONSOLE_NONE)
		fn(&ev, ctx);
}

void console_scan_feed(struct console_scan *s, const char *data, size_t len, console_scan_fn fn,
		       void *ctx)
{
	struct filter f = {s->esc, s->part, s->plen, sizeof(s->part)};

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			filter_byte(&f, (unsigned char)data[i]);
			continue;
		}
		s->plen = f.len;
		end_line(s, fn, ctx);
		f.len = 0;
		f.esc = ESC_NONE;
	}
	s->plen = f.len;
	s->esc = f.esc;
}

void console_scan_end(struct console_scan *s, console_scan_fn fn, void *ctx)
{
	if (s->plen)
		end_line(s, fn, ctx);
	s->esc = ESC_NONE;
}

size_t console_scan_tail(const struct console_scan *s, const char **lines, size_t cap)
{
	size_t n = s->ntail < cap ? s->ntail : cap;
	size_t first = (s->tail_next + CONSOLE_SCAN_TAIL - s->ntail) % CONSOLE_SCAN_TAIL;

	/* The newest n of the ntail kept lines. */
	first = (first + (s->ntail - n)) % CONSOLE_SCAN_TAIL;
	for (size_t i = 0; i < n; i++)
		lines[i] = s->tail[(first + i) % CONSOLE_SCAN_TAIL];
	return n;
}

bool console_kind_fatal(enum console_kind k)
{
	switch (k) {
	case CONSOLE_SSHD_FAIL:
	case CONSOLE_INIT_FAIL:
	case CONSOLE_PANIC:
	case CONSOLE_LOCKUP:
	case CONSOLE_RCU_STALL:
	case CONSOLE_SHUTDOWN:
		return true;
	default:
		return false;
	}
}

const char *console_kind_name(enum console_kind k)
{
	switch (k) {
	case CONSOLE_NONE:
		return "nothing";
	case CONSOLE_BOOT:
		return "kernel start";
	case CONSOLE_READY:
		return "ready";
	case CONSOLE_SSHD_FAIL:
		return "sshd failure";
	case CONSOLE_INIT_FAIL:
		return "banger-init failure";
	case CONSOLE_PANIC:
		return "kernel panic";
	case CONSOLE_LOCKUP:
		return "CPU lockup";
	case CONSOLE_RCU_STALL:
		return "RCU stall";
	case CONSOLE_SHUTDOWN:
		return "guest shutdown";
	}
	return "unknown";
}
