/*
 * port_spec: published ports, "[HOSTADDR:]HOSTPORT:GUESTPORT" (issue 12).
 *
 * A VM's list is kept in its record as text, "127.0.0.1:8080:80,..." (the
 * canonical form of each spec, comma-separated). Pure: no I/O.
 */
#ifndef BANGER_DAEMON_PORT_SPEC_H
#define BANGER_DAEMON_PORT_SPEC_H

#include <stddef.h>

#include "util/err.h"

#define PORT_SPEC_MAX 16 /* forwards per VM */

struct port_spec {
	char addr[16]; /* IPv4 dotted quad on the host; 127.0.0.1 when not given */
	int host;      /* 1-65535 */
	int guest;     /* 1-65535 */
};

/* Parses "8080:80", "0.0.0.0:8080:80". Errors say what a spec looks like. */
int port_spec_parse(const char *text, struct port_spec *out, struct err *e);

/* "127.0.0.1:8080:80" into out. */
void port_spec_format(const struct port_spec *p, char *out, size_t len);

/* Parses a record's list ("" is none). Returns the count, or -1. */
int port_list_parse(const char *text, struct port_spec *out, int max, struct err *e);

/* Writes n specs as a record's list; -1 (e filled) when it does not fit. */
int port_list_format(const struct port_spec *p, int n, char *out, size_t len, struct err *e);

/* Whether two specs take the same host socket (same port, and the same
 * address or either one 0.0.0.0). */
int port_spec_clash(const struct port_spec *a, const struct port_spec *b);

#endif
