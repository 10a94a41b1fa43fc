/* TCP surface towards the shim: readiness bits and wakeups through a
 * connection's life, options, TCP_INFO, shutdown(SHUT_RD), TIME_WAIT reuse,
 * the exit path's pending count, and ICMP errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

/* Readiness (like Linux's tcp_poll) and a wakeup on every change. */
static void test_poll_and_wakeups(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };
	struct ts_wake w;
	uint8_t b[16];

	(void)state;
	/* a new socket: like Linux, POLLOUT | POLLHUP */
	assert_int_equal(tcp_poll(c), SOCK_POLLOUT | SOCK_POLLHUP);
	ts_watch(c, &w);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(tcp_poll(c), 0);
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), -EAGAIN);
	assert_int_equal(tcp_recv(c, b, 1, 0, t->h->now), -EAGAIN);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	assert_true(w.count > 0);
	assert_int_equal(tcp_poll(c), SOCK_POLLOUT);
	w.count = 0;
	ts_inject(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_true(w.count > 0);
	assert_int_equal(tcp_poll(c), SOCK_POLLIN | SOCK_POLLOUT);
	assert_int_equal(tcp_recv(c, b, 2, SOCK_PEEK, t->h->now), 2);
	assert_int_equal(tcp_inq(c), 5);
	assert_int_equal(tcp_recv(c, b, 16, 0, t->h->now), 5);
	ts_check_bytes(b, 5, 1);
	/* a short message read whole is ACKed at once (Linux's tcp_cleanup_rbuf()) */
	ts_expect(t, ". 1:1(0) ack 6 win 502 " TSO);
	assert_int_equal(tcp_poll(c), SOCK_POLLOUT);
	w.count = 0;
	ts_inject(t, "F. 6:6(0) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	assert_true(w.count > 0);
	assert_int_equal(tcp_poll(c), SOCK_POLLIN | SOCK_POLLRDHUP | SOCK_POLLOUT);
	/* the FIN's ACK waits (a delayed one after data, Linux's tcp_fin):
	 * our own FIN, within the timeout, carries it */
	ts_expect_none(t);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 7 win 502 " TSO);
	/* Both directions shut (Linux's SHUTDOWN_MASK): hung up, in LAST_ACK already. */
	assert_int_equal(tcp_poll(c), SOCK_POLLIN | SOCK_POLLRDHUP | SOCK_POLLOUT | SOCK_POLLHUP);
	ts_inject(t, ". 7:7(0) ack 2 win 502 <nop,nop,TS val 103 ecr 0>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_poll(c), SOCK_POLLIN | SOCK_POLLRDHUP | SOCK_POLLOUT | SOCK_POLLHUP);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A full send buffer: -EAGAIN and no POLLOUT; the ACK frees room and wakes. */
static void test_send_buffer_full(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static uint8_t big[100000];
	struct ts_wake w;
	int v;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 10000), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_SNDBUF, &v), 0);
	assert_int_equal(v, 20000);        /* doubled like Linux */
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_send(c, big, sizeof(big), t->h->now), 20000);
	assert_int_equal(tcp_send(c, big, sizeof(big), t->h->now), -EAGAIN);
	assert_int_equal(tcp_poll(c) & SOCK_POLLOUT, 0);
	assert_int_equal(tcp_outq(c), 20000);
	ts_watch(c, &w);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	h_drain_tx(t->h);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 103 ecr 0>");
	assert_true(w.count > 0);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_INFO reflects the negotiated options and the transfer. */
