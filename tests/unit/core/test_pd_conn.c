/*
 * A connection's life as Linux's packetdrill selftests check it
 * (tools/testing/selftests/net/packetdrill/ in the kernel tree): the
 * minimal client and server, the blocking calls (what wakes accept, read
 * and write), the close sequences (FIN first or second, close in SYN_SENT,
 * a segment after the last ACK, no reset when nothing was left unread),
 * send timestamps and zerocopy completions of the engine, the path MTU an
 * ICMP error teaches, ECN's codepoint and TCP_USER_TIMEOUT. Each test says
 * which selftest it follows; the behaviour checked is Linux's, measured on
 * the wire the same way, with Linux's real defaults where the selftests'
 * defaults.sh differs (wscale 7 from the 6 MiB tcp_rmem[2], not 8).
 */
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

static uint8_t big[1 << 17];

/* An active open whose SYN-ACK is syn_ack; the handshake's ACK must match ack. */
static struct tcp_conn *open_with(struct tscript *t, const char *syn_ack, const char *ack)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, syn_ack);
	ts_expect(t, ack);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* A passive open on l with the peer's SYN syn; the SYN-ACK must match
 * syn_ack; the handshake's ACK is ack. Returns the connection accepted. */
static struct tcp_conn *accept_with(struct tscript *t, struct tcp_conn *l, const char *syn, const char *syn_ack,
				    const char *ack)
{
	struct tcp_conn *c;
	int err;

	ts_inject(t, syn);
	ts_expect(t, syn_ack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* ---- tcp_basic_client.pkt, tcp_basic_server.pkt ---- */

/* Follows tcp_basic_client.pkt: an active open to a peer without
 * timestamps, one write, close first: the FIN after the data, and the
 * peer's FIN answered at once (FIN_WAIT_2), then TIME_WAIT. */
static void test_client_closes_first_acks_peer_fin_at_once(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	c = open_with(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>",
		      ". 1:1(0) ack 1 win 502");
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502");
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 1 win 502");
	ts_inject(t, "F. 1:1(0) ack 1002 win 257");
	ts_expect(t, ". 1002:1002(0) ack 2 win 502");
	ts_expect_none(t);
	ts_advance_ms(t, 60000);
	ts_expect_none(t);
	ts_free(t);
}

/* Follows tcp_basic_server.pkt: a passive open from a peer with MSS 1000
 * and no timestamps; the listener closed after accept; data ACKed at once
 * (quick ACKs at the start); the peer's FIN after data ACKed 40 ms later
 * (the delayed ACK: Linux's tcp_fin turns the connection interactive);
 * our FIN on close, and the last ACK ends the connection. */
static void test_server_peer_closes_first(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	uint8_t buf[2000];

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 8>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>",
			". 1:1(0) ack 1 win 257");
	tcp_close(l, t->h->now);
	ts_inject(t, "P. 1:1001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 1);
	ts_inject(t, "F. 1001:1001(0) ack 1 win 257");
	ts_advance_ms(t, 39);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1:1(0) ack 1002 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1002 win *");
	ts_inject(t, ". 1002:1002(0) ack 2 win 257");
	ts_expect_none(t);
	ts_free(t);
}

/* ---- tcp_blocking_*.pkt ---- */

/* Follows tcp_blocking_blocking-accept.pkt: accept() waits (EAGAIN, no
 * POLLIN) until the handshake's ACK; its arrival wakes the listener, and
 * the connection accepted sends at once (two segments of the peer's MSS). */
static void test_accept_wakes_on_handshake_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct ts_wake w;
	int err = 0;

	(void)state;
	ts_watch(l, &w);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>");
	assert_false(tcp_poll(l) & SOCK_POLLIN);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	assert_true(w.count > 0);
	assert_true(tcp_poll(l) & SOCK_POLLIN);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	ts_expect(t, ". 1:1001(1000) ack 1 win *");
	ts_expect(t, "P. 1001:2001(1000) ack 1 win *");
	ts_expect_none(t);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_blocking_blocking-read.pkt: a read with nothing there waits
 * (EAGAIN), the data's arrival wakes it, and each segment is ACKed at once
 * (quick ACKs); a read takes what it asks for and leaves the rest. */
static void test_read_wakes_on_data(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct ts_wake w;
	uint8_t buf[2000];

	(void)state;
	ts_advance_ms(t, 100);
	c = accept_with(t, l, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>", ". 1:1(0) ack 1 win 257");
	ts_watch(c, &w);
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), -EAGAIN);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1:2001(2000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 2001 win *");
	assert_true(w.count > 0);
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 2000);
	ts_check_bytes(buf, 2000, 1);
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), -EAGAIN);
	w.count = 0;
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 2001:4001(2000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_true(w.count > 0);
	assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 2000);
	ts_check_bytes(buf, 2000, 2001);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 4001:6001(2000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 6001 win *");
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 4001);
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 5001);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_blocking_blocking-write.pkt: SO_SNDBUF is doubled (21000
 * reads 42000); a write larger than the buffer takes what fits (a blocking
 * one waits for the rest), and the writer is woken (POLLOUT) only once an
 * ACK left the buffer's free space at least half of what it still holds
 * (Linux's sk_stream_is_writeable), not by the first ACK. Linux counts
 * the buffer in skb truesize, pstack in payload bytes: the ACK that wakes
 * the writer is another one (36001 there), the logic the same. */
static void test_write_waits_for_half_the_buffer(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	char got[512];
	long n, total;
	int v = 0;

	(void)state;
	ts_advance_ms(t, 100);
	c = accept_with(t, l, "S 0:0(0) win 50000 <mss 1000,nop,wscale 0>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>", ". 1:1(0) ack 1 win 50000");
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 21000), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_SNDBUF, &v), 0);
	assert_int_equal(v, 42000);
	n = tcp_send(c, big, 61000, t->h->now);
	assert_true(n > 0 && n < 61000);
	total = n;
	assert_int_equal(tcp_send(c, big, 61000 - (size_t)total, t->h->now), -EAGAIN);
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	for (int i = 0; i < 10; i++)
		ts_expect(t, ". *:*(1000) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 50000");
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	/* slow start: the ACK of ten segments lets twenty go */
	for (int i = 0; i < 20; i++)
		ts_expect(t, ". *:*(1000) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 30001 win 50000");
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	assert_true(tcp_ring_space(&c->sndq) >= c->sndq.len / 2);
	n = tcp_send(c, big, 61000 - (size_t)total, t->h->now);
	assert_true(n > 0);
	total += n;
	while (ts_next(t, got, sizeof(got)))
		;
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 36001 win 50000");
	h_drain_tx(t->h);
	while (total < 61000) {
		n = tcp_send(c, big, 61000 - (size_t)total, t->h->now);
		assert_true(n > 0);
		total += n;
	}
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- tcp_close_*.pkt ---- */

