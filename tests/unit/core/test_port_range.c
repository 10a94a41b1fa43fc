/*
 * The ports the stack picks: the namespace's net.ipv4.ip_local_port_range
 * (stack_config's ip_local_port_lo/hi) narrowed per socket by
 * IP_LOCAL_PORT_RANGE, as Linux's inet_sk_get_local_port_range: each bound
 * of the socket's range counts only when it lies within the namespace's.
 * Used by connect() (RFC 6056's Algorithm 3, Linux's __inet_hash_connect),
 * bind() to port 0 (Linux's inet_csk_find_open_port) and UDP's bind() to
 * port 0 and autobind (udp_lib_get_port). A one-port range gives that port
 * or nothing, as google/packetdrill's ts_recent/tw_reuse scripts rely on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/inpcb.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/core/udp.h"
#include "tests/unit/support/harness.h"
#include "tests/unit/support/tcp_script.h"

/* IP_LOCAL_PORT_RANGE's value: the high port in the upper 16 bits. */
static uint32_t range_of(uint16_t lo, uint16_t hi)
{
	return (uint32_t)hi << 16 | lo;
}

/* The bounds inpcb_port_range gives a socket with range r in h's stack. */
static void bounds(struct harness *h, uint32_t r, uint16_t *lo, uint16_t *hi)
{
	struct inpcb p;

	memset(&p, 0, sizeof(p));
	p.port_range = r;
	(void)inpcb_port_range(&h->s->tcp->pcbs, &p, lo, hi);
}

/* Drops whatever the stack sent (SYNs of connections the test ends,
 * from ports the script does not follow). */
static void drain(struct tscript *t)
{
	h_drain_tx(t->h);
}

/* A connect() to the peer's port rport from a socket with range r; its
 * result in *err, the connection (to close) returned. */
static struct tcp_conn *connect_with(struct tscript *t, uint32_t r, uint16_t rport, int *err)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint peer = { H_PEER_IP, rport };

	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_PORT_RANGE, (int)r), 0);
	*err = tcp_connect(c, &peer, t->h->now);
	return c;
}

/* The namespace's range alone without the option; with it, each of its
 * bounds that lies within the namespace's narrows it, one outside (or 0)
 * is ignored on its own (Linux's inet_sk_get_local_port_range). */
static void test_range_narrows_within_namespace(void **state)
{
	struct harness *h = h_new(NULL, false);
	uint16_t lo, hi;

	(void)state;
	assert_int_equal(h->s->cfg.ip_local_port_lo, 32768);
	assert_int_equal(h->s->cfg.ip_local_port_hi, 60999);
	bounds(h, 0, &lo, &hi);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 60999);
	bounds(h, range_of(40000, 40010), &lo, &hi);
	assert_int_equal(lo, 40000);
	assert_int_equal(hi, 40010);
	bounds(h, range_of(0xdead, 0xdead), &lo, &hi);
	assert_int_equal(lo, 0xdead);
	assert_int_equal(hi, 0xdead);
	/* Only the low bound, only the high one. */
	bounds(h, range_of(50000, 0), &lo, &hi);
	assert_int_equal(lo, 50000);
	assert_int_equal(hi, 60999);
	bounds(h, range_of(0, 33000), &lo, &hi);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 33000);
	/* A bound outside the namespace's range is ignored, the other kept. */
	bounds(h, range_of(1024, 40000), &lo, &hi);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 40000);
	bounds(h, range_of(40000, 65000), &lo, &hi);
	assert_int_equal(lo, 40000);
	assert_int_equal(hi, 60999);
	bounds(h, range_of(1024, 2048), &lo, &hi);
	assert_int_equal(lo, 32768);
	assert_int_equal(hi, 60999);
	/* The namespace's own range, narrower. */
	h->s->cfg.ip_local_port_lo = 20000;
	h->s->cfg.ip_local_port_hi = 20009;
	bounds(h, 0, &lo, &hi);
	assert_int_equal(lo, 20000);
	assert_int_equal(hi, 20009);
	bounds(h, range_of(20005, 30000), &lo, &hi);
	assert_int_equal(lo, 20005);
	assert_int_equal(hi, 20009);
	h_free(h);
}

/* connect() with a one-port range takes exactly that port; a second
 * connection to the same peer finds no port (EADDRNOTAVAIL), one to
 * another peer port shares it (its 4-tuple differs). */
