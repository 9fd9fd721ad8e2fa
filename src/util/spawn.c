/* spawn: see spawn.h. */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

static const struct {
	const char *prog;
	const char *pkg;
} packages[] = {
    {"mkfs.ext4", "e2fsprogs"},
    {"e2fsck", "e2fsprogs"},
    {"resize2fs", "e2fsprogs"},
    {"debugfs", "e2fsprogs"},
    {"dumpe2fs", "e2fsprogs"},
    {"ip", "iproute2"},
    {"nft", "nftables"},
    {"iptables", "iptables"},
    {"ssh", "openssh-client"},
    {"ssh-keygen", "openssh-client"},
    {"mmdebstrap", "mmdebstrap"},
    {"qemu-system-x86_64", "qemu-system-x86"},
    {"lz4", "lz4"},
    {"cpio", "cpio"},
    {"depmod", "kmod"},
    {"resolvectl", "systemd-resolved"},
    {"truncate", "coreutils"},
};

const char *spawn_package_for(const char *prog)
{
	const char *base = strrchr(prog, '/');

	base = base ? base + 1 : prog;
	for (size_t i = 0; i < sizeof(packages) / sizeof(packages[0]); i++)
		if (strcmp(base, packages[i].prog) == 0)
			return packages[i].pkg;
	return "";
}

char *spawn_which(const char *prog)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? xstrdup(prog) : NULL;
	dirs = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", d, prog);
		struct stat st;

		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			free(dirs);
			return full;
		}
		free(full);
	}
	free(dirs);
	return NULL;
}

static int missing_tool(struct err *e, const char *prog, int errnum)
{
	const char *pkg = spawn_package_for(prog);

	if (errnum != ENOENT)
		return err_errno(e, errnum, "cannot run %s", prog);
	err_set(e, ERR_MISSING_TOOL, "%s not found", prog);
	if (pkg[0])
		err_hint(e, "install it: apt-get install %s", pkg);
	else
		err_hint(e, "install %s and make sure it is in PATH", prog);
	return -1;
}

