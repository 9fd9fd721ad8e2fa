/*
 * portfwd: published ports, forwarded by the daemon from a host socket
 * (127.0.0.1:8080) to a port of a running VM (issue 12).
 *
 * A user-space relay, as Lima's: no firewall rule and no route_localnet,
 * so nothing of the host's network setup changes. One thread serves every
 * listener and connection with epoll. The daemon says per VM which
 * forwards it wants (portfwd_set); listeners for specs that stay are kept,
 * with their connections.
 */
#ifndef BANGER_DAEMON_PORTFWD_H
#define BANGER_DAEMON_PORTFWD_H

#include <stddef.h>

#include "daemon/port_spec.h"
#include "util/err.h"
#include "util/log.h"

struct portfwd;

int portfwd_start(struct portfwd **out, struct logger *log, struct err *e);
/* Closes every listener and connection and ends the thread. Accepts NULL. */
void portfwd_stop(struct portfwd *pf);

/* Makes vm_id's forwards exactly specs[0..n) to guest_addr (n = 0: none).
 * A spec whose host socket cannot be bound is skipped, and -1 returned
 * with e naming it (and the VM that holds it, if one does); the others
 * are set up all the same. */
int portfwd_set(struct portfwd *pf, const char *vm_id, const char *vm_name, const char *guest_addr,
		const struct port_spec *specs, int n, struct err *e);

/* The name of the VM whose forward holds the host socket of p (other than
 * vm_id), into name; 0 when none does. */
int portfwd_holder(struct portfwd *pf, const struct port_spec *p, const char *vm_id, char *name,
		   size_t len);

/* Whether p's host socket can be bound now (nobody else listens there).
 * ERR_CONFLICT naming the address when it cannot. */
int portfwd_probe(const struct port_spec *p, struct err *e);

#endif
