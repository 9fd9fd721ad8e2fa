/*
 * store: banger's state database (SQLite, WAL).
 *
 * Records VMs and images. The schema is versioned with PRAGMA user_version
 * and migrated forward on open. Every write runs in a transaction. Records are
 * plain structs with fixed-size fields, so there is nothing to free per record.
 * One connection, opened in serialized mode; callers that need several
 * statements to be atomic wrap them in store_begin/store_commit.
 */
#ifndef BANGER_STORE_STORE_H
#define BANGER_STORE_STORE_H

#include <stddef.h>

#include "state/vm_state.h"
#include "util/err.h"

struct store;

struct store_vm {
	char id[17]; /* 16 lowercase hex chars */
	char name[64];
	char image_id[17];
	enum vm_state state; /* a string only in the database column */
	long long vcpu;
	long long memory_mib;
	long long disk_size;	/* work disk bytes */
	long long overlay_size; /* overlay bytes */
	int nat;
	char address[16]; /* IPv4 dotted quad, "" if none */
	char mac[18];
	char vmm[16];  /* "firecracker" | "qemu" */
	char accel[8]; /* QEMU: "kvm" | "tcg" */
	long long pid;
	long long pid_start;  /* process start time, ticks since boot */
	long long created_at; /* unix seconds */
	long long started_at;
	char last_error[1024];
	char last_exit[256];
	/* The last boot's readiness, 0 until the guest said "banger: ready":
	 * ready_ms from the start request to that line, as the host saw it;
	 * guest_ready_ms the guest's own uptime figure on that line. */
	long long ready_ms;
	long long guest_ready_ms;
	/* Suspend (issue 11): vm stop suspends instead; the size of the saved
	 * state while suspended (0 otherwise); why the last start of a
	 * suspended VM was a cold boot, "" when it resumed. */
	int suspend_on_stop;
	long long state_bytes;
	char resume_note[512];
	/* Published ports, "127.0.0.1:8080:80,..." (daemon/port_spec.h). */
	char ports[512];
	int autostart; /* bangerd starts it when bangerd starts (vm_autostart) */
	/* Shared host directories, "rw\tHOST\tGUEST" lines (share/share_spec.h). */
	char mounts[2048];
};

struct store_image {
	char id[17];
	char name[64];
	char rootfs[512];
	char kernel[512];
	char initrd[512];
	char modules_dir[512];
	int managed;	/* files live under images/<id> and are removed with it */
	char state[16]; /* "ready" | "building" */
	long long created_at;
};

int store_open(const char *path, struct store **out, struct err *e);
void store_close(struct store *s);
/* The schema version after migrations. */
int store_version(struct store *s);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
void store_rollback(struct store *s);

/* Errors: every function returns -1 and fills e. A database or file system
 * that is full (SQLITE_FULL, ENOSPC) gives ERR_IO with the message
 * "no space left on device (state directory DIR)" and a hint; the failed
 * statement changed nothing. */

/* VMs. get looks up by name, then by id. insert fails with ERR_CONFLICT when
 * the name (or address) is taken. list returns a malloc'd array sorted by name.
 * update writes every field of the record: callers read it, change it and
 * write it back while holding the daemon lock, never across an unlock. */
int store_vm_insert(struct store *s, const struct store_vm *vm, struct err *e);
int store_vm_update(struct store *s, const struct store_vm *vm, struct err *e);
int store_vm_get(struct store *s, const char *name_or_id, struct store_vm *out, struct err *e);
int store_vm_delete(struct store *s, const char *id, struct err *e);
int store_vm_list(struct store *s, struct store_vm **out, size_t *n, struct err *e);
/* VM reads (get, list, each) are answered from an in-memory mirror of the
 * table, kept in step by the writes above (a rollback that undid a VM write
 * reloads it). each calls fn for every VM, sorted by name, with gen, a
 * number that changes whenever that record is written; fn runs under the
 * mirror's lock and must not call the store. */
typedef void store_vm_fn(void *ctx, const struct store_vm *vm, unsigned long long gen);
int store_vm_each(struct store *s, store_vm_fn *fn, void *ctx, struct err *e);
/* Number of VMs using an image. */
int store_vm_count_image(struct store *s, const char *image_id, long long *n, struct err *e);

int store_image_insert(struct store *s, const struct store_image *img, struct err *e);
int store_image_update(struct store *s, const struct store_image *img, struct err *e);
int store_image_get(struct store *s, const char *name_or_id, struct store_image *out,
		    struct err *e);
int store_image_delete(struct store *s, const char *id, struct err *e);
int store_image_list(struct store *s, struct store_image **out, size_t *n, struct err *e);

#endif
