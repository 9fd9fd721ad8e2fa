/*
 * toml_parse: the document grammar - keys, values, arrays, inline tables,
 * [table] and [[array]] headers - and TOML's rules about which tables
 * may be defined, extended or traversed again.
 *
 * Redefinition rules, by the kind of table found (see enum toml_table_kind):
 *   - a [header] may pass through any non-inline table, or the last
 *     element of an array of tables; it may define a table that does not
 *     exist yet or was only implied by an earlier header;
 *   - a dotted key may pass through tables created by dotted keys (or
 *     only implied by headers), never through [header]-defined or inline
 *     tables or any array;
 *   - inline tables and inline arrays are closed once written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

static struct toml_value *parse_value(struct toml_parser *p, int depth);

static void key_free(struct toml_key *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->parts[i].s);
	k->n = 0;
}

static int is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* One key part: bare or single-line quoted. */
static int key_part(struct toml_parser *p, struct toml_keypart *kp)
{
	int c = toml_scan_peek(p, 0);
	const char *s = p->p;

	kp->pos = p->p;
	if (c == '"' || c == '\'')
		return toml_string_parse(p, 0, &kp->s, &kp->len);
	while (p->p < p->end && is_bare((unsigned char)*p->p))
		p->p++;
	if (p->p == s) {
		if (c < 0 || c == '\n' || c == '\r')
			toml_scan_fail(p, s, "expected a key");
		else if (c >= 0x20 && c < 0x7f)
			toml_scan_fail(p, s, "expected a key, found '%c'", c);
		else
			toml_scan_fail(
			    p, s, "invalid character in key; quote keys that are not A-Za-z0-9_-");
		return -1;
	}
	kp->len = (size_t)(p->p - s);
	kp->s = malloc(kp->len + 1);
	if (!kp->s) {
		toml_scan_fail(p, s, "out of memory");
		return -1;
	}
	memcpy(kp->s, s, kp->len);
	kp->s[kp->len] = '\0';
	return 0;
}

/* A possibly dotted key, with whitespace allowed around the dots. */
static int parse_key(struct toml_parser *p, struct toml_key *k)
{
	k->n = 0;
	for (;;) {
		toml_scan_ws(p);
		if (k->n == TOML_MAX_KEY_PARTS) {
			toml_scan_fail(p, p->p, "key has more than %d parts", TOML_MAX_KEY_PARTS);
			return -1;
		}
		if (key_part(p, &k->parts[k->n]) < 0)
			return -1;
		k->n++;
		toml_scan_ws(p);
		if (toml_scan_peek(p, 0) != '.')
			return 0;
		p->p++;
	}
}

/* The first n parts of k joined with dots, for messages (truncated to fit). */
static const char *key_name(const struct toml_key *k, size_t n, char *buf, size_t size)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used + 1 < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? "." : "", k->parts[i].s);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

static struct toml_value *new_value(struct toml_parser *p, enum toml_type type, const char *at)
{
	struct toml_value *v = toml_value_new(type, toml_scan_line(p, at));

	if (!v)
		toml_scan_fail(p, at, "out of memory");
	return v;
}

/* Insert v under kp into t, freeing v if that fails. */
static int insert(struct toml_parser *p, struct toml_value *t, const struct toml_keypart *kp,
		  struct toml_value *v)
{
	if (toml_value_insert(t, kp->s, kp->len, v) < 0) {
		toml_free(v);
		toml_scan_fail(p, kp->pos, "out of memory");
		return -1;
	}
	return 0;
}

/* A new table of the given kind under kp in t; NULL on failure. */
static struct toml_value *add_table(struct toml_parser *p, struct toml_value *t,
				    const struct toml_keypart *kp, enum toml_table_kind kind)
{
	struct toml_value *v = new_value(p, TOML_TABLE, kp->pos);

	if (!v)
		return NULL;
	v->u.t.kind = kind;
	return insert(p, t, kp, v) < 0 ? NULL : v;
}

static int check_depth(struct toml_parser *p, int depth, const char *at)
{
	if (depth <= TOML_MAX_DEPTH)
		return 0;
	toml_scan_fail(p, at, "nesting deeper than %d levels", TOML_MAX_DEPTH);
	return -1;
}

