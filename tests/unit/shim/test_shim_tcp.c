/*
 * The socket shim's TCP paths on the scripted peer (tests/unit/support/
 * tcp_script.h): the non-blocking connect sequence (EINPROGRESS, EALREADY,
 * POLLOUT, SO_ERROR, EISCONN), a reset answered with ECONNREFUSED both
 * non-blocking and blocking, listen/accept with IPv4-mapped addresses, data
 * both ways, FIONREAD/SIOCOUTQ, TCP_INFO, MSG_PEEK/MSG_WAITALL, EPIPE, exit
 * (also while an accept makes its fd), a reset after the peer's FIN (EPIPE
 * and SIGPIPE), zero-length reads.
 *
 * Frames are checked by their flags and numbers only where the shim decides
 * them; the engine's exact options are test_tcp_*'s business.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

static struct tscript *T;
static int (*socket_override)(int, int, int);

static void use_socket(struct shim_libc *libc)
{
	if (socket_override)
		libc->socket = socket_override;
}

/* socket() of the libc table is sock (NULL: the real one). */
static void init_shim(int (*sock)(int, int, int))
{
	struct shim_host host;

	socket_override = sock;
	fh_host(&host);
	fh_init_shim(&host, use_socket);
}

static int setup(void **state)
{
	(void)state;
	T = ts_new(1000);
	fh_setup(T->h, shim_wake_flush);
	init_shim(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fh_teardown();
	/* Connections the test closed may still be finishing: not this test's subject. */
	h_drain_tx(T->h);
	h_free(T->h);
	free(T);
	return 0;
}

static void inject(const char *spec) { fh_ts_inject(T, spec); }

/* The next frame the stack sent, which must start with prefix. */
static void expect_prefix(const char *prefix) { fh_ts_expect_prefix(T, prefix); }

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

static short poll1(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec zero = { 0, 0 };

	assert_true(shim_ppoll(&p, 1, &zero, NULL) >= 0);
	return p.revents;
}

static int sockerr(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len), 0);
	return v;
}

/* A non-blocking socket bound to TS_LOCAL_PORT with its SYN sent. */
static int start_connect(void)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in me = sin4(0, TS_LOCAL_PORT), peer = sin4(H_PEER_IP, TS_PEER_PORT);

	assert_true(fd >= 0);
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	return fd;
}

static void test_nonblocking_connect_sequence(void **state)
{
	struct sockaddr_in peer = sin4(H_PEER_IP, TS_PEER_PORT), got;
	socklen_t len = sizeof(got);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);
	char buf[16];
	int fd, n = -1;

	(void)state;
	fd = start_connect();
	assert_int_equal(poll1(fd, POLLIN | POLLOUT), 0);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EALREADY);
	assert_int_equal(shim_getpeername(fd, SA(got), &len), -ENOTCONN);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), -EAGAIN);

	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(poll1(fd, POLLIN | POLLOUT), POLLOUT);
	assert_int_equal(sockerr(fd), 0);
	/* Linux: the first connect() after the handshake says 0, then EISCONN. */
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), 0);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EISCONN);
	len = sizeof(got);
	assert_int_equal(shim_getpeername(fd, SA(got), &len), 0);
	assert_int_equal(ntohl(got.sin_addr.s_addr), H_PEER_IP);
	assert_int_equal(ntohs(got.sin_port), TS_PEER_PORT);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen), 0);
	assert_int_equal(ti.tcpi_state, TCP_ESTABLISHED);

	/* Data both ways. */
	assert_int_equal(shim_sendto(fd, "hello", 5, 0, NULL, 0), 5);
	expect_prefix("P. 1:6(5) ack 1");
	assert_int_equal(shim_ioctl(fd, SIOCOUTQ, &n), 0);
	assert_int_equal(n, 5);
	inject("P. 1:11(10) ack 6 win 502 <nop,nop,TS val 110 ecr 0>");
	assert_true(poll1(fd, POLLIN) & POLLIN);
	assert_int_equal(shim_ioctl(fd, FIONREAD, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(shim_recvfrom(fd, buf, 4, MSG_PEEK, NULL, NULL), 4);
	ts_check_bytes((uint8_t *)buf, 4, 1);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), 10);
	ts_check_bytes((uint8_t *)buf, 10, 1);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), -EAGAIN);

	/* The peer closes: end of stream, POLLIN|POLLRDHUP. */
	inject("F. 11:11(0) ack 6 win 502 <nop,nop,TS val 120 ecr 0>");
	assert_true(poll1(fd, POLLIN | POLLRDHUP) & POLLRDHUP);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), 0);
	/* Our side shut: EPIPE (MSG_NOSIGNAL: no SIGPIPE). */
	assert_int_equal(shim_shutdown(fd, SHUT_WR), 0);
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(shim_close(fd), 0);
}

