/* Ethernet II framing: what is accepted, what is dropped and why, and the
 * header put on frames we send. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/eth.h"
#include "stack/core/ip4.h"
#include "stack/core/stack.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static const uint8_t zero_mac[6];

static void test_eth_truncated(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t f[13] = { 0 };

	(void)state;
	memcpy(f, h_stack_mac, 6);
	h_inject(h, f, sizeof(f));
	h_inject(h, f, 0);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ETH_TRUNCATED], 2);
	assert_int_equal(stack_stats(h->s)->frames_in, 2);
	h_free(h);
}

static void test_eth_not_for_us(void **state)
{
	struct harness *h = h_new(NULL, false);
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	static const uint8_t ip6_mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t f[64];
	size_t n;

	(void)state;
	n = h_build_arp(f, 1, other, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, f, n);
	n = h_build_arp(f, 1, ip6_mcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, f, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ETH_NOT_FOR_US], 2);
	assert_int_equal(stack_stats(h->s)->arp_in, 0);
	assert_null(h_pop_tx(h));
	/* The same request to our MAC and to broadcast is answered. */
	n = h_build_arp(f, 1, h_stack_mac, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, f, n);
	n = h_build_arp(f, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	h_inject(h, f, n);
	assert_int_equal(h->tx_count, 2);
	h_free(h);
}

/* f (n bytes, an Ethernet frame) with an 802.1Q tag of TPID tpid and TCI
 * tci put after its addresses; returns the new length. */
static size_t add_tag(uint8_t *f, size_t n, uint16_t tpid, uint16_t tci)
{
	memmove(f + 16, f + 12, n - 12);
	f[12] = (uint8_t)(tpid >> 8);
	f[13] = (uint8_t)tpid;
	f[14] = (uint8_t)(tci >> 8);
	f[15] = (uint8_t)tci;
	return n + 4;
}

/* This host is on no VLAN: a priority tag (VLAN id 0) is as if there were
 * none, one tag after another, and a tag for any other VLAN marks another
 * host's frame (Linux's __netif_receive_skb_core without a VLAN device;
 * rawframes eth_vlan_prio, eth_vlan_prio_arp, eth_vlan_tagged). */
static void test_eth_vlan_tags(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t f[128];
	size_t n;

	(void)state;
	n = h_build_arp(f, 1, eth_broadcast, h_peer_mac, H_PEER_IP, zero_mac, H_STACK_IP);
	n = add_tag(f, n, 0x8100, 0x6000);
	h_inject(h, f, n);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);
	n = h_build_icmp_echo(f, H_PEER_IP, H_STACK_IP, 1, 1, (const uint8_t *)"prio", 4);
	n = add_tag(f, n, 0x8100, 0);
	n = add_tag(f, n, 0x88a8, 0xe000);
	h_inject(h, f, n);
	assert_int_equal(h->tx_count, 1);
	h_drain_tx(h);
	/* VLAN 5, and VLAN 5 inside a priority tag. */
	n = h_build_icmp_echo(f, H_PEER_IP, H_STACK_IP, 1, 2, (const uint8_t *)"vlan", 4);
	n = add_tag(f, n, 0x8100, 5);
	h_inject(h, f, n);
	n = add_tag(f, n, 0x8100, 0);
	h_inject(h, f, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ETH_OTHER_VLAN], 2);
	/* A tag cut short. */
	h_inject(h, f, 16);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ETH_TRUNCATED], 1);
	assert_null(h_pop_tx(h));
	h_free(h);
}

static void test_eth_unknown_type(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint8_t payload[40] = { 0x60 };
	uint8_t f[64];
	size_t n;

	(void)state;
	n = h_build_eth(f, h_stack_mac, h_peer_mac, ETH_TYPE_IP6, payload, sizeof(payload));
	h_inject(h, f, n);
	n = h_build_eth(f, h_stack_mac, h_peer_mac, 0x8100, payload, sizeof(payload));   /* 802.1Q */
	h_inject(h, f, n);
	assert_int_equal(stack_stats(h->s)->drops[DROP_ETH_UNKNOWN_TYPE], 2);
	assert_int_equal(stack_stats(h->s)->ip_in, 0);
	h_free(h);
}

static void test_eth_output_header(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct pkb *p = pkb_alloc(4);
	struct h_frame *f;
	uint64_t out0 = stack_stats(h->s)->frames_out;

	(void)state;
	memcpy(pkb_put(p, 4), "\xde\xad\xbe\xef", 4);
	assert_int_equal(eth_output(h->s, p, h_peer_mac, 0x88b5, h->now), 0);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_int_equal(f->len, ETH_HLEN + 4);
	assert_memory_equal(f->data, h_peer_mac, 6);
	assert_memory_equal(f->data + 6, h_stack_mac, 6);
	assert_int_equal(rd16(f->data + 12), 0x88b5);
	assert_memory_equal(f->data + 14, "\xde\xad\xbe\xef", 4);
	free(f);
	assert_int_equal(stack_stats(h->s)->frames_out, out0 + 1);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_truncated),
		cmocka_unit_test(test_eth_not_for_us),
		cmocka_unit_test(test_eth_unknown_type),
		cmocka_unit_test(test_eth_vlan_tags),
		cmocka_unit_test(test_eth_output_header),
	};
	return cmocka_run_group_tests_name("eth", tests, NULL, NULL);
}
