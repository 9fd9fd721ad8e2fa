/* names: see names.h. */
#include "daemon/names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/spawn.h"
#include "util/utf8.h"

static const char *const adjectives[] = {
    "calm",  "brave",  "bright", "clever", "eager",  "gentle", "happy",	 "jolly",
    "keen",  "lively", "lucky",	 "merry",  "nimble", "proud",  "quick",	 "quiet",
    "rapid", "shiny",  "silent", "sturdy", "sunny",  "swift",  "tidy",	 "witty",
    "bold",  "cosy",   "dapper", "fuzzy",  "golden", "humble", "mellow", "plucky",
};

static const char *const animals[] = {
    "otter",  "badger", "falcon", "heron", "lynx",   "marten", "panda",	 "puffin",
    "quokka", "raven",	"seal",	  "stoat", "tapir",  "walrus", "wombat", "yak",
    "beaver", "bison",	"crane",  "dingo", "ferret", "gecko",  "ibex",	 "koala",
    "lemur",  "moose",	"newt",	  "okapi", "pika",   "robin",  "sloth",	 "vole",
};

static int name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* The error for the first character of name that a name may not have, at
 * name + i: the whole character (not one byte of it), escaped. */
static int bad_char(const char *name, size_t i, const char *what, struct err *e)
{
	size_t k = utf8_seq(name + i, strlen(name + i));
	char one[8] = {0};

	if (k == 0) {
		err_set(e, ERR_INVALID, "%s name \"%s\" is not valid UTF-8 (byte \\x%02x)", what,
			ERR_Q(name), (unsigned char)name[i]);
	} else {
		memcpy(one, name + i, k);
		err_set(e, ERR_INVALID, "%s name \"%s\" contains '%s'%s", what, ERR_Q(name),
			ERR_Q(one), strchr(name, '/') ? " (a name, not a path)" : "");
	}
	err_hint(e, "use lowercase letters, digits and hyphens (it becomes a DNS name)");
	return -1;
}

int name_check(const char *name, const char *what, struct err *e)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return err_set(e, ERR_INVALID, "%s name is empty", what);
	/* Characters first: "é" x 40 is not "longer than 63" to its writer. */
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(name[i]))
			return bad_char(name, i, what, e);
	if (n > 63)
		return err_set(e, ERR_INVALID, "%s name \"%s\" is longer than 63 characters", what,
			       ERR_Q(name));
	if (name[0] == '-' || name[n - 1] == '-') {
		err_set(e, ERR_INVALID, "%s name \"%s\" starts or ends with a hyphen", what, name);
		err_hint(e, "use lowercase letters, digits and hyphens, e.g. calm-otter");
		return -1;
	}
	return 0;
}

static uint32_t rnd(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

void name_generate(char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s",
		 adjectives[rnd() % (sizeof(adjectives) / sizeof(adjectives[0]))],
		 animals[rnd() % (sizeof(animals) / sizeof(animals[0]))]);
}

int name_from_program(const char *prog, char *buf, size_t len, struct err *e)
{
	const char *argv[] = {prog, NULL};
	char *out = NULL, *nl;
	int ret;

	if (spawn_output(argv, NULL, &out, e) < 0)
		return err_wrap(e, "namegen_path %s", prog);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	ret = name_check(out, "VM", e);
	if (ret == 0)
		snprintf(buf, len, "%s", out);
	else
		err_wrap(e, "namegen_path %s printed an unusable name", prog);
	free(out);
	return ret;
}

void id_generate(char buf[17])
{
	unsigned char b[8];

	for (size_t i = 0; i < sizeof(b); i += 4) {
		uint32_t v = rnd();

		memcpy(b + i, &v, 4);
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
}
