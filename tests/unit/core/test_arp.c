/* ARP (RFC 826): answers, the merge rule, validation, resolution with retries,
 * the waiting queue, aging, eviction, broadcasts and the gratuitous ARP. */
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
#include "stack/core/ip4.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static const uint8_t zero_mac[6];
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x07 };
#define OTHER_IP IP4(192, 0, 2, 7)

/* Sends a 4-byte IP payload (protocol 253, for experiments) carrying marker. */
static int send_ip(struct harness *h, uint32_t dst, uint8_t marker)
{
	struct pkb *p = pkb_alloc(4);
	struct ip4_tx tx = { .dst = dst, .proto = 253 };
	uint8_t *d = pkb_put(p, 4);

	memset(d, marker, 4);
	return ip4_output(h->s, p, &tx, h->now);
}

/* Asserts f is an ARP request from us for tpa, broadcast. */
static void expect_request(struct h_frame *f, uint32_t tpa)
{
	assert_non_null(f);
	assert_int_equal(f->len, ETH_HLEN + 28);
	assert_memory_equal(f->data, eth_broadcast, 6);
	assert_memory_equal(f->data + 6, h_stack_mac, 6);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_ARP);
	assert_int_equal(rd16(f->data + 14 + 6), 1);
	assert_memory_equal(f->data + 14 + 8, h_stack_mac, 6);
	assert_int_equal(rd32(f->data + 14 + 14), H_STACK_IP);
	assert_int_equal(rd32(f->data + 14 + 24), tpa);
	free(f);
}

/* At start (the runner's stack_resolve_gateway) the gateway is asked for
 * once; a packet for it then waits behind that request instead of asking
 * again, and leaves with the reply. Nothing is asked a second time. */
static void test_arp_gateway_resolved_at_start(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	struct h_frame *f;
	size_t n;

	(void)state;
	stack_resolve_gateway(h->s, h->now);
	expect_request(h_pop_tx(h), H_PEER_IP);
	assert_null(h_pop_tx(h));
	assert_int_equal(send_ip(h, H_PEER_IP, 0x42), 0);
	assert_null(h_pop_tx(h));
	stack_resolve_gateway(h->s, h->now);         /* already asked: nothing */
	assert_null(h_pop_tx(h));
	n = h_build_arp(buf, 2, h_stack_mac, h_peer_mac, H_PEER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_memory_equal(f->data, h_peer_mac, 6);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_IP4);
	free(f);
	assert_null(h_pop_tx(h));
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), 0);
	stack_resolve_gateway(h->s, h->now);         /* known: nothing */
	assert_null(h_pop_tx(h));
	h_free(h);
}

static void test_arp_request_answered_exact_bytes(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64];
	uint8_t mac[6];
	static const uint8_t want[42] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  /* to the asker */
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01,  /* from us */
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 192, 0, 2, 2,   /* sender: us */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192, 0, 2, 1,   /* target: the asker */
	};
	struct h_frame *f;
	size_t n;

	(void)state;
	n = h_build_arp(buf, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	/* Ethernet pads short frames to 60 bytes; the padding is ignored. */
	memset(buf + n, 0, 60 - n);
	h_inject(h, buf, 60);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(f->len, sizeof(want));
	assert_memory_equal(f->data, want, sizeof(want));
	free(f);
	assert_null(h_pop_tx(h));
	/* RFC 826: the asker was added to the table. */
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), 0);
	assert_memory_equal(mac, h_peer_mac, 6);
	assert_int_equal(stack_stats(h->s)->arp_in, 1);
	assert_int_equal(stack_stats(h->s)->arp_out, 1 + 1);   /* the announcement, the reply */
	h_free(h);
}

static void test_arp_request_for_other_not_learned(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	size_t n;

	(void)state;
	n = h_build_arp(buf, 1, eth_broadcast, other_mac, OTHER_IP, zero_mac, IP4(192, 0, 2, 99));
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_NOT_FOR_US], 1);
	assert_int_equal(arp_lookup(h->s, OTHER_IP, mac), -ENOENT);
	h_free(h);
}

