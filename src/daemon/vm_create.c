/* vm_create: `vm create`. The record is written (state "creating") before
 * any file is made, so a crash midway is rolled back by reconcile. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/names.h"
#include "daemon/ssh_keys.h"
#include "daemon/stream.h"
#include "daemon/vm.h"
#include "daemon/vm_bin.h"
#include "daemon/vm_net.h"
#include "storage/disk.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/size.h"

static void progress(struct stream *s, const char *msg)
{
	if (s)
		stream_push(s, json_pack("{s:s}", "progress", msg));
}

static int pick_name(struct daemon *d, const char *want, char *name, size_t len, struct err *e)
{
	struct store_vm other;

	if (want)
		return name_check(want, "VM", e) < 0 ? -1 : (snprintf(name, len, "%s", want), 0);
	for (int tries = 0; tries < 20; tries++) {
		if (d->cfg.namegen_path && d->cfg.namegen_path[0]) {
			if (name_from_program(d->cfg.namegen_path, name, len, e) < 0)
				return -1;
		} else {
			name_generate(name, len);
		}
		if (store_vm_get(d->store, name, &other, NULL) < 0)
			return 0;
	}
	return err_set(e, ERR_CONFLICT, "could not find a free name; give one with --name");
}

/* Checks and fills everything the user asked for; touches nothing. */
static int validate(struct daemon *d, const struct vm_create_req *req, struct store_vm *vm,
		    struct store_image *img, struct err *e)
{
	const char *disk = req->disk_size ? req->disk_size : d->cfg.default_disk_size;
	const char *image = req->image ? req->image : "default";

	if (pick_name(d, req->name, vm->name, sizeof(vm->name), e) < 0)
		return -1;
	vm->vcpu = req->vcpu ? req->vcpu : d->cfg.default_vcpu;
	vm->memory_mib = req->memory_mib ? req->memory_mib : d->cfg.default_memory;
	if (vm->vcpu < 1 || vm->vcpu > 32)
		return err_set(e, ERR_INVALID, "--vcpu must be between 1 and 32, not %lld",
			       vm->vcpu);
	if (vm->memory_mib < 128 || vm->memory_mib > 1024 * 1024)
		return err_set(e, ERR_INVALID,
			       "--memory must be between 128 and 1048576 MiB, not %lld",
			       vm->memory_mib);
	if (size_parse(disk, &vm->disk_size, e) < 0)
		return err_wrap(e, "--disk-size");
	if (vm->disk_size < 64LL << 20)
		return err_set(e, ERR_INVALID,
			       "--disk-size %s is too small: the work disk needs at least 64M",
			       disk);
	if (size_parse(d->cfg.default_overlay_size, &vm->overlay_size, e) < 0)
		return err_wrap(e, "default_overlay_size");
	if (store_image_get(d->store, image, img, e) < 0) {
		if (!req->image)
			err_hint(
			    e,
			    "build the runtime bundle (make runtime-bundle) or register an image "
			    "with `banger image register --name default ...`");
		return -1;
	}
	if (strcmp(img->state, "ready") != 0) /* image states are not VM states */
		return err_set(e, ERR_BAD_STATE, "image %s is still being built", img->name);
	if (fs_check_readable(img->rootfs, "image rootfs", e) < 0 ||
	    fs_check_readable(img->kernel, "image kernel", e) < 0 ||
	    (img->initrd[0] && fs_check_readable(img->initrd, "image initrd", e) < 0))
		return err_wrap(e, "image %s", img->name);
	if (vm_bin_choose(d, req->vmm, vm->vmm, sizeof(vm->vmm), e) < 0)
		return -1;
	vm->nat = req->nat;
	if (req->publish &&
	    vm_ports_join((json_t *)req->publish, vm->ports, sizeof(vm->ports), e) < 0)
		return err_wrap(e, "--publish");
	if (req->mount &&
	    vm_mounts_join((json_t *)req->mount, vm->mounts, sizeof(vm->mounts), e) < 0)
		return err_wrap(e, "--mount");
	vm->suspend_on_stop =
	    req->suspend_on_stop >= 0 ? req->suspend_on_stop : (int)d->cfg.suspend_on_stop;
	vm->autostart = req->autostart ? 1 : 0;
	snprintf(vm->image_id, sizeof(vm->image_id), "%s", img->id);
	return 0;
}

