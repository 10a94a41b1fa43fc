/* TCP hardening: RFC 5961 challenge ACKs, PAWS (RFC 7323 §5), ISNs
 * (RFC 6528), ephemeral ports (RFC 6056), listen queues and SYN cookies
 * (RFC 4987), and parsing of malformed segments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/eth.h"
#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

/* RFC 5961 §3.2: a RST in the window but not at RCV.NXT draws a challenge ACK. */
static void test_rst_in_window_challenge(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, "R 1000:1000(0) win 0");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	/* out of the window: silently dropped */
	ts_inject(t, "R 5000000:5000000(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	/* exactly at RCV.NXT: reset */
	ts_inject(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ECONNRESET);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* RFC 5961 §4.2: a SYN on a synchronized connection draws a challenge ACK
 * whatever its sequence number; the connection survives. */
static void test_syn_in_established_challenge(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, "S 50:50(0) win 65535 <mss 1460>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_advance_ms(t, 500);      /* one challenge ACK per 500 ms and connection */
	ts_inject(t, "S 1:1(0) win 65535 <mss 1460>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 5961 §5.2: an ACK for data never sent is dropped with an ACK, and its data is not taken. */
static void test_ack_out_of_range(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, "P. 1:11(10) ack 1000 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_inq(c), 0);
	/* too old (before SND.UNA - MAX.SND.WND) */
	ts_advance_ms(t, 500);      /* one challenge ACK per 500 ms and connection */
	ts_inject(t, "P. 1:11(10) ack 4000000000 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_inq(c), 0);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_BAD_ACK], 2);
	ts_abort(t, c);
	ts_free(t);
}

#define CHALLENGE_CONNS 1600

/* One in-window RST (not at RCV.NXT) to each connection; returns how many
 * challenge ACKs went out. */
static int rst_each(struct tscript *t, unsigned nconn)
{
	int n = 0;

	for (unsigned i = 0; i < nconn; i++) {
		t->peer_port = (uint16_t)(TS_PEER_PORT + i);
		ts_inject(t, "R 1000:1000(0) win 0");
	}
	for (struct h_frame *f; (f = h_pop_tx(t->h)); n++)
		free(f);
	return n;
}

/* Defect 4 (issue 12). RFC 5961 §7 throttles challenge ACKs; one budget of
 * exactly 1000 a second for the whole stack was the CVE-2016-5696 side
 * channel (an off-path attacker counts the ACKs it does not see by
 * exhausting the budget). Like Linux since 4.7 (tcp_send_challenge_ack()):
 * first a limit per connection, one per 500 ms (tcp_invalid_ratelimit,
 * shared with the ACKs to out-of-window segments), then a stack-wide budget
 * drawn at random each second in [500, 1499] (tcp_challenge_ack_limit 1000).
 * Linux 6.0's default is no stack-wide budget (INT_MAX, measured on this
 * machine): every connection gets its one challenge ACK per 500 ms. */
static void test_challenge_acks_per_connection_and_random_budget(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 64), *c[CHALLENGE_CONNS];
	int n[3];

	(void)state;
	assert_int_equal(t->h->s->cfg.tcp_challenge_ack_limit, INT32_MAX);
	c[0] = ts_accept_one(t, l);
	/* one connection: one challenge ACK per 500 ms, however many RSTs */
	for (int i = 0; i < 10; i++)
		ts_inject(t, "R 1000:1000(0) win 0");
	ts_expect(t, ". 1:1(0) ack 1 win * " TSO);
	ts_expect_none(t);
	ts_advance_ms(t, 499);
	ts_inject(t, "R 1000:1000(0) win 0");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, "R 1000:1000(0) win 0");
	ts_expect(t, ". 1:1(0) ack 1 win * " TSO);
	for (unsigned i = 1; i < CHALLENGE_CONNS; i++) {
		ts_new_peer(t);
		c[i] = ts_accept_one(t, l);
	}
	/* many connections, by default: no stack-wide budget */
	ts_advance_ms(t, 1000);
	ts_advance_ms(t, 1000 - (t->h->now / 1000) % 1000);
	assert_int_equal(rst_each(t, CHALLENGE_CONNS), CHALLENGE_CONNS);
	/* with tcp_challenge_ack_limit 1000: the stack-wide budget, a
	 * different one each second */
	t->h->s->cfg.tcp_challenge_ack_limit = 1000;
	for (int s = 0; s < 3; s++) {
		ts_advance_ms(t, 1000 - (t->h->now / 1000) % 1000);    /* the start of a second */
		n[s] = rst_each(t, CHALLENGE_CONNS);
		print_message("challenge ACKs in second %d: %d\n", s, n[s]);
		assert_true(n[s] >= 500 && n[s] <= 1499);
	}
	assert_false(n[0] == n[1] && n[1] == n[2]);
	for (unsigned i = 0; i < CHALLENGE_CONNS; i++) {
		tcp_setopt(c[i], TCP_OPT_LINGER, 0);
		tcp_close(c[i], t->h->now);
	}
	tcp_close(l, t->h->now);
	h_drain_tx(t->h);
	ts_free(t);
}

/* The memory of struct h_frame pops: free them. */
static void drain(struct tscript *t)
{
	h_drain_tx(t->h);
}

/* RFC 7323 §5: a segment with an older timestamp is dropped with an ACK (PAWS). */
static void test_paws(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_past_quickack(c);	/* a test written against delayed ACKs */
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 200 ecr 0>");
	assert_int_equal(tcp_inq(c), 10);
	ts_inject(t, "P. 11:21(10) ack 1 win 502 <nop,nop,TS val 150 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 11 win * <nop,nop,TS val 0 ecr 200>");
	assert_int_equal(tcp_inq(c), 10);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_PAWS], 1);
	ts_abort(t, c);
	ts_free(t);
}

