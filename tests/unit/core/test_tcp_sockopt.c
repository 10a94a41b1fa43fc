/* The socket options and send flags of issue 12 on the wire, as Linux shows
 * them (the socket-call answers are compared with the kernel's by
 * tests/diff): TCP_CORK and MSG_MORE, TCP_MAXSEG, TCP_WINDOW_CLAMP,
 * TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_NOTSENT_LOWAT, TCP_INQ's
 * hint, TCP_QUICKACK (Linux's interactive mode), and the error queue (SO_TIMESTAMPING's send timestamps, MSG_ZEROCOPY
 * completions). */
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
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"
#define ACK1 "<nop,nop,TS val 101 ecr 0>"

static uint8_t data[200000];

static void fill_data(void)
{
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = ts_byte((uint32_t)i + 1);
}

/* An active open whose SYN carries what the options made of it. */
static struct tcp_conn *connect_with(struct tscript *t, enum tcp_option opt, int v, const char *syn)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_int_equal(tcp_setopt(c, opt, v), 0);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, syn);
	return c;
}

/* TCP_QUICKACK as getsockopt answers it: 0 while interactive. */
static int quickack(struct tcp_conn *c)
{
	int v = -1;

	assert_int_equal(tcp_getopt(c, TCP_OPT_QUICKACK, &v), 0);
	return v;
}

/* TCP_CORK: writes of 100 bytes make one full segment; the rest waits for the uncork. */
static void test_cork_full_segments_only(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	fill_data();
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	for (int i = 0; i < 15; i++)
		assert_int_equal(tcp_send(c, data + 100 * i, 100, t->h->now), 100);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1449 win 502 " ACK1);
	ts_expect_none(t);             /* the ACK does not push a corked tail */
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 0), 0);
	ts_expect(t, "P. 1449:1501(52) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 1501 win 502 " ACK1);
	ts_abort(t, c);
	ts_free(t);
}

/* A corked tail goes after the RTO (200 ms at least), by the probe timer
 * (Linux's tcp_check_probe_timer); a FIN never waits. */
