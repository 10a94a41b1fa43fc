/* IPv4 (RFC 791, RFC 1122 §3.2.1): validation by reason, addressing, options,
 * reassembly (order, duplicates, overlaps, timeout, memory bound),
 * fragmentation, routing, header fields. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/arp.h"
#include "stack/core/eth.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/ip4_frag.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/core/udp.h"
#include "stack/wire/tcp.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static uint8_t buf[H_MAX_FRAME];
static uint8_t dg[65536];

/* Recomputes the IP header checksum of a frame built by h_build_ip4. */
static void fix_csum(uint8_t *frame)
{
	uint8_t *ip = frame + ETH_HLEN;

	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_partial(ip, (size_t)(ip[0] & 15) * 4, 0)));
}

/* A UDP datagram (header + data, checksum over the pseudo-header) into out. */
static size_t make_udp(uint8_t *out, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		       const uint8_t *data, size_t n)
{
	uint16_t c;

	wr16(out, sport);
	wr16(out + 2, dport);
	wr16(out + 4, (uint16_t)(8 + n));
	wr16(out + 6, 0);
	memmove(out + 8, data, n);
	c = csum_fold(csum_partial(out, 8 + n, csum_pseudo4(src, dst, IP_PROTO_UDP, (uint16_t)(8 + n))));
	wr16(out + 6, c ? c : 0xffff);
	return 8 + n;
}

static void inject_frag(struct harness *h, uint16_t id, size_t off, bool more, const uint8_t *data, size_t n)
{
	size_t len = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_UDP, id,
				 (uint16_t)((more ? 0x2000 : 0) | (off / 8)), data, n);

	h_inject(h, buf, len);
}

/* A bound UDP socket on port 7 to observe what IP delivers. */
static struct udp_sock *sink(struct harness *h)
{
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint ep = { 0, 7 };

	assert_non_null(u);
	assert_int_equal(udp_bind(u, &ep, 0), 0);
	return u;
}

static long recv_all(struct udp_sock *u, uint8_t *out, size_t cap)
{
	size_t full = 0;

	return udp_recvfrom(u, out, cap, NULL, &full, 0);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void test_ip4_malformed_each_reason(void **state)
{
	struct harness *h = h_new(NULL, false);
	const struct stack_stats *st = stack_stats(h->s);
	uint8_t pl[8] = { 0 };
	size_t n;

	(void)state;
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_UDP, 1, 0, pl, sizeof(pl));
	h_inject(h, buf, ETH_HLEN + 19);
	assert_int_equal(st->drops[DROP_IP_TRUNCATED], 1);

	buf[14] = 0x65;            /* version 6 */
	fix_csum(buf);
	h_inject(h, buf, n);
	assert_int_equal(st->drops[DROP_IP_BAD_VERSION], 1);

	buf[14] = 0x44;            /* IHL 16 bytes */
	h_inject(h, buf, n);
	buf[14] = 0x4f;            /* IHL 60 bytes, more than the packet */
	h_inject(h, buf, n);
	assert_int_equal(st->drops[DROP_IP_BAD_IHL], 2);

	buf[14] = 0x45;
	wr16(buf + 16, 19);        /* total length below the header */
	fix_csum(buf);
	h_inject(h, buf, n);
	wr16(buf + 16, 29);        /* longer than the frame */
	fix_csum(buf);
	h_inject(h, buf, n);
	assert_int_equal(st->drops[DROP_IP_BAD_LENGTH], 2);

	wr16(buf + 16, 28);
	fix_csum(buf);
	buf[14 + 10] ^= 0x01;      /* checksum off by one bit */
	h_inject(h, buf, n);
	assert_int_equal(st->drops[DROP_IP_BAD_CSUM], 1);

	/* None got past IP. */
	assert_int_equal(st->udp_in, 0);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* RFC 894 / Ethernet minimum size: bytes past total_len are padding. */
static void test_ip4_trailing_padding_ignored(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	uint8_t out[16];
	size_t n;

	(void)state;
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"hi", 2);
	assert_true(n < 60);
	memset(buf + n, 0xaa, 60 - n);
	h_inject(h, buf, 60);
	assert_int_equal(recv_all(u, out, sizeof(out)), 2);
	assert_memory_equal(out, "hi", 2);
	udp_close(u);
	h_free(h);
}

/* Options are skipped by IHL: a datagram with 8 bytes of options (NOPs and
 * an unknown option with its length) is delivered intact. */
static void test_ip4_options_skipped(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	uint8_t udp[32], out[16];
	size_t ulen = make_udp(udp, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"opts", 4);
	uint8_t *ip = buf + ETH_HLEN;
	static const uint8_t opts[8] = { 1, 1, 0x9e, 4, 0xaa, 0xbb, 1, 0 };

	(void)state;
	h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_UDP, 1, 0, NULL, 0);
	ip[0] = 0x47;
	memcpy(ip + 20, opts, 8);
	memcpy(ip + 28, udp, ulen);
	wr16(ip + 2, (uint16_t)(28 + ulen));
	fix_csum(buf);
	h_inject(h, buf, ETH_HLEN + 28 + ulen);
	assert_int_equal(recv_all(u, out, sizeof(out)), 4);
	assert_memory_equal(out, "opts", 4);
	udp_close(u);
	h_free(h);
}

static void test_ip4_destination_filter(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	uint8_t out[16];
	size_t n;

	(void)state;
	n = h_build_udp(buf, H_PEER_IP, 1000, IP4(192, 0, 2, 9), 7, (const uint8_t *)"x", 1);
	h_inject(h, buf, n);
	/* A multicast group no socket joined (224.0.0.1, all hosts, is always
	 * joined, like Linux's interfaces: see test_udp_multicast). */
	n = h_build_udp(buf, H_PEER_IP, 1000, IP4(224, 0, 0, 251), 7, (const uint8_t *)"x", 1);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NOT_FOR_US], 2);
	assert_int_equal(recv_all(u, out, sizeof(out)), -EAGAIN);

	/* Limited and subnet broadcasts are ours. */
	n = h_build_udp(buf, H_PEER_IP, 1000, 0xffffffffu, 7, (const uint8_t *)"a", 1);
	h_inject(h, buf, n);
	n = h_build_udp(buf, H_PEER_IP, 1000, IP4(192, 0, 2, 255), 7, (const uint8_t *)"b", 1);
	h_inject(h, buf, n);
	assert_int_equal(recv_all(u, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(recv_all(u, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'b');
	udp_close(u);
	h_free(h);
}

static void test_ip4_bad_sources_dropped(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	uint32_t bad[] = { H_STACK_IP, 0xffffffffu, IP4(192, 0, 2, 255), IP4(224, 0, 0, 5), IP4(127, 0, 0, 1) };
	uint8_t out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = h_build_udp(buf, bad[i], 1000, H_STACK_IP, 7, (const uint8_t *)"x", 1);

		h_inject(h, buf, n);
	}
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_BAD_SOURCE], 5);
	assert_int_equal(recv_all(u, out, sizeof(out)), -EAGAIN);
	udp_close(u);
	h_free(h);
}