static void test_info(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win 502 " TSO);
	ts_advance_ms(t, 10);
	ts_inject(t, "P. 1:4(3) ack 6 win 502 <nop,nop,TS val 110 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.state, TCP_STATE_ESTABLISHED);
	assert_int_equal(i.options, 7);
	assert_int_equal(i.snd_wscale, 7);
	assert_int_equal(i.rcv_wscale, 7);
	assert_int_equal(i.snd_mss, 1448);
	assert_int_equal(i.bytes_acked, 6);     /* Linux's: the SYN counts */
	assert_int_equal(i.bytes_received, 3);
	/* RFC 6298: the handshake's sample (about 0) then 10 ms: 7/8 * 1 + 1/8 * 10000 */
	assert_int_equal(i.rtt_us, 1250);
	assert_int_equal(i.snd_cwnd, 10);
	assert_int_equal(i.snd_wnd, 502 << 7);
	assert_int_equal(i.unacked, 0);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_INFO's counts as Linux 6.18 gives them (measured side by side, a
 * veth pair and the TAP): before data, no ato and a guessed rcv_mss of 536;
 * the advertised MSS less the timestamp option; ssthresh "infinite" as
 * 0x7fffffff; the SYN and our FIN in bytes_acked, the peer's FIN in
 * bytes_received; a run of retransmission timeouts as one recovery whose
 * time ends with the ACK. */
static void test_info_linux_counts(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;

	(void)state;
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ato_us, 0);
	assert_int_equal(i.rcv_mss, 536);
	assert_int_equal(i.advmss, 1448);
	assert_int_equal(i.snd_ssthresh, 0x7fffffff);
	assert_true(i.max_pacing_rate == UINT64_MAX);
	assert_int_equal(i.bytes_acked, 1);
	assert_int_equal(i.total_rto, 0);
	assert_true(i.rcv_wnd > 0);

	/* Lost thrice: the loss probe (at the RTO's time: one segment in
	 * flight, its PTO is past it), then two timeouts, one recovery. */
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	ts_advance_ms(t, 300);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.total_rto, 0);
	ts_advance_ms(t, 200);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.total_rto, 1);
	assert_int_equal(i.total_rto_recoveries, 1);
	ts_advance_ms(t, 400);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 6 win 502 <nop,nop,TS val 200 ecr 0>");
	ts_advance_ms(t, 1000);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.total_rto, 2);
	assert_int_equal(i.total_rto_recoveries, 1);
	/* from the first timeout (at 401 ms: the probe at 200 ms, the 200 ms
	 * floor and the handshake's RTT after it) to the ACK (at 1000 ms) */
	assert_int_equal(i.total_rto_time_ms, 599);
	assert_int_equal(i.data_segs_out, 4);
	assert_int_equal(i.bytes_sent, 20);
	assert_int_equal(i.bytes_retrans, 15);
	assert_int_equal(i.bytes_acked, 6);

	/* The peer's data then FIN: ato once data came, the FIN in bytes_received. */
	ts_inject(t, "P. 1:3(2) ack 6 win 502 <nop,nop,TS val 210 ecr 0>");
	ts_inject(t, "F. 3:3(0) ack 6 win 502 <nop,nop,TS val 211 ecr 0>");
	while (ts_next(t, (char[256]){ 0 }, 256))
		;
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ato_us, 40000);
	assert_int_equal(i.rcv_mss, 536);       /* 2 bytes: still the guess */
	assert_int_equal(i.bytes_received, 3);
	assert_int_equal(i.data_segs_in, 1);
	ts_abort(t, c);
	ts_free(t);
}

/* The data's retransmission timeouts until total_rto grows by one (at most 10 s). */
static void rto_once(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;
	uint32_t before;
	char got[512];

	tcp_get_info(c, &i, t->h->now);
	before = i.total_rto;
	for (int ms = 0; ms < 10000 && i.total_rto == before; ms += 10) {
		ts_advance_ms(t, 10);
		tcp_get_info(c, &i, t->h->now);
	}
	assert_int_equal(i.total_rto, before + 1);
	while (ts_next(t, got, sizeof(got)))
		;
}

/* tcpi_rehash, Linux's timeout_rehash: a retransmission timeout that leaves
 * the connection alive rethinks its path (tcp_write_timeout,
 * sk_rethink_txhash) and counts, unless SO_TXREHASH is 0, or unset with
 * net.core.txrehash 0; a zero window's probes do not count (Linux's
 * tcp_retransmit_timer skips tcp_write_timeout for them). */
static void test_info_rehash(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;
	char got[512];

	(void)state;
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rehash, 1);
	ts_inject(t, ". 1:1(0) ack 6 win 502 <nop,nop,TS val 200 ecr 0>");

	assert_int_equal(tcp_setopt(c, TCP_OPT_TXREHASH, 0), 0);
	assert_int_equal(tcp_send(c, "world", 5, t->h->now), 5);
	ts_expect(t, "P. 6:11(5) ack 1 win * <nop,nop,TS val * ecr 200>");
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rehash, 1);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TXREHASH, -1), 0);
	t->h->s->cfg.txrehash = 0;
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rehash, 1);
	t->h->s->cfg.txrehash = 1;
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rehash, 2);

	/* The window closes with the data out: probes, no count. */
	ts_inject(t, ". 1:1(0) ack 6 win 0 <nop,nop,TS val 300 ecr 0>");
	ts_advance_ms(t, 10000);
	while (ts_next(t, got, sizeof(got)))
		;
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_wnd, 0);
	assert_int_equal(i.rehash, 2);
	ts_abort(t, c);
	ts_free(t);
}

/* A listener's child whose SYN-ACK timed out twice, accepted with the
 * peer's data 4.2 s after the first SYN-ACK: TCP_INFO as the kernel's
 * measured so (ACKs dropped, the data later): total_retrans 2, total_rto
 * 2, one recovery, rto_time 4200 ms from the first SYN-ACK (Linux's
 * tcp_create_openreq_child: since snt_synack), retransmits and backoff 0. */
