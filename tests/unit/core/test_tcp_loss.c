/* Loss recovery measured: one pstack sends to another through the stack's
 * own fault link (stack/dev/fault.c, what PSTACK_FAULTS configures) with a
 * fixed seed, so every run is the same run. Every byte must arrive intact,
 * and the sender must not resend much more than the link lost: issue 12's
 * measurement (8 MiB under 3% loss resent 888 segments for about 180 lost)
 * becomes an assertion, retransmitted bytes / lost bytes <= 1.3.
 *
 * The sender's frames go through a counting hook before the fault link, and
 * the ones that survive it are counted again on their way to the receiver:
 * the difference is exactly what the link lost (no duplication or corruption
 * in this link, so every frame the link passes arrives once, intact). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/arp.h"
#include "stack/core/pkb.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/dev/fault.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "tests/unit/support/harness.h"

/* TCP payload bytes in an Ethernet frame (0 for anything else). */
static size_t tcp_payload(const uint8_t *f, size_t len)
{
	struct eth_hdr e;
	struct ip4_hdr ih;
	struct tcp_seg g;

	if (eth_hdr_parse(f, len, &e) != WIRE_OK || e.type != ETH_TYPE_IP4 ||
	    ip4_hdr_parse(f + ETH_HLEN, len - ETH_HLEN, &ih) != WIRE_OK || ih.proto != IP_PROTO_TCP)
		return 0;
	if (tcp_seg_parse(f + ETH_HLEN + ih.ihl, (size_t)ih.total_len - ih.ihl, ih.src, ih.dst, &g) != WIRE_OK)
		return 0;
	return g.len;
}

struct meter {
	struct harness *h;
	uint64_t emitted;       /* payload bytes the sender's TCP handed to its link */
	uint64_t passed;        /* of those, what the fault link let through */
};

/* The sender's output: counted, then through the fault link as usual. */
static int count_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct meter *m = ctx;
	struct harness *h = m->h;
	int rc;

	m->emitted += tcp_payload(pkb->data, pkb->len);
	rc = h->dev->ops->transmit(h->dev, pkb->data, pkb->len, pkb->gso_size, now);
	pkb_free(pkb);
	netdev_count_drops(h->dev, h->s);
	return rc;
}

static void shuttle(struct harness *from, struct harness *to, uint64_t *count)
{
	struct h_frame *f;

	while ((f = h_pop_tx(from))) {
		if (count)
			*count += tcp_payload(f->data, f->len);
		h_inject(to, f->data, f->len);
		free(f);
	}
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 11);
}

struct result {
	uint64_t emitted, lost, retransmitted;
	uint64_t ms;
};

