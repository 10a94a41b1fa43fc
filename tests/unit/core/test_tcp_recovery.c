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
	ts_expect(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_advance_ms(t, rtt_ms);
	if (sack)
		ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	else
		ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 512 " TSO);
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
	ts_expect(t, ". 1:1449(1448) ack 1 win 512 " TSO);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sack_loss_detected_when_window_changes),
		cmocka_unit_test(test_sack_loss_detected_on_acks_with_data),
	};
	return cmocka_run_group_tests_name("tcp_recovery", tests, NULL, NULL);
}
