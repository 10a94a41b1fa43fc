/* UDP (RFC 768, RFC 1122 §4.1): demultiplexing, checksums, lengths, bind
 * rules, ephemeral ports, errors on connected sockets, receive semantics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/arp.h"
#include "stack/core/bpf.h"
#include "stack/core/eth.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/stack.h"
#include "stack/core/udp.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static uint8_t buf[H_MAX_FRAME];

static struct udp_sock *bound(struct harness *h, uint32_t addr, uint16_t port, unsigned flags)
{
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint ep = { addr, port };

	assert_non_null(u);
	assert_int_equal(udp_bind(u, &ep, flags), 0);
	return u;
}

static void inject_udp(struct harness *h, uint16_t sport, uint32_t dst, uint16_t dport, const char *text)
{
	size_t n = h_build_udp(buf, H_PEER_IP, sport, dst, dport, (const uint8_t *)text, strlen(text));

	h_inject(h, buf, n);
}

/* Receives one datagram and checks its text. */
static void expect_dgram(struct udp_sock *u, const char *text)
{
	char out[256];
	size_t full = 0;
	long n = udp_recvfrom(u, out, sizeof(out), NULL, &full, 0);

	assert_int_equal(n, (long)strlen(text));
	assert_memory_equal(out, text, strlen(text));
}

static void expect_empty(struct udp_sock *u)
{
	char out[8];
	size_t full;

	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), -EAGAIN);
}

static void test_udp_demux_exact_address_beats_wildcard(void **state)
{
	struct harness *h = h_new(NULL, false);
	/* Bound in this order so that a tie would go to the wildcard socket. */
	struct udp_sock *exact = bound(h, H_STACK_IP, 7, UDP_BIND_REUSEADDR);
	struct udp_sock *any = bound(h, 0, 7, UDP_BIND_REUSEADDR);

	(void)state;
	inject_udp(h, 1000, H_STACK_IP, 7, "unicast");
	expect_dgram(exact, "unicast");
	expect_empty(any);
	/* A broadcast does not match the socket bound to our unicast address. */
	inject_udp(h, 1000, 0xffffffffu, 7, "bcast");
	expect_dgram(any, "bcast");
	expect_empty(exact);
	udp_close(any);
	udp_close(exact);
	h_free(h);
}

static void test_udp_demux_connected_beats_unconnected(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *conn = bound(h, 0, 7, UDP_BIND_REUSEADDR), *exact;
	struct ip4_endpoint peer = { H_PEER_IP, 1000 };

	(void)state;
	assert_int_equal(udp_connect(conn, &peer), 0);
	/* Bound after, so that a tie would go to the unconnected socket. */
	exact = bound(h, H_STACK_IP, 7, UDP_BIND_REUSEADDR);
	inject_udp(h, 1000, H_STACK_IP, 7, "from the peer");
	inject_udp(h, 1001, H_STACK_IP, 7, "from another port");
	expect_dgram(conn, "from the peer");
	expect_empty(conn);
	expect_dgram(exact, "from another port");
	expect_empty(exact);
	udp_close(exact);
	udp_close(conn);
	h_free(h);
}

/* A disconnect lets go of a port bind() did not name (Linux's
 * __udp_disconnect): datagrams to it find no socket, the next connect()
 * picks a port again. A port bind() named stays, and receives. */
static void test_udp_disconnect_lets_go_of_picked_port(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s), *b = bound(h, 0, 7, 0);
	struct ip4_endpoint peer = { H_PEER_IP, 1000 }, l;
	uint16_t picked;

	(void)state;
	assert_int_equal(udp_connect(u, &peer), 0);
	udp_local(u, &l);
	picked = l.port;
	assert_int_not_equal(picked, 0);
	inject_udp(h, 1000, H_STACK_IP, picked, "before");
	expect_dgram(u, "before");
	udp_disconnect(u);
	udp_local(u, &l);
	assert_int_equal(l.addr, 0);
	assert_int_equal(l.port, 0);
	inject_udp(h, 1000, H_STACK_IP, picked, "after");
	expect_empty(u);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_NO_SOCKET], 1);
	/* bind() may come again, on the same port. */
	assert_int_equal(udp_bind(u, &(struct ip4_endpoint){ 0, picked }, 0), 0);
	inject_udp(h, 1000, H_STACK_IP, picked, "bound");
	expect_dgram(u, "bound");

	assert_int_equal(udp_connect(b, &peer), 0);
	udp_disconnect(b);
	udp_local(b, &l);
	assert_int_equal(l.port, 7);
	inject_udp(h, 1000, H_STACK_IP, 7, "kept");
	expect_dgram(b, "kept");
	udp_close(u);
	udp_close(b);
	h_free(h);
}

/* Broadcasts reach every matching socket (Linux). */
static void test_udp_broadcast_to_all(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *a = bound(h, 0, 7, UDP_BIND_REUSEADDR);
	struct udp_sock *b = bound(h, 0, 7, UDP_BIND_REUSEADDR);

	(void)state;
	inject_udp(h, 1000, IP4(192, 0, 2, 255), 7, "all");
	expect_dgram(a, "all");
	expect_dgram(b, "all");
	/* No port unreachable for a broadcast to a closed port. */
	h_learn_peer(h);
	inject_udp(h, 1000, 0xffffffffu, 8, "nobody");
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_NO_SOCKET], 1);
	assert_null(h_pop_tx(h));
	udp_close(a);
	udp_close(b);
	h_free(h);
}

