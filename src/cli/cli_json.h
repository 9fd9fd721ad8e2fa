/*
 * cli_json: JSON text printed as it came from bangerd, without building a
 * tree: `vm list --json` of 1,000 VMs is 1 MB, and parsing it and dumping
 * it again cost 300,000 instructions per VM (bench/callgrind-list).
 */
#ifndef BANGER_CLI_CLI_JSON_H
#define BANGER_CLI_CLI_JSON_H

#include <stddef.h>

#include "util/buf.h"

/* The value of key in the top-level object of text (its span in text).
 * -1 if text is not an object or has no such key. */
int cli_json_member(const char *text, size_t len, const char *key, const char **val, size_t *vlen);

/* Appends the JSON value text[0, len) to out laid out exactly as jansson's
 * json_dumps(JSON_INDENT(2)) lays it out, member order kept (bangerd sends
 * keys in strcmp order, so this is also JSON_SORT_KEYS's output). Strings
 * are copied as they are escaped. -1 (out unchanged) if the text is not
 * one balanced JSON value. */
int cli_json_indent(const char *text, size_t len, struct buf *out);

#endif
