/* The sending side against Linux's packetdrill selftests
 * (tools/testing/selftests/net/packetdrill): slow start, PRR in fast
 * recovery, the SACK scoreboard, MSG_EOR, Nagle/cork/MSG_MORE and
 * TCP_INFO's send-buffer-limited time. Each test names the selftest it
 * follows. Those scripts talk to a peer that announces an MSS of 1000 and
 * no timestamps, so most tests here open the connection the same way and
 * the segments carry 1000 bytes, as in the scripts; Linux's tun device
 * takes TSO frames, and so does the harness's link here (h_enable_tso). */
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

static uint32_t cwnd_segs(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_cwnd;
}

/* ---- slow start ---- */

/* tcp_slow_start_slow-start-ack-per-{1,2,4}pkt: a sender with more to send
 * than its window (not application-limited) grows cwnd in slow start by
 * every segment an ACK covers, whether the receiver ACKs every segment,
 * every second or every fourth (Linux's tcp_slow_start: cwnd + acked, no
 * cap of 2 segments per ACK): each ACK of n segments releases 2n new ones,
 * and cwnd doubles from 10 to 20 over the round. */
static void slow_start_acks_per(unsigned every)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);
	unsigned next = 10001;

	assert_int_equal(tcp_send(c, big, 30000, t->h->now), 30000);
	ts_expect_data(t, 1, 10001);
	ts_expect_none(t);
	assert_int_equal(cwnd_segs(t, c), 10);
	ts_advance_ms(t, 100);
	for (unsigned acked = every * 1000; acked <= 10000; acked += every * 1000) {
		unsigned end = next + 2 * every * 1000 > 30001 ? 30001 : next + 2 * every * 1000;

		ts_advance_ms(t, 2);
		ts_injectf(t, ". 1:1(0) ack %u win 257", acked + 1);
		ts_expect_data(t, next, end);
		ts_expect_none(t);
		next = end;
		if (acked + every * 1000 > 10000 && acked < 10000) {
			/* the round's last ACK covers what is left of it */
			ts_advance_ms(t, 2);
			ts_injectf(t, ". 1:1(0) ack %u win 257", 10001);
			ts_expect_data(t, next, 30001);
			next = 30001;
		}
	}
	assert_int_equal(next, 30001);
	assert_int_equal(cwnd_segs(t, c), 20);
	ts_abort(t, c);
	ts_free(t);
}

static void test_slow_start_grows_by_each_segment_acked(void **state)
{
	(void)state;
	slow_start_acks_per(1);
}

static void test_slow_start_grows_by_two_per_delayed_ack(void **state)
{
	(void)state;
	slow_start_acks_per(2);
}

static void test_slow_start_stretch_ack_grows_by_all_it_covers(void **state)
{
	(void)state;
	slow_start_acks_per(4);
}

/* tcp_slow_start_slow-start-ack-per-2pkt-send-{5,6}pkt,
 * tcp_slow_start_slow-start-app-limited{,-9-packets-out}: an application-
 * limited sender grows cwnd only up to twice what it had in flight in the
 * round (Linux's tcp_is_cwnd_limited: in slow start, cwnd < 2 *
 * max_packets_out), and without that limit when the flight filled cwnd
 * (is_cwnd_limited). The receiver ACKs every second segment. */
static void app_limited(unsigned pkts, const unsigned *cwnds)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);
	unsigned k = 0;

	assert_int_equal(tcp_send(c, big, pkts * 1000, t->h->now), pkts * 1000);
	ts_expect_data(t, 1, pkts * 1000 + 1);
	assert_int_equal(cwnd_segs(t, c), 10);
	ts_advance_ms(t, 100);
	for (unsigned acked = 2; ; acked += 2) {
		if (acked > pkts)
			acked = pkts;
		ts_advance_ms(t, 5);
		ts_injectf(t, ". 1:1(0) ack %u win 257", acked * 1000 + 1);
		assert_int_equal(cwnd_segs(t, c), cwnds[k]);
		k++;
		if (acked == pkts)
			break;
	}
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

static void test_slow_start_five_of_ten_out_no_growth(void **state)
{
	static const unsigned cwnds[] = { 10, 10, 10 };

	(void)state;
	app_limited(5, cwnds);
}

static void test_slow_start_six_of_ten_out_grows_to_twelve(void **state)
{
	static const unsigned cwnds[] = { 12, 12, 12 };

	(void)state;
	app_limited(6, cwnds);
}

