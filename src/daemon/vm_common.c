/* vm_common: VM file layout, JSON view, state refusals, driver lookup,
 * signal names. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli_json.h"
#include "daemon/vm.h"
#include "daemon/vm_usage.h"
#include "share/share_spec.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/utf8.h"

void vm_files_get(const struct daemon *d, const struct store_vm *vm, struct vm_files *f)
{
	snprintf(f->dir, sizeof(f->dir), "%s/%s", d->paths.vms_dir, vm->id);
	snprintf(f->overlay, sizeof(f->overlay), "%s/overlay.ext4", f->dir);
	snprintf(f->work, sizeof(f->work), "%s/work.ext4", f->dir);
	snprintf(f->console_log, sizeof(f->console_log), "%s/firecracker.log", f->dir);
	snprintf(f->metrics, sizeof(f->metrics), "%s/metrics.json", f->dir);
	snprintf(f->host_key, sizeof(f->host_key), "%s/ssh_host_ed25519_key", f->dir);
	snprintf(f->suspend, sizeof(f->suspend), "%s/suspend", f->dir);
	snprintf(f->suspend_tmp, sizeof(f->suspend_tmp), "%s/suspend.tmp", f->dir);
	snprintf(f->suspend_used, sizeof(f->suspend_used), "%s/suspend.used", f->dir);
	/* Short and under the run dir: sun_path holds 107 bytes whatever HOME is. */
	snprintf(f->api_sock, sizeof(f->api_sock), "%s/%s.sock", d->paths.run_dir, vm->id);
}

const struct vmm_driver *vm_driver(const struct store_vm *vm)
{
	const struct vmm_driver *drv = vmm_driver_find(vm->vmm);

	return drv ? drv : &vmm_firecracker;
}

/* ---- the view as JSON text ----------------------------------------- */

/* The view is written as text directly, not built as a jansson tree and
 * dumped: a list of 1,000 VMs is 1 MB of JSON, and the tree cost 170,000
 * instructions per VM (bench/callgrind-list). Keys come in strcmp order
 * (what JSON_SORT_KEYS prints) so the CLI can indent the text as it
 * stands. Strings are escaped as jansson does; bytes that are not UTF-8
 * (a VMM's error text, say) become U+FFFD, which jansson would refuse. */

/* A byte a JSON string holds as it is: printable ASCII but '"' and '\\'. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* The inside of a JSON string: s escaped, without the quotes. */
static void put_inner(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		const unsigned char *run = s;
		size_t n;

		while (plain(*s))
			s++;
		buf_append(b, run, (size_t)(s - run));
		if (!*s)
			break;
		if (*s >= 0x80) {
			n = utf8_seq((const char *)s, strnlen((const char *)s, 4));
			if (n)
				buf_append(b, s, n);
			else
				buf_puts(b, "\xEF\xBF\xBD");
			s += n ? n : 1;
			continue;
		}
		/* clang-format off */
		switch (*s) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default: buf_printf(b, "\\u%04X", *s); break;
		}
		/* clang-format on */
		s++;
	}
}

static void put_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	put_inner(b, s);
	buf_putc(b, '"');
}

