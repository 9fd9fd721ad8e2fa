/*
 * libFuzzer target for the API's request decoding (daemon/req_decode): the
 * input is a request body, parsed once and given to every route's decoder,
 * and also a {name} path segment. Nothing may crash, leak or trip a
 * sanitizer, and every error must be one the API can send: ERR_INVALID,
 * a message that is valid UTF-8 without control characters (so jansson can
 * encode it and a terminal can show it). What a decoder accepts must hold
 * up too: names are DNS labels, paths absolute, counts not negative.
 * Built with clang by tests/fuzz/run.sh, outside meson.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/names.h"
#include "daemon/req_decode.h"
#include "util/utf8.h"

static void check_error(int rc, const struct err *e)
{
	json_t *j;

	if (rc == 0)
		return;
	if (rc != -1 || e->code != ERR_INVALID || !e->msg[0])
		abort();
	for (const char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	j = json_pack("{s:s, s:s}", "message", e->msg, "hint", e->hint);
	if (!j)
		abort();
	json_decref(j);
}

static void check_name(const char *name, const char *what)
{
	struct err e;

	if (name && name_check(name, what, &e) < 0)
		abort();
}

static void check_path(const char *path, int required)
{
	if ((path && path[0] && path[0] != '/') || (required && (!path || !path[0])))
		abort();
}

static void decode_all(const json_t *body)
{
	struct vm_create_req create;
	struct vm_set_req set;
	struct req_vm_kill kill;
	struct image_register_req reg;
	struct req_image_build build;
	struct err e;
	int rc;

	rc = req_decode_vm_create(body, &create, &e);
	check_error(rc, &e);
	if (rc == 0) {
		check_name(create.name, "VM");
		check_name(create.image, "image");
		if (create.vcpu < 0 || create.memory_mib < 0)
			abort();
	}
	rc = req_decode_vm_set(body, &set, &e);
	check_error(rc, &e);
	if (rc == 0 && (set.nat < -1 || set.nat > 1))
		abort();
	check_error(req_decode_vm_kill(body, &kill, &e), &e);
	check_error(req_decode_none(body, &e), &e);
	rc = req_decode_image_register(body, &reg, &e);
	check_error(rc, &e);
	if (rc == 0) {
		check_name(reg.name, "image");
		check_path(reg.rootfs, 1);
		check_path(reg.kernel, 1);
		check_path(reg.initrd, 0);
	}
	rc = req_decode_image_build(body, &build, &e);
	check_error(rc, &e);
	if (rc == 0) {
		check_name(build.name, "image");
		check_path(build.opts.base_rootfs, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = NULL;
	struct err e;
	char *name = NULL;
	int rc;

	rc = req_decode_body((const char *)data, size, &body, &e);
	check_error(rc, &e);
	if (rc == 0)
		decode_all(body);
	json_decref(body);
	/* The same bytes as the {name} of /v1/vms/{name} (a path segment never
	 * holds a "/"; everything else can come). */
	if (!memchr(data, '/', size)) {
		rc = req_decode_name((const char *)data, size, "VM", &name, &e);
		check_error(rc, &e);
		if (rc == 0)
			check_name(name, "VM");
		free(name);
	}
	return 0;
}
