/*
 * copy_bench: what a copy costs by how its source and destination sit
 * modulo 64, with glibc's memcpy and with the stack's stack_copy_bytes
 * (stack/core/copy.h), which copies in pieces when they are not aligned
 * alike. On AMD's Zen 3 glibc's `rep movsb` (its copies of more than
 * rep_movsb_threshold bytes) runs at a fifteenth of its speed when the
 * destination is 1 to 31 bytes past the source modulo 64; the kernel's
 * copies to and from user memory use the same instruction. Not a test:
 * it prints rates for the machine it runs on.
 *
 *   copy_bench [SIZE]     (bytes per copy, default 65536)
 *
 * One line per relative offset: offset=N memcpy=GB/s stack=GB/s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/core/copy.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* GB/s over about 0.1 s of copies of n bytes from src to dst. */
static double rate(void (*copy)(void *, const void *, size_t), char *dst, const char *src, size_t n)
{
	size_t total = 0;
	double t0 = now_s(), t;

	do {
		for (int i = 0; i < 64; i++)
			copy(dst, src, n);
		total += 64 * n;
		t = now_s() - t0;
	} while (t < 0.1);
	return (double)total / t / 1e9;
}

static void plain(void *d, const void *s, size_t n)
{
	memcpy(d, s, n);
	__asm__ volatile("" : : "r"(d) : "memory");    /* not optimized away */
}

static void pieces(void *d, const void *s, size_t n)
{
	stack_copy_bytes(d, s, n);
	__asm__ volatile("" : : "r"(d) : "memory");
}

int main(int argc, char **argv)
{
	static const int offsets[] = { 0, 8, 16, 31, 32, 40, 63 };
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
	size_t size = (n + 2 * 4096 - 1) & ~(size_t)4095;     /* a multiple of the alignment (C11) */
	char *src = aligned_alloc(4096, size), *dst = aligned_alloc(4096, size);

	if (!n || !src || !dst) {
		fprintf(stderr, "copy_bench: SIZE must be a byte count > 0 (and memory to copy it)\n");
		return 2;
	}
	memset(src, 1, size);
	memset(dst, 2, size);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		char *d = dst + offsets[i];

		printf("size=%zu offset=%d memcpy=%.1f stack=%.1f\n", n, offsets[i],
		       rate(plain, d, src, n), rate(pieces, d, src, n));
	}
	free(src);
	free(dst);
	return 0;
}