static void test_info_child_rto(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c;
	struct tcp_conn_info i;
	char got[512];
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_advance_ms(t, 4200);
	while (ts_next(t, got, sizeof(got)))
		;
	ts_inject(t, "P. 1:2(1) ack 1 win 502 <nop,nop,TS val 200 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.total_retrans, 2);
	assert_int_equal(i.total_rto, 2);
	assert_int_equal(i.total_rto_recoveries, 1);
	assert_int_equal(i.total_rto_time_ms, 4200);
	assert_int_equal(i.retransmits, 0);
	assert_int_equal(i.backoff, 0);
	while (ts_next(t, got, sizeof(got)))
		;
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* tcpi_rto is Linux's icsk_rto: doubled by each retransmission timeout,
 * the computed one again once an ACK ends them; a zero window's probes back
 * off their own timer and leave it (tcp_send_probe0). */
static void test_info_rto_backoff(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;
	uint32_t rto;
	char got[512];

	(void)state;
	tcp_get_info(c, &i, t->h->now);
	rto = i.rto_us;
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win * <nop,nop,TS val * ecr 100>");
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 1);
	assert_int_equal(i.rto_us, 2 * rto);
	rto_once(t, c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 2);
	assert_int_equal(i.rto_us, 4 * rto);
	ts_inject(t, ". 1:1(0) ack 6 win 0 <nop,nop,TS val 200 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 0);
	assert_int_equal(i.rto_us, c->rto);     /* the ACK's RTT sample computed it anew */
	rto = i.rto_us;

	/* Data behind the closed window: probes. */
	assert_int_equal(tcp_send(c, "world", 5, t->h->now), 5);
	ts_advance_ms(t, 5000);
	while (ts_next(t, got, sizeof(got)))
		;
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.probes >= 2);
	assert_true(i.backoff >= 2);
	assert_int_equal(i.rto_us, rto);
	ts_abort(t, c);
	ts_free(t);
}

/* Karn's algorithm keeps the backoff (RFC 6298 (5.7)): without timestamps
 * an ACK of retransmitted data times nothing, so the doubled RTO stays
 * for what goes next, and only a valid sample computes it anew (Linux's
 * tcp_ack_update_rtt). Measured on this kernel (no timestamps, no SACK,
 * veth, the peer dropping each segment's first copy): after the ACK of
 * the resent segment tcpi_backoff 1, tcpi_rto 400000 (204000 before); the
 * next segment resent 422 ms after it went, then backoff 2, rto 800000.
 * pstack cleared the backoff on that ACK: rto 200519, resent after 202 ms. */
static void test_backoff_kept_without_rtt_sample(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 500, false);
	struct tcp_conn_info i;
	uint32_t rto;
	char got[512];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	tcp_get_info(c, &i, t->h->now);
	rto = i.rto_us;
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 1 win *");
	rto_once(t, c);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 6 win 500");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 1);
	assert_int_equal(i.rto_us, 2 * rto);

	/* The next segment is resent after the doubled RTO, not before. */
	assert_int_equal(tcp_send(c, "world", 5, t->h->now), 5);
	ts_expect(t, "P. 6:11(5) ack 1 win *");
	ts_advance_us(t, 2ull * rto - 1000);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, "P. 6:11(5) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 11 win 500");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 2);
	assert_int_equal(i.rto_us, 4 * rto);

	/* An ACK of data sent once is a sample: the RTO is computed anew. */
	assert_int_equal(tcp_send(c, "again", 5, t->h->now), 5);
	ts_expect(t, "P. 11:16(5) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 16 win 500");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.backoff, 0);
	assert_int_equal(i.rto_us, c->rto);
	while (ts_next(t, got, sizeof(got)))
		;
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_INFO's delivery and reordering counts, as Linux's: delivered counts
 * the SYN and each segment acknowledged or SACKed; an ACK that delivers
 * segments below the highest delivered one is reordering seen once, and
 * reordering becomes its extent in segments; rcv_ooopack counts segments
 * that came out of order. */
static void test_info_reordering(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct tcp_conn_info i;
	static char buf[4 * 1448];

	(void)state;
	/* A handshake of 10 ms: RACK's reordering window is a quarter of the
	 * least RTT, so that the SACK below marks nothing lost at once. */
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	assert_int_equal(tcp_send(c, buf, sizeof(buf), t->h->now), (long)sizeof(buf));
	for (int k = 0; k < 4; k++)
		assert_true(ts_next(t, (char[256]){ 0 }, 256));
	/* The last two arrive first (SACKed), then the first two. */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0,nop,nop,sack 2897:5793>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 3);
	assert_int_equal(i.reord_seen, 0);
	assert_int_equal(i.reordering, 3);
	ts_inject(t, ". 1:1(0) ack 5793 win 502 <nop,nop,TS val 111 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 5);
	assert_int_equal(i.reord_seen, 1);
	assert_int_equal(i.reordering, 4);
	assert_int_equal(i.total_retrans, 0);
	/* The peer's second segment before its first. */
	ts_inject(t, ". 1449:2897(1448) ack 5793 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_inject(t, ". 1:1449(1448) ack 5793 win 502 <nop,nop,TS val 112 ecr 0>");
	while (ts_next(t, (char[256]){ 0 }, 256))
		;
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_ooopack, 1);
	assert_int_equal(i.bytes_received, 2896);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_INFO's busy_time, rwnd_limited (Linux's chrono): busy from the first
 * byte queued until all is acknowledged, the peer's window as the limit
 * while the next segment does not fit in it. */
