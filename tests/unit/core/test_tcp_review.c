/* The defects a review of the TCP engine found (issue 12), one test each,
 * named after what it checks: path MTU and the MSS, a window that shrinks
 * to zero, orphans behind a zero window, challenge ACKs, TS.Recent,
 * keep-alive, the sequence number of RSTs and ACKs, simultaneous open, ACKs
 * to retransmitted FINs, and the smaller ones of defect 15. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

static uint8_t big[1 << 20];

/* Active open with a SYN-ACK that offers what synack says. */
static struct tcp_conn *connect_with(struct tscript *t, const char *synack, const char *ack)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, synack);
	ts_expect(t, ack);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* Timestamps and window scaling but no SACK: no tail loss probe (RFC 8985
 * §7.2 wants SACK), so that every segment sent is the one a test looks at. */
#define SYNACK_NO_SACK "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 100 ecr 0,nop,wscale 7>"
#define ACK_NO_SACK ". 1:1(0) ack 1 win 502 " TSO

/* The frames sent since the last look: their count, the first one's relative
 * sequence number and the largest payload among them. */
static unsigned drain_segments(struct tscript *t, uint32_t *first, uint32_t *maxlen)
{
	char line[512];
	unsigned n = 0;

	*maxlen = 0;
	while (ts_next(t, line, sizeof(line))) {
		unsigned a, b, len;

		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u(%u)", &a, &b, &len), 3);
		if (!n)
			*first = a;
		if (len > *maxlen)
			*maxlen = len;
		n++;
	}
	return n;
}

/* Defect 1. RFC 1191 §6.2, Linux tcp_mtu_to_mss(): the MSS that a path MTU
 * allows leaves room for the IP and TCP headers and for the options every
 * segment carries (timestamps, 12 bytes). An MTU of 1400 gives 1348-byte
 * segments (1400-byte IP packets), not 1360 (1412, dropped again); 1492
 * (PPPoE) is below the 1500 bytes sent and must not be ignored. */
static void test_pmtu_mss_leaves_room_for_options(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info info;
	uint32_t first, maxlen;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:4345(1448) ack 1 win 502 " TSO);
	ts_inject_frag_needed(t, 1400);
	/* resent at once, from the first unacknowledged byte, in segments that fit */
	assert_true(drain_segments(t, &first, &maxlen) >= 4);
	assert_int_equal(first, 1);
	assert_int_equal(maxlen, 1400 - 20 - 20 - 12);
	tcp_get_info(c, &info, t->h->now);
	assert_int_equal(info.pmtu, 1400);
	assert_int_equal(info.snd_mss, 1348);
	/* a larger MTU than the one in use changes nothing */
	ts_inject_frag_needed(t, 1450);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_abort(t, c);
	ts_free(t);

	/* PPPoE: 1492 bytes (another stack: this one keeps the 1400 learned
	 * for the peer for its next connections, ip4_pmtu) */
	t = ts_new(100);
	c = ts_connect(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 2 * 1448, t->h->now), 2 * 1448);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 1449:2897(1448) ack 1 win 502 " TSO);
	ts_inject_frag_needed(t, 1492);
	assert_true(drain_segments(t, &first, &maxlen) >= 3);
	assert_int_equal(first, 1);
	assert_int_equal(maxlen, 1492 - 20 - 20 - 12);
	ts_abort(t, c);
	ts_free(t);
}

/* Runs the clock for ms milliseconds in steps of 10 ms; every segment the
 * stack sends must be the head segment 1449:2897, and each is answered with
 * a zero window when answer. Returns how many were sent. */
static unsigned probe_zero_window(struct tscript *t, uint64_t ms, bool answer)
{
	char line[512];
	unsigned n = 0;

	for (uint64_t at = 0; at < ms; at += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, line, sizeof(line))) {
			if (strncmp(line, ". 1449:2897(1448) ack 1 ", 24))
				fail_msg("expected the head segment 1449:2897, got '%s'", line);
			n++;
			if (answer)
				ts_inject(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 120 ecr 0>");
		}
	}
	return n;
}

