/* A fifth sweep of Linux's wire-level TCP tests. Every script of Linux's
 * packetdrill selftests and of google/packetdrill's gtests/net/tcp that
 * pstack can run is followed elsewhere; these follow the older scripts
 * of google/packetdrill's first release for Linux (tests/linux/listen/,
 * as ligurio/packetdrill-testcases carries them, "Borrowed from
 * https://github.com/google/packetdrill"), and the request-socket and
 * SYN-SENT rules those scripts and their neighbours exercise, with
 * Linux's source as the oracle where a script leaves a figure open
 * (net/ipv4/tcp_minisocks.c tcp_check_req, tcp_input.c
 * tcp_rcv_state_process and tcp_rcv_synsent_state_process,
 * tcp_ipv4.c tcp_v4_send_reset). Each test names what it follows. */
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
#include "tests/unit/support/tcp_script.h"

#define PEER_SYN "S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>"
#define OUR_SYNACK "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>"

/* The handshake the listen/ scripts end with: a SYN on the 4-tuple the
 * stray segment used gets its SYN-ACK, and the ACK makes a connection
 * accept() returns. */
static void handshake_after(struct tscript *t, struct tcp_conn *l)
{
	struct tcp_conn *c;
	int err;

	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
}

/* A segment to a listener from a sender it has no connection with, and
 * what the listener answers (NULL: nothing). Linux's tcp_rcv_state_process,
 * TCP_LISTEN: an ACK is answered with a reset (tcp_v4_send_reset:
 * <SEQ=SEG.ACK><CTL=RST>, window 0), a RST is dropped, a SYN with FIN is
 * dropped, a segment without SYN, RST or ACK is dropped. */
static void stray_to_listener(const char *seg, const char *reply)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1);

	ts_inject(t, seg);
	if (reply)
		ts_expect(t, reply);
	ts_expect_none(t);
	handshake_after(t, l);
	ts_free(t);
}

/* listen/listen-incoming-ack.pkt */
static void test_listen_incoming_ack(void **state)
{
	(void)state;
	stray_to_listener(". 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", "R 0:0(0) win 0");
}

/* listen/listen-incoming-syn-ack.pkt */
static void test_listen_incoming_syn_ack(void **state)
{
	(void)state;
	stray_to_listener("S. 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", "R 0:0(0) win 0");
}

/* listen/listen-incoming-rst.pkt: no reset for a reset ("or else we could
 * get infinite RST ping-pong storms"). */
static void test_listen_incoming_rst(void **state)
{
	(void)state;
	stray_to_listener("R 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", NULL);
}

/* listen/listen-incoming-syn-rst.pkt */
static void test_listen_incoming_syn_rst(void **state)
{
	(void)state;
	stray_to_listener("SR 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", NULL);
}

/* listen/listen-incoming-no-tcp-flags.pkt */
static void test_listen_incoming_no_flags(void **state)
{
	(void)state;
	stray_to_listener("- 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", NULL);
}

/* The same for SYN with FIN (Linux's tcp_rcv_state_process drops it,
 * SKB_DROP_REASON_TCP_FLAGS, rather than open a connection). */
static void test_listen_incoming_syn_fin(void **state)
{
	(void)state;
	stray_to_listener("FS 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>", NULL);
}

/* The SYN queue of a listener of backlog N holds N + 1 requests; the next
 * SYN gets a cookie and leaves no state (Linux 6.14's
 * inet_csk_reqsk_queue_is_full: more requests than sk_max_ack_backlog, as
 * the accept queue's test; measured on Linux 6.18, four SYNs whose
 * handshakes do not end: backlog 0, 1 and 2 kept 1, 2 and 3 requests,
 * TCPReqQFullDoCookies 3, 2 and 1). */
static void test_syn_queue_holds_backlog_plus_one(void **state)
{
	(void)state;
	for (int backlog = 0; backlog <= 2; backlog++) {
		struct tscript *t = ts_new(0);
		struct tcp_conn *l = ts_listen(t, backlog);
		char line[512];

		for (int i = 0; i <= backlog; i++) {
			ts_inject(t, PEER_SYN);
			ts_expect(t, OUR_SYNACK);
			ts_new_peer(t);
		}
		assert_int_equal(tcp_conn_count(t->h->s), backlog + 2);
		ts_inject(t, PEER_SYN);
		assert_true(ts_next(t, line, sizeof(line)));
		if (strncmp(line, "S. 0:0(0) ack 1 win ", 20))
			fail_msg("backlog %d: expected a SYN-ACK, got %s", backlog, line);
		assert_int_equal(tcp_conn_count(t->h->s), backlog + 2);
		tcp_close(l, t->h->now);
		ts_free(t);
	}
}

