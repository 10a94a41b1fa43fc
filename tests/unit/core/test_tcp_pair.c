/* Two pstack instances back to back over a lossy, reordering, duplicating
 * link driven by a seeded generator: bulk transfers both ways must arrive
 * intact and every connection must close cleanly. This runs the recovery
 * paths (RTO, fast retransmit, SACK, persist) against our own engine. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/arp.h"
#include "stack/dev/fault.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/harness.h"

struct link {
	struct harness *a, *b;
	uint64_t rng;
	unsigned loss_pct, dup_pct, reorder_pct;
	struct h_frame *held_ab, *held_ba;  /* one frame held back for reordering */
	unsigned long dropped, sent;
};

static uint32_t rnd(struct link *l)
{
	l->rng = l->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(l->rng >> 33);
}

static void deliver(struct harness *to, struct h_frame *f)
{
	h_inject(to, f->data, f->len);
}

/* Moves every frame each side sent to the other, through the impairments. */
static void shuttle(struct link *l, struct harness *from, struct harness *to, struct h_frame **held)
{
	struct h_frame *f;

	while ((f = h_pop_tx(from))) {
		l->sent++;
		if (rnd(l) % 100 < l->loss_pct) {
			l->dropped++;
			free(f);
			continue;
		}
		if (rnd(l) % 100 < l->dup_pct)
			deliver(to, f);
		if (!*held && rnd(l) % 100 < l->reorder_pct) {
			*held = f;
			continue;
		}
		deliver(to, f);
		free(f);
		if (*held) {
			deliver(to, *held);
			free(*held);
			*held = NULL;
		}
	}
}

static void step(struct link *l, uint64_t us)
{
	shuttle(l, l->a, l->b, &l->held_ab);
	shuttle(l, l->b, l->a, &l->held_ba);
	h_advance(l->a, us);
	h_advance(l->b, us);
	arp_insert(l->a->s, H_PEER_IP, h_peer_mac, l->a->now);
	arp_insert(l->b->s, H_STACK_IP, h_stack_mac, l->b->now);
}

/* When enabled, both stacks run the stack's own fault-injecting link
 * (stack/dev/fault.c, what PSTACK_FAULTS configures) in both directions. */
static struct fault_config stack_faults;

static void link_init(struct link *l, uint64_t seed, unsigned loss, unsigned dup, unsigned reorder)
{
	struct stack_config cfg;
	struct fault_config faults;

	memset(l, 0, sizeof(*l));
	l->rng = seed;
	l->loss_pct = loss;
	l->dup_pct = dup;
	l->reorder_pct = reorder;
	config_defaults(&cfg);
	for (int i = 0; i < 16; i++)
		cfg.secret[i] = (uint8_t)(i * 7 + 1);
	faults = stack_faults;
	faults.seed = stack_faults.seed + seed;
	l->a = h_new_faulty(&cfg, &faults, false);
	config_defaults(&cfg);
	faults = stack_faults;
	faults.seed = stack_faults.seed + seed + 1000;
	cfg.addr = H_PEER_IP;
	cfg.gateway = 0;
	memcpy(cfg.mac, h_peer_mac, 6);
	for (int i = 0; i < 16; i++)
		cfg.secret[i] = (uint8_t)(i * 11 + 3);
	l->b = h_new_faulty(&cfg, &faults, false);
	/* b's frames must look like they come from the peer MAC to a's filter and vice versa */
	arp_insert(l->a->s, H_PEER_IP, h_peer_mac, l->a->now);
	arp_insert(l->b->s, H_STACK_IP, h_stack_mac, l->b->now);
}

static void link_free(struct link *l)
{
	free(l->held_ab);
	free(l->held_ba);
	h_free(l->a);
	h_free(l->b);
}

static uint8_t pattern(size_t i, unsigned salt)
{
	return (uint8_t)((i * 2654435761u) >> 13 ^ salt);
}

/* Transfers n bytes each way at once; returns after both sides closed. */
static size_t read_chunk = 65536;
static int small_rcvbuf;
static size_t mem_limit;        /* both stacks' TCP budget (0: the default) */

