/*
 * dns_conn: buffering and framing for one DNS-over-TCP connection.
 * Invariant: in[0..in_len) never holds a complete message between calls.
 */
#include "dns/dns_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_server.h"
#include "util/log.h"

#define IN_MAX (2 + 65535)   /* the largest framed message */
#define OUT_MAX (256 * 1024) /* a client that stops reading is cut off */

void dns_conn_open(struct dns_conn *c, int fd, unsigned gen, long long now_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->gen = gen;
	c->in = xmalloc(IN_MAX);
	c->deadline = now_ms + DNS_TCP_TIMEOUT_MS;
}

void dns_conn_close(struct dns_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	buf_free(&c->out);
	c->out_off = 0;
	c->eof = 0;
}

short dns_conn_events(const struct dns_conn *c)
{
	short ev = c->eof ? 0 : POLLIN;

	if (c->out.len > c->out_off)
		ev |= POLLOUT;
	return ev;
}

void dns_conn_queue(struct dns_conn *c, const uint8_t *pkt, size_t len)
{
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	buf_append(&c->out, prefix, 2);
	buf_append(&c->out, pkt, len);
}

/* Hands every complete message to on_query. Returns -1 to close c. */
static int conn_process(struct dns_conn *c, int idx, dns_conn_query_fn on_query, void *ctx)
{
	while (c->in_len >= 2) {
		size_t mlen = ((size_t)c->in[0] << 8) | c->in[1];
		if (c->in_len < 2 + mlen)
			return 0;
		on_query(ctx, idx, c->in + 2, mlen);
		if (mlen == 0)
			return -1;
		c->in_len -= 2 + mlen;
		memmove(c->in, c->in + 2 + mlen, c->in_len);
		c->deadline = mono_ms() + DNS_TCP_TIMEOUT_MS;
	}
	return 0;
}

static int conn_read(struct dns_conn *c, int idx, dns_conn_query_fn on_query, void *ctx)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);

	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (n == 0) {
		c->eof = 1; /* flush what is queued, then close */
		return 0;
	}
	c->in_len += (size_t)n;
	return conn_process(c, idx, on_query, ctx);
}

static int conn_write(struct dns_conn *c)
{
	ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	c->out_off += (size_t)n;
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
	}
	return 0;
}

void dns_conn_event(struct dns_conn *c, int idx, short revents, dns_conn_query_fn on_query,
		    void *ctx)
{
	int rc = 0;

	if (revents & POLLIN)
		rc = conn_read(c, idx, on_query, ctx);
	if (rc == 0 && (revents & POLLOUT) && c->out.len > c->out_off)
		rc = conn_write(c);
	if (rc == 0 && (revents & POLLHUP) && !(revents & POLLIN))
		c->eof = 1;
	if (rc == 0 && (revents & (POLLERR | POLLNVAL)))
		rc = -1;
	if (rc < 0 || c->out.len > OUT_MAX || (c->eof && c->out.len == c->out_off))
		dns_conn_close(c);
}
