/*
 * Unit tests for dns_server over loopback: UDP and TCP answers, dropped
 * garbage, and forwarding to fake upstreams (plain UDP sockets driven by the
 * test itself, so every step is deterministic).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/dns_server.h"

/* calm-otter -> 10.9.8.7; constant, so safe from the server thread. */
static int lookup(void *ctx, const char *name, uint32_t *ip)
{
	(void)ctx;
	if (strcmp(name, "calm-otter") != 0)
		return 0;
	inet_pton(AF_INET, "10.9.8.7", ip);
	return 1;
}

static size_t query(uint8_t *p, uint16_t id, const char *name, uint16_t type)
{
	size_t n = 12;

	memset(p, 0, 12);
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = 0x01; /* RD */
	p[5] = 1;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (uint8_t)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot ? 1 : 0);
	}
	p[n++] = 0;
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1;
	return n;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A socket that gives up after 5 s, so a broken server fails the test
 * instead of hanging it. */
static int sock(int type)
{
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, type, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A UDP socket on 127.0.0.1:any, playing an upstream resolver. */
static int fake_upstream(int *port)
{
	int fd = sock(SOCK_DGRAM);
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct dns_server *start(const int *up_ports, size_t n_ups)
{
	struct dns_upstream ups[DNS_UPSTREAM_MAX];
	struct err e = {0};
	char spec[32];

	for (size_t i = 0; i < n_ups; i++) {
		snprintf(spec, sizeof(spec), "127.0.0.1:%d", up_ports[i]);
		assert_int_equal(dns_upstream_parse(spec, &ups[i], &e), 0);
	}
	struct dns_server_config cfg = {.bind_addr = "127.0.0.1",
					.port = 0,
					.lookup = lookup,
					.upstreams = ups,
					.n_upstreams = n_ups};
	struct dns_server *s = dns_server_start_config(&cfg, NULL, &e);
	if (!s)
		fail_msg("start: %s", e.msg);
	assert_true(dns_server_port(s) > 0);
	return s;
}

static ssize_t udp_ask(int fd, int port, const uint8_t *q, size_t qlen, uint8_t *r, size_t cap)
{
	struct sockaddr_in a = loopback(port);

	assert_int_equal(sendto(fd, q, qlen, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)qlen);
	return recv(fd, r, cap, 0);
}

static void test_udp_answer(void **state)
{
	(void)state;
	struct dns_server *s = start(NULL, 0);
	int fd = sock(SOCK_DGRAM);
	uint8_t q[512], r[512];
	size_t qlen = query(q, 0x1111, "calm-otter.vm", 1);

	ssize_t n = udp_ask(fd, dns_server_port(s), q, qlen, r, sizeof(r));
	assert_int_equal(n, (ssize_t)qlen + 16);
	assert_int_equal(r[3] & 0xF, 0);
	assert_memory_equal(r + n - 4, "\x0a\x09\x08\x07", 4);

	qlen = query(q, 0x2222, "example.com", 1); /* no upstream: REFUSED */
	n = udp_ask(fd, dns_server_port(s), q, qlen, r, sizeof(r));
	assert_true(n >= 12);
	assert_int_equal(r[3] & 0xF, DNS_RCODE_REFUSED);
	close(fd);
	dns_server_stop(s);
}

static void read_full(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void test_tcp_pipelined(void **state)
{
	(void)state;
	struct dns_server *s = start(NULL, 0);
	int fd = sock(SOCK_STREAM);
	struct sockaddr_in a = loopback(dns_server_port(s));
	uint8_t buf[1024], r[512];
	size_t n1 = query(buf + 2, 0xaaaa, "calm-otter.vm", 1);
	size_t n2 = query(buf + 2 + n1 + 2, 0xbbbb, "gone.vm", 1);

	buf[0] = 0;
	buf[1] = (uint8_t)n1;
	buf[2 + n1] = 0;
	buf[3 + n1] = (uint8_t)n2;
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	/* Both queries in one write, the second split across two. */
	assert_int_equal(send(fd, buf, 2 + n1 + 5, 0), (ssize_t)(2 + n1 + 5));
	assert_int_equal(send(fd, buf + 2 + n1 + 5, n2 - 3, 0), (ssize_t)(n2 - 3));

	read_full(fd, r, 2);
	size_t len = ((size_t)r[0] << 8) | r[1];
	read_full(fd, r, len);
	assert_int_equal(r[0], 0xaa);
	assert_memory_equal(r + len - 4, "\x0a\x09\x08\x07", 4);
	read_full(fd, r, 2);
	len = ((size_t)r[0] << 8) | r[1];
	read_full(fd, r, len);
	assert_int_equal(r[0], 0xbb);
	assert_int_equal(r[3] & 0xF, DNS_RCODE_NXDOMAIN);
	close(fd);
	dns_server_stop(s);
}

static void test_garbage_dropped_and_counted(void **state)
{
	(void)state;
	struct dns_server *s = start(NULL, 0);
	int fd = sock(SOCK_DGRAM);
	struct sockaddr_in a = loopback(dns_server_port(s));
	const uint8_t junk1[5] = {1, 2, 3, 4, 5};
	uint8_t junk2[40], q[512], r[512];

	memset(junk2, 0x41, sizeof(junk2));
	junk2[2] = 0x00; /* a query header with one question ... */
	junk2[4] = 0x00;
	junk2[5] = 0x01; /* ... whose name starts with a reserved label type */
	sendto(fd, junk1, sizeof(junk1), 0, (struct sockaddr *)&a, sizeof(a));
	sendto(fd, junk2, sizeof(junk2), 0, (struct sockaddr *)&a, sizeof(a));
	size_t qlen = query(q, 0x3333, "calm-otter.vm", 1);
	ssize_t n = udp_ask(fd, dns_server_port(s), q, qlen, r, sizeof(r));
	assert_true(n > 12);
	assert_int_equal(r[0], 0x33); /* the first thing we got back is the answer */
	assert_int_equal(dns_server_dropped(s), 2);
	close(fd);
	dns_server_stop(s);
}

/* Reads the forwarded query and answers it with rcode, plus an A record
 * 192.0.2.7 when rcode is 0. */
static void upstream_answer(int up, int rcode)
{
	uint8_t q[1500];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(up, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);

	assert_true(n > 12);
	assert_memory_equal(q + 12,
			    "\x07"
			    "example\x03"
			    "com\x00",
			    13);
	q[2] |= 0x80;
	q[3] = (uint8_t)(0x80 | rcode);
	if (rcode == 0) {
		q[7] = 1;
		const uint8_t rr[16] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7};
		memcpy(q + n, rr, 16);
		n += 16;
	}
	sendto(up, q, (size_t)n, 0, (struct sockaddr *)&from, flen);
}

static void test_forwarding(void **state)
{
	(void)state;
	int port;
	int up = fake_upstream(&port);
	struct dns_server *s = start(&port, 1);
	int fd = sock(SOCK_DGRAM);
	struct sockaddr_in a = loopback(dns_server_port(s));
	uint8_t q[512], r[512];
	size_t qlen = query(q, 0x4242, "example.com", 1);

	sendto(fd, q, qlen, 0, (struct sockaddr *)&a, sizeof(a));
	upstream_answer(up, 0);
	ssize_t n = recv(fd, r, sizeof(r), 0);
	assert_int_equal(n, (ssize_t)qlen + 16);
	assert_int_equal(r[0], 0x42); /* the client's ID is restored */
	assert_int_equal(r[1], 0x42);
	assert_memory_equal(r + n - 4, "\xc0\x00\x02\x07", 4);
	close(fd);
	dns_server_stop(s);
	close(up);
}

static void test_forwarding_next_upstream_after_refused(void **state)
{
	(void)state;
	int ports[2];
	int up1 = fake_upstream(&ports[0]), up2 = fake_upstream(&ports[1]);
	struct dns_server *s = start(ports, 2);
	int fd = sock(SOCK_DGRAM);
	struct sockaddr_in a = loopback(dns_server_port(s));
	uint8_t q[512], r[512];
	size_t qlen = query(q, 0x5151, "example.com", 1);

	sendto(fd, q, qlen, 0, (struct sockaddr *)&a, sizeof(a));
	upstream_answer(up1, DNS_RCODE_REFUSED);
	upstream_answer(up2, 0);
	ssize_t n = recv(fd, r, sizeof(r), 0);
	assert_int_equal(n, (ssize_t)qlen + 16);
	assert_int_equal(r[3] & 0xF, 0);
	close(fd);
	dns_server_stop(s);
	close(up1);
	close(up2);
}

static void test_forwarding_dead_upstream_servfail(void **state)
{
	(void)state;
	int port;
	close(fake_upstream(&port)); /* nothing listens there now */
	struct dns_server *s = start(&port, 1);
	int fd = sock(SOCK_DGRAM);
	uint8_t q[512], r[512];
	size_t qlen = query(q, 0x6161, "example.com", 1);

	ssize_t n = udp_ask(fd, dns_server_port(s), q, qlen, r, sizeof(r));
	assert_int_equal(n, (ssize_t)qlen);
	assert_int_equal(r[0], 0x61);
	assert_int_equal(r[3] & 0xF, DNS_RCODE_SERVFAIL);
	close(fd);
	dns_server_stop(s);
}

static void test_start_errors(void **state)
{
	(void)state;
	struct err e = {0};

	assert_null(dns_server_start("not-an-ip", 0, lookup, NULL, NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);

	/* An address this host does not have (TEST-NET-1). */
	err_clear(&e);
	assert_null(dns_server_start("192.0.2.1", 0, lookup, NULL, NULL, &e));
	assert_non_null(strstr(e.msg, "DNS responder on 192.0.2.1"));
	assert_non_null(strstr(e.hint, "address of this host"));

	/* The port is taken. */
	struct dns_server *s = start(NULL, 0);
	err_clear(&e);
	assert_null(dns_server_start("127.0.0.1", dns_server_port(s), lookup, NULL, NULL, &e));
	assert_non_null(strstr(e.msg, "Address already in use"));
	dns_server_stop(s);
	dns_server_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_answer),
	    cmocka_unit_test(test_tcp_pipelined),
	    cmocka_unit_test(test_garbage_dropped_and_counted),
	    cmocka_unit_test(test_forwarding),
	    cmocka_unit_test(test_forwarding_next_upstream_after_refused),
	    cmocka_unit_test(test_forwarding_dead_upstream_servfail),
	    cmocka_unit_test(test_start_errors),
	};
	return cmocka_run_group_tests_name("dns_server", tests, NULL, NULL);
}
