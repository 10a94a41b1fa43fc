/*
 * IP_BIND_ADDRESS_NO_PORT, as Linux 6.18 has it: bind() to port 0 takes
 * the address only (__inet_bind leaves get_port out), so the socket holds
 * no port, shows port 0, and may bind() again (the double-bind check is on
 * the port). connect() then picks the port by the 4-tuple from the bound
 * address (__inet_hash_connect: a port connect() picked is shared with
 * connections to other destinations, one bind() or listen() holds is
 * not); listen() picks an ephemeral port on the address
 * (inet_csk_get_port with 0); UDP's first send or connect() does
 * (inet_autobind).
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

#define ONE_PORT 0xdead

/* IP_LOCAL_PORT_RANGE's value of a one-port range. */
static int one_port(uint16_t p)
{
	return (int)((uint32_t)p << 16 | p);
}

/* A TCP socket with the option set (and a one-port range when port). */
static struct tcp_conn *no_port_sock(struct stack *s, uint16_t port)
{
	struct tcp_conn *c = tcp_open(s);

	assert_non_null(c);
	assert_int_equal(tcp_setopt(c, TCP_OPT_BIND_NO_PORT, 1), 0);
	if (port)
		assert_int_equal(tcp_setopt(c, TCP_OPT_PORT_RANGE, one_port(port)), 0);
	return c;
}

/* bind() to port 0 with the option: the address, port 0, no port held
 * (another socket's bind() to port 0 in the same one-port range gets it),
 * and bind() may come again; once a port is bound, EINVAL. */
