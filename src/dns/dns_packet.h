/*
 * dns_packet: the wire logic of banger's DNS responder for the `vm.` zone.
 * Pure: no I/O, no allocation, no globals, so it is unit-tested and fuzzed
 * directly.
 *
 * What it answers (RFC 1035; every answer for vm. is authoritative, AA=1):
 *   <name>.vm A        -> the running VM's address, TTL DNS_TTL; the answer
 *                         name is a compression pointer to the question,
 *                         which echoes the query's case.
 *   <name>.vm ANY      -> the same A record.
 *   <name>.vm other    -> NOERROR, no answer, vm. SOA in authority (NODATA).
 *   unknown under vm.  -> NXDOMAIN with the vm. SOA (also a.b.vm: no wildcards).
 *   vm. SOA            -> the SOA; vm. anything else -> NODATA + SOA (the zone
 *                         has no NS records: nobody delegates to it).
 *   another zone       -> DNS_FORWARD: the server relays the query to the host's
 *                         upstream resolvers; `out` then holds a REFUSED reply
 *                         that the server sends when it has no upstream.
 *
 * Why forwarding and not only REFUSED: a guest could list banger first and
 * the host's resolvers after it, relying on REFUSED to move on. glibc's UDP
 * path (send_dg) does move on, but its TCP path (send_vc, used with
 * `options use-vc`) returns the REFUSED answer to the caller; c-ares stops at
 * REFUSED; systemd-resolved, since it learnt to switch server on REFUSED,
 * then keeps asking the upstream, so later `x.vm` lookups get NXDOMAIN; musl
 * queries all servers at once and takes the first NOERROR/NXDOMAIN, so the
 * upstream's NXDOMAIN for `x.vm` can win the race. With forwarding the guest
 * lists only banger's address and every resolver behaves the same.
 *
 * Malformed input: anything truncated, with a bad label, a compression
 * pointer that does not point strictly backwards, or an oversized name is
 * DNS_DROP (no reply). Responses (QR=1) are dropped too, so two responders
 * cannot ping-pong. QDCOUNT != 1 -> FORMERR, opcode != QUERY -> NOTIMP.
 * EDNS0: a single OPT in the query is accepted and answered with a minimal
 * OPT; an OPT with version != 0 gets BADVERS; two OPTs are FORMERR.
 */
#ifndef BANGER_DNS_DNS_PACKET_H
#define BANGER_DNS_DNS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255  /* wire octets of an uncompressed name, root included */
#define DNS_TTL 5	  /* VMs come and go: keep caches short */
#define DNS_EDNS_UDP 1232 /* payload size we advertise (DNS flag day 2020) */
/* Room for any reply dns_packet_answer builds (question <= 259 octets). */
#define DNS_REPLY_MAX 640

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

enum dns_verdict {
	DNS_DROP = 0, /* malformed, or not a query: send nothing */
	DNS_REPLY,    /* out holds the reply */
	DNS_FORWARD,  /* not our zone: relay upstream; out holds a REFUSED fallback */
};

/*
 * Looks a VM up by name. name is the single label before ".vm", lowercased,
 * only [a-z0-9_-]. On a hit, stores the IPv4 address in network byte order
 * (as struct in_addr.s_addr) and returns 1; returns 0 when no running VM has
 * that name. dns_server calls it from its own thread: it must be thread-safe.
 */
typedef int (*dns_lookup_fn)(void *ctx, const char *name, uint32_t *ipv4_out);

/*
 * Reads the (possibly compressed) name at *pos of pkt[0..len) into out as an
 * uncompressed wire name (case kept) and sets *out_len (root byte included).
 * Advances *pos past the name as it appears at *pos. Every compression pointer
 * must point before the start of the run of labels that contains it, so
 * loops are impossible. Returns 0, or -1 for a malformed name.
 */
int dns_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t out[DNS_NAME_MAX],
		  size_t *out_len);

/*
 * Builds the reply to the query q[0..qlen) into out[0..cap) and sets *out_len.
 * lookup(ctx, ...) is called at most once, only for a <label>.vm name.
 * Returns a dns_verdict; *out_len is 0 for DNS_DROP. cap >= DNS_REPLY_MAX
 * always suffices; a smaller buffer that is too small gives DNS_DROP.
 */
enum dns_verdict dns_packet_answer(const uint8_t *q, size_t qlen, dns_lookup_fn lookup, void *ctx,
				   uint8_t *out, size_t cap, size_t *out_len);

/*
 * Checks that reply r[0..rlen) is a response (QR=1) to query q[0..qlen):
 * same ID and same question (name compared case-insensitively, type, class).
 * Returns 1 if so, 0 otherwise (including malformed input). Used to accept
 * only genuine upstream answers.
 */
int dns_packet_is_reply_to(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen);

/* The ID of a packet of at least 2 bytes, and its replacement. */
uint16_t dns_packet_id(const uint8_t *pkt);
void dns_packet_set_id(uint8_t *pkt, uint16_t id);

/* The RCODE (low 4 bits) of a packet of at least DNS_HEADER_LEN bytes, and
 * its replacement. */
int dns_packet_rcode(const uint8_t *pkt);
void dns_packet_set_rcode(uint8_t *pkt, int rcode);

#endif
