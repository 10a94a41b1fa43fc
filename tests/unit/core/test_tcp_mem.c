/* The stack-wide TCP memory budget (PSTACK_TCP_MEM, like Linux's tcp_mem):
 * every ring and every out-of-order block is charged to it; a ring may always
 * hold TCP_RING_MIN bytes, so every connection keeps making progress; the
 * room a ring offers (receive window, POLLOUT) shrinks with the budget; data
 * that arrives while the budget is spent is dropped and counted, never
 * half-stored; empty rings give memory back under pressure, and a send ring
 * an ACK empties gives its block back at once. */
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
#include "stack/core/tcp/tcp_ring.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t src[400000];

static void fill(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13 + 5);
}

/* Ring level: growth stops at the budget, the minimum is always granted,
 * freeing and reclaiming give the bytes back. */
static void test_ring_budget(void **state)
{
	struct tcp_mem m = { .limit = 64 * 1024 };
	struct tcp_ring a, b;

	(void)state;
	fill();
	tcp_ring_init(&a, 1u << 20, &m);
	tcp_ring_init(&b, 1u << 20, &m);
	/* a may take its floor plus the whole budget, no more */
	assert_int_equal(tcp_ring_space(&a), TCP_RING_MIN + 64 * 1024);
	assert_int_equal(tcp_ring_write(&a, src, 100000), TCP_RING_MIN + 64 * 1024);
	assert_int_equal(a.cap, TCP_RING_MIN + 64 * 1024);
	assert_int_equal(m.used, a.cap);
	assert_int_equal(tcp_ring_space(&a), 0);
	/* b still gets its minimum, even with the budget spent */
	assert_int_equal(tcp_ring_space(&b), TCP_RING_MIN);
	assert_int_equal(tcp_ring_write(&b, src, 10000), TCP_RING_MIN);
	assert_int_equal(tcp_ring_write(&b, src, 10000), 0);
	assert_int_equal(m.used, a.cap + b.cap);
	assert_true(m.refused > 0);
	assert_true(m.used <= m.limit + 2 * TCP_RING_MIN);
	/* the data is intact */
	{
		static uint8_t out[TCP_RING_MIN + 64 * 1024];

		tcp_ring_peek(&a, 0, out, a.len);
		assert_memory_equal(out, src, a.len);
	}
	/* a drains; under pressure its empty ring goes back to the budget */
	assert_true(tcp_mem_pressure(&m));
	tcp_ring_consume(&a, a.len);
	tcp_ring_reclaim(&a);
	assert_null(a.buf);
	assert_int_equal(m.used, b.cap);
	/* and b can grow into it */
	assert_int_equal(tcp_ring_write(&b, src, 20000), 20000);
	assert_int_equal(b.len, TCP_RING_MIN + 20000);
	/* a small empty ring is kept (no churn for the minimum) */
	tcp_ring_consume(&b, b.len);
	tcp_ring_free(&b);
	tcp_ring_free(&a);
	tcp_ring_init(&a, 1u << 20, &m);
	assert_int_equal(tcp_ring_write(&a, src, 100), 100);
	tcp_ring_consume(&a, 100);
	tcp_ring_reclaim(&a);
	assert_non_null(a.buf);
	tcp_ring_free(&a);
	assert_int_equal(m.used, 0);
	assert_true(m.peak >= 64 * 1024);
}

static int copy_plain(void *dst, const void *src_, size_t n)
{
	memcpy(dst, src_, n);
	return 0;
}

/*
 * A ring whose block nothing else holds grows where it lies: what it held
 * is not copied into a new block (each such copy faulted in fresh pages:
 * nc sending 64 MiB took about 360 of its 640 page faults there), and bytes
 * that wrapped to the block's start still follow the others. A block a
 * frame still points into (tcp_ring_hold) is left to the frame: the ring
 * copies into a new one, and the frame's bytes stay as they were.
 *
 * (The C library grows a large block by moving its pages: glibc's block
 * above M_MMAP_THRESHOLD is its own mapping, and its realloc is mremap; a
 * small one it extends in place or copies. Either way, the ring itself
 * copies nothing.)
 */
