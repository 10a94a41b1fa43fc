/* TIME_WAIT at scale: connections waiting out 2 MSL sit in their own list,
 * oldest first, and the timer pass looks at its head only (a server that
 * closes first holds one per connection of the last minute). Each must still
 * go at exactly its own deadline, also after a retransmitted FIN restarts
 * its wait, and one the application still holds must come back to it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/inpcb.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static void drain(struct tscript *t)
{
	char line[512];

	while (ts_next(t, line, sizeof(line)))
		;
}

/* Accepts one connection from the current peer and closes it first: the
 * peer answers with its FIN and we end in TIME_WAIT. */
static struct tcp_conn *close_first(struct tscript *t, struct tcp_conn *l, bool app_keeps)
{
	struct tcp_conn *c = ts_accept_one(t, l);

	if (app_keeps)
		assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	else
		tcp_close(c, t->h->now);
	drain(t);
	ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 200 ecr 0>");
	drain(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	return c;
}

static void test_time_wait_deadlines(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c1, *held;
	struct tcp_table *tt = t->h->s->tcp;

	(void)state;
	c1 = close_first(t, l, false);          /* t = 0: due at 60 s */
	ts_advance_ms(t, 10000);
	ts_new_peer(t);
	close_first(t, l, false);               /* t = 10: due at 70 s */
	ts_advance_ms(t, 10000);
	ts_new_peer(t);
	held = close_first(t, l, true);         /* t = 20: due at 80 s, the application holds it */
	assert_ptr_equal(tt->tw_head, c1);
	assert_ptr_equal(tt->tw_tail, held);
	/* t = 30: the first peer's FIN again: its wait restarts (due at 90 s) and it goes last */
	ts_advance_ms(t, 10000);
	t->peer_port = TS_PEER_PORT;
	ts_inject(t, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 300 ecr 0>");
	drain(t);
	assert_ptr_equal(tt->tw_tail, c1);
	assert_int_equal(tcp_conn_count(t->h->s), 4);        /* the listener and three */
	ts_advance_ms(t, 39999);                             /* 69.999 s */
	assert_int_equal(tcp_conn_count(t->h->s), 4);
	ts_advance_ms(t, 1);                                 /* 70 s: the second goes */
	assert_int_equal(tcp_conn_count(t->h->s), 3);
	ts_advance_ms(t, 10000);                             /* 80 s: the held one closes, stays */
	assert_int_equal(tcp_conn_count(t->h->s), 3);
	assert_int_equal(tcp_get_state(held), TCP_STATE_CLOSED);
	assert_false(held->in_tw);
	assert_ptr_equal(tt->tw_head, c1);
	ts_advance_ms(t, 9999);                              /* 89.999 s */
	assert_int_equal(tcp_conn_count(t->h->s), 3);
	ts_advance_ms(t, 1);                                 /* 90 s: the first goes */
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	assert_null(tt->tw_head);
	assert_null(tt->tw_tail);
	tcp_close(held, t->h->now);
	tcp_close(l, t->h->now);
	drain(t);
	ts_free(t);
}

/* Many at once, in order: the pass frees exactly those due. */
static void test_time_wait_many(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	for (int i = 0; i < 200; i++) {
		if (i)
			ts_new_peer(t);
		close_first(t, l, false);
		ts_advance_ms(t, 100);
	}
	/* the first went into TIME_WAIT at 0, the last at 19.9 s; now is 20 s */
	assert_int_equal(tcp_conn_count(t->h->s), 201);
	ts_advance_ms(t, 40000);                             /* 60 s: the first goes */
	assert_int_equal(tcp_conn_count(t->h->s), 200);
	ts_advance_ms(t, 9950);                              /* 69.95 s: 100 have gone */
	assert_int_equal(tcp_conn_count(t->h->s), 101);
	ts_advance_ms(t, 10000);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A second stack that takes the device over (stack/host/ctl.c's handover)
 * takes the first one's TIME_WAIT with it: the record carries the 4-tuple,
 * the sequence numbers, our TS clock and the peer's, and the time left. */
static struct tscript *takes_over(const struct tscript *from, uint64_t start_ms)
{
	struct tscript *t = ts_new(100);

	/* The same peer and numbering, so the expected lines read the same. */
	t->isn = from->isn;
	t->isn_known = from->isn_known;
	t->ts_base = from->ts_base;
	t->ts_known = from->ts_known;
	ts_advance_ms(t, start_ms);
	return t;
}

static void test_time_wait_handover(void **state)
{
	struct tscript *t = ts_new(100), *t2, *t3;
	struct tcp_conn *l = ts_listen(t, 8);
	struct tcp_tw_rec rec[4];

	(void)state;
	close_first(t, l, false);               /* t = 0: due at 60 s */
	ts_advance_ms(t, 10000);
	assert_false(tcp_tw_only(t->h->s));     /* the listener is not TIME_WAIT */
	assert_int_equal(tcp_tw_export(t->h->s, rec, 4, t->h->now), 1);
	assert_int_equal(rec[0].state, TCP_STATE_TIME_WAIT);
	assert_int_equal(rec[0].lport, TS_LOCAL_PORT);
	assert_int_equal(rec[0].rport, TS_PEER_PORT);
	assert_int_equal(rec[0].left_ms, 50000);
	assert_int_equal(rec[0].ts_recent, 200);

	/* Imported with a clock of its own (here 123 s ahead): the wait ends
	 * when the first stack's would have, 50 s on. */
	t2 = takes_over(t, 123000);
	assert_int_equal(tcp_tw_import(t2->h->s, &rec[0], t2->h->now), 0);
	assert_int_equal(tcp_tw_import(t2->h->s, &rec[0], t2->h->now), -EEXIST);
	assert_true(tcp_tw_only(t2->h->s));
	assert_int_equal(tcp_after_fin(t2->h->s), 1);
	ts_advance_ms(t2, 49999);
	assert_int_equal(tcp_conn_count(t2->h->s), 1);
	ts_advance_ms(t2, 1);
	assert_int_equal(tcp_conn_count(t2->h->s), 0);
	ts_expect_none(t2);
	ts_free(t2);

	/* The peer's FIN again, in the new stack: acknowledged with our TS
	 * clock going on from the first stack's (10 s after the close) and
	 * TS.Recent echoed, which a retransmitted FIN does not move (Linux's
	 * tw_ts_recent, measured on 6.18); the 2 MSL wait restarts. */
	t3 = takes_over(t, 7000);
	assert_int_equal(tcp_tw_import(t3->h->s, &rec[0], t3->h->now), 0);
	ts_inject(t3, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 300 ecr 0>");
	ts_expect(t3, ". 2:2(0) ack 2 win 510 <nop,nop,TS val 10000 ecr 200>");
	ts_advance_ms(t3, 59999);
	assert_int_equal(tcp_conn_count(t3->h->s), 1);
	ts_advance_ms(t3, 1);
	assert_int_equal(tcp_conn_count(t3->h->s), 0);
	ts_free(t3);

	/* A bad record is refused. */
	t2 = ts_new(100);
	rec[0].state = TCP_STATE_ESTABLISHED;
	assert_int_equal(tcp_tw_import(t2->h->s, &rec[0], t2->h->now), -EINVAL);
	ts_free(t2);

	ts_advance_ms(t, 50000);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The record carries the socket's SO_REUSEADDR (Linux's tw_reuse, which an
 * accepted socket has from its listener): in the stack that takes it, a new
 * listener with SO_REUSEADDR binds the port of a TIME_WAIT whose socket had
 * it, not of one whose socket had not; one without it binds neither (as the
 * kernel answers a server started again on its port). */
static void test_time_wait_handover_reuse(void **state)
{
	struct tscript *t = ts_new(100), *t2;
	struct tcp_conn *l = tcp_open(t->h->s), *n;
	struct ip4_endpoint ep = { 0, TS_LOCAL_PORT };
	struct tcp_tw_rec rec[2];

	(void)state;
	assert_int_equal(tcp_bind(l, &ep, INPCB_REUSEADDR), 0);
	assert_int_equal(tcp_listen(l, 8), 0);
	close_first(t, l, false);
	tcp_close(l, t->h->now);
	assert_int_equal(tcp_tw_export(t->h->s, rec, 2, t->h->now), 1);
	assert_int_equal(rec[0].reuse, INPCB_REUSEADDR);
	for (int with = 0; with < 2; with++) {
		t2 = takes_over(t, 1000);
		rec[0].reuse = with ? INPCB_REUSEADDR : 0;
		assert_int_equal(tcp_tw_adopt(t2->h->s, rec, 1, t2->h->now), 1);
		n = tcp_open(t2->h->s);
		assert_int_equal(tcp_bind(n, &ep, 0), -EADDRINUSE);
		assert_int_equal(tcp_bind(n, &ep, INPCB_REUSEADDR), with ? 0 : -EADDRINUSE);
		tcp_close(n, t2->h->now);
		ts_advance_ms(t2, 60000);
		assert_int_equal(tcp_conn_count(t2->h->s), 0);
		ts_free(t2);
	}
	ts_advance_ms(t, 60000);
	ts_free(t);
}

/* Records taken at once (tcp_tw_adopt, what a new program does with a
 * handover): none becomes a connection until something looks at its port,
 * yet each counts, keeps its port and its 4-tuple, answers a retransmitted
 * FIN exactly as an imported one would, goes at its own deadline, and is
 * handed on again with what is left of its wait. */
static void test_time_wait_adopted(void **state)
{
	struct tscript *t = ts_new(100), *t2;
	struct tcp_conn *l = ts_listen(t, 8), *c;
	struct tcp_tw_rec rec[3], out[4];
	struct ip4_endpoint ep;
	struct stack *s2;

	(void)state;
	close_first(t, l, false);               /* t = 0: due at 60 s */
	ts_advance_ms(t, 10000);
	assert_int_equal(tcp_tw_export(t->h->s, rec, 1, t->h->now), 1);
	/* Two more of a client's kind (ports of their own), out of deadline order. */
	rec[1] = rec[0];
	rec[1].lport = 41000;
	rec[1].left_ms = 20000;
	rec[2] = rec[0];
	rec[2].lport = 41001;
	rec[2].left_ms = 40000;

	t2 = takes_over(t, 7000);
	s2 = t2->h->s;
	assert_int_equal(tcp_tw_adopt(s2, rec, 3, t2->h->now), 3);
	assert_int_equal(tcp_tw_adopt(s2, rec, 3, t2->h->now), 0);     /* once */
	assert_int_equal(tcp_conn_count(s2), 0);                      /* no connection made */
	assert_int_equal(tcp_after_fin(s2), 3);
	assert_true(tcp_tw_only(s2));
	assert_int_equal(stack_poll_at(s2), t2->h->now + 20000000);   /* the earliest wait's end */

	/* The peer's FIN again: the record on that port becomes a connection
	 * and answers as test_time_wait_handover's imported one does. */
	ts_inject(t2, "F. 1:1(0) ack 2 win 502 <nop,nop,TS val 300 ecr 0>");
	ts_expect(t2, ". 2:2(0) ack 2 win 510 <nop,nop,TS val 10000 ecr 200>");
	assert_int_equal(tcp_conn_count(s2), 1);
	assert_int_equal(tcp_after_fin(s2), 3);

	/* bind() to a held record's port sees it, as it would the connection. */
	c = tcp_open(s2);
	ep = (struct ip4_endpoint){ 0, 41000 };
	assert_int_equal(tcp_bind(c, &ep, 0), -EADDRINUSE);
	tcp_close(c, t2->h->now);
	assert_int_equal(tcp_after_fin(s2), 3);

	/* Handed on 5 s later: three, with 5 s less to wait. */
	ts_advance_ms(t2, 5000);
	assert_int_equal(tcp_tw_export(s2, out, 4, t2->h->now), 3);
	for (int i = 0; i < 3; i++) {
		if (out[i].lport == 41001) {
			assert_int_equal(out[i].left_ms, 35000);
			assert_int_equal(out[i].ts_val, rec[2].ts_val + 5000);
			assert_int_equal(out[i].ts_recent_age_ms, rec[2].ts_recent_age_ms + 5000);
		} else if (out[i].lport == 41000) {
			assert_int_equal(out[i].left_ms, 15000);
		} else {
			assert_int_equal(out[i].lport, TS_LOCAL_PORT);
			assert_int_equal(out[i].left_ms, 55000);       /* the FIN restarted it */
		}
	}

	/* Each goes at its own deadline, the one still held without a frame. */
	ts_advance_ms(t2, 14999);                              /* 19.999 s */
	assert_int_equal(tcp_after_fin(s2), 3);
	ts_advance_ms(t2, 1);
	assert_int_equal(tcp_after_fin(s2), 2);
	ts_advance_ms(t2, 19999);                              /* 39.999 s */
	assert_int_equal(tcp_after_fin(s2), 2);
	assert_int_equal(stack_poll_at(s2), t2->h->now + 1000);
	ts_advance_ms(t2, 1);
	assert_int_equal(tcp_after_fin(s2), 1);
	assert_int_equal(tcp_conn_count(s2), 1);
	ts_advance_ms(t2, 20000);                              /* 60 s after the FIN */
	assert_int_equal(tcp_after_fin(s2), 0);
	assert_false(tcp_tw_only(s2));
	ts_expect_none(t2);
	ts_free(t2);

	/* Records for another address, and bad ones, are left out. */
	t2 = takes_over(t, 0);
	rec[1].laddr ^= 1;
	rec[2].state = TCP_STATE_ESTABLISHED;
	assert_int_equal(tcp_tw_adopt(t2->h->s, rec, 3, t2->h->now), 1);
	tcp_tw_take_all(t2->h->s, t2->h->now);                 /* a listing: connections now */
	assert_int_equal(tcp_conn_count(t2->h->s), 1);
	assert_int_equal(tcp_after_fin(t2->h->s), 1);
	ts_advance_ms(t2, 50000);
	assert_int_equal(tcp_conn_count(t2->h->s), 0);
	ts_free(t2);

	ts_advance_ms(t, 50000);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* connect() chooses its port past every held record's 4-tuple: with one
 * to the same peer on each ephemeral port, no port is left. The records
 * are of connections whose ports connect() picked (INPCB_CONNECT_BIND,
 * Linux's tw_connect_bind), so a connect() to another peer shares them. */
static void test_time_wait_adopted_ports(void **state)
{
	struct tscript *t = ts_new(100);
	const uint16_t lo = t->h->s->cfg.ip_local_port_lo, hi = t->h->s->cfg.ip_local_port_hi;
	const uint32_t n = (uint32_t)hi - lo + 1;
	struct tcp_tw_rec *rec = calloc(n, sizeof(*rec));
	struct ip4_endpoint peer;
	struct tcp_conn *c;
	struct stack *s = t->h->s;

	(void)state;
	assert_non_null(rec);
	for (uint32_t i = 0; i < n; i++) {
		rec[i] = (struct tcp_tw_rec){
			.laddr = s->cfg.addr, .raddr = s->cfg.addr ^ 3, .lport = (uint16_t)(lo + i),
			.rport = 80, .state = TCP_STATE_TIME_WAIT, .snd_nxt = 1, .rcv_nxt = 1, .left_ms = 60000,
			.reuse = INPCB_CONNECT_BIND,
		};
	}
	assert_int_equal(tcp_tw_adopt(s, rec, n - 1, t->h->now), n - 1);     /* the last port free */
	peer = (struct ip4_endpoint){ s->cfg.addr ^ 3, 80 };
	c = tcp_open(s);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	assert_int_equal(c->pcb.local.port, hi);
	t->local_port = hi;
	t->peer_port = 80;
	drain(t);                                            /* its SYN */
	tcp_close(c, t->h->now);
	drain(t);
	ts_advance_ms(t, 60000);
	ts_free(t);

	t = ts_new(100);
	s = t->h->s;
	assert_int_equal(tcp_tw_adopt(s, rec, n, t->h->now), n);
	c = tcp_open(s);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EADDRNOTAVAIL);
	/* To another peer port, any. */
	peer.port = 81;
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	t->local_port = c->pcb.local.port;
	t->peer_port = 81;
	drain(t);
	tcp_close(c, t->h->now);
	drain(t);
	ts_advance_ms(t, 60000);
	ts_free(t);
	free(rec);
}

/* Records in any order: each still goes at its own deadline, and the next
 * timer is always the earliest wait's end. */
static void test_time_wait_adopted_order(void **state)
{
	enum { N = 300 };
	struct tscript *t = ts_new(100);
	struct tcp_tw_rec rec[N];
	struct stack *s = t->h->s;
	uint32_t x = 12345;
	unsigned left_at[1001] = { 0 };
	size_t live = N;

	(void)state;
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		rec[i] = (struct tcp_tw_rec){
			.laddr = s->cfg.addr, .raddr = s->cfg.addr ^ 3, .lport = (uint16_t)(40000 + i), .rport = 80,
			.state = TCP_STATE_TIME_WAIT, .snd_nxt = 1, .rcv_nxt = 1,
			.left_ms = 1000 * (1 + (x >> 8) % 1000),     /* 1 to 1000 s */
		};
		left_at[rec[i].left_ms / 1000]++;
	}
	assert_int_equal(tcp_tw_adopt(s, rec, N, t->h->now), N);
	for (unsigned sec = 1; sec <= 1000; sec++) {
		uint64_t next = stack_poll_at(s);

		if (left_at[sec])
			assert_int_equal(next, t->h->now + 1000000);
		else
			assert_true(next > t->h->now + 1000000);
		ts_advance_ms(t, 1000);
		live -= left_at[sec];
		assert_int_equal(tcp_after_fin(s), live);
	}
	assert_int_equal(live, 0);
	assert_false(tcp_tw_only(s));
	ts_free(t);
}

/* An active open whose port connect() chose (bind() named none). */
static struct tcp_conn *connect_unnamed(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	t->local_port = c->pcb.local.port;
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	return c;
}

/* Linux closes the application's socket at once when its connection enters
 * TIME_WAIT (a timewait record waits instead) and gives its port back unless
 * bind() named it: bind() on the socket works again. Here the application's
 * connection waits itself until then; tcp_rebind() hands the wait to an
 * orphan that still answers the peer, and the unread bytes stay readable. */
static void test_time_wait_held_rebind(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_unnamed(t), *tw;
	struct ip4_endpoint any = { 0, 0 }, old;
	uint16_t old_port = t->local_port;
	char b[8];

	(void)state;
	ts_inject(t, "P. 1:3(2) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	drain(t);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	drain(t);
	ts_inject(t, "F. 3:3(0) ack 2 win 502 <nop,nop,TS val 102 ecr 0>");
	drain(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	assert_true(tcp_port_released(c));
	tcp_local(c, &old);
	assert_int_equal(tcp_rebind(c, &any, 0, t->h->now), 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_false(tcp_port_released(c));
	assert_int_not_equal(c->pcb.local.port, old_port);
	assert_int_equal(tcp_rebind(c, &any, 0, t->h->now), -EINVAL);   /* bound now */
	/* the wait goes on in an orphan with the old 4-tuple */
	tw = tcp_conn_of(inpcb_lookup(&t->h->s->tcp->pcbs, old.addr, old_port, H_PEER_IP, t->peer_port));
	assert_non_null(tw);
	assert_ptr_not_equal(tw, c);
	assert_int_equal(tcp_get_state(tw), TCP_STATE_TIME_WAIT);
	assert_int_equal(tcp_conn_count(t->h->s), 2);
	/* the unread bytes stay the socket's, then end of file */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2);
	ts_check_bytes((const uint8_t *)b, 2, 1);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 0);
	/* the peer's FIN again: the orphan ACKs it (echoing TS.Recent, which
	 * the retransmission does not move, as Linux's tw_ts_recent) */
	ts_advance_ms(t, 1000);
	ts_inject(t, "F. 3:3(0) ack 2 win 502 <nop,nop,TS val 103 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 4 win 502 <nop,nop,TS val * ecr 102>");
	ts_advance_ms(t, 60000);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A reset connection gives its port back at once (another socket may bind
 * it) unless bind() named it: then the port stays held and bind() on the
 * socket is EINVAL, as Linux's SOCK_BINDPORT_LOCK. */
static void test_reset_port_release(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_unnamed(t), *d = tcp_open(t->h->s), *e;
	struct ip4_endpoint any = { 0, 0 }, port;

	(void)state;
	ts_inject(t, "R. 1:1(0) ack 1 win 0");
	drain(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(tcp_port_released(c));
	port.addr = 0;
	port.port = t->local_port;
	assert_int_equal(tcp_bind(d, &port, 0), 0);
	assert_int_equal(tcp_rebind(c, &port, 0, t->h->now), -EADDRINUSE);
	assert_int_equal(tcp_rebind(c, &any, 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	tcp_close(d, t->h->now);
	/* named by bind(): held through the reset */
	ts_new_peer(t);
	c = ts_connect(t);
	ts_inject(t, "R. 1:1(0) ack 1 win 0");
	drain(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_false(tcp_port_released(c));
	assert_int_equal(tcp_rebind(c, &any, 0, t->h->now), -EINVAL);
	e = tcp_open(t->h->s);
	port.port = t->local_port;
	assert_int_equal(tcp_bind(e, &port, 0), -EADDRINUSE);
	tcp_close(e, t->h->now);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A listener shut down (Linux's tcp_disconnect) gives its port back unless
 * bind() named it: getsockname() still shows it, another socket may take it,
 * and bind() or listen() on the listener takes another. */
static void test_listen_shutdown_port_release(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = tcp_open(t->h->s), *d = tcp_open(t->h->s), *n = tcp_open(t->h->s);
	struct ip4_endpoint any = { 0, 0 }, ep, named = { 0, 8080 };

	(void)state;
	assert_int_equal(tcp_autobind(l, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	tcp_local(l, &ep);
	assert_false(tcp_port_released(l));
	assert_int_equal(tcp_shutdown(l, 0, t->h->now), 0);
	assert_int_equal(tcp_get_state(l), TCP_STATE_CLOSED);
	assert_true(tcp_port_released(l));
	tcp_local(l, &any);
	assert_int_equal(any.port, ep.port);
	assert_int_equal(tcp_bind(d, &ep, 0), 0);
	any.port = 0;
	assert_int_equal(tcp_bind(l, &any, 0), 0);
	assert_false(tcp_port_released(l));
	/* named by bind(): held */
	assert_int_equal(tcp_bind(n, &named, 0), 0);
	assert_int_equal(tcp_listen(n, 4), 0);
	assert_int_equal(tcp_shutdown(n, 2, t->h->now), 0);
	assert_false(tcp_port_released(n));
	assert_int_equal(tcp_bind(n, &any, 0), -EINVAL);
	tcp_close(n, t->h->now);
	tcp_close(d, t->h->now);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* TIME_WAIT assassination by an old RST fails PAWS: Linux's
 * tcp_paws_reject lets a RST with an older TSval through only once
 * TS.Recent is 60 s old (TCP_PAWS_MSL). Measured on Linux 6.18
 * (rawframes tw_rst_old_ts): the RST at RCV.NXT with TSval 100 after 5010
 * was ignored, the FIN after it ACKed (pstack: gone, a reset). */
static void test_time_wait_old_rst_fails_paws(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;

	(void)state;
	c = close_first(t, l, false);
	ts_inject(t, "R 2:2(0) win 0 <nop,nop,TS val 150 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	/* a RST with no older TSval still ends it (tcp_rfc1337 = 0) */
	ts_inject(t, "R 2:2(0) win 0 <nop,nop,TS val 200 ecr 0>");
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An orphan in FIN_WAIT_2 answers as Linux's tcp_timewait_state_process
 * does in its FIN_WAIT2 substate (measured on Linux 6.18 by
 * tests/e2e/rawframes.py's finwait2_*): a RST out of the window gets an
 * ACK, one anywhere in the window ends the connection (no RFC 5961
 * challenge ACK), and so does a SYN, with a reset. */
static struct tcp_conn *orphan_fin_wait_2(struct tscript *t, struct tcp_conn *l)
{
	struct tcp_conn *c = ts_accept_one(t, l);

	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win * <nop,nop,TS val * ecr 100>");
	ts_inject(t, ". 1:1(0) ack 2 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_FIN_WAIT_2);
	return c;
}

static void test_fin_wait_2_orphan_rst_syn(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8);

	(void)state;
	orphan_fin_wait_2(t, l);
	ts_inject(t, "R 10000001:10000001(0) win 0");
	ts_expect(t, ". 2:2(0) ack 1 win * <nop,nop,TS val * ecr 110>");
	ts_advance_ms(t, 600);
	ts_inject(t, "R 100:100(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);        /* the listener only */
	ts_new_peer(t);
	orphan_fin_wait_2(t, l);
	ts_inject(t, "S 1:1(0) win 65535 <mss 1460>");
	ts_expect(t, "R. *:*(0) ack 2 win 0");          /* <SEQ=0><ACK=SEG.SEQ+1> */
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The FIN_WAIT2 substate's "new data or FIN" (tcp_timewait_state_process),
 * measured on Linux 6.18 (rawframes finwait2_fin_out_of_order,
 * finwait2_ack_unsent): a FIN beyond RCV.NXT gets a reset and ends the
 * connection (pstack held and SACKed it); the FIN at RCV.NXT is taken and
 * ACKed whatever its ACK field says, data never sent too (pstack answered
 * with an ACK and dropped the FIN). */
static void test_fin_wait_2_orphan_fin(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c;

	(void)state;
	orphan_fin_wait_2(t, l);
	ts_inject(t, "F. 100:100(0) ack 2 win 502 <nop,nop,TS val 120 ecr 0>");
	ts_expect(t, "R 2:2(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_new_peer(t);
	c = orphan_fin_wait_2(t, l);
	ts_inject(t, ". 1:1(0) ack 1000 win 502 <nop,nop,TS val 120 ecr 0>");
	ts_expect_none(t);
	ts_inject(t, "F. 1:1(0) ack 1000 win 502 <nop,nop,TS val 130 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win * <nop,nop,TS val * ecr 130>");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 61000);
	ts_free(t);
}

/* Text nobody will read after RCV_SHUTDOWN, as Linux's tcp_rcv_state_process
 * finds it (TCPABORTONDATA), measured on Linux 6.18 (rawframes
 * finwait1_fin_out_of_order_no_ack, closewait_data_over_fin): a closed
 * socket's FIN-WAIT-1 meets a FIN beyond RCV.NXT, and a CLOSE-WAIT
 * connection text from below RCV.NXT to past the peer's FIN: each is
 * reset from the segment's ACK number, and goes (pstack held and SACKed
 * the FIN, and D-SACKed the byte below RCV.NXT, dropping the rest). */
static void test_abort_on_data_after_rcv_shutdown(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c = ts_accept_one(t, l);

	(void)state;
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win * <nop,nop,TS val * ecr 100>");
	ts_inject(t, "F. 100:100(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	ts_new_peer(t);
	c = ts_accept_one(t, l);
	ts_inject(t, "F. 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_advance_ms(t, 40);
	drain(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	ts_inject(t, "P. 1:6(5) ack 1 win 502 <nop,nop,TS val 120 ecr 0>");
	ts_expect(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -EPIPE);    /* Linux's tcp_reset in CLOSE_WAIT */
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_wait_deadlines),
		cmocka_unit_test(test_time_wait_many),
		cmocka_unit_test(test_time_wait_handover),
		cmocka_unit_test(test_time_wait_handover_reuse),
		cmocka_unit_test(test_time_wait_adopted),
		cmocka_unit_test(test_time_wait_adopted_ports),
		cmocka_unit_test(test_time_wait_adopted_order),
		cmocka_unit_test(test_time_wait_held_rebind),
		cmocka_unit_test(test_reset_port_release),
		cmocka_unit_test(test_listen_shutdown_port_release),
		cmocka_unit_test(test_fin_wait_2_orphan_rst_syn),
		cmocka_unit_test(test_time_wait_old_rst_fails_paws),
		cmocka_unit_test(test_fin_wait_2_orphan_fin),
		cmocka_unit_test(test_abort_on_data_after_rcv_shutdown),
	};
	return cmocka_run_group_tests_name("tcp_tw", tests, NULL, NULL);
}
