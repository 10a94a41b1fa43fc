/*
 * Edge-triggered EPOLLOUT through the shim's epoll, against the packetdrill
 * scripts Google publishes for Linux's TCP (google/packetdrill,
 * gtests/net/tcp/epoll/): an edge when an ACK frees room after a write that
 * found the buffer full, none before it, none for the later ACKs while the
 * buffer was not full again, and under TCP_NOTSENT_LOWAT an edge once the
 * unsent bytes fall below half the mark as what the ACKs let out leaves
 * the queue (Linux 4bfe744ff164, "tcp: fix potential xmit stalls caused by
 * TCP_NOTSENT_LOWAT", checks it on the sending side too). The scripts'
 * byte counts follow Linux's send buffer (tcp_wmem 50000 and its skb
 * accounting); pstack's differ, so the tests set SO_SNDBUF and compare the
 * logic: when the edge comes, and that no other does. epoll_in_edge.pkt
 * (as google/bbr carries it): one EPOLLIN edge per arrival of data.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

static struct tscript *T;
static char data[300000];

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

/* The sent segments so far, taken off the link: the highest sequence end. */
static unsigned drain_sent(void)
{
	char line[512];
	unsigned end = 0;

	while (fh_ts_next(T, line, sizeof(line))) {
		unsigned a, b;

		if (sscanf(strchr(line, ' ') + 1, "%u:%u", &a, &b) == 2 && b > end)
			end = b;
	}
	return end;
}

/* A connection to the peer (MSS 1000, its window 257 << 7), non-blocking,
 * in an epoll set as EPOLLOUT|EPOLLIN|EPOLLET; the first wait reports it
 * writable, the next nothing. lowat: TCP_NOTSENT_LOWAT, or -1 for none. */