static void test_cork_probe_timer_and_fin(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	fill_data();
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	ts_advance_ms(t, 190);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 11 win 502 " ACK1);
	assert_int_equal(tcp_send(c, data + 10, 10, t->h->now), 10);
	ts_expect_none(t);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "FP. 11:21(10) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_NODELAY set while corked pushes what waits, once: the cork still
 * holds what is written after (measured on Linux 6.18 over a veth pair:
 * the corked 100 bytes left when the option was set, the next 100 after the
 * 200 ms probe timer; Linux's selftest tcp_nagle_sockopt_cork_nodelay). */
static void test_nodelay_pushes_corked_once(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	fill_data();
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	assert_int_equal(tcp_send(c, data, 100, t->h->now), 100);
	ts_advance_ms(t, 100);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 101 win 502 " ACK1);
	assert_int_equal(tcp_send(c, data + 100, 100, t->h->now), 100);
	ts_advance_ms(t, 190);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_expect(t, "P. 101:201(100) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 201 win 502 " ACK1);
	ts_abort(t, c);
	ts_free(t);
}

/* MSG_MORE holds the partial tail of that write only: the next write
 * without it sends, and so does the ACK that empties the flight. */
static void test_msg_more(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	fill_data();
	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	ts_expect_none(t);
	tcp_set_more(c, false);
	assert_int_equal(tcp_send(c, data + 10, 5, t->h->now), 5);
	ts_expect(t, "P. 1:16(15) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 16 win 502 " ACK1);
	tcp_set_more(c, true);
	assert_int_equal(tcp_send(c, data + 15, 1500, t->h->now), 1500);
	ts_expect(t, ". 16:1464(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1464 win 502 " ACK1);
	/* no PSH: the write had MSG_MORE (tcp_push; the selftest
	 * tcp_nagle_sendmsg_msg_more: "note that PUSH is reset") */
	ts_expect(t, ". 1464:1516(52) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 1516 win 502 " ACK1);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_MAXSEG: the MSS announced on the SYN and the SYN-ACK; the MSS in use
 * is the smaller of the peer's and ours, less the timestamps. */
static void test_maxseg_clamps_syn_and_send(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c, *l;
	int v;

	(void)state;
	fill_data();
	c = connect_with(t, TCP_OPT_MAXSEG, 1000, "S 0:0(0) win 65000 <mss 1000,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	/* connecting, like Linux's tcp_connect_init: the clamp less the timestamps */
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 988);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 508 " TSO);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 988);
	assert_int_equal(tcp_send(c, data, 1976, t->h->now), 1976);
	ts_expect(t, ". 1:989(988) ack 1 win 508 " TSO);
	ts_expect(t, "P. 989:1977(988) ack 1 win 508 " TSO);
	ts_abort(t, c);

	ts_new_peer(t);
	l = tcp_open(t->h->s);
	assert_int_equal(tcp_setopt(l, TCP_OPT_MAXSEG, 1200), 0);
	{
		struct ip4_endpoint ep = { 0, t->local_port };

		assert_int_equal(tcp_bind(l, &ep, 0), 0);
		assert_int_equal(tcp_listen(l, 4), 0);
	}
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65340 <mss 1200,sackOK,TS val * ecr 100,nop,wscale 7>");
	tcp_close(l, t->h->now);       /* the embryonic child just goes */
	ts_free(t);
}

/* TCP_WINDOW_CLAMP: the SYN's window scale from the clamp (Linux's
 * tcp_select_initial_window: 0 below 64 KiB), no window beyond it. */
static void test_window_clamp(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int v;

	(void)state;
	c = connect_with(t, TCP_OPT_WINDOW_CLAMP, 10000,
			 "S 0:0(0) win 8760 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 0>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 8760 " TSO);
	assert_int_equal(tcp_getopt(c, TCP_OPT_WINDOW_CLAMP, &v), 0);
	assert_int_equal(v, 10000);
	/* no clamp is for an unconnected socket only (Linux's EINVAL) */
	assert_int_equal(tcp_setopt(c, TCP_OPT_WINDOW_CLAMP, 0), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_WINDOW_CLAMP, 100), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_WINDOW_CLAMP, &v), 0);
	assert_int_equal(v, 1152);         /* at least SOCK_MIN_RCVBUF / 2 */
	ts_abort(t, c);

	/* a clamp of 1 MiB leaves a scale of 5 (log2 less 15) */
	ts_new_peer(t);
	c = connect_with(t, TCP_OPT_WINDOW_CLAMP, 1 << 20,
			 "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 5>");
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* TCP_SYNCNT 2: ETIMEDOUT once two backed-off SYN retransmissions would
 * have taken their time (1 + 2 + 4 s, Linux's retransmits_timed_out), with
 * the first SYN timeouts linear (tcp_syn_linear_timeouts): five resent,
 * at 1, 2, 3, 4 and 5 s (Linux 6.18: ETIMEDOUT at 7 s, tcpi_retransmits 5). */
static void test_syncnt(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	unsigned syns = 0;
	char got[256];
	int v;

	(void)state;
	c = connect_with(t, TCP_OPT_SYNCNT, 2, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_getopt(c, TCP_OPT_SYNCNT, &v), 0);
	assert_int_equal(v, 2);
	for (int ms = 0; ms < 6990; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(got[0] == 'S');
			syns++;
		}
	}
	assert_int_equal(syns, 5);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	ts_advance_ms(t, 20);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	assert_int_equal(tcp_setopt(c, TCP_OPT_SYNCNT, 0), -EINVAL);
	assert_int_equal(tcp_setopt(c, TCP_OPT_SYNCNT, 128), -EINVAL);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* The namespace's net.ipv4.tcp_syn_retries (the stack's configuration)
 * where the socket sets no TCP_SYNCNT: 2 gives ETIMEDOUT after 7 s (5 SYNs resent),
 * and TCP_SYNCNT reads it (Linux's icsk_syn_retries ?: the sysctl). */
static void test_sysctl_syn_retries(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	unsigned syns = 0;
	char got[256];
	int v;

	(void)state;
	t->h->s->cfg.tcp_syn_retries = 2;
	c = connect_with(t, TCP_OPT_NODELAY, 1, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_getopt(c, TCP_OPT_SYNCNT, &v), 0);
	assert_int_equal(v, 2);
	for (int ms = 0; ms < 6990; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(got[0] == 'S');
			syns++;
		}
	}
	assert_int_equal(syns, 5);
	ts_advance_ms(t, 20);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* ... net.ipv4.tcp_synack_retries for a listener without TCP_SYNCNT. */
static void test_sysctl_synack_retries(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l;
	unsigned synacks = 0;
	char got[256];

	(void)state;
	t->h->s->cfg.tcp_synack_retries = 1;
	l = ts_listen(t, 4);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	for (int i = 0; i < 10 && tcp_conn_count(t->h->s) > 1; i++) {
		ts_advance_ms(t, 1000);
		while (ts_next(t, got, sizeof(got)))
			synacks++;
	}
	assert_int_equal(synacks, 1);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ... net.ipv4.tcp_fin_timeout for an orphan in FIN_WAIT_2 without
 * TCP_LINGER2, which reads it. */
static void test_sysctl_fin_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int v;

	(void)state;
	t->h->s->cfg.tcp_fin_timeout_s = 5;
	c = ts_connect(t);
	assert_int_equal(tcp_getopt(c, TCP_OPT_LINGER2, &v), 0);
	assert_int_equal(v, 5);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	ts_advance_ms(t, 4990);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 20);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/* ... net.ipv4.tcp_keepalive_time, _intvl and _probes for a connection
 * with SO_KEEPALIVE and none of TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
 * (which read them); one the socket sets wins. */
static void test_sysctl_keepalive(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int v;

	(void)state;
	t->h->s->cfg.tcp_keepalive_time_s = 10;
	t->h->s->cfg.tcp_keepalive_intvl_s = 2;
	t->h->s->cfg.tcp_keepalive_probes = 2;
	c = ts_connect(t);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPIDLE, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPINTVL, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(tcp_getopt(c, TCP_OPT_KEEPCNT, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPCNT, 3), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_KEEPALIVE, 1), 0);
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
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A listener's TCP_SYNCNT bounds its children's SYN-ACK retransmissions. */
static void test_syncnt_synack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4);
	unsigned synacks = 0;
	char got[256];

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_SYNCNT, 1), 0);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	for (int i = 0; i < 10 && tcp_conn_count(t->h->s) > 1; i++) {
		ts_advance_ms(t, 1000);
		while (ts_next(t, got, sizeof(got)))
			synacks++;
	}
	assert_int_equal(synacks, 1);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An orphan in FIN_WAIT_2 whose peer never closes. */
