/*
 * Against more of Google's packetdrill scripts for Linux's TCP (repo
 * google/packetdrill, gtests/net/tcp/): a connect() on the 4-tuple of a
 * connection waiting out TIME_WAIT (ts_recent/tw_reuse/), the blocking
 * calls' scripts not in Linux's selftests (blocking/), fast open server
 * cases test_pd_fastopen.c and test_tcp_fastopen.c leave (fastopen/server/)
 * and TCP_INQ's hint (inq/). Each test
 * names the script it follows. pstack keeps Linux's real defaults where the
 * scripts' defaults.sh differs (wscale 7, not 8); a script that sets a
 * sysctl pstack also has gets the same stack_config field.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/core/ip4.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

/* ---- TIME_WAIT reuse (ts_recent/tw_reuse/) ---- */

/* The waits run out (2 MSL), then the script ends. */
static void end_waits(struct tscript *t)
{
	ts_advance_ms(t, 61000);
	ts_free(t);
}

/* The scripts' port, 0xdead. */
#define SCRIPT_PORT 57005

/* A new socket to the peer from port (0: connect() picks one, from the
 * scripts' one-port IP_LOCAL_PORT_RANGE [0xdead, 0xdead]) with the bind()
 * flags reuse; connect()'s result in *err. */
static struct tcp_conn *open_from(struct tscript *t, uint16_t port, unsigned reuse, int *err)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, port }, peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	if (port)
		assert_int_equal(tcp_bind(c, &local, reuse), 0);
	else
		assert_int_equal(tcp_setopt(c, TCP_OPT_PORT_RANGE, (int)((uint32_t)SCRIPT_PORT << 16 | SCRIPT_PORT)), 0);
	*err = tcp_connect(c, &peer, t->h->now);
	if (*err == -EINPROGRESS)
		t->local_port = c->pcb.local.port;
	return c;
}

/* The handshake of a connection whose SYN carries sequence number iss
 * (relative to the first connection's), with timestamps or not; then
 * close() first and the peer's FIN: c waits out TIME_WAIT, an orphan. */
static void handshake_and_close(struct tscript *t, struct tcp_conn *c, uint32_t iss, bool ts)
{
	char spec[160];

	/* A SYN on a reused 4-tuple echoes the old connection's last TS val. */
	snprintf(spec, sizeof(spec), "S %u:%u(0) win 64240 <mss 1460,sackOK,TS val * ecr %u,nop,wscale 7>", iss, iss,
		 iss ? 3002u : 0u);
	ts_expect(t, spec);
	ts_advance_ms(t, 1);
	if (ts) {
		/* The SYN-ACK echoes this SYN's TS val (an older one, the first
		 * connection's, is refused: Linux's PAWSActiveRejected). */
		ts_injectf(t, "S. 0:0(0) ack %u win 65535 <mss 1460,sackOK,TS val 3001 ecr %u,nop,wscale 8>", iss + 1,
			   t->last_tsval - t->ts_base);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 1 win 502 <nop,nop,TS val * ecr 3001>", iss + 1, iss + 1);
	} else {
		ts_injectf(t, "S. 0:0(0) ack %u win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 8>", iss + 1);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 1 win 502", iss + 1, iss + 1);
	}
	ts_expect(t, spec);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	tcp_close(c, t->h->now);
	snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1 win 502%s", iss + 1, iss + 1,
		 ts ? " <nop,nop,TS val * ecr 3001>" : "");
	ts_expect(t, spec);
	ts_advance_ms(t, 1);
	if (ts) {
		ts_injectf(t, "F. 1:1(0) ack %u win 8 <nop,nop,TS val 3002 ecr 1>", iss + 2);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win 502 <nop,nop,TS val * ecr 3002>", iss + 2, iss + 2);
	} else {
		ts_injectf(t, "F. 1:1(0) ack %u win 8", iss + 2);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win 502", iss + 2, iss + 2);
	}
	ts_expect(t, spec);
	assert_non_null(tcp_lookup(t->h->s, t->h->s->cfg.addr, t->local_port, H_PEER_IP, t->peer_port));
}

/* Where the reused connection's SYN starts: past the old one's sequence
 * space (its ISN, SYN and FIN: 2) and a window of 65535 more. */
#define REUSED_ISS (2u + 65535u + 2u)

