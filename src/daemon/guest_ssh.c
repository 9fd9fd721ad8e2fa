/* guest_ssh: see guest_ssh.h. */
#include <stddef.h>

#include "daemon/guest_ssh.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void guest_ssh_argv(struct guest_ssh *g, const char *addr, const char *key, const char *known_hosts,
		    const char *const *extra, const char *script)
{
	static const char *const fixed[] = {
	    "-o", "StrictHostKeyChecking=yes",
	    "-o", "IdentitiesOnly=yes",
	    "-o", "GlobalKnownHostsFile=/dev/null",
	    "-o", "BatchMode=yes",
	    "-o", "ConnectTimeout=10",
	    "-o", "LogLevel=ERROR",
	};
	int n = 0;

	memset(g, 0, sizeof(*g));
	g->owned[0] = xasprintf("IdentityFile=%s", key);
	g->owned[1] = xasprintf("UserKnownHostsFile=%s", known_hosts);
	g->owned[2] = xasprintf("root@%s", addr);
	g->argv[n++] = "ssh";
	g->argv[n++] = "-o";
	g->argv[n++] = g->owned[0];
	g->argv[n++] = "-o";
	g->argv[n++] = g->owned[1];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		g->argv[n++] = fixed[i];
	for (int i = 0; extra && extra[i] && n < GUEST_SSH_ARGV_MAX - 4; i++)
		g->argv[n++] = extra[i];
	g->argv[n++] = g->owned[2];
	g->argv[n++] = "--";
	g->argv[n++] = script;
	g->argv[n] = NULL;
}

void guest_ssh_free(struct guest_ssh *g)
{
	for (size_t i = 0; i < sizeof(g->owned) / sizeof(g->owned[0]); i++)
		free(g->owned[i]);
	memset(g, 0, sizeof(*g));
}

int guest_sh_quote(const char *s, char *out, size_t len)
{
	size_t o = strlen(out);

	if (o + 1 >= len)
		return -1;
	out[o++] = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			if (o + 4 >= len)
				return -1;
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			if (o + 1 >= len)
				return -1;
			out[o++] = *s;
		}
	}
	if (o + 2 > len)
		return -1;
	out[o++] = '\'';
	out[o] = '\0';
	return 0;
}