/* a sends n bytes to b; a's link loses and reorders (both directions). */
static void transfer(const struct fault_config *faults, size_t n, struct result *res)
{
	struct stack_config cfg;
	struct harness *a, *b;
	struct meter m = { 0 };
	struct tcp_conn *lis, *srv = NULL, *cli;
	struct ip4_endpoint ep = { 0, 9000 }, peer = { H_PEER_IP, 9000 };
	static uint8_t buf[65536];
	size_t sent = 0, got = 0;
	bool cli_closed = false, srv_closed = false;
	uint64_t steps = 0;
	int err;

	config_defaults(&cfg);
	for (int i = 0; i < 16; i++)
		cfg.secret[i] = (uint8_t)(i * 7 + 1);
	a = h_new_faulty(&cfg, faults, false);
	config_defaults(&cfg);
	cfg.addr = H_PEER_IP;
	cfg.gateway = 0;
	memcpy(cfg.mac, h_peer_mac, 6);
	for (int i = 0; i < 16; i++)
		cfg.secret[i] = (uint8_t)(i * 11 + 3);
	b = h_new(&cfg, false);
	m.h = a;
	h_set_output(a, count_output, &m);
	arp_insert(a->s, H_PEER_IP, h_peer_mac, a->now);
	arp_insert(b->s, H_STACK_IP, h_stack_mac, b->now);

	lis = tcp_open(b->s);
	assert_int_equal(tcp_bind(lis, &ep, 0), 0);
	assert_int_equal(tcp_listen(lis, 4), 0);
	cli = tcp_open(a->s);
	assert_int_equal(tcp_connect(cli, &peer, a->now), -EINPROGRESS);
	while (!(cli_closed && srv_closed)) {
		long r;

		assert_true(++steps < 2000000);
		shuttle(a, b, &m.passed);
		shuttle(b, a, NULL);
		h_advance(a, 1000);
		h_advance(b, 1000);
		arp_insert(a->s, H_PEER_IP, h_peer_mac, a->now);
		arp_insert(b->s, H_STACK_IP, h_stack_mac, b->now);
		if (!srv && (srv = tcp_accept(lis, &err)))
			tcp_close(lis, b->now);
		if (!cli_closed && tcp_get_state(cli) == TCP_STATE_ESTABLISHED) {
			while (sent < n) {
				size_t k = n - sent < sizeof(buf) ? n - sent : sizeof(buf);

				for (size_t i = 0; i < k; i++)
					buf[i] = pattern(sent + i);
				r = tcp_send(cli, buf, k, a->now);
				if (r <= 0)
					break;
				sent += (size_t)r;
			}
			if (sent == n) {
				tcp_close(cli, a->now);
				cli_closed = true;
			}
		}
		if (!srv)
			continue;
		while (!srv_closed && (r = tcp_recv(srv, buf, sizeof(buf), 0, b->now)) >= 0) {
			if (r == 0) {
				tcp_close(srv, b->now);
				srv_closed = true;
				break;
			}
			for (long i = 0; i < r; i++)
				if (buf[i] != pattern(got + (size_t)i))
					fail_msg("byte %zu differs", got + (size_t)i);
			got += (size_t)r;
		}
	}
	assert_int_equal(got, n);
	res->ms = steps;
	/* every retransmission and the closing handshake finish, the link drains */
	for (int i = 0; i < 200 && (tcp_conn_count(a->s) || tcp_conn_count(b->s)); i++) {
		shuttle(a, b, &m.passed);
		shuttle(b, a, NULL);
		h_advance(a, 1000000);
		h_advance(b, 1000000);
		arp_insert(a->s, H_PEER_IP, h_peer_mac, a->now);
		arp_insert(b->s, H_STACK_IP, h_stack_mac, b->now);
	}
	shuttle(a, b, &m.passed);
	assert_int_equal(tcp_conn_count(a->s), 0);
	assert_int_equal(tcp_conn_count(b->s), 0);
	res->emitted = m.emitted;
	res->retransmitted = m.emitted - n;
	res->lost = m.emitted - m.passed;
	h_free(a);
	h_free(b);
}

static void report(const char *what, const struct fault_config *f, size_t n, const struct result *r)
{
	printf("%s: %zu bytes, loss %u ppm, reorder %u ppm, seed %llu: %llu ms, lost %llu bytes, "
	       "retransmitted %llu bytes, ratio %.3f\n", what, n, f->loss_ppm, f->reorder_ppm,
	       (unsigned long long)f->seed, (unsigned long long)r->ms, (unsigned long long)r->lost,
	       (unsigned long long)r->retransmitted, r->lost ? (double)r->retransmitted / (double)r->lost : 0.0);
}

/* Issue 12's measurement: 8 MiB under 3% loss each way, with 2% or 10%
 * reordering and 1 or 10 ms of delay each way, six seeds each. Each run and
 * the whole must resend at most 1.3 times what the link lost. (Before RACK,
 * PRR and the fixes of issue 12 this link took 1.21 to 1.59, 1.35 overall.) */
static void test_retransmissions_near_losses(void **state)
{
	static const uint32_t reorder[] = { 20000, 100000 }, delay[] = { 1000, 10000 };
	uint64_t lost = 0, retransmitted = 0;
	size_t n = 8u << 20;

	(void)state;
	for (unsigned r = 0; r < 2; r++) {
		for (unsigned d = 0; d < 2; d++) {
			for (uint64_t seed = 1; seed <= 6; seed++) {
				struct fault_config f = { .loss_ppm = 30000, .reorder_ppm = reorder[r],
							  .delay_us = delay[d], .seed = seed, .enabled = 1 };
				struct result res;

				transfer(&f, n, &res);
				if (getenv("TCP_LOSS_VERBOSE"))
					report("3% loss", &f, n, &res);
				assert_true(res.lost > 0);
				assert_true(res.retransmitted * 10 <= res.lost * 13);
				lost += res.lost;
				retransmitted += res.retransmitted;
			}
		}
	}
	printf("3%% loss, 24 runs of %zu bytes: lost %llu bytes, retransmitted %llu bytes, ratio %.3f\n", n,
	       (unsigned long long)lost, (unsigned long long)retransmitted, (double)retransmitted / (double)lost);
	assert_true(retransmitted * 10 <= lost * 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retransmissions_near_losses),
	};
	return cmocka_run_group_tests_name("tcp_loss", tests, NULL, NULL);
}