/* tw_reuse_ok_after_0sec_with_portlock: a port bind() named (with
 * SO_REUSEADDR, as the old socket had) goes to a new connection with the
 * same peer at once, whatever tcp_tw_reuse says, when the peer used
 * timestamps; the old connection's wait ends. */
static void test_tw_reuse_bound_port_at_once(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int err;

	(void)state;
	c = open_from(t, SCRIPT_PORT, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, 0, true);

	c = open_from(t, SCRIPT_PORT, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, REUSED_ISS, true);
	end_waits(t);
}

/* tw_reuse_fail_after_1sec_without_tsopt, for a port bind() named: without
 * timestamps nothing tells the old connection's segments from the new
 * one's; connect() fails with EADDRNOTAVAIL and the wait goes on. */
static void test_tw_reuse_bound_port_needs_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int err;

	(void)state;
	c = open_from(t, SCRIPT_PORT, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, 0, false);

	ts_advance_ms(t, 1000);
	c = open_from(t, SCRIPT_PORT, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	assert_non_null(tcp_lookup(t->h->s, t->h->s->cfg.addr, SCRIPT_PORT, H_PEER_IP, t->peer_port));
	end_waits(t);
}

/* A connection from the port connect() picks in the one-port range,
 * closed first: into TIME_WAIT. Returns its port. */
static uint16_t ephemeral_into_time_wait(struct tscript *t, bool ts)
{
	struct tcp_conn *c;
	int err;

	c = open_from(t, 0, 0, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(c->pcb.local.port, SCRIPT_PORT);
	handshake_and_close(t, c, 0, ts);
	return t->local_port;
}

/* connect() again with the one-port range, whose only port's 4-tuple
 * waits in TIME_WAIT: whether it took the old connection's place (else
 * no port is left: EADDRNOTAVAIL, as the scripts that fail expect). */
static bool reconnect_takes(struct tscript *t, uint16_t old)
{
	struct tcp_conn *c;
	int err;

	c = open_from(t, 0, 0, &err);
	if (err == -EADDRNOTAVAIL) {
		tcp_close(c, t->h->now);
		ts_expect_none(t);
		assert_non_null(tcp_lookup(t->h->s, t->h->s->cfg.addr, old, H_PEER_IP, t->peer_port));
		return false;
	}
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(c->pcb.local.port, old);
	handshake_and_close(t, c, REUSED_ISS, true);
	return true;
}

/* tw_reuse_ok_after_1sec, tw_reuse_fail_after_0sec and
 * tw_reuse_fail_after_990msec: with tcp_tw_reuse 1 and a delay of 1000 ms
 * a port connect() picks, whose 4-tuple waits in TIME_WAIT, is taken only
 * once more than the delay has passed since the wait began (Linux's
 * time_after32 on a millisecond clock: 1000 ms is not enough). */
static void test_tw_reuse_picked_port_after_delay(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	old = ephemeral_into_time_wait(t, true);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 990);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 10);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 1);
	assert_true(reconnect_takes(t, old));
	end_waits(t);
}

/* fast_tw_reuse_ok_after_1msec and fast_tw_reuse_fail_after_500usec: with
 * tcp_tw_reuse_delay 1 ms, half a millisecond is not enough, two are. */
static void test_tw_reuse_picked_port_short_delay(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	t->h->s->cfg.tcp_tw_reuse_delay_ms = 1;
	old = ephemeral_into_time_wait(t, true);
	ts_advance_us(t, 500);
	assert_false(reconnect_takes(t, old));
	ts_advance_us(t, 1500);
	assert_true(reconnect_takes(t, old));
	end_waits(t);
}

/* tw_reuse_fail_after_1sec_without_tsopt: no timestamps, no reuse, however
 * long the wait has run. */
static void test_tw_reuse_picked_port_needs_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	old = ephemeral_into_time_wait(t, false);
	ts_advance_ms(t, 5000);
	assert_false(reconnect_takes(t, old));
	end_waits(t);
}

/* Linux's default, tcp_tw_reuse 2: loopback only. The stack's peers are
 * not on loopback: a port connect() picks is never reused before the
 * wait ends. */
static void test_tw_reuse_default_is_loopback_only(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	assert_int_equal(t->h->s->cfg.tcp_tw_reuse, 2);
	assert_int_equal(t->h->s->cfg.tcp_tw_reuse_delay_ms, 1000);
	old = ephemeral_into_time_wait(t, true);
	ts_advance_ms(t, 5000);
	assert_false(reconnect_takes(t, old));
	end_waits(t);
}

