/*
 * dns_forward: the table of queries in flight to upstream resolvers.
 *
 * Invariant: an entry is in use iff its fd >= 0; its query copy carries the
 * upstream ID, and client_id holds the ID to restore on the way back.
 */
#include "dns/dns_forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dns/dns_packet.h"
#include "util/buf.h"

#define REPLY_BUF 65535

struct pending {
	int fd;
	size_t upstream; /* index being tried */
	long long deadline;
	uint16_t client_id;
	struct dns_client client;
	uint8_t query[DNS_FORWARD_QUERY_MAX];
	size_t qlen;
	uint8_t fallback[DNS_REPLY_MAX];
	size_t flen;
};

struct dns_forward {
	struct dns_upstream ups[DNS_UPSTREAM_MAX];
	size_t n_ups;
	struct logger *log;
	dns_deliver_fn deliver;
	void *ctx;
	struct pending pending[DNS_FORWARD_PENDING_MAX];
	uint8_t *reply; /* REPLY_BUF bytes, for recv */
};

struct dns_forward *dns_forward_new(const struct dns_upstream *ups, size_t n, struct logger *log,
				    dns_deliver_fn deliver, void *ctx)
{
	struct dns_forward *f = xcalloc(1, sizeof(*f));

	f->n_ups = n < DNS_UPSTREAM_MAX ? n : DNS_UPSTREAM_MAX;
	memcpy(f->ups, ups, f->n_ups * sizeof(*ups));
	f->log = log;
	f->deliver = deliver;
	f->ctx = ctx;
	f->reply = xmalloc(REPLY_BUF);
	for (size_t i = 0; i < DNS_FORWARD_PENDING_MAX; i++)
		f->pending[i].fd = -1;
	return f;
}

static void pending_close(struct pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void dns_forward_free(struct dns_forward *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < DNS_FORWARD_PENDING_MAX; i++)
		pending_close(&f->pending[i]);
	free(f->reply);
	free(f);
}

/* Sends p's query to upstream p->upstream on a new connected socket with a
 * new random ID. Returns 0 or -1 (that upstream is unusable). */
static int pending_send(struct dns_forward *f, struct pending *p, long long now)
{
	const struct dns_upstream *u = &f->ups[p->upstream];
	uint16_t id;

	pending_close(p);
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -1;
	dns_packet_set_id(p->query, id);
	int fd = socket(u->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* connect(): the kernel picks a random source port and drops replies
	 * from anyone but this upstream. */
	if (connect(fd, (const struct sockaddr *)&u->addr, u->len) < 0 ||
	    send(fd, p->query, p->qlen, 0) != (ssize_t)p->qlen) {
		close(fd);
		return -1;
	}
	p->fd = fd;
	p->deadline = now + DNS_FORWARD_TRY_MS;
	return 0;
}

/* Tries the upstreams from p->upstream on; when none is left, answers the
 * client with the SERVFAIL fallback and frees the entry. */
static void pending_advance(struct dns_forward *f, struct pending *p, long long now)
{
	for (; p->upstream < f->n_ups; p->upstream++)
		if (pending_send(f, p, now) == 0)
			return;
	pending_close(p);
	dns_packet_set_rcode(p->fallback, DNS_RCODE_SERVFAIL);
	log_debug(f->log, "dns: no upstream answered", LF_I("upstreams", f->n_ups));
	f->deliver(f->ctx, &p->client, p->fallback, p->flen);
}

int dns_forward_submit(struct dns_forward *f, const uint8_t *q, size_t qlen,
		       const uint8_t *fallback, size_t flen, const struct dns_client *c,
		       long long now_ms)
{
	struct pending *p = NULL;

	if (!f || f->n_ups == 0 || qlen > DNS_FORWARD_QUERY_MAX || flen > DNS_REPLY_MAX)
		return -1;
	for (size_t i = 0; i < DNS_FORWARD_PENDING_MAX && !p; i++)
		if (f->pending[i].fd < 0)
			p = &f->pending[i];
	if (!p)
		return -1;
	memcpy(p->query, q, qlen);
	p->qlen = qlen;
	memcpy(p->fallback, fallback, flen);
	p->flen = flen;
	p->client = *c;
	p->client_id = dns_packet_id(q);
	p->upstream = 0;
	for (; p->upstream < f->n_ups; p->upstream++)
		if (pending_send(f, p, now_ms) == 0)
			return 0;
	return -1;
}

size_t dns_forward_pollfds(struct dns_forward *f, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; f && i < DNS_FORWARD_PENDING_MAX && n < max; i++) {
		if (f->pending[i].fd < 0)
			continue;
		fds[n].fd = f->pending[i].fd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

/* Whether an upstream's rcode says "ask someone else" rather than answers. */
static int rcode_retryable(int rcode)
{
	return rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED ||
	       rcode == DNS_RCODE_NOTIMP;
}

/* Reads what arrived on p's socket. Stray datagrams (wrong ID or question)
 * are ignored; the entry keeps waiting until its deadline. */
static void pending_read(struct dns_forward *f, struct pending *p, long long now)
{
	for (;;) {
		ssize_t n = recv(p->fd, f->reply, REPLY_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) { /* ECONNREFUSED: nothing listens there */
			p->upstream++;
			pending_advance(f, p, now);
			return;
		}
		if (!dns_packet_is_reply_to(p->query, p->qlen, f->reply, (size_t)n))
			continue;
		if (rcode_retryable(dns_packet_rcode(f->reply)) && p->upstream + 1 < f->n_ups) {
			p->upstream++;
			pending_advance(f, p, now);
			return;
		}
		pending_close(p);
		dns_packet_set_id(f->reply, p->client_id);
		f->deliver(f->ctx, &p->client, f->reply, (size_t)n);
		return;
	}
}

void dns_forward_on_event(struct dns_forward *f, int fd, short revents, long long now_ms)
{
	for (size_t i = 0; f && i < DNS_FORWARD_PENDING_MAX; i++) {
		struct pending *p = &f->pending[i];
		if (p->fd == fd && (revents & (POLLIN | POLLERR))) {
			pending_read(f, p, now_ms);
			return;
		}
	}
}

void dns_forward_tick(struct dns_forward *f, long long now_ms)
{
	for (size_t i = 0; f && i < DNS_FORWARD_PENDING_MAX; i++) {
		struct pending *p = &f->pending[i];
		if (p->fd < 0 || now_ms < p->deadline)
			continue;
		char addr[80];
		dns_upstream_format(&f->ups[p->upstream], addr, sizeof(addr));
		log_debug(f->log, "dns: upstream timed out", LF_S("upstream", addr));
		p->upstream++;
		pending_advance(f, p, now_ms);
	}
}

long long dns_forward_next_deadline(const struct dns_forward *f)
{
	long long next = -1;

	for (size_t i = 0; f && i < DNS_FORWARD_PENDING_MAX; i++) {
		const struct pending *p = &f->pending[i];
		if (p->fd >= 0 && (next < 0 || p->deadline < next))
			next = p->deadline;
	}
	return next;
}