/*
 * Walk the dotted key's leading parts from table t for a key/value pair,
 * creating dotted tables; returns the table that gets the last part.
 * *depth is t's depth on entry and the result's on return.
 */
static struct toml_value *dotted_walk(struct toml_parser *p, struct toml_value *t,
				      const struct toml_key *k, int *depth)
{
	size_t i;

	for (i = 0; i + 1 < k->n; i++) {
		const struct toml_keypart *kp = &k->parts[i];
		struct toml_value *next = toml_value_find(t, kp->s, kp->len);
		char name[128];

		if (check_depth(p, ++*depth, kp->pos) < 0)
			return NULL;
		if (!next) {
			next = add_table(p, t, kp, TOML_TK_DOTTED);
		} else if (next->type != TOML_TABLE) {
			toml_scan_fail(
			    p, kp->pos, "key '%s' already holds a value of type %s, not a table",
			    key_name(k, i + 1, name, sizeof(name)), toml_type_name(next->type));
			return NULL;
		} else if (next->u.t.kind == TOML_TK_HEADER || next->u.t.kind == TOML_TK_INLINE) {
			toml_scan_fail(p, kp->pos,
				       "cannot add keys to table '%s' defined elsewhere",
				       key_name(k, i + 1, name, sizeof(name)));
			return NULL;
		}
		if (!next)
			return NULL;
		if (next->u.t.kind == TOML_TK_IMPLICIT)
			next->u.t.kind = TOML_TK_DOTTED;
		t = next;
	}
	return t;
}

/* key = value, stored into table t at depth; used for sections and inline tables. */
static int parse_keyval(struct toml_parser *p, struct toml_value *t, int depth)
{
	struct toml_key k;
	const struct toml_keypart *last;
	struct toml_value *v;
	int rc = -1;

	if (parse_key(p, &k) < 0)
		goto out;
	if (toml_scan_peek(p, 0) != '=') {
		toml_scan_fail(p, p->p, "expected '=' after key '%s'", k.parts[k.n - 1].s);
		goto out;
	}
	p->p++;
	toml_scan_ws(p);
	t = dotted_walk(p, t, &k, &depth);
	if (!t)
		goto out;
	last = &k.parts[k.n - 1];
	if (toml_value_find(t, last->s, last->len)) {
		char name[128];

		toml_scan_fail(p, last->pos, "duplicate key '%s'",
			       key_name(&k, k.n, name, sizeof(name)));
		goto out;
	}
	v = parse_value(p, depth + 1);
	if (!v || insert(p, t, last, v) < 0)
		goto out;
	rc = 0;
out:
	key_free(&k);
	return rc;
}

static struct toml_value *parse_array(struct toml_parser *p, int depth)
{
	struct toml_value *a = new_value(p, TOML_ARRAY, p->p);

	if (!a)
		return NULL;
	p->p++;
	for (;;) {
		struct toml_value *v;

		if (toml_scan_blank(p) < 0)
			goto fail;
		if (toml_scan_peek(p, 0) == ']')
			break;
		v = parse_value(p, depth + 1);
		if (!v)
			goto fail;
		if (toml_value_push(a, v) < 0) {
			toml_free(v);
			toml_scan_fail(p, p->p, "out of memory");
			goto fail;
		}
		if (toml_scan_blank(p) < 0)
			goto fail;
		if (toml_scan_peek(p, 0) == ']')
			break;
		if (toml_scan_peek(p, 0) != ',') {
			toml_scan_fail(p, p->p, "expected ',' or ']' in array");
			goto fail;
		}
		p->p++;
	}
	p->p++;
	return a;
fail:
	toml_free(a);
	return NULL;
}

/* { k = v, ... } on one line, no trailing comma (TOML 1.0). */
static struct toml_value *parse_inline_table(struct toml_parser *p, int depth)
{
	struct toml_value *t = new_value(p, TOML_TABLE, p->p);

