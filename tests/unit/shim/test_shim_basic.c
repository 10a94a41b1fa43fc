/*
 * The socket shim on a stack on the in-memory link: errno for every misuse,
 * addresses (IPv4, IPv4-mapped IPv6), UDP round trips, dup/close reference
 * counting, readiness (poll/select/epoll), blocking, wakeups and signals,
 * wake-ups signalled after the lock, the first epoll ADD from many threads.
 *
 * The shim runs with the real libc (nothing is interposed in a test binary,
 * and h_checked_libc refuses calls made under the lock), so placeholders are
 * real kernel sockets; the host is the harness's stack behind the stack lock
 * (stack/host/lock.h), as in the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "stack/core/ip4.h"
#include "stack/core/log.h"
#include "stack/dev/sysc.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/fake_host.h"

static struct harness *H;
/* The stack's interface: named like the loopback here, the one interface
 * every test machine has. */
static int t_iface(void *c, struct shim_iface *out)
{
	(void)c;
	memset(out, 0, sizeof(*out));
	strcpy(out->name, "lo");
	out->index = 1;
	out->addr = H_STACK_IP;
	out->prefix_len = 24;
	memcpy(out->mac, (uint8_t[6]){ 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 }, 6);
	out->mtu = 1400;
	return 0;
}

static void join_then_flush(void);

static int (*fcntl_override)(int, int, ...);

/* Every ppoll() the shim makes, counted (then the table's own). */
static int (*ppoll_next)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static unsigned ppoll_calls;

static int counting_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *m)
{
	ppoll_calls++;
	return ppoll_next(fds, n, ts, m);
}

/* Every sigaction() the shim makes, counted, with whether this thread had
 * SIGUSR1 blocked during it (the locked path blocks every signal). */
static int (*sigaction_next)(int, const struct sigaction *, struct sigaction *);
static unsigned sigaction_calls, sigaction_blocked;

static int counting_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigset_t cur;

	sigaction_calls++;
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGUSR1) == 1)
		sigaction_blocked++;
	return sigaction_next(sig, act, old);
}

static void use_fcntl(struct shim_libc *libc)
{
	if (fcntl_override)
		libc->fcntl = fcntl_override;
	ppoll_next = libc->ppoll;
	libc->ppoll = counting_ppoll;
	sigaction_next = libc->sigaction;
	libc->sigaction = counting_sigaction;
}

/* fcntl() of the libc table is fcntl_fn (NULL: the real one). */
static void init_shim(int (*fcntl_fn)(int, int, ...))
{
	struct shim_host host;

	fcntl_override = fcntl_fn;
	fh_host(&host);
	host.iface = t_iface;
	fh_init_shim(&host, use_fcntl);
}

static int setup(void **state)
{
	(void)state;
	H = h_new(NULL, false);
	fh_setup(H, join_then_flush);
	h_learn_peer(H);
	init_shim(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fh_teardown();
	h_free(H);
	return 0;
}

static void inject(const uint8_t *f, size_t n)
{
	stack_lock(&fh.lock);
	h_inject(H, f, n);
	stack_unlock(&fh.lock);
}

static void inject_udp(uint16_t sport, uint16_t dport, const char *text)
{
	static uint8_t buf[H_MAX_FRAME];
	size_t n = h_build_udp(buf, H_PEER_IP, sport, H_STACK_IP, dport, (const uint8_t *)text, strlen(text));

	inject(buf, n);
}

static struct h_frame *pop(void)
{
	struct h_frame *f;

	stack_lock(&fh.lock);
	f = h_pop_tx(H);
	stack_unlock(&fh.lock);
	return f;
}

static struct sockaddr_in sin4(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons(port);
	return a;
}

#define SA(x) ((struct sockaddr *)&(x))

/* Waits (yielding, bounded) until n waiters are on fd: a thread is blocked. */
static void await_waiters(int fd, int n)
{
	for (long i = 0; i < 100000000L; i++) {
		if (shim_test_waiters(fd) >= n)
			return;
		sched_yield();
	}
	fail_msg("no thread blocked on fd %d", fd);
}

/* ---- errno for misuse ---- */

static void test_not_ours_passes(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(shim_socket(AF_UNIX, SOCK_STREAM, 0), SHIM_PASS);
	assert_int_equal(shim_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), SHIM_PASS);
	assert_int_equal(shim_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), SHIM_PASS);
	assert_int_equal(pipe(p), 0);
	assert_false(shim_owns(p[0]));
	assert_int_equal(shim_close(p[0]), SHIM_PASS);
	assert_int_equal(shim_recvfrom(p[0], NULL, 0, 0, NULL, NULL), SHIM_PASS);
	assert_int_equal(shim_fcntl(p[0], F_SETFL, O_NONBLOCK), SHIM_PASS);
	close(p[0]);
	close(p[1]);
	assert_int_equal(fh.start_calls, 0);
}

static void test_socket_is_lazy_and_placeholder_real(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int type = 0;
	socklen_t len = sizeof(type);

	(void)state;
	assert_true(fd >= 0);
	assert_true(shim_owns(fd));
	assert_int_equal(fh.start_calls, 0);   /* no stack until it is needed */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	assert_int_equal(type, SOCK_STREAM);
	assert_int_equal(shim_close(fd), 0);
	assert_false(shim_owns(fd));
}

static void test_bind_errors(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4(0, 5000), other = sin4(0xc6336401u, 5000);
	struct sockaddr_in6 a6;

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a) - 1), -EINVAL);
	a.sin_family = AF_INET6;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), -EAFNOSUPPORT);
	a.sin_family = AF_INET;
	assert_int_equal(shim_bind(fd, SA(other), sizeof(other)), -EADDRNOTAVAIL);
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	assert_int_equal(fh.start_calls, 1);
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), -EINVAL);   /* bind twice */
	assert_int_equal(shim_close(fd), 0);

	fd = shim_socket(AF_INET6, SOCK_STREAM, 0);
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_addr.s6_addr[0] = 0x20;   /* 2001:db8::1: native IPv6, the kernel's to judge */
	a6.sin6_addr.s6_addr[1] = 0x01;
	a6.sin6_addr.s6_addr[2] = 0x0d;
	a6.sin6_addr.s6_addr[3] = 0xb8;
	a6.sin6_addr.s6_addr[15] = 1;
	assert_int_equal(shim_bind(fd, SA(a6), 23), -EINVAL);
	/* The placeholder's bind refused it; the socket stays in the shim. */
	assert_int_equal(shim_bind(fd, SA(a6), sizeof(a6)), -EADDRNOTAVAIL);
	assert_true(shim_owns(fd));
	/* A native destination goes to the kernel, as loopback does. */
	assert_int_equal(shim_connect(fd, SA(a6), sizeof(a6)), SHIM_PASS);
	assert_false(shim_owns(fd));
	close(fd);
}

static void test_connect_errors(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sin4(H_PEER_IP, 80);

	(void)state;
	assert_int_equal(shim_connect(fd, SA(a), 1), -EINVAL);
	assert_int_equal(shim_connect(fd, SA(a), sizeof(a) - 2), -EINVAL);
	a.sin_family = AF_APPLETALK;
	assert_int_equal(shim_connect(fd, SA(a), sizeof(a)), -EAFNOSUPPORT);
	assert_int_equal(fh.start_calls, 0);
	assert_int_equal(shim_close(fd), 0);
}

static void test_tcp_misuse(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0);
	char b[4];

	(void)state;
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -ENOTCONN);
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(shim_shutdown(fd, SHUT_RDWR), -ENOTCONN);
	assert_int_equal(shim_shutdown(fd, 7), -EINVAL);
	assert_int_equal(shim_accept4(fd, NULL, NULL, 0), -EINVAL);
	assert_int_equal(shim_accept4(fd, NULL, NULL, 0x40000000), -EINVAL);
	assert_int_equal(shim_listen(u, 5), -EOPNOTSUPP);
	assert_int_equal(shim_accept4(u, NULL, NULL, 0), -EOPNOTSUPP);
	assert_int_equal(shim_sendto(u, "x", 1, 0, NULL, 0), -EDESTADDRREQ);
	assert_int_equal(shim_recvfrom(u, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_getpeername(fd, NULL, NULL), -ENOTCONN);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(u), 0);
}

static void test_options(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	int one = 1, v = -1;
	socklen_t len = sizeof(v);
	struct timeval tv = { 0, 5000 };

	(void)state;
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, 9999, &one, sizeof(one)), -ENOPROTOOPT);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, 9999, &one, sizeof(one)), -ENOPROTOOPT);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 2), -EINVAL);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, 9999, &v, &len), -ENOPROTOOPT);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	assert_int_equal(v, 1);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len), 0);
	assert_int_equal(v, 0);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fh.start_calls, 0);
	assert_int_equal(shim_close(fd), 0);
}

