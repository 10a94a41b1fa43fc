/*
 * IPv4 header (RFC 791 §3.1). Options are carried, not interpreted: the
 * header length covers them, and the emitter leaves them to the caller.
 */
#ifndef PSTACK_WIRE_IP4_H
#define PSTACK_WIRE_IP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/wire/wire.h"

#define IP4_HLEN 20             /* without options */
#define IP4_HLEN_MAX 60
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17

/* An IPv4 header decoded into host order. */
struct ip4_hdr {
	uint8_t version;
	uint8_t ihl;            /* header length in bytes */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	bool rf, df, mf;        /* the reserved flag (RFC 3514), don't fragment, more fragments */
	uint16_t frag_off;      /* in bytes */
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src, dst;
	const uint8_t *raw;     /* the header as received (for ICMP errors quoting it) */
	size_t raw_len;         /* header plus payload bytes available at raw */
	unsigned rx_csum;       /* not a header field: the checksums still to verify in the
				 * payload (the core's enum stack_csum); the parsers set 0,
				 * ip4_parse sets what its caller asks */
	bool looped;            /* not a header field: never on a wire, delivered by the
				 * core's loop queue (Linux's lo); the parsers set false */
	uint8_t mac_len;        /* not a header field: bytes of the link's header right
				 * before raw (the frame's Ethernet header), 0 when not
				 * there (reassembled, looped); the parsers set 0 */
};

/* Decodes the fixed part of the header at p (at least IP4_HLEN bytes there),
 * checking nothing; raw is p and raw_len the total length field. */
static inline void ip4_hdr_decode(const uint8_t *p, struct ip4_hdr *h)
{
	uint16_t frag = rd16(p + 6);

	h->version = p[0] >> 4;
	h->ihl = (uint8_t)((p[0] & 0x0f) * 4);
	h->tos = p[1];
	h->total_len = rd16(p + 2);
	h->id = rd16(p + 4);
	h->rf = (frag & 0x8000) != 0;
	h->df = (frag & 0x4000) != 0;
	h->mf = (frag & 0x2000) != 0;
	h->frag_off = (uint16_t)((frag & 0x1fff) * 8);
	h->ttl = p[8];
	h->proto = p[9];
	h->csum = rd16(p + 10);
	h->src = rd32(p + 12);
	h->dst = rd32(p + 16);
	h->raw = p;
	h->raw_len = h->total_len;
	h->rx_csum = 0;
	h->looped = false;
	h->mac_len = 0;
}

/*
 * A received datagram of len bytes (bytes past the total length are the
 * link's padding, Ethernet's 60-byte minimum). In this order: WIRE_TRUNCATED,
 * WIRE_BAD_VERSION, WIRE_BAD_HLEN (IHL below 5), WIRE_HDR_TRUNCATED (the
 * options run past len), WIRE_BAD_LENGTH (a total length below the header or
 * past len). The header checksum is the caller's to verify (RFC 1122
 * §3.2.1.2). The payload is raw + ihl, total_len - ihl bytes.
 */
static inline enum wire_err ip4_hdr_parse(const uint8_t *p, size_t len, struct ip4_hdr *h)
{
	if (len < IP4_HLEN)
		return WIRE_TRUNCATED;
	ip4_hdr_decode(p, h);
	if (h->version != 4)
		return WIRE_BAD_VERSION;
	if (h->ihl < IP4_HLEN)
		return WIRE_BAD_HLEN;
	if (h->ihl > len)
		return WIRE_HDR_TRUNCATED;
	if (h->total_len < h->ihl || h->total_len > len)
		return WIRE_BAD_LENGTH;
	return WIRE_OK;
}

/*
 * A header we sent, quoted in an ICMP error (or our own datagram): the header
 * and at least 8 bytes after it (RFC 792), else WIRE_HDR_TRUNCATED. Its total
 * length and checksum describe the original, not these bytes, so they are
 * not checked; raw_len is qlen.
 */
static inline enum wire_err ip4_hdr_parse_quote(const uint8_t *q, size_t qlen, struct ip4_hdr *h)
{
	if (qlen < IP4_HLEN)
		return WIRE_TRUNCATED;
	ip4_hdr_decode(q, h);
	h->raw_len = qlen;
	if (h->version != 4)
		return WIRE_BAD_VERSION;
	if (h->ihl < IP4_HLEN)
		return WIRE_BAD_HLEN;
	if ((size_t)h->ihl + 8 > qlen)
		return WIRE_HDR_TRUNCATED;
	return WIRE_OK;
}

/*
 * Writes the header h at buf, version 4, with its checksum. With ihl above
 * IP4_HLEN the options are the caller's, at buf + IP4_HLEN before the call
 * (the checksum covers them). version, csum and raw* are not read.
 */
static inline void ip4_hdr_emit(uint8_t *buf, const struct ip4_hdr *h)
{
	buf[0] = (uint8_t)(0x40 | (h->ihl / 4));
	buf[1] = h->tos;
	wr16(buf + 2, h->total_len);
	wr16(buf + 4, h->id);
	wr16(buf + 6, (uint16_t)((h->rf ? 0x8000 : 0) | (h->df ? 0x4000 : 0) | (h->mf ? 0x2000 : 0) |
				 ((h->frag_off / 8) & 0x1fff)));
	buf[8] = h->ttl;
	buf[9] = h->proto;
	wr16(buf + 10, 0);
	wr32(buf + 12, h->src);
	wr32(buf + 16, h->dst);
	wr16(buf + 10, csum_fold(csum_partial(buf, h->ihl, 0)));
}

#endif