/* An echo request (id 0x77, seq 1, data "abcd") from the peer whose IP
 * header carries the options opts (olen bytes, a multiple of 4). */
static size_t build_echo_opts(uint8_t *out, const uint8_t *opts, size_t olen)
{
	uint8_t m[64];
	uint8_t *ip = out + ETH_HLEN;
	size_t n;

	memcpy(m, opts, olen);
	m[olen] = ICMP_ECHO_REQUEST;
	m[olen + 1] = 0;
	wr16(m + olen + 2, 0);
	wr16(m + olen + 4, 0x77);
	wr16(m + olen + 6, 1);
	memcpy(m + olen + 8, "abcd", 4);
	wr16(m + olen + 2, csum_fold(csum_partial(m + olen, 12, 0)));
	n = h_build_ip4(out, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 0x55, 0, m, olen + 12);
	ip[0] = (uint8_t)(0x40 | ((IP4_HLEN + olen) / 4));
	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_partial(ip, IP4_HLEN + olen, 0)));
	return n;
}

/* IP options on a datagram for us, as Linux's ip_rcv_options() and
 * icmp_reply() treat them (measured on this machine's kernel, tests/e2e/
 * rawframes.py icmp_echo_opt_*): record route comes back in the echo
 * reply with our address twice (recorded on input, then in the reply's
 * own slot); a timestamp option gets our times likewise; a malformed
 * option draws a parameter problem pointing at it; a source-routed
 * datagram is dropped silently; unknown options are ignored. */
static void test_ip4_options(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t rr[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rr_want[12] = { 7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 2, 0 };
	static const uint8_t bad[4] = { 7, 9, 4, 0 };                 /* length past the header */
	static const uint8_t lsrr[8] = { 131, 7, 4, 192, 0, 2, 9, 0 };
	static const uint8_t unknown[4] = { 0x9e, 4, 0xab, 0xcd };
	static const uint8_t ts[12] = { 68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0 };  /* time only, two slots */
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m, *ip;
	size_t n, plen;
	uint32_t ms;

	(void)state;
	h_learn_peer(h);
	stack_set_wall_clock(h->s, 1796563800250000ull, h->now);     /* 13:30:00.250 UTC */
	ms = (13 * 3600 + 30 * 60) * 1000 + 250;

	n = build_echo_opts(buf, rr, sizeof(rr));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(ih.ihl, IP4_HLEN + 12);
	ip = f->data + ETH_HLEN;
	assert_memory_equal(ip + IP4_HLEN, rr_want, 12);
	assert_true(h_csum_ok(ip, ih.ihl, 0));
	assert_int_equal(m[0], ICMP_ECHO_REPLY);
	assert_int_equal(plen, 12);
	assert_memory_equal(m + 8, "abcd", 4);
	free(f);

	n = build_echo_opts(buf, ts, sizeof(ts));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	ip = f->data + ETH_HLEN;
	assert_int_equal(ih.ihl, IP4_HLEN + 12);
	assert_int_equal(ip[IP4_HLEN + 2], 13);
	assert_int_equal(rd32(ip + IP4_HLEN + 4), ms);
	assert_int_equal(rd32(ip + IP4_HLEN + 8), ms);
	assert_int_equal(m[0], ICMP_ECHO_REPLY);
	free(f);

	n = build_echo_opts(buf, bad, sizeof(bad));
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_BAD_OPTIONS], 1);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(ih.tos, 0xc0);
	assert_int_equal(m[0], ICMP_PARAM_PROBLEM);
	assert_int_equal(m[1], 0);
	assert_int_equal(m[4], 20);             /* the pointer: the option's first byte */
	assert_memory_equal(m + 8, buf + ETH_HLEN, n - ETH_HLEN);
	free(f);

	n = build_echo_opts(buf, lsrr, sizeof(lsrr));
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_SOURCE_ROUTE], 1);
	assert_null(h_pop_tx(h));

	n = build_echo_opts(buf, unknown, sizeof(unknown));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(ih.ihl, IP4_HLEN);
	assert_int_equal(m[0], ICMP_ECHO_REPLY);
	free(f);
	h_free(h);
}

/* Puts the options opts (olen bytes, a multiple of 4) into the IPv4
 * header of the frame at f (n bytes, 20-byte header): returns the new length. */
static size_t add_ip_opts(uint8_t *f, size_t n, const uint8_t *opts, size_t olen)
{
	uint8_t *ip = f + ETH_HLEN;

	memmove(ip + IP4_HLEN + olen, ip + IP4_HLEN, n - ETH_HLEN - IP4_HLEN);
	memcpy(ip + IP4_HLEN, opts, olen);
	ip[0] = (uint8_t)(0x40 | ((IP4_HLEN + olen) / 4));
	wr16(ip + 2, (uint16_t)(rd16(ip + 2) + olen));
	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_partial(ip, IP4_HLEN + olen, 0)));
	return n + olen;
}

/* Linux's errors and resets carry the offending datagram's record route
 * back too (__icmp_send and ip_send_unicast_reply: ip_options_echo), and
 * its ICMP error quotes the datagram as its option processing changed it
 * (our address in the record route, the pointer moved, the header
 * checksum not fixed). Measured: rawframes.py udp_closed_opt_rr,
 * tcp_syn_closed_opt_rr. */
