/* More of the sending side against Linux's packetdrill selftests
 * (tools/testing/selftests/net/packetdrill): PRR with two holes and with
 * an ACK below SND.UNA, the SACK scoreboard's loss marks, limited
 * transmit, Nagle off and MSG_MORE, the restart after idle time and the
 * tail loss probe of a TSO frame. Each test names the selftest or the
 * Linux function it follows. As in test_pd_send.c, the peer announces an
 * MSS of 1000 and no timestamps, and the link takes TSO frames. */
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

static uint8_t big[1 << 20];

/* The next frames carry [start, end) between them, in order: Linux sends
 * a run of retransmissions as one TSO frame, pstack one segment a frame. */
static void expect_run(struct tscript *t, unsigned start, unsigned end)
{
	char line[512];
	unsigned s, e, n;

	while (start < end) {
		if (!ts_next(t, line, sizeof(line)))
			fail_msg("nothing sent, expected data %u:%u", start, end);
		if (getenv("TS_VERBOSE"))
			printf("  sent %s\n", line);
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u(%u)", &s, &e, &n), 3);
		if (s != start || e > end || e <= s)
			fail_msg("sent %s, expected data from %u to %u", line, start, end);
		start = e;
	}
}

static void info(struct tscript *t, struct tcp_conn *c, struct tcp_conn_info *i)
{
	tcp_get_info(c, i, t->h->now);
}

/* ---- fast recovery ---- */

/* tcp_fast_recovery_prr-ss-30pkt-lost-1_4-11_16: of twenty segments, 1-4
 * and 11-16 are lost. The first two SACKs send new data (limited
 * transmit), the third starts recovery; the lost segments go one per SACK;
 * the ACK that takes SND.UNA forward sends two (PRR's slow-start bound);
 * a SACK that shows a retransmission lost again (RACK: a later one
 * arrived) has it resent at once with a new segment, and once the flight
 * is at ssthresh each SACKed segment releases one. */
