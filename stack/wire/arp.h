/*
 * ARP packet (RFC 826) for IPv4 over Ethernet: an 8-byte fixed part (hardware
 * and protocol types and address sizes, opcode), then the sender's and the
 * target's hardware and protocol addresses.
 */
#ifndef PSTACK_WIRE_ARP_H
#define PSTACK_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stack/wire/eth.h"
#include "stack/wire/wire.h"

#define ARP_FIXED_LEN 8          /* htype, ptype, hlen, plen, op */
#define ARP_PKT_LEN 28           /* with Ethernet and IPv4 addresses */
#define ARP_HTYPE_ETHER 1
#define ARP_HTYPE_IEEE802 6      /* IEEE 802 networks: taken on Ethernet too (RFC 2625, Linux) */
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};

/*
 * Anything after ARP_PKT_LEN bytes is the link's padding. WIRE_TRUNCATED below
 * the fixed part; then the fixed part is decoded, and: WIRE_HDR_TRUNCATED
 * below ARP_PKT_LEN bytes; then the addresses are decoded as Ethernet and
 * IPv4 ones, and: WIRE_UNSUPPORTED when the packet is for another hardware or
 * protocol, or another address size. Hardware type 6 (IEEE 802) counts as
 * Ethernet, as in Linux's arp_process(), which takes 1 or 6 on an Ethernet,
 * FDDI or IEEE 802 device. The opcode is not checked.
 */
static inline enum wire_err arp_pkt_parse(const uint8_t *p, size_t len, struct arp_pkt *a)
{
	if (len < ARP_FIXED_LEN)
		return WIRE_TRUNCATED;
	a->htype = rd16(p);
	a->ptype = rd16(p + 2);
	a->hlen = p[4];
	a->plen = p[5];
	a->op = rd16(p + 6);
	if (len < ARP_PKT_LEN)
		return WIRE_HDR_TRUNCATED;
	memcpy(a->sha, p + 8, 6);
	a->spa = rd32(p + 14);
	memcpy(a->tha, p + 18, 6);
	a->tpa = rd32(p + 24);
	if ((a->htype != ARP_HTYPE_ETHER && a->htype != ARP_HTYPE_IEEE802) || a->ptype != ETH_TYPE_IP4 || a->hlen != 6 || a->plen != 4)
		return WIRE_UNSUPPORTED;
	return WIRE_OK;
}

/* Writes the ARP_PKT_LEN bytes of a at buf (the Ethernet/IPv4 layout, whatever
 * hlen and plen say). */
static inline void arp_pkt_emit(uint8_t *buf, const struct arp_pkt *a)
{
	wr16(buf, a->htype);
	wr16(buf + 2, a->ptype);
	buf[4] = a->hlen;
	buf[5] = a->plen;
	wr16(buf + 6, a->op);
	memcpy(buf + 8, a->sha, 6);
	wr32(buf + 14, a->spa);
	memcpy(buf + 18, a->tha, 6);
	wr32(buf + 24, a->tpa);
}

#endif