static void test_ip4_options_in_errors_and_resets(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t rr[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rr_want[12] = { 7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 2, 0 };
	static const uint8_t rr_quoted[12] = { 7, 11, 8, 192, 0, 2, 2, 0, 0, 0, 0, 0 };
	struct tcp_seg syn = { .src = H_PEER_IP, .dst = H_STACK_IP, .sport = 40000, .dport = 9, .seq = 5000,
			       .flags = TCP_SYN, .wnd = 65535 };
	uint8_t seg[TCP_HLEN];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m, *ip;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	n = h_build_udp(buf, H_PEER_IP, 40000, H_STACK_IP, 9999, (const uint8_t *)"rr", 2);
	n = add_ip_opts(buf, n, rr, sizeof(rr));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	ip = f->data + ETH_HLEN;
	assert_int_equal(ih.ihl, IP4_HLEN + 12);
	assert_memory_equal(ip + IP4_HLEN, rr_want, 12);
	assert_int_equal(m[0], ICMP_DEST_UNREACH);
	assert_int_equal(plen, 8 + n - ETH_HLEN);
	assert_true(h_csum_ok(m, plen, 0));
	/* the quote: the datagram's header but for its record route */
	assert_memory_equal(m + 8, buf + ETH_HLEN, IP4_HLEN);
	assert_memory_equal(m + 8 + IP4_HLEN, rr_quoted, 12);
	assert_memory_equal(m + 8 + IP4_HLEN + 12, buf + ETH_HLEN + IP4_HLEN + 12, n - ETH_HLEN - IP4_HLEN - 12);
	free(f);

	tcp_seg_emit(seg, &syn);
	tcp_fill_csum(seg, TCP_HLEN, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 7, 0, seg, TCP_HLEN);
	n = add_ip_opts(buf, n, rr, sizeof(rr));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	ip = f->data + ETH_HLEN;
	assert_int_equal(ih.proto, IP_PROTO_TCP);
	assert_int_equal(ih.ihl, IP4_HLEN + 12);
	assert_memory_equal(ip + IP4_HLEN, rr_want, 12);
	assert_int_equal(m[13], TCP_RST | TCP_ACK);
	assert_int_equal(rd32(m + 8), 5001);
	free(f);
	h_free(h);
}

/* A SYN carrying record route makes a connection whose every segment
 * carries it back, as Linux keeps the SYN's echoed options (ireq_opt,
 * tcp_v4_save_options): measured, the SYN-ACK and the ACK of data both
 * with opts 070b0c+2x192.0.2.2 (rawframes.py tcp_syn_listen_opt_rr); the
 * connection's segments leave room for them (icsk_ext_hdr_len: MSS 1460
 * less 12). */
static void test_ip4_options_kept_by_connection(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t rr[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rr_want[12] = { 7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 2, 0 };
	struct ip4_endpoint local = { 0, 80 };
	struct tcp_conn *l = tcp_open(h->s), *c;
	struct tcp_seg g = { .src = H_PEER_IP, .dst = H_STACK_IP, .sport = 40000, .dport = 80, .seq = 5000,
			     .flags = TCP_SYN, .wnd = 65535, .has_mss = true, .mss = 1460 };
	uint8_t seg[TCP_HLEN + 40];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m, *ip;
	size_t n, plen, hl;
	uint32_t iss;
	int err;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(tcp_bind(l, &local, 0), 0);
	assert_int_equal(tcp_listen(l, 8), 0);
	hl = tcp_seg_emit(seg, &g);
	tcp_fill_csum(seg, hl, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 7, 0, seg, hl);
	n = add_ip_opts(buf, n, rr, sizeof(rr));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	ip = f->data + ETH_HLEN;
	assert_int_equal(m[13], TCP_SYN | TCP_ACK);
	assert_int_equal(ih.ihl, IP4_HLEN + 12);
	assert_memory_equal(ip + IP4_HLEN, rr_want, 12);
	iss = rd32(m + 4);
	free(f);

	g.seq = 5001;
	g.ack = iss + 1;
	g.flags = TCP_ACK;
	g.has_mss = false;
	hl = tcp_seg_emit(seg, &g);
	tcp_fill_csum(seg, hl, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 8, 0, seg, hl);
	h_inject(h, buf, n);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(c->mss, 1460 - 12);
	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, h->now);          /* its reset carries them too */
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(m[13] & TCP_RST, TCP_RST);
	assert_memory_equal(f->data + ETH_HLEN + IP4_HLEN, rr_want, 12);
	free(f);
	tcp_close(l, h->now);
	h_free(h);
}

/* g from the peer, with the IPv4 options opts (olen bytes) when olen. */
static void inject_seg_opts(struct harness *h, const struct tcp_seg *g, const uint8_t *opts, size_t olen)
{
	uint8_t seg[TCP_HLEN + 40];
	size_t hl = tcp_seg_emit(seg, g), n;

	tcp_fill_csum(seg, hl, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 9, 0, seg, hl);
	if (olen)
		n = add_ip_opts(buf, n, opts, olen);
	h_inject(h, buf, n);
}

/* The next frame is a TCP ACK with IPv4 options want (wlen bytes, 0: none). */
static void expect_ack_opts(struct harness *h, const uint8_t *want, size_t wlen)
{
	struct h_frame *f = h_pop_tx(h);
	struct ip4_hdr ih;
	size_t plen;
	const uint8_t *m = h_tx_ip4(f, &ih, &plen);

	assert_non_null(m);
	assert_int_equal(m[13], TCP_ACK);
	assert_int_equal(ih.ihl, IP4_HLEN + wlen);
	if (wlen)
		assert_memory_equal(f->data + ETH_HLEN + IP4_HLEN, want, wlen);
	free(f);
}

/* The ACKs Linux sends without a full socket, a request's to a segment
 * out of its window (tcp_v4_reqsk_send_ack) and a TIME_WAIT connection's
 * (tcp_v4_timewait_ack), carry the IP options of the segment they answer
 * back, and none when it had none (ip_send_unicast_reply). Measured:
 * rawframes.py synrecv_oow_opt_rr, tw_fin_opt_rr (pstack: none). */
static void test_ip4_options_in_stateless_acks(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t rr[12] = { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rr_want[12] = { 7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 2, 0 };
	struct ip4_endpoint local = { 0, 80 };
	struct tcp_conn *l = tcp_open(h->s), *c;
	struct tcp_seg g = { .src = H_PEER_IP, .dst = H_STACK_IP, .sport = 40000, .dport = 80, .seq = 5000,
			     .flags = TCP_SYN, .wnd = 65535 };
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t plen;
	uint32_t iss;
	int err;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(tcp_bind(l, &local, 0), 0);
	assert_int_equal(tcp_listen(l, 8), 0);
	inject_seg_opts(h, &g, NULL, 0);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	iss = rd32(m + 4);
	free(f);
	/* the request: data far out of its window, with record route */
	g.seq = 5001 + 10000000;
	g.ack = iss + 1;
	g.flags = TCP_ACK;
	inject_seg_opts(h, &g, rr, sizeof(rr));
	expect_ack_opts(h, rr_want, sizeof(rr_want));
	/* the connection, closed first, then TIME_WAIT */
	g.seq = 5001;
	inject_seg_opts(h, &g, NULL, 0);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(c, h->now);
	free(h_pop_tx(h));      /* its FIN */
	g.ack = iss + 2;
	g.flags = TCP_FIN | TCP_ACK;
	inject_seg_opts(h, &g, NULL, 0);
	expect_ack_opts(h, NULL, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_TIME_WAIT);
	inject_seg_opts(h, &g, rr, sizeof(rr));
	expect_ack_opts(h, rr_want, sizeof(rr_want));
	inject_seg_opts(h, &g, NULL, 0);
	expect_ack_opts(h, NULL, 0);
	tcp_close(l, h->now);
	h_free(h);
}

/* A TCP segment in a link-layer broadcast frame is not for this host,
 * whatever its IP destination (Linux's tcp_v4_rcv takes PACKET_HOST
 * frames only; measured: a SYN to a closed port in a broadcast frame gets
 * no reset, rawframes.py eth_bcast_mac_tcp_syn). */
static void test_ip4_link_broadcast_tcp(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct tcp_seg syn = { .src = H_PEER_IP, .dst = H_STACK_IP, .sport = 40000, .dport = 9, .seq = 5000,
			       .flags = TCP_SYN, .wnd = 65535 };
	uint8_t seg[TCP_HLEN];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	tcp_seg_emit(seg, &syn);
	tcp_fill_csum(seg, TCP_HLEN, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 7, 0, seg, TCP_HLEN);
	memset(buf, 0xff, 6);
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NOT_FOR_US], 1);
	memcpy(buf, h_stack_mac, 6);    /* the same to us: a reset */
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(ih.proto, IP_PROTO_TCP);
	free(f);
	h_free(h);
}

