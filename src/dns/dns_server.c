/*
 * dns_server: sockets and the poll() loop of the DNS responder.
 *
 * Invariants: only the server thread touches sockets, connections and the
 * forward table after start; the other threads only write the wake eventfd
 * (stop) and read the atomic drop counter. A connection slot is free iff its
 * fd < 0; its generation changes on every accept, so a late upstream answer
 * for a closed connection is recognised and discarded.
 */
#include "dns/dns_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_conn.h"
#include "dns/dns_forward.h"
#include "util/buf.h"

#define UDP_BUF 65535
#define UDP_BURST 64 /* datagrams per poll round, so TCP is not starved */
#define POLL_MAX_MS 1000
#define NFDS (3 + DNS_TCP_MAX + DNS_FORWARD_PENDING_MAX)

struct dns_server {
	int udp_fd;
	int tcp_fd;
	int wake_fd;
	int port;
	dns_lookup_fn lookup;
	void *ctx;
	struct logger *log;
	struct dns_forward *fwd;
	struct dns_conn conns[DNS_TCP_MAX];
	unsigned next_gen;
	uint8_t *udp_buf;
	pthread_t thread;
	int started;
	atomic_ulong dropped;
};

static void count_drop(struct dns_server *s, const char *why)
{
	unsigned long n = atomic_fetch_add(&s->dropped, 1) + 1;
	log_debug(s->log, "dns: dropped packet", LF_S("reason", why), LF_I("dropped_total", n));
}

/* dns_deliver_fn: sends a reply to a UDP peer or queues it on a live TCP
 * connection (with its length prefix). */
static void deliver(void *ctx, const struct dns_client *c, const uint8_t *pkt, size_t len)
{
	struct dns_server *s = ctx;

	if (!c->tcp) {
		/* Best effort, like any UDP answer: the client retries. */
		(void)sendto(s->udp_fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			     (const struct sockaddr *)&c->addr, c->addr_len);
		return;
	}
	struct dns_conn *conn = &s->conns[c->conn];
	if (conn->fd < 0 || conn->gen != c->gen)
		return; /* that connection is gone */
	dns_conn_queue(conn, pkt, len);
}

static void handle_query(struct dns_server *s, const uint8_t *q, size_t len,
			 const struct dns_client *c)
{
	uint8_t out[DNS_REPLY_MAX];
	size_t olen;

	switch (dns_packet_answer(q, len, s->lookup, s->ctx, out, sizeof(out), &olen)) {
	case DNS_DROP:
		count_drop(s, c->tcp ? "malformed tcp message" : "malformed udp packet");
		return;
	case DNS_REPLY:
		deliver(s, c, out, olen);
		return;
	case DNS_FORWARD:
		if (dns_forward_submit(s->fwd, q, len, out, olen, c, mono_ms()) == 0)
			return;
		/* No upstream configured: REFUSED. Upstreams but no room: SERVFAIL. */
		if (s->fwd)
			dns_packet_set_rcode(out, DNS_RCODE_SERVFAIL);
		deliver(s, c, out, olen);
		return;
	}
}

static void udp_read(struct dns_server *s)
{
	for (int i = 0; i < UDP_BURST; i++) {
		struct dns_client c = {0};
		c.addr_len = sizeof(c.addr);
		ssize_t n = recvfrom(s->udp_fd, s->udp_buf, UDP_BUF, MSG_DONTWAIT,
				     (struct sockaddr *)&c.addr, &c.addr_len);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error from an earlier reply */
		handle_query(s, s->udp_buf, (size_t)n, &c);
	}
}

static void tcp_accept(struct dns_server *s)
{
	for (int i = 0; i < DNS_TCP_MAX; i++) {
		struct dns_conn *c = &s->conns[i];
		if (c->fd >= 0)
			continue;
		int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		dns_conn_open(c, fd, ++s->next_gen, mono_ms());
		return;
	}
}

/* dns_conn_query_fn: a complete message arrived on connection idx. */
static void tcp_query(void *ctx, int idx, const uint8_t *q, size_t len)
{
	struct dns_server *s = ctx;
	struct dns_client c = {.tcp = 1, .conn = idx, .gen = s->conns[idx].gen};

	handle_query(s, q, len, &c);
}

/* What each pollfd slot is: the wake fd, UDP, listener, a connection or a
 * forward socket. */
enum slot_kind { SLOT_WAKE, SLOT_UDP, SLOT_LISTEN, SLOT_CONN, SLOT_FWD };

struct poll_set {
	struct pollfd fds[NFDS];
	enum slot_kind kind[NFDS];
	int conn[NFDS];
	nfds_t n;
};

