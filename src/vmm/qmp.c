/*
 * qmp: QEMU Machine Protocol client (see qmp.h for the protocol facts).
 *
 * Every wait is bounded by a deadline on the monotonic clock; every message
 * sent and received is logged at debug level so a failed start can be
 * replayed from bangerd.log.
 */
#include "vmm/qmp.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/buf.h"

/* Milliseconds left until deadline (never negative); deadline < 0: forever. */
static int qmp_left(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - mono_ms();
	return left > 0 ? (int)left : 0;
}

static long long qmp_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/* Consumes bytes up to and including the next newline, if it is already
 * buffered in the socket; else consumes what is there. Returns the number
 * of bytes consumed into buf (0: peer closed), *done = 1 if a newline ended it. */
static ssize_t qmp_take(int fd, char *buf, size_t room, int *done)
{
	ssize_t n, take;
	char *nl;

	n = recv(fd, buf, room, MSG_PEEK);
	if (n <= 0)
		return n;
	nl = memchr(buf, '\n', (size_t)n);
	take = nl ? nl - buf + 1 : n;
	*done = nl != NULL;
	/* The peek guaranteed take bytes are buffered: this read cannot block. */
	return recv(fd, buf, (size_t)take, 0);
}

int qmp_read_line(int fd, char *buf, size_t len, int timeout_ms, struct err *e)
{
	long long deadline = qmp_deadline(timeout_ms);
	size_t used = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int done = 0, r;
		ssize_t n;

		r = poll(&pfd, 1, qmp_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_errno(e, errno, "QMP poll");
		if (r == 0) {
			if (used == 0)
				return 0;
			return err_set(e, ERR_VMM, "QMP: message cut off after %zu bytes", used);
		}
		if (used + 1 >= len)
			return err_set(e, ERR_VMM, "QMP: message longer than %zu bytes", len);
		n = qmp_take(fd, buf + used, len - 1 - used, &done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "QMP read");
		if (n == 0)
			return err_set(e, ERR_UNAVAILABLE, "QMP: QEMU closed the connection");
		used += (size_t)n;
		if (!done)
			continue;
		while (used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == '\r'))
			used--;
		buf[used] = '\0';
		if (used > 0)
			return (int)used;
	}
}

/* Reads one message and parses it as a JSON object. Returns 1 with *out set,
 * 0 on timeout, -1 on error. */
static int qmp_read_json(int fd, json_t **out, long long deadline, struct logger *lg, struct err *e)
{
	char *line = xmalloc(QMP_MSG_MAX);
	json_error_t jerr;
	int n;

	*out = NULL;
	n = qmp_read_line(fd, line, QMP_MSG_MAX, qmp_left(deadline), e);
	if (n > 0) {
		log_debug(lg, "qmp recv", LF_S("msg", line));
		*out = json_loads(line, 0, &jerr);
		if (!*out || !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			n = err_set(e, ERR_VMM, "QMP: bad message from QEMU: %s", jerr.text);
		}
	}
	free(line);
	return n > 0 ? 1 : n;
}

/* Sends the first bytes of a message with pass_fd attached (SCM_RIGHTS):
 * QEMU's socket chardev keeps the descriptors that come with the bytes it
 * reads, and the command those bytes hold (getfd) takes them. */
static ssize_t qmp_send_with_fd(int fd, const char *text, size_t len, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)text, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c;

	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* Sends text; pass_fd >= 0 goes along with its first bytes. */
static int qmp_send(int fd, const char *text, int pass_fd, struct logger *lg, struct err *e)
{
	size_t len = strlen(text), off = 0;

	log_debug(lg, "qmp send", LF_S("msg", text), LF_I("pass_fd", pass_fd));
	while (off < len) {
		/* MSG_NOSIGNAL: QEMU may have exited; that is an error, not SIGPIPE. */
		ssize_t n = off == 0 && pass_fd >= 0
				? qmp_send_with_fd(fd, text, len, pass_fd)
				: send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "QMP send");
		off += (size_t)n;
	}
	return 0;
}

static int qmp_socket(const char *path, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "QMP socket path too long (%zu bytes, max %zu): %s",
			       strlen(path), sizeof(sa.sun_path) - 1, path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int errnum = errno;

		close(fd);
		err_errno(e, errnum, "connect to QMP socket %s", path);
		if (errnum == ENOENT || errnum == ECONNREFUSED)
			e->code = ERR_UNAVAILABLE;
		return -1;
	}
	return fd;
}