/* A SYN cookie's handshake with timestamps (tcp_syncookies 2: every SYN
 * answered with a cookie; here a full SYN queue): Linux's SYN-ACK carries
 * the options an ordinary one does, the window too, and hides in its
 * TSval's low bits what the cookie cannot hold (cookie_init_timestamp);
 * the ACK's echo gives them back (cookie_timestamp_decode): the
 * connection has timestamps, SACK and window scaling. Measured on Linux
 * 6.18: <mss 1460,sackOK,TS val ... ecr ...,nop,wscale 10>, window 65160,
 * then "win 63" (64512 >> 10) on both sides' segments. */
static void test_syn_cookie_with_timestamps_keeps_options(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 0), *c;
	struct tcp_conn_info i;
	int err;

	(void)state;
	ts_advance_ms(t, 1234);                         /* a clock that is no multiple of 64 ms */
	ts_inject(t, PEER_SYN);                         /* fills the queue of backlog 0 */
	ts_expect(t, OUR_SYNACK);
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 9>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);  /* no state kept for it */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 126 <nop,nop,TS val 110 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.options & 7, 7);            /* timestamps, SACK, window scaling */
	assert_int_equal(i.snd_wscale, 9);
	assert_int_equal(i.rcv_wscale, 7);
	assert_int_equal(tcp_send(c, "hi", 2, t->h->now), 2);
	ts_expect(t, "P. 1:3(2) ack 1 win * <nop,nop,TS val * ecr 110>");
	/* the SYN-ACK's TSval was the clock rounded down to its low bits:
	 * no TSval after it goes back, none is more than 63 ms ahead of 10 */
	assert_true((int32_t)(t->last_tsval - t->ts_base) >= 10);
	assert_true((int32_t)(t->last_tsval - t->ts_base) <= 10 + 63);
	ts_abort(t, c);
	t->peer_port--;
	t->isn_known = false;
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- SYN-RECEIVED (Linux's request socket, tcp_check_req) ---- */

static struct tcp_conn *syn_received(struct tscript *t)
{
	struct tcp_conn *l = ts_listen(t, 1);

	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	return l;
}

/* The request completes with the right ACK after what went before. */
static void complete(struct tscript *t, struct tcp_conn *l)
{
	struct tcp_conn *c;
	int err;

	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	ts_expect_none(t);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
}

/* A request whose handshake never ends: the SYN-ACK goes again at 1, 3, 7,
 * 15 and 31 s (tcp_synack_retries 5, the timeout doubling from 1 s:
 * reqsk_timer_handler), and at 63 s the request goes without a word; the
 * peer's ACK after that finds the listener alone and is reset. */
static void test_syn_recv_synack_retries_then_gone(void **state)
{
	static const unsigned at[] = { 1000, 3000, 7000, 15000, 31000 };
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;
	unsigned now = 0;

	(void)state;
	l = syn_received(t);
	for (unsigned k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		ts_advance_ms(t, at[k] - now - 1);
		ts_expect_none(t);
		ts_advance_ms(t, 1);
		ts_expect(t, OUR_SYNACK);
		now = at[k];
	}
	ts_advance_ms(t, 63000 - now - 1);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	ts_advance_ms(t, 1);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	ts_expect(t, "R 1:1(0) win 0");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A retransmitted SYN (the same ISN) gets the SYN-ACK again ("Enforce
 * SYN-ACK according to figure 8"), once per tcp_invalid_ratelimit (500 ms:
 * tcp_oow_rate_limited on the request's last_oow_ack_time), and the
 * SYN-ACK's timer starts again from it (1 s later, then 2 s); a SYN with
 * RST at that sequence number is out of the window and dropped. */
static void test_syn_recv_dup_syn_resends_synack(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_advance_ms(t, 100);
	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	ts_advance_ms(t, 100);
	ts_inject(t, PEER_SYN);
	ts_inject(t, "SR 0:0(0) win 65535");
	ts_expect_none(t);
	ts_advance_ms(t, 899);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, OUR_SYNACK);
	ts_advance_ms(t, 1999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, OUR_SYNACK);
	complete(t, l);
	ts_free(t);
}

/* Karn's rule for a request: once a copy of the SYN made it resend the
 * SYN-ACK, the ACK's round trip is ambiguous and gives no sample (Linux's
 * tcp_synack_rtt_meas: none when req->num_retrans); the resend counts
 * among the connection's retransmissions (tcp_create_openreq_child:
 * total_retrans = req->num_retrans). Without timestamps there is no
 * sample at all, and the RTO is 3 s (tcp_init_metrics:
 * TCP_TIMEOUT_FALLBACK, RFC 6298 (5.7)). */
static void test_syn_recv_dup_syn_no_rtt_sample(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct tcp_conn_info i;
	int err;

	(void)state;
	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	ts_advance_ms(t, 500);
	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rtt_us, 0);
	assert_int_equal(i.rto_us, 3000000);
	assert_int_equal(i.total_retrans, 1);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An ACK that does not acknowledge our SYN: the listener answers it with a
 * reset <SEQ=SEG.ACK> (tcp_check_req returns the listener), and the
 * request stays for the right ACK. */
static void test_syn_recv_bad_ack_reset_request_kept(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_inject(t, ". 1:1(0) ack 5 win 65535");
	ts_expect(t, "R 5:5(0) win 0");
	ts_expect_none(t);
	complete(t, l);
	ts_free(t);
}

/* A segment outside the window the SYN-ACK offered: an ACK
 * <SEQ=ISS+1><ACK=RCV.NXT> (tcp_v4_reqsk_send_ack) and the segment dropped;
 * the request stays. */
static void test_syn_recv_out_of_window_acked(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "P. 1000001:1000011(10) ack 1 win 65535");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_expect_none(t);
	complete(t, l);
	ts_free(t);
}

/* A SYN in the window at another sequence number than the first: Linux
 * resets it (tcp_v4_send_reset to a segment without ACK:
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>) and drops the request; the ACK
 * that then comes is the listener's to reset. */
static void test_syn_recv_new_syn_in_window_resets(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;
	char line[512];
	int err;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "S 10:10(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>");
	assert_true(ts_next(t, line, sizeof(line)));
	if (strncmp(line, "R. ", 3) || !strstr(line, "ack 11 win 0"))
		fail_msg("expected a reset ACKing 11, got '%s'", line);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	ts_expect(t, "R 1:1(0) win 0");
	assert_null(tcp_accept(l, &err));
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The ACKs a request sends to out-of-window segments and the SYN-ACKs it
 * sends to copies of the SYN share one rate limit (last_oow_ack_time):
 * after a copy of the SYN was answered, a pure ACK out of the window
 * within 500 ms is not; data out of the window always is
 * (tcp_oow_rate_limited: "Data packets without SYNs are not likely part of
 * an ACK loop"). */
static void test_syn_recv_oow_ack_rate_limit_shared(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_inject(t, PEER_SYN);
	ts_expect(t, OUR_SYNACK);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1000001:1000001(0) ack 1 win 65535");
	ts_expect_none(t);
	ts_inject(t, "P. 1000001:1000011(10) ack 1 win 65535");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_advance_ms(t, 500);
	ts_inject(t, ". 1000001:1000001(0) ack 1 win 65535");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	complete(t, l);
	ts_free(t);
}

/* PAWS in SYN-RECEIVED (tcp_check_req: the request's ts_recent is the
 * SYN's TSval): an ACK whose TSval is older by more than one fails it,
 * is answered with an ACK as a segment out of the window is, and the
 * request stays for an ACK with a fresh timestamp. */
static void test_syn_recv_paws_reject_acked(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 1000,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 900 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val * ecr 1000>");
	ts_expect_none(t);
	assert_null(tcp_accept(l, &err));
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 1010 ecr 0>");
	ts_expect_none(t);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A SYN-ACK at the SYN's sequence number that acknowledges our SYN (SYNs
 * crossed by a third party, tcp_check_req's long comment): the ACK passes,
 * the segment lies below the window (tcp_in_window), so it is answered
 * with an ACK and dropped; the request stays for the real ACK. */
static void test_syn_recv_synack_at_isn_acked(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_expect_none(t);
	complete(t, l);
	ts_free(t);
}

/* The ACK that ends the handshake carries text beyond RCV.NXT (the
 * segments before it lost): it is in the window with the right ACK, so
 * the connection is made from it (tcp_check_req, syn_recv_sock), and the
 * child queues the text out of order and ACKs at once with a SACK block. */
static void test_syn_recv_ack_with_ooo_text(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	uint8_t b[32];
	int err;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "P. 11:21(10) ack 1 win 65535");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 11:21>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_inject(t, "P. 1:11(10) ack 1 win 65535");
	ts_expect(t, ". 1:1(0) ack 21 win *");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 20);
	ts_check_bytes(b, 20, 1);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A reset in the window ends the request without an answer; the ACK that
 * follows finds the listener alone and is reset. */
static void test_syn_recv_rst_drops_request(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;
	int err;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "R 1:1(0) win 65535");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	ts_expect(t, "R 1:1(0) win 0");
	assert_null(tcp_accept(l, &err));
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Text without ACK in the window: dropped without an answer ("If ACK not
 * set, just silently drop the packet"); the request stays. */
static void test_syn_recv_no_ack_dropped(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;

	(void)state;
	l = syn_received(t);
	ts_inject(t, "P 1:11(10) win 65535");
	ts_expect_none(t);
	complete(t, l);
	ts_free(t);
}

/* ---- SYN-SENT (tcp_rcv_synsent_state_process) ---- */

/* reset/rst-syn-sent.pkt's scenario as Linux has it: a reset without ACK
 * in SYN-SENT is dropped ("No ACK in the segment ... if (th->rst) goto
 * discard"), and the SYN goes again at the initial RTO (1 s). So is a
 * reset whose ACK is not for our SYN. */
static void test_syn_sent_rst_without_ack_ignored(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_syn_sent(t);
	ts_inject(t, "R 0:0(0) win 65535");
	ts_inject(t, "R. 0:0(0) ack 7 win 65535");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	assert_int_equal(tcp_take_error(c), 0);
	ts_advance_ms(t, 1000);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	ts_free(t);
}

/* An ACK in SYN-SENT that is not for our SYN: a reset <SEQ=SEG.ACK>
 * (tcp_rcv_synsent_state_process: reset_and_undo), the connection stays
 * in SYN-SENT for the right SYN-ACK. */
static void test_syn_sent_bad_ack_reset(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_syn_sent(t);
	ts_inject(t, "S. 0:0(0) ack 9 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "R 9:9(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_abort(t, c);
	ts_free(t);
}

/* A copy of the peer's SYN after a simultaneous open (our SYN and its
 * crossed, cross-synack.pkt's start): the connection is a full socket in
 * SYN-RECV, not a request, and Linux's tcp_validate_incoming finds the SYN
 * in the window and answers it with a challenge ACK (RFC 5961 §4,
 * syn_challenge), not with our SYN-ACK again; the peer's SYN-ACK then
 * completes the handshake. */
static void test_simultaneous_open_dup_syn_challenged(void **state)
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
	ts_advance_ms(t, 10);
	ts_inject(t, "S 0:0(0) win 1000 <mss 1000>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_expect_none(t);
	/* The peer's SYN-ACK, its SYN below RCV.NXT: ACKed at once, as
	 * Linux 6.11 on does (measured against this machine's 6.18 in
	 * rawframes' synsent_simultaneous_open scenarios). */
	ts_inject(t, "S. 0:0(0) ack 1 win 1000");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	ts_free(t);
}

/* An MSS option of 0 in a SYN says nothing (Linux's tcp_parse_options:
 * "if (in_mss)"): the default of 536 stands (tcp_conn_request's
 * mss_clamp, TCP_MSS_DEFAULT), not the smallest MSS; so for a SYN-ACK. */
static void test_syn_mss_zero_is_default(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct tcp_conn_info i;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 0,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, OUR_SYNACK);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_mss, 536);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_new_peer(t);
	t->local_port++;
	c = ts_syn_sent(t);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 0,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_mss, 536 - 12);
	ts_abort(t, c);
	ts_free(t);
}

/* A peer's MSS below Linux's floor (tcp_min_snd_mss, 48, which
 * tcp_mtu_to_mss applies before the options come off): 48-byte segments,
 * 36 of data with timestamps. Measured on this machine's 6.18 with a
 * raw-frame peer offering MSS 40 and a 502-byte window: ten segments of
 * 48 bytes; pstack had sent five of 88 (Linux's TCP_MIN_MSS, which is
 * TCP_MAXSEG's least, not the sender's floor). */
static void test_peer_mss_below_floor(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct tcp_conn_info i;
	static char b[200];
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 40,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, OUR_SYNACK);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_mss, 48);
	assert_int_equal(tcp_send(c, b, 100, t->h->now), 100);
	ts_expect(t, ". 1:49(48) ack 1 win *");
	ts_expect(t, ". 49:97(48) ack 1 win *");
	ts_expect(t, "P. 97:101(4) ack 1 win *");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_new_peer(t);
	t->local_port++;
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 65535 <mss 40,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 101 ecr 1>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_mss, 36);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- synchronized states ---- */