static void poll_add(struct poll_set *ps, int fd, short events, enum slot_kind kind, int conn)
{
	ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = events};
	ps->kind[ps->n] = kind;
	ps->conn[ps->n] = conn;
	ps->n++;
}

/* Builds the poll set and returns the poll timeout. */
static int poll_prepare(struct dns_server *s, struct poll_set *ps, long long now)
{
	long long next = now + POLL_MAX_MS;
	int free_slot = 0;

	ps->n = 0;
	poll_add(ps, s->wake_fd, POLLIN, SLOT_WAKE, -1);
	poll_add(ps, s->udp_fd, POLLIN, SLOT_UDP, -1);
	for (int i = 0; i < DNS_TCP_MAX; i++) {
		struct dns_conn *c = &s->conns[i];
		if (c->fd < 0) {
			free_slot = 1;
			continue;
		}
		poll_add(ps, c->fd, dns_conn_events(c), SLOT_CONN, i);
		if (c->deadline < next)
			next = c->deadline;
	}
	/* With every slot taken, new connections wait in the kernel backlog. */
	if (free_slot)
		poll_add(ps, s->tcp_fd, POLLIN, SLOT_LISTEN, -1);
	size_t nf = dns_forward_pollfds(s->fwd, ps->fds + ps->n, NFDS - ps->n);
	for (size_t i = 0; i < nf; i++) {
		ps->kind[ps->n + i] = SLOT_FWD;
		ps->conn[ps->n + i] = -1;
	}
	ps->n += nf;
	long long fwd_next = dns_forward_next_deadline(s->fwd);
	if (fwd_next >= 0 && fwd_next < next)
		next = fwd_next;
	return next <= now ? 0 : (int)(next - now);
}

static void expire(struct dns_server *s, long long now)
{
	for (int i = 0; i < DNS_TCP_MAX; i++) {
		struct dns_conn *c = &s->conns[i];
		if (c->fd >= 0 && now >= c->deadline) {
			log_debug(s->log, "dns: closing idle tcp connection");
			dns_conn_close(c);
		}
	}
	dns_forward_tick(s->fwd, now);
}

static void *server_main(void *arg)
{
	struct dns_server *s = arg;
	struct poll_set ps;

	for (;;) {
		int timeout = poll_prepare(s, &ps, mono_ms());
		if (poll(ps.fds, ps.n, timeout) < 0 && errno != EINTR) {
			log_error(s->log, "dns: poll failed", LF_S("error", strerror(errno)));
			break;
		}
		long long now = mono_ms();
		for (nfds_t i = 0; i < ps.n; i++) {
			short re = ps.fds[i].revents;
			if (!re)
				continue;
			switch (ps.kind[i]) {
			case SLOT_WAKE:
				return NULL;
			case SLOT_UDP:
				udp_read(s);
				break;
			case SLOT_LISTEN:
				tcp_accept(s);
				break;
			case SLOT_CONN:
				dns_conn_event(&s->conns[ps.conn[i]], ps.conn[i], re, tcp_query, s);
				break;
			case SLOT_FWD:
				dns_forward_on_event(s->fwd, ps.fds[i].fd, re, now);
				break;
			}
		}
		expire(s, now);
	}
	return NULL;
}

/* Opens a socket of type on addr:port. */
static int sock_bind(const struct dns_upstream *addr, int type, struct err *e)
{
	int one = 1;
	int fd = socket(addr->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return err_errno(e, errno, "create socket");
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->addr, addr->len) < 0) {
		int saved = errno;
		close(fd);
		return err_errno(e, saved, "bind");
	}
	if (type == SOCK_STREAM && listen(fd, 16) < 0) {
		int saved = errno;
		close(fd);
		return err_errno(e, saved, "listen");
	}
	return fd;
}

static int addr_port(const struct dns_upstream *a)
{
	if (a->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->addr)->sin6_port);
}

static void addr_set_port(struct dns_upstream *a, int port)
{
	if (a->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&a->addr)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a->addr)->sin6_port = htons((uint16_t)port);
}

/* Binds UDP then TCP on the same port. With port 0 the kernel picks the UDP
 * port, which may be taken for TCP: then try again with another. */
