/* events: see events.h. */
#include "daemon/events.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/mapdns.h"
#include "daemon/stream.h"
#include "daemon/vm.h"
#include "util/buf.h"

struct sub {
	struct stream *s;
	struct sub *next;
};

struct events {
	pthread_mutex_t lock;
	struct sub *subs;
};

void events_init(struct daemon *d)
{
	d->events = xcalloc(1, sizeof(*d->events));
	pthread_mutex_init(&d->events->lock, NULL);
}

void events_done(struct daemon *d)
{
	struct events *ev = d->events;

	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	while (ev->subs) {
		struct sub *s = ev->subs;

		ev->subs = s->next;
		stream_close(s->s);
		stream_unref(s->s);
		free(s);
	}
	pthread_mutex_unlock(&ev->lock);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
	d->events = NULL;
}

struct stream *events_subscribe(struct daemon *d)
{
	struct sub *s = xcalloc(1, sizeof(*s));

	s->s = stream_new();
	stream_ref(s->s); /* one for the list, one for the caller */
	pthread_mutex_lock(&d->events->lock);
	s->next = d->events->subs;
	d->events->subs = s;
	pthread_mutex_unlock(&d->events->lock);
	return s->s;
}

void events_emit(struct daemon *d, const char *type, json_t *obj)
{
	struct events *ev = d->events;

	if (!ev) {
		json_decref(obj);
		return;
	}
	json_object_set_new(obj, "type", json_string(type));
	json_object_set_new(obj, "time", json_integer((json_int_t)time(NULL)));
	pthread_mutex_lock(&ev->lock);
	for (struct sub **pp = &ev->subs; *pp;) {
		struct sub *s = *pp;

		if (stream_cancelled(s->s)) {
			*pp = s->next;
			stream_unref(s->s);
			free(s);
			continue;
		}
		stream_push(s->s, json_incref(obj));
		pp = &s->next;
	}
	pthread_mutex_unlock(&ev->lock);
	json_decref(obj);
}

void events_vm(struct daemon *d, const char *type, const struct store_vm *vm)
{
	mapdns_publish(d);
	events_emit(d, type, json_pack("{s:o}", "vm", vm_to_json(d, vm)));
}