/* Linux's icmp_echo() keeps the request's code: measured, an echo request
 * with code 5 (in a link-layer broadcast frame: answered all the same,
 * rawframes.py eth_bcast_mac_icmp) gets a reply with code 5
 * (icmp_echo_code_nonzero). */
static void test_ip4_echo_code_kept(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t no_opts[1];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	n = build_echo_opts(buf, no_opts, 0);
	buf[ETH_HLEN + IP4_HLEN + 1] = 5;
	wr16(buf + ETH_HLEN + IP4_HLEN + 2, 0);
	wr16(buf + ETH_HLEN + IP4_HLEN + 2, csum_fold(csum_partial(buf + ETH_HLEN + IP4_HLEN, 12, 0)));
	memset(buf, 0xff, 6);
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(m[0], ICMP_ECHO_REPLY);
	assert_int_equal(m[1], 5);
	assert_true(h_csum_ok(m, plen, 0));
	free(f);
	h_free(h);
}

/* RFC 1122 §3.2.2.1: protocol unreachable, quoting the whole (short)
 * datagram, as Linux (up to 576 bytes in all). */
static void test_ip4_unknown_protocol(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t pl[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, 99, 0x777, 0, pl, sizeof(pl));
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_UNKNOWN_PROTO], 1);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, IP_PROTO_ICMP);
	assert_int_equal(ih.dst, H_PEER_IP);
	assert_int_equal(plen, 8 + 20 + 12);
	assert_int_equal(m[0], ICMP_DEST_UNREACH);
	assert_int_equal(m[1], ICMP_UNREACH_PROTOCOL);
	assert_true(h_csum_ok(m, plen, 0));
	assert_memory_equal(m + 8, buf + ETH_HLEN, 32);
	free(f);

	/* Not for a broadcast. */
	n = h_build_ip4(buf, H_PEER_IP, 0xffffffffu, 99, 0x778, 0, pl, sizeof(pl));
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_UNKNOWN_PROTO], 2);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* RFC 1122 §4.2.3.10: a TCP segment to a broadcast address is dropped and
 * never answered, even with a listener bound to that address. */
static void test_ip4_tcp_to_broadcast_dropped(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint bc = { IP4(192, 0, 2, 255), 80 };
	struct tcp_conn *l = tcp_open(h->s);
	struct tcp_seg g;
	uint8_t seg[TCP_HLEN];
	size_t n;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(tcp_bind(l, &bc, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	memset(&g, 0, sizeof(g));
	g.sport = 1000;
	g.dport = 80;
	g.seq = 1;
	g.flags = TCP_SYN;
	g.wnd = 65535;
	tcp_hdr_emit(seg, &g, TCP_HLEN);
	tcp_fill_csum(seg, sizeof(seg), H_PEER_IP, bc.addr);
	n = h_build_ip4(buf, H_PEER_IP, bc.addr, IP_PROTO_TCP, 0x779, 0, seg, sizeof(seg));
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NOT_FOR_US], 1);
	assert_null(h_pop_tx(h));
	tcp_close(l, h->now);
	h_free(h);
}

/* Sends data as a UDP datagram in fragments of fsz payload bytes, in the order given. */
static void inject_udp_fragments(struct harness *h, uint16_t id, const uint8_t *data, size_t n, size_t fsz,
				 const int *order, int count)
{
	size_t ulen = make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, n);

	for (int i = 0; i < count; i++) {
		size_t off = (size_t)order[i] * fsz;
		size_t len = ulen - off < fsz ? ulen - off : fsz;

		inject_frag(h, id, off, off + len < ulen, dg + off, len);
	}
}

static void check_received(struct udp_sock *u, const uint8_t *data, size_t n)
{
	static uint8_t out[65536];

	assert_int_equal(recv_all(u, out, sizeof(out)), (long)n);
	assert_memory_equal(out, data, n);
}

