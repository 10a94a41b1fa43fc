/*
 * More of Linux's packetdrill selftests (tools/testing/selftests/net/
 * packetdrill/ in the kernel tree), the second wave: the path MTU an ICMP
 * error teaches kept for the next connections to the same peer, and a
 * connection whose device queue never drains ended by TCP_USER_TIMEOUT.
 * Each test says which selftest it follows; the behaviour checked is
 * Linux's, with Linux's real defaults where defaults.sh differs (wscale 7
 * from the 6 MiB tcp_rmem[2], not 8).
 */
#include <errno.h>
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

/* A listener on the script's port (backlog 1). */
static struct tcp_conn *listen_on(struct tscript *t)
{
	struct tcp_conn *l = tcp_open(t->h->s);
	struct ip4_endpoint ep = { 0, t->local_port };

	assert_non_null(l);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 1), 0);
	return l;
}

/* The handshake the script's peer makes (no timestamps, wscale 8); the
 * SYN-ACK must offer synack's MSS and window. */
static struct tcp_conn *accept_peer_synack(struct tscript *t, struct tcp_conn *l, const char *synack)
{
	struct tcp_conn *c;
	int err;

	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 8>");
	ts_expect(t, synack);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	return c;
}

/* The same, the SYN-ACK offering the interface's MSS (1460). */
static struct tcp_conn *accept_peer(struct tscript *t, struct tcp_conn *l)
{
	return accept_peer_synack(t, l, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
}

/* The peer ACKs everything, then the connection is reset. */
static void finish(struct tscript *t, struct tcp_conn *c, unsigned acked)
{
	char spec[64];

	snprintf(spec, sizeof(spec), "R 1:1(0) ack %u win 0", acked);
	ts_inject(t, spec);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
}

/* Fragmentation needed without a next-hop MTU (an old router's, RFC 1191
 * §4): Linux takes the 0 as it is (icmp_unreach), below min_pmtu, so the
 * path becomes 552, locked: segments of 512 without DF (rawframes
 * tcp_frag_needed_mtu_zero; no RFC 1191 §7 plateau). */
static void test_frag_needed_without_mtu_is_min_pmtu(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = listen_on(t), *c;

	(void)state;
	c = accept_peer(t, l);
	assert_int_equal(tcp_send(c, big, 1460, t->h->now), 1460);
	ts_expect(t, "P. 1:1461(1460) ack 1 win *");
	ts_inject_frag_needed(t, 0);
	ts_expect(t, ". 1:513(512) ack 1 win *");
	ts_expect(t, ". 513:1025(512) ack 1 win *");
	ts_expect(t, "P. 1025:1461(436) ack 1 win *");
	finish(t, c, 1461);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Follows tcp_advmss_pmtu_ipv4.pkt: the path MTU an ICMP "fragmentation
 * needed" taught one connection (1200) holds for the next connection from
 * the same peer: what it sends goes in segments of 1160, and its SYN-ACK
 * offers that MSS too, as Linux 6.18's did here (rawframes
 * tcp_frag_needed_then_syn: MSS 960 after an MTU of 1000; the route's
 * dst_metric_advmss follows its exception's MTU). Linux keeps it in a route
 * exception for net.ipv4.route.mtu_expires (600 s); a connection after
 * that sends full segments again. */
static void test_learned_pmtu_kept_for_next_passive_connection(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = listen_on(t), *c;
	int v = 0;

	(void)state;
	c = accept_peer(t, l);
	assert_int_equal(tcp_send(c, big, 1460, t->h->now), 1460);
	ts_expect(t, "P. 1:1461(1460) ack 1 win *");
	ts_inject_frag_needed(t, 1200);
	ts_expect(t, ". 1:1161(1160) ack 1 win *");
	ts_expect(t, "P. 1161:1461(300) ack 1 win *");
	finish(t, c, 1461);
	tcp_close(l, t->h->now);

	/* the same peer again, from another port, 100 s later */
	ts_advance_ms(t, 100000);
	ts_new_peer(t);
	l = listen_on(t);
	c = accept_peer_synack(t, l, "S. 0:0(0) ack 1 win 64960 <mss 1160,nop,nop,sackOK,nop,wscale 7>");
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1160);
	assert_int_equal(tcp_send(c, big, 1460, t->h->now), 1460);
	ts_expect(t, ". 1:1161(1160) ack 1 win *");
	ts_expect(t, "P. 1161:1461(300) ack 1 win *");
	ts_expect_none(t);
	finish(t, c, 1461);
	tcp_close(l, t->h->now);

	/* the learned MTU ages out 600 s after the ICMP */
	ts_advance_ms(t, 500000);
	ts_new_peer(t);
	l = listen_on(t);
	c = accept_peer(t, l);
	assert_int_equal(tcp_send(c, big, 1460, t->h->now), 1460);
	ts_expect(t, "P. 1:1461(1460) ack 1 win *");
	finish(t, c, 1461);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The same for an active open (Linux's connect takes the route's MTU
 * too, tcp_connect_init's tcp_sync_mss): the SYN offers the path's MSS,
 * 1160, with a window of a multiple of it (tcp_advertise_mss; measured on
 * Linux 6.18 with a route of MTU 1000: mss 960, win 65280), the data goes
 * in segments of 1200 less 40 less the 12 bytes of timestamps. A
 * larger MTU reported later does not raise it (RFC 1191 §6.3: an increase
 * is learned only by aging). */
static void test_learned_pmtu_kept_for_next_active_connection(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, big, 1448, t->h->now), 1448);
	ts_expect(t, "P. 1:1449(1448) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_inject_frag_needed(t, 1200);
	ts_expect(t, ". 1:1149(1148) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_expect(t, "P. 1149:1449(300) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_inject_frag_needed(t, 1400);
	ts_expect_none(t);
	ts_abort(t, c);

	ts_new_peer(t);
	c = tcp_open(t->h->s);
	assert_int_equal(tcp_bind(c, &(struct ip4_endpoint){ 0, t->local_port }, 0), 0);
	assert_int_equal(tcp_connect(c, &(struct ip4_endpoint){ H_PEER_IP, t->peer_port }, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64960 <mss 1160,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win * <nop,nop,TS val * ecr 100>");
	assert_int_equal(tcp_send(c, big, 1448, t->h->now), 1448);
	ts_expect(t, ". 1:1149(1148) ack 1 win * <nop,nop,TS val * ecr *>");
	ts_expect(t, "P. 1149:1449(300) ack 1 win * <nop,nop,TS val * ecr *>");
	ts_abort(t, c);
	ts_free(t);
}

/* A report below net.ipv4.route.min_pmtu (300): the path's MTU becomes
 * 552 and is locked there (Linux's __ip_rt_update_pmtu), so the data goes
 * again in segments of 552 less 40 less 12 of timestamps, without DF
 * (ip_dont_fragment with IP_PMTUDISC_WANT); a later report changes
 * nothing while the lock lasts (rawframes tcp_frag_needed_below_min). */
static void test_pmtu_below_min_locked_without_df(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, big, 1448, t->h->now), 1448);
	ts_expect(t, "P. 1:1449(1448) ack 1 win 502 <nop,nop,TS val * ecr *>");
	assert_true(t->last_ip[6] & 0x40);
	ts_inject_frag_needed(t, 300);
	ts_expect(t, ". 1:501(500) ack 1 win 502 <nop,nop,TS val * ecr *>");
	assert_false(t->last_ip[6] & 0x40);
	ts_expect(t, ". 501:1001(500) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_expect(t, "P. 1001:1449(448) ack 1 win 502 <nop,nop,TS val * ecr *>");
	assert_false(t->last_ip[6] & 0x40);
	ts_expect_none(t);
	assert_int_equal(ip4_pmtu(t->h->s, H_PEER_IP, t->h->now), 552);
	assert_true(ip4_pmtu_locked(t->h->s, H_PEER_IP, t->h->now));
	ip4_pmtu_learn(t->h->s, H_PEER_IP, 400, t->h->now);
	assert_int_equal(ip4_pmtu(t->h->s, H_PEER_IP, t->h->now), 552);
	ts_abort(t, c);
	ts_free(t);
}

/* Fragmentation needed resends only the segments that no longer fit
 * (Linux's tcp_simple_retransmit: tcp_skb_seglen > mss): a 1448-byte
 * segment goes again as 1148 and 300, the 900-byte one after it does not
 * (rawframes tcp_pmtu_next_conn's first connection). */
static void test_frag_needed_resends_only_what_no_longer_fits(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_send(c, big, 1448 + 900, t->h->now), 1448 + 900);
	ts_expect(t, ". 1:1449(1448) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_expect(t, "P. 1449:2349(900) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_inject_frag_needed(t, 1200);
	ts_expect(t, ". 1:1149(1148) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_expect(t, ". 1149:1449(300) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_expect_none(t);
	ts_abort(t, c);
	ts_free(t);
}

/* The table is per destination and bounded: another peer keeps the
 * interface's MTU; more destinations than the table holds push out the
 * one that expires first, never a fresher one. */
static void test_pmtu_table_per_destination_and_bounded(void **state)
{
	struct tscript *t = ts_new(0);
	struct stack *s = t->h->s;
	uint64_t now = t->h->now;

	(void)state;
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now), stack_mtu(s));
	/* this host's own address and loopback: lo's route (Linux: 65535) */
	assert_int_equal(ip4_pmtu(s, H_STACK_IP, now), IP4_LOCAL_MTU);
	assert_int_equal(ip4_pmtu(s, 0x7f000001u, now), IP4_LOCAL_MTU);
	ip4_pmtu_learn(s, H_PEER_IP, 1200, now);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now), 1200);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP + 3, now), stack_mtu(s));
	/* no larger value, and nothing at or above the interface's */
	ip4_pmtu_learn(s, H_PEER_IP, 1300, now);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now), 1200);
	ip4_pmtu_learn(s, H_PEER_IP + 3, stack_mtu(s), now);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP + 3, now), stack_mtu(s));
	/* Linux's route.min_pmtu, 552, at least */
	ip4_pmtu_learn(s, H_PEER_IP + 2, 300, now);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP + 2, now), 552);
	/* the same MTU again restarts its time */
	ip4_pmtu_learn(s, H_PEER_IP, 1200, now + 500 * 1000000ull);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now + 1000 * 1000000ull), 1200);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now + 1100 * 1000000ull), stack_mtu(s));
	/* a full table: H_PEER_IP (refreshed last) stays, H_PEER_IP + 2 goes */
	for (uint32_t i = 0; i < IP4_PMTU_MAX_DSTS - 1; i++)
		ip4_pmtu_learn(s, H_PEER_IP + 100 + i, 1000, now + 600 * 1000000ull);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP, now + 600 * 1000000ull), 1200);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP + 100, now + 600 * 1000000ull), 1000);
	assert_int_equal(ip4_pmtu(s, H_PEER_IP + 100 + IP4_PMTU_MAX_DSTS - 2, now + 600 * 1000000ull), 1000);
	ts_free(t);
}

