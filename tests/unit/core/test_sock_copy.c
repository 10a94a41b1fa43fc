/*
 * The socket calls' data copy (sock.h: sock_copy_fn, stack_set_copy): a copy
 * that fails (the program's memory, EFAULT in the library) commits nothing.
 * TCP's tcp_sendv queues none of the chunk and sends nothing, tcp_recvv
 * consumes nothing; UDP drops a datagram it could not copy out (unless
 * peeked) and sends none it could not copy in. SOCK_DISCARD (MSG_TRUNC on
 * TCP) drops bytes without copying. A copy that fails on its Nth call
 * stands in for the fault: deterministic, no signals.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

/* Copies, counting; the call numbered fail_at (from 1) fails, after copying
 * half its bytes (what a fault part-way does). */
static int copies, fail_at;

static int flaky_copy(void *dst, const void *src, size_t n)
{
	if (++copies == fail_at) {
		memcpy(dst, src, n / 2);
		return -EFAULT;
	}
	memcpy(dst, src, n);
	return 0;
}

static void use_flaky(struct tscript *t, int fail_on)
{
	copies = 0;
	fail_at = fail_on;
	stack_set_copy(t->h->s, flaky_copy);
}

static void test_tcp_send_fault_queues_nothing(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	char a[] = "hello", b[] = "world";
	struct sock_iov v[2] = { { a, 5 }, { b, 5 } };

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	/* The second buffer fails: the first is not queued either. */
	use_flaky(t, 2);
	assert_int_equal(tcp_sendv(c, v, 2, t->h->now), -EFAULT);
	assert_int_equal(tcp_outq(c), 0);
	ts_expect_none(t);
	/* The same call again, with memory that copies: both go, in one segment. */
	use_flaky(t, 0);
	assert_int_equal(tcp_sendv(c, v, 2, t->h->now), 10);
	ts_expect(t, "P. 1:11(10) ack 1 win 502 " TSO);
	/* The plain call fails alike. */
	use_flaky(t, 1);
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), -EFAULT);
	assert_int_equal(tcp_outq(c), 10);
	ts_expect_none(t);
	stack_set_copy(t->h->s, NULL);
	ts_abort(t, c);
	ts_free(t);
}

static void test_tcp_recv_fault_consumes_nothing(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t x[4], y[16];
	struct sock_iov v[2] = { { x, sizeof(x) }, { y, sizeof(y) } };

	(void)state;
	ts_inject(t, "P. 1:11(10) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	use_flaky(t, 2);
	assert_int_equal(tcp_recvv(c, v, 2, 0, t->h->now), -EFAULT);
	assert_int_equal(tcp_inq(c), 10);
	use_flaky(t, 1);
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_PEEK, t->h->now), -EFAULT);
	assert_int_equal(tcp_inq(c), 10);
	/* It reads as if the failed calls never were. */
	use_flaky(t, 0);
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_PEEK, t->h->now), 10);
	assert_int_equal(tcp_inq(c), 10);
	assert_int_equal(tcp_recvv(c, v, 2, 0, t->h->now), 10);
	ts_check_bytes(x, 4, 1);
	ts_check_bytes(y, 6, 5);
	assert_int_equal(tcp_inq(c), 0);
	stack_set_copy(t->h->s, NULL);
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	ts_abort(t, c);
	ts_free(t);
}

/* SOCK_DISCARD: the lengths count, the addresses are never touched (NULL here). */
static void test_tcp_discard(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct sock_iov none = { NULL, 5 };
	uint8_t buf[16];

	(void)state;
	ts_inject(t, "P. 1:13(12) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	use_flaky(t, 1);     /* any copy would fail */
	assert_int_equal(tcp_recvv(c, &none, 1, SOCK_DISCARD | SOCK_PEEK, t->h->now), 5);
	assert_int_equal(tcp_inq(c), 12);
	assert_int_equal(tcp_recvv(c, &none, 1, SOCK_DISCARD, t->h->now), 5);
	assert_int_equal(tcp_inq(c), 7);
	assert_int_equal(copies, 0);
	use_flaky(t, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), 0, t->h->now), 7);
	ts_check_bytes(buf, 7, 6);
	stack_set_copy(t->h->s, NULL);
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	ts_abort(t, c);
	ts_free(t);
}

/* Urgent data (tcp_recvv's SOCK_OOB, tcp_sendv_urg). Received: the byte is
 * marked read before it is copied, as in Linux's tcp_recv_urg, so a failed
 * copy loses it (a peek keeps it); the read that skips it at the mark
 * consumes nothing when its copy fails. Sent: a failed copy leaves the
 * urgent pointer as it was and sends nothing. */