static void test_ring_grows_in_place(void **state)
{
	struct tcp_mem m = { .limit = 64u << 20 };
	struct tcp_ring r;
	static uint8_t out[sizeof(src)];
	const uint8_t *p[2];
	size_t len[2], cap, w;
	void *owner;

	(void)state;
	fill();
	tcp_ring_init(&r, 1u << 20, &m);
	/* Doubling from the minimum to 128 KiB: nothing copied. */
	for (w = 0; w < 100 * 1024; w += 1000)
		assert_int_equal(tcp_ring_write(&r, src + w, 1000), 1000);
	assert_int_equal(r.cap, 128 * 1024);
	assert_int_equal(r.grow_copied, 0);
	tcp_ring_peek(&r, 0, out, r.len);
	assert_memory_equal(out, src, r.len);

	/* Wrapped: the bytes at the block's start move after the old end. */
	cap = r.cap;
	tcp_ring_consume(&r, r.len - 1000);         /* src[w - 1000, w) left, near the end */
	assert_int_equal(tcp_ring_write(&r, src + w, cap - 1000), cap - 1000);
	assert_true(r.head + r.blen > r.cap);       /* wrapped, full */
	assert_int_equal(tcp_ring_write(&r, src + w + cap - 1000, 5000), 5000);
	assert_int_equal(r.cap, 2 * cap);
	assert_int_equal(r.grow_copied, 0);
	assert_int_equal(r.len, cap + 5000);
	tcp_ring_peek(&r, 0, out, r.len);
	assert_memory_equal(out, src + w - 1000, r.len);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);

	/* Held by a frame: copied into a new block; the frame's bytes stay. */
	tcp_ring_init(&r, 1u << 20, &m);
	assert_int_equal(tcp_ring_write(&r, src, TCP_RING_MIN), TCP_RING_MIN);
	assert_int_equal(tcp_ring_hold(&r, 0, 1000, p, len, &owner), 1);
	assert_int_equal(tcp_ring_write(&r, src + TCP_RING_MIN, 3 * TCP_RING_MIN), 3 * TCP_RING_MIN);
	assert_int_equal(r.grow_copied, TCP_RING_MIN);
	assert_ptr_not_equal(r.buf, p[0]);
	assert_memory_equal(p[0], src, len[0]);
	tcp_ring_release(owner);
	tcp_ring_peek(&r, 0, out, r.len);
	assert_memory_equal(out, src, r.len);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);
}

/*
 * A full ring whose limit moves up in small steps (a send buffer following
 * the congestion window) grows with room to spare, not to each step: every
 * growth copies what the ring holds into fresh pages. A limit that stays
 * put gets an allocation of exactly its size, and neither is ever larger
 * than tcp_ring_fit leaves it. The bytes stay in order throughout.
 */
static void test_ring_growth_steps(void **state)
{
	struct tcp_mem m = { .limit = 64u << 20 };
	struct tcp_ring r;
	static uint8_t out[sizeof(src)];
	size_t limit = 16384, growths = 0, steps = 0, cap, wr = 0, rd = 0, n;

	(void)state;
	fill();     /* src[i] = i * 13 + 5: the byte at stream offset p is p * 13 + 5 */
	tcp_ring_init(&r, limit, &m);
	while (limit < 380000) {
		/* Half of what it holds goes (acknowledged), then it is filled
		 * to the limit, which moves up 2%. */
		n = r.len / 2;
		tcp_ring_consume(&r, n);
		rd += n;
		cap = r.cap;
		while ((n = tcp_ring_write(&r, src + wr % 256, tcp_ring_space(&r))) > 0)
			wr += n;
		assert_int_equal(r.len, limit);
		assert_false(tcp_ring_oversized(&r));
		if (r.cap != cap) {
			growths++;
			tcp_ring_peek(&r, 0, out, r.len);
			for (size_t k = 0; k < r.len; k++)
				assert_int_equal(out[k], (uint8_t)((rd + k) * 13 + 5));
		}
		steps++;
		limit += limit / 50;
		r.limit = limit;
	}
	/* Growing to each step would be a growth per step. */
	assert_true(steps > 100);
	assert_true(growths <= 12);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);

	/* A limit that does not move (SO_SNDBUF): exactly its size. */
	tcp_ring_init(&r, 100000, &m);
	assert_int_equal(tcp_ring_write(&r, src, 150000), 100000);
	assert_int_equal(r.cap, 100000);
	assert_int_equal(m.used, 100000);
	tcp_ring_free(&r);
}

