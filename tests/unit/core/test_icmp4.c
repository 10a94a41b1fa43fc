/* ICMP (RFC 792, RFC 1122 §3.2.2): echo, errors we send (quoting, rate
 * limit, when never to send), errors we receive. */
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
#include "stack/core/stack.h"
#include "stack/core/udp.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static uint8_t buf[H_MAX_FRAME];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

/* Checks f is an echo reply to the peer and returns the ICMP message. */
static const uint8_t *expect_echo_reply(struct h_frame *f, size_t *len)
{
	struct ip4_hdr ih;
	const uint8_t *m = h_tx_ip4(f, &ih, len);

	assert_memory_equal(f->data, h_peer_mac, 6);
	assert_int_equal(ih.proto, IP_PROTO_ICMP);
	assert_int_equal(ih.src, H_STACK_IP);
	assert_int_equal(ih.dst, H_PEER_IP);
	assert_int_equal(ih.ttl, IP4_DEFAULT_TTL);
	return m;
}

static void test_icmp_echo_reply_exact(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t data[56], want[64];
	struct h_frame *f;
	const uint8_t *m;
	size_t n, len;

	(void)state;
	h_learn_peer(h);
	fill(data, sizeof(data), 1);
	n = h_build_icmp_echo(buf, H_PEER_IP, H_STACK_IP, 0x1234, 7, data, sizeof(data));
	/* The reply is the request with type 0 and a new checksum. */
	memcpy(want, buf + ETH_HLEN + IP4_HLEN, 64);
	want[0] = ICMP_ECHO_REPLY;
	wr16(want + 2, 0);
	wr16(want + 2, csum_fold(csum_partial(want, 64, 0)));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = expect_echo_reply(f, &len);
	assert_int_equal(len, 64);
	assert_memory_equal(m, want, 64);
	assert_int_equal(rd16(m + 4), 0x1234);
	assert_int_equal(rd16(m + 6), 7);
	assert_true(h_csum_ok(m, len, 0));
	free(f);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->icmp_in, 1);
	assert_int_equal(stack_stats(h->s)->icmp_out, 1);
	h_free(h);
}

static void test_icmp_bad_checksum_and_truncated(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t data[8] = { 0 };
	size_t n;

	(void)state;
	h_learn_peer(h);
	n = h_build_icmp_echo(buf, H_PEER_IP, H_STACK_IP, 1, 1, data, sizeof(data));
	buf[n - 1] ^= 0x40;   /* payload byte changed, ICMP checksum now wrong */
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_BAD_CSUM], 1);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 2, 0, (const uint8_t *)"\x08\x00\xf7", 3);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_TRUNCATED], 1);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* Like Linux (icmp_echo_ignore_broadcasts), a broadcast echo is not answered. */
static void test_icmp_broadcast_echo_ignored(void **state)
{
	struct harness *h = h_new(NULL, false);
	size_t n;

	(void)state;
	h_learn_peer(h);
	n = h_build_icmp_echo(buf, H_PEER_IP, 0xffffffffu, 1, 1, (const uint8_t *)"abcd", 4);
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_UNHANDLED], 1);
	h_free(h);
}

/* A 4000-byte ping arrives in three fragments; the reply is as big and
 * fragmented too, and reassembles to the same payload. */
static void test_icmp_echo_4000_fragmented(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t data[3972], icmp[3980], got[3980];
	size_t total = sizeof(icmp), seen = 0;

	(void)state;
	h_learn_peer(h);
	fill(data, sizeof(data), 9);
	icmp[0] = ICMP_ECHO_REQUEST;
	wr16(icmp + 4, 0xbeef);
	wr16(icmp + 6, 42);
	memcpy(icmp + 8, data, sizeof(data));
	wr16(icmp + 2, csum_fold(csum_partial(icmp, total, 0)));
	/* Fragments last to first. */
	for (int i = 2; i >= 0; i--) {
		size_t off = (size_t)i * 1480, len = total - off < 1480 ? total - off : 1480;
		size_t n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 0x5555,
				       (uint16_t)((i < 2 ? 0x2000 : 0) | (off / 8)), icmp + off, len);

		h_inject(h, buf, n);
	}
	assert_int_equal(stack_stats(h->s)->ip_reassembled, 1);
	assert_int_equal(h->tx_count, 3);
	for (int i = 0; i < 3; i++) {
		struct h_frame *f = h_pop_tx(h);
		struct ip4_hdr ih;
		size_t plen;
		const uint8_t *p = h_tx_ip4(f, &ih, &plen);

		assert_int_equal(ih.proto, IP_PROTO_ICMP);
		assert_int_equal(ih.frag_off, (size_t)i * 1480);
		assert_true(ih.frag_off + plen <= total);
		memcpy(got + ih.frag_off, p, plen);
		seen += plen;
		free(f);
	}
	assert_int_equal(seen, total);
	assert_int_equal(got[0], ICMP_ECHO_REPLY);
	assert_int_equal(rd16(got + 4), 0xbeef);
	assert_int_equal(rd16(got + 6), 42);
	assert_memory_equal(got + 8, data, sizeof(data));
	assert_true(h_csum_ok(got, total, 0));
	h_free(h);
}

