/* A seventh sweep of Linux's wire-level TCP tests: the first release of
 * google/packetdrill's scripts for Linux (tests/linux/, as google/bbr
 * carries them) that no earlier sweep ported: close/, early_retransmit/,
 * fast_recovery/prr-ss-ack-below-snd_una-reno, pmtu_discovery/, sack/
 * and undo/undo-fr-ack-then-dsack-on-ack-below-snd_una. Their kernels
 * had early retransmit and FACK; Linux 6.18 has neither (RACK's
 * reordering timer does early retransmit's work, RFC 8985 §6.2 and §7),
 * so where a script's figures come from the old mechanisms the test says
 * what 6.18 does and why (net/ipv4/tcp_recovery.c tcp_rack_reo_wnd,
 * tcp_input.c tcp_cwnd_reduction). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t big[1 << 16];

static void info(struct tscript *t, struct tcp_conn *c, struct tcp_conn_info *i)
{
	tcp_get_info(c, i, t->h->now);
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
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u(%u)", &s, &e, &n), 3);
		if (s != start || e > end || e <= s)
			fail_msg("sent %s, expected data from %u to %u", line, start, end);
		start = e;
	}
}

/* The passive open of the first release's scripts with the peer's MSS
 * 1460: SACK (or not), window scale 7, no timestamps, its ACK rtt_ms
 * later with window 257 (x128); TSO on the link, as on packetdrill's tun. */
static struct tcp_conn *accept_mss1460(struct tscript *t, unsigned rtt_ms, bool sack)
{
	struct tcp_conn *l, *c;
	int err;

	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	if (sack) {
		ts_inject(t, "S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	} else {
		ts_inject(t, "S 0:0(0) win 32792 <mss 1460,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 7>");
	}
	ts_advance_ms(t, rtt_ms);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	return c;
}

/* The scripts' clean-up: close, FIN, the peer's FIN and our last ACK. */
static void close_after(struct tscript *t, struct tcp_conn *c, unsigned end)
{
	char spec[128];

	tcp_close(c, t->h->now);
	snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1 win *", end, end);
	ts_expect(t, spec);
	ts_advance_ms(t, 100);
	ts_injectf(t, "F. 1:1(0) ack %u win 257", end + 1);
	snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win *", end + 1, end + 1);
	ts_expect(t, spec);
	ts_expect_none(t);
	ts_advance_ms(t, 60000);        /* TIME_WAIT's end */
}

/* ---- close/ ---- */

/* close/close-so-linger-onoff-1-linger-0-rst.pkt: SO_LINGER {1, 0} and
 * close() on an established connection whose data was all ACKed: a
 * reset at SND.NXT with the ACK, and the connection is gone at once (no
 * TIME_WAIT). */
static void test_close_linger0_rst(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 0, 257, true);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 0), 0);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1001:1001(0) ack 1 win 502");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	assert_int_equal(tcp_after_fin(t->h->s), 0);
	ts_free(t);
}

/* close/close-read-data-fin.pkt and close-unread-data-rst.pkt: the first
 * data is ACKed at once (quick-ACK mode); our answer makes the connection
 * interactive, so the peer's FIN gets a delayed ACK, 40 ms later; close()
 * then sends a FIN when everything was read (RFC 9293 §3.10.4), a reset
 * with the ACK when data waits unread (RFC 1122 §4.2.2.13). */
static void close_after_peer_fin(bool read)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = accept_mss1460(t, 100, true);

	ts_advance_ms(t, 10);
	ts_inject(t, "P. 1:1001(1000) ack 1 win 46");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	ts_advance_ms(t, 40);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1001 win *");
	ts_advance_ms(t, 50);
	ts_inject(t, ". 1001:1001(0) ack 1001 win 257");
	ts_advance_ms(t, 100);
	if (read)
		assert_int_equal(tcp_recv(c, big, 1000, 0, t->h->now), 1000);
	ts_advance_ms(t, 210);
	ts_inject(t, "F. 1001:1001(0) ack 1001 win 260");
	ts_advance_ms(t, 39);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1001:1001(0) ack 1002 win *");
	ts_advance_ms(t, 50);
	tcp_close(c, t->h->now);
	if (read) {
		ts_expect(t, "F. 1001:1001(0) ack 1002 win *");
		ts_inject(t, ". 1002:1002(0) ack 1002 win 260");
	} else {
		ts_expect(t, "R. 1001:1001(0) ack 1002 win 501");
	}
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

