/*
 * floor-init: /init of bench/boot's floor initrd. Says the ready line a
 * banger guest prints (with the kernel's uptime) and powers off: what is
 * left of a boot when nothing runs in userspace.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	char line[64];
	int fd, n;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	n = snprintf(line, sizeof(line), "banger: ready in %.2f s (floor)\n",
		     ts.tv_sec + ts.tv_nsec / 1e9);
	/* The kernel hands PID 1 no fds when the initrd has no /dev/console. */
	fd = open("/dev/console", O_WRONLY);
	if (fd < 0)
		fd = 1;
	if (write(fd, line, (size_t)n) < 0)
		return 1;
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