/* Inserts the record with a fresh id and address, atomically. */
static int record(struct daemon *d, struct store_vm *vm, struct err *e)
{
	struct store_vm other;
	int ret = -1;

	pthread_mutex_lock(&d->lock);
	if (store_begin(d->store, e) < 0)
		goto out;
	if (store_vm_get(d->store, vm->name, &other, NULL) == 0) {
		store_rollback(d->store);
		err_set(e, ERR_CONFLICT, "a VM named \"%s\" already exists", vm->name);
		err_hint(e, "pick another name, or remove it with `banger vm delete %s`", vm->name);
		goto out;
	}
	id_generate(vm->id);
	if (vm_ports_check_locked(d, vm->id, vm->ports, e) < 0) {
		store_rollback(d->store);
		goto out;
	}
	vmnet_mac(vm->id, vm->mac);
	if (vmnet_alloc_address(d, vm->address, e) < 0 || store_vm_insert(d->store, vm, e) < 0) {
		store_rollback(d->store);
		goto out;
	}
	ret = store_commit(d->store, e);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* Writes stage/rel (creating its directories) with the given content.
 * No fsync (fs_write_scratch): mkfs.ext4 -d copies the staging tree into
 * the image, which it fsyncs itself, and the tree is removed right after;
 * a crash before the record says "stopped" rolls the create back. Four
 * fsyncs a create used to pay bought nothing. (The VM's host key in its
 * directory keeps fs_write_atomic's fsync: known_hosts is made from it
 * for as long as the VM exists.) */
static int stage_file(const char *stage, const char *rel, const char *text, mode_t mode,
		      struct err *e)
{
	char *path = xasprintf("%s/%s", stage, rel), *slash = strrchr(path, '/');
	int ret;

	*slash = '\0';
	ret = fs_mkdir_p(path, rel[0] == '.' ? 0700 : 0755, e);
	*slash = '/';
	if (ret == 0)
		ret = fs_write_scratch(path, text, strlen(text), mode, e);
	free(path);
	return ret;
}

/* Stages the first-boot files and makes both disks: the overlay carries
 * upper/ (with the VM's own SSH host key) and work/ for overlayfs; the work
 * disk is /root, so root's authorized_keys live on it. */
static int make_disks(struct daemon *d, const struct store_vm *vm, const struct vm_files *f,
		      struct err *e)
{
	char *stage = xasprintf("%s/stage", f->dir), *log = xasprintf("%s/disk.log", f->dir);
	char *pubpath = xasprintf("%s.pub", f->host_key), *ov = xasprintf("%s/overlay", stage);
	char *wk = xasprintf("%s/work", stage), *ovwork = xasprintf("%s/work", ov);
	char *pub = NULL, *hostpub = NULL, *hostkey = NULL;
	int ret = -1;

	if (ssh_user_key_ensure(d, &pub, e) < 0 || ssh_host_key_create(d, f->host_key, e) < 0 ||
	    fs_read(pubpath, 4096, &hostpub, NULL, e) < 0 ||
	    fs_read(f->host_key, 8192, &hostkey, NULL, e) < 0)
		goto out;
	if (stage_file(ov, "upper/etc/ssh/ssh_host_ed25519_key.pub", hostpub, 0644, e) < 0 ||
	    stage_file(ov, "upper/etc/ssh/ssh_host_ed25519_key", hostkey, 0600, e) < 0 ||
	    fs_mkdir_p(ovwork, 0755, e) < 0 ||
	    stage_file(wk, ".ssh/authorized_keys", pub, 0600, e) < 0)
		goto out;
	if (disk_create(f->overlay, vm->overlay_size, "banger-overlay", ov, log, e) < 0 ||
	    disk_create(f->work, vm->disk_size, "banger-work", wk, log, e) < 0)
		goto out;
	ret = 0;
out:
	fs_rm_rf(stage, NULL);
	free(stage);
	free(log);
	free(pubpath);
	free(ov);
	free(wk);
	free(ovwork);
	free(pub);
	free(hostpub);
	free(hostkey);
	return ret;
}

/* The disks are made: the VM exists, stopped. */
static int created_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	(void)busy;
	(void)arg;
	if (vm->state != VM_STATE_CREATING)
		return vm_refuse(e, vm);
	vm->state = VM_STATE_STOPPED;
	return 0;
}

