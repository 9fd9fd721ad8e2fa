/* store: see store.h. */
#include "store/store.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fs.h"

/* One VM as the mirror holds it, with its change number. */
struct mvm {
	struct store_vm vm;
	unsigned long long gen;
};

/* The vms table is mirrored in memory (sorted by name, as the SELECTs
 * order it), so that reads of VMs (list, get) cost no SQL: every write of
 * a VM goes through store_vm_insert/update/delete, which change the mirror
 * under mlock together with the table. A rollback of a transaction that
 * wrote a VM drops the mirror; the next read loads it again. */
struct store {
	sqlite3 *db;
	char *dir; /* the state directory (the database's), named by "disk full" errors */
	pthread_mutex_t mlock;
	int mvalid;
	int txn_wrote; /* a VM was written since BEGIN */
	struct mvm *mv;
	size_t mn, mcap;
	unsigned long long gen;
};

/* Forward migrations; migrations[i] takes the schema from version i to i+1. */
/* clang-format off */
static const char *const migrations[] = {
	"CREATE TABLE images ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, rootfs TEXT NOT NULL,"
	" kernel TEXT NOT NULL, initrd TEXT NOT NULL DEFAULT '', modules_dir TEXT NOT NULL DEFAULT '',"
	" managed INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'ready',"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE vms ("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image_id TEXT NOT NULL REFERENCES images(id),"
	" state TEXT NOT NULL, vcpu INTEGER NOT NULL, memory_mib INTEGER NOT NULL,"
	" disk_size INTEGER NOT NULL, overlay_size INTEGER NOT NULL, nat INTEGER NOT NULL DEFAULT 0,"
	" address TEXT, mac TEXT NOT NULL DEFAULT '', vmm TEXT NOT NULL DEFAULT '',"
	" accel TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,"
	" pid_start INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
	" started_at INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	" last_exit TEXT NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX vms_address ON vms(address) WHERE address IS NOT NULL AND address != '';",
	/* 2: when the guest last said it was ready (issue 10). */
	"ALTER TABLE vms ADD COLUMN ready_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN guest_ready_ms INTEGER NOT NULL DEFAULT 0;",
	/* 3: suspend and resume (issue 11). */
	"ALTER TABLE vms ADD COLUMN suspend_on_stop INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN state_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE vms ADD COLUMN resume_note TEXT NOT NULL DEFAULT '';",
	/* 4: published ports (issue 12). */
	"ALTER TABLE vms ADD COLUMN ports TEXT NOT NULL DEFAULT '';",
	/* 5: started by bangerd when it starts (issue 14). */
	"ALTER TABLE vms ADD COLUMN autostart INTEGER NOT NULL DEFAULT 0;",
	/* 6: shared host directories (issue 12). */
	"ALTER TABLE vms ADD COLUMN mounts TEXT NOT NULL DEFAULT '';",
};
/* clang-format on */

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Fills e from the connection's last error. A full file system is one
 * message whatever SQLite was doing: SQLITE_FULL is how its unix VFS reports
 * a write()'s ENOSPC, and an I/O error (WAL or shm growth) can carry ENOSPC
 * as the system errno. */
static int db_err(struct store *s, struct err *e, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db);

	if ((rc & 0xff) == SQLITE_FULL ||
	    ((rc & 0xff) == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC))
		return fs_err_nospace(e, s->dir);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return err_set(e, ERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(s->db));
	return err_set(e, ERR_IO, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql, struct err *e)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(s, e, "database");
	return 0;
}

int store_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int migrate(struct store *s, struct err *e)
{
	int v = store_version(s);

	if (v < 0)
		return db_err(s, e, "read schema version");
	if (v > NMIGRATIONS) {
		err_set(e, ERR_INVALID, "database schema version %d is newer than this banger (%d)",
			v, NMIGRATIONS);
		err_hint(e, "run a newer banger, or move the database aside");
		return -1;
	}
	for (; v < NMIGRATIONS; v++) {
		char pragma[64];

		if (store_begin(s, e) < 0)
			return -1;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(s, migrations[v], e) < 0 || exec(s, pragma, e) < 0) {
			store_rollback(s);
			return err_wrap(e, "migrate database to version %d", v + 1);
		}
		if (store_commit(s, e) < 0)
			return -1;
	}
	return 0;
}

