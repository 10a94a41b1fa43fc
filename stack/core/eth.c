/*
 * Ethernet II. Read first: IEEE 802.3 clause 3 (frame format); RFC 894
 * (IPv4 over Ethernet).
 */
#include "stack/core/eth.h"

#include <errno.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/ip4.h"
#include "stack/core/stack_priv.h"
#include "stack/wire/eth.h"

const uint8_t eth_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void eth_input(struct stack *s, const uint8_t *frame, size_t len, unsigned csum, uint64_t now)
{
	struct eth_hdr e;
	size_t off = ETH_HLEN;

	if (eth_hdr_parse(frame, len, &e) != WIRE_OK) {
		stack_drop(s, DROP_ETH_TRUNCATED);
		return;
	}
	/* Accept frames for our MAC, broadcasts, and IPv4 multicast (RFC 1112
	 * §6.4: 01:00:5e, for the groups a socket joined: ip4_input decides).
	 * The TAP also hands us the host's other multicast (IPv6 ND). */
	if (memcmp(e.dst, s->cfg.mac, 6) != 0 && memcmp(e.dst, eth_broadcast, 6) != 0 &&
	    !(e.dst[0] == 0x01 && e.dst[1] == 0x00 && e.dst[2] == 0x5e && !(e.dst[3] & 0x80))) {
		stack_drop(s, DROP_ETH_NOT_FOR_US);
		return;
	}
	/* IEEE 802.1Q tags. This host is on no VLAN: like Linux's
	 * __netif_receive_skb_core with no VLAN device, a frame tagged for VLAN
	 * 0 (priority tagged: only the priority is said) is taken as if
	 * untagged, tag after tag; one for any other VLAN is another host's
	 * (PACKET_OTHERHOST, which neither IP nor ARP takes). */
	while (e.type == ETH_TYPE_VLAN || e.type == ETH_TYPE_QINQ) {
		uint16_t tci;

		if (eth_vlan_parse(frame + off, len - off, &tci, &e.type) != WIRE_OK) {
			stack_drop(s, DROP_ETH_TRUNCATED);
			return;
		}
		if (tci & ETH_VLAN_VID_MASK) {
			stack_drop(s, DROP_ETH_OTHER_VLAN);
			return;
		}
		off += ETH_VLAN_HLEN;
	}
	switch (e.type) {
	case ETH_TYPE_IP4:
		ip4_input(s, frame + off, len - off, off, csum, now);
		break;
	case ETH_TYPE_ARP:
		arp_input(s, frame + off, len - off, now);
		break;
	default:
		stack_drop(s, DROP_ETH_UNKNOWN_TYPE);
		break;
	}
}

int eth_output(struct stack *s, struct pkb *pkb, const uint8_t dst[6], uint16_t type, uint64_t now)
{
	uint8_t *h = pkb_push(pkb, ETH_HLEN);
	struct eth_hdr e;

	if (!h) {
		pkb_free(pkb);
		return -ENOBUFS;
	}
	memcpy(e.dst, dst, 6);
	memcpy(e.src, s->cfg.mac, 6);
	e.type = type;
	eth_hdr_emit(h, &e);
	return stack_output(s, pkb, now);
}