/* RFC 826 merge: a known sender's MAC is updated by any packet, even one
 * that is not for us. */
static void test_arp_merge_updates_known_sender(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	size_t n;

	(void)state;
	arp_insert(h->s, OTHER_IP, h_peer_mac, h->now);
	n = h_build_arp(buf, 1, eth_broadcast, other_mac, OTHER_IP, zero_mac, IP4(192, 0, 2, 99));
	h_inject(h, buf, n);
	assert_int_equal(arp_lookup(h->s, OTHER_IP, mac), 0);
	assert_memory_equal(mac, other_mac, 6);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_NOT_FOR_US], 0);
	assert_null(h_pop_tx(h));
	h_free(h);
}

/* A reply nobody asked for makes no entry (Linux's arp_process with
 * arp_accept=0); a request to us does (neigh_event_ns). (rawframes
 * arp_reply_unsolicited_then_echo.) */
static void test_arp_unsolicited_reply_not_learned(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	struct h_frame *f;
	size_t n;

	(void)state;
	n = h_build_arp(buf, 2, h_stack_mac, other_mac, OTHER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	assert_null(h_pop_tx(h));
	assert_int_equal(arp_lookup(h->s, OTHER_IP, mac), -ENOENT);
	/* Something for it now asks first. */
	assert_int_equal(send_ip(h, OTHER_IP, 0x43), 0);
	expect_request(h_pop_tx(h), OTHER_IP);
	assert_null(h_pop_tx(h));
	/* The answer to that request is taken. */
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_memory_equal(f->data, other_mac, 6);
	free(f);
	assert_int_equal(arp_lookup(h->s, OTHER_IP, mac), 0);
	h_free(h);
}

/* A probe (sender 0.0.0.0, RFC 5227) is answered but never learned. */
static void test_arp_probe_answered_not_learned(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	struct h_frame *f;
	size_t n;

	(void)state;
	n = h_build_arp(buf, 1, eth_broadcast, other_mac, 0, zero_mac, H_STACK_IP);
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(rd16(f->data + 14 + 6), 2);
	assert_memory_equal(f->data, other_mac, 6);
	free(f);
	assert_int_equal(arp_lookup(h->s, 0, mac), -ENOENT);
	h_free(h);
}

/* A request from a sender address no host has (ours, claimed by another
 * station; loopback; a group; the limited broadcast) is not answered:
 * Linux's arp_process answers only when the route in from the sender
 * exists (ip_route_input_noref). (rawframes arp_sender_is_subject,
 * arp_sender_loopback, arp_sender_multicast_ip.) */
static void test_arp_martian_sender_not_answered(void **state)
{
	static const uint32_t senders[] = { H_STACK_IP, IP4(127, 0, 0, 1), IP4(224, 0, 0, 9), 0xffffffffu };
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		n = h_build_arp(buf, 1, eth_broadcast, other_mac, senders[i], zero_mac, H_STACK_IP);
		h_inject(h, buf, n);
	}
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_BAD_SENDER], 4);
	h_free(h);
}

/* Hardware type 6 (IEEE 802) on an Ethernet is taken as Ethernet: Linux's
 * arp_process() answers such a request (with hardware type 1, its device's). */
static void test_arp_ieee802_htype_answered(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64];
	struct h_frame *f;
	size_t n;

	(void)state;
	n = h_build_arp(buf, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	buf[14 + 1] = 6;
	h_inject(h, buf, n);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(rd16(f->data + 14), 1);   /* Ethernet */
	assert_int_equal(rd16(f->data + 14 + 6), 2);
	assert_memory_equal(f->data, h_peer_mac, 6);
	free(f);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_UNSUPPORTED], 0);
	h_free(h);
}