static void test_connect_one_port_range(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *a, *b, *c;
	int err;

	(void)state;
	a = connect_with(t, range_of(0xdead, 0xdead), TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(a->pcb.local.port, 0xdead);
	b = connect_with(t, range_of(0xdead, 0xdead), TS_PEER_PORT, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	c = connect_with(t, range_of(0xdead, 0xdead), TS_PEER_PORT + 1, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(c->pcb.local.port, 0xdead);
	drain(t);
	tcp_close(a, t->h->now);
	tcp_close(b, t->h->now);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* connect()'s ports stay within a socket's range, each once per peer,
 * until none is left. */
static void test_connect_uses_every_port_of_range(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c[5];
	bool seen[4] = { false };
	int err;

	(void)state;
	for (int i = 0; i < 4; i++) {
		uint16_t p;

		c[i] = connect_with(t, range_of(40000, 40003), TS_PEER_PORT, &err);
		assert_int_equal(err, -EINPROGRESS);
		p = c[i]->pcb.local.port;
		assert_true(p >= 40000 && p <= 40003);
		assert_false(seen[p - 40000]);
		seen[p - 40000] = true;
	}
	c[4] = connect_with(t, range_of(40000, 40003), TS_PEER_PORT, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	drain(t);
	for (int i = 0; i < 5; i++)
		tcp_close(c[i], t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* Without the option, connect() picks from the namespace's range; a
 * socket range entirely outside it changes nothing. */
static void test_connect_namespace_range(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c[3];
	int err;

	(void)state;
	t->h->s->cfg.ip_local_port_lo = 45000;
	t->h->s->cfg.ip_local_port_hi = 45001;
	c[0] = connect_with(t, 0, TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	c[1] = connect_with(t, range_of(1000, 2000), TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_true(c[0]->pcb.local.port >= 45000 && c[0]->pcb.local.port <= 45001);
	assert_true(c[1]->pcb.local.port >= 45000 && c[1]->pcb.local.port <= 45001);
	assert_int_not_equal(c[0]->pcb.local.port, c[1]->pcb.local.port);
	c[2] = connect_with(t, 0, TS_PEER_PORT, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	drain(t);
	for (int i = 0; i < 3; i++)
		tcp_close(c[i], t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* bind() to port 0 (and listen() of an unbound socket) picks within the
 * range; with one port held, the next finds none (EADDRINUSE). */
static void test_tcp_bind_zero_within_range(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint any = { 0, 0 };
	struct tcp_conn *a = tcp_open(h->s), *b = tcp_open(h->s), *l = tcp_open(h->s);

	(void)state;
	assert_int_equal(tcp_setopt(a, TCP_OPT_PORT_RANGE, (int)range_of(50001, 50001)), 0);
	assert_int_equal(tcp_bind(a, &any, 0), 0);
	assert_int_equal(a->pcb.local.port, 50001);
	assert_int_equal(tcp_setopt(b, TCP_OPT_PORT_RANGE, (int)range_of(50001, 50001)), 0);
	assert_int_equal(tcp_bind(b, &any, 0), -EADDRINUSE);
	assert_int_equal(tcp_setopt(l, TCP_OPT_PORT_RANGE, (int)range_of(50000, 50001)), 0);
	assert_int_equal(tcp_listen(l, 5), 0);
	assert_int_equal(l->pcb.local.port, 50000);
	tcp_close(a, h->now);
	tcp_close(b, h->now);
	tcp_close(l, h->now);
	h_free(h);
}

/* UDP: bind() to port 0 and the autobind of connect() and of a first
 * send pick within the socket's range; a one-port range held by another
 * socket leaves none (EADDRINUSE, Linux's udp_lib_get_port). */
static void test_udp_ports_within_range(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint any = { 0, 0 }, peer = { H_PEER_IP, 53 };
	struct udp_sock *a = udp_open(h->s), *b = udp_open(h->s), *c = udp_open(h->s), *d = udp_open(h->s);
	struct ip4_endpoint name;

	(void)state;
	udp_set_port_range(a, range_of(41000, 41000));
	assert_int_equal(udp_bind(a, &any, 0), 0);
	udp_local(a, &name);
	assert_int_equal(name.port, 41000);
	udp_set_port_range(b, range_of(41000, 41000));
	assert_int_equal(udp_bind(b, &any, 0), -EADDRINUSE);
	udp_set_port_range(c, range_of(41000, 41001));
	assert_int_equal(udp_connect(c, &peer), 0);
	udp_local(c, &name);
	assert_int_equal(name.port, 41001);
	udp_set_port_range(d, range_of(42000, 42000));
	assert_int_equal(udp_sendto(d, "x", 1, &peer, h->now), 1);
	udp_local(d, &name);
	assert_int_equal(name.port, 42000);
	udp_close(a);
	udp_close(b);
	udp_close(c);
	udp_close(d);
	h_drain_tx(h);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_narrows_within_namespace),
		cmocka_unit_test(test_connect_one_port_range),
		cmocka_unit_test(test_connect_uses_every_port_of_range),
		cmocka_unit_test(test_connect_namespace_range),
		cmocka_unit_test(test_tcp_bind_zero_within_range),
		cmocka_unit_test(test_udp_ports_within_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
