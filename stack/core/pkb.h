/*
 * Packet buffers for the transmit path.
 *
 * The receive path never needs one: it parses the received frame in place as a
 * const byte range and copies payload where it is kept (receive queues,
 * reassembly). A transmit packet is built back to front: the transport writes
 * its header and payload after PKB_HEADROOM bytes, then each lower layer
 * prepends its own header with pkb_push().
 */
#ifndef PSTACK_PKB_H
#define PSTACK_PKB_H

#include <stddef.h>
#include <stdint.h>

/* Room for Ethernet (14) + IPv4 with options (60) + TCP with options (60), rounded. */
#define PKB_HEADROOM 160

struct pkb {
	struct pkb *next;   /* for the queue that owns it (ARP pending, fault delay line) */
	uint8_t *data;      /* first valid byte */
	size_t len;         /* valid bytes from data */
	size_t cap;         /* bytes allocated at buf */
	uint64_t when;      /* free for the owner's use (e.g. release time) */
	uint32_t next_hop;  /* IPv4 next hop, while waiting for ARP */
	uint16_t gso_size;  /* TSO: a TCP segment larger than the MTU, to be cut by the
			     * device into segments of this payload size (0: none) */
	uint8_t buf[];
};

/* A buffer with PKB_HEADROOM bytes of headroom and room for `size` bytes after
 * it; data points after the headroom and len is 0. NULL when out of memory. */
struct pkb *pkb_alloc(size_t size);
void pkb_free(struct pkb *pkb);
/* Prepends n bytes and returns a pointer to them (NULL if no headroom). */
uint8_t *pkb_push(struct pkb *pkb, size_t n);
/* Appends n bytes and returns a pointer to them (NULL if no tailroom). */
uint8_t *pkb_put(struct pkb *pkb, size_t n);
/* A copy of pkb with the same headroom. */
struct pkb *pkb_clone(const struct pkb *pkb);
/* Live buffers in this process, for leak checks in tests. */
long pkb_live(void);

#endif
