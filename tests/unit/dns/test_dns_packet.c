/*
 * Unit tests for dns_packet: the replies a resolver sees for vm. names, other
 * zones, and malformed input. Replies are checked byte by byte where the wire
 * format matters (answer record, compression pointer, TTL, address).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns_packet.h"

#define T_A 1
#define T_NS 2
#define T_SOA 6
#define T_AAAA 28
#define T_OPT 41
#define T_ANY 255

struct fake {
	int calls;
	char last[64];
};

/* Knows calm-otter -> 172.16.0.2 and ns -> 172.16.0.9. */
static int fake_lookup(void *ctx, const char *name, uint32_t *ip)
{
	struct fake *f = ctx;

	f->calls++;
	snprintf(f->last, sizeof(f->last), "%s", name);
	if (strcmp(name, "calm-otter") == 0) {
		inet_pton(AF_INET, "172.16.0.2", ip);
		return 1;
	}
	return 0;
}

static size_t put_name(uint8_t *p, const char *dotted)
{
	size_t n = 0;

	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
		p[n++] = (uint8_t)len;
		memcpy(p + n, dotted, len);
		n += len;
		dotted += len + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

/* A standard query (RD set) for name/type/class IN, optionally with OPT. */
static size_t query(uint8_t *p, const char *name, uint16_t type, int opt)
{
	size_t n = 0;
	const uint8_t hdr[12] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, opt ? 1 : 0};

	memcpy(p, hdr, 12);
	n = 12 + put_name(p + 12, name);
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1;
	if (opt) {
		const uint8_t o[11] = {0, 0, T_OPT, 0x10, 0x00, 0, 0, 0, 0, 0, 0};
		memcpy(p + n, o, 11);
		n += 11;
	}
	return n;
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

struct reply {
	enum dns_verdict v;
	uint8_t b[DNS_REPLY_MAX];
	size_t len;
	int rcode, aa, qr, rd;
	uint16_t id, qd, an, ns, ar;
};

static void answer(const uint8_t *q, size_t qlen, struct fake *f, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->v = dns_packet_answer(q, qlen, fake_lookup, f, r->b, sizeof(r->b), &r->len);
	if (r->len < 12)
		return;
	r->id = u16(r->b);
	r->qr = !!(r->b[2] & 0x80);
	r->aa = !!(r->b[2] & 0x04);
	r->rd = !!(r->b[2] & 0x01);
	r->rcode = r->b[3] & 0xF;
	r->qd = u16(r->b + 4);
	r->an = u16(r->b + 6);
	r->ns = u16(r->b + 8);
	r->ar = u16(r->b + 10);
}

static void test_a_record(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.id, 0xbeef);
	assert_true(r.qr && r.aa && r.rd);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);
	assert_int_equal(r.ar, 0);
	assert_memory_equal(r.b + 12, q + 12, qlen - 12); /* question echoed */
	const uint8_t rr[16] = {0xc0, 0x0c, 0, T_A, 0, 1, 0, 0, 0, DNS_TTL, 0, 4, 172, 16, 0, 2};
	assert_int_equal(r.len, qlen + 16);
	assert_memory_equal(r.b + qlen, rr, 16);
	assert_string_equal(f.last, "calm-otter");
}

static void test_case_insensitive(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "Calm-OTTER.Vm", T_A, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_string_equal(f.last, "calm-otter");
	assert_memory_equal(r.b + 13, "Calm-OTTER", 10); /* the asker's case */
	assert_memory_equal(r.b + qlen + 12, "\xac\x10\x00\x02", 4);
}

/* The SOA record that follows the question must be vm.'s, with TTL 5. */
static void assert_soa_at(const uint8_t *p)
{
	assert_memory_equal(p, "\x02vm\x00", 4);
	assert_int_equal(u16(p + 4), T_SOA);
	assert_int_equal(u16(p + 6), 1);
	assert_int_equal(u16(p + 10), DNS_TTL);
}

static void test_nxdomain(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "no-such-vm.vm", T_A, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_true(r.aa);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_soa_at(r.b + qlen);
	assert_int_equal(f.calls, 1);
}