int store_open(const char *path, struct store **out, struct err *e)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	char *copy = xstrdup(path);

	pthread_mutex_init(&s->mlock, NULL);
	s->dir = xstrdup(dirname(copy));
	free(copy);
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		err_set(e, ERR_IO, "open database %s: %s", path,
			s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
		 e) < 0 ||
	    migrate(s, e) < 0) {
		err_wrap(e, "open database %s", path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	free(s->dir);
	free(s->mv);
	pthread_mutex_destroy(&s->mlock);
	free(s);
}

int store_begin(struct store *s, struct err *e)
{
	int rc = exec(s, "BEGIN IMMEDIATE", e);

	pthread_mutex_lock(&s->mlock);
	s->txn_wrote = 0;
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

/* A COMMIT that fails (full disk) may leave the transaction open: roll it
 * back so the store is as before BEGIN and the next BEGIN works. */
int store_commit(struct store *s, struct err *e)
{
	if (exec(s, "COMMIT", e) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

void store_rollback(struct store *s)
{
	pthread_mutex_lock(&s->mlock);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->txn_wrote)
		s->mvalid = 0;
	s->txn_wrote = 0;
	pthread_mutex_unlock(&s->mlock);
}

/* ---- generic column binding ------------------------------------------------
 * Each record type is described by a column table, so insert/update/select
 * share one code path. */

enum col_type { COL_TEXT, COL_INT, COL_BOOL, COL_VM_STATE };

struct column {
	const char *name;
	enum col_type type;
	size_t off;
	size_t size; /* for text */
};

/* clang-format off */
#define VT(f) {#f, COL_TEXT, offsetof(struct store_vm, f), sizeof(((struct store_vm *)0)->f)}
#define VI(f) {#f, COL_INT, offsetof(struct store_vm, f), 0}
#define VB(f) {#f, COL_BOOL, offsetof(struct store_vm, f), 0}
#define VS(f) {#f, COL_VM_STATE, offsetof(struct store_vm, f), 0}
#define IT(f) {#f, COL_TEXT, offsetof(struct store_image, f), sizeof(((struct store_image *)0)->f)}
#define II(f) {#f, COL_INT, offsetof(struct store_image, f), 0}
#define IB(f) {#f, COL_BOOL, offsetof(struct store_image, f), 0}

static const struct column vm_cols[] = {
	VT(id),         VT(name),       VT(image_id),  VS(state),     VI(vcpu),
	VI(memory_mib), VI(disk_size),  VI(overlay_size), VB(nat),    VT(address),
	VT(mac),        VT(vmm),        VT(accel),     VI(pid),       VI(pid_start),
	VI(created_at), VI(started_at), VT(last_error), VT(last_exit),
	VI(ready_ms),   VI(guest_ready_ms), VB(suspend_on_stop), VI(state_bytes),
	VT(resume_note), VT(ports),     VB(autostart), VT(mounts),
};

static const struct column image_cols[] = {
	IT(id), IT(name), IT(rootfs), IT(kernel), IT(initrd), IT(modules_dir),
	IB(managed), IT(state), II(created_at),
};
/* clang-format on */

struct table {
	const char *name;
	const struct column *cols;
	size_t ncols;
	size_t rec_size;
};

static const struct table vm_table = {"vms", vm_cols, sizeof(vm_cols) / sizeof(vm_cols[0]),
				      sizeof(struct store_vm)};
static const struct table image_table = {
    "images", image_cols, sizeof(image_cols) / sizeof(image_cols[0]), sizeof(struct store_image)};

static void bind_cols(sqlite3_stmt *st, const struct table *t, const void *rec, int first)
{
	for (size_t i = 0; i < t->ncols; i++) {
		const struct column *c = &t->cols[i];
		const char *p = (const char *)rec + c->off;
		int idx = first + (int)i;

		if (c->type == COL_TEXT) {
			/* An empty address is NULL so the unique index ignores it. */
			if (!p[0] && strcmp(c->name, "address") == 0)
				sqlite3_bind_null(st, idx);
			else
				sqlite3_bind_text(st, idx, p, -1, SQLITE_TRANSIENT);
		} else if (c->type == COL_INT) {
			sqlite3_bind_int64(st, idx, *(const long long *)p);
		} else if (c->type == COL_VM_STATE) {
			sqlite3_bind_text(st, idx, vm_state_name(*(const enum vm_state *)p), -1,
					  SQLITE_STATIC);
		} else {
			sqlite3_bind_int(st, idx, *(const int *)p);
		}
	}
}

/* Reads one row. Fails only on a state name this banger does not know (a
 * database written by another version): nothing can be decided on it. */
static int read_cols(sqlite3_stmt *st, const struct table *t, void *rec, struct err *e)
{
	memset(rec, 0, t->rec_size);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct column *c = &t->cols[i];
		char *p = (char *)rec + c->off;

		if (c->type == COL_VM_STATE) {
			const char *v = (const char *)sqlite3_column_text(st, (int)i);

			if (vm_state_parse(v, (enum vm_state *)p) < 0)
				return err_set(e, ERR_INTERNAL,
					       "VM %s has the unknown state \"%s\" in the database",
					       (const char *)rec, v ? v : "");
		} else if (c->type == COL_TEXT) {
			/* Truncated like snprintf, without its format parsing: a
			 * list of 1,000 VMs copies 12,000 of these. */
			const char *v = (const char *)sqlite3_column_text(st, (int)i);
			size_t n = v ? (size_t)sqlite3_column_bytes(st, (int)i) : 0;

			if (n >= c->size)
				n = c->size - 1;
			if (n)
				memcpy(p, v, n);
			p[n] = '\0';
		} else if (c->type == COL_INT) {
			*(long long *)p = sqlite3_column_int64(st, (int)i);
		} else {
			*(int *)p = sqlite3_column_int(st, (int)i);
		}
	}
	return 0;
}

static void col_list(struct buf *b, const struct table *t, const char *fmt)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (i)
			buf_putc(b, ',');
		buf_printf(b, fmt, t->cols[i].name);
	}
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what, struct err *e)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		db_err(s, e, what);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static int rec_insert(struct store *s, const struct table *t, const void *rec, struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int ret;

	buf_printf(&sql, "INSERT INTO %s (", t->name);
	col_list(&sql, t, "%s");
	buf_puts(&sql, ") VALUES (");
	for (size_t i = 0; i < t->ncols; i++)
		buf_puts(&sql, i ? ",?" : "?");
	buf_puts(&sql, ")");
	ret = sqlite3_prepare_v2(s->db, buf_str(&sql), -1, &st, NULL);
	buf_free(&sql);
	if (ret != SQLITE_OK)
		return db_err(s, e, "prepare insert");
	bind_cols(st, t, rec, 1);
	return step_done(s, st, t == &vm_table ? "save VM" : "save image", e);
}

