/*
 * vm_snapshot: disk checkpoints of a stopped or suspended VM (issue 12):
 * vm snapshot create|list|restore|delete.
 *
 * A snapshot is a directory vms/<id>/snapshots/<tag>/ holding copies of the
 * overlay and work disk (disk_copy: reflinks or data only), a suspended
 * VM's saved state (suspend/), and meta.json. The directory is the record:
 * it is made as .<tag>.tmp and renamed when complete. A restore copies into
 * *.restore files, writes restore.pending, renames them over the VM's, and
 * removes the marker: a restore cut short is finished (marker there) or
 * dropped (no marker) by reconcile, never left half-applied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/names.h"
#include "daemon/suspend_state.h"
#include "daemon/vm.h"
#include "storage/disk.h"
#include "util/buf.h"
#include "util/fs.h"

struct snap_paths {
	char root[600];	   /* vms/<id>/snapshots */
	char dir[700];	   /* .../<tag> */
	char tmp[700];	   /* .../.<tag>.tmp */
	char pending[700]; /* vms/<id>/restore.pending */
};

static void snap_paths(const struct vm_files *f, const char *tag, struct snap_paths *p)
{
	snprintf(p->root, sizeof(p->root), "%s/snapshots", f->dir);
	snprintf(p->dir, sizeof(p->dir), "%s/%s", p->root, tag ? tag : "");
	snprintf(p->tmp, sizeof(p->tmp), "%s/.%s.tmp", p->root, tag ? tag : "");
	snprintf(p->pending, sizeof(p->pending), "%s/restore.pending", f->dir);
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Copies every regular file of dir src into dst (made here). */
static int copy_dir(const char *src, const char *dst, long long *bytes, struct err *e)
{
	DIR *dh = opendir(src);
	struct dirent *de;
	int ret = -1;

	if (!dh)
		return err_errno(e, errno, "open %s", src);
	if (mkdir(dst, 0700) < 0) {
		err_errno(e, errno, "create %s", dst);
		goto out;
	}
	while ((de = readdir(dh))) {
		char *a, *b;
		long long n = 0;
		int r;

		if (de->d_name[0] == '.')
			continue;
		a = xasprintf("%s/%s", src, de->d_name);
		b = xasprintf("%s/%s", dst, de->d_name);
		r = disk_copy(a, b, &n, NULL, e);
		free(a);
		free(b);
		if (r < 0)
			goto out;
		*bytes += n;
	}
	fsync_dir(dst);
	ret = 0;
out:
	closedir(dh);
	return ret;
}

/* Holds a stopped or suspended VM for a snapshot operation. */
static int hold(struct daemon *d, const char *name, const char *what, struct store_vm *vm,
		struct err *e)
{
	int ret = -1;

	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, name, vm, e) < 0)
		goto out;
	if (vm->state != VM_STATE_STOPPED && vm->state != VM_STATE_SUSPENDED) {
		err_set(e, ERR_BAD_STATE,
			"the VM is %s; snapshots are taken and restored while it "
			"is stopped or suspended",
			vm_state_name(vm->state));
		err_hint(e,
			 "stop it first: banger vm stop %s (or suspend it: banger vm suspend %s)",
			 vm->name, vm->name);
		goto out;
	}
	ret = vm_busy_claim_locked(d, vm, what, e);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static json_t *read_meta(const char *dir)
{
	char *p = xasprintf("%s/meta.json", dir), *text = NULL;
	json_t *m = NULL;

	if (fs_read(p, 1 << 16, &text, NULL, NULL) == 0)
		m = json_loads(text, 0, NULL);
	free(p);
	free(text);
	return json_is_object(m) ? m : (json_decref(m), NULL);
}

