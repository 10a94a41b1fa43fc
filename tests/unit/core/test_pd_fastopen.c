/* TCP fast open's server side, the rest of Linux's packetdrill selftests
 * (tools/testing/selftests/net/packetdrill/tcp_fastopen_server_*): what a
 * reset, an ICMP error or a close does to a fast open child before and after
 * accept(), and loss recovery on a child whose handshake ACK was lost.
 * test_tcp_fastopen.c has the cookie and data cases. Linux's selftests run
 * with net.ipv4.tcp_fastopen 3 and the key a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4
 * (defaults.sh): the same here. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
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

/* The key, each 32-bit word little-endian as Linux keeps it. */
static const uint8_t key_a1[16] = { 0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xb2, 0xb2,
				    0xc3, 0xc3, 0xc3, 0xc3, 0xd4, 0xd4, 0xd4, 0xd4 };

/* The kernel's cookie for the peer 192.0.2.1 and the stack 192.0.2.2 with that key. */
#define COOKIE "55ab039a34a58aa4"
#define TFO_SYN "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>"
#define TFO_SYNACK "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>"

static struct tscript *tfo_new(void)
{
	struct tscript *t = ts_new(0);

	t->h->s->cfg.tcp_fastopen = 3;
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a1, 16);
	t->h->s->cfg.tcp_fastopen_keys = 1;
	return t;
}

/* A listener with TCP_FASTOPEN 1 (a fast open queue of one) and backlog 1. */
static struct tcp_conn *tfo_listen(struct tscript *t)
{
	struct tcp_conn *l = ts_listen(t, 1);

	assert_int_equal(tcp_setopt(l, TCP_OPT_FASTOPEN_QLEN, 1), 0);
	return l;
}

/* A fast open child for TFO_SYN, not accepted yet. */
static void tfo_syn(struct tscript *t)
{
	ts_inject(t, TFO_SYN);
	ts_expect(t, TFO_SYNACK);
}

static struct tcp_conn *accept_tfo(struct tcp_conn *l, enum tcp_state want)
{
	struct tcp_conn_info ti;
	struct tcp_conn *c;
	int err;

	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &ti, c->s->now);
	assert_true(ti.options & 32);   /* TCPI_OPT_SYN_DATA */
	assert_int_equal(tcp_get_state(c), want);
	return c;
}

/* An ICMP destination unreachable (code) from the peer quoting the stack's
 * last frame (the SYN-ACK) with its sequence number moved to rel_seq. */
static void inject_unreach(struct tscript *t, uint8_t code, uint32_t rel_seq)
{
	uint8_t icmp[8 + 28], frame[200];
	size_t n;

	assert_true(t->last_ip_len >= 28);
	icmp[0] = 3;
	icmp[1] = code;
	wr16(icmp + 2, 0);
	wr32(icmp + 4, 0);
	memcpy(icmp + 8, t->last_ip, 28);
	wr32(icmp + 8 + 20 + 4, t->isn + rel_seq);
	wr16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, icmp, sizeof(icmp));
	h_inject(t->h, frame, n);
}

/* After tcp_fastopen_server_icmp-before-accept: an ICMP host unreachable for
 * the SYN-ACK of a fast open child not yet accepted ends the child (Linux's
 * tcp_v4_err: tcp_done_with_error while the request is still the
 * listener's), but it stays in the accept queue: accept() gives it closed,
 * with its SYN's data to read and then the error; it cannot write, and a
 * segment for it meets a reset (nothing holds its addresses). One quoting a
 * sequence number never sent is ignored. */
static void test_icmp_unreachable_ends_child_before_accept(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	uint8_t buf[512] = { 0 };

	(void)state;
	tfo_syn(t);
	inject_unreach(t, 1, 5000);
	assert_int_equal(l->acc_head->state, TCP_STATE_SYN_RECEIVED);
	inject_unreach(t, 1, 0);
	c = accept_tfo(l, TCP_STATE_CLOSED);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), -EHOSTUNREACH);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), -EPIPE);
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	ts_expect(t, "R 1:1(0) win 0");
	assert_int_equal(l->fo_count, 0);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_reset-before-accept: a reset (with the ACK bit
 * or without) for a fast open child not yet accepted closes it, and accept()
 * still gives it: the SYN's data, then ECONNRESET (Linux's tcp_reset for
 * SYN_RECV). Its close sends nothing. */
static void test_reset_before_accept(void **state)
{
	static const char *const rst[] = { "R. 11:11(0) win 257", "R 11:11(0) win 257" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct tscript *t = tfo_new();
		struct tcp_conn *l = tfo_listen(t), *c;
		uint8_t buf[512];

		ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7,FO " COOKIE ",nop,nop>");
		ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
		ts_inject(t, rst[i]);
		c = accept_tfo(l, TCP_STATE_CLOSED);
		assert_int_equal(l->fo_count, 0);
		assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
		assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), -ECONNRESET);
		tcp_close(c, t->h->now);
		ts_expect_none(t);
		tcp_close(l, t->h->now);
		ts_free(t);
	}
}