/* ---- blocking/ ---- */

static uint8_t rbuf[40000];

/* The active open of blocking-connect.pkt: the peer's SYN-ACK offers SACK
 * and window scale 2, no timestamps. connect() waits (no POLLOUT) until it
 * arrives; it wakes the waiter, the ACK carries no options, and the
 * connection uses neither timestamps nor our scale for the peer's window. */
static struct tcp_conn *connect_no_ts(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	struct ts_wake w;

	assert_non_null(c);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	ts_watch(c, &w);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	w.count = 0;
	ts_advance_ms(t, 100);
	ts_inject(t, "S. 0:0(0) ack 1 win 5792 <mss 1460,nop,wscale 2,nop,nop,sackOK>");
	ts_expect(t, ". 1:1(0) ack 1 win 502");
	assert_true(w.count > 0);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_false(c->ts_ok);
	assert_true(c->sack_ok);
	assert_int_equal(c->snd_wscale, 2);
	return c;
}

/* blocking-connect.pkt (and the point of blocking-connect-fuzz.pkt and
 * blocking-connect-fuzz-2.pkt, whose mutations of our SYN only test
 * packetdrill's fuzzer): a blocking connect() completes on a SYN-ACK
 * without timestamps. */
static void test_blocking_connect_without_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_no_ts(t);

	(void)state;
	ts_abort(t, c);
	ts_free(t);
}

/* blocking-connect-data.pkt: after the blocking connect(), segments of all
 * sizes in order, then one reaching back over what came (only its new part
 * counts), a 20000-byte one, and an old one again: the 30000 bytes read in
 * order, each once; the old segment draws an ACK at once with a D-SACK of
 * it (RFC 2883; the peer offered SACK). */
static void test_blocking_connect_then_overlapping_data(void **state)
{
	static const unsigned seg[][2] = {
		{ 1, 101 }, { 101, 201 }, { 201, 401 }, { 401, 501 }, { 501, 1001 },
		{ 1001, 2001 }, { 2001, 5001 }, { 1, 10001 }, { 10001, 30001 },
	};
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = connect_no_ts(t);
	char line[512];
	size_t got = 0;
	long n;

	(void)state;
	for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++)
		ts_injectf(t, ". %u:%u(%u) ack 1 win 27510", seg[i][0], seg[i][1], seg[i][1] - seg[i][0]);
	while (ts_next(t, line, sizeof(line)))
		assert_int_equal(line[0], '.');   /* ACKs only */
	while ((n = tcp_recv(c, rbuf + got, sizeof(rbuf) - got, 0, t->h->now)) > 0)
		got += (size_t)n;
	assert_int_equal(got, 30000);
	ts_check_bytes(rbuf, got, 1);
	ts_inject(t, ". 1:101(100) ack 1 win 27510");
	ts_expect(t, ". 1:1(0) ack 30001 win * <nop,nop,sack 1:101>");
	assert_int_equal(tcp_recv(c, rbuf, sizeof(rbuf), 0, t->h->now), -EAGAIN);
	ts_abort(t, c);
	ts_free(t);
}

/* The point of blocking-accept-fuzz.pkt before its mutations: accept()
 * waits for a handshake whose SYN carries window scale only, no MSS (our
 * SYN-ACK still offers ours; we send the peer RFC 9293's default 536); the
 * ACK wakes it and the data after it is taken and ACKed. Of the mutated
 * copies of that data, an out-of-window sequence number draws a duplicate
 * ACK (RFC 9293 §3.10.7.4), a copy with another window a duplicate ACK with
 * its D-SACK. */
static void test_blocking_accept_syn_without_mss(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	struct ts_wake w;
	int err = 0;

	(void)state;
	ts_watch(l, &w);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 32792 <wscale 8,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,wscale 7>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	assert_true(w.count > 0);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(c->mss, 536);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1:21(20) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 21 win *");
	assert_int_equal(tcp_recv(c, rbuf, sizeof(rbuf), 0, t->h->now), 20);
	ts_check_bytes(rbuf, 20, 1);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 19088674:19088694(20) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 21 win *");
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1:21(20) ack 1 win 4129");
	ts_expect(t, ". 1:1(0) ack 21 win *");
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, rbuf, sizeof(rbuf), 0, t->h->now), -EAGAIN);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- fastopen/server/ ---- */