static void put_int(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* ,"key": (the comma unless first) */
static void put_key(struct buf *b, const char *key, int first)
{
	if (!first)
		buf_putc(b, ',');
	buf_putc(b, '"');
	buf_puts(b, key);
	buf_puts(b, "\":");
}

static void put_disk(struct buf *b, const char *key, const char *path, long long apparent,
		     long long allocated)
{
	put_key(b, key, 0);
	buf_puts(b, "{\"allocated_bytes\":");
	put_int(b, allocated);
	buf_puts(b, ",\"apparent_bytes\":");
	put_int(b, apparent);
	buf_puts(b, ",\"path\":");
	put_str(b, path);
	buf_putc(b, '}');
}

/* The JSON object of vm (a view: vm_view_locked applied), with its
 * image's name and disk usage given: reads no file and no table. The
 * fields are docs/api.md's. */
static void view_text(const struct store_vm *vm, const struct vm_files *fp, const char *image,
		      const struct vm_disk_usage *u, long long now, struct buf *b, size_t up_at[2])
{
	const struct vm_files f = *fp;
	long long up = vm->state == VM_STATE_RUNNING && vm->started_at ? now - vm->started_at : 0;

	buf_putc(b, '{');
	put_key(b, "accel", 1), put_str(b, vm->accel);
	put_key(b, "address", 0), put_str(b, vm->address);
	put_key(b, "api_socket", 0), put_str(b, f.api_sock);
	put_key(b, "autostart", 0), buf_puts(b, vm->autostart ? "true" : "false");
	put_key(b, "console_log", 0), put_str(b, f.console_log);
	put_key(b, "created_at", 0), put_int(b, vm->created_at);
	put_key(b, "dir", 0), put_str(b, f.dir);
	put_key(b, "disk_size", 0), put_int(b, vm->disk_size);
	put_key(b, "dns_name", 0), buf_putc(b, '"'), put_inner(b, vm->name), buf_puts(b, ".vm\"");
	put_key(b, "guest_ready_ms", 0), put_int(b, vm->guest_ready_ms);
	put_key(b, "id", 0), put_str(b, vm->id);
	put_key(b, "image", 0), put_str(b, image);
	put_key(b, "image_id", 0), put_str(b, vm->image_id);
	put_key(b, "last_error", 0), put_str(b, vm->last_error);
	put_key(b, "last_exit", 0), put_str(b, vm->last_exit);
	put_key(b, "mac", 0), put_str(b, vm->mac);
	put_key(b, "memory_mib", 0), put_int(b, vm->memory_mib);
	put_key(b, "metrics_file", 0), put_str(b, f.metrics);
	put_key(b, "mounts", 0), buf_putc(b, '[');
	for (const char *p = vm->mounts; *p;) {
		size_t n = strcspn(p, "\n");
		const char *t1 = memchr(p, '\t', n),
			   *t2 = t1 ? memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 - p)) : NULL;

		if (t1 && t2) {
			char host[SHARE_PATH_MAX], guest[SHARE_PATH_MAX];

			snprintf(host, sizeof(host), "%.*s", (int)(t2 - t1 - 1), t1 + 1);
			snprintf(guest, sizeof(guest), "%.*s", (int)(p + n - t2 - 1), t2 + 1);
			if (b->data[b->len - 1] != '[')
				buf_putc(b, ',');
			buf_puts(b, "{\"guest\":"), put_str(b, guest);
			buf_puts(b, ",\"host\":"), put_str(b, host);
			buf_puts(b, p[1] == 'o' ? ",\"ro\":true}" : ",\"ro\":false}");
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	buf_putc(b, ']');
	put_key(b, "name", 0), put_str(b, vm->name);
	put_key(b, "nat", 0), buf_puts(b, vm->nat ? "true" : "false");
	put_disk(b, "overlay", f.overlay, u->ov_apparent, u->ov_allocated);
	put_key(b, "overlay_size", 0), put_int(b, vm->overlay_size);
	put_key(b, "pid", 0), put_int(b, vm->pid);
	put_key(b, "ports", 0), buf_putc(b, '[');
	for (const char *p = vm->ports; *p;) {
		size_t n = strcspn(p, ",");

		buf_putc(b, '"');
		buf_append(b, p, n); /* canonical specs: digits, dots and colons */
		buf_putc(b, '"');
		p += n;
		if (*p == ',') {
			buf_putc(b, ',');
			p++;
		}
	}
	buf_putc(b, ']');
	put_key(b, "ready_ms", 0), put_int(b, vm->ready_ms);
	put_key(b, "resume_note", 0), put_str(b, vm->resume_note);
	put_key(b, "started_at", 0), put_int(b, vm->started_at);
	put_key(b, "state", 0), put_str(b, vm_state_name(vm->state));
	put_key(b, "state_bytes", 0), put_int(b, vm->state_bytes);
	put_key(b, "suspend_on_stop", 0), buf_puts(b, vm->suspend_on_stop ? "true" : "false");
	put_key(b, "uptime_s", 0);
	if (up_at)
		up_at[0] = b->len;
	put_int(b, up);
	if (up_at)
		up_at[1] = b->len;
	put_key(b, "vcpu", 0), put_int(b, vm->vcpu);
	put_key(b, "vmm", 0), put_str(b, vm->vmm);
	put_disk(b, "work_disk", f.work, u->wk_apparent, u->wk_allocated);
	buf_putc(b, '}');
}

static json_t *view_json(struct daemon *d, const struct store_vm *vm, const char *image,
			 const struct vm_disk_usage *u)
{
	struct buf b = BUF_INIT;
	struct vm_files f;
	json_t *o;

	vm_files_get(d, vm, &f);
	view_text(vm, &f, image, u, (long long)time(NULL), &b, NULL);
	o = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	return o ? o : json_object();
}

/* The view shows what the daemon knows, not only what the database holds:
 * a VMM exit that the database refused to record (full disk) reads as
 * stopped. That knowledge, rather than a check of the pid, because it
 * changes at the moment the daemon has handled the exit (network down,
 * last_exit known); a pid check would show "stopped" before that.
 * One VM's view measures its disks now: it is what `vm show` prints. */
json_t *vm_to_json(struct daemon *d, const struct store_vm *rec)
{
	struct store_vm view = *rec;
	struct store_image img;
	struct vm_disk_usage u;
	json_t *o;

	pthread_mutex_lock(&d->lock);
	vm_view_locked(d, &view);
	pthread_mutex_unlock(&d->lock);
	vm_usage_measure(d, &view, &u);
	o = view_json(d, &view,
		      store_image_get(d->store, view.image_id, &img, NULL) == 0 ? img.name : "",
		      &u);
	vm_mounts_view(d, &view, o);
	return o;
}

static const char *image_name(const struct store_image *imgs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(imgs[i].id, id) == 0)
			return imgs[i].name;
	return "";
}

