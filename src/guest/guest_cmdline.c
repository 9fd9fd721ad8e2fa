/*
 * guest_cmdline: parse /proc/cmdline into struct guest_cmdline.
 * Pure: no I/O, so it is unit-tested on the host. See guest_cmdline.h for
 * the parameter contract.
 */
#include "guest/guest_cmdline.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool guest_cmdline_valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > GUEST_HOSTNAME_MAX)
		return false;
	if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '.')
			return false;
	}
	return true;
}

/* inet_pton alone accepts exactly the dotted-quad form we want (no octal,
 * no short forms), which is what networkd and resolv.conf expect. */
bool guest_cmdline_valid_ipv4(const char *s)
{
	struct in_addr a;

	return strlen(s) < GUEST_IPV4_STR && inet_pton(AF_INET, s, &a) == 1;
}

static int parse_ip(const char *v, struct guest_cmdline *out, struct err *e)
{
	const char *slash = strchr(v, '/');
	char addr[GUEST_IPV4_STR];
	char *end;
	long prefix;

	if (!slash || (size_t)(slash - v) >= sizeof(addr))
		goto bad;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (!guest_cmdline_valid_ipv4(addr) || !isdigit((unsigned char)slash[1]))
		goto bad;
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 1 || prefix > 32)
		goto bad;
	snprintf(out->ip, sizeof(out->ip), "%s", addr);
	out->prefix = (int)prefix;
	return 0;
bad:
	return err_set(e, ERR_INVALID,
		       "%s=%s: want an IPv4 address with prefix, e.g. 172.30.0.5/24",
		       GUEST_PARAM_IP, v);
}

static int parse_dns(const char *v, struct guest_cmdline *out, struct err *e)
{
	const char *p = v;

	out->ndns = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (out->ndns == GUEST_DNS_MAX)
			return err_set(e, ERR_INVALID, "%s=%s: at most %d name servers",
				       GUEST_PARAM_DNS, v, GUEST_DNS_MAX);
		if (n == 0 || n >= GUEST_IPV4_STR)
			goto bad;
		memcpy(out->dns[out->ndns], p, n);
		out->dns[out->ndns][n] = '\0';
		if (!guest_cmdline_valid_ipv4(out->dns[out->ndns]))
			goto bad;
		out->ndns++;
		p += n;
		if (*p == ',' && *++p == '\0')
			goto bad; /* trailing comma */
	}
	if (out->ndns == 0)
		goto bad;
	return 0;
bad:
	out->ndns = 0;
	return err_set(e, ERR_INVALID,
		       "%s=%s: want IPv4 addresses separated by commas, e.g. 1.1.1.1,9.9.9.9",
		       GUEST_PARAM_DNS, v);
}

static int add_mmio(const char *v, struct guest_cmdline *out, struct err *e)
{
	size_t used = strlen(out->mmio_params);
	int n = snprintf(out->mmio_params + used, sizeof(out->mmio_params) - used, "%sdevice=%s",
			 used ? " " : "", v);

	if (n < 0 || (size_t)n >= sizeof(out->mmio_params) - used)
		return err_set(e, ERR_INVALID, "too many %s parameters (over %d bytes)",
			       GUEST_PARAM_MMIO_DEVICE, GUEST_MMIO_PARAMS_MAX);
	return 0;
}

/* Applies one key=value parameter. Parameters we do not own are skipped. */
static int apply(const char *key, const char *v, struct guest_cmdline *out, struct err *e)
{
	if (strcmp(key, GUEST_PARAM_HOSTNAME) == 0) {
		if (!guest_cmdline_valid_hostname(v))
			return err_set(
			    e, ERR_INVALID,
			    "%s=%s: want 1-%d letters, digits, '-' or '.', e.g. calm-otter", key, v,
			    GUEST_HOSTNAME_MAX);
		snprintf(out->hostname, sizeof(out->hostname), "%s", v);
	} else if (strcmp(key, GUEST_PARAM_IP) == 0) {
		return parse_ip(v, out, e);
	} else if (strcmp(key, GUEST_PARAM_GW) == 0) {
		if (!guest_cmdline_valid_ipv4(v))
			return err_set(e, ERR_INVALID,
				       "%s=%s: want an IPv4 address, e.g. 172.30.0.1", key, v);
		snprintf(out->gw, sizeof(out->gw), "%s", v);
	} else if (strcmp(key, GUEST_PARAM_DNS) == 0) {
		return parse_dns(v, out, e);
	} else if (strcmp(key, GUEST_PARAM_INIT) == 0) {
		if (v[0] != '/' || strlen(v) >= sizeof(out->init))
			return err_set(e, ERR_INVALID,
				       "%s=%s: want an absolute path, e.g. /sbin/init", key, v);
		snprintf(out->init, sizeof(out->init), "%s", v);
	} else if (strcmp(key, GUEST_PARAM_MMIO_DEVICE) == 0) {
		return add_mmio(v, out, e);
	}
	return 0;
}

/* Copies the next token of *p into tok (quotes removed, as the kernel's
 * next_arg does) and advances *p. Returns false at the end of the line. */
static bool next_token(const char **p, char *tok, size_t cap)
{
	const char *s = *p;
	bool quoted = false;
	size_t n = 0;

	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return false;
	for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < cap)
			tok[n++] = *s;
	}
	tok[n] = '\0';
	*p = s;
	return true;
}

int guest_cmdline_parse(const char *text, struct guest_cmdline *out, struct err *e)
{
	char tok[4096];
	const char *p = text;

	memset(out, 0, sizeof(*out));
	snprintf(out->init, sizeof(out->init), "/sbin/init");
	while (next_token(&p, tok, sizeof(tok))) {
		char *eq = strchr(tok, '=');
		if (strcmp(tok, "--") == 0)
			break;
		if (!eq)
			continue;
		*eq = '\0';
		if (apply(tok, eq + 1, out, e) < 0)
			return -1;
	}
	if (out->gw[0] && !out->ip[0])
		return err_set(e, ERR_INVALID, "%s=%s given without %s", GUEST_PARAM_GW, out->gw,
			       GUEST_PARAM_IP);
	return 0;
}
