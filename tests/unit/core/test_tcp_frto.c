/* F-RTO (RFC 5682 §3.1, the SACK-enhanced version), as Linux has it with
 * its default net.ipv4.tcp_frto=2: tcp_enter_loss sets tp->frto for a
 * timeout outside a recovery, tcp_process_loss takes the ACKs after it.
 *
 * The scenario is the one measured on the kernel (6.18, CUBIC, SACK, no
 * timestamps; tests/e2e/26-linux-wire.bats): ten segments and a tail loss
 * probe of new data go out, the peer's ACKs are held back past the RTO,
 * the first segment is resent, then the held ACKs come one at a time. The
 * kernel, on the ACK of the first segment (the retransmission's): two NEW
 * segments (step 2.b), not the next two of the old data; on the ACK of the
 * second (sent once: step 3.b), the timeout is undone (TcpExtTCPLossUndo,
 * TcpExtTCPSpuriousRTOs) and one retransmission in all. With tcp_frto=0 it
 * resends the old data two segments per ACK (eleven retransmissions).
 * pstack did the latter whatever the sysctl. When the peer SACKs the new
 * data instead (step 3.a) the loss was real: the old data is resent. */
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

#define MSS 1460u
#define INFINITE_SSTHRESH 0x7fffffffu

static uint8_t big[1 << 20];

static struct tcp_conn_info info_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i;
}

/* Time goes by 1 ms at a time until the stack sends (at most max_ms). */
static void wait_sent(struct tscript *t, unsigned max_ms, char *line, size_t cap)
{
	for (unsigned ms = 0; ms < max_ms; ms++) {
		ts_advance_ms(t, 1);
		if (ts_next(t, line, cap))
			return;
	}
	fail_msg("nothing sent in %u ms", max_ms);
}

/* An active open with SACK and without timestamps (the peer's SYN-ACK has
 * none: no undo by their echo), 10 ms round trip; then 30 segments
 * written: ten go (the initial window), the tail loss probe sends the
 * eleventh, nothing is ACKed, and the timeout resends the first. */
static struct tcp_conn *timeout_after_flight(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	char line[512];

	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502");
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 1 << 20), 0);
	assert_int_equal(tcp_send(c, big, 30 * MSS, t->h->now), 30 * MSS);
	for (unsigned i = 0; i < 10; i++)
		ts_expect_data(t, 1 + i * MSS, 1 + (i + 1) * MSS);
	ts_expect_none(t);
	wait_sent(t, 100, line, sizeof(line));
	assert_true(ts_match(". 14601:16061(1460) ack 1 win 502", line));   /* the probe */
	wait_sent(t, 1000, line, sizeof(line));
	assert_true(ts_match(". 1:1461(1460) ack 1 win 502", line));        /* the timeout */
	ts_expect_none(t);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_int_equal(c->total_retrans, 1);
	return c;
}

/* Step 2.b, then 3.b: the ACK of the retransmitted segment lets two new
 * segments go (cwnd 2, nothing in flight: what the timeout deemed lost
 * waits); the ACK of the second segment, sent once, shows the timeout
 * spurious: the Open state, cwnd and ssthresh back (10, infinite, and the
 * ACK's growth: 11), one retransmission in all, and what follows is new
 * data. */
static void test_spurious_timeout_new_data_then_undo(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = timeout_after_flight(t);
	struct tcp_conn_info i;

	(void)state;
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 502");
	ts_expect_data(t, 16061, 17521);
	ts_expect_data(t, 17521, 18981);
	ts_expect_none(t);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 0);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 2921 win 502");
	i = info_of(t, c);
	assert_int_equal(i.ca_state, TCP_CA_OPEN);
	/* Linux undoes, then grows the window given back (tcp_cong_control
	 * after tcp_fastretrans_alert): slow start, 10 + 1. */
	assert_int_equal(i.snd_cwnd, 11);
	assert_int_equal(i.snd_ssthresh, INFINITE_SSTHRESH);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 1);
	assert_int_equal(t->h->s->stats.tcp_loss_undo, 1);
	assert_int_equal(c->spurious_rtos, 1);
	/* The rest of the old data is in flight again: its ACKs clock out
	 * new data only. */
	for (unsigned ack = 4381; ack <= 16061; ack += MSS) {
		char line[512];

		ts_advance_ms(t, 5);
		ts_injectf(t, ". 1:1(0) ack %u win 502", ack);
		while (ts_next(t, line, sizeof(line)))
			assert_false(ts_match(". *:*(*) ack 1 win 502", line) && strstr(line, " 1461:") != NULL);
	}
	assert_int_equal(c->total_retrans, 1);
	ts_abort(t, c);
	ts_free(t);
}

/* Step 3.a: after the two new segments, the peer SACKs the first of them
 * and SND.UNA stays: the old data was lost after all. F-RTO ends, the
 * conventional recovery resends it, the state stays Loss, nothing is
 * undone. */
