/*
 * toml: a standalone TOML 1.0.0 parser (libc only, no banger knowledge).
 *
 * toml_parse() turns a whole document into an immutable tree of values.
 * The tree is owned by the caller and released with toml_free() on the
 * root; every pointer handed out by the accessors (values, keys, strings,
 * datetimes) points into that tree and stays valid until then.
 *
 * The accessors are forgiving: given NULL or a value of the wrong type
 * they return a neutral result (NULL, 0) instead of crashing, so a caller
 * can check the type once with toml_type() and report a clear error.
 *
 * The parser accepts exactly TOML 1.0.0 (checked against toml-test): the
 * whole input must be valid UTF-8, a leading BOM is skipped, and nesting
 * deeper than TOML_MAX_DEPTH containers is rejected so hostile input
 * cannot exhaust the stack.
 */
#ifndef BANGER_TOML_H
#define BANGER_TOML_H

#include <stddef.h>

/* Deepest nesting of tables/arrays accepted, counted from the root. */
#define TOML_MAX_DEPTH 128

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,	     /* date, time and UTC offset */
	TOML_DATETIME_LOCAL, /* date and time, no offset */
	TOML_DATE_LOCAL,     /* date only */
	TOML_TIME_LOCAL,     /* time only */
	TOML_ARRAY,
	TOML_TABLE,
};

/*
 * A date, time or both. Fields that the value's type does not carry are
 * zero; has_* say which parts are present. nanosecond holds the fraction
 * of a second (digits beyond nanoseconds are truncated). second may be 60
 * (leap second), as RFC 3339 allows.
 */
struct toml_datetime {
	int year, month, day;
	int hour, minute, second;
	long nanosecond;
	int has_date, has_time, has_offset;
	int offset_minutes; /* east of UTC; 0 for "Z" */
};

/* Filled by toml_parse() on failure: 1-based line and column (in characters). */
struct toml_error {
	int line;
	int column;
	char msg[256];
};

struct toml_value;

/*
 * Parse len bytes of text (need not be NUL-terminated). Returns the root
 * table, to be released with toml_free(), or NULL with *err filled in (err
 * may be NULL if the caller does not care why).
 */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err);

/* Release a tree returned by toml_parse(). Accepts NULL. */
void toml_free(struct toml_value *v);

/* Type of v. v must not be NULL. */
enum toml_type toml_type(const struct toml_value *v);

/* "string", "integer", "float", "boolean", "datetime", ... for messages. */
const char *toml_type_name(enum toml_type t);

/*
 * 1-based line where v was defined: a table's [header] line (or the line
 * of the first key that created it implicitly), otherwise the line where
 * the value starts. 0 for the root table and for NULL.
 */
int toml_line(const struct toml_value *v);

/* Tables. Entries keep insertion order. Out-of-range or non-table: 0/NULL. */
size_t toml_table_len(const struct toml_value *t);
const char *toml_table_key(const struct toml_value *t, size_t i);
/* Key length in bytes; keys may contain NUL via "\u0000". */
size_t toml_table_key_len(const struct toml_value *t, size_t i);
const struct toml_value *toml_table_at(const struct toml_value *t, size_t i);
/* Value stored under the NUL-terminated key, or NULL if absent. */
const struct toml_value *toml_table_get(const struct toml_value *t, const char *key);

/* Arrays. Out-of-range or non-array: 0/NULL. */
size_t toml_array_len(const struct toml_value *a);
const struct toml_value *toml_array_at(const struct toml_value *a, size_t i);

/*
 * Scalars. toml_string() is NUL-terminated but may contain NUL bytes
 * (from "\u0000"); toml_string_len() gives the true length. Wrong type
 * yields NULL / 0 / 0.0.
 */
const char *toml_string(const struct toml_value *v);
size_t toml_string_len(const struct toml_value *v);
long long toml_integer(const struct toml_value *v);
double toml_float(const struct toml_value *v);
int toml_bool(const struct toml_value *v);
/* Any of the four date/time types; NULL otherwise. */
const struct toml_datetime *toml_datetime(const struct toml_value *v);

#endif
