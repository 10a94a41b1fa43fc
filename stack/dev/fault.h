/*
 * The fault-injecting link (smoltcp's FaultInjector): a device wrapper that
 * loses, duplicates, reorders, corrupts and delays frames in both directions.
 * Deterministic for a given seed and sequence of frames.
 */
#ifndef PSTACK_FAULT_H
#define PSTACK_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/dev/netdev.h"

/* PSTACK_FAULTS (stack/host/config.c parses it). */
struct fault_config {
	uint32_t loss_ppm;      /* each direction: parts per million */
	uint32_t dup_ppm;
	uint32_t reorder_ppm;
	uint32_t corrupt_ppm;
	uint32_t delay_us;      /* added to every frame, each direction */
	uint64_t seed;
	int enabled;
};

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

/*
 * Wraps lower (which it then owns, as every wrapper: netdev_destroy frees the
 * chain). Frames on their way in lose their receive flags, and the link
 * offers no TSO. NULL when out of memory (lower untouched).
 */
struct netdev *fault_dev_new(struct netdev *lower, const struct fault_config *cfg);
/* A copy of the counters of the fault link in chain; false when it has none. */
bool fault_get_stats(const struct netdev *chain, struct fault_stats *out);

#endif