static void test_connect_refused_nonblocking(void **state)
{
	int fd;

	(void)state;
	fd = start_connect();
	inject("R. 0:0(0) ack 1 win 0");
	assert_true(poll1(fd, POLLOUT) & POLLERR);
	assert_int_equal(sockerr(fd), ECONNREFUSED);
	assert_int_equal(sockerr(fd), 0);
	assert_int_equal(shim_close(fd), 0);
}

struct cargs {
	int fd;
	int r;
};

static void *connect_thread(void *arg)
{
	struct cargs *c = arg;
	struct sockaddr_in peer = sin4(H_PEER_IP, TS_PEER_PORT);

	c->r = shim_connect(c->fd, SA(peer), sizeof(peer));
	return NULL;
}

static void test_connect_refused_blocking(void **state)
{
	struct cargs c = { .fd = shim_socket(AF_INET, SOCK_STREAM, 0), .r = 1 };
	struct sockaddr_in me = sin4(0, TS_LOCAL_PORT);
	pthread_t th;
	long i;

	(void)state;
	assert_int_equal(shim_bind(c.fd, SA(me), sizeof(me)), 0);
	assert_int_equal(pthread_create(&th, NULL, connect_thread, &c), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(c.fd) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
	expect_prefix("S 0:0(0)");
	inject("R. 0:0(0) ack 1 win 0");
	pthread_join(th, NULL);
	assert_int_equal(c.r, -ECONNREFUSED);
	assert_int_equal(shim_close(c.fd), 0);
}

static void test_listen_accept_mapped(void **state)
{
	int l = shim_socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), fd, one = 1, v = 0;
	struct sockaddr_in6 any, peer;
	socklen_t len = sizeof(peer);
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	char buf[8];

	(void)state;
	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	any.sin6_port = htons(TS_LOCAL_PORT);
	assert_int_equal(shim_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_bind(l, SA(any), sizeof(any)), 0);
	assert_int_equal(shim_listen(l, 8), 0);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, (socklen_t *)&len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(shim_accept4(l, NULL, NULL, 0), -EAGAIN);
	assert_int_equal(poll1(l, POLLIN), 0);
	assert_int_equal(shim_ioctl(l, FIONREAD, &v), -EINVAL);

	inject("S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix("S. 0:0(0) ack 1");
	inject(". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	assert_int_equal(poll1(l, POLLIN | POLLRDNORM), POLLIN | POLLRDNORM);
	len = sizeof(peer);
	fd = shim_accept4(l, SA(peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(shim_owns(fd));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(len, sizeof(peer));
	assert_int_equal(peer.sin6_family, AF_INET6);
	assert_memory_equal(peer.sin6_addr.s6_addr, mapped, 16);
	assert_int_equal(ntohs(peer.sin6_port), TS_PEER_PORT);

	/* MSG_WAITALL on a non-blocking socket returns what there is. */
	inject("P. 1:4(3) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), MSG_WAITALL, NULL, NULL), 3);
	ts_check_bytes((uint8_t *)buf, 3, 1);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(l), 0);
}

/* Options set before the connection exists reach it, and an accepted
 * socket has its listener's (Linux's sk_clone_lock): getsockopt() says so. */
static void test_accept_inherits_options(void **state)
{
	int l = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), fd, one = 1, idle = 30, v;
	struct sockaddr_in any;
	socklen_t len;

	(void)state;
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	any.sin_port = htons(TS_LOCAL_PORT);
	assert_int_equal(shim_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(l, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)), 0);
	assert_int_equal(shim_bind(l, SA(any), sizeof(any)), 0);
	assert_int_equal(shim_listen(l, 8), 0);
	inject("S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix("S. 0:0(0) ack 1");
	inject(". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	fd = shim_accept4(l, NULL, NULL, 0);
	assert_true(fd >= 0);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	assert_int_equal(v, 1);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), 0);
	assert_int_equal(v, 30);
	assert_int_equal(len, sizeof(v));
	/* The stack's defaults on a new socket, as the kernel reports its own. */
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, &len), 0);
	assert_int_equal(v, 9);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(l), 0);
}