/* Injects a datagram to the multicast group, in a frame to its group MAC (RFC 1112 §6.4). */
static void inject_mcast(struct harness *h, uint32_t group, uint16_t dport, const char *text)
{
	size_t n = h_build_udp(buf, H_PEER_IP, 1000, group, dport, (const uint8_t *)text, strlen(text));

	buf[0] = 0x01;
	buf[1] = 0x00;
	buf[2] = 0x5e;
	buf[3] = (uint8_t)((group >> 16) & 0x7f);
	buf[4] = (uint8_t)(group >> 8);
	buf[5] = (uint8_t)group;
	h_inject(h, buf, n);
}

/*
 * Multicast reception (RFC 1112): a group a socket joined is taken, for
 * every socket on the port (IP_MULTICAST_ALL); other groups are not; joining
 * twice, too many groups, leaving a group not joined are refused as Linux
 * refuses them; our own datagram to a joined group comes back unless
 * IP_MULTICAST_LOOP is off; multicast goes out with TTL 1.
 */
static void test_udp_multicast(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *a = bound(h, 0, 7, UDP_BIND_REUSEADDR);
	struct udp_sock *b = bound(h, IP4(239, 1, 1, 1), 7, UDP_BIND_REUSEADDR);
	struct udp_sock *c = bound(h, H_STACK_IP, 7, UDP_BIND_REUSEADDR);
	struct ip4_endpoint g = { IP4(239, 1, 1, 1), 7 };
	struct h_frame *f;
	struct ip4_hdr ih;
	size_t plen;

	(void)state;
	inject_mcast(h, g.addr, 7, "early");
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NOT_FOR_US], 1);
	expect_empty(a);
	assert_int_equal(udp_join(a, IP4(192, 0, 2, 1)), -EINVAL);
	assert_int_equal(udp_join(a, g.addr), 0);
	assert_int_equal(udp_join(a, g.addr), -EADDRINUSE);
	assert_true(udp_group_joined(h->s, g.addr));
	assert_true(udp_group_joined(h->s, IP4(224, 0, 0, 1)));
	inject_mcast(h, g.addr, 7, "group");
	expect_dgram(a, "group");
	expect_dgram(b, "group");
	expect_empty(c);                /* bound to the unicast address */
	inject_mcast(h, IP4(239, 1, 1, 2), 7, "other");
	assert_int_equal(stack_stats(h->s)->drops[DROP_IP_NOT_FOR_US], 2);

	/* Loopback, and TTL 1 on the wire. */
	h_learn_peer(h);
	assert_int_equal(udp_sendto(c, "self", 4, &g, h->now), 4);
	expect_dgram(a, "self");
	expect_dgram(b, "self");
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(f->data[0], 0x01);
	h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.ttl, 1);
	free(f);
	udp_set_multicast(c, 5, false);
	assert_int_equal(udp_sendto(c, "self", 4, &g, h->now), 4);
	expect_empty(a);
	f = h_pop_tx(h);
	h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.ttl, 5);
	free(f);

	assert_int_equal(udp_leave(a, g.addr), 0);
	assert_int_equal(udp_leave(a, g.addr), -EADDRNOTAVAIL);
	assert_false(udp_group_joined(h->s, g.addr));
	for (unsigned i = 0; i < UDP_MAX_MEMBERSHIPS; i++)
		assert_int_equal(udp_join(a, IP4(239, 2, 0, i)), 0);
	assert_int_equal(udp_join(a, IP4(239, 3, 0, 0)), -ENOBUFS);
	udp_close(a);
	udp_close(b);
	udp_close(c);
	h_free(h);
}

static void test_udp_checksum_rules(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	size_t n;

	(void)state;
	/* RFC 768: zero means the sender computed none; accepted. */
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"nocsum", 6);
	wr16(buf + ETH_HLEN + IP4_HLEN + 6, 0);
	h_inject(h, buf, n);
	expect_dgram(u, "nocsum");

	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"badsum", 6);
	buf[ETH_HLEN + IP4_HLEN + 6] ^= 0x10;
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 1);
	expect_empty(u);
	assert_int_equal(stack_stats(h->s)->udp_in, 1);
	udp_close(u);
	h_free(h);
}

static void test_udp_length_rules(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	uint8_t *ip = buf + ETH_HLEN, *ud = buf + ETH_HLEN + IP4_HLEN;
	size_t n;

	(void)state;
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"abcd", 4);
	wr16(ud + 4, 13);   /* longer than the IP payload */
	h_inject(h, buf, n);
	wr16(ud + 4, 7);    /* shorter than the header */
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_LENGTH], 2);

	/* Fewer than 8 bytes of IP payload. */
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_UDP, 5, 0, (const uint8_t *)"\0\1\0\7\0", 5);
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_TRUNCATED], 1);
	expect_empty(u);

	/* A UDP length shorter than the IP payload: the rest is ignored. */
	n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"ab", 2);
	memcpy(buf + n, "XYZ", 3);
	wr16(ip + 2, (uint16_t)(rd16(ip + 2) + 3));
	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_partial(ip, IP4_HLEN, 0)));
	h_inject(h, buf, n + 3);
	expect_dgram(u, "ab");
	udp_close(u);
	h_free(h);
}

