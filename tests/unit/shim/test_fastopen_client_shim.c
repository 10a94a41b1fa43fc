/*
 * TCP fast open's client side through the socket calls (RFC 7413, Linux's
 * tcp_sendmsg_fastopen and tcp_fastopen_defer_connect): sendto() and
 * sendmsg() with MSG_FASTOPEN, connect() after TCP_FASTOPEN_CONNECT, what
 * they return and what the SYN carries, after google/packetdrill's
 * gtests/net/tcp/fastopen/client/ scripts (nonblocking-sendto,
 * blocking-connect-bypass, nonblocking-connect-bypass, poll,
 * nonblocking-sendmsg-multi-iov) and a run of each against Linux 6.18.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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
static char data[8000];   /* the largest send below: 5000 bytes */

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

static void inject(const char *spec) { fh_ts_inject(T, spec); }

static void expect_prefix(const char *prefix) { fh_ts_expect_prefix(T, prefix); }

/* The next frame sent carries the fast open option with this text ("FO"
 * for a cookie request, "FO <hex>" for a cookie) or, NULL, none. */
static void expect_fo(const char *fo)
{
	char line[512];
	const char *p;

	assert_true(fh_ts_next(T, line, sizeof(line)));
	p = strstr(line, ",FO");
	if (!fo) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_int_equal(strncmp(p + 1, fo, strlen(fo)), 0);
	assert_true(p[1 + strlen(fo)] == ',' || p[1 + strlen(fo)] == '>');
}

static void advance_ms(unsigned ms)
{
	stack_lock(&fh.lock);
	ts_advance_ms(T, ms);
	stack_unlock(&fh.lock);
}

/* TCPI_OPT_SYN_DATA in fd's tcpi_options: the SYN's data was acknowledged. */
static bool syn_data_seen(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return (ti.tcpi_options & 32) != 0;       /* TCPI_OPT_SYN_DATA */
}

/* The script's peer (its port moves on with each ts_new_peer). */
static struct sockaddr_in peer;

static void set_peer(void)
{
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(T->peer_port);
	peer.sin_addr.s_addr = htonl(H_PEER_IP);
}

/* A non-blocking socket bound to the script's port. */
static int tcp_fd(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	set_peer();
	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	return fd;
}

/* The first connection to the peer: MSG_FASTOPEN without a cookie gives
 * EINPROGRESS, the SYN asks for one (no data); the SYN-ACK brings cookie
 * 0102030405060708, which the stack keeps for the peer. Then the
 * connection is reset (the script's peer goes). */
static void learn_cookie(void)
{
	int fd = tcp_fd();

	assert_int_equal(shim_sendto(fd, data, 100, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 -EINPROGRESS);
	expect_fo("FO");
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 0102030405060708,nop,nop>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_sendto(fd, data, 100, 0, NULL, 0), 100);
	expect_prefix("P. 1:101(100) ack 1");
	inject("R. 1:1(0) ack 101 win 257");
	assert_int_equal(shim_close(fd), 0);
	ts_new_peer(T);
}

/* nonblocking-sendto: with the cookie, MSG_FASTOPEN puts the data in the
 * SYN and returns its length; the SYN-ACK that ACKs it completes the
 * connection. */