/* The files of one VM after another, for a list: vm_files_get for the
 * first, then each path's id replaced in place (every path holds the id
 * once, and ids have one length): seven snprintf per VM were a third of
 * a list's cost. */
struct files_walk {
	struct vm_files f;
	char id[17];
	size_t off[7]; /* where the id is in each path, or SIZE_MAX */
	int ready;
};

static char *walk_path(struct vm_files *f, int k)
{
	char *paths[7] = {f->dir,     f->overlay,  f->work,    f->console_log,
			  f->metrics, f->host_key, f->api_sock};

	return paths[k];
}

static void files_next(struct daemon *d, struct files_walk *w, const struct store_vm *vm)
{
	if (w->ready && strlen(vm->id) == strlen(w->id)) {
		for (int k = 0; k < 7; k++)
			if (w->off[k] != SIZE_MAX)
				memcpy(walk_path(&w->f, k) + w->off[k], vm->id, strlen(vm->id));
		snprintf(w->id, sizeof(w->id), "%s", vm->id);
		return;
	}
	vm_files_get(d, vm, &w->f);
	snprintf(w->id, sizeof(w->id), "%s", vm->id);
	w->ready = vm->id[0] != '\0';
	for (int k = 0; k < 7; k++) {
		char *p = walk_path(&w->f, k), *at = strstr(p, vm->id);

		w->off[k] = at ? (size_t)(at - p) : SIZE_MAX;
		/* A path that held the id twice (a state dir named like an id)
		 * would be patched wrongly: then every VM takes vm_files_get. */
		if (at && strstr(at + 1, vm->id))
			w->ready = 0;
	}
}

/* ---- the list, from memory --------------------------------------------- */

/* One VM's text as the last list wrote it, and what it was made from: a
 * record that has not changed (gen), the same disk usage and image name
 * give the same text, but for the uptime's digits (up_at) when running. */
struct view_entry {
	char id[17];
	char name[64];
	unsigned long long gen;
	struct vm_disk_usage u;
	char image[64];
	struct buf text;
	size_t up_at[2];
	long long started_at; /* > 0: running, the uptime is now - started_at */
	struct buf itext;     /* the same indented as an element of the array, or empty */
	size_t iup_at[2];
};

/* The entries in name order, as store_vm_each walks the VMs. d->lock. */
struct vm_views {
	struct view_entry *v;
	size_t n;
};

static void views_free(struct view_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf_free(&v[i].text);
		buf_free(&v[i].itext);
	}
	free(v);
}

void vm_views_done(struct daemon *d)
{
	if (!d->views)
		return;
	views_free(d->views->v, d->views->n);
	free(d->views);
	d->views = NULL;
}

