/* routes: the /v1 API. Each handler validates its input strictly, calls the
 * VM or image operation and maps the result to JSON. */
#include "daemon/routes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/events.h"
#include "daemon/images.h"
#include "daemon/req_decode.h"
#include "daemon/ssh_keys.h"
#include "daemon/stream.h"
#include "daemon/vm.h"
#include "daemon/vm_net.h"
#include "daemon/workers.h"
#include "util/buf.h"

#define HANDLER(fn)                                                                                \
	static int fn(struct daemon *d, const struct request *r, json_t **out, int *status,        \
		      struct stream **st, struct err *e)
#define UNUSED_ARGS (void)d, (void)r, (void)out, (void)status, (void)st, (void)e

HANDLER(daemon_status)
{
	char *key = ssh_user_key_path(d), *kh = ssh_known_hosts_path(d);

	UNUSED_ARGS;
	*out = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b}", "pid",
			 (int)getpid(), "version", BANGER_VERSION, "socket", d->paths.socket, "log",
			 d->paths.log, "state_dir", d->paths.state_dir, "runtime_dir",
			 d->runtime_dir, "log_level", d->cfg.log_level, "ssh_key", key,
			 "known_hosts", kh, "uptime_ms", (json_int_t)(mono_ms() - d->started_ms),
			 "network", vmnet_status(d), "socket_activated", d->listen_fd >= 0);
	free(key);
	free(kh);
	return 0;
}

HANDLER(daemon_stop)
{
	UNUSED_ARGS;
	daemon_request_shutdown(d);
	*out = json_pack("{s:b}", "stopping", 1);
	return 0;
}

HANDLER(vm_list)
{
	const char *layout = request_header(r, VM_LIST_LAYOUT_HEADER);

	UNUSED_ARGS;
	return vm_list_text(d, r->text, layout && strcmp(layout, "indent") == 0, e);
}