/* Follows tcp_close_close-local-close-then-remote-fin.pkt: close() after
 * the data was ACKed sends the FIN; its ACK leaves FIN_WAIT_2; the peer's
 * FIN is ACKed at once and the connection waits in TIME_WAIT. */
static void test_local_close_then_remote_fin(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	ts_advance_ms(t, 10);
	c = open_with(t, "S. 0:0(0) ack 1 win 32768 <mss 1000,nop,wscale 6,nop,nop,sackOK>", ". 1:1(0) ack 1 win 502");
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502");
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 1 win 502");
	ts_inject(t, ". 1:1(0) ack 1002 win 257");
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	ts_inject(t, "F. 1:1(0) ack 1002 win 257");
	ts_expect(t, ". 1002:1002(0) ack 2 win 502");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_advance_ms(t, 60000);
	ts_expect_none(t);
	ts_free(t);
}

/* Follows tcp_close_close-on-syn-sent.pkt: close() in SYN_SENT sends
 * nothing (no reset); the SYN-ACK that comes later finds no connection and
 * is answered by a reset whose sequence number is its ACK (RFC 9293
 * §3.10.7.1, Linux's tcp_v4_send_reset). */
static void test_close_in_syn_sent_sends_no_reset(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_advance_ms(t, 100);
	ts_expect_none(t);
	ts_inject(t, "S. 0:0(0) ack 1 win 32000 <mss 1460,nop,wscale 7>");
	ts_expect(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	ts_free(t);
}

/* Follows tcp_close_close-remote-fin-then-close.pkt: the peer's FIN with
 * no data before is ACKed at once; read() says 0; close() sends our FIN
 * (LAST_ACK); its ACK ends the connection, and a segment after that is
 * answered with a reset at its ACK number. */
static void test_remote_fin_then_close_then_reset(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	uint8_t buf[1000];

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>", ". 1:1(0) ack 1 win 257");
	ts_advance_ms(t, 10);
	ts_inject(t, "F. 1:1(0) ack 1 win 257");
	ts_advance_ms(t, 4);        /* the ACK at the next tick (tcp_fin, ato 0) */
	ts_expect(t, ". 1:1(0) ack 2 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 2 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 2:2(0) ack 2 win 257");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 2:2(0) ack 2 win 257");
	ts_expect(t, "R 2:2(0) win 0");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_close_no_rst.pkt: the peer sends its data again with a FIN
 * after we read it. The FIN is ACKed 40 ms later, without a D-SACK (Linux's
 * tcp_fin clears the SACK state), and close() then sends a FIN, not a
 * reset: no data was left unread (RFC 2525 §2.17). */
static void test_close_after_duplicate_data_with_fin_sends_fin(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	uint8_t buf[1000];

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK>", ". 1:1(0) ack 1 win 32792");
	ts_inject(t, ". 1:1001(1000) ack 1 win 32792");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
	ts_inject(t, "F. 1:1001(1000) ack 1 win 32792");
	ts_advance_ms(t, 40);
	ts_expect(t, ". 1:1(0) ack 1002 win *");
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1002 win *");
	ts_inject(t, ". 1002:1002(0) ack 2 win 32792");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- tcp_timestamping_*.pkt ---- */

/* The next entry of c's error queue must be a send timestamp of type
 * tstype (TCP_TS_*'s Linux numbers: SND 0, SCHED 1, ACK 2) for the byte
 * rel after base, taken at time at (us). */
static void expect_tstamp(struct tcp_conn *c, unsigned tstype, uint32_t base, uint32_t rel, uint64_t at)
{
	struct tcp_err_info e;

	assert_int_equal(tcp_recv_err(c, &e), 0);
	assert_int_equal(e.kind, TCP_ERR_TSTAMP);
	assert_int_equal(e.tstype, tstype);
	assert_int_equal(e.key - base, rel);
	assert_int_equal(e.at, at);
}

/* Follows tcp_timestamping_client-only-last-byte.pkt: SO_TIMESTAMPING
 * with OPT_ID set after the handshake; one write of 11000 bytes that the
 * window lets out in two flights. Only the write's last byte is stamped
 * (key 10999): SCHED and SND when it leaves, with the second flight, and
 * ACK when it is acknowledged; nothing for the first flight. */
static void test_tx_timestamps_only_for_last_byte(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct tcp_conn_info ti;
	struct tcp_err_info e;
	char got[512];
	uint64_t sent_at, acked_at;
	uint32_t base;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 20000 <mss 1000,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win 64240");
	assert_int_equal(tcp_take_error(c), 0);
	base = tcp_tskey_base(c, false);
	assert_int_equal(tcp_send(c, big, 11000, t->h->now), 11000);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SCHED | TCP_TS_SND | TCP_TS_ACK, false, 0, t->h->now), 0);
	/* the initial window, ten segments (where PSH falls within them is
	 * the senders' own business) */
	for (int i = 0; i < 10; i++) {
		assert_true(ts_next(t, got, sizeof(got)));
		assert_int_equal(t->last_len, 1000);
	}
	ts_expect_none(t);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_advance_ms(t, 10);
	sent_at = t->h->now;
	ts_inject(t, ". 1:1(0) ack 10001 win 4000");
	ts_expect(t, "P. 10001:11001(1000) ack 1 win 64240");
	ts_advance_ms(t, 10);
	acked_at = t->h->now;
	ts_inject(t, ". 1:1(0) ack 11001 win 4000");
	/* the connection's own RTT samples are the ACKs' */
	tcp_get_info(c, &ti, t->h->now);
	assert_in_range(ti.rtt_us, 5000, 20000);
	expect_tstamp(c, 1, base, 10999, sent_at);
	expect_tstamp(c, 0, base, 10999, sent_at);
	expect_tstamp(c, 2, base, 10999, acked_at);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_abort(t, c);
	ts_free(t);
}

/* Follows tcp_timestamping_partial.pkt: a write that the small send
 * buffer takes only in part is stamped at its last byte taken (n - 1), when
 * that byte leaves (after the window opened) and when it is acknowledged.
 * Linux takes 2964 bytes of 10000 (its truesize accounting of a 4608-byte
 * buffer), pstack what fits in the buffer's payload bytes. */
static void test_tx_timestamps_partial_write(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct tcp_err_info e;
	char got[512];
	uint64_t sent_at = 0, acked_at;
	uint32_t base, nsent = 0;
	long n;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 2000 <mss 1000,sackOK,TS val 700 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 700>");
	assert_int_equal(tcp_setopt(c, TCP_OPT_SNDBUF, 1000), 0);
	base = tcp_tskey_base(c, false);
	n = tcp_send(c, big, 10000, t->h->now);
	assert_true(n > 2000 && n < 10000);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SCHED | TCP_TS_SND | TCP_TS_ACK, false, 0, t->h->now), 0);
	/* the SYN-ACK's window, unscaled: two segments of 988 */
	ts_expect(t, ". 1:989(988) ack 1 win * <nop,nop,TS val * ecr 700>");
	ts_expect(t, "P. 989:1977(988) ack 1 win * <nop,nop,TS val * ecr 700>");
	ts_expect_none(t);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1977 win 92 <nop,nop,TS val 800 ecr 0>");
	while (ts_next(t, got, sizeof(got))) {
		nsent = (uint32_t)t->last_len;
		sent_at = t->h->now;
	}
	assert_true(nsent > 0);
	assert_int_equal(tcp_outq_unsent(c), 0);
	ts_advance_ms(t, 10);
	acked_at = t->h->now;
	snprintf(got, sizeof(got), ". 1:1(0) ack %ld win 92 <nop,nop,TS val 800 ecr 0>", n + 1);
	ts_inject(t, got);
	ts_expect_none(t);
	expect_tstamp(c, 1, base, (uint32_t)n - 1, sent_at);
	expect_tstamp(c, 0, base, (uint32_t)n - 1, sent_at);
	expect_tstamp(c, 2, base, (uint32_t)n - 1, acked_at);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_abort(t, c);
	ts_free(t);
}

