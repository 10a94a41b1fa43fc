/* TCP core: handshakes both ways, data both ways, every close sequence,
 * TIME_WAIT, RST to a closed port (RFC 9293 §3.5, §3.6, §3.10.7). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/inpcb.h"
#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

/* Passive open with Linux's SYN: the SYN-ACK echoes each offered option. */
static void test_passive_open(void **state)
{
	struct tscript *t = ts_new(1000);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	struct ip4_endpoint ep;
	int err;

	(void)state;
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	assert_int_equal(tcp_poll(l), 0);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_poll(l), 0);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	assert_int_equal(tcp_poll(l), SOCK_POLLIN);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_peer(c, &ep), 0);
	assert_int_equal(ep.addr, H_PEER_IP);
	assert_int_equal(ep.port, TS_PEER_PORT);
	assert_int_equal(tcp_poll(c), SOCK_POLLOUT);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 510 <nop,nop,TS val 0 ecr 100>");
	tcp_close(l, t->h->now);
	ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 510 <nop,nop,TS val 0 ecr 101>");
	/* LAST_ACK on the peer; we are in TIME_WAIT for 2 MSL (60 s). */
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 59999);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 1);
	ts_free(t);
}

/* A SYN without options: MSS 536, no window scaling, timestamps or SACK. */
static void test_passive_open_no_options(void **state)
{
	struct tscript *t = ts_new(5);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 8192");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_inject(t, ". 1:1(0) ack 1 win 8192");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), 1);
	ts_expect(t, "P. 1:2(1) ack 1 win 64240");
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &err), 0);
	assert_int_equal(err, 536);
	tcp_close(l, t->h->now);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 2:2(0) ack 1 win 64240");
	ts_free(t);
}

/* Active open, data both ways, active close through FIN_WAIT_2 and TIME_WAIT. */
static void test_active_open_data_close(void **state)
{
	struct tscript *t = ts_new(5000);
	struct tcp_conn *c = ts_connect(t);
	uint8_t buf[100];

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_inject(t, "P. 1:11(10) ack 6 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_inq(c), 10);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 1);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), -EAGAIN);
	/* delayed ACK: 40 ms */
	ts_advance_ms(t, 39);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 6:6(0) ack 11 win 502 <nop,nop,TS val 40 ecr 110>");
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 6:6(0) ack 11 win 502 <nop,nop,TS val 40 ecr 110>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_1);
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), -EPIPE);
	ts_inject(t, ". 11:11(0) ack 7 win 502 <nop,nop,TS val 120 ecr 40>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	/* half-close: the peer still sends */
	ts_inject(t, "P. 11:14(3) ack 7 win 502 <nop,nop,TS val 130 ecr 40>");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 3);
	ts_check_bytes(buf, 3, 11);
	/* a short message read whole is ACKed at once (Linux's
	 * tcp_cleanup_rbuf(); test_spin_rxbatch.c checks RFC 7323 §4.3's echo
	 * of the earliest unacknowledged segment with a delayed ACK) */
	ts_expect(t, ". 7:7(0) ack 14 win 502 <nop,nop,TS val 40 ecr 130>");
	ts_inject(t, "F. 14:14(0) ack 7 win 502 <nop,nop,TS val 140 ecr 40>");
	ts_expect(t, ". 7:7(0) ack 15 win 502 <nop,nop,TS val 40 ecr 140>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	/* a connection waiting out 2 MSL holds no buffers */
	assert_int_equal(c->sndq.cap, 0);
	assert_int_equal(c->rcvq.cap, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	/* a retransmitted FIN in TIME_WAIT is acknowledged again, echoing
	 * TS.Recent, which it does not move (Linux's tcp_timewait_state_process:
	 * only a segment at RCV.NXT does; measured on 6.18) */
	ts_advance_ms(t, 1000);
	ts_inject(t, "F. 14:14(0) ack 7 win 502 <nop,nop,TS val 1140 ecr 40>");
	ts_expect(t, ". 7:7(0) ack 15 win 502 <nop,nop,TS val 1040 ecr 140>");
	/* data after the FIN: acknowledged (what was received), dropped, like
	 * Linux's tcp_timewait_state_process (rawframes tw_data), echoing
	 * TS.Recent still (only a bare ACK or a reset at RCV.NXT moves it); a
	 * bare ACK at RCV.NXT is not answered */
	ts_inject(t, "P. 15:19(4) ack 7 win 502 <nop,nop,TS val 1141 ecr 40>");
	ts_expect(t, ". 7:7(0) ack 15 win 502 <nop,nop,TS val 1040 ecr 140>");
	ts_inject(t, ". 15:15(0) ack 7 win 502 <nop,nop,TS val 1142 ecr 40>");
	ts_expect_none(t);
	/* the 2 MSL wait restarted at the retransmitted FIN */
	ts_advance_ms(t, 59999);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 1);
	ts_free(t);
}

