/*
 * proc: facts about host processes from /proc.
 *
 * A VMM is re-adopted only if both its pid and its start time match what was
 * recorded, so a recycled pid is never mistaken for our process.
 */
#ifndef BANGER_UTIL_PROC_H
#define BANGER_UTIL_PROC_H

#include <sys/types.h>

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * or -1 if the process does not exist. Zombies count as gone. */
long long proc_start_time(pid_t pid);

/* 1 if pid exists and is neither a zombie nor exiting (a process being
 * torn down after SIGKILL still holds its files and locks). */
int proc_running(pid_t pid);

/* utime+stime in clock ticks and RSS in bytes; -1 on failure. */
int proc_cpu_mem(pid_t pid, long long *cpu_ticks, long long *rss_bytes);

/* 1 if pid runs and its start time equals start (start < 0: any). */
int proc_alive(pid_t pid, long long start);

/* Opens a pidfd for pid (-1 on failure, errno set). */
int proc_pidfd(pid_t pid);

/* For each process (other than this one) one of whose argv words contains
 * needle, calls fn with its pid and the word from where needle starts.
 * Zombies are included (their cmdline is empty, so they never match).
 * Returns the number of matches, or -1 if /proc cannot be read. */
typedef void (*proc_arg_fn)(pid_t pid, const char *hit, void *ctx);
int proc_each_with_arg(const char *needle, proc_arg_fn fn, void *ctx);

#endif