/* Follows tcp_timestamping_server.pkt: an accepted connection (TSO on
 * the link), SO_TIMESTAMPING with OPT_ID set after the handshake, two
 * writes of 2000 bytes: each stamped at its last byte (keys 1999 and
 * 3999), SCHED and SND as each leaves at once, ACK as each is
 * acknowledged, 10 and 20 ms later; the connection's RTT is the ACKs'. */
static void test_tx_timestamps_server(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	struct tcp_conn_info ti;
	struct tcp_err_info e;
	uint64_t sent_at, acked1, acked2;
	uint32_t base;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 10>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 514");
	{
		int err;

		c = tcp_accept(l, &err);
	}
	assert_non_null(c);
	base = tcp_tskey_base(c, false);
	sent_at = t->h->now;
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SCHED | TCP_TS_SND | TCP_TS_ACK, false, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SCHED | TCP_TS_SND | TCP_TS_ACK, false, 0, t->h->now), 0);
	ts_expect(t, "P. 1:2001(2000) ack 1 win 502");
	ts_expect(t, "P. 2001:4001(2000) ack 1 win 502");
	ts_advance_ms(t, 10);
	acked1 = t->h->now;
	ts_inject(t, ". 1:1(0) ack 2001 win 514");
	ts_advance_ms(t, 10);
	acked2 = t->h->now;
	ts_inject(t, ". 1:1(0) ack 4001 win 514");
	tcp_get_info(c, &ti, t->h->now);
	assert_in_range(ti.rtt_us, 5000, 20000);
	expect_tstamp(c, 1, base, 1999, sent_at);
	expect_tstamp(c, 0, base, 1999, sent_at);
	expect_tstamp(c, 1, base, 3999, sent_at);
	expect_tstamp(c, 0, base, 3999, sent_at);
	expect_tstamp(c, 2, base, 1999, acked1);
	expect_tstamp(c, 2, base, 3999, acked2);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- tcp_zerocopy_*.pkt, tcp_syscall_bad_arg_sendmsg-empty-iov.pkt ---- */