static struct tcp_conn *orphan_in_fin_wait_2(struct tscript *t, int linger2)
{
	struct tcp_conn *c = ts_connect(t);

	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER2, linger2), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	return c;
}

/* TCP_LINGER2: how long an orphan waits in FIN_WAIT_2 (at least 3.5 RTO);
 * -1: it is done once its FIN is acknowledged. */
static void test_linger2(void **state)
{
	struct tscript *t = ts_new(100);

	(void)state;
	orphan_in_fin_wait_2(t, 5);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 4990);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_advance_ms(t, 20);
	assert_int_equal(tcp_conn_count(t->h->s), 0);

	ts_new_peer(t);
	orphan_in_fin_wait_2(t, -1);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_expect_none(t);
	ts_free(t);
}

/* TCP_LINGER2 -1 and a close in FIN_WAIT_2: a reset (Linux's tcp_close). */
static void test_linger2_close_in_fin_wait_2(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER2, -1), 0);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 2:2(0) ack 1 win 502 " TSO);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/*
 * SO_LINGER with a time (Linux's tcp_close): the close's first half sends the
 * FIN and keeps the connection the application's while its close() waits;
 * the FIN's ACK ends the wait (tcp_closing); tcp_close then orphans it as
 * usual. The option off, or with no time: no wait (tcp_close does the rest).
 */
static void test_linger_close_waits_for_fin_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_false(tcp_close_linger(c, t->h->now));      /* the option off */
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 0), 0);
	assert_false(tcp_close_linger(c, t->h->now));      /* no time: tcp_close resets */
	ts_expect_none(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 2), 0);
	assert_true(tcp_close_linger(c, t->h->now));
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	assert_true(tcp_closing(c));
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_1);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	assert_false(tcp_closing(c));
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);      /* the orphan waits for the peer's FIN */
	ts_inject(t, "F. 1:1(0) ack 2 win 502 " ACK1);
	ts_expect(t, ". 2:2(0) ack 2 win 502 " TSO);
	assert_int_equal(tcp_conn_count(t->h->s), 1);      /* TIME_WAIT */
	ts_advance_ms(t, 60000);                           /* its 2 MSL */
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/* Data from the peer while that close() waits: a reset, as for a closed
 * socket (Linux: RCV_SHUTDOWN in FIN_WAIT_1), which ends the wait. */