/* TCP_USER_TIMEOUT with a device queue that never drains (the link's
 * tx_full stays set): the data written is held back, nothing is in flight,
 * yet the connection must end, as Linux's does: its probe timer
 * (tcp_check_probe_timer, data waiting with nothing in flight) fires at the
 * RTO, retries every TCP_RESOURCE_PROBE_INTERVAL (500 ms) while the device
 * refuses, and tcp_probe_timer ends the connection with ETIMEDOUT
 * TCP_USER_TIMEOUT after its first expiry. A link that takes the data in
 * time starts the count again. The point of tcp_user_timeout_user_timeout
 * .pkt (the timeout ends a connection whatever keeps its data unacked),
 * with the data kept back on this side. */
static void test_user_timeout_ends_connection_held_by_full_device(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	uint64_t start, rto;

	(void)state;
	c = ts_connect(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 3000), 0);
	rto = c->rto;
	/* held 2.5 s, then the link takes it: the count starts again */
	t->h->tx_full = true;
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_advance_ms(t, 2500);
	ts_expect_none(t);
	t->h->tx_full = false;
	ts_advance_ms(t, 10);
	ts_expect(t, "P. 1:1001(1000) ack 1 win 502 <nop,nop,TS val * ecr *>");
	ts_inject(t, ". 1:1(0) ack 1001 win 502 <nop,nop,TS val 200 ecr 0>");
	/* held for good */
	t->h->tx_full = true;
	start = t->h->now;
	assert_int_equal(tcp_send(c, big, 1000, t->h->now), 1000);
	ts_advance_us(t, rto + 3000000 - 10000);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	while (tcp_get_state(c) != TCP_STATE_CLOSED && t->h->now - start < rto + 3000000 + 20000)
		ts_advance_ms(t, 1);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_true(t->h->now - start >= rto + 3000000);
	assert_int_equal(tcp_send(c, big, 1, t->h->now), -ETIMEDOUT);
	t->h->tx_full = false;
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* Follows tcp_user_timeout_user-timeout-probe.pkt, whose qdisc drops
 * everything (local congestion), here the link's tx_full: with
 * TCP_USER_TIMEOUT 3000 the data written then is retried every 500 ms
 * from the RTO (300 ms after a 100 ms handshake) on, the connection alive
 * 3.25 s after the write and dead (ETIMEDOUT, no reset) 100 ms later,
 * after 6 probes and no backoff (tcpi_probes, tcpi_backoff). */
