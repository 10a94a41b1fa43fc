/*
 * Socket-call answers that Linux's packetdrill selftests check and only the
 * shim gives (tools/testing/selftests/net/packetdrill/ in the kernel tree):
 * MSG_ZEROCOPY's completion ids, which a send that fails or sends nothing
 * does not use up; EFAULT for buffers at NULL. Each test says which
 * selftest it follows.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <linux/errqueue.h>
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
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

static struct tscript *T;
static char data[4000];

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

/* The next zerocopy completion on fd's error queue: its range of ids, or
 * the call's error (r < 0). */
struct zc_done {
	ssize_t r;
	uint32_t lo, hi;
};

static struct zc_done read_zc(int fd)
{
	union { char c[256]; struct cmsghdr a; } ctl;
	char b[16];
	struct iovec iov = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c, .msg_controllen = sizeof(ctl.c) };
	struct zc_done z = { 0, 0, 0 };
	struct cmsghdr *h;
	struct sock_extended_err ee;

	z.r = shim_recvmsg(fd, &m, MSG_ERRQUEUE);
	if (z.r < 0)
		return z;
	h = CMSG_FIRSTHDR(&m);
	assert_non_null(h);
	memcpy(&ee, CMSG_DATA(h), sizeof(ee));
	assert_int_equal(ee.ee_errno, 0);
	assert_int_equal(ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
	assert_int_equal(ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
	z.lo = ee.ee_info;
	z.hi = ee.ee_data;
	return z;
}

/* Follows tcp_zerocopy_closed.pkt: MSG_ZEROCOPY on a socket never
 * connected fails with EPIPE and queues no completion; the first send
 * after connect() then has id 0 (the failed one took none). Also
 * tcp_syscall_bad_arg_sendmsg-empty-iov.pkt's send of empty buffers only
 * (0 bytes, no id used: Linux asks for an id only when there are bytes). */
static void test_zerocopy_ids_skip_failed_and_empty_sends(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(TS_PEER_PORT),
				    .sin_addr.s_addr = htonl(H_PEER_IP) };
	struct iovec empty[2] = { { data, 0 }, { data, 0 } };
	struct msghdr m = { .msg_iov = empty, .msg_iovlen = 2 };
	struct zc_done z;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)), 0);
	assert_int_equal(shim_sendto(fd, data, 4000, MSG_ZEROCOPY | MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(read_zc(fd).r, -EAGAIN);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, (struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	inject("S. 0:0(0) ack 1 win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_sendmsg(fd, &m, MSG_ZEROCOPY), 0);
	assert_int_equal(shim_sendto(fd, data, 4000, MSG_ZEROCOPY, NULL, 0), 4000);
	for (int i = 0; i < 3; i++)
		expect_prefix(". ");
	expect_prefix("P. 3001:4001(1000) ack 1");
	assert_int_equal(read_zc(fd).r, -EAGAIN);
	inject(". 1:1(0) ack 4001 win 257");
	z = read_zc(fd);
	assert_int_equal(z.r, 0);
	assert_int_equal(z.lo, 0);
	assert_int_equal(z.hi, 0);
	assert_int_equal(read_zc(fd).r, -EAGAIN);
	assert_int_equal(shim_close(fd), 0);
}

/* Follows tcp_syscall_bad_arg_syscall-invalid-buf-ptr.pkt: on an accepted
 * connection, write, send and sendto of 1000 bytes from NULL fail with
 * EFAULT (nothing goes out); with 1000 bytes of the peer's queued, read,
 * recv and recvfrom into NULL fail with EFAULT too (Linux's
 * skb_copy_datagram_iter meets the bad address; the data stays queued:
 * a read into good memory then takes it). */
static void test_null_buffers_efault(void **state)
{
	int l = shim_socket(AF_INET, SOCK_STREAM, 0), fd, one = 1;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TS_LOCAL_PORT) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(TS_PEER_PORT),
				    .sin_addr.s_addr = htonl(H_PEER_IP) };
	char buf[1000];

	(void)state;
	assert_true(l >= 0);
	assert_int_equal(shim_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_fcntl(l, F_SETFL, O_RDWR | O_NONBLOCK), 0);
	assert_int_equal(shim_bind(l, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(shim_listen(l, 1), 0);
	inject("S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 10>");
	expect_prefix("S. 0:0(0) ack 1 ");
	stack_lock(&fh.lock);
	ts_advance_ms(T, 200);
	stack_unlock(&fh.lock);
	inject(". 1:1(0) ack 1 win 514");
	fd = shim_accept4(l, NULL, NULL, 0);
	assert_true(fd >= 0);

	fh_catch_faults();
	assert_int_equal(shim_sendto(fd, NULL, 1000, 0, NULL, 0), -EFAULT);       /* write() */
	assert_int_equal(shim_sendto(fd, NULL, 1000, 0, NULL, 0), -EFAULT);       /* send() */
	assert_int_equal(shim_sendto(fd, NULL, 1000, 0, (struct sockaddr *)&peer, sizeof(peer)), -EFAULT);
	fh_ts_expect_none(T);

	inject(". 1:1001(1000) ack 1 win 200");
	expect_prefix(". 1:1(0) ack 1001 ");
	assert_int_equal(shim_read(fd, NULL, 1000), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, NULL, 1000, 0, NULL, NULL), -EFAULT);  /* recv() */
	assert_int_equal(shim_recvfrom(fd, NULL, 1000, 0, (struct sockaddr *)&peer, &(socklen_t){ sizeof(peer) }),
			 -EFAULT);
	assert_int_equal(shim_read(fd, buf, sizeof(buf)), 1000);
	ts_check_bytes((const uint8_t *)buf, 1000, 1);
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 1:1(0) ack 1001 ");
	assert_int_equal(shim_close(l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zerocopy_ids_skip_failed_and_empty_sends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_buffers_efault, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