/* Undoes a create that failed after its record was written: files first
 * (on a full disk that frees the space the record's removal may need). A
 * record that cannot be removed stays "creating" for reconcile to finish. */
static void unmake(struct daemon *d, const struct store_vm *vm, const struct vm_files *f)
{
	struct err e;
	int ret;

	err_clear(&e);
	if (fs_rm_rf(f->dir, &e) < 0)
		log_error(d->log, "cannot remove the VM directory", LF_S("vm", vm->name),
			  LF_S("path", f->dir), LF_S("error", e.msg));
	pthread_mutex_lock(&d->lock);
	ret = store_vm_delete(d->store, vm->id, &e);
	pthread_cond_broadcast(&d->changed);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		log_error(d->log, "cannot remove the record of a failed create",
			  LF_S("vm", vm->name), LF_S("vm_id", vm->id), LF_S("error", e.msg));
}

int vm_create(struct daemon *d, const struct vm_create_req *req, struct stream *prog,
	      struct store_vm *out, struct err *e)
{
	struct store_vm vm = {0};
	struct store_image img;
	struct vm_files f;
	long long t0 = mono_ms();

	if (validate(d, req, &vm, &img, e) < 0)
		return err_wrap(e, "vm create%s%s", req->name ? " " : "",
				req->name ? req->name : "");
	vm.state = VM_STATE_CREATING;
	vm.created_at = (long long)time(NULL);
	if (record(d, &vm, e) < 0)
		return err_wrap(e, "vm create %s", vm.name);
	vm_files_get(d, &vm, &f);
	log_info(d->log, "vm create", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_S("stage", "disks"), LF_S("path", f.dir));
	progress(prog, "creating disks");
	if (fs_mkdir_p(f.dir, 0700, e) < 0 || make_disks(d, &vm, &f, e) < 0 ||
	    vm_update(d, vm.id, created_edit, NULL, &vm, e) < 0)
		goto fail;
	ssh_known_hosts_sync(d, NULL);
	log_info(d->log, "vm created", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_I("duration_ms", mono_ms() - t0));
	*out = vm;
	if (req->no_start)
		return 0;
	progress(prog, req->no_wait ? "booting" : "booting, waiting for the guest to be ready");
	return vm_start(d, vm.id, req->no_wait, out, e);
fail:
	log_error(d->log, "vm create failed", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		  LF_S("error", e->msg));
	unmake(d, &vm, &f);
	if (fs_err_is_nospace(e))
		fs_err_nospace(e, d->paths.state_dir);
	return err_wrap(e, "vm create %s", vm.name);
}

/* ---- vm clone ------------------------------------------------------------ */

/* The new VM's own identity in its copied overlay: its host key, and no
 * machine-id (systemd makes a new one at first boot, as for a new VM). */
static int clone_identity(struct daemon *d, const struct vm_files *f, const char *log,
			  struct err *e)
{
	static const char *const rm[] = {"/upper/etc/machine-id",
					 "/upper/var/lib/systemd/random-seed", NULL};
	char *pubpath = xasprintf("%s.pub", f->host_key);
	struct disk_put put[] = {
	    {f->host_key, "/upper/etc/ssh/ssh_host_ed25519_key", 0600},
	    {pubpath, "/upper/etc/ssh/ssh_host_ed25519_key.pub", 0644},
	};
	int ret = -1;

