/* TCP fast open's client side (RFC 7413 §4.1), more of google/packetdrill's
 * gtests/net/tcp/fastopen/client/ scripts than test_pd_fastopen_client.c
 * follows: the SYN's data a SYN-ACK leaves resent as retransmissions,
 * simultaneous open with data, an ICMP "fragmentation needed" for a SYN
 * with data, data and timestamps on the SYN-ACK. The scripts run without
 * timestamps unless they say so; the stack offers them (it has no
 * switch), the peer here answers without, as in the scripts. The scripts'
 * Linux sends TSO frames where the harness's link has none: the same bytes
 * go in MSS-sized segments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/config.h"
#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/tcp_script.h"

#define SYN_OPTS "mss 1460,sackOK,TS val * ecr 0,nop,wscale 7"
#define TCPI_OPT_SYN_DATA 32

static uint8_t payload[16384];

static struct tscript *client_new(void)
{
	struct tscript *t = ts_new(0);

	t->h->s->cfg.tcp_fastopen = TFO_CLIENT_ENABLE;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 5);
	return t;
}

/* sendto(MSG_FASTOPEN) of n bytes; all: a blocking call (the rest queued). */
static long fastopen_send(struct tscript *t, struct tcp_conn *c, size_t n, bool all)
{
	struct ip4_endpoint peer = { H_PEER_IP, t->peer_port };
	struct sock_iov v = { payload, n };

	return tcp_connect_fastopen(c, &peer, &v, 1, all, t->h->now);
}

static struct tcp_conn_info info(struct tcp_conn *c)
{
	struct tcp_conn_info ti;

	tcp_get_info(c, &ti, c->s->now);
	return ti;
}

/* The cookie request that fills the cache: cookie hex, MSS mss. */
static void warm_up(struct tscript *t, const char *hex, unsigned mss)
{
	struct tcp_conn *c = ts_socket_next(t);

	assert_int_equal(fastopen_send(t, c, 0, false), 0);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ",FO,nop,nop>");
	ts_advance_ms(t, 10);
	ts_injectf(t, "S. 0:0(0) ack 1 win 14600 <mss %u,nop,nop,sackOK,nop,wscale 6,FO %s,nop,nop>", mss, hex);
	ts_expect(t, ". 1:1(0) ack 1 win *");
	assert_int_equal(info(c).delivered, 1);
	ts_drop(t, c);
}

/* fastopen/client/syn-data-only-syn-acked.pkt: the SYN-ACK takes the SYN
 * alone. Linux marks the SYN's data lost and resends it through the
 * retransmission path (tcp_rcv_fastopen_synack): one retransmission in
 * tcpi_retrans and tcpi_total_retrans, the Loss state; the delivery count
 * is the SYN's, then the data's. */
static void test_syn_data_unacked_is_a_retransmission(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;
	struct tcp_conn_info ti;

	(void)state;
	warm_up(t, "1234abcd", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 700, false), 700);
	ts_expect(t, "S 0:700(700) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO 1234abcd,nop,nop>");
	ts_expect(t, "P. 1:701(700) ack 1 win *");
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.delivered, 1);
	assert_int_equal(ti.retrans, 1);
	assert_int_equal(ti.total_retrans, 1);
	assert_int_equal(ti.unacked, 1);
	assert_int_equal(ti.ca_state, TCP_CA_LOSS);
	ts_inject(t, "P. 1:1001(1000) ack 701 win 257");
	ts_expect(t, ". 701:701(0) ack 1001 win *");
	ti = info(c);
	assert_int_equal(ti.delivered, 2);
	assert_int_equal(ti.retrans, 0);
	assert_int_equal(ti.unacked, 0);
	assert_int_equal(ti.ca_state, TCP_CA_OPEN);
	assert_int_equal(ti.options & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);
	ts_free(t);
}

/* The same script's last part: a blocking sendto of 6000 bytes, the SYN's
 * 1420 not taken. They go again first (tcpi_retrans 1), the rest after as
 * new data (5 segments unacknowledged). A SACK of all but them: in the
 * Loss state RACK has no reordering window, so the retransmission, sent
 * before the SACKed data an RTT ago, is lost too and goes once more. */
