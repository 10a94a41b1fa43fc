/* TCP data transfer: segmentation, Nagle, delayed ACKs, the out-of-order
 * queue with SACK blocks, windows (zero window, persist, window update),
 * retransmission timeout, fast retransmit and recovery, keepalive. */
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
#include "stack/core/pkb.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

static uint8_t big[1 << 20];

/* Active open with a SYN-ACK that offers only what `opts` says. */
static struct tcp_conn *connect_with(struct tscript *t, const char *synack, const char *ack)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, synack);
	ts_expect(t, ack);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* MSG_EOR (Linux's selftests tcp_eor_no-coalesce-small and -subsequent,
 * with 1448-byte segments): a record joins the unsent tail of the write
 * before it, but nothing written after a record end shares a segment with
 * it; each record end carries PSH and goes out though Nagle would hold a
 * short last segment; a retransmission stops at the record end too. */
static void test_eor_no_coalesce(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char line[256];
	int n = 0;

	(void)state;
	/* Ten segments fill the initial window; 400 bytes wait. */
	assert_int_equal(tcp_send(c, big, 10 * 1448 + 400, t->h->now), 10 * 1448 + 400);
	while (ts_next(t, line, sizeof(line)))
		n++;
	assert_int_equal(n, 10);
	/* Three 400-byte records, then 2896 bytes without the flag. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tcp_send(c, big, 400, t->h->now), 400);
		tcp_mark_eor(c);
	}
	assert_int_equal(tcp_send(c, big, 2896, t->h->now), 2896);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, "P. 14481:15281(800) ack 1 win 502 " TSO);
	ts_expect(t, "P. 15281:15681(400) ack 1 win 502 " TSO);
	ts_expect(t, "P. 15681:16081(400) ack 1 win 502 " TSO);
	ts_expect(t, ". 16081:17529(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 17529:18977(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	/* Lost: the tail probe first (RFC 8985 §7), then the timeout resends
	 * the first record alone. */
	ts_advance_ms(t, 300);
	ts_expect(t, "P. 17529:18977(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 14481:15281(800) ack 1 win 502 " TSO);
	ts_expect_none(t);      /* cwnd is one segment after the timeout */
	ts_inject(t, ". 1:1(0) ack 18977 win 502 <nop,nop,TS val 120 ecr 0>");
	ts_abort(t, c);
	ts_free(t);
}

/* Segments of at most MSS minus the timestamp option. Nagle as Linux has it
 * (Minshall's variant, tcp_nagle_check): a short segment waits while a short
 * segment sent before is unacknowledged, not while any data is; the short
 * end of a write goes at once behind its full segments (checked against the
 * kernel on the wire in tests/e2e/26-linux-wire.bats). */
static void test_segmentation_and_nagle(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	int v;

	(void)state;
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1448);
	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:4001(1104) ack 1 win 502 " TSO);
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 4000);
	/* a small write waits while the short segment is unacknowledged ... */
	assert_int_equal(tcp_send(c, "ab", 2, t->h->now), 2);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 1106);
	/* ... and goes when its ACK comes */
	ts_inject(t, ". 1:1(0) ack 4001 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, "P. 4001:4003(2) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 4003 win 502 <nop,nop,TS val 112 ecr 0>");
	/* full segments in flight do not hold a short one: it goes at once */
	assert_int_equal(tcp_send(c, big, 2896, t->h->now), 2896);
	ts_expect(t, ". 4003:5451(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 5451:6899(1448) ack 1 win 502 " TSO);
	assert_int_equal(tcp_send(c, "ef", 2, t->h->now), 2);
	ts_expect(t, "P. 6899:6901(2) ack 1 win 502 " TSO);
	assert_int_equal(tcp_send(c, "gh", 2, t->h->now), 2);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 6901 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_expect(t, "P. 6901:6903(2) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 6903 win 502 <nop,nop,TS val 114 ecr 0>");
	/* TCP_NODELAY: small writes go at once */
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, "cd", 2, t->h->now), 2);
	ts_expect(t, "P. 6903:6905(2) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 5681 §4.2: an ACK for every second full segment, else within 40 ms. */
static void test_delayed_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2897 win * <nop,nop,TS val 0 ecr 110>");
	ts_inject(t, "P. 2897:2997(100) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_advance_ms(t, 39);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1:1(0) ack 2997 win * <nop,nop,TS val 40 ecr 111>");
	/* data to send carries the ACK: no separate one */
	ts_inject(t, "P. 2997:3097(100) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), 1);
	ts_expect(t, "P. 1:2(1) ack 3097 win * " TSO);
	ts_advance_ms(t, 100);
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 3096);
	ts_abort(t, c);
	ts_free(t);
}

/* Out-of-order data: immediate duplicate ACKs carrying SACK blocks (RFC 2018),
 * the most recent block first; an immediate ACK when the hole fills. */
