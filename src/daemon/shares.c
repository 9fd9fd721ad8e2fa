/* shares: see shares.h. */
#include "daemon/shares.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/guest_ssh.h"
#include "share/share_jail.h"
#include "util/buf.h"
#include "util/proc.h"

#define SCRIPT_MAX 4096
#define RETRY_MAX_MS 30000
/* What the guest script says on stderr once the share is mounted, or
 * before it gives up. */
#define MOUNTED_LINE "banger-share: mounted"
#define ERROR_PREFIX "banger-share: error: "
/* Marks a session's processes: SHARE_TAG followed by its log's path. */
#define SHARE_TAG "banger-share="

struct session {
	struct shares *sh;
	char vm_id[17];
	char vm_name[64];
	char addr[16];
	char log_path[600];
	struct share_spec spec;
	int want;  /* cleared by shares_set/stop: the thread ends */
	int tries; /* connections that ended (reset once mounted) */
	enum share_state state;
	char error[512];
	pid_t ssh_pid, sftp_pid;
	struct session *next;
};

struct shares {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC: a session changed or ended */
	struct logger *log;
	char *helper, *key, *known_hosts;
	struct session *list;
	int threads;
};

const char *share_state_name(enum share_state s)
{
	return s == SHARE_MOUNTED ? "mounted" : s == SHARE_CONNECTING ? "connecting" : "down";
}

static int same_spec(const struct share_spec *a, const struct share_spec *b)
{
	return a->ro == b->ro && !strcmp(a->host, b->host) && !strcmp(a->guest, b->guest);
}

