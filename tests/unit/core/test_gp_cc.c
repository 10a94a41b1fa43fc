/* Congestion control and loss recovery against the packetdrill scripts
 * Google publishes for Linux's TCP (google/packetdrill, gtests/net/tcp:
 * cubic/, fast_retransmit/, cwnd_moderation/, limited_transmit/,
 * slow_start/, mtu_probe/). Each test names the script it follows. As
 * there, the peer announces an MSS of 1000 and window scale 7, and the
 * link takes TSO frames; the harness clock moves exactly as the script's
 * does, since CUBIC's windows depend on the time between ACKs. */
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

/* The next frames carry [start, end) between them, in order, whatever
 * their sizes (Linux's TSO frames and pstack's need not split alike). */
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

static void expect_fin(struct tscript *t, unsigned end)
{
	char spec[128];

	snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1 win *", end, end);
	ts_expect(t, spec);
}

static void expect_last_ack(struct tscript *t, unsigned una)
{
	char spec[128];

	snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win *", una, una);
	ts_expect(t, spec);
}

/* ---- cubic/ ---- */

/* cubic/cubic-hystart-delay-rtt-jumps-upward.pkt: RTT 200 ms, then a
 * round whose samples are all 240 ms and more. HyStart's delay test
 * waits for eight samples of the round; on the ninth, the round's least
 * RTT is above min_rtt + min_rtt/8 (clamped to 4..16 ms): slow start ends,
 * ssthresh = cwnd = 36, and that ACK no longer grows cwnd. */
static void test_hystart_delay_exits_on_ninth_sample_of_slow_round(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 200, 257, true);
	uint32_t ack;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(tcp_send(c, big, 30000, t->h->now), 30000);
	expect_run(t, 1, 10001);
	assert_int_equal(ts_cwnd(t, c), 10);
	ts_advance_ms(t, 200);
	ts_inject(t, ". 1:1(0) ack 10001 win 257");
	expect_run(t, 10001, 30001);
	assert_int_equal(ts_cwnd(t, c), 20);
	ts_advance_ms(t, 240);
	for (ack = 12001; ack <= 26001; ack += 2000) {
		ts_injectf(t, ". 1:1(0) ack %u win 257", ack);
		assert_int_equal(ssthresh_of(t, c), INFINITE_SSTHRESH);
		assert_int_equal(ts_cwnd(t, c), 20 + (ack - 10001) / 1000);
		ts_advance_ms(t, 1);
	}
	ts_inject(t, ". 1:1(0) ack 28001 win 257");
	assert_int_equal(ssthresh_of(t, c), 36);
	assert_int_equal(ts_cwnd(t, c), 36);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 30001 win 257");
	assert_int_equal(ssthresh_of(t, c), 36);
	assert_int_equal(ts_cwnd(t, c), 36);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* cubic/cubic-hystart-delay-min-rtt-jumps-downward.pkt: a round of RTT
 * samples from 200 ms up to 208 ms, then a ninth of 29 ms (a small write
 * sent late). That sample lowers min_rtt and the round's least RTT
 * together: HyStart must not compare the old 200 ms round against the new
 * 29 ms minimum and exit (Linux's fix of June 2020, b344579ca847). */
static void test_hystart_delay_no_exit_when_min_rtt_drops(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 200, 257, true);
	uint32_t ack;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(tcp_send(c, big, 28000, t->h->now), 28000);
	expect_run(t, 1, 10001);
	assert_int_equal(ts_cwnd(t, c), 10);
	ts_advance_ms(t, 200);
	ts_inject(t, ". 1:1(0) ack 10001 win 257");
	expect_run(t, 10001, 28001);
	assert_int_equal(ts_cwnd(t, c), 20);
	ts_advance_ms(t, 180);
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	expect_run(t, 28001, 30001);
	ts_advance_ms(t, 20);
	for (ack = 12001; ack <= 30001; ack += 2000) {
		ts_injectf(t, ". 1:1(0) ack %u win 257", ack);
		assert_int_equal(ssthresh_of(t, c), INFINITE_SSTHRESH);
		assert_int_equal(ts_cwnd(t, c), 20 + (ack - 10001) / 1000);
		ts_advance_ms(t, 1);
	}
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}