/* Defect 2. RFC 9293 §3.8.6.2.1: a sender MUST probe a window that shrank
 * to zero; Linux's tcp_retransmit_timer() resends the head segment as the
 * probe, and while the peer answers, the connection does not time out (it
 * gives up once no ACK came for 2 TCP_RTO_MAX and the retransmissions ran
 * that long, tcp_rtx_probe0_timed_out()). Three segments in flight, then
 * "ack 1449 win 0": before, the RTO resent nothing (no room in the window),
 * the persist timer never armed (data in flight), and the connection died
 * with ETIMEDOUT after 15 retransmissions that never were. (Without SACK:
 * no tail loss probe comes first.) */
static void test_window_shrunk_to_zero_is_probed(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, SYNACK_NO_SACK, ACK_NO_SACK);
	char line[512];
	unsigned n;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:4345(1448) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 110 ecr 0>");
	/* 20 minutes of a peer that answers every probe with a zero window */
	n = probe_zero_window(t, 20 * 60 * 1000, true);
	assert_true(n >= 12);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	/* The window opens: nothing goes at once (the Loss state's window of
	 * one segment holds the probe, and the peer's answers to the probes
	 * were not duplicate ACKs that count: tcp_process_loss); the next
	 * timeout sends the head again, and its ACK lets the rest go. The
	 * kernel, measured with raw frames (three segments, no SACK, the
	 * probes answered with the zero window, then a window of 502): no
	 * segment in the 0.3 s after the window opened, where pstack sent the
	 * third at once. */
	ts_inject(t, ". 1:1(0) ack 1449 win 502 <nop,nop,TS val 130 ecr 0>");
	ts_expect_none(t);
	for (unsigned ms = 0; ms < 130000 && !ts_next(t, line, sizeof(line)); ms += 10)
		ts_advance_ms(t, 10);
	assert_true(ts_match(". 1449:2897(1448) ack 1 win 502 " TSO, line));
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 131 ecr 0>");
	/* The script's "ecr 0" echoes the stack's TS clock origin, older
	 * than every retransmission: the original arrived (RFC 3522,
	 * tcp_packet_delayed), the timeout is undone and the rest waits for
	 * the next one. The kernel does the same (rawframes.py
	 * bulk_window_shrunk_to_zero_ts_old_ecr: nothing at once after that
	 * ACK); with a literal echo of 0, or of the resend's TSval, it sends
	 * the rest at once, and so does pstack (raw frames, three runs). */
	for (unsigned ms = 0; ms < 130000 && !ts_next(t, line, sizeof(line)); ms += 10)
		ts_advance_ms(t, 10);
	assert_true(ts_match("P. 2897:4345(1448) ack 1 win 502 " TSO, line));
	ts_inject(t, ". 1:1(0) ack 4345 win 502 <nop,nop,TS val 131 ecr 0>");
	assert_int_equal(tcp_outq(c), 0);
	while (ts_next(t, line, sizeof(line)))
		;
	ts_abort(t, c);

	/* A peer that stops answering: the connection ends once no ACK came
	 * for 240 s (2 TCP_RTO_MAX) and the probes have run that long. */
	ts_new_peer(t);
	c = connect_with(t, SYNACK_NO_SACK, ACK_NO_SACK);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	h_drain_tx(t->h);
	ts_inject(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 110 ecr 0>");
	assert_true(probe_zero_window(t, 300 * 1000, true) >= 8);
	assert_true(probe_zero_window(t, 239 * 1000, false) >= 1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	probe_zero_window(t, 130 * 1000, false);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Runs the clock in steps of 100 ms for at most ms milliseconds, answering
 * every segment the stack sends with ack (the peer's zero window), until
 * the stack holds no connection. Returns the time that took, in ms (or ms
 * when the connection is still there). */
static uint64_t answer_until_gone(struct tscript *t, const char *ack, uint64_t ms)
{
	char line[512];
	uint64_t at;

	for (at = 0; at < ms && tcp_conn_count(t->h->s); at += 100) {
		ts_advance_ms(t, 100);
		while (ts_next(t, line, sizeof(line)))
			if (tcp_conn_count(t->h->s))
				ts_inject(t, ack);
	}
	return at;
}

/* Defect 3. An orphan (closed by the application) behind a zero window
 * must not live forever while a hostile peer answers every probe with
 * "win 0". Like Linux's tcp_probe_timer(), its probes stop counting as
 * alive once the backed-off timer reaches TCP_RTO_MAX (tcp_orphan_retries):
 * with a 200 ms RTO, probes at 0.2, 0.6, ... 204.6 s and the end at 324.6 s.
 * Like tcp_write_timeout(), one with data in flight gives up after 8
 * retransmissions' worth of time (102.2 s), not tcp_retries2's 15 minutes,
 * counted from the first resend (Linux's retrans_stamp in
 * retransmits_timed_out): with the 200 ms RTO the expiry of the 9th
 * resend comes 102.0 s after the first, 0.2 s short, so the next one ends
 * it, at 204.6 s.
 * TCP_USER_TIMEOUT bounds the probing of a socket the application still
 * holds, counted from the first probe (icsk_probes_tstamp), whatever the
 * peer answers. */
static void test_orphan_behind_zero_window_is_bounded(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char line[512];
	uint64_t took, first;

	(void)state;
	/* nothing in flight: the persist timer probes */
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	tcp_close(c, t->h->now);
	took = answer_until_gone(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 111 ecr 0>", 30 * 60 * 1000);
	print_message("orphan behind a zero window, nothing in flight: gone after %llu ms\n", (unsigned long long)took);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	assert_true(took >= 300 * 1000 && took <= 360 * 1000);

	/* data in flight, then the window shrinks to zero */
	ts_new_peer(t);
	c = connect_with(t, SYNACK_NO_SACK, ACK_NO_SACK);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	h_drain_tx(t->h);
	ts_inject(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 110 ecr 0>");
	tcp_close(c, t->h->now);
	took = answer_until_gone(t, ". 1:1(0) ack 1449 win 0 <nop,nop,TS val 111 ecr 0>", 30 * 60 * 1000);
	print_message("orphan behind a zero window, data in flight: gone after %llu ms\n", (unsigned long long)took);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	assert_true(took >= 200 * 1000 && took <= 210 * 1000);

	/* TCP_USER_TIMEOUT on a socket still held: 10 s from the first probe */
	ts_new_peer(t);
	c = ts_connect(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 10000), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	while (!ts_next(t, line, sizeof(line)))
		ts_advance_ms(t, 1);
	first = t->h->now;
	assert_string_equal(line, ". 0:0(0) ack 1 win 502 <nop,nop,TS val 200 ecr 110>");
	while (t->h->now < first + 9999 * 1000ull) {
		ts_advance_ms(t, 1);
		while (ts_next(t, line, sizeof(line)))
			ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 111 ecr 0>");
	}
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_advance_ms(t, 2);
	h_drain_tx(t->h);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Defect 5. RFC 7323 §4.3 and §5.3 (R3): TS.Recent takes the TSval of an
 * in-sequence segment, but only of one that is accepted: like Linux's
 * tcp_replace_ts_recent() after tcp_ack(), not of a segment the ACK check
 * then rejects (an ACK of data never sent, no ACK bit, a SYN). Before, one
 * spoofed segment with a guessed sequence number and a huge TSval made
 * every later legitimate segment fail PAWS. */
static void test_ts_recent_only_from_accepted_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	/* an ACK of data never sent */
	ts_inject(t, "P. 1:11(10) ack 1000 win 502 <nop,nop,TS val 2000000000 ecr 0>");
	h_drain_tx(t->h);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_inq(c), 10);
	/* no ACK bit */
	ts_inject(t, "P 11:21(10) win 502 <nop,nop,TS val 2000000000 ecr 0>");
	h_drain_tx(t->h);
	ts_inject(t, "P. 11:21(10) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	assert_int_equal(tcp_inq(c), 20);
	/* a SYN */
	ts_inject(t, "S 21:21(0) win 502 <nop,nop,TS val 2000000000 ecr 0>");
	h_drain_tx(t->h);
	ts_inject(t, "P. 21:31(10) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	assert_int_equal(tcp_inq(c), 30);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_PAWS], 0);
	/* the delayed ACK echoes the TSval of the earliest segment it covers
	 * (RFC 7323 §4.3), not the spoofed one */
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 31 win * <nop,nop,TS val * ecr 110>");
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 6. Keep-alive (RFC 1122 §4.2.3.6) counts the idle time from the
 * last acceptable segment, like Linux (its lrcvtime and rcv_tstamp move
 * only for accepted data and ACKs): a segment dropped as out of window,
 * an RST or a PAWS failure, is no sign of life. Before, a dead peer plus
 * one out-of-window RST every 9 s kept the connection ESTABLISHED forever. */
static void test_keepalive_counts_only_acceptable_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPIDLE, 10), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPINTVL, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPCNT, 3), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPALIVE, 1), 0);
	ts_advance_ms(t, 9000);
	ts_inject(t, "R 5000000:5000000(0) win 0");                 /* out of window: dropped */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 90 ecr 0>");   /* fails PAWS */
	h_drain_tx(t->h);
	ts_advance_ms(t, 999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 500);
	ts_inject(t, "R 5000000:5000000(0) win 0");
	ts_advance_ms(t, 500);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 1000);
	ts_expect(t, ". 0:0(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 1000);
	ts_expect(t, "R. 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Defect 7. An ACK or RST without data carries the highest sequence number
 * sent, like Linux's tcp_acceptable_seq() (its SND.NXT is never rewound),
 * not our SND.NXT after a timeout rewound it to resend from SND.UNA: a peer
 * that already holds the bytes up to SND.MAX drops an RST below its RCV.NXT
 * as out of window and stays half-open. */
static void test_rst_and_ack_carry_highest_seq_sent(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_with(t, SYNACK_NO_SACK, ACK_NO_SACK);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 3 * 1448, t->h->now), 3 * 1448);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:4345(1448) ack 1 win 502 " TSO);
	/* the timeout resends the first segment (one in the congestion window) */
	ts_advance_ms(t, 201);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	/* the peer's data is acknowledged from the highest sequence number sent */
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 40);
	ts_expect(t, ". 4345:4345(0) ack 11 win * " TSO);
	/* and so is the reset */
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 4345:4345(0) ack 11 win * " TSO);
	ts_free(t);
}

/* Defect 8. RFC 7323 §2.2: the window field of a segment with the SYN bit
 * set (a SYN or a SYN-ACK) is never scaled. In a simultaneous open (RFC
 * 9293 §3.5, figure 8) the peer's SYN-ACK arrives in SYN-RECEIVED; its
 * window of 1000 was taken as 1000 << 7 = 128000 (the SYN bit was cleared
 * before the window was read). (Linux's SYN-RECV branch of
 * tcp_rcv_state_process() scales it too; the RFC's MUST NOT is followed.) */
static void test_simultaneous_open_synack_window_not_scaled(void **state)
{
	struct tscript *t = ts_new(300);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 1000 <mss 1460,sackOK,TS val 101 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	h_drain_tx(t->h);
	/* 2000 bytes to send: the peer's window takes 1000 of them, in
	 * segments of half of it (Linux's tcp_bound_to_half_wnd: the largest
	 * window seen, 1000, bounds the MSS to 500) */
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	ts_expect(t, ". 1:501(500) ack 1 win * " TSO);
	ts_expect(t, "P. 501:1001(500) ack 1 win * " TSO);   /* forced_push: half the window written */
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 9. A FIN occupies sequence space: its retransmission (our ACK of
 * it was lost) is always acknowledged, however often it comes. Like
 * Linux's tcp_oow_rate_limited(), only segments that occupy no sequence
 * space (and SYNs) fall under the 500 ms limit on ACKs to out-of-window
 * segments; before, a bare FIN counted as a pure duplicate. */
static void test_retransmitted_fin_always_acked(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 4);        /* the ACK at the next tick (tcp_fin, ato 0) */
	ts_expect(t, ". 1:1(0) ack 2 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	for (int i = 0; i < 3; i++) {
		ts_advance_ms(t, 100);
		ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
		/* with a D-SACK of the FIN (Linux's tcp_data_queue) */
		ts_expect(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 1:2>");
	}
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 15, a bare FIN at a zero window. Our receive buffer is full (a
 * zero window) when the peer's FIN comes alone: it takes no buffer, and
 * like Linux's tcp_data_queue() ("some stacks are known to send bare FIN
 * packets in a loop even if we send RWIN 0"), it is accepted; before, it
 * was stripped and the connection never learned that the peer had closed. */
static void test_bare_fin_accepted_at_zero_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	static uint8_t buf[10000];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 2048), 0);   /* 4096 bytes */
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 1460 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 0>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 1460 " TSO);
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1449 win 2648 " TSO);      /* the window grows into the buffer */
	ts_inject(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_inject(t, ". 2897:4097(1200) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_advance_ms(t, 40);
	h_drain_tx(t->h);
	assert_int_equal(tcp_inq(c), 4096);
	/* the window is zero (the buffer full); the peer's FIN comes alone,
	 * at RCV.NXT */
	ts_inject(t, "F. 4097:4097(0) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect_none(t);      /* a delayed ACK, as Linux's after data */
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 4098 win 0 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 4096);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 15, the timestamp RTT sample. RFC 7323 §4: the RTT from a TSecr is
 * (now - TSecr) ms; the microseconds were (now - TSecr) * 1000 in 32 bits,
 * which wraps for a bogus TSecr: 4294968 ms ago gave 704 us, and SRTT and
 * the RTO collapsed. Like Linux's tcp_rtt_tsopt_us(): no sample when the
 * echo is INT_MAX / 1000 ms or more in the past (or in the future). */
static void test_ts_rtt_sample_bounded(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info info;
	uint32_t srtt, ecr;
	char spec[160];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	/* the first segment's ACK is timed by its send (50 ms after it) */
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_advance_ms(t, 50);
	ts_inject(t, ". 1:1(0) ack 101 win 502 <nop,nop,TS val 110 ecr 0>");
	tcp_get_info(c, &info, t->h->now);
	srtt = info.rtt_us;
	assert_true(srtt > 1000);
	/* the second is resent by the RTO: only the echo could time its ACK
	 * (Karn), and that echo is of a TSval from 4294968 ms ago */
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect(t, "P. 101:201(100) ack 1 win 502 " TSO);
	ts_advance_ms(t, info.rto_us / 1000 + 1);
	ts_expect(t, "P. 101:201(100) ack 1 win 502 " TSO);
	ecr = tcp_ts_now(c, t->h->now) - 4294968u - t->ts_base;
	snprintf(spec, sizeof(spec), ". 1:1(0) ack 201 win 502 <nop,nop,TS val 111 ecr %u>", ecr);
	ts_inject(t, spec);
	tcp_get_info(c, &info, t->h->now);
	assert_int_equal(info.rtt_us, srtt);
	ts_abort(t, c);
	ts_free(t);
}

/* The RTT of every ACK comes from when the segments it acknowledges were
 * sent (Linux's tcp_clean_rtx_queue()), not from the millisecond timestamp
 * echo: on a path of 100 us, the echo reads 0 or 1 ms, and SRTT sat near
 * 1 ms when all but one ACK per round trip were timed by it. Two segments
 * in flight at a time, each ACKed 100 us after it was sent: SRTT comes to
 * 100 us (from the handshake's 1 us) while the echoes of the untimed one
 * read 0 or 1 ms. */
static void test_rtt_from_send_times(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info info;
	char spec[160];
	uint32_t seq = 1, ecr[2];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	for (int i = 0; i < 40; i++) {
		/* two segments 50 us apart, each ACKed 100 us after it */
		for (int k = 0; k < 2; k++) {
			assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
			snprintf(spec, sizeof(spec), "P. %u:%u(100) ack 1 win 502 " TSO, seq + 100 * k, seq + 100 * (k + 1));
			ts_expect(t, spec);
			ecr[k] = t->last_tsval - t->ts_base;
			ts_advance_us(t, 50);
		}
		for (int k = 0; k < 2; k++) {
			snprintf(spec, sizeof(spec), ". 1:1(0) ack %u win 502 <nop,nop,TS val %d ecr %u>",
				 seq + 100 * (k + 1), 110 + i, ecr[k]);
			ts_inject(t, spec);
			ts_advance_us(t, 50);
		}
		seq += 200;
		ts_advance_us(t, 100);
	}
	tcp_get_info(c, &info, t->h->now);
	assert_true(info.rtt_us >= 80 && info.rtt_us <= 110);
	ts_abort(t, c);
	ts_free(t);
}

/* The least RTT is a windowed one, as Linux's (tcp_min_rtt_wlen, 300 s;
 * RFC 8985 §6.2 step 1 for RACK's reordering window): a path whose round
 * trip grew from 100 us to 1 ms is known at 1 ms once 300 s passed, where
 * the connection's all-time least kept saying 100 us. */
static void test_min_rtt_windowed(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info info;
	char spec[160];
	uint32_t seq = 1;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	for (int i = 0; i < 40; i++) {
		uint64_t rtt = i == 0 ? 100 : 1000;     /* 100 us once, then 1 ms every 10 s */

		assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
		snprintf(spec, sizeof(spec), "P. %u:%u(100) ack 1 win 502 " TSO, seq, seq + 100);
		ts_expect(t, spec);
		ts_advance_us(t, rtt);
		snprintf(spec, sizeof(spec), ". 1:1(0) ack %u win 502 <nop,nop,TS val %d ecr %u>", seq + 100, 110 + i,
			 t->last_tsval - t->ts_base);
		ts_inject(t, spec);
		seq += 100;
		tcp_get_info(c, &info, t->h->now);
		if (i == 20)
			assert_true(info.min_rtt_us <= 100);      /* 200 s: still the window's */
		ts_advance_ms(t, 10000);
	}
	tcp_get_info(c, &info, t->h->now);
	assert_int_equal(info.min_rtt_us, 1000);
	ts_abort(t, c);
	ts_free(t);
}

/* The filter itself: a new least at once; a larger sample never lowers it;
 * once the least ages out, the best of the window's later samples. */
static void test_minmax_filter(void **state)
{
	struct tcp_minmax m = { 0 };

	(void)state;
	assert_int_equal(tcp_minmax_running_min(&m, 100, 0, 50), 50);
	assert_int_equal(tcp_minmax_running_min(&m, 100, 30, 80), 50);
	assert_int_equal(tcp_minmax_running_min(&m, 100, 60, 70), 50);
	assert_int_equal(tcp_minmax_running_min(&m, 100, 90, 40), 40);
	assert_int_equal(tcp_minmax_running_min(&m, 100, 120, 90), 40);
	assert_int_equal(tcp_minmax_running_min(&m, 100, 170, 60), 40);
	/* 40 (t 90) out of the window at t 191: the best since */
	assert_int_equal(tcp_minmax_running_min(&m, 100, 191, 95), 60);
	/* nothing within the window at all: the sample */
	assert_int_equal(tcp_minmax_running_min(&m, 100, 400, 120), 120);
}

/* Defect 15, data and FIN on a SYN-ACK. RFC 9293 §3.10.7.3: once our SYN
 * is acknowledged the connection is ESTABLISHED, and "if there are other
 * controls or text in the segment, then continue processing at the sixth
 * step". The data and FIN that came with the SYN-ACK were discarded (the
 * peer had to send them again). (Linux's tcp_rcv_state_process() does "step6
 * onward by hand" for the URG bit only and frees the segment; the RFC is
 * followed.) */
static void test_synack_data_and_fin_processed(void **state)
{
	struct tscript *t = ts_new(100);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	struct tcp_conn *c = tcp_open(t->h->s);
	uint8_t buf[64];

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	/* 10 bytes on the SYN-ACK (the script's bytes for them are ts_byte(0..9)) */
	ts_inject(t, "S. 0:10(10) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 0);
	ts_abort(t, c);

	/* data and FIN */
	ts_new_peer(t);
	c = tcp_open(t->h->s);
	peer.port = t->peer_port;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "FS. 0:10(10) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 12 win * " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 15, HighRxt. RFC 6675 §4 (NextSeg): HighRxt is the highest
 * sequence number retransmitted; it was set to SND.UNA + MSS, while a
 * retransmission carries less when our segments carry SACK blocks (RFC 2018
 * §3: 12 bytes less with one block). The bytes in between were taken as
 * resent and never were: with the first two segments lost, bytes
 * 1437..1449 stayed missing until the RTO. Whatever chooses what to resend,
 * the two holes must be resent whole before any timeout. */
static void test_recovery_resends_what_high_rxt_claims(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static bool got[2873];
	char line[512];
	unsigned a, b, len;

	(void)state;
	/* the peer's out-of-order data: our segments carry a SACK block */
	ts_inject(t, "P. 101:111(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 101:111>");
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * 1436, t->h->now), 10 * 1436);
	ts_expect(t, ". 1:1437(1436) ack 1 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 101:111>");
	ts_expect(t, ". 1437:2873(1436) ack 1 win 502 <nop,nop,TS val * ecr *,nop,nop,sack 101:111>");
	h_drain_tx(t->h);
	/* a round trip that takes time: RACK orders transmissions by their
	 * clock (RFC 8985 §6.2), a retransmission at the originals' instant
	 * would count as sent before the segments SACKed */
	ts_advance_ms(t, 1);
	/* the first two are lost; the peer SACKs the rest as it comes */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:4309>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:5745>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:7181>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:8617>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:10053>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:11489>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:12925>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0,nop,nop,sack 2873:14361>");
	while (ts_next(t, line, sizeof(line))) {
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u(%u)", &a, &b, &len), 3);
		for (unsigned i = a; i < b && i < 2873; i++)
			got[i] = true;
	}
	for (unsigned i = 1; i < 2873; i++)
		if (!got[i])
			fail_msg("byte %u of the two lost segments was not resent", i);
	ts_inject(t, ". 1:1(0) ack 14361 win 502 <nop,nop,TS val 112 ecr 0>");
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Defect 15, an oversized segment. A TCP segment longer than 65535 bytes
 * (no IPv4 datagram holds one, and the pseudo-header's length cannot say
 * it) was counted as a bad checksum; it has its own drop reason. */
static void test_oversized_segment_has_own_drop_reason(void **state)
{
	static uint8_t seg[70000];
	struct tcp_seg h = { .sport = TS_PEER_PORT, .dport = TS_LOCAL_PORT, .seq = 1, .flags = TCP_ACK, .wnd = 100 };
	struct tscript *t = ts_new(100);
	struct ip4_hdr ih = { .version = 4, .ihl = 20, .proto = IP_PROTO_TCP, .src = H_PEER_IP, .dst = H_STACK_IP };
	struct tcp_seg g;
	uint64_t counted = 0;
	int r;

	(void)state;
	tcp_hdr_emit(seg, &h, TCP_HLEN);
	r = tcp_parse(seg, sizeof(seg), H_PEER_IP, H_STACK_IP, false, &g);
	assert_string_equal(drop_reason_name((enum drop_reason)r), "TCP_TOO_LONG");
	r = tcp_parse(seg, sizeof(seg), H_PEER_IP, H_STACK_IP, true, &g);
	assert_string_equal(drop_reason_name((enum drop_reason)r), "TCP_TOO_LONG");
	/* and counted under it */
	tcp_input(t->h->s, &ih, seg, sizeof(seg), t->h->now);
	for (int i = 0; i < DROP__COUNT; i++) {
		if (t->h->s->stats.drops[i])
			assert_string_equal(drop_reason_name((enum drop_reason)i), "TCP_TOO_LONG");
		counted += t->h->s->stats.drops[i];
	}
	assert_int_equal(counted, 1);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmtu_mss_leaves_room_for_options),
		cmocka_unit_test(test_window_shrunk_to_zero_is_probed),
		cmocka_unit_test(test_orphan_behind_zero_window_is_bounded),
		cmocka_unit_test(test_ts_recent_only_from_accepted_segments),
		cmocka_unit_test(test_keepalive_counts_only_acceptable_segments),
		cmocka_unit_test(test_rst_and_ack_carry_highest_seq_sent),
		cmocka_unit_test(test_simultaneous_open_synack_window_not_scaled),
		cmocka_unit_test(test_retransmitted_fin_always_acked),
		cmocka_unit_test(test_bare_fin_accepted_at_zero_window),
		cmocka_unit_test(test_ts_rtt_sample_bounded),
		cmocka_unit_test(test_rtt_from_send_times),
		cmocka_unit_test(test_min_rtt_windowed),
		cmocka_unit_test(test_minmax_filter),
		cmocka_unit_test(test_synack_data_and_fin_processed),
		cmocka_unit_test(test_recovery_resends_what_high_rxt_claims),
		cmocka_unit_test(test_oversized_segment_has_own_drop_reason),
	};
	return cmocka_run_group_tests_name("tcp_review", tests, NULL, NULL);
}
