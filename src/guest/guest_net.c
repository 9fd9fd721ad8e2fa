/*
 * guest_net: eth0 up from the kernel parameters. See guest_net.h.
 */
#include "guest/guest_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void sin_set(struct sockaddr *sa, in_addr_t a)
{
	struct sockaddr_in *s = (struct sockaddr_in *)sa;

	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_addr.s_addr = a;
}

static int link_up(int fd, const char *name, struct err *e)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return err_errno(e, errno, "read the flags of %s", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return err_errno(e, errno, "bring %s up", name);
	return 0;
}

/* if_nametoindex until the driver has registered the interface. */
static int wait_iface(const char *name, int timeout_ms, struct err *e)
{
	struct timespec tick = {0, 10 * 1000 * 1000};

	for (int waited = 0; if_nametoindex(name) == 0; waited += 10) {
		if (waited >= timeout_ms)
			return err_set(e, ERR_NOT_FOUND,
				       "network interface %s did not appear within %d ms (is "
				       "virtio_net in the initrd?)",
				       name, timeout_ms);
		nanosleep(&tick, NULL);
	}
	return 0;
}

static int set_addr(int fd, const struct guest_cmdline *c, struct err *e)
{
	struct ifreq ifr;
	in_addr_t mask = c->prefix ? htonl(~0u << (32 - c->prefix)) : 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", GUEST_NET_IFACE);
	sin_set(&ifr.ifr_addr, inet_addr(c->ip));
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return err_errno(e, errno, "set address %s on %s", c->ip, GUEST_NET_IFACE);
	sin_set(&ifr.ifr_netmask, mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return err_errno(e, errno, "set prefix /%d on %s", c->prefix, GUEST_NET_IFACE);
	return 0;
}

static int add_default_route(int fd, const char *gw, struct err *e)
{
	struct rtentry rt;
	char dev[] = GUEST_NET_IFACE;

	memset(&rt, 0, sizeof(rt));
	sin_set(&rt.rt_dst, INADDR_ANY);
	sin_set(&rt.rt_genmask, INADDR_ANY);
	sin_set(&rt.rt_gateway, inet_addr(gw));
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return err_errno(e, errno, "add the default route via %s", gw);
	return 0;
}

int guest_net_up(const struct guest_cmdline *c, int timeout_ms, struct err *e)
{
	int fd, ret = -1;

	if (!c->ip[0])
		return 0;
	if (wait_iface(GUEST_NET_IFACE, timeout_ms, e) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_errno(e, errno, "socket(AF_INET)");
	/* The address before the link goes up, so the prefix route comes with
	 * it; the gateway route needs the link up. */
	if (link_up(fd, "lo", e) < 0 || set_addr(fd, c, e) < 0 ||
	    link_up(fd, GUEST_NET_IFACE, e) < 0 ||
	    (c->gw[0] && add_default_route(fd, c->gw, e) < 0))
		goto out;
	ret = 0;
out:
	close(fd);
	if (ret < 0)
		err_wrap(e, "configure %s", GUEST_NET_IFACE);
	return ret;
}
