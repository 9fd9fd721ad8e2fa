/*
 * libFuzzer target for dns_packet: any input must be answered or dropped
 * without a crash, leak or sanitizer report, and every reply must hold up:
 * it fits the buffer, is a response (so feeding it back is dropped), and
 * when it echoes a question it is recognised as the reply to the query.
 * Built with clang by tests/fuzz/run.sh, outside meson.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_packet.h"

/* Every name starting with 'a' is a running VM, so both paths are reached. */
static int fuzz_lookup(void *ctx, const char *name, uint32_t *ip)
{
	(void)ctx;
	if (strlen(name) > 63)
		abort();
	*ip = 0x0100000a;
	return name[0] == 'a';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[DNS_REPLY_MAX], again[DNS_REPLY_MAX];
	size_t len = 0, len2 = 0;

	enum dns_verdict v =
	    dns_packet_answer(data, size, fuzz_lookup, NULL, out, sizeof(out), &len);
	if (v == DNS_DROP) {
		if (len != 0)
			abort();
	} else {
		if (len < DNS_HEADER_LEN || len > sizeof(out) || !(out[2] & 0x80))
			abort();
		if (dns_packet_id(out) != dns_packet_id(data))
			abort();
		int has_question = out[4] == 0 && out[5] == 1;
		if (has_question && !dns_packet_is_reply_to(data, size, out, len))
			abort();
		if (dns_packet_answer(out, len, fuzz_lookup, NULL, again, sizeof(again), &len2) !=
		    DNS_DROP)
			abort();
	}

	/* The name reader on its own, from every offset of a short input. */
	for (size_t pos = 0; pos < size && pos < 64; pos++) {
		uint8_t name[DNS_NAME_MAX];
		size_t at = pos, name_len = 0;
		if (dns_name_read(data, size, &at, name, &name_len) == 0 &&
		    (at <= pos || at > size || name_len == 0 || name_len > DNS_NAME_MAX))
			abort();
	}
	/* Treat the input as an upstream reply to itself split in two. */
	(void)dns_packet_is_reply_to(data, size / 2, data + size / 2, size - size / 2);
	return 0;
}