/* Follows tcp_zerocopy_basic.pkt: each MSG_ZEROCOPY send is completed by
 * its own id once acknowledged (0, then 1). */
static void test_zerocopy_completions_in_order(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct tcp_err_info e;

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>", ". 1:1(0) ack 1 win 257");
	for (uint32_t id = 0; id < 2; id++) {
		assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
		assert_int_equal(tcp_mark_send(c, 0, true, id, t->h->now), 0);
		for (int i = 0; i < 4; i++)
			ts_expect(t, i < 3 ? ". *:*(1000) ack 1 win *" : "P. *:*(1000) ack 1 win *");
		assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
		ts_inject(t, id ? ". 1:1(0) ack 8001 win 257" : ". 1:1(0) ack 4001 win 257");
		assert_int_equal(tcp_recv_err(c, &e), 0);
		assert_int_equal(e.kind, TCP_ERR_ZEROCOPY);
		assert_int_equal(e.lo, id);
		assert_int_equal(e.hi, id);
		assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	}
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_syscall_bad_arg_sendmsg-empty-iov.pkt: empty buffers among
 * a call's buffers are skipped (40 + 20 bytes leave as one segment of 60),
 * a call with only empty ones sends nothing and answers 0. */
static void test_sendmsg_skips_empty_iovs(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct sock_iov v1[4] = { { big, 0 }, { big, 40 }, { big + 40, 0 }, { big + 40, 20 } };
	struct sock_iov v2[4] = { { big, 0 }, { big, 0 }, { big, 0 }, { big, 0 } };
	struct sock_iov v3[4] = { { big, 0 }, { big, 10 }, { big, 0 }, { big + 10, 50 } };

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>", ". 1:1(0) ack 1 win 257");
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_sendv(c, v1, 4, t->h->now), 60);
	ts_expect(t, "P. 1:61(60) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 61 win 257");
	assert_int_equal(tcp_sendv(c, v2, 4, t->h->now), 0);
	ts_expect_none(t);
	assert_int_equal(tcp_sendv(c, v3, 4, t->h->now), 60);
	ts_expect(t, "P. 61:121(60) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 121 win 257");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- tcp_ecn_ecn-uses-ect0.pkt ---- */

/* Follows tcp_ecn_ecn-uses-ect0.pkt: with ECN asked for (tcp_ecn 1) and
 * the SYN-ACK agreeing, data goes out with ECT(0), never ECT(1); the
 * handshake's ACK is not ECN-capable. */
static void test_ecn_data_uses_ect0(void **state)
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
	ts_advance_ms(t, 2);
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 [ect0]");
	ts_abort(t, c);
	ts_free(t);
}

