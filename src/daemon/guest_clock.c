/* guest_clock: see guest_clock.h. */
#include "daemon/guest_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/guest_ssh.h"
#include "util/buf.h"
#include "util/log.h"

/* Prints the guest's time, then sets it from the line the host sends. */
#define CLOCK_SCRIPT "date +%s.%N; read t && date -u -s \"@$t\" >/dev/null && echo set"

static long long real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads from fd into b until it holds n lines or the deadline passes. */
static int read_lines(int fd, struct buf *b, int n, long long deadline)
{
	for (;;) {
		int have = 0;
		char tmp[256];
		ssize_t r;
		struct pollfd p = {fd, POLLIN, 0};
		long long left = deadline - mono_ms();

		for (size_t i = 0; i < b->len; i++)
			have += b->data[i] == '\n';
		if (have >= n)
			return 0;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, tmp, sizeof(tmp));
		if (r <= 0)
			return -1;
		buf_append(b, tmp, (size_t)r);
	}
}

/* 1 once something accepts TCP on addr:22, trying until deadline: a
 * resumed guest's sshd is already up, so a short wait tells a guest from
 * none, without ssh's own connect timeout. */
static int port_open(const char *addr, long long deadline)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(22)};

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 0;
	while (mono_ms() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), ok = 0;
		struct pollfd p = {fd, POLLOUT, 0};

		if (fd < 0)
			return 0;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			ok = 1;
		} else if (errno == EINPROGRESS && poll(&p, 1, 300) == 1) {
			int err = 0;
			socklen_t len = sizeof(err);

			ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
		}
		close(fd);
		if (ok)
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

int guest_clock_set(const char *addr, const char *key, const char *known_hosts, int timeout_ms,
		    long long *skew_ms, struct err *e)
{
	struct guest_ssh g;
	long long deadline = mono_ms() + timeout_ms;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, status = 0, ret = -1;
	struct buf b = BUF_INIT;
	pid_t pid = -1;

	*skew_ms = 0;
	guest_ssh_argv(&g, addr, key, known_hosts, NULL, CLOCK_SCRIPT);
	if (!port_open(addr, mono_ms() + (timeout_ms < 3000 ? timeout_ms : 3000))) {
		err_set(e, ERR_UNAVAILABLE, "nothing answers on %s port 22", addr);
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		err_errno(e, errno, "pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err_errno(e, errno, "fork");
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(out[1], 1);
		if (null >= 0)
			dup2(null, 2);
		setsid(); /* no controlling terminal: ssh must not prompt */
		execvp("ssh", (char *const *)g.argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (read_lines(out[0], &b, 1, deadline) < 0) {
		err_set(e, ERR_UNAVAILABLE, "ssh to %s gave no answer within %d s", addr,
			timeout_ms / 1000);
		goto out;
	}
	{
		long long now = real_ns();
		double guest = strtod(buf_str(&b), NULL);
		char line[64];
		int n;

		*skew_ms = now / 1000000 - (long long)(guest * 1000.0);
		n = snprintf(line, sizeof(line), "%lld.%09lld\n", now / 1000000000LL,
			     now % 1000000000LL);
		if (write(in[1], line, (size_t)n) != n) {
			err_errno(e, errno, "write to ssh");
			goto out;
		}
	}
	if (read_lines(out[0], &b, 2, deadline) < 0 || !strstr(buf_str(&b), "\nset")) {
		err_set(e, ERR_VMM, "the guest did not set its clock (it answered \"%s\")",
			ERR_Q(buf_str(&b)));
		goto out;
	}
	ret = 0;
out:
	if (in[1] >= 0)
		close(in[1]);
	if (pid > 0) {
		for (long long end = mono_ms() + 2000; waitpid(pid, &status, WNOHANG) == 0;) {
			if (mono_ms() > end || ret < 0) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			usleep(10 * 1000);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	buf_free(&b);
	guest_ssh_free(&g);
	return ret;
}