static void test_start_failure_is_enetdown_once(void **state)
{
	int a = shim_socket(AF_INET, SOCK_DGRAM, 0), b = shim_socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = sin4(0, 0), peer = sin4(H_PEER_IP, 9);

	(void)state;
	fh.start_rc = -ENODEV;
	assert_int_equal(shim_bind(a, SA(any), sizeof(any)), -ENETDOWN);
	assert_int_equal(shim_connect(b, SA(peer), sizeof(peer)), -ENETDOWN);
	assert_int_equal(shim_sendto(a, "x", 1, 0, SA(peer), sizeof(peer)), -ENETDOWN);
	assert_int_equal(fh.start_calls, 1);   /* no retrying */
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
}

static void test_loopback_goes_to_kernel(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), t = shim_socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in lo = sin4(0x7f000001u, 0);
	struct sockaddr_in6 lo6;
	socklen_t len = sizeof(lo);

	(void)state;
	assert_int_equal(shim_bind(fd, SA(lo), sizeof(lo)), SHIM_PASS);
	assert_false(shim_owns(fd));
	/* The caller now makes the real call on the placeholder. */
	assert_int_equal(bind(fd, SA(lo), sizeof(lo)), 0);
	assert_int_equal(getsockname(fd, SA(lo), &len), 0);
	assert_true(lo.sin_port != 0);
	close(fd);

	memset(&lo6, 0, sizeof(lo6));
	lo6.sin6_family = AF_INET6;
	lo6.sin6_addr = in6addr_loopback;
	lo6.sin6_port = htons(9);
	assert_int_equal(shim_connect(t, SA(lo6), sizeof(lo6)), SHIM_PASS);
	assert_false(shim_owns(t));
	close(t);
	assert_int_equal(fh.start_calls, 0);
}

/* ---- UDP through the in-memory link ---- */

static void test_udp_round_trip(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sin4(0, 5000), from, peer = sin4(H_PEER_IP, 40000);
	socklen_t len = sizeof(from);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	struct timespec zero = { 0, 0 };
	struct ip4_hdr ih;
	struct h_frame *f;
	const uint8_t *u;
	size_t plen;
	char buf[64];
	int n = -1;

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	assert_int_equal(shim_ppoll(&p, 1, &zero, NULL), 1);
	assert_int_equal(p.revents & (POLLIN | POLLOUT), POLLOUT);

	inject_udp(40000, 5000, "hello");
	assert_int_equal(shim_ppoll(&p, 1, &zero, NULL), 1);
	assert_int_equal(p.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT);
	assert_int_equal(shim_ioctl(fd, FIONREAD, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), MSG_PEEK, NULL, NULL), 5);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, SA(from), &len), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(len, sizeof(from));
	assert_int_equal(ntohl(from.sin_addr.s_addr), H_PEER_IP);
	assert_int_equal(ntohs(from.sin_port), 40000);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -EAGAIN);

	/* A datagram larger than the buffer: cut, MSG_TRUNC gives its real size. */
	inject_udp(40000, 5000, "0123456789");
	assert_int_equal(shim_recvfrom(fd, buf, 4, MSG_TRUNC, NULL, NULL), 10);

	assert_int_equal(shim_sendto(fd, "world", 5, 0, SA(peer), sizeof(peer)), 5);
	f = pop();
	assert_non_null(f);
	u = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, 17);
	assert_int_equal(ih.dst, H_PEER_IP);
	assert_int_equal(plen, 8 + 5);
	assert_int_equal(rd16(u), 5000);
	assert_int_equal(rd16(u + 2), 40000);
	assert_memory_equal(u + 8, "world", 5);
	free(f);
	assert_int_equal(shim_close(fd), 0);
}

/*
 * O_ASYNC on a UDP socket (Linux's sock_wake_async): one signal per datagram
 * queued, to the F_SETOWN owner, with F_SETSIG's signal carrying POLL_IN, the
 * band and the fd the flag was set on; nothing for what was queued before
 * the flag, nothing once it is cleared. The test's thread is the process's
 * first, so the siginfo is the kernel's own (code POLL_IN).
 */
static void test_udp_async_signals(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), sig = SIGRTMIN + 4;
	struct sockaddr_in a = sin4(0, 5010);
	struct timespec zero = { 0, 0 };
	sigset_t m, old;
	siginfo_t si;

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	sigemptyset(&m);
	sigaddset(&m, sig);
	sigaddset(&m, SIGIO);
	assert_int_equal(sigprocmask(SIG_BLOCK, &m, &old), 0);
	inject_udp(40000, 5010, "before");
	assert_int_equal(shim_fcntl(fd, F_SETOWN, getpid()), 0);
	assert_int_equal(shim_fcntl(fd, F_SETSIG, sig), 0);
	assert_int_equal(shim_fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK), 0);
	assert_int_equal(sigtimedwait(&m, &si, &zero), -1);
	inject_udp(40000, 5010, "one");
	inject_udp(40000, 5010, "two");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sigtimedwait(&m, &si, &zero), sig);
		assert_int_equal(si.si_code, POLL_IN);
		assert_int_equal(si.si_band, POLLIN | POLLRDNORM);
		assert_int_equal(si.si_fd, fd);
	}
	assert_int_equal(sigtimedwait(&m, &si, &zero), -1);
	/* Reading raises nothing; neither does a datagram once O_ASYNC is off. */
	assert_int_equal(shim_recvfrom(fd, (char[16]){ 0 }, 16, 0, NULL, NULL), 6);
	assert_int_equal(shim_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	inject_udp(40000, 5010, "three");
	assert_int_equal(sigtimedwait(&m, &si, &zero), -1);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(shim_close(fd), 0);
}

static void test_udp_connected_and_iov(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in peer = sin4(H_PEER_IP, 7000), me;
	socklen_t len = sizeof(me);
	struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
	struct msghdr m;
	char x[2], y[8];
	struct iovec riov[2] = { { x, sizeof(x) }, { y, sizeof(y) } };
	struct h_frame *f;
	struct ip4_hdr ih;
	size_t plen;
	const uint8_t *u;

	(void)state;
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), 0);
	assert_int_equal(shim_getsockname(fd, SA(me), &len), 0);
	assert_int_equal(ntohl(me.sin_addr.s_addr) == H_STACK_IP || me.sin_addr.s_addr == 0, 1);
	assert_true(ntohs(me.sin_port) != 0);
	len = sizeof(peer);
	assert_int_equal(shim_getpeername(fd, SA(peer), &len), 0);
	assert_int_equal(ntohs(peer.sin_port), 7000);

	assert_int_equal(shim_writev(fd, iov, 2), 5);
	f = pop();
	assert_non_null(f);
	u = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(plen, 13);
	assert_memory_equal(u + 8, "abcde", 5);
	free(f);

	inject_udp(7000, ntohs(me.sin_port), "scatter");
	memset(&m, 0, sizeof(m));
	m.msg_iov = riov;
	m.msg_iovlen = 2;
	assert_int_equal(shim_recvmsg(fd, &m, 0), 7);
	assert_memory_equal(x, "sc", 2);
	assert_memory_equal(y, "atter", 5);
	assert_int_equal(m.msg_flags & MSG_TRUNC, 0);
	assert_int_equal(shim_close(fd), 0);
}

/* The next frame: a UDP datagram to dst:dport (returned in *ih). */
static void expect_udp_to(uint32_t dst, uint16_t dport)
{
	struct h_frame *f = pop();
	struct ip4_hdr ih;
	size_t plen;
	const uint8_t *u;

	assert_non_null(f);
	u = h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.proto, IP_PROTO_UDP);
	assert_int_equal(ih.dst, dst);
	assert_int_equal(rd16(u + 2), dport);
	free(f);
}

/*
 * UDP destinations as Linux answers them: a broadcast one needs SO_BROADCAST
 * (EACCES), on connect and sendto; a peer connect() gave port 0 is sent to
 * but is no peer for getpeername; sendto's AF_UNSPEC is AF_INET (on an
 * AF_INET socket); bind takes a broadcast or multicast address.
 */
