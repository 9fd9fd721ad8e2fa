/* vmm: driver lookup by name (see vmm.h). */
#include "vmm/vmm.h"

#include <string.h>

/* The QEMU driver is built only once its source exists (meson defines
 * HAVE_QEMU_DRIVER), so each driver can be developed on its own. */
static const struct vmm_driver *const vmm_drivers[] = {
    &vmm_firecracker,
#ifdef HAVE_QEMU_DRIVER
    &vmm_qemu,
#endif
};

const struct vmm_driver *vmm_driver_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(vmm_drivers) / sizeof(vmm_drivers[0]); i++)
		if (strcmp(vmm_drivers[i]->name, name) == 0)
			return vmm_drivers[i];
	return NULL;
}
