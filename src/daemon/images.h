/*
 * images: image records (base rootfs, kernel, initrd, modules).
 *
 * Images are immutable once registered. The runtime bundle's rootfs is
 * registered as "default" at startup when it exists.
 */
#ifndef BANGER_DAEMON_IMAGES_H
#define BANGER_DAEMON_IMAGES_H

#include <jansson.h>

#include "daemon/daemon.h"
#include "store/store.h"

struct image_register_req {
	const char *name;
	const char *rootfs;
	const char *kernel;
	const char *initrd;	 /* may be NULL */
	const char *modules_dir; /* may be NULL */
};

int image_register(struct daemon *d, const struct image_register_req *req, struct store_image *out,
		   struct err *e);
int image_delete(struct daemon *d, const char *name, struct err *e);
json_t *image_to_json(struct daemon *d, const struct store_image *img);
/* Registers or refreshes the bundle's default image (logs, never fails). */
void image_register_default(struct daemon *d);

#endif