/* Zero-copy receive at the ring's level: bytes kept in a frame's buffer
 * (tcp_ring_adopt) count as held, against the limit, and charge the
 * buffer's whole size to the budget until read; writes behind them (write,
 * writev) go after them, the ring's own bytes before; peeks and partial
 * consumption see one stream; freeing the ring lets go of the buffer. */
static void test_ring_adopted_chunks(void **state)
{
	struct tcp_mem m = { .limit = 1 << 20 };
	struct tcp_ring r;
	long live = pkb_live();
	struct pkb_rx *b = pkb_rx_alloc(20000);
	static uint8_t out[40000];
	struct sock_iov v[2] = { { src + 13000, 500 }, { src + 13500, 1500 } };

	(void)state;
	fill();
	tcp_ring_init(&r, 30000, &m);
	memcpy(b->data, src + 1000, 10000);
	assert_int_equal(tcp_ring_write(&r, src, 1000), 1000);
	assert_int_equal(tcp_ring_adopt(&r, b->data, 10000, b), 10000);
	pkb_rx_put(b);          /* the reader's reference: the ring's is left */
	assert_int_equal(pkb_live(), live + 1);
	assert_int_equal(r.len, 11000);
	assert_int_equal(r.blen, 1000);
	assert_true(m.used >= r.cap + 20000);
	/* behind the kept bytes: 2000 copied, then 2000 from a writev */
	assert_int_equal(tcp_ring_write(&r, src + 11000, 2000), 2000);
	assert_int_equal(tcp_ring_writev(&r, v, 2, 2000, copy_plain), 2000);
	assert_int_equal(r.blen, 1000);
	assert_int_equal(r.len, 15000);
	/* the limit counts them all: 15000 more at most */
	assert_int_equal(tcp_ring_space(&r), 15000);
	tcp_ring_peek(&r, 0, out, r.len);
	assert_memory_equal(out, src, 15000);
	tcp_ring_peek(&r, 999, out, 10002);
	assert_memory_equal(out, src + 999, 10002);
	/* partly read, across the ring's end and into the kept frame */
	tcp_ring_consume(&r, 4321);
	assert_int_equal(r.len, 15000 - 4321);
	assert_int_equal(r.blen, 0);
	tcp_ring_peek(&r, 0, out, r.len);
	assert_memory_equal(out, src + 4321, r.len);
	/* the ring's own bytes once the chunks are gone */
	tcp_ring_consume(&r, 15000 - 4321);
	assert_null(r.chunks);
	assert_int_equal(pkb_live(), live);     /* the buffer is free */
	assert_int_equal(m.used, r.cap > r.resv ? r.cap : r.resv);
	/* kept again and freed unread */
	b = pkb_rx_alloc(20000);
	memcpy(b->data, src, 10000);
	assert_int_equal(tcp_ring_adopt(&r, b->data, 10000, b), 10000);
	pkb_rx_put(b);
	assert_int_equal(pkb_live(), live + 1);
	tcp_ring_free(&r);
	assert_int_equal(pkb_live(), live);
	assert_int_equal(m.used, 0);
}

/* Without pressure an empty ring keeps its allocation (no malloc churn on a
 * busy connection). */
static void test_reclaim_only_under_pressure(void **state)
{
	struct tcp_mem m = { .limit = 1u << 20 };
	struct tcp_ring r;

	(void)state;
	tcp_ring_init(&r, 1u << 20, &m);
	assert_int_equal(tcp_ring_write(&r, src, 50000), 50000);
	tcp_ring_consume(&r, 50000);
	assert_false(tcp_mem_pressure(&m));
	tcp_ring_reclaim(&r);
	assert_non_null(r.buf);
	assert_int_equal(m.used, r.cap);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);
}

