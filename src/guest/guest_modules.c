/*
 * guest_modules: modules.dep -> load order. See guest_modules.h.
 * A small depth-first topological sort over the entries of the file.
 */
#include "guest/guest_modules.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *path;
	char **deps;
	size_t ndeps;
	int state; /* 0 unvisited, 1 on the DFS stack, 2 emitted */
};

struct graph {
	struct entry *v;
	size_t n;
};

static char *dup_range(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		abort(); /* out of memory is fatal, as in util/buf */
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].path);
		for (size_t j = 0; j < g->v[i].ndeps; j++)
			free(g->v[i].deps[j]);
		free(g->v[i].deps);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

/* Splits the whitespace-separated dependency list s (length n) into en. */
static void parse_deps(const char *s, size_t n, struct entry *en)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		size_t start = i;
		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		if (i > start) {
			en->deps = realloc(en->deps, (en->ndeps + 1) * sizeof(*en->deps));
			if (!en->deps)
				abort();
			en->deps[en->ndeps++] = dup_range(s + start, i - start);
		}
	}
}

static int parse(const char *text, struct graph *g, struct err *e)
{
	const char *line = text;
	int lineno = 0;

	while (*line) {
		size_t len = strcspn(line, "\n");
		const char *colon = memchr(line, ':', len);
		lineno++;
		if (len > 0 && line[0] != '#') {
			if (!colon || colon == line)
				return err_set(e, ERR_INVALID,
					       "modules.dep line %d: want 'path.ko: deps...'",
					       lineno);
			g->v = realloc(g->v, (g->n + 1) * sizeof(*g->v));
			if (!g->v)
				abort();
			struct entry *en = &g->v[g->n++];
			memset(en, 0, sizeof(*en));
			en->path = dup_range(line, (size_t)(colon - line));
			parse_deps(colon + 1, len - (size_t)(colon - line) - 1, en);
		}
		line += len;
		if (*line == '\n')
			line++;
	}
	return 0;
}

static long find(const struct graph *g, const char *path)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->v[i].path, path) == 0)
			return (long)i;
	return -1;
}

static int visit(struct graph *g, size_t i, struct guest_modlist *out, struct err *e)
{
	struct entry *en = &g->v[i];

	if (en->state == 2)
		return 0;
	if (en->state == 1)
		return err_set(e, ERR_INVALID, "modules.dep: dependency cycle through %s",
			       en->path);
	en->state = 1;
	/* depmod lists the deepest dependency last; modprobe walks the list
	 * backwards, and so do we, which keeps our order identical to it. */
	for (size_t j = en->ndeps; j-- > 0;) {
		long d = find(g, en->deps[j]);
		if (d < 0)
			return err_set(e, ERR_INVALID,
				       "modules.dep: %s needs %s, which has no line of its own "
				       "(the initrd is incomplete; rebuild it)",
				       en->path, en->deps[j]);
		if (visit(g, (size_t)d, out, e) < 0)
			return -1;
	}
	en->state = 2;
	out->paths[out->n++] = dup_range(en->path, strlen(en->path));
	return 0;
}

int guest_modules_order(const char *dep_text, struct guest_modlist *out, struct err *e)
{
	struct graph g = {NULL, 0};
	int rc = -1;

	out->paths = NULL;
	out->n = 0;
	if (parse(dep_text, &g, e) < 0)
		goto out;
	out->paths = calloc(g.n ? g.n : 1, sizeof(*out->paths));
	if (!out->paths)
		abort();
	for (size_t i = 0; i < g.n; i++)
		if (visit(&g, i, out, e) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		guest_modules_free(out);
	graph_free(&g);
	return rc;
}

void guest_modules_free(struct guest_modlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = 0;
}

void guest_modules_name(const char *path, char *name, size_t cap)
{
	const char *base = strrchr(path, '/');
	const char *ko;
	size_t n;

	base = base ? base + 1 : path;
	ko = strstr(base, ".ko");
	n = ko ? (size_t)(ko - base) : strlen(base);
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[n] = '\0';
}
