/* SACK compression at the receiver (Linux's __tcp_ack_snd_check with data
 * held out of order, tcp_compressed_ack_kick, tcp_sack_new_ofo_skb): the
 * first three duplicate ACKs at a RCV.NXT go at once (the sender's fast
 * retransmit counts them); later ones wait 5% of the RTT (1 ms at most:
 * net.ipv4.tcp_comp_sack_delay_ns) and go as one, or at once when 44 are
 * held (tcp_comp_sack_nr); the held ones go first when an arrival would
 * push a block past the first two of the list, so that no block the
 * sender has not heard of falls out of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

/* A passive open without timestamps (four SACK blocks fit), the peer's ACK
 * rtt_ms after the SYN-ACK: SRTT rtt_ms. */
static struct tcp_conn *open_conn(struct tscript *t, struct tcp_conn **lp, bool sack, unsigned rtt_ms)
{
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err;

	assert_non_null(l);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	if (sack) {
		ts_inject(t, "S 0:0(0) win 65535 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	} else {
		ts_inject(t, "S 0:0(0) win 65535 <mss 1000,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 7>");
	}
	ts_advance_ms(t, rtt_ms);
	ts_inject(t, ". 1:1(0) ack 1 win 1024");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(c->srtt, rtt_ms * 1000);
	*lp = l;
	return c;
}

static void done(struct tscript *t, struct tcp_conn *l, struct tcp_conn *c)
{
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Three duplicate ACKs at once, then one for the next two after 5% of
 * the RTT (10 ms: 500 us). */
static void test_fourth_dupack_waits_five_percent_of_rtt(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = open_conn(t, &l, true, 10);
	ts_inject(t, ". 1001:2001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2001>");
	ts_inject(t, ". 2001:3001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:3001>");
	ts_inject(t, ". 3001:4001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:4001>");
	ts_inject(t, ". 4001:5001(1000) ack 1 win 1024");
	ts_expect_none(t);
	ts_advance_us(t, 200);
	ts_inject(t, ". 5001:6001(1000) ack 1 win 1024");
	ts_expect_none(t);
	ts_advance_us(t, 299);
	ts_expect_none(t);
	ts_advance_us(t, 1);
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:6001>");
	ts_advance_ms(t, 5);
	ts_expect_none(t);
	/* The hole filled: at once, and a new RCV.NXT counts three again. */
	ts_inject(t, ". 1:1001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 6001 win *");
	ts_inject(t, ". 7001:8001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 6001 win * <nop,nop,sack 7001:8001>");
	done(t, l, c);
}

/* The wait is at most 1 ms (an RTT of 100 ms would make it 5). */
static void test_wait_capped_at_one_ms(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = open_conn(t, &l, true, 100);
	ts_inject(t, ". 1001:2001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2001>");
	ts_inject(t, ". 2001:3001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:3001>");
	ts_inject(t, ". 3001:4001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:4001>");
	ts_inject(t, ". 4001:5001(1000) ack 1 win 1024");
	ts_expect_none(t);
	ts_advance_us(t, 999);
	ts_expect_none(t);
	ts_advance_us(t, 1);
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:5001>");
	done(t, l, c);
}

/* 44 held: the next goes at once (tcp_comp_sack_nr), and the count starts
 * again (the three sent at once do not: the same RCV.NXT). */
static void test_forty_four_held_then_one(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	unsigned seq = 101;

	(void)state;
	c = open_conn(t, &l, true, 100);
	for (unsigned i = 0; i < 3; i++, seq += 100) {
		char want[96];

		ts_injectf(t, ". %u:%u(100) ack 1 win 1024", seq, seq + 100);
		snprintf(want, sizeof(want), ". 1:1(0) ack 1 win * <nop,nop,sack 101:%u>", seq + 100);
		ts_expect(t, want);
	}
	for (unsigned i = 0; i < 44; i++, seq += 100) {
		ts_injectf(t, ". %u:%u(100) ack 1 win 1024", seq, seq + 100);
		ts_expect_none(t);
	}
	/* The 45th: at once, and it is in the ACK (as Linux checks after
	 * queueing it). */
	ts_injectf(t, ". %u:%u(100) ack 1 win 1024", seq, seq + 100);
	seq += 100;
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 101:4901>");
	ts_injectf(t, ". %u:%u(100) ack 1 win 1024", seq, seq + 100);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 101:5001>");
	done(t, l, c);
}

/* An arrival that starts a block while two or more are listed sends the
 * held ACK first, with the list as it was; one that grows the first block
 * waits. */
static void test_held_ack_goes_before_a_block_moves_down(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = open_conn(t, &l, true, 100);
	ts_inject(t, ". 1001:2001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:2001>");
	ts_inject(t, ". 3001:4001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 3001:4001 1001:2001>");
	ts_inject(t, ". 5001:6001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 5001:6001 3001:4001 1001:2001>");
	/* Held (none was held before it: nothing to send first). */
	ts_inject(t, ". 7001:8001(1000) ack 1 win 1024");
	ts_expect_none(t);
	/* Grows the first block: held too. */
	ts_inject(t, ". 8001:9001(1000) ack 1 win 1024");
	ts_expect_none(t);
	/* A new block: the held ACK goes first, without it. */
	ts_inject(t, ". 10001:11001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 7001:9001 5001:6001 3001:4001 1001:2001>");
	ts_expect_none(t);
	/* Joins the second block (the first one it touches in the list's
	 * order, as Linux's tcp_sack_extend looks): held. */
	ts_inject(t, ". 6001:7001(1000) ack 1 win 1024");
	ts_expect_none(t);
	/* Grows the third block listed (pstack lists the blocks of the four
	 * latest arrivals first, then the rest in order: 1001:2001 is third):
	 * the held one first. */
	ts_inject(t, ". 2001:3001(1000) ack 1 win 1024");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 5001:9001 10001:11001 1001:2001 3001:4001>");
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,sack 1001:4001 5001:9001 10001:11001>");
	done(t, l, c);
}

/* Without SACK every duplicate ACK goes at once (the sender counts them). */
static void test_no_compression_without_sack(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;

	(void)state;
	c = open_conn(t, &l, false, 100);
	for (unsigned i = 0; i < 6; i++) {
		ts_injectf(t, ". %u:%u(1000) ack 1 win 1024", 1001 + i * 1000, 2001 + i * 1000);
		ts_expect(t, ". 1:1(0) ack 1 win *");
	}
	done(t, l, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fourth_dupack_waits_five_percent_of_rtt),
		cmocka_unit_test(test_wait_capped_at_one_ms),
		cmocka_unit_test(test_forty_four_held_then_one),
		cmocka_unit_test(test_held_ack_goes_before_a_block_moves_down),
		cmocka_unit_test(test_no_compression_without_sack),
	};
	return cmocka_run_group_tests_name("tcp_sackcomp", tests, NULL, NULL);
}
