/*
 * The transmit queues of a multi-queue device (stack/host/txq.c, struct
 * txq_set): each frame goes to the queue its flow hashes to (txq_select), so
 * one connection's frames always take the same device queue and leave in
 * their order, and frames without a flow (ARP, ICMP) take queue 0. Checked
 * on hand-made frames and on the stack's own, written by a fake device with
 * two queues that records which queue each frame went to.
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
#include "stack/wire/eth.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

/* An Ethernet frame with an IPv4 header (proto, fragment field) and the
 * first four transport bytes (the ports) from 192.0.2.2 to 192.0.2.1. */
static size_t make_frame(uint8_t *f, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag)
{
	uint8_t *ip = f + ETH_HLEN;

	memset(f, 0, 64);
	wr16(f + 12, ETH_TYPE_IP4);
	ip[0] = 0x45;
	wr16(ip + 2, 40);
	wr16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, 0xc0000202);
	wr32(ip + 16, 0xc0000201);
	wr16(ip + 20, sport);
	wr16(ip + 22, dport);
	return ETH_HLEN + 40;
}

static void test_select_one_flow_one_queue(void **state)
{
	uint8_t f[64];
	unsigned count[4] = { 0 };

	(void)state;
	for (unsigned n = 2; n <= 4; n += 2) {
		memset(count, 0, sizeof(count));
		for (uint16_t port = 40000; port < 40200; port++) {
			size_t len = make_frame(f, IP_PROTO_TCP, 5201, port, 0);
			unsigned q = txq_select(f, len, n);

			assert_true(q < n);
			count[q]++;
			/* The same flow, the same queue, every time. */
			assert_int_equal(txq_select(f, len, n), q);
			/* UDP too: its own hash, a queue in range. */
			len = make_frame(f, IP_PROTO_UDP, 5201, port, 0);
			assert_true(txq_select(f, len, n) < n);
		}
		/* 200 flows spread over every queue (each gets at least a
		 * quarter of its share). */
		for (unsigned q = 0; q < n; q++)
			assert_true(count[q] >= 200 / n / 4);
	}
	/* One queue: always 0. */
	assert_int_equal(txq_select(f, make_frame(f, IP_PROTO_TCP, 1, 2, 0), 1), 0);
}

/* A zero-copy TSO frame (pkb_ext) has only its headers at data: its IP
 * total length runs past them. It takes its flow's queue all the same: the
 * big frames of a connection on one queue and its small ones on another
 * would leave out of order (and did: every zero-copy frame took queue 0). */
static void test_select_headers_only_frame(void **state)
{
	uint8_t f[64];

	(void)state;
	for (uint16_t port = 40000; port < 40064; port++) {
		size_t len = make_frame(f, IP_PROTO_TCP, 5201, port, 0);
		unsigned q = txq_select(f, len, 4);

		wr16(f + ETH_HLEN + 2, 40000);  /* 39,960 bytes of payload elsewhere */
		assert_int_equal(txq_select(f, len, 4), q);
	}
}

static void test_select_queue0_without_a_flow(void **state)
{
	uint8_t f[64];
	size_t len;

	(void)state;
	/* ICMP, for any addresses: queue 0. */
	len = make_frame(f, IP_PROTO_ICMP, 0x0800, 0, 0);
	assert_int_equal(txq_select(f, len, 4), 0);
	/* ARP: queue 0. */
	len = make_frame(f, IP_PROTO_TCP, 5201, 40001, 0);
	wr16(f + 12, ETH_TYPE_ARP);
	assert_int_equal(txq_select(f, len, 4), 0);
	/* A frame too short for an IPv4 header: queue 0. */
	len = make_frame(f, IP_PROTO_TCP, 5201, 40001, 0);
	assert_int_equal(txq_select(f, ETH_HLEN + 10, 4), 0);
}

/* A datagram's fragments stay together: the first (MF, ports inside) and
 * a later one (an offset, no ports) take the same queue, whatever bytes
 * sit where the ports would be. */