static void test_ip4_reassembly_in_order(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	const int order[] = { 0, 1, 2 };

	(void)state;
	fill(data, sizeof(data), 1);
	inject_udp_fragments(h, 0x100, data, sizeof(data), 1480, order, 3);
	check_received(u, data, sizeof(data));
	assert_int_equal(stack_stats(h->s)->ip_reassembled, 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	assert_int_equal(ip4_reass_mem(ip4_reass_of(h->s)), 0);
	udp_close(u);
	h_free(h);
}

static void test_ip4_reassembly_out_of_order(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[5000];
	const int order[] = { 3, 1, 0, 2 };   /* last first, first in the middle */

	(void)state;
	fill(data, sizeof(data), 2);
	inject_udp_fragments(h, 0x101, data, sizeof(data), 1480, order, 4);
	check_received(u, data, sizeof(data));
	udp_close(u);
	h_free(h);
}

static void test_ip4_reassembly_duplicate(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	const int order[] = { 1, 0, 1, 2 };
	uint8_t out[16];

	(void)state;
	fill(data, sizeof(data), 3);
	inject_udp_fragments(h, 0x102, data, sizeof(data), 1480, order, 4);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_DUP], 1);
	check_received(u, data, sizeof(data));
	/* Delivered once. */
	assert_int_equal(recv_all(u, out, sizeof(out)), -EAGAIN);
	udp_close(u);
	h_free(h);
}

/* Overlapping fragments: the whole datagram is dropped (RFC 5722's rule, Linux's behaviour). */
static void test_ip4_reassembly_overlap_dropped(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	size_t ulen;
	uint8_t out[16];

	(void)state;
	fill(data, sizeof(data), 4);
	ulen = make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, sizeof(data));
	inject_frag(h, 0x103, 0, true, dg, 1480);
	inject_frag(h, 0x103, 1472, true, dg + 1472, 1480);     /* 8 bytes over the first */
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_OVERLAP], 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	/* The rest cannot complete it: what remains starts a new datagram that never completes. */
	inject_frag(h, 0x103, 2960, false, dg + 2960, ulen - 2960);
	assert_int_equal(recv_all(u, out, sizeof(out)), -EAGAIN);
	h_advance(h, IP4_REASS_TIMEOUT_US);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	udp_close(u);
	h_free(h);
}

static void test_ip4_reassembly_timeout_frees(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t data[3000];

	uint8_t first[ETH_HLEN + 548];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t plen;

	(void)state;
	h_learn_peer(h);
	fill(data, sizeof(data), 5);
	inject_frag(h, 0x104, 0, true, data, 1480);
	memcpy(first, buf, sizeof(first));
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 1);
	assert_true(ip4_reass_mem(ip4_reass_of(h->s)) >= 1480);
	assert_int_equal(ip4_poll_at(h->s), h->now + IP4_REASS_TIMEOUT_US);
	h_advance(h, IP4_REASS_TIMEOUT_US - 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 1);
	h_advance(h, 1);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_TIMEOUT], 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	assert_int_equal(ip4_reass_mem(ip4_reass_of(h->s)), 0);
	assert_int_equal(ip4_poll_at(h->s), STACK_NEVER);
	/* RFC 1122 §3.3.2: fragment zero arrived, so time exceeded (code 1)
	 * quotes it, as much as fits in 576 bytes (Linux's ip_expire,
	 * icmp_send): 548 of its 1500. */
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, IP_PROTO_ICMP);
	assert_int_equal(ih.dst, H_PEER_IP);
	assert_int_equal(plen, 8 + 548);
	assert_int_equal(m[0], ICMP_TIME_EXCEEDED);
	assert_int_equal(m[1], 1);
	assert_true(h_csum_ok(m, plen, 0));
	assert_memory_equal(m + 8, first + ETH_HLEN, 548);
	free(f);

	/* Without fragment zero there is nothing to quote: no message. */
	inject_frag(h, 0x105, 1480, false, data, 100);
	h_advance(h, IP4_REASS_TIMEOUT_US);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_TIMEOUT], 2);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* Incomplete datagrams never hold more than IP4_REASS_MEM_MAX; the oldest
 * are evicted, so a new datagram still gets through. */
static void test_ip4_reassembly_memory_bound(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	const int order[] = { 0, 1, 2 };
	size_t n = IP4_REASS_MEM_MAX / 1480 + 100;

	(void)state;
	fill(data, sizeof(data), 6);
	for (size_t i = 0; i < n; i++) {
		inject_frag(h, (uint16_t)(0x2000 + i), 0, true, data, 1480);
		assert_true(ip4_reass_mem(ip4_reass_of(h->s)) <= IP4_REASS_MEM_MAX);
	}
	assert_true(stack_stats(h->s)->drops[DROP_IP_FRAG_NO_MEMORY] >= 100);
	assert_true(ip4_reass_count(ip4_reass_of(h->s)) < n);
	inject_udp_fragments(h, 0x105, data, sizeof(data), 1480, order, 3);
	check_received(u, data, sizeof(data));
	udp_close(u);
	h_free(h);
}

/* A fragment that ends past what a datagram can hold is queued all the
 * same, as Linux's ip_frag_queue does (only ip_frag_reasm refuses a
 * datagram past 65535 bytes): the queue, which holds fragment zero, times
 * out with a time exceeded. Measured on Linux 6.18 (ipfrag_time 2): 104
 * bytes at 0, then 100 at 65440 without MF; time exceeded quoting the
 * first 2 s later (pstack dropped the queue at once). */
static void test_ip4_reassembly_too_big(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t data[1480];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t plen;

	(void)state;
	h_learn_peer(h);
	inject_frag(h, 0x106, 0, true, data, 1480);
	/* Offset 65520 + 24 bytes + a 20-byte header > 65535. */
	inject_frag(h, 0x106, 65520, false, data, 24);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_TOO_BIG], 0);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 1);
	h_advance(h, IP4_REASS_TIMEOUT_US);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	f = h_pop_tx(h);
	assert_non_null(f);
	m = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(m[0], ICMP_TIME_EXCEEDED);
	assert_int_equal(m[1], 1);
	free(f);
	h_free(h);
}

