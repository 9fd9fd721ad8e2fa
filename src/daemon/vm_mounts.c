/*
 * vm_mounts: a VM's shared host directories (vm create --mount, vm mount,
 * vm umount): recorded on the VM, mounted by shares.c at every boot and
 * resume while the VM runs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/guest_ssh.h"
#include "daemon/shares.h"
#include "daemon/ssh_keys.h"
#include "daemon/vm.h"
#include "util/spawn.h"

/* How long vm start, vm create and vm mount wait for a share to mount. */
#define MOUNT_WAIT_MS 60000

static int inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* A share as the daemon records it: the host directory made canonical
 * (symlinks resolved: the share is the directory itself) and checked, the
 * guest path defaulted to it. */
static int resolve(struct share_spec *s, struct err *e)
{
	char real[PATH_MAX];
	struct stat st;

	if (share_host_path_check(s->host, e) < 0)
		return -1;
	if (!realpath(s->host, real))
		return err_errno(e, errno, "host directory %s", s->host);
	if (stat(real, &st) < 0)
		return err_errno(e, errno, "host directory %s", s->host);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ERR_INVALID, "host path %s is not a directory", s->host);
	if (access(real, R_OK | X_OK) < 0)
		return err_errno(e, errno, "host directory %s", s->host);
	if (strlen(real) >= sizeof(s->host))
		return err_set(e, ERR_INVALID, "host directory %s is too long", real);
	strcpy(s->host, real);
	if (!s->guest[0]) {
		snprintf(s->guest, sizeof(s->guest), "%s", s->host);
		if (share_guest_path_check(s->guest, e) < 0) {
			err_wrap(e, "share %s", s->host);
			return err_hint(e, "give a guest path: --mount %s:/mnt/share", s->host), -1;
		}
	}
	return share_guest_path_check(s->guest, e);
}

/* s may join specs[0..n): not the same guest path, nor one inside
 * another's. */
static int fits(const struct share_spec *specs, int n, const struct share_spec *s,
		const char *vm_name, struct err *e)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(specs[i].guest, s->guest))
			return err_set(e, ERR_CONFLICT, "%s already has a share at %s (from %s)",
				       vm_name, s->guest, specs[i].host);
		if (inside(s->guest, specs[i].guest) || inside(specs[i].guest, s->guest))
			return err_set(e, ERR_CONFLICT,
				       "guest path %s and the share at %s would be inside one "
				       "another",
				       s->guest, specs[i].guest);
	}
	if (n >= SHARE_MAX)
		return err_set(e, ERR_INVALID, "%s has %d shares already, the most banger keeps",
			       vm_name, SHARE_MAX);
	return 0;
}

int vm_mounts_join(json_t *arr, char *out, size_t len, struct err *e)
{
	struct share_spec specs[SHARE_MAX];
	size_t i;
	json_t *v;
	int n = 0;

	out[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		struct share_spec s;

		if (share_spec_parse(json_string_value(v), &s, e) < 0 || resolve(&s, e) < 0 ||
		    fits(specs, n, &s, "the VM", e) < 0)
			return -1;
		specs[n++] = s;
	}
	return share_list_format(specs, n, out, len, e);
}

static char *share_log(struct daemon *d, const struct store_vm *vm)
{
	struct vm_files f;

	vm_files_get(d, vm, &f);
	return xasprintf("%s/share.log", f.dir);
}

void vm_mounts_sync(struct daemon *d, const struct store_vm *vm)
{
	struct share_spec specs[SHARE_MAX];
	int n = 0;
	char *log;

	if (!d->shares)
		return;
	if (vm->state == VM_STATE_RUNNING && vm->address[0])
		n = share_list_parse(vm->mounts, specs, SHARE_MAX, NULL);
	if (n < 0)
		n = 0;
	log = share_log(d, vm);
	shares_set(d->shares, vm->id, vm->name, vm->address, specs, n, log);
	free(log);
}

void vm_mounts_wait(struct daemon *d, const struct store_vm *vm)
{
	struct err e;

	if (!vm->mounts[0] || vm->state != VM_STATE_RUNNING)
		return;
	/* The publish that starts the sessions may still be on its way from
	 * the thread that saw the guest ready: start them here (the same
	 * sessions: shares_set keeps what it has). */
	vm_mounts_sync(d, vm);
	if (shares_wait(d->shares, vm->id, mono_ms() + MOUNT_WAIT_MS, &e) < 0)
		log_warn(d->log, "vm started without all its shares", LF_S("vm", vm->name),
			 LF_S("error", e.msg), LF_S("path", e.log));
}

void vm_mounts_view(struct daemon *d, const struct store_vm *vm, json_t *view)
{
	json_t *arr = json_object_get(view, "mounts");
	size_t i;
	json_t *m;

	json_array_foreach(arr, i, m)
	{
		struct share_spec s = {0};
		char error[512];
		enum share_state st;

		snprintf(s.host, sizeof(s.host), "%s",
			 json_string_value(json_object_get(m, "host")));
		snprintf(s.guest, sizeof(s.guest), "%s",
			 json_string_value(json_object_get(m, "guest")));
		s.ro = json_is_true(json_object_get(m, "ro"));
		st = vm->state == VM_STATE_RUNNING
			 ? shares_status(d->shares, vm->id, &s, error, sizeof(error))
			 : SHARE_DOWN;
		if (vm->state != VM_STATE_RUNNING)
			error[0] = '\0';
		json_object_set_new(m, "state", json_string(share_state_name(st)));
		json_object_set_new(m, "error", json_string(error));
	}
}