/* net.ipv4.tcp_fastopen_key=a0bf63f7-ed803d81-cd641d30-cebc4a90 of the
 * simple*.pkt scripts, each word little-endian as Linux keeps it. */
static const uint8_t key_a0[16] = { 0xf7, 0x63, 0xbf, 0xa0, 0x81, 0x3d, 0x80, 0xed,
				    0x30, 0x1d, 0x64, 0xcd, 0x90, 0x4a, 0xbc, 0xce };

static void cookie_hex(uint32_t client, uint32_t server, char out[2 * TCP_FASTOPEN_COOKIE_LEN + 1])
{
	uint8_t c[TCP_FASTOPEN_COOKIE_LEN];

	tcp_fastopen_cookie(key_a0, client, server, c);
	for (int i = 0; i < TCP_FASTOPEN_COOKIE_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", c[i]);
}

/* simple1.pkt, simple2.pkt, simple3.pkt: the cookie a server with this key
 * gives 10.248.0.2 for 192.168.0.2, 10.248.0.3 for 192.168.0.2 and
 * 10.248.0.3 for 192.168.0.3 (the scripts' addresses) is Linux's. */
static void test_fastopen_cookie_of_other_addresses(void **state)
{
	char hex[2 * TCP_FASTOPEN_COOKIE_LEN + 1];

	(void)state;
	cookie_hex(0x0af80002u, 0xc0a80002u, hex);
	assert_string_equal(hex, "00abaaabe8e954c2");
	cookie_hex(0x0af80003u, 0xc0a80002u, hex);
	assert_string_equal(hex, "1313a2da994a0951");
	cookie_hex(0x0af80003u, 0xc0a80003u, hex);
	assert_string_equal(hex, "76d2c1c530f51f79");
}

/* simple1.pkt to simple3.pkt on the harness's addresses, net.ipv4.tcp_fastopen
 * 0x403 (server on every listener, no TCP_FASTOPEN needed): a SYN asking
 * for a cookie gets it on the SYN-ACK of an ordinary handshake; the
 * cookie's SYN with 1000 bytes is a fast open child, ACKed by its SYN-ACK,
 * readable at accept() and writable at once; TCP_INFO's delivered counts
 * nothing before the handshake's ACK, the SYN-ACK with it, then each
 * segment of ours ACKed. */
static void test_fastopen_cookie_then_data_in_syn(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	struct tcp_conn_info i;
	char hex[2 * TCP_FASTOPEN_COOKIE_LEN + 1], line[512];
	uint8_t buf[2000];
	unsigned s, e, n, hi = 0;
	int err;

	(void)state;
	t->h->s->cfg.tcp_fastopen = TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_SERVER_WO_SOCKOPT;
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a0, 16);
	t->h->s->cfg.tcp_fastopen_keys = 1;
	cookie_hex(H_PEER_IP, t->h->s->cfg.addr, hex);
	l = ts_listen(t, 1);
	ts_inject(t, "S 0:0(0) win 10000 <mss 1012,FO,sackOK,TS val 1 ecr 0,nop,wscale 7>");
	snprintf(line, sizeof(line), "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 1,nop,wscale 7,FO %s,nop,nop>", hex);
	ts_expect(t, line);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <nop,nop,TS val 2 ecr 1>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 1);
	ts_abort(t, c);

	ts_new_peer(t);
	ts_advance_ms(t, 50);
	cookie_hex(H_PEER_IP, t->h->s->cfg.addr, hex);
	ts_injectf(t, "S 0:1000(1000) win 10000 <mss 1012,FO %s,sackOK,TS val 10 ecr 0,nop,wscale 7>", hex);
	ts_expect(t, "S. 0:0(0) ack 1001 win * <mss 1460,sackOK,TS val * ecr 10,nop,wscale 7>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 0);   /* the SYN's data: from its own sequence number on */
	assert_int_equal(tcp_send(c, buf, 2000, t->h->now), 2000);
	while (ts_next(t, line, sizeof(line))) {
		const char *sp = strchr(line, ' ');

		assert_non_null(strstr(line, "ack 1001"));
		if (sp && sscanf(sp + 1, "%u:%u(%u)", &s, &e, &n) == 3 && e > hi)
			hi = e;
	}
	assert_int_equal(hi, 2001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1001:1001(0) ack 1 win 257 <nop,nop,TS val 20 ecr 1>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 1);
	ts_advance_ms(t, 5);
	ts_inject(t, ". 1001:1001(0) ack 2001 win 257 <nop,nop,TS val 30 ecr 1>");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.delivered, 3);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A fast open SYN that carries FIN too (a case next to fin-close-socket.pkt,
 * whose FIN comes after the SYN-ACK): Linux's listener drops a SYN with
 * FIN before anything else (tcp_rcv_state_process, LISTEN): no SYN-ACK,
 * no child. */
