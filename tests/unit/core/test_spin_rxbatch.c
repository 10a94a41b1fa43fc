/* One ACK per batch: frames read in one go by the runner (or a
 * busy-polling thread) form a batch (stack_rx_batch_begin/end); the "every second full segment" ACK
 * of RFC 5681 §4.2 then waits for the timer pass the caller runs right after
 * the batch, so a batch of large frames costs one ACK, not one per frame.
 * Outside a batch (and for every other reason to ACK at once) nothing changes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static void test_batch_of_segments_gets_one_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	stack_rx_batch_begin(t->h->s);
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_inject(t, ". 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_inject(t, ". 4345:5793(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect_none(t);
	stack_rx_batch_end(t->h->s);
	/* The batch's end: the caller's timer pass, with no time gone by. */
	assert_true(stack_poll_at(t->h->s) <= t->h->now);
	stack_poll(t->h->s, t->h->now);
	/* RFC 7323 §4.3: the echo is of the oldest segment not yet acknowledged. */
	ts_expect(t, ". 1:1(0) ack 5793 win * <nop,nop,TS val 0 ecr 110>");
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 5792);
	ts_abort(t, c);
	ts_free(t);
}

/* In a batch, out-of-order data is still acknowledged at once (RFC 5681 §4.2). */
static void test_batch_keeps_immediate_dup_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	stack_rx_batch_begin(t->h->s);
	ts_inject(t, ". 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 2897:4345>");
	stack_rx_batch_end(t->h->s);
	ts_abort(t, c);
	ts_free(t);
}

/* Without a batch (stack_input's callers, every other test): at once, as before. */
static void test_no_batch_acks_every_second_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	assert_false(t->h->s->rx_batch);
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2897 win * <nop,nop,TS val 0 ecr 110>");
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_of_segments_gets_one_ack),
		cmocka_unit_test(test_batch_keeps_immediate_dup_ack),
		cmocka_unit_test(test_no_batch_acks_every_second_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