static void test_slow_start_nine_out_grows_to_eighteen(void **state)
{
	static const unsigned cwnds[] = { 12, 14, 16, 18, 18 };

	(void)state;
	app_limited(9, cwnds);
}

static void test_slow_start_full_window_out_grows_to_twenty(void **state)
{
	static const unsigned cwnds[] = { 12, 14, 16, 18, 20 };

	(void)state;
	app_limited(10, cwnds);
}

/* Two rounds that end with cwnd 36, as in the after-idle scripts: 10
 * segments acknowledged at once (cwnd 20), then 16 (cwnd 36). */
static struct tcp_conn *grow_to_36(struct tscript *t)
{
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 511, true);

	assert_int_equal(tcp_send(c, big, 26000, t->h->now), 26000);
	ts_expect_data(t, 1, 10001);
	assert_int_equal(cwnd_segs(t, c), 10);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 511");
	assert_int_equal(cwnd_segs(t, c), 20);
	ts_expect_data(t, 10001, 26001);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	return c;
}

/* tcp_slow_start_slow-start-after-idle (net.ipv4.tcp_slow_start_after_idle
 * 1, Linux's default and pstack's behaviour): a sender idle for longer than
 * the RTO starts again from the initial window (tcp_cwnd_restart: 36
 * halved per RTO idle, no lower than 10). Linux sends that window as two
 * TSO frames of half of it each (tcp_cwnd_test's half-cwnd cap); the
 * segments on the wire are the same 10. */
static void test_slow_start_restarts_after_idle(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = grow_to_36(t);
	unsigned next = 26001;

	(void)state;
	ts_inject(t, ". 1:1(0) ack 26001 win 511");
	assert_int_equal(cwnd_segs(t, c), 36);
	ts_advance_ms(t, 2000);
	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	while (next < 36001) {
		char line[256];
		unsigned s, e;

		assert_true(ts_next(t, line, sizeof(line)));
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &s, &e), 2);
		assert_int_equal(s, next);
		next = e;
	}
	assert_int_equal(next, 36001);
	ts_expect_none(t);
	assert_int_equal(cwnd_segs(t, c), 10);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_slow_start_slow-start-after-win-update: the peer's window closes
 * with everything acknowledged; the zero-window probes (RTO-spaced,
 * backing off: 300, 600, 1200 ms after a 100 ms RTT) leave cwnd alone;
 * when the window opens again after more than an RTO without data sent,
 * the sender restarts from the initial window as after any idle time. */
static void test_slow_start_restarts_after_zero_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = grow_to_36(t);
	unsigned next = 26001;

	(void)state;
	ts_inject(t, ". 1:1(0) ack 26001 win 0");
	assert_int_equal(cwnd_segs(t, c), 36);
	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	ts_expect_none(t);
	ts_advance_ms(t, 299);
	ts_expect_none(t);
	ts_advance_ms(t, 11);
	ts_expect(t, ". 26000:26000(0) ack 1 win *");
	assert_int_equal(cwnd_segs(t, c), 36);
	ts_advance_ms(t, 580);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_expect(t, ". 26000:26000(0) ack 1 win *");
	assert_int_equal(cwnd_segs(t, c), 36);
	ts_advance_ms(t, 1180);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_expect(t, ". 26000:26000(0) ack 1 win *");
	assert_int_equal(cwnd_segs(t, c), 36);
	ts_advance_ms(t, 900);
	ts_inject(t, ". 1:1(0) ack 26001 win 511");
	while (next < 36001) {
		char line[256];
		unsigned s, e;

		assert_true(ts_next(t, line, sizeof(line)));
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &s, &e), 2);
		assert_int_equal(s, next);
		next = e;
	}
	assert_int_equal(next, 36001);
	ts_expect_none(t);
	assert_int_equal(cwnd_segs(t, c), 10);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- fast recovery ---- */

/* tcp_fast_recovery_prr-ss-10pkt-lost-1: the first of ten segments is
 * lost; the third SACK starts recovery (the fast retransmission, cwnd and
 * ssthresh 7 by CUBIC's 0.7), and with the flight at ssthresh from then on
 * PRR's slow-start bound sends one new segment per segment SACKed; the
 * ACK that ends recovery leaves cwnd at ssthresh. */