static void test_close_read_data_fin(void **state)
{
	(void)state;
	close_after_peer_fin(true);
}

static void test_close_unread_data_rst(void **state)
{
	(void)state;
	close_after_peer_fin(false);
}

/* ---- early_retransmit/ ---- */

/* early_retransmit/er-{delayed,quick}-{2,3}pkt-sack.pkt: n segments out,
 * all but the first SACKed 100 ms later. The scripts' kernels retransmit
 * the first by early retransmit (RFC 5827), at once or after RTT/4. Linux
 * 6.18 has no early retransmit (tcp_early_retrans now sets the loss
 * probe only): RACK's reordering window is a quarter of the minimum RTT
 * while fewer than three segments are SACKed (tcp_rack_reo_wnd), so the
 * first is deemed lost 25 ms after the SACK (the SACKed segment's RTT,
 * 100 ms, plus the window, less the 100 ms since the first went) and its
 * timer fires TCP_TIMEOUT_MIN later: the delayed scripts' figure, for
 * the quick ones too. */
static void early_retransmit(unsigned n, bool extra_dupack)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = accept_mss1460(t, 100, true);
	unsigned end = 1 + 1460 * n;

	assert_int_equal(tcp_send(c, big, 1460 * n, t->h->now), (long)(1460 * n));
	expect_run(t, 1, end);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>");
	if (n == 3)
		ts_injectf(t, ". 1:1(0) ack 1 win 257 <sack 1461:%u,nop,nop>", end);
	if (extra_dupack) {
		/* er-delayed-get-ack-3pkt-sack: a duplicate ACK that
		 * delivers nothing new leaves RACK's timer as it was
		 * (the script's kernel restarted its ER timer: 0.335). */
		ts_advance_ms(t, 10);
		ts_injectf(t, ". 1:1(0) ack 1 win 257 <sack 1461:%u,nop,nop>", end);
		ts_advance_ms(t, 16);
	} else {
		ts_advance_ms(t, 26);
	}
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1:1461(1460) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_injectf(t, ". 1:1(0) ack %u win 257", end);
	ts_advance_ms(t, 75);
	close_after(t, c, end);
	ts_free(t);
}

static void test_er_2pkt_sack(void **state)
{
	(void)state;
	early_retransmit(2, false);
}

static void test_er_3pkt_sack(void **state)
{
	(void)state;
	early_retransmit(3, false);
}

static void test_er_get_ack_3pkt_sack(void **state)
{
	(void)state;
	early_retransmit(3, true);
}

/* early_retransmit/er-delayed-filled-3pkt-sack.pkt: the ACK of the first
 * segment comes 10 ms after the SACKs, before RACK's timer: nothing is
 * retransmitted, and no timer fires later (a probe or a timeout would
 * send something before the close 1.5 s later). */
static void test_er_filled_3pkt_sack(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = accept_mss1460(t, 100, true);

	(void)state;
	assert_int_equal(tcp_send(c, big, 4380, t->h->now), 4380);
	expect_run(t, 1, 4381);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1461:4381,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 4381 win 257");
	ts_advance_ms(t, 1490);
	ts_expect_none(t);
	close_after(t, c, 4381);
	ts_free(t);
}

/* ---- fast_recovery/ ---- */