struct list_walk {
	struct daemon *d;
	const struct store_image *imgs;
	size_t nimg;
	long long now;
	struct buf *out;
	struct vm_views *old;
	size_t j; /* old entries before j are behind the walk */
	struct view_entry *next;
	size_t n, cap, shown;
	struct files_walk files;
	int indented;
};

/* The compact text of one VM (text[0, len)) indented as an element of the
 * list's array (depth 1), into out; up_at (if not NULL) gets where its
 * uptime's digits are. */
static void indent_vm(const char *text, size_t len, struct buf *out, size_t up_at[2])
{
	static const char key[] = "\n    \"uptime_s\": ";
	struct buf flat = BUF_INIT;
	const char *k;

	if (cli_json_indent(text, len, &flat) < 0) { /* never: view_text's own text */
		buf_append(out, text, len);
		return;
	}
	for (const char *p = flat.data, *nl; *p; p = nl + 1) {
		if (!(nl = strchr(p, '\n'))) {
			buf_puts(out, p);
			break;
		}
		buf_append(out, p, (size_t)(nl - p));
		buf_puts(out, "\n  ");
	}
	buf_free(&flat);
	/* No string holds a raw newline: the key is found only as the key. */
	if (up_at && (k = strstr(out->data, key))) {
		up_at[0] = (size_t)(k - out->data) + sizeof(key) - 1;
		up_at[1] = up_at[0] + strspn(out->data + up_at[0], "-0123456789");
	}
}

static void put_text(struct buf *out, const struct buf *t, const size_t up_at[2],
		     long long started_at, long long now)
{
	if (started_at <= 0) {
		buf_append(out, t->data, t->len);
		return;
	}
	buf_append(out, t->data, up_at[0]);
	put_int(out, now - started_at);
	buf_append(out, t->data + up_at[1], t->len - up_at[1]);
}

static void put_entry(struct list_walk *w, struct view_entry *v)
{
	if (!w->indented) {
		put_text(w->out, &v->text, v->up_at, v->started_at, w->now);
		return;
	}
	if (!v->itext.len)
		indent_vm(v->text.data, v->text.len, &v->itext, v->iup_at);
	put_text(w->out, &v->itext, v->iup_at, v->started_at, w->now);
}

/* store_vm_each's callback, under d->lock and the store's: appends one
 * VM's text, made again only when its record, usage or image changed. */
static void list_one(void *ctx, const struct store_vm *vm, unsigned long long gen)
{
	struct list_walk *w = ctx;
	struct vm_views *old = w->old;
	struct view_entry *cand = NULL, *v;
	struct vm_disk_usage u;
	const char *image = image_name(w->imgs, w->nimg, vm->image_id);

	buf_puts(w->out, w->shown++ ? (w->indented ? ",\n  " : ",") : (w->indented ? "\n  " : ""));
	vm_usage_get(w->d, vm, &u);
	if (vm_view_differs_locked(w->d, vm->id)) {
		/* An exit the database refused: shown, not kept. */
		struct store_vm view = *vm;

		struct buf t = BUF_INIT;

		vm_view_locked(w->d, &view);
		files_next(w->d, &w->files, &view);
		view_text(&view, &w->files.f, image, &u, w->now, w->indented ? &t : w->out, NULL);
		if (w->indented)
			indent_vm(t.data, t.len, w->out, NULL);
		buf_free(&t);
		return;
	}
	while (w->j < old->n && strcmp(old->v[w->j].name, vm->name) < 0)
		w->j++;
	if (w->j < old->n && strcmp(old->v[w->j].id, vm->id) == 0)
		cand = &old->v[w->j++];
	if (w->n >= w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->next = xrealloc(w->next, w->cap * sizeof(*w->next));
	}
	v = &w->next[w->n++];
	if (cand && cand->gen == gen && memcmp(&cand->u, &u, sizeof(u)) == 0 &&
	    strcmp(cand->image, image) == 0) {
		*v = *cand;
		cand->text = (struct buf)BUF_INIT; /* moved */
		cand->itext = (struct buf)BUF_INIT;
	} else {
		memset(v, 0, sizeof(*v));
		snprintf(v->id, sizeof(v->id), "%s", vm->id);
		snprintf(v->name, sizeof(v->name), "%s", vm->name);
		snprintf(v->image, sizeof(v->image), "%s", image);
		v->gen = gen;
		v->u = u;
		v->started_at =
		    vm->state == VM_STATE_RUNNING && vm->started_at ? vm->started_at : 0;
		files_next(w->d, &w->files, vm);
		view_text(vm, &w->files.f, image, &u, w->now, &v->text, v->up_at);
	}
	put_entry(w, v);
}