/* RFC 6528: ISNs differ per 4-tuple and advance with time. */
static void test_isn_varies(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *a, *b;
	uint32_t isn1, isn2;
	int err;

	(void)state;
	a = ts_accept_one(t, l);
	isn1 = t->isn;
	ts_abort(t, a);
	ts_new_peer(t);
	ts_advance_ms(t, 10);
	b = ts_accept_one(t, l);
	isn2 = t->isn;
	assert_int_not_equal(isn1, isn2);
	ts_abort(t, b);
	(void)err;
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* RFC 6056 §3.3.3 (Algorithm 3): ephemeral ports are in 32768..60999,
 * distinct; the starting point depends on the destination through a keyed
 * hash, so ports towards two destinations are unrelated. */
static void test_ephemeral_ports(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c[8], *d;
	struct ip4_endpoint peer = { H_PEER_IP, 80 }, other = { H_PEER_IP, 443 }, ep, ep2;

	(void)state;
	for (int i = 0; i < 8; i++) {
		c[i] = tcp_open(t->h->s);
		assert_int_equal(tcp_connect(c[i], &peer, t->h->now), -EINPROGRESS);
		tcp_local(c[i], &ep);
		assert_true(ep.port >= 32768 && ep.port <= 60999);
		assert_int_equal(ep.addr, H_STACK_IP);
		for (int j = 0; j < i; j++) {
			struct ip4_endpoint prev;

			tcp_local(c[j], &prev);
			assert_int_not_equal(prev.port, ep.port);
		}
	}
	d = tcp_open(t->h->s);
	assert_int_equal(tcp_connect(d, &other, t->h->now), -EINPROGRESS);
	tcp_local(d, &ep2);
	tcp_local(c[7], &ep);
	assert_true(ep2.port >= 32768 && ep2.port <= 60999);
	assert_true(ep2.port > ep.port + 8 || ep2.port + 8 < ep.port);
	tcp_close(d, t->h->now);
	for (int i = 0; i < 8; i++)
		tcp_close(c[i], t->h->now);
	drain(t);
	/* bind to port 0 also picks one in range */
	c[0] = tcp_open(t->h->s);
	ep.addr = 0;
	ep.port = 0;
	assert_int_equal(tcp_bind(c[0], &ep, 0), 0);
	tcp_local(c[0], &ep);
	assert_true(ep.port >= 32768 && ep.port <= 60999);
	assert_int_equal(tcp_bind(c[0], &ep, 0), -EINVAL);
	tcp_close(c[0], t->h->now);
	ts_free(t);
}

/* bind() conflicts and SO_REUSEADDR. */
static void test_bind_conflicts(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *a = tcp_open(t->h->s), *b = tcp_open(t->h->s);
	struct ip4_endpoint ep = { 0, 5000 }, other = { 0x0a000001, 5001 };

	(void)state;
	assert_int_equal(tcp_bind(a, &ep, 0), 0);
	assert_int_equal(tcp_bind(b, &ep, 0), -EADDRINUSE);
	assert_int_equal(tcp_bind(b, &other, 0), -EADDRNOTAVAIL);
	assert_int_equal(tcp_listen(a, 4), 0);
	assert_int_equal(tcp_bind(b, &ep, TCP_BIND_REUSEADDR), -EADDRINUSE);
	tcp_close(a, t->h->now);
	assert_int_equal(tcp_bind(b, &ep, 0), 0);
	tcp_close(b, t->h->now);
	ts_free(t);
}

/* The SYN queue is bounded by the backlog; beyond it SYN cookies answer
 * (RFC 4987 §3.6) and the cookie's ACK completes a connection. */
static void test_syn_cookies(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	char line[512];
	int err;

	(void)state;
	/* two embryonic connections fill the SYN queue of backlog 1 (Linux
	 * 6.14's inet_csk_reqsk_queue_is_full: more requests than the
	 * backlog; measured on 6.18) */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	/* the next SYN gets a cookie, its options in the TSval (Linux's
	 * cookie_init_timestamp); the ACK below has no timestamps, so the
	 * connection has no options but the MSS (cookie_timestamp_decode) */
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	assert_true(ts_next(t, line, sizeof(line)));
	assert_string_equal(line, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 3);          /* no state kept for it */
	ts_inject(t, ". 1:1(0) ack 1 win 502");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_send(c, "hi", 2, t->h->now), 2);
	ts_expect(t, "P. 1:3(2) ack 1 win 64240");
	/* a forged ACK with a wrong cookie is answered with a reset */
	t->peer_port++;
	ts_inject(t, ". 1:1(0) ack 12345 win 502");
	assert_true(ts_next(t, line, sizeof(line)));
	assert_int_equal(line[0], 'R');
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_BAD_COOKIE], 1);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	drain(t);
	ts_free(t);
}

