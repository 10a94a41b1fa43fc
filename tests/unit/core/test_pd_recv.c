/* The receive side checked against Linux's own packetdrill selftests
 * (tools/testing/selftests/net/packetdrill/ in the kernel tree): each test
 * names the script it follows. Where the script's numbers come from
 * Linux's skb truesize accounting (windows after SO_RCVBUF), the test
 * checks the logic (drop or accept, ACK or not, zero window or not). */
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
#include "tests/unit/support/tcp_script.h"

static uint8_t buf[1 << 20];

/* A listener with SO_RCVBUF rcvbuf (0: the default) that takes the peer's
 * SYN (syn), answers as synack says, and gets the handshake's ACK (ack). */
static struct tcp_conn *accept_with(struct tscript *t, struct tcp_conn **lp, int rcvbuf, const char *syn,
				    const char *synack, const char *ack)
{
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err;

	assert_non_null(l);
	if (rcvbuf)
		assert_int_equal(tcp_setopt(l, TCP_OPT_RCVBUF, rcvbuf), 0);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	ts_inject(t, syn);
	ts_expect(t, synack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	*lp = l;
	return c;
}

/* The window field of the next frame, which must be an ACK of ack. */
static unsigned expect_ack_win(struct tscript *t, unsigned ack)
{
	char line[512], want[64];
	unsigned a, w;

	if (!ts_next(t, line, sizeof(line)))
		fail_msg("expected an ACK of %u, nothing was sent", ack);
	if (sscanf(line, ". 1:1(0) ack %u win %u", &a, &w) != 2 || a != ack) {
		snprintf(want, sizeof(want), ". 1:1(0) ack %u win *", ack);
		fail_msg("expected '%s'\n      got '%s'", want, line);
	}
	return w;
}

/* Follows tcp_rcv_big_endseq.pkt: a segment that starts in the window but
 * ends beyond it is dropped whole while the receive queue holds data (in
 * order or out of order), and answered with a duplicate ACK; one wholly
 * beyond the window too. Once the application has read everything, the
 * same segment is taken though it ends beyond the window. */
static void test_beyond_window_end_dropped_unless_queue_empty(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	unsigned w;

	(void)state;
	c = accept_with(t, &l, 10000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	ts_inject(t, "P. 1:4001(4000) ack 1 win 257");
	w = expect_ack_win(t, 4001);
	assert_true(w > 0 && w < 4001 + 50000);
	/* in order, its end beyond the window: dropped whole */
	ts_inject(t, "P. 4001:54001(50000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_int_equal(tcp_inq(c), 4000);
	/* out of order, its end beyond the window: dropped whole */
	ts_advance_ms(t, 1000);
	ts_inject(t, "P. 5001:55001(50000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_null(c->ofo);
	/* wholly beyond the window */
	ts_inject(t, "P. 70001:80001(10000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 4001 win *");
	assert_null(c->ofo);
	assert_int_equal(tcp_recv(c, buf, 100000, 0, t->h->now), 4000);
	ts_check_bytes(buf, 4000, 1);
	h_drain_tx(t->h);
	/* The queue empty: taken. Linux takes all 50000 bytes (its first
	 * buffer is charged whatever it costs, then no window is left); the
	 * receive ring takes what the window offered, the rest comes again. */
	ts_inject(t, "P. 4001:54001(50000) ack 1 win 257");
	assert_true(tcp_inq(c) >= 4000);
	expect_ack_win(t, 4001 + (unsigned)tcp_inq(c));
	{
		long n = (long)tcp_inq(c);

		assert_int_equal(tcp_recv(c, buf, 100000, 0, t->h->now), n);
		ts_check_bytes(buf, (size_t)n, 4001);
	}
	h_drain_tx(t->h);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beyond_window_end_dropped_unless_queue_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
