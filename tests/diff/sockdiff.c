/*
 * sockdiff: the socket-call side of the differential harness.
 *
 * Some five hundred cases, each a few socket calls with good or bad arguments,
 * in a given socket state, against a given peer behaviour (tests/diff/peer.py
 * at 192.0.2.1). The program runs once on the kernel's stack and once under
 * the preload (tests/diff/run.sh); both print one line per case and the
 * runner compares them.
 *
 *   sockdiff [-p PRELOAD] [-c PATTERN]... [-s K/N] [-l]
 *     -p  the cases run with LD_PRELOAD=PRELOAD (this driver itself never does:
 *         it makes no socket call, and each case is a fresh process with a
 *         stack of its own, since a fork() child has none)
 *     -c  only the cases whose name matches the fnmatch(3) PATTERN
 *     -s  only the K-th of N shards: every N-th of the cases taken, from the
 *         K-th (0-based), for N runs side by side (tests/diff/run.sh -j)
 *     -l  list the case names
 *   sockdiff -r NAME   runs one case in this process (what the driver execs)
 *
 * A line is "name: step step ... sig=SIGNALS". A step is a call's result: the
 * return value, or the errno name when it returned -1; "fd" for a new file
 * descriptor, "eph" for an ephemeral port (numbers that may legitimately
 * differ); "errno=E" after a success that changed errno. sig= lists the
 * signals the case's handlers saw. A case whose process dies prints what it
 * had printed, then "CRASH SIGNAME"; one that does not finish in its time
 * "HANG" (it is killed); "SETUP what errno" means the case could not reach the
 * state it tests. Every case waits for the peer by polling with a bound
 * (WAIT_MS), never by sleeping; signals that must hit a blocked call are sent
 * once /proc shows the thread asleep in a system call.
 */
#include <aio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/diff/diffio.h"

/* The fortified entry points that _FORTIFY_SOURCE builds call (pstack interposes them). */
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
extern ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *sa, socklen_t *salen);
extern int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
extern int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		       size_t fdslen);
extern long __fdelt_chk(long d);
extern int fcntl64(int fd, int cmd, ...);
extern ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);

#define BCAST    "192.0.2.255"
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52           /* Linux 6.5; older headers lack it */
#endif
#define NOBODY   "192.0.2.99"    /* in the subnet, not assigned */
#define WAIT_MS  2000            /* bound on every wait for the peer */
/* An address no program owns; read through a volatile so that the compiler
 * cannot see (and refuse) what the cases pass on purpose. */
static void *volatile bad_ptr = (void *)1;
#define BAD      (bad_ptr)
static volatile int minus_one = -1;

#define HELLO_LEN 12             /* "hello world\n" from P_HELLO and "connect ... hello" */

/* ---- the case table ---- */

struct dcase {
	const char *name;
	void (*fn)(void);
	int timeout_ms;
};

#define MAX_CASES 3000
static struct dcase cases[MAX_CASES];
static int ncases;
static int case_index;           /* of the running case: gives it a port of its own */

static void reg(const char *name, void (*fn)(void), int timeout_ms)
{
	if (ncases == MAX_CASES)
		abort();
	cases[ncases++] = (struct dcase){ name, fn, timeout_ms ? timeout_ms : 5000 };
}

/* CASE(name, timeout_ms) { body }: timeout 0 is the default (5 s). */
#define CASE(n, t) \
	static void c_##n(void); \
	__attribute__((constructor)) static void reg_##n(void) { reg(#n, c_##n, t); } \
	static void c_##n(void)

/* ---- output ---- */

static long rtmp;

static long res(long r, int e, bool fd)
{
	if (r == -1)
		emit("%s", ename(e));
	else if (fd && r >= 0)
		emit("fd");
	else
		emit("%ld", r);
	if (r != -1 && e != 0)
		emit("errno=%s", ename(e));
	return r;
}

/* R(call): the call's result as a step; evaluates to what it returned.
 * errno is cleared first, so a success that sets errno shows. */
#define R(expr)   (errno = 0, rtmp = (long)(expr), res(rtmp, errno, false))
#define RFD(expr) (errno = 0, rtmp = (long)(expr), res(rtmp, errno, true))

static volatile sig_atomic_t sig_seen[65];
static sem_t sig_sem;

static void end_case(void)
{
	end_sig_line(sig_seen);
}

/* need(cond, what): the case cannot reach the state it tests; say so and end it. */
static void need(bool ok, const char *what)
{
	int e = errno;

	if (ok)
		return;
	emit("SETUP %s %s", what, ename(e));
	end_case();
	exit(0);
}

/* ---- addresses ---- */

static struct sockaddr_in sin4(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* Fixed ports (the peer's, the cases' own) print as they are; the others are ephemeral. */
static void port_str(char *b, size_t n, unsigned port)
{
	if (port == 0 || port < 20000)
		snprintf(b, n, "%u", port);
	else
		snprintf(b, n, "eph");
}

/* emit_addr(sa, len): "addr=IP:PORT len=N" with the port normalised. */
static void emit_addr(const void *sa, socklen_t len)
{
	const struct sockaddr *s = sa;
	char ip[INET6_ADDRSTRLEN] = "?", port[16] = "?";

	if (len >= sizeof(sa_family_t) && s->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a = sa;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port_str(port, sizeof(port), ntohs(a->sin_port));
		emit("addr=%s:%s", ip, port);
	} else if (len >= sizeof(struct sockaddr_in6) && s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = sa;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port_str(port, sizeof(port), ntohs(a->sin6_port));
		emit("addr=[%s]:%s", ip, port);
	} else {
		emit("addr=family%d", len >= sizeof(sa_family_t) ? s->sa_family : -1);
	}
	emit("len=%u", (unsigned)len);
}

/* What a truncated sockaddr_in holds: the family and the port, no address. */
static void emit_short_addr(const struct sockaddr_in *a, socklen_t len)
{
	char port[16];

	port_str(port, sizeof(port), ntohs(a->sin_port));
	emit("len=%u family=%d port=%s", (unsigned)len, a->sin_family, port);
}

static int case_port(void)
{
	return 10000 + case_index;
}

/* ---- sockets in a given state ---- */

static int tcp_sock(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	need(s >= 0, "socket");
	return s;
}

static int udp_sock(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	need(s >= 0, "socket");
	return s;
}

static int connect_to(int s, const char *ip, int port)
{
	struct sockaddr_in a = sin4(ip, port);

	return connect(s, (struct sockaddr *)&a, sizeof(a));
}

/* A TCP socket connected to the peer's PORT (blocking). */
static int tcp_to(int port)
{
	int s = tcp_sock();

	need(connect_to(s, PEER, port) == 0, "connect");
	return s;
}

static int udp_to(int port)
{
	int s = udp_sock();

	need(connect_to(s, PEER, port) == 0, "connect");
	return s;
}

/* A TCP listener on 192.0.2.2 at the case's own port. */
static int tcp_listener(void)
{
	int s = tcp_sock(), one = 1;
	struct sockaddr_in a = sin4(SELF, case_port());

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	need(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	need(listen(s, 8) == 0, "listen");
	return s;
}

static int udp_bound(void)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(SELF, case_port());

	need(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	return s;
}

/* poll for EV (0: only POLLERR/POLLHUP) for at most WAIT_MS; the revents, 0 on timeout. */

static int wait_ev(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A signal the case expects (SIGURG, SIGIO) may end the wait early. */
	while ((r = poll(&p, 1, (int)(WAIT_MS - ms_since(&t0)))) < 0 && errno == EINTR &&
	       ms_since(&t0) < WAIT_MS)
		;
	return r == 1 ? p.revents : 0;
}

static void wait_in(int fd)
{
	need(wait_ev(fd, POLLIN) & POLLIN, "wait-readable");
}

/* Waits for the peer's RST (or another error or hang-up). */
static void wait_err(int fd)
{
	need(wait_ev(fd, 0) & (POLLERR | POLLHUP), "wait-error");
}

/* Waits until N bytes are queued to read (looks with MSG_PEEK). */
static void wait_bytes(int fd, int n)
{
	char b[65536];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		need(wait_ev(fd, POLLIN) & POLLIN, "wait-bytes");
		ssize_t r = recv(fd, b, (size_t)n, MSG_PEEK | MSG_DONTWAIT);

		if (r >= n)
			return;
		need(r != 0, "wait-bytes-eof");
		clock_gettime(CLOCK_MONOTONIC, &t);
		errno = ETIMEDOUT;
		need((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < WAIT_MS,
		     "wait-bytes");
	}
}

/* A TCP connection to the peer's P_HELLO with its 12 bytes already here. */
static int tcp_hello(void)
{
	int s = tcp_to(P_HELLO);

	wait_bytes(s, HELLO_LEN);
	return s;
}

static int udp_to(int port);

/* A connected UDP socket with the peer's echo of TEXT waiting to be read. */
static int udp_echoed(const char *text)
{
	int s = udp_to(P_UECHO);

	need(send(s, text, strlen(text), 0) == (ssize_t)strlen(text), "send");
	wait_in(s);
	return s;
}

/* A connection the peer reset: P_RST answers our first byte with a RST (after
 * the handshake, so that connect() itself never races with it). */
static int tcp_reset(void)
{
	int s = tcp_to(P_RST);

	need(send(s, "x", 1, MSG_NOSIGNAL) == 1, "send");
	wait_err(s);
	return s;
}

/* Waits for the peer's FIN (recv returns 0, not a step). */
static void wait_fin(int s)
{
	char b[64];

	wait_in(s);
	need(recv(s, b, sizeof(b), MSG_DONTWAIT) == 0, "wait-fin");
}

/* A connection the peer closed (FIN seen) and then reset, answering our write. */
static int tcp_fin_rst(void)
{
	int s = tcp_to(P_FIN);

	wait_fin(s);
	need(send(s, "x", 1, MSG_NOSIGNAL) == 1, "send-after-fin");
	wait_err(s);
	return s;
}

/* peer(fmt, ...): one command to the peer's control port; returns once it answered "ok". */
__attribute__((format(printf, 1, 2)))
static void peer(const char *fmt, ...)
{
	char cmd[256], b[256];
	va_list ap;
	int c = tcp_to(P_CTL), n;
	size_t got = 0;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cmd[n++] = '\n';
	need(send(c, cmd, (size_t)n, MSG_NOSIGNAL) == n, "peer-send");
	while (got < sizeof(b) - 1 && !memchr(b, '\n', got)) {
		need(wait_ev(c, POLLIN) & POLLIN, "peer-answer");
		ssize_t r = recv(c, b + got, sizeof(b) - 1 - got, 0);

		need(r > 0, "peer-answer");
		got += (size_t)r;
	}
	errno = 0;
	need(got >= 3 && memcmp(b, "ok\n", 3) == 0, "peer-refused");
	close(c);
}

/* An accepted connection from the peer (MODE: hold, hello, fin, rst). */
static int tcp_accepted(const char *mode)
{
	int l = tcp_listener(), c;

	peer("connect %d %s", case_port(), mode);
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	close(l);
	return c;
}

/*
 * Fills the send path to the stalled peer: non-blocking sends until one byte
 * no longer goes in and poll has not said POLLOUT for 200 ms (poll asks for a
 * third of the buffer free, send for one byte: only both together say full).
 */
static void fill(int s)
{
	static char b[65536];
	int fl = fcntl(s, F_GETFL);
	long total = 0;

	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	for (int i = 0; i < 100000; i++) {
		ssize_t r = send(s, b, sizeof(b), MSG_NOSIGNAL);

		if (r < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = s, .events = POLLOUT };

			if (poll(&p, 1, 200) == 0 && send(s, b, 1, MSG_NOSIGNAL) < 0 && errno == EAGAIN)
				break;
			continue;
		}
		need(r > 0, "fill");
		total += r;
	}
	fcntl(s, F_SETFL, fl);
	need(total > 0, "fill-nothing");
}

static void emit_flags(int s)
{
	int fl = fcntl(s, F_GETFL), fd = fcntl(s, F_GETFD);

	emit("fl=%s%s fd_flags=%d", (fl & O_ACCMODE) == O_RDWR ? "RDWR" : "?",
	     (fl & O_NONBLOCK) ? "|NONBLOCK" : "", fd);
}

static int geti(int s, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);

	if (getsockopt(s, level, name, &v, &l) < 0)
		return -errno;
	return v;
}

static void seti(int s, int level, int name, int v)
{
	need(setsockopt(s, level, name, &v, sizeof(v)) == 0, "setsockopt");
}

static void set_timeo(int s, int name, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	need(setsockopt(s, SOL_SOCKET, name, &tv, sizeof(tv)) == 0, "set-timeo");
}

/* Memory whose last N bytes end at an unmapped page: reading past them faults. */
static void *guarded(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	need(p != MAP_FAILED, "mmap");
	need(mprotect(p + pg, (size_t)pg, PROT_NONE) == 0, "mprotect");
	return p + pg - n;
}

/* ---- signals ---- */

static void on_sig(int s)
{
	sig_seen[s] = 1;
	sem_post(&sig_sem);
}

static void handle(int sig, bool restart)
{
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = restart ? SA_RESTART : 0 };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void unblock_all(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigprocmask(SIG_SETMASK, &m, NULL);
}

/* Makes SIG pending on this thread while it is blocked, for ppoll & co's mask. */
static void pend(int sig)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, sig);
	sigprocmask(SIG_BLOCK, &m, NULL);
	raise(sig);
}

/*
 * interrupt(sig, then, arg): a helper thread waits until this thread sleeps in
 * a system call (/proc/self/task/TID: state S, in a call other than futex,
 * which a lock inside a library may take on the way), then sends it SIG; once
 * the handler ran, it does THEN (if any). Joined by end_interrupt().
 */
enum then { THEN_NONE, THEN_SEND, THEN_PEER_CONNECT };
struct intr {
	pthread_t th;
	pid_t tid;
	int sig;
	enum then then;
	int fd;
	bool running;
};
static struct intr intr;

static bool asleep_in_call(pid_t tid)
{
	char path[64], b[512];
	FILE *f;
	bool ok = false;
	long nr;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(b, sizeof(b), f)) {
		char *p = strrchr(b, ')');

		ok = p && p[1] == ' ' && p[2] == 'S';
	}
	fclose(f);
	if (!ok)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fscanf(f, "%ld", &nr) == 1 && nr != SYS_futex;
	fclose(f);
	return ok;
}

/* Waits (2 s at most: NOT-BLOCKED) until thread tid sleeps in its call. */
static void await_asleep(pid_t tid)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!asleep_in_call(tid)) {
		if (ms_since(&t0) > 2000) {
			emit("NOT-BLOCKED");
			break;
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}

static void *intr_main(void *p)
{
	struct intr *in = p;
	struct timespec ts;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	await_asleep(in->tid);
	syscall(SYS_tgkill, getpid(), in->tid, in->sig);
	if (in->then == THEN_NONE)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (sem_timedwait(&sig_sem, &ts) < 0) {
		emit("NO-HANDLER");
		return NULL;
	}
	if (in->then == THEN_SEND)
		send(in->fd, "x", 1, MSG_NOSIGNAL);
	else
		peer("connect %d hold", case_port());
	return NULL;
}

static void interrupt(int sig, enum then then, int fd)
{
	intr = (struct intr){ .tid = gettid(), .sig = sig, .then = then, .fd = fd, .running = true };
	need(pthread_create(&intr.th, NULL, intr_main, &intr) == 0, "pthread_create");
}

static void end_interrupt(void)
{
	if (intr.running)
		pthread_join(intr.th, NULL);
	intr.running = false;
}

/* ===================================================================== */
/* socket */

CASE(socket_tcp, 0) { RFD(socket(AF_INET, SOCK_STREAM, 0)); }
CASE(socket_udp, 0) { RFD(socket(AF_INET, SOCK_DGRAM, 0)); }
CASE(socket_tcp_proto, 0) { RFD(socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)); }
CASE(socket_udp_proto, 0) { RFD(socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)); }
CASE(socket_stream_proto_udp, 0) { R(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)); }
CASE(socket_dgram_proto_tcp, 0) { R(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)); }
CASE(socket_bad_type, 0) { R(socket(AF_INET, 99, 0)); }
CASE(socket_bad_family, 0) { R(socket(12345, SOCK_STREAM, 0)); }
CASE(socket_bad_flags, 0) { R(socket(AF_INET, SOCK_STREAM | 0x40000000, 0)); }
CASE(socket_seqpacket, 0) { R(socket(AF_INET, SOCK_SEQPACKET, 0)); }
CASE(socket_inet6_tcp, 0) { RFD(socket(AF_INET6, SOCK_STREAM, 0)); }
CASE(socket_inet6_udp, 0) { RFD(socket(AF_INET6, SOCK_DGRAM, 0)); }
CASE(socket_nonblock_cloexec, 0)
{
	int s = (int)RFD(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

	emit_flags(s);
}
CASE(socket_raw_icmp, 0) { RFD(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)); }

/* ===================================================================== */
/* bind */

static void bind_to(int s, const char *ip, int port)
{
	struct sockaddr_in a = sin4(ip, port);

	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
}

static void emit_sockname(int s)
{
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);

	if (R(getsockname(s, (struct sockaddr *)&a, &l)) == 0)
		emit_addr(&a, l);
}

static void emit_peername(int s)
{
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);

	if (R(getpeername(s, (struct sockaddr *)&a, &l)) == 0)
		emit_addr(&a, l);
}

CASE(bind_any_eph, 0) { int s = tcp_sock(); bind_to(s, "0.0.0.0", 0); emit_sockname(s); }
CASE(bind_self_port, 0) { int s = tcp_sock(); bind_to(s, SELF, case_port()); emit_sockname(s); }
CASE(bind_udp_self, 0) { int s = udp_sock(); bind_to(s, SELF, case_port()); emit_sockname(s); }
CASE(bind_nonlocal, 0) { bind_to(tcp_sock(), NOBODY, 0); }
/* A socket bound to a group (or to the broadcast address) sends from the
 * interface's address (inet_bind leaves inet_saddr 0): the peer's echo
 * comes back. */
static void bound_group_echo(const char *addr)
{
	int u = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	char b[16];

	bind_to(u, addr, 0);
	set_timeo(u, SO_RCVTIMEO, 1000);
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	R(recv(u, b, sizeof(b), 0));
}
CASE(udp_bound_group_sends, 0) { bound_group_echo("239.1.2.3"); }
/* Its source is the interface's address: the echo comes back to that
 * address and the same port, where another socket hears it. */
CASE(udp_bound_group_source, 0)
{
	int u = udp_sock(), r = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	char b[16];

	bind_to(u, "239.1.2.3", case_port());
	bind_to(r, SELF, case_port());
	set_timeo(r, SO_RCVTIMEO, 1000);
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	R(recv(r, b, sizeof(b), 0));
}
CASE(udp_bound_broadcast_sends, 0) { bound_group_echo("192.0.2.255"); }
/* IP_FREEBIND (and IP_TRANSPARENT) let a socket bind an address that is not
 * the host's; getsockname shows it. */
CASE(bind_nonlocal_freebind, 0)
{
	int s = tcp_sock(), u = udp_sock();

	struct sockaddr_in to = sin4(PEER, P_USINK);

	seti(s, IPPROTO_IP, IP_FREEBIND, 1);
	bind_to(s, NOBODY, 0);
	emit_sockname(s);
	seti(u, IPPROTO_IP, IP_FREEBIND, 1);
	bind_to(u, NOBODY, 0);
	emit_sockname(u);
	/* Sending from it: no route from an address not ours (EINVAL). */
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	R(connect_to(s, PEER, P_ECHO));
}
/* No option: an address not the host's is EADDRNOTAVAIL, unless the
 * namespace's net.ipv4.ip_nonlocal_bind is set (80-diff.bats runs this case
 * with it too); sending from it then as with IP_FREEBIND. */
CASE(bind_nonlocal_sysctl, 0)
{
	int s = tcp_sock(), u = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_USINK);

	bind_to(s, NOBODY, 0);
	emit_sockname(s);
	bind_to(u, NOBODY, 0);
	emit_sockname(u);
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
}

static void conn(int s, const char *ip, int port);

/* What a socket bound so can do (80-diff.bats runs it with the sysctl too):
 * listen, connect (TCP and UDP), a second bind of the address and port. */
CASE(bind_nonlocal_sysctl_use, 0)
{
	int l = tcp_sock(), s = tcp_sock(), u = udp_sock(), t = tcp_sock();

	bind_to(l, NOBODY, case_port());
	R(listen(l, 1));
	emit_sockname(l);
	bind_to(t, NOBODY, case_port());
	bind_to(s, NOBODY, 0);
	conn(s, PEER, P_ECHO);
	bind_to(u, NOBODY, 0);
	conn(u, PEER, P_USINK);
	emit_sockname(u);
	R(send(u, "x", 1, 0));
}

/* ---- IP_LOCAL_PORT_RANGE (Linux 6.3): a u32, low port in the low 16 bits ---- */

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

static int local_port(int s);

static void set_range(int s, unsigned lo, unsigned hi)
{
	uint32_t v = (uint32_t)hi << 16 | lo;

	R(setsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &v, sizeof(v)));
}

static void emit_range(int s)
{
	uint32_t v = 0;
	socklen_t l = sizeof(v);

	if (R(getsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &v, &l)) == 0)
		emit("lo=%u hi=%u len=%u", v & 0xffff, v >> 16, (unsigned)l);
}

/* A fixed port of the case's own inside the default ephemeral range (it is
 * the point here: printed as a number, not "eph"). */
static int range_port(void)
{
	return 40000 + case_index;
}

/* The namespace's net.ipv4.ip_local_port_range (both stacks read it). */
static void ns_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	need(f && fscanf(f, "%d %d", lo, hi) == 2, "ip_local_port_range");
	fclose(f);
}

/* A close that leaves no TIME_WAIT on the case's port (SO_LINGER 0). */
static void abort_close(int s)
{
	struct linger lg = { 1, 0 };

	need(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "linger");
	R(close(s));
}

/* Set, read back (0 before), cleared; TCP and UDP alike. */
CASE(iplpr_set_get, 0)
{
	int s = tcp_sock(), u = udp_sock();

	emit_range(s);
	set_range(s, 0xdead, 0xdead);
	emit_range(s);
	set_range(s, 0, 0);
	emit_range(s);
	set_range(u, 40000, 40100);
	emit_range(u);
}
/* Both ports set with the low above the high: EINVAL, the old value kept;
 * one port alone is taken whatever it is. */
CASE(iplpr_bad_order, 0)
{
	int s = tcp_sock();

	set_range(s, 40000, 40100);
	set_range(s, 50000, 40000);
	emit_range(s);
	set_range(s, 50000, 0);
	emit_range(s);
	set_range(s, 0, 1000);
	emit_range(s);
}
/* A length other than 4 is EINVAL; a short getsockopt buffer. */
CASE(iplpr_bad_len, 0)
{
	int s = tcp_sock();
	uint16_t h = 1;
	uint64_t w = 1;
	uint32_t v = 0;
	socklen_t l = 2;

	R(setsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &h, sizeof(h)));
	R(setsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &w, sizeof(w)));
	R(setsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, BAD, 4));
	set_range(s, 40000, 40001);
	R(getsockopt(s, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &v, &l));
	emit("l=%u v=%#x", (unsigned)l, v);
}
/* google/packetdrill's tw_reuse scripts: IP_BIND_ADDRESS_NO_PORT and a
 * one-port range, connect() leaves from that port; a second such socket to
 * the same peer finds no port while the first holds it. */
CASE(iplpr_connect_one_port, 0)
{
	int s = tcp_sock(), t = tcp_sock(), p = range_port();

	seti(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	set_range(s, (unsigned)p, (unsigned)p);
	R(connect_to(s, PEER, P_ECHO));
	emit("port=%d", local_port(s));
	set_range(t, (unsigned)p, (unsigned)p);
	R(connect_to(t, PEER, P_ECHO));
	abort_close(s);
	R(close(t));
}
/* bind() to port 0, listen() unbound and UDP's autobind keep to the range. */
CASE(iplpr_bind_zero, 0)
{
	int s = tcp_sock(), t = tcp_sock(), l = tcp_sock(), u = udp_sock(), p = range_port();

	set_range(s, (unsigned)p, (unsigned)p);
	bind_to(s, "0.0.0.0", 0);
	emit("port=%d", local_port(s));
	set_range(t, (unsigned)p, (unsigned)p);
	bind_to(t, "0.0.0.0", 0);
	set_range(l, (unsigned)p + 1000, (unsigned)p + 1000);
	R(listen(l, 1));
	emit("listen_port=%d", local_port(l));
	set_range(u, (unsigned)p + 2000, (unsigned)p + 2000);
	R(connect_to(u, PEER, P_UECHO));
	emit("udp_port=%d", local_port(u));
}
/* A bound outside the namespace's range is ignored, the other kept:
 * [1000, ns low] gives the namespace's low port, [ns high, 65535] its high. */
CASE(iplpr_outside_namespace, 0)
{
	int s = tcp_sock(), u = udp_sock(), lo, hi;

	ns_range(&lo, &hi);
	set_range(s, 1000, (unsigned)lo);
	bind_to(s, "0.0.0.0", 0);
	emit("at_ns_low=%d", local_port(s) == lo);
	set_range(u, (unsigned)hi, 65535);
	bind_to(u, "0.0.0.0", 0);
	emit("at_ns_high=%d", local_port(u) == hi);
}
/* ---- IP_BIND_ADDRESS_NO_PORT: bind() to port 0 takes the address only ---- */

/* A socket with the option, bound to the host's address with port 0. */
static int bnp_sock(int type)
{
	int s = type == SOCK_STREAM ? tcp_sock() : udp_sock();

	seti(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	bind_to(s, SELF, 0);
	return s;
}
/* getsockname() shows the address with port 0 (TCP and UDP); no port is
 * held, so bind() may come again (Linux's double-bind check is on the
 * port): another address, then a port; after that, EINVAL. */
CASE(bnp_bind_sockname, 0)
{
	int s = bnp_sock(SOCK_STREAM), u = bnp_sock(SOCK_DGRAM), v = 0;
	socklen_t l = sizeof(v);

	R(getsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &v, &l));
	emit("v=%d", v);
	emit_sockname(s);
	emit_sockname(u);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	bind_to(s, SELF, case_port());
	emit_sockname(s);
	bind_to(s, SELF, 0);
	bind_to(u, SELF, 0);
}
/* A bind() that fails for its port lets go of the address the option's
 * bind() gave (__inet_bind clears it when get_port fails). */
CASE(bnp_bind_fail_clears_address, 0)
{
	int s = bnp_sock(SOCK_STREAM), t = tcp_sock();

	bind_to(t, SELF, case_port());
	bind_to(s, SELF, case_port());
	emit_sockname(s);
}
/* connect() picks the port, from the bound address. */
CASE(bnp_connect_port, 0)
{
	int s = bnp_sock(SOCK_STREAM);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(connect_to(s, PEER, P_ECHO));
	emit_sockname(s);
	abort_close(s);
}
/* In a one-port range two such sockets connect from the same port to
 * different peers (the 4-tuple decides); a third to a peer one of them
 * has finds none. A port bind() took is not shared so (its bind bucket's
 * fastreuse is set: __inet_hash_connect skips it) though its holder
 * connected elsewhere. */
CASE(bnp_connect_share_port, 0)
{
	int a = bnp_sock(SOCK_STREAM), b = bnp_sock(SOCK_STREAM), c = bnp_sock(SOCK_STREAM);
	int d = tcp_sock(), e = bnp_sock(SOCK_STREAM), p = range_port();

	set_range(a, (unsigned)p, (unsigned)p);
	set_range(b, (unsigned)p, (unsigned)p);
	set_range(c, (unsigned)p, (unsigned)p);
	fcntl(a, F_SETFL, O_NONBLOCK);
	fcntl(b, F_SETFL, O_NONBLOCK);
	fcntl(c, F_SETFL, O_NONBLOCK);
	R(connect_to(a, PEER, P_ECHO));
	R(connect_to(b, PEER, P_SINK));
	emit("same=%d", local_port(a) == p && local_port(b) == p);
	R(connect_to(c, PEER, P_ECHO));
	set_range(d, (unsigned)p + 1, (unsigned)p + 1);
	bind_to(d, SELF, 0);
	fcntl(d, F_SETFL, O_NONBLOCK);
	R(connect_to(d, PEER, P_ECHO));
	set_range(e, (unsigned)p + 1, (unsigned)p + 1);
	fcntl(e, F_SETFL, O_NONBLOCK);
	R(connect_to(e, PEER, P_SINK));
	abort_close(a);
	abort_close(b);
	abort_close(d);
}
/* listen() picks an ephemeral port on the address; bind() is EINVAL then. */
CASE(bnp_listen, 0)
{
	int s = bnp_sock(SOCK_STREAM);

	R(listen(s, 1));
	emit_sockname(s);
	bind_to(s, SELF, 0);
}
/* UDP: the first send picks the port, on the address; bind() is EINVAL
 * then. connect()'s autobind alike. */
CASE(bnp_udp_send, 0)
{
	int u = bnp_sock(SOCK_DGRAM), v = bnp_sock(SOCK_DGRAM);
	struct sockaddr_in to = sin4(PEER, P_USINK);

	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(u);
	bind_to(u, SELF, 0);
	R(connect_to(v, PEER, P_USINK));
	emit_sockname(v);
}
/* A disconnect keeps the address bind() gave without a port and lets the
 * port connect() picked go (tcp_disconnect: SOCK_BINDADDR_LOCK is set,
 * SOCK_BINDPORT_LOCK is not); the next connect() picks one again. UDP's
 * disconnect alike (__udp_disconnect). */
CASE(bnp_disconnect_keeps_address, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = bnp_sock(SOCK_STREAM), u = bnp_sock(SOCK_DGRAM);

	R(connect_to(s, PEER, P_ECHO));
	R(connect(s, &a, sizeof(a)));
	emit_sockname(s);
	R(connect_to(s, PEER, P_ECHO));
	emit_sockname(s);
	R(connect_to(u, PEER, P_USINK));
	R(connect(u, &a, sizeof(a)));
	emit_sockname(u);
	/* A connect() the peer refused: the socket is as disconnected. */
	s = bnp_sock(SOCK_STREAM);
	R(connect_to(s, PEER, P_CLOSED));
	emit_sockname(s);
	R(connect_to(s, PEER, P_ECHO));
	emit_sockname(s);
}
/* UDP's connect() from an address not ours routes as a send does: no
 * route from it without IP_TRANSPARENT (ip4_datagram_connect fails, the
 * socket stays unconnected); with it, connected. */
CASE(bind_nonlocal_udp_connect, 0)
{
	int u = udp_sock(), v = udp_sock();

	seti(u, IPPROTO_IP, IP_FREEBIND, 1);
	bind_to(u, NOBODY, 0);
	conn(u, PEER, P_USINK);
	emit_peername(u);
	R(send(u, "x", 1, 0));
	seti(v, IPPROTO_IP, IP_TRANSPARENT, 1);
	bind_to(v, NOBODY, 0);
	conn(v, PEER, P_USINK);
	emit_peername(v);
	R(send(v, "x", 1, 0));
}
CASE(bind_nonlocal_transparent, 0)
{
	int s = tcp_sock();

	seti(s, IPPROTO_IP, IP_TRANSPARENT, 1);
	bind_to(s, NOBODY, 0);
	emit_sockname(s);
}
/* IP_TRANSPARENT sends from it: a datagram goes (its answer, to an address
 * nobody has, never comes); a non-blocking connect is under way. */
CASE(send_nonlocal_transparent, 0)
{
	int s = tcp_sock(), u = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_USINK);

	seti(u, IPPROTO_IP, IP_TRANSPARENT, 1);
	bind_to(u, NOBODY, 0);
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	seti(s, IPPROTO_IP, IP_TRANSPARENT, 1);
	bind_to(s, NOBODY, 0);
	fcntl(s, F_SETFL, O_NONBLOCK);
	R(connect_to(s, PEER, P_ECHO));
}
/* SO_DONTROUTE: a destination beyond the link (through the gateway) is
 * unreachable; one on the link is not. */
CASE(udp_dontroute, 0)
{
	int s = udp_sock();
	struct sockaddr_in far = sin4("198.51.100.1", 9), near = sin4(PEER, P_USINK);

	seti(s, SOL_SOCKET, SO_DONTROUTE, 1);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&far, sizeof(far)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&near, sizeof(near)));
	R(sendto(udp_sock(), "x", 1, MSG_DONTROUTE, (struct sockaddr *)&far, sizeof(far)));
}
CASE(tcp_dontroute, 0)
{
	int s = tcp_sock();

	seti(s, SOL_SOCKET, SO_DONTROUTE, 1);
	R(connect_to(s, "198.51.100.1", 9));
}
CASE(bind_peer_addr, 0) { bind_to(tcp_sock(), PEER, 0); }
CASE(bind_bcast_tcp, 0) { bind_to(tcp_sock(), BCAST, 0); }
CASE(bind_mcast_udp, 0) { bind_to(udp_sock(), "224.0.0.1", case_port()); }
CASE(bind_mcast_tcp, 0) { bind_to(tcp_sock(), "224.0.0.1", 0); }
CASE(bind_bcast_udp, 0) { bind_to(udp_sock(), BCAST, case_port()); }
CASE(bind_limited_bcast_tcp, 0) { bind_to(tcp_sock(), "255.255.255.255", 0); }
CASE(bind_net_addr_tcp, 0) { bind_to(tcp_sock(), "192.0.2.0", 0); }
static void conn(int s, const char *ip, int port);

/* Bound to the broadcast address, a TCP socket still connects from its own. */
CASE(bind_bcast_tcp_connect, 0)
{
	int s = tcp_sock();

	bind_to(s, BCAST, case_port());
	emit_sockname(s);
	conn(s, PEER, P_ECHO);
	emit_sockname(s);
}
CASE(bind_short_len, 0)
{
	struct sockaddr_in a = sin4(SELF, 0);

	R(bind(tcp_sock(), (struct sockaddr *)&a, 8));
}
CASE(bind_len_zero, 0)
{
	struct sockaddr_in a = sin4(SELF, 0);

	R(bind(tcp_sock(), (struct sockaddr *)&a, 0));
}
CASE(bind_null, 0) { R(bind(tcp_sock(), NULL, sizeof(struct sockaddr_in))); }
CASE(bind_bad_ptr, 0) { R(bind(tcp_sock(), BAD, sizeof(struct sockaddr_in))); }
CASE(bind_family_unix, 0)
{
	struct sockaddr_in a = sin4(SELF, 0);

	a.sin_family = AF_UNIX;
	R(bind(tcp_sock(), (struct sockaddr *)&a, sizeof(a)));
}
CASE(bind_unspec_any, 0)
{
	struct sockaddr_in a = sin4("0.0.0.0", 0);
	int s = tcp_sock();

	a.sin_family = AF_UNSPEC;
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
}
CASE(bind_twice, 0) { int s = tcp_sock(); bind_to(s, SELF, 0); bind_to(s, SELF, 0); }
/* A second bind() to an address that is not ours: Linux's __inet_bind judges
 * the address before the socket's state (EADDRNOTAVAIL, then EINVAL). */
CASE(bind_twice_nonlocal, 0)
{
	int s = tcp_sock();

	bind_to(s, SELF, 0);
	bind_to(s, PEER, 0);
	bind_to(s, NOBODY, case_port());
	bind_to(s, SELF, 0);
}
CASE(bind_twice_nonlocal_udp, 0)
{
	int s = udp_sock();

	bind_to(s, SELF, 0);
	bind_to(s, PEER, 0);
	bind_to(s, "0.0.0.0", 0);
}
CASE(bind_connected_nonlocal, 0)
{
	int s = tcp_to(P_ECHO);

	bind_to(s, PEER, 0);
	bind_to(s, SELF, 0);
}
CASE(bind_in_use, 0) { bind_to(tcp_sock(), SELF, case_port()); bind_to(tcp_sock(), SELF, case_port()); }
CASE(bind_in_use_any, 0) { bind_to(tcp_sock(), SELF, case_port()); bind_to(tcp_sock(), "0.0.0.0", case_port()); }
CASE(bind_reuseaddr, 0)
{
	int a = tcp_sock(), b = tcp_sock();

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(a, SELF, case_port());
	bind_to(b, SELF, case_port());
}
CASE(bind_reuseaddr_listening, 0)
{
	int a = tcp_sock(), b = tcp_sock();

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(a, SELF, case_port());
	R(listen(a, 1));
	bind_to(b, SELF, case_port());
}
CASE(bind_reuseport, 0)
{
	int a = tcp_sock(), b = tcp_sock();

	seti(a, SOL_SOCKET, SO_REUSEPORT, 1);
	seti(b, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(a, SELF, case_port());
	bind_to(b, SELF, case_port());
}
CASE(bind_udp_in_use, 0) { bind_to(udp_sock(), SELF, case_port()); bind_to(udp_sock(), SELF, case_port()); }
CASE(bind_after_connect, 0) { bind_to(tcp_to(P_ECHO), SELF, 0); }
/* A connection that ended (reset, both FINs through) gave its port back at
 * Linux's tcp_done unless bind() had named it: bind() works again (a new
 * ephemeral port, the address bound), another socket may take the old port,
 * and the socket stays otherwise as it was (listen EINVAL, connect EISCONN). */
static void emit_ip_protocol(int s);
static int wait_state(int s, int state);
static int local_port(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	need(getsockname(s, (struct sockaddr *)&a, &l) == 0, "getsockname");
	return ntohs(a.sin_port);
}
static void rebind_ended(int s)
{
	int old = local_port(s), t;
	char b[8];

	emit_sockname(s);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	emit("new-port=%d", local_port(s) != old);
	bind_to(s, "0.0.0.0", 0);
	R(listen(s, 1));
	conn(s, PEER, P_ECHO);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "z", 1, MSG_NOSIGNAL));
	t = tcp_sock();
	bind_to(t, SELF, local_port(s));
	bind_to(tcp_sock(), SELF, old);
}
CASE(bind_after_reset, 0) { rebind_ended(tcp_reset()); }
CASE(bind_after_reset_port_free, 0)
{
	int s = tcp_reset(), t = tcp_sock();

	bind_to(t, SELF, local_port(s));
	R(listen(t, 1));
	emit_ip_protocol(s);
}
CASE(bind_after_reset_port_named, 0)
{
	int s = tcp_sock(), t;

	bind_to(s, "0.0.0.0", case_port());
	conn(s, PEER, P_RST);
	need(send(s, "x", 1, MSG_NOSIGNAL) == 1, "send");
	wait_err(s);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	emit_ip_protocol(s);
	bind_to(tcp_sock(), SELF, case_port());
	t = tcp_sock();
	seti(t, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(t, SELF, case_port());
}
CASE(bind_after_passive_close, 0)
{
	int s = tcp_to(P_FIN);

	wait_fin(s);
	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	emit("state=%d", wait_state(s, TCP_CLOSE));
	rebind_ended(s);
}
/* Our FIN first: Linux's socket is closed at once, a timewait record holds
 * the port (another bind() of it: EADDRINUSE), and bytes still unread stay. */
CASE(bind_after_timewait, 0)
{
	int s = tcp_to(P_ECHO), old = local_port(s);
	char b[8];

	need(send(s, "ab", 2, MSG_NOSIGNAL) == 2, "send");
	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	need(wait_ev(s, POLLRDHUP) & POLLRDHUP, "wait-fin");
	bind_to(s, SELF, old);
	emit_sockname(s);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	bind_to(tcp_sock(), SELF, old);
	R(connect(s, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_UNSPEC }, sizeof(struct sockaddr_in)));
	conn(s, PEER, P_ECHO);
	R(send(s, "hi", 2, MSG_NOSIGNAL));
}
/* Linux's __inet_bind refuses a socket not in TCP_CLOSE, or whose port is
 * still held (inet_num): in CLOSE_WAIT, FIN_WAIT2 and SYN_SENT EINVAL; a
 * refused connect(), a disconnect (AF_UNSPEC) and a listener shut down gave
 * the port back at tcp_set_state(TCP_CLOSE) unless bind() had named it. */
CASE(bind_state_close_wait, 0)
{
	int s = tcp_to(P_FIN);

	wait_fin(s);
	emit("state=%d", wait_state(s, TCP_CLOSE_WAIT));
	bind_to(s, "0.0.0.0", 0);
}
CASE(bind_state_fin_wait2, 0)
{
	int s = tcp_to(P_STALL);

	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	emit("state=%d", wait_state(s, TCP_FIN_WAIT2));
	bind_to(s, "0.0.0.0", 0);
}
CASE(bind_state_syn_sent, 1000)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
	bind_to(s, "0.0.0.0", 0);
}
CASE(bind_after_refused, 1000)
{
	int s = tcp_sock();

	conn(s, PEER, P_CLOSED);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	conn(s, PEER, P_ECHO);
}
/* An accepted connection that ended: its port (the listener's) was never
 * bind()'s own (Linux's sk_clone_lock clears SOCK_BINDPORT_LOCK in the
 * child), so tcp_done let it go: bind() works again, and once the listener
 * is gone the port is free. */
static void bind_after_accepted_ended(const char *mode)
{
	int l = tcp_listener(), c;

	peer("connect %d %s", case_port(), mode);
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	if (strcmp(mode, "fin") == 0) {
		wait_fin(c);
		need(shutdown(c, SHUT_WR) == 0, "shutdown");
		emit("state=%d", wait_state(c, TCP_CLOSE));
	} else {
		wait_err(c);
	}
	bind_to(tcp_sock(), SELF, case_port());
	close(l);
	bind_to(tcp_sock(), SELF, case_port());
	bind_to(c, "0.0.0.0", 0);
	emit_sockname(c);
}
CASE(bind_after_accepted_reset, 0) { bind_after_accepted_ended("rst"); }
CASE(bind_after_accepted_passive_close, 0) { bind_after_accepted_ended("fin"); }
/* A connect() that timed out (TCP_USER_TIMEOUT over the SYN's retries)
 * gave its port back as a refused one did. */
CASE(bind_after_connect_timeout, 4000)
{
	int s = tcp_sock();

	seti(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 500);
	conn(s, PEER, P_DROP);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	emit_ip_protocol(s);
}
static void emit_so_error(int s);
/* The same after a non-blocking connect(): Linux's tcp_done gave the port
 * back (inet_put_port) when the RST came, whoever reads the error. */
static void bind_after_nonblock_refused(int how)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_CLOSED);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	if (how == 1)
		emit_so_error(s);
	else if (how == 2)
		R(send(s, "x", 1, MSG_NOSIGNAL));
	emit_sockname(s);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
}
CASE(bind_after_nonblock_refused, 0) { bind_after_nonblock_refused(0); }
CASE(bind_after_nonblock_refused_so_error, 0) { bind_after_nonblock_refused(1); }
CASE(bind_after_nonblock_refused_send, 0) { bind_after_nonblock_refused(2); }
CASE(bind_after_refused_port_named, 1000)
{
	int s = tcp_sock();

	bind_to(s, "0.0.0.0", case_port());
	conn(s, PEER, P_CLOSED);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
}
/* A connect(AF_UNSPEC) after the peer's RST, or after a non-blocking
 * connect() was refused: the error stays pending (tcp_disconnect never
 * clears sk_err), for the next send or SO_ERROR. */
static void disconnect_pending_error(bool refused)
{
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };
	int s;

	if (refused) {
		s = tcp_sock();
		fcntl(s, F_SETFL, O_NONBLOCK);
		conn(s, PEER, P_CLOSED);
		emit("revents=%#x", wait_ev(s, POLLOUT));
	} else {
		s = tcp_to(P_RST);
		R(send(s, "x", 1, MSG_NOSIGNAL));
		wait_err(s);
	}
	R(connect(s, (struct sockaddr *)&u, sizeof(u)));
	R(send(s, "y", 1, MSG_NOSIGNAL));
	R(send(s, "y", 1, MSG_NOSIGNAL));
	emit_so_error(s);
}
CASE(disconnect_after_rst_pending_error, 0) { disconnect_pending_error(false); }
CASE(disconnect_after_refused_pending_error, 0) { disconnect_pending_error(true); }
CASE(bind_after_disconnect, 0)
{
	int s = tcp_to(P_ECHO);

	R(connect(s, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_UNSPEC }, sizeof(struct sockaddr_in)));
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
}
CASE(bind_after_listen_shutdown, 0)
{
	int s = tcp_sock(), t = tcp_listener(), u = tcp_sock();

	R(listen(s, 1));
	R(shutdown(s, SHUT_RDWR));
	emit_sockname(s);
	emit_ip_protocol(s);
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
	R(shutdown(t, SHUT_RDWR));
	emit_sockname(t);
	emit_ip_protocol(t);
	bind_to(t, "0.0.0.0", 0);
	emit_sockname(t);
	bind_to(u, SELF, 0);
	R(listen(u, 1));
	R(shutdown(u, SHUT_RD));
	emit_sockname(u);
	bind_to(u, "0.0.0.0", 0);
}
/* Shut down, a listener listens again: on a new port unless bind() named one. */
CASE(listen_after_listen_shutdown, 0)
{
	int s = tcp_sock(), t = tcp_listener(), old;

	R(listen(s, 1));
	old = local_port(s);
	R(shutdown(s, SHUT_RDWR));
	R(listen(s, 1));
	emit_sockname(s);
	emit("new-port=%d", local_port(s) != old);
	R(shutdown(t, SHUT_RDWR));
	R(listen(t, 1));
	emit_sockname(t);
	R(connect_to(tcp_sock(), SELF, case_port()));
}
CASE(bind_bad_fd, 0)
{
	struct sockaddr_in a = sin4(SELF, 0);

	R(bind(-1, (struct sockaddr *)&a, sizeof(a)));
}
CASE(bind_not_socket, 0)
{
	struct sockaddr_in a = sin4(SELF, 0);
	int p[2];

	need(pipe(p) == 0, "pipe");
	R(bind(p[0], (struct sockaddr *)&a, sizeof(a)));
}

/* ===================================================================== */
/* listen */

CASE(listen_unbound, 0) { int s = tcp_sock(); R(listen(s, 4)); emit_sockname(s); }
CASE(listen_udp, 0) { R(listen(udp_sock(), 4)); }
CASE(listen_twice, 0) { int s = tcp_listener(); R(listen(s, 16)); }
CASE(listen_negative_backlog, 0) { int s = tcp_sock(); bind_to(s, SELF, case_port()); R(listen(s, -1)); }
CASE(listen_connected, 0) { R(listen(tcp_to(P_ECHO), 4)); }
CASE(listen_bad_fd, 0) { R(listen(-1, 4)); }
CASE(listen_acceptconn, 0)
{
	int s = tcp_sock();

	emit("acceptconn=%d", geti(s, SOL_SOCKET, SO_ACCEPTCONN));
	R(listen(s, 4));
	emit("acceptconn=%d", geti(s, SOL_SOCKET, SO_ACCEPTCONN));
}

/* ===================================================================== */
/* accept, accept4 */

CASE(accept_nonblock_empty, 0)
{
	int l = tcp_listener();

	fcntl(l, F_SETFL, O_NONBLOCK);
	R(accept(l, NULL, NULL));
}
CASE(accept_not_listening, 0) { R(accept(tcp_sock(), NULL, NULL)); }
CASE(accept_udp, 0) { R(accept(udp_sock(), NULL, NULL)); }
CASE(accept_bad_fd, 0) { R(accept(-1, NULL, NULL)); }
CASE(accept_peer, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);

	peer("connect %d hold", case_port());
	if (RFD(accept(l, (struct sockaddr *)&a, &len)) >= 0)
		emit_addr(&a, len);
}
CASE(accept_null_null, 0)
{
	int l = tcp_listener();

	peer("connect %d hold", case_port());
	RFD(accept(l, NULL, NULL));
}
CASE(accept_addr_null_len, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a = { 0 };

	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, NULL));
}
CASE(accept_short_len, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a = { 0 };
	socklen_t len = 4;

	memset(&a, 0, sizeof(a));
	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, &len));
	emit_short_addr(&a, len);
}
CASE(accept_len_zero, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a = { 0 };
	socklen_t len = 0;

	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, &len));
	emit("len=%u", (unsigned)len);
}
CASE(accept_negative_len, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a = { 0 };
	socklen_t len = (socklen_t)-1;

	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, &len));
}
CASE(accept_bad_addr, 0)
{
	int l = tcp_listener();
	socklen_t len = sizeof(struct sockaddr_in);

	peer("connect %d hold", case_port());
	RFD(accept(l, BAD, &len));
}
CASE(accept4_nonblock, 0)
{
	int l = tcp_listener(), c;

	peer("connect %d hold", case_port());
	c = (int)RFD(accept4(l, NULL, NULL, SOCK_NONBLOCK));
	emit_flags(c);
}
CASE(accept4_cloexec, 0)
{
	int l = tcp_listener(), c;

	peer("connect %d hold", case_port());
	c = (int)RFD(accept4(l, NULL, NULL, SOCK_CLOEXEC));
	emit_flags(c);
}
CASE(accept4_bad_flags, 0)
{
	int l = tcp_listener();

	peer("connect %d hold", case_port());
	R(accept4(l, NULL, NULL, 0x1));
}
CASE(accept_no_inherit_nonblock, 0)
{
	int l = tcp_listener(), c;

	fcntl(l, F_SETFL, O_NONBLOCK);
	peer("connect %d hold", case_port());
	wait_in(l);
	c = (int)RFD(accept(l, NULL, NULL));
	emit_flags(c);
}
CASE(accept_then_data, 0)
{
	int c = tcp_accepted("hello");
	char b[64];

	wait_bytes(c, HELLO_LEN);
	R(recv(c, b, sizeof(b), 0));
	emit_peername(c);
	emit_sockname(c);
}
CASE(accept_peer_fin, 0)
{
	int c = tcp_accepted("fin");
	char b[64];

	wait_in(c);
	R(recv(c, b, sizeof(b), 0));
	R(send(c, "x", 1, MSG_NOSIGNAL));
}
CASE(accept_peer_rst_queued, 0)
{
	int l = tcp_listener();
	char b[64];

	fcntl(l, F_SETFL, O_NONBLOCK);
	peer("connect %d rst", case_port());
	emit("revents=%#x", wait_ev(l, POLLIN));
	int c = (int)RFD(accept(l, NULL, NULL));
	if (c >= 0)
		R(recv(c, b, sizeof(b), MSG_DONTWAIT));
}
CASE(accept_rcvtimeo, 0)
{
	int l = tcp_listener();

	set_timeo(l, SO_RCVTIMEO, 100);
	R(accept(l, NULL, NULL));
}
CASE(accept_eintr, 0)
{
	int l = tcp_listener();

	interrupt(SIGUSR1, THEN_NONE, -1);
	R(accept(l, NULL, NULL));
	end_interrupt();
}
CASE(accept_eintr_restart, 0)
{
	int l = tcp_listener();

	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_PEER_CONNECT, -1);
	RFD(accept(l, NULL, NULL));
	end_interrupt();
}
/* Socket calls from a handler: the kernel runs it at the end of the call it
 * interrupted, or inside that call's wait; its own calls are served as the
 * program's (under the preload, not by the placeholder's kernel socket). */
static int h_fd = -1, h_close_fd = -1;
static volatile long h_ret = -2, h_err, h_close_ret = -2;
static void on_sig_send(int s)
{
	int e = errno;

	(void)s;
	h_ret = send(h_fd, "hi", 2, 0);
	h_err = errno;
	if (h_close_fd >= 0)
		h_close_ret = close(h_close_fd);
	errno = e;
}
CASE(signal_handler_send_in_accept, 0)
{
	int l = tcp_listener();
	char b[8];

	h_fd = tcp_to(P_ECHO);
	h_close_fd = tcp_to(P_SINK);
	h_ret = -2;
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_sig_send }, NULL);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(accept(l, NULL, NULL));
	end_interrupt();
	emit("handler-send=%ld %s close=%ld", h_ret, h_ret < 0 ? ename((int)h_err) : "", h_close_ret);
	wait_bytes(h_fd, 2);
	R(recv(h_fd, b, sizeof(b), MSG_DONTWAIT));
	R(fcntl(h_close_fd, F_GETFD));
	h_close_fd = -1;
}
/* A timer's handler sends while the program sends on another connection:
 * each of its sends goes out (none meets a socket the library is busy with). */
static volatile long h_ok, h_bad;
static void on_alarm_send(int s)
{
	int e = errno;

	(void)s;
	if (send(h_fd, "y", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		h_ok++;
	else if (errno != EAGAIN)
		h_bad++;
	errno = e;
}
CASE(signal_handler_send_during_sends, 0)
{
	struct itimerval it = { { 0, 500 }, { 0, 500 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa = { .sa_handler = on_alarm_send, .sa_flags = SA_RESTART };
	struct timespec t0;
	int s = tcp_to(P_SINK);

	h_fd = tcp_to(P_SINK);
	h_ok = h_bad = 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < 300)
		(void)send(s, "abcdefgh", 8, MSG_DONTWAIT | MSG_NOSIGNAL);
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	emit("handler-sent=%d failed=%ld", h_ok > 0, h_bad);
}
/* The classic timeout: a handler siglongjmps out of a blocking call; the
 * program goes on with the same socket (its next wake-ups must not find the
 * call's wait still there, in a frame that is gone). */
static sigjmp_buf lj_env;
static void on_sig_jump(int s)
{
	(void)s;
	siglongjmp(lj_env, 1);
}
static void __attribute__((noinline)) scribble_stack(int depth)
{
	volatile char junk[2048];

	memset((char *)junk, 0xa5, sizeof(junk));
	if (depth > 0)
		scribble_stack(depth - 1);
}
static void jump_out_then_echo(int how)
{
	int s = tcp_to(P_ECHO), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd p = { .fd = s, .events = POLLIN };
	char b[8];

	ev.data.fd = s;
	need(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll_ctl");
	sigaction(SIGUSR1, &(struct sigaction){ .sa_handler = on_sig_jump }, NULL);
	for (int round = 0; round < 2; round++) {
		if (sigsetjmp(lj_env, 1) == 0) {
			interrupt(SIGUSR1, THEN_NONE, -1);
			if (how == 0)
				R(recv(s, b, sizeof(b), 0));
			else if (how == 1)
				R(poll(&p, 1, -1));
			else
				R(epoll_wait(ep, &out, 1, -1));
			emit("not-jumped");
		} else {
			emit("jumped");
		}
		end_interrupt();
		scribble_stack(6);
	}
	signal(SIGUSR1, SIG_IGN);
	R(send(s, "hi", 2, MSG_NOSIGNAL));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
	R(send(s, "again", 5, MSG_NOSIGNAL));
	emit("revents=%#x", wait_ev(s, POLLIN));
	R(recv(s, b, sizeof(b), 0));
	R(close(s));
}
CASE(signal_longjmp_out_of_recv, 0) { jump_out_then_echo(0); }
CASE(signal_longjmp_out_of_poll, 0) { jump_out_then_echo(1); }
CASE(signal_longjmp_out_of_epoll_wait, 0) { jump_out_then_echo(2); }
/* A handler that closes the socket its thread waits on: Linux's wait ends
 * as the signal's (EINTR; poll looked at the fd before the handler ran), and
 * a restarted call meets the closed fd (EBADF). */
static volatile int hc_fd = -1, hc_ret = -2;
static void on_sig_close(int s)
{
	(void)s;
	hc_ret = close(hc_fd);
}
static void close_in_handler(int how, bool restart)
{
	struct sigaction sa = { .sa_handler = on_sig_close, .sa_flags = restart ? SA_RESTART : 0 };
	char b[8];

	sigaction(SIGUSR1, &sa, NULL);
	hc_fd = how == 2 ? tcp_listener() : tcp_to(P_SINK);
	interrupt(SIGUSR1, THEN_NONE, -1);
	if (how == 0) {
		R(recv(hc_fd, b, sizeof(b), 0));
	} else if (how == 1) {
		struct pollfd p = { .fd = hc_fd, .events = POLLIN };

		R(poll(&p, 1, 3000));
		emit("revents=%#x", p.revents);
	} else {
		R(accept(hc_fd, NULL, NULL));
	}
	end_interrupt();
	emit("close=%d", hc_ret);
	signal(SIGUSR1, SIG_IGN);
}
CASE(signal_handler_close_recv, 0) { close_in_handler(0, false); }
CASE(signal_handler_close_recv_restart, 0) { close_in_handler(0, true); }
CASE(signal_handler_close_poll, 0) { close_in_handler(1, false); }
CASE(signal_handler_close_poll_restart, 0) { close_in_handler(1, true); }
CASE(signal_handler_close_accept, 0) { close_in_handler(2, false); }
CASE(signal_handler_close_accept_restart, 0) { close_in_handler(2, true); }
/* Another thread closes the fd this thread is blocked on: Linux's call holds
 * the file and goes on (its timeout, its data); poll looks once more at its
 * end (POLLNVAL). */
struct closer {
	pthread_t th;
	pid_t tid;
	int fd;
	bool udp_after;
};
static void *closer_main(void *p)
{
	struct closer *c = p;

	await_asleep(c->tid);
	close(c->fd);
	if (c->udp_after)
		peer("udp %d after-close", case_port());
	return NULL;
}
static void close_from_thread(int how)
{
	struct closer c = { .tid = gettid(), .udp_after = how == 4 };
	struct pollfd p;
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = -1;
	char b[32];

	c.fd = how == 2 ? tcp_listener() : how == 4 ? udp_bound() : tcp_to(P_SINK);
	set_timeo(c.fd, SO_RCVTIMEO, 400);
	if (how == 3) {
		ep = epoll_create1(0);
		need(epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) == 0, "epoll_ctl");
	}
	need(pthread_create(&c.th, NULL, closer_main, &c) == 0, "pthread_create");
	switch (how) {
	case 0:
		R(recv(c.fd, b, sizeof(b), 0));
		break;
	case 1:
		p = (struct pollfd){ .fd = c.fd, .events = POLLIN };
		R(poll(&p, 1, 400));
		emit("revents=%#x", p.revents);
		break;
	case 2:
		R(accept(c.fd, NULL, NULL));
		break;
	case 3:
		R(epoll_wait(ep, &ev, 1, 400));
		break;
	case 4: {
		ssize_t n;

		set_timeo(c.fd, SO_RCVTIMEO, 3000);
		n = R(recv(c.fd, b, sizeof(b) - 1, 0));
		if (n > 0) {
			b[n] = 0;
			emit("%s", b);
		}
		break;
	}
	}
	pthread_join(c.th, NULL);
	R(fcntl(c.fd, F_GETFD));
}
CASE(close_from_thread_recv, 0) { close_from_thread(0); }
CASE(close_from_thread_poll, 0) { close_from_thread(1); }
CASE(close_from_thread_accept, 0) { close_from_thread(2); }
CASE(close_from_thread_epoll_wait, 0) { close_from_thread(3); }
CASE(close_from_thread_udp_data_after, 0) { close_from_thread(4); }
/* Another thread closes the fd this thread polls, then a signal ends the
 * wait: Linux's do_poll looks at the fds again before it answers the signal,
 * and the closed one is POLLNVAL (1, not EINTR); a handler's own close comes
 * after that look (signal_handler_close_poll). fuzzseq -g 7 seed 13. */
static void *close_then_signal_main(void *p)
{
	struct closer *c = p;

	await_asleep(c->tid);
	close(c->fd);
	await_asleep(c->tid);
	syscall(SYS_tgkill, getpid(), c->tid, SIGUSR1);
	return NULL;
}
CASE(close_from_thread_poll_then_signal, 0)
{
	struct closer c = { .tid = gettid() };
	struct pollfd p;

	c.fd = tcp_to(P_SINK);
	p = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	handle(SIGUSR1, false);
	need(pthread_create(&c.th, NULL, close_then_signal_main, &c) == 0, "pthread_create");
	R(poll(&p, 1, 3000));
	emit("revents=%#x", p.revents);
	pthread_join(c.th, NULL);
}
/* The same with select: a fd closed while select slept is no longer EBADF
 * (that check is at the start, max_select_fd); the look after the wake-up
 * finds no file and takes the default mask (readable and writable).
 * fuzzseq -g 7 seed 292. */
CASE(close_from_thread_select_then_signal, 0)
{
	struct closer c = { .tid = gettid() };
	struct timeval tv = { 3, 0 };
	fd_set rd, ex;

	c.fd = tcp_to(P_SINK);
	FD_ZERO(&rd);
	FD_ZERO(&ex);
	FD_SET(c.fd, &rd);
	FD_SET(c.fd, &ex);
	handle(SIGUSR1, false);
	need(pthread_create(&c.th, NULL, close_then_signal_main, &c) == 0, "pthread_create");
	R(select(c.fd + 1, &rd, NULL, &ex, &tv));
	emit("rd=%d ex=%d", FD_ISSET(c.fd, &rd), FD_ISSET(c.fd, &ex));
	pthread_join(c.th, NULL);
}
CASE(accept_after_shutdown, 0)
{
	int l = tcp_listener();

	R(shutdown(l, SHUT_RDWR));
	R(accept(l, NULL, NULL));
}

/* ===================================================================== */
/* connect */

static void conn(int s, const char *ip, int port)
{
	struct sockaddr_in a = sin4(ip, port);

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
}

static void emit_so_error(int s)
{
	int e = geti(s, SOL_SOCKET, SO_ERROR);

	emit("so_error=%s", e < 0 ? "GETSOCKOPT-FAILED" : ename(e));
}

CASE(connect_echo, 0) { int s = tcp_sock(); conn(s, PEER, P_ECHO); emit_sockname(s); emit_peername(s); }
CASE(connect_closed_port, 0) { conn(tcp_sock(), PEER, P_CLOSED); }
CASE(connect_refused_then_retry, 0) { int s = tcp_sock(); conn(s, PEER, P_CLOSED); conn(s, PEER, P_ECHO); }
CASE(connect_nonblock, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_ECHO);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
	conn(s, PEER, P_ECHO);
	conn(s, PEER, P_ECHO);
}
CASE(connect_nonblock_refused, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_CLOSED);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
	emit_so_error(s);
}
CASE(connect_nonblock_refused_connect_again, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_CLOSED);
	wait_ev(s, POLLOUT);
	conn(s, PEER, P_CLOSED);
}
CASE(connect_silent_nonblock, 0)
{
	int s = tcp_sock();
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT };

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
	R(poll(&p, 1, 200));
	conn(s, PEER, P_DROP);
	emit_so_error(s);
}
CASE(connect_silent_sndtimeo, 0)
{
	int s = tcp_sock();

	set_timeo(s, SO_SNDTIMEO, 200);
	conn(s, PEER, P_DROP);
	conn(s, PEER, P_DROP);
}
CASE(connect_eintr, 0)
{
	int s = tcp_sock();

	interrupt(SIGUSR1, THEN_NONE, -1);
	conn(s, PEER, P_DROP);
	end_interrupt();
}
/* The retry after EINTR waits on (here until SO_SNDTIMEO, 500 ms). */
CASE(connect_eintr_retry, 0)
{
	int s = tcp_sock();
	struct timespec t0;

	interrupt(SIGUSR1, THEN_NONE, -1);
	conn(s, PEER, P_DROP);
	end_interrupt();
	set_timeo(s, SO_SNDTIMEO, 500);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	conn(s, PEER, P_DROP);
	emit(ms_since(&t0) >= 250 ? "waited" : "at-once");
}
CASE(connect_eintr_nonblock_retry, 0)
{
	int s = tcp_sock();

	interrupt(SIGUSR1, THEN_NONE, -1);
	conn(s, PEER, P_DROP);
	end_interrupt();
	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
}
CASE(connect_bcast, 1000) { conn(tcp_sock(), BCAST, P_ECHO); }
CASE(connect_limited_bcast, 1000) { conn(tcp_sock(), "255.255.255.255", P_ECHO); }
CASE(connect_mcast, 1000) { conn(tcp_sock(), "224.0.0.1", P_ECHO); }
CASE(connect_mcast_nonblock, 1000)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, "239.1.2.3", P_ECHO);
	emit_so_error(s);
}
CASE(connect_any_addr, 1000) { conn(tcp_sock(), "0.0.0.0", P_CLOSED); }
/* TCP's connect() to INADDR_ANY from a socket in the stack: the same route
 * (tcp_v4_connect takes the route's destination), to a listener on ANY or on
 * the stack's address. */
static void tcp_to_any(const char *from, const char *at)
{
	int l = tcp_sock(), s = tcp_sock(), a;
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);

	bind_to(l, at, case_port());
	R(listen(l, 1));
	bind_to(s, from, 0);
	conn(s, "0.0.0.0", case_port());
	emit_sockname(s);
	emit_peername(s);
	fcntl(l, F_SETFL, O_NONBLOCK);
	wait_ev(l, POLLIN);
	a = RFD(accept(l, (struct sockaddr *)&pa, &pl));
	if (a >= 0)
		emit_addr(&pa, pl);
}
CASE(connect_any_from_self, 0) { tcp_to_any(SELF, "0.0.0.0"); }
CASE(connect_any_from_self_to_self, 0) { tcp_to_any(SELF, SELF); }
CASE(connect_any_from_any, 0) { tcp_to_any("0.0.0.0", "0.0.0.0"); }
CASE(connect_any_from_any_to_self, 0) { tcp_to_any("0.0.0.0", SELF); }
CASE(connect_self_closed, 1000) { conn(tcp_sock(), SELF, P_CLOSED); }
CASE(connect_port_zero, 0) { conn(tcp_sock(), PEER, 0); }
CASE(connect_short_len, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);

	R(connect(tcp_sock(), (struct sockaddr *)&a, 8));
}
CASE(connect_null, 0) { R(connect(tcp_sock(), NULL, sizeof(struct sockaddr_in))); }
CASE(connect_bad_ptr, 0) { R(connect(tcp_sock(), BAD, sizeof(struct sockaddr_in))); }
CASE(connect_len_huge, 0)
{
	struct sockaddr_storage a[2];

	memset(a, 0, sizeof(a));
	memcpy(a, &(struct sockaddr_in){ .sin_family = AF_INET }, sizeof(struct sockaddr_in));
	R(connect(tcp_sock(), (struct sockaddr *)a, sizeof(a)));
}
CASE(connect_family_inet6, 0)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(P_ECHO) };

	inet_pton(AF_INET6, "::ffff:" PEER, &a.sin6_addr);
	R(connect(tcp_sock(), (struct sockaddr *)&a, sizeof(a)));
}
CASE(connect_unspec_unconnected, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };

	R(connect(tcp_sock(), &a, sizeof(a)));
}
CASE(connect_unspec_connected, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = tcp_to(P_ECHO);

	R(connect(s, &a, sizeof(a)));
	emit_peername(s);
	conn(s, PEER, P_ECHO);
}
static void poll1(int s, short ev, int ms);

/* connect(AF_UNSPEC) disconnects (Linux's tcp_disconnect): what is left of the socket. */
CASE(connect_unspec_connected_state, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = tcp_to(P_ECHO);
	char b[8];

	R(connect(s, &a, sizeof(a)));
	emit_so_error(s);
	emit_sockname(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	poll1(s, POLLIN | POLLOUT, 0);
}
CASE(connect_unspec_bound_keeps_addr, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = tcp_sock();

	bind_to(s, SELF, case_port());
	conn(s, PEER, P_ECHO);
	R(connect(s, &a, sizeof(a)));
	emit_sockname(s);
	conn(s, PEER, P_ECHO);
	emit_sockname(s);
}
CASE(connect_unspec_connecting, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
	R(connect(s, &a, sizeof(a)));
	emit_so_error(s);
	conn(s, PEER, P_ECHO);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	conn(s, PEER, P_ECHO);
}
CASE(connect_unspec_listener, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int l = tcp_listener();

	R(connect(l, &a, sizeof(a)));
	R(accept(l, NULL, NULL));
	R(listen(l, 4));
}
CASE(connect_unspec_short_len, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };

	R(connect(tcp_to(P_ECHO), &a, 1));
}
CASE(connect_connected_bad_family, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);

	a.sin_family = AF_INET6;
	R(connect(tcp_to(P_ECHO), (struct sockaddr *)&a, sizeof(a)));
}
CASE(connect_connected_loopback, 0) { conn(tcp_to(P_ECHO), "127.0.0.1", P_ECHO); }
CASE(connect_connecting_bad_len, 0)
{
	struct sockaddr_in a = sin4(PEER, P_DROP);
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
	R(connect(s, (struct sockaddr *)&a, 8));
}
CASE(connect_nonblock_refused_so_error_connect_again, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_CLOSED);
	wait_ev(s, POLLOUT);
	emit_so_error(s);
	conn(s, PEER, P_CLOSED);
	conn(s, PEER, P_ECHO);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	conn(s, PEER, P_ECHO);
}
/* Connected, then reset before connect() was called again to see it. */
CASE(connect_nonblock_reset_connect_again, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_RST);
	wait_ev(s, POLLOUT);
	send(s, "x", 1, MSG_NOSIGNAL);
	wait_err(s);
	conn(s, PEER, P_ECHO);
	conn(s, PEER, P_ECHO);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	conn(s, PEER, P_ECHO);
}
CASE(connect_nonblock_shutdown_connect_again, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_DROP);
	R(shutdown(s, SHUT_RDWR));
	conn(s, PEER, P_ECHO);
	emit("revents=%#x", wait_ev(s, POLLOUT));
	conn(s, PEER, P_ECHO);
}
CASE(connect_nonblock_established_shutdown_connect, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_ECHO);
	wait_ev(s, POLLOUT);
	R(shutdown(s, SHUT_WR));
	conn(s, PEER, P_ECHO);
}
CASE(connect_nonblock_listen, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_ECHO);
	wait_ev(s, POLLOUT);
	R(listen(s, 4));
}
/* A blocking connect() after a non-blocking one: waits for the handshake. */
CASE(connect_nonblock_then_blocking, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_ECHO);
	fcntl(s, F_SETFL, 0);
	conn(s, PEER, P_ECHO);
	conn(s, PEER, P_ECHO);
}
CASE(connect_connected_again, 0) { conn(tcp_to(P_ECHO), PEER, P_ECHO); }
CASE(connect_listener, 0) { conn(tcp_listener(), PEER, P_ECHO); }
CASE(connect_after_rst, 0)
{
	int s = tcp_reset();

	conn(s, PEER, P_ECHO);
}
CASE(recv_blocked_rst, 0)
{
	int s = tcp_to(P_RST);
	char b[8];

	R(send(s, "x", 1, 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(connect_bad_fd, 0) { conn(-1, PEER, P_ECHO); }
CASE(connect_not_socket, 0)
{
	int p[2];

	need(pipe(p) == 0, "pipe");
	conn(p[0], PEER, P_ECHO);
}
CASE(connect_inet6_mapped, 0)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(P_ECHO) };

	need(s >= 0, "socket");
	inet_pton(AF_INET6, "::ffff:" PEER, &a.sin6_addr);
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit_sockname(s);
	emit_peername(s);
}
/* IPV6_ADDRFORM (the family, once ESTABLISHED) and IPV6_MTU (the path's,
 * once connected) on AF_INET6 sockets connected to IPv4-mapped addresses. */
static int inet6_to(int type, int port)
{
	int s = socket(AF_INET6, type, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	need(s >= 0, "socket");
	inet_pton(AF_INET6, "::ffff:" PEER, &a.sin6_addr);
	need(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	return s;
}
CASE(getsockopt_ipv6_connected, 0)
{
	int t = inet6_to(SOCK_STREAM, P_ECHO), u = inet6_to(SOCK_DGRAM, P_UECHO), f = socket(AF_INET6, SOCK_STREAM, 0);

	emit("tcp=%d/%d", geti(t, IPPROTO_IPV6, IPV6_ADDRFORM), geti(t, IPPROTO_IPV6, IPV6_MTU));
	emit("udp=%d/%d", geti(u, IPPROTO_IPV6, IPV6_ADDRFORM), geti(u, IPPROTO_IPV6, IPV6_MTU));
	emit("fresh=%d/%d", geti(f, IPPROTO_IPV6, IPV6_ADDRFORM), geti(f, IPPROTO_IPV6, IPV6_MTU));
	/* SOL_IP on AF_INET6 goes to ip_getsockopt: IP_MTU, IP_PROTOCOL (the port). */
	emit("ip_mtu=%d/%d/%d", geti(t, IPPROTO_IP, IP_MTU), geti(u, IPPROTO_IP, IP_MTU), geti(f, IPPROTO_IP, IP_MTU));
	emit("ip_protocol_set=%d/%d/%d", geti(t, IPPROTO_IP, IP_PROTOCOL) > 0, geti(u, IPPROTO_IP, IP_PROTOCOL) > 0,
	     geti(f, IPPROTO_IP, IP_PROTOCOL));
}
CASE(connect_inet6_short_len, 0)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(P_ECHO) };

	need(s >= 0, "socket");
	inet_pton(AF_INET6, "::ffff:" PEER, &a.sin6_addr);
	R(connect(s, (struct sockaddr *)&a, sizeof(struct sockaddr_in)));
}
CASE(connect_udp, 0) { int s = udp_sock(); conn(s, PEER, P_UECHO); emit_sockname(s); emit_peername(s); }
CASE(connect_udp_unspec, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	int s = udp_to(P_UECHO);

	R(connect(s, &a, sizeof(a)));
	emit_peername(s);
	R(send(s, "x", 1, 0));
}
/* A disconnect lets go of a port the socket did not bind() itself
 * (__udp_disconnect: no SOCK_BINDPORT_LOCK, the socket is unhashed, port
 * 0), whether connect() or a send picked it, and of a device it was bound
 * to (sk_bound_dev_if = 0); the next send or connect() picks a port again.
 * A port bind() gave stays. */
static unsigned short sock_port(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	return getsockname(s, (struct sockaddr *)&a, &l) == 0 ? ntohs(a.sin_port) : 0;
}
CASE(connect_udp_unspec_port, 0)
{
	struct sockaddr a = { .sa_family = AF_UNSPEC };
	struct sockaddr_in to = sin4(PEER, P_USINK);
	int s = udp_to(P_UECHO), u = udp_sock(), b = udp_sock();
	unsigned short p1, p2;
	char dev[IFNAMSIZ] = "";
	socklen_t l = sizeof(dev);

	p1 = sock_port(s);
	R(connect(s, &a, sizeof(a)));
	emit_sockname(s);
	R(connect_to(s, PEER, P_UECHO));
	p2 = sock_port(s);
	emit("new_port=%d", p2 != 0 && p2 != p1);
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	R(setsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	R(connect(u, &a, sizeof(a)));
	emit_sockname(u);
	R(getsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, dev, &l));
	emit("dev=%s", dev);
	bind_to(b, "0.0.0.0", case_port());
	R(connect_to(b, PEER, P_UECHO));
	R(connect(b, &a, sizeof(a)));
	emit_sockname(b);
}
CASE(connect_udp_bcast, 0) { conn(udp_sock(), BCAST, P_USINK); }
CASE(connect_udp_bcast_allowed, 0)
{
	int s = udp_sock();

	seti(s, SOL_SOCKET, SO_BROADCAST, 1);
	conn(s, BCAST, P_USINK);
	R(send(s, "x", 1, 0));
}
CASE(connect_udp_mcast, 0) { int s = udp_sock(); conn(s, "224.0.0.1", P_USINK); R(send(s, "x", 1, 0)); }
CASE(connect_udp_port_zero, 0) { int s = udp_sock(); conn(s, PEER, 0); R(send(s, "x", 1, 0)); }
CASE(connect_udp_twice, 0)
{
	int s = udp_to(P_USINK);

	conn(s, PEER, P_UECHO);
	emit_peername(s);
}

/* ===================================================================== */
/* send, write, writev (TCP) */

CASE(send_echo, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16];

	R(send(s, "hello", 5, 0));
	wait_bytes(s, 5);
	R(recv(s, b, sizeof(b), 0));
}
CASE(send_zero_len, 0) { R(send(tcp_to(P_ECHO), "x", 0, 0)); }
CASE(send_null_zero, 0) { R(send(tcp_to(P_ECHO), NULL, 0, 0)); }
CASE(send_bad_ptr, 0) { R(send(tcp_to(P_ECHO), BAD, 10, 0)); }
CASE(send_null_len, 0) { R(send(tcp_to(P_ECHO), NULL, 10, 0)); }
CASE(send_bad_ptr_nonblock, 0) { R(send(tcp_to(P_ECHO), BAD, 10, MSG_DONTWAIT)); }
CASE(send_unconnected, 0) { R(send(tcp_sock(), "x", 1, 0)); }
CASE(send_unconnected_nosignal, 0) { R(send(tcp_sock(), "x", 1, MSG_NOSIGNAL)); }
CASE(send_listener, 0) { R(send(tcp_listener(), "x", 1, 0)); }
CASE(send_after_shut_wr, 0) { int s = tcp_to(P_ECHO); R(shutdown(s, SHUT_WR)); R(send(s, "x", 1, 0)); }
CASE(send_after_shut_wr_nosignal, 0)
{
	int s = tcp_to(P_ECHO);

	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(send_after_shut_wr_sigdfl, 0)
{
	int s = tcp_to(P_ECHO);

	signal(SIGPIPE, SIG_DFL);
	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, 0));
}
CASE(send_after_shut_wr_sigign, 0)
{
	int s = tcp_to(P_ECHO);

	signal(SIGPIPE, SIG_IGN);
	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, 0));
}
CASE(send_after_shut_rd, 0)
{
	int s = tcp_to(P_ECHO);

	R(shutdown(s, SHUT_RD));
	R(send(s, "x", 1, 0));
}
CASE(send_after_fin, 0)
{
	int s = tcp_to(P_FIN);

	wait_fin(s);
	R(send(s, "x", 1, 0));
}
/* A write into CLOSE_WAIT answered by RST. */
CASE(send_after_fin_rst, 0) { R(send(tcp_fin_rst(), "x", 1, 0)); }
CASE(send_after_fin_rst_nosignal, 0) { R(send(tcp_fin_rst(), "x", 1, MSG_NOSIGNAL)); }
CASE(send_after_fin_rst_twice, 0) { int s = tcp_fin_rst(); R(send(s, "x", 1, 0)); R(send(s, "x", 1, 0)); }
CASE(send_after_fin_rst_so_error, 0) { emit_so_error(tcp_fin_rst()); }
CASE(write_after_fin_rst, 0) { R(write(tcp_fin_rst(), "x", 1)); }
CASE(write_after_fin_rst_sigdfl, 0)
{
	int s = tcp_fin_rst();

	signal(SIGPIPE, SIG_DFL);
	R(write(s, "x", 1));
}
CASE(recv_after_fin_rst, 0)
{
	int s = tcp_fin_rst();
	char b[8];

	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
}
/* The end of the stream is read before the reset's error, which stays. */
CASE(recv_after_fin_rst_so_error, 0)
{
	int s = tcp_fin_rst();
	char b[8];

	R(recv(s, b, sizeof(b), 0));
	emit_so_error(s);
	R(send(s, "x", 1, 0));
}
CASE(recv_after_fin_rst_then_send, 0)
{
	int s = tcp_fin_rst();
	char b[8];

	R(recv(s, b, sizeof(b), 0));
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(poll_after_fin_rst, 0)
{
	int s = tcp_fin_rst();
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
}
CASE(send_after_rst, 0)
{
	int s = tcp_reset();

	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
}
CASE(send_after_rst_nosignal, 0)
{
	int s = tcp_reset();

	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(send_after_rst_so_error, 0)
{
	int s = tcp_reset();

	emit_so_error(s);
	R(send(s, "x", 1, 0));
}
CASE(send_oob, 0) { R(send(tcp_to(P_ECHO), "x", 1, MSG_OOB)); }
/* SO_RCVTIMEO with a negative time: Linux's sock_set_timeout makes it 0,
 * no wait at all (EAGAIN at once), and getsockopt() shows 0. */
CASE(rcvtimeo_negative, 0)
{
	int u = udp_bound(), t = tcp_to(P_SINK), c = tcp_sock();
	struct timeval tv = { -1, 20000 };
	socklen_t l = sizeof(tv);
	char b[4];

	R(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	R(setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	R(recv(u, b, sizeof(b), 0));
	R(recv(t, b, sizeof(b), 0));
	R(getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
	emit("%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	/* SO_SNDTIMEO's: a blocking connect() answers EINPROGRESS at once. */
	tv = (struct timeval){ -1, 0 };
	R(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	conn(c, PEER, P_DROP);
}
static int sock6(int type);
static long conn6(int s, const char *ip, int port);
/* recvfrom() on a connected UDP socket shut for reading: 0, and no address
 * (Linux's msg_namelen stays 0: the length written back is 0). */
static void udp_recvfrom_shut_no_addr(int fam, int flags, socklen_t l0)
{
	int u = fam == AF_INET6 ? sock6(SOCK_DGRAM) : udp_sock();
	struct sockaddr_storage ss;
	socklen_t sl = l0;
	char b[4];

	if (fam == AF_INET6)
		conn6(u, "::ffff:" PEER, P_UCLOSED);
	else
		conn(u, PEER, P_UCLOSED);
	R(shutdown(u, SHUT_RDWR));
	R(recvfrom(u, b, sizeof(b), flags, (struct sockaddr *)&ss, &sl));
	emit("sl=%u", (unsigned)sl);
}
CASE(udp_recvfrom_shut_no_addr, 0) { udp_recvfrom_shut_no_addr(AF_INET, 0, sizeof(struct sockaddr_in)); }
CASE(udp_recvfrom_shut_no_addr_peek, 0) { udp_recvfrom_shut_no_addr(AF_INET, MSG_PEEK, 128); }
CASE(udp6_recvfrom_shut_no_addr, 0) { udp_recvfrom_shut_no_addr(AF_INET6, 0, 128); }
CASE(udp6_recvfrom_shut_no_addr_oob, 0) { udp_recvfrom_shut_no_addr(AF_INET6, MSG_OOB | MSG_PEEK, 0); }
/* The TCP ioctls on a UDP socket: Linux's sock_do_ioctl takes them for a
 * device's, reading a struct ifreq first (EFAULT), then ENOTTY. */
CASE(ioctl_tcp_only_udp, 0)
{
	int s = udp_to(P_UECHO), v = -7;

	R(ioctl(s, SIOCATMARK, NULL));
	R(ioctl(s, SIOCOUTQNSD, NULL));
	R(ioctl(s, SIOCATMARK, BAD));
	R(ioctl(s, SIOCATMARK, &v));
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("v=%d", v);
}
CASE(send_oob_udp, 0) { R(send(udp_to(P_UECHO), "x", 1, MSG_OOB)); }
/* What the peer's kernel makes of our urgent data: the last byte out of band. */
static void urgent_report(int s)
{
	char b[128];
	ssize_t n, t = 0;

	R(shutdown(s, SHUT_WR));
	wait_in(s);
	while ((n = recv(s, b + t, sizeof(b) - 1 - (size_t)t, 0)) > 0)
		t += n;
	b[t] = 0;
	emit("%s", b);
}
CASE(send_oob_peer, 0)
{
	int s = tcp_to(P_URGENT);

	R(send(s, "ab", 2, 0));
	R(send(s, "c", 1, MSG_OOB));
	urgent_report(s);
}
CASE(send_oob_long, 0)
{
	int s = tcp_to(P_URGENT);

	R(send(s, "abcdef", 6, MSG_OOB));
	urgent_report(s);
}
CASE(send_oob_zero, 0)
{
	int s = tcp_to(P_URGENT);

	R(send(s, "ab", 2, 0));
	R(send(s, "", 0, MSG_OOB));
	urgent_report(s);
}
CASE(send_oob_unconnected, 0) { R(send(tcp_sock(), "x", 1, MSG_OOB | MSG_NOSIGNAL)); }
CASE(sendmsg_oob_iov, 0)
{
	struct iovec v[2] = { { "ab", 2 }, { "cd", 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
	int s = tcp_to(P_URGENT);

	R(sendmsg(s, &m, MSG_OOB));
	urgent_report(s);
}
/* A send of nothing still meets the state's checks (Linux's
 * tcp_sendmsg_locked): EPIPE before a connection and after SHUT_WR or a
 * reset, EAGAIN while connecting without blocking, 0 when connected. */
CASE(send_zero_len_states, 0)
{
	struct msghdr m = { 0 };
	int s = tcp_sock(), c;

	bind_to(s, SELF, 0);
	R(send(s, "", 0, MSG_NOSIGNAL));
	R(send(tcp_to(P_ECHO), "", 0, MSG_NOSIGNAL));
	c = tcp_to(P_ECHO);
	R(shutdown(c, SHUT_WR));
	R(send(c, "", 0, MSG_NOSIGNAL));
	R(sendmsg(c, &m, MSG_NOSIGNAL));
	R(send(tcp_reset(), "", 0, MSG_NOSIGNAL));
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	R(connect_to(c, PEER, P_DROP));
	R(send(c, "", 0, MSG_NOSIGNAL));
}
/* The same with a signal's default action: EPIPE raises SIGPIPE. */
CASE(send_zero_len_after_shut_wr_sigpipe, 0)
{
	int c = tcp_to(P_ECHO);

	signal(SIGPIPE, SIG_DFL);
	R(shutdown(c, SHUT_WR));
	R(send(c, "", 0, 0));
}
/* MSG_OOB on UDP: Linux's udp_recvmsg ignores it. */
CASE(udp_recv_oob_flag, 0)
{
	char b[32];
	int s = udp_echoed("dgram");

	R(recv(s, b, sizeof(b), MSG_OOB | MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_OOB | MSG_DONTWAIT));
}
/* MSG_FASTOPEN (Linux's tcp_sendmsg_fastopen): the send connects to the
 * address it names; without a cookie the SYN carries no data, so a
 * blocking send sends after the handshake and a non-blocking one says
 * EINPROGRESS, nothing sent. EISCONN connected, EALREADY connecting,
 * EINVAL without an address, EOPNOTSUPP for AF_UNSPEC. */
CASE(send_fastopen_states, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);
	struct sockaddr u = { .sa_family = AF_UNSPEC };
	char b[16];
	int s = tcp_sock();

	R(send(s, "ab", 2, MSG_FASTOPEN | MSG_NOSIGNAL));
	R(sendto(s, "ab", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
	R(sendto(s, "ab", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	R(sendto(s, "ab", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	need(wait_ev(s, POLLOUT) & POLLOUT, "wait-connected");
	R(send(s, "cd", 2, 0));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	R(connect_to(s, PEER, P_DROP));
	R(send(s, "ab", 2, MSG_FASTOPEN));
	R(sendto(tcp_sock(), "ab", 2, MSG_FASTOPEN, &u, sizeof(u)));
}
/* MSG_FASTOPEN on a socket a non-blocking one left connecting: connect()
 * again inside (Linux's __inet_stream_connect), so once the handshake is
 * done the data goes, and then the socket is connected: EISCONN. */
CASE(send_fastopen_after_nonblocking, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);
	char b[16];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	R(sendto(s, "ab", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	need(wait_ev(s, POLLOUT) & POLLOUT, "wait-connected");
	R(sendto(s, "cd", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	R(sendto(s, "ef", 2, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof(a)));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
}
CASE(send_more_flag, 0) { R(send(tcp_to(P_ECHO), "x", 1, MSG_MORE)); }
CASE(send_full_dontwait, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	R(send(s, "x", 1, MSG_DONTWAIT));
}
CASE(send_full_nonblock, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	fcntl(s, F_SETFL, O_NONBLOCK);
	R(send(s, "x", 1, 0));
	emit("revents=%#x", wait_ev(s, POLLOUT) & ~POLLOUT);
}
CASE(send_full_sndtimeo, 0)
{
	int s = tcp_to(P_STALL);
	struct timespec t0;

	fill(s);
	set_timeo(s, SO_SNDTIMEO, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(send(s, "x", 1, 0));
	emit(ms_since(&t0) >= 100 ? "waited" : "at-once");
}
CASE(send_full_eintr, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(send(s, "x", 1, 0));
	end_interrupt();
}
/* A blocking send that a signal interrupts after part of its bytes went in
 * returns that count, SA_RESTART or not (tcp_sendmsg_locked's do_error:
 * copied wins over sk_stream_wait_memory's -ERESTARTSYS); only a send that
 * copied nothing restarts (fuzzseq -g 7 seed 9). */
static void send_partial_eintr(bool restart)
{
	static char b[1 << 20];
	int s = tcp_sock();
	ssize_t n;

	seti(s, SOL_SOCKET, SO_SNDBUF, 4096);
	need(connect_to(s, PEER, P_STALL) == 0, "connect");
	handle(SIGUSR1, restart);
	interrupt(SIGUSR1, THEN_NONE, -1);
	n = send(s, b, sizeof(b), MSG_NOSIGNAL);
	end_interrupt();
	emit("send=%s", n < 0 ? ename(errno) : n == 0 ? "0" : n < (ssize_t)sizeof(b) ? "part" : "all");
}
CASE(send_partial_eintr, 0) { send_partial_eintr(false); }
CASE(send_partial_eintr_restart, 0) { send_partial_eintr(true); }
/* 256 KiB through the echo port, sending and reading as poll allows. */
CASE(send_bulk_echo, 8000)
{
	static char b[262144], r[262144];
	int s = tcp_to(P_ECHO);
	size_t sent = 0, got = 0;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (char)(i * 7);
	fcntl(s, F_SETFL, O_NONBLOCK);
	while (got < sizeof(r)) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < sizeof(b) ? POLLOUT : 0) };

		if (poll(&p, 1, WAIT_MS) <= 0)
			break;
		if (p.revents & POLLOUT) {
			ssize_t n = send(s, b + sent, sizeof(b) - sent, MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & POLLIN) {
			ssize_t n = recv(s, r + got, sizeof(r) - got, 0);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	emit("sent=%zu got=%zu same=%d", sent, got, memcmp(b, r, sizeof(b)) == 0);
}
CASE(sendto_tcp_with_addr, 0)
{
	struct sockaddr_in a = sin4(NOBODY, 1);

	R(sendto(tcp_to(P_ECHO), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_tcp_unconnected_addr, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);

	R(sendto(tcp_sock(), "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a)));
}
CASE(write_echo, 0) { R(write(tcp_to(P_ECHO), "hello", 5)); }
CASE(write_zero, 0) { R(write(tcp_to(P_ECHO), "", 0)); }
CASE(write_bad_ptr, 0) { R(write(tcp_to(P_ECHO), BAD, 10)); }
CASE(write_after_shut_wr, 0) { int s = tcp_to(P_ECHO); R(shutdown(s, SHUT_WR)); R(write(s, "x", 1)); }
CASE(write_unconnected, 0) { R(write(tcp_sock(), "x", 1)); }
CASE(writev_echo, 0)
{
	struct iovec v[2] = { { "hello", 5 }, { "world", 5 } };
	int s = tcp_to(P_ECHO);
	char b[16];

	R(writev(s, v, 2));
	wait_bytes(s, 10);
	R(recv(s, b, sizeof(b), 0));
}
CASE(writev_zero_iovcnt, 0) { struct iovec v = { "x", 1 }; R(writev(tcp_to(P_ECHO), &v, 0)); }
CASE(writev_null_iov_zero, 0) { R(writev(tcp_to(P_ECHO), NULL, 0)); }
CASE(writev_negative_iovcnt, 0) { struct iovec v = { "x", 1 }; R(writev(tcp_to(P_ECHO), &v, minus_one)); }
CASE(writev_iovcnt_over_max, 0)
{
	static struct iovec v[IOV_MAX + 1];

	for (int i = 0; i <= IOV_MAX; i++)
		v[i] = (struct iovec){ "x", 1 };
	R(writev(tcp_to(P_ECHO), v, IOV_MAX + 1));
}
CASE(writev_bad_iov, 0) { R(writev(tcp_to(P_ECHO), BAD, 1)); }
CASE(writev_bad_base, 0) { struct iovec v = { BAD, 10 }; R(writev(tcp_to(P_ECHO), &v, 1)); }
CASE(writev_second_bad_base, 0)
{
	struct iovec v[2] = { { "hello", 5 }, { BAD, 10 } };

	R(writev(tcp_to(P_ECHO), v, 2));
}
CASE(writev_udp_bad_base, 0) { struct iovec v = { BAD, 10 }; R(writev(udp_to(P_UECHO), &v, 1)); }

/* ===================================================================== */
/* UDP send side */

CASE(udp_send_unconnected, 0) { R(send(udp_sock(), "x", 1, 0)); }
CASE(udp_send_bad_ptr, 0) { R(send(udp_to(P_UECHO), BAD, 10, 0)); }
CASE(udp_send_too_big, 0)
{
	static char b[65508];

	R(send(udp_to(P_UECHO), b, sizeof(b), 0));
}
/* The first large datagram, sent while ARP resolves. */
CASE(udp_send_max_first, 0)
{
	static char b[65507], r[65536];
	int s = udp_to(P_UECHO);

	R(send(s, b, sizeof(b), 0));
	emit("revents=%#x", wait_ev(s, POLLIN));
	R(recv(s, r, sizeof(r), MSG_DONTWAIT));
}
CASE(udp_send_zero_len, 0)
{
	int s = udp_to(P_UECHO);
	char b[8];

	R(send(s, "", 0, 0));
	emit("revents=%#x", wait_ev(s, POLLIN));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(sendto_udp_echo, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_UECHO), f = { 0 };
	socklen_t fl = sizeof(f);
	char b[16];

	R(sendto(s, "hello", 5, 0, (struct sockaddr *)&a, sizeof(a)));
	wait_in(s);
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&f, &fl));
	emit_addr(&f, fl);
	emit_sockname(s);
}
CASE(sendto_udp_null_addr, 0) { R(sendto(udp_sock(), "x", 1, 0, NULL, sizeof(struct sockaddr_in))); }
CASE(sendto_udp_bad_addr, 0) { R(sendto(udp_sock(), "x", 1, 0, BAD, sizeof(struct sockaddr_in))); }
CASE(sendto_udp_short_len, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, 8));
}
CASE(sendto_udp_len_huge, 0)
{
	struct sockaddr_storage a[2];

	memset(a, 0, sizeof(a));
	memcpy(a, &(struct sockaddr_in){ .sin_family = AF_INET }, sizeof(struct sockaddr_in));
	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)a, sizeof(a)));
}
CASE(sendto_udp_family_inet6, 0)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(P_UECHO) };

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_family_unspec, 0)
{
	struct sockaddr_in a = sin4(PEER, P_USINK);

	a.sin_family = AF_UNSPEC;
	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_port_zero, 0)
{
	struct sockaddr_in a = sin4(PEER, 0);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
/* Port 0 is refused before the route is looked at: also towards the local
 * host (0.0.0.0, 127.0.0.1) from a socket already in the stack. */
CASE(sendto_udp_port_zero_local, 0)
{
	int s = udp_bound();
	struct sockaddr_in a = sin4("0.0.0.0", 0), b = sin4("127.0.0.1", 0);

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&b, sizeof(b)));
}
/*
 * INADDR_ANY as a destination is this host (Linux's ip_route_output_key_hash
 * routes it over loopback): to the sender's own address, or to 127.0.0.1
 * from and to when the sender has none. From a socket in the stack; the
 * receiver bound to ANY (any address) or to the stack's address.
 */
static void udp_to_any(const char *from, const char *at, bool connected)
{
	int r = udp_sock(), s = udp_sock();
	struct sockaddr_in to = sin4("0.0.0.0", case_port()), src;
	socklen_t l = sizeof(src);
	char b[8];

	bind_to(r, at, case_port());
	bind_to(s, from, 0);
	if (connected) {
		R(connect(s, (struct sockaddr *)&to, sizeof(to)));
		emit_peername(s);
		R(send(s, "x", 1, 0));
	} else {
		R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	}
	emit_sockname(s);
	wait_ev(r, POLLIN);
	if (R(recvfrom(r, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&src, &l)) >= 0)
		emit_addr(&src, l);
	if (connected)
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(sendto_udp_any_from_self, 0) { udp_to_any(SELF, "0.0.0.0", false); }
CASE(sendto_udp_any_from_self_to_self, 0) { udp_to_any(SELF, SELF, false); }
CASE(sendto_udp_any_from_any, 0) { udp_to_any("0.0.0.0", "0.0.0.0", false); }
CASE(sendto_udp_any_from_any_to_self, 0) { udp_to_any("0.0.0.0", SELF, false); }
CASE(connect_udp_any_from_self, 0) { udp_to_any(SELF, SELF, true); }
CASE(connect_udp_any_from_any, 0) { udp_to_any("0.0.0.0", "0.0.0.0", true); }
CASE(connect_udp_any_from_any_to_self, 0) { udp_to_any("0.0.0.0", SELF, true); }
/* connect() to 0.0.0.0 port 0 is no disconnect (AF_UNSPEC is): connected
 * to this host's port 0. */
CASE(connect_udp_any_port_zero, 0)
{
	int s = udp_sock();
	struct sockaddr_in to = sin4("0.0.0.0", 0);

	bind_to(s, SELF, 0);
	R(connect(s, (struct sockaddr *)&to, sizeof(to)));
	emit_peername(s);
	R(send(s, "x", 1, 0));
}
/* A dual-stack socket in the stack: ::ffff:0.0.0.0 is IPv4's this host. */
CASE(sendto_udp6_mapped_any, 0)
{
	int r = udp_sock(), s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 me = { .sin6_family = AF_INET6 }, to = { .sin6_family = AF_INET6 };
	struct sockaddr_in src;
	socklen_t l = sizeof(src);
	char b[8];

	need(s >= 0, "socket6");
	bind_to(r, "0.0.0.0", case_port());
	R(bind(s, (struct sockaddr *)&me, sizeof(me)));
	inet_pton(AF_INET6, "::ffff:0.0.0.0", &to.sin6_addr);
	to.sin6_port = htons((uint16_t)case_port());
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_ev(r, POLLIN);
	if (R(recvfrom(r, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&src, &l)) >= 0)
		emit_addr(&src, l);
}
CASE(sendto_udp_bcast, 0)
{
	struct sockaddr_in a = sin4(BCAST, P_USINK);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_bcast_allowed, 0)
{
	struct sockaddr_in a = sin4(BCAST, P_USINK);
	int s = udp_sock();

	seti(s, SOL_SOCKET, SO_BROADCAST, 1);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_limited_bcast, 0)
{
	struct sockaddr_in a = sin4("255.255.255.255", P_USINK);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_limited_bcast_allowed, 0)
{
	struct sockaddr_in a = sin4("255.255.255.255", P_USINK);
	int s = udp_sock();

	seti(s, SOL_SOCKET, SO_BROADCAST, 1);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_net_addr, 0)
{
	struct sockaddr_in a = sin4("192.0.2.0", P_USINK);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
/* Connected to the broadcast address with SO_BROADCAST, which then goes. */
CASE(connect_udp_bcast_then_no_broadcast, 0)
{
	struct sockaddr_in a = sin4(BCAST, P_USINK);
	int s = udp_sock();

	seti(s, SOL_SOCKET, SO_BROADCAST, 1);
	conn(s, BCAST, P_USINK);
	seti(s, SOL_SOCKET, SO_BROADCAST, 0);
	R(send(s, "x", 1, 0));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_bcast_port_zero, 0)
{
	struct sockaddr_in a = sin4(BCAST, 0);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_family_unspec_short, 0)
{
	struct sockaddr_in a = sin4(PEER, P_USINK);

	a.sin_family = AF_UNSPEC;
	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, 8));
}
CASE(sendto_udp6_family_unspec, 0)
{
	struct sockaddr_in6 a = { .sin6_family = AF_UNSPEC };
	int s = socket(AF_INET6, SOCK_DGRAM, 0);

	need(s >= 0, "socket");
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(connect_udp_port_zero_sendto, 0)
{
	struct sockaddr_in a = sin4(PEER, 0);
	int s = udp_sock();

	conn(s, PEER, 0);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	emit_peername(s);
}
CASE(sendto_udp_mcast, 0)
{
	struct sockaddr_in a = sin4("224.0.0.1", P_USINK);

	R(sendto(udp_sock(), "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(sendto_udp_connected_other, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	int s = udp_to(P_USINK);
	char b[8];

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	emit("revents=%#x", wait_ev(s, POLLIN));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(sendto_udp_closed_unconnected, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UCLOSED);
	int s = udp_sock();
	char b[8];

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	/* The ICMP error comes back but is not reported to an unconnected socket:
	 * wait for an echo that follows it on the same path. */
	a = sin4(PEER, P_UECHO);
	R(sendto(s, "y", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_connected_closed_recv, 0)
{
	int s = udp_to(P_UCLOSED);
	char b[8];

	R(send(s, "x", 1, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_connected_closed_send, 0)
{
	int s = udp_to(P_UCLOSED);

	R(send(s, "x", 1, 0));
	wait_err(s);
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
}
CASE(udp_connected_closed_so_error, 0)
{
	int s = udp_to(P_UCLOSED);

	R(send(s, "x", 1, 0));
	wait_err(s);
	emit_so_error(s);
	emit_so_error(s);
}
CASE(udp_shut_wr_send, 0) { int s = udp_to(P_UECHO); R(shutdown(s, SHUT_WR)); R(send(s, "x", 1, 0)); }
/* UDP's EPIPE never raises SIGPIPE, even with its default action. */
CASE(udp_shut_wr_send_sigdfl, 0)
{
	int s = udp_to(P_UECHO);

	signal(SIGPIPE, SIG_DFL);
	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, 0));
}
CASE(udp_unconnected_shut_wr_sendto, 0)
{
	struct sockaddr_in a = sin4(PEER, P_USINK);
	int s = udp_sock();

	R(shutdown(s, SHUT_WR));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}

/* ===================================================================== */
/* sendmsg, sendmmsg */

static struct msghdr msg1(struct iovec *v, const char *text)
{
	v->iov_base = (void *)text;
	v->iov_len = strlen(text);
	return (struct msghdr){ .msg_iov = v, .msg_iovlen = 1 };
}

CASE(sendmsg_udp_name, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	struct iovec v;
	struct msghdr m = msg1(&v, "hello");

	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	R(sendmsg(udp_sock(), &m, 0));
}
CASE(sendmsg_tcp, 0) { struct iovec v; struct msghdr m = msg1(&v, "hello"); R(sendmsg(tcp_to(P_ECHO), &m, 0)); }
CASE(sendmsg_null_msg, 0) { R(sendmsg(udp_to(P_UECHO), NULL, 0)); }
CASE(sendmsg_bad_msg, 0) { R(sendmsg(udp_to(P_UECHO), BAD, 0)); }
CASE(sendmsg_bad_iov, 0)
{
	struct msghdr m = { .msg_iov = BAD, .msg_iovlen = 1 };

	R(sendmsg(tcp_to(P_ECHO), &m, 0));
}
CASE(sendmsg_bad_name, 0)
{
	struct iovec v;
	struct msghdr m = msg1(&v, "x");

	m.msg_name = BAD;
	m.msg_namelen = sizeof(struct sockaddr_in);
	R(sendmsg(udp_sock(), &m, 0));
}
CASE(sendmsg_iovlen_over_max, 0)
{
	static struct iovec v[IOV_MAX + 1];
	struct msghdr m = { .msg_iov = v, .msg_iovlen = IOV_MAX + 1 };

	for (int i = 0; i <= IOV_MAX; i++)
		v[i] = (struct iovec){ "x", 1 };
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_len_beyond, 0)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = sizeof(c.b) + 64;
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_unknown_sol_socket, 0)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = 999;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_ip_ttl, 0)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;
	int ttl = 5;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &ttl, sizeof(ttl));
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_ip_ttl_bad, 0)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;
	int ttl = 300;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &ttl, sizeof(ttl));
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_pktinfo, 0)
{
	union { char b[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;
	struct in_pktinfo pi = { 0 };

	memset(&c, 0, sizeof(c));
	inet_pton(AF_INET, SELF, &pi.ipi_spec_dst);
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_PKTINFO;
	h->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(h), &pi, sizeof(pi));
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_bad_control_ptr, 0)
{
	struct iovec v;
	struct msghdr m = msg1(&v, "x");

	m.msg_control = BAD;
	m.msg_controllen = 64;
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_tcp_ip_ttl, 0)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;
	int ttl = 5;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &ttl, sizeof(ttl));
	R(sendmsg(tcp_to(P_ECHO), &m, 0));
}
/* sendmsg of "x" on s with one control message (level, type, dlen bytes of
 * data); cmsg_len as given, or CMSG_LEN(dlen) when 0. */
static void send_cmsg(int s, int level, int type, const void *data, size_t dlen, size_t cmsg_len)
{
	union { char b[256]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = CMSG_SPACE(dlen);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = cmsg_len ? cmsg_len : CMSG_LEN(dlen);
	memcpy(CMSG_DATA(h), data, dlen);
	R(sendmsg(s, &m, 0));
}
CASE(sendmsg_cmsg_tos_byte, 0) { unsigned char t = 0x10; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TOS, &t, 1, 0); }
CASE(sendmsg_cmsg_tos_bad, 0) { int t = 256; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TOS, &t, sizeof(t), 0); }
CASE(sendmsg_cmsg_tos_short, 0) { int t = 0; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TOS, &t, 2, 0); }
CASE(sendmsg_cmsg_ttl_zero, 0) { int t = 0; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TTL, &t, sizeof(t), 0); }
CASE(sendmsg_cmsg_ttl_byte, 0) { unsigned char t = 5; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TTL, &t, 1, 0); }
CASE(sendmsg_cmsg_pktinfo_foreign, 0)
{
	struct in_pktinfo pi = { 0 };

	inet_pton(AF_INET, NOBODY, &pi.ipi_spec_dst);
	send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi), 0);
}
CASE(sendmsg_cmsg_pktinfo_short, 0)
{
	struct in_pktinfo pi = { 0 };

	send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_PKTINFO, &pi, 8, 0);
}
CASE(sendmsg_cmsg_unknown_ip, 0) { int v = 1; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, 99, &v, sizeof(v), 0); }
CASE(sendmsg_cmsg_other_level, 0) { int v = 1; send_cmsg(udp_to(P_UECHO), 999, 1, &v, sizeof(v), 0); }
CASE(sendmsg_cmsg_len_short, 0) { int v = 5; send_cmsg(udp_to(P_UECHO), IPPROTO_IP, IP_TTL, &v, sizeof(v), 8); }
CASE(sendmsg_cmsg_scm_rights_udp, 0) { int fd = 0; send_cmsg(udp_to(P_UECHO), SOL_SOCKET, SCM_RIGHTS, &fd, sizeof(fd), 0); }
CASE(sendmsg_cmsg_so_mark, 0) { unsigned v = 7; send_cmsg(udp_to(P_UECHO), SOL_SOCKET, SO_MARK, &v, sizeof(v), 0); }
CASE(sendmsg_cmsg_so_mark_short, 0) { unsigned v = 7; send_cmsg(udp_to(P_UECHO), SOL_SOCKET, SO_MARK, &v, 2, 0); }
CASE(sendmsg_cmsg_tcp_unknown_sol_socket, 0) { int v = 1; send_cmsg(tcp_to(P_ECHO), SOL_SOCKET, 999, &v, sizeof(v), 0); }
CASE(sendmsg_cmsg_tcp_len_beyond, 0) { int v = 1; send_cmsg(tcp_to(P_ECHO), IPPROTO_IP, IP_TTL, &v, sizeof(v), 200); }
/* A malformed control message (cmsg_len past the buffer) on TCP sockets
 * that cannot send: the state's error (tcp_sendmsg_locked waits for the
 * connection, sk_stream_wait_connect, before it reads the messages). */
static void send_bad_cmsg(int s)
{
	union { char b[64]; struct cmsghdr a; } c;
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct cmsghdr *h;

	memset(&c, 0, sizeof(c));
	m.msg_control = c.b;
	m.msg_controllen = CMSG_SPACE(sizeof(int));
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = 200;
	R(sendmsg(s, &m, MSG_NOSIGNAL | MSG_DONTWAIT));
}
CASE(sendmsg_cmsg_tcp_bad_states, 1000)
{
	int s = tcp_sock(), c = tcp_sock(), w = tcp_to(P_SINK);

	send_bad_cmsg(s);
	send_bad_cmsg(tcp_listener());
	fcntl(c, F_SETFL, O_NONBLOCK);
	conn(c, PEER, P_DROP);
	send_bad_cmsg(c);
	shutdown(w, SHUT_WR);
	send_bad_cmsg(w);
	send_bad_cmsg(tcp_to(P_SINK));
}
/* A datagram corked by MSG_MORE takes the next call's bytes before
 * udp_sendmsg looks at anything else (up->pending): control messages it
 * would refuse, malformed ones too, are not read. */
CASE(sendmsg_cmsg_udp_corked, 0)
{
	int s = udp_to(P_UECHO), v = 300;
	char b[16];

	R(send(s, "a", 1, MSG_MORE));
	send_cmsg(s, IPPROTO_IP, IP_TTL, &v, sizeof(v), 0);
	R(send(s, "b", 1, MSG_MORE));
	send_cmsg(s, IPPROTO_IP, 99, &v, sizeof(v), 0);
	R(send(s, "c", 1, MSG_MORE));
	send_cmsg(s, IPPROTO_IP, IP_TTL, &v, sizeof(v), 200);
	for (int i = 0; i < 3; i++) {
		wait_in(s);
		R(recv(s, b, sizeof(b), 0));
	}
	send_cmsg(s, IPPROTO_IP, IP_TTL, &v, sizeof(v), 0);
}
CASE(sendmsg_cmsg_tcp_bad_ttl, 0) { int v = 300; send_cmsg(tcp_to(P_ECHO), IPPROTO_IP, IP_TTL, &v, sizeof(v), 0); }
CASE(sendmsg_cmsg_controllen_small, 0)
{
	char c[8] = { 0 };
	struct iovec v;
	struct msghdr m = msg1(&v, "x");

	m.msg_control = c;
	m.msg_controllen = sizeof(c);
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_controllen_huge, 0)
{
	static char c[256];
	struct iovec v;
	struct msghdr m = msg1(&v, "x");

	m.msg_control = c;
	m.msg_controllen = 1 << 20;
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(sendmsg_cmsg_unconnected_no_addr, 0) { int t = 300; send_cmsg(udp_sock(), IPPROTO_IP, IP_TTL, &t, sizeof(t), 0); }
CASE(sendmmsg_udp_two, 0)
{
	struct iovec v[2];
	struct mmsghdr mm[2] = { { msg1(&v[0], "one"), 0 }, { msg1(&v[1], "three"), 0 } };

	R(sendmmsg(udp_to(P_UECHO), mm, 2, 0));
	emit("len=%u,%u", mm[0].msg_len, mm[1].msg_len);
}
CASE(sendmmsg_tcp_two, 0)
{
	struct iovec v[2];
	struct mmsghdr mm[2] = { { msg1(&v[0], "one"), 0 }, { msg1(&v[1], "three"), 0 } };

	R(sendmmsg(tcp_to(P_ECHO), mm, 2, 0));
	emit("len=%u,%u", mm[0].msg_len, mm[1].msg_len);
}
CASE(sendmmsg_vlen_zero, 0) { struct mmsghdr mm[1]; R(sendmmsg(udp_to(P_UECHO), mm, 0, 0)); }
CASE(sendmmsg_bad_vec, 0) { R(sendmmsg(udp_to(P_UECHO), BAD, 2, 0)); }
CASE(sendmmsg_second_bad, 0)
{
	struct iovec v[2] = { { "one", 3 }, { BAD, 10 } };
	struct mmsghdr mm[2] = { { { .msg_iov = &v[0], .msg_iovlen = 1 }, 0 },
				 { { .msg_iov = &v[1], .msg_iovlen = 1 }, 0 } };
	int s = udp_to(P_UECHO);

	R(sendmmsg(s, mm, 2, 0));
	R(send(s, "x", 1, 0));
}
CASE(sendmmsg_first_bad, 0)
{
	struct iovec v[2] = { { BAD, 10 }, { "one", 3 } };
	struct mmsghdr mm[2] = { { { .msg_iov = &v[0], .msg_iovlen = 1 }, 0 },
				 { { .msg_iov = &v[1], .msg_iovlen = 1 }, 0 } };

	R(sendmmsg(udp_to(P_UECHO), mm, 2, 0));
}

/* ===================================================================== */
/* recv, recvfrom, read, readv (TCP) */

CASE(recv_hello, 0) { char b[64]; R(recv(tcp_hello(), b, sizeof(b), 0)); }
CASE(recv_peek, 0)
{
	char b[64];
	int s = tcp_hello();

	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recv(s, b, 5, 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_waitall, 0) { char b[HELLO_LEN]; R(recv(tcp_to(P_HELLO), b, sizeof(b), MSG_WAITALL)); }
CASE(recv_waitall_fin, 0) { char b[64]; R(recv(tcp_to(P_FIN), b, sizeof(b), MSG_WAITALL)); }
CASE(recv_trunc_tcp, 0)
{
	char b[64];
	int s = tcp_hello();

	R(recv(s, NULL, 5, MSG_TRUNC));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_dontwait_empty, 0) { char b[8]; R(recv(tcp_to(P_ECHO), b, sizeof(b), MSG_DONTWAIT)); }
/* A zero-length read of an empty socket. */
CASE(recv_null_zero_dontwait_empty, 0) { R(recv(tcp_to(P_ECHO), NULL, 0, MSG_DONTWAIT)); }
CASE(recv_zero_nonblock_empty, 0)
{
	char b[1];
	int s = tcp_to(P_ECHO);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(recv(s, b, 0, 0));
}
CASE(recv_null_zero_with_data, 0) { R(recv(tcp_hello(), NULL, 0, 0)); }
/* A blocking zero-length recv waits for data like any recv (here until SO_RCVTIMEO). */
CASE(recv_zero_rcvtimeo, 0)
{
	char b[1];
	int s = tcp_to(P_SINK);
	struct timespec t0;

	set_timeo(s, SO_RCVTIMEO, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(recv(s, b, 0, 0));
	emit(ms_since(&t0) >= 150 ? "waited" : "at-once");
}
CASE(recv_zero_eintr, 0)
{
	char b[1];
	int s = tcp_to(P_SINK);

	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, 0, 0));
	end_interrupt();
}
/* The wait of a zero-length recv ends when data comes: 0, the data left queued. */
CASE(recv_zero_blocked_data, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	interrupt(SIGUSR1, THEN_SEND, s);
	R(recv(s, b, 0, 0));
	end_interrupt();
	wait_bytes(s, 1);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(recv_zero_after_fin, 0)
{
	char b[8];
	int s = tcp_to(P_FIN);

	wait_in(s);
	R(recv(s, b, 0, MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(recv_zero_peek_with_data, 0) { char b[1]; R(recv(tcp_hello(), b, 0, MSG_PEEK)); }
CASE(recvmsg_zero_iov_nonblock_empty, 0)
{
	struct iovec v = { NULL, 0 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(tcp_to(P_ECHO), &m, MSG_DONTWAIT));
}
CASE(readv_zero_len_nonblock_empty, 0)
{
	char b[1];
	struct iovec v = { b, 0 };
	int s = tcp_to(P_ECHO);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(readv(s, &v, 1));
}
/* read() of zero bytes is 0 at once, and leaves a datagram queued. */
CASE(udp_read_zero_keeps_dgram, 0)
{
	char b[8];
	int s = udp_echoed("hello");

	R(read(s, b, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_read_zero_nonblock_empty, 0)
{
	char b[1];
	int s = udp_to(P_UECHO);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(read(s, b, 0));
}
CASE(recv_bad_ptr, 0) { R(recv(tcp_hello(), BAD, 10, 0)); }
CASE(recv_null_len, 0) { R(recv(tcp_hello(), NULL, 10, 0)); }
CASE(recv_bad_ptr_then_good, 0)
{
	char b[64];
	int s = tcp_hello();

	R(recv(s, BAD, 10, 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_unconnected, 0) { char b[8]; R(recv(tcp_sock(), b, sizeof(b), 0)); }
CASE(recv_listener, 0) { char b[8]; R(recv(tcp_listener(), b, sizeof(b), 0)); }
CASE(recv_after_fin, 0)
{
	char b[8];
	int s = tcp_to(P_FIN);

	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_after_rst, 0)
{
	char b[8];
	int s = tcp_reset();

	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	emit_peername(s);
}
CASE(recv_after_shut_rd, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	R(shutdown(s, SHUT_RD));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_rcvtimeo, 0)
{
	char b[8];
	int s = tcp_to(P_SINK);
	struct timespec t0;

	set_timeo(s, SO_RCVTIMEO, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(recv(s, b, sizeof(b), 0));
	emit(ms_since(&t0) >= 50 ? "waited" : "at-once");
}
CASE(recv_eintr, 0)
{
	char b[8];
	int s = tcp_to(P_SINK);

	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
CASE(recv_eintr_restart, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_SEND, s);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
/* With every handler SA_RESTART (above, SIGPIPE's and others' are not). */
CASE(recv_eintr_restart_all, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);
	int sigs[] = { SIGPIPE, SIGURG, SIGIO, SIGUSR1, SIGALRM };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		handle(sigs[i], true);
	interrupt(SIGUSR1, THEN_SEND, s);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
CASE(recv_eintr_restart_rcvtimeo, 0)
{
	char b[8];
	int s = tcp_to(P_SINK);

	handle(SIGUSR1, true);
	set_timeo(s, SO_RCVTIMEO, 2000);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
CASE(read_eintr, 0)
{
	char b[8];
	int s = tcp_to(P_SINK);

	interrupt(SIGUSR1, THEN_NONE, -1);
	R(read(s, b, sizeof(b)));
	end_interrupt();
}
CASE(read_eintr_restart, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_SEND, s);
	R(read(s, b, sizeof(b)));
	end_interrupt();
}
/* Handlers installed with signal() have SA_RESTART (glibc's BSD semantics)... */
CASE(recv_eintr_restart_signal, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	signal(SIGUSR1, on_sig);
	interrupt(SIGUSR1, THEN_SEND, s);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
/* ...unless siginterrupt() said otherwise. */
CASE(recv_eintr_siginterrupt, 0)
{
	char b[8];
	int s = tcp_to(P_SINK);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	siginterrupt(SIGUSR1, 1);
#pragma GCC diagnostic pop
	signal(SIGUSR1, on_sig);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
CASE(recv_eintr_sysv_signal, 0)
{
	struct sigaction old;
	char b[8];
	int s = tcp_to(P_SINK);

	sysv_signal(SIGUSR1, on_sig);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
	sigaction(SIGUSR1, NULL, &old);
	emit("after=%s", old.sa_handler == SIG_DFL ? "SIG_DFL" : "handler");
}
static volatile sig_atomic_t info_ok;
static void on_sig_info(int s, siginfo_t *si, void *uc)
{
	(void)uc;
	info_ok = si && si->si_signo == s && si->si_code == SI_TKILL;
	on_sig(s);
}
CASE(recv_eintr_restart_siginfo, 0)
{
	struct sigaction sa = { .sa_sigaction = on_sig_info, .sa_flags = SA_SIGINFO | SA_RESTART };
	char b[8];
	int s = tcp_to(P_ECHO);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	interrupt(SIGUSR1, THEN_SEND, s);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
	emit("info=%d", (int)info_ok);
}
/* sigaction() reports the handler and flags the program installed. */
CASE(sigaction_reports_own, 0)
{
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART | SA_NODEFER }, old;

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	R(socket(AF_INET, SOCK_STREAM, 0) >= 0);
	R(sigaction(SIGUSR1, &sa, NULL));
	R(sigaction(SIGUSR1, NULL, &old));
	emit("own=%d restart=%d nodefer=%d siginfo=%d mask=%d", old.sa_handler == on_sig,
	     !!(old.sa_flags & SA_RESTART), !!(old.sa_flags & SA_NODEFER), !!(old.sa_flags & SA_SIGINFO),
	     sigismember(&old.sa_mask, SIGUSR2));
	emit("prev=%s", signal(SIGUSR1, SIG_IGN) == on_sig ? "own" : "other");
	R(sigaction(SIGUSR1, NULL, &old));
	emit("ign=%d", old.sa_handler == SIG_IGN);
}
CASE(sigaction_resethand, 0)
{
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESETHAND }, old;
	char b[8];
	int s = tcp_to(P_SINK);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
	sigaction(SIGUSR1, NULL, &old);
	emit("after=%s", old.sa_handler == SIG_DFL ? "SIG_DFL" : "handler");
}
CASE(sigaction_bad_signal, 0)
{
	struct sigaction sa = { .sa_handler = on_sig };

	R(sigaction(0, &sa, NULL));
	R(sigaction(SIGKILL, &sa, NULL));
	R(sigaction(100, NULL, NULL));
	errno = 0;
	emit("%s", signal(-1, on_sig) == SIG_ERR ? ename(errno) : "ok");
}
CASE(accept_eintr_restart_signal, 0)
{
	int l = tcp_listener();

	signal(SIGUSR1, on_sig);
	interrupt(SIGUSR1, THEN_PEER_CONNECT, -1);
	RFD(accept(l, NULL, NULL));
	end_interrupt();
}
CASE(recv_oob_none, 0) { char b[8]; R(recv(tcp_hello(), b, sizeof(b), MSG_OOB)); }
CASE(recv_oob_peer, 0)
{
	char b[8] = "";
	int s = tcp_to(P_OOB);

	emit("revents=%#x", wait_ev(s, POLLPRI));
	if (R(recv(s, b, sizeof(b), MSG_OOB)) > 0)
		emit("oob=%c", b[0]);
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_oob_atmark, 0)
{
	char b[8];
	int s = tcp_to(P_OOB), m = -1;

	wait_ev(s, POLLPRI);
	R(ioctl(s, SIOCATMARK, &m));
	emit("atmark=%d", m);
	R(recv(s, b, sizeof(b), 0));
	R(ioctl(s, SIOCATMARK, &m));
	emit("atmark=%d", m);
}
CASE(recv_oob_inline, 0)
{
	char b[8] = "";
	int s = tcp_sock();

	seti(s, SOL_SOCKET, SO_OOBINLINE, 1);
	need(connect_to(s, PEER, P_OOB) == 0, "connect");
	wait_bytes(s, 2);
	emit("revents=%#x", wait_ev(s, POLLPRI));
	/* Linux stops a read at the urgent mark: "ab", then "c". */
	if (R(recv(s, b, sizeof(b), 0)) > 0)
		emit("data=%.*s", (int)rtmp, b);
	if (R(recv(s, b, sizeof(b), MSG_DONTWAIT)) > 0)
		emit("data=%.*s", (int)rtmp, b);
	R(recv(s, b, sizeof(b), MSG_OOB | MSG_DONTWAIT));
}
CASE(recv_oob_sigurg, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETOWN, getpid()));
	need(connect_to(s, PEER, P_OOB) == 0, "connect");
	emit("revents=%#x", wait_ev(s, POLLPRI));
}
CASE(recv_oob_twice, 0)
{
	char b[8] = "";
	int s = tcp_to(P_OOB);

	wait_ev(s, POLLPRI);
	if (R(recv(s, b, sizeof(b), MSG_OOB | MSG_PEEK)) > 0)
		emit("oob=%c", b[0]);
	if (R(recv(s, b, sizeof(b), MSG_OOB)) > 0)
		emit("oob=%c", b[0]);
	R(recv(s, b, sizeof(b), MSG_OOB));
}
CASE(recv_oob_read_past_mark, 0)
{
	char b[8];
	int s = tcp_to(P_OOB);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLPRI };

	wait_ev(s, POLLPRI);
	R(recv(s, b, sizeof(b), 0));
	/* At the mark with only the urgent byte left: not readable in line. */
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	/* The byte was passed over: gone. */
	R(recv(s, b, sizeof(b), MSG_OOB));
}
CASE(recv_oob_fionread, 0)
{
	int s = tcp_to(P_OOB), n = -1;

	wait_ev(s, POLLPRI);
	wait_bytes(s, 2);
	R(ioctl(s, FIONREAD, &n));
	emit("n=%d", n);
}
CASE(recv_oob_fionread_inline, 0)
{
	int s = tcp_sock(), n = -1;

	seti(s, SOL_SOCKET, SO_OOBINLINE, 1);
	need(connect_to(s, PEER, P_OOB) == 0, "connect");
	wait_ev(s, POLLPRI);
	wait_bytes(s, 2);
	R(ioctl(s, FIONREAD, &n));
	emit("n=%d", n);
}
CASE(recv_oob_zero_len, 0)
{
	char b[1];
	int s = tcp_to(P_OOB);
	struct iovec v = { b, 0 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	wait_ev(s, POLLPRI);
	R(recvmsg(s, &m, MSG_OOB));
	emit("flags=%#x", m.msg_flags);
	v.iov_len = 1;
	R(recvmsg(s, &m, MSG_OOB));
	emit("flags=%#x", m.msg_flags);
}
CASE(recv_oob_listener, 0) { char b[8]; R(recv(tcp_listener(), b, sizeof(b), MSG_OOB)); }
CASE(recv_oob_unconnected, 0) { char b[8]; R(recv(tcp_sock(), b, sizeof(b), MSG_OOB)); }
CASE(recv_oob_sigurg_tid, 0)
{
	int s = tcp_sock();
	struct f_owner_ex o = { F_OWNER_TID, (pid_t)syscall(SYS_gettid) };

	R(fcntl(s, F_SETOWN_EX, &o));
	need(connect_to(s, PEER, P_OOB) == 0, "connect");
	emit("revents=%#x", wait_ev(s, POLLPRI));
}
/* The same while the thread sleeps outside any socket call: the frame with
 * the urgent byte is read by the stack's own thread (under the preload, in
 * the stack process), whose SIGURG for the owner thread must still reach it. */
CASE(recv_oob_sigurg_tid_asleep, 0)
{
	int s = tcp_sock();
	struct f_owner_ex o = { F_OWNER_TID, (pid_t)syscall(SYS_gettid) };
	struct timespec t0, step = { 0, 10 * 1000000L };

	R(fcntl(s, F_SETOWN_EX, &o));
	need(connect_to(s, PEER, P_OOB) == 0, "connect");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!sig_seen[SIGURG] && ms_since(&t0) < WAIT_MS)
		nanosleep(&step, NULL);
	emit("revents=%#x", wait_ev(s, POLLPRI));
}
CASE(recv_oob_sigurg_none, 0)
{
	int s = tcp_to(P_OOB);

	emit("revents=%#x", wait_ev(s, POLLPRI));
}
CASE(epoll_oob, 0)
{
	int s = tcp_to(P_OOB), ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN | EPOLLPRI }, out[2];

	wait_ev(s, POLLPRI);
	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	if (R(epoll_wait(ep, out, 2, 1000)) == 1)
		emit("events=%#x", out[0].events);
}
CASE(recv_errqueue_tcp, 0) { char b[8]; R(recv(tcp_to(P_ECHO), b, sizeof(b), MSG_ERRQUEUE)); }
CASE(recvfrom_tcp_addr, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);

	R(recvfrom(tcp_hello(), b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit("len=%u", (unsigned)l);
}
CASE(read_hello, 0) { char b[64]; R(read(tcp_hello(), b, sizeof(b))); }
CASE(read_zero, 0) { char b[1]; R(read(tcp_hello(), b, 0)); }
CASE(read_zero_empty_nonblock, 0)
{
	char b[1];
	int s = tcp_to(P_ECHO);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(read(s, b, 0));
}
CASE(read_bad_ptr, 0) { R(read(tcp_hello(), BAD, 10)); }
CASE(read_unconnected, 0) { char b[8]; R(read(tcp_sock(), b, sizeof(b))); }
CASE(read_nonblock_empty, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(read(s, b, sizeof(b)));
}
CASE(read_chk_ok, 0) { char b[64]; R(__read_chk(tcp_hello(), b, sizeof(b), sizeof(b))); }
CASE(read_chk_overflow, 0) { char b[64]; R(__read_chk(tcp_hello(), b, sizeof(b) + 1, sizeof(b))); }
CASE(recv_chk_ok, 0) { char b[64]; R(__recv_chk(tcp_hello(), b, sizeof(b), sizeof(b), 0)); }
CASE(recv_chk_overflow, 0) { char b[64]; R(__recv_chk(tcp_hello(), b, sizeof(b) + 1, sizeof(b), 0)); }
CASE(recvfrom_chk_ok, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);

	R(__recvfrom_chk(udp_echoed("hello"), b, sizeof(b), sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
}
CASE(recvfrom_chk_overflow, 0)
{
	char b[64];

	R(__recvfrom_chk(udp_echoed("hello"), b, sizeof(b) + 1, sizeof(b), 0, NULL, NULL));
}
CASE(readv_hello, 0)
{
	char a[6], b[64];
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	R(readv(tcp_hello(), v, 2));
}
CASE(readv_bad_iov, 0) { R(readv(tcp_hello(), BAD, 1)); }
CASE(readv_bad_base, 0) { struct iovec v = { BAD, 10 }; R(readv(tcp_hello(), &v, 1)); }
CASE(readv_negative_iovcnt, 0) { struct iovec v = { NULL, 0 }; R(readv(tcp_hello(), &v, minus_one)); }
CASE(readv_zero_iovcnt, 0) { R(readv(tcp_hello(), NULL, 0)); }
CASE(readv_second_bad_base, 0)
{
	char a[4];
	struct iovec v[2] = { { a, sizeof(a) }, { BAD, 10 } };

	R(readv(tcp_hello(), v, 2));
}

/* ===================================================================== */
/* UDP receive side */

CASE(udp_recv_echo, 0) { char b[64]; R(recv(udp_echoed("hello"), b, sizeof(b), 0)); }
CASE(udp_recv_trunc, 0)
{
	char b[64];
	int s = udp_echoed("hello world");

	R(recv(s, b, 5, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_recv_trunc_flag, 0) { char b[4]; R(recv(udp_echoed("hello world"), b, sizeof(b), MSG_TRUNC)); }
CASE(udp_recv_peek, 0)
{
	char b[64];
	int s = udp_echoed("hello");

	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recv(s, b, sizeof(b), 0));
}
CASE(udp_recv_dontwait_empty, 0) { char b[8]; R(recv(udp_to(P_UECHO), b, sizeof(b), MSG_DONTWAIT)); }
CASE(udp_recv_null_zero_dontwait_empty, 0) { R(recv(udp_to(P_UECHO), NULL, 0, MSG_DONTWAIT)); }
CASE(udp_recv_bad_ptr, 0)
{
	char b[64];
	int s = udp_echoed("hello");

	R(recv(s, BAD, 10, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_recv_rcvtimeo, 0)
{
	char b[8];
	int s = udp_to(P_USINK);

	set_timeo(s, SO_RCVTIMEO, 100);
	R(recv(s, b, sizeof(b), 0));
}
CASE(udp_recv_eintr, 0)
{
	char b[8];
	int s = udp_to(P_USINK);

	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), 0));
	end_interrupt();
}
CASE(udp_recvfrom_addr, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);

	R(recvfrom(udp_echoed("hello"), b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
}
CASE(udp_recvfrom_short_addrlen, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = 4;

	memset(&a, 0, sizeof(a));
	R(recvfrom(udp_echoed("hello"), b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_short_addr(&a, l);
}
CASE(udp_recvfrom_null_addrlen, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	int s = udp_echoed("hello");

	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, NULL));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_recvfrom_bad_addr, 0)
{
	char b[64];
	socklen_t l = sizeof(struct sockaddr_in);

	R(recvfrom(udp_echoed("hello"), b, sizeof(b), 0, BAD, &l));
}
CASE(udp_recvfrom_negative_addrlen, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = (socklen_t)-1;

	R(recvfrom(udp_echoed("hello"), b, sizeof(b), 0, (struct sockaddr *)&a, &l));
}
CASE(udp_read_echo, 0) { char b[64]; R(read(udp_echoed("hello"), b, sizeof(b))); }
CASE(udp_readv_bad_base, 0) { struct iovec v = { BAD, 10 }; R(readv(udp_echoed("hello"), &v, 1)); }
CASE(udp_server_recvfrom, 0)
{
	int s = udp_bound();
	char b[64];
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);

	peer("udp %d ping", case_port());
	wait_in(s);
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
}
CASE(udp_server_any_recvfrom, 0)
{
	int s = udp_sock();
	char b[64];
	struct sockaddr_in a = sin4("0.0.0.0", case_port());
	socklen_t l = sizeof(a);

	need(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	peer("udp %d ping", case_port());
	wait_in(s);
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
}
CASE(udp_connected_filters_other, 0)
{
	int s = udp_bound();
	char b[64];

	need(connect_to(s, PEER, P_USINK) == 0, "connect");
	/* The datagram comes from 7007, not 7008: the kernel drops it (it is
	 * sent before the peer answers the command, on the same path). */
	peer("udp %d ping", case_port());
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}

/* ===================================================================== */
/* recvmsg, recvmmsg */

CASE(recvmsg_udp, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(udp_echoed("hello"), &m, 0));
	emit_addr(&a, m.msg_namelen);
	emit("flags=%#x controllen=%zu", m.msg_flags, m.msg_controllen);
}
CASE(recvmsg_udp_trunc, 0)
{
	char b[4];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(udp_echoed("hello world"), &m, 0));
	emit("flags=%#x", m.msg_flags);
}
CASE(recvmsg_tcp, 0)
{
	char b[64];
	struct sockaddr_in a = { 0 };
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(tcp_hello(), &m, 0));
	emit("namelen=%u flags=%#x", (unsigned)m.msg_namelen, m.msg_flags);
}
/* MSG_CMSG_CLOEXEC asked shows in msg_flags (____sys_recvmsg starts them
 * from the call's MSG_CMSG_CLOEXEC), on UDP and TCP, in recvmmsg too; with
 * nothing to read, msg_flags is not written. */
CASE(recvmsg_cmsg_cloexec_flags, 0)
{
	char b[4];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
	int u = udp_echoed("hello world"), t = tcp_hello();

	R(recvmsg(u, &m, MSG_CMSG_CLOEXEC));
	emit("flags=%#x", m.msg_flags);
	m.msg_flags = 0x7;
	R(recvmsg(u, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
	emit("flags=%#x", m.msg_flags);
	R(recvmsg(t, &m, MSG_CMSG_CLOEXEC | MSG_PEEK));
	emit("flags=%#x", m.msg_flags);
	R(recvmmsg(t, &mm, 1, MSG_CMSG_CLOEXEC, NULL));
	emit("flags=%#x", mm.msg_hdr.msg_flags);
}
CASE(recvmsg_null_msg, 0) { R(recvmsg(udp_echoed("hello"), NULL, 0)); }
CASE(recvmsg_bad_msg, 0) { R(recvmsg(udp_echoed("hello"), BAD, 0)); }
CASE(recvmsg_bad_iov, 0)
{
	struct msghdr m = { .msg_iov = BAD, .msg_iovlen = 1 };

	R(recvmsg(udp_echoed("hello"), &m, 0));
}
CASE(recvmsg_tcp_bad_base, 0)
{
	struct iovec v = { BAD, 10 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(tcp_hello(), &m, 0));
}
static void emit_cmsgs(struct msghdr *m)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			char a[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

			memcpy(&pi, CMSG_DATA(h), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof(a));
			inet_ntop(AF_INET, &pi.ipi_addr, d, sizeof(d));
			emit("pktinfo=%s,%s", a, d);
		} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TTL) {
			int t;

			memcpy(&t, CMSG_DATA(h), sizeof(t));
			emit("ttl=%d", t);
		} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TOS) {
			emit("tos=%d", *(unsigned char *)CMSG_DATA(h));
		} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_RECVERR) {
			struct sock_extended_err e;

			memcpy(&e, CMSG_DATA(h), sizeof(e));
			emit("recverr=%s,origin%d,type%d,code%d", ename((int)e.ee_errno), e.ee_origin,
			     e.ee_type, e.ee_code);
		} else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_TIMESTAMP) {
			emit("timestamp");
		} else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_TIMESTAMPNS) {
			emit("timestampns");
		} else {
			emit("cmsg=%d/%d", h->cmsg_level, h->cmsg_type);
		}
	}
}
static void recvmsg_with_option(int level, int name, size_t controllen)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = controllen };
	int s = udp_sock();

	seti(s, level, name, 1);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, 0)) >= 0) {
		emit("flags=%#x", m.msg_flags);
		emit_cmsgs(&m);
	}
}
CASE(recvmsg_pktinfo, 0) { recvmsg_with_option(IPPROTO_IP, IP_PKTINFO, 256); }
/* A datagram the host sent itself came over lo (ifindex 1), to the address
 * it was sent to: the stack's own, or 127.0.0.1 when the sender had none
 * and sent to 0.0.0.0 (ipi_spec_dst that address too). */
static void recvmsg_pktinfo_loop(const char *from)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int r = udp_sock(), s = udp_sock();
	struct sockaddr_in to = sin4("0.0.0.0", case_port());

	seti(r, IPPROTO_IP, IP_PKTINFO, 1);
	bind_to(r, "0.0.0.0", case_port());
	bind_to(s, from, 0);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_in(r);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(r, &m, 0)) >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct in_pktinfo pi;

			if (h->cmsg_level != IPPROTO_IP || h->cmsg_type != IP_PKTINFO)
				continue;
			memcpy(&pi, CMSG_DATA(h), sizeof(pi));
			emit("lo=%d", pi.ipi_ifindex == 1);
		}
		emit_cmsgs(&m);
	}
}
CASE(recvmsg_pktinfo_loop_self, 0) { recvmsg_pktinfo_loop(SELF); }
CASE(recvmsg_pktinfo_loop_any, 0) { recvmsg_pktinfo_loop("0.0.0.0"); }
CASE(recvmsg_recvttl, 0) { recvmsg_with_option(IPPROTO_IP, IP_RECVTTL, 256); }
CASE(recvmsg_recvtos, 0) { recvmsg_with_option(IPPROTO_IP, IP_RECVTOS, 256); }
CASE(recvmsg_timestamp, 0) { recvmsg_with_option(SOL_SOCKET, SO_TIMESTAMP, 256); }
CASE(recvmsg_timestampns, 0) { recvmsg_with_option(SOL_SOCKET, SO_TIMESTAMPNS, 256); }
CASE(recvmsg_pktinfo_ctrunc, 0) { recvmsg_with_option(IPPROTO_IP, IP_PKTINFO, 8); }
CASE(recvmsg_pktinfo_ctrunc_data, 0) { recvmsg_with_option(IPPROTO_IP, IP_PKTINFO, CMSG_LEN(8)); }
CASE(recvmsg_timestamp_new, 0) { recvmsg_with_option(SOL_SOCKET, SO_TIMESTAMP_NEW, 256); }
CASE(recvmsg_timestampns_new, 0) { recvmsg_with_option(SOL_SOCKET, SO_TIMESTAMPNS_NEW, 256); }
CASE(recvmsg_tcp_pktinfo, 0)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = tcp_sock();

	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	need(connect_to(s, PEER, P_HELLO) == 0, "connect");
	wait_bytes(s, HELLO_LEN);
	if (R(recvmsg(s, &m, 0)) >= 0) {
		emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
		emit_cmsgs(&m);
	}
}
/* Every option at once: the kernel's order of the control messages. */
CASE(recvmsg_all_cmsgs, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	seti(s, IPPROTO_IP, IP_RECVTOS, 1);
	seti(s, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	if (R(recvmsg(s, &m, 0)) >= 0) {
		emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
		emit_cmsgs(&m);
	}
}
/* Room for the first control message only: the second is cut. */
CASE(recvmsg_cmsgs_second_cut, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo)) + 4 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	if (R(recvmsg(s, &m, 0)) >= 0)
		emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
}
CASE(recvmsg_option_off_again, 0)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 0);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	if (R(recvmsg(s, &m, 0)) >= 0)
		emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
}
CASE(recvmsg_errqueue_udp, 0)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "x", 1, 0));
	emit("revents=%#x", wait_ev(s, 0));
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		emit("flags=%#x", m.msg_flags);
		emit_cmsgs(&m);
	}
}
/* IP_MTU_DISCOVER on UDP: a datagram larger than the MTU is EMSGSIZE with
 * IP_PMTUDISC_DO, PROBE and INTERFACE (and, with IP_RECVERR, a local error
 * on the queue saying the MTU), fragmented with WANT, DONT and OMIT; the
 * peer's echo says what arrived. */
static void pmtu_try(int mode, bool recverr)
{
	static char big[2000];
	union { char b[256]; struct cmsghdr a; } c;
	char b[2100];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_to(P_UECHO);
	ssize_t n;

	emit("mode %d%s:", mode, recverr ? " recverr" : "");
	set_timeo(s, SO_RCVTIMEO, 2000);
	R(setsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof(mode)));
	if (recverr)
		seti(s, IPPROTO_IP, IP_RECVERR, 1);
	if (R(send(s, big, sizeof(big), 0)) >= 0) {
		n = recv(s, b, sizeof(b), 0);
		emit("echo=%zd", n);
	}
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT)) >= 0) {
		emit("flags=%#x", m.msg_flags);
		emit_cmsgs(&m);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct sock_extended_err e;
			struct sockaddr_in off;

			if (h->cmsg_level != IPPROTO_IP || h->cmsg_type != IP_RECVERR)
				continue;
			memcpy(&e, CMSG_DATA(h), sizeof(e));
			memcpy(&off, CMSG_DATA(h) + sizeof(e), sizeof(off));
			emit("info=%u offender family=%d", e.ee_info, off.sin_family);
		}
	}
	R(send(s, big, 1000, 0));
	emit("small echo=%zd", recv(s, b, sizeof(b), 0));
	close(s);
}

CASE(udp_mtu_discover, 0)
{
	for (int mode = IP_PMTUDISC_DONT; mode <= IP_PMTUDISC_OMIT; mode++)
		pmtu_try(mode, false);
	pmtu_try(IP_PMTUDISC_DO, true);
	pmtu_try(IP_PMTUDISC_DONT, true);
}

/* The address of a local EMSGSIZE (IP_PMTUDISC_DO, IP_RECVERR) read from
 * the error queue (tracepath's probe slot): the datagram's destination
 * address, and the port the socket is connected to, 0 when it is not
 * (Linux's ip_local_error gets inet_dport), whatever port the datagram was
 * sent to. Unconnected, connected, and connected with sendto to the peer's
 * other port. */
static void local_emsgsize_name(int how)
{
	static char big[2000];
	union { char b[256]; struct cmsghdr a; } c;
	char b[64], ip[INET_ADDRSTRLEN];
	struct sockaddr_in to = sin4(PEER, P_UCLOSED), from;
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &v, .msg_iovlen = 1,
			    .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = how ? udp_to(P_UECHO) : udp_sock();

	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	if (how == 1)
		R(send(s, big, sizeof(big), 0));
	else
		R(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)));
	memset(&c, 0, sizeof(c));
	memset(&from, 0xa5, sizeof(from));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT)) >= 0) {
		inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
		emit("flags=%#x namelen=%u family=%d name=%s:%d", m.msg_flags, m.msg_namelen, from.sin_family, ip,
		     ntohs(from.sin_port));
		emit_cmsgs(&m);
	}
	close(s);
}
CASE(udp_local_emsgsize_name_unconnected, 0) { local_emsgsize_name(0); }
CASE(udp_local_emsgsize_name_connected, 0) { local_emsgsize_name(1); }
CASE(udp_local_emsgsize_name_connected_sendto, 0) { local_emsgsize_name(2); }

/* IP_PMTUDISC_DO and PROBE towards this host's own address: Linux routes it
 * over lo (MTU 65536), so a 60000-byte datagram is not EMSGSIZE but arrives
 * whole (tracepath to its own address: pmtu 65535 at once). */
static void self_big_dgram(int mode)
{
	static char big[60000];
	char b[61000];
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, mode);
	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	me = sin4(SELF, case_port());
	R(bind(s, (struct sockaddr *)&me, sizeof(me)));
	R(getsockname(s, (struct sockaddr *)&me, &ml));
	set_timeo(s, SO_RCVTIMEO, 1000);
	R(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&me, sizeof(me)));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_ERRQUEUE | MSG_DONTWAIT));
	close(s);
}
CASE(udp_self_big_pmtudisc_do, 0) { self_big_dgram(IP_PMTUDISC_DO); }
CASE(udp_self_big_pmtudisc_probe, 0) { self_big_dgram(IP_PMTUDISC_PROBE); }

/* IP_RECVERR on an unconnected socket: the error is queued (and pending) too. */
CASE(recvmsg_errqueue_unconnected, 0)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct sockaddr_in to = sin4(PEER, P_UCLOSED), from;
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &v, .msg_iovlen = 1,
			    .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();
	char ip[INET_ADDRSTRLEN];

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	R(sendto(s, "xyz", 3, 0, (struct sockaddr *)&to, sizeof(to)));
	emit("revents=%#x", wait_ev(s, 0));
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
		emit("flags=%#x name=%s:%d data=%.*s", m.msg_flags, ip, ntohs(from.sin_port), (int)rtmp, b);
		emit_cmsgs(&m);
	}
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("revents=%#x", wait_ev(s, 0));
}
/* The pending error first (read by recv), the queue after; then nothing. */
CASE(recvmsg_errqueue_after_error, 0)
{
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "x", 1, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit_so_error(s);
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	emit("flags=%#x", m.msg_flags);
	R(recvmsg(s, &m, MSG_ERRQUEUE));
}
CASE(recvmsg_errqueue_two, 0)
{
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "a", 1, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(send(s, "bc", 2, 0));
	R(send(s, "bc", 2, 0));
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	/* The second error regenerates the pending one: wait for it to come. */
	emit("revents=%#x", wait_ev(s, 0));
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	emit("flags=%#x", m.msg_flags);
	emit_so_error(s);
}
CASE(recvmsg_errqueue_trunc, 0)
{
	char b[1];
	struct iovec v = { b, 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "abc", 3, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
}
CASE(recvfrom_errqueue_udp, 0)
{
	char b[16];
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "abc", 3, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(recvfrom(s, b, sizeof(b), MSG_ERRQUEUE, NULL, NULL));
}
/* Without IP_RECVERR an unconnected socket hears nothing. */
CASE(udp_unconnected_closed_port, 0)
{
	char b[16];
	struct sockaddr_in to = sin4(PEER, P_UCLOSED);
	int s = udp_sock();

	R(sendto(s, "xyz", 3, 0, (struct sockaddr *)&to, sizeof(to)));
	/* Round trip through the echo port: the ICMP error came before its answer. */
	to = sin4(PEER, P_UECHO);
	R(sendto(s, "e", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_in(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recvmsg(s, &(struct msghdr){ 0 }, MSG_ERRQUEUE));
}
CASE(recvmsg_errqueue_empty, 0)
{
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(udp_to(P_UECHO), &m, MSG_ERRQUEUE));
}
CASE(recvmmsg_udp_two, 0)
{
	char a[16], b[16];
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct mmsghdr mm[2] = { { { .msg_iov = &v[0], .msg_iovlen = 1 }, 0 },
				 { { .msg_iov = &v[1], .msg_iovlen = 1 }, 0 } };
	int s = udp_to(P_UECHO);

	need(send(s, "one", 3, 0) == 3 && send(s, "three", 5, 0) == 5, "send");
	/* Blocking, without MSG_WAITFORONE: returns once both echoes are in. */
	R(recvmmsg(s, mm, 2, 0, NULL));
	emit("len=%u,%u", mm[0].msg_len, mm[1].msg_len);
}
CASE(recvmmsg_vlen_zero, 0) { struct mmsghdr mm[1]; R(recvmmsg(udp_echoed("x"), mm, 0, 0, NULL)); }
CASE(recvmmsg_bad_vec, 0) { R(recvmmsg(udp_echoed("x"), BAD, 2, 0, NULL)); }
CASE(recvmmsg_bad_timeout, 0)
{
	char a[16];
	struct iovec v = { a, sizeof(a) };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	R(recvmmsg(udp_echoed("x"), mm, 1, 0, BAD));
}
CASE(recvmmsg_dontwait_empty, 0)
{
	char a[16];
	struct iovec v = { a, sizeof(a) };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	R(recvmmsg(udp_to(P_UECHO), mm, 1, MSG_DONTWAIT, NULL));
}

/* ===================================================================== */
/* shutdown */

CASE(shutdown_rd, 0) { R(shutdown(tcp_to(P_ECHO), SHUT_RD)); }
CASE(shutdown_wr, 0) { R(shutdown(tcp_to(P_ECHO), SHUT_WR)); }
CASE(shutdown_rdwr, 0) { R(shutdown(tcp_to(P_ECHO), SHUT_RDWR)); }
CASE(shutdown_bad_how, 0) { int s = tcp_to(P_ECHO); R(shutdown(s, 3)); R(shutdown(s, -1)); }
CASE(shutdown_unconnected, 0) { R(shutdown(tcp_sock(), SHUT_RDWR)); }
CASE(shutdown_twice_wr, 0) { int s = tcp_to(P_STALL); R(shutdown(s, SHUT_WR)); R(shutdown(s, SHUT_WR)); }
CASE(shutdown_listener, 0) { R(shutdown(tcp_listener(), SHUT_RDWR)); }
CASE(shutdown_udp_unconnected, 0) { R(shutdown(udp_sock(), SHUT_RDWR)); }
CASE(shutdown_udp_connected, 0) { R(shutdown(udp_to(P_UECHO), SHUT_RDWR)); }
CASE(shutdown_bad_fd, 0) { R(shutdown(-1, SHUT_RDWR)); }
CASE(shutdown_after_rst, 0)
{
	int s = tcp_reset();

	R(shutdown(s, SHUT_RDWR));
}
CASE(shutdown_wr_echo_eof, 0)
{
	char b[16];
	int s = tcp_to(P_ECHO);

	R(send(s, "hello", 5, 0));
	R(shutdown(s, SHUT_WR));
	wait_bytes(s, 5);
	R(recv(s, b, sizeof(b), 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(shutdown_rdwr_poll, 0)
{
	int s = tcp_to(P_ECHO);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(shutdown(s, SHUT_RDWR));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
}
/* Reads until the peer's FIN (at most WAIT_MS), then emits what came. */
static void wait_fin_after_data(int s, char *b, size_t n)
{
	size_t got = 0;

	for (;;) {
		need(wait_ev(s, POLLIN) & POLLIN, "wait-readable");
		ssize_t r = recv(s, b + got, n - 1 - got, MSG_DONTWAIT);

		need(r >= 0, "recv");
		if (r == 0)
			break;
		got += (size_t)r;
		need(got < n - 1, "too-long");
	}
	b[got] = 0;
	emit("read=%s", b);
}
/* The connection's state (TCP_INFO) once it is STATE, or after WAIT_MS. */
static int wait_state(int s, int state)
{
	struct timespec t0;
	struct tcp_info ti;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		socklen_t l = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
			return -1;
		if (ti.tcpi_state == state || ms_since(&t0) >= WAIT_MS)
			return ti.tcpi_state;
		poll(NULL, 0, 1);
	}
}
/* Once both FINs are through, the socket Linux's program holds is CLOSE
 * (the wait is a timewait sock's): TCP_INFO says so, getpeername and
 * shutdown ENOTCONN. */
CASE(shutdown_wr_time_wait_is_close, 0)
{
	char b[16];
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int s = tcp_to(P_ECHO);

	R(shutdown(s, SHUT_WR));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	emit("state=%d", wait_state(s, TCP_CLOSE));
	R(getpeername(s, (struct sockaddr *)&a, &l));
	R(shutdown(s, SHUT_RD));
	R(shutdown(s, SHUT_WR));
	emit_sockname(s);
}
/* listen() after a connect() that sent a SYN: refused, disconnected
 * (AF_UNSPEC) or reset, Linux says EINVAL; a connect() refused before any
 * SYN (a bad length) leaves the socket free to listen. */
CASE(listen_after_connect_states, 0)
{
	struct sockaddr u = { .sa_family = AF_UNSPEC };
	struct sockaddr_in a = sin4(PEER, P_CLOSED);
	int s = tcp_sock();

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(listen(s, 1));
	s = tcp_to(P_ECHO);
	R(connect(s, &u, sizeof(u)));
	R(listen(s, 1));
	R(listen(tcp_reset(), 1));
	s = tcp_sock();
	R(connect(s, (struct sockaddr *)&a, 4));
	R(listen(s, 1));
}
/* Data from the peer after shutdown(SHUT_RDWR) has sent our FIN: nobody can
 * read it, so the connection is reset (RFC 1122 4.2.2.13; Linux's
 * tcp_rcv_state_process in FIN_WAIT_1/2 with RCV_SHUTDOWN). P_URGENT answers
 * only after our FIN, so that its report always comes after it. */
CASE(shutdown_rdwr_peer_data_resets, 0)
{
	char b[64];
	int s = tcp_to(P_URGENT);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(send(s, "hello", 5, 0));
	R(shutdown(s, SHUT_RDWR));
	emit("state=%d", wait_state(s, TCP_CLOSE));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit_so_error(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
/* The same after SHUT_RD, then SHUT_WR. */
CASE(shutdown_rd_then_wr_peer_data_resets, 0)
{
	char b[64];
	int s = tcp_to(P_URGENT);

	R(shutdown(s, SHUT_RD));
	R(send(s, "hello", 5, 0));
	R(shutdown(s, SHUT_WR));
	emit("state=%d", wait_state(s, TCP_CLOSE));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit_so_error(s);
}
/* SHUT_WR alone: the report after our FIN is read (no reset). */
CASE(shutdown_wr_peer_data_read, 0)
{
	char b[64];
	int s = tcp_to(P_URGENT);

	R(send(s, "hello", 5, 0));
	R(shutdown(s, SHUT_WR));
	wait_fin_after_data(s, b, sizeof(b));
	emit_so_error(s);
}

/* ===================================================================== */
/* close, dup, dup2, dup3, close_range */

CASE(close_twice, 0) { int s = tcp_sock(); R(close(s)); R(close(s)); }
CASE(close_connected, 0) { R(close(tcp_to(P_ECHO))); }
CASE(close_bad_fd, 0) { R(close(-1)); }
CASE(close_use_after, 0)
{
	int s = tcp_to(P_ECHO);

	R(close(s));
	R(send(s, "x", 1, 0));
}
CASE(dup_send, 0)
{
	int s = tcp_to(P_ECHO), d = (int)RFD(dup(s));
	char b[8];

	R(send(d, "hi", 2, 0));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
}
CASE(dup_close_orig, 0)
{
	int s = tcp_to(P_ECHO), d = dup(s);
	char b[8];

	R(close(s));
	R(send(d, "hi", 2, 0));
	wait_bytes(d, 2);
	R(recv(d, b, sizeof(b), 0));
}
CASE(dup_shutdown_shared, 0)
{
	int s = tcp_to(P_ECHO), d = dup(s);

	R(shutdown(d, SHUT_WR));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(dup_nonblock_shared, 0)
{
	int s = tcp_to(P_ECHO), d = dup(s);

	fcntl(s, F_SETFL, O_NONBLOCK);
	emit_flags(d);
}
CASE(dup_bad_fd, 0) { R(dup(-1)); }
CASE(dup2_self, 0) { int s = tcp_to(P_ECHO); emit("same=%d", RFD(dup2(s, s)) == s); }
CASE(dup2_onto_socket, 0)
{
	int a = tcp_to(P_ECHO), b = tcp_to(P_SINK);

	emit("same=%d", RFD(dup2(a, b)) == b);
	emit_peername(b);
}
CASE(dup2_onto_file, 0)
{
	int a = tcp_to(P_ECHO), p[2];

	need(pipe(p) == 0, "pipe");
	emit("same=%d", RFD(dup2(a, p[0])) == p[0]);
	emit_peername(p[0]);
}
CASE(dup2_file_onto_socket, 0)
{
	int a = tcp_to(P_ECHO), p[2];

	need(pipe(p) == 0, "pipe");
	emit("same=%d", RFD(dup2(p[0], a)) == a);
	R(send(a, "x", 1, 0));
}
CASE(dup2_bad_old, 0) { R(dup2(-1, tcp_sock())); }
CASE(dup2_negative_new, 0) { R(dup2(tcp_sock(), -1)); }
CASE(dup3_same, 0) { int s = tcp_sock(); R(dup3(s, s, 0)); }
CASE(dup3_cloexec, 0)
{
	int s = tcp_to(P_ECHO), t = tcp_sock();

	emit("same=%d", RFD(dup3(s, t, O_CLOEXEC)) == t);
	emit_flags(t);
}
CASE(dup3_bad_flags, 0) { R(dup3(tcp_sock(), tcp_sock(), 0x1)); }
CASE(close_range_one, 0)
{
	int s = tcp_to(P_ECHO);

	R(close_range((unsigned)s, (unsigned)s, 0));
	R(send(s, "x", 1, 0));
}
CASE(close_range_cloexec, 0)
{
	int s = tcp_to(P_ECHO);

	R(close_range((unsigned)s, (unsigned)s, CLOSE_RANGE_CLOEXEC));
	emit_flags(s);
}
CASE(closefrom_socket, 0)
{
	int s = tcp_to(P_ECHO);

	closefrom(s);
	R(send(s, "x", 1, 0));
}

/* ===================================================================== */
/* fcntl */

CASE(fcntl_getfl, 0) { R(fcntl(tcp_sock(), F_GETFL)); }
CASE(fcntl_setfl_nonblock, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETFL, O_NONBLOCK));
	emit_flags(s);
}
CASE(fcntl_setfl_append, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETFL, O_APPEND | O_NONBLOCK));
	R(fcntl(s, F_GETFL));
}
CASE(fcntl_setfd, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETFD, FD_CLOEXEC));
	R(fcntl(s, F_GETFD));
}
CASE(fcntl_dupfd, 0)
{
	int s = tcp_to(P_ECHO), d = fcntl(s, F_DUPFD, 100);

	emit("ge100=%d", d >= 100);
	R(fcntl(d, F_GETFD));
	R(send(d, "x", 1, 0));
}
CASE(fcntl_dupfd_cloexec, 0)
{
	int s = tcp_to(P_ECHO), d = fcntl(s, F_DUPFD_CLOEXEC, 0);

	emit("ok=%d", d >= 0);
	R(fcntl(d, F_GETFD));
	R(send(d, "x", 1, 0));
}
CASE(fcntl_bad_cmd, 0) { R(fcntl(tcp_sock(), 9999)); }
CASE(fcntl_bad_fd, 0) { R(fcntl(-1, F_GETFL)); }
CASE(fcntl_setown, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETOWN, getpid()));
	emit("own=%d", fcntl(s, F_GETOWN) == getpid());
}
CASE(fcntl_async_sigio, 0)
{
	int s = tcp_to(P_ECHO);

	R(fcntl(s, F_SETOWN, getpid()));
	R(fcntl(s, F_SETFL, O_ASYNC));
	R(send(s, "x", 1, 0));
	wait_bytes(s, 1);
}
/* O_ASYNC with F_SETSIG: the owner's signal, one per event, with the band
 * of the event (Linux's band_table) and the fd. */
static volatile sig_atomic_t io_n;
static volatile long io_bands[4];
static volatile int io_fd;
static void on_io(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (io_n < 4)
		io_bands[io_n] = si->si_band;
	io_fd = si->si_fd;
	io_n++;
}
static void async_on(int s, int sig)
{
	struct sigaction sa = { .sa_sigaction = on_io, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	R(fcntl(s, F_SETOWN, getpid()));
	if (sig != SIGIO)
		R(fcntl(s, F_SETSIG, sig));
	R(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_ASYNC | O_NONBLOCK));
}
static void emit_io(int s)
{
	emit("n=%d bands=%#lx,%#lx fd=%s", (int)io_n, io_bands[0], io_bands[1], io_n ? (io_fd == s ? "same" : "other") : "-");
}
CASE(fcntl_async_setsig_data, 0)
{
	int s = tcp_to(P_ECHO);

	async_on(s, SIGRTMIN + 2);
	R(send(s, "x", 1, 0));
	wait_bytes(s, 1);
	emit_io(s);
}
CASE(fcntl_async_setsig_connect, 0)
{
	int s = tcp_sock();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(P_ECHO) };

	async_on(s, SIGRTMIN + 2);
	inet_pton(AF_INET, PEER, &a.sin_addr);
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(wait_ev(s, POLLOUT));
	emit_io(s);
}
CASE(fcntl_async_setsig_reset, 0)
{
	int s = tcp_to(P_RST);

	async_on(s, SIGRTMIN + 2);
	R(send(s, "x", 1, 0));
	R(wait_ev(s, POLLERR) & POLLERR);
	emit_io(s);
}
CASE(fcntl_async_setsig_fin_after_shutdown, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	async_on(s, SIGRTMIN + 2);
	R(shutdown(s, SHUT_WR));
	R(wait_ev(s, POLLIN) & POLLIN);
	R(recv(s, b, sizeof(b), 0));
	emit_io(s);
}
CASE(fcntl_async_setsig_udp, 0)
{
	int s = udp_to(P_UECHO);

	async_on(s, SIGRTMIN + 2);
	R(send(s, "x", 1, 0));
	R(wait_ev(s, POLLIN) & POLLIN);
	emit_io(s);
}
/* Waits (WAIT_MS at most) until n of the owner's signals came. */
static void await_io(int n)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (io_n < n && ms_since(&t0) < WAIT_MS)
		poll(NULL, 0, 1);
}
/* The program's own shutdown(SHUT_RD) raises no O_ASYNC signal (Linux's
 * inet_shutdown only wakes the waiters: sk_state_change); the peer's FIN
 * that comes after it does (tcp_fin's POLL_HUP, both ways shut then, and
 * tcp_data_queue's POLL_IN). */
CASE(fcntl_async_setsig_shut_rd, 0)
{
	int s = tcp_to(P_SINK);

	async_on(s, SIGRTMIN + 2);
	R(shutdown(s, SHUT_RD));
	R(poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 0));
	emit_io(s);
	R(shutdown(s, SHUT_WR));
	need(wait_state(s, TCP_CLOSE) == TCP_CLOSE, "wait-close");
	await_io(2);
	emit_io(s);
}
/* Every TCP disconnect signals O_ASYNC's owner with POLL_ERR (Linux's
 * tcp_disconnect ends with sk_error_report): connect(AF_UNSPEC) in any
 * state, shutdown(SHUT_RD) of a listener; SHUT_WR leaves it listening. */
static void async_disconnect(int s, int how)
{
	async_on(s, SIGRTMIN + 2);
	if (how < 0)
		R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	else
		R(shutdown(s, how));
	if (how != SHUT_WR)
		await_io(1);
	emit_io(s);
	emit_so_error(s);
}
CASE(fcntl_async_setsig_disconnect_connected, 0) { async_disconnect(tcp_to(P_SINK), -1); }
CASE(fcntl_async_setsig_disconnect_fresh, 0) { async_disconnect(tcp_sock(), -1); }
CASE(fcntl_async_setsig_disconnect_listener, 0) { async_disconnect(tcp_listener(), -1); }
CASE(fcntl_async_setsig_shut_rd_listener, 0) { async_disconnect(tcp_listener(), SHUT_RD); }
CASE(fcntl_async_setsig_shut_wr_listener, 0) { async_disconnect(tcp_listener(), SHUT_WR); }
CASE(poll_shutdown_then_fin, 0)
{
	int s = tcp_to(P_ECHO);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(shutdown(s, SHUT_WR));
	R(wait_ev(s, POLLIN) & POLLIN);
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
}
CASE(poll_fin_then_shutdown, 0)
{
	int s = tcp_to(P_FIN);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(wait_ev(s, POLLIN) & POLLIN);
	R(shutdown(s, SHUT_WR));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
}
CASE(fcntl_getsig, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETSIG, SIGRTMIN + 3));
	emit("sig=%d", fcntl(s, F_GETSIG) - SIGRTMIN);
	R(fcntl(s, F_SETSIG, 1000));
}
CASE(ioctl_fioasync, 0)
{
	int on = 1, s = tcp_to(P_ECHO);
	struct sigaction sa = { .sa_sigaction = on_io, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	R(ioctl(s, FIOSETOWN, &(int){ getpid() }));
	R(ioctl(s, FIOASYNC, &on));
	emit("async=%d", (fcntl(s, F_GETFL) & O_ASYNC) != 0);
	R(send(s, "x", 1, 0));
	wait_bytes(s, 1);
	emit("n=%d", (int)io_n);
}
CASE(fcntl64_getfl, 0) { R(fcntl64(tcp_sock(), F_GETFL)); }
CASE(fcntl_nonblock_recv, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO);

	R(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK));
	R(recv(s, b, sizeof(b), 0));
}

/* ===================================================================== */
/* ioctl */

CASE(ioctl_fionread, 0) { int n = -1, s = tcp_hello(); R(ioctl(s, FIONREAD, &n)); emit("n=%d", n); }
CASE(ioctl_fionread_empty, 0) { int n = -1; R(ioctl(tcp_to(P_ECHO), FIONREAD, &n)); emit("n=%d", n); }
CASE(ioctl_fionread_udp, 0) { int n = -1; R(ioctl(udp_echoed("hello"), FIONREAD, &n)); emit("n=%d", n); }
CASE(ioctl_fionread_listener, 0) { int n = -1; R(ioctl(tcp_listener(), FIONREAD, &n)); }
CASE(ioctl_fionread_bad_ptr, 0) { R(ioctl(tcp_hello(), FIONREAD, BAD)); }
CASE(ioctl_fionbio, 0)
{
	char b[8];
	int on = 1, s = tcp_to(P_ECHO);

	R(ioctl(s, FIONBIO, &on));
	R(recv(s, b, sizeof(b), 0));
	emit_flags(s);
}
CASE(ioctl_siocoutq, 0) { int n = -1; R(ioctl(tcp_to(P_ECHO), SIOCOUTQ, &n)); emit("n=%d", n); }
CASE(ioctl_siocatmark, 0) { int n = -1; R(ioctl(tcp_hello(), SIOCATMARK, &n)); emit("n=%d", n); }
CASE(ioctl_bad_request, 0) { int n = 0; R(ioctl(tcp_sock(), 0x12345678, &n)); }
CASE(ioctl_udp_siocoutq, 0) { int n = -1; R(ioctl(udp_to(P_UECHO), SIOCOUTQ, &n)); emit("n=%d", n); }

/* The queues' ioctls on a listener (Linux's tcp_ioctl: EINVAL, but
 * SIOCATMARK asks nothing of the state), and on a connected UDP socket
 * (udp_ioctl: SIOCINQ/SIOCOUTQ only, ENOTTY for the rest). */
CASE(ioctl_listener_queues, 0)
{
	int s = tcp_listener(), n = -1;

	R(ioctl(s, SIOCATMARK, &n));
	emit("n=%d", n);
	R(ioctl(s, SIOCOUTQNSD, &n));
	R(ioctl(s, SIOCOUTQ, &n));
	R(ioctl(s, FIONREAD, &n));
}
CASE(ioctl_udp_connected_tcp_only, 0)
{
	int s = udp_to(P_UECHO), n = -1;

	R(ioctl(s, SIOCATMARK, &n));
	R(ioctl(s, SIOCOUTQNSD, &n));
	R(ioctl(udp_sock(), SIOCATMARK, &n));
}
/* SIOCOUTQNSD: the bytes queued and not sent yet (behind a full window). */
CASE(ioctl_siocoutqnsd_unsent, 0)
{
	int s = tcp_to(P_STALL), all = -1, unsent = -1;

	R(ioctl(s, SIOCOUTQNSD, &unsent));
	emit("idle=%d", unsent);
	fill(s);
	R(ioctl(s, SIOCOUTQ, &all));
	R(ioctl(s, SIOCOUTQNSD, &unsent));
	emit("unsent>0=%d unsent<=all=%d", unsent > 0, unsent <= all);
}
static int ifreq_call(unsigned long req, struct ifreq *r)
{
	int s = udp_sock();

	memset(r, 0, sizeof(*r));
	snprintf(r->ifr_name, sizeof(r->ifr_name), "tap0");
	return (int)R(ioctl(s, req, r));
}
static void emit_ifaddr(const struct sockaddr *sa)
{
	char ip[INET_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof(ip));
	emit("%s", ip);
}
CASE(ioctl_siocgifaddr, 0) { struct ifreq r; if (ifreq_call(SIOCGIFADDR, &r) == 0) emit_ifaddr(&r.ifr_addr); }
CASE(ioctl_siocgifnetmask, 0)
{
	struct ifreq r;

	if (ifreq_call(SIOCGIFNETMASK, &r) == 0)
		emit_ifaddr(&r.ifr_netmask);
}
CASE(ioctl_siocgifbrdaddr, 0)
{
	struct ifreq r;

	if (ifreq_call(SIOCGIFBRDADDR, &r) == 0)
		emit_ifaddr(&r.ifr_broadaddr);
}
CASE(ioctl_siocgifmtu, 0) { struct ifreq r; if (ifreq_call(SIOCGIFMTU, &r) == 0) emit("mtu=%d", r.ifr_mtu); }
CASE(ioctl_siocgifhwaddr, 0)
{
	struct ifreq r;
	unsigned char *m = (unsigned char *)r.ifr_hwaddr.sa_data;

	if (ifreq_call(SIOCGIFHWADDR, &r) == 0)
		emit("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
CASE(ioctl_siocgifflags, 0)
{
	struct ifreq r;

	if (ifreq_call(SIOCGIFFLAGS, &r) == 0)
		emit("up=%d", (r.ifr_flags & IFF_UP) != 0);
}
CASE(ioctl_siocgifconf, 0)
{
	struct ifreq rs[8];
	struct ifconf c = { .ifc_len = sizeof(rs), .ifc_req = rs };

	if (R(ioctl(udp_sock(), SIOCGIFCONF, &c)) == 0) {
		for (int i = 0; i < c.ifc_len / (int)sizeof(struct ifreq); i++) {
			emit("%s", rs[i].ifr_name);
			emit_ifaddr(&rs[i].ifr_addr);
		}
	}
}

CASE(ioctl_siocgifconf_len, 0)
{
	struct ifconf c = { .ifc_len = 0, .ifc_req = NULL };

	if (R(ioctl(udp_sock(), SIOCGIFCONF, &c)) == 0)
		emit("len=%d", c.ifc_len / (int)sizeof(struct ifreq));
}
CASE(ioctl_siocgifconf_room_for_one, 0)
{
	struct ifreq rs[1];
	struct ifconf c = { .ifc_len = sizeof(rs), .ifc_req = rs };

	if (R(ioctl(udp_sock(), SIOCGIFCONF, &c)) == 0)
		emit("len=%d %s", c.ifc_len / (int)sizeof(struct ifreq), rs[0].ifr_name);
}
static int ifreq_named(unsigned long req, const char *name, struct ifreq *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->ifr_name, sizeof(r->ifr_name), "%s", name);
	return (int)R(ioctl(udp_sock(), req, r));
}
CASE(ioctl_siocgifaddr_lo, 0) { struct ifreq r; if (ifreq_named(SIOCGIFADDR, "lo", &r) == 0) emit_ifaddr(&r.ifr_addr); }
CASE(ioctl_siocgifaddr_nosuch, 0) { struct ifreq r; ifreq_named(SIOCGIFADDR, "nosuch0", &r); }
CASE(ioctl_siocgifhwaddr_family, 0)
{
	struct ifreq r;

	if (ifreq_named(SIOCGIFHWADDR, "tap0", &r) == 0)
		emit("family=%d", r.ifr_hwaddr.sa_family);
}
CASE(ioctl_siocgifindex_name, 0)
{
	struct ifreq r;

	if (ifreq_named(SIOCGIFINDEX, "tap0", &r) == 0) {
		int idx = r.ifr_ifindex;

		emit("index=%s", idx > 0 ? "yes" : "no");
		memset(&r, 0, sizeof(r));
		r.ifr_ifindex = idx;
		if (R(ioctl(udp_sock(), SIOCGIFNAME, &r)) == 0)
			emit("%s", r.ifr_name);
	}
}
CASE(ioctl_siocgifaddr_tcp, 0)
{
	struct ifreq r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ifr_name, sizeof(r.ifr_name), "tap0");
	if (R(ioctl(tcp_sock(), SIOCGIFADDR, &r)) == 0)
		emit_ifaddr(&r.ifr_addr);
}
/* What getifaddrs() lists: names, families, addresses, masks, MACs. */
CASE(getifaddrs_list, 0)
{
	struct ifaddrs *l;

	if (R(getifaddrs(&l)) != 0)
		return;
	for (struct ifaddrs *a = l; a; a = a->ifa_next) {
		if (!a->ifa_addr)
			continue;
		if (a->ifa_addr->sa_family == AF_INET) {
			emit("%s", a->ifa_name);
			emit_ifaddr(a->ifa_addr);
			if (a->ifa_netmask)
				emit_ifaddr(a->ifa_netmask);
			if ((a->ifa_flags & IFF_BROADCAST) && a->ifa_broadaddr)
				emit_ifaddr(a->ifa_broadaddr);
		} else if (a->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const struct sockaddr_ll *)(const void *)a->ifa_addr;
			const unsigned char *m = ll->sll_addr;

			emit("%s", a->ifa_name);
			emit("packet:%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		}
	}
	freeifaddrs(l);
}
/* A netlink dump (RTM_GETADDR or RTM_GETLINK) of tap0, as ip and dnsmasq ask it. */
static void netlink_dump(int type)
{
	struct {
		struct nlmsghdr h;
		union { struct ifaddrmsg a; struct ifinfomsg i; } u;
	} req;
	static char buf[65536];
	unsigned idx = if_nametoindex("tap0");
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	bool done = false;

	need(fd >= 0 && idx > 0, "netlink");
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.u));
	req.h.nlmsg_type = (unsigned short)type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	R(send(fd, &req, req.h.nlmsg_len, 0));
	while (!done) {
		struct iovec v = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &m, 0);

		if (n <= 0) {
			R(n);
			return;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_type == RTM_NEWADDR) {
				struct ifaddrmsg *a = NLMSG_DATA(h);
				int len = (int)IFA_PAYLOAD(h);
				char ip[INET_ADDRSTRLEN];

				if (a->ifa_index != idx || a->ifa_family != AF_INET)
					continue;
				emit("prefix=%d", a->ifa_prefixlen);
				for (struct rtattr *r = IFA_RTA(a); RTA_OK(r, len); r = RTA_NEXT(r, len)) {
					if (r->rta_type != IFA_LOCAL && r->rta_type != IFA_ADDRESS && r->rta_type != IFA_BROADCAST)
						continue;
					inet_ntop(AF_INET, RTA_DATA(r), ip, sizeof(ip));
					emit("%d=%s", r->rta_type, ip);
				}
			} else if (h->nlmsg_type == RTM_NEWLINK) {
				struct ifinfomsg *i = NLMSG_DATA(h);
				int len = (int)IFLA_PAYLOAD(h);

				if ((unsigned)i->ifi_index != idx)
					continue;
				for (struct rtattr *r = IFLA_RTA(i); RTA_OK(r, len); r = RTA_NEXT(r, len)) {
					const unsigned char *mac = RTA_DATA(r);

					if (r->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(r) == 6)
						emit("mac=%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
						     mac[4], mac[5]);
					else if (r->rta_type == IFLA_MTU)
						emit("mtu=%u", *(unsigned *)RTA_DATA(r));
				}
			}
		}
	}
}
CASE(netlink_getaddr, 0) { netlink_dump(RTM_GETADDR); }
CASE(netlink_getlink, 0) { netlink_dump(RTM_GETLINK); }
CASE(if_nameindex_list, 0)
{
	struct if_nameindex *v = if_nameindex();

	if (!v) {
		R(-1);
		return;
	}
	for (struct if_nameindex *p = v; p->if_index; p++)
		emit("%s", p->if_name);
	if_freenameindex(v);
}

/* ===================================================================== */
/* getsockname, getpeername */

CASE(getsockname_unbound, 0) { emit_sockname(tcp_sock()); }
CASE(getsockname_connected, 0) { emit_sockname(tcp_to(P_ECHO)); }
CASE(getsockname_udp_after_sendto, 0)
{
	struct sockaddr_in a = sin4(PEER, P_USINK);
	int s = udp_sock();

	need(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1, "sendto");
	emit_sockname(s);
}
CASE(getsockname_short_len, 0)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = 4;

	memset(&a, 0, sizeof(a));
	R(getsockname(tcp_to(P_ECHO), (struct sockaddr *)&a, &l));
	emit_short_addr(&a, l);
}
CASE(getsockname_len_zero, 0)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = 0;

	R(getsockname(tcp_to(P_ECHO), (struct sockaddr *)&a, &l));
	emit("len=%u", (unsigned)l);
}
CASE(getsockname_negative_len, 0)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = (socklen_t)-1;

	R(getsockname(tcp_to(P_ECHO), (struct sockaddr *)&a, &l));
}
CASE(getsockname_null_len, 0) { struct sockaddr_in a = { 0 }; R(getsockname(tcp_to(P_ECHO), (struct sockaddr *)&a, NULL)); }
CASE(getsockname_bad_addr, 0)
{
	socklen_t l = sizeof(struct sockaddr_in);

	R(getsockname(tcp_to(P_ECHO), BAD, &l));
}
CASE(getsockname_bad_len_ptr, 0) { struct sockaddr_in a = { 0 }; R(getsockname(tcp_to(P_ECHO), (struct sockaddr *)&a, BAD)); }
CASE(getsockname_bad_fd, 0)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);

	R(getsockname(-1, (struct sockaddr *)&a, &l));
}
CASE(getsockname_inet6_unbound, 0)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);

	need(s >= 0, "socket");
	emit_sockname(s);
}
CASE(getpeername_unconnected, 0) { emit_peername(tcp_sock()); }
CASE(getpeername_connected, 0) { emit_peername(tcp_to(P_ECHO)); }
CASE(getpeername_after_fin, 0) { int s = tcp_to(P_FIN); wait_fin(s); emit_peername(s); }
CASE(getpeername_after_rst, 0) { emit_peername(tcp_reset()); }
CASE(getpeername_listener, 0) { emit_peername(tcp_listener()); }
CASE(getpeername_udp_connected, 0) { emit_peername(udp_to(P_UECHO)); }
CASE(getpeername_null_len, 0) { struct sockaddr_in a = { 0 }; R(getpeername(tcp_to(P_ECHO), (struct sockaddr *)&a, NULL)); }
CASE(getpeername_bad_addr, 0)
{
	socklen_t l = sizeof(struct sockaddr_in);

	R(getpeername(tcp_to(P_ECHO), BAD, &l));
}
CASE(getpeername_short_len, 0)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = 2;

	memset(&a, 0, sizeof(a));
	R(getpeername(tcp_to(P_ECHO), (struct sockaddr *)&a, &l));
	emit("len=%u family=%d", (unsigned)l, a.sin_family);
}

/* ===================================================================== */
/* setsockopt, getsockopt */

CASE(getsockopt_type, 0)
{
	emit("tcp=%d udp=%d", geti(tcp_sock(), SOL_SOCKET, SO_TYPE), geti(udp_sock(), SOL_SOCKET, SO_TYPE));
}
CASE(getsockopt_domain_protocol, 0)
{
	int s = tcp_sock();

	emit("domain=%d protocol=%d", geti(s, SOL_SOCKET, SO_DOMAIN), geti(s, SOL_SOCKET, SO_PROTOCOL));
}
CASE(getsockopt_error_clean, 0) { emit_so_error(tcp_to(P_ECHO)); }
CASE(getsockopt_short_len, 0)
{
	int v = -1;
	socklen_t l = 2;

	R(getsockopt(tcp_sock(), SOL_SOCKET, SO_TYPE, &v, &l));
	emit("len=%u", (unsigned)l);
}
CASE(getsockopt_len_zero, 0)
{
	int v = -1;
	socklen_t l = 0;

	R(getsockopt(tcp_sock(), SOL_SOCKET, SO_TYPE, &v, &l));
	emit("len=%u v=%d", (unsigned)l, v);
}
CASE(getsockopt_negative_len, 0)
{
	int v;
	socklen_t l = (socklen_t)-1;

	R(getsockopt(tcp_sock(), SOL_SOCKET, SO_TYPE, &v, &l));
}
/* A negative length is EINVAL before the option is looked at
 * (sk_getsockopt, do_ip_getsockopt, do_tcp_getsockopt), whatever the
 * option would have said in that state: IP_MTU without a route,
 * TCP_SAVED_SYN with none saved, TCP_AO_REPAIR on a listener. */
static void get_negative_len(int s, int level, int name)
{
	unsigned char b[64];
	socklen_t l = 0x80000000u;

	memset(b, 0xa5, sizeof(b));
	if (getsockopt(s, level, name, b, &l) < 0)
		emit("%d:%s", name, ename(errno));
	else
		emit("%d=%u/%u", name, b[0], (unsigned)l);
}
CASE(getsockopt_negative_len_states, 0)
{
	int l = tcp_listener(), c = tcp_to(P_ECHO), f = tcp_sock();

	get_negative_len(l, IPPROTO_IP, IP_MTU);
	get_negative_len(f, IPPROTO_IP, IP_MTU);
	get_negative_len(l, IPPROTO_TCP, TCP_SAVED_SYN);
	get_negative_len(c, IPPROTO_TCP, TCP_SAVED_SYN);
	get_negative_len(l, IPPROTO_TCP, 42 /* TCP_AO_REPAIR */);
	get_negative_len(l, IPPROTO_TCP, 35 /* TCP_ZEROCOPY_RECEIVE */);
	get_negative_len(c, IPPROTO_TCP, TCP_INFO);
	get_negative_len(c, SOL_SOCKET, SO_ERROR);
}
CASE(getsockopt_null_len, 0) { int v; R(getsockopt(tcp_sock(), SOL_SOCKET, SO_TYPE, &v, NULL)); }
CASE(getsockopt_bad_val, 0)
{
	socklen_t l = sizeof(int);

	R(getsockopt(tcp_sock(), SOL_SOCKET, SO_TYPE, BAD, &l));
}
CASE(getsockopt_bad_level, 0)
{
	int v;
	socklen_t l = sizeof(v);

	R(getsockopt(tcp_sock(), 999, 1, &v, &l));
}
CASE(getsockopt_bad_name, 0)
{
	int v;
	socklen_t l = sizeof(v);

	R(getsockopt(tcp_sock(), SOL_SOCKET, 9999, &v, &l));
}
CASE(getsockopt_tcp_on_udp, 0)
{
	int v;
	socklen_t l = sizeof(v);

	R(getsockopt(udp_sock(), IPPROTO_TCP, TCP_NODELAY, &v, &l));
}
CASE(setsockopt_nodelay, 0)
{
	int s = tcp_to(P_ECHO), one = 1;

	R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_NODELAY));
}
/* TCP_CORK and TCP_NODELAY on a connection (pstack answers them without
 * the kernel's placeholder): values, lengths, memory. */
CASE(setsockopt_cork_connected, 0)
{
	int s = tcp_to(P_ECHO), v = 5;

	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)));
	emit("cork=%d", geti(s, IPPROTO_TCP, TCP_CORK));
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, 2));
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, BAD, sizeof(v)));
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, NULL, sizeof(v)));
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, (socklen_t)-1));
	v = -3;
	R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, 100));
	emit("nodelay=%d", geti(s, IPPROTO_TCP, TCP_NODELAY));
	R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, BAD, sizeof(v)));
	v = 0;
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)));
	emit("cork=%d", geti(s, IPPROTO_TCP, TCP_CORK));
	R(setsockopt(s, SOL_TCP, TCP_NODELAY, &v, sizeof(v)));
	emit("nodelay=%d", geti(s, IPPROTO_TCP, TCP_NODELAY));
}
CASE(setsockopt_nodelay_short_len, 0)
{
	int one = 1;

	R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_NODELAY, &one, 2));
}
CASE(setsockopt_null_val, 0) { R(setsockopt(tcp_sock(), SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(int))); }
CASE(setsockopt_bad_val, 0) { R(setsockopt(tcp_sock(), SOL_SOCKET, SO_REUSEADDR, BAD, sizeof(int))); }
CASE(setsockopt_bad_level, 0) { int one = 1; R(setsockopt(tcp_sock(), 999, 1, &one, sizeof(one))); }
CASE(setsockopt_bad_name, 0) { int one = 1; R(setsockopt(tcp_sock(), SOL_SOCKET, 9999, &one, sizeof(one))); }
CASE(setsockopt_tcp_on_udp, 0) { int one = 1; R(setsockopt(udp_sock(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))); }
CASE(setsockopt_keepalive, 0)
{
	int s = tcp_to(P_ECHO), one = 1;

	R(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_KEEPALIVE));
}
CASE(setsockopt_keepidle_zero, 0) { int z = 0; R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_KEEPIDLE, &z, sizeof(z))); }
CASE(setsockopt_reuseaddr, 0)
{
	int s = tcp_sock(), one = 1;

	R(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_REUSEADDR));
}
CASE(setsockopt_linger, 0)
{
	int s = tcp_to(P_ECHO);
	struct linger lg = { 1, 5 }, g = { -1, -1 };
	socklen_t l = sizeof(g);

	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	R(getsockopt(s, SOL_SOCKET, SO_LINGER, &g, &l));
	emit("onoff=%d linger=%d", g.l_onoff, g.l_linger);
}
CASE(setsockopt_linger_short_len, 0)
{
	struct linger lg = { 1, 0 };

	R(setsockopt(tcp_sock(), SOL_SOCKET, SO_LINGER, &lg, sizeof(int)));
}
CASE(setsockopt_linger_zero_close_rst, 0)
{
	int s = tcp_to(P_ECHO);
	struct linger lg = { 1, 0 };

	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	R(close(s));
}
/*
 * SO_LINGER with a time (Linux's tcp_close, sk_stream_wait_close): close()
 * sends the FIN and waits for its ACK, at most that long, whether the socket
 * blocks or not; a FIN that cannot go (the peer's window is shut) holds it
 * the whole time, one that is acknowledged ends the wait. close() is 0.
 */
static const char *linger_close(int s, int secs)
{
	struct linger lg = { 1, secs };
	struct timespec t0;
	long ms;

	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(close(s));
	ms = ms_since(&t0);
	return ms >= secs * 1000L - 100 ? "waited-its-time" : ms < 400 ? "at-once" : "waited-less";
}
CASE(setsockopt_linger_close_waits, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	emit("%s", linger_close(s, 1));
}
CASE(setsockopt_linger_close_nonblock_waits, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	emit("%s", linger_close(s, 1));
}
CASE(setsockopt_linger_close_eintr, 0)
{
	int s = tcp_to(P_STALL);

	fill(s);
	interrupt(SIGUSR1, THEN_NONE, -1);
	emit("%s", linger_close(s, 3));
	end_interrupt();
}
CASE(setsockopt_linger_close_acked, 0)
{
	int s = tcp_to(P_SINK);

	R(send(s, "x", 1, 0));
	emit("%s", linger_close(s, 3));
}
CASE(setsockopt_rcvtimeo, 0)
{
	int s = tcp_sock();
	struct timeval tv = { 1, 500000 }, g = { -1, -1 };
	socklen_t l = sizeof(g);

	R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	R(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &g, &l));
	emit("tv=%ld.%06ld", (long)g.tv_sec, (long)g.tv_usec);
}
CASE(setsockopt_rcvtimeo_bad_usec, 0)
{
	struct timeval tv = { 0, 2000000 };

	R(setsockopt(tcp_sock(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
}
CASE(setsockopt_rcvtimeo_short_len, 0)
{
	struct timeval tv = { 1, 0 };

	R(setsockopt(tcp_sock(), SOL_SOCKET, SO_RCVTIMEO, &tv, 4));
}
CASE(setsockopt_sndtimeo_negative, 0)
{
	struct timeval tv = { -1, 0 };
	int s = tcp_sock();

	R(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
}
CASE(setsockopt_rcvbuf, 0)
{
	int s = tcp_sock(), v = 4096;

	R(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_RCVBUF));
}
CASE(setsockopt_sndbuf, 0)
{
	int s = tcp_sock(), v = 8192;

	R(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_SNDBUF));
}
CASE(getsockopt_maxseg_connected, 0) { emit("mss=%d", geti(tcp_to(P_ECHO), IPPROTO_TCP, TCP_MAXSEG)); }
CASE(setsockopt_maxseg_small, 0) { int v = 10; R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v))); }
CASE(setsockopt_ip_ttl, 0)
{
	int s = tcp_sock(), v = 10;

	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	emit("v=%d", geti(s, IPPROTO_IP, IP_TTL));
	v = -1;
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	emit("v=%d", geti(s, IPPROTO_IP, IP_TTL));
}
CASE(setsockopt_ip_ttl_bad, 0)
{
	int s = tcp_sock(), v = 0;

	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	v = 256;
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
}
CASE(setsockopt_ip_tos, 0)
{
	int s = tcp_to(P_ECHO), v = 0x10;

	R(setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof(v)));
	emit("v=%d", geti(s, IPPROTO_IP, IP_TOS));
}
CASE(setsockopt_broadcast, 0)
{
	int s = udp_sock(), one = 1;

	emit("v=%d", geti(s, SOL_SOCKET, SO_BROADCAST));
	R(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_BROADCAST));
}
CASE(setsockopt_add_membership, 0)
{
	int s = udp_bound();
	struct ip_mreq m;

	inet_pton(AF_INET, "224.0.0.251", &m.imr_multiaddr);
	inet_pton(AF_INET, SELF, &m.imr_interface);
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
}
/* Multicast reception: a group joined on the stack's interface (RFC 1112). */
static int join(int s, const char *group, const char *ifaddr, int name)
{
	struct ip_mreq m;

	inet_pton(AF_INET, group, &m.imr_multiaddr);
	inet_pton(AF_INET, ifaddr, &m.imr_interface);
	return setsockopt(s, IPPROTO_IP, name, &m, sizeof(m));
}

/* Waits up to MS for a datagram; prints its size and source, or "none". */
static void mcast_recv(int s, int ms)
{
	struct sockaddr_in f;
	socklen_t fl = sizeof(f);
	struct pollfd p = { .fd = s, .events = POLLIN };
	char b[64];

	if (poll(&p, 1, ms) != 1) {
		emit("none");
		return;
	}
	if (R(recvfrom(s, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&f, &fl)) >= 0)
		emit_addr(&f, fl);
}

CASE(udp_mcast_join_receive, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(join(s, "239.1.2.3", SELF, IP_ADD_MEMBERSHIP));
	peer("mcast 239.1.2.3 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
}
CASE(udp_mcast_bound_group_receive, 0)
{
	int s = udp_sock();

	bind_to(s, "239.1.2.4", case_port());
	R(join(s, "239.1.2.4", "0.0.0.0", IP_ADD_MEMBERSHIP));
	peer("mcast 239.1.2.4 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
}
/* Not joined: the datagram is not taken. */
CASE(udp_mcast_not_joined, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	peer("mcast 239.1.2.5 %d hello", case_port());
	mcast_recv(s, 300);
}
/* Joined by another socket: every socket on the port hears it (IP_MULTICAST_ALL). */
CASE(udp_mcast_joined_by_other, 0)
{
	int s = udp_sock(), t = udp_sock(), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(s, "0.0.0.0", case_port());
	bind_to(t, "0.0.0.0", case_port());
	R(join(t, "239.1.2.6", SELF, IP_ADD_MEMBERSHIP));
	peer("mcast 239.1.2.6 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
	mcast_recv(t, WAIT_MS);
}
CASE(udp_mcast_dropped_membership, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(join(s, "239.1.2.7", SELF, IP_ADD_MEMBERSHIP));
	R(join(s, "239.1.2.7", SELF, IP_DROP_MEMBERSHIP));
	R(join(s, "239.1.2.7", SELF, IP_DROP_MEMBERSHIP));
	peer("mcast 239.1.2.7 %d hello", case_port());
	mcast_recv(s, 300);
}
/* Our own datagram to a group we joined comes back (IP_MULTICAST_LOOP), unless turned off. */
CASE(udp_mcast_loop, 0)
{
	struct sockaddr_in g = sin4("239.1.2.8", case_port());
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(join(s, "239.1.2.8", SELF, IP_ADD_MEMBERSHIP));
	R(sendto(s, "self", 4, 0, (struct sockaddr *)&g, sizeof(g)));
	mcast_recv(s, WAIT_MS);
	seti(s, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
	R(sendto(s, "self", 4, 0, (struct sockaddr *)&g, sizeof(g)));
	mcast_recv(s, 300);
}
CASE(setsockopt_membership_errors, 0)
{
	struct ip_mreq m;
	struct ip_mreqn mn;
	int s = udp_sock();

	R(join(s, "192.0.2.1", SELF, IP_ADD_MEMBERSHIP));
	R(join(s, "239.1.2.9", NOBODY, IP_ADD_MEMBERSHIP));
	inet_pton(AF_INET, "239.1.2.9", &m.imr_multiaddr);
	inet_pton(AF_INET, SELF, &m.imr_interface);
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m) - 1));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, NULL, sizeof(m)));
	memset(&mn, 0, sizeof(mn));
	inet_pton(AF_INET, "239.1.2.9", &mn.imr_multiaddr);
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn, sizeof(mn)));
	R(join(s, "239.1.2.9", "0.0.0.0", IP_ADD_MEMBERSHIP));
	R(join(s, "239.1.2.10", NOBODY, IP_DROP_MEMBERSHIP));
	R(join(tcp_sock(), "239.1.2.9", SELF, IP_ADD_MEMBERSHIP));
}
CASE(setsockopt_membership_max, 0)
{
	int s = udp_sock();
	char g[32];

	for (int i = 1; i <= 21; i++) {
		snprintf(g, sizeof(g), "239.2.0.%d", i);
		if (join(s, g, SELF, IP_ADD_MEMBERSHIP) < 0) {
			emit("join %d: %s", i, ename(errno));
			return;
		}
	}
	emit("21 joined");
}
/* An accepted socket's IP_MULTICAST_TTL is its SYN's TTL (Linux's
 * tcp_v4_syn_recv_sock), as an int and as the one byte a short buffer
 * gets; a TCP socket refuses to set it (EINVAL), the listener too. */
CASE(accepted_multicast_ttl, 0)
{
	int l = tcp_listener(), c, v = 7;
	unsigned char b[2] = { 0xee, 0xee };
	socklen_t bl = 2;

	R(setsockopt(l, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof(v)));
	emit("listener=%d", geti(l, IPPROTO_IP, IP_MULTICAST_TTL));
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("accepted=%d", geti(c, IPPROTO_IP, IP_MULTICAST_TTL));
	R(getsockopt(c, IPPROTO_IP, IP_MULTICAST_TTL, b, &bl));
	emit("short: len=%u b=%02x %02x", (unsigned)bl, b[0], b[1]);
	v = 9;
	R(setsockopt(c, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof(v)));
	emit("set=%d", geti(c, IPPROTO_IP, IP_MULTICAST_TTL));
	close(l);
}

/* The TTL of the segment that completes the handshake is the accepted
 * socket's IP_MULTICAST_TTL (tcp_v4_syn_recv_sock: ip_hdr(skb)->ttl of the
 * skb tcp_check_req took): the handshake's ACK (64) for a plain listener,
 * the data after it under TCP_DEFER_ACCEPT, which drops the bare ACK (the
 * peer's hello, sent with IP TTL 33). */
static void accepted_ttl_of(int defer)
{
	int l = tcp_listener(), c;

	if (defer)
		seti(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer);
	peer("connect %d ttlhello", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("defer=%d accepted=%d", defer, geti(c, IPPROTO_IP, IP_MULTICAST_TTL));
	close(c);
	close(l);
}
CASE(accepted_multicast_ttl_completing, 0)
{
	accepted_ttl_of(0);
}
CASE(accepted_multicast_ttl_deferred, 0)
{
	accepted_ttl_of(5);
}

/* SO_BUF_LOCK set alone: the buffers keep the sizes they have (no
 * autotuning): a connection's SO_SNDBUF and SO_RCVBUF stay the fresh
 * socket's. */
CASE(buf_lock_set_then_connect, 0)
{
	int s = tcp_sock();

	seti(s, SOL_SOCKET, SO_BUF_LOCK, 3);
	emit("lock=%d snd=%d rcv=%d", geti(s, SOL_SOCKET, SO_BUF_LOCK), geti(s, SOL_SOCKET, SO_SNDBUF),
	     geti(s, SOL_SOCKET, SO_RCVBUF));
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	emit("lock=%d snd=%d rcv=%d", geti(s, SOL_SOCKET, SO_BUF_LOCK), geti(s, SOL_SOCKET, SO_SNDBUF),
	     geti(s, SOL_SOCKET, SO_RCVBUF));
	close(s);
}

/* The buffer sizes a listener was given, and their locks (SO_BUF_LOCK),
 * go to the sockets it accepts (sk_clone). */
CASE(accepted_buf_lock, 0)
{
	int l = tcp_listener(), c;

	seti(l, SOL_SOCKET, SO_SNDBUF, 20000);
	seti(l, SOL_SOCKET, SO_RCVBUF, 30000);
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("lock=%d snd=%d rcv=%d", geti(c, SOL_SOCKET, SO_BUF_LOCK), geti(c, SOL_SOCKET, SO_SNDBUF),
	     geti(c, SOL_SOCKET, SO_RCVBUF));
	close(l);
}

/* IP_TTL on the wire: the peer reports the TTL of the SYN (TCP) or of
 * each datagram (UDP, with its TOS); -1 gives the default back; a TTL
 * given with the datagram (IP_TTL cmsg) wins; a group's datagrams keep
 * IP_MULTICAST_TTL. */
static void ttl_tcp(int ttl)
{
	int s = tcp_sock();
	char b[32] = "";
	ssize_t n;

	if (ttl)
		R(setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)));
	need(connect_to(s, PEER, P_TTL) == 0, "connect");
	emit("getsockopt=%d", geti(s, IPPROTO_IP, IP_TTL));
	set_timeo(s, SO_RCVTIMEO, 3000);
	n = recv(s, b, sizeof(b) - 1, MSG_WAITALL);
	b[strcspn(b, "\n")] = 0;
	emit("peer: %s", n > 0 ? b : "nothing");
	close(s);
}

CASE(ip_ttl_tcp, 0)
{
	ttl_tcp(0);
	ttl_tcp(9);
	ttl_tcp(-1);
	ttl_tcp(255);
}

static void utt_report(int s, const char *what)
{
	char b[64] = "";
	ssize_t n = recv(s, b, sizeof(b) - 1, 0);

	emit("%s: %s", what, n > 0 ? b : "nothing");
}

CASE(ip_ttl_udp, 0)
{
	int s = udp_to(P_UTTL), v = 7, tos = 0x20;
	char cb[CMSG_SPACE(sizeof(int))];
	struct iovec io = { .iov_base = "x", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof(cb) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	set_timeo(s, SO_RCVTIMEO, 3000);
	R(send(s, "x", 1, 0));
	utt_report(s, "default");
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	R(setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)));
	R(send(s, "x", 1, 0));
	utt_report(s, "ttl 7 tos 0x20");
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_TTL;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	v = 5;
	memcpy(CMSG_DATA(h), &v, sizeof(v));
	R(sendmsg(s, &m, 0));
	utt_report(s, "cmsg 5");
	v = -1;
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	emit("getsockopt=%d", geti(s, IPPROTO_IP, IP_TTL));
	R(send(s, "x", 1, 0));
	utt_report(s, "back to -1");
	v = 0;
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	v = 256;
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &v, sizeof(v)));
	close(s);
}

/* Until n bytes are queued on the TCP socket fd (SIOCINQ: poll may not say
 * so, below SO_RCVLOWAT), looked at every 2 ms within WAIT_MS. */
static void inq_wait(int fd, int n)
{
	for (int i = 0; i < WAIT_MS / 2; i++) {
		struct timespec d = { 0, 2000000 };
		int q = 0;

		need(ioctl(fd, SIOCINQ, &q) == 0, "siocinq");
		if (q >= n)
			return;
		nanosleep(&d, NULL);
	}
	errno = ETIMEDOUT;
	need(false, "inq-wait");
}

/* SO_RCVLOWAT on TCP: poll says POLLIN from the mark on; a blocking read
 * waits for it (at most the length asked), its timeout ending the wait
 * with what is there; a non-blocking one takes what is there; 0 is 1,
 * a negative mark the largest. */
CASE(tcp_rcvlowat, 0)
{
	int s = tcp_to(P_ECHO), v;
	struct pollfd p = { .fd = s, .events = POLLIN };
	char b[64];

	seti(s, SOL_SOCKET, SO_RCVLOWAT, 10);
	emit("lowat=%d", geti(s, SOL_SOCKET, SO_RCVLOWAT));
	R(send(s, "abcde", 5, 0));
	inq_wait(s, 5);
	R(poll(&p, 1, 100));
	emit("revents=%#x", p.revents);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "fghij", 5, 0));
	inq_wait(s, 5);
	set_timeo(s, SO_RCVTIMEO, 200);
	R(recv(s, b, sizeof(b), 0));            /* 5, after the timeout */
	R(send(s, "klmno", 5, 0));
	inq_wait(s, 5);
	R(recv(s, b, 3, 0));                    /* 3 at once: less than the mark asked */
	R(send(s, "pqrstuvw", 8, 0));
	inq_wait(s, 10);
	R(poll(&p, 1, 100));
	emit("revents=%#x", p.revents);
	R(recv(s, b, sizeof(b), 0));
	seti(s, SOL_SOCKET, SO_RCVLOWAT, 0);
	emit("lowat=%d", geti(s, SOL_SOCKET, SO_RCVLOWAT));
	v = -1;
	R(setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)));
	emit("lowat=%d", geti(s, SOL_SOCKET, SO_RCVLOWAT));
	close(s);
}

/* A blocking read below the mark waits for the rest: another thread's
 * bytes (echoed) complete it, in one read. */
struct lowat_more { int s; pid_t tid; };

static void *lowat_more_main(void *p)
{
	struct lowat_more *m = p;

	await_asleep(m->tid);
	need(send(m->s, "fghij", 5, 0) == 5, "send");
	return NULL;
}

CASE(tcp_rcvlowat_blocking_waits, 0)
{
	struct lowat_more m = { .s = tcp_to(P_ECHO), .tid = (pid_t)syscall(SYS_gettid) };
	pthread_t t;
	char b[64];

	seti(m.s, SOL_SOCKET, SO_RCVLOWAT, 10);
	set_timeo(m.s, SO_RCVTIMEO, 3000);
	R(send(m.s, "abcde", 5, 0));
	inq_wait(m.s, 5);
	need(pthread_create(&t, NULL, lowat_more_main, &m) == 0, "thread");
	R(recv(m.s, b, sizeof(b), 0));
	pthread_join(t, NULL);
	close(m.s);
}

/* IP_MINTTL (RFC 5082) on a client: the peer's SYN-ACK (TTL 64) is
 * dropped, the connect waits; once the mark is taken away, the peer's next
 * SYN-ACK is taken. */
CASE(ip_minttl_tcp, 0)
{
	int s = tcp_sock(), v = 100;

	R(setsockopt(s, IPPROTO_IP, IP_MINTTL, &v, sizeof(v)));
	emit("minttl=%d", geti(s, IPPROTO_IP, IP_MINTTL));
	set_timeo(s, SO_SNDTIMEO, 300);
	R(connect_to(s, PEER, P_ECHO));
	v = 0;
	R(setsockopt(s, IPPROTO_IP, IP_MINTTL, &v, sizeof(v)));
	emit("revents=%#x", wait_ev(s, POLLOUT));
	emit("so_error=%d", geti(s, SOL_SOCKET, SO_ERROR));
	v = 256;
	R(setsockopt(s, IPPROTO_IP, IP_MINTTL, &v, sizeof(v)));
	close(s);
}

/* A mark lowered under a thread's poll makes it readable at once. */
CASE(tcp_rcvlowat_lowered, 0)
{
	int s = tcp_to(P_ECHO);
	struct pollfd p = { .fd = s, .events = POLLIN };

	seti(s, SOL_SOCKET, SO_RCVLOWAT, 100);
	R(send(s, "abc", 3, 0));
	inq_wait(s, 3);
	R(poll(&p, 1, 50));
	emit("revents=%#x", p.revents);
	seti(s, SOL_SOCKET, SO_RCVLOWAT, 3);
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	close(s);
}

CASE(setsockopt_multicast_ttl, 0)
{
	int s = udp_sock(), v = 4;

	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof(v)));
	emit("v=%d", geti(s, IPPROTO_IP, IP_MULTICAST_TTL));
}
CASE(getsockopt_tcp_info, 0)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	R(getsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_INFO, &ti, &l));
	emit("state=%u", ti.tcpi_state);
}
/* SO_PEERNAME: the peer's address of a connected socket, at most its
 * length (Linux's sk_getsockopt: EINVAL when asked for more), ENOTCONN
 * unconnected. */
static void emit_peername_opt(int s, socklen_t l)
{
	struct sockaddr_in a;
	unsigned char b[64];

	memset(b, 0xee, sizeof(b));
	if (R(getsockopt(s, SOL_SOCKET, SO_PEERNAME, b, &l)) == 0) {
		memcpy(&a, b, sizeof(a));
		emit("len=%u family=%d port=%d tail=%#x", (unsigned)l, a.sin_family,
		     l >= 4 ? ntohs(a.sin_port) : -1, b[l]);
	}
}
CASE(getsockopt_peername_tcp, 0)
{
	int s = tcp_to(P_ECHO);

	emit_peername_opt(s, 16);
	emit_peername_opt(s, 8);
	emit_peername_opt(s, 64);
	emit_peername_opt(tcp_sock(), 16);
	emit_peername_opt(tcp_listener(), 16);
}
CASE(getsockopt_peername_udp, 0)
{
	emit_peername_opt(udp_to(P_UECHO), 16);
	emit_peername_opt(udp_to(P_UECHO), 32);
	emit_peername_opt(udp_sock(), 16);
}
/* IP_MTU: the route's MTU once connected, ENOTCONN before. */
CASE(getsockopt_ip_mtu, 0)
{
	emit("tcp=%d", geti(tcp_to(P_ECHO), IPPROTO_IP, IP_MTU));
	emit("udp=%d", geti(udp_to(P_UECHO), IPPROTO_IP, IP_MTU));
	emit("fresh=%d", geti(tcp_sock(), IPPROTO_IP, IP_MTU));
	emit("listener=%d", geti(tcp_listener(), IPPROTO_IP, IP_MTU));
	emit("udp-unconnected=%d", geti(udp_sock(), IPPROTO_IP, IP_MTU));
}
/* IP_PROTOCOL on TCP and UDP: Linux answers inet_num, the local port once
 * bound, 0 before. */
static void emit_ip_protocol(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int v = geti(s, IPPROTO_IP, IP_PROTOCOL);

	if (getsockname(s, (struct sockaddr *)&a, &l) == 0 && v > 0 && v == ntohs(a.sin_port))
		emit("local-port");
	else
		emit("v=%d", v);
}
CASE(getsockopt_ip_protocol, 0)
{
	emit_ip_protocol(tcp_sock());
	emit_ip_protocol(tcp_to(P_ECHO));
	emit_ip_protocol(tcp_listener());
	emit_ip_protocol(udp_sock());
	emit_ip_protocol(udp_to(P_UECHO));
}
/* A listener keeps the socket's buffer sizes. */
CASE(getsockopt_listener_bufs, 0)
{
	int s = tcp_listener(), t = tcp_sock();

	emit("rcv=%d snd=%d", geti(s, SOL_SOCKET, SO_RCVBUF), geti(s, SOL_SOCKET, SO_SNDBUF));
	seti(t, SOL_SOCKET, SO_RCVBUF, 100000);
	seti(t, SOL_SOCKET, SO_SNDBUF, 50000);
	{
		struct sockaddr_in a = sin4(SELF, case_port() + 1);

		need(bind(t, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
		need(listen(t, 4) == 0, "listen");
	}
	emit("rcv=%d snd=%d", geti(t, SOL_SOCKET, SO_RCVBUF), geti(t, SOL_SOCKET, SO_SNDBUF));
}
/* Options a listener refuses (Linux: TCP_ZEROCOPY_RECEIVE ENOTCONN, the
 * repair options EPERM even for root). */
CASE(getsockopt_listener_refuses, 0)
{
	unsigned char b[128];
	socklen_t l;
	int s = tcp_listener();

	memset(b, 0, sizeof(b));
	l = 64;
	R(getsockopt(s, IPPROTO_TCP, 35 /* TCP_ZEROCOPY_RECEIVE */, b, &l));
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_TCP, 42 /* TCP_AO_REPAIR */, b, &l));
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, b, &l));
}
CASE(getsockopt_tcp_info_listen, 0)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	R(getsockopt(tcp_listener(), IPPROTO_TCP, TCP_INFO, &ti, &l));
	emit("state=%u", ti.tcpi_state);
}
/*
 * TCP_INFO's fields that do not depend on timing or the congestion control,
 * read at their offsets in Linux's struct tcp_info (glibc's copy is older):
 * the length (280 on 6.18), the MSS pair and advmss (less the timestamp
 * option), ato (none before data), the counts of sequence space (the SYN
 * and FIN in bytes_acked, the FIN in bytes_received), of data segments and
 * bytes, of segments delivered, reordering and duplicates (none here), and
 * the window scales (the receive one from the namespace's tcp_rmem). Then a
 * listener's: its accept queue and backlog, little else.
 */
static uint64_t ti_at(const unsigned char *b, size_t off, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, b + off, n);
	return v;
}
static void emit_tcp_info(const char *when, int s)
{
	unsigned char b[512];
	socklen_t l = sizeof(b);

	memset(b, 0, sizeof(b));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l)) < 0)
		return;
	emit("%s len=%u state=%u ca=%u opts=%#x rto0=%d ato=%u mss=%u/%u unacked=%u sacked=%u retrans=%u "
	     "ack_sent=%u pmtu=%u ssthresh=%u advmss=%u reord=%u maxpace=%#llx acked=%llu rcvd=%llu "
	     "notsent=%u dsegs=%u/%u sent=%llu retr=%llu wscale=%#x delivered=%u reord=%u/%u ooo=%u",
	     when, (unsigned)l, b[0], b[1], b[5],
	     ti_at(b, 8, 4) == 0, (unsigned)ti_at(b, 12, 4), (unsigned)ti_at(b, 16, 4),
	     (unsigned)ti_at(b, 20, 4), (unsigned)ti_at(b, 24, 4), (unsigned)ti_at(b, 28, 4),
	     (unsigned)ti_at(b, 36, 4), (unsigned)ti_at(b, 48, 4), (unsigned)ti_at(b, 60, 4),
	     (unsigned)ti_at(b, 76, 4), (unsigned)ti_at(b, 84, 4), (unsigned)ti_at(b, 88, 4),
	     (unsigned long long)ti_at(b, 112, 8), (unsigned long long)ti_at(b, 120, 8),
	     (unsigned long long)ti_at(b, 128, 8), (unsigned)ti_at(b, 144, 4), (unsigned)ti_at(b, 152, 4),
	     (unsigned)ti_at(b, 156, 4), (unsigned long long)ti_at(b, 200, 8),
	     (unsigned long long)ti_at(b, 208, 8), b[6], (unsigned)ti_at(b, 192, 4), (unsigned)ti_at(b, 220, 4),
	     (unsigned)ti_at(b, 216, 4), (unsigned)ti_at(b, 224, 4));
}
CASE(getsockopt_tcp_info_fields, 0)
{
	int s = tcp_to(P_ECHO);
	char r[8];

	emit_tcp_info("connected", s);
	need(send(s, "hello", 5, 0) == 5, "send");
	need(recv(s, r, 5, MSG_WAITALL) == 5, "recv");
	emit_tcp_info("echoed", s);
	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	need(recv(s, r, sizeof(r), 0) == 0, "eof");
	emit_tcp_info("closed", s);
}
CASE(getsockopt_tcp_info_listen_queue, 0)
{
	int l = tcp_listener();

	emit_tcp_info("empty", l);
	peer("connect %d hold", case_port());
	need(wait_ev(l, POLLIN) & POLLIN, "queued");
	emit_tcp_info("queued", l);
}
/*
 * The fields after tcpi_snd_wnd, at their offsets (Linux 6.18's struct
 * tcp_info, 280 bytes): the window offered, the timeouts that rethought
 * the path (tcpi_rehash, Linux's timeout_rehash), the retransmission
 * timeouts and their runs (not their time, which the moment of the look
 * decides), the AccECN counters, fail mode and option seen (none without
 * AccECN).
 */
static void emit_tcp_info_tail(const char *when, int s)
{
	unsigned char b[512];
	socklen_t l = sizeof(b);

	memset(b, 0, sizeof(b));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l)) < 0)
		return;
	emit("%s len=%u retransmits=%u rcv_wnd=%u rehash=%u rto=%u/%u ce=%u dlv=%u/%u/%u "
	     "rcv=%u/%u/%u fail=%u opt=%u",
	     when, (unsigned)l, b[2], (unsigned)ti_at(b, 232, 4), (unsigned)ti_at(b, 236, 4),
	     (unsigned)ti_at(b, 240, 2), (unsigned)ti_at(b, 242, 2), (unsigned)ti_at(b, 248, 4), (unsigned)ti_at(b, 252, 4), (unsigned)ti_at(b, 256, 4),
	     (unsigned)ti_at(b, 260, 4), (unsigned)ti_at(b, 264, 4), (unsigned)ti_at(b, 268, 4),
	     (unsigned)ti_at(b, 272, 4), (unsigned)ti_at(b, 276, 2), (unsigned)ti_at(b, 278, 2));
}
/* Until the connection counts N retransmission timeouts (tcpi_total_rto), at most ms. */
static void wait_total_rto(int s, unsigned n, long ms)
{
	struct timespec t0;
	unsigned char b[512];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		socklen_t l = sizeof(b);

		memset(b, 0, sizeof(b));
		if (getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l) < 0 || ti_at(b, 240, 2) >= n || ms_since(&t0) >= ms)
			return;
		poll(NULL, 0, 1);
	}
}
#ifndef SO_TXREHASH
#define SO_TXREHASH 74
#endif
/* TCP_INFO's ECN counters on an echoed connection: the options (ECN
 * negotiated or not), the CE-marked segments and the payload bytes
 * received per codepoint, and the AccECN ones (none without AccECN). With
 * the namespace's net.ipv4.tcp_ecn=1 (tests/e2e/80-diff.bats) the program
 * asks for ECN and the peer's data comes ECT(0): Linux 6.18 counts its
 * bytes in tcpi_received_e0_bytes in RFC 3168's mode too. */
CASE(ecn_tcp_info_received, 0)
{
	int s = tcp_to(P_ECHO);
	static char big[3000], back[3000];
	unsigned char b[512];
	socklen_t l = sizeof(b);

	need(send(s, "hello", 5, 0) == 5, "send");
	need(recv(s, back, 5, MSG_WAITALL) == 5, "recv");
	memset(big, 'x', sizeof(big));
	need(send(s, big, sizeof(big), 0) == (ssize_t)sizeof(big), "send");
	need(recv(s, back, sizeof(back), MSG_WAITALL) == (ssize_t)sizeof(back), "recv");
	memset(b, 0, sizeof(b));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l)) == 0)
		emit("opts=%#x ce=%u rcv=%u/%u/%u dlv=%u/%u/%u fail=%u opt=%u", b[5], (unsigned)ti_at(b, 248, 4),
		     (unsigned)ti_at(b, 264, 4), (unsigned)ti_at(b, 268, 4), (unsigned)ti_at(b, 272, 4),
		     (unsigned)ti_at(b, 252, 4), (unsigned)ti_at(b, 256, 4), (unsigned)ti_at(b, 260, 4),
		     (unsigned)ti_at(b, 276, 2), (unsigned)ti_at(b, 278, 2));
}
/* What a disconnect leaves in TCP_INFO (Linux's tcp_disconnect, after a
 * connect() that failed, and connect(AF_UNSPEC)): the retransmission
 * timeouts of the attempt (tcpi_retransmits, until the next connect) and
 * the path's rehashes (tcpi_rehash, for good). */
static void emit_tcp_info_counts(const char *when, int s)
{
	unsigned char b[512];
	socklen_t l = sizeof(b);

	memset(b, 0, sizeof(b));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l)) == 0)
		emit("%s state=%u retransmits=%u rehash=%u", when, b[0], b[2], (unsigned)ti_at(b, 236, 4));
}
CASE(getsockopt_tcp_info_disconnected, 8000)
{
	int s = tcp_sock();
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };

	seti(s, IPPROTO_TCP, TCP_SYNCNT, 1);
	conn(s, PEER, P_DROP);
	emit_tcp_info_counts("failed", s);
	conn(s, PEER, P_ECHO);
	emit_tcp_info_counts("again", s);
	R(connect(s, (struct sockaddr *)&u, sizeof(u)));
	emit_tcp_info_counts("unspec", s);
}
/*
 * A SYN's first timeouts keep its RTO (net.ipv4.tcp_syn_linear_timeouts, 4
 * by default since Linux 6.5): the fifth comes 5 s after the first SYN,
 * the RTO doubled only then (tcpi_backoff 1, tcpi_rto 2 s). With TCP_SYNCNT
 * 2, connect() fails once two backed-off retransmissions would have taken
 * their time (1 + 2 + 4 s), the SYN resent five times meanwhile.
 */
CASE(connect_syn_linear_timeouts, 12000)
{
	int a = tcp_sock(), b = tcp_sock();
	struct pollfd p = { .fd = b, .events = POLLOUT };
	unsigned char ti[512];
	socklen_t l = sizeof(ti);
	struct timespec t0;

	fcntl(a, F_SETFL, O_NONBLOCK);
	fcntl(b, F_SETFL, O_NONBLOCK);
	seti(b, IPPROTO_TCP, TCP_SYNCNT, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	conn(a, PEER, P_DROP);
	conn(b, PEER, P_DROP);
	wait_total_rto(a, 5, 8000);
	memset(ti, 0, sizeof(ti));
	R(getsockopt(a, IPPROTO_TCP, TCP_INFO, ti, &l));
	emit("after=%lds retransmits=%u backoff=%u rto=%u total_rto=%u", (ms_since(&t0) + 500) / 1000, ti[2], ti[4],
	     (unsigned)ti_at(ti, 8, 4), (unsigned)ti_at(ti, 240, 2));
	while (poll(&p, 1, 100) == 0 && ms_since(&t0) < 10000)
		;
	emit("syncnt 2: after=%lds so_error=%s", (ms_since(&t0) + 500) / 1000, ename(geti(b, SOL_SOCKET, SO_ERROR)));
}
/* tcpi_rehash: a SYN's timeout rethinks the path (tcp_write_timeout,
 * sk_rethink_txhash) unless SO_TXREHASH is 0; an accepted socket has its
 * listener's SO_TXREHASH (sk_clone). The tail of an echoed connection's. */
CASE(getsockopt_tcp_info_rehash, 0)
{
	int a = tcp_sock(), b = tcp_sock(), l = tcp_listener(), c, e = tcp_to(P_ECHO), zero = 0;
	char r[8];

	need(send(e, "hello", 5, 0) == 5, "send");
	need(recv(e, r, 5, MSG_WAITALL) == 5, "recv");
	emit_tcp_info_tail("echoed", e);
	R(setsockopt(b, SOL_SOCKET, SO_TXREHASH, &zero, sizeof(zero)));
	fcntl(a, F_SETFL, O_NONBLOCK);
	fcntl(b, F_SETFL, O_NONBLOCK);
	conn(a, PEER, P_DROP);
	conn(b, PEER, P_DROP);
	wait_total_rto(a, 1, WAIT_MS);
	wait_total_rto(b, 1, WAIT_MS);
	emit_tcp_info_tail("syn", a);
	emit_tcp_info_tail("syn-no-rehash", b);
	R(setsockopt(l, SOL_SOCKET, SO_TXREHASH, &zero, sizeof(zero)));
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("accepted txrehash=%d", geti(c, SOL_SOCKET, SO_TXREHASH));
	close(l);
}
/* Whether name is one of the kernel's congestion controls
 * (/proc/sys/net/ipv4/tcp_available_congestion_control). */
static bool cc_available(const char *name)
{
	char b[512], *save = NULL;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(b, sizeof(b), f)) {
		for (char *w = strtok_r(b, " \t\n", &save); w && !ok; w = strtok_r(NULL, " \t\n", &save))
			ok = strcmp(w, name) == 0;
	}
	fclose(f);
	return ok;
}
/* A new socket's algorithm is the namespace's default, which a new namespace
 * takes from the host's (net.ipv4.tcp_congestion_control: bbr on one
 * machine, cubic on another; pstack runs CUBIC): what is compared is that
 * the answer names an algorithm the kernel has. */
CASE(getsockopt_congestion, 0)
{
	char b[16] = "";
	socklen_t l = sizeof(b);

	R(getsockopt(tcp_sock(), IPPROTO_TCP, TCP_CONGESTION, b, &l));
	emit("len=%u available=%d", (unsigned)l, cc_available(b));
}
CASE(setsockopt_congestion_unknown, 0) { R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_CONGESTION, "nosuch", 6)); }
CASE(setsockopt_oobinline, 0)
{
	int s = tcp_sock(), one = 1;

	R(setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)));
	emit("v=%d", geti(s, SOL_SOCKET, SO_OOBINLINE));
}
CASE(setsockopt_user_timeout_negative, 0)
{
	int v = -1;

	R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)));
}
CASE(getsockopt_error_refused, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	connect_to(s, PEER, P_CLOSED);
	wait_ev(s, POLLOUT);
	emit_so_error(s);
}
CASE(setsockopt_bad_fd, 0) { int one = 1; R(setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))); }

/* ===================================================================== */
/* poll, ppoll */

static void poll1(int s, short ev, int ms)
{
	struct pollfd p = { .fd = s, .events = ev };

	R(poll(&p, 1, ms));
	emit("revents=%#x", p.revents);
}

CASE(poll_connected_idle, 0) { poll1(tcp_to(P_ECHO), POLLIN | POLLOUT, 0); }
CASE(poll_unconnected, 0) { poll1(tcp_sock(), POLLIN | POLLOUT, 0); }
CASE(poll_listener_idle, 0) { poll1(tcp_listener(), POLLIN | POLLOUT, 0); }
CASE(poll_listener_pending, 0)
{
	int l = tcp_listener();

	peer("connect %d hold", case_port());
	poll1(l, POLLIN, WAIT_MS);
}
CASE(poll_data, 0) { poll1(tcp_hello(), POLLIN | POLLOUT, 0); }
CASE(poll_fin, 0)
{
	int s = tcp_to(P_FIN);

	wait_in(s);
	poll1(s, POLLIN | POLLOUT | POLLRDHUP, 0);
}
CASE(poll_rst, 0)
{
	int s = tcp_reset();

	poll1(s, POLLIN | POLLOUT | POLLRDHUP, 0);
}
CASE(poll_shut_wr, 0) { int s = tcp_to(P_STALL); shutdown(s, SHUT_WR); poll1(s, POLLIN | POLLOUT | POLLRDHUP, 0); }
CASE(poll_full, 0) { int s = tcp_to(P_STALL); fill(s); poll1(s, POLLIN | POLLOUT, 0); }
CASE(poll_closed_fd, 0) { int s = tcp_sock(); close(s); poll1(s, POLLIN, 0); }
CASE(poll_negative_fd, 0) { poll1(-1, POLLIN, 0); }
CASE(poll_udp_idle, 0) { poll1(udp_sock(), POLLIN | POLLOUT, 0); }
CASE(poll_udp_refused, 0)
{
	int s = udp_to(P_UCLOSED);

	need(send(s, "x", 1, 0) == 1, "send");
	wait_err(s);
	poll1(s, POLLIN | POLLOUT, 0);
}
CASE(poll_oob, 0)
{
	int s = tcp_to(P_OOB);

	wait_bytes(s, 2);
	wait_ev(s, POLLPRI);
	poll1(s, POLLIN | POLLPRI, 0);
}
CASE(poll_nfds_over_limit, 0)
{
	struct pollfd p = { .fd = -1 };
	volatile nfds_t n = 1u << 30;

	R(poll(&p, n, 0));
}
CASE(poll_bad_ptr, 0) { tcp_to(P_ECHO); R(poll(BAD, 1, 0)); }
/* poll: nfds larger than the array, the array at the end of mapped memory. */
CASE(poll_nfds_beyond_array, 0)
{
	struct pollfd *p = guarded(sizeof(*p));

	*p = (struct pollfd){ .fd = tcp_to(P_ECHO), .events = POLLIN };
	R(poll(p, 2, 0));
}
CASE(poll_null_zero, 0) { R(poll(NULL, 0, 0)); }
CASE(poll_timeout, 0) { poll1(tcp_to(P_SINK), POLLIN, 50); }
CASE(poll_eintr, 0)
{
	int s = tcp_to(P_SINK);

	interrupt(SIGUSR1, THEN_NONE, -1);
	poll1(s, POLLIN, -1);
	end_interrupt();
}
CASE(poll_eintr_restart, 0)
{
	int s = tcp_to(P_SINK);

	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_NONE, -1);
	poll1(s, POLLIN, -1);
	end_interrupt();
}
CASE(poll_mixed_pipe, 0)
{
	int p[2], s = tcp_to(P_SINK);

	need(pipe(p) == 0, "pipe");
	need(write(p[1], "x", 1) == 1, "write");
	struct pollfd f[2] = { { .fd = s, .events = POLLIN }, { .fd = p[0], .events = POLLIN } };

	R(poll(f, 2, WAIT_MS));
	emit("revents=%#x,%#x", f[0].revents, f[1].revents);
}
CASE(poll_chk_ok, 0)
{
	struct pollfd p = { .fd = tcp_hello(), .events = POLLIN };

	R(__poll_chk(&p, 1, 0, sizeof(p)));
	emit("revents=%#x", p.revents);
}
CASE(poll_chk_overflow, 0)
{
	struct pollfd p = { .fd = tcp_hello(), .events = POLLIN };

	R(__poll_chk(&p, 2, 0, sizeof(p)));
}
CASE(ppoll_chk_ok, 0)
{
	struct pollfd p = { .fd = tcp_hello(), .events = POLLIN };
	struct timespec ts = { 0, 0 };

	R(__ppoll_chk(&p, 1, &ts, NULL, sizeof(p)));
	emit("revents=%#x", p.revents);
}
CASE(ppoll_pending_mask, 0)
{
	int s = tcp_to(P_SINK);
	struct pollfd p = { .fd = s, .events = POLLIN };
	sigset_t none;

	sigemptyset(&none);
	pend(SIGUSR1);
	R(ppoll(&p, 1, NULL, &none));
}
CASE(ppoll_bad_timeout, 0)
{
	struct pollfd p = { .fd = tcp_to(P_SINK), .events = POLLIN };
	struct timespec ts = { 0, 2000000000L };

	R(ppoll(&p, 1, &ts, NULL));
}
CASE(ppoll_timeout, 0)
{
	struct pollfd p = { .fd = tcp_to(P_SINK), .events = POLLIN };
	struct timespec ts = { 0, 50000000 };

	R(ppoll(&p, 1, &ts, NULL));
}

/* ===================================================================== */
/* select, pselect */

CASE(select_readable, 0)
{
	int s = tcp_hello();
	fd_set r;
	struct timeval tv = { 1, 0 };

	FD_ZERO(&r);
	FD_SET(s, &r);
	R(select(s + 1, &r, NULL, NULL, &tv));
	emit("isset=%d", FD_ISSET(s, &r) != 0);
}
CASE(select_writable_idle, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r, w;
	struct timeval tv = { 0, 0 };

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(s, &r);
	FD_SET(s, &w);
	R(select(s + 1, &r, &w, NULL, &tv));
	emit("r=%d w=%d", FD_ISSET(s, &r) != 0, FD_ISSET(s, &w) != 0);
}
CASE(select_timeout_left, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;
	struct timeval tv = { 0, 50000 };

	FD_ZERO(&r);
	FD_SET(s, &r);
	R(select(s + 1, &r, NULL, NULL, &tv));
	emit("tv=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
}
CASE(select_negative_nfds, 0) { struct timeval tv = { 0, 0 }; R(select(-1, NULL, NULL, NULL, &tv)); }
CASE(select_closed_fd, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;
	struct timeval tv = { 0, 0 };

	close(s);
	FD_ZERO(&r);
	FD_SET(s, &r);
	R(select(s + 1, &r, NULL, NULL, &tv));
}
CASE(select_negative_tv, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;
	struct timeval tv = { -1, 0 };

	FD_ZERO(&r);
	FD_SET(s, &r);
	R(select(s + 1, &r, NULL, NULL, &tv));
}
CASE(select_bad_set, 0)
{
	int s = tcp_to(P_SINK);
	struct timeval tv = { 0, 0 };

	R(select(s + 1, BAD, NULL, NULL, &tv));
}
CASE(select_eintr, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;

	FD_ZERO(&r);
	FD_SET(s, &r);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(select(s + 1, &r, NULL, NULL, NULL));
	end_interrupt();
}
CASE(select_oob_except, 0)
{
	int s = tcp_to(P_OOB);
	fd_set e;
	struct timeval tv = { 1, 0 };

	wait_bytes(s, 2);
	FD_ZERO(&e);
	FD_SET(s, &e);
	R(select(s + 1, NULL, NULL, &e, &tv));
	emit("isset=%d", FD_ISSET(s, &e) != 0);
}
CASE(select_rst, 0)
{
	int s = tcp_reset();
	fd_set r, w, e;
	struct timeval tv = { 0, 0 };

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&e);
	FD_SET(s, &r);
	FD_SET(s, &w);
	FD_SET(s, &e);
	R(select(s + 1, &r, &w, &e, &tv));
	emit("r=%d w=%d e=%d", FD_ISSET(s, &r) != 0, FD_ISSET(s, &w) != 0, FD_ISSET(s, &e) != 0);
}
CASE(fdelt_chk_ok, 0) { R(__fdelt_chk(tcp_hello())); }
CASE(fdelt_chk_overflow, 0) { tcp_hello(); R(__fdelt_chk(FD_SETSIZE)); }
CASE(pselect_pending_mask, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;
	sigset_t none;

	sigemptyset(&none);
	FD_ZERO(&r);
	FD_SET(s, &r);
	pend(SIGUSR1);
	R(pselect(s + 1, &r, NULL, NULL, NULL, &none));
}
CASE(pselect_bad_timeout, 0)
{
	int s = tcp_to(P_SINK);
	fd_set r;
	struct timespec ts = { 0, -1 };

	FD_ZERO(&r);
	FD_SET(s, &r);
	R(pselect(s + 1, &r, NULL, NULL, &ts, NULL));
}

/* ===================================================================== */
/* epoll */

static int ep_add(int ep, int s, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.u64 = 0x1234 };

	return epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
}

static void ep_wait(int ep, int ms)
{
	struct epoll_event e[4];
	int n = (int)R(epoll_wait(ep, e, 4, ms));

	for (int i = 0; i < n; i++)
		emit("ev=%#x data=%#llx", e[i].events, (unsigned long long)e[i].data.u64);
}

CASE(epoll_create_zero, 0) { R(epoll_create(0)); }
CASE(epoll_create1_bad_flags, 0) { R(epoll_create1(0x1)); }
CASE(epoll_data, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();

	R(ep_add(ep, s, EPOLLIN));
	ep_wait(ep, WAIT_MS);
}
CASE(epoll_data_arrives, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_ECHO);

	R(ep_add(ep, s, EPOLLIN));
	ep_wait(ep, 0);
	need(send(s, "x", 1, 0) == 1, "send");
	ep_wait(ep, WAIT_MS);
}
/* A thread already in epoll_wait on an epoll of kernel fds alone (or
 * none) when another thread adds a stack socket that is ready: Linux's
 * ep_insert wakes it with the socket's event (Java's
 * AsynchronousSocketChannel: its poller thread waits on the epoll before
 * the first channel is registered). */
struct ep_adder {
	pthread_t th;
	pid_t tid;
	int ep, s;
};
static void *ep_adder_main(void *p)
{
	struct ep_adder *a = p;

	await_asleep(a->tid);
	need(ep_add(a->ep, a->s, EPOLLOUT) == 0, "epoll_ctl");
	return NULL;
}
static void epoll_wait_then_add(bool with_pipe)
{
	struct ep_adder a = { .tid = gettid() };
	struct epoll_event ev = { 0 };
	int fds[2];

	a.ep = epoll_create1(0);
	a.s = tcp_to(P_ECHO);
	if (with_pipe) {
		need(pipe(fds) == 0, "pipe");
		need(ep_add(a.ep, fds[0], EPOLLIN) == 0, "epoll_ctl");
	}
	need(pthread_create(&a.th, NULL, ep_adder_main, &a) == 0, "pthread_create");
	R(epoll_wait(a.ep, &ev, 1, 2000));
	emit("ev=%#x data=%#llx", ev.events, (unsigned long long)ev.data.u64);
	pthread_join(a.th, NULL);
	/* The next wait reports it too (level-triggered), and nothing else. */
	ep_wait(a.ep, 0);
}
CASE(epoll_wait_then_add_from_thread, 0) { epoll_wait_then_add(false); }
CASE(epoll_wait_kernel_fds_then_add_from_thread, 0) { epoll_wait_then_add(true); }
CASE(epoll_add_twice, 0) { int ep = epoll_create1(0), s = tcp_sock(); R(ep_add(ep, s, EPOLLIN)); R(ep_add(ep, s, EPOLLIN)); }
CASE(epoll_mod_absent, 0)
{
	struct epoll_event e = { .events = EPOLLIN };

	R(epoll_ctl(epoll_create1(0), EPOLL_CTL_MOD, tcp_sock(), &e));
}
CASE(epoll_del_absent, 0) { R(epoll_ctl(epoll_create1(0), EPOLL_CTL_DEL, tcp_sock(), NULL)); }
CASE(epoll_add_null_event, 0) { R(epoll_ctl(epoll_create1(0), EPOLL_CTL_ADD, tcp_sock(), NULL)); }
CASE(epoll_add_bad_event, 0) { R(epoll_ctl(epoll_create1(0), EPOLL_CTL_ADD, tcp_sock(), BAD)); }
CASE(epoll_bad_op, 0)
{
	struct epoll_event e = { .events = EPOLLIN };

	R(epoll_ctl(epoll_create1(0), 99, tcp_sock(), &e));
}
/* An unknown op on a bad epoll descriptor: do_epoll_ctl looks up the
 * descriptors first (EBADF), the op last (its switch's default, EINVAL). */
CASE(epoll_bad_op_bad_epfd, 0)
{
	struct epoll_event e = { .events = EPOLLIN };
	int s = tcp_sock();

	R(epoll_ctl(-1, 99, s, &e));
	R(epoll_ctl(1000, 4, s, &e));
	R(epoll_ctl(s, 4, s, &e));
	R(epoll_ctl(-1, 99, s, NULL));
}
CASE(epoll_add_self, 0) { int ep = epoll_create1(0); R(ep_add(ep, ep, EPOLLIN)); }
CASE(epoll_bad_epfd, 0) { R(ep_add(-1, tcp_sock(), EPOLLIN)); }
CASE(epoll_epfd_not_epoll, 0) { R(ep_add(tcp_sock(), tcp_sock(), EPOLLIN)); }
CASE(epoll_wait_maxevents_zero, 0)
{
	struct epoll_event e;
	int ep = epoll_create1(0);

	ep_add(ep, tcp_sock(), EPOLLIN);
	R(epoll_wait(ep, &e, 0, 0));
}
/* The events array where the program has no memory. */
CASE(epoll_wait_bad_events, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();

	R(ep_add(ep, s, EPOLLIN));
	R(epoll_wait(ep, BAD, 4, 0));
}
CASE(epoll_wait_events_beyond, 0)
{
	int ep = epoll_create1(0), a = tcp_hello(), b = tcp_hello();
	struct epoll_event *e = guarded(sizeof(*e));

	ep_add(ep, a, EPOLLIN);
	ep_add(ep, b, EPOLLIN);
	R(epoll_wait(ep, e, 2, 0));
}
CASE(epoll_wait_timeout, 0)
{
	int ep = epoll_create1(0);

	ep_add(ep, tcp_to(P_SINK), EPOLLIN);
	ep_wait(ep, 50);
}
CASE(epoll_edge_triggered, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();

	R(ep_add(ep, s, EPOLLIN | EPOLLET));
	ep_wait(ep, WAIT_MS);
	ep_wait(ep, 0);
}
CASE(epoll_oneshot, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 7 };

	R(ep_add(ep, s, EPOLLIN | EPOLLONESHOT));
	ep_wait(ep, WAIT_MS);
	ep_wait(ep, 0);
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	ep_wait(ep, 0);
}
CASE(epoll_rdhup, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_FIN);

	wait_in(s);
	R(ep_add(ep, s, EPOLLIN | EPOLLRDHUP));
	ep_wait(ep, 0);
}
CASE(epoll_rst, 0)
{
	int ep = epoll_create1(0), s = tcp_reset();

	R(ep_add(ep, s, EPOLLIN | EPOLLOUT));
	ep_wait(ep, 0);
}
CASE(epoll_out_connected, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_SINK);

	R(ep_add(ep, s, EPOLLOUT));
	ep_wait(ep, 0);
}
CASE(epoll_listener, 0)
{
	int ep = epoll_create1(0), l = tcp_listener();

	R(ep_add(ep, l, EPOLLIN));
	ep_wait(ep, 0);
	peer("connect %d hold", case_port());
	ep_wait(ep, WAIT_MS);
}
CASE(epoll_close_removes, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();

	R(ep_add(ep, s, EPOLLIN));
	close(s);
	ep_wait(ep, 0);
}
CASE(epoll_dup_close_keeps, 0)
{
	int ep = epoll_create1(0), s = tcp_hello(), d;

	R(ep_add(ep, s, EPOLLIN));
	d = dup(s);
	close(s);
	ep_wait(ep, 0);
	emit("dup=%d", d >= 0);
}
CASE(epoll_del_then_wait, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();

	R(ep_add(ep, s, EPOLLIN));
	R(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	ep_wait(ep, 0);
}
CASE(epoll_udp, 0)
{
	int ep = epoll_create1(0), s = udp_echoed("x");

	R(ep_add(ep, s, EPOLLIN));
	ep_wait(ep, 0);
}
CASE(epoll_exclusive_mod, 0)
{
	int ep = epoll_create1(0), s = tcp_sock();
	struct epoll_event e = { .events = EPOLLIN | EPOLLEXCLUSIVE };

	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
}
CASE(epoll_eintr, 0)
{
	int ep = epoll_create1(0);
	struct epoll_event e;

	ep_add(ep, tcp_to(P_SINK), EPOLLIN);
	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(epoll_wait(ep, &e, 1, -1));
	end_interrupt();
}
CASE(epoll_pwait_pending_mask, 0)
{
	int ep = epoll_create1(0);
	struct epoll_event e;
	sigset_t none;

	ep_add(ep, tcp_to(P_SINK), EPOLLIN);
	sigemptyset(&none);
	pend(SIGUSR1);
	R(epoll_pwait(ep, &e, 1, -1, &none));
}

/* ===================================================================== */
/* sendfile */

static int tmpfile_of(size_t n)
{
	char path[] = "/tmp/sockdiff-XXXXXX", b[4096];
	int f = mkstemp(path);

	need(f >= 0, "mkstemp");
	unlink(path);
	memset(b, 'z', sizeof(b));
	while (n > 0) {
		size_t k = n < sizeof(b) ? n : sizeof(b);

		need(write(f, b, k) == (ssize_t)k, "write");
		n -= k;
	}
	lseek(f, 0, SEEK_SET);
	return f;
}

CASE(sendfile_tcp, 0)
{
	int s = tcp_to(P_ECHO), f = tmpfile_of(10000);
	char b[16384];
	size_t got = 0;

	R(sendfile(s, f, NULL, 10000));
	shutdown(s, SHUT_WR);
	for (;;) {
		ssize_t n = recv(s, b, sizeof(b), 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	emit("got=%zu", got);
}
CASE(sendfile64_tcp, 0) { R(sendfile64(tcp_to(P_ECHO), tmpfile_of(1000), NULL, 1000)); }
CASE(sendfile_offset, 0)
{
	int s = tcp_to(P_ECHO), f = tmpfile_of(1000);
	off_t off = 100;

	R(sendfile(s, f, &off, 500));
	emit("off=%ld pos=%ld", (long)off, (long)lseek(f, 0, SEEK_CUR));
}
CASE(sendfile_bad_in, 0) { R(sendfile(tcp_to(P_ECHO), -1, NULL, 10)); }
CASE(sendfile_bad_offset_ptr, 0) { R(sendfile(tcp_to(P_ECHO), tmpfile_of(100), BAD, 10)); }
CASE(sendfile_count_zero, 0) { R(sendfile(tcp_to(P_ECHO), tmpfile_of(100), NULL, 0)); }
CASE(sendfile_udp, 0) { R(sendfile(udp_to(P_UECHO), tmpfile_of(100), NULL, 100)); }
CASE(sendfile_unconnected, 0) { R(sendfile(tcp_sock(), tmpfile_of(100), NULL, 100)); }
CASE(sendfile_after_shut_wr, 0)
{
	int s = tcp_to(P_ECHO);

	shutdown(s, SHUT_WR);
	R(sendfile(s, tmpfile_of(100), NULL, 100));
}
CASE(sendfile_from_socket, 0) { R(sendfile(tmpfile_of(0), tcp_hello(), NULL, 10)); }

/* A file large enough for pstack to send from a mapping of it
 * (shim/sendfile.c): the same answers as a small one's. */
enum { SF_BIG = 300000 };
/* A temporary file of n bytes opened again with flags (O_WRONLY, O_PATH...). */
static int file_opened(size_t n, int flags)
{
	char p[64];
	int f = tmpfile_of(n), g;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", f);
	g = open(p, flags);
	need(g >= 0, "open");
	close(f);
	return g;
}
static int bigfile_opened(int flags) { return file_opened(SF_BIG, flags); }
CASE(sendfile_big_offset, 0)
{
	int f = tmpfile_of(SF_BIG);
	off_t off = 1000;

	R(sendfile(tcp_to(P_SINK), f, &off, 250000));
	emit("off=%ld pos=%ld", (long)off, (long)lseek(f, 0, SEEK_CUR));
}
CASE(sendfile_big_position, 0)
{
	int s = tcp_to(P_SINK), f = tmpfile_of(SF_BIG);

	lseek(f, 5000, SEEK_SET);
	R(sendfile(s, f, NULL, 200000));
	emit("pos=%ld", (long)lseek(f, 0, SEEK_CUR));
	R(sendfile(s, f, NULL, 200000));
	emit("pos=%ld", (long)lseek(f, 0, SEEK_CUR));
	R(sendfile(s, f, NULL, 200000));
}
CASE(sendfile_big_past_end, 0)
{
	int s = tcp_to(P_SINK), f = tmpfile_of(SF_BIG);
	off_t off = SF_BIG - 1000;

	R(sendfile(s, f, &off, 100000));
	emit("off=%ld", (long)off);
	R(sendfile(s, f, &off, 100000));
	off = SF_BIG + 5;
	R(sendfile(s, f, &off, 100000));
	emit("off=%ld", (long)off);
	off = -1;
	R(sendfile(s, f, &off, 100000));
}
/* Small sends with an offset (pstack reads them without a look at the
 * file first: nginx's small page), from what sendfile cannot send. */
static int smallfile_opened(int flags) { return file_opened(1000, flags); }
CASE(sendfile_small_modes, 0)
{
	int s = tcp_to(P_SINK);
	off_t off = 0;

	R(sendfile(s, smallfile_opened(O_WRONLY), &off, 500));
	R(sendfile(s, smallfile_opened(O_PATH), &off, 500));
	R(sendfile(s, smallfile_opened(O_RDWR), &off, 500));
	emit("off=%ld", (long)off);
	off = -1;
	R(sendfile(s, smallfile_opened(O_RDONLY), &off, 500));
	off = 5000;
	R(sendfile(s, smallfile_opened(O_RDONLY), &off, 500));
	emit("off=%ld", (long)off);
}
CASE(sendfile_small_dir, 0)
{
	int s = tcp_to(P_SINK), d = open("/tmp", O_RDONLY | O_DIRECTORY);
	off_t off = 0;

	need(d >= 0, "open /tmp");
	R(sendfile(s, d, &off, 100));
	R(sendfile(s, d, NULL, 100));
}
CASE(sendfile_small_pipe_offset, 0)
{
	int s = tcp_to(P_SINK), p[2];
	off_t off = 0;

	need(pipe(p) == 0 && write(p[1], "abc", 3) == 3, "pipe");
	R(sendfile(s, p[0], &off, 3));
}
CASE(sendfile_big_wronly, 0) { R(sendfile(tcp_to(P_SINK), bigfile_opened(O_WRONLY), NULL, 100000)); }
CASE(sendfile_big_opath, 0) { R(sendfile(tcp_to(P_SINK), bigfile_opened(O_PATH), NULL, 100000)); }
CASE(sendfile_big_rdwr, 0) { R(sendfile(tcp_to(P_SINK), bigfile_opened(O_RDWR), NULL, 100000)); }

/* ===================================================================== */
/* getsockopt swept: every option number of a level on a socket in one state,
 * each emitted as "N=value" (an int), "N/len" (a struct: its length only) or
 * "N:ERRNO". Left out, per state: what differs by nature (SO_COOKIE, the
 * clock of TCP_TIMESTAMP, SO_INCOMING_CPU) and the deviations README lists
 * (TCP_INFO's length, TCP_CONGESTION's default, a connection's SO_SNDBUF). */

#define SWEEP_CONNECTED 1       /* skip what a connection reports otherwise */
#define SWEEP_ACCEPTED  2
#define SWEEP_NO_PORT   4       /* skip IP_PROTOCOL (the local port: an ephemeral one differs) */

static bool sweep_skip(int level, int n, int flags)
{
	if (level == SOL_SOCKET)
		return n == SO_COOKIE || n == SO_INCOMING_CPU || ((flags & SWEEP_CONNECTED) && n == SO_SNDBUF) ||
		       n == SO_BINDTODEVICE;
	if (level == IPPROTO_TCP)
		return n == TCP_INFO || n == TCP_CONGESTION || n == TCP_TIMESTAMP || n == TCP_CC_INFO;
	if (level == IPPROTO_IP)
		return (flags & SWEEP_NO_PORT) && n == IP_PROTOCOL;
	return false;
}

static void sweep_level(int s, int level, int hi, int flags)
{
	for (int n = 1; n <= hi; n++) {
		unsigned char b[256];
		socklen_t l = sizeof(b);
		int v;

		if (sweep_skip(level, n, flags))
			continue;
		memset(b, 0, sizeof(b));
		if (getsockopt(s, level, n, b, &l) < 0) {
			emit("%d:%s", n, ename(errno));
		} else if (l == sizeof(int)) {
			struct sockaddr_in a;
			socklen_t al = sizeof(a);

			memcpy(&v, b, sizeof(v));
			/* IP_PROTOCOL: the local port, an ephemeral one by its name */
			if (level == IPPROTO_IP && n == IP_PROTOCOL && v &&
			    getsockname(s, (struct sockaddr *)&a, &al) == 0 && v == ntohs(a.sin_port))
				emit("%d=local-port", n);
			else
				emit("%d=%d", n, v);
		} else {
			emit("%d/%u", n, (unsigned)l);
		}
	}
}

static void sweep_inet(int s, bool tcp, int flags)
{
	emit("SOL_SOCKET");
	sweep_level(s, SOL_SOCKET, 80, flags);
	emit("IP");
	sweep_level(s, IPPROTO_IP, 70, flags);
	if (tcp) {
		emit("TCP");
		sweep_level(s, IPPROTO_TCP, 45, flags);
	}
}

/* The calls that change nothing, on a socket in one state, then a send of
 * nothing and one of two bytes (the state's checks of a send): how each
 * state answers, in one line. */
static void state_ops(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
	struct sockaddr_storage a;
	socklen_t l;
	char b[64];
	int v;

	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	l = sizeof(a);
	R(getsockname(s, (struct sockaddr *)&a, &l));
	l = sizeof(a);
	R(getpeername(s, (struct sockaddr *)&a, &l));
	R(ioctl(s, FIONREAD, &v));
	R(ioctl(s, SIOCOUTQ, &v));
	R(ioctl(s, SIOCOUTQNSD, &v));
	R(ioctl(s, SIOCATMARK, &v));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT | MSG_PEEK));
	R(recv(s, b, 0, MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT | MSG_OOB));
	emit_so_error(s);
	R(send(s, b, 0, MSG_DONTWAIT | MSG_NOSIGNAL));
	R(send(s, "ab", 2, MSG_DONTWAIT | MSG_NOSIGNAL));
}

CASE(state_ops_tcp_fresh, 0) { state_ops(tcp_sock()); }
CASE(state_ops_tcp_bound, 0) { int s = tcp_sock(); bind_to(s, SELF, 0); state_ops(s); }
CASE(state_ops_tcp_listener, 0) { state_ops(tcp_listener()); }
CASE(state_ops_tcp_connected, 0) { state_ops(tcp_to(P_ECHO)); }
CASE(state_ops_tcp_accepted, 0) { state_ops(tcp_accepted("hold")); }
CASE(state_ops_tcp_connecting, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	errno = 0;
	need(connect_to(s, PEER, P_DROP) < 0 && errno == EINPROGRESS, "connect");
	state_ops(s);
}
CASE(state_ops_tcp_refused, 0)
{
	int s = tcp_sock();

	need(connect_to(s, PEER, P_CLOSED) < 0, "connect");
	state_ops(s);
}
CASE(state_ops_tcp_shut_wr, 0) { int s = tcp_to(P_STALL); need(shutdown(s, SHUT_WR) == 0, "shutdown"); state_ops(s); }
CASE(state_ops_tcp_shut_rd, 0) { int s = tcp_to(P_SINK); need(shutdown(s, SHUT_RD) == 0, "shutdown"); state_ops(s); }
CASE(state_ops_tcp_peer_fin, 0) { int s = tcp_to(P_FIN); wait_fin(s); state_ops(s); }
CASE(state_ops_tcp_reset, 0) { state_ops(tcp_reset()); }
CASE(state_ops_tcp_both_fins, 0)
{
	char b[16];
	int s = tcp_to(P_ECHO);

	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	wait_in(s);
	need(recv(s, b, sizeof(b), 0) == 0, "eof");
	need(wait_state(s, TCP_CLOSE) == TCP_CLOSE, "close");
	state_ops(s);
}
CASE(state_ops_tcp_disconnected, 0)
{
	struct sockaddr u = { .sa_family = AF_UNSPEC };
	int s = tcp_to(P_ECHO);

	need(connect(s, &u, sizeof(u)) == 0, "disconnect");
	state_ops(s);
}
CASE(state_ops_udp_fresh, 0) { state_ops(udp_sock()); }
CASE(state_ops_udp_connected, 0) { state_ops(udp_to(P_USINK)); }

/* TCP_RTO_MAX_MS (Linux 6.15, 44): 1000..120000 ms, EINVAL outside; a
 * listener's value goes to the sockets it accepts (sk_clone). */
CASE(tcpopt_rto_max_ms, 0)
{
	int l = tcp_listener(), c, v = 999;

	emit("default=%d", geti(l, IPPROTO_TCP, 44));
	R(setsockopt(l, IPPROTO_TCP, 44, &v, sizeof(v)));
	v = 120001;
	R(setsockopt(l, IPPROTO_TCP, 44, &v, sizeof(v)));
	seti(l, IPPROTO_TCP, 44, 2000);
	emit("listener=%d", geti(l, IPPROTO_TCP, 44));
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("child=%d", geti(c, IPPROTO_TCP, 44));
	seti(c, IPPROTO_TCP, 44, 3000);
	emit("child set=%d", geti(c, IPPROTO_TCP, 44));
	close(l);
}

CASE(sweep_getsockopt_tcp_fresh, 0) { sweep_inet(tcp_sock(), true, 0); }
CASE(sweep_getsockopt_tcp_bound, 0) { int s = tcp_sock(); bind_to(s, SELF, 0); sweep_inet(s, true, 0); }
CASE(sweep_getsockopt_tcp_listener, 0) { sweep_inet(tcp_listener(), true, 0); }
CASE(sweep_getsockopt_tcp_connected, 0) { sweep_inet(tcp_to(P_ECHO), true, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_tcp_accepted, 0) { sweep_inet(tcp_accepted("hold"), true, SWEEP_CONNECTED | SWEEP_ACCEPTED); }
/* What a listener was given goes to the sockets it accepts (sk_clone):
 * the sweep of a child whose listener had many options set. */
CASE(sweep_getsockopt_tcp_accepted_from_set, 0)
{
	int l = tcp_listener(), c;
	struct linger lg = { 1, 5 };

	seti(l, SOL_SOCKET, SO_PRIORITY, 3);
	seti(l, SOL_SOCKET, SO_RCVLOWAT, 10);
	need(setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "linger");
	seti(l, SOL_SOCKET, SO_OOBINLINE, 1);
	seti(l, SOL_SOCKET, SO_KEEPALIVE, 1);
	seti(l, SOL_SOCKET, SO_DONTROUTE, 1);
	seti(l, SOL_SOCKET, SO_BROADCAST, 1);
	seti(l, SOL_SOCKET, SO_TIMESTAMP, 1);
	seti(l, SOL_SOCKET, SO_MARK, 5);
	seti(l, SOL_SOCKET, SO_SNDBUF, 50000);
	seti(l, IPPROTO_IP, IP_TOS, 0x10);
	seti(l, IPPROTO_IP, IP_TTL, 33);
	seti(l, IPPROTO_IP, IP_RECVERR, 1);
	seti(l, IPPROTO_IP, IP_FREEBIND, 1);
	seti(l, IPPROTO_IP, IP_RECVTOS, 1);
	seti(l, IPPROTO_IP, IP_PKTINFO, 1);
	seti(l, IPPROTO_TCP, TCP_NODELAY, 1);
	seti(l, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	seti(l, IPPROTO_TCP, TCP_KEEPINTVL, 7);
	seti(l, IPPROTO_TCP, TCP_KEEPCNT, 4);
	seti(l, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
	seti(l, IPPROTO_TCP, TCP_LINGER2, 20);
	seti(l, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 30000);
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	close(l);
	sweep_inet(c, true, SWEEP_CONNECTED | SWEEP_ACCEPTED);
}
/* ... and the rest of what a listener may be given. */
CASE(sweep_getsockopt_tcp_accepted_from_set2, 0)
{
	int l = tcp_listener(), c;
	const char dev[] = "lo";

	seti(l, SOL_SOCKET, SO_DEBUG, 1);
	seti(l, SOL_SOCKET, SO_RXQ_OVFL, 1);
	seti(l, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1);
	seti(l, SOL_SOCKET, SO_BUSY_POLL, 20);
	seti(l, SOL_SOCKET, SO_PASSCRED, 1);
	seti(l, SOL_SOCKET, SO_TIMESTAMPNS_OLD, 1);
	seti(l, SOL_SOCKET, SO_PRIORITY, 4);
	seti(l, IPPROTO_IP, IP_RECVOPTS, 1);
	seti(l, IPPROTO_IP, IP_RETOPTS, 1);
	seti(l, IPPROTO_IP, IP_TRANSPARENT, 1);
	seti(l, IPPROTO_IP, IP_NODEFRAG, 1);
	seti(l, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	seti(l, IPPROTO_IP, IP_RECVORIGDSTADDR, 1);
	seti(l, IPPROTO_IP, IP_CHECKSUM, 1);
	seti(l, IPPROTO_IP, IP_MINTTL, 2);
	seti(l, IPPROTO_IP, IP_RECVFRAGSIZE, 1);
	seti(l, IPPROTO_IP, IP_RECVERR_RFC4884, 1);
	seti(l, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
	seti(l, IPPROTO_IP, IP_RECVTTL, 1);
	(void)dev;
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	close(l);
	sweep_inet(c, true, SWEEP_CONNECTED | SWEEP_ACCEPTED);
}
CASE(sweep_getsockopt_tcp_reset, 0) { sweep_inet(tcp_reset(), true, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_tcp_both_fins, 0)
{
	char b[16];
	int s = tcp_to(P_ECHO);

	need(shutdown(s, SHUT_WR) == 0, "shutdown");
	wait_in(s);
	need(recv(s, b, sizeof(b), 0) == 0, "eof");
	need(wait_state(s, TCP_CLOSE) == TCP_CLOSE, "close");
	sweep_inet(s, true, SWEEP_CONNECTED);
}
CASE(sweep_getsockopt_udp_fresh, 0) { sweep_inet(udp_sock(), false, 0); }
CASE(sweep_getsockopt_udp_connected, 0) { sweep_inet(udp_to(P_UECHO), false, 0); }

/* setsockopt and getsockopt swept with odd lengths: every option number of a
 * level, each with the same length and bytes, on a socket in one state (what
 * a hostile caller tries). A result is "N:ERRNO" or "N=ok" (set), "N=BYTE/LEN"
 * (get: the first byte and the length written back). */
static void sweep_set_level(int s, int level, int hi, socklen_t len, unsigned char byte)
{
	for (int n = 1; n <= hi; n++) {
		unsigned char b[256];

		/* SO_BINDTODEVICE names a device; TCP_REPAIR and its kin need
		 * CAP_NET_ADMIN on both sides alike but change what follows. */
		if (level == IPPROTO_TCP && (n == TCP_REPAIR || n == TCP_REPAIR_QUEUE ||
					     n == TCP_QUEUE_SEQ || n == TCP_REPAIR_OPTIONS ||
					     n == TCP_REPAIR_WINDOW))
			continue;
		memset(b, byte, sizeof(b));
		if (setsockopt(s, level, n, b, len) < 0)
			emit("%d:%s", n, ename(errno));
		else
			emit("%d=ok", n);
	}
}

static void sweep_get_level(int s, int level, int hi, socklen_t len0, int flags)
{
	for (int n = 1; n <= hi; n++) {
		unsigned char b[256];
		socklen_t l = len0;

		if (sweep_skip(level, n, flags))
			continue;
		memset(b, 0xa5, sizeof(b));
		if (getsockopt(s, level, n, b, &l) < 0)
			emit("%d:%s", n, ename(errno));
		else
			emit("%d=%u/%u", n, b[0], (unsigned)l);
	}
}

CASE(sweep_setsockopt_len0_sol_tcp, 0) { sweep_set_level(tcp_sock(), SOL_SOCKET, 80, 0, 0); }
CASE(sweep_setsockopt_len0_ip_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_IP, 70, 0, 0); }
CASE(sweep_setsockopt_len0_tcp_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_TCP, 45, 0, 0); }
CASE(sweep_setsockopt_len0_sol_udp, 0) { sweep_set_level(udp_sock(), SOL_SOCKET, 80, 0, 0); }
CASE(sweep_setsockopt_len0_ip_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_IP, 70, 0, 0); }
CASE(sweep_setsockopt_len0_udp_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_UDP, 110, 0, 0); }
CASE(sweep_setsockopt_len1_ip_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_IP, 70, 1, 1); }
CASE(sweep_setsockopt_len1_ip_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_IP, 70, 1, 1); }
CASE(sweep_setsockopt_len1_sol_udp, 0) { sweep_set_level(udp_sock(), SOL_SOCKET, 80, 1, 1); }
CASE(sweep_setsockopt_len1_tcp_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_TCP, 45, 1, 1); }
CASE(sweep_setsockopt_len3_ip_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_IP, 70, 3, 2); }
CASE(sweep_setsockopt_len3_udp_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_UDP, 110, 3, 0); }
CASE(sweep_setsockopt_len4_udp_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_UDP, 110, 4, 0); }
CASE(sweep_setsockopt_udp_on_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_UDP, 110, 4, 0); }
/* Every byte 0xff: an int of -1 (or a huge unsigned) to each option. */
CASE(sweep_setsockopt_minus1_ip_udp, 0) { sweep_set_level(udp_sock(), IPPROTO_IP, 70, 4, 0xff); }
CASE(sweep_setsockopt_minus1_ip_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_IP, 70, 4, 0xff); }
CASE(sweep_setsockopt_minus1_tcp_tcp, 0) { sweep_set_level(tcp_sock(), IPPROTO_TCP, 45, 4, 0xff); }
CASE(sweep_setsockopt_minus1_sol_udp, 0) { sweep_set_level(udp_sock(), SOL_SOCKET, 80, 4, 0xff); }
CASE(sweep_setsockopt_minus1_sol_tcp, 0) { sweep_set_level(tcp_sock(), SOL_SOCKET, 80, 4, 0xff); }
/* ... and read back: what each took of it. */
CASE(sweep_setsockopt_minus1_ip_udp_get, 0)
{
	int s = udp_sock();

	for (int n = 1; n <= 70; n++)
		setsockopt(s, IPPROTO_IP, n, &(int){ -1 }, 4);
	sweep_level(s, IPPROTO_IP, 70, 0);
}
CASE(sweep_setsockopt_minus1_tcp_tcp_get, 0)
{
	int s = tcp_sock();

	for (int n = 1; n <= 45; n++)
		if (n != TCP_REPAIR && n != TCP_REPAIR_QUEUE)
			setsockopt(s, IPPROTO_TCP, n, &(int){ -1 }, 4);
	sweep_level(s, IPPROTO_TCP, 45, 0);
}
CASE(sweep_setsockopt_minus1_sol_tcp_get, 0)
{
	int s = tcp_sock();

	for (int n = 1; n <= 80; n++)
		setsockopt(s, SOL_SOCKET, n, &(int){ -1 }, 4);
	sweep_level(s, SOL_SOCKET, 80, SWEEP_CONNECTED);
}
CASE(sweep_getsockopt_len0_sol_tcp, 0) { sweep_get_level(tcp_sock(), SOL_SOCKET, 80, 0, 0); }
CASE(sweep_getsockopt_len1_sol_tcp, 0) { sweep_get_level(tcp_sock(), SOL_SOCKET, 80, 1, 0); }
CASE(sweep_getsockopt_len1_ip_udp, 0) { sweep_get_level(udp_sock(), IPPROTO_IP, 70, 1, 0); }
CASE(sweep_getsockopt_len1_ip_tcp, 0) { sweep_get_level(tcp_sock(), IPPROTO_IP, 70, 1, 0); }
CASE(sweep_getsockopt_len1_tcp_tcp, 0) { sweep_get_level(tcp_sock(), IPPROTO_TCP, 45, 1, 0); }
CASE(sweep_getsockopt_len3_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), IPPROTO_TCP, 45, 3, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len0_ip_udp, 0) { sweep_get_level(udp_sock(), IPPROTO_IP, 70, 0, 0); }
CASE(sweep_getsockopt_len0_tcp_tcp, 0) { sweep_get_level(tcp_sock(), IPPROTO_TCP, 45, 0, 0); }
CASE(sweep_getsockopt_udp_udp, 0) { sweep_get_level(udp_sock(), IPPROTO_UDP, 110, 4, 0); }
CASE(sweep_getsockopt_udp_udp_len1, 0) { sweep_get_level(udp_sock(), IPPROTO_UDP, 110, 1, 0); }
CASE(sweep_getsockopt_udp_on_tcp, 0) { sweep_get_level(tcp_sock(), IPPROTO_UDP, 110, 4, 0); }
CASE(sweep_getsockopt_len7_sol_udp, 0) { sweep_get_level(udp_sock(), SOL_SOCKET, 80, 7, 0); }

/* ===================================================================== */
/* Odd flags and state-dependent calls a hostile caller tries (each a few
 * calls; the sweeps above hold the options). */

/* Waits (WAIT_MS at most, looking every ms) until FIONREAD says N bytes:
 * for a socket poll cannot wait on (shut for reading: always readable). */
static void wait_inq(int s, int n)
{
	struct timespec t0;
	int v = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ioctl(s, FIONREAD, &v) == 0 && v < n) {
		errno = ETIMEDOUT;
		need(ms_since(&t0) < WAIT_MS, "wait-inq");
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}


/* MSG_PROBE (0x10, glibc's MSG_PROXY): UDP does all but send (ip_make_skb),
 * TCP ignores the flag. */
#ifndef MSG_PROBE
#define MSG_PROBE MSG_PROXY
#endif
CASE(send_probe_udp_unconnected, 0) { R(send(udp_sock(), "probe", 5, MSG_PROBE)); }
CASE(send_probe_tcp, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16] = "";

	R(send(s, "abc", 3, MSG_PROBE));
	wait_bytes(s, 3);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* Flags a send has no use for: ignored on TCP. */
CASE(send_odd_flags_tcp, 0)
{
	int s = tcp_to(P_ECHO);

	R(send(s, "a", 1, MSG_PEEK));
	R(send(s, "a", 1, MSG_TRUNC));
	R(send(s, "a", 1, MSG_WAITALL));
	R(send(s, "a", 1, MSG_ERRQUEUE));
	R(send(s, "a", 1, MSG_CMSG_CLOEXEC));
	R(send(s, "a", 1, MSG_EOR));
	R(send(s, "a", 1, MSG_CONFIRM));
	R(send(s, "a", 1, 0x10000000));
	R(send(s, "a", 1, MSG_BATCH));
	wait_bytes(s, 9);
}
CASE(send_odd_flags_udp, 0)
{
	int s = udp_to(P_USINK);

	R(send(s, "a", 1, MSG_PEEK));
	R(send(s, "a", 1, MSG_TRUNC));
	R(send(s, "a", 1, MSG_WAITALL));
	R(send(s, "a", 1, MSG_ERRQUEUE));
	R(send(s, "a", 1, MSG_EOR));
	R(send(s, "a", 1, MSG_CONFIRM));
	R(send(s, "a", 1, MSG_MORE));
	R(send(s, "b", 1, 0));
	R(send(s, "a", 1, 0x10000000));
}
CASE(recv_odd_flags_tcp, 0)
{
	int s = tcp_hello();
	char b[4];

	R(recv(s, b, 1, MSG_CMSG_CLOEXEC));
	R(recv(s, b, 1, MSG_EOR));
	R(recv(s, b, 1, MSG_CONFIRM));
	R(recv(s, b, 1, MSG_MORE));
	R(recv(s, b, 1, MSG_NOSIGNAL));
	R(recv(s, b, 1, 0x10000000));
	R(recv(s, b, 1, MSG_WAITALL | MSG_DONTWAIT));
	R(recv(s, b, 1, MSG_FASTOPEN));
	R(recv(s, b, 1, MSG_ZEROCOPY));
}
CASE(udp_recv_peek_trunc_zero, 0)
{
	int s = udp_echoed("hello world");
	char b[4];

	R(recv(s, NULL, 0, MSG_PEEK | MSG_TRUNC));
	R(recv(s, b, 2, MSG_PEEK | MSG_TRUNC));
	R(recv(s, b, 2, MSG_TRUNC | MSG_DONTWAIT));
	R(recv(s, b, 2, MSG_TRUNC | MSG_DONTWAIT));
}
CASE(recv_trunc_tcp_null, 0)
{
	int s = tcp_hello();
	char b[16] = "";

	R(recv(s, NULL, 5, MSG_TRUNC));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("%.7s", b);
}
/* A datagram of no bytes: readable, FIONREAD 0, recv 0. */
CASE(udp_zero_dgram, 0)
{
	int s = udp_to(P_UECHO), n = -1;
	char b[4];

	R(send(s, "", 0, 0));
	wait_in(s);
	R(ioctl(s, FIONREAD, &n));
	emit("n=%d", n);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* FIONREAD on UDP: the first datagram's bytes only. */
CASE(ioctl_fionread_udp_two, 0)
{
	int s = udp_to(P_UECHO), n = -1;
	char b[16];

	need(send(s, "abc", 3, 0) == 3 && send(s, "defghij", 7, 0) == 7, "send");
	wait_in(s);
	wait_ev(s, 0);
	/* the second echo: until recv's first, FIONREAD says 3 */
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) == 3)
			break;
		poll(&p, 1, 1);
	}
	R(ioctl(s, FIONREAD, &n));
	emit("n=%d", n);
	recv(s, b, sizeof(b), 0);
	wait_in(s);
	R(ioctl(s, FIONREAD, &n));
	emit("n=%d", n);
	R(ioctl(s, SIOCOUTQ, &n));
	emit("outq=%d", n);
}
CASE(ioctl_siocgstamp_tcp, 0)
{
	struct timeval tv;

	R(ioctl(tcp_hello(), SIOCGSTAMP, &tv));
	R(ioctl(tcp_sock(), SIOCGSTAMPNS, &tv));
}
CASE(ioctl_fioclex, 0)
{
	int s = tcp_sock();

	R(ioctl(s, FIOCLEX));
	emit("fd=%d", fcntl(s, F_GETFD));
	R(ioctl(s, FIONCLEX));
	emit("fd=%d", fcntl(s, F_GETFD));
}
CASE(ioctl_fionbio_null, 0) { R(ioctl(tcp_sock(), FIONBIO, NULL)); }
CASE(ioctl_fionbio_off, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	R(ioctl(s, FIONBIO, &(int){ 0 }));
	emit_flags(s);
	R(ioctl(s, FIONBIO, &(int){ 7 }));
	emit_flags(s);
}
CASE(ioctl_pgrp, 0)
{
	int s = tcp_sock(), v = -1;

	R(ioctl(s, SIOCGPGRP, &v));
	emit("v=%d", v);
	R(ioctl(s, SIOCSPGRP, &(int){ getpid() }));
	R(ioctl(s, FIOGETOWN, &v));
	emit("self=%d", v == getpid());
	emit("own=%d", fcntl(s, F_GETOWN) == getpid());
	R(ioctl(s, SIOCSPGRP, &(int){ -getpgrp() }));
	emit("pg=%d", fcntl(s, F_GETOWN) == -getpgrp());
}
CASE(ioctl_siocinq_states, 0)
{
	int v = -1;

	R(ioctl(tcp_sock(), SIOCINQ, &v));
	R(ioctl(udp_sock(), SIOCINQ, &v));
	emit("v=%d", v);
	R(ioctl(udp_sock(), SIOCOUTQNSD, &v));
	R(ioctl(udp_sock(), SIOCATMARK, &v));
	R(ioctl(tcp_sock(), SIOCATMARK, &v));
	emit("v=%d", v);
}
CASE(fcntl_owner_ex, 0)
{
	int s = tcp_sock();
	struct f_owner_ex o = { .type = 99, .pid = 5 };

	R(fcntl(s, F_GETOWN_EX, &o));
	emit("type=%d pid=%d", o.type, o.pid);
	o = (struct f_owner_ex){ .type = 99, .pid = getpid() };
	R(fcntl(s, F_SETOWN_EX, &o));
	o = (struct f_owner_ex){ .type = F_OWNER_PGRP, .pid = getpgrp() };
	R(fcntl(s, F_SETOWN_EX, &o));
	emit("own=%d", fcntl(s, F_GETOWN) == -getpgrp());
	R(fcntl(s, F_GETOWN_EX, BAD));
}
CASE(fcntl_setfl_async_nonblock, 0)
{
	int s = tcp_sock();

	R(fcntl(s, F_SETFL, O_ASYNC | O_NONBLOCK | O_RDONLY));
	emit("fl=%#x", fcntl(s, F_GETFL));
	R(fcntl(s, F_SETFL, 0));
	emit("fl=%#x", fcntl(s, F_GETFL));
}
CASE(fcntl_odd_cmds, 0)
{
	int s = tcp_sock();
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	R(fcntl(s, F_GETPIPE_SZ));
	R(fcntl(s, F_SETPIPE_SZ, 4096));
	R(fcntl(s, F_GETLEASE));
	R(fcntl(s, F_SETLK, &fl));
	R(fcntl(s, F_GETLK, &fl));
	R(fcntl(s, F_ADD_SEALS, 0));
	R(fcntl(s, F_GET_SEALS));
	R(fcntl(s, F_NOTIFY, 0));
	R(flock(s, LOCK_EX | LOCK_NB));
}
CASE(fstat_socket, 0)
{
	struct stat st;
	int s = tcp_to(P_ECHO);

	R(fstat(s, &st));
	emit("fmt=%o mode=%o size=%ld nlink=%ld", st.st_mode & S_IFMT, st.st_mode & 07777, (long)st.st_size,
	     (long)st.st_nlink);
	R(lseek(s, 0, SEEK_CUR));
	R(pread(s, (char[4]){ 0 }, 4, 0));
	R(pwrite(s, "a", 1, 0));
}
/* recvmsg's name on TCP: none, and the length says so. */
CASE(recvmsg_tcp_name, 0)
{
	struct sockaddr_in a;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &v, .msg_iovlen = 1 };

	memset(&a, 0x5a, sizeof(a));
	R(recvmsg(tcp_hello(), &m, 0));
	emit("namelen=%u family=%d flags=%#x", (unsigned)m.msg_namelen, a.sin_family, m.msg_flags);
}
CASE(recvmsg_udp_namelen_short, 0)
{
	struct sockaddr_in a;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1 };
	int s = udp_to(P_UECHO);

	need(send(s, "a", 1, 0) == 1 && send(s, "b", 1, 0) == 1, "send");
	wait_in(s);
	memset(&a, 0, sizeof(a));
	R(recvmsg(s, &m, 0));
	emit("namelen=%u family=%d", (unsigned)m.msg_namelen, a.sin_family);
	m.msg_namelen = 3;
	wait_in(s);
	R(recvmsg(s, &m, 0));
	emit_short_addr(&a, m.msg_namelen);
}
CASE(recvmsg_udp_namelen_negative, 0)
{
	struct sockaddr_in a;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = (socklen_t)-1, .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(udp_echoed("x"), &m, 0));
	m.msg_name = NULL;
	R(recvmsg(udp_echoed("y"), &m, 0));
	emit("namelen=%u", (unsigned)m.msg_namelen);
}
CASE(sendmsg_udp_null_name_len, 0)
{
	struct iovec v = { "x", 1 };
	struct msghdr m = { .msg_name = NULL, .msg_namelen = 16, .msg_iov = &v, .msg_iovlen = 1 };

	R(sendmsg(udp_sock(), &m, 0));
	R(sendmsg(udp_to(P_USINK), &m, 0));
}
CASE(recvmmsg_waitforone, 0)
{
	char a[16], b[16];
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct mmsghdr mm[2] = { { { .msg_iov = &v[0], .msg_iovlen = 1 }, 0 },
				 { { .msg_iov = &v[1], .msg_iovlen = 1 }, 0 } };

	R(recvmmsg(udp_echoed("one"), mm, 2, MSG_WAITFORONE, NULL));
	emit("len=%u", mm[0].msg_len);
}
CASE(recvmmsg_tcp, 0)
{
	char a[5], b[5], c[5];
	struct iovec v[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct mmsghdr mm[3];

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &v[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	R(recvmmsg(tcp_hello(), mm, 3, MSG_DONTWAIT, NULL));
	emit("len=%u,%u,%u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
}
CASE(recvmmsg_timeout_data, 0)
{
	char a[16], b[16];
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct mmsghdr mm[2] = { { { .msg_iov = &v[0], .msg_iovlen = 1 }, 0 },
				 { { .msg_iov = &v[1], .msg_iovlen = 1 }, 0 } };
	struct timespec ts = { 1, 0 };

	R(recvmmsg(udp_echoed("one"), mm, 2, MSG_DONTWAIT, &ts));
	emit("len=%u", mm[0].msg_len);
}
CASE(recvmmsg_vlen_huge, 0)
{
	static struct mmsghdr mm[1100];
	static char b[1100][4];
	static struct iovec v[1100];
	int s = udp_to(P_UECHO);

	for (int i = 0; i < 1100; i++) {
		v[i] = (struct iovec){ b[i], 4 };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &v[i], .msg_iovlen = 1 };
	}
	need(send(s, "a", 1, 0) == 1, "send");
	wait_in(s);
	R(recvmmsg(s, mm, 100000, MSG_DONTWAIT | MSG_WAITFORONE, NULL));
	emit("len=%u", mm[0].msg_len);
}
CASE(sendmmsg_tcp_unconnected, 0)
{
	struct iovec v = { "x", 1 };
	struct mmsghdr mm[2] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 }, { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	R(sendmmsg(tcp_sock(), mm, 2, MSG_NOSIGNAL));
	R(sendmmsg(udp_sock(), mm, 2, 0));
}
/* SHUT_RD: what is queued still reads, and so does what comes after. */
CASE(shutdown_rd_queued_then_more, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16] = "";
	struct pollfd p = { .fd = s, .events = POLLIN | POLLRDHUP };

	need(send(s, "abc", 3, 0) == 3, "send");
	wait_bytes(s, 3);
	R(shutdown(s, SHUT_RD));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	need(send(s, "defg", 4, 0) == 4, "send");
	wait_inq(s, 7);
	R(recv(s, b, sizeof(b), 0));
	emit("%.7s", b);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(shutdown_listener_wr, 0)
{
	int l = tcp_listener();
	struct pollfd p = { .fd = l, .events = POLLIN | POLLOUT | POLLRDHUP };

	R(shutdown(l, SHUT_WR));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	emit("acceptconn=%d", geti(l, SOL_SOCKET, SO_ACCEPTCONN));
	peer("connect %d hold", case_port());
	RFD(accept(l, NULL, NULL));
}
CASE(so_error_reset_twice, 0)
{
	int s = tcp_reset();

	emit_so_error(s);
	emit_so_error(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	emit_so_error(s);
}
CASE(connect_udp_short_lens, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	int s = udp_sock();

	R(connect(s, (struct sockaddr *)&a, 0));
	R(connect(s, (struct sockaddr *)&a, 1));
	R(connect(s, (struct sockaddr *)&a, 2));
	R(connect(s, (struct sockaddr *)&a, 15));
	a.sin_family = AF_UNSPEC;
	R(connect(s, (struct sockaddr *)&a, 1));
	R(connect(s, (struct sockaddr *)&a, 2));
	a.sin_family = AF_INET6;
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
}
CASE(bind_sin_zero_garbage, 0)
{
	struct sockaddr_in a = sin4(SELF, case_port());

	memset(a.sin_zero, 0xff, sizeof(a.sin_zero));
	R(bind(tcp_sock(), (struct sockaddr *)&a, sizeof(a)));
	R(bind(udp_sock(), (struct sockaddr *)&a, sizeof(a)));
}
CASE(bind_inet6_on_inet, 0)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(5555) };
	struct sockaddr_in a = sin4(SELF, 0);

	R(bind(tcp_sock(), (struct sockaddr *)&a6, sizeof(a6)));
	R(bind(udp_sock(), (struct sockaddr *)&a6, sizeof(a6)));
	a.sin_family = AF_INET6;
	R(bind(udp_sock(), (struct sockaddr *)&a, sizeof(a)));
	a.sin_family = AF_UNSPEC;
	R(bind(udp_sock(), (struct sockaddr *)&a, sizeof(a)));
}
CASE(connect_unaligned_addr, 0)
{
	char b[sizeof(struct sockaddr_in) + 1];
	struct sockaddr_in a = sin4(PEER, P_ECHO);
	struct sockaddr_in *p;
	socklen_t l = sizeof(a);
	int s = tcp_sock();

	memcpy(b + 1, &a, sizeof(a));
	R(connect(s, (struct sockaddr *)(b + 1), sizeof(a)));
	p = (struct sockaddr_in *)(b + 1);
	memset(b, 0, sizeof(b));
	R(getpeername(s, (struct sockaddr *)p, &l));
	memcpy(&a, b + 1, sizeof(a));
	emit_addr(&a, l);
}
/* The peer's RST seen by a send: which errno, and SIGPIPE or not. */
CASE(send_after_rst_sigpipe_twice, 0)
{
	int s = tcp_reset();

	handle(SIGPIPE, false);
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
	R(write(s, "x", 1));
}
CASE(poll_connect_refused_events, 0)
{
	int s = tcp_sock();
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI };

	fcntl(s, F_SETFL, O_NONBLOCK);
	connect_to(s, PEER, P_CLOSED);
	wait_ev(s, POLLOUT);
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	emit_so_error(s);
	p.revents = 0;
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	R(connect_to(s, PEER, P_CLOSED));
}
CASE(getsockname_after_refused, 0)
{
	int s = tcp_sock();
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	conn(s, PEER, P_CLOSED);
	R(getsockname(s, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
	l = sizeof(a);
	R(getpeername(s, (struct sockaddr *)&a, &l));
	R(listen(s, 1));
	l = sizeof(a);
	R(getsockname(s, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
}
CASE(accept_addr_len_big, 0)
{
	int l = tcp_listener(), c;
	struct sockaddr_storage a;
	socklen_t al = sizeof(a);

	peer("connect %d hold", case_port());
	RFD(c = accept(l, (struct sockaddr *)&a, &al));
	emit_addr(&a, al);
	al = 1;
	memset(&a, 0, sizeof(a));
	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, &al));
	emit("len=%u fam_byte=%d", (unsigned)al, ((unsigned char *)&a)[0]);
}
CASE(accept4_flags_all, 0)
{
	int l = tcp_listener(), c;

	peer("connect %d hold", case_port());
	RFD(c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
	emit_flags(c);
	R(accept4(l, NULL, NULL, O_APPEND));
	R(accept4(l, NULL, NULL, SOCK_NONBLOCK | 0x40));
}
CASE(sendmmsg_vlen_huge, 0)
{
	static struct mmsghdr mm[1100];
	static struct iovec v = { "x", 1 };

	for (int i = 0; i < 1100; i++)
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &v, .msg_iovlen = 1 };
	R(sendmmsg(udp_to(P_USINK), mm, 1100, 0));
	emit("len=%u,%u", mm[0].msg_len, mm[1023].msg_len);
	R(sendmmsg(udp_to(P_USINK), mm, UINT_MAX, 0));
}
CASE(send_probe_udp, 0)
{
	int s = udp_to(P_UECHO);
	char b[16] = "";

	R(send(s, "probe", 5, MSG_PROBE));
	R(send(s, "real", 4, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	emit("%.5s", b);
}
/* A probe goes through udp_sendmsg's checks, then sends nothing: the bytes
 * are never read, nor the MTU looked at, nor SHUT_WR (sock_alloc_send_pskb's). */
CASE(send_probe_udp_checks, 0)
{
	int s = udp_to(P_UECHO), u = udp_sock();
	struct sockaddr_in b = sin4(BCAST, P_UECHO), z = sin4(PEER, 0);
	struct iovec v[2] = { { BAD, 10 }, { BAD, 5 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
	static char big[3000];

	R(send(s, BAD, 10, MSG_PROBE));
	R(sendmsg(s, &m, MSG_PROBE));
	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	R(send(s, big, sizeof(big), MSG_PROBE));
	R(send(s, big, sizeof(big), 0));
	R(sendto(u, "x", 1, MSG_PROBE, (struct sockaddr *)&b, sizeof(b)));
	R(sendto(u, "x", 1, MSG_PROBE, (struct sockaddr *)&z, sizeof(z)));
	R(send(u, "x", 1, MSG_PROBE));
	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, MSG_PROBE | MSG_NOSIGNAL));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(shutdown_rd_udp, 0)
{
	int s = udp_to(P_UECHO);
	char b[16] = "";
	struct pollfd p = { .fd = s, .events = POLLIN | POLLRDHUP | POLLOUT };

	R(shutdown(s, SHUT_RD));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), 0));
	R(send(s, "abc", 3, 0));
	wait_inq(s, 3);
	R(recv(s, b, sizeof(b), 0));
	R(shutdown(s, SHUT_WR));
	p.revents = 0;
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	R(send(s, "abc", 3, MSG_NOSIGNAL));
}
CASE(shutdown_listener_poll, 0)
{
	int l = tcp_listener();
	struct pollfd p = { .fd = l, .events = POLLIN | POLLOUT | POLLRDHUP };
	int v = -1;

	R(shutdown(l, SHUT_RD));
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	emit("acceptconn=%d", geti(l, SOL_SOCKET, SO_ACCEPTCONN));
	R(ioctl(l, FIONREAD, &v));
	R(listen(l, 5));
	emit("acceptconn=%d", geti(l, SOL_SOCKET, SO_ACCEPTCONN));
}
/* A listener shut for reading is a closed socket (tcp_disconnect): what
 * any closed one answers (and it cannot connect: listener_shut_connect). */
CASE(shutdown_listener_then_calls, 0)
{
	int l = tcp_listener(), v = -1;
	char b[4];

	R(shutdown(l, SHUT_RDWR));
	R(ioctl(l, SIOCOUTQ, &v));
	R(ioctl(l, SIOCATMARK, &v));
	R(recv(l, b, sizeof(b), MSG_DONTWAIT));
	R(send(l, "x", 1, MSG_NOSIGNAL));
	R(accept(l, NULL, NULL));
	R(connect_to(l, PEER, P_ECHO));
	emit_sockname(l);
	emit("acceptconn=%d", geti(l, SOL_SOCKET, SO_ACCEPTCONN));
	R(send(l, "x", 1, MSG_NOSIGNAL));
}
/* A socket that listened never connects again: shut (SHUT_RD, SHUT_RDWR),
 * disconnected (AF_UNSPEC), bound by listen() or bind(), listening again. */
CASE(listener_shut_connect, 0)
{
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	int l = tcp_sock(), m = tcp_listener(), n = tcp_sock();

	R(listen(n, 1));
	R(listen(l, 1));
	R(shutdown(l, SHUT_RD));
	R(connect_to(l, PEER, P_ECHO));
	R(connect_to(l, PEER, P_ECHO));
	R(shutdown(m, SHUT_RDWR));
	R(connect(m, (struct sockaddr *)&a6, sizeof(a6)));
	R(connect_to(m, "127.0.0.1", 80));
	R(connect(m, (struct sockaddr *)&u, sizeof(u)));
	R(connect_to(m, PEER, P_ECHO));
	R(listen(m, 1));
	R(connect_to(m, PEER, P_ECHO));
	R(shutdown(m, SHUT_RD));
	R(connect_to(m, PEER, P_ECHO));
	R(connect(n, (struct sockaddr *)&u, sizeof(u)));
	R(connect_to(n, PEER, P_ECHO));
}
CASE(peek_off_listener, 0) { R(setsockopt(tcp_listener(), SOL_SOCKET, SO_PEEK_OFF, &(int){ 0 }, sizeof(int))); }
CASE(peek_off_udp, 0)
{
	int s = udp_to(P_UECHO);
	char b[16] = "";

	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &(int){ 0 }, sizeof(int)));
	R(recv(s, b, 2, MSG_PEEK));
	emit("%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 8, MSG_PEEK));
	emit("%.3s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 8, 0));
	emit("%.5s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* SO_PEEK_OFF: each MSG_PEEK reads on from the last, a read moves the offset back. */
CASE(peek_off_tcp, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16] = "";

	need(send(s, "abcdefghijkl", 12, 0) == 12, "send");
	wait_bytes(s, 12);

	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &(int){ 0 }, sizeof(int)));
	R(recv(s, b, 5, MSG_PEEK));
	emit("%.5s", b);
	R(recv(s, b, 3, MSG_PEEK));
	emit("%.3s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 2, 0));
	emit("%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 4, MSG_PEEK));
	emit("%.4s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &(int){ -1 }, sizeof(int)));
	R(recv(s, b, 4, MSG_PEEK));
	emit("%.4s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* Waits (WAIT_MS at most, looking every ms) for a datagram past the first
 * FIRST bytes of the queue: a peek at that offset (SO_PEEK_OFF) finds it. */
static void wait_dgram_after(int s, int first)
{
	struct timespec t0;
	char b[64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	seti(s, SOL_SOCKET, SO_PEEK_OFF, first);
	while (recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) < 0) {
		need(errno == EAGAIN && ms_since(&t0) < WAIT_MS, "wait-dgram");
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	seti(s, SOL_SOCKET, SO_PEEK_OFF, -1);
}
/* SO_PEEK_OFF over two datagrams: a peek goes on into the next one
 * (__skb_try_recv_from_queue), MSG_TRUNC says the datagram's size. */
CASE(peek_off_udp_two, 0)
{
	int s = udp_to(P_UECHO);
	char b[16] = "", c[2];
	struct iovec v = { c, sizeof(c) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	need(send(s, "abc", 3, 0) == 3, "send");
	wait_in(s);
	need(send(s, "defgh", 5, 0) == 5, "send");
	wait_dgram_after(s, 3);
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 0);
	R(recv(s, b, 2, MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_PEEK));
	emit("%.1s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), MSG_PEEK));
	emit("%.5s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 1);
	R(recv(s, b, 2, MSG_PEEK | MSG_TRUNC));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 1);
	R(recvmsg(s, &m, MSG_PEEK));
	emit("flags=%#x off=%d", m.msg_flags, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), 0));
	emit("%.3s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 2, MSG_TRUNC));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* A datagram of no bytes: a peek at offset 0 sees it once, then passes it. */
CASE(peek_off_udp_zero_dgram, 0)
{
	int s = udp_to(P_UECHO);
	char b[8] = "";

	need(send(s, "", 0, 0) == 0, "send");
	wait_in(s);
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 0);
	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	need(send(s, "x", 1, 0) == 1, "send");
	wait_dgram_after(s, 0);
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 0);
	R(recv(s, b, sizeof(b), MSG_PEEK));
	emit("%.1s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), 0));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), 0));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* The same when a plain MSG_PEEK (no SO_PEEK_OFF yet) saw it first: Linux's
 * __skb_try_recv_from_queue marks a datagram of no bytes peeked whatever the
 * offset, so a peek at offset 0 passes it from then on (EAGAIN), while
 * recv() still takes it. */
CASE(peek_off_udp_zero_dgram_peeked_before, 0)
{
	for (int v = 0; v < 3; v++) {
		int s = udp_to(P_UECHO);
		char b[8] = "";

		need(send(s, "", 0, 0) == 0, "send");
		wait_in(s);
		if (v >= 1)
			R(recv(s, b, sizeof(b), MSG_PEEK | (v == 2 ? MSG_TRUNC : 0)));
		seti(s, SOL_SOCKET, SO_PEEK_OFF, 0);
		R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
		R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
		emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	}
}
/* TCP: a peek past what is queued waits (EAGAIN without a wait, or once
 * SO_RCVTIMEO ran out); SO_PEEK_OFF's value before a connection. */
CASE(peek_off_tcp_beyond, 0)
{
	int s = tcp_sock();
	char b[16];

	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &(int){ 5 }, sizeof(int)));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	seti(s, SOL_SOCKET, SO_PEEK_OFF, -1);
	need(send(s, "abcdef", 6, 0) == 6, "send");
	wait_bytes(s, 6);
	seti(s, SOL_SOCKET, SO_PEEK_OFF, 5);
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	emit("%.1s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	set_timeo(s, SO_RCVTIMEO, 100);
	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recv(s, b, 4, 0));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	emit("%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &(int){ -7 }, sizeof(int)));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
CASE(ioctl_siocgstamp_udp, 0)
{
	int s = udp_to(P_UECHO);
	struct timeval tv;
	char b[8];

	R(ioctl(s, SIOCGSTAMP, &tv));
	need(send(s, "x", 1, 0) == 1, "send");
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(ioctl(s, SIOCGSTAMP, &tv));
	emit("sec>0=%d", tv.tv_sec > 0);
	R(ioctl(s, SIOCGSTAMP, BAD));
}
/* SIOCGSTAMP after a read with no stamp asked before: the ioctl's own time,
 * kept; the next read, now stamped, its arrival (on an unconnected socket). */
CASE(ioctl_siocgstamp_udp_first_read, 0)
{
	int s = udp_bound();
	struct timeval a, b, now;
	struct timespec ns;
	char buf[8];

	peer("udp %d one", case_port());
	wait_in(s);
	R(recv(s, buf, sizeof(buf), 0));
	R(ioctl(s, SIOCGSTAMP, &a));
	R(ioctl(s, SIOCGSTAMP, &b));
	gettimeofday(&now, NULL);
	emit("same=%d recent=%d", a.tv_sec == b.tv_sec && a.tv_usec == b.tv_usec,
	     now.tv_sec - a.tv_sec >= 0 && now.tv_sec - a.tv_sec < 5);
	R(ioctl(s, SIOCGSTAMPNS, &ns));
	emit("ns_same=%d", ns.tv_sec == a.tv_sec && ns.tv_nsec / 1000 == a.tv_usec);
	peer("udp %d two", case_port());
	wait_in(s);
	R(recv(s, buf, sizeof(buf), MSG_PEEK));
	R(ioctl(s, SIOCGSTAMP, &b));
	emit("moved=%d usec_ok=%d", b.tv_sec != a.tv_sec || b.tv_usec != a.tv_usec, b.tv_usec >= 0 && b.tv_usec < 1000000);
}
/* ---- more hostile calls (second batch) ---- */

/* write() of nothing goes to the protocol (sock_write_iter), read() of
 * nothing does not (sock_read_iter's early 0). */
CASE(write_zero_unconnected, 0)
{
	int s = tcp_sock();
	char b[1];

	handle(SIGPIPE, false);
	R(write(s, b, 0));
	R(writev(s, NULL, 0));
	R(read(s, b, 0));
	R(recv(s, b, 0, MSG_DONTWAIT));
	R(send(s, b, 0, MSG_NOSIGNAL));
}
/* writev() of nothing is 0 before the socket is asked (vfs_writev): no
 * datagram of no bytes, no EPIPE or SIGPIPE after a RST or SHUT_WR. */
CASE(writev_zero_total, 0)
{
	int s = udp_to(P_UECHO), t = tcp_reset(), w = tcp_to(P_ECHO);
	char b[8] = "";
	struct iovec v[2] = { { b, 0 }, { NULL, 0 } };

	handle(SIGPIPE, false);
	R(writev(s, v, 2));
	R(send(s, "x", 1, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	emit("%.1s", b);
	R(writev(t, v, 2));
	R(write(t, b, 0));
	shutdown(w, SHUT_WR);
	R(writev(w, v, 1));
	R(write(w, b, 0));
}
/* A second connect() while the first is still under way. */
CASE(connect_nonblock_twice_other, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	R(connect_to(s, PEER, P_DROP));
	R(connect_to(s, PEER, P_ECHO));
	R(connect_to(s, NOBODY, P_ECHO));
	emit_so_error(s);
	R(listen(s, 1));
	{
		struct sockaddr_in a = sin4(SELF, 0);

		R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	}
}
/* A peek that waits for all (MSG_WAITALL) returns what is there once the
 * time runs out. */
CASE(recv_peek_waitall_timeo, 0)
{
	int s = tcp_hello();
	char b[32];

	set_timeo(s, SO_RCVTIMEO, 100);
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_WAITALL));
	R(recv(s, b, 12, MSG_PEEK | MSG_WAITALL));
	R(recv(s, b, sizeof(b), MSG_WAITALL));
}
/*
 * A peek that wants more than is queued (MSG_WAITALL, or SO_RCVLOWAT past
 * the queued bytes) waits for the rest as a read does, walking on past
 * what it saw (Linux's tcp_recvmsg_locked and its own peek_seq; with
 * SO_PEEK_OFF from the offset): "abc" queued, "def" echoed once the call
 * sleeps. At the urgent mark it ends with what it has.
 */
struct late_send {
	pthread_t th;
	pid_t tid;
	int fd;
};
static void *late_send_main(void *p)
{
	struct late_send *t = p;

	await_asleep(t->tid);
	send(t->fd, "def", 3, MSG_NOSIGNAL);
	return NULL;
}
static void peek_waits(size_t len, int flags, int lowat, int peek_off)
{
	int s = tcp_to(P_ECHO);
	struct late_send t = { .tid = gettid(), .fd = s };
	char b[16];
	ssize_t n;

	need(send(s, "abc", 3, MSG_NOSIGNAL) == 3, "send");
	wait_bytes(s, 3);
	if (lowat)
		seti(s, SOL_SOCKET, SO_RCVLOWAT, lowat);
	if (peek_off >= 0)
		seti(s, SOL_SOCKET, SO_PEEK_OFF, peek_off);
	set_timeo(s, SO_RCVTIMEO, 2000);
	need(pthread_create(&t.th, NULL, late_send_main, &t) == 0, "pthread_create");
	n = R(recv(s, b, len, flags));
	emit("%.*s", n > 0 ? (int)n : 0, b);
	pthread_join(t.th, NULL);
	if (peek_off >= 0)
		seti(s, SOL_SOCKET, SO_PEEK_OFF, -1);
	wait_bytes(s, 6);
	n = R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("%.*s", n > 0 ? (int)n : 0, b);
}
CASE(recv_peek_waitall_more_data, 0) { peek_waits(6, MSG_PEEK | MSG_WAITALL, 0, -1); }
CASE(recv_peek_rcvlowat_more_data, 0) { peek_waits(8, MSG_PEEK, 5, -1); }
CASE(recv_peek_waitall_peek_off_more_data, 0) { peek_waits(5, MSG_PEEK | MSG_WAITALL, 0, 1); }
CASE(recv_peek_trunc_waitall_more_data, 0) { peek_waits(6, MSG_PEEK | MSG_TRUNC | MSG_WAITALL, 0, -1); }
CASE(recv_peek_waitall_urgent_mark, 0)
{
	int s = tcp_to(P_OOB);
	char b[16];

	set_timeo(s, SO_RCVTIMEO, 300);
	wait_ev(s, POLLPRI);
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_WAITALL));
	seti(s, SOL_SOCKET, SO_OOBINLINE, 1);
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_WAITALL));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_WAITALL));
}
/* epoll's view of each TCP state. */
static void ep_state(int s)
{
	int ep = epoll_create1(0);

	R(ep_add(ep, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI));
	ep_wait(ep, 0);
}
CASE(epoll_state_udp_fresh_shut, 0) { int s = udp_sock(); shutdown(s, SHUT_RD); ep_state(s); }
CASE(epoll_state_udp_shut, 0) { int s = udp_to(P_USINK); shutdown(s, SHUT_RDWR); ep_state(s); }
CASE(epoll_state_connecting, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	connect_to(s, PEER, P_DROP);
	ep_state(s);
}
CASE(epoll_state_refused, 0)
{
	int s = tcp_sock();

	fcntl(s, F_SETFL, O_NONBLOCK);
	connect_to(s, PEER, P_CLOSED);
	wait_ev(s, POLLOUT);
	ep_state(s);
}
CASE(epoll_state_peer_fin, 0) { int s = tcp_to(P_FIN); wait_in(s); ep_state(s); }
CASE(epoll_state_shut_rdwr, 0) { int s = tcp_to(P_STALL); shutdown(s, SHUT_RDWR); ep_state(s); }
CASE(epoll_state_shut_wr, 0) { int s = tcp_to(P_STALL); shutdown(s, SHUT_WR); ep_state(s); }
CASE(epoll_state_shut_rd, 0) { int s = tcp_to(P_SINK); shutdown(s, SHUT_RD); ep_state(s); }
CASE(epoll_state_listener, 0) { ep_state(tcp_listener()); }
CASE(epoll_state_fresh, 0) { ep_state(tcp_sock()); }
CASE(udp_refused_paths, 0)
{
	int s = udp_to(P_UCLOSED), ep = epoll_create1(0);
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	need(send(s, "x", 1, 0) == 1, "send");
	wait_err(s);
	R(ep_add(ep, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP));
	ep_wait(ep, 0);
	R(recvmmsg(s, mm, 1, MSG_DONTWAIT, NULL));
	ep_wait(ep, 0);
	need(send(s, "x", 1, 0) == 1, "send");
	wait_err(s);
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
	wait_err(s);
	emit_so_error(s);
	emit_so_error(s);
}
/* A datagram to the socket's own host on a port nobody has: Linux's
 * loopback answers within the send (the ICMP error is queued before
 * send() returns), so the next send already fails. */
CASE(udp_self_refused_at_once, 0)
{
	int s = udp_sock();

	R(connect_to(s, SELF, case_port()));
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
	R(send(s, "x", 1, 0));
	emit_so_error(s);
}
CASE(udp_self_refused_at_once_mmsg, 0)
{
	int s = udp_sock(), s6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)case_port()) };
	struct iovec v = { "x", 1 };
	struct mmsghdr mm[3];

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++)
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &v, .msg_iovlen = 1 };
	R(connect_to(s, SELF, case_port()));
	R(sendmmsg(s, mm, 3, 0));
	emit_so_error(s);
	inet_pton(AF_INET6, "::ffff:" SELF, &a6.sin6_addr);
	R(connect(s6, (struct sockaddr *)&a6, sizeof(a6)));
	R(send(s6, "x", 1, 0));
	R(send(s6, "x", 1, 0));
	R(sendmmsg(s6, mm, 3, 0));
	emit_so_error(s6);
}
/* A UDP socket connected to the peer, then to 0.0.0.0:0: Linux's socket is
 * connected (TCP_ESTABLISHED) to its own address and port 0, which
 * getpeername() does not show (inet_getname: ENOTCONN) but shutdown() and
 * send() go by (inet_shutdown answers 0, udp_sendmsg sends to port 0). */
CASE(udp_connect_any_port0_after_peer, 0)
{
	int s = udp_to(P_UECHO);

	R(connect_to(s, "0.0.0.0", 0));
	emit_sockname(s);
	emit_peername(s);
	R(send(s, "x", 1, MSG_DONTWAIT));
	R(shutdown(s, SHUT_RD));
	R(send(s, "x", 1, MSG_DONTWAIT));
	emit_so_error(s);
}
/* The same on a dual-stack AF_INET6 socket already bound (by a refused
 * send), connected by an AF_INET 0.0.0.0:0 (fuzzseq -g 3 seed 3804): the
 * send without an address goes by the connection, v4-mapped, to port 0. */
static void udp6_connect_any_port0(int n)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in a = sin4("0.0.0.0", 0);

	R(send(s, "x", 1, MSG_DONTWAIT));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit_sockname(s);
	emit_peername(s);
	R(send(s, "xy", (size_t)n, MSG_DONTWAIT));
	R(write(s, "xy", 2));
	emit_so_error(s);
}
CASE(udp6_connect_any_port0_send0, 0) { udp6_connect_any_port0(0); }
CASE(udp6_connect_any_port0_send1, 0) { udp6_connect_any_port0(1); }
/* A socket never in the stack that connects to this host (0.0.0.0, port
 * 0) goes to the kernel (loopback is the kernel's): what it does next. On
 * Linux the connect binds it to 127.0.0.1; a refused TCP connect and a UDP
 * disconnect let the port go, so bind() to the host's own address works,
 * and a UDP socket still on 127.0.0.1 cannot reach the peer (EINVAL). */
CASE(handover_udp_any0_disconnect_bind, 0)
{
	int s = udp_sock();

	R(connect_to(s, "0.0.0.0", 0));
	emit_sockname(s);
	R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	bind_to(s, SELF, 0);
	emit_sockname(s);
}
CASE(handover_udp_any0_connect_peer, 0)
{
	int s = udp_sock();

	R(connect_to(s, "0.0.0.0", 0));
	R(connect_to(s, PEER, P_UECHO));
	emit_sockname(s);
}
CASE(handover_tcp_any0_refused_bind, 0)
{
	int s = tcp_sock();

	R(connect_to(s, "0.0.0.0", 0));
	bind_to(s, SELF, 0);
	emit_sockname(s);
}
/* recvmmsg answers a pending error before any datagram (do_recvmmsg's
 * sock_error), a vlen of 0 too; MSG_ERRQUEUE leaves it. */
CASE(recvmmsg_pending_error, 0)
{
	int u = udp_to(P_UCLOSED), t = tcp_fin_rst();
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct mmsghdr mm[2] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 }, { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	need(send(u, "x", 1, 0) == 1, "send");
	wait_err(u);
	R(recvmmsg(u, mm, 0, 0, NULL));
	R(recvmmsg(u, mm, 1, MSG_DONTWAIT, NULL));
	need(send(u, "x", 1, 0) == 1, "send");
	wait_err(u);
	R(recvmmsg(u, mm, 1, MSG_DONTWAIT | MSG_ERRQUEUE, NULL));
	emit_so_error(u);
	R(recvmmsg(t, mm, 2, MSG_DONTWAIT, NULL));
	R(recvmmsg(t, mm, 2, MSG_DONTWAIT, NULL));
	emit("len=%u", mm[0].msg_len);
}
/* IPV6_V6ONLY once the connection ended: Linux's tcp_done gave the port
 * back (inet_put_port: inet_num 0), so do_ipv6_setsockopt takes the
 * option again; while connected it refuses (EINVAL). */
CASE(v6only_after_connection_ended, 0)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1;

	need(s >= 0, "socket");
	need(conn6(s, "::ffff:" PEER, P_FIN) == 0, "connect");
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	wait_fin(s);
	R(shutdown(s, SHUT_RDWR));
	emit("state=%d", wait_state(s, TCP_CLOSE));
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
}
/* An IPv6-only UDP socket given an AF_INET address: connect() is
 * EAFNOSUPPORT (__ip6_datagram_connect), a send ENETUNREACH
 * (udpv6_sendmsg's do_udp_sendmsg). */
CASE(v6only_udp_inet_addr, 0)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in a = sin4(PEER, P_UECHO);

	need(s >= 0, "socket");
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
}
CASE(recv_paths_after_rst, 0)
{
	int s = tcp_reset();
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	R(recvmmsg(s, mm, 1, MSG_DONTWAIT, NULL));
	R(recvmmsg(s, mm, 1, MSG_DONTWAIT, NULL));
	R(readv(s, &v, 1));
	R(recv(s, b, sizeof(b), MSG_OOB));
	R(recv(s, b, sizeof(b), MSG_PEEK));
}
/* Every send path after the peer's RST: EPIPE and SIGPIPE, or the reset. */
CASE(send_paths_after_rst, 0)
{
	int s = tcp_reset(), f = tmpfile_of(100);
	struct iovec v = { "x", 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };

	handle(SIGPIPE, false);
	emit_so_error(s);
	R(sendmsg(s, &m, 0));
	R(sendmmsg(s, mm, 1, 0));
	R(writev(s, &v, 1));
	R(sendto(s, "x", 1, 0, NULL, 0));
	R(sendfile(s, f, NULL, 100));
	R(send(s, "x", 1, MSG_OOB));
}
/* After a disconnect (AF_UNSPEC), datagrams from anyone come in again. */
CASE(udp_disconnect_receives_any, 0)
{
	int s = udp_bound();
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };
	char b[16] = "";

	R(connect_to(s, PEER, P_USINK));
	R(connect(s, (struct sockaddr *)&u, sizeof(u)));
	peer("udp %d again", case_port());
	wait_in(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("%.5s", b);
	emit_peername(s);
}
/* A datagram queued before connect() stays readable, whoever sent it (Linux
 * filters on arrival only). */
CASE(udp_connect_keeps_queued, 0)
{
	int s = udp_bound();
	char b[16] = "";

	peer("udp %d queued", case_port());
	wait_in(s);
	R(connect_to(s, PEER, P_USINK));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("%.6s", b);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* listen()'s backlog as TCP_INFO shows it (tcpi_sacked of a listener):
 * negative and huge ones are somaxconn (__sys_listen takes it unsigned);
 * a second listen() changes it. */
static void emit_backlog(int l)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &n) == 0)
		emit("q=%u backlog=%u", ti.tcpi_unacked, ti.tcpi_sacked);
}
CASE(listen_backlog_values, 0)
{
	int l = tcp_sock();

	R(listen(l, -1));
	emit_backlog(l);
	R(listen(l, 0));
	emit_backlog(l);
	R(listen(l, INT_MIN));
	emit_backlog(l);
	R(listen(l, 100000));
	emit_backlog(l);
	R(listen(l, 7));
	emit_backlog(l);
}
/* UDP MSG_MORE and UDP_CORK: the sends make one datagram (Linux's corked
 * udp_sendmsg), sent by the first send without MSG_MORE or the uncork. */
static void recv_echoes(int s, int n)
{
	char b[128];

	for (int i = 0; i < n; i++) {
		ssize_t r;

		wait_in(s);
		r = recv(s, b, sizeof(b), MSG_DONTWAIT);
		if (r < 0)
			emit("%s", ename(errno));
		else
			emit("'%.*s'", (int)r, b);
	}
}
CASE(udp_msg_more, 0)
{
	int s = udp_to(P_UECHO);
	struct sockaddr_in other = sin4(PEER, P_USINK), zero = sin4(PEER, 0);

	R(send(s, "ab", 2, MSG_MORE));
	R(send(s, "", 0, MSG_MORE));
	R(sendto(s, "cd", 2, MSG_MORE, (struct sockaddr *)&other, sizeof(other)));
	R(sendto(s, "ef", 2, 0, (struct sockaddr *)&zero, sizeof(zero)));
	recv_echoes(s, 1);
	R(send(s, "gh", 2, MSG_MORE));
	R(send(s, "ij", 2, 0));
	recv_echoes(s, 1);
	R(recv(s, (char[8]){ 0 }, 8, MSG_DONTWAIT));
}
CASE(udp_cork_option, 0)
{
	int s = udp_to(P_UECHO);

	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &(int){ 1 }, sizeof(int)));
	R(send(s, "ab", 2, 0));
	R(send(s, "cd", 2, 0));
	emit("cork=%d", geti(s, IPPROTO_UDP, UDP_CORK));
	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &(int){ 0 }, sizeof(int)));
	recv_echoes(s, 1);
	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &(int){ 5 }, sizeof(int)));
	emit("cork=%d", geti(s, IPPROTO_UDP, UDP_CORK));
	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &(int){ 0 }, sizeof(int)));
	R(send(s, "x", 1, 0));
	recv_echoes(s, 1);
}
/* Corked bytes count toward one datagram's limit: past it, EMSGSIZE, and
 * what was corked is gone. */
CASE(udp_msg_more_too_big, 0)
{
	static char big[40000];
	int s = udp_to(P_UECHO);

	R(send(s, big, sizeof(big), MSG_MORE));
	R(send(s, big, sizeof(big), MSG_MORE));
	R(send(s, "z", 1, 0));
	recv_echoes(s, 1);
	R(send(s, "ab", 2, MSG_MORE));
	R(send(s, BAD, 2, MSG_MORE));
	R(send(s, "cd", 2, 0));
	recv_echoes(s, 1);
}
/* Unconnected: the first send's address is the datagram's. */
CASE(udp_msg_more_unconnected, 0)
{
	int s = udp_sock();
	struct sockaddr_in echo = sin4(PEER, P_UECHO), sink = sin4(PEER, P_USINK);

	R(send(s, "a", 1, MSG_MORE));
	R(sendto(s, "ab", 2, MSG_MORE, (struct sockaddr *)&echo, sizeof(echo)));
	R(send(s, "cd", 2, MSG_MORE));
	R(sendto(s, "ef", 2, 0, (struct sockaddr *)&sink, sizeof(sink)));
	recv_echoes(s, 1);
}
/* IP_MULTICAST_IF by address (ours, any, not ours) and by index, read back. */
CASE(ip_multicast_if_values, 0)
{
	int s = udp_sock();
	struct in_addr a;
	struct ip_mreqn mr;
	socklen_t l;
	char ip[INET_ADDRSTRLEN];

	inet_pton(AF_INET, SELF, &a);
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)));
	l = sizeof(a);
	a.s_addr = 0x5a5a5a5a;
	R(getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, &l));
	emit("%s len=%u", inet_ntop(AF_INET, &a, ip, sizeof(ip)), (unsigned)l);
	inet_pton(AF_INET, "198.51.100.7", &a);
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)));
	memset(&mr, 0, sizeof(mr));
	mr.imr_ifindex = (int)if_nametoindex("tap0");
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)));
	l = sizeof(a);
	R(getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, &l));
	emit("%s", inet_ntop(AF_INET, &a, ip, sizeof(ip)));
	mr.imr_ifindex = 999;
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)));
	a.s_addr = 0;
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)));
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, 3));
}
/* IP_MULTICAST_IF on a dual-stack AF_INET6 UDP socket (fuzzseq -g 3 seed
 * 190), by the stack's address in an ip_mreqn (index 0) and in an ip_mreq:
 * ipv6_setsockopt hands SOL_IP to ip_setsockopt, which finds the device by
 * the address (ip_dev_find). */
CASE(ip_multicast_if_in6_mreqn_addr, 0)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	struct ip_mreqn mr;
	struct in_addr a;
	socklen_t l;
	char ip[INET_ADDRSTRLEN];

	memset(&mr, 0, sizeof(mr));
	inet_pton(AF_INET, SELF, &mr.imr_address);
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)));
	l = sizeof(a);
	a.s_addr = 0x5a5a5a5a;
	R(getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, &l));
	emit("%s", inet_ntop(AF_INET, &a, ip, sizeof(ip)));
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(struct ip_mreq)));
	l = sizeof(a);
	R(getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &a, &l));
	emit("%s", inet_ntop(AF_INET, &a, ip, sizeof(ip)));
	close(s);
}
/* The protocol-independent join (MCAST_JOIN_GROUP, by index): the
 * datagrams to the group come in; its own checks. */
CASE(udp_mcast_join_group_receive, 0)
{
	int s = udp_sock();
	struct group_req g;
	struct sockaddr_in *ga = (struct sockaddr_in *)&g.gr_group;

	bind_to(s, "0.0.0.0", case_port());
	memset(&g, 0, sizeof(g));
	g.gr_interface = if_nametoindex("tap0");
	*ga = sin4("239.1.2.9", 0);
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)));
	peer("mcast 239.1.2.9 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
	R(setsockopt(s, IPPROTO_IP, MCAST_LEAVE_GROUP, &g, sizeof(g)));
	R(setsockopt(s, IPPROTO_IP, MCAST_LEAVE_GROUP, &g, sizeof(g)));
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g) - 1));
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, BAD, sizeof(g)));
	ga->sin_family = AF_INET6;
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)));
	*ga = sin4(PEER, 0);
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)));
}
/* IP_TOS keeps the ECN bits out on TCP (ip_setsockopt: the socket's own
 * ECN field stays), not on UDP; and what a UDP datagram carries. */
CASE(ip_tos_ecn_bits, 0)
{
	int t = tcp_sock(), c = tcp_to(P_ECHO), u = udp_to(P_UTTL);
	char b[64] = "";

	R(setsockopt(t, IPPROTO_IP, IP_TOS, &(int){ 0xff }, sizeof(int)));
	emit("tcp=%#x", geti(t, IPPROTO_IP, IP_TOS));
	R(setsockopt(c, IPPROTO_IP, IP_TOS, &(int){ 0x13 }, sizeof(int)));
	emit("conn=%#x", geti(c, IPPROTO_IP, IP_TOS));
	R(setsockopt(u, IPPROTO_IP, IP_TOS, &(int){ 0x13 }, sizeof(int)));
	emit("udp=%#x", geti(u, IPPROTO_IP, IP_TOS));
	R(send(u, "x", 1, 0));
	wait_in(u);
	R(recv(u, b, sizeof(b) - 1, 0));
	emit("%s", b);
}
CASE(bindtodevice_tap0_connect, 0)
{
	int t = tcp_sock();
	char dev[IFNAMSIZ] = "";
	socklen_t l = sizeof(dev);

	R(setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "tap0", 5));
	R(getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, dev, &l));
	emit("%s len=%u", dev, (unsigned)l);
	R(connect_to(t, PEER, P_ECHO));
	emit_sockname(t);
}
/* O_ASYNC on a listener: SIGIO when a connection comes. */
CASE(fcntl_async_listener, 0)
{
	int l = tcp_listener();

	handle(SIGIO, true);
	R(fcntl(l, F_SETOWN, getpid()));
	R(fcntl(l, F_SETFL, O_ASYNC | O_NONBLOCK));
	peer("connect %d hold", case_port());
	need(wait_ev(l, POLLIN) & POLLIN, "queued");
	RFD(accept(l, NULL, NULL));
}
/* IP_UNICAST_IF (an index in network order): the device a datagram leaves by. */
CASE(ip_unicast_if, 0)
{
	int u = udp_to(P_UECHO);
	int idx = (int)htonl(if_nametoindex("tap0")), lo = (int)htonl(1), v;
	socklen_t l = sizeof(v);
	char b[8];

	R(setsockopt(u, IPPROTO_IP, IP_UNICAST_IF, &idx, sizeof(idx)));
	R(getsockopt(u, IPPROTO_IP, IP_UNICAST_IF, &v, &l));
	emit("same=%d", v == idx);
	R(send(u, "x", 1, 0));
	wait_in(u);
	R(recv(u, b, sizeof(b), 0));
	R(setsockopt(u, IPPROTO_IP, IP_UNICAST_IF, &lo, sizeof(lo)));
	R(send(u, "x", 1, 0));
	R(setsockopt(u, IPPROTO_IP, IP_UNICAST_IF, &(int){ (int)htonl(999) }, sizeof(int)));
}
CASE(listen_backlog_zero_accepts, 0)
{
	int l = tcp_sock(), one = 1;
	struct sockaddr_in a = sin4(SELF, case_port());

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	need(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	R(listen(l, 0));
	peer("connect %d hold", case_port());
	need(wait_ev(l, POLLIN) & POLLIN, "queued");
	emit_backlog(l);
	RFD(accept(l, NULL, NULL));
}
/* sendmsg() of nothing goes to the socket (no vfs_writev shortcut). */
CASE(sendmsg_zero_total, 0)
{
	int t = tcp_sock(), u = udp_to(P_UECHO);
	char b[8];
	struct iovec v = { b, 0 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(sendmsg(t, &m, MSG_NOSIGNAL));
	R(sendmsg(u, &m, 0));
	wait_in(u);
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
	m.msg_iovlen = 0;
	R(sendmsg(u, &m, 0));
	wait_in(u);
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
}
/* recvmsg() with no buffer: a datagram goes (MSG_TRUNC), a stream's bytes stay. */
CASE(recvmsg_iovlen_zero, 0)
{
	int u = udp_echoed("hello"), t = tcp_hello();
	char b[16];
	struct msghdr m = { .msg_iov = NULL, .msg_iovlen = 0 };

	R(recvmsg(u, &m, 0));
	emit("flags=%#x", m.msg_flags);
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
	need(send(u, "world!", 6, 0) == 6, "send");
	wait_in(u);
	m.msg_flags = 0;
	R(recvmsg(u, &m, MSG_TRUNC));
	emit("flags=%#x", m.msg_flags);
	m.msg_flags = 0;
	R(recvmsg(t, &m, 0));
	emit("flags=%#x", m.msg_flags);
	R(recv(t, b, sizeof(b), MSG_DONTWAIT));
}
/* The receive options whose control messages are not the usual ones: each
 * control message as level/type:length:its first bytes. */
static void recvmsg_raw_cmsgs(int level, int name)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();

	R(setsockopt(s, level, name, &(int){ 1 }, sizeof(int)));
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, 0)) < 0)
		return;
	emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		const unsigned char *d = CMSG_DATA(h);
		size_t n = h->cmsg_len - CMSG_LEN(0);
		char hex[40] = "";

		for (size_t i = 0; i < n && i < 16; i++)
			snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", d[i]);
		/* IP_ORIGDSTADDR: the port is ours, an ephemeral one */
		if (level == IPPROTO_IP && h->cmsg_type == IP_ORIGDSTADDR && n >= 4)
			memcpy(hex + 4, "pppp", 4);
		emit("%d/%d:%zu:%s", h->cmsg_level, h->cmsg_type, n, hex);
	}
}
CASE(recvmsg_origdstaddr, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_RECVORIGDSTADDR); }
CASE(recvmsg_recvopts, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_RECVOPTS); }
CASE(recvmsg_retopts, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_RETOPTS); }
CASE(recvmsg_recvfragsize, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_RECVFRAGSIZE); }
CASE(recvmsg_ip_checksum, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_CHECKSUM); }
CASE(recvmsg_rxq_ovfl, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, SO_RXQ_OVFL); }
CASE(recvmsg_rcvmark, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, SO_RCVMARK); }
CASE(recvmsg_passcred, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, SO_PASSCRED); }
CASE(recvmsg_passsec, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, SO_PASSSEC); }
CASE(recvmsg_wifi_status, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, SO_WIFI_STATUS); }
CASE(recvmsg_rcvpriority, 0) { recvmsg_raw_cmsgs(SOL_SOCKET, 82); }
CASE(recvmsg_recverr_rfc4884, 0) { recvmsg_raw_cmsgs(IPPROTO_IP, IP_RECVERR_RFC4884); }
CASE(recvmsg_timestamping_rx, 0)
{
	recvmsg_raw_cmsgs(SOL_SOCKET, SO_TIMESTAMPING);
}
/* All of them at once: Linux's order (sock_recv_cmsgs, then the IP ones). */
CASE(recvmsg_cmsg_order, 0)
{
	union { char b[1024]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = udp_sock();
	static const int opts[][2] = {
		{ IPPROTO_IP, IP_RECVORIGDSTADDR }, { IPPROTO_IP, IP_RECVTOS }, { SOL_SOCKET, 82 },
		{ IPPROTO_IP, IP_PKTINFO }, { SOL_SOCKET, SO_RCVMARK }, { IPPROTO_IP, IP_RECVTTL },
		{ SOL_SOCKET, SO_TIMESTAMPNS },
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		seti(s, opts[i][0], opts[i][1], 1);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	if (R(recvmsg(s, &m, 0)) < 0)
		return;
	emit("controllen=%zu", (size_t)m.msg_controllen);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		emit("%d/%d:%zu", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len);
}
/* Another thread shuts the socket this thread is blocked on: the call
 * wakes (recv 0, accept EINVAL, a connect under way its error, poll the
 * new events, a UDP recv 0). */
struct shutter {
	pthread_t th;
	pid_t tid;
	int fd, how;
};
static void *shutter_main(void *p)
{
	struct shutter *t = p;

	await_asleep(t->tid);
	shutdown(t->fd, t->how);
	return NULL;
}
static void shut_from_thread(int fd, int how, int call)
{
	struct shutter t = { .tid = gettid(), .fd = fd, .how = how };
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char b[8];

	set_timeo(fd, SO_RCVTIMEO, 2000);
	set_timeo(fd, SO_SNDTIMEO, 2000);
	need(pthread_create(&t.th, NULL, shutter_main, &t) == 0, "pthread_create");
	switch (call) {
	case 0:
		R(recv(fd, b, sizeof(b), 0));
		break;
	case 1:
		R(accept(fd, NULL, NULL));
		break;
	case 2:
		R(connect_to(fd, PEER, P_DROP));
		break;
	case 3:
		R(poll(&p, 1, 2000));
		emit("revents=%#x", p.revents);
		break;
	}
	pthread_join(t.th, NULL);
	emit_so_error(fd);
	if (call == 2)
		R(connect_to(fd, PEER, P_ECHO));
}
CASE(shutdown_from_thread_recv, 0) { shut_from_thread(tcp_to(P_SINK), SHUT_RD, 0); }
CASE(shutdown_from_thread_recv_rdwr, 0) { shut_from_thread(tcp_to(P_SINK), SHUT_RDWR, 0); }
CASE(shutdown_from_thread_recv_wr, 0) { shut_from_thread(tcp_to(P_ECHO), SHUT_WR, 0); }
CASE(shutdown_from_thread_accept, 0) { shut_from_thread(tcp_listener(), SHUT_RDWR, 1); }
CASE(shutdown_from_thread_connect, 0) { shut_from_thread(tcp_sock(), SHUT_RDWR, 2); }
CASE(shutdown_from_thread_poll, 0) { shut_from_thread(tcp_to(P_SINK), SHUT_RD, 3); }
CASE(shutdown_from_thread_udp_recv, 0) { shut_from_thread(udp_to(P_USINK), SHUT_RD, 0); }
CASE(shutdown_from_thread_udp_poll, 0) { shut_from_thread(udp_to(P_USINK), SHUT_RDWR, 3); }
/* Another thread disconnects (connect AF_UNSPEC) the socket this thread is
 * blocked on: what the blocked call returns, then the socket's error. */
static void *disconnecter_main(void *p)
{
	struct shutter *t = p;
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };

	await_asleep(t->tid);
	connect(t->fd, (struct sockaddr *)&u, sizeof(u));
	return NULL;
}
static void disc_from_thread(int fd, int call)
{
	struct shutter t = { .tid = gettid(), .fd = fd };
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	static char big[1 << 20];

	set_timeo(fd, SO_RCVTIMEO, 2000);
	set_timeo(fd, SO_SNDTIMEO, 2000);
	if (call == 2)
		fill(fd);
	need(pthread_create(&t.th, NULL, disconnecter_main, &t) == 0, "pthread_create");
	switch (call) {
	case 0:
		R(recv(fd, big, 16, 0));
		break;
	case 1:
		R(accept(fd, NULL, NULL));
		break;
	case 2:
		R(send(fd, big, sizeof(big), MSG_NOSIGNAL));
		break;
	case 3:
		p.events = POLLIN | POLLRDHUP;
		R(poll(&p, 1, 2000));
		emit("revents=%#x", p.revents);
		break;
	case 4:
		R(connect_to(fd, PEER, P_DROP));
		break;
	}
	pthread_join(t.th, NULL);
	emit_so_error(fd);
	R(recv(fd, big, 16, MSG_DONTWAIT));
}
CASE(disconnect_from_thread_recv, 0) { disc_from_thread(tcp_to(P_SINK), 0); }
CASE(disconnect_from_thread_accept, 0) { disc_from_thread(tcp_listener(), 1); }
CASE(disconnect_from_thread_send, 0) { disc_from_thread(tcp_to(P_STALL), 2); }
CASE(disconnect_from_thread_poll, 0) { disc_from_thread(tcp_to(P_SINK), 3); }
CASE(disconnect_from_thread_connect, 0) { disc_from_thread(tcp_sock(), 4); }
CASE(disconnect_from_thread_udp_recv, 0) { disc_from_thread(udp_to(P_USINK), 0); }
/* IP_PKTOPTIONS on TCP (ip_getsockopt): the control messages of the flags
 * set, from the socket's own address, multicast TTL and received TOS. */
static void emit_pktoptions(int s)
{
	union { char b[256]; struct cmsghdr a; } c;
	socklen_t l = sizeof(c.b);
	struct msghdr m = { .msg_control = c.b };

	memset(&c, 0, sizeof(c));
	if (R(getsockopt(s, IPPROTO_IP, IP_PKTOPTIONS, c.b, &l)) < 0)
		return;
	m.msg_controllen = l;
	emit("len=%u", (unsigned)l);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			char a[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

			memcpy(&pi, CMSG_DATA(h), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof(a));
			inet_ntop(AF_INET, &pi.ipi_addr, d, sizeof(d));
			emit("pktinfo=%s,%s,if%d", a, d, pi.ipi_ifindex);
		} else {
			int v;

			memcpy(&v, CMSG_DATA(h), sizeof(v));
			emit("%d/%d=%d", h->cmsg_level, h->cmsg_type, v);
		}
	}
}
static void pktoptions_flags(int s)
{
	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	seti(s, IPPROTO_IP, IP_RECVTOS, 1);
}
CASE(ip_pktoptions_tcp, 0)
{
	int s = tcp_sock(), c = tcp_to(P_ECHO);

	emit_pktoptions(s);
	pktoptions_flags(s);
	emit_pktoptions(s);
	pktoptions_flags(c);
	emit_pktoptions(c);
	R(getsockopt(udp_sock(), IPPROTO_IP, IP_PKTOPTIONS, (char[64]){ 0 }, &(socklen_t){ 64 }));
}
CASE(ip_pktoptions_accepted, 0)
{
	int c = tcp_accepted("hello");

	pktoptions_flags(c);
	wait_bytes(c, HELLO_LEN);
	emit_pktoptions(c);
}
/* A send blocked on a full buffer, the socket shut by another thread:
 * SHUT_WR ends it (EPIPE and SIGPIPE), SHUT_RD does not (its time runs out). */
static void shut_send_from_thread(int how)
{
	int fd = tcp_to(P_STALL);
	struct shutter t = { .tid = gettid(), .fd = fd, .how = how };
	static char big[1 << 20];

	handle(SIGPIPE, false);
	fill(fd);
	set_timeo(fd, SO_SNDTIMEO, 300);
	need(pthread_create(&t.th, NULL, shutter_main, &t) == 0, "pthread_create");
	R(send(fd, big, sizeof(big), 0));
	pthread_join(t.th, NULL);
	emit_so_error(fd);
}
CASE(shutdown_from_thread_send_wr, 0) { shut_send_from_thread(SHUT_WR); }
CASE(shutdown_from_thread_send_rd, 0) { shut_send_from_thread(SHUT_RD); }
CASE(shutdown_from_thread_send_rdwr, 0) { shut_send_from_thread(SHUT_RDWR); }
/* AF_INET6 sockets (IPv4-mapped peers): IPPROTO_IPV6 and IPPROTO_IP swept. */
static int inet6_sock(int type)
{
	int s = socket(AF_INET6, type, 0);

	need(s >= 0, "socket");
	return s;
}
static void sweep_inet6(int s, bool tcp)
{
	emit("IPV6");
	sweep_level(s, IPPROTO_IPV6, 80, 0);
	emit("IP");
	sweep_level(s, IPPROTO_IP, 70, 0);
	emit("SOL_SOCKET");
	sweep_level(s, SOL_SOCKET, 80, tcp ? SWEEP_CONNECTED : 0);
}
CASE(sweep_getsockopt_tcp6_fresh, 0) { sweep_inet6(inet6_sock(SOCK_STREAM), true); }
CASE(sweep_getsockopt_tcp6_connected, 0) { sweep_inet6(inet6_to(SOCK_STREAM, P_ECHO), true); }
CASE(sweep_getsockopt_udp6_fresh, 0) { sweep_inet6(inet6_sock(SOCK_DGRAM), false); }
CASE(sweep_getsockopt_udp6_connected, 0) { sweep_inet6(inet6_to(SOCK_DGRAM, P_UECHO), false); }
/* The calls on an AF_INET6 socket with a mapped peer, as state_ops does. */
CASE(state_ops_tcp6_connected, 0) { state_ops(inet6_to(SOCK_STREAM, P_ECHO)); }
CASE(state_ops_udp6_connected, 0) { state_ops(inet6_to(SOCK_DGRAM, P_USINK)); }
CASE(inet6_udp_echo_recvfrom, 0)
{
	int s = inet6_to(SOCK_DGRAM, P_UECHO);
	struct sockaddr_in6 f;
	socklen_t fl = sizeof(f);
	char b[16];

	R(send(s, "abc", 3, 0));
	wait_in(s);
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&f, &fl));
	emit_addr(&f, fl);
	emit_sockname(s);
}
/* An AF_INET6 listener on :: takes IPv4 connections (mapped addresses);
 * with IPV6_V6ONLY it does not. */
static int inet6_listener(bool v6only)
{
	int l = inet6_sock(SOCK_STREAM), one = 1;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)case_port()) };

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6only)
		seti(l, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	need(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	need(listen(l, 8) == 0, "listen");
	return l;
}
CASE(inet6_listener_accepts_v4, 0)
{
	int l = inet6_listener(false), c;
	struct sockaddr_in6 a;
	socklen_t al = sizeof(a);

	emit_sockname(l);
	peer("connect %d hold", case_port());
	RFD(c = accept(l, (struct sockaddr *)&a, &al));
	emit_addr(&a, al);
	emit_sockname(c);
	emit_peername(c);
	sweep_inet6(c, true);
}
CASE(inet6_listener_v6only, 0)
{
	int l = inet6_listener(true);

	fcntl(l, F_SETFL, O_NONBLOCK);
	emit("v6only=%d", geti(l, IPPROTO_IPV6, IPV6_V6ONLY));
	R(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)));
	R(accept(l, NULL, NULL));
}
/* An AF_INET6 UDP socket's receive options on IPv4 datagrams (mapped):
 * IPV6_PKTINFO with the mapped destination, the hop limit, the class. */
static void recvmsg6_option(int level, int name)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int s = inet6_to(SOCK_DGRAM, P_UECHO);

	R(setsockopt(s, level, name, &(int){ 1 }, sizeof(int)));
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, 0)) < 0)
		return;
	emit("controllen=%zu", (size_t)m.msg_controllen);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		const unsigned char *d = CMSG_DATA(h);
		size_t n = h->cmsg_len - CMSG_LEN(0);
		char hex[48] = "";

		for (size_t i = 0; i < n && i < 20; i++)
			snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", d[i]);
		emit("%d/%d:%zu:%s", h->cmsg_level, h->cmsg_type, n, hex);
	}
}
CASE(recvmsg6_pktinfo, 0) { recvmsg6_option(IPPROTO_IPV6, IPV6_RECVPKTINFO); }
CASE(recvmsg6_hoplimit, 0) { recvmsg6_option(IPPROTO_IPV6, IPV6_RECVHOPLIMIT); }
CASE(recvmsg6_tclass, 0) { recvmsg6_option(IPPROTO_IPV6, IPV6_RECVTCLASS); }
CASE(recvmsg6_ip_pktinfo, 0) { recvmsg6_option(IPPROTO_IP, IP_PKTINFO); }
CASE(recvmsg6_ip_ttl, 0) { recvmsg6_option(IPPROTO_IP, IP_RECVTTL); }
CASE(recvmsg6_origdstaddr, 0) { recvmsg6_option(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR); }
CASE(recvmsg6_rcvmark, 0) { recvmsg6_option(SOL_SOCKET, SO_RCVMARK); }
/* An AF_INET6 UDP socket sending to an IPv4-mapped peer: the IPv6 options
 * and control messages, and the TTL and TOS the datagram carries. */
static void udp6_ttl_report(int s)
{
	char b[64] = "";

	wait_in(s);
	if (R(recv(s, b, sizeof(b) - 1, 0)) > 0)
		emit("%s", b);
}
CASE(udp6_mapped_send_opts, 0)
{
	int s = inet6_to(SOCK_DGRAM, P_UTTL);

	R(send(s, "x", 1, 0));
	udp6_ttl_report(s);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &(int){ 9 }, sizeof(int)));
	R(send(s, "x", 1, 0));
	udp6_ttl_report(s);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &(int){ 0x20 }, sizeof(int)));
	R(send(s, "x", 1, 0));
	udp6_ttl_report(s);
	R(setsockopt(s, IPPROTO_IP, IP_TTL, &(int){ 7 }, sizeof(int)));
	R(setsockopt(s, IPPROTO_IP, IP_TOS, &(int){ 0x10 }, sizeof(int)));
	R(send(s, "x", 1, 0));
	udp6_ttl_report(s);
}
static void udp6_send_cmsg(int level, int type, const void *data, size_t n)
{
	int s = inet6_to(SOCK_DGRAM, P_UTTL);
	union { char b[128]; struct cmsghdr a; } c;
	struct iovec v = { "x", 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = CMSG_SPACE(n) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	memset(&c, 0, sizeof(c));
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(h), data, n);
	if (R(sendmsg(s, &m, 0)) > 0)
		udp6_ttl_report(s);
}
CASE(udp6_mapped_cmsg_hoplimit, 0) { int v = 9; udp6_send_cmsg(IPPROTO_IPV6, IPV6_HOPLIMIT, &v, sizeof(v)); }
CASE(udp6_mapped_cmsg_tclass, 0) { int v = 0x20; udp6_send_cmsg(IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)); }
CASE(udp6_mapped_cmsg_ip_ttl, 0) { int v = 9; udp6_send_cmsg(IPPROTO_IP, IP_TTL, &v, sizeof(v)); }
CASE(udp6_mapped_cmsg_pktinfo6, 0)
{
	struct in6_pktinfo pi;

	memset(&pi, 0, sizeof(pi));
	inet_pton(AF_INET6, "::ffff:" SELF, &pi.ipi6_addr);
	udp6_send_cmsg(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
}
CASE(udp6_mapped_cmsg_pktinfo6_foreign, 0)
{
	struct in6_pktinfo pi;

	memset(&pi, 0, sizeof(pi));
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &pi.ipi6_addr);
	udp6_send_cmsg(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
}
/* SIOCOUTQ counts a FIN not yet acknowledged (write_seq - snd_una): one
 * more after SHUT_WR to a peer whose window is full; SIOCOUTQNSD too. */
CASE(ioctl_outq_fin_counts, 0)
{
	int s = tcp_to(P_STALL), a = -1, b = -1, c = -1, d = -1;

	fill(s);
	R(ioctl(s, SIOCOUTQ, &a));
	R(ioctl(s, SIOCOUTQNSD, &c));
	R(shutdown(s, SHUT_WR));
	R(ioctl(s, SIOCOUTQ, &b));
	R(ioctl(s, SIOCOUTQNSD, &d));
	emit("outq+%d nsd+%d", b - a, d - c);
}
/* Edge-triggered EPOLLOUT: a UDP send frees its buffer and wakes the
 * writers (sock_wfree: a new edge); a TCP send to a silent peer does not
 * (tcp_check_space wakes only after the buffer was full). */
static void epoll_et_out(int s, int peer_wait_fd)
{
	int ep = epoll_create1(0);

	R(ep_add(ep, s, EPOLLOUT | EPOLLET));
	ep_wait(ep, 0);
	ep_wait(ep, 0);
	R(send(s, "x", 1, 0));
	if (peer_wait_fd >= 0)
		wait_in(peer_wait_fd);
	ep_wait(ep, 100);
	ep_wait(ep, 0);
}
CASE(epoll_et_out_udp, 0)
{
	int s = udp_to(P_USINK);

	epoll_et_out(s, -1);
}
CASE(epoll_et_out_udp_echo, 0)
{
	int s = udp_to(P_UECHO);

	epoll_et_out(s, s);
}
CASE(epoll_et_out_tcp, 0) { epoll_et_out(tcp_to(P_SINK), -1); }
/* epoll: no events asked still reports an error and a hang-up; EPOLLWAKEUP
 * is never reported. */
CASE(epoll_events_zero_rst, 0)
{
	int ep = epoll_create1(0), s = tcp_reset();

	R(ep_add(ep, s, 0));
	ep_wait(ep, 0);
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &(struct epoll_event){ .events = EPOLLIN | EPOLLWAKEUP, .data.u64 = 7 }));
	ep_wait(ep, 0);
}
CASE(poll_events_zero_states, 0)
{
	struct pollfd p[3] = { { .fd = tcp_reset() }, { .fd = tcp_sock() }, { .fd = tcp_listener() } };

	R(poll(p, 3, 0));
	emit("%#x %#x %#x", p[0].revents, p[1].revents, p[2].revents);
}
/* IPV6_V6ONLY sockets and IPv4-mapped addresses: no IPv4 for them. */
CASE(inet6_v6only_mapped, 0)
{
	struct sockaddr_in6 p = { .sin6_family = AF_INET6, .sin6_port = htons(P_ECHO) };
	struct sockaddr_in6 u = { .sin6_family = AF_INET6, .sin6_port = htons(P_UECHO) };
	struct sockaddr_in6 me = { .sin6_family = AF_INET6 };
	int t = inet6_sock(SOCK_STREAM), d = inet6_sock(SOCK_DGRAM), b = inet6_sock(SOCK_DGRAM), c = inet6_sock(SOCK_DGRAM);

	inet_pton(AF_INET6, "::ffff:" PEER, &p.sin6_addr);
	inet_pton(AF_INET6, "::ffff:" PEER, &u.sin6_addr);
	inet_pton(AF_INET6, "::ffff:" SELF, &me.sin6_addr);
	seti(t, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	seti(d, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	seti(b, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	R(connect(t, (struct sockaddr *)&p, sizeof(p)));
	R(sendto(d, "x", 1, 0, (struct sockaddr *)&u, sizeof(u)));
	R(connect(d, (struct sockaddr *)&u, sizeof(u)));
	R(bind(b, (struct sockaddr *)&me, sizeof(me)));
	R(bind(c, (struct sockaddr *)&me, sizeof(me)));
	emit_sockname(c);
	R(setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int)));
	R(sendto(c, "x", 1, 0, (struct sockaddr *)&u, sizeof(u)));
}
/* SO_LINGER's values read back: l_onoff as a flag, l_linger through
 * Linux's jiffies (a negative or huge one is the longest wait). */
CASE(setsockopt_linger_values, 0)
{
	static const int vals[][2] = { { 5, 3 }, { 1, -5 }, { 1, INT_MAX }, { 0, 7 }, { 1, 0 }, { 1, 2147483 } };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		int s = tcp_sock(), u = udp_sock();
		struct linger l = { vals[i][0], vals[i][1] };
		socklen_t n = sizeof(l);

		R(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
		memset(&l, 0x5a, sizeof(l));
		R(getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &n));
		emit("on=%d linger=%d", l.l_onoff, l.l_linger);
		l = (struct linger){ vals[i][0], vals[i][1] };
		R(setsockopt(u, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
		n = sizeof(l);
		R(getsockopt(u, SOL_SOCKET, SO_LINGER, &l, &n));
		emit("on=%d linger=%d", l.l_onoff, l.l_linger);
		close(s);
		close(u);
	}
}
/* SO_RCVTIMEO and SO_SNDTIMEO read back (in jiffies: rounded up). */
CASE(setsockopt_timeo_values, 0)
{
	static const long vals[][2] = { { 0, 1 }, { 0, 999999 }, { 1, 500 }, { 0, 0 }, { 100000000, 0 }, { -1, 0 } };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		int s = tcp_to(P_SINK);
		struct timeval tv = { vals[i][0], vals[i][1] };
		socklen_t n = sizeof(tv);

		R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
		memset(&tv, 0, sizeof(tv));
		R(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &n));
		emit("%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
		close(s);
	}
}
/* UDP receive flags: MSG_WAITALL waits for one datagram only; an error
 * queue entry read with MSG_PEEK is taken anyway (ip_recv_error), and one
 * read without room for its message says MSG_CTRUNC. */
CASE(udp_recv_waitall, 0)
{
	int s = udp_echoed("abc");
	char b[64];

	R(recv(s, b, sizeof(b), MSG_WAITALL));
}
CASE(udp_errqueue_peek_ctrunc, 0)
{
	int s = udp_to(P_UCLOSED);
	union { char b[256]; struct cmsghdr a; } c;
	char b[16];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(send(s, "one", 3, 0) == 3, "send");
	wait_err(s);
	need(send(s, "two", 3, 0) == 3 || errno == ECONNREFUSED, "send");
	wait_err(s);
	R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_PEEK));
	emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
	m.msg_controllen = 0;
	m.msg_control = NULL;
	m.msg_flags = 0;
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
	m.msg_control = c.b;
	m.msg_controllen = sizeof(c.b);
	R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT));
	emit_so_error(s);
}
/* IP_MULTICAST_ALL off: a socket that did not join gets none of the
 * group's datagrams another socket joined for (ip_mc_sf_allow). */
CASE(udp_mcast_all_off, 0)
{
	int s = udp_sock(), t = udp_sock(), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(s, "0.0.0.0", case_port());
	bind_to(t, "0.0.0.0", case_port());
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_ALL, &(int){ 0 }, sizeof(int)));
	emit("all=%d", geti(s, IPPROTO_IP, IP_MULTICAST_ALL));
	R(join(t, "239.1.2.11", SELF, IP_ADD_MEMBERSHIP));
	peer("mcast 239.1.2.11 %d hello", case_port());
	mcast_recv(t, WAIT_MS);
	mcast_recv(s, 300);
}
/* Edge-triggered EPOLLIN: a read that leaves bytes is no new edge; new
 * data, a datagram, the peer's FIN are. */
CASE(epoll_et_in_partial_read_tcp, 0)
{
	int s = tcp_hello(), ep = epoll_create1(0);
	char b[16];

	R(ep_add(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET));
	ep_wait(ep, 0);
	R(recv(s, b, 5, 0));
	ep_wait(ep, 50);
	R(send(s, "x", 1, 0));      /* the sink never answers */
	ep_wait(ep, 50);
}
CASE(epoll_et_in_partial_read_udp, 0)
{
	int s = udp_to(P_UECHO), ep = epoll_create1(0);
	char b[16];

	need(send(s, "one", 3, 0) == 3, "send");
	wait_in(s);
	need(send(s, "two", 3, 0) == 3, "send");
	wait_dgram_after(s, 3);
	R(ep_add(ep, s, EPOLLIN | EPOLLET));
	ep_wait(ep, 0);
	R(recv(s, b, sizeof(b), 0));
	ep_wait(ep, 50);
	R(recv(s, b, sizeof(b), 0));
	ep_wait(ep, 0);
	need(send(s, "three", 5, 0) == 5, "send");
	ep_wait(ep, WAIT_MS);
}
CASE(epoll_et_in_fin, 0)
{
	int s = tcp_to(P_ECHO), ep = epoll_create1(0);
	char b[16];

	R(ep_add(ep, s, EPOLLIN | EPOLLRDHUP | EPOLLET));
	ep_wait(ep, 0);
	R(send(s, "ab", 2, 0));
	ep_wait(ep, WAIT_MS);
	R(recv(s, b, sizeof(b), 0));
	R(shutdown(s, SHUT_WR));
	ep_wait(ep, WAIT_MS);
	ep_wait(ep, 0);
}
/* Two UDP sockets on one port (SO_REUSEADDR): a unicast datagram goes to
 * one of them, which (Linux: the one bound last). */
CASE(udp_reuseaddr_unicast_to_which, 0)
{
	int a = udp_sock(), b = udp_sock();
	struct sockaddr_in any = sin4("0.0.0.0", case_port());
	char buf[16];
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	R(bind(a, (struct sockaddr *)&any, sizeof(any)));
	R(bind(b, (struct sockaddr *)&any, sizeof(any)));
	peer("udp %d one", case_port());
	R(poll(p, 2, WAIT_MS));
	emit("a=%#x b=%#x", p[0].revents, p[1].revents);
	R(recv(a, buf, sizeof(buf), MSG_DONTWAIT));
	R(recv(b, buf, sizeof(buf), MSG_DONTWAIT));
}
/* One bound to the address, one to any: the more specific one gets it. */
CASE(udp_reuseaddr_specific_wins, 0)
{
	int a = udp_sock(), b = udp_sock();
	struct sockaddr_in self = sin4(SELF, case_port()), any = sin4("0.0.0.0", case_port());
	char buf[16];
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	R(bind(a, (struct sockaddr *)&self, sizeof(self)));
	R(bind(b, (struct sockaddr *)&any, sizeof(any)));
	peer("udp %d one", case_port());
	R(poll(p, 2, WAIT_MS));
	emit("a=%#x b=%#x", p[0].revents, p[1].revents);
	R(recv(a, buf, sizeof(buf), MSG_DONTWAIT));
	R(recv(b, buf, sizeof(buf), MSG_DONTWAIT));
}
/* A connected one beats an unconnected one on the same port. */
CASE(udp_reuseaddr_connected_wins, 0)
{
	int a = udp_sock(), b = udp_sock();
	struct sockaddr_in any = sin4("0.0.0.0", case_port());
	char buf[16];
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	R(bind(a, (struct sockaddr *)&any, sizeof(any)));
	R(bind(b, (struct sockaddr *)&any, sizeof(any)));
	R(connect_to(a, PEER, P_UECHO));
	peer("udp %d one", case_port());
	R(poll(p, 2, WAIT_MS));
	emit("a=%#x b=%#x", p[0].revents, p[1].revents);
	R(recv(b, buf, sizeof(buf), MSG_DONTWAIT));
}
/* Source-specific membership (IP_ADD_SOURCE_MEMBERSHIP, by the stack's
 * address): the source's datagrams come in, a source not listed is
 * filtered out; the filters' errors. */
static int src_filter(int s, int name, const char *group, const char *ifaddr, const char *src)
{
	struct ip_mreq_source m;

	memset(&m, 0, sizeof(m));
	inet_pton(AF_INET, group, &m.imr_multiaddr);
	inet_pton(AF_INET, ifaddr, &m.imr_interface);
	inet_pton(AF_INET, src, &m.imr_sourceaddr);
	return setsockopt(s, IPPROTO_IP, name, &m, sizeof(m));
}
CASE(udp_mcast_source_join_receive, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.10", SELF, PEER));
	peer("mcast 239.1.2.10 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.10", SELF, PEER));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.10", SELF, PEER));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.10", SELF, PEER));
	R(join(s, "239.1.2.10", SELF, IP_DROP_MEMBERSHIP));
}
CASE(udp_mcast_source_filtered, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.12", SELF, "192.0.2.77"));
	peer("mcast 239.1.2.12 %d hello", case_port());
	mcast_recv(s, 300);
	R(src_filter(s, IP_BLOCK_SOURCE, "239.1.2.12", SELF, PEER));
	R(join(s, "239.1.2.12", SELF, IP_ADD_MEMBERSHIP));
}
CASE(udp_mcast_block_source, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(src_filter(s, IP_BLOCK_SOURCE, "239.1.2.13", SELF, PEER));
	R(join(s, "239.1.2.13", SELF, IP_ADD_MEMBERSHIP));
	R(src_filter(s, IP_BLOCK_SOURCE, "239.1.2.13", SELF, PEER));
	R(src_filter(s, IP_BLOCK_SOURCE, "239.1.2.13", SELF, PEER));
	peer("mcast 239.1.2.13 %d hello", case_port());
	mcast_recv(s, 300);
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.13", SELF, PEER));
	R(src_filter(s, IP_UNBLOCK_SOURCE, "239.1.2.13", SELF, PEER));
	R(src_filter(s, IP_UNBLOCK_SOURCE, "239.1.2.13", SELF, PEER));
	peer("mcast 239.1.2.13 %d again", case_port());
	mcast_recv(s, WAIT_MS);
}
CASE(udp_mcast_source_errors, 0)
{
	int s = udp_sock();
	struct ip_mreq_source m;

	memset(&m, 0, sizeof(m));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof(m) - 1));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof(m) + 4));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, BAD, sizeof(m)));
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, PEER, SELF, PEER));
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.14", "198.51.100.1", PEER));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.14", SELF, PEER));
	R(src_filter(s, IP_UNBLOCK_SOURCE, "239.1.2.14", SELF, PEER));
	for (int i = 0; i < 11; i++) {
		char src[32];

		snprintf(src, sizeof(src), "192.0.2.%d", 100 + i);
		R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.14", "0.0.0.0", src));
	}
}
/* The same filters by group_source_req (MCAST_JOIN_SOURCE_GROUP & co). */
static int gsr(int s, int name, const char *group, const char *src, int gfam)
{
	struct group_source_req g;
	struct sockaddr_in *ga = (struct sockaddr_in *)&g.gsr_group, *sa = (struct sockaddr_in *)&g.gsr_source;

	memset(&g, 0, sizeof(g));
	g.gsr_interface = if_nametoindex("tap0");
	*ga = sin4(group, 0);
	*sa = sin4(src, 0);
	ga->sin_family = (sa_family_t)gfam;
	return setsockopt(s, IPPROTO_IP, name, &g, sizeof(g));
}
CASE(udp_mcast_join_source_group, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.15", PEER, AF_INET));
	peer("mcast 239.1.2.15 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.15", PEER, AF_INET));
	R(gsr(s, MCAST_BLOCK_SOURCE, "239.1.2.15", PEER, AF_INET));
	R(gsr(s, MCAST_LEAVE_SOURCE_GROUP, "239.1.2.15", PEER, AF_INET));
	R(gsr(s, MCAST_LEAVE_SOURCE_GROUP, "239.1.2.15", PEER, AF_INET));
	R(gsr(s, MCAST_UNBLOCK_SOURCE, "239.1.2.15", PEER, AF_INET));
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.15", PEER, AF_INET6));
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, PEER, PEER, AF_INET));
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP, &(char[300]){ 0 }, 100));
}
CASE(dup3_cloexec_socket, 0)
{
	int s = tcp_to(P_ECHO), t = 200;
	char b[4];

	RFD(dup3(s, t, O_CLOEXEC));
	emit("fd=%d", fcntl(t, F_GETFD));
	R(send(t, "ab", 2, 0));
	wait_bytes(s, 2);
	R(recv(s, b, 2, 0));
	R(dup3(s, t, O_NONBLOCK));
}

/* ===================================================================== */
/* TCP socket options and flags (issue 12): what each gives before and after
 * connect, its errors, and what shows from the program's side. */

#ifndef TCP_INQ
#define TCP_INQ 36
#define TCP_CM_INQ TCP_INQ
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SOF_TIMESTAMPING_OPT_RX_FILTER
#define SOF_TIMESTAMPING_OPT_RX_FILTER (1 << 17)
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif

static void set_r(int s, int level, int name, int v)
{
	R(setsockopt(s, level, name, &v, sizeof(v)));
}

/* POLLIN within MS milliseconds? (POLLERR alone, an error queue that is not
 * empty, does not end the wait.) */
static bool readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = ms - ms_since(&t0);

		if (poll(&p, 1, left > 0 ? (int)left : 0) != 1)
			return false;
		if (p.revents & POLLIN)
			return true;
		if (p.revents != POLLERR || left <= 0)
			return false;
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
}

/* Reads until N bytes came (or MS passed); returns how many. */
static size_t read_n_ms(int s, char *b, size_t n, long ms)
{
	size_t got = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < n && ms_since(&t0) < ms) {
		if (!readable_within(s, (int)(ms - ms_since(&t0))))
			break;
		ssize_t r = recv(s, b + got, n - got, MSG_DONTWAIT);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static size_t read_n(int s, char *b, size_t n)
{
	return read_n_ms(s, b, n, WAIT_MS);
}

static void get_cc(int s)
{
	char name[32];
	socklen_t l = sizeof(name);

	memset(name, 'x', sizeof(name));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, &l)) == 0)
		emit("len=%u name=%.*s", (unsigned)l, (int)strnlen(name, l), name);
}

CASE(tcpopt_maxseg_default, 0) { emit("mss=%d", geti(tcp_sock(), IPPROTO_TCP, TCP_MAXSEG)); }
CASE(tcpopt_maxseg_set_get, 0)
{
	int s = tcp_sock();

	set_r(s, IPPROTO_TCP, TCP_MAXSEG, 1000);
	emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(tcpopt_maxseg_bounds, 0)
{
	int s = tcp_sock();
	int v[] = { 87, 88, 536, 32767, 32768, 65535, 65536, -1, 0 };

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		set_r(s, IPPROTO_TCP, TCP_MAXSEG, v[i]);
		emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
	}
}
CASE(tcpopt_maxseg_short_len, 0)
{
	int v = 1000;

	R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_MAXSEG, &v, 2));
}
CASE(tcpopt_maxseg_get_short_len, 0)
{
	int v = -1;
	socklen_t l = 2;

	R(getsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_MAXSEG, &v, &l));
	emit("len=%u v=%d", (unsigned)l, v);
}
CASE(tcpopt_maxseg_then_connect, 0)
{
	int s = tcp_sock();

	set_r(s, IPPROTO_TCP, TCP_MAXSEG, 1000);
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(tcpopt_maxseg_connecting, 0)
{
	int s = tcp_sock(), d = tcp_sock();

	seti(s, IPPROTO_TCP, TCP_MAXSEG, 1000);
	fcntl(s, F_SETFL, O_NONBLOCK);
	fcntl(d, F_SETFL, O_NONBLOCK);
	R(connect_to(s, PEER, P_DROP));
	R(connect_to(d, PEER, P_DROP));
	emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
	emit("mss=%d", geti(d, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(tcpopt_maxseg_connected_set, 0)
{
	int s = tcp_to(P_ECHO);

	emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
	set_r(s, IPPROTO_TCP, TCP_MAXSEG, 700);
	emit("mss=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(tcpopt_maxseg_listener, 0)
{
	int l = tcp_listener();

	emit("mss=%d", geti(l, IPPROTO_TCP, TCP_MAXSEG));
	set_r(l, IPPROTO_TCP, TCP_MAXSEG, 1200);
	emit("mss=%d", geti(l, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(tcpopt_maxseg_accepted, 0)
{
	int l = tcp_listener(), c;

	set_r(l, IPPROTO_TCP, TCP_MAXSEG, 1000);
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("mss=%d", geti(c, IPPROTO_TCP, TCP_MAXSEG));
}

/* Options Linux refuses by state (do_tcp_setsockopt), which a socket that
 * was never connected takes: then the value read back. */
static void set_get(int s, int level, int name, int v)
{
	R(setsockopt(s, level, name, &v, sizeof(v)));
	emit("get=%d", geti(s, level, name == SO_RCVBUFFORCE && level == SOL_SOCKET ? SO_RCVBUF :
			    name == SO_SNDBUFFORCE && level == SOL_SOCKET ? SO_SNDBUF : name));
}
CASE(tcpopt_fastopen_by_state, 0)
{
	int l = tcp_listener();

	set_get(tcp_to(P_ECHO), IPPROTO_TCP, TCP_FASTOPEN, 5);
	set_get(l, IPPROTO_TCP, TCP_FASTOPEN, 5);
	set_get(tcp_sock(), IPPROTO_TCP, TCP_FASTOPEN, 5);
	set_get(tcp_to(P_ECHO), IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
	set_get(l, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
	set_get(tcp_sock(), IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1);
	set_get(tcp_to(P_ECHO), IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	set_get(l, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	set_get(tcp_to(P_ECHO), IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 2);
}
CASE(tcpopt_repair_by_state, 0)
{
	int v = 1, l = tcp_listener();

	R(setsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v)));
	R(setsockopt(l, IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v)));
	R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_QUEUE_SEQ, &v, sizeof(v)));
	R(setsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_QUEUE_SEQ, &v, 2));
	R(setsockopt(l, IPPROTO_TCP, 42 /* TCP_AO_REPAIR */, &v, sizeof(v)));
	R(setsockopt(tcp_to(P_ECHO), IPPROTO_TCP, 42 /* TCP_AO_REPAIR */, &v, sizeof(v)));
}
/* SO_RCVBUF/SO_SNDBUF as the kernel sizes them on a connection: a negative
 * size taken as unsigned (capped at rmem_max/wmem_max), a huge one capped,
 * both doubled. */
CASE(setsockopt_bufs_connected_extremes, 0)
{
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_RCVBUF, -1);
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_SNDBUF, -1);
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_RCVBUF, 1 << 30);
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_SNDBUF, 1 << 30);
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_RCVBUFFORCE, -1);
	set_get(tcp_to(P_ECHO), SOL_SOCKET, SO_SNDBUFFORCE, 1 << 22);
	set_get(tcp_listener(), SOL_SOCKET, SO_RCVBUF, -1);
	set_get(udp_to(P_UECHO), SOL_SOCKET, SO_RCVBUF, -1);
	set_get(udp_to(P_UECHO), SOL_SOCKET, SO_RCVBUF, 1 << 30);
}
CASE(tcpopt_window_clamp_default_connected, 0) { emit("v=%d", geti(tcp_to(P_ECHO), IPPROTO_TCP, TCP_WINDOW_CLAMP) > 0); }
CASE(tcpopt_congestion_set_get, 0)
{
	int s = tcp_sock();

	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	get_cc(s);
	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 6));
	get_cc(s);
}
CASE(tcpopt_congestion_unknown, 0)
{
	int s = tcp_sock();

	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8));
	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "", 0));
	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "x", 1));
	get_cc(s);
}
CASE(tcpopt_congestion_connected, 0)
{
	int s = tcp_to(P_ECHO);

	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 5));
	get_cc(s);
}
CASE(tcpopt_congestion_short_get, 0)
{
	int s = tcp_sock();
	char name[8] = "zzzzzzz";
	socklen_t l = 3;

	R(setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5));
	R(getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, &l));
	emit("len=%u name=%.7s", (unsigned)l, name);
}
CASE(tcpopt_congestion_accepted, 0)
{
	int l = tcp_listener(), c;

	R(setsockopt(l, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	get_cc(c);
}

CASE(tcpopt_syncnt, 0)
{
	int s = tcp_sock();
	int v[] = { 0, 1, 127, 128, -1, 3 };

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_SYNCNT));
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		set_r(s, IPPROTO_TCP, TCP_SYNCNT, v[i]);
		emit("v=%d", geti(s, IPPROTO_TCP, TCP_SYNCNT));
	}
}
CASE(tcpopt_syncnt_timeout, 8000)
{
	int s = tcp_sock();
	struct timespec t0;

	seti(s, IPPROTO_TCP, TCP_SYNCNT, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	conn(s, PEER, P_DROP);
	emit("s=%ld", ms_since(&t0) / 1000);
}
CASE(tcpopt_linger2, 0)
{
	int s = tcp_sock();
	int v[] = { 0, 5, -1, 10000, 3 };

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_LINGER2));
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		set_r(s, IPPROTO_TCP, TCP_LINGER2, v[i]);
		emit("v=%d", geti(s, IPPROTO_TCP, TCP_LINGER2));
	}
}
CASE(tcpopt_linger2_connected, 0)
{
	int s = tcp_to(P_ECHO);

	set_r(s, IPPROTO_TCP, TCP_LINGER2, 7);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_LINGER2));
}
CASE(tcpopt_window_clamp, 0)
{
	int s = tcp_sock();
	int v[] = { 100, 5000, 0, -1 };

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		set_r(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, v[i]);
		emit("v=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	}
}
CASE(tcpopt_window_clamp_connected, 0)
{
	int s = tcp_sock();

	seti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, 10000);
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	set_r(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
	set_r(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, 20000);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}
CASE(tcpopt_defer_accept_values, 0)
{
	int s = tcp_sock();
	int v[] = { 1, 2, 3, 5, 30, 0, -1, 1000 };

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		set_r(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, v[i]);
		emit("v=%d", geti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	}
}
CASE(tcpopt_defer_accept_data, 0)
{
	int l = tcp_listener();
	char b[32];

	seti(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
	peer("connect %d hello", case_port());
	emit("ready=%d", readable_within(l, WAIT_MS));
	int c = accept(l, NULL, NULL);

	need(c >= 0, "accept");
	R(recv(c, b, sizeof(b), MSG_DONTWAIT));
}
CASE(tcpopt_defer_accept_no_data, 6000)
{
	int l = tcp_listener();
	struct timespec t0;

	seti(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
	fcntl(l, F_SETFL, O_NONBLOCK);
	peer("connect %d hold", case_port());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(accept(l, NULL, NULL));
	/* Linux: the SYN-ACK goes again after 1 s, and the peer's answer completes it. */
	emit("ready=%d", readable_within(l, 3000));
	emit("s=%ld", (ms_since(&t0) + 500) / 1000);
	RFD(accept(l, NULL, NULL));
}
CASE(tcpopt_quickack, 0)
{
	int s = tcp_sock();

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 0);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 1);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 2);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}
CASE(tcpopt_quickack_connected, 0)
{
	int s = tcp_to(P_ECHO);

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 0);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 1);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}

/* Interactive mode (Linux's pingpong): TCP_QUICKACK 0 before connect()
 * makes the handshake's ACK wait for data (tcp_rcv_synsent_state_process),
 * which starts quick-ACK mode and so ends the interactive mode: 1 after. */
CASE(tcpopt_quickack_before_connect, 0)
{
	int s = tcp_sock();

	seti(s, IPPROTO_TCP, TCP_QUICKACK, 0);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}
CASE(tcpopt_quickack_accepted, 0)
{
	int l = tcp_listener(), c;

	seti(l, IPPROTO_TCP, TCP_QUICKACK, 0);
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	emit("l=%d c=%d", geti(l, IPPROTO_TCP, TCP_QUICKACK), geti(c, IPPROTO_TCP, TCP_QUICKACK));
}
/*
 * Data sent within the delayed-ACK timeout (40 ms) of the peer's is a reply:
 * the connection turns interactive (0); the delayed ACK of the next data,
 * which no reply carries, ends that when its timer runs (1 again).
 */
CASE(tcpopt_quickack_interactive, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	R(send(s, "x", 1, 0));
	emit("got=%zu", read_n(s, b, 1));
	R(send(s, "y", 1, 0));
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	emit("got=%zu", read_n(s, b, 1));
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}
/* A disconnect (connect to AF_UNSPEC) clears the ACK state (Linux's
 * tcp_disconnect: inet_csk_delack_init). */
CASE(tcpopt_quickack_disconnect, 0)
{
	int s = tcp_to(P_ECHO);
	struct sockaddr a = { .sa_family = AF_UNSPEC };

	seti(s, IPPROTO_TCP, TCP_QUICKACK, 0);
	R(connect(s, &a, sizeof(a)));
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}
/* TCP_QUICKACK 2 (an even value): the owed ACK goes, and the connection
 * stays interactive (Linux's __tcp_sock_set_quickack). */
CASE(tcpopt_quickack_two, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	R(send(s, "x", 1, 0));
	emit("got=%zu", read_n(s, b, 1));
	R(send(s, "y", 1, 0));
	emit("got=%zu", read_n(s, b, 1));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 2);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	set_r(s, IPPROTO_TCP, TCP_QUICKACK, 2);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
}
/* A connecting socket with TCP_DEFER_ACCEPT holds the handshake's ACK for
 * data to carry it, at most 200 ms (TCP_DELACK_MAX): the peer's server
 * sees the connection (and sends its hello) only then; data sent at once
 * carries the ACK. */
CASE(tcpopt_defer_accept_connect, 0)
{
	int s = tcp_sock();
	struct timespec t0;
	char b[8];

	seti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	need(connect_to(s, PEER, P_HELLO) == 0, "connect");
	wait_bytes(s, HELLO_LEN);
	emit("late=%d", ms_since(&t0) >= 150);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	s = tcp_sock();
	seti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	R(send(s, "x", 1, 0));
	/* sent within 40 ms of the connection's end: a reply (interactive) */
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_QUICKACK));
	emit("got=%zu", read_n(s, b, 1));
	emit("late=%d", ms_since(&t0) >= 150);
}

CASE(tcpopt_cork, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16];

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_CORK));
	set_r(s, IPPROTO_TCP, TCP_CORK, 1);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_CORK));
	R(send(s, "ab", 2, 0));
	R(send(s, "cd", 2, 0));
	emit("early=%d", readable_within(s, 80));
	set_r(s, IPPROTO_TCP, TCP_CORK, 0);
	emit("got=%zu", read_n(s, b, 4));
}
CASE(tcpopt_cork_cap, 6000)
{
	int s = tcp_to(P_ECHO);
	char b[16];
	struct timespec t0;
	long ms;

	seti(s, IPPROTO_TCP, TCP_CORK, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(send(s, "ab", 2, 0));
	/* Held at least the minimum RTO (200 ms), then sent by the probe timer
	 * (Linux's tcp_check_probe_timer; its RTO comes from the route's cached
	 * RTT here, so only a bound is checked). */
	emit("held=%d", !readable_within(s, 150));
	emit("got=%zu", read_n_ms(s, b, 2, 4000));
	ms = ms_since(&t0);
	emit("late=%d", ms >= 150);
}
CASE(tcpopt_cork_full_segments, 0)
{
	int s = tcp_to(P_ECHO), mss = geti(s, IPPROTO_TCP, TCP_MAXSEG);
	static char b[8192], r[8192];

	seti(s, IPPROTO_TCP, TCP_CORK, 1);
	R(send(s, b, (size_t)mss + 10, 0));
	emit("got=%d", (int)read_n(s, r, (size_t)mss) - mss);
	emit("early=%d", readable_within(s, 50));
	R(close(dup(s)));
	emit("got=%zu", read_n(s, r, 10));
}
CASE(tcpopt_cork_shutdown_pushes, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16];

	seti(s, IPPROTO_TCP, TCP_CORK, 1);
	R(send(s, "abc", 3, 0));
	R(shutdown(s, SHUT_WR));
	emit("early=%d", readable_within(s, 100));
	emit("got=%zu", read_n(s, b, 3));
}
CASE(tcpopt_msg_more, 0)
{
	int s = tcp_to(P_ECHO);
	char b[16];

	R(send(s, "ab", 2, MSG_MORE));
	emit("early=%d", readable_within(s, 80));
	R(send(s, "cd", 2, 0));
	emit("got=%zu", read_n(s, b, 4));
}
CASE(tcpopt_msg_more_cap, 6000)
{
	int s = tcp_to(P_ECHO);
	char b[16];
	struct timespec t0;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(send(s, "ab", 2, MSG_MORE));
	/* Readable within 150 ms of the send: not held. A poll that returned
	 * later than that (this process not run for a while on a loaded
	 * machine) cannot tell, and counts as held. */
	emit("held=%d", !readable_within(s, 150) || ms_since(&t0) >= 150);
	emit("got=%zu", read_n_ms(s, b, 2, 4000));
	ms = ms_since(&t0);
	emit("late=%d", ms >= 150);
}

CASE(tcpopt_notsent_lowat, 0)
{
	int s = tcp_sock();

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
	set_r(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
	set_r(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, -1);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
}
CASE(tcpopt_notsent_lowat_poll, 0)
{
	int s = tcp_to(P_ECHO), ep = epoll_create1(0);
	struct pollfd p = { .fd = s, .events = POLLOUT };
	struct epoll_event e = { .events = EPOLLOUT };
	static char b[100];

	seti(s, IPPROTO_TCP, TCP_CORK, 1);
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100);
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
	R(send(s, b, 49, 0));
	R(poll(&p, 1, 0));
	emit("rev=%x", p.revents);
	R(epoll_wait(ep, &e, 1, 0));
	R(send(s, b, 1, 0));
	R(poll(&p, 1, 0));
	R(epoll_wait(ep, &e, 1, 0));
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 101);
	R(poll(&p, 1, 0));
	seti(s, IPPROTO_TCP, TCP_CORK, 0);
	R(poll(&p, 1, 1000));
	emit("rev=%x", p.revents);
}
CASE(tcpopt_notsent_lowat_send, 0)
{
	int s = tcp_to(P_ECHO);
	static char b[100];

	seti(s, IPPROTO_TCP, TCP_CORK, 1);
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 10);
	R(send(s, b, 20, MSG_DONTWAIT));
	R(send(s, b, 5, MSG_DONTWAIT));
}
CASE(tcpopt_notsent_lowat_stalled, 0)
{
	int s = tcp_to(P_STALL);
	struct pollfd p = { .fd = s, .events = POLLOUT };

	fill(s);
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1);
	R(poll(&p, 1, 0));
	R(send(s, "x", 1, MSG_DONTWAIT));
}

CASE(tcpopt_inq, 0)
{
	int s = tcp_sock();

	emit("v=%d", geti(s, IPPROTO_TCP, TCP_INQ));
	set_r(s, IPPROTO_TCP, TCP_INQ, 1);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_INQ));
	set_r(s, IPPROTO_TCP, TCP_INQ, 2);
	set_r(s, IPPROTO_TCP, TCP_INQ, -1);
	set_r(s, IPPROTO_TCP, TCP_INQ, 0);
	emit("v=%d", geti(s, IPPROTO_TCP, TCP_INQ));
}

/* recvmsg into b (n bytes) with room for control messages; prints them. */
static void recvmsg_show(int s, size_t n, int flags)
{
	char b[256];
	union { char c[512]; struct cmsghdr a; } ctl;
	struct iovec iov = { .iov_base = b, .iov_len = n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c,
			    .msg_controllen = sizeof(ctl.c) };
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (R(recvmsg(s, &m, flags)) < 0)
		return;
	emit("flags=%x", m.msg_flags);
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
		emit("cmsg=%d/%d/%zu", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len);
		if (h->cmsg_level == IPPROTO_TCP && h->cmsg_type == TCP_CM_INQ) {
			int v;

			memcpy(&v, CMSG_DATA(h), sizeof(v));
			emit("inq=%d", v);
		} else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_TIMESTAMPING_OLD) {
			struct timespec ts[3];

			memcpy(ts, CMSG_DATA(h), sizeof(ts));
			emit("sw=%d hw=%d", ts[0].tv_sec && labs(ts[0].tv_sec - now.tv_sec) < 10,
			     ts[2].tv_sec != 0 || ts[2].tv_nsec != 0);
		} else if (h->cmsg_level == SOL_IP && h->cmsg_type == IP_RECVERR) {
			struct sock_extended_err ee;
			struct sockaddr_in off;

			memcpy(&ee, CMSG_DATA(h), sizeof(ee));
			memcpy(&off, CMSG_DATA(h) + sizeof(ee), sizeof(off));
			emit("errno=%u origin=%u type=%u code=%u info=%u data=%u off=%d", ee.ee_errno, ee.ee_origin,
			     ee.ee_type, ee.ee_code, ee.ee_info, ee.ee_data, off.sin_family);
		}
	}
}

CASE(tcpopt_inq_cmsg, 0)
{
	int s = tcp_hello();

	seti(s, IPPROTO_TCP, TCP_INQ, 1);
	recvmsg_show(s, 5, 0);
	recvmsg_show(s, 7, 0);
	recvmsg_show(s, 7, MSG_DONTWAIT);
}
CASE(tcpopt_inq_cmsg_peek, 0)
{
	int s = tcp_hello();

	seti(s, IPPROTO_TCP, TCP_INQ, 1);
	recvmsg_show(s, 5, MSG_PEEK);
}
CASE(tcpopt_inq_cmsg_fin, 0)
{
	int s = tcp_to(P_FIN);

	seti(s, IPPROTO_TCP, TCP_INQ, 1);
	wait_in(s);
	recvmsg_show(s, 5, 0);
}
CASE(tcpopt_inq_cmsg_off, 0) { recvmsg_show(tcp_hello(), 5, 0); }

#define TS_TX (SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE)
CASE(tcpopt_timestamping_values, 0)
{
	int s = tcp_sock();

	emit("v=%d", geti(s, SOL_SOCKET, SO_TIMESTAMPING_OLD));
	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX);
	emit("v=%x", geti(s, SOL_SOCKET, SO_TIMESTAMPING_OLD));
	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX | SOF_TIMESTAMPING_OPT_ID);
	emit("v=%x", geti(s, SOL_SOCKET, SO_TIMESTAMPING_OLD));
	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, 1 << 30);
	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, 0);
	emit("v=%x", geti(s, SOL_SOCKET, SO_TIMESTAMPING_OLD));
}
CASE(tcpopt_timestamping_listener_opt_id, 0)
{
	set_r(tcp_listener(), SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX | SOF_TIMESTAMPING_OPT_ID);
}
CASE(tcpopt_timestamping_tx, 0)
{
	int s = tcp_to(P_ECHO);
	char b[32];

	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD,
	      TS_TX | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
	emit("v=%x", geti(s, SOL_SOCKET, SO_TIMESTAMPING_OLD));
	/* Each send waits for its echo: Linux's autocork would otherwise join
	 * the second to the first's buffer (one timestamp) when that is
	 * still on its way. */
	R(send(s, "0123456789", 10, 0));
	emit("got=%zu", read_n(s, b, 10));
	R(send(s, "abcde", 5, 0));
	emit("got=%zu", read_n(s, b, 5));
	emit("rev=%x", wait_ev(s, 0));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	emit("rev=%x", wait_ev(s, POLLOUT));
}
CASE(tcpopt_timestamping_tx_payload, 0)
{
	int s = tcp_to(P_ECHO);
	char b[32];

	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX | SOF_TIMESTAMPING_OPT_ID);
	R(send(s, "0123456789", 10, 0));
	emit("got=%zu", read_n(s, b, 10));
	recvmsg_show(s, 200, MSG_ERRQUEUE);
}
CASE(tcpopt_timestamping_tx_no_id, 0)
{
	int s = tcp_to(P_ECHO);
	char b[32];

	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX | SOF_TIMESTAMPING_OPT_TSONLY);
	R(send(s, "0123456789", 10, 0));
	emit("got=%zu", read_n(s, b, 10));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
}
CASE(tcpopt_timestamping_tx_sched_ack, 0)
{
	int s = tcp_to(P_ECHO);
	char b[32];

	set_r(s, SOL_SOCKET, SO_TIMESTAMPING_OLD, TS_TX | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_ACK |
	      SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY);
	R(send(s, "0123456789", 10, 0));
	emit("got=%zu", read_n(s, b, 10));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
}
/* Receive timestamps are asked for before the connection: the peer's hello
 * may arrive before a setsockopt made after it (Linux stamps only what
 * arrives while some socket wants stamps). */
static int tcp_hello_with(int name, int v)
{
	int s = tcp_sock();

	seti(s, SOL_SOCKET, name, v);
	need(connect_to(s, PEER, P_HELLO) == 0, "connect");
	wait_bytes(s, HELLO_LEN);
	return s;
}
/*
 * The same, once the data comes stamped: Linux turns receive stamps on for
 * the whole system from a work queue (net_enable_timestamp) when no socket
 * wanted them, so the first connections after the option may come unstamped;
 * a new connection is tried (bounded) until one has a stamp.
 */
static int stamped_hello(int name, int v)
{
	for (int i = 0;; i++) {
		union { char c[256]; struct cmsghdr a; } ctl;
		char b[8];
		struct iovec iov = { b, sizeof(b) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.c,
				    .msg_controllen = sizeof(ctl.c) };
		int s = tcp_hello_with(name, v);

		if (recvmsg(s, &m, MSG_PEEK) > 0 && CMSG_FIRSTHDR(&m))
			return s;
		need(i < 50, "no-stamp");
		close(s);
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	}
}
CASE(tcpopt_timestamping_rx, 0)
{
	recvmsg_show(stamped_hello(SO_TIMESTAMPING_OLD, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE),
		     5, 0);
}
/* Reporting without generating: Linux reports a stamp some other socket had
 * made the kernel take (system-wide) unless OPT_RX_FILTER; with it, none. */
CASE(tcpopt_timestamping_rx_report_only, 0)
{
	recvmsg_show(tcp_hello_with(SO_TIMESTAMPING_OLD, SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_RX_FILTER),
		     5, 0);
}
CASE(tcpopt_timestamp_tcp, 0) { recvmsg_show(stamped_hello(SO_TIMESTAMP, 1), 5, 0); }
CASE(tcpopt_timestampns_tcp, 0) { recvmsg_show(stamped_hello(SO_TIMESTAMPNS, 1), 5, 0); }

CASE(tcpopt_zerocopy_values, 0)
{
	int s = tcp_sock();

	emit("v=%d", geti(s, SOL_SOCKET, SO_ZEROCOPY));
	set_r(s, SOL_SOCKET, SO_ZEROCOPY, 1);
	emit("v=%d", geti(s, SOL_SOCKET, SO_ZEROCOPY));
	set_r(s, SOL_SOCKET, SO_ZEROCOPY, 2);
	set_r(s, SOL_SOCKET, SO_ZEROCOPY, -1);
	set_r(tcp_to(P_ECHO), SOL_SOCKET, SO_ZEROCOPY, 1);
	set_r(udp_sock(), SOL_SOCKET, SO_ZEROCOPY, 1);
}
CASE(tcpopt_zerocopy_notify, 0)
{
	int s = tcp_sock();
	char b[32];

	seti(s, SOL_SOCKET, SO_ZEROCOPY, 1);
	need(connect_to(s, PEER, P_ECHO) == 0, "connect");
	/* Each send waits for its echo (its data acknowledged): the three
	 * completions come in order and merge into one range while unread;
	 * a zero-length send takes no id. */
	R(send(s, "0123456789", 10, MSG_ZEROCOPY));
	emit("got=%zu", read_n(s, b, 10));
	R(send(s, "abcde", 5, MSG_ZEROCOPY));
	emit("got=%zu", read_n(s, b, 5));
	R(send(s, "", 0, MSG_ZEROCOPY));
	R(send(s, "xyz", 3, MSG_ZEROCOPY));
	emit("got=%zu", read_n(s, b, 3));
	emit("rev=%x", wait_ev(s, 0));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	R(send(s, "again", 5, MSG_ZEROCOPY));
	emit("got=%zu", read_n(s, b, 5));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
}
/* The error queue's POLLERR as poll, select (in the read and write sets,
 * Linux's POLLIN_SET and POLLOUT_SET) and epoll give it, with nothing to read. */
CASE(tcpopt_errqueue_poll_select_epoll, 0)
{
	int s = tcp_sock(), ep = epoll_create1(0);
	struct pollfd p = { .fd = s, .events = POLLIN };
	struct timeval tv = { 0, 0 };
	fd_set r, w;

	seti(s, SOL_SOCKET, SO_ZEROCOPY, 1);
	need(connect_to(s, PEER, P_SINK) == 0, "connect");
	R(send(s, "0123456789", 10, MSG_ZEROCOPY));
	emit("rev=%x", wait_ev(s, 0));
	R(poll(&p, 1, 0));
	emit("rev=%x", p.revents);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(s, &r);
	FD_SET(s, &w);
	R(select(s + 1, &r, &w, NULL, &tv));
	emit("r=%d w=%d", FD_ISSET(s, &r) != 0, FD_ISSET(s, &w) != 0);
	R(ep_add(ep, s, EPOLLIN));
	ep_wait(ep, 0);
	recvmsg_show(s, 16, MSG_ERRQUEUE);
	R(poll(&p, 1, 0));
	ep_wait(ep, 0);
}
CASE(tcpopt_zerocopy_flag_without_option, 0)
{
	int s = tcp_to(P_ECHO);
	char b[32];

	R(send(s, "0123456789", 10, MSG_ZEROCOPY));
	emit("got=%zu", read_n(s, b, 10));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
}
CASE(tcpopt_zerocopy_unconnected, 0)
{
	int s = tcp_sock();

	seti(s, SOL_SOCKET, SO_ZEROCOPY, 1);
	R(send(s, "0123456789", 10, MSG_ZEROCOPY | MSG_NOSIGNAL));
	recvmsg_show(s, 16, MSG_ERRQUEUE);
}

/* splice, tee */

CASE(splice_socket_to_pipe, 0)
{
	int s = tcp_hello(), p[2];
	char b[32];

	need(pipe(p) == 0, "pipe");
	R(splice(s, NULL, p[1], NULL, 5, 0));
	R(read(p[0], b, sizeof(b)));
	R(splice(s, NULL, p[1], NULL, 100, 0));
	R(read(p[0], b, sizeof(b)));
	/* SPLICE_F_NONBLOCK is about the pipe: a blocking socket still waits. */
	set_timeo(s, SO_RCVTIMEO, 200);
	R(splice(s, NULL, p[1], NULL, 100, SPLICE_F_NONBLOCK));
}
CASE(splice_socket_to_pipe_nonblock_socket, 0)
{
	int s = tcp_to(P_SINK), p[2];

	need(pipe(p) == 0, "pipe");
	fcntl(s, F_SETFL, O_NONBLOCK);
	R(splice(s, NULL, p[1], NULL, 100, 0));
}
CASE(splice_socket_to_pipe_rcvtimeo, 0)
{
	int s = tcp_to(P_SINK), p[2];

	need(pipe(p) == 0, "pipe");
	set_timeo(s, SO_RCVTIMEO, 300);
	R(splice(s, NULL, p[1], NULL, 100, 0));
}
CASE(splice_socket_eof, 0)
{
	int s = tcp_to(P_FIN), p[2];

	need(pipe(p) == 0, "pipe");
	wait_in(s);
	R(splice(s, NULL, p[1], NULL, 100, 0));
}
CASE(splice_pipe_to_socket, 0)
{
	int s = tcp_to(P_ECHO), p[2];
	char b[32];

	need(pipe(p) == 0, "pipe");
	need(write(p[1], "hello pipe", 10) == 10, "write");
	R(splice(p[0], NULL, s, NULL, 4, 0));
	R(splice(p[0], NULL, s, NULL, 100, 0));
	R(splice(p[0], NULL, s, NULL, 100, SPLICE_F_NONBLOCK));
	close(p[1]);
	R(splice(p[0], NULL, s, NULL, 100, 0));
	emit("got=%zu", read_n(s, b, 10));
}
CASE(splice_offsets, 0)
{
	int s = tcp_hello(), p[2];
	loff_t off = 0;

	need(pipe(p) == 0, "pipe");
	R(splice(s, &off, p[1], NULL, 5, 0));
	R(splice(s, NULL, p[1], &off, 5, 0));
	R(splice(p[0], &off, s, NULL, 5, 0));
	R(splice(p[0], NULL, s, &off, 5, 0));
	R(splice(s, BAD, p[1], NULL, 5, 0));
}
CASE(splice_socket_to_socket, 0) { R(splice(tcp_hello(), NULL, tcp_to(P_SINK), NULL, 5, 0)); }
CASE(splice_socket_to_file, 0) { R(splice(tcp_hello(), NULL, tmpfile_of(0), NULL, 5, 0)); }
CASE(splice_unconnected, 0)
{
	int p[2];

	need(pipe(p) == 0, "pipe");
	R(splice(tcp_sock(), NULL, p[1], NULL, 5, SPLICE_F_NONBLOCK));
	need(write(p[1], "abc", 3) == 3, "write");
	R(splice(p[0], NULL, tcp_sock(), NULL, 5, SPLICE_F_NONBLOCK));
	R(read(p[0], (char[8]){ 0 }, 8));
}
CASE(splice_listener, 0)
{
	int p[2], l = tcp_listener();

	need(pipe(p) == 0, "pipe");
	R(splice(l, NULL, p[1], NULL, 5, SPLICE_F_NONBLOCK));
	need(write(p[1], "abc", 3) == 3, "write");
	R(splice(p[0], NULL, l, NULL, 5, SPLICE_F_NONBLOCK));
}
CASE(splice_wrong_pipe_ends, 0)
{
	int p[2], s = tcp_hello();

	need(pipe(p) == 0, "pipe");
	R(splice(s, NULL, p[0], NULL, 5, 0));
	R(splice(p[1], NULL, s, NULL, 5, 0));
}
CASE(splice_bulk_echo, 0)
{
	int s = tcp_to(P_ECHO), p[2], q[2];
	static char b[200000], r[200000];
	size_t sent = 0, got = 0;

	need(pipe(p) == 0 && pipe(q) == 0, "pipe");
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (char)(i * 7);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (got < sizeof(b)) {
		if (sent < sizeof(b)) {
			ssize_t w = write(p[1], b + sent, sizeof(b) - sent);

			if (w > 0)
				sent += (size_t)w;
			ssize_t m = splice(p[0], NULL, s, NULL, 65536, SPLICE_F_NONBLOCK);

			need(m >= 0 || errno == EAGAIN, "splice-out");
		}
		if (sent == sizeof(b))
			shutdown(s, SHUT_WR);
		if (!readable_within(s, WAIT_MS))
			break;
		ssize_t n = splice(s, NULL, q[1], NULL, 65536, 0);

		need(n >= 0, "splice-in");
		if (n == 0)
			break;
		need(read(q[0], r + got, (size_t)n) == n, "read");
		got += (size_t)n;
	}
	emit("got=%zu same=%d", got, memcmp(b, r, sizeof(b)) == 0);
}
CASE(sendfile_socket_to_pipe_offset, 0)
{
	int p[2];
	off_t off = 0;

	need(pipe(p) == 0, "pipe");
	R(sendfile(p[1], tcp_hello(), &off, 5));
}
CASE(splice_udp, 0)
{
	int s = udp_echoed("dgram"), p[2];
	char b[32];

	need(pipe(p) == 0, "pipe");
	R(splice(s, NULL, p[1], NULL, 100, 0));
	R(read(p[0], b, sizeof(b)));
	need(write(p[1], "to-udp", 6) == 6, "write");
	R(splice(p[0], NULL, s, NULL, 100, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(splice_len_zero, 0)
{
	int p[2];

	need(pipe(p) == 0, "pipe");
	R(splice(tcp_hello(), NULL, p[1], NULL, 0, 0));
}
/* A socket with O_APPEND (F_SETFL keeps it): splice and sendfile refuse
 * to write to it (do_splice, do_splice_direct: EINVAL), a send does not;
 * reading from it is as usual. */
CASE(splice_append_socket, 0)
{
	int s = tcp_to(P_ECHO), p[2];

	need(pipe(p) == 0, "pipe");
	need(write(p[1], "hello", 5) == 5, "write");
	R(fcntl(s, F_SETFL, O_APPEND));
	emit("fl=%#x", fcntl(s, F_GETFL) & (O_APPEND | O_NONBLOCK));
	R(splice(p[0], NULL, s, NULL, 5, SPLICE_F_NONBLOCK));
	R(sendfile(s, tmpfile_of(100), NULL, 100));
	R(send(s, "x", 1, 0));
	wait_bytes(s, 1);
	R(splice(s, NULL, p[1], NULL, 1, 0));
	R(fcntl(s, F_SETFL, 0));
	R(splice(p[0], NULL, s, NULL, 5, SPLICE_F_NONBLOCK));
}
/* splice's own checks before it looks at the descriptors: a length of 0
 * is 0, then unknown flags are EINVAL (sys_splice). */
CASE(splice_len_zero_bad_fds, 0)
{
	int s = tcp_sock(), p[2];

	need(pipe(p) == 0, "pipe");
	R(splice(s, NULL, -1, NULL, 0, 0));
	R(splice(-1, NULL, s, NULL, 0, 0));
	R(splice(s, NULL, p[1], NULL, 0, 0x100));
	R(splice(s, NULL, p[1], NULL, 5, 0x100));
	R(splice(p[0], NULL, s, NULL, 5, 0x100));
	R(splice(s, NULL, 1000, NULL, 5, 0x100));
}
CASE(splice_full_pipe_nonblock, 0)
{
	int s = tcp_hello(), p[2];
	static char b[65536];

	need(pipe(p) == 0, "pipe");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], b, sizeof(b)) > 0)
		;
	R(splice(s, NULL, p[1], NULL, 5, SPLICE_F_NONBLOCK));
}
CASE(tee_socket, 0)
{
	int p[2], q[2];

	need(pipe(p) == 0 && pipe(q) == 0, "pipe");
	need(write(p[1], "abc", 3) == 3, "write");
	R(tee(tcp_hello(), q[1], 5, 0));
	R(tee(p[0], tcp_to(P_ECHO), 5, 0));
	R(tee(p[0], q[1], 5, 0));
}
CASE(sendfile_listener, 0) { R(sendfile(tcp_listener(), tmpfile_of(100), NULL, 100)); }
CASE(sendfile_udp_unconnected, 0) { R(sendfile(udp_sock(), tmpfile_of(100), NULL, 100)); }
CASE(sendfile_to_pipe_from_socket, 0)
{
	int p[2];

	need(pipe(p) == 0, "pipe");
	R(sendfile(p[1], tcp_hello(), NULL, 5));
}

/* The lowest free fd after blocking calls in two threads, as a program sees
 * it (what accept() or socket() returns next: ncat --chat names its users
 * by it): Linux's next is the one after the socket's, whatever waited. */
static void *fdnum_main(void *a)
{
	char b;

	(void)!recv(*(int *)a, &b, 1, 0);
	return NULL;
}
CASE(fd_numbers_after_waits, 0)
{
	int f0 = dup(0), s, f1;
	pthread_t th;
	char b;

	need(f0 >= 0, "dup");
	close(f0);
	s = tcp_to(P_ECHO);
	emit("s=f0+%d", s - f0);
	R(send(s, "x", 1, 0));
	R(recv(s, &b, 1, 0));
	need(pthread_create(&th, NULL, fdnum_main, &s) == 0, "pthread_create");
	R(send(s, "y", 1, 0));
	need(pthread_join(th, NULL) == 0, "pthread_join");
	f1 = dup(0);
	emit("next=f0+%d", f1 - f0);
}

/* A bind() to the wildcard address and a port another socket holds on
 * 127.0.0.1 (nghttpx: its default frontend on 127.0.0.1:3000, then the
 * command line's on 0.0.0.0:3000): Linux's inet_csk_bind_conflict refuses
 * it when that one listens or either lacks SO_REUSEADDR, and lets it in with
 * SO_REUSEPORT on both. Each round: the loopback socket's bind and listen
 * (or not), the wildcard one's bind and listen. */
static void lo_then_any(int opt, bool listen_lo)
{
	int a = tcp_sock(), b = tcp_sock(), one = 1;

	if (opt) {
		R(setsockopt(a, SOL_SOCKET, opt, &one, sizeof(one)));
		R(setsockopt(b, SOL_SOCKET, opt, &one, sizeof(one)));
	}
	bind_to(a, "127.0.0.1", case_port());
	if (listen_lo)
		R(listen(a, 5));
	{
		struct sockaddr_in any = sin4("0.0.0.0", case_port());

		R(bind(b, (struct sockaddr *)&any, sizeof(any)));
	}
	R(listen(b, 5));
	close(a);
	close(b);
}
CASE(bind_any_over_loopback_port, 0)
{
	lo_then_any(SO_REUSEADDR, true);
	lo_then_any(SO_REUSEADDR, false);
	lo_then_any(0, false);
	lo_then_any(SO_REUSEPORT, true);
}

/* ===================================================================== */
/* fork, _exit, _Exit */

/* Runs FN in a fork() child; the child's result comes back through a pipe. */
static void in_child(long (*fn)(int), int s)
{
	int p[2], st;
	long r[2] = { 0, 0 };
	pid_t pid;

	need(pipe(p) == 0, "pipe");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		errno = 0;
		r[0] = fn(s);
		r[1] = errno;
		if (write(p[1], r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	need(read(p[0], r, sizeof(r)) == sizeof(r), "child-result");
	res(r[0], (int)r[1], false);
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}
static long child_send(int s) { return send(s, "x", 1, MSG_NOSIGNAL); }
static long child_connect(int s) { (void)s; return connect_to(tcp_sock(), PEER, P_ECHO); }

CASE(fork_child_uses_socket, 0) { in_child(child_send, tcp_to(P_ECHO)); }
/* A fork child's new socket put in its epoll before it connects, as an
 * nginx worker's upstream (ngx_event_connect_peer: ngx_add_conn, then
 * connect): the non-blocking connect, the wait for EPOLLOUT, SO_ERROR, a
 * message out and the wait for its echo. The child's answer, one digit a
 * step (1 done, 0 not), or the failing call's errno. */
static long child_epoll_then_connect(int type, int port)
{
	struct sockaddr_in to = sin4(PEER, port);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET }, out = { 0 };
	int ep = epoll_create1(0), c = socket(AF_INET, type | SOCK_NONBLOCK, 0), e = 0;
	socklen_t el = sizeof(e);
	char b[16];
	long r = 1;

	if (ep < 0 || c < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) != 0)
		return -1;
	if (connect(c, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS)
		return -1;
	r = r * 10 + (epoll_wait(ep, &out, 1, WAIT_MS) == 1 && (out.events & EPOLLOUT));
	r = r * 10 + (getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0);
	r = r * 10 + (send(c, "hello", 5, 0) == 5);
	/* Until EPOLLIN: an edge for EPOLLOUT alone may come first (the
	 * relay's read of the message frees the pair's buffer). */
	for (int i = 0; i < 10; i++)
		if (epoll_wait(ep, &out, 1, WAIT_MS) != 1 || (out.events & EPOLLIN))
			break;
	r = r * 10 + !!(out.events & EPOLLIN);
	r = r * 10 + (recv(c, b, sizeof(b), 0) == 5);
	return r;
}
static long child_epoll_tcp(int s) { (void)s; return child_epoll_then_connect(SOCK_STREAM, P_ECHO); }
static long child_epoll_udp(int s) { (void)s; return child_epoll_then_connect(SOCK_DGRAM, P_UECHO); }
CASE(fork_child_epoll_before_connect, 0)
{
	int s = tcp_to(P_ECHO);

	in_child(child_epoll_tcp, s);
	in_child(child_epoll_udp, s);
}
/* TCP_CORK in a fork child, on a connection the parent's stack serves
 * through a relay (its options asked through the shared state, not waited
 * for: relay_share_nudge): the bytes held while corked, sent at once when
 * let go (within 80 ms: the cork would hold them 200), and a cork let go and
 * taken again before the next bytes (nginx's tcp_nopush around each
 * response) loses nothing. The child's answer: cork as getsockopt reads it,
 * echoed early, echoed promptly after the uncork, bytes back, and the same
 * for the second round, one digit each. */
static long child_cork(int s)
{
	int one = 1, zero = 0, v = -1;
	socklen_t l = sizeof(v);
	char b[16];
	long early, prompt, got, prompt2, got2;

	if (setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) != 0 ||
	    getsockopt(s, IPPROTO_TCP, TCP_CORK, &v, &l) != 0 || send(s, "ab", 2, 0) != 2 || send(s, "cd", 2, 0) != 2)
		return -1;
	early = readable_within(s, 80);
	if (setsockopt(s, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) != 0)
		return -1;
	prompt = readable_within(s, 80);
	got = (long)read_n(s, b, 4);
	if (setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) != 0 || send(s, "ef", 2, 0) != 2 ||
	    setsockopt(s, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) != 0 ||
	    setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) != 0 || send(s, "gh", 2, 0) != 2 ||
	    setsockopt(s, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)) != 0)
		return -1;
	prompt2 = readable_within(s, 80);
	got2 = (long)read_n(s, b, 4);
	return v * 100000 + early * 10000 + prompt * 1000 + got * 100 + prompt2 * 10 + got2;
}
CASE(fork_child_cork, 0) { in_child(child_cork, tcp_to(P_ECHO)); }
/* TCP_NODELAY in a fork child, asked the same way: the value the child
 * reads back after each set, and every byte echoed. */
static long child_nodelay(int s)
{
	int one = 1, zero = 0, v = -1, v2 = -1;
	socklen_t l = sizeof(v);
	char b[16];

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l) != 0 || send(s, "ab", 2, 0) != 2 ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof(zero)) != 0 ||
	    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v2, &l) != 0 || send(s, "cd", 2, 0) != 2)
		return -1;
	return v * 100 + v2 * 10 + (read_n(s, b, 4) == 4);
}
CASE(fork_child_nodelay, 0) { in_child(child_nodelay, tcp_to(P_ECHO)); }
/* A socket closed by fclose() of its fdopen()ed stream (the C library's
 * own close, which no interposed close() sees): the number is free, a file
 * opened next gets it, and read() reads the file. Unconnected (the stream
 * over the socket itself) and connected (the stream over its live fd). */
static void fclose_then_file(int s)
{
	FILE *fp = fdopen(s, "r+");
	char b[4];
	int f;

	if (!fp) {
		emit("fdopen failed");
		return;
	}
	R(fclose(fp));
	f = open("/dev/zero", O_RDONLY);
	emit("same=%d", f == s);
	R(read(f, b, sizeof(b)));
	R(write(f, "x", 1));
	R(fcntl(f, F_GETFL) & O_ACCMODE);
	close(f);
}
CASE(fclose_unconnected_then_file, 0) { fclose_then_file(socket(AF_INET, SOCK_STREAM, 0)); }
CASE(fclose_udp_then_file, 0) { fclose_then_file(socket(AF_INET, SOCK_DGRAM, 0)); }
CASE(fclose_connected_then_file, 0) { fclose_then_file(tcp_to(P_ECHO)); }
/* A socket closed by syscall(SYS_close), as libuv closes every fd: the
 * number is free: a file opened next gets it, and
 * read() reads the file. */
CASE(syscall_close_then_file, 0)
{
	int s = tcp_to(P_ECHO), f;
	char b[4];

	R(syscall(SYS_close, s));
	f = open("/dev/zero", O_RDONLY);
	emit("same=%d", f == s);
	R(read(f, b, sizeof(b)));
	R(fcntl(f, F_GETFL) & O_ACCMODE);
}
/* Datagrams read and sent by syscall(SYS_recvmmsg) and
 * syscall(SYS_sendmmsg) on a bound, unconnected UDP socket, as libuv 1.44
 * does for BIND 9's named (it waits in epoll, then reads by recvmmsg with
 * MSG_DONTWAIT): the same datagrams, lengths and source address as with
 * recvmmsg() and sendmmsg(). */
static void mmsg_name(struct mmsghdr *m, struct sockaddr_in *a, struct iovec *v)
{
	m->msg_hdr = (struct msghdr){ .msg_name = a, .msg_namelen = sizeof(*a), .msg_iov = v, .msg_iovlen = 1 };
	m->msg_len = 0;
}
CASE(syscall_mmsg_udp, 0)
{
	int s = udp_bound();
	struct sockaddr_in to = sin4(PEER, P_UECHO), from[2];
	char a[16] = "", b[16] = "";
	struct iovec sv[2] = { { "three", 5 }, { "four", 4 } };
	struct iovec rv[2] = { { a, sizeof(a) - 1 }, { b, sizeof(b) - 1 } };
	struct mmsghdr sm[2], rm[2];

	need(sendto(s, "one", 3, 0, (struct sockaddr *)&to, sizeof(to)) == 3, "sendto");
	wait_in(s);
	mmsg_name(&rm[0], &from[0], &rv[0]);
	R(syscall(SYS_recvmmsg, s, rm, 1, MSG_DONTWAIT, NULL));
	emit("len=%u %s", rm[0].msg_len, a);
	emit_addr(&from[0], rm[0].msg_hdr.msg_namelen);
	for (int i = 0; i < 2; i++)
		mmsg_name(&sm[i], &to, &sv[i]);
	R(syscall(SYS_sendmmsg, s, sm, 2, 0));
	emit("len=%u,%u", sm[0].msg_len, sm[1].msg_len);
	memset(a, 0, sizeof(a));
	mmsg_name(&rm[0], &from[0], &rv[0]);
	mmsg_name(&rm[1], &from[1], &rv[1]);
	/* Blocking, without MSG_WAITFORONE: returns once both echoes are in. */
	R(syscall(SYS_recvmmsg, s, rm, 2, 0, NULL));
	emit("len=%u,%u %s,%s", rm[0].msg_len, rm[1].msg_len, a, b);
	emit_addr(&from[1], rm[1].msg_hdr.msg_namelen);
}
/* A connected socket handed to another process over a Unix socket
 * (SCM_RIGHTS), as Node's cluster primary hands each connection to a
 * worker: the receiver (forked before the socket existed) writes "ping"
 * into it and reads the echo. Its exit status: 0, or 1 when the write
 * failed, 2 when no echo came. */
static int scm_child(int u)
{
	char cbuf[CMSG_SPACE(sizeof(int))], x, b[8];
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct pollfd p;
	size_t got = 0;
	int fd;

	if (recvmsg(u, &m, 0) != 1 || !(cm = CMSG_FIRSTHDR(&m)) || cm->cmsg_type != SCM_RIGHTS)
		return 3;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	if (write(fd, "ping", 4) != 4)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	while (got < 4 && poll(&p, 1, WAIT_MS) == 1) {
		ssize_t n = read(fd, b + got, sizeof(b) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == 4 && !memcmp(b, "ping", 4) ? 0 : 2;
}
CASE(scm_rights_pass_connected, 0)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int sv[2], s, st;
	pid_t pid;

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0)
		_exit(scm_child(sv[1]));
	s = tcp_to(P_ECHO);
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s, sizeof(s));
	R(sendmsg(sv[0], &m, 0));
	R(close(s));
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}
/* What the receiver of a passed socket sees of it (dante's and Node's
 * workers ask): its names, its family, type and protocol, whether it
 * listens, an option set and read back; then, a listener, a connection it
 * accepts (peer.py connects once the parent has sent it), or, a connection,
 * an echo through it. The receiver was forked before the socket existed. */
static int scm_view_child(int u)
{
	char cbuf[CMSG_SPACE(sizeof(int))], x, b[8];
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct pollfd p;
	int fd, v = 0, one = 1;
	socklen_t l = sizeof(v);

	if (recvmsg(u, &m, 0) != 1 || !(cm = CMSG_FIRSTHDR(&m)) || cm->cmsg_type != SCM_RIGHTS)
		return 3;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	emit_sockname(fd);
	emit_peername(fd);
	for (int o = 0; o < 4; o++) {
		static const int opt[] = { SO_DOMAIN, SO_TYPE, SO_PROTOCOL, SO_ACCEPTCONN };

		l = sizeof(v);
		if (R(getsockopt(fd, SOL_SOCKET, opt[o], &v, &l)) == 0)
			emit("opt%d=%d", o, v);
	}
	R(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	l = sizeof(v);
	if (R(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l)) == 0)
		emit("nodelay=%d", v != 0);
	p.fd = fd;
	p.events = POLLIN;
	if (x == 'l') {
		int a;

		if (poll(&p, 1, WAIT_MS) != 1)
			return 4;
		a = RFD(accept(fd, NULL, NULL));
		if (a < 0)
			return 5;
		emit_sockname(a);
		emit_peername(a);
		return 0;
	}
	if (write(fd, "ping", 4) != 4)
		return 1;
	return poll(&p, 1, WAIT_MS) == 1 && read(fd, b, sizeof(b)) == 4 && !memcmp(b, "ping", 4) ? 0 : 2;
}
static void scm_view(int s, bool listening)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { listening ? "l" : "c", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int sv[2], st;
	pid_t pid;

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0)
		_exit(scm_view_child(sv[1]));
	s = s < 0 ? tcp_to(P_ECHO) : s;
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s, sizeof(s));
	/* Not printed: the child's lines may come first. */
	need(sendmsg(sv[0], &m, 0) == 1, "sendmsg");
	if (listening)
		peer("connect %d %s", case_port(), "hold");
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	R(close(s));
}
/* SO_ERROR read straight into errno, as dante's connectstatus does after a
 * refused non-blocking connect: errno holds the error afterwards. */
CASE(getsockopt_so_error_into_errno, 0)
{
	struct sockaddr_in to = sin4(PEER, P_CLOSED);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), r;
	struct pollfd p = { .fd = s, .events = POLLOUT };
	socklen_t l = sizeof(errno);

	need(s >= 0, "socket");
	need(connect(s, (struct sockaddr *)&to, sizeof(to)) == 0 || errno == EINPROGRESS, "connect");
	need(poll(&p, 1, WAIT_MS) == 1, "poll");
	errno = ENOTCONN;
	r = getsockopt(s, SOL_SOCKET, SO_ERROR, &errno, &l);
	emit("r=%d errno=%s len=%u", r, ename(errno), (unsigned)l);
}
CASE(scm_rights_pass_connected_view, 0) { scm_view(-1, false); }
/* An unrelated process (a grandchild whose parent has exited, exec'd anew:
 * sockdiff -J 3) that gets a connection passed over SCM_RIGHTS, then makes
 * a connection of its own: haproxy's seamless reload, a new process given
 * the old one's listeners (-x), which connects to its backends. Its new
 * connection leaves from the host's address, as any of Linux's; it echoes
 * through both, then says it is done on the Unix socket. */
static int passed_then_own(int u)
{
	char cbuf[CMSG_SPACE(sizeof(int))], x, b[8];
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct pollfd p = { .events = POLLIN };
	int fd, s, ok = 0;

	if (recvmsg(u, &m, 0) != 1 || !(cm = CMSG_FIRSTHDR(&m)) || cm->cmsg_type != SCM_RIGHTS)
		return 3;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (R(connect_to(s, PEER, P_ECHO)) == 0) {
		emit_sockname(s);
		p.fd = s;
		ok += write(s, "ping", 4) == 4 && poll(&p, 1, WAIT_MS) == 1 && read(s, b, sizeof(b)) == 4;
	}
	p.fd = fd;
	ok += write(fd, "ping", 4) == 4 && poll(&p, 1, WAIT_MS) == 1 && read(fd, b, sizeof(b)) == 4;
	emit("echoes=%d", ok);
	(void)!write(u, "d", 1);
	return 0;
}
CASE(scm_rights_unrelated_own_connection, 0)
{
	char cbuf[CMSG_SPACE(sizeof(int))], self[4096], x;
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct pollfd p = { .events = POLLIN };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int sv[2], s, st;
	pid_t pid;

	need(n > 0, "readlink");
	self[n] = '\0';
	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		char *argv[] = { self, "-J", "3", NULL };
		pid_t mid = getpid();

		if (fork() != 0)
			_exit(0);
		/* The grandchild: once its parent is gone it descends from
		 * nobody here. */
		while (getppid() == mid)
			usleep(1000);
		if (dup2(sv[1], 3) != 3)
			_exit(126);
		execv(self, argv);
		_exit(127);
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	s = tcp_to(P_ECHO);
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &s, sizeof(s));
	need(sendmsg(sv[0], &m, 0) == 1, "sendmsg");
	close(sv[1]);
	p.fd = sv[0];
	emit("done=%d", poll(&p, 1, 3 * WAIT_MS) == 1 && read(sv[0], &x, 1) == 1);
	R(close(s));
}
/* listen() again on a listener a fork child inherited, or an image exec'd
 * with it on fd 3 (sockdiff -L 3): gunicorn's re-exec upgrade (USR2) takes
 * its listeners from GUNICORN_FD and sets them up as new ones, listen()
 * included. Linux's inet_listen on a listening socket sets its backlog and
 * succeeds. Then the child accepts a connection the peer made meanwhile. */
static int relisten_child(int l)
{
	struct pollfd p = { .fd = l, .events = POLLIN };
	int a;

	R(listen(l, 64));
	if (poll(&p, 1, WAIT_MS) != 1)
		return 4;
	a = RFD(accept(l, NULL, NULL));
	if (a < 0)
		return 5;
	emit_peername(a);
	close(a);
	return 0;
}
static void relisten(bool exec)
{
	int l = tcp_listener(), st;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;

	need(n > 0, "readlink");
	self[n] = '\0';
	peer("connect %d hold", case_port());
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		char *argv[] = { self, "-L", "3", NULL };

		if (!exec)
			_exit(relisten_child(l));
		if (dup2(l, 3) != 3)
			_exit(126);
		execv(self, argv);
		_exit(127);
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	R(listen(l, 16));
	R(close(l));
}
CASE(fork_child_listen_again, 0) { relisten(false); }
CASE(exec_listen_again, 0) { relisten(true); }
/* What an image exec'd with an environment of the caller's own, without
 * LD_PRELOAD, sees of a connection it inherits on fd 3: its names, family
 * and TCP_NODELAY, then an echo through it (sockdiff -v 3). So
 * systemd-socket-activate --accept execs its service (LISTEN_FDS and
 * LISTEN_PID only) and inetd-style servers ask who called. */
CASE(exec_noenv_connected_view, 0)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int s, st;
	pid_t pid;

	need(n > 0, "readlink");
	self[n] = '\0';
	s = tcp_to(P_ECHO);
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		char *argv[] = { self, "-v", "3", NULL }, *envp[] = { "PATH=/usr/bin:/bin", NULL };

		if (dup2(s, 3) != 3)
			_exit(126);
		execve(self, argv, envp);
		_exit(127);
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	R(close(s));
}
CASE(scm_rights_pass_listener_view, 0)
{
	int l = tcp_sock();

	bind_to(l, SELF, case_port());
	R(listen(l, 4));
	scm_view(l, true);
}
/* A socket forked while its non-blocking connect is under way: the child
 * waits for it to be writable, then asks for its peer (Linux: the peer,
 * once connected). The answer: the peer's port, or -1 and the errno. */
static long child_peer_port(int s)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	if (poll(&p, 1, WAIT_MS) != 1 || getpeername(s, (struct sockaddr *)&a, &l) != 0)
		return -1;
	return ntohs(a.sin_port);
}
CASE(fork_child_connecting_peername, 0)
{
	struct sockaddr_in to = sin4(PEER, P_ECHO);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	need(connect(s, (struct sockaddr *)&to, sizeof(to)) == 0 || errno == EINPROGRESS, "connect");
	in_child(child_peer_port, s);
}
/* A connection to the host's own address goes over lo on Linux: its route's
 * MTU is lo's (65535 as IP_MTU answers it) and the MSS follows (65483 with
 * timestamps), on both ends; a UDP socket connected there too. */
CASE(ip_mtu_own_address, 0)
{
	int l = tcp_listener(), c = tcp_sock(), a, u = udp_sock(), v;
	socklen_t vl;
	struct sockaddr_in to = sin4(SELF, case_port());

	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = RFD(accept(l, NULL, NULL));
	need(a >= 0, "accept");
	for (int i = 0; i < 2; i++) {
		int s = i ? a : c;

		vl = sizeof(v);
		if (R(getsockopt(s, IPPROTO_IP, IP_MTU, &v, &vl)) == 0)
			emit("mtu=%d", v);
		vl = sizeof(v);
		if (R(getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, &vl)) == 0)
			emit("mss=%d", v);
	}
	R(connect(u, (struct sockaddr *)&to, sizeof(to)));
	vl = sizeof(v);
	if (R(getsockopt(u, IPPROTO_IP, IP_MTU, &v, &vl)) == 0)
		emit("umtu=%d", v);
}
CASE(fork_child_new_socket, 0) { in_child(child_connect, tcp_to(P_ECHO)); }
/* An unconnected UDP socket a fork child inherits: it sends with an
 * address and reads the answer, as on the kernel. */
static long child_udp_echo(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO), from;
	socklen_t fl = sizeof(from);
	char b[16];

	if (sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -1;
	wait_in(s);
	return recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
}
CASE(fork_child_udp_unconnected, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_echo, s);
	R(child_udp_echo(s));
}
/* More of what a fork child does with it: peek, recvmsg's name and flags,
 * read(), write() without an address, poll, and the parent's use after. */
static long child_udp_more(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO), from;
	socklen_t fl = sizeof(from);
	char b[16];
	struct iovec v = { b, 3 };
	struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &v, .msg_iovlen = 1 };
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT };
	long r = 0;

	if (write(s, "x", 1) != -1 || errno != EDESTADDRREQ)
		return -10;
	if (poll(&p, 1, 0) != 1 || p.revents != POLLOUT)
		return -11;
	if (sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -12;
	wait_in(s);
	if (recv(s, b, sizeof(b), MSG_PEEK) != 5)
		return -13;
	if (recvmsg(s, &m, 0) != 3 || !(m.msg_flags & MSG_TRUNC) || m.msg_namelen != sizeof(from) ||
	    from.sin_port != htons(P_UECHO) || from.sin_addr.s_addr != inet_addr(PEER))
		return -14;
	if (sendto(s, "again", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -15;
	wait_in(s);
	r = read(s, b, sizeof(b));
	if (recvfrom(s, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&from, &fl) != -1 || errno != EAGAIN)
		return -16;
	return r;
}
CASE(fork_child_udp_more, 0)
{
	int s = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UECHO), from;
	socklen_t fl = sizeof(from);
	char b[16];

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_more, s);
	R(sendto(s, "parent", 6, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_in(s);
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
	emit_addr(&from, fl);
	R(write(s, "x", 1));
	R(sendto(s, "x", 1, MSG_OOB, (struct sockaddr *)&to, sizeof(to)));
	to.sin_port = 0;
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(s);
}
/* Localhost too: the child answers a datagram a kernel socket sent to
 * 127.0.0.1, and what it sends to 127.0.0.1 arrives. */
static long child_udp_lo_echo(int s)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char b[16];
	long n;

	wait_in(s);
	n = recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	if (n != 4 || from.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return -1;
	return sendto(s, "pong!", 5, 0, (struct sockaddr *)&from, fl);
}
CASE(fork_child_udp_loopback, 0)
{
	int s = udp_sock(), c = udp_sock(), one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port()), from;
	socklen_t fl = sizeof(from);
	char b[16];
	pid_t pid;
	int st;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(s, "0.0.0.0", case_port());
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0)
		_exit(child_udp_lo_echo(s) == 5 ? 0 : 1);
	R(sendto(c, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_in(c);
	R(recvfrom(c, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}
/* IP_PKTINFO and IP_TTL on a datagram the socket shared with a fork child
 * receives, in the child and in the parent (dnsmasq's wildcard socket
 * answers no query without them): one digit each for the payload's
 * length (5), a pktinfo at all, its ipi_addr and ipi_spec_dst (SELF), its
 * ifindex (tap0's), the TTL (64). */
static long udp_pktinfo_echo(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	char b[16], cbuf[256];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	long n, r = 0;

	if (sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -1;
	wait_in(s);
	n = recvmsg(s, &m, 0);
	if (n < 0)
		return -2;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			r += 10 + 100 * (pi.ipi_addr.s_addr == inet_addr(SELF)) +
			     1000 * (pi.ipi_spec_dst.s_addr == inet_addr(SELF)) +
			     10000 * ((unsigned)pi.ipi_ifindex == if_nametoindex("tap0"));
		} else if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_TTL) {
			int ttl;

			memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
			r += 100000 * (ttl == 64);
		}
	}
	return r + n;
}
CASE(fork_child_udp_pktinfo, 0)
{
	int s = udp_sock(), one = 1;

	setsockopt(s, SOL_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(s, SOL_IP, IP_RECVTTL, &one, sizeof(one));
	bind_to(s, "0.0.0.0", 0);
	in_child(udp_pktinfo_echo, s);
	R(udp_pktinfo_echo(s));
}
/* The same asked for by the child alone: the socket's flags on Linux
 * (inet_sk's cmsg_flags), so the parent's recvmsg has them too. */
static long child_set_pktinfo(int s)
{
	int one = 1;

	return setsockopt(s, SOL_IP, IP_PKTINFO, &one, sizeof(one)) + setsockopt(s, SOL_IP, IP_RECVTTL, &one, sizeof(one));
}
CASE(fork_child_udp_pktinfo_set, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_set_pktinfo, s);
	R(udp_pktinfo_echo(s));
}
/* FIONREAD in a fork child: 0 with nothing waiting, then the next
 * datagram's payload (udp_ioctl's SIOCINQ), not what carries it. */
static long child_udp_fionread(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	int q = -1, q2 = -1;
	char b[16];

	if (ioctl(s, FIONREAD, &q) != 0 || q != 0)
		return -10 - q;
	if (sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5 ||
	    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)) != 2)
		return -20;
	wait_in(s);
	if (ioctl(s, FIONREAD, &q) != 0 || recv(s, b, sizeof(b), 0) != 5)
		return -30;
	wait_in(s);
	if (ioctl(s, FIONREAD, &q2) != 0)
		return -40;
	return q * 100 + q2;
}
CASE(fork_child_udp_fionread, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_fionread, s);
}
CASE(fork_child_udp_unbound, 0) { int s = udp_sock(); in_child(child_udp_echo, s); R(child_udp_echo(s)); }
/* The same in a process whose stack runs (a connection open): the socket
 * is the stack's, bound at the fork (shim_dgram_autobind). */
CASE(fork_child_udp_unbound_stack, 0)
{
	int t = tcp_to(P_ECHO), s = udp_sock();

	in_child(child_udp_echo, s);
	R(child_udp_echo(s));
	R(send(t, "x", 1, 0));
}
/* connect() after the fork, on a socket the processes share (bound, and
 * never bound): the peer, the source address, send/write without an
 * address, a datagram from another sender not heard (also not by a peek),
 * then AF_UNSPEC dissolves it. */
static void udp_connect_after_fork(bool bind_first)
{
	int s = udp_sock(), o = udp_sock(), st;
	struct sockaddr_in to = sin4(PEER, P_UECHO), me;
	struct sockaddr_in un = { .sin_family = AF_UNSPEC };
	socklen_t ml = sizeof(me);
	char b[16];
	pid_t pid;

	if (bind_first)
		bind_to(s, "0.0.0.0", 0);
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0)
		_exit(0);
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	R(connect(s, (struct sockaddr *)&to, sizeof(to)));
	emit_peername(s);
	if (R(getsockname(s, (struct sockaddr *)&me, &ml)) == 0)
		emit("local=%s", me.sin_addr.s_addr == inet_addr(SELF) ? "self" : "other");
	/* Another sender: Linux's connected socket never hears it. */
	if (getsockname(s, (struct sockaddr *)&me, &ml) == 0)
		R(sendto(o, "junk", 4, 0, (struct sockaddr *)&me, sizeof(me)));
	R(send(s, "hello", 5, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recv(s, b, sizeof(b), 0));
	R(write(s, "hi", 2));
	wait_in(s);
	R(read(s, b, sizeof(b)));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(connect(s, (struct sockaddr *)&un, sizeof(un)));
	emit_peername(s);
	R(send(s, "x", 1, 0));
}
CASE(fork_udp_connect_after, 0) { udp_connect_after_fork(true); }
CASE(fork_udp_connect_after_unbound, 0) { udp_connect_after_fork(false); }
/* A fork child connects the socket it shares and talks through it; the
 * parent then asks for the peer (Linux: one socket, one association). */
static long child_udp_connect(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	char b[16];

	if (connect(s, (struct sockaddr *)&to, sizeof(to)) != 0 || send(s, "hello", 5, 0) != 5)
		return -1;
	wait_in(s);
	return recv(s, b, sizeof(b), 0);
}
CASE(fork_child_udp_connect, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_connect, s);
	emit_peername(s);
}
/* What the parent's socket shows after such a fork, before anyone sent:
 * Linux's is still unbound (port 0); whether a port shows. */
static void udp_unbound_name(bool stack)
{
	int t = stack ? tcp_to(P_ECHO) : -1, s = udp_sock();
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	pid_t pid = fork();
	int st;

	need(pid >= 0, "fork");
	if (pid == 0)
		_exit(0);
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	if (R(getsockname(s, (struct sockaddr *)&a, &al)) == 0)
		emit("port0=%d", a.sin_port == 0);
	R(child_udp_echo(s));
	if (t >= 0)
		R(send(t, "x", 1, 0));
}
CASE(fork_child_udp_unbound_name, 0) { udp_unbound_name(false); }
CASE(fork_child_udp_unbound_name_stack, 0) { udp_unbound_name(true); }
CASE(fork_parent_keeps_socket, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	in_child(child_connect, s);
	R(send(s, "x", 1, 0));
	wait_bytes(s, 1);
	R(recv(s, b, sizeof(b), 0));
}
/* The line is complete before the process leaves through _exit/_Exit; what
 * shows is how it leaves (EXIT-HANG, EXIT-CRASH) with a connection open. */
CASE(exit_underscore, 0)
{
	int s = tcp_to(P_ECHO);

	R(send(s, "x", 1, 0));
	end_case();
	_exit(0);
}
CASE(exit_upper, 0)
{
	int s = tcp_to(P_SINK);

	R(send(s, "x", 1, 0));
	end_case();
	_Exit(0);
}

/* ===================================================================== */
/* memory the program does not own, and its own SIGSEGV/SIGBUS handling */

/* The page right after a guarded() buffer: the first address the program does not own. */
static char *past(size_t n)
{
	return (char *)guarded(n) + n;
}

/* A whole page, then nothing: a buffer whose tail runs off its end. */
static char *page_then_none(void)
{
	return guarded((size_t)sysconf(_SC_PAGESIZE));
}

static void no_core(void)
{
	struct rlimit r = { 0, 0 };

	setrlimit(RLIMIT_CORE, &r);
}

/* A buffer the program may read but not write. */
static char *read_only(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	need(p != MAP_FAILED && n <= (size_t)pg, "mmap");
	return p;
}

CASE(write_runs_off_mapping, 0)
{
	char *p = page_then_none(), b[16];
	int s = tcp_to(P_ECHO);

	/* Nothing of the failed write is sent: the echo is the second write only. */
	R(write(s, p + 4000, 200));
	R(write(s, "hello", 5));
	wait_bytes(s, 5);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(recv_runs_off_mapping, 0)
{
	char *p = page_then_none(), b[64];
	int s = tcp_hello();

	R(recv(s, p + 4090, 12, 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recv_read_only_buf, 0)
{
	char b[64];
	int s = tcp_hello();

	R(recv(s, read_only(64), 64, 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(udp_recv_read_only_buf, 0)
{
	char b[64];
	int s = udp_echoed("hello");

	R(recv(s, read_only(64), 64, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_recv_peek_bad_ptr, 0)
{
	char b[64];
	int s = udp_echoed("hello");

	R(recv(s, BAD, 10, MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* The urgent byte into memory the program does not own: EFAULT; peeked, it
 * stays, read, it is gone (Linux's tcp_recv_urg marks it read first). */
CASE(recv_oob_bad_ptr, 0)
{
	char b[8] = "";
	int s = tcp_to(P_OOB);

	wait_ev(s, POLLPRI);
	R(recv(s, BAD, 1, MSG_OOB | MSG_PEEK));
	if (R(recv(s, b, sizeof(b), MSG_OOB | MSG_PEEK)) > 0)
		emit("oob=%c", b[0]);
	R(recv(s, read_only(8), 8, MSG_OOB));
	R(recv(s, b, sizeof(b), MSG_OOB));
}
/* An urgent send from memory the program does not own sends nothing. */
CASE(send_oob_bad_ptr, 0)
{
	char b[8];
	int s = tcp_to(P_ECHO), m = -1;

	R(send(s, BAD, 1, MSG_OOB));
	R(send(s, "xy", 2, MSG_OOB));
	wait_bytes(s, 1);
	R(ioctl(s, SIOCATMARK, &m));
	emit("atmark=%d", m);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* An ICMP error whose payload cannot be copied out is dequeued all the same. */
CASE(recvmsg_errqueue_bad_buf, 0)
{
	char b[16];
	struct iovec v = { BAD, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	need(connect_to(s, PEER, P_UCLOSED) == 0, "connect");
	R(send(s, "abc", 3, 0));
	emit("revents=%#x", wait_ev(s, 0));
	R(recvmsg(s, &m, MSG_ERRQUEUE));
	v.iov_base = b;
	R(recvmsg(s, &m, MSG_ERRQUEUE));
}
/* Control messages into memory the program does not own are left out (Linux's
 * put_cmsg fails, and recvmsg does not care): the datagram is received. */
static void recvmsg_pktinfo_into(void *control)
{
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = control, .msg_controllen = 256 };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	need(connect_to(s, PEER, P_UECHO) == 0, "connect");
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	if (R(recvmsg(s, &m, 0)) >= 0)
		emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
}
CASE(recvmsg_cmsg_bad_control, 0) { recvmsg_pktinfo_into(BAD); }
CASE(recvmsg_cmsg_read_only_control, 0) { recvmsg_pktinfo_into(read_only(256)); }
/* Interface ioctls with a struct the program does not own, or may not write. */
CASE(ioctl_siocgifaddr_bad_ptr, 0) { R(ioctl(udp_sock(), SIOCGIFADDR, BAD)); }
CASE(ioctl_siocgifaddr_read_only, 0)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct ifreq *r = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	need(r != MAP_FAILED, "mmap");
	snprintf(r->ifr_name, sizeof(r->ifr_name), "tap0");
	need(mprotect(r, (size_t)pg, PROT_READ) == 0, "mprotect");
	R(ioctl(udp_sock(), SIOCGIFADDR, r));
}
CASE(ioctl_siocgifconf_bad_ptr, 0) { R(ioctl(udp_sock(), SIOCGIFCONF, BAD)); }
CASE(ioctl_siocgifconf_bad_buf, 0)
{
	struct ifconf c = { .ifc_len = 4 * (int)sizeof(struct ifreq), .ifc_buf = BAD };

	R(ioctl(udp_sock(), SIOCGIFCONF, &c));
}
/* A netlink answer into memory the program does not own. */
CASE(netlink_recv_bad_ptr, 0)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
	} req;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	need(fd >= 0, "netlink");
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.a));
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	R(send(fd, &req, req.h.nlmsg_len, 0));
	R(recv(fd, BAD, 4096, 0));
}
/* TCP option values the program does not own. */
CASE(setsockopt_congestion_bad_ptr, 0) { R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_CONGESTION, BAD, 5)); }
CASE(setsockopt_timestamping_bad_ptr, 0) { R(setsockopt(tcp_to(P_ECHO), SOL_SOCKET, SO_TIMESTAMPING, BAD, sizeof(int))); }
CASE(getsockopt_congestion_bad_val, 0)
{
	socklen_t len = 16;

	R(getsockopt(tcp_sock(), IPPROTO_TCP, TCP_CONGESTION, BAD, &len));
}
CASE(getsockopt_congestion_bad_len_ptr, 0)
{
	char cc[16];

	R(getsockopt(tcp_sock(), IPPROTO_TCP, TCP_CONGESTION, cc, BAD));
}
/* The data fits in the first buffer: the bad second one is never touched. */
CASE(readv_second_bad_unused, 0)
{
	char a[64];
	struct iovec v[2] = { { a, sizeof(a) }, { BAD, 10 } };

	R(readv(tcp_hello(), v, 2));
}
CASE(recv_trunc_peek_tcp, 0)
{
	char b[64];
	int s = tcp_hello();

	R(recv(s, NULL, 5, MSG_TRUNC | MSG_PEEK));
	R(recv(s, b, sizeof(b), 0));
}
CASE(recvfrom_tcp_null_addrlen, 0)
{
	char b[64];
	struct sockaddr_in a;
	int s = tcp_hello();

	R(recvfrom(s, b, 5, 0, (struct sockaddr *)&a, NULL));
	R(recv(s, b, sizeof(b), 0));
}
CASE(sendto_tcp_bad_addr, 0) { R(sendto(tcp_to(P_ECHO), "x", 1, 0, BAD, sizeof(struct sockaddr_in))); }
CASE(bind_len_too_long, 0)
{
	struct sockaddr_storage ss[2];
	struct sockaddr_in a = sin4(SELF, 0);

	memset(ss, 0, sizeof(ss));
	memcpy(ss, &a, sizeof(a));
	R(bind(tcp_sock(), (struct sockaddr *)ss, sizeof(ss[0]) + 1));
}
CASE(getsockname_null_zero_len, 0)
{
	socklen_t len = 0;

	R(getsockname(tcp_to(P_ECHO), NULL, &len));
	emit("len=%u", (unsigned)len);
}
CASE(accept_bad_len_ptr, 0)
{
	int l = tcp_listener();
	struct sockaddr_in a;

	peer("connect %d hold", case_port());
	RFD(accept(l, (struct sockaddr *)&a, BAD));
}
CASE(getsockopt_so_error_bad_len_ptr, 0) { int v; R(getsockopt(tcp_to(P_ECHO), SOL_SOCKET, SO_ERROR, &v, BAD)); }
CASE(getsockopt_so_error_bad_val, 0)
{
	socklen_t len = sizeof(int);

	R(getsockopt(tcp_to(P_ECHO), SOL_SOCKET, SO_ERROR, BAD, &len));
}
CASE(getsockopt_tcp_info_bad_val, 0)
{
	socklen_t len = sizeof(struct tcp_info);

	R(getsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_INFO, BAD, &len));
}
CASE(getsockopt_nodelay_bad_val, 0)
{
	socklen_t len = sizeof(int);

	R(getsockopt(tcp_to(P_ECHO), IPPROTO_TCP, TCP_NODELAY, BAD, &len));
}
CASE(udp_recvmsg_bad_name, 0)
{
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = BAD, .msg_namelen = sizeof(struct sockaddr_in), .msg_iov = &v,
			    .msg_iovlen = 1 };
	int s = udp_echoed("hello");

	R(recvmsg(s, &m, 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(sendmsg_negative_namelen, 0)
{
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	struct sockaddr_in a = sin4(PEER, P_UECHO);

	m.msg_name = &a;
	m.msg_namelen = (socklen_t)minus_one;
	R(sendmsg(udp_sock(), &m, 0));
}
CASE(sendmsg_control_huge, 0)
{
	struct iovec v;
	struct msghdr m = msg1(&v, "x");
	char c[64] = { 0 };

	m.msg_control = c;
	m.msg_controllen = 1u << 30;
	R(sendmsg(udp_to(P_UECHO), &m, 0));
}
CASE(recvmmsg_timeout_einval, 0)
{
	char a[16];
	struct iovec v = { a, sizeof(a) };
	struct mmsghdr mm[1] = { { { .msg_iov = &v, .msg_iovlen = 1 }, 0 } };
	struct timespec ts = { 0, 1000000000 };

	R(recvmmsg(udp_echoed("x"), mm, 1, 0, &ts));
}
CASE(select_read_only_set, 0)
{
	int s = tcp_hello();
	fd_set *r = (fd_set *)read_only(sizeof(fd_set));
	struct timeval tv = { 0, 0 };

	/* The set is readable, the answer cannot be written. */
	R(select(s + 1, r, NULL, NULL, &tv));
}
CASE(ppoll_bad_mask, 0)
{
	struct pollfd p = { .fd = tcp_to(P_SINK), .events = POLLIN };
	struct timespec ts = { 0, 0 };

	R(ppoll(&p, 1, &ts, BAD));
}
CASE(poll_read_only_array, 0)
{
	struct pollfd p = { .fd = tcp_hello(), .events = POLLIN }, *ro = (struct pollfd *)read_only(sizeof(p));
	long pg = sysconf(_SC_PAGESIZE);

	/* The array is readable, the answer cannot be written. */
	need(mprotect(ro, (size_t)pg, PROT_READ | PROT_WRITE) == 0, "mprotect");
	*ro = p;
	need(mprotect(ro, (size_t)pg, PROT_READ) == 0, "mprotect");
	R(poll(ro, 1, 0));
}
CASE(poll_nfds_over_rlimit, 0)
{
	struct rlimit rl = { 1100, 1100 };
	struct pollfd *p = calloc(1200, sizeof(*p));

	need(p != NULL, "calloc");
	for (int i = 0; i < 1200; i++)
		p[i].fd = -1;
	p[0] = (struct pollfd){ .fd = tcp_hello(), .events = POLLIN };
	need(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	R(poll(p, 1200, 0));
	R(poll(p, 1100, 0));
}
CASE(epoll_pwait_bad_mask, 0)
{
	struct epoll_event e[2];
	int ep = epoll_create1(0);

	ep_add(ep, tcp_hello(), EPOLLIN);
	R(epoll_pwait(ep, e, 2, 0, BAD));
}
/* An event that could not be written is not lost: the next call has it. */
CASE(epoll_wait_events_beyond_then_all, 0)
{
	int ep = epoll_create1(0), a = tcp_hello(), b = tcp_hello();
	struct epoll_event *e = guarded(sizeof(*e)), all[4];

	ep_add(ep, a, EPOLLIN);
	ep_add(ep, b, EPOLLIN | EPOLLET);
	R(epoll_wait(ep, e, 2, 0));
	R(epoll_wait(ep, all, 4, 0));
	R(epoll_wait(ep, all, 4, 0));
}
CASE(sendfile_offset_written_back, 0)
{
	off_t off = 10;

	R(sendfile(tcp_to(P_SINK), tmpfile_of(100), &off, 20));
	emit("off=%ld", (long)off);
}

/* ---- the program's SIGSEGV and SIGBUS: its handlers run, its defaults kill ---- */

static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_code, fault_addr_ok, fault_masked;
static void *fault_expect;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	sigset_t now;

	(void)uc;
	sig_seen[sig] = 1;
	fault_code = si->si_code;
	fault_addr_ok = si->si_addr == fault_expect;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	fault_masked = (sigismember(&now, sig) ? 1 : 0) | (sigismember(&now, SIGUSR2) ? 2 : 0);
	siglongjmp(fault_jb, 1);
}

static void on_fault_plain(int sig)
{
	sig_seen[sig] = 1;
	siglongjmp(fault_jb, 1);
}

static void fault_handler(int sig, int flags)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	need(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

/* Touches p; "faulted" once a handler jumped back. */
static void touch(char *p)
{
	if (sigsetjmp(fault_jb, 1) == 0) {
		*(volatile char *)p = 1;
		emit("no-fault");
	} else {
		emit("faulted");
	}
}

CASE(segv_disposition_default, 0)
{
	struct sigaction old;

	R(sigaction(SIGSEGV, NULL, &old));
	emit("dfl=%d", old.sa_handler == SIG_DFL);
	R(sigaction(SIGBUS, NULL, &old));
	emit("dfl=%d", old.sa_handler == SIG_DFL);
}
CASE(segv_program_handler, 0)
{
	struct sigaction old;

	tcp_hello();    /* the stack runs */
	fault_handler(SIGSEGV, 0);
	R(sigaction(SIGSEGV, NULL, &old));
	emit("mine=%d siginfo=%d", old.sa_sigaction == on_fault, (old.sa_flags & SA_SIGINFO) != 0);
	fault_expect = past(8);
	touch(fault_expect);
	emit("code=%d addr=%d masked=%d", (int)fault_code, (int)fault_addr_ok, (int)fault_masked);
}
CASE(segv_program_handler_nodefer, 0)
{
	fault_handler(SIGSEGV, SA_NODEFER);
	fault_expect = past(8);
	touch(fault_expect);
	emit("masked=%d", (int)fault_masked);
}
/* A bad pointer in a socket call is the call's EFAULT, not the program's fault. */
CASE(segv_program_handler_efault, 0)
{
	int s = tcp_hello();

	fault_handler(SIGSEGV, 0);
	R(read(s, BAD, 10));
	R(recv(s, past(8), 10, 0));
}
CASE(segv_signal_fn, 0)
{
	emit("dfl=%d", signal(SIGSEGV, on_fault_plain) == SIG_DFL);
	touch(past(8));
	emit("again=%d", signal(SIGSEGV, SIG_DFL) == on_fault_plain);
}
CASE(segv_resethand, 0)
{
	struct sigaction old;

	fault_handler(SIGSEGV, SA_RESETHAND);
	touch(past(8));
	R(sigaction(SIGSEGV, NULL, &old));
	emit("dfl=%d", old.sa_handler == SIG_DFL);
}
CASE(segv_default_kills, 0)
{
	int s = tcp_hello();

	no_core();
	R(read(s, BAD, 10));
	*(volatile char *)past(8) = 1;
	emit("survived");
}
CASE(segv_ignored_fault_kills, 0)
{
	no_core();
	signal(SIGSEGV, SIG_IGN);
	*(volatile char *)past(8) = 1;
	emit("survived");
}
CASE(segv_ignored_raise, 0)
{
	signal(SIGSEGV, SIG_IGN);
	R(raise(SIGSEGV));
}
CASE(segv_raise_handled, 0)
{
	if (sigsetjmp(fault_jb, 1) == 0) {
		fault_handler(SIGSEGV, 0);
		raise(SIGSEGV);
		emit("returned");
	}
	emit("code=%d", (int)fault_code);
}
CASE(segv_raise_default, 0)
{
	no_core();
	tcp_hello();
	raise(SIGSEGV);
	emit("survived");
}
CASE(segv_handler_then_default, 0)
{
	no_core();
	fault_handler(SIGSEGV, 0);
	touch(past(8));
	signal(SIGSEGV, SIG_DFL);
	*(volatile char *)past(8) = 1;
	emit("survived");
}
/* SIGBUS: a mapping of a file past its end. */
CASE(bus_program_handler, 0)
{
	char path[] = "/tmp/sockdiff-bus-XXXXXX";
	int f = mkstemp(path);
	char *p;

	need(f >= 0, "mkstemp");
	unlink(path);
	p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	need(p != MAP_FAILED, "mmap");
	fault_handler(SIGBUS, 0);
	fault_expect = p;
	touch(p);
	emit("code=%d addr=%d", (int)fault_code, (int)fault_addr_ok);
}

/* ===================================================================== */
/* TCP_SAVE_SYN */

/*
 * TCP_SAVE_SYN on a listener (1: the IP and TCP headers, 2: the link's header
 * before them): the accepted socket's TCP_SAVED_SYN gives the headers of
 * the peer's SYN once (a short buffer: EINVAL and the length needed), then
 * length 0. What is printed: the lengths, and the fields that do not change
 * from run to run (the EtherType, IP's version and protocol, TCP's flags
 * and header length).
 */
static void saved_syn(int mode)
{
	int l = tcp_listener(), c, v = mode;
	unsigned char b[256];
	socklen_t n = sizeof(v);
	unsigned off;

	R(setsockopt(l, IPPROTO_TCP, TCP_SAVE_SYN, &v, sizeof(v)));
	if (R(getsockopt(l, IPPROTO_TCP, TCP_SAVE_SYN, &v, &n)) == 0)
		emit("save=%d", v);
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	n = sizeof(v);
	if (R(getsockopt(c, IPPROTO_TCP, TCP_SAVE_SYN, &v, &n)) == 0)
		emit("child_save=%d", v);
	n = 10;
	R(getsockopt(c, IPPROTO_TCP, TCP_SAVED_SYN, b, &n));
	emit("len=%u", (unsigned)n);
	n = sizeof(b);
	if (R(getsockopt(c, IPPROTO_TCP, TCP_SAVED_SYN, b, &n)) == 0 && n >= 40) {
		off = mode == 2 ? 14 : 0;
		emit("len=%u", (unsigned)n);
		if (mode == 2)
			emit("ethertype=%02x%02x", b[12], b[13]);
		emit("ip=%02x proto=%u", b[off], b[off + 9]);
		off += (b[off] & 15) * 4;
		emit("doff=%u flags=%02x", b[off + 12] >> 4, b[off + 13]);
	}
	n = sizeof(b);
	R(getsockopt(c, IPPROTO_TCP, TCP_SAVED_SYN, b, &n));
	emit("len=%u", (unsigned)n);
	/* The listener itself holds none. */
	n = sizeof(b);
	R(getsockopt(l, IPPROTO_TCP, TCP_SAVED_SYN, b, &n));
	emit("len=%u", (unsigned)n);
}
CASE(tcp_save_syn_headers, 0) { saved_syn(1); }
CASE(tcp_save_syn_with_link_header, 0) { saved_syn(2); }
/* Without TCP_SAVE_SYN: nothing kept. 3 and -1 are EINVAL. */
CASE(tcp_save_syn_off, 0)
{
	int l = tcp_listener(), c, v = 3;
	unsigned char b[256];
	socklen_t n = sizeof(b);

	R(setsockopt(l, IPPROTO_TCP, TCP_SAVE_SYN, &v, sizeof(v)));
	v = -1;
	R(setsockopt(l, IPPROTO_TCP, TCP_SAVE_SYN, &v, sizeof(v)));
	peer("connect %d hold", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	R(getsockopt(c, IPPROTO_TCP, TCP_SAVED_SYN, b, &n));
	emit("len=%u", (unsigned)n);
}

/* ===================================================================== */
/* AF_INET6 sockets (IPv4-mapped in the stack) and UDP datagrams */

static struct sockaddr_in6 sin6(const char *ip, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };

	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

static int sock6(int type)
{
	int s = socket(AF_INET6, type, 0);

	need(s >= 0, "socket6");
	return s;
}

/* shutdown() of a listener (SHUT_RD, SHUT_RDWR) and of a connect() under
 * way is Linux's tcp_disconnect, which clears sk_shutdown: a recv() then
 * answers ENOTCONN (the socket in CLOSE), while one after a shutdown() in
 * CLOSE (ENOTCONN, the bits kept) answers 0; a listen() keeps the bits, the
 * listener's shutdown clears them again. */
CASE(shutdown_disconnect_clears_bits, 0)
{
	int s = tcp_sock(), off = 1;
	char b[8];
	struct sockaddr_in me = sin4(SELF, case_port());

	R(bind(s, (struct sockaddr *)&me, sizeof(me)));
	R(listen(s, 3));
	R(shutdown(s, SHUT_RD));
	R(recv(s, b, 3, MSG_DONTWAIT));
	R(shutdown(s, SHUT_RDWR));
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)));
	R(recv(s, b, 7, MSG_PEEK | MSG_DONTWAIT));
	R(recv(s, b, 3, MSG_DONTWAIT));
	R(listen(s, 2));
	R(shutdown(s, SHUT_RDWR));
	R(recv(s, b, 2, MSG_DONTWAIT | MSG_TRUNC));
	R(recv(s, b, 2, MSG_DONTWAIT));
	R(recv(s, b, 2, 0));
	emit("rev=%x", wait_ev(s, 0));
	for (int how = 0; how < 3; how++) {
		int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { .fd = t, .events = POLLIN | POLLOUT | POLLRDHUP };

		R(shutdown(t, how));
		conn(t, PEER, P_DROP);
		R(shutdown(t, how));
		R(poll(&p, 1, 0));
		emit("rev=%x", p.revents);
		R(recv(t, b, 2, MSG_DONTWAIT));
		R(recv(t, b, 2, MSG_DONTWAIT));
		R(send(t, b, 2, MSG_DONTWAIT | MSG_NOSIGNAL));
	}
}
/* A zero-length peek where SO_PEEK_OFF points past the queued bytes: Linux's
 * tcp_recvmsg_locked finds nothing at peek_seq and waits as for one byte
 * (sock_rcvlowat's target is 1): EAGAIN without a wait, the whole
 * SO_RCVTIMEO with one, then 0 (the loop ends, len being 0). Where bytes
 * are at the offset, or without a peek, 0 at once. */
CASE(peek_off_tcp_zero_len_past_data, 0)
{
	int l = tcp_listener(), c = tcp_sock(), a, off = 3;
	char b[16];
	struct timeval tv = { 0, 100000 };
	struct timespec t0;

	conn(c, SELF, case_port());
	a = accept(l, NULL, NULL);
	R(send(a, "abcdefghijk", 11, 0));
	wait_bytes(c, 11);
	R(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	R(setsockopt(c, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)));
	R(recv(c, b, 1, MSG_PEEK));
	R(recv(c, b, 7, MSG_PEEK));
	R(recv(c, b, 3, 0));
	emit("off=%d", geti(c, SOL_SOCKET, SO_PEEK_OFF));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(recv(c, b, 0, MSG_PEEK));
	emit("waited=%d", ms_since(&t0) >= 90);
	R(recv(c, b, 0, MSG_PEEK | MSG_DONTWAIT));
	R(recv(c, b, 0, 0));
	R(recv(c, b, 1, MSG_PEEK | MSG_DONTWAIT));
	off = 0;
	R(setsockopt(c, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)));
	R(recv(c, b, 0, MSG_PEEK));
}
/* The order of a UDP send's refusals: Linux's inet_send_prepare binds the
 * socket first; udp_sendmsg refuses a length above 0xFFFF, then MSG_OOB,
 * then looks at the address (EINVAL, EAFNOSUPPORT, EDESTADDRREQ), and only
 * ip_append_data finds a datagram above 65507 too big. udpv6_sendmsg checks
 * its own address (any family but AF_INET6, AF_INET, AF_UNSPEC: EINVAL) and
 * the missing one before it hands an IPv4 one to udp_sendmsg. */
CASE(udp_send_refusal_order, 0)
{
	static char b[65536];
	int s = udp_sock();
	struct sockaddr_in6 a6 = sin6("::ffff:" PEER, P_UECHO);
	struct sockaddr_in p = sin4(PEER, P_UECHO);

	R(send(s, b, 65508, 0));
	R(send(s, b, 65536, 0));
	R(send(s, b, 1, MSG_OOB));
	R(sendto(s, b, 1, MSG_OOB, (struct sockaddr *)&p, 2));
	R(sendto(s, b, 65508, 0, (struct sockaddr *)&p, 2));
	R(sendto(s, b, 65508, 0, (struct sockaddr *)&p, sizeof(p)));
	R(sendto(s, b, 1, 0, (struct sockaddr *)&a6, sizeof(a6)));
}
/* A datagram corked (MSG_MORE) for one peer, then connect() to another
 * where nothing listens, then the send that ends the datagram. */
CASE(udp_cork_then_connect_closed, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_USINK), c = sin4(PEER, P_UCLOSED);
	char b[8];

	R(sendto(s, "abc", 3, MSG_MORE, (struct sockaddr *)&a, sizeof(a)));
	R(connect(s, (struct sockaddr *)&c, sizeof(c)));
	R(sendto(s, "de", 2, 0, (struct sockaddr *)&c, sizeof(c)));
	emit("ev=%#x", wait_ev(s, POLLERR));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_cork_then_connect_echo, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_USINK), c = sin4(PEER, P_UECHO);
	char b[16] = "";

	R(sendto(s, "abc", 3, MSG_MORE, (struct sockaddr *)&a, sizeof(a)));
	R(connect(s, (struct sockaddr *)&c, sizeof(c)));
	R(send(s, "de", 2, 0));
	emit("ev=%#x", wait_ev(s, POLLIN));
	if (R(recv(s, b, sizeof(b) - 1, MSG_DONTWAIT)) > 0)
		emit("%s", b);
}
/* The send that ends a corked datagram with an address udp_sendmsg would
 * refuse (another family): up->pending appends before the address. */
CASE(udp_cork_then_bad_family, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(P_UECHO) };
	char b[16] = "";

	R(sendto(s, "abc", 3, MSG_MORE, (struct sockaddr *)&a, sizeof(a)));
	R(sendto(s, "de", 2, 0, (struct sockaddr *)&a6, sizeof(a6)));
	emit("ev=%#x", wait_ev(s, POLLIN));
	if (R(recv(s, b, sizeof(b) - 1, MSG_DONTWAIT)) > 0)
		emit("%s", b);
}
CASE(udp_connected_sendto_closed, 0)
{
	int s = udp_to(P_UCLOSED);
	struct sockaddr_in c = sin4(PEER, P_UCLOSED);
	char b[8];

	R(sendto(s, "de", 2, 0, (struct sockaddr *)&c, sizeof(c)));
	emit("ev=%#x", wait_ev(s, POLLERR));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* So does a connect() refused for its address (inet_dgram_connect binds
 * before ip4_datagram_connect looks), unless too short for a family. */
CASE(udp_connect_refused_binds, 0)
{
	int s = udp_sock(), t = udp_sock(), u = udp_sock(), v = sock6(SOCK_DGRAM);
	struct sockaddr_in6 a6 = sin6("::ffff:" PEER, P_UECHO);
	struct sockaddr_in p = sin4(PEER, P_UECHO);

	R(connect(s, (struct sockaddr *)&a6, sizeof(a6)));
	emit_sockname(s);
	R(connect(t, (struct sockaddr *)&p, 8));
	emit_sockname(t);
	R(connect(u, (struct sockaddr *)&p, 1));
	emit_sockname(u);
	R(connect(v, (struct sockaddr *)&a6, 20));
	emit_sockname(v);
}
/* A send that fails still bound the socket (inet_send_prepare). */
CASE(udp_send_refused_binds, 0)
{
	int s = udp_sock(), t = udp_sock();
	struct sockaddr_in6 a6 = sin6("::ffff:" PEER, P_UECHO);

	R(send(s, "x", 1, MSG_OOB));
	emit_sockname(s);
	R(sendto(t, "x", 1, 0, (struct sockaddr *)&a6, sizeof(a6)));
	emit_sockname(t);
}
CASE(udp6_send_refusal_order, 0)
{
	static char b[65536];
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 a6 = sin6("::ffff:" PEER, P_UECHO);
	struct sockaddr_in p = sin4(PEER, P_UECHO);

	R(send(s, b, 1, MSG_OOB));
	R(send(s, b, 65508, 0));
	R(sendto(s, b, 1, MSG_OOB, (struct sockaddr *)&a6, 2));
	a6.sin6_family = AF_UNIX;
	R(sendto(s, b, 1, MSG_OOB, (struct sockaddr *)&a6, sizeof(a6)));
	R(sendto(s, b, 1, 0, (struct sockaddr *)&a6, sizeof(a6)));
	R(sendto(s, b, 1, MSG_OOB, (struct sockaddr *)&p, 2));
	a6.sin6_family = AF_INET6;
	R(sendto(s, b, 1, MSG_OOB, (struct sockaddr *)&a6, sizeof(a6)));
	R(sendto(s, b, 65508, 0, (struct sockaddr *)&a6, sizeof(a6)));
	emit_sockname(s);
}

/* An IPv6-only TCP socket that failed to connect to a v4-mapped address
 * (ENETUNREACH), shut down unconnected, asked for its urgent mark, then
 * bound to :: (fuzzseq -g 3 seed 1662): Linux binds it. Shut for reading
 * unconnected, a read is 0 (seed 3481). */
static void v6only_bind_after(int what)
{
	int s = sock6(SOCK_STREAM), one = 1, v = 0;
	struct sockaddr_in6 a = sin6("::ffff:" SELF, case_port()), any = sin6("::", case_port() + 1);
	char b[8];

	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	if (what & 1)
		R(recv(s, b, sizeof(b), 0));
	if (what & 2)
		R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	if (what & 4)
		R(ioctl(s, SIOCATMARK, &v));
	if (what & 8)
		R(shutdown(s, SHUT_WR));
	if (what & 16) {
		R(shutdown(s, SHUT_RD));
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	}
	R(bind(s, (struct sockaddr *)&any, sizeof(any)));
	emit_sockname(s);
}
CASE(tcp6_v6only_bind_after_recv, 0) { v6only_bind_after(1); }
CASE(tcp6_v6only_bind_after_connect, 0) { v6only_bind_after(2); }
CASE(tcp6_v6only_bind_after_atmark, 0) { v6only_bind_after(4); }
CASE(tcp6_v6only_bind_after_shutdown, 0) { v6only_bind_after(8); }
CASE(tcp6_v6only_shutdown_rd_recv, 0) { v6only_bind_after(16); }
/* MSG_OOB to a native IPv6 address nobody routes (fuzzseq -g 3 seed 386):
 * udpv6_sendmsg has no MSG_OOB check of its own (only udp_sendmsg, the
 * v4-mapped path, has), so the route lookup answers; then the same to a
 * v4-mapped address, and without MSG_OOB. */
CASE(udp6_send_oob_native, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 g = sin6("2001:db8::5", P_USINK), a6 = sin6("::ffff:" PEER, P_USINK);

	R(sendto(s, "x", 1, MSG_OOB, (struct sockaddr *)&g, sizeof(g)));
	R(sendto(s, "x", 1, MSG_OOB | MSG_DONTWAIT, (struct sockaddr *)&g, sizeof(g)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&g, sizeof(g)));
	R(sendto(s, "x", 1, MSG_OOB, (struct sockaddr *)&a6, sizeof(a6)));
	emit_sockname(s);
}
/* Sockets made before a fork and never bound, connected or listening: the
 * child connects (TCP, an option set before the fork kept) or sends
 * (AF_INET6 UDP to a mapped address) through its copy, as on the kernel. */
static long child_tcp_pristine(int s)
{
	int v = 0;
	socklen_t vl = sizeof(v);
	char b[8];

	if (connect_to(s, PEER, P_ECHO) != 0 || send(s, "x", 1, 0) != 1)
		return -1;
	wait_in(s);
	if (recv(s, b, sizeof(b), 0) != 1 || getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl) != 0)
		return -2;
	return 10 + v;
}
CASE(fork_child_tcp_unconnected, 0)
{
	int s = tcp_sock(), one = 1;

	R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	in_child(child_tcp_pristine, s);
}
/* A TCP socket the parent bound, listened on or connected from in its fork
 * child (varnishd: the manager binds, the child it forks listens and
 * accepts). Each returns 100 + the bytes read when the socket kept the
 * port the parent bound. */
static long child_bound_port_ok(int s)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	return getsockname(s, (struct sockaddr *)&a, &al) == 0 && ntohs(a.sin_port) == case_port();
}
static long child_listen_bound(int s)
{
	char b[HELLO_LEN];
	int c;

	if (listen(s, 4) != 0)
		return -1;
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	if (c < 0)
		return -2;
	wait_bytes(c, HELLO_LEN);
	return recv(c, b, sizeof(b), 0) + (child_bound_port_ok(s) ? 100 : 0);
}
CASE(fork_child_tcp_bound_listen, 0)
{
	int s = tcp_sock();

	bind_to(s, SELF, case_port());
	in_child(child_listen_bound, s);
	/* The parent's copy: the socket the child made a listener. */
	emit("acceptconn=%d", geti(s, SOL_SOCKET, SO_ACCEPTCONN));
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	R(accept(s, NULL, NULL) >= 0 ? 0 : -1);
}
/* A listener's TCP_DEFER_ACCEPT is its accept queue's (rskq_defer_accept):
 * the accepted socket reads 0 (inet_csk_clone_lock zeroes the queue),
 * the listener keeps its value (fuzzseq -g 6 seed 20). */
CASE(accept_child_defer_accept, 0)
{
	int s = tcp_sock(), c;

	bind_to(s, SELF, case_port());
	seti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1);
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	emit("child=%d listener=%d", geti(c, IPPROTO_TCP, TCP_DEFER_ACCEPT), geti(s, IPPROTO_TCP, TCP_DEFER_ACCEPT));
}
/* SO_LINGER set on a listener: sock_copy gives the accepted socket its
 * SOCK_LINGER flag and sk_lingertime (fuzzseq -g 6 seed 5); one set on the
 * child afterwards is its own. */
CASE(accept_child_linger, 0)
{
	int s = tcp_sock(), c;
	struct linger lg = { 1, 3 };
	socklen_t l = sizeof(lg);

	bind_to(s, SELF, case_port());
	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	memset(&lg, 0, sizeof(lg));
	R(getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &l));
	emit("child=%d,%d", lg.l_onoff, lg.l_linger);
	lg.l_linger = 5;
	R(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	R(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l));
	emit("listener=%d,%d", lg.l_onoff, lg.l_linger);
	R(getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &l));
	emit("child=%d,%d", lg.l_onoff, lg.l_linger);
}
/* SO_RCVBUF (or SO_SNDBUF) on a listener: the child inherits the buffer
 * and its lock (sk_clone), so SO_RCVLOWAT's cap on the child is half that
 * buffer (tcp_set_rcvlowat: a negative mark is INT_MAX, capped at
 * sk_rcvbuf >> 1 with SOCK_RCVBUF_LOCK; fuzzseq -g 6 seed 2036). */
static void child_rcvlowat(int rcvbuf, int sndbuf)
{
	int s = tcp_sock(), c, v = -1;
	socklen_t l = sizeof(v);

	bind_to(s, SELF, case_port());
	if (rcvbuf)
		seti(s, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	if (sndbuf)
		seti(s, SOL_SOCKET, SO_SNDBUF, sndbuf);
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	seti(c, SOL_SOCKET, SO_RCVLOWAT, -1);
	R(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	emit("lowat=%d", v);
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 3000);
	R(getsockopt(c, SOL_SOCKET, SO_RCVLOWAT, &v, &l));
	emit("lowat=%d", v);
	R(getsockopt(c, SOL_SOCKET, SO_BUF_LOCK, &v, &l));
	emit("lock=%d", v);
}
/* TCP_WINDOW_CLAMP past the space of a listener's SO_RCVBUF: the child's
 * request was clamped to that space (tcp_openreq_init_rwin) and
 * tcp_init_buffer_space takes a segment off, as without a clamp; one
 * below it stays (fuzzseq -g 6 seed 1079). And a connection's own. */
static void clamp_past_rcvbuf(int rcvbuf, int clamp)
{
	int s = tcp_sock(), c, t = tcp_sock(), v = -1;
	socklen_t l = sizeof(v);

	bind_to(s, SELF, case_port());
	seti(s, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	seti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, clamp);
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	R(getsockopt(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, &l));
	emit("child=%d", v);
	R(getsockopt(s, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, &l));
	emit("listener=%d", v);
	seti(t, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	seti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP, clamp);
	R(connect_to(t, PEER, P_ECHO));
	R(getsockopt(t, IPPROTO_TCP, TCP_WINDOW_CLAMP, &v, &l));
	emit("conn=%d", v);
}
CASE(accept_child_clamp_past_rcvbuf_4096, 0) { clamp_past_rcvbuf(4096, 20000); }
CASE(accept_child_clamp_below_rcvbuf_200000, 0) { clamp_past_rcvbuf(200000, 20000); }
CASE(accept_child_rcvlowat_rcvbuf_4096, 0) { child_rcvlowat(4096, 0); }
CASE(accept_child_rcvlowat_rcvbuf_20000, 0) { child_rcvlowat(20000, 0); }
CASE(accept_child_rcvlowat_sndbuf_4096, 0) { child_rcvlowat(0, 4096); }
/* SO_RCVBUF on a listener: the child's window clamp is the full space of
 * that buffer less a segment (tcp_openreq_init_rwin clamps the request's
 * window to tcp_full_space with SOCK_RCVBUF_LOCK, the scale follows it),
 * as a connecting socket's with the same buffer (fuzzseq -g 6 seed 7). */
static void child_window_clamp(int rcvbuf)
{
	int s = tcp_sock(), c, t = tcp_sock();

	bind_to(s, SELF, case_port());
	seti(s, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	R(listen(s, 4));
	peer("connect %d hold", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	emit("child=%d rcvbuf=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(c, SOL_SOCKET, SO_RCVBUF));
	close(c);
	/* A child that got a short segment first (the peer's hello). */
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	wait_bytes(c, HELLO_LEN);
	emit("hello=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	seti(t, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	R(connect_to(t, PEER, P_ECHO));
	emit("conn=%d", geti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}
CASE(accept_child_window_clamp_rcvbuf_200000, 0) { child_window_clamp(200000); }
CASE(accept_child_window_clamp_rcvbuf_20000, 0) { child_window_clamp(20000); }
CASE(accept_child_window_clamp_rcvbuf_1000000, 0) { child_window_clamp(1000000); }
CASE(accept_child_window_clamp_rcvbuf_2048, 0) { child_window_clamp(2048); }
/* SO_RCVBUF set on a connection after its handshake: Linux's window clamp
 * stays what tcp_init_buffer_space left from the buffer then (only a full
 * segment's tcp_measure_rcv_mss sets it from the new one), on an accepted
 * child as on a connecting socket (fuzzseq -g 6 seed 20059). */
CASE(window_clamp_rcvbuf_set_after_handshake, 0)
{
	int s = tcp_sock(), c, t = tcp_sock();

	bind_to(s, SELF, case_port());
	R(listen(s, 4));
	peer("connect %d hello", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	wait_bytes(c, HELLO_LEN);
	emit("before=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	seti(c, SOL_SOCKET, SO_RCVBUF, 100000);
	emit("child=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	R(connect_to(t, PEER, P_ECHO));
	seti(t, SOL_SOCKET, SO_RCVBUF, 4096);
	emit("conn=%d", geti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	/* Locked before the handshake, set again after: the first size's. */
	close(t);
	t = tcp_sock();
	seti(t, SOL_SOCKET, SO_RCVBUF, 200000);
	R(connect_to(t, PEER, P_ECHO));
	seti(t, SOL_SOCKET, SO_RCVBUF, 20000);
	emit("again=%d", geti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}
/* SO_RCVLOWAT past what an unlocked receive buffer holds: Linux's
 * tcp_set_rcvlowat grows the buffer to the space the mark needs and makes
 * the mark the window clamp; a listener's child clones the buffer and its
 * handshake takes the clamp down to that space less a segment, as a
 * connection's does; a mark the buffer holds, or a locked buffer, changes
 * neither (fuzzseq -g 6 seeds 21652, 21661). */
CASE(window_clamp_rcvlowat_grows_buffer, 0)
{
	int s = tcp_sock(), c, t = tcp_sock(), u = tcp_sock();

	bind_to(s, SELF, case_port());
	R(listen(s, 4));
	peer("connect %d hold", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 30000);
	emit("small=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 1000000);
	emit("child=%d rcvbuf=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(c, SOL_SOCKET, SO_RCVBUF));
	close(c);
	seti(s, SOL_SOCKET, SO_RCVLOWAT, 1000000);
	emit("listener=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	peer("connect %d hold", case_port());
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	emit("next=%d rcvbuf=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(c, SOL_SOCKET, SO_RCVBUF));
	seti(t, SOL_SOCKET, SO_RCVLOWAT, 1000000);
	emit("fresh=%d rcvbuf=%d", geti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(t, SOL_SOCKET, SO_RCVBUF));
	R(connect_to(t, PEER, P_ECHO));
	emit("conn=%d rcvbuf=%d", geti(t, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(t, SOL_SOCKET, SO_RCVBUF));
	/* A clamp set after the handshake, past the mark and below it. */
	seti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 3000000);
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 2000000);
	emit("above=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	seti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 100000);
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 3000000);
	emit("below=%d rcvbuf=%d", geti(c, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(c, SOL_SOCKET, SO_RCVBUF));
	seti(u, SOL_SOCKET, SO_RCVBUF, 100000);
	seti(u, SOL_SOCKET, SO_RCVLOWAT, 1000000);
	emit("locked=%d rcvbuf=%d", geti(u, IPPROTO_TCP, TCP_WINDOW_CLAMP), geti(u, SOL_SOCKET, SO_RCVBUF));
}
/* TCP_MAXSEG set on a connection that ended: do_tcp_getsockopt answers
 * user_mss in CLOSE (mss_cache while connected), after the peer's reset
 * as after both FINs (fuzzseq -g 6 seed 1176). */
CASE(maxseg_set_after_end, 0)
{
	int s = tcp_reset(), t = tcp_sock();
	char b[8];

	seti(s, IPPROTO_TCP, TCP_MAXSEG, 536);
	emit("reset=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
	conn(t, PEER, P_ECHO);
	seti(t, IPPROTO_TCP, TCP_MAXSEG, 600);
	emit("conn=%s", geti(t, IPPROTO_TCP, TCP_MAXSEG) > 1000 ? "mss" : "other");
	R(shutdown(t, SHUT_WR));
	wait_ev(t, POLLRDHUP);
	R(recv(t, b, sizeof(b), 0));
	emit("state=%d", wait_state(t, TCP_CLOSE));
	emit("ended=%d", geti(t, IPPROTO_TCP, TCP_MAXSEG));
}
static long child_connect_bound(int s)
{
	char b[8];

	if (connect_to(s, PEER, P_ECHO) != 0 || send(s, "x", 1, 0) != 1)
		return -1;
	wait_in(s);
	return recv(s, b, sizeof(b), 0) + (child_bound_port_ok(s) ? 100 : 0);
}
CASE(fork_child_tcp_bound_connect, 0)
{
	int s = tcp_sock();

	bind_to(s, SELF, case_port());
	in_child(child_connect_bound, s);
}
/*
 * A fork child's own new UDP socket, as tftpd's worker makes one for each
 * transfer: bound to the stack's address and port 0, or sent from or
 * connected unbound (autobind). The answer: the bytes echoed back, plus
 * 100 when getsockname shows a port, 1000 when it shows the stack's
 * address (SELF), 10000 when getpeername gives the peer; a nonblocking
 * receive first, on the socket nothing was sent to, is EAGAIN (-20 if
 * not). The parent holds a connection, so its stack runs.
 */
static long child_udp_new_name(int u, long n)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	if (n < 0 || getsockname(u, (struct sockaddr *)&a, &al) != 0)
		return -1;
	n += a.sin_port ? 100 : 0;
	n += a.sin_addr.s_addr == inet_addr(SELF) ? 1000 : 0;
	al = sizeof(a);
	if (getpeername(u, (struct sockaddr *)&a, &al) == 0 && a.sin_addr.s_addr == inet_addr(PEER) &&
	    a.sin_port == htons(P_UECHO))
		n += 10000;
	return n;
}
static long child_udp_new_bound(int s)
{
	int u = udp_sock();
	struct sockaddr_in me = sin4(SELF, 0), to = sin4(PEER, P_UECHO);
	char b[16];

	(void)s;
	if (bind(u, (struct sockaddr *)&me, sizeof(me)) != 0)
		return -1;
	if (recv(u, b, sizeof(b), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		return -20;
	if (connect(u, (struct sockaddr *)&to, sizeof(to)) != 0 || send(u, "hello", 5, 0) != 5)
		return -2;
	wait_in(u);
	return child_udp_new_name(u, recv(u, b, sizeof(b), 0));
}
CASE(fork_child_udp_new_bound, 0) { in_child(child_udp_new_bound, tcp_to(P_ECHO)); }
static long child_udp_new_sendto(int s)
{
	int u = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UECHO), from;
	socklen_t fl = sizeof(from);
	char b[16];

	(void)s;
	if (recv(u, b, sizeof(b), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		return -20;
	if (sendto(u, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -2;
	wait_in(u);
	return child_udp_new_name(u, recvfrom(u, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
}
CASE(fork_child_udp_new_sendto, 0) { in_child(child_udp_new_sendto, tcp_to(P_ECHO)); }
static long child_udp_new_connect(int s)
{
	int u = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	char b[16];

	(void)s;
	if (connect(u, (struct sockaddr *)&to, sizeof(to)) != 0 || write(u, "hello", 5) != 5)
		return -2;
	wait_in(u);
	return child_udp_new_name(u, read(u, b, sizeof(b)));
}
CASE(fork_child_udp_new_connect, 0) { in_child(child_udp_new_connect, tcp_to(P_ECHO)); }
/* The port the parent's socket holds: EADDRINUSE in the child, as Linux. */
static long child_udp_new_inuse(int s)
{
	int u = udp_sock();
	struct sockaddr_in me = sin4(SELF, case_port());

	(void)s;
	return bind(u, (struct sockaddr *)&me, sizeof(me));
}
CASE(fork_child_udp_new_inuse, 0)
{
	int t = tcp_to(P_ECHO), s = udp_sock();

	bind_to(s, SELF, case_port());
	in_child(child_udp_new_inuse, t);
	R(close(s));
}
/*
 * Multicast on a UDP socket a fork child holds (its parent's, framed, or
 * a new one of its own, made in the parent's stack): the membership the
 * child takes belongs to the socket (Linux's ip_mc_join_group on the one
 * struct sock), so the child hears the group, and so does the parent
 * after it, until one of them drops it (a second drop: EADDRNOTAVAIL).
 * The child reports each step through a pipe (a result and its errno);
 * the parent has the peer send once the child joined.
 */
static void mcast_child_report(int fd, long r)
{
	long v[2] = { r, r == -1 ? errno : 0 };

	if (write(fd, v, sizeof(v)) != sizeof(v))
		_exit(3);
}
static void mcast_child_take(int fd)
{
	long v[2] = { 0, 0 };

	need(read(fd, v, sizeof(v)) == sizeof(v), "child-result");
	res(v[0], (int)v[1], false);
}
static void fork_mcast(int s, const char *group, bool early)
{
	int up[2], go[2], st;
	pid_t pid;
	char c = 0;

	need(pipe(up) == 0 && pipe(go) == 0, "pipe");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		struct pollfd p;
		char b[64];
		bool own = s < 0;

		if (own) {
			struct sockaddr_in a = sin4("0.0.0.0", case_port());

			s = udp_sock();
			if (early)
				mcast_child_report(up[1], join(s, group, SELF, IP_ADD_MEMBERSHIP));
			mcast_child_report(up[1], bind(s, (struct sockaddr *)&a, sizeof(a)));
		}
		mcast_child_report(up[1], join(s, group, SELF, early ? IP_DROP_MEMBERSHIP : IP_ADD_MEMBERSHIP));
		if (early)
			mcast_child_report(up[1], join(s, group, SELF, IP_ADD_MEMBERSHIP));
		if (read(go[0], &c, 1) != 1)
			_exit(4);
		p = (struct pollfd){ .fd = s, .events = POLLIN };
		mcast_child_report(up[1], poll(&p, 1, WAIT_MS) == 1 ? recv(s, b, sizeof(b), MSG_DONTWAIT) : -2);
		if (own) {
			mcast_child_report(up[1], join(s, group, SELF, IP_DROP_MEMBERSHIP));
			mcast_child_report(up[1], join(s, group, SELF, IP_DROP_MEMBERSHIP));
		}
		_exit(0);
	}
	close(up[1]);
	close(go[0]);
	if (s < 0)
		mcast_child_take(up[0]);
	if (early) {
		mcast_child_take(up[0]);
		mcast_child_take(up[0]);
	}
	mcast_child_take(up[0]);
	peer("mcast %s %d hello", group, case_port());
	need(write(go[1], "g", 1) == 1, "go");
	mcast_child_take(up[0]);
	if (s < 0) {
		mcast_child_take(up[0]);
		mcast_child_take(up[0]);
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(up[0]);
	close(go[1]);
	if (s < 0)
		return;
	peer("mcast %s %d again", group, case_port());
	mcast_recv(s, WAIT_MS);
	R(join(s, group, SELF, IP_DROP_MEMBERSHIP));
	R(join(s, group, SELF, IP_DROP_MEMBERSHIP));
	peer("mcast %s %d gone", group, case_port());
	mcast_recv(s, 300);
}
CASE(fork_child_udp_mcast_join, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	fork_mcast(s, "239.1.2.31", false);
}
/* IP_MULTICAST_LOOP and IP_MULTICAST_TTL a fork child sets on the socket
 * it shares: its own datagram to a group the socket joined comes back
 * (the loop on by default), then not (off); one digit a step, 1 for what
 * the kernel does with a looped datagram. */
static long child_mcast_loop(int s)
{
	struct sockaddr_in g = sin4("239.1.2.35", case_port());
	struct pollfd p = { .fd = s, .events = POLLIN };
	int zero = 0, ttl = 4;
	char b[16];
	long r = 0;

	if (join(s, "239.1.2.35", SELF, IP_ADD_MEMBERSHIP) != 0 ||
	    setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) != 0)
		return -1;
	if (sendto(s, "self", 4, 0, (struct sockaddr *)&g, sizeof(g)) != 4)
		return -2;
	r = poll(&p, 1, WAIT_MS) == 1 && recv(s, b, sizeof(b), MSG_DONTWAIT) == 4 ? 1 : 0;
	if (setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)) != 0 ||
	    sendto(s, "self", 4, 0, (struct sockaddr *)&g, sizeof(g)) != 4)
		return -3;
	return r * 10 + (poll(&p, 1, 300) == 0);
}
CASE(fork_child_udp_mcast_loop, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	in_child(child_mcast_loop, s);
}
/* Source filters a fork child sets on the socket: two digits a call, 01
 * for success, else the errno; what it let in is the parent's too. */
static long child_mcast_source(int s)
{
	static const int names[] = { IP_ADD_SOURCE_MEMBERSHIP, IP_ADD_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE,
				     IP_DROP_SOURCE_MEMBERSHIP, IP_DROP_SOURCE_MEMBERSHIP, IP_ADD_SOURCE_MEMBERSHIP };
	static const char *const srcs[] = { "192.0.2.77", "192.0.2.77", PEER, "192.0.2.77", "192.0.2.77", PEER };
	long r = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		r = r * 100 + (src_filter(s, names[i], "239.1.2.33", SELF, srcs[i]) == 0 ? 1 : errno);
	return r;
}
CASE(fork_child_udp_mcast_source, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	in_child(child_mcast_source, s);
	peer("mcast 239.1.2.33 %d hello", case_port());
	mcast_recv(s, WAIT_MS);
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.33", SELF, PEER));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.33", SELF, PEER));
}
CASE(fork_child_udp_new_mcast_join, 0) { (void)tcp_to(P_ECHO); fork_mcast(-1, "239.1.2.32", false); }
/* The same joined before bind() (and dropped and joined again after):
 * the membership is the socket's from the start. */
CASE(fork_child_udp_new_mcast_early, 0) { (void)tcp_to(P_ECHO); fork_mcast(-1, "239.1.2.34", true); }
/*
 * IP_TTL and IP_TOS a fork child sets on a UDP socket it holds without the
 * stack's socket (its parent's framed one, or a new one bound first): the
 * socket's on Linux, so its datagrams carry them, the parent's too. The
 * peer's report (ttl=N tos=M) as ttl * 1000 + tos.
 */
static long udp_ttl_tos_report(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UTTL);
	char b[64] = "";
	int ttl = -1, tos = -1;

	if (sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
		return -1;
	wait_in(s);
	if (recv(s, b, sizeof(b) - 1, 0) <= 0 || sscanf(b, "ttl=%d tos=%d", &ttl, &tos) != 2)
		return -2;
	return ttl * 1000 + tos;
}
static long child_udp_ttl_tos(int s)
{
	int ttl = 7, tos = 0x20;

	if (s < 0) {
		struct sockaddr_in a = sin4("0.0.0.0", 0);

		s = udp_sock();
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0)
			return -3;
		ttl = 9;
		tos = 0x28;
	}
	if (setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) != 0 ||
	    setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) != 0)
		return -4;
	return udp_ttl_tos_report(s);
}
CASE(fork_child_udp_ttl_tos, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_ttl_tos, s);
	R(udp_ttl_tos_report(s));
}
/* SO_RCVBUF a fork child sets on the socket it shares: the size the
 * socket has then, in the child and in the parent (Linux doubles it). */
static long child_udp_rcvbuf(int s)
{
	int v = 100000;
	socklen_t l = sizeof(v);

	if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) != 0 ||
	    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l) != 0)
		return -1;
	return v;
}
CASE(fork_child_udp_rcvbuf, 0)
{
	int s = udp_sock(), v = 0;
	socklen_t l = sizeof(v);

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_rcvbuf, s);
	R(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l));
	emit("%d", v);
	R(getsockopt(s, IPPROTO_IP, IP_TTL, &v, &l));
	emit("ttl=%d", v);
}
/* Options a fork child sets on the socket it shares, read back by the
 * parent after it: the socket's values on Linux (one struct sock). */
static long child_udp_set_opts(int s)
{
	int ttl = 7, tos = 0x20, mttl = 5, zero = 0, one = 1;

	return setsockopt(s, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) + setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) +
	       setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof(mttl)) +
	       setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero)) +
	       setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) +
	       setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}
CASE(fork_child_udp_opts_seen, 0)
{
	static const int opts[][2] = { { IPPROTO_IP, IP_TTL }, { IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_MULTICAST_TTL },
				       { IPPROTO_IP, IP_MULTICAST_LOOP }, { SOL_SOCKET, SO_BROADCAST },
				       { SOL_SOCKET, SO_REUSEADDR } };
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_set_opts, s);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		int v = -1;
		socklen_t l = sizeof(v);

		R(getsockopt(s, opts[i][0], opts[i][1], &v, &l));
		emit("%d", v);
	}
}
/* IP_MULTICAST_LOOP off from a fork child, then IP_MULTICAST_TTL from the
 * parent: the loop stays off (the parent's own datagram to a group the
 * socket joined does not come back). */
static long child_udp_loop_off(int s)
{
	int zero = 0;

	return setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero));
}
CASE(fork_child_udp_mcast_loop_kept, 0)
{
	struct sockaddr_in g = sin4("239.1.2.36", case_port());
	int s = udp_sock(), ttl = 3;

	bind_to(s, "0.0.0.0", case_port());
	R(join(s, "239.1.2.36", SELF, IP_ADD_MEMBERSHIP));
	in_child(child_udp_loop_off, s);
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)));
	R(sendto(s, "self", 4, 0, (struct sockaddr *)&g, sizeof(g)));
	mcast_recv(s, 300);
}
CASE(fork_child_udp_new_ttl_tos, 0) { (void)tcp_to(P_ECHO); in_child(child_udp_ttl_tos, -1); }
static long child_udp6_pristine(int s)
{
	struct sockaddr_in6 to = sin6("::ffff:" PEER, P_UECHO);
	char b[16];

	if (sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5)
		return -1;
	wait_in(s);
	return recv(s, b, sizeof(b), 0);
}
CASE(fork_child_udp6_unbound, 0) { in_child(child_udp6_pristine, sock6(SOCK_DGRAM)); }

/* bind(s, ip:port) with the length len (0: a whole sockaddr_in6). */
static long bind6(int s, const char *ip, int port, socklen_t len)
{
	struct sockaddr_in6 a = sin6(ip, port);

	return R(bind(s, (struct sockaddr *)&a, len ? len : sizeof(a)));
}

/* A SO_REUSEPORT bind on the port's bind bucket's fast path: a
 * SO_REUSEADDR socket that does not listen holds the port, a dual-stack
 * listener with both options joins it (no conflict: its bind resets the
 * bucket to FASTREUSEPORT_STRICT for its address), and Linux's
 * sk_reuseport_match then lets in a SO_REUSEPORT socket on that address
 * without looking at the holders, though the first would conflict with
 * it; one without SO_REUSEPORT, or on an address the bucket's does not
 * cover, still meets the holders (fuzzseq -g 6 seed 22285). */
static void reuseport_fast(const char *addr6, const char *other6)
{
	int a = tcp_sock(), b = sock6(SOCK_STREAM), c = sock6(SOCK_STREAM), d = tcp_sock(),
	    e = sock6(SOCK_STREAM), f = sock6(SOCK_STREAM);

	seti(a, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(a, SELF, case_port());
	seti(b, SOL_SOCKET, SO_REUSEPORT, 1);
	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind6(b, addr6, case_port(), 0);
	R(listen(b, 2));
	seti(c, SOL_SOCKET, SO_REUSEPORT, 1);
	bind6(c, addr6, case_port(), 0);
	R(listen(c, 2));
	seti(d, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(d, SELF, case_port());
	bind6(e, addr6, case_port(), 0);
	seti(f, SOL_SOCKET, SO_REUSEPORT, 1);
	bind6(f, other6, case_port(), 0);
}
CASE(bind_reuseport_fast_any6, 0) { reuseport_fast("::", "::ffff:192.0.2.2"); }
CASE(bind_reuseport_fast_mapped, 0) { reuseport_fast("::ffff:192.0.2.2", "::"); }
CASE(bind_reuseport_fast_mapped_any, 0) { reuseport_fast("::ffff:0.0.0.0", "::"); }

static long conn6(int s, const char *ip, int port)
{
	struct sockaddr_in6 a = sin6(ip, port);

	return R(connect(s, (struct sockaddr *)&a, sizeof(a)));
}

static long sendto6(int s, const char *ip, int port, const char *text)
{
	struct sockaddr_in6 a = sin6(ip, port);

	return R(sendto(s, text, strlen(text), 0, (struct sockaddr *)&a, sizeof(a)));
}

/* An AF_INET and a dual-stack AF_INET6 socket on one port, both wildcard:
 * inetd's "udp" and "udp6" services with SO_REUSEADDR, or two listeners
 * with SO_REUSEPORT. An IPv4 datagram or connection goes to the AF_INET
 * one, whichever was bound last (Linux's compute_score: 2 for PF_INET, 1
 * for PF_INET6; a reuseport group holds one family). */
static void inet_beside_inet6(int type, int opt, bool inet6_first)
{
	int a = socket(AF_INET, type, 0), b = sock6(type);
	struct sockaddr_in any = sin4("0.0.0.0", case_port());
	char buf[16];
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

	need(a >= 0, "socket");
	seti(a, SOL_SOCKET, opt, 1);
	seti(b, SOL_SOCKET, opt, 1);
	if (inet6_first)
		bind6(b, "::", case_port(), 0);
	R(bind(a, (struct sockaddr *)&any, sizeof(any)));
	if (!inet6_first)
		bind6(b, "::", case_port(), 0);
	if (type == SOCK_STREAM) {
		R(listen(a, 8));
		R(listen(b, 8));
		peer("connect %d hold", case_port());
	} else {
		peer("udp %d one", case_port());
	}
	R(poll(p, 2, WAIT_MS));
	emit("a=%#x b=%#x", p[0].revents, p[1].revents);
	if (type == SOCK_STREAM) {
		fcntl(a, F_SETFL, O_NONBLOCK);
		fcntl(b, F_SETFL, O_NONBLOCK);
		RFD(accept(a, NULL, NULL));
		RFD(accept(b, NULL, NULL));
	} else {
		R(recv(a, buf, sizeof(buf), MSG_DONTWAIT));
		R(recv(b, buf, sizeof(buf), MSG_DONTWAIT));
	}
}
CASE(udp_reuseaddr_inet_then_inet6, 0) { inet_beside_inet6(SOCK_DGRAM, SO_REUSEADDR, false); }
CASE(udp_reuseaddr_inet6_then_inet, 0) { inet_beside_inet6(SOCK_DGRAM, SO_REUSEADDR, true); }
CASE(udp_reuseport_inet_then_inet6, 0) { inet_beside_inet6(SOCK_DGRAM, SO_REUSEPORT, false); }
CASE(udp_reuseport_inet6_then_inet, 0) { inet_beside_inet6(SOCK_DGRAM, SO_REUSEPORT, true); }
CASE(listen_reuseport_inet_then_inet6, 0) { inet_beside_inet6(SOCK_STREAM, SO_REUSEPORT, false); }
CASE(listen_reuseport_inet6_then_inet, 0) { inet_beside_inet6(SOCK_STREAM, SO_REUSEPORT, true); }

#define MAPPED_PEER "::ffff:" PEER
#define MAPPED_SELF "::ffff:" SELF
/* sendfile that reaches the file's end before count: Linux's
 * splice_direct_to_actor sets SPLICE_F_MORE on the short read, so the
 * datagram is corked; the splice's end (splice_eof) pushes it on an
 * AF_INET socket, not on an AF_INET6 one sending to a mapped address
 * (measured on Linux 6.18: SIOCOUTQ 837, and the next send without
 * MSG_MORE ends one datagram of both: fuzzseq -g 6 seeds 298, 974);
 * count exactly the file's size sends at once. */
static void sendfile_udp_short(bool v6, size_t count)
{
	int s = v6 ? sock6(SOCK_DGRAM) : udp_sock(), f = memfd_create("sf", 0);
	char b[64];
	off_t off = 0;

	need(f >= 0 && write(f, "hello", 5) == 5, "memfd");
	if (v6) {
		struct sockaddr_in6 a = sin6(MAPPED_PEER, P_UECHO);

		need(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	} else {
		conn(s, PEER, P_UECHO);
	}
	R(sendfile(s, f, &off, count));
	emit("off=%ld", (long)off);
	R(send(s, "x", 1, 0));
	wait_in(s);
	/* 6: one datagram of both; 5: the file's, then the 1 byte's. */
	if (R(recv(s, b, sizeof(b), MSG_DONTWAIT)) == 5) {
		wait_in(s);
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	}
	close(f);
}
CASE(sendfile_udp_past_eof, 0) { sendfile_udp_short(false, 100); }
CASE(sendfile_udp6_mapped_past_eof_corks, 0) { sendfile_udp_short(true, 100); }
CASE(sendfile_udp6_mapped_exact_size, 0) { sendfile_udp_short(true, 5); }

/* An AF_INET6 socket bound to an IPv4-mapped broadcast or multicast address
 * sends from it (Linux's __inet6_bind keeps it as inet_saddr, where
 * __inet_bind clears it to use the device's): no route from a multicast
 * source (EINVAL, before a datagram's size), nor from a subnet broadcast
 * one, which no device has (ENETUNREACH). */
static void inet6_bound_group_source(int type, const char *ip)
{
	static char big[65508];
	int s = sock6(type);
	struct sockaddr_in6 a = sin6(MAPPED_PEER, type == SOCK_STREAM ? P_ECHO : P_UECHO);

	bind6(s, ip, case_port(), 0);
	conn6(s, MAPPED_PEER, type == SOCK_STREAM ? P_ECHO : P_UECHO);
	if (type == SOCK_DGRAM) {
		sendto6(s, MAPPED_PEER, P_UECHO, "x");
		R(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&a, sizeof(a)));
	}
	emit_sockname(s);
}
CASE(inet6_bound_bcast_source_udp, 0) { inet6_bound_group_source(SOCK_DGRAM, "::ffff:" BCAST); }
CASE(inet6_bound_mcast_source_udp, 0) { inet6_bound_group_source(SOCK_DGRAM, "::ffff:224.0.0.1"); }
CASE(inet6_bound_bcast_source_tcp, 0) { inet6_bound_group_source(SOCK_STREAM, "::ffff:" BCAST); }
CASE(inet6_bound_mcast_source_tcp, 0) { inet6_bound_group_source(SOCK_STREAM, "::ffff:224.0.0.1"); }
/* A disconnect (AF_UNSPEC) of a socket bound but never connected: Linux's
 * tcp_disconnect finds it in CLOSE already and leaves its port bound, even
 * one bind() picked (port 0): a second bind() is EINVAL. */
static void disconnect_bound_unconnected(bool v6)
{
	int s = v6 ? sock6(SOCK_STREAM) : tcp_sock();
	struct sockaddr_in u = { .sin_family = AF_UNSPEC };

	if (v6)
		bind6(s, "::", 0, 0);
	else
		bind_to(s, "0.0.0.0", 0);
	R(connect(s, (struct sockaddr *)&u, sizeof(u)));
	emit_sockname(s);
	if (v6)
		bind6(s, MAPPED_SELF, 0, 0);
	else
		bind_to(s, SELF, 0);
	emit_sockname(s);
	R(listen(s, 1));
	emit_sockname(s);
}
CASE(disconnect_bound_unconnected, 0) { disconnect_bound_unconnected(false); }
CASE(disconnect_bound_unconnected6, 0) { disconnect_bound_unconnected(true); }
/* sendto() with an AF_UNSPEC address on a connected AF_INET6 socket: no
 * address, so the peer, but by udpv6_sendmsg's IPv6 path, where the
 * IPv4-mapped peer has no route (ENETUNREACH); unconnected EDESTADDRREQ. */
CASE(udp6_sendto_unspec_connected, 0)
{
	int s = sock6(SOCK_DGRAM), t = sock6(SOCK_DGRAM);
	struct sockaddr_in6 u = { .sin6_family = AF_UNSPEC };

	R(sendto(t, "x", 1, 0, (struct sockaddr *)&u, sizeof(u)));
	conn6(s, MAPPED_PEER, P_UECHO);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&u, sizeof(u)));
	R(send(s, "x", 1, 0));
}
#define GLOBAL6     "2001:db8::5"   /* documentation prefix: no host has it, no route */

CASE(inet6_bind_any_tcp, 0) { int s = sock6(SOCK_STREAM); bind6(s, "::", case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_any_udp, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::", 0, 0); emit_sockname(s); }
CASE(inet6_bind_mapped_self_tcp, 0) { int s = sock6(SOCK_STREAM); bind6(s, MAPPED_SELF, case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_mapped_self_udp, 0) { int s = sock6(SOCK_DGRAM); bind6(s, MAPPED_SELF, 0, 0); emit_sockname(s); }
CASE(inet6_bind_mapped_nobody, 0) { bind6(sock6(SOCK_DGRAM), "::ffff:" NOBODY, 0, 0); }
CASE(inet6_bind_mapped_bcast, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::ffff:" BCAST, case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_mapped_mcast, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::ffff:224.0.0.1", case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_loopback, 0) { int s = sock6(SOCK_STREAM); bind6(s, "::1", case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_global_absent_tcp, 0) { bind6(sock6(SOCK_STREAM), GLOBAL6, 0, 0); }
CASE(inet6_bind_global_absent_udp, 0) { bind6(sock6(SOCK_DGRAM), GLOBAL6, 0, 0); }
/* A stack socket whose connect was refused holds no port (CLOSE,
 * inet_num 0): __inet6_bind is past its state check and judges the
 * address (fuzzseq -g 3 seed 91002): EADDRNOTAVAIL for one nobody has,
 * EINVAL for a link-local one without a scope id and for multicast. */
static void bind6_after_refused(const char *ip)
{
	struct sockaddr_in6 a = sin6(ip, 0);
	int s = sock6(SOCK_STREAM);

	conn6(s, MAPPED_PEER, P_CLOSED);
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	conn6(s, MAPPED_PEER, P_CLOSED);
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	bind6(s, MAPPED_SELF, 0, 0);
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_global_after_refused, 0) { bind6_after_refused(GLOBAL6); }
CASE(inet6_bind_linklocal_after_refused, 0) { bind6_after_refused("fe80::5"); }
CASE(inet6_bind_mcast_after_refused, 0) { bind6_after_refused("ff02::1"); }
CASE(inet6_bind_linklocal_absent, 0)
{
	struct sockaddr_in6 a = sin6("fe80::5", 0);

	a.sin6_scope_id = if_nametoindex("tap0");
	R(bind(sock6(SOCK_DGRAM), (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_mapped_scope, 0)
{
	struct sockaddr_in6 a = sin6(MAPPED_SELF, case_port());
	int s = sock6(SOCK_DGRAM);

	a.sin6_scope_id = 9999;
	a.sin6_flowinfo = htonl(0x12345);
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	emit_sockname(s);
}
CASE(inet6_bind_len24, 0) { int s = sock6(SOCK_DGRAM); bind6(s, MAPPED_SELF, case_port(), 24); emit_sockname(s); }
CASE(inet6_bind_len23, 0) { bind6(sock6(SOCK_DGRAM), MAPPED_SELF, case_port(), 23); }
CASE(inet6_bind_len_inet, 0) { bind6(sock6(SOCK_DGRAM), "::", case_port(), sizeof(struct sockaddr_in)); }
CASE(inet6_bind_family_inet_long, 0)
{
	struct sockaddr_in6 a = sin6("::", case_port());

	a.sin6_family = AF_INET;
	R(bind(sock6(SOCK_DGRAM), (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_family_unspec, 0)
{
	struct sockaddr_in6 a = sin6("::", case_port());

	a.sin6_family = AF_UNSPEC;
	R(bind(sock6(SOCK_STREAM), (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_on_inet_socket, 0)
{
	struct sockaddr_in6 a = sin6(MAPPED_SELF, case_port());

	R(bind(udp_sock(), (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_v6only_mapped, 0)
{
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	bind6(s, MAPPED_SELF, case_port(), 0);
	bind6(s, "::ffff:0.0.0.0", case_port(), 0);
}
CASE(inet6_bind_dual_then_inet, 0)
{
	int s = sock6(SOCK_DGRAM), u = udp_sock();

	bind6(s, "::", case_port(), 0);
	bind_to(u, SELF, case_port());
	bind_to(u, "0.0.0.0", case_port());
}
CASE(inet6_bind_inet_then_dual, 0)
{
	int s = sock6(SOCK_STREAM), u = tcp_sock();

	bind_to(u, SELF, case_port());
	bind6(s, "::", case_port(), 0);
	bind6(s, MAPPED_SELF, case_port(), 0);
}
CASE(inet6_v6only_after_bind, 0)
{
	int s = sock6(SOCK_DGRAM), one = 1;

	bind6(s, MAPPED_SELF, 0, 0);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
}
CASE(inet6_v6only_after_connect, 0)
{
	int s = sock6(SOCK_DGRAM), one = 1;

	conn6(s, MAPPED_PEER, P_UECHO);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
}
CASE(inet6_v6only_after_connect_tcp, 0)
{
	int s = sock6(SOCK_STREAM), one = 1;

	conn6(s, MAPPED_PEER, P_ECHO);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
}
CASE(inet6_v6only_connect_mapped, 0)
{
	int s = sock6(SOCK_STREAM), u = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	seti(u, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	conn6(s, MAPPED_PEER, P_ECHO);
	conn6(u, MAPPED_PEER, P_UECHO);
	sendto6(u, MAPPED_PEER, P_UECHO, "x");
}
CASE(inet6_v6only_lengths, 0)
{
	int s = sock6(SOCK_DGRAM), v = 1;
	char b[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	socklen_t l = 1;

	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, 2));
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, b, 8));
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
	memset(b, 0x55, sizeof(b));
	R(getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, b, &l));
	emit("len=%u b0=%d", (unsigned)l, b[0]);
	l = 0;
	R(getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, b, &l));
	emit("len=%u", (unsigned)l);
}
CASE(inet6_v6only_on_inet, 0) { int one = 1; R(setsockopt(udp_sock(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))); R(geti(udp_sock(), IPPROTO_IPV6, IPV6_V6ONLY)); }
/* An AF_INET socket has no IPv6 level, bound or not (ip_setsockopt:
 * ENOPROTOOPT); a bound AF_INET6 one refuses V6ONLY after the length and
 * the copy of the value (do_ipv6_setsockopt). */
CASE(inet6_v6only_bound_levels, 0)
{
	int one = 1, s = udp_bound(), t = tcp_to(P_ECHO), u = sock6(SOCK_DGRAM);

	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	R(setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	bind6(u, MAPPED_SELF, 0, 0);
	R(setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &one, 2));
	R(setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, BAD, sizeof(one)));
	R(setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
}
CASE(inet6_connect_global_tcp, 0) { int s = sock6(SOCK_STREAM); conn6(s, GLOBAL6, P_ECHO); emit_sockname(s); }
CASE(inet6_connect_global_after_bind, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::", 0, 0); conn6(s, GLOBAL6, P_UECHO); }
CASE(inet6_sendto_global_after_bind, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::", 0, 0); sendto6(s, GLOBAL6, P_UECHO, "x"); }
CASE(inet6_sendto_global_mapped_bound, 0) { int s = sock6(SOCK_DGRAM); bind6(s, MAPPED_SELF, 0, 0); sendto6(s, GLOBAL6, P_UECHO, "x"); }
CASE(inet6_connect_global_mapped_bound_tcp, 0) { int s = sock6(SOCK_STREAM); bind6(s, MAPPED_SELF, 0, 0); conn6(s, GLOBAL6, P_ECHO); }
CASE(inet6_connect_mapped_from_v6_bound, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::1", 0, 0); conn6(s, MAPPED_PEER, P_UECHO); }
CASE(inet6_sendto_mapped_port0, 0) { sendto6(sock6(SOCK_DGRAM), MAPPED_PEER, 0, "x"); }
CASE(inet6_sendto_mapped_bcast, 0) { sendto6(sock6(SOCK_DGRAM), "::ffff:" BCAST, P_USINK, "x"); }
CASE(inet6_sendto_mapped_bcast_allowed, 0)
{
	int s = sock6(SOCK_DGRAM);

	seti(s, SOL_SOCKET, SO_BROADCAST, 1);
	sendto6(s, "::ffff:" BCAST, P_USINK, "x");
}
CASE(inet6_sendto_inet_addr, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	int s = sock6(SOCK_DGRAM);
	char b[8];

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	if (wait_ev(s, POLLIN) & POLLIN)
		R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit_sockname(s);
}
CASE(inet6_connect_inet_addr_udp, 0)
{
	struct sockaddr_in a = sin4(PEER, P_UECHO);
	int s = sock6(SOCK_DGRAM);

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit_peername(s);
}
CASE(inet6_connect_inet_addr_tcp, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO);
	int s = sock6(SOCK_STREAM);

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit_peername(s);
}
CASE(inet6_connect_len24, 0)
{
	struct sockaddr_in6 a = sin6(MAPPED_PEER, P_ECHO);
	int s = sock6(SOCK_STREAM);

	R(connect(s, (struct sockaddr *)&a, 24));
	emit_peername(s);
}
CASE(inet6_connect_flowinfo_scope, 0)
{
	struct sockaddr_in6 a = sin6(MAPPED_PEER, P_UECHO);
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 p;
	socklen_t l = sizeof(p);

	a.sin6_flowinfo = htonl(0xfffff);
	a.sin6_scope_id = 77;
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	memset(&p, 0x55, sizeof(p));
	if (R(getpeername(s, (struct sockaddr *)&p, &l)) == 0)
		emit("flow=%#x scope=%u", ntohl(p.sin6_flowinfo), p.sin6_scope_id);
}
CASE(inet6_sendto_flowinfo_scope_recvfrom, 0)
{
	struct sockaddr_in6 a = sin6(MAPPED_PEER, P_UECHO), p;
	int s = sock6(SOCK_DGRAM);
	socklen_t l = sizeof(p);
	char b[8];

	a.sin6_flowinfo = htonl(0x1234);
	a.sin6_scope_id = 3;
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	wait_in(s);
	memset(&p, 0x55, sizeof(p));
	if (R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&p, &l)) >= 0) {
		emit_addr(&p, l);
		emit("flow=%#x scope=%u", ntohl(p.sin6_flowinfo), p.sin6_scope_id);
	}
}
CASE(inet6_connect_any_udp, 0) { int s = sock6(SOCK_DGRAM); conn6(s, "::", P_UECHO); emit_peername(s); }
CASE(inet6_names_short_len, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 a;
	socklen_t l;

	conn6(s, MAPPED_PEER, P_UECHO);
	for (socklen_t n = 0; n <= 28; n += 4) {
		l = n;
		memset(&a, 0x55, sizeof(a));
		R(getsockname(s, (struct sockaddr *)&a, &l));
		emit("l=%u fam=%d b8=%#x", (unsigned)l, a.sin6_family, ((unsigned char *)&a)[n < 27 ? n : 27]);
		l = n;
		R(getpeername(s, (struct sockaddr *)&a, &l));
		emit("l=%u", (unsigned)l);
	}
}
CASE(inet6_recvfrom_short_len, 0)
{
	struct sockaddr_in6 a;
	socklen_t l = 16;
	int s = sock6(SOCK_DGRAM);
	char b[8];

	conn6(s, MAPPED_PEER, P_UECHO);
	R(send(s, "x", 1, 0));
	wait_in(s);
	memset(&a, 0x55, sizeof(a));
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit("l=%u fam=%d b16=%#x", (unsigned)l, a.sin6_family, ((unsigned char *)&a)[16]);
}
/* Each IPPROTO_IPV6 option's value on a fresh and a connected dual-stack socket. */
static void v6opt_sweep(int type, bool connected)
{
	static const int names[] = {
		IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP, IPV6_MULTICAST_IF,
		IPV6_TCLASS, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, IPV6_MTU_DISCOVER,
		IPV6_RECVERR, IPV6_MTU, IPV6_ADDRFORM, IPV6_DONTFRAG, IPV6_AUTOFLOWLABEL, IPV6_FREEBIND,
		IPV6_TRANSPARENT, IPV6_UNICAST_IF, IPV6_RECVORIGDSTADDR, IPV6_MINHOPCOUNT, 33 /* IPV6_FLOWINFO_SEND */,
		IPV6_ADDR_PREFERENCES, IPV6_MULTICAST_ALL, IPV6_CHECKSUM, 99, 255,
	};
	int s = sock6(type);

	if (connected)
		need(connect(s, (struct sockaddr *)&(struct sockaddr_in6){ .sin6_family = AF_INET6,
			.sin6_port = htons(type == SOCK_STREAM ? P_ECHO : P_UECHO),
			.sin6_addr = { .s6_addr = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 } } },
			sizeof(struct sockaddr_in6)) == 0, "connect");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int v = -12345;
		socklen_t l = sizeof(v);

		errno = 0;
		if (getsockopt(s, IPPROTO_IPV6, names[i], &v, &l) < 0)
			emit("%d=%s", names[i], ename(errno));
		else
			emit("%d=%d/%u", names[i], v, (unsigned)l);
	}
}
CASE(inet6_opts_tcp_fresh, 0) { v6opt_sweep(SOCK_STREAM, false); }
CASE(inet6_opts_tcp_connected, 0) { v6opt_sweep(SOCK_STREAM, true); }
CASE(inet6_opts_udp_fresh, 0) { v6opt_sweep(SOCK_DGRAM, false); }
CASE(inet6_opts_udp_connected, 0) { v6opt_sweep(SOCK_DGRAM, true); }
CASE(inet6_opt_hops_set, 0)
{
	int s = sock6(SOCK_DGRAM), v;

	v = -1; R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)));
	v = 0; R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)));
	emit("hops=%d", geti(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	v = 256; R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)));
	v = -2; R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)));
	v = 7; R(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, 2));
	emit("hops=%d ttl=%d", geti(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS), geti(s, IPPROTO_IP, IP_TTL));
}
/* The hop limit of v4-mapped traffic is IP_TTL's, not IPV6_UNICAST_HOPS's. */
static void udp6_opt_report(int level, int name, int v)
{
	int s = sock6(SOCK_DGRAM);
	char b[64];
	ssize_t n;

	seti(s, level, name, v);
	conn6(s, MAPPED_PEER, P_UTTL);
	R(send(s, "x", 1, 0));
	wait_in(s);
	n = R(recv(s, b, sizeof(b) - 1, 0));
	if (n > 0) {
		b[n] = 0;
		emit("%s", b);
	}
}
CASE(inet6_mapped_unicast_hops, 0) { udp6_opt_report(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9); }
CASE(inet6_mapped_ip_ttl, 0) { udp6_opt_report(IPPROTO_IP, IP_TTL, 9); }
CASE(inet6_mapped_ip_tos, 0) { udp6_opt_report(IPPROTO_IP, IP_TOS, 0x28); }
CASE(inet6_opt_tclass_set, 0)
{
	int s = sock6(SOCK_DGRAM), v;

	v = -1; R(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)));
	emit("tclass=%d tos=%d", geti(s, IPPROTO_IPV6, IPV6_TCLASS), geti(s, IPPROTO_IP, IP_TOS));
	v = 256; R(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)));
	v = 0xb8; R(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)));
	emit("tclass=%d tos=%d", geti(s, IPPROTO_IPV6, IPV6_TCLASS), geti(s, IPPROTO_IP, IP_TOS));
	v = 0x20; R(setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof(v)));
	emit("tclass=%d tos=%d", geti(s, IPPROTO_IPV6, IPV6_TCLASS), geti(s, IPPROTO_IP, IP_TOS));
}
CASE(inet6_opt_addrform_set, 0)
{
	int t = inet6_to(SOCK_STREAM, P_ECHO), u = inet6_to(SOCK_DGRAM, P_UECHO), f = sock6(SOCK_DGRAM), v = AF_INET;

	R(setsockopt(f, IPPROTO_IPV6, IPV6_ADDRFORM, &v, sizeof(v)));
	v = AF_INET6;
	R(setsockopt(u, IPPROTO_IPV6, IPV6_ADDRFORM, &v, sizeof(v)));
	v = AF_INET;
	R(setsockopt(u, IPPROTO_IPV6, IPV6_ADDRFORM, &v, sizeof(v)));
	emit_sockname(u);
	emit_peername(u);
	R(setsockopt(t, IPPROTO_IPV6, IPV6_ADDRFORM, &v, sizeof(v)));
	emit_sockname(t);
	emit_peername(t);
	R(send(t, "ab", 2, 0));
}
CASE(inet6_opt_mcast_hops_loop, 0)
{
	int s = sock6(SOCK_DGRAM), v;

	v = 300; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof(v)));
	v = -1; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof(v)));
	v = 5; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof(v)));
	v = 2; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &v, sizeof(v)));
	v = 0; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &v, sizeof(v)));
	emit("hops=%d loop=%d ipttl=%d iploop=%d", geti(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
	     geti(s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), geti(s, IPPROTO_IP, IP_MULTICAST_TTL),
	     geti(s, IPPROTO_IP, IP_MULTICAST_LOOP));
	v = 999; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, sizeof(v)));
	v = 0; R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, sizeof(v)));
	v = (int)if_nametoindex("tap0"); R(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, sizeof(v)));
}
CASE(inet6_opt_unknown, 0)
{
	int s = sock6(SOCK_DGRAM), v = 1;

	R(setsockopt(s, IPPROTO_IPV6, 99, &v, sizeof(v)));
	R(setsockopt(s, IPPROTO_IPV6, 1000, &v, sizeof(v)));
	R(geti(s, IPPROTO_IPV6, 1000));
	R(setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, 1));
	R(setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, NULL, 0));
}
CASE(inet6_ipproto_ip_opts, 0)
{
	int s = sock6(SOCK_DGRAM);

	emit("ttl=%d tos=%d pktinfo=%d recverr=%d mtu_disc=%d hdrincl=%d", geti(s, IPPROTO_IP, IP_TTL),
	     geti(s, IPPROTO_IP, IP_TOS), geti(s, IPPROTO_IP, IP_PKTINFO), geti(s, IPPROTO_IP, IP_RECVERR),
	     geti(s, IPPROTO_IP, IP_MTU_DISCOVER), geti(s, IPPROTO_IP, IP_HDRINCL));
	conn6(s, MAPPED_PEER, P_UECHO);
	emit("mtu=%d", geti(s, IPPROTO_IP, IP_MTU));
}
/* The cmsgs a dual-stack socket gets for an IPv4 datagram. */
static void udp6_recv_cmsgs(int level, int name, int level2, int name2)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = sock6(SOCK_DGRAM);

	seti(s, level, name, 1);
	if (level2)
		seti(s, level2, name2, 1);
	conn6(s, MAPPED_PEER, P_UECHO);
	R(send(s, "hello", 5, 0));
	wait_in(s);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, 0)) >= 0) {
		emit("flags=%#x", m.msg_flags);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				char a[INET6_ADDRSTRLEN];

				memcpy(&pi, CMSG_DATA(h), sizeof(pi));
				inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
				emit("pktinfo6=%s,ifindex_tap0=%d,len=%zu", a, pi.ipi6_ifindex == if_nametoindex("tap0"),
				     (size_t)h->cmsg_len);
			} else if (h->cmsg_level == IPPROTO_IPV6) {
				emit("cmsg6=%d/len%zu/%d", h->cmsg_type, (size_t)h->cmsg_len, *(int *)CMSG_DATA(h));
			} else {
				struct msghdr one = m;

				one.msg_control = h;
				one.msg_controllen = h->cmsg_len;
				emit_cmsgs(&one);
			}
		}
	}
}
CASE(inet6_cmsg_ip_pktinfo, 0) { udp6_recv_cmsgs(IPPROTO_IP, IP_PKTINFO, 0, 0); }
CASE(inet6_cmsg_hoplimit, 0) { udp6_recv_cmsgs(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 0, 0); }
CASE(inet6_cmsg_tclass, 0) { udp6_recv_cmsgs(IPPROTO_IPV6, IPV6_RECVTCLASS, 0, 0); }
CASE(inet6_cmsg_ip_ttl_tos, 0) { udp6_recv_cmsgs(IPPROTO_IP, IP_RECVTTL, IPPROTO_IP, IP_RECVTOS); }
CASE(inet6_cmsg_origdst, 0) { udp6_recv_cmsgs(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 0, 0); }
CASE(inet6_udp_refused_recverr, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	struct sockaddr_in6 from;
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IPV6, IPV6_RECVERR, 1);
	conn6(s, MAPPED_PEER, P_UCLOSED);
	R(send(s, "x", 1, 0));
	wait_err(s);
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		emit("flags=%#x", m.msg_flags);
		emit_addr(&from, m.msg_namelen);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct sock_extended_err e;

			memcpy(&e, CMSG_DATA(h), sizeof(e));
			emit("cmsg=%d/%d len=%zu err=%s origin=%d type=%d code=%d", h->cmsg_level, h->cmsg_type,
			     (size_t)h->cmsg_len, ename((int)e.ee_errno), e.ee_origin, e.ee_type, e.ee_code);
			emit_addr(SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(h)),
				  (socklen_t)(h->cmsg_len - CMSG_LEN(sizeof(e))));
		}
	}
	R(send(s, "x", 1, 0));
}
CASE(inet6_udp_refused_no_recverr, 0)
{
	int s = sock6(SOCK_DGRAM);
	char b[8];

	conn6(s, MAPPED_PEER, P_UCLOSED);
	R(send(s, "x", 1, 0));
	wait_err(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(inet6_tcp_accept_mapped, 0)
{
	int l = sock6(SOCK_STREAM), c, one = 1;
	struct sockaddr_in6 a;
	socklen_t al = sizeof(a);

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind6(l, "::", case_port(), 0);
	R(listen(l, 4));
	peer("connect %d hold", case_port());
	wait_in(l);
	c = (int)RFD(accept(l, (struct sockaddr *)&a, &al));
	emit_addr(&a, al);
	emit_sockname(c);
	emit("v6only=%d addrform=%d", geti(c, IPPROTO_IPV6, IPV6_V6ONLY), geti(c, IPPROTO_IPV6, IPV6_ADDRFORM));
}
CASE(inet6_udp_server_recvfrom, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 a;
	socklen_t al = sizeof(a);
	char b[16];

	bind6(s, "::", case_port(), 0);
	peer("udp %d hi", case_port());
	wait_in(s);
	if (R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &al)) >= 0)
		emit_addr(&a, al);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, al));
}
/* ---- UDP datagrams ---- */

CASE(dgram_zero_echo, 0)
{
	int s = udp_to(P_UECHO);
	char b[8];
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	R(send(s, "", 0, 0));
	emit("ev=%#x", wait_ev(s, POLLIN));
	int q = -1;

	R(ioctl(s, FIONREAD, &q));
	emit("inq=%d", q);
	R(recv(s, b, sizeof(b), MSG_PEEK));
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit_addr(&a, l);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(dgram_zero_then_data, 0)
{
	int s = udp_to(P_UECHO);
	char b[8];

	R(send(s, NULL, 0, 0));
	R(recv(s, b, sizeof(b), 0));
	R(send(s, "abc", 3, 0));
	R(recv(s, NULL, 0, MSG_TRUNC));
	R(send(s, "abc", 3, 0));
	R(read(s, b, sizeof(b)));
}
CASE(dgram_zero_recvmsg_flags, 0)
{
	int s = udp_to(P_UECHO);
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	v.iov_len = 0;
	R(sendmsg(s, &m, 0));
	wait_in(s);
	v.iov_len = sizeof(b);
	R(recvmsg(s, &m, MSG_TRUNC));
	emit("flags=%#x", m.msg_flags);
	R(recvmsg(s, &m, MSG_DONTWAIT));
}
CASE(dgram_trunc_peek_combo, 0)
{
	int s = udp_echoed("abcdefgh");
	char b[16] = { 0 };
	struct iovec v = { b, 3 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	R(recv(s, b, 3, MSG_PEEK | MSG_TRUNC));
	R(recvmsg(s, &m, MSG_PEEK));
	emit("flags=%#x", m.msg_flags);
	R(recvmsg(s, &m, MSG_PEEK | MSG_TRUNC));
	emit("flags=%#x b=%.3s", m.msg_flags, b);
	R(recv(s, NULL, 0, MSG_PEEK | MSG_TRUNC));
	R(recv(s, b, 0, MSG_PEEK));
	v.iov_len = 20;
	R(recvmsg(s, &m, MSG_TRUNC));
	emit("flags=%#x", m.msg_flags);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC));
}
CASE(dgram_trunc_iov_split, 0)
{
	int s = udp_echoed("abcdefghij");
	char x[4] = { 0 }, y[4] = { 0 };
	struct iovec v[2] = { { x, 3 }, { y, 3 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	R(recvmsg(s, &m, 0));
	emit("flags=%#x x=%.3s y=%.3s", m.msg_flags, x, y);
}
CASE(dgram_peek_waitall, 0)
{
	int s = udp_echoed("abcdef");
	char b[16];

	R(recv(s, b, sizeof(b), MSG_WAITALL | MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_WAITALL));
}
CASE(dgram_recvmmsg_partial, 0)
{
	int s = udp_to(P_UECHO);
	struct mmsghdr mm[4];
	char bufs[4][16];
	struct iovec v[4];

	for (int i = 0; i < 4; i++) {
		v[i] = (struct iovec){ bufs[i], i == 1 ? 2 : sizeof(bufs[i]) };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	}
	R(send(s, "one", 3, 0));
	R(send(s, "twotwo", 6, 0));
	/* Blocking with no flag: waits for all of vlen (here 2). */
	R(recvmmsg(s, mm, 2, 0, NULL));
	for (int i = 0; i < 2; i++)
		emit("len%d=%u flags%d=%#x", i, mm[i].msg_len, i, mm[i].msg_hdr.msg_flags);
	R(recvmmsg(s, mm, 4, MSG_DONTWAIT, NULL));
	R(send(s, "3", 1, 0));
	wait_in(s);
	R(recvmmsg(s, mm, 4, MSG_WAITFORONE, NULL));
	emit("len0=%u", mm[0].msg_len);
}
CASE(dgram_recvmmsg_error_midway, 0)
{
	int s = udp_sock();
	struct mmsghdr mm[3];
	char bufs[3][16];
	struct iovec v[3];

	for (int i = 0; i < 3; i++) {
		v[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	}
	conn(s, PEER, P_UECHO);
	R(send(s, "one", 3, 0));
	R(recv(s, bufs[0], sizeof(bufs[0]), MSG_PEEK));
	conn(s, PEER, P_UCLOSED);
	R(send(s, "x", 1, 0));
	wait_err(s);
	R(recvmmsg(s, mm, 3, MSG_DONTWAIT, NULL));
	emit_so_error(s);
}
CASE(dgram_sendmmsg_error_midway, 0)
{
	int s = udp_sock();
	struct mmsghdr mm[3];
	struct iovec v[3] = { { "a", 1 }, { "bb", 2 }, { "c", 1 } };
	struct sockaddr_in ok = sin4(PEER, P_USINK), port0 = sin4(PEER, 0);

	for (int i = 0; i < 3; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1, .msg_name = &ok,
						       .msg_namelen = sizeof(ok) } };
	mm[1].msg_hdr.msg_name = &port0;
	R(sendmmsg(s, mm, 3, 0));
	emit("len=%u/%u/%u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
	R(sendmmsg(s, mm + 1, 2, 0));
}
CASE(dgram_sendmmsg_too_big_midway, 0)
{
	int s = udp_to(P_USINK);
	static char big[70000];
	struct mmsghdr mm[3];
	struct iovec v[3] = { { "a", 1 }, { big, sizeof(big) }, { "c", 1 } };

	for (int i = 0; i < 3; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	R(sendmmsg(s, mm, 3, 0));
	emit("len=%u/%u", mm[0].msg_len, mm[1].msg_len);
	R(sendmmsg(s, mm + 1, 2, 0));
}
CASE(dgram_sendmmsg_refused_midway, 0)
{
	int s = udp_to(P_UCLOSED);
	struct mmsghdr mm[3];
	struct iovec v[3] = { { "a", 1 }, { "b", 1 }, { "c", 1 } };

	for (int i = 0; i < 3; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	R(send(s, "x", 1, 0));
	wait_err(s);
	R(sendmmsg(s, mm, 3, 0));
}
CASE(dgram_refused_then_calls, 0)
{
	int s = udp_to(P_UCLOSED);
	char b[8];

	R(send(s, "x", 1, 0));
	wait_err(s);
	emit("ev=%#x", wait_ev(s, POLLIN | POLLOUT));
	emit("ev=%#x", wait_ev(s, POLLIN | POLLOUT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit("ev=%#x", wait_ev(s, POLLIN | POLLOUT));
}
CASE(dgram_refused_recverr_queue, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	struct sockaddr_in from;
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	conn(s, PEER, P_UCLOSED);
	R(send(s, "abcd", 4, 0));
	wait_err(s);
	R(send(s, "efgh", 4, 0));
	emit("ev=%#x", wait_ev(s, POLLIN));
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		emit("flags=%#x b=%.4s", m.msg_flags, b);
		emit_addr(&from, m.msg_namelen);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct sock_extended_err e;
			struct sockaddr_in off;

			memcpy(&e, CMSG_DATA(h), sizeof(e));
			memcpy(&off, SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(h)), sizeof(off));
			emit("cmsg=%d/%d len=%zu err=%s origin=%d type=%d code=%d info=%u data=%u", h->cmsg_level,
			     h->cmsg_type, (size_t)h->cmsg_len, ename((int)e.ee_errno), e.ee_origin, e.ee_type,
			     e.ee_code, e.ee_info, e.ee_data);
			emit_addr(&off, sizeof(off));
		}
	}
	emit_so_error(s);
	m.msg_controllen = sizeof(c);
	m.msg_namelen = sizeof(from);
	R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT));
	m.msg_controllen = sizeof(c);
	R(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT));
	emit("ev=%#x", wait_ev(s, POLLIN));
}
CASE(dgram_refused_unconnected_recverr, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	struct sockaddr_in to = sin4(PEER, P_UCLOSED);
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	R(sendto(s, "abcd", 4, 0, (struct sockaddr *)&to, sizeof(to)));
	emit("ev=%#x", wait_ev(s, 0));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0)
		emit_cmsgs(&m);
	emit_so_error(s);
}
CASE(dgram_cork_options, 0)
{
	int s = udp_sock(), v = 5;

	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &v, sizeof(v)));
	emit("cork=%d", geti(s, IPPROTO_UDP, UDP_CORK));
	R(setsockopt(s, IPPROTO_UDP, UDP_CORK, &v, 2));
	emit("segment=%d gro=%d encap=%d", geti(s, IPPROTO_UDP, UDP_SEGMENT), geti(s, IPPROTO_UDP, UDP_GRO),
	     geti(s, IPPROTO_UDP, UDP_ENCAP));
	v = 1000;
	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	emit("segment=%d", geti(s, IPPROTO_UDP, UDP_SEGMENT));
	v = 65536;
	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	v = 1;
	R(setsockopt(s, IPPROTO_UDP, UDP_GRO, &v, sizeof(v)));
	emit("gro=%d", geti(s, IPPROTO_UDP, UDP_GRO));
	R(setsockopt(s, IPPROTO_UDP, 999, &v, sizeof(v)));
	R(geti(s, IPPROTO_UDP, 999));
}
CASE(dgram_bcast_no_so_broadcast_connected, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4("255.255.255.255", P_USINK);

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(sendmsg(s, &(struct msghdr){ .msg_name = &a, .msg_namelen = sizeof(a),
				       .msg_iov = &(struct iovec){ "x", 1 }, .msg_iovlen = 1 }, 0));
}
/* SO_REUSEADDR / SO_REUSEPORT, UDP: which second bind succeeds. */
static void udp_reuse_pair(int o1, int o2, const char *a1, const char *a2)
{
	int s = udp_sock(), t = udp_sock();

	if (o1)
		seti(s, SOL_SOCKET, o1, 1);
	if (o2)
		seti(t, SOL_SOCKET, o2, 1);
	bind_to(s, a1, case_port());
	bind_to(t, a2, case_port());
}
CASE(dgram_reuseaddr_both, 0) { udp_reuse_pair(SO_REUSEADDR, SO_REUSEADDR, SELF, SELF); }
CASE(dgram_reuseaddr_first, 0) { udp_reuse_pair(SO_REUSEADDR, 0, SELF, SELF); }
CASE(dgram_reuseaddr_any_self, 0) { udp_reuse_pair(SO_REUSEADDR, SO_REUSEADDR, "0.0.0.0", SELF); }
CASE(dgram_noreuse_any_self, 0) { udp_reuse_pair(0, 0, "0.0.0.0", SELF); }
CASE(dgram_noreuse_self_any, 0) { udp_reuse_pair(0, 0, SELF, "0.0.0.0"); }
CASE(dgram_reuseport_both, 0) { udp_reuse_pair(SO_REUSEPORT, SO_REUSEPORT, SELF, SELF); }
CASE(dgram_reuseport_first, 0) { udp_reuse_pair(SO_REUSEPORT, 0, SELF, SELF); }
CASE(dgram_reuseport_any_self, 0) { udp_reuse_pair(SO_REUSEPORT, SO_REUSEPORT, "0.0.0.0", SELF); }
CASE(dgram_reuse_mixed, 0) { udp_reuse_pair(SO_REUSEADDR, SO_REUSEPORT, SELF, SELF); }
CASE(dgram_reuseport_delivery, 0)
{
	int s = udp_sock(), t = udp_sock();
	char b[32];

	seti(s, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(t, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(s, SELF, case_port());
	bind_to(t, SELF, case_port());
	peer("udp %d one", case_port());
	/* SO_REUSEADDR on UDP: the last bound socket gets unicast */
	emit("s=%d t=%d", poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 0),
	     poll(&(struct pollfd){ .fd = t, .events = POLLIN }, 1, 0));
	R(recv(t, b, sizeof(b), MSG_DONTWAIT));
}
CASE(dgram_inet6_reuse_dual, 0)
{
	int s = sock6(SOCK_DGRAM), t = udp_sock();

	seti(s, SOL_SOCKET, SO_REUSEADDR, 1);
	seti(t, SOL_SOCKET, SO_REUSEADDR, 1);
	bind6(s, "::", case_port(), 0);
	bind_to(t, SELF, case_port());
}

CASE(inet6_mapped_tclass, 0) { udp6_opt_report(IPPROTO_IPV6, IPV6_TCLASS, 0x28); }
CASE(dgram_recvmmsg_bad_second, 0)
{
	int s = udp_to(P_UECHO);
	struct mmsghdr mm[2];
	char b[16];
	struct iovec v[2] = { { b, sizeof(b) }, { BAD, 16 } };

	mm[0] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[0], .msg_iovlen = 1 } };
	mm[1] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[1], .msg_iovlen = 1 } };
	R(send(s, "one", 3, 0));
	R(send(s, "two", 3, 0));
	R(recvmmsg(s, mm, 1, 0, NULL));
	R(send(s, "three", 5, 0));
	R(recv(s, b, sizeof(b), MSG_PEEK));
	/* two is there, three may be coming: the second entry's fault. */
	R(recvmmsg(s, mm, 2, 0, NULL));
	emit("len0=%u", mm[0].msg_len);
	emit_so_error(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(inet6_udp_refused_ip_recverr, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	conn6(s, MAPPED_PEER, P_UCLOSED);
	R(send(s, "x", 1, 0));
	wait_err(s);
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct sock_extended_err e;

			memcpy(&e, CMSG_DATA(h), sizeof(e));
			emit("cmsg=%d/%d len=%zu err=%s origin=%d type=%d code=%d", h->cmsg_level, h->cmsg_type,
			     (size_t)h->cmsg_len, ename((int)e.ee_errno), e.ee_origin, e.ee_type, e.ee_code);
			emit_addr(SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(h)),
				  (socklen_t)(h->cmsg_len - CMSG_LEN(sizeof(e))));
		}
	}
	emit_so_error(s);
}
CASE(dgram_cmsg_origdstaddr, 0) { recvmsg_with_option(IPPROTO_IP, IP_RECVORIGDSTADDR, 256); }
CASE(dgram_cmsg_origdstaddr_server, 0)
{
	union { char b[256]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVORIGDSTADDR, 1);
	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	bind_to(s, "0.0.0.0", case_port());
	peer("udp %d hi", case_port());
	if (R(recvmsg(s, &m, MSG_DONTWAIT)) >= 0)
		emit_cmsgs(&m);
}
CASE(inet6_cmsg_both_pktinfo, 0) { udp6_recv_cmsgs(IPPROTO_IP, IP_PKTINFO, IPPROTO_IPV6, IPV6_RECVPKTINFO); }
CASE(inet6_cmsg_ip_origdst, 0) { udp6_recv_cmsgs(IPPROTO_IP, IP_RECVORIGDSTADDR, 0, 0); }
CASE(inet6_cmsg_recvpktinfo, 0) { udp6_recv_cmsgs(IPPROTO_IPV6, IPV6_RECVPKTINFO, 0, 0); }
CASE(inet6_bind_mapped_any_udp, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "::ffff:0.0.0.0", case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_mapped_any_tcp_listen, 0)
{
	int s = sock6(SOCK_STREAM), u = sock6(SOCK_DGRAM);

	bind6(s, "::ffff:0.0.0.0", case_port(), 0);
	R(listen(s, 1));
	emit_sockname(s);
	bind6(u, "::ffff:0.0.0.0", 0, 0);
	conn6(u, MAPPED_PEER, P_UECHO);
	emit_sockname(u);
	R(connect(u, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_sockname(u);
}
CASE(inet6_bind_linklocal_bad_scope, 0)
{
	struct sockaddr_in6 a = sin6("fe80::5", 0);

	a.sin6_scope_id = 9999;
	R(bind(sock6(SOCK_DGRAM), (struct sockaddr *)&a, sizeof(a)));
}
CASE(inet6_bind_linklocal_noscope, 0) { bind6(sock6(SOCK_DGRAM), "fe80::5", 0, 0); }
CASE(inet6_bind_mcast6_global, 0) { int s = sock6(SOCK_DGRAM); bind6(s, "ff0e::5", case_port(), 0); emit_sockname(s); }
CASE(inet6_bind_mcast6_linklocal, 0) { bind6(sock6(SOCK_DGRAM), "ff02::1", case_port(), 0); }
CASE(inet6_bind_v6only_any, 0)
{
	int s = sock6(SOCK_DGRAM), u = udp_sock();

	seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	bind6(s, "::", case_port(), 0);
	emit_sockname(s);
	/* the IPv4 port stays free */
	bind_to(u, SELF, case_port());
}
/* A native IPv6 destination from a dual-stack socket the stack already
 * serves (connected to a mapped peer, then disconnected), and a
 * non-blocking connect: the test bed has no IPv6 route on either side, and
 * Linux answers ENETUNREACH at once, as pstack (the last sweep's left item
 * is the test bed's). */
static void inet6_global_from_stack(int type, bool nonblock)
{
	int s = sock6(type);
	struct sockaddr_in6 u = { .sin6_family = AF_UNSPEC };

	if (nonblock)
		fcntl(s, F_SETFL, O_NONBLOCK);
	conn6(s, MAPPED_PEER, type == SOCK_STREAM ? P_ECHO : P_UECHO);
	if (nonblock && type == SOCK_STREAM)
		emit("ev=%#x", wait_ev(s, POLLOUT));
	R(connect(s, (struct sockaddr *)&u, sizeof(u)));
	emit_sockname(s);
	conn6(s, GLOBAL6, type == SOCK_STREAM ? P_ECHO : P_UECHO);
	emit_so_error(s);
	emit_sockname(s);
	if (type == SOCK_DGRAM)
		sendto6(s, GLOBAL6, P_UECHO, "x");
	else
		R(send(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	emit_sockname(s);
}
CASE(inet6_global_from_stack_tcp, 0) { inet6_global_from_stack(SOCK_STREAM, false); }
CASE(inet6_global_from_stack_tcp_nonblock, 0) { inet6_global_from_stack(SOCK_STREAM, true); }
CASE(inet6_global_from_stack_udp, 0) { inet6_global_from_stack(SOCK_DGRAM, false); }
CASE(inet6_connect_global_tcp_nonblock, 0)
{
	int s = sock6(SOCK_STREAM);

	fcntl(s, F_SETFL, O_NONBLOCK);
	conn6(s, GLOBAL6, P_ECHO);
	emit_so_error(s);
	emit_sockname(s);
}
CASE(inet6_connect_global_udp, 0) { int s = sock6(SOCK_DGRAM); conn6(s, GLOBAL6, P_UECHO); emit_sockname(s); }
CASE(inet6_sendto_global, 0) { int s = sock6(SOCK_DGRAM); sendto6(s, GLOBAL6, P_UECHO, "x"); emit_sockname(s); }
CASE(inet6_sendto_linklocal_noscope, 0) { sendto6(sock6(SOCK_DGRAM), "fe80::5", P_UECHO, "x"); }
/* A bind the kernel refused leaves the socket as it was: IPv4 still works. */
CASE(inet6_bind_refused_then_mapped, 0)
{
	int s = sock6(SOCK_DGRAM);
	char b[8];

	bind6(s, GLOBAL6, case_port(), 0);
	bind6(s, "fe80::5", case_port(), 0);
	bind6(s, MAPPED_SELF, case_port(), 0);
	emit_sockname(s);
	sendto6(s, MAPPED_PEER, P_UECHO, "x");
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(inet6_bind_refused_then_listen, 0)
{
	int s = sock6(SOCK_STREAM), c;
	char b[8];

	bind6(s, GLOBAL6, case_port(), 0);
	bind6(s, "::", case_port(), 0);
	R(listen(s, 2));
	peer("connect %d hello", case_port());
	c = (int)RFD(accept(s, NULL, NULL));
	wait_in(c);
	R(recv(c, b, 5, 0));
}
CASE(inet6_bind_v6only_any_then_mapped, 0)
{
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	bind6(s, "::", 0, 0);
	emit_sockname(s);
	sendto6(s, MAPPED_PEER, P_UECHO, "x");
	conn6(s, MAPPED_PEER, P_UECHO);
	emit("v6only=%d", geti(s, IPPROTO_IPV6, IPV6_V6ONLY));
}
CASE(inet6_bind_v6only_any_tcp, 0)
{
	int s = sock6(SOCK_STREAM), t = tcp_sock();

	seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	bind6(s, "::", case_port(), 0);
	R(listen(s, 1));
	bind_to(t, "0.0.0.0", case_port());
	R(listen(t, 1));
	conn6(sock6(SOCK_STREAM), MAPPED_SELF, case_port());
}
CASE(inet6_bind_mcast6_then_send, 0)
{
	int s = sock6(SOCK_DGRAM);

	bind6(s, "ff0e::5", 0, 0);
	emit_sockname(s);
	sendto6(s, MAPPED_PEER, P_UECHO, "x");
	conn6(s, MAPPED_PEER, P_UECHO);
}
/* SO_REUSEADDR / SO_REUSEPORT changed after the first socket's bind: the
 * second bind sees the first's value now (sk_reuse, sk_reuseport). */
static void reuse_after_bind(int type, int opt, int before, int after)
{
	int s = socket(AF_INET, type, 0), t = socket(AF_INET, type, 0);

	need(s >= 0 && t >= 0, "socket");
	if (before)
		seti(s, SOL_SOCKET, opt, 1);
	bind_to(s, SELF, case_port());
	seti(s, SOL_SOCKET, opt, after);
	seti(t, SOL_SOCKET, opt, 1);
	bind_to(t, SELF, case_port());
}
CASE(reuse_after_bind_udp_port_on, 0) { reuse_after_bind(SOCK_DGRAM, SO_REUSEPORT, 0, 1); }
CASE(reuse_after_bind_udp_port_off, 0) { reuse_after_bind(SOCK_DGRAM, SO_REUSEPORT, 1, 0); }
CASE(reuse_after_bind_udp_addr_on, 0) { reuse_after_bind(SOCK_DGRAM, SO_REUSEADDR, 0, 1); }
CASE(reuse_after_bind_udp_addr_off, 0) { reuse_after_bind(SOCK_DGRAM, SO_REUSEADDR, 1, 0); }
CASE(reuse_after_bind_tcp_port_on, 0) { reuse_after_bind(SOCK_STREAM, SO_REUSEPORT, 0, 1); }
CASE(reuse_after_bind_tcp_port_off, 0) { reuse_after_bind(SOCK_STREAM, SO_REUSEPORT, 1, 0); }
CASE(reuse_after_bind_tcp_addr_on, 0) { reuse_after_bind(SOCK_STREAM, SO_REUSEADDR, 0, 1); }
CASE(reuse_after_bind_tcp_addr_off, 0) { reuse_after_bind(SOCK_STREAM, SO_REUSEADDR, 1, 0); }
CASE(dgram_reuseport_after_bind, 0)
{
	int s = udp_sock(), t = udp_sock();

	bind_to(s, SELF, case_port());
	seti(s, SOL_SOCKET, SO_REUSEPORT, 1);
	seti(t, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(t, SELF, case_port());
}
/*
 * SO_RXQ_OVFL: a datagram queued after drops carries the count so far
 * (sock_recv_drops), one queued before carries none. How many a small
 * buffer holds depends on the kernel's skb truesize (veth's, not
 * modelled): the counts are not compared, only where the cmsg is.
 */
CASE(dgram_rxq_ovfl, 10000)
{
	int s = udp_bound(), n = 0, with = 0, i;
	union { char b[256]; struct cmsghdr a; } c;
	char b[512], text[201];
	struct iovec iv = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &iv, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	uint32_t last = 0;

	seti(s, SOL_SOCKET, SO_RXQ_OVFL, 1);
	seti(s, SOL_SOCKET, SO_RCVBUF, 1);
	emit("rcvbuf=%d ovfl=%d", geti(s, SOL_SOCKET, SO_RCVBUF), geti(s, SOL_SOCKET, SO_RXQ_OVFL));
	memset(text, 'x', 200);
	text[200] = 0;
	for (i = 0; i < 12; i++)
		peer("udp %d %s", case_port(), text);
	for (;;) {
		m.msg_controllen = sizeof(c);
		if (recvmsg(s, &m, MSG_DONTWAIT) < 0)
			break;
		n++;
		with += CMSG_FIRSTHDR(&m) != NULL;
	}
	emit("some=%d with=%d", n > 0 && n < 12, with);
	peer("udp %d last", case_port());
	m.msg_controllen = sizeof(c);
	if (R(recvmsg(s, &m, MSG_DONTWAIT)) >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			memcpy(&last, CMSG_DATA(h), sizeof(last));
			emit("cmsg=%d/%d len=%zu drops_ok=%d", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len,
			     (int)last == 12 - n);
		}
	}
	/* Off: the next one (queued while off) carries none. */
	seti(s, SOL_SOCKET, SO_RXQ_OVFL, 0);
	peer("udp %d off", case_port());
	seti(s, SOL_SOCKET, SO_RXQ_OVFL, 1);
	m.msg_controllen = sizeof(c);
	if (R(recvmsg(s, &m, MSG_DONTWAIT)) >= 0)
		emit("controllen=%zu", (size_t)m.msg_controllen);
}
CASE(dgram_segment_errors, 0)
{
	int s = udp_to(P_USINK), v = 1500;
	static char big[70000];

	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	R(send(s, big, 3000, 0));
	v = 100;
	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	R(send(s, big, 100 * 65, 0));
	R(send(s, big, 100 * 64, 0));
	R(send(s, big, 50, 0));
	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(send(s, big, 300, 0));
}
CASE(dgram_segment_send, 0)
{
	int s = udp_to(P_UECHO), v = 4;
	char b[32];

	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	R(send(s, "abcdefghij", 10, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* UDP_SEGMENT as a cmsg (a u16), over the socket's; the limits. */
static long send_gso(int s, const void *buf, size_t n, uint16_t gso, size_t cmsg_len)
{
	union { char b[CMSG_SPACE(sizeof(uint16_t)) + 8]; struct cmsghdr a; } c;
	struct iovec v = { (void *)buf, n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = CMSG_SPACE(sizeof(gso)) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	memset(&c, 0, sizeof(c));
	h->cmsg_level = SOL_UDP;
	h->cmsg_type = UDP_SEGMENT;
	h->cmsg_len = cmsg_len;
	memcpy(CMSG_DATA(h), &gso, sizeof(gso));
	return R(sendmsg(s, &m, 0));
}
CASE(dgram_segment_cmsg, 0)
{
	int s = udp_to(P_UECHO), v = 3;
	static char big[70000];
	char b[32];

	send_gso(s, "abcdefg", 7, 5, CMSG_LEN(sizeof(uint16_t)));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	send_gso(s, "abcdefg", 7, 5, CMSG_LEN(sizeof(uint32_t)));
	seti(s, IPPROTO_UDP, UDP_SEGMENT, v);
	send_gso(s, "abcdefg", 7, 0, CMSG_LEN(sizeof(uint16_t)));   /* 0: none, over the socket's */
	R(recv(s, b, sizeof(b), 0));
	send_gso(s, big, 1473, 1473, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 1472 * 2, 1472, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 10 * 129, 10, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 10 * 128, 10, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 2000, 4000, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 65508, 1000, CMSG_LEN(sizeof(uint16_t)));
	send_gso(s, big, 65507, 1000, CMSG_LEN(sizeof(uint16_t)));
	R(send(s, "abcdefg", 7, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(dgram_cork_too_big, 0)
{
	int s = udp_to(P_USINK);
	static char big[40000];

	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(send(s, big, sizeof(big), 0));
	R(send(s, big, sizeof(big), 0));
	R(send(s, big, 1, 0));
}
CASE(dgram_cork_two_sends, 0)
{
	int s = udp_to(P_UECHO);
	char b[32];

	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(send(s, "ab", 2, 0));
	R(send(s, "cd", 2, 0));
	emit("ev=%#x", wait_ev(s, POLLIN) & POLLIN);
	emit("cork=%d", geti(s, IPPROTO_UDP, UDP_CORK));
	seti(s, IPPROTO_UDP, UDP_CORK, 0);
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(dgram_msg_more, 0)
{
	int s = udp_to(P_UECHO);
	char b[32];

	R(send(s, "ab", 2, MSG_MORE));
	R(send(s, "cd", 2, MSG_MORE));
	R(send(s, "ef", 2, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(dgram_msg_more_other_dest, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_UECHO), o = sin4(PEER, P_USINK);
	char b[32];

	R(sendto(s, "ab", 2, MSG_MORE, (struct sockaddr *)&a, sizeof(a)));
	R(sendto(s, "cd", 2, 0, (struct sockaddr *)&o, sizeof(o)));
	R(sendto(s, "ef", 2, 0, (struct sockaddr *)&a, sizeof(a)));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
/* Corked: the first send's address holds; a failed append throws the
 * pending datagram away; the cork off sends it, with GSO if set. */
CASE(dgram_cork_paths, 0)
{
	int s = udp_sock();
	struct sockaddr_in e = sin4(PEER, P_UECHO), k = sin4(PEER, P_USINK), z = sin4(PEER, 0);
	static char big[2000];
	char b[64];

	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(sendto(s, "ab", 2, 0, (struct sockaddr *)&e, sizeof(e)));
	R(sendto(s, "cd", 2, 0, (struct sockaddr *)&z, sizeof(z)));
	R(send(s, "ef", 2, 0));
	R(sendto(s, "gh", 2, 0, (struct sockaddr *)&k, sizeof(k)));
	seti(s, IPPROTO_UDP, UDP_CORK, 0);
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	/* IP_PMTUDISC_DO: the whole past the MTU is EMSGSIZE, the rest gone. */
	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(sendto(s, big, 1000, 0, (struct sockaddr *)&e, sizeof(e)));
	R(sendto(s, big, 1000, 0, (struct sockaddr *)&e, sizeof(e)));
	R(sendto(s, "xy", 2, 0, (struct sockaddr *)&e, sizeof(e)));
	seti(s, IPPROTO_UDP, UDP_CORK, 0);
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	/* GSO applies when the corked datagram leaves. */
	seti(s, IPPROTO_UDP, UDP_SEGMENT, 3);
	R(sendto(s, "1234", 4, MSG_MORE, (struct sockaddr *)&e, sizeof(e)));
	R(sendto(s, "567", 3, 0, (struct sockaddr *)&e, sizeof(e)));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* sendmsg's control messages on a dual-stack socket's IPv4-mapped
 * datagram (udp_sendmsg's ip_cmsg_send with allow_ipv6): SOL_IP ones and
 * IPV6_PKTINFO with a mapped source count, other SOL_IPV6 ones do not. */
static void udp6_send_cmsg_report(int level, int type, const void *data, size_t dlen, int port)
{
	union { char b[CMSG_SPACE(64)]; struct cmsghdr a; } c;
	struct iovec v = { "x", 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = CMSG_SPACE(dlen) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	int s = sock6(SOCK_DGRAM);
	char b[64];
	ssize_t n;

	memset(&c, 0, sizeof(c));
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(dlen);
	memcpy(CMSG_DATA(h), data, dlen);
	conn6(s, MAPPED_PEER, port);
	if (R(sendmsg(s, &m, 0)) < 0 || port != P_UTTL)
		return;
	wait_in(s);
	n = R(recv(s, b, sizeof(b) - 1, 0));
	if (n > 0) {
		b[n] = 0;
		emit("%s", b);
	}
}
/* The same control messages with the destination in msg_name (v4-mapped),
 * on a socket connected or not. */
static void udp6_send_cmsg_named(int level, int type, int val, bool connected)
{
	union { char b[CMSG_SPACE(64)]; struct cmsghdr a; } c;
	struct iovec v = { "x", 1 };
	struct sockaddr_in6 a = sin6(MAPPED_PEER, P_USINK);
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = CMSG_SPACE(sizeof(int)), .msg_name = &a, .msg_namelen = sizeof(a) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	int s = sock6(SOCK_DGRAM);

	memset(&c, 0, sizeof(c));
	h->cmsg_level = level;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &val, sizeof(val));
	if (connected)
		conn6(s, MAPPED_PEER, P_USINK);
	R(sendmsg(s, &m, 0));
	m.msg_name = NULL;
	m.msg_namelen = 0;
	if (connected)
		R(sendmsg(s, &m, 0));
}
CASE(inet6_sendmsg_cmsg_named, 0)
{
	udp6_send_cmsg_named(IPPROTO_IP, 99, 1, false);
	udp6_send_cmsg_named(IPPROTO_IP, 99, 1, true);
	udp6_send_cmsg_named(IPPROTO_IP, IP_TTL, 300, false);
	udp6_send_cmsg_named(IPPROTO_IP, IP_TTL, 300, true);
	udp6_send_cmsg_named(IPPROTO_IPV6, 99, 1, false);
	udp6_send_cmsg_named(IPPROTO_IPV6, IPV6_HOPLIMIT, 300, true);
	udp6_send_cmsg_named(SOL_SOCKET, 999, 1, true);
}
CASE(inet6_sendmsg_cmsg_hoplimit, 0) { int v = 9; udp6_send_cmsg_report(IPPROTO_IPV6, IPV6_HOPLIMIT, &v, sizeof(v), P_UTTL); }
CASE(inet6_sendmsg_cmsg_tclass, 0) { int v = 0x28; udp6_send_cmsg_report(IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v), P_UTTL); }
CASE(inet6_sendmsg_cmsg_pktinfo6_mapped, 0)
{
	struct in6_pktinfo pi = { .ipi6_ifindex = 0 };

	inet_pton(AF_INET6, MAPPED_SELF, &pi.ipi6_addr);
	udp6_send_cmsg_report(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi), P_UTTL);
}
CASE(inet6_sendmsg_cmsg_pktinfo4, 0)
{
	struct in_pktinfo pi = { .ipi_ifindex = 0 };

	inet_pton(AF_INET, SELF, &pi.ipi_spec_dst);
	udp6_send_cmsg_report(IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi), P_UTTL);
}
CASE(inet6_sendmsg_cmsg_segment, 0) { uint16_t g = 1; udp6_send_cmsg_report(SOL_UDP, UDP_SEGMENT, &g, sizeof(g), P_USINK); }
CASE(inet6_sendmsg_cmsg_unknown_ip6, 0) { int v = 1; udp6_send_cmsg_report(IPPROTO_IPV6, 99, &v, sizeof(v), P_USINK); }
CASE(inet6_udp_msg_more, 0)
{
	int s = sock6(SOCK_DGRAM);
	char b[32];

	conn6(s, MAPPED_PEER, P_UECHO);
	R(send(s, "ab", 2, MSG_MORE));
	sendto6(s, MAPPED_PEER, P_USINK, "cd");
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	seti(s, IPPROTO_UDP, UDP_CORK, 1);
	R(send(s, "ef", 2, 0));
	R(send(s, "gh", 2, 0));
	seti(s, IPPROTO_UDP, UDP_CORK, 0);
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(inet6_udp_segment, 0)
{
	int s = sock6(SOCK_DGRAM), v = 4;
	char b[32];

	conn6(s, MAPPED_PEER, P_UECHO);
	R(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)));
	R(send(s, "abcdefghij", 10, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(inet6_udp_local_error, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	static char big[3000];
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	struct sockaddr_in6 from;
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	conn6(s, MAPPED_PEER, P_USINK);
	R(send(s, big, sizeof(big), 0));
	emit("ev=%#x", wait_ev(s, 0));
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	memset(&from, 0x55, sizeof(from));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		emit_addr(&from, m.msg_namelen);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			struct sock_extended_err e;

			memcpy(&e, CMSG_DATA(h), sizeof(e));
			emit("cmsg=%d/%d len=%zu err=%s origin=%d info=%u", h->cmsg_level, h->cmsg_type,
			     (size_t)h->cmsg_len, ename((int)e.ee_errno), e.ee_origin, e.ee_info);
			emit_addr(SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(h)),
				  (socklen_t)(h->cmsg_len - CMSG_LEN(sizeof(e))));
		}
	}
}
CASE(inet6_connect_mapped_loopback, 0)
{
	int s = sock6(SOCK_DGRAM), t = sock6(SOCK_DGRAM);

	conn6(s, "::ffff:127.0.0.1", 9);
	emit_sockname(s);
	conn6(t, "::ffff:0.0.0.0", 9);
	emit_peername(t);
}
CASE(inet6_tcp_mapped_ttl, 0)
{
	int s = sock6(SOCK_STREAM);
	char b[32];
	ssize_t n;

	seti(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7);
	seti(s, IPPROTO_IP, IP_TTL, 33);
	conn6(s, MAPPED_PEER, P_TTL);
	wait_in(s);
	n = R(recv(s, b, sizeof(b) - 1, 0));
	if (n > 0) {
		b[n] = 0;
		emit("%s", b);
	}
}
CASE(dgram_send_flags, 0)
{
	int s = udp_to(P_UECHO);
	char b[8];

	R(send(s, "a", 1, MSG_CONFIRM));
	R(send(s, "b", 1, MSG_EOR));
	R(send(s, "c", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	R(send(s, "d", 1, MSG_OOB));
	R(send(s, "e", 1, MSG_FASTOPEN));
	R(send(s, "f", 1, MSG_ZEROCOPY));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(dgram_recv_flags, 0)
{
	int s = udp_echoed("abc");
	char b[8];

	R(recv(s, b, sizeof(b), MSG_OOB));
	R(recv(s, b, sizeof(b), MSG_CMSG_CLOEXEC | MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_ERRQUEUE));
	R(recv(s, b, sizeof(b), MSG_WAITALL | MSG_DONTWAIT));
}
CASE(dgram_recvmmsg_trunc_flags, 0)
{
	int s = udp_to(P_UECHO);
	struct mmsghdr mm[2];
	char b0[4], b1[4];
	struct iovec v[2] = { { b0, sizeof(b0) }, { b1, sizeof(b1) } };

	for (int i = 0; i < 2; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	R(send(s, "abcdef", 6, 0));
	R(send(s, "gh", 2, 0));
	R(recvmmsg(s, mm, 2, MSG_TRUNC, NULL));
	emit("len=%u/%u flags=%#x/%#x", mm[0].msg_len, mm[1].msg_len, mm[0].msg_hdr.msg_flags, mm[1].msg_hdr.msg_flags);
}
CASE(dgram_recvmmsg_peek, 0)
{
	int s = udp_to(P_UECHO);
	struct mmsghdr mm[2];
	char b0[8], b1[8];
	struct iovec v[2] = { { b0, sizeof(b0) }, { b1, sizeof(b1) } };

	for (int i = 0; i < 2; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	R(send(s, "one", 3, 0));
	R(send(s, "two", 3, 0));
	R(recvmmsg(s, mm, 2, 0, NULL));
	R(send(s, "three", 5, 0));
	wait_in(s);
	R(recvmmsg(s, mm, 2, MSG_PEEK | MSG_WAITFORONE, NULL));
	emit("len=%u/%u", mm[0].msg_len, mm[1].msg_len);
}
CASE(dgram_sendmmsg_connected_dest, 0)
{
	int s = udp_to(P_UECHO);
	struct mmsghdr mm[2];
	struct iovec v[2] = { { "a", 1 }, { "bb", 2 } };
	struct sockaddr_in k = sin4(PEER, P_USINK);
	char b[8];

	for (int i = 0; i < 2; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	mm[0].msg_hdr.msg_name = &k;
	mm[0].msg_hdr.msg_namelen = sizeof(k);
	R(sendmmsg(s, mm, 2, 0));
	R(recv(s, b, sizeof(b), 0));
}
CASE(dgram_sendmmsg_vlen_big, 0)
{
	int s = udp_to(P_USINK);
	static struct mmsghdr mm[1100];
	struct iovec v = { "a", 1 };

	for (int i = 0; i < 1100; i++)
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
	R(sendmmsg(s, mm, 1100, 0));
}
CASE(inet6_sendmsg_cmsg_ip_tos, 0) { int v = 0x28; udp6_send_cmsg_report(IPPROTO_IP, IP_TOS, &v, sizeof(v), P_UTTL); }
CASE(inet6_sendmsg_cmsg_ip_ttl, 0) { int v = 9; udp6_send_cmsg_report(IPPROTO_IP, IP_TTL, &v, sizeof(v), P_UTTL); }
CASE(inet6_sendmsg_cmsg_ip_ttl_bad, 0) { int v = 300; udp6_send_cmsg_report(IPPROTO_IP, IP_TTL, &v, sizeof(v), P_UTTL); }
CASE(inet6_sendmsg_cmsg_pktinfo6_native, 0)
{
	struct in6_pktinfo pi = { .ipi6_ifindex = 0 };

	inet_pton(AF_INET6, "2001:db8::5", &pi.ipi6_addr);
	udp6_send_cmsg_report(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi), P_UTTL);
}
CASE(inet6_sendmsg_cmsg_pktinfo6_other, 0)
{
	struct in6_pktinfo pi = { .ipi6_ifindex = 0 };

	inet_pton(AF_INET6, "::ffff:" NOBODY, &pi.ipi6_addr);
	udp6_send_cmsg_report(IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi), P_UTTL);
}
CASE(inet6_sendmsg_cmsg_udp_bad, 0) { int v = 1; udp6_send_cmsg_report(SOL_UDP, UDP_SEGMENT, &v, sizeof(v), P_USINK); }
CASE(inet6_sendmsg_cmsg_unknown_ip, 0) { int v = 1; udp6_send_cmsg_report(IPPROTO_IP, 99, &v, sizeof(v), P_USINK); }
/* What an ICMP error brings along on the error queue: ip_recv_error's
 * ip_cmsg_recv (the ICMP message's own header) when IP cmsgs are asked for. */
static void errq_cmsgs(int family, bool v6pi)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = family == AF_INET6 ? sock6(SOCK_DGRAM) : udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	seti(s, IPPROTO_IP, IP_RECVTOS, 1);
	if (v6pi)
		seti(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	if (family == AF_INET6)
		conn6(s, MAPPED_PEER, P_UCLOSED);
	else
		conn(s, PEER, P_UCLOSED);
	R(send(s, "abc", 3, 0));
	wait_err(s);
	memset(&c, 0, sizeof(c));
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0) {
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
			if (h->cmsg_level == IPPROTO_IPV6 && h->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				char a[INET6_ADDRSTRLEN];

				memcpy(&pi, CMSG_DATA(h), sizeof(pi));
				inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
				emit("pktinfo6=%s,tap0=%d", a, pi.ipi6_ifindex == if_nametoindex("tap0"));
			} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				char a[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

				memcpy(&pi, CMSG_DATA(h), sizeof(pi));
				inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof(a));
				inet_ntop(AF_INET, &pi.ipi_addr, d, sizeof(d));
				emit("pktinfo=%s,%s,tap0=%d", a, d, pi.ipi_ifindex == (int)if_nametoindex("tap0"));
			} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TTL) {
				emit("ttl=%d", *(int *)CMSG_DATA(h));
			} else if (h->cmsg_level == IPPROTO_IP && h->cmsg_type == IP_TOS) {
				emit("tos=%d", *(unsigned char *)CMSG_DATA(h));
			} else {
				emit("cmsg=%d/%d len=%zu", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len);
			}
		}
	}
}
CASE(dgram_errq_ip_cmsgs, 0) { errq_cmsgs(AF_INET, false); }
CASE(inet6_errq_ip_cmsgs, 0) { errq_cmsgs(AF_INET6, false); }
CASE(inet6_errq_pktinfo6, 0) { errq_cmsgs(AF_INET6, true); }
CASE(inet6_udp_both_recverr, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = sock6(SOCK_DGRAM);

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	seti(s, IPPROTO_IPV6, IPV6_RECVERR, 1);
	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	seti(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	conn6(s, MAPPED_PEER, P_UCLOSED);
	R(send(s, "abc", 3, 0));
	wait_err(s);
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0)
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
			emit("cmsg=%d/%d len=%zu", h->cmsg_level, h->cmsg_type, (size_t)h->cmsg_len);
}
CASE(inet6_udp_disconnect_names, 0)
{
	int s = sock6(SOCK_DGRAM);

	conn6(s, MAPPED_PEER, P_UECHO);
	R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_sockname(s);
	emit_peername(s);
	R(send(s, "x", 1, 0));
}
CASE(inet6_mtu_discover_mapped, 0)
{
	int s = sock6(SOCK_DGRAM);
	static char big[3000];

	seti(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
	seti(s, IPPROTO_IPV6, IPV6_DONTFRAG, 1);
	conn6(s, MAPPED_PEER, P_USINK);
	R(send(s, big, sizeof(big), 0));
	seti(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	R(send(s, big, sizeof(big), 0));
	emit("mtu=%d/%d", geti(s, IPPROTO_IP, IP_MTU), geti(s, IPPROTO_IPV6, IPV6_MTU));
}
CASE(dgram_errq_timestamp, 0)
{
	union { char b[512]; struct cmsghdr a; } c;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c) };
	int s = udp_sock();

	seti(s, IPPROTO_IP, IP_RECVERR, 1);
	seti(s, SOL_SOCKET, SO_TIMESTAMP, 1);
	conn(s, PEER, P_UCLOSED);
	R(send(s, "abc", 3, 0));
	wait_err(s);
	if (R(recvmsg(s, &m, MSG_ERRQUEUE)) >= 0)
		emit_cmsgs(&m);
}
CASE(dgram_connect_reconnect_error, 0)
{
	int s = udp_to(P_UCLOSED);
	char b[8];

	R(send(s, "x", 1, 0));
	wait_err(s);
	conn(s, PEER, P_UECHO);
	emit_so_error(s);
	R(send(s, "y", 1, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(dgram_refused_unconnected_no_recverr, 0)
{
	int s = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_UCLOSED);
	char b[8];

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	peer("udp %d hi", local_port(s));
	emit("ev=%#x", poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 0) > 0);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	emit_so_error(s);
}
CASE(dgram_shutdown_rd_recv, 0)
{
	int s = udp_echoed("abc");
	char b[8];

	R(shutdown(s, SHUT_RD));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	emit("ev=%#x", poll(&(struct pollfd){ .fd = s, .events = POLLIN | POLLOUT }, 1, 0) > 0);
}
CASE(dgram_recvmsg_name_short_v4, 0)
{
	int s = udp_echoed("abc");
	struct sockaddr_in a;
	char b[8];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = 3, .msg_iov = &v, .msg_iovlen = 1 };

	memset(&a, 0x55, sizeof(a));
	R(recvmsg(s, &m, 0));
	emit("namelen=%u fam=%d port=%#x", (unsigned)m.msg_namelen, a.sin_family, a.sin_port);
}
CASE(dgram_bind_after_autobind, 0)
{
	int s = udp_sock();
	struct sockaddr_in to = sin4(PEER, P_USINK);

	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	bind_to(s, SELF, case_port());
	emit_sockname(s);
}
CASE(dgram_connect_then_bind, 0)
{
	int s = udp_to(P_USINK);

	bind_to(s, SELF, case_port());
	bind_to(s, "0.0.0.0", 0);
	emit_sockname(s);
}
CASE(dgram_peek_off, 0)
{
	int s = udp_to(P_UECHO), v = 0;
	char b[16];

	R(send(s, "abcdef", 6, 0));
	R(send(s, "ghij", 4, 0));
	R(recv(s, b, 2, MSG_PEEK | MSG_WAITALL));
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)));
	wait_in(s);
	R(recv(s, b, 2, MSG_PEEK));
	emit("b=%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 2, MSG_PEEK));
	emit("b=%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 16, MSG_PEEK));
	emit("b=%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 16, MSG_PEEK));
	emit("b=%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 16, 0));
	emit("b=%.2s off=%d", b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 16, MSG_PEEK | MSG_DONTWAIT));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* SO_PEEK_OFF: MSG_TRUNC's answer moves it by the whole datagram; a
 * zero-length datagram is passed over once peeked; -1 turns it off. */
CASE(dgram_peek_off_trunc_zero, 0)
{
	int s = udp_to(P_UECHO), v = 0;
	char b[16];
	struct iovec iv = { b, 3 };
	struct msghdr m = { .msg_iov = &iv, .msg_iovlen = 1 };

	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(send(s, "", 0, 0));
	R(send(s, "abcdef", 6, 0));
	R(send(s, "gh", 2, 0));
	R(recv(s, b, 1, 0));
	R(recv(s, b, 2, MSG_PEEK | MSG_WAITALL));
	R(recv(s, b, 2, 0));
	R(send(s, "", 0, 0));
	R(send(s, "ijklmn", 6, 0));
	wait_in(s);
	R(recv(s, b, 0, MSG_PEEK));
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)));
	R(recv(s, b, 16, MSG_PEEK));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recvmsg(s, &m, MSG_PEEK));
	emit("flags=%#x b=%.3s off=%d", m.msg_flags, b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	iv.iov_len = 2;
	R(recvmsg(s, &m, MSG_PEEK | MSG_TRUNC));
	emit("flags=%#x b=%.2s off=%d", m.msg_flags, b, geti(s, SOL_SOCKET, SO_PEEK_OFF));
	R(recv(s, b, 16, MSG_PEEK | MSG_DONTWAIT));
	R(recv(s, b, 16, MSG_TRUNC));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	v = -1;
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)));
	R(recv(s, b, 16, MSG_PEEK));
	R(recv(s, b, 16, 0));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
	v = -5;
	R(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)));
	emit("off=%d", geti(s, SOL_SOCKET, SO_PEEK_OFF));
}
/* IPv4 multicast on a dual-stack socket: IP_ADD_MEMBERSHIP (and
 * IPV6_ADD_MEMBERSHIP with a mapped group, which Linux refuses). */
CASE(inet6_mcast_ip_join_receive, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 f;
	socklen_t fl = sizeof(f);
	char b[64];

	bind6(s, "::", case_port(), 0);
	R(join(s, "239.1.2.5", SELF, IP_ADD_MEMBERSHIP));
	peer("mcast 239.1.2.5 %d hello", case_port());
	if (wait_ev(s, POLLIN) & POLLIN) {
		if (R(recvfrom(s, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&f, &fl)) >= 0)
			emit_addr(&f, fl);
	} else {
		emit("none");
	}
	R(join(s, "239.1.2.5", SELF, IP_DROP_MEMBERSHIP));
	R(join(s, "239.1.2.5", SELF, IP_DROP_MEMBERSHIP));
}
CASE(inet6_mcast_ipv6_join_mapped, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct ipv6_mreq m = { .ipv6mr_interface = 0 };

	inet_pton(AF_INET6, "::ffff:239.1.2.6", &m.ipv6mr_multiaddr);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m)));
	inet_pton(AF_INET6, "ff0e::6", &m.ipv6mr_multiaddr);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m)));
}
CASE(inet6_mcast_sendto_mapped_group, 0)
{
	int s = sock6(SOCK_DGRAM);

	sendto6(s, "::ffff:239.1.2.7", P_USINK, "x");
	seti(s, IPPROTO_IP, IP_MULTICAST_TTL, 3);
	sendto6(s, "::ffff:239.1.2.7", P_USINK, "x");
	emit("ttl=%d/%d", geti(s, IPPROTO_IP, IP_MULTICAST_TTL), geti(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS));
}
CASE(inet6_mcast_group_req, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct group_req g = { .gr_interface = if_nametoindex("tap0") };
	struct sockaddr_in *gi = (struct sockaddr_in *)&g.gr_group;

	gi->sin_family = AF_INET;
	inet_pton(AF_INET, "239.1.2.8", &gi->sin_addr);
	bind6(s, "::", case_port(), 0);
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)));
	peer("mcast 239.1.2.8 %d hello", case_port());
	emit("ev=%d", (wait_ev(s, POLLIN) & POLLIN) != 0);
}
CASE(dgram_mcast_group_req, 0)
{
	int s = udp_sock();
	struct group_req g = { .gr_interface = if_nametoindex("tap0") };
	struct sockaddr_in *gi = (struct sockaddr_in *)&g.gr_group;

	gi->sin_family = AF_INET;
	inet_pton(AF_INET, "239.1.2.9", &gi->sin_addr);
	bind_to(s, "0.0.0.0", case_port());
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)));
	peer("mcast 239.1.2.9 %d hello", case_port());
	emit("ev=%d", (wait_ev(s, POLLIN) & POLLIN) != 0);
}
CASE(dgram_mcast_ip_mreqn, 0)
{
	int s = udp_sock();
	struct ip_mreqn m = { .imr_ifindex = (int)if_nametoindex("tap0") };

	inet_pton(AF_INET, "239.1.2.10", &m.imr_multiaddr);
	bind_to(s, "0.0.0.0", case_port());
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
	peer("mcast 239.1.2.10 %d hello", case_port());
	emit("ev=%d", (wait_ev(s, POLLIN) & POLLIN) != 0);
}
static long group_req_call(int s, int name, int family, const char *group, unsigned ifindex, socklen_t len)
{
	struct group_req g = { .gr_interface = ifindex };
	struct sockaddr_in *gi = (struct sockaddr_in *)&g.gr_group;

	gi->sin_family = (sa_family_t)family;
	inet_pton(AF_INET, group, &gi->sin_addr);
	return R(setsockopt(s, IPPROTO_IP, name, &g, len ? len : sizeof(g)));
}
CASE(dgram_mcast_group_req_errors, 0)
{
	int s = udp_sock();
	struct ip_mreqn m = { .imr_ifindex = 999 };

	group_req_call(s, MCAST_JOIN_GROUP, AF_INET, "239.1.3.1", 0, sizeof(struct group_req) - 1);
	group_req_call(s, MCAST_JOIN_GROUP, AF_INET6, "239.1.3.1", 0, 0);
	group_req_call(s, MCAST_JOIN_GROUP, AF_INET, "192.0.2.77", 0, 0);
	group_req_call(s, MCAST_JOIN_GROUP, AF_INET, "239.1.3.1", 999, 0);
	group_req_call(s, MCAST_LEAVE_GROUP, AF_INET, "239.1.3.1", 0, 0);
	group_req_call(s, MCAST_JOIN_GROUP, AF_INET, "239.1.3.1", 0, 0);
	group_req_call(s, MCAST_JOIN_GROUP, AF_INET, "239.1.3.1", 0, 0);
	group_req_call(s, MCAST_LEAVE_GROUP, AF_INET, "239.1.3.1", 0, 0);
	inet_pton(AF_INET, "239.1.3.2", &m.imr_multiaddr);
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
	m.imr_ifindex = 1;
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
}
CASE(inet6_tcp_opts_mapped_connected, 0)
{
	int s = inet6_to(SOCK_STREAM, P_ECHO);

	emit("tos=%d tclass=%d ttl=%d hops=%d", geti(s, IPPROTO_IP, IP_TOS), geti(s, IPPROTO_IPV6, IPV6_TCLASS),
	     geti(s, IPPROTO_IP, IP_TTL), geti(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	emit("maxseg=%d mtu=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG), geti(s, IPPROTO_IPV6, IPV6_MTU));
	seti(s, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
	emit("tos=%d tclass=%d", geti(s, IPPROTO_IP, IP_TOS), geti(s, IPPROTO_IPV6, IPV6_TCLASS));
}
CASE(inet6_tcp_listen_mapped_self, 0)
{
	int l = sock6(SOCK_STREAM), c;
	struct sockaddr_in6 a;
	socklen_t al = sizeof(a);

	bind6(l, MAPPED_SELF, case_port(), 0);
	R(listen(l, 2));
	peer("connect %d hold", case_port());
	wait_in(l);
	c = (int)RFD(accept4(l, (struct sockaddr *)&a, &al, SOCK_NONBLOCK));
	emit_addr(&a, al);
	emit_peername(c);
	emit("maxseg=%d", geti(c, IPPROTO_TCP, TCP_MAXSEG));
}
CASE(inet6_tcp_accept_short_len, 0)
{
	int l = sock6(SOCK_STREAM), c;
	struct sockaddr_in6 a;
	socklen_t al = 16;

	bind6(l, "::", case_port(), 0);
	R(listen(l, 2));
	peer("connect %d hold", case_port());
	wait_in(l);
	memset(&a, 0x55, sizeof(a));
	c = (int)RFD(accept(l, (struct sockaddr *)&a, &al));
	emit("al=%u fam=%d b16=%#x", (unsigned)al, a.sin6_family, ((unsigned char *)&a)[16]);
	(void)c;
}
CASE(inet6_tcp_connect_refused, 0)
{
	int s = sock6(SOCK_STREAM);

	conn6(s, MAPPED_PEER, 7009);
	emit_so_error(s);
	conn6(s, MAPPED_PEER, P_ECHO);
	emit_sockname(s);
}
CASE(inet6_tcp_connect_v6only_after_bind_mapped, 0)
{
	int s = sock6(SOCK_STREAM), one = 1;

	bind6(s, "::", 0, 0);
	R(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)));
	conn6(s, MAPPED_PEER, P_ECHO);
	emit_sockname(s);
}
CASE(inet6_udp_getsockopt_pktinfo_etc, 0)
{
	int s = sock6(SOCK_DGRAM);
	char b[64];
	socklen_t l = sizeof(b);

	R(getsockopt(s, IPPROTO_IPV6, IPV6_PKTINFO, b, &l));
	emit("l=%u", (unsigned)l);
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IPV6, IPV6_2292PKTOPTIONS, b, &l));
	emit("l=%u", (unsigned)l);
	seti(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	emit("recvpktinfo=%d", geti(s, IPPROTO_IPV6, IPV6_RECVPKTINFO));
}
/* ===================================================================== */
/* A listener on the wildcard address and loopback */

/*
 * A listener on 0.0.0.0 (or a dual-stack one on ::) hears 127.0.0.1, and
 * 0.0.0.0 as a destination, too: the client, a socket that goes to
 * loopback, reaches it. Under pstack the client is the kernel's and so is
 * the connection (the listener's loopback side). How the program learns of
 * it: HOW 0 a blocking accept, 1 poll, 2 select, 3 epoll added after
 * listen(), 4 epoll added before it.
 */
static void any_listener_loopback(int family, const char *dst, int how)
{
	int l = socket(family, SOCK_STREAM, 0), c, a, ep = -1, one = 1;
	struct sockaddr_storage any = { 0 }, sa;
	struct sockaddr_in to = sin4(dst, case_port());
	struct pollfd p;
	socklen_t sl = sizeof(sa);
	char b[8];

	need(l >= 0, "socket");
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&any)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&any)->sin6_port = htons((uint16_t)case_port());
	} else {
		any = *(struct sockaddr_storage *)&(struct { struct sockaddr_in s; char pad[112]; }){
			sin4("0.0.0.0", case_port()), { 0 } };
	}
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (how >= 3)
		need((ep = epoll_create1(0)) >= 0, "epoll");
	if (how == 4)
		R(ep_add(ep, l, EPOLLIN));
	R(bind(l, (struct sockaddr *)&any, family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)));
	R(listen(l, 8));
	if (how == 3)
		R(ep_add(ep, l, EPOLLIN));
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	R(poll(&p, 1, 0));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(c);
	emit_peername(c);
	if (how == 1) {
		emit("revents=%#x", wait_ev(l, POLLIN));
	} else if (how == 2) {
		fd_set r;
		struct timeval tv = { WAIT_MS / 1000, 0 };

		FD_ZERO(&r);
		FD_SET(l, &r);
		R(select(l + 1, &r, NULL, NULL, &tv));
		emit("set=%d", FD_ISSET(l, &r));
	} else if (how >= 3) {
		ep_wait(ep, WAIT_MS);
	}
	a = (int)RFD(accept(l, (struct sockaddr *)&sa, &sl));
	if (a < 0)
		return;
	emit_addr(&sa, sl);
	emit_sockname(a);
	R(poll(&p, 1, 0));
	if (how >= 3)
		ep_wait(ep, 0);
	R(send(c, "ping", 4, 0));
	wait_in(a);
	R(recv(a, b, sizeof(b), 0));
	R(send(a, "pong!", 5, 0));
	wait_in(c);
	R(recv(c, b, sizeof(b), 0));
	R(close(a));
	wait_in(c);
	R(recv(c, b, sizeof(b), 0));
}
CASE(listen_any_loopback_accept, 0) { any_listener_loopback(AF_INET, "127.0.0.1", 0); }
CASE(listen_any_loopback_poll, 0) { any_listener_loopback(AF_INET, "127.0.0.1", 1); }
CASE(listen_any_loopback_select, 0) { any_listener_loopback(AF_INET, "127.0.0.1", 2); }
CASE(listen_any_loopback_epoll, 0) { any_listener_loopback(AF_INET, "127.0.0.1", 3); }
CASE(listen_any_loopback_epoll_before, 0) { any_listener_loopback(AF_INET, "127.0.0.1", 4); }
CASE(listen_any_loopback_to_any, 0) { any_listener_loopback(AF_INET, "0.0.0.0", 1); }
CASE(listen_any6_loopback_accept, 0) { any_listener_loopback(AF_INET6, "127.0.0.1", 0); }
CASE(listen_any6_loopback_epoll, 0) { any_listener_loopback(AF_INET6, "127.0.0.1", 3); }
/* A connection the loopback side accepted has the listener's options, as
 * one the listener accepted on Linux: TCP_NODELAY, SO_KEEPALIVE, the
 * keep-alive timers, SO_LINGER, set before listen(). */
CASE(listen_any_loopback_options, 0)
{
	int l = tcp_sock(), c, a, one = 1, v;
	struct linger lg = { 1, 5 };
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	socklen_t n;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	R(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	R(setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	v = 77;
	R(setsockopt(l, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
	R(setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = (int)RFD(accept(l, NULL, NULL));
	if (a < 0)
		return;
	n = sizeof(v);
	if (R(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &n)) == 0)
		emit("nodelay=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_KEEPALIVE, &v, &n)) == 0)
		emit("keepalive=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, IPPROTO_TCP, TCP_KEEPIDLE, &v, &n)) == 0)
		emit("keepidle=%d", v);
	n = sizeof(lg);
	memset(&lg, 0, sizeof(lg));
	if (R(getsockopt(a, SOL_SOCKET, SO_LINGER, &lg, &n)) == 0)
		emit("linger=%d,%d", lg.l_onoff, lg.l_linger);
}
/*
 * epoll on a listener on the wildcard address, a connection to localhost
 * waiting: one event per wait, level-triggered (again until accepted),
 * edge-triggered (once), one-shot (once, again after EPOLL_CTL_MOD); and a
 * UDP socket's datagrams from localhost the same way.
 */
static void any_loopback_epoll_mode(int type, uint32_t mode)
{
	int l = socket(AF_INET, type, 0), c = socket(AF_INET, type, 0), ep = epoll_create1(0), one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	char b[8];

	need(l >= 0 && c >= 0 && ep >= 0, "socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	if (type == SOCK_STREAM)
		R(listen(l, 8));
	R(ep_add(ep, l, EPOLLIN | mode));
	ep_wait(ep, 0);
	if (type == SOCK_STREAM) {
		R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	} else {
		R(sendto(c, "a", 1, 0, (struct sockaddr *)&to, sizeof(to)));
		R(sendto(c, "bb", 2, 0, (struct sockaddr *)&to, sizeof(to)));
	}
	ep_wait(ep, WAIT_MS);
	ep_wait(ep, 0);
	if (mode & EPOLLONESHOT) {
		struct epoll_event e = { .events = EPOLLIN | mode, .data.u64 = 0x1234 };

		R(epoll_ctl(ep, EPOLL_CTL_MOD, l, &e));
		ep_wait(ep, 0);
	}
	if (type == SOCK_STREAM) {
		fcntl(l, F_SETFL, O_NONBLOCK);
		RFD(accept(l, NULL, NULL));
		R(accept(l, NULL, NULL));
	} else {
		R(recv(l, b, sizeof(b), MSG_DONTWAIT));
		ep_wait(ep, 0);
		R(recv(l, b, sizeof(b), MSG_DONTWAIT));
		R(recv(l, b, sizeof(b), MSG_DONTWAIT));
	}
	ep_wait(ep, 0);
}
CASE(listen_any_loopback_epoll_lt, 0) { any_loopback_epoll_mode(SOCK_STREAM, 0); }
CASE(listen_any_loopback_epoll_et, 0) { any_loopback_epoll_mode(SOCK_STREAM, EPOLLET); }
CASE(listen_any_loopback_epoll_oneshot, 0) { any_loopback_epoll_mode(SOCK_STREAM, EPOLLONESHOT); }
CASE(udp_any_loopback_epoll_lt, 0) { any_loopback_epoll_mode(SOCK_DGRAM, 0); }
CASE(udp_any_loopback_epoll_et, 0) { any_loopback_epoll_mode(SOCK_DGRAM, EPOLLET); }
CASE(udp_any_loopback_epoll_oneshot, 0) { any_loopback_epoll_mode(SOCK_DGRAM, EPOLLONESHOT); }
/* TCP_NODELAY set between bind() and listen(). */
CASE(listen_any_loopback_nodelay_after_bind, 0)
{
	int l = tcp_sock(), c, a, one = 1, v;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	socklen_t n = sizeof(v);

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	R(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	R(listen(l, 8));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = (int)RFD(accept(l, NULL, NULL));
	if (a >= 0 && R(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &n)) == 0)
		emit("nodelay=%d", v);
}
/* Options set after listen(): an accepted connection to localhost has them
 * too, buffer sizes included; one on a UDP socket's loopback side gets
 * what the socket's receive buffer lets in. */
CASE(listen_any_loopback_options_after, 0)
{
	int l = tcp_sock(), c, a, one = 1, v;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	socklen_t n;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	R(setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	R(setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	v = 33333;
	R(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	v = 44444;
	R(setsockopt(l, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = (int)RFD(accept(l, NULL, NULL));
	if (a < 0)
		return;
	n = sizeof(v);
	if (R(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &n)) == 0)
		emit("nodelay=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_KEEPALIVE, &v, &n)) == 0)
		emit("keepalive=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, &n)) == 0)
		emit("rcvbuf=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_SNDBUF, &v, &n)) == 0)
		emit("sndbuf=%d", v);
}
/* Buffer sizes set before bind() and between bind() and listen(): an
 * accepted connection to localhost has them as one from the TAP's side. */
static void any_loopback_bufs_before(bool after_bind)
{
	int l = tcp_sock(), c, a, one = 1, v;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	socklen_t n;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (after_bind)
		bind_to(l, "0.0.0.0", case_port());
	v = 33333;
	R(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	v = 44444;
	R(setsockopt(l, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	if (!after_bind)
		bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	a = (int)RFD(accept(l, NULL, NULL));
	if (a < 0)
		return;
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, &n)) == 0)
		emit("rcvbuf=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_SNDBUF, &v, &n)) == 0)
		emit("sndbuf=%d", v);
	n = sizeof(v);
	if (R(getsockopt(a, SOL_SOCKET, SO_BUF_LOCK, &v, &n)) == 0)
		emit("buf_lock=%d", v);
}
CASE(listen_any_loopback_bufs_before_bind, 0) { any_loopback_bufs_before(false); }
CASE(listen_any_loopback_bufs_before_listen, 0) { any_loopback_bufs_before(true); }
/* A non-blocking listener: EAGAIN until the loopback connection is there. */
CASE(listen_any_loopback_nonblock, 0)
{
	int l = tcp_sock(), c, one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	R(fcntl(l, F_SETFL, O_NONBLOCK));
	R(accept(l, NULL, NULL));
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	wait_in(l);
	RFD(accept4(l, NULL, NULL, SOCK_NONBLOCK));
	R(accept(l, NULL, NULL));
}
/* Loopback finds nobody: a listener on the host's own address, one shut
 * down, one closed. */
static void loopback_refused(int what)
{
	int l = tcp_sock(), c = tcp_sock(), one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, what == 0 ? SELF : "0.0.0.0", case_port());
	R(listen(l, 8));
	if (what == 1)
		R(shutdown(l, SHUT_RD));
	else if (what == 2)
		R(close(l));
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
}
CASE(listen_self_loopback_refused, 0) { loopback_refused(0); }
CASE(listen_any_shut_loopback_refused, 0) { loopback_refused(1); }
CASE(listen_any_closed_loopback_refused, 0) { loopback_refused(2); }
/* listen() again after the shutdown: loopback reaches it again. */
CASE(listen_any_shut_listen_again_loopback, 0)
{
	int l = tcp_sock(), c = tcp_sock(), one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	R(shutdown(l, SHUT_RD));
	R(listen(l, 8));
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	RFD(accept(l, NULL, NULL));
}
/*
 * A socket bound to the wildcard address (port 0, or a port of its own) that
 * then connects to loopback: Linux's reaches 127.0.0.1 with its port. Under
 * pstack bind() put it in the stack, which lets go of it for the kernel's.
 * The listener on 127.0.0.1 (the kernel's), or on 0.0.0.0 (the stack's,
 * and its loopback side).
 */
static void bound_any_to_loopback(int type, int port, const char *at)
{
	int l = socket(AF_INET, type, 0), c = socket(AF_INET, type, 0), a = -1, one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	char b[8];

	need(l >= 0 && c >= 0, "socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, at, case_port());
	if (type == SOCK_STREAM)
		R(listen(l, 8));
	bind_to(c, "0.0.0.0", port);
	emit_sockname(c);
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(c);
	emit_peername(c);
	if (type == SOCK_STREAM) {
		a = (int)RFD(accept(l, NULL, NULL));
		if (a < 0)
			return;
		emit_peername(a);
	}
	R(send(c, "ping", 4, 0));
	wait_in(type == SOCK_STREAM ? a : l);
	R(recv(type == SOCK_STREAM ? a : l, b, sizeof(b), 0));
}
CASE(connect_bound_any_to_loopback, 0) { bound_any_to_loopback(SOCK_STREAM, 0, "127.0.0.1"); }
CASE(connect_bound_any_port_to_loopback, 0) { bound_any_to_loopback(SOCK_STREAM, case_port() + 5000, "127.0.0.1"); }
CASE(connect_bound_any_to_any_listener, 0) { bound_any_to_loopback(SOCK_STREAM, 0, "0.0.0.0"); }
CASE(connect_udp_bound_any_to_loopback, 0) { bound_any_to_loopback(SOCK_DGRAM, 0, "127.0.0.1"); }
CASE(connect_udp_bound_any_port_to_loopback, 0) { bound_any_to_loopback(SOCK_DGRAM, case_port() + 5000, "127.0.0.1"); }
/*
 * A listener on the wildcard address shared with a fork() child still hears
 * localhost, in the child and in the parent, as Linux's. Under pstack the
 * fork exposes the listener (its fd becomes the relay's channel) and its
 * loopback side goes to the relay, which hands the kernel's connections over
 * the channel with the stack's. WHO 0: the child accepts (blocking, then
 * with SOCK_NONBLOCK) a connection the parent makes; 1: the parent accepts
 * one the child makes; 2: the child is gone, the parent waits with poll and
 * accepts; 3: the same with epoll.
 */
static void fork_any_listener_loopback(int who)
{
	int l = tcp_sock(), one = 1, st, c = -1, a, ep = -1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port()), sa;
	socklen_t sl = sizeof(sa);
	char b[8];
	pid_t pid;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(l, "0.0.0.0", case_port());
	R(listen(l, 8));
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		if (who == 0) {
			/* The lines are the child's until it exits. */
			a = (int)RFD(accept4(l, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK));
			if (a >= 0) {
				emit_addr(&sa, sl);
				emit("nonblock=%d", !!(fcntl(a, F_GETFL) & O_NONBLOCK));
				wait_in(a);
				R(recv(a, b, sizeof(b), 0));
				R(send(a, "pong!", 5, 0));
				R(close(a));
			}
		} else if (who == 1) {
			c = tcp_sock();
			if (connect(c, (struct sockaddr *)&to, sizeof(to)) == 0 && send(c, "hi", 2, 0) == 2) {
				wait_in(c);
				if (recv(c, b, sizeof(b), 0) == 3)
					_exit(0);
			}
			_exit(1);
		}
		_exit(0);
	}
	if (who == 0) {
		c = tcp_sock();
		st = connect(c, (struct sockaddr *)&to, sizeof(to));
		if (st == 0)
			(void)send(c, "ping", 4, 0);
		need(waitpid(pid, &st, 0) == pid, "waitpid");
		emit("child=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		wait_in(c);
		R(recv(c, b, sizeof(b), 0));
		return;
	}
	if (who == 1) {
		a = (int)RFD(accept(l, (struct sockaddr *)&sa, &sl));
		if (a < 0)
			return;
		emit_addr(&sa, sl);
		wait_in(a);
		R(recv(a, b, sizeof(b), 0));
		R(send(a, "ok!", 3, 0));
		need(waitpid(pid, &st, 0) == pid, "waitpid");
		emit("child=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return;
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	if (who == 3) {
		need((ep = epoll_create1(0)) >= 0, "epoll");
		R(ep_add(ep, l, EPOLLIN));
		ep_wait(ep, 0);
	}
	c = tcp_sock();
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	if (who == 3)
		ep_wait(ep, WAIT_MS);
	else
		emit("revents=%#x", wait_ev(l, POLLIN));
	a = (int)RFD(accept(l, NULL, NULL));
	if (a < 0)
		return;
	R(send(c, "x", 1, 0));
	wait_in(a);
	R(recv(a, b, sizeof(b), 0));
	emit("revents=%#x", wait_ev(l, 0));
}
/*
 * A UDP socket bound to the wildcard address hears localhost, and answers
 * it, as Linux's: under pstack bind() put it in the stack, and its loopback
 * side (a kernel socket on 127.0.0.1) brings what the kernel's client sends.
 * HOW 0: recvfrom after poll; 1: epoll; 2: recvmsg with IP_PKTINFO and
 * IP_TTL; 3: FIONREAD and a peek first; 4: a dual-stack AF_INET6 socket on
 * ::; 5: the client sends to 0.0.0.0; 6: non-blocking recvfrom before and
 * after; 7: the server sends first, to a kernel socket on 127.0.0.1.
 */
static void udp_any_loopback(int how)
{
	int family = how == 4 ? AF_INET6 : AF_INET;
	int s = socket(family, SOCK_DGRAM, 0), c = udp_sock(), ep = -1, one = 1;
	struct sockaddr_storage any = { 0 }, from;
	struct sockaddr_in to = sin4(how == 5 ? "0.0.0.0" : "127.0.0.1", case_port());
	socklen_t fl = sizeof(from);
	char b[64];

	need(s >= 0, "socket");
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&any)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&any)->sin6_port = htons((uint16_t)case_port());
	} else {
		*(struct sockaddr_in *)&any = sin4("0.0.0.0", case_port());
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	R(bind(s, (struct sockaddr *)&any, family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)));
	if (how == 7) {
		struct sockaddr_in me = sin4("127.0.0.1", case_port() + 1000);

		R(bind(c, (struct sockaddr *)&me, sizeof(me)));
		R(sendto(s, "hello", 5, 0, (struct sockaddr *)&me, sizeof(me)));
		wait_in(c);
		R(recvfrom(c, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
		emit_addr(&from, fl);
		fl = sizeof(from);
		R(sendto(c, "back", 4, 0, (struct sockaddr *)&from, fl));
		wait_in(s);
		fl = sizeof(from);
		R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
		emit_addr(&from, fl);
		return;
	}
	if (how == 1) {
		need((ep = epoll_create1(0)) >= 0, "epoll");
		R(ep_add(ep, s, EPOLLIN | EPOLLOUT));
		ep_wait(ep, 0);
	}
	if (how == 6)
		R(recvfrom(s, b, sizeof(b), MSG_DONTWAIT, NULL, NULL));
	if (how == 2) {
		/* Before the datagram comes: Linux fills IP_PKTINFO's
		 * interface and address as it queues it. */
		seti(s, IPPROTO_IP, IP_PKTINFO, 1);
		seti(s, IPPROTO_IP, IP_RECVTTL, 1);
	}
	R(sendto(c, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)));
	if (how == 1)
		ep_wait(ep, WAIT_MS);
	else
		emit("revents=%#x", wait_ev(s, POLLIN));
	if (how == 2) {
		union { char b[256]; struct cmsghdr a; } cb;
		struct iovec v = { b, sizeof(b) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &v, .msg_iovlen = 1,
				    .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };

		memset(&cb, 0, sizeof(cb));
		if (R(recvmsg(s, &m, 0)) >= 0) {
			emit_addr(&from, m.msg_namelen);
			emit("flags=%#x", m.msg_flags);
			emit_cmsgs(&m);
		}
		fl = m.msg_namelen;
	} else {
		if (how == 3) {
			int q = -1;

			R(ioctl(s, FIONREAD, &q));
			emit("inq=%d", q);
			R(recv(s, b, sizeof(b), MSG_PEEK));
		}
		R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
		emit_addr(&from, fl);
	}
	if (how == 6)
		R(recvfrom(s, b, sizeof(b), MSG_DONTWAIT, NULL, NULL));
	R(sendto(s, "pong!", 5, 0, (struct sockaddr *)&from, fl));
	wait_in(c);
	fl = sizeof(from);
	R(recvfrom(c, b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
	/* (Not where the port, the case's, would tie the known difference
	 * to the case's place in the list.) */
	if (how != 1)
		emit_addr(&from, fl);
	if (how == 1)
		ep_wait(ep, 0);
}
CASE(udp_any_loopback_poll, 0) { udp_any_loopback(0); }
CASE(udp_any_loopback_epoll, 0) { udp_any_loopback(1); }
CASE(udp_any_loopback_pktinfo, 0) { udp_any_loopback(2); }
CASE(udp_any_loopback_fionread_peek, 0) { udp_any_loopback(3); }
CASE(udp_any6_loopback, 0) { udp_any_loopback(4); }
CASE(udp_any_loopback_to_any, 0) { udp_any_loopback(5); }
CASE(udp_any_loopback_nonblock, 0) { udp_any_loopback(6); }
CASE(udp_any_loopback_send_first, 0) { udp_any_loopback(7); }
/* Connected to a peer on the TAP's side, it hears that peer only: what
 * localhost sends finds no socket (the kernel's client, connected, is
 * refused). */
CASE(udp_any_connected_no_loopback, 0)
{
	int s = udp_sock(), c = udp_sock(), one = 1;
	struct sockaddr_in to = sin4("127.0.0.1", case_port());
	char b[64];

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bind_to(s, "0.0.0.0", case_port());
	R(connect_to(s, PEER, P_UECHO));
	R(connect(c, (struct sockaddr *)&to, sizeof(to)));
	R(send(c, "ping", 4, 0));
	emit("revents=%#x", wait_ev(c, POLLIN));
	R(recv(c, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "hello", 5, 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(listen_any_fork_loopback_child_accepts, 0) { fork_any_listener_loopback(0); }
CASE(listen_any_fork_loopback_parent_accepts, 0) { fork_any_listener_loopback(1); }
CASE(listen_any_fork_loopback_poll, 0) { fork_any_listener_loopback(2); }
CASE(listen_any_fork_loopback_epoll, 0) { fork_any_listener_loopback(3); }
/* A UDP socket bound to the wildcard address that sends to loopback first
 * (sendto, sendmsg): it moves to the kernel as for connect(); its port is
 * the source, and the answer comes back to it. */
static void udp_bound_any_sendto_loopback(int port, bool msg)
{
	int r = udp_sock(), c = udp_sock();
	struct sockaddr_in to = sin4("127.0.0.1", case_port()), from;
	socklen_t fl = sizeof(from);
	char b[8];

	bind_to(r, "127.0.0.1", case_port());
	bind_to(c, "0.0.0.0", port);
	if (msg) {
		struct iovec iov = { "ping", 4 };
		struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1 };

		R(sendmsg(c, &m, 0));
	} else {
		R(sendto(c, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)));
	}
	emit_sockname(c);
	wait_in(r);
	if (R(recvfrom(r, b, sizeof(b), 0, (struct sockaddr *)&from, &fl)) >= 0)
		emit_addr(&from, fl);
	R(sendto(r, "pong", 4, 0, (struct sockaddr *)&from, fl));
	wait_in(c);
	R(recv(c, b, sizeof(b), 0));
}
CASE(sendto_udp_bound_any_to_loopback, 0) { udp_bound_any_sendto_loopback(0, false); }
CASE(sendto_udp_bound_any_port_to_loopback, 0) { udp_bound_any_sendto_loopback(case_port() + 5000, false); }
CASE(sendmsg_udp_bound_any_to_loopback, 0) { udp_bound_any_sendto_loopback(0, true); }

/* ===================================================================== */
/* What a hostile caller tries, third round: bad pointers and lengths on the
 * calls not swept above, the level and protocol numbers swept, the filters
 * and devices a socket may be tied to. */

/* What should not come, looked for for 300 ms (as mcast_recv does): the
 * revents, 0 when nothing came. */
static int absent_ev(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, 300) == 1 ? p.revents : 0;
}

/* The length pointer checked only after the state: ENOTCONN first, then EFAULT. */
CASE(getpeername_bad_len_ptr, 0)
{
	struct sockaddr_in a;

	R(getpeername(tcp_sock(), (struct sockaddr *)&a, BAD));
	R(getpeername(tcp_to(P_ECHO), (struct sockaddr *)&a, BAD));
	R(getpeername(udp_to(P_USINK), (struct sockaddr *)&a, BAD));
}
/* A length the caller may read but not write: the result cannot go back. */
CASE(names_len_read_only, 0)
{
	socklen_t *l = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sockaddr_in a;
	int s = tcp_to(P_ECHO), v;

	need(l != MAP_FAILED, "mmap");
	*l = sizeof(a);
	need(mprotect(l, 4096, PROT_READ) == 0, "mprotect");
	R(getsockname(s, (struct sockaddr *)&a, l));
	R(getpeername(s, (struct sockaddr *)&a, l));
	*(volatile socklen_t *)&v = 0;
	R(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, l));
	R(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, l));
	R(getsockopt(s, IPPROTO_IP, IP_TTL, &v, l));
}
/* An address that runs off its mapping: the copy in faults. */
CASE(names_addr_off_mapping, 0)
{
	struct sockaddr_in a = sin4(PEER, P_ECHO), b = sin4(SELF, 0);
	void *pa = guarded(8), *pb = guarded(8);
	int s = tcp_sock(), u = udp_sock();

	memcpy(pa, &a, 8);
	memcpy(pb, &b, 8);
	R(bind(s, pb, sizeof(b)));
	R(connect(s, pa, sizeof(a)));
	R(sendto(u, "x", 1, 0, pa, sizeof(a)));
	R(connect(u, pa, sizeof(a)));
	R(bind(s, pb, 8));
}
/* A length of -1 (a huge socklen_t) on each call taking an address. */
CASE(names_len_minus1, 0)
{
	struct sockaddr_in a = sin4(PEER, P_USINK), b = sin4(SELF, 0);
	socklen_t m = (socklen_t)minus_one;
	int s = tcp_sock(), u = udp_sock();
	struct msghdr mh = { .msg_name = &a, .msg_namelen = m, .msg_iov = &(struct iovec){ "x", 1 }, .msg_iovlen = 1 };

	R(bind(s, (struct sockaddr *)&b, m));
	R(connect(s, (struct sockaddr *)&a, m));
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&a, m));
	R(sendmsg(u, &mh, 0));
	R(connect(u, (struct sockaddr *)&a, m));
	R(bind(u, (struct sockaddr *)&b, m));
}
/* A name longer than a sockaddr_storage: sendto refuses it (EINVAL),
 * sendmsg cuts it to 128 bytes (__copy_msghdr) and sends. */
CASE(sendmsg_udp_namelen_huge, 0)
{
	struct sockaddr_storage big[8];
	struct sockaddr_in a = sin4(PEER, P_USINK);
	int u = udp_sock();
	struct msghdr mh = { .msg_name = big, .msg_namelen = sizeof(big), .msg_iov = &(struct iovec){ "x", 1 }, .msg_iovlen = 1 };

	memset(big, 0, sizeof(big));
	memcpy(big, &a, sizeof(a));
	R(sendmsg(u, &mh, 0));
	mh.msg_namelen = 129;
	R(sendmsg(u, &mh, 0));
	R(sendto(u, "x", 1, 0, (struct sockaddr *)big, 129));
	R(sendto(u, "x", 1, 0, (struct sockaddr *)big, 128));
}
/* A bad name with a length of 0: sendto copies nothing and UDP finds a name
 * too short (EINVAL); sendmsg drops a name of no length and uses the
 * connection; TCP ignores both. */
CASE(send_bad_name_len_zero, 0)
{
	int u = udp_to(P_USINK), t = tcp_to(P_SINK);
	struct msghdr mh = { .msg_name = BAD, .msg_namelen = 0, .msg_iov = &(struct iovec){ "x", 1 }, .msg_iovlen = 1 };

	R(sendto(u, "x", 1, 0, BAD, 0));
	R(sendmsg(u, &mh, 0));
	R(sendto(t, "x", 1, 0, BAD, 0));
	R(sendmsg(t, &mh, 0));
	R(sendto(udp_sock(), "x", 1, 0, BAD, 0));
	R(sendmsg(udp_sock(), &mh, 0));
}
/* recvfrom's address cannot go back: the datagram is gone all the same. */
CASE(udp_recvfrom_bad_len_ptr, 0)
{
	int s = udp_echoed("hello");
	struct sockaddr_in a;
	char b[16];

	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, BAD));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_recvfrom_addr_read_only, 0)
{
	int s = udp_echoed("hello");
	struct sockaddr_in *a = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	socklen_t l = sizeof(*a);
	char b[16];

	need(a != MAP_FAILED, "mmap");
	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)a, &l));
	emit("len=%u", (unsigned)l);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* TCP has no name to give: a bad address with a good length is never touched. */
CASE(recvfrom_tcp_bad_addr, 0)
{
	int s = tcp_hello();
	char b[16];
	socklen_t l = 16;

	R(recvfrom(s, b, 4, 0, BAD, &l));
	emit("len=%u", (unsigned)l);
	R(recvfrom(s, b, 4, 0, NULL, BAD));
	R(recvfrom(s, b, 4, 0, BAD, BAD));
}
/* accept4 checks its flags before the descriptor. */
CASE(accept4_bad_flags_first, 0)
{
	R(accept4(-1, NULL, NULL, 0x1));
	R(accept4(udp_sock(), NULL, NULL, 0x1));
	R(accept4(tcp_sock(), NULL, NULL, SOCK_NONBLOCK | 0x40));
	R(accept4(tcp_listener(), BAD, BAD, 0x1));
}
/* A pending connection accepted into a bad address: EFAULT, and the connection is gone. */
CASE(accept4_bad_addr_pending, 0)
{
	int l = tcp_listener();
	socklen_t n = 16;

	peer("connect %d hold", case_port());
	wait_in(l);
	R(accept4(l, BAD, &n, SOCK_NONBLOCK));
	fcntl(l, F_SETFL, O_NONBLOCK);
	R(accept4(l, NULL, NULL, SOCK_NONBLOCK));
}
/* A name buffer that cannot be written (fuzzseq -g 3 seed 3028): EFAULT,
 * and the length, what the program asked (1, 16, 28) or the full one? A
 * negative one: EINVAL, and the length as it was? */
static void name_bad_buf(int s, bool peer)
{
	static const socklen_t lens[] = { 1, 16, 28, (socklen_t)-1 };

	for (int i = 0; i < 4; i++) {
		socklen_t l = lens[i];

		R(peer ? getpeername(s, BAD, &l) : getsockname(s, BAD, &l));
		emit("l=%u", (unsigned)l);
	}
}
CASE(getsockname_bad_buf_len, 0) { name_bad_buf(tcp_to(P_ECHO), false); }
CASE(getpeername_bad_buf_len, 0) { name_bad_buf(tcp_to(P_ECHO), true); }
CASE(getsockname_bad_buf_len_in6, 0)
{
	int s = sock6(SOCK_DGRAM);
	struct sockaddr_in6 a = sin6("::ffff:" SELF, 0);

	need(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind");
	name_bad_buf(s, false);
}
CASE(accept4_bad_addr_pending_len, 0)
{
	int l = tcp_listener();
	socklen_t n = 8;

	peer("connect %d hold", case_port());
	wait_in(l);
	R(accept4(l, BAD, &n, SOCK_NONBLOCK));
	emit("l=%u", (unsigned)n);
}
CASE(recvfrom_bad_addr_len, 0)
{
	int s = udp_echoed("hi");
	char b[16];
	socklen_t n = 4;

	R(recvfrom(s, b, sizeof(b), 0, BAD, &n));
	emit("l=%u", (unsigned)n);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(recvmsg_bad_name_len, 0)
{
	int s = udp_echoed("hi");
	char b[16];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = BAD, .msg_namelen = 4, .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(s, &m, 0));
	emit("l=%u", (unsigned)m.msg_namelen);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* A NULL control area of some length with a cmsg to give: MSG_CTRUNC (put_cmsg). */
CASE(recvmsg_cmsg_null_control, 0)
{
	int s = udp_to(P_UECHO);
	char b[16];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = NULL, .msg_controllen = 64 };

	seti(s, IPPROTO_IP, IP_PKTINFO, 1);
	need(send(s, "hi", 2, 0) == 2, "send");
	wait_in(s);
	R(recvmsg(s, &m, 0));
	emit("flags=%#x controllen=%zu", m.msg_flags, (size_t)m.msg_controllen);
}
/* A name buffer bigger than any address: the length comes back 16. */
CASE(recvmsg_udp_namelen_huge, 0)
{
	int s = udp_echoed("hi");
	struct sockaddr_storage big[4];
	char b[16];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = big, .msg_namelen = sizeof(big), .msg_iov = &v, .msg_iovlen = 1 };

	R(recvmsg(s, &m, 0));
	emit("namelen=%u", (unsigned)m.msg_namelen);
}
CASE(recvmsg_iovlen_over_max, 0)
{
	int s = tcp_hello(), u = udp_echoed("hi");
	static struct iovec v[1025];
	char b[4];
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 1025 };

	for (int i = 0; i < 1025; i++)
		v[i] = (struct iovec){ b, 1 };
	R(recvmsg(s, &m, 0));
	R(recvmsg(u, &m, 0));
	m.msg_iovlen = 1024;
	R(recvmsg(s, &m, MSG_DONTWAIT));
	R(readv(s, v, 1025));
}
/* An iovec whose lengths add past SSIZE_MAX: EINVAL on each call. */
CASE(iov_len_overflow, 0)
{
	int s = tcp_hello(), u = udp_echoed("hi");
	char b[4];
	struct iovec v[2] = { { b, 1 }, { b, (size_t)SSIZE_MAX } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	R(recvmsg(s, &m, 0));
	R(sendmsg(s, &m, MSG_NOSIGNAL));
	R(readv(s, v, 2));
	R(writev(s, v, 2));
	R(recvmsg(u, &m, 0));
	R(sendmsg(u, &m, 0));
	v[1].iov_len = (size_t)-1;
	R(recvmsg(s, &m, 0));
	R(sendmsg(u, &m, 0));
}
/* A length of SIZE_MAX to read into a small buffer: what is there is read
 * (cut to MAX_RW_COUNT, the buffer's end is still in the address space: not
 * on the stack, whose place moves, within 2 GB of the end some runs). */
CASE(recv_len_huge, 0)
{
	int s = tcp_hello(), u = udp_echoed("hello");
	static char b[64];

	R(recv(s, b, SIZE_MAX, 0));
	R(recv(u, b, SIZE_MAX, 0));
	R(recv(u, b, (size_t)SSIZE_MAX + 1, MSG_DONTWAIT));
}
/* recvmmsg whose first entry's buffer is bad: EFAULT, the datagram gone. */
CASE(recvmmsg_first_bad_base, 0)
{
	int s = udp_to(P_UECHO);
	char b[16];
	struct iovec v[2] = { { BAD, 16 }, { b, sizeof(b) } };
	struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &v[0], .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_iov = &v[1], .msg_iovlen = 1 } } };

	need(send(s, "one", 3, 0) == 3, "send");
	wait_in(s);
	R(recvmmsg(s, mm, 2, MSG_DONTWAIT, NULL));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* sendmmsg whose second entry names a bad address: one sent. */
CASE(sendmmsg_second_bad_name, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_USINK);
	struct iovec v = { "x", 1 };
	struct mmsghdr mm[2] = { { .msg_hdr = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &v, .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_name = BAD, .msg_namelen = sizeof(a), .msg_iov = &v, .msg_iovlen = 1 } } };

	R(sendmmsg(s, mm, 2, 0));
	emit("len0=%u", mm[0].msg_len);
	R(sendmmsg(s, &mm[1], 1, 0));
}
/* recvmmsg on a TCP connection after its reset: the error, then EOF. */
CASE(recvmmsg_tcp_after_rst, 0)
{
	int s = tcp_reset();
	char b[16];
	struct iovec v = { b, sizeof(b) };
	struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } } };

	R(recvmmsg(s, mm, 2, MSG_DONTWAIT, NULL));
	R(recvmmsg(s, mm, 2, MSG_DONTWAIT, NULL));
	R(sendmmsg(s, mm, 2, MSG_NOSIGNAL));
	R(sendmmsg(s, mm, 2, MSG_NOSIGNAL));
}
/* recvmmsg on TCP with data and then the peer's FIN: one message of data, then 0. */
CASE(recvmmsg_tcp_fin, 0)
{
	int s = tcp_to(P_HELLO);
	char b[2][64];
	struct iovec v[2] = { { b[0], 64 }, { b[1], 64 } };
	struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &v[0], .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_iov = &v[1], .msg_iovlen = 1 } } };

	wait_bytes(s, HELLO_LEN);
	R(recvmmsg(s, mm, 2, MSG_DONTWAIT, NULL));
	emit("len0=%u", mm[0].msg_len);
}
/* MSG_WAITALL cut short by the receive timeout or a signal: what came. */
CASE(recv_waitall_rcvtimeo_partial, 0)
{
	int s = tcp_hello();
	char b[64];

	set_timeo(s, SO_RCVTIMEO, 100);
	R(recv(s, b, sizeof(b), MSG_WAITALL));
	R(recv(s, b, sizeof(b), MSG_WAITALL));
}
CASE(recv_waitall_eintr_partial, 0)
{
	int s = tcp_hello();
	char b[64];

	handle(SIGUSR1, true);
	interrupt(SIGUSR1, THEN_NONE, -1);
	R(recv(s, b, sizeof(b), MSG_WAITALL));
	end_interrupt();
}
/* write and read, which have no flags, on a listener and an unconnected socket. */
CASE(rw_listener_unconnected, 0)
{
	int l = tcp_listener(), s = tcp_sock();
	char b[4];
	struct iovec v = { b, 1 };

	R(write(l, "x", 1));
	R(read(l, b, 1));
	R(writev(s, &v, 1));
	R(readv(s, &v, 1));
	R(write(s, "x", 0));
}
/* The level swept: option 1 at each level up to 300 (get and set). */
static void sweep_levels(int s)
{
	for (int lv = 0; lv <= 300; lv++) {
		int v = 0;
		socklen_t l = sizeof(v);

		if (lv == SOL_SOCKET || lv == IPPROTO_IP || lv == IPPROTO_TCP || lv == IPPROTO_UDP)
			continue;
		errno = 0;
		if (getsockopt(s, lv, 1, &v, &l) < 0)
			emit("%d:%s", lv, ename(errno));
		else
			emit("%d=%d/%u", lv, v, (unsigned)l);
		v = 0;
		if (setsockopt(s, lv, 1, &v, sizeof(v)) < 0)
			emit("s%d:%s", lv, ename(errno));
		else
			emit("s%d=ok", lv);
	}
}
CASE(sweep_levels_tcp, 0) { sweep_levels(tcp_sock()); }
CASE(sweep_levels_udp, 0) { sweep_levels(udp_sock()); }
/* The protocol swept: socket(AF_INET, TYPE, p) for p 0..300 (one fd at a time). */
static void sweep_protocols(int type)
{
	int last = -2, from = 0;

	for (int p = 0; p <= 301; p++) {
		int s = p <= 300 ? socket(AF_INET, type, p) : -1, r = s >= 0 ? 0 : (p <= 300 ? errno : -1);

		if (s >= 0)
			close(s);
		if (r != last) {
			if (last != -2)
				emit("%d-%d:%s", from, p - 1, last ? ename(last) : "ok");
			last = r;
			from = p;
		}
	}
}
CASE(sweep_protocols_stream, 0) { sweep_protocols(SOCK_STREAM); }
CASE(sweep_protocols_dgram, 0) { sweep_protocols(SOCK_DGRAM); }
CASE(socket_types, 0)
{
	for (int t = 0; t <= 12; t++) {
		int s = socket(AF_INET, t, 0);

		emit("%d:%s", t, s >= 0 ? "ok" : ename(errno));
		if (s >= 0)
			close(s);
	}
	R(socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0, 0 }));
	R(socketpair(AF_INET, SOCK_DGRAM, 0, (int[2]){ 0, 0 }));
}
/* Classic BPF on a UDP socket: a filter that drops all, one that keeps all,
 * one that cuts to 2 bytes; bad programs; detach; lock. */
#include <linux/filter.h>
static int attach(int s, struct sock_filter *f, unsigned short n)
{
	struct sock_fprog p = { .len = n, .filter = f };

	return setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &p, sizeof(p));
}
CASE(udp_filter_drop_all, 0)
{
	struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	int s = udp_to(P_UECHO);
	char b[16];

	R(attach(s, drop, 1));
	need(send(s, "hi", 2, 0) == 2, "send");
	emit("ev=%#x", absent_ev(s, POLLIN));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(udp_filter_keep_all_cut, 0)
{
	struct sock_filter all[] = { BPF_STMT(BPF_RET | BPF_K, 0xffffffff) };
	struct sock_filter two[] = { BPF_STMT(BPF_RET | BPF_K, 2) };
	int s = udp_to(P_UECHO);
	char b[16];

	R(attach(s, all, 1));
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(attach(s, two, 1));
	need(send(s, "hello", 5, 0) == 5, "send");
	wait_in(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC));
}
/* A filter that reads the IP header (SKF_NET_OFF: the protocol), the UDP
 * header (the source port), the payload and the ancillary data (the packet
 * type), keeping only datagrams that start with 'k'; a datagram dropped
 * counts for SO_RXQ_OVFL. */
CASE(udp_filter_fields, 0)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF + 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 8),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, P_UECHO, 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_AD_OFF + SKF_AD_PKTTYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4),
		BPF_STMT(BPF_LDX | BPF_IMM, 8),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'k', 0, 1),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	int s = udp_to(P_UECHO), n = -1;
	char b[16], c[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c, .msg_controllen = sizeof(c) };

	R(attach(s, f, sizeof(f) / sizeof(f[0])));
	seti(s, SOL_SOCKET, SO_RXQ_OVFL, 1);
	need(send(s, "drop", 4, 0) == 4, "send");
	need(send(s, "keep", 4, 0) == 4, "send");
	wait_in(s);
	R(recvmsg(s, &m, MSG_DONTWAIT));
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SO_RXQ_OVFL)
			memcpy(&n, CMSG_DATA(h), sizeof(n));
	emit("first=%c drops=%d", b[0], n);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(filter_bad_programs, 0)
{
	struct sock_filter noret[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0) };
	struct sock_filter ok[] = { BPF_STMT(BPF_RET | BPF_K, 0xffff) };
	struct sock_fprog p = { .len = 1, .filter = ok };
	int s = udp_sock(), t = tcp_sock();

	R(attach(s, noret, 1));
	R(attach(s, ok, 0));
	R(attach(s, ok, 5000));
	R(attach(s, BAD, 1));
	R(setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &p, sizeof(p) - 1));
	R(setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
	R(attach(s, ok, 1));
	R(setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
	R(setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
	R(attach(t, ok, 1));
	R(attach(s, ok, 1));
	seti(s, SOL_SOCKET, SO_LOCK_FILTER, 1);
	R(attach(s, ok, 1));
	R(setsockopt(s, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
	emit("lock=%d", geti(s, SOL_SOCKET, SO_LOCK_FILTER));
}
CASE(filter_get, 0)
{
	struct sock_filter ok[] = { BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_RET | BPF_A, 0) };
	struct sock_filter back[4];
	socklen_t l = 0;
	int s = udp_sock();

	R(getsockopt(s, SOL_SOCKET, SO_GET_FILTER, back, &l));
	emit("len=%u", (unsigned)l);
	R(attach(s, ok, 2));
	l = 0;
	R(getsockopt(s, SOL_SOCKET, SO_GET_FILTER, back, &l));
	emit("len=%u", (unsigned)l);
	l = 4;
	R(getsockopt(s, SOL_SOCKET, SO_GET_FILTER, back, &l));
	emit("len=%u code=%#x", (unsigned)l, back[0].code);
}
/* Tied to another device (lo): the peer's address is not on it. */
CASE(bindtodevice_lo_udp, 0)
{
	int s = udp_sock();
	struct sockaddr_in a = sin4(PEER, P_USINK);
	char dev[IFNAMSIZ] = "";
	socklen_t l = sizeof(dev);

	R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	R(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, &l));
	emit("dev=%s len=%u", dev, (unsigned)l);
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	a = sin4(PEER, P_UECHO);
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(send(s, "echo", 4, 0));
	emit("ev=%#x", absent_ev(s, POLLIN));
	R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "nosuch0", 8));
	R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 0));
	l = sizeof(dev);
	R(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, &l));
	emit("len=%u", (unsigned)l);
}
CASE(bindtodevice_lo_tcp_nonblock, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	R(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	R(connect_to(s, PEER, P_ECHO));
	emit("ev=%#x", absent_ev(s, POLLOUT));
	R(connect_to(s, PEER, P_ECHO));
}
CASE(bindtodevice_ifindex, 0)
{
	int s = udp_sock(), v = -1;
	socklen_t l = sizeof(v);

	R(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){ (int)if_nametoindex("tap0") }, sizeof(int)));
	R(getsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &v, &l));
	emit("same=%d", v == (int)if_nametoindex("tap0"));
	R(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){ 9999 }, sizeof(int)));
	R(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &(int){ 0 }, sizeof(int)));
	R(getsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &v, &l));
	emit("v=%d", v);
}
/* Source filters set whole (IP_MSFILTER, MCAST_MSFILTER) and read back. */
CASE(udp_msfilter, 0)
{
	int s = udp_sock();
	char b[IP_MSFILTER_SIZE(2)];
	struct ip_msfilter *f = (struct ip_msfilter *)b;
	socklen_t l;

	memset(b, 0, sizeof(b));
	inet_pton(AF_INET, "239.1.2.9", &f->imsf_multiaddr);
	inet_pton(AF_INET, SELF, &f->imsf_interface);
	f->imsf_fmode = MCAST_INCLUDE;
	f->imsf_numsrc = 1;
	inet_pton(AF_INET, PEER, &f->imsf_slist[0]);
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(1)));
	R(join(s, "239.1.2.9", SELF, IP_ADD_MEMBERSHIP));
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(1)));
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	emit("len=%u mode=%u n=%u", (unsigned)l, f->imsf_fmode, f->imsf_numsrc);
	f->imsf_fmode = 7;
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(1)));
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, 8));
	l = 8;
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	R(getsockopt(tcp_sock(), IPPROTO_IP, IP_MSFILTER, f, &l));
}
/* The IPv4 source filters on a dual-stack AF_INET6 socket (fuzzseq -g 3
 * seed 190's kind): ipv6_setsockopt and ipv6_getsockopt hand SOL_IP to
 * ip_setsockopt and ip_getsockopt, for TCP too, so they act as on an
 * AF_INET socket, by the stack's address or device. */
CASE(inet6_ip4_source_filters, 0)
{
	int s = socket(AF_INET6, SOCK_DGRAM, 0), t = socket(AF_INET6, SOCK_STREAM, 0);
	char b[IP_MSFILTER_SIZE(2)];
	struct ip_msfilter *f = (struct ip_msfilter *)b;
	socklen_t l;

	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.16", SELF, PEER));
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.16", SELF, PEER));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.16", SELF, PEER));
	R(join(s, "239.1.2.17", SELF, IP_ADD_MEMBERSHIP));
	R(src_filter(s, IP_BLOCK_SOURCE, "239.1.2.17", SELF, PEER));
	R(src_filter(s, IP_UNBLOCK_SOURCE, "239.1.2.17", SELF, PEER));
	memset(b, 0, sizeof(b));
	inet_pton(AF_INET, "239.1.2.17", &f->imsf_multiaddr);
	inet_pton(AF_INET, SELF, &f->imsf_interface);
	f->imsf_fmode = MCAST_INCLUDE;
	f->imsf_numsrc = 1;
	inet_pton(AF_INET, PEER, &f->imsf_slist[0]);
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(1)));
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	emit("len=%u mode=%u n=%u", (unsigned)l, f->imsf_fmode, f->imsf_numsrc);
	R(join(s, "239.1.2.17", SELF, IP_DROP_MEMBERSHIP));
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.18", PEER, AF_INET));
	R(gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.18", PEER, AF_INET));
	group_req_call(t, MCAST_JOIN_GROUP, AF_INET, "239.1.3.3", 0, 0);
	group_req_call(t, MCAST_JOIN_GROUP, AF_INET, "239.1.3.3", 0, 0);
}
CASE(udp_mcast_msfilter, 0)
{
	int s = udp_sock();
	char b[GROUP_FILTER_SIZE(2)];
	struct group_filter *f = (struct group_filter *)b;
	struct sockaddr_in g = sin4("239.1.2.9", 0), src = sin4(PEER, 0);
	socklen_t l;

	memset(b, 0, sizeof(b));
	f->gf_interface = if_nametoindex("tap0");
	memcpy(&f->gf_group, &g, sizeof(g));
	f->gf_fmode = MCAST_EXCLUDE;
	f->gf_numsrc = 1;
	memcpy(&f->gf_slist[0], &src, sizeof(src));
	R(setsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, GROUP_FILTER_SIZE(1)));
	R(join(s, "239.1.2.9", SELF, IP_ADD_MEMBERSHIP));
	R(setsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, GROUP_FILTER_SIZE(1)));
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, &l));
	emit("len=%u mode=%u n=%u", (unsigned)l, f->gf_fmode, f->gf_numsrc);
	f->gf_interface = 0;
	R(getsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, &l));
	f->gf_interface = 9999;
	R(setsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, GROUP_FILTER_SIZE(1)));
	R(setsockopt(s, IPPROTO_IP, MCAST_MSFILTER, f, 16));
}
/* A whole filter set (IP_MSFILTER) decides what the group's datagrams do:
 * EXCLUDE the peer, nothing; INCLUDE it, the datagram; (INCLUDE, none)
 * leaves the group. */
static void msfilter_set(int s, const char *group, uint32_t mode, const char *src)
{
	char b[IP_MSFILTER_SIZE(1)];
	struct ip_msfilter *f = (struct ip_msfilter *)b;

	memset(b, 0, sizeof(b));
	inet_pton(AF_INET, group, &f->imsf_multiaddr);
	f->imsf_fmode = mode;
	f->imsf_numsrc = src ? 1 : 0;
	if (src)
		inet_pton(AF_INET, src, &f->imsf_slist[0]);
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(f->imsf_numsrc)));
}
CASE(udp_msfilter_delivery, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(join(s, "239.1.2.14", SELF, IP_ADD_MEMBERSHIP));
	msfilter_set(s, "239.1.2.14", MCAST_EXCLUDE, PEER);
	peer("mcast 239.1.2.14 %d hello", case_port());
	mcast_recv(s, 300);
	msfilter_set(s, "239.1.2.14", MCAST_INCLUDE, PEER);
	peer("mcast 239.1.2.14 %d hello", case_port());
	mcast_recv(s, 2000);
	msfilter_set(s, "239.1.2.14", MCAST_INCLUDE, NULL);
	msfilter_set(s, "239.1.2.14", MCAST_INCLUDE, NULL);
	R(join(s, "239.1.2.14", SELF, IP_DROP_MEMBERSHIP));
	msfilter_set(s, "239.1.2.14", MCAST_EXCLUDE, NULL);
	R(join(s, "239.1.2.14", SELF, IP_ADD_MEMBERSHIP));
	msfilter_set(s, "239.1.2.14", MCAST_INCLUDE, "192.0.2.77");
	R(src_filter(s, IP_UNBLOCK_SOURCE, "239.1.2.14", SELF, "192.0.2.77"));
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.14", SELF, "192.0.2.77"));
	msfilter_set(s, "10.1.2.3", MCAST_EXCLUDE, NULL);
}
/* A filter of more sources than igmp_max_msf, a count the length cannot hold. */
CASE(udp_msfilter_sizes, 0)
{
	int s = udp_sock();
	char b[IP_MSFILTER_SIZE(12)];
	struct ip_msfilter *f = (struct ip_msfilter *)b;
	socklen_t l;

	memset(b, 0, sizeof(b));
	R(join(s, "239.1.2.15", SELF, IP_ADD_MEMBERSHIP));
	inet_pton(AF_INET, "239.1.2.15", &f->imsf_multiaddr);
	f->imsf_fmode = MCAST_EXCLUDE;
	for (int i = 0; i < 12; i++)
		f->imsf_slist[i].s_addr = htonl(0xc0000264u + (uint32_t)i);
	f->imsf_numsrc = 11;
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(11)));
	f->imsf_numsrc = 0x3ffffffc;
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(11)));
	f->imsf_numsrc = 3;
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(2)));
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, 15));
	R(setsockopt(s, IPPROTO_IP, IP_MSFILTER, f, IP_MSFILTER_SIZE(3)));
	f->imsf_numsrc = 2;
	l = 16;
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	emit("len=%u mode=%u n=%u", (unsigned)l, f->imsf_fmode, f->imsf_numsrc);
	f->imsf_numsrc = 0;
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	emit("len=%u n=%u", (unsigned)l, f->imsf_numsrc);
	l = 15;
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	inet_pton(AF_INET, "239.1.2.16", &f->imsf_multiaddr);
	l = sizeof(b);
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
	inet_pton(AF_INET, NOBODY, &f->imsf_interface);
	R(getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l));
}
/* A TCP socket's multicast calls. */
CASE(tcp_mcast_calls, 0)
{
	int s = tcp_sock();
	struct ip_mreqn mn = { .imr_ifindex = 0 };
	struct group_req gr = { .gr_interface = 0 };
	struct sockaddr_in g = sin4("239.1.2.9", 0);

	inet_pton(AF_INET, "239.1.2.9", &mn.imr_multiaddr);
	memcpy(&gr.gr_group, &g, sizeof(g));
	R(join(s, "239.1.2.9", SELF, IP_ADD_MEMBERSHIP));
	R(join(s, "239.1.2.9", SELF, IP_DROP_MEMBERSHIP));
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn, sizeof(mn)));
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	R(setsockopt(s, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	R(setsockopt(s, IPPROTO_IP, MCAST_LEAVE_GROUP, &gr, sizeof(gr)));
	R(setsockopt(s, IPPROTO_IP, MCAST_LEAVE_GROUP, &gr, sizeof(gr)));
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &mn, sizeof(mn)));
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &(int){ 0 }, sizeof(int)));
	R(setsockopt(s, IPPROTO_IP, IP_MULTICAST_ALL, &(int){ 0 }, sizeof(int)));
	R(setsockopt(tcp_to(P_ECHO), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mn, sizeof(mn)));
}
/* ip_mreq, ip_mreqn and the lengths between and beyond. */
CASE(mcast_join_lengths, 0)
{
	int s = udp_sock();
	char b[32];
	struct ip_mreqn mn = { .imr_ifindex = 0 };

	inet_pton(AF_INET, "239.1.3.1", &mn.imr_multiaddr);
	inet_pton(AF_INET, SELF, &mn.imr_address);
	memset(b, 0, sizeof(b));
	for (socklen_t l = 7; l <= 20; l++) {
		memcpy(b, &mn, sizeof(mn));
		b[3] = (char)l;
		emit("%u:%s", (unsigned)l, setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, b, l) ? ename(errno) : "ok");
	}
	R(setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, b, (socklen_t)minus_one));
}
/* TCP_INFO cut short: what fits, and the length. */
/* TCP_INFO's window scales and options: fresh, in SYN_SENT (the silent
 * port), after a refused connect, and established (fuzzseq -g 3 seed 4683).
 * Linux's tcp_get_info shows the scales only once the peer offered window
 * scaling (rx_opt.wscale_ok). */
static void info_ws(int s, const char *what)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	R(getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l));
	emit("%s state=%d opt=%#x ws=%d,%d", what, ti.tcpi_state, ti.tcpi_options, ti.tcpi_snd_wscale, ti.tcpi_rcv_wscale);
}
CASE(tcp_info_wscale_unnegotiated, 0)
{
	int a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in d = sin4(PEER, P_DROP), c = sin4(PEER, P_CLOSED);

	info_ws(a, "fresh");
	R(connect(a, (struct sockaddr *)&d, sizeof(d)));
	info_ws(a, "synsent");
	R(connect(b, (struct sockaddr *)&c, sizeof(c)));
	wait_ev(b, POLLOUT);
	info_ws(b, "refused");
	info_ws(tcp_to(P_ECHO), "est");
}
CASE(tcp_info_truncated, 0)
{
	int s = tcp_to(P_ECHO);
	unsigned char b[8];

	for (socklen_t n = 0; n <= 8; n += 1) {
		socklen_t l = n;

		memset(b, 0xee, sizeof(b));
		R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l));
		emit("len=%u b0=%u b7=%u", (unsigned)l, b[0], b[7]);
	}
	socklen_t l = (socklen_t)minus_one;
	R(getsockopt(s, IPPROTO_TCP, TCP_INFO, b, &l));
}
/* SO_LINGER, SO_RCVTIMEO read back into short and long buffers. */
CASE(getsockopt_struct_lengths, 0)
{
	int s = tcp_sock();
	struct linger lg = { 1, 7 };
	unsigned char b[64];

	need(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0, "linger");
	set_timeo(s, SO_RCVTIMEO, 1500);
	for (socklen_t n = 0; n <= 24; n += 4) {
		socklen_t l = n;

		memset(b, 0xee, sizeof(b));
		if (getsockopt(s, SOL_SOCKET, SO_LINGER, b, &l) < 0)
			emit("linger%u:%s", (unsigned)n, ename(errno));
		else
			emit("linger%u=%u/%u", (unsigned)n, (unsigned)b[4], (unsigned)l);
		l = n;
		if (getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, b, &l) < 0)
			emit("timeo%u:%s", (unsigned)n, ename(errno));
		else
			emit("timeo%u=%u/%u", (unsigned)n, (unsigned)b[0], (unsigned)l);
	}
}
/* SO_RCVTIMEO set with odd sizes: a timeval's 16 bytes, 8, 12, 20, and usec out of range. */
CASE(setsockopt_timeo_lengths, 0)
{
	int s = tcp_sock();
	struct timeval tv[2] = { { 1, 0 }, { 0, 0 } };

	for (socklen_t n = 0; n <= 24; n += 4)
		emit("%u:%s", (unsigned)n, setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, tv, n) ? ename(errno) : "ok");
	tv[0].tv_usec = 1000000;
	R(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(tv[0])));
	tv[0].tv_usec = 999999;
	tv[0].tv_sec = -5;
	R(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, tv, sizeof(tv[0])));
	socklen_t l = sizeof(tv[0]);
	R(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, tv, &l));
	emit("sec=%ld usec=%ld", (long)tv[0].tv_sec, (long)tv[0].tv_usec);
}
/* SIOCATMARK and the other TCP-only ioctls on UDP and on a listener. */
CASE(ioctl_tcp_only_elsewhere, 0)
{
	int u = udp_to(P_USINK), l = tcp_listener(), v = -1;

	R(ioctl(u, SIOCATMARK, &v));
	R(ioctl(l, SIOCATMARK, &v));
	emit("v=%d", v);
	R(ioctl(u, SIOCOUTQNSD, &v));
	R(ioctl(l, SIOCOUTQNSD, &v));
	R(ioctl(tcp_sock(), SIOCATMARK, BAD));
	R(ioctl(tcp_sock(), SIOCATMARK, NULL));
}
/* Read-only requests a socket answers or refuses. */
CASE(ioctl_odd_requests, 0)
{
	int s = tcp_to(P_ECHO), v = -1;
	struct ifreq r;
	struct timespec ts;

	memset(&r, 0, sizeof(r));
	r.ifr_ifindex = (int)if_nametoindex("tap0");
	R(ioctl(s, SIOCGIFNAME, &r));
	emit("name=%s", r.ifr_name);
	r.ifr_ifindex = 9999;
	R(ioctl(s, SIOCGIFNAME, &r));
	R(ioctl(s, SIOCGSTAMPNS, &ts));
	R(ioctl(s, SIOCGIFCOUNT, &v));
	strcpy(r.ifr_name, "tap0");
	R(ioctl(s, SIOCGIFTXQLEN, &r));
	R(ioctl(s, SIOCGIFMETRIC, &r));
	emit("metric=%d", r.ifr_metric);
	R(ioctl(s, SIOCGIFDSTADDR, &r));
	R(ioctl(s, SIOCGIFPFLAGS, &r));
	R(ioctl(s, TIOCOUTQ, &v));
	R(ioctl(s, 0x12345678, &v));
}
/* F_SETOWN_EX with bad types and pointers; F_GETOWN after. */
CASE(fcntl_owner_ex_bad, 0)
{
	int s = tcp_sock();
	struct f_owner_ex o = { .type = 7, .pid = getpid() };

	R(fcntl(s, F_SETOWN_EX, &o));
	R(fcntl(s, F_SETOWN_EX, BAD));
	R(fcntl(s, F_GETOWN_EX, BAD));
	o.type = F_OWNER_PGRP;
	o.pid = getpgrp();
	R(fcntl(s, F_SETOWN_EX, &o));
	emit("own=%s", fcntl(s, F_GETOWN) == -getpgrp() ? "-pgrp" : "?");
	o.type = F_OWNER_TID;
	o.pid = 999999;
	R(fcntl(s, F_SETOWN_EX, &o));
	R(fcntl(s, F_SETOWN, 999999));
	R(fcntl(s, F_SETSIG, 65));
	R(fcntl(s, F_SETSIG, -1));
}
/* fcntls a socket does not have: pipe size, leases, seals, locks. */
CASE(fcntl_not_for_sockets, 0)
{
	int s = tcp_sock();
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

	R(fcntl(s, F_GETPIPE_SZ));
	R(fcntl(s, F_SETPIPE_SZ, 65536));
	R(fcntl(s, F_GETLEASE));
	R(fcntl(s, F_SETLEASE, F_RDLCK));
	R(fcntl(s, F_GET_SEALS));
	R(fcntl(s, F_ADD_SEALS, 1));
	R(fcntl(s, F_GETLK, &fl));
	emit("type=%d", fl.l_type);
	R(fcntl(s, F_SETLK, &fl));
	R(fcntl(s, F_NOTIFY, 1));
	R(flock(s, LOCK_EX | LOCK_NB));
	R(lseek(s, 0, SEEK_SET));
	R(pread(s, (char[4]){ 0 }, 4, 0));
	R(pwrite(s, "x", 1, 0));
	R(ftruncate(s, 0));
	R(fsync(s));
}
/* epoll event bits epoll has no use for, and the ones that conflict. */
CASE(epoll_odd_bits, 0)
{
	int ep = epoll_create1(0), s = tcp_hello();
	struct epoll_event e = { .events = EPOLLIN | 0x00400000, .data.u64 = 3 };

	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	ep_wait(ep, 0);
	e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	R(epoll_ctl(ep, EPOLL_CTL_ADD, tcp_hello(), &e));
	e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLET;
	R(epoll_ctl(ep, EPOLL_CTL_ADD, tcp_hello(), &e));
	ep_wait(ep, 0);
	e.events = 0;
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	ep_wait(ep, 0);
	e.events = EPOLLIN | EPOLLWAKEUP;
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	ep_wait(ep, 0);
}
/* An epoll set inside an epoll set: the outer one sees the inner one readable. */
CASE(epoll_nested, 0)
{
	int outer = epoll_create1(0), inner = epoll_create1(0), s = tcp_to(P_HELLO);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 9 };

	R(ep_add(inner, s, EPOLLIN));
	R(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e));
	wait_in(s);
	ep_wait(outer, 0);
	ep_wait(inner, 0);
	R(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &e));
}
/* Nested before the inner set holds a socket; then read dry: the outer
 * set no longer sees it (ep_eventpoll_poll looks at the items' events). */
CASE(epoll_nested_first, 0)
{
	int outer = epoll_create1(0), inner = epoll_create1(0), s = tcp_to(P_HELLO);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 9 };
	char b[64];

	R(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e));
	ep_wait(outer, 0);
	R(ep_add(inner, s, EPOLLIN));
	wait_in(s);
	ep_wait(outer, 0);
	ep_wait(outer, 0);
	R(recv(s, b, sizeof(b), 0));
	ep_wait(outer, 0);
	ep_wait(inner, 0);
}
/* The outer set waits (blocks) while the inner set's socket gets its data;
 * an edge-triggered item stops making the inner set readable once the
 * inner set reported it; taken out of the outer set, it is not seen. */
CASE(epoll_nested_wait, 0)
{
	int outer = epoll_create1(0), inner = epoll_create1(0), s = tcp_to(P_ECHO);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 9 };

	R(ep_add(inner, s, EPOLLIN | EPOLLET));
	R(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &e));
	ep_wait(outer, 0);
	R(send(s, "ping", 4, 0));
	ep_wait(outer, WAIT_MS);
	ep_wait(inner, 0);
	ep_wait(outer, 0);
	R(send(s, "ping", 4, 0));
	wait_bytes(s, 8);
	R(epoll_ctl(outer, EPOLL_CTL_DEL, inner, NULL));
	ep_wait(outer, 0);
	ep_wait(inner, 0);
}
/* A socket's epoll set watched with poll and select. */
CASE(epoll_fd_polled, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_HELLO);
	struct pollfd p = { .fd = ep, .events = POLLIN };
	fd_set r;

	R(ep_add(ep, s, EPOLLIN));
	wait_in(s);
	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
	FD_ZERO(&r);
	FD_SET(ep, &r);
	R(select(ep + 1, &r, NULL, NULL, &(struct timeval){ 0, 0 }));
}
/* ... waited on: an epoll fd whose socket's data comes while poll and
 * select wait on it; a level-triggered item stays readable, an
 * edge-triggered one reported by epoll_wait leaves it. */
CASE(epoll_fd_polled_wait, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_ECHO), et = tcp_to(P_ECHO);
	struct pollfd p = { .fd = ep, .events = POLLIN | POLLOUT };
	struct epoll_event e[4];
	fd_set r;

	R(ep_add(ep, s, EPOLLIN));
	R(poll(&p, 1, 0));
	need(send(s, "x", 1, 0) == 1, "send");
	R(poll(&p, 1, WAIT_MS));
	emit("revents=%#x", p.revents);
	FD_ZERO(&r);
	FD_SET(ep, &r);
	R(select(ep + 1, &r, NULL, NULL, &(struct timeval){ 0, 0 }));
	need(recv(s, (char[4]){ 0 }, 4, 0) == 1, "recv");
	R(poll(&p, 1, 0));
	R(ep_add(ep, et, EPOLLIN | EPOLLET));
	need(send(et, "y", 1, 0) == 1, "send");
	R(poll(&p, 1, WAIT_MS));
	R(epoll_wait(ep, e, 4, 0));
	R(poll(&p, 1, 0));
}
/* POSIX AIO on a socket: glibc's helper thread reads it (pread, then read
 * on ESPIPE) by calls of its own. */
CASE(aio_read_socket, 0)
{
	int s = tcp_hello();
	char b[64] = "";
	struct aiocb cb = { .aio_fildes = s, .aio_buf = b, .aio_nbytes = sizeof(b) };
	const struct aiocb *list[1] = { &cb };

	R(aio_read(&cb));
	R(aio_suspend(list, 1, &(struct timespec){ 2, 0 }));
	emit("err=%s", ename(aio_error(&cb)));
	R(aio_return(&cb));
	emit("%.5s", b);
}
/* F_DUPFD_QUERY (Linux 6.10): whether two fds are the same open file. */
#ifndef F_DUPFD_QUERY
#define F_DUPFD_QUERY 1027
#endif
CASE(fcntl_dupfd_query, 0)
{
	int s = tcp_to(P_ECHO), d = dup(s), o = tcp_sock();

	R(fcntl(s, F_DUPFD_QUERY, d));
	R(fcntl(s, F_DUPFD_QUERY, o));
	R(fcntl(s, F_DUPFD_QUERY, s));
	R(fcntl(s, F_DUPFD_QUERY, -1));
}
/* TCP_ULP: an upper layer (kTLS) is taken by an established connection
 * only (Linux's tcp_set_ulp, tls_init: ENOTCONN before). */
CASE(tcp_ulp_states, 0)
{
	char b[16] = "";
	socklen_t l = sizeof(b);
	int s = tcp_to(P_ECHO);

	R(setsockopt(tcp_sock(), IPPROTO_TCP, TCP_ULP, "tls", 3));
	R(setsockopt(tcp_listener(), IPPROTO_TCP, TCP_ULP, "tls", 3));
	R(setsockopt(s, IPPROTO_TCP, TCP_ULP, "nosuch", 6));
	R(setsockopt(s, IPPROTO_TCP, TCP_ULP, "tls", 3));
	R(getsockopt(s, IPPROTO_TCP, TCP_ULP, b, &l));
	emit("ulp=%s len=%u", b, (unsigned)l);
	R(setsockopt(s, IPPROTO_TCP, TCP_ULP, "tls", 3));
}
/* shutdown on what is not a socket, and how values. */
CASE(shutdown_odd, 0)
{
	int p[2];

	need(pipe(p) == 0, "pipe");
	R(shutdown(p[0], SHUT_RD));
	R(shutdown(-1, 7));
	R(shutdown(tcp_to(P_ECHO), 3));
	R(shutdown(tcp_to(P_ECHO), -1));
	R(shutdown(udp_sock(), 3));
	R(shutdown(tcp_sock(), 3));
	R(listen(p[0], 1));
	R(accept(p[0], NULL, NULL));
	R(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &(int){ 0 }, &(socklen_t){ 4 }));
}
/* Loopback TCP and UDP to a closed port on 127.x. */
CASE(loopback_closed_ports, 0)
{
	int s = tcp_sock(), u = udp_sock();
	char b[4];

	R(connect_to(s, "127.0.0.1", 9));
	R(connect_to(tcp_sock(), "127.1.2.3", 9));
	R(connect_to(u, "127.0.0.1", 9));
	R(send(u, "x", 1, 0));
	emit("ev=%#x", wait_ev(u, POLLIN));
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
	R(send(u, "x", 1, 0));
}
/* listen twice: the second backlog is taken, on a listener that has pending connections too. */
CASE(listen_again_pending, 0)
{
	int l = tcp_listener(), c;

	peer("connect %d hold", case_port());
	wait_in(l);
	R(listen(l, 0));
	R(listen(l, -5));
	R(listen(l, INT_MAX));
	c = accept(l, NULL, NULL);
	emit("accepted=%d", c >= 0);
}
/* Data queued, then shut for reading: the queue is still read, then 0. */
CASE(shutdown_rd_pending_read, 0)
{
	int s = tcp_hello();
	char b[64];

	R(shutdown(s, SHUT_RD));
	R(recv(s, b, 5, 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_PEEK));
}
/* MSG_PEEK|MSG_TRUNC|MSG_WAITALL on TCP, and MSG_OOB|MSG_PEEK with no mark. */
CASE(recv_flag_combos_tcp, 0)
{
	int s = tcp_hello();
	char b[64];

	R(recv(s, b, 4, MSG_PEEK | MSG_TRUNC));
	R(recv(s, NULL, 4, MSG_PEEK | MSG_TRUNC));
	R(recv(s, b, 4, MSG_OOB | MSG_PEEK));
	R(recv(s, b, 4, MSG_ERRQUEUE | MSG_PEEK));
	R(recv(s, b, 4, MSG_TRUNC | MSG_WAITALL));
	R(recv(s, b, 64, MSG_DONTWAIT | MSG_WAITALL | MSG_PEEK));
	R(recv(s, b, 64, MSG_DONTWAIT));
}
CASE(recv_flag_combos_udp, 0)
{
	int s = udp_echoed("hello world");
	char b[64];

	R(recv(s, b, 4, MSG_OOB | MSG_PEEK));
	R(recv(s, b, 4, MSG_ERRQUEUE | MSG_PEEK));
	R(recv(s, b, 4, MSG_PEEK | MSG_TRUNC | MSG_WAITALL));
	R(recv(s, b, 4, MSG_CMSG_CLOEXEC | MSG_TRUNC));
	R(recv(s, b, 64, MSG_DONTWAIT));
}

/* The calls beside the usual ones that reach a socket: epoll_pwait2,
 * preadv/pwritev and their v2 forms (offset -1: the file position, which a
 * socket reads as readv), sockatmark (glibc's, by ioctl). */
CASE(epoll_pwait2_socket, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_HELLO);
	struct epoll_event e[4];
	struct timespec ts = { 2, 0 }, bad = { 0, 1000000000 };

	R(ep_add(ep, s, EPOLLIN));
	R(epoll_pwait2(ep, e, 4, &ts, NULL));
	emit("ev=%#x data=%#llx", e[0].events, (unsigned long long)e[0].data.u64);
	R(epoll_pwait2(ep, e, 4, NULL, NULL));
	R(epoll_pwait2(ep, e, 4, &bad, NULL));
	R(epoll_pwait2(ep, e, 4, BAD, NULL));
	R(epoll_pwait2(ep, e, 0, &ts, NULL));
}
CASE(epoll_pwait2_timeout, 0)
{
	int ep = epoll_create1(0), s = tcp_to(P_ECHO);
	struct epoll_event e[4];
	struct timespec ts = { 0, 50000000 };

	R(ep_add(ep, s, EPOLLIN));
	R(epoll_pwait2(ep, e, 4, &ts, NULL));
	R(epoll_pwait2(ep, e, 4, &(struct timespec){ 0, 0 }, NULL));
	need(send(s, "x", 1, 0) == 1, "send");
	R(epoll_pwait2(ep, e, 4, &(struct timespec){ 2, 0 }, NULL));
}
CASE(preadv_socket, 0)
{
	int s = tcp_hello();
	char b[64] = "";
	struct iovec v = { b, sizeof(b) };

	R(preadv(s, &v, 1, 0));
	R(preadv(s, &v, 1, -1));
	R(preadv2(s, &v, 1, 0, 0));
	R(preadv2(s, &v, 1, -1, 0x1000));
	R(preadv2(s, &v, 1, -1, 0));
	emit("%.5s", b);
	R(preadv2(s, &v, 1, -1, RWF_NOWAIT));
	R(preadv2(s, &v, 1, -1, RWF_HIPRI | RWF_NOWAIT));
}
CASE(pwritev_socket, 0)
{
	int s = tcp_to(P_ECHO);
	char b[64] = "";
	struct iovec v = { "abc", 3 };

	R(pwritev(s, &v, 1, 0));
	R(pwritev2(s, &v, 1, 0, 0));
	R(pwritev2(s, &v, 1, -1, 0));
	R(pwritev2(s, &v, 1, -1, RWF_NOWAIT));
	R(pwritev2(s, &v, 1, -1, RWF_APPEND));
	R(pwritev2(s, &v, 1, -1, 0x1000));
	wait_bytes(s, 9);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(pwritev_udp_unconnected, 0)
{
	struct iovec v = { "abc", 3 };

	R(pwritev2(udp_sock(), &v, 1, -1, 0));
	R(pwritev2(tcp_sock(), &v, 1, -1, 0));
	R(preadv2(tcp_listener(), &v, 1, -1, 0));
}
CASE(sockatmark_states, 0)
{
	int s = tcp_to(P_OOB);
	char b[16];

	R(sockatmark(s));
	wait_ev(s, POLLPRI);
	R(sockatmark(s));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(sockatmark(s));
	R(sockatmark(udp_sock()));
	R(sockatmark(tcp_listener()));
	R(sockatmark(-1));
}
/* poll's rarer bits on sockets in a few states. */
static void poll_bits(int s)
{
	struct pollfd p = { .fd = s, .events = (short)(POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM |
						      POLLWRBAND | POLLMSG | POLLRDHUP) };

	R(poll(&p, 1, 0));
	emit("revents=%#x", p.revents);
}
CASE(poll_bits_states, 0)
{
	poll_bits(tcp_sock());
	poll_bits(tcp_listener());
	poll_bits(tcp_to(P_ECHO));
	poll_bits(tcp_hello());
	poll_bits(udp_sock());
	poll_bits(udp_echoed("hi"));
	poll_bits(tcp_reset());
}
/* select with nfds far past the fds open: the kernel looks at the ones it has. */
CASE(select_nfds_huge, 0)
{
	int s = tcp_hello();
	fd_set r[8];

	memset(r, 0, sizeof(r));
	FD_SET(s, &r[0]);
	R(select(FD_SETSIZE * 8, r, NULL, NULL, &(struct timeval){ 0, 0 }));
	emit("set=%d", FD_ISSET(s, &r[0]));
}
/* msg_flags given to recvmsg and sendmsg mean nothing: what comes back is the call's. */
CASE(msg_flags_in_ignored, 0)
{
	int s = tcp_hello(), u = udp_echoed("hello");
	char b[4];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_flags = -1 };

	R(recvmsg(s, &m, 0));
	emit("flags=%#x", m.msg_flags);
	m.msg_flags = -1;
	R(recvmsg(u, &m, 0));
	emit("flags=%#x", m.msg_flags);
	m.msg_flags = -1;
	v = (struct iovec){ "x", 1 };
	R(sendmsg(u, &m, 0));
	emit("flags=%#x", m.msg_flags);
}
/* A control area bigger than an int can say. */
CASE(recvmsg_control_huge, 0)
{
	int u = udp_to(P_UECHO);
	char b[16], c[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = c, .msg_controllen = (size_t)INT_MAX + 1 };

	seti(u, IPPROTO_IP, IP_PKTINFO, 1);
	need(send(u, "hi", 2, 0) == 2, "send");
	wait_in(u);
	R(recvmsg(u, &m, 0));
	emit("flags=%#x", m.msg_flags);
}
/* A datagram of no bytes by write() and by send(). */
CASE(udp_write_zero_connected, 0)
{
	int u = udp_to(P_UECHO);
	char b[4];

	R(write(u, "", 0));
	emit("ev=%#x", wait_ev(u, POLLIN));
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
	R(writev(u, NULL, 0));
	emit("ev=%#x", absent_ev(u, POLLIN));
	R(recv(u, b, sizeof(b), MSG_DONTWAIT));
}
/* Lengths of 0 for the name recvfrom and recvmsg give back: nothing
 * written, the length says 16. */
CASE(udp_names_len_zero, 0)
{
	int s = udp_echoed("one");
	char b[16];
	struct sockaddr_in a = { .sin_family = 99 };
	socklen_t l = 0;
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_name = &a, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1 };

	R(recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)&a, &l));
	emit("len=%u family=%d", (unsigned)l, a.sin_family);
	need(send(s, "two", 3, 0) == 3, "send");
	wait_in(s);
	R(recvmsg(s, &m, 0));
	emit("namelen=%u family=%d", (unsigned)m.msg_namelen, a.sin_family);
}
/* Addresses with a longer length than a sockaddr_in (a sockaddr_in6's 28). */
CASE(names_len_28, 0)
{
	struct sockaddr_storage st;
	struct sockaddr_in a = sin4(PEER, P_UECHO), b = sin4(SELF, 0);
	int u = udp_sock(), t = tcp_sock();

	memset(&st, 0x5a, sizeof(st));
	memcpy(&st, &b, sizeof(b));
	R(bind(u, (struct sockaddr *)&st, 28));
	memcpy(&st, &a, sizeof(a));
	R(sendto(u, "x", 1, 0, (struct sockaddr *)&st, 28));
	R(connect(u, (struct sockaddr *)&st, 28));
	a = sin4(PEER, P_ECHO);
	memcpy(&st, &a, sizeof(a));
	R(connect(t, (struct sockaddr *)&st, 28));
}
/* F_SETFL with flags a socket may or may not take. */
CASE(fcntl_setfl_odd, 0)
{
	int s = tcp_to(P_ECHO);

	R(fcntl(s, F_SETFL, O_DIRECT));
	emit("fl=%#x", fcntl(s, F_GETFL) & ~O_LARGEFILE);
	R(fcntl(s, F_SETFL, O_NOATIME));
	emit("fl=%#x", fcntl(s, F_GETFL) & ~O_LARGEFILE);
	R(fcntl(s, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
	emit("fl=%#x", fcntl(s, F_GETFL) & ~O_LARGEFILE);
	R(fcntl(s, F_SETFL, O_ASYNC));
	emit("fl=%#x", fcntl(s, F_GETFL) & ~O_LARGEFILE);
	R(fcntl(s, F_SETFL, -1));
	emit("fl=%#x", fcntl(s, F_GETFL) & ~O_LARGEFILE);
	R(recv(s, (char[4]){ 0 }, 4, MSG_DONTWAIT));
}
/* FIONBIO's value is any non-zero int. */
CASE(ioctl_fionbio_values, 0)
{
	int s = tcp_to(P_ECHO), v = 2;

	R(ioctl(s, FIONBIO, &v));
	emit("fl=%#x", fcntl(s, F_GETFL) & O_NONBLOCK);
	R(recv(s, (char[4]){ 0 }, 4, 0));
	v = 0;
	R(ioctl(s, FIONBIO, &v));
	v = -256;
	R(ioctl(s, FIONBIO, &v));
	emit("fl=%#x", fcntl(s, F_GETFL) & O_NONBLOCK);
}
/* IP_OPTIONS set and read back on TCP and UDP (no-ops, and an end). */
CASE(ip_options_set_get, 0)
{
	unsigned char o[8] = { 1, 1, 1, 1, 0, 0, 0, 0 }, b[44];
	int t = tcp_sock(), u = udp_sock();
	socklen_t l;

	R(setsockopt(t, IPPROTO_IP, IP_OPTIONS, o, 4));
	l = sizeof(b);
	R(getsockopt(t, IPPROTO_IP, IP_OPTIONS, b, &l));
	emit("len=%u", (unsigned)l);
	R(setsockopt(u, IPPROTO_IP, IP_OPTIONS, o, 3));
	l = sizeof(b);
	R(getsockopt(u, IPPROTO_IP, IP_OPTIONS, b, &l));
	emit("len=%u", (unsigned)l);
	R(setsockopt(u, IPPROTO_IP, IP_OPTIONS, o, 41));
	R(setsockopt(u, IPPROTO_IP, IP_OPTIONS, o, 0));
	l = sizeof(b);
	R(getsockopt(u, IPPROTO_IP, IP_OPTIONS, b, &l));
	emit("len=%u", (unsigned)l);
}
/* SO_RCVTIMEO_NEW / SO_SNDTIMEO_NEW: the 64-bit timeval, read back both ways. */
CASE(timeo_new_old, 0)
{
	int s = tcp_sock();
	long long tv[2] = { 3, 500000 };
	struct timeval o;
	socklen_t l = sizeof(tv);

	R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO_NEW, tv, sizeof(tv)));
	l = sizeof(o);
	R(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO_OLD, &o, &l));
	emit("sec=%ld usec=%ld", (long)o.tv_sec, (long)o.tv_usec);
	tv[1] = 1000000;
	R(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO_NEW, tv, sizeof(tv)));
	R(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO_NEW, tv, 8));
	l = sizeof(tv);
	R(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO_NEW, tv, &l));
	emit("len=%u sec=%lld", (unsigned)l, tv[0]);
}
/* A connect() to the peer while the same socket's earlier nonblocking one is
 * refused: what each call says, in order. */
CASE(connect_refused_nonblock_sequence, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	R(connect_to(s, PEER, P_CLOSED));
	wait_ev(s, POLLOUT);
	R(connect_to(s, PEER, P_CLOSED));
	R(connect_to(s, PEER, P_CLOSED));
	wait_ev(s, POLLOUT);
	emit_so_error(s);
	R(connect_to(s, PEER, P_ECHO));
	emit("ev=%#x", wait_ev(s, POLLOUT));
	R(connect_to(s, PEER, P_ECHO));
	emit("ev=%#x", wait_ev(s, POLLOUT));
	R(connect_to(s, PEER, P_ECHO));
	R(connect_to(s, PEER, P_ECHO));
}
/* The getsockopt sweeps with odd lengths on sockets with a state (the
 * answers pstack gives itself, not its placeholder's). */
CASE(sweep_getsockopt_len1_sol_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), SOL_SOCKET, 80, 1, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len2_sol_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), SOL_SOCKET, 80, 2, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len0_sol_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), SOL_SOCKET, 80, 0, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len1_ip_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), IPPROTO_IP, 70, 1, SWEEP_CONNECTED | SWEEP_NO_PORT); }
CASE(sweep_getsockopt_len2_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), IPPROTO_TCP, 45, 2, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len1_tcp_listener, 0) { sweep_get_level(tcp_listener(), IPPROTO_TCP, 45, 1, 0); }
CASE(sweep_getsockopt_len1_sol_listener, 0) { sweep_get_level(tcp_listener(), SOL_SOCKET, 80, 1, 0); }
CASE(sweep_getsockopt_len1_sol_udp_conn, 0) { sweep_get_level(udp_to(P_UECHO), SOL_SOCKET, 80, 1, 0); }
CASE(sweep_getsockopt_len1_ip_udp_conn, 0) { sweep_get_level(udp_to(P_UECHO), IPPROTO_IP, 70, 1, SWEEP_NO_PORT); }
CASE(sweep_getsockopt_len2_ip_udp_conn, 0) { sweep_get_level(udp_to(P_UECHO), IPPROTO_IP, 70, 2, SWEEP_NO_PORT); }
CASE(sweep_getsockopt_len1_sol_tcp_reset, 0) { sweep_get_level(tcp_reset(), SOL_SOCKET, 80, 1, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len1_tcp_reset, 0) { sweep_get_level(tcp_reset(), IPPROTO_TCP, 45, 1, SWEEP_CONNECTED); }
CASE(sweep_getsockopt_len5_sol_tcp_conn, 0) { sweep_get_level(tcp_to(P_ECHO), SOL_SOCKET, 80, 5, SWEEP_CONNECTED); }
/* ... and set with odd lengths on a connection and a listener. */
CASE(sweep_setsockopt_len1_sol_tcp_conn, 0) { sweep_set_level(tcp_to(P_ECHO), SOL_SOCKET, 80, 1, 1); }
CASE(sweep_setsockopt_len2_tcp_conn, 0) { sweep_set_level(tcp_to(P_ECHO), IPPROTO_TCP, 45, 2, 1); }
CASE(sweep_setsockopt_len8_tcp_listener, 0) { sweep_set_level(tcp_listener(), IPPROTO_TCP, 45, 8, 1); }
CASE(sweep_setsockopt_len0_ip_udp_conn, 0) { sweep_set_level(udp_to(P_UECHO), IPPROTO_IP, 70, 0, 0); }

/* ===================================================================== */
/* bind() conflicts across the holder's state, options and addresses */

/*
 * Socket A holds the case's port in a state (bound, listening, connected,
 * accepted from a listener since closed, or gone to TIME_WAIT), with an
 * option (none, SO_REUSEADDR, SO_REUSEPORT) and an address (192.0.2.2 or
 * 0.0.0.0). A second socket then tries each address and option in turn:
 * bind, listen, close (never connected, its port is free again at once).
 * Linux: inet_csk_get_port (the bind bucket's fastreuse shortcuts) and
 * inet_csk_bind_conflict.
 */
enum hold { HOLD_BOUND, HOLD_LISTEN, HOLD_CONN, HOLD_ACCEPTED, HOLD_TW };

static void set_reuse(int s, int opt)
{
	if (opt)
		seti(s, SOL_SOCKET, opt == 1 ? SO_REUSEADDR : SO_REUSEPORT, 1);
}

static void bind_conflicts(enum hold st, int aopt, const char *aip)
{
	static const char *const ips[] = { SELF, "0.0.0.0" };
	static const char *const opts[] = { "-", "a", "p" };
	int port = case_port(), a = tcp_sock();
	struct sockaddr_in sa = sin4(aip, port);

	set_reuse(a, aopt);
	need(bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
	switch (st) {
	case HOLD_BOUND:
		break;
	case HOLD_LISTEN:
		need(listen(a, 1) == 0, "listen");
		break;
	case HOLD_CONN:
		need(connect_to(a, PEER, P_SINK) == 0, "connect");
		break;
	case HOLD_ACCEPTED: {
		int c;

		need(listen(a, 1) == 0, "listen");
		peer("connect %d hold", port);
		c = accept(a, NULL, NULL);
		need(c >= 0, "accept");
		close(a);
		break;
	}
	case HOLD_TW:
		need(connect_to(a, PEER, P_ECHO) == 0, "connect");
		need(shutdown(a, SHUT_WR) == 0, "shutdown");
		need(wait_ev(a, POLLRDHUP) & POLLRDHUP, "wait-fin");
		emit("state=%d", wait_state(a, TCP_TIME_WAIT));
		close(a);
		break;
	}
	for (int i = 0; i < 2; i++) {
		for (int o = 0; o < 3; o++) {
			int b = tcp_sock();

			set_reuse(b, o);
			emit("%s%s", i ? "any" : "self", opts[o]);
			bind_to(b, ips[i], port);
			R(listen(b, 1));
			close(b);
		}
	}
}

#define BIND_CONFLICTS(st, stn) \
	CASE(bind_conflict_##stn##_none_self, 0) { bind_conflicts(st, 0, SELF); } \
	CASE(bind_conflict_##stn##_none_any, 0) { bind_conflicts(st, 0, "0.0.0.0"); } \
	CASE(bind_conflict_##stn##_reuseaddr_self, 0) { bind_conflicts(st, 1, SELF); } \
	CASE(bind_conflict_##stn##_reuseaddr_any, 0) { bind_conflicts(st, 1, "0.0.0.0"); } \
	CASE(bind_conflict_##stn##_reuseport_self, 0) { bind_conflicts(st, 2, SELF); } \
	CASE(bind_conflict_##stn##_reuseport_any, 0) { bind_conflicts(st, 2, "0.0.0.0"); }
BIND_CONFLICTS(HOLD_BOUND, bound)
BIND_CONFLICTS(HOLD_LISTEN, listen)
BIND_CONFLICTS(HOLD_CONN, conn)
BIND_CONFLICTS(HOLD_ACCEPTED, accepted)
BIND_CONFLICTS(HOLD_TW, tw)

/* A port whose connection sits in TIME_WAIT, bound again with
 * SO_REUSEADDR: a connect() to the same peer finds the 4-tuple taken
 * (tcp_twsk_unique: tcp_tw_reuse is for loopback only by default), to
 * another peer port it goes. */
static int tw_port(void)
{
	int a = tcp_sock(), port = case_port();

	bind_to(a, SELF, port);
	need(connect_to(a, PEER, P_ECHO) == 0, "connect");
	need(shutdown(a, SHUT_WR) == 0, "shutdown");
	need(wait_ev(a, POLLRDHUP) & POLLRDHUP, "wait-fin");
	close(a);
	return port;
}
CASE(tw_rebind_connect_same_peer, 0)
{
	int port = tw_port(), b = tcp_sock();

	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(b, SELF, port);
	R(connect_to(b, PEER, P_ECHO));
	emit_sockname(b);
	R(connect_to(b, PEER, P_SINK));
}
CASE(tw_rebind_connect_other_peer, 0)
{
	int port = tw_port(), b = tcp_sock();

	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(b, SELF, port);
	R(connect_to(b, PEER, P_SINK));
	emit_sockname(b);
}
CASE(tw_rebind_any_connect_same_peer, 0)
{
	int port = tw_port(), b = tcp_sock();

	seti(b, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(b, "0.0.0.0", port);
	R(connect_to(b, PEER, P_ECHO));
	emit_sockname(b);
}
CASE(tw_rebind_reuseport_connect_same_peer, 0)
{
	int port = tw_port(), b = tcp_sock();

	seti(b, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(b, SELF, port);
	R(connect_to(b, PEER, P_ECHO));
}

/*
 * The same between the families: A is an AF_INET or AF_INET6 socket of
 * one kind (192.0.2.2, 0.0.0.0, ::, :: with IPV6_V6ONLY, ::ffff:192.0.2.2,
 * ::ffff:0.0.0.0, ::1), bound (and listening, for TCP); B tries each kind:
 * bind, listen for TCP, close. Linux: inet_bind_conflict through
 * inet_rcv_saddr_equal / ipv6_rcv_saddr_equal.
 */
struct fam_kind { const char *name; int family; const char *ip; bool v6only; };
static const struct fam_kind fam_kinds[] = {
	{ "in-self", AF_INET, SELF, false },
	{ "in-any", AF_INET, "0.0.0.0", false },
	{ "in6-any", AF_INET6, "::", false },
	{ "in6-any-only", AF_INET6, "::", true },
	{ "in6-mself", AF_INET6, MAPPED_SELF, false },
	{ "in6-many", AF_INET6, "::ffff:0.0.0.0", false },
	{ "in6-lo", AF_INET6, "::1", false },
};

static int fam_sock(const struct fam_kind *k, int type)
{
	int s = socket(k->family, type, 0);

	need(s >= 0, "socket");
	if (k->v6only)
		seti(s, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	return s;
}

static int fam_bind(int s, const struct fam_kind *k, int port)
{
	if (k->family == AF_INET) {
		struct sockaddr_in a = sin4(k->ip, port);

		return bind(s, (struct sockaddr *)&a, sizeof(a));
	}
	struct sockaddr_in6 a6 = sin6(k->ip, port);

	return bind(s, (struct sockaddr *)&a6, sizeof(a6));
}

static void fam_conflicts(int ai, int type, bool listening)
{
	int port = case_port(), a = fam_sock(&fam_kinds[ai], type);

	need(fam_bind(a, &fam_kinds[ai], port) == 0, "bind");
	if (listening)
		need(listen(a, 1) == 0, "listen");
	for (size_t i = 0; i < sizeof(fam_kinds) / sizeof(fam_kinds[0]); i++) {
		int b = fam_sock(&fam_kinds[i], type);

		emit("%s", fam_kinds[i].name);
		R(fam_bind(b, &fam_kinds[i], port));
		if (type == SOCK_STREAM)
			R(listen(b, 1));
		close(b);
	}
}

#define FAM_CONFLICTS(i, n) \
	CASE(bind_conflict_fam_tcp_bound_##n, 0) { fam_conflicts(i, SOCK_STREAM, false); } \
	CASE(bind_conflict_fam_tcp_listen_##n, 0) { fam_conflicts(i, SOCK_STREAM, true); } \
	CASE(bind_conflict_fam_udp_##n, 0) { fam_conflicts(i, SOCK_DGRAM, false); }
FAM_CONFLICTS(0, in_self)
FAM_CONFLICTS(1, in_any)
FAM_CONFLICTS(2, in6_any)
FAM_CONFLICTS(3, in6_any_only)
FAM_CONFLICTS(4, in6_mself)
FAM_CONFLICTS(5, in6_many)
FAM_CONFLICTS(6, in6_lo)

/* ===================================================================== */
/* TCP sockets in CLOSE: shutdown(), accepted sockets, listen() after a connection */

/* SIOCINQ's value; SIOCOUTQ's and SIOCOUTQNSD's results only (in CLOSE
 * Linux answers write_seq - snd_una, which tcp_disconnect moves by the
 * peer's largest window plus 2: ioctl_outq_after_disconnect). */
static void emit_queues(int s)
{
	int v = -1;

	R(ioctl(s, SIOCINQ, &v));
	emit("inq=%d", v);
	R(ioctl(s, SIOCOUTQ, &v));
	R(ioctl(s, SIOCOUTQNSD, &v));
}

static void emit_revents(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };

	poll(&p, 1, 0);
	emit("ev=%#x", p.revents);
}

/* shutdown() on a TCP socket in CLOSE: ENOTCONN, but Linux's inet_shutdown
 * still sets sk_shutdown (poll then says readable and hung up, recv 0,
 * send EPIPE), which a connect() keeps and a listen() or a disconnect
 * clears. */
CASE(shutdown_unconnected_then_connect, 0)
{
	int s = tcp_sock(), t = tcp_sock();
	char b[16];

	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(connect_to(s, PEER, P_ECHO));
	emit_revents(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), 0));
	R(send(s, "ab", 2, MSG_NOSIGNAL));
	wait_inq(s, 2);
	emit_queues(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(shutdown(t, SHUT_WR));
	emit_revents(t);
	R(send(t, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	R(connect_to(t, PEER, P_ECHO));
	emit_revents(t);
	R(send(t, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	R(recv(t, b, sizeof(b), MSG_DONTWAIT));
	R(shutdown(t, SHUT_WR));
	need(wait_ev(t, POLLRDHUP) & POLLRDHUP, "wait-fin");
	R(recv(t, b, sizeof(b), MSG_DONTWAIT));
}
/* listen() keeps the bits, and the accepted sockets clone them. The
 * peer's bytes: FIONREAD after WAIT_MS at most. */
static void inq_after_wait(int s, int n)
{
	struct timespec t0;
	int v = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ioctl(s, FIONREAD, &v) == 0 && v < n && ms_since(&t0) < WAIT_MS)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	emit("inq=%d", v);
}
static void shut_then_listen(int how)
{
	int s = tcp_sock(), c;
	char b[16];

	R(shutdown(s, how));
	bind_to(s, SELF, case_port());
	R(listen(s, 4));
	emit_revents(s);
	peer("connect %d hello", case_port());
	emit_revents(s);
	c = accept(s, NULL, NULL);
	need(c >= 0, "accept");
	inq_after_wait(c, HELLO_LEN);
	/* With SHUT_WR the child sent its FIN, which the peer answers. */
	(void)wait_ev(c, POLLRDHUP);
	emit_revents(c);
	R(recv(c, b, sizeof(b), MSG_DONTWAIT));
	R(recv(c, b, sizeof(b), MSG_DONTWAIT));
	R(send(c, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
}
CASE(shutdown_unconnected_then_listen_rd, 3000) { shut_then_listen(SHUT_RD); }
CASE(shutdown_unconnected_then_listen_wr, 3000) { shut_then_listen(SHUT_WR); }
CASE(shutdown_unconnected_then_listen_rdwr, 3000) { shut_then_listen(SHUT_RDWR); }
CASE(shutdown_unconnected_udp6_tcp6, 0)
{
	int s = sock6(SOCK_STREAM);
	char b[16];

	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(shutdown(s, SHUT_WR));
	emit_revents(s);
	R(send(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
}

/* An accepted socket: listen() after its connection ended, and what a
 * disconnect leaves of its names (sk_userlocks come from the listener). */
static int accepted_on(const char *ip, bool keep_listener, int *lp)
{
	int l = tcp_sock(), c;

	bind_to(l, ip, case_port());
	need(listen(l, 4) == 0, "listen");
	peer("connect %d hello", case_port());
	c = accept(l, NULL, NULL);
	need(c >= 0, "accept");
	if (keep_listener)
		*lp = l;
	else
		close(l);
	wait_bytes(c, HELLO_LEN);
	return c;
}
CASE(accepted_disconnect_listen, 0)
{
	int c = accepted_on(SELF, false, NULL);
	char b[16];

	R(recv(c, b, sizeof(b), 0));
	R(connect(c, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_revents(c);
	emit_sockname(c);
	emit_so_error(c);
	emit_revents(c);
	R(listen(c, 1));
	R(bind(c, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET }, sizeof(struct sockaddr_in)));
	R(connect_to(c, PEER, P_ECHO));
	emit_sockname(c);
}
CASE(accepted_disconnect_listener_open, 0)
{
	int l = -1, c = accepted_on(SELF, true, &l);
	char b[16];

	R(recv(c, b, sizeof(b), 0));
	R(connect(c, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_sockname(c);
	R(connect_to(c, PEER, P_ECHO));
	emit_sockname(c);
	R(listen(l, 4));
}
CASE(accepted_any_disconnect, 0)
{
	int c = accepted_on("0.0.0.0", false, NULL);
	char b[16];

	R(recv(c, b, sizeof(b), 0));
	R(connect(c, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_revents(c);
	emit_sockname(c);
	R(listen(c, 1));
	emit_sockname(c);
}
CASE(accepted_unread_disconnect, 0)
{
	int c = accepted_on(SELF, false, NULL);

	R(connect(c, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_revents(c);
	emit_so_error(c);
	emit_revents(c);
	emit_sockname(c);
}
CASE(accepted_ended_listen, 0)
{
	int c = accepted_on(SELF, false, NULL);
	char b[16];

	R(recv(c, b, sizeof(b), 0));
	R(shutdown(c, SHUT_WR));
	R(listen(c, 1));
	emit("state=%d", wait_state(c, TCP_CLOSE));
	R(shutdown(c, SHUT_RD));
	R(listen(c, 1));
}

/* listen() after a connection: EINVAL, and what it leaves bound. */
static void listen_then_names(int s)
{
	R(listen(s, 1));
	emit_sockname(s);
	bind_to(s, "0.0.0.0", 0);
	R(listen(s, 1));
}
CASE(listen_refused_names, 1000)
{
	int s = tcp_sock();

	need(connect_to(s, PEER, P_CLOSED) < 0, "connect");
	emit_sockname(s);
	listen_then_names(s);
}
CASE(listen_disconnected_names, 0)
{
	int s = tcp_to(P_ECHO);

	need(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0, "disconnect");
	emit_sockname(s);
	listen_then_names(s);
}
CASE(listen_reset_names, 0)
{
	int s = tcp_reset();

	emit_sockname(s);
	listen_then_names(s);
}
CASE(listen_connected_names, 0) { listen_then_names(tcp_to(P_ECHO)); }

/* ===================================================================== */
/* the calls that change a TCP socket's state, one after the other, from each state */

/*
 * From a state, each call in turn (each sees what the one before left):
 * the queue ioctls' values, shutdown(SHUT_RD) and what reading and poll
 * then say, shutdown(SHUT_WR), a disconnect (connect AF_UNSPEC) and the
 * names after it, listen(). The same from an AF_INET6 socket on IPv4
 * traffic. Linux: tcp_ioctl, inet_shutdown, tcp_disconnect, inet_listen.
 */
enum st2 {
	ST2_FRESH, ST2_BOUND, ST2_LISTEN, ST2_CONNECTING, ST2_REFUSED, ST2_HELLO, ST2_SHUT_WR,
	ST2_SHUT_RD, ST2_PEER_FIN, ST2_FIN_DATA, ST2_RESET, ST2_DISCONNECTED, ST2_ACCEPTED,
};

static int sock2(bool v6, int type)
{
	int s = socket(v6 ? AF_INET6 : AF_INET, type, 0);

	need(s >= 0, "socket");
	return s;
}

static int conn2(int s, bool v6, int port)
{
	if (v6) {
		struct sockaddr_in6 a = sin6(MAPPED_PEER, port);

		return connect(s, (struct sockaddr *)&a, sizeof(a));
	}
	return connect_to(s, PEER, port);
}

static int bind2(int s, bool v6, int port)
{
	if (v6) {
		struct sockaddr_in6 a = sin6("::", port);

		return bind(s, (struct sockaddr *)&a, sizeof(a));
	}
	struct sockaddr_in a4 = sin4(SELF, port);

	return bind(s, (struct sockaddr *)&a4, sizeof(a4));
}

static int state2(bool v6, enum st2 st)
{
	int s = sock2(v6, SOCK_STREAM), l;

	switch (st) {
	case ST2_FRESH:
		break;
	case ST2_BOUND:
		need(bind2(s, v6, case_port()) == 0, "bind");
		break;
	case ST2_LISTEN:
		need(bind2(s, v6, case_port()) == 0, "bind");
		need(listen(s, 4) == 0, "listen");
		break;
	case ST2_CONNECTING:
		fcntl(s, F_SETFL, O_NONBLOCK);
		errno = 0;
		need(conn2(s, v6, P_DROP) < 0 && errno == EINPROGRESS, "connect");
		break;
	case ST2_REFUSED:
		need(conn2(s, v6, P_CLOSED) < 0, "connect");
		break;
	case ST2_HELLO:
		need(conn2(s, v6, P_HELLO) == 0, "connect");
		wait_bytes(s, HELLO_LEN);
		break;
	case ST2_SHUT_WR:
		need(conn2(s, v6, P_STALL) == 0, "connect");
		need(shutdown(s, SHUT_WR) == 0, "shutdown");
		/* The peer's ACK of the FIN in: FIN_WAIT2, not FIN_WAIT1
		 * (state and SIOCOUTQ differ while the FIN is out). */
		need(wait_state(s, TCP_FIN_WAIT2) == TCP_FIN_WAIT2, "wait-fin-ack");
		break;
	case ST2_SHUT_RD:
		need(conn2(s, v6, P_HELLO) == 0, "connect");
		wait_bytes(s, HELLO_LEN);
		need(shutdown(s, SHUT_RD) == 0, "shutdown");
		break;
	case ST2_PEER_FIN:
		need(conn2(s, v6, P_FIN) == 0, "connect");
		need(wait_ev(s, POLLRDHUP) & POLLRDHUP, "wait-fin");
		break;
	case ST2_FIN_DATA:
		/* The echo's 3 bytes and its FIN unread, both FINs through. */
		need(conn2(s, v6, P_ECHO) == 0, "connect");
		need(send(s, "abc", 3, MSG_NOSIGNAL) == 3, "send");
		need(shutdown(s, SHUT_WR) == 0, "shutdown");
		need(wait_ev(s, POLLRDHUP) & POLLRDHUP, "wait-fin");
		need(wait_state(s, TCP_CLOSE) == TCP_CLOSE, "close");
		break;
	case ST2_RESET:
		need(conn2(s, v6, P_RST) == 0, "connect");
		need(send(s, "x", 1, MSG_NOSIGNAL) == 1, "send");
		wait_err(s);
		break;
	case ST2_DISCONNECTED:
		need(conn2(s, v6, P_ECHO) == 0, "connect");
		need(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0,
		     "disconnect");
		break;
	case ST2_ACCEPTED:
		need(bind2(s, v6, case_port()) == 0, "bind");
		need(listen(s, 4) == 0, "listen");
		peer("connect %d hello", case_port());
		l = s;
		s = accept(l, NULL, NULL);
		need(s >= 0, "accept");
		close(l);
		wait_bytes(s, HELLO_LEN);
		break;
	}
	return s;
}

static int state_now(int s)
{
	struct tcp_info ti = { 0 };
	socklen_t l = sizeof(ti);

	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -errno;
	return ti.tcpi_state;
}

static void state2_calls(int s, bool peer_closes)
{
	char b[64];

	emit("state=%d", state_now(s));
	emit_queues(s);
	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	R(recv(s, b, 4, MSG_DONTWAIT | MSG_PEEK));
	R(recv(s, b, 4, MSG_DONTWAIT));
	emit_queues(s);
	R(shutdown(s, SHUT_WR));
	emit_revents(s);
	R(send(s, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	emit_so_error(s);
	/* A peer that closes on our FIN: its FIN in, before the disconnect. */
	if (peer_closes)
		need(wait_state(s, TCP_CLOSE) == TCP_CLOSE, "wait-close");
	R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit("state=%d", state_now(s));
	emit_revents(s);
	emit_sockname(s);
	emit_peername(s);
	emit_queues(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(listen(s, 1));
	emit_revents(s);
	emit("state=%d", state_now(s));
}

#define STATE2(st, n) \
	CASE(state2_tcp_##n, 0) { state2_calls(state2(false, st), st == ST2_HELLO || st == ST2_SHUT_RD || st == ST2_ACCEPTED); } \
	CASE(state2_tcp6_##n, 0) { state2_calls(state2(true, st), st == ST2_HELLO || st == ST2_SHUT_RD || st == ST2_ACCEPTED); }
STATE2(ST2_FRESH, fresh)
STATE2(ST2_BOUND, bound)
STATE2(ST2_LISTEN, listen)
STATE2(ST2_CONNECTING, connecting)
STATE2(ST2_REFUSED, refused)
STATE2(ST2_HELLO, hello)
STATE2(ST2_SHUT_WR, shut_wr)
STATE2(ST2_SHUT_RD, shut_rd)
STATE2(ST2_PEER_FIN, peer_fin)
STATE2(ST2_FIN_DATA, fin_data)
STATE2(ST2_RESET, reset)
STATE2(ST2_DISCONNECTED, disconnected)
STATE2(ST2_ACCEPTED, accepted)

/* What SIOCOUTQ and SIOCOUTQNSD answer once disconnected (see emit_queues). */
CASE(ioctl_outq_after_disconnect, 0)
{
	int s = tcp_sock(), t = tcp_reset(), v;

	R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	R(connect(t, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	R(ioctl(t, SIOCOUTQ, &v));
	emit("outq=%s", v > 65536 ? "window+2" : v == 0 ? "0" : "other");
}
/* The same gap under TCP_NOTSENT_LOWAT: tcp_stream_memory_free counts
 * write_seq - snd_nxt, so a socket disconnected from a connection polls
 * not writable with a mark below twice the gap (fuzzseq -g 5 seed 1924's
 * select); a second disconnect adds 2 more (the window counted once:
 * printed as the gap less the first), and connect() catches up. */
CASE(notsent_lowat_after_disconnect, 0)
{
	int s = tcp_sock(), v = -1, w = -1;
	struct sockaddr un = { .sa_family = AF_UNSPEC };

	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1);
	R(connect(s, &un, sizeof(un)));
	emit_revents(s);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	R(connect_to(s, PEER, P_ECHO));
	R(connect(s, &un, sizeof(un)));
	emit_revents(s);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%s", v > 65536 ? "window+2" : "other");
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 2 * v + 1);
	emit_revents(s);
	R(connect(s, &un, sizeof(un)));
	R(ioctl(s, SIOCOUTQNSD, &w));
	emit("nsd2=%d", w - v);
	R(ioctl(s, SIOCOUTQ, &w));
	emit("outq2=%d", w - v);
	emit_revents(s);
	R(connect_to(s, PEER, P_ECHO));
	emit_revents(s);
	R(ioctl(s, SIOCOUTQNSD, &w));
	emit("nsd=%d", w);
	/* shutdown(SHUT_WR) in CLOSE (ENOTCONN, the bit taken): writable
	 * whatever the gap (tcp_poll's SEND_SHUTDOWN; fuzzseq -g 6 seed 2016). */
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1);
	R(connect(s, &un, sizeof(un)));
	emit_revents(s);
	R(shutdown(s, SHUT_WR));
	emit_revents(s);
}
/* The same after a connection with unread bytes (the disconnect resets
 * it): the pending ECONNRESET read, select() sees the gap. */
CASE(notsent_lowat_after_disconnect_reset, 0)
{
	int s = tcp_sock(), v = -1;
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	char b[4];
	fd_set r, w;
	struct timeval tv = { 0, 0 };

	R(connect_to(s, PEER, P_HELLO));
	wait_inq(s, 1);
	R(connect(s, &un, sizeof(un)));
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 1);
	R(recv(s, b, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT));
	emit_revents(s);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(s, &r);
	FD_SET(s, &w);
	R(select(s + 1, &r, &w, NULL, &tv));
	emit("r=%d w=%d", FD_ISSET(s, &r), FD_ISSET(s, &w));
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%s", v > 65536 ? "window+2" : v > 2 ? "some" : "other");
}
/* shutdown(SHUT_RD) of a listener is a disconnect (inet_shutdown:
 * tcp_disconnect): its write_seq moves on by 2 as well, which SIOCOUTQ,
 * SIOCOUTQNSD and TCP_NOTSENT_LOWAT's poll show; SHUT_WR leaves it
 * listening (fuzzseq -g 6 seed 1002). */
CASE(notsent_lowat_after_listener_shut, 0)
{
	int s = tcp_sock(), v = -1;

	bind_to(s, SELF, case_port());
	R(listen(s, 4));
	seti(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 3);
	R(shutdown(s, SHUT_WR));
	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	R(listen(s, 4));
	R(shutdown(s, SHUT_RDWR));
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	emit_revents(s);
}
/* The peer's RST on bytes it never acknowledged (its socket closed: data
 * to CLOSE_WAIT is reset): Linux's tcp_reset purges the write queue but
 * moves neither write_seq nor snd_una, so SIOCOUTQ keeps counting them
 * (SIOCOUTQNSD not: they were sent), through SO_ERROR and a shutdown. */
CASE(ioctl_outq_after_reset, 0)
{
	int s = tcp_to(P_FIN), v = -1;

	wait_fin(s);
	R(send(s, "0123456789", 10, MSG_NOSIGNAL));
	wait_err(s);
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	emit_so_error(s);
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	R(shutdown(s, SHUT_WR));
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
}
/* shutdown() before connect() (ENOTCONN, but Linux's inet_shutdown keeps
 * the bits), then a non-blocking connect(): while the SYN is out a send
 * answers EAGAIN, as without the shutdown, since tcp_sendmsg_locked waits
 * for the handshake (sk_stream_wait_connect) before it looks at
 * SEND_SHUTDOWN; MSG_FASTOPEN's sendto EALREADY. Once connected, EPIPE. */
CASE(send_shut_before_connect_syn_sent, 0)
{
	for (int how = 0; how < 3; how++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), v = -1;
		struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };

		R(shutdown(s, how));
		conn(s, PEER, P_DROP);
		R(poll(&p, 1, 0));
		emit("rev=%x", p.revents);
		R(send(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
		R(recv(s, &v, 1, MSG_DONTWAIT));
		R(sendto(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_FASTOPEN, NULL, 0));
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	R(shutdown(s, SHUT_WR));
	conn(s, PEER, P_ECHO);
	emit("rev=%x", wait_ev(s, POLLOUT));
	R(send(s, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
}
/* A connection the peer reset while it waited in the accept queue: accept()
 * still names the peer (Linux's inet_accept asks getname with peer 2, which
 * skips the state check), getpeername then ENOTCONN, SO_ERROR ECONNRESET. */
CASE(accept_reset_in_queue_addr, 0)
{
	int l = tcp_listener(), c;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	peer("connect %d rst", case_port());
	wait_in(l);
	c = accept(l, (struct sockaddr *)&a, &al);
	emit("c=%d", c >= 0);
	emit("port=%s", ntohs(a.sin_port) ? "eph" : "0");
	emit_addr(&a, al);
	emit_peername(c);
	emit_so_error(c);
}
/* An AF_INET6 socket whose connection ended (both FINs: CLOSE, the port
 * let go) and a bind() to an address not the host's: Linux's __inet6_bind
 * refuses it (EADDRNOTAVAIL) before it changes anything, so getsockname()
 * still shows the connection's address (only a failed get_port resets it). */
CASE(bind6_refused_after_end_keeps_address, 0)
{
	int t = sock6(SOCK_STREAM);
	struct sockaddr_in6 ec = sin6("::ffff:192.0.2.1", P_ECHO), pe = sin6("::ffff:192.0.2.1", 15293);
	char b[8];

	R(connect(t, (struct sockaddr *)&ec, sizeof(ec)));
	R(send(t, "abc", 3, 0));
	R(shutdown(t, SHUT_WR));
	emit("rev=%x", wait_ev(t, POLLRDHUP) & POLLRDHUP);
	emit("state=%d", wait_state(t, TCP_CLOSE));
	emit_sockname(t);
	R(bind(t, (struct sockaddr *)&pe, sizeof(pe)));
	emit_sockname(t);
	R(recv(t, b, 2, 0));
	emit_sockname(t);
	R(recv(t, b, 2, 0));
	R(recv(t, b, 2, 0));
	emit_sockname(t);
}
/* shutdown(SHUT_WR) on a socket in CLOSE (ENOTCONN, the bit kept), then a
 * blocking connect() to its own address and port: the SYN meets itself
 * (simultaneous open, SYN_RECV), and Linux's tcp_rcv_state_process sends
 * the FIN the kept bit asks for as the connection is made (tcp_shutdown);
 * the FIN comes back too (CLOSING, TIME_WAIT) before connect() looks again,
 * so it finds CLOSE: ECONNABORTED, SO_ERROR 0. The same with the port
 * bound by name and a refused connect first (tcp_disconnect clears the
 * bits, keeps the port; the shutdown sets them again). */
CASE(connect_self_after_shut_wr, 0)
{
	for (int refused = 0; refused < 2; refused++) {
		int s = tcp_sock(), v = 0;
		struct sockaddr_in a = sin4(SELF, refused ? case_port() : 0);
		socklen_t al = sizeof(a);

		R(bind(s, (struct sockaddr *)&a, sizeof(a)));
		getsockname(s, (struct sockaddr *)&a, &al);
		if (refused)
			conn(s, PEER, P_CLOSED);
		R(shutdown(s, SHUT_WR));
		R(connect(s, (struct sockaddr *)&a, sizeof(a)));
		emit("state=%d", state_now(s));
		emit_so_error(s);
		R(recv(s, &v, 1, MSG_DONTWAIT));
		R(send(s, "x", 1, MSG_NOSIGNAL));
	}
	/* Non-blocking: EINPROGRESS (the state looked at before the backlog
	 * ran), the exchange over once connect() returned; connect() again
	 * finds CLOSE. */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(SELF, 0);
	socklen_t al = sizeof(a);

	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	getsockname(s, (struct sockaddr *)&a, &al);
	R(shutdown(s, SHUT_WR));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit("state=%d", state_now(s));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
}
/* A non-blocking connect() to a listener of its own process on the
 * stack's address: EINPROGRESS, though the handshake is over once it
 * returns (Linux's release_sock ran the SYN-ACK the loopback left in the
 * backlog): the connection is in the listener's queue at once. */
CASE(connect_nonblock_own_listener, 0)
{
	int l = tcp_listener(), s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(SELF, case_port());
	struct pollfd p = { .fd = l, .events = POLLIN };

	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	emit("state=%d", state_now(s));
	R(poll(&p, 1, 0));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
	R(connect(s, (struct sockaddr *)&a, sizeof(a)));
}
/* select() with bits for fds the program never opened: Linux's
 * max_select_fd clamps n to its fd table (64 fds until one above is
 * opened, then the power of two above the highest: 256 here, the harness
 * leaves an fd in the 200s open), so a bit past it is ignored and left as
 * it was, one within it is EBADF. With a stack socket in the sets and
 * without (a pipe): fd 1000 and 300 (past it), 50 (EBADF); then fd 1000
 * with an fd at 600 open (a table of 1024: EBADF) and after it closed. */
CASE(select_past_fd_table, 0)
{
	int s = udp_sock(), p[2], fds[] = { 1000, 300, 50 };
	struct timeval tv = { 0, 0 };
	fd_set rs, ws;

	need(pipe(p) == 0, "pipe");
	for (int k = 0; k < 2; k++) {
		int w = k ? p[1] : s;

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
			FD_ZERO(&rs);
			FD_ZERO(&ws);
			FD_SET(fds[i], &rs);
			FD_SET(w, &ws);
			R(select(fds[i] + 1, &rs, &ws, NULL, &tv));
			emit("r=%d w=%d", FD_ISSET(fds[i], &rs) != 0, FD_ISSET(w, &ws) != 0);
		}
	}
	need(dup2(p[0], 600) == 600, "dup2");
	for (int k = 0; k < 2; k++) {
		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_SET(1000, &rs);
		FD_SET(k ? p[1] : s, &ws);
		R(select(1001, &rs, &ws, NULL, &tv));
		FD_ZERO(&rs);
		FD_SET(600, &rs);
		FD_SET(k ? p[1] : s, &ws);
		R(select(601, &rs, &ws, NULL, &tv));
	}
}
/* A connection that ended (both FINs: CLOSE) keeps its route, as Linux's
 * socket keeps its dst: IP_MTU answers. A bind() refused for an address
 * not the host's changes nothing (the MTU still); one that succeeds ends
 * with sk_dst_reset and zeroes the peer (__inet_bind): ENOTCONN. */
CASE(ip_mtu_after_end_bind, 0)
{
	int t = tcp_to(P_ECHO), v = 0;
	socklen_t l = sizeof(v);
	struct sockaddr_in bad = sin4("192.0.2.77", 0), any = sin4("0.0.0.0", 0);

	R(send(t, "abc", 3, 0));
	R(shutdown(t, SHUT_WR));
	emit("rev=%x", wait_ev(t, POLLRDHUP) & POLLRDHUP);
	emit("state=%d", wait_state(t, TCP_CLOSE));
	R(getsockopt(t, IPPROTO_IP, IP_MTU, &v, &l));
	emit("mtu=%d", v);
	R(bind(t, (struct sockaddr *)&bad, sizeof(bad)));
	v = 0;
	R(getsockopt(t, IPPROTO_IP, IP_MTU, &v, &l));
	emit("mtu=%d", v);
	R(bind(t, (struct sockaddr *)&any, sizeof(any)));
	v = 0;
	R(getsockopt(t, IPPROTO_IP, IP_MTU, &v, &l));
	emit("mtu=%d", v);
	emit_peername(t);

	/* AF_INET6: __inet6_bind zeroes the peer's port but keeps the route. */
	int t6 = sock6(SOCK_STREAM);
	struct sockaddr_in6 ec = sin6("::ffff:192.0.2.1", P_ECHO), any6 = sin6("::", 0);
	struct sockaddr_in6 pe6;
	socklen_t pl = sizeof(pe6);

	R(connect(t6, (struct sockaddr *)&ec, sizeof(ec)));
	R(shutdown(t6, SHUT_WR));
	emit("rev=%x", wait_ev(t6, POLLRDHUP) & POLLRDHUP);
	emit("state=%d", wait_state(t6, TCP_CLOSE));
	R(bind(t6, (struct sockaddr *)&any6, sizeof(any6)));
	v = 0;
	R(getsockopt(t6, IPPROTO_IP, IP_MTU, &v, &l));
	emit("mtu=%d", v);
	R(getsockopt(t6, SOL_SOCKET, SO_PEERNAME, &pe6, &pl));
}
/* A non-blocking connect() refused: Linux's tcp_done leaves the route and
 * the peer's port (inet_dport) to the socket until a later call
 * disconnects it (connect() again: sock_error, tcp_disconnect): IP_MTU and
 * SO_PEERNAME (inet_getname with peer 2) answer until then, ENOTCONN after. */
CASE(refused_nonblock_keeps_route, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), v = 0;
	socklen_t l = sizeof(v);
	struct sockaddr_in a;
	socklen_t al;

	conn(s, PEER, P_CLOSED);
	wait_err(s);
	for (int i = 0; i < 2; i++) {
		v = 0;
		l = sizeof(v);
		R(getsockopt(s, IPPROTO_IP, IP_MTU, &v, &l));
		emit("mtu=%d", v);
		al = sizeof(a);
		memset(&a, 0, sizeof(a));
		R(getsockopt(s, SOL_SOCKET, SO_PEERNAME, &a, &al));
		emit("port=%d", ntohs(a.sin_port));
		emit_so_error(s);
		emit_peername(s);
		if (!i)
			conn(s, PEER, P_CLOSED);
	}
}
/* IP_TOS changed on a TCP socket: Linux's __ip_sock_set_tos drops the
 * route (sk_dst_reset) when the value changes, and the next segment looks
 * one up again (ip_queue_xmit): IP_MTU is ENOTCONN in between. The same
 * value again, or one that differs in the ECN bits only, changes nothing;
 * -1 is a value (0xfc), and 256 differs from 0 (the int is compared). */
/* Each value set with setsockopt(level, name) in turn (-2: an echo round
 * trip instead), IP_MTU read after each. */
static void mtu_after_sets(int t, int level, int name, const int *vals, size_t n)
{
	socklen_t l;
	char b[4];
	int v;

	for (size_t i = 0; i < n; i++) {
		if (vals[i] != -2) {
			R(setsockopt(t, level, name, &vals[i], sizeof(vals[i])));
		} else {
			R(send(t, "ab", 2, 0));
			wait_in(t);
			R(recv(t, b, sizeof(b), 0));
		}
		v = 0;
		l = sizeof(v);
		R(getsockopt(t, IPPROTO_IP, IP_MTU, &v, &l));
		emit("mtu=%d", v);
	}
}
CASE(ip_mtu_after_tos_change, 0)
{
	static const int tos[] = { 16, 16, -2, 16, 17, 0, -2, -1, -2, 252, 256 };

	mtu_after_sets(tcp_to(P_ECHO), IPPROTO_IP, IP_TOS, tos, sizeof(tos) / sizeof(tos[0]));
}
/* IPV6_TCLASS changed on an AF_INET6 TCP socket connected to an
 * IPv4-mapped peer: do_ipv6_setsockopt drops the route (sk_dst_reset)
 * when the class changes, as IP_TOS does: IP_MTU is ENOTCONN until the
 * next segment. The same class again, or one that differs in the ECN
 * bits only (TCP keeps its own), changes nothing; -1 is 0 (fuzzseq -g 6
 * seed 30530). */
CASE(ip_mtu_after_tclass_change, 0)
{
	static const int tc[] = { 45, -2, 44, 45, 0, -2, -1, 8 };

	mtu_after_sets(inet6_to(SOCK_STREAM, P_ECHO), IPPROTO_IPV6, IPV6_TCLASS, tc, sizeof(tc) / sizeof(tc[0]));
}
/* A listener shut down (SHUT_RDWR: Linux's tcp_disconnect, its bind()'s
 * port kept) listens again while the connection it accepted lives: Linux's
 * inet_csk_listen_start asks get_port for the port again, and without
 * SO_REUSEADDR the child conflicts (EADDRINUSE, on every try); with it the
 * listen works. Another socket's bind() of the port: EADDRINUSE. */
CASE(listen_again_after_shutdown_child_alive, 0)
{
	for (int v = 0; v < 4; v++) {
		int l = tcp_sock(), c = tcp_sock(), a, one = 1;
		struct sockaddr_in me = sin4(v & 1 ? "0.0.0.0" : SELF, case_port() + v);

		if (v & 2)
			setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		R(bind(l, (struct sockaddr *)&me, sizeof(me)));
		R(listen(l, 4));
		conn(c, SELF, case_port() + v);
		a = accept(l, NULL, NULL);
		emit("a=%d", a >= 0);
		R(shutdown(l, SHUT_RDWR));
		R(listen(l, 1));
		R(listen(l, 1));
		int t = tcp_sock();

		me = sin4(SELF, case_port() + v);
		R(bind(t, (struct sockaddr *)&me, sizeof(me)));
		R(listen(t, 1));
	}
}
/* Urgent data goes out whole under MSG_MORE or TCP_CORK: Linux's
 * tcp_nagle_test lets any segment go while in urgent mode (snd_up past
 * snd_una), so SIOCOUTQNSD is 0 at once; TCP_CORK alone holds the partial
 * tail (104 of 3000 bytes), and holds again once the urgent byte is
 * acknowledged. */
CASE(send_oob_ignores_cork, 0)
{
	static char b[3000];
	struct timespec t0;
	int v;

	for (int w = 0; w < 3; w++) {
		int s = tcp_to(P_SINK), one = 1;

		if (w >= 1)
			R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)));
		R(send(s, b, sizeof(b), w == 0 ? MSG_OOB | MSG_MORE : w == 1 ? MSG_OOB : 0));
		v = -1;
		R(ioctl(s, SIOCOUTQNSD, &v));
		emit("nsd=%d", v);
		if (w != 1)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ioctl(s, SIOCOUTQ, &v) == 0 && v > 0 && ms_since(&t0) < WAIT_MS)
			poll(NULL, 0, 1);
		emit("outq=%d", v);
		R(send(s, b, 10, 0));
		R(ioctl(s, SIOCOUTQNSD, &v));
		emit("nsd=%d", v);
	}
}
/* After a non-blocking connect() was refused: Linux's tcp_done leaves
 * write_seq past the SYN (tcp_connect's write_seq++) and snd_una before it,
 * so SIOCOUTQ says 1 (SIOCOUTQNSD 0), through SO_ERROR and a send too;
 * while the SYN is out both say 0 (tcp_ioctl's SYN_SENT case). */
CASE(ioctl_outq_after_refused, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), v;

	need(s >= 0 && c >= 0, "socket");
	conn(c, PEER, P_DROP);
	R(ioctl(c, SIOCOUTQ, &v));
	emit("syn_sent=%d", v);
	conn(s, PEER, P_CLOSED);
	wait_err(s);
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("nsd=%d", v);
	emit_so_error(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
}

/* The same walk for UDP: the queue ioctls, shutdown both ways and what
 * reading, sending and poll then say, a disconnect and the names after it,
 * a bind(). Linux: udp_ioctl, inet_shutdown, __udp_disconnect. */
enum ust { UST_FRESH, UST_BOUND, UST_CONN, UST_QUEUED, UST_REFUSED, UST_DISCONNECTED };

static int ustate(bool v6, enum ust st)
{
	int s = sock2(v6, SOCK_DGRAM);

	switch (st) {
	case UST_FRESH:
		break;
	case UST_BOUND:
		need(bind2(s, v6, case_port()) == 0, "bind");
		break;
	case UST_CONN:
		need(conn2(s, v6, P_USINK) == 0, "connect");
		break;
	case UST_QUEUED:
		need(conn2(s, v6, P_UECHO) == 0, "connect");
		need(send(s, "abc", 3, 0) == 3, "send");
		need(send(s, "de", 2, 0) == 2, "send");
		wait_in(s);
		inq_after_wait(s, 100);
		break;
	case UST_REFUSED:
		need(conn2(s, v6, P_UCLOSED) == 0, "connect");
		need(send(s, "x", 1, 0) == 1, "send");
		wait_err(s);
		break;
	case UST_DISCONNECTED:
		need(conn2(s, v6, P_UECHO) == 0, "connect");
		need(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0,
		     "disconnect");
		break;
	}
	return s;
}

static void ustate_calls(int s, bool v6)
{
	char b[64];
	int v = -1;

	R(ioctl(s, SIOCINQ, &v));
	emit("inq=%d", v);
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
	emit_so_error(s);
	emit_revents(s);
	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	R(recv(s, b, 2, MSG_DONTWAIT | MSG_PEEK));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(shutdown(s, SHUT_WR));
	emit_revents(s);
	R(send(s, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	emit_so_error(s);
	R(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)));
	emit_revents(s);
	emit_sockname(s);
	emit_peername(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	R(bind2(s, v6, 0));
	emit_sockname(s);
	R(conn2(s, v6, P_UECHO));
	emit_revents(s);
	R(send(s, "y", 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	R(shutdown(s, SHUT_RDWR));
	emit_revents(s);
}

#define USTATE(st, n) \
	CASE(ustate_udp_##n, 0) { ustate_calls(ustate(false, st), false); } \
	CASE(ustate_udp6_##n, 0) { ustate_calls(ustate(true, st), true); }
USTATE(UST_FRESH, fresh)
USTATE(UST_BOUND, bound)
USTATE(UST_CONN, conn)
USTATE(UST_QUEUED, queued)
USTATE(UST_REFUSED, refused)
USTATE(UST_DISCONNECTED, disconnected)

/* Linux's inet_send_prepare and inet_dgram_connect bind an unbound UDP
 * socket before the call is looked at: a send or connect() that fails
 * leaves it on an ephemeral port. */
CASE(udp_failed_send_binds, 0)
{
	static char big[70000];
	struct sockaddr_in z = sin4(PEER, 0), bc = sin4(BCAST, P_UECHO), to = sin4(PEER, P_USINK);
	int s;

	s = udp_sock();
	R(send(s, "x", 1, 0));
	emit_sockname(s);
	s = udp_sock();
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&z, sizeof(z)));
	emit_sockname(s);
	s = udp_sock();
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&bc, sizeof(bc)));
	emit_sockname(s);
	s = udp_sock();
	R(sendto(s, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(s);
	s = udp_sock();
	R(shutdown(s, SHUT_WR));
	R(send(s, "x", 1, 0));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&z, sizeof(z)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&bc, sizeof(bc)));
	R(sendto(s, "x", 1, MSG_PROBE, (struct sockaddr *)&to, sizeof(to)));
	R(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	emit_sockname(s);
}
CASE(udp_failed_connect_binds, 0)
{
	int s = udp_sock();

	R(connect_to(s, BCAST, P_UECHO));
	emit_sockname(s);
	emit_peername(s);
	s = sock6(SOCK_DGRAM);
	R(conn6(s, "::ffff:" BCAST, P_UECHO));
	emit_sockname(s);
}

/* ===================================================================== */
/* ephemeral ports */

/* The ephemeral ports' parity: Linux's inet_csk_find_open_port starts
 * bind(0) at an odd offset, __inet_hash_connect connect() at an even one
 * (each leaves the other parity to the other call). */
CASE(eph_port_parity, 0)
{
	int odd = 0, even = 0, rodd = 0, rlow = 0, lodd = 0;

	for (int i = 0; i < 4; i++) {
		int s = tcp_sock();

		bind_to(s, "0.0.0.0", 0);
		odd += local_port(s) & 1;
		s = tcp_to(P_SINK);
		even += !(local_port(s) & 1);
		/* With SO_REUSEADDR bind(0) tries the range's lower half first
		 * (inet_csk_find_open_port's attempt_half): 32768..46883. */
		s = tcp_sock();
		seti(s, SOL_SOCKET, SO_REUSEADDR, 1);
		bind_to(s, "0.0.0.0", 0);
		rodd += local_port(s) & 1;
		rlow += local_port(s) < 46884;
		s = tcp_sock();
		need(listen(s, 1) == 0, "listen");
		lodd += local_port(s) & 1;
	}
	emit("bind-odd=%d connect-even=%d reuse-odd=%d reuse-low=%d listen-odd=%d", odd, even, rodd, rlow, lodd);
}

/* ===================================================================== */
/* recv and send flags from each TCP state */

/*
 * From each state of state2(): recv with flag combinations (all with
 * MSG_DONTWAIT; the peeks first, so that each sees the same queue), then
 * sends with flag combinations (MSG_DONTWAIT | MSG_NOSIGNAL). Linux:
 * tcp_recvmsg_locked, tcp_sendmsg_locked (MSG_FASTOPEN: tcp_sendmsg_fastopen).
 */
static void flags2_calls(int s, bool sends)
{
	static const int rf[] = {
		MSG_PEEK, MSG_PEEK | MSG_TRUNC, MSG_PEEK | MSG_WAITALL, MSG_PEEK | MSG_OOB, MSG_ERRQUEUE,
		MSG_ERRQUEUE | MSG_PEEK, MSG_CMSG_CLOEXEC, MSG_TRUNC, MSG_OOB, MSG_WAITALL, 0,
	};
	static const int sf[] = {
		MSG_OOB, MSG_EOR, MSG_MORE, MSG_CONFIRM, MSG_EOR | MSG_OOB, MSG_ZEROCOPY, MSG_FASTOPEN, 0,
	};
	char b[8];

	for (size_t i = 0; i < sizeof(rf) / sizeof(rf[0]); i++)
		R(recv(s, b, 2, rf[i] | MSG_DONTWAIT));
	/* In CLOSE_WAIT the peer (closed) answers the first byte with a RST,
	 * which Linux's veth takes in before send() returns and the TAP a
	 * moment later: the sends after the first would race with it. */
	for (size_t i = 0; i < (sends ? sizeof(sf) / sizeof(sf[0]) : 0); i++)
		R(send(s, "ab", 2, sf[i] | MSG_DONTWAIT | MSG_NOSIGNAL));
	emit_so_error(s);
}

#define FLAGS2(st, n) \
	CASE(flags2_tcp_##n, 0) { flags2_calls(state2(false, st), st != ST2_PEER_FIN); } \
	CASE(flags2_tcp6_##n, 0) { flags2_calls(state2(true, st), st != ST2_PEER_FIN); }
FLAGS2(ST2_FRESH, fresh)
FLAGS2(ST2_BOUND, bound)
FLAGS2(ST2_LISTEN, listen)
FLAGS2(ST2_CONNECTING, connecting)
FLAGS2(ST2_REFUSED, refused)
FLAGS2(ST2_HELLO, hello)
FLAGS2(ST2_SHUT_WR, shut_wr)
FLAGS2(ST2_SHUT_RD, shut_rd)
FLAGS2(ST2_PEER_FIN, peer_fin)
FLAGS2(ST2_FIN_DATA, fin_data)
FLAGS2(ST2_RESET, reset)
FLAGS2(ST2_DISCONNECTED, disconnected)
FLAGS2(ST2_ACCEPTED, accepted)

/* ===================================================================== */
/* getsockopt() after a disconnect and while connecting */

/* IP_PROTOCOL (inet_num) after a disconnect: 0, the port given back,
 * while getsockname (inet_sport) still shows it. */
CASE(ip_protocol_after_disconnect, 0)
{
	int s = tcp_to(P_ECHO), t = sock6(SOCK_STREAM);

	need(connect(s, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0, "disconnect");
	emit("v=%d", geti(s, IPPROTO_IP, IP_PROTOCOL));
	emit_sockname(s);
	need(conn2(t, true, P_CLOSED) < 0, "connect");
	emit("v=%d", geti(t, IPPROTO_IP, IP_PROTOCOL));
	emit_sockname(t);
}
/* TCP_MAXSEG keeps mss_cache through tcp_disconnect: a refused SYN's
 * (536 less the timestamps) and a connection's. */
CASE(maxseg_after_disconnect, 0)
{
	int s = tcp_sock(), t = tcp_to(P_ECHO);

	need(connect_to(s, PEER, P_CLOSED) < 0, "connect");
	emit("refused=%d", geti(s, IPPROTO_TCP, TCP_MAXSEG));
	need(connect(t, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0, "disconnect");
	emit("disconnected=%d", geti(t, IPPROTO_TCP, TCP_MAXSEG));
	need(connect(t, &(struct sockaddr){ .sa_family = AF_UNSPEC }, sizeof(struct sockaddr)) == 0, "disconnect");
	emit("twice=%d", geti(t, IPPROTO_TCP, TCP_MAXSEG));
}
/* TCP_WINDOW_CLAMP while the SYN is out: 65535 << the scale the SYN
 * offered (tcp_select_initial_window), the buffer's bound only under
 * SO_RCVBUF. */
CASE(window_clamp_syn_sent, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	errno = 0;
	need(connect_to(s, PEER, P_DROP) < 0 && errno == EINPROGRESS, "connect");
	emit("clamp=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}

/* ... and after the SYN was refused: Linux's tcp_done leaves window_clamp
 * as the SYN set it, through the sends that report the refusal. */
static void window_clamp_refused(int fam)
{
	int s = socket(fam, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sin4(PEER, P_CLOSED);
	struct sockaddr_in6 a6 = sin6("::ffff:" PEER, P_CLOSED);

	need(s >= 0, "socket");
	errno = 0;
	if (fam == AF_INET6)
		need(connect(s, (struct sockaddr *)&a6, sizeof(a6)) < 0 && errno == EINPROGRESS, "connect");
	else
		need(connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EINPROGRESS, "connect");
	wait_err(s);
	emit("refused=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	R(send(s, "x", 1, MSG_NOSIGNAL));
	emit("reported=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
	R(send(s, "x", 1, MSG_NOSIGNAL));
	emit("after=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}
CASE(window_clamp_refused, 0) { window_clamp_refused(AF_INET); }
CASE(window_clamp_refused6, 0) { window_clamp_refused(AF_INET6); }
/* A blocking connect() that was refused disconnects (__inet_stream_connect's
 * sock_error: tcp_disconnect): a fresh window_clamp. */
CASE(window_clamp_refused_blocking, 0)
{
	int s = tcp_sock();

	R(connect_to(s, PEER, P_CLOSED));
	emit("clamp=%d", geti(s, IPPROTO_TCP, TCP_WINDOW_CLAMP));
}

/* ===================================================================== */
/* getsockopt() at every level from the TCP states the sweeps above miss */

/* (Not CLOSE_WAIT: TCP_QUICKACK there depends on when the peer's FIN came
 * against our delayed ACK.) */
#define SWEEP2(st, n) \
	CASE(sweep2_tcp_##n, 0) { sweep_inet(state2(false, st), true, SWEEP_CONNECTED | SWEEP_NO_PORT); } \
	CASE(sweep2_tcp6_##n, 0) \
	{ \
		int s = state2(true, st); \
		sweep_inet6(s, true); \
		emit("TCP"); \
		sweep_level(s, IPPROTO_TCP, 45, SWEEP_CONNECTED | SWEEP_NO_PORT); \
	}
SWEEP2(ST2_CONNECTING, connecting)
SWEEP2(ST2_REFUSED, refused)
SWEEP2(ST2_SHUT_WR, shut_wr)
SWEEP2(ST2_SHUT_RD, shut_rd)
SWEEP2(ST2_FIN_DATA, fin_data)
SWEEP2(ST2_DISCONNECTED, disconnected)
SWEEP2(ST2_LISTEN, listen)
SWEEP2(ST2_ACCEPTED, accepted)

/* The same for UDP from each state of ustate(). */
#define USWEEP(st, n) \
	CASE(sweep2_udp_##n, 0) { sweep_inet(ustate(false, st), false, SWEEP_NO_PORT); } \
	CASE(sweep2_udp6_##n, 0) { sweep_inet6(ustate(true, st), false); }
USWEEP(UST_BOUND, bound)
USWEEP(UST_QUEUED, queued)
USWEEP(UST_REFUSED, refused)
USWEEP(UST_DISCONNECTED, disconnected)

/* setsockopt(IPPROTO_TCP) of every option, int-sized, 0 or 0x01010101,
 * from each state (TCP_REPAIR and its kin left out, as above). */
#define SETSWEEP2(st, n) \
	CASE(setsweep2_tcp_##n##_0, 0) { sweep_set_level(state2(false, st), IPPROTO_TCP, 45, 4, 0); } \
	CASE(setsweep2_tcp_##n##_1, 0) { sweep_set_level(state2(false, st), IPPROTO_TCP, 45, 4, 1); }
SETSWEEP2(ST2_CONNECTING, connecting)
SETSWEEP2(ST2_REFUSED, refused)
SETSWEEP2(ST2_SHUT_WR, shut_wr)
SETSWEEP2(ST2_FIN_DATA, fin_data)
SETSWEEP2(ST2_RESET, reset)
SETSWEEP2(ST2_DISCONNECTED, disconnected)
SETSWEEP2(ST2_ACCEPTED, accepted)
SETSWEEP2(ST2_LISTEN, listen)

/* setsockopt(SOL_SOCKET) and setsockopt(IPPROTO_IP) of every option,
 * int-sized, 0 or 1 in each byte, from the TCP states where Linux's
 * answers depend on the state (SO_BINDTODEVICE left out: it names a
 * device). */
#define SETSWEEP3(st, n) \
	CASE(setsweep3_sol_##n##_0, 0) { sweep_set_level(state2(false, st), SOL_SOCKET, 80, 4, 0); } \
	CASE(setsweep3_sol_##n##_1, 0) { sweep_set_level(state2(false, st), SOL_SOCKET, 80, 4, 1); } \
	CASE(setsweep3_ip_##n##_0, 0) { sweep_set_level(state2(false, st), IPPROTO_IP, 70, 4, 0); } \
	CASE(setsweep3_ip_##n##_1, 0) { sweep_set_level(state2(false, st), IPPROTO_IP, 70, 4, 1); }
SETSWEEP3(ST2_CONNECTING, connecting)
SETSWEEP3(ST2_FIN_DATA, fin_data)
SETSWEEP3(ST2_RESET, reset)
SETSWEEP3(ST2_DISCONNECTED, disconnected)
SETSWEEP3(ST2_ACCEPTED, accepted)

/* The same for UDP (and IPPROTO_UDP) from each state of ustate(). */
#define USETSWEEP(st, n) \
	CASE(setsweep3_udp_sol_##n, 0) { sweep_set_level(ustate(false, st), SOL_SOCKET, 80, 4, 1); } \
	CASE(setsweep3_udp_ip_##n, 0) { sweep_set_level(ustate(false, st), IPPROTO_IP, 70, 4, 1); } \
	CASE(setsweep3_udp_udp_##n, 0) { sweep_set_level(ustate(false, st), IPPROTO_UDP, 110, 4, 1); } \
	CASE(setsweep3_udp6_ip6_##n, 0) { sweep_set_level(ustate(true, st), IPPROTO_IPV6, 80, 4, 1); }
USETSWEEP(UST_CONN, conn)
USETSWEEP(UST_QUEUED, queued)
USETSWEEP(UST_REFUSED, refused)
USETSWEEP(UST_DISCONNECTED, disconnected)

/* The bind() conflicts for UDP: the holder bound, or connected (to the
 * echo), with an option and an address; a second socket tries each
 * address and option in turn (bind, close). Linux: udp_lib_get_port,
 * udp_lib_lport_inuse. */
static void udp_bind_conflicts(bool connected, int aopt, const char *aip)
{
	static const char *const ips[] = { SELF, "0.0.0.0" };
	static const char *const opts[] = { "-", "a", "p" };
	int port = case_port(), a = udp_sock();
	struct sockaddr_in sa = sin4(aip, port);

	set_reuse(a, aopt);
	need(bind(a, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
	if (connected)
		need(connect_to(a, PEER, P_UECHO) == 0, "connect");
	for (int i = 0; i < 2; i++) {
		for (int o = 0; o < 3; o++) {
			int b = udp_sock();

			set_reuse(b, o);
			emit("%s%s", i ? "any" : "self", opts[o]);
			bind_to(b, ips[i], port);
			close(b);
		}
	}
}
#define UDP_BIND_CONFLICTS(c, stn) \
	CASE(udp_bind_conflict_##stn##_none_self, 0) { udp_bind_conflicts(c, 0, SELF); } \
	CASE(udp_bind_conflict_##stn##_none_any, 0) { udp_bind_conflicts(c, 0, "0.0.0.0"); } \
	CASE(udp_bind_conflict_##stn##_reuseaddr_self, 0) { udp_bind_conflicts(c, 1, SELF); } \
	CASE(udp_bind_conflict_##stn##_reuseaddr_any, 0) { udp_bind_conflicts(c, 1, "0.0.0.0"); } \
	CASE(udp_bind_conflict_##stn##_reuseport_self, 0) { udp_bind_conflicts(c, 2, SELF); } \
	CASE(udp_bind_conflict_##stn##_reuseport_any, 0) { udp_bind_conflicts(c, 2, "0.0.0.0"); }
UDP_BIND_CONFLICTS(false, bound)
UDP_BIND_CONFLICTS(true, conn)

/* ===================================================================== */
/* fork and SCM_RIGHTS: states and sequences across processes (one socket,
 * two processes: what one does, the other sees) */

/* Runs FN in a fork() child that prints its own steps (the parent prints
 * nothing until the child is gone), then the child's exit. */
static void fork_steps(void (*fn)(int), int s)
{
	int st;
	pid_t pid = fork();

	need(pid >= 0, "fork");
	if (pid == 0) {
		fn(s);
		_exit(0);
	}
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%s%d", WIFSIGNALED(st) ? "SIG" : "", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* A non-blocking connect that failed (refused) before the fork: the child
 * polls it, asks its peer and SO_ERROR (the error once: one socket), then
 * connects it again and talks; the parent's copy afterwards. */
static void refused_child(int s)
{
	char b[8];

	emit("ev=%#x", wait_ev(s, POLLOUT));
	emit_peername(s);
	emit_so_error(s);
	emit_so_error(s);
	/* The error taken: ECONNABORTED, and unconnected; then anew. */
	conn(s, PEER, P_ECHO);
	conn(s, PEER, P_ECHO);
	emit("ev=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
static int refused_nonblock(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	need(connect_to(s, PEER, P_CLOSED) == -1 && errno == EINPROGRESS, "connect");
	need(wait_ev(s, POLLOUT) & POLLERR, "wait-refused");
	return s;
}
CASE(fork_refused_child_reconnects, 0)
{
	int s = refused_nonblock();

	fork_steps(refused_child, s);
	emit_so_error(s);
}
/* The same, the error taken in the parent first: the child's SO_ERROR is 0. */
static void refused_child_quiet(int s)
{
	emit("ev=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
	emit_peername(s);
}
CASE(fork_refused_parent_took_error, 0)
{
	int s = refused_nonblock();

	emit_so_error(s);
	fork_steps(refused_child_quiet, s);
	emit_so_error(s);
}
/* The same in the child's poll and epoll: shut both ways (readable, hung
 * up, writable) and in error while the error waits, then without the error
 * once the child took it; the parent's epoll afterwards. */
static void emit_epoll_once(int s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out = { 0 };
	int ep = epoll_create1(0), n;

	need(ep >= 0, "epoll_create1");
	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	n = epoll_wait(ep, &out, 1, WAIT_MS);
	emit("n=%d ev=%#x", n, out.events);
	close(ep);
}
static void refused_child_epoll(int s)
{
	int t = tcp_sock();

	emit("ev=%#x", wait_ev(s, POLLIN | POLLOUT | POLLRDHUP));
	emit_epoll_once(s);
	emit_so_error(s);
	emit_epoll_once(s);
	emit("ev=%#x", wait_ev(s, POLLIN | POLLOUT | POLLRDHUP));
	/* A new socket of the child's own, never connected: writable and
	 * hung up. */
	emit_epoll_once(t);
}
CASE(fork_refused_child_epoll, 0)
{
	int s = refused_nonblock();

	fork_steps(refused_child_epoll, s);
	emit_epoll_once(s);
	emit_so_error(s);
}
/* Bound first (the port bind() gave stays through the failure): the child's
 * connect() answers the error it finds pending, then connects the socket
 * from that port. */
static void refused_bound_child(int s)
{
	char b[8];

	conn(s, PEER, P_ECHO);
	conn(s, PEER, P_ECHO);
	emit("ev=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
	emit_sockname(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_refused_bound_child_reconnects, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	bind_to(s, SELF, case_port());
	need(connect_to(s, PEER, P_CLOSED) == -1 && errno == EINPROGRESS, "connect");
	need(wait_ev(s, POLLOUT) & POLLERR, "wait-refused");
	fork_steps(refused_bound_child, s);
	emit_so_error(s);
}
/* The same in a fork child's own child: the error once, for all three. */
static void refused_grandchild(int s) { fork_steps(refused_child_quiet, s); emit_so_error(s); }
CASE(fork_refused_grandchild, 0)
{
	int s = refused_nonblock();

	fork_steps(refused_grandchild, s);
	emit_so_error(s);
}
/* Bound first, then the same. */
CASE(fork_refused_bound_grandchild, 0)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	need(s >= 0, "socket");
	bind_to(s, SELF, case_port());
	need(connect_to(s, PEER, P_CLOSED) == -1 && errno == EINPROGRESS, "connect");
	need(wait_ev(s, POLLOUT) & POLLERR, "wait-refused");
	fork_steps(refused_grandchild, s);
	emit_so_error(s);
}
/* A blocking connect refused before the fork: the error was returned (none
 * pending); the child connects the socket again. */
static void child_reconnect_blocking(int s)
{
	char b[8];

	emit_so_error(s);
	conn(s, PEER, P_ECHO);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_refused_blocking_child_reconnects, 0)
{
	int s = tcp_sock();

	conn(s, PEER, P_CLOSED);
	fork_steps(child_reconnect_blocking, s);
}

/* Shut down before the fork, used by the child: after both FINs (the
 * peer's seen), Linux's child reads the end and fails to send. */
static void child_after_shut_wr(int s)
{
	char b[8];

	emit_revents(s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_shut_wr_child_uses, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	R(shutdown(s, SHUT_WR));
	wait_in(s);     /* the peer's FIN */
	R(recv(s, b, sizeof(b), MSG_PEEK));
	fork_steps(child_after_shut_wr, s);
}
/* SHUT_WR and the fork at once (the peer's FIN may come any time): the
 * child's send fails. */
static void child_send_only(int s) { R(send(s, "x", 1, MSG_NOSIGNAL)); }
CASE(fork_shut_wr_child_sends, 0)
{
	int s = tcp_to(P_SINK);

	R(shutdown(s, SHUT_WR));
	fork_steps(child_send_only, s);
}
/* SHUT_RD: the child reads the end, and sends. */
static void child_after_shut_rd(int s)
{
	char b[8];

	emit_revents(s);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(fork_shut_rd_child_uses, 0)
{
	int s = tcp_to(P_SINK);

	R(shutdown(s, SHUT_RD));
	fork_steps(child_after_shut_rd, s);
}
/* What the peer at 7015 saw of the connection from port: "ok eof N",
 * "ok reset N" (N the bytes it read) or "ok none". */
static void emit_seen(int port)
{
	char b[64] = "";
	int c = tcp_to(P_CTL);
	size_t got = 0;

	snprintf(b, sizeof(b), "seen %d\n", port);
	need(send(c, b, strlen(b), MSG_NOSIGNAL) == (ssize_t)strlen(b), "peer-send");
	memset(b, 0, sizeof(b));
	while (got < sizeof(b) - 1 && !memchr(b, '\n', got)) {
		need(wait_ev(c, POLLIN) & POLLIN, "peer-answer");
		ssize_t r = recv(c, b + got, sizeof(b) - 1 - got, 0);

		need(r > 0, "peer-answer");
		got += (size_t)r;
	}
	b[strcspn(b, "\n")] = 0;
	emit("%s", b);
	close(c);
}
/* Data that arrives after shutdown(SHUT_RD) on a socket a fork child had
 * (exposed) stays unread (Linux's tcp_data_queue queues it), so that the
 * close resets the connection (tcp_close: data_was_unread), as it does on
 * a socket no child had. */
static void child_noop(int s) { (void)s; }
static void shut_rd_late_close(bool child)
{
	int s = tcp_to(P_REPORT), port = local_port(s);

	if (child)
		fork_steps(child_noop, s);
	R(shutdown(s, SHUT_RD));
	peer("send %d late", port);
	R(close(s));
	emit_seen(port);
}
CASE(shutdown_rd_late_data_close, 0) { shut_rd_late_close(false); }
CASE(fork_shut_rd_late_data_close, 0) { shut_rd_late_close(true); }
/* What the peer sent after shutdown(SHUT_RD) is still read (Linux's
 * tcp_recvmsg copies what is queued and answers 0 only when nothing is:
 * RCV_SHUTDOWN marks the socket, tcp_data_queue still queues), by recv
 * (MSG_PEEK too), read, recvmsg and readv; poll says readable and hung up
 * for reading throughout. The close then ends the connection with a FIN
 * when all was read, a reset when some is left (tcp_close:
 * data_was_unread). HOW: 0 the stack's own socket, 1 exposed by a fork
 * child (the relay's bytes, shim/expose.c), 2 exposed by fdopen, 3 all of
 * it in a fork child; RAW: a read by a raw system call instead (no
 * preload sees it), the close right after. */
static void emit_got(long r, const char *b)
{
	emit("%.*s", r > 0 ? (int)r : 0, b);
}
static bool shut_rd_raw, shut_rd_leave, shut_rd_inq;
static void shut_rd_late_steps(int s)
{
	int port = local_port(s), n = -1;
	char b[64];
	struct iovec v = { b, sizeof(b) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };

	peer("send %d early", port);
	wait_bytes(s, 5);
	R(shutdown(s, SHUT_RD));
	emit_revents(s);
	emit_got(R(recv(s, b, sizeof(b), MSG_DONTWAIT)), b);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
	if (shut_rd_raw) {
		peer("send %d raw", port);
		emit_got(R(syscall(SYS_read, s, b, sizeof(b))), b);
		R(syscall(SYS_read, s, b, sizeof(b)));
		emit_revents(s);
		return;
	}
	peer("send %d late", port);
	emit_revents(s);
	if (shut_rd_inq) {
		R(ioctl(s, FIONREAD, &n));
		emit("n=%d", n);
	}
	emit_got(R(recv(s, b, 2, MSG_PEEK)), b);
	emit_got(R(recv(s, b, sizeof(b), 0)), b);
	R(read(s, b, sizeof(b)));
	peer("send %d again", port);
	emit_got(R(read(s, b, sizeof(b))), b);
	peer("send %d more", port);
	emit_got(R(recvmsg(s, &m, 0)), b);
	R(recvmsg(s, &m, MSG_DONTWAIT));
	peer("send %d last", port);
	if (!shut_rd_leave) {
		emit_got(R(readv(s, &v, 1)), b);
		R(readv(s, &v, 1));
	}
	emit_revents(s);
}
static void shut_rd_late_read(int how, bool raw, bool leave, bool inq)
{
	int s = tcp_to(P_REPORT), port = local_port(s);

	shut_rd_raw = raw;
	shut_rd_leave = leave;
	shut_rd_inq = inq;
	if (how == 1)
		fork_steps(child_noop, s);
	if (how == 2) {
		/* fdopen exposes it; the stream is never closed here (fclose
		 * would close the fd with the C library's own close). */
		need(fdopen(s, "r") != NULL, "fdopen");
	}
	if (how == 3)
		fork_steps(shut_rd_late_steps, s);
	else
		shut_rd_late_steps(s);
	R(close(s));
	emit_seen(port);
}
CASE(shutdown_rd_late_data_read, 0) { shut_rd_late_read(0, false, false, false); }
CASE(shutdown_rd_late_data_left, 0) { shut_rd_late_read(0, false, true, false); }
CASE(fork_shut_rd_late_data_read, 0) { shut_rd_late_read(1, false, false, false); }
CASE(fork_shut_rd_late_data_left, 0) { shut_rd_late_read(1, false, true, false); }
CASE(fdopen_shut_rd_late_data_read, 0) { shut_rd_late_read(2, false, false, false); }
CASE(fork_shut_rd_late_data_raw, 0) { shut_rd_late_read(1, true, false, false); }
CASE(fork_child_shut_rd_late_data_read, 0) { shut_rd_late_read(3, false, false, false); }
/* FIONREAD counts them (Linux's tcp_inq: what is queued). */
CASE(shutdown_rd_late_data_inq, 0) { shut_rd_late_read(0, false, false, true); }
CASE(fork_shut_rd_late_data_inq, 0) { shut_rd_late_read(1, false, false, true); }
/* The same in a fork child, on an epoll that holds the parent's socket
 * (exposed: a kernel fd there): another thread of the child makes a socket
 * of its own, never connected, and adds it; Linux's ep_insert wakes the
 * wait with its events (a TCP socket in CLOSE: writable, hung up). Or adds
 * a UDP socket that is not ready, then shuts it down for reading
 * (inet_shutdown's sk_state_change wakes the wait: readable). */
struct child_adder {
	pthread_t th;
	pid_t tid;
	int ep, type;
};
static void *child_adder_main(void *p)
{
	struct child_adder *a = p;
	int s = a->type == SOCK_STREAM ? tcp_sock() : udp_sock();

	await_asleep(a->tid);
	need(ep_add(a->ep, s, a->type == SOCK_STREAM ? EPOLLOUT : EPOLLIN) == 0, "epoll_ctl");
	if (a->type == SOCK_DGRAM) {
		await_asleep(a->tid);
		need(shutdown(s, SHUT_RD) == -1 && errno == ENOTCONN, "shutdown");
	}
	return NULL;
}
static void child_epoll_wait_add(int ep, int type)
{
	struct child_adder a = { .tid = gettid(), .ep = ep, .type = type };
	struct epoll_event ev = { 0 };

	need(pthread_create(&a.th, NULL, child_adder_main, &a) == 0, "pthread_create");
	R(epoll_wait(ep, &ev, 1, 2000));
	emit("ev=%#x", ev.events);
	pthread_join(a.th, NULL);
}
static void child_epoll_wait_add_tcp(int ep) { child_epoll_wait_add(ep, SOCK_STREAM); }
static void child_epoll_wait_add_udp(int ep) { child_epoll_wait_add(ep, SOCK_DGRAM); }
static int epoll_with_sink(void)
{
	int ep = epoll_create1(0);

	need(ep >= 0 && ep_add(ep, tcp_to(P_SINK), EPOLLIN) == 0, "epoll");
	return ep;
}
CASE(fork_child_epoll_wait_then_add, 0) { fork_steps(child_epoll_wait_add_tcp, epoll_with_sink()); }
CASE(fork_child_epoll_wait_then_udp_ready, 0) { fork_steps(child_epoll_wait_add_udp, epoll_with_sink()); }
/* Reset by the peer before the fork, the error taken: the child reads the
 * end and fails to send. */
static void child_after_reset(int s)
{
	char b[8];

	emit_revents(s);
	R(recv(s, b, sizeof(b), 0));
	R(send(s, "x", 1, MSG_NOSIGNAL));
}
CASE(fork_reset_child_uses, 0)
{
	int s = tcp_to(P_RST);
	char b[8];

	need(send(s, "x", 1, MSG_NOSIGNAL) == 1, "send");
	wait_err(s);
	R(recv(s, b, sizeof(b), 0));
	fork_steps(child_after_reset, s);
}

/* shutdown(SHUT_RDWR) in the child: one socket, the parent's copy too. */
static void child_shut_rdwr(int s) { R(shutdown(s, SHUT_RDWR)); }
CASE(fork_child_shutdown_rdwr, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	fork_steps(child_shut_rdwr, s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	R(recv(s, b, sizeof(b), 0));
	emit_revents(s);
}
/* SO_LINGER 0 then close() in the child while the parent holds the socket:
 * no reset until the last close; the parent talks on. */
static void child_linger0_close(int s)
{
	struct linger lg = { 1, 0 };

	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	R(close(s));
}
CASE(fork_child_linger0_close, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	fork_steps(child_linger0_close, s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
/* O_NONBLOCK set in the child: one open file description, the parent's
 * fd non-blocking too. */
static void child_set_nonblock(int s) { R(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)); }
CASE(fork_child_nonblock_shared, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	fork_steps(child_set_nonblock, s);
	emit("nonblock=%d", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	R(recv(s, b, sizeof(b), 0));
}
/* A dup of the socket, then the fork: the child uses the dup; the parent
 * closes the original and uses the dup. */
static void child_dup_use(int d)
{
	char b[8];

	R(send(d, "a", 1, MSG_NOSIGNAL));
	wait_in(d);
	R(recv(d, b, sizeof(b), 0));
}
CASE(fork_dup_then_fork, 0)
{
	int s = tcp_to(P_ECHO), d = dup(s);
	char b[8];

	need(d >= 0, "dup");
	fork_steps(child_dup_use, d);
	R(close(s));
	R(send(d, "b", 1, MSG_NOSIGNAL));
	wait_in(d);
	R(recv(d, b, sizeof(b), 0));
}
/* A listener with two connections waiting at the fork: the child accepts
 * one, the parent the other. */
static void child_accept_one(int l)
{
	char b[HELLO_LEN];
	int c = RFD(accept(l, NULL, NULL));

	if (c >= 0) {
		wait_bytes(c, HELLO_LEN);
		R(recv(c, b, sizeof(b), 0));
	}
}
CASE(fork_listener_pending_both_accept, 0)
{
	int l = tcp_listener(), c;
	char b[HELLO_LEN];

	peer("connect %d hello", case_port());
	peer("connect %d hello", case_port());
	wait_in(l);
	fork_steps(child_accept_one, l);
	c = RFD(accept(l, NULL, NULL));
	if (c >= 0) {
		wait_bytes(c, HELLO_LEN);
		R(recv(c, b, sizeof(b), 0));
	}
	fcntl(l, F_SETFL, O_NONBLOCK);
	R(accept(l, NULL, NULL));
}
/* The parent closes its copy while the child waits in recv: the child's
 * copy lives on (the peer's answer reaches it). */
static void child_recv_after_parent_close(int s)
{
	char b[8];
	struct pollfd p = { .fd = s, .events = POLLIN };

	/* The parent's close comes first: its end of the pipe (fd 200)
	 * tells. */
	(void)!read(200, b, 1);
	R(send(s, "y", 1, MSG_NOSIGNAL));
	emit("ready=%d", poll(&p, 1, WAIT_MS));
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_parent_close_child_recv, 0)
{
	int s = tcp_to(P_ECHO), p[2], st;
	pid_t pid;

	need(pipe(p) == 0 && dup2(p[0], 200) == 200, "pipe");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		close(p[1]);
		child_recv_after_parent_close(s);
		_exit(0);
	}
	R(close(s));
	need(write(p[1], "g", 1) == 1, "go");
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
}

/* What the child's queries see right after the fork: FIONREAD, a peek,
 * SIOCOUTQ (what arrived before the fork is there at once). */
static void child_queries(int s)
{
	char b[32];
	int v = -1;

	R(ioctl(s, FIONREAD, &v));
	emit("inq=%d", v);
	R(recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT));
	R(ioctl(s, SIOCOUTQ, &v));
	emit("outq=%d", v);
}
CASE(fork_child_queries, 0)
{
	int s = tcp_to(P_HELLO);
	char b[32];

	wait_bytes(s, HELLO_LEN);
	fork_steps(child_queries, s);
	R(recv(s, b, sizeof(b), 0));
}
/* TCP_INFO in the child: the connection's, not an unconnected socket's. */
static void child_tcp_info(int s)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (R(getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l)) == 0)
		emit("state=%u options=%u snd_mss=%u rcv_wscale=%u", ti.tcpi_state, ti.tcpi_options, ti.tcpi_snd_mss,
		     ti.tcpi_rcv_wscale);
}
CASE(fork_child_tcp_info, 0)
{
	int s = tcp_to(P_ECHO);

	fork_steps(child_tcp_info, s);
}
/* Waits (2 s at most: NOT-BLOCKED) until process PID sleeps in a system
 * call other than futex (as await_asleep for a thread). */
static void await_child_asleep(pid_t pid)
{
	struct timespec t0;
	char path[64], b[512];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		FILE *f;
		bool ok = false;
		long nr;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if ((f = fopen(path, "re"))) {
			if (fgets(b, sizeof(b), f)) {
				char *p = strrchr(b, ')');

				ok = p && p[1] == ' ' && p[2] == 'S';
			}
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
		if (ok && (f = fopen(path, "re"))) {
			ok = fscanf(f, "%ld", &nr) == 1 && nr != SYS_futex;
			fclose(f);
		} else {
			ok = false;
		}
		if (ok)
			return;
		if (ms_since(&t0) > 2000) {
			emit("NOT-BLOCKED");
			return;
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}
/* The child waits in accept() on the listener both hold; the parent closes
 * its copy, then a connection comes: the child's accept takes it. */
CASE(fork_parent_closes_listener_child_accepts, 0)
{
	int l = tcp_listener(), st;
	pid_t pid = fork();

	need(pid >= 0, "fork");
	if (pid == 0) {
		char b[HELLO_LEN];
		int c = RFD(accept(l, NULL, NULL));

		if (c >= 0) {
			wait_bytes(c, HELLO_LEN);
			R(recv(c, b, sizeof(b), 0));
		}
		_exit(0);
	}
	await_child_asleep(pid);
	need(close(l) == 0, "close");
	peer("connect %d hello", case_port());
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
}
/* The child waits in recv(); the parent sends a byte and closes its copy:
 * the echo reaches the child (no FIN until the last close). */
CASE(fork_parent_closes_child_recv_blocked, 0)
{
	int s = tcp_to(P_ECHO), st;
	pid_t pid = fork();

	need(pid >= 0, "fork");
	if (pid == 0) {
		char b[8];

		R(recv(s, b, sizeof(b), 0));
		R(send(s, "z", 1, MSG_NOSIGNAL));
		wait_in(s);
		R(recv(s, b, sizeof(b), 0));
		_exit(0);
	}
	await_child_asleep(pid);
	/* Not printed: the child's lines come meanwhile. */
	need(send(s, "y", 1, MSG_NOSIGNAL) == 1, "send");
	need(close(s) == 0, "close");
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
}

/* SO_RCVTIMEO and SO_SNDTIMEO set before the fork: the child's blocking
 * recv on a quiet connection ends with EAGAIN after the time. */
static void child_recv_timeo(int s)
{
	struct timeval tv = { 0, 0 };
	socklen_t l = sizeof(tv);
	char b[8];

	R(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l));
	emit("rcvtimeo=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_child_rcvtimeo, 0)
{
	int s = tcp_to(P_SINK);
	struct timeval tv = { 0, 200000 };

	char b[8];

	R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	fork_steps(child_recv_timeo, s);
	R(recv(s, b, sizeof(b), 0));
}
/* Set in the child, after the fork: the same. */
static void child_set_recv_timeo(int s)
{
	struct timeval tv = { 0, 200000 };
	char b[8];

	R(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_child_sets_rcvtimeo, 0) { fork_steps(child_set_recv_timeo, tcp_to(P_SINK)); }
/* A listener shut down (SHUT_RD) before the fork: the child's accept. */
static void child_accept_nb(int l) { R(accept4(l, NULL, NULL, SOCK_NONBLOCK)); emit_revents(l); }
CASE(fork_shut_listener_child_accepts, 0)
{
	int l = tcp_listener();

	fcntl(l, F_SETFL, O_NONBLOCK);
	R(shutdown(l, SHUT_RD));
	fork_steps(child_accept_nb, l);
}
/* TCP_FASTOPEN_CONNECT without a cookie: connect() sent the SYN; the
 * child writes once connected. */
static void child_fo_write(int s)
{
	char b[8];

	emit("ev=%#x", wait_ev(s, POLLOUT));
	R(send(s, "q", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
CASE(fork_fastopen_connect_child_writes, 0)
{
	int s = tcp_sock(), one = 1;

	R(setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)));
	fcntl(s, F_SETFL, O_NONBLOCK);
	conn(s, PEER, P_ECHO);
	fork_steps(child_fo_write, s);
}

/* A listener with SO_RCVTIMEO, shared by a fork: the connection the child
 * accepts inherits the timeout (Linux's sk_clone_lock), its recv ends. */
static void child_accept_timeo(int l)
{
	char b[HELLO_LEN + 4];
	int c = RFD(accept(l, NULL, NULL));
	struct timeval tv = { 0, 0 };
	socklen_t tl = sizeof(tv);

	if (c < 0)
		return;
	R(getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl));
	emit("rcvtimeo=%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	wait_bytes(c, HELLO_LEN);
	R(recv(c, b, sizeof(b), 0));
	R(recv(c, b, sizeof(b), 0));
}
CASE(fork_listener_rcvtimeo_child_accepts, 0)
{
	int l = tcp_listener();
	struct timeval tv = { 0, 200000 };

	R(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	peer("connect %d hello", case_port());
	wait_in(l);
	fork_steps(child_accept_timeo, l);
	/* The parent's next one, over the listener exposed by the fork. */
	peer("connect %d hello", case_port());
	child_accept_timeo(l);
}
/* Connection calls on a connected socket in the child: connect() again,
 * listen(), bind(), and SO_ERROR, SO_ACCEPTCONN, SO_TYPE. */
static void child_conn_calls(int s)
{
	struct sockaddr_in a = sin4(SELF, 0);

	conn(s, PEER, P_ECHO);
	R(listen(s, 4));
	R(bind(s, (struct sockaddr *)&a, sizeof(a)));
	emit_so_error(s);
	emit("acceptconn=%d type=%d", geti(s, SOL_SOCKET, SO_ACCEPTCONN), geti(s, SOL_SOCKET, SO_TYPE));
}
CASE(fork_child_connected_calls, 0) { fork_steps(child_conn_calls, tcp_to(P_ECHO)); }

/* FIONBIO in the child: one open file description, the parent's fd
 * non-blocking too. */
static void child_fionbio(int s) { int one = 1; R(ioctl(s, FIONBIO, &one)); }
CASE(fork_child_fionbio_shared, 0)
{
	int s = tcp_to(P_SINK);
	char b[8];

	fork_steps(child_fionbio, s);
	emit("nonblock=%d", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	R(recv(s, b, sizeof(b), 0));
}
/* SHUT_WR in the child: the parent's send fails, its read sees the echo
 * of what went before, then the end. */
static void child_shut_wr(int s) { R(send(s, "k", 1, MSG_NOSIGNAL)); R(shutdown(s, SHUT_WR)); }
CASE(fork_child_shutdown_wr, 0)
{
	int s = tcp_to(P_ECHO);
	char b[8];

	fork_steps(child_shut_wr, s);
	R(send(s, "x", 1, MSG_NOSIGNAL));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
	wait_in(s);
	R(recv(s, b, sizeof(b), 0));
}
/* The parent's epoll holds the socket from before the fork: the echo of
 * what the child sent wakes it. */
static void child_send_one(int s) { R(send(s, "e", 1, MSG_NOSIGNAL)); }
CASE(fork_epoll_registered_before, 0)
{
	int s = tcp_to(P_ECHO), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out = { 0 };
	char b[8];

	need(ep >= 0, "epoll");
	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
	fork_steps(child_send_one, s);
	R(epoll_wait(ep, &out, 1, WAIT_MS));
	emit("ev=%#x data=%u", out.events, out.data.u32);
	R(recv(s, b, sizeof(b), 0));
	R(epoll_wait(ep, &out, 1, 0));
}
/* dup2 of the socket onto another number in the child, the original
 * closed there: the copy talks. */
static void child_dup2_talk(int s)
{
	char b[8];

	R(dup2(s, 150));
	R(close(s));
	R(send(150, "d", 1, MSG_NOSIGNAL));
	wait_in(150);
	R(recv(150, b, sizeof(b), 0));
	emit_peername(150);
}
CASE(fork_child_dup2_talks, 0) { fork_steps(child_dup2_talk, tcp_to(P_ECHO)); }

/* A socket handed to a posix_spawn()ed shell as its fd 3 (a file action)
 * and to a vfork()ed one as its stdin: each writes into it (the shell's
 * own write: no preload call is seen for it); the parent reads the echo. */
static void spawn_writes(int s, bool use_vfork)
{
	extern char **environ;
	char *argv[] = { "sh", "-c", use_vfork ? "printf vf >&0" : "printf ps >&3", NULL };
	char b[8];
	pid_t pid;
	int st;

	if (use_vfork) {
		pid = vfork();
		if (pid == 0) {
			dup2(s, 0);
			execve("/bin/sh", argv, environ);
			_exit(127);
		}
	} else {
		posix_spawn_file_actions_t fa;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, s, 3);
		if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ) != 0)
			pid = -1;
		posix_spawn_file_actions_destroy(&fa);
	}
	need(pid > 0, "spawn");
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
	wait_bytes(s, 2);
	R(recv(s, b, sizeof(b), 0));
}
CASE(spawn_child_writes_socket, 0) { spawn_writes(tcp_to(P_ECHO), false); }
CASE(vfork_child_writes_socket, 0) { spawn_writes(tcp_to(P_ECHO), true); }

/* ---- SCM_RIGHTS ---- */

/* Sends N copies of fd over u with one byte. */
static int send_fds(int u, const int *fd, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { "m", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int)) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(cm), fd, (size_t)n * sizeof(int));
	return (int)sendmsg(u, &m, 0);
}
/* Receives a message's fds (at most 4) with FLAGS; how many. */
static int recv_fds(int u, int *fd, int flags)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))], x;
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	if (recvmsg(u, &m, flags) != 1 || !(cm = CMSG_FIRSTHDR(&m)) || cm->cmsg_type != SCM_RIGHTS)
		return 0;
	memcpy(fd, CMSG_DATA(cm), cm->cmsg_len - CMSG_LEN(0));
	return (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
}
/* The same TCP socket twice in one message: two fds, one socket. */
CASE(scm_rights_same_socket_twice, 0)
{
	int sv[2], s = tcp_to(P_ECHO), fd[4] = { s, s }, n;
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send_fds(sv[0], fd, 2));
	R(close(s));
	n = recv_fds(sv[1], fd, 0);
	emit("n=%d", n);
	if (n != 2)
		return;
	emit("same=%d", fd[0] == fd[1]);
	emit_peername(fd[0]);
	emit_peername(fd[1]);
	R(send(fd[0], "a", 1, MSG_NOSIGNAL));
	R(close(fd[0]));
	wait_in(fd[1]);
	R(recv(fd[1], b, sizeof(b), 0));
}
/* Passed, then closed by the sender before the receiver took it: the
 * message holds the socket. */
CASE(scm_rights_sender_closes_first, 0)
{
	int sv[2], s = tcp_to(P_ECHO), fd[4] = { s };
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send_fds(sv[0], fd, 1));
	R(close(s));
	emit("n=%d", recv_fds(sv[1], fd, 0));
	emit_peername(fd[0]);
	R(send(fd[0], "a", 1, MSG_NOSIGNAL));
	wait_in(fd[0]);
	R(recv(fd[0], b, sizeof(b), 0));
}
/* MSG_PEEK with SCM_RIGHTS: the peek installs fds too, and the message
 * stays for the real read. */
CASE(scm_rights_peek, 0)
{
	int sv[2], s = tcp_to(P_ECHO), fd[4] = { s }, g[4] = { -1 };
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send_fds(sv[0], fd, 1));
	emit("n=%d", recv_fds(sv[1], g, MSG_PEEK));
	emit_peername(g[0]);
	emit("n=%d", recv_fds(sv[1], fd, 0));
	emit_peername(fd[0]);
	R(send(g[0], "a", 1, MSG_NOSIGNAL));
	R(close(g[0]));
	wait_in(fd[0]);
	R(recv(fd[0], b, sizeof(b), 0));
}
/* Shut for writing, then passed: the received fd's send fails, its read
 * gets the echo of what went before and the end. */
CASE(scm_rights_pass_shut_wr, 0)
{
	int sv[2], s = tcp_to(P_ECHO), fd[4] = { s };
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send(s, "a", 1, MSG_NOSIGNAL));
	R(shutdown(s, SHUT_WR));
	R(send_fds(sv[0], fd, 1));
	R(close(s));
	emit("n=%d", recv_fds(sv[1], fd, 0));
	R(send(fd[0], "b", 1, MSG_NOSIGNAL));
	wait_bytes(fd[0], 1);
	R(recv(fd[0], b, sizeof(b), 0));
	wait_in(fd[0]);
	R(recv(fd[0], b, sizeof(b), 0));
}
/* UDP sockets over SCM_RIGHTS: connected, and bound but unconnected. */
CASE(scm_rights_udp_connected, 0)
{
	int sv[2], s = udp_to(P_UECHO), fd[4] = { s };
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send_fds(sv[0], fd, 1));
	emit("n=%d", recv_fds(sv[1], fd, 0));
	emit_sockname(fd[0]);
	emit_peername(fd[0]);
	R(send(fd[0], "abc", 3, 0));
	wait_in(fd[0]);
	R(recv(fd[0], b, sizeof(b), 0));
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
CASE(scm_rights_udp_unconnected, 0)
{
	int sv[2], s = udp_bound(), fd[4] = { s };
	struct sockaddr_in to = sin4(PEER, P_UECHO), from;
	socklen_t fl = sizeof(from);
	char b[8];

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	R(send_fds(sv[0], fd, 1));
	emit("n=%d", recv_fds(sv[1], fd, 0));
	emit_sockname(fd[0]);
	R(sendto(fd[0], "abc", 3, 0, (struct sockaddr *)&to, sizeof(to)));
	wait_in(fd[0]);
	R(recvfrom(fd[0], b, sizeof(b), 0, (struct sockaddr *)&from, &fl));
	emit_addr(&from, fl);
	R(recv(s, b, sizeof(b), MSG_DONTWAIT));
}
/* A socket passed to a fork child (made before the socket) that failed to
 * connect: the child's copy tells the error, once for both (the sender
 * asks after the child). The child asks SO_ERROR first (first 0), or
 * reads (1) or writes (2) first, which takes the error as Linux's
 * tcp_recvmsg and tcp_sendmsg do (sock_error). */
static void scm_refused_child(int u, int first)
{
	int fd[4] = { -1 };
	char b[8];

	emit("n=%d", recv_fds(u, fd, 0));
	emit("ev=%#x", wait_ev(fd[0], POLLOUT));
	if (first == 1)
		R(recv(fd[0], b, sizeof(b), MSG_DONTWAIT));
	else if (first == 2)
		R(send(fd[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
	emit_so_error(fd[0]);
	if (first) {
		R(recv(fd[0], b, sizeof(b), MSG_DONTWAIT));
		R(send(fd[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
		return;
	}
	emit_peername(fd[0]);
	/* The error taken: no longer in error, and at its end. */
	emit("ev=%#x", wait_ev(fd[0], POLLOUT));
	R(recv(fd[0], b, sizeof(b), MSG_DONTWAIT));
}
static void scm_refused(int first)
{
	int sv[2], st, s, fd[4];
	pid_t pid;

	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		scm_refused_child(sv[1], first);
		_exit(0);
	}
	s = refused_nonblock();
	fd[0] = s;
	need(send_fds(sv[0], fd, 1) == 1, "sendmsg");
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
	emit("ev=%#x", wait_ev(s, POLLOUT));
	emit_so_error(s);
}
CASE(scm_rights_pass_refused, 0) { scm_refused(0); }
CASE(scm_rights_pass_refused_recv_first, 0) { scm_refused(1); }
CASE(scm_rights_pass_refused_send_first, 0) { scm_refused(2); }

/* A connection still being made when it is passed (dante's request child
 * hands each target connection to an io child while its connect is under
 * way): the receiver waits for it to end and asks SO_ERROR. The sender is
 * a fork child, which made the socket (a joiner of its parent's stack,
 * whose answer to the connect goes to the sender); the parent receives. */
/* In a fork child (a joiner of its parent's stack): a connect to ip:port
 * left under way, its names shown when asked, the socket passed over u;
 * exits (its status: where it failed). */
static void pass_connecting_child(int u, const char *ip, int port, int user_timeout_ms, bool names)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), fd[4];

	if (s < 0)
		_exit(2);
	if (user_timeout_ms)
		seti(s, IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms);
	if (connect_to(s, ip, port) == 0 || errno != EINPROGRESS)
		_exit(3);
	if (names) {
		emit_sockname(s);
		emit_peername(s);
	}
	fd[0] = s;
	if (send_fds(u, fd, 1) != 1)
		_exit(4);
	close(s);
	_exit(0);
}

/* Forks pass_connecting_child and takes the socket it passes. */
static int take_connecting(const char *ip, int port, int user_timeout_ms, bool names)
{
	int sv[2], st, fd[4] = { -1 };
	pid_t pid;

	close(tcp_to(P_ECHO));          /* the parent's stack runs */
	need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0)
		pass_connecting_child(sv[0], ip, port, user_timeout_ms, names);
	need(waitpid(pid, &st, 0) == pid, "waitpid");
	emit("child=%d", WEXITSTATUS(st));
	emit("n=%d", recv_fds(sv[1], fd, 0));
	return fd[0];
}

static void scm_pass_connecting(const char *ip, int port, int user_timeout_ms, int wait_ms)
{
	struct pollfd p = { .events = POLLOUT };
	int fd[1];

	fd[0] = take_connecting(ip, port, user_timeout_ms, false);
	p.fd = fd[0];
	emit("poll=%d", poll(&p, 1, wait_ms));
	emit("ev=%#x", p.revents);
	emit_so_error(fd[0]);
	emit_so_error(fd[0]);
}
/* No ARP answer: Linux's connect ends with EHOSTUNREACH after its three
 * ARP requests (about 3 s). */
CASE(scm_rights_pass_connecting_unreachable, 9000) { scm_pass_connecting(NOBODY, P_ECHO, 0, 7000); }
/* The SYNs dropped: ETIMEDOUT at TCP_USER_TIMEOUT. */
CASE(scm_rights_pass_connecting_timeout, 5000) { scm_pass_connecting(PEER, P_DROP, 500, 3000); }
/* Refused: ECONNREFUSED. */
CASE(scm_rights_pass_connecting_refused, 0) { scm_pass_connecting(PEER, P_CLOSED, 0, WAIT_MS); }

/* Its names while the connection is still being made (the peer silent):
 * Linux's connect() chose the local address and port before it answered
 * EINPROGRESS, so the sender (a joiner) and the receiver show them. */
CASE(scm_rights_pass_connecting_name, 0)
{
	int s = take_connecting(PEER, P_DROP, 0, true);

	emit_sockname(s);
	emit_peername(s);
}

/* A fork child reads the source filter of the socket it shares
 * (IP_MSFILTER): the parent's filter, one socket. The answer: 100 when
 * the first source is the peer, plus the mode times 10 plus the number of
 * sources, or -errno. */
static long child_msfilter(int s)
{
	char b[IP_MSFILTER_SIZE(2)];
	struct ip_msfilter *f = (struct ip_msfilter *)b;
	socklen_t l = sizeof(b);

	memset(b, 0, sizeof(b));
	inet_pton(AF_INET, "239.1.2.36", &f->imsf_multiaddr);
	inet_pton(AF_INET, SELF, &f->imsf_interface);
	f->imsf_numsrc = 2;             /* room for two */
	if (getsockopt(s, IPPROTO_IP, IP_MSFILTER, f, &l) != 0)
		return -errno;
	return (f->imsf_numsrc && f->imsf_slist[0].s_addr == inet_addr(PEER) ? 100 : 0) +
	       (long)f->imsf_fmode * 10 + f->imsf_numsrc;
}
CASE(fork_child_udp_msfilter_read, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", case_port());
	R(src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.36", SELF, PEER));
	in_child(child_msfilter, s);
	R(src_filter(s, IP_DROP_SOURCE_MEMBERSHIP, "239.1.2.36", SELF, PEER));
}
/* A fork child's own UDP socket given a source filter before bind() (by
 * both interfaces), then bound: two digits a call, 01 for success, else
 * the errno; then what the child reads of the filter. */
static long child_new_source_early(int s)
{
	struct sockaddr_in a = sin4("0.0.0.0", case_port());
	long r = 0;

	(void)s;
	s = udp_sock();
	r = r * 100 + (src_filter(s, IP_ADD_SOURCE_MEMBERSHIP, "239.1.2.36", SELF, PEER) == 0 ? 1 : errno);
	r = r * 100 + (gsr(s, MCAST_JOIN_SOURCE_GROUP, "239.1.2.37", PEER, AF_INET) == 0 ? 1 : errno);
	r = r * 100 + (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 ? 1 : errno);
	return r * 1000 + child_msfilter(s);
}
CASE(fork_child_udp_new_source_early, 0) { (void)tcp_to(P_ECHO); in_child(child_new_source_early, -1); }
/* MSG_MORE and UDP_CORK on a UDP socket a fork child shares: one datagram
 * of the corked parts (the echo's length), then the uncorked ones. */
static long child_udp_corked(int s)
{
	struct sockaddr_in to = sin4(PEER, P_UECHO);
	int one = 1, zero = 0;
	char b[32];
	long r = 0, n;

	if (sendto(s, "ab", 2, MSG_MORE, (struct sockaddr *)&to, sizeof(to)) != 2 ||
	    sendto(s, "cd", 2, 0, (struct sockaddr *)&to, sizeof(to)) != 2)
		return -errno;
	wait_in(s);
	n = recv(s, b, sizeof(b), MSG_DONTWAIT);
	r = r * 10 + (n < 0 ? 0 : n);
	if (setsockopt(s, IPPROTO_UDP, UDP_CORK, &one, sizeof(one)) != 0)
		return -errno;
	if (sendto(s, "efg", 3, 0, (struct sockaddr *)&to, sizeof(to)) != 3 ||
	    sendto(s, "h", 1, 0, (struct sockaddr *)&to, sizeof(to)) != 1)
		return -errno;
	n = recv(s, b, sizeof(b), MSG_DONTWAIT);      /* nothing sent yet */
	r = r * 10 + (n < 0 ? 0 : n);
	if (setsockopt(s, IPPROTO_UDP, UDP_CORK, &zero, sizeof(zero)) != 0)
		return -errno;
	wait_in(s);
	n = recv(s, b, sizeof(b), MSG_DONTWAIT);
	r = r * 10 + (n < 0 ? 0 : n);
	n = recv(s, b, sizeof(b), MSG_DONTWAIT);
	return r * 10 + (n < 0 ? 0 : n);
}
CASE(fork_child_udp_corked, 0)
{
	int s = udp_sock();

	bind_to(s, "0.0.0.0", 0);
	in_child(child_udp_corked, s);
}


/* ===================================================================== */
/* queue and flag ioctls, SO_LINGER's close and blocked calls, by state */

/*
 * Every queue and flag ioctl in each state of a TCP socket (state2) and
 * of a UDP one (ustate): SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK,
 * FIONBIO and FIOASYNC set and cleared (the file's flags after each),
 * FIONREAD, then each with an unwritable or NULL argument. Linux:
 * tcp_ioctl, udp_ioctl, sock_ioctl.
 */
static void ioctl_each(int s)
{
	int v;

	v = -1;
	R(ioctl(s, SIOCINQ, &v));
	emit("v=%d", v);
	v = -1;
	R(ioctl(s, SIOCOUTQ, &v));
	emit("v=%d", v);
	v = -1;
	R(ioctl(s, SIOCOUTQNSD, &v));
	emit("v=%d", v);
	v = -1;
	R(ioctl(s, SIOCATMARK, &v));
	emit("v=%d", v);
	v = 1;
	R(ioctl(s, FIONBIO, &v));
	emit_flags(s);
	v = 0;
	R(ioctl(s, FIONBIO, &v));
	emit_flags(s);
	v = 1;
	R(ioctl(s, FIOASYNC, &v));
	emit("async=%d", !!(fcntl(s, F_GETFL) & O_ASYNC));
	v = 0;
	R(ioctl(s, FIOASYNC, &v));
	emit("async=%d", !!(fcntl(s, F_GETFL) & O_ASYNC));
	v = -1;
	R(ioctl(s, FIONREAD, &v));
	emit("v=%d", v);
	R(ioctl(s, SIOCINQ, BAD));
	R(ioctl(s, SIOCOUTQ, BAD));
	R(ioctl(s, SIOCOUTQNSD, BAD));
	R(ioctl(s, SIOCATMARK, BAD));
	R(ioctl(s, FIONBIO, BAD));
	R(ioctl(s, FIOASYNC, BAD));
	R(ioctl(s, SIOCINQ, NULL));
	R(ioctl(s, FIONBIO, NULL));
	R(ioctl(s, FIOASYNC, NULL));
}
#define IOCTL_TCP(st, n) CASE(ioctl_states_tcp_##n, 0) { ioctl_each(state2(false, st)); }
IOCTL_TCP(ST2_FRESH, fresh)
IOCTL_TCP(ST2_BOUND, bound)
IOCTL_TCP(ST2_LISTEN, listen)
IOCTL_TCP(ST2_CONNECTING, connecting)
IOCTL_TCP(ST2_REFUSED, refused)
IOCTL_TCP(ST2_HELLO, hello)
IOCTL_TCP(ST2_SHUT_WR, shut_wr)
IOCTL_TCP(ST2_SHUT_RD, shut_rd)
IOCTL_TCP(ST2_PEER_FIN, peer_fin)
IOCTL_TCP(ST2_FIN_DATA, fin_data)
IOCTL_TCP(ST2_RESET, reset)
IOCTL_TCP(ST2_DISCONNECTED, disconnected)
IOCTL_TCP(ST2_ACCEPTED, accepted)
#define IOCTL_UDP(st, n) CASE(ioctl_states_udp_##n, 0) { ioctl_each(ustate(false, st)); }
IOCTL_UDP(UST_FRESH, fresh)
IOCTL_UDP(UST_BOUND, bound)
IOCTL_UDP(UST_CONN, conn)
IOCTL_UDP(UST_QUEUED, queued)
IOCTL_UDP(UST_REFUSED, refused)
IOCTL_UDP(UST_DISCONNECTED, disconnected)

/*
 * SO_LINGER 0 and 2 s, then close(), in each state of a connection to the
 * reporting peer: close()'s answer, whether it waited, and what the peer
 * saw (but in FIN_WAIT2) (Linux's tcp_close: unread data resets whatever the linger; linger
 * 0 resets; a time waits for the FIN's ACK, which the peer sends at once).
 */
enum lstate { LS_EST, LS_UNREAD, LS_FIN_WAIT2, LS_SHUT_RD, LS_READ_ALL, LS_SENT, LS_UNREAD_SHUT_RD };

static void linger_close_in(int secs, enum lstate st)
{
	/* FIN_WAIT2 against the stalling peer, which holds its end open: the
	 * reporting one closes at our FIN, and the kernel's socket passed
	 * through FIN_WAIT2 to TIME_WAIT between two looks of wait_state. */
	int s = tcp_to(st == LS_FIN_WAIT2 ? P_STALL : P_REPORT), port = local_port(s);
	struct linger lg = { 1, secs };
	struct timespec t0;
	char b[64];

	switch (st) {
	case LS_EST:
		break;
	case LS_UNREAD:
		peer("send %d late", port);
		break;
	case LS_FIN_WAIT2:
		need(shutdown(s, SHUT_WR) == 0, "shutdown");
		need(wait_state(s, TCP_FIN_WAIT2) == TCP_FIN_WAIT2, "fin-wait2");
		break;
	case LS_SHUT_RD:
		need(shutdown(s, SHUT_RD) == 0, "shutdown");
		break;
	case LS_READ_ALL:
		peer("send %d late", port);
		R(recv(s, b, sizeof(b), 0));
		break;
	case LS_SENT:
		R(send(s, "abc", 3, 0));
		break;
	case LS_UNREAD_SHUT_RD:
		peer("send %d late", port);
		need(shutdown(s, SHUT_RD) == 0, "shutdown");
		break;
	}
	R(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	R(close(s));
	emit("%s", ms_since(&t0) < 400 ? "at-once" : "waited");
	if (st != LS_FIN_WAIT2)
		emit_seen(port);
}
#define LINGER_IN(st, n) \
	CASE(linger0_close_##n, 0) { linger_close_in(0, st); } \
	CASE(linger2_close_##n, 0) { linger_close_in(2, st); }
LINGER_IN(LS_EST, established)
LINGER_IN(LS_UNREAD, unread)
LINGER_IN(LS_FIN_WAIT2, fin_wait2)
LINGER_IN(LS_SHUT_RD, shut_rd)
LINGER_IN(LS_READ_ALL, read_all)
LINGER_IN(LS_SENT, sent)
LINGER_IN(LS_UNREAD_SHUT_RD, unread_shut_rd)

/* The same on sockets without a connection to report: close() is 0 at once. */
CASE(linger_close_states, 0)
{
	static const int secs[] = { 0, 2 };

	for (int i = 0; i < 2; i++) {
		struct linger lg = { 1, secs[i] };
		int ss[] = { tcp_sock(), state2(false, ST2_BOUND), state2(false, ST2_LISTEN),
			     state2(false, ST2_CONNECTING), state2(false, ST2_REFUSED),
			     state2(false, ST2_PEER_FIN), state2(false, ST2_RESET),
			     state2(false, ST2_DISCONNECTED), udp_to(P_USINK) };

		for (size_t j = 0; j < sizeof(ss) / sizeof(ss[0]); j++) {
			struct timespec t0;

			R(setsockopt(ss[j], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
			clock_gettime(CLOCK_MONOTONIC, &t0);
			R(close(ss[j]));
			emit("%s", ms_since(&t0) < 400 ? "at-once" : "waited");
		}
	}
}

/*
 * Another thread closes (or shuts down) the fd this thread is blocked on
 * in connect, a send to a full window, or a MSG_WAITALL read: Linux's call
 * holds the file and goes on until its timeout (SO_SNDTIMEO/SO_RCVTIMEO
 * 600 ms: EINPROGRESS, EAGAIN, the bytes it has); a shutdown ends it.
 */
struct blocked_other {
	pthread_t th;
	pid_t tid;
	int fd, how;
};
static void *blocked_other_main(void *p)
{
	struct blocked_other *c = p;

	await_asleep(c->tid);
	if (c->how < 0)
		close(c->fd);
	else
		shutdown(c->fd, c->how);
	return NULL;
}
static void blocked_then_other(int fd, int how, int call)
{
	struct blocked_other c = { .tid = gettid(), .fd = fd, .how = how };
	static char b[65536];
	struct timespec t0;

	set_timeo(fd, SO_RCVTIMEO, 600);
	set_timeo(fd, SO_SNDTIMEO, 600);
	need(pthread_create(&c.th, NULL, blocked_other_main, &c) == 0, "pthread_create");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (call == 0)
		R(connect_to(fd, PEER, P_DROP));
	else if (call == 1)
		R(send(fd, b, sizeof(b), MSG_NOSIGNAL));
	else
		R(recv(fd, b, 64, MSG_WAITALL));
	emit("%s", ms_since(&t0) < 400 ? "at-once" : "waited");
	pthread_join(c.th, NULL);
	R(fcntl(fd, F_GETFD));
	if (how >= 0)
		emit_so_error(fd);
}
static int stalled_full(void)
{
	int s = tcp_to(P_STALL);

	fill(s);
	return s;
}
CASE(close_from_thread_connect, 0) { blocked_then_other(tcp_sock(), -1, 0); }
CASE(close_from_thread_send_full, 0) { blocked_then_other(stalled_full(), -1, 1); }
CASE(close_from_thread_recv_waitall, 0) { blocked_then_other(tcp_hello(), -1, 2); }
CASE(shutdown_rd_from_thread_recv_waitall, 0) { blocked_then_other(tcp_hello(), SHUT_RD, 2); }
CASE(shutdown_wr_from_thread_connect, 0) { blocked_then_other(tcp_sock(), SHUT_WR, 0); }

/* ===================================================================== */
/* the driver */

static void run_one(const char *name)
{
	for (int i = 0; i < ncases; i++) {
		if (strcmp(cases[i].name, name) != 0)
			continue;
		case_index = i;
		sem_init(&sig_sem, 0, 0);
		unblock_all();
		handle(SIGPIPE, false);
		handle(SIGURG, false);
		handle(SIGIO, false);
		handle(SIGUSR1, false);
		handle(SIGALRM, false);
		cases[i].fn();
		end_interrupt();
		end_case();
		exit(0);
	}
	fprintf(stderr, "sockdiff: no case %s\n", name);
	exit(2);
}

/* sockdiff -v FD: an exec'd case's image (exec_noenv_*) tells what it sees
 * of the connected socket it inherited on FD, on the case's line (its
 * stdout); exit status 0, or 2 when no echo came through it. */
static int view_inherited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int v = 0, one = 1;
	socklen_t l = sizeof(v);
	char b[8];

	emit_sockname(fd);
	emit_peername(fd);
	if (R(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l)) == 0)
		emit("domain=%d", v);
	R(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	l = sizeof(v);
	if (R(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l)) == 0)
		emit("nodelay=%d", v != 0);
	if (write(fd, "ping", 4) != 4)
		return 1;
	return poll(&p, 1, WAIT_MS) == 1 && read(fd, b, sizeof(b)) == 4 && !memcmp(b, "ping", 4) ? 0 : 2;
}

/* Runs case C in a fresh process (exec'd, with PRELOAD), prints its line. */
static void drive(const struct dcase *c, const char *self, const char *preload)
{
	char buf[4096], tail[64];
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		execl(self, self, "-r", c->name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	collect_line(pid, p[0], c->timeout_ms, buf, sizeof(buf), tail, sizeof(tail));
	printf("%s:%s%s\n", c->name, buf, tail);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *preload = NULL, *pats[64];
	int npats = 0, opt, shard = 0, nshards = 1, matched = 0;
	bool list = false;
	char self[4096];
	ssize_t n;

	while ((opt = getopt(argc, argv, "p:c:lr:s:v:L:J:")) != -1) {
		switch (opt) {
		case 'p': preload = optarg; break;
		case 'c': if (npats < 64) pats[npats++] = optarg; break;
		case 'l': list = true; break;
		case 'r': run_one(optarg); break;
		case 'v': exit(view_inherited(atoi(optarg)));
		case 'L': exit(relisten_child(atoi(optarg)));
		case 'J': exit(passed_then_own(atoi(optarg)));
		case 's':
			/* -s K/N: the K-th of N shards (every N-th case from
			 * the K-th, counting the cases the patterns take), so
			 * that N runs side by side share the cases. */
			if (sscanf(optarg, "%d/%d", &shard, &nshards) != 2 || nshards < 1 || shard < 0 ||
			    shard >= nshards) {
				fprintf(stderr, "sockdiff: -s wants K/N with 0 <= K < N, not '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: sockdiff [-p PRELOAD] [-c PATTERN]... [-s K/N] [-l] | -r CASE | -v FD | -L FD | -J FD\n");
			return 2;
		}
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self[n] = 0;
	for (int i = 0; i < ncases; i++) {
		bool want = npats == 0;

		for (int j = 0; j < npats && !want; j++)
			want = fnmatch(pats[j], cases[i].name, 0) == 0;
		if (!want || matched++ % nshards != shard)
			continue;
		if (list)
			printf("%s\n", cases[i].name);
		else
			drive(&cases[i], self, preload);
	}
	return 0;
}