static void test_prr_two_holes_resends_and_conserves(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 320, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:5001,nop,nop>");
	ts_expect_data(t, 10001, 11001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:6001,nop,nop>");
	ts_expect_data(t, 11001, 12001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:7001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:8001,nop,nop>");
	ts_expect_data(t, 1001, 2001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:9001,nop,nop>");
	ts_expect_data(t, 2001, 3001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:10001,nop,nop>");
	ts_expect_data(t, 3001, 4001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:11001,nop,nop>");
	ts_expect_data(t, 12001, 13001);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:12001,nop,nop>");
	ts_expect_data(t, 13001, 14001);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 4001:12001,nop,nop>");
	ts_expect_data(t, 14001, 16001);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 2001:12001,nop,nop>");
	ts_expect_data(t, 1001, 2001);
	ts_expect_data(t, 16001, 17001);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 2001:13001,nop,nop>");
	ts_expect_data(t, 17001, 18001);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 2001:14001,nop,nop>");
	ts_expect_data(t, 18001, 19001);
	ts_expect_none(t);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_fast_recovery_prr-ss-ack-below-snd_una-cubic: an ACK delayed
 * behind a later one arrives with its cumulative ACK below SND.UNA; its
 * SACK blocks still count: the two segments they newly SACK release two
 * (the retransmission of the hole they leave, and new data). */
static void test_prr_counts_sack_of_ack_below_snd_una(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 640, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 640 <sack 1001:2001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 640 <sack 1001:3001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 640 <sack 1001:3001 8001:9001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	ts_advance_ms(t, 12);
	ts_inject(t, ". 1:1(0) ack 4001 win 640 <sack 8001:9001,nop,nop>");
	expect_run(t, 4001, 7001);
	ts_expect_none(t);
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 3001 win 640 <sack 5001:7001,nop,nop>");
	ts_expect_data(t, 7001, 8001);
	ts_expect_data(t, 10001, 11001);
	ts_expect_none(t);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- limited transmit ---- */

/* tcp_limited_transmit_limited-transmit-{sack,no-sack} (RFC 3042): each
 * of the first two duplicate ACKs sends a new segment; when the next ACK
 * shows it was reordering, not loss, the connection stays Open and slow
 * start goes on (cwnd 10 + 1 for the segment newly ACKed: two more). */
static void limited_transmit(bool sack)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, sack);
	struct tcp_conn_info i;

	assert_int_equal(tcp_send(c, big, 15000, t->h->now), 15000);
	ts_expect_data(t, 1, 10001);
	ts_expect_none(t);
	ts_advance_ms(t, 110);
	ts_inject(t, sack ? ". 1:1(0) ack 1 win 320 <sack 1001:2001,nop,nop>" : ". 1:1(0) ack 1 win 320");
	ts_expect_data(t, 10001, 11001);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, sack ? ". 1:1(0) ack 1 win 320 <sack 1001:3001,nop,nop>" : ". 1:1(0) ack 1 win 320");
	ts_expect_data(t, 11001, 12001);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 3001 win 320");
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	ts_expect_data(t, 12001, 14001);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 5001 win 320");
	ts_expect_data(t, 14001, 15001);
	ts_expect_none(t);
	for (unsigned a = 7001; a <= 15001; a += 2000) {
		ts_advance_ms(t, 20);
		ts_injectf(t, ". 1:1(0) ack %u win 320", a);
	}
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.total_retrans, 0);
	ts_abort(t, c);
	ts_free(t);
}

static void test_limited_transmit_with_sack(void **state)
{
	(void)state;
	limited_transmit(true);
}

static void test_limited_transmit_without_sack(void **state)
{
	(void)state;
	limited_transmit(false);
}


/* ---- SACK scoreboard ---- */

/* tcp_sack_sack-shift-sacked-7-5-6-8-9-fack: one SACK for the eighth of
 * ten segments: after RACK's reordering window the first is resent
 * (recovery; the seven before the SACKed one deemed lost); each SACK after
 * that takes one off the lost count and sends the next lost segment; all
 * ACKed, the scoreboard is empty and the connection Open. */
static void test_sack_marks_lost_and_resends_one_per_sack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 1024, true);
	struct tcp_conn_info i;
	static const char *const sacks[] = { "5001:6001 7001:8001", "5001:8001", "5001:9001", "5001:10001" };

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 7001:8001,nop,nop>");
	ts_expect_none(t);
	ts_advance_ms(t, 40);
	ts_expect_data(t, 1, 1001);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(i.lost, 7);
	for (unsigned k = 0; k < 4; k++) {
		ts_injectf(t, ". 1:1(0) ack 1 win 257 <sack %s,nop,nop>", sacks[k]);
		ts_expect_data(t, 1001 + k * 1000, 2001 + k * 1000);
		ts_expect_none(t);
		info(t, c, &i);
		if (k < 2)
			assert_int_equal(i.lost, 6 - k);
	}
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 257");
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	assert_int_equal(i.unacked, 0);
	assert_int_equal(i.sacked, 0);
	assert_int_equal(i.lost, 0);
	assert_int_equal(i.retrans, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- restart after idle ---- */

/* Linux's tcp_cwnd_restart (net.ipv4.tcp_slow_start_after_idle 1, the
 * default): a sender idle for longer than the RTO halves cwnd once per RTO
 * of idle time, down to the initial window at the lowest (and ssthresh
 * keeps 3/4 of the old cwnd at least: test_tcp_cc.c): idle for one RTO
 * and a bit, 36 segments become 18, not 10 (after a longer idle time, 10:
 * test_pd_send.c's test_slow_start_restarts_after_idle). */
static void test_idle_restart_halves_cwnd_per_rto(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 511, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 26000, t->h->now), 26000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 511");
	expect_run(t, 10001, 26001);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 26001 win 511");
	info(t, c, &i);
	assert_int_equal(i.snd_cwnd, 36);
	/* idle since the last send: 100 ms, and one RTO more */
	assert_true(i.rto_us > 150000);
	ts_advance_us(t, i.rto_us);
	assert_int_equal(tcp_send(c, big, 30000, t->h->now), 30000);
	expect_run(t, 26001, 44001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.snd_cwnd, 18);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- tail loss probe ---- */

/* Linux's tcp_send_loss_probe: with nothing new to send, the probe resends
 * the last segment as it went on the wire: the last TSO frame is cut after
 * its first pcount - 1 segments and what follows goes, here the short 500
 * bytes at the end of a 2500-byte frame (not the last 1000 bytes, which
 * would straddle two of the frame's segments). */
static void test_tlp_resends_last_segment_of_tso_frame(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 2500, t->h->now), 2500);
	ts_expect_data(t, 1, 2501);
	assert_int_equal(t->last_gso, 1000);
	ts_expect_none(t);
	ts_advance_ms(t, 400);
	ts_expect_data(t, 2001, 2501);
	assert_int_equal(t->last_gso, 0);
	ts_inject(t, ". 1:1(0) ack 2501 win 257");
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's tcp_schedule_loss_probe: a loss probe only in the Open and CWR
 * states, not in Disorder (tcp_ack sets the timer after
 * tcp_fastretrans_alert moved the state: tcp_set_xmit_timer, else
 * tcp_rearm_rto). Ten segments out; an ACK of two that SACKs the sixth
 * leaves the state Disorder (TCP_INFO's ca_state 1) with RACK's
 * reordering timer for the holes; the timer that ACK's cumulative part
 * set (tcp_arm_rto, pstack's tcp_set_xmit_timer) is the RTO, not a probe
 * (pstack armed the probe, which only the reordering timer then hid). */
static void test_no_tlp_in_disorder(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 2001 win 320 <sack 5001:6001,nop,nop>");
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.ca_state, 1);
	assert_true(c->reo_armed);
	tcp_arm_rto(c, t->h->now);
	assert_false(c->pto_armed);
	assert_false(c->reo_armed);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's tcp_rack_reo_timeout ends with tcp_rearm_rto while the pending
 * timer is still the reordering one: the RTO (no probe) counts from the
 * first unacknowledged segment's latest transmission (tcp_rto_delta_us),
 * not from the expiry. Eight segments; 100 ms later a SACK of the third,
 * the ACK of the first two and a SACK of the fifth: RACK's timer resends
 * the fourth 25 ms later (a quarter of the least RTT, and 2 ms); the
 * third, SACKed, is the first unacknowledged, sent with the flight: the
 * RTO is due an RTO after the flight. pstack had it an RTO after the
 * timer's expiry. (Seen on the wire too, rawframes-style: Linux 6.18
 * resent the third 0.16 s after the fourth, pstack 0.3 s after; too
 * sensitive to the machine's load for the suite.) */
static void test_rack_reo_timer_rto_from_head(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, true);
	char line[512];
	uint64_t sent_at;

	(void)state;
	assert_int_equal(tcp_send(c, big, 8000, t->h->now), 8000);
	sent_at = t->h->now;
	assert_true(ts_expect_data(t, 1, 8001));
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 2001:3001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 2001 win 320 <sack 2001:3001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 2001 win 320 <sack 4001:5001 2001:3001,nop,nop>");
	ts_expect_none(t);
	assert_true(c->reo_armed);
	while (!ts_next(t, line, sizeof(line)) && t->h->now - sent_at < 1000000)
		ts_advance_ms(t, 1);
	assert_true(ts_match(". 3001:4001(1000) ack 1 win *", line));
	assert_in_range(t->h->now - sent_at, 120000, 130000);
	assert_false(c->reo_armed);
	assert_false(c->pto_armed);
	assert_int_equal(c->rto_at, sent_at + tcp_backed_off_rto(c));
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's tcp_send_loss_probe resends with __tcp_retransmit_skb: the
 * probe's copy is no retransmission in flight (TCPCB_EVER_RETRANS only,
 * not TCPCB_SACKED_RETRANS or retrans_out). Measured on Linux 6.18: after
 * the probe of ten segments' tail, tcpi_retrans 0 and tcpi_unacked 10. The
 * in-flight count is packets_out alone: an ACK of five in slow start (cwnd
 * 15) lets ten new segments go behind the five still out (pstack counted
 * the probe's copy too: tcpi_retrans 1, and nine). */
static void test_tlp_copy_not_counted_as_retransmission(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 20, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 60);
	ts_expect_data(t, 9001, 10001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.retrans, 0);
	assert_int_equal(i.unacked, 10);
	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	ts_expect_none(t);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 5001 win 320");
	info(t, c, &i);
	assert_int_equal(i.snd_cwnd, 15);
	expect_run(t, 10001, 20001);
	ts_expect_none(t);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's tcp_enter_loss: after tcp_timeout_mark_lost (the first segment,
 * and what was sent longer than RACK's RTT ago: tcp_rack_skb_timeout with
 * no reordering window), cwnd is what is still in flight plus one
 * (tcp_packets_in_flight + 1), not one. A recovery whose retransmission is
 * lost again, a SACK that comes late (RACK's RTT 388 ms) and has a new
 * segment sent. The fast retransmission restarted the timer
 * (tcp_xmit_retransmit_queue: the RTO, 300 ms, from then): at the RTO the
 * first segment and the first flight's last, not SACKed, are lost, those
 * sent after the fast retransmission are not (sent less than 388 ms
 * before), so of 15 segments 8 SACKed, 2 lost, 5 in flight and cwnd 6,
 * with the first segment resent (pstack: 1, whatever was in flight; then
 * 2, with the timer not restarted: lost 6). */
static void test_rto_cwnd_is_in_flight_plus_one(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:4001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	for (unsigned k = 5; k <= 8; k++) {
		ts_advance_ms(t, 2);
		ts_injectf(t, ". 1:1(0) ack 1 win 320 <sack 1001:%u,nop,nop>", k * 1000 + 1);
		ts_expect_data(t, 10001 + (k - 5) * 1000, 11001 + (k - 5) * 1000);
	}
	ts_advance_ms(t, 280);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:9001,nop,nop>");
	ts_expect_data(t, 14001, 15001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	while (!ts_next(t, (char[512]){ 0 }, 512))
		ts_advance_ms(t, 1);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_LOSS);
	assert_int_equal(i.unacked, 15);
	assert_int_equal(i.sacked, 8);
	assert_int_equal(i.lost, 2);
	assert_int_equal(i.retrans, 1);
	assert_int_equal(i.snd_cwnd, 6);
	ts_expect_none(t);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- Nagle ---- */

/* tcp_nagle_https_client: a client with TCP_NODELAY (no TSO, no
 * timestamps, the server's MSS 974): the short end of a write goes at
 * once though a short segment sent before is unacknowledged, which Nagle
 * (Minshall's rule) would hold until its ACK. */
static void test_nodelay_sends_short_tail_behind_unacked_short(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	char buf[1000];

	(void)state;
	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, "S. 0:0(0) ack 1 win 5792 <mss 974,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_send(c, big, 517, t->h->now), 517);
	ts_expect(t, "P. 1:518(517) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 518 win 229");
	ts_inject(t, "P. 1:144(143) ack 518 win 229");
	ts_expect(t, ". 518:518(0) ack 144 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 143);
	assert_int_equal(tcp_send(c, big, 51, t->h->now), 51);
	ts_expect(t, "P. 518:569(51) ack 144 win *");
	ts_advance_ms(t, 30);
	assert_int_equal(tcp_send(c, big, 2002, t->h->now), 2002);
	ts_expect(t, ". 569:1543(974) ack 144 win *");
	ts_expect(t, ". 1543:2517(974) ack 144 win *");
	ts_expect(t, "P. 2517:2571(54) ack 144 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 2571 win 229");
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_nagle_sendmsg_msg_more: MSG_MORE holds a partial segment though
 * TCP_NODELAY is set: alone, it goes when the probe timer fires (about an
 * RTO later); a send without the flag takes everything held with it; of a
 * write longer than the MSS the full segments go and the rest waits, until
 * the next ACK (the push after an ACK follows TCP_NODELAY again); held data
 * behind a segment in flight goes with that segment's ACK; a plain write
 * after a MSG_MORE one sends both together. */
static void test_msg_more_holds_partial_segment(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 257, false);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 200);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	assert_true(ts_expect_data(t, 1, 41));      /* tcp_write_wakeup sets PSH */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 41 win 257");

	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_advance_ms(t, 5);
	assert_int_equal(tcp_send(c, big, 160, t->h->now), 160);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 495, t->h->now), 495);
	ts_advance_ms(t, 8);
	ts_expect_none(t);
	tcp_set_more(c, false);
	assert_int_equal(tcp_send(c, big, 5, t->h->now), 5);
	assert_true(ts_expect_data(t, 41, 801));
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 801 win 257");

	ts_advance_ms(t, 100);
	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 3100, t->h->now), 3100);
	expect_run(t, 801, 3801);
	ts_expect_none(t);
	ts_advance_ms(t, 3);
	assert_int_equal(tcp_send(c, big, 50, t->h->now), 50);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 2801 win 257");
	assert_false(ts_expect_data(t, 3801, 3951));        /* MSG_MORE writes: no PSH */
	ts_expect_none(t);

	for (unsigned n = 1; n <= 4; n++) {
		ts_advance_ms(t, n);
		tcp_set_more(c, true);
		assert_int_equal(tcp_send(c, big, n, t->h->now), n);
	}
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 3951 win 257");
	assert_false(ts_expect_data(t, 3951, 3961));
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 3961 win 257");

	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 20, t->h->now), 20);
	ts_advance_ms(t, 50);
	ts_expect_none(t);
	tcp_set_more(c, false);
	assert_int_equal(tcp_send(c, big, 20, t->h->now), 20);
	assert_true(ts_expect_data(t, 3961, 4001));
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 4001 win 257");
	ts_abort(t, c);
	ts_free(t);
}

