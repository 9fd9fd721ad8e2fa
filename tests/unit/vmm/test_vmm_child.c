/*
 * Tests of vmm_child, the process handling both drivers share: the console
 * marker and tail, spawning in its own session with the console log as
 * stdout/stderr, waiting, and ending a VMM that is still ours. VMM
 * stand-ins are small shell scripts. pid_guard.h (this executable is linked
 * with --wrap) fails a test that signals or waits for a pid already reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pid_guard.h"
#include "util/fs.h"
#include "util/log.h"
#include "vmm/vmm_child.h"

struct fixture {
	char dir[64];
	char console[128];
	char bin[128];
	struct vmm_child child;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/vmmchild-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->console, sizeof(f->console), "%s/firecracker.log", f->dir);
	snprintf(f->bin, sizeof(f->bin), "%s/vmm", f->dir);
	vmm_child_init(&f->child, "qemu", f->console);
	pid_guard_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmm_child_end(&f->child, 0);
	vmm_child_done(&f->child);
	fs_rm_rf(f->dir, NULL);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, int flags, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *read_text(const char *path)
{
	char *out = NULL;

	assert_int_equal(fs_read(path, 1 << 20, &out, NULL, NULL), 0);
	return out;
}

/* Writes the stand-in VMM script and spawns it (marker first). */
static void spawn_script(struct fixture *f, const char *body)
{
	char script[1024];
	const char *argv[] = {f->bin, NULL};
	struct err e = {0};

	snprintf(script, sizeof(script), "#!/bin/sh\n%s\n", body);
	write_text(f->bin, script, O_TRUNC, 0755);
	assert_int_equal(vmm_child_mark(&f->child, &e), 0);
	assert_int_equal(vmm_child_spawn(&f->child, argv, &e), 0);
	assert_true(f->child.pid > 0);
}

/* No zombie and no other child of ours is left. */
static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- console marker and tail -------------------------------------------- */

static void test_marker_appends_and_tail_starts_after_it(void **state)
{
	struct fixture *f = *state;
	char tail[256], *log;
	struct err e = {0};
	struct stat st;

	write_text(f->console, "earlier boot\n", O_TRUNC, 0600);
	assert_int_equal(vmm_child_mark(&f->child, &e), 0);
	log = read_text(f->console);
	assert_non_null(strstr(log, "earlier boot\n--- banger: qemu start 20"));
	assert_int_equal(strcmp(log + strlen(log) - 5, " ---\n"), 0);
	free(log);
	assert_int_equal(stat(f->console, &st), 0);
	assert_int_equal(f->child.console_off, st.st_size);

	/* Nothing since the marker: no lines, not the earlier boot's. */
	assert_int_equal(vmm_child_tail(&f->child, 10, tail, sizeof(tail)), 0);
	assert_string_equal(tail, "");

	write_text(f->console, "one\ntwo\nthree\n\n", O_APPEND, 0600);
	assert_int_equal(vmm_child_tail(&f->child, 10, tail, sizeof(tail)), 13);
	assert_string_equal(tail, "one\ntwo\nthree");
	vmm_child_tail(&f->child, 2, tail, sizeof(tail));
	assert_string_equal(tail, "two\nthree");
}

/* A window smaller than the output starts mid-line: that fragment goes. */
static void test_tail_window_keeps_whole_lines(void **state)
{
	struct fixture *f = *state;
	char tail[64], line[32];
	struct err e = {0};
	int n = 0;

	assert_int_equal(vmm_child_mark(&f->child, &e), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %03d\n", i);
		write_text(f->console, line, O_APPEND, 0600);
	}
	vmm_child_tail(&f->child, 100, tail, sizeof(tail));
	for (char *save = NULL, *l = strtok_r(tail, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save), n++) {
		int num;

		assert_int_equal(strlen(l), 8);
		assert_int_equal(sscanf(l, "line %d", &num), 1);
		snprintf(line, sizeof(line), "line %03d", num);
		assert_string_equal(l, line);
	}
	assert_true(n >= 5);
	assert_string_equal(line, "line 099");
}

static void test_err_tail_names_the_log(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	char want[512];

	assert_int_equal(vmm_child_mark(&f->child, &e), 0);
	err_set(&e, ERR_VMM, "boom");
	vmm_child_err_tail(&f->child, 3, &e);
	assert_string_equal(e.msg, "boom"); /* no output: nothing to quote */
	assert_string_equal(e.log, f->console);

	write_text(f->console, "a\nb\nc\nd\n", O_APPEND, 0600);
	vmm_child_err_tail(&f->child, 3, &e);
	snprintf(want, sizeof(want), "boom\nlast lines of %s:\n  b\n  c\n  d", f->console);
	assert_string_equal(e.msg, want);
	vmm_child_err_tail(&f->child, 3, NULL); /* accepted */
}

static void test_marker_unwritable_log(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};

	snprintf(f->console, sizeof(f->console), "%s/no-such-dir/firecracker.log", f->dir);
	assert_int_equal(vmm_child_mark(&f->child, &e), -1);
	assert_non_null(strstr(e.msg, "open console log "));
	assert_non_null(strstr(e.msg, f->console));
}

