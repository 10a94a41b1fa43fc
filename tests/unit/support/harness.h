/*
 * Unit-test support: a stack on an in-memory link with a fake clock.
 *
 * The test injects frames with h_inject() and reads what the stack sent with
 * h_pop_tx(). Time moves only when the test says so (h_advance()), which runs
 * the stack's timers exactly as the runner thread would.
 *
 * The link is a device (netdev.h) like the TAP: injected frames wait in it
 * until the harness reads them into the stack, and the stack's frames are
 * transmitted through it at once (its output hook). With a fault config the
 * fault-injecting link wraps it, as PSTACK_FAULTS does the TAP's.
 */
#ifndef PSTACK_TEST_HARNESS_H
#define PSTACK_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/stack.h"
#include "stack/dev/fault.h"
#include "stack/dev/netdev.h"

#define H_MAX_FRAME 65600

/* The peer on the link: the kernel side's address and MAC in the tests. */
#define H_PEER_IP   0xc0000201u  /* 192.0.2.1, also the gateway */
#define H_STACK_IP  0xc0000202u  /* 192.0.2.2 */
extern const uint8_t h_peer_mac[6];
extern const uint8_t h_stack_mac[6];

struct h_frame {
	struct h_frame *next;
	size_t len;
	uint16_t gso_size;      /* a TSO frame (h_enable_tso): the segment size asked of the device */
	unsigned rx_flags;      /* an injected frame: the device's receive flags */
	uint8_t data[];
};

struct harness {
	struct stack *s;
	struct netdev mem;      /* the in-memory link */
	struct netdev *dev;     /* what the stack's frames go through: mem, or the fault link on it */
	uint64_t now;
	struct h_frame *tx_head, *tx_tail;
	size_t tx_count;
	struct h_frame *rx_head, *rx_tail;  /* injected, waiting for mem's receive */
	uint8_t *rxbuf;
	/* h_set_output: another output hook for the stack's frames (NULL: the link). */
	int (*output)(void *ctx, struct pkb *pkb, uint64_t now);
	void *output_ctx;
	/* What the link's tx_full answers (struct stack_link): a device queue
	 * that holds enough. */
	bool tx_full;
	/* h_keep_rx: frames injected on the plain link go to stack_input_rx in
	 * buffers of this size, as the host's reader hands them (0: stack_input). */
	size_t rx_keep;
};

/* A stack with default configuration (or cfg when not NULL) at time 1 s.
 * The gratuitous ARP sent at start is discarded unless keep_announce. */
struct harness *h_new(const struct stack_config *cfg, bool keep_announce);
/* The same on the fault-injecting link (faults enabled) around the in-memory one. */
struct harness *h_new_faulty(const struct stack_config *cfg, const struct fault_config *faults, bool keep_announce);
/* Destroys the stack, and fails the test if packet buffers leaked. */
void h_free(struct harness *h);
/* Marks the peer's MAC as known, so IP output needs no ARP exchange. */
void h_learn_peer(struct harness *h);
void h_inject(struct harness *h, const uint8_t *frame, size_t len);
/* From now on, frames injected on the plain link are copied into receive
 * buffers of bufsize bytes (struct pkb_rx) that the stack may keep, as the
 * host's reader gives them (zero-copy receive); 0: back to stack_input. */
void h_keep_rx(struct harness *h, size_t bufsize);
/* The same with the device's receive flags (enum netdev_rx_flag). */
void h_inject_flags(struct harness *h, const uint8_t *frame, size_t len, unsigned rx_flags);
/* Sends a whole frame out through the link, as if the stack had made it. 0 or -errno. */
int h_transmit(struct harness *h, const uint8_t *frame, size_t len);
/* The stack's frames go to output(ctx, ...) instead of the link (NULL: the link again). */
void h_set_output(struct harness *h, int (*output)(void *ctx, struct pkb *pkb, uint64_t now), void *ctx);
/* The earliest time the stack or the link needs to run (STACK_NEVER: never). */
uint64_t h_poll_at(struct harness *h);
/* From now on the link accepts TSO frames of up to tso_max TCP payload bytes
 * (the device cuts them); each one's gso_size is kept in its h_frame. */
void h_enable_tso(struct harness *h, uint32_t tso_max);
/* Advances the clock by us microseconds, running every timer due on the way in order. */
void h_advance(struct harness *h, uint64_t us);
/* The oldest frame the stack sent (caller frees), or NULL. */
struct h_frame *h_pop_tx(struct harness *h);
void h_drain_tx(struct harness *h);

/* Frame builders: write into buf, return the frame length. */
size_t h_build_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type,
		   const uint8_t *payload, size_t plen);
/* An IPv4 packet (20-byte header, correct checksum) in an Ethernet frame from the peer to us. */
size_t h_build_ip4(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
		   uint16_t frag_field, const uint8_t *payload, size_t plen);
/* A UDP datagram (checksum filled in) from the peer, in IPv4, in Ethernet. */
size_t h_build_udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		   const uint8_t *payload, size_t plen);

/* An ARP packet (RFC 826, Ethernet/IPv4) in an Ethernet frame from sha to eth_dst. */
size_t h_build_arp(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6], const uint8_t sha[6], uint32_t spa,
		   const uint8_t tha[6], uint32_t tpa);
/* An ICMP echo request (checksum filled in) from the peer, in IPv4, in Ethernet. */
size_t h_build_icmp_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
			 const uint8_t *payload, size_t plen);

struct ip4_hdr;
/* Checks that f is an IPv4 frame from the stack's MAC with a valid header
 * checksum (cmocka assertions), decodes its header into h and returns the IP
 * payload and its length. */
const uint8_t *h_tx_ip4(const struct h_frame *f, struct ip4_hdr *h, size_t *plen);
/* The Internet checksum over n bytes folds to zero (i.e. it verifies). */
bool h_csum_ok(const uint8_t *p, size_t n, uint32_t pseudo);

#endif