	if (!t)
		return NULL;
	t->u.t.kind = TOML_TK_INLINE;
	p->p++;
	toml_scan_ws(p);
	if (toml_scan_peek(p, 0) == '}') {
		p->p++;
		return t;
	}
	for (;;) {
		if (parse_keyval(p, t, depth) < 0)
			goto fail;
		toml_scan_ws(p);
		if (toml_scan_peek(p, 0) == '}')
			break;
		if (toml_scan_peek(p, 0) != ',') {
			toml_scan_fail(
			    p, p->p,
			    "expected ',' or '}' in inline table (which must fit on one line)");
			goto fail;
		}
		p->p++;
		toml_scan_ws(p);
		if (toml_scan_peek(p, 0) == '}') {
			toml_scan_fail(p, p->p, "trailing comma in inline table");
			goto fail;
		}
	}
	p->p++;
	return t;
fail:
	toml_free(t);
	return NULL;
}

static struct toml_value *parse_string_value(struct toml_parser *p)
{
	struct toml_value *v = new_value(p, TOML_STRING, p->p);

	if (v && toml_string_parse(p, 1, &v->u.s.ptr, &v->u.s.len) < 0) {
		toml_free(v);
		return NULL;
	}
	return v;
}

/* true/false; the caller's end-of-value check rejects "truex". */
static struct toml_value *parse_bool(struct toml_parser *p)
{
	int val = toml_scan_peek(p, 0) == 't';
	const char *word = val ? "true" : "false";
	size_t n = strlen(word);
	struct toml_value *v;

	if ((size_t)(p->end - p->p) < n || memcmp(p->p, word, n) != 0) {
		toml_scan_fail(
		    p, p->p,
		    "invalid value (booleans are lowercase true/false; strings need quotes)");
		return NULL;
	}
	v = new_value(p, TOML_BOOL, p->p);
	if (v)
		v->u.b = val;
	p->p += n;
	return v;
}

static struct toml_value *parse_value(struct toml_parser *p, int depth)
{
	int c = toml_scan_peek(p, 0);

	if (check_depth(p, depth, p->p) < 0)
		return NULL;
	switch (c) {
	case '"':
	case '\'':
		return parse_string_value(p);
	case '[':
		return parse_array(p, depth);
	case '{':
		return parse_inline_table(p, depth);
	case 't':
	case 'f':
		return parse_bool(p);
	case -1:
	case '\n':
	case '\r':
	case '#':
		toml_scan_fail(p, p->p, "missing value");
		return NULL;
	default:
		break;
	}
	if (toml_datetime_starts(p))
		return toml_datetime_parse(p);
	return toml_number_parse(p);
}

/*
 * Walk a header's leading parts from the root, creating implicit tables
 * and stepping into the last element of arrays of tables.
 */
static struct toml_value *header_walk(struct toml_parser *p, const struct toml_key *k, int *depth)
{
	struct toml_value *t = p->root;
	size_t i;

	*depth = 0;
	for (i = 0; i + 1 < k->n; i++) {
		const struct toml_keypart *kp = &k->parts[i];
		struct toml_value *next = toml_value_find(t, kp->s, kp->len);
		char name[128];

		if (check_depth(p, ++*depth, kp->pos) < 0)
			return NULL;
		key_name(k, i + 1, name, sizeof(name));
		if (!next && !(next = add_table(p, t, kp, TOML_TK_IMPLICIT)))
			return NULL;
		if (next->type == TOML_ARRAY && next->u.a.is_aot) {
			if (check_depth(p, ++*depth, kp->pos) < 0)
				return NULL;
			next = next->u.a.items[next->u.a.len - 1];
		} else if (next->type == TOML_ARRAY ||
			   (next->type == TOML_TABLE && next->u.t.kind == TOML_TK_INLINE)) {
			toml_scan_fail(p, kp->pos, "cannot extend '%s': it is an inline %s", name,
				       toml_type_name(next->type));
			return NULL;
		} else if (next->type != TOML_TABLE) {
			toml_scan_fail(p, kp->pos,
				       "key '%s' already holds a value of type %s, not a table",
				       name, toml_type_name(next->type));
			return NULL;
		}
		t = next;
	}
	return t;
}