/* A blocking reader with MSG_WAITALL gets everything it asked for. */
struct rargs {
	int fd;
	long r;
	uint8_t buf[8];
};

static void *waitall_thread(void *arg)
{
	struct rargs *a = arg;

	a->r = shim_recvfrom(a->fd, a->buf, 6, MSG_WAITALL, NULL, NULL);
	return NULL;
}

static void test_blocking_waitall(void **state)
{
	struct rargs a;
	pthread_t th;
	int fd, off = 0;
	long i;

	(void)state;
	fd = start_connect();
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_ioctl(fd, FIONBIO, &off), 0);
	a.fd = fd;
	assert_int_equal(pthread_create(&th, NULL, waitall_thread, &a), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(fd) < 1; i++)
		sched_yield();
	inject("P. 1:4(3) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	/* The thread took 3 bytes and waits for the rest. */
	for (i = 0; i < 100000000L; i++) {
		int n = -1;

		assert_int_equal(shim_ioctl(fd, FIONREAD, &n), 0);
		if (n == 0 && shim_test_waiters(fd) == 1)
			break;
		sched_yield();
	}
	inject("P. 4:7(3) ack 1 win 502 <nop,nop,TS val 102 ecr 0>");
	pthread_join(th, NULL);
	assert_int_equal(a.r, 6);
	ts_check_bytes(a.buf, 6, 1);
	assert_int_equal(shim_close(fd), 0);
}


static void test_sendfile(void **state)
{
	char path[] = "/tmp/pstack-shim-XXXXXX", data[100];
	int fd, file;
	off_t off = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		data[i] = (char)i;
	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(write(file, data, sizeof(data)), (ssize_t)sizeof(data));
	fd = start_connect();
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_sendfile(file, fd, NULL, 10), SHIM_PASS);   /* out_fd not ours */
	assert_int_equal(shim_sendfile(fd, file, &off, 100), 100);
	assert_int_equal(off, 100);
	expect_prefix("P. 1:101(100) ack 1");
	/* Without an offset the file position moves. */
	assert_int_equal(lseek(file, 40, SEEK_SET), 40);
	assert_int_equal(shim_sendfile(fd, file, NULL, 1000), 60);
	assert_int_equal(lseek(file, 0, SEEK_CUR), 100);
	close(file);
	assert_int_equal(shim_close(fd), 0);
}


/* At exit every open stack socket is closed like the kernel does (queued
 * data, then FIN), and the stack is stopped with the linger time. */
static void test_exit_closes_and_stops(void **state)
{
	char buf[4];
	int fd;

	(void)state;
	fh.stop_calls = 0;
	fd = start_connect();
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_sendto(fd, "bye", 3, 0, NULL, 0), 3);
	expect_prefix("P. 1:4(3) ack 1");
	shim_exit(1234);
	assert_int_equal(fh.stop_calls, 1);
	assert_int_equal(fh.stopped_linger, 1234);
	expect_prefix("F. 4:4(0) ack 1");
	/* Later calls find no stack. */
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), -EBADF);
	shim_exit(1234);
	assert_int_equal(fh.stop_calls, 1);
	assert_int_equal(shim_close(fd), 0);
}


/*
 * The keeper's share of the shim (shim_keeper_child), in a fork of this
 * process as the host makes it (the stack lock and the fd table's held):
 * after an exec or a signal (close_all), the owner's sockets close as at
 * exit, their FIN queued for the keeper's loop; after an exit, shim_exit did
 * that already, and nothing more is sent. The parent's sockets are untouched.
 */
