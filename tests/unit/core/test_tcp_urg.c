/* TCP urgent data (RFC 9293 §3.8.5, RFC 6093), the Linux way: the sender's
 * URG flag and pointer (one past the urgent byte), the receiver's one byte
 * out of band (MSG_OOB), the read that stops at the mark and skips the byte,
 * SO_OOBINLINE, SIOCATMARK, POLLPRI and the owner's notice (SIGURG). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

#define TSO "<nop,nop,TS val * ecr *>"

static uint8_t big[4000];

/* A wakeup that counts readiness changes and urgent pointers apart. */
struct urg_watch {
	int wakes, urgents;
};

static void on_wake(void *ctx) { ((struct urg_watch *)ctx)->wakes++; }
static void on_urgent(void *ctx) { ((struct urg_watch *)ctx)->urgents++; }

static void watch(struct tcp_conn *c, struct urg_watch *w)
{
	struct sock_wakeup sw = { .fn = on_wake, .ctx = w, .urgent = on_urgent };

	memset(w, 0, sizeof(*w));
	tcp_set_wakeup(c, &sw);
}

/* The sender: Nagle does not hold urgent data; every segment before the
 * pointer carries it; it ends once acknowledged. */
static void test_send_urgent(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	int n = 0;

	(void)state;
	assert_int_equal(tcp_send(c, "ab", 2, t->h->now), 2);
	ts_expect(t, "P. 1:3(2) ack 1 win 502 " TSO);
	/* Unacknowledged data in flight: Nagle would hold "c", urgent it goes. */
	assert_int_equal(tcp_send_urg(c, "c", 1, t->h->now), 1);
	ts_expect(t, "PU. 3:4(1) ack 1 win 502 urg 1 " TSO);
	ts_inject(t, ". 1:1(0) ack 4 win 502 <nop,nop,TS val 110 ecr 0>");
	/* Acknowledged: no more URG. */
	assert_int_equal(tcp_send(c, "d", 1, t->h->now), 1);
	ts_expect(t, "P. 4:5(1) ack 1 win 502 " TSO);
	ts_inject(t, ". 1:1(0) ack 5 win 502 <nop,nop,TS val 111 ecr 0>");
	/* A long urgent write: each segment points at the same last byte. */
	assert_int_equal(tcp_send_urg(c, big, 3000, t->h->now), 3000);
	ts_expect(t, "U. 5:1453(1448) ack 1 win 502 urg 3000 " TSO);
	ts_expect(t, "U. 1453:2901(1448) ack 1 win 502 urg 1552 " TSO);
	ts_expect(t, "PU. 2901:3005(104) ack 1 win 502 urg 104 " TSO);
	ts_inject(t, ". 1:1(0) ack 2901 win 502 <nop,nop,TS val 112 ecr 0>");
	ts_expect_none(t);
	/* A retransmission carries it too (the probe, then the timeout's). */
	ts_advance_ms(t, 1000);
	for (char got[512]; ts_next(t, got, sizeof(got)); n++)
		assert_non_null(strstr(got, "PU. 2901:3005(104) ack 1 win 502 urg 104 "));
	assert_true(n > 0);
	ts_abort(t, c);
	ts_free(t);
}