static void test_linger_close_data_resets(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 2), 0);
	assert_true(tcp_close_linger(c, t->h->now));
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 " ACK1);
	ts_expect(t, "R 1:1(0) win 0");         /* Linux answers the segment: <SEQ=SEG.ACK> */
	assert_false(tcp_closing(c));
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/* The same without SO_LINGER: data after shutdown(SHUT_RDWR) sent our FIN
 * resets the connection (Linux: RCV_SHUTDOWN in FIN_WAIT_1/2), and the
 * socket, still the application's, reads ECONNRESET once, then end of file. */
static void test_shutdown_rdwr_data_resets(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];

	(void)state;
	assert_int_equal(tcp_shutdown(c, 2, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 2 win 502 " ACK1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	ts_inject(t, "P. 1:11(10) ack 2 win 502 " ACK1);
	ts_expect(t, "R 2:2(0) win 0");         /* Linux answers the segment: <SEQ=SEG.ACK> */
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_poll(c) & SOCK_POLLERR);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -ECONNRESET);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

/* SIOCOUTQNSD's count (tcp_outq_unsent): queued and never sent; sent and
 * unacknowledged is not in it. And what a connection that ended still
 * answers (tcp_peer_kept, tcp_ended: Linux's tcp_done keeps inet_dport). */
static void test_outq_unsent_and_ended(void **state)
{
	static const uint8_t bytes[1548];
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct ip4_endpoint ep = { 0, 0 };

	(void)state;
	assert_int_equal(tcp_outq_unsent(c), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	assert_int_equal(tcp_send(c, bytes, sizeof(bytes), t->h->now), (long)sizeof(bytes));
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 " TSO);
	ts_expect_none(t);                  /* the last 100 wait for the uncork */
	assert_int_equal(tcp_outq(c), 1548);
	assert_int_equal(tcp_outq_unsent(c), 100);
	assert_int_equal(tcp_setopt_at(c, TCP_OPT_CORK, 0, t->h->now), 0);
	ts_expect(t, "P. 1449:1549(100) ack 1 win 502 " TSO);
	assert_int_equal(tcp_outq(c), 1548);
	assert_int_equal(tcp_outq_unsent(c), 0);
	assert_false(tcp_ended(c));
	ts_inject(t, "R. 1:1(0) ack 1549 win 502");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_ended(c));
	assert_int_equal(tcp_peer(c, &ep), -ENOTCONN);
	assert_int_equal(tcp_peer_kept(c, &ep), 0);
	assert_int_not_equal(ep.port, 0);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* TCP_DEFER_ACCEPT: the handshake's bare ACK does not make the connection
 * acceptable; its first data does. */
static void test_defer_accept_data(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c;
	uint8_t b[16];
	int err, v;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_DEFER_ACCEPT, 5), 0);
	assert_int_equal(tcp_getopt(l, TCP_OPT_DEFER_ACCEPT, &v), 0);
	assert_int_equal(v, 7);            /* 3 retransmissions: 1 + 2 + 4 s */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	assert_int_equal(tcp_poll(l), 0);
	ts_advance_ms(t, 2000);
	ts_expect_none(t);                 /* no SYN-ACK while waiting for data */
	ts_inject(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_poll(l), SOCK_POLLIN);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 5);
	ts_check_bytes(b, 5, 1);
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Without data, the SYN-ACK goes again at the last period (Linux's
 * syn_ack_recalc) and the peer's ACK to it completes the connection; a
 * peer that does not answer is dropped after it. */
