/* Undoing a spurious recovery, as Linux's tcp_input.c does it: by D-SACKs
 * of every retransmission (tcp_try_undo_dsack), counting only the
 * duplicates of segments that were resent (tcp_sacktag_one's
 * TCPCB_RETRANS; below SND.UNA tcp_check_dsack's "dumb counting").
 *
 * The packetdrill scripts for this (google/packetdrill gtests/net/tcp/undo/)
 * are not in the stored copy of that repository, nor among Linux's
 * selftests (tools/testing/selftests/net/packetdrill/ has tcp_dsack_mult
 * only, a receiver's test): the cases below follow the kernel's code, with
 * packetdrill's shapes (ten segments out, three SACKed above the first,
 * then the ACK that decides). */
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

#define INFINITE_SSTHRESH 0x7fffffffu

static uint8_t big[1 << 20];

static struct tcp_conn_info info_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i;
}

static void drain(struct tscript *t)
{
	char line[512];

	while (ts_next(t, line, sizeof(line)))
		if (getenv("TS_VERBOSE"))
			printf("  sent %s\n", line);
}

/* Without timestamps (packetdrill's peer: MSS 1000, SACK), ten segments
 * and three SACKed above the first: a recovery, the first resent. */
static struct tcp_conn *recovery_no_ts(struct tscript *t)
{
	struct tcp_conn *c = ts_accept_mss1000(t, 100, 257, true);

	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	drain(t);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:2001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:3001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1001:4001,nop,nop>");
	ts_expect_data(t, 1, 1001);
	drain(t);
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_RECOVERY);
	assert_int_equal(info_of(t, c).snd_ssthresh, 7);
	return c;
}

/* tcp_sacktag_one counts a D-SACK above SND.UNA towards the undo only for
 * a segment that was resent: a duplicate of the third segment (sent once;
 * the network copied it) leaves the recovery on. pstack undid it. */
static void test_dsack_of_segment_never_resent_no_undo(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = recovery_no_ts(t);

	(void)state;
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 2001:3001 1001:4001,nop,nop>");
	assert_int_equal(info_of(t, c).ca_state, TCP_CA_RECOVERY);
	assert_int_equal(info_of(t, c).snd_ssthresh, 7);
	assert_int_equal(c->spurious_recoveries, 0);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsack_of_segment_never_resent_no_undo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