static void test_fastopen_syn_with_fin_dropped(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l;
	char hex[2 * TCP_FASTOPEN_COOKIE_LEN + 1];
	int err;

	(void)state;
	t->h->s->cfg.tcp_fastopen = TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_SERVER_WO_SOCKOPT;
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a0, 16);
	t->h->s->cfg.tcp_fastopen_keys = 1;
	cookie_hex(H_PEER_IP, t->h->s->cfg.addr, hex);
	l = ts_listen(t, 1);
	ts_injectf(t, "FS 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO %s,nop,nop>", hex);
	ts_expect_none(t);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	assert_int_equal(tcp_conn_count(t->h->s), 1);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An ICMP destination unreachable (code) from the peer for the stack's
 * last frame, quoting its IP header and first 8 bytes of TCP. */
static void unreach_last(struct tscript *t, uint8_t code)
{
	uint8_t icmp[8 + 28], frame[200];
	size_t n;

	assert_true(t->last_ip_len >= 28);
	memset(icmp, 0, 8);
	icmp[0] = 3;
	icmp[1] = code;
	memcpy(icmp + 8, t->last_ip, 28);
	wr16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, icmp, sizeof(icmp));
	h_inject(t->h, frame, n);
}

/* icmp-baseline.pkt: a fast open SYN to a listener without TCP_FASTOPEN
 * is an ordinary handshake (its data dropped, the SYN-ACK ACKs the SYN
 * only, no cookie). An ICMP host unreachable for that SYN-ACK ends the request
 * (Linux's tcp_req_err aborts it for net or host unreachable, parameter
 * problem and time exceeded), so the handshake's ACK meets a reset; a port
 * unreachable does not (RFC 1122 §4.2.3.9: a soft error), and the ACK
 * completes the handshake. */
static void test_fastopen_icmp_ends_ordinary_request(void **state)
{
	static const uint8_t codes[] = { 1, 3 };

	(void)state;
	for (size_t k = 0; k < sizeof(codes); k++) {
		struct tscript *t = ts_new(0);
		struct tcp_conn *l, *c;
		int err;

		t->h->s->cfg.tcp_fastopen = TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE;
		memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a0, 16);
		t->h->s->cfg.tcp_fastopen_keys = 1;
		l = ts_listen(t, 1);
		ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO 1234123412341234,nop,nop>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
		ts_advance_ms(t, 100);
		unreach_last(t, codes[k]);
		ts_inject(t, ". 1:1(0) ack 1 win 32792");
		if (codes[k] == 1) {
			ts_expect(t, "R 1:1(0) win 0");
			assert_null(tcp_accept(l, &err));
		} else {
			ts_expect_none(t);
			c = tcp_accept(l, &err);
			assert_non_null(c);
			assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
			ts_abort(t, c);
		}
		tcp_close(l, t->h->now);
		ts_free(t);
	}
}

/* ---- inq/ ---- */

/* inq/server.pkt: TCP_INQ's hint after each read (TCP_CM_INQ; the shim
 * passes tcp_inq_hint on, test_shim_sockopt.c): what is left to read, then
 * once the peer's FIN came and everything was read, one byte for the FIN
 * (Linux's rcv_nxt - copied_seq) until the read of the end. */
