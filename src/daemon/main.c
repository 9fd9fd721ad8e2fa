/*
 * bangerd: the banger daemon. Owns the state database, supervises one VMM
 * process per running VM, and serves the API on a Unix socket. The CLI
 * starts it on demand. SIGTERM (or `banger daemon stop`) shuts it down
 * cleanly; running VMs keep running and are re-adopted at the next start.
 *
 * Shutdown order: new requests are refused (503) -> workers are told to stop
 * (an image build kills its commands; a vm create under way finishes) ->
 * workers, then requests and streams drain -> the supervisor stops -> the
 * store closes -> locks are destroyed. What cannot drain within DRAIN_MS is
 * logged and the daemon _exits without freeing what those threads use; the
 * next start reconciles, as after a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/images.h"
#include "daemon/listen_fds.h"
#include "daemon/mapdns.h"
#include "daemon/routes.h"
#include "daemon/server.h"
#include "daemon/supervisor.h"
#include "daemon/vm.h"
#include "daemon/vm_bin.h"
#include "daemon/vm_net.h"
#include "daemon/vm_usage.h"
#include "daemon/portfwd.h"
#include "daemon/shares.h"
#include "daemon/workers.h"
#include "image/image_tree.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/proc.h"

/* Inside the 30 s that `banger daemon stop` waits for the daemon to exit. */
#define DRAIN_MS 25000

void daemon_request_shutdown(struct daemon *d)
{
	uint64_t one = 1;

	atomic_store(&d->shutting_down, 1);
	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* flock with a grace period: a daemon killed a moment ago still holds the
 * lock while the kernel tears it down (all its threads must exit first), and
 * the CLI starts the next one as soon as the socket stops answering. The
 * lock is waited for only while the pid that wrote the file is gone or
 * exiting; a live daemon is refused at once. */
static int lock_taken(int fd)
{
	char buf[32];
	ssize_t n;

	for (int i = 0; i < 100; i++) { /* up to 5 s */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (proc_running((pid_t)atoi(buf)))
			return 0;
		usleep(50 * 1000);
	}
	return 0;
}

/* Takes the single-daemon lock (flock on the pid file, released by the
 * kernel if we die) and writes our pid. */
static int lock_pidfile(const char *path, struct err *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	char buf[32];
	ssize_t n;

	if (fd < 0)
		return err_errno(e, errno, "open %s", path);
	if (!lock_taken(fd)) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		err_set(e, ERR_CONFLICT, "another bangerd is already running (pid %s)",
			buf[0] ? buf : "?");
		err_hint(e, "use it, or stop it with `banger daemon stop`");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0) {
		int errnum = errno; /* before close() may change it */

		close(fd);
		return err_errno(e, errnum, "write %s", path);
	}
	return fd;
}