static void test_syn_data_resent_then_sacked_around(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;
	struct tcp_conn_info ti;

	(void)state;
	warm_up(t, "1234abcd", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 6000, true), 6000);
	ts_expect(t, "S 0:1420(1420) win * <" SYN_OPTS ",FO 1234abcd,nop,nop>");
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	/* PSH on the SYN's data each time it goes again, as the script has
	 * it (Linux's SYN data skb is ACK|PSH, tcp_send_syn_data). */
	ts_expect(t, "P. 1:1421(1420) ack 1 win *");
	ts_expect_data(t, 1421, 2881);
	ts_expect_data(t, 2881, 4341);
	ts_expect_data(t, 4341, 5801);
	ts_expect_data(t, 5801, 6001);
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.retrans, 1);
	assert_int_equal(ti.total_retrans, 1);
	assert_int_equal(ti.unacked, 5);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 1 win 257 <sack 1421:6001,nop,nop>");
	ts_expect(t, "P. 1:1421(1420) ack 1 win *");
	ts_expect_none(t);
	assert_int_equal(info(c).total_retrans, 2);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 6001 win 257");
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.unacked, 0);
	assert_int_equal(ti.retrans, 0);
	assert_int_equal(ti.options & TCPI_OPT_SYN_DATA, 0);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/syn-data-partial-or-over-ack.pkt, its first part: 100
 * of 1420 bytes taken, the MSS down to 1000: the other 1320 are resent at
 * once (two segments, tcpi_retrans 2) ahead of a write's new data; a SACK
 * of everything but the first 1000 has them resent (RACK, the Loss
 * state); the last ACK leaves nothing outstanding. */
static void test_syn_data_partly_acked_resent_as_retransmissions(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;
	struct tcp_conn_info ti;

	(void)state;
	warm_up(t, "abcd1234", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 4000, false), 1420);
	ts_expect(t, "S 0:1420(1420) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:0(0) ack 101 win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 101:1101(1000) ack 1 win *");
	ts_expect(t, "P. 1101:1421(320) ack 1 win *");
	ts_expect_none(t);
	assert_int_equal(info(c).unacked, 2);
	assert_int_equal(tcp_send(c, payload, 4000, t->h->now), 4000);
	ts_expect_data(t, 1421, 2421);
	ts_expect_data(t, 2421, 3421);
	ts_expect_data(t, 3421, 4421);
	ts_expect_data(t, 4421, 5421);
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.retrans, 2);
	assert_int_equal(ti.total_retrans, 2);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 101 win 257 <sack 1101:5421,nop,nop>");
	ts_expect(t, ". 101:1101(1000) ack 1 win *");
	ts_expect_none(t);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1:1(0) ack 5421 win 257");
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.retrans, 0);
	assert_int_equal(ti.unacked, 0);
	assert_int_equal(ti.total_retrans, 3);
	ts_drop(t, c);
	ts_free(t);
}

/* fastopen/client/simultaneous-fast-open.pkt: SYNs with data cross. Our
 * SYN-ACK takes the peer's SYN alone, and its SYN-ACK, which acknowledges
 * our SYN's data (Linux's SND.NXT is past it: tcp_rcv_state_process lets
 * a SYN-ACK pass in SYN-RECV when its ACK is SND.NXT), ends the
 * handshake; the peer sends its data again. Linux's SYN-RECV path keeps
 * nothing of that SYN-ACK's cookie or MSS (tcp_rcv_fastopen_synack is the
 * SYN-SENT one's), nor says the SYN's data was taken. Since Linux 6.11
 * ("tcp: process the 3rd ACK with sk_socket for TFO/MPTCP") that SYN-ACK
 * draws an ACK, a duplicate with a D-SACK of its SYN (the script, older,
 * has no line for it; rawframes synsent_simultaneous_open measures it). */
