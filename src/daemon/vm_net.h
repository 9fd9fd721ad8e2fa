/*
 * vm_net: the daemon's side of networking: the bridge, one tap per running
 * VM, addresses, NAT and the kernel parameters that tell the guest its
 * network. Host changes go through src/net (directly when root, else through
 * the privileged helper).
 */
#ifndef BANGER_DAEMON_VM_NET_H
#define BANGER_DAEMON_VM_NET_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/daemon.h"
#include "store/store.h"
#include "util/buf.h"

/* Validates subnet and bridge_name (a startup error when wrong). */
int vmnet_check_config(const struct config *cfg, struct err *e);
/* Brings up the bridge and the DNS responder. On failure networking is off
 * (VM starts then fail with the reason) and the error says why. */
int vmnet_init(struct daemon *d, struct err *e);
void vmnet_done(struct daemon *d);

/* Picks the lowest free address for a new VM. Call inside the store
 * transaction that inserts the VM, so concurrent creates never collide. */
int vmnet_alloc_address(struct daemon *d, char addr[16], struct err *e);

/* Brings the VM's network up before its VMM starts: bridge, tap, NAT.
 * Fills tap (empty when networking is off). */
int vmnet_up(struct daemon *d, const struct store_vm *vm, char *tap, size_t taplen, struct err *e);
/* Removes the VM's tap and NAT rules. Never fails: problems are logged. */
void vmnet_down(struct daemon *d, const struct store_vm *vm);
/* Applies --nat/--no-nat to a running VM. */
int vmnet_set_nat(struct daemon *d, const struct store_vm *vm, int on, struct err *e);
/* Appends banger.hostname=... banger.ip=... to the kernel command line. */
void vmnet_boot_args(struct daemon *d, const struct store_vm *vm, struct buf *b);
/* The guest's MAC address, from its id. */
void vmnet_mac(const char *vm_id, char mac[18]);
/* Removes taps and NAT rules that belong to no running VM. */
void vmnet_reconcile(struct daemon *d);
/* Human summary for `daemon status` (bridge, subnet, DNS). */
json_t *vmnet_status(struct daemon *d);

#endif