static void test_deep_name_nxdomain_without_lookup(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;

	answer(q, query(q, "www.calm-otter.vm", T_A, 0), &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(f.calls, 0);

	/* A label with bytes no VM name has never reaches the lookup. */
	answer(q, query(q, "calm otter.vm", T_A, 0), &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);
	q[17] = 0; /* "calm\0otter": would read as "calm" in C */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(f.calls, 0);
}

static void test_aaaa_nodata(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_AAAA, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_true(r.aa);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_soa_at(r.b + qlen);
}

static void test_any_gives_a(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;

	answer(q, query(q, "calm-otter.vm", T_ANY, 0), &f, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);
}

static void test_apex(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "vm", T_SOA, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);
	assert_soa_at(r.b + qlen);

	answer(q, qlen = query(q, "VM", T_NS, 0), &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_int_equal(f.calls, 0);
}

static void test_other_zone_forward(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "example.com", T_A, 0);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_FORWARD);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED); /* the fallback */
	assert_false(r.aa);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.len, qlen);
	assert_int_equal(f.calls, 0);

	/* "vm" must be the last label, not a suffix or a middle label. */
	answer(q, query(q, "calm-otter.vm.example.com", T_A, 0), &f, &r);
	assert_int_equal(r.v, DNS_FORWARD);
	answer(q, query(q, "calm-otter.xvm", T_A, 0), &f, &r);
	assert_int_equal(r.v, DNS_FORWARD);

	/* Without RD nobody asked for recursion: plain REFUSED. */
	qlen = query(q, "example.com", T_A, 0);
	q[2] &= (uint8_t)~0x01;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
}

static void test_class_not_in_refused(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	q[qlen - 1] = 3; /* CHAOS */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
	assert_int_equal(r.an, 0);
}

static void test_edns_tolerated(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 1);

	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ar, 1);
	const uint8_t opt[11] = {0, 0, T_OPT, DNS_EDNS_UDP >> 8, DNS_EDNS_UDP & 0xff, 0, 0, 0,
				 0, 0, 0};
	assert_memory_equal(r.b + r.len - 11, opt, 11);

	/* EDNS version 1: BADVERS (16 = ext-rcode 1, header rcode 0), no answer. */
	q[qlen - 5] = 1;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ar, 1);
	assert_int_equal(r.b[r.len - 6], 1);
}

static void test_edns_two_opts_formerr(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 1);

	memcpy(q + qlen, q + qlen - 11, 11);
	qlen += 11;
	q[11] = 2;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_FORMERR);

	/* An OPT whose rdata runs past the end is malformed. */
	qlen = query(q, "calm-otter.vm", T_A, 1);
	q[qlen - 1] = 9;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_DROP);
}

static void test_qdcount_formerr(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	q[5] = 2;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(r.id, 0xbeef);
	assert_int_equal(r.qd + r.an + r.ns + r.ar, 0);
	q[5] = 0;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.rcode, DNS_RCODE_FORMERR);
	assert_int_equal(f.calls, 0);
}

static void test_opcode_notimp(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	q[2] |= 5 << 3; /* UPDATE */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_REPLY);
	assert_int_equal(r.rcode, DNS_RCODE_NOTIMP);
	assert_int_equal((r.b[2] >> 3) & 0xF, 5);
}

static void test_response_dropped(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	q[2] |= 0x80;
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_DROP);
	assert_int_equal(r.len, 0);
}

static void test_truncated_dropped(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 1);

	/* Every proper prefix: header cut short, name cut, type/class or OPT cut. */
	for (size_t n = 0; n < qlen; n++) {
		answer(q, n, &f, &r);
		assert_int_equal(r.v, DNS_DROP);
	}
	assert_int_equal(f.calls, 0);
}

static void test_bad_labels_dropped(void **state)
{
	(void)state;
	uint8_t q[512];
	struct fake f = {0};
	struct reply r;
	size_t qlen = query(q, "calm-otter.vm", T_A, 0);

	q[12] = 60; /* label longer than the packet */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_DROP);
	q[12] = 0x4a; /* 01 prefix: extended label type */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_DROP);
	q[12] = 0x8a; /* 10 prefix: unassigned */
	answer(q, qlen, &f, &r);
	assert_int_equal(r.v, DNS_DROP);

	/* 5 labels of 63 = 320 octets: longer than 255. */
	uint8_t big[512];
	memcpy(big, q, 12);
	size_t n = 12;
	for (int i = 0; i < 5; i++) {
		big[n++] = 63;
		memset(big + n, 'a', 63);
		n += 63;
	}
	big[n++] = 0;
	memcpy(big + n, "\x00\x01\x00\x01", 4);
	answer(big, n + 4, &f, &r);
	assert_int_equal(r.v, DNS_DROP);
	assert_int_equal(f.calls, 0);
}