static void test_udp_destinations(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in bc = sin4(0xc00002ffu, 7000), lbc = sin4(0xffffffffu, 7000);
	struct sockaddr_in zero = sin4(H_PEER_IP, 0), un = sin4(H_PEER_IP, 7001), got;
	struct sockaddr_in mc = sin4(0xe0000001u, 7002);
	socklen_t len = sizeof(got);

	(void)state;
	assert_int_equal(shim_connect(fd, SA(bc), sizeof(bc)), -EACCES);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, SA(bc), sizeof(bc)), -EACCES);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, SA(lbc), sizeof(lbc)), -EACCES);
	assert_null(pop());
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)), 0);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, SA(bc), sizeof(bc)), 1);
	expect_udp_to(0xc00002ffu, 7000);
	assert_int_equal(shim_connect(fd, SA(bc), sizeof(bc)), 0);

	assert_int_equal(shim_connect(fd, SA(zero), sizeof(zero)), 0);
	assert_int_equal(shim_getpeername(fd, SA(got), &len), -ENOTCONN);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, NULL, 0), 1);
	expect_udp_to(H_PEER_IP, 0);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, SA(zero), sizeof(zero)), -EINVAL);
	un.sin_family = AF_UNSPEC;
	assert_int_equal(shim_sendto(fd, "x", 1, 0, SA(un), sizeof(un)), 1);
	expect_udp_to(H_PEER_IP, 7001);
	assert_int_equal(shim_close(fd), 0);

	fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(shim_bind(fd, SA(mc), sizeof(mc)), 0);
	assert_int_equal(shim_close(fd), 0);
	fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	bc.sin_port = 0;
	assert_int_equal(shim_bind(fd, SA(bc), sizeof(bc)), 0);
	assert_int_equal(shim_close(fd), 0);
}

/* Ancillary data on UDP: the receive options' control messages (and
 * MSG_CTRUNC when they do not fit), and sendmsg's checked like the kernel's. */
static void test_udp_control_messages(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), one = 1, ttl = 5;
	struct sockaddr_in peer = sin4(H_PEER_IP, 7000), me;
	socklen_t len = sizeof(me);
	union { char b[256]; struct cmsghdr a; } c;
	char d[16];
	struct iovec v = { d, sizeof(d) };
	struct msghdr m;
	struct cmsghdr *h;
	struct in_pktinfo pi;
	struct h_frame *f;
	struct ip4_hdr ih;
	size_t plen;
	int n = 0;

	(void)state;
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), 0);
	assert_int_equal(shim_getsockname(fd, SA(me), &len), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);
	inject_udp(7000, ntohs(me.sin_port), "hello");
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	assert_int_equal(shim_recvmsg(fd, &m, 0), 5);
	assert_int_equal(m.msg_flags, 0);
	assert_int_equal(m.msg_controllen, CMSG_SPACE(sizeof(pi)) + CMSG_SPACE(sizeof(int)));
	for (h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h), n++) {
		assert_int_equal(h->cmsg_level, IPPROTO_IP);
		if (n == 0) {
			assert_int_equal(h->cmsg_type, IP_PKTINFO);
			memcpy(&pi, CMSG_DATA(h), sizeof(pi));
			assert_int_equal(ntohl(pi.ipi_addr.s_addr), H_STACK_IP);
			assert_int_equal(ntohl(pi.ipi_spec_dst.s_addr), H_STACK_IP);
		} else {
			assert_int_equal(h->cmsg_type, IP_TTL);
			assert_int_equal(*(int *)CMSG_DATA(h), 64);
		}
	}
	assert_int_equal(n, 2);
	/* No room for even a header: cut, nothing written. */
	inject_udp(7000, ntohs(me.sin_port), "again");
	m.msg_controllen = 8;
	assert_int_equal(shim_recvmsg(fd, &m, 0), 5);
	assert_int_equal(m.msg_flags, MSG_CTRUNC);
	assert_int_equal(m.msg_controllen, 0);

	/* sendmsg: IP_TTL for this datagram only; a cmsg_len past the buffer. */
	memset(&c, 0, sizeof(c));
	v = (struct iovec){ "x", 1 };
	m.msg_control = c.b;
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &ttl, sizeof(ttl));
	assert_int_equal(shim_sendmsg(fd, &m, 0), 1);
	f = pop();
	assert_non_null(f);
	(void)h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.ttl, 5);
	free(f);
	h->cmsg_len = CMSG_SPACE(sizeof(int)) + 1;
	assert_int_equal(shim_sendmsg(fd, &m, 0), -EINVAL);
	m.msg_control = (void *)1;
	fh_catch_faults();
	assert_int_equal(shim_sendmsg(fd, &m, 0), -EFAULT);
	assert_null(pop());
	assert_int_equal(shim_close(fd), 0);
}

/* The next frame: an IPv4 datagram to dst; its TTL. */
static int expect_ttl_to(uint32_t dst)
{
	struct h_frame *f = pop();
	struct ip4_hdr ih;
	size_t plen;

	assert_non_null(f);
	(void)h_tx_ip4(f, &ih, &plen);
	assert_int_equal(ih.dst, dst);
	free(f);
	return ih.ttl;
}

/* recvmsg without waiting: one byte, and the IP_TTL control message's value. */
static int recv_ttl(int fd)
{
	union { char b[64]; struct cmsghdr a; } c;
	char d[16];
	struct iovec v = { d, sizeof(d) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	struct cmsghdr *h;
	int ttl;

	assert_int_equal(shim_recvmsg(fd, &m, MSG_DONTWAIT), 1);
	h = CMSG_FIRSTHDR(&m);
	assert_non_null(h);
	assert_int_equal(h->cmsg_level, IPPROTO_IP);
	assert_int_equal(h->cmsg_type, IP_TTL);
	memcpy(&ttl, CMSG_DATA(h), sizeof(ttl));
	return ttl;
}

/*
 * Multicast options beside control messages: a group datagram goes out with
 * IP_MULTICAST_TTL unless sendmsg's IP_TTL gives one (Linux's __ip_make_skb);
 * the copy looped back to a member carries the same TTL (IP_RECVTTL), and
 * IP_MULTICAST_LOOP 0 (one byte, as Linux takes it) stops the copy.
 */
static void test_udp_multicast_options(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), one = 1, ttl = 3, cttl = 9;
	unsigned char off = 0;
	struct sockaddr_in any = sin4(0, 7003), g = sin4(0xef010203u, 7003);
	union { char b[64]; struct cmsghdr a; } c;
	struct iovec v = { (void *)"b", 1 };
	struct msghdr m;
	struct cmsghdr *h;
	struct ip_mreqn mr;
	char d[4];

	(void)state;
	assert_int_equal(shim_bind(fd, SA(any), sizeof(any)), 0);
	memset(&mr, 0, sizeof(mr));
	mr.imr_multiaddr.s_addr = htonl(0xef010203u);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);

	assert_int_equal(shim_sendto(fd, "a", 1, 0, SA(g), sizeof(g)), 1);
	assert_int_equal(expect_ttl_to(0xef010203u), 3);
	assert_int_equal(recv_ttl(fd), 3);

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	m.msg_name = &g;
	m.msg_namelen = sizeof(g);
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = c.b;
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &cttl, sizeof(cttl));
	assert_int_equal(shim_sendmsg(fd, &m, 0), 1);
	assert_int_equal(expect_ttl_to(0xef010203u), 9);
	assert_int_equal(recv_ttl(fd), 9);

	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, 1), 0);
	assert_int_equal(shim_sendto(fd, "c", 1, 0, SA(g), sizeof(g)), 1);
	assert_int_equal(expect_ttl_to(0xef010203u), 3);
	assert_int_equal(shim_recvfrom(fd, d, sizeof(d), MSG_DONTWAIT, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_close(fd), 0);
}

/* Interface ioctls on a stack socket: the kernel answers, the stack's
 * interface (here named "lo") carries the stack's address, mask, MAC and MTU. */
static void test_interface_ioctls(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r, rs[8];
	struct ifconf c = { .ifc_len = sizeof(rs), .ifc_req = rs };
	struct sockaddr_in in;

	(void)state;
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	assert_int_equal(shim_ioctl(fd, SIOCGIFADDR, &r), 0);
	memcpy(&in, &r.ifr_addr, sizeof(in));
	assert_int_equal(in.sin_family, AF_INET);
	assert_int_equal(ntohl(in.sin_addr.s_addr), H_STACK_IP);
	assert_int_equal(shim_ioctl(fd, SIOCGIFNETMASK, &r), 0);
	memcpy(&in, &r.ifr_netmask, sizeof(in));
	assert_int_equal(ntohl(in.sin_addr.s_addr), 0xffffff00u);
	assert_int_equal(shim_ioctl(fd, SIOCGIFBRDADDR, &r), 0);
	memcpy(&in, &r.ifr_broadaddr, sizeof(in));
	assert_int_equal(ntohl(in.sin_addr.s_addr), (H_STACK_IP | 0xffu));
	assert_int_equal(shim_ioctl(fd, SIOCGIFHWADDR, &r), 0);
	assert_memory_equal(r.ifr_hwaddr.sa_data, "\x00\x00\x5e\x00\x53\x01", 6);
	assert_int_equal(shim_ioctl(fd, SIOCGIFMTU, &r), 0);
	assert_int_equal(r.ifr_mtu, 1400);
	/* The kernel's own answers and errors. */
	assert_int_equal(shim_ioctl(fd, SIOCGIFFLAGS, &r), 0);
	assert_true(r.ifr_flags & IFF_LOOPBACK);
	strcpy(r.ifr_name, "nosuch0");
	assert_int_equal(shim_ioctl(fd, SIOCGIFADDR, &r), -ENODEV);
	/* The list: the stack's interface only (no other has IFF_LOOPBACK). */
	assert_int_equal(shim_ioctl(fd, SIOCGIFCONF, &c), 0);
	assert_int_equal(c.ifc_len, (int)sizeof(struct ifreq));
	assert_string_equal(rs[0].ifr_name, "lo");
	memcpy(&in, &rs[0].ifr_addr, sizeof(in));
	assert_int_equal(ntohl(in.sin_addr.s_addr), H_STACK_IP);
	c.ifc_req = NULL;
	assert_int_equal(shim_ioctl(fd, SIOCGIFCONF, &c), 0);
	assert_int_equal(c.ifc_len, (int)sizeof(struct ifreq));
	/* Not a stack socket: not ours. */
	assert_int_equal(shim_ioctl(0, SIOCGIFADDR, &r), SHIM_PASS);
	assert_int_equal(shim_close(fd), 0);
}