/* After tcp_fastopen_server_reset-after-accept: the same once accepted, in
 * SYN_RECV: the data, then ECONNRESET. */
static void test_reset_after_accept(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	uint8_t buf[512];

	(void)state;
	tfo_syn(t);
	c = accept_tfo(l, TCP_STATE_SYN_RECEIVED);
	ts_inject(t, "R. 11:11(0) win 32792");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), -ECONNRESET);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_reset-close-with-unread-data: after the reset a
 * write says ECONNRESET, and closing with the SYN's data unread sends no
 * reset (the connection is closed already). */
static void test_reset_then_close_with_unread_data(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	uint8_t buf[100] = { 0 };

	(void)state;
	tfo_syn(t);
	c = accept_tfo(l, TCP_STATE_SYN_RECEIVED);
	ts_inject(t, "R. 11:11(0) win 32792");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_send(c, buf, sizeof(buf), t->h->now), -ECONNRESET);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_reset-non-tfo-socket: an invalid cookie makes an
 * ordinary handshake; the connection, established with data and then reset
 * before accept(), is still accepted, closed: the write says ECONNRESET, the
 * data can be read, then the end. */
static void test_reset_established_before_accept(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	struct tcp_conn_info ti;
	uint8_t buf[512] = { 0 };
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO aaaaaaaaaaaaaaaa,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	ts_inject(t, ". 1:11(10) ack 1 win 32792");
	ts_expect(t, ". 1:1(0) ack 11 win *");
	ts_inject(t, "R. 11:11(0) win 32792");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &ti, t->h->now);
	assert_false(ti.options & 32);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), -ECONNRESET);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_trigger-rst-listener-closed: closing the listener
 * resets the fast open child it still holds (Linux's inet_csk_listen_stop:
 * tcp_disconnect of a SYN_RECV child sends a reset). */
static void test_listener_close_resets_child(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t);

	(void)state;
	tfo_syn(t);
	tcp_close(l, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win *");
	ts_expect_none(t);
	ts_free(t);
}

/* After tcp_fastopen_server_trigger-rst-unread-data-closed: closing an
 * accepted child with its SYN's data unread resets (RFC 2525 §2.17). */