static void test_info_chrono(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;
	static char buf[3000];

	(void)state;
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.busy_us == 0);
	/* The peer's window is closed. */
	ts_inject(t, ". 1:1(0) ack 1 win 0 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_send(c, buf, sizeof(buf), t->h->now), (long)sizeof(buf));
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.rwnd_limited_us == 20000);
	assert_true(i.busy_us == 20000);
	/* The window opens: the data goes, the limit ends; busy until acknowledged. */
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect(t, ". 1449:2897(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2897:3001(104) ack 1 win 502 " TSO);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1:1(0) ack 3001 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_advance_ms(t, 50);
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.rwnd_limited_us == 20000);
	assert_true(i.busy_us == 25000);
	assert_true(i.sndbuf_limited_us == 0);
	while (ts_next(t, (char[256]){ 0 }, 256))
		;       /* the tail probe that went before the ACK */
	ts_abort(t, c);
	ts_free(t);
}

/* tcpi_delivery_rate_app_limited, as Linux's rate sampling: the handshake's
 * sample is application-limited (a new socket is), so is a short write into
 * an idle connection; data the window held back and sent by the ACKs is not. */
static void test_info_app_limited(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_conn_info i;
	static char buf[20 * 1448];
	char line[256];
	int n = 0;

	(void)state;
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.delivery_rate_app_limited);
	/* Twenty segments: the first ten (the initial window) sent by the
	 * write, application-limited; the rest by the ACK, not. */
	assert_int_equal(tcp_send(c, buf, sizeof(buf), t->h->now), (long)sizeof(buf));
	while (ts_next(t, line, sizeof(line)))
		n++;
	assert_int_equal(n, 10);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 14481 win 502 <nop,nop,TS val 110 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.delivery_rate_app_limited);
	while (ts_next(t, line, sizeof(line)))
		n++;
	assert_int_equal(n, 20);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 28961 win 502 <nop,nop,TS val 111 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_false(i.delivery_rate_app_limited);
	/* A short write into the idle connection: application-limited again. */
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 28961:29061(100) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 29061 win 502 <nop,nop,TS val 112 ecr 0>");
	tcp_get_info(c, &i, t->h->now);
	assert_true(i.delivery_rate_app_limited);
	ts_abort(t, c);
	ts_free(t);
}

/* A listener's TCP_INFO, as Linux's: its accept queue in unacked, the
 * backlog in sacked, and little else. */
static void test_info_listener(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c = ts_accept_one(t, l);
	struct tcp_conn_info i;

	(void)state;
	(void)c;
	tcp_get_info(l, &i, t->h->now);
	assert_int_equal(i.state, TCP_STATE_LISTEN);
	assert_int_equal(i.unacked, 0);         /* accepted: the queue is empty */
	assert_int_equal(i.sacked, 4);
	assert_int_equal(i.snd_cwnd, 10);
	assert_int_equal(i.reordering, 3);
	assert_int_equal(i.rto_us, 0);
	assert_int_equal(i.snd_mss, 0);
	assert_true(i.pacing_rate == UINT64_MAX);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* SO_RCVLOWAT: POLLIN from the mark on, or any bytes once the window left
 * to the peer is below a segment; the FIN makes it readable; lowering the
 * mark wakes. */
static void test_rcvlowat_poll(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct ts_wake w = { 0 };
	int v;

	(void)state;
	ts_watch(c, &w);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVLOWAT, 10), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_RCVLOWAT, &v), 0);
	assert_int_equal(v, 10);
	ts_inject(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_false(tcp_poll(c) & SOCK_POLLIN);
	ts_inject(t, "P. 6:11(5) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	assert_true(tcp_poll(c) & SOCK_POLLIN);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVLOWAT, 20), 0);
	assert_false(tcp_poll(c) & SOCK_POLLIN);
	w.count = 0;
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVLOWAT, 0), 0);     /* 0 is 1 */
	assert_true(w.count > 0);
	assert_true(tcp_poll(c) & SOCK_POLLIN);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVLOWAT, 20), 0);
	ts_inject(t, "F. 11:11(0) ack 1 win 502 <nop,nop,TS val 103 ecr 0>");
	assert_true(tcp_poll(c) & SOCK_POLLIN);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* IP_MINTTL (RFC 5082): a listener drops a SYN whose TTL is lower (no
 * SYN-ACK, no reset), takes one at the mark; a connection drops data
 * below it (no ACK), counted. */
