/* vm_bin: see vm_bin.h. */
#include "daemon/vm_bin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/fs.h"
#include "util/spawn.h"
#include "vmm/vmm.h"

char *vm_bin_path(struct daemon *d, const char *driver)
{
	if (strcmp(driver, "qemu") == 0)
		return xstrdup(d->cfg.qemu_bin);
	if (d->cfg.firecracker_bin && d->cfg.firecracker_bin[0])
		return xstrdup(d->cfg.firecracker_bin);
	{
		char *b = xasprintf("%s/firecracker", d->runtime_dir);

		if (fs_exists(b))
			return b;
		free(b);
	}
	return xstrdup("firecracker");
}

static int usable(struct daemon *d, const char *driver, struct err *e)
{
	const struct vmm_driver *drv = vmm_driver_find(driver);
	char *bin = vm_bin_path(d, driver);
	char ver[64];
	int ret;

	if (!drv) {
		free(bin);
		return err_set(e, ERR_INVALID, "unknown VMM \"%s\"", driver);
	}
	ret = drv->probe(bin, ver, sizeof(ver), e);
	free(bin);
	return ret;
}

int vm_bin_choose(struct daemon *d, const char *want, char *out, size_t len, struct err *e)
{
	const char *w = want && want[0] ? want : d->cfg.vmm;

	if (strcmp(w, "auto") == 0) {
		if (usable(d, "firecracker", NULL) == 0)
			w = "firecracker";
		else
			w = "qemu";
		if (usable(d, w, e) < 0) {
			err_wrap(e, "no usable VMM: firecracker was not found and QEMU");
			err_hint(e, "install QEMU (apt-get install qemu-system-x86) or set firecracker_bin");
			return -1;
		}
	} else if (strcmp(w, "firecracker") && strcmp(w, "qemu")) {
		err_set(e, ERR_INVALID, "unknown VMM \"%s\"", w);
		err_hint(e, "use auto, firecracker or qemu");
		return -1;
	} else if (usable(d, w, e) < 0) {
		return -1;
	}
	snprintf(out, len, "%s", w);
	return 0;
}
