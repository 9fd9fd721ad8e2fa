/*
 * guest_files: render hostname, hosts, networkd and resolv.conf text.
 * See guest_files.h. Uses open_memstream so sizes are never guessed.
 */
#include "guest/guest_files.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char default_hosts[] = "127.0.0.1\tlocalhost\n"
				    "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
				    "ff02::1\t\tip6-allnodes\n"
				    "ff02::2\t\tip6-allrouters\n";

/* True when line (up to its newline) has first field equal to addr. */
static bool first_field_is(const char *line, size_t len, const char *addr)
{
	size_t i = 0, n = strlen(addr);

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return len - i > n && strncmp(line + i, addr, n) == 0 &&
	       (line[i + n] == ' ' || line[i + n] == '\t');
}

static void put_hosts_line(FILE *f, const char *name)
{
	const char *dot = strchr(name, '.');

	/* Debian's convention for an FQDN: "127.0.1.1 host.example.org host". */
	if (dot)
		fprintf(f, "127.0.1.1\t%s %.*s\n", name, (int)(dot - name), name);
	else
		fprintf(f, "127.0.1.1\t%s\n", name);
}

static char *render_hosts(const char *name, const char *old)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	bool placed = false;

	if (!f)
		abort();
	if (!old || !*old)
		old = default_hosts;
	for (const char *p = old; *p;) {
		size_t len = strcspn(p, "\n");
		if (!first_field_is(p, len, "127.0.1.1"))
			fprintf(f, "%.*s\n", (int)len, p);
		if (!placed && first_field_is(p, len, "127.0.0.1")) {
			put_hosts_line(f, name);
			placed = true;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	fclose(f);
	if (!placed) {
		char *with = NULL;
		size_t wlen = 0;
		f = open_memstream(&with, &wlen);
		if (!f)
			abort();
		put_hosts_line(f, name);
		fputs(out, f);
		fclose(f);
		free(out);
		out = with;
	}
	return out;
}

static char *render_network(const struct guest_cmdline *c)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	if (!f)
		abort();
	fputs("# Written by banger-init at every boot from the kernel command line\n"
	      "# (banger.ip, banger.gw, banger.dns): change them with `banger vm set`.\n"
	      "[Match]\nName=eth0\n\n[Network]\n",
	      f);
	fprintf(f, "Address=%s/%d\n", c->ip, c->prefix);
	if (c->gw[0])
		fprintf(f, "Gateway=%s\n", c->gw);
	for (int i = 0; i < c->ndns; i++)
		fprintf(f, "DNS=%s\n", c->dns[i]);
	/* A static address needs neither DHCP nor IPv6 autoconfiguration; turning
	 * them off keeps networkd from waiting for answers that never come. */
	fputs("DHCP=no\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n", f);
	fclose(f);
	return out;
}

static char *render_resolv(const struct guest_cmdline *c)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	if (!f)
		abort();
	fputs("# Written by banger-init at every boot from banger.dns.\n", f);
	for (int i = 0; i < c->ndns; i++)
		fprintf(f, "nameserver %s\n", c->dns[i]);
	fclose(f);
	return out;
}

static char *dup_line(const char *s)
{
	size_t n = strlen(s);
	char *p = malloc(n + 2);

	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\n';
	p[n + 1] = '\0';
	return p;
}

static void add(struct guest_files *fs, const char *path, char *content)
{
	fs->f[fs->n].path = path;
	fs->f[fs->n].content = content;
	fs->n++;
}

int guest_files_render(const struct guest_cmdline *c, const char *old_hosts,
		       struct guest_files *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (c->hostname[0] && !guest_cmdline_valid_hostname(c->hostname))
		return err_set(e, ERR_INVALID, "invalid hostname '%s'", c->hostname);
	if (c->hostname[0]) {
		add(out, "/etc/hostname", dup_line(c->hostname));
		add(out, "/etc/hosts", render_hosts(c->hostname, old_hosts));
	}
	add(out, GUEST_FILES_NETWORK, c->ip[0] ? render_network(c) : NULL);
	if (c->ndns > 0)
		add(out, "/etc/resolv.conf", render_resolv(c));
	return 0;
}

void guest_files_free(struct guest_files *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->f[i].content);
	fs->n = 0;
}
