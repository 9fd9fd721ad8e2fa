/* routes: the daemon's API route table (see docs/api.md). */
#ifndef BANGER_DAEMON_ROUTES_H
#define BANGER_DAEMON_ROUTES_H

#include "daemon/server.h"

extern const struct route routes[];

/* POST /v1/images/build (routes_image_build.c). */
int routes_image_build(struct daemon *d, const struct request *r, json_t **out, int *status,
		       struct stream **st, struct err *e);

#endif
