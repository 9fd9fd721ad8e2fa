/* tui_log: see tui_log.h. */
#include "tui/tui_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

/* Index just past the escape sequence starting at line[i] (an ESC). */
static size_t skip_escape(const char *line, size_t len, size_t i)
{
	i++;
	if (i >= len)
		return i;
	if (line[i] == '[') { /* CSI: parameters, then one final byte */
		for (i++; i < len; i++)
			if ((unsigned char)line[i] >= 0x40 && (unsigned char)line[i] <= 0x7e)
				return i + 1;
		return i;
	}
	if (line[i] == ']') { /* OSC: up to BEL or ESC \ */
		for (i++; i < len; i++) {
			if (line[i] == '\a')
				return i + 1;
			if (line[i] == 27)
				return i + 2 <= len ? i + 2 : len;
		}
		return i;
	}
	return i + 1; /* two-byte sequence such as ESC c */
}

char *tui_log_clean(const char *line, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)line[i];

		if (c == 27) {
			i = skip_escape(line, len, i);
			continue;
		}
		if (c == '\r') {
			/* A terminal would overwrite the text before it; a CR
			 * ending the line (CRLF) changes nothing. */
			if (i + 1 < len)
				buf_reset(&b);
		} else if (c == '\t') {
			do
				buf_putc(&b, ' ');
			while (b.len % 8);
		} else if (c >= 0x20 && c < 0x7f) {
			buf_putc(&b, (char)c);
		} else if (c >= 0xc0 || c == 0x7f || (c < 0x20 && c != '\a' && c != '\b' && c)) {
			/* One '?' per UTF-8 character (continuation bytes
			 * 0x80-0xbf are skipped) or control byte. */
			buf_putc(&b, '?');
		}
		i++;
	}
	return buf_steal(&b);
}

void tui_lines_free(struct tui_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void tui_log_split(const char *data, size_t len, size_t max_lines, struct tui_lines *out)
{
	size_t nl = 0, start, skip;

	tui_lines_free(out);
	if (len == 0 || max_lines == 0)
		return;
	for (size_t i = 0; i < len; i++)
		nl += data[i] == '\n';
	if (data[len - 1] != '\n')
		nl++; /* the unterminated last line */
	skip = nl > max_lines ? nl - max_lines : 0;
	out->v = xcalloc(nl - skip, sizeof(char *));
	start = 0;
	for (size_t i = 0, line = 0; i <= len; i++) {
		if (i < len && data[i] != '\n')
			continue;
		if (i == len && start == len)
			break;
		if (line++ >= skip)
			out->v[out->n++] = tui_log_clean(data + start, i - start);
		start = i + 1;
	}
}

int tui_log_tail(const char *path, size_t max_bytes, size_t max_lines, struct tui_lines *out,
		 struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *data = NULL, *from;
	struct stat st;
	off_t off;
	ssize_t n;
	int ret = -1;

	if (fd < 0) {
		err_errno(e, errno, "open %s", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		err_errno(e, errno, "stat %s", path);
		goto out;
	}
	off = st.st_size > (off_t)max_bytes ? st.st_size - (off_t)max_bytes : 0;
	data = xmalloc(max_bytes + 1);
	n = pread(fd, data, max_bytes, off);
	if (n < 0) {
		err_errno(e, errno, "read %s", path);
		goto out;
	}
	from = data;
	if (off > 0) { /* started mid-line: drop the fragment */
		char *nl = memchr(data, '\n', (size_t)n);

		from = nl ? nl + 1 : data + n;
	}
	tui_log_split(from, (size_t)(data + n - from), max_lines, out);
	ret = 0;
out:
	free(data);
	if (fd >= 0)
		close(fd);
	return ret;
}

const struct tui_lines *tui_log_cache_get(struct tui_log_cache *c, const char *path,
					  size_t max_bytes, size_t max_lines)
{
	struct stat st;
	long long mt;

	if (stat(path, &st) < 0) {
		tui_log_cache_done(c);
		return NULL;
	}
	mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	if (c->ok && strcmp(c->path, path) == 0 && c->size == (long long)st.st_size &&
	    c->mtime_ns == mt && c->max_lines == max_lines)
		return &c->lines;
	tui_log_cache_done(c);
	if (tui_log_tail(path, max_bytes, max_lines, &c->lines, NULL) < 0)
		return NULL;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->size = (long long)st.st_size;
	c->mtime_ns = mt;
	c->max_lines = max_lines;
	c->ok = 1;
	return &c->lines;
}

void tui_log_cache_done(struct tui_log_cache *c)
{
	tui_lines_free(&c->lines);
	c->ok = 0;
	c->path[0] = '\0';
}