/* A FIN, or text, without ACK on an established connection is dropped
 * without an answer (tcp_rcv_state_process: "if (!th->ack && !th->rst &&
 * !th->syn) goto discard"); the connection goes on. */
static void test_established_fin_or_text_without_ack_dropped(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	uint8_t b[16];

	(void)state;
	c = ts_connect(t);
	ts_inject(t, "F 1:1(0) win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_inject(t, "P 1:11(10) win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_inq(c), 0);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -EAGAIN);
	ts_abort(t, c);
	ts_free(t);
}

/* Text past the peer's FIN in CLOSE-WAIT, and again in LAST-ACK: Linux's
 * tcp_rcv_state_process, step 7, leaves it ("case TCP_CLOSE_WAIT ...
 * TCP_LAST_ACK: if (!before(seq, rcv_nxt)) break;": neither queued nor
 * ACKed); RFC 9293 §3.10.7.4 too ("Ignore the segment text"). */
static void test_text_after_fin_ignored(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	uint8_t b[16];

	(void)state;
	c = ts_connect(t);
	ts_inject(t, "F. 1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 200);          /* a FIN makes the connection interactive: a delayed ACK */
	ts_expect(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val * ecr 110>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	ts_inject(t, "P. 2:12(10) ack 1 win 65535 <nop,nop,TS val 120 ecr 0>");
	ts_advance_ms(t, 200);
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 0);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val * ecr 120>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_LAST_ACK);
	ts_inject(t, "P. 2:12(10) ack 1 win 65535 <nop,nop,TS val 130 ecr 0>");
	ts_advance_ms(t, 100);          /* past a delayed ACK, before the FIN's RTO */
	ts_expect_none(t);
	ts_inject(t, ". 2:2(0) ack 2 win 65535 <nop,nop,TS val 140 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/* close/simultaneous-close.pkt, Linux's way: our FIN and the peer's cross
 * (its FIN does not ACK ours): CLOSING, the peer's FIN ACKed; the ACK of
 * ours then ends in TIME-WAIT without a word. */
static void test_simultaneous_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_connect(t);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, "F. 1:1(0) ack 1 win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 502 <nop,nop,TS val * ecr 110>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSING);
	ts_inject(t, ". 2:2(0) ack 2 win 65535 <nop,nop,TS val 120 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_advance_ms(t, 61000);
	ts_expect_none(t);
	ts_free(t);
}

/* shutdown/double-shut-wr.pkt (Michael Tüxen's, Linux's answers): a
 * second shutdown(SHUT_WR) succeeds and sends nothing; the socket reads
 * EAGAIN until the peer's FIN, then 0. */
static void test_double_shut_wr(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	uint8_t b[16];

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 2 win 65535 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -EAGAIN);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect_none(t);
	assert_int_equal(tcp_take_error(c), 0);
	ts_inject(t, "F. 1:1(0) ack 2 win 65535 <nop,nop,TS val 120 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 502 <nop,nop,TS val * ecr 120>");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_advance_ms(t, 61000);
	ts_expect_none(t);
	ts_free(t);
}

/* FIN_WAIT_2 after shutdown(SHUT_WR), the socket still open: Linux arms no
 * timer (tcp_fin_timeout is for orphans, tcp_close and
 * tcp_rcv_state_process's FIN_WAIT1 case), so the connection waits for the
 * peer's FIN however long; the peer's data still comes in. */
static void test_fin_wait2_not_orphan_waits(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	uint8_t b[16];

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 2 win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 300000);
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	ts_inject(t, "P. 1:11(10) ack 2 win 65535 <nop,nop,TS val 120 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 11 win 502 <nop,nop,TS val * ecr 120>");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 10);
	ts_abort(t, c);
	ts_free(t);
}