/* getifaddrs()'s list (one allocation, head first, as glibc makes it) and
 * if_nameindex()'s array, rewritten in place. */
static void test_interface_lists(void **state)
{
	struct block {
		struct ifaddrs e[3];
		struct sockaddr_in a[3], m[3];
		struct sockaddr_ll ll;
	} *b = calloc(1, sizeof(*b));
	struct ifaddrs *l = &b->e[0];
	struct if_nameindex *v = calloc(4, sizeof(*v));
	struct sockaddr_in in;

	(void)state;
	/* eth0 (hidden), lo with AF_PACKET (the MAC), lo with AF_INET. */
	b->e[0] = (struct ifaddrs){ .ifa_next = &b->e[1], .ifa_name = (char *)"eth0", .ifa_flags = IFF_UP,
				    .ifa_addr = (struct sockaddr *)&b->a[0] };
	b->e[1] = (struct ifaddrs){ .ifa_next = &b->e[2], .ifa_name = (char *)"lo",
				    .ifa_flags = IFF_UP | IFF_LOOPBACK, .ifa_addr = (struct sockaddr *)&b->ll };
	b->e[2] = (struct ifaddrs){ .ifa_name = (char *)"lo", .ifa_flags = IFF_UP | IFF_LOOPBACK,
				    .ifa_addr = (struct sockaddr *)&b->a[2], .ifa_netmask = (struct sockaddr *)&b->m[2] };
	b->a[0].sin_family = AF_INET;
	b->a[2].sin_family = AF_INET;
	b->ll.sll_family = AF_PACKET;
	b->ll.sll_halen = 6;
	shim_iface_fix_ifaddrs(&l);
	assert_ptr_equal(l, &b->e[0]);      /* the head stays the allocation */
	assert_string_equal(l->ifa_name, "lo");
	assert_memory_equal(b->ll.sll_addr, "\x00\x00\x5e\x00\x53\x01", 6);
	assert_ptr_equal(l->ifa_next, &b->e[2]);
	assert_null(b->e[2].ifa_next);
	memcpy(&in, b->e[2].ifa_addr, sizeof(in));
	assert_int_equal(ntohl(in.sin_addr.s_addr), H_STACK_IP);
	memcpy(&in, b->e[2].ifa_netmask, sizeof(in));
	assert_int_equal(ntohl(in.sin_addr.s_addr), 0xffffff00u);
	freeifaddrs(l);

	v[0] = (struct if_nameindex){ 1, strdup("lo") };
	v[1] = (struct if_nameindex){ 2, strdup("eth0") };
	v[2] = (struct if_nameindex){ 3, strdup("lo") };
	shim_iface_fix_nameindex(v);
	assert_int_equal(v[0].if_index, 1);
	assert_int_equal(v[1].if_index, 3);
	assert_int_equal(v[2].if_index, 0);
	assert_null(v[2].if_name);
	if_freenameindex(v);
}

/* A NETLINK_ROUTE socket of the program: the kernel's, its address dump
 * with the stack's interface ("lo" here, index 1) carrying the stack's address. */
static void test_interface_netlink(void **state)
{
	int fd = shim_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
	} req = { { NLMSG_LENGTH(sizeof(struct ifaddrmsg)), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		  { .ifa_family = AF_INET } };
	static char buf[65536];
	struct iovec v = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	bool seen = false, done = false;

	(void)state;
	assert_true(fd >= 0);
	assert_true(shim_owns(fd));
	assert_int_equal(send(fd, &req, req.h.nlmsg_len, 0), (ssize_t)req.h.nlmsg_len);
	while (!done) {
		ssize_t n = shim_recvmsg(fd, &m, 0);

		assert_true(n > 0);
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct ifaddrmsg *a = NLMSG_DATA(h);
			int len = (int)IFA_PAYLOAD(h);

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_type != RTM_NEWADDR || a->ifa_index != 1)
				continue;
			assert_int_equal(a->ifa_prefixlen, 24);
			for (struct rtattr *r = IFA_RTA(a); RTA_OK(r, len); r = RTA_NEXT(r, len)) {
				if (r->rta_type == IFA_LOCAL || r->rta_type == IFA_ADDRESS) {
					uint32_t ip;

					memcpy(&ip, RTA_DATA(r), 4);
					assert_int_equal(ntohl(ip), H_STACK_IP);
					seen = true;
				}
			}
		}
	}
	assert_true(seen);
	assert_int_equal(shim_close(fd), 0);
	assert_false(shim_owns(fd));
}

static void test_udp_dual_stack(void **state)
{
	int fd = shim_socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 any, from, to;
	socklen_t len = sizeof(from);
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	char buf[16];
	struct h_frame *f;

	(void)state;
	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	any.sin6_port = htons(5001);
	assert_int_equal(shim_bind(fd, SA(any), sizeof(any)), 0);
	inject_udp(1234, 5001, "v4");
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, SA(from), &len), 2);
	assert_int_equal(len, sizeof(from));
	assert_int_equal(from.sin6_family, AF_INET6);
	assert_memory_equal(from.sin6_addr.s6_addr, mapped, 16);
	assert_int_equal(ntohs(from.sin6_port), 1234);
	len = sizeof(any);
	assert_int_equal(shim_getsockname(fd, SA(any), &len), 0);
	assert_int_equal(any.sin6_family, AF_INET6);
	assert_int_equal(ntohs(any.sin6_port), 5001);

	to = from;
	assert_int_equal(shim_sendto(fd, "ok", 2, 0, SA(to), sizeof(to)), 2);
	f = pop();
	assert_non_null(f);
	free(f);
	assert_int_equal(shim_close(fd), 0);
}

/* ---- descriptors ---- */

static void test_dup_close_refcount(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), d, d2, again, p[2];
	struct sockaddr_in a = sin4(0, 5002), got;
	socklen_t len = sizeof(got);

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	d = shim_dup(fd);
	assert_true(d >= 0 && d != fd);
	assert_true(shim_owns(d));
	d2 = shim_fcntl(fd, F_DUPFD_CLOEXEC, 200);
	assert_true(d2 >= 200);
	assert_true(fcntl(d2, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(shim_close(fd), 0);
	assert_false(shim_owns(fd));
	assert_int_equal(shim_getsockname(d, SA(got), &len), 0);
	assert_int_equal(ntohs(got.sin_port), 5002);
	/* Still bound while a descriptor remains. */
	again = shim_socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(shim_bind(again, SA(a), sizeof(a)), -EADDRINUSE);
	/* dup2 of a kernel fd over a stack socket's number forgets it. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(shim_dup3(p[0], d2, -1), d2);
	assert_false(shim_owns(d2));
	close(d2);
	/* The last close frees the port. */
	assert_int_equal(shim_close(d), 0);
	assert_int_equal(shim_close(again), 0);
	again = shim_socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(shim_bind(again, SA(a), sizeof(a)), 0);
	assert_int_equal(shim_close(again), 0);
	close(p[0]);
	close(p[1]);
}

static void test_nonblock_flags(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), on = 1, off = 0;
	struct sockaddr_in a = sin4(0, 5003);
	char b[4];

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	assert_int_equal(shim_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_fcntl(fd, F_SETFL, 0), 0);
	assert_int_equal(shim_ioctl(fd, FIONBIO, &on), 0);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_ioctl(fd, FIONBIO, &off), 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(shim_close(fd), 0);
}

/* ---- readiness ---- */

