/* The fault-injecting link around a harness stack's in-memory link: seeded,
 * bounded, and doing what it says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/dev/fault.h"
#include "stack/host/config.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

#define FRAME_LEN 100

/* A frame to nobody (the destination MAC is not ours), numbered n in its payload. */
static void build(uint8_t *f, uint32_t n)
{
	static const uint8_t nobody[6] = { 0x02, 0, 0, 0, 0, 0x99 };

	memset(f, 0, FRAME_LEN);
	memcpy(f, nobody, 6);
	memcpy(f + 6, h_peer_mac, 6);
	wr16(f + 12, 0x88b5);   /* IEEE 802 local experimental EtherType */
	wr32(f + 20, n);
	for (int i = 24; i < FRAME_LEN; i++)
		f[i] = (uint8_t)(n * 31 + (uint32_t)i);
}

/* The link's counters when the test began: the stack's own start-up frames are not the test's. */
static struct fault_stats base;

static struct harness *h_faulty(const char *faults)
{
	struct stack_config cfg;
	struct fault_config fc;
	struct harness *h;

	config_defaults(&cfg);
	assert_int_equal(config_parse_faults(faults, &fc), 0);
	fc.enabled = 1;
	h = h_new_faulty(&cfg, &fc, false);
	/* The gratuitous ARP went through the link too: let it out and forget it. */
	h_advance(h, 10000000);
	h_drain_tx(h);
	assert_true(fault_get_stats(h->dev, &base));
	return h;
}

/* The counters since h_faulty(). */
static const struct fault_stats *st(struct harness *h)
{
	static struct fault_stats d;
	struct fault_stats s;
	const uint64_t *now, *then;
	uint64_t *out;

	assert_true(fault_get_stats(h->dev, &s));
	now = (const uint64_t *)&s;
	then = (const uint64_t *)&base;
	out = (uint64_t *)&d;
	for (size_t i = 0; i < sizeof(d) / sizeof(uint64_t); i++)
		out[i] = now[i] - then[i];
	return &d;
}

static void send_out(struct harness *h, uint32_t n)
{
	uint8_t f[FRAME_LEN];

	build(f, n);
	assert_int_equal(h_transmit(h, f, FRAME_LEN), 0);
}

static void send_in(struct harness *h, uint32_t n)
{
	uint8_t f[FRAME_LEN];

	build(f, n);
	h_inject(h, f, FRAME_LEN);
}

/* The number in a transmitted frame (frames are compared whole elsewhere). */
static uint32_t number_of(const struct h_frame *f)
{
	return rd32(f->data + 20);
}

/* Runs 2000 frames each way through a link with every fault on; returns a digest of what came out. */
static uint64_t run_mix(const char *faults, struct fault_stats *out)
{
	struct harness *h = h_faulty(faults);
	struct h_frame *f;
	uint64_t digest = 1469598103934665603ull;

	for (uint32_t i = 0; i < 2000; i++) {
		send_out(h, i);
		send_in(h, i);
		h_advance(h, 100);
		while ((f = h_pop_tx(h))) {
			for (size_t k = 0; k < f->len; k++)
				digest = (digest ^ f->data[k]) * 1099511628211ull;
			free(f);
		}
	}
	h_advance(h, 100000);   /* let out whatever is still delayed or held */
	h_drain_tx(h);
	*out = *st(h);
	h_free(h);
	return digest;
}

static void test_same_seed_same_faults(void **state)
{
	struct fault_stats a, b, c;
	uint64_t da, db, dc;

	(void)state;
	da = run_mix("loss=5%,dup=5%,reorder=5%,corrupt=5%,delay=150us,seed=42", &a);
	db = run_mix("loss=5%,dup=5%,reorder=5%,corrupt=5%,delay=150us,seed=42", &b);
	dc = run_mix("loss=5%,dup=5%,reorder=5%,corrupt=5%,delay=150us,seed=43", &c);
	assert_true(da == db);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(da != dc);
	assert_memory_not_equal(&a, &c, sizeof(a));
	for (int d = 0; d < 2; d++) {
		assert_int_equal(a.seen[d], 2000);
		assert_true(a.lost[d] > 0 && a.duplicated[d] > 0 && a.reordered[d] > 0 && a.corrupted[d] > 0);
		/* Everything offered came out, except what was lost; duplicates count twice. */
		assert_int_equal(a.passed[d], a.seen[d] - a.lost[d] + a.duplicated[d]);
	}
}

static void test_loss_ratio(void **state)
{
	struct harness *h = h_faulty("loss=3%,seed=7");
	size_t got = 0;
	struct h_frame *f;

	(void)state;
	for (uint32_t i = 0; i < 10000; i++) {
		send_out(h, i);
		send_in(h, i);
	}
	while ((f = h_pop_tx(h))) {
		got++;
		free(f);
	}
	/* 3% of 10000 is 300, standard deviation 17: 230..370 is four of them. */
	assert_in_range(st(h)->lost[FRAME_OUT], 230, 370);
	assert_in_range(st(h)->lost[FRAME_IN], 230, 370);
	/* Pinned: seed 7 loses exactly these inbound frames on every machine and build (the
	 * inbound stream depends only on the inbound frames), so a seed from a failing run
	 * reproduces it anywhere. */
	assert_int_equal(st(h)->lost[FRAME_IN], 279);
	assert_int_equal(got, 10000 - st(h)->lost[FRAME_OUT]);
	assert_int_equal(st(h)->passed[FRAME_IN], 10000 - st(h)->lost[FRAME_IN]);
	assert_int_equal(stack_stats(h->s)->drops[DROP_FAULT_INJECTED],
			 base.lost[FRAME_IN] + base.lost[FRAME_OUT] + st(h)->lost[FRAME_IN] + st(h)->lost[FRAME_OUT]);
	h_free(h);
}