static void test_pointer_loops_dropped(void **state)
{
	(void)state;
	struct fake f = {0};
	struct reply r;
	/* The question name is a pointer to itself. */
	uint8_t self[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
	answer(self, sizeof(self), &f, &r);
	assert_int_equal(r.v, DNS_DROP);

	/* A pointer forward (to a later valid name) is refused too. */
	uint8_t fwd[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 18, 0, 1, 0, 1, 2, 'v', 'm', 0};
	answer(fwd, sizeof(fwd), &f, &r);
	assert_int_equal(r.v, DNS_DROP);

	/* Two labels then a pointer back to the first label: a loop. */
	uint8_t loop[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 1, 'b', 0xc0, 12, 0, 1, 0, 1};
	answer(loop, sizeof(loop), &f, &r);
	assert_int_equal(r.v, DNS_DROP);

	/* A pointer to a pointer to the first: the chain must go backwards. */
	uint8_t chain[] = {0, 1, 1,   0,    0,	1,    0,  0, 0, 0, 0,
			   0, 1, 'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1};
	answer(chain, sizeof(chain), &f, &r);
	assert_int_equal(r.v, DNS_DROP);
	assert_int_equal(f.calls, 0);
}

static void test_name_read_pointer(void **state)
{
	(void)state;
	/* "calm-otter.vm" at 12, then "x" + pointer to it at 27. */
	uint8_t p[64] = {0};
	size_t n = 12 + put_name(p + 12, "calm-otter.vm");
	size_t second = n;
	p[n++] = 1;
	p[n++] = 'x';
	p[n++] = 0xc0;
	p[n++] = 12;
	uint8_t name[DNS_NAME_MAX];
	size_t name_len, pos = second;

	assert_int_equal(dns_name_read(p, n, &pos, name, &name_len), 0);
	assert_int_equal(pos, n); /* past the pointer, not past the target */
	assert_int_equal(name_len, 2 + 15);
	assert_memory_equal(name,
			    "\x01x\x0a"
			    "calm-otter\x02vm\x00",
			    name_len);

	/* A pointer whose second byte is missing. */
	pos = second;
	assert_int_equal(dns_name_read(p, n - 1, &pos, name, &name_len), -1);
}

static void test_is_reply_to(void **state)
{
	(void)state;
	uint8_t q[512], rep[512];
	size_t qlen = query(q, "Example.COM", T_A, 0);

	memcpy(rep, q, qlen);
	rep[2] |= 0x80;
	rep[13] = 'e'; /* case may differ */
	assert_int_equal(dns_packet_is_reply_to(q, qlen, rep, qlen), 1);
	assert_int_equal(dns_packet_is_reply_to(q, qlen, q, qlen), 0); /* not a response */
	rep[1] ^= 1;
	assert_int_equal(dns_packet_is_reply_to(q, qlen, rep, qlen), 0); /* other ID */
	rep[1] ^= 1;
	rep[qlen - 3] = T_AAAA;
	assert_int_equal(dns_packet_is_reply_to(q, qlen, rep, qlen), 0); /* other type */
	assert_int_equal(dns_packet_is_reply_to(q, qlen, rep, 5), 0);
}

static void test_small_buffer_drops(void **state)
{
	(void)state;
	uint8_t q[512], out[20];
	size_t qlen = query(q, "calm-otter.vm", T_A, 0), olen = 99;
	struct fake f = {0};

	assert_int_equal(dns_packet_answer(q, qlen, fake_lookup, &f, out, sizeof(out), &olen),
			 DNS_DROP);
	assert_int_equal(olen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_record),
	    cmocka_unit_test(test_case_insensitive),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_deep_name_nxdomain_without_lookup),
	    cmocka_unit_test(test_aaaa_nodata),
	    cmocka_unit_test(test_any_gives_a),
	    cmocka_unit_test(test_apex),
	    cmocka_unit_test(test_other_zone_forward),
	    cmocka_unit_test(test_class_not_in_refused),
	    cmocka_unit_test(test_edns_tolerated),
	    cmocka_unit_test(test_edns_two_opts_formerr),
	    cmocka_unit_test(test_qdcount_formerr),
	    cmocka_unit_test(test_opcode_notimp),
	    cmocka_unit_test(test_response_dropped),
	    cmocka_unit_test(test_truncated_dropped),
	    cmocka_unit_test(test_bad_labels_dropped),
	    cmocka_unit_test(test_pointer_loops_dropped),
	    cmocka_unit_test(test_name_read_pointer),
	    cmocka_unit_test(test_is_reply_to),
	    cmocka_unit_test(test_small_buffer_drops),
	};
	return cmocka_run_group_tests_name("dns_packet", tests, NULL, NULL);
}
