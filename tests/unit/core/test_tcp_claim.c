/*
 * The send copy without the stack lock (stack/CONCURRENCY.md, "The send
 * copy"): tcp_send_claim lends room in the send queue, the caller copies
 * into it with the lock let go, tcp_send_commit counts and pushes it. What
 * the stack does meanwhile must neither move the lent room nor take it for
 * another writer: an ACK that empties the queue, a reset that frees it, a
 * growth, fit or reclaim; and a copy that faults queues nothing.
 */
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

#define TSO "<nop,nop,TS val * ecr *>"

static uint8_t src[64 * 1024];

static void fill(void)
{
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 3);
}

/* Copies the n bytes at p into the claim's ranges, as the shim does. */
static void claim_copy(const struct tcp_ring_claim *cl, const uint8_t *p, size_t n)
{
	size_t first = n < cl->len[0] ? n : cl->len[0];

	memcpy(cl->p[0], p, first);
	if (n > first)
		memcpy(cl->p[1], p + first, n - first);
}

/* Ring level: while a claim is out, the room stays where it was lent. */
static void test_ring_claim_holds_its_room(void **state)
{
	struct tcp_mem m = { .limit = 1 << 20 };
	struct tcp_ring r;
	struct tcp_ring_claim cl;
	static uint8_t out[sizeof(src)];
	size_t cap;

	(void)state;
	fill();
	tcp_ring_init(&r, 16384, &m);
	assert_int_equal(tcp_ring_write(&r, src, 3000), 3000);
	assert_int_equal(tcp_ring_claim(&r, 2000, &cl), 2000);
	assert_int_equal(cl.len[0] + cl.len[1], 2000);
	cap = r.cap;
	assert_true(cap > 4096);
	/* Another writer finds no room while the claim is out. */
	assert_int_equal(tcp_ring_write(&r, src, 10), 0);
	assert_int_equal(tcp_ring_claim(&r, 10, &(struct tcp_ring_claim){ 0 }), 0);
	/* An ACK of everything held: head stays where the claim expects it
	 * (an empty ring otherwise starts again at 0). */
	tcp_ring_consume(&r, 3000);
	assert_int_equal(r.len, 0);
	assert_int_equal(r.head, 3000);
	/* Neither a fit nor a reclaim under pressure lets go of the memory. */
	r.limit = 4096;
	m.limit = r.cap;        /* used > 3/4 of it: pressure */
	tcp_ring_fit(&r);
	tcp_ring_reclaim(&r);
	assert_int_equal(r.cap, cap);
	claim_copy(&cl, src + 3000, 2000);
	assert_int_equal(tcp_ring_commit(&r, &cl, 2000), 2000);
	assert_int_equal(r.len, 2000);
	tcp_ring_peek(&r, 0, out, 2000);
	assert_memory_equal(out, src + 3000, 2000);
	/* And writes go on behind it. */
	r.limit = 16384;
	m.limit = 1 << 20;
	assert_int_equal(tcp_ring_write(&r, src + 5000, 100), 100);
	tcp_ring_peek(&r, 0, out, 2100);
	assert_memory_equal(out, src + 3000, 2100);
	tcp_ring_free(&r);
	assert_int_equal(m.used, 0);
}

/* A claim that wraps, and one whose ring is freed meanwhile: its memory
 * stays writable (the claim's reference) and nothing is added. */
static void test_ring_claim_wraps_and_outlives_free(void **state)
{
	struct tcp_mem m = { .limit = 1 << 20 };
	struct tcp_ring r;
	struct tcp_ring_claim cl;
	static uint8_t out[8192];

	(void)state;
	fill();
	tcp_ring_init(&r, 8192, &m);
	assert_int_equal(tcp_ring_write(&r, src, 6000), 6000);
	tcp_ring_consume(&r, 4000);
	assert_int_equal(tcp_ring_claim(&r, 5000, &cl), 5000);
	assert_int_equal(cl.len[0], 8192 - 6000);
	assert_int_equal(cl.len[1], 5000 - (8192 - 6000));
	claim_copy(&cl, src + 100, 5000);
	assert_int_equal(tcp_ring_commit(&r, &cl, 5000), 5000);
	tcp_ring_peek(&r, 0, out, 7000);
	assert_memory_equal(out, src + 4000, 2000);
	assert_memory_equal(out + 2000, src + 100, 5000);
	tcp_ring_consume(&r, 7000);

	assert_int_equal(tcp_ring_write(&r, src, 1000), 1000);
	assert_int_equal(tcp_ring_claim(&r, 3000, &cl), 3000);
	tcp_ring_free(&r);      /* a reset, or the connection freed */
	claim_copy(&cl, src, 3000);     /* ASan: not a use after free */
	assert_int_equal(tcp_ring_commit(&r, &cl, 3000), 0);
	assert_int_equal(r.len, 0);
	assert_int_equal(m.used, 0);

	/* tcp_ring_claim_drop for a ring the caller can no longer name. */
	tcp_ring_init(&r, 8192, &m);
	assert_int_equal(tcp_ring_claim(&r, 100, &cl), 100);
	r.claimed = 0;          /* tcp_close took it back */
	tcp_ring_free(&r);
	claim_copy(&cl, src, 100);
	tcp_ring_claim_drop(&cl);
	assert_int_equal(m.used, 0);
}