int vm_snapshot_create(struct daemon *d, const char *name, const char *tag_in, json_t **out,
		       struct err *e)
{
	struct store_vm vm;
	struct vm_files f;
	struct snap_paths p;
	char tag[64], *ov = NULL, *wk = NULL, *sus = NULL, *text = NULL;
	long long bytes = 0, t0 = mono_ms(), n = 0;
	int reflinked = 0, ret = -1;
	json_t *meta = NULL;

	*out = NULL;
	if (tag_in && name_check(tag_in, "snapshot", e) < 0)
		return err_wrap(e, "vm snapshot create %s", name);
	if (tag_in)
		snprintf(tag, sizeof(tag), "%s", tag_in);
	else {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(tag, sizeof(tag), "%Y%m%d-%H%M%S", &tm);
	}
	if (hold(d, name, "a snapshot of it is being taken", &vm, e) < 0)
		return err_wrap(e, "vm snapshot create %s", name);
	vm_files_get(d, &vm, &f);
	snap_paths(&f, tag, &p);
	if (fs_exists(p.dir)) {
		err_set(e, ERR_CONFLICT, "%s already has a snapshot named %s", vm.name, tag);
		err_hint(e, "pick another tag, or remove it: banger vm snapshot delete %s %s",
			 vm.name, tag);
		goto out;
	}
	fs_rm_rf(p.tmp, NULL);
	ov = xasprintf("%s/overlay.ext4", p.tmp);
	wk = xasprintf("%s/work.ext4", p.tmp);
	sus = xasprintf("%s/suspend", p.tmp);
	if (fs_mkdir_p(p.root, 0700, e) < 0 || fs_mkdir_p(p.tmp, 0700, e) < 0 ||
	    disk_copy(f.overlay, ov, &n, &reflinked, e) < 0)
		goto fail;
	bytes += n;
	if (disk_copy(f.work, wk, &n, NULL, e) < 0)
		goto fail;
	bytes += n;
	if (vm.state == VM_STATE_SUSPENDED && suspend_state_sealed(f.suspend) &&
	    copy_dir(f.suspend, sus, &bytes, e) < 0)
		goto fail;
	meta = json_pack("{s:s, s:I, s:I, s:b, s:I}", "tag", tag, "created_at",
			 (json_int_t)time(NULL), "bytes_copied", (json_int_t)bytes, "suspended",
			 fs_is_dir(sus), "disk_size", (json_int_t)vm.disk_size);
	text = json_dumps(meta, JSON_SORT_KEYS);
	{
		char *mp = xasprintf("%s/meta.json", p.tmp);
		int r = fs_write_atomic(mp, text, strlen(text), 0600, e);

		free(mp);
		if (r < 0)
			goto fail;
	}
	fsync_dir(p.tmp);
	if (rename(p.tmp, p.dir) < 0) {
		err_errno(e, errno, "rename %s", p.tmp);
		goto fail;
	}
	fsync_dir(p.root);
	log_info(d->log, "vm snapshot created", LF_S("vm", vm.name), LF_S("tag", tag),
		 LF_I("bytes", bytes), LF_I("reflink", reflinked),
		 LF_I("duration_ms", mono_ms() - t0));
	*out = json_incref(meta);
	ret = 0;
	goto out;
fail:
	fs_rm_rf(p.tmp, NULL);
	if (fs_err_is_nospace(e))
		fs_err_nospace(e, d->paths.state_dir);
out:
	vm_busy_release(d, vm.id);
	json_decref(meta);
	free(ov);
	free(wk);
	free(sus);
	free(text);
	return ret < 0 ? err_wrap(e, "vm snapshot create %s", name) : 0;
}

