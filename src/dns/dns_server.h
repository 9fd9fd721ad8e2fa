/*
 * dns_server: banger's DNS responder for the vm. zone, on UDP and TCP.
 *
 * One thread runs a poll() loop over the UDP socket, the TCP listener, up to
 * DNS_TCP_MAX connections (RFC 1035 4.2.2 framing: a 2-byte length before
 * each message; pipelined queries are fine) and the queries in flight to
 * upstream resolvers. Replies come from dns_packet; other zones are
 * forwarded (see dns_packet.h for why). Malformed packets are dropped,
 * counted, and logged at debug level with the running count.
 *
 * Threading: the lookup callback runs on the server's thread, concurrently
 * with the caller's threads, so it must be thread-safe (e.g. take the lock
 * that guards the daemon's VM table). It should not block: every query
 * waits for it.
 */
#ifndef BANGER_DNS_DNS_SERVER_H
#define BANGER_DNS_DNS_SERVER_H

#include <stddef.h>

#include "dns/dns_packet.h"
#include "dns/dns_upstream.h"
#include "util/err.h"
#include "util/log.h"

#define DNS_TCP_MAX 8		 /* concurrent TCP connections */
#define DNS_TCP_TIMEOUT_MS 10000 /* to deliver each complete query */

struct dns_server_config {
	const char *bind_addr; /* numeric IPv4 or IPv6 address */
	int port;	       /* 0: any free port (see dns_server_port) */
	dns_lookup_fn lookup;
	void *ctx;
	/* Where other zones go. NULL with n_upstreams 0: none, answer REFUSED. */
	const struct dns_upstream *upstreams;
	size_t n_upstreams;
};

struct dns_server;

/*
 * Binds UDP and TCP on bind_addr:port and starts the server thread.
 * Other zones are forwarded to the host's resolvers (dns_upstream_host:
 * /etc/resolv.conf without loopback entries); with none, they get REFUSED.
 * Returns the server, or NULL with e set (address not on this host, port in
 * use, no permission for a port below 1024). log may be NULL; it must
 * outlive the server.
 */
struct dns_server *dns_server_start(const char *bind_addr, int port, dns_lookup_fn lookup,
				    void *ctx, struct logger *log, struct err *e);

/* Same, with explicit upstreams (tests, or a configured list). An upstream
 * equal to the server's own address is ignored, so it cannot loop. */
struct dns_server *dns_server_start_config(const struct dns_server_config *cfg, struct logger *log,
					   struct err *e);

/* Stops the thread, closes every socket and frees s. Blocks for at most one
 * poll round. Accepts NULL. */
void dns_server_stop(struct dns_server *s);

/* The port actually bound (useful after asking for port 0). */
int dns_server_port(const struct dns_server *s);

/* How many malformed packets were dropped so far. Safe from any thread. */
unsigned long dns_server_dropped(const struct dns_server *s);

#endif