/* Port unreachable quotes the whole datagram when it fits in 576 bytes
 * (RFC 1812 §4.3.2.3, as Linux's __icmp_send). */
static void test_icmp_port_unreachable_quote(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	n = h_build_udp(buf, H_PEER_IP, 40000, H_STACK_IP, 9999, (const uint8_t *)"nobody home", 11);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_NO_SOCKET], 1);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, IP_PROTO_ICMP);
	assert_int_equal(ih.src, H_STACK_IP);
	assert_int_equal(ih.dst, H_PEER_IP);
	assert_int_equal(ih.tos, 0xc0);
	assert_int_equal(plen, 8 + 20 + 8 + 11);
	assert_int_equal(m[0], ICMP_DEST_UNREACH);
	assert_int_equal(m[1], ICMP_UNREACH_PORT);
	assert_int_equal(rd32(m + 4), 0);
	assert_true(h_csum_ok(m, plen, 0));
	assert_memory_equal(m + 8, buf + ETH_HLEN, 20 + 8 + 11);
	free(f);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* A long datagram is quoted up to 576 bytes in all (Linux: 548 of the
 * datagram after its 20-byte IP and 8-byte ICMP headers), and the error
 * keeps the datagram's TOS bits under precedence 6 (Linux measured: TOS
 * 0xb9 -> 0xd8, RT_TOS(tos) | IPTOS_PREC_INTERNETCONTROL). */
static void test_icmp_error_quote_576_and_tos(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t data[1000];
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	size_t n, plen;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	h_learn_peer(h);
	n = h_build_udp(buf, H_PEER_IP, 40001, H_STACK_IP, 9999, data, sizeof(data));
	buf[ETH_HLEN + 1] = 0xb9;
	wr16(buf + ETH_HLEN + 10, 0);
	wr16(buf + ETH_HLEN + 10, csum_fold(csum_partial(buf + ETH_HLEN, IP4_HLEN, 0)));
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	m = h_tx_ip4(f, &ih, &plen);
	assert_non_null(m);
	assert_int_equal(ih.tos, 0xd8);
	assert_int_equal(IP4_HLEN + plen, 576);
	assert_int_equal(m[0], ICMP_DEST_UNREACH);
	assert_true(h_csum_ok(m, plen, 0));
	assert_memory_equal(m + 8, buf + ETH_HLEN, 548);
	free(f);
	h_free(h);
}

/* A timestamp request builds a message of type 13 with the given body. */
static size_t build_timestamp(uint8_t *out, uint32_t dst, const uint8_t *body, size_t blen)
{
	uint8_t m[64];

	m[0] = ICMP_TIMESTAMP;
	m[1] = 0;
	wr16(m + 2, 0);
	wr16(m + 4, 0x42);      /* identifier */
	wr16(m + 6, 7);         /* sequence number */
	memcpy(m + ICMP_HLEN, body, blen);
	wr16(m + 2, csum_fold(csum_partial(m, ICMP_HLEN + blen, 0)));
	return h_build_ip4(out, H_PEER_IP, dst, IP_PROTO_ICMP, 0x99, 0, m, ICMP_HLEN + blen);
}

/* RFC 792's timestamp reply, as Linux's icmp_timestamp() makes it: the
 * identifier, sequence number and originate timestamp back, receive and
 * transmit both the milliseconds since midnight UT; 4 bytes of request
 * are enough; not to a broadcast. (Linux measured: a 20-byte reply to a
 * 12-byte request too.) */