/* An orphan in FIN_WAIT_2 (closed, its FIN ACKed) lasts tcp_fin_timeout
 * (60 s: tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)) and then goes without a
 * word; a segment after that finds no socket and is reset. */
static void test_fin_wait2_orphan_times_out_silently(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_connect(t);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 2 win 65535 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 59000);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_inject(t, "P. 1:11(10) ack 2 win 65535 <nop,nop,TS val 120 ecr 0>");
	ts_expect(t, "R 2:2(0) win 0");
	ts_free(t);
}

/* psp/tw-rtx-ack.pkt's TCP part (google/packetdrill, as
 * danieldzahka/packetdrill carries it; IPv4 here): the peer's data after
 * ours is ACKed at once, we close, the peer's FIN ACKs ours: TIME-WAIT,
 * and a retransmission of that FIN gets the ACK again. */
static void test_time_wait_fin_retransmitted_acked(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	uint8_t b[1000];
	int err;

	(void)state;
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 50000 <mss 1000,nop,wscale 0>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 50000");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	memset(b, 0, sizeof(b));
	assert_int_equal(tcp_send(c, b, 500, t->h->now), 500);
	ts_expect(t, "P. 1:501(500) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 501 win 50000");
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1:501(500) ack 501 win 50000");
	ts_expect(t, ". 501:501(0) ack 501 win *");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 500);
	ts_advance_ms(t, 100);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 501:501(0) ack 501 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, "F. 501:501(0) ack 502 win 50000");
	ts_expect(t, ". 502:502(0) ack 502 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_advance_ms(t, 100);
	ts_inject(t, "F. 501:501(0) ack 502 win 50000");
	ts_expect(t, ". 502:502(0) ack 502 win *");
	ts_advance_ms(t, 61000);
	ts_expect_none(t);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_incoming_ack),
		cmocka_unit_test(test_listen_incoming_syn_ack),
		cmocka_unit_test(test_listen_incoming_rst),
		cmocka_unit_test(test_listen_incoming_syn_rst),
		cmocka_unit_test(test_listen_incoming_no_flags),
		cmocka_unit_test(test_listen_incoming_syn_fin),
		cmocka_unit_test(test_syn_queue_holds_backlog_plus_one),
		cmocka_unit_test(test_syn_cookie_with_timestamps_keeps_options),
		cmocka_unit_test(test_syn_recv_synack_retries_then_gone),
		cmocka_unit_test(test_syn_recv_dup_syn_resends_synack),
		cmocka_unit_test(test_syn_recv_dup_syn_no_rtt_sample),
		cmocka_unit_test(test_syn_recv_bad_ack_reset_request_kept),
		cmocka_unit_test(test_syn_recv_out_of_window_acked),
		cmocka_unit_test(test_syn_recv_new_syn_in_window_resets),
		cmocka_unit_test(test_syn_recv_oow_ack_rate_limit_shared),
		cmocka_unit_test(test_syn_recv_paws_reject_acked),
		cmocka_unit_test(test_syn_recv_synack_at_isn_acked),
		cmocka_unit_test(test_syn_recv_ack_with_ooo_text),
		cmocka_unit_test(test_syn_recv_rst_drops_request),
		cmocka_unit_test(test_syn_recv_no_ack_dropped),
		cmocka_unit_test(test_syn_sent_rst_without_ack_ignored),
		cmocka_unit_test(test_syn_sent_bad_ack_reset),
		cmocka_unit_test(test_simultaneous_open_dup_syn_challenged),
		cmocka_unit_test(test_syn_mss_zero_is_default),
		cmocka_unit_test(test_peer_mss_below_floor),
		cmocka_unit_test(test_established_fin_or_text_without_ack_dropped),
		cmocka_unit_test(test_text_after_fin_ignored),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_double_shut_wr),
		cmocka_unit_test(test_fin_wait2_not_orphan_waits),
		cmocka_unit_test(test_fin_wait2_orphan_times_out_silently),
		cmocka_unit_test(test_time_wait_fin_retransmitted_acked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