/* 1 if our stderr is the file at path (the CLI points it at bangerd.log). */
static int stderr_is(const char *path)
{
	struct stat a, b;

	return path && fstat(2, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static char *exe_dir(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup(".");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(exe);
}

/* Under socket activation the socket systemd listens on is the one the
 * CLI dials: its directory is the run directory (pid file and lock), even
 * when the service's environment would give another one. */
static void adopt_socket_path(struct daemon *d, const char *path)
{
	char *slash;

	if (strcmp(path, d->paths.socket) == 0)
		return;
	free(d->paths.socket);
	free(d->paths.run_dir);
	free(d->paths.pid_file);
	d->paths.socket = xstrdup(path);
	d->paths.run_dir = xstrdup(path);
	slash = strrchr(d->paths.run_dir, '/');
	if (slash && slash != d->paths.run_dir)
		*slash = '\0';
	d->paths.pid_file = xasprintf("%s/bangerd.pid", d->paths.run_dir);
}

static int setup(struct daemon *d, const char *passed_path, struct err *e)
{
	enum log_level lv;

	if (paths_init(&d->paths, e) < 0)
		return -1;
	if (d->listen_fd >= 0)
		adopt_socket_path(d, passed_path);
	if (config_load(&d->cfg, &d->paths, e) < 0 ||
	    log_level_parse(d->cfg.log_level, &lv, e) < 0 || vmnet_check_config(&d->cfg, e) < 0 ||
	    paths_ensure(&d->paths, e) < 0)
		return -1;
	d->log = logger_open(d->paths.log, lv, e);
	if (!d->log)
		return -1;
	d->runtime_dir = paths_runtime_dir(&d->cfg);
	d->exe_dir = exe_dir();
	return 0;
}

static void run(struct daemon *d, int sigfd)
{
	struct pollfd p[2] = {{sigfd, POLLIN, 0}, {d->wake_fd, POLLIN, 0}};

	while (!atomic_load(&d->shutting_down)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				log_info(d->log, "signal received, shutting down",
					 LF_S("signal", strsignal((int)si.ssi_signo)));
			break;
		}
		if (p[1].revents & POLLIN)
			break;
	}
	atomic_store(&d->shutting_down, 1);
}

/* Waits for every thread that may use the store, workers first: they feed
 * the progress streams that requests are still sending. 0 when all ended. */
static int drain(struct daemon *d, struct server *srv)
{
	long long t0 = mono_ms(), deadline = t0 + DRAIN_MS;

	atomic_store(&d->shutting_down, 1);
	workers_cancel(d);
	if (workers_drain(d, deadline) < 0)
		return -1;
	server_cancel_streams(srv);
	if (server_drain(srv, deadline) < 0)
		return -1;
	log_debug(d->log, "daemon drained", LF_I("duration_ms", mono_ms() - t0));
	return 0;
}

/* The drain timed out: threads may still use the store and the locks, so
 * nothing is freed. The records they were changing are reconciled at the
 * next start, as after a crash. */
_Noreturn static void abandon(struct daemon *d)
{
	log_error(d->log, "shutdown timed out: exiting without closing the state database",
		  LF_I("timeout_ms", DRAIN_MS), LF_I("pid", getpid()));
	if (d->listen_fd < 0)
		unlink(d->paths.socket);
	_exit(1);
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	struct server *srv = NULL;
	struct err e;
	sigset_t mask;
	int sigfd = -1, pidfd = -1, rc = 1;
	char msg[ERR_MSG_MAX + ERR_AUX_MAX * 2], passed[108] = "";

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("bangerd %s\n", BANGER_VERSION);
		return 0;
	}
	if (argc > 1) {
		printf("usage: bangerd\n\nThe banger daemon. `banger` starts it when needed; see "
		       "`banger daemon --help`.\n");
		return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 0 : 2;
	}
	err_clear(&e);
	/* First, before any thread: it edits the environment. */
	d.listen_fd = -1;
	if (listen_fds_take(&d.listen_fd, passed, sizeof(passed), &e) < 0) {
		fprintf(stderr, "bangerd: %s (%s)\n", e.msg, e.hint);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d.wake_fd = eventfd(0, EFD_CLOEXEC);
	d.started_ms = mono_ms();
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.publish_lock, NULL);
	vm_bin_cache_init(&d);
	vm_usage_init(&d);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		/* Waits are bounded by mono_ms() deadlines (vm_wait_changed_locked). */
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d.changed, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (setup(&d, passed, &e) < 0 || workers_init(&d, &e) < 0)
		goto out;
	pidfd = lock_pidfile(d.paths.pid_file, &e);
	if (pidfd < 0)
		goto out;
	if (store_open(d.paths.db, &d.store, &e) < 0)
		goto out;
	events_init(&d);
	if (sup_start(&d, &e) < 0)
		goto out;
	if (vmnet_init(&d, &e) < 0)
		log_warn(d.log, "networking unavailable", LF_S("error", e.msg),
			 LF_S("hint", e.hint));
	err_clear(&e);
	image_register_default(&d);
	if (portfwd_start(&d.ports, d.log, &e) < 0) {
		log_warn(d.log, "published ports unavailable", LF_S("error", e.msg));
		err_clear(&e);
	}
	vm_mounts_start(&d, &e);
	vm_reconcile(&d);
	vm_ports_sync_all(&d);
	vm_mounts_sync_all(&d);
	mapdns_publish(&d);
	image_tree_reconcile(d.store, d.paths.images_dir, d.log);
	if (vm_usage_start(&d, &e) < 0)
		goto out;
	if (server_start(&d, routes, &srv, &e) < 0)
		goto out;
	log_info(d.log, "daemon started", LF_I("pid", getpid()), LF_S("path", d.paths.socket),
		 LF_S("version", BANGER_VERSION),
		 LF_S("socket", d.listen_fd >= 0 ? "passed by systemd" : "bound"));
	vm_autostart(&d);
	run(&d, sigfd);
	rc = 0;
out:
	if (rc != 0) {
		/* Before the log is open, report on stderr: when the CLI started us
		 * that is bangerd.log, which must hold JSON lines only. */
		struct logger *errlog = d.log ? d.log : logger_fd(2, LOG_DEBUG);

		err_format(&e, msg, sizeof(msg));
		if (!stderr_is(d.paths.log))
			fprintf(stderr, "bangerd: %s\n", msg);
		log_error(errlog, "daemon failed", LF_S("error", e.msg), LF_S("hint", e.hint));
		if (errlog != d.log)
			logger_free(errlog);
	}
	if (drain(&d, srv) < 0)
		abandon(&d);
	server_stop(srv);
	portfwd_stop(d.ports);
	d.ports = NULL;
	shares_stop(d.shares);
	d.shares = NULL;
	sup_stop(&d);
	events_done(&d);
	vmnet_done(&d);
	workers_done(&d);
	vm_usage_done(&d);
	vm_views_done(&d);
	vm_bin_cache_done(&d);
	store_close(d.store);
	if (pidfd >= 0) {
		unlink(d.paths.pid_file);
		close(pidfd);
	}
	if (rc == 0)
		log_info(d.log, "daemon stopped", LF_I("pid", getpid()));
	logger_free(d.log);
	config_free(&d.cfg);
	paths_free(&d.paths);
	free(d.runtime_dir);
	free(d.exe_dir);
	if (sigfd >= 0)
		close(sigfd);
	close(d.wake_fd);
	pthread_cond_destroy(&d.changed);
	pthread_mutex_destroy(&d.publish_lock);
	pthread_mutex_destroy(&d.lock);
	return rc;
}