/* A middle fragment that does not carry a multiple of 8 bytes is cut down
 * to one (Linux's ip_frag_queue: end &= ~7), not refused: the fragment at
 * 1472 then completes the datagram (rawframes frag_unaligned_middle). */
static void test_ip4_fragment_unaligned_cut(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[2000];
	size_t ulen;

	(void)state;
	fill(data, sizeof(data), 7);
	ulen = make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, sizeof(data));
	inject_frag(h, 0x107, 0, true, dg, 1477);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_BAD_LENGTH], 0);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 1);
	inject_frag(h, 0x107, 1472, false, dg + 1472, ulen - 1472);
	check_received(u, data, sizeof(data));
	udp_close(u);
	h_free(h);
}

/* An empty fragment ends the datagram it belongs to, and one shorter than
 * 8 bytes with MF is empty once cut (ip_frag_queue: end == offset). */
static void test_ip4_fragment_empty_kills(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	const int order[] = { 1, 2 };
	uint8_t out[16];

	(void)state;
	fill(data, sizeof(data), 8);
	make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, sizeof(data));
	inject_frag(h, 0x108, 0, true, dg, 1480);
	inject_frag(h, 0x108, 1480, true, dg + 1480, 0);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_EMPTY], 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	/* The rest starts a datagram of its own, which never completes. */
	inject_udp_fragments(h, 0x108, data, sizeof(data), 1480, order, 2);
	assert_int_equal(recv_all(u, out, sizeof(out)), -EAGAIN);
	/* Five bytes with MF: nothing left after the cut. */
	inject_frag(h, 0x108, 2960, true, dg, 5);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_EMPTY], 2);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	udp_close(u);
	h_free(h);
}

/* A fragment wholly inside one already held is a duplicate: dropped alone,
 * the datagram completes (inet_frag_queue_insert: IPFRAG_DUP; rawframes
 * frag_contained_dup). */
static void test_ip4_fragment_contained_dup(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h);
	static uint8_t data[3000];
	size_t ulen;

	(void)state;
	fill(data, sizeof(data), 9);
	ulen = make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, sizeof(data));
	inject_frag(h, 0x109, 0, true, dg, 1480);
	inject_frag(h, 0x109, 8, true, dg + 8, 40);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_DUP], 1);
	inject_frag(h, 0x109, 1480, true, dg + 1480, 1480);
	/* Inside the run [0, 2960) that the two in-order fragments make. */
	inject_frag(h, 0x109, 1472, true, dg + 1472, 16);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_DUP], 2);
	inject_frag(h, 0x109, 2960, false, dg + 2960, ulen - 2960);
	check_received(u, data, sizeof(data));
	udp_close(u);
	h_free(h);
}

/* Fragments that arrive out of order make runs of their own: one that
 * spans two runs overlaps, even with the same bytes, and kills the datagram
 * as Linux's does. */
static void test_ip4_fragment_spans_runs(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t data[3000];

	(void)state;
	fill(data, sizeof(data), 10);
	make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, data, sizeof(data));
	inject_frag(h, 0x10a, 1480, true, dg + 1480, 1480);
	inject_frag(h, 0x10a, 0, true, dg, 1480);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 1);
	inject_frag(h, 0x10a, 1472, true, dg + 1472, 16);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_FRAG_OVERLAP], 1);
	assert_int_equal(ip4_reass_count(ip4_reass_of(h->s)), 0);
	h_free(h);
}

/* A second stack playing the peer: our frames to 192.0.2.1 land on it. */
static struct harness *peer_harness(void)
{
	struct stack_config cfg;

	config_defaults(&cfg);
	cfg.addr = H_PEER_IP;
	memcpy(cfg.mac, h_peer_mac, 6);
	cfg.gateway = 0;
	return h_new(&cfg, false);
}

