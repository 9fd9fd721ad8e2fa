/* Unit tests: socket activation (daemon/listen_fds), the sd_listen_fds
 * protocol as systemd speaks it: LISTEN_PID, LISTEN_FDS, descriptor 3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/listen_fds.h"

static char sock_path[108];

/* Puts fd at descriptor 3 (inheritable, as a service manager passes it). */
static void at_fd3(int fd)
{
	if (fd != 3) {
		assert_int_equal(dup2(fd, 3), 3);
		close(fd);
	}
}

static void pass(const char *pid, const char *n)
{
	char me[32];

	snprintf(me, sizeof(me), "%d", (int)getpid());
	setenv("LISTEN_PID", pid ? pid : me, 1);
	setenv("LISTEN_FDS", n, 1);
	setenv("LISTEN_FDNAMES", "bangerd.socket", 1);
}

static int listening_socket(int do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sock_path, sizeof(sock_path), "/tmp/banger-lfd-%d.sock", (int)getpid());
	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void unset_all(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static void takes_a_listening_unix_socket(void **state)
{
	char path[108];
	struct err e;
	int fd;

	(void)state;
	at_fd3(listening_socket(1));
	pass(NULL, "1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), 1);
	assert_int_equal(fd, 3);
	assert_string_equal(path, sock_path);
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC); /* no VMM inherits it */
	assert_true(fcntl(3, F_GETFL) & O_NONBLOCK);
	unset_all();
	close(3);
	unlink(sock_path);
}

static void nothing_passed_or_passed_to_another_pid(void **state)
{
	char path[108] = "";
	struct err e;
	int fd = 7;

	(void)state;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), 0);
	assert_int_equal(fd, -1);
	/* Meant for our parent (a shell that exec'd nothing): not ours, and
	 * not passed on to our children either. */
	pass("1", "1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), 0);
	unset_all();
	pass(NULL, "0");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), 0);
	pass(NULL, "x1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), 0);
}

static void refuses_what_is_no_listening_unix_stream_socket(void **state)
{
	char path[108];
	struct err e;
	int fd;

	(void)state;
	/* A regular file. */
	at_fd3(open("/dev/null", O_RDWR));
	pass(NULL, "1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), -1);
	assert_non_null(strstr(e.msg, "not a listening Unix stream socket"));
	assert_non_null(strstr(e.hint, "ListenStream=%t/banger/bangerd.sock"));
	unset_all();
	close(3);
	/* Bound but not listening. */
	at_fd3(listening_socket(0));
	pass(NULL, "1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), -1);
	close(3);
	unlink(sock_path);
	/* A datagram socket. */
	at_fd3(socket(AF_UNIX, SOCK_DGRAM, 0));
	pass(NULL, "1");
	assert_int_equal(listen_fds_take(&fd, path, sizeof(path), &e), -1);
	close(3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(takes_a_listening_unix_socket),
	    cmocka_unit_test(nothing_passed_or_passed_to_another_pid),
	    cmocka_unit_test(refuses_what_is_no_listening_unix_stream_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
