/* CUBIC's congestion avoidance and the window after a timeout, against
 * the packetdrill scripts Google publishes for Linux's TCP
 * (google/packetdrill, gtests/net/tcp: cubic/). test_gp_cc.c covers the
 * scripts' slow start (HyStart); these go on from there: the window
 * Linux's tcp_cubic.c grows in integer arithmetic, no credit for idle
 * time, ssthresh from cwnd on a timeout. Each test names the script it
 * follows. As there, the peer announces an MSS of 1000; the harness clock
 * moves exactly as the script's does, since CUBIC's windows depend on the
 * time between ACKs. */
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
#include "tests/unit/support/tcp_script.h"

#define INFINITE_SSTHRESH 0x7fffffffu

static uint8_t big[1 << 20];

static uint32_t ssthresh_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_ssthresh;
}

/* The bulk scripts' peer: an ACK of two segments every 100 ms, each after
 * the sends the last one let out (the harness takes them). */
static void ack_two_every_100ms(struct tscript *t, unsigned ack)
{
	ts_advance_ms(t, 100);
	ts_injectf(t, ". 1:1(0) ack %u win 4112", ack);
	h_drain_tx(t->h);
}

/* The bulk scripts' slow start (test_gp_cc.c checks it step by step):
 * HyStart's delay test ends it at 48 on the twentieth ACK (40001), which
 * starts CUBIC's first epoch. */
static void bulk_slow_start(struct tscript *t, struct tcp_conn *c)
{
	unsigned ack;

	for (ack = 2001; ack <= 40001; ack += 2000)
		ack_two_every_100ms(t, ack);
	assert_int_equal(ssthresh_of(t, c), 48);
	assert_int_equal(ts_cwnd(t, c), 48);
}

/* cubic/cubic-bulk-166k.pkt: the congestion avoidance after HyStart's exit
 * at 48, no loss ever (so no W_max: Linux grows at least 5% per RTT, cnt
 * at most 20), one ACK of two segments per 100 ms (the minimum RTT, 100 ms,
 * added to the curve's time). cwnd after each ten ACKs: 49, 50, 52, 58 as
 * the curve (origin 48, K 0) takes off; then one per ACK (the cap of one
 * segment per two acknowledged) to the end of the 400 KB. */
static void test_cubic_bulk_congestion_avoidance(void **state)
{
	static const unsigned after_ten[] = { 49, 50, 52, 58 };
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 4112, true);
	unsigned ack = 40001, cwnd, i, j;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(tcp_send(c, big, 400000, t->h->now), 400000);
	bulk_slow_start(t, c);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 10; j++) {
			ack += 2000;
			ack_two_every_100ms(t, ack);
			if (getenv("TS_VERBOSE"))
				printf("  ack %u cwnd %u\n", ack, ts_cwnd(t, c));
		}
		assert_int_equal(ts_cwnd(t, c), after_ten[i]);
	}
	cwnd = 58;
	while (ack < 400001) {
		ack += 2000;
		ack_two_every_100ms(t, ack);
		cwnd++;
		assert_int_equal(ts_cwnd(t, c), cwnd);
	}
	assert_int_equal(cwnd, 198);
	assert_int_equal(ssthresh_of(t, c), 48);
	ts_abort(t, c);
	ts_free(t);
}

/* cubic/cubic-bulk-166k-idle-restart.pkt (packetdrill's
 * tcp_slow_start_after_idle 0: no restart): the same slow start to 48,
 * four seconds idle, then 160 KB more: the idle time is no credit to
 * CUBIC (its epoch moves on by the time idle, Linux's CA_EVENT_TX_START;
 * four seconds on the curve would be some 25 segments more), so cwnd
 * after each ten ACKs is the script's 52 and 58 from the thirtieth on.
 * Before, Linux's run lags one segment (48, 49), ours grows as without
 * the idle time (49, 50): the script's flow is paced by the fq qdisc it
 * installs, pstack paces nothing; not explained further. */
