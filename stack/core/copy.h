#ifndef PSTACK_CORE_COPY_H
#define PSTACK_CORE_COPY_H

/*
 * The data path's copy of payload bytes (send and receive rings, frames,
 * the socket calls' user buffers).
 *
 * glibc copies a block of more than a few KiB with `rep movsb` (its
 * rep_movsb_threshold: 2112 bytes on the AMD EPYC this was measured on,
 * 2048 x vector size / 16 elsewhere). On AMD's Zen 3 that instruction runs
 * at a fifteenth of its speed when the destination is 1 to 31 bytes past
 * the source modulo 64: 2.9 GB/s against 40-50 GB/s for a 64 KiB copy
 * (tests/bench/copy_bench.c measures it). A ring's positions move by
 * write and segment sizes, so about half of its copies land that way, by
 * chance: in one profile of iperf3 sending, a third of the process's time
 * went to that one copy. Below the threshold glibc uses its
 * vector loop, which does not care; so a copy whose source and destination
 * are not aligned alike goes in pieces under it. The pieces cost nothing
 * measurable where `rep movsb` has no such case.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define STACK_COPY_PIECE 1024

static inline void stack_copy_bytes(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n <= STACK_COPY_PIECE || (((uintptr_t)d - (uintptr_t)s) & 63) == 0) {
		memcpy(d, s, n);
		return;
	}
	while (n) {
		size_t k = n < STACK_COPY_PIECE ? n : STACK_COPY_PIECE;

		/* The size hidden from the compiler, which would make a
		 * constant 1 KiB copy an inline `rep movsq` (the same trouble). */
		__asm__("" : "+r"(k));
		memcpy(d, s, k);
		d += k;
		s += k;
		n -= k;
	}
}

#endif