/* Passive close: the peer's FIN first, CLOSE_WAIT, our FIN, LAST_ACK, CLOSED. */
static void test_passive_close(void **state)
{
	struct tscript *t = ts_new(7);
	struct tcp_conn *l = ts_listen(t, 8), *c = ts_accept_one(t, l);
	uint8_t b[4];

	(void)state;
	tcp_close(l, t->h->now);
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 200 ecr 0>");
	ts_advance_ms(t, 4);        /* the ACK at the next tick (tcp_fin, ato 0) */
	ts_expect(t, ". 1:1(0) ack 2 win 510 <nop,nop,TS val 4 ecr 200>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	/* another FIN past the first: nothing (Linux queues nothing from
	 * RCV.NXT on in CLOSE_WAIT; rawframes est_fin_again_other_seq); the
	 * same FIN again: acknowledged, with a D-SACK for it and its TSval
	 * echoed (rawframes est_fin_retransmitted) */
	ts_inject(t, "F. 10:10(0) ack 1 win 502 <nop,nop,TS val 201 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 202 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 2 win 510 <nop,nop,TS val 4 ecr 202,nop,nop,sack 1:2>");
	assert_int_equal(tcp_poll(c), SOCK_POLLIN | SOCK_POLLRDHUP | SOCK_POLLOUT);
	assert_int_equal(tcp_recv(c, b, 4, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, "ab", 2, t->h->now), 2);
	ts_expect(t, "P. 1:3(2) ack 2 win 510 <nop,nop,TS val 4 ecr *>");
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 3:3(0) ack 2 win 510 <nop,nop,TS val 4 ecr *>");
	ts_inject(t, ". 2:2(0) ack 4 win 502 <nop,nop,TS val 210 ecr 0>");
	ts_free(t);
}

/* Simultaneous close: FINs cross, CLOSING, then TIME_WAIT. */
static void test_simultaneous_close(void **state)
{
	struct tscript *t = ts_new(7);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 502 <nop,nop,TS val 0 ecr 101>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSING);
	ts_inject(t, ". 2:2(0) ack 2 win 502 <nop,nop,TS val 102 ecr 0>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_advance_ms(t, 60000);
	ts_free(t);
}

/* Simultaneous open: SYNs cross (RFC 9293 figure 8). */
static void test_simultaneous_open(void **state)
{
	struct tscript *t = ts_new(300);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EALREADY);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_RECEIVED);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 101 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	/* Its SYN, below RCV.NXT, is a retransmission: D-SACKed at once
	 * (Linux's tcp_data_queue; rawframes synsent_simultaneous_open). */
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 0 ecr 101,nop,nop,sack 0:1>");
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EISCONN);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 1 win 502 <nop,nop,TS val 0 ecr 101>");
	ts_free(t);
}

/* A simultaneous open whose peer then goes silent: the SYN-ACK is resent
 * tcp_syn_retries times (6), backed off from the SYN's timer, and the
 * connection ends at 127 s, as Linux's tcp_write_timeout for a socket in
 * SYN-RECV (tcp_synack_retries, 5, is a listener's). */
