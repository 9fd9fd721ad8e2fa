/*
 * dns_packet: parse one DNS query and build the reply for the vm. zone.
 *
 * Invariants: every read is bounds-checked against the packet length before
 * it happens; every write goes through struct wr, which refuses to pass the
 * buffer's end and remembers that it overflowed. Names are decoded into an
 * uncompressed copy of at most DNS_NAME_MAX octets, so nothing downstream
 * ever follows a pointer again.
 */
#include "dns/dns_packet.h"

#include <string.h>

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_RD 0x0100
#define OPCODE_SHIFT 11
#define OPCODE_MASK 0xF

#define TYPE_A 1
#define TYPE_SOA 6
#define TYPE_OPT 41
#define TYPE_ANY 255
#define CLASS_IN 1
#define CLASS_ANY 255

#define RCODE_BADVERS 16 /* extended rcode, carried half in the OPT record */
#define MAX_HOPS 32	 /* compression pointers followed per name */
#define LABEL_MAX 63

struct query {
	uint16_t id;
	uint16_t flags;
	uint8_t qname[DNS_NAME_MAX];
	size_t qname_len;
	uint16_t qtype;
	uint16_t qclass;
	int has_opt;
	int opt_version;
};

/* A bounded writer: once it overflows it stays overflowed and writes nothing. */
struct wr {
	uint8_t *p;
	size_t cap;
	size_t len;
	int bad;
};

