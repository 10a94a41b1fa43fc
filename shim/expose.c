/*
 * Exposure (issue 15): a stack socket that the program can reach outside the
 * interposed calls gets a live kernel fd.
 *
 * Every stack socket's fd is a placeholder: an unconnected kernel socket of
 * the same kind. What reaches it without passing through the interposed
 * functions (stdio's internal write() after fdopen() or a dup2() onto 0, 1
 * or 2; a child that execs a static binary, a program without the preload or
 * one that clears its environment; a raw system call) meets that unconnected
 * socket. At the moment the socket is exposed, each of its fds becomes one
 * end of a Unix socket pair (stream for TCP, seqpacket for UDP), and the
 * host's relay (stack/host/relay.h) gets the other end and the connection.
 * From then on one path owns the socket's data, the kernel fd's: the
 * interposed data, readiness and shutdown calls pass through to it, so
 * bytes keep their order whoever reads or writes them. What the stack had
 * received and nobody read yet is the first thing the relay hands over.
 *
 * When: a dup2/dup3 onto 0, 1 or 2 (shim_dup3), fdopen() and a posix_spawn
 * file action on it (shim_expose), posix_spawn() for every socket with an fd
 * a child keeps across exec, fork() for every socket (the child may use any
 * of its copies: shim_expose_inherited). Only a connected socket or a
 * listener is exposed (a socket not connected yet keeps its placeholder). A
 * listener's fd becomes a channel: the relay sends each connection over it
 * as a connected socket's fd of its own, which accept() in any process that
 * holds the listener receives (shim_accept4) and gives an exposed entry
 * (shim_adopt). The cost is the relay's, and only for the sockets exposed:
 * the others are not touched.
 *
 * A raw system call cannot be seen, but its effect on a live fd can. A UDP
 * socket connected to a stack address is armed (shim_arm): its fd is the
 * pair's end at once, the relay only watching the other end, while the
 * interposed calls keep serving it from the stack as before. The first
 * datagram the program writes through the kernel (BIND 9's libuv sends with
 * a raw sendmmsg) reaches the relay, which sends it and exposes the socket
 * then (expose_now). A connected UDP socket pays a socket pair at connect()
 * and nothing per datagram until then.
 *
 * The options stay the stack's and the original placeholder's (kept hidden,
 * kfd), answered through the interposed calls only.
 */
#include "shim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/dev/sysc.h"
#include "stack/host/relay.h"

/* One exposure at a time: two threads exposing one socket would each give
 * it a relay. Exposure is rare (a dup2, a fork, a UDP connect). */
static pthread_mutex_t expose_mu = PTHREAD_MUTEX_INITIALIZER;

/* Stack lock held: k is a TCP listener, whose connections a relay can hand
 * over a channel (stack/host/relay.h). */
static bool listener(struct shim_sock *k)
{
	return !k->closed && !k->dead && k->listening && k->tcp && tcp_get_state(k->tcp) == TCP_STATE_LISTEN;
}

/* Stack lock held: k is connected (TCP past its handshake, UDP with a
 * peer), so a relay can serve its fd. */
static bool connected(struct shim_sock *k)
{
	struct ip4_endpoint peer;

	if (k->closed || k->dead || k->listening)
		return false;
	if (k->tcp) {
		switch (tcp_get_state(k->tcp)) {
		case TCP_STATE_ESTABLISHED:
		case TCP_STATE_FIN_WAIT_1:
		case TCP_STATE_FIN_WAIT_2:
		case TCP_STATE_CLOSE_WAIT:
		case TCP_STATE_CLOSING:
		case TCP_STATE_LAST_ACK:
			return true;
		case TCP_STATE_TIME_WAIT:
		case TCP_STATE_CLOSED:
			/* Ended after it was established (both FINs, a reset):
			 * Linux's child reads its end and fails to send. */
			return k->ss == SHIM_SS_CONNECTED && tcp_ended(k->tcp);
		default:
			return false;
		}
	}
	return k->udp && udp_peer(k->udp, &peer) == 0;
}

/* Stack lock held: k's connection is still being made (a non-blocking
 * connect); a relay can serve it once it is (relay.h, relay_share). */
static bool connecting(struct shim_sock *k)
{
	if (k->closed || k->dead || k->listening || !k->tcp)
		return false;
	return tcp_connecting(k->tcp);
}

/* Stack lock held: what k is now, kept for the processes that answer
 * without its stack object (internal.h: local, peer, the buffer sizes). */
static void snapshot(struct shim_sock *k)
{
	struct ip4_endpoint ep = { 0, 0 };
	int v;

	if (k->tcp) {
		tcp_local(k->tcp, &k->local);
		/* In SYN_SENT too: where it goes (peer_of answers it once the
		 * share says connected). */
		if (tcp_peer(k->tcp, &ep) == 0 || tcp_peer_kept(k->tcp, &ep) == 0)
			k->peer = ep;
		if (tcp_getopt(k->tcp, TCP_OPT_SO_RCVBUF, &v) == 0)
			k->ex_rcvbuf = v;
		if (tcp_getopt(k->tcp, TCP_OPT_SNDBUF, &v) == 0)
			k->ex_sndbuf = v;
	} else if (k->udp) {
		udp_local(k->udp, &k->local);
		if (udp_peer(k->udp, &ep) == 0)
			k->peer = ep;
		k->ex_rcvbuf = (int)udp_get_rcvbuf(k->udp);
	}
}

