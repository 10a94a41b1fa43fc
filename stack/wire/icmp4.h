/*
 * ICMP for IPv4 (RFC 792): the 8-byte header. Its second word ("rest") is
 * the identifier and sequence number of an echo, the next-hop MTU of
 * fragmentation needed (RFC 1191 §4), the pointer of a parameter problem;
 * an error's body quotes the offending datagram's header and 8 bytes of its
 * data (ip4_hdr_parse_quote).
 */
#ifndef PSTACK_WIRE_ICMP4_H
#define PSTACK_WIRE_ICMP4_H

#include <stddef.h>
#include <stdint.h>

#include "stack/wire/wire.h"

#define ICMP_HLEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12
#define ICMP_TIMESTAMP 13
#define ICMP_TIMESTAMP_REPLY 14
#define ICMP_UNREACH_PROTOCOL 2
#define ICMP_UNREACH_PORT 3
#define ICMP_UNREACH_NEEDFRAG 4
#define ICMP_UNREACH_LAST 15    /* precedence cutoff (RFC 1812 §5.2.7.1); Linux's NR_ICMP_UNREACH */

struct icmp4_hdr {
	uint8_t type, code;
	uint16_t csum;
	uint32_t rest;          /* the second word, by type */
};

/* Echo's identifier and sequence number; fragmentation needed's next-hop MTU. */
static inline uint16_t icmp4_echo_id(const struct icmp4_hdr *m) { return (uint16_t)(m->rest >> 16); }
static inline uint16_t icmp4_echo_seq(const struct icmp4_hdr *m) { return (uint16_t)m->rest; }
static inline uint16_t icmp4_next_mtu(const struct icmp4_hdr *m) { return (uint16_t)m->rest; }

/* WIRE_OK, or WIRE_TRUNCATED below ICMP_HLEN bytes. The body is p + ICMP_HLEN.
 * The checksum (over the whole message) is the caller's to verify. */
static inline enum wire_err icmp4_hdr_parse(const uint8_t *p, size_t len, struct icmp4_hdr *m)
{
	if (len < ICMP_HLEN)
		return WIRE_TRUNCATED;
	m->type = p[0];
	m->code = p[1];
	m->csum = rd16(p + 2);
	m->rest = rd32(p + 4);
	return WIRE_OK;
}

/* Writes the header m at buf with a zero checksum (icmp4_fill_csum fills it). */
static inline void icmp4_hdr_emit(uint8_t *buf, const struct icmp4_hdr *m)
{
	buf[0] = m->type;
	buf[1] = m->code;
	wr16(buf + 2, 0);
	wr32(buf + 4, m->rest);
}

/* Fills the checksum of the len-byte message at buf (header and body in place). */
static inline void icmp4_fill_csum(uint8_t *buf, size_t len)
{
	wr16(buf + 2, 0);
	wr16(buf + 2, csum_fold(csum_partial(buf, len, 0)));
}

#endif
