/*
 * The device interface: a link that moves whole Ethernet frames and knows
 * nothing of protocols.
 *
 * Implementations: the TAP driver (stack/dev/tap.c) and the in-memory link of
 * the unit tests (tests/unit/support/harness.c); and wrappers, devices that
 * wrap another one (`lower`) the way smoltcp's phy::PcapWriter, Tracer and
 * FaultInjector wrap a Device: pcap (pcap.c), trace (trace.c) and the fault
 * link (fault.c). The protocol core never sees a device: the host moves
 * frames between the outermost device and the stack (stack/host/runner.c).
 *
 * The host builds the chain from its settings, innermost first:
 *
 *     stack <-> trace <-> fault <-> pcap <-> TAP
 *
 *   - pcap, next to the TAP, records frames exactly as the TAP gave them and
 *     as it was given them: after the fault link on the way out, before it on
 *     the way in (PSTACK_PCAP);
 *   - the fault link loses, corrupts, duplicates, reorders and delays frames
 *     in both directions (PSTACK_FAULTS); it clears the receive flags, since
 *     the device's word about a frame no longer holds once it may be
 *     corrupted, and it offers no TSO: frames meet it as they are on a wire;
 *   - trace, next to the stack, logs frames as the stack sees them
 *     (PSTACK_LOG=trace).
 * Each is in the chain only when its setting asks for it. The frame counters
 * stay in the stack (struct stack_stats): they count what it received and made.
 *
 * Threads: the host calls transmit (one writer at a time; with
 * transmit_queue, one per queue), receive (from more than one thread at
 * once: the stack thread and an application thread) and poll without the
 * stack's lock; poll_at and take_drops under it. A wrapper
 * with state serialises these itself (fault, pcap: a mutex of their own,
 * taken by no one who holds the stack's lock); poll_at and take_drops must
 * not wait for that mutex, which is held across the device's I/O: the fault
 * link answers them from atomics (stack/CONCURRENCY.md).
 */
#ifndef PSTACK_NETDEV_H
#define PSTACK_NETDEV_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/core/stack.h"

struct netdev;

/* What a device knows about a received frame (receive's *rx_flags): the
 * core's enum stack_rx_flag, and a GRO'd frame's segment size in the high
 * bits (stack_rx_gso), handed to stack_input() as they are. */
enum netdev_rx_flag {
	NETDEV_RX_CSUM_OK = STACK_RX_CSUM_OK,
};

struct netdev_ops {
	/* Sends one whole frame. With gso_size non-zero (only when the device
	 * has tso_max), a TCP/IPv4 frame of up to 64 KB whose TCP checksum field
	 * holds only the pseudo-header sum, for the device to cut into segments
	 * of gso_size payload bytes and checksum (TSO). 0, or -errno (-EAGAIN
	 * when the device queue is full). */
	int (*transmit)(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now);
	/* Reads one frame into buf without blocking: its length, 0 when none is
	 * waiting, or -errno; *rx_flags gets its enum netdev_rx_flag bits. A
	 * frame of cap bytes or more is cut and dropped by the caller. */
	long (*receive)(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now);
	/* Real devices: the fd to poll for POLLIN, or -1 for a device without
	 * one. NULL in wrappers (netdev_pollfd asks the innermost device). */
	int (*pollfd)(struct netdev *dev);
	/* Optional, for a device with timers of its own (the fault link's
	 * delayed frames): when it next needs poll() or, for frames it holds on
	 * the way in, receive() (STACK_NEVER: no need) ... */
	uint64_t (*poll_at)(struct netdev *dev);
	/* ... and sends what is due on the way out. */
	void (*poll)(struct netdev *dev, uint64_t now);
	/* Optional: adds to drops (indexed by enum drop_reason) the frames the
	 * device dropped since the last call where no caller saw a result: on
	 * purpose (the fault link, DROP_FAULT_INJECTED), or refused by the
	 * device below it when it sent them later (DROP_DEV_TX_ERROR). */
	void (*take_drops)(struct netdev *dev, uint64_t drops[DROP__COUNT]);
	/* Frees this device only (netdev_destroy frees a whole chain). */
	void (*destroy)(struct netdev *dev);
	/* A device with tx_queues > 1 (a multi-queue TAP): sends one frame, as
	 * transmit does, on queue 0 to tx_queues - 1. Frames written on one
	 * queue leave in their order; different queues may be written by
	 * different threads at the same time. NULL otherwise. */
	int (*transmit_queue)(struct netdev *dev, unsigned queue, const uint8_t *frame, size_t len,
			      uint16_t gso_size, uint64_t now);
	/* Optional, real devices only (a wrapper has none, and its frames
	 * come whole: pkb_linearize): a TSO frame (gso_size set) in pieces,
	 * the len bytes at frame (every header in them) then the tail's
	 * ranges (zero-copy transmit, pkb.h), on queue (0 for a device of one
	 * queue), in one write; as transmit_queue otherwise. */
	int (*transmit_ext)(struct netdev *dev, unsigned queue, const uint8_t *frame, size_t len,
			    const struct pkb_ext *tail, uint16_t gso_size, uint64_t now);
};

struct netdev {
	const struct netdev_ops *ops;
	struct netdev *lower;  /* the device a wrapper wraps; NULL for a real device */
	char name[16];
	uint32_t mtu;          /* IP MTU: largest IPv4 datagram without fragmenting */
	uint8_t hwaddr[6];     /* the device's own MAC (the stack's MAC comes from config) */
	uint32_t tso_max;      /* largest TCP payload per frame it cuts (0: no TSO) */
	unsigned tx_queues;    /* queues transmit_queue takes; 0 or 1: one (transmit), and so for
				* every wrapper: it sends through its lower device's transmit */
	void *priv;
};

/* A wrapper's fields from the device it wraps (name, MTU, MAC, TSO). */
void netdev_wrap(struct netdev *dev, const struct netdev_ops *ops, struct netdev *lower, void *priv);
/* The chain's: the innermost device's pollfd; the earliest poll_at
 * (STACK_NEVER: none); poll of every device from the outermost in. */
int netdev_pollfd(struct netdev *dev);
uint64_t netdev_poll_at(struct netdev *dev);
void netdev_poll(struct netdev *dev, uint64_t now);
/* Moves the drops of every device in the chain (take_drops) into s's
 * counters; the caller serialises s as for any stack call. */
void netdev_count_drops(struct netdev *dev, struct stack *s);
/* The device in dev's chain with these ops, or NULL. */
struct netdev *netdev_find(const struct netdev *dev, const struct netdev_ops *ops);
/* Frees a chain, outermost first. NULL is fine. */
void netdev_destroy(struct netdev *dev);

#endif
