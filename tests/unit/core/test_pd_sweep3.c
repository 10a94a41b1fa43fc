/* A third sweep of Linux's wire-level TCP tests: scripts of Linux's
 * packetdrill selftests (tools/testing/selftests/net/packetdrill) and of
 * google/packetdrill's gtests/net/tcp, and scripts Linux's TCP maintainers
 * posted with their patches, not followed elsewhere. Each test names its
 * script; the script is the oracle (where it leaves a figure open, the
 * Linux function the test follows says why). As in test_pd_send.c, the
 * selftests' peer announces an MSS of 1000 and no timestamps, and the
 * link takes TSO frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t big[1 << 20];

/* ---- Nagle, TCP_CORK and MSG_MORE ---- */

/* tcp_nagle_sockopt_cork_nodelay.pkt: two short writes under TCP_CORK
 * wait; uncorking sends them as one segment with PSH. Corked again, two
 * more wait until TCP_NODELAY pushes them (with PSH: the writes had no
 * MSG_MORE). Two MSG_MORE sends wait until TCP_NODELAY, set again, pushes
 * them, without PSH (tcp_push marks it only for a send without
 * MSG_MORE). */
static void test_cork_then_nodelay_pushes(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 257, false);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 50);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 10);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_CORK, 0, t->h->now), 0);
	ts_expect(t, "P. 1:81(80) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 81 win 257");

	assert_int_equal(tcp_setopt_at(c, TCP_OPT_CORK, 1, t->h->now), 0);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 50);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_NODELAY, 1, t->h->now), 0);
	ts_expect(t, "P. 81:161(80) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 161 win 257");

	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 50);
	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, big, 40, t->h->now), 40);
	ts_advance_ms(t, 10);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_NODELAY, 1, t->h->now), 0);
	ts_expect(t, ". 161:241(80) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 241 win 257");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- zero window ---- */

/* The script Eric Dumazet posted on netdev ("Test how sender reacts to
 * unexpected arrival rwin of 0", the thread on tcp_probe_timer's
 * give-up rule), run as he ran it, with the retransmission timer capped
 * at 30 s (Google's kernels; upstream's net.ipv4.tcp_rto_max_ms=30000):
 * the flight is acknowledged with a zero window, the zero-window probes
 * go an RTO (300 ms after a 100 ms handshake) after that ACK, each
 * answered, the next timed from the answer, doubling up to the cap (tcp_probe0_when with tcp_rto_max) and
 * staying there; the connection lives on, and the window's opening sends
 * the rest at once. */
