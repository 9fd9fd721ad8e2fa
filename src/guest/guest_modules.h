/*
 * guest_modules: the order in which banger-init loads the initrd's kernel
 * modules, computed from a modules.dep text (as written by depmod).
 *
 * Pure: no I/O. Every module listed in modules.dep is loaded, each after all
 * of its dependencies (depth first, following each dependency's own line),
 * otherwise in file order. The initrd's modules.dep is restricted to the
 * modules the initrd carries, so "load all of them" is the intended set.
 */
#ifndef BANGER_GUEST_MODULES_H
#define BANGER_GUEST_MODULES_H

#include "util/err.h"

#include <stddef.h>

struct guest_modlist {
	char **paths; /* relative to /lib/modules/<ver>, as written in modules.dep */
	size_t n;
};

/* Fills out (initialised by this call) with every module of dep_text in a
 * loadable order. Returns 0, or -1 with e set on a malformed line, a
 * dependency without its own line, or a dependency cycle; out is then empty.
 * Free with guest_modules_free(). */
int guest_modules_order(const char *dep_text, struct guest_modlist *out, struct err *e);

/* Frees what guest_modules_order allocated. Accepts an empty list. */
void guest_modules_free(struct guest_modlist *l);

/* Writes the module name of path into name ("kernel/a/virtio-mmio.ko.xz" ->
 * "virtio_mmio", as the kernel names it: no directory, no .ko suffix, '-'
 * as '_'). Truncates to cap. */
void guest_modules_name(const char *path, char *name, size_t cap);

#endif
