/*
 * Byte-order access and the Internet checksum.
 *
 * Received bytes are never cast to structs: fields are read at byte offsets in
 * network order with these helpers, after the caller has checked the length
 * (smoltcp's new_checked rule). RFC 1071 for the checksum.
 */
#ifndef PSTACK_WIRE_H
#define PSTACK_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* RFC 1071: one's-complement sum of 16-bit words, unfolded. Chain calls by
 * passing the previous result as `sum`; an odd length is only allowed on the
 * last piece. */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);
/* Folds a partial sum and complements it: the value to put in a header. */
uint16_t csum_fold(uint32_t sum);
/* Partial sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768). */
uint32_t csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* IPv4 addresses are host-order uint32_t everywhere in the stack. */
#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Formats a host-order IPv4 address into buf (at least 16 bytes); returns buf. */
char *ip4_ntoa(uint32_t addr, char *buf);
/* Formats a MAC into buf (at least 18 bytes); returns buf. */
char *mac_ntoa(const uint8_t mac[6], char *buf);

#endif