static void test_minttl(void **state)
{
	struct tscript *t = ts_new(1000);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	int err;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_MINTTL, 256), -EINVAL);
	assert_int_equal(tcp_setopt(l, TCP_OPT_MINTTL, 65), 0);      /* the script's frames have TTL 64 */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect_none(t);
	assert_int_equal(stack_stats(t->h->s)->drops[DROP_TCP_MINTTL], 1);
	assert_int_equal(tcp_setopt(l, TCP_OPT_MINTTL, 64), 0);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_MINTTL, 100), 0);
	ts_inject(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 0);
	assert_int_equal(stack_stats(t->h->s)->drops[DROP_TCP_MINTTL], 2);
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Options: ranges and values. */
static void test_options(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	int v;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPIDLE, 0), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPCNT, 128), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TOS, 0x10), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_TOS, &v), 0);
	assert_int_equal(v, 0x10);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TTL, 256), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TTL, -1), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_TTL, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TTL, 9), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 1), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_CONGESTION, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(tcp_setopt(c, TCP_OPT_CONGESTION, 7), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_MAXSEG, 1000), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(tcp_getopt(c, TCP_OPT_LINGER, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(tcp_setopt(c, (enum tcp_option)99, 1), -ENOPROTOOPT);
	/* SO_DONTROUTE: no connection beyond the link. */
	{
		struct tcp_conn *d = tcp_open(t->h->s);
		struct ip4_endpoint far = { IP4(198, 51, 100, 1), 9 };

		assert_int_equal(tcp_setopt(d, TCP_OPT_DONTROUTE, 1), 0);
		assert_int_equal(tcp_connect(d, &far, t->h->now), -ENETUNREACH);
		tcp_close(d, t->h->now);
	}
	/* TCP_MAXSEG lowers the MSS we announce */
	{
		struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

		assert_int_equal(tcp_bind(c, &local, 0), 0);
		assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
		ts_expect(t, "S 0:0(0) win 65000 <mss 1000,sackOK,TS val 0 ecr 0,nop,wscale 7>");
		/* IP_TTL: the SYN went with the socket's TTL (the script
		 * keeps the start of the last frame's IP packet), and DF as
		 * IP_MTU_DISCOVER's default (WANT) says. */
		assert_int_equal(t->last_ip[8], 9);
		assert_true(t->last_ip[6] & 0x40);
		/* IP_PMTUDISC_DONT: no DF (Linux's ip_dont_fragment). */
		assert_int_equal(tcp_setopt(c, TCP_OPT_PMTUDISC, 6), -EINVAL);
		assert_int_equal(tcp_setopt(c, TCP_OPT_PMTUDISC, SOCK_PMTUDISC_DONT), 0);
		ts_advance_ms(t, 1000);
		ts_expect(t, "S 0:0(0) win 65000 <mss 1000,sackOK,TS val 1000 ecr 0,nop,wscale 7>");
		assert_false(t->last_ip[6] & 0x40);
	}
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* shutdown(SHUT_RD): reads return end of stream; listeners stop on SHUT_RD. */
static void test_shutdown_read(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t), *l;
	uint8_t b[8];
	int err;

	(void)state;
	assert_int_equal(tcp_shutdown(c, 0, t->h->now), 0);
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, b, 8, 0, t->h->now), 0);
	assert_int_equal(tcp_shutdown(c, 3, t->h->now), -EINVAL);
	ts_abort(t, c);
	t->local_port++;
	l = ts_listen(t, 4);
	assert_int_equal(tcp_shutdown(l, 0, t->h->now), 0);
	assert_int_equal(tcp_get_state(l), TCP_STATE_CLOSED);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EINVAL);
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460>");
	ts_expect(t, "R. 0:0(0) ack 1 win 0");
	tcp_close(l, t->h->now);
	c = tcp_open(t->h->s);
	assert_int_equal(tcp_recv(c, b, 8, 0, t->h->now), -ENOTCONN);
	assert_int_equal(tcp_send(c, b, 8, t->h->now), -ENOTCONN);
	/* Linux's inet_shutdown in CLOSE: ENOTCONN, but the bits stay (the
	 * end of the stream for reads, EPIPE for sends, no segment). */
	assert_int_equal(tcp_shutdown(c, 2, t->h->now), -ENOTCONN);
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, b, 8, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, b, 8, t->h->now), -EPIPE);
	assert_true(tcp_poll(c) & SOCK_POLLRDHUP);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* RFC 1122 §4.2.2.13: a new SYN with a higher sequence number reopens a
 * connection in TIME_WAIT on a listening port. */
