/* TCP fast open (RFC 7413), the server's side, as Linux's with
 * net.ipv4.tcp_fastopen's server bit: the cookie a SYN asks for, data in a
 * SYN with a valid cookie taken and the child accepted before the handshake
 * ends, and what is refused. The cases follow Linux's own packetdrill tests
 * (tools/testing/selftests/net/packetdrill/tcp_fastopen_server_*); the
 * cookies are the kernel's for the same key and addresses (measured: a
 * kernel client's `ip tcp_metrics` after a kernel server gave it one). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

/* net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4 (Linux's
 * selftests' key), as Linux keeps it: each word little-endian. */
static const uint8_t key_a1[16] = { 0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xb2, 0xb2,
				    0xc3, 0xc3, 0xc3, 0xc3, 0xd4, 0xd4, 0xd4, 0xd4 };
/* 01020304-05060708-090a0b0c-0d0e0f10 */
static const uint8_t key_01[16] = { 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13 };

/* The cookie of 192.0.2.1 (the peer) for 192.0.2.2 (the stack). */
#define COOKIE "55ab039a34a58aa4"
#define COOKIE_BACKUP "ea98847d5f4a5494"    /* the same with key_01 */

static struct tscript *tfo_new(uint16_t mode)
{
	struct tscript *t = ts_new(0);

	t->h->s->cfg.tcp_fastopen = mode;
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a1, 16);
	t->h->s->cfg.tcp_fastopen_keys = 1;
	return t;
}

static struct tcp_conn *tfo_listen(struct tscript *t, int qlen)
{
	struct tcp_conn *l = ts_listen(t, 8);

	if (qlen)
		assert_int_equal(tcp_setopt(l, TCP_OPT_FASTOPEN_QLEN, qlen), 0);
	return l;
}

static void test_cookie_is_linux(void **state)
{
	uint8_t c[TCP_FASTOPEN_COOKIE_LEN];
	static const uint8_t want[] = { 0xab, 0x8a, 0x2a, 0xe6, 0x34, 0xf4, 0x44, 0xca };

	(void)state;
	/* A kernel server with this key gave 192.0.2.101 this cookie for 192.0.2.102. */
	tcp_fastopen_cookie(key_a1, 0xc0000265u, 0xc0000266u, c);
	assert_memory_equal(c, want, sizeof(want));
}

/* A SYN asking for a cookie gets it on its SYN-ACK (only the first); the
 * data beside the request is not taken (tcp_fastopen_server_experimental_option). */
static void test_cookie_request(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_advance_ms(t, 1000);
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	/* The experimental option's request, answered in kind. */
	ts_new_peer(t);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FOEXP " COOKIE ">");
	c = NULL;
	tcp_close(l, t->h->now);
	(void)c;
	ts_free(t);
}

/* A valid cookie: the data is ACKed by the SYN-ACK, accept() returns the
 * child at once, it reads the data and writes before the handshake's ACK
 * (tcp_fastopen_server_basic-rw, _experimental_option). */
static void test_valid_cookie_takes_data(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	struct tcp_conn_info ti;
	uint8_t buf[512];
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_RECEIVED);
	assert_false(tcp_connecting(c));
	tcp_get_info(c, &ti, t->h->now);
	assert_true(ti.options & 32);   /* TCPI_OPT_SYN_DATA */
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 0);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 11 win *");
	assert_int_equal(l->fo_count, 1);
	/* The handshake's ACK, and one for the data too. */
	ts_inject(t, ". 11:11(0) ack 1 win 257");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(l->fo_count, 0);
	ts_inject(t, ". 11:11(0) ack 101 win 257");
	assert_int_equal(c->snd_una, c->iss + 101);
	ts_expect_none(t);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A fast open child whose handshake's ACK never comes: its SYN-ACK is
 * resent once more than tcp_synack_retries says (Linux's
 * tcp_fastopen_synack_timer: 5 + 1), backed off from 1 s, then the
 * accepted socket fails with ETIMEDOUT. TCP_INFO counts the
 * retransmissions; the backoff is the request's, not the socket's. */
