/*
 * struct stack, for the protocol core's own files (stack/core) only: the host,
 * the devices and the shim see it through stack.h's functions.
 */
#ifndef PSTACK_STACK_PRIV_H
#define PSTACK_STACK_PRIV_H

#include "stack/core/stack.h"

struct arp_state;
struct ip4_state;
struct icmp4_state;
struct udp_state;
struct tcp_table;

struct stack {
	struct stack_config cfg;
	struct stack_link link;
	uint32_t mtu;              /* IP MTU in use: cfg.mtu or the link's */
	uint32_t netmask;          /* from cfg.prefix_len */
	uint32_t tso_max;          /* largest TCP payload per frame the link cuts for us (0: no TSO) */
	struct stack_stats stats;
	uint64_t now;              /* the latest `now` seen, for code without an argument */
	uint64_t rng;              /* state of stack_random() (not for secrets) */
	uint64_t wall_offset;      /* wall clock (µs since the epoch) less `now` (stack_set_wall_clock) */
	sock_copy_fn copy;         /* the socket calls' data copy (stack_set_copy) */

	struct arp_state *arp;
	struct ip4_state *ip4;
	struct icmp4_state *icmp4;
	struct udp_state *udp;
	struct tcp_table *tcp;
	/* Non-zero inside stack_rx_batch_begin/end (see stack.h). reads
	 * counts the reads that took data from a connection (atomic: the
	 * runner looks without the lock, stack_reads), rx_batch_reads what it
	 * was when the batch's frames began to wait: a connection read from
	 * since (tcp_conn.read_no) has its ACKs for the rest of the batch wait
	 * for the timer pass right after it. */
	unsigned rx_batch;
	uint64_t reads, rx_batch_reads;
	/* The buffer of the frame stack_input_rx is taking, which a receive
	 * queue may keep (NULL: the frame is the caller's, to be copied). */
	struct pkb_rx *rx_blk;
	/* The GSO segment size of the frame stack_input is taking (0: none;
	 * STACK_RX_GSO_SHIFT). */
	uint16_t rx_gso_size;
};

/* Every frame the stack makes leaves here (from eth_output): counted, then
 * handed to the link's output hook, which takes pkb. 0 or -errno. */
int stack_output(struct stack *s, struct pkb *pkb, uint64_t now);

#endif