static void test_simultaneous_open_with_syn_data(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;
	uint8_t buf[4096];

	(void)state;
	warm_up(t, "abcd1234", 1460);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 5);
	ts_inject(t, "S 0:500(500) win 14600 <mss 1040,nop,nop,sackOK,nop,wscale 6,FO 87654321,nop,nop>");
	/* Our SYN again with ACK set (tcp_send_synack), its options with
	 * it: the script, run with tcp_timestamps=0, shows them less TS. */
	ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_RECEIVED);
	ts_advance_ms(t, 45);
	ts_inject(t, "S. 0:0(0) ack 1001 win 14600 <mss 940,nop,nop,sackOK,nop,wscale 6,FO 12345678,nop,nop>");
	ts_expect(t, ". 1001:1001(0) ack 1 win * <nop,nop,sack 0:1>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	assert_int_equal(tcp_outq(c), 0);
	assert_int_equal(info(c).options & TCPI_OPT_SYN_DATA, 0);
	ts_advance_ms(t, 100);
	ts_inject(t, "P. 1:501(500) ack 1000 win 257");
	ts_expect(t, ". 1001:1001(0) ack 501 win *");
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 500);
	ts_check_bytes(buf, 500, 1);
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 501 win *");
	ts_advance_ms(t, 50);
	ts_inject(t, "F. 501:501(0) ack 1002 win 257");
	ts_expect(t, ". 1002:1002(0) ack 502 win *");
	ts_advance_ms(t, 61000);

	/* The cache is as the warm-up left it: cookie abcd1234, MSS 1460. */
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 2000, false), 1420);
	ts_expect(t, "S 0:1420(1420) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_drop(t, c);
	ts_free(t);
}

static const struct tcp_fo_entry *cache_entry(struct tscript *t)
{
	for (unsigned i = 0; i < TCP_FO_CACHE_MAX; i++)
		if (t->h->s->tcp->fo_cache[i].addr == H_PEER_IP)
			return &t->h->s->tcp->fo_cache[i];
	fail_msg("no fast open cache entry for the peer");
	return NULL;
}

/* fastopen/client/syn-data-icmp-unreach-frag-needed.pkt and
 * syn-data-icmp-unreach-frag-needed-with-seq.pkt (IPv4): the SYN with
 * data meets a smaller MTU. Linux (tcp_v4_mtu_reduced, then
 * tcp_simple_retransmit, which since 5.19 marks a fast open SYN and its
 * data lost in SYN-SENT) sends the SYN again at once, plain, its MSS
 * option the new MTU less 40; the SYN-ACK takes the SYN alone, and the
 * data goes in segments that fit. The SYN went twice: no RTT sample from
 * the SYN-ACK (Karn), and a SYN-ACK without a cookie that leaves the data
 * counts as a SYN with data lost (the cookie stays). */