static void test_out_of_order_sack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	static uint8_t buf[10000];

	(void)state;
	/* PSTACK_TCP_DSACK=0: no D-SACK block for the duplicate below
	 * (test_tcp_recovery.c checks the D-SACK blocks) */
	t->h->s->cfg.tcp_dsack = 0;
	c = ts_connect(t);
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 1449:2897>");
	ts_inject(t, ". 4345:5793(1448) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 4345:5793 1449:2897>");
	/* a duplicate of queued data changes nothing but still draws an ACK */
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 1449:2897 4345:5793>");
	assert_int_equal(tcp_inq(c), 0);
	assert_int_equal(tcp_poll(c) & SOCK_POLLIN, 0);
	/* the first hole fills: everything up to the second hole is delivered */
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2897 win * <nop,nop,TS val 0 ecr 113,nop,nop,sack 4345:5793>");
	assert_int_equal(tcp_inq(c), 2896);
	/* an overlapping segment fills the rest */
	ts_inject(t, ". 2000:4400(2400) ack 1 win 502 <nop,nop,TS val 114 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 5793 win * <nop,nop,TS val 0 ecr 114>");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 5792);
	ts_check_bytes(buf, 5792, 1);
	ts_abort(t, c);
	ts_free(t);
}

/* A FIN that arrives before the data in front of it waits in the queue. */
static void test_out_of_order_fin(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t buf[200];

	(void)state;
	ts_inject(t, "F. 101:201(100) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	/* The block counts the FIN (Linux's tcp_data_queue_ofo: end_seq). */
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val 0 ecr 100,nop,nop,sack 101:202>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_inject(t, ". 1:101(100) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 202 win * <nop,nop,TS val 0 ecr 111>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 200);
	ts_check_bytes(buf, 200, 1);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 202 win * " TSO);
	ts_inject(t, ". 202:202(0) ack 2 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_free(t);
}

/* Zero window: data waits, the persist timer probes with backoff
 * (RFC 9293 §3.8.6.1), and the data goes when the window opens. The
 * answer to a probe restarts the timer (Linux's tcp_ack_probe): the next
 * probe is 400 ms after the answer, which came a moment after the probe. */
static void test_zero_window_persist(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect_none(t);
	ts_advance_ms(t, 199);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 111 ecr 0>");
	ts_advance_ms(t, 399);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 798);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	/* the window opens */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 101 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_advance_ms(t, 5000);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Our receive window: full buffer gives a zero window, data beyond it is
 * not accepted, and reading sends a window update. */
static void test_receive_window_and_update(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	static uint8_t buf[10000];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 2048), 0);   /* 4096 bytes, like Linux's doubling */
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	/* a window scale from the buffer SO_RCVBUF set: 0 (Linux's window
	 * clamp); the window half the doubled buffer in whole segments, as
	 * Linux 6.18 offers it (tcp_full_space; measured over a veth pair) */
	ts_expect(t, "S 0:0(0) win 1460 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 0>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 1460 " TSO);
	/* the first segment lets the window grow into the buffer (its room) */
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1449 win 2648 " TSO);
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	/* 1200 bytes left: the application lags (less than half the window
	 * offered is free), so the ACK waits for its read or the delayed-ACK
	 * timeout (Linux's __tcp_ack_snd_check()) */
	ts_expect_none(t);
	ts_inject(t, ". 2897:4097(1200) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_advance_ms(t, 40);
	/* the buffer full: a zero window */
	ts_expect(t, ". 1:1(0) ack 4097 win 0 " TSO);
	assert_int_equal(tcp_inq(c), 4096);
	/* a zero window accepts no data; the peer is told again */
	ts_inject(t, ". 4097:4197(100) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 4097 win 0 " TSO);
	assert_int_equal(tcp_recv(c, buf, 200, 0, t->h->now), 200);
	ts_expect_none(t);          /* too small an increase to announce (SWS avoidance) */
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 3896);
	/* the buffer less a segment (Linux's window clamp, the full segments
	 * having let rcv_ssthresh grow to it past what the SYN offered) */
	ts_expect(t, ". 1:1(0) ack 4097 win 2896 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* Linux's __tcp_select_window: once the receive buffer is more than half
 * full, a read that frees less than a sixteenth of it opens no window (one
 * update per read would have the peer send one read's worth at a time); the
 * update goes when a sixteenth is free, with all of it. */
static void test_window_reopens_by_sixteenths(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static uint8_t buf[8192];
	char spec[160], line[512];
	uint32_t seq = 1;

	(void)state;
	ts_past_quickack(c);
	/* 64 KiB buffer (tcp_rmem[1]), window scale 7: 45 segments fill it
	 * but for 376 bytes. */
	for (int i = 0; i < 45; i++, seq += 1448) {
		snprintf(spec, sizeof(spec), ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>", seq, seq + 1448);
		ts_inject(t, spec);
	}
	ts_advance_ms(t, 40);
	while (ts_next(t, line, sizeof(line)))
		;
	assert_int_equal(tcp_inq(c), 45 * 1448);
	/* 2376 bytes free: less than 4096, a sixteenth: nothing to announce */
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 2000);
	ts_expect_none(t);
	/* 4376 free: the window opens, rounded down to the scale's unit */
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 2000);
	snprintf(spec, sizeof(spec), ". 1:1(0) ack %u win %u " TSO, seq, 4376u >> 7);
	ts_expect(t, spec);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 6298: the retransmission timer doubles on each expiry, and the
 * connection gives up with ETIMEDOUT after 15 retransmissions (tcp_retries2).
 * Before the first, the loss probe (RFC 8985 §7.2) at the RTO's time: one
 * segment in flight, its PTO (2 SRTT and the delayed ACK) is past the RTO,
 * and Linux's tcp_schedule_loss_probe takes the earlier time; the RTO
 * counts from the probe. */
static void test_rto_backoff_and_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char line[512];
	int n = 0;

	(void)state;
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_advance_ms(t, 199);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	assert_int_equal(c->tlp_probes, 1);
	assert_int_equal(t->h->s->stats.tcp_timeouts, 0);
	ts_advance_ms(t, 198);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_advance_ms(t, 398);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_advance_ms(t, 798);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 4);
	assert_int_equal(t->h->s->stats.tcp_timeouts, 3);
	for (int i = 0; i < 2000 && tcp_get_state(c) != TCP_STATE_CLOSED; i++) {
		ts_advance_ms(t, 1000);
		while (ts_next(t, line, sizeof(line))) {
			assert_string_equal(strstr(line, "P. 1:101(100)") == line ? "ok" : line, "ok");
			n++;
		}
	}
	assert_int_equal(n, 12);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_poll(c) & SOCK_POLLERR);
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* TCP_USER_TIMEOUT bounds how long the retransmissions may go on unanswered,
 * counted from the first timeout's resend (Linux's retrans_stamp: the
 * loss probe before it does not count), and the backed-off timer is cut
 * short to end it on time (tcp_clamp_rto_to_user_timeout). Measured on
 * Linux 6.18 with TCP_USER_TIMEOUT 1500 and a silent peer: data at 0.300 s,
 * the probe at 0.508, resends at 0.716, 1.128 and 1.960, ETIMEDOUT at
 * 2.250 (0.716 + 1.5 s and a timer tick); pstack ended it at 1.800, 1.5 s
 * after the data went out, one resend short. */
static void test_user_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint64_t sent, first;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 5000), 0);
	sent = t->h->now;
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	h_drain_tx(t->h);
	while (t->h->s->stats.tcp_timeouts == 0)
		ts_advance_ms(t, 1);
	first = t->h->now;
	assert_true(first - sent >= 200 * 1000);        /* the RTO, at least TCP_RTO_MIN */
	/* resends at 1, 3 and 7 s from there would run past 5 s: the last wait is cut */
	ts_advance_us(t, first + 4999 * 1000 - t->h->now);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_advance_ms(t, 1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	h_drain_tx(t->h);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A timeout resends the earliest data even when the peer's window is small
 * enough for sender SWS avoidance to hold new data back: its window updates
 * may have been lost (a link down for a while), and only a retransmission
 * brings an ACK with the window it really has. */
static void test_rto_resends_into_small_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char line[512];
	unsigned a, b;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * 1448, t->h->now), 10 * 1448);
	while (ts_next(t, line, sizeof(line)))
		;
	/* the peer takes five segments and closes its window to 1024 bytes past them */
	ts_inject(t, ". 1:1(0) ack 7241 win 8 <nop,nop,TS val 200 ecr 0>");
	while (ts_next(t, line, sizeof(line)))
		;
	/* its later window updates are lost; the timeout resends what fits the
	 * last window it announced (a tail loss probe may come first) */
	a = b = 0;
	for (int ms = 0; ms < 5000 && a != 7241; ms += 10) {
		ts_advance_ms(t, 10);
		while (a != 7241 && ts_next(t, line, sizeof(line)))
			assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b), 2);
	}
	assert_int_equal(a, 7241);
	assert_int_equal(b - a, 1024);
	/* its ACK opens the window again, and the rest is acknowledged */
	ts_inject(t, ". 1:1(0) ack 8265 win 502 <nop,nop,TS val 300 ecr 0>");
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 301 ecr 0>");
	assert_int_equal(tcp_outq(c), 0);
	while (ts_next(t, line, sizeof(line)))
		;
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 5681 §3.2 and RFC 6582: three duplicate ACKs retransmit the first
 * unacknowledged segment; a partial ACK retransmits the next hole; the
 * full ACK ends recovery. Without SACK. */
