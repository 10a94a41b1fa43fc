/*
 * A seeded fault-injecting link between the stack and its device (smoltcp's
 * FaultInjector): loss, duplication, reordering, corruption and delay, in both
 * directions. Deterministic for a given seed and sequence of calls.
 */
#ifndef PSTACK_FAULT_H
#define PSTACK_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/stack.h"

int fault_init(struct stack *s);     /* only when s->cfg.faults.enabled */
void fault_fini(struct stack *s);
/* Frames the fault link lets through, now or later, go on with
 * stack_deliver() (in) or the device's transmit (out). */
void fault_input(struct stack *s, const uint8_t *frame, size_t len, uint64_t now);
int fault_output(struct stack *s, const uint8_t *frame, size_t len, uint64_t now);
void fault_poll(struct stack *s, uint64_t now);
uint64_t fault_poll_at(const struct stack *s);

/* What the link did, per direction (indexed by enum frame_dir). */
struct fault_stats {
	uint64_t seen[2];        /* frames offered */
	uint64_t passed[2];      /* frames handed on (duplicates count twice) */
	uint64_t lost[2];
	uint64_t duplicated[2];
	uint64_t reordered[2];   /* frames held back to go after their successor */
	uint64_t corrupted[2];
	uint64_t delayed[2];     /* frames that waited in the delay queue */
	uint64_t overflow[2];    /* frames dropped because the queue was full */
};
/* NULL when the stack has no fault link. */
const struct fault_stats *fault_get_stats(const struct stack *s);

#endif