static void test_real_loss_resends(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = timeout_after_flight(t);
	char line[512];
	unsigned seq;

	(void)state;
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 502");
	ts_expect_data(t, 16061, 17521);
	ts_expect_data(t, 17521, 18981);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1461 win 502 <nop,nop,sack 16061:17521>");
	ts_expect_data(t, 1461, 2921);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_false(c->frto);
	/* The next ACK, of the resent segment, resends more, old data only
	 * (not new data as after step 2.b). */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 2921 win 502 <nop,nop,sack 16061:17521>");
	ts_expect_data(t, 2921, 4381);
	while (ts_next(t, line, sizeof(line)))
		assert_true(sscanf(line, ". %u:", &seq) == 1 && seq < 16061);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 0);
	assert_int_equal(t->h->s->stats.tcp_loss_undo, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* net.ipv4.tcp_frto=0: no F-RTO, the behaviour before it: the ACK of the
 * retransmitted segment resends the next two (cwnd 2), each ACK after it
 * two more; the ACK of data sent once undoes nothing. */
static void test_frto_off_resends(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	t->h->s->cfg.tcp_frto = 0;
	c = timeout_after_flight(t);
	assert_false(c->frto);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 502");
	ts_expect_data(t, 1461, 2921);
	ts_expect_data(t, 2921, 4381);
	ts_expect_none(t);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 2921 win 502");
	ts_expect_data(t, 4381, 5841);
	ts_expect_data(t, 5841, 7301);
	ts_expect_none(t);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 0);
	assert_int_equal(t->h->s->stats.tcp_loss_undo, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* Step 2.b needs room for new data (Linux's after(tcp_wnd_end, snd_nxt)):
 * the ACK of the resend offers a window that ends short of SND.MAX
 * (114 << 7 bytes from 1461), so F-RTO ends and the old data is resent as
 * without it. */
static void test_no_window_for_new_data_resends(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = timeout_after_flight(t);

	(void)state;
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 114");
	ts_expect_data(t, 1461, 2921);
	ts_expect_data(t, 2921, 4381);
	ts_expect_none(t);
	assert_false(c->frto);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 5682 §3.2, Linux's (new_recovery || icsk_retransmits): a timeout
 * that follows a timeout (the resend not ACKed) keeps F-RTO: after the
 * second resend of the first segment, its ACK brings two new segments,
 * the ACK of the second segment undoes both timeouts. */
static void test_second_timeout_keeps_frto(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = timeout_after_flight(t);
	char line[512];

	(void)state;
	wait_sent(t, 2000, line, sizeof(line));
	assert_true(ts_match(". 1:1461(1460) ack 1 win 502", line));
	assert_int_equal(c->rto_count, 2);
	assert_true(c->frto);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 502");
	ts_expect_data(t, 16061, 17521);
	ts_expect_data(t, 17521, 18981);
	ts_expect_none(t);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 2921 win 502");
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_OPEN);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 1);
	assert_int_equal(c->total_retrans, 2);
	while (ts_next(t, line, sizeof(line)))
		;
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's new_recovery: a timeout during a fast recovery takes no F-RTO
 * (the loss is known); the ACK of its resend resends more of the old
 * data. */
static void test_timeout_in_recovery_no_frto(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	char line[512];
	unsigned seq;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502");
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 1 << 20), 0);
	assert_int_equal(tcp_send(c, big, 30 * MSS, t->h->now), 30 * MSS);
	for (unsigned i = 0; i < 10; i++)
		ts_expect_data(t, 1 + i * MSS, 1 + (i + 1) * MSS);
	ts_advance_ms(t, 10);
	/* Three segments SACKed above the first: a recovery, the first resent. */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,sack 1461:2921>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,sack 1461:4381>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,sack 1461:5841>");
	while (ts_next(t, line, sizeof(line)))
		;
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_RECOVERY);
	assert_int_equal(c->total_retrans, 1);
	/* Nothing more comes back: the timeout, inside the recovery. */
	for (;;) {
		wait_sent(t, 2000, line, sizeof(line));
		if (ts_match(". 1:1461(1460) ack 1 win 502", line))
			break;
	}
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_LOSS);
	assert_false(c->frto);
	while (ts_next(t, line, sizeof(line)))
		;
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 1461 win 502 <nop,nop,sack 1461:5841>");
	assert_true(ts_next(t, line, sizeof(line)));
	assert_true(sscanf(line, ". %u:", &seq) == 1 && seq == 5841);
	while (ts_next(t, line, sizeof(line)))
		assert_true(sscanf(line, ". %u:", &seq) == 1 && seq < 14601);
	assert_int_equal(t->h->s->stats.tcp_spurious_rtos, 0);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spurious_timeout_new_data_then_undo),
		cmocka_unit_test(test_real_loss_resends),
		cmocka_unit_test(test_frto_off_resends),
		cmocka_unit_test(test_no_window_for_new_data_resends),
		cmocka_unit_test(test_second_timeout_keeps_frto),
		cmocka_unit_test(test_timeout_in_recovery_no_frto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