static void test_poll_states_and_mix(void **state)
{
	int t = shim_socket(AF_INET, SOCK_STREAM, 0), u = shim_socket(AF_INET, SOCK_DGRAM, 0), p[2];
	struct sockaddr_in a = sin4(0, 5004);
	struct pollfd fds[3];
	struct timespec zero = { 0, 0 }, tiny = { 0, 1000000 };
	fd_set rs, ws;
	struct timespec left;

	(void)state;
	assert_int_equal(pipe(p), 0);
	fds[0] = (struct pollfd){ .fd = t, .events = POLLIN | POLLOUT };
	fds[1] = (struct pollfd){ .fd = u, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	/* A fresh TCP socket: writable and hung up (Linux's tcp_poll in CLOSE). */
	assert_int_equal(shim_ppoll(fds, 3, &zero, NULL), 1);
	assert_int_equal(fds[0].revents & (POLLIN | POLLOUT | POLLHUP), POLLOUT | POLLHUP);
	assert_int_equal(fds[1].revents, 0);
	assert_int_equal(fds[2].revents, 0);
	/* Timeout with nothing ready. */
	fds[0].events = POLLIN;
	fds[0].fd = -1;
	assert_int_equal(shim_ppoll(fds, 3, &tiny, NULL), 0);
	/* A kernel fd and a stack socket ready together. */
	assert_int_equal(shim_bind(u, SA(a), sizeof(a)), 0);
	inject_udp(1, 5004, "d");
	assert_int_equal(write(p[1], "k", 1), 1);
	assert_int_equal(shim_ppoll(fds, 3, NULL, NULL), 2);
	assert_true(fds[1].revents & POLLIN);
	assert_true(fds[2].revents & POLLIN);
	/* No stack socket: the caller polls. */
	assert_int_equal(shim_ppoll(&fds[2], 1, &zero, NULL), SHIM_PASS);

	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(u, &rs);
	FD_SET(p[0], &rs);
	FD_SET(t, &ws);
	assert_int_equal(shim_pselect(64 > u + 1 ? 64 : u + 1, &rs, &ws, NULL, &zero, NULL, &left), 3);
	assert_true(FD_ISSET(u, &rs));
	assert_true(FD_ISSET(p[0], &rs));
	assert_true(FD_ISSET(t, &ws));
	assert_int_equal(shim_close(t), 0);
	assert_int_equal(shim_close(u), 0);
	close(p[0]);
	close(p[1]);
}

/* poll and select over stack sockets only (and negative fds, which poll
 * skips) make no system call when a socket is ready: iperf3's and nc's
 * select() loops. With a kernel fd among them, the kernel is asked. */
static void test_poll_stack_only_no_syscall(void **state)
{
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0), t = shim_socket(AF_INET, SOCK_STREAM, 0), p[2];
	struct sockaddr_in a = sin4(0, 5010);
	struct pollfd fds[4];
	struct timespec zero = { 0, 0 }, left;
	fd_set rs, ws;
	unsigned before;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(shim_bind(u, SA(a), sizeof(a)), 0);
	inject_udp(1, 5010, "d");
	fds[0] = (struct pollfd){ .fd = u, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = POLLIN };
	fds[2] = (struct pollfd){ .fd = t, .events = POLLOUT };
	before = ppoll_calls;
	assert_int_equal(shim_ppoll(fds, 3, NULL, NULL), 2);
	assert_int_equal(fds[0].revents, POLLIN);
	assert_int_equal(fds[1].revents, 0);
	assert_true(fds[2].revents & POLLOUT);
	assert_int_equal(shim_ppoll(fds, 3, &zero, NULL), 2);
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(u, &rs);
	FD_SET(t, &ws);
	assert_int_equal(shim_pselect(64 > u + 1 ? 64 : u + 1, &rs, &ws, NULL, NULL, NULL, &left), 2);
	assert_true(FD_ISSET(u, &rs));
	assert_true(FD_ISSET(t, &ws));
	assert_int_equal(ppoll_calls, before);
	/* A kernel fd with them: asked, and reported. */
	assert_int_equal(write(p[1], "k", 1), 1);
	fds[3] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	assert_int_equal(shim_ppoll(fds, 4, NULL, NULL), 3);
	assert_int_equal(fds[3].revents, POLLIN);
	assert_true(ppoll_calls > before);
	assert_int_equal(shim_close(t), 0);
	assert_int_equal(shim_close(u), 0);
	close(p[0]);
	close(p[1]);
}

/* A kernel fd registered before the first stack socket (the shim meets the
 * epoll fd then): the shim reads from the kernel that its epoll holds
 * something, and its wait reports the kernel fd. */
static void test_epoll_kernel_fd_first(void **state)
{
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0), ep = epoll_create1(0), p[2];
	struct sockaddr_in a = sin4(0, 5006);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 5 }, out[4];

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(shim_bind(u, SA(a), sizeof(a)), 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	ev.data.u64 = 77;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 0);
	assert_int_equal(write(p[1], "k", 1), 1);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 1000, NULL), 1);
	assert_int_equal(out[0].data.u64, 5);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(ep), 0);
	close(p[0]);
	close(p[1]);
}

static void test_epoll_modes(void **state)
{
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0), ep = epoll_create1(0), p[2];
	struct sockaddr_in a = sin4(0, 5005);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 77 }, out[4];
	char b[8];

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(shim_bind(u, SA(a), sizeof(a)), 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), SHIM_PASS);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), -ENOENT);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), -EEXIST);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 0);

	/* Edge-triggered: one report per arrival. */
	inject_udp(1, 5005, "one");
	assert_int_equal(shim_epoll_pwait(ep, out, 4, -1, NULL), 1);
	assert_int_equal(out[0].data.u64, 77);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 0);
	inject_udp(1, 5005, "two");
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);

	/* Level-triggered: reported while readable. */
	ev.events = EPOLLIN;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);

	/* One-shot: once, then silent until re-armed. */
	ev.events = EPOLLIN | EPOLLONESHOT;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);

	/* A kernel fd in the same epoll set. */
	ev.events = EPOLLIN;
	ev.data.u64 = 5;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	shim_epoll_kernel_added(ep);    /* what the interposed epoll_ctl tells the shim */
	assert_int_equal(shim_recvfrom(u, b, sizeof(b), 0, NULL, NULL), 3);
	assert_int_equal(shim_recvfrom(u, b, sizeof(b), 0, NULL, NULL), 3);
	assert_int_equal(write(p[1], "k", 1), 1);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, -1, NULL), 1);
	assert_int_equal(out[0].data.u64, 5);

	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL), 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL), -ENOENT);
	/* Closing the socket drops its registration too. */
	ev.data.u64 = 9;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(ep), 0);
	close(p[0]);
	close(p[1]);
}

/* ---- wake-ups after the lock, and the waker's hold on an eventfd ---- */

struct pargs {
	struct pollfd p[2];
	int r;
};

static void *poll_thread(void *arg)
{
	struct pargs *a = arg;

	a->r = shim_ppoll(a->p, 2, NULL, NULL);
	return NULL;
}

/* The thread whose wake the main thread holds, joined by the main thread's
 * after-unlock step before it signals (so the waiter has left its wait and
 * exited in between). */
static pthread_t late_main, late_waiter;
static atomic_bool late_join;
static int late_efd;            /* the waiter's eventfd */

/* The lock's after-unlock step in these tests. */
static void join_then_flush(void)
{
	if (atomic_load(&late_join) && pthread_equal(pthread_self(), late_main)) {
		atomic_store(&late_join, false);
		pthread_join(late_waiter, NULL);
		/* Its eventfd is still open and the shim's: the wake queued
		 * for it holds it. */
		assert_true(fcntl(late_efd, F_GETFD) >= 0);
		assert_true(shim_protected(late_efd));
	}
	shim_wake_flush();
}

/* The first internal fd above from (one of the shim's thread eventfds), or -1. */
static int internal_fd_after(int from)
{
	int fd = shim_protected_next((unsigned)from + 1, ~0u);

	while (fd >= 0 && !shim_protected(fd))
		fd = shim_protected_next((unsigned)fd + 1, ~0u);
	return fd;
}

/*
 * A wake is signalled after the lock is let go (h_checked_libc sees to it
 * in every test); the waiter may leave its wait meanwhile (here: another fd
 * of its poll is ready) and its thread exit. The eventfd stays open until
 * the waker has written it, and is closed (and no longer the shim's) then.
 */