static void test_defer_accept_timeout(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 4), *c;
	int err;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_DEFER_ACCEPT, 2), 0);     /* 2 retransmissions */
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 0 ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	ts_advance_ms(t, 2000);
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 103 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_abort(t, c);

	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 200 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 200,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 200 ecr 0>");
	ts_advance_ms(t, 3000);
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 200,nop,wscale 7>");
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	ts_advance_ms(t, 4000);
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	assert_null(tcp_accept(l, &err));
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* TCP_DEFER_ACCEPT on a connecting socket: the handshake's ACK waits up to
 * 200 ms for data to ride on (Linux's tcp_rcv_synsent_state_process). */
static void test_defer_accept_active_open(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	fill_data();
	c = connect_with(t, TCP_OPT_DEFER_ACCEPT, 1, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_expect_none(t);
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	ts_abort(t, c);

	ts_new_peer(t);
	c = connect_with(t, TCP_OPT_DEFER_ACCEPT, 1, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 190);
	ts_expect_none(t);
	ts_advance_ms(t, 20);
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* The client side of TCP_DEFER_ACCEPT is linuxwire's delayed ACK: data
 * sent at once carries the handshake's ACK and, a reply within 40 ms of the
 * connection's end, makes the connection interactive; an ACK the timer sent
 * leaves quick-ACK mode on for the peer's first data. */
static void test_defer_accept_connect_quick_acks(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	fill_data();
	c = connect_with(t, TCP_OPT_DEFER_ACCEPT, 1, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect_none(t);
	assert_int_equal(quickack(c), 1);
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	assert_int_equal(quickack(c), 0);
	ts_abort(t, c);

	ts_new_peer(t);
	c = connect_with(t, TCP_OPT_DEFER_ACCEPT, 1, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 200);
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_NOTSENT_LOWAT: POLLOUT while twice the unsent bytes stay below the
 * mark; a write fills the buffer at the tail, a new one only below the mark. */
static void test_notsent_lowat(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct ts_wake w;
	uint32_t goal;

	(void)state;
	fill_data();
	assert_int_equal(tcp_setopt(c, TCP_OPT_CORK, 1), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 100), 0);
	assert_int_equal(tcp_send(c, data, 49, t->h->now), 49);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	assert_int_equal(tcp_send(c, data, 1, t->h->now), 1);
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	ts_watch(c, &w);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 101), 0);
	assert_true(w.count > 0);          /* writers look again */
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	/* above the mark, the tail buffer still takes bytes */
	assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 10), 0);
	assert_int_equal(tcp_send(c, data, 5, t->h->now), 5);
	/* a full buffer at the tail: nothing more until the unsent bytes go */
	goal = 65535u / 2 / 1448 * 1448;  /* half the largest window (the SYN-ACK's), whole segments */
	ts_inject(t, ". 1:1(0) ack 1 win 0 " ACK1);
	assert_int_equal(tcp_send(c, data, sizeof(data), t->h->now), (long)(goal - 55));
	assert_int_equal(tcp_send(c, data, 1, t->h->now), -EAGAIN);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 0), 0);     /* no mark */
	assert_int_equal(tcp_send(c, data, 1, t->h->now), 1);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_INQ's hint: the bytes to read, the FIN counting one, 1 at the end. */
static void test_inq_hint(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[32];

	(void)state;
	assert_int_equal(tcp_inq_hint(c), 0);
	assert_int_equal(tcp_rx_stamp(c), 0);
	ts_advance_ms(t, 5);
	ts_inject(t, "P. 1:13(12) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_rx_stamp(c), t->h->now);
	assert_int_equal(tcp_inq_hint(c), 12);
	ts_inject(t, "F. 13:13(0) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	assert_int_equal(tcp_inq_hint(c), 13);
	assert_int_equal(tcp_recv(c, b, 5, 0, t->h->now), 5);
	assert_int_equal(tcp_inq_hint(c), 8);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 7);
	assert_int_equal(tcp_inq_hint(c), 1);
	h_drain_tx(t->h);
	tcp_close(c, t->h->now);
	h_drain_tx(t->h);
	ts_inject(t, ". 14:14(0) ack 2 win 502 <nop,nop,TS val 103 ecr 0>");
	ts_free(t);
}

/*
 * TCP_QUICKACK 1 (Linux's __tcp_sock_set_quickack): the interactive mode
 * ends, and the ACK owed for data already read goes at once (as after a
 * short segment read, tcp_cleanup_rbuf); with the data still unread it waits
 * for the read.
 */
static void test_quickack_sends_owed_ack(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];

	(void)state;
	assert_int_equal(quickack(c), 1);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 0), 0);
	assert_int_equal(quickack(c), 0);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect_none(t);                 /* interactive: the ACK waits for a reply */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 10);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 1), 0);
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);
	assert_int_equal(quickack(c), 1);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 1), 0);
	ts_expect_none(t);                 /* nothing owed: nothing sent */

	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 0), 0);
	ts_inject(t, "P. 11:21(10) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 1), 0);
	ts_expect_none(t);                 /* unread: Linux's rule waits for the read */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 10);
	ts_expect(t, ". 1:1(0) ack 21 win * " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_QUICKACK 2 (an even value) sends the ACK owed and leaves the
 * connection interactive; with nothing owed it only ends the mode. */
static void test_quickack_even_value(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 0), 0);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 10);
	ts_expect_none(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 2), 0);
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);
	assert_int_equal(quickack(c), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 2), 0);
	ts_expect_none(t);
	assert_int_equal(quickack(c), 1);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_QUICKACK 0: even the first data (quick-ACK mode) waits for the
 * delayed-ACK timer, which, no reply having carried the ACK, ends the
 * interactive mode (Linux's tcp_delack_timer_handler): the next data is
 * ACKed at once again. */
static void test_quickack_zero_delays_acks(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_QUICKACK, 0), 0);
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_advance_ms(t, 39);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);
	assert_int_equal(quickack(c), 1);
	ts_inject(t, "P. 11:21(10) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 21 win * " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* Data sent within 40 ms of the peer's makes the connection interactive,
 * which getsockopt shows (0); its delayed ACK ends it (1). */
static void test_quickack_reply_is_interactive(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];

	(void)state;
	fill_data();
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	ts_expect(t, ". 1:1(0) ack 11 win * " TSO);      /* quick-ACK mode */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 10);
	ts_advance_ms(t, 5);
	assert_int_equal(tcp_send(c, data, 5, t->h->now), 5);
	ts_expect(t, "P. 1:6(5) ack 11 win * " TSO);
	assert_int_equal(quickack(c), 0);
	ts_inject(t, "P. 11:21(10) ack 6 win 502 <nop,nop,TS val 102 ecr 0>");
	ts_expect_none(t);                 /* quick ACKs are left, but not while interactive */
	ts_advance_ms(t, 41);
	ts_expect(t, ". 6:6(0) ack 21 win * " TSO);
	assert_int_equal(quickack(c), 1);
	ts_abort(t, c);
	ts_free(t);
}