/* The checksum we send verifies, and a computed zero goes out as 0xffff. */
static void test_udp_send_checksum(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 5000, 0);
	struct ip4_endpoint to = { H_PEER_IP, 53 };
	uint8_t hdr[10] = { 0x13, 0x88, 0, 53, 0, 10, 0, 0, 0, 0 };
	uint8_t pl[2];
	uint16_t folded, w;
	struct h_frame *f;
	struct ip4_hdr ih;
	const uint8_t *p;
	size_t plen;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(udp_sendto(u, "query", 5, &to, h->now), 5);
	f = h_pop_tx(h);
	p = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, IP_PROTO_UDP);
	assert_true(ih.df);
	assert_int_equal(plen, 13);
	assert_int_equal(rd16(p), 5000);
	assert_int_equal(rd16(p + 2), 53);
	assert_int_equal(rd16(p + 4), 13);
	assert_true(h_csum_ok(p, plen, csum_pseudo4(H_STACK_IP, H_PEER_IP, IP_PROTO_UDP, 13)));
	assert_memory_equal(p + 8, "query", 5);
	free(f);

	/* Pick the 2-byte payload that makes the one's-complement sum 0xffff. */
	folded = (uint16_t)~csum_fold(csum_partial(hdr, 10, csum_pseudo4(H_STACK_IP, H_PEER_IP, IP_PROTO_UDP, 10)));
	w = (uint16_t)(0xffff - folded);
	wr16(pl, w);
	assert_int_equal(udp_sendto(u, pl, 2, &to, h->now), 2);
	f = h_pop_tx(h);
	p = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(rd16(p + 6), 0xffff);
	assert_true(h_csum_ok(p, plen, csum_pseudo4(H_STACK_IP, H_PEER_IP, IP_PROTO_UDP, 10)));
	free(f);
	assert_int_equal(stack_stats(h->s)->udp_out, 2);
	udp_close(u);
	h_free(h);
}

static void test_udp_bind_rules(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *a = bound(h, 0, 7, 0);
	struct udp_sock *b = udp_open(h->s), *c, *d;
	struct ip4_endpoint ep = { 0, 7 }, mine = { H_STACK_IP, 7 }, other = { IP4(10, 0, 0, 1), 8 };
	struct ip4_endpoint bc = { 0xffffffffu, 9 }, sbc = { IP4(192, 0, 2, 255), 10 };

	(void)state;
	assert_int_equal(udp_bind(b, &ep, 0), -EADDRINUSE);
	assert_int_equal(udp_bind(b, &mine, 0), -EADDRINUSE);
	assert_int_equal(udp_bind(b, &ep, UDP_BIND_REUSEADDR), -EADDRINUSE);  /* a did not say so */
	assert_int_equal(udp_bind(b, &other, 0), -EADDRNOTAVAIL);
	assert_int_equal(udp_bind(b, &bc, 0), 0);
	assert_int_equal(udp_bind(b, &sbc, 0), -EINVAL);                      /* already bound */
	udp_close(b);
	b = udp_open(h->s);
	assert_int_equal(udp_bind(b, &sbc, 0), 0);
	udp_close(b);
	udp_close(a);

	/* Both with SO_REUSEADDR, or both with SO_REUSEPORT: allowed. */
	a = bound(h, 0, 7, UDP_BIND_REUSEADDR);
	b = bound(h, H_STACK_IP, 7, UDP_BIND_REUSEADDR);
	c = bound(h, 0, 11, UDP_BIND_REUSEPORT);
	d = bound(h, 0, 11, UDP_BIND_REUSEPORT);
	udp_close(a);
	udp_close(b);
	udp_close(c);
	udp_close(d);
	/* Closed sockets free their ports. */
	a = bound(h, 0, 7, 0);
	udp_close(a);
	h_free(h);
}

/* RFC 6056: port 0 picks a free port in 32768..60999 at random. */
static void test_udp_ephemeral_ports(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *s[200];
	struct ip4_endpoint ep = { 0, 0 }, loc, to = { H_PEER_IP, 9 };
	unsigned low_half = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		s[i] = udp_open(h->s);
		assert_int_equal(udp_bind(s[i], &ep, 0), 0);
		udp_local(s[i], &loc);
		assert_true(loc.port >= 32768 && loc.port <= 60999);
		if (loc.port < 46884)
			low_half++;
		for (int j = 0; j < i; j++) {
			struct ip4_endpoint o;

			udp_local(s[j], &o);
			assert_int_not_equal(o.port, loc.port);
		}
	}
	/* Random, not sequential: both halves of the range are used. */
	assert_true(low_half > 20 && low_half < 180);
	for (int i = 0; i < 200; i++)
		udp_close(s[i]);

	/* An unbound socket gets one on its first send. */
	h_learn_peer(h);
	s[0] = udp_open(h->s);
	udp_local(s[0], &loc);
	assert_int_equal(loc.port, 0);
	assert_int_equal(udp_sendto(s[0], "x", 1, &to, h->now), 1);
	udp_local(s[0], &loc);
	assert_true(loc.port >= 32768 && loc.port <= 60999);
	udp_close(s[0]);
	/* ... or on connect, which also fixes the local address. */
	s[0] = udp_open(h->s);
	assert_int_equal(udp_connect(s[0], &to), 0);
	udp_local(s[0], &loc);
	assert_true(loc.port >= 32768 && loc.port <= 60999);
	assert_int_equal(loc.addr, H_STACK_IP);
	udp_close(s[0]);
	h_free(h);
}

