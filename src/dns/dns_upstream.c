/*
 * dns_upstream: parse upstream resolver addresses and read the host's list
 * from resolv.conf. Addresses are numeric (getaddrinfo with AI_NUMERICHOST),
 * so nothing here ever sends a packet.
 */
#include "dns/dns_upstream.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLVED_CONF "/run/systemd/resolve/resolv.conf"
#define RESOLV_CONF_MAX (64 * 1024)

static int numeric_addr(const char *host, const char *port, struct dns_upstream *out)
{
	struct addrinfo hints = {0}, *res = NULL;
	struct in_addr v4;

	/* getaddrinfo would take inet_aton's forms ("1.2.3", "0x7f.1"): only
	 * the dotted quad is an IPv4 address here. */
	if (!strchr(host, ':') && inet_pton(AF_INET, host, &v4) != 1)
		return -1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Splits spec into host and port in the caller's buffers. */
static int split_host_port(const char *spec, char *host, size_t hlen, const char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	*port = "53";
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -1;
		n = (size_t)(close - spec - 1);
		if (close[1] == ':')
			*port = close + 2;
		spec++;
	} else if (colon && strchr(spec, ':') == colon) {
		n = (size_t)(colon - spec); /* exactly one colon: IPv4:port */
		*port = colon + 1;
	} else {
		n = strlen(spec); /* no colon, or a bare IPv6 address */
	}
	if (n == 0 || n >= hlen || **port == '\0')
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	return 0;
}

int dns_upstream_parse(const char *spec, struct dns_upstream *out, struct err *e)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *port;
	char *end;

	if (split_host_port(spec, host, sizeof(host), &port) < 0)
		goto bad;
	long p = strtol(port, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		goto bad;
	if (numeric_addr(host, port, out) < 0)
		goto bad;
	return 0;
bad:
	err_set(e, ERR_INVALID, "invalid DNS upstream '%s'", spec);
	err_hint(e, "give an IP address, optionally with a port: 192.0.2.53, 192.0.2.53:5353, "
		    "[2001:db8::53]:53");
	return -1;
}

int dns_upstream_is_local(const struct dns_upstream *u)
{
	if (u->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&u->addr;
		uint32_t a = ntohl(s->sin_addr.s_addr);
		return (a >> 24) == 127 || a == 0;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&u->addr)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return a6->s6_addr[12] == 127 || (a6->s6_addr32[3] == 0);
	return IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6);
}

size_t dns_upstream_from_resolv_conf(const char *text, struct dns_upstream *out, size_t max)
{
	size_t n = 0;
	const char *line = text;

	while (line && *line && n < max) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256], word[16], addr[128];

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			/* "nameserver ADDR": the keyword must start the line. */
			if (sscanf(buf, "%15s %127s", word, addr) == 2 &&
			    strcmp(word, "nameserver") == 0 && buf[0] == 'n' &&
			    numeric_addr(addr, "53", &out[n]) == 0 &&
			    !dns_upstream_is_local(&out[n]))
				n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

static size_t from_file(const char *path, struct dns_upstream *out, size_t max)
{
	char *text = NULL;
	size_t n;

	if (fs_read(path, RESOLV_CONF_MAX, &text, NULL, NULL) < 0)
		return 0;
	n = dns_upstream_from_resolv_conf(text, out, max);
	free(text);
	return n;
}

size_t dns_upstream_host(struct dns_upstream *out, size_t max)
{
	size_t n = from_file(RESOLV_CONF, out, max);

	return n ? n : from_file(RESOLVED_CONF, out, max);
}

int dns_upstream_equal(const struct dns_upstream *a, const struct dns_upstream *b)
{
	if (a->addr.ss_family != b->addr.ss_family)
		return 0;
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

void dns_upstream_format(const struct dns_upstream *u, char *buf, size_t len)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)&u->addr, u->len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (u->addr.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
}
