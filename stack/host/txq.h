/*
 * The host's transmit queue: the stack's link output hook (struct
 * stack_link's output) queues every finished frame, in order, and whichever
 * thread made them writes them to the device once it has let go of the
 * stack's lock (runner.c, runner_tx). A TAP write runs the peer kernel's
 * whole receive path inside the system call (its TCP input, often its ACK
 * back into the TAP); under the lock, that held every other thread off the
 * stack.
 */
#ifndef PSTACK_HOST_TXQ_H
#define PSTACK_HOST_TXQ_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/core/stack.h"
#include "stack/dev/netdev.h"

struct txq {
	struct pkb *head;
	struct pkb **tail;
	size_t len;
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

#endif