static void test_udp_send_errors(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint to = { H_PEER_IP, 9 }, port0 = { H_PEER_IP, 0 }, p;
	static uint8_t big[UDP_MAX_PAYLOAD + 1];

	(void)state;
	assert_int_equal(udp_sendto(u, "x", 1, NULL, h->now), -EDESTADDRREQ);
	assert_int_equal(udp_sendto(u, big, sizeof(big), &to, h->now), -EMSGSIZE);
	assert_int_equal(udp_sendto(u, "x", 1, &port0, h->now), -EINVAL);
	assert_int_equal(udp_peer(u, &p), -ENOTCONN);
	assert_null(h_pop_tx(h));
	/* The largest datagram goes, in fragments. */
	h_learn_peer(h);
	assert_int_equal(udp_sendto(u, big, UDP_MAX_PAYLOAD, &to, h->now), UDP_MAX_PAYLOAD);
	assert_int_equal(h->tx_count, (65535 - 20 + 1479) / 1480);
	udp_close(u);
	h_free(h);
}

static int wakeups;
static void count_wakeup(void *ctx)
{
	(void)ctx;
	wakeups++;
}

/* Linux: after a port unreachable, a connected socket's next call fails with
 * ECONNREFUSED (once); an unconnected socket never hears of it. */
static void test_udp_connected_econnrefused(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s), *v;
	struct ip4_endpoint peer = { H_PEER_IP, 53 }, p;
	struct sock_wakeup w = { .fn = count_wakeup };
	uint8_t m[8 + 28 + 64];
	struct h_frame *f;
	size_t n;

	(void)state;
	h_learn_peer(h);
	wakeups = 0;
	udp_set_wakeup(u, &w);
	assert_int_equal(udp_connect(u, &peer), 0);
	assert_int_equal(udp_peer(u, &p), 0);
	assert_int_equal(p.port, 53);
	assert_int_equal(udp_sendto(u, "q", 1, NULL, h->now), 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	/* The peer answers port unreachable, quoting our datagram. */
	memset(m, 0, sizeof(m));
	m[0] = ICMP_DEST_UNREACH;
	m[1] = ICMP_UNREACH_PORT;
	memcpy(m + 8, f->data + ETH_HLEN, 28);
	wr16(m + 2, csum_fold(csum_partial(m, 8 + 28, 0)));
	free(f);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, m, 8 + 28);
	h_inject(h, buf, n);
	assert_int_equal(wakeups, 1);
	assert_true(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_sendto(u, "q", 1, NULL, h->now), -ECONNREFUSED);
	assert_false(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_sendto(u, "q", 1, NULL, h->now), 1);
	h_drain_tx(h);

	/* Unconnected: ignored. */
	v = udp_open(h->s);
	assert_int_equal(udp_sendto(v, "q", 1, &peer, h->now), 1);
	f = h_pop_tx(h);
	memcpy(m + 8, f->data + ETH_HLEN, 28);
	wr16(m + 2, 0);
	wr16(m + 2, csum_fold(csum_partial(m, 8 + 28, 0)));
	free(f);
	n = h_build_ip4(buf, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 10, 0, m, 8 + 28);
	h_inject(h, buf, n);
	assert_false(udp_poll(v) & SOCK_POLLERR);
	assert_int_equal(udp_sendto(v, "q", 1, &peer, h->now), 1);

	/* Disconnecting forgets the peer. */
	udp_disconnect(u);
	assert_int_equal(udp_peer(u, &p), -ENOTCONN);
	udp_close(u);
	udp_close(v);
	h_free(h);
}

/* IP_RECVERR: every ICMP error about what an unconnected socket sent is
 * queued with its details and quote, and pending; reading it takes the next
 * one's error as pending (Linux's ip_recv_error). */
