/*
 * The program's memory (shim/ucopy.c): every buffer, address, length, array
 * and option value a socket call is given that the program does not own
 * gives EFAULT (or the kernel's EINVAL), never a crash, and leaves the
 * socket as it was: nothing sent, nothing consumed (a datagram excepted, as
 * in Linux), no lock held. The fault is real: the memory is a page mapped
 * PROT_NONE (or read-only) right after a good one, and this binary installs
 * the handler the library installs, reduced to asking shim_user_fault().
 * A fault outside the copies is not caught (a child dies of it).
 *
 * The stack is the scripted TCP peer's (tests/unit/support/tcp_script.h);
 * UDP frames go through the same harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/shim_libc.h"
#include "tests/unit/support/tcp_script.h"

static struct tscript *T;
static struct stack_lock hmu;

static int t_start(void *c) { (void)c; return 0; }
static struct stack *t_stack(void *c) { (void)c; return T->h->s; }
static void t_lock(void *c) { (void)c; stack_lock(&hmu); }
static void t_unlock(void *c) { (void)c; stack_unlock(&hmu); }
static uint64_t t_now(void *c) { (void)c; return T->h->now; }
static void t_stop(void *c, uint64_t l) { (void)c; (void)l; }

/* The library's handler, less the program's: a fault that is not a copy's
 * kills with the default action. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)shim_user_fault(sig, si, uc);
	signal(sig, SIG_DFL);
}

/* Installed by each test itself: cmocka puts its own SIGSEGV/SIGBUS
 * handlers in around every setup, test and teardown (and takes them away
 * after). Installed as the library installs its own (preload/preload.c),
 * or (all_blocked) the way a sanitizer's wrapper runs it: every signal
 * blocked in the handler. */
static void install_handler(bool all_blocked)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_sigaction = on_fault;
	a.sa_flags = SA_SIGINFO | (all_blocked ? 0 : SA_NODEFER);
	if (all_blocked)
		sigfillset(&a.sa_mask);
	else
		sigemptyset(&a.sa_mask);
	sigaction(SIGSEGV, &a, NULL);
	sigaction(SIGBUS, &a, NULL);
}

static void catch_faults(void)
{
	install_handler(false);
}

/* A page the program owns, followed by one it does not. */
static char *good;
#define PAGE 4096
#define BAD_AT (good + PAGE)   /* the first byte of the PROT_NONE page */

static int setup(void **state)
{
	struct shim_libc libc;
	struct shim_host host = {
		.start = t_start, .stack = t_stack, .lock = t_lock, .unlock = t_unlock,
		.now = t_now, .stop = t_stop,
	};

	(void)state;
	good = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(good != MAP_FAILED);
	assert_int_equal(mprotect(BAD_AT, PAGE, PROT_NONE), 0);
	memset(good, 'g', PAGE);
	stack_lock_init(&hmu, shim_wake_flush);
	T = ts_new(1000);
	stack_lock_check(&hmu);
	h_checked_libc(&libc, &hmu);
	shim_init(&libc, &host);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shim_reset_for_test();
	stack_lock_check(NULL);
	h_drain_tx(T->h);
	h_free(T->h);
	free(T);
	munmap(good, 2 * PAGE);
	return 0;
}

static void inject(const char *spec)
{
	stack_lock(&hmu);
	ts_inject(T, spec);
	stack_unlock(&hmu);
}

static void expect_prefix(const char *prefix)
{
	char line[512];
	bool got;

	stack_lock(&hmu);
	got = ts_next(T, line, sizeof(line));
	stack_unlock(&hmu);
	if (!got)
		fail_msg("no frame sent, expected \"%s...\"", prefix);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fail_msg("sent \"%s\", expected \"%s...\"", line, prefix);
}

