/* Ethernet II framing (IEEE 802.3 with EtherType, no 802.1Q). */
#ifndef PSTACK_ETH_H
#define PSTACK_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/wire/eth.h"

struct stack;

extern const uint8_t eth_broadcast[6];

/* Dispatches a received frame by EtherType; csum (enum stack_csum): the
 * checksums to verify in it. */
void eth_input(struct stack *s, const uint8_t *frame, size_t len, unsigned csum, uint64_t now);
/* Prepends the Ethernet header (source: our MAC) and transmits. Takes pkb. 0 or -errno. */
int eth_output(struct stack *s, struct pkb *pkb, const uint8_t dst[6], uint16_t type, uint64_t now);

#endif
