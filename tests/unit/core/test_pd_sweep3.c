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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlp_armed_when_disorder_ends),
		cmocka_unit_test(test_syn_ending_time_wait_isn_from_snd_nxt),
		cmocka_unit_test(test_ack_of_bytes_never_sent_challenged),
		cmocka_unit_test(test_cork_then_nodelay_pushes),
		cmocka_unit_test(test_sack_reneging_rearms_rto_half_rtt),
		cmocka_unit_test(test_paws_old_pure_ack_dropped_silently),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