static void test_zero_window_probes_back_off_to_rto_max(void **state)
{
	static const unsigned gap_ms[] = { 300, 600, 1200, 2400, 4800, 9600, 19200, 30000, 30000 };
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	t->h->s->cfg.tcp_rto_max_ms = 30000;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 457");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);

	assert_int_equal(tcp_send(c, big, 20000, t->h->now), 20000);
	ts_expect(t, "P. 1:10001(10000) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 0");
	for (size_t i = 0; i < sizeof(gap_ms) / sizeof(gap_ms[0]); i++) {
		ts_advance_ms(t, gap_ms[i] - 1);
		ts_expect_none(t);
		ts_advance_ms(t, 1);
		ts_expect(t, ". 10000:10000(0) ack 1 win *");
		ts_advance_ms(t, 100);
		/* the answer restarts the timer (tcp_ack_probe): the
		 * next probe is timed from it, as the script's lines are */
		ts_inject(t, ". 1:1(0) ack 10001 win 0");
	}
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 193");
	ts_expect(t, "P. 10001:20001(10000) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 20001 win 457");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- receive window ---- */

/* The shape of tcp_rcv_wnd_shrink_allowed.pkt (net.ipv4.tcp_shrink_window=1,
 * tcp_rmem "4096 32768 32M": window scale 10): with data unread, the
 * window the ACKs offer shrinks below the right edge offered before; a
 * segment that ends past the largest edge ever offered is dropped whole
 * and answered with a duplicate ACK, one that ends on it is taken. pstack
 * rounds the window down when there is no room for the rounding up (what
 * tcp_shrink_window=1 does, tcp_output.c), and counts its buffer in
 * payload bytes (tcp_rmem[1] 16384 is Linux's 32768 at its default
 * scaling ratio: the SYN-ACK's window, 16060, is Linux's); Linux's later
 * windows (15 and 13 units) come from its skbs' truesize, so the figures
 * here are pstack's (6 units, then 5: the edge moves back one byte, from
 * 10001 + 6 * 1024 = 16145 to 11024 + 5 * 1024 = 16144). */
static void test_segment_up_to_largest_edge_taken(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	t->h->s->cfg.tcp_rmem[0] = 4096;
	t->h->s->cfg.tcp_rmem[1] = 16384;
	t->h->s->cfg.tcp_rmem[2] = 32u << 20;
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 16060 <mss 1460,nop,wscale 10>");
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);

	ts_inject(t, "P. 1:10001(10000) ack 1 win 257");
	ts_advance_ms(t, 50);
	ts_expect(t, ". 1:1(0) ack 10001 win 6");
	ts_inject(t, "P. 10001:11024(1023) ack 1 win 257");
	ts_advance_ms(t, 50);
	ts_expect(t, ". 1:1(0) ack 11024 win 5");
	/* beyond the largest edge: dropped whole */
	ts_inject(t, "P. 11024:16146(5122) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 11024 win 5");
	assert_int_equal(tcp_inq(c), 11023);
	/* up to it: taken, though past the edge the last ACK offered */
	ts_inject(t, "P. 11024:16145(5121) ack 1 win 257");
	ts_advance_ms(t, 50);
	ts_expect(t, ". 1:1(0) ack 16145 win 0");
	assert_int_equal(tcp_inq(c), 16144);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- SACK reneging ---- */

/* The script Fred Chen posted with "tcp: fix wrong RTO timeout when
 * received SACK reneging" (Linux 6.7; Neal Cardwell ran it through
 * Google's packetdrill suite): 100 ms of RTT; of ten segments the last
 * nine are SACKed and the first is resent; the ACK that takes it SACKs
 * only the last: the receiver dropped what it had SACKed, and the new
 * first segment, SACKed before, is not (tcp_clean_rtx_queue's
 * FLAG_SACK_RENEGING). Linux's tcp_check_sack_reneging then rearms the
 * retransmission timer for half an RTT (10 ms at least) and does no more
 * on that ACK: the timeout resends 1001:2001 50 ms later. */
static void test_sack_reneging_rearms_rto_half_rtt(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 1024");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);

	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect(t, "P. 1:10001(10000) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:10001,nop,nop>");
	ts_expect(t, ". 1:1001(1000) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1001 win 257 <sack 9001:10001,nop,nop>");
	ts_expect_none(t);
	ts_advance_ms(t, 49);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1001:2001(1000) ack 1 win *");
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- PAWS ---- */

/* The script Neal Cardwell posted with Eric Dumazet's "tcp: add
 * TCP_RFC7323_PAWS_ACK drop reason" (Linux 6.14; for google/packetdrill's
 * gtests/net/tcp/paws/paws-disordered-ack-old-seq-discard.pkt): the
 * peer's pure ACK of our request comes after its reply, reordered; it
 * fails PAWS (an older TSval) with a sequence number below RCV.NXT.
 * tcp_disordered_ack_check calls it an old ACK, which tcp_validate_incoming
 * drops without the duplicate ACK a PAWS failure otherwise gets. */
static void test_paws_old_pure_ack_dropped_silently(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1012,sackOK,TS val 2000 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val 0 ecr 2000,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <nop,nop,TS val 2010 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);

	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win * <nop,nop,TS val 10 ecr 2010>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1001(1000) ack 1001 win 257 <nop,nop,TS val 2022 ecr 10>");
	ts_expect(t, ". 1001:1001(0) ack 1001 win * <nop,nop,TS val 20 ecr 2022>");
	ts_inject(t, ". 1:1(0) ack 1001 win 257 <nop,nop,TS val 2020 ecr 10>");
	ts_expect_none(t);
	ts_advance_ms(t, 300);
	ts_expect_none(t);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1001:2001(1000) ack 1001 win * <nop,nop,TS val 320 ecr 2022>");
	ts_abort(t, c);
	ts_free(t);
}

/* A passive open without timestamps (the scripts below): the peer's SYN,
 * our SYN-ACK, its ACK. */
static struct tcp_conn *accept_plain(struct tscript *t, const char *syn, const char *synack, const char *ack)
{
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	ts_inject(t, syn);
	ts_expect(t, synack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	return c;
}

/* ---- receiver: duplicate ACKs without SACK ---- */

/* The script in Eric Dumazet's "tcp: grow window for OOO packets only for
 * SACK flows" (Linux 5.8): without SACK, the sender needs three duplicate
 * ACKs, and an ACK whose window changed is no duplicate (RFC 5681 §2);
 * so the ACKs that out-of-order data gets keep the window of the ACK
 * before them; the segment that fills the hole is acknowledged with all
 * the data. The figures differ from the script's (its window scale is 8,
 * and Linux's window then grows with rcv_ssthresh, where pstack's is the
 * room its buffer has): here the window of the duplicates is the first
 * ACK's, and the last ACK offers what is left. */
static void test_no_sack_dupacks_keep_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_plain(t, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
					  "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 514");

	(void)state;
	ts_inject(t, ". 1:1001(1000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 1001 win 501");              /* quick ACK */
	ts_inject(t, ". 2001:3001(1000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 1001 win 501");
	ts_inject(t, ". 3001:4001(1000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 1001 win 501");
	ts_inject(t, ". 4001:5001(1000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 1001 win 501");
	ts_inject(t, ". 1001:2001(1000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 5001 win 472");
	assert_int_equal(tcp_inq(c), 5000);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- RFC 5961 ---- */

/* The script (by Yepeng Pan) in Eric Dumazet's "tcp: do not accept ACK
 * of bytes we never sent" (Linux 6.7): with window scale 14 the peer's
 * window is a gigabyte, and an ACK that far below SND.UNA, of bytes we
 * never sent, passed RFC 5961 §5.2's [SND.UNA - MAX.SND.WND, SND.NXT].
 * Linux's tcp_ack now takes MAX.SND.WND no larger than the bytes ever
 * acknowledged (none yet: the SYN-ACK's does not count for a child): the
 * segment is dropped, its data too, and a challenge ACK answers it. */
static void test_ack_of_bytes_never_sent_challenged(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_plain(t, "S 0:0(0) win 65535 <mss 1400,nop,wscale 14>",
					  "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 65535");

	(void)state;
	ts_inject(t, ". 1:1001(1000) ack 3221241997 win 65535");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_inq(c), 0);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- TIME_WAIT ---- */

/* The script in Eric Dumazet's "tcp: fix ISN selection in TIMEWAIT ->
 * SYN_RECV" series (Linux 6.9): a SYN that ends a TIME_WAIT (a sequence
 * number above RCV.NXT, no timestamps) opens a connection whose ISN is
 * the old one's SND.NXT + 65535 + 2 (tcp_timewait_state_process's
 * tw_isn): "S. 65539:65539(0) ack 1001", relative to the old ISN. */
static void test_syn_ending_time_wait_isn_from_snd_nxt(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 32792 <mss 1460,nop,nop,sackOK>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, "F. 1:1(0) ack 2 win 32792");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, "S 1000:1000(0) win 65535 <mss 1460,nop,nop,sackOK>");
	ts_expect(t, "S. 65539:65539(0) ack 1001 win * <mss 1460,nop,nop,sackOK>");
	ts_inject(t, ". 1001:1001(0) ack 65540 win 32792");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- keep-alive ---- */

/* The script Neal Cardwell posted on netdev (the thread on a patch to
 * tcp_keepalive_timer) as the keep-alive test Google runs ("Test TCP
 * keepalive behavior without TCP timestamps enabled"): keep-alive is off
 * by default, TCP_KEEPIDLE 7200, TCP_KEEPINTVL 75 and TCP_KEEPCNT 9 by
 * default; with 3, 2 and 4, the probes (SEQ = SND.UNA - 1, no data) go 3 s
 * after the last segment, then every 2 s; when the fourth is unanswered
 * 2 s later the connection is reset ("R. 1:1(0) ack 1") and ends with
 * ETIMEDOUT. */
static void test_keepalive_probes_then_reset(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = accept_plain(t, "S 0:0(0) win 20000 <mss 1000,nop,nop,sackOK,nop,wscale 8>",
					  "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 20000");
	int v;

	(void)state;
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPALIVE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_KEEPALIVE, 1, t->h->now), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPIDLE, &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_KEEPIDLE, 3, t->h->now), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPINTVL, &v), 0);
	assert_int_equal(v, 75);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_KEEPINTVL, 2, t->h->now), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPCNT, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_KEEPCNT, 4, t->h->now), 0);

	ts_advance_ms(t, 2999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 0:0(0) ack 1 win *");
	for (int i = 0; i < 3; i++) {
		ts_advance_ms(t, 1999);
		ts_expect_none(t);
		ts_advance_ms(t, 1);
		ts_expect(t, ". 0:0(0) ack 1 win *");
	}
	ts_advance_ms(t, 1999);
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_advance_ms(t, 1);
	ts_expect(t, "R. 1:1(0) ack 1 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* ---- tail loss probe ---- */

/* The script Pengcheng Yang posted with "tcp: fix TLP timer not set when
 * CA_STATE changes from DISORDER to OPEN" (Linux 5.8; tlp_timer_unset.pkt,
 * tcp_early_retrans 3): 100 ms RTT, four segments out; a SACK of the
 * second turns the state Disorder; the ACK that covers it turns it Open
 * again, and the timer it leaves is the loss probe's (tcp_set_xmit_timer
 * after tcp_fastretrans_alert): 2 RTT later the last segment goes as the
 * probe, not the first as a timeout. */
static void test_tlp_armed_when_disorder_ends(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	ts_advance_ms(t, 100);
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);

	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	ts_expect(t, "P. 1:4001(4000) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:2001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 2001 win 257");
	ts_expect_none(t);
	ts_advance_ms(t, 199);
	ts_expect_none(t);
	ts_advance_ms(t, 51);
	ts_expect(t, "P. 3001:4001(1000) ack 1 win *");
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- ECN ---- */

/* The script Denis Kirjanov posted with "tcp: fix ECE latched forever"
 * ("tcp: accept CWR on pure ACKs", Linux 5.8, acked by Neal Cardwell): a
 * CE mark makes every segment we send carry ECE until the peer's CWR; a
 * CWR on a pure ACK counts too (tcp_ack calls tcp_ecn_accept_cwr for
 * every acceptable ACK, "to be more robust with widely-deployed TCP
 * implementations"), and the next data goes without ECE. */
static void test_cwr_on_pure_ack_ends_ece(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	(void)state;
	t->h->s->cfg.tcp_ecn = 1;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "SEW 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 2);
	ts_inject(t, "SE. 0:0(0) ack 1 win 32767 <mss 1000,nop,wscale 6,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win 502");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1001(1000) ack 1 win 1024 [ect0]");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	ts_inject(t, ". 1001:2001(1000) ack 1 win 1024 [ce]");
	ts_expect(t, "E. 1:1(0) ack 2001 win *");
	ts_inject(t, "P. 2001:3001(1000) ack 1 win 1024 [ect0]");
	ts_expect(t, "E. 1:1(0) ack 3001 win *");
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "PE. 1:1001(1000) ack 3001 win * [ect0]");
	ts_advance_ms(t, 10);
	ts_inject(t, "W. 3001:3001(0) ack 1001 win 1024");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1001:2001(1000) ack 3001 win * [ect0]");
	ts_abort(t, c);
	ts_free(t);
}

/* ---- simultaneous open ---- */

/* The script in Kuniyuki Iwashima's "tcp: Don't drop SYN+ACK for
 * simultaneous connect()" (Linux 6.11; cross-synack.pkt): our SYN and the
 * peer's cross; our SYN-ACK is our SYN sent again with ACK set
 * (tcp_send_synack), with the SYN's options though the peer's SYN had
 * only an MSS ("<mss 1460,sackOK,TS val ... ecr 0,nop,wscale 8>"); the
 * peer's SYN-ACK, which acknowledges our SYN, completes the handshake
 * (RFC 9293 §3.5) rather than drawing a challenge ACK. Its SYN, below
 * RCV.NXT, is then a retransmission for tcp_data_queue: an ACK answers it
 * (measured on Linux 6.18, rawframes synsent_simultaneous_open; the
 * commit's script shows no line for it). A write goes at once, without
 * the options neither side agreed on. (Linux's ACK offers its window
 * scaled by the wscale the peer never agreed to, 63 for 64240 at scale
 * 10: its simultaneous-open path leaves rcv_wscale set; pstack, as RFC
 * 7323 §2.2 says, does not scale.) */
static void test_crossed_syn_acks_establish(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S 0:0(0) win 1000 <mss 1000>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_RECEIVED);
	ts_inject(t, "S. 0:0(0) ack 1 win 1000");
	ts_expect(t, ". 1:1(0) ack 1 win 64240");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win *");
	ts_abort(t, c);
	ts_free(t);
}

