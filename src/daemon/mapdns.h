/*
 * mapdns: seed compatibility. When `mapdns_data_file` (or `mapdns_bin`) is
 * configured, running VMs are also published in mapdns's JSON zone file
 * ({"name.vm.": {"A": "addr"}}), next to whatever else the file holds.
 */
#ifndef BANGER_DAEMON_MAPDNS_H
#define BANGER_DAEMON_MAPDNS_H

#include "daemon/daemon.h"

/* The data file banger publishes to, or NULL when mapdns is not configured
 * (malloc'd). */
char *mapdns_data_path(const struct daemon *d);

/* Rewrites the file's *.vm. entries from the running VMs. Logs problems;
 * never fails the caller. */
void mapdns_publish(struct daemon *d);

#endif