static void test_icmp_timestamp_reply(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t body[12] = { 0, 0, 0x04, 0xd2 };    /* originate 1234, the rest 0 */
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *m;
	uint32_t want;
	size_t n, plen;

	(void)state;
	h_learn_peer(h);
	/* 2026-12-06 13:30:00.250 UTC at the stack's time now. */
	stack_set_wall_clock(h->s, 1796563800250000ull, h->now);
	want = (13 * 3600 + 30 * 60) * 1000 + 250;
	for (int i = 0; i < 2; i++) {
		n = build_timestamp(buf, H_STACK_IP, body, i == 0 ? 12 : 4);
		h_inject(h, buf, n);
		f = h_pop_tx(h);
		m = h_tx_ip4(f, &ih, &plen);
		assert_non_null(m);
		assert_int_equal(ih.dst, H_PEER_IP);
		assert_int_equal(plen, 20);
		assert_int_equal(m[0], ICMP_TIMESTAMP_REPLY);
		assert_int_equal(m[1], 0);
		assert_true(h_csum_ok(m, plen, 0));
		assert_int_equal(rd16(m + 4), 0x42);
		assert_int_equal(rd16(m + 6), 7);
		assert_int_equal(rd32(m + 8), 1234);
		assert_int_equal(rd32(m + 12), want);
		assert_int_equal(rd32(m + 16), want);
		free(f);
	}
	/* Too short, and to the broadcast address: no answer. */
	n = build_timestamp(buf, H_STACK_IP, body, 3);
	h_inject(h, buf, n);
	n = build_timestamp(buf, 0xffffffffu, body, 12);
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	h_free(h);
}

static void unreach_to_closed_port(struct harness *h, uint16_t sport)
{
	size_t n = h_build_udp(buf, H_PEER_IP, sport, H_STACK_IP, 9, (const uint8_t *)"x", 1);

	h_inject(h, buf, n);
}

/* A UDP datagram to a closed port from src (on the link, its MAC the peer's). */
static void unreach_from(struct harness *h, uint32_t src, uint16_t sport)
{
	size_t n = h_build_udp(buf, src, sport, H_STACK_IP, 9, (const uint8_t *)"x", 1);

	h_inject(h, buf, n);
}

/* Like Linux (__icmp_send): errors to one destination, ICMP_PEER_BURST (6)
 * at once, then one a second (icmp_ratelimit 1000 ms; measured: 10 UDP
 * datagrams to a closed port at once from one peer draw 6 port
 * unreachables, rawframes.py icmp_rate_limit_peer); all destinations
 * together, ICMP_ERRORS_BURST (50) at once, then ICMP_ERRORS_PER_SEC
 * (icmp_msgs_per_sec 1000). */
static void test_icmp_rate_limit(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint32_t other = H_PEER_IP + 100;

	(void)state;
	h_learn_peer(h);
	arp_insert(h->s, other, h_peer_mac, h->now);
	for (int i = 0; i < ICMP_PEER_BURST + 4; i++)
		unreach_to_closed_port(h, (uint16_t)(1000 + i));
	assert_int_equal(h->tx_count, ICMP_PEER_BURST);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_RATE_LIMITED], 4);
	/* another destination has its own */
	unreach_from(h, other, 1100);
	assert_int_equal(h->tx_count, ICMP_PEER_BURST + 1);
	h_drain_tx(h);

	/* One error a second comes back to the first. */
	h_advance(h, ICMP_PEER_INTERVAL_US - 1);
	unreach_to_closed_port(h, 2000);
	assert_int_equal(h->tx_count, 0);
	h_advance(h, 1);
	unreach_to_closed_port(h, 2001);
	unreach_to_closed_port(h, 2002);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);

	/* A quiet while refills it to the burst, not beyond. */
	h_advance(h, 10 * ICMP_PEER_INTERVAL_US);
	for (int i = 0; i < ICMP_PEER_BURST + 5; i++)
		unreach_to_closed_port(h, (uint16_t)(3000 + i));
	assert_int_equal(h->tx_count, ICMP_PEER_BURST);
	h_drain_tx(h);

	/* Many destinations: the stack-wide bucket, 50 at once. */
	h_advance(h, 1000000);
	for (uint32_t i = 0; i < ICMP_ERRORS_BURST + 10; i++)
		unreach_from(h, IP4(198, 51, 100, 1) + i, 4000);     /* off the link: through the gateway */
	assert_int_equal(h->tx_count, ICMP_ERRORS_BURST);
	h_free(h);
}

