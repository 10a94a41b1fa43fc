/*
 * A connection's socket calls as the packetdrill scripts Google publishes
 * for Linux's TCP check them (google/packetdrill, gtests/net/tcp/:
 * blocking/, mss/), and Linux's own selftest of a SACK scoreboard across
 * a socket option that refreshes the route
 * (tools/testing/selftests/net/packetdrill/tcp_sack_sack-route-refresh-ip-tos.pkt).
 * Each test says which script it follows; the behaviour checked is
 * Linux's, with Linux's real defaults where the scripts' defaults.sh
 * differs (wscale 7 from the 6 MiB tcp_rmem[2], not 8; the SYN-ACK's
 * window 64240).
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t big[1 << 16];

/* blocking/blocking-read-2.pkt: a read waits 100 ms for the peer's 2000
 * bytes (EAGAIN until then, the data's arrival wakes it), which are ACKed
 * at once (quick ACK); a second read waits for the next 2000 the same way. */
static void test_blocking_read_2(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct ts_wake w;
	uint8_t buf[2000];

	(void)state;
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	{
		int err;

		c = tcp_accept(l, &err);
	}
	assert_non_null(c);
	ts_watch(c, &w);
	for (unsigned seq = 1; seq < 4001; seq += 2000) {
		char ack[64];

		w.count = 0;
		assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), -EAGAIN);
		ts_advance_ms(t, 100);
		ts_injectf(t, "P. %u:%u(2000) ack 1 win 257", seq, seq + 2000);
		snprintf(ack, sizeof(ack), ". 1:1(0) ack %u win *", seq + 2000);
		ts_expect(t, ack);
		assert_true(w.count > 0);
		assert_int_equal(tcp_recv(c, buf, 2000, 0, t->h->now), 2000);
		ts_check_bytes(buf, 2000, seq);
	}
	ts_expect_none(t);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* TCP_MAXSEG 1100 set before the handshake: the SYN (or SYN-ACK) offers
 * 1100, TCP_MAXSEG reads 1100 before and after, tcpi_advmss and
 * tcpi_snd_mss are 1100 though the peer offered more, and the initial
 * window of ten segments goes as one TSO frame of 11000 bytes (Linux's
 * tcp_sync_mss clamps the sending MSS to user_mss, tcp_openreq_init_rwin
 * and tcp_connect_init the advertised one; the SYN's window is 65535
 * rounded down to whole segments of 1100, tcp_select_initial_window). */
static void check_maxseg_1100(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info ci;
	int v = 0;

	ts_advance_ms(t, 100);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1100);
	ts_advance_ms(t, 100);
	tcp_get_info(c, &ci, t->h->now);
	assert_int_equal(ci.advmss, 1100);
	assert_int_equal(ci.snd_mss, 1100);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, big, 12000, t->h->now), 12000);
	ts_expect(t, "P. 1:11001(11000) ack 1 win *");
	ts_expect_none(t);
}

/* mss/mss-setsockopt-tcp_maxseg-client.pkt */
static void test_maxseg_client(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	int v = 0;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	c = tcp_open(t->h->s);
	assert_non_null(c);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_setopt(c, TCP_OPT_MAXSEG, 1100), 0);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1100);
	ts_advance_ms(t, 80);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64900 <mss 1100,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, "S. 0:0(0) ack 1 win 32792 <mss 1460,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	check_maxseg_1100(t, c);
	ts_abort(t, c);
	ts_free(t);
}

/* mss/mss-setsockopt-tcp_maxseg-server.pkt: set on the listener, the
 * child inherits it (Linux's tcp_create_openreq_child copies user_mss). */
static void test_maxseg_server(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	int v = 0;

	(void)state;
	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_setopt(l, TCP_OPT_MAXSEG, 1100), 0);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_getopt(l, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1100);
	ts_advance_ms(t, 80);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1300,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64900 <mss 1100,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	ts_advance_ms(t, 100);
	{
		int err;

		c = tcp_accept(l, &err);
	}
	assert_non_null(c);
	check_maxseg_1100(t, c);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The next frames resend [start, end), in one or more frames. */
static void expect_resent(struct tscript *t, unsigned start, unsigned end)
{
	char line[512];

	while (start < end) {
		unsigned a, b;

		assert_true(ts_next(t, line, sizeof(line)));
		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b), 2);
		assert_int_equal(a, start);
		assert_true(b <= end);
		start = b;
	}
}

/* tcp_sack_sack-route-refresh-ip-tos.pkt: IP_TOS set and reset while
 * SACKed data waits (in Linux it refreshes the route, which once lost the
 * SACK marks: the scoreboard must survive it); the SACK of segments 4 and
 * 7-10 of the third write then resends only segments 2-3 and 5-6. The
 * client's SYN offers timestamps, the peer's SYN-ACK does not
 * (IP_MTU_DISCOVER off: the segments go without DF). */