static void test_wake_outlives_waiter(void **state)
{
	static uint8_t buf[H_MAX_FRAME];
	struct pargs a;
	struct sockaddr_in sa = sin4(0, 5013);
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0), pipefd[2], before, efd;
	size_t n;

	(void)state;
	assert_int_equal(shim_bind(u, SA(sa), sizeof(sa)), 0);
	assert_int_equal(pipe(pipefd), 0);
	/* The eventfds of threads that exist already (this one's, if any). */
	before = -1;
	for (int fd = internal_fd_after(2); fd >= 0; fd = internal_fd_after(fd))
		before = fd;
	a.p[0] = (struct pollfd){ .fd = u, .events = POLLIN };
	a.p[1] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	late_main = pthread_self();
	assert_int_equal(pthread_create(&late_waiter, NULL, poll_thread, &a), 0);
	await_waiters(u, 1);
	efd = internal_fd_after(before);
	assert_true(efd > before);
	late_efd = efd;

	stack_lock(&fh.lock);
	n = h_build_udp(buf, H_PEER_IP, 1, H_STACK_IP, 5013, (const uint8_t *)"late", 4);
	h_inject(H, buf, n);            /* wakes the poller: queued on this thread */
	assert_int_equal(write(pipefd[1], "x", 1), 1);  /* its poll ends anyway */
	atomic_store(&late_join, true);
	stack_unlock(&fh.lock);             /* joins it, then signals */

	assert_int_equal(a.r, 2);
	assert_true(fcntl(efd, F_GETFD) < 0 && errno == EBADF);
	assert_false(shim_protected(efd));
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(shim_close(u), 0);
}

/* ---- the first EPOLL_CTL_ADD from many threads at once ---- */

#define RACE_THREADS 8
#define RACE_ROUNDS 100

struct add_race {
	pthread_barrier_t go, done;
	pthread_barrier_t checked;  /* every racer has found no shim object for ep */
	int ep;                     /* this round's epoll fd (-1: stop) */
	int fd[RACE_THREADS];
	int r[RACE_THREADS];
};

struct add_racer {
	struct add_race *race;
	int i;
};

static struct add_race *racing;

/*
 * The shim checks that an epoll fd it has no object for is open (F_GETFD)
 * before it makes the object: every racer waits there for the others, so
 * all of them make the first ADD at once, every round.
 */
static int race_fcntl(int fd, int cmd, ...)
{
	unsigned long arg = 0;
	va_list ap;

	if (cmd == F_GETFD && racing && fd == racing->ep)
		pthread_barrier_wait(&racing->checked);
	if (cmd != F_GETFD && cmd != F_GETFL) {
		va_start(ap, cmd);
		arg = va_arg(ap, unsigned long);
		va_end(ap);
	}
	return fcntl(fd, cmd, arg);
}

static void *first_add_thread(void *arg)
{
	struct add_racer *me = arg;
	struct add_race *race = me->race;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)me->i };

		pthread_barrier_wait(&race->go);
		if (race->ep < 0)
			return NULL;
		race->r[me->i] = shim_epoll_ctl(race->ep, EPOLL_CTL_ADD, race->fd[me->i], &ev);
		pthread_barrier_wait(&race->done);
	}
}

/* Threads that make the first EPOLL_CTL_ADD on a new epoll fd at once: each
 * registration is kept (one shim object for the epoll fd), so epoll_wait
 * reports every socket, once. */
static void test_epoll_first_add_race(void **state)
{
	struct add_race race;
	struct add_racer racer[RACE_THREADS];
	pthread_t th[RACE_THREADS];

	(void)state;
	assert_int_equal(pthread_barrier_init(&race.go, NULL, RACE_THREADS + 1), 0);
	assert_int_equal(pthread_barrier_init(&race.done, NULL, RACE_THREADS + 1), 0);
	assert_int_equal(pthread_barrier_init(&race.checked, NULL, RACE_THREADS), 0);
	racing = &race;
	init_shim(race_fcntl);
	for (int i = 0; i < RACE_THREADS; i++) {
		/* Writable from the start: no stack needed. */
		race.fd[i] = shim_socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(race.fd[i] >= 0);
		racer[i] = (struct add_racer){ .race = &race, .i = i };
		assert_int_equal(pthread_create(&th[i], NULL, first_add_thread, &racer[i]), 0);
	}
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct epoll_event out[RACE_THREADS + 1];
		unsigned seen = 0;
		int n;

		race.ep = epoll_create1(EPOLL_CLOEXEC);
		assert_true(race.ep >= 0);
		pthread_barrier_wait(&race.go);
		pthread_barrier_wait(&race.done);
		for (int i = 0; i < RACE_THREADS; i++)
			assert_int_equal(race.r[i], 0);
		n = shim_epoll_pwait(race.ep, out, RACE_THREADS + 1, 0, NULL);
		assert_int_equal(n, RACE_THREADS);
		for (int i = 0; i < n; i++) {
			assert_true(out[i].events & EPOLLOUT);
			seen |= 1u << out[i].data.u64;
		}
		assert_int_equal(seen, (1u << RACE_THREADS) - 1);
		assert_int_equal(shim_close(race.ep), 0);
	}
	race.ep = -1;
	pthread_barrier_wait(&race.go);
	for (int i = 0; i < RACE_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(shim_close(race.fd[i]), 0);
	}
	racing = NULL;
	init_shim(NULL);
	pthread_barrier_destroy(&race.go);
	pthread_barrier_destroy(&race.done);
	pthread_barrier_destroy(&race.checked);
}

/* ---- blocking ---- */

struct targ {
	int fd;
	long r;
	char buf[32];
	atomic_int done;
};

static void *recv_thread(void *arg)
{
	struct targ *t = arg;

	t->r = shim_recvfrom(t->fd, t->buf, sizeof(t->buf), 0, NULL, NULL);
	atomic_store(&t->done, 1);
	return NULL;
}

