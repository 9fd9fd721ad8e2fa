/* proc: see proc.h. */
#include "util/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Reads /proc/PID/stat and returns a pointer past the "(comm)" field, whose
 * content may contain spaces and parentheses. */
static int read_stat(pid_t pid, char *buf, size_t len, char **rest)
{
	char path[64];
	FILE *f;
	size_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	*rest = p + 2; /* field 3 (state) */
	return 0;
}

/* Returns field `idx` (1-based, as in proc(5)) from the post-comm rest,
 * which starts at field 3. Reads only: no strtok, whose hidden state would
 * be shared by the HTTP, supervisor and reboot threads that call this. */
static int stat_field(const char *rest, int idx, long long *out, char *state)
{
	const char *p = rest;

	if (state)
		*state = p[0];
	for (int field = 3; field < idx; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return sscanf(p, "%lld", out) == 1 ? 0 : -1;
}

long long proc_start_time(pid_t pid)
{
	char buf[1024], *rest, state = '?';
	long long v;

	if (pid <= 0 || read_stat(pid, buf, sizeof(buf), &rest) < 0)
		return -1;
	if (stat_field(rest, 22, &v, &state) < 0 || state == 'Z' || state == 'X')
		return -1;
	return v;
}

int proc_running(pid_t pid)
{
	char buf[1024], *rest, state = '?';
	long long flags;

	if (pid <= 0 || read_stat(pid, buf, sizeof(buf), &rest) < 0 ||
	    stat_field(rest, 9, &flags, &state) < 0)
		return 0;
	/* PF_EXITING (0x4): SIGKILLed or exiting, its threads being torn down. */
	return state != 'Z' && state != 'X' && !(flags & 0x4);
}

int proc_cpu_mem(pid_t pid, long long *cpu_ticks, long long *rss_bytes)
{
	char buf[1024], *rest;
	long long ut, st, rss;

	if (pid <= 0 || read_stat(pid, buf, sizeof(buf), &rest) < 0 ||
	    stat_field(rest, 14, &ut, NULL) < 0 || stat_field(rest, 15, &st, NULL) < 0 ||
	    stat_field(rest, 24, &rss, NULL) < 0)
		return -1;
	*cpu_ticks = ut + st;
	*rss_bytes = rss * sysconf(_SC_PAGESIZE);
	return 0;
}

int proc_alive(pid_t pid, long long start)
{
	long long t = proc_start_time(pid);

	return t >= 0 && (start < 0 || t == start);
}

int proc_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Reads /proc/PID/cmdline into buf (NUL-separated words); its length, or -1. */
static ssize_t read_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int proc_each_with_arg(const char *needle, proc_arg_fn fn, void *ctx)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	char buf[8192];
	int count = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		ssize_t n;

		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		n = read_cmdline((pid_t)pid, buf, sizeof(buf));
		for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(buf + off) + 1) {
			const char *hit = strstr(buf + off, needle);

			if (hit) {
				fn((pid_t)pid, hit, ctx);
				count++;
				break;
			}
		}
	}
	closedir(dir);
	return count;
}