static void expect_none(void)
{
	char line[512];
	bool got;

	stack_lock(&hmu);
	got = ts_next(T, line, sizeof(line));
	stack_unlock(&hmu);
	if (got)
		fail_msg("sent \"%s\", expected nothing", line);
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

static int inq(int fd)
{
	int n = -1;

	assert_int_equal(shim_ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* A TCP connection to the scripted peer (its current ports), established,
 * TCP_NODELAY. */
static int tcp_connected(void)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	struct sockaddr_in me = sin4(0, T->local_port), peer = sin4(H_PEER_IP, T->peer_port);

	assert_true(fd >= 0);
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	return fd;
}

/* ---- the copy routines ---- */

struct touch {
	char *at;
};

static void touch_fn(void *arg)
{
	struct touch *t = arg;

	t->at[0] = 'x';
}

static void test_copy_routines(void **state)
{
	char buf[64];
	struct touch t;

	(void)state;
	catch_faults();
	assert_int_equal(shim_copy(buf, good, sizeof(buf)), 0);
	assert_memory_equal(buf, good, sizeof(buf));
	assert_int_equal(shim_copy(buf, NULL, 0), 0);
	assert_int_equal(shim_copy(buf, NULL, 1), -EFAULT);
	assert_int_equal(shim_copy(NULL, buf, 1), -EFAULT);
	assert_int_equal(shim_copy(buf, (void *)(UINTPTR_MAX - 4), 8), -EFAULT);
	/* Reading and writing the page the program does not own. */
	assert_int_equal(shim_copy(buf, BAD_AT, 8), -EFAULT);
	assert_int_equal(shim_copy(BAD_AT, buf, 8), -EFAULT);
	/* A buffer that runs off the end of the good page. */
	assert_int_equal(shim_copy(buf, BAD_AT - 8, 16), -EFAULT);
	assert_int_equal(shim_copy(BAD_AT - 8, buf, 16), -EFAULT);
#ifndef __SANITIZE_THREAD__
	/* A non-canonical address: a general protection fault, reported without
	 * an address. (Not under TSan: its memcpy would touch the shadow of an
	 * address that has none, and fault there first.) */
	assert_int_equal(shim_copy(buf, (void *)0x8000000000000000ull, 8), -EFAULT);
#endif
	/* Read-only memory cannot be written. */
	assert_int_equal(mprotect(good, PAGE, PROT_READ), 0);
	assert_int_equal(shim_copy(good, buf, 8), -EFAULT);
	assert_int_equal(shim_copy(buf, good, 8), 0);
	assert_int_equal(mprotect(good, PAGE, PROT_READ | PROT_WRITE), 0);
	/* The marker is gone after a fault: good copies go on working. */
	assert_int_equal(shim_copy(good, "ok", 2), 0);
	assert_memory_equal(good, "ok", 2);
	t.at = BAD_AT;
	assert_int_equal(shim_user_do(touch_fn, &t, BAD_AT, 1), -EFAULT);
	t.at = good;
	assert_int_equal(shim_user_do(touch_fn, &t, good, 1), 0);
	assert_int_equal(good[0], 'x');
}

/* The copy comes back with the thread's signal mask as it was before the
 * fault, whatever mask the handler ran under: here every signal blocked
 * (SIGSEGV included: a second fault would kill if it stayed so). */
static void test_copy_restores_mask(void **state)
{
	sigset_t before, after, usr2;
	char buf[8];

	(void)state;
	install_handler(true);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr2, &before), 0);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(shim_copy(buf, BAD_AT, sizeof(buf)), -EFAULT);
		assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
		for (int sig = 1; sig < NSIG; sig++)
			assert_int_equal(sigismember(&after, sig), sigismember(&before, sig));
	}
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &usr2, NULL), 0);
}

/* A fault outside a copy, or outside the memory a guarded function was
 * given, is not the shim's to catch. */
static void test_other_faults_not_caught(void **state)
{
	siginfo_t si;

	(void)state;
	catch_faults();
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGSEGV;
	si.si_code = SEGV_MAPERR;
	si.si_addr = BAD_AT;
	assert_false(shim_user_fault(SIGSEGV, &si, NULL));
	for (int which = 0; which < 2; which++) {
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct touch t = { BAD_AT };

			if (which == 0)
				*(volatile char *)BAD_AT = 1;
			else
				(void)shim_user_do(touch_fn, &t, good, PAGE);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSEGV);
	}
}