/* A ring that sheds (an ACK emptied a send ring) gives its allocation and
 * its charge back whatever the budget says, as Linux frees the buffers an
 * ACK covers; its next write takes a block again (from the cache a shed
 * block goes to), and a ring at its minimum keeps it. */
static void test_shed_when_drained(void **state)
{
	struct tcp_mem m = { .limit = 64u << 20 };
	struct tcp_ring r;
	static uint8_t out[100000];
	size_t shed;

	(void)state;
	fill();
	tcp_ring_init(&r, 1u << 20, &m);
	assert_int_equal(tcp_ring_write(&r, src, 100000), 100000);
	assert_true(r.cap >= 100000);
	assert_int_equal(m.used, r.cap);
	/* not while bytes are held */
	tcp_ring_consume(&r, 99999);
	tcp_ring_shed(&r);
	assert_non_null(r.buf);
	tcp_ring_consume(&r, 1);
	assert_false(tcp_mem_pressure(&m));
	shed = r.cap;
	tcp_ring_shed(&r);
	assert_null(r.buf);
	assert_int_equal(r.cap, 0);
	assert_int_equal(tcp_ring_mem(&r), 0);
	assert_int_equal(m.used, 0);
	/* it fills again, into a block of the size it shed (not a smaller
	 * one to grow step by step), even for a short write; charged for
	 * what it is, the bytes intact */
	assert_int_equal(tcp_ring_write(&r, src + 7, 1000), 1000);
	assert_int_equal(r.cap, shed);
	assert_int_equal(tcp_ring_write(&r, src + 1007, 99000), 99000);
	assert_int_equal(r.cap, shed);
	assert_int_equal(m.used, r.cap);
	tcp_ring_peek(&r, 0, out, 100000);
	assert_memory_equal(out, src + 7, 100000);
	tcp_ring_consume(&r, 100000);
	tcp_ring_shed(&r);
	assert_int_equal(m.used, 0);
	tcp_ring_free(&r);
	/* a ring at its minimum keeps its block (no churn for small sends) */
	tcp_ring_init(&r, 1u << 20, &m);
	assert_int_equal(tcp_ring_write(&r, src, 100), 100);
	assert_int_equal(r.cap, TCP_RING_MIN);
	tcp_ring_consume(&r, 100);
	tcp_ring_shed(&r);
	assert_non_null(r.buf);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);
}

/* A connection whose sent bytes are all acknowledged holds no send memory
 * beyond the minimum: 1000 bulk connections waiting their turn with their
 * program each kept a block of 113 KiB (Linux frees each buffer as the ACK
 * covering it comes, tcp_clean_rtx_queue). */
static void test_acked_send_ring_sheds(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_mem *m = &t->h->s->tcp->mem;
	char line[512], ackline[200];
	size_t sent = 0;
	unsigned last = 0;

	(void)state;
	fill();
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	while (sent < 60000) {
		long n = tcp_send(c, src + sent, 60000 - sent, t->h->now);

		assert_true(n > 0);
		sent += (size_t)n;
	}
	assert_true(tcp_ring_mem(&c->sndq) >= 60000);
	while (last < 60001) {
		unsigned a, b;

		while (ts_next(t, line, sizeof(line))) {
			assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b), 2);
			last = b;
		}
		/* a partial ACK leaves the ring its block */
		snprintf(ackline, sizeof(ackline), ". 1:1(0) ack %u win 65535 <nop,nop,TS val 200 ecr 0>", last - 1);
		ts_inject(t, ackline);
		assert_true(tcp_ring_mem(&c->sndq) > 0);
		snprintf(ackline, sizeof(ackline), ". 1:1(0) ack %u win 65535 <nop,nop,TS val 200 ecr 0>", last);
		ts_inject(t, ackline);
	}
	assert_int_equal(tcp_outq(c), 0);
	assert_int_equal(tcp_ring_mem(&c->sndq), 0);
	/* the connection's charge is its receive ring's alone */
	assert_int_equal(m->used, tcp_ring_mem(&c->rcvq) > c->rcvq.resv ? tcp_ring_mem(&c->rcvq) : c->rcvq.resv);
	/* and it sends again */
	assert_int_equal(tcp_send(c, src, 3000, t->h->now), 3000);
	assert_true(ts_next(t, line, sizeof(line)));
	assert_non_null(strstr(line, " 60001:"));
	while (ts_next(t, line, sizeof(line)))
		;
	ts_abort(t, c);
	ts_free(t);
}