/* TCP_QUICKACK 0 before connect(): the handshake's ACK waits for data, at
 * most 200 ms (Linux's tcp_rcv_synsent_state_process, as with
 * TCP_DEFER_ACCEPT), and the quick-ACK mode it starts ends the interactive
 * mode. */
static void test_quickack_zero_before_connect(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	c = connect_with(t, TCP_OPT_QUICKACK, 0, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	assert_int_equal(quickack(c), 0);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(quickack(c), 1);
	ts_advance_ms(t, 199);
	ts_expect_none(t);
	ts_advance_ms(t, 2);
	ts_expect(t, ". 1:1(0) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* A listener's mode is its children's (Linux's sk_clone_lock copies it). */
static void test_quickack_listener_children(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_QUICKACK, 0), 0);
	c = ts_accept_one(t, l);
	assert_int_equal(quickack(l), 0);
	assert_int_equal(quickack(c), 0);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

static void expect_tstamp(struct tcp_conn *c, unsigned tstype, uint32_t key, uint64_t at)
{
	struct tcp_err_info e;

	assert_int_equal(tcp_recv_err(c, &e), 0);
	assert_int_equal(e.kind, TCP_ERR_TSTAMP);
	assert_int_equal(e.tstype, tstype);
	assert_int_equal(e.key, key);
	assert_int_equal(e.at, at);
}

/* SO_TIMESTAMPING: SCHED and SND when a call's last byte first leaves
 * (at once, or when Nagle lets it go), ACK when it is acknowledged. */
static void test_errq_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_err_info e;
	uint32_t iss1 = tcp_tskey_base(c, false);
	uint64_t t0, t1;

	(void)state;
	fill_data();
	assert_false(tcp_err_pending(c));
	t0 = t->h->now;
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SCHED | TCP_TS_SND | TCP_TS_ACK, false, 0, t->h->now), 0);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	assert_true(tcp_err_pending(c));
	expect_tstamp(c, 1, iss1 + 9, t0);
	expect_tstamp(c, 0, iss1 + 9, t0);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	/* held by Nagle behind the first: reported when it leaves */
	ts_advance_ms(t, 3);
	assert_int_equal(tcp_send(c, data + 10, 5, t->h->now), 5);
	assert_int_equal(tcp_mark_send(c, TCP_TS_SND, false, 0, t->h->now), 0);
	ts_expect_none(t);
	assert_false(tcp_err_pending(c));
	ts_advance_ms(t, 3);
	t1 = t->h->now;
	ts_inject(t, ". 1:1(0) ack 11 win 502 " ACK1);
	ts_expect(t, "P. 11:16(5) ack 1 win 502 " TSO);
	expect_tstamp(c, 2, iss1 + 9, t1);
	expect_tstamp(c, 0, iss1 + 14, t1);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	ts_inject(t, ". 1:1(0) ack 16 win 502 " ACK1);
	assert_false(tcp_err_pending(c));  /* no ACK timestamp was asked for */
	ts_abort(t, c);
	ts_free(t);
}