/* ---- TCP ---- */

static void test_tcp_send(void **state)
{
	struct iovec v[2] = { { "hello", 5 }, { BAD_AT, 10 } };
	int fd = tcp_connected(), n = -1;

	(void)state;
	catch_faults();
	assert_int_equal(shim_sendto(fd, BAD_AT, 10, 0, NULL, 0), -EFAULT);
	assert_int_equal(shim_sendto(fd, NULL, 10, 0, NULL, 0), -EFAULT);
	/* A good buffer followed by a bad one: nothing of the call is sent. */
	assert_int_equal(shim_writev(fd, v, 2), -EFAULT);
	/* A buffer that runs into the page the program does not own. */
	assert_int_equal(shim_sendto(fd, BAD_AT - 100, 200, 0, NULL, 0), -EFAULT);
	/* The iovec array itself. */
	assert_int_equal(shim_writev(fd, (struct iovec *)(BAD_AT - sizeof(struct iovec)), 2), -EFAULT);
	assert_int_equal(shim_ioctl(fd, SIOCOUTQ, &n), 0);
	assert_int_equal(n, 0);
	expect_none();
	/* TCP's sendto copies the address in (and ignores it). */
	assert_int_equal(shim_sendto(fd, "x", 1, 0, (struct sockaddr *)BAD_AT, 16), -EFAULT);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, (struct sockaddr *)good, 129), -EINVAL);
	expect_none();
	/* And then the socket works. */
	v[1] = (struct iovec){ "world", 5 };
	assert_int_equal(shim_writev(fd, v, 2), 10);
	expect_prefix("P. 1:11(10) ack 1");
	assert_int_equal(shim_close(fd), 0);
}

static void test_tcp_recv(void **state)
{
	char a[4], b[64];
	struct iovec v[2] = { { a, sizeof(a) }, { BAD_AT, 10 } };
	int fd = tcp_connected();

	(void)state;
	catch_faults();
	inject("P. 1:13(12) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(shim_recvfrom(fd, BAD_AT, 10, 0, NULL, NULL), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, NULL, 10, 0, NULL, NULL), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, BAD_AT, 10, MSG_PEEK, NULL, NULL), -EFAULT);
	assert_int_equal(shim_readv(fd, v, 2), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, BAD_AT - 4, 10, 0, NULL, NULL), -EFAULT);
	assert_int_equal(inq(fd), 12);
	/* MSG_TRUNC on TCP: the bytes are dropped, nothing is copied. */
	assert_int_equal(shim_recvfrom(fd, NULL, 5, MSG_TRUNC | MSG_PEEK, NULL, NULL), 5);
	assert_int_equal(inq(fd), 12);
	assert_int_equal(shim_recvfrom(fd, NULL, 5, MSG_TRUNC, NULL, NULL), 5);
	assert_int_equal(inq(fd), 7);
	/* recvfrom on TCP with an address but no length: EFAULT, the data read (Linux). */
	assert_int_equal(shim_recvfrom(fd, b, 2, 0, SA(b), NULL), -EFAULT);
	assert_int_equal(inq(fd), 5);
	/* Two good buffers, filled in order. */
	v[1].iov_base = b;
	assert_int_equal(shim_readv(fd, v, 2), 5);
	ts_check_bytes((uint8_t *)a, 4, 8);
	ts_check_bytes((uint8_t *)b, 1, 12);
	assert_int_equal(shim_close(fd), 0);
}

/* getsockopt and ioctl write the program's memory; sendfile reads and
 * writes its offset. */
