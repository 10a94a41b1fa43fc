/*
 * The wire module: byte-order access, the Internet checksum, and (in the
 * headers beside this one) one parse/emit pair per protocol header: eth.h,
 * arp.h, ip4.h, icmp4.h, udp.h, tcp.h; print.h decodes a whole frame to text.
 *
 * The model is smoltcp's wire::{Packet, Repr}: a parser checks the lengths
 * first, then reads the fields at byte offsets in network order into a
 * host-order representation (received bytes are never cast to a struct, and
 * never rewritten); an emitter writes a representation into a buffer. The
 * stack, the trace printer, the tests, the fuzzer and the test tools all go
 * through them. Nothing here knows of the stack: a parser says why it refused
 * its input (enum wire_err) and the layer above turns that into its own drop
 * reason. An emitter reads its representation's fields before it writes the
 * first byte: a byte store may alias anything, and a field read between two
 * stores would keep the compiler from merging them into one. RFC 1071 for
 * the checksum.
 */
#ifndef PSTACK_WIRE_H
#define PSTACK_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
/* One (unaligned) store each: the compiler then never has to merge byte
 * stores, which it does with long shift chains when a header is emitted. */
static inline void wr16(uint8_t *p, uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	memcpy(p, &v, 2);
}
static inline void wr32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}

/* Why a parser refused its input. Past WIRE_TRUNCATED the fixed part of the
 * header is decoded into the representation (so that a printer can show it). */
enum wire_err {
	WIRE_OK = 0,
	WIRE_TRUNCATED,         /* shorter than the fixed header: nothing decoded */
	WIRE_BAD_VERSION,       /* IPv4: the version field is not 4 */
	WIRE_BAD_HLEN,          /* a header length field (IHL, data offset) below its minimum */
	WIRE_HDR_TRUNCATED,     /* the header runs past the bytes (IPv4 or TCP options, ARP addresses) */
	WIRE_BAD_LENGTH,        /* a length field (IPv4 total length, UDP length) contradicts the bytes */
	WIRE_UNSUPPORTED,       /* ARP for another hardware or protocol than Ethernet/IPv4 */
};

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
