/* Unit tests: API request bodies and path names (daemon/req_decode). Each
 * error names the field, what it must be and what it got. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/req_decode.h"

/* Parses text (which must be a JSON object) for a decoder. */
static json_t *body(const char *text)
{
	json_t *j = NULL;
	struct err e;

	assert_int_equal(req_decode_body(text, strlen(text), &j, &e), 0);
	return j;
}

/* The error of decoding text as a VM create body. */
static const char *create_error(const char *text, struct err *e)
{
	struct vm_create_req req;
	json_t *j = body(text);

	assert_int_equal(req_decode_vm_create(j, &req, e), -1);
	assert_int_equal(e->code, ERR_INVALID);
	json_decref(j);
	return e->msg;
}

static void create_fills_the_request(void **state)
{
	struct vm_create_req req;
	struct err e;
	json_t *j = body("{\"name\": \"calm-otter\", \"vcpu\": 2, \"memory_mib\": 512, "
			 "\"disk_size\": \"8G\", \"vmm\": \"qemu\", \"nat\": true}");

	(void)state;
	assert_int_equal(req_decode_vm_create(j, &req, &e), 0);
	assert_string_equal(req.name, "calm-otter");
	assert_null(req.image);
	assert_int_equal(req.vcpu, 2);
	assert_int_equal(req.memory_mib, 512);
	assert_string_equal(req.disk_size, "8G");
	assert_string_equal(req.vmm, "qemu");
	assert_int_equal(req.nat, 1);
	assert_int_equal(req.no_start, 0);
	assert_int_equal(req.autostart, 0);
	json_decref(j);
	assert_int_equal(req_decode_vm_create(NULL, &req, &e), 0); /* no body */
	assert_null(req.name);
	assert_int_equal(req.no_wait, 0);
}

static void start_takes_no_wait_only(void **state)
{
	struct req_vm_start req;
	struct err e;
	json_t *j = body("{\"no_wait\": true}");

	(void)state;
	assert_int_equal(req_decode_vm_start(j, &req, &e), 0);
	assert_int_equal(req.no_wait, 1);
	json_decref(j);
	assert_int_equal(req_decode_vm_start(NULL, &req, &e), 0);
	assert_int_equal(req.no_wait, 0);
	j = body("{\"no_wait\": 1}");
	assert_int_equal(req_decode_vm_start(j, &req, &e), -1);
	assert_string_equal(e.msg, "field \"no_wait\" must be true or false, got an integer");
	json_decref(j);
}

static void publish_is_an_array_of_strings(void **state)
{
	struct vm_create_req req;
	struct err e;
	json_t *j = body("{\"publish\": [\"8080:80\", \"9000:9000\"], \"suspend_on_stop\": true}");

	(void)state;
	assert_int_equal(req_decode_vm_create(j, &req, &e), 0);
	assert_int_equal(json_array_size(req.publish), 2);
	assert_int_equal(req.suspend_on_stop, 1);
	json_decref(j);
	j = body("{}");
	assert_int_equal(req_decode_vm_create(j, &req, &e), 0);
	assert_null(req.publish);
	assert_int_equal(req.suspend_on_stop, -1); /* the config's default */
	json_decref(j);
	assert_non_null(strstr(create_error("{\"publish\": \"8080:80\"}", &e),
			       "must be an array of strings, got a string"));
	assert_non_null(strstr(create_error("{\"publish\": [80]}", &e), "item 0 is an integer"));
}

static void unknown_fields_are_named_with_the_accepted_ones(void **state)
{
	struct err e;

	(void)state;
	assert_string_equal(create_error("{\"memory\": 512}", &e),
			    "unknown field \"memory\" in the request body; accepted: name, image, "
			    "vcpu, memory_mib, disk_size, vmm, nat, no_start, no_wait, "
			    "suspend_on_stop, publish, mount, autostart");
	{
		json_t *j = body("{\"force\": true}");

		assert_int_equal(req_decode_none(j, &e), -1);
		assert_string_equal(e.msg, "unknown field \"force\" in the request body; this "
					   "request takes no fields");
		json_decref(j);
	}
}

static void wrong_types_say_what_was_expected(void **state)
{
	struct err e;

	(void)state;
	assert_string_equal(create_error("{\"vcpu\": \"2\"}", &e),
			    "field \"vcpu\" must be an integer, got a string");
	assert_string_equal(create_error("{\"vcpu\": 1.5}", &e),
			    "field \"vcpu\" must be an integer, got a number with a fraction");
	assert_string_equal(create_error("{\"name\": null}", &e),
			    "field \"name\" must be a string, got null");
	assert_string_equal(create_error("{\"nat\": \"yes\"}", &e),
			    "field \"nat\" must be true or false, got a string");
	assert_string_equal(create_error("{\"image\": [\"x\"]}", &e),
			    "field \"image\" must be a string, got an array");
}

static void values_are_checked(void **state)
{
	struct err e;

	(void)state;
	assert_string_equal(create_error("{\"name\": \"caf\\u00e9\"}", &e),
			    "field \"name\": VM name \"caf\xc3\xa9\" contains '\xc3\xa9'");
	assert_string_equal(create_error("{\"name\": \"a\\nb\"}", &e),
			    "field \"name\": VM name \"a\\nb\" contains '\\n'");
	assert_non_null(strstr(create_error("{\"name\": \"../x\"}", &e), "not a path"));
	assert_non_null(strstr(create_error("{\"disk_size\": \"-1G\"}", &e), "must be positive"));
	assert_non_null(strstr(create_error("{\"disk_size\": \"99999999T\"}", &e), "too large"));
	assert_string_equal(create_error("{\"vcpu\": -1}", &e),
			    "field \"vcpu\": must not be negative, got -1");
	assert_non_null(strstr(create_error("{\"vmm\": \"kvm\"}", &e), "unknown VMM \"kvm\""));
	{
		char big[5000 + 20];

		snprintf(big, sizeof(big), "{\"vmm\": \"%04999d\"}", 0);
		assert_string_equal(create_error(big, &e),
				    "field \"vmm\" is too long: 4999 bytes, at most 4096");
	}
}