	if (ssh_host_key_create(d, f->host_key, e) < 0 ||
	    disk_edit(f->overlay, rm, put, sizeof(put) / sizeof(put[0]), log, e) < 0)
		goto out;
	ret = 0;
out:
	free(pubpath);
	return ret;
}

int vm_clone(struct daemon *d, const char *src_name, const char *new_name, struct stream *prog,
	     struct store_vm *out, struct err *e)
{
	struct store_vm src, vm = {0};
	struct vm_files sf, f;
	long long t0 = mono_ms(), bytes[2] = {0, 0};
	int reflink[2] = {0, 0}, held = 0, ret = -1;
	char *log = NULL;

	if (name_check(new_name, "VM", e) < 0)
		return err_wrap(e, "vm clone %s", src_name);
	/* The source is held: no start, set or delete while its disks are read. */
	pthread_mutex_lock(&d->lock);
	if (store_vm_get(d->store, src_name, &src, e) == 0) {
		if (src.state != VM_STATE_STOPPED && src.state != VM_STATE_SUSPENDED) {
			err_set(e, ERR_BAD_STATE,
				"the VM is %s; a clone is made from a stopped or "
				"suspended VM",
				vm_state_name(src.state));
			err_hint(e,
				 "stop it first: banger vm stop %s (or suspend it: banger vm "
				 "suspend %s)",
				 src.name, src.name);
		} else if (vm_busy_claim_locked(d, &src, "it is being cloned", e) == 0) {
			held = 1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!held)
		return err_wrap(e, "vm clone %s", src_name);
	/* Same image, size and settings; its own id, name, MAC and address
	 * (record), no published ports (their host ports are the source's). */
	vm = src;
	memset(vm.id, 0, sizeof(vm.id));
	snprintf(vm.name, sizeof(vm.name), "%s", new_name);
	vm.state = VM_STATE_CREATING;
	vm.pid = vm.pid_start = vm.started_at = vm.ready_ms = vm.guest_ready_ms = 0;
	vm.state_bytes = 0;
	vm.ports[0] = vm.last_error[0] = vm.last_exit[0] = vm.resume_note[0] = '\0';
	vm.created_at = (long long)time(NULL);
	if (record(d, &vm, e) < 0)
		goto release;
	vm_files_get(d, &src, &sf);
	vm_files_get(d, &vm, &f);
	log = xasprintf("%s/disk.log", f.dir);
	log_info(d->log, "vm clone", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_S("from", src.name), LF_S("path", f.dir));
	progress(prog, "copying disks");
	if (fs_mkdir_p(f.dir, 0700, e) < 0 ||
	    disk_copy(sf.overlay, f.overlay, &bytes[0], &reflink[0], e) < 0 ||
	    disk_copy(sf.work, f.work, &bytes[1], &reflink[1], e) < 0)
		goto fail;
	progress(prog, "giving the clone its own identity");
	if (clone_identity(d, &f, log, e) < 0 ||
	    vm_update(d, vm.id, created_edit, NULL, &vm, e) < 0)
		goto fail;
	ssh_known_hosts_sync(d, NULL);
	log_info(d->log, "vm cloned", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		 LF_S("from", src.name), LF_I("bytes", bytes[0] + bytes[1]),
		 LF_I("reflink", reflink[0] && reflink[1]), LF_I("duration_ms", mono_ms() - t0));
	*out = vm;
	ret = 0;
	goto release;
fail:
	log_error(d->log, "vm clone failed", LF_S("vm", vm.name), LF_S("vm_id", vm.id),
		  LF_S("error", e->msg));
	unmake(d, &vm, &f);
	if (fs_err_is_nospace(e))
		fs_err_nospace(e, d->paths.state_dir);
release:
	vm_busy_release(d, src.id);
	free(log);
	return ret < 0 ? err_wrap(e, "vm clone %s", src_name) : 0;
}
