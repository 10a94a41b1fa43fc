/*
 * Deferred transmission (stack/host/txq.c): the host's output hook
 * queues the frames the stack makes, in order, until the thread that made
 * them lets go of the stack and writes them (txq_take and txq_send, in the
 * runner). Checked here: nothing reaches the device before that, frames
 * leave in the order they were made, they are counted when made, a device
 * error is counted as a drop, and frames still queued at the end are freed
 * (h_free checks for leaks).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/ip4.h"
#include "stack/core/stack.h"
#include "stack/core/udp.h"
#include "stack/host/txq.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

/* Sends n datagrams from port 5000 to the peer, payload "0", "1", ... */
static void send_datagrams(struct harness *h, struct udp_sock *u, int n)
{
	struct ip4_endpoint to = { H_PEER_IP, 7000 };

	for (int i = 0; i < n; i++) {
		char c = (char)('0' + i);

		assert_int_equal(udp_sendto(u, &c, 1, &to, h->now), 1);
	}
}

static struct udp_sock *bound_udp(struct harness *h)
{
	struct ip4_endpoint local = { 0, 5000 };
	struct udp_sock *u = udp_open(h->s);

	assert_non_null(u);
	assert_int_equal(udp_bind(u, &local, 0), 0);
	return u;
}

/* The payload byte of a sent UDP frame. */
static char payload_of(const struct h_frame *f)
{
	struct ip4_hdr ih;
	size_t plen;
	const uint8_t *p = h_tx_ip4(f, &ih, &plen);

	assert_non_null(p);
	assert_int_equal(plen, 8 + 1);
	return (char)p[8];
}

static void test_frames_wait_for_the_flush_in_order(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u;
	uint64_t out0;
	struct pkb *list;
	struct txq q;

	(void)state;
	h_learn_peer(h);
	u = bound_udp(h);
	txq_init(&q);
	h_set_output(h, txq_output, &q);
	out0 = stack_stats(h->s)->frames_out;

	send_datagrams(h, u, 5);
	/* Made and counted, but not on the device yet. */
	assert_int_equal(h->tx_count, 0);
	assert_int_equal(stack_stats(h->s)->frames_out, out0 + 5);
	assert_int_equal(q.len, 5);

	list = txq_take(&q);
	assert_non_null(list);
	assert_int_equal(q.len, 0);
	assert_null(txq_take(&q));
	/* Frames made after the take wait for the next one. */
	send_datagrams(h, u, 1);
	assert_int_equal(txq_send(h->dev, list, h->now), 0);
	assert_int_equal(h->tx_count, 5);
	for (int i = 0; i < 5; i++) {
		struct h_frame *f = h_pop_tx(h);

		assert_int_equal(payload_of(f), '0' + i);
		free(f);
	}
	txq_flush(&q, h->dev, h->s, h->now);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);
	udp_close(u);
	h_free(h);
}

static int refuse_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	(void)dev;
	(void)frame;
	(void)len;
	(void)gso_size;
	(void)now;
	return -EIO;
}

static void test_device_error_is_counted(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct netdev_ops refusing;
	const struct netdev_ops *ops = h->mem.ops;
	struct udp_sock *u;
	struct txq q;

	(void)state;
	h_learn_peer(h);
	u = bound_udp(h);
	txq_init(&q);
	h_set_output(h, txq_output, &q);
	send_datagrams(h, u, 3);
	refusing = *ops;
	refusing.transmit = refuse_transmit;
	h->mem.ops = &refusing;
	txq_flush(&q, h->dev, h->s, h->now);
	h->mem.ops = ops;
	assert_int_equal(stack_stats(h->s)->drops[DROP_DEV_TX_ERROR], 3);
	assert_int_equal(h->tx_count, 0);
	udp_close(u);
	h_free(h);
}

static void test_queued_frames_freed_by_clear(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u;
	struct txq q;

	(void)state;
	h_learn_peer(h);
	u = bound_udp(h);
	txq_init(&q);
	h_set_output(h, txq_output, &q);
	send_datagrams(h, u, 4);
	udp_close(u);
	/* txq_clear frees them; h_free fails the test on a leaked buffer. */
	txq_clear(&q);
	h_free(h);
}

static void test_deferral_off_sends_at_once(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u;
	struct txq q;

	(void)state;
	h_learn_peer(h);
	u = bound_udp(h);
	txq_init(&q);
	h_set_output(h, txq_output, &q);
	/* Deferred, a frame waits... */
	send_datagrams(h, u, 1);
	assert_int_equal(h->tx_count, 0);
	/* ...and with deferral off they go at once, after what waited. */
	txq_flush(&q, h->dev, h->s, h->now);
	h_set_output(h, NULL, NULL);
	send_datagrams(h, u, 2);
	assert_int_equal(h->tx_count, 3);
	for (int i = 0; i < 3; i++) {
		struct h_frame *f = h_pop_tx(h);

		assert_int_equal(payload_of(f), i == 0 ? '0' : '0' + i - 1);
		free(f);
	}
	udp_close(u);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_wait_for_the_flush_in_order),
		cmocka_unit_test(test_device_error_is_counted),
		cmocka_unit_test(test_queued_frames_freed_by_clear),
		cmocka_unit_test(test_deferral_off_sends_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