static void test_udp_recverr_queue(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 4000, 0);
	struct ip4_endpoint peer = { H_PEER_IP, 53 };
	struct udp_err_info ei;
	uint8_t m[8 + 28 + 64];
	struct h_frame *f;
	char out[16];
	size_t n, full = 0;

	(void)state;
	h_learn_peer(h);
	udp_set_recverr(u, true);
	for (int i = 0; i < 2; i++) {
		/* The first error is pending: the next call reports it (Linux's sk_err). */
		if (i)
			assert_int_equal(udp_sendto(u, "efgh", 4, &peer, h->now), -ECONNREFUSED);
		assert_int_equal(udp_sendto(u, i ? "efgh" : "abc", i ? 4 : 3, &peer, h->now), i ? 4 : 3);
		f = h_pop_tx(h);
		assert_non_null(f);
		/* Port unreachable, then host unreachable (soft: queued too). */
		memset(m, 0, sizeof(m));
		m[0] = ICMP_DEST_UNREACH;
		m[1] = i ? 1 : ICMP_UNREACH_PORT;
		memcpy(m + 8, f->data + ETH_HLEN, 28 + 3u + (unsigned)i);
		wr16(m + 2, csum_fold(csum_partial(m, 8 + 31u + (unsigned)i, 0)));
		free(f);
		n = h_build_ip4(buf, IP4(192, 0, 2, 9), H_STACK_IP, IP_PROTO_ICMP, (uint16_t)(9 + i), 0, m,
				8 + 31u + (unsigned)i);
		h_inject(h, buf, n);
	}
	assert_true(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_recv_err(u, out, 2, &full, &ei), 2);
	assert_int_equal(full, 3);
	assert_memory_equal(out, "ab", 2);
	assert_int_equal(ei.err, -ECONNREFUSED);
	assert_int_equal(ei.type, ICMP_DEST_UNREACH);
	assert_int_equal(ei.code, ICMP_UNREACH_PORT);
	assert_int_equal(ei.offender, IP4(192, 0, 2, 9));
	assert_int_equal(ei.dst.addr, H_PEER_IP);
	assert_int_equal(ei.dst.port, 53);
	/* The second's error is the pending one now. */
	assert_int_equal(udp_take_error(u), -EHOSTUNREACH);
	assert_true(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_recv_err(u, out, sizeof(out), &full, &ei), 4);
	assert_memory_equal(out, "efgh", 4);
	assert_int_equal(ei.code, 1);
	assert_false(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_recv_err(u, out, sizeof(out), &full, &ei), -EAGAIN);
	/* Turned off: nothing is queued, and an unconnected socket hears nothing. */
	udp_set_recverr(u, false);
	assert_int_equal(udp_sendto(u, "abc", 3, &peer, h->now), 3);
	f = h_pop_tx(h);
	m[1] = ICMP_UNREACH_PORT;
	memcpy(m + 8, f->data + ETH_HLEN, 31);
	wr16(m + 2, 0);
	wr16(m + 2, csum_fold(csum_partial(m, 8 + 31, 0)));
	free(f);
	n = h_build_ip4(buf, IP4(192, 0, 2, 9), H_STACK_IP, IP_PROTO_ICMP, 11, 0, m, 8 + 31);
	h_inject(h, buf, n);
	assert_false(udp_poll(u) & SOCK_POLLERR);
	udp_close(u);
	h_free(h);
}

/* The DF bit of the first frame out, then drops the rest. */
static bool sent_df(struct harness *h)
{
	struct h_frame *f = h_pop_tx(h);
	bool df;

	assert_non_null(f);
	df = (f->data[ETH_HLEN + 6] & 0x40) != 0;
	free(f);
	h_drain_tx(h);
	return df;
}

/* IP_MTU_DISCOVER: DF per mode (Linux's __ip_make_skb), EMSGSIZE for a
 * datagram over the MTU with DO, PROBE and INTERFACE, and with IP_RECVERR
 * a local error on the queue (no offender, the MTU in info), not pending. */
static void test_udp_pmtudisc(void **state)
{
	static char big[2000];
	static const bool df_small[] = { false, true, true, true, false, false };
	static const bool df_big[] = { false, false, true, true, false, false };
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 4000, 0);
	struct ip4_endpoint peer = { H_PEER_IP, 53 };
	struct udp_err_info ei;
	size_t full;
	char out[8];

	(void)state;
	h_learn_peer(h);
	for (uint8_t m = SOCK_PMTUDISC_DONT; m <= SOCK_PMTUDISC_OMIT; m++) {
		udp_set_pmtudisc(u, m);
		assert_int_equal(udp_sendmsg(u, big, 100, &peer, NULL, h->now), 100);
		assert_int_equal(sent_df(h), df_small[m]);
		if (m >= SOCK_PMTUDISC_DO && m != SOCK_PMTUDISC_OMIT) {
			assert_int_equal(udp_sendmsg(u, big, sizeof(big), &peer, NULL, h->now), -EMSGSIZE);
			assert_null(h_pop_tx(h));
			continue;
		}
		assert_int_equal(udp_sendmsg(u, big, sizeof(big), &peer, NULL, h->now), (long)sizeof(big));
		assert_int_equal(sent_df(h), df_big[m]);
	}
	assert_int_equal(udp_recv_err(u, out, sizeof(out), &full, &ei), -EAGAIN);
	udp_set_recverr(u, true);
	udp_set_pmtudisc(u, SOCK_PMTUDISC_DO);
	assert_int_equal(udp_sendmsg(u, big, sizeof(big), &peer, NULL, h->now), -EMSGSIZE);
	assert_true(udp_poll(u) & SOCK_POLLERR);
	assert_int_equal(udp_take_error(u), 0);
	assert_int_equal(udp_recv_err(u, out, sizeof(out), &full, &ei), 0);
	assert_int_equal(full, 0);
	assert_int_equal(ei.err, -EMSGSIZE);
	assert_true(ei.local);
	assert_int_equal(ei.info, 1500);
	assert_int_equal(ei.offender, 0);
	/* Linux's ip_local_error: the datagram's address, the port the
	 * socket is connected to (inet_dport), 0 here. */
	assert_int_equal(ei.dst.addr, H_PEER_IP);
	assert_int_equal(ei.dst.port, 0);
	/* Connected to port 7, a datagram sent to 53: the error says 7. */
	assert_int_equal(udp_connect(u, &(struct ip4_endpoint){ H_PEER_IP, 7 }), 0);
	assert_int_equal(udp_sendmsg(u, big, sizeof(big), &peer, NULL, h->now), -EMSGSIZE);
	assert_int_equal(udp_recv_err(u, out, sizeof(out), &full, &ei), 0);
	assert_int_equal(ei.dst.addr, H_PEER_IP);
	assert_int_equal(ei.dst.port, 7);
	udp_close(u);
	h_free(h);
}