/* The relay has closed the connection (lock held). */
static void expose_gone(void *ctx)
{
	struct shim_sock *k = ctx;

	k->relay = NULL;
	/* Atomic: sock_free reads them without the lock (its check before it
	 * takes the lock). */
	__atomic_store_n(&k->tcp, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&k->udp, NULL, __ATOMIC_RELEASE);
	k->share = NULL;    /* the relay's, gone with it */
}

/* relay_open takes the shared state make_live made (lock held). */
static struct relay_share *expose_share(void *ctx)
{
	struct shim_sock *k = ctx;

	return k->share;
}

/* Stack lock held: from now on k's data is the kernel fd's. Its epoll
 * registrations are taken off the stack's lists (for the kernel's epoll,
 * once the lock is let go), and threads blocked on it re-check: they pass
 * through now. */
static struct shim_epitem *mark_exposed(struct shim_sock *k)
{
	atomic_store_explicit(&k->exposed, true, memory_order_release);
	shim_wq_wake(&k->wq);
	return shim_epoll_take_sock(k);
}

/* An armed relay saw the program write through the fd (lock held, in the
 * stack thread). */
static void *expose_now(void *ctx)
{
	return mark_exposed(ctx);
}

/* Then, without the lock. */
static void expose_after(void *taken)
{
	shim_epoll_to_kernel(taken, -1);
}

static const struct relay_cb expose_cb = {
	.gone = expose_gone,
	.exposed = expose_now,
	.after = expose_after,
	.share = expose_share,
};

/*
 * Under expose_mu, stack lock held, before the relay takes the connection:
 * what was received and not read yet goes into the pair at once (as much as
 * its buffer takes; the relay moves the rest), and the end of the stream
 * after it (the relay's rx_end: end of file, and after a reset failed
 * writes too), so that the fd shows them the moment it is exposed, as the
 * kernel's socket does (a fork child's FIONREAD, poll or non-blocking read
 * right after the fork).
 */
static void prime_pair(struct tcp_conn *c, int fd)
{
	static char buf[16384];
	int off = -1;

	/* A peek offset (SO_PEEK_OFF) would have the peeks below start past
	 * the first byte: the relay moves them all then. */
	if (tcp_getopt(c, TCP_OPT_PEEK_OFF, &off) == 0 && off > 0)
		return;
	for (;;) {
		long n = tcp_recv(c, buf, sizeof(buf), SOCK_PEEK, shim_now()), w;

		if (n == 0 || (n < 0 && n != -EAGAIN))
			(void)sys_shutdown(fd, n == 0 ? SHUT_WR : SHUT_RDWR);
		if (n <= 0)
			return;
		w = sys_sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
		if (w <= 0)
			return;
		(void)tcp_recv(c, buf, (size_t)w, SOCK_DISCARD, shim_now());
		if (w < n)
			return;
	}
}

/*
 * Under expose_mu, no lock held: k's fds become one end of a new socket
 * pair, and a relay gets the other end and k's stack object (serving it at
 * once, or armed). The stack lock is taken to hand it over; true when done.
 */
