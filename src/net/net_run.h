/*
 * net_run: runs `ip` and `nft` for net_host and reads their JSON output.
 * Internal to src/net.
 */
#ifndef BANGER_NET_NET_RUN_H
#define BANGER_NET_NET_RUN_H

#include <jansson.h>

#include "util/err.h"

/* Runs argv (stdin_data fed to its stdin when not NULL), appending its output
 * to log_path (NULL: discard). A non-zero exit is ERR_IO "ip link add ...:
 * <the tool's error line>". */
int net_run(const char *const argv[], const char *stdin_data, const char *log_path, struct err *e);

/* Runs a query whose stdout is JSON and parses it into *out (json_decref).
 * When the command fails and its output contains `absent` (e.g. "does not
 * exist"), the object is missing: returns 0 with *out NULL. */
int net_run_json(const char *const argv[], const char *absent, json_t **out, struct err *e);

#endif