static void test_prr_one_new_segment_per_sacked_at_ssthresh(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 110);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:2001,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:3001,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:4001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(i.snd_cwnd, 7);
	assert_int_equal(i.snd_ssthresh, 7);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 7000, t->h->now), 7000);
	ts_expect_none(t);
	for (unsigned k = 5; k <= 10; k++) {
		ts_advance_ms(t, 10);
		ts_injectf(t, ". 1:1(0) ack 1 win 320 <sack 1001:%u,nop,nop>", k * 1000 + 1);
		ts_expect_data(t, 10001 + (k - 5) * 1000, 11001 + (k - 5) * 1000);
		ts_expect_none(t);
	}
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 10001 win 320");
	ts_expect_data(t, 16001, 17001);
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	assert_int_equal(i.snd_cwnd, 7);
	assert_int_equal(i.snd_ssthresh, 7);
	ts_inject(t, ". 1:1(0) ack 17001 win 320");
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_fast_recovery_prr-ss-30pkt-lost1_4: the first four of ten segments
 * are lost and resent one per SACK; once everything is ACKed recovery ends
 * with nothing in flight, and cwnd is ssthresh (Linux's
 * tcp_end_cwnd_reduction), so the next write sends seven segments at once
 * (RFC 6582's min(ssthresh, flight + MSS), which pstack had, sent two). */
static void test_recovery_exit_leaves_cwnd_at_ssthresh(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:5001,nop,nop>");
	ts_advance_ms(t, 2);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:6001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:7001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:8001,nop,nop>");
	ts_expect_data(t, 1001, 2001);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:9001,nop,nop>");
	ts_expect_data(t, 2001, 3001);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4001:10001,nop,nop>");
	ts_expect_data(t, 3001, 4001);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 4001:10001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 2001 win 320 <sack 4001:10001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 3001 win 320 <sack 4001:10001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 10001 win 320");
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	assert_int_equal(i.snd_ssthresh, 7);
	assert_int_equal(i.snd_cwnd, 7);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 10001, 17001);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 17001 win 320");
	ts_expect_data(t, 17001, 20001);
	ts_inject(t, ". 1:1(0) ack 20001 win 320");
	ts_abort(t, c);
	ts_free(t);
}

/* ---- MSG_EOR ---- */

/* tcp_eor_no-coalesce-large: a 10400-byte write fills the initial window
 * and leaves 400 bytes; a 10400-byte record joins them (10800 bytes go
 * together), and the 2000 bytes written after the record go on their own.
 * Linux sends those after the next ACK (its TSO deferral); here they go at
 * once, in a frame of their own all the same. Each frame carries PSH, as
 * the script has them: the first, cut from the write's buffer before its
 * end, as every TSO frame of more than one segment. */
static void test_eor_large_record_then_write_alone(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 514, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 10400, t->h->now), 10400);
	assert_int_equal(tcp_send(c, big, 10400, t->h->now), 10400);
	tcp_mark_eor(c);
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	assert_true(ts_expect_data(t, 1, 10001));
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10001 win 514");
	assert_true(ts_expect_data(t, 10001, 20801));
	assert_true(ts_expect_data(t, 20801, 22801));
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 22801 win 514");
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_eor_no-coalesce-small: the 400-byte record joins the 400 bytes the
 * first write left unsent (800 bytes together), and the 10000 bytes written
 * after it go in a frame of their own. */
static void test_eor_small_record_then_write_alone(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 514, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 10400, t->h->now), 10400);
	assert_int_equal(tcp_send(c, big, 400, t->h->now), 400);
	tcp_mark_eor(c);
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	assert_true(ts_expect_data(t, 1, 10001));       /* a TSO frame: PSH, as the script has it */
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10001 win 514");
	assert_true(ts_expect_data(t, 10001, 10801));
	assert_true(ts_expect_data(t, 10801, 20801));
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10401 win 514");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10801 win 514");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 20801 win 514");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_eor_no-coalesce-subsequent: ten 400-byte records back to back; the
 * first joins the unsent tail of the write before, each of the other nine
 * goes in a frame of its own, and so does the write after them. */
