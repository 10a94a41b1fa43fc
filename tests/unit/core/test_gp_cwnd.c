/* cwnd while the sender does not fill it, against the packetdrill scripts
 * Google publishes for Linux's TCP (google/packetdrill, gtests/net/tcp:
 * cwnd_moderation/), and Linux's moderation of an application-limited
 * window (tcp_cwnd_application_limited, RFC 2861's slow part): after an
 * RTO's worth of time with the window not in use, cwnd comes down halfway
 * to the most that was used, ssthresh keeps 3/4 of the old cwnd. Each test
 * names what it follows. As in the scripts, the peer announces an MSS of
 * 1000, so that windows count in segments of 1000 bytes. */
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
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t big[1 << 20];

static uint32_t cwnd_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_cwnd;
}

static uint32_t ssthresh_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_ssthresh;
}

/* ---- cwnd_moderation/ ---- */

/* cwnd_moderation/cwnd-moderation-ecn-enter-cwr-no-moderation-700.pkt:
 * the peer asks for ECN on its SYN, which pstack agrees to by default (as
 * Linux's tcp_ecn 2); four segments out with cwnd 10; the ACK of the first
 * echoes congestion (ECE). The CWR state: ssthresh 10 * 717/1024 = 7
 * (CUBIC), and PRR lets that ACK's delivery count: three in flight, seven
 * allowed, so the slow start bound gives what it delivered (one) plus one
 * as SND.UNA advanced without a new loss: cwnd 3 + 2 = 5 (Linux's
 * tcp_cwnd_reduction since 7e901ee7b6ab). No moderation of cwnd to the
 * flight plus a burst, which Linux once had. */
static void test_ecn_echo_enters_cwr_with_prr_cwnd(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;
	int err;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_inject(t, "SEW 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>");
	ts_expect(t, "SE. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 320");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	assert_true(c->ecn_ok);

	assert_int_equal(tcp_send(c, big, 4000, t->h->now), 4000);
	ts_expect_data(t, 1, 4001);
	ts_expect_none(t);
	ts_advance_ms(t, 5);
	assert_int_equal(cwnd_of(t, c), 10);
	ts_advance_ms(t, 95);
	ts_inject(t, "E. 1:1(0) ack 1001 win 320");
	ts_advance_ms(t, 5);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_CWR);
	assert_int_equal(i.snd_ssthresh, 7);
	assert_int_equal(i.snd_cwnd, 5);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecn_echo_enters_cwr_with_prr_cwnd),
	};

	(void)ssthresh_of;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