static void test_simultaneous_open_gives_up(void **state)
{
	static const unsigned at_s[] = { 1, 3, 7, 15, 31, 63 };
	struct tscript *t = ts_new(300);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	uint64_t start = t->h->now;
	unsigned n = 0;
	char got[512];

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	for (int ms = 0; ms < 200000 && tcp_get_state(c) == TCP_STATE_SYN_RECEIVED; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(!strncmp(got, "S.", 2));
			assert_true(n < sizeof(at_s) / sizeof(at_s[0]));
			assert_int_equal((t->h->now - start) / 1000000, at_s[n]);
			n++;
		}
	}
	assert_int_equal(n, 6);
	assert_int_equal((t->h->now - start) / 1000000, 127);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* RFC 9293 §3.10.7.1: segments to a closed port draw a reset. */
static void test_rst_closed_port(void **state)
{
	struct tscript *t = ts_new(1000);

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460>");
	ts_expect(t, "R. 0:0(0) ack 1 win 0");
	ts_inject(t, "P. 1:11(10) ack 500 win 65535");
	ts_expect(t, "R 500:500(0) win 0");
	ts_inject(t, "R. 1:1(0) ack 500 win 65535");
	ts_expect_none(t);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_NO_SOCKET], 3);
	ts_free(t);
}