static void test_arp_malformed_counted(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64];
	size_t n;

	(void)state;
	n = h_build_arp(buf, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, buf, n - 1);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_TRUNCATED], 1);

	buf[14 + 1] = 7;             /* htype 7 (ARCNET) */
	h_inject(h, buf, n);
	buf[14 + 1] = 1;
	buf[14 + 2] = 0x86;          /* ptype IPv6 */
	h_inject(h, buf, n);
	buf[14 + 2] = 0x08;
	buf[14 + 4] = 8;             /* hlen */
	h_inject(h, buf, n);
	buf[14 + 4] = 6;
	buf[14 + 5] = 16;            /* plen */
	h_inject(h, buf, n);
	buf[14 + 5] = 4;
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_UNSUPPORTED], 4);

	buf[14 + 7] = 3;             /* RARP request */
	h_inject(h, buf, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_BAD_OP], 1);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->arp_in, 6);

	/* The same packet made whole again is answered. */
	buf[14 + 7] = 1;
	h_inject(h, buf, n);
	assert_int_equal(h->tx_count, 1);
	h_free(h);
}

static void test_arp_gratuitous_at_start(void **state)
{
	struct harness *h = h_new(NULL, true);
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01,
		0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 192, 0, 2, 2,
		0, 0, 0, 0, 0, 0, 192, 0, 2, 2,
	};
	struct h_frame *f = h_pop_tx(h);

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->len, sizeof(want));
	assert_memory_equal(f->data, want, sizeof(want));
	free(f);
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->arp_out, 1);
	h_free(h);
}

static void test_arp_resolve_then_flush_in_order(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64];
	size_t n;

	(void)state;
	assert_int_equal(send_ip(h, OTHER_IP, 1), 0);
	assert_int_equal(send_ip(h, OTHER_IP, 2), 0);
	assert_int_equal(send_ip(h, OTHER_IP, 3), 0);
	/* One request, not one per packet. */
	expect_request(h_pop_tx(h), OTHER_IP);
	assert_null(h_pop_tx(h));

	n = h_build_arp(buf, 2, h_stack_mac, other_mac, OTHER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	for (uint8_t m = 1; m <= 3; m++) {
		struct h_frame *f = h_pop_tx(h);
		struct ip4_hdr ih;
		size_t plen;
		const uint8_t *p = h_tx_ip4(f, &ih, &plen);

		assert_memory_equal(f->data, other_mac, 6);
		assert_int_equal(ih.dst, OTHER_IP);
		assert_int_equal(plen, 4);
		assert_int_equal(p[0], m);
		free(f);
	}
	assert_null(h_pop_tx(h));
	/* Resolved now: the next one goes at once. */
	assert_int_equal(send_ip(h, OTHER_IP, 4), 0);
	assert_int_equal(h->tx_count, 1);
	h_free(h);
}

static void test_arp_retries_then_unresolved(void **state)
{
	struct harness *h = h_new(NULL, false);

	(void)state;
	assert_int_equal(send_ip(h, OTHER_IP, 1), 0);
	assert_int_equal(send_ip(h, OTHER_IP, 2), 0);
	expect_request(h_pop_tx(h), OTHER_IP);
	assert_int_equal(arp_poll_at(h->s), h->now + ARP_RETRY_US);
	h_advance(h, ARP_RETRY_US);
	expect_request(h_pop_tx(h), OTHER_IP);
	h_advance(h, ARP_RETRY_US);
	expect_request(h_pop_tx(h), OTHER_IP);
	assert_null(h_pop_tx(h));
	h_advance(h, ARP_RETRY_US - 1);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_UNRESOLVED], 0);
	assert_int_equal(pkb_live(), 2);
	h_advance(h, 1);
	/* ARP_MAX_REQUESTS sent, no answer: both waiting packets are dropped. */
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_UNRESOLVED], 2);
	assert_int_equal(pkb_live(), 0);
	assert_int_equal(stack_stats(h->s)->arp_out, 1 + ARP_MAX_REQUESTS);
	assert_int_equal(arp_poll_at(h->s), STACK_NEVER);
	h_free(h);
}

