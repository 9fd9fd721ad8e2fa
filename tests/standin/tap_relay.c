/*
 * tap_relay: a stand-in guest NIC for banger's integration tests.
 *
 *	tap_relay TAP GUEST_NETNS
 *
 * Attaches to the existing tap TAP (the one bangerd made for a VM and put on
 * its bridge) in the current network namespace, exactly as a VMM would, then
 * enters the network namespace named GUEST_NETNS (/run/netns/GUEST_NETNS)
 * and creates a tap "eth0" there. Every Ethernet frame read from one side is
 * written to the other, so the guest namespace sees the VM's side of the
 * wire. The caller configures eth0 (MAC, address, route) once "ready" is
 * printed on stdout, and ends the relay with SIGTERM.
 *
 * Test code only: no banger module links it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Opens /dev/net/tun and binds it to tap `name` in this process's current
 * network namespace (the namespace is fixed when the fd is opened), making
 * the tap if it does not exist. -1 with a message on failure. */
static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "tap_relay: open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	/* IFF_NO_PI: plain frames, as `ip tuntap add mode tap` makes them. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap_relay: attach to tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Enters the named network namespace (as `ip netns exec` would). */
static int netns_enter(const char *name)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tap_relay: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = setns(fd, CLONE_NEWNET);
	if (ret < 0)
		fprintf(stderr, "tap_relay: enter %s: %s\n", path, strerror(errno));
	close(fd);
	return ret;
}

/* Moves one frame from `from` to `to`. A frame the other side refuses
 * (interface down for a moment) is dropped, as a wire would. */
static int copy_frame(int from, int to)
{
	char frame[65536];
	ssize_t n = read(from, frame, sizeof(frame));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if (write(to, frame, (size_t)n) < 0 && errno != EIO && errno != EAGAIN)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd p[2];
	int host, guest;

	if (argc != 3) {
		fprintf(stderr, "usage: tap_relay TAP GUEST_NETNS\n");
		return 2;
	}
	if ((host = tap_open(argv[1])) < 0 || netns_enter(argv[2]) < 0 ||
	    (guest = tap_open("eth0")) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	p[0] = (struct pollfd){.fd = host, .events = POLLIN};
	p[1] = (struct pollfd){.fd = guest, .events = POLLIN};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tap_relay: poll");
			return 1;
		}
		if ((p[0].revents & POLLIN) && copy_frame(host, guest) < 0)
			break;
		if ((p[1].revents & POLLIN) && copy_frame(guest, host) < 0)
			break;
		if ((p[0].revents | p[1].revents) & (POLLERR | POLLHUP | POLLNVAL))
			break;
	}
	fprintf(stderr, "tap_relay: a side closed: %s\n", strerror(errno));
	return 1;
}