/* A writer racing the ACK that empties the send queue: the bytes copied
 * meanwhile go out right behind what was acknowledged. */
static void test_claim_racing_ack_that_empties_queue(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_ring_claim cl;

	(void)state;
	fill();
	assert_int_equal(tcp_send(c, src, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 " TSO);
	assert_int_equal(tcp_send_claim(c, 2000, &cl), 2000);
	assert_true(tcp_send_claimed(c));
	/* Meanwhile (the lock let go): the peer acknowledges everything, and
	 * another writer must wait. */
	ts_inject(t, ". 1:1(0) ack 1001 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(c->sndq.len, 0);
	assert_int_equal(tcp_send(c, src, 10, t->h->now), -EAGAIN);
	ts_expect_none(t);
	claim_copy(&cl, src + 1000, 2000);
	assert_int_equal(tcp_send_commit(c, &cl, 2000, 0, t->h->now), 2000);
	assert_false(tcp_send_claimed(c));
	ts_expect(t, ". 1001:2449(1448) ack 1 win 502 " TSO);
	ts_expect(t, "P. 2449:3001(552) ack 1 win 502 " TSO);
	{
		static uint8_t out[2000];

		tcp_ring_peek(&c->sndq, 0, out, 2000);
		assert_memory_equal(out, src + 1000, 2000);
	}
	ts_inject(t, ". 1:1(0) ack 3001 win 502 <nop,nop,TS val 120 ecr 0>");
	assert_int_equal(tcp_send(c, src, 10, t->h->now), 10);
	ts_expect(t, "P. 3001:3011(10) ack 1 win 502 " TSO);
	ts_abort(t, c);
	ts_free(t);
}

/* A reset during the copy: nothing is queued or sent, the send answers the
 * reset's error; a fault in the program's buffer: nothing queued, EFAULT,
 * and the next send goes on where the queue was. */
static void test_claim_reset_and_fault_during_copy(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_ring_claim cl;

	(void)state;
	fill();
	assert_int_equal(tcp_send_claim(c, 500, &cl), 500);
	assert_int_equal(tcp_send_commit(c, &cl, 500, -EFAULT, t->h->now), -EFAULT);
	assert_int_equal(c->sndq.len, 0);
	ts_expect_none(t);
	assert_int_equal(tcp_send(c, src, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);

	assert_int_equal(tcp_send_claim(c, 3000, &cl), 3000);
	ts_inject(t, "R. 1:1(0) ack 101 win 502");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	claim_copy(&cl, src, 3000);
	assert_int_equal(tcp_send_commit(c, &cl, 3000, 0, t->h->now), -ECONNRESET);
	assert_false(tcp_send_claimed(c));
	ts_expect_none(t);
	assert_int_equal(tcp_send(c, src, 10, t->h->now), -EPIPE);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* A close by another thread during the copy takes the claim back: the
 * orphan's queue works for it again, and the sender only lets go of its
 * reference. */
static void test_claim_close_during_copy(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct tcp_ring_claim cl;

	(void)state;
	fill();
	assert_int_equal(tcp_send(c, src, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win 502 " TSO);
	assert_int_equal(tcp_send_claim(c, 3000, &cl), 3000);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 101:101(0) ack 1 win 502 " TSO);
	claim_copy(&cl, src, 3000);
	tcp_ring_claim_drop(&cl);
	ts_inject(t, "F. 1:1(0) ack 102 win 502 <nop,nop,TS val 110 ecr 0>");
	ts_expect(t, ". 102:102(0) ack 2 win 502 " TSO);
	ts_advance_ms(t, 61000);        /* TIME_WAIT */
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_claim_holds_its_room),
		cmocka_unit_test(test_ring_claim_wraps_and_outlives_free),
		cmocka_unit_test(test_claim_racing_ack_that_empties_queue),
		cmocka_unit_test(test_claim_reset_and_fault_during_copy),
		cmocka_unit_test(test_claim_close_during_copy),
	};
	return cmocka_run_group_tests_name("tcp_claim", tests, NULL, NULL);
}
