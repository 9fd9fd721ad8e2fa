/*
 * toml_value: the value tree - construction for the parser, the public
 * read-only accessors, and toml_free().
 *
 * Tables keep their entries in insertion order in a flat array. Small
 * tables are searched linearly; past TOML_INDEX_MIN entries a hash index
 * is added so documents with huge tables still parse in linear time. If
 * the index cannot be allocated it is dropped and lookup falls back to
 * the scan, which is slower but still correct.
 * Recursion in toml_free() is bounded by TOML_MAX_DEPTH, enforced by the
 * parser.
 */
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

#define TOML_INDEX_MIN 16

struct toml_value *toml_value_new(enum toml_type type, int line)
{
	struct toml_value *v = calloc(1, sizeof(*v));

	if (v) {
		v->type = type;
		v->line = line;
	}
	return v;
}

/* Grow *items (element size sz) so one more fits; -1 when out of memory. */
static int grow(void **items, size_t *cap, size_t len, size_t sz)
{
	size_t ncap;
	void *n;

	if (len < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > ((size_t)-1) / sz)
		return -1;
	n = realloc(*items, ncap * sz);
	if (!n)
		return -1;
	*items = n;
	*cap = ncap;
	return 0;
}

/* FNV-1a: simple and good enough for short keys. */
static size_t key_hash(const char *key, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

static int key_is(const struct toml_entry *e, const char *key, size_t len)
{
	return e->key_len == len && memcmp(e->key, key, len) == 0;
}

struct toml_value *toml_value_find(const struct toml_value *t, const char *key, size_t len)
{
	size_t i, mask = t->u.t.index_cap - 1;

	if (t->u.t.index) {
		for (i = key_hash(key, len) & mask; t->u.t.index[i]; i = (i + 1) & mask) {
			const struct toml_entry *e = &t->u.t.items[t->u.t.index[i] - 1];

			if (key_is(e, key, len))
				return e->val;
		}
		return NULL;
	}
	for (i = 0; i < t->u.t.len; i++)
		if (key_is(&t->u.t.items[i], key, len))
			return t->u.t.items[i].val;
	return NULL;
}

static void index_add(struct toml_value *t, size_t n)
{
	const struct toml_entry *e = &t->u.t.items[n];
	size_t mask = t->u.t.index_cap - 1, i;

	for (i = key_hash(e->key, e->key_len) & mask; t->u.t.index[i]; i = (i + 1) & mask)
		;
	t->u.t.index[i] = n + 1;
}

/* Keep the index covering every entry (rebuilt at twice the size when half full). */
static void index_update(struct toml_value *t)
{
	size_t cap, n;

	if (t->u.t.len < TOML_INDEX_MIN)
		return;
	if (t->u.t.index && t->u.t.len * 2 < t->u.t.index_cap) {
		index_add(t, t->u.t.len - 1);
		return;
	}
	free(t->u.t.index);
	for (cap = 64; cap <= t->u.t.len * 4; cap *= 2)
		;
	t->u.t.index = calloc(cap, sizeof(*t->u.t.index));
	if (!t->u.t.index)
		return;
	t->u.t.index_cap = cap;
	for (n = 0; n < t->u.t.len; n++)
		index_add(t, n);
}

/* Append key -> v to table t (key copied, v owned by t on success). */
int toml_value_insert(struct toml_value *t, const char *key, size_t len, struct toml_value *v)
{
	struct toml_entry *e;
	char *k;

	if (grow((void **)&t->u.t.items, &t->u.t.cap, t->u.t.len, sizeof(*e)) < 0)
		return -1;
	k = malloc(len + 1);
	if (!k)
		return -1;
	memcpy(k, key, len);
	k[len] = '\0';
	e = &t->u.t.items[t->u.t.len++];
	e->key = k;
	e->key_len = len;
	e->val = v;
	index_update(t);
	return 0;
}

/* Append v to array a (owned by a on success). */
int toml_value_push(struct toml_value *a, struct toml_value *v)
{
	if (grow((void **)&a->u.a.items, &a->u.a.cap, a->u.a.len, sizeof(v)) < 0)
		return -1;
	a->u.a.items[a->u.a.len++] = v;
	return 0;
}

void toml_free(struct toml_value *v)
{
	size_t i;

	if (!v)
		return;
	switch (v->type) {
	case TOML_STRING:
		free(v->u.s.ptr);
		break;
	case TOML_ARRAY:
		for (i = 0; i < v->u.a.len; i++)
			toml_free(v->u.a.items[i]);
		free(v->u.a.items);
		break;
	case TOML_TABLE:
		for (i = 0; i < v->u.t.len; i++) {
			free(v->u.t.items[i].key);
			toml_free(v->u.t.items[i].val);
		}
		free(v->u.t.items);
		free(v->u.t.index);
		break;
	default:
		break;
	}
	free(v);
}

enum toml_type toml_type(const struct toml_value *v)
{
	return v->type;
}

const char *toml_type_name(enum toml_type t)
{
	static const char *const names[] = {
	    [TOML_STRING] = "string",	      [TOML_INTEGER] = "integer",
	    [TOML_FLOAT] = "float",	      [TOML_BOOL] = "boolean",
	    [TOML_DATETIME] = "datetime",     [TOML_DATETIME_LOCAL] = "local datetime",
	    [TOML_DATE_LOCAL] = "local date", [TOML_TIME_LOCAL] = "local time",
	    [TOML_ARRAY] = "array",	      [TOML_TABLE] = "table",
	};

	if ((unsigned)t >= sizeof(names) / sizeof(names[0]) || !names[t])
		return "unknown";
	return names[t];
}

int toml_line(const struct toml_value *v)
{
	return v ? v->line : 0;
}

static int is(const struct toml_value *v, enum toml_type t)
{
	return v && v->type == t;
}

size_t toml_table_len(const struct toml_value *t)
{
	return is(t, TOML_TABLE) ? t->u.t.len : 0;
}

const char *toml_table_key(const struct toml_value *t, size_t i)
{
	return i < toml_table_len(t) ? t->u.t.items[i].key : NULL;
}

size_t toml_table_key_len(const struct toml_value *t, size_t i)
{
	return i < toml_table_len(t) ? t->u.t.items[i].key_len : 0;
}

const struct toml_value *toml_table_at(const struct toml_value *t, size_t i)
{
	return i < toml_table_len(t) ? t->u.t.items[i].val : NULL;
}

const struct toml_value *toml_table_get(const struct toml_value *t, const char *key)
{
	if (!is(t, TOML_TABLE) || !key)
		return NULL;
	return toml_value_find(t, key, strlen(key));
}

size_t toml_array_len(const struct toml_value *a)
{
	return is(a, TOML_ARRAY) ? a->u.a.len : 0;
}

const struct toml_value *toml_array_at(const struct toml_value *a, size_t i)
{
	return i < toml_array_len(a) ? a->u.a.items[i] : NULL;
}

const char *toml_string(const struct toml_value *v)
{
	return is(v, TOML_STRING) ? v->u.s.ptr : NULL;
}

size_t toml_string_len(const struct toml_value *v)
{
	return is(v, TOML_STRING) ? v->u.s.len : 0;
}

long long toml_integer(const struct toml_value *v)
{
	return is(v, TOML_INTEGER) ? v->u.i : 0;
}

double toml_float(const struct toml_value *v)
{
	return is(v, TOML_FLOAT) ? v->u.f : 0.0;
}

int toml_bool(const struct toml_value *v)
{
	return is(v, TOML_BOOL) ? v->u.b : 0;
}

const struct toml_datetime *toml_datetime(const struct toml_value *v)
{
	if (!v)
		return NULL;
	switch (v->type) {
	case TOML_DATETIME:
	case TOML_DATETIME_LOCAL:
	case TOML_DATE_LOCAL:
	case TOML_TIME_LOCAL:
		return &v->u.dt;
	default:
		return NULL;
	}
}