/* ---- tcp_user_timeout_user-timeout-probe.pkt, tcp_advmss_pmtu_ipv4.pkt ---- */

/* Follows tcp_user_timeout_user-timeout-probe.pkt as far as pstack has
 * its case: with TCP_USER_TIMEOUT 3000, data that goes unacknowledged ends
 * the connection with ETIMEDOUT once 3 s passed (no reset sent), while
 * writes before that still succeed. Linux's script drops the segments in
 * a local qdisc, which Linux retries every 500 ms as resource probes
 * (tcpi_probes 6, backoff 0) and times from its first probe (that case,
 * with the link's tx_full, is in test_pd_recv2.c); here the segments are
 * lost on the path and the time counts from the first timeout's resend
 * (Linux's retrans_stamp, measured on 6.18: test_tcp_data.c's
 * test_user_timeout), not from the data's first sending. */
static void test_user_timeout_ends_unacked_connection(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	uint64_t start;

	(void)state;
	ts_inject(t, "S 0:0(0) win 0 <mss 1460>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 65530");
	c = tcp_accept(l, &(int){ 0 });
	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 3000), 0);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	ts_expect(t, "P. 1:25(24) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 25 win 65530");
	/* from here on nothing the stack sends arrives */
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	h_drain_tx(t->h);
	while (t->h->s->stats.tcp_timeouts == 0)
		ts_advance_ms(t, 1);
	start = t->h->now;
	ts_advance_ms(t, 2900);
	h_drain_tx(t->h);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	ts_advance_us(t, start + 3000000 - t->h->now);
	h_drain_tx(t->h);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), -ETIMEDOUT);
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_advmss_pmtu_ipv4.pkt, its first connection: an ICMP
 * "fragmentation needed" with MTU 1200 for a full segment in flight makes
 * the data go again at once in segments of 1160 (1200 less 40), and the
 * MSS the connection uses is 1160 from then on. (The script's second
 * connection, given the path MTU learned for the peer, is in
 * test_pd_recv2.c.) */
