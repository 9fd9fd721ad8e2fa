/* vmm_child: see vmm_child.h. */
#include "vmm/vmm_child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/spawn.h"

/* How often vmm_child_wait looks again when there is no pidfd to poll. */
#define VMM_CHILD_POLL_MS 5

/* What vmm_child_err_tail quotes at most: it must fit in err.msg with the
 * message it follows. */
#define VMM_CHILD_ERR_TAIL_BYTES 1536

void vmm_child_init(struct vmm_child *c, const char *driver, const char *console_log)
{
	memset(c, 0, sizeof(*c));
	c->driver = driver;
	c->console_log = console_log;
	c->start_time = -1;
	c->pidfd = -1;
	c->status = VMM_CHILD_STATUS_UNKNOWN;
}

int vmm_child_mark(struct vmm_child *c, struct err *e)
{
	char stamp[32], *line;
	time_t now = time(NULL);
	struct tm tm;
	ssize_t w;
	int fd, errnum;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	fd = open(c->console_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(e, errno, "open console log %s", c->console_log);
	line = xasprintf("--- banger: %s start %s ---\n", c->driver, stamp);
	w = write(fd, line, strlen(line));
	errnum = w < 0 ? errno : ENOSPC; /* a short write to a file: the disk is full */
	if (w != (ssize_t)strlen(line)) {
		free(line);
		close(fd);
		return err_errno(e, errnum, "write console log %s", c->console_log);
	}
	free(line);
	c->console_off = lseek(fd, 0, SEEK_END);
	close(fd);
	return 0;
}

int vmm_child_spawn(struct vmm_child *c, const char *const argv[], struct err *e)
{
	if (spawn_detached(argv, c->console_log, &c->pid, e) < 0) {
		c->pid = 0;
		return -1;
	}
	/* Right after the fork, before anything could reap it: the pidfd
	 * names this process for good. -1 where pidfd_open is missing (old
	 * kernels, valgrind); the reaped flag alone then guards the pid. */
	c->pidfd = proc_pidfd(c->pid);
	c->start_time = proc_start_time(c->pid);
	return 0;
}

/* A waitid() result as the wait status waitpid() would have given. */
static int vmm_child_wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/* Reaps the process if it has exited (or, with block, once it exits).
 * Returns 1 when reaped, 0 while it runs. Through the pidfd when there is
 * one: waitid(P_PIDFD) can only ever reap this very process. An error
 * (ECHILD) means someone else reaped it: the pid may already name another
 * process, so it is marked reaped, status unknown, and never touched again. */
static int vmm_child_reap(struct vmm_child *c, int block)
{
	int opts = block ? 0 : WNOHANG, st = VMM_CHILD_STATUS_UNKNOWN, r;
	siginfo_t si;

	if (c->pid <= 0 || c->reaped)
		return 1;
	memset(&si, 0, sizeof(si));
	if (c->pidfd >= 0) {
		while ((r = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | opts)) < 0 &&
		       errno == EINTR)
			;
		if (r == 0 && si.si_pid == 0)
			return 0;
		if (r == 0)
			st = vmm_child_wait_status(&si);
	} else {
		pid_t w;

		while ((w = waitpid(c->pid, &st, opts)) < 0 && errno == EINTR)
			;
		if (w == 0)
			return 0;
		if (w < 0)
			st = VMM_CHILD_STATUS_UNKNOWN;
	}
	c->reaped = 1;
	c->status = st;
	return 1;
}

int vmm_child_exited(struct vmm_child *c)
{
	return vmm_child_reap(c, 0);
}

int vmm_child_wait(struct vmm_child *c, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;

	for (;;) {
		long long left;

		if (vmm_child_exited(c))
			return 1;
		left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		if (c->pidfd >= 0) /* readable once the process has exited */
			poll(&(struct pollfd){.fd = c->pidfd, .events = POLLIN}, 1, (int)left);
		else
			usleep((useconds_t)(left < VMM_CHILD_POLL_MS ? left : VMM_CHILD_POLL_MS) *
			       1000);
	}
}

/* SIGKILL to a child that vmm_child_reap has just found running. Through
 * the pidfd when there is one (an error then means the process is gone,
 * and its pid must not be tried); else by pid, which is safe only because
 * our unreaped child still holds it. */
static void vmm_child_sigkill(const struct vmm_child *c)
{
	if (c->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	else
		kill(c->pid, SIGKILL);
}

int vmm_child_end(struct vmm_child *c, int grace_ms)
{
	if (c->pid <= 0)
		return 0;
	if (vmm_child_wait(c, grace_ms > 0 ? grace_ms : 0))
		return 1;
	vmm_child_sigkill(c);
	vmm_child_reap(c, 1);
	return 0;
}

void vmm_child_done(struct vmm_child *c)
{
	if (!c)
		return;
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
}

void vmm_child_describe(int status, char *out, size_t len)
{
	if (status == VMM_CHILD_STATUS_UNKNOWN)
		snprintf(out, len, "ended (its exit status is unknown)");
	else if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "ended with wait status %#x", status);
}

/* Reads what the console log got since the marker, at most len - 1 bytes
 * from its end, into out. *clipped: the window starts mid-file. */
static ssize_t vmm_child_read_tail(const struct vmm_child *c, char *out, size_t len, int *clipped)
{
	off_t from = c->console_off;
	struct stat st;
	ssize_t got;
	int fd = open(c->console_log, O_RDONLY | O_CLOEXEC);

	*clipped = 0;
	if (fd < 0 || len < 2) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fstat(fd, &st) == 0 && st.st_size - from > (off_t)len - 1) {
		from = st.st_size - (off_t)len + 1;
		*clipped = 1;
	}
	got = pread(fd, out, len - 1, from);
	close(fd);
	return got;
}

size_t vmm_child_tail(const struct vmm_child *c, int max_lines, char *out, size_t len)
{
	ssize_t got;
	size_t n;
	char *p, *first = out;
	int clipped, lines = 0;

	if (!len)
		return 0;
	got = vmm_child_read_tail(c, out, len, &clipped);
	n = got > 0 ? (size_t)got : 0;
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	/* A window that starts mid-file starts mid-line: drop that fragment. */
	if (clipped && (p = strchr(out, '\n')))
		first = p + 1;
	else if (clipped)
		first = out + n;
	for (p = out + n; p > first; p--)
		if (p[-1] == '\n' && ++lines == max_lines)
			break;
	n = strlen(p);
	memmove(out, p, n + 1);
	return n;
}

void vmm_child_err_tail(const struct vmm_child *c, int max_lines, struct err *e)
{
	char tail[VMM_CHILD_ERR_TAIL_BYTES + 1];
	size_t used;

	if (!e)
		return;
	err_log(e, c->console_log);
	if (!vmm_child_tail(c, max_lines, tail, sizeof(tail)))
		return;
	used = strlen(e->msg);
	snprintf(e->msg + used, sizeof(e->msg) - used, "\nlast lines of %s:", c->console_log);
	for (char *save = NULL, *l = strtok_r(tail, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		used = strlen(e->msg);
		snprintf(e->msg + used, sizeof(e->msg) - used, "\n  %s", l);
	}
}