/* SO_DONTROUTE and MSG_DONTROUTE: a destination beyond the link (through
 * the gateway) is unreachable, one on the link is not; connect() too. */
static void test_udp_dontroute(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 4000, 0);
	struct ip4_endpoint far = { IP4(198, 51, 100, 1), 9 }, near = { H_PEER_IP, 9 };
	struct udp_tx_opts o = { .tos = -1, .dontroute = true };

	(void)state;
	h_learn_peer(h);
	assert_int_equal(udp_sendmsg(u, "q", 1, &far, &o, h->now), -ENETUNREACH);
	assert_int_equal(udp_sendmsg(u, "q", 1, &near, &o, h->now), 1);
	assert_int_equal(udp_sendmsg(u, "q", 1, &far, NULL, h->now), 1);     /* the gateway's way */
	udp_set_dontroute(u, true);
	assert_int_equal(udp_sendto(u, "q", 1, &far, h->now), -ENETUNREACH);
	assert_int_equal(udp_connect(u, &far), -ENETUNREACH);
	assert_int_equal(udp_connect(u, &near), 0);
	h_drain_tx(h);
	udp_close(u);
	h_free(h);
}

/* IP_FREEBIND: bind() takes an address not ours, nothing is sent from it;
 * IP_TRANSPARENT: and datagrams go from it. */
static void test_udp_nonlocal_bind(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = udp_open(h->s), *v = udp_open(h->s), *w = udp_open(h->s);
	struct ip4_endpoint other = { IP4(192, 0, 2, 99), 0 }, peer = { H_PEER_IP, 9 }, p;
	struct h_frame *f;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(udp_bind(u, &other, 0), -EADDRNOTAVAIL);
	assert_int_equal(udp_bind(v, &other, INPCB_NONLOCAL), 0);
	assert_int_equal(udp_sendto(v, "q", 1, &peer, h->now), -ENETUNREACH);
	/* connect() routes alike, and leaves the socket unconnected */
	assert_int_equal(udp_connect(v, &peer), -ENETUNREACH);
	assert_int_equal(udp_peer(v, &p), -ENOTCONN);
	assert_int_equal(udp_bind(w, &other, INPCB_NONLOCAL | INPCB_ANYSRC), 0);
	assert_int_equal(udp_connect(w, &peer), 0);
	assert_int_equal(udp_sendto(w, "q", 1, NULL, h->now), 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_memory_equal(f->data + ETH_HLEN + 12, "\xc0\x00\x02\x63", 4);  /* from 192.0.2.99 */
	free(f);
	udp_close(u);
	udp_close(v);
	udp_close(w);
	h_free(h);
}

/* A socket bound to a group or to the broadcast address sends from the
 * interface's address (Linux's inet_bind leaves inet_saddr 0 for those),
 * never from the group. */
static void test_udp_bound_group_sends_from_ours(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *g = bound(h, IP4(239, 1, 2, 3), 5000, 0), *b = bound(h, 0xffffffffu, 5001, 0);
	struct ip4_endpoint peer = { H_PEER_IP, 9 };
	struct h_frame *f;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(udp_sendto(g, "q", 1, &peer, h->now), 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_memory_equal(f->data + ETH_HLEN + 12, "\xc0\x00\x02\x02", 4);  /* from 192.0.2.2 */
	free(f);
	assert_int_equal(udp_sendto(b, "q", 1, &peer, h->now), 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_memory_equal(f->data + ETH_HLEN + 12, "\xc0\x00\x02\x02", 4);
	free(f);
	udp_close(g);
	udp_close(b);
	h_free(h);
}

/* The namespace's net.ipv4.ip_nonlocal_bind: any socket may bind an address
 * not the stack's, as with IP_FREEBIND; it still sends from there only with
 * IP_TRANSPARENT. */
static void test_udp_nonlocal_bind_sysctl(void **state)
{
	struct stack_config cfg;
	struct harness *h;
	struct udp_sock *u;
	struct ip4_endpoint other = { IP4(192, 0, 2, 99), 0 }, peer = { H_PEER_IP, 9 };

	(void)state;
	config_defaults(&cfg);
	cfg.ip_nonlocal_bind = 1;
	h = h_new(&cfg, false);
	u = udp_open(h->s);
	h_learn_peer(h);
	assert_int_equal(udp_bind(u, &other, 0), 0);
	assert_int_equal(udp_sendto(u, "q", 1, &peer, h->now), -ENETUNREACH);
	assert_int_equal(udp_connect(u, &peer), -ENETUNREACH);
	udp_close(u);
	h_free(h);
}

/* sendmsg's IP_TTL, IP_TOS, IP_PKTINFO for one datagram; what recvmsg's
 * control messages read of a received one. */
static void test_udp_per_message_options(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 4000, 0);
	struct ip4_endpoint peer = { H_PEER_IP, 53 };
	struct udp_tx_opts o = { .src = H_STACK_IP, .ttl = 5, .tos = 0x10 };
	struct udp_rx_meta meta;
	struct h_frame *f;
	char out[16];
	size_t full;

	(void)state;
	h_learn_peer(h);
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, &o, h->now), 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(f->data[ETH_HLEN + 8], 5);         /* TTL */
	assert_int_equal(f->data[ETH_HLEN + 1], 0x10);      /* TOS */
	free(f);
	/* The socket's own again, without them. */
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, NULL, h->now), 1);
	f = h_pop_tx(h);
	assert_int_equal(f->data[ETH_HLEN + 8], 64);
	assert_int_equal(f->data[ETH_HLEN + 1], 0);
	free(f);
	/* The socket's IP_TTL; the datagram's still wins; 0 is the default again. */
	udp_set_ttl(u, 9);
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, NULL, h->now), 1);
	f = h_pop_tx(h);
	assert_int_equal(f->data[ETH_HLEN + 8], 9);
	free(f);
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, &o, h->now), 1);
	f = h_pop_tx(h);
	assert_int_equal(f->data[ETH_HLEN + 8], 5);
	free(f);
	udp_set_ttl(u, 0);
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, NULL, h->now), 1);
	f = h_pop_tx(h);
	assert_int_equal(f->data[ETH_HLEN + 8], 64);
	free(f);
	o.src = IP4(192, 0, 2, 99);
	assert_int_equal(udp_sendmsg(u, "q", 1, &peer, &o, h->now), -ENETUNREACH);
	assert_null(h_pop_tx(h));

	assert_int_equal(udp_next_meta(u, &meta), -EAGAIN);
	h->now += 123;
	inject_udp(h, 53, H_STACK_IP, 4000, "hi");
	assert_int_equal(udp_next_meta(u, &meta), 0);
	assert_int_equal(meta.dst, H_STACK_IP);
	assert_int_equal(meta.ttl, 64);
	assert_int_equal(meta.tos, 0);
	assert_int_equal(meta.at, h->now);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 2);
	assert_int_equal(udp_next_meta(u, &meta), -EAGAIN);
	udp_close(u);
	h_free(h);
}