static int rec_update(struct store *s, const struct table *t, const void *rec, struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int ret;

	buf_printf(&sql, "UPDATE %s SET ", t->name);
	col_list(&sql, t, "%s=?");
	buf_puts(&sql, " WHERE id=?");
	ret = sqlite3_prepare_v2(s->db, buf_str(&sql), -1, &st, NULL);
	buf_free(&sql);
	if (ret != SQLITE_OK)
		return db_err(s, e, "prepare update");
	bind_cols(st, t, rec, 1);
	sqlite3_bind_text(st, (int)t->ncols + 1, (const char *)rec, -1, SQLITE_TRANSIENT);
	if (step_done(s, st, "update", e) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return err_set(e, ERR_NOT_FOUND, "record %s vanished", (const char *)rec);
	return 0;
}

static int rec_get(struct store *s, const struct table *t, const char *key, void *out,
		   struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	int rc;

	buf_puts(&sql, "SELECT ");
	col_list(&sql, t, "%s");
	buf_printf(&sql, " FROM %s WHERE name=?1 OR id=?1 ORDER BY name=?1 DESC LIMIT 1", t->name);
	rc = sqlite3_prepare_v2(s->db, buf_str(&sql), -1, &st, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return db_err(s, e, "prepare select");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = read_cols(st, t, out, e);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return err_set(e, ERR_NOT_FOUND, "no %s named \"%s\"",
			       t == &vm_table ? "VM" : "image", key);
	return db_err(s, e, "select");
}

static int rec_list(struct store *s, const struct table *t, void **out, size_t *n, struct err *e)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st;
	size_t cap = 16, cnt = 0;
	char *arr;
	int rc;

	buf_puts(&sql, "SELECT ");
	col_list(&sql, t, "%s");
	buf_printf(&sql, " FROM %s ORDER BY name", t->name);
	rc = sqlite3_prepare_v2(s->db, buf_str(&sql), -1, &st, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return db_err(s, e, "prepare list");
	arr = xmalloc(cap * t->rec_size);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap *= 2;
			arr = xrealloc(arr, cap * t->rec_size);
		}
		if (read_cols(st, t, arr + cnt * t->rec_size, e) < 0) {
			sqlite3_finalize(st);
			free(arr);
			return -1;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		db_err(s, e, "list");
		sqlite3_finalize(st);
		free(arr);
		return -1;
	}
	sqlite3_finalize(st);
	*out = arr;
	*n = cnt;
	return 0;
}

static int rec_delete(struct store *s, const struct table *t, const char *id, struct err *e)
{
	char sql[64];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id=?", t->name);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(s, e, "prepare delete");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete", e);
}

