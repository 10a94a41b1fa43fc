/* close() with SO_LINGER {1, 0} against the packetdrill scripts of
 * gtests/net/tcp/close/mptcp-like/ (Matthieu Baerts' packetdrill, the
 * plain-TCP references for MPTCP's: send_reset_linger_no_data,
 * send_reset_linger_read_data, send_reset_linger_unread_data): whether
 * nothing came, the data was read or it was not, the close sends one reset
 * that ACKs what came (Linux's tcp_disconnect: tcp_send_active_reset, the
 * unread data's reset being the same one) and nothing else. As there, the
 * peer announces MSS 1000 and window scale 7, and tcp_rmem's maximum is
 * 15 MiB (common/defaults.sh: window scale 8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

enum data { NO_DATA, READ_DATA, UNREAD_DATA };

static void send_reset_linger(enum data d)
{
	static uint8_t buf[1000];
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	int err;

	t->h->s->cfg.tcp_rmem[2] = 15 * 1024 * 1024;
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 8>");
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	if (d != NO_DATA) {
		ts_inject(t, "P. 1:1001(1000) ack 1 win 450");
		ts_expect(t, ". 1:1(0) ack 1001 win *");
	}
	if (d == READ_DATA) {
		assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
		ts_check_bytes(buf, 1000, 1);
	}
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 0), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, d == NO_DATA ? "R. 1:1(0) ack 1 win *" : "R. 1:1(0) ack 1001 win *");
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

static void test_send_reset_linger_no_data(void **state)
{
	(void)state;
	send_reset_linger(NO_DATA);
}

static void test_send_reset_linger_read_data(void **state)
{
	(void)state;
	send_reset_linger(READ_DATA);
}

static void test_send_reset_linger_unread_data(void **state)
{
	(void)state;
	send_reset_linger(UNREAD_DATA);
}

/* The ms until the next frame, which must match spec (at most max_ms). */
static unsigned next_after(struct tscript *t, const char *spec, unsigned max_ms)
{
	char line[256];
	unsigned ms = 0;

	while (!ts_next(t, line, sizeof(line))) {
		assert_true(ms < max_ms);
		ts_advance_ms(t, 1);
		ms++;
	}
	if (!ts_match(spec, line))
		fail_msg("expected '%s', got '%s'", spec, line);
	return ms;
}

/* user_timeout/user_timeout.pkt (google/packetdrill, as google/bbr
 * carries it): an idle connection closed with TCP_USER_TIMEOUT 3 s resends
 * its FIN after 300 to 400 ms (the 100 ms handshake's RTO; the loss probe
 * at the RTO's time), again 300 to 400 ms later, then 600 to 800 ms later;
 * data from the peer then meets a reset (Linux's tcp_rcv_state_process:
 * data for a socket closed for reading, TCPAbortOnData). */
static void test_user_timeout_close(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 2000);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 3000), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	assert_in_range(next_after(t, "F. 1:1(0) ack 1 win *", 2000), 300, 400);
	assert_in_range(next_after(t, "F. 1:1(0) ack 1 win *", 2000), 300, 400);
	assert_in_range(next_after(t, "F. 1:1(0) ack 1 win *", 2000), 600, 800);
	ts_inject(t, ". 1:2(1) ack 1 win 32792");
	ts_expect(t, "R 1:1(0) win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_reset_linger_no_data),
		cmocka_unit_test(test_send_reset_linger_read_data),
		cmocka_unit_test(test_send_reset_linger_unread_data),
		cmocka_unit_test(test_user_timeout_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