/* In the child: exec argv, or report errno through errfd and exit 127. */
static void child_exec(const char *const argv[], int errfd)
{
	int errnum;
	sigset_t none;

	/* The daemon blocks signals for its signalfd; children start clean. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Leak no daemon descriptor (sockets, database, logs) into the child. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	execvp(argv[0], (char *const *)argv);
	errnum = errno;
	if (write(errfd, &errnum, sizeof(errnum)) < 0)
		_exit(127);
	_exit(127);
}

/* Reads the exec-error pipe: 0 if exec succeeded, else the errno. */
static int exec_errno(int errfd)
{
	int errnum = 0;
	ssize_t n;

	do
		n = read(errfd, &errnum, sizeof(errnum));
	while (n < 0 && errno == EINTR);
	close(errfd);
	return n == sizeof(errnum) ? errnum : 0;
}

static void keep_tail(char *tail, const char *data, size_t len)
{
	const char *start = data;
	size_t n;

	/* Skip trailing newlines, then keep at most the last SPAWN_TAIL_MAX-1 bytes. */
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= SPAWN_TAIL_MAX)
		start = data + len - (SPAWN_TAIL_MAX - 1);
	n = (size_t)(data + len - start);
	memcpy(tail, start, n);
	tail[n] = '\0';
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* A run stopped through spawn_opts.cancel_fd: SIGTERM to the child's
 * process group, SIGKILL after the grace time, and after that the output is
 * read for at most SPAWN_GIVE_UP_MS more (a descendant that left the group
 * may hold the pipe open). */
#define SPAWN_GIVE_UP_MS 2000

struct cancel {
	int fd; /* the descriptor to watch, -1: none or already fired */
	pid_t pgid;
	long long at; /* mono_ms() of the last step, 0: not cancelled */
	int killed;
};

static int cancel_timeout(const struct cancel *c)
{
	long long left;

	if (!c->at)
		return -1;
	left = c->at + (c->killed ? SPAWN_GIVE_UP_MS : SPAWN_CANCEL_GRACE_MS) - mono_ms();
	return left > 0 ? (int)left : 0;
}

/* Takes the next step of a cancellation; 1 when it is time to stop reading. */
static int cancel_step(struct cancel *c, int fired)
{
	if (fired) {
		kill(-c->pgid, SIGTERM);
		c->fd = -1;
		c->at = mono_ms();
		return 0;
	}
	if (!c->at || cancel_timeout(c) > 0)
		return 0;
	if (c->killed)
		return 1;
	kill(-c->pgid, SIGKILL);
	c->killed = 1;
	c->at = mono_ms();
	return 0;
}

static void pump(int outfd, int infd, const char *in, int logfd, struct buf *all, struct cancel *c)
{
	size_t inlen = in ? strlen(in) : 0, inoff = 0;
	char chunk[8192];

	for (;;) {
		struct pollfd p[3] = {{outfd, POLLIN, 0}, {c->fd, POLLIN, 0}, {infd, POLLOUT, 0}};
		int np = infd >= 0 ? 3 : 2;

		if (poll(p, (nfds_t)np, cancel_timeout(c)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (cancel_step(c, c->fd >= 0 && (p[1].revents & POLLIN)))
			break;
		if (np == 3 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(infd, in + inoff, inlen - inoff);

			if (w > 0)
				inoff += (size_t)w;
			if (w < 0 || inoff >= inlen) {
				close(infd);
				infd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(outfd, chunk, sizeof(chunk));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			buf_append(all, chunk, (size_t)r);
			if (logfd >= 0 && write(logfd, chunk, (size_t)r) < 0)
				logfd = -1;
		}
	}
	if (infd >= 0)
		close(infd);
}

/* 1 if the cancel descriptor already fired (then nothing is started). */
static int cancel_fired(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};

	return fd > 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int spawn_run(const char *const argv[], const struct spawn_opts *opts, struct spawn_result *res,
	      struct err *e)
{
	struct spawn_opts none = {0};
	int outp[2] = {-1, -1}, inp[2] = {-1, -1}, errp[2] = {-1, -1};
	int logfd = -1, errnum, ret = -1;
	struct buf all = BUF_INIT;
	struct cancel c = {-1, 0, 0, 0};
	pid_t pid;

	opts = opts ? opts : &none;
	memset(res, 0, sizeof(*res));
	if (cancel_fired(opts->cancel_fd))
		return err_set(e, ERR_UNAVAILABLE, "%s was not started: cancelled", argv[0]);
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    (opts->stdin_data && pipe2(inp, O_CLOEXEC) < 0)) {
		err_errno(e, errno, "pipe");
		goto out;
	}
	if (opts->log_path) {
		logfd = open(opts->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (logfd < 0) {
			err_errno(e, errno, "open %s", opts->log_path);
			goto out;
		}
	}
	pid = fork();
	if (pid < 0) {
		err_errno(e, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);

		/* Its own process group, so a cancel reaches its descendants and
		 * never the daemon's group. */
		if (opts->cancel_fd > 0)
			setpgid(0, 0);
		dup2(opts->stdin_data ? inp[0] : nullfd, 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		if (opts->cwd && chdir(opts->cwd) < 0) {
			errnum = errno;
			if (write(errp[1], &errnum, sizeof(errnum)) < 0)
				_exit(127);
			_exit(127);
		}
		child_exec(argv, errp[1]);
	}
	if (opts->cancel_fd > 0) {
		setpgid(pid, pid); /* also here: no window before the child's own call */
		c.fd = opts->cancel_fd;
		c.pgid = pid;
	}
	close(outp[1]);
	outp[1] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (inp[0] >= 0) {
		close(inp[0]);
		inp[0] = -1;
	}
	pump(outp[0], inp[1], opts->stdin_data, logfd, &all, &c);
	inp[1] = -1; /* closed by pump */
	if (c.at)
		kill(-pid, SIGKILL); /* whatever is left of a cancelled run */
	res->status = wait_status(pid);
	errnum = exec_errno(errp[0]);
	errp[0] = -1;
	if (errnum) {
		missing_tool(e, argv[0], errnum);
		goto out;
	}
	if (c.at) {
		err_set(e, ERR_UNAVAILABLE, "%s was stopped: cancelled", argv[0]);
		goto out;
	}
	keep_tail(res->tail, buf_str(&all), all.len);
	if (opts->capture)
		res->out = buf_steal(&all);
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (logfd >= 0)
		close(logfd);
	buf_free(&all);
	return ret;
}

/* Last line of a tail, for one-line error messages. */
/* The line of tail that says why the program failed: the last one, unless
 * an earlier one says the disk is full (mkfs, e2fsck and tar report ENOSPC
 * and then end with a line of context such as "while trying to create
 * journal"): a full disk is what the user must hear about. The line ends at
 * the next newline or at the end of tail; *len gets its length. */
static const char *reason_line(const char *tail, int *len)
{
	const char *nl = strrchr(tail, '\n'), *full = strstr(tail, strerror(ENOSPC)), *start;

	if (full) {
		for (start = full; start > tail && start[-1] != '\n'; start--)
			;
		nl = strchr(start, '\n');
		*len = nl ? (int)(nl - start) : (int)strlen(start);
		return start;
	}
	start = nl ? nl + 1 : tail;
	*len = (int)strlen(start);
	return start;
}

static int run_checked(const char *const argv[], const char *log_path, char **out, struct err *e)
{
	struct spawn_opts o = {.log_path = log_path, .capture = out != NULL};
	struct spawn_result r;

	if (spawn_run(argv, &o, &r, e) < 0)
		return -1;
	if (r.status != 0) {
		int len;
		const char *why = reason_line(r.tail, &len);

		err_set(e, ERR_IO, "%s exited with status %d%s%.*s", argv[0], r.status,
			r.tail[0] ? ": " : "", len, why);
		if (log_path)
			err_log(e, log_path);
		free(r.out);
		return -1;
	}
	if (out)
		*out = r.out;
	return 0;
}

int spawn_check(const char *const argv[], const char *log_path, struct err *e)
{
	return run_checked(argv, log_path, NULL, e);
}

int spawn_output(const char *const argv[], const char *log_path, char **out, struct err *e)
{
	return run_checked(argv, log_path, out, e);
}

int spawn_detached(const char *const argv[], const char *out_path, pid_t *pid_out, struct err *e)
{
	int errp[2], outfd, errnum;
	pid_t pid;

	outfd = open(out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (outfd < 0)
		return err_errno(e, errno, "open %s", out_path);
	if (pipe2(errp, O_CLOEXEC) < 0) {
		errnum = errno; /* before close() may change it */
		close(outfd);
		return err_errno(e, errnum, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		errnum = errno;
		close(outfd);
		close(errp[0]);
		close(errp[1]);
		return err_errno(e, errnum, "fork");
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDWR);
		sigset_t none;

		/* Own session: no controlling terminal (SIGHUP kills Firecracker
		 * with 156), and the VMM survives the daemon. */
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(nullfd, 0);
		dup2(outfd, 1);
		dup2(outfd, 2);
		child_exec(argv, errp[1]);
	}
	close(outfd);
	close(errp[1]);
	errnum = exec_errno(errp[0]);
	if (errnum) {
		wait_status(pid);
		return missing_tool(e, argv[0], errnum);
	}
	*pid_out = pid;
	return 0;
}
