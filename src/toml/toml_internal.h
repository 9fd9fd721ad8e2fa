/*
 * toml_internal: shared definitions of the parser's files. Not installed,
 * not for users of the module (they see only toml.h).
 *
 * Invariants: the parser state's text has been checked to be valid UTF-8
 * before any other stage runs, so later stages only look at ASCII bytes
 * and copy everything else through. Once p->failed is set, the first
 * error stays in p->err and every stage unwinds without further work.
 */
#ifndef BANGER_TOML_INTERNAL_H
#define BANGER_TOML_INTERNAL_H

#include <locale.h>
#include <stddef.h>

#include "toml.h"

/* Most parts in one dotted key; real keys have a handful. */
#define TOML_MAX_KEY_PARTS 64

/*
 * How a table came to exist; decides which later definitions may reuse it
 * (TOML's redefinition rules).
 */
enum toml_table_kind {
	TOML_TK_IMPLICIT, /* middle part of a [a.b.c] header; may be defined later */
	TOML_TK_HEADER,	  /* defined by a [header] or [[header]] */
	TOML_TK_DOTTED,	  /* created by a dotted key a.b = 1 */
	TOML_TK_INLINE,	  /* { ... }: closed, never extended */
};

struct toml_entry {
	char *key;
	size_t key_len;
	struct toml_value *val;
};

struct toml_value {
	enum toml_type type;
	int line;
	union {
		struct {
			char *ptr;
			size_t len;
		} s;
		long long i;
		double f;
		int b;
		struct toml_datetime dt;
		struct {
			struct toml_value **items;
			size_t len, cap;
			int is_aot; /* array of tables built by [[headers]] */
		} a;
		struct {
			struct toml_entry *items;
			size_t len, cap;
			size_t *index;	  /* open-addressed entry numbers + 1, or NULL */
			size_t index_cap; /* power of two, > 2 * len when index is set */
			enum toml_table_kind kind;
		} t;
	} u;
};

struct toml_parser {
	const char *start, *p, *end;
	struct toml_error *err;
	int failed;
	/* line-number cache: line of position line_pos (only moves forward) */
	const char *line_pos;
	int line;
	locale_t c_locale;	       /* created on first float, for strtod_l */
	struct toml_value *root, *cur; /* root table; table of the current section */
	int cur_depth;		       /* containers between root and cur */
};

/* One part of a dotted key, with where it starts (for messages). */
struct toml_keypart {
	char *s;
	size_t len;
	const char *pos;
};

struct toml_key {
	struct toml_keypart parts[TOML_MAX_KEY_PARTS];
	size_t n;
};

/* toml_value.c: building the tree. Constructors return NULL when out of memory. */
struct toml_value *toml_value_new(enum toml_type type, int line);
struct toml_value *toml_value_find(const struct toml_value *t, const char *key, size_t len);
int toml_value_insert(struct toml_value *t, const char *key, size_t len, struct toml_value *v);
int toml_value_push(struct toml_value *a, struct toml_value *v);

/* toml_scan.c: position, errors, whitespace, comments, newlines. */
void toml_scan_fail(struct toml_parser *p, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int toml_scan_line(struct toml_parser *p, const char *at);
int toml_scan_utf8(struct toml_parser *p);
int toml_scan_eof(const struct toml_parser *p);
int toml_scan_peek(const struct toml_parser *p, size_t off);
void toml_scan_ws(struct toml_parser *p);
int toml_scan_newline(struct toml_parser *p);
int toml_scan_comment(struct toml_parser *p);
int toml_scan_blank(struct toml_parser *p);
int toml_scan_eol(struct toml_parser *p);
int toml_scan_is_ctrl(unsigned char c);
int toml_scan_is_digit(int c);

/* toml_string.c: the four string forms; *out is malloc'd and NUL-terminated. */
int toml_string_parse(struct toml_parser *p, int allow_multiline, char **out, size_t *len);

/* toml_number.c: integers, floats (incl. inf/nan). */
struct toml_value *toml_number_parse(struct toml_parser *p);

/* toml_datetime.c: offset/local date-times, dates, times. */
int toml_datetime_starts(const struct toml_parser *p);
struct toml_value *toml_datetime_parse(struct toml_parser *p);

#endif
