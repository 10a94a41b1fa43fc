/* Ethernet II framing (IEEE 802.3 with EtherType, no 802.1Q). */
#ifndef PSTACK_ETH_H
#define PSTACK_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"

struct stack;

#define ETH_HLEN 14
#define ETH_TYPE_IP4 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_IP6 0x86dd

extern const uint8_t eth_broadcast[6];

/* Dispatches a received frame by EtherType; csum (enum stack_csum): the
 * checksums to verify in it. */
void eth_input(struct stack *s, const uint8_t *frame, size_t len, unsigned csum, uint64_t now);
/* Prepends the Ethernet header (source: our MAC) and transmits. Takes pkb. 0 or -errno. */
int eth_output(struct stack *s, struct pkb *pkb, const uint8_t dst[6], uint16_t type, uint64_t now);

#endif
