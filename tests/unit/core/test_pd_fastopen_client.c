/* TCP fast open's client side (RFC 7413 §4.1), after google/packetdrill's
 * gtests/net/tcp/fastopen/client/ scripts: the cookie request, the cookie
 * and the server's MSS kept per destination, a SYN with data sized as
 * Linux's tcp_send_syn_data, what the SYN-ACK says of the data, SYN
 * timeouts. The scripts run without timestamps; the stack here offers
 * them (it has no switch), so its SYNs carry TS, and its window scale is
 * its own: the options' order and the sequence numbers are the point. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/config.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

#define SYN_OPTS "mss 1460,sackOK,TS val * ecr 0,nop,wscale 7"
#define TCPI_OPT_SYN_DATA 32

static uint8_t payload[16384];

static struct tscript *client_new(uint16_t mode)
{
	struct tscript *t = ts_new(0);

	t->h->s->cfg.tcp_fastopen = mode;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	return t;
}

/* sendto(MSG_FASTOPEN) of n bytes: what the stack took (all: blocking). */
static long fo_sendto(struct tscript *t, struct tcp_conn *c, size_t n, bool all)
{
	struct ip4_endpoint peer = { H_PEER_IP, t->peer_port };
	struct sock_iov v = { payload, n };

	return tcp_connect_fastopen(c, &peer, &v, 1, all, t->h->now);
}

static uint8_t options(struct tcp_conn *c)
{
	struct tcp_conn_info ti;

	tcp_get_info(c, &ti, c->s->now);
	return ti.options;
}

/* The scripts' cache warm-up: a cookie request (sendto of nothing),
 * answered with cookie hex and MSS mss; the connection goes. */
static void warm_up(struct tscript *t, const char *hex, unsigned mss)
{
	struct tcp_conn *c = ts_socket_next(t);

	assert_int_equal(fo_sendto(t, c, 0, false), 0);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FO,nop,nop>");
	ts_advance_ms(t, 10);
	ts_injectf(t, "S. 0:0(0) ack 1 win 14600 <mss %u,nop,nop,sackOK,nop,wscale 6,FO %s,nop,nop>", mss, hex);
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);
}

/* fastopen/client/nonblocking-sendto.pkt: a cookie request first; then
 * the cookie and as much data as fits; the server's MSS (940) and its new
 * cookie are kept, the next SYN carries 940 - 40 bytes; a plain connect()
 * asks for nothing. */
static void test_cookie_then_syn_data_sized_by_cached_mss(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;
	struct ip4_endpoint peer;

	(void)state;
	warm_up(t, "abcd1234", 1460);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 50);
	ts_inject(t, "S. 0:0(0) ack 1001 win 14600 <mss 940,nop,nop,sackOK,nop,wscale 6,FO 12345678,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_outq(c), 0);
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000, false), 900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ",FO 12345678,nop,nop>");
	ts_advance_ms(t, 50);
	ts_inject(t, "S. 0:0(0) ack 901 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 000000000000>");
	ts_expect(t, ". 901:901(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	/* MSG_FASTOPEN after the handshake is an ordinary write. */
	assert_int_equal(tcp_send(c, payload, 2000, t->h->now), 2000);
	ts_expect_data(t, 901, 2361);       /* no TSO on this link */
	assert_true(ts_expect_data(t, 2361, 2901));
	ts_drop(t, c);

	/* A plain connect(): no option, whatever is cached. */
	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ">");
	ts_inject(t, "S. 0:0(0) ack 1 win 5824 <mss 1000,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);

	/* The cookie of the SYN-ACK before (all zeros, 6 bytes) stands. */
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 100, false), 100);
	ts_expect(t, "S 0:100(100) win * <" SYN_OPTS ",FO 000000000000>");
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-only-syn-acked.pkt: a SYN-ACK that takes the
 * SYN but not its data: the data goes again at once, carrying the ACK; no
 * TCPI_OPT_SYN_DATA; the cookie and the new MSS are kept all the same. */
