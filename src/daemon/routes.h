/* routes: the daemon's API route table (see docs/api.md). */
#ifndef BANGER_DAEMON_ROUTES_H
#define BANGER_DAEMON_ROUTES_H

#include "daemon/server.h"

extern const struct route routes[];

#endif
