/*
 * The shim's side of issue 12's options and flags on the scripted peer: the
 * control messages of MSG_ERRQUEUE on TCP (send timestamps with OPT_ID keys,
 * zerocopy completions, IPV6_RECVERR on an AF_INET6 socket) and POLLERR,
 * TCP_CM_INQ, options an accepted socket shows (its listener's), and splice
 * between a stack socket and a pipe that loses no byte when the pipe is
 * nearly full.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

#ifndef TCP_CM_INQ
#define TCP_CM_INQ 36
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

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

static void inject(const char *spec) { fh_ts_inject(T, spec); }

static void expect_prefix(const char *prefix) { fh_ts_expect_prefix(T, prefix); }

static short poll1(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec zero = { 0, 0 };

	assert_true(shim_ppoll(&p, 1, &zero, NULL) >= 0);
	return p.revents;
}

/* An established connection of family fam (AF_INET6: IPv4-mapped). */
static int connected(int fam, const int *opt_before, int nopt)
{
	int fd = shim_socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_storage me, peer;
	socklen_t len;

	assert_true(fd >= 0);
	for (int i = 0; i < nopt; i += 3)
		assert_int_equal(shim_setsockopt(fd, opt_before[i], opt_before[i + 1], &opt_before[i + 2], sizeof(int)),
				 0);
	memset(&me, 0, sizeof(me));
	memset(&peer, 0, sizeof(peer));
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&me, *b = (struct sockaddr_in *)&peer;

		a->sin_family = b->sin_family = AF_INET;
		a->sin_port = htons(TS_LOCAL_PORT);
		b->sin_port = htons(TS_PEER_PORT);
		b->sin_addr.s_addr = htonl(H_PEER_IP);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&me, *b = (struct sockaddr_in6 *)&peer;
		uint32_t ip = htonl(H_PEER_IP);

		a->sin6_family = b->sin6_family = AF_INET6;
		a->sin6_port = htons(TS_LOCAL_PORT);
		b->sin6_port = htons(TS_PEER_PORT);
		b->sin6_addr.s6_addr[10] = b->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&b->sin6_addr.s6_addr[12], &ip, 4);
		len = sizeof(*a);
	}
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, len), 0);
	assert_int_equal(shim_connect(fd, (struct sockaddr *)&peer, len), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	return fd;
}

struct errq_msg {
	ssize_t r;
	int flags;
	bool have_ts, have_ee;
	int ee_level, ee_type;
	struct sock_extended_err ee;
};

static struct errq_msg read_errq(int fd)
{
	union { char c[512]; struct cmsghdr a; } ctl;
	char b[16];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof(ctl.c) };
	struct errq_msg e;

	memset(&e, 0, sizeof(e));
	e.r = shim_recvmsg(fd, &m, MSG_ERRQUEUE);
	if (e.r < 0)
		return e;
	e.flags = m.msg_flags;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_TIMESTAMPING_OLD) {
			assert_false(e.have_ee);        /* Linux's order: the timestamp first */
			e.have_ts = true;
		} else {
			e.have_ee = true;
			e.ee_level = h->cmsg_level;
			e.ee_type = h->cmsg_type;
			memcpy(&e.ee, CMSG_DATA(h), sizeof(e.ee));
		}
	}
	return e;
}