static void test_tcp_options_and_ioctl(void **state)
{
	int fd = tcp_connected(), v = 0, file;
	socklen_t len = sizeof(v), neg = (socklen_t)-1;
	char path[] = "/tmp/pstack-ucopy-XXXXXX";
	off_t off = 0;

	(void)state;
	catch_faults();
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, (socklen_t *)BAD_AT), -EFAULT);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ERROR, BAD_AT, &len), -EFAULT);
	assert_int_equal(shim_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &neg), -EINVAL);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, BAD_AT, &len), -EFAULT);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, BAD_AT, &len), -EFAULT);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &v, (socklen_t *)BAD_AT), -EFAULT);
	len = sizeof(v);
	assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &v, &len), 0);
	assert_int_equal(len, sizeof(v));
	assert_int_equal(v & 0xff, 1);   /* tcpi_state: TCP_ESTABLISHED */
	/* A buffer larger than the struct (iperf3 passes the kernel's size):
	 * cut to the struct, whose size comes back. */
	{
		unsigned char big[1024];
		socklen_t blen = sizeof(big);

		assert_int_equal(shim_getsockopt(fd, IPPROTO_TCP, TCP_INFO, big, &blen), 0);
		assert_true(blen > sizeof(struct tcp_info) / 2 && blen < sizeof(big));
		assert_int_equal(big[0], 1);
	}
	assert_int_equal(shim_ioctl(fd, FIONREAD, BAD_AT), -EFAULT);
	assert_int_equal(shim_ioctl(fd, SIOCOUTQ, NULL), -EFAULT);

	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(write(file, "0123456789", 10), 10);
	assert_int_equal(shim_sendfile(fd, file, (off_t *)BAD_AT, 10), -EFAULT);
	expect_none();
	assert_int_equal(shim_sendfile(fd, file, &off, 10), 10);
	assert_int_equal(off, 10);
	expect_prefix("P. 1:11(10) ack 1");
	close(file);
	assert_int_equal(shim_close(fd), 0);
}

/* ---- addresses ---- */

static void test_addresses(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM, 0), l, c;
	struct sockaddr_in a = sin4(0, TS_LOCAL_PORT), peer;
	socklen_t len = sizeof(a), neg = (socklen_t)-1;

	(void)state;
	catch_faults();
	assert_int_equal(shim_bind(fd, (struct sockaddr *)BAD_AT, sizeof(a)), -EFAULT);
	assert_int_equal(shim_bind(fd, NULL, sizeof(a)), -EFAULT);
	assert_int_equal(shim_bind(fd, SA(a), 129), -EINVAL);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)(BAD_AT - 8), sizeof(a)), -EFAULT);
	assert_int_equal(shim_connect(fd, (struct sockaddr *)BAD_AT, sizeof(a)), -EFAULT);
	assert_int_equal(shim_getsockname(fd, (struct sockaddr *)BAD_AT, &len), -EFAULT);
	assert_int_equal(shim_getsockname(fd, SA(a), (socklen_t *)BAD_AT), -EFAULT);
	assert_int_equal(shim_getsockname(fd, SA(a), &neg), -EINVAL);
	len = 0;
	assert_int_equal(shim_getsockname(fd, NULL, &len), 0);   /* nothing to write */
	assert_int_equal(len, sizeof(a));
	assert_int_equal(shim_close(fd), 0);

	/* accept: the address is written once the connection is taken; when it
	 * cannot be, the connection is closed (here, reset: the peer's data
	 * was never read) and the call fails. */
	l = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(shim_bind(l, SA(a), sizeof(a)), 0);
	assert_int_equal(shim_listen(l, 8), 0);
	for (int round = 0; round < 3; round++) {
		inject("S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
		expect_prefix("S. 0:0(0) ack 1");
		inject("P. 1:2(1) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
		stack_lock(&hmu);
		h_drain_tx(T->h);    /* its quick ACK, not what this checks */
		stack_unlock(&hmu);
		len = round == 1 ? neg : sizeof(peer);
		c = shim_accept4(l, round == 0 ? (struct sockaddr *)BAD_AT : SA(peer),
				 round == 2 ? NULL : &len, 0);
		assert_int_equal(c, round == 1 ? -EINVAL : -EFAULT);
		expect_prefix("R");
		ts_new_peer(T);
	}
	assert_int_equal(shim_accept4(l, NULL, NULL, 0), -EAGAIN);
	assert_int_equal(shim_close(l), 0);
}

/* ---- UDP and messages ---- */

static void inject_udp(uint16_t dport, const char *text)
{
	uint8_t frame[H_MAX_FRAME];
	size_t n = h_build_udp(frame, H_PEER_IP, 40000, H_STACK_IP, dport, (const uint8_t *)text, strlen(text));

	stack_lock(&hmu);
	h_inject(T->h, frame, n);
	stack_unlock(&hmu);
}

/* recvmsg's control messages into memory the program does not own are left
 * out, as Linux ignores put_cmsg's EFAULT: the datagram, its flags and a
 * control length of 0 come back. One that fits before the bad page stays. */
static void test_udp_control_messages(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in me = sin4(0, 5000);
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m;
	struct cmsghdr h;

	(void)state;
	catch_faults();
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);
	memset(&m, 0, sizeof(m));
	m.msg_iov = &v;
	m.msg_iovlen = 1;
	m.msg_control = BAD_AT;
	m.msg_controllen = 64;
	inject_udp(5000, "hello");
	assert_int_equal(shim_recvmsg(fd, &m, 0), 5);
	assert_int_equal(m.msg_flags, 0);
	assert_int_equal(m.msg_controllen, 0);
	/* Room for the header before the bad page, not for the value. */
	m.msg_control = BAD_AT - sizeof(struct cmsghdr);
	m.msg_controllen = 64;
	inject_udp(5000, "again");
	assert_int_equal(shim_recvmsg(fd, &m, 0), 5);
	assert_int_equal(m.msg_controllen, 0);
	/* A whole one before it. */
	m.msg_control = BAD_AT - CMSG_SPACE(sizeof(int));
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	inject_udp(5000, "third");
	assert_int_equal(shim_recvmsg(fd, &m, 0), 5);
	assert_int_equal(m.msg_flags, 0);
	assert_int_equal(m.msg_controllen, CMSG_SPACE(sizeof(int)));
	memcpy(&h, m.msg_control, sizeof(h));
	assert_int_equal(h.cmsg_type, IP_TTL);
	assert_int_equal(shim_close(fd), 0);
}

