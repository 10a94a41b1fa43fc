/* Loss recovery, packetdrill-style: when a loss is detected, what is resent
 * and when, how much is sent during recovery, and the SACK blocks a receiver
 * reports. Each test is named after what it checks; the defects of issue 12
 * (10 to 14) each have one that failed before their fix. */
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

#define TSO "<nop,nop,TS val * ecr *>"
#define MSS 1448u

static uint8_t big[1 << 20];

/* An active open whose handshake takes rtt_ms (RACK's and the probe's
 * timers scale with the RTT: the first sample is the handshake's). */
static struct tcp_conn *connect_rtt(struct tscript *t, unsigned rtt_ms, bool sack)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_advance_ms(t, rtt_ms);
	if (sack)
		ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	else
		ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	/* the peer's first ACK sets the window the tests use (502 << 7) */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	return c;
}

/* A frame the stack sent: its relative sequence range. false when none. */
struct sent {
	unsigned start, end, len;
	char line[512];
};

static bool next_sent(struct tscript *t, struct sent *s)
{
	if (!ts_next(t, s->line, sizeof(s->line)))
		return false;
	if (getenv("TS_VERBOSE"))
		printf("  sent %s\n", s->line);
	assert_int_equal(sscanf(strchr(s->line, ' ') + 1, "%u:%u(%u)", &s->start, &s->end, &s->len), 3);
	return true;
}

static void drain(struct tscript *t)
{
	struct sent s;

	while (next_sent(t, &s))
		;
}

/* An RTT sample of rtt_ms: one byte out, its ACK rtt_ms later. Returns the next relative seq. */
static unsigned rtt_sample(struct tscript *t, struct tcp_conn *c, unsigned seq, unsigned rtt_ms)
{
	char want[200];

	assert_int_equal(tcp_send(c, "x", 1, t->h->now), 1);
	snprintf(want, sizeof(want), "P. %u:%u(1) ack 1 win 502 " TSO, seq, seq + 1);
	ts_expect(t, want);
	ts_advance_ms(t, rtt_ms);
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 110 ecr 0>", seq + 1);
	ts_expect_none(t);
	return seq + 1;
}

/* ---- issue 12, defect 10 ---- */

/* A Linux receiver grows its window as out-of-order data arrives, so the
 * ACKs that report the SACKed segments are not duplicate ACKs in RFC 5681's
 * strict sense (the window changed). Loss detection decides on the SACK
 * information: the third segment SACKed above the hole starts recovery. */
static void test_sack_loss_detected_when_window_changes(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	/* the first segment is lost; the others arrive, each ACK a window larger */
	ts_inject(t, ". 1:1(0) ack 1 win 503 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 504 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:4345>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 505 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:5793>");
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	assert_int_equal(tcp_outq(c), 10 * MSS);
	ts_abort(t, c);
	ts_free(t);
}

/* The same with ACKs that carry data (a request/response peer): they are
 * not duplicate ACKs either, and the SACK information still counts. */
static void test_sack_loss_detected_on_acks_with_data(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_inject(t, "P. 11:21(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:4345>");
	ts_inject(t, "P. 21:31(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:5793>");
	/* somewhere among the ACKs for the peer's data: the fast retransmission */
	for (;;) {
		assert_true(next_sent(t, &s));
		if (s.len)
			break;
	}
	assert_int_equal(s.start, 1);
	assert_int_equal(s.len, MSS);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- issue 12, defect 11 ---- */

/* RFC 6582: `recover` is the highest sequence number sent when recovery
 * started, and a new recovery may start once the cumulative ACK covers more
 * than it. A recovery that ends with an ACK exactly at the first byte sent
 * during it (the old SND.MAX) is over: a loss of that very segment is fast
 * retransmitted on the third duplicate ACK, and the duplicate ACKs before
 * it send no more than the two segments of limited transmit (RFC 3042). */
static void test_loss_right_after_recovery_is_fast_retransmitted(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, false);
	unsigned top = 0, first_new = 0, n_after = 0;
	bool rexmit = false;
	struct sent s;
	char want[200];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 200 * MSS, t->h->now), 200 * MSS);
	while (next_sent(t, &s))
		top = s.end;
	assert_int_equal(top, 10 * MSS + 1);
	ts_advance_ms(t, 10);
	/* the first segment is lost: duplicate ACKs until recovery sends new data */
	for (int i = 0; i < 9 && !first_new; i++) {
		ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
		while (next_sent(t, &s)) {
			if (s.start == 1) {
				assert_int_equal(i, 2);         /* the third duplicate ACK */
				rexmit = true;
			} else if (rexmit && !first_new) {
				first_new = s.start;    /* the first new segment sent in recovery */
			}
			if (s.end > top)
				top = s.end;
		}
	}
	assert_true(rexmit);
	assert_true(first_new >= 10 * MSS + 1);
	/* the ACK that ends recovery covers everything sent before it began,
	 * up to the first segment sent during it, which is lost */
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 111 ecr 0>", first_new);
	while (next_sent(t, &s))
		if (s.end > top)
			top = s.end;
	/* two duplicate ACKs for it: at most one new segment each (RFC 3042) */
	for (int i = 0; i < 2; i++) {
		ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 112 ecr 0>", first_new);
		while (next_sent(t, &s)) {
			assert_true(s.start >= top);
			top = s.end;
			n_after++;
		}
	}
	assert_true(n_after <= 2);
	/* the third: fast retransmit */
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 112 ecr 0>", first_new);
	snprintf(want, sizeof(want), ". %u:%u(1448) ack 1 win 502 " TSO, first_new, first_new + MSS);
	ts_expect(t, want);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 3042: the first two duplicate ACKs send one new segment each, the
 * third retransmits; never a new segment for every duplicate ACK. */
