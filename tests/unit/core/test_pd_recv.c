/* The receive side checked against Linux's own packetdrill selftests
 * (tools/testing/selftests/net/packetdrill/ in the kernel tree): each test
 * names the script it follows. Where the script's numbers come from
 * Linux's skb truesize accounting (windows after SO_RCVBUF), the test
 * checks the logic (drop or accept, ACK or not, zero window or not). */
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

static uint8_t buf[1 << 20];

/* A listener with SO_RCVBUF rcvbuf (0: the default) that takes the peer's
 * SYN (syn), answers as synack says, and gets the handshake's ACK (ack). */
static struct tcp_conn *accept_with(struct tscript *t, struct tcp_conn **lp, int rcvbuf, const char *syn,
				    const char *synack, const char *ack)
{
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err;

	assert_non_null(l);
	if (rcvbuf)
		assert_int_equal(tcp_setopt(l, TCP_OPT_RCVBUF, rcvbuf), 0);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	ts_inject(t, syn);
	ts_expect(t, synack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	*lp = l;
	return c;
}

/* The window field of the next frame, which must be an ACK of ack. */
static unsigned expect_ack_win(struct tscript *t, unsigned ack)
{
	char line[512], want[64];
	unsigned a, w;

	if (!ts_next(t, line, sizeof(line)))
		fail_msg("expected an ACK of %u, nothing was sent", ack);
	if (sscanf(line, ". 1:1(0) ack %u win %u", &a, &w) != 2 || a != ack) {
		snprintf(want, sizeof(want), ". 1:1(0) ack %u win *", ack);
		fail_msg("expected '%s'\n      got '%s'", want, line);
	}
	return w;
}

/* Follows tcp_rcv_big_endseq.pkt: a segment that starts in the window but
 * ends beyond it is dropped whole while the receive queue holds data (in
 * order or out of order), and answered with a duplicate ACK; one wholly
 * beyond the window too. Once the application has read everything, the
 * same segment is taken though it ends beyond the window. */
static void test_beyond_window_end_dropped_unless_queue_empty(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	unsigned w;

	(void)state;
	c = accept_with(t, &l, 10000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	ts_inject(t, "P. 1:4001(4000) ack 1 win 257");
	w = expect_ack_win(t, 4001);
	assert_true(w > 0 && w < 4001 + 50000);
	/* in order, its end beyond the window: dropped whole */
	ts_inject(t, "P. 4001:54001(50000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_int_equal(tcp_inq(c), 4000);
	/* out of order, its end beyond the window: dropped whole */
	ts_advance_ms(t, 1000);
	ts_inject(t, "P. 5001:55001(50000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_null(c->ofo);
	/* wholly beyond the window */
	ts_inject(t, "P. 70001:80001(10000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_null(c->ofo);
	assert_int_equal(tcp_recv(c, buf, 100000, 0, t->h->now), 4000);
	ts_check_bytes(buf, 4000, 1);
	h_drain_tx(t->h);
	/* The queue empty: taken, all 50000 bytes, past the window and the
	 * buffer (Linux charges the first whatever it costs); then no window
	 * is left ("ack 54001 win 0"). */
	ts_inject(t, "P. 4001:54001(50000) ack 1 win 257");
	assert_int_equal(tcp_inq(c), 50000);
	assert_int_equal(expect_ack_win(t, 54001), 0);
	assert_int_equal(tcp_recv(c, buf, 100000, 0, t->h->now), 50000);
	ts_check_bytes(buf, 50000, 4001);
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}


/* Follows tcp_rcv_neg_window.pkt: a segment larger than the window, the
 * queue empty, is taken without overrunning the receive space accounting
 * (the usable window is never negative: a pure ACK and a RST at the new
 * RCV.NXT are still in the window). */
static void test_too_big_segment_then_rst_at_rcv_nxt(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;
	uint32_t nxt;

	(void)state;
	c = accept_with(t, &l, 20000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	ts_inject(t, "P. 1:20001(20000) ack 1 win 257");
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.bytes_received > 0);
	h_drain_tx(t->h);
	nxt = 1 + (uint32_t)i.bytes_received;
	{
		char spec[96];

		snprintf(spec, sizeof(spec), "R. %u:%u(0) ack 1 win 257", nxt, nxt);
		ts_inject(t, spec);
	}
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ECONNRESET);
	ts_inject(t, ". 20001:20001(0) ack 1 win 257");
	ts_expect(t, "R 1:1(0) win 0");
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_rcv_toobig.pkt: with data unread, a segment beyond a window
 * a smaller SO_RCVBUF left is dropped whole (duplicate ACK); once it is
 * read, the same segment is taken. */
static void test_too_big_dropped_after_rcvbuf_shrinks(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	size_t n;

	(void)state;
	c = accept_with(t, &l, 20000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	ts_inject(t, "P. 1:20001(20000) ack 1 win 257");
	ts_advance_ms(t, 40);
	n = tcp_inq(c);
	assert_true(n > 0);
	expect_ack_win(t, 1 + (unsigned)n);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 12000), 0);
	h_drain_tx(t->h);
	{
		char spec[96];

		snprintf(spec, sizeof(spec), "P. %zu:%zu(60000) ack 1 win 257", 1 + n, 60001 + n);
		ts_inject(t, spec);
		snprintf(spec, sizeof(spec), ". 1:1(0) ack %zu win *", 1 + n);
		ts_expect(t, spec);
	}
	assert_int_equal(tcp_inq(c), n);
	h_drain_tx(t->h);
	assert_int_equal(tcp_recv(c, buf, 100000, 0, t->h->now), (long)tcp_inq(c));
	h_drain_tx(t->h);
	{
		char spec[96];

		snprintf(spec, sizeof(spec), "P. %zu:%zu(60000) ack 1 win 257", 1 + n, 60001 + n);
		ts_inject(t, spec);
	}
	assert_true(tcp_inq(c) > 0);
	expect_ack_win(t, 1 + (unsigned)n + (unsigned)tcp_inq(c));
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_rcv_zero_wnd_fin.pkt: a FIN that comes into a closed window
 * is taken (else a peer that sends one in a loop never stops). */
static void test_fin_into_zero_window(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	char line[512], last[512] = "";
	unsigned nxt = 1;

	(void)state;
	c = accept_with(t, &l, 20000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	/* fill the window, a segment at a time */
	for (int k = 0; k < 100 && c->rcv_adv != c->rcv_nxt; k++) {
		char spec[96];
		unsigned n = c->rcv_adv - c->rcv_nxt < 1000 ? c->rcv_adv - c->rcv_nxt : 1000;

		snprintf(spec, sizeof(spec), "P. %u:%u(%u) ack 1 win 257", nxt, nxt + n, n);
		ts_inject(t, spec);
		nxt = 1 + (unsigned)tcp_inq(c);
	}
	ts_advance_ms(t, 200);
	while (ts_next(t, line, sizeof(line)))
		memcpy(last, line, sizeof(last));
	assert_true(ts_match(". 1:1(0) ack * win 0", last));
	{
		char spec[96];

		snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1 win 257", nxt, nxt);
		ts_inject(t, spec);
		/* Linux ACKs at once: its buffer was overfilled (60000 bytes
		 * taken into 40000), the FIN finds no memory (ICSK_ACK_NOW).
		 * The receive ring never holds more than the window it
		 * offered, so the FIN's ACK is the delayed one after data, as
		 * Linux's is when memory is left (test_tcp_review.c). */
		ts_advance_ms(t, 40);
		snprintf(spec, sizeof(spec), ". 1:1(0) ack %u win 0", nxt + 1);
		ts_expect(t, spec);
	}
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_dsack_mult.pkt: SACK blocks, the latest first, joined when
 * they touch; a segment that repeats data held out of order or already
 * received draws a D-SACK block (RFC 2883) first. */
static void test_dsack_multiple(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 1024");
	ts_inject(t, "P. 1001:2001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2001>");
	ts_inject(t, "P. 2001:3001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:3001>");
	ts_inject(t, "P. 4001:5001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 4001:5001 1001:3001>");
	ts_inject(t, "P. 7001:8001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 7001:8001 4001:5001 1001:3001>");
	/* covers the first hole and repeats 1001:3001 */
	ts_inject(t, "P. 1:6001(6000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 6001 win * <nop,nop,sack 1001:3001 7001:8001>");
	ts_inject(t, "P. 6001:8001(2000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 8001 win * <nop,nop,sack 7001:8001>");
	ts_inject(t, "P. 1:1001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 8001 win * <nop,nop,sack 1:1001>");
	assert_int_equal(tcp_inq(c), 8000);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Out-of-order segments that overlap what is held after them: the part
 * they repeat is a D-SACK block too (Linux's tcp_data_queue_ofo,
 * merge_right: tcp_dsack_extend). Measured on Linux 6.18 (rawframes
 * est_ooo_overlapping): 100:110, 105:115, then 95:105, the last ACKed
 * with <sack 100:105 95:115>. */
static void test_ofo_overlap_next_dsack(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 1024");
	ts_inject(t, "P. 101:111(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 101:111>");
	ts_inject(t, "P. 106:116(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 106:111 101:116>");
	ts_inject(t, "P. 96:106(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 101:106 96:116>");
	/* one that covers the held blocks whole and the start of another: the
	 * D-SACK block grows over what touches it (96:116), not over 121:126 */
	ts_inject(t, "P. 121:131(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 121:131 96:116>");
	ts_inject(t, "P. 91:126(35) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 96:116 91:131>");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Out-of-order text that starts in the window and ends past it is held
 * and SACKed whole, as Linux's tcp_data_queue_ofo holds it (rawframes
 * est_data_past_right_edge). */
static void test_ofo_past_window_kept_whole(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	char want[128];
	uint32_t w;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 1024");
	w = c->rcv_adv - c->rcv_nxt;
	ts_injectf(t, "P. %u:%u(1000) ack 1 win 1024", w - 99, w + 901);
	snprintf(want, sizeof(want), ". 1:1(0) ack 1 win * <nop,nop,sack %u:%u>", w - 99, w + 901);
	ts_expect(t, want);
	assert_int_equal(c->ofo_bytes, 1000);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A FIN held out of order is SACKed as Linux queues it (tcp_data_queue_ofo:
 * its end_seq counts the FIN): a bare FIN beyond a hole is a block of one,
 * a FIN with data the last byte of the data's block (rawframes
 * est_fin_out_of_order, est_data_fin_out_of_order). */
static void test_ofo_fin_sacked(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 1024");
	ts_inject(t, "F. 11:11(0) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 11:12>");
	ts_inject(t, "P. 1:11(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 12 win *");
	ts_abort(t, c);
	tcp_close(l, t->h->now);

	ts_new_peer(t);
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 1024");
	ts_inject(t, "P. 1001:2001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2001>");
	ts_inject(t, "FP. 2001:2011(10) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2012>");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_disorder_fin_in_FIN_WAIT.pkt: after our FIN, the peer's ACK
 * of it overtakes the peer's own FIN (sent earlier, with an older ACK
 * field); the FIN is still taken and ACKed. */
static void test_reordered_fin_in_fin_wait(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 257");
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_inject(t, ". 2:2(0) ack 2 win 257");
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	ts_inject(t, "F. 1:1(0) ack 1 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 61000);
	ts_free(t);
}

/* TCP_INQ's count (tcp_inq_hint): the bytes left after each read, the
 * peer's FIN counting one once the data before it is read. */
static void check_inq_hint(struct tscript *t, struct tcp_conn *c, const char *ack_of_data,
			   const char *ack_of_fin)
{
	ts_inject(t, ". 1:10001(10000) ack 1 win 514");
	ts_expect(t, ack_of_data);
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	assert_int_equal(tcp_inq_hint(c), 9000);
	assert_int_equal(tcp_recv(c, buf, 9000, 0, t->h->now), 9000);
	assert_int_equal(tcp_inq_hint(c), 0);
	h_drain_tx(t->h);
	ts_inject(t, "F. 10001:20001(10000) ack 1 win 514");
	ts_expect(t, ack_of_fin);
	assert_int_equal(tcp_recv(c, buf, 10000, 0, t->h->now), 10000);
	assert_int_equal(tcp_inq_hint(c), 1);
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 0);
}

/* Follows tcp_inq_client.pkt (with timestamps) and tcp_inq_server.pkt. */
static void test_inq_hint_client_and_server(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	int err;

	(void)state;
	c = tcp_open(t->h->s);
	{
		struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

		assert_int_equal(tcp_bind(c, &local, 0), 0);
		assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	}
	ts_expect(t, "S 0:0(0) win * <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale *>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 5792 <mss 1460,sackOK,TS val 700 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val * ecr 700>");
	/* the segments carry no timestamps: Linux takes them all the same */
	check_inq_hint(t, c, ". 1:1(0) ack 10001 win * <nop,nop,TS val * ecr 700>",
		       ". 1:1(0) ack 20002 win * <nop,nop,TS val * ecr 700>");
	ts_abort(t, c);

	ts_new_peer(t);
	c = accept_with(t, &l, 0, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 10>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 514");
	check_inq_hint(t, c, ". 1:1(0) ack 10001 win *", ". 1:1(0) ack 20002 win *");
	/* a read on the listener: not connected */
	assert_int_equal(tcp_recv(l, buf, 2000, 0, t->h->now), -ENOTCONN);
	(void)err;
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_validate_validate-established-no-flags.pkt: a segment with
 * none of ACK, RST, SYN in a synchronized state is dropped; its text is
 * not queued. */
static void test_no_flags_segment_dropped(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 20000 <mss 1000,sackOK,nop,nop>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>", ". 1:1(0) ack 1 win 20000");
	ts_advance_ms(t, 10);
	ts_inject(t, "P 1:1001(1000) win 20000");
	assert_int_equal(tcp_inq(c), 0);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1001(1000) ack 1 win 20000");
	assert_int_equal(tcp_inq(c), 1000);
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_ts_recent_invalid_ack.pkt: a segment whose ACK field
 * acknowledges what was never sent does not update TS.Recent, so the
 * peer's next segment passes PAWS and is echoed. */
static void test_ts_recent_not_taken_from_invalid_ack(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	ts_advance_ms(t, 100);
	c = accept_with(t, &l, 0, "S 0:0(0) win 20000 <mss 1000,sackOK,TS val 100 ecr 0>",
			"S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val 0 ecr 100>",
			". 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 0>");
	ts_inject(t, "F. 1:1(0) ack 9999 win 20000 <nop,nop,TS val 200000 ecr 0>");
	h_drain_tx(t->h);
	ts_inject(t, ". 1:1001(1000) ack 1 win 20000 <nop,nop,TS val 201 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1001 win * <nop,nop,TS val * ecr 201>");
	assert_int_equal(tcp_inq(c), 1000);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_ts_recent_fin_tsval.pkt and tcp_ts_recent_reset_tsval.pkt:
 * a FIN or RST sent after a second of silence carries the clock's TS val
 * now, not the one of the last segment sent. */
static void test_fin_and_rst_tsval_current(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 20000 <mss 1000,sackOK,TS val 100 ecr 0>",
			"S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val 0 ecr 100>",
			". 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 0>");
	ts_advance_ms(t, 1000);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win * <nop,nop,TS val 1000 ecr 200>");
	ts_inject(t, "F. 1:1(0) ack 2 win 20000 <nop,nop,TS val 300 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win * <nop,nop,TS val 1000 ecr 300>");
	ts_advance_ms(t, 61000);
	tcp_close(l, t->h->now);

	ts_new_peer(t);
	c = accept_with(t, &l, 0, "S 0:0(0) win 20000 <mss 1000,sackOK,TS val 100 ecr 0>",
			"S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val 0 ecr 100>",
			". 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 0>");
	ts_inject(t, ". 1:1001(1000) ack 1 win 20000 <nop,nop,TS val 201 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1001 win * <nop,nop,TS val 0 ecr 201>");
	ts_advance_ms(t, 1000);
	/* closed with unread data: a reset */
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 1001 win * <nop,nop,TS val 1000 ecr 201>");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_tcp_info_tcp-info-last_data_recv.pkt: tcpi_last_data_recv
 * counts from the handshake until data comes, then from the data. */
static void test_info_last_data_recv(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win * <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale *>");
	ts_advance_ms(t, 30);
	ts_inject(t, "S. 0:0(0) ack 1 win 10000 <mss 1000,sackOK,nop,nop,nop,wscale 8>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_advance_ms(t, 1000);
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.last_data_recv_ms, 990, 1010);
	ts_inject(t, ". 1:1001(1000) ack 1 win 300");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.last_data_recv_ms, 0, 10);
	ts_abort(t, c);
	ts_free(t);
}

/* Follows tcp_tcp_info_tcp-info-rwnd-limited.pkt: tcpi_rwnd_limited counts
 * the time data waited for the peer's window, tcpi_busy_time the time
 * anything was in flight or waiting. */
static void test_info_rwnd_limited(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win * <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale *>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 0 <mss 1000,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rwnd_limited_us, 0);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_advance_ms(t, 100);
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.rwnd_limited_us, 98000, 110000);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 2000");
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.rwnd_limited_us, 198000, 210000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_advance_ms(t, 30);
	ts_inject(t, ". 1:1(0) ack 1001 win 10");
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1001 win 2000");
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.rwnd_limited_us, 298000, 310000);
	assert_in_range(i.busy_us, 328000, 340000);
	ts_expect(t, "P. 1001:2001(1000) ack 1 win *");
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 2001 win 2000");
	tcp_get_info(c, &i, t->h->now);
	assert_in_range(i.busy_us, 348000, 360000);
	ts_abort(t, c);
	ts_free(t);
}

/* Follows tcp_ooo_rcv_mss.pkt: an out-of-order segment measures the
 * peer's segment size too (tcpi_rcv_mss). */
static void test_ooo_segment_sets_rcv_mss(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	ts_inject(t, ". 2001:3001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 2001:3001>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 1000);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Linux's tcp_measure_rcv_mss takes a GRO'd frame's gso_size as the
 * peer's segment size (on a TAP with IFF_VNET_HDR, the local kernel's TSO
 * frames come whole with it), and a short segment lowers rcv_mss when the
 * next is as short (last_seg_size). Measured on Linux 6.18, a raw peer on
 * a TAP: a 10000-byte GSO frame of gso_size 1000 after the handshake gave
 * tcpi_rcv_mss 1000; two 700-byte segments with PSH then 1000 and 700
 * (pstack: 1460, as the frame's length capped at our MSS, and it stayed). */
static void test_rcv_mss_from_gso_size_and_short_segments(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 536);
	ts_inject_rx(t, "P. 1:10001(10000) ack 1 win 257", stack_rx_gso(1000));
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 1000);
	ts_inject(t, "P. 10001:10701(700) ack 1 win 257");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 1000);
	ts_inject(t, "P. 10701:11401(700) ack 1 win 257");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 700);
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Linux's delayed-ACK timeout is the ato (tcp_send_delayed_ack), which
 * doubles when the delayed-ACK timer had to fire and follows the time
 * between segments (tcp_event_data_recv), bounded by the smoothed RTT.
 * Measured on Linux 6.18, a raw peer on a TAP, 100 ms RTT, 100-byte PSH
 * segments 60 ms apart: 16 quick ACKs, then the 17th segment's ACK after
 * 46 ms, and from there one ACK every second segment, 44 to 46 ms after it
 * (the ato grown past the 60 ms between them; the jiffy's rounding aside:
 * 40 ms here). pstack ACKed every segment after 40 ms. */
static void test_delayed_ack_timeout_adapts(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 320, true);
	char line[256], want[96];
	unsigned seq = 1;

	(void)state;
	ts_advance_ms(t, 10);
	for (unsigned i = 0; i < 26; i++) {
		uint64_t from = t->h->now;
		bool got = false;

		ts_injectf(t, "P. %u:%u(100) ack 1 win 320", seq, seq + 100);
		seq += 100;
		while (t->h->now - from < 60000) {
			if ((got = ts_next(t, line, sizeof(line))))
				break;
			ts_advance_us(t, 500);
		}
		if (i < 16 || i % 2 == 0) {
			assert_true(got);
			assert_int_equal(t->h->now - from, i < 16 ? 0 : 40000);
			snprintf(want, sizeof(want), ". 1:1(0) ack %u win *", seq);
			assert_true(ts_match(want, line));
		} else {
			assert_false(got);
		}
		ts_advance_us(t, 60000 - (t->h->now - from));
	}
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* TIME_WAIT as Linux's tcp_timewait_state_process runs it. Measured on
 * Linux 6.18 (a raw peer on a TAP, the kernel closed first): a bare ACK
 * at RCV.NXT, even of data never sent, no answer; 5 bytes at RCV.NXT, and
 * the same at once, an ACK each; a byte below RCV.NXT, an ACK without
 * D-SACK; the FIN again, an ACK; a RST out of the window, nothing; a RST
 * at RCV.NXT ends it: data then gets a reset (pstack: nothing to the
 * data, a D-SACK, challenge ACKs to the ACK and the RST). */
static void test_time_wait_answers(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	tcp_close(l, t->h->now);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_inject(t, "F. 1:1(0) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_inject(t, ". 2:2(0) ack 2 win 257");
	ts_expect_none(t);
	ts_inject(t, "P. 2:7(5) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	ts_inject(t, "P. 2:7(5) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	ts_advance_ms(t, 600);
	ts_inject(t, "P. 1:2(1) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	ts_advance_ms(t, 600);
	ts_inject(t, ". 2:2(0) ack 5 win 257");
	ts_expect_none(t);
	ts_inject(t, "F. 1:1(0) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	ts_inject(t, "R 5000:5000(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_inject(t, "R 2:2(0) win 0");
	ts_expect_none(t);
	ts_inject(t, "P. 2:7(5) ack 2 win 257");
	ts_expect(t, "R 2:2(0) win 0");
	ts_free(t);
}

/* Linux's tcp_measure_rcv_mss: a segment of rcv_mss with PSH ends a
 * write (ICSK_ACK_PUSHED), so the read that empties the buffer ACKs at
 * once (tcp_cleanup_rbuf); without PSH the ACK waits for the delayed-ACK
 * timer. Measured on Linux 6.18 (raw peer on a TAP, past quick-ACK mode,
 * one 1000-byte segment read 10 ms later): with PSH the ACK at the read
 * (+10.8 ms), without at +44.7 ms (pstack: at the timer both times). */
static void test_full_segment_with_psh_acked_at_read(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	uint8_t b[4000];

	(void)state;
	c = accept_with(t, &l, 0, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	ts_inject(t, ". 1:1001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	ts_past_quickack(c);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1001:2001(1000) ack 1 win 257");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2000);
	ts_expect(t, ". 1:1(0) ack 2001 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 2001:3001(1000) ack 1 win 257");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 1000);
	ts_expect_none(t);
	ts_advance_ms(t, 30);
	ts_expect(t, ". 1:1(0) ack 3001 win *");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_ooo-before-and-after-accept.pkt: a connection not accepted
 * yet takes out-of-order data into the buffer it started with, SACKs it
 * and ACKs all once the hole fills. */
static void test_ooo_before_accept(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err, v0, v1;

	(void)state;
	t->h->s->cfg.tcp_rmem[1] = 131072;
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 1), 0);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	ts_inject(t, ". 2001:41001(39000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 2001:41001>");
	ts_inject(t, ". 41001:101001(60000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 2001:101001>");
	ts_inject(t, ". 1:1001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1001 win * <nop,nop,sack 2001:101001>");
	ts_inject(t, ". 1001:2001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 101001 win *");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_inq(c), 101000);
	(void)v0;
	(void)v1;
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beyond_window_end_dropped_unless_queue_empty),
		cmocka_unit_test(test_too_big_segment_then_rst_at_rcv_nxt),
		cmocka_unit_test(test_too_big_dropped_after_rcvbuf_shrinks),
		cmocka_unit_test(test_fin_into_zero_window),
		cmocka_unit_test(test_dsack_multiple),
		cmocka_unit_test(test_ofo_overlap_next_dsack),
		cmocka_unit_test(test_ofo_past_window_kept_whole),
		cmocka_unit_test(test_reordered_fin_in_fin_wait),
		cmocka_unit_test(test_inq_hint_client_and_server),
		cmocka_unit_test(test_no_flags_segment_dropped),
		cmocka_unit_test(test_ts_recent_not_taken_from_invalid_ack),
		cmocka_unit_test(test_fin_and_rst_tsval_current),
		cmocka_unit_test(test_info_last_data_recv),
		cmocka_unit_test(test_info_rwnd_limited),
		cmocka_unit_test(test_ooo_segment_sets_rcv_mss),
		cmocka_unit_test(test_rcv_mss_from_gso_size_and_short_segments),
		cmocka_unit_test(test_delayed_ack_timeout_adapts),
		cmocka_unit_test(test_time_wait_answers),
		cmocka_unit_test(test_full_segment_with_psh_acked_at_read),
		cmocka_unit_test(test_ooo_before_accept),
		cmocka_unit_test(test_ofo_fin_sacked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
