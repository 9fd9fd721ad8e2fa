/* supervisor: see supervisor.h. */
#include "daemon/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/vm.h"
#include "daemon/vm_console.h"
#include "util/buf.h"
#include "util/proc.h"

#define POWERDOWN_LINE "reboot: Power down"
#define SUP_EVENTS 8 /* console events kept per scan; more in one read are rare */

struct watch {
	char vm_id[17];
	pid_t pid;
	int pidfd;
	int is_child;
	int wd; /* inotify watch on the console log, or -1 */
	char *console;
	off_t offset; /* how far the console log was scanned */
	struct console_scan *scan;
	int watch_poweroff; /* the driver's VMM outlives a guest poweroff */
	int powered_off;
	long long t0_ms; /* realtime ms when the boot began */
	int fallback;	 /* pidfd is an eventfd fed by waiter_thread (no pidfd_open) */
	int status;	 /* exit status found by waiter_thread */
	pthread_t waiter;
	struct watch *next;
};

struct supervisor {
	pthread_t thread;
	pthread_mutex_t lock;
	int epfd, inofd, stopfd, kickfd;
	struct watch *list;
};

/* What one scan of one console found, handed to the daemon with no lock
 * held (the daemon's handlers take d->lock, which is taken before s->lock). */
struct sup_found {
	char vm_id[17];
	long long t0_ms;
	int poweroff;
	size_t n;
	struct console_event ev[SUP_EVENTS];
};

/* Tag values in epoll data for the shared descriptors. */
static char tag_stop, tag_ino, tag_kick;

static void watch_free(struct watch *w)
{
	if (w->fallback)
		pthread_join(w->waiter, NULL);
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w->console);
	free(w->scan);
	free(w);
}

static void found_event(const struct console_event *ev, void *ctx)
{
	struct sup_found *f = ctx;

	if (ev->kind == CONSOLE_BOOT)
		return;
	if (ev->kind == CONSOLE_SHUTDOWN && strstr(ev->line, POWERDOWN_LINE))
		f->poweroff = 1;
	if (ev->kind != CONSOLE_SHUTDOWN && f->n < SUP_EVENTS)
		f->ev[f->n++] = *ev;
}

/* Reads what was appended to w's console into f; end: the VMM is gone,
 * so a last line without a newline counts too. Under s->lock, or with w
 * already off the list. */
static void scan_console(struct watch *w, int end, struct sup_found *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->vm_id, sizeof(f->vm_id), "%s", w->vm_id);
	f->t0_ms = w->t0_ms;
	if (!w->console)
		return;
	w->offset = vm_console_feed(w->console, w->offset, w->scan, found_event, f);
	if (end)
		console_scan_end(w->scan, found_event, f);
	if (!w->watch_poweroff || w->powered_off)
		f->poweroff = 0;
	if (f->poweroff)
		w->powered_off = 1;
}

static void dispatch(struct daemon *d, const struct sup_found *f)
{
	for (size_t i = 0; i < f->n; i++)
		vm_on_console(d, f->vm_id, &f->ev[i], f->t0_ms);
	if (f->poweroff)
		vm_on_poweroff(d, f->vm_id);
}

/* Any console grew (or a new watch wants its first look): scans every
 * watched console; unchanged ones cost one pread. */
static void scan_all(struct daemon *d)
{
	struct supervisor *s = d->sup;
	struct sup_found *found = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&s->lock);
	for (struct watch *w = s->list; w; w = w->next) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			found = xrealloc(found, cap * sizeof(*found));
		}
		scan_console(w, 0, &found[n]);
		if (found[n].n || found[n].poweroff)
			n++;
	}
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		dispatch(d, &found[i]);
	free(found);
}

static void on_console_event(struct daemon *d, int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* Drained whole: which watch fired does not matter, scan_all looks at all. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	scan_all(d);
}

static void on_exit_event(struct daemon *d, struct watch *w)
{
	struct supervisor *s = d->sup;
	int status = -1;
	siginfo_t si;
	char id[17];

	if (w->fallback) {
		status = w->status;
	} else if (w->is_child) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid) {
			if (si.si_code == CLD_EXITED)
				status = si.si_status;
			else
				status = 128 + si.si_status;
		}
	}
	pthread_mutex_lock(&s->lock);
	for (struct watch **pp = &s->list; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
	if (w->wd >= 0)
		inotify_rm_watch(s->inofd, w->wd);
	snprintf(id, sizeof(id), "%s", w->vm_id);
	/* The console's last words (a panic, banger-init's error) reach the
	 * record before the exit does, so the exit can be read in their light. */
	{
		struct sup_found *f = xmalloc(sizeof(*f));

		scan_console(w, 1, f);
		f->poweroff = 0;
		dispatch(d, f);
		free(f);
	}
	watch_free(w);
	vm_on_exit(d, id, status);
}

