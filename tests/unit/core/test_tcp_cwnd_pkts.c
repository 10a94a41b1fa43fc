/* The congestion window limits packets in flight, as Linux's tcp_cwnd_test
 * (tcp_packets_in_flight: packets out, less SACKed and lost, plus resent;
 * a TSO frame counts its segments, a short segment one), not bytes: with
 * TCP_NODELAY, twenty writes of 100 bytes on a fresh connection (cwnd 10,
 * MSS 1000) send ten segments and wait for an ACK, and a flight of ten
 * such segments fills the window (tcp_cwnd_validate's is_cwnd_limited),
 * so that slow start grows it. pstack compared bytes rounded up to
 * segments: the twenty writes (2000 bytes, two segments' worth) all went,
 * and ten 100-byte segments left the window unused, so cwnd stayed 10.
 * Measured on the wire against Linux 6.18: rawframes
 * nodelay_small_writes_cwnd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

#define MSS 1000u

static uint8_t big[1 << 16];

/* An established connection, Nagle off, slow start with the initial
 * window of 10; n writes of 100 bytes: the segments that leave at once
 * are checked (one each), and nothing after them. */
static struct tcp_conn *conn_writes(struct tscript *t, unsigned n, unsigned expect)
{
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(ts_cwnd(t, c), 10);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	for (unsigned i = 0; i < expect; i++)
		ts_expect_data(t, 1 + 100 * i, 101 + 100 * i);
	ts_expect_none(t);
	return c;
}

/* Twenty writes: ten segments, then the rest waits for the ACK (one
 * segment of the ten writes' 1000 bytes, as Linux's tail skb collects
 * them). */
static void test_small_writes_fill_cwnd(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn_writes(t, 20, 10);

	(void)state;
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	ts_expect_data(t, 1001, 2001);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* An ACK of two of the ten in flight leaves room for four more packets
 * (cwnd 12, eight out), not for the bytes of many. */
static void test_partial_ack_room_in_packets(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn_writes(t, 10, 10);

	(void)state;
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 201 win 257");
	assert_int_equal(ts_cwnd(t, c), 12);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	for (unsigned i = 0; i < 4; i++)
		ts_expect_data(t, 1001 + 100 * i, 1101 + 100 * i);
	ts_expect_none(t);
	ts_inject(t, ". 1:1(0) ack 1401 win 257");
	ts_expect_data(t, 1401, 1601);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Ten 100-byte segments fill cwnd: their ACK doubles it in slow start
 * (Linux's tcp_is_cwnd_limited on is_cwnd_limited). */
static void test_small_flight_is_cwnd_limited(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = conn_writes(t, 10, 10);

	(void)state;
	assert_true(c->cc.cwnd_limited);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	assert_int_equal(ts_cwnd(t, c), 20);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* Full-sized data is as before: a TSO frame of ten segments fills cwnd
 * of 10, and the next write waits. */
static void test_tso_frame_counts_segments(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	assert_int_equal(tcp_send(c, big, 10 * MSS, t->h->now), 10 * MSS);
	ts_expect_data(t, 1, 10001);
	assert_int_equal(tcp_send(c, big, 100, t->h->now), 100);
	ts_expect_none(t);
	assert_true(c->cc.cwnd_limited);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 257");
	assert_int_equal(ts_cwnd(t, c), 20);
	ts_expect_data(t, 10001, 10101);
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_writes_fill_cwnd),
		cmocka_unit_test(test_partial_ack_room_in_packets),
		cmocka_unit_test(test_small_flight_is_cwnd_limited),
		cmocka_unit_test(test_tso_frame_counts_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