/* ---- spawning and ending ------------------------------------------------ */

/* Its own session, stdin /dev/null, stdout and stderr into the console
 * log; killed when it does not exit, and reaped. */
static void test_spawn_session_and_stdio_then_kill(void **state)
{
	struct fixture *f = *state;
	char path[64], target[256], how[128];
	char *log = NULL;
	pid_t pid;
	ssize_t n;

	spawn_script(f, "echo 'to stdout'\necho 'to stderr' >&2\nexec sleep 60");
	pid = f->child.pid;
	assert_true(f->child.start_time > 0);
	for (int i = 0; i < 2000; i++) { /* until the script has written */
		free(log);
		log = read_text(f->console);
		if (strstr(log, "to stderr"))
			break;
		usleep(5000);
	}
	assert_non_null(strstr(log, " ---\nto stdout\nto stderr\n"));
	free(log);
	assert_int_equal(getsid(pid), pid);
	for (int fd = 0; fd <= 2; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, fd == 0 ? "/dev/null" : f->console);
	}
	assert_int_equal(vmm_child_exited(&f->child), 0);
	assert_int_equal(vmm_child_wait(&f->child, 20), 0);

	assert_int_equal(vmm_child_end(&f->child, 0), 0); /* had to be killed */
	assert_true(f->child.reaped);
	assert_true(WIFSIGNALED(f->child.status) && WTERMSIG(f->child.status) == SIGKILL);
	vmm_child_describe(f->child.status, how, sizeof(how));
	assert_string_equal(how, "was killed by signal 9 (Killed)");
	assert_int_equal(vmm_child_end(&f->child, 0), 1); /* again: nothing sent */
	assert_no_children();
	pid_guard_assert_clean();
}

/* A VMM that exits during start: reaped once, its status kept, and never
 * signalled or waited for again, however often the start path ends it. */
static void exits_early(struct fixture *f, int drop_pidfd)
{
	char how[128];

	spawn_script(f, "echo 'vmm: cannot bind' >&2\nexit 3");
	if (drop_pidfd) { /* as under valgrind or an old kernel */
		close(f->child.pidfd);
		f->child.pidfd = -1;
	}
	assert_int_equal(vmm_child_wait(&f->child, 60000), 1);
	assert_true(f->child.reaped);
	assert_true(WIFEXITED(f->child.status));
	assert_int_equal(WEXITSTATUS(f->child.status), 3);
	assert_int_equal(vmm_child_exited(&f->child), 1);
	assert_int_equal(vmm_child_end(&f->child, 1000), 1);
	assert_int_equal(vmm_child_end(&f->child, 0), 1);
	vmm_child_describe(f->child.status, how, sizeof(how));
	assert_string_equal(how, "exited with status 3");
	assert_no_children();
	pid_guard_assert_clean();
}

static void test_early_exit_reaped_once(void **state)
{
	exits_early(*state, 0);
}

static void test_early_exit_reaped_once_without_pidfd(void **state)
{
	exits_early(*state, 1);
}

/* Someone else reaped our VMM: its pid may be anyone's now, so it is not
 * signalled, and the status is unknown. */
static void test_reaped_elsewhere_is_left_alone(void **state)
{
	struct fixture *f = *state;
	char how[128];
	int st;

	spawn_script(f, "exit 0");
	assert_int_equal(waitpid(f->child.pid, &st, 0), f->child.pid);
	assert_int_equal(vmm_child_end(&f->child, 0), 1);
	assert_int_equal(f->child.status, VMM_CHILD_STATUS_UNKNOWN);
	vmm_child_describe(f->child.status, how, sizeof(how));
	assert_string_equal(how, "ended (its exit status is unknown)");
	pid_guard_assert_clean();
}

static void test_missing_binary(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"/nonexistent/banger-vmm", NULL};
	struct err e = {0};

	assert_int_equal(vmm_child_spawn(&f->child, argv, &e), -1);
	assert_int_equal(e.code, ERR_MISSING_TOOL);
	assert_int_equal(f->child.pid, 0);
	assert_int_equal(f->child.pidfd, -1);
	assert_int_equal(vmm_child_end(&f->child, 0), 0);
	assert_no_children();
	pid_guard_assert_clean();
}

static void test_describe(void **state)
{
	char how[128];

	(void)state;
	vmm_child_describe(0, how, sizeof(how));
	assert_string_equal(how, "exited with status 0");
	vmm_child_describe(6, how, sizeof(how)); /* SIGABRT */
	assert_string_equal(how, "was killed by signal 6 (Aborted)");
	vmm_child_describe(0x137f, how, sizeof(how)); /* stopped: neither */
	assert_string_equal(how, "ended with wait status 0x137f");
	vmm_child_done(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_marker_appends_and_tail_starts_after_it),
	    T(test_tail_window_keeps_whole_lines),
	    T(test_err_tail_names_the_log),
	    T(test_marker_unwritable_log),
	    T(test_spawn_session_and_stdio_then_kill),
	    T(test_early_exit_reaped_once),
	    T(test_early_exit_reaped_once_without_pidfd),
	    T(test_reaped_elsewhere_is_left_alone),
	    T(test_missing_binary),
	    cmocka_unit_test(test_describe),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