static void test_synack_gives_up(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	struct tcp_conn_info ti;
	uint64_t start;
	unsigned synacks = 0;
	char got[512];
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	start = t->h->now;
	c = tcp_accept(l, &err);
	assert_non_null(c);
	for (int ms = 0; ms < 300000 && tcp_get_state(c) == TCP_STATE_SYN_RECEIVED; ms += 10) {
		ts_advance_ms(t, 10);
		while (ts_next(t, got, sizeof(got))) {
			assert_true(!strncmp(got, "S.", 2));
			synacks++;
			/* TCP_INFO as Linux's: the retransmissions counted, the
			 * socket's backoff and RTO untouched (the request's timer) */
			tcp_get_info(c, &ti, t->h->now);
			assert_int_equal(ti.retransmits, synacks);
			assert_int_equal(ti.backoff, 0);
			assert_int_equal(ti.rto_us, 1000000);
		}
	}
	assert_int_equal(synacks, 6);
	assert_int_equal((t->h->now - start) / 1000000, 127);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -ETIMEDOUT);
	tcp_close(c, t->h->now);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* An ACK that covers the SYN-ACK and the child's data at once. */
static void test_handshake_ack_covers_data(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	uint8_t buf[100] = { 0 };
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 11 win *");
	ts_inject(t, ". 11:11(0) ack 101 win 257");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(c->snd_una, c->iss + 101);
	ts_advance_ms(t, 3000);
	ts_expect_none(t);      /* nothing left to resend */
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A cookie that is not ours: an ordinary handshake, and the SYN-ACK gives
 * the valid cookie (Linux's tcp_try_fastopen). */
static void test_invalid_cookie(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	uint8_t buf[64];
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO 0011223344556677,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	assert_null(tcp_accept(l, &err));
	ts_inject(t, ". 1:11(10) ack 1 win 257");
	ts_expect(t, ". 1:1(0) ack 11 win *");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* Without TCP_FASTOPEN on the listener, or with the server side off (Linux's
 * default, tcp_fastopen 1), or a SYN with data but no option while a cookie
 * is needed: the SYN's data is ignored and no option answers
 * (tcp_fastopen_server_basic-non-tfo-listener, _basic-pure-syn-data). */
static void test_not_fast_open(void **state)
{
	static const struct { uint16_t mode; int qlen; const char *syn; } cases[] = {
		{ 3, 0, "S 0:10(10) win 32792 <mss 1460,sackOK,FO " COOKIE ">" },
		{ 1, 5, "S 0:10(10) win 32792 <mss 1460,sackOK,FO " COOKIE ">" },
		{ 3, 5, "S 0:40(40) win 32792 <mss 1460,sackOK,nop,nop>" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tscript *t = tfo_new(cases[i].mode);
		struct tcp_conn *l = tfo_listen(t, cases[i].qlen), *c;
		struct tcp_conn_info ti;
		uint8_t buf[64];
		int err;

		ts_inject(t, cases[i].syn);
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
		assert_null(tcp_accept(l, &err));
		assert_int_equal(err, -EAGAIN);
		ts_inject(t, ". 1:31(30) ack 1 win 5840");
		ts_expect(t, ". 1:1(0) ack 31 win *");
		c = tcp_accept(l, &err);
		assert_non_null(c);
		tcp_get_info(c, &ti, t->h->now);
		assert_false(ti.options & 32);
		assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 30);
		ts_abort(t, c);
		tcp_close(l, t->h->now);
		ts_free(t);
	}
}

/* tcp_fastopen 0x202: no cookie needed, the data of a SYN without the
 * option is taken; what follows too (tcp_fastopen_server_basic-cookie-not-reqd).
 * 0x402: every listener, TCP_FASTOPEN or not (_basic-no-setsockopt). */
static void test_no_cookie_needed_and_no_sockopt(void **state)
{
	static uint8_t buf[2048];
	struct tscript *t = tfo_new(0x202);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:1000(1000) win 32792 <mss 1460,sackOK,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1001 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 0);
	ts_inject(t, ". 1001:2001(1000) ack 1 win 5840");
	ts_expect(t, ". 1:1(0) ack 2001 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 1001);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);

	t = tfo_new(0x402);
	l = tfo_listen(t, 0);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A valid cookie and no data: a fast open child all the same, writable,
 * without TCPI_OPT_SYN_DATA (tcp_fastopen_server_basic-zero-payload). */
static void test_zero_payload(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	struct tcp_conn_info ti;
	uint8_t buf[100] = { 0 };
	int err;

	(void)state;
	ts_inject(t, "S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_get_info(c, &ti, t->h->now);
	assert_false(ti.options & 32);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), -EAGAIN);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win *");
	ts_inject(t, "P. 1:11(10) ack 1 win 5840");
	ts_expect(t, ". 101:101(0) ack 11 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* A FIN before accept(): ACKed at once (the SYN's data does not make it a
 * delayed ACK), CLOSE_WAIT, the data still there; close() sends our FIN
 * (tcp_fastopen_server_fin-close-socket). */
static void test_fin_before_accept(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c;
	uint8_t buf[512];
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_inject(t, "F. 11:11(0) ack 1 win 32792");
	ts_advance_ms(t, 5);
	ts_expect(t, ". 1:1(0) ack 12 win *");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 12 win *");
	ts_inject(t, ". 12:12(0) ack 2 win 32792");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The backup key's cookie is taken too; the SYN-ACK then gives the
 * primary's. The fast open queue (TCP_FASTOPEN's value) bounds the children
 * not yet established: past it, an ordinary handshake. */
static void test_backup_key_and_queue(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 1), *c, *c2;
	int err;

	(void)state;
	memcpy(t->h->s->cfg.tcp_fastopen_key[1], key_01, 16);
	t->h->s->cfg.tcp_fastopen_keys = 2;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE_BACKUP ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(l->fo_count, 1);
	/* The queue is full: this one's data waits for the handshake. */
	ts_new_peer(t);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	assert_null(tcp_accept(l, &err));
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c2 = tcp_accept(l, &err);
	assert_non_null(c2);
	ts_abort(t, c2);
	t->peer_port--;         /* the first connection's reset */
	ts_abort(t, c);
	assert_int_equal(l->fo_count, 0);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* TCP_FASTOPEN_KEY gives a listener keys of its own: its cookies come
 * from them alone, the namespace's no longer count
 * (tcp_fastopen_server_sockopt-fastopen-key). */
static void test_listener_key(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l, *c;
	uint8_t buf[64];
	int err;

	(void)state;
	/* The namespace's key is another one. */
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_01, 16);
	l = tfo_listen(t, 1);
	tcp_set_fastopen_key(l, key_a1, 16);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_abort(t, c);
	ts_new_peer(t);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 10);
	ts_abort(t, c);
	/* The namespace's cookie is not this listener's. */
	ts_new_peer(t);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE_BACKUP ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FO " COOKIE ",nop,nop>");
	ts_inject(t, ". 1:1(0) ack 1 win 257");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The stack ends with a fast open child still counted by its listener
 * (accepted, the handshake not over): nothing is touched after it is freed
 * (an ASan build checks). */
static void test_stack_end_with_child_pending(void **state)
{
	struct tscript *t = tfo_new(3);
	struct tcp_conn *l = tfo_listen(t, 2), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	ts_new_peer(t);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FO " COOKIE ",nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	assert_int_equal(l->fo_count, 2);
	h_free(t->h);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_is_linux),
		cmocka_unit_test(test_cookie_request),
		cmocka_unit_test(test_valid_cookie_takes_data),
		cmocka_unit_test(test_synack_gives_up),
		cmocka_unit_test(test_handshake_ack_covers_data),
		cmocka_unit_test(test_invalid_cookie),
		cmocka_unit_test(test_not_fast_open),
		cmocka_unit_test(test_no_cookie_needed_and_no_sockopt),
		cmocka_unit_test(test_zero_payload),
		cmocka_unit_test(test_fin_before_accept),
		cmocka_unit_test(test_backup_key_and_queue),
		cmocka_unit_test(test_listener_key),
		cmocka_unit_test(test_stack_end_with_child_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
