/*
 * Ethernet II header (IEEE 802.3 clause 3 with an EtherType; RFC 894 for
 * IPv4 over it). No 802.1Q tag: a tagged frame shows its TPID as the type.
 */
#ifndef PSTACK_WIRE_ETH_H
#define PSTACK_WIRE_ETH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stack/wire/wire.h"

#define ETH_HLEN 14
#define ETH_TYPE_IP4 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IP6 0x86dd
#define ETH_TYPE_MIN 0x0600     /* below: an IEEE 802.3 length, not a type */

struct eth_hdr {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
};

/* WIRE_OK, or WIRE_TRUNCATED below ETH_HLEN bytes. The payload is p + ETH_HLEN. */
static inline enum wire_err eth_hdr_parse(const uint8_t *p, size_t len, struct eth_hdr *e)
{
	if (len < ETH_HLEN)
		return WIRE_TRUNCATED;
	memcpy(e->dst, p, 6);
	memcpy(e->src, p + 6, 6);
	e->type = rd16(p + 12);
	return WIRE_OK;
}

/* Writes the ETH_HLEN bytes of e at buf. */
static inline void eth_hdr_emit(uint8_t *buf, const struct eth_hdr *e)
{
	memcpy(buf, e->dst, 6);
	memcpy(buf + 6, e->src, 6);
	wr16(buf + 12, e->type);
}

#endif