int shares_guest_script(const struct share_spec *spec, int mount, char *out, size_t len)
{
	char p[SHARE_PATH_MAX * 4 + 8] = "";
	int n;

	if (guest_sh_quote(spec->guest, p, sizeof(p)) < 0)
		return -1;
		/* The mount point's file system type, to tell our sshfs from
		 * anything else mounted there. */
#define FSTYPE "\"$(findmnt -n -o FSTYPE --mountpoint \"$p\" 2>/dev/null)\""
	if (!mount) {
		n = snprintf(out, len,
			     "p=%s; [ " FSTYPE " = fuse.sshfs ] && umount -l \"$p\"; exit 0", p);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	/* sshfs reads the SFTP stream on the script's stdin and writes it on
	 * its stdout (the ssh channel); `<&0` keeps stdin for a background
	 * job. A stale sshfs (a resumed guest's, whose connection is gone) is
	 * unmounted first. idmap=user shows the share owner's files as
	 * root's; dcache_timeout=2 lets host edits show within 2 s. */
	n = snprintf(
	    out, len,
	    "p=%s\n"
	    "command -v sshfs >/dev/null 2>&1 || { echo '" ERROR_PREFIX
	    "sshfs is not installed in the guest (apt-get install sshfs in the VM, or use an "
	    "image banger built)' >&2; exit 97; }\n"
	    "[ -e /dev/fuse ] || modprobe fuse 2>/dev/null\n"
	    "[ " FSTYPE " = fuse.sshfs ] && umount -l \"$p\"\n"
	    "mkdir -p \"$p\" || { echo \"" ERROR_PREFIX
	    "cannot make $p in the guest\" >&2; exit 98; }\n"
	    "sshfs -o slave,idmap=user,allow_other,noatime,dcache_timeout=2%s :%s \"$p\" <&0 &\n"
	    "s=$!\n"
	    "until [ " FSTYPE " = fuse.sshfs ]; do\n"
	    "  kill -0 $s 2>/dev/null || { wait $s; echo \"" ERROR_PREFIX
	    "sshfs exited with status $? before the share was mounted\" >&2; exit 99; }\n"
	    "  sleep 0.1\n"
	    "done\n"
	    "echo '" MOUNTED_LINE "' >&2\n"
	    "wait $s\n",
	    p, spec->ro ? ",ro" : "", SHARE_JAIL_DIR);
#undef FSTYPE
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- one connection ------------------------------------------------------ */

static void log_line(int fd, const char *who, const char *line)
{
	char t[32], buf[1200];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (fd < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(buf, sizeof(buf), "%s %s: %s\n", t, who, line);
	if (n > 0 &&
	    write(fd, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1)) < 0) {
		/* the log is best effort */
	}
}

/* Drops the first n bytes of b. */
static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

static void set_state(struct session *s, enum share_state st, const char *error)
{
	pthread_mutex_lock(&s->sh->lock);
	s->state = st;
	if (error)
		snprintf(s->error, sizeof(s->error), "%s", error);
	if (st == SHARE_MOUNTED) {
		s->tries = 0;
		s->error[0] = '\0';
	}
	pthread_cond_broadcast(&s->sh->cond);
	pthread_mutex_unlock(&s->sh->lock);
}

/* Runs one connection to its end. Returns with s->error set when it
 * failed (the guest or ssh said why). */
static void run_once(struct session *s)
{
	struct shares *sh = s->sh;
	char script[SCRIPT_MAX], last[512] = "";
	static const char *const extra[] = {
	    "-T", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", NULL};
	char tag[700];
	const char *sftp_argv[] = {sh->helper,
				   "--tag",
				   tag,
				   s->spec.ro ? "--ro" : s->spec.host,
				   s->spec.ro ? s->spec.host : NULL,
				   NULL};
	struct guest_ssh g;
	int sp[2] = {-1, -1}, errp[2] = {-1, -1}, logfd, status = 0, mounted = 0, n;
	pid_t sftp = -1, ssh = -1;
	struct buf b = BUF_INIT;

	/* Both processes carry the tag in their argv, so that a daemon that
	 * starts after a crash finds and ends them (shares_kill_leftovers). */
	snprintf(tag, sizeof(tag), SHARE_TAG "%s", s->log_path);
	n = snprintf(script, sizeof(script), "# %s\n", tag);
	if (n < 0 || (size_t)n >= sizeof(script) ||
	    shares_guest_script(&s->spec, 1, script + n, sizeof(script) - (size_t)n) < 0) {
		set_state(s, SHARE_DOWN, "the guest path is too long");
		return;
	}
	guest_ssh_argv(&g, s->addr, sh->key, sh->known_hosts, extra, script);
	logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		snprintf(last, sizeof(last), "socketpair: %s", strerror(errno));
		goto out;
	}
	/* The children only dup and exec: everything is ready before fork. */
	sftp = fork();
	if (sftp == 0) {
		dup2(sp[0], 0);
		dup2(sp[0], 1);
		if (logfd >= 0)
			dup2(logfd, 2);
		setpgid(0, 0);
		execv(sh->helper, (char *const *)sftp_argv);
		_exit(127);
	}
	ssh = sftp < 0 ? -1 : fork();
	if (ssh == 0) {
		dup2(sp[1], 0);
		dup2(sp[1], 1);
		dup2(errp[1], 2);
		setsid(); /* no terminal: ssh must never prompt */
		execvp("ssh", (char *const *)g.argv);
		_exit(127);
	}
	if (sftp < 0 || ssh < 0) {
		snprintf(last, sizeof(last), "fork: %s", strerror(errno));
		goto out;
	}
	pthread_mutex_lock(&sh->lock);
	s->ssh_pid = ssh;
	s->sftp_pid = sftp;
	if (!s->want) { /* stopped while we forked */
		kill(ssh, SIGTERM);
		kill(sftp, SIGTERM);
	}
	pthread_mutex_unlock(&sh->lock);
	close(sp[0]);
	close(sp[1]);
	close(errp[1]);
	sp[0] = sp[1] = errp[1] = -1;
	/* ssh's stderr, a line at a time, until it ends. */
	for (;;) {
		char tmp[512], *nl;
		ssize_t r = read(errp[0], tmp, sizeof(tmp));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_append(&b, tmp, (size_t)r);
		while ((nl = memchr(b.data, '\n', b.len))) {
			*nl = '\0';
			if (!strcmp(b.data, MOUNTED_LINE)) {
				mounted = 1;
				set_state(s, SHARE_MOUNTED, NULL);
				log_line(logfd, "share", "mounted");
				log_info(sh->log, "share mounted", LF_S("vm", s->vm_name),
					 LF_S("host", s->spec.host), LF_S("guest", s->spec.guest));
			} else if (b.data[0]) {
				const char *msg = b.data;

				if (!strncmp(msg, ERROR_PREFIX, strlen(ERROR_PREFIX)))
					msg += strlen(ERROR_PREFIX);
				snprintf(last, sizeof(last), "%s", msg);
				log_line(logfd, "guest", b.data);
			}
			buf_drop(&b, (size_t)(nl + 1 - b.data));
		}
	}
out:
	if (ssh > 0) {
		while (waitpid(ssh, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (sftp > 0) {
		int st;

		kill(sftp, SIGTERM);
		while (waitpid(sftp, &st, 0) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_lock(&sh->lock);
	s->ssh_pid = s->sftp_pid = 0;
	pthread_mutex_unlock(&sh->lock);
	if (s->want) {
		char why[600];
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

		if (last[0])
			snprintf(why, sizeof(why), "%s", last);
		else if (mounted)
			snprintf(why, sizeof(why), "the connection ended (ssh status %d)", code);
		else
			snprintf(why, sizeof(why), "ssh exited with status %d", code);
		log_line(logfd, "share", why);
		log_warn(sh->log, "share down", LF_S("vm", s->vm_name), LF_S("host", s->spec.host),
			 LF_S("guest", s->spec.guest), LF_S("error", why));
		pthread_mutex_lock(&sh->lock);
		s->tries++;
		pthread_mutex_unlock(&sh->lock);
		set_state(s, SHARE_DOWN, why);
	}
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (logfd >= 0)
		close(logfd);
	buf_free(&b);
	guest_ssh_free(&g);
}

static void unlink_locked(struct shares *sh, struct session *s)
{
	for (struct session **pp = &sh->list; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

static void *session_main(void *arg)
{
	struct session *s = arg;
	struct shares *sh = s->sh;
	long long pause = 1000;

	pthread_mutex_lock(&sh->lock);
	while (s->want) {
		struct timespec ts;
		long long until;

		s->state = SHARE_CONNECTING;
		pthread_mutex_unlock(&sh->lock);
		run_once(s);
		pthread_mutex_lock(&sh->lock);
		if (s->tries == 0)
			pause = 1000;
		until = mono_ms() + pause;
		while (s->want && mono_ms() < until) {
			mono_deadline_ts(until, &ts);
			pthread_cond_timedwait(&sh->cond, &sh->lock, &ts);
		}
		pause = pause * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : pause * 2;
	}
	if (!s->want)
		unlink_locked(sh, s);
	sh->threads--;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
	free(s);
	return NULL;
}

/* Locked: s ends (its thread unlinks and frees it). */
static void end_locked(struct session *s)
{
	s->want = 0;
	if (s->ssh_pid > 0)
		kill(s->ssh_pid, SIGTERM);
	if (s->sftp_pid > 0)
		kill(s->sftp_pid, SIGTERM);
	pthread_cond_broadcast(&s->sh->cond);
}

int shares_start(struct shares **out, struct logger *log, const char *helper, const char *key,
		 const char *known_hosts, struct err *e)
{
	struct shares *sh = xcalloc(1, sizeof(*sh));
	pthread_condattr_t ca;

	(void)e;
	pthread_mutex_init(&sh->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->cond, &ca);
	pthread_condattr_destroy(&ca);
	sh->log = log;
	sh->helper = xstrdup(helper);
	sh->key = xstrdup(key);
	sh->known_hosts = xstrdup(known_hosts);
	*out = sh;
	return 0;
}

void shares_stop(struct shares *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&sh->lock);
	for (struct session *s = sh->list; s; s = s->next)
		end_locked(s);
	while (sh->threads > 0)
		pthread_cond_wait(&sh->cond, &sh->lock);
	pthread_mutex_unlock(&sh->lock);
	pthread_cond_destroy(&sh->cond);
	pthread_mutex_destroy(&sh->lock);
	free(sh->helper);
	free(sh->key);
	free(sh->known_hosts);
	free(sh);
}

void shares_set(struct shares *sh, const char *vm_id, const char *vm_name, const char *addr,
		const struct share_spec *specs, int n, const char *log_path)
{
	int keep[SHARE_MAX] = {0};

	if (!sh)
		return;
	if (!addr || !addr[0])
		n = 0;
	pthread_mutex_lock(&sh->lock);
	for (struct session *s = sh->list; s; s = s->next) {
		int found = -1;

		if (strcmp(s->vm_id, vm_id) || !s->want)
			continue;
		for (int i = 0; i < n && found < 0; i++)
			if (!keep[i] && same_spec(&s->spec, &specs[i]) && !strcmp(s->addr, addr))
				found = i;
		if (found >= 0)
			keep[found] = 1;
		else
			end_locked(s);
	}
	for (int i = 0; i < n && i < SHARE_MAX; i++) {
		struct session *s;
		pthread_t t;
		pthread_attr_t at;

		if (keep[i])
			continue;
		s = xcalloc(1, sizeof(*s));
		s->sh = sh;
		snprintf(s->vm_id, sizeof(s->vm_id), "%s", vm_id);
		snprintf(s->vm_name, sizeof(s->vm_name), "%s", vm_name);
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		snprintf(s->log_path, sizeof(s->log_path), "%s", log_path);
		s->spec = specs[i];
		s->want = 1;
		s->state = SHARE_CONNECTING;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, session_main, s) != 0) {
			log_error(sh->log, "cannot start a share thread", LF_S("vm", vm_name));
			free(s);
		} else {
			s->next = sh->list;
			sh->list = s;
			sh->threads++;
		}
		pthread_attr_destroy(&at);
	}
	pthread_mutex_unlock(&sh->lock);
}

int shares_wait(struct shares *sh, const char *vm_id, long long deadline, struct err *e)
{
	int ret = 1;

	if (!sh)
		return 0;
	pthread_mutex_lock(&sh->lock);
	while (ret == 1) {
		struct session *bad = NULL, *pending = NULL;
		struct timespec ts;

		for (struct session *s = sh->list; s; s = s->next) {
			if (strcmp(s->vm_id, vm_id) || !s->want || s->state == SHARE_MOUNTED)
				continue;
			if (s->tries > 0 && !bad)
				bad = s;
			pending = s;
		}
		if (bad) {
			err_set(e, ERR_UNAVAILABLE, "share %s at %s: %s", bad->spec.host,
				bad->spec.guest, bad->error[0] ? bad->error : "not mounted");
			snprintf(e->log, sizeof(e->log), "%s", bad->log_path);
			ret = -1;
		} else if (!pending) {
			ret = 0;
		} else if (mono_ms() >= deadline) {
			err_set(e, ERR_UNAVAILABLE, "share %s at %s: not mounted in time",
				pending->spec.host, pending->spec.guest);
			snprintf(e->log, sizeof(e->log), "%s", pending->log_path);
			ret = -1;
		} else {
			mono_deadline_ts(deadline, &ts);
			pthread_cond_timedwait(&sh->cond, &sh->lock, &ts);
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return ret;
}

static void leftover_seen(pid_t pid, const char *hit, void *ctx)
{
	int *n = ctx;

	(void)hit;
	if (kill(pid, SIGTERM) == 0)
		(*n)++;
}

int shares_kill_leftovers(const char *log_prefix)
{
	char *needle = xasprintf(SHARE_TAG "%s", log_prefix);
	int n = 0;

	proc_each_with_arg(needle, leftover_seen, &n);
	free(needle);
	return n;
}

enum share_state shares_status(struct shares *sh, const char *vm_id, const struct share_spec *spec,
			       char *error, size_t len)
{
	enum share_state st = SHARE_DOWN;

	error[0] = '\0';
	if (!sh)
		return st;
	pthread_mutex_lock(&sh->lock);
	for (struct session *s = sh->list; s; s = s->next)
		if (s->want && !strcmp(s->vm_id, vm_id) && same_spec(&s->spec, spec)) {
			st = s->state;
			snprintf(error, len, "%s", s->error);
			break;
		}
	pthread_mutex_unlock(&sh->lock);
	return st;
}
