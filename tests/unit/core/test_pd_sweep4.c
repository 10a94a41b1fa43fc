/* A fourth sweep of Linux's wire-level TCP tests: scripts of Linux's
 * packetdrill selftests (tools/testing/selftests/net/packetdrill) and of
 * google/packetdrill's gtests/net/tcp (as google/bbr carries them) that no
 * other test follows. Each test names its script; the script is the
 * oracle (where it leaves a figure open, the Linux function the test
 * follows says why). As there, the peer announces an MSS of 1000, and
 * packetdrill's tun cooks its large segments as GSO frames of 1000-byte
 * segments (--mss=1000). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t buf[1 << 21];

/* A passive open on a listener given SO_RCVBUF rcvbuf (0: none). */
static struct tcp_conn *accept_with(struct tscript *t, int rcvbuf, const char *syn, const char *synack,
				    const char *ack)
{
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err;

	assert_non_null(l);
	if (rcvbuf)
		assert_int_equal(tcp_setopt(l, TCP_OPT_RCVBUF, rcvbuf), 0);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 1), 0);
	ts_inject(t, syn);
	ts_expect(t, synack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* The peer's segment [start, end) with PSH, as one GSO frame of 1000-byte segments. */
static void inject_gso(struct tscript *t, unsigned start, unsigned end, unsigned ack)
{
	char spec[128];

	snprintf(spec, sizeof(spec), "P. %u:%u(%u) ack %u win 257", start, end, end - start, ack);
	ts_inject_rx(t, spec, stack_rx_gso(1000));
}

/* The ACKs that follow (packetdrill's '*': at some time), the last of which
 * must ACK ack; returns its window field. */
static unsigned expect_acked(struct tscript *t, unsigned una, unsigned ack)
{
	char line[512], last[512] = "", want[96];
	unsigned w = 0;

	ts_advance_ms(t, 200);
	while (ts_next(t, line, sizeof(line)))
		memcpy(last, line, sizeof(last));
	snprintf(want, sizeof(want), ". %u:%u(0) ack %u win *", una, una, ack);
	if (!ts_match(want, last))
		fail_msg("expected '%s', the last frame was '%s'", want, last);
	assert_int_equal(sscanf(strstr(last, "win"), "win %u", &w), 1);
	return w;
}

/* ---- receive side ---- */

/* tcp_rcv_toobig_default.pkt (net.ipv4.tcp_moderate_rcvbuf=0): on the
 * default receive buffer, 16 segments of 65000 bytes each read at once,
 * then 62000 left queued and another 65000 that still fits the window
 * already offered: taken (Linux grows sk_rcvbuf to honour the window it
 * exposed rather than drop), and both read. */
static void test_rcv_default_buffer_honours_offered_window(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	unsigned seq = 1;

	(void)state;
	c = accept_with(t, 0, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	for (int k = 0; k < 16; k++) {
		inject_gso(t, seq, seq + 65000, 1);
		seq += 65000;
		expect_acked(t, 1, seq);
		assert_int_equal(tcp_recv(c, buf, 65000, 0, t->h->now), 65000);
		ts_check_bytes(buf, 65000, seq - 65000);
	}
	h_drain_tx(t->h);
	inject_gso(t, seq, seq + 62000, 1);
	seq += 62000;
	expect_acked(t, 1, seq);
	inject_gso(t, seq, seq + 65000, 1);
	seq += 65000;
	expect_acked(t, 1, seq);
	assert_int_equal(tcp_recv(c, buf, 127000, 0, t->h->now), 127000);
	ts_check_bytes(buf, 127000, seq - 127000);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rcv_default_buffer_honours_offered_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
