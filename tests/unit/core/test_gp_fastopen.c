/* TCP fast open against the packetdrill scripts Google publishes for
 * Linux's TCP (google/packetdrill, gtests/net/tcp/fastopen/): the server's
 * scripts of server/ (their cookies in the experimental option, FOEXP:
 * kind 254 and magic 0xF989, which Linux's tcp_parse_options takes like
 * option 34 and answers in kind; opt34/ has the same scripts with option 34,
 * which Linux's own selftests carry and test_pd_fastopen.c and
 * test_tcp_fastopen.c follow), and client/poll.pkt. The scripts run with
 * common/defaults.sh: net.ipv4.tcp_fastopen 0x70403 (client, server, every
 * listener without TCP_FASTOPEN; the bits above 0x400 mean nothing to
 * Linux), the key a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4 and tcp_rmem's
 * maximum 15 MiB (window scale 8): the same here. TFO_COOKIE, which the
 * scripts leave to the command line, is that key's cookie for the
 * harness's addresses. */
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
#include "stack/core/sock.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

#define TCPI_OPT_SYN_DATA 32

static const uint8_t key_a1[16] = { 0xa1, 0xa1, 0xa1, 0xa1, 0xb2, 0xb2, 0xb2, 0xb2,
				    0xc3, 0xc3, 0xc3, 0xc3, 0xd4, 0xd4, 0xd4, 0xd4 };
/* sockopt-fastopen-key.pkt's a0bf63f7-ed803d81-cd641d30-cebc4a90, as the option's bytes give it. */
static const uint8_t key_a0[16] = { 0xf7, 0x63, 0xbf, 0xa0, 0x81, 0x3d, 0x80, 0xed,
				    0x30, 0x1d, 0x64, 0xcd, 0x90, 0x4a, 0xbc, 0xce };

/* key_a1's cookie for the peer 192.0.2.1 and the stack 192.0.2.2 (test_pd_fastopen.c). */
#define COOKIE "55ab039a34a58aa4"

static uint8_t buf[4096];

static struct tscript *gp_new(uint16_t mode)
{
	struct tscript *t = ts_new(0);

	t->h->s->cfg.tcp_fastopen = mode;
	memcpy(t->h->s->cfg.tcp_fastopen_key[0], key_a1, 16);
	t->h->s->cfg.tcp_fastopen_keys = 1;
	t->h->s->cfg.tcp_rmem[2] = 15 * 1024 * 1024;
	return t;
}

static uint8_t options(struct tcp_conn *c)
{
	struct tcp_conn_info ti;

	tcp_get_info(c, &ti, c->s->now);
	return ti.options;
}

static struct tcp_conn *accept_one(struct tcp_conn *l)
{
	struct tcp_conn *c;
	int err;

	c = tcp_accept(l, &err);
	assert_non_null(c);
	return c;
}