int vm_snapshot_list(struct daemon *d, const char *name, json_t **out, struct err *e)
{
	struct store_vm vm;
	struct vm_files f;
	struct snap_paths p;
	json_t *arr;
	DIR *dh;
	struct dirent *de;

	*out = NULL;
	if (store_vm_get(d->store, name, &vm, e) < 0)
		return err_wrap(e, "vm snapshot list %s", name);
	vm_files_get(d, &vm, &f);
	snap_paths(&f, NULL, &p);
	arr = json_array();
	dh = opendir(p.root);
	while (dh && (de = readdir(dh))) {
		char *dir;
		json_t *m;

		if (de->d_name[0] == '.')
			continue;
		dir = xasprintf("%s/%s", p.root, de->d_name);
		m = read_meta(dir);
		if (m) {
			long long ap = 0, al = 0, a2 = 0, l2 = 0;
			char *o = xasprintf("%s/overlay.ext4", dir),
			     *w = xasprintf("%s/work.ext4", dir);

			fs_sizes(o, &ap, &al, NULL);
			fs_sizes(w, &a2, &l2, NULL);
			json_object_set_new(m, "allocated_bytes", json_integer(al + l2));
			json_array_append_new(arr, m);
			free(o);
			free(w);
		}
		free(dir);
	}
	if (dh)
		closedir(dh);
	*out = json_pack("{s:o}", "snapshots", arr);
	return 0;
}

/* Renames what a committed restore left (reconcile and restore's end). */
static void restore_finish(const struct vm_files *f, const char *pending)
{
	char *ov = xasprintf("%s.restore", f->overlay), *wk = xasprintf("%s.restore", f->work);
	char *sus = xasprintf("%s.restore", f->suspend);

	if (fs_exists(ov))
		rename(ov, f->overlay);
	if (fs_exists(wk))
		rename(wk, f->work);
	/* The current saved state belonged to the disks just replaced. */
	fs_rm_rf(f->suspend, NULL);
	if (fs_exists(sus))
		rename(sus, f->suspend);
	fsync_dir(f->dir);
	unlink(pending);
	fsync_dir(f->dir);
	free(ov);
	free(wk);
	free(sus);
}

struct restored {
	int suspended;
	long long bytes, disk_size;
	const char *tag;
};

static int restored_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	const struct restored *r = arg;

	(void)busy;
	(void)e;
	vm->state = r->suspended ? VM_STATE_SUSPENDED : VM_STATE_STOPPED;
	vm->state_bytes = r->suspended ? r->bytes : 0;
	vm->disk_size = r->disk_size;
	snprintf(vm->last_exit, sizeof(vm->last_exit), "restored from snapshot %s", r->tag);
	return 0;
}

int vm_snapshot_restore(struct daemon *d, const char *name, const char *tag, struct store_vm *out,
			struct err *e)
{
	struct store_vm vm;
	struct vm_files f;
	struct snap_paths p;
	char *src_ov = NULL, *src_wk = NULL, *src_sus = NULL, *ov = NULL, *wk = NULL, *sus = NULL;
	struct restored r = {.tag = tag};
	long long t0 = mono_ms(), n = 0;
	struct stat st;
	int ret = -1, held = 1;