static int connected(int *ep, int sndbuf, long lowat)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(TS_PEER_PORT),
				    .sin_addr.s_addr = htonl(H_PEER_IP) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLET, .data.u64 = 4 }, out[2];

	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	if (lowat >= 0) {
		unsigned v = (unsigned)lowat, got = 0;
		socklen_t len = sizeof(got);

		assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)), 0);
		assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &got, &len), 0);
		assert_int_equal(got, v);
	}
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, (struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	fh_ts_expect_prefix(T, "S 0:0(0)");
	fh_ts_inject(T, "S. 0:0(0) ack 1 win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
	fh_ts_expect_prefix(T, ". 1:1(0) ack 1");
	*ep = epoll_create1(0);
	assert_true(*ep >= 0);
	assert_int_equal(shim_epoll_ctl(*ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(shim_epoll_pwait(*ep, out, 2, 0, NULL), 1);
	assert_int_equal(out[0].events, EPOLLOUT);
	assert_int_equal(out[0].data.u64, 4);
	assert_int_equal(shim_epoll_pwait(*ep, out, 2, 0, NULL), 0);
	return fd;
}

static int wait_out(int ep)
{
	struct epoll_event out[2];
	int n = shim_epoll_pwait(ep, out, 2, 0, NULL);

	if (n == 1)
		assert_int_equal(out[0].events, EPOLLOUT);
	return n;
}

static void ack(unsigned seq)
{
	char spec[128];

	snprintf(spec, sizeof(spec), ". 1:1(0) ack %u win 257", seq);
	fh_ts_inject(T, spec);
}

/* ACKs what went out, one ACK per burst, until the socket reports an edge;
 * every wait before it reports nothing. Returns the ACKs it took and sets
 * *una to the last one's. */
static int ack_until_edge(int ep, unsigned *una)
{
	for (int acks = 1; acks < 100; acks++) {
		unsigned end = drain_sent();

		assert_true(end > *una);
		*una = end;
		ack(*una);
		if (wait_out(ep) == 1)
			return acks;
	}
	fail();
	return 0;
}

/* epoll/epoll_out_edge.pkt and epoll_out_edge_default_notsent_lowat.pkt
 * (TCP_NOTSENT_LOWAT at the largest value, or 0 for the default, none:
 * neither holds the writer back). A write that fills the buffer comes
 * back short: no edge until the ACKs free room (Linux's threshold: free
 * space at least half the queued bytes), then one; the next ACKs free
 * more, but the buffer was not full again: no edge. Another short write,
 * its ACKs: one edge again, and none for the ACKs after. A write that fits
 * whole: no edge for its ACK. */
static void out_edge_without_mark(long lowat)
{
	int ep, fd = connected(&ep, 32768, lowat);     /* a 64 KiB send buffer */
	ssize_t n;
	unsigned end, una = 1;

	n = shim_sendto(fd, data, sizeof(data), 0, NULL, 0);
	assert_true(n > 0 && (size_t)n < sizeof(data));
	assert_int_equal(wait_out(ep), 0);
	assert_int_equal(shim_sendto(fd, data, 1000, 0, NULL, 0), -EAGAIN);
	assert_int_equal(wait_out(ep), 0);
	/* the room comes back: one edge */
	ack_until_edge(ep, &una);
	assert_int_equal(wait_out(ep), 0);
	/* more room, the buffer was not full again: no edge */
	for (int i = 0; i < 3 && (end = drain_sent()) > una; i++) {
		una = end;
		ack(una);
		assert_int_equal(wait_out(ep), 0);
	}
	/* full again, then room: one edge, no second */
	n = shim_sendto(fd, data, sizeof(data), 0, NULL, 0);
	assert_true(n > 0 && (size_t)n < sizeof(data));
	assert_int_equal(wait_out(ep), 0);
	ack_until_edge(ep, &una);
	while ((end = drain_sent()) > una) {
		una = end;
		ack(una);
		assert_int_equal(wait_out(ep), 0);
	}
	/* everything acknowledged, a write that fits: no edge on its ACK */
	assert_int_equal(shim_sendto(fd, data, 2000, 0, NULL, 0), 2000);
	end = drain_sent();
	assert_int_equal(end, una + 2000);
	ack(end);
	assert_int_equal(wait_out(ep), 0);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(close(ep), 0);
}

static void test_out_edge_once_per_full_buffer(void **state)
{
	(void)state;
	out_edge_without_mark(0xffffffffL);
}

static void test_out_edge_default_notsent_lowat(void **state)
{
	(void)state;
	out_edge_without_mark(0);
}

/* epoll/epoll_out_edge_notsent_lowat.pkt: TCP_NOTSENT_LOWAT 32000 in a
 * buffer large enough (1 MiB) that only the mark holds the writer. The
 * write stops once 32000 bytes and more are unsent: short. An ACK whose
 * burst leaves at least 16000 unsent (half the mark) gives no edge; the
 * one whose burst takes the unsent bytes below that does (Linux checks it
 * as new data goes out, 4bfe744ff164: the ACK alone freed no room the mark
 * counts), once; the ACKs after it none. */
static void test_out_edge_notsent_lowat(void **state)
{
	int ep, fd = connected(&ep, 524288, 32000);
	ssize_t n;
	unsigned una = 1, end, written = 0;

	(void)state;
	n = shim_sendto(fd, data, sizeof(data), 0, NULL, 0);
	assert_true(n >= 32000 && n < 100000);
	written += (unsigned)n;
	assert_int_equal(wait_out(ep), 0);
	ack_until_edge(ep, &una);
	/* at the edge: fewer than 16000 bytes unsent (what the ACK let out
	 * is on the link); before it, the waits reported nothing whatever
	 * room the ACKs freed */
	end = drain_sent();
	assert_true(1 + written - end < 16000);
	una = end;
	ack(una);
	assert_int_equal(wait_out(ep), 0);
	while ((end = drain_sent()) > una) {
		una = end;
		ack(una);
		assert_int_equal(wait_out(ep), 0);
	}
	/* held by the mark again: the same */
	n = shim_sendto(fd, data, sizeof(data), 0, NULL, 0);
	assert_true(n >= 32000 && n < 100000);
	written += (unsigned)n;
	assert_int_equal(wait_out(ep), 0);
	ack_until_edge(ep, &una);
	end = drain_sent();
	assert_true(1 + written - end < 16000);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(close(ep), 0);
}

/* epoll/epoll_in_edge.pkt (its connection is a passive open; an active
 * one here, which changes nothing it checks): with EPOLLET, each arrival of
 * data gives one EPOLLIN (with EPOLLOUT, the socket being writable), drained
 * or not: the second wait finds nothing, a partial read gives no event, and
 * the next data one edge again (Linux's sk_data_ready per arrival). */
static void test_in_edge_per_arrival(void **state)
{
	static const struct { unsigned from, to; } segs[] = { { 1, 4001 }, { 4001, 10001 }, { 10001, 12001 } };
	struct epoll_event out[2];
	int ep, fd = connected(&ep, 32768, -1);
	char spec[128];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(spec, sizeof(spec), "P. %u:%u(%u) ack 1 win 257", segs[i].from, segs[i].to,
			 segs[i].to - segs[i].from);
		fh_ts_inject(T, spec);
		snprintf(spec, sizeof(spec), ". 1:1(0) ack %u", segs[i].to);
		fh_ts_expect_prefix(T, spec);
		assert_int_equal(shim_epoll_pwait(ep, out, 2, 0, NULL), 1);
		assert_int_equal(out[0].events, EPOLLIN | EPOLLOUT);
		assert_int_equal(shim_epoll_pwait(ep, out, 2, 0, NULL), 0);
		if (i == 1) {
			/* read some, not all: still no event */
			assert_int_equal(shim_recvfrom(fd, data, 1000, 0, NULL, NULL), 1000);
			assert_int_equal(shim_epoll_pwait(ep, out, 2, 0, NULL), 0);
		}
	}
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(close(ep), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_edge_once_per_full_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_edge_default_notsent_lowat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_edge_notsent_lowat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_edge_per_arrival, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