static void test_udp_peek_and_truncation(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	struct ip4_endpoint from;
	char out[64];
	size_t full = 0;

	(void)state;
	inject_udp(h, 1234, H_STACK_IP, 7, "hello world");
	inject_udp(h, 1234, H_STACK_IP, 7, "second");
	assert_int_equal(udp_next_size(u), 11);
	assert_true(udp_poll(u) & SOCK_POLLIN);
	assert_int_equal(udp_recvfrom(u, out, 5, &from, &full, SOCK_PEEK), 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(full, 11);
	assert_int_equal(from.addr, H_PEER_IP);
	assert_int_equal(from.port, 1234);
	/* Still there after a peek; a short read truncates and discards the rest. */
	assert_int_equal(udp_recvfrom(u, out, 4, NULL, &full, 0), 4);
	assert_memory_equal(out, "hell", 4);
	assert_int_equal(full, 11);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 6);
	assert_memory_equal(out, "second", 6);
	assert_int_equal(full, 6);
	assert_int_equal(udp_next_size(u), 0);
	assert_false(udp_poll(u) & SOCK_POLLIN);
	expect_empty(u);
	udp_close(u);
	h_free(h);
}

/* SO_ATTACH_FILTER (Linux's sk_filter_trim_cap): the program sees the
 * datagram from its UDP header on; 0 drops it (a drop the socket counts), a
 * smaller length cuts it, never below the header. */
static void test_udp_socket_filter(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	/* Keep what starts with 'k' (the byte after the 8-byte header), cut to 10. */
	const struct bpf_insn keep_k[] = {
		{ 0x30, 0, 0, 8 },          /* ld [8] (byte) */
		{ 0x15, 0, 1, 'k' },        /* jeq #'k', next, drop */
		{ 0x06, 0, 0, 10 },         /* ret #10 */
		{ 0x06, 0, 0, 0 },          /* ret #0 */
	};
	const struct bpf_insn proto[] = {
		{ 0x30, 0, 0, (uint32_t)-0x100000 + 9 },   /* ld [SKF_NET_OFF + 9]: the IP protocol */
		{ 0x16, 0, 0, 0 },                        /* ret a */
	};
	const struct bpf_insn beyond[] = {
		{ 0x20, 0, 0, 100 },        /* ld [100] (word): past the end */
		{ 0x06, 0, 0, 0xffff },
	};
	char out[64];
	size_t full;

	(void)state;
	assert_int_equal(udp_set_filter(u, keep_k, 4, 2), 0);
	inject_udp(h, 1234, H_STACK_IP, 7, "drop me");
	inject_udp(h, 1234, H_STACK_IP, 7, "keep me");
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 2);
	assert_memory_equal(out, "ke", 2);
	assert_int_equal(full, 2);
	expect_empty(u);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_FILTERED], 1);
	/* SKF_NET_OFF reads the IP header: its protocol, 17, keeps 17
	 * bytes (the header and 9); a ninth byte more is cut. */
	assert_int_equal(udp_set_filter(u, proto, 2, 2), 0);
	inject_udp(h, 1234, H_STACK_IP, 7, "seventeen!");
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 9);
	/* A return below the header keeps the header: a datagram of no bytes. */
	assert_int_equal(udp_set_filter(u, (const struct bpf_insn[]){ { 0x06, 0, 0, 2 } }, 1, 2), 0);
	inject_udp(h, 1234, H_STACK_IP, 7, "gone");
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 0);
	assert_int_equal(full, 0);
	assert_int_equal(udp_set_filter(u, beyond, 2, 2), 0);
	inject_udp(h, 1234, H_STACK_IP, 7, "short");
	expect_empty(u);
	assert_int_equal(udp_set_filter(u, NULL, 0, 0), 0);
	inject_udp(h, 1234, H_STACK_IP, 7, "free");
	expect_dgram(u, "free");
	udp_close(u);
	h_free(h);
}