static void test_syn_acked_alone_data_resent(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "1234abcd", 1460);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 700, false), 700);
	ts_expect(t, "S 0:700(700) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO 1234abcd,nop,nop>");
	ts_expect(t, "P. 1:701(700) ack 1 win *");
	ts_expect_none(t);
	ts_inject(t, "P. 1:1001(1000) ack 701 win 257");
	ts_expect(t, ". 701:701(0) ack 1001 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	assert_int_equal(tcp_outq(c), 0);
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 5000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-partial-or-over-ack.pkt: 9 of 18 bytes taken:
 * the other 9 go again; a SYN-ACK acknowledging more than was sent is
 * answered with a reset (RFC 9293 §3.10.7.3) and leaves the cache as it
 * was. */
static void test_syn_data_partly_or_over_acked(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 1460);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 18, false), 18);
	ts_expect(t, "S 0:18(18) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 5);
	ts_inject(t, "S. 0:0(0) ack 10 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, "P. 10:19(9) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1460, false), 1420);
	ts_expect(t, "S 0:1420(1420) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1421 win 14600 <mss 840,FO 12345678ffff>");
	ts_expect(t, ". 1421:1421(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 100, false), 100);
	ts_expect(t, "S 0:100(100) win * <" SYN_OPTS ",FO 12345678ffff>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 100101 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO badc00ce,nop,nop>");
	ts_expect(t, "R 100101:100101(0) win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000, false), 800);
	ts_expect(t, "S 0:800(800) win * <" SYN_OPTS ",FO 12345678ffff>");
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-timeout.pkt and cookie-req-timeout.pkt: the
 * SYN sent again after a timeout is a plain SYN, no data, no option; the
 * SYN-ACK's data not taken goes at once; a cookie a SYN-ACK gives after a
 * timeout is kept (the timeout may have been spurious). */
static void test_syn_timeout_plain_syn_then_data(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	/* The request times out, the answer gives a cookie all the same. */
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 0, false), 0);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FO,nop,nop>");
	ts_advance_ms(t, 1000);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ">");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1 win 60000 <mss 1240,FO aaaabbbbcccc>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO aaaabbbbcccc>");
	ts_advance_ms(t, 1000);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ">");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_expect_none(t);
	ts_inject(t, "P. 1:1401(1400) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 1401 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-mss.pkt: the SYN's data is the cached MSS
 * less 40, within TCP_MAXSEG (which the cache does not keep: the SYN-ACK's
 * own MSS is), and within the path MTU however large the cached MSS. */
static void test_syn_data_mss_rules(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 940);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000, false), 900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 901 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 901:901(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(tcp_setopt(c, TCP_OPT_MAXSEG, 1040), 0);
	assert_int_equal(fo_sendto(t, c, 2000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <mss 1040,sackOK,TS val * ecr 0,nop,wscale 7,FO abcd1234,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 14600 <mss 1340,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000, false), 1300);
	ts_expect(t, "S 0:1300(1300) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1301 win 65535 <mss 10000>");
	ts_expect(t, ". 1301:1301(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 2000, false), 1420);
	ts_expect(t, "S 0:1420(1420) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/cookie-less-sendto.pkt (net.ipv4.tcp_fastopen 5): data
 * in the SYN without the option; a cookie the server gives unasked is not
 * kept: with the client bit alone again, the SYN asks for one. */
static void test_no_cookie_mode(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE | TFO_CLIENT_NO_COOKIE);
	struct tcp_conn *c;

	(void)state;
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ">");
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 940,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_drop(t, c);

	/* The MSS was kept all the same: 940 - 40. */
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1900, false), 900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ">");
	ts_drop(t, c);

	t->h->s->cfg.tcp_fastopen = TFO_CLIENT_ENABLE;
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 0);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FO,nop,nop>");
	ts_drop(t, c);

	/* The client bit off: no fast open at all. */
	t->h->s->cfg.tcp_fastopen = 0;
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), -EOPNOTSUPP);
	ts_expect_none(t);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* One cookie request towards a server that never answers it, in the form
 * want ("FO,nop,nop" or "FOEXP"); the data (1000 bytes, a blocking
 * sendto) follows the handshake and carries its ACK. */
static void request_unanswered(struct tscript *t, const char *want)
{
	struct tcp_conn *c = ts_socket_next(t);
	char spec[200];

	assert_int_equal(fo_sendto(t, c, 1000, true), 1000);
	snprintf(spec, sizeof(spec), "S 0:0(0) win * <" SYN_OPTS ",%s>", want);
	ts_expect(t, spec);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_expect_none(t);
	ts_drop(t, c);
}