static void test_ip4_fragment_4000_and_reassemble(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct harness *peer = peer_harness();
	struct udp_sock *u = udp_open(h->s), *pu = udp_open(peer->s);
	struct ip4_endpoint pep = { 0, 9 }, to = { H_PEER_IP, 9 };
	static uint8_t data[3972], out[4000];
	size_t offs[3] = { 0, 1480, 2960 }, lens[3] = { 1480, 1480, 1020 };
	uint16_t id = 0;
	size_t full;

	(void)state;
	h_learn_peer(h);
	fill(data, sizeof(data), 7);
	assert_int_equal(udp_bind(pu, &pep, 0), 0);
	/* 3972 + 8 (UDP) + 20 (IP) = 4000 bytes. */
	assert_int_equal(udp_sendto(u, data, sizeof(data), &to, h->now), (long)sizeof(data));
	assert_int_equal(h->tx_count, 3);
	assert_int_equal(stack_stats(h->s)->ip_frag_out, 3);
	for (int i = 0; i < 3; i++) {
		struct h_frame *f = h_pop_tx(h);
		struct ip4_hdr ih;
		size_t plen;

		h_tx_ip4(f, &ih, &plen);
		assert_memory_equal(f->data, h_peer_mac, 6);
		assert_int_equal(ih.frag_off, offs[i]);
		assert_int_equal(plen, lens[i]);
		assert_int_equal(ih.mf, i < 2);
		assert_false(ih.df);
		assert_int_equal(ih.total_len, 20 + lens[i]);
		if (i == 0)
			id = ih.id;
		assert_int_equal(ih.id, id);
		h_inject(peer, f->data, f->len);
		free(f);
	}
	assert_int_equal(udp_recvfrom(pu, out, sizeof(out), NULL, &full, 0), (long)sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(stack_stats(peer->s)->ip_reassembled, 1);
	udp_close(u);
	udp_close(pu);
	h_free(peer);
	h_free(h);
}

static int send_raw(struct harness *h, uint32_t dst, size_t n, bool df, uint8_t ttl, uint8_t tos)
{
	struct pkb *p = pkb_alloc(n);
	struct ip4_tx tx = { .dst = dst, .proto = 253, .df = df, .ttl = ttl, .tos = tos };

	memset(pkb_put(p, n), 0x5a, n);
	return ip4_output(h->s, p, &tx, h->now);
}

static void test_ip4_df_too_big(void **state)
{
	struct harness *h = h_new(NULL, false);

	(void)state;
	h_learn_peer(h);
	assert_int_equal(send_raw(h, H_PEER_IP, 1481, true, 0, 0), -EMSGSIZE);
	assert_int_equal(send_raw(h, H_PEER_IP, 65536, false, 0, 0), -EMSGSIZE);
	assert_null(h_pop_tx(h));
	assert_int_equal(send_raw(h, H_PEER_IP, 1480, true, 0, 0), 0);
	assert_int_equal(h->tx_count, 1);
	h_free(h);
}

/* With an MTU whose payload room is not a multiple of 8, fragments carry
 * the largest multiple of 8 that fits (RFC 791 §3.2). */
static void test_ip4_fragment_odd_mtu(void **state)
{
	struct stack_config cfg;
	struct harness *h;
	size_t want_off[4] = { 0, 984, 1968, 2952 }, want_len[4] = { 984, 984, 984, 48 };

	(void)state;
	config_defaults(&cfg);
	cfg.mtu = 1006;
	h = h_new(&cfg, false);
	h_learn_peer(h);
	assert_int_equal(send_raw(h, H_PEER_IP, 3000, false, 0, 0), 0);
	assert_int_equal(h->tx_count, 4);
	for (int i = 0; i < 4; i++) {
		struct h_frame *f = h_pop_tx(h);
		struct ip4_hdr ih;
		size_t plen;

		h_tx_ip4(f, &ih, &plen);
		assert_true(ih.total_len <= 1006);
		assert_int_equal(ih.frag_off, want_off[i]);
		assert_int_equal(plen, want_len[i]);
		assert_int_equal(ih.mf, i < 3);
		free(f);
	}
	assert_int_equal(stack_stats(h->s)->ip_frag_out, 4);
	assert_int_equal(stack_stats(h->s)->ip_out, 1);
	h_free(h);
}

static void test_ip4_header_fields(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct h_frame *f;
	struct ip4_hdr a, b;
	size_t plen;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(send_raw(h, H_PEER_IP, 10, true, 0, 0x10), 0);
	assert_int_equal(send_raw(h, H_PEER_IP, 10, false, 7, 0), 0);
	f = h_pop_tx(h);
	h_tx_ip4(f, &a, &plen);
	assert_int_equal(f->data[ETH_HLEN], 0x45);
	free(f);
	f = h_pop_tx(h);
	h_tx_ip4(f, &b, &plen);
	free(f);
	assert_int_equal(a.ttl, IP4_DEFAULT_TTL);
	assert_true(a.df);
	assert_int_equal(a.tos, 0x10);
	assert_int_equal(a.src, H_STACK_IP);
	assert_int_equal(a.proto, 253);
	assert_int_equal(b.ttl, 7);
	assert_false(b.df);
	assert_int_equal((uint16_t)(b.id - a.id), 1);
	assert_int_equal(stack_stats(h->s)->ip_out, 2);
	assert_int_equal(stack_stats(h->s)->ip_frag_out, 0);
	h_free(h);
}

/* RFC 1122 §3.3.1: on-link directly, off-link via the gateway, else no route. */
static void test_ip4_routing(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct stack_config cfg;
	struct h_frame *f;

	(void)state;
	assert_int_equal(send_raw(h, IP4(192, 0, 2, 50), 10, false, 0, 0), 0);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_ARP);
	assert_int_equal(rd32(f->data + 14 + 24), IP4(192, 0, 2, 50));
	free(f);

	/* Off-link: the frame goes to the gateway's MAC, the IP header keeps the destination. */
	h_learn_peer(h);
	assert_int_equal(send_raw(h, IP4(198, 51, 100, 1), 10, false, 0, 0), 0);
	f = h_pop_tx(h);
	{
		struct ip4_hdr ih;
		size_t plen;

		h_tx_ip4(f, &ih, &plen);
		assert_memory_equal(f->data, h_peer_mac, 6);
		assert_int_equal(ih.dst, IP4(198, 51, 100, 1));
	}
	free(f);
	assert_int_equal(send_raw(h, 0, 10, false, 0, 0), -ENETUNREACH);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NO_ROUTE], 1);
	h_free(h);

	config_defaults(&cfg);
	cfg.gateway = 0;
	h = h_new(&cfg, false);
	assert_int_equal(send_raw(h, IP4(198, 51, 100, 1), 10, false, 0, 0), -ENETUNREACH);
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NO_ROUTE], 1);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* Datagrams to our own address are looped back, never put on the wire; the
 * receiver's metadata says so (IP_PKTINFO's interface: Linux's lo), unlike
 * one from the wire. */
static void test_ip4_loopback(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h), *c = udp_open(h->s);
	struct ip4_endpoint to = { H_STACK_IP, 7 }, from;
	struct udp_rx_meta m;
	uint8_t out[16];
	size_t full, n;

	(void)state;
	n = make_udp(dg, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"wire", 4);
	h_inject(h, buf, h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_UDP, 1, 0, dg, n));
	assert_int_equal(udp_next_meta(u, &m), 0);
	assert_false(m.looped);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), &from, &full, 0), 4);
	assert_int_equal(udp_sendto(c, "loop", 4, &to, h->now), 4);
	assert_null(h_pop_tx(h));
	assert_int_equal(ip4_poll_at(h->s), h->now);
	h_advance(h, 0);
	assert_int_equal(udp_next_meta(u, &m), 0);
	assert_true(m.looped);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), &from, &full, 0), 4);
	assert_memory_equal(out, "loop", 4);
	assert_int_equal(from.addr, H_STACK_IP);
	assert_null(h_pop_tx(h));
	udp_close(c);
	udp_close(u);
	h_free(h);
}

/* Loops until nothing is left in the loop queue (h_advance(0) delivers what
 * is there, and what that answers waits for the next). */
static void loop_all(struct harness *h)
{
	for (int i = 0; i < 16 && ip4_poll_at(h->s) == h->now; i++)
		h_advance(h, 0);
	assert_true(ip4_poll_at(h->s) != h->now);
}

/* INADDR_ANY as a destination is this host (Linux's ip_route_output_key_hash):
 * from a socket with an address of its own, that address; from one without,
 * 127.0.0.1 from and to. Nothing goes on the wire. */