	if (name_check(tag, "snapshot", e) < 0)
		return err_wrap(e, "vm snapshot restore %s", name);
	if (hold(d, name, "a snapshot is being restored", &vm, e) < 0)
		return err_wrap(e, "vm snapshot restore %s", name);
	vm_files_get(d, &vm, &f);
	snap_paths(&f, tag, &p);
	if (!fs_is_dir(p.dir)) {
		err_set(e, ERR_NOT_FOUND, "%s has no snapshot named %s", vm.name, tag);
		err_hint(e, "see them with banger vm snapshot list %s", vm.name);
		goto out;
	}
	src_ov = xasprintf("%s/overlay.ext4", p.dir);
	src_wk = xasprintf("%s/work.ext4", p.dir);
	src_sus = xasprintf("%s/suspend", p.dir);
	ov = xasprintf("%s.restore", f.overlay);
	wk = xasprintf("%s.restore", f.work);
	sus = xasprintf("%s.restore", f.suspend);
	unlink(ov);
	unlink(wk);
	fs_rm_rf(sus, NULL);
	if (disk_copy(src_ov, ov, &n, NULL, e) < 0 || disk_copy(src_wk, wk, &n, NULL, e) < 0 ||
	    (fs_is_dir(src_sus) && copy_dir(src_sus, sus, &n, e) < 0))
		goto fail;
	r.suspended = fs_is_dir(sus) && suspend_state_sealed(sus);
	r.bytes = r.suspended ? suspend_state_bytes(sus) : 0;
	r.disk_size = stat(wk, &st) == 0 ? (long long)st.st_size : vm.disk_size;
	/* Committed from here: the marker says the renames are to be finished. */
	if (fs_write_atomic(p.pending, tag, strlen(tag), 0600, e) < 0)
		goto fail;
	restore_finish(&f, p.pending);
	/* A state change is refused while the VM is held: let go first (a
	 * start that comes in between finds the restored disks and state). */
	vm_busy_release(d, vm.id);
	held = 0;
	if (vm_update(d, vm.id, restored_edit, &r, out, e) < 0)
		goto out;
	log_info(d->log, "vm snapshot restored", LF_S("vm", vm.name), LF_S("tag", tag),
		 LF_I("suspended", r.suspended), LF_I("duration_ms", mono_ms() - t0));
	ret = 0;
	goto out;
fail:
	unlink(ov);
	unlink(wk);
	fs_rm_rf(sus, NULL);
	if (fs_err_is_nospace(e))
		fs_err_nospace(e, d->paths.state_dir);
out:
	if (held)
		vm_busy_release(d, vm.id);
	free(src_ov);
	free(src_wk);
	free(src_sus);
	free(ov);
	free(wk);
	free(sus);
	return ret < 0 ? err_wrap(e, "vm snapshot restore %s", name) : 0;
}

int vm_snapshot_delete(struct daemon *d, const char *name, const char *tag, struct err *e)
{
	struct store_vm vm;
	struct vm_files f;
	struct snap_paths p;

	if (name_check(tag, "snapshot", e) < 0 || store_vm_get(d->store, name, &vm, e) < 0)
		return err_wrap(e, "vm snapshot delete %s", name);
	vm_files_get(d, &vm, &f);
	snap_paths(&f, tag, &p);
	if (!fs_is_dir(p.dir)) {
		err_set(e, ERR_NOT_FOUND, "%s has no snapshot named %s", vm.name, tag);
		return err_wrap(e, "vm snapshot delete %s", name);
	}
	if (fs_rm_rf(p.dir, e) < 0)
		return err_wrap(e, "vm snapshot delete %s", name);
	log_info(d->log, "vm snapshot deleted", LF_S("vm", vm.name), LF_S("tag", tag));
	return 0;
}

void vm_snapshot_reconcile(struct daemon *d, const struct store_vm *vm)
{
	struct vm_files f;
	struct snap_paths p;
	DIR *dh;
	struct dirent *de;

	vm_files_get(d, vm, &f);
	snap_paths(&f, NULL, &p);
	if (fs_exists(p.pending)) {
		log_warn(d->log, "finishing an interrupted snapshot restore", LF_S("vm", vm->name));
		restore_finish(&f, p.pending);
	} else {
		char *ov = xasprintf("%s.restore", f.overlay),
		     *wk = xasprintf("%s.restore", f.work);
		char *sus = xasprintf("%s.restore", f.suspend);

		unlink(ov);
		unlink(wk);
		fs_rm_rf(sus, NULL);
		free(ov);
		free(wk);
		free(sus);
	}
	dh = opendir(p.root);
	while (dh && (de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' && len > 5 && !strcmp(de->d_name + len - 4, ".tmp")) {
			char *t = xasprintf("%s/%s", p.root, de->d_name);

			log_info(d->log, "removing an unfinished snapshot", LF_S("vm", vm->name),
				 LF_S("path", t));
			fs_rm_rf(t, NULL);
			free(t);
		}
	}
	if (dh)
		closedir(dh);
}
