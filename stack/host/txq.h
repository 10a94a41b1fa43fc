/*
 * The host's transmit queue: the stack's link output hook (struct
 * stack_link's output) queues every finished frame, in order, and whichever
 * thread made them writes them to the device once it has let go of the
 * stack's lock (runner.c, runner_tx). A TAP write runs the peer kernel's
 * whole receive path inside the system call (its TCP input, often its ACK
 * back into the TAP); under the lock, that held every other thread off the
 * stack.
 *
 * A device with several queues (a multi-queue TAP: netdev.h tx_queues) has
 * one such queue per device queue (struct txq_set): each frame goes to the
 * queue its flow hashes to (txq_select), so a connection's frames always take
 * the same one and leave in their order, while different queues are written
 * by different threads at the same time (runner_tx).
 */
#ifndef PSTACK_HOST_TXQ_H
#define PSTACK_HOST_TXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/core/stack.h"
#include "stack/dev/netdev.h"

struct txq {
	struct pkb *head;
	struct pkb **tail;
	size_t len;
	size_t bytes;           /* the frames' lengths */
};

void txq_init(struct txq *q);
/* The link output hook (ctx: the struct txq): appends pkb. Always 0: a
 * device error is counted when the frame is written. */
int txq_output(void *ctx, struct pkb *pkb, uint64_t now);
/* The queued frames, oldest first (NULL: none); the queue is left empty. */
struct pkb *txq_take(struct txq *q);
/* Writes a list from txq_take() to dev in order and frees it; needs no lock
 * of the stack's. The number of frames the device refused, for the caller
 * to count (DROP_DEV_TX_ERROR) under the stack's lock. */
unsigned txq_send(struct netdev *dev, struct pkb *list, uint64_t now);
/* Writes everything queued and counts the refusals in s, for a caller that
 * is the stack's only user (before the threads start, after they stop). */
void txq_flush(struct txq *q, struct netdev *dev, struct stack *s, uint64_t now);
/* Frees what is still queued. */
void txq_clear(struct txq *q);

#define TXQ_MAX 16

struct txq_set {
	unsigned n;             /* queues in use, 1 to TXQ_MAX */
	size_t writing;         /* bytes taken from the queues and being written (runner_tx) */
	struct txq q[TXQ_MAX];
};

/*
 * What the queues and the writes under way may hold before the stack's TCP
 * waits (struct stack_link's tx_full): sixteen 64 KB TSO frames, a quarter
 * of a millisecond at 40 Gbit/s, so that one system call's batch is never
 * short of frames, while a pass over a thousand ACKs no longer queues every
 * window at once.
 */
#define TXQ_FULL_BYTES (1u << 20)
/* The link's tx_full hook (ctx: the struct txq_set). */
bool txq_set_full(void *ctx);

/*
 * The queue, 0 to n - 1, for an Ethernet frame the stack made: TCP and UDP
 * over IPv4 by a hash of addresses, protocol and ports (fragments: of
 * addresses and protocol alone, so a datagram's fragments stay together);
 * everything else (ARP, ICMP) on queue 0.
 */
unsigned txq_select(const uint8_t *frame, size_t len, unsigned n);
/* n queues (at least 1, at most TXQ_MAX). */
void txq_set_init(struct txq_set *set, unsigned n);
/* The link output hook (ctx: the struct txq_set): appends pkb to the queue
 * txq_select picks. Always 0. */
int txq_set_output(void *ctx, struct pkb *pkb, uint64_t now);
/* txq_send on one queue of dev (transmit_queue when dev has more than one). */
unsigned txq_send_queue(struct netdev *dev, unsigned queue, struct pkb *list, uint64_t now);
/* txq_flush of every queue, each on its own device queue. */
void txq_set_flush(struct txq_set *set, struct netdev *dev, struct stack *s, uint64_t now);
void txq_set_clear(struct txq_set *set);

#endif
