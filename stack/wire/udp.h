/* UDP header (RFC 768). */
#ifndef PSTACK_WIRE_UDP_H
#define PSTACK_WIRE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/wire/ip4.h"
#include "stack/wire/wire.h"

#define UDP_HLEN 8
#define UDP_CSUM_OFF 6          /* where the checksum field is */

struct udp_hdr {
	uint16_t sport, dport;
	uint16_t len;           /* header and data */
	uint16_t csum;          /* 0: none was computed */
};

/*
 * A datagram in the len bytes of an IP payload: WIRE_TRUNCATED below
 * UDP_HLEN, WIRE_BAD_LENGTH when its length is below the header or past len
 * (bytes past it are ignored, as Linux trims them). The checksum is the
 * caller's to verify. The data is p + UDP_HLEN, u->len - UDP_HLEN bytes.
 */
static inline enum wire_err udp_hdr_parse(const uint8_t *p, size_t len, struct udp_hdr *u)
{
	if (len < UDP_HLEN)
		return WIRE_TRUNCATED;
	u->sport = rd16(p);
	u->dport = rd16(p + 2);
	u->len = rd16(p + 4);
	u->csum = rd16(p + 6);
	if (u->len < UDP_HLEN || u->len > len)
		return WIRE_BAD_LENGTH;
	return WIRE_OK;
}

/* Writes the header u at buf with a zero checksum (udp_fill_csum fills it). */
static inline void udp_hdr_emit(uint8_t *buf, const struct udp_hdr *u)
{
	wr16(buf, u->sport);
	wr16(buf + 2, u->dport);
	wr16(buf + 4, u->len);
	wr16(buf + 6, 0);
}

/* Fills the checksum of the len-byte datagram at buf (data in place) sent
 * from src to dst. RFC 768: a computed zero goes out as all ones. */
static inline void udp_fill_csum(uint8_t *buf, size_t len, uint32_t src, uint32_t dst)
{
	uint16_t c;

	wr16(buf + 6, 0);
	c = csum_fold(csum_partial(buf, len, csum_pseudo4(src, dst, IP_PROTO_UDP, (uint16_t)len)));
	wr16(buf + 6, c ? c : 0xffff);
}

#endif
