/* images: see images.h. */
#include "daemon/images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/events.h"
#include "bundle/bundle_info.h"
#include "daemon/names.h"
#include "util/buf.h"
#include "util/fs.h"

static int check_path(const char *path, const char *what, char *out, size_t len, struct err *e)
{
	char *real;

	if (fs_check_readable(path, what, e) < 0)
		return -1;
	real = fs_realpath(path);
	snprintf(out, len, "%s", real ? real : path);
	free(real);
	return 0;
}

int image_register(struct daemon *d, const struct image_register_req *req, struct store_image *out,
		   struct err *e)
{
	struct store_image img = {0};
	int ret;

	if (name_check(req->name, "image", e) < 0)
		return err_wrap(e, "image register");
	snprintf(img.name, sizeof(img.name), "%s", req->name);
	if (check_path(req->rootfs, "rootfs", img.rootfs, sizeof(img.rootfs), e) < 0 ||
	    check_path(req->kernel, "kernel", img.kernel, sizeof(img.kernel), e) < 0 ||
	    (req->initrd && req->initrd[0] &&
	     check_path(req->initrd, "initrd", img.initrd, sizeof(img.initrd), e) < 0))
		return err_wrap(e, "image register %s", req->name);
	if (req->modules_dir && req->modules_dir[0]) {
		if (!fs_is_dir(req->modules_dir))
			return err_set(e, ERR_NOT_FOUND,
				       "image register %s: modules dir %s is not a directory",
				       req->name, req->modules_dir);
		snprintf(img.modules_dir, sizeof(img.modules_dir), "%s", req->modules_dir);
	}
	id_generate(img.id);
	snprintf(img.state, sizeof(img.state), "ready");
	img.created_at = (long long)time(NULL);
	pthread_mutex_lock(&d->lock);
	ret = store_image_insert(d->store, &img, e);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0) {
		if (e->code == ERR_CONFLICT)
			err_set(e, ERR_CONFLICT, "an image named \"%s\" already exists", req->name);
		return err_wrap(e, "image register %s", req->name);
	}
	log_info(d->log, "image registered", LF_S("image", img.name), LF_S("path", img.rootfs));
	events_emit(d, "image.created", json_pack("{s:s}", "name", img.name));
	*out = img;
	return 0;
}

int image_delete(struct daemon *d, const char *name, struct err *e)
{
	struct store_image img;
	long long users = 0;
	int ret = -1;

	pthread_mutex_lock(&d->lock);
	if (store_image_get(d->store, name, &img, e) < 0 ||
	    store_vm_count_image(d->store, img.id, &users, e) < 0)
		goto out;
	if (strcmp(img.state, "building") == 0) {
		err_set(e, ERR_BAD_STATE, "image %s is still being built", img.name);
		err_hint(e, "wait for the build to finish (banger image list shows its state)");
		goto out;
	}
	if (users > 0) {
		err_set(e, ERR_BAD_STATE, "image %s is used by %lld VM%s", img.name, users,
			users == 1 ? "" : "s");
		err_hint(e, "delete those VMs first (banger vm list shows them)");
		goto out;
	}
	if (store_image_delete(d->store, img.id, e) < 0)
		goto out;
	ret = 0;
out:
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		return err_wrap(e, "image delete %s", name);
	if (img.managed) {
		char *dir = xasprintf("%s/%s", d->paths.images_dir, img.id);

		fs_rm_rf(dir, NULL);
		free(dir);
	}
	log_info(d->log, "image deleted", LF_S("image", img.name));
	return 0;
}

json_t *image_to_json(struct daemon *d, const struct store_image *img)
{
	long long users = 0, size = 0, alloc = 0;

	store_vm_count_image(d->store, img->id, &users, NULL);
	fs_sizes(img->rootfs, &size, &alloc, NULL);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I}", "id",
			 img->id, "name", img->name, "rootfs", img->rootfs, "kernel", img->kernel,
			 "initrd", img->initrd, "modules_dir", img->modules_dir, "managed",
			 img->managed, "state", img->state, "created_at",
			 (json_int_t)img->created_at, "size_bytes", (json_int_t)size,
			 "allocated_bytes", (json_int_t)alloc, "vms", (json_int_t)users);
}

/* A configured default_* path wins over the bundle's. */
static const char *pick(const char *cfgval, const char *bundle)
{
	return cfgval && cfgval[0] ? cfgval : bundle;
}

void image_register_default(struct daemon *d)
{
	struct bundle_info bi = {0};
	struct store_image img;
	struct err e;
	int have_bundle = bundle_info_load(d->runtime_dir, &bi, &e) == 0;
	const char *rootfs = pick(d->cfg.default_rootfs, have_bundle ? bi.rootfs : NULL);
	const char *kernel = pick(d->cfg.default_kernel, have_bundle ? bi.kernel : NULL);
	const char *initrd = pick(d->cfg.default_initrd, have_bundle ? bi.initrd : NULL);
	const char *mods = pick(d->cfg.default_modules_dir, have_bundle ? bi.modules_dir : NULL);

	if (!have_bundle && !(rootfs && kernel)) {
		log_info(d->log, "no runtime bundle: no default image",
			 LF_S("path", d->runtime_dir), LF_S("error", e.msg));
		goto out;
	}
	if (rootfs && kernel && store_image_get(d->store, "default", &img, NULL) < 0) {
		struct image_register_req req = {"default", rootfs, kernel, initrd, mods};

		if (image_register(d, &req, &img, &e) < 0)
			log_warn(d->log, "cannot register the bundle's default image",
				 LF_S("error", e.msg));
	}
out:
	bundle_info_free(&bi);
}
