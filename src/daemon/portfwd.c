/* portfwd: see portfwd.h.
 *
 * Objects (listeners, connections) are only freed by the relay thread,
 * after the batch of events that may name them: portfwd_set marks them
 * dead and closes their sockets under the lock, then wakes the thread. */
#include "daemon/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"

#define RELAY_BUF (64 * 1024)

enum kind { K_WAKE, K_LISTENER, K_SIDE };

struct tag {
	enum kind kind;
};

struct listener {
	struct tag tag;
	struct listener *next;
	char vm_id[17];
	char vm_name[64];
	char guest_addr[16];
	struct port_spec spec;
	int fd;
	int dead;
};

struct conn;

/* One end of a relayed connection; in[] holds what it sent, not yet
 * written to the other end. */
struct side {
	struct tag tag;
	struct conn *c;
	int fd;
	int eof;  /* read returned 0: no more from this end */
	int shut; /* the other end's EOF was passed on (shutdown write) */
	size_t len;
	char in[RELAY_BUF];
};

struct conn {
	struct conn *next;
	struct listener *l;
	struct side s[2]; /* [0] the host client, [1] the guest */
	int connecting;
	int dead;
};

struct portfwd {
	pthread_mutex_t lock;
	pthread_t thread;
	int ep, wake;
	int stop;
	struct tag wake_tag;
	struct listener *ls;
	struct conn *cs;
	struct logger *log;
};

static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	for (int i = 0; i < 2; i++)
		if (c->s[i].fd >= 0) {
			close(c->s[i].fd);
			c->s[i].fd = -1;
		}
}

/* What each end must wait for, from the buffers' state. */
static void conn_arm(struct portfwd *pf, struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct side *me = &c->s[i], *peer = &c->s[!i];
		struct epoll_event ev = {.data.ptr = me};

		if (me->fd < 0)
			continue;
		if (c->connecting && i == 1)
			ev.events = EPOLLOUT;
		else if (!c->connecting) {
			if (!me->eof && me->len < RELAY_BUF)
				ev.events |= EPOLLIN;
			if (peer->len > 0)
				ev.events |= EPOLLOUT;
		}
		epoll_ctl(pf->ep, EPOLL_CTL_MOD, me->fd, &ev);
	}
}

/* Moves bytes and passes EOFs on; ends the connection when both ways are
 * done or an end failed. */
static void conn_pump(struct portfwd *pf, struct conn *c)
{
	for (int i = 0; i < 2 && !c->dead; i++) {
		struct side *me = &c->s[i], *peer = &c->s[!i];

		if (!me->eof && me->len < RELAY_BUF) {
			ssize_t r = read(me->fd, me->in + me->len, RELAY_BUF - me->len);

			if (r > 0)
				me->len += (size_t)r;
			else if (r == 0)
				me->eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				conn_kill(c);
		}
		if (!c->dead && me->len > 0) {
			ssize_t w = write(peer->fd, me->in, me->len);

			if (w > 0) {
				memmove(me->in, me->in + w, me->len - (size_t)w);
				me->len -= (size_t)w;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				conn_kill(c);
			}
		}
		if (!c->dead && me->eof && me->len == 0 && !peer->shut) {
			shutdown(peer->fd, SHUT_WR);
			peer->shut = 1;
		}
	}
	if (!c->dead && c->s[0].eof && c->s[1].eof && !c->s[0].len && !c->s[1].len)
		conn_kill(c);
	if (!c->dead)
		conn_arm(pf, c);
}

static void add_fd(struct portfwd *pf, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};

	epoll_ctl(pf->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void on_accept(struct portfwd *pf, struct listener *l)
{
	struct sockaddr_in ga = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->spec.guest)};
	int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), gfd, one = 1;
	struct conn *c;

	if (cfd < 0)
		return;
	gfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, l->guest_addr, &ga.sin_addr);
	if (gfd < 0 ||
	    (connect(gfd, (struct sockaddr *)&ga, sizeof(ga)) < 0 && errno != EINPROGRESS)) {
		close(cfd);
		if (gfd >= 0)
			close(gfd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(gfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->connecting = 1;
	for (int i = 0; i < 2; i++) {
		c->s[i].tag.kind = K_SIDE;
		c->s[i].c = c;
	}
	c->s[0].fd = cfd;
	c->s[1].fd = gfd;
	c->next = pf->cs;
	pf->cs = c;
	add_fd(pf, cfd, &c->s[0], 0);
	add_fd(pf, gfd, &c->s[1], EPOLLOUT);
}

static void on_side(struct portfwd *pf, struct side *s, uint32_t events)
{
	struct conn *c = s->c;

	if (c->dead)
		return;
	if (c->connecting && s == &c->s[1]) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			conn_kill(c); /* nothing listens there in the guest: the client sees EOF */
			return;
		}
		c->connecting = 0;
	}
	if (events & (EPOLLERR)) {
		conn_kill(c);
		return;
	}
	conn_pump(pf, c);
}