static void test_tcp_urgent_fault(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];
	struct sock_iov v[2] = { { b, 0 }, { b + 1, 8 } };

	(void)state;
	ts_inject(t, "PU. 1:4(3) ack 1 win 502 urg 3 <nop,nop,TS val 110 ecr 0>");
	use_flaky(t, 1);
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_OOB | SOCK_PEEK, t->h->now), -EFAULT);
	/* Peeked: still there, copied into the first buffer with room. */
	use_flaky(t, 0);
	memset(b, 0, sizeof(b));
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_OOB | SOCK_PEEK, t->h->now), 1);
	assert_int_equal(b[1], ts_byte(3));
	/* MSG_TRUNC: counted, never copied. */
	use_flaky(t, 1);
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_OOB | SOCK_PEEK | SOCK_DISCARD, t->h->now), 1);
	assert_int_equal(copies, 0);
	/* Read: gone with the failed copy. */
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_OOB, t->h->now), -EFAULT);
	use_flaky(t, 0);
	assert_int_equal(tcp_recvv(c, v, 2, SOCK_OOB, t->h->now), -EINVAL);
	/* The stream: two bytes, then the mark; a failed copy consumes nothing. */
	use_flaky(t, 1);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -EFAULT);
	assert_int_equal(tcp_inq(c), 2);
	use_flaky(t, 0);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2);
	ts_check_bytes(b, 2, 1);
	assert_true(tcp_atmark(c));

	/* Sending: the failed urgent write leaves no urgent mode behind. */
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	assert_int_equal(tcp_setopt(c, TCP_OPT_NODELAY, 1), 0);
	use_flaky(t, 1);
	assert_int_equal(tcp_send_urg(c, "u", 1, t->h->now), -EFAULT);
	ts_expect_none(t);
	use_flaky(t, 0);
	assert_int_equal(tcp_send(c, "ab", 2, t->h->now), 2);
	ts_expect(t, "P. 1:3(2) ack 4 win 502 " TSO);
	v[0] = (struct sock_iov){ "c", 1 };
	v[1] = (struct sock_iov){ "d", 1 };
	assert_int_equal(tcp_sendv_urg(c, v, 2, t->h->now), 2);
	ts_expect(t, "PU. 3:5(2) ack 4 win 502 urg 2 " TSO);
	stack_set_copy(t->h->s, NULL);
	ts_abort(t, c);
	ts_free(t);
}

static void test_udp_fault(void **state)
{
	struct tscript *t = ts_new(100);
	struct udp_sock *u = udp_open(t->h->s);
	struct ip4_endpoint me = { 0, 5000 }, peer = { H_PEER_IP, 40000 }, src;
	uint8_t frame[H_MAX_FRAME];
	char buf[16];
	size_t full, n;

	(void)state;
	assert_int_equal(udp_bind(u, &me, 0), 0);
	n = h_build_udp(frame, H_PEER_IP, 40000, H_STACK_IP, 5000, (const uint8_t *)"one", 3);
	h_inject(t->h, frame, n);
	n = h_build_udp(frame, H_PEER_IP, 40000, H_STACK_IP, 5000, (const uint8_t *)"two", 3);
	h_inject(t->h, frame, n);
	/* Peeked, the datagram stays; received, it is dropped (Linux's udp_recvmsg). */
	use_flaky(t, 1);
	assert_int_equal(udp_recvfrom(u, buf, sizeof(buf), &src, &full, SOCK_PEEK), -EFAULT);
	assert_int_equal(udp_next_size(u), 3);
	use_flaky(t, 1);
	assert_int_equal(udp_recvfrom(u, buf, sizeof(buf), &src, &full, 0), -EFAULT);
	assert_int_equal(stack_stats(t->h->s)->drops[DROP_UDP_COPY_FAULT], 1);
	use_flaky(t, 0);
	assert_int_equal(udp_recvfrom(u, buf, sizeof(buf), &src, &full, 0), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(udp_recvfrom(u, buf, sizeof(buf), &src, &full, 0), -EAGAIN);
	/* A datagram that cannot be copied in is not sent. */
	h_drain_tx(t->h);
	use_flaky(t, 1);
	assert_int_equal(udp_sendto(u, "abc", 3, &peer, t->h->now), -EFAULT);
	assert_null(h_pop_tx(t->h));
	use_flaky(t, 0);
	assert_int_equal(udp_sendto(u, "abc", 3, &peer, t->h->now), 3);
	h_drain_tx(t->h);
	stack_set_copy(t->h->s, NULL);
	udp_close(u);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_send_fault_queues_nothing),
		cmocka_unit_test(test_tcp_recv_fault_consumes_nothing),
		cmocka_unit_test(test_tcp_discard),
		cmocka_unit_test(test_tcp_urgent_fault),
		cmocka_unit_test(test_udp_fault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