HANDLER(vm_show)
{
	struct store_vm vm;

	UNUSED_ARGS;
	if (store_vm_get(d->store, r->arg, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

struct create_job {
	struct daemon *d;
	struct vm_create_req req;
	json_t *body; /* keeps req's strings alive */
	struct stream *st;
};

static json_t *result_or_error(struct daemon *d, int rc, const struct store_vm *vm,
			       const struct err *e)
{
	if (rc == 0)
		return json_pack("{s:o}", "result", vm_to_json(d, vm));
	return server_error_json(e);
}

/* A create already under way when shutdown begins runs to its end (the
 * drain waits for it): each of its steps is bounded, and stopping between
 * them would leave a VMM that no record names. */
static void create_worker(void *arg)
{
	struct create_job *j = arg;
	struct store_vm vm;
	struct err e;
	int rc;

	err_clear(&e);
	rc = vm_create(j->d, &j->req, j->st, &vm, &e);
	stream_push(j->st, result_or_error(j->d, rc, &vm, &e));
	stream_close(j->st);
	stream_unref(j->st);
	json_decref(j->body);
	free(j);
}

HANDLER(vm_create_h)
{
	struct vm_create_req req;
	const char *q = request_query(r, "stream");

	UNUSED_ARGS;
	if (req_decode_vm_create(r->body, &req, e) < 0)
		return -1;
	if (q && strcmp(q, "1") == 0) {
		struct create_job *j = xcalloc(1, sizeof(*j));
		char wname[128];

		j->d = d;
		j->req = req;
		j->body = json_incref(r->body);
		j->st = stream_new();
		stream_ref(j->st);
		*st = j->st;
		snprintf(wname, sizeof(wname), "vm create %s",
			 req.name ? req.name : "(generated name)");
		if (workers_spawn(d, wname, create_worker, j, e) < 0) {
			stream_unref(j->st);
			stream_unref(j->st);
			json_decref(j->body);
			free(j);
			*st = NULL;
			return err_wrap(e, "vm create");
		}
		return 1;
	}
	{
		struct store_vm vm;

		if (vm_create(d, &req, NULL, &vm, e) < 0)
			return -1;
		*status = 201;
		*out = vm_to_json(d, &vm);
	}
	return 0;
}

typedef int (*power_fn)(struct daemon *, const char *, struct store_vm *, struct err *);

static int power(struct daemon *d, const struct request *r, json_t **out, power_fn fn,
		 struct err *e)
{
	struct store_vm vm;

	if (req_decode_none(r->body, e) < 0)
		return -1;
	if (fn(d, r->arg, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

typedef int (*start_fn)(struct daemon *, const char *, int, struct store_vm *, struct err *);

static int start(struct daemon *d, const struct request *r, json_t **out, start_fn fn,
		 struct err *e)
{
	struct req_vm_start req;
	struct store_vm vm;

	if (req_decode_vm_start(r->body, &req, e) < 0 || fn(d, r->arg, req.no_wait, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_start_h)
{
	UNUSED_ARGS;
	return start(d, r, out, vm_start, e);
}

HANDLER(vm_stop_h)
{
	UNUSED_ARGS;
	return power(d, r, out, vm_stop, e);
}

HANDLER(vm_suspend_h)
{
	UNUSED_ARGS;
	return power(d, r, out, vm_suspend, e);
}

HANDLER(vm_port_add_h)
{
	struct req_vm_port req;
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_vm_port(r->body, &req, e) < 0 ||
	    vm_port_add(d, r->arg, req.spec, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_port_rm_h)
{
	char buf[128];
	const char *port = request_query_text(r, "port", buf, sizeof(buf));
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_none(r->body, e) < 0)
		return -1;
	if (!port || !port[0]) {
		err_set(e, ERR_INVALID, "which port? give ?port=[ADDR:]HOSTPORT");
		return -1;
	}
	if (vm_port_rm(d, r->arg, port, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_mount_h)
{
	struct req_vm_mount req;
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_vm_mount(r->body, &req, e) < 0 ||
	    vm_mount_add(d, r->arg, req.host, req.guest, req.ro, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_umount_h)
{
	char buf[1024];
	const char *path = request_query_text(r, "path", buf, sizeof(buf));
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_none(r->body, e) < 0)
		return -1;
	if (!path || !path[0]) {
		err_set(e, ERR_INVALID, "which share? give ?path=GUESTPATH or HOSTDIR");
		return -1;
	}
	if (vm_mount_rm(d, r->arg, path, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_clone_h)
{
	struct req_vm_clone req;
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_vm_clone(r->body, &req, e) < 0 ||
	    vm_clone(d, r->arg, req.name, NULL, &vm, e) < 0)
		return -1;
	*status = 201;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_snapshot_create_h)
{
	struct req_vm_snapshot req;

	UNUSED_ARGS;
	if (req_decode_vm_snapshot(r->body, &req, e) < 0 ||
	    vm_snapshot_create(d, r->arg, req.tag, out, e) < 0)
		return -1;
	*status = 201;
	return 0;
}

HANDLER(vm_snapshot_list_h)
{
	UNUSED_ARGS;
	return vm_snapshot_list(d, r->arg, out, e);
}

/* ?tag=TAG names the snapshot (a path segment only takes VM and image names). */
static const char *snapshot_tag(const struct request *r, struct err *e)
{
	const char *tag = request_query(r, "tag");

	if (!tag || !tag[0]) {
		err_set(e, ERR_INVALID, "which snapshot? give ?tag=TAG");
		return NULL;
	}
	return tag;
}

HANDLER(vm_snapshot_restore_h)
{
	const char *tag;
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_none(r->body, e) < 0 || !(tag = snapshot_tag(r, e)) ||
	    vm_snapshot_restore(d, r->arg, tag, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_snapshot_delete_h)
{
	const char *tag;

	UNUSED_ARGS;
	if (req_decode_none(r->body, e) < 0 || !(tag = snapshot_tag(r, e)) ||
	    vm_snapshot_delete(d, r->arg, tag, e) < 0)
		return -1;
	*out = json_pack("{s:b}", "deleted", 1);
	return 0;
}

HANDLER(vm_restart_h)
{
	UNUSED_ARGS;
	return start(d, r, out, vm_restart, e);
}

HANDLER(vm_kill_h)
{
	struct req_vm_kill req;
	struct store_vm vm;
	int sig;

	UNUSED_ARGS;
	if (req_decode_vm_kill(r->body, &req, e) < 0 ||
	    vm_signal_parse(req.signal ? req.signal : "KILL", &sig, e) < 0 ||
	    vm_kill(d, r->arg, sig, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_delete_h)
{
	const char *force = request_query(r, "force");

	UNUSED_ARGS;
	if (vm_delete(d, r->arg, force && strcmp(force, "1") == 0, e) < 0)
		return -1;
	*out = json_pack("{s:b}", "deleted", 1);
	return 0;
}

HANDLER(vm_set_h)
{
	struct vm_set_req req;
	struct store_vm vm;

	UNUSED_ARGS;
	if (req_decode_vm_set(r->body, &req, e) < 0)
		return -1;
	if (vm_set(d, r->arg, &req, &vm, e) < 0)
		return -1;
	*out = vm_to_json(d, &vm);
	return 0;
}

HANDLER(vm_stats_h)
{
	const char *flush = request_query(r, "flush");

	UNUSED_ARGS;
	return vm_stats(d, r->arg, !flush || strcmp(flush, "0") != 0, out, e);
}

HANDLER(image_list)
{
	struct store_image *imgs = NULL;
	size_t n = 0;
	json_t *arr;

	UNUSED_ARGS;
	if (store_image_list(d->store, &imgs, &n, e) < 0)
		return -1;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, image_to_json(d, &imgs[i]));
	free(imgs);
	*out = json_pack("{s:o}", "images", arr);
	return 0;
}

HANDLER(image_show)
{
	struct store_image img;

	UNUSED_ARGS;
	if (store_image_get(d->store, r->arg, &img, e) < 0)
		return -1;
	*out = image_to_json(d, &img);
	return 0;
}

HANDLER(image_register_h)
{
	struct image_register_req req;
	struct store_image img;

	UNUSED_ARGS;
	if (req_decode_image_register(r->body, &req, e) < 0)
		return -1;
	if (image_register(d, &req, &img, e) < 0)
		return -1;
	*status = 201;
	*out = image_to_json(d, &img);
	return 0;
}

HANDLER(image_delete_h)
{
	UNUSED_ARGS;
	if (image_delete(d, r->arg, e) < 0)
		return -1;
	*out = json_pack("{s:b}", "deleted", 1);
	return 0;
}

HANDLER(events_h)
{
	UNUSED_ARGS;
	*st = events_subscribe(d);
	stream_push(*st, json_pack("{s:s}", "type", "hello"));
	return 1;
}

/* clang-format off */
const struct route routes[] = {
	{"GET", "/v1/daemon", daemon_status},
	{"POST", "/v1/daemon/stop", daemon_stop},
	{"GET", "/v1/events", events_h},
	{"GET", "/v1/vms", vm_list},
	{"POST", "/v1/vms", vm_create_h},
	{"GET", "/v1/vms/{VM}", vm_show},
	{"PATCH", "/v1/vms/{VM}", vm_set_h},
	{"DELETE", "/v1/vms/{VM}", vm_delete_h},
	{"POST", "/v1/vms/{VM}/start", vm_start_h},
	{"POST", "/v1/vms/{VM}/stop", vm_stop_h},
	{"POST", "/v1/vms/{VM}/restart", vm_restart_h},
	{"POST", "/v1/vms/{VM}/suspend", vm_suspend_h},
	{"POST", "/v1/vms/{VM}/ports", vm_port_add_h},
	{"POST", "/v1/vms/{VM}/mounts", vm_mount_h},
	{"POST", "/v1/vms/{VM}/clone", vm_clone_h},
	{"GET", "/v1/vms/{VM}/snapshots", vm_snapshot_list_h},
	{"POST", "/v1/vms/{VM}/snapshots", vm_snapshot_create_h},
	{"POST", "/v1/vms/{VM}/snapshots/restore", vm_snapshot_restore_h},
	{"DELETE", "/v1/vms/{VM}/snapshots", vm_snapshot_delete_h},
	{"DELETE", "/v1/vms/{VM}/ports", vm_port_rm_h},
	{"DELETE", "/v1/vms/{VM}/mounts", vm_umount_h},
	{"POST", "/v1/vms/{VM}/kill", vm_kill_h},
	{"GET", "/v1/vms/{VM}/stats", vm_stats_h},
	{"GET", "/v1/images", image_list},
	{"POST", "/v1/images", image_register_h},
	{"POST", "/v1/images/build", routes_image_build},
	{"GET", "/v1/images/{image}", image_show},
	{"DELETE", "/v1/images/{image}", image_delete_h},
	{NULL, NULL, NULL},
};
/* clang-format on */