static void *sup_main(void *arg)
{
	struct daemon *d = arg;
	struct supervisor *s = d->sup;
	struct epoll_event evs[16];

	for (;;) {
		int n = epoll_wait(s->epfd, evs, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_stop)
				return NULL;
			if (p == &tag_ino)
				on_console_event(d, s->inofd);
			else if (p == &tag_kick)
				on_console_event(d, s->kickfd);
			else
				on_exit_event(d, p);
		}
	}
	return NULL;
}

int sup_start(struct daemon *d, struct err *e)
{
	struct supervisor *s = xcalloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};

	pthread_mutex_init(&s->lock, NULL);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->inofd < 0 || s->stopfd < 0 || s->kickfd < 0) {
		err_errno(e, errno, "supervisor setup");
		goto fail;
	}
	ev.data.ptr = &tag_stop;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev);
	ev.data.ptr = &tag_ino;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->inofd, &ev);
	ev.data.ptr = &tag_kick;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->kickfd, &ev);
	d->sup = s;
	if (pthread_create(&s->thread, NULL, sup_main, d) != 0) {
		d->sup = NULL;
		err_set(e, ERR_INTERNAL, "cannot start the supervisor thread");
		goto fail;
	}
	return 0;
fail:
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->inofd >= 0)
		close(s->inofd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->kickfd >= 0)
		close(s->kickfd);
	free(s);
	return -1;
}

void sup_stop(struct daemon *d)
{
	struct supervisor *s = d->sup;
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stopfd, &one, sizeof(one)) < 0)
		return;
	pthread_join(s->thread, NULL);
	while (s->list) {
		struct watch *w = s->list;

		s->list = w->next;
		/* VMs outlive the daemon: stop waiting for them (waitpid and
		 * usleep are cancellation points). */
		if (w->fallback)
			pthread_cancel(w->waiter);
		watch_free(w);
	}
	close(s->epfd);
	close(s->inofd);
	close(s->stopfd);
	close(s->kickfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
	d->sup = NULL;
}

/* Where pidfd_open is missing (old kernels, valgrind), a thread waits for
 * the process instead: blocking waitpid() for our children, else a slow
 * check of /proc. It signals the epoll loop through an eventfd. */
static void *waiter_thread(void *arg)
{
	struct watch *w = arg;
	uint64_t one = 1;
	int st;

	w->status = -1;
	if (w->is_child) {
		while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st))
			w->status = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			w->status = 128 + WTERMSIG(st);
	} else {
		long long start = proc_start_time(w->pid);

		while (proc_alive(w->pid, start))
			usleep(500 * 1000);
	}
	if (write(w->pidfd, &one, sizeof(one)) < 0)
		return NULL;
	return NULL;
}

static int watch_fallback(struct watch *w, struct err *e)
{
	w->pidfd = eventfd(0, EFD_CLOEXEC);
	if (w->pidfd < 0)
		return err_errno(e, errno, "eventfd");
	w->fallback = 1;
	if (pthread_create(&w->waiter, NULL, waiter_thread, w) != 0) {
		close(w->pidfd);
		return err_set(e, ERR_INTERNAL, "cannot start a process waiter thread");
	}
	return 0;
}

int sup_watch(struct daemon *d, const struct sup_target *t, struct err *e)
{
	struct supervisor *s = d->sup;
	struct watch *w = xcalloc(1, sizeof(*w));
	struct epoll_event ev = {.events = EPOLLIN};
	uint64_t one = 1;

	snprintf(w->vm_id, sizeof(w->vm_id), "%s", t->vm_id);
	w->pid = t->pid;
	w->is_child = t->is_child;
	w->wd = -1;
	w->pidfd = proc_pidfd(t->pid);
	if (w->pidfd < 0 && (errno != ENOSYS || watch_fallback(w, e) < 0)) {
		if (errno != ENOSYS)
			err_errno(e, errno, "watch process %d", (int)t->pid);
		free(w);
		return -1;
	}
	if (t->console_log) {
		w->console = xstrdup(t->console_log);
		w->offset = t->console_offset;
		w->scan = xmalloc(sizeof(*w->scan));
		console_scan_init(w->scan);
		w->watch_poweroff = t->watch_poweroff;
		w->t0_ms = t->t0_ms;
		w->wd = inotify_add_watch(s->inofd, t->console_log, IN_MODIFY);
	}
	pthread_mutex_lock(&s->lock);
	w->next = s->list;
	s->list = w;
	pthread_mutex_unlock(&s->lock);
	ev.data.ptr = w;
	/* Added last: from here on the supervisor thread may free w. */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->pidfd, &ev) < 0)
		return err_errno(e, errno, "watch process %d", (int)t->pid);
	/* What the console said before the inotify watch existed is read at
	 * once, by the supervisor thread (the caller holds d->lock). */
	if (write(s->kickfd, &one, sizeof(one)) < 0)
		log_warn(d->log, "cannot wake the supervisor", LF_S("vm_id", t->vm_id));
	return 0;
}
