/*
 * dns_conn: one DNS-over-TCP connection of dns_server (internal).
 *
 * RFC 1035 4.2.2 / RFC 7766 framing: each message is preceded by its length
 * in 2 bytes; a client may pipeline queries and replies may come back in any
 * order (they carry the query's ID). A connection must deliver each complete
 * query within DNS_TCP_TIMEOUT_MS or it is closed, so a silent or slow client
 * cannot hold a slot. Not thread-safe: the server thread owns it.
 */
#ifndef BANGER_DNS_DNS_CONN_H
#define BANGER_DNS_DNS_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct dns_conn {
	int fd;	      /* -1: slot free */
	unsigned gen; /* changes on every open, to spot replies for a closed one */
	int eof;      /* the client finished sending: close once flushed */
	long long deadline;
	uint8_t *in;
	size_t in_len;
	struct buf out;
	size_t out_off;
};

/* Called with each complete message; len 0 is a (malformed) empty message. */
typedef void (*dns_conn_query_fn)(void *ctx, int idx, const uint8_t *q, size_t len);

/* Takes over fd (non-blocking) into the free slot c. */
void dns_conn_open(struct dns_conn *c, int fd, unsigned gen, long long now_ms);
/* Closes and frees; the slot becomes free. Accepts a free slot. */
void dns_conn_close(struct dns_conn *c);
/* The poll events c waits for. */
short dns_conn_events(const struct dns_conn *c);
/* Handles poll revents: reads, calls on_query(ctx, idx, ...) per complete
 * message, writes what is queued. Closes c on error, EOF once flushed, an
 * empty message or a client that stopped reading its replies. */
void dns_conn_event(struct dns_conn *c, int idx, short revents, dns_conn_query_fn on_query,
		    void *ctx);
/* Queues one reply with its length prefix. */
void dns_conn_queue(struct dns_conn *c, const uint8_t *pkt, size_t len);

#endif
