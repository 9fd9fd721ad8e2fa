/*
 * fc_metrics: Firecracker's metrics file, for `banger vm stats`.
 *
 * Firecracker appends one JSON object per line to metrics_path every 60 s,
 * on FlushMetrics and at a clean exit. Counters in a line are deltas since
 * the previous line; gauges and latencies are absolute.
 */
#ifndef BANGER_VMM_FC_METRICS_H
#define BANGER_VMM_FC_METRICS_H

#include <jansson.h>

#include "util/err.h"

/* Parses the last complete (newline-terminated) JSON line of the metrics
 * file into *out (json_decref it). A line still being written is skipped.
 * No metrics yet (missing or empty file) is ERR_NOT_FOUND. */
int fc_metrics_read_last(const char *metrics_path, json_t **out, struct err *e);

/* Asks the Firecracker behind api_sock to write a metrics line now
 * (PUT /actions FlushMetrics). Blocks until it answered (at most a few s). */
int fc_flush_metrics(const char *api_sock, struct err *e);

#endif