/* RFC 1122 §3.2.2: never about an ICMP error, a broadcast or multicast
 * destination, a non-unicast source, or a non-first fragment. */
static void test_icmp_unreach_never_sent(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t raw[40];
	struct ip4_hdr o;

	(void)state;
	h_learn_peer(h);
	memset(raw, 0, sizeof(raw));
	h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 1, 0, raw, 20);
	assert_int_equal(ip4_parse(buf + ETH_HLEN, 40, STACK_CSUM_ALL, &o), 0);

	buf[ETH_HLEN + 20] = ICMP_DEST_UNREACH;     /* an ICMP error */
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	buf[ETH_HLEN + 20] = 200;                   /* an unknown type counts as an error */
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	assert_null(h_pop_tx(h));
	buf[ETH_HLEN + 20] = ICMP_ECHO_REQUEST;     /* a query may be answered */
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);

	o.proto = 99;
	o.frag_off = 8;
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	o.frag_off = 0;
	o.dst = IP4(192, 0, 2, 255);
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	o.dst = IP4(224, 0, 0, 1);
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	o.dst = H_STACK_IP;
	o.src = 0xffffffffu;
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	o.src = 0;
	icmp4_send_unreach(h->s, &o, ICMP_UNREACH_PROTOCOL, h->now);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_RATE_LIMITED], 0);
	h_free(h);
}

/* Nor about a datagram that came in a link-layer broadcast or multicast
 * frame, whatever its IP destination (Linux's __icmp_send: PACKET_HOST
 * only; rawframes eth_bcast_mac_udp_closed, _ip_unknown_proto). */
static void test_icmp_unreach_not_for_link_group(void **state)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	struct harness *h = h_new(NULL, false);
	size_t n;

	(void)state;
	h_learn_peer(h);
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 9, (const uint8_t *)"x", 1);
	memset(buf, 0xff, 6);
	h_inject(h, buf, n);
	memcpy(buf, mcast, 6);
	h_inject(h, buf, n);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, 253, 1, 0, (const uint8_t *)"payload!", 8);
	memset(buf, 0xff, 6);
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	/* The same to our MAC: answered. */
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 9, (const uint8_t *)"x", 1);
	h_inject(h, buf, n);
	assert_int_equal(h->tx_count, 1);
	h_free(h);
}

/* Builds an ICMP error from the peer quoting a UDP datagram we sent
 * (sport -> peer:dport), with the quote cut to qlen bytes. */
static size_t build_error(uint8_t type, uint8_t code, uint32_t qsrc, uint16_t sport, uint16_t dport,
			  size_t qlen)
{
	uint8_t m[8 + 28];
	uint8_t *q = m + 8;

	memset(m, 0, sizeof(m));
	m[0] = type;
	m[1] = code;
	q[0] = 0x45;
	wr16(q + 2, 28 + 100);
	q[8] = 64;
	q[9] = IP_PROTO_UDP;
	wr32(q + 12, qsrc);
	wr32(q + 16, H_PEER_IP);
	wr16(q + 10, csum_fold(csum_partial(q, 20, 0)));
	wr16(q + 20, sport);
	wr16(q + 22, dport);
	wr16(q + 24, 108);
	wr16(m + 2, csum_fold(csum_partial(m, 8 + qlen, 0)));
	return h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 3, 0, m, 8 + qlen);
}