static int server_bind(struct dns_server *s, struct dns_upstream *self, int port, struct err *e)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		addr_set_port(self, port);
		s->udp_fd = sock_bind(self, SOCK_DGRAM, e);
		if (s->udp_fd < 0)
			return -1;
		self->len = sizeof(self->addr);
		getsockname(s->udp_fd, (struct sockaddr *)&self->addr, &self->len);
		s->tcp_fd = sock_bind(self, SOCK_STREAM, e);
		if (s->tcp_fd >= 0) {
			s->port = addr_port(self);
			return 0;
		}
		close(s->udp_fd);
		s->udp_fd = -1;
		if (port != 0 || (e && e->code == ERR_PERMISSION))
			return -1;
	}
	return -1;
}

/* Keeps the usable upstreams: never our own address (a forwarding loop). */
static size_t upstreams_filter(const struct dns_server_config *cfg, const struct dns_upstream *self,
			       struct dns_upstream *out)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_upstreams && n < DNS_UPSTREAM_MAX; i++)
		if (!dns_upstream_equal(&cfg->upstreams[i], self))
			out[n++] = cfg->upstreams[i];
	return n;
}

static int server_thread_start(struct dns_server *s, struct err *e)
{
	sigset_t all, old;

	/* The thread takes no signals: they belong to the daemon's main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, server_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return err_errno(e, rc, "start DNS server thread");
	s->started = 1;
	return 0;
}

struct dns_server *dns_server_start_config(const struct dns_server_config *cfg, struct logger *log,
					   struct err *e)
{
	struct dns_server *s = xcalloc(1, sizeof(*s));
	struct dns_upstream self, ups[DNS_UPSTREAM_MAX];
	char where[96];

	s->udp_fd = s->tcp_fd = s->wake_fd = -1;
	for (int i = 0; i < DNS_TCP_MAX; i++)
		s->conns[i].fd = -1;
	s->lookup = cfg->lookup;
	s->ctx = cfg->ctx;
	s->log = log;
	atomic_init(&s->dropped, 0);
	s->udp_buf = xmalloc(UDP_BUF);

	if (cfg->port < 0 || cfg->port > 65535 ||
	    dns_upstream_parse(cfg->bind_addr, &self, e) < 0) {
		err_set(e, ERR_INVALID, "invalid DNS listen address '%s' port %d", cfg->bind_addr,
			cfg->port);
		err_hint(e, "give a numeric IPv4 or IPv6 address (the bridge address) and a port "
			    "from 0 to 65535");
		goto fail;
	}
	if (server_bind(s, &self, cfg->port, e) < 0) {
		if (e && e->code == ERR_PERMISSION)
			err_hint(e, "ports below 1024 need root or CAP_NET_BIND_SERVICE");
		else
			err_hint(e,
				 "check that %s is an address of this host and that port %d "
				 "is free",
				 cfg->bind_addr, cfg->port);
		err_wrap(e, "DNS responder on %s port %d", cfg->bind_addr, cfg->port);
		goto fail;
	}
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		err_errno(e, errno, "DNS responder: eventfd");
		goto fail;
	}
	size_t n_ups = upstreams_filter(cfg, &self, ups);
	if (n_ups > 0)
		s->fwd = dns_forward_new(ups, n_ups, log, deliver, s);
	if (server_thread_start(s, e) < 0)
		goto fail;
	dns_upstream_format(&self, where, sizeof(where));
	log_info(log, "dns responder listening", LF_S("address", where), LF_I("upstreams", n_ups));
	return s;
fail:
	dns_server_stop(s);
	return NULL;
}

struct dns_server *dns_server_start(const char *bind_addr, int port, dns_lookup_fn lookup,
				    void *ctx, struct logger *log, struct err *e)
{
	struct dns_upstream ups[DNS_UPSTREAM_MAX];
	struct dns_server_config cfg = {
	    .bind_addr = bind_addr,
	    .port = port,
	    .lookup = lookup,
	    .ctx = ctx,
	    .upstreams = ups,
	    .n_upstreams = dns_upstream_host(ups, DNS_UPSTREAM_MAX),
	};

	return dns_server_start_config(&cfg, log, e);
}

void dns_server_stop(struct dns_server *s)
{
	if (!s)
		return;
	if (s->started) {
		uint64_t one = 1;
		/* An eventfd write of 1 cannot fail short of overflow. */
		(void)!write(s->wake_fd, &one, sizeof(one));
		pthread_join(s->thread, NULL);
	}
	for (int i = 0; i < DNS_TCP_MAX; i++)
		dns_conn_close(&s->conns[i]);
	dns_forward_free(s->fwd);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->udp_buf);
	free(s);
}

int dns_server_port(const struct dns_server *s)
{
	return s->port;
}

unsigned long dns_server_dropped(const struct dns_server *s)
{
	return atomic_load(&((struct dns_server *)s)->dropped);
}
