/*
 * console_scan: what a VM's serial console says about its guest, read as
 * the log grows. Pure: the caller reads the console log (firecracker.log,
 * which both drivers write) and feeds its bytes, in chunks of any size; a
 * line may be split between chunks. No I/O, no allocation, no clock.
 *
 * Each complete line is cleaned (ANSI colour sequences, carriage returns and
 * the kernel's "[    1.234567] " timestamp removed) and matched against:
 *
 *   CONSOLE_BOOT       "Linux version ..."       the kernel started: the
 *                                                scan state resets (a new
 *                                                boot in the same log)
 *   CONSOLE_READY      "banger: ready in 4.21 s" banger-ready.service: sshd
 *                                                listens; seconds = the
 *                                                guest's uptime
 *   CONSOLE_SSHD_FAIL  "banger: not ready: ..."  banger-ready.service found
 *                                                no sshd, or systemd's
 *                      "[FAILED] Failed to start ssh.service - OpenBSD
 *                      Secure Shell server." (systemd's status line; the
 *                      name may be cut: "ssh.servic…")
 *   CONSOLE_INIT_FAIL  "banger-init: error: ..." banger-init gave up (it
 *                                                then resets the machine)
 *   CONSOLE_PANIC      "Kernel panic - not syncing"
 *   CONSOLE_LOCKUP     "watchdog: BUG: soft lockup", "watchdog: Watchdog
 *                      detected hard LOCKUP"
 *   CONSOLE_RCU_STALL  "rcu: INFO: rcu_sched self-detected stall",
 *                      "rcu: INFO: rcu_preempt detected stalls" (any flavour)
 *   CONSOLE_SHUTDOWN   "reboot: Restarting system", "reboot: Power down",
 *                      "reboot: System halted" (the kernel's last words)
 *
 * These are the lines the kernel prints at KERN_ERR or above (shown even
 * with `quiet`) and the lines banger's guest pieces write to /dev/console.
 */
#ifndef BANGER_VMM_CONSOLE_SCAN_H
#define BANGER_VMM_CONSOLE_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_SCAN_LINE 256 /* longer lines are cut (the match needs the start) */
#define CONSOLE_SCAN_TAIL 12  /* last lines kept, for error messages */

enum console_kind {
	CONSOLE_NONE = 0,
	CONSOLE_BOOT,
	CONSOLE_READY,
	CONSOLE_SSHD_FAIL,
	CONSOLE_INIT_FAIL,
	CONSOLE_PANIC,
	CONSOLE_LOCKUP,
	CONSOLE_RCU_STALL,
	CONSOLE_SHUTDOWN,
};

struct console_event {
	enum console_kind kind;
	double seconds;		      /* CONSOLE_READY: the guest's figure; otherwise -1 */
	char line[CONSOLE_SCAN_LINE]; /* the cleaned line */
};

/* Zero it with console_scan_init; the caller owns it (about 7 KB). */
struct console_scan {
	char part[CONSOLE_SCAN_LINE]; /* the line being assembled, filtered */
	size_t plen;
	int esc; /* inside an ESC sequence split between chunks */
	char tail[CONSOLE_SCAN_TAIL][CONSOLE_SCAN_LINE];
	size_t ntail, tail_next;
	struct console_event ready;   /* kind CONSOLE_NONE until ready */
	struct console_event trouble; /* the first trouble since boot, or NONE */
};

/* Called for each event, in console order. ev is valid during the call. */
typedef void (*console_scan_fn)(const struct console_event *ev, void *ctx);

void console_scan_init(struct console_scan *s);

/* Feeds len bytes of console output; fn (may be NULL) hears every event
 * whose line ends inside them. */
void console_scan_feed(struct console_scan *s, const char *data, size_t len, console_scan_fn fn,
		       void *ctx);

/* Ends the input: a last line without a newline is scanned too (call it
 * when the VMM has exited). */
void console_scan_end(struct console_scan *s, console_scan_fn fn, void *ctx);

/* Classifies one cleaned line; fills ev (seconds for READY). Returns the
 * kind, CONSOLE_NONE for an ordinary line. */
enum console_kind console_scan_line(const char *line, struct console_event *ev);

/* Cleans raw (one line, no newline) into out: no ANSI sequences, no CR, no
 * kernel timestamp, cut to cap - 1 bytes. */
void console_scan_clean(const char *raw, size_t len, char *out, size_t cap);

/* The last lines seen since boot (up to CONSOLE_SCAN_TAIL), oldest first,
 * as pointers into s. Returns how many were written to lines (<= cap). */
size_t console_scan_tail(const struct console_scan *s, const char **lines, size_t cap);

/* True for the kinds that mean the guest will not come up (or went down). */
bool console_kind_fatal(enum console_kind k);

/* A short name for messages: "kernel panic", "CPU lockup", "sshd failure". */
const char *console_kind_name(enum console_kind k);

#endif