/* MSG_ZEROCOPY: a completion per call once its data is acknowledged;
 * consecutive ones merge while unread; the end of the connection completes
 * what is pending. */
static void test_errq_zerocopy(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_err_info e;

	(void)state;
	fill_data();
	assert_int_equal(tcp_send(c, data, 10, t->h->now), 10);
	assert_int_equal(tcp_mark_send(c, 0, true, 0, t->h->now), 0);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	assert_int_equal(tcp_send(c, data, 5, t->h->now), 5);
	assert_int_equal(tcp_mark_send(c, 0, true, 1, t->h->now), 0);
	assert_int_equal(tcp_send(c, data, 5, t->h->now), 5);
	assert_int_equal(tcp_mark_send(c, 0, true, 2, t->h->now), 0);
	ts_expect_none(t);
	assert_false(tcp_err_pending(c));
	ts_inject(t, ". 1:1(0) ack 11 win 502 " ACK1);
	ts_expect(t, "P. 11:21(10) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 21 win 502 " ACK1);
	assert_int_equal(tcp_recv_err(c, &e), 0);
	assert_int_equal(e.kind, TCP_ERR_ZEROCOPY);
	assert_int_equal(e.lo, 0);
	assert_int_equal(e.hi, 2);
	assert_int_equal(tcp_recv_err(c, &e), -EAGAIN);
	/* pending when the connection ends: completed then */
	assert_int_equal(tcp_send(c, data, 5, t->h->now), 5);
	assert_int_equal(tcp_mark_send(c, 0, true, 3, t->h->now), 0);
	ts_expect(t, "P. 21:26(5) ack 1 win 502 " TSO);
	ts_inject(t, "R. 1:1(0) ack 21 win 0");
	assert_int_equal(tcp_recv_err(c, &e), 0);
	assert_int_equal(e.lo, 3);
	assert_int_equal(e.hi, 3);
	tcp_close(c, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cork_full_segments_only),
		cmocka_unit_test(test_cork_probe_timer_and_fin),
		cmocka_unit_test(test_nodelay_pushes_corked_once),
		cmocka_unit_test(test_msg_more),
		cmocka_unit_test(test_maxseg_clamps_syn_and_send),
		cmocka_unit_test(test_window_clamp),
		cmocka_unit_test(test_syncnt),
		cmocka_unit_test(test_sysctl_syn_retries),
		cmocka_unit_test(test_sysctl_synack_retries),
		cmocka_unit_test(test_sysctl_fin_timeout),
		cmocka_unit_test(test_sysctl_keepalive),
		cmocka_unit_test(test_syncnt_synack),
		cmocka_unit_test(test_linger2),
		cmocka_unit_test(test_linger2_close_in_fin_wait_2),
		cmocka_unit_test(test_linger_close_waits_for_fin_ack),
		cmocka_unit_test(test_linger_close_data_resets),
		cmocka_unit_test(test_shutdown_rdwr_data_resets),
		cmocka_unit_test(test_outq_unsent_and_ended),
		cmocka_unit_test(test_defer_accept_data),
		cmocka_unit_test(test_defer_accept_timeout),
		cmocka_unit_test(test_defer_accept_active_open),
		cmocka_unit_test(test_notsent_lowat),
		cmocka_unit_test(test_inq_hint),
		cmocka_unit_test(test_quickack_sends_owed_ack),
		cmocka_unit_test(test_quickack_even_value),
		cmocka_unit_test(test_quickack_zero_delays_acks),
		cmocka_unit_test(test_quickack_reply_is_interactive),
		cmocka_unit_test(test_quickack_zero_before_connect),
		cmocka_unit_test(test_quickack_listener_children),
		cmocka_unit_test(test_defer_accept_connect_quick_acks),
		cmocka_unit_test(test_errq_timestamps),
		cmocka_unit_test(test_errq_zerocopy),
	};
	return cmocka_run_group_tests_name("tcp_sockopt", tests, NULL, NULL);
}