/* ---- window probes ---- */

/* tcp_grow_skb (Linux 6.10+), measured on Linux 6.18 (27-rawframes.bats,
 * bulk_window_probe_grow): 4000 bytes written to a peer whose window is
 * 1460 go in buffers of 730 (tcp_bound_to_half_wnd). The window closes,
 * then opens 10 bytes: the probe timer sends them and cuts the buffer
 * [1461, 2191). Once the window opens wide, tcp_write_xmit grows what is
 * left of that buffer from the next one: 720 + 730 = 1450 bytes, one
 * segment below the MSS (pstack cut 1460 across the buffers' edge
 * before); short, it holds the last 1080 back (Minshall's Nagle) until
 * its ACK. */
static void test_probe_cut_buffer_grows_from_next(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 1460 <mss 1460>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460>");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 1 win 1460");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	ts_expect(t, ". 1:731(730) ack 1 win *");
	ts_expect(t, "P. 731:1461(730) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 1461 win 0");
	ts_inject(t, ". 1:1(0) ack 1461 win 10");
	ts_expect_none(t);
	while (!ts_next(t, (char[512]){ 0 }, 512) && t->h->now < 2000000)
		ts_advance_ms(t, 1);
	assert_int_equal(t->last_len, 10);         /* the probe: 1461:1471 */
	ts_inject(t, ". 1:1(0) ack 1471 win 30000");
	ts_expect(t, "P. 1471:2921(1450) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 2921 win 30000");
	ts_expect(t, "P. 2921:4001(1080) ack 1 win *");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 4001 win 30000");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prr_two_holes_resends_and_conserves),
		cmocka_unit_test(test_prr_counts_sack_of_ack_below_snd_una),
		cmocka_unit_test(test_limited_transmit_with_sack),
		cmocka_unit_test(test_limited_transmit_without_sack),
		cmocka_unit_test(test_sack_marks_lost_and_resends_one_per_sack),
		cmocka_unit_test(test_idle_restart_halves_cwnd_per_rto),
		cmocka_unit_test(test_tlp_resends_last_segment_of_tso_frame),
		cmocka_unit_test(test_no_tlp_in_disorder),
		cmocka_unit_test(test_rack_reo_timer_rto_from_head),
		cmocka_unit_test(test_rto_cwnd_is_in_flight_plus_one),
		cmocka_unit_test(test_tlp_copy_not_counted_as_retransmission),
		cmocka_unit_test(test_nodelay_sends_short_tail_behind_unacked_short),
		cmocka_unit_test(test_msg_more_holds_partial_segment),
		cmocka_unit_test(test_probe_cut_buffer_grows_from_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