/* Frees what is dead; called by the thread between batches. */
static void reap(struct portfwd *pf)
{
	for (struct conn **pc = &pf->cs; *pc;) {
		struct conn *c = *pc;

		if (!c->dead && c->l->dead)
			conn_kill(c);
		if (c->dead) {
			*pc = c->next;
			free(c);
		} else {
			pc = &c->next;
		}
	}
	for (struct listener **pl = &pf->ls; *pl;) {
		struct listener *l = *pl;

		if (l->dead) {
			*pl = l->next;
			free(l);
		} else {
			pl = &l->next;
		}
	}
}

static void *relay(void *arg)
{
	struct portfwd *pf = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(pf->ep, evs, 64, -1);

		pthread_mutex_lock(&pf->lock);
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;

			if (t->kind == K_WAKE) {
				uint64_t v;

				if (read(pf->wake, &v, sizeof(v)) < 0)
					(void)0;
			} else if (t->kind == K_LISTENER) {
				struct listener *l = (struct listener *)t;

				if (!l->dead)
					on_accept(pf, l);
			} else {
				on_side(pf, (struct side *)t, evs[i].events);
			}
		}
		reap(pf);
		if (pf->stop) {
			pthread_mutex_unlock(&pf->lock);
			return NULL;
		}
		pthread_mutex_unlock(&pf->lock);
	}
}

static void wake(struct portfwd *pf)
{
	uint64_t one = 1;

	if (write(pf->wake, &one, sizeof(one)) < 0)
		(void)0;
}

int portfwd_start(struct portfwd **out, struct logger *log, struct err *e)
{
	struct portfwd *pf = xcalloc(1, sizeof(*pf));

	*out = NULL;
	pthread_mutex_init(&pf->lock, NULL);
	pf->log = log;
	pf->wake_tag.kind = K_WAKE;
	pf->ep = epoll_create1(EPOLL_CLOEXEC);
	pf->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pf->ep < 0 || pf->wake < 0) {
		err_errno(e, errno, "port forwarding: epoll");
		goto fail;
	}
	add_fd(pf, pf->wake, &pf->wake_tag, EPOLLIN);
	if (pthread_create(&pf->thread, NULL, relay, pf) != 0) {
		err_set(e, ERR_INTERNAL, "port forwarding: cannot start its thread");
		goto fail;
	}
	*out = pf;
	return 0;
fail:
	if (pf->ep >= 0)
		close(pf->ep);
	if (pf->wake >= 0)
		close(pf->wake);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
	return -1;
}

void portfwd_stop(struct portfwd *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->lock);
	for (struct listener *l = pf->ls; l; l = l->next)
		if (!l->dead) {
			l->dead = 1;
			close(l->fd);
		}
	pf->stop = 1;
	pthread_mutex_unlock(&pf->lock);
	wake(pf);
	pthread_join(pf->thread, NULL);
	reap(pf);
	close(pf->ep);
	close(pf->wake);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}