static void test_time_wait_reuse(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c = ts_accept_one(t, l), *d;
	int err;

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 510 " TSO);
	ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 510 " TSO);
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	t->isn_known = false;
	t->ts_known = false;
	t->peer_isn += 100000;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 200 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 200,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 201 ecr 0>");
	d = tcp_accept(l, &err);
	assert_non_null(d);
	ts_abort(t, d);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* RFC 6191 §2: with timestamps, a SYN whose TSval is newer reopens a
 * connection in TIME_WAIT even with a lower sequence number; one whose TSval
 * is older does not (the connection stays in TIME_WAIT and just ACKs). */
static void test_time_wait_reuse_by_timestamp(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c = ts_accept_one(t, l), *d;
	uint32_t old_isn = t->peer_isn;
	int err;

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 510 " TSO);
	ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win 510 " TSO);
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	/* Lower sequence number and an older TSval: not a new connection. */
	t->peer_isn = old_isn - 100000;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 50 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	h_drain_tx(t->h);
	/* Lower sequence number, newer TSval: reopened, a fresh handshake. */
	t->isn_known = false;
	t->ts_known = false;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 200 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 200,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 201 ecr 0>");
	d = tcp_accept(l, &err);
	assert_non_null(d);
	ts_abort(t, d);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The exit path waits for orphans with data or a FIN still to deliver. */
static void test_pending_close(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_pending_close(t->h->s), 0);
	assert_int_equal(tcp_send(c, "abc", 3, t->h->now), 3);
	ts_expect(t, "P. 1:4(3) ack 1 win 502 " TSO);
	assert_int_equal(tcp_pending_close(t->h->s), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 4:4(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_pending_close(t->h->s), 1);
	ts_inject(t, ". 1:1(0) ack 5 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_pending_close(t->h->s), 0);
	ts_inject(t, "F. 1:1(0) ack 5 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect(t, ". 5:5(0) ack 2 win 502 " TSO);
	ts_advance_ms(t, 60000);
	ts_free(t);
}

static void inject_icmp_unreach(struct tscript *t, uint8_t code, uint16_t mtu)
{
	uint8_t icmp[8 + 28], frame[200];
	size_t n;

	icmp[0] = 3;
	icmp[1] = code;
	wr16(icmp + 2, 0);
	wr16(icmp + 4, 0);
	wr16(icmp + 6, mtu);
	memcpy(icmp + 8, t->last_ip, 28);
	wr16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, icmp, sizeof(icmp));
	h_inject(t->h, frame, n);
}

/* ICMP port unreachable ends a connection attempt with ECONNREFUSED; on an
 * established connection ICMP errors are soft. */
static void test_icmp_errors(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, TS_LOCAL_PORT }, peer = { H_PEER_IP, TS_PEER_PORT };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	/* A code past 15 (Linux's NR_ICMP_UNREACH): ignored (rawframes
	 * synsent_icmp_unreach_code_20). */
	inject_icmp_unreach(t, 20, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	assert_int_equal(tcp_take_error(c), 0);
	inject_icmp_unreach(t, 3, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ECONNREFUSED);
	tcp_close(c, t->h->now);
	ts_new_peer(t);
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, "abc", 3, t->h->now), 3);
	ts_expect(t, "P. 1:4(3) ack 1 win 502 " TSO);
	inject_icmp_unreach(t, 1, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_take_error(c), 0);
	/* SO_ERROR's soft error (Linux's sk_err_soft), once (rawframes
	 * est_active_icmp_host_unreach). */
	assert_int_equal(tcp_take_soft_error(c), -EHOSTUNREACH);
	assert_int_equal(tcp_take_soft_error(c), 0);
	/* fragmentation needed: the MSS drops and the data is resent at once */
	assert_int_equal(tcp_send(c, (const uint8_t[2000]){ 0 }, 2000, t->h->now), 2000);
	h_drain_tx(t->h);
	ts_inject(t, ". 1:1(0) ack 4 win 502 <nop,nop,TS val 101 ecr 0>");
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* Walks the bound-port chain holding port: every back-pointer must point at
 * the link that leads to its connection. Returns the connections on port. */
static size_t bind_chain_check(struct stack *s, uint16_t port)
{
	struct inpcb **pp = &s->tcp->pcbs.bhash[port % INPCB_PORT_HASH];
	size_t n = 0;

	for (struct inpcb *x = *pp; x; pp = &x->bnext, x = x->bnext) {
		assert_ptr_equal(x->bpprev, pp);
		assert_true(x->in_bind);
		if (x->local.port == port)
			n++;
	}
	return n;
}

/* The script's context back on connection c (accepted from peer port pport). */
static void ts_use(struct tscript *t, struct tcp_conn *c, uint16_t pport)
{
	t->peer_port = pport;
	t->isn = c->iss;
	t->isn_known = true;
}

#define BIND_N 200

/* A busy server's port: every accepted and TIME_WAIT connection stays in the
 * bound-port chain (bind() conflicts need them, like Linux), and leaves it in
 * O(1), from anywhere in the chain, whichever way it ends. */
static void test_bind_chain_many_conns(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 64), *c[BIND_N], *x;
	struct ip4_endpoint ep = { 0, TS_LOCAL_PORT };
	uint16_t pport[BIND_N];
	size_t live = BIND_N;
	char got[512];

	(void)state;
	for (int i = 0; i < BIND_N; i++) {
		ts_new_peer(t);
		pport[i] = t->peer_port;
		c[i] = ts_accept_one(t, l);
		assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), (size_t)i + 2);
	}
	assert_int_equal(tcp_conn_count(t->h->s), BIND_N + 1);
	/* Every fourth one reset by the application (freed at once, from the
	 * middle of the chain); every fourth + 2 closed actively to TIME_WAIT. */
	for (int i = 0; i < BIND_N; i += 4) {
		ts_use(t, c[i], pport[i]);
		ts_abort(t, c[i]);
		live--;
		assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), live + 1);
	}
	for (int i = 2; i < BIND_N; i += 4) {
		ts_use(t, c[i], pport[i]);
		tcp_close(c[i], t->h->now);
		ts_expect(t, "F. 1:1(0) ack 1 win 510 " TSO);
		ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 101 ecr 0>");
		ts_expect(t, ". 2:2(0) ack 2 win 510 " TSO);
		assert_int_equal(tcp_get_state(c[i]), TCP_STATE_TIME_WAIT);
	}
	/* Every fourth + 3 reset by the peer. */
	for (int i = 3; i < BIND_N; i += 4) {
		ts_use(t, c[i], pport[i]);
		ts_inject(t, "R. 1:1(0) ack 1 win 0");
		assert_int_equal(tcp_get_state(c[i]), TCP_STATE_CLOSED);
		tcp_close(c[i], t->h->now);
		live--;
		assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), live + 1);
	}
	assert_int_equal(tcp_conn_count(t->h->s), live + 1);
	tcp_close(l, t->h->now);
	assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), live);
	/* Like Linux: the port stays taken while its connections live. */
	x = tcp_open(t->h->s);
	assert_int_equal(tcp_bind(x, &ep, 0), -EADDRINUSE);
	/* TIME_WAIT ends: the timers free half of what is left. */
	ts_advance_ms(t, 60000);
	live -= BIND_N / 4;
	assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), live);
	assert_int_equal(tcp_conn_count(t->h->s), live + 1);
	for (int i = 1; i < BIND_N; i += 4) {
		ts_use(t, c[i], pport[i]);
		ts_abort(t, c[i]);
		live--;
		assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), live);
	}
	assert_false(ts_next(t, got, sizeof(got)));
	assert_int_equal(tcp_bind(x, &ep, 0), 0);
	assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), 1);
	tcp_close(x, t->h->now);
	assert_int_equal(bind_chain_check(t->h->s, TS_LOCAL_PORT), 0);
	ts_free(t);
}