/* A full accept queue drops new SYNs (like Linux). */
static void test_accept_queue_overflow(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 0), *a, *b;
	int err;

	(void)state;
	/* backlog 0 still admits one connection (Linux's acceptq_is_full uses >) */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect_none(t);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_LISTEN_OVERFLOW], 1);
	a = tcp_accept(l, &err);
	assert_non_null(a);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	b = tcp_accept(l, &err);
	assert_non_null(b);
	ts_abort(t, b);
	t->peer_port--;
	ts_abort(t, a);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Closing a listener resets connections still in its accept queue and
 * forgets embryonic ones. */
static void test_listener_close_resets_queue(void **state)
{
	char line[512];
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	drain(t);
	assert_int_equal(tcp_conn_count(t->h->s), 3);
	tcp_close(l, t->h->now);
	t->peer_port--;
	t->isn_known = false;
	assert_true(ts_next(t, line, sizeof(line)));
	assert_int_equal(line[0], 'R');
	ts_free(t);
}

/* The SYN-ACK is retransmitted with backoff, then the embryo is dropped. */
static void test_synack_retransmit(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_advance_ms(t, 999);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 1000 ecr 100,nop,wscale 7>");
	ts_advance_ms(t, 2000);
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 3000 ecr 100,nop,wscale 7>");
	/* a retransmitted SYN is answered again */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 3000 ecr 100,nop,wscale 7>");
	ts_advance_ms(t, 200000);
	h_drain_tx(t->h);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* SYN_SENT as Linux 6.18's: the first tcp_syn_linear_timeouts (4) SYN
 * timeouts keep the RTO of 1 s, the later ones double it; tcp_syn_retries
 * (6) and those 4 resends, then ETIMEDOUT one RTO after the last (at 131 s:
 * measured so on Linux). TCP_INFO's backoff counts only the doubled ones,
 * and its rto is the doubled RTO (Linux's icsk_rto). */
static void test_connect_timeout(void **state)
{
	static const unsigned at_s[] = { 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 };
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, TS_PEER_PORT }, local = { 0, TS_LOCAL_PORT };
	struct tcp_conn_info i;
	uint64_t start = t->h->now;
	char line[512];
	unsigned n = 0;

	(void)state;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	for (int ms = 0; ms < 140000 && tcp_get_state(c) == TCP_STATE_SYN_SENT; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, line, sizeof(line))) {
			assert_true(line[0] == 'S');
			assert_true(n < sizeof(at_s) / sizeof(at_s[0]));
			assert_int_equal((t->h->now - start) / 1000000, at_s[n]);
			n++;
			tcp_get_info(c, &i, t->h->now);
			assert_int_equal(i.retransmits, n);
			assert_int_equal(i.backoff, n > 4 ? n - 4 : 0);
			assert_int_equal(i.rto_us, 1000000u << i.backoff);
		}
	}
	assert_int_equal(n, 10);
	assert_int_equal((t->h->now - start) / 1000000, 131);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* TCP_SYNCNT 1 and 3, and no linear timeouts (net.ipv4.tcp_syn_linear_timeouts
 * 0): the SYNs resent and when connect() fails (Linux 6.18: 2 resent and
 * ETIMEDOUT at 3 s, 7 and 19 s; without linear timeouts Linux 6.4's 1, 3 s). */
static void syn_run(unsigned syncnt, unsigned linear, unsigned resent, unsigned fail_s)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, TS_PEER_PORT }, local = { 0, TS_LOCAL_PORT };
	uint64_t start = t->h->now;
	char line[512];
	unsigned n = 0;

	t->h->s->cfg.tcp_syn_linear_timeouts = (uint8_t)linear;
	assert_int_equal(tcp_setopt(c, TCP_OPT_SYNCNT, (int)syncnt), 0);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	for (int ms = 0; ms < 140000 && tcp_get_state(c) == TCP_STATE_SYN_SENT; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, line, sizeof(line)))
			n++;
	}
	assert_int_equal(n, resent);
	assert_int_equal((t->h->now - start) / 1000000, fail_s);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

