/*
 * The cache of freed receive buffers (pkb.c, PKB_RX_CACHE): a burst of frames
 * that receive queues kept at once and gave back together is read again into
 * the same buffers, not into fresh ones from malloc (fresh memory, a page
 * fault per page: iperf3 receiving four streams kept more than 32 frames
 * between two of its reads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/pkb.h"

#define RX_BUF (65536 + 4096)   /* the runner's buffer (runner.c, RUNNER_RX_BUF) */
#define BURST 48
#define DEEP 400        /* four streams' queues held 300 to 400 frames */
#define SEC 1000000u    /* pkb.c's trim period, PKB_RX_TRIM_US */
#define KEEP 64         /* and its floor, PKB_RX_CACHE_KEEP */

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

/* Buffers nobody took for a whole period go back to malloc, down to the
 * floor; buffers in use during the period stay. */
static void test_trim_gives_back_idle_buffers(void **state)
{
	uint64_t t = 50 * SEC, next;
	long fresh;

	(void)state;
	deep_burst();
	pkb_rx_trim(t);                 /* a period starts */
	deep_burst();                   /* used during it: all of them */
	next = pkb_rx_trim(t + SEC);
	assert_true(pkb_rx_cached() >= DEEP);
	assert_int_equal(next, t + 2 * SEC);
	/* Not looked at again before the period ends. */
	assert_int_equal(pkb_rx_trim(t + SEC + SEC / 2), t + 2 * SEC);
	assert_true(pkb_rx_cached() >= DEEP);
	/* A period without a frame: down to the floor, and nothing more to do. */
	next = pkb_rx_trim(t + 2 * SEC);
	assert_int_equal(pkb_rx_cached(), KEEP);
	assert_int_equal(next, UINT64_MAX);
	/* The floor stays cached: a burst of it is not fresh. */
	fresh = pkb_rx_fresh();
	test_burst_reuses_buffers(state);
	assert_int_equal(pkb_rx_fresh() - fresh, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_reuses_buffers),
		cmocka_unit_test(test_other_size_is_fresh),
		cmocka_unit_test(test_deep_burst_reuses_buffers),
		cmocka_unit_test(test_trim_gives_back_idle_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
