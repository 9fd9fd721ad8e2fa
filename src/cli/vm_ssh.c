/* vm_ssh: see vm_ssh.h. */
#include "cli/vm_ssh.h"
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"

/* 1 when something accepts TCP connections on addr:22. */
static int port_open(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(22)};
	struct pollfd p;
	int fd, ok = 0;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		ok = 1;
	} else if (errno == EINPROGRESS) {
		int err = 0;
		socklen_t len = sizeof(err);

		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
			ok = err == 0;
	}
	close(fd);
	return ok;
}

/* 'a' 'b c' 'it'\''s': POSIX single quoting, safe for any content. */
static char *quote_args(int argc, char **argv)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < argc; i++) {
		if (i)
			buf_putc(&b, ' ');
		buf_putc(&b, '\'');
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				buf_puts(&b, "'\\''");
			else
				buf_putc(&b, *p);
		}
		buf_putc(&b, '\'');
	}
	return buf_steal(&b);
}

/* The guest path that matches this directory, when it is inside one of
 * the VM's shares (the deepest): `vm ssh` from a shared project opens the
 * guest shell there, as limactl shell does. malloc'd, or NULL. */
static char *share_cwd(json_t *vm)
{
	char cwd[PATH_MAX];
	json_t *m, *best = NULL;
	size_t i, best_len = 0;

	if (!realpath(".", cwd))
		return NULL;
	json_array_foreach(json_object_get(vm, "mounts"), i, m)
	{
		const char *host = cli_str(m, "host");
		size_t n = strlen(host);

		if (n && !strncmp(cwd, host, n) && (cwd[n] == '/' || cwd[n] == '\0' || n == 1) &&
		    n > best_len) {
			best = m;
			best_len = n;
		}
	}
	if (!best)
		return NULL;
	return xasprintf("%s%s%s", cli_str(best, "guest"), best_len == 1 && cwd[1] ? "/" : "",
			 cwd + (best_len == 1 ? 1 : best_len));
}

int vm_ssh_exec(json_t *vm, json_t *st, int argc, char **argv, struct err *e)
{
	const char *addr = cli_str(vm, "address"), *name = cli_str(vm, "name");
	char *uk, *kh, *dest, *cmdline = NULL, *cmd = NULL, *gcwd;
	const char **args;
	long long deadline;
	int n = 0, waited = 0;
	const char *tmo = getenv("BANGER_SSH_WAIT");

	/* A starting VM (vm create --no-wait) is waited for below, on its port. */
	if (cli_vm_state(vm) != VM_STATE_RUNNING && cli_vm_state(vm) != VM_STATE_STARTING) {
		err_set(e, ERR_BAD_STATE, "vm ssh %s: the VM is %s", name, cli_str(vm, "state"));
		err_hint(e, "start it with `banger vm start %s`", name);
		return -1;
	}
	if (!addr[0]) {
		err_set(e, ERR_BAD_STATE, "vm ssh %s: the VM has no network address", name);
		err_hint(e, "networking is off; see `banger daemon status`");
		return -1;
	}
	deadline = mono_ms() + (tmo ? atoll(tmo) : 180) * 1000;
	while (!port_open(addr)) {
		if (mono_ms() > deadline) {
			err_set(e, ERR_UNAVAILABLE, "vm ssh %s: nothing answers on %s port 22",
				name, addr);
			err_log(e, cli_str(vm, "console_log"));
			err_hint(
			    e,
			    "the guest may still be booting or sshd failed; check the console log");
			return -1;
		}
		if (!waited++)
			fprintf(stderr, "waiting for %s to accept SSH on %s...\n", name, addr);
		nanosleep(&(struct timespec){0, 250 * 1000 * 1000}, NULL);
	}
	uk = xasprintf("IdentityFile=%s", cli_str(st, "ssh_key"));
	kh = xasprintf("UserKnownHostsFile=%s", cli_str(st, "known_hosts"));
	dest = xasprintf("root@%s", addr);
	args = xcalloc((size_t)argc + 24, sizeof(char *));
	args[n++] = "ssh";
	args[n++] = "-o";
	args[n++] = uk;
	args[n++] = "-o";
	args[n++] = kh;
	args[n++] = "-o";
	args[n++] = "StrictHostKeyChecking=yes";
	args[n++] = "-o";
	args[n++] = "IdentitiesOnly=yes";
	args[n++] = "-o";
	args[n++] = "GlobalKnownHostsFile=/dev/null";
	args[n++] = "-o";
	args[n++] = "LogLevel=ERROR";
	gcwd = share_cwd(vm);
	if (gcwd && argc == 0 && isatty(0) && isatty(1))
		args[n++] = "-t"; /* a command line below: ask for the terminal */
	args[n++] = dest;
	if (argc > 0 || gcwd)
		args[n++] = "--";
	if (argc == 1) {
		/* One word: the guest's shell runs it as written ("ls | wc -l"). */
		cmd = xstrdup(argv[0]);
	} else if (argc > 1) {
		/* Several words: each stays one argument, like `docker exec`;
		 * ssh would otherwise join them and let the remote shell re-split. */
		cmd = quote_args(argc, argv);
	}
	if (gcwd) {
		/* Start where this directory is in the guest; if the share is not
		 * mounted, say so and start in root's home. */
		char *q = quote_args(1, &gcwd);

		cmdline = xasprintf("cd %s 2>/dev/null || printf 'banger: %%s is not in the guest "
				    "(is the share mounted? banger vm show %s)\\n' %s >&2; %s",
				    q, name, q, cmd ? cmd : "exec \"${SHELL:-/bin/sh}\" -l");
		free(q);
		args[n++] = cmdline;
	} else if (cmd) {
		cmdline = cmd;
		cmd = NULL;
		args[n++] = cmdline;
	}
	args[n] = NULL;
	fflush(NULL);
	execvp("ssh", (char *const *)args);
	err_errno(e, errno, "vm ssh %s: run ssh", name);
	if (errno == ENOENT)
		err_hint(e, "install it: apt-get install openssh-client");
	free(uk);
	free(kh);
	free(dest);
	free(args);
	free(cmdline);
	free(cmd);
	free(gcwd);
	return -1;
}

void vm_ssh_config_block(json_t *vm, json_t *st)
{
	const char *name = cli_str(vm, "name");

	printf("Host %s %s.vm\n", name, name);
	printf("    HostName %s\n", cli_str(vm, "address")[0] ? cli_str(vm, "address") : name);
	printf("    User root\n");
	printf("    IdentityFile %s\n", cli_str(st, "ssh_key"));
	printf("    IdentitiesOnly yes\n");
	printf("    UserKnownHostsFile %s\n", cli_str(st, "known_hosts"));
	printf("    StrictHostKeyChecking yes\n\n");
}