static void expectf(struct tscript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expectf(struct tscript *t, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ts_expect(t, line);
}

static void cookie_hex(const uint8_t key[16], uint32_t client, uint32_t server, char out[2 * TCP_FASTOPEN_COOKIE_LEN + 1])
{
	uint8_t c[TCP_FASTOPEN_COOKIE_LEN];

	tcp_fastopen_cookie(key, client, server, c);
	for (int i = 0; i < TCP_FASTOPEN_COOKIE_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", c[i]);
}

/* ---- server/ ---- */

/* server/basic-rw.pkt: a SYN with 10 bytes and the cookie in the
 * experimental option, to a listener without TCP_FASTOPEN (0x400: every
 * listener): a fast open child, its SYN-ACK ACKs the data; accepted with
 * TCPI_OPT_SYN_DATA, the data read, and the child writes at once. */
static void test_basic_rw(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 0);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 11 win *");
	ts_expect_none(t);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/basic-cookie-not-reqd.pkt (tcp_fastopen 0x202, TCP_FASTOPEN 2):
 * a SYN with 1000 bytes and no option is a fast open child; the data after
 * it is taken too, ACKed at once; the child writes. */
static void test_basic_cookie_not_reqd(void **state)
{
	struct tscript *t = gp_new(0x202);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_FASTOPEN_QLEN, 2), 0);
	ts_inject(t, "S 0:1000(1000) win 32792 <mss 1460,sackOK,nop,nop>");
	ts_expect(t, "S. 0:0(0) ack 1001 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_recv(c, buf, 1024, 0, t->h->now), 1000);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1001:2001(1000) ack 1 win 5840");
	ts_expect(t, ". 1:1(0) ack 2001 win *");
	assert_int_equal(tcp_recv(c, buf, 1024, 0, t->h->now), 1000);
	ts_check_bytes(buf, 1000, 1001);
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 2001 win *");
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/basic-zero-payload.pkt: a valid cookie without data still makes a
 * fast open child (no TCPI_OPT_SYN_DATA), writable at once; its read has
 * nothing until the peer's 10 bytes come 300 ms later. */
static void test_basic_zero_payload(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_inject(t, "S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), 100);
	ts_expect(t, "P. 1:101(100) ack 1 win *");
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), -EAGAIN);
	ts_advance_ms(t, 300);
	ts_expect_none(t);
	ts_inject(t, "P. 1:11(10) ack 1 win 5840");
	ts_expect(t, ". 101:101(0) ack 11 win *");   /* quick ACK (the script stops before it) */
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	ts_check_bytes(buf, 10, 1);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/basic-non-tfo-listener.pkt (tcp_fastopen 2: no listener is one
 * without TCP_FASTOPEN): the SYN's data and its cookie are ignored, no
 * option answers, accept() waits for the handshake's ACK, which brings 30
 * bytes from the start again. */
static void test_basic_non_tfo_listener(void **state)
{
	struct tscript *t = gp_new(2);
	struct tcp_conn *l = ts_listen(t, 1), *c;
	int err;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP 0123456789abcdef>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	assert_null(tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	ts_advance_ms(t, 300);
	ts_inject(t, ". 1:31(30) ack 1 win 5840");
	ts_expect(t, ". 1:1(0) ack 31 win *");
	c = accept_one(l);
	ts_advance_ms(t, 5);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_advance_ms(t, 95);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 30);
	ts_check_bytes(buf, 30, 1);
	ts_abort(t, c);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/pure-syn-data.pkt: a SYN with data but no fast open option gets
 * a plain SYN-ACK (no option, the data not ACKed) with tcp_fastopen
 * 0x70403, 0x402 and 1; an ECN-setup SYN (SEW) is answered without ECE
 * with tcp_ecn 0, with it (SE.) with tcp_ecn 2. */
static void test_pure_syn_data(void **state)
{
	static const struct { uint16_t mode; uint8_t ecn; const char *syn, *synack; } cases[] = {
		{ 0x403, 0, "S", "S." }, { 0x402, 0, "S", "S." }, { 1, 0, "S", "S." },
		{ 1, 0, "SEW", "S." }, { 1, 2, "SEW", "SE." },
	};
	struct tscript *t = gp_new(0x403);

	(void)state;
	t->peer_isn = 999000;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tcp_conn *l, *c;

		t->h->s->cfg.tcp_fastopen = cases[i].mode;
		t->h->s->cfg.tcp_ecn = cases[i].ecn;
		ts_new_peer(t);
		l = ts_listen(t, 1);
		ts_injectf(t, "%s 0:40(40) win 32792 <mss 1460,sackOK,TS val 100 ecr 100,nop,wscale 6>", cases[i].syn);
		expectf(t, "%s 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 100,nop,wscale 8>", cases[i].synack);
		ts_inject(t, ". 1:1(0) ack 1 win 100");
		c = accept_one(l);
		assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
		assert_int_equal(tcp_inq(c), 0);
		tcp_close(l, t->h->now);
		ts_abort(t, c);
	}
	ts_free(t);
}

/* server/reset-after-accept.pkt (TCP_FASTOPEN 1): a reset for the
 * accepted child (still SYN_RECV): the first read gives the SYN's data,
 * the second fails (ECONNRESET); close sends nothing. */
static void test_reset_after_accept(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_FASTOPEN_QLEN, 1), 0);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	ts_advance_ms(t, 100);
	ts_inject(t, "R. 11:11(0) win 32792");
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), -ECONNRESET);
	ts_advance_ms(t, 100);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/reset-before-accept.pkt (TCP_FASTOPEN 2): a reset for the child
 * before accept(); accept() still gives it, with TCPI_OPT_SYN_DATA: the
 * data, then ECONNRESET. The SYN's window scale 7 is answered with 8. */
