/* TCP_NOTSENT_LOWAT and net.ipv4.tcp_notsent_lowat against the packetdrill
 * scripts Google publishes for Linux's TCP (gtests/net/tcp/notsent_lowat/,
 * as google/bbr carries them): notsent-lowat-setsockopt.pkt and
 * notsent-lowat-sysctl.pkt. With a mark of 4000, a non-blocking write of
 * 59000 takes what cwnd sends at once and then stops once the unsent bytes
 * reach the mark: Linux checks the mark before each new skb
 * (sk_stream_memory_free), and its next skb is a whole size goal, so it
 * queues 16000 unsent (26000 in all); poll() says POLLOUT once fewer than
 * half the mark are unsent (tcp_stream_memory_free with wake 1), which the
 * ACK of 8001 brings as it lets the last 4000 out. The option reads 0 when
 * only the sysctl is set. Linux 6.18 measured on a TAP peer: the same
 * (26000 taken, POLLOUT after the ACK of 8001). As there, the peer announces MSS 1000 and window
 * scale 7 and the link takes TSO frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/sock.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t buf[59000];

static void notsent_lowat(bool sockopt)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	int v = -1;
	long n;

	if (!sockopt)
		t->h->s->cfg.tcp_notsent_lowat = 4000;
	c = ts_accept_mss1000(t, 10, 257, true);
	if (sockopt)
		assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 4000), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_NOTSENT_LOWAT, &v), 0);
	assert_int_equal(v, sockopt ? 4000 : 0);
	n = tcp_send(c, buf, sizeof(buf), t->h->now);
	assert_int_equal(n, 26000);
	/* (PSH on a TSO frame of more than one segment: 6.18's, README) */
	ts_expect_data(t, 1, 10001);
	ts_expect_none(t);
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	for (unsigned ack = 2001; ack <= 8001; ack += 2000) {
		unsigned from = 10001 + 2 * (ack - 2001);

		ts_advance_ms(t, 10);
		ts_injectf(t, ". 1:1(0) ack %u win 257", ack);
		/* slow start: each ACK of two segments lets four go */
		ts_expect_data(t, from, from + 4000);
		ts_expect_none(t);
		/* POLLOUT once fewer than half the mark are unsent: none left */
		assert_int_equal(!!(tcp_poll(c) & SOCK_POLLOUT), ack == 8001);
	}
	ts_advance_ms(t, 10);
	ts_injectf(t, ". 1:1(0) ack %u win 257", sockopt ? 8001 : 9001);   /* the scripts' last lines */
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

static void test_notsent_lowat_setsockopt(void **state)
{
	(void)state;
	notsent_lowat(true);
}

static void test_notsent_lowat_sysctl(void **state)
{
	(void)state;
	notsent_lowat(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notsent_lowat_setsockopt),
		cmocka_unit_test(test_notsent_lowat_sysctl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
