/*
 * banger-tui: the terminal UI as a program of its own, exec'd by
 * `banger tui`, so that only it loads curses and the TUI's threads: every
 * other CLI command starts without them. BANGER_CLI names the banger
 * binary that exec'd it (tui_ssh runs it for `vm ssh`).
 */
#include <stdio.h>
#include <string.h>

#include "tui/tui.h"

int main(int argc, char **argv)
{
	struct paths p = {0};
	struct err e;
	int rc = 0;

	if (argc > 1) {
		fprintf(stderr, "usage: banger tui\n");
		return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 2;
	}
	err_clear(&e);
	if (paths_init(&p, &e) < 0 || tui_run(&p, &e) < 0) {
		char msg[ERR_MSG_MAX + 2 * ERR_AUX_MAX];

		err_format(&e, msg, sizeof(msg));
		fprintf(stderr, "banger: %s\n", msg);
		rc = 1;
	}
	paths_free(&p);
	return rc;
}
