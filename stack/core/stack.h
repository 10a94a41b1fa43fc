/*
 * A stack instance: one interface (device + address), its protocol state and
 * counters. This is the whole protocol stack's entry surface.
 *
 * Time: the stack never reads a clock. Every entry point takes `now` in
 * microseconds on a monotonic clock; stack_poll_at() says when the stack next
 * needs to run. The caller (the runner thread, or a unit test with a fake
 * clock) turns that into its wait timeout.
 *
 * Locking: the stack has none inside. The caller serialises every call on
 * one instance with the stack lock (stack/CONCURRENCY.md; checked in debug
 * builds by stack/core/lockcheck.h).
 */
#ifndef PSTACK_STACK_H
#define PSTACK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/config.h"
#include "stack/dev/netdev.h"
#include "stack/core/pkb.h"
#include "stack/core/stats.h"

#define STACK_NEVER UINT64_MAX

struct arp_state;
struct ip4_state;
struct icmp4_state;
struct udp_state;
struct tcp_table;
struct fault_state;
struct pcap_writer;

enum frame_dir { FRAME_IN, FRAME_OUT };

struct stack {
	struct stack_config cfg;
	struct netdev *dev;
	uint32_t mtu;              /* IP MTU in use: cfg.mtu or the device's */
	uint32_t netmask;          /* from cfg.prefix_len */
	uint32_t tso_max;          /* largest TCP payload per frame the device cuts for us (0: no TSO) */
	struct stack_stats stats;
	uint64_t now;              /* the latest `now` seen, for code without an argument */
	uint64_t rng;              /* state of stack_random() (not for secrets) */

	struct arp_state *arp;
	struct ip4_state *ip4;
	struct icmp4_state *icmp4;
	struct udp_state *udp;
	struct tcp_table *tcp;
	struct fault_state *fault; /* NULL unless cfg.faults.enabled */
	struct pcap_writer *pcap;  /* NULL unless a pcap file is open */
	unsigned rx_flags;         /* enum netdev_rx_flag of the frame stack_input_flags() is on, else 0 */
	/* Non-zero while callers feed a batch of frames (a count: the stack
	 * thread and a busy-polling thread may both be in one), each running
	 * due timers (stack_poll) right after: ACKs owed for several frames
	 * wait for that pass. */
	unsigned rx_batch;
	/*
	 * Deferred transmission (set by the runner; unit tests send at once):
	 * finished frames wait here, in order, and the thread that made them
	 * writes them to the device after releasing the stack's lock
	 * (stack_tx_take/stack_tx_send). A TAP write runs the peer kernel's
	 * whole receive path inside the system call (its TCP input, often
	 * its ACK back into the TAP); under the lock, that held every other
	 * thread off the stack.
	 */
	bool tx_defer;
	struct pkb *txq_head;
	struct pkb **txq_tail;
	size_t txq_len;
};

/* Creates the stack on dev (not owned). NULL when out of memory. */
struct stack *stack_create(const struct stack_config *cfg, struct netdev *dev, uint64_t now);
/* The interface comes up: announces our address (gratuitous ARP). Called once
 * the caller has attached what observes frames (pcap). */
void stack_up(struct stack *s, uint64_t now);
void stack_destroy(struct stack *s);

/* One received Ethernet frame. Never fails: bad frames are counted and dropped. */
void stack_input(struct stack *s, const uint8_t *frame, size_t len, uint64_t now);
/* The same with what the device knows of it (enum netdev_rx_flag): with
 * NETDEV_RX_CSUM_OK, TCP and UDP skip their checksum check. Ignored (0)
 * through the fault link, whose corrupted frames must be caught. */
void stack_input_flags(struct stack *s, const uint8_t *frame, size_t len, unsigned rx_flags, uint64_t now);
/* Runs every timer due at now. */
void stack_poll(struct stack *s, uint64_t now);
/* The earliest time stack_poll() has work, or STACK_NEVER. */
uint64_t stack_poll_at(const struct stack *s);

/* Hands one finished frame to the device (through the fault link, pcap and
 * trace); gso_size non-zero for a TSO frame (pkb->gso_size; only when
 * s->tso_max). Used by stack_output() only. 0 or -errno. */
int stack_transmit(struct stack *s, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now);
/* A finished frame from eth_output(), which gives up pkb: sent at once by
 * stack_transmit(), or, with s->tx_defer and no fault link, counted, traced
 * and captured now and queued for stack_tx_take(). 0 or -errno. */
int stack_output(struct stack *s, struct pkb *pkb, uint64_t now);
/* The queued frames, oldest first (NULL: none); the queue is left empty. */
struct pkb *stack_tx_take(struct stack *s);
/* Writes a list from stack_tx_take() to dev in order and frees it; needs no
 * lock (device transmit functions keep no state). The number of frames the
 * device refused, for stack_tx_failed() under the lock. */
unsigned stack_tx_send(struct netdev *dev, struct pkb *list);
/* Counts n frames the device refused (DROP_DEV_TX_ERROR). */
void stack_tx_failed(struct stack *s, unsigned n);
/* Sends everything queued, for a caller that is the stack's only user. */
void stack_tx_flush(struct stack *s);
/* After the fault link: the frame to the device (with pcap; with s->tx_defer a
 * copy is queued for stack_tx_take() instead), or to the protocol layers. */
int stack_dev_transmit(struct stack *s, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now);
/* Delivers a frame to the protocol layers, after the fault link (internal). */
void stack_deliver(struct stack *s, const uint8_t *frame, size_t len, uint64_t now);

/* Counts a drop (and logs it at debug level). */
void stack_drop(struct stack *s, enum drop_reason r);
/* Writes every non-zero counter and drop reason to the log at `level`. */
void stack_log_stats(const struct stack *s, int level);

/* A fast non-cryptographic random number (ports, jitter, fault injection is separate). */
uint32_t stack_random(struct stack *s);
/* True when addr is on our subnet. */
bool stack_on_link(const struct stack *s, uint32_t addr);

#endif
