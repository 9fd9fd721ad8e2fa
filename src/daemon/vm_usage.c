/* vm_usage: see vm_usage.h. */
#include "daemon/vm_usage.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/vm.h"
#include "daemon/workers.h"
#include "util/buf.h"
#include "util/fs.h"

struct usage_entry {
	char id[17];
	struct vm_disk_usage u;
};

/* Sorted by id, for bsearch: a list of 1,000 VMs does 1,000 lookups. The
 * lock is a leaf: nothing else is taken or waited for while it is held. */
struct vm_usage {
	pthread_mutex_t lock;
	struct usage_entry *v;
	size_t n;
};

void vm_usage_init(struct daemon *d)
{
	d->usage = xcalloc(1, sizeof(*d->usage));
	pthread_mutex_init(&d->usage->lock, NULL);
}

void vm_usage_done(struct daemon *d)
{
	if (!d->usage)
		return;
	free(d->usage->v);
	pthread_mutex_destroy(&d->usage->lock);
	free(d->usage);
	d->usage = NULL;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct usage_entry *)a)->id, ((const struct usage_entry *)b)->id);
}

/* The slot for id: its entry, or where it would go (*found 0). */
static size_t slot(const struct vm_usage *t, const char *id, int *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid].id, id);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static void put_locked(struct vm_usage *t, const char *id, const struct vm_disk_usage *u)
{
	int found;
	size_t i = slot(t, id, &found);

	if (!found) {
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
		t->n++;
		snprintf(t->v[i].id, sizeof(t->v[i].id), "%s", id);
	}
	t->v[i].u = *u;
}

static void measure(const struct daemon *d, const struct store_vm *vm, struct vm_disk_usage *u)
{
	struct vm_files f;

	memset(u, 0, sizeof(*u));
	vm_files_get(d, vm, &f);
	fs_sizes(f.overlay, &u->ov_apparent, &u->ov_allocated, NULL);
	fs_sizes(f.work, &u->wk_apparent, &u->wk_allocated, NULL);
}

void vm_usage_measure(struct daemon *d, const struct store_vm *vm, struct vm_disk_usage *u)
{
	measure(d, vm, u);
	if (!d->usage)
		return;
	pthread_mutex_lock(&d->usage->lock);
	put_locked(d->usage, vm->id, u);
	pthread_mutex_unlock(&d->usage->lock);
}

void vm_usage_get(struct daemon *d, const struct store_vm *vm, struct vm_disk_usage *u)
{
	int found = 0;

	if (d->usage) {
		size_t i;

		pthread_mutex_lock(&d->usage->lock);
		i = slot(d->usage, vm->id, &found);
		if (found)
			*u = d->usage->v[i].u;
		pthread_mutex_unlock(&d->usage->lock);
	}
	if (!found)
		vm_usage_measure(d, vm, u);
}

/* Measures every VM, with no lock held, and swaps the whole table in:
 * deleted VMs drop out. A view measured meanwhile may be replaced by this
 * pass's slightly older figure; the next pass corrects it. */
static int refresh(struct daemon *d, struct err *e)
{
	struct store_vm *vms = NULL;
	struct usage_entry *v;
	size_t n = 0;

	if (store_vm_list(d->store, &vms, &n, e) < 0)
		return -1;
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		snprintf(v[i].id, sizeof(v[i].id), "%s", vms[i].id);
		measure(d, &vms[i], &v[i].u);
	}
	free(vms);
	qsort(v, n, sizeof(*v), by_id);
	pthread_mutex_lock(&d->usage->lock);
	free(d->usage->v);
	d->usage->v = v;
	d->usage->n = n;
	pthread_mutex_unlock(&d->usage->lock);
	return 0;
}

/* Sleeps on the cancel descriptor, so shutdown ends the wait at once. */
static void refresh_worker(void *arg)
{
	struct daemon *d = arg;
	struct pollfd p = {.fd = workers_cancel_fd(d), .events = POLLIN};

	while (!workers_cancelled(d) && poll(&p, 1, VM_USAGE_REFRESH_MS) == 0) {
		struct err e;

		err_clear(&e);
		if (refresh(d, &e) < 0)
			log_warn(d->log, "cannot refresh disk usage", LF_S("error", e.msg));
	}
}

int vm_usage_start(struct daemon *d, struct err *e)
{
	if (refresh(d, e) < 0)
		return -1;
	return workers_spawn(d, "disk usage refresh", refresh_worker, d, e);
}