static void test_fast_retransmit_newreno(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 502 " TSO);
	char line[512];

	(void)state;
	assert_int_equal(tcp_send(c, big, 10 * 1448, t->h->now), 10 * 1448);
	for (int i = 0; i < 10; i++)
		assert_true(ts_next(t, line, sizeof(line)));
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 1);
	/* partial ACK: the next hole is resent at once */
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 4345:5793(1448) ack 1 win 502 " TSO);
	/* full ACK */
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 6675: with SACK, holes are retransmitted once enough data above them
 * is SACKed. PSTACK_TCP_RECOVERY=0, RFC 6675's DupThresh rule (RACK, the
 * default, is checked in test_tcp_recovery.c). */
static void test_sack_recovery(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	char line[512];

	(void)state;
	t->h->s->cfg.tcp_recovery = 0;
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, big, 10 * 1448, t->h->now), 10 * 1448);
	for (int i = 0; i < 10; i++)
		assert_true(ts_next(t, line, sizeof(line)));
	/* segments 2 and 4 are lost */
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2897:4345>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2897:4345 5793:7241>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2897:4345 5793:8689>");
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	/* the second hole has only two segments SACKed above it: not lost yet (IsLost) */
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2897:4345 5793:10137>");
	ts_expect(t, ". 4345:5793(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	/* the first retransmission's ACK: the receiver holds everything above
	 * the second hole (nothing of the tail is missing) */
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 112 ecr 0,nop,nop,sack 5793:14481>");
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 113 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 0);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 2);
	ts_abort(t, c);
	ts_free(t);
}

