/*
 * What the fuzz targets share (tests/fuzz/fuzz_*.c, one binary each): the
 * link's two MACs, an output that reads every frame in full (so that the
 * sanitizers see a bad length) and frees it, a no-op wake-up, and the
 * count of this process's open fds (a target's leak check).
 */
#ifndef PSTACK_FUZZ_COMMON_H
#define PSTACK_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include "stack/core/pkb.h"

static const uint8_t fuzz_peer_mac[6] __attribute__((unused)) = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const uint8_t fuzz_stack_mac[6] __attribute__((unused)) = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

static volatile uint8_t fuzz_sink;

/* Reads the frame in full and frees it. */
static inline void fuzz_consume(struct pkb *pkb)
{
	uint8_t x = 0;

	for (size_t i = 0; i < pkb->len; i++)
		x ^= pkb->data[i];
	fuzz_sink = x;
	pkb_free(pkb);
}

/* A link output for targets that look at nothing sent. */
static inline int fuzz_output_drop(void *ctx, struct pkb *pkb, uint64_t now)
{
	(void)ctx;
	(void)now;
	fuzz_consume(pkb);
	return 0;
}

static inline void fuzz_nothing(void *ctx)
{
	(void)ctx;
}

static inline unsigned fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

#endif