/* cubic/cubic-bulk-166k.pkt, its slow start: a bulk sender whose peer
 * ACKs two segments every 100 ms, so that each RTT sample is longer than
 * the last. HyStart's rounds start only once cwnd reaches 16 segments (the
 * fourth ACK here); that round ends before it has nine samples, and the
 * delay test ends slow start on the ninth sample of the next: cwnd 48 after
 * the ACK of 38001, ssthresh 48 from the next ACK on. (The script goes on
 * to check CUBIC's growth after that: test_gp_cubic.c.) */
static void test_cubic_bulk_hystart_exits_at_48(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 4112, true);
	unsigned ack;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(ts_cwnd(t, c), 10);
	assert_int_equal(tcp_send(c, big, 400000, t->h->now), 400000);
	for (ack = 2001; ack <= 38001; ack += 2000) {
		ts_advance_ms(t, 100);
		ts_injectf(t, ". 1:1(0) ack %u win 4112", ack);
		h_drain_tx(t->h);
		assert_int_equal(ssthresh_of(t, c), INFINITE_SSTHRESH);
		assert_int_equal(ts_cwnd(t, c), 10 + (ack - 1) / 1000);
	}
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 40001 win 4112");
	h_drain_tx(t->h);
	assert_int_equal(ssthresh_of(t, c), 48);
	assert_int_equal(ts_cwnd(t, c), 48);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- fast_retransmit/ ---- */

/* The passive open of the fast_retransmit scripts: the peer's SYN comes
 * 100 ms in with MSS mss, SACK or not, window scale 7, no timestamps; its
 * ACK 100 ms later. TSO on the link. */
static struct tcp_conn *accept_after(struct tscript *t, unsigned mss, bool sack, unsigned win)
{
	struct tcp_conn *l, *c;
	int err;

	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_advance_ms(t, 100);
	if (sack) {
		ts_injectf(t, "S 0:0(0) win 32792 <mss %u,sackOK,nop,nop,nop,wscale 7>", mss);
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	} else {
		ts_injectf(t, "S 0:0(0) win 32792 <mss %u,nop,wscale 7>", mss);
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 7>");
	}
	ts_advance_ms(t, 100);
	ts_injectf(t, ". 1:1(0) ack 1 win %u", win);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	return c;
}

/* The end of the fast_retransmit scripts: all ACKed, then an orderly close. */
static void close_after(struct tscript *t, struct tcp_conn *c, unsigned end)
{
	ts_advance_ms(t, 100);
	tcp_close(c, t->h->now);
	expect_fin(t, end);
	ts_advance_ms(t, 100);
	ts_injectf(t, "F. 1:1(0) ack %u win 257", end + 1);
	expect_last_ack(t, end + 1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_advance_ms(t, 60000);
}

/* fast_retransmit/fr-4pkt.pkt and fr-4pkt-sack.pkt: four full segments
 * out (IW10 lets them all go), the first lost; the three duplicate ACKs
 * (plain, or SACKing the other three in turn) retransmit it at once, and
 * nothing more (no new data to send); the ACK of everything ends it. */
static void fast_retransmit_4pkt(bool sack)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_after(t, 1460, sack, 257);

	assert_int_equal(tcp_send(c, big, 5840, t->h->now), 5840);
	expect_run(t, 1, 5841);
	ts_advance_ms(t, 100);
	if (sack) {
		ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>");
		ts_expect_none(t);
		ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:4381,nop,nop>");
		ts_expect_none(t);
		ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:5841,nop,nop>");
	} else {
		ts_inject(t, ". 1:1(0) ack 1 win 257");
		ts_expect_none(t);
		ts_inject(t, ". 1:1(0) ack 1 win 257");
		ts_expect_none(t);
		ts_inject(t, ". 1:1(0) ack 1 win 257");
	}
	ts_expect(t, ". 1:1461(1460) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 5841 win 257");
	ts_expect_none(t);
	close_after(t, c, 5841);
	ts_free(t);
}

static void test_fast_retransmit_after_three_dupacks(void **state)
{
	(void)state;
	fast_retransmit_4pkt(false);
}

static void test_fast_retransmit_after_three_sacks(void **state)
{
	(void)state;
	fast_retransmit_4pkt(true);
}