static int bind_spec(const struct port_spec *p, int *out, struct err *e)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->host)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return err_errno(e, errno, "socket");
	inet_pton(AF_INET, p->addr, &a.sin_addr);
	/* SO_REUSEADDR: a port freed a moment ago (TIME_WAIT) can be taken again. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		int err = errno;

		close(fd);
		if (err == EADDRINUSE) {
			err_set(e, ERR_CONFLICT,
				"%s:%d on the host is already in use by another "
				"program",
				p->addr, p->host);
			return err_hint(e, "choose another host port, e.g. %d:%d",
					p->host + 1000 <= 65535 ? p->host + 1000 : p->host - 1000,
					p->guest),
			       -1;
		}
		if (err == EADDRNOTAVAIL) {
			err_set(e, ERR_INVALID, "%s is not an address of this host", p->addr);
			return err_hint(e,
					"publish on 127.0.0.1 (the default: HOSTPORT:GUESTPORT), "
					"0.0.0.0 or one of the host's addresses"),
			       -1;
		}
		if (err == EACCES) {
			err_set(e, ERR_PERMISSION,
				"host port %d needs privileges (ports below 1024 "
				"are for root)",
				p->host);
			return err_hint(e, "choose a host port from 1024 up, e.g. %d:%d",
					p->host + 8000, p->guest),
			       -1;
		}
		return err_errno(e, err, "listen on %s:%d", p->addr, p->host);
	}
	*out = fd;
	return 0;
}

int portfwd_probe(const struct port_spec *p, struct err *e)
{
	int fd;

	if (bind_spec(p, &fd, e) < 0)
		return -1;
	close(fd);
	return 0;
}

static int holder_locked(struct portfwd *pf, const struct port_spec *p, const char *vm_id,
			 char *name, size_t len)
{
	for (struct listener *l = pf->ls; l; l = l->next)
		if (!l->dead && strcmp(l->vm_id, vm_id) != 0 && port_spec_clash(&l->spec, p)) {
			snprintf(name, len, "%s", l->vm_name);
			return 1;
		}
	return 0;
}

int portfwd_holder(struct portfwd *pf, const struct port_spec *p, const char *vm_id, char *name,
		   size_t len)
{
	int r;

	pthread_mutex_lock(&pf->lock);
	r = holder_locked(pf, p, vm_id, name, len);
	pthread_mutex_unlock(&pf->lock);
	return r;
}

static int same(const struct port_spec *a, const struct port_spec *b)
{
	return !strcmp(a->addr, b->addr) && a->host == b->host && a->guest == b->guest;
}

int portfwd_set(struct portfwd *pf, const char *vm_id, const char *vm_name, const char *guest_addr,
		const struct port_spec *specs, int n, struct err *e)
{
	int ret = 0;

	pthread_mutex_lock(&pf->lock);
	/* Drop what is no longer wanted (or points at another address). */
	for (struct listener *l = pf->ls; l; l = l->next) {
		int keep = 0;

		if (l->dead || strcmp(l->vm_id, vm_id) != 0)
			continue;
		for (int i = 0; i < n && !keep; i++)
			keep = same(&l->spec, &specs[i]) && !strcmp(l->guest_addr, guest_addr);
		if (!keep) {
			l->dead = 1;
			close(l->fd);
			log_info(pf->log, "port forward closed", LF_S("vm", l->vm_name),
				 LF_S("addr", l->spec.addr), LF_I("host_port", l->spec.host),
				 LF_I("guest_port", l->spec.guest));
		}
	}
	for (int i = 0; i < n; i++) {
		struct listener *l;
		char other[64];
		int fd, have = 0;
		struct err one;

		for (l = pf->ls; l && !have; l = l->next)
			have = !l->dead && !strcmp(l->vm_id, vm_id) && same(&l->spec, &specs[i]);
		if (have)
			continue;
		err_clear(&one);
		if (holder_locked(pf, &specs[i], vm_id, other, sizeof(other))) {
			err_set(&one, ERR_CONFLICT,
				"%s:%d on the host is already published by VM %s", specs[i].addr,
				specs[i].host, other);
			err_hint(&one,
				 "remove it there (banger vm port rm %s %d) or choose another "
				 "host port",
				 other, specs[i].host);
		} else if (bind_spec(&specs[i], &fd, &one) == 0) {
			l = xcalloc(1, sizeof(*l));
			l->tag.kind = K_LISTENER;
			snprintf(l->vm_id, sizeof(l->vm_id), "%s", vm_id);
			snprintf(l->vm_name, sizeof(l->vm_name), "%s", vm_name);
			snprintf(l->guest_addr, sizeof(l->guest_addr), "%s", guest_addr);
			l->spec = specs[i];
			l->fd = fd;
			l->next = pf->ls;
			pf->ls = l;
			add_fd(pf, fd, l, EPOLLIN);
			log_info(pf->log, "port forward open", LF_S("vm", vm_name),
				 LF_S("addr", specs[i].addr), LF_I("host_port", specs[i].host),
				 LF_I("guest_port", specs[i].guest));
			continue;
		}
		log_warn(pf->log, "cannot publish port", LF_S("vm", vm_name),
			 LF_S("error", one.msg));
		if (ret == 0 && e)
			*e = one;
		ret = -1;
	}
	pthread_mutex_unlock(&pf->lock);
	wake(pf);
	return ret;
}
