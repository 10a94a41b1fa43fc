/*
 * TCP fast open's client side through the socket calls: the errors the
 * calls give, after google/packetdrill's gtests/net/tcp/fastopen/client/
 * scripts sendto-af-unspec, nonblocking-sendto-errnos,
 * nonblocking-connect-bypass-errno and nonblocking-sendto-empty-buf, as
 * today's Linux gives them (net/ipv4/tcp.c tcp_sendmsg_fastopen and
 * do_tcp_setsockopt, net/ipv4/af_inet.c __inet_stream_connect).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

static struct tscript *T;
static char buf[2000];
static struct sockaddr_in peer;

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

#define PEER ((const struct sockaddr *)&peer)

/* A non-blocking socket on the script's port, towards the script's peer. */
static int new_fd(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(T->peer_port);
	peer.sin_addr.s_addr = htonl(H_PEER_IP);
	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	return fd;
}

/* The peer resets the connection; the socket goes; the next is another. */
static void finish(int fd, const char *rst)
{
	if (rst)
		fh_ts_inject(T, rst);
	assert_int_equal(shim_close(fd), 0);
	h_drain_tx(T->h);
	ts_new_peer(T);
}

/* A cookie request answered with cookie 112233445566. */
static void learn_cookie(void)
{
	int fd = new_fd();

	assert_int_equal(shim_sendto(fd, buf, 0, MSG_FASTOPEN, PEER, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 112233445566>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");
	finish(fd, "R. 1:1(0) ack 1 win 0");
}

/* sendto-af-unspec.pkt: MSG_FASTOPEN towards an AF_UNSPEC address is
 * EOPNOTSUPP (tcp_sendmsg_fastopen), nothing sent. */
static void test_af_unspec_eopnotsupp(void **state)
{
	struct sockaddr_in unspec = { .sin_family = AF_UNSPEC };
	int fd = new_fd();

	(void)state;
	assert_int_equal(shim_sendto(fd, buf, 0, MSG_FASTOPEN, (const struct sockaddr *)&unspec, sizeof(unspec)),
			 -EOPNOTSUPP);
	fh_ts_expect_none(T);
	finish(fd, NULL);
}

/* nonblocking-connect-bypass-errno.pkt: TCP_FASTOPEN_CONNECT with the
 * namespace's client side off is EOPNOTSUPP (do_tcp_setsockopt). */
static void test_fastopen_connect_option_off(void **state)
{
	int fd = new_fd(), one = 1;

	(void)state;
	T->h->s->cfg.tcp_fastopen = 0;
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), -EOPNOTSUPP);
	T->h->s->cfg.tcp_fastopen = 1;
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	finish(fd, NULL);
}

/* nonblocking-sendto-errnos.pkt: without a cookie, MSG_FASTOPEN with data
 * is EINPROGRESS (a request); in SYN-SENT another MSG_FASTOPEN is
 * EALREADY and a write EAGAIN. With the cookie, the data goes in the SYN
 * and the same follow. */
