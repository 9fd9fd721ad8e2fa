/*
 * vm_ports: a VM's published ports (vm create --publish, vm port add|rm):
 * recorded on the VM, forwarded by portfwd while the VM runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/portfwd.h"
#include "daemon/vm.h"

/* Locked: ERR_CONFLICT when another VM's record publishes a spec that
 * takes the same host socket as p. */
static int clash_locked(struct daemon *d, const char *vm_id, const struct port_spec *p,
			struct err *e)
{
	struct store_vm *vms = NULL;
	size_t n = 0;
	int ret = 0;

	if (store_vm_list(d->store, &vms, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct port_spec specs[PORT_SPEC_MAX];
		int k;

		if (!strcmp(vms[i].id, vm_id))
			continue;
		k = port_list_parse(vms[i].ports, specs, PORT_SPEC_MAX, NULL);
		for (int j = 0; j < k && ret == 0; j++)
			if (port_spec_clash(&specs[j], p)) {
				err_set(e, ERR_CONFLICT,
					"%s:%d on the host is already published by VM "
					"%s",
					p->addr, p->host, vms[i].name);
				err_hint(
				    e,
				    "remove it there (banger vm port rm %s %d) or choose another "
				    "host port",
				    vms[i].name, p->host);
				ret = -1;
			}
	}
	free(vms);
	return ret;
}

int vm_ports_check_locked(struct daemon *d, const char *vm_id, const char *list, struct err *e)
{
	struct port_spec specs[PORT_SPEC_MAX];
	int n = port_list_parse(list, specs, PORT_SPEC_MAX, e);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++)
			if (port_spec_clash(&specs[i], &specs[j]))
				return err_set(e, ERR_CONFLICT, "host port %d is published twice",
					       specs[i].host);
		if (clash_locked(d, vm_id, &specs[i], e) < 0)
			return -1;
	}
	return 0;
}

int vm_ports_join(json_t *arr, char *out, size_t len, struct err *e)
{
	/* Each host socket must be free now: a typo'd address or a port some
	 * program holds is said at create, not at the first boot. */
	struct port_spec specs[PORT_SPEC_MAX];
	size_t i;
	json_t *v;
	int n = 0;

	out[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		if (n >= PORT_SPEC_MAX)
			return err_set(e, ERR_INVALID, "more than %d published ports",
				       PORT_SPEC_MAX);
		if (port_spec_parse(json_string_value(v), &specs[n], e) < 0 ||
		    portfwd_probe(&specs[n], e) < 0)
			return -1;
		n++;
	}
	return port_list_format(specs, n, out, len, e);
}

void vm_ports_sync(struct daemon *d, const struct store_vm *vm)
{
	struct port_spec specs[PORT_SPEC_MAX];
	int n = 0;
	struct err e;

	if (!d->ports)
		return;
	if (vm->state == VM_STATE_RUNNING && vm->address[0])
		n = port_list_parse(vm->ports, specs, PORT_SPEC_MAX, NULL);
	if (n < 0)
		n = 0;
	portfwd_set(d->ports, vm->id, vm->name, vm->address, specs, n, &e);
}