/* ---- vm mount / vm umount ------------------------------------------------ */

struct mount_edit {
	struct share_spec spec;
	const char *which; /* umount: a guest path or host directory */
	int add;
	struct share_spec removed;
};

static int mount_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct mount_edit *c = arg;
	struct share_spec specs[SHARE_MAX];
	int n = share_list_parse(vm->mounts, specs, SHARE_MAX, e);

	(void)busy;
	if (n < 0)
		return -1;
	if (c->add) {
		if (fits(specs, n, &c->spec, vm->name, e) < 0)
			return -1;
		specs[n++] = c->spec;
	} else {
		int k = share_list_find(specs, n, c->which);

		if (k < 0) {
			err_set(e, ERR_NOT_FOUND, "%s has no share at %s", vm->name, c->which);
			return err_hint(e, "see its shares with `banger vm show %s`", vm->name), -1;
		}
		c->removed = specs[k];
		memmove(&specs[k], &specs[k + 1], (size_t)(n - k - 1) * sizeof(specs[0]));
		n--;
	}
	return share_list_format(specs, n, vm->mounts, sizeof(vm->mounts), e);
}

/* Runs the guest's unmount script (best effort: a guest that does not
 * answer has no mount to keep). */
static void guest_unmount(struct daemon *d, const struct store_vm *vm, const struct share_spec *s)
{
	char script[2048], *key = ssh_user_key_path(d), *kh = ssh_known_hosts_path(d);
	static const char *const extra[] = {"-T", NULL};
	struct guest_ssh g;
	struct spawn_result res;
	struct spawn_opts o = {0};
	struct err e;

	if (shares_guest_script(s, 0, script, sizeof(script)) == 0) {
		guest_ssh_argv(&g, vm->address, key, kh, extra, script);
		if (spawn_run(g.argv, &o, &res, &e) < 0 || res.status != 0)
			log_warn(d->log, "could not unmount a share in the guest",
				 LF_S("vm", vm->name), LF_S("guest", s->guest));
		guest_ssh_free(&g);
	}
	free(key);
	free(kh);
}

int vm_mount_add(struct daemon *d, const char *name, const char *host, const char *guest, int ro,
		 struct store_vm *out, struct err *e)
{
	struct mount_edit c = {.add = 1};
	struct mount_edit undo = {.add = 0};

	snprintf(c.spec.host, sizeof(c.spec.host), "%s", host);
	snprintf(c.spec.guest, sizeof(c.spec.guest), "%s", guest ? guest : "");
	c.spec.ro = ro;
	if (strlen(host) >= sizeof(c.spec.host) || (guest && strlen(guest) >= sizeof(c.spec.guest)))
		return err_set(e, ERR_INVALID, "vm mount %s: a path is too long", name);
	if (resolve(&c.spec, e) < 0 || vm_update(d, name, mount_edit, &c, out, e) < 0)
		return err_wrap(e, "vm mount %s", name);
	/* Recorded and published: a running VM's share is being mounted. */
	if (out->state != VM_STATE_RUNNING)
		return 0;
	if (shares_wait(d->shares, out->id, mono_ms() + MOUNT_WAIT_MS, e) == 0)
		return 0;
	/* Not mounted: the request changes nothing. */
	{
		struct err e2;

		undo.which = c.spec.guest;
		if (vm_update(d, out->id, mount_edit, &undo, out, &e2) < 0)
			log_error(d->log, "could not take back a failed share",
				  LF_S("vm", out->name), LF_S("error", e2.msg));
	}
	return err_wrap(e, "vm mount %s", name);
}

int vm_mount_rm(struct daemon *d, const char *name, const char *which, struct store_vm *out,
		struct err *e)
{
	struct mount_edit c = {.add = 0, .which = which};

	if (vm_update(d, name, mount_edit, &c, out, e) < 0)
		return err_wrap(e, "vm umount %s", name);
	/* The session has ended (published); make sure the guest let go. */
	if (out->state == VM_STATE_RUNNING && out->address[0])
		guest_unmount(d, out, &c.removed);
	return 0;
}

void vm_mounts_sync_all(struct daemon *d)
{
	struct store_vm *vms = NULL;
	size_t n = 0;

	if (store_vm_list(d->store, &vms, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		vm_mounts_sync(d, &vms[i]);
	free(vms);
}

int vm_mounts_start(struct daemon *d, struct err *e)
{
	char *helper = xasprintf("%s/banger-sftp", d->exe_dir);
	char *key = ssh_user_key_path(d), *kh = ssh_known_hosts_path(d);
	int ret;

	if (access(helper, X_OK) < 0) {
		/* Installed layout: PREFIX/bin/bangerd, PREFIX/lib/banger/banger-sftp. */
		free(helper);
		helper = xasprintf("%s/../lib/banger/banger-sftp", d->exe_dir);
	}
	{
		char *prefix = xasprintf("%s/", d->paths.state_dir);
		int n = shares_kill_leftovers(prefix);

		if (n > 0)
			log_info(d->log, "ended share processes a previous daemon left",
				 LF_I("count", n));
		free(prefix);
	}
	ret = shares_start(&d->shares, d->log, helper, key, kh, e);
	free(helper);
	free(key);
	free(kh);
	return ret;
}