static void test_delay_holds_until_clock_passes(void **state)
{
	struct harness *h = h_faulty("delay=2ms");
	uint64_t t0 = h->now;
	struct h_frame *f;

	(void)state;
	send_out(h, 1);
	send_in(h, 1);
	assert_null(h_pop_tx(h));
	assert_int_equal(st(h)->passed[FRAME_IN], 0);
	assert_true(h_poll_at(h) == t0 + 2000);
	h_advance(h, 1999);
	assert_null(h_pop_tx(h));
	assert_int_equal(st(h)->passed[FRAME_IN], 0);
	h_advance(h, 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(number_of(f), 1);
	free(f);
	assert_int_equal(st(h)->passed[FRAME_IN], 1);
	assert_true(netdev_poll_at(h->dev) == STACK_NEVER);

	/* Frames keep their order and each keeps its own release time. */
	send_out(h, 2);
	h_advance(h, 500);
	send_out(h, 3);
	h_advance(h, 1500);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(number_of(f), 2);
	free(f);
	assert_null(h_pop_tx(h));
	h_advance(h, 500);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(number_of(f), 3);
	free(f);
	h_free(h);
}

static void test_duplication(void **state)
{
	struct harness *h = h_faulty("dup=100%");
	uint8_t want[FRAME_LEN];

	(void)state;
	for (uint32_t i = 0; i < 3; i++)
		send_out(h, i);
	for (uint32_t i = 0; i < 3; i++) {
		for (int copy = 0; copy < 2; copy++) {
			struct h_frame *f = h_pop_tx(h);

			assert_non_null(f);
			build(want, i);
			assert_int_equal(f->len, FRAME_LEN);
			assert_memory_equal(f->data, want, FRAME_LEN);
			free(f);
		}
	}
	assert_null(h_pop_tx(h));
	send_in(h, 9);
	assert_int_equal(st(h)->passed[FRAME_IN], 2);
	h_free(h);
}

static void test_corruption_flips_one_bit_in_a_copy(void **state)
{
	struct harness *h = h_faulty("corrupt=100%,seed=3");
	uint8_t orig[FRAME_LEN], keep[FRAME_LEN];
	int positions_seen = 0;
	size_t first_pos = 0;

	(void)state;
	for (uint32_t i = 0; i < 50; i++) {
		struct h_frame *f;
		int bits = 0;
		size_t pos = 0;

		build(orig, i);
		memcpy(keep, orig, FRAME_LEN);
		assert_int_equal(h_transmit(h, orig, FRAME_LEN), 0);
		assert_memory_equal(orig, keep, FRAME_LEN);   /* the caller's frame is untouched */
		f = h_pop_tx(h);
		assert_non_null(f);
		for (size_t k = 0; k < FRAME_LEN; k++) {
			uint8_t x = f->data[k] ^ orig[k];

			if (x) {
				bits += __builtin_popcount(x);
				pos = k;
			}
		}
		assert_int_equal(bits, 1);
		assert_true(pos >= 14);                       /* never the Ethernet header */
		if (i == 0)
			first_pos = pos;
		else if (pos != first_pos)
			positions_seen++;
		free(f);
	}
	assert_true(positions_seen > 0);                      /* the bit is random, not fixed */
	assert_int_equal(st(h)->corrupted[FRAME_OUT], 50);
	h_free(h);
}

static void test_reorder(void **state)
{
	struct harness *h = h_faulty("reorder=100%");
	static const uint32_t order[] = { 2, 1, 4, 3 };
	struct h_frame *f;

	(void)state;
	for (uint32_t i = 1; i <= 4; i++)
		send_out(h, i);
	for (int k = 0; k < 4; k++) {
		f = h_pop_tx(h);
		assert_non_null(f);
		assert_int_equal(number_of(f), order[k]);
		free(f);
	}
	/* A held frame with no successor goes alone after the hold time. */
	send_out(h, 5);
	assert_null(h_pop_tx(h));
	assert_true(netdev_poll_at(h->dev) != STACK_NEVER);
	h_advance(h, 100000);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(number_of(f), 5);
	free(f);
	assert_int_equal(st(h)->reordered[FRAME_OUT], 3);
	h_free(h);
}

/* The delay line is bounded; what is still queued at the end is freed (h_free checks). */
static void test_queue_bound_and_cleanup(void **state)
{
	struct harness *h = h_faulty("delay=1s");
	size_t got = 0;
	struct h_frame *f;

	(void)state;
	for (uint32_t i = 0; i < 5000; i++)
		send_out(h, i);
	assert_int_equal(st(h)->overflow[FRAME_OUT], 5000 - 4096);
	h_advance(h, 1000000);
	while ((f = h_pop_tx(h))) {
		assert_int_equal(number_of(f), got);
		got++;
		free(f);
	}
	assert_int_equal(got, 4096);
	for (uint32_t i = 0; i < 100; i++) {
		send_out(h, i);
		send_in(h, i);
	}
	h_free(h);
}

static void test_no_fault_link_when_disabled(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct fault_stats s;

	(void)state;
	assert_false(fault_get_stats(h->dev, &s));
	send_out(h, 1);
	h_drain_tx(h);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_faults),
		cmocka_unit_test(test_loss_ratio),
		cmocka_unit_test(test_delay_holds_until_clock_passes),
		cmocka_unit_test(test_duplication),
		cmocka_unit_test(test_corruption_flips_one_bit_in_a_copy),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_queue_bound_and_cleanup),
		cmocka_unit_test(test_no_fault_link_when_disabled),
	};
	return cmocka_run_group_tests_name("fault", tests, NULL, NULL);
}