static void test_blocking_recv_woken_by_data(void **state)
{
	struct targ t = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in a = sin4(0, 5006);
	pthread_t th;

	(void)state;
	assert_int_equal(shim_bind(t.fd, SA(a), sizeof(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, recv_thread, &t), 0);
	await_waiters(t.fd, 1);
	inject_udp(1, 5006, "wake");
	pthread_join(th, NULL);
	assert_int_equal(t.r, 4);
	assert_memory_equal(t.buf, "wake", 4);
	assert_int_equal(shim_test_waiters(t.fd), 0);
	assert_int_equal(shim_close(t.fd), 0);
}

/* Linux: a call blocked on a socket holds its file; another thread's close()
 * of the fd neither wakes it nor ends the socket: it still gets its data (and
 * the socket goes once it is done). */
static void test_blocking_recv_outlives_close(void **state)
{
	struct targ t = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in a = sin4(0, 5007);
	pthread_t th;

	(void)state;
	assert_int_equal(shim_bind(t.fd, SA(a), sizeof(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, recv_thread, &t), 0);
	await_waiters(t.fd, 1);
	assert_int_equal(shim_close(t.fd), 0);
	inject_udp(1, 5007, "late");
	pthread_join(th, NULL);
	assert_int_equal(t.r, 4);
	assert_memory_equal(t.buf, "late", 4);
	assert_int_equal(shim_close(t.fd), SHIM_PASS);   /* no longer the shim's fd */
}

static void test_blocking_recv_woken_by_shutdown(void **state)
{
	struct targ t = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in a = sin4(0, 5008);
	pthread_t th;

	(void)state;
	assert_int_equal(shim_bind(t.fd, SA(a), sizeof(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, recv_thread, &t), 0);
	await_waiters(t.fd, 1);
	/* Linux: ENOTCONN on an unconnected UDP socket, but the reader wakes with 0. */
	assert_int_equal(shim_shutdown(t.fd, SHUT_RD), -ENOTCONN);
	pthread_join(th, NULL);
	assert_int_equal(t.r, 0);
	assert_int_equal(shim_close(t.fd), 0);
}

static void on_usr1(int sig) { (void)sig; }

/* Waits (bounded) until thread tid sleeps in a system call other than a
 * futex (the stack lock): it is blocked in its wait. */
static void await_sleeping(int tid)
{
	char path[64], b[256];
	long nr = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (long i = 0; i < 10000000L; i++) {
		FILE *f = fopen(path, "re");
		char *p = f && fgets(b, sizeof(b), f) ? strrchr(b, ')') : NULL;
		bool asleep = p && p[1] == ' ' && p[2] == 'S';

		if (f)
			fclose(f);
		if (asleep) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
			f = fopen(path, "re");
			if (f && fscanf(f, "%ld", &nr) == 1 && nr != SYS_futex) {
				fclose(f);
				return;
			}
			if (f)
				fclose(f);
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		}
		sched_yield();
	}
	fail_msg("thread %d never slept", tid);
}

/* A signal that ends a poll while the polled stack socket becomes ready
 * (its handler holds until the data is in): Linux's do_poll counts the
 * ready fds before it looks at signals, so poll answers 1, not EINTR. */
static sem_t hold_entered, hold_go;

static void on_usr1_hold(int sig)
{
	(void)sig;
	sem_post(&hold_entered);
	while (sem_wait(&hold_go) < 0)
		;
}

struct pollarg {
	int fd;
	atomic_int tid;
	int r;
	short revents;
};

static void *ppoll_thread(void *arg)
{
	struct pollarg *a = arg;
	struct pollfd p = { .fd = a->fd, .events = POLLIN };

	atomic_store(&a->tid, (int)syscall(SYS_gettid));
	a->r = shim_ppoll(&p, 1, NULL, NULL);
	a->revents = p.revents;
	return NULL;
}

static void test_poll_ready_socket_wins_over_a_signal(void **state)
{
	struct pollarg a = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in sa4 = sin4(0, 5012);
	struct sigaction sa, old;
	pthread_t th;

	(void)state;
	assert_int_equal(sem_init(&hold_entered, 0, 0), 0);
	assert_int_equal(sem_init(&hold_go, 0, 0), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1_hold;   /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, &old);
	assert_int_equal(shim_bind(a.fd, SA(sa4), sizeof(sa4)), 0);
	assert_int_equal(pthread_create(&th, NULL, ppoll_thread, &a), 0);
	await_waiters(a.fd, 1);
	/* Asleep in its wait (not holding the stack lock the injection needs). */
	await_sleeping(atomic_load(&a.tid));
	pthread_kill(th, SIGUSR1);
	while (sem_wait(&hold_entered) < 0)
		;
	inject_udp(1, 5012, "ready");
	sem_post(&hold_go);
	pthread_join(th, NULL);
	assert_int_equal(a.r, 1);
	assert_true(a.revents & POLLIN);
	sigaction(SIGUSR1, &old, NULL);
	sem_destroy(&hold_entered);
	sem_destroy(&hold_go);
	assert_int_equal(shim_close(a.fd), 0);
}

static void test_blocking_recv_eintr_and_timeout(void **state)
{
	struct targ t = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in a = sin4(0, 5009);
	struct sigaction sa, old;
	struct timeval tv = { 0, 20000 };
	char b[4];
	pthread_t th;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;   /* no SA_RESTART: EINTR */
	sigaction(SIGUSR1, &sa, &old);
	assert_int_equal(shim_bind(t.fd, SA(a), sizeof(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, recv_thread, &t), 0);
	await_waiters(t.fd, 1);
	/* A signal can land between registering and sleeping: send until it
	 * interrupts the sleep (bounded). */
	for (int i = 0; i < 100000 && !atomic_load(&t.done); i++) {
		pthread_kill(th, SIGUSR1);
		sched_yield();
	}
	pthread_join(th, NULL);
	assert_int_equal(t.r, -EINTR);
	sigaction(SIGUSR1, &old, NULL);

	assert_int_equal(shim_setsockopt(t.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(shim_recvfrom(t.fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_close(t.fd), 0);
}


static atomic_int handled;
static void on_count(int sig) { (void)sig; atomic_fetch_add(&handled, 1); }

struct rargs {
	int fd;
	atomic_int tid;
	atomic_long r;
	atomic_int done;
};

static void *recv_restart_thread(void *arg)
{
	struct rargs *t = arg;
	char b[16];

	atomic_store(&t->tid, (int)gettid());
	atomic_store(&t->r, shim_recvfrom(t->fd, b, sizeof(b), 0, NULL, NULL));
	atomic_store(&t->done, 1);
	return NULL;
}


/*
 * Linux restarts a blocking call after a signal when the handler that ran
 * has SA_RESTART, whatever the other handlers have: shim_sigaction installs
 * handlers wrapped, so the wait knows which one ran. And it reports the
 * program's own handler and flags.
 */
static void test_sa_restart_per_signal(void **state)
{
	struct rargs t = { .fd = shim_socket(AF_INET, SOCK_DGRAM, 0) };
	struct sockaddr_in a = sin4(0, 5010);
	struct sigaction sa, old;
	pthread_t th;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_count;
	sa.sa_flags = SA_RESTART;
	assert_int_equal(shim_sigaction(SIGUSR1, &sa, NULL), 0);
	sa.sa_flags = 0;
	assert_int_equal(shim_sigaction(SIGUSR2, &sa, NULL), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, on_count);
	assert_int_equal(old.sa_flags & (SA_RESTART | SA_SIGINFO), SA_RESTART);
	assert_int_equal(sigaction(SIGUSR1, NULL, &old), 0);
	assert_ptr_not_equal(old.sa_handler, on_count);     /* the kernel has the wrapper */
	assert_int_equal(shim_sigaction(0, &sa, NULL), SHIM_PASS);

	assert_int_equal(shim_bind(t.fd, SA(a), sizeof(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, recv_restart_thread, &t), 0);
	await_waiters(t.fd, 1);
	while (!atomic_load(&t.tid))
		sched_yield();
	await_sleeping(atomic_load(&t.tid));
	atomic_store(&handled, 0);
	pthread_kill(th, SIGUSR1);
	while (!atomic_load(&handled))
		sched_yield();
	/* SIGUSR1 has SA_RESTART (SIGUSR2 has not): the wait goes on. */
	await_sleeping(atomic_load(&t.tid));
	assert_int_equal(atomic_load(&t.done), 0);
	inject_udp(1, 5010, "data");
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&t.r), 4);

	/* SIGUSR2 has none: EINTR. */
	atomic_store(&t.tid, 0);
	atomic_store(&t.done, 0);
	assert_int_equal(pthread_create(&th, NULL, recv_restart_thread, &t), 0);
	await_waiters(t.fd, 1);
	/* Asleep in its wait first: a signal that comes before it gets there
	 * (under TSan, delivered at its next intercepted call) ends nothing. */
	while (!atomic_load(&t.tid))
		sched_yield();
	await_sleeping(atomic_load(&t.tid));
	for (int i = 0; i < 100000 && !atomic_load(&t.done); i++) {
		pthread_kill(th, SIGUSR2);
		sched_yield();
	}
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&t.r), -EINTR);

	sa.sa_handler = SIG_DFL;
	assert_int_equal(shim_sigaction(SIGUSR1, &sa, NULL), 0);
	assert_int_equal(shim_sigaction(SIGUSR2, &sa, NULL), 0);
	assert_int_equal(shim_close(t.fd), 0);
}

/*
 * A query, or SIG_IGN or SIG_DFL on a signal that never had a handler of
 * the program's (curl ignores SIGPIPE around every transfer), changes
 * nothing of the shim's: one call to the kernel, with the thread's signal
 * mask as it was (it took an rt_sigprocmask pair around it before). A
 * handler's install still goes the locked way, and the queries see the
 * program's own handler, not the wrapper.
 */
static void test_sigaction_plain_calls(void **state)
{
	struct sigaction sa, old, saved_pipe, saved_winch;

	(void)state;
	assert_int_equal(sigaction(SIGPIPE, NULL, &saved_pipe), 0);
	assert_int_equal(sigaction(SIGWINCH, NULL, &saved_winch), 0);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction_calls = sigaction_blocked = 0;
	assert_int_equal(shim_sigaction(SIGPIPE, NULL, &old), 0);
	assert_int_equal(shim_sigaction(SIGPIPE, &sa, &old), 0);
	assert_ptr_equal(old.sa_handler, saved_pipe.sa_handler);
	assert_int_equal(shim_sigaction(SIGPIPE, &saved_pipe, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_IGN);
	assert_int_equal(sigaction_calls, 3);
	assert_int_equal(sigaction_blocked, 0);
	/* A query of an exit guard's signal too: its view needs no lock. */
	assert_int_equal(shim_sigaction(SIGTERM, NULL, &old), 0);
	assert_int_equal(sigaction_blocked, 0);

	/* A handler: locked; queries of it plain, with the program's view. */
	sigaction_calls = sigaction_blocked = 0;
	sa.sa_handler = on_count;
	sa.sa_flags = SA_RESTART;
	assert_int_equal(shim_sigaction(SIGWINCH, &sa, &old), 0);
	assert_int_equal(sigaction_blocked, 1);
	assert_int_equal(shim_sigaction(SIGWINCH, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, on_count);
	assert_int_equal(old.sa_flags & (SA_RESTART | SA_SIGINFO), SA_RESTART);
	assert_int_equal(sigaction_blocked, 1);
	/* SIG_IGN over it: the kernel has our wrapper, locked. */
	sa.sa_handler = SIG_IGN;
	assert_int_equal(shim_sigaction(SIGWINCH, &sa, &old), 0);
	assert_ptr_equal(old.sa_handler, on_count);
	assert_int_equal(sigaction_blocked, 2);
	assert_int_equal(shim_sigaction(SIGWINCH, &saved_winch, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &saved_pipe, NULL), 0);
}

static volatile sig_atomic_t got_sigpipe;
static void on_sigpipe(int sig) { (void)sig; got_sigpipe = 1; }

/* EPIPE raises SIGPIPE in the calling thread, unless MSG_NOSIGNAL. */
static void test_epipe_raises_sigpipe(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	struct sigaction sa, old;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, &old);
	got_sigpipe = 0;
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(got_sigpipe, 0);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, NULL, 0), -EPIPE);
	assert_int_equal(got_sigpipe, 1);
	sigaction(SIGPIPE, &old, NULL);
	assert_int_equal(shim_close(fd), 0);
}

/* UDP's EPIPE after shutdown(SHUT_WR) raises no SIGPIPE (Linux: only
 * TCP's sk_stream_error does). */
static void test_udp_shut_wr_epipe_no_signal(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in peer = sin4(H_PEER_IP, 7);
	struct sigaction sa, old;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, &old);
	got_sigpipe = 0;
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), 0);
	assert_int_equal(shim_shutdown(fd, SHUT_WR), 0);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, NULL, 0), -EPIPE);
	assert_int_equal(got_sigpipe, 0);
	sigaction(SIGPIPE, &old, NULL);
	assert_int_equal(shim_close(fd), 0);
}