/* Sends an IP payload of len bytes (protocol 253) filled with marker. */
static int send_ip_len(struct harness *h, uint32_t dst, uint8_t marker, size_t len)
{
	struct pkb *p = pkb_alloc(len);
	struct ip4_tx tx = { .dst = dst, .proto = 253 };

	memset(pkb_put(p, len), marker, len);
	return ip4_output(h->s, p, &tx, h->now);
}

/* The queue of an unresolved address is bounded in bytes (Linux's
 * unres_qlen_bytes): the oldest packets make room for new ones, and what
 * is kept goes out in order once the address resolves. */
static void test_arp_queue_bound(void **state)
{
	struct harness *h = h_new(NULL, false);
	const size_t len = 1000, pkt = IP4_HLEN + len;
	const int keep = (int)(ARP_QUEUE_BYTES / pkt), sent = keep + 5;
	uint8_t buf[64];
	size_t n;

	(void)state;
	for (int i = 0; i < sent; i++)
		assert_int_equal(send_ip_len(h, OTHER_IP, (uint8_t)i, len), 0);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_QUEUE_FULL], sent - keep);
	expect_request(h_pop_tx(h), OTHER_IP);
	n = h_build_arp(buf, 2, h_stack_mac, other_mac, OTHER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	assert_int_equal(h->tx_count, keep);
	for (int i = sent - keep; i < sent; i++) {
		struct h_frame *f = h_pop_tx(h);

		assert_non_null(f);
		assert_int_equal(f->len, ETH_HLEN + pkt);
		assert_int_equal(f->data[ETH_HLEN + IP4_HLEN], (uint8_t)i);
		free(f);
	}
	h_free(h);
}

/* Issue 13: the first 65507-byte datagram (45 fragments), sent while ARP
 * resolves, waits whole and goes out when the reply comes. */
static void test_arp_queue_holds_largest_datagram(void **state)
{
	struct harness *h = h_new(NULL, false);
	static uint8_t big[UDP_MAX_PAYLOAD];
	struct ip4_endpoint peer = { OTHER_IP, 9 };
	struct udp_sock *u = udp_open(h->s);
	uint8_t buf[64];
	size_t n;

	(void)state;
	assert_int_equal(udp_sendto(u, big, sizeof(big), &peer, h->now), (long)sizeof(big));
	expect_request(h_pop_tx(h), OTHER_IP);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ARP_QUEUE_FULL], 0);
	n = h_build_arp(buf, 2, h_stack_mac, other_mac, OTHER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	assert_int_equal(h->tx_count, 45);
	h_drain_tx(h);
	udp_close(u);
	h_free(h);
}

static void test_arp_aging(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t mac[6];

	(void)state;
	h_learn_peer(h);
	h_advance(h, ARP_REACHABLE_US - 1);
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), 0);
	h_advance(h, 1);
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), -ENOENT);
	/* The next packet asks again. */
	assert_int_equal(send_ip(h, H_PEER_IP, 1), 0);
	expect_request(h_pop_tx(h), H_PEER_IP);
	h_free(h);
}

/* A request from a known neighbour confirms its entry (RFC 826 merge). */
static void test_arp_refreshed_by_traffic(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	size_t n;

	(void)state;
	h_learn_peer(h);
	h_advance(h, ARP_REACHABLE_US / 2);
	n = h_build_arp(buf, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, buf, n);
	h_drain_tx(h);
	h_advance(h, ARP_REACHABLE_US / 2 + 1000);
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), 0);
	h_advance(h, ARP_REACHABLE_US / 2);
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), -ENOENT);
	h_free(h);
}

/* An entry in use is confirmed by a unicast request before it expires, so a
 * busy flow never waits for a broadcast resolution. */