static void test_select_fragments_together(void **state)
{
	uint8_t f[64];
	unsigned first;

	(void)state;
	for (uint16_t port = 40000; port < 40050; port++) {
		first = txq_select(f, make_frame(f, IP_PROTO_UDP, 5201, port, 0x2000), 4);
		assert_int_equal(txq_select(f, make_frame(f, IP_PROTO_UDP, 999, 7, 0x00b9), 4), first);
	}
}

/* The fake device: two queues, each frame recorded with its queue. */
#define SENT_MAX 64
static struct {
	unsigned queue[SENT_MAX];
	uint16_t dport[SENT_MAX];
	char payload[SENT_MAX];
	unsigned n;
} sent;

static int record_transmit_queue(struct netdev *dev, unsigned queue, const uint8_t *frame, size_t len,
				 uint16_t gso_size, uint64_t now)
{
	(void)dev;
	(void)gso_size;
	(void)now;
	assert_true(len >= ETH_HLEN + 20 + 9);
	assert_true(sent.n < SENT_MAX);
	/* Each frame on the queue its flow hashes to. */
	assert_int_equal(queue, txq_select(frame, len, 2));
	sent.queue[sent.n] = queue;
	sent.dport[sent.n] = rd16(frame + ETH_HLEN + 20 + 2);
	sent.payload[sent.n] = (char)frame[ETH_HLEN + 20 + 8];
	sent.n++;
	return 0;
}

static int no_plain_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	(void)dev;
	(void)frame;
	(void)len;
	(void)gso_size;
	(void)now;
	fail_msg("a two-queue device was written through transmit, not transmit_queue");
	return -EIO;
}

static void test_set_keeps_each_flows_order(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint local = { 0, 5000 };
	struct udp_sock *u = udp_open(h->s);
	struct netdev_ops ops = *h->mem.ops;
	const struct netdev_ops *saved = h->mem.ops;
	struct txq_set set;
	uint16_t ports[2] = { 0, 0 };
	unsigned seen_q[2] = { 0, 0 };

	(void)state;
	h_learn_peer(h);
	assert_non_null(u);
	assert_int_equal(udp_bind(u, &local, 0), 0);
	txq_set_init(&set, 2);
	h_set_output(h, txq_set_output, &set);
	/* Two peer ports whose flows (from local port 5000) take different
	 * queues: a probe to each until both are found. */
	for (uint16_t p = 7000; p < 7100 && !(ports[0] && ports[1]); p++) {
		struct ip4_endpoint to = { H_PEER_IP, p };
		unsigned q;

		assert_int_equal(udp_sendto(u, "p", 1, &to, h->now), 1);
		q = set.q[1].len == 1;
		assert_int_equal(set.q[q].len, 1);
		txq_set_clear(&set);
		if (!ports[q])
			ports[q] = p;
	}
	assert_true(ports[0] && ports[1]);
	/* Interleaved: a0 b0 a1 b1 ... with a to ports[0], b to ports[1]. */
	for (int i = 0; i < 8; i++) {
		char c = (char)('0' + i);

		for (int k = 0; k < 2; k++) {
			struct ip4_endpoint to = { H_PEER_IP, ports[k] };

			assert_int_equal(udp_sendto(u, &c, 1, &to, h->now), 1);
		}
	}
	assert_int_equal(set.q[0].len, 8);
	assert_int_equal(set.q[1].len, 8);
	assert_int_equal(h->tx_count, 0);

	memset(&sent, 0, sizeof(sent));
	ops.transmit = no_plain_transmit;
	ops.transmit_queue = record_transmit_queue;
	h->mem.ops = &ops;
	h->dev->tx_queues = 2;
	txq_set_flush(&set, h->dev, h->s, h->now);
	h->dev->tx_queues = 0;
	h->mem.ops = saved;
	assert_int_equal(sent.n, 16);
	assert_int_equal(stack_stats(h->s)->drops[DROP_DEV_TX_ERROR], 0);
	/* Per flow: its own queue, and its frames in the order they were made. */
	for (unsigned i = 0; i < sent.n; i++) {
		unsigned k = sent.dport[i] == ports[1];

		assert_int_equal(sent.dport[i], ports[k]);
		assert_int_equal(sent.queue[i], k);
		assert_int_equal(sent.payload[i], '0' + (int)seen_q[k]);
		seen_q[k]++;
	}
	assert_int_equal(seen_q[0], 8);
	assert_int_equal(seen_q[1], 8);
	udp_close(u);
	txq_set_clear(&set);
	h_free(h);
}