/* fast_retransmit/fr-4pkt-fack-last-mss.pkt: four segments out, the
 * first three lost; the SACK of the fourth alone is not three duplicate
 * ACKs, and RACK waits a reordering window (a quarter of min_rtt, 25 ms
 * here) past the fourth's RTT before it calls the first lost and resends
 * it. (The script's 40 ms is that window in a kernel's jiffies plus
 * TCP_TIMEOUT_MIN; today's Linux arms the timer for 25 ms + 2 jiffies.) */
static void test_rack_resends_after_reo_window_when_last_mss_sacked(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_after(t, 1000, true, 320);

	(void)state;
	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	expect_run(t, 1, 4001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 3001:4001,nop,nop>");
	ts_expect_none(t);
	ts_advance_ms(t, 24);
	ts_expect_none(t);
	ts_advance_ms(t, 16);
	ts_expect_data(t, 1, 1001);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* fast_retransmit/fr-4pkt-fack-last-byte.pkt: the same four segments, but
 * the SACK covers only the last byte of the fourth. A SACK of part of a
 * segment marks nothing: no RACK loss, no recovery. The tail loss probe
 * (two SRTTs after the send) resends the fourth; the RTO (SRTT + 4
 * RTTVAR = 300 ms after the probe) the first; its ACK, with cwnd 2 in
 * slow start, the second and third; the next ACK the fourth. */
static void test_sack_of_last_byte_marks_nothing(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_after(t, 1000, true, 320);

	(void)state;
	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	expect_run(t, 1, 4001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 4000:4001,nop,nop>");
	ts_expect_none(t);
	ts_advance_ms(t, 99);
	ts_expect_none(t);
	ts_advance_ms(t, 4);
	ts_expect_data(t, 3001, 4001);
	ts_expect_none(t);
	ts_advance_ms(t, 298);
	ts_expect_none(t);
	ts_advance_ms(t, 4);
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	ts_advance_ms(t, 500);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 4000:4001,nop,nop>");
	expect_run(t, 1001, 3001);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 3001 win 320 <sack 4000:4001,nop,nop>");
	ts_expect_data(t, 3001, 4001);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 4001 win 257");
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	expect_fin(t, 4001);
	ts_advance_ms(t, 100);
	ts_inject(t, "F. 1:1(0) ack 4002 win 257");
	expect_last_ack(t, 4002);
	ts_advance_ms(t, 60000);
	ts_free(t);
}

/* ---- slow_start/ ---- */

/* slow_start/slow-start-fq-ack-per-2pkt.pkt, its windows: a bulk sender
 * (not application-limited) whose peer ACKs every second full segment
 * grows cwnd by two per ACK, 10 to 20 over five ACKs, however the sends
 * are spread in time (the last ACK's sends meet the end of the write). The script's point about the fq qdisc's pacing and
 * TCP Small Queues does not apply: pstack neither paces nor holds sends
 * back, the whole window goes at once. */
static void test_slow_start_ack_per_2pkt_grows_two_per_ack(void **state)
{
	static const unsigned step_us[] = { 105000, 3000, 1000, 2000, 1000 };
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_after(t, 1460, true, 500);
	unsigned i, end, ack = 1;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 200000), 0);
	assert_int_equal(tcp_send(c, big, 40000, t->h->now), 40000);
	expect_run(t, 1, 14601);
	ts_expect_none(t);
	assert_int_equal(ts_cwnd(t, c), 10);
	for (i = 0; i < 5; i++) {
		ts_advance_us(t, step_us[i]);
		ack += 2920;
		ts_injectf(t, ". 1:1(0) ack %u win 500", ack);
		assert_int_equal(ts_cwnd(t, c), 12 + 2 * i);
		end = 14601 + 2 * 2920 * (i + 1);
		expect_run(t, 14601 + 2 * 2920 * i, end < 40001 ? end : 40001);
		ts_expect_none(t);
	}
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hystart_delay_exits_on_ninth_sample_of_slow_round),
		cmocka_unit_test(test_hystart_delay_no_exit_when_min_rtt_drops),
		cmocka_unit_test(test_cubic_bulk_hystart_exits_at_48),
		cmocka_unit_test(test_fast_retransmit_after_three_dupacks),
		cmocka_unit_test(test_fast_retransmit_after_three_sacks),
		cmocka_unit_test(test_rack_resends_after_reo_window_when_last_mss_sacked),
		cmocka_unit_test(test_sack_of_last_byte_marks_nothing),
		cmocka_unit_test(test_slow_start_ack_per_2pkt_grows_two_per_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