static void test_sendto_cookie_then_data_in_syn(void **state)
{
	int fd;

	(void)state;
	learn_cookie();
	fd = tcp_fd();
	assert_int_equal(shim_sendto(fd, data, 100, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 100);
	expect_fo("FO 0102030405060708");
	inject("S. 0:0(0) ack 101 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	expect_prefix(". 101:101(0) ack 1");
	/* MSG_FASTOPEN again: the socket connect() left connecting is
	 * connected now (Linux's __inet_stream_connect), the data goes;
	 * then EISCONN (measured on Linux 6.18: 10, then EISCONN) */
	assert_int_equal(shim_sendto(fd, data, 10, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 10);
	expect_prefix("P. 101:111(10) ack 1");
	assert_int_equal(shim_sendto(fd, data, 10, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 -EISCONN);
	inject("R. 1:1(0) ack 111 win 257");
	assert_int_equal(shim_close(fd), 0);
}

/* nonblocking-sendmsg-multi-iov: the SYN takes the data of several
 * buffers, and sendmsg() returns what it took. */
static void test_sendmsg_iovs_in_syn(void **state)
{
	struct iovec iov[3] = { { data, 10 }, { data + 10, 0 }, { data + 10, 30 } };
	struct msghdr m = { .msg_name = (void *)&peer, .msg_namelen = sizeof(peer), .msg_iov = iov,
			    .msg_iovlen = 3 };
	int fd;

	(void)state;
	learn_cookie();
	fd = tcp_fd();
	assert_int_equal(shim_sendmsg(fd, &m, MSG_FASTOPEN), 40);
	expect_prefix("S 0:40(40)");
	inject("S. 0:0(0) ack 41 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	expect_prefix(". 41:41(0) ack 1");
	inject("R. 1:1(0) ack 41 win 257");
	assert_int_equal(shim_close(fd), 0);
}

/* nonblocking-connect-bypass and poll: with TCP_FASTOPEN_CONNECT and a
 * cookie, connect() returns 0 and sends nothing; the socket polls
 * writable; the first write sends the SYN with the cookie and its data. */
static void test_fastopen_connect_defers_the_syn(void **state)
{
	struct pollfd p;
	struct timespec zero = { 0, 0 };
	int fd, one = 1;

	(void)state;
	learn_cookie();
	fd = tcp_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), 0);
	fh_ts_expect_none(T);
	p.fd = fd;
	p.events = POLLOUT | POLLIN;
	p.revents = 0;
	assert_int_equal(shim_ppoll(&p, 1, &zero, NULL), 1);
	assert_int_equal(p.revents, POLLOUT);
	/* (a send with MSG_FASTOPEN, as here, or without: the same on Linux 6.18) */
	assert_int_equal(shim_sendto(fd, data, 50, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)), 50);
	expect_fo("FO 0102030405060708");
	inject("S. 0:0(0) ack 51 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	expect_prefix(". 51:51(0) ack 1");
	inject("R. 1:1(0) ack 51 win 257");
	assert_int_equal(shim_close(fd), 0);
}

/* ... without a cookie, connect() sends a SYN asking for one and goes on
 * as a connect() does (EINPROGRESS on a non-blocking socket). */
static void test_fastopen_connect_without_cookie(void **state)
{
	int fd = tcp_fd(), one = 1;

	(void)state;
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	expect_fo("FO");
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	inject("R. 1:1(0) ack 1 win 257");
	assert_int_equal(shim_close(fd), 0);
}

/* The namespace's client side off (tcp_fastopen without bit 1): Linux's
 * tcp_sendmsg_fastopen answers EOPNOTSUPP, and nothing is sent. */
static void test_client_side_off(void **state)
{
	int fd = tcp_fd();

	(void)state;
	T->h->s->cfg.tcp_fastopen = 0;
	assert_int_equal(shim_sendto(fd, data, 100, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 -EOPNOTSUPP);
	fh_ts_expect_none(T);
	assert_int_equal(shim_close(fd), 0);
}

/* Follows tcp_syscall_bad_arg_fastopen-invalid-buf-ptr.pkt (Linux's
 * selftest; tcp_timestamps 0): a cookie learned with TCP_FASTOPEN_CONNECT,
 * then three new sockets send one byte from NULL: MSG_FASTOPEN alone,
 * TCP_FASTOPEN_CONNECT's connect() and a send, both. The script asks only
 * for -1; Linux 6.18 (the script run against it) answers EINPROGRESS each
 * time and sends a SYN without data that asks for a cookie again
 * (tcp_send_syn_data fails to copy the byte: "fallback", a regular SYN
 * with a cookie request). */
static void test_fastopen_null_buffer(void **state)
{
	int fd, one = 1;

	(void)state;
	T->h->s->cfg.tcp_timestamps = 0;
	fd = tcp_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	expect_fo("FO");
	inject("S. 0:0(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 1:1(0) ack 1");
	inject("F. 1:1(0) ack 2 win 92");
	expect_prefix(". 2:2(0) ack 2");

	fh_catch_faults();
	for (int i = 0; i < 3; i++) {
		bool connect_first = i > 0;
		int flags = i != 1 ? MSG_FASTOPEN : 0;

		ts_new_peer(T);
		fd = tcp_fd();
		if (connect_first) {
			assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
			assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), 0);
			fh_ts_expect_none(T);
		}
		assert_int_equal(shim_sendto(fd, NULL, 1, flags, (const struct sockaddr *)&peer, sizeof(peer)),
				 -EINPROGRESS);
		expect_fo("FO");        /* S 0:0(0), a cookie request */
		fh_ts_expect_none(T);
		assert_int_equal(shim_close(fd), 0);
	}
}

/* The first connection of google/packetdrill's fastopen/client scripts
 * (tcp_timestamps 0): a cookie request (by TCP_FASTOPEN_CONNECT's connect()
 * or by a send of nothing with MSG_FASTOPEN), the SYN-ACK's cookie kept
 * (its option as syn_ack_fo says it), closed with a FIN each way. */
static void warm_cookie(bool by_connect, const char *syn_ack_fo)
{
	char synack[256];
	int fd = tcp_fd(), one = 1;

	if (by_connect) {
		assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
		assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	} else {
		assert_int_equal(shim_sendto(fd, data, 0, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
				 -EINPROGRESS);
	}
	expect_fo("FO");
	snprintf(synack, sizeof(synack), "S. 0:0(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,%s>",
		 syn_ack_fo);
	inject(synack);
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(syn_data_seen(fd), false);
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 1:1(0) ack 1");
	inject("F. 1:1(0) ack 2 win 92");
	expect_prefix(". 2:2(0) ack 2");
	ts_new_peer(T);
}

/* fastopen/client/fastopen-connect-keepalive.pkt (the kernel fix
 * 2dda64004087: SO_KEEPALIVE and TCP_KEEPIDLE on a socket whose
 * connect() TCP_FASTOPEN_CONNECT held must not arm the keep-alive timer
 * of a connection that sent nothing): connect() returns 0 with the
 * cookie, the options take, a second later close() sends nothing. */
static void test_fastopen_connect_keepalive(void **state)
{
	int fd, one = 1, idle = 5;

	(void)state;
	T->h->s->cfg.tcp_timestamps = 0;
	warm_cookie(true, "FO abcd1234,nop,nop");
	fd = tcp_fd();
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	advance_ms(10);
	assert_int_equal(shim_connect(fd, (const struct sockaddr *)&peer, sizeof(peer)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)), 0);
	advance_ms(1000);
	fh_ts_expect_none(T);
	assert_int_equal(shim_close(fd), 0);
	advance_ms(10000);
	fh_ts_expect_none(T);
}

/* fastopen/client/nonblocking-sendto-over-mss.pkt (tcp_timestamps 0; TSO
 * on the link, as on packetdrill's tun): with a cookie (six zero bytes) a
 * non-blocking sendto of 5000 bytes puts 1420 in the SYN (the MSS less 40
 * bytes of option room) and returns 1420; a write sends the rest once the
 * SYN-ACK takes the SYN's data. A server that takes only the SYN (a new
 * cookie, ack 1) has the SYN's data resent at once, and no SYN_DATA in
 * tcpi_options. */
static void test_sendto_over_mss(void **state)
{
	char buf[1024];
	int fd;

	(void)state;
	T->h->s->cfg.tcp_timestamps = 0;
	h_enable_tso(T->h, 65535 - 20 - 60);
	warm_cookie(false, "FO 000000000000");
	advance_ms(30);

	fd = tcp_fd();
	assert_int_equal(shim_sendto(fd, data, 5000, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 1420);
	expect_prefix("S 0:1420(1420) win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7,FO 000000000000");
	advance_ms(10);
	inject("S. 0:0(0) ack 1421 win 60000 <mss 1460,nop,nop,sackOK,nop,wscale 6>");
	expect_prefix(". 1421:1421(0) ack 1 ");
	assert_true(syn_data_seen(fd));
	assert_int_equal(shim_sendto(fd, data + 1420, 3580, 0, NULL, 0), 3580);
	expect_prefix("P. 1421:5001(3580) ack 1 ");
	advance_ms(10);
	inject("P. 1:1001(1000) ack 5001 win 1024");
	expect_prefix(". 5001:5001(0) ack 1001 ");
	assert_int_equal(shim_read(fd, buf, sizeof(buf)), 1000);
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 5001:5001(0) ack 1001 ");
	advance_ms(20);
	inject("F. 1001:1001(0) ack 5002 win 1024");
	expect_prefix(". 5002:5002(0) ack 1002 ");
	fh_ts_expect_none(T);

	ts_new_peer(T);
	fd = tcp_fd();
	assert_int_equal(shim_sendto(fd, data, 5000, MSG_FASTOPEN, (const struct sockaddr *)&peer, sizeof(peer)),
			 1420);
	expect_prefix("S 0:1420(1420) ");
	advance_ms(50);
	inject("S. 0:0(0) ack 1 win 14600 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO aaaabbbbccccdddd,nop,nop>");
	expect_prefix("P. 1:1421(1420) ack 1 ");
	assert_false(syn_data_seen(fd));
	assert_int_equal(shim_sendto(fd, data + 1420, 3580, 0, NULL, 0), 3580);
	expect_prefix("P. 1421:5001(3580) ack 1 ");
	advance_ms(50);
	inject("P. 1:1001(1000) ack 5001 win 257");
	expect_prefix(". 5001:5001(0) ack 1001 ");
	assert_int_equal(shim_read(fd, buf, sizeof(buf)), 1000);
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 5001:5001(0) ack 1001 ");
	advance_ms(50);
	inject("F. 1001:1001(0) ack 5002 win 257");
	expect_prefix(". 5002:5002(0) ack 1002 ");
	fh_ts_expect_none(T);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sendto_cookie_then_data_in_syn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendmsg_iovs_in_syn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_defers_the_syn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_without_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_side_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_null_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendto_over_mss, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
