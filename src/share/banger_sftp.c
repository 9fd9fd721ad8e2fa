/*
 * banger-sftp: serves one host directory over SFTP on stdin/stdout, jailed
 * (share/share_jail.h). bangerd connects it to `sshfs -o slave` in a guest
 * through the VM's SSH connection.
 *
 *   banger-sftp [--tag TEXT] [--ro] HOSTDIR
 *
 * --tag is not used: it names the session in ps (and for bangerd, which
 * ends the sessions a crashed daemon left).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "share/share_jail.h"

int main(int argc, char **argv)
{
	struct err e;
	int ro = 0, i = 1;

	err_clear(&e);
	if (i + 1 < argc && !strcmp(argv[i], "--tag"))
		i += 2;
	if (i < argc && !strcmp(argv[i], "--ro")) {
		ro = 1;
		i++;
	}
	if (i != argc - 1 || argv[i][0] != '/') {
		fprintf(stderr,
			"usage: banger-sftp [--tag TEXT] [--ro] HOSTDIR (an absolute path)\n");
		return 2;
	}
	share_jail_exec(argv[i], ro, getenv("BANGER_SFTP_SERVER"), &e);
	fprintf(stderr, "banger-sftp: %s%s%s\n", e.msg, e.hint[0] ? "\n  hint: " : "", e.hint);
	return 1;
}