static void test_arp_unicast_refresh_before_expiry(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t buf[64], mac[6];
	struct h_frame *f;
	size_t n;

	(void)state;
	h_learn_peer(h);
	/* Young entry: no poll. */
	assert_int_equal(send_ip(h, H_PEER_IP, 1), 0);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);
	h_advance(h, ARP_REACHABLE_US - 4 * 1000000);
	assert_int_equal(send_ip(h, H_PEER_IP, 2), 0);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_ARP);
	assert_memory_equal(f->data, h_peer_mac, 6);        /* unicast */
	assert_int_equal(rd16(f->data + 14 + 6), 1);
	assert_int_equal(rd32(f->data + 14 + 24), H_PEER_IP);
	free(f);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_IP4);  /* and the packet, at once */
	assert_memory_equal(f->data, h_peer_mac, 6);
	free(f);
	/* One poll per ARP_RETRY_US, not one per packet. */
	assert_int_equal(send_ip(h, H_PEER_IP, 3), 0);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);
	/* The answer refreshes the entry. */
	n = h_build_arp(buf, 2, h_stack_mac, h_peer_mac, H_PEER_IP, h_stack_mac, H_STACK_IP);
	h_inject(h, buf, n);
	h_advance(h, 10 * 1000000);
	assert_int_equal(arp_lookup(h->s, H_PEER_IP, mac), 0);
	assert_int_equal(send_ip(h, H_PEER_IP, 4), 0);
	assert_int_equal(h->tx_count, 1);
	h_free(h);
}

static void test_arp_cache_bound_evicts_oldest(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t mac[6];

	(void)state;
	for (uint32_t i = 0; i < ARP_CACHE_SIZE; i++) {
		uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };

		arp_insert(h->s, IP4(10, 0, 0, 0) + i, m, h->now);
		h->now += 10;
	}
	arp_insert(h->s, IP4(10, 0, 9, 9), other_mac, h->now);
	assert_int_equal(arp_lookup(h->s, IP4(10, 0, 9, 9), mac), 0);
	assert_int_equal(arp_lookup(h->s, IP4(10, 0, 0, 0), mac), -ENOENT);
	for (uint32_t i = 1; i < ARP_CACHE_SIZE; i++)
		assert_int_equal(arp_lookup(h->s, IP4(10, 0, 0, 0) + i, mac), 0);
	h_free(h);
}

/* Broadcast destinations need no resolution. */
static void test_arp_broadcast_needs_no_arp(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint32_t dsts[2] = { 0xffffffffu, IP4(192, 0, 2, 255) };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct h_frame *f;
		struct ip4_hdr ih;
		size_t plen;

		assert_int_equal(send_ip(h, dsts[i], 9), 0);
		f = h_pop_tx(h);
		h_tx_ip4(f, &ih, &plen);
		assert_memory_equal(f->data, eth_broadcast, 6);
		assert_int_equal(ih.dst, dsts[i]);
		free(f);
	}
	assert_null(h_pop_tx(h));
	assert_int_equal(stack_stats(h->s)->arp_out, 1);   /* only the announcement */
	h_free(h);
}

/* Like Linux, a failed resolution reports host unreachable to the sender:
 * a connecting TCP socket fails with EHOSTUNREACH; UDP treats it as soft. */
static void test_arp_failure_reports_host_unreachable(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct tcp_conn *c = tcp_open(h->s);
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint to = { OTHER_IP, 80 }, uto = { OTHER_IP, 53 };

	(void)state;
	assert_non_null(c);
	assert_int_equal(tcp_connect(c, &to, h->now), -EINPROGRESS);
	assert_int_equal(udp_connect(u, &uto), 0);
	assert_int_equal(udp_sendto(u, "q", 1, NULL, h->now), 1);
	h_advance(h, ARP_MAX_REQUESTS * ARP_RETRY_US);
	assert_true(stack_stats(h->s)->drops[DROP_ARP_UNRESOLVED] >= 2);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(c), -EHOSTUNREACH);
	assert_int_equal(udp_poll(u) & SOCK_POLLERR, 0);
	tcp_close(c, h->now);
	udp_close(u);
	h_free(h);
}

/* The ARP cache handed to the next stack with the device (stack.h,
 * stack_arp_export/import): the gateway's entry comes with its age, so the
 * next stack's first packet leaves without a request and the entry ends
 * when it would have in the first stack; stale entries, our own address, a
 * group MAC and addresses off the link are not taken. */
