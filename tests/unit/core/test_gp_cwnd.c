/* cwnd while the sender does not fill it, against the packetdrill scripts
 * Google publishes for Linux's TCP (google/packetdrill, gtests/net/tcp:
 * cwnd_moderation/), and Linux's moderation of an application-limited
 * window (tcp_cwnd_application_limited, RFC 2861's slow part): after an
 * RTO's worth of time with the window not in use, cwnd comes down halfway
 * to the most that was used, ssthresh keeps 3/4 of the old cwnd. Each test
 * names what it follows. As in the scripts, the peer announces an MSS of
 * 1000, so that windows count in segments of 1000 bytes. */
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
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t big[1 << 20];

static uint32_t ssthresh_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_ssthresh;
}

/* ---- cwnd_moderation/ ---- */

/* cwnd_moderation/cwnd-moderation-ecn-enter-cwr-no-moderation-700.pkt:
 * the peer asks for ECN on its SYN, which pstack agrees to by default (as
 * Linux's tcp_ecn 2); four segments out with cwnd 10; the ACK of the first
 * echoes congestion (ECE). The CWR state: ssthresh 10 * 717/1024 = 7
 * (CUBIC), and PRR lets that ACK's delivery count: three in flight, seven
 * allowed, so the slow start bound gives what it delivered (one) plus one
 * as SND.UNA advanced without a new loss: cwnd 3 + 2 = 5 (Linux's
 * tcp_cwnd_reduction since 7e901ee7b6ab). No moderation of cwnd to the
 * flight plus a burst, which Linux once had. */
static void test_ecn_echo_enters_cwr_with_prr_cwnd(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;
	int err;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_inject(t, "SEW 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, "SE. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	assert_true(c->ecn_ok);

	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	ts_expect_data(t, 1, 4001);
	ts_expect_none(t);
	ts_advance_ms(t, 5);
	assert_int_equal(ts_cwnd(t, c), 10);
	ts_advance_ms(t, 95);
	ts_inject(t, "E. 1:1(0) ack 1001 win 320");
	ts_advance_ms(t, 5);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_CWR);
	assert_int_equal(i.snd_ssthresh, 7);
	assert_int_equal(i.snd_cwnd, 5);
	ts_abort(t, c);
	ts_free(t);
}


/* ---- RFC 2861's slow part, Linux's tcp_cwnd_application_limited ---- */

#define MSS 1000u
#define INFINITE_SSTHRESH 0x7fffffffu

/* A connection after one full window acknowledged: cwnd 20 (slow start
 * from the initial 10), ssthresh infinite, the peer's window win (scaled
 * by 128). The ACK validated cwnd; the RTO is 300 ms (the 100 ms RTT of
 * the handshake), the tail loss probe 202 ms after a send. */
static struct tcp_conn *grown_to_20(struct tscript *t, unsigned win)
{
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_injectf(t, ". 1:1(0) ack 10001 win %u", win);
	assert_int_equal(ts_cwnd(t, c), 20);
	assert_int_equal(c->rto, 300000);
	return c;
}

/* A sender that keeps data in flight but gets no ACK for longer than an
 * RTO (the probe went 202 ms in, the timeout is not due before 502 ms)
 * and sends more then: the window was not in use all that time, Linux's
 * tcp_cwnd_validate moderates it. At 250 ms, less than an RTO: nothing;
 * at 320 ms: cwnd (20 + the initial 10, more than the 4 used) / 2 = 15,
 * ssthresh at least 3/4 of 20 (infinite here, so kept). */