static void sack_route_refresh(bool newest_first)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	h_enable_tso(t->h, 65535 - 20 - 60);
	c = tcp_open(t->h->s);
	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_PMTUDISC, 0 /* IP_PMTUDISC_DONT */), 0);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 2,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win *");

	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 5840, t->h->now), 5840);
	ts_expect(t, "P. 1:5841(5840) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 5841 win 65535");

	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 5840, t->h->now), 5840);
	ts_expect(t, "P. 5841:11681(5840) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 11681 win 65535");

	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, big, 14600, t->h->now), 14600);
	ts_expect(t, "P. 11681:26281(14600) ack 1 win *");
	assert_int_equal(tcp_setopt(c, TCP_OPT_TOS, 4), 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_TOS, 0), 0);

	ts_advance_ms(t, 10);
	if (newest_first)
		ts_inject(t, ". 1:1(0) ack 13141 win 65535 <sack 20441:26281 16061:17521,nop,nop>");
	else
		ts_inject(t, ". 1:1(0) ack 13141 win 65535 <sack 16061:17521 20441:26281,nop,nop>");
	/* Each hole goes as one TSO frame of two segments (Linux's
	 * __tcp_retransmit_skb resends up to what cwnd leaves of an skb at
	 * once), which carries PSH as every TSO frame of more than one
	 * segment does. The kernel of this machine (6.18, the script run
	 * against it over a TAP with vnet headers) sent its new data in TSO
	 * frames of two segments (tcp_tso_autosize; packetdrill's line for
	 * a write stands for all the frames of it), so its first hole was
	 * two skbs, resent as two one-segment frames without PSH, and the
	 * second one skb, resent as "P. 17521:20441(2920)"; pstack sends a
	 * write's segments as one frame (no autosizing), so its first
	 * resend is one frame too, with PSH. */
	if (newest_first) {
		expect_resent(t, 13141, 16061);
		expect_resent(t, 17521, 20441);
	} else {
		ts_expect(t, "P. 13141:16061(2920) ack 1 win *");
		ts_expect(t, "P. 17521:20441(2920) ack 1 win *");
	}
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 26281 win 65535");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

static void test_sack_route_refresh_ip_tos(void **state)
{
	(void)state;
	sack_route_refresh(false);
}

/* The same with the SACK blocks in the order a receiver usually sends
 * them, the newest first (RFC 2018 §4): Linux sorts them before it walks
 * its queue (tcp_sacktag_write_queue), so the lower block SACKed after
 * the higher one in the same ACK is not reordering either. */
static void test_sack_blocks_newest_first(void **state)
{
	(void)state;
	sack_route_refresh(true);
}

static struct tcp_conn_info info_of(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i;
}

/* cubic/cubic-rack-reo-timeout-retrans-failed-incoming-data.pkt: two
 * SACKs out of order (9001:10001, then 3001:4001) and the ACK of
 * everything are reordering seen twice (tcpi_reordering 10, reord_seen 2;
 * cwnd 19 after the round). Then with the device refusing every frame (the
 * script's qdisc with a limit of 0; here the link full) a SACK of the
 * second of two new segments puts the connection in the Disorder state;
 * RACK's reordering timer marks the first lost and enters recovery, whose
 * retransmission cannot go (tcpi_retrans 0, cwnd 1); an ACK that carries
 * data and acknowledges nothing leaves cwnd at 1. */
static void test_rack_reo_timeout_retrans_failed(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c = ts_accept_mss1000(t, 20, 320, true);
	struct tcp_conn_info i;

	(void)state;
	assert_int_equal(tcp_send(c, big, 10000, t->h->now), 10000);
	ts_expect(t, "P. 1:10001(10000) ack 1 win *");
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 9001:10001,nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 3001:4001 9001:10001,nop,nop>");
	assert_int_equal(info_of(t, c).sacked, 2);
	ts_inject(t, ". 1:1(0) ack 10001 win 320");
	assert_int_equal(info_of(t, c).sacked, 0);
	ts_advance_ms(t, 10);
	i = info_of(t, c);
	assert_int_equal(i.reordering, 10);
	assert_int_equal(i.reord_seen, 2);
	ts_advance_ms(t, 10);
	assert_int_equal(info_of(t, c).snd_cwnd, 19);

	ts_advance_ms(t, 5);
	assert_int_equal(tcp_send(c, big, 2000, t->h->now), 2000);
	ts_expect(t, "P. 10001:12001(2000) ack 1 win *");
	t->h->tx_full = true;
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 10001 win 320 <sack 11001:12001,nop,nop>");
	i = info_of(t, c);
	assert_int_equal(i.ca_state, 1);        /* TCP_CA_Disorder */
	assert_int_equal(i.snd_cwnd, 19);

	ts_advance_ms(t, 20);
	i = info_of(t, c);
	assert_int_equal(i.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(i.unacked, 2);
	assert_int_equal(i.sacked, 1);
	assert_int_equal(i.lost, 1);
	assert_int_equal(i.retrans, 0);
	assert_int_equal(i.snd_cwnd, 1);
	ts_expect_none(t);

	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1001(1000) ack 10001 win 320 <sack 11001:12001,nop,nop>");
	assert_int_equal(info_of(t, c).snd_cwnd, 1);
	h_drain_tx(t->h);
	t->h->tx_full = false;
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_read_2),
		cmocka_unit_test(test_maxseg_client),
		cmocka_unit_test(test_maxseg_server),
		cmocka_unit_test(test_sack_route_refresh_ip_tos),
		cmocka_unit_test(test_sack_blocks_newest_first),
		cmocka_unit_test(test_rack_reo_timeout_retrans_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