static void test_connect_timeout_syncnt(void **state)
{
	(void)state;
	syn_run(1, 4, 2, 3);
	syn_run(3, 4, 7, 19);
	syn_run(3, 0, 3, 15);
	syn_run(6, 0, 6, 127);
}

/* A segment with a bad data offset, a bad checksum or truncated: dropped by reason. */
static void test_malformed_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);
	uint8_t seg[60], frame[200];
	size_t n;

	(void)state;
	memset(seg, 0, sizeof(seg));
	wr16(seg, TS_PEER_PORT);
	wr16(seg + 2, TS_LOCAL_PORT);
	seg[13] = TCP_SYN;
	/* doff 4 (16 bytes) */
	seg[12] = 4 << 4;
	wr16(seg + 16, csum_fold(csum_partial(seg, 20, csum_pseudo4(H_PEER_IP, H_STACK_IP, 6, 20))));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 6, 1, 0, seg, 20);
	h_inject(t->h, frame, n);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_BAD_OFFSET], 1);
	/* doff 15 (60 bytes) in a 20-byte segment */
	seg[12] = 15 << 4;
	wr16(seg + 16, 0);
	wr16(seg + 16, csum_fold(csum_partial(seg, 20, csum_pseudo4(H_PEER_IP, H_STACK_IP, 6, 20))));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 6, 1, 0, seg, 20);
	h_inject(t->h, frame, n);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_BAD_OFFSET], 2);
	/* truncated header */
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 6, 1, 0, seg, 12);
	h_inject(t->h, frame, n);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_TRUNCATED], 1);
	/* bad checksum */
	seg[12] = 5 << 4;
	wr16(seg + 16, 0x1234);
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 6, 1, 0, seg, 20);
	h_inject(t->h, frame, n);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_BAD_CSUM], 1);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Options: length 0 or 1, truncated, unknown kinds: parsing stops safely
 * (like Linux) and what came before still counts. */