/* Last part of [a.b]: define the table (once). */
static struct toml_value *define_table(struct toml_parser *p, struct toml_value *t,
				       const struct toml_key *k)
{
	const struct toml_keypart *kp = &k->parts[k->n - 1];
	struct toml_value *v = toml_value_find(t, kp->s, kp->len);
	char name[128];

	if (!v)
		return add_table(p, t, kp, TOML_TK_HEADER);
	if (v->type != TOML_TABLE || v->u.t.kind != TOML_TK_IMPLICIT) {
		toml_scan_fail(p, kp->pos, "%s '%s' is already defined", toml_type_name(v->type),
			       key_name(k, k->n, name, sizeof(name)));
		return NULL;
	}
	v->u.t.kind = TOML_TK_HEADER;
	v->line = toml_scan_line(p, kp->pos);
	return v;
}

/* Last part of [[a.b]]: append a new table to the array of tables. */
static struct toml_value *append_table(struct toml_parser *p, struct toml_value *t,
				       const struct toml_key *k)
{
	const struct toml_keypart *kp = &k->parts[k->n - 1];
	struct toml_value *a = toml_value_find(t, kp->s, kp->len), *v;
	char name[128];

	if (!a) {
		a = new_value(p, TOML_ARRAY, kp->pos);
		if (!a || insert(p, t, kp, a) < 0)
			return NULL;
		a->u.a.is_aot = 1;
	} else if (a->type != TOML_ARRAY || !a->u.a.is_aot) {
		toml_scan_fail(p, kp->pos,
			       "%s '%s' is already defined, cannot make it an array of tables",
			       toml_type_name(a->type), key_name(k, k->n, name, sizeof(name)));
		return NULL;
	}
	v = new_value(p, TOML_TABLE, kp->pos);
	if (!v)
		return NULL;
	v->u.t.kind = TOML_TK_HEADER;
	if (toml_value_push(a, v) < 0) {
		toml_free(v);
		toml_scan_fail(p, kp->pos, "out of memory");
		return NULL;
	}
	return v;
}

/* [a.b.c] or [[a.b.c]]; makes the named table the current section. */
static int parse_header(struct toml_parser *p)
{
	int aot = toml_scan_peek(p, 1) == '[', depth, rc = -1;
	struct toml_value *t, *sect;
	struct toml_key k = {.n = 0};

	p->p += aot ? 2 : 1;
	if (parse_key(p, &k) < 0)
		goto out;
	if (toml_scan_peek(p, 0) != ']' || (aot && toml_scan_peek(p, 1) != ']')) {
		toml_scan_fail(p, p->p, "expected '%s' to close the table header",
			       aot ? "]]" : "]");
		goto out;
	}
	p->p += aot ? 2 : 1;
	t = header_walk(p, &k, &depth);
	if (!t || check_depth(p, depth + 1 + aot, k.parts[k.n - 1].pos) < 0)
		goto out;
	sect = aot ? append_table(p, t, &k) : define_table(p, t, &k);
	if (!sect)
		goto out;
	p->cur = sect;
	p->cur_depth = depth + 1 + aot;
	rc = 0;
out:
	key_free(&k);
	return rc;
}

static int parse_document(struct toml_parser *p)
{
	/* a UTF-8 byte order mark is not part of the document */
	if (p->end - p->p >= 3 && memcmp(p->p, "\xef\xbb\xbf", 3) == 0)
		p->p += 3;
	for (;;) {
		if (toml_scan_blank(p) < 0)
			return -1;
		if (toml_scan_eof(p))
			return 0;
		if (*p->p == '[') {
			if (parse_header(p) < 0)
				return -1;
		} else if (parse_keyval(p, p->cur, p->cur_depth) < 0) {
			return -1;
		}
		if (toml_scan_eol(p) < 0)
			return -1;
	}
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct toml_parser p = {.err = err, .line = 1};
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!text) {
		if (len) {
			if (err)
				snprintf(err->msg, sizeof(err->msg), "no input text");
			return NULL;
		}
		text = "";
	}
	p.start = p.p = p.line_pos = text;
	p.end = text + len;
	if (toml_scan_utf8(&p) < 0)
		return NULL;
	p.root = toml_value_new(TOML_TABLE, 0);
	if (!p.root) {
		toml_scan_fail(&p, text, "out of memory");
		return NULL;
	}
	p.root->u.t.kind = TOML_TK_HEADER;
	p.cur = p.root;
	rc = parse_document(&p);
	if (p.c_locale)
		freelocale(p.c_locale);
	if (rc < 0) {
		toml_free(p.root);
		return NULL;
	}
	return p.root;
}