/* ---- a window that shrank ---- */

/* The script in Yonglong Li's fix to __tcp_retransmit_skb (upstream
 * 536a6c8e05f9, 2022, in stable kernels since): the peer's window (6000,
 * no scaling) is
 * full, and its ACK of 4001 offers 1001 bytes: [4001, 5002). The old
 * kernel's loss probe resent 5001:6001, past the window. Linux's
 * __tcp_retransmit_skb now cuts a retransmission to the window (to whole
 * segments, or what is left when that is less than one): the probe, two
 * SRTTs (50 ms) and 2 ms later, is the one byte 5001:5002; the RTO, from
 * the probe (tcp_send_loss_probe clears icsk_pending for tcp_rearm_rto),
 * resends 4001:5001, and nothing goes beyond 5002. */
static void test_retransmissions_fit_shrunk_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 50);
	ts_inject(t, "S. 0:0(0) ack 1 win 6000 <mss 1000,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect_data(t, 1, 6001);
	ts_expect_none(t);
	ts_advance_ms(t, 50);
	ts_inject(t, ". 1:1(0) ack 4001 win 1001");
	ts_expect_none(t);
	ts_advance_ms(t, 101);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 5001:5002(1) ack 1 win *");
	ts_advance_ms(t, 249);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 4001:5001(1000) ack 1 win *");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* ---- D-SACK ---- */

/* The script Pengcheng Yang posted with "tcp: fix 'old stuff' D-SACK
 * causing SACK to be treated as D-SACK" (Linux 5.5; dsack-old-stuff-bug.pkt,
 * RACK and TLP on, 10 ms RTT): after the probe, a recovery resends 1:1001,
 * then 1001:3001; 2001:3001 is SACKed. An ACK whose first block D-SACKs
 * 1:1001 (below SND.UNA: old stuff) and whose next blocks SACK 2001:3001
 * again must not have those taken as D-SACKs: tcpi_reordering stays 3. */
static void test_old_dsack_leaves_sack_blocks_alone(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect(t, "P. 1:10001(10000) ack 1 win *");
	ts_advance_ms(t, 21);
	ts_expect_none(t);
	ts_advance_ms(t, 1);                            /* 2 SRTT + 2 ms */
	ts_expect(t, "P. 9001:10001(1000) ack 1 win *");
	ts_advance_ms(t, 13);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 9001:10001,nop,nop>");
	ts_expect(t, ". 1:1001(1000) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 9001:10001,nop,nop>");
	ts_expect_data(t, 1001, 3001);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 2001:3001 9001:10001,nop,nop>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.reordering, 3);
	ts_inject(t, ". 1:1(0) ack 1001 win 320 <sack 1:1001 2001:3001 9001:10001,nop,nop>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.reordering, 3);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_dsack_leaves_sack_blocks_alone),
		cmocka_unit_test(test_retransmissions_fit_shrunk_window),
		cmocka_unit_test(test_crossed_syn_acks_establish),
		cmocka_unit_test(test_cwr_on_pure_ack_ends_ece),
		cmocka_unit_test(test_keepalive_probes_then_reset),
		cmocka_unit_test(test_tlp_armed_when_disorder_ends),
		cmocka_unit_test(test_syn_ending_time_wait_isn_from_snd_nxt),
		cmocka_unit_test(test_no_sack_dupacks_keep_window),
		cmocka_unit_test(test_ack_of_bytes_never_sent_challenged),
		cmocka_unit_test(test_cork_then_nodelay_pushes),
		cmocka_unit_test(test_zero_window_probes_back_off_to_rto_max),
		cmocka_unit_test(test_segment_up_to_largest_edge_taken),
		cmocka_unit_test(test_sack_reneging_rearms_rto_half_rtt),
		cmocka_unit_test(test_paws_old_pure_ack_dropped_silently),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
