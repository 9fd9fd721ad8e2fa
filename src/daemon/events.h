/*
 * events: the daemon's event stream (GET /v1/events), JSON lines such as
 * {"type":"vm.state","vm":{...}}. Subscribers are streams; a slow or gone
 * client never blocks the daemon (lines are buffered per subscriber).
 */
#ifndef BANGER_DAEMON_EVENTS_H
#define BANGER_DAEMON_EVENTS_H

#include <jansson.h>

#include "daemon/daemon.h"
#include "store/store.h"

struct stream;

void events_init(struct daemon *d);
void events_done(struct daemon *d);
/* Registers a new subscriber; the caller owns one reference. */
struct stream *events_subscribe(struct daemon *d);
/* Sends {"type": type, ...fields of obj} to every subscriber (steals obj). */
void events_emit(struct daemon *d, const char *type, json_t *obj);
/* Shorthand: {"type": type, "vm": vm_to_json(vm)}. */
void events_vm(struct daemon *d, const char *type, const struct store_vm *vm);

#endif