static void test_user_timeout_probe_with_link_refusing(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct tcp_conn_info info;

	(void)state;
	ts_inject(t, "S 0:0(0) win 0 <mss 1460>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 65530");
	c = tcp_accept(l, &(int){ 0 });
	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_USER_TIMEOUT, 3000), 0);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	ts_expect(t, "P. 1:25(24) ack 1 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 25 win 65530");
	tcp_get_info(c, &info, t->h->now);
	assert_int_equal(info.probes, 0);
	assert_int_equal(info.backoff, 0);
	t->h->tx_full = true;
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	ts_advance_ms(t, 3250);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), 24);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, big, 24, t->h->now), -ETIMEDOUT);
	tcp_get_info(c, &info, t->h->now);
	assert_int_equal(info.probes, 6);
	assert_int_equal(info.backoff, 0);
	t->h->tx_full = false;
	ts_advance_ms(t, 1000);
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learned_pmtu_kept_for_next_passive_connection),
		cmocka_unit_test(test_frag_needed_without_mtu_is_min_pmtu),
		cmocka_unit_test(test_learned_pmtu_kept_for_next_active_connection),
		cmocka_unit_test(test_pmtu_table_per_destination_and_bounded),
		cmocka_unit_test(test_pmtu_below_min_locked_without_df),
		cmocka_unit_test(test_frag_needed_resends_only_what_no_longer_fits),
		cmocka_unit_test(test_user_timeout_ends_connection_held_by_full_device),
		cmocka_unit_test(test_user_timeout_probe_with_link_refusing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