/* IP_MSFILTER (Linux's ip_mc_msfilter, ip_mc_msfget): a joined group's
 * filter set whole and read back; (INCLUDE, none) leaves. */
static void test_udp_msfilter(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	const uint32_t g = 0xef010203u, srcs[2] = { H_PEER_IP, 0xc0000263u };
	uint32_t back[2] = { 0, 0 };
	bool include = true;

	(void)state;
	assert_int_equal(udp_set_msfilter(u, g, false, srcs, 1), -EINVAL);
	assert_int_equal(udp_get_msfilter(u, g, &include, back, 2), -EADDRNOTAVAIL);
	assert_int_equal(udp_join(u, g), 0);
	assert_int_equal(udp_get_msfilter(u, g, &include, back, 2), 0);
	assert_false(include);
	assert_int_equal(udp_set_msfilter(u, g, true, srcs, 2), 0);
	assert_int_equal(udp_get_msfilter(u, g, &include, back, 1), 2);
	assert_true(include);
	assert_int_equal(back[0], H_PEER_IP);
	assert_int_equal(back[1], 0);
	assert_int_equal(udp_set_msfilter(u, g, true, srcs, UDP_MAX_MSF + 1), -ENOBUFS);
	assert_int_equal(udp_set_msfilter(u, g, true, NULL, 0), 0);
	assert_int_equal(udp_leave(u, g), -EADDRNOTAVAIL);
	udp_close(u);
	h_free(h);
}

static void test_udp_rcvbuf_bound(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	static char text[1001];
	int got = 0;
	char out[2000];
	size_t full;

	(void)state;
	memset(text, 'r', 1000);
	udp_set_rcvbuf(u, 4096);
	assert_int_equal(udp_get_rcvbuf(u), 4096);
	for (int i = 0; i < 10; i++)
		inject_udp(h, 1000, H_STACK_IP, 7, text);
	while (udp_recvfrom(u, out, sizeof(out), NULL, &full, 0) == 1000)
		got++;
	assert_true(got >= 3 && got <= 4);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_RCVBUF_FULL], 10 - got);
	/* Reading made room again. */
	inject_udp(h, 1000, H_STACK_IP, 7, text);
	assert_int_equal(udp_recvfrom(u, out, sizeof(out), NULL, &full, 0), 1000);
	udp_close(u);
	h_free(h);
}

static void test_udp_wakeup_on_data(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);
	struct sock_wakeup w = { .fn = count_wakeup };

	(void)state;
	wakeups = 0;
	udp_set_wakeup(u, &w);
	inject_udp(h, 1000, H_STACK_IP, 7, "a");
	assert_int_equal(wakeups, 1);
	inject_udp(h, 1000, H_STACK_IP, 7, "b");
	assert_int_equal(wakeups, 2);
	/* Nothing for a datagram to another port. */
	inject_udp(h, 1000, H_STACK_IP, 8, "c");
	assert_int_equal(wakeups, 2);
	h_drain_tx(h);
	udp_close(u);
	h_free(h);
}

/* The stack closes with sockets still open (the shim's teardown order):
 * their queues are freed, and closing them afterwards is safe. */
static void test_udp_socket_outlives_stack(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 0, 7, 0);

	(void)state;
	inject_udp(h, 1000, H_STACK_IP, 7, "left behind");
	h_free(h);
	udp_close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_demux_exact_address_beats_wildcard),
		cmocka_unit_test(test_udp_demux_connected_beats_unconnected),
		cmocka_unit_test(test_udp_disconnect_lets_go_of_picked_port),
		cmocka_unit_test(test_udp_broadcast_to_all),
		cmocka_unit_test(test_udp_multicast),
		cmocka_unit_test(test_udp_pmtudisc),
		cmocka_unit_test(test_udp_dontroute),
		cmocka_unit_test(test_udp_nonlocal_bind),
		cmocka_unit_test(test_udp_nonlocal_bind_sysctl),
		cmocka_unit_test(test_udp_bound_group_sends_from_ours),
		cmocka_unit_test(test_udp_checksum_rules),
		cmocka_unit_test(test_udp_length_rules),
		cmocka_unit_test(test_udp_send_checksum),
		cmocka_unit_test(test_udp_bind_rules),
		cmocka_unit_test(test_udp_ephemeral_ports),
		cmocka_unit_test(test_udp_send_errors),
		cmocka_unit_test(test_udp_connected_econnrefused),
		cmocka_unit_test(test_udp_peek_and_truncation),
		cmocka_unit_test(test_udp_rcvbuf_bound),
		cmocka_unit_test(test_udp_socket_filter),
		cmocka_unit_test(test_udp_msfilter),
		cmocka_unit_test(test_udp_wakeup_on_data),
		cmocka_unit_test(test_udp_socket_outlives_stack),
		cmocka_unit_test(test_udp_recverr_queue),
		cmocka_unit_test(test_udp_per_message_options),
	};
	return cmocka_run_group_tests_name("udp", tests, NULL, NULL);
}