static void set_and_kill(void **state)
{
	struct vm_set_req set;
	struct req_vm_kill kill;
	struct err e;
	json_t *j = body("{\"memory_mib\": 2048}");

	(void)state;
	assert_int_equal(req_decode_vm_set(j, &set, &e), 0);
	assert_int_equal(set.memory_mib, 2048);
	assert_int_equal(set.nat, -1);
	assert_int_equal(set.autostart, -1);
	assert_null(set.disk_size);
	json_decref(j);
	j = body("{\"nat\": false, \"autostart\": true}");
	assert_int_equal(req_decode_vm_set(j, &set, &e), 0);
	assert_int_equal(set.nat, 0);
	assert_int_equal(set.autostart, 1);
	json_decref(j);
	j = body("{\"autostart\": \"yes\"}");
	assert_int_equal(req_decode_vm_set(j, &set, &e), -1);
	assert_string_equal(e.msg, "field \"autostart\" must be true or false, got a string");
	json_decref(j);
	j = body("{\"signal\": 9}");
	assert_int_equal(req_decode_vm_kill(j, &kill, &e), -1);
	assert_string_equal(e.msg, "field \"signal\" must be a string, got an integer");
	json_decref(j);
}

static void images_need_names_and_absolute_paths(void **state)
{
	struct image_register_req reg;
	struct req_image_build build;
	struct err e;
	json_t *j = body("{\"name\": \"base\", \"rootfs\": \"rootfs.ext4\", \"kernel\": \"/k\"}");

	(void)state;
	assert_int_equal(req_decode_image_register(j, &reg, &e), -1);
	assert_string_equal(e.msg,
			    "field \"rootfs\": must be an absolute path, got \"rootfs.ext4\"");
	json_decref(j);
	j = body("{\"name\": \"base\", \"kernel\": \"/k\"}");
	assert_int_equal(req_decode_image_register(j, &reg, &e), -1);
	assert_string_equal(e.msg, "field \"rootfs\" is required");
	json_decref(j);
	j = body("{\"name\": \"deb\", \"docker\": true, \"size\": \"2G\", \"suite\": \"trixie\"}");
	assert_int_equal(req_decode_image_build(j, &build, &e), 0);
	assert_string_equal(build.name, "deb");
	assert_int_equal(build.opts.docker, 1);
	assert_string_equal(build.opts.size, "2G");
	assert_string_equal(build.opts.suite, "trixie");
	assert_null(build.opts.mirror);
	json_decref(j);
	assert_int_equal(req_decode_image_build(NULL, &build, &e), -1);
	assert_string_equal(e.msg, "field \"name\" is required");
}

static void bodies_must_be_json_objects(void **state)
{
	const char *bad[] = {"{",
			     "[1]",
			     "\"x\"",
			     "{\"a\": 1, \"a\": 2}",
			     "{\"a\": \"\\u0000\"}",
			     "{\"a\": \"caf\xc3\"}",
			     "{\"a\": \"\x1b\"}"};
	json_t *j;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(req_decode_body(bad[i], strlen(bad[i]), &j, &e), -1);
		assert_null(j);
		assert_int_equal(e.code, ERR_INVALID);
		/* The error itself must be encodable as JSON. */
		j = json_string(e.msg);
		assert_non_null(j);
		json_decref(j);
	}
	assert_int_equal(req_decode_body("", 0, &j, &e), 0);
	assert_null(j);
}

static void path_names_are_decoded_then_checked(void **state)
{
	char *name;
	struct err e;

	(void)state;
	assert_int_equal(req_decode_name("calm-otter", 10, "VM", &name, &e), 0);
	assert_string_equal(name, "calm-otter");
	free(name);
	assert_int_equal(req_decode_name("%2E%2E%2Fx", 10, "VM", &name, &e), -1);
	assert_null(name);
	assert_non_null(strstr(e.msg, "\"../x\""));
	assert_int_equal(req_decode_name("caf%C3", 6, "image", &name, &e), -1);
	assert_string_equal(e.msg, "image name \"caf\\xc3\" is not valid UTF-8 (byte \\xc3)");
	assert_int_equal(req_decode_name("a%00b", 5, "VM", &name, &e), -1);
	assert_string_equal(e.msg, "VM name contains a NUL byte");
	assert_int_equal(req_decode_name("a%zz", 4, "VM", &name, &e), -1);
	assert_non_null(strstr(e.msg, "contains '%'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(create_fills_the_request),
	    cmocka_unit_test(unknown_fields_are_named_with_the_accepted_ones),
	    cmocka_unit_test(publish_is_an_array_of_strings),
	    cmocka_unit_test(start_takes_no_wait_only),
	    cmocka_unit_test(wrong_types_say_what_was_expected),
	    cmocka_unit_test(values_are_checked),
	    cmocka_unit_test(set_and_kill),
	    cmocka_unit_test(images_need_names_and_absolute_paths),
	    cmocka_unit_test(bodies_must_be_json_objects),
	    cmocka_unit_test(path_names_are_decoded_then_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
