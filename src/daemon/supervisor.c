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
#include "util/buf.h"
#include "util/proc.h"

#define POWERDOWN_LINE "reboot: Power down"

struct watch {
	char vm_id[17];
	pid_t pid;
	int pidfd;
	int is_child;
	int wd;           /* inotify watch on the console log, or -1 */
	char *console;
	off_t offset;     /* how far the console log was scanned */
	char carry[64];   /* tail of the last chunk, for lines split across reads */
	int powered_off;
	int fallback;     /* pidfd is an eventfd fed by waiter_thread (no pidfd_open) */
	int status;       /* exit status found by waiter_thread */
	pthread_t waiter;
	struct watch *next;
};

struct supervisor {
	pthread_t thread;
	pthread_mutex_t lock;
	int epfd, inofd, stopfd;
	struct watch *list;
};

/* Tag values in epoll data for the two shared descriptors. */
static char tag_stop, tag_ino;

static void watch_free(struct watch *w)
{
	if (w->fallback)
		pthread_join(w->waiter, NULL);
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w->console);
	free(w);
}

/* Reads what was appended to w's console and looks for the power-down line. */
static int scan_console(struct watch *w)
{
	char chunk[8192 + 64];
	size_t carry = strlen(w->carry);
	int fd = open(w->console, O_RDONLY | O_CLOEXEC);
	int found = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	memcpy(chunk, w->carry, carry);
	while ((n = pread(fd, chunk + carry, 8192, w->offset)) > 0) {
		size_t total = carry + (size_t)n;
		size_t keep = total < sizeof(w->carry) - 1 ? total : sizeof(w->carry) - 1;

		w->offset += n;
		chunk[total] = '\0';
		if (memmem(chunk, total, POWERDOWN_LINE, strlen(POWERDOWN_LINE)))
			found = 1;
		memmove(chunk, chunk + total - keep, keep);
		carry = keep;
	}
	memcpy(w->carry, chunk, carry);
	w->carry[carry] = '\0';
	close(fd);
	return found;
}

static void on_inotify(struct daemon *d)
{
	struct supervisor *s = d->sup;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(s->inofd, buf, sizeof(buf));
	char hit[17] = "";

	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;

		pthread_mutex_lock(&s->lock);
		for (struct watch *w = s->list; w; w = w->next) {
			if (w->wd == ev->wd && !w->powered_off && scan_console(w)) {
				w->powered_off = 1;
				snprintf(hit, sizeof(hit), "%s", w->vm_id);
			}
		}
		pthread_mutex_unlock(&s->lock);
		p += sizeof(*ev) + ev->len;
	}
	if (hit[0])
		vm_on_poweroff(d, hit);
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
				on_inotify(d);
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
	if (s->epfd < 0 || s->inofd < 0 || s->stopfd < 0) {
		err_errno(e, errno, "supervisor setup");
		goto fail;
	}
	ev.data.ptr = &tag_stop;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev);
	ev.data.ptr = &tag_ino;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->inofd, &ev);
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

int sup_watch(struct daemon *d, const char *vm_id, pid_t pid, int is_child,
	      const char *console_log, struct err *e)
{
	struct supervisor *s = d->sup;
	struct watch *w = xcalloc(1, sizeof(*w));
	struct epoll_event ev = {.events = EPOLLIN};
	struct stat st;

	snprintf(w->vm_id, sizeof(w->vm_id), "%s", vm_id);
	w->pid = pid;
	w->is_child = is_child;
	w->wd = -1;
	w->pidfd = proc_pidfd(pid);
	if (w->pidfd < 0 && (errno != ENOSYS || watch_fallback(w, e) < 0)) {
		if (errno != ENOSYS)
			err_errno(e, errno, "watch process %d", (int)pid);
		free(w);
		return -1;
	}
	if (console_log) {
		w->console = xstrdup(console_log);
		w->offset = stat(console_log, &st) == 0 ? st.st_size : 0;
		w->wd = inotify_add_watch(s->inofd, console_log, IN_MODIFY);
	}
	pthread_mutex_lock(&s->lock);
	w->next = s->list;
	s->list = w;
	pthread_mutex_unlock(&s->lock);
	ev.data.ptr = w;
	/* Added last: from here on the supervisor thread may free w. */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, w->pidfd, &ev) < 0)
		return err_errno(e, errno, "watch process %d", (int)pid);
	return 0;
}
