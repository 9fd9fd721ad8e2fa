/*
 * tui_ssh: hands the terminal to `banger vm ssh NAME` and takes it back.
 * The child is the banger that exec'd banger-tui (BANGER_CLI), else the
 * banger next to banger-tui, so the TUI never needs banger on PATH and
 * runs exactly the CLI the user has.
 */
#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tui/tui_ui.h"

/* Runs argv in the foreground and returns its wait status (-1: could not
 * start). Like system(), the TUI ignores ctrl-C and ctrl-\ meanwhile: they
 * belong to the child. */
static int run_child(char *const argv[])
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	int status = -1;
	pid_t pid;

	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return status;
}

void tui_ssh(struct tui_ui *ui, const char *name)
{
	char exe[PATH_MAX], vmname[TUI_NAME_MAX];
	char *argv[] = {exe, "vm", "ssh", vmname, NULL};
	const char *cli = getenv("BANGER_CLI");
	int status;

	if (cli && cli[0]) {
		snprintf(exe, sizeof(exe), "%s", cli);
	} else {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		if (n <= 0) {
			tui_state_status(ui->s, TUI_STATUS_ERROR,
					 "cannot find the banger binary: %s", strerror(errno));
			return;
		}
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		snprintf(slash ? slash + 1 : exe,
			 sizeof(exe) - (size_t)(slash ? slash + 1 - exe : 0), "banger");
	}
	snprintf(vmname, sizeof(vmname), "%s", name);
	def_prog_mode();
	endwin();
	printf("banger tui: ssh %s (exit the shell to come back)\n", name);
	fflush(stdout);
	status = run_child(argv);
	if (status != 0) {
		/* Leave the child's error on screen until the user has read it. */
		if (status == -1)
			printf("\ncannot start %s: %s.", exe, strerror(errno));
		else if (WIFEXITED(status))
			printf("\nbanger vm ssh %s exited with status %d.", name,
			       WEXITSTATUS(status));
		else
			printf("\nbanger vm ssh %s ended by signal %d.", name, WTERMSIG(status));
		printf(" Press Enter to return to banger tui.");
		fflush(stdout);
		for (int c = getchar(); c != '\n' && c != EOF; c = getchar())
			;
	}
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
	if (status == 0)
		tui_state_status(ui->s, TUI_STATUS_INFO, "ssh %s: session ended", name);
	else
		tui_state_status(ui->s, TUI_STATUS_ERROR, "ssh %s failed (status %d)", name,
				 status == -1	     ? -1
				 : WIFEXITED(status) ? WEXITSTATUS(status)
						     : 128 + WTERMSIG(status));
}