static void test_close_with_unread_syn_data_resets(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;

	(void)state;
	tfo_syn(t);
	c = accept_tfo(l, TCP_STATE_SYN_RECEIVED);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win *");
	ts_expect_none(t);
	assert_int_equal(l->fo_count, 0);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_trigger-rst-reconnect (formerly
 * reset-after-disconnect): connect(AF_UNSPEC) on an accepted child still in
 * SYN_RECV resets it; the socket then connects anew, and its SYN is resent
 * after the initial RTO like any SYN (Linux's bug: the fast open request
 * left on the socket made the timer resend a SYN-ACK). The shim's
 * disconnect aborts the connection (SO_LINGER 0 and close) and opens a new
 * one: the same here. */
static void test_disconnect_then_connect(void **state)
{
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	struct ip4_endpoint peer = { H_PEER_IP, TS_PEER_PORT + 1 }, local;

	(void)state;
	tfo_syn(t);
	c = accept_tfo(l, TCP_STATE_SYN_RECEIVED);
	assert_int_equal(tcp_setopt(c, TCP_OPT_LINGER, 0), 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win *");
	assert_int_equal(l->fo_count, 0);
	c = tcp_open(t->h->s);
	assert_non_null(c);
	ts_new_peer(t);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	tcp_local(c, &local);
	t->local_port = local.port;
	t->peer_port = peer.port;
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_advance_ms(t, 1000);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_fastopen_server_client-ack-dropped-then-recovery-ms-timestamps:
 * the client's handshake ACK is lost, the child sends ten segments, and the
 * client's next ACK (echoing the SYN-ACK's timestamp) SACKs three of them
 * past two lost ones. It ends the handshake and starts fast recovery at
 * once: the two lost go together, as PRR counts the three SACKed by the ACK
 * that starts the recovery (cwnd 10 to CUBIC's 7). The next SACK leaves the
 * recovery and cwnd 7 as they were (Linux's bug after 794200d66273: an undo
 * back to Open with retransmissions out). The script's +0 steps are a few
 * microseconds apart on a real kernel: 100 here, or RACK would take a
 * retransmission sent in the same microsecond as a SACKed segment for
 * older than it. */
static void test_lost_handshake_ack_then_recovery(void **state)
{
	static uint8_t buf[10000];
	struct tscript *t = tfo_new();
	struct tcp_conn *l = tfo_listen(t), *c;
	struct tcp_conn_info ti;

	(void)state;
	ts_inject(t, "S 0:1000(1000) win 65535 <mss 1012,sackOK,TS val 1000 ecr 0,wscale 7,nop,nop,nop,FO " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 1001 win * <mss 1460,sackOK,TS val 0 ecr 1000,nop,wscale 7>");
	c = accept_tfo(l, TCP_STATE_SYN_RECEIVED);
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_send(c, buf, sizeof(buf), t->h->now), 10000);
	for (int i = 0; i < 9; i++) {
		char want[96];

		snprintf(want, sizeof(want), ". %d:%d(1000) ack 1001 win * <nop,nop,TS val 10 ecr 1000>", 1 + 1000 * i,
			 1001 + 1000 * i);
		ts_expect(t, want);
	}
	ts_expect(t, "P. 9001:10001(1000) ack 1001 win * <nop,nop,TS val 10 ecr 1000>");
	tcp_get_info(c, &ti, t->h->now);
	assert_int_equal(ti.snd_cwnd, 10);

	ts_advance_us(t, 100);
	ts_inject(t, ". 1001:1001(0) ack 1 win 257 <TS val 1010 ecr 0,sack 2001:5001>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	ts_expect(t, ". 1:1001(1000) ack 1001 win * <nop,nop,TS val 10 ecr 1010>");
	ts_expect(t, ". 1001:2001(1000) ack 1001 win * <nop,nop,TS val 10 ecr 1010>");
	ts_expect_none(t);
	tcp_get_info(c, &ti, t->h->now);
	assert_int_equal(ti.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(ti.snd_cwnd, 7);

	ts_advance_us(t, 100);
	ts_inject(t, ". 1001:1001(0) ack 1 win 257 <TS val 1011 ecr 0,sack 2001:6001>");
	/* Nothing: no rescue retransmission of the tail (Linux has none). */
	ts_expect_none(t);
	tcp_get_info(c, &ti, t->h->now);
	assert_int_equal(ti.ca_state, TCP_CA_RECOVERY);
	assert_int_equal(ti.snd_cwnd, 7);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* After tcp_rto_synack_rto_max (net.ipv4.tcp_rto_max_ms=1000, Linux 6.15):
 * the SYN-ACK's timer backs off no further than a second, a fast open
 * child's (tcp_fastopen_synack_timer) and a request's alike: resent at 1,
 * 2 and 3 s where the default resends at 1, 3 and 7 s. TCP_RTO_MAX_MS
 * reads the namespace's value on the listener and on the child. */
static void synack_rto_max(struct tscript *t, struct tcp_conn *l, bool tfo)
{
	const char *synack = tfo ? TFO_SYNACK : "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>";
	struct tcp_conn *c;
	int v = 0, err;

	assert_int_equal(tcp_getopt(l, TCP_OPT_RTO_MAX, &v), 0);
	assert_int_equal(v, 1000);
	if (tfo)
		tfo_syn(t);
	else {
		ts_inject(t, "S 0:0(0) win 1000 <mss 1460,sackOK,nop,nop>");
		ts_expect(t, synack);
	}
	for (int i = 0; i < 3; i++) {
		ts_advance_ms(t, 999);
		ts_expect_none(t);
		ts_advance_ms(t, 1);
		ts_expect(t, synack);
	}
	if (tfo) {
		ts_inject(t, ". 11:11(0) ack 1 win 1000");
		c = accept_tfo(l, TCP_STATE_ESTABLISHED);
	} else {
		ts_inject(t, ". 1:1(0) ack 1 win 1000");
		c = tcp_accept(l, &err);
		assert_non_null(c);
	}
	assert_int_equal(tcp_getopt(c, TCP_OPT_RTO_MAX, &v), 0);
	assert_int_equal(v, 1000);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
}

static void test_synack_rto_max(void **state)
{
	struct tscript *t = tfo_new();

	(void)state;
	t->h->s->cfg.tcp_rto_max_ms = 1000;
	synack_rto_max(t, tfo_listen(t), true);
	ts_new_peer(t);
	synack_rto_max(t, ts_listen(t, 1), false);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_unreachable_ends_child_before_accept),
		cmocka_unit_test(test_reset_before_accept),
		cmocka_unit_test(test_reset_after_accept),
		cmocka_unit_test(test_reset_then_close_with_unread_data),
		cmocka_unit_test(test_reset_established_before_accept),
		cmocka_unit_test(test_listener_close_resets_child),
		cmocka_unit_test(test_close_with_unread_syn_data_resets),
		cmocka_unit_test(test_disconnect_then_connect),
		cmocka_unit_test(test_lost_handshake_ack_then_recovery),
		cmocka_unit_test(test_synack_rto_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
