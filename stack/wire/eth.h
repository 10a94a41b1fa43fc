/*
 * Ethernet II header (IEEE 802.3 clause 3 with an EtherType; RFC 894 for
 * IPv4 over it). A tagged frame shows its TPID as the type; the IEEE 802.1Q
 * tag after it is read with eth_vlan_parse.
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
#define ETH_TYPE_VLAN 0x8100    /* IEEE 802.1Q customer tag */
#define ETH_TYPE_QINQ 0x88a8    /* IEEE 802.1ad service tag */
#define ETH_VLAN_HLEN 4
#define ETH_VLAN_VID_MASK 0x0fff

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

/* The 802.1Q tag at p (after a VLAN or QinQ TPID): its tag control
 * information (priority, DEI, VLAN id) and the type it encloses. WIRE_OK, or
 * WIRE_TRUNCATED below ETH_VLAN_HLEN bytes. */
static inline enum wire_err eth_vlan_parse(const uint8_t *p, size_t len, uint16_t *tci, uint16_t *type)
{
	if (len < ETH_VLAN_HLEN)
		return WIRE_TRUNCATED;
	*tci = rd16(p);
	*type = rd16(p + 2);
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
