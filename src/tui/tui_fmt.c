/* tui_fmt: see tui_fmt.h. */
#include "tui/tui_fmt.h"

#include <stdio.h>
#include <string.h>

#include "util/size.h"

void tui_fmt_mem(long long mib, char *buf, size_t len)
{
	if (mib <= 0)
		snprintf(buf, len, "-");
	else
		size_format(mib << 20, buf, len);
}

void tui_fmt_bytes(long long bytes, char *buf, size_t len)
{
	if (bytes < 0)
		snprintf(buf, len, "-");
	else if (bytes == 0)
		snprintf(buf, len, "0");
	else
		size_format(bytes, buf, len);
}

void tui_fmt_uptime(long long s, char *buf, size_t len)
{
	duration_format(s, buf, len);
}

void tui_fmt_cpu(double pct, char *buf, size_t len)
{
	if (pct < 0)
		snprintf(buf, len, "-");
	else if (pct < 99.95)
		snprintf(buf, len, "%.1f", pct);
	else
		snprintf(buf, len, "%.0f", pct);
}

void tui_fit(const char *s, int width, char *out, size_t len)
{
	size_t n = 0, slen = strlen(s);

	if (len == 0)
		return;
	if (width <= 0) {
		out[0] = '\0';
		return;
	}
	for (; n < slen && n < (size_t)width && n + 1 < len; n++) {
		unsigned char c = (unsigned char)s[n];

		/* Cells are counted in bytes: anything not plain ASCII would break
		 * the column arithmetic (or the terminal), so it shows as '?'. */
		out[n] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	if (n < slen && n > 0)
		out[n - 1] = '~';
	out[n] = '\0';
}