static void test_icmp_error_to_udp_socket(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint local = { 0, 5000 }, peer = { H_PEER_IP, 53 };
	uint8_t out[8];
	size_t n, full;

	(void)state;
	assert_int_equal(udp_bind(u, &local, 0), 0);
	assert_int_equal(udp_connect(u, &peer), 0);

	/* A quote too short to hold the ports, and one about someone else's datagram. */
	n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, H_STACK_IP, 5000, 53, 27);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_TRUNCATED], 1);
	n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, IP4(192, 0, 2, 77), 5000, 53, 28);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_UNHANDLED], 1);
	/* Host unreachable is a soft error: a UDP socket does not hear of it (Linux). */
	n = build_error(ICMP_DEST_UNREACH, 1, H_STACK_IP, 5000, 53, 28);
	h_inject(h, buf, n);
	assert_int_equal(udp_poll(u) & SOCK_POLLERR, 0);
	/* Port unreachable about another port: not ours. */
	n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, H_STACK_IP, 5001, 53, 28);
	h_inject(h, buf, n);
	assert_int_equal(udp_poll(u) & SOCK_POLLERR, 0);

	n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, H_STACK_IP, 5000, 53, 28);
	h_inject(h, buf, n);
	assert_true(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -ECONNREFUSED);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -EAGAIN);
	assert_null(h_pop_tx(h));
	udp_close(u);
	h_free(h);
}

/* An error sent to the subnet's broadcast or to a group is not believed
 * (Linux's icmp_rcv takes only echo, timestamp and address mask so
 * addressed; rawframes udp_connected_port_unreach_to_bcast). */
static void test_icmp_error_to_group_ignored(void **state)
{
	static const uint32_t dsts[] = { IP4(192, 0, 2, 255), 0xffffffffu, IP4(224, 0, 0, 1) };
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint local = { 0, 5000 }, peer = { H_PEER_IP, 53 };
	uint8_t m[8 + 28], out[8];
	size_t n, full;

	(void)state;
	assert_int_equal(udp_bind(u, &local, 0), 0);
	assert_int_equal(udp_connect(u, &peer), 0);
	n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, H_STACK_IP, 5000, 53, 28);
	memcpy(m, buf + ETH_HLEN + 20, n - ETH_HLEN - 20);
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		n = h_build_ip4(buf, H_PEER_IP, dsts[i], IP_PROTO_ICMP, 3, 0, m, sizeof(m));
		h_inject(h, buf, n);
		assert_int_equal(udp_poll(u) & SOCK_POLLERR, 0);
		assert_int_equal(stack_stats(h->s)->drops[DROP_ICMP_TO_GROUP], i + 1);
	}
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -EAGAIN);
	/* The same to our address is. */
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 3, 0, m, sizeof(m));
	h_inject(h, buf, n);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -ECONNREFUSED);
	assert_null(h_pop_tx(h));
	udp_close(u);
	h_free(h);
}

/* Which errors a connected UDP socket without IP_RECVERR reports, as
 * Linux's __udp4_lib_err (rawframes udp_connected_*): the fatal
 * unreachables (administratively prohibited, 13: EHOSTUNREACH),
 * fragmentation needed (EMSGSIZE, but not with IP_PMTUDISC_DONT), a
 * parameter problem (EPROTO); not host unreachable or time exceeded. */
static void test_icmp_error_udp_hard_soft(void **state)
{
	static const struct {
		uint8_t type, code;
		int err;        /* 0: not reported */
	} cases[] = {
		{ ICMP_DEST_UNREACH, 0, 0 },
		{ ICMP_DEST_UNREACH, 1, 0 },
		{ ICMP_DEST_UNREACH, 2, -ENOPROTOOPT },
		{ ICMP_DEST_UNREACH, ICMP_UNREACH_NEEDFRAG, -EMSGSIZE },
		{ ICMP_DEST_UNREACH, 5, 0 },
		{ ICMP_DEST_UNREACH, 6, -ENETUNREACH },
		{ ICMP_DEST_UNREACH, 10, -EHOSTUNREACH },
		{ ICMP_DEST_UNREACH, 11, 0 },
		{ ICMP_DEST_UNREACH, 13, -EHOSTUNREACH },
		{ ICMP_DEST_UNREACH, 15, -EHOSTUNREACH },
		{ ICMP_TIME_EXCEEDED, 0, 0 },
		{ ICMP_PARAM_PROBLEM, 0, -EPROTO },
	};
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint local = { 0, 5000 }, peer = { H_PEER_IP, 53 };
	uint8_t out[8];
	size_t n, full;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct udp_sock *u = udp_open(h->s);

		assert_int_equal(udp_bind(u, &local, 0), 0);
		assert_int_equal(udp_connect(u, &peer), 0);
		n = build_error(cases[i].type, cases[i].code, H_STACK_IP, 5000, 53, 28);
		h_inject(h, buf, n);
		assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0),
				 cases[i].err ? cases[i].err : -EAGAIN);
		udp_close(u);
	}
	/* Without path MTU discovery, fragmentation needed is nothing to report. */
	{
		struct udp_sock *u = udp_open(h->s);

		assert_int_equal(udp_bind(u, &local, 0), 0);
		assert_int_equal(udp_connect(u, &peer), 0);
		udp_set_pmtudisc(u, SOCK_PMTUDISC_DONT);
		n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_NEEDFRAG, H_STACK_IP, 5000, 53, 28);
		h_inject(h, buf, n);
		assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -EAGAIN);
		udp_close(u);
	}
	h_free(h);
}