/* Active open on a stack whose budget is already small; returns the
 * connection and the window (unscaled) of the handshake's last ACK. */
static struct tcp_conn *connect_small(struct tscript *t, size_t limit, unsigned *win)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	char line[512], want[128];

	t->h->s->tcp->mem.limit = limit;
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	/* the SYN offers what the budget can hold: its minimum plus the budget,
	 * in whole segments (Linux's tcp_select_initial_window) */
	snprintf(want, sizeof(want), "S 0:0(0) win %zu <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>",
		 (TCP_RING_MIN + limit) / 1460 * 1460);
	ts_expect(t, want);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	assert_true(ts_next(t, line, sizeof(line)));
	assert_int_equal(sscanf(strstr(line, "win "), "win %u", win), 1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* A bulk send under a budget far smaller than the send buffer: the
 * application is told EAGAIN / not writable when the budget is spent, is
 * woken when ACKs free room (once it may go on, as Linux's
 * sk_stream_write_space: not by every ACK), and every byte arrives in
 * order. */
static void test_send_within_budget(void **state)
{
	struct tscript *t = ts_new(100);
	unsigned win;
	struct tcp_conn *c = connect_small(t, 16 * 1024, &win);
	struct tcp_mem *m = &t->h->s->tcp->mem;
	struct ts_wake w;
	char line[512];
	size_t sent = 0, acked = 0;
	unsigned blocked = 0;

	(void)state;
	fill();
	ts_watch(c, &w);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	while (acked < sizeof(src)) {
		bool was_blocked = false;
		int before = w.count;

		/* write until the budget says no, before any ACK comes back */
		while (sent < sizeof(src)) {
			long n = tcp_send(c, src + sent, sizeof(src) - sent, t->h->now);

			if (n < 0) {
				/* the send buffer (1 MiB) is not full: the budget is */
				assert_int_equal(n, -EAGAIN);
				assert_true(tcp_outq(c) < 64 * 1024);
				assert_int_equal(tcp_poll(c) & SOCK_POLLOUT, 0);
				blocked++;
				was_blocked = true;
				break;
			}
			sent += (size_t)n;
		}
		/* each ring's minimum beyond the budget */
		assert_true(m->used <= m->limit + 2 * TCP_RING_MIN);
		while (ts_next(t, line, sizeof(line))) {
			unsigned a, b;
			char ackline[200];

			assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b), 2);
			assert_memory_equal(t->last_payload, src + a - 1, b - a);
			acked = b - 1;
			snprintf(ackline, sizeof(ackline), ". 1:1(0) ack %u win 8192 <nop,nop,TS val 200 ecr 0>", b);
			ts_inject(t, ackline);
		}
		if (was_blocked)
			assert_true(w.count > before);      /* room freed: the writer is woken */
	}
	assert_true(blocked > 0);
	assert_int_equal(tcp_outq(c), 0);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	ts_abort(t, c);
	ts_free(t);
}

/* The receive side: the window offered never exceeds what the budget can
 * hold (the ring reserves what it advertised), so data inside it is never
 * dropped for lack of memory; when others hold the budget the window stays
 * closed at the ring's minimum, and it reopens when memory comes back. */
