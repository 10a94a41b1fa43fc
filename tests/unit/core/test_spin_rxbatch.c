/* ACKs in a batch of frames (stack_rx_batch_begin/end: frames read in one
 * go by the runner or a thread that drives the device). The "every second
 * full segment" ACK of RFC 5681 §4.2 goes at once, as Linux's
 * __tcp_ack_snd_check sends it from the softirq; only for a connection the
 * program read from while the batch's frames waited (Linux's socket
 * backlog, whose ACKs tcp_backlog_ack_defer sends as one) does it wait for
 * the timer pass right after the batch: one ACK for the batch. */
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

static void inject_four(struct tscript *t, unsigned from)
{
	for (unsigned i = 0; i < 4; i++)
		ts_injectf(t, ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>", from + i * 1448,
			   from + (i + 1) * 1448);
}

/* Nobody read while the frames waited: four full segments in one batch get
 * two ACKs, each at once (8 MiB through a 5 ms path with plain frames: the
 * kernel sent 1800 to 2150 ACKs; pstack, one per batch, about 100). */
static void test_batch_acks_every_second_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);
	stack_rx_batch_begin(t->h->s, stack_reads(t->h->s));
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2897 win * <nop,nop,TS val 0 ecr 110>");
	ts_inject(t, ". 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 4345:5793(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 5793 win * <nop,nop,TS val 0 ecr 111>");
	stack_rx_batch_end(t->h->s);
	stack_poll(t->h->s, t->h->now);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* The program read from the connection after the batch's frames began to
 * wait (the reads count the caller took then is behind): their ACKs go as
 * one, in the timer pass right after the batch. */
static void test_batch_after_read_gets_one_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char buf[4096];
	uint64_t reads;

	(void)state;
	ts_past_quickack(c);
	inject_four(t, 1);
	ts_expect(t, ". 1:1(0) ack 2897 win * <nop,nop,TS val 0 ecr 110>");
	ts_expect(t, ". 1:1(0) ack 5793 win * <nop,nop,TS val 0 ecr 110>");
	reads = stack_reads(t->h->s);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), (long)sizeof(buf));
	while (ts_next(t, buf, sizeof(buf)))
		;           /* whatever the read sent (a window update) */
	assert_true(stack_reads(t->h->s) > reads);
	stack_rx_batch_begin(t->h->s, reads);
	inject_four(t, 5793);
	ts_expect_none(t);
	stack_rx_batch_end(t->h->s);
	/* The batch's end: the caller's timer pass, with no time gone by. */
	assert_true(stack_poll_at(t->h->s) <= t->h->now);
	stack_poll(t->h->s, t->h->now);
	/* RFC 7323 §4.3: the echo is of the oldest segment not yet acknowledged. */
	ts_expect(t, ". 1:1(0) ack 11585 win * <nop,nop,TS val 0 ecr 110>");
	ts_expect_none(t);
	/* The next batch, with no read while its frames waited: at once again. */
	stack_rx_batch_begin(t->h->s, stack_reads(t->h->s));
	inject_four(t, 11585);
	ts_expect(t, ". 1:1(0) ack 14481 win * <nop,nop,TS val 0 ecr 110>");
	ts_expect(t, ". 1:1(0) ack 17377 win * <nop,nop,TS val 0 ecr 110>");
	stack_rx_batch_end(t->h->s);
	ts_abort(t, c);
	ts_free(t);
}

/* In a batch, out-of-order data is still acknowledged at once (RFC 5681 §4.2). */
static void test_batch_keeps_immediate_dup_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	stack_rx_batch_begin(t->h->s, 0);
	ts_inject(t, ". 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 2897:4345>");
	stack_rx_batch_end(t->h->s);
	ts_abort(t, c);
	ts_free(t);
}

/* Without a batch (stack_input's callers, every other test): at once. */
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
		cmocka_unit_test(test_batch_acks_every_second_segment),
		cmocka_unit_test(test_batch_after_read_gets_one_ack),
		cmocka_unit_test(test_batch_keeps_immediate_dup_ack),
		cmocka_unit_test(test_no_batch_acks_every_second_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