void vm_ports_sync_all(struct daemon *d)
{
	struct store_vm *vms = NULL;
	size_t n = 0;

	if (store_vm_list(d->store, &vms, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		vm_ports_sync(d, &vms[i]);
	free(vms);
}

/* ---- vm port add / rm ---------------------------------------------- */

struct port_edit {
	struct daemon *d;
	struct port_spec spec;
	int add;
};

static int port_edit(struct store_vm *vm, const char *busy, void *arg, struct err *e)
{
	struct port_edit *c = arg;
	struct port_spec specs[PORT_SPEC_MAX];
	int n = port_list_parse(vm->ports, specs, PORT_SPEC_MAX, e), found = -1;

	(void)busy;
	if (n < 0)
		return -1;
	for (int i = 0; i < n && found < 0; i++)
		if (c->add ? port_spec_clash(&specs[i], &c->spec)
			   : specs[i].host == c->spec.host &&
				 (!c->spec.addr[0] || !strcmp(specs[i].addr, c->spec.addr)))
			found = i;
	if (c->add) {
		if (found >= 0) {
			char have[64];

			port_spec_format(&specs[found], have, sizeof(have));
			err_set(e, ERR_CONFLICT, "%s already publishes host port %d (%s)", vm->name,
				c->spec.host, have);
			return err_hint(e, "remove it first: banger vm port rm %s %d", vm->name,
					c->spec.host),
			       -1;
		}
		if (n >= PORT_SPEC_MAX)
			return err_set(e, ERR_INVALID,
				       "%s publishes %d ports already, the most "
				       "banger keeps",
				       vm->name, PORT_SPEC_MAX);
		if (clash_locked(c->d, vm->id, &c->spec, e) < 0)
			return -1;
		specs[n++] = c->spec;
	} else {
		if (found < 0)
			return err_set(e, ERR_NOT_FOUND, "%s publishes no host port %d", vm->name,
				       c->spec.host);
		memmove(&specs[found], &specs[found + 1],
			(size_t)(n - found - 1) * sizeof(specs[0]));
		n--;
	}
	return port_list_format(specs, n, vm->ports, sizeof(vm->ports), e);
}

int vm_port_add(struct daemon *d, const char *name, const char *spec, struct store_vm *out,
		struct err *e)
{
	struct port_edit c = {.d = d, .add = 1};
	struct store_vm now;
	char other[64];

	if (port_spec_parse(spec, &c.spec, e) < 0)
		return err_wrap(e, "vm port add %s", name);
	if (store_vm_get(d->store, name, &now, e) < 0)
		return err_wrap(e, "vm port add %s", name);
	/* The record first: a clash with its own list is said as such. */
	{
		struct port_spec specs[PORT_SPEC_MAX];
		int n = port_list_parse(now.ports, specs, PORT_SPEC_MAX, NULL);

		for (int i = 0; i < n; i++)
			if (port_spec_clash(&specs[i], &c.spec)) {
				char have[64];

				port_spec_format(&specs[i], have, sizeof(have));
				err_set(e, ERR_CONFLICT, "%s already publishes host port %d (%s)",
					now.name, c.spec.host, have);
				err_hint(e, "remove it first: banger vm port rm %s %d", now.name,
					 c.spec.host);
				return err_wrap(e, "vm port add %s", name);
			}
	}
	/* The host socket must be free now (a running VM's forward opens at
	 * once), or the add is refused. */
	if (d->ports && portfwd_holder(d->ports, &c.spec, now.id, other, sizeof(other))) {
		err_set(e, ERR_CONFLICT, "%s:%d on the host is already published by VM %s",
			c.spec.addr, c.spec.host, other);
		return err_wrap(e, "vm port add %s", name);
	}
	if (portfwd_probe(&c.spec, e) < 0)
		return err_wrap(e, "vm port add %s", name);
	if (vm_update(d, name, port_edit, &c, out, e) < 0)
		return err_wrap(e, "vm port add %s", name);
	return 0;
}

int vm_port_rm(struct daemon *d, const char *name, const char *which, struct store_vm *out,
	       struct err *e)
{
	struct port_edit c = {.d = d, .add = 0};
	char buf[64];

	/* "8080", "127.0.0.1:8080" or a whole spec. */
	snprintf(buf, sizeof(buf), "%s:1", which);
	if (port_spec_parse(strchr(which, ':') && strchr(strchr(which, ':') + 1, ':') ? which : buf,
			    &c.spec, e) < 0)
		return err_wrap(e, "vm port rm %s", name);
	if (!strchr(which, '.'))
		c.spec.addr[0] = '\0'; /* any address */
	if (vm_update(d, name, port_edit, &c, out, e) < 0)
		return err_wrap(e, "vm port rm %s", name);
	return 0;
}