/* fast_recovery/prr-ss-ack-below-snd_una-reno.pkt: NewReno (ssthresh 5
 * of cwnd 10), three segments lost among ten, ACKs reordered. The third
 * SACK starts recovery: RACK deems every hole below the SACKed 8001:9001
 * lost (three SACKed: no reordering window). Linux 6.18's PRR
 * (tcp_cwnd_reduction) sends max(prr_delivered - prr_out, newly
 * delivered), plus one only for an ACK that moves SND.UNA and marks
 * nothing newly lost, within ssthresh less what is in flight: one
 * segment on the third SACK (1:1001; the script's kernel, which always
 * added the one, sent 3001:4001 too), three on the ACK of 4001
 * (4001:7001; the script's kernel two), as in the cubic twin of this
 * script among Linux's selftests (tcp_fast_recovery_prr-ss-ack-below-
 * snd_una-cubic, test_pd_send2.c). The late ACK below SND.UNA newly
 * SACKs 5001:7001: two more delivered release the last hole, 7001:8001,
 * and nothing new waits. (The script's end, five segments of a write
 * after the recovery, is left: pstack resends 9001:10001 in the 110 ms
 * before the last ACK, not yet checked against the kernel.) */
static void test_prr_ack_below_snd_una_reno(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 1), 0);
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	expect_run(t, 1, 10001);
	ts_advance_ms(t, 110);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:2001,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:3001,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:3001 8001:9001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(i.snd_ssthresh, 5);
	ts_advance_ms(t, 110);
	ts_inject(t, ". 1:1(0) ack 4001 win 320 <sack 8001:9001,nop,nop>");
	expect_run(t, 4001, 7001);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 3001 win 320 <sack 5001:7001,nop,nop>");
	ts_expect_data(t, 7001, 8001);
	ts_expect_none(t);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- pmtu_discovery/ ---- */

/* pmtu_discovery/pmtud-10pkt-1460-to-1160.pkt: ten full segments out,
 * then "fragmentation needed" with MTU 1200 for the first (RFC 1191).
 * Every segment longer than the new MSS is lost, and the connection
 * enters the Loss state with cwnd and ssthresh as they were (Linux's
 * tcp_simple_retransmit): cwnd's ten go again at once in segments of
 * 1160, and each ACK after that grows cwnd by one in slow start and
 * releases two: 11601:13921, then the last 680 bytes with PSH. Measured
 * on Linux 6.18 (a crafted peer on a TAP, the same segments): TCP_INFO
 * after the ICMP ca_state 4 (Loss), cwnd 10, ssthresh infinite; after
 * the ACK of 1161 cwnd 11 and two segments out, after the ACK of 2321
 * cwnd 12. */
static void test_pmtud_10pkt_1460_to_1160(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = accept_mss1460(t, 100, false);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 14600, t->h->now), 14600);
	expect_run(t, 1, 14601);
	ts_expect_none(t);
	ts_advance_ms(t, 50);
	ts_inject_frag_needed(t, 1200);
	expect_run(t, 1, 11601);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.snd_mss, 1160);
	assert_int_equal(i.ca_state, TCP_CA_LOSS);
	assert_int_equal(i.snd_cwnd, 10);
	assert_int_equal(i.snd_ssthresh, 0x7fffffffu);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1161 win 257");
	expect_run(t, 11601, 13921);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_LOSS);
	assert_int_equal(i.snd_cwnd, 11);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 2321 win 257");
	assert_true(ts_expect_data(t, 13921, 14601));
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	/* Without SACK the Loss state holds until data above its point is
	 * ACKed (Linux's tcp_is_non_sack_preventing_reopen). */
	ts_inject(t, ". 1:1(0) ack 14601 win 257");
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_LOSS);
	ts_advance_ms(t, 45);
	close_after(t, c, 14601);
	ts_free(t);
}

/* ---- sack/ ---- */

/* sack/sack-shift-sacked-1-2-3-fack.pkt and sack-shift-sacked-1-2:6-fack.pkt:
 * ten segments out, then SACKs growing from the second segment on
 * (1001:2001, then 1001:3001 and 1001:4001, or 1001:7001 at once).
 * TCP_INFO counts in segments: ten unacked, as many SACKed as the blocks
 * cover, reordering 3 throughout, and Recovery once three are SACKed
 * (RACK with no reordering window then: the first segment is lost and
 * goes again, nothing before: RACK's timer from the first SACK, 27 ms,
 * has not fired). */
