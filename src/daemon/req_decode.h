/*
 * req_decode: API request bodies and path names, from the bytes a client
 * sent to the plain request structs the VM and image operations take.
 *
 * Pure: no I/O, no daemon, no lock; the routes call it before they touch
 * anything, and tests/fuzz/request feeds it arbitrary bytes. Every error is
 * ERR_INVALID (HTTP 400) and says what is wrong in words a user can act on:
 * the field, what it must be and what it got, and for an unknown field the
 * fields the request accepts. Values are checked as far as that can be done
 * without the daemon's state: names, sizes, absolute paths, the VMM name.
 *
 * Strings in the filled structs point into the body: keep the json_t alive
 * for as long as they are used.
 */
#ifndef BANGER_DAEMON_REQ_DECODE_H
#define BANGER_DAEMON_REQ_DECODE_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/images.h"
#include "daemon/vm.h"
#include "image/image_plan.h"
#include "util/err.h"

/* Parses a request body: len bytes of JSON text that must be one object
 * (duplicate keys, \u0000 and invalid UTF-8 are refused). len 0 is "no
 * body": *out = NULL, which every decoder below takes as {}. Else *out is a
 * new reference. */
int req_decode_body(const char *text, size_t len, json_t **out, struct err *e);

/* A {name} path segment as it came on the wire (len bytes, still
 * percent-encoded), decoded into *out (malloc'd) and checked as a `what`
 * ("VM", "image") name, so that "../x" or "caf%C3%A9" is a 400 that says
 * why. *out is NULL after an error. */
int req_decode_name(const char *raw, size_t len, const char *what, char **out, struct err *e);

/* POST /v1/vms: {name?, image?, vcpu?, memory_mib?, disk_size?, vmm?, nat?,
 * no_start?, no_wait?, suspend_on_stop?, publish?, mount?, autostart?};
 * out->suspend_on_stop is -1 when absent (the config's default); publish is
 * the body's array of strings (borrowed), NULL when absent. */
int req_decode_vm_create(const json_t *body, struct vm_create_req *out, struct err *e);

/* PATCH /v1/vms/{name}: {vcpu?, memory_mib?, disk_size?, nat?,
 * suspend_on_stop?, force?, autostart?}; out->nat, out->suspend_on_stop and
 * out->autostart are -1 when absent. */
int req_decode_vm_set(const json_t *body, struct vm_set_req *out, struct err *e);

/* POST /v1/vms/{name}/ports: {spec} ("[ADDR:]HOSTPORT:GUESTPORT"). */
struct req_vm_port {
	const char *spec;
};
int req_decode_vm_port(const json_t *body, struct req_vm_port *out, struct err *e);

/* POST /v1/vms/{name}/mounts: {host, guest?, ro?} (absolute paths; guest
 * defaults to host). */
struct req_vm_mount {
	const char *host;
	const char *guest;
	int ro;
};
int req_decode_vm_mount(const json_t *body, struct req_vm_mount *out, struct err *e);

/* POST /v1/vms/{name}/clone: {name} of the new VM. */
struct req_vm_clone {
	const char *name;
};
int req_decode_vm_clone(const json_t *body, struct req_vm_clone *out, struct err *e);

/* POST /v1/vms/{name}/snapshots: {tag?} (a name like a VM's; NULL: a
 * generated one). */
struct req_vm_snapshot {
	const char *tag;
};
int req_decode_vm_snapshot(const json_t *body, struct req_vm_snapshot *out, struct err *e);

/* POST /v1/vms/{name}/kill: {signal?}; NULL when absent. */
struct req_vm_kill {
	const char *signal;
};
int req_decode_vm_kill(const json_t *body, struct req_vm_kill *out, struct err *e);

/* POST /v1/vms/{name}/start, /restart: {no_wait?} (true: answer once the
 * VMM is up, the VM "starting", instead of when the guest is ready). */
struct req_vm_start {
	int no_wait;
};
int req_decode_vm_start(const json_t *body, struct req_vm_start *out, struct err *e);

/* POST /v1/vms/{name}/stop: {} or no body. */
int req_decode_none(const json_t *body, struct err *e);

/* POST /v1/images: {name, rootfs, kernel, initrd?, modules_dir?}. */
int req_decode_image_register(const json_t *body, struct image_register_req *out, struct err *e);

/* POST /v1/images/build: {name, docker?, packages_file?, suite?, mirror?,
 * size?, base_rootfs?}. */
struct req_image_build {
	const char *name;
	struct image_plan_opts opts;
};
int req_decode_image_build(const json_t *body, struct req_image_build *out, struct err *e);

#endif