static void test_sendto_errnos_in_syn_sent(void **state)
{
	int fd = new_fd();

	(void)state;
	assert_int_equal(shim_sendto(fd, buf, 1000, MSG_FASTOPEN | MSG_DONTWAIT, PEER, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	assert_int_equal(shim_sendto(fd, buf, 1000, MSG_FASTOPEN, PEER, sizeof(peer)), -EALREADY);
	assert_int_equal(shim_sendto(fd, buf, 1000, 0, NULL, 0), -EAGAIN);
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 112233445566>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");
	finish(fd, "R. 1:1(0) ack 1 win 0");

	fd = new_fd();
	assert_int_equal(shim_sendto(fd, buf, 1000, MSG_FASTOPEN, PEER, sizeof(peer)), 1000);
	fh_ts_expect_prefix(T, "S 0:1000(1000)");
	assert_int_equal(shim_sendto(fd, buf, 1000, MSG_FASTOPEN, PEER, sizeof(peer)), -EALREADY);
	assert_int_equal(shim_sendto(fd, buf, 1000, 0, NULL, 0), -EAGAIN);
	fh_ts_inject(T, "S. 0:0(0) ack 1001 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	fh_ts_expect_prefix(T, ". 1001:1001(0) ack 1");
	finish(fd, "R. 1:1(0) ack 1001 win 0");

	/* A 0-byte MSG_FASTOPEN with the cookie cached: a connect(),
	 * EINPROGRESS, the SYN carrying the cookie and nothing else
	 * (nonblocking-sendto-empty-buf.pkt too). */
	fd = new_fd();
	assert_int_equal(shim_sendto(fd, buf, 0, MSG_FASTOPEN, PEER, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	finish(fd, NULL);
}

/* The same script: a reset answering the SYN makes the next write
 * ECONNREFUSED; one after the handshake ECONNRESET. */
static void test_sendto_refused_and_reset(void **state)
{
	int fd;

	(void)state;
	learn_cookie();
	fd = new_fd();
	assert_int_equal(shim_sendto(fd, buf, 2000, MSG_FASTOPEN, PEER, sizeof(peer)), 1420);
	fh_ts_expect_prefix(T, "S 0:1420(1420)");
	fh_ts_inject(T, "R. 0:0(0) ack 1 win 0");
	assert_int_equal(shim_sendto(fd, buf, 2000, 0, NULL, 0), -ECONNREFUSED);
	finish(fd, NULL);

	fd = new_fd();
	assert_int_equal(shim_sendto(fd, buf, 1420, MSG_FASTOPEN, PEER, sizeof(peer)), 1420);
	fh_ts_expect_prefix(T, "S 0:1420(1420)");
	fh_ts_inject(T, "S. 0:0(0) ack 1421 win 5840 <mss 1460,wscale 6,nop>");
	fh_ts_expect_prefix(T, ". 1421:1421(0) ack 1");
	fh_ts_inject(T, "R. 1:1(0) ack 1421 win 0");
	assert_int_equal(shim_sendto(fd, buf, 2000, 0, NULL, 0), -ECONNRESET);
	finish(fd, NULL);
}

/* nonblocking-connect-bypass-errno.pkt: TCP_FASTOPEN_CONNECT's connect()
 * with a cookie returns 0; connect() again is EISCONN (the socket counts
 * as connected, __inet_stream_connect); a 0-byte send then starts the
 * handshake: EINPROGRESS, a SYN with the cookie and no data. Without a
 * cookie, reads in SYN-SENT are EAGAIN. A MSG_FASTOPEN send then
 * connect(): EALREADY. */
static void test_fastopen_connect_errnos(void **state)
{
	int fd, one = 1;

	(void)state;
	fd = new_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	assert_int_equal(shim_sendto(fd, buf, 1000, MSG_FASTOPEN, PEER, sizeof(peer)), -EALREADY);
	assert_int_equal(shim_sendto(fd, buf, 1000, 0, NULL, 0), -EAGAIN);
	assert_int_equal(shim_read(fd, buf, 1000), -EAGAIN);
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO 112233445566>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");
	finish(fd, "R. 1:1(0) ack 1 win 0");

	fd = new_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), 0);
	assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), -EISCONN);
	assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), -EISCONN);
	fh_ts_expect_none(T);
	assert_int_equal(shim_sendto(fd, buf, 0, 0, NULL, 0), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	finish(fd, NULL);

	fd = new_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_sendto(fd, buf, 2000, MSG_FASTOPEN, PEER, sizeof(peer)), 1420);
	assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), -EALREADY);
	fh_ts_expect_prefix(T, "S 0:1420(1420)");
	fh_ts_inject(T, "S. 0:0(0) ack 1421 win 5840 <mss 1460,wscale 6,nop>");
	fh_ts_expect_prefix(T, ". 1421:1421(0) ack 1");
	finish(fd, "R. 1:1(0) ack 1421 win 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_af_unspec_eopnotsupp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_option_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendto_errnos_in_syn_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendto_refused_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_errnos, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