static void test_eor_records_each_alone(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 514, true);
	unsigned seq;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10400, t->h->now), 10400);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(tcp_send(c, big, 400, t->h->now), 400);
		tcp_mark_eor(c);
	}
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	assert_true(ts_expect_data(t, 1, 10001));       /* a TSO frame: PSH, as the script has it */
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10001 win 514");
	assert_true(ts_expect_data(t, 10001, 10801));
	for (seq = 10801; seq < 14401; seq += 400)
		assert_true(ts_expect_data(t, seq, seq + 400));
	assert_true(ts_expect_data(t, 14401, 24401));
	ts_expect_none(t);
	for (seq = 10401; seq <= 14401; seq += 400) {
		ts_advance_ms(t, 1);
		ts_injectf(t, ". 1:1(0) ack %u win 514", seq);
	}
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 24401 win 514");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_eor_no-coalesce-retrans: the records of no-coalesce-subsequent, then
 * ACKs up to 12001 with a SACK of 13201:14401: RACK's reordering timer
 * (the RTT of the newest delivery plus a quarter of the least RTT, and
 * Linux's TCP_TIMEOUT_MIN, 2 ms: tcp_rack_mark_lost) resends the record
 * 12001:12401 alone, a few ms later; the ACK of it lets the next two go,
 * each alone: a resend never joins two records. */
static void test_eor_records_resent_each_alone(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 514, true);
	char line[512];
	uint64_t sacked_at;
	unsigned seq;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10400, t->h->now), 10400);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(tcp_send(c, big, 400, t->h->now), 400);
		tcp_mark_eor(c);
	}
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	assert_true(ts_expect_data(t, 1, 10001));
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10001 win 514");
	ts_expect(t, "P. 10001:10801(800) ack 1 win *");
	for (seq = 10801; seq < 14401; seq += 400) {
		snprintf(line, sizeof(line), "P. %u:%u(400) ack 1 win *", seq, seq + 400);
		ts_expect(t, line);
	}
	assert_true(ts_expect_data(t, 14401, 24401));
	ts_expect_none(t);
	for (seq = 10401; seq < 12001; seq += 400) {
		ts_advance_ms(t, 1);
		ts_injectf(t, ". 1:1(0) ack %u win 514", seq);
	}
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 12001 win 514 <sack 13201:14401,nop,nop>");
	sacked_at = t->h->now;
	ts_expect_none(t);
	while (!ts_next(t, line, sizeof(line)) && t->h->now - sacked_at < 20000)
		ts_advance_us(t, 100);
	assert_true(ts_match("P. 12001:12401(400) ack 1 win *", line));
	/* The script has it 4 to 8 ms after the SACK; pstack's timer is due
	 * 2.25 ms after (the quarter of the least RTT, 1 ms, plus the 2 ms
	 * Linux adds). Linux's send times of the records are its pacing's
	 * departure times (the EDT model: tcp_wstamp_ns moves on by each
	 * skb's length at the pacing rate even without fq), which puts its
	 * RACK deadlines later; pstack does not pace. */
	assert_in_range(t->h->now - sacked_at, 2000, 8000);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 12401 win 514 <sack 13201:14401,nop,nop>");
	ts_expect(t, "P. 12401:12801(400) ack 1 win *");
	/* The script has 12801:13201 go on this ACK too; pstack's PRR lets
	 * one segment go per segment delivered here, and sends it on the
	 * next ACK: each record alone all the same. */
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 12801 win 514 <sack 13201:14401,nop,nop>");
	ts_expect(t, "P. 12801:13201(400) ack 1 win *");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 14401 win 514");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 24401 win 514");
	while (ts_next(t, line, sizeof(line)))
		;       /* what goes after the script's last line (RACK's resends of 14401:) */
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_start_grows_by_each_segment_acked),
		cmocka_unit_test(test_slow_start_grows_by_two_per_delayed_ack),
		cmocka_unit_test(test_slow_start_stretch_ack_grows_by_all_it_covers),
		cmocka_unit_test(test_slow_start_five_of_ten_out_no_growth),
		cmocka_unit_test(test_slow_start_six_of_ten_out_grows_to_twelve),
		cmocka_unit_test(test_slow_start_nine_out_grows_to_eighteen),
		cmocka_unit_test(test_slow_start_full_window_out_grows_to_twenty),
		cmocka_unit_test(test_slow_start_restarts_after_idle),
		cmocka_unit_test(test_slow_start_restarts_after_zero_window),
		cmocka_unit_test(test_prr_one_new_segment_per_sacked_at_ssthresh),
		cmocka_unit_test(test_recovery_exit_leaves_cwnd_at_ssthresh),
		cmocka_unit_test(test_eor_large_record_then_write_alone),
		cmocka_unit_test(test_eor_small_record_then_write_alone),
		cmocka_unit_test(test_eor_records_each_alone),
		cmocka_unit_test(test_eor_records_resent_each_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
