/*
 * names: VM and image names.
 *
 * A name is a DNS label (it becomes <name>.vm): 1-63 characters of lowercase
 * letters, digits and hyphens, not starting or ending with a hyphen. That
 * also keeps every name a safe single path component.
 */
#ifndef BANGER_DAEMON_NAMES_H
#define BANGER_DAEMON_NAMES_H

#include <stddef.h>

#include "util/err.h"

/* 0 if valid; else ERR_INVALID naming the problem. `what` is "VM" or "image". */
int name_check(const char *name, const char *what, struct err *e);

/* Writes a random "adjective-animal" name into buf. */
void name_generate(char *buf, size_t len);

/* Runs the namegen program and validates what it prints (first line). */
int name_from_program(const char *prog, char *buf, size_t len, struct err *e);

/* 16 random lowercase hex chars + NUL into buf[17]. */
void id_generate(char buf[17]);

#endif
