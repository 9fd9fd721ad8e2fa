/* port_spec: see port_spec.h. */
#include "daemon/port_spec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int port_num(const char *s, size_t len, int *out)
{
	long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

int port_spec_parse(const char *text, struct port_spec *out, struct err *e)
{
	const char *last = strrchr(text, ':'), *first = strchr(text, ':');
	struct in_addr a;

	memset(out, 0, sizeof(*out));
	if (!last)
		goto bad;
	if (port_num(last + 1, strlen(last + 1), &out->guest) < 0)
		goto bad;
	if (first == last) {
		snprintf(out->addr, sizeof(out->addr), "127.0.0.1");
		if (port_num(text, (size_t)(last - text), &out->host) < 0)
			goto bad;
		return 0;
	}
	{
		const char *mid = last - 1;
		size_t alen;

		while (mid > text && *mid != ':')
			mid--;
		alen = (size_t)(mid - text);
		if (port_num(mid + 1, (size_t)(last - mid - 1), &out->host) < 0 || alen == 0 ||
		    alen >= sizeof(out->addr))
			goto bad;
		memcpy(out->addr, text, alen);
		out->addr[alen] = '\0';
		if (inet_pton(AF_INET, out->addr, &a) != 1)
			return err_set(e, ERR_INVALID,
				       "published port \"%s\": \"%s\" is not an IPv4 "
				       "address",
				       ERR_Q(text), ERR_Q(out->addr));
		inet_ntop(AF_INET, &a, out->addr, sizeof(out->addr));
	}
	return 0;
bad:
	err_set(e, ERR_INVALID, "published port \"%s\" is not [HOSTADDR:]HOSTPORT:GUESTPORT",
		ERR_Q(text));
	err_hint(e, "for example 8080:80 (127.0.0.1:8080 on the host to port 80 in the VM) or "
		    "0.0.0.0:8080:80; ports are 1-65535");
	return -1;
}

void port_spec_format(const struct port_spec *p, char *out, size_t len)
{
	snprintf(out, len, "%s:%d:%d", p->addr, p->host, p->guest);
}

int port_list_parse(const char *text, struct port_spec *out, int max, struct err *e)
{
	int n = 0;

	while (text && *text) {
		const char *end = strchr(text, ',');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		char one[64];

		if (n >= max)
			return err_set(e, ERR_INVALID, "more than %d published ports", max);
		if (len >= sizeof(one))
			return err_set(e, ERR_INVALID, "a published port is too long");
		memcpy(one, text, len);
		one[len] = '\0';
		if (port_spec_parse(one, &out[n++], e) < 0)
			return -1;
		text = end ? end + 1 : NULL;
	}
	return n;
}

int port_list_format(const struct port_spec *p, int n, char *out, size_t len, struct err *e)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		char one[64];
		int w;

		port_spec_format(&p[i], one, sizeof(one));
		w = snprintf(out + used, len - used, "%s%s", i ? "," : "", one);
		if (w < 0 || (size_t)w >= len - used)
			return err_set(e, ERR_INVALID, "too many published ports for one VM");
		used += (size_t)w;
	}
	return 0;
}

int port_spec_clash(const struct port_spec *a, const struct port_spec *b)
{
	return a->host == b->host && (!strcmp(a->addr, b->addr) || !strcmp(a->addr, "0.0.0.0") ||
				      !strcmp(b->addr, "0.0.0.0"));
}