static void test_inq_hint_counts_fin(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 10>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 1 win 514");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_inject(t, ". 1:10001(10000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 10001 win *");
	assert_int_equal(tcp_recv(c, rbuf, 2000, 0, t->h->now), 2000);
	assert_int_equal(tcp_inq_hint(c), 8000);
	assert_int_equal(tcp_recv(c, rbuf, 8000, 0, t->h->now), 8000);
	assert_int_equal(tcp_inq_hint(c), 0);
	ts_inject(t, "F. 10001:20001(10000) ack 1 win 514");
	ts_expect(t, ". 1:1(0) ack 20002 win *");
	assert_int_equal(tcp_recv(c, rbuf, 10000, 0, t->h->now), 10000);
	ts_check_bytes(rbuf, 10000, 10001);
	assert_int_equal(tcp_inq_hint(c), 1);
	assert_int_equal(tcp_recv(c, rbuf, 2000, 0, t->h->now), 0);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* ---- ioctl/, mss/, cwnd_moderation/ (as google/bbr carries them) ---- */

/* ioctl/ioctl-siocinq-fin.pkt: SIOCINQ (tcp_inq) counts the bytes to read,
 * not the peer's FIN: 1000, 0 after the read; 1000 again with the FIN
 * that came with them, 0 after their read. */
static void test_siocinq_leaves_out_fin(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 20000 <mss 1000,sackOK,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 20000");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	ts_inject(t, "P. 1:1001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 1001 win *");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_inq(c), 1000);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_recv(c, rbuf, 1000, 0, t->h->now), 1000);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_inq(c), 0);
	ts_advance_ms(t, 70);
	ts_inject(t, "FP. 1001:2001(1000) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 2002 win *");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_inq(c), 1000);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_recv(c, rbuf, 1000, 0, t->h->now), 1000);
	ts_check_bytes(rbuf, 1000, 1001);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_inq(c), 0);
	ts_abort(t, c);
	ts_free(t);
}

/* mss/mss-getsockopt-tcp_maxseg-server.pkt: TCP_MAXSEG on an accepted
 * connection is the peer's MSS, 1100 (no timestamps to take off); the
 * SYN-ACK's window scale is 8 with tcp_rmem's 15 MiB (defaults.sh). */
static void test_maxseg_of_accepted(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *l, *c;
	int err, v = 0;

	(void)state;
	t->h->s->cfg.tcp_rmem[2] = 15 * 1024 * 1024;
	l = ts_listen(t, 1);
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:0(0) win 32792 <mss 1100,nop,wscale 8>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 8>");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	ts_advance_ms(t, 100);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 1100);
	ts_abort(t, c);
	ts_free(t);
}

/* cwnd_moderation/cwnd-moderation-disorder-no-moderation.pkt: a SACK that
 * shows reordering (Disorder) leaves cwnd at 10; no moderation down to the
 * flight. */
static void test_disorder_no_moderation(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	struct tcp_conn_info i;

	(void)state;
	ts_advance_ms(t, 100);
	c = ts_accept_mss1000(t, 100, 320, true);
	assert_int_equal(tcp_send(c, rbuf, 4000, t->h->now), 4000);
	ts_expect(t, "P. 1:4001(4000) ack 1 win *");
	ts_advance_ms(t, 5);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.snd_cwnd, 10);
	ts_advance_ms(t, 95);
	ts_inject(t, ". 1:1(0) ack 1 win 320 <sack 1001:2001,nop,nop>");
	ts_advance_ms(t, 5);
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.ca_state, TCP_CA_DISORDER);
	assert_int_equal(i.snd_cwnd, 10);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tw_reuse_bound_port_at_once),
		cmocka_unit_test(test_tw_reuse_bound_port_needs_timestamps),
		cmocka_unit_test(test_tw_reuse_picked_port_after_delay),
		cmocka_unit_test(test_tw_reuse_picked_port_short_delay),
		cmocka_unit_test(test_tw_reuse_picked_port_needs_timestamps),
		cmocka_unit_test(test_tw_reuse_default_is_loopback_only),
		cmocka_unit_test(test_blocking_connect_without_timestamps),
		cmocka_unit_test(test_blocking_connect_then_overlapping_data),
		cmocka_unit_test(test_blocking_accept_syn_without_mss),
		cmocka_unit_test(test_fastopen_cookie_of_other_addresses),
		cmocka_unit_test(test_fastopen_cookie_then_data_in_syn),
		cmocka_unit_test(test_fastopen_syn_with_fin_dropped),
		cmocka_unit_test(test_fastopen_icmp_ends_ordinary_request),
		cmocka_unit_test(test_inq_hint_counts_fin),
		cmocka_unit_test(test_siocinq_leaves_out_fin),
		cmocka_unit_test(test_maxseg_of_accepted),
		cmocka_unit_test(test_disorder_no_moderation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
