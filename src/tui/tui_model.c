/* tui_model: see tui_model.h. */
#include "tui/tui_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

void tui_model_init(struct tui_model *m)
{
	memset(m, 0, sizeof(*m));
}

void tui_model_done(struct tui_model *m)
{
	free(m->rows);
	free(m->vis);
	memset(m, 0, sizeof(*m));
}

static void copy_str(char *dst, size_t len, json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", s ? s : "");
}

static long long get_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

int tui_row_from_json(struct tui_row *r, json_t *vm)
{
	const char *name = json_string_value(json_object_get(vm, "name"));
	json_t *work = json_object_get(vm, "work_disk"), *ov = json_object_get(vm, "overlay");

	if (!name || !name[0])
		return -1;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->state = VM_STATE_COUNT;
	vm_state_parse(json_string_value(json_object_get(vm, "state")), &r->state);
	copy_str(r->address, sizeof(r->address), vm, "address");
	copy_str(r->image, sizeof(r->image), vm, "image");
	copy_str(r->vmm, sizeof(r->vmm), vm, "vmm");
	copy_str(r->accel, sizeof(r->accel), vm, "accel");
	copy_str(r->mac, sizeof(r->mac), vm, "mac");
	copy_str(r->dns_name, sizeof(r->dns_name), vm, "dns_name");
	copy_str(r->dir, sizeof(r->dir), vm, "dir");
	copy_str(r->console_log, sizeof(r->console_log), vm, "console_log");
	copy_str(r->last_error, sizeof(r->last_error), vm, "last_error");
	copy_str(r->last_exit, sizeof(r->last_exit), vm, "last_exit");
	r->vcpu = get_int(vm, "vcpu");
	r->memory_mib = get_int(vm, "memory_mib");
	r->pid = get_int(vm, "pid");
	r->disk_size = get_int(vm, "disk_size");
	r->disk_used = get_int(work, "allocated_bytes");
	r->overlay_size = get_int(vm, "overlay_size");
	r->overlay_used = get_int(ov, "allocated_bytes");
	r->started_at = get_int(vm, "started_at");
	r->nat = json_is_true(json_object_get(vm, "nat"));
	r->state_bytes = get_int(vm, "state_bytes");
	r->cpu = -1;
	return 0;
}

/* Position of name in the sorted rows, or where it would be inserted. */
static size_t find_pos(const struct tui_model *m, const char *name, int *found)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->rows[mid].name, name);

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

static int matches(const struct tui_model *m, const struct tui_row *r)
{
	return !m->filter[0] || strcasestr(r->name, m->filter) != NULL;
}

/* Rebuilds the visible list and repairs the selection: kept if still
 * visible, else the visible row at position hint (clamped). */
static void refresh(struct tui_model *m, long hint)
{
	m->vis = xrealloc(m->vis, (m->n ? m->n : 1) * sizeof(*m->vis));
	m->nvis = 0;
	for (size_t i = 0; i < m->n; i++)
		if (matches(m, &m->rows[i]))
			m->vis[m->nvis++] = i;
	if (tui_model_selected_index(m) >= 0)
		return;
	if (m->nvis == 0) {
		m->selected[0] = '\0';
		return;
	}
	if (hint < 0)
		hint = 0;
	if ((size_t)hint >= m->nvis)
		hint = (long)m->nvis - 1;
	snprintf(m->selected, sizeof(m->selected), "%s", m->rows[m->vis[hint]].name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct tui_row *)a)->name, ((const struct tui_row *)b)->name);
}

void tui_model_load(struct tui_model *m, json_t *vms)
{
	long hint = tui_model_selected_index(m);
	size_t n = json_array_size(vms), k = 0, i;
	struct tui_row *rows = xcalloc(n ? n : 1, sizeof(*rows));
	json_t *vm;

	json_array_foreach(vms, i, vm)
	{
		int found;
		size_t old;

		if (tui_row_from_json(&rows[k], vm) < 0)
			continue;
		old = find_pos(m, rows[k].name, &found);
		if (found)
			rows[k].cpu = m->rows[old].cpu;
		k++;
	}
	qsort(rows, k, sizeof(*rows), by_name);
	free(m->rows);
	m->rows = rows;
	m->n = k;
	m->cap = n ? n : 1;
	refresh(m, hint);
}

