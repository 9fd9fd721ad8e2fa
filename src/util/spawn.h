/*
 * spawn: run host commands from argv arrays (never a shell string).
 *
 * Output (stdout and stderr, merged) is appended to a log file when one is
 * given, and its last lines are kept for error messages. A program that is not
 * installed gives ERR_MISSING_TOOL with the Debian package that provides it.
 */
#ifndef BANGER_UTIL_SPAWN_H
#define BANGER_UTIL_SPAWN_H

#include <sys/types.h>

#include "util/err.h"

#define SPAWN_TAIL_MAX 1024

struct spawn_opts {
	const char *log_path;	/* append merged output here (NULL: discard) */
	const char *cwd;	/* NULL: inherit */
	const char *stdin_data; /* fed to the child's stdin (NULL: /dev/null) */
	int capture;		/* keep the whole output in spawn_result.out */
	/* > 0: a descriptor that becomes readable to stop the run (0: none).
	 * The child then runs in its own process group, which gets SIGTERM
	 * and, SPAWN_CANCEL_GRACE_MS later, SIGKILL; the run fails with
	 * ERR_UNAVAILABLE, and does not start if the descriptor already fired. */
	int cancel_fd;
};

#define SPAWN_CANCEL_GRACE_MS 5000

struct spawn_result {
	int status;		   /* exit code, or 128+signal */
	char tail[SPAWN_TAIL_MAX]; /* last lines of output */
	char *out;		   /* whole output when opts.capture (free()) */
};

/* Runs argv[0] (searched in PATH) to completion. Returns 0 when the program
 * ran (check res->status) and -1 when it could not be started. */
int spawn_run(const char *const argv[], const struct spawn_opts *opts, struct spawn_result *res,
	      struct err *e);

/* spawn_run plus: a non-zero exit is an error "NAME exited with status N: TAIL". */
int spawn_check(const char *const argv[], const char *log_path, struct err *e);

/* Like spawn_check, returning the program's stdout+stderr in *out (free()). */
int spawn_output(const char *const argv[], const char *log_path, char **out, struct err *e);

/* Starts argv in its own session (so it outlives us), stdin from /dev/null,
 * stdout and stderr appended to out_path. It stays our child: waitpid() works
 * while we live. Returns -1 if it could not be executed. */
int spawn_detached(const char *const argv[], const char *out_path, pid_t *pid, struct err *e);

/* Looks up a program the way exec would. Returns a malloc'd path or NULL. */
char *spawn_which(const char *prog);

/* The Debian package that ships prog, for hints ("" if unknown). */
const char *spawn_package_for(const char *prog);

#endif
