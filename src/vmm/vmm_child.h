/*
 * vmm_child: what every driver does with the VMM process it starts.
 *
 * A start appends a marker line "--- banger: <driver> start <time> ---" to
 * the console log and remembers where this start's output begins, spawns
 * the VMM in its own session (stdin /dev/null, stdout+stderr appended to
 * the console log), and, when the start fails, ends the process, says how
 * it ended and quotes the console lines written since the marker.
 *
 * Invariant: the pid is signalled and waited for only while it is still
 * ours. A pidfd taken right after the fork carries the signals (a pidfd
 * names one process, never a later one with the same pid); the pid is
 * reaped exactly once, and after that (or after someone else reaped it)
 * nothing is sent to it or waited for again. Until we reap it, our unreaped
 * child holds its pid, so waitpid(pid) and, without a pidfd, kill(pid) are
 * safe.
 *
 * Lifetime: vmm_child_init, vmm_child_mark, vmm_child_spawn, then either
 * vmm_child_end (failure) or nothing (success: the daemon takes over the
 * pid and start time), and always vmm_child_done. Not thread-safe: one
 * start owns its struct.
 */
#ifndef BANGER_VMM_VMM_CHILD_H
#define BANGER_VMM_VMM_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Wait status when the process was reaped by someone else (unknown). */
#define VMM_CHILD_STATUS_UNKNOWN (-1)

struct vmm_child {
	const char *driver;	 /* "firecracker" | "qemu": marker line */
	const char *console_log; /* the VMM's stdout+stderr, and the marker */
	off_t console_off;	 /* console log size right after our marker */
	pid_t pid;		 /* 0 until spawned */
	long long start_time;	 /* proc_start_time(pid) right after spawn, or -1 */
	int pidfd;		 /* -1 when none (not spawned, or no pidfd_open) */
	int reaped;		 /* waited for: the pid is no longer ours */
	int status;		 /* wait status once reaped, or VMM_CHILD_STATUS_UNKNOWN */
};

/* Prepares c for one start; driver and console_log must outlive c. */
void vmm_child_init(struct vmm_child *c, const char *driver, const char *console_log);

/* Appends the start marker to the console log (created 0600 if missing)
 * and sets c->console_off to the offset after it. Errors name the file. */
int vmm_child_mark(struct vmm_child *c, struct err *e);

/* Spawns argv (argv[0] searched in PATH) through spawn_detached, then takes
 * a pidfd and the start time. ERR_MISSING_TOOL when argv[0] cannot be
 * executed (c->pid stays 0 and nothing is left running). */
int vmm_child_spawn(struct vmm_child *c, const char *const argv[], struct err *e);

/* Non-blocking: 1 if the process has exited (reaping it now or earlier;
 * c->status tells how), 0 while it runs. A child never spawned counts as
 * exited. */
int vmm_child_exited(struct vmm_child *c);

/* Blocks up to timeout_ms for the process to exit. 1 if it did (reaped),
 * 0 if it still runs. */
int vmm_child_wait(struct vmm_child *c, int timeout_ms);

/* Ends the process: waits up to grace_ms for it to exit by itself, else
 * SIGKILLs it and reaps it. Returns 1 if it had exited by itself (then
 * c->status says how), 0 if it had to be killed or was never spawned.
 * Safe to call again: a reaped child is never signalled or waited for. */
int vmm_child_end(struct vmm_child *c, int grace_ms);

/* Releases what c holds (the pidfd). Does not touch the process: after a
 * successful start it runs on, watched by the daemon. Accepts NULL. */
void vmm_child_done(struct vmm_child *c);

/* Describes a wait status for a sentence about the VMM: "exited with
 * status 1", "was killed by signal 9 (Killed)", "ended (its exit status is
 * unknown)". */
void vmm_child_describe(int status, char *out, size_t len);

/* The last max_lines complete lines the console log got since the marker,
 * at most len - 1 bytes of it, '\n'-separated, without the trailing
 * newline. Returns their length; 0 (out = "") when there are none. */
size_t vmm_child_tail(const struct vmm_child *c, int max_lines, char *out, size_t len);

/* Appends those lines to e->msg, indented under "last lines of PATH:", and
 * sets e's log path to the console log. Accepts a NULL e. */
void vmm_child_err_tail(const struct vmm_child *c, int max_lines, struct err *e);

#endif
