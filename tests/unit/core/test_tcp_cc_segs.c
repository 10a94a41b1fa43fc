/* cwnd grows by the segments an ACK delivered, as Linux counts packets
 * (tcp_ack: tcp_cong_control on the packets newly delivered; tcp_slow_start,
 * tcp_reno_cong_avoid, CUBIC's bictcp_cong_avoid, all through
 * tcp_cong_avoid_ai, count them), not by the bytes: a segment shorter than
 * the MSS (Nagle off, a short write, a resend cut by the peer's window)
 * counts as one, and a TSO frame as its segments of MSS bytes
 * (tcp_skb_pcount; acknowledged in part, what its count lost,
 * tcp_tso_acked). The peer announces an MSS of 1000; the flights are nine
 * full segments and one of 100 bytes (9100 bytes, one TSO frame of ten
 * segments), which fill a window of ten. Measured on the wire against Linux
 * 6.18: rawframes bulk_rto_small_resend_acked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

#define MSS 1000u

static uint8_t big[1 << 16];

/* An established connection with algo, Nagle off, the handshake's RTT
 * 100 ms, in slow start with the initial window of 10. */
static struct tcp_conn *conn(struct tscript *t, enum tcp_cc_algo algo)
{
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, (int)algo), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(ts_cwnd(t, c), 10);
	return c;
}

/* One round trip: nine full segments and a short one from seq, all
 * acknowledged 100 ms later by one ACK. Returns the next seq. */
static uint32_t round_of_ten(struct tscript *t, struct tcp_conn *c, uint32_t seq)
{
	assert_int_equal(tcp_send(c, big, 9100, t->h->now), 9100);
	ts_expect_data(t, seq, seq + 9100);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_injectf(t, ". 1:1(0) ack %u win 257", seq + 9100);
	return seq + 9100;
}

/* Slow start: the ACK of ten segments, one of them short, adds ten (Linux's
 * tcp_slow_start(tp, acked)), CUBIC and NewReno alike. pstack counted
 * 9100 bytes: 19.1 segments. */
static void test_slow_start_counts_short_segment(void **state)
{
	(void)state;
	for (int a = 0; a < 2; a++) {
		struct tscript *t = ts_new(100);
		struct tcp_conn *c = conn(t, a ? TCP_CC_NEWRENO : TCP_CC_CUBIC);

		round_of_ten(t, c, 1);
		assert_int_equal(ts_cwnd(t, c), 20);
		assert_int_equal(c->cc.cwnd, 20 * MSS);
		ts_abort(t, c);
		ts_free(t);
	}
}

/* A TSO frame acknowledged in part counts what its count lost (Linux's
 * tcp_tso_acked): 4500 of the 9100 bytes leave 4600, five segments, so
 * five were delivered (pstack's bytes: 14.5); the rest, five more. */
static void test_slow_start_tso_frame_acked_in_part(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn(t, TCP_CC_CUBIC);

	(void)state;
	assert_int_equal(tcp_send(c, big, 9100, t->h->now), 9100);
	ts_expect_data(t, 1, 9101);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 4501 win 257");
	assert_int_equal(c->cc.cwnd, 15 * MSS);
	h_drain_tx(t->h);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 9101 win 257");
	assert_int_equal(c->cc.cwnd, 20 * MSS);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* NewReno's congestion avoidance (Linux's tcp_reno_cong_avoid,
 * tcp_cong_avoid_ai(tp, cwnd, acked)): one more per window of ten
 * segments acknowledged, the short one counting; pstack's 9100 bytes were
 * short of its 10000-byte window and grew nothing. */
static void test_reno_avoidance_counts_short_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn(t, TCP_CC_NEWRENO);

	(void)state;
	/* White box: a window in congestion avoidance, as after a loss. */
	c->cc.cwnd = c->cc.ssthresh = 10 * MSS;
	round_of_ten(t, c, 1);
	assert_int_equal(ts_cwnd(t, c), 11);
	assert_int_equal(c->cc.cwnd, 11 * MSS);
	assert_int_equal(c->cc.cwnd_cnt, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* CUBIC's congestion avoidance (bictcp_cong_avoid): with no loss seen yet
 * the curve starts at the window (K 0) and stays flat for a while, cnt at
 * most 20 (5% per RTT): the first round's ten segments are credit towards
 * it. The Reno-friendly estimate grows one per 10 * 15 / 8 = 18 segments:
 * after the second round's ten it is 11, ahead of the window, and cnt
 * comes down to 10 / (11 - 10) = 10 (tcp_friendliness); the credit of the
 * first round reaches that at once (tcp_cong_avoid_ai: one), the second
 * round's ten make another: 12. pstack counted nine whole segments per
 * round (the short one's bytes carried over): 18, neither the estimate's
 * step nor cnt, and the window stayed 10. */
static void test_cubic_avoidance_counts_short_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn(t, TCP_CC_CUBIC);
	uint32_t seq = 1;

	(void)state;
	c->cc.cwnd = c->cc.ssthresh = 10 * MSS;
	seq = round_of_ten(t, c, seq);
	assert_int_equal(c->cc.cwnd, 10 * MSS);
	assert_int_equal(c->cc.cnt, 20);
	assert_int_equal(c->cc.cwnd_cnt, 10);
	round_of_ten(t, c, seq);
	assert_int_equal(c->cc.tcp_cwnd, 11);
	assert_int_equal(c->cc.cnt, 10);
	assert_int_equal(ts_cwnd(t, c), 12);
	assert_int_equal(c->cc.cwnd, 12 * MSS);
	assert_int_equal(c->cc.cwnd_cnt, 0);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_start_counts_short_segment),
		cmocka_unit_test(test_slow_start_tso_frame_acked_in_part),
		cmocka_unit_test(test_reno_avoidance_counts_short_segment),
		cmocka_unit_test(test_cubic_avoidance_counts_short_segment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
