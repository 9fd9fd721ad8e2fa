/*
 * toml_datetime: RFC 3339 dates and times as TOML 1.0 uses them -
 * offset date-time, local date-time, local date, local time.
 *
 * Fields are checked for range (days per month with leap years, second
 * up to 60 for leap seconds, offsets up to 23:59). Seconds are mandatory
 * in TOML 1.0. The date/time separator may be 'T', 't' or a single space.
 */
#include "toml_internal.h"

/* n digits at p->p as a number, or -1 (nothing consumed) if they are not all digits. */
static int num(struct toml_parser *p, int n)
{
	int i, v = 0;

	for (i = 0; i < n; i++)
		if (!toml_scan_is_digit(toml_scan_peek(p, (size_t)i)))
			return -1;
	for (i = 0; i < n; i++)
		v = v * 10 + (*p->p++ - '0');
	return v;
}

static int expect(struct toml_parser *p, char c)
{
	if (toml_scan_peek(p, 0) != (unsigned char)c)
		return -1;
	p->p++;
	return 0;
}

/* Does the value at p->p look like a date (YYYY-) or time (HH:)? */
int toml_datetime_starts(const struct toml_parser *p)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!toml_scan_is_digit(toml_scan_peek(p, (size_t)i)))
			return 0;
	if (toml_scan_peek(p, 2) == ':')
		return 1;
	return toml_scan_is_digit(toml_scan_peek(p, 2)) &&
	       toml_scan_is_digit(toml_scan_peek(p, 3)) && toml_scan_peek(p, 4) == '-';
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

static int date(struct toml_parser *p, struct toml_datetime *dt)
{
	if ((dt->year = num(p, 4)) < 0 || expect(p, '-') < 0 || (dt->month = num(p, 2)) < 0 ||
	    expect(p, '-') < 0 || (dt->day = num(p, 2)) < 0)
		return -1;
	if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
	    dt->day > days_in_month(dt->year, dt->month))
		return -1;
	dt->has_date = 1;
	return 0;
}

static int fraction(struct toml_parser *p, struct toml_datetime *dt)
{
	long scale = 100000000;

	if (toml_scan_peek(p, 0) != '.')
		return 0;
	p->p++;
	if (!toml_scan_is_digit(toml_scan_peek(p, 0)))
		return -1;
	/* keep nanoseconds, drop finer digits */
	for (; toml_scan_is_digit(toml_scan_peek(p, 0)); p->p++, scale /= 10)
		dt->nanosecond += (*p->p - '0') * scale;
	return 0;
}

static int time_of_day(struct toml_parser *p, struct toml_datetime *dt)
{
	if ((dt->hour = num(p, 2)) < 0 || expect(p, ':') < 0 || (dt->minute = num(p, 2)) < 0 ||
	    expect(p, ':') < 0 || (dt->second = num(p, 2)) < 0 || fraction(p, dt) < 0)
		return -1;
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return -1;
	dt->has_time = 1;
	return 0;
}

static int offset(struct toml_parser *p, struct toml_datetime *dt)
{
	int c = toml_scan_peek(p, 0), h, m;

	if (c == 'Z' || c == 'z') {
		p->p++;
		dt->has_offset = 1;
		return 0;
	}
	if (c != '+' && c != '-')
		return 0;
	p->p++;
	if ((h = num(p, 2)) < 0 || expect(p, ':') < 0 || (m = num(p, 2)) < 0 || h > 23 || m > 59)
		return -1;
	dt->offset_minutes = (c == '-' ? -1 : 1) * (h * 60 + m);
	dt->has_offset = 1;
	return 0;
}

/* After a date: is there a time (after 'T', 't' or a space followed by HH:)? */
static int time_follows(struct toml_parser *p)
{
	int c = toml_scan_peek(p, 0);

	if (c == 'T' || c == 't')
		return 1;
	return c == ' ' && toml_scan_is_digit(toml_scan_peek(p, 1)) &&
	       toml_scan_is_digit(toml_scan_peek(p, 2)) && toml_scan_peek(p, 3) == ':';
}

static enum toml_type parse_parts(struct toml_parser *p, struct toml_datetime *dt, int *bad)
{
	*bad = 0;
	if (toml_scan_peek(p, 2) == ':') {
		*bad = time_of_day(p, dt);
		return TOML_TIME_LOCAL;
	}
	if (date(p, dt) < 0) {
		*bad = -1;
		return TOML_DATE_LOCAL;
	}
	if (!time_follows(p))
		return TOML_DATE_LOCAL;
	p->p++;
	if (time_of_day(p, dt) < 0 || offset(p, dt) < 0) {
		*bad = -1;
		return TOML_DATETIME;
	}
	return dt->has_offset ? TOML_DATETIME : TOML_DATETIME_LOCAL;
}

struct toml_value *toml_datetime_parse(struct toml_parser *p)
{
	const char *start = p->p;
	struct toml_datetime dt = {0};
	struct toml_value *v;
	enum toml_type type;
	int bad;

	type = parse_parts(p, &dt, &bad);
	if (bad < 0) {
		const char *e = start;

		while (e < p->end && e - start < 40 && *e != '\n' && *e != '\r' && *e != '#')
			e++;
		toml_scan_fail(p, start, "invalid date/time '%.*s'", (int)(e - start), start);
		return NULL;
	}
	v = toml_value_new(type, toml_scan_line(p, start));
	if (!v) {
		toml_scan_fail(p, start, "out of memory");
		return NULL;
	}
	v->u.dt = dt;
	return v;
}
