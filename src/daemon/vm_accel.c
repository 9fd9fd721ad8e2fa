/* vm_accel: see vm_accel.h. */
#include "daemon/vm_accel.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vm_accel_choose(const char *want, char *out, size_t len, char *why, size_t wlen)
{
	const char *env = getenv("BANGER_QEMU_ACCEL");
	int fd;

	if (env && env[0])
		want = env;
	if (want && strcmp(want, "auto") != 0) {
		snprintf(out, len, "%s", want);
		snprintf(why, wlen, "qemu_accel = %s", want);
		return;
	}
	/* A nested PVM host exposes /dev/kvm, but ordinary guest kernels hang
	 * or die with an emulation error under it. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(out, len, "tcg");
		snprintf(why, wlen, "/dev/kvm is a nested PVM host (kvm_pvm loaded): "
				    "ordinary guest kernels cannot use it, using TCG");
		return;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(out, len, "tcg");
		snprintf(why, wlen, "/dev/kvm is not usable, using TCG (software emulation)");
		return;
	}
	close(fd);
	snprintf(out, len, "kvm");
	snprintf(why, wlen, "/dev/kvm is usable");
}