int qmp_connect(const char *path, int timeout_ms, struct logger *lg, struct err *e)
{
	long long deadline = qmp_deadline(timeout_ms);
	json_t *greeting = NULL;
	int fd, r;

	fd = qmp_socket(path, e);
	if (fd < 0)
		return -1;
	r = qmp_read_json(fd, &greeting, deadline, lg, e);
	if (r == 0)
		err_set(e, ERR_UNAVAILABLE,
			"QMP socket %s: no greeting within %d ms (is another "
			"client connected?)",
			path, timeout_ms);
	if (r == 1 && !json_object_get(greeting, "QMP"))
		r = err_set(e, ERR_VMM, "QMP socket %s: unexpected greeting", path);
	json_decref(greeting);
	if (r != 1 ||
	    qmp_execute(fd, "qmp_capabilities", NULL, NULL, qmp_left(deadline), lg, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int qmp_reply_error(json_t *msg, const char *cmd, struct err *e)
{
	json_t *error = json_object_get(msg, "error");
	const char *cls = json_string_value(json_object_get(error, "class"));
	const char *desc = json_string_value(json_object_get(error, "desc"));

	return err_set(e, ERR_VMM, "QEMU refused %s: %s (%s)", cmd, desc ? desc : "no description",
		       cls ? cls : "unknown class");
}

int qmp_execute(int fd, const char *cmd, json_t *args, json_t **ret, int timeout_ms,
		struct logger *lg, struct err *e)
{
	return qmp_execute_fd(fd, cmd, args, -1, ret, timeout_ms, lg, e);
}

int qmp_execute_fd(int fd, const char *cmd, json_t *args, int pass_fd, json_t **ret, int timeout_ms,
		   struct logger *lg, struct err *e)
{
	long long deadline = qmp_deadline(timeout_ms);
	json_t *req = json_pack("{s:s}", "execute", cmd);
	char *text;
	int r;

	if (args)
		json_object_set(req, "arguments", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	r = text ? 0 : err_set(e, ERR_INTERNAL, "QMP: cannot encode %s", cmd);
	if (r == 0) {
		char *line = xasprintf("%s\n", text);

		r = qmp_send(fd, line, pass_fd, lg, e);
		free(line);
	}
	free(text);
	while (r == 0) {
		json_t *msg;

		r = qmp_read_json(fd, &msg, deadline, lg, e);
		if (r == 0)
			return err_set(e, ERR_VMM, "QEMU did not answer %s within %d ms", cmd,
				       timeout_ms);
		if (r < 0)
			return err_wrap(e, "QMP %s", cmd);
		r = 0;
		if (json_object_get(msg, "return")) {
			if (ret)
				*ret = json_incref(json_object_get(msg, "return"));
			json_decref(msg);
			return 0;
		}
		if (json_object_get(msg, "error"))
			r = qmp_reply_error(msg, cmd, e);
		json_decref(msg); /* an event: already logged at debug */
	}
	return -1;
}

static void qmp_copy(char *dst, size_t n, const char *src)
{
	if (n > 0)
		snprintf(dst, n, "%s", src ? src : "");
}

int qmp_parse_event(const char *msg, char *name, size_t n, char *reason, size_t rn)
{
	json_t *root = json_loads(msg, 0, NULL);
	const char *ev;
	int r = 0;

	if (!root || !json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	ev = json_string_value(json_object_get(root, "event"));
	if (ev) {
		json_t *data = json_object_get(root, "data");

		qmp_copy(name, n, ev);
		qmp_copy(reason, rn, json_string_value(json_object_get(data, "reason")));
		r = 1;
	}
	json_decref(root);
	return r;
}

int qmp_next_event(int fd, char *name, size_t n, char *reason, size_t rn, int timeout_ms,
		   struct err *e)
{
	long long deadline = qmp_deadline(timeout_ms);
	char *line = xmalloc(QMP_MSG_MAX);
	int r;

	for (;;) {
		struct err sub;

		err_clear(&sub);
		r = qmp_read_line(fd, line, QMP_MSG_MAX, qmp_left(deadline), &sub);
		if (r < 0 && sub.code == ERR_UNAVAILABLE) {
			r = QMP_WAIT_CLOSED;
			break;
		}
		if (r < 0) {
			if (e)
				*e = sub;
			break;
		}
		if (r == 0) {
			r = QMP_WAIT_TIMEOUT;
			break;
		}
		r = qmp_parse_event(line, name, n, reason, rn);
		if (r < 0) {
			err_set(e, ERR_VMM, "QMP: bad message from QEMU: %.200s", line);
			break;
		}
		if (r == 1) {
			r = QMP_WAIT_EVENT;
			break;
		}
	}
	free(line);
	return r;
}
