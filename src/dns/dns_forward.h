/*
 * dns_forward: relays queries for zones other than vm. to upstream resolvers.
 *
 * Each forwarded query gets its own UDP socket, connect()ed to one upstream,
 * and a fresh random ID: the kernel then drops datagrams from any other
 * address, and a spoofer must guess a random source port and a random ID.
 * Upstreams are tried in order, DNS_FORWARD_TRY_MS each; a SERVFAIL, REFUSED
 * or NOTIMP answer, or an ICMP "port unreachable", moves on to the next one
 * at once. The last upstream's answer is relayed whatever its rcode; when
 * none answers, the client gets SERVFAIL. Queries from TCP clients are
 * relayed over UDP too, so an upstream answer too big for UDP reaches them
 * truncated (TC set); names a guest looks up rarely need more. Not
 * thread-safe: the server's thread owns it.
 */
#ifndef BANGER_DNS_DNS_FORWARD_H
#define BANGER_DNS_DNS_FORWARD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/dns_upstream.h"
#include "util/log.h"

#define DNS_FORWARD_PENDING_MAX 64 /* queries in flight; more get SERVFAIL */
#define DNS_FORWARD_TRY_MS 2000	   /* per upstream; glibc's own timeout is 5 s */
#define DNS_FORWARD_QUERY_MAX 1232 /* longer queries are not relayed */

/* Who asked: a UDP peer, or TCP connection slot `conn` in generation `gen`. */
struct dns_client {
	int tcp;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int conn;
	unsigned gen;
};

/* Hands a finished reply (with the client's ID restored) back to the server. */
typedef void (*dns_deliver_fn)(void *ctx, const struct dns_client *c, const uint8_t *pkt,
			       size_t len);

struct dns_forward;

/* Copies the n upstreams (n may be 0: every submit then fails). */
struct dns_forward *dns_forward_new(const struct dns_upstream *ups, size_t n, struct logger *log,
				    dns_deliver_fn deliver, void *ctx);
/* Closes every socket; pending clients get no answer. Accepts NULL. */
void dns_forward_free(struct dns_forward *f);

/* Starts relaying query q. fallback is the reply sent, as SERVFAIL, when no
 * upstream answers (dns_packet_answer's REFUSED reply). Returns 0, or -1
 * when it cannot (no upstream, table full, query too long, no socket): the
 * caller answers itself. */
int dns_forward_submit(struct dns_forward *f, const uint8_t *q, size_t qlen,
		       const uint8_t *fallback, size_t flen, const struct dns_client *c,
		       long long now_ms);

/* Appends one pollfd per query in flight to fds (at most max) and returns
 * how many it added. */
size_t dns_forward_pollfds(struct dns_forward *f, struct pollfd *fds, size_t max);

/* Handles revents on one of the fds dns_forward_pollfds gave. */
void dns_forward_on_event(struct dns_forward *f, int fd, short revents, long long now_ms);

/* Moves timed-out queries to the next upstream or answers SERVFAIL. */
void dns_forward_tick(struct dns_forward *f, long long now_ms);

/* The earliest deadline in flight, or -1 when nothing is. */
long long dns_forward_next_deadline(const struct dns_forward *f);

#endif