static void test_reset_before_accept(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	assert_int_equal(tcp_setopt(l, TCP_OPT_FASTOPEN_QLEN, 2), 0);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK,nop,wscale 8>");
	ts_advance_ms(t, 100);
	ts_inject(t, "R. 11:11(0) win 257");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), -ECONNRESET);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/reset-close-with-unread-data.pkt: after the reset a write fails
 * with ECONNRESET, and close() with the SYN's data unread sends no reset. */
static void test_reset_close_with_unread_data(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_advance_ms(t, 100);
	ts_inject(t, "R. 11:11(0) win 32792");
	ts_advance_ms(t, 100);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), -ECONNRESET);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/reset-non-tfo-socket.pkt: a wrong cookie makes an ordinary
 * handshake whose SYN-ACK carries the right one in the experimental
 * option; established with 10 bytes and reset before accept(), the socket
 * is still accepted, closed: write ECONNRESET, the data, then the end. */
static void test_reset_non_tfo_socket(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP aaaaaaaaaaaaaaaa>");
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,FOEXP " COOKIE ">");
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:11(10) ack 1 win 32792");
	ts_expect(t, ". 1:1(0) ack 11 win *");
	ts_inject(t, "R. 11:11(0) win 32792");
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), -ECONNRESET);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 0);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/unread-data-closed-trigger-rst.pkt: closing the accepted child
 * with the SYN's data unread resets. */
static void test_unread_data_closed_trigger_rst(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_advance_ms(t, 100);
	tcp_close(c, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win *");
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* server/listener-closed-trigger-rst.pkt: closing the listener resets the
 * fast open child not yet accepted. */
static void test_listener_closed_trigger_rst(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1);

	(void)state;
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	tcp_close(l, t->h->now);
	ts_expect(t, "R. 1:1(0) ack 11 win *");
	ts_expect_none(t);
	ts_free(t);
}

/* An ICMP destination unreachable (code) from the peer quoting the stack's
 * last frame (the SYN-ACK) with its sequence number moved to rel_seq. */
static void inject_unreach(struct tscript *t, uint8_t code, uint32_t rel_seq)
{
	uint8_t icmp[8 + 28], frame[200];
	size_t n;

	assert_true(t->last_ip_len >= 28);
	memset(icmp, 0, 8);
	icmp[0] = 3;
	icmp[1] = code;
	memcpy(icmp + 8, t->last_ip, 28);
	wr32(icmp + 8 + 20 + 4, t->isn + rel_seq);
	wr16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, icmp, sizeof(icmp));
	h_inject(t->h, frame, n);
}

/* server/icmp-before-accept.pkt (CODE: host unreachable, the one its
 * EHOSTUNREACH fits): an ICMP quoting a sequence number never sent is
 * ignored; a valid one ends the child not yet accepted, which stays to be
 * accepted: the SYN's data, then EHOSTUNREACH; a write EPIPE; the peer's
 * next segment meets a reset. */
static void test_icmp_before_accept(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct tcp_conn *l = ts_listen(t, 1), *c;

	(void)state;
	ts_advance_ms(t, 100);
	ts_inject(t, "S 0:10(10) win 32792 <mss 1460,sackOK,nop,nop,FOEXP " COOKIE ">");
	ts_expect(t, "S. 0:0(0) ack 11 win * <mss 1460,nop,nop,sackOK>");
	ts_advance_ms(t, 100);
	inject_unreach(t, 1, 5000);
	assert_int_equal(l->acc_head->state, TCP_STATE_SYN_RECEIVED);
	inject_unreach(t, 1, 0);
	c = accept_one(l);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), 10);
	assert_int_equal(tcp_recv(c, buf, 512, 0, t->h->now), -EHOSTUNREACH);
	assert_int_equal(tcp_send(c, buf, 100, t->h->now), -EPIPE);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 1 win 32792");
	ts_expect(t, "R 1:1(0) win 0");
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* The peer's FIN answered, the stack's ACKed: the end of a close. */
static void wait_time_wait(struct tscript *t)
{
	ts_advance_ms(t, 60000);
	ts_expect_none(t);
}