static void keeper_child_case(bool close_all)
{
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		stack_lock(&fh.lock);
		shim_keeper_prepare();
		shim_keeper_child(close_all);
		stack_unlock(&fh.lock);
		if (close_all)
			expect_prefix("F. 4:4(0) ack 1");
		else if (h_pop_tx(T->h))
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_keeper_child_closes_sockets_after_exec(void **state)
{
	int fd;

	(void)state;
	fd = start_connect();
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_sendto(fd, "bye", 3, 0, NULL, 0), 3);
	expect_prefix("P. 1:4(3) ack 1");
	keeper_child_case(true);
	keeper_child_case(false);
	/* Here, nothing changed. */
	assert_null(h_pop_tx(T->h));
	inject(". 1:1(0) ack 4 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(shim_sendto(fd, "more", 4, 0, NULL, 0), 4);
	expect_prefix("P. 4:8(4) ack 1");
	assert_int_equal(shim_close(fd), 0);
}

static void *exit_thread(void *arg)
{
	(void)arg;
	shim_exit(1234);
	return NULL;
}

/* The placeholder's socket() for an accept, while another thread runs exit(). */
static int socket_during_exit(int domain, int type, int protocol)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, exit_thread, NULL), 0);
	pthread_join(th, NULL);
	return socket(domain, type, protocol);
}

/* exit() in another thread while accept() makes the new fd (the lock let go
 * for its socket()): the connection, which no fd owns yet, is closed with
 * the others (FIN), and accept fails rather than hand out a socket on a
 * stopped stack (which the library has freed by then). */
static void test_exit_during_accept(void **state)
{
	struct sockaddr_in me = sin4(0, TS_LOCAL_PORT);
	int l = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	(void)state;
	fh.stop_calls = 0;
	assert_int_equal(shim_bind(l, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_listen(l, 4), 0);
	inject("S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix("S. 0:0(0) ack 1");
	inject(". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	init_shim(socket_during_exit);
	assert_int_equal(shim_accept4(l, NULL, NULL, 0), -ECONNABORTED);
	assert_int_equal(fh.stop_calls, 1);
	expect_prefix("F. 1:1(0) ack 1");
	init_shim(NULL);
	assert_int_equal(shim_close(l), 0);
}

struct aargs {
	int fd;
	int r;
};

static void *accept_thread(void *arg)
{
	struct aargs *a = arg;

	a->r = shim_accept4(a->fd, NULL, NULL, 0);
	return NULL;
}

/* A blocking accept sleeps until a connection is established. */
static void test_blocking_accept(void **state)
{
	struct sockaddr_in me = sin4(0, TS_LOCAL_PORT);
	struct aargs a = { .fd = shim_socket(AF_INET, SOCK_STREAM, 0), .r = -1 };
	pthread_t th;
	long i;

	(void)state;
	assert_int_equal(shim_bind(a.fd, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_listen(a.fd, 4), 0);
	assert_int_equal(pthread_create(&th, NULL, accept_thread, &a), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(a.fd) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
	inject("S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix("S. 0:0(0) ack 1");
	inject(". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	pthread_join(th, NULL);
	assert_true(a.r >= 0);
	assert_true(shim_owns(a.r));
	assert_int_equal(shim_close(a.r), 0);
	assert_int_equal(shim_close(a.fd), 0);
}

struct eargs {
	int ep;
	int r;
	struct epoll_event ev[2];
};

static void *epoll_thread(void *arg)
{
	struct eargs *e = arg;

	e->r = shim_epoll_pwait(e->ep, e->ev, 2, -1, NULL);
	return NULL;
}

/* epoll_wait sleeps until the stack reports readiness on a registered socket. */
static void test_blocking_epoll_wait(void **state)
{
	struct eargs e = { .ep = epoll_create1(EPOLL_CLOEXEC), .r = -1 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u64 = 99 };
	pthread_t th;
	int fd;
	long i;

	(void)state;
	fd = start_connect();
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_epoll_ctl(e.ep, EPOLL_CTL_ADD, fd, &ev), 0);
	/* Established and writable but nothing to read: EPOLLIN is not ready. */
	assert_int_equal(shim_epoll_pwait(e.ep, e.ev, 2, 0, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, epoll_thread, &e), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(e.ep) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
	inject("F. 1:1(0) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	pthread_join(th, NULL);
	assert_int_equal(e.r, 1);
	assert_int_equal(e.ev[0].data.u64, 99);
	assert_true(e.ev[0].events & EPOLLRDHUP);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(e.ep), 0);
}

/* A connected non-blocking socket (start_connect, then the peer's SYN-ACK). */
static int connected(void)
{
	int fd = start_connect();

	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	return fd;
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

/*
 * Linux (tcp_reset, tcp_recvmsg, sk_stream_error): the peer closed, then
 * reset the write we made into CLOSE_WAIT. recv still says 0 (the end was
 * seen first) and leaves the error, which is EPIPE: SO_ERROR says so once,
 * and every send fails with EPIPE and raises SIGPIPE (not with MSG_NOSIGNAL).
 */
static void test_fin_then_rst_is_epipe(void **state)
{
	struct sigaction sa, old;
	char buf[8];
	int fd;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, &old);
	sigpipes = 0;
	fd = connected();
	inject("F. 1:1(0) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	/* (its ACK waits for the next tick, tcp_fin with ato 0: the data carries it) */
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), 0);
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), 1);
	expect_prefix("P. 1:2(1) ack 2");
	inject("R. 2:2(0) ack 1 win 0");
	assert_true(poll1(fd, POLLIN | POLLOUT) & POLLERR);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL), 0);
	assert_int_equal(sockerr(fd), EPIPE);
	assert_int_equal(sockerr(fd), 0);
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(sigpipes, 0);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, NULL, 0), -EPIPE);
	assert_int_equal(sigpipes, 1);
	sigaction(SIGPIPE, &old, NULL);
	assert_int_equal(shim_close(fd), 0);
}