static void test_receive_within_budget(void **state)
{
	struct tscript *t = ts_new(100);
	unsigned win, ack;
	struct tcp_conn *c = connect_small(t, 32 * 1024, &win);
	struct tcp_mem *m = &t->h->s->tcp->mem;
	struct tcp_ring hog;
	static uint8_t buf[65536];
	char line[512], seg[200];
	uint32_t rel = 1, offered = win << 7;

	(void)state;
	/* the SYN's window (what the budget holds, in whole segments) at the
	 * scale's unit: up when the ring has room for it, else down */
	assert_true(offered == (TCP_RING_MIN + 32 * 1024) / 1460 * 1460 / 128 * 128 ||
		    offered == ((TCP_RING_MIN + 32 * 1024) / 1460 * 1460 + 127) / 128 * 128);
	/* the peer fills the whole window: all of it is kept */
	while (rel + 1448 <= 1 + offered) {
		snprintf(seg, sizeof(seg), ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>", rel, rel + 1448);
		ts_inject(t, seg);
		rel += 1448;
	}
	assert_int_equal(tcp_inq(c), rel - 1);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_MEM], 0);
	assert_true(m->used <= m->limit + TCP_RING_MIN);
	ts_advance_ms(t, 40);
	while (ts_next(t, line, sizeof(line)))
		;
	/* someone else takes what is left (its minimum, beyond the budget) */
	tcp_ring_init(&hog, 1u << 20, m);
	assert_int_equal(tcp_ring_write(&hog, src, 100000), TCP_RING_MIN);
	/* the application reads everything: the window reopens, but only as far
	 * as the budget lets the ring grow back: the hog holds part of it */
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), rel - 1);
	ts_check_bytes(buf, rel - 1, 1);
	assert_true(ts_next(t, line, sizeof(line)));
	assert_int_equal(sscanf(strstr(line, "ack "), "ack %u win %u", &ack, &win), 2);
	assert_int_equal(ack, rel);
	assert_true(win > 0);
	assert_true((win << 7) <= 32 * 1024);      /* budget + minimum - the hog's minimum */
	tcp_ring_free(&hog);
	ts_abort(t, c);
	ts_free(t);
}

/* Out-of-order data lives on the ring's reservation while the ring has not
 * grown into it; beyond that it is charged and is the first to be refused. */
static void test_out_of_order_within_budget(void **state)
{
	struct tscript *t = ts_new(100);
	unsigned win;
	struct tcp_conn *c = connect_small(t, 16 * 1024, &win);
	struct tcp_mem *m = &t->h->s->tcp->mem;
	struct tcp_ring hog;
	static uint8_t buf[65536];
	char line[512], seg[200];
	size_t before = m->used;
	unsigned nseg = (win << 7) / 1448;

	(void)state;
	/* a hole at 1, then the rest of the window out of order: held without
	 * a byte more charged, nothing dropped */
	for (unsigned i = 1; i < nseg; i++) {
		snprintf(seg, sizeof(seg), ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val %u ecr 0>", 1 + i * 1448,
			 1 + (i + 1) * 1448, 110 + i);
		ts_inject(t, seg);
	}
	assert_int_equal(c->ofo_bytes, (nseg - 1) * 1448);
	assert_int_equal(m->used, before);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_MEM], 0);
	/* the budget is spent elsewhere: beyond the reservation, out-of-order
	 * data is refused (counted), never half kept */
	tcp_ring_reserve(&c->rcvq, c->rcvq.cap + c->ofo_bytes);   /* as if the window were all held */
	tcp_ring_init(&hog, 1u << 20, m);
	tcp_ring_write(&hog, src, 100000);
	assert_true(m->used >= m->limit);
	snprintf(seg, sizeof(seg), ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 200 ecr 0>", 1 + nseg * 1448,
		 1 + (nseg + 1) * 1448);
	ts_inject(t, seg);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_MEM], 1);
	assert_int_equal(c->ofo_bytes, (nseg - 1) * 1448);
	tcp_ring_free(&hog);
	/* the hole is filled: everything moves to the ring, in order */
	ts_inject(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val 120 ecr 0>");
	assert_int_equal(c->ofo_bytes, 0);
	assert_int_equal(tcp_inq(c), nseg * 1448);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), nseg * 1448);
	ts_check_bytes(buf, nseg * 1448, 1);
	while (ts_next(t, line, sizeof(line)))
		;
	ts_abort(t, c);
	ts_free(t);
}

/* Receive buffer autotuning (Linux's dynamic right-sizing): a connection
 * starts with 64 KiB; an application that reads more per round trip than
 * the round trip before gets a larger buffer, up to 6 MiB, and the peer is
 * offered the larger window; one that set SO_RCVBUF keeps what it asked
 * for. */
