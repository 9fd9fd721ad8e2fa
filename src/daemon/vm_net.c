/* vm_net: see vm_net.h. (Networking-less placeholder until src/net lands.) */
#include "daemon/vm_net.h"

#include <stdio.h>
#include <string.h>

int vmnet_init(struct daemon *d, struct err *e)
{
	(void)d;
	(void)e;
	return 0;
}

void vmnet_done(struct daemon *d)
{
	(void)d;
}

int vmnet_alloc_address(struct daemon *d, char addr[16], struct err *e)
{
	(void)d;
	(void)e;
	addr[0] = '\0';
	return 0;
}

int vmnet_up(struct daemon *d, const struct store_vm *vm, char *tap, size_t taplen,
	     struct err *e)
{
	(void)d;
	(void)vm;
	(void)e;
	if (taplen)
		tap[0] = '\0';
	return 0;
}

void vmnet_down(struct daemon *d, const struct store_vm *vm)
{
	(void)d;
	(void)vm;
}

int vmnet_set_nat(struct daemon *d, const struct store_vm *vm, int on, struct err *e)
{
	(void)d;
	(void)vm;
	(void)on;
	(void)e;
	return 0;
}

void vmnet_boot_args(struct daemon *d, const struct store_vm *vm, struct buf *b)
{
	(void)d;
	buf_printf(b, "banger.hostname=%s", vm->name);
}

void vmnet_mac(const char *vm_id, char mac[18])
{
	snprintf(mac, 18, "06:%.2s:%.2s:%.2s:%.2s:%.2s", vm_id, vm_id + 2, vm_id + 4, vm_id + 6,
		 vm_id + 8);
}

void vmnet_reconcile(struct daemon *d)
{
	(void)d;
}

json_t *vmnet_status(struct daemon *d)
{
	(void)d;
	return json_pack("{s:b}", "enabled", 0);
}