static void test_udp_and_msgs(void **state)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = sin4(0, 5000), peer = sin4(H_PEER_IP, 40000), from;
	socklen_t len = sizeof(from), neg = (socklen_t)-1;
	char b[64];
	struct iovec v[2] = { { "one", 3 }, { BAD_AT, 10 } };   /* 3 bytes: "scatter" overflows it */
	struct mmsghdr mm[2];
	struct msghdr m;
	struct timespec bad_ts = { 0, 1000000000 };

	(void)state;
	catch_faults();
	assert_int_equal(shim_bind(fd, SA(me), sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, SA(peer), sizeof(peer)), 0);
	/* A datagram that cannot be copied out is gone, unless peeked. */
	inject_udp(5000, "hello");
	assert_int_equal(shim_recvfrom(fd, BAD_AT, 10, MSG_PEEK, NULL, NULL), -EFAULT);
	assert_int_equal(inq(fd), 5);
	assert_int_equal(shim_recvfrom(fd, BAD_AT, 10, 0, NULL, NULL), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), -EAGAIN);
	/* The address after the data: a NULL length is EFAULT, negative EINVAL;
	 * the datagram is read either way. */
	inject_udp(5000, "a");
	inject_udp(5000, "b");
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, SA(from), NULL), -EFAULT);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, SA(from), &neg), -EINVAL);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, SA(from), &len), -EAGAIN);
	/* Scattered over two buffers, the second bad: gone too. */
	inject_udp(5000, "scatter");
	v[0].iov_base = b;
	assert_int_equal(shim_readv(fd, v, 2), -EFAULT);
	/* (a datagram that fits in the first never touches the second) */
	inject_udp(5000, "on");
	assert_int_equal(shim_readv(fd, v, 2), 2);
	assert_int_equal(inq(fd), 0);

	/* Nothing is sent from memory the program does not own. */
	stack_lock(&hmu);
	h_drain_tx(T->h);
	stack_unlock(&hmu);
	v[0].iov_base = "one";
	assert_int_equal(shim_sendto(fd, BAD_AT, 10, 0, NULL, 0), -EFAULT);
	assert_int_equal(shim_writev(fd, v, 2), -EFAULT);
	assert_int_equal(shim_sendto(fd, "x", 1, 0, (struct sockaddr *)BAD_AT, sizeof(peer)), -EFAULT);
	assert_int_equal(shim_sendmsg(fd, (struct msghdr *)BAD_AT, 0), -EFAULT);
	memset(&m, 0, sizeof(m));
	m.msg_iov = v;
	m.msg_iovlen = 1;
	m.msg_control = BAD_AT;
	m.msg_controllen = 64;
	assert_int_equal(shim_sendmsg(fd, &m, 0), -EFAULT);
	m.msg_control = good;
	m.msg_controllen = 1 << 30;
	assert_int_equal(shim_sendmsg(fd, &m, 0), -ENOBUFS);
	m.msg_controllen = 0;
	m.msg_name = BAD_AT;
	m.msg_namelen = sizeof(peer);
	assert_int_equal(shim_sendmsg(fd, &m, 0), -EFAULT);
	m.msg_namelen = neg;
	assert_int_equal(shim_sendmsg(fd, &m, 0), -EINVAL);
	stack_lock(&hmu);
	assert_null(h_pop_tx(T->h));
	stack_unlock(&hmu);

	/* sendmmsg: the count sent before the bad one. */
	memset(mm, 0, sizeof(mm));
	mm[0].msg_hdr.msg_iov = &v[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &v[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	assert_int_equal(shim_sendmmsg(fd, mm, 2, 0), 1);
	assert_int_equal(mm[0].msg_len, 3);
	stack_lock(&hmu);
	h_drain_tx(T->h);
	stack_unlock(&hmu);
	assert_int_equal(shim_sendmmsg(fd, (struct mmsghdr *)BAD_AT, 2, 0), -EFAULT);

	/* recvmsg's name is written after the data (EFAULT: the datagram gone);
	 * recvmmsg reads its timeout first. */
	inject_udp(5000, "name");
	memset(&m, 0, sizeof(m));
	v[0].iov_base = b;
	m.msg_iov = v;
	m.msg_iovlen = 1;
	m.msg_name = BAD_AT;
	m.msg_namelen = sizeof(from);
	assert_int_equal(shim_recvmsg(fd, &m, 0), -EFAULT);
	assert_int_equal(inq(fd), 0);
	inject_udp(5000, "mm");
	memset(mm, 0, sizeof(mm));
	mm[0].msg_hdr.msg_iov = v;
	mm[0].msg_hdr.msg_iovlen = 1;
	assert_int_equal(shim_recvmmsg(fd, mm, 1, 0, (struct timespec *)BAD_AT), -EFAULT);
	assert_int_equal(shim_recvmmsg(fd, mm, 1, 0, &bad_ts), -EINVAL);
	assert_int_equal(shim_recvmmsg(fd, (struct mmsghdr *)BAD_AT, 1, 0, NULL), -EFAULT);
	assert_int_equal(inq(fd), 2);
	assert_int_equal(shim_recvmmsg(fd, mm, 1, 0, NULL), 1);
	assert_int_equal(mm[0].msg_len, 2);
	assert_int_equal(shim_close(fd), 0);
}

/* ---- readiness ---- */

static void test_poll_select_epoll(void **state)
{
	int a = tcp_connected(), ep = epoll_create1(0);
	struct pollfd *p = (struct pollfd *)(BAD_AT - sizeof(struct pollfd));
	struct epoll_event ev = { .events = EPOLLIN }, *out;
	struct timespec zero = { 0, 0 };
	fd_set *rs;
	int b;

	(void)state;
	catch_faults();
	/* Memory the program does not own as poll's input: the kernel's poll
	 * answers (SHIM_PASS), exactly as it would have. */
	*p = (struct pollfd){ .fd = a, .events = POLLIN };
	assert_int_equal(shim_ppoll(p, 2, &zero, NULL), SHIM_PASS);
	assert_int_equal(shim_ppoll(p, 1, (struct timespec *)BAD_AT, NULL), SHIM_PASS);
	assert_int_equal(shim_ppoll(p, 1, &zero, (sigset_t *)BAD_AT), SHIM_PASS);
	assert_int_equal(shim_ppoll(p, 1u << 31, &zero, NULL), SHIM_PASS);
	/* More than RLIMIT_NOFILE (past 1024), the array good: the kernel's EINVAL too. */
	{
		struct pollfd *many = calloc(1200, sizeof(*many));
		struct rlimit old, rl;

		assert_non_null(many);
		for (int i = 0; i < 1200; i++)
			many[i].fd = -1;
		many[0] = *p;
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
		rl = (struct rlimit){ 1100, old.rlim_max };
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_int_equal(shim_ppoll(many, 1200, &zero, NULL), SHIM_PASS);
		assert_int_equal(shim_ppoll(many, 1100, &zero, NULL), 0);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		free(many);
	}
	assert_int_equal(shim_ppoll(p, 1, &zero, NULL), 0);
	/* The result cannot be written back: EFAULT. */
	inject("P. 1:2(1) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(mprotect(good, PAGE, PROT_READ), 0);
	assert_int_equal(shim_ppoll(p, 1, &zero, NULL), -EFAULT);
	assert_int_equal(mprotect(good, PAGE, PROT_READ | PROT_WRITE), 0);
	assert_int_equal(shim_ppoll(p, 1, &zero, NULL), 1);
	assert_int_equal(p->revents, POLLIN);

	/* select: the sets are read (SHIM_PASS when they cannot be) and written. */
	rs = (fd_set *)(BAD_AT - 8);
	memset(rs, 0, 8);
	FD_SET(a, rs);
	assert_true(a < 64);
	assert_int_equal(shim_pselect(a + 1, (fd_set *)BAD_AT, NULL, NULL, &zero, NULL, NULL), SHIM_PASS);
	assert_int_equal(shim_pselect(a + 1, rs, NULL, NULL, &zero, NULL, NULL), 1);
	assert_true(FD_ISSET(a, rs));
	assert_int_equal(mprotect(good, PAGE, PROT_READ), 0);
	assert_int_equal(shim_pselect(a + 1, rs, NULL, NULL, &zero, NULL, NULL), -EFAULT);
	assert_int_equal(mprotect(good, PAGE, PROT_READ | PROT_WRITE), 0);

	/* epoll: the event is copied in; events go out one at a time, and one
	 * that cannot be written stays ready for the next call. */
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, a, (struct epoll_event *)BAD_AT), -EFAULT);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev), 0);
	stack_lock(&hmu);
	h_drain_tx(T->h);   /* the first one's quick ACK, not what this checks */
	stack_unlock(&hmu);
	ts_new_peer(T);     /* a second connection, with its own ports */
	T->local_port++;
	b = tcp_connected();
	inject("P. 1:2(1) ack 1 win 502 <nop,nop,TS val 101 ecr 0>");
	assert_int_equal(inq(b), 1);
	ev.events = EPOLLIN | EPOLLET;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev), 0);
	out = (struct epoll_event *)(BAD_AT - sizeof(*out));
	assert_int_equal(shim_epoll_pwait(ep, (struct epoll_event *)BAD_AT, 4, 0, NULL), -EFAULT);
	assert_int_equal(shim_epoll_pwait(ep, out, 2, 0, NULL), 1);
	assert_int_equal(shim_epoll_pwait(ep, out, 2, 0, (sigset_t *)BAD_AT), SHIM_PASS);
	/* The edge-triggered one was not lost to the failed write. */
	out = (struct epoll_event *)good;
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 2);
	assert_int_equal(shim_epoll_pwait(ep, out, 4, 0, NULL), 1);
	close(ep);
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_close(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_routines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_restores_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_faults_not_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_recv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_options_and_ioctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_and_msgs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_control_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_select_epoll, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