static void autotune_run(bool locked)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static uint8_t buf[8 << 20];        /* a round is read in one call */
	char line[512], seg[200];
	uint32_t rel = 1;
	unsigned win = 0;
	int v;

	if (locked)
		assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 1 << 19), 0);     /* 1 MiB, like the default */
	for (int round = 0; round < 8; round++) {
		/* 60% of the buffer in, all read, then a round trip's time */
		int nseg;
		size_t got = 0;

		assert_int_equal(tcp_getopt(c, TCP_OPT_RCVBUF, &v), 0);
		nseg = (int)((size_t)v * 6 / 10 / 1448);
		for (int i = 0; i < nseg; i++) {
			snprintf(seg, sizeof(seg), ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 110 ecr 0>", rel, rel + 1448);
			ts_inject(t, seg);
			rel += 1448;
			if (i % 256 == 255)
				while (ts_next(t, line, sizeof(line)))
					;
		}
		while (got < (size_t)nseg * 1448) {
			long r = tcp_recv(c, buf, sizeof(buf), 0, t->h->now);

			assert_true(r > 0);
			got += (size_t)r;
		}
		ts_advance_ms(t, 2);
		while (ts_next(t, line, sizeof(line)))
			assert_int_equal(sscanf(strstr(line, "win "), "win %u", &win), 1);
	}
	assert_int_equal(tcp_getopt(c, TCP_OPT_RCVBUF, &v), 0);
	if (locked) {
		assert_int_equal(v, 1 << 20);
		assert_true(win <= 8192);
	} else {
		assert_int_equal(v, 6 << 20);        /* 64 KiB doubled each round, up to tcp_rmem[2] */
		assert_true(win > 8192);            /* the peer was offered more than 1 MiB */
	}
	ts_abort(t, c);
	ts_free(t);
}

static void test_receive_autotuning(void **state)
{
	(void)state;
	autotune_run(false);
	autotune_run(true);
}

static struct tcp_conn_info rcv_info(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i;
}

/* n full segments from rel, the peer's TSecr echoing ecr; the ACKs drained. */
static uint32_t feed(struct tscript *t, uint32_t rel, int n, uint32_t ecr)
{
	char line[512];

	for (int i = 0; i < n; i++, rel += 1448)
		ts_injectf(t, ". %u:%u(1448) ack 1 win 502 <nop,nop,TS val 120 ecr %u>", rel, rel + 1448, ecr);
	while (ts_next(t, line, sizeof(line)))
		;
	return rel;
}

/* Linux 6.18's rules, step by step (tcp_init_buffer_space,
 * tcp_rcv_space_adjust, tcp_rcvbuf_grow): tcpi_rcv_space starts at ten
 * segments (14480 with timestamps); nothing is measured before the
 * receiver has an RTT estimate; once per receiver's RTT (20 ms here, from
 * a timestamp echo) the bytes read in it, less what waits unread, are
 * compared with the last interval's; more grows the buffer to twice them
 * plus twice their growth over the last interval scaled
 * (65160 read after 14480: 130320 + 2 * 456120 = 1042560), and the window
 * clamp follows; less, or the same read while as much waits unread,
 * changes nothing; SO_RCVBUF locks the buffer but tcpi_rcv_space still
 * follows. */
