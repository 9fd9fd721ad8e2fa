/* image_mirror: see image_mirror.h. */
#include "image/image_mirror.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/fs.h"

static int is_security(const char *uri)
{
	return strstr(uri, "security") != NULL;
}

/* deb822: "URIs: a b" lines of stanzas whose Types include deb. The first
 * URI of the right kind wins. */
static char *from_sources(const char *text, int security)
{
	char *copy = xstrdup(text), *save = NULL, *found = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *save2 = NULL, *tok;

		if (strncasecmp(line, "URIs:", 5) != 0)
			continue;
		for (tok = strtok_r(line + 5, " \t\r", &save2); tok;
		     tok = strtok_r(NULL, " \t\r", &save2)) {
			if (image_mirror_ok(tok) && is_security(tok) == !!security) {
				found = xstrdup(tok);
				break;
			}
		}
	}
	free(copy);
	return found;
}

/* One-line style: "deb [options] URI suite components". */
static char *from_list(const char *text, int security)
{
	char *copy = xstrdup(text), *save = NULL, *found = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *save2 = NULL, *tok = strtok_r(line, " \t\r", &save2);
		int in_opts = 0;

		if (!tok || strcmp(tok, "deb") != 0)
			continue;
		while ((tok = strtok_r(NULL, " \t\r", &save2))) {
			if (tok[0] == '[')
				in_opts = 1;
			if (in_opts) {
				if (strchr(tok, ']'))
					in_opts = 0;
				continue;
			}
			if (image_mirror_ok(tok) && is_security(tok) == !!security)
				found = xstrdup(tok);
			break; /* the first word after the options is the URI */
		}
	}
	free(copy);
	return found;
}

static char *scan_dir(const char *dir, const char *suffix, int security, int deb822)
{
	struct dirent **ents = NULL;
	char *found = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name), sl = strlen(suffix);

		if (!found && len > sl && strcmp(ents[i]->d_name + len - sl, suffix) == 0) {
			char *path = xasprintf("%s/%s", dir, ents[i]->d_name), *text = NULL;

			if (fs_read(path, 1 << 20, &text, NULL, NULL) == 0)
				found = deb822 ? from_sources(text, security)
					       : from_list(text, security);
			free(text);
			free(path);
		}
		free(ents[i]);
	}
	free(ents);
	return found;
}

char *image_mirror_host(const char *apt_dir, int security)
{
	char *dir = xasprintf("%s/sources.list.d", apt_dir), *list, *text = NULL, *found;

	found = scan_dir(dir, ".sources", security, 1);
	if (!found) {
		list = xasprintf("%s/sources.list", apt_dir);
		if (fs_read(list, 1 << 20, &text, NULL, NULL) == 0)
			found = from_list(text, security);
		free(text);
		free(list);
	}
	if (!found)
		found = scan_dir(dir, ".list", security, 0);
	free(dir);
	if (!found)
		found = xstrdup(security ? "http://deb.debian.org/debian-security"
					 : "http://deb.debian.org/debian");
	return found;
}

int image_mirror_ok(const char *s)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0 &&
	    strncmp(s, "file:/", 6) != 0)
		return 0;
	if (strlen(s) > 400)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\'' || *p == '\\' || *p == 0x7f)
			return 0;
	return 1;
}

int image_mirror_suite_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}