static void run_transfer(uint64_t seed, unsigned loss, unsigned dup, unsigned reorder, size_t n)
{
	struct link l;
	struct tcp_conn *lis, *srv = NULL, *cli;
	struct ip4_endpoint ep = { 0, 9000 }, peer = { H_PEER_IP, 9000 };
	static uint8_t buf[65536];
	size_t c_sent = 0, s_sent = 0, c_got = 0, s_got = 0;
	bool c_eof = false, s_eof = false, c_closed = false, s_closed = false;
	int err, steps = 0;

	link_init(&l, seed, loss, dup, reorder);
	if (mem_limit)
		l.a->s->tcp->mem.limit = l.b->s->tcp->mem.limit = mem_limit;
	lis = tcp_open(l.b->s);
	assert_int_equal(tcp_bind(lis, &ep, 0), 0);
	assert_int_equal(tcp_listen(lis, 4), 0);
	if (small_rcvbuf)
		assert_int_equal(tcp_setopt(lis, TCP_OPT_RCVBUF, small_rcvbuf), 0);
	cli = tcp_open(l.a->s);
	assert_int_equal(tcp_connect(cli, &peer, l.a->now), -EINPROGRESS);
	while (!(c_closed && s_closed)) {
		long r;

		assert_true(++steps < 2000000);
		step(&l, 1000);
		if (!srv) {
			srv = tcp_accept(lis, &err);
			if (srv)
				tcp_close(lis, l.b->now);
		}
		if (!c_closed && (tcp_get_state(cli) == TCP_STATE_ESTABLISHED ||
				  tcp_get_state(cli) == TCP_STATE_CLOSE_WAIT)) {
			while (c_sent < n) {
				size_t k = n - c_sent < sizeof(buf) ? n - c_sent : sizeof(buf);

				for (size_t i = 0; i < k; i++)
					buf[i] = pattern(c_sent + i, 1);
				r = tcp_send(cli, buf, k, l.a->now);
				if (r <= 0)
					break;
				c_sent += (size_t)r;
			}
			if (c_sent == n && !c_closed && c_eof) {
				tcp_close(cli, l.a->now);
				c_closed = true;
			}
		}
		while (!c_closed && !c_eof && (r = tcp_recv(cli, buf, sizeof(buf), 0, l.a->now)) >= 0) {
			if (r == 0) {
				c_eof = true;
				break;
			}
			for (long i = 0; i < r; i++)
				assert_int_equal(buf[i], pattern(c_got + (size_t)i, 2));
			c_got += (size_t)r;
		}
		if (!srv)
			continue;
		while (s_sent < n) {
			size_t k = n - s_sent < sizeof(buf) ? n - s_sent : sizeof(buf);

			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(s_sent + i, 2);
			r = tcp_send(srv, buf, k, l.b->now);
			if (r <= 0)
				break;
			s_sent += (size_t)r;
		}
		if (s_sent == n && !s_closed && tcp_get_state(srv) != TCP_STATE_FIN_WAIT_1) {
			tcp_shutdown(srv, 1, l.b->now);
		}
		while (!s_eof && (r = tcp_recv(srv, buf, read_chunk, 0, l.b->now)) >= 0) {
			if (r == 0) {
				s_eof = true;
				break;
			}
			for (long i = 0; i < r; i++)
				assert_int_equal(buf[i], pattern(s_got + (size_t)i, 1));
			s_got += (size_t)r;
			if (read_chunk < sizeof(buf))
				break;      /* a slow reader: one read per millisecond */
		}
		if (s_eof && !s_closed) {
			tcp_close(srv, l.b->now);
			s_closed = true;
		}
	}
	assert_int_equal(c_got, n);
	assert_int_equal(s_got, n);
	/* let TIME_WAIT and every retransmission finish */
	for (int i = 0; i < 200 && (tcp_conn_count(l.a->s) || tcp_conn_count(l.b->s)); i++)
		step(&l, 1000000);
	assert_int_equal(tcp_conn_count(l.a->s), 0);
	assert_int_equal(tcp_conn_count(l.b->s), 0);
	assert_int_equal(l.a->s->tcp->mem.used, 0);
	assert_int_equal(l.b->s->tcp->mem.used, 0);
	if (mem_limit) {
		/* the budget held: at most each ring's guaranteed minimum beyond it */
		assert_true(l.a->s->tcp->mem.peak <= mem_limit + 2 * TCP_RING_MIN);
		assert_true(l.b->s->tcp->mem.peak <= mem_limit + 2 * TCP_RING_MIN);
		assert_true(l.a->s->tcp->mem.refused + l.b->s->tcp->mem.refused > 0);
	}
	if (getenv("TCP_PAIR_VERBOSE"))
		printf("seed %llu loss %u%%: %d ms, frames %lu dropped %lu, retransmits %llu + %llu\n",
		       (unsigned long long)seed, loss, steps, l.sent, l.dropped,
		       (unsigned long long)stack_stats(l.a->s)->tcp_retransmits,
		       (unsigned long long)stack_stats(l.b->s)->tcp_retransmits);
	if (loss || stack_faults.enabled)
		assert_true(stack_stats(l.a->s)->tcp_retransmits + stack_stats(l.b->s)->tcp_retransmits > 0);
	if (stack_faults.enabled) {
		struct fault_stats sa, sb;
		const struct fault_stats *fa = &sa, *fb = &sb;

		/* Every kind of fault really happened, in both directions of the run. */
		assert_true(fault_get_stats(l.a->dev, &sa));
		assert_true(fault_get_stats(l.b->dev, &sb));
		assert_true(fa->lost[FRAME_OUT] + fb->lost[FRAME_IN] > 0);
		assert_true(fa->lost[FRAME_IN] + fb->lost[FRAME_OUT] > 0);
		assert_true(fa->duplicated[0] + fa->duplicated[1] + fb->duplicated[0] + fb->duplicated[1] > 0);
		assert_true(fa->reordered[0] + fa->reordered[1] + fb->reordered[0] + fb->reordered[1] > 0);
		assert_true(fa->corrupted[0] + fa->corrupted[1] + fb->corrupted[0] + fb->corrupted[1] > 0);
		assert_true(fa->delayed[FRAME_OUT] > 0 && fb->delayed[FRAME_OUT] > 0);
	}
	link_free(&l);
}

