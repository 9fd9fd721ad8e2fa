/* vm_console: see vm_console.h. */
#include "daemon/vm_console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER "--- banger: "
#define CHUNK 65536

off_t vm_console_marker(const char *path)
{
	char *chunk;
	off_t pos = 0, found = 0;
	size_t mlen = strlen(MARKER);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	chunk = xmalloc(CHUNK);
	/* Chunks overlap by the marker's length so that one split between two
	 * reads is still found. The marker may follow a console line that had
	 * no newline yet (O_APPEND), so it is searched anywhere. */
	while ((n = pread(fd, chunk, CHUNK, pos)) > 0) {
		for (char *p = chunk, *end = chunk + n;
		     (p = memmem(p, (size_t)(end - p), MARKER, mlen)); p++)
			found = pos + (p - chunk);
		if (n < CHUNK)
			break;
		pos += n - (ssize_t)mlen;
	}
	free(chunk);
	close(fd);
	return found;
}

off_t vm_console_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

off_t vm_console_feed(const char *path, off_t off, struct console_scan *s, console_scan_fn fn,
		      void *ctx)
{
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return off;
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		console_scan_feed(s, chunk, (size_t)n, fn, ctx);
		off += n;
	}
	close(fd);
	return off;
}

void vm_console_scan_boot(const char *path, struct console_scan *s)
{
	console_scan_init(s);
	vm_console_feed(path, vm_console_marker(path), s, NULL, NULL);
	console_scan_end(s, NULL, NULL);
}

const struct console_event *vm_console_trouble(const struct console_scan *s)
{
	return s->trouble.kind != CONSOLE_NONE ? &s->trouble : NULL;
}

void vm_console_tail_text(const struct console_scan *s, size_t max, struct buf *out)
{
	const char *lines[CONSOLE_SCAN_TAIL];
	size_t n = console_scan_tail(s, lines, CONSOLE_SCAN_TAIL);

	for (size_t i = n > max ? n - max : 0; i < n; i++)
		buf_printf(out, "\n    %.160s", lines[i]);
}