/* Keepalive: probes after the idle time, then every interval; the peer's
 * answer resets the count; no answer after KEEPCNT probes ends it. */
static void test_keepalive(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPIDLE, 10), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPINTVL, 2), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPCNT, 3), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPALIVE, 1), 0);
	ts_advance_ms(t, 9999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 9999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 2000);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 2000);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 2000);
	ts_expect(t, "R. 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* With TCP_USER_TIMEOUT, keepalive probes go on until that long has
 * passed since the peer was last heard, whatever TCP_KEEPCNT says (Linux's
 * tcp_keepalive_timer). Measured on Linux 6.18 (idle 1 s, interval 1 s,
 * count 3, TCP_USER_TIMEOUT 5500 ms, a silent peer): probes at 1, 2, 3, 4
 * and 5 s, the reset at 6 s (pstack: the reset at 4 s). */
static void test_keepalive_with_user_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPIDLE, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPINTVL, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPCNT, 3), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 5500), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPALIVE, 1), 0);
	for (int i = 0; i < 5; i++) {
		ts_advance_ms(t, 1000);
		ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	}
	ts_advance_ms(t, 999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, "R. 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Closing with unread data resets the connection (RFC 2525 §2.17, Linux). */
static void test_close_with_unread_data(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win * " TSO);
	ts_free(t);
}

/* Close after queued data: FIN follows the data; the orphan finishes alone. */
static void test_close_flushes_queue(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_send(c, big, 3000, t->h->now), 3000);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:3001(104) ack 1 win 502 " TSO);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 3001:3001(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_pending_close(t->h->s), 1);
	/* lost: the loss probe resends the last segment, the FIN alone
	 * (FIN_WAIT_1 probes as ESTABLISHED does: Linux 6.18 measured, the
	 * probe 28 ms after such an ACK), then the RTO resends from the
	 * first unacknowledged byte */
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 300);
	ts_expect(t, "F. 3001:3001(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 300);
	ts_expect(t, "FP. 2897:3001(104) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 3002 win 502 <nop,nop,TS val 111 ecr 0>");
	assert_int_equal(tcp_pending_close(t->h->s), 0);
	ts_inject(t, "F. 1:1(0) ack 3002 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 3002:3002(0) ack 2 win 502 " TSO);
	ts_advance_ms(t, 60000);
	ts_free(t);
}

/* An orphan in FIN_WAIT_2 gives up after tcp_fin_timeout (60 s). */
static void test_fin_wait_2_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 60000);
	ts_free(t);
}

/* A bulk transfer both ways with a cooperative peer, checking every byte. */
static void test_bulk_transfer(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static uint8_t src[300000];
	char line[512];
	size_t sent = 0, acked = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	while (acked < sizeof(src)) {
		long n = tcp_send(c, src + sent, sizeof(src) - sent, t->h->now);

		if (n > 0)
			sent += (size_t)n;
		while (ts_next(t, line, sizeof(line))) {
			unsigned a, b;
			char ackline[200];

			assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b), 2);
			assert_memory_equal(t->last_payload, src + a - 1, b - a);
			acked = b - 1;
			snprintf(ackline, sizeof(ackline), ". 1:1(0) ack %u win 502 <nop,nop,TS val 200 ecr 0>", b);
			ts_inject(t, ackline);
		}
	}
	assert_int_equal(tcp_outq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}