static void sack_shift(const unsigned *ends, size_t n)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 1024, true);
	struct tcp_conn_info i;

	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	expect_run(t, 1, 10001);
	info(t, c, &i);
	assert_int_equal(i.reordering, 3);
	assert_int_equal(i.unacked, 10);
	assert_int_equal(i.sacked, 0);
	ts_advance_ms(t, 100);
	for (size_t k = 0; k < n; k++) {
		ts_injectf(t, ". 1:1(0) ack 1 win 257 <sack 1001:%u,nop,nop>", ends[k]);
		info(t, c, &i);
		assert_int_equal(i.reordering, 3);
		assert_int_equal(i.unacked, 10);
		assert_int_equal(i.sacked, (ends[k] - 1001) / 1000);
		if (k + 1 < n)
			ts_advance_ms(t, 10);
	}
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

static void test_sack_shift_1_2_3(void **state)
{
	static const unsigned ends[] = { 2001, 3001, 4001 };

	(void)state;
	sack_shift(ends, 3);
}

static void test_sack_shift_1_2to6(void **state)
{
	static const unsigned ends[] = { 2001, 7001 };

	(void)state;
	sack_shift(ends, 2);
}

/* ---- undo/ ---- */

/* undo/undo-fr-ack-then-dsack-on-ack-below-snd_una.pkt: ten segments out,
 * three duplicate ACKs SACKing 1001:4001: recovery, the first segment
 * resent, PRR's cwnd 7 (CUBIC's ssthresh 7). The ACKs then end the
 * recovery (without timestamps nothing shows it spurious: cwnd 7), a new
 * segment goes and is ACKed, and only then, reordered, the ACK with the
 * D-SACK of the resent segment arrives, below SND.UNA: it still undoes
 * the reduction (tcp_check_dsack's counting below SND.UNA,
 * tcp_try_undo_dsack in the Open state): cwnd 10, and a write of 11000
 * sends ten segments. Measured on Linux 6.18 (a crafted peer on a TAP,
 * TCP_CONGESTION cubic, TCP_INFO): ca_state 3 cwnd 7 ssthresh 7 after the
 * duplicate ACKs, cwnd 7 after the recovery's end, cwnd 10 and ssthresh
 * 2147483647 after the D-SACK, then ten segments unacked. */
static void test_undo_fr_ack_then_dsack_below_snd_una(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	expect_run(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:2001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:3001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:4001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(i.snd_cwnd, 7);
	assert_int_equal(i.snd_ssthresh, 7);
	ts_inject(t, ". 1:1(0) ack 4001 win 257");
	ts_inject(t, ". 1:1(0) ack 6001 win 257");
	ts_inject(t, ". 1:1(0) ack 8001 win 257");
	ts_inject(t, ". 1:1(0) ack 10001 win 257");
	info(t, c, &i);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	assert_int_equal(i.snd_cwnd, 7);
	ts_advance_ms(t, 3);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect_data(t, 10001, 11001);
	ts_expect_none(t);
	ts_advance_ms(t, 97);
	ts_inject(t, ". 1:1(0) ack 11001 win 257");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 10001 win 257 <sack 1:1001,nop,nop>");
	info(t, c, &i);
	assert_int_equal(i.snd_cwnd, 10);
	assert_int_equal(i.snd_ssthresh, 0x7fffffffu);
	ts_advance_ms(t, 49);
	assert_int_equal(tcp_send(c, big, 11000, t->h->now), 11000);
	expect_run(t, 11001, 21001);
	ts_expect_none(t);
	info(t, c, &i);
	assert_int_equal(i.unacked, 10);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_linger0_rst),
		cmocka_unit_test(test_close_read_data_fin),
		cmocka_unit_test(test_close_unread_data_rst),
		cmocka_unit_test(test_er_2pkt_sack),
		cmocka_unit_test(test_er_3pkt_sack),
		cmocka_unit_test(test_er_get_ack_3pkt_sack),
		cmocka_unit_test(test_er_filled_3pkt_sack),
		cmocka_unit_test(test_prr_ack_below_snd_una_reno),
		cmocka_unit_test(test_pmtud_10pkt_1460_to_1160),
		cmocka_unit_test(test_sack_shift_1_2_3),
		cmocka_unit_test(test_sack_shift_1_2to6),
		cmocka_unit_test(test_undo_fr_ack_then_dsack_below_snd_una),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