static void frag_needed_case(uint16_t mtu)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;
	struct tcp_conn_info ti;
	char spec[200];
	unsigned mss = mtu - 40u;

	warm_up(t, "abcd1234", 1040);
	ts_advance_ms(t, 30);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 9999, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject_frag_needed(t, mtu);
	snprintf(spec, sizeof(spec), "S 0:0(0) win * <mss %u,sackOK,TS val * ecr 0,nop,wscale 7>", mss);
	ts_expect(t, spec);
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	assert_int_equal(info(c).total_retrans, 1);
	ts_advance_ms(t, 20);
	ts_inject(t, "S. 0:0(0) ack 1 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6>");
	ts_expect_data(t, 1, 1 + mss);
	assert_true(ts_expect_data(t, 1 + mss, 1001));
	ts_expect_none(t);
	ti = info(c);
	assert_int_equal(ti.options & TCPI_OPT_SYN_DATA, 0);
	assert_int_equal(ti.snd_mss, mss);
	assert_int_equal(ti.rtt_us, 0);
	assert_int_equal(cache_entry(t)->syn_loss, 1);
	assert_int_equal(cache_entry(t)->len, 4);
	ts_advance_ms(t, 20);
	ts_inject(t, ". 1:1(0) ack 1001 win 257");
	ts_advance_ms(t, 20);
	ts_inject(t, "F. 1:1(0) ack 1001 win 257");
	ts_advance_ms(t, 4);        /* the ACK at the next tick (tcp_fin, ato 0) */
	ts_expect(t, ". 1001:1001(0) ack 2 win *");
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 1001:1001(0) ack 2 win *");
	ts_advance_ms(t, 20);
	ts_inject(t, ". 2:2(0) ack 1002 win 257");
	ts_expect_none(t);
	assert_int_equal(tcp_conn_count(t->h->s), 0);

	/* The next SYN still carries the cookie and data sized by the MSS
	 * the last SYN-ACK gave, within the MTU now learned, and offers the
	 * MSS of that MTU (Linux's tcp_advertise_mss: the route's advmss,
	 * its path MTU; measured on Linux 6.18 with a route of MTU 1000:
	 * mss 960). */
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 9999, false), (long)(mtu < 1040 ? mss : 1040u) - 40);
	snprintf(spec, sizeof(spec),
		 "S 0:%u(%u) win * <mss %u,sackOK,TS val * ecr 0,nop,wscale 7,FO abcd1234,nop,nop>", mss - 40,
		 mss - 40, mss);
	ts_expect(t, spec);
	ts_drop(t, c);
	ts_free(t);
}

static void test_syn_data_frag_needed_mtu_800(void **state)
{
	(void)state;
	frag_needed_case(800);
}

static void test_syn_data_frag_needed_mtu_840(void **state)
{
	(void)state;
	frag_needed_case(840);
}

/* Reads everything there is: the SYN-ACK's 1400 bytes (the harness fills
 * a SYN's payload from the SYN's own number), then the peer's bytes from
 * 1401. */
static void read_all(struct tscript *t, struct tcp_conn *c, long want)
{
	static uint8_t buf[100000];

	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), want);
	ts_check_bytes(buf, want < 1400 ? (size_t)want : 1400, 0);
	if (want > 1400)
		ts_check_bytes(buf + 1400, (size_t)want - 1400, 1401);
}

/* The graceful end after the peer sent `got` bytes: our FIN, the peer's. */
static void close_both(struct tscript *t, struct tcp_conn *c, unsigned got, const char *ts)
{
	char spec[200];

	tcp_close(c, t->h->now);
	snprintf(spec, sizeof(spec), "F. 1001:1001(0) ack %u win *%s", got + 1, ts);
	ts_expect(t, spec);
	ts_advance_ms(t, 10);
	snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1002 win 257%s", got + 1, got + 1,
		 *ts ? " <nop,nop,TS val 1000300 ecr 0>" : "");
	ts_inject(t, spec);
	snprintf(spec, sizeof(spec), ". 1002:1002(0) ack %u win *%s", got + 2, ts);
	ts_expect(t, spec);
	ts_advance_ms(t, 61000);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
}

/* fastopen/client/synack-data.pkt, TEST1: a SYN-ACK with 1400 bytes that
 * takes all of our SYN's data, and two more segments right behind it:
 * each is acknowledged at once (the first data of a connection starts
 * quick-ACK mode), and the 3000 bytes read in order. */
static void test_synack_data_then_more_data(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 1040);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:1400(1400) ack 1001 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1401 win *");
	ts_inject(t, ". 1401:2801(1400) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 2801 win *");
	ts_inject(t, "P. 2801:3001(200) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 3001 win *");
	assert_int_equal(info(c).options & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	read_all(t, c, 3000);
	close_both(t, c, 3000, "");
	ts_free(t);
}

/* TEST3: the SYN-ACK is lost; the data behind it comes to a connection
 * still in SYN-SENT, an ACK without SYN: dropped without a word (RFC 9293
 * §3.10.7.3). The SYN goes again after 1 s, plain; the SYN-ACK sent again
 * with its data takes the SYN's data all the same (the server had it),
 * then the rest comes again. */