int tui_model_upsert(struct tui_model *m, json_t *vm)
{
	long hint = tui_model_selected_index(m);
	struct tui_row r;
	int found;
	size_t pos;

	if (tui_row_from_json(&r, vm) < 0)
		return 0;
	pos = find_pos(m, r.name, &found);
	if (found) {
		/* Events carry no CPU figure; keep the last poll's. */
		r.cpu = m->rows[pos].cpu;
		m->rows[pos] = r;
	} else {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 8;
			m->rows = xrealloc(m->rows, m->cap * sizeof(*m->rows));
		}
		memmove(&m->rows[pos + 1], &m->rows[pos], (m->n - pos) * sizeof(*m->rows));
		m->rows[pos] = r;
		m->n++;
	}
	refresh(m, hint);
	return 1;
}

int tui_model_remove(struct tui_model *m, const char *name)
{
	long hint = tui_model_selected_index(m);
	int found;
	size_t pos = find_pos(m, name ? name : "", &found);

	if (!found)
		return 0;
	memmove(&m->rows[pos], &m->rows[pos + 1], (m->n - pos - 1) * sizeof(*m->rows));
	m->n--;
	refresh(m, hint);
	return 1;
}

int tui_model_apply_event(struct tui_model *m, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	if (!type)
		return 0;
	if (!strcmp(type, "vm.state") || !strcmp(type, "vm.created") || !strcmp(type, "vm.updated"))
		return tui_model_upsert(m, json_object_get(ev, "vm"));
	if (!strcmp(type, "vm.deleted"))
		return tui_model_remove(m, json_string_value(json_object_get(ev, "name")));
	return 0;
}

int tui_model_apply_stats(struct tui_model *m, json_t *stats)
{
	const char *name = json_string_value(json_object_get(stats, "name"));
	json_t *cpu = json_object_get(stats, "cpu_percent");
	json_t *work = json_object_get(stats, "work_disk");
	struct tui_row *r;
	int found;
	size_t pos;

	if (!name)
		return 0;
	pos = find_pos(m, name, &found);
	if (!found)
		return 0;
	r = &m->rows[pos];
	r->cpu = json_is_number(cpu) ? json_number_value(cpu) : -1;
	if (json_is_object(work))
		r->disk_used = get_int(work, "allocated_bytes");
	return 1;
}

void tui_model_set_filter(struct tui_model *m, const char *filter)
{
	snprintf(m->filter, sizeof(m->filter), "%s", filter ? filter : "");
	refresh(m, 0);
}

const struct tui_row *tui_model_visible(const struct tui_model *m, size_t i)
{
	return i < m->nvis ? &m->rows[m->vis[i]] : NULL;
}

long tui_model_selected_index(const struct tui_model *m)
{
	if (!m->selected[0])
		return -1;
	for (size_t i = 0; i < m->nvis; i++)
		if (strcmp(m->rows[m->vis[i]].name, m->selected) == 0)
			return (long)i;
	return -1;
}

const struct tui_row *tui_model_selected(const struct tui_model *m)
{
	long i = tui_model_selected_index(m);

	return i < 0 ? NULL : &m->rows[m->vis[i]];
}

void tui_model_move(struct tui_model *m, long delta)
{
	long i = tui_model_selected_index(m);

	if (m->nvis == 0)
		return;
	i = i < 0 ? 0 : i + delta;
	if (i < 0)
		i = 0;
	if ((size_t)i >= m->nvis)
		i = (long)m->nvis - 1;
	snprintf(m->selected, sizeof(m->selected), "%s", m->rows[m->vis[i]].name);
}

int tui_model_select(struct tui_model *m, const char *name)
{
	for (size_t i = 0; i < m->nvis; i++) {
		if (strcmp(m->rows[m->vis[i]].name, name) == 0) {
			snprintf(m->selected, sizeof(m->selected), "%s", name);
			return 1;
		}
	}
	return 0;
}

long long tui_row_uptime(const struct tui_row *r, long long now)
{
	if (r->state != VM_STATE_RUNNING || r->started_at <= 0 || now < r->started_at)
		return 0;
	return now - r->started_at;
}