/* ---- the VM mirror ------------------------------------------------------ */

/* Loads the mirror from the table. mlock held. */
static int mirror_load_locked(struct store *s, struct err *e)
{
	struct store_vm *vms = NULL;
	size_t n = 0;

	if (s->mvalid)
		return 0;
	if (rec_list(s, &vm_table, (void **)&vms, &n, e) < 0)
		return -1;
	if (n > s->mcap) {
		s->mcap = n;
		s->mv = xrealloc(s->mv, s->mcap * sizeof(*s->mv));
	}
	for (size_t i = 0; i < n; i++) {
		s->mv[i].vm = vms[i];
		s->mv[i].gen = ++s->gen;
	}
	s->mn = n;
	s->mvalid = 1;
	free(vms);
	return 0;
}

static struct mvm *mirror_by_id(struct store *s, const char *id)
{
	for (size_t i = 0; i < s->mn; i++)
		if (strcmp(s->mv[i].vm.id, id) == 0)
			return &s->mv[i];
	return NULL;
}

static struct mvm *mirror_by_name(struct store *s, const char *name)
{
	size_t lo = 0, hi = s->mn;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->mv[mid].vm.name, name);

		if (c == 0)
			return &s->mv[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void mirror_remove(struct store *s, const struct mvm *m)
{
	size_t i = (size_t)(m - s->mv);

	memmove(&s->mv[i], &s->mv[i + 1], (s->mn - i - 1) * sizeof(*s->mv));
	s->mn--;
}

/* Puts vm (a row just written) in the mirror, replacing its old version.
 * mlock held; nothing to do while the mirror is not loaded. */
static void mirror_put(struct store *s, const struct store_vm *vm)
{
	struct mvm *old;
	size_t lo = 0, hi;

	if (!sqlite3_get_autocommit(s->db))
		s->txn_wrote = 1;
	if (!s->mvalid)
		return;
	if ((old = mirror_by_id(s, vm->id)))
		mirror_remove(s, old);
	for (hi = s->mn; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->mv[mid].vm.name, vm->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->mn == s->mcap) {
		s->mcap = s->mcap ? s->mcap * 2 : 16;
		s->mv = xrealloc(s->mv, s->mcap * sizeof(*s->mv));
	}
	memmove(&s->mv[lo + 1], &s->mv[lo], (s->mn - lo) * sizeof(*s->mv));
	s->mv[lo].vm = *vm;
	s->mv[lo].gen = ++s->gen;
	s->mn++;
}

int store_vm_insert(struct store *s, const struct store_vm *vm, struct err *e)
{
	int rc;

	pthread_mutex_lock(&s->mlock);
	rc = rec_insert(s, &vm_table, vm, e);
	if (rc == 0)
		mirror_put(s, vm);
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_update(struct store *s, const struct store_vm *vm, struct err *e)
{
	int rc;

	pthread_mutex_lock(&s->mlock);
	rc = rec_update(s, &vm_table, vm, e);
	if (rc == 0)
		mirror_put(s, vm);
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_get(struct store *s, const char *key, struct store_vm *out, struct err *e)
{
	struct mvm *m;
	int rc = -1;

	pthread_mutex_lock(&s->mlock);
	if (mirror_load_locked(s, e) == 0) {
		if ((m = mirror_by_name(s, key)) || (m = mirror_by_id(s, key))) {
			*out = m->vm;
			rc = 0;
		} else {
			err_set(e, ERR_NOT_FOUND, "no VM named \"%s\"", key);
		}
	}
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_delete(struct store *s, const char *id, struct err *e)
{
	struct mvm *m;
	int rc;

	pthread_mutex_lock(&s->mlock);
	rc = rec_delete(s, &vm_table, id, e);
	if (rc == 0) {
		if (!sqlite3_get_autocommit(s->db))
			s->txn_wrote = 1;
		if (s->mvalid && (m = mirror_by_id(s, id)))
			mirror_remove(s, m);
	}
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_list(struct store *s, struct store_vm **out, size_t *n, struct err *e)
{
	int rc = -1;

	pthread_mutex_lock(&s->mlock);
	if (mirror_load_locked(s, e) == 0) {
		*out = xmalloc((s->mn ? s->mn : 1) * sizeof(**out));
		for (size_t i = 0; i < s->mn; i++)
			(*out)[i] = s->mv[i].vm;
		*n = s->mn;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_each(struct store *s, store_vm_fn *fn, void *ctx, struct err *e)
{
	int rc = -1;

	pthread_mutex_lock(&s->mlock);
	if (mirror_load_locked(s, e) == 0) {
		for (size_t i = 0; i < s->mn; i++)
			fn(ctx, &s->mv[i].vm, s->mv[i].gen);
		rc = 0;
	}
	pthread_mutex_unlock(&s->mlock);
	return rc;
}

int store_vm_count_image(struct store *s, const char *image_id, long long *n, struct err *e)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM vms WHERE image_id=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(s, e, "prepare count");
	sqlite3_bind_text(st, 1, image_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_err(s, e, "count VMs");
		sqlite3_finalize(st);
		return -1;
	}
	*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int store_image_insert(struct store *s, const struct store_image *img, struct err *e)
{
	return rec_insert(s, &image_table, img, e);
}

int store_image_update(struct store *s, const struct store_image *img, struct err *e)
{
	return rec_update(s, &image_table, img, e);
}

int store_image_get(struct store *s, const char *key, struct store_image *out, struct err *e)
{
	return rec_get(s, &image_table, key, out, e);
}

int store_image_delete(struct store *s, const char *id, struct err *e)
{
	return rec_delete(s, &image_table, id, e);
}

int store_image_list(struct store *s, struct store_image **out, size_t *n, struct err *e)
{
	return rec_list(s, &image_table, (void **)out, n, e);
}
