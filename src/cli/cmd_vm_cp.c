/*
 * cmd_vm_cp: `banger vm cp [-r] SRC... DST`, with NAME:PATH naming a path
 * in a VM (as docker cp and scp do), copied by scp over banger's own key
 * and known_hosts. Copies go between the host and one VM; a local path
 * with a colon is written ./a:b.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/buf.h"

/* A VM path "NAME:PATH": NAME is a VM name (a-z, 0-9, '-'), before any '/'. */
static int vm_side(const char *arg, char *name, size_t len, const char **path)
{
	const char *colon = strchr(arg, ':');
	size_t n;

	if (!colon || colon == arg)
		return 0;
	n = (size_t)(colon - arg);
	for (const char *p = arg; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	if (n >= len)
		return 0;
	memcpy(name, arg, n);
	name[n] = '\0';
	*path = colon[1] ? colon + 1 : "."; /* "calm-otter:" is root's home */
	return 1;
}

/* Runs scp; its progress meter goes to the terminal, its errors into err. */
static int run_scp(const char *const *argv, struct buf *err, int *status)
{
	int p[2];
	pid_t pid;
	char tmp[512];
	ssize_t r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 2);
		execvp("scp", (char *const *)argv);
		dprintf(2, "banger-exec-failed %d\n", errno);
		_exit(127);
	}
	close(p[1]);
	while ((r = read(p[0], tmp, sizeof(tmp))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			buf_append(err, tmp, (size_t)r);
	close(p[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* Bytes under a local path (a tree counted whole). */
static long long local_bytes(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return st.st_size;
	{
		const char *argv[] = {"du", "-sb", "--", path, NULL};
		char line[128] = "";
		int p[2];
		pid_t pid;
		long long n = 0;

		if (pipe2(p, O_CLOEXEC) < 0)
			return 0;
		if ((pid = fork()) == 0) {
			dup2(p[1], 1);
			execvp("du", (char *const *)argv);
			_exit(127);
		}
		close(p[1]);
		if (pid > 0 && read(p[0], line, sizeof(line) - 1) > 0)
			n = atoll(line);
		close(p[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return n;
	}
}

/* After an upload failed: "full" when the guest has less room at dst than
 * the copy needed (sftp reports ENOSPC only as "Failure"). */
static int guest_full(const char **ssh_opts, const char *dest, const char *dst, long long need)
{
	struct buf cmd = BUF_INIT;
	const char *argv[20];
	char out[128] = "";
	int n = 0, p[2], full = 0;
	pid_t pid;

	/* The directory the copy went to: dst itself, or its parent. */
	buf_printf(&cmd,
		   "d='%s'; [ -d \"$d\" ] || d=$(dirname -- \"$d\"); "
		   "df -P -B1 -- \"$d\" | awk 'NR==2{print $4}'",
		   dst);
	argv[n++] = "ssh";
	for (const char **o = ssh_opts; *o; o++)
		argv[n++] = *o;
	argv[n++] = dest;
	argv[n++] = "--";
	argv[n++] = buf_str(&cmd);
	argv[n] = NULL;
	if (strchr(dst, '\'') || pipe2(p, O_CLOEXEC) < 0) {
		buf_free(&cmd);
		return 0;
	}
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp("ssh", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], out, sizeof(out) - 1) > 0)
		full = atoll(out) < need + (1 << 20);
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	buf_free(&cmd);
	return full;
}

static int cmd_cp(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct err *e)
{
	const char *args[64], *ssh_opts[16], *vmpath = NULL;
	char vm_name[64] = "", name[64];
	json_t *vm = NULL, *st = NULL;
	struct client *cl;
	struct buf errs = BUF_INIT;
	char *uk = NULL, *kh = NULL, *dest = NULL, **owned = NULL;
	int recursive = 0, nargs = 0, upload, n = 0, no = 0, status = 0, ret = -1;
	const char *paths[32];
	long long need = 0;

	recursive = cli_flag(c, "recursive");
	for (int i = 1; i < argc; i++) {
		if (nargs >= 32)
			return cli_usage_error(cmd, e, "too many paths (32 at most)");
		paths[nargs++] = argv[i];
	}
	if (nargs < 2)
		return cli_usage_error(cmd, e, "give a source and a destination");
	/* The VM is the destination (an upload) or every source (a download). */
	upload = vm_side(paths[nargs - 1], vm_name, sizeof(vm_name), &vmpath);
	for (int i = 0; i < nargs - 1; i++) {
		const char *p;
		int remote = vm_side(paths[i], name, sizeof(name), &p);

		if (upload && remote)
			return cli_usage_error(
			    cmd, e,
			    "copy between the host and one VM: the "
			    "destination is in a VM, so the sources must be on the host");
		if (!upload && !remote)
			return cli_usage_error(cmd, e,
					       "name the VM side as NAME:PATH (e.g. "
					       "calm-otter:/root/file)");
		if (!upload && vm_name[0] && strcmp(name, vm_name) != 0)
			return cli_usage_error(
			    cmd, e, "copy between the host and one VM (%s and %s)", vm_name, name);
		if (!upload)
			snprintf(vm_name, sizeof(vm_name), "%s", name);
	}
	if (upload) {
		for (int i = 0; i < nargs - 1; i++) {
			struct stat sb;

			if (lstat(paths[i], &sb) < 0) {
				err_errno(e, errno, "vm cp: %s", ERR_Q(paths[i]));
				goto out;
			}
			if (S_ISDIR(sb.st_mode) && !recursive) {
				err_set(e, ERR_INVALID, "vm cp: %s is a directory",
					ERR_Q(paths[i]));
				err_hint(e, "add -r to copy a directory tree");
				goto out;
			}
			need += local_bytes(paths[i]);
		}
	}
	if (!(cl = cli_client(c, e)))
		goto out;
	{
		char *p = xasprintf("/v1/vms/%s", vm_name);

		ret = client_call(cl, "GET", p, NULL, &vm, e);
		free(p);
		if (ret < 0 || client_call(cl, "GET", "/v1/daemon", NULL, &st, e) < 0) {
			ret = -1;
			goto out;
		}
		ret = -1;
	}
	if (cli_vm_state(vm) != VM_STATE_RUNNING) {
		err_set(e, ERR_BAD_STATE, "vm cp: %s is %s", vm_name, cli_str(vm, "state"));
		err_hint(e, "start it first: banger vm start %s", vm_name);
		goto out;
	}
	uk = xasprintf("IdentityFile=%s", cli_str(st, "ssh_key"));
	kh = xasprintf("UserKnownHostsFile=%s", cli_str(st, "known_hosts"));
	dest = xasprintf("root@%s", cli_str(vm, "address"));
	ssh_opts[no++] = "-o", ssh_opts[no++] = uk;
	ssh_opts[no++] = "-o", ssh_opts[no++] = kh;
	ssh_opts[no++] = "-o", ssh_opts[no++] = "StrictHostKeyChecking=yes";
	ssh_opts[no++] = "-o", ssh_opts[no++] = "IdentitiesOnly=yes";
	ssh_opts[no++] = "-o", ssh_opts[no++] = "GlobalKnownHostsFile=/dev/null";
	ssh_opts[no++] = "-o", ssh_opts[no++] = "BatchMode=yes";
	ssh_opts[no] = NULL;
	args[n++] = "scp";
	for (int i = 0; i < no; i++)
		args[n++] = ssh_opts[i];
	args[n++] = "-p"; /* keep modes and times, as cp -p */
	if (recursive)
		args[n++] = "-r";
	if (!isatty(STDOUT_FILENO))
		args[n++] = "-q"; /* the progress meter is for a terminal */
	args[n++] = "--";
	owned = xcalloc((size_t)nargs + 1, sizeof(char *));
	for (int i = 0; i < nargs; i++) {
		const char *p;

		if (vm_side(paths[i], name, sizeof(name), &p))
			owned[i] = xasprintf("%s:%s", dest, p);
		else
			owned[i] = xstrdup(paths[i]);
		args[n++] = owned[i];
	}
	args[n] = NULL;
	if (run_scp(args, &errs, &status) < 0) {
		err_errno(e, errno, "vm cp: run scp");
		goto out;
	}
	if (strstr(buf_str(&errs), "banger-exec-failed")) {
		err_set(e, ERR_MISSING_TOOL, "vm cp: scp is not installed");
		err_hint(e, "install it: apt-get install openssh-client");
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
		goto out;
	}
	{
		char msg[600];
		size_t len;

		snprintf(msg, sizeof(msg), "%s", buf_str(&errs));
		len = strlen(msg);
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
			msg[--len] = '\0';
		for (char *q = msg; *q; q++)
			if (*q == '\n')
				*q = ';';
		if (upload && guest_full(ssh_opts, dest, vmpath, need)) {
			err_set(e, ERR_IO, "vm cp: no space left on %s's disk for %s (%lld bytes)",
				vm_name, vmpath, need);
			err_hint(e,
				 "free space in the guest, or grow its work disk: banger vm stop "
				 "%s; banger vm set %s --disk-size SIZE",
				 vm_name, vm_name);
		} else if (strstr(msg, "No such file or directory")) {
			err_set(e, ERR_NOT_FOUND, "vm cp: %s", msg[0] ? msg : "no such file");
		} else {
			err_set(e, ERR_IO, "vm cp: scp failed: %s", msg[0] ? msg : "(no message)");
			err_hint(e, "run `banger vm ssh %s` to look in the guest", vm_name);
		}
	}
out:
	if (owned)
		for (int i = 0; i < nargs; i++)
			free(owned[i]);
	free(owned);
	free(uk);
	free(kh);
	free(dest);
	buf_free(&errs);
	json_decref(vm);
	json_decref(st);
	return ret;
}

static const struct cli_opt cp_opts[] = {
    {"recursive", 'r', NULL, "copy directory trees", NULL},
    {NULL, 0, NULL, NULL, NULL},
};

/* NAME:PATH is a path in VM NAME (relative: under /root); a local path with
 * a colon is written ./a:b. */
const struct cli_cmd cli_vm_cp_cmds[] = {
    {"vm", "cp", "SRC... DST",
     "copy files between the host and a VM (NAME:PATH is a path in VM NAME; relative: under "
     "/root)",
     NULL, cmd_cp, cp_opts, "@file", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
