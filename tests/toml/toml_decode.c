/*
 * toml-decode: the toml-test decoder interface for src/toml. Reads a TOML
 * document on stdin and prints it on stdout as toml-test's "tagged JSON"
 * (tables as objects, arrays as arrays, every scalar as
 * {"type": T, "value": "text"}), exit 0; on a parse error prints
 * "toml-decode: line L, column C: message" on stderr, exit 1.
 *
 * The JSON is written by hand so the output path depends on nothing but
 * the parser under test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "toml/toml.h"

static void put_json_string(const char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c); /* UTF-8 passes through: the parser validated it */
	}
	putchar('"');
}

static void put_datetime(const struct toml_value *v)
{
	const struct toml_datetime *dt = toml_datetime(v);
	char frac[16] = "";

	if (dt->has_date)
		printf("%04d-%02d-%02d", dt->year, dt->month, dt->day);
	if (dt->has_date && dt->has_time)
		putchar('T');
	if (dt->has_time) {
		if (dt->nanosecond) {
			int n = 9;

			snprintf(frac, sizeof(frac), ".%09ld", dt->nanosecond);
			while (frac[n] == '0') /* trailing zeros carry no meaning */
				frac[n--] = '\0';
		}
		printf("%02d:%02d:%02d%s", dt->hour, dt->minute, dt->second, frac);
	}
	if (dt->has_offset) {
		int off = dt->offset_minutes, a = off < 0 ? -off : off;

		if (off == 0)
			putchar('Z');
		else
			printf("%c%02d:%02d", off < 0 ? '-' : '+', a / 60, a % 60);
	}
}

static void put_scalar(const struct toml_value *v)
{
	static const char *const tags[] = {
	    [TOML_STRING] = "string",	      [TOML_INTEGER] = "integer",
	    [TOML_FLOAT] = "float",	      [TOML_BOOL] = "bool",
	    [TOML_DATETIME] = "datetime",     [TOML_DATETIME_LOCAL] = "datetime-local",
	    [TOML_DATE_LOCAL] = "date-local", [TOML_TIME_LOCAL] = "time-local",
	};
	enum toml_type t = toml_type(v);
	double f;

	printf("{\"type\": \"%s\", \"value\": ", tags[t]);
	switch (t) {
	case TOML_STRING:
		put_json_string(toml_string(v), toml_string_len(v));
		break;
	case TOML_INTEGER:
		printf("\"%lld\"", toml_integer(v));
		break;
	case TOML_FLOAT:
		f = toml_float(v);
		if (isnan(f))
			fputs("\"nan\"", stdout);
		else if (isinf(f))
			fputs(f < 0 ? "\"-inf\"" : "\"inf\"", stdout);
		else
			printf("\"%.17g\"", f);
		break;
	case TOML_BOOL:
		fputs(toml_bool(v) ? "\"true\"" : "\"false\"", stdout);
		break;
	default:
		putchar('"');
		put_datetime(v);
		putchar('"');
		break;
	}
	putchar('}');
}

static void put_value(const struct toml_value *v)
{
	size_t i;

	switch (toml_type(v)) {
	case TOML_TABLE:
		putchar('{');
		for (i = 0; i < toml_table_len(v); i++) {
			if (i)
				putchar(',');
			put_json_string(toml_table_key(v, i), toml_table_key_len(v, i));
			putchar(':');
			put_value(toml_table_at(v, i));
		}
		putchar('}');
		break;
	case TOML_ARRAY:
		putchar('[');
		for (i = 0; i < toml_array_len(v); i++) {
			if (i)
				putchar(',');
			put_value(toml_array_at(v, i));
		}
		putchar(']');
		break;
	default:
		put_scalar(v);
		break;
	}
}

/* All of stdin in a malloc'd buffer; NULL on read or allocation failure. */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, got;
	char *buf = malloc(cap), *nb;

	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	*len = n;
	return buf;
}

int main(void)
{
	struct toml_error err;
	struct toml_value *root;
	size_t len;
	char *text = read_all(stdin, &len);

	if (!text) {
		fprintf(stderr, "toml-decode: cannot read standard input\n");
		return 2;
	}
	root = toml_parse(text, len, &err);
	free(text);
	if (!root) {
		fprintf(stderr, "toml-decode: line %d, column %d: %s\n", err.line, err.column,
			err.msg);
		return 1;
	}
	put_value(root);
	putchar('\n');
	toml_free(root);
	return fflush(stdout) == 0 ? 0 : 2;
}
