/* share_spec: see share_spec.h. */
#include "share/share_spec.h"

#include <stdio.h>
#include <string.h>

/* Top-level directories of a Debian system that a share must not hide. */
static const char *const system_dirs[] = {
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
    "/run", "/sbin", "/sys", "/tmp", "/usr", "/var",   "/root",	 "/home",
};
/* Trees whose contents belong to the kernel or to systemd. */
static const char *const system_trees[] = {"/proc/", "/sys/", "/dev/", "/run/", "/boot/"};

static int path_check(const char *what, const char *path, struct err *e)
{
	size_t n = strlen(path);

	if (n == 0)
		return err_set(e, ERR_INVALID, "%s is empty", what);
	if (path[0] != '/')
		return err_set(e, ERR_INVALID, "%s \"%s\" is not absolute", what, ERR_Q(path));
	if (n >= SHARE_PATH_MAX)
		return err_set(e, ERR_INVALID, "%s \"%s\" is longer than %d bytes", what,
			       ERR_Q(path), SHARE_PATH_MAX - 1);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set(e, ERR_INVALID, "%s \"%s\" has a control character", what,
				       ERR_Q(path));
	/* Clean: every component non-empty and neither "." nor "..". */
	for (const char *c = path + 1; n > 1;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return err_set(e, ERR_INVALID,
				       "%s \"%s\" is not a clean path (empty, \".\" or \"..\" "
				       "component, or a trailing /)",
				       what, ERR_Q(path));
		if (!end)
			break;
		c = end + 1;
	}
	return 0;
}

int share_host_path_check(const char *path, struct err *e)
{
	return path_check("host directory", path, e);
}

int share_guest_path_check(const char *path, struct err *e)
{
	if (path_check("guest path", path, e) < 0)
		return -1;
	if (!strcmp(path, "/"))
		return err_set(e, ERR_INVALID, "a share cannot be mounted at the guest's /");
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++)
		if (!strcmp(path, system_dirs[i]))
			goto system;
	for (size_t i = 0; i < sizeof(system_trees) / sizeof(system_trees[0]); i++)
		if (!strncmp(path, system_trees[i], strlen(system_trees[i])))
			goto system;
	return 0;
system:
	err_set(e, ERR_INVALID, "guest path %s is a system directory of the guest", path);
	err_hint(e, "mount the share below it instead, e.g. %s/share (or /root/share)",
		 !strcmp(path, "/root") ? "/root" : "/mnt");
	return -1;
}

int share_spec_parse(const char *text, struct share_spec *out, struct err *e)
{
	char buf[2 * SHARE_PATH_MAX + 8];
	char *parts[3] = {NULL, NULL, NULL};
	int n = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return err_set(e, ERR_INVALID, "share \"%s\" is too long", ERR_Q(text));
	strcpy(buf, text);
	for (char *p = buf, *colon; n < 3; p = colon + 1) {
		parts[n++] = p;
		colon = strchr(p, ':');
		if (!colon)
			break;
		*colon = '\0';
		if (n == 3)
			return err_set(e, ERR_INVALID,
				       "share \"%s\" has more than three parts; the form is "
				       "HOSTDIR[:GUESTPATH][:ro]",
				       ERR_Q(text));
	}
	/* A last part "ro" or "rw" is the mode; two parts may be HOST:ro. */
	if (n >= 2 && (!strcmp(parts[n - 1], "ro") || !strcmp(parts[n - 1], "rw"))) {
		out->ro = !strcmp(parts[n - 1], "ro");
		parts[--n] = NULL;
	} else if (n == 3) {
		return err_set(e, ERR_INVALID,
			       "share \"%s\": the mode must be ro or rw, not \"%s\"", ERR_Q(text),
			       ERR_Q(parts[2]));
	}
	if (!parts[0][0])
		return err_set(e, ERR_INVALID,
			       "share \"%s\" has no host directory; the form is "
			       "HOSTDIR[:GUESTPATH][:ro]",
			       ERR_Q(text));
	if (strlen(parts[0]) >= SHARE_PATH_MAX)
		return err_set(e, ERR_INVALID, "host directory \"%s\" is too long",
			       ERR_Q(parts[0]));
	strcpy(out->host, parts[0]);
	if (n == 2) {
		if (share_guest_path_check(parts[1], e) < 0)
			return -1;
		strcpy(out->guest, parts[1]);
	}
	return 0;
}

int share_list_parse(const char *list, struct share_spec *out, int max, struct err *e)
{
	int n = 0;

	for (const char *p = list; *p;) {
		const char *nl = strchr(p, '\n'), *t1, *t2;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct share_spec s = {0};
		size_t hl, gl;

		t1 = memchr(p, '\t', len);
		t2 = t1 ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - p)) : NULL;
		if (!t1 || !t2 || t1 - p != 2 || (strncmp(p, "ro", 2) && strncmp(p, "rw", 2)))
			return err_set(e, ERR_INTERNAL, "bad share record \"%.*s\"", (int)len, p);
		hl = (size_t)(t2 - t1 - 1);
		gl = len - (size_t)(t2 + 1 - p);
		if (hl >= SHARE_PATH_MAX || gl >= SHARE_PATH_MAX)
			return err_set(e, ERR_INTERNAL, "share record too long");
		if (n >= max)
			return err_set(e, ERR_INVALID, "more than %d shares", max);
		s.ro = p[1] == 'o';
		memcpy(s.host, t1 + 1, hl);
		memcpy(s.guest, t2 + 1, gl);
		out[n++] = s;
		p += len;
		if (*p == '\n')
			p++;
	}
	return n;
}

int share_list_format(const struct share_spec *specs, int n, char *out, size_t len, struct err *e)
{
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + off, len - off, "%s%s\t%s\t%s", i ? "\n" : "",
				 specs[i].ro ? "ro" : "rw", specs[i].host, specs[i].guest);

		if (w < 0 || (size_t)w >= len - off)
			return err_set(e, ERR_INVALID, "the shares' paths are too long together");
		off += (size_t)w;
	}
	return 0;
}

int share_list_find(const struct share_spec *specs, int n, const char *which)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(specs[i].guest, which) || !strcmp(specs[i].host, which))
			return i;
	return -1;
}
