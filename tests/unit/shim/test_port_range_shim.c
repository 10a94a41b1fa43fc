/*
 * IP_LOCAL_PORT_RANGE through the socket calls, as Linux 6.3+ has it
 * (ip_sockglue.c): a u32 at level SOL_IP, the low port in the low 16 bits,
 * the high port in the high 16; a length other than 4, or both ports set
 * with the low above the high, EINVAL; getsockopt() gives back what was
 * set. The ports connect(), bind() to port 0 and UDP's first send pick lie
 * in the namespace's range narrowed by it (inet_sk_get_local_port_range:
 * a bound outside the namespace's range is ignored). google/packetdrill's
 * ts_recent/tw_reuse scripts pin connect()'s port with [0xdead, 0xdead].
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/core/stack_priv.h"
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define SA(x) ((struct sockaddr *)&(x))

static struct tscript *T;

static int setup(void **state)
{
	struct shim_host host;

	(void)state;
	T = ts_new(1000);
	fh_setup(T->h, shim_wake_flush);
	fh_host(&host);
	fh_init_shim(&host, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fh_teardown();
	h_drain_tx(T->h);
	h_free(T->h);
	free(T);
	return 0;
}

static uint32_t range_of(uint16_t lo, uint16_t hi)
{
	return (uint32_t)hi << 16 | lo;
}

static int set_range(int fd, uint32_t r)
{
	return shim_setsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &r, sizeof(r));
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);

	assert_int_equal(shim_getsockname(fd, SA(me), &len), 0);
	return ntohs(me.sin_port);
}

static struct sockaddr_in peer_addr(uint16_t port)
{
	struct sockaddr_in p = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(H_PEER_IP) };

	return p;
}

/* The option's checks and getsockopt()'s answer: what was set, 0 at first. */
static void test_setsockopt_checks_and_getsockopt(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	uint32_t v = 1;
	uint16_t half = 1;
	uint64_t wide = 0;
	socklen_t len = sizeof(v);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, 0);
	assert_int_equal(set_range(fd, range_of(0xdead, 0xdead)), 0);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, 0xdeaddead);
	/* The low above the high: refused, the value kept. */
	assert_int_equal(set_range(fd, range_of(50000, 40000)), -EINVAL);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, 0xdeaddead);
	/* One bound alone is taken, whatever it is. */
	assert_int_equal(set_range(fd, range_of(50000, 0)), 0);
	assert_int_equal(set_range(fd, range_of(0, 40000)), 0);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, range_of(0, 40000));
	/* Not 4 bytes: EINVAL. */
	assert_int_equal(shim_setsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &half, sizeof(half)), -EINVAL);
	assert_int_equal(shim_setsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &wide, sizeof(wide)), -EINVAL);
	assert_int_equal(set_range(fd, 0), 0);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, 0);
	assert_int_equal(shim_close(fd), 0);
}

/* The packetdrill scripts' way: IP_BIND_ADDRESS_NO_PORT and a one-port
 * range, then connect(): the SYN leaves from 0xdead, getsockname() shows
 * it; a second such socket to the same peer finds no port while the first
 * holds it (EADDRNOTAVAIL). */
static void test_connect_one_port_range(void **state)
{
	int a = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int b = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	struct sockaddr_in peer = peer_addr(TS_PEER_PORT);

	(void)state;
	assert_int_equal(shim_setsockopt(a, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
	assert_int_equal(set_range(a, range_of(0xdead, 0xdead)), 0);
	T->local_port = 0xdead;
	assert_int_equal(shim_connect(a, SA(peer), sizeof(peer)), -EINPROGRESS);
	assert_int_equal(local_port(a), 0xdead);    /* first: the script checks the SYN's port under the lock */
	fh_ts_expect_prefix(T, "S 0:0(0)");
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 3001 ecr 0,nop,wscale 8>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");

	assert_int_equal(set_range(b, range_of(0xdead, 0xdead)), 0);
	assert_int_equal(shim_connect(b, SA(peer), sizeof(peer)), -EADDRNOTAVAIL);
	assert_int_equal(shim_close(b), 0);
	assert_int_equal(shim_close(a), 0);
}

/* bind() to port 0 and listen() without bind() pick within the range. */
static void test_bind_zero_and_listen_within_range(void **state)
{
	int a = shim_socket(AF_INET, SOCK_STREAM, 0), l = shim_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET };

	(void)state;
	assert_int_equal(set_range(a, range_of(50010, 50012)), 0);
	assert_int_equal(shim_bind(a, SA(any), sizeof(any)), 0);
	assert_true(local_port(a) >= 50010 && local_port(a) <= 50012);
	assert_int_equal(set_range(l, range_of(50020, 50020)), 0);
	assert_int_equal(shim_listen(l, 4), 0);
	assert_int_equal(local_port(l), 50020);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(l), 0);
}