static bool make_live(struct shim_sock *k, bool armed, bool handshake)
{
	int sv[2] = { -1, -1 }, kfd = -1, fd0, fl, lo = -1;
	unsigned shut = 0;
	struct shim_epitem *moved = NULL;
	struct relay_share *sh = NULL, *old = NULL;
	void *rl = NULL;

	fd0 = shim_first_fd(&k->obj);
	if (fd0 < 0)
		return false;
	/* A listener's loopback side (sock.c, lo_listen) goes to its relay,
	 * which hands its connections over the channel with the stack's
	 * (relay_listener_lo): out of the program's epolls first, where the
	 * channel stands for both from now on. */
	if ((k->listening || k->framed) && (lo = atomic_exchange(&k->lo_fd, -1)) >= 0)
		shim_epoll_lo_removed(k, lo);
	/* From the first relay on, a default SIGTERM/SIGINT/SIGHUP hands the
	 * relays to a keeper before the process dies of it. */
	shim_guard_arm_registered();
	/* Everything the kernel needs before the swap, without the lock. */
	/* A listener's fd becomes a channel of connections (SOCK_SEQPACKET,
	 * like a UDP socket's: a message per connection, and the last
	 * holder's close seen). */
	if (sys_socketpair(AF_UNIX, (k->type == SOCK_STREAM && !k->listening ? SOCK_STREAM : SOCK_SEQPACKET) |
			   SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	/* Before the first fork that exposes anything: the region of shared
	 * connection state every later child sees (relay.h). A TCP
	 * connection gets its share: the options a process without it sets;
	 * a framed UDP socket too: its association (sock.c, framed_connect). */
	(void)relay_share_init();
	if ((k->type == SOCK_STREAM && !k->listening && !armed) || k->framed)
		sh = relay_share_new();
	if (handshake) {
		/* Not writable until the connection is made, as a kernel
		 * socket in SYN_SENT: the program's end is filled up first
		 * (relay_share's filler), and the relay reads it away then. */
		static const char filler[16384];
		long n;

		if (!sh)
			goto out;
		while ((n = sys_sendto(sv[0], filler, sizeof(filler), MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0)) > 0)
			sh->filler += (size_t)n;
	}
	/* What shutdown() shut before: the program's end too, as an exposed
	 * socket's shutdown() shuts it (a send is EPIPE, a read of nothing
	 * more is end of file; the relay sees the end and holds the rest). */
	shim_lock();
	if (k->tcp && !k->listening)
		shut = tcp_shut_how(k->tcp);
	shim_unlock();
	if (shut && sys_shutdown(sv[0], shut == 3 ? SHUT_RDWR : shut == 2 ? SHUT_WR : SHUT_RD) < 0)
		goto out;
	/* The timeouts set on the socket: its fd's blocking reads and
	 * writes wait that long (the pair's end is the fd from now on). */
	for (int i = 0; i < 2; i++) {
		struct timeval tv;
		socklen_t tl = sizeof(tv);
		int o = i ? SO_SNDTIMEO : SO_RCVTIMEO;

		if (shim_libc.getsockopt(fd0, SOL_SOCKET, o, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
			(void)shim_libc.setsockopt(sv[0], SOL_SOCKET, o, &tv, tl);
	}
	kfd = shim_libc.fcntl(fd0, F_DUPFD_CLOEXEC, 0);
	fl = shim_libc.fcntl(fd0, F_GETFL);
	if (kfd < 0 || fl < 0 || shim_libc.fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0 ||
	    ((fl & O_NONBLOCK) && shim_libc.fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0))
		goto out;
	/* Ours, kept high and out of the program's reach (close() of them
	 * answers 0), like the stack's own fds. The options go to the
	 * placeholder from before the swap on. */
	kfd = sys_fd_hide(kfd);
	sv[1] = sys_fd_hide(sv[1]);
	atomic_store(&k->kfd, kfd);
	if (shim_swap_file(&k->obj, sv[0]) == 0)
		goto out;   /* every fd closed meanwhile */
	shim_libc.close(sv[0]);
	sv[0] = -1;
	shim_lock();
	/* Attached still (an exit may have closed it meanwhile). A failed
	 * connect's share (share_failed) gives way to the relay's. */
	if (k->fail_share) {
		old = k->share;
		k->fail_share = false;
	}
	k->share = sh;
	if (sh && k->framed)
		atomic_store(&sh->dgram_cmsgs, k->rx_cmsgs);    /* sock.c, framed_cmsgs */
	if (!k->dead && !k->relay && k->tcp && !k->listening && !armed && !(shut & 1))
		prime_pair(k->tcp, sv[1]);
	if (!k->dead && !k->relay && (k->tcp || k->udp))
		rl = shim_host.relay_open(shim_host.ctx, k->tcp, k->udp, sv[1], armed, &expose_cb, k);
	if (rl) {
		if (lo >= 0 && shim_host.relay_lo) {
			shim_host.relay_lo(shim_host.ctx, rl, lo, k->family);
			lo = -1;
		}
		snapshot(k);
		k->relay = rl;
		if (!armed)
			moved = mark_exposed(k);
		sv[1] = kfd = -1;   /* the relay's, and the socket's */
		sh = NULL;
	} else {
		k->share = NULL;
	}
	shim_unlock();
	shim_epoll_to_kernel(moved, fd0);
	/* Without a relay (out of memory, or the process exits), the fds stay
	 * the pair's: the program sees the end of the stream. */
out:
	if (sv[0] >= 0)
		shim_libc.close(sv[0]);
	if (sv[1] >= 0) {
		sys_fd_forget(sv[1]);
		shim_libc.close(sv[1]);
	}
	if (kfd >= 0) {
		atomic_store(&k->kfd, -1);
		sys_fd_forget(kfd);
		shim_libc.close(kfd);
	}
	relay_share_free(sh);
	relay_share_free(old);
	/* No relay (or no host that takes it): localhost is refused, as
	 * before the loopback side existed. */
	shim_lo_close(lo);
	return rl != NULL;
}

void shim_expose_sock(struct shim_sock *k)
{
	struct shim_epitem *moved = NULL;
	bool live = false, handshake = false;

	if (!shim_host.relay_open || shim_proc_state() != SHIM_PROC_OWNER || shim_exposed(k))
		return;
	pthread_mutex_lock(&expose_mu);
	shim_lock();
	if (k->relay && !shim_exposed(k)) {
		/* Armed already: the relay serves it from now on. */
		shim_host.relay_expose(shim_host.ctx, k->relay);
		snapshot(k);
		moved = mark_exposed(k);
		live = true;
	} else if ((!connected(k) && !listener(k) && !(handshake = connecting(k))) || shim_exposed(k)) {
		live = true;    /* nothing to do */
	}
	shim_unlock();
	shim_epoll_to_kernel(moved, -1);
	if (!live)
		(void)make_live(k, false, handshake);
	pthread_mutex_unlock(&expose_mu);
}

void shim_arm(struct shim_sock *k)
{
	bool ok;

	if (!shim_host.relay_open || shim_proc_state() != SHIM_PROC_OWNER)
		return;
	pthread_mutex_lock(&expose_mu);
	shim_lock();
	ok = !k->relay && !shim_exposed(k) && k->type == SOCK_DGRAM && connected(k);
	shim_unlock();
	if (ok)
		(void)make_live(k, true, false);
	pthread_mutex_unlock(&expose_mu);
}

void shim_expose(int fd)
{
	struct shim_sock *k;

	if (!shim_owns(fd) || shim_proc_state() != SHIM_PROC_OWNER)
		return;
	k = shim_get_sock(fd);
	if (!k)
		return;
	shim_expose_sock(k);
	shim_put(&k->obj);
}

/*
 * After an interposed write into an exposed TCP socket's fd (it went to
 * the kernel fd: the pair): while the program has made no other process
 * (relay_solo_now), the writing thread takes the bytes out of the relay's
 * end and sends them itself, instead of leaving them to the stack thread
 * (a hand-off and a wakeup later). The stack thread, woken by the same
 * bytes, finds them taken (the relay's claim: stack/host/relay.h).
 */
void shim_exposed_wrote(int fd)
{
	struct shim_sock *k;
	void *rl = NULL;

	if (!shim_host.relay_push_claim || !relay_solo_now() || !shim_owns(fd) ||
	    shim_proc_state() != SHIM_PROC_OWNER)
		return;
	k = shim_get_sock(fd);
	if (!k)
		return;
	shim_lock();
	if (!k->dead && k->tcp && k->relay && shim_exposed(k) && shim_host.relay_push_claim(shim_host.ctx, k->relay))
		rl = k->relay;
	shim_unlock();
	shim_put(&k->obj);
	if (!rl)
		return;
	/* Claimed: the relay stays until relay_push_send lets go of it. */
	shim_host.relay_push_read(shim_host.ctx, rl);
	shim_lock();
	shim_host.relay_push_send(shim_host.ctx, rl);
	shim_unlock();
}

/*
 * After an interposed read of an exposed TCP socket's fd that found the end
 * of file: when the program shut its end down for reading (shutdown(SHUT_RD)
 * passes through to the pair, whose end then reads the end of file once
 * empty, and which the relay can write no more), what the connection
 * received since stays in the relay. Linux's recv after SHUT_RD still
 * returns it (tcp_recvmsg ends a read at RCV_SHUTDOWN only when nothing is
 * queued): the process that serves the relay takes it here, into the
 * first buffer that has room (a short read, as TCP's may be). A read by a
 * raw system call, or in another process, still finds the end of file.
 */
#define KEPT_MAX 65536

/* No lock: the relay said -EAGAIN (the stack thread or a pump moves its
 * bytes: a few system calls, without the lock); false once that lasted a
 * second, which it never does. */
static bool kept_retry(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	if ((t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec) > 1000000000L)
		return false;
	sched_yield();
	return true;
}

ssize_t shim_exposed_read_end(int fd, const struct iovec *iov, int cnt, int flags)
{
	struct timespec t0;
	struct shim_sock *k;
	struct iovec one = { 0 };
	unsigned sf = (flags & MSG_PEEK ? SOCK_PEEK : 0) | (flags & MSG_TRUNC ? SOCK_DISCARD : 0);
	char *buf;
	long n;

	if (!shim_host.relay_recv_kept || (flags & (MSG_OOB | MSG_ERRQUEUE)) || !shim_owns(fd) ||
	    shim_proc_state() != SHIM_PROC_OWNER)
		return 0;
	for (int i = 0; i < cnt && !one.iov_len; i++)
		if (shim_copy(&one, &iov[i], sizeof(one)))
			return -EFAULT;
	if (!one.iov_len)
		return 0;
	k = shim_get_sock(fd);
	if (!k)
		return 0;
	if (!shim_exposed(k) || k->type != SOCK_STREAM || !(buf = malloc(KEPT_MAX))) {
		shim_put(&k->obj);
		return 0;
	}
	if (one.iov_len > KEPT_MAX)
		one.iov_len = KEPT_MAX;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		shim_lock();
		n = k->relay && k->tcp ? shim_host.relay_recv_kept(shim_host.ctx, k->relay, buf, one.iov_len, sf, shim_now())
				       : 0;
		shim_unlock();
		if (n != -EAGAIN)
			break;
		if (!kept_retry(&t0)) {
			n = 0;
			break;
		}
	}
	if (n > 0 && !(sf & SOCK_DISCARD) && shim_copy(one.iov_base, buf, (size_t)n))
		n = -EFAULT;
	free(buf);
	shim_put(&k->obj);
	return n;
}

int shim_exposed_inq(int fd, int *arg)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	struct timespec t0, zero = { 0, 0 };
	struct shim_sock *k;
	long n;
	int v;

	if (!shim_host.relay_inq_kept || !shim_owns(fd) || shim_proc_state() != SHIM_PROC_OWNER)
		return 0;
	k = shim_get_sock(fd);
	if (!k)
		return 0;
	/* Only once the program's end reads no more: until then what the
	 * relay holds is on its way into the fd, which counts it then. */
	if (!shim_exposed(k) || k->type != SOCK_STREAM || sys_ppoll(&p, 1, &zero, NULL) != 1 ||
	    !(p.revents & POLLRDHUP)) {
		shim_put(&k->obj);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		shim_lock();
		n = k->relay && k->tcp ? shim_host.relay_inq_kept(shim_host.ctx, k->relay) : 0;
		shim_unlock();
	} while (n == -EAGAIN && kept_retry(&t0));
	shim_put(&k->obj);
	if (n <= 0)
		return 0;
	if (shim_copy(&v, arg, sizeof(v)))
		return -EFAULT;
	v = n > INT32_MAX - v ? INT32_MAX : v + (int)n;
	return shim_copy(arg, &v, sizeof(v));
}

/*
 * A bound UDP socket that is not connected, which a fork child inherits
 * (issue 14: a UDP server's workers share its socket): its fd becomes a
 * framed relay's end (relay.h, struct relay_dgram_hdr), which the
 * interposed calls of every process holding it read and write with each
 * datagram's address (shim/sock.c, framed_recv, framed_send). Its loopback
 * side (sock.c, lo_udp) goes to the relay with it.
 */
static void expose_dgram(int fd)
{
	struct shim_sock *k = shim_get_sock(fd);
	bool want;

	if (!k)
		return;
	/* Never bound: Linux's child would bind it with its first send, for
	 * both processes; it is bound now, to be shared like one bound. */
	(void)shim_dgram_autobind(k);
	pthread_mutex_lock(&expose_mu);
	shim_lock();
	want = !shim_exposed(k) && !k->relay && !k->join && k->type == SOCK_DGRAM && k->udp && !k->closed &&
	       !k->dead && !connected(k);
	if (want)
		k->framed = true;
	shim_unlock();
	/* (make_live hands its loopback side to the relay.) */
	if (want && !make_live(k, false, false)) {
		shim_lock();
		k->framed = false;
		shim_unlock();
	}
	pthread_mutex_unlock(&expose_mu);
	shim_put(&k->obj);
}

void shim_expose_dgram(int fd)
{
	if (!shim_host.relay_open || shim_proc_state() != SHIM_PROC_OWNER || !shim_owns(fd))
		return;
	expose_dgram(fd);
}

/* Stack lock held: k is a TCP socket whose connect failed (refused, timed
 * out, unreachable) and that connect() has not answered since: Linux's
 * SS_CONNECTING in CLOSE, a non-blocking connect's end. */
static bool failed(struct shim_sock *k)
{
	return !k->closed && !k->dead && !k->listening && k->type == SOCK_STREAM && k->tcp && !k->relay &&
	       !k->share && !shim_exposed(k) && k->ss == SHIM_SS_CONNECTING &&
	       tcp_get_state(k->tcp) == TCP_STATE_CLOSED;
}

/*
 * A TCP socket whose non-blocking connect failed, which a fork child
 * inherits: Linux's child holds the same socket, polls it hung up (in error
 * while the error waits), reads the error from SO_ERROR once for both
 * processes, and connects it again (ECONNABORTED first once the error was
 * taken). Nothing to relay: the error moves to a share both processes see
 * (relay.h: err), and the child's copy is its own from then on, a
 * placeholder its connect() makes a joiner's connection of (shim_fork_child,
 * shim/join.c), as a new socket a child makes.
 */
static void share_failed(int fd)
{
	struct shim_sock *k = shim_get_sock(fd);
	struct relay_share *sh = NULL;
	bool want;

	if (!k)
		return;
	shim_lock();
	want = failed(k);
	shim_unlock();
	if (want)
		sh = relay_share_new();
	if (sh) {
		shim_lock();
		if (failed(k)) {
			int e = tcp_take_error(k->tcp);

			atomic_store(&sh->err, e);
			atomic_store(&sh->conn, e ? e : -ECONNABORTED);
			k->share = sh;
			k->fail_share = true;
			sh = NULL;
		}
		shim_unlock();
		relay_share_free(sh);
	}
	shim_put(&k->obj);
}

void shim_expose_inherited(bool all, bool dgrams)
{
	if (!shim_host.relay_open || shim_proc_state() != SHIM_PROC_OWNER)
		return;
	for (int fd = shim_next_sock_fd(0); fd >= 0; fd = shim_next_sock_fd(fd + 1)) {
		int fl = all ? 0 : shim_libc.fcntl(fd, F_GETFD);

		/* A child keeps it across exec; a fork child also uses its
		 * copies itself, close-on-exec or not. */
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			shim_expose(fd);
		if (dgrams) {
			expose_dgram(fd);
			share_failed(fd);
		}
	}
}

/*
 * exec (issue 14). An image exec'd with exposed sockets (sshd's re-exec with
 * the accepted socket, socat's EXEC, inetd) keeps their live kernel fds but
 * not the shim's memory: its getsockname() would meet the Unix socket. The
 * interposed exec functions put a note of them in the new image's
 * environment (shim_exec_note: preload.c's PSTACK_EXPOSED); the new
 * library reads it at start and rebuilds the entries (shim_exec_adopt),
 * each with a new placeholder for the options, for the fds that are still
 * the same files (st_dev, st_ino: a shell may have replaced one meanwhile).
 * One entry per fd: fd, family, type, listening (2: a framed UDP socket's),
 * local and peer address and
 * port (hex, host order), receive and send buffer sizes, st_dev, st_ino.
 */
#define NOTE_FMT "%d,%d,%d,%d,%x,%x,%x,%x,%d,%d,%llx,%llx;"

size_t shim_exec_note(char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	/* Reads only (a vfork child may call it): atomic loads of the
	 * table, and what an exposed socket kept, set before exposed. */
	for (int fd = shim_next_sock_fd(0); fd >= 0; fd = shim_next_sock_fd(fd + 1)) {
		struct shim_sock *k = shim_get_sock(fd);
		struct stat st;
		int fl, n;

		if (!k)
			continue;
		fl = shim_libc.fcntl(fd, F_GETFD);
		if (shim_exposed(k) && fl >= 0 && !(fl & FD_CLOEXEC) && sys_fstat(fd, &st) == 0) {
			n = snprintf(buf + used, len - used, NOTE_FMT, fd, k->family, k->type,
				     k->listening ? 1 : k->framed ? 2 : 0,
				     k->local.addr, k->local.port, k->peer.addr, k->peer.port, k->ex_rcvbuf,
				     k->ex_sndbuf, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
			if (n < 0 || (size_t)n >= len - used)
				buf[used] = '\0';   /* no room: the ones noted so far */
			else
				used += (size_t)n;
		}
		shim_put(&k->obj);
	}
	return used;
}

/* An exposed entry for fd, a live kernel fd of a socket made elsewhere (a
 * note from before exec, or a connection handed over a listener's channel),
 * with a new placeholder for the options. 0 or -errno. */
int shim_adopt(int fd, const struct shim_exposed_note *n)
{
	struct shim_sock *k;
	int kfd, fl;

	kfd = shim_libc.socket(n->family, n->type | SOCK_CLOEXEC, 0);
	if (kfd < 0)
		return -errno;
	fl = shim_libc.fcntl(fd, F_GETFL);
	k = shim_sock_new(n->family, n->type, fl >= 0 && (fl & O_NONBLOCK));
	if (!k) {
		shim_libc.close(kfd);
		return -ENOMEM;
	}
	k->local = n->local;
	k->peer = n->peer;
	k->ex_rcvbuf = n->rcvbuf;
	k->ex_sndbuf = n->sndbuf;
	k->listening = n->listening;
	k->framed = n->framed;
	/* A framed socket's address is bind()'s when it has one (Linux's
	 * SOCK_BINDADDR_LOCK: getsockname shows it); 0.0.0.0, the source an
	 * association chooses (sock.c, framed_src). */
	k->addr_locked = n->framed && n->local.addr != 0;
	k->bound = true;
	if (n->type == SOCK_STREAM && !n->listening)
		k->ss = SHIM_SS_CONNECTED;
	if (n->opts)
		k->opts = *n->opts;
	k->share = n->share;
	if (n->connecting && n->type == SOCK_STREAM && !n->listening) {
		/* How it went, the fd tells (join.c, pass_settle). */
		k->ss = SHIM_SS_CONNECTING;
		k->pass_peer = n->peer;
		k->peer = (struct ip4_endpoint){ 0, 0 };
		k->pass_sndbuf = n->sndbuf;
		k->ex_sndbuf = 0;
		atomic_store(&k->pass_connecting, true);
	} else if (n->err && n->type == SOCK_STREAM && !n->listening) {
		k->ss = SHIM_SS_UNCONNECTED;
		k->err = n->err;
		atomic_store(&k->pass_failed, true);
	}
	atomic_store(&k->kfd, sys_fd_hide(kfd));
	atomic_store_explicit(&k->exposed, true, memory_order_release);
	/* fd is the kernel's new one: an entry left at its number was closed
	 * with the C library's own close (exim's daemon fclose()s its
	 * fdopen()'d copies of each connection it forked a child for), and
	 * the next connection's fd reuses the number. */
	if (shim_install_fresh(fd, &k->obj) < 0) {
		kfd = atomic_load(&k->kfd);
		sys_fd_forget(kfd);
		shim_libc.close(kfd);
		free(k);
		return -EEXIST;
	}
	return 0;
}

/*
 * A listener that no connection can reach any more: a Unix socket listening
 * on an abstract name of its own (autobind) that nobody is told. One per
 * process, made at the first orphaned accept, ours (hidden, close-on-exec).
 */
static pthread_once_t orphan_once = PTHREAD_ONCE_INIT;
static int orphan_fd = -1;

static void orphan_make(void)
{
	struct sockaddr_un any = { .sun_family = AF_UNIX };
	int fd = (int)sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	/* Binding just the family autobinds a fresh abstract name. */
	if (sys_bind(fd, &any, sizeof(sa_family_t)) < 0 || SYSC(SYS_listen, fd, 0) < 0) {
		(void)sys_close(fd);
		return;
	}
	orphan_fd = sys_fd_hide(fd);
}

int shim_accept_orphan(int fd, bool nonblock, uint64_t rcvtimeo_us)
{
	static atomic_bool warned;

	if (!atomic_exchange(&warned, true))
		log_warn("accept() on fd %d: the listener's stack is gone (its process or keeper ended); "
			 "no connection will come", fd);
	if (nonblock)
		return -EAGAIN;
	pthread_once(&orphan_once, orphan_make);
	if (orphan_fd < 0)
		return -ENOMEM;
	if (rcvtimeo_us) {
		/* Linux's accept with SO_RCVTIMEO: EAGAIN at the end, EINTR on a
		 * signal (never restarted). */
		struct pollfd p = { .fd = orphan_fd, .events = POLLIN };
		struct timespec ts = { (time_t)(rcvtimeo_us / 1000000), (long)(rcvtimeo_us % 1000000) * 1000 };
		long r = sys_ppoll(&p, 1, &ts, NULL);

		return r < 0 ? (int)r : -EAGAIN;
	}
	/* The kernel's own blocking accept: its signals, its SA_RESTART. It
	 * returns only on a signal without SA_RESTART. */
	for (;;) {
		long r = SYSC(SYS_accept4, orphan_fd, NULL, NULL, SOCK_CLOEXEC);

		if (r < 0)
			return (int)r;
		(void)sys_close((int)r);    /* someone found the name: not a connection of this listener */
	}
}

/*
 * A stack socket passed over a Unix socket (SCM_RIGHTS: Node's cluster
 * primary hands each connection to a worker, dante's processes hand
 * clients to each other). The receiver gets the live kernel fd, the pair's
 * end, and nothing else of the socket: its getpeername() would meet the
 * Unix socket. So the sender names the pair's end, an abstract Unix address
 * that carries what the receiver's entry needs (shim_name_passed), and the
 * receiver's interposed recvmsg() reads it back (shim_adopt_passed): the
 * kernel keeps the name with the socket, whoever holds it, exec'd or
 * unrelated. The name: PASS_PREFIX, the socket's inode (unique among live
 * sockets, so two names never collide), then family, type, kind (1 a
 * listener's channel, 2 a framed UDP socket's, 3 a joiner's connect under
 * way, whose peer is where it goes and whose send buffer is the one the
 * pair end gets back once connected: join.c; 4 a joiner's connect that
 * failed, the error in the receive buffer's place), local and peer address and
 * port (hex, host order), the buffer sizes, the share region's mark and the
 * connection's share in it (relay.h: only a process of the same region uses
 * it). `ss -xa` shows it.
 */
#define PASS_PREFIX "pstack/"
#define PASS_FMT "%llx/%d,%d,%d,%x,%x,%x,%x,%d,%d,%llx,%d"

/*
 * A TCP socket whose non-blocking connect failed, its error not taken
 * yet, passed over SCM_RIGHTS: the receiver gets a placeholder of its own
 * otherwise (an unconnected kernel socket, no error). Its fd becomes the
 * end of a pair whose other end is gone with a byte unread (the kernel's
 * mark of error on the end left: POLLERR with the hang-up, as the failed
 * socket polls), named with the error (kind 4, as a joiner's failed
 * connect), which moves to the receiver: the process the socket was
 * handed to is the one that asks (dante's io child). Deviation: Linux's
 * one socket gives the error to whichever process asks first; here the
 * sender's copy answers 0 from the pass on. Its placeholder keeps the
 * options. 0 when done, -errno.
 */
static int expose_failed(struct shim_sock *k, int *err)
{
	struct shim_epitem *moved;
	int sv[2] = { -1, -1 }, fd0 = shim_first_fd(&k->obj), kfd = -1, e = 0, fl;
	bool want;

	*err = 0;
	shim_lock();
	want = failed(k);
	shim_unlock();
	if (!want || fd0 < 0)
		return 0;
	if (sys_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -ENOBUFS;
	fl = shim_libc.fcntl(fd0, F_GETFL);
	if (sys_sendto(sv[0], "", 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0) != 1 || fl < 0 ||
	    ((fl & O_NONBLOCK) && shim_libc.fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0))
		goto out;
	sys_close(sv[1]);
	sv[1] = -1;
	if (atomic_load(&k->kfd) < 0) {
		kfd = shim_libc.fcntl(fd0, F_DUPFD_CLOEXEC, 0);
		if (kfd < 0)
			goto out;
	}
	shim_lock();
	if (failed(k))
		e = tcp_take_error(k->tcp);
	if (e && kfd >= 0) {
		atomic_store(&k->kfd, sys_fd_hide(kfd));
		kfd = -1;
	}
	shim_unlock();
	if (!e || shim_swap_file(&k->obj, sv[0]) == 0)
		goto out;
	shim_lock();
	/* Unconnected, as Linux's failed socket is once its error is taken. */
	k->ss = SHIM_SS_UNCONNECTED;
	atomic_store(&k->pass_failed, true);
	atomic_store_explicit(&k->exposed, true, memory_order_release);
	shim_wq_wake(&k->wq);
	moved = shim_epoll_take_sock(k);
	shim_unlock();
	shim_epoll_to_kernel(moved, -1);
	*err = e;
	e = 0;
out:
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			sys_close(sv[i]);
	if (kfd >= 0)
		shim_libc.close(kfd);
	return e;
}

void shim_name_passed(int fd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ip4_endpoint peer;
	struct shim_sock *k;
	bool connecting;
	struct stat st;
	uint64_t tag;
	int n, failed, share, moved_err = 0;

	if (!shim_owns(fd))
		return;
	k = shim_get_sock(fd);
	if (!k)
		return;
	if (shim_proc_state() == SHIM_PROC_OWNER && !shim_exposed(k) && k->tcp) {
		pthread_mutex_lock(&expose_mu);
		(void)expose_failed(k, &moved_err);
		pthread_mutex_unlock(&expose_mu);
	}
	/* A joiner's connect answered by now: taken in first. */
	if (shim_join_pending(k))
		shim_join_settle(k);
	shim_lock();
	connecting = shim_join_pending(k) && k->ss == SHIM_SS_CONNECTING;
	/* Or failed already: the receiver's SO_ERROR tells (one socket). */
	failed = k->join && !connecting && k->ss == SHIM_SS_UNCONNECTED && k->err < 0 ? -k->err : 0;
	if (moved_err)
		failed = -moved_err;
	peer = connecting ? k->pass_peer : k->peer;
	/* The share goes with its relay (expose_gone, under the lock). */
	tag = k->share ? relay_share_tag() : 0;
	share = relay_share_index(k->share);
	shim_unlock();
	/* What an exposed socket kept was set before it was marked exposed
	 * (snapshot), as shim_exec_note reads it. */
	if (shim_exposed(k) && (k->family == AF_INET || k->family == AF_INET6) && sys_fstat(fd, &st) == 0) {
		n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, PASS_PREFIX PASS_FMT,
			     (unsigned long long)st.st_ino, k->family, k->type,
			     k->listening ? 1 : k->framed ? 2 : connecting ? 3 : failed ? 4 : 0, k->local.addr,
			     k->local.port, peer.addr, peer.port, failed ? failed : k->ex_rcvbuf,
			     connecting ? k->join_sndbuf : k->ex_sndbuf,
			     (unsigned long long)tag, share);
		/* Named once: an earlier pass (EINVAL now) or a name too long
		 * for the address (never: 107 bytes hold the widest). */
		if (n > 0 && (size_t)n < sizeof(a.sun_path) - 1)
			(void)sys_bind(fd, &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n));
	}
	shim_put(&k->obj);
}

void shim_adopt_passed(int fd)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	char name[sizeof(a.sun_path) + 1];
	struct shim_exposed_note n = { 0 };
	unsigned la, lp, pa, pp;
	unsigned long long ino, tag;
	int kind, share, used = 0;
	struct stat st;
	size_t l;

	if (shim_owns(fd) || sys_getsockname(fd, &a, &len) < 0 || a.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path) + 1 || a.sun_path[0] != '\0')
		return;
	l = len - offsetof(struct sockaddr_un, sun_path) - 1;
	memcpy(name, a.sun_path + 1, l);
	name[l] = '\0';
	if (strncmp(name, PASS_PREFIX, strlen(PASS_PREFIX)) != 0 ||
	    sscanf(name + strlen(PASS_PREFIX), PASS_FMT "%n", &ino, &n.family, &n.type, &kind, &la, &lp, &pa, &pp,
		   &n.rcvbuf, &n.sndbuf, &tag, &share, &used) != 12 ||
	    name[strlen(PASS_PREFIX) + (size_t)used] != '\0')
		return;
	/* Some other program's name of that form: not a pair's end of ours
	 * unless the inode is the socket's own. */
	if (sys_fstat(fd, &st) < 0 || (unsigned long long)st.st_ino != ino)
		return;
	if ((n.family != AF_INET && n.family != AF_INET6) || (n.type != SOCK_STREAM && n.type != SOCK_DGRAM) ||
	    kind < 0 || kind > 4)
		return;
	n.listening = kind == 1;
	n.framed = kind == 2;
	n.connecting = kind == 3;
	if (kind == 4) {
		if (n.rcvbuf <= 0 || n.rcvbuf > 4095)
			return;
		n.err = -n.rcvbuf;
		n.rcvbuf = 0;
	}
	n.local = (struct ip4_endpoint){ la, (uint16_t)lp };
	n.peer = (struct ip4_endpoint){ pa, (uint16_t)pp };
	if (tag && tag == relay_share_tag())
		n.share = relay_share_at(share);
	if (shim_adopt(fd, &n) == 0)
		shim_join_passed();
}

void shim_exec_adopt(const char *note)
{
	const char *p = note;
	int used = 0;

	for (;;) {
		struct shim_exposed_note n = { 0 };
		unsigned la, lp, pa, pp;
		unsigned long long dev, ino;
		int fd, listening;
		struct stat st;

		if (sscanf(p, NOTE_FMT "%n", &fd, &n.family, &n.type, &listening, &la, &lp, &pa, &pp, &n.rcvbuf,
			   &n.sndbuf, &dev, &ino, &used) != 12 || used <= 0)
			break;
		p += used;
		n.listening = listening == 1;
		n.framed = listening == 2;
		n.local = (struct ip4_endpoint){ la, (uint16_t)lp };
		n.peer = (struct ip4_endpoint){ pa, (uint16_t)pp };
		if ((n.family != AF_INET && n.family != AF_INET6) || (n.type != SOCK_STREAM && n.type != SOCK_DGRAM))
			continue;
		/* Still the file the note is about (a socket the new image has at
		 * that number, not one that replaced it), and none of ours yet. */
		if (sys_fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || (unsigned long long)st.st_dev != dev ||
		    (unsigned long long)st.st_ino != ino || shim_owns(fd))
			continue;
		(void)shim_adopt(fd, &n);
	}
}