static void test_synack_data_lost_synack(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 1040);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1401:2801(1400) ack 1001 win 257");
	ts_inject(t, "P. 2801:3001(200) ack 1001 win 257");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	ts_advance_ms(t, 990);
	ts_expect(t, "S 0:0(0) win * <" SYN_OPTS ">");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:1400(1400) ack 1001 win 5840 <mss 1040,nop,nop,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1401 win *");
	assert_int_equal(info(c).options & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
	assert_int_equal(tcp_outq(c), 0);
	ts_advance_ms(t, 10);
	ts_inject(t, ". 1401:2801(1400) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 2801 win *");
	ts_inject(t, "P. 2801:3001(200) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 3001 win *");
	read_all(t, c, 3000);
	close_both(t, c, 3000, "");
	ts_free(t);
}

/* TEST4: the same with timestamps on the SYN-ACK: our ACKs echo the
 * server's TS value. */
static void test_synack_data_with_timestamps(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 1040);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:1400(1400) ack 1001 win 5840 <mss 1040,TS val 1000000 ecr 0,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 1401 win * <nop,nop,TS val * ecr 1000000>");
	ts_inject(t, ". 1401:2801(1400) ack 1001 win 257 <nop,nop,TS val 1000000 ecr 0>");
	ts_expect(t, ". 1001:1001(0) ack 2801 win * <nop,nop,TS val * ecr 1000000>");
	ts_inject(t, "P. 2801:3001(200) ack 1001 win 257 <nop,nop,TS val 1000000 ecr 0>");
	ts_expect(t, ". 1001:1001(0) ack 3001 win * <nop,nop,TS val * ecr 1000000>");
	assert_int_equal(info(c).options & 1, 1);      /* TCPI_OPT_TIMESTAMPS */
	read_all(t, c, 3000);
	close_both(t, c, 3000, " <nop,nop,TS val * ecr *>");
	ts_free(t);
}

/* TEST5: a SYN-ACK whose TS echo is not one of our SYN's times (RFC 7323
 * §5, Linux's PAWSActiveRejected in tcp_rcv_synsent_state_process) is
 * answered with a reset from its ACK, and the connection waits on; a good
 * one then establishes it, its data taken. */
static void test_synack_data_bad_echo_reset(void **state)
{
	struct tscript *t = client_new();
	struct tcp_conn *c;

	(void)state;
	warm_up(t, "abcd1234", 1040);
	c = ts_socket_next(t);
	assert_int_equal(fastopen_send(t, c, 1000, false), 1000);
	ts_expect(t, "S 0:1000(1000) win * <" SYN_OPTS ",FO abcd1234,nop,nop>");
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:1400(1400) ack 1001 win 5840 <mss 1040,TS val 1000000 ecr 9999,sackOK,nop,wscale 6>");
	ts_expect(t, "R 1001:1001(0) win 0");
	assert_int_equal(tcp_get_state(c), TCP_STATE_SYN_SENT);
	assert_int_equal(t->h->s->stats.drops[DROP_TCP_PAWS_ACTIVE], 1);
	ts_advance_ms(t, 10);
	ts_inject(t, "S. 0:100(100) ack 1001 win 5840 <mss 1040,TS val 1000000 ecr 0,sackOK,nop,wscale 6>");
	ts_expect(t, ". 1001:1001(0) ack 101 win * <nop,nop,TS val * ecr 1000000>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	read_all(t, c, 100);
	ts_drop(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syn_data_unacked_is_a_retransmission),
		cmocka_unit_test(test_syn_data_resent_then_sacked_around),
		cmocka_unit_test(test_syn_data_partly_acked_resent_as_retransmissions),
		cmocka_unit_test(test_simultaneous_open_with_syn_data),
		cmocka_unit_test(test_syn_data_frag_needed_mtu_800),
		cmocka_unit_test(test_syn_data_frag_needed_mtu_840),
		cmocka_unit_test(test_synack_data_then_more_data),
		cmocka_unit_test(test_synack_data_lost_synack),
		cmocka_unit_test(test_synack_data_with_timestamps),
		cmocka_unit_test(test_synack_data_bad_echo_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