/* Send timestamps: OPT_ID's keys count from SND.UNA when it was set. */
static void test_errq_timestamps(void **state)
{
	int fd = connected(AF_INET, NULL, 0);
	int v = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
		SOF_TIMESTAMPING_OPT_TSONLY, got = 0;
	socklen_t len = sizeof(got);
	struct errq_msg e;

	(void)state;
	assert_int_equal(shim_sendto(fd, "abc", 3, 0, NULL, 0), 3);
	expect_prefix("P. 1:4(3)");
	inject(". 1:1(0) ack 4 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &v, sizeof(v)), 0);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING_OLD, &got, &len), 0);
	assert_int_equal(got, v);
	assert_int_equal(shim_sendto(fd, "0123456789", 10, 0, NULL, 0), 10);
	expect_prefix("P. 4:14(10)");
	assert_true(poll1(fd, POLLIN) & POLLERR);
	e = read_errq(fd);
	assert_int_equal(e.r, 0);
	assert_int_equal(e.flags, MSG_ERRQUEUE);
	assert_true(e.have_ts);
	assert_true(e.have_ee);
	assert_int_equal(e.ee_level, SOL_IP);
	assert_int_equal(e.ee_type, IP_RECVERR);
	assert_int_equal(e.ee.ee_errno, ENOMSG);
	assert_int_equal(e.ee.ee_origin, SO_EE_ORIGIN_TIMESTAMPING);
	assert_int_equal(e.ee.ee_info, SCM_TSTAMP_SND);
	assert_int_equal(e.ee.ee_data, 9);     /* the 10th byte after the base */
	assert_int_equal(read_errq(fd).r, -EAGAIN);
	assert_false(poll1(fd, POLLIN) & POLLERR);
	assert_int_equal(shim_close(fd), 0);
}

/* Zerocopy completions on an AF_INET6 socket: IPV6_RECVERR, one merged range. */
static void test_errq_zerocopy_v6(void **state)
{
	const int opts[] = { SOL_SOCKET, SO_ZEROCOPY, 1 };
	int fd = connected(AF_INET6, opts, 3);
	struct errq_msg e;

	(void)state;
	assert_int_equal(shim_sendto(fd, "abc", 3, MSG_ZEROCOPY, NULL, 0), 3);
	expect_prefix("P. 1:4(3)");
	assert_int_equal(shim_sendto(fd, "de", 2, MSG_ZEROCOPY, NULL, 0), 2);
	assert_int_equal(read_errq(fd).r, -EAGAIN);
	inject(". 1:1(0) ack 4 win 502 <nop,nop,TS val 101 ecr 0>");
	expect_prefix("P. 4:6(2)");
	inject(". 1:1(0) ack 6 win 502 <nop,nop,TS val 102 ecr 0>");
	e = read_errq(fd);
	assert_int_equal(e.r, 0);
	assert_false(e.have_ts);
	assert_int_equal(e.ee_level, SOL_IPV6);
	assert_int_equal(e.ee_type, IPV6_RECVERR);
	assert_int_equal(e.ee.ee_errno, 0);
	assert_int_equal(e.ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
	assert_int_equal(e.ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
	assert_int_equal(e.ee.ee_info, 0);
	assert_int_equal(e.ee.ee_data, 1);
	assert_int_equal(shim_close(fd), 0);
}

/* TCP_CM_INQ on each read: the bytes left. */
static void test_inq_cmsg(void **state)
{
	const int opts[] = { IPPROTO_TCP, TCP_INQ, 1 };
	int fd = connected(AF_INET, opts, 3), inq = -1;
	union { char c[64]; struct cmsghdr a; } ctl;
	char b[4];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof(ctl.c) };
	struct cmsghdr *h;

	(void)state;
	inject("P. 1:11(10) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(shim_recvmsg(fd, &m, 0), 4);
	h = CMSG_FIRSTHDR(&m);
	assert_non_null(h);
	assert_int_equal(h->cmsg_level, SOL_TCP);
	assert_int_equal(h->cmsg_type, TCP_CM_INQ);
	memcpy(&inq, CMSG_DATA(h), sizeof(inq));
	assert_int_equal(inq, 6);
	assert_int_equal(shim_close(fd), 0);
}

/* splice from the socket into a pipe with 5 bytes of room: 5 move, the
 * rest stays readable; back from the pipe into the socket. */
static void test_splice_pipe_room(void **state)
{
	int fd = connected(AF_INET, NULL, 0), p[2], cap;
	static char fill[1 << 20];
	char b[32];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	assert_true(cap > 5 && (size_t)cap <= sizeof(fill));
	assert_int_equal(write(p[1], fill, (size_t)cap - 5), cap - 5);
	inject("P. 1:13(12) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	expect_prefix(". 1:1(0) ack 13");       /* the first data: a quick ACK */
	assert_int_equal(shim_splice(fd, NULL, p[1], NULL, 100, 0), 5);
	assert_int_equal(shim_splice(fd, NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK), -EAGAIN);
	for (n = cap - 5; n > 0;)
		n -= read(p[0], fill, (size_t)n < sizeof(fill) ? (size_t)n : sizeof(fill));
	assert_int_equal(read(p[0], b, sizeof(b)), 5);
	ts_check_bytes((uint8_t *)b, 5, 1);
	assert_int_equal(shim_splice(fd, NULL, p[1], NULL, 100, 0), 7);
	assert_int_equal(read(p[0], b, sizeof(b)), 7);
	ts_check_bytes((uint8_t *)b, 7, 6);
	/* the other way: the pipe's bytes go out, the pipe is empty after */
	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(shim_splice(p[0], NULL, fd, NULL, 100, 0), 5);
	expect_prefix("P. 1:6(5)");
	assert_int_equal(shim_splice(p[0], NULL, fd, NULL, 100, SPLICE_F_NONBLOCK), -EAGAIN);
	close(p[0]);
	close(p[1]);
	assert_int_equal(shim_close(fd), 0);
}

/* splice stops at the urgent mark: the bytes before it move, then 0 while
 * the urgent byte (out of band) is next, where a read would skip it; the
 * byte is MSG_OOB's (Linux's selftest tcp_splice_tcp_splice_loop_test). */
static void test_splice_stops_at_urgent_mark(void **state)
{
	int fd = connected(AF_INET, NULL, 0), p[2];
	char b[128], c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	inject("U. 1:101(100) ack 1 win 502 urg 100 <nop,nop,TS val 101 ecr 0>");
	expect_prefix(". 1:1(0) ack 101");
	assert_int_equal(shim_splice(fd, NULL, p[1], NULL, 99, 0), 99);
	assert_int_equal(shim_splice(fd, NULL, p[1], NULL, 1, 0), 0);
	assert_int_equal(read(p[0], b, sizeof(b)), 99);
	ts_check_bytes((uint8_t *)b, 99, 1);
	assert_int_equal(shim_recvfrom(fd, &c, 1, MSG_OOB, NULL, NULL), 1);
	assert_int_equal((uint8_t)c, ts_byte(100));
	close(p[0]);
	close(p[1]);
	assert_int_equal(shim_close(fd), 0);
}

/* sendmsg(MSG_OOB) over two iovecs: the urgent pointer marks the call's
 * last byte only (Linux pushes a call's data at its end); the first
 * iovec's bytes are ordinary data. */
static void test_oob_iovecs_one_urgent_byte(void **state)
{
	int fd = connected(AF_INET, NULL, 0);
	struct iovec v[2] = { { "ab", 2 }, { "cd", 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	(void)state;
	assert_int_equal(shim_sendmsg(fd, &m, MSG_OOB), 4);
	expect_prefix("P. 1:3(2) ack 1 ");
	expect_prefix("PU. 3:5(2) ack 1 ");
	assert_int_equal(shim_close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_errq_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errq_zerocopy_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inq_cmsg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_pipe_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_stops_at_urgent_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oob_iovecs_one_urgent_byte, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
