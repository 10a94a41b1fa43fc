/* The timer pass on many connections (tcp_timer.c's heap): every timer runs
 * at its deadline and no earlier, a pass takes out of the heap only the
 * connections due (its cost is per due timer, not per connection open), a
 * timer pushed back costs nothing until its old key comes due and then
 * runs at the new deadline, and freed connections leave the heap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/harness.h"
#include "tests/unit/support/tcp_script.h"

#define NCONN 5000

/* The min-heap property over the whole heap, and each entry's index. */
static void check_heap(const struct tcp_table *t)
{
	for (uint32_t i = 0; i < t->tmr_n; i++) {
		assert_int_equal(t->tmr_heap[i].c->tmr_idx, i);
		assert_true(t->tmr_heap[i].key == t->tmr_heap[i].c->tmr_key);
		if (i)
			assert_true(t->tmr_heap[(i - 1) / TCP_TMR_ARITY].key <= t->tmr_heap[i].key);
	}
}

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/*
 * NCONN closed connections (no segment goes out of them) with a keep-alive
 * deadline each, in random order; keepalive_expired() turns the timer off
 * (they are not in TIME_WAIT), so each fires once. Some are pushed back, some
 * brought forward, some freed on the way.
 */
static void test_many_deadlines(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct tcp_table *t = h->s->tcp;
	static struct tcp_conn *c[NCONN];
	static uint64_t due[NCONN];
	uint64_t x = 42, t0 = h->now, runs;
	size_t live = NCONN;

	(void)state;
	for (int i = 0; i < NCONN; i++) {
		c[i] = tcp_conn_new(h->s);
		assert_non_null(c[i]);
		c[i]->orphan = true;            /* tcp_done() frees it */
		due[i] = t0 + 1000 + lcg(&x) % 10000000;
		tcp_timer_set(c[i], &c[i]->tw_at, due[i]);
	}
	check_heap(t);
	assert_int_equal(t->tmr_n, NCONN);
	/* Every 50th pushed back by 5 s (its old key stays, costs nothing),
	 * every 70th brought forward to 500 us (moves up). */
	for (int i = 0; i < NCONN; i += 50) {
		due[i] += 5000000;
		tcp_timer_set(c[i], &c[i]->tw_at, due[i]);
	}
	for (int i = 35; i < NCONN; i += 70) {
		due[i] = t0 + 500;
		tcp_timer_set(c[i], &c[i]->tw_at, due[i]);
	}
	check_heap(t);
	assert_int_equal(tcp_timers_at(h->s), t0 + 500);
	for (uint64_t now = t0 + 250000; now <= t0 + 16000000; now += 250000) {
		uint64_t next = STACK_NEVER;
		size_t expect = 0;

		runs = t->tmr_runs;
		h_advance(h, now - h->now);
		for (int i = 0; i < NCONN; i++) {
			if (!c[i])
				continue;
			if (due[i] <= now) {
				assert_int_equal(c[i]->tw_at, STACK_NEVER);
				if (due[i] > now - 250000)
					expect++;
			} else {
				assert_int_equal(c[i]->tw_at, due[i]);
				if (due[i] < next)
					next = due[i];
			}
		}
		/* Only the connections due ran (a pushed-back key only goes
		 * back in); the heap's head is at most the next deadline. */
		assert_int_equal(t->tmr_runs - runs, expect);
		assert_true(tcp_timers_at(h->s) <= next);
		check_heap(t);
		/* Free every 7th connection still open: it leaves the heap. */
		for (int i = (int)(now / 250000) % 7; i < NCONN; i += 7) {
			if (c[i] && (lcg(&x) & 3) == 0) {
				assert_true(tcp_done(c[i]));
				c[i] = NULL;
				live--;
			}
		}
		check_heap(t);
		assert_int_equal(tcp_conn_count(h->s), live);
	}
	assert_int_equal(t->tmr_n, 0);
	assert_int_equal(tcp_timers_at(h->s), STACK_NEVER);
	for (int i = 0; i < NCONN; i++)
		if (c[i])
			assert_true(tcp_done(c[i]));
	assert_int_equal(tcp_conn_count(h->s), 0);
	h_free(h);
}

/*
 * One established connection with data in flight among 2000 idle ones: its
 * tail loss probe and retransmission timeouts each take one connection out
 * of the heap, whatever the number of connections.
 */
static void test_pass_costs_per_due_timer(void **state)
{
	struct tscript *t = ts_new(1000);
	struct tcp_table *tab = t->h->s->tcp;
	static struct tcp_conn *idle[2000];
	struct tcp_conn *c;
	uint64_t runs, at;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		idle[i] = tcp_conn_new(t->h->s);
		assert_non_null(idle[i]);
		idle[i]->orphan = true;
	}
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	assert_int_equal(tab->tmr_n, 1);
	for (int k = 0; k < 3; k++) {
		runs = tab->tmr_runs;
		at = tcp_timers_at(t->h->s);
		assert_true(at > t->h->now && at != STACK_NEVER);
		/* Nothing runs before the deadline ... */
		ts_advance_us(t, at - t->h->now - 1);
		assert_int_equal(tab->tmr_runs, runs);
		ts_expect_none(t);
		/* ... and at it, one connection (the probe, then the RTOs). */
		ts_advance_us(t, 1);
		assert_int_equal(tab->tmr_runs, runs + 1);
		ts_expect(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	}
	for (int i = 0; i < 2000; i++)
		assert_true(tcp_done(idle[i]));
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_deadlines),
		cmocka_unit_test(test_pass_costs_per_due_timer),
	};
	return cmocka_run_group_tests_name("tcp_timer", tests, NULL, NULL);
}