/* RFC 3042: the first and second duplicate ACKs each send one new segment.
 * The first ACK of SND.UNA after the handshake is no duplicate: SND.WL1 is
 * the SYN-ACK's SEQ, so its SEQ is past it, a window update (Linux's
 * tcp_may_update_window; rawframes active_dupacks_first_is_window_update). */
static void test_limited_transmit(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, "S. 0:0(0) ack 1 win 64256 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 502 " TSO);
	char line[512];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 14 * 1448, t->h->now), 14 * 1448);
	for (int i = 0; i < 10; i++)
		assert_true(ts_next(t, line, sizeof(line)));
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 14481:15929(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 15929:17377(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}


/* RFC 3522/4015: an ACK after a timeout that echoes the original
 * transmission's timestamp shows the timeout was spurious: the congestion
 * window comes back and nothing more is resent. (Without SACK, so that no
 * tail loss probe comes first.) */
static void test_spurious_rto_undo(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 502 " TSO);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_expect(t, "P. 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_advance_ms(t, 201);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 200 ecr 100>");
	/* the ACK for the original segment, delayed */
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_cwnd, 10);
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_outq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}

/* The same, but the ACK echoes the retransmission: a real loss, and the
 * rest of the window is resent (go-back-N from SND.UNA, RFC 5681 §3.1). */
static void test_real_rto_resends(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>",
					  ". 1:1(0) ack 1 win 502 " TSO);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	h_drain_tx(t->h);
	ts_advance_ms(t, 201);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 200 ecr 100>");
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 200>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_cwnd, 2);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 201 ecr 110>");
	ts_expect(t, "P. 2897:4345(1448) ack 1 win 502 <nop,nop,TS val 201 ecr 110>");
	ts_abort(t, c);
	ts_free(t);
}


/* RFC 8985 §7: with SACK, a tail loss probe (the last segment again) goes
 * out after 2 SRTT + 2 ms of silence instead of waiting for the RTO; one per
 * flight; the RTO follows if the probe is not answered either. */
static void test_tail_loss_probe(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_advance_ms(t, 10);
	/* an RTT sample of 10 ms */
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), 1);
	ts_expect(t, "P. 1:2(1) ack 1 win 502 " TSO);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val 110 ecr 10>");
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	ts_expect(t, ". 2:1450(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1450:2898(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2898:4346(1448) ack 1 win 502 " TSO);
	/* srtt = 1/8 * 10 ms + 7/8 * ~0: PTO = 2 * srtt + 2 ms, about 4.5 ms */
	ts_advance_ms(t, 4);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, "P. 2898:4346(1448) ack 1 win 502 " TSO);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 1);
	/* no second probe: the RTO comes next */
	ts_advance_ms(t, 150);
	ts_expect_none(t);
	/* the probe's ACK (our ACKs were lost) covers everything */
	ts_inject(t, ". 1:1(0) ack 4346 win 502 <nop,nop,TS val 111 ecr 20>");
	assert_int_equal(tcp_outq(c), 0);
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Uncorking sends what waited at the caller's time (the shim's, through
 * tcp_setopt_at), not at the stack's last one: 5 ms older here, as when no
 * frame or timer ran the stack since. The segment it pushed looked sent
 * before the full one ahead of it: its TSval went back (RFC 7323 §5.4; the
 * peer drops it as an old duplicate, PAWS, and it waits for the RTO), and
 * RACK deemed it lost once the one ahead was acknowledged (RFC 8985).
 * nginx uncorks after each response: 200 ms stalls. Where a caller has no
 * time of its own (tcp_setopt), neither the TSval nor the send time RACK
 * orders segments by goes back. */