static void test_mmsg(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(0, 5010), peer = sin4(H_PEER_IP, 9);
	char b0[8], b1[8], b2[8];
	struct iovec iov[3] = { { b0, 8 }, { b1, 8 }, { b2, 8 } };
	struct mmsghdr v[3];
	struct h_frame *f;

	(void)state;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		v[i].msg_hdr.msg_iov = &iov[i];
		v[i].msg_hdr.msg_iovlen = 1;
	}
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	inject_udp(1, 5010, "first");
	inject_udp(1, 5010, "second");
	assert_int_equal(shim_recvmmsg(fd, v, 3, 0, NULL), 2);
	assert_int_equal(v[0].msg_len, 5);
	assert_int_equal(v[1].msg_len, 6);
	assert_memory_equal(b1, "second", 6);
	assert_int_equal(shim_recvmmsg(fd, v, 3, 0, NULL), -EAGAIN);
	for (int i = 0; i < 2; i++) {
		v[i].msg_hdr.msg_name = &peer;
		v[i].msg_hdr.msg_namelen = sizeof(peer);
	}
	assert_int_equal(shim_sendmmsg(fd, v, 2, 0), 2);
	for (int i = 0; i < 2; i++) {
		f = pop();
		assert_non_null(f);
		free(f);
	}
	assert_int_equal(shim_close(fd), 0);
}

/* A fork child may exec and close its inherited stack sockets, but using
 * one fails with EBADF; its new sockets are the kernel's. */
static void test_fork_child(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), status = -1;
	struct sockaddr_in a = sin4(0, 5011);
	pid_t pid;

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	shim_fork_prepare();
	pid = fork();
	if (pid == 0) {
		char b[4];
		int ok = 1, s;

		shim_fork_child();
		log_set_sink(NULL);   /* the one documented line */
		ok &= shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL) == -EBADF;
		ok &= shim_socket(AF_INET, SOCK_DGRAM, 0) == SHIM_PASS;
		ok &= shim_close(fd) == 0;
		s = socket(AF_INET, SOCK_DGRAM, 0);
		ok &= s >= 0 && !shim_owns(s);
		_exit(ok ? 0 : 1);
	}
	shim_fork_parent();
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The parent's socket is untouched. */
	inject_udp(1, 5011, "still");
	assert_int_equal(shim_recvfrom(fd, a.sin_zero, 5, MSG_DONTWAIT, NULL, NULL), 5);
	assert_int_equal(shim_close(fd), 0);
}

/* A socket in an epoll set that then connects to loopback moves to the
 * kernel with its registration. */
static void test_epoll_registration_follows_release(void **state)
{
	int u = shim_socket(AF_INET, SOCK_DGRAM, 0), k = socket(AF_INET, SOCK_DGRAM, 0);
	int ep = epoll_create1(0);
	struct sockaddr_in lo = sin4(0x7f000001u, 0);
	socklen_t len = sizeof(lo);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];

	(void)state;
	assert_int_equal(bind(k, SA(lo), sizeof(lo)), 0);
	assert_int_equal(getsockname(k, SA(lo), &len), 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	assert_int_equal(shim_connect(u, SA(lo), sizeof(lo)), SHIM_PASS);
	assert_false(shim_owns(u));
	assert_int_equal(connect(u, SA(lo), sizeof(lo)), 0);
	len = sizeof(lo);
	assert_int_equal(getsockname(u, SA(lo), &len), 0);
	assert_int_equal(sendto(k, "x", 1, 0, SA(lo), sizeof(lo)), 1);
	/* The kernel's epoll now reports it, with the program's data. */
	assert_int_equal(epoll_wait(ep, out, 2, 5000), 1);
	assert_int_equal(out[0].data.u64, 42);
	close(u);
	close(k);
	/* The epoll fd is still known to the shim (closing it forgets it). */
	assert_int_equal(shim_close(ep), 0);
}

/* The library's own fds survive a program that closes or dup2()s over them. */
static void test_own_fds_protected(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), efd, stackfd, p[2];
	struct sockaddr_in a = sin4(0, 5012);
	struct timeval tv = { 0, 1000 };
	char b[4];

	(void)state;
	assert_int_equal(shim_bind(fd, SA(a), sizeof(a)), 0);
	/* A timed wait gives this thread its eventfd. */
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	efd = shim_protected_next(3, ~0u);
	assert_true(efd >= 3);
	assert_int_equal(shim_close(efd), 0);
	assert_true(fcntl(efd, F_GETFD) >= 0);   /* still open */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(shim_dup3(p[0], efd, -1), -EBUSY);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);   /* still works */

	/* The stack's own fds (registered by stack/host) likewise. */
	stackfd = sys_fd_hide(dup(p[1]));
	assert_true(shim_protected(stackfd));
	assert_int_equal(shim_dup3(p[0], stackfd, -1), -EBUSY);
	sys_fd_forget(stackfd);
	assert_false(shim_protected(stackfd));
	close(stackfd);
	close(p[0]);
	close(p[1]);
	assert_int_equal(shim_close(fd), 0);
}

static void guard_fn(int sig)
{
	(void)sig;
}

/*
 * The exit guard (shim_guard_arm): SIGTERM at its default action runs the
 * host's guard in the kernel instead, while the program sees SIG_DFL; its
 * own handler replaces the guard, SIG_DFL brings the guard back, SIG_IGN
 * is the kernel's. A signal the program ignored is left alone. (Last in
 * the file: the guard stays armed for the process.)
 */
static void test_exit_guard(void **state)
{
	struct sigaction sa, old, saved_term, saved_hup;

	(void)state;
	assert_int_equal(sigaction(SIGTERM, NULL, &saved_term), 0);
	assert_int_equal(sigaction(SIGHUP, NULL, &saved_hup), 0);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	assert_int_equal(sigaction(SIGTERM, &sa, NULL), 0);
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGHUP, &sa, NULL), 0);

	shim_guard_arm(guard_fn);
	assert_int_equal(sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, guard_fn);
	assert_int_equal(shim_sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	assert_int_equal(sigaction(SIGHUP, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_IGN);

	sa.sa_handler = on_count;
	sa.sa_flags = 0;
	assert_int_equal(shim_sigaction(SIGTERM, &sa, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	assert_int_equal(shim_sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, on_count);
	sa.sa_handler = SIG_DFL;
	assert_int_equal(shim_sigaction(SIGTERM, &sa, &old), 0);
	assert_ptr_equal(old.sa_handler, on_count);
	assert_int_equal(sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, guard_fn);
	assert_int_equal(shim_sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	sa.sa_handler = SIG_IGN;
	assert_int_equal(shim_sigaction(SIGTERM, &sa, NULL), 0);
	assert_int_equal(sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_IGN);

	assert_int_equal(sigaction(SIGTERM, &saved_term, NULL), 0);
	assert_int_equal(sigaction(SIGHUP, &saved_hup, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_ours_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_is_lazy_and_placeholder_real, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_failure_is_enetdown_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_goes_to_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_async_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_connected_and_iov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_destinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_control_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_multicast_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interface_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interface_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interface_netlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_dual_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup_close_refcount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonblock_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_states_and_mix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_stack_only_no_syscall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_kernel_fd_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_recv_woken_by_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_recv_outlives_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_recv_woken_by_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_ready_socket_wins_over_a_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_recv_eintr_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sa_restart_per_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigaction_plain_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epipe_raises_sigpipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_shut_wr_epipe_no_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmsg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_registration_follows_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_first_add_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_outlives_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_fds_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_guard, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
