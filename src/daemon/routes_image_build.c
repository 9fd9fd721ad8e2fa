/*
 * routes_image_build: POST /v1/images/build, `banger image build`.
 *
 * Body: {"name": N, "docker": bool, "packages_file": PATH, "suite": S,
 * "mirror": URL, "size": SIZE, "base_rootfs": PATH}. Everything is checked
 * before anything is made (bad input answers 4xx at once, leaving nothing).
 * Then the record is written (state "building", managed) before any file, so
 * a daemon killed mid-build is cleaned up by image_tree_reconcile() at the
 * next start. With ?stream=1 the answer is JSON lines: {"progress": "..."}
 * while it runs, then {"result": IMAGE} or {"error": {...}}. The build runs
 * on its own thread and does not stop when the client goes away. A failed
 * build removes its record and directory; its log stays in image-build/.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/images.h"
#include "daemon/names.h"
#include "daemon/req_decode.h"
#include "daemon/routes.h"
#include "daemon/stream.h"
#include "daemon/workers.h"
#include "image/image_build.h"
#include "image/image_tree.h"
#include "util/buf.h"
#include "util/fs.h"

struct build_job {
	struct daemon *d;
	struct image_plan plan;
	struct store_image img;
	char *dir;
	char *log;
	struct stream *st; /* NULL when not streaming */
};

static void job_free(struct build_job *j)
{
	image_plan_free(&j->plan);
	stream_unref(j->st);
	free(j->dir);
	free(j->log);
	free(j);
}

static void on_progress(void *ctx, const char *msg)
{
	struct build_job *j = ctx;

	if (j->st)
		stream_push(j->st, json_pack("{s:s}", "progress", msg));
}

/* Runs the build and settles the record: ready, or gone with its files. */
static int build(struct build_job *j, struct err *e)
{
	struct daemon *d = j->d;
	long long t0 = mono_ms();
	struct store_image cur;
	int rc;

	rc = image_build_run(&j->plan, j->dir, j->log, workers_cancel_fd(d), on_progress, j, e);
	/* Stopped by the daemon's shutdown: its commands were killed, but what
	 * they leave may still be settling. The record stays "building" and
	 * the next start's reconcile removes it with its files, as after a
	 * crash. */
	if (rc < 0 && workers_cancelled(d)) {
		log_warn(d->log, "image build stopped by shutdown", LF_S("image", j->img.name),
			 LF_S("log", j->log));
		err_set(e, ERR_UNAVAILABLE,
			"image build %s: stopped because the daemon is shutting down", j->img.name);
		err_hint(e, "its files are removed at the next daemon start; build it again then");
		err_log(e, j->log);
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	if (rc == 0 && store_image_get(d->store, j->img.id, &cur, NULL) < 0) {
		rc = err_set(e, ERR_CONFLICT, "image %s was deleted while it was being built",
			     j->img.name);
	} else if (rc == 0) {
		snprintf(j->img.state, sizeof(j->img.state), "ready");
		rc = store_image_update(d->store, &j->img, e);
	}
	if (rc < 0)
		store_image_delete(d->store, j->img.id, NULL);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		struct err rm;

		if (image_tree_remove(j->dir, &rm) < 0)
			log_warn(d->log, "cannot remove a failed image build's files",
				 LF_S("path", j->dir), LF_S("error", rm.msg));
		if (!e->log[0])
			err_log(e, j->log);
		log_warn(d->log, "image build failed", LF_S("image", j->img.name),
			 LF_S("error", e->msg), LF_S("log", j->log));
		return err_wrap(e, "image build %s", j->img.name);
	}
	log_info(d->log, "image built", LF_S("image", j->img.name), LF_S("path", j->img.rootfs),
		 LF_S("log", j->log), LF_I("duration_ms", mono_ms() - t0));
	events_emit(d, "image.created", json_pack("{s:s}", "name", j->img.name));
	return 0;
}

static void build_worker(void *arg)
{
	struct build_job *j = arg;
	struct err e;
	json_t *line;

	err_clear(&e);
	if (build(j, &e) == 0) {
		line = json_pack("{s:o}", "result", image_to_json(j->d, &j->img));
	} else {
		line = server_error_json(&e);
	}
	stream_push(j->st, line);
	stream_close(j->st);
	job_free(j);
}

