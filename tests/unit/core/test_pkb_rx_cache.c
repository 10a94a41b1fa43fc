/*
 * The cache of freed receive buffers (pkb.c, PKB_RX_CACHE): a burst of frames
 * that receive queues kept at once and gave back together is read again into
 * the same buffers, not into fresh ones from malloc (fresh memory, a page
 * fault per page: iperf3 receiving four streams kept more than 32 frames
 * between two of its reads). Buffers of the cached size are carved from
 * blocks of PKB_RX_SLAB bytes (the host's are huge pages), which go back
 * whole only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/pkb.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#define RX_BUF (65536 + 4096)   /* the runner's buffer (runner.c, RUNNER_RX_BUF) */
#define BURST 48
#define DEEP 400        /* four streams' queues held 300 to 400 frames */
#define SEC 1000000u    /* pkb.c's trim period, PKB_RX_TRIM_US */
#define KEEP 64         /* and its floor, PKB_RX_CACHE_KEEP */
#define PER_SLAB ((PKB_RX_SLAB - 64) / (64 + RX_BUF))  /* buffers a block holds: 30 */

/* The blocks the tests' allocator handed out and took back. */
static long slab_allocs, slab_frees;

static void *test_slab_alloc(size_t size)
{
	void *p = aligned_alloc(size, size);

	assert_int_equal(size, PKB_RX_SLAB);
	slab_allocs += p != NULL;
	return p;
}

static void test_slab_release(void *p, size_t size)
{
	assert_int_equal(size, PKB_RX_SLAB);
	assert_int_equal((uintptr_t)p % PKB_RX_SLAB, 0);
	slab_frees++;
	free(p);
}

/* DEEP buffers kept at once, then given back together. */
static void deep_burst(void)
{
	struct pkb_rx *b[DEEP];

	for (int i = 0; i < DEEP; i++) {
		b[i] = pkb_rx_alloc(RX_BUF);
		assert_non_null(b[i]);
	}
	for (int i = 0; i < DEEP; i++)
		pkb_rx_put(b[i]);
}

static void test_burst_reuses_buffers(void **state)
{
	struct pkb_rx *b[BURST];
	long live = pkb_live(), fresh;

	(void)state;
	for (int i = 0; i < BURST; i++) {
		b[i] = pkb_rx_alloc(RX_BUF);
		assert_non_null(b[i]);
		pkb_rx_hold(b[i]);      /* a queue keeps it */
		pkb_rx_put(b[i]);       /* the reader lets go */
	}
	assert_int_equal(pkb_live(), live + BURST);
	for (int i = 0; i < BURST; i++)
		pkb_rx_put(b[i]);       /* the program read them all */
	assert_int_equal(pkb_live(), live);
	fresh = pkb_rx_fresh();
	for (int i = 0; i < BURST; i++) {
		b[i] = pkb_rx_alloc(RX_BUF);
		assert_non_null(b[i]);
		memset(b[i]->data, 0xa5, RX_BUF);
	}
	assert_int_equal(pkb_rx_fresh() - fresh, 0);
	for (int i = 0; i < BURST; i++)
		pkb_rx_put(b[i]);
	assert_int_equal(pkb_live(), live);
}

/* Another size than the cached one is always fresh (and never cached). */
static void test_other_size_is_fresh(void **state)
{
	long fresh = pkb_rx_fresh(), live = pkb_live();
	struct pkb_rx *b;

	(void)state;
	b = pkb_rx_alloc(RX_BUF);
	pkb_rx_put(b);
	fresh = pkb_rx_fresh();
	b = pkb_rx_alloc(2000);
	assert_non_null(b);
	assert_int_equal(pkb_rx_fresh() - fresh, 1);
	pkb_rx_put(b);
	assert_int_equal(pkb_live(), live);
}

/* A burst deeper than the old fixed 64 is read again into the same buffers. */
static void test_deep_burst_reuses_buffers(void **state)
{
	long fresh;

	(void)state;
	deep_burst();
	fresh = pkb_rx_fresh();
	deep_burst();
	assert_int_equal(pkb_rx_fresh() - fresh, 0);
	assert_true(pkb_rx_cached() >= DEEP);
}

/* Buffers nobody took for a whole period go back, a whole block at a
 * time, down to the floor (a block's worth above it at most); buffers in
 * use during the period stay. */
static void test_trim_gives_back_idle_buffers(void **state)
{
	uint64_t t = 50 * SEC, next;
	long fresh, slabs;

	(void)state;
	deep_burst();
	pkb_rx_trim(t);                 /* a period starts */
	deep_burst();                   /* used during it: all of them */
	slabs = pkb_rx_slabs();
	next = pkb_rx_trim(t + SEC);
	assert_true(pkb_rx_cached() >= DEEP);
	assert_int_equal(pkb_rx_slabs(), slabs);
	assert_int_equal(next, t + 2 * SEC);
	/* Not looked at again before the period ends. */
	assert_int_equal(pkb_rx_trim(t + SEC + SEC / 2), t + 2 * SEC);
	assert_true(pkb_rx_cached() >= DEEP);
	/* A period without a frame: down to the floor, and nothing more to do. */
	next = pkb_rx_trim(t + 2 * SEC);
	assert_true(pkb_rx_cached() >= KEEP);
	assert_true(pkb_rx_cached() < KEEP + PER_SLAB);
	assert_true(pkb_rx_slabs() < slabs);
	assert_int_equal(next, UINT64_MAX);
	/* The floor stays cached: a burst of it is not fresh. */
	fresh = pkb_rx_fresh();
	test_burst_reuses_buffers(state);
	assert_int_equal(pkb_rx_fresh() - fresh, 0);
}