static void rcv_space_run(bool locked)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	static uint8_t buf[1 << 20];
	uint32_t rel = 1, ecr;
	size_t limit0;

	if (locked)
		assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 1 << 19), 0);
	limit0 = c->rcvq.limit;
	assert_int_equal(rcv_info(t, c).rcv_space, 14480);
	/* Before any estimate: the reads are counted, nothing grows (the
	 * echo of this very millisecond is no sample). */
	rel = feed(t, rel, 4, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 4 * 1448);
	assert_int_equal(rcv_info(t, c).rcv_rtt_us, 0);
	assert_int_equal(c->rcvq.limit, limit0);
	/* 20 ms after a TSval of 1 ms later, segments echoing it: the
	 * estimate is 20 ms; 41 segments more read (45 in the interval,
	 * 65160 bytes). */
	ts_advance_ms(t, 1);
	ecr = tcp_ts_now(c, t->h->now) - t->ts_base;     /* (relative, as the script writes it) */
	ts_advance_ms(t, 20);
	rel = feed(t, rel, 41, ecr);
	assert_int_equal(rcv_info(t, c).rcv_rtt_us, 20000);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 41 * 1448);
	assert_int_equal(rcv_info(t, c).rcv_space, 65160);
	if (locked) {
		assert_int_equal(c->rcvq.limit, limit0);
	} else {
		assert_int_equal(c->rcvq.limit, 1042560);
		assert_int_equal(c->rcv_clamp, 1042560);
	}
	limit0 = c->rcvq.limit;
	/* Half an RTT later, a read: inside the interval, nothing. */
	ts_advance_ms(t, 10);
	rel = feed(t, rel, 30, ecr);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 30 * 1448);
	assert_int_equal(rcv_info(t, c).rcv_space, 65160);
	/* At the RTT: 60 segments read (86880 > 65160), but 20 (28960) wait
	 * unread: 57920, no more than the last interval's, nothing grows. */
	ts_advance_ms(t, 10);
	rel = feed(t, rel, 50, ecr);
	assert_int_equal(tcp_recv(c, buf, 30 * 1448, 0, t->h->now), 30 * 1448);
	assert_int_equal(rcv_info(t, c).rcv_space, 65160);
	assert_int_equal(c->rcvq.limit, limit0);
	/* The next RTT: those 20 and 60 more read (115840): it grows,
	 * to 2 * 115840 + 2 * (231680 * 50680 / 65160) = 591872. */
	ts_advance_ms(t, 20);
	rel = feed(t, rel, 60, ecr);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 80 * 1448);
	assert_int_equal(rcv_info(t, c).rcv_space, 115840);
	assert_int_equal(c->rcvq.limit, locked ? limit0 : 1042560);
	ts_abort(t, c);
	ts_free(t);
}

static void test_receive_autotuning_linux_rules(void **state)
{
	(void)state;
	rcv_space_run(false);
	rcv_space_run(true);
}

/* Linux 6.16's "adjust rcvbuf in presence of reorders" (tcp_data_queue_ofo
 * calls tcp_rcvbuf_grow with the last interval's reads): out-of-order data
 * near the window's edge grows the buffer to twice tcpi_rcv_space (14480
 * at first) plus its span from RCV.NXT: 28960 + 63712 = 92672. SO_RCVBUF
 * keeps the buffer. */
static void ofo_grow_run(bool locked)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	size_t limit0;
	char line[512];

	if (locked)
		assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 1 << 19), 0);
	limit0 = c->rcvq.limit;
	ts_inject(t, ". 62265:63713(1448) ack 1 win 502 <nop,nop,TS val 120 ecr 0>");
	while (ts_next(t, line, sizeof(line)))
		;
	assert_int_equal(c->ofo_bytes, 1448);
	assert_int_equal(c->rcvq.limit, locked ? limit0 : 92672);
	ts_abort(t, c);
	ts_free(t);
}

static void test_receive_autotuning_reorder(void **state)
{
	(void)state;
	ofo_grow_run(false);
	ofo_grow_run(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_budget),
		cmocka_unit_test(test_reclaim_only_under_pressure),
		cmocka_unit_test(test_shed_when_drained),
		cmocka_unit_test(test_acked_send_ring_sheds),
		cmocka_unit_test(test_ring_adopted_chunks),
		cmocka_unit_test(test_ring_growth_steps),
		cmocka_unit_test(test_send_within_budget),
		cmocka_unit_test(test_receive_within_budget),
		cmocka_unit_test(test_out_of_order_within_budget),
		cmocka_unit_test(test_receive_autotuning),
		cmocka_unit_test(test_receive_autotuning_linux_rules),
		cmocka_unit_test(test_receive_autotuning_reorder),
		cmocka_unit_test(test_ring_grows_in_place),
	};
	return cmocka_run_group_tests_name("tcp_mem", tests, NULL, NULL);
}
