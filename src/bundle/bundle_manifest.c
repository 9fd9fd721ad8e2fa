/* bundle_manifest: see bundle_manifest.h. */
#include "bundle/bundle_manifest.h"

#include <ctype.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle_sha256.h"
#include "toml/toml.h"
#include "util/buf.h"
#include "util/fs.h"

/* The manifest is a few lines; anything this large is not one. */
#define MANIFEST_MAX (1 << 20)

/* A string value of the root table, or an error naming the key. */
static int get_string(const struct toml_value *root, const char *origin, const char *key,
		      const char **out, struct err *e)
{
	const struct toml_value *v = toml_table_get(root, key);

	if (!v) {
		err_set(e, ERR_INVALID, "%s: missing required key '%s'", origin, key);
		err_hint(e, "add a line like %s = \"...\" (make runtime-package prints both lines)",
			 key);
		return -1;
	}
	if (toml_type(v) != TOML_STRING)
		return err_set(e, ERR_INVALID, "%s:%d: '%s' must be a string, not %s", origin,
			       toml_line(v), key, toml_type_name(toml_type(v)));
	*out = toml_string(v);
	return 0;
}

/* A path becomes an absolute file:// URL; real URLs are kept as they are. */
static char *resolve_url(const char *url, const char *base_dir)
{
	char *abs_base, *out;

	if (strstr(url, "://"))
		return xstrdup(url);
	if (url[0] == '/')
		return xasprintf("file://%s", url);
	abs_base = fs_realpath(base_dir ? base_dir : ".");
	out = xasprintf("file://%s/%s", abs_base ? abs_base : base_dir, url);
	free(abs_base);
	return out;
}

static int load_meta(const struct toml_value *t, const char *origin, struct bundle_manifest *m,
		     struct err *e)
{
	size_t n = toml_table_len(t);

	if (toml_type(t) != TOML_TABLE)
		return err_set(e, ERR_INVALID, "%s:%d: bundle_metadata must be a table", origin,
			       toml_line(t));
	m->meta = xcalloc(n ? n : 1, sizeof(*m->meta));
	for (size_t i = 0; i < n; i++) {
		const struct toml_value *v = toml_table_at(t, i);
		const char *key = toml_table_key(t, i);

		if (toml_type(v) != TOML_STRING)
			return err_set(e, ERR_INVALID,
				       "%s:%d: bundle_metadata.%s must be a string, not %s", origin,
				       toml_line(v), key, toml_type_name(toml_type(v)));
		m->meta[i].key = xstrdup(key);
		m->meta[i].value = xstrdup(toml_string(v));
		m->n_meta++;
	}
	return 0;
}

static int check_keys(const struct toml_value *root, const char *origin, struct err *e)
{
	for (size_t i = 0; i < toml_table_len(root); i++) {
		const char *key = toml_table_key(root, i);

		if (strcmp(key, "url") && strcmp(key, "sha256") && strcmp(key, "bundle_metadata"))
			return err_set(e, ERR_INVALID,
				       "%s:%d: unknown key '%s' (expected url, sha256, "
				       "[bundle_metadata])",
				       origin, toml_line(toml_table_at(root, i)), key);
	}
	return 0;
}

int bundle_manifest_parse(const char *text, size_t len, const char *origin, const char *base_dir,
			  struct bundle_manifest *m, struct err *e)
{
	struct toml_error terr = {0};
	struct toml_value *root;
	const struct toml_value *meta;
	const char *url, *sum;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	root = toml_parse(text, len, &terr);
	if (!root)
		return err_set(e, ERR_INVALID, "%s:%d:%d: %s", origin, terr.line, terr.column,
			       terr.msg);
	if (check_keys(root, origin, e) < 0 || get_string(root, origin, "url", &url, e) < 0 ||
	    get_string(root, origin, "sha256", &sum, e) < 0)
		goto out;
	if (!url[0]) {
		err_set(e, ERR_INVALID, "%s: url is empty", origin);
		err_hint(e, "set url to a published bundle, or leave it empty and let "
			    "`make runtime-bundle` build one locally");
		goto out;
	}
	if (!bundle_sha256_valid(sum)) {
		err_set(e, ERR_INVALID, "%s: sha256 \"%s\" is not 64 hex digits", origin, sum);
		err_hint(e, "make runtime-package prints the bundle's SHA-256");
		goto out;
	}
	meta = toml_table_get(root, "bundle_metadata");
	if (meta && load_meta(meta, origin, m, e) < 0)
		goto out;
	m->url = resolve_url(url, base_dir);
	m->sha256 = xstrdup(sum);
	for (char *p = m->sha256; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	rc = 0;
out:
	toml_free(root);
	if (rc < 0)
		bundle_manifest_free(m);
	return rc;
}

int bundle_manifest_load(const char *path, struct bundle_manifest *m, struct err *e)
{
	char *text = NULL, *copy = xstrdup(path);
	size_t len = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (fs_read(path, MANIFEST_MAX, &text, &len, e) < 0) {
		free(copy);
		err_hint(e, "runtime-bundle.toml names the published bundle (url and sha256)");
		return err_wrap(e, "read bundle manifest");
	}
	rc = bundle_manifest_parse(text, len, path, dirname(copy), m, e);
	free(text);
	free(copy);
	return rc;
}

const char *bundle_manifest_meta(const struct bundle_manifest *m, const char *key)
{
	for (size_t i = 0; i < m->n_meta; i++)
		if (strcmp(m->meta[i].key, key) == 0)
			return m->meta[i].value;
	return NULL;
}

void bundle_manifest_free(struct bundle_manifest *m)
{
	for (size_t i = 0; i < m->n_meta; i++) {
		free(m->meta[i].key);
		free(m->meta[i].value);
	}
	free(m->meta);
	free(m->url);
	free(m->sha256);
	memset(m, 0, sizeof(*m));
}
