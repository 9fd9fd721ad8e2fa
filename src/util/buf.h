/*
 * buf: a growable byte string, always NUL-terminated.
 * Allocation failure aborts: banger treats out-of-memory as fatal.
 */
#ifndef BANGER_UTIL_BUF_H
#define BANGER_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append; buf_str() never returns NULL */
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (with quotes). Control characters are
 * escaped and invalid UTF-8 becomes U+FFFD, so the result is always valid JSON. */
void buf_json_str(struct buf *b, const char *s);
const char *buf_str(const struct buf *b);
/* Hands the string over to the caller (free() it) and resets b. */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Makes room for n more bytes in b (one allocation), and for a large n
 * (a list of 1,000 VMs is 1 MB) has the kernel map the pages at once
 * (MADV_POPULATE_WRITE), where touching them one by one costs a page fault
 * each: 250 of them for 1 MB, most of a short-lived CLI's system time. */
void buf_reserve(struct buf *b, size_t n);

/* xmalloc-family: abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
