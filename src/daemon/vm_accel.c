/* vm_accel: see vm_accel.h. The decision itself is the QEMU driver's
 * (qemu_accel_choose); this adds the BANGER_QEMU_ACCEL override. */
#include "daemon/vm_accel.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/qemu.h"

void vm_accel_choose(const char *want, char *out, size_t len, char *why, size_t wlen)
{
	const char *env = getenv("BANGER_QEMU_ACCEL");
	const char *got;

	if (env && env[0])
		want = env;
	got = qemu_accel_choose(want, why, wlen);
	if (!got) {
		/* Config validation rejects other values; env may still hold one. */
		snprintf(why, wlen, "unknown qemu_accel \"%s\", using TCG", want);
		got = "tcg";
	}
	snprintf(out, len, "%s", got);
}