/* fastopen/client/fallback-exp-opt.pkt: a request unanswered is made once
 * more in the experimental option (254, 0xF989), then in the RFC's for
 * good; a cookie given in the experimental option is sent back in it; a
 * server that answers in the RFC's has that one kept. */
static void test_experimental_option_fallback(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	request_unanswered(t, "FO,nop,nop");
	request_unanswered(t, "FOEXP");
	request_unanswered(t, "FO,nop,nop");
	request_unanswered(t, "FO,nop,nop");

	/* Another destination's record: a server that knows the old form. */
	t->h->s->tcp->fo_cache[0].addr = 0;
	memset(t->h->s->tcp->fo_cache, 0, sizeof(t->h->s->tcp->fo_cache));
	request_unanswered(t, "FO,nop,nop");
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, true), 1000);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FOEXP>");
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,wscale 6,FOEXP 1234abcd>");
	ts_expect(t, "P. 1:1001(1000) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, true), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FOEXP 1234abcd>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd5678,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, true), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd5678,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1000 win 5840 <mss 1460,nop,wscale 6>");
	ts_expect(t, "P. 1000:1001(1) ack 1 win *");
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/valid-cookie-format.pkt: a cookie of zeros is one; a
 * cookie shorter than 4 bytes, longer than 16 or of odd length is not
 * kept (the MSS is); 16 bytes is. (The script harness writes at most 16
 * bytes: the 18-byte cookie of the script is left out; the parser drops
 * it as it drops the odd one, tcp_opts_parse.) */