static void test_cubic_bulk_idle_restart_no_credit(void **state)
{
	static const unsigned after_ten[] = { 48, 49, 52, 58 }, slack[] = { 1, 1, 0, 0 };
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	unsigned ack = 40001, i, j;

	(void)state;
	t->h->s->cfg.tcp_slow_start_after_idle = 0;
	c = ts_accept_mss1000(t, 100, 4112, true);
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 2000000), 0);
	assert_int_equal(tcp_send(c, big, 40000, t->h->now), 40000);
	for (ack = 2001; ack <= 38001; ack += 2000)
		ack_two_every_100ms(t, ack);
	assert_int_equal(ts_cwnd(t, c), 48);
	ack_two_every_100ms(t, 40001);
	ts_advance_ms(t, 4000);
	assert_int_equal(tcp_send(c, big, 160000, t->h->now), 160000);
	h_drain_tx(t->h);
	ack = 40001;
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 10; j++) {
			ack += 2000;
			ack_two_every_100ms(t, ack);
		}
		assert_in_range(ts_cwnd(t, c), after_ten[i], after_ten[i] + slack[i]);
	}
	ts_abort(t, c);
	ts_free(t);
}

/* cubic/cubic-rto-ss-ca-cwnd-bump.pkt: one segment in flight with cwnd 10
 * (the sender application-limited), lost twice: the tail loss probe, then
 * the timeout. ssthresh comes from cwnd, 10 * 717 / 1024 = 7 (Linux's
 * cubictcp_recalc_ssthresh; RFC 5681's half the flight would give the
 * floor of 2), and the timeout makes CUBIC forget W_max. The ACK of the
 * retransmission: cwnd 2. Slow start to 7 on the next five ACKs; then
 * congestion avoidance with no W_max: cnt at most 20, the peer ACKing
 * each segment: still 7 eight ACKs later, 8 after fifteen. */
static void test_cubic_rto_ssthresh_from_cwnd_then_slow_bump(void **state)
{
	/* time before each ACK of the bulk write, in ms (the script's) */
	static const unsigned gap_ms[] = {
		100, 2, 98, 2, 2,                   /* slow start: 3001 .. 7001 */
		2, 98, 2, 2, 2, 2, 2, 2, 98,        /* 8001 .. 16001 */
		2, 2, 2, 2, 2, 2, 98,               /* 17001 .. 23001 */
	};
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);
	unsigned i, ack = 2001;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect_data(t, 1, 1001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	assert_int_equal(ts_cwnd(t, c), 10);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect_data(t, 1001, 2001);
	/* the probe and the timeout resend it */
	for (i = 0; i < 610; i++) {
		ts_advance_ms(t, 1);
		h_drain_tx(t->h);
	}
	assert_int_equal(ssthresh_of(t, c), 7);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 2001 win 257");
	assert_int_equal(ts_cwnd(t, c), 2);
	assert_int_equal(ssthresh_of(t, c), 7);
	assert_int_equal(tcp_send(c, big, 200000, t->h->now), 200000);
	h_drain_tx(t->h);
	for (i = 0; i < sizeof(gap_ms) / sizeof(gap_ms[0]); i++) {
		ts_advance_ms(t, gap_ms[i]);
		ack += 1000;
		ts_injectf(t, ". 1:1(0) ack %u win 257", ack);
		h_drain_tx(t->h);
		if (getenv("TS_VERBOSE"))
			printf("  ack %u cwnd %u\n", ack, ts_cwnd(t, c));
		if (ack <= 7001)
			assert_int_equal(ts_cwnd(t, c), 2 + (ack - 2001) / 1000);
		else if (ack <= 16001)
			assert_int_equal(ts_cwnd(t, c), 7);
	}
	assert_int_equal(ts_cwnd(t, c), 8);
	assert_int_equal(ssthresh_of(t, c), 7);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cubic_bulk_congestion_avoidance),
		cmocka_unit_test(test_cubic_bulk_idle_restart_no_credit),
		cmocka_unit_test(test_cubic_rto_ssthresh_from_cwnd_then_slow_bump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