/* Writes the "building" record and makes the image dir and the log. */
static int start(struct daemon *d, struct build_job *j, const char *name, struct err *e)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, rc;

	id_generate(j->img.id);
	snprintf(j->img.name, sizeof(j->img.name), "%s", name);
	j->dir = xasprintf("%s/%s", d->paths.images_dir, j->img.id);
	snprintf(j->img.rootfs, sizeof(j->img.rootfs), "%s/rootfs.ext4", j->dir);
	snprintf(j->img.kernel, sizeof(j->img.kernel), "%s/vmlinux", j->dir);
	snprintf(j->img.initrd, sizeof(j->img.initrd), "%s/initrd.img", j->dir);
	j->img.managed = 1;
	snprintf(j->img.state, sizeof(j->img.state), "building");
	j->img.created_at = (long long)now;
	pthread_mutex_lock(&d->lock);
	rc = store_image_insert(d->store, &j->img, e);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0) {
		if (e->code == ERR_CONFLICT) {
			err_set(e, ERR_CONFLICT, "an image named \"%s\" already exists", name);
			err_hint(e,
				 "pick another --name, or delete it with `banger image delete %s`",
				 name);
		}
		return -1;
	}
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	j->log = xasprintf("%s/%s-%s.log", d->paths.image_build_dir, name, stamp);
	if (fs_mkdir_p(d->paths.image_build_dir, 0700, e) < 0 || fs_mkdir_p(j->dir, 0700, e) < 0)
		goto fail;
	fd = open(j->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_errno(e, errno, "create %s", j->log);
		goto fail;
	}
	dprintf(fd, "banger image build %s (image id %s) into %s\n", name, j->img.id, j->dir);
	close(fd);
	log_info(d->log, "image build started", LF_S("image", name), LF_S("log", j->log));
	return 0;
fail:
	pthread_mutex_lock(&d->lock);
	store_image_delete(d->store, j->img.id, NULL);
	pthread_mutex_unlock(&d->lock);
	image_tree_remove(j->dir, NULL);
	return -1;
}

int routes_image_build(struct daemon *d, const struct request *r, json_t **out, int *status,
		       struct stream **st, struct err *e)
{
	struct req_image_build req;
	const struct image_plan_opts *o = &req.opts;
	const char *name, *q = request_query(r, "stream");
	struct store_image other;
	struct build_job *j;
	char wname[128];

	if (req_decode_image_build(r->body, &req, e) < 0)
		return err_wrap(e, "image build");
	name = req.name;
	if (store_image_get(d->store, name, &other, NULL) == 0) {
		err_set(e, ERR_CONFLICT, "an image named \"%s\" already exists", name);
		err_hint(e, "pick another --name, or delete it with `banger image delete %s`",
			 name);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	if (image_plan_prepare(o, &d->cfg, d->runtime_dir, &j->plan, e) < 0 ||
	    start(d, j, name, e) < 0) {
		job_free(j);
		return err_wrap(e, "image build %s", name);
	}
	if (!q || strcmp(q, "1") != 0) {
		int rc = build(j, e);

		if (rc == 0) {
			*status = 201;
			*out = image_to_json(d, &j->img);
		}
		job_free(j);
		return rc;
	}
	j->st = stream_new();
	stream_ref(j->st); /* one for the server, one for the worker */
	*st = j->st;
	{
		char *msg = xasprintf("build log: %s", j->log);

		on_progress(j, msg);
		free(msg);
	}
	snprintf(wname, sizeof(wname), "image build %s", name);
	if (workers_spawn(d, wname, build_worker, j, e) < 0) {
		struct stream *s = j->st;

		pthread_mutex_lock(&d->lock);
		store_image_delete(d->store, j->img.id, NULL);
		pthread_mutex_unlock(&d->lock);
		image_tree_remove(j->dir, NULL);
		job_free(j);
		stream_unref(s);
		*st = NULL;
		return err_wrap(e, "image build %s", name);
	}
	return 1;
}