static void test_arp_handed_over(void **state)
{
	struct harness *a = h_new(NULL, false), *b;
	struct stack_arp_rec rec[4], bad[4];
	uint8_t mac[6];
	struct h_frame *f;

	(void)state;
	h_learn_peer(a);
	h_advance(a, 10000000);
	assert_int_equal(stack_arp_export(a->s, rec, 4, a->now), 1);
	assert_int_equal(rec[0].ip, H_PEER_IP);
	assert_memory_equal(rec[0].mac, h_peer_mac, 6);
	assert_int_equal(rec[0].age_ms, 10000);
	assert_int_equal(stack_arp_export(a->s, NULL, 0, a->now), 1);   /* the count alone */

	b = h_new(NULL, false);
	h_advance(b, 20000000);                      /* its own clock, later than the age */
	stack_arp_import(b->s, rec, 1, b->now);
	stack_resolve_gateway(b->s, b->now);         /* known: nothing to ask */
	assert_null(h_pop_tx(b));
	assert_int_equal(send_ip(b, H_PEER_IP, 0x42), 0);
	f = h_pop_tx(b);
	assert_non_null(f);
	assert_memory_equal(f->data, h_peer_mac, 6);
	assert_int_equal(rd16(f->data + 12), ETH_TYPE_IP4);
	free(f);
	assert_null(h_pop_tx(b));
	/* Confirmed 10 s before the handover: it ends 50 s after it. */
	h_advance(b, 49999000);
	assert_int_equal(arp_lookup(b->s, H_PEER_IP, mac), 0);
	h_advance(b, 1000);
	assert_int_equal(arp_lookup(b->s, H_PEER_IP, mac), -ENOENT);
	h_free(b);

	b = h_new(NULL, false);
	for (int i = 0; i < 4; i++)
		bad[i] = rec[0];
	bad[0].age_ms = 60000;                       /* as old as an entry lives */
	bad[1].ip = H_STACK_IP;
	bad[2].mac[0] |= 1;                          /* a group address */
	bad[3].ip = IP4(198, 51, 100, 1);            /* not on the link */
	stack_arp_import(b->s, bad, 4, b->now);
	assert_int_equal(arp_lookup(b->s, H_PEER_IP, mac), -ENOENT);
	assert_int_equal(arp_lookup(b->s, IP4(198, 51, 100, 1), mac), -ENOENT);
	assert_int_equal(stack_arp_export(b->s, NULL, 0, b->now), 0);
	h_free(b);
	h_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_request_answered_exact_bytes),
		cmocka_unit_test(test_arp_gateway_resolved_at_start),
		cmocka_unit_test(test_arp_handed_over),
		cmocka_unit_test(test_arp_request_for_other_not_learned),
		cmocka_unit_test(test_arp_merge_updates_known_sender),
		cmocka_unit_test(test_arp_unsolicited_reply_not_learned),
		cmocka_unit_test(test_arp_probe_answered_not_learned),
		cmocka_unit_test(test_arp_malformed_counted),
		cmocka_unit_test(test_arp_ieee802_htype_answered),
		cmocka_unit_test(test_arp_gratuitous_at_start),
		cmocka_unit_test(test_arp_resolve_then_flush_in_order),
		cmocka_unit_test(test_arp_retries_then_unresolved),
		cmocka_unit_test(test_arp_queue_bound),
		cmocka_unit_test(test_arp_queue_holds_largest_datagram),
		cmocka_unit_test(test_arp_aging),
		cmocka_unit_test(test_arp_refreshed_by_traffic),
		cmocka_unit_test(test_arp_unicast_refresh_before_expiry),
		cmocka_unit_test(test_arp_cache_bound_evicts_oldest),
		cmocka_unit_test(test_arp_broadcast_needs_no_arp),
		cmocka_unit_test(test_arp_failure_reports_host_unreachable),
		cmocka_unit_test(test_arp_martian_sender_not_answered),
	};
	return cmocka_run_group_tests_name("arp", tests, NULL, NULL);
}