static void test_cookie_lengths(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "00000000", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO 00000000,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 940,nop,nop,sackOK,nop,wscale 6,FO 1122>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ",FO 00000000,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 901 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,"
		     "FO 01234567aabbccdd0123456701234567,nop,nop>");
	ts_expect(t, ". 901:901(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO 01234567aabbccdd0123456701234567,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 112233,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	/* A cookie on a segment without SYN is not read either. */
	ts_inject(t, "P. 1:501(500) ack 1001 win 5840 <FO 01234567ffffffff01234567ffffffff,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 501 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO 01234567aabbccdd0123456701234567,nop,nop>");
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/blocking-sendto.pkt: a blocking sendto's data beyond
 * the SYN goes once the handshake is done, and carries its ACK. */
static void test_blocking_rest_after_handshake(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "1234abcd5678dcba", 940);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1900, true), 1900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ",FO 1234abcd5678dcba,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 901 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	ts_expect(t, "P. 901:1901(1000) ack 1 win *");
	ts_expect_none(t);
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/blocking-sendmsg-multi-iov.pkt: a blocking sendmsg with
 * MSG_FASTOPEN takes all (one buffer of 1000 bytes; three of 500, 1000
 * and 400): the SYN carries what fits (1000; then 900, the 940 MSS the
 * last SYN-ACK gave less 40), the rest goes with the handshake's ACK. Data
 * from the peer right after the handshake is ACKed at once; after we sent
 * data on the handshake (a reply within the ACK timeout: interactive, as
 * Linux's tcp_event_data_sent) its ACK waits and rides on the FIN. */
static void test_blocking_sendmsg_multi_iov(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct ip4_endpoint peer;
	struct sock_iov one = { payload, 1000 };
	struct sock_iov three[3] = { { payload, 500 }, { payload + 500, 1000 }, { payload + 1500, 400 } };
	struct tcp_conn *c;
	uint8_t buf[4096];

	(void)state;
	warm_up(t, "abcd1234", 1460);
	ts_advance_ms(t, 10);
	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	ts_advance_ms(t, 10);
	assert_int_equal(tcp_connect_fastopen(c, &peer, &one, 1, true, t->h->now), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 1001 win 5840 <mss 940,nop,nop,sackOK,nop,wscale 6,FO 1234abcd5678dcba,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_advance_ms(t, 10);
	ts_inject(t, "P. 1:501(500) ack 1000 win 257");
	ts_expect(t, ". 1001:1001(0) ack 501 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 500);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 501 win *");
	ts_advance_ms(t, 20);
	ts_inject(t, "F. 501:501(0) ack 1002 win 257");
	ts_expect(t, ". 1002:1002(0) ack 502 win *");

	ts_advance_ms(t, 10);
	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	assert_int_equal(tcp_connect_fastopen(c, &peer, three, 3, true, t->h->now), 1900);
	ts_expect(t, "S 0:900(900) win * <" SYN_OPTS ",FO 1234abcd5678dcba,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 901 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	ts_expect(t, "P. 901:1901(1000) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_advance_ms(t, 20);
	ts_inject(t, "P. 1:501(500) ack 1901 win 257");
	ts_expect_none(t);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 500);
	ts_advance_ms(t, 2);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1901:1901(0) ack 501 win *");
	ts_advance_ms(t, 10);
	ts_inject(t, "F. 501:501(0) ack 1902 win 257");
	ts_expect(t, ". 1902:1902(0) ack 502 win *");
	ts_advance_ms(t, 60000);
	ts_expect_none(t);
	ts_free(t);
}

/* fastopen/client/blocking-connect-bypass.pkt, nonblocking-connect-bypass.pkt:
 * TCP_FASTOPEN_CONNECT's connect() asks for a cookie when it has none;
 * with one it sends nothing and the first write's SYN carries the data. */
static void test_fastopen_connect_defers_syn(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;
	struct ip4_endpoint peer;

	(void)state;
	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	assert_int_equal(tcp_connect_defer(c, &peer, t->h->now), -EINPROGRESS);
	assert_false(tcp_fastopen_deferred(c));
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FO,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	ts_expect(t, ". 1:1(0) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	peer = (struct ip4_endpoint){ H_PEER_IP, t->peer_port };
	assert_int_equal(tcp_connect_defer(c, &peer, t->h->now), 0);
	assert_true(tcp_fastopen_deferred(c));
	ts_expect_none(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	assert_false(tcp_fastopen_deferred(c));
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_inject(t, "S. 0:0(0) ack 1001 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 12345678,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win *");
	assert_int_equal(options(c) & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/synack-data.pkt: data on the SYN-ACK is taken (RFC 9293
 * §3.10.7.3), and with a FIN the connection goes to CLOSE_WAIT. */
static void test_synack_with_data(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;
	uint8_t buf[4096];

	(void)state;
	warm_up(t, "abcd1234", 1040);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_inject(t, "SF. 0:1400(1400) ack 1001 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1402 win *");
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSE_WAIT);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 1400);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 0);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-rtt-from-syn-data.pkt: the SYN-ACK is an RTT
 * sample whether it takes the data or not. */
static void test_rtt_from_synack(void **state)
{
	struct tscript *t = client_new(TFO_CLIENT_ENABLE);
	struct tcp_conn *c;
	struct tcp_conn_info ti;

	(void)state;
	warm_up(t, "1234abcd", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 700, false), 700);
	ts_expect(t, "S 0:700(700) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 700 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 1234abcd,nop,nop>");
	tcp_get_info(c, &ti, t->h->now);
	assert_true(ti.rtt_us >= 15000 && ti.rtt_us <= 25000);
	ts_expect(t, "P. 700:701(1) ack 1 win *");
	ts_drop(t, c);

	c = ts_socket_next(t);
	assert_int_equal(fo_sendto(t, c, 700, false), 700);
	ts_expect(t, "S 0:700(700) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_advance_ms(t, 30);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 1234abcd,nop,nop>");
	tcp_get_info(c, &ti, t->h->now);
	assert_true(ti.rtt_us >= 25000 && ti.rtt_us <= 36000);
	ts_expect(t, "P. 1:701(700) ack 1 win *");
	ts_drop(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_then_syn_data_sized_by_cached_mss),
		cmocka_unit_test(test_syn_acked_alone_data_resent),
		cmocka_unit_test(test_syn_data_partly_or_over_acked),
		cmocka_unit_test(test_syn_timeout_plain_syn_then_data),
		cmocka_unit_test(test_syn_data_mss_rules),
		cmocka_unit_test(test_no_cookie_mode),
		cmocka_unit_test(test_experimental_option_fallback),
		cmocka_unit_test(test_cookie_lengths),
		cmocka_unit_test(test_blocking_rest_after_handshake),
		cmocka_unit_test(test_blocking_sendmsg_multi_iov),
		cmocka_unit_test(test_fastopen_connect_defers_syn),
		cmocka_unit_test(test_synack_with_data),
		cmocka_unit_test(test_rtt_from_synack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