static void test_window_unused_for_rto_moderated(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = grown_to_20(t, 257);

	(void)state;
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	ts_expect_data(t, 10001, 12001);
	ts_advance_ms(t, 203);
	ts_expect_data(t, 11001, 12001);        /* the tail loss probe */
	ts_advance_ms(t, 47);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect_data(t, 12001, 13001);
	assert_int_equal(ts_cwnd(t, c), 20);
	ts_advance_ms(t, 70);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect_data(t, 13001, 14001);
	assert_int_equal(ts_cwnd(t, c), 15);
	assert_int_equal(ssthresh_of(t, c), INFINITE_SSTHRESH);
	assert_int_equal(c->ca_state, TCP_CA_OPEN);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* The ACKs of a sender that uses little of its window keep it: Linux's
 * tcp_cong_avoid validates cwnd on every ACK of new data outside a
 * reduction, grown or not. Two segments every 200 ms, each pair ACKed
 * 100 ms later, for three seconds (ten RTOs): cwnd stays 20. Neither
 * does it grow (tcp_is_cwnd_limited: 20 is not below twice the 2 used). */
static void test_acks_keep_app_limited_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = grown_to_20(t, 257);
	unsigned seq = 10001;

	(void)state;
	for (int i = 0; i < 15; i++) {
		ts_advance_ms(t, 100);
		assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
		ts_expect_data(t, seq, seq + 2000);
		seq += 2000;
		ts_advance_ms(t, 100);
		ts_injectf(t, ". 1:1(0) ack %u win 257", seq);
		assert_int_equal(ts_cwnd(t, c), 20);
	}
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* The peer's window (3072 bytes) lets 3 segments out of a send buffer of
 * 4608 bytes, then no ACK for 320 ms (an RTO and more; the probe at 202 ms
 * sends the 72 bytes the window has left), then a window update lets the
 * rest go. Not in use for an RTO:
 * moderated, cwnd 15, unless the program found the buffer full (its write
 * came back short: Linux's SOCK_NOSPACE), as then the send buffer, not
 * the application, held the sender back; cwnd stays 20. */
static void receiver_limited_then_update(bool buffer_full, unsigned cwnd_after)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = grown_to_20(t, 24);        /* 3072 bytes */
	long n;

	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 2304), 0);
	n = tcp_send(c, big, buffer_full ? 10000 : 4608, t->h->now);
	assert_int_equal(n, 4608);
	assert_int_equal(c->nospace, buffer_full);
	ts_expect_data(t, 10001, 13001);
	ts_expect_none(t);
	ts_advance_ms(t, 203);
	ts_expect_data(t, 13001, 13073);        /* the tail loss probe: what the window has left */
	ts_advance_ms(t, 117);
	ts_inject(t, ". 1:1(0) ack 10001 win 64");
	ts_expect_data(t, 13073, 14609);
	assert_int_equal(ts_cwnd(t, c), cwnd_after);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

static void test_receiver_limited_window_moderated(void **state)
{
	(void)state;
	receiver_limited_then_update(false, 15);
}

static void test_full_send_buffer_not_moderated(void **state)
{
	(void)state;
	receiver_limited_then_update(true, 20);
}

/* The rule itself (tcp_cc): cwnd 20 with ssthresh 8, two segments
 * outstanding, not in use for an RTO: cwnd (20 + 10) / 2 = 15 and
 * ssthresh raised to 3/4 of 20, 15, so that slow start climbs back to the
 * old window; another RTO on: (15 + 10) / 2 = 12, ssthresh kept at 15.
 * An ssthresh above 3/4 of cwnd stays. Nothing when the sender may not be
 * moderated (not Open, buffer full), but the time starts over: the next
 * RTO is counted from then. Nothing below the initial window either. */
static void test_cc_moderation_rule(void **state)
{
	struct tcp_cc cc;
	uint64_t now = 1000000;
	const uint32_t rto = 300000;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	cc.cwnd = 20 * MSS;
	cc.ssthresh = 8 * MSS;
	tcp_cc_validated(&cc, now);
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 20 * MSS);
	now += rto - 1;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 20 * MSS);
	now += 1;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 15 * MSS);
	assert_int_equal(cc.ssthresh, 15 * MSS);
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 12 * MSS);
	assert_int_equal(cc.ssthresh, 15 * MSS);
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 11 * MSS);
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 10 * MSS);
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 10 * MSS);

	/* ssthresh above 3/4 of cwnd: kept */
	cc.cwnd = 20 * MSS;
	cc.ssthresh = 18 * MSS;
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 15 * MSS);
	assert_int_equal(cc.ssthresh, 18 * MSS);

	/* not to be moderated: nothing, and the RTO counts from now */
	cc.cwnd = 20 * MSS;
	now += rto;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, false);
	assert_int_equal(cc.cwnd, 20 * MSS);
	now += rto - 1;
	tcp_cc_on_sent(&cc, false, 2 * MSS, 0, 2 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 20 * MSS);

	/* a round that used the window validates it */
	now += rto;
	tcp_cc_on_sent(&cc, true, 20 * MSS, 0, 20 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 20 * MSS);
	/* the most used since counts: 16 of 20 (the initial window is less) */
	now += rto - 1;
	tcp_cc_on_sent(&cc, false, 16 * MSS, 20 * MSS, 36 * MSS, now, rto, true);
	now += 1;
	tcp_cc_on_sent(&cc, false, 1 * MSS, 36 * MSS, 37 * MSS, now, rto, true);
	assert_int_equal(cc.cwnd, 18 * MSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecn_echo_enters_cwr_with_prr_cwnd),
		cmocka_unit_test(test_window_unused_for_rto_moderated),
		cmocka_unit_test(test_acks_keep_app_limited_window),
		cmocka_unit_test(test_receiver_limited_window_moderated),
		cmocka_unit_test(test_full_send_buffer_not_moderated),
		cmocka_unit_test(test_cc_moderation_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
