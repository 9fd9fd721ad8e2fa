/*
 * dns_upstream: the resolvers banger's DNS responder forwards other zones to.
 *
 * They come from the host's resolv.conf. Loopback servers are skipped: a
 * host-local stub (systemd-resolved's 127.0.0.53, a dnsmasq on 127.0.0.1)
 * is usually bound to loopback only for the host's own use, and when
 * /etc/resolv.conf lists only such a stub, systemd-resolved's list of real
 * servers in /run/systemd/resolve/resolv.conf is used instead.
 */
#ifndef BANGER_DNS_DNS_UPSTREAM_H
#define BANGER_DNS_DNS_UPSTREAM_H

#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

#define DNS_UPSTREAM_MAX 3 /* glibc's MAXNS: resolv.conf lines past it are ignored */

struct dns_upstream {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* Parses "ADDR" or "ADDR:PORT" (IPv4), "ADDR" or "[ADDR]:PORT" (IPv6, scope
 * ids allowed). The port defaults to 53. Numeric only: no name lookup. */
int dns_upstream_parse(const char *spec, struct dns_upstream *out, struct err *e);

/* Collects up to max `nameserver` entries from resolv.conf text, skipping
 * loopback, unspecified and unparsable ones. Returns how many it stored. */
size_t dns_upstream_from_resolv_conf(const char *text, struct dns_upstream *out, size_t max);

/* The host's upstreams: /etc/resolv.conf, else systemd-resolved's
 * /run/systemd/resolve/resolv.conf. Returns the count; 0 when there are none
 * (the responder then answers REFUSED for other zones). */
size_t dns_upstream_host(struct dns_upstream *out, size_t max);

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.x, and for 0.0.0.0 / :: (which
 * mean "this host"). */
int dns_upstream_is_local(const struct dns_upstream *u);

/* 1 when a and b are the same address and port. */
int dns_upstream_equal(const struct dns_upstream *a, const struct dns_upstream *b);

/* Formats the address as "ADDR:PORT" / "[ADDR]:PORT" for logs. */
void dns_upstream_format(const struct dns_upstream *u, char *buf, size_t len);

#endif
