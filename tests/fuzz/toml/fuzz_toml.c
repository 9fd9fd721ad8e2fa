/*
 * libFuzzer target for the TOML parser (src/toml) and the config mapping
 * on top of it (config_parse): any input must be parsed or refused without
 * a crash, leak or sanitizer report. A refusal carries a position and a
 * message; an accepted document must hold up when walked: every key is
 * found again by lookup, every string is valid UTF-8 of the length the
 * tree claims, every line is inside the input. Built with clang by
 * tests/fuzz/run.sh, outside meson.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "toml/toml.h"
#include "util/utf8.h"

static int lines_in(const uint8_t *data, size_t size)
{
	int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void walk(const struct toml_value *v, int depth, int max_line)
{
	size_t n;

	if (depth > TOML_MAX_DEPTH + 1 || toml_line(v) < 0 || toml_line(v) > max_line)
		abort();
	switch (toml_type(v)) {
	case TOML_TABLE:
		n = toml_table_len(v);
		for (size_t i = 0; i < n; i++) {
			const char *k = toml_table_key(v, i);
			size_t kl = toml_table_key_len(v, i);

			if (!k || !utf8_valid(k, kl))
				abort();
			/* A key without a NUL inside is found again by name. */
			if (strlen(k) == kl && toml_table_get(v, k) != toml_table_at(v, i))
				abort();
			walk(toml_table_at(v, i), depth + 1, max_line);
		}
		break;
	case TOML_ARRAY:
		n = toml_array_len(v);
		for (size_t i = 0; i < n; i++)
			walk(toml_array_at(v, i), depth + 1, max_line);
		break;
	case TOML_STRING:
		if (!toml_string(v) || !utf8_valid(toml_string(v), toml_string_len(v)))
			abort();
		break;
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		if (!toml_datetime(v))
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error terr;
	struct toml_value *root = toml_parse((const char *)data, size, &terr);
	struct config cfg;
	struct err e;

	if (!root) {
		if (terr.line < 1 || terr.column < 1 || !memchr(terr.msg, '\0', sizeof(terr.msg)) ||
		    !terr.msg[0])
			abort();
	} else {
		if (toml_type(root) != TOML_TABLE)
			abort();
		walk(root, 0, lines_in(data, size));
		toml_free(root);
	}
	/* The same text as a config file: accepted or a clean error. */
	memset(&cfg, 0, sizeof(cfg));
	config_defaults(&cfg);
	err_clear(&e);
	if (config_parse(&cfg, "fuzz.toml", (const char *)data, size, &e) < 0 &&
	    (e.code == ERR_OK || !e.msg[0] || !utf8_valid(e.msg, strlen(e.msg))))
		abort();
	config_free(&cfg);
	return 0;
}