static void test_frag_needed_resends_in_smaller_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int v = 0;

	(void)state;
	c = accept_with(t, l, "S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 8>",
			"S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>", ". 1:1(0) ack 1 win 257");
	assert_int_equal(tcp_send(c, big, 1460, t->h->now), 1460);
	ts_expect(t, "P. 1:1461(1460) ack 1 win *");
	ts_inject_frag_needed(t, 1200);
	ts_expect(t, ". 1:1161(1160) ack 1 win *");
	ts_expect(t, "P. 1161:1461(300) ack 1 win *");
	ts_expect_none(t);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1160);
	ts_inject(t, "R 1:1(0) ack 1461 win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* Fragmentation needed about a connection request's SYN-ACK, then about
 * a TIME_WAIT connection's last ACK: neither teaches the peer's path MTU
 * (Linux's tcp_v4_err returns for both before it looks at the MTU), and
 * the request completes. Measured on Linux 6.18 (rawframes
 * synrecv_frag_needed_mtu_zero, tw_frag_needed): the next SYN-ACK to that
 * peer offered MSS 1460 with DF (pstack: 512 without DF). */
static void test_frag_needed_request_time_wait_learn_nothing(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	uint32_t mtu = ip4_pmtu(t->h->s, H_PEER_IP, t->h->now);
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_inject_frag_needed(t, 600);
	assert_int_equal(ip4_pmtu(t->h->s, H_PEER_IP, t->h->now), mtu);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_inject(t, "F. 1:1(0) ack 2 win 65535");
	ts_expect(t, ". 2:2(0) ack 2 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	ts_inject_frag_needed(t, 600);
	assert_int_equal(ip4_pmtu(t->h->s, H_PEER_IP, t->h->now), mtu);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 61000);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_closes_first_acks_peer_fin_at_once),
		cmocka_unit_test(test_server_peer_closes_first),
		cmocka_unit_test(test_accept_wakes_on_handshake_ack),
		cmocka_unit_test(test_read_wakes_on_data),
		cmocka_unit_test(test_write_waits_for_half_the_buffer),
		cmocka_unit_test(test_local_close_then_remote_fin),
		cmocka_unit_test(test_close_in_syn_sent_sends_no_reset),
		cmocka_unit_test(test_remote_fin_then_close_then_reset),
		cmocka_unit_test(test_close_after_duplicate_data_with_fin_sends_fin),
		cmocka_unit_test(test_tx_timestamps_only_for_last_byte),
		cmocka_unit_test(test_tx_timestamps_partial_write),
		cmocka_unit_test(test_tx_timestamps_server),
		cmocka_unit_test(test_zerocopy_completions_in_order),
		cmocka_unit_test(test_sendmsg_skips_empty_iovs),
		cmocka_unit_test(test_ecn_data_uses_ect0),
		cmocka_unit_test(test_user_timeout_ends_unacked_connection),
		cmocka_unit_test(test_frag_needed_resends_in_smaller_segments),
		cmocka_unit_test(test_frag_needed_request_time_wait_learn_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