/* Active open to the script's peer; returns the absolute TS val of the SYN. */
static uint32_t syn_tsval(struct tscript *t, struct tcp_conn *c)
{
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	t->isn_known = false;
	t->ts_known = false;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	return t->last_tsval;
}

/* RFC 7323 §5.4, RFC 6191: the TS clock's offset belongs to the address pair
 * (like Linux's secure_tcp_ts_off), so that a connection reusing the 4-tuple
 * of one the peer holds in TIME_WAIT sends TS values above the old ones. */
static void test_ts_offset_per_address_pair(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s), *l, *a;
	struct stack *s = t->h->s;
	uint32_t ts1, ts2;

	(void)state;
	ts1 = syn_tsval(t, c);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_advance_ms(t, 1500);
	/* The same 4-tuple again: the TS clock went on, 1500 ms later. */
	c = tcp_open(s);
	ts2 = syn_tsval(t, c);
	assert_int_equal(ts2 - ts1, 1500);
	tcp_close(c, t->h->now);
	/* Another local port, the same pair of addresses: the same clock. */
	ts_advance_ms(t, 10);
	t->local_port++;
	c = tcp_open(s);
	assert_int_equal(syn_tsval(t, c) - ts1, 1510);
	tcp_close(c, t->h->now);
	/* A passive open from that peer follows the same clock. */
	ts_advance_ms(t, 10);
	t->local_port = TS_LOCAL_PORT;
	l = ts_listen(t, 4);
	ts_new_peer(t);
	a = ts_accept_one(t, l);
	assert_int_equal(t->ts_base - ts1, 1520);
	assert_int_equal(a->ts_offset, tcp_ts_offset(s, H_STACK_IP, H_PEER_IP));
	ts_abort(t, a);
	tcp_close(l, t->h->now);
	/* Other peers, other offsets (keyed: not guessable across pairs). */
	assert_int_not_equal(tcp_ts_offset(s, H_STACK_IP, H_PEER_IP), tcp_ts_offset(s, H_STACK_IP, H_PEER_IP + 1));
	assert_int_not_equal(tcp_ts_offset(s, H_STACK_IP, H_PEER_IP), tcp_ts_offset(s, H_PEER_IP, H_STACK_IP));
	ts_free(t);
}

/* RFC 9293 §3.10.7.3: in SYN-SENT, an ACK that does not acknowledge our SYN
 * (an old connection's, from a peer still in TIME_WAIT) gets a reset
 * <SEQ=SEG.ACK><CTL=RST>, the connection stays in SYN-SENT; like Linux
 * (tcp_rcv_synsent_state_process, since 5.7: "previous FIN/ACK or RST/ACK
 * might be ignored"), the SYN goes again after TCP_TIMEOUT_MIN when it has
 * not been resent yet, and only then (rawframes synsent_ack_no_syn). */