/* The peer's reset: ECONNRESET once, then end of stream; EPIPE on send. */
static void test_peer_reset(void **state)
{
	struct tscript *t = ts_new(7);
	struct tcp_conn *c = ts_connect(t);
	struct ts_wake w;
	uint8_t b[4];

	(void)state;
	ts_watch(c, &w);
	ts_inject(t, "R. 1:1(0) ack 1 win 0");
	assert_true(w.count > 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_poll(c) & SOCK_POLLERR);
	assert_true(tcp_poll(c) & SOCK_POLLHUP);
	assert_int_equal(tcp_recv(c, b, 4, 0, t->h->now), -ECONNRESET);
	assert_int_equal(tcp_recv(c, b, 4, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, b, 4, t->h->now), -EPIPE);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A zero-length receive (Linux's recv of 0 bytes): -EAGAIN while nothing
 * is queued, 0 once bytes are (taking none of them) or the stream ended. */
static void test_recv_zero_length(void **state)
{
	struct tscript *t = ts_new(7);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[8];

	(void)state;
	assert_int_equal(tcp_recv(c, NULL, 0, 0, t->h->now), -EAGAIN);
	ts_inject(t, "P. 1:5(4) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 5 win 502 <nop,nop,TS val 0 ecr 101>");   /* the first data: a quick ACK */
	assert_int_equal(tcp_recv(c, NULL, 0, 0, t->h->now), 0);
	assert_int_equal(tcp_inq(c), 4);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 4);
	ts_inject(t, "F. 5:5(0) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	/* a FIN after data: its ACK is a delayed one (Linux's tcp_fin turns
	 * the connection interactive); (TS.Recent is the FIN's: the last ACK
	 * sent covered up to it, RFC 7323 §4.3) */
	ts_expect_none(t);
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 6 win 502 <nop,nop,TS val 40 ecr 102>");
	assert_int_equal(tcp_recv(c, NULL, 0, 0, t->h->now), 0);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 6 win 502 <nop,nop,TS val 40 ecr 102>");
	ts_free(t);
}

/* A refused connect: ECONNREFUSED through take_error. */
static void test_connect_refused(void **state)
{
	struct tscript *t = ts_new(7);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, TS_PEER_PORT }, local = { 0, TS_LOCAL_PORT };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(tcp_poll(c), 0);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "R. 0:0(0) ack 1 win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_poll(c) & SOCK_POLLERR);
	assert_int_equal(tcp_take_error(c), -ECONNREFUSED);
	assert_int_equal(tcp_take_error(c), 0);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Sequence numbers wrap around 2^32 with data both ways. */
static void test_wraparound(void **state)
{
	struct tscript *t = ts_new(0xfffffff0u);
	struct tcp_conn *l = ts_listen(t, 8), *c = ts_accept_one(t, l);
	uint8_t buf[64];

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	tcp_close(l, t->h->now);
	ts_inject(t, "P. 1:41(40) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_inject(t, "P. 41:61(20) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect_none(t);
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 61 win 509 <nop,nop,TS val 40 ecr 101>");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 60);
	ts_check_bytes(buf, 60, 1);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 61 win 509 <nop,nop,TS val 40 ecr 101>");
	ts_free(t);
}


/* A reset for an embryonic connection: it goes, the listener stays. */
static void test_rst_in_syn_received(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	ts_inject(t, "R 1:1(0) win 0");
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(tcp_get_state(l), TCP_STATE_LISTEN);
	/* an ACK that does not acknowledge our SYN draws a reset (RFC 9293 §3.10.7.4) */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 5 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, "R 5:5(0) win 0");
	assert_int_equal(tcp_get_state(l), TCP_STATE_LISTEN);
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A SYN with another sequence number, in the window of an embryonic
 * connection: Linux's tcp_check_req() answers with a reset (its
 * embryonic_reset; measured: "R. 0:0(0) ack SEQ+1") and drops the
 * request, where an established connection sends a challenge ACK. The
 * same SYN again is a retransmission: the SYN-ACK again. */
static void test_syn_in_syn_received_resets(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);
	char want[80];
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	ts_inject(t, "S 5000:5000(0) win 65535 <mss 1460>");
	/* sequence 0 (the SYN has no ACK), shown relative to our ISN */
	snprintf(want, sizeof(want), "R. %u:%u(0) ack 5001 win 0", 0u - t->isn, 0u - t->isn);
	ts_expect(t, want);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(tcp_get_state(l), TCP_STATE_LISTEN);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Reset in CLOSE_WAIT and LAST_ACK. In CLOSE_WAIT the error is EPIPE
 * (Linux's tcp_reset), and recv reads the end of the stream before it. */
static void test_rst_in_close_wait_and_last_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[4];

	(void)state;
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_advance_ms(t, 4);        /* the ACK at the next tick (tcp_fin, ato 0) */
	ts_expect(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val 4 ecr 101>");
	ts_inject(t, "R. 2:2(0) ack 1 win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_recv(c, b, 4, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, b, 4, t->h->now), -EPIPE);
	assert_int_equal(tcp_take_error(c), 0);
	assert_int_equal(tcp_send(c, b, 4, t->h->now), -EPIPE);
	tcp_close(c, t->h->now);
	ts_new_peer(t);
	c = ts_connect(t);
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	/* closed before the next tick: our FIN carries the ACK (Linux's
	 * tcp_fin: a delayed ACK with ato 0; rawframes lastack_*) */
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 0 ecr 101>");
	ts_inject(t, "R. 2:2(0) ack 1 win 0");
	ts_free(t);
}

/* Data arriving after close() on a half-closed connection: reset, as
 * Linux answers the segment (measured: "R SEG.ACK:SEG.ACK(0) win 0", in
 * FIN_WAIT_1 and FIN_WAIT_2; tests/e2e/rawframes.py finwait*_data). */
static void test_data_after_close(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_inject(t, "P. 1:11(10) ack 2 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, "R 2:2(0) win 0");
	ts_expect_none(t);
	ts_free(t);
	/* FIN_WAIT_1: the data acknowledges nothing of ours, the reset's
	 * sequence number is that ACK (our FIN's). */
	t = ts_new(100);
	c = ts_connect(t);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 0 ecr 100>");
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	ts_free(t);
}

/* Closing during SYN_SENT: gone at once, nothing sent. */
static void test_close_in_syn_sent(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, TS_PEER_PORT }, local = { 0, TS_LOCAL_PORT };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	tcp_close(c, t->h->now);
	ts_advance_ms(t, 5000);
	/* the SYN-ACK that comes late finds a closed port */
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	ts_expect(t, "R 1:1(0) win 0");
	ts_free(t);
}


/* Our own sequence numbers wrap: the clock is moved to where the RFC 6528
 * ISN for this 4-tuple lies 2000 below 2^32, then 5000 bytes go out and are
 * acknowledged across the wrap. */
static void test_wraparound_our_side(void **state)
{
	struct tscript *t = ts_new(100);
	uint32_t f = tcp_isn(t->h->s->cfg.secret, H_STACK_IP, TS_LOCAL_PORT, H_PEER_IP, TS_PEER_PORT, 0);
	uint64_t at = (uint64_t)(uint32_t)(0u - 2000u - f) * 4;
	static uint8_t data[5000];
	struct tcp_conn *c;

	(void)state;
	while (at < t->h->now)
		at += 4ull << 32;
	h_advance(t->h, at - t->h->now);
	h_learn_peer(t->h);
	c = ts_connect(t);
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	assert_int_equal(t->isn, 0u - 2000u);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, data, sizeof(data), t->h->now), 5000);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_expect(t, ". 2897:4345(1448) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_expect(t, "P. 4345:5001(656) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 2897 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_outq(c), 2104);
	ts_inject(t, ". 1:1(0) ack 5001 win 502 <nop,nop,TS val 102 ecr 0>");
	assert_int_equal(tcp_outq(c), 0);
	ts_inject(t, "P. 1:11(10) ack 5001 win 502 <nop,nop,TS val 103 ecr 0>");
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 5001:5001(0) ack 11 win * <nop,nop,TS val * ecr 103>");
	ts_free(t);
}

/* A listener's embryonic connection answers the handshake's ACK when it
 * fails PAWS as Linux's request socket does (tcp_check_req,
 * tcp_v4_reqsk_send_ack): an ACK offering the SYN-ACK's window scaled down
 * and rounded down (65160 >> 7: 509), and the connection stays. */
static void test_syn_received_paws_ack_window(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 50 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 509 <nop,nop,TS val * ecr 100>");
	assert_null(tcp_accept(l, &err));
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The SYN-ACK's MSS follows the path MTU learned for the peer, as
 * Linux's comes from the route to it (dst_metric_advmss, whose exception
 * holds the path MTU): 1000 learned, MSS 960 offered (rawframes
 * tcp_frag_needed_then_syn). */
static void test_synack_mss_follows_path_mtu(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	ip4_pmtu_learn(t->h->s, H_PEER_IP, 1000, t->h->now);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 960,sackOK,TS val * ecr 100,nop,wscale 7>");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Our own SYN's MSS follows the path MTU learned for the peer, as Linux's
 * (tcp_advertise_mss: the route's advmss), and its window is a multiple of
 * it (measured on Linux 6.18, a route of MTU 1000: mss 960, win 65280). */
static void test_syn_mss_follows_path_mtu(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	(void)state;
	ip4_pmtu_learn(t->h->s, H_PEER_IP, 1000, t->h->now);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 65280 <mss 960,sackOK,TS val * ecr 0,nop,wscale 7>");
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Listeners that share a port through SO_REUSEPORT (nginx's listen ...
 * reuseport: one per worker) share its connections, as Linux's
 * reuseport_select_sock spreads them by a hash of the four-tuple: 32 peers
 * (ports) reach both of two listeners, each peer the same one each time. */
static struct tcp_conn *reuseport_listener(struct tscript *t)
{
	struct tcp_conn *l = tcp_open(t->h->s);
	struct ip4_endpoint ep = { 0, t->local_port };

	assert_non_null(l);
	assert_int_equal(tcp_setopt(l, TCP_OPT_REUSEPORT, 1), 0);
	assert_int_equal(tcp_bind(l, &ep, INPCB_REUSEPORT), 0);
	assert_int_equal(tcp_listen(l, 64), 0);
	return l;
}

static void test_reuseport_group_spreads(void **state)
{
	struct tscript *t = ts_new(1000);
	struct tcp_conn *l[2], *c;
	unsigned got[2] = { 0, 0 };
	int err;

	(void)state;
	l[0] = reuseport_listener(t);
	l[1] = reuseport_listener(t);
	for (int i = 0; i < 32; i++) {
		ts_new_peer(t);
		ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
		ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
		for (int k = 0; k < 2; k++) {
			c = tcp_accept(l[k], &err);
			if (c) {
				got[k]++;
				ts_abort(t, c);
			}
		}
		assert_int_equal(got[0] + got[1], i + 1);
	}
	assert_true(got[0] > 0 && got[1] > 0);
	tcp_close(l[0], t->h->now);
	tcp_close(l[1], t->h->now);
	ts_free(t);
}

/*
 * connect(AF_UNSPEC) (tcp_disconnect_counts, the fresh connection that
 * replaces the old): Linux's tcp_disconnect moves write_seq on by the
 * peer's largest window plus 2 and leaves snd_una and snd_nxt, so SIOCOUTQ
 * and SIOCOUTQNSD answer that gap in CLOSE, and the next connect's SYN
 * starts at write_seq. Measured on 6.18 (veth, tcpdump -S): a socket that
 * never connected sends SYN seq 2; one whose connection had sent 3 bytes,
 * all acked, with the peer's window at 65536, SYN seq ISN + 1 + 3 + 65536 + 2.
 */
static void test_disconnect_moves_write_seq(void **state)
{
	struct tscript *t = ts_new(5000);
	struct tcp_conn *never = tcp_open(t->h->s), *c, *next;
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	tcp_seq iss;

	(void)state;
	/* Never connected: write_seq, snd_una and snd_nxt were 0. */
	next = tcp_open(t->h->s);
	tcp_disconnect_counts(next, never);
	tcp_close(never, t->h->now);
	assert_int_equal(tcp_outq(next), 2);
	assert_int_equal(tcp_outq_unsent(next), 2);
	assert_int_equal(tcp_bind(next, &local, 0), 0);
	assert_int_equal(tcp_connect(next, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(next->iss, 2);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	tcp_close(next, t->h->now);

	/* After a connection that sent 3 bytes, all acknowledged. */
	ts_new_peer(t);
	c = ts_connect(t);
	iss = c->iss;
	assert_int_equal(tcp_send(c, "abc", 3, t->h->now), 3);
	ts_expect(t, "P. 1:4(3) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 4 win 512 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(c->max_snd_wnd, 65536);
	next = tcp_open(t->h->s);
	tcp_disconnect_counts(next, c);
	assert_int_equal(tcp_outq(next), 65536 + 2);
	assert_int_equal(tcp_outq_unsent(next), 65536 + 2);
	ts_abort(t, c);
	ts_new_peer(t);
	local.port = t->local_port;
	peer.port = t->peer_port;
	assert_int_equal(tcp_bind(next, &local, 0), 0);
	assert_int_equal(tcp_connect(next, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(next->iss, iss + 1 + 3 + 65536 + 2);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	/* Once: a connection of its own counts from its own ISN. */
	assert_false(next->disc_seq_set);
	assert_int_equal(tcp_outq(next), 0);
	tcp_close(next, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuseport_group_spreads),
		cmocka_unit_test(test_passive_open),
		cmocka_unit_test(test_passive_open_no_options),
		cmocka_unit_test(test_active_open_data_close),
		cmocka_unit_test(test_passive_close),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_simultaneous_open_gives_up),
		cmocka_unit_test(test_rst_closed_port),
		cmocka_unit_test(test_peer_reset),
		cmocka_unit_test(test_recv_zero_length),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_wraparound_our_side),
		cmocka_unit_test(test_rst_in_syn_received),
		cmocka_unit_test(test_syn_in_syn_received_resets),
		cmocka_unit_test(test_rst_in_close_wait_and_last_ack),
		cmocka_unit_test(test_data_after_close),
		cmocka_unit_test(test_close_in_syn_sent),
		cmocka_unit_test(test_syn_received_paws_ack_window),
		cmocka_unit_test(test_synack_mss_follows_path_mtu),
		cmocka_unit_test(test_syn_mss_follows_path_mtu),
		cmocka_unit_test(test_disconnect_moves_write_seq),
	};
	return cmocka_run_group_tests_name("tcp_basic", tests, NULL, NULL);
}