/* The receiver: the byte the pointer names (pointer - 1) is out of band. */
static void test_receive_urgent(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct urg_watch w;
	uint8_t b[16];

	(void)state;
	watch(c, &w);
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EINVAL);
	ts_inject(t, "PU. 1:4(3) ack 1 win 502 urg 3 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(w.urgents, 1);
	assert_true(w.wakes > 0);
	assert_int_equal(tcp_poll(c) & (SOCK_POLLIN | SOCK_POLLPRI), SOCK_POLLIN | SOCK_POLLPRI);
	assert_false(tcp_atmark(c));
	assert_int_equal(tcp_inq(c), 2);    /* like Linux's SIOCINQ: up to the mark */
	/* MSG_PEEK leaves it; a read takes it once. */
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB | SOCK_PEEK, t->h->now), 1);
	assert_int_equal(b[0], ts_byte(3));
	memset(b, 0, sizeof(b));
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), 1);
	assert_int_equal(b[0], ts_byte(3));
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EINVAL);
	assert_int_equal(tcp_poll(c) & SOCK_POLLPRI, 0);
	/* The stream stops at the mark ... */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2);
	ts_check_bytes(b, 2, 1);
	assert_true(tcp_atmark(c));
	/* ... where only the urgent byte is left: not readable, and skipped. */
	assert_int_equal(tcp_poll(c) & SOCK_POLLIN, 0);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), -EAGAIN);
	assert_false(tcp_atmark(c));
	assert_int_equal(tcp_inq(c), 0);
	ts_inject(t, "P. 4:6(2) ack 1 win 502 <nop,nop,TS val 111 ecr 0>");
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2);
	ts_check_bytes(b, 2, 4);
	assert_int_equal(w.urgents, 1);
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	ts_abort(t, c);
	ts_free(t);
}

/* The pointer before its byte: SIGURG at once, EAGAIN until the byte comes;
 * a read takes the data before it, then the data after it. */
static void test_pointer_before_byte(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct urg_watch w;
	uint8_t b[16];

	(void)state;
	watch(c, &w);
	ts_inject(t, "PU. 1:3(2) ack 1 win 502 urg 6 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(w.urgents, 1);
	assert_int_equal(tcp_poll(c) & SOCK_POLLPRI, 0);
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EAGAIN);
	/* The same pointer again is no news. */
	ts_inject(t, "PU. 3:5(2) ack 1 win 502 urg 4 <nop,nop,TS val 111 ecr 0>");
	assert_int_equal(w.urgents, 1);
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EAGAIN);
	ts_inject(t, "P. 5:10(5) ack 1 win 502 <nop,nop,TS val 112 ecr 0>");
	assert_int_equal(tcp_poll(c) & SOCK_POLLPRI, SOCK_POLLPRI);
	/* Bytes 1..5, then the mark at 6: skipped, 7..9 follow. */
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 5);
	ts_check_bytes(b, 5, 1);
	assert_true(tcp_atmark(c));
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 3);
	ts_check_bytes(b, 3, 7);
	/* Read past without MSG_OOB: the byte is gone (Linux). */
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EINVAL);
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	ts_abort(t, c);
	ts_free(t);
}

/* SO_OOBINLINE: the byte stays in the stream; the read still stops at the mark. */
static void test_oobinline(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	uint8_t b[16];
	int v = 0;

	(void)state;
	assert_int_equal(tcp_setopt(c, TCP_OPT_OOBINLINE, 1), 0);
	assert_int_equal(tcp_getopt(c, TCP_OPT_OOBINLINE, &v), 0);
	assert_int_equal(v, 1);
	ts_inject(t, "PU. 1:4(3) ack 1 win 502 urg 3 <nop,nop,TS val 110 ecr 0>");
	assert_int_equal(tcp_poll(c) & (SOCK_POLLIN | SOCK_POLLPRI), SOCK_POLLIN | SOCK_POLLPRI);
	assert_int_equal(tcp_recv(c, b, sizeof(b), SOCK_OOB, t->h->now), -EINVAL);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 2);
	assert_true(tcp_atmark(c));
	assert_int_equal(tcp_poll(c) & SOCK_POLLIN, SOCK_POLLIN);
	assert_int_equal(tcp_recv(c, b, sizeof(b), 0, t->h->now), 1);
	assert_int_equal(b[0], ts_byte(3));
	assert_false(tcp_atmark(c));
	assert_int_equal(tcp_poll(c) & (SOCK_POLLIN | SOCK_POLLPRI), 0);
	h_drain_tx(t->h);            /* the ACKs (quick, and the reads'), not what this checks */
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_urgent),
		cmocka_unit_test(test_receive_urgent),
		cmocka_unit_test(test_pointer_before_byte),
		cmocka_unit_test(test_oobinline),
	};
	return cmocka_run_group_tests_name("tcp_urg", tests, NULL, NULL);
}