/* The list: from the store's mirror (store_vm_each) and the texts kept
 * from the last list, one hold of d->lock, disk usage from memory
 * (vm_usage.h): no file read, no VM row read, and a VM's JSON is written
 * again only when something in it changed. One SELECT, of the images. */
int vm_list_text(struct daemon *d, struct buf *out, int indented, struct err *e)
{
	struct store_image *imgs = NULL;
	struct vm_views none = {NULL, 0};
	struct list_walk w = {0};
	size_t nimg = 0;
	int rc;

	if (store_image_list(d->store, &imgs, &nimg, e) < 0)
		return -1;
	w.d = d;
	w.imgs = imgs;
	w.nimg = nimg;
	w.now = (long long)time(NULL);
	w.out = out;
	w.indented = indented;
	/* About the size of the last list: one allocation, its pages mapped at
	 * once (buf_reserve). */
	pthread_mutex_lock(&d->lock);
	if (d->views)
		buf_reserve(out, d->views->n * (indented ? 1500 : 1200) + 64);
	pthread_mutex_unlock(&d->lock);
	buf_puts(out, "{\"vms\":[");
	pthread_mutex_lock(&d->lock);
	w.old = d->views ? d->views : &none;
	rc = store_vm_each(d->store, list_one, &w, e);
	if (rc == 0) {
		if (!d->views)
			d->views = xcalloc(1, sizeof(*d->views));
		views_free(d->views->v, d->views->n);
		d->views->v = w.next;
		d->views->n = w.n;
	} else {
		views_free(w.next, w.n);
	}
	pthread_mutex_unlock(&d->lock);
	buf_puts(out, indented && w.shown ? "\n]}" : "]}");
	free(imgs);
	return rc;
}

int vm_refuse(struct err *e, const struct store_vm *vm)
{
	const char *n = vm->name;

	err_set(e, ERR_BAD_STATE, "the VM is %s", vm_state_name(vm->state));
	switch (vm->state) {
	case VM_STATE_CREATING:
		err_hint(e, "it is still being created: wait for `banger vm create` to finish");
		break;
	case VM_STATE_DELETING:
		err_hint(e, "it is being deleted; make a new one with `banger vm create`");
		break;
	case VM_STATE_STARTING:
		err_hint(e, "wait for it to finish starting (`banger vm show %s`), then try again",
			 n);
		break;
	case VM_STATE_STOPPING:
		err_hint(e, "wait for it to stop (`banger vm show %s`), then try again", n);
		break;
	case VM_STATE_RUNNING:
		err_hint(e, "stop it first: banger vm stop %s", n);
		break;
	case VM_STATE_STOPPED:
		err_hint(e, "start it first: banger vm start %s", n);
		break;
	case VM_STATE_SUSPENDING:
		err_hint(e, "wait for its state to be saved (`banger vm show %s`), then try again",
			 n);
		break;
	case VM_STATE_SUSPENDED:
		err_hint(e,
			 "resume it first: banger vm start %s (or discard its saved state: "
			 "banger vm stop %s)",
			 n, n);
		break;
	default:
		break;
	}
	return -1;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP},
    {"CONT", SIGCONT}, {"ABRT", SIGABRT}, {"SEGV", SIGSEGV},
};

int vm_signal_parse(const char *s, int *sig, struct err *e)
{
	const char *n = s && strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;

	for (size_t i = 0; n && i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(n, signals[i].name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	err_set(e, ERR_INVALID, "unknown signal \"%s\"", s ? s : "");
	err_hint(e, "use one of TERM, KILL, INT, QUIT, HUP, USR1, USR2, STOP, CONT, ABRT, SEGV");
	return -1;
}