static void test_malformed_options(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	/* MSS, then an option of length 0: MSS 1000 is used, nothing else */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1000,raw 04 00>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_new_peer(t);
	/* unknown option kind 99 of length 4, then wscale */
	ts_inject(t, "S 0:0(0) win 65535 <raw 63 04 aa bb,nop,wscale 2>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>");
	ts_new_peer(t);
	/* length 1 and a length that runs past the header */
	ts_inject(t, "S 0:0(0) win 65535 <raw 02 01 05 b4>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <nop,raw 08 0a 00 00>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	/* a bad MSS length is ignored */
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <raw 02 03 05,nop,nop,nop,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An embryonic connection (a request socket in Linux) meets an ACK of
 * anything but its SYN-ACK before the sequence number is looked at
 * (tcp_check_req): a SYN-ACK, or an ACK out of the window, acknowledging
 * 1000 draws a reset from 1000 (rawframes synrecv_synack_bad_ack); a reset
 * with such an ACK draws nothing; the connection stays and completes. */
static void test_synrecv_bad_ack_before_seq(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_inject(t, "S. 0:0(0) ack 1000 win 65535 <mss 1460>");
	ts_expect(t, "R 1000:1000(0) win 0");
	ts_inject(t, ". 500000:500000(0) ack 1000 win 65535");
	ts_expect(t, "R 1000:1000(0) win 0");
	ts_inject(t, "R. 1:1(0) ack 1000 win 0");
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1 win 65535");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Like Linux (tcp_invalid_ratelimit): ACKs to out-of-window segments without
 * data are sent at most every 500 ms, so two confused ends cannot loop. */
static void test_out_of_window_ack_rate_limit(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	ts_inject(t, ". 5000000:5000000(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 5000000:5000000(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	/* data out of the window is always answered */
	ts_inject(t, ". 5000000:5000010(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_advance_ms(t, 500);
	ts_inject(t, ". 5000000:5000000(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_in_window_challenge),
		cmocka_unit_test(test_syn_in_established_challenge),
		cmocka_unit_test(test_ack_out_of_range),
		cmocka_unit_test(test_challenge_acks_per_connection_and_random_budget),
		cmocka_unit_test(test_paws),
		cmocka_unit_test(test_out_of_window_ack_rate_limit),
		cmocka_unit_test(test_isn_varies),
		cmocka_unit_test(test_ephemeral_ports),
		cmocka_unit_test(test_bind_conflicts),
		cmocka_unit_test(test_syn_cookies),
		cmocka_unit_test(test_accept_queue_overflow),
		cmocka_unit_test(test_listener_close_resets_queue),
		cmocka_unit_test(test_synack_retransmit),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_connect_timeout_syncnt),
		cmocka_unit_test(test_malformed_segments),
		cmocka_unit_test(test_malformed_options),
		cmocka_unit_test(test_synrecv_bad_ack_before_seq),
	};
	return cmocka_run_group_tests_name("tcp_security", tests, NULL, NULL);
}