/* Frames still queued on any queue are freed (h_free checks for leaks),
 * and a device with one queue is written through its transmit. */
static void test_set_clear_and_one_queue(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint local = { 0, 5000 };
	struct udp_sock *u = udp_open(h->s);
	struct txq_set set;

	(void)state;
	h_learn_peer(h);
	assert_non_null(u);
	assert_int_equal(udp_bind(u, &local, 0), 0);
	txq_set_init(&set, 1);
	h_set_output(h, txq_set_output, &set);
	for (uint16_t p = 7000; p < 7010; p++) {
		struct ip4_endpoint to = { H_PEER_IP, p };

		assert_int_equal(udp_sendto(u, "x", 1, &to, h->now), 1);
	}
	/* One queue: every frame in it. */
	assert_int_equal(set.q[0].len, 10);
	txq_set_flush(&set, h->dev, h->s, h->now);
	assert_int_equal(h->tx_count, 10);
	h_drain_tx(h);

	txq_set_init(&set, 4);
	h_set_output(h, txq_set_output, &set);
	for (uint16_t p = 7000; p < 7040; p++) {
		struct ip4_endpoint to = { H_PEER_IP, p };

		assert_int_equal(udp_sendto(u, "x", 1, &to, h->now), 1);
	}
	udp_close(u);
	txq_set_clear(&set);
	h_free(h);
}

/* The link's tx_full (struct stack_link): the bytes in every queue, and
 * those taken to be written, against TXQ_FULL_BYTES; what is taken and
 * written, or cleared, no longer counts. */
static void test_set_full_counts_bytes(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint local = { 0, 5000 };
	struct udp_sock *u = udp_open(h->s);
	static char payload[1400];
	const size_t frame = 14 + 20 + 8 + sizeof(payload);
	struct txq_set set;
	struct pkb *list;
	size_t n = 0, taken;

	(void)state;
	h_learn_peer(h);
	assert_non_null(u);
	assert_int_equal(udp_bind(u, &local, 0), 0);
	txq_set_init(&set, 2);
	h_set_output(h, txq_set_output, &set);
	while ((n + 1) * frame < TXQ_FULL_BYTES) {
		struct ip4_endpoint to = { H_PEER_IP, (uint16_t)(7000 + n % 16) };

		assert_int_equal(udp_sendto(u, payload, sizeof(payload), &to, h->now), (long)sizeof(payload));
		n++;
		assert_false(txq_set_full(&set));
	}
	assert_int_equal(set.q[0].bytes + set.q[1].bytes, n * frame);
	{
		struct ip4_endpoint to = { H_PEER_IP, 7000 };

		assert_int_equal(udp_sendto(u, payload, sizeof(payload), &to, h->now), (long)sizeof(payload));
	}
	assert_true(txq_set_full(&set));
	/* Taken to be written (runner_tx): still held until written. */
	taken = set.q[0].bytes;
	list = txq_take(&set.q[0]);
	assert_int_equal(set.q[0].bytes, 0);
	set.writing += taken;
	assert_true(txq_set_full(&set));
	(void)txq_send(h->dev, list, h->now);
	set.writing -= taken;
	assert_int_equal(txq_set_full(&set), set.q[1].bytes >= TXQ_FULL_BYTES);
	txq_set_clear(&set);
	assert_false(txq_set_full(&set));
	h_drain_tx(h);
	udp_close(u);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_one_flow_one_queue),
		cmocka_unit_test(test_select_headers_only_frame),
		cmocka_unit_test(test_select_queue0_without_a_flow),
		cmocka_unit_test(test_select_fragments_together),
		cmocka_unit_test(test_set_keeps_each_flows_order),
		cmocka_unit_test(test_set_clear_and_one_queue),
		cmocka_unit_test(test_set_full_counts_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