enum zone_pos { Z_OTHER, Z_APEX, Z_HOST, Z_DEEP };

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put(struct wr *w, const void *data, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void put16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void put32(struct wr *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int dns_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t out[DNS_NAME_MAX],
		  size_t *out_len)
{
	size_t at = *pos, run_start = *pos, n = 0, end = 0;
	int jumped = 0, hops = 0;

	for (;;) {
		if (at >= len)
			return -1;
		uint8_t c = pkt[at];
		if ((c & 0xC0) == 0xC0) {
			if (at + 1 >= len || ++hops > MAX_HOPS)
				return -1;
			size_t target = ((size_t)(c & 0x3F) << 8) | pkt[at + 1];
			/* Strictly before the current run: each jump moves
			 * backwards, so a chain of pointers always ends. */
			if (target >= run_start)
				return -1;
			if (!jumped)
				end = at + 2;
			jumped = 1;
			at = run_start = target;
		} else if (c & 0xC0) {
			return -1; /* 01/10 label types: obsolete or unassigned */
		} else if (c == 0) {
			out[n++] = 0;
			if (!jumped)
				end = at + 1;
			break;
		} else {
			if (c > len - at - 1 || n + 1 + c + 1 > DNS_NAME_MAX)
				return -1;
			memcpy(out + n, pkt + at, 1 + (size_t)c);
			n += 1 + (size_t)c;
			at += 1 + (size_t)c;
		}
	}
	*pos = end;
	*out_len = n;
	return 0;
}

/* Skips one resource record at *pos, noting an OPT. Returns 0, -1 if
 * malformed, 1 if it is a second OPT or an OPT not owned by the root. */
static int rr_skip(const uint8_t *pkt, size_t len, size_t *pos, struct query *q)
{
	uint8_t name[DNS_NAME_MAX];
	size_t name_len;

	if (dns_name_read(pkt, len, pos, name, &name_len) < 0 || len - *pos < 10)
		return -1;
	const uint8_t *f = pkt + *pos;
	size_t rdlen = rd16(f + 8);
	if (rdlen > len - *pos - 10)
		return -1;
	*pos += 10 + rdlen;
	if (rd16(f) != TYPE_OPT)
		return 0;
	if (q->has_opt || name_len != 1)
		return 1;
	q->has_opt = 1;
	q->opt_version = f[5]; /* TTL field: ext-rcode, version, flags */
	return 0;
}

/* Writes a header-only reply (FORMERR, NOTIMP): nothing after it is trusted. */
static enum dns_verdict reply_bare(const uint8_t *pkt, int rcode, uint8_t *out, size_t cap,
				   size_t *out_len)
{
	struct wr w = {out, cap, 0, 0};
	uint16_t flags = rd16(pkt + 2);

	put16(&w, rd16(pkt));
	put16(&w, (uint16_t)(FLAG_QR | (flags & (OPCODE_MASK << OPCODE_SHIFT)) | (flags & FLAG_RD) |
			     rcode));
	put32(&w, 0);
	put32(&w, 0);
	if (w.bad)
		return DNS_DROP;
	*out_len = w.len;
	return DNS_REPLY;
}

/* Parses the question and the remaining records. Returns a verdict only to
 * stop early (DROP or a bare reply written to out), else -1 to go on. */
static int query_parse(const uint8_t *pkt, size_t len, struct query *q, uint8_t *out, size_t cap,
		       size_t *out_len)
{
	if (len < DNS_HEADER_LEN)
		return DNS_DROP;
	memset(q, 0, sizeof(*q));
	q->id = rd16(pkt);
	q->flags = rd16(pkt + 2);
	if (q->flags & FLAG_QR)
		return DNS_DROP;
	if (((q->flags >> OPCODE_SHIFT) & OPCODE_MASK) != 0)
		return reply_bare(pkt, DNS_RCODE_NOTIMP, out, cap, out_len);
	if (rd16(pkt + 4) != 1)
		return reply_bare(pkt, DNS_RCODE_FORMERR, out, cap, out_len);

	size_t pos = DNS_HEADER_LEN;
	if (dns_name_read(pkt, len, &pos, q->qname, &q->qname_len) < 0 || len - pos < 4)
		return DNS_DROP;
	q->qtype = rd16(pkt + pos);
	q->qclass = rd16(pkt + pos + 2);
	pos += 4;

	unsigned rrs = (unsigned)rd16(pkt + 6) + rd16(pkt + 8) + rd16(pkt + 10);
	for (unsigned i = 0; i < rrs; i++) {
		int r = rr_skip(pkt, len, &pos, q);
		if (r < 0)
			return DNS_DROP;
		if (r > 0)
			return reply_bare(pkt, DNS_RCODE_FORMERR, out, cap, out_len);
	}
	return -1;
}

/* Where the name sits relative to vm., and for Z_HOST its first label,
 * lowercased, or "" when it holds bytes no VM name can contain. */
static enum zone_pos classify(const uint8_t *name, char label[LABEL_MAX + 1])
{
	size_t at = 0, last = 0, labels = 0;

	while (name[at] != 0) {
		last = at;
		labels++;
		at += 1 + (size_t)name[at];
	}
	if (labels == 0 || name[last] != 2 || lower(name[last + 1]) != 'v' ||
	    lower(name[last + 2]) != 'm')
		return Z_OTHER;
	if (labels == 1)
		return Z_APEX;
	if (labels > 2)
		return Z_DEEP;

	size_t n = name[0];
	for (size_t i = 0; i < n; i++) {
		int c = lower(name[1 + i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			label[0] = '\0';
			return Z_HOST;
		}
		label[i] = (char)c;
	}
	label[n] = '\0';
	return Z_HOST;
}

static void soa_put(struct wr *w)
{
	static const uint8_t owner[] = {2, 'v', 'm', 0};
	static const uint8_t rname[] = {10,  'h', 'o', 's', 't', 'm', 'a', 's',
					't', 'e', 'r', 2,   'v', 'm', 0};

	put(w, owner, sizeof(owner));
	put16(w, TYPE_SOA);
	put16(w, CLASS_IN);
	put32(w, DNS_TTL);
	put16(w, (uint16_t)(sizeof(owner) + sizeof(rname) + 20));
	put(w, owner, sizeof(owner)); /* MNAME: the zone itself, nothing to resolve */
	put(w, rname, sizeof(rname));
	put32(w, 1);	   /* serial: the zone is generated, never transferred */
	put32(w, 3600);	   /* refresh */
	put32(w, 600);	   /* retry */
	put32(w, 86400);   /* expire */
	put32(w, DNS_TTL); /* minimum: the negative-caching TTL (RFC 2308) */
}

struct answer {
	int rcode;
	int aa;
	const uint32_t *ipv4; /* an A record to answer with, or NULL */
	int soa_in_answer;    /* the SOA answers the question (vm. SOA) */
	int soa_in_authority; /* NXDOMAIN / NODATA proof */
};

/* Writes the reply: header, echoed question, records, then OPT if the
 * query had one. */
static enum dns_verdict reply_build(const struct query *q, const struct answer *a, uint8_t *out,
				    size_t cap, size_t *out_len)
{
	struct wr w = {out, cap, 0, 0};
	int rcode = a->rcode;

	if (q->has_opt && q->opt_version != 0)
		rcode = RCODE_BADVERS;
	int answered = rcode != RCODE_BADVERS;
	uint16_t an = answered ? (uint16_t)((a->ipv4 != NULL) + a->soa_in_answer) : 0;
	uint16_t ns = answered ? (uint16_t)a->soa_in_authority : 0;

	put16(&w, q->id);
	put16(&w,
	      (uint16_t)(FLAG_QR | (a->aa ? FLAG_AA : 0) | (q->flags & FLAG_RD) | (rcode & 0xF)));
	put16(&w, 1);
	put16(&w, an);
	put16(&w, ns);
	put16(&w, (uint16_t)q->has_opt);
	put(&w, q->qname, q->qname_len);
	put16(&w, q->qtype);
	put16(&w, q->qclass);
	if (an && a->ipv4) {
		put16(&w, 0xC000 | DNS_HEADER_LEN); /* pointer to the question's name */
		put16(&w, TYPE_A);
		put16(&w, CLASS_IN);
		put32(&w, DNS_TTL);
		put16(&w, 4);
		put(&w, a->ipv4, 4); /* already in network byte order */
	}
	if ((an && a->soa_in_answer) || ns)
		soa_put(&w);
	if (q->has_opt) {
		put(&w, "", 1); /* root owner */
		put16(&w, TYPE_OPT);
		put16(&w, DNS_EDNS_UDP);
		put32(&w, (uint32_t)(rcode >> 4) << 24); /* ext-rcode, version 0, no flags */
		put16(&w, 0);
	}
	if (w.bad)
		return DNS_DROP;
	*out_len = w.len;
	return DNS_REPLY;
}

/* The answer for a name inside vm. */
static void answer_zone(const struct query *q, enum zone_pos where, const char *label,
			dns_lookup_fn lookup, void *ctx, uint32_t *ip, struct answer *a)
{
	int wants_a = q->qtype == TYPE_A || q->qtype == TYPE_ANY;

	a->aa = 1;
	if (q->qclass != CLASS_IN && q->qclass != CLASS_ANY) {
		a->aa = 0;
		a->rcode = DNS_RCODE_REFUSED; /* we only serve class IN */
	} else if (where == Z_APEX) {
		a->soa_in_answer = q->qtype == TYPE_SOA || q->qtype == TYPE_ANY;
		a->soa_in_authority = !a->soa_in_answer;
	} else if (where == Z_HOST && label[0] && lookup && lookup(ctx, label, ip) == 1) {
		a->ipv4 = wants_a ? ip : NULL;
		a->soa_in_authority = !wants_a;
	} else {
		a->rcode = DNS_RCODE_NXDOMAIN;
		a->soa_in_authority = 1;
	}
}

enum dns_verdict dns_packet_answer(const uint8_t *pkt, size_t len, dns_lookup_fn lookup, void *ctx,
				   uint8_t *out, size_t cap, size_t *out_len)
{
	struct query q;
	struct answer a = {0};
	char label[LABEL_MAX + 1];
	uint32_t ip = 0;

	*out_len = 0;
	int early = query_parse(pkt, len, &q, out, cap, out_len);
	if (early >= 0)
		return (enum dns_verdict)early;

	enum zone_pos where = classify(q.qname, label);
	if (where != Z_OTHER) {
		answer_zone(&q, where, label, lookup, ctx, &ip, &a);
		return reply_build(&q, &a, out, cap, out_len);
	}
	/* Not ours. Recursion was not asked for: refuse outright; else the
	 * server forwards and keeps this REFUSED reply as its fallback. */
	a.rcode = DNS_RCODE_REFUSED;
	enum dns_verdict v = reply_build(&q, &a, out, cap, out_len);
	if (v == DNS_REPLY && (q.flags & FLAG_RD))
		v = DNS_FORWARD;
	return v;
}

/* Reads the question of pkt: name (uncompressed), type and class. */
static int question_read(const uint8_t *pkt, size_t len, uint8_t name[DNS_NAME_MAX],
			 size_t *name_len, uint8_t tc[4])
{
	size_t pos = DNS_HEADER_LEN;

	if (len < DNS_HEADER_LEN || rd16(pkt + 4) != 1)
		return -1;
	if (dns_name_read(pkt, len, &pos, name, name_len) < 0 || len - pos < 4)
		return -1;
	memcpy(tc, pkt + pos, 4);
	return 0;
}

int dns_packet_is_reply_to(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
	uint8_t qn[DNS_NAME_MAX], rn[DNS_NAME_MAX], qtc[4], rtc[4];
	size_t qn_len, rn_len;

	if (question_read(q, qlen, qn, &qn_len, qtc) < 0 ||
	    question_read(r, rlen, rn, &rn_len, rtc) < 0)
		return 0;
	if (!(rd16(r + 2) & FLAG_QR) || rd16(q) != rd16(r) || qn_len != rn_len ||
	    memcmp(qtc, rtc, 4) != 0)
		return 0;
	/* Label length octets are < 64, so lowercasing them is harmless. */
	for (size_t i = 0; i < qn_len; i++)
		if (lower(qn[i]) != lower(rn[i]))
			return 0;
	return 1;
}

uint16_t dns_packet_id(const uint8_t *pkt)
{
	return rd16(pkt);
}

void dns_packet_set_id(uint8_t *pkt, uint16_t id)
{
	pkt[0] = (uint8_t)(id >> 8);
	pkt[1] = (uint8_t)id;
}

int dns_packet_rcode(const uint8_t *pkt)
{
	return pkt[3] & 0xF;
}

void dns_packet_set_rcode(uint8_t *pkt, int rcode)
{
	pkt[3] = (uint8_t)((pkt[3] & 0xF0) | (rcode & 0xF));
}
