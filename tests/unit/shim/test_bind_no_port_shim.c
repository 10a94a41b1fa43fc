/*
 * IP_BIND_ADDRESS_NO_PORT through the socket calls, as Linux 6.18 has it
 * (af_inet.c's __inet_bind): bind() to port 0 with the option takes the
 * address only, getsockname() shows it with port 0, and bind() may come
 * again (no port is held: the double-bind check is on the port). The port
 * comes with connect() (by the 4-tuple: two such sockets share a port to
 * different peers), listen() (an ephemeral port on the address) or a UDP
 * socket's first send. Measured on the host's Linux 6.18 alike (sockdiff's
 * bnp_* cases).
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

/* A socket of type with the option set, and a one-port range if port. */
static int no_port_socket(int type, uint16_t port)
{
	int fd = shim_socket(AF_INET, type, 0), one = 1;
	uint32_t r = (uint32_t)port << 16 | port;

	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
	if (port)
		assert_int_equal(shim_setsockopt(fd, SOL_IP, IP_LOCAL_PORT_RANGE, &r, sizeof(r)), 0);
	return fd;
}

static struct sockaddr_in addr_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr) };

	return a;
}

static struct sockaddr_in local_of(int fd)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);

	assert_int_equal(shim_getsockname(fd, SA(me), &len), 0);
	assert_int_equal(len, sizeof(me));
	return me;
}

/* getsockname() after bind(): the address, port 0. The option reads 1.
 * bind() again is taken (another address, then a port); after that, EINVAL. */
static void test_bind_shows_address_port_zero(void **state)
{
	int fd = no_port_socket(SOCK_STREAM, 0), v = 0;
	struct sockaddr_in me = addr_of(H_STACK_IP, 0), any = addr_of(0, 0), named = addr_of(H_STACK_IP, 5555);
	socklen_t len = sizeof(v);

	(void)state;
	assert_int_equal(shim_getsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), 0);
	assert_int_equal(ntohl(local_of(fd).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(local_of(fd).sin_port, 0);
	assert_int_equal(shim_bind(fd, SA(any), sizeof(any)), 0);
	assert_int_equal(local_of(fd).sin_addr.s_addr, 0);
	assert_int_equal(local_of(fd).sin_port, 0);
	assert_int_equal(shim_bind(fd, SA(named), sizeof(named)), 0);
	assert_int_equal(ntohl(local_of(fd).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(ntohs(local_of(fd).sin_port), 5555);
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), -EINVAL);
	assert_int_equal(shim_close(fd), 0);
}

/* connect() picks the port: the SYN leaves from it and getsockname()
 * shows it. A second socket bound alike in the same one-port range
 * connects to another peer from the same port; to the first's peer it
 * finds none (EADDRNOTAVAIL). */
static void test_connect_picks_port_by_four_tuple(void **state)
{
	int a = no_port_socket(SOCK_STREAM | SOCK_NONBLOCK, 0xdead);
	int b = no_port_socket(SOCK_STREAM | SOCK_NONBLOCK, 0xdead);
	int c = no_port_socket(SOCK_STREAM | SOCK_NONBLOCK, 0xdead);
	struct sockaddr_in me = addr_of(H_STACK_IP, 0), peer = addr_of(H_PEER_IP, TS_PEER_PORT);
	struct sockaddr_in other = addr_of(H_PEER_IP, TS_PEER_PORT + 1);

	(void)state;
	assert_int_equal(shim_bind(a, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_bind(b, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_bind(c, SA(me), sizeof(me)), 0);
	T->local_port = 0xdead;
	assert_int_equal(shim_connect(a, SA(peer), sizeof(peer)), -EINPROGRESS);
	assert_int_equal(ntohs(local_of(a).sin_port), 0xdead);
	assert_int_equal(ntohl(local_of(a).sin_addr.s_addr), H_STACK_IP);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	assert_int_equal(shim_connect(b, SA(other), sizeof(other)), -EINPROGRESS);
	assert_int_equal(ntohs(local_of(b).sin_port), 0xdead);
	assert_int_equal(shim_connect(c, SA(peer), sizeof(peer)), -EADDRNOTAVAIL);
	assert_int_equal(ntohl(local_of(c).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(local_of(c).sin_port, 0);
	h_drain_tx(T->h);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
	assert_int_equal(shim_close(c), 0);
}

/* listen() picks an ephemeral port on the bound address (Linux's
 * inet_csk_get_port with 0), and bind() is EINVAL then. */
static void test_listen_picks_port(void **state)
{
	int l = no_port_socket(SOCK_STREAM, 50020);
	struct sockaddr_in me = addr_of(H_STACK_IP, 0);

	(void)state;
	assert_int_equal(shim_bind(l, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_listen(l, 4), 0);
	assert_int_equal(ntohl(local_of(l).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(ntohs(local_of(l).sin_port), 50020);
	assert_int_equal(shim_bind(l, SA(me), sizeof(me)), -EINVAL);
	assert_int_equal(shim_close(l), 0);
}

/* UDP: port 0 after bind(), a port in the range after the first
 * sendto() (on the bound address), bind() EINVAL then; connect()'s
 * autobind alike. */
static void test_udp_port_at_first_send(void **state)
{
	int a = no_port_socket(SOCK_DGRAM, 41000), b = no_port_socket(SOCK_DGRAM, 41001);
	struct sockaddr_in me = addr_of(H_STACK_IP, 0), peer = addr_of(H_PEER_IP, 53);

	(void)state;
	assert_int_equal(shim_bind(a, SA(me), sizeof(me)), 0);
	assert_int_equal(ntohl(local_of(a).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(local_of(a).sin_port, 0);
	assert_int_equal(shim_sendto(a, "x", 1, 0, SA(peer), sizeof(peer)), 1);
	assert_int_equal(ntohl(local_of(a).sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(ntohs(local_of(a).sin_port), 41000);
	assert_int_equal(shim_bind(a, SA(me), sizeof(me)), -EINVAL);
	assert_int_equal(shim_bind(b, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_connect(b, SA(peer), sizeof(peer)), 0);
	assert_int_equal(ntohs(local_of(b).sin_port), 41001);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_shows_address_port_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_picks_port_by_four_tuple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_picks_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_port_at_first_send, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
