/*
 * Blocking socket calls of TCP fast open's client side, after
 * google/packetdrill's gtests/net/tcp/fastopen/client/blocking-sendto-errnos.pkt
 * and blocking-connect-bypass-errno.pkt (tcp_timestamps 0): a blocking
 * sendto(MSG_FASTOPEN), or a write() after connect() with
 * TCP_FASTOPEN_CONNECT, waits for the handshake its SYN (with the cached
 * cookie and the data) starts, and ends with the handshake's error: a reset
 * is ECONNREFUSED, TCP_SYNCNT 1 running out is ETIMEDOUT (the SYN resent
 * without its data; the error 3 s after the first). Linux's
 * tcp_sendmsg_fastopen waits in __inet_stream_connect when the call may
 * block, and tcp_sendmsg_locked gives its error, no byte counted.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
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
#include "stack/host/lock.h"
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
	T->h->s->cfg.tcp_timestamps = 0;
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

static void advance_ms(unsigned ms)
{
	stack_lock(&fh.lock);
	ts_advance_ms(T, ms);
	stack_unlock(&fh.lock);
}

/* A socket on the script's port, towards the script's peer. */
static int new_fd(int flags)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	int fd = shim_socket(AF_INET, SOCK_STREAM | flags, 0), one = 1;

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_port = htons(T->peer_port);
	peer.sin_addr.s_addr = htonl(H_PEER_IP);
	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	return fd;
}

/* TCPI_OPT_SYN_DATA in fd's tcpi_options. */
static bool syn_data_acked(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return (ti.tcpi_options & 32) != 0;
}

/* The scripts' cache warm-up: a cookie request by a non-blocking
 * MSG_FASTOPEN, the SYN-ACK brings cookie abcd1234; close(), FIN both ways. */
static void learn_cookie(void)
{
	int fd = new_fd(SOCK_NONBLOCK);

	assert_int_equal(shim_sendto(fd, buf, 0, MSG_FASTOPEN, PEER, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	advance_ms(10);
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 5840 <mss 1460,nop,nop,sackOK,nop,wscale 6,FO abcd1234,nop,nop>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");
	advance_ms(10);
	assert_int_equal(shim_close(fd), 0);
	fh_ts_expect_prefix(T, "F. 1:1(0) ack 1");
	advance_ms(10);
	fh_ts_inject(T, "F. 1:1(0) ack 2 win 92");
	fh_ts_expect_prefix(T, ". 2:2(0) ack 2");
	ts_new_peer(T);
}

/* A blocking call in a thread of its own. */
struct call {
	int fd;
	bool fastopen_connect;      /* write() after connect(), else sendto(MSG_FASTOPEN) */
	long r;
};

static void *call_thread(void *arg)
{
	struct call *c = arg;

	if (c->fastopen_connect)
		c->r = shim_sendto(c->fd, buf, 2000, 0, NULL, 0);
	else
		c->r = shim_sendto(c->fd, buf, 2000, MSG_FASTOPEN, PEER, sizeof(peer));
	return NULL;
}

/* Starts the call, and waits until it waits. */
static void start_call(struct call *c, pthread_t *th)
{
	long i;

	c->r = 1;
	assert_int_equal(pthread_create(th, NULL, call_thread, c), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(c->fd) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
}

static int blocking_fd(bool fastopen_connect)
{
	int fd = new_fd(0), one = 1;

	if (fastopen_connect) {
		assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
		assert_int_equal(shim_connect(fd, PEER, sizeof(peer)), 0);
		fh_ts_expect_none(T);
	}
	return fd;
}

/* "Test: ECONNREFUSED when remote resets on SYN". */
static void refused(bool fastopen_connect)
{
	struct call c = { .fastopen_connect = fastopen_connect };
	pthread_t th;

	learn_cookie();
	advance_ms(170);
	c.fd = blocking_fd(fastopen_connect);
	start_call(&c, &th);
	fh_ts_expect_prefix(T, "S 0:1420(1420)");
	advance_ms(50);
	fh_ts_inject(T, "R. 0:0(0) ack 1 win 0");
	pthread_join(th, NULL);
	assert_int_equal(c.r, -ECONNREFUSED);
	assert_false(syn_data_acked(c.fd));
	assert_int_equal(shim_close(c.fd), 0);
	fh_ts_expect_none(T);
}

/* "Test: ETIMEOUT when SYN timed out" (TCP_SYNCNT 1). The script, older
 * than Linux 6.5's net.ipv4.tcp_syn_linear_timeouts (default 4), has one
 * SYN resent, 1 s later; Linux 6.18 resends it every second, up to
 * TCP_SYNCNT + 4 times but no longer than TCP_SYNCNT backed-off timeouts
 * from 1 s take (3 s: tcp_write_timeout's retransmits_timed_out): two,
 * without the data, and ETIMEDOUT at 3 s as in the script. */
static void timed_out(bool fastopen_connect)
{
	struct call c = { .fastopen_connect = fastopen_connect };
	pthread_t th;
	int one = 1;

	learn_cookie();
	advance_ms(50);
	c.fd = new_fd(0);
	assert_int_equal(shim_setsockopt(c.fd, IPPROTO_TCP, TCP_SYNCNT, &one, sizeof(one)), 0);
	if (fastopen_connect) {
		assert_int_equal(shim_setsockopt(c.fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)), 0);
		assert_int_equal(shim_connect(c.fd, PEER, sizeof(peer)), 0);
		fh_ts_expect_none(T);
	}
	start_call(&c, &th);
	fh_ts_expect_prefix(T, "S 0:1420(1420)");
	for (int i = 0; i < 2; i++) {
		advance_ms(999);
		fh_ts_expect_none(T);
		advance_ms(1);
		fh_ts_expect_prefix(T, "S 0:0(0)");
	}
	advance_ms(999);
	fh_ts_expect_none(T);
	assert_int_equal(c.r, 1);
	advance_ms(1);
	pthread_join(th, NULL);
	assert_int_equal(c.r, -ETIMEDOUT);
	assert_false(syn_data_acked(c.fd));
	assert_int_equal(shim_close(c.fd), 0);
	fh_ts_expect_none(T);
}

/* blocking-sendto-errnos.pkt */
static void test_blocking_sendto_refused(void **state)
{
	(void)state;
	refused(false);
}

static void test_blocking_sendto_timed_out(void **state)
{
	(void)state;
	timed_out(false);
}

/* blocking-connect-bypass-errno.pkt */
static void test_fastopen_connect_write_refused(void **state)
{
	(void)state;
	refused(true);
}

static void test_fastopen_connect_write_timed_out(void **state)
{
	(void)state;
	timed_out(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blocking_sendto_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_sendto_timed_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_write_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fastopen_connect_write_timed_out, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