static void test_tcp_bind_takes_address_only(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint addr = { H_STACK_IP, 0 }, any = { 0, 0 }, named = { H_STACK_IP, 5555 };
	struct tcp_conn *a = no_port_sock(h->s, ONE_PORT), *b = tcp_open(h->s);
	struct ip4_endpoint name;

	(void)state;
	assert_int_equal(tcp_bind(a, &addr, 0), 0);
	tcp_local(a, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_int_equal(name.port, 0);
	assert_false(a->pcb.in_bind);
	/* The port the range allows is free for another socket. */
	assert_int_equal(tcp_setopt(b, TCP_OPT_PORT_RANGE, one_port(ONE_PORT)), 0);
	assert_int_equal(tcp_bind(b, &addr, 0), 0);
	assert_int_equal(b->pcb.local.port, ONE_PORT);
	/* Again: another address (any), then a port. */
	assert_int_equal(tcp_bind(a, &any, 0), 0);
	tcp_local(a, &name);
	assert_int_equal(name.addr, 0);
	assert_int_equal(name.port, 0);
	assert_int_equal(tcp_bind(a, &named, 0), 0);
	tcp_local(a, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_int_equal(name.port, 5555);
	assert_int_equal(tcp_bind(a, &addr, 0), -EINVAL);
	tcp_close(a, h->now);
	tcp_close(b, h->now);
	h_free(h);
}

/* Without the option bind() to port 0 takes a port at once (the one
 * the range allows: another socket's bind() finds it taken). */
static void test_tcp_bind_without_option_takes_port(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint addr = { H_STACK_IP, 0 };
	struct tcp_conn *a = tcp_open(h->s), *b = tcp_open(h->s);

	(void)state;
	assert_int_equal(tcp_setopt(a, TCP_OPT_PORT_RANGE, one_port(ONE_PORT)), 0);
	assert_int_equal(tcp_bind(a, &addr, 0), 0);
	assert_int_equal(a->pcb.local.port, ONE_PORT);
	assert_int_equal(tcp_setopt(b, TCP_OPT_PORT_RANGE, one_port(ONE_PORT)), 0);
	assert_int_equal(tcp_bind(b, &addr, 0), -EADDRINUSE);
	assert_int_equal(tcp_bind(a, &addr, 0), -EINVAL);
	tcp_close(a, h->now);
	tcp_close(b, h->now);
	h_free(h);
}

/* The address is checked as for any bind(): one not ours is
 * EADDRNOTAVAIL, and the socket keeps none. A bind() that fails for its
 * port lets go of the address the option's bind() gave (Linux's
 * __inet_bind clears inet_rcv_saddr when get_port fails). */
static void test_tcp_bind_address_checked(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint other = { H_PEER_IP, 0 }, addr = { H_STACK_IP, 0 }, taken = { H_STACK_IP, 7000 };
	struct tcp_conn *a = no_port_sock(h->s, 0), *b = tcp_open(h->s);

	(void)state;
	assert_int_equal(tcp_bind(a, &other, 0), -EADDRNOTAVAIL);
	assert_int_equal(a->pcb.local.addr, 0);
	assert_int_equal(tcp_bind(b, &taken, 0), 0);
	assert_int_equal(tcp_bind(a, &addr, 0), 0);
	assert_int_equal(a->pcb.local.addr, H_STACK_IP);
	assert_int_equal(tcp_bind(a, &taken, 0), -EADDRINUSE);
	assert_int_equal(a->pcb.local.addr, 0);
	assert_int_equal(a->pcb.local.port, 0);
	tcp_close(a, h->now);
	tcp_close(b, h->now);
	h_free(h);
}

/* A socket bound to our address with the option connecting to peer_port. */
static struct tcp_conn *bound_connect(struct tscript *t, uint16_t range_port, uint16_t peer_port, int *err)
{
	struct ip4_endpoint addr = { H_STACK_IP, 0 }, peer = { H_PEER_IP, peer_port };
	struct tcp_conn *c = no_port_sock(t->h->s, range_port);

	assert_int_equal(tcp_bind(c, &addr, 0), 0);
	*err = tcp_connect(c, &peer, t->h->now);
	return c;
}

/* connect() picks the port then, from the bound address, and the SYN
 * leaves from there. */
static void test_tcp_connect_picks_port(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	struct ip4_endpoint name;
	int err;

	(void)state;
	c = bound_connect(t, 0, TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	tcp_local(c, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_true(name.port >= 32768 && name.port <= 60999);
	assert_true(c->pcb.in_bind);
	h_drain_tx(t->h);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* Two sockets bound to the same address with the option, in a one-port
 * range: both connect from that port to different peers (the 4-tuples
 * differ, and the port's holder got it from connect()); a third to a
 * peer one of them has finds no port (EADDRNOTAVAIL). */
static void test_tcp_two_sockets_share_port(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *a, *b, *c;
	int err;

	(void)state;
	a = bound_connect(t, ONE_PORT, TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(a->pcb.local.port, ONE_PORT);
	b = bound_connect(t, ONE_PORT, TS_PEER_PORT + 1, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(b->pcb.local.port, ONE_PORT);
	c = bound_connect(t, ONE_PORT, TS_PEER_PORT, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	/* The failed connect() leaves the bound address (SOCK_BINDADDR_LOCK). */
	assert_int_equal(c->pcb.local.addr, H_STACK_IP);
	assert_int_equal(c->pcb.local.port, 0);
	h_drain_tx(t->h);
	tcp_close(a, t->h->now);
	tcp_close(b, t->h->now);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* A port a bind() took is not shared by connect()'s search though its
 * holder connected to another peer (Linux's bind bucket with fastreuse
 * set: __inet_hash_connect skips it); once that holder is gone, the port
 * is connect()'s again. */
static void test_tcp_connect_skips_port_bind_took(void **state)
{
	struct tscript *t = ts_new(100);
	struct ip4_endpoint addr = { H_STACK_IP, 0 }, peer = { H_PEER_IP, TS_PEER_PORT + 1 };
	struct tcp_conn *a = tcp_open(t->h->s), *b, *c;
	int err;

	(void)state;
	assert_int_equal(tcp_setopt(a, TCP_OPT_PORT_RANGE, one_port(ONE_PORT)), 0);
	assert_int_equal(tcp_bind(a, &addr, 0), 0);
	assert_int_equal(a->pcb.local.port, ONE_PORT);
	assert_int_equal(tcp_connect(a, &peer, t->h->now), -EINPROGRESS);
	b = bound_connect(t, ONE_PORT, TS_PEER_PORT, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	h_drain_tx(t->h);
	/* a goes (close() of a connection in SYN_SENT: no wait). */
	assert_int_equal(tcp_setopt(a, TCP_OPT_LINGER, 0), 0);
	tcp_close(a, t->h->now);
	h_drain_tx(t->h);
	c = bound_connect(t, ONE_PORT, TS_PEER_PORT, &err);
	assert_int_equal(err, -EINPROGRESS);
	assert_int_equal(c->pcb.local.port, ONE_PORT);
	h_drain_tx(t->h);
	tcp_close(b, t->h->now);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	ts_free(t);
}

/* listen() picks an ephemeral port on the bound address (a one-port
 * range: that port). */
static void test_tcp_listen_picks_port(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint addr = { H_STACK_IP, 0 };
	struct tcp_conn *l = no_port_sock(h->s, 50000);

	(void)state;
	assert_int_equal(tcp_bind(l, &addr, 0), 0);
	assert_int_equal(tcp_listen(l, 5), 0);
	assert_int_equal(l->pcb.local.addr, H_STACK_IP);
	assert_int_equal(l->pcb.local.port, 50000);
	assert_int_equal(tcp_bind(l, &addr, 0), -EINVAL);
	tcp_close(l, h->now);
	h_free(h);
}

/* UDP: bind() to port 0 takes the address only (nothing is heard on a
 * port), bind() may come again, and the first send picks the port on the
 * address; connect() too. */
static void test_udp_port_at_first_send(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct ip4_endpoint addr = { H_STACK_IP, 0 }, peer = { H_PEER_IP, 53 }, name;
	struct udp_sock *a = udp_open(h->s), *b = udp_open(h->s), *c = udp_open(h->s);

	(void)state;
	udp_set_bind_no_port(a, true);
	udp_set_port_range(a, (uint32_t)one_port(41000));
	assert_int_equal(udp_bind(a, &addr, 0), 0);
	udp_local(a, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_int_equal(name.port, 0);
	assert_int_equal(udp_bind(a, &addr, 0), 0);
	/* No port held: another socket's bind() in the range gets it. */
	udp_set_port_range(b, (uint32_t)one_port(41000));
	assert_int_equal(udp_bind(b, &addr, 0), 0);
	udp_local(b, &name);
	assert_int_equal(name.port, 41000);
	udp_close(b);
	assert_int_equal(udp_sendto(a, "x", 1, &peer, h->now), 1);
	udp_local(a, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_int_equal(name.port, 41000);
	assert_int_equal(udp_bind(a, &addr, 0), -EINVAL);
	/* connect()'s autobind. */
	udp_set_bind_no_port(c, true);
	assert_int_equal(udp_bind(c, &addr, 0), 0);
	assert_int_equal(udp_connect(c, &peer), 0);
	udp_local(c, &name);
	assert_int_equal(name.addr, H_STACK_IP);
	assert_true(name.port >= 32768 && name.port <= 60999);
	udp_close(a);
	udp_close(c);
	h_drain_tx(h);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_bind_takes_address_only),
		cmocka_unit_test(test_tcp_bind_without_option_takes_port),
		cmocka_unit_test(test_tcp_bind_address_checked),
		cmocka_unit_test(test_tcp_connect_picks_port),
		cmocka_unit_test(test_tcp_two_sockets_share_port),
		cmocka_unit_test(test_tcp_connect_skips_port_bind_took),
		cmocka_unit_test(test_tcp_listen_picks_port),
		cmocka_unit_test(test_udp_port_at_first_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