/* UDP: bind() to port 0, the autobind of connect() and of a first
 * sendto(), and a range set after the stack's socket exists (a group
 * joined first), all within the range. */
static void test_udp_within_range(void **state)
{
	int a = shim_socket(AF_INET, SOCK_DGRAM, 0), b = shim_socket(AF_INET, SOCK_DGRAM, 0);
	int c = shim_socket(AF_INET, SOCK_DGRAM, 0), d = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET }, peer = peer_addr(53);
	struct ip_mreqn m = { .imr_multiaddr.s_addr = htonl(0xef010101) };

	(void)state;
	assert_int_equal(set_range(a, range_of(41000, 41000)), 0);
	assert_int_equal(shim_bind(a, SA(any), sizeof(any)), 0);
	assert_int_equal(local_port(a), 41000);
	assert_int_equal(set_range(b, range_of(41001, 41001)), 0);
	assert_int_equal(shim_connect(b, SA(peer), sizeof(peer)), 0);
	assert_int_equal(local_port(b), 41001);
	assert_int_equal(set_range(c, range_of(41002, 41002)), 0);
	assert_int_equal(shim_sendto(c, "x", 1, 0, SA(peer), sizeof(peer)), 1);
	assert_int_equal(local_port(c), 41002);
	assert_int_equal(shim_setsockopt(d, SOL_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), 0);
	assert_int_equal(set_range(d, range_of(41003, 41003)), 0);
	assert_int_equal(shim_sendto(d, "x", 1, 0, SA(peer), sizeof(peer)), 1);
	assert_int_equal(local_port(d), 41003);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
	assert_int_equal(shim_close(c), 0);
	assert_int_equal(shim_close(d), 0);
}

/* With the namespace's range 45000-45009, a socket's bound outside it is
 * ignored on its own: [1000, 45002] picks from 45000-45002, [1000, 2000]
 * from the whole namespace range. */
static void test_bounds_outside_namespace_ignored(void **state)
{
	int a = shim_socket(AF_INET, SOCK_STREAM, 0), b = shim_socket(AF_INET, SOCK_STREAM, 0);
	int c = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET };

	(void)state;
	T->h->s->cfg.ip_local_port_lo = 45000;
	T->h->s->cfg.ip_local_port_hi = 45009;
	assert_int_equal(set_range(a, range_of(1000, 45002)), 0);
	assert_int_equal(shim_bind(a, SA(any), sizeof(any)), 0);
	assert_true(local_port(a) >= 45000 && local_port(a) <= 45002);
	assert_int_equal(set_range(b, range_of(1000, 2000)), 0);
	assert_int_equal(shim_bind(b, SA(any), sizeof(any)), 0);
	assert_true(local_port(b) >= 45000 && local_port(b) <= 45009);
	assert_int_equal(set_range(c, range_of(45008, 65000)), 0);
	assert_int_equal(shim_bind(c, SA(any), sizeof(any)), 0);
	assert_true(local_port(c) >= 45008 && local_port(c) <= 45009);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
	assert_int_equal(shim_close(c), 0);
}

/* An accepted socket shows its listener's range (Linux's sk_clone_lock
 * copies it). */
static void test_accepted_socket_has_listeners_range(void **state)
{
	int l = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), fd;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	uint32_t v = 0;
	socklen_t len = sizeof(v);

	(void)state;
	assert_int_equal(set_range(l, range_of(40000, 40100)), 0);
	assert_int_equal(shim_bind(l, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_listen(l, 8), 0);
	fh_ts_inject(T, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	fh_ts_expect_prefix(T, "S. 0:0(0) ack 1");
	fh_ts_inject(T, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	fd = shim_accept4(l, NULL, NULL, 0);
	assert_true(fd >= 0);
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &v, &len), 0);
	assert_int_equal(v, range_of(40000, 40100));
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setsockopt_checks_and_getsockopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_one_port_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_zero_and_listen_within_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_within_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_outside_namespace_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepted_socket_has_listeners_range, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