/* server/sockopt-fastopen-key.pkt (net.ipv4.tcp_fastopen_key 0-0-0-0):
 * TCP_FASTOPEN_KEY set before listen() and set after it give the same
 * cookies, Linux's for the key; a listener without it uses the global key
 * (whose cookie a SYN with the other one gets, its data not taken). The
 * script ends with that SYN-ACK. Its keys of 0 and 3 bytes (EINVAL) meet
 * the kernel's placeholder socket, which takes every setsockopt first
 * (shim/sock.c). */
static void test_sockopt_fastopen_key(void **state)
{
	static const uint8_t zero[16];
	struct tscript *t = gp_new(0x403);
	struct ip4_endpoint ep;
	struct tcp_conn *l, *c;
	char a0[2 * TCP_FASTOPEN_COOKIE_LEN + 1], z[2 * TCP_FASTOPEN_COOKIE_LEN + 1];

	(void)state;
	memset(t->h->s->cfg.tcp_fastopen_key[0], 0, 16);
	cookie_hex(key_a0, H_PEER_IP, H_STACK_IP, a0);
	cookie_hex(zero, H_PEER_IP, H_STACK_IP, z);
	t->peer_isn = 1428932;

	/* The key before listen(); a cookie request with data. */
	l = tcp_open(t->h->s);
	assert_non_null(l);
	tcp_set_fastopen_key(l, key_a0, 16);
	ep = (struct ip4_endpoint){ 0, t->local_port };
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 1), 0);
	ts_inject(t, "S 0:10(10) win 10000 <mss 1012,FOEXP,sackOK,TS val 1 ecr 0,nop,wscale 7>");
	expectf(t, "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 1,nop,wscale 8,FOEXP %s>", a0);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <nop,nop,TS val 2 ecr 0>");
	c = accept_one(l);
	tcp_close(l, t->h->now);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win * <nop,nop,TS val * ecr 2>");
	ts_inject(t, "F. 1:1(0) ack 2 win 257 <nop,nop,TS val 3 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 2 win * <nop,nop,TS val * ecr 3>");
	wait_time_wait(t);

	/* The key after listen(); the cookie's SYN with 1000 bytes. */
	ts_advance_ms(t, 100);
	ts_new_peer(t);
	t->peer_isn = 6814000;
	l = ts_listen(t, 1);
	tcp_set_fastopen_key(l, key_a0, 16);
	ts_advance_ms(t, 50);
	ts_injectf(t, "S 0:1000(1000) win 10000 <mss 1012,FOEXP %s,sackOK,TS val 10 ecr 0,nop,wscale 7>", a0);
	ts_expect(t, "S. 0:0(0) ack 1001 win * <mss 1460,sackOK,TS val * ecr 10,nop,wscale 8>");
	c = accept_one(l);
	tcp_close(l, t->h->now);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_inject(t, ". 1001:1001(0) ack 1 win 257 <nop,nop,TS val 12 ecr 0>");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1000);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1001 win * <nop,nop,TS val * ecr 12>");
	ts_inject(t, "F. 1001:1001(0) ack 2 win 257 <nop,nop,TS val 112 ecr 0>");
	ts_expect(t, ". 2:2(0) ack 1002 win * <nop,nop,TS val * ecr 112>");
	wait_time_wait(t);

	/* No key on the listener: the global one's cookie, the data not taken. */
	ts_advance_ms(t, 100);
	ts_new_peer(t);
	l = ts_listen(t, 1);
	ts_advance_ms(t, 50);
	ts_injectf(t, "S 0:1000(1000) win 10000 <mss 1012,FOEXP %s,sackOK,TS val 10 ecr 0,nop,wscale 7>", a0);
	expectf(t, "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 10,nop,wscale 8,FOEXP %s>", z);
	/* The request goes with its listener, silently (inet_csk_listen_stop
	 * only resets children in the accept queue). */
	tcp_close(l, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* ---- client/poll.pkt (tcp_timestamps 0) ---- */

#define POLL_ALL (SOCK_POLLIN | SOCK_POLLOUT | SOCK_POLLERR | SOCK_POLLHUP)
#define CLIENT_SYN "mss 1460,nop,nop,sackOK,nop,wscale 8"

static long fo_sendto(struct tscript *t, struct tcp_conn *c, size_t n)
{
	struct ip4_endpoint peer = { H_PEER_IP, t->peer_port };
	struct sock_iov v = { buf, n };

	return tcp_connect_fastopen(c, &peer, &v, 1, false, t->h->now);
}

/* poll() says nothing while the SYN is out, POLLOUT alone once the
 * SYN-ACK came (a cookie request's, a fast open's), and POLLIN, POLLOUT,
 * POLLERR and POLLHUP after a reset in SYN_SENT, a fast open's SYN or a
 * plain connect()'s (Linux's tcp_poll). */
static void test_client_poll(void **state)
{
	struct tscript *t = gp_new(0x403);
	struct ip4_endpoint peer;
	struct tcp_conn *c;

	(void)state;
	t->h->s->cfg.tcp_timestamps = 0;

	/* The cache's warm-up: a cookie request. */
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 0), 0);
	ts_expect(t, "S 0:0(0) win * <" CLIENT_SYN ",FO,nop,nop>");
	assert_int_equal(tcp_poll(c) & POLL_ALL, 0);
	ts_advance_ms(t, 10);
	t->peer_isn = 123;
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_poll(c) & POLL_ALL, SOCK_POLLOUT);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_advance_ms(t, 10);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1:1(0) ack 1 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, "F. 1:1(0) ack 2 win 92");
	ts_expect(t, ". 2:2(0) ack 2 win *");

	/* A fast open: poll() waits for the SYN-ACK. */
	ts_advance_ms(t, 170);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" CLIENT_SYN ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_poll(c) & POLL_ALL, 0);
	ts_advance_ms(t, 10);
	t->peer_isn = 1111;
	ts_inject(t, "S. 0:0(0) ack 1001 win 60000 <mss 1040,nop,nop,sackOK>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(tcp_poll(c) & POLL_ALL, SOCK_POLLOUT);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_advance_ms(t, 30);
	ts_drop(t, c);

	/* A reset for a fast open's SYN. */
	ts_advance_ms(t, 50);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" CLIENT_SYN ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_poll(c) & POLL_ALL, 0);
	ts_advance_ms(t, 10);
	ts_inject(t, "R. 0:0(0) ack 1 win 0");
	assert_int_equal(tcp_poll(c) & POLL_ALL, POLL_ALL);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_advance_ms(t, 30);
	tcp_close(c, t->h->now);
	ts_expect_none(t);

	/* A reset for a plain connect()'s SYN. */
	ts_advance_ms(t, 50);
	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win * <" CLIENT_SYN ">");
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_poll(c) & POLL_ALL, 0);
	ts_advance_ms(t, 10);
	ts_inject(t, "R. 0:0(0) ack 1 win 0");
	assert_int_equal(tcp_poll(c) & POLL_ALL, POLL_ALL);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_advance_ms(t, 30);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	wait_time_wait(t);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_rw),
		cmocka_unit_test(test_basic_cookie_not_reqd),
		cmocka_unit_test(test_basic_zero_payload),
		cmocka_unit_test(test_basic_non_tfo_listener),
		cmocka_unit_test(test_pure_syn_data),
		cmocka_unit_test(test_reset_after_accept),
		cmocka_unit_test(test_reset_before_accept),
		cmocka_unit_test(test_reset_close_with_unread_data),
		cmocka_unit_test(test_reset_non_tfo_socket),
		cmocka_unit_test(test_unread_data_closed_trigger_rst),
		cmocka_unit_test(test_listener_closed_trigger_rst),
		cmocka_unit_test(test_icmp_before_accept),
		cmocka_unit_test(test_sockopt_fastopen_key),
		cmocka_unit_test(test_client_poll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