/* Fresh buffers of the cached size come PER_SLAB to a block from the
 * host's allocator, each inside its block; a block goes back once every
 * buffer of it is idle, never while one is held. */
static void test_buffers_come_from_blocks(void **state)
{
	enum { N = 3 * PER_SLAB };
	struct pkb_rx *b[N], *held[KEEP + PER_SLAB];
	long allocs, frees, nheld = 0, live = pkb_live();
	uint64_t t = 100 * SEC;

	(void)state;
	/* What the cache holds, taken, so that what follows is fresh. */
	while (pkb_rx_cached() > 0) {
		assert_true(nheld < KEEP + PER_SLAB);
		held[nheld] = pkb_rx_alloc(RX_BUF);
		assert_non_null(held[nheld]);
		nheld++;
	}
	allocs = slab_allocs;
	frees = slab_frees;
	for (int i = 0; i < N; i++) {
		b[i] = pkb_rx_alloc(RX_BUF);
		assert_non_null(b[i]);
		assert_non_null(b[i]->slab);
		assert_true((uint8_t *)b[i] > (uint8_t *)b[i]->slab);
		assert_true((uint8_t *)b[i]->data + RX_BUF <= (uint8_t *)b[i]->slab + PKB_RX_SLAB);
		memset(b[i]->data, 0x5a, RX_BUF);
	}
	/* The block being carved had room for some (fewer than a block). */
	assert_int_equal(slab_allocs - allocs, 3);
	/* All given back but one and idle for a whole period: the blocks
	 * with none held go, the held one's stays (and its bytes with it). */
	while (nheld)
		pkb_rx_put(held[--nheld]);
	for (int i = 0; i < N - 1; i++)
		pkb_rx_put(b[i]);
	pkb_rx_trim(t);
	pkb_rx_trim(t + SEC);
	pkb_rx_trim(t + 2 * SEC);
	assert_true(slab_frees - frees >= 2);
	assert_true(pkb_rx_cached() >= KEEP);
	assert_int_equal(b[N - 1]->data[RX_BUF - 1], 0x5a);
	pkb_rx_put(b[N - 1]);
	assert_int_equal(pkb_live(), live);
}

/* A buffer that finds the cache full goes back to its block for good (the
 * block goes once all its buffers are back): under AddressSanitizer it is
 * poisoned there, so that a use after pkb_rx_put is reported as a use after
 * free() would be. */
static void test_buffer_back_in_its_block_is_poisoned(void **state)
{
	enum { CACHE = 1024 };          /* pkb.c's PKB_RX_CACHE */
	struct pkb_rx **b = calloc(CACHE + 1, sizeof(*b)), *held[KEEP + PER_SLAB + CACHE];
	long nheld = 0, live = pkb_live();

	(void)state;
	assert_non_null(b);
	while (pkb_rx_cached() > 0) {
		assert_true(nheld < (long)(sizeof(held) / sizeof(held[0])));
		held[nheld] = pkb_rx_alloc(RX_BUF);
		assert_non_null(held[nheld]);
		nheld++;
	}
	for (int i = 0; i <= CACHE; i++) {
		b[i] = pkb_rx_alloc(RX_BUF);
		assert_non_null(b[i]);
		assert_non_null(b[i]->slab);
	}
	for (int i = 0; i <= CACHE; i++)
		pkb_rx_put(b[i]);
	/* The cache took the first CACHE; the last went back to its block,
	 * which others of it in the cache keep. */
	assert_int_equal(pkb_rx_cached(), CACHE);
#if defined(__SANITIZE_ADDRESS__)
	assert_true(__asan_address_is_poisoned(b[CACHE]->data));
	assert_false(__asan_address_is_poisoned(b[CACHE - 1]->data));
#endif
	while (nheld)
		pkb_rx_put(held[--nheld]);
	free(b);
	assert_int_equal(pkb_live(), live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_reuses_buffers),
		cmocka_unit_test(test_other_size_is_fresh),
		cmocka_unit_test(test_deep_burst_reuses_buffers),
		cmocka_unit_test(test_trim_gives_back_idle_buffers),
		cmocka_unit_test(test_buffers_come_from_blocks),
		cmocka_unit_test(test_buffer_back_in_its_block_is_poisoned),
	};

	pkb_rx_slab_ops(test_slab_alloc, test_slab_release);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
