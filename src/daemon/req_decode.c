/* req_decode: see req_decode.h. Each request is a table of fields; one
 * walker checks a body against a table, so every route words its errors
 * the same way. */
#include "daemon/req_decode.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/names.h"
#include "util/buf.h"
#include "util/size.h"

enum field_kind { F_STRING, F_INT, F_BOOL, F_STRINGS /* array of strings: the json_t * */ };

/* No string field needs more than a path can have (PATH_MAX). */
#define REQ_STRING_MAX 4096

/* What a value must be beyond its JSON type. */
enum field_check {
	C_NONE,
	C_VM_NAME,
	C_IMAGE_NAME,
	C_SIZE,	 /* "16G": util/size */
	C_PATH,	 /* absolute; "" where optional means none */
	C_COUNT, /* an integer >= 0; 0 means "the default" or "unchanged" */
	C_VMM,	 /* "", auto, firecracker or qemu */
};

struct field {
	const char *name;
	enum field_kind kind;
	enum field_check check;
	int required;
	size_t off; /* of the const char *, long long or int in the output struct */
};

/* Each table ends with an entry whose name is NULL. */

static const struct field vm_create_fields[] = {
    {"name", F_STRING, C_VM_NAME, 0, offsetof(struct vm_create_req, name)},
    {"image", F_STRING, C_IMAGE_NAME, 0, offsetof(struct vm_create_req, image)},
    {"vcpu", F_INT, C_COUNT, 0, offsetof(struct vm_create_req, vcpu)},
    {"memory_mib", F_INT, C_COUNT, 0, offsetof(struct vm_create_req, memory_mib)},
    {"disk_size", F_STRING, C_SIZE, 0, offsetof(struct vm_create_req, disk_size)},
    {"vmm", F_STRING, C_VMM, 0, offsetof(struct vm_create_req, vmm)},
    {"nat", F_BOOL, C_NONE, 0, offsetof(struct vm_create_req, nat)},
    {"no_start", F_BOOL, C_NONE, 0, offsetof(struct vm_create_req, no_start)},
    {"no_wait", F_BOOL, C_NONE, 0, offsetof(struct vm_create_req, no_wait)},
    {"suspend_on_stop", F_BOOL, C_NONE, 0, offsetof(struct vm_create_req, suspend_on_stop)},
    {"publish", F_STRINGS, C_NONE, 0, offsetof(struct vm_create_req, publish)},
    {"mount", F_STRINGS, C_PATH, 0, offsetof(struct vm_create_req, mount)},
    {"autostart", F_BOOL, C_NONE, 0, offsetof(struct vm_create_req, autostart)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_start_fields[] = {
    {"no_wait", F_BOOL, C_NONE, 0, offsetof(struct req_vm_start, no_wait)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_set_fields[] = {
    {"vcpu", F_INT, C_COUNT, 0, offsetof(struct vm_set_req, vcpu)},
    {"memory_mib", F_INT, C_COUNT, 0, offsetof(struct vm_set_req, memory_mib)},
    {"disk_size", F_STRING, C_SIZE, 0, offsetof(struct vm_set_req, disk_size)},
    {"nat", F_BOOL, C_NONE, 0, offsetof(struct vm_set_req, nat)},
    {"suspend_on_stop", F_BOOL, C_NONE, 0, offsetof(struct vm_set_req, suspend_on_stop)},
    {"force", F_BOOL, C_NONE, 0, offsetof(struct vm_set_req, force)},
    {"autostart", F_BOOL, C_NONE, 0, offsetof(struct vm_set_req, autostart)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_port_fields[] = {
    {"spec", F_STRING, C_NONE, 1, offsetof(struct req_vm_port, spec)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_mount_fields[] = {
    {"host", F_STRING, C_PATH, 1, offsetof(struct req_vm_mount, host)},
    {"guest", F_STRING, C_PATH, 0, offsetof(struct req_vm_mount, guest)},
    {"ro", F_BOOL, C_NONE, 0, offsetof(struct req_vm_mount, ro)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_clone_fields[] = {
    {"name", F_STRING, C_VM_NAME, 1, offsetof(struct req_vm_clone, name)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_snapshot_fields[] = {
    {"tag", F_STRING, C_VM_NAME, 0, offsetof(struct req_vm_snapshot, tag)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field vm_kill_fields[] = {
    {"signal", F_STRING, C_NONE, 0, offsetof(struct req_vm_kill, signal)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const struct field no_fields[] = {{NULL, F_STRING, C_NONE, 0, 0}};

static const struct field image_register_fields[] = {
    {"name", F_STRING, C_IMAGE_NAME, 1, offsetof(struct image_register_req, name)},
    {"rootfs", F_STRING, C_PATH, 1, offsetof(struct image_register_req, rootfs)},
    {"kernel", F_STRING, C_PATH, 1, offsetof(struct image_register_req, kernel)},
    {"initrd", F_STRING, C_PATH, 0, offsetof(struct image_register_req, initrd)},
    {"modules_dir", F_STRING, C_PATH, 0, offsetof(struct image_register_req, modules_dir)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

#define BUILD(m) offsetof(struct req_image_build, m)
static const struct field image_build_fields[] = {
    {"name", F_STRING, C_IMAGE_NAME, 1, BUILD(name)},
    {"docker", F_BOOL, C_NONE, 0, BUILD(opts.docker)},
    {"packages_file", F_STRING, C_PATH, 0, BUILD(opts.packages_file)},
    {"suite", F_STRING, C_NONE, 0, BUILD(opts.suite)},
    {"mirror", F_STRING, C_NONE, 0, BUILD(opts.mirror)},
    {"size", F_STRING, C_SIZE, 0, BUILD(opts.size)},
    {"base_rootfs", F_STRING, C_PATH, 0, BUILD(opts.base_rootfs)},
    {NULL, F_STRING, C_NONE, 0, 0},
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int req_decode_body(const char *text, size_t len, json_t **out, struct err *e)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len == 0)
		return 0;
	/* DECODE_ANY so that `"x"` or `null` gets the plainer error below. */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!j) {
		char why[2 * sizeof(jerr.text)];

		/* jansson's text quotes the body ("near '...'"): a newline or
		 * anything else from there is escaped like any user text. */
		err_set(e, ERR_INVALID, "malformed JSON body: %s (line %d, column %d)",
			err_quote(why, sizeof(why), jerr.text), jerr.line, jerr.column);
		err_hint(e, "send one JSON object, e.g. {\"name\": \"calm-otter\"}");
		return -1;
	}
	if (!json_is_object(j)) {
		err_set(e, ERR_INVALID, "request body must be a JSON object, got %s", type_name(j));
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int req_decode_name(const char *raw, size_t len, const char *what, char **out, struct err *e)
{
	struct buf b = BUF_INIT;
	size_t n;

	*out = NULL;
	for (size_t i = 0; i < len; i++) {
		int hi = i + 2 < len ? hex(raw[i + 1]) : -1,
		    lo = i + 2 < len ? hex(raw[i + 2]) : -1;

		if (raw[i] == '%' && hi >= 0 && lo >= 0) {
			buf_putc(&b, (char)(hi << 4 | lo));
			i += 2;
		} else {
			buf_putc(&b, raw[i]);
		}
	}
	n = b.len;
	buf_putc(&b, '\0');
	/* "%00" would end the C string early and hide the rest. */
	if (strlen(b.data) != n) {
		buf_free(&b);
		return err_set(e, ERR_INVALID, "%s name contains a NUL byte", what);
	}
	if (name_check(b.data, what, e) < 0) {
		buf_free(&b);
		return -1;
	}
	*out = buf_steal(&b);
	return 0;
}

static int unknown(const char *key, const struct field *fields, struct err *e)
{
	struct buf b = BUF_INIT;

	for (const struct field *f = fields; f->name; f++)
		buf_printf(&b, "%s%s", f == fields ? "" : ", ", f->name);
	if (b.len)
		err_set(e, ERR_INVALID, "unknown field \"%s\" in the request body; accepted: %s",
			ERR_Q(key), b.data);
	else
		err_set(e, ERR_INVALID,
			"unknown field \"%s\" in the request body; this request "
			"takes no fields",
			ERR_Q(key));
	buf_free(&b);
	return -1;
}

/* The value checks of enum field_check, for a value of the right type. */
static int check_value(const struct field *f, const json_t *v, struct err *e)
{
	const char *s = json_string_value(v);
	long long size;

	switch (f->check) {
	case C_VM_NAME:
	case C_IMAGE_NAME:
		return name_check(s, f->check == C_VM_NAME ? "VM" : "image", e);
	case C_SIZE:
		return size_parse(s, &size, e);
	case C_PATH:
		if (!s[0] && f->required)
			return err_set(e, ERR_INVALID, "is empty: give a path");
		if (s[0] && s[0] != '/')
			return err_set(e, ERR_INVALID, "must be an absolute path, got \"%s\"",
				       ERR_Q(s));
		return 0;
	case C_COUNT:
		if (json_integer_value(v) < 0)
			return err_set(e, ERR_INVALID, "must not be negative, got %lld",
				       (long long)json_integer_value(v));
		return 0;
	case C_VMM:
		if (s[0] && strcmp(s, "auto") && strcmp(s, "firecracker") && strcmp(s, "qemu")) {
			err_set(e, ERR_INVALID, "unknown VMM \"%s\"", ERR_Q(s));
			err_hint(e, "use auto, firecracker or qemu");
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Type-checks v against f and stores it at out + f->off. */
static int store_value(const struct field *f, const json_t *v, char *out, struct err *e)
{
	static const char *const want[] = {[F_STRING] = "a string",
					   [F_INT] = "an integer",
					   [F_BOOL] = "true or false",
					   [F_STRINGS] = "an array of strings"};
	int ok = (f->kind == F_STRING && json_is_string(v)) ||
		 (f->kind == F_INT && json_is_integer(v)) ||
		 (f->kind == F_BOOL && json_is_boolean(v)) ||
		 (f->kind == F_STRINGS && json_is_array(v) && json_array_size(v) <= 64);

	if (!ok)
		return err_set(e, ERR_INVALID, "field \"%s\" must be %s, got %s", f->name,
			       want[f->kind], type_name(v));
	if (f->kind == F_STRINGS) {
		size_t i;
		json_t *x;

		/* C_PATH: items that start with an absolute path ("/src:/mnt:ro"). */
		size_t max = f->check == C_PATH ? REQ_STRING_MAX : 64;

		json_array_foreach(v, i, x)
		{
			if (!json_is_string(x) || json_string_length(x) > max)
				return err_set(e, ERR_INVALID,
					       "field \"%s\" must be an array of %s "
					       "strings; item %zu is %s",
					       f->name, max == 64 ? "short" : "path", i,
					       type_name(x));
			if (f->check == C_PATH && json_string_value(x)[0] != '/')
				return err_set(e, ERR_INVALID,
					       "field \"%s\": item %zu must start with an "
					       "absolute host path",
					       f->name, i);
		}
		memcpy(out + f->off, &v, sizeof(v));
		return 0;
	}
	if (f->kind == F_STRING && json_string_length(v) > REQ_STRING_MAX)
		return err_set(e, ERR_INVALID, "field \"%s\" is too long: %zu bytes, at most %d",
			       f->name, json_string_length(v), REQ_STRING_MAX);
	if (check_value(f, v, e) < 0)
		return err_wrap(e, "field \"%s\"", f->name);
	if (f->kind == F_STRING) {
		const char *s = json_string_value(v);

		memcpy(out + f->off, &s, sizeof(s));
	} else if (f->kind == F_INT) {
		long long n = json_integer_value(v);

		memcpy(out + f->off, &n, sizeof(n));
	} else {
		int b = json_is_true(v);

		memcpy(out + f->off, &b, sizeof(b));
	}
	return 0;
}

/* Fills out from body (NULL: {}) by the table: every key must be in it, of
 * its kind, and pass its check; required fields must be there. Fields that
 * are absent keep what out had. */
static int decode(const json_t *body, const struct field *fields, void *out, struct err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v)
	{
		const struct field *f = fields;

		while (f->name && strcmp(f->name, key) != 0)
			f++;
		if (!f->name)
			return unknown(key, fields, e);
		if (store_value(f, v, out, e) < 0)
			return -1;
	}
	for (const struct field *f = fields; f->name; f++)
		if (f->required && !json_object_get(body, f->name))
			return err_set(e, ERR_INVALID, "field \"%s\" is required", f->name);
	return 0;
}

int req_decode_vm_create(const json_t *body, struct vm_create_req *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->suspend_on_stop = -1;
	return decode(body, vm_create_fields, out, e);
}

int req_decode_vm_start(const json_t *body, struct req_vm_start *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_start_fields, out, e);
}

int req_decode_vm_set(const json_t *body, struct vm_set_req *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	out->nat = -1;
	out->suspend_on_stop = -1;
	out->autostart = -1;
	return decode(body, vm_set_fields, out, e);
}

int req_decode_vm_kill(const json_t *body, struct req_vm_kill *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_kill_fields, out, e);
}

int req_decode_vm_port(const json_t *body, struct req_vm_port *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_port_fields, out, e);
}

int req_decode_vm_mount(const json_t *body, struct req_vm_mount *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_mount_fields, out, e);
}

int req_decode_vm_clone(const json_t *body, struct req_vm_clone *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_clone_fields, out, e);
}

int req_decode_vm_snapshot(const json_t *body, struct req_vm_snapshot *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, vm_snapshot_fields, out, e);
}

int req_decode_none(const json_t *body, struct err *e)
{
	return decode(body, no_fields, NULL, e);
}

int req_decode_image_register(const json_t *body, struct image_register_req *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, image_register_fields, out, e);
}

int req_decode_image_build(const json_t *body, struct req_image_build *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return decode(body, image_build_fields, out, e);
}
