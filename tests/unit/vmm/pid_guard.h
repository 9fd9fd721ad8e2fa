/*
 * pid_guard: catches signals and waits aimed at a pid that was already
 * reaped, the pid-reuse bug (after waitpid() returned a pid, the kernel may
 * hand that pid to any new process, so kill() or waitpid() on it can hit a
 * stranger).
 *
 * Include it (after cmocka.h) in exactly one file of a test executable
 * linked with
 *   -Wl,--wrap=kill -Wl,--wrap=waitpid -Wl,--wrap=waitid -Wl,--wrap=fork
 * Every call to those from the test and from the libraries it links (the
 * drivers, util/spawn) then goes through the wrappers below: a successful
 * waitpid() or waitid() records the pid as reaped, fork() forgets a pid the
 * kernel hands out again, and kill(), waitpid() or waitid(P_PID) on a
 * recorded pid is counted as a violation and NOT performed (the stale pid
 * could belong to anything on the host). Signals sent and waits made
 * through a pidfd cannot reach a recycled pid and are not checked.
 */
#ifndef BANGER_TESTS_PID_GUARD_H
#define BANGER_TESTS_PID_GUARD_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PID_GUARD_MAX 1024

struct pid_guard {
	pthread_mutex_t lock;
	pid_t reaped[PID_GUARD_MAX];
	size_t n;
	int violations;
	char first[256]; /* the first violation, for the failure message */
};

static struct pid_guard pid_guard = {.lock = PTHREAD_MUTEX_INITIALIZER};

pid_t __real_waitpid(pid_t pid, int *status, int options);
pid_t __wrap_waitpid(pid_t pid, int *status, int options);
int __real_kill(pid_t pid, int sig);
int __wrap_kill(pid_t pid, int sig);
int __real_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);
int __wrap_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);
pid_t __real_fork(void);
pid_t __wrap_fork(void);

/* Index of pid in the reaped list, or -1. Lock held. */
static long pid_guard_find(pid_t pid)
{
	for (size_t i = 0; i < pid_guard.n; i++)
		if (pid_guard.reaped[i] == pid)
			return (long)i;
	return -1;
}

/* 1 (and a violation recorded) if pid was reaped already. */
static int pid_guard_stale(const char *call, pid_t pid)
{
	int stale;

	pthread_mutex_lock(&pid_guard.lock);
	stale = pid > 0 && pid_guard_find(pid) >= 0;
	if (stale && pid_guard.violations++ == 0)
		snprintf(pid_guard.first, sizeof(pid_guard.first), "%s(%d) after pid %d was reaped",
			 call, (int)pid, (int)pid);
	pthread_mutex_unlock(&pid_guard.lock);
	return stale;
}

static void pid_guard_record(pid_t pid)
{
	pthread_mutex_lock(&pid_guard.lock);
	if (pid_guard_find(pid) < 0 && pid_guard.n < PID_GUARD_MAX)
		pid_guard.reaped[pid_guard.n++] = pid;
	pthread_mutex_unlock(&pid_guard.lock);
}

pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
	pid_t r;

	if (pid_guard_stale("waitpid", pid)) {
		errno = ECHILD;
		return -1;
	}
	r = __real_waitpid(pid, status, options);
	if (r > 0)
		pid_guard_record(r);
	return r;
}

int __wrap_waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int r;

	if (idtype == P_PID && pid_guard_stale("waitid", (pid_t)id)) {
		errno = ECHILD;
		return -1;
	}
	r = __real_waitid(idtype, id, info, options);
	if (r == 0 && info->si_pid > 0 && (options & WEXITED) && !(options & WNOWAIT))
		pid_guard_record(info->si_pid);
	return r;
}

int __wrap_kill(pid_t pid, int sig)
{
	if (pid_guard_stale("kill", pid)) {
		errno = ESRCH;
		return -1;
	}
	return __real_kill(pid, sig);
}

pid_t __wrap_fork(void)
{
	pid_t r = __real_fork();

	if (r > 0) { /* the kernel reused a pid we had reaped: it is live again */
		pthread_mutex_lock(&pid_guard.lock);
		long i = pid_guard_find(r);

		if (i >= 0)
			pid_guard.reaped[i] = pid_guard.reaped[--pid_guard.n];
		pthread_mutex_unlock(&pid_guard.lock);
	}
	return r;
}

/* Starts counting afresh (call at the start of a test). */
static void pid_guard_reset(void)
{
	pthread_mutex_lock(&pid_guard.lock);
	pid_guard.violations = 0;
	pid_guard.first[0] = '\0';
	pthread_mutex_unlock(&pid_guard.lock);
}

/* Violations since the last reset; *what gets the first one. */
static int pid_guard_violations(const char **what)
{
	int n;

	pthread_mutex_lock(&pid_guard.lock);
	n = pid_guard.violations;
	pthread_mutex_unlock(&pid_guard.lock);
	if (what)
		*what = pid_guard.first;
	return n;
}

/* Fails the cmocka test (include cmocka.h first) if a violation happened
 * since the last reset. */
static void pid_guard_assert_clean(void)
{
	const char *what = "";

	if (pid_guard_violations(&what))
		fail_msg("signal or wait aimed at a reaped pid: %s", what);
}

#endif