static void test_ip4_any_is_this_host_udp(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = sink(h), *v = udp_open(h->s), *c = udp_open(h->s);
	struct ip4_endpoint to = { 0, 7 }, self = { H_STACK_IP, 0 }, from;
	struct ip4_endpoint self7 = { H_STACK_IP, 7 }, none = { 0, 9 }, ep;
	uint8_t out[16];
	size_t full;

	(void)state;
	/* Without an address: 127.0.0.1 to 127.0.0.1. */
	assert_int_equal(udp_sendto(c, "any", 3, &to, h->now), 3);
	assert_null(h_pop_tx(h));
	loop_all(h);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), &from, &full, 0), 3);
	assert_memory_equal(out, "any", 3);
	assert_int_equal(from.addr, IP4_LOOPBACK);
	/* Bound to ours: to ours, from ours. */
	assert_int_equal(udp_bind(v, &self, 0), 0);
	assert_int_equal(udp_sendto(v, "own", 3, &to, h->now), 3);
	loop_all(h);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), &from, &full, 0), 3);
	assert_int_equal(from.addr, H_STACK_IP);
	/* A socket bound to our address hears nothing sent to 127.0.0.1. */
	udp_close(u);
	u = udp_open(h->s);
	assert_int_equal(udp_bind(u, &self7, 0), 0);
	assert_int_equal(udp_sendto(c, "lo", 2, &to, h->now), 2);
	loop_all(h);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), &from, &full, 0), -EAGAIN);
	/* connect(): the peer and the local address the route gave; the port
	 * unreachable 127.0.0.1 answers (over loopback too) is its error. */
	udp_close(c);
	c = udp_open(h->s);
	assert_int_equal(udp_connect(c, &none), 0);
	assert_int_equal(udp_peer(c, &ep), 0);
	assert_int_equal(ep.addr, IP4_LOOPBACK);
	assert_int_equal(ep.port, 9);
	udp_local(c, &ep);
	assert_int_equal(ep.addr, IP4_LOOPBACK);
	assert_int_equal(udp_sendto(c, "x", 1, NULL, h->now), 1);
	loop_all(h);
	assert_int_equal(udp_sendto(c, "x", 1, NULL, h->now), -ECONNREFUSED);
	assert_null(h_pop_tx(h));
	/* Disconnected, the local address 127.0.0.1 goes with the peer. */
	udp_disconnect(c);
	assert_int_equal(udp_peer(c, &ep), -ENOTCONN);
	udp_local(c, &ep);
	assert_int_equal(ep.addr, 0);
	udp_close(c);
	udp_close(v);
	udp_close(u);
	h_free(h);
}

/* TCP's connect() to INADDR_ANY: the same route (tcp_v4_connect takes its
 * destination), a connection that stays in the stack. */
static void test_ip4_any_is_this_host_tcp(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct tcp_conn *l = tcp_open(h->s), *c = tcp_open(h->s), *a;
	struct ip4_endpoint any80 = { 0, 80 }, to = { 0, 80 }, ep;
	int err = 0;
	char b[4];

	(void)state;
	assert_int_equal(tcp_bind(l, &any80, 0), 0);
	assert_int_equal(tcp_listen(l, 4), 0);
	assert_int_equal(tcp_connect(c, &to, h->now), -EINPROGRESS);
	loop_all(h);
	assert_null(h_pop_tx(h));
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	tcp_local(c, &ep);
	assert_int_equal(ep.addr, IP4_LOOPBACK);
	assert_int_equal(tcp_peer(c, &ep), 0);
	assert_int_equal(ep.addr, IP4_LOOPBACK);
	assert_int_equal(ep.port, 80);
	a = tcp_accept(l, &err);
	assert_non_null(a);
	tcp_local(a, &ep);
	assert_int_equal(ep.addr, IP4_LOOPBACK);
	assert_int_equal(tcp_send(c, "hi", 2, h->now), 2);
	loop_all(h);
	assert_int_equal(tcp_recv(a, b, sizeof(b), 0, h->now), 2);
	assert_memory_equal(b, "hi", 2);
	tcp_close(c, h->now);
	tcp_close(a, h->now);
	tcp_close(l, h->now);
	loop_all(h);
	assert_null(h_pop_tx(h));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4_malformed_each_reason),
		cmocka_unit_test(test_ip4_trailing_padding_ignored),
		cmocka_unit_test(test_ip4_options_skipped),
		cmocka_unit_test(test_ip4_destination_filter),
		cmocka_unit_test(test_ip4_bad_sources_dropped),
		cmocka_unit_test(test_ip4_unknown_protocol),
		cmocka_unit_test(test_ip4_options),
		cmocka_unit_test(test_ip4_options_in_errors_and_resets),
		cmocka_unit_test(test_ip4_link_broadcast_tcp),
		cmocka_unit_test(test_ip4_options_kept_by_connection),
		cmocka_unit_test(test_ip4_options_in_stateless_acks),
		cmocka_unit_test(test_ip4_echo_code_kept),
		cmocka_unit_test(test_ip4_tcp_to_broadcast_dropped),
		cmocka_unit_test(test_ip4_reassembly_in_order),
		cmocka_unit_test(test_ip4_reassembly_out_of_order),
		cmocka_unit_test(test_ip4_reassembly_duplicate),
		cmocka_unit_test(test_ip4_reassembly_overlap_dropped),
		cmocka_unit_test(test_ip4_reassembly_timeout_frees),
		cmocka_unit_test(test_ip4_reassembly_memory_bound),
		cmocka_unit_test(test_ip4_reassembly_too_big),
		cmocka_unit_test(test_ip4_fragment_unaligned_cut),
		cmocka_unit_test(test_ip4_fragment_empty_kills),
		cmocka_unit_test(test_ip4_fragment_contained_dup),
		cmocka_unit_test(test_ip4_fragment_spans_runs),
		cmocka_unit_test(test_ip4_fragment_4000_and_reassemble),
		cmocka_unit_test(test_ip4_df_too_big),
		cmocka_unit_test(test_ip4_fragment_odd_mtu),
		cmocka_unit_test(test_ip4_header_fields),
		cmocka_unit_test(test_ip4_routing),
		cmocka_unit_test(test_ip4_loopback),
		cmocka_unit_test(test_ip4_any_is_this_host_udp),
		cmocka_unit_test(test_ip4_any_is_this_host_tcp),
	};
	return cmocka_run_group_tests_name("ip4", tests, NULL, NULL);
}
