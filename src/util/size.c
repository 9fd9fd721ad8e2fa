/* size: see size.h. */
#include "util/size.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int bad(struct err *e, const char *s, const char *why)
{
	err_set(e, ERR_INVALID, "invalid size \"%s\": %s", ERR_Q(s), why);
	err_hint(e, "use a whole number with an optional K, M, G or T suffix, e.g. 16G");
	return -1;
}

int size_parse(const char *s, long long *out, struct err *e)
{
	const char *p = s;
	unsigned long long v = 0, mul = 1;

	if (!s || !*s)
		return bad(e, s ? s : "", "empty");
	if (*p == '-')
		return bad(e, s, "must be positive");
	if (!isdigit((unsigned char)*p))
		return bad(e, s, "not a number");
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return bad(e, s, "too large");
		v = v * 10 + (unsigned)(*p - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case 'T':
		mul <<= 10; /* fall through */
	case 'G':
		mul <<= 10; /* fall through */
	case 'M':
		mul <<= 10; /* fall through */
	case 'K':
		mul <<= 10;
		p++;
		if (strcasecmp(p, "iB") == 0)
			p += 2;
		break;
	default:
		break;
	}
	if (toupper((unsigned char)*p) == 'B')
		p++;
	if (*p == '.')
		return bad(e, s, "fractions are not supported");
	if (*p)
		return bad(e, s, "unknown suffix");
	if (v == 0)
		return bad(e, s, "must be greater than zero");
	if (v > (unsigned long long)LLONG_MAX / mul)
		return bad(e, s, "too large");
	*out = (long long)(v * mul);
	return 0;
}

void size_format(long long bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lldB", bytes);
	else if (v == (long long)v)
		snprintf(buf, len, "%lld%c", (long long)v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

void duration_format(long long s, char *buf, size_t len)
{
	if (s <= 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
}