static void test_duplicate_acks_send_no_new_data_beyond_two(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, false);
	struct sent s;
	unsigned n = 0, top = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 200 * MSS, t->h->now), 200 * MSS);
	while (next_sent(t, &s))
		top = s.end;
	ts_advance_ms(t, 10);
	/* segment 2 lost; segment 1 acknowledged */
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
	while (next_sent(t, &s))
		top = s.end > top ? s.end : top;
	for (int i = 0; i < 2; i++) {
		ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
		while (next_sent(t, &s)) {
			assert_true(s.start >= top);
			top = s.end;
			n++;
		}
	}
	assert_true(n <= 2);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- issue 12, defect 12 ---- */

/* After a real timeout, the congestion state is "Loss" until everything
 * sent before it is acknowledged, then "Open" again (TCP_INFO's ca_state),
 * and the next flight has its tail loss probe again. */
static void test_loss_state_ends_after_rto_recovery(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;
	unsigned seq;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_advance_ms(t, 10);
	seq = rtt_sample(t, c, 1, 10);
	assert_int_equal(tcp_send(c, big, 2 * MSS, t->h->now), 2 * MSS);
	drain(t);
	/* everything lost, the probe too: the RTO resends the first segment */
	for (int ms = 0; ms < 1000; ms++) {
		struct sent s;
		bool rto = false;

		ts_advance_ms(t, 1);
		while (next_sent(t, &s))
			rto = s.start == seq;
		if (rto)
			break;
	}
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 4);
	/* its ACK, 10 ms later, echoes its timestamp */
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 120 ecr %u>", seq + 2 * MSS,
		   t->last_tsval - t->ts_base);
	drain(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	seq += 2 * MSS;
	/* the next flight's tail is probed after 2 SRTT, long before an RTO */
	assert_int_equal(tcp_send(c, big, 2 * MSS, t->h->now), 2 * MSS);
	drain(t);
	ts_advance_ms(t, 60);
	{
		char want[200];

		snprintf(want, sizeof(want), "P. %u:%u(1448) ack 1 win 502 " TSO, seq + MSS, seq + 2 * MSS);
		ts_expect(t, want);
	}
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* Without SACK, after a timeout whose resend the peer acknowledges (its
 * TSval echoed: no undo) with everything sent before the timeout, the
 * Loss state holds at that recovery point (Linux's
 * tcp_is_non_sack_preventing_reopen): duplicate ACKs of it then send
 * nothing, neither new segments (limited transmit) nor a fast
 * retransmission; the ACK of data above it ends the state. Before, the
 * state was Open at once, and three duplicate ACKs sent two new segments
 * and the first again (rawframes bulk_rto_newreno_held_loss_dupacks). */
static void test_loss_state_held_without_sack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, false);
	struct tcp_conn_info i;
	struct sent s;
	unsigned una, nxt = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 30 * MSS, t->h->now), 30 * MSS);
	drain(t);
	/* everything lost: the RTO resends the first segment */
	for (int ms = 0; ms < 2000; ms++) {
		bool rto = false;

		ts_advance_ms(t, 1);
		while (next_sent(t, &s))
			rto = s.start == 1;
		if (rto)
			break;
	}
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 4);
	/* the ACK of all ten, echoing the resend */
	una = 1 + 10 * MSS;
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 120 ecr %u>", una, t->last_tsval - t->ts_base);
	while (next_sent(t, &s)) {
		assert_true(s.start >= una);
		nxt = s.end;
	}
	assert_true(nxt > una);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 4);
	/* three duplicate ACKs of it: nothing */
	for (int k = 0; k < 3; k++) {
		ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 120 ecr %u>", una, t->last_tsval - t->ts_base);
		ts_expect_none(t);
	}
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 4);
	/* the ACK of the first new segment ends the state */
	ts_injectf(t, ". 1:1(0) ack %u win 502 <nop,nop,TS val 121 ecr %u>", una + MSS, t->last_tsval - t->ts_base);
	drain(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- issue 12, defect 13 ---- */

/* A connection past slow start (CUBIC's congestion avoidance grows cwnd by
 * fractions of a segment) in a bulk transfer: every segment is full-sized
 * but the very last (sender SWS avoidance, RFC 1122 §4.2.3.4, with cwnd
 * counted in segments as Linux does). */
static void test_bulk_transfer_sends_no_runts(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	size_t total = 600 * MSS + 500;
	unsigned acked = 1, runts = 0, segs = 0;
	struct sent s;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 65535 <nop,nop,TS val 101 ecr 0>");
	/* white box: a connection that left slow start at 20 segments */
	c->cc.ssthresh = 20 * MSS;
	c->cc.cwnd = 20 * MSS;
	ts_advance_ms(t, 10);
	{
		size_t queued = 0;
		unsigned pending[4096];
		unsigned np = 0;

		while (acked < total + 1) {
			long n = tcp_send(c, big, total - queued < sizeof(big) ? total - queued : sizeof(big), t->h->now);

			if (n > 0)
				queued += (size_t)n;
			while (next_sent(t, &s)) {
				if (s.len == 0)
					continue;
				segs++;
				if (s.len < MSS && s.end != total + 1)
					runts++;
				pending[np++] = s.end;
				assert_true(np < 4096);
			}
			/* the peer ACKs every second segment, 1 ms later */
			ts_advance_ms(t, 1);
			for (unsigned k = 0; k < np; k++) {
				if (k % 2 == 1 || k == np - 1) {
					ts_injectf(t, ". 1:1(0) ack %u win 65535 <nop,nop,TS val 200 ecr 0>", pending[k]);
					acked = pending[k];
				}
			}
			np = 0;
		}
	}
	assert_true(segs >= 600);
	assert_int_equal(runts, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* In recovery, only whole segments go out, whatever fraction of a segment
 * the window leaves, and a segment known lost is resent before new data. */
static void test_recovery_resends_holes_before_new_data(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;
	bool hole2 = false;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 65535 <nop,nop,TS val 101 ecr 0>");
	/* white box: a window of 20.5 segments */
	c->cc.ssthresh = 20 * MSS;
	c->cc.cwnd = 20 * MSS + MSS / 2;
	assert_int_equal(tcp_send(c, big, 100 * MSS, t->h->now), 100 * MSS);
	while (next_sent(t, &s))
		assert_int_equal(s.len, MSS);
	ts_advance_ms(t, 10);
	/* segments 1 and 3 are lost: 2, 4, 5, ... arrive */
	ts_inject(t, ". 1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	for (unsigned k = 4; k <= 20; k++) {
		ts_injectf(t, ". 1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897 4345:%u>",
			   k * MSS + 1);
		while (next_sent(t, &s)) {
			assert_int_equal(s.len, MSS);
			if (s.start == 2897)
				hole2 = true;
			/* three segments SACKed above the second hole: lost by
			 * any measure (RFC 6675 IsLost, RACK), it goes first */
			if (s.start >= 20 * MSS + 1 && k >= 6)
				assert_true(hole2);
		}
	}
	assert_true(hole2);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 6675 IsLost (PSTACK_TCP_RECOVERY=0): a hole with more than
 * (DupThresh - 1) * SMSS bytes SACKed above it is lost, the one right
 * below the SACKed bytes that cross the threshold included. Segments 1 and
 * 3 lost, 2 and 4..5 SACKed: 3 has two segments above it (not lost), 1 has
 * three (lost); then 6 arrives: 3 has three above and goes at once. */
static void test_dupthresh_hole_right_below_the_boundary_is_lost(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	struct sent s;
	bool hole1 = false, hole3 = false;

	(void)state;
	t->h->s->cfg.tcp_recovery = 0;
	c = connect_rtt(t, 10, true);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 4345:5793 1449:2897>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 4345:7241 1449:2897>");
	while (next_sent(t, &s)) {
		hole1 |= s.start == 1;
		hole3 |= s.start == 2897;
	}
	assert_true(hole1);
	assert_false(hole3);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 4345:8689 1449:2897>");
	while (next_sent(t, &s))
		hole3 |= s.start == 2897;
	assert_true(hole3);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- issue 12, defect 14 ---- */

/* RFC 2018 §4: the first SACK block holds the segment that triggered the
 * ACK, however many holes lie below it. */
static void test_first_sack_block_holds_newest_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char want[200];

	(void)state;
	/* ten out-of-order segments, a hole before each */
	for (unsigned k = 1; k <= 10; k++) {
		ts_injectf(t, ". %u:%u(100) ack 1 win 502 <nop,nop,TS val 110 ecr 0>", k * 200 + 1, k * 200 + 101);
		snprintf(want, sizeof(want), ". 1:1(0) ack 1 win * <nop,nop,TS val * ecr 100,nop,nop,sack %u:%u%s>",
			 k * 200 + 1, k * 200 + 101, k == 1 ? "" : k == 2 ? " *:*" : " *:* *:*");
		ts_expect(t, want);
	}
	ts_abort(t, c);
	ts_free(t);
}

/* ---- RACK-TLP (RFC 8985) ---- */

/* RFC 8985 §6.2: a segment is not lost merely because one sent after it was
 * delivered: RACK waits a reordering window (min RTT / 4) first. A segment
 * that arrives late within it is reordering, not loss: nothing is resent.
 * Once reordering was seen, the window also holds with three segments
 * SACKed above (where DupThresh would have called it lost). */
static void test_rack_reordering_is_not_loss(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	/* segment 2 arrives before segment 1 */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect_none(t);
	assert_true(c->rack.reord);
	/* later, segment 3 is late by three segments */
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 4345:5793>");
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 4345:7241>");
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 4345:8689>");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 8689 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.total_retrans, 0);
	assert_int_equal(i.ca_state, 0);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 8985 §6.2 step 5: when the reordering window passes (and the 2 ms
 * Linux adds to the timer) and the segment still has not arrived, RACK's
 * timer declares it lost: recovery starts
 * with its retransmission, without waiting for more ACKs or the RTO. */
static void test_rack_timer_declares_loss(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;
	uint32_t wnd;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_expect_none(t);
	wnd = tcp_rack_reo_wnd(c);
	assert_int_equal(wnd, 10000 / 4);       /* min RTT / 4 */
	/* and Linux's TCP_TIMEOUT_MIN on the timer (tcp_rack_mark_lost) */
	ts_advance_us(t, wnd + 2000 - 100);
	ts_expect_none(t);
	ts_advance_us(t, 200);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 3);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 113 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 8985 §3.3: a retransmission lost again is detected like any other
 * segment, by a delivery of something sent after it (here new data sent
 * during recovery), without an RTO. */
static void test_rack_detects_lost_retransmission(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;
	unsigned hi = 0, rexmits = 0;
	char line[200];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 40 * MSS, t->h->now), 40 * MSS);
	while (next_sent(t, &s))
		hi = s.end;
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:4345>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:5793>");
	while (next_sent(t, &s)) {
		if (s.start == 1)
			rexmits++;
		else
			hi = s.end;     /* limited transmit */
	}
	assert_int_equal(rexmits, 1);
	rexmits = 0;
	/* more SACKs: new data goes out after the retransmission */
	for (unsigned k = 5; k <= 10; k++) {
		ts_injectf(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:%u>", k * MSS + 1);
		while (next_sent(t, &s)) {
			assert_true(s.start >= hi);     /* new data */
			hi = s.end;
		}
	}
	assert_true(hi > 10 * MSS + 1);
	/* the retransmission is lost; new data sent after it arrives */
	ts_advance_ms(t, 10);
	snprintf(line, sizeof(line), ". 1:1(0) ack 1 win 502 <nop,nop,TS val 120 ecr 0,nop,nop,sack 1449:%u>", hi);
	ts_inject(t, line);
	ts_advance_ms(t, 3);
	while (next_sent(t, &s))
		if (s.start == 1)
			rexmits++;
	assert_int_equal(rexmits, 1);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 8985 §7: the last segments of a flight are lost, so no ACK comes
 * back to tell. The probe (the last segment again, 2 SRTT after) draws a
 * SACK for it, from which RACK sees the segment before it lost: recovered
 * within about three round trips instead of an RTO. */
static void test_tlp_recovers_lost_tail(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	/* segments 9 and 10 are lost */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 11585 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	/* PTO = 2 SRTT + 2 ms from the last transmission, well before an RTO */
	ts_advance_ms(t, 10);
	ts_expect_none(t);
	ts_advance_ms(t, 13);
	ts_expect(t, "P. 13033:14481(1448) ack 1 win 502 " TSO);
	assert_int_equal(c->tlp_probes, 1);
	/* its SACK shows segment 9 lost: resent at once */
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack 11585 win 502 <nop,nop,TS val 120 ecr %u,nop,nop,sack 13033:14481>",
		   t->last_tsval - t->ts_base);
	ts_expect(t, ". 11585:13033(1448) ack 1 win 502 " TSO);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 130 ecr 0>");
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	assert_int_equal(c->rto_count, 0);
	assert_int_equal(tcp_outq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}

/* A recovery that a probe's SACK started takes the probe over (Linux's
 * tcp_init_cwnd_reduction clears tlp_high_seq): one reduction, and the
 * next tail may be probed. The tail of test_tlp_recovers_lost_tail, whose
 * recovery ends exactly at the probe's end; then one more segment, ACKed.
 * pstack kept the probe outstanding past the recovery and reduced again on
 * that ACK, as if the probe had repaired a loss of its own: ssthresh 8
 * (CUBIC's 0.7 of 12) where the recovery had left 12. */
static void test_recovery_takes_over_the_probe(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;
	uint32_t ssthresh;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 11585 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 23);
	ts_expect(t, "P. 13033:14481(1448) ack 1 win 502 " TSO);
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack 11585 win 502 <nop,nop,TS val 120 ecr %u,nop,nop,sack 13033:14481>",
		   t->last_tsval - t->ts_base);
	ts_expect(t, ". 11585:13033(1448) ack 1 win 502 " TSO);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	ssthresh = i.snd_ssthresh;
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 130 ecr %u>", t->last_tsval - t->ts_base);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	assert_int_equal(i.snd_ssthresh, ssthresh);
	/* one more segment, ACKed: no second reduction */
	assert_int_equal(tcp_send(c, big, MSS, t->h->now), MSS);
	ts_expect(t, "P. 14481:15929(1448) ack 1 win 502 " TSO);
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack 15929 win 502 <nop,nop,TS val 140 ecr %u>", t->last_tsval - t->ts_base);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_ssthresh, ssthresh);
	assert_false(c->tlp_out);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* One segment in flight: its PTO (2 SRTT and the peer's delayed ACK, 200
 * ms) is past the RTO (SRTT and the 200 ms floor), and Linux's
 * tcp_schedule_loss_probe then probes at the RTO's time ("if the RTO
 * formula yields an earlier time, then use that time") rather than time
 * out: the segment is resent as the probe, the window and the state stay.
 * Measured on this kernel (veth, SACK, timestamps, CUBIC; the peer's
 * iptables dropping the first copy of a 1000-byte write): resent at 205
 * ms, then tcpi_ca_state 0, cwnd 10, ssthresh infinite, total_rto 0.
 * pstack timed out there: Loss state, cwnd 1, ssthresh 7, total_rto 1. */
static void test_tlp_at_rto_time_for_one_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;
	char line[512];
	unsigned ms = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 " TSO);
	while (!ts_next(t, line, sizeof(line)) && ms++ < 1000)
		ts_advance_ms(t, 1);
	assert_true(ts_match("P. 1:1001(1000) ack 1 win 502 " TSO, line));
	/* at the RTO's time: 10 ms SRTT and the 200 ms floor, not 2 SRTT
	 * and the delayed ACK's 200 ms */
	assert_true(ms >= 209 && ms <= 211);
	assert_int_equal(c->tlp_probes, 1);
	assert_int_equal(c->rto_count, 0);
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack 1001 win 502 <nop,nop,TS val 300 ecr %u>", t->last_tsval - t->ts_base);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	assert_int_equal(i.snd_cwnd, 10);
	assert_int_equal(i.snd_ssthresh, 0x7fffffff);
	assert_int_equal(i.total_rto, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* One packet in flight after a slow handshake: Linux 6.18's
 * tcp_schedule_loss_probe adds the minimum RTO to 2 SRTT for the peer's
 * delayed ACK when packets_out is 1, and TCP_TIMEOUT_MIN (2 ms) only
 * otherwise ("if (tp->packets_out == 1) timeout_us +=
 * tcp_rto_min_us(sk); else timeout_us += TCP_TIMEOUT_MIN_US"). With a
 * 300 ms SYN-ACK the RTO is 900 ms (three RTTs for the first sample), so
 * the probe comes at 2 x 300 + 200 = 800 ms; pstack added both terms and
 * probed at 802 ms. */
static void test_tlp_one_packet_pto_adds_rto_min_only(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 300, true);
	uint64_t sent;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	sent = t->h->now;
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 " TSO);
	assert_true(c->pto_armed);
	assert_int_equal(c->rto_at - sent, 800000);
	ts_advance_ms(t, 799);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 " TSO);
	assert_int_equal(c->tlp_probes, 1);
	ts_abort(t, c);
	ts_free(t);
}

/* PAWS as Linux applies it (tcp_validate_incoming, tcp_paws_check with
 * TCP_PAWS_WINDOW 1, tcp_disordered_ack_check): a TSval one tick behind
 * TS.Recent passes; a pure duplicate ACK further behind, within a replay
 * window of an RTO's worth of 1200 Hz ticks, passes too (the network
 * reordered ACKs, and their SACK blocks count); an ACK that moves SND.UNA
 * two ticks behind is dropped. pstack dropped every segment behind
 * TS.Recent: on a link that reorders, the SACKs of reordered duplicate
 * ACKs were lost to loss detection (96 PAWS drops in one 8 MiB send over
 * the lossy link of 25-impaired). */
static void test_paws_lets_reordered_acks_pass(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	const struct stack_stats *st = stack_stats(t->h->s);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 10,nop,nop,sack 1449:2897>");
	/* a duplicate ACK sent before, reordered: its SACK counts */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 105 ecr 10,nop,nop,sack 1449:4345>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.sacked, 2);
	assert_int_equal(st->drops[DROP_TCP_PAWS], 0);
	drain(t);
	/* one tick behind: within PAWS's window */
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 109 ecr 10>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.unacked, 7);
	assert_int_equal(st->drops[DROP_TCP_PAWS], 0);
	drain(t);
	/* two ticks behind and moving SND.UNA: dropped */
	ts_inject(t, ". 1:1(0) ack 5793 win 502 <nop,nop,TS val 108 ecr 10>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.unacked, 7);
	assert_int_equal(st->drops[DROP_TCP_PAWS], 1);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 8985 §7.3 sends the probe within the peer's window: behind a window
 * that shrank to zero, the last segment (beyond it) does not go, like
 * Linux's tcp_send_loss_probe(), whose __tcp_retransmit_skb() sends nothing
 * past the window but at SND.UNA. The RTO then resends the first
 * unacknowledged segment as the window probe (RFC 9293 §3.8.6.2.1). */
static void test_tlp_sends_nothing_beyond_a_zero_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * MSS, t->h->now), 3 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	/* past the probe's time, up to the RTO: nothing */
	while (!next_sent(t, &s)) {
		assert_int_equal(c->rto_count, 0);
		ts_advance_ms(t, 1);
	}
	assert_int_equal(c->rto_count, 1);
	assert_true(c->tlp_probes >= 1);
	assert_int_equal(s.start, 1449);
	assert_int_equal(s.len, MSS);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- D-SACK (RFC 2883, RFC 3708) ---- */

/* RFC 2883 §4: a duplicate segment is reported in the first SACK block of
 * the ACK it draws: below the cumulative ACK when already delivered, or
 * inside the second block when it duplicates out-of-order data. */
static void test_dsack_reports_duplicate_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 1449 win * <nop,nop,TS val * ecr 110>");
	/* the same segment again (its ACK was lost): ACKed at once, with
	 * D-SACK; it reaches Last.ACK.sent, so its TSval is echoed (Linux's
	 * tcp_sequence lets it through to tcp_replace_ts_recent) */
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1449 win * <nop,nop,TS val * ecr 111,nop,nop,sack 1:1449>");
	/* a part of it with new data: the old part */
	ts_inject(t, ". 1001:2001(1000) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2001 win * <nop,nop,TS val * ecr 112,nop,nop,sack 1001:1449>");
	/* out-of-order data, twice */
	ts_inject(t, ". 3001:4001(1000) ack 1 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2001 win * <nop,nop,TS val * ecr 112,nop,nop,sack 3001:4001>");
	ts_inject(t, ". 3001:4001(1000) ack 1 win 502 <nop,nop,TS val 114 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2001 win * <nop,nop,TS val * ecr 112,nop,nop,sack 3001:4001 3001:4001>");
	/* reported once */
	ts_inject(t, ". 5001:6001(1000) ack 1 win 502 <nop,nop,TS val 115 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2001 win * <nop,nop,TS val * ecr 112,nop,nop,sack 5001:6001 3001:4001>");
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 3708: a fast retransmission the receiver reports as a duplicate
 * (D-SACK) was spurious: the segment was reordered, not lost. The window
 * comes back (the recovery is undone, like Linux's tcp_try_undo_dsack),
 * and RACK's reordering window widens (RFC 8985 §6.2 step 4), so that the
 * same reordering next time is waited for. */
static void test_dsack_undoes_spurious_recovery(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct tcp_conn_info i;
	struct sent s;
	unsigned rexmits = 0;
	uint32_t cwnd;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 30 * MSS, t->h->now), 30 * MSS);
	drain(t);
	cwnd = c->cc.cwnd;
	ts_advance_ms(t, 10);
	/* segment 1 is three segments late: taken for a loss */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:2897>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:4345>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:5793>");
	while (next_sent(t, &s))
		rexmits += s.start == 1;        /* beside new data (limited transmit, PRR) */
	assert_int_equal(rexmits, 1);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 3);
	assert_true(c->cc.cwnd < cwnd);
	/* the original arrives, then the retransmission: a D-SACK */
	ts_inject(t, ". 1:1(0) ack 5793 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_inject(t, ". 1:1(0) ack 5793 win 502 <nop,nop,TS val 112 ecr 0,nop,nop,sack 1:1449>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, 0);
	assert_true(c->cc.cwnd >= cwnd);
	assert_int_equal(c->spurious_recoveries, 1);
	assert_int_equal(c->rack.reo_wnd_mult, 2);
	assert_int_equal(tcp_rack_reo_wnd(c), 2 * 10000 / 4);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- PRR (RFC 6937), and no rescue retransmission (RFC 6675) ---- */

/* In recovery the sender sends about ssthresh/RecoverFS of what each ACK
 * delivers (CUBIC: 0.7): spread over the ACKs of the round trip, never a
 * burst, and the pipe ends near ssthresh. */
static void test_prr_paces_recovery(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;
	unsigned sent = 0, acks = 0, hole = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 1000 <nop,nop,TS val 100 ecr 0>");
	c->cc.cwnd = 20 * MSS;          /* white box: a window of 20 segments */
	assert_int_equal(tcp_send(c, big, 60 * MSS, t->h->now), 60 * MSS);
	ts_advance_us(t, 1);            /* the rest of the burst, from the stack's timer pass */
	drain(t);
	ts_advance_ms(t, 10);
	/* segment 1 lost, 2..20 arrive, one ACK each */
	for (unsigned k = 2; k <= 20; k++) {
		unsigned n = 0;

		ts_injectf(t, ". 1:1(0) ack 1 win 1000 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:%u>", k * MSS + 1);
		while (next_sent(t, &s)) {
			if (s.start == 1)
				hole++;
			n++;
		}
		assert_true(n <= 2);
		if (c->in_recovery) {
			acks++;
			sent += n;
		}
	}
	assert_int_equal(hole, 1);
	/* 18 ACKs in recovery: 0.7 * 19 delivered, about 13 segments out */
	assert_true(acks >= 17);
	assert_true(sent >= 12 && sent <= 14);
	assert_true(tcp_pipe(c) <= c->cc.ssthresh);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Our segments are shorter than the MSS when they carry SACK blocks (RFC
 * 2018 §3: the peer's data arrived out of order). In recovery PRR's window
 * (pipe + sndcnt, in bytes) lets out what fits of the segments being sent:
 * the fast retransmission goes on the ACK that starts the recovery, not
 * once the window leaves room for a whole MSS beyond a pipe counted in
 * MSS-sized units (here never: the last segment is lost too, and the hole
 * waited for the RTO). */
static void test_fast_retransmit_when_our_segments_carry_sack_blocks(void **state)
{
	const unsigned seg = MSS - 12;  /* 12 bytes of one SACK block */
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;
	char want[200];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	/* the peer's data with a hole before it: we hold it out of order */
	ts_inject(t, "P. 101:111(10) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 101:111>");
	assert_int_equal(tcp_send(c, big, 5 * seg, t->h->now), 5 * seg);
	while (next_sent(t, &s))
		assert_int_equal(s.len, seg);
	ts_advance_ms(t, 10);
	/* segments 1 and 5 are lost; 2, 3 and 4 arrive */
	ts_injectf(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack %u:%u>", seg + 1, 2 * seg + 1);
	ts_injectf(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack %u:%u>", seg + 1, 3 * seg + 1);
	ts_expect_none(t);
	ts_injectf(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack %u:%u>", seg + 1, 4 * seg + 1);
	assert_true(c->in_recovery);
	snprintf(want, sizeof(want), ". 1:%u(%u) ack 1 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 101:111>",
		 seg + 1, seg);
	ts_expect(t, want);
	assert_int_equal(c->rto_count, 0);
	drain(t);
	ts_abort(t, c);
	ts_free(t);
}

/* No RFC 6675 rescue retransmission (NextSeg rule 4), as Linux has none
 * (tcp_xmit_retransmit_queue resends only what is marked lost): segments 1
 * and 10 lost, the SACKs of 2 to 9 resend segment 1 only, however long the
 * tail has been out; the ACK of that retransmission shows RACK a delivery
 * sent after the tail, which is lost then and goes at once (pstack sent
 * the tail again on the SACK of 9, once it had been out a round trip). */
static void test_no_rescue_retransmission(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_rtt(t, 10, true);
	struct sent s;
	unsigned tail = 0, others = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	drain(t);
	ts_advance_ms(t, 10);
	/* segments 1 and 10 are lost */
	for (unsigned k = 2; k <= 9; k++) {
		ts_injectf(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 1449:%u>", k * MSS + 1);
		ts_advance_ms(t, 2);
		while (next_sent(t, &s)) {
			if (s.start == 9 * MSS + 1)
				tail++;
			else if (s.start != 1)
				others++;
		}
	}
	assert_int_equal(tail, 0);
	assert_int_equal(others, 0);
	ts_inject(t, ". 1:1(0) ack 13033 win 502 <nop,nop,TS val 111 ecr 24>");
	assert_true(next_sent(t, &s));
	assert_int_equal(s.start, 13033);
	assert_int_equal(s.end, 14481);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 112 ecr 36>");
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sack_loss_detected_when_window_changes),
		cmocka_unit_test(test_sack_loss_detected_on_acks_with_data),
		cmocka_unit_test(test_loss_right_after_recovery_is_fast_retransmitted),
		cmocka_unit_test(test_duplicate_acks_send_no_new_data_beyond_two),
		cmocka_unit_test(test_loss_state_ends_after_rto_recovery),
		cmocka_unit_test(test_loss_state_held_without_sack),
		cmocka_unit_test(test_bulk_transfer_sends_no_runts),
		cmocka_unit_test(test_recovery_resends_holes_before_new_data),
		cmocka_unit_test(test_dupthresh_hole_right_below_the_boundary_is_lost),
		cmocka_unit_test(test_first_sack_block_holds_newest_segment),
		cmocka_unit_test(test_rack_reordering_is_not_loss),
		cmocka_unit_test(test_rack_timer_declares_loss),
		cmocka_unit_test(test_rack_detects_lost_retransmission),
		cmocka_unit_test(test_tlp_recovers_lost_tail),
		cmocka_unit_test(test_tlp_at_rto_time_for_one_segment),
		cmocka_unit_test(test_tlp_one_packet_pto_adds_rto_min_only),
		cmocka_unit_test(test_recovery_takes_over_the_probe),
		cmocka_unit_test(test_paws_lets_reordered_acks_pass),
		cmocka_unit_test(test_tlp_sends_nothing_beyond_a_zero_window),
		cmocka_unit_test(test_dsack_reports_duplicate_segments),
		cmocka_unit_test(test_dsack_undoes_spurious_recovery),
		cmocka_unit_test(test_prr_paces_recovery),
		cmocka_unit_test(test_fast_retransmit_when_our_segments_carry_sack_blocks),
		cmocka_unit_test(test_no_rescue_retransmission),
	};
	return cmocka_run_group_tests_name("tcp_recovery", tests, NULL, NULL);
}