/* Fragmentation needed about a UDP socket's datagram is the destination's
 * path MTU, as Linux's __udp4_lib_err takes it (ipv4_sk_update_pmtu),
 * unless the socket ignores path MTUs (IP_PMTUDISC_OMIT, INTERFACE:
 * ip_sk_accept_pmtu). Measured on Linux 6.18 (rawframes
 * udp_frag_needed_then_syn: MTU 1000, then a SYN-ACK offering MSS 960). */
static void test_icmp_frag_needed_udp_learns_pmtu(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint local = { 0, 5000 }, peer = { H_PEER_IP, 53 };
	size_t n;

	(void)state;
	for (int omit = 1; omit >= 0; omit--) {
		struct udp_sock *u = udp_open(h->s);

		assert_int_equal(udp_bind(u, &local, 0), 0);
		assert_int_equal(udp_connect(u, &peer), 0);
		if (omit)
			udp_set_pmtudisc(u, SOCK_PMTUDISC_OMIT);
		n = build_error(ICMP_DEST_UNREACH, ICMP_UNREACH_NEEDFRAG, H_STACK_IP, 5000, 53, 28);
		/* the next-hop MTU, 1000 (the ICMP header's last two bytes) */
		wr16(buf + n - 28 - 2, 1000);
		wr16(buf + n - 28 - 6, 0);
		wr16(buf + n - 28 - 6, csum_fold(csum_partial(buf + n - 28 - 8, 8 + 28, 0)));
		h_inject(h, buf, n);
		assert_int_equal(ip4_pmtu(h->s, H_PEER_IP, h->now), omit ? 1500 : 1000);
		udp_close(u);
	}
	h_free(h);
}

/* The errno each error reports (Linux's icmp_err_convert). */
static void test_icmp_error_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 0), -ENETUNREACH);
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 1), -EHOSTUNREACH);
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 2), -ENOPROTOOPT);
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 3), -ECONNREFUSED);
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 4), -EMSGSIZE);
	assert_int_equal(icmp4_error_errno(ICMP_DEST_UNREACH, 13), -EHOSTUNREACH);
	assert_int_equal(icmp4_error_errno(ICMP_TIME_EXCEEDED, 0), -EHOSTUNREACH);
	assert_int_equal(icmp4_error_errno(12, 0), -EPROTO);
	assert_int_equal(icmp4_error_errno(ICMP_ECHO_REPLY, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_echo_reply_exact),
		cmocka_unit_test(test_icmp_bad_checksum_and_truncated),
		cmocka_unit_test(test_icmp_broadcast_echo_ignored),
		cmocka_unit_test(test_icmp_echo_4000_fragmented),
		cmocka_unit_test(test_icmp_port_unreachable_quote),
		cmocka_unit_test(test_icmp_error_quote_576_and_tos),
		cmocka_unit_test(test_icmp_timestamp_reply),
		cmocka_unit_test(test_icmp_rate_limit),
		cmocka_unit_test(test_icmp_unreach_never_sent),
		cmocka_unit_test(test_icmp_unreach_not_for_link_group),
		cmocka_unit_test(test_icmp_error_to_udp_socket),
		cmocka_unit_test(test_icmp_error_to_group_ignored),
		cmocka_unit_test(test_icmp_error_udp_hard_soft),
		cmocka_unit_test(test_icmp_frag_needed_udp_learns_pmtu),
		cmocka_unit_test(test_icmp_error_errno_mapping),
	};
	return cmocka_run_group_tests_name("icmp4", tests, NULL, NULL);
}