static void test_pair_clean(void **state)
{
	(void)state;
	run_transfer(1, 0, 0, 0, 2000000);
}

static void test_pair_loss(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++)
		run_transfer(seed, 5, 0, 0, 500000);
}

/* A slow reader with a small buffer: zero windows, persist probes, window updates. */
static void test_pair_slow_reader(void **state)
{
	(void)state;
	read_chunk = 1000;
	small_rcvbuf = 4096;
	run_transfer(3, 0, 0, 0, 200000);
	run_transfer(4, 5, 0, 5, 100000);
	read_chunk = 65536;
	small_rcvbuf = 0;
}

/* Both stacks on a TCP budget far below one send buffer, through loss and
 * reordering, a slow reader on one side: everything arrives, in order. */
static void test_pair_tight_memory(void **state)
{
	(void)state;
	mem_limit = 24 * 1024;
	run_transfer(5, 0, 0, 0, 400000);
	run_transfer(6, 3, 1, 10, 200000);
	read_chunk = 1000;
	run_transfer(7, 3, 0, 10, 100000);
	read_chunk = 65536;
	mem_limit = 0;
}

static void test_pair_heavy_loss(void **state)
{
	(void)state;
	for (uint64_t seed = 7; seed <= 10; seed++)
		run_transfer(seed, 20, 0, 0, 100000);
}

static void test_pair_reorder_dup(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++)
		run_transfer(seed, 2, 3, 10, 300000);
}

/* A bad link, from the stack's own fault injector on both stacks: 3% loss,
 * 1% duplication, 10% reordering, 0.5% corruption and 2 ms delay each way
 * (PSTACK_FAULTS=loss=3%,dup=1%,reorder=10%,corrupt=0.5%,delay=2ms), seeded,
 * so every run is the same run. */
static void test_pair_through_fault_link(void **state)
{
	(void)state;
	memset(&stack_faults, 0, sizeof(stack_faults));
	stack_faults.enabled = 1;
	stack_faults.loss_ppm = 30000;
	stack_faults.dup_ppm = 10000;
	stack_faults.reorder_ppm = 100000;
	stack_faults.corrupt_ppm = 5000;
	stack_faults.delay_us = 2000;
	stack_faults.seed = 42;
	for (uint64_t seed = 1; seed <= 3; seed++)
		run_transfer(seed, 0, 0, 0, 1000000);
	memset(&stack_faults, 0, sizeof(stack_faults));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_clean),
		cmocka_unit_test(test_pair_loss),
		cmocka_unit_test(test_pair_heavy_loss),
		cmocka_unit_test(test_pair_reorder_dup),
		cmocka_unit_test(test_pair_slow_reader),
		cmocka_unit_test(test_pair_through_fault_link),
		cmocka_unit_test(test_pair_tight_memory),
	};
	return cmocka_run_group_tests_name("tcp_pair", tests, NULL, NULL);
}
