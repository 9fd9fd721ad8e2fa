/* image_pkgs: see image_pkgs.h. */
#include "image/image_pkgs.h"

#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

int image_pkgs_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 128)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* 1 if name is already in the comma-separated list. */
static int listed(const struct buf *csv, const char *name)
{
	const char *p = buf_str(csv);
	size_t n = strlen(name);

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

int image_pkgs_parse(const char *text, const char *name, struct buf *csv, struct err *e)
{
	char *copy = xstrdup(text), *save = NULL, *line;
	int lineno = 0, ret = -1;

	/* strtok_r would skip empty lines and break the numbering: split by hand. */
	for (line = copy; line; line = save) {
		char *hash, *word;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		word = trim(line);
		if (!*word)
			continue;
		if (!image_pkgs_name_ok(word)) {
			err_set(e, ERR_INVALID, "%s line %d: \"%s\" is not a Debian package name",
				name, lineno, word);
			err_hint(
			    e,
			    "one package per line ('#' starts a comment); names use lowercase "
			    "letters, digits, '+', '-' and '.', start with a letter or digit and "
			    "have at least two characters");
			goto out;
		}
		if (listed(csv, word))
			continue;
		if (csv->len)
			buf_putc(csv, ',');
		buf_puts(csv, word);
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

int image_pkgs_load(const char *path, struct buf *csv, struct err *e)
{
	char *text = NULL;
	int ret;

	if (fs_read(path, 1 << 20, &text, NULL, e) < 0)
		return err_wrap(e, "package list %s", path);
	ret = image_pkgs_parse(text, path, csv, e);
	free(text);
	return ret;
}