static void test_syn_sent_bad_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);

	(void)state;
	syn_tsval(t, c);
	ts_inject(t, ". 1:1(0) ack 5000 win 502 <nop,nop,TS val 90 ecr 0>");
	ts_expect(t, "R 5000:5000(0) win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	assert_int_equal(tcp_take_error(c), 0);
	ts_advance_ms(t, 1);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 2 ecr 0,nop,wscale 7>");
	/* Resent once: another such ACK leaves the timer alone. */
	ts_inject(t, ". 1:1(0) ack 5000 win 502 <nop,nop,TS val 91 ecr 0>");
	ts_expect(t, "R 5000:5000(0) win 0");
	ts_advance_ms(t, 100);
	ts_expect_none(t);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 2,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	ts_free(t);
}

#define MD5 "raw 13 12 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"

/* A segment signed with TCP MD5 (RFC 2385) finds no key here: dropped as
 * Linux drops it for a socket without one (tcp_inbound_hash), no reset
 * for a closed port, no SYN-ACK from a listener, its data not taken
 * (rawframes tcp_syn_md5, est_data_md5). */
static void test_md5_signed_dropped(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	uint8_t b[8];

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460," MD5 ",nop,nop>");
	ts_expect_none(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460>");
	ts_expect(t, "R. 0:0(0) ack 1 win 0");
	l = ts_listen(t, 4);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460," MD5 ",nop,nop>");
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	t->local_port++;
	c = ts_connect(t);
	ts_inject(t, "P. 1:4(3) ack 1 win 502 <" MD5 ",nop,nop>");
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -EAGAIN);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_MD5_UNEXPECTED], 3);
	ts_abort(t, c);
	ts_free(t);
}

/* An orphan (closed with data unacknowledged) that never hears back gives
 * up after its retransmissions and is freed by the timer; nothing touches
 * it afterwards (run under ASan: make SAN=asan). */
static void test_orphan_gives_up_on_rto(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	unsigned frames = 0;
	char got[512];

	(void)state;
	assert_int_equal(tcp_send(c, "abc", 3, t->h->now), 3);
	ts_expect(t, "P. 1:4(3) ack 1 win 502 " TSO);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 4:4(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	/* Linux gives up on an orphan after about 100 s (tcp_orphan_retries: 8 backed-off
	 * retransmissions from a 200 ms RTO; tcp_retries2 for a socket still held). */
	for (int i = 0; i < 2000 && tcp_conn_count(t->h->s); i++) {
		ts_advance_ms(t, 1000);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(got[0] == 'F' || got[0] == 'P' || got[0] == '.');
			frames++;
		}
	}
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	assert_true(frames >= 8);
	/* Timers run again with nothing left. */
	ts_advance_ms(t, 200000);
	ts_free(t);
}

/* An embryonic child whose SYN-ACK is never answered: after
 * tcp_synack_retries retransmissions the timer frees it, and the listener
 * (its parent) stays consistent. */
static void test_synack_gives_up(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4);
	unsigned synacks = 0;
	char got[512];

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	for (int i = 0; i < 300 && tcp_conn_count(t->h->s) > 1; i++) {
		ts_advance_ms(t, 1000);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(!strncmp(got, "S.", 2));
			synacks++;
		}
	}
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	assert_int_equal(synacks, 5);       /* Linux tcp_synack_retries */
	assert_int_equal(l->syn_count, 0);
	ts_advance_ms(t, 200000);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_and_wakeups),
		cmocka_unit_test(test_send_buffer_full),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_info_linux_counts),
		cmocka_unit_test(test_info_rehash),
		cmocka_unit_test(test_info_rto_backoff),
		cmocka_unit_test(test_backoff_kept_without_rtt_sample),
		cmocka_unit_test(test_info_child_rto),
		cmocka_unit_test(test_info_listener),
		cmocka_unit_test(test_info_reordering),
		cmocka_unit_test(test_info_chrono),
		cmocka_unit_test(test_info_app_limited),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_rcvlowat_poll),
		cmocka_unit_test(test_minttl),
		cmocka_unit_test(test_shutdown_read),
		cmocka_unit_test(test_time_wait_reuse),
		cmocka_unit_test(test_time_wait_reuse_by_timestamp),
		cmocka_unit_test(test_pending_close),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_bind_chain_many_conns),
		cmocka_unit_test(test_ts_offset_per_address_pair),
		cmocka_unit_test(test_syn_sent_bad_ack),
		cmocka_unit_test(test_md5_signed_dropped),
		cmocka_unit_test(test_orphan_gives_up_on_rto),
		cmocka_unit_test(test_synack_gives_up),
	};
	return cmocka_run_group_tests_name("tcp_misc", tests, NULL, NULL);
}
