/*
 * utf8: checks for text that came from outside (names, paths, request
 * bodies, a guest's console) before it is put into an error message or a
 * JSON string. As strict as jansson, which refuses to encode anything else:
 * no overlong forms, no surrogates, nothing past U+10FFFF. Pure, no I/O.
 */
#ifndef BANGER_UTIL_UTF8_H
#define BANGER_UTIL_UTF8_H

#include <stddef.h>

/* The length (1-4) of the valid UTF-8 character at s, of which n bytes may
 * be read; 0 when the bytes there are not valid UTF-8 or are cut short. */
size_t utf8_seq(const char *s, size_t n);

/* 1 if the n bytes at s are valid UTF-8. */
int utf8_valid(const char *s, size_t n);

/* The largest length <= n that does not end inside a character: drops an
 * incomplete sequence that a byte-count cut left at the end. */
size_t utf8_cut(const char *s, size_t n);

#endif