static void test_uncork_sends_at_its_own_time(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	const struct tcp_txseg *a, *b;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	t->h->now += 5000;      /* 5 ms without the stack running */
	assert_int_equal(tcp_send(c, big, 1548, t->h->now), 1548);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 5 ecr 100>");
	ts_expect_none(t);      /* the last 100 bytes wait for the uncork */
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_CORK, 0, t->h->now), 0);
	ts_expect(t, "P. 1449:1549(100) ack 1 win 502 <nop,nop,TS val 5 ecr 100>");
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 110 ecr 5>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1549 win 502 <nop,nop,TS val 111 ecr 5>");
	assert_int_equal(tcp_outq(c), 0);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 0);

	/* the same with the stack's own time, 5 ms old */
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	t->h->now += 5000;
	assert_int_equal(tcp_send(c, big, 1548, t->h->now), 1548);
	ts_expect(t, ". 1549:2997(1448) ack 1 win 502 <nop,nop,TS val 11 ecr 111>");
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 0), 0);
	ts_expect(t, "P. 2997:3097(100) ack 1 win 502 <nop,nop,TS val 11 ecr 111>");
	assert_int_equal(c->sb.n, 2);
	a = tcp_sb_at(&c->sb, 0);
	b = tcp_sb_at(&c->sb, 1);
	assert_true(b->xmit_at >= a->xmit_at);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 2997 win 502 <nop,nop,TS val 112 ecr 11>");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 3097 win 502 <nop,nop,TS val 113 ecr 11>");
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	assert_int_equal(t->h->s->stats.tcp_retransmits, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* Bursts are bounded: the application's call sends TCP_APP_BURST segments,
 * the stack thread's timer pass the rest in turns of TCP_TX_BURST, round
 * robin between connections (so that input is read in between). */
static void test_bounded_bursts(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char line[512];
	int n = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 65535 <nop,nop,TS val 101 ecr 0>");
	c->cc.cwnd = 100 * 1448;                /* white box: a grown congestion window */
	assert_int_equal(tcp_send(c, big, 100 * 1448, t->h->now), 100 * 1448);
	while (ts_next(t, line, sizeof(line)))
		n++;
	assert_int_equal(n, TCP_APP_BURST);
	assert_true(tcp_timers_at(t->h->s) <= t->h->now);
	stack_poll(t->h->s, t->h->now);
	for (n = 0; ts_next(t, line, sizeof(line));)
		n++;
	assert_int_equal(n, TCP_TX_ROUND);
	ts_advance_us(t, 1);
	for (n = 0; ts_next(t, line, sizeof(line));)
		n++;
	assert_int_equal(n, 100 - TCP_APP_BURST - TCP_TX_ROUND);
	ts_abort(t, c);
	ts_free(t);
}


/* TSO (a device with transmit_gso): new data leaves as frames of many
 * segments, gso_size the MSS after options, whole segments except at the
 * end of the data, each with PSH (Linux's TSO frames have it, for the
 * device to put on the last segment); retransmissions go one segment at a
 * time. */
static void test_tso_frames(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	c = ts_connect(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 30000, t->h->now), 30000);
	/* the initial window: 10 segments in one frame */
	ts_expect(t, "P. 1:14481(14480) ack 1 win 502 " TSO);
	assert_int_equal(t->last_gso, 1448);
	assert_int_equal(t->h->s->stats.tcp_out, 2 + 10);      /* SYN, ACK, then 10 segments */
	ts_expect_none(t);
	/* an ACK for 4 segments: room for 8 (slow start grows cwnd by all 4,
	 * as Linux's tcp_slow_start), sent as whole segments */
	ts_inject(t, ". 1:1(0) ack 5793 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, "P. 14481:26065(11584) ack 1 win 502 " TSO);
	assert_int_equal(t->last_gso, 1448);
	/* the rest of the data, the last segment short */
	ts_inject(t, ". 1:1(0) ack 26065 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect(t, "P. 26065:30001(3936) ack 1 win 502 " TSO);
	assert_int_equal(t->last_gso, 1448);
	/* a retransmission (here the tail loss probe) is a single ordinary
	 * segment: the frame's last, as it went on the wire (Linux's
	 * tcp_send_loss_probe) */
	ts_advance_ms(t, 10);
	ts_expect(t, "P. 28961:30001(1040) ack 1 win 502 " TSO);
	assert_int_equal(t->last_gso, 0);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Where each frame starts in memory, as the device gets it: a TSO frame's
 * payload and another frame's first byte sit at a multiple of PKB_ALIGN
 * (pkb.h: where the TAP's write copies fast). */
struct align_seen {
	struct harness *h;
	unsigned tso, plain, misplaced;
};

static int check_alignment(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct align_seen *a = ctx;
	const uint8_t *at = pkb->data;
	int rc;

	if (pkb->gso_size) {
		at += ETH_HLEN + IP4_HLEN + (pkb->data[ETH_HLEN + IP4_HLEN + 12] >> 4) * 4;
		a->tso++;
	} else {
		a->plain++;
	}
	if ((uintptr_t)at % PKB_ALIGN)
		a->misplaced++;
	rc = a->h->dev->ops->transmit(a->h->dev, pkb->data, pkb->len, pkb->gso_size, now);
	pkb_free(pkb);
	return rc;
}

static void test_frames_aligned_for_the_device(void **state)
{
	struct tscript *t = ts_new(100);
	/* TSO frames of several segments, then a segment alone */
	static const size_t writes[] = { 30000, 25907, 21814, 1000 };
	struct align_seen a = { t->h, 0, 0, 0 };
	struct tcp_conn *c;
	char line[128];

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	c = ts_connect(t);
	h_set_output(t->h, check_alignment, &a);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	for (size_t w = 0; w < sizeof(writes) / sizeof(writes[0]); w++) {
		size_t len = writes[w];

		assert_int_equal(tcp_send(c, big, len, t->h->now), (long)len);
		while (tcp_outq(c)) {
			struct h_frame *f;
			uint32_t una = 0;

			while ((f = h_pop_tx(t->h))) {
				struct ip4_hdr ih;
				size_t plen;
				const uint8_t *p = h_tx_ip4(f, &ih, &plen);
				struct tcp_seg g;

				assert_int_equal(tcp_seg_parse(p, plen, ih.src, ih.dst, &g), WIRE_OK);
				una = g.seq + (uint32_t)g.len - t->isn;
				free(f);
			}
			if (!una) {
				ts_advance_ms(t, 10);   /* a probe or a retransmission: plain frames */
				continue;
			}
			snprintf(line, sizeof(line), ". 1:1(0) ack %u win 502 <nop,nop,TS val 101 ecr 0>", una);
			ts_inject(t, line);
		}
	}
	h_set_output(t->h, NULL, NULL);
	assert_true(a.tso >= 3);
	assert_true(a.plain >= 1);
	assert_int_equal(a.misplaced, 0);
	ts_abort(t, c);
	ts_free(t);
}

/*
 * Zero-copy transmit (stack_link's tx_ext): a TSO frame's payload stays in
 * the send ring (pkb->ext), its part from a 64-byte line on, the bytes
 * before it with the headers. The frames are kept past everything that
 * lets go of the ring's memory (the ring growing, the connection aborted
 * and freed): their bytes are still the ones sent (ASan: never freed under
 * them), and freeing the frames frees the memory (LeakSanitizer, pkb_live).
 */
struct zc_seen {
	struct pkb *held[64];
	unsigned n, ext, plain;
};

static int hold_frames(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct zc_seen *z = ctx;

	(void)now;
	if (pkb->ext) {
		size_t hdrs = ETH_HLEN + IP4_HLEN + (size_t)(pkb->data[ETH_HLEN + IP4_HLEN + 12] >> 4) * 4;

		z->ext++;
		assert_true(pkb->gso_size > 0);
		assert_true(pkb_frame_len(pkb) - hdrs >= TCP_ZC_MIN);
		assert_int_equal((uintptr_t)pkb->ext->p[0] % PKB_ALIGN, 0);
		assert_true(pkb->len >= hdrs && pkb->len - hdrs < PKB_ALIGN);
	} else {
		z->plain++;
	}
	assert_true(z->n < 64);
	z->held[z->n++] = pkb;
	return 0;
}

static void test_zero_copy_frames(void **state)
{
	static uint8_t pat[1 << 17];
	struct tscript *t = ts_new(100);
	struct zc_seen z = { .n = 0 };
	long live = pkb_live();
	struct tcp_conn *c;
	char line[128];
	size_t sent = 0;
	uint32_t isn;
	unsigned blocks = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + i / 251);
	h_enable_tso(t->h, 65535 - 20 - 60);
	stack_set_tx_ext(t->h->s, true);
	c = ts_connect(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	h_set_output(t->h, hold_frames, &z);
	/* The initial window's 10 segments (one TSO frame), from a ring that
	 * then grows (autotuning) to take the rest: its first block is let go. */
	assert_int_equal(tcp_send(c, pat, 14480 + 3, t->h->now), 14480 + 3);
	sent = 14480 + 3;
	for (int round = 0; round < 40 && (sent < sizeof(pat) || tcp_outq(c)) && z.n < 60; round++) {
		long w = tcp_send(c, pat + sent, sizeof(pat) - sent, t->h->now);

		assert_true(w >= 0);
		sent += (size_t)w;
		snprintf(line, sizeof(line), ". 1:1(0) ack %u win 65535 <nop,nop,TS val 101 ecr 0>",
			 (unsigned)(c->snd_nxt - t->isn));
		ts_inject(t, line);
	}
	assert_true(z.ext >= 3);
	/* More than one block of ring memory among them: the ring grew. */
	for (unsigned i = 1; i < z.n; i++)
		blocks += z.held[i]->ext && z.held[i - 1]->ext && z.held[i]->ext->owner != z.held[i - 1]->ext->owner;
	assert_true(blocks >= 1);
	isn = t->isn;
	h_set_output(t->h, NULL, NULL);
	h_drain_tx(t->h);
	ts_abort(t, c);         /* the connection and its rings freed */
	for (unsigned i = 0; i < z.n; i++) {
		struct pkb *p = pkb_linearize(z.held[i]);
		struct ip4_hdr ih = { 0 };
		struct tcp_seg g;

		assert_non_null(p);
		assert_int_equal(ip4_hdr_parse(p->data + ETH_HLEN, p->len - ETH_HLEN, &ih), WIRE_OK);
		assert_int_equal(tcp_seg_parse(p->data + ETH_HLEN + ih.ihl, ih.total_len - ih.ihl, ih.src, ih.dst, &g),
				 WIRE_OK);
		if (g.len) {
			size_t off = g.seq - isn - 1;

			assert_true(off + g.len <= sent);
			assert_memory_equal(g.data, pat + off, g.len);
		}
		pkb_free(p);
	}
	assert_int_equal(pkb_live(), live);
	ts_free(t);
}

/* Reads n bytes from c in reads of at most step, checking each against the
 * peer's bytes from relative sequence number rel. */
static void read_checked(struct tscript *t, struct tcp_conn *c, size_t n, size_t step, uint32_t rel)
{
	while (n) {
		long got = tcp_recv(c, big, step < n ? step : n, 0, t->h->now);

		assert_true(got > 0);
		ts_check_bytes(big, (size_t)got, rel);
		rel += (uint32_t)got;
		n -= (size_t)got;
	}
}

/*
 * Zero-copy receive: a large frame's payload stays in the buffer it was
 * read into (a chunk of the receive queue holding a reference on it), small
 * text behind it goes into a copy chunk after it, never into the ring
 * before it, and out-of-order text pulled in behind a kept frame too; reads
 * of odd sizes and a peek across the pieces give the bytes in order; the
 * buffers go back once read, or when the connection goes with them unread.
 */
static void test_zero_copy_receive(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	long live = pkb_live();

	(void)state;
	h_keep_rx(t->h, 65536 + 4096);
	/* 500 bytes (copied: too small to keep), 40000 (kept), 1000 (copied behind). */
	ts_inject(t, ". 1:501(500) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(c->rcvq.blen, 500);
	assert_null(c->rcvq.chunks);
	ts_inject(t, ". 501:40501(40000) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_non_null(c->rcvq.chunks);
	assert_non_null(c->rcvq.chunks->rx);
	assert_int_equal(pkb_live(), live + 1);
	ts_inject(t, ". 40501:41501(1000) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(c->rcvq.blen, 500);
	assert_non_null(c->rcvq.last);
	assert_null(c->rcvq.last->rx);
	assert_int_equal(tcp_inq(c), 41500);
	assert_true(tcp_ring_mem(&c->rcvq) >= c->rcvq.cap + 65536);
	/* A peek across the ring, the kept frame and the copy chunk. */
	assert_int_equal(tcp_recv(c, big, 41000, SOCK_PEEK, t->h->now), 41000);
	ts_check_bytes(big, 41000, 1);
	read_checked(t, c, 41500, 7777, 1);
	assert_null(c->rcvq.chunks);
	assert_int_equal(tcp_ring_mem(&c->rcvq), c->rcvq.cap);
	assert_int_equal(pkb_live(), live);
	h_drain_tx(t->h);

	/* Out of order behind a hole, then the hole filled by a kept frame:
	 * what the out-of-order queue held comes in behind it. */
	ts_inject(t, ". 81501:82501(1000) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_inject(t, ". 41501:81501(40000) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	assert_int_equal(tcp_inq(c), 41000);
	assert_int_equal(c->rcvq.blen, 0);
	assert_non_null(c->rcvq.chunks->rx);
	assert_null(c->rcvq.last->rx);
	read_checked(t, c, 41000, 40001, 41501);
	assert_null(c->rcvq.chunks);
	assert_int_equal(pkb_live(), live);
	h_drain_tx(t->h);

	/* A kept frame never read: freed with the connection. */
	ts_inject(t, ". 82501:122501(40000) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	assert_int_equal(pkb_live(), live + 1);
	assert_int_equal(stack_stats(t->h->s)->tcp_rx_kept, 3);
	h_drain_tx(t->h);
	ts_abort(t, c);
	assert_int_equal(pkb_live(), live);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segmentation_and_nagle),
		cmocka_unit_test(test_eor_no_coalesce),
		cmocka_unit_test(test_delayed_ack),
		cmocka_unit_test(test_out_of_order_sack),
		cmocka_unit_test(test_out_of_order_fin),
		cmocka_unit_test(test_zero_window_persist),
		cmocka_unit_test(test_receive_window_and_update),
		cmocka_unit_test(test_window_reopens_by_sixteenths),
		cmocka_unit_test(test_rto_backoff_and_timeout),
		cmocka_unit_test(test_user_timeout),
		cmocka_unit_test(test_spurious_rto_undo),
		cmocka_unit_test(test_real_rto_resends),
		cmocka_unit_test(test_rto_resends_into_small_window),
		cmocka_unit_test(test_tail_loss_probe),
		cmocka_unit_test(test_fast_retransmit_newreno),
		cmocka_unit_test(test_sack_recovery),
		cmocka_unit_test(test_limited_transmit),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_keepalive_with_user_timeout),
		cmocka_unit_test(test_close_with_unread_data),
		cmocka_unit_test(test_close_flushes_queue),
		cmocka_unit_test(test_fin_wait_2_timeout),
		cmocka_unit_test(test_bulk_transfer),
		cmocka_unit_test(test_uncork_sends_at_its_own_time),
		cmocka_unit_test(test_bounded_bursts),
		cmocka_unit_test(test_tso_frames),
		cmocka_unit_test(test_frames_aligned_for_the_device),
		cmocka_unit_test(test_zero_copy_frames),
		cmocka_unit_test(test_zero_copy_receive),
	};
	return cmocka_run_group_tests_name("tcp_data", tests, NULL, NULL);
}