struct zargs {
	int fd;
	ssize_t r;
};

static void *recv_zero_thread(void *arg)
{
	struct zargs *z = arg;
	char b[1];

	z->r = shim_recvfrom(z->fd, b, 0, 0, NULL, NULL);
	return NULL;
}

/* Zero-length reads as Linux answers them: recv() says EAGAIN on an empty
 * socket (a blocking one waits for data), 0 once data or the end is there,
 * and consumes nothing; read() of zero bytes is 0 at once. */
static void test_zero_length_recv(void **state)
{
	struct zargs z;
	char buf[16];
	pthread_t th;
	int n = -1;
	long i;

	(void)state;
	z.fd = connected();
	assert_int_equal(shim_recvfrom(z.fd, NULL, 0, 0, NULL, NULL), -EAGAIN);
	assert_int_equal(shim_read(z.fd, buf, 0), 0);
	assert_int_equal(shim_readv(z.fd, NULL, 0), 0);
	assert_int_equal(shim_fcntl(z.fd, F_SETFL, 0), 0);
	assert_int_equal(shim_recvfrom(z.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL), -EAGAIN);

	z.r = 1;
	assert_int_equal(pthread_create(&th, NULL, recv_zero_thread, &z), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(z.fd) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
	inject("P. 1:5(4) ack 1 win 502 <nop,nop,TS val 110 ecr 0>");
	pthread_join(th, NULL);
	assert_int_equal(z.r, 0);
	assert_int_equal(shim_ioctl(z.fd, FIONREAD, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(shim_recvfrom(z.fd, NULL, 0, MSG_PEEK, NULL, NULL), 0);
	assert_int_equal(shim_recvfrom(z.fd, buf, sizeof(buf), 0, NULL, NULL), 4);

	inject("F. 5:5(0) ack 1 win 502 <nop,nop,TS val 120 ecr 0>");
	assert_int_equal(shim_recvfrom(z.fd, NULL, 0, 0, NULL, NULL), 0);
	assert_int_equal(shim_close(z.fd), 0);
}

static void *blocking_connect_thread(void *arg)
{
	struct cargs *c = arg;
	struct sockaddr_in peer = sin4(H_PEER_IP, T->peer_port);

	c->r = shim_connect(c->fd, SA(peer), sizeof(peer));
	return NULL;
}

/*
 * connect() answers from the socket's state as Linux's __inet_stream_connect
 * does: a connect after a non-blocking one that completed says 0 once, then
 * EISCONN; after a refused one, the pending ECONNREFUSED (then the socket
 * connects again); a blocking connect while one is under way waits for the
 * handshake (EALREADY only when non-blocking).
 */
static void test_connect_states(void **state)
{
	struct sockaddr_in peer = sin4(H_PEER_IP, TS_PEER_PORT), bad = peer;
	struct cargs c;
	pthread_t th;
	int fd;
	long i;

	(void)state;
	/* Refused, seen by the next connect(): ECONNREFUSED, then a new attempt. */
	fd = start_connect();
	inject("R. 0:0(0) ack 1 win 0");
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -ECONNREFUSED);
	assert_int_equal(sockerr(fd), 0);
	ts_new_peer(T);
	peer.sin_port = htons(T->peer_port);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	/* Under way: EALREADY before the address is looked at. */
	bad.sin_family = AF_INET6;
	assert_int_equal(shim_connect(fd, SA(bad), sizeof(bad)), -EALREADY);
	/* Blocking now: the call waits for the handshake and says 0. */
	assert_int_equal(shim_fcntl(fd, F_SETFL, 0), 0);
	c.fd = fd;
	c.r = 1;
	assert_int_equal(pthread_create(&th, NULL, blocking_connect_thread, &c), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(fd) < 1; i++)
		sched_yield();
	assert_true(i < 100000000L);
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	pthread_join(th, NULL);
	assert_int_equal(c.r, 0);
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EISCONN);
	assert_int_equal(shim_connect(fd, SA(bad), sizeof(bad)), -EISCONN);
	assert_int_equal(shim_listen(fd, 1), -EINVAL);
	assert_int_equal(shim_close(fd), 0);
}

/*
 * connect(AF_UNSPEC) disconnects a TCP socket (Linux's tcp_disconnect): a
 * reset for the peer, SO_ERROR ECONNRESET, no peer any more, the address and
 * port bind() gave kept; and it can connect again.
 */
static void test_connect_unspec_disconnects(void **state)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct sockaddr_in peer, got;
	socklen_t len = sizeof(got);
	char buf[4];
	int fd;

	(void)state;
	fd = connected();
	assert_int_equal(shim_connect(fd, &unspec, sizeof(unspec)), 0);
	expect_prefix("R. 1:1(0)");
	assert_true(poll1(fd, POLLOUT) & POLLERR);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -ECONNRESET);
	assert_int_equal(sockerr(fd), 0);
	assert_int_equal(shim_recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL), -ENOTCONN);
	assert_int_equal(shim_sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0), -EPIPE);
	assert_int_equal(shim_getpeername(fd, SA(got), &len), -ENOTCONN);
	len = sizeof(got);
	assert_int_equal(shim_getsockname(fd, SA(got), &len), 0);
	assert_int_equal(ntohs(got.sin_port), TS_LOCAL_PORT);
	ts_new_peer(T);
	peer = sin4(H_PEER_IP, T->peer_port);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	/* In SYN_SENT: the attempt is dropped (no reset), SO_ERROR ECONNRESET. */
	assert_int_equal(shim_connect(fd, &unspec, sizeof(unspec)), 0);
	assert_int_equal(sockerr(fd), ECONNRESET);
	assert_int_equal(shim_close(fd), 0);
}

/* RFC 1122 §4.2.3.10: no TCP connection to a broadcast or multicast address. */
static void test_connect_broadcast_multicast(void **state)
{
	struct sockaddr_in b = sin4(0xc00002ffu, 80), m = sin4(0xe0000001u, 80), l = sin4(0xffffffffu, 80);
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	assert_int_equal(shim_connect(fd, SA(b), sizeof(b)), -ENETUNREACH);
	assert_int_equal(shim_connect(fd, SA(m), sizeof(m)), -ENETUNREACH);
	assert_int_equal(shim_connect(fd, SA(l), sizeof(l)), -ENETUNREACH);
	assert_int_equal(shim_close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nonblocking_connect_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_accept_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_inherits_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_waitall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_closes_and_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_during_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking_epoll_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_then_rst_is_epipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_recv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_unspec_disconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_broadcast_multicast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeper_child_closes_sockets_after_exec, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
