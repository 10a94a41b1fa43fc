/* shutdown() and then close() against the packetdrill scripts Google
 * publishes for Linux's TCP (gtests/net/tcp/shutdown/, as google/bbr
 * carries them). As there, the peer announces MSS 1000 and window scale 7
 * without timestamps, and the link takes TSO frames (ts_accept_mss1000);
 * the scripts' window scale 8 (tcp_rmem's 15 MiB) is pstack's default 7
 * here, which changes nothing they check. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t buf[20000];

/* The peer's FIN at rel, ACKed; TIME_WAIT runs out. */
static void peer_fin(struct tscript *t, unsigned rel, unsigned our_nxt)
{
	ts_advance_ms(t, 10);
	ts_injectf(t, "F. %u:%u(0) ack %u win 257", rel, rel, our_nxt);
	char want[64];

	snprintf(want, sizeof(want), ". %u:%u(0) ack %u win *", our_nxt, our_nxt, rel + 1);
	ts_expect(t, want);
	ts_advance_ms(t, 60000);
	ts_expect_none(t);
}

/* shutdown-rd-close.pkt: after SHUT_RD a read gives 0 at once; writing and
 * sending still work; close() sends the FIN. */
static void test_shutdown_rd_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 0, 257, true);

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 0, t->h->now), 0);
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 0);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 1002 win 257");
	peer_fin(t, 1, 1002);
	ts_free(t);
}

/* shutdown-rd-wr-close.pkt: after SHUT_RD the peer's data is still ACKed
 * and readable (Linux queues it); writes work until SHUT_WR sends the FIN,
 * then EPIPE. */
static void test_shutdown_rd_wr_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 0, 257, true);

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 0, t->h->now), 0);
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 0);
	ts_inject(t, ". 1:1001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 1);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1001 win *");
	ts_inject(t, ". 1001:1001(0) ack 1001 win 257");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1001:1001(0) ack 1001 win *");
	ts_inject(t, ". 1001:1001(0) ack 1002 win 257");
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), -EPIPE);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	peer_fin(t, 1001, 1002);
	ts_free(t);
}

/* shutdown-rdwr-close.pkt: SHUT_RDWR sends the FIN; read 0, write EPIPE;
 * close() sends nothing more. */
static void test_shutdown_rdwr_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 0, 257, true);

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 2, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 2 win 257");
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), -EPIPE);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	peer_fin(t, 1, 2);
	ts_free(t);
}

/* shutdown-wr-close.pkt: SHUT_WR sends the FIN, writes fail with EPIPE,
 * the peer's data is still ACKed and read. */
static void test_shutdown_wr_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 0, 257, true);

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 1, t->h->now), 0);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 2 win 257");
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), -EPIPE);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1001(1000) ack 2 win 257");
	ts_expect(t, ". 2:2(0) ack 1001 win *");
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 1000);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	peer_fin(t, 1001, 2);
	ts_free(t);
}

/* shutdown-rdwr-write-queue-close.pkt: SHUT_RDWR with 10000 bytes out
 * (cwnd's ten segments); read 0, write EPIPE; after close() the
 * connection stays to deliver. The script has the FIN go at once and its
 * loss probe 2 RTTs later: that was Linux's "final FIN" exception to the
 * congestion window, which 6.10 removed (tcp_cwnd_test, "tcp: remove
 * dubious FIN exception from tcp_cwnd_test()"). Measured on 6.18 (this
 * scenario, a TAP peer): the FIN waits for room in cwnd and leaves as the
 * tail loss probe, 2 SRTT + 2 ms after the data (new data for
 * tcp_send_loss_probe: the FIN is the send head), and nothing else
 * before the ACK. This follows 6.18. */
static void test_shutdown_rdwr_write_queue_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 10, 257, true);
	char line[256];
	unsigned waited = 0;

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, buf, 10000, t->h->now), 10000);
	ts_expect(t, "P. 1:10001(10000) ack 1 win *");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_shutdown(c, 2, t->h->now), 0);
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), -EPIPE);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	while (!ts_next(t, line, sizeof(line)) && waited < 500) {
		ts_advance_ms(t, 1);
		waited++;
	}
	assert_true(ts_match("F. 10001:10001(0) ack 1 win *", line));
	assert_int_equal(waited, 2);            /* 22 ms after the data */
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 10002 win 257");
	peer_fin(t, 1, 10002);
	ts_free(t);
}

/* shutdown-rdwr-send-queue-ack-close.pkt: SHUT_RDWR with 10000 of 20000
 * bytes sent queues the FIN behind the rest; an ACK sends two more
 * segments (slow start), and 2 SRTT + 2 ms later the tail loss probe sends
 * a new one, the connection in FIN_WAIT_1 (Linux's
 * tcp_schedule_loss_probe looks at no state; 6.18 measured the same: the
 * probe 12001:13001 after 10001:12001, from FIN_WAIT_1). After close(),
 * the ACK of all that sends the rest with the FIN. */
static void test_shutdown_rdwr_send_queue_ack_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 1, 257, true);
	char line[256];
	unsigned waited = 0;

	(void)state;
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, buf, 20000, t->h->now), 20000);
	ts_expect_data(t, 1, 10001);
	assert_int_equal(tcp_shutdown(c, 2, t->h->now), 0);
	ts_expect_none(t);
	ts_advance_ms(t, 1);
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	ts_expect_data(t, 10001, 12001);
	ts_expect_none(t);
	while (!ts_next(t, line, sizeof(line)) && waited < 500) {
		ts_advance_ms(t, 1);
		waited++;
	}
	assert_true(ts_match(". 12001:13001(1000) ack 1 win *", line));
	assert_in_range(waited, 4, 5);          /* the script's +.005 */
	assert_int_equal(tcp_recv(c, buf, 1000, 0, t->h->now), 0);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), -EPIPE);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 13001 win 257");
	ts_expect(t, "FP. 13001:20001(7000) ack 1 win *");
	ts_inject(t, ". 1:1(0) ack 20002 win 257");
	peer_fin(t, 1, 20002);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shutdown_rd_close),
		cmocka_unit_test(test_shutdown_rd_wr_close),
		cmocka_unit_test(test_shutdown_rdwr_close),
		cmocka_unit_test(test_shutdown_wr_close),
		cmocka_unit_test(test_shutdown_rdwr_send_queue_ack_close),
		cmocka_unit_test(test_shutdown_rdwr_write_queue_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
