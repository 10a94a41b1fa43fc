/*
 * Socket calls on stack sockets: creation, addresses, connection set-up,
 * data transfer, options, descriptor operations.
 *
 * The rules every function here follows:
 *   - an fd that is not a stack socket, or any call made in a vfork() child
 *     (which shares our memory), answers SHIM_PASS;
 *   - a fork() child's inherited stack socket answers -EBADF (shim_child_ebadf),
 *     unless it is exposed: then it is served as in the parent (data through
 *     its kernel fd, names and options from what it kept: internal.h);
 *   - the stack object (tcp_conn/udp_sock) is created lazily, on the first
 *     call that needs the stack (bind/listen/connect/sendto to a non-loopback
 *     address), so a process that never talks to the Internet never starts it;
 *   - loopback stays with the kernel: bind or connect to 127.0.0.0/8 or ::1
 *     (or connect to 0.0.0.0/::, which Linux treats as the local host) of a
 *     socket without a stack object releases it from the shim, and the
 *     placeholder kernel socket does the job (SHIM_PASS);
 *   - every setsockopt is first applied to the placeholder, so the kernel
 *     validates the value with its own errno (ENOPROTOOPT, EINVAL...) and
 *     holds the options we do not model; a released socket keeps them all.
 */
#include "shim/internal.h"
#include "shim/sendfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/close_range.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "stack/core/bpf.h"
#include "stack/core/ip4.h"
#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_ring.h"
#include "stack/core/udp.h"
#include "stack/dev/sysc.h"
#include "stack/host/relay.h"
#include "stack/host/sockaddr.h"

/* The system calls of a listener's loopback side (lo_listen). */
#define sys_listen(fd, n)           SYSC(SYS_listen, (fd), (n))
#define sys_accept4(fd, sa, salen, flags) SYSC(SYS_accept4, (fd), (sa), (salen), (flags))

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#define SHIM_TCP_ZEROCOPY_RECEIVE 35   /* Linux's, by number: older headers lack them */
#define SHIM_TCP_AO_REPAIR 42
#ifndef TCP_RTO_MAX_MS
#define TCP_RTO_MAX_MS 44       /* Linux 6.15 */
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif
#ifndef SO_RCVMARK
#define SO_RCVMARK 75           /* Linux 5.19 */
#endif
#ifndef SO_RCVPRIORITY
#define SO_RCVPRIORITY 82       /* Linux 6.9 */
#endif
#ifndef MSG_PROBE
#define MSG_PROBE 0x10          /* Linux's: glibc names the bit MSG_PROXY */
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SOF_TIMESTAMPING_OPT_ID_TCP
#define SOF_TIMESTAMPING_OPT_ID_TCP (1 << 16)
#endif
#ifndef MSG_WAITFORONE
#define MSG_WAITFORONE 0x10000
#endif

enum { ADDR_STACK, ADDR_LOOP, ADDR_UNSPEC, ADDR_HOST, ADDR_NATIVE6 };
/* bind()'s word for a joiner's UDP socket the owner's stack binds. */
enum { JOIN_DGRAM = ADDR_NATIVE6 + 1 };
/* What an address given to sa_in() is for. */
enum sa_use { SA_BIND, SA_CONNECT, SA_SEND };

/* ---- helpers ---- */

/* A fork child's copy of a socket the stack never held: no stack object,
 * no address, connection, listener or loopback side. */
static bool pristine(const struct shim_sock *k)
{
	return !k->tcp && !k->udp && !k->bound && !k->listening && !k->join && !k->relay && !k->framed &&
	       k->ss == SHIM_SS_UNCONNECTED && !k->closed && !k->dead && !k->moved && atomic_load(&k->lo_fd) < 0;
}

bool shim_child_release(struct shim_sock *k)
{
	if (shim_proc_state() != SHIM_PROC_FORKED || shim_exposed(k) || !pristine(k))
		return false;
	/* The placeholder, which took every option, is the socket: the
	 * kernel's in this child, as the sockets the child makes are. */
	shim_release_all(&k->obj);
	return true;
}

static int sock_take_error(struct shim_sock *k);

static struct shim_sock *enter(int fd, int *r)
{
	struct shim_sock *k;
	enum shim_proc ps;

	*r = SHIM_PASS;
	if (!shim_owns(fd))
		return NULL;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return NULL;
	k = shim_get_sock(fd);
	if (!k)
		return NULL;
	if (ps == SHIM_PROC_FORKED && !shim_exposed(k) && !k->join) {
		if (shim_child_release(k)) {
			shim_put(&k->obj);
			return NULL;
		}
		/* The parent's stack serves it: not the child's to use. */
		*r = shim_child_ebadf();
		shim_put(&k->obj);
		return NULL;
	}
	/* An exposed socket's fd is a live kernel fd, in the child as in the
	 * parent (shim/expose.c): its data passes through (enter_data), the
	 * rest is answered from what the socket kept when it was exposed. */
	return k;
}

/* enter() for the calls an exposed socket's kernel fd serves (data,
 * readiness, shutdown): SHIM_PASS once it is exposed. */
static struct shim_sock *enter_data(int fd, int *r)
{
	struct shim_sock *k = enter(fd, r);

	/* A joiner's connect answered: taken in before the data flows (the
	 * pair's send buffer put back). */
	if (k && shim_join_pending(k))
		shim_join_settle(k);
	if (k && shim_exposed(k)) {
		shim_put(&k->obj);
		*r = SHIM_PASS;
		return NULL;
	}
	return k;
}

static void leave(struct shim_sock *k)
{
	shim_put(&k->obj);
}

/*
 * Lock held: a failed connect passed over SCM_RIGHTS with its error
 * (pass_failed, internal.h) gives the error to the first read or write, as
 * Linux's tcp_recvmsg and tcp_sendmsg take sk_err (sock_error): they got
 * the pair's own mark (ECONNRESET) and left the error for SO_ERROR. The
 * pair's mark goes with it (pass_mark_clear, after the lock). 0: none.
 */
static int pass_error_take(struct shim_sock *k)
{
	if (!atomic_load(&k->pass_failed) || !k->err)
		return 0;
	atomic_store(&k->pass_failed, false);
	return sock_take_error(k);
}

/* No lock: takes the pair's mark of a failed connect passed (above). */
static void pass_mark_clear(struct shim_sock *k)
{
	int e, fd0 = shim_first_fd(&k->obj);
	socklen_t el = sizeof(e);

	if (fd0 >= 0)
		(void)shim_libc.getsockopt(fd0, SOL_SOCKET, SO_ERROR, &e, &el);
}

/* No lock: pass_error_take and pass_mark_clear together (an exposed
 * socket's read or write about to go to its fd). */
static int exposed_pass_error(struct shim_sock *k)
{
	int e;

	if (!atomic_load(&k->pass_failed))
		return 0;
	shim_lock();
	e = pass_error_take(k);
	shim_unlock();
	if (e)
		pass_mark_clear(k);
	return e;
}

static bool attached(const struct shim_sock *k)
{
	return k->tcp || k->udp;
}

static uint64_t deadline(uint64_t timeo_us)
{
	return timeo_us ? shim_clock_us() + timeo_us : 0;
}

/* The stack's callback (stack lock held): waiters re-check once it is let go. */
/* Stack lock held: what has arrived so far (tcp_rx_count, udp_rx_count). */
static uint64_t rx_count(const struct shim_sock *k)
{
	return k->tcp ? tcp_rx_count(k->tcp) : k->udp ? udp_rx_count(k->udp) : 0;
}

/*
 * O_ASYNC: the signals Linux's sock_wake_async sends, told apart by what
 * changed since the last wake-up (stack lock held; tcp_poll and the counts
 * only read the stack):
 *   - an error (RST, ICMP, a refused connect): POLL_ERR (sk_error_report);
 *   - a connect done: POLL_OUT (tcp_finish_connect);
 *   - data, a datagram or a connection to accept: POLL_IN, one per wake-up
 *     (sock_def_readable), unless a thread waits in a TCP receive
 *     (SOCKWQ_ASYNC_WAITDATA);
 *   - the peer's FIN: tcp_fin's POLL_IN (POLL_HUP once we have shut down
 *     too) and tcp_data_queue's POLL_IN, both unless a reader waits; the
 *     FIN itself, not the end of the stream poll shows: the program's own
 *     shutdown(SHUT_RD) sends nothing (inet_shutdown's sk_state_change);
 *   - room to send again after a send found none: POLL_OUT, once
 *     (SOCKWQ_ASYNC_NOSPACE, sk_stream_write_space).
 */
static void sock_async(struct shim_sock *k)
{
	unsigned m = shim_sock_poll(k), was = k->async_seen;
	uint64_t rx = rx_count(k);
	int sig = k->async_sig ? k->async_sig : SIGIO;
	bool more = rx != k->async_rx;
	bool fin = k->tcp && tcp_fin_received(k->tcp), fin_was = k->async_fin;

	k->async_seen = m;
	k->async_rx = rx;
	k->async_fin = fin;
	if (!k->own_pid || (m & POLLNVAL))
		return;
#define IO(code) shim_signal_io(k->own_type, k->own_pid, sig, k->async_sig ? (code) : 0, k->async_fd)
	if ((m & POLLERR) && !(was & POLLERR)) {
		IO(POLL_ERR);
		return;
	}
	if (k->type == SOCK_STREAM && k->ss == SHIM_SS_CONNECTING && (m & POLLOUT) && !(was & POLLOUT))
		IO(POLL_OUT);
	if (more && !k->rx_waiters)
		IO(POLL_IN);
	if (k->type == SOCK_STREAM && fin && !fin_was && !k->rx_waiters) {
		IO((m & POLLHUP) ? POLL_HUP : POLL_IN);
		IO(POLL_IN);
	}
	if (k->async_nospace && (m & POLLOUT)) {
		k->async_nospace = false;
		IO(POLL_OUT);
	}
#undef IO
}

/*
 * Stack lock held. Linux's tcp_disconnect ends with sk_error_report, whose
 * sock_def_error_report sends O_ASYNC's POLL_ERR (SOCK_WAKE_IO: a reader
 * waiting or not) whatever the state was: connect(AF_UNSPEC) on any TCP
 * socket, shutdown(SHUT_RD) of a listener or of a connect under way, a
 * failed connect's end. What the socket shows now is the next wake-up's
 * starting point.
 */
static void sock_async_error(struct shim_sock *k)
{
	unsigned m;

	if (!k->async)
		return;
	m = shim_sock_poll(k);
	k->async_seen = m;
	k->async_rx = rx_count(k);
	k->async_fin = k->tcp && tcp_fin_received(k->tcp);
	if (k->own_pid && !(m & POLLNVAL))
		shim_signal_io(k->own_type, k->own_pid, k->async_sig ? k->async_sig : SIGIO,
			       k->async_sig ? POLL_ERR : 0, k->async_fd);
}

static void sock_wakeup(void *ctx)
{
	struct shim_sock *k = ctx;

	if (k->async)
		sock_async(k);
	shim_wq_wake(&k->wq);
}

/* The stack's urgent-data callback (stack lock held): the owner that
 * F_SETOWN named gets SIGURG once the lock is let go (Linux's sk_send_sigurg). */
static void sock_urgent(void *ctx)
{
	struct shim_sock *k = ctx;

	if (k->own_pid)
		shim_signal_owner(k->own_type, k->own_pid, SIGURG);
}

/* Stack lock held. Creates the stack object (starting the stack if needed). */
static int attach(struct shim_sock *k)
{
	int r;

	if (k->dead)
		return -EBADF;
	if (attached(k))
		return 0;
	if (k->join)
		return -EOPNOTSUPP;     /* another process's stack serves it (shim/join.c) */
	r = shim_need_stack();
	if (r < 0)
		return r;
	if (k->type == SOCK_STREAM) {
		k->tcp = tcp_open(shim_stack());
		if (!k->tcp)
			return -ENOBUFS;
		tcp_set_wakeup(k->tcp, &k->wake);
		tcp_set_opts(k->tcp, &k->opts);
	} else {
		k->udp = udp_open(shim_stack());
		if (!k->udp)
			return -ENOBUFS;
		udp_set_wakeup(k->udp, &k->wake);
		udp_set_opts(k->udp, &k->opts);
	}
	return 0;
}

/* Stack lock held: closes the stack object. */
static void sock_detach(struct shim_sock *k)
{
	static const struct sock_wakeup none = { 0 };

	if (shim_proc_state() != SHIM_PROC_OWNER) {
		k->tcp = NULL;
		k->udp = NULL;
		return;
	}
	if (k->relay) {
		/* Exposed: the relay owns the connection (and closes it when the
		 * kernel fd's last reference goes). */
		shim_host.relay_forget(shim_host.ctx, k->relay);
		k->relay = NULL;
		k->tcp = NULL;
		k->udp = NULL;
		return;
	}
	if (k->tcp) {
		/* Shared with a fork child's relay (tcp_share): the relay's
		 * wake-up stays; the close only lets go of this copy. */
		if (!tcp_shared(k->tcp))
			tcp_set_wakeup(k->tcp, &none);
		tcp_close(k->tcp, shim_now());
		k->tcp = NULL;
	}
	if (k->udp) {
		udp_set_wakeup(k->udp, &none);
		udp_close(k->udp);
		k->udp = NULL;
	}
}

/* The last reference: an accept that failed, or a socket closed while a call
 * was still in flight on it. */
static void sock_free(struct shim_obj *o)
{
	struct shim_sock *k = (struct shim_sock *)o;

	/* Without the lock: the relay of an exposed socket may clear tcp and
	 * udp meanwhile (expose_gone, lock held, atomic stores); sock_detach,
	 * under the lock, finds them as they are then. */
	if (__atomic_load_n(&k->tcp, __ATOMIC_ACQUIRE) || __atomic_load_n(&k->udp, __ATOMIC_ACQUIRE)) {
		shim_lock();
		sock_detach(k);
		shim_unlock();
	}
	if (atomic_load(&k->kfd) >= 0) {
		sys_fd_forget(atomic_load(&k->kfd));
		shim_libc.close(atomic_load(&k->kfd));
	}
	shim_join_forget(k);
	free(k->pend_ms);
	/* A failed connect's share (expose.c, share_failed): the owner's. */
	if (k->fail_share && shim_proc_state() == SHIM_PROC_OWNER)
		relay_share_free(k->share);
	pthread_mutex_destroy(&k->send_mu);
	free(k);
}

/*
 * SO_LINGER with a time, at the last close of a connection (Linux's
 * tcp_close, sk_stream_wait_close): close() sends the FIN and waits, that
 * long at most, until it is acknowledged (or the connection is reset); a
 * signal ends the wait; close() returns 0 either way, and the close goes on
 * as without the option. Blocking or not alike (Linux's waits for a
 * non-blocking socket too). Lock held.
 */
static void sock_linger(struct shim_sock *k)
{
	uint64_t deadline;
	int secs = 0;

	if (!k->tcp || k->relay || k->dead || shim_proc_state() != SHIM_PROC_OWNER ||
	    tcp_getopt(k->tcp, TCP_OPT_LINGER, &secs) || secs <= 0 || !tcp_close_linger(k->tcp, shim_now()))
		return;
	deadline = shim_clock_us() + (uint64_t)secs * 1000000u;
	while (k->tcp && tcp_closing(k->tcp)) {
		int w = shim_wait_sock(k, deadline, false);

		if (w < 0)
			break;      /* the time is up (-EAGAIN), a signal (-EINTR), or the socket is gone */
	}
}

/* The last fd is gone. A call still blocked on the socket (another thread's,
 * or the one a handler of this thread interrupted) is not woken: Linux's holds
 * the file, and goes on until its data, its timeout or a signal; the socket
 * goes when it is done (sock_free). */
static void sock_last_close(struct shim_obj *o)
{
	struct shim_sock *k = (struct shim_sock *)o;
	int lo;

	shim_lock();
	sock_linger(k);
	k->closed = true;
	k->closed_in_handler = shim_in_signal_handler();
	shim_epoll_forget_sock(k);
	lo = atomic_exchange(&k->lo_fd, -1);
	shim_unlock();
	shim_lo_close(lo);
}

static void sock_exit(struct shim_obj *o)
{
	struct shim_sock *k = (struct shim_sock *)o;

	if (k->dead)
		return;
	sock_detach(k);
	k->dead = true;
	shim_wq_wake(&k->wq);
}

static struct shim_waiter *sock_waiters(struct shim_obj *o)
{
	return &((struct shim_sock *)o)->wq;
}

const struct shim_obj_ops shim_sock_ops = {
	.last_close = sock_last_close,
	.free = sock_free,
	.exit = sock_exit,
	.waiters = sock_waiters,
};

struct shim_sock *shim_sock_new(int family, int type, bool nonblock)
{
	struct shim_sock *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->obj.kind = SHIM_OBJ_SOCK;
	k->obj.ops = &shim_sock_ops;
	k->family = family;
	k->type = type;
	k->nonblock = nonblock;
	k->opts = sock_opts_default();
	k->opts.inet6 = family == AF_INET6;
	k->stamp_us = -1;
	k->wake.fn = sock_wakeup;
	k->wake.ctx = k;
	k->wake.urgent = sock_urgent;
	shim_wq_init(&k->wq);
	pthread_mutex_init(&k->send_mu, NULL);
	atomic_init(&k->kfd, -1);
	atomic_init(&k->join_fd, -1);
	atomic_init(&k->lo_fd, -1);
	return k;
}

static bool connecting(enum tcp_state st);

/* For poll, select and epoll: Linux's tcp_poll notes a stream socket it
 * finds without room to send (SOCKWQ_ASYNC_NOSPACE: O_ASYNC signals the room
 * when it comes). */
unsigned shim_sock_poll_user(struct shim_sock *k)
{
	unsigned bits = shim_sock_poll(k);

	/* A connection waiting on the listener's loopback side (shim_lo_pull). */
	if (k->lo_ready && k->listening && !k->closed && !k->dead)
		bits |= POLLIN | POLLRDNORM;

	if (k->type == SOCK_STREAM && k->tcp && !(bits & (POLLOUT | POLLHUP | POLLNVAL)) &&
	    !tcp_connecting(k->tcp)) {
		k->async_nospace = true;
		tcp_note_nospace(k->tcp);   /* and SOCK_NOSPACE: the room wakes it */
	}
	return bits;
}

unsigned shim_sock_poll(struct shim_sock *k)
{
	unsigned bits;

	if (k->closed || k->dead)
		return POLLNVAL;
	if (k->type == SOCK_STREAM) {
		/* Linux's tcp_poll() on a socket in CLOSE: writable and hung up. */
		bits = k->tcp ? tcp_poll(k->tcp) : (POLLOUT | POLLHUP);
		/* Linux's tcp_poll: POLLERR while the error queue holds
		 * timestamps or zerocopy completions. */
		if (k->tcp && tcp_err_pending(k->tcp))
			bits |= POLLERR;
		/* A failed connect's error, moved to a share at a fork
		 * (expose.c, share_failed): in error while it waits. */
		if (k->fail_share && atomic_load(&k->share->err))
			bits |= POLLERR;
		/* And shut both ways (Linux's tcp_done), readable at its end,
		 * until a connect() takes it in hand again (tcp_disconnect). */
		if (k->fail_share && !k->tcp)
			bits |= POLLIN | POLLRDNORM | POLLRDHUP;
	} else {
		bits = k->udp ? udp_poll(k->udp) : POLLOUT;
		/* Linux's datagram_poll: writable is POLLWRBAND too (tcp_poll
		 * has no band). */
		if (bits & POLLOUT)
			bits |= POLLWRBAND;
		if (k->udp_shut & 1)
			bits |= POLLIN | POLLRDHUP;
		if (k->udp_shut == 3)
			bits |= POLLHUP;
	}
	if (k->err)
		bits |= POLLERR;
	if (bits & POLLIN)
		bits |= POLLRDNORM;
	if (bits & POLLOUT)
		bits |= POLLWRNORM;
	return bits;
}

/* ---- addresses ---- */

static bool is_loop4(uint32_t a)
{
	return (a >> 24) == 127;
}

/*
 * The address of bind, connect or sendto (use) on k, already copied in
 * (sa_import: len <= sizeof(struct sockaddr_storage)). ADDR_STACK with *ep
 * filled, ADDR_LOOP (loopback: the kernel's), ADDR_HOST (IPv4's INADDR_ANY
 * on connect or sendto: this host, *ep with address 0: the kernel's for a
 * socket not in the stack yet, else the stack's, addr_host), ADDR_UNSPEC
 * (AF_UNSPEC on connect: dissolve the association; on an AF_INET6 socket's
 * sendto: no address), ADDR_NATIVE6 (bind to an IPv6 address that is not
 * IPv4-mapped, or to :: with IPV6_V6ONLY: the kernel's to judge), or
 * -errno in Linux's order of checks (length first, then family).
 */
static int sa_in(const struct shim_sock *k, const struct sockaddr *sa, socklen_t len, enum sa_use use,
		 struct ip4_endpoint *ep)
{
	bool for_bind = use == SA_BIND;
	sa_family_t fam;

	if (len < sizeof(sa_family_t))
		return -EINVAL;
	memcpy(&fam, sa, sizeof(fam));
	if (fam == AF_UNSPEC && (use == SA_CONNECT || (use == SA_SEND && k->family == AF_INET6)))
		return ADDR_UNSPEC;     /* udpv6_sendmsg: AF_UNSPEC is no address */
	if (k->family == AF_INET || (fam == AF_INET && k->type == SOCK_DGRAM && !for_bind)) {
		struct sockaddr_in in;

		if (len < sizeof(in))
			return -EINVAL;
		memcpy(&in, sa, sizeof(in));
		/* Linux accepts AF_UNSPEC + INADDR_ANY in bind, and takes
		 * AF_UNSPEC for AF_INET in udp_sendmsg. */
		if (fam != AF_INET && !(use == SA_SEND && fam == AF_UNSPEC) &&
		    !(for_bind && fam == AF_UNSPEC && in.sin_addr.s_addr == htonl(INADDR_ANY)))
			return -EAFNOSUPPORT;
		/* IPv6-only: udpv6_sendmsg refuses the AF_INET destination
		 * (ENETUNREACH), __ip6_datagram_connect the family. */
		if (k->family == AF_INET6 && k->v6only)
			return use == SA_CONNECT ? -EAFNOSUPPORT : -ENETUNREACH;
		ep->addr = ntohl(in.sin_addr.s_addr);
		ep->port = ntohs(in.sin_port);
	} else {
		struct sockaddr_in6 in6;
		const uint8_t *a;

		if (len < 24)   /* SIN6_LEN_RFC2133: the scope id is optional */
			return -EINVAL;
		if (fam != AF_INET6)
			return -EAFNOSUPPORT;
		memset(&in6, 0, sizeof(in6));
		memcpy(&in6, sa, len < sizeof(in6) ? len : sizeof(in6));
		a = in6.sin6_addr.s6_addr;
		ep->port = ntohs(in6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
			if (k->v6only)
				return for_bind ? -EINVAL : -ENETUNREACH;
			ep->addr = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
		} else if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
			/* bind to :: is any (dual stack); connect to :: is the
			 * local host, ::1 (tcp_v6_connect, ip6_datagram_connect) */
			if (!for_bind)
				return ADDR_LOOP;
			if (k->v6only)
				return ADDR_NATIVE6;    /* IPv6 only: nothing for the stack */
			ep->addr = 0;
		} else if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) {
			return ADDR_LOOP;
		} else {
			/* The stack speaks IPv4 only: native IPv6 is the
			 * kernel's (its routes, its link-local scopes). */
			return for_bind ? ADDR_NATIVE6 : ADDR_LOOP;
		}
	}
	if (is_loop4(ep->addr))
		return ADDR_LOOP;
	if (!for_bind && ep->addr == 0)
		return ADDR_HOST;   /* Linux: a connect to INADDR_ANY reaches the local host */
	return ADDR_STACK;
}

/*
 * ADDR_HOST (INADDR_ANY as a destination, this host) on k: a socket in the
 * stack already goes on with the stack, which routes it as Linux does (its
 * own address, else 127.0.0.1 within the stack: ip4_this_host); ADDR_STACK
 * then. A socket not in it yet goes to the kernel, as loopback does
 * (ADDR_LOOP).
 */
static int addr_host(const struct shim_sock *k, int a)
{
	if (a != ADDR_HOST)
		return a;
	return attached(k) ? ADDR_STACK : ADDR_LOOP;
}

/*
 * The program's address (bind, connect, sendto's) copied in, as Linux's
 * move_addr_to_kernel does it before anything else: a length beyond a
 * sockaddr_storage (or negative) is EINVAL, memory it cannot read EFAULT.
 */
static int sa_import(struct sockaddr_storage *ss, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(*ss))
		return -EINVAL;
	return shim_copy(ss, sa, len);
}

/* Whether SOL_IP's calls on k reach an IPv4 side the stack serves: an
 * AF_INET socket, or a dual-stack AF_INET6 one (ipv6_setsockopt and
 * ipv6_getsockopt hand SOL_IP to ip_setsockopt and ip_getsockopt, through
 * udp_prot's, for TCP too). */
static bool ip4_level(const struct shim_sock *k)
{
	return k->family == AF_INET || (k->family == AF_INET6 && !k->v6only);
}

/* Whether an address, copied in, is an IPv6 one that is not IPv4-mapped. */
static bool sa_native6(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in6 in6;

	if (len < 24)   /* SIN6_LEN_RFC2133 */
		return false;
	memset(&in6, 0, sizeof(in6));
	memcpy(&in6, sa, len < sizeof(in6) ? len : sizeof(in6));
	return in6.sin6_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
}

/* ep as k's family would write it (IPv4-mapped on AF_INET6); its length. */
static socklen_t sa_fill(const struct shim_sock *k, const struct ip4_endpoint *ep, struct sockaddr_storage *out)
{
	return ip4_to_sockaddr(k->family, ep, out);
}

/*
 * Writes ep (NULL: no address, length 0) to the program's sa and *len like
 * Linux's move_addr_to_user: *len is read first (EFAULT), a negative one is
 * EINVAL (*len left), *len gets the full length, and then the address,
 * truncated to what *len said, is copied (EFAULT: *len already written).
 * That order is this machine's Linux (6.18: a name buffer that cannot be
 * written still gets its length back, the 'fromlen' of 1003.1g); before
 * that, move_addr_to_user copied the address first (4.x, 5.x).
 */
static int sa_out_ss(const struct sockaddr_storage *ss, int full, struct sockaddr *sa, socklen_t *len)
{
	int ulen;

	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (ulen > full)
		ulen = full;
	if (ulen < 0)
		return -EINVAL;
	if (shim_copy(len, &full, sizeof(full)))
		return -EFAULT;
	if (ulen && shim_copy(sa, ss, (size_t)ulen))
		return -EFAULT;
	return 0;
}

static int sa_out(const struct shim_sock *k, const struct ip4_endpoint *ep, struct sockaddr *sa,
		  socklen_t *len)
{
	struct sockaddr_storage ss;
	int full = ep ? (int)sa_fill(k, ep, &ss) : 0;

	return sa_out_ss(&ss, full, sa, len);
}

/*
 * Stack lock held. Hands k to the kernel: no fd refers to it any more, and
 * blocked callers are woken. Its epoll registrations are returned, for
 * shim_epoll_to_kernel() to move to the kernel's epoll once the lock is let
 * go (no system call under it).
 */
static struct shim_epitem *release(struct shim_sock *k)
{
	struct shim_epitem *moved;

	shim_release_all(&k->obj);
	moved = shim_epoll_take_sock(k);
	k->closed = true;
	k->moved = true;
	shim_wq_wake(&k->wq);
	return moved;
}

/*
 * Stack lock held. A socket in the stack only because bind() put it there
 * (on the wildcard address, never connected, listening or sending), which
 * now connects to loopback: Linux's socket would reach 127.0.0.1 through
 * its lo, and loopback is the kernel's. The stack lets go of it (its port
 * with it) and the kernel's placeholder takes its place, to be bound to the
 * same port by move_to_lo_bind before the kernel connects it. False when
 * the socket cannot move (then ENETUNREACH, as before).
 */
static bool move_to_lo(struct shim_sock *k, struct shim_epitem **moved)
{
	struct ip4_endpoint ep = { 0, 0 }, peer;

	if (shim_exposed(k) || k->relay || k->join || k->listening || k->syn_sent ||
	    k->ss != SHIM_SS_UNCONNECTED || k->dead || shim_proc_state() != SHIM_PROC_OWNER)
		return false;
	if (k->tcp) {
		if (tcp_get_state(k->tcp) != TCP_STATE_CLOSED || tcp_ended(k->tcp))
			return false;
		tcp_local(k->tcp, &ep);
	} else if (k->udp) {
		/* Nothing heard, sent or waiting: an answer from the TAP's
		 * side would be lost with it. */
		if (udp_peer(k->udp, &peer) == 0 || udp_used(k->udp) || (udp_poll(k->udp) & (POLLIN | POLLERR)))
			return false;
		udp_local(k->udp, &ep);
	} else {
		return false;
	}
	if (ep.addr != 0)
		return false;   /* the stack's own address: the kernel has none */
	k->lo_bind = k->bound;
	k->lo_bind_port = ep.port;
	k->lo_bind_named = k->port_locked;
	sock_detach(k);
	*moved = release(k);
	return true;
}

/* No lock held, after move_to_lo: the placeholder bound as the stack's
 * socket was (the kernel then connects it). 0, or -errno when a port that
 * bind() named is not free in the kernel (Linux's connect keeps it). */
static int move_to_lo_bind(struct shim_sock *k, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long r;

	/* A UDP socket's loopback side (lo_udp) goes first: the kernel's
	 * socket takes its port. */
	shim_lo_close(atomic_exchange(&k->lo_fd, -1));
	if (!k->lo_bind)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (k->family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(k->lo_bind_port);
		len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(k->lo_bind_port);
		len = sizeof(struct sockaddr_in);
	}
	r = sys_bind(fd, (struct sockaddr *)&ss, len);
	if (r < 0 && !k->lo_bind_named && k->lo_bind_port) {
		/* The port the stack picked is the kernel's elsewhere: another. */
		((struct sockaddr_in *)&ss)->sin_port = 0;
		r = sys_bind(fd, (struct sockaddr *)&ss, len);
	}
	return r < 0 ? (int)r : 0;
}

/* ---- creation and connection set-up ---- */

int shim_socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct shim_sock *k;
	int fd, r, join;

	if (domain == AF_NETLINK)
		return shim_netlink_socket(domain, type, protocol);
	if (domain != AF_INET && domain != AF_INET6)
		return SHIM_PASS;
	if (base == SOCK_STREAM) {
		if (protocol != 0 && protocol != IPPROTO_TCP)
			return SHIM_PASS;
	} else if (base == SOCK_DGRAM) {
		if (protocol != 0 && protocol != IPPROTO_UDP)
			return SHIM_PASS;
	} else {
		return SHIM_PASS;
	}
	/* Children of fork() have no stack: their new TCP and AF_INET UDP
	 * sockets join the one their parent holds (shim/join.c; a forked
	 * server's worker binds a UDP socket of its own to the stack's
	 * address, as tftpd's does for each transfer), their AF_INET6 UDP
	 * sockets are the kernel's; a vfork child's are the kernel's. A
	 * child whose parent had no stack becomes a process with its own
	 * (shim_fork_promote). */
	if (shim_proc_state() == SHIM_PROC_FORKED)
		(void)shim_fork_promote();
	if (shim_proc_state() == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (shim_proc_state() == SHIM_PROC_FORKED && base == SOCK_DGRAM && domain != AF_INET)
		return SHIM_PASS;
	/* PSTACK_STACK: another process's stack may serve this one's TCP
	 * and AF_INET UDP sockets (shim/join.c); its AF_INET6 UDP sockets
	 * are the kernel's. */
	join = shim_join_check();
	if (shim_proc_state() == SHIM_PROC_FORKED && join <= 0)
		return SHIM_PASS;
	if (join < 0)
		return join;
	if (join && base == SOCK_DGRAM && domain != AF_INET)
		return SHIM_PASS;
	fd = shim_libc.socket(domain, type, protocol);
	if (fd < 0)
		return -errno;
	k = shim_sock_new(domain, base, type & SOCK_NONBLOCK);
	if (!k) {
		shim_libc.close(fd);
		return -ENOMEM;
	}
	k->join = join > 0;
	r = shim_install(fd, &k->obj);
	if (r < 0) {
		/* Beyond the table (fd >= 2^20): leave it to the kernel. */
		free(k);
		return fd;
	}
	return fd;
}

static unsigned bind_flags(const struct shim_sock *k)
{
	return (k->opts.reuseaddr ? INPCB_REUSEADDR : 0) | (k->opts.reuseport ? INPCB_REUSEPORT : 0) |
	       (k->freebind || k->transparent ? INPCB_NONLOCAL : 0) | (k->transparent ? INPCB_ANYSRC : 0) |
	       (k->family == AF_INET6 ? INPCB_SRC_AS_BOUND : 0);
}

/*
 * After a bind() the stack took. With IP_BIND_ADDRESS_NO_PORT and port 0
 * the socket has its address only (Linux's __inet_bind without get_port):
 * it stays unbound for bind() again, listen()'s and a send's autobind, and
 * getsockname() shows the address with port 0.
 */
static void bound_to(struct shim_sock *k, const struct ip4_endpoint *ep)
{
	k->bound = ep->port || !k->opts.bind_no_port;
	k->addr_locked = ep->addr != 0;
	k->port_locked = ep->port != 0;
	if (!k->bound)
		k->shown = *ep;
}

static void lo_udp(struct shim_sock *k);
static socklen_t lo_addr(const struct shim_sock *k, bool v6only, uint16_t port, struct sockaddr_storage *ss);

/*
 * No lock held: whether a kernel socket of the namespace holds TCP port on
 * loopback where a bind() of k to the wildcard address would collide with
 * it, as Linux's inet_csk_get_port judges (a listener, or either without
 * SO_REUSEADDR; SO_REUSEPORT on both lets it in): a socket of the same
 * program bound to 127.0.0.1 (nghttpx's default frontend, then the one
 * named on its command line on 0.0.0.0) is the kernel's, and the wildcard
 * of the stack's socket covers loopback too (its loopback side, lo_listen).
 * A probe with k's options binds 127.0.0.1 (::ffff:127.0.0.1, ::1 for a
 * v6-only socket) and goes.
 */
static bool lo_port_busy(struct shim_sock *k, const struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_storage lo;
	struct ip4_endpoint ep = { 0, 0 };
	bool ra, rp, v6only, busy = false;
	int fd, one = 1;

	shim_lock();
	if (k->type != SOCK_STREAM || k->join || k->bound || attached(k) ||
	    sa_in(k, (struct sockaddr *)ss, len, SA_BIND, &ep) != ADDR_STACK || ep.addr != 0 || ep.port == 0) {
		shim_unlock();
		return false;
	}
	ra = k->opts.reuseaddr;
	rp = k->opts.reuseport;
	v6only = k->v6only;
	len = lo_addr(k, v6only, ep.port, &lo);
	shim_unlock();
	fd = shim_libc.socket(k->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if ((!ra || shim_libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0) &&
	    (!rp || shim_libc.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0) &&
	    (k->family != AF_INET6 || v6only ||
	     shim_libc.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)) == 0))
		busy = sys_bind(fd, (struct sockaddr *)&lo, len) == -EADDRINUSE;
	shim_libc.close(fd);
	return busy;
}

/* No lock: what __inet6_bind says of a native IPv6 address past its state
 * check, asked of a fresh socket of the kernel's (the address's type, this
 * host's addresses, the scope id); EINVAL when that one would take it: the
 * stack serves no native IPv6, and its socket stays as it was. */
static int native6_bind_err(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = shim_libc.socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -EINVAL;
	r = sys_bind(fd, (const struct sockaddr *)ss, len);
	shim_libc.close(fd);
	return r < 0 ? r : -EINVAL;
}

int shim_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct ip4_endpoint ep = { 0, 0 };
	struct shim_epitem *moved = NULL;
	struct sockaddr_storage ss;
	struct shim_sock *k;
	bool lo_busy, native6 = false;
	int r;

	k = enter(fd, &r);
	if (!k)
		return r;
	r = sa_import(&ss, sa, len);
	if (r < 0) {
		leave(k);
		return r;
	}
	lo_busy = lo_port_busy(k, &ss, len);
	shim_lock();
	r = sa_in(k, (struct sockaddr *)&ss, len, SA_BIND, &ep);
	if (r == ADDR_NATIVE6 && (k->join || !shim_libc.bind))
		r = ADDR_LOOP;
	if (r == ADDR_NATIVE6) {
		/* The placeholder's bind() answers as Linux's __inet6_bind
		 * (EADDRNOTAVAIL, EINVAL for a link-local address without a
		 * scope id, ENODEV for a scope id no device has; a multicast
		 * address taken): a socket whose bind the kernel took is the
		 * kernel's from then on; a refused one stays, unbound. */
		r = k->bound || attached(k) ? -EINVAL : ADDR_NATIVE6;
		/* A stack socket in CLOSE that holds no port (a connect()
		 * refused, a connection ended: the port went back) is past
		 * __inet6_bind's state check, and its answer is the
		 * address's: what a fresh socket's bind says of it
		 * (native6_bind_err), EADDRNOTAVAIL for an address nobody
		 * here has (fuzzseq -g 3 seed 91002). */
		if (r == -EINVAL && !k->bound && k->tcp && !k->join && tcp_get_state(k->tcp) == TCP_STATE_CLOSED) {
			struct ip4_endpoint held;

			tcp_local(k->tcp, &held);
			native6 = !held.port || tcp_port_released(k->tcp);
		}
	} else if (r == ADDR_LOOP) {
		if (k->bound || attached(k))
			r = -EINVAL;
		else {
			moved = release(k);
			r = SHIM_PASS;
		}
	} else if (r == ADDR_STACK && k->family == AF_INET && attached(k) && !k->join &&
		   (k->tcp ? tcp_bind_addr_check(k->tcp, ep.addr, bind_flags(k)) :
			     udp_bind_addr_check(k->udp, ep.addr, bind_flags(k))) == -EADDRNOTAVAIL) {
		/* Linux's __inet_bind judges the address before the socket's
		 * state (a second bind, a connection): EADDRNOTAVAIL first.
		 * __inet6_bind checks the state first (EINVAL below). */
		r = -EADDRNOTAVAIL;
	} else if (r == ADDR_STACK) {
		if (k->tcp && !k->join && (tcp_ended(k->tcp) || tcp_port_released(k->tcp))) {
			/* The connection ended (reset, closed, TIME_WAIT), or a
			 * connect() did not get one (refused, timed out: the
			 * RST a non-blocking one met, whoever reads the error
			 * later): its port went back unless bind() named it
			 * (tcp_rebind, Linux's inet_put_port at tcp_done). The
			 * socket stays as it was otherwise (listen EINVAL,
			 * connect EISCONN, read 0), as Linux's. */
			r = tcp_rebind(k->tcp, &ep, bind_flags(k), shim_now());
			if (r == 0)
				bound_to(k, &ep);
		} else if (k->bound)
			r = -EINVAL;
		else if (k->join && k->type == SOCK_DGRAM)
			r = JOIN_DGRAM;         /* the owner's stack binds it, below */
		else if (k->join) {
			/* A joiner's: kept for its listen() or connect(), which
			 * the owner's stack binds (shim/join.c). Deviation: an
			 * address in use is refused there, not here. */
			k->local = ep;
			k->bound = true;
			k->addr_locked = ep.addr != 0;
			k->port_locked = ep.port != 0;
			r = 0;
		} else if ((r = attach(k)) == 0) {
			bool mapped_any = k->family == AF_INET6 && !ep.addr &&
					  ((struct sockaddr_in6 *)&ss)->sin6_family == AF_INET6 &&
					  IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
			unsigned fl = bind_flags(k) | (mapped_any ? INPCB_ADDR_LOCK : 0);

			r = lo_busy && k->tcp ? -EADDRINUSE :
			    k->tcp ? tcp_bind(k->tcp, &ep, fl) : udp_bind(k->udp, &ep, fl);
			if (r == 0) {
				bound_to(k, &ep);
				k->mapped_any = mapped_any;
				k->addr_locked |= mapped_any;
			}
			else if (r == -EADDRINUSE)
				k->shown.addr = 0;      /* the stack let go of the address too (Linux's __inet_bind) */
		}
	} else if (r == ADDR_UNSPEC) {
		r = -EAFNOSUPPORT;
	}
	shim_unlock();
	if (r == JOIN_DGRAM) {
		r = shim_join_dgram(k, &ep);
		leave(k);
		return r;
	}
	if (native6)
		r = native6_bind_err(&ss, len);
	if (r == ADDR_NATIVE6) {
		r = shim_libc.bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
		if (r == 0) {
			shim_lock();
			moved = release(k);
			shim_unlock();
		}
	}
	shim_epoll_to_kernel(moved, fd);
	if (r == 0)
		lo_udp(k);
	leave(k);
	return r;
}

bool shim_dgram_autobind(struct shim_sock *k)
{
	struct ip4_endpoint ep = { 0, 0 };
	bool ok = false;

	shim_lock();
	if (k->type == SOCK_DGRAM && k->family == AF_INET && !attached(k) && !k->bound && !k->closed && !k->dead &&
	    !k->moved && !k->join && !k->relay && !shim_exposed(k) && shim_proc_state() == SHIM_PROC_OWNER &&
	    shim_stack_locked() && attach(k) == 0) {
		/* Not the port lock a bind() naming it takes (bound_to):
		 * connect(AF_UNSPEC) gives it back, as Linux's. */
		ok = udp_bind(k->udp, &ep, bind_flags(k)) == 0;
		if (ok)
			k->bound = true;
	}
	shim_unlock();
	if (ok)
		lo_udp(k);
	return ok;
}

static void inherit_copy(int lfd, int nfd, uint64_t mask);

void shim_lo_close(int lo)
{
	if (lo < 0)
		return;
	sys_fd_forget(lo);
	shim_libc.close(lo);
}

/*
 * No lock held: the options the stack keeps for itself (sock.h's sock_opts)
 * that Linux's accepted sockets inherit from their listener, from the
 * listener's placeholder (which took every setsockopt) to its loopback
 * side, so that a connection accepted there has them as one the stack
 * accepted. Not the buffer sizes (the value read is twice the one set:
 * lo_copy_bufs) nor TCP_MAXSEG (an unconnected socket reads the default MSS).
 */
static void lo_copy_opts(int from, int to)
{
	static const struct { int level, name; } opts[] = {
		{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_LINGER }, { SOL_SOCKET, SO_PRIORITY },
		{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
		{ IPPROTO_TCP, TCP_KEEPCNT }, { IPPROTO_TCP, TCP_USER_TIMEOUT }, { IPPROTO_TCP, TCP_CONGESTION },
		{ IPPROTO_TCP, TCP_NOTSENT_LOWAT }, { IPPROTO_TCP, TCP_LINGER2 }, { IPPROTO_TCP, TCP_SYNCNT },
		{ IPPROTO_TCP, TCP_WINDOW_CLAMP }, { IPPROTO_TCP, TCP_DEFER_ACCEPT },
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		unsigned char b[64];
		socklen_t l = sizeof(b);

		if (shim_libc.getsockopt(from, opts[i].level, opts[i].name, b, &l) == 0)
			(void)shim_libc.setsockopt(to, opts[i].level, opts[i].name, b, l);
	}
}

/*
 * No lock held: the buffer sizes set on a socket before its loopback side
 * was made (SO_RCVBUF, SO_SNDBUF; -1: never set, the kernel's own then
 * grow as Linux's do), given to it as set. The values are before Linux's
 * doubling, as the kernel took them (a forced size past the sysctl's
 * maximum stays forced where the caller may force it).
 */
static void lo_copy_bufs(int lo, int rcvbuf, int sndbuf)
{
	if (rcvbuf >= 0 && shim_libc.setsockopt(lo, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)shim_libc.setsockopt(lo, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (sndbuf >= 0 && shim_libc.setsockopt(lo, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		(void)shim_libc.setsockopt(lo, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
}

/* The address of a socket's loopback side: 127.0.0.1 (::ffff:127.0.0.1 for
 * a dual-stack socket, ::1 for a v6-only one) and port. Its length. */
static socklen_t lo_addr(const struct shim_sock *k, bool v6only, uint16_t port, struct sockaddr_storage *ss)
{
	struct ip4_endpoint ep = { IP4_LOOPBACK, port };
	socklen_t len = sa_fill(k, &ep, ss);

	if (k->family == AF_INET6 && v6only)
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return len;
}

/*
 * No lock held, after a bind() that put a UDP socket in the stack on the
 * wildcard address: its loopback side (internal.h, lo_fd), a kernel socket
 * on 127.0.0.1 (::ffff:127.0.0.1 when dual-stack) and the same port, so
 * that it hears localhost as Linux's socket would. What arrives there is
 * queued in the stack's socket as Linux's lo would deliver it
 * (lo_udp_pull), and what the socket sends to loopback leaves from there
 * (sock_send). None for a v6-only socket (its loopback is native IPv6), or
 * when a kernel socket holds the port on loopback.
 */
static void lo_udp(struct shim_sock *k)
{
	struct sockaddr_storage ss;
	struct ip4_endpoint ep = { 0, 0 };
	socklen_t len;
	bool want, ra, rp;
	int lo, one = 1, rcvbuf, sndbuf;

	if (!shim_host.udp_lo)
		return;
	shim_lock();
	want = k->type == SOCK_DGRAM && k->udp && !k->closed && !k->dead && !shim_exposed(k) && !k->v6only &&
	       atomic_load(&k->lo_fd) < 0;
	if (want)
		udp_local(k->udp, &ep);
	want = want && ep.addr == 0 && ep.port != 0;
	ra = k->opts.reuseaddr;
	rp = k->opts.reuseport;
	rcvbuf = k->opts.rcvbuf;
	sndbuf = k->opts.sndbuf;
	shim_unlock();
	if (!want)
		return;
	len = lo_addr(k, false, ep.port, &ss);
	lo = shim_libc.socket(k->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lo < 0)
		return;
	lo_copy_bufs(lo, rcvbuf, sndbuf);
	if ((ra && shim_libc.setsockopt(lo, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (rp && shim_libc.setsockopt(lo, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (k->family == AF_INET6 &&
	     shim_libc.setsockopt(lo, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)) < 0) ||
	    sys_bind(lo, (struct sockaddr *)&ss, len) < 0) {
		log_debug("UDP socket on port %u: no loopback side", ep.port);
		shim_libc.close(lo);
		return;
	}
	lo = sys_fd_hide(lo);
	shim_lock();
	if (k->udp && !k->closed && !k->dead && !shim_exposed(k) && atomic_load(&k->lo_fd) < 0) {
		atomic_store(&k->lo_fd, lo);
		shim_unlock();
		/* In an epoll already: the loopback side joins it. */
		shim_epoll_lo_added(k, lo);
		return;
	}
	shim_unlock();
	shim_lo_close(lo);
}

/*
 * Stack lock held, let go and taken again: one datagram from a UDP socket's
 * loopback side (lo_udp), queued in the stack's socket as Linux's lo would
 * have delivered it. False when there was none, or no room for it (it is
 * dropped, as Linux drops one that finds the buffer full).
 */
static bool lo_udp_pull(struct shim_sock *k, int lo)
{
	struct sockaddr_storage ss;
	struct ip4_endpoint src = { 0, 0 };
	socklen_t sl = sizeof(ss);
	char *b = malloc(65536);
	bool ok;
	long n;

	if (!b)
		return false;
	shim_unlock();
	n = SYSC(SYS_recvfrom, lo, b, 65536, MSG_DONTWAIT, &ss, &sl);
	shim_lock();
	if (n >= 0)
		src = ip4_from_sockaddr(&ss);
	/* Linux's lo keeps the sender's TTL and TOS; 64 and 0 are what a
	 * sender has by default (deviation otherwise). */
	ok = n >= 0 && k->udp && !k->moved && !k->dead &&
	     udp_deliver_lo(k->udp, &src, IP4_LOOPBACK, 64, 0, b, (size_t)n, shim_now());
	free(b);
	return ok;
}

void shim_lo_pull(struct shim_sock *k)
{
	int lo = atomic_load(&k->lo_fd);

	if (lo < 0 || k->closed || k->dead)
		return;
	if (k->type == SOCK_STREAM) {
		k->lo_ready = true;
	} else {
		/* All that waits (an edge-triggered registration says so
		 * once), as far as the socket has room. */
		for (int i = 0; i < 256 && k->udp && atomic_load(&k->lo_fd) == lo; i++)
			if (!lo_udp_pull(k, lo))
				break;
	}
	shim_wq_wake(&k->wq);
}

/*
 * No lock held, after a listen() that succeeded: the listener's loopback
 * side (internal.h, lo_fd) when it is on the wildcard address. A kernel
 * listener on 127.0.0.1 and the listener's port, with its options (SO_REUSEADDR,
 * SO_REUSEPORT and what accepted sockets inherit) and backlog. None when the
 * kernel refuses it (a kernel socket of the namespace holds the port on
 * loopback): localhost then stays the kernel's, as before. A second listen()
 * (a new backlog) gives the new backlog to it too.
 */
static void lo_listen(struct shim_sock *k, int fd, int backlog)
{
	struct sockaddr_storage ss;
	struct ip4_endpoint ep = { 0, 0 };
	socklen_t len;
	bool want, ra, rp, v6only, nodelay = false;
	uint64_t inherit;
	int lo, one = 1, err = 0, nd = 0, rcvbuf, sndbuf;

	shim_lock();
	want = k->listening && !k->closed && !k->dead && k->tcp && !shim_exposed(k);
	if (want)
		tcp_local(k->tcp, &ep);
	want = want && ep.addr == 0 && ep.port != 0;
	if (want && tcp_getopt(k->tcp, TCP_OPT_NODELAY, &nd) == 0)
		nodelay = nd != 0;
	lo = atomic_load(&k->lo_fd);
	ra = k->opts.reuseaddr;
	rp = k->opts.reuseport;
	v6only = k->v6only;
	inherit = k->inherit;
	rcvbuf = k->opts.rcvbuf;
	sndbuf = k->opts.sndbuf;
	shim_unlock();
	if (!want)
		return;
	if (lo >= 0) {
		(void)sys_listen(lo, backlog);
		return;
	}
	len = lo_addr(k, v6only, ep.port, &ss);
	lo = shim_libc.socket(k->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lo < 0)
		return;
	lo_copy_bufs(lo, rcvbuf, sndbuf);
	if ((ra && shim_libc.setsockopt(lo, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (rp && shim_libc.setsockopt(lo, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (k->family == AF_INET6 && !v6only &&
	     shim_libc.setsockopt(lo, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 0 }, sizeof(int)) < 0) ||
	    (err = (int)sys_bind(lo, (struct sockaddr *)&ss, len)) < 0 || (err = (int)sys_listen(lo, backlog)) < 0) {
		log_debug("listener on port %u: no loopback side (%s)", ep.port, strerror(err < 0 ? -err : errno));
		shim_libc.close(lo);
		return;
	}
	if (inherit)
		inherit_copy(shim_opt_fd(k, fd), lo, inherit);
	lo_copy_opts(shim_opt_fd(k, fd), lo);
	/* TCP_NODELAY set once the socket was in the stack is the stack's
	 * alone (set_tcp_quick). */
	if (nodelay)
		(void)shim_libc.setsockopt(lo, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lo = sys_fd_hide(lo);
	shim_lock();
	if (k->listening && !k->closed && !k->dead && !shim_exposed(k) && atomic_load(&k->lo_fd) < 0) {
		atomic_store(&k->lo_fd, lo);
		shim_unlock();
		/* In an epoll before it listened: the loopback side joins it. */
		shim_epoll_lo_added(k, lo);
		return;
	}
	shim_unlock();
	shim_lo_close(lo);
}

int shim_listen(int fd, int backlog)
{
	struct shim_sock *k;
	int r;

	k = enter(fd, &r);
	if (!k)
		return r;
	if (k->join) {
		r = shim_join_listen(k, fd, backlog);
		leave(k);
		return r;
	}
	shim_lock();
	if (k->type != SOCK_STREAM) {
		r = -EOPNOTSUPP;
	} else if (k->listening && shim_exposed(k) && !attached(k)) {
		/* A listener this process holds through its channel (a fork
		 * child's copy, or an exec'd image's: gunicorn's re-exec
		 * upgrade sets up the listeners it inherits as new ones):
		 * Linux's inet_listen on a listening socket only sets its
		 * backlog. Deviation: the backlog stays the one the stack's
		 * listener has; this process has no stack to give it to. */
		r = 0;
	} else if (k->ss != SHIM_SS_UNCONNECTED || k->syn_sent) {
		/* Linux's inet_listen: only a socket connect() never touched;
		 * one whose connect() sent a SYN stays refused (Linux 6.18,
		 * measured side by side: refused, disconnected or reset alike).
		 * Back in CLOSE without a port, the refusal comes after
		 * inet_csk_listen_start took an ephemeral one, which stays
		 * (getsockname shows it, bind() is EINVAL). */
		if (k->ss == SHIM_SS_UNCONNECTED && !k->bound && k->tcp && tcp_get_state(k->tcp) == TCP_STATE_CLOSED &&
		    !tcp_ended(k->tcp) && tcp_autobind(k->tcp, bind_flags(k)) == 0)
			k->bound = true;
		r = -EINVAL;
	} else if ((r = attach(k)) == 0) {
		/* Linux binds an unbound socket to an ephemeral port on listen()
		 * (inet_csk_get_port with 0), on the address a bind() with
		 * IP_BIND_ADDRESS_NO_PORT gave. */
		if (!k->bound) {
			r = tcp_autobind(k->tcp, bind_flags(k));
			if (r == 0)
				k->bound = true;
		}
		if (r == 0)
			r = tcp_listen(k->tcp, backlog);  /* a negative one is somaxconn (tcp_listen) */
		if (r == 0)
			k->listening = k->listened = true;
	}
	shim_unlock();
	if (r == 0)
		lo_listen(k, fd, backlog);
	leave(k);
	return r;
}

/*
 * accept() on an exposed listener (shim/expose.c), in the process that owns
 * the stack as in a fork child: the next connection the relay sent over the
 * channel that the listener's fd is now (stack/host/relay.h), with an
 * exposed entry of its own. No lock held: the wait is the kernel's recvmsg
 * on the channel (the listener's O_NONBLOCK, signals and SA_RESTART as for
 * the kernel's accept).
 */
static int accept_channel(struct shim_sock *k, int fd, struct sockaddr *sa, socklen_t *salen, int flags)
{
	struct shim_exposed_note en = { .family = k->family, .type = SOCK_STREAM };
	struct relay_accept_note note;
	struct sock_opts opts;
	int nfd = -1, r;

	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &note, sizeof(note) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t got = SHIM_SAFE_CALL(shim_libc.recvmsg(fd, &m, flags & SOCK_CLOEXEC ? MSG_CMSG_CLOEXEC : 0));

		if (got < 0)
			return -errno;
		if (got == 0) {
			/* The channel's end: the stack that served the listener
			 * is gone. The listener is still open here, as Linux's
			 * would be: no connection, and no error that a server
			 * would retry at once in a loop. */
			uint64_t tmo;
			int fl = shim_libc.fcntl(fd, F_GETFL);

			shim_lock();
			tmo = k->rcvtimeo_us;
			shim_unlock();
			return shim_accept_orphan(fd, fl >= 0 && (fl & O_NONBLOCK), tmo);
		}
		cm = CMSG_FIRSTHDR(&m);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&nfd, CMSG_DATA(cm), sizeof(int));
		if (nfd >= 0 && got == (ssize_t)sizeof(note) && !(m.msg_flags & MSG_CTRUNC))
			break;
		if (nfd >= 0)
			shim_libc.close(nfd);
		nfd = -1;
	}
	if ((flags & SOCK_NONBLOCK) && shim_libc.fcntl(nfd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		shim_libc.close(nfd);
		return r;
	}
	if (note.flags & RELAY_NOTE_KERNEL) {
		/* A connection to localhost, from the listener's loopback side
		 * (relay_listener_lo): the kernel's socket is the program's,
		 * as accept() on the loopback side gives it in the owner. */
		if (sa) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);

			if (SYSC(SYS_getpeername, nfd, &ss, &len) < 0)
				len = 0;
			r = sa_out_ss(&ss, (int)len, sa, salen);
			if (r < 0) {
				shim_libc.close(nfd);
				return r;
			}
		}
		return nfd;
	}
	/* Linux clones the listener's options into the new socket. */
	shim_lock();
	opts = k->opts;
	shim_unlock();
	en.local = (struct ip4_endpoint){ note.laddr, note.lport };
	en.peer = (struct ip4_endpoint){ note.paddr, note.pport };
	en.rcvbuf = note.rcvbuf;
	en.sndbuf = note.sndbuf;
	en.opts = &opts;
	en.share = relay_share_at(note.share);
	/* The peer's address first: when it cannot be written, the new
	 * socket is closed (and the connection with it), as in Linux. */
	r = sa ? sa_out(k, &en.peer, sa, salen) : 0;
	if (r == 0)
		r = shim_adopt(nfd, &en);
	if (r < 0) {
		shim_libc.close(nfd);
		return r;
	}
	/* And the listener's timeouts (sk_clone_lock copies sk_rcvtimeo and
	 * sk_sndtimeo), from its placeholder, which every process holding
	 * it shares: for the new fd's waits and for getsockopt. */
	for (int i = 0; i < 2; i++) {
		int o = i ? SO_SNDTIMEO : SO_RCVTIMEO;
		struct timeval tv;
		socklen_t tl = sizeof(tv);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, o, &tv, &tl) == 0 && (tv.tv_sec || tv.tv_usec))
			(void)shim_setsockopt(nfd, SOL_SOCKET, o, &tv, tl);
	}
	return nfd;
}

int shim_accept4(int fd, struct sockaddr *sa, socklen_t *salen, int flags)
{
	struct ip4_endpoint peer = { 0, 0 };
	struct shim_sock *k, *n;
	struct tcp_conn *c = NULL;
	uint64_t dl, inherit;
	int r, nfd, intr = 0, lo;
	bool lo_tried = false;

	k = enter(fd, &r);
	if (!k)
		return r;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		leave(k);
		return -EINVAL;
	}
	if (shim_exposed(k)) {
		r = k->type != SOCK_STREAM ? -EOPNOTSUPP :
		    !k->listening ? -EINVAL : accept_channel(k, fd, sa, salen, flags);
		leave(k);
		return r;
	}
	shim_lock();
	if (k->type != SOCK_STREAM) {
		r = -EOPNOTSUPP;
		goto out;
	}
	if (!k->listening || !k->tcp) {
		r = -EINVAL;
		goto out;
	}
	dl = deadline(k->rcvtimeo_us);
	for (;;) {
		int err = 0;

		if (shim_exposed(k)) {
			/* Exposed while this thread waited (another thread's
			 * fork): the channel has the connections now. */
			shim_unlock();
			r = accept_channel(k, fd, sa, salen, flags);
			leave(k);
			return r;
		}
		if (!k->tcp) {
			r = -EBADF;
			goto out;
		}
		c = tcp_accept(k->tcp, &err);
		if (c)
			break;
		lo = atomic_load(&k->lo_fd);
		if (err == -EAGAIN && lo >= 0 && !lo_tried) {
			/* A connection to localhost (lo_listen): the kernel's
			 * socket is the program's. Looked at: the kernel's epoll
			 * says so again if more wait (shim_lo_pull). */
			k->lo_ready = false;
			shim_unlock();
			nfd = (int)sys_accept4(lo, sa, salen, flags);
			/* EBADF: closed meanwhile (the listener exposed, or
			 * closed by another thread: sock_last_close). */
			r = nfd == -EAGAIN || nfd == -EBADF ? 0 : nfd;
			if (r != 0) {
				leave(k);
				return r;
			}
			shim_lock();
			lo_tried = true;
			continue;       /* the stack's may have one now */
		}
		lo_tried = false;
		if (err != -EAGAIN || k->nonblock) {
			r = err;
			goto out;
		}
		if (intr) {
			r = intr;
			goto out;
		}
		r = shim_wait_sock_fd(k, dl, true, lo);
		if (r == -EINTR) {
			intr = r;       /* as shim_wait_sock_intr: look once more */
			r = 0;
		}
		if (r < 0)
			goto out;
	}
	/* Linux's inet_accept asks getname with peer 2: the peer's address
	 * whatever the state, a connection reset while queued too. */
	(void)tcp_peer_kept(c, &peer);
	/*
	 * The connection is owned at once, before the lock is let go for the
	 * placeholder's socket(): by n, which sits in limbo until its fd is in
	 * the table, so that an exit() meanwhile closes it with the others
	 * (and the stack it lives in is not freed under it).
	 */
	n = shim_sock_new(k->family, SOCK_STREAM, flags & SOCK_NONBLOCK);
	if (!n) {
		/* Deviation: Linux leaves the connection queued when accept()
		 * fails for want of memory or an fd; ours is closed (reset). */
		tcp_close(c, shim_now());
		r = -ENOMEM;
		goto out;
	}
	atomic_store(&n->obj.refs, 1);      /* ours until the table has it */
	n->tcp = c;
	n->bound = true;
	n->ss = SHIM_SS_CONNECTED;
	/* Linux: an accepted socket refuses listen() for good, as one whose
	 * connect() sent a SYN (measured: after a disconnect too), and keeps
	 * the listener's bound address through a disconnect (sk_clone_lock
	 * copies SOCK_BINDADDR_LOCK); its port goes back, a connect() after
	 * the disconnect takes an ephemeral one. */
	n->syn_sent = true;
	n->addr_locked = k->addr_locked;
	/* Linux clones the listener's socket options into the new socket: the
	 * engine did (when the connection was made), the shim keeps its own. */
	n->opts = *tcp_opts(c);
	/* But not TCP_DEFER_ACCEPT: it lives in the listener's accept queue
	 * (rskq_defer_accept), which inet_csk_clone_lock zeroes in the child:
	 * 0 there. */
	if (n->opts.defer_accept) {
		n->opts.defer_accept = 0;
		(void)tcp_setopt(c, TCP_OPT_DEFER_ACCEPT, 0);
	}
	n->rcvtimeo_us = k->rcvtimeo_us;
	n->sndtimeo_us = k->sndtimeo_us;
	n->v6only = k->v6only;
	n->rx_cmsgs = k->rx_cmsgs;      /* TCP_INQ, SO_TIMESTAMP*: socket flags Linux clones */
	n->zerocopy = k->zerocopy;
	n->inherit = inherit = k->inherit;
	tcp_set_wakeup(c, &n->wake);
	shim_limbo_add(&n->obj);
	shim_unlock();

	nfd = shim_libc.socket(k->family, SOCK_STREAM | flags, 0);
	r = nfd < 0 ? -errno : 0;
	if (r == 0 && inherit)
		inherit_copy(shim_opt_fd(k, fd), nfd, inherit);
	/* Linux writes the peer's address once the connection is accepted;
	 * when it cannot (EFAULT, EINVAL), the new socket is closed and the
	 * connection gone. Written before the fd is in the table, so that no
	 * other thread can use the fd that this call then takes back. */
	if (r == 0 && sa)
		r = sa_out(n, &peer, sa, salen);

	shim_lock();
	shim_limbo_del(&n->obj);
	if (r == 0 && n->dead)
		r = -ECONNABORTED;  /* the process is exiting: the stack is gone */
	if (r == 0)
		r = shim_install(nfd, &n->obj) < 0 ? -EMFILE : 0;
	shim_unlock();
	if (r < 0) {
		if (nfd >= 0)
			shim_libc.close(nfd);
		shim_put(&n->obj);  /* closes the connection (reset), as above */
		leave(k);
		return r;
	}
	shim_put(&n->obj);      /* the table holds it now */
	leave(k);
	return nfd;
out:
	shim_unlock();
	leave(k);
	return r;
}

static bool connecting(enum tcp_state st)
{
	return st == TCP_STATE_SYN_SENT || st == TCP_STATE_SYN_RECEIVED;
}

/*
 * Stack lock held. Linux's tcp_disconnect, by replacing k's connection with a
 * new one: connect(AF_UNSPEC), and a connect() that found its attempt failed,
 * leave a socket that can connect again. The old connection is aborted (a
 * reset where Linux sends one: tcp_close with SO_LINGER 0 does, and sends
 * nothing for SYN_SENT, CLOSED or TIME_WAIT); an established or connecting
 * one leaves ECONNRESET for SO_ERROR. The new one has the socket's options;
 * the address and port that bind() gave stay (the port kept bound), and
 * getsockname() shows the old port like Linux's inet_sport.
 */
static int tcp_disconnect_sock(struct shim_sock *k)
{
	static const struct sock_wakeup none = { 0 };
	struct tcp_conn *old = k->tcp, *c;
	struct ip4_endpoint local;
	enum tcp_state st;
	bool keep;

	if (!old)
		return 0;
	c = tcp_open(shim_stack());
	if (!c)
		return -ENOBUFS;
	st = tcp_get_state(old);
	tcp_local(old, &local);
	keep = st == TCP_STATE_CLOSED && local.port && !tcp_port_released(old);
	switch (st) {
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_CLOSE_WAIT:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_FIN_WAIT_2:
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_SYN_SENT:
		k->err = -ECONNRESET;
		break;
	default: {
		/* An error pending on a connection already gone (the RST
		 * that ended it, a connect() refused) stays for the next call
		 * or SO_ERROR: tcp_disconnect sets sk_err where it resets
		 * only, it never clears it. */
		int e = tcp_take_error(old);

		if (e)
			k->err = e;
		break;
	}
	}
	tcp_disconnect_counts(c, old);
	tcp_set_wakeup(old, &none);
	(void)tcp_setopt(old, TCP_OPT_LINGER, 0);
	tcp_close(old, shim_now());
	k->tcp = c;
	tcp_set_wakeup(c, &k->wake);
	k->opts.pingpong = false;       /* tcp_disconnect: inet_csk_delack_init */
	tcp_set_opts(c, &k->opts);
	k->listening = false;
	k->bound = false;
	k->shown.addr = k->addr_locked ? local.addr : 0;
	/* Linux's inet_sport outlives the port (inet_put_port clears only
	 * inet_num): a second disconnect still shows the first one's. */
	if (local.port)
		k->shown.port = local.port;
	/* Linux's tcp_disconnect leaves a socket already in CLOSE as it is
	 * (no tcp_set_state, so no inet_put_port): a port bind() picked and
	 * no connection gave back stays bound. */
	if (k->port_locked || keep) {
		struct ip4_endpoint ep = { k->shown.addr, local.port };

		k->bound = tcp_bind_kept(c, &ep, bind_flags(k), k->port_locked) == 0;
	}
	k->ss = SHIM_SS_UNCONNECTED;
	/* Linux's tcp_disconnect ends with sk_error_report: the new state
	 * (writable, hung up, the error) reaches poll and epoll waiters, whose
	 * ready lists learn of readiness only from wake-ups (shim/poll.c),
	 * and O_ASYNC's owner gets POLL_ERR. */
	sock_async_error(k);
	shim_wq_wake(&k->wq);
	return 0;
}

/*
 * Stack lock held. Linux's __inet_stream_connect after its switch on the
 * socket state: r is -EINPROGRESS (an attempt just started) or -EALREADY
 * (one was under way). A blocking socket waits for the handshake, which a
 * timeout (SO_SNDTIMEO: r) or a signal ends; then a failed attempt answers
 * its error (ECONNABORTED when SO_ERROR took it) and leaves the socket
 * disconnected, a successful one 0 (once: connected, the socket says
 * EISCONN from then on).
 */
static int tcp_connect_wait(struct shim_sock *k, int r)
{
	if (tcp_connecting(k->tcp)) {
		uint64_t dl = deadline(k->sndtimeo_us);
		unsigned dis = k->disconnects;
		int intr = 0;

		if (k->nonblock)
			return r;
		while (k->tcp && tcp_connecting(k->tcp)) {
			int w = shim_wait_sock_intr(k, dl, true, &intr);

			if (w == -EAGAIN)
				return r;
			if (w < 0)
				return w;
		}
		if (!k->tcp)
			return -EBADF;
		/* Disconnected by another thread meanwhile (AF_UNSPEC):
		 * __inet_stream_connect's EPIPE, the error left on the socket. */
		if (k->disconnects != dis)
			return -EPIPE;
	}
	/* An attempt that ended, TIME_WAIT too (Linux's tcp_time_wait leaves
	 * the socket in CLOSE): a connection to itself whose FIN came back. */
	if (tcp_get_state(k->tcp) == TCP_STATE_CLOSED || tcp_ended(k->tcp)) {
		int e = tcp_take_error(k->tcp);

		/* Moved to a share at a fork (expose.c, share_failed): taken
		 * once, by whichever process asks first. */
		if (!e && k->fail_share)
			e = atomic_exchange(&k->share->err, 0);

		/* Disconnected meanwhile (shutdown() or connect(AF_UNSPEC) from
		 * another thread: tcp_disconnect's ECONNRESET on the socket),
		 * which Linux's __inet_stream_connect takes (sock_error). */
		if (!e)
			e = k->err;
		k->disconnects++;       /* sock_error: sk_disconnects++ */
		(void)tcp_disconnect_sock(k);
		k->err = 0;
		return e ? e : -ECONNABORTED;
	}
	k->ss = SHIM_SS_CONNECTED;
	return 0;
}

/* A send with MSG_FASTOPEN that connects (Linux's tcp_sendmsg_fastopen):
 * its buffers, and the bytes the SYN took of them. */
struct fo_req {
	const struct sock_iov *v;
	int cnt;
	long taken;
};

/* Stack lock held. connect() on a TCP socket (a is what sa_in() said); fo:
 * the send with MSG_FASTOPEN that connects, or NULL. */
static int tcp_connect_sock(struct shim_sock *k, int a, const struct ip4_endpoint *ep,
			    struct shim_epitem **moved, struct fo_req *fo)
{
	int r;

	if (k->dead)
		return -EBADF;
	if (a == ADDR_UNSPEC) {
		/* Linux: a disconnect, whatever the state (0 for a socket that
		 * never connected). */
		k->disconnects++;
		/* Linux's tcp_disconnect moves write_seq even on a socket
		 * that never connected (SIOCOUTQNSD 2, TCP_NOTSENT_LOWAT's
		 * poll): the stack object keeps that gap. */
		if (!k->tcp && !k->join && !k->moved && !shim_exposed(k) && !(k->family == AF_INET6 && k->v6only))
			(void)attach(k);
		r = tcp_disconnect_sock(k);
		if (r == 0)
			k->ss = SHIM_SS_UNCONNECTED;
		return r;
	}
	/* The socket's state answers before the address is looked at (a bad
	 * length under 2 bytes, or a bad pointer, was refused first). */
	if (a != -EFAULT) {
		switch (k->ss) {
		case SHIM_SS_CONNECTED:
			return -EISCONN;
		case SHIM_SS_CONNECTING:
			/* TCP_FASTOPEN_CONNECT held the SYN: the socket counts
			 * as connected (__inet_stream_connect's DEFER_CONNECT
			 * case: EISCONN for connect(), the send starts it). */
			if (!fo && k->tcp && tcp_fastopen_deferred(k->tcp))
				return -EISCONN;
			return tcp_connect_wait(k, -EALREADY);
		case SHIM_SS_DISCONNECTING:
			return -EINVAL;
		case SHIM_SS_UNCONNECTED:
			if (k->tcp && tcp_get_state(k->tcp) != TCP_STATE_CLOSED)
				return -EISCONN;   /* a listener */
			break;
		}
	}
	if (a < 0)
		return a;
	/* A socket that listened refuses to connect even once it stopped
	 * (tcp_v4_connect answers EINVAL after the address's checks, to a
	 * loopback address too). */
	if (k->type == SOCK_STREAM && k->listened)
		return -EINVAL;
	if (a == ADDR_LOOP) {
		if (attached(k) && !move_to_lo(k, moved))
			return -ENETUNREACH;   /* Deviation: in use in the stack, it cannot move to the kernel */
		if (!k->moved)
			*moved = release(k);
		return SHIM_PASS;
	}
	r = attach(k);
	if (r < 0)
		return r;
	k->err = 0;     /* Linux's tcp_connect_init clears a disconnect's error */
	if (fo) {
		/* RFC 7413: the SYN asks for a cookie, or carries the one the
		 * stack has for the peer and the start of the data. */
		long n = tcp_connect_fastopen(k->tcp, ep, fo->v, fo->cnt, false, shim_now());

		if (n >= 0)
			fo->taken = n;
		r = n >= 0 ? -EINPROGRESS : (int)n;     /* -EOPNOTSUPP: the namespace's client side off */
	} else if (k->fo_connect) {
		/* TCP_FASTOPEN_CONNECT with a cookie for the peer: 0, and the
		 * first write sends the SYN with its data (Linux's
		 * tcp_fastopen_defer_connect); without, a SYN asking for one. */
		r = tcp_connect_defer(k->tcp, ep, shim_now());
		if (r == 0) {
			k->bound = true;
			k->ss = SHIM_SS_CONNECTING;
			k->syn_sent = true;
			return 0;
		}
	} else {
		r = tcp_connect(k->tcp, ep, shim_now());
	}
	if (r != -EINPROGRESS)
		return r;
	k->bound = true;
	k->ss = SHIM_SS_CONNECTING;
	k->syn_sent = true;
	k->async_seen = shim_sock_poll(k);  /* O_ASYNC: the connect's end is an edge */
	/* A SYN to the stack's own address is answered before connect()
	 * returns, as Linux's release_sock runs the backlog the loopback
	 * filled: after it looked at the state when non-blocking
	 * (EINPROGRESS, the connection made), before when blocking (a
	 * connection to itself after a shutdown(SHUT_WR) in CLOSE has had its
	 * FIN back: ECONNABORTED). */
	if (k->nonblock) {
		r = tcp_connect_wait(k, -EINPROGRESS);
		stack_loop_flush(shim_stack(), shim_now());
		return r;
	}
	stack_loop_flush(shim_stack(), shim_now());
	return tcp_connect_wait(k, -EINPROGRESS);
}

static int connect_fo(int fd, const struct sockaddr *sa, socklen_t len, struct fo_req *fo);

int shim_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return connect_fo(fd, sa, len, NULL);
}

static bool framed(struct shim_sock *k);
static struct ip4_endpoint framed_peer(const struct shim_sock *k);
static uint32_t framed_src(const struct shim_sock *k);
static int framed_connect(struct shim_sock *k, const struct sockaddr *sa, socklen_t len);
static int join_dgram_autobind(struct shim_sock *k, const struct sockaddr *sa, socklen_t salen);

/* connect(), or the connect of a send with MSG_FASTOPEN (fo). */
static int connect_fo(int fd, const struct sockaddr *sa, socklen_t len, struct fo_req *fo)
{
	struct ip4_endpoint ep = { 0, 0 };
	struct shim_epitem *moved = NULL;
	struct sockaddr_storage ss;
	struct shim_sock *k;
	bool unspec = false;
	int r, lo = -1;

	k = enter(fd, &r);
	if (!k)
		return r;
	r = sa_import(&ss, sa, len);
	if (r < 0) {
		leave(k);
		return r;
	}
	if (framed(k)) {
		r = framed_connect(k, (struct sockaddr *)&ss, len);
		leave(k);
		return r;
	}
	if (k->type == SOCK_DGRAM && len >= sizeof(sa_family_t) && ss.ss_family != AF_UNSPEC &&
	    (r = join_dgram_autobind(k, (struct sockaddr *)&ss, len)) != 0) {
		/* A joiner's, now framed: connect() as on a fork child's copy. */
		r = r < 0 ? r : framed_connect(k, (struct sockaddr *)&ss, len);
		leave(k);
		return r;
	}
	shim_lock();
	r = addr_host(k, sa_in(k, (struct sockaddr *)&ss, len, SA_CONNECT, &ep));
	if (k->fail_share && !k->tcp && k->ss == SHIM_SS_CONNECTING && !(r == -EINVAL && len < sizeof(sa_family_t))) {
		/* A fork child's copy of a socket whose connect failed before
		 * the fork (expose.c, share_failed): Linux's
		 * __inet_stream_connect answers the error, or ECONNABORTED
		 * once SO_ERROR took it, and leaves the socket unconnected:
		 * the next connect() is a joiner's (shim/join.c). */
		int err = atomic_exchange(&k->share->err, 0);

		r = err ? err : -ECONNABORTED;
		k->ss = SHIM_SS_UNCONNECTED;
		k->share = NULL;
		k->fail_share = false;
		shim_unlock();
		leave(k);
		return r;
	}
	if (k->join && k->type == SOCK_STREAM && (r == ADDR_STACK || k->ss != SHIM_SS_UNCONNECTED || k->listening)) {
		/* A joiner's: the owner's stack connects it (shim/join.c). */
		shim_unlock();
		r = shim_join_connect(k, fd, &ep);
		leave(k);
		return r;
	}
	if (k->share && !k->tcp && k->type == SOCK_STREAM) {
		/* A fork child's socket exposed while connecting (shim/expose.c):
		 * what its connection came to, as Linux's connect() again. */
		int st = atomic_load(&k->share->conn), err = atomic_exchange(&k->share->err, 0);

		r = err ? err : st == 0 ? -EALREADY : st > 0 ? -EISCONN : st;
	} else if (k->type == SOCK_STREAM && !(r == -EINVAL && len < sizeof(sa_family_t))) {
		r = tcp_connect_sock(k, r, &ep, &moved, fo);
	} else if (r == ADDR_UNSPEC) {
		/* Dissolves a UDP association (connect(2)); a port bind() did
		 * not name goes with it (udp_disconnect), and a device bound
		 * (SO_BINDTODEVICE, the placeholder's) too, below. */
		if (k->udp) {
			struct ip4_endpoint l;

			udp_disconnect(k->udp);
			udp_local(k->udp, &l);
			if (!l.port)
				k->bound = false;
		}
		r = 0;
		unspec = true;
	} else if (r == ADDR_LOOP) {
		if (attached(k) && !move_to_lo(k, &moved)) {
			/* Deviation: a socket in use in the stack (a datagram
			 * heard) cannot move to the kernel's loopback. Its
			 * port is taken first, as inet_dgram_connect's
			 * autobind before ip6_datagram_connect finds no route
			 * (one a disconnect let go: inet6_global_from_stack_udp). */
			if (udp_send_prepare(k->udp) == 0)
				k->bound = true;
			r = -ENETUNREACH;
		} else {
			if (!k->moved)
				moved = release(k);
			r = SHIM_PASS;
		}
	} else if (r < 0 && len >= sizeof(sa_family_t)) {
		/* Linux's inet_dgram_connect binds an unbound socket before
		 * the protocol judges the address (ip4_datagram_connect,
		 * ip6_datagram_connect): a refused connect() leaves the port
		 * taken, as a refused send does. */
		if (attach(k) == 0 && udp_send_prepare(k->udp) == 0)
			k->bound = true;
	} else if (r == ADDR_STACK && (r = attach(k)) == 0) {
		r = udp_connect(k->udp, &ep);
		if (r == 0) {
			k->bound = true;
			/* Connected to a peer of the stack's side: Linux's hears
			 * that peer only, never localhost (lo_udp). */
			lo = atomic_exchange(&k->lo_fd, -1);
		}
	}
	shim_unlock();
	if (lo >= 0) {
		shim_epoll_lo_removed(k, lo);
		shim_lo_close(lo);
	}
	if (unspec && shim_libc.connect) {
		/* The placeholder's own disconnect clears what the kernel keeps
		 * there: the device (__udp_disconnect: sk_bound_dev_if = 0). */
		struct sockaddr u = { .sa_family = AF_UNSPEC };

		(void)shim_libc.connect(shim_opt_fd(k, fd), &u, sizeof(u));
	}
	if (r == SHIM_PASS) {
		int b = move_to_lo_bind(k, fd);

		if (b < 0)
			r = b;
	}
	shim_epoll_to_kernel(moved, fd);
	/* A connected UDP socket's fd goes live, armed (shim/expose.c): a raw
	 * sendmmsg() through it is seen, and exposes it. */
	if (r == 0 && k->type == SOCK_DGRAM)
		shim_arm(k);
	leave(k);
	return r;
}

int shim_shutdown(int fd, int how)
{
	struct shim_sock *k;
	struct shim_epitem *moved = NULL;
	int r, lo = -1;
	bool pass = false;

	k = enter_data(fd, &r);
	if (!k)
		return r;
	if (how < SHUT_RD || how > SHUT_RDWR) {
		leave(k);
		return -EINVAL;
	}
	shim_lock();
	if (k->type == SOCK_STREAM) {
		enum tcp_state st = k->tcp ? tcp_get_state(k->tcp) : TCP_STATE_CLOSED;

		/* Linux's inet_shutdown: a socket connect() left connecting is
		 * connected now, or disconnecting (then connect() says EINVAL);
		 * one still in SYN_SENT is disconnected (it can connect again). */
		if (k->ss == SHIM_SS_CONNECTING)
			k->ss = connecting(st) || st == TCP_STATE_CLOSED ? SHIM_SS_DISCONNECTING : SHIM_SS_CONNECTED;
		/* A socket never in the stack takes the bits too (tcp_shutdown
		 * in CLOSE): a later connect() or listen() keeps them. An
		 * IPv6-only one is the kernel's to serve (the stack speaks
		 * IPv4 only): it goes to the kernel now, which keeps the bits
		 * (ENOTCONN; a read is 0 then) and binds it later. */
		if (!k->tcp && !k->join && !k->moved && !shim_exposed(k)) {
			if (k->family == AF_INET6 && k->v6only) {
				moved = release(k);
				pass = true;
			} else {
				(void)attach(k);
			}
		}
		if (st == TCP_STATE_SYN_SENT && !k->dead)
			r = tcp_disconnect_sock(k);
		else if (k->tcp && tcp_ended(k->tcp))
			r = -ENOTCONN;  /* Linux's socket is CLOSE then (tcp_done) */
		else
			r = k->tcp ? tcp_shutdown(k->tcp, how, shim_now()) : -ENOTCONN;
		/* A listener shut down gave its port back unless bind() named
		 * it: bind() and listen() take another (Linux's __inet_bind
		 * looks at inet_num). */
		if (st == TCP_STATE_LISTEN && r == 0 && tcp_port_released(k->tcp))
			k->bound = false;
		/* Its loopback side stops listening with it (closed: a new
		 * listen() makes another). */
		if (st == TCP_STATE_LISTEN && r == 0 && k->tcp && tcp_get_state(k->tcp) != TCP_STATE_LISTEN)
			lo = atomic_exchange(&k->lo_fd, -1);
		/* SHUT_RD ends a listener (inet_shutdown: tcp_disconnect): no
		 * longer SO_ACCEPTCONN, and FIONREAD's 0 instead of EINVAL;
		 * SHUT_WR alone leaves it listening. */
		if (st == TCP_STATE_LISTEN && r == 0 && how != SHUT_WR) {
			k->listening = false;
			sock_async_error(k);    /* tcp_disconnect's sk_error_report */
		}
	} else {
		/* Linux's inet_shutdown: an unconnected UDP socket answers
		 * ENOTCONN, but the shutdown still takes effect (it wakes a
		 * blocked recv, which then returns 0). Connected to a port 0
		 * (connect() to 0.0.0.0:0) is connected (TCP_ESTABLISHED). */
		k->udp_shut |= how + 1;
		r = k->udp && udp_connected(k->udp) ? 0 : -ENOTCONN;
	}
	/* Threads blocked in recv/accept on this socket re-check now. */
	sock_wakeup(k);
	shim_unlock();
	shim_lo_close(lo);
	shim_epoll_to_kernel(moved, fd);
	leave(k);
	return pass ? SHIM_PASS : r;
}

int shim_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct ip4_endpoint ep = { 0, 0 };
	struct shim_sock *k;
	int r;

	k = enter(fd, &r);
	if (!k)
		return r;
	if (shim_join_pending(k))
		shim_join_settle(k);
	shim_lock();
	if (framed(k)) {
		ep = k->local;
		if (!k->addr_locked)
			ep.addr = framed_src(k);        /* the source framed_connect chose */
	} else if (k->tcp)
		tcp_local(k->tcp, &ep);
	else if (k->udp)
		udp_local(k->udp, &ep);
	else if (shim_exposed(k) || k->join)
		ep = k->local;  /* no stack object here (a child, a joiner), or no longer */
	if (k->tcp && !ep.port)
		ep = k->shown;  /* after a disconnect (tcp_disconnect_sock) */
	shim_unlock();
	if (k->mapped_any && !ep.addr) {
		/* Bound to ::ffff:0.0.0.0: Linux keeps that (not ::) in
		 * sk_v6_rcv_saddr, and shows it. */
		struct sockaddr_storage ss;
		socklen_t full = sa_fill(k, &ep, &ss);

		((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr[10] = 0xff;
		((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr[11] = 0xff;
		r = sa_out_ss(&ss, (int)full, sa, len);
	} else {
		r = sa_out(k, &ep, sa, len);
	}
	leave(k);
	return r;
}

/* Lock held: the peer's address (getpeername, SO_PEERNAME), or -ENOTCONN. */
static int peer_of(struct shim_sock *k, struct ip4_endpoint *ep)
{
	if (framed(k)) {
		/* The association kept beside the relay (framed_connect). */
		*ep = framed_peer(k);
		return ep->port ? 0 : -ENOTCONN;
	}
	if (k->tcp) {
		/* A connection that ended (TIME_WAIT too): Linux's socket is
		 * CLOSE (tcp_time_wait, tcp_done). */
		return tcp_connecting(k->tcp) || tcp_ended(k->tcp) ? -ENOTCONN : tcp_peer(k->tcp, ep);
	}
	if (k->udp)
		return udp_peer(k->udp, ep);
	if (shim_exposed(k) && k->peer.port) {
		/* Exposed while connecting (a fork in SYN_SENT): connected
		 * once the share says so (relay.h: conn), as Linux's
		 * getpeername in SYN_SENT and after a failed connect. */
		if (k->share && k->type == SOCK_STREAM && !k->listening && atomic_load(&k->share->conn) <= 0)
			return -ENOTCONN;
		*ep = k->peer;  /* no stack object here (a child), or no longer */
		return 0;
	}
	return -ENOTCONN;
}

int shim_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct ip4_endpoint ep = { 0, 0 };
	struct shim_sock *k;
	int r;

	k = enter(fd, &r);
	if (!k)
		return r;
	if (shim_join_pending(k))
		shim_join_settle(k);
	shim_lock();
	r = peer_of(k, &ep);
	shim_unlock();
	if (r == 0)
		r = sa_out(k, &ep, sa, len);
	leave(k);
	return r;
}

/* ---- data ---- */

/* Linux's UIO_FASTIOV (iovec arrays up to this size need no allocation) and
 * MAX_RW_COUNT (the most one call moves). */
#define SHIM_FASTIOV 8
#define SHIM_MAX_RW 0x7ffff000ul

_Static_assert(sizeof(struct iovec) == sizeof(struct sock_iov) &&
	       offsetof(struct iovec, iov_base) == offsetof(struct sock_iov, base) &&
	       offsetof(struct iovec, iov_len) == offsetof(struct sock_iov, len),
	       "struct sock_iov is struct iovec, field for field");

/*
 * The program's iovec array copied in, as Linux's import_iovec does it:
 * cnt <= IOV_MAX (the caller checks), EFAULT when the array cannot be read,
 * EINVAL for a length that is negative as an ssize_t, and the total capped
 * at SHIM_MAX_RW (the lengths past it shortened). *v is fast when cnt fits,
 * else allocated (iov_free).
 */
static int iov_import(const struct iovec *uiov, size_t cnt, struct sock_iov *fast, struct sock_iov **v)
{
	struct sock_iov *a = fast;
	size_t total = 0;

	if (cnt > SHIM_FASTIOV && !(a = malloc(cnt * sizeof(*a))))
		return -ENOMEM;
	if (shim_copy(a, uiov, cnt * sizeof(*a))) {
		if (a != fast)
			free(a);
		return -EFAULT;
	}
	for (size_t i = 0; i < cnt; i++) {
		if ((ssize_t)a[i].len < 0) {
			if (a != fast)
				free(a);
			return -EINVAL;
		}
	}
	/* Linux's __import_iovec: each buffer must lie in the address space
	 * (access_ok: EFAULT before anything is read or written), with the
	 * length asked for; one buffer alone is cut to MAX_RW_COUNT first
	 * (import_ubuf). Then the total is cut to MAX_RW_COUNT. */
	for (size_t i = 0; i < cnt; i++) {
		if (cnt == 1 && a[i].len > SHIM_MAX_RW)
			a[i].len = SHIM_MAX_RW;
		if (!shim_user_range_ok(a[i].base, a[i].len)) {
			if (a != fast)
				free(a);
			return -EFAULT;
		}
		if (a[i].len > SHIM_MAX_RW - total)
			a[i].len = SHIM_MAX_RW - total;
		total += a[i].len;
	}
	*v = a;
	return 0;
}

static void iov_free(struct sock_iov *v, const struct sock_iov *fast)
{
	if (v != fast)
		free(v);
}

/* One buffer (read, write, send, recv): the same cap. */
static struct sock_iov iov_one(const void *buf, size_t len)
{
	return (struct sock_iov){ (void *)buf, len < SHIM_MAX_RW ? len : SHIM_MAX_RW };
}

static size_t iov_total(const struct sock_iov *v, int cnt)
{
	size_t t = 0;

	for (int i = 0; i < cnt; i++)
		t += v[i].len;
	return t;
}

/* Moves *v and *cnt past n bytes (the caller's own copy of the array). */
static void iov_advance(struct sock_iov **v, int *cnt, size_t n)
{
	while (*cnt && n >= (*v)->len) {
		n -= (*v)->len;
		(*v)++;
		(*cnt)--;
	}
	if (*cnt) {
		(*v)->base = (char *)(*v)->base + n;
		(*v)->len -= n;
	}
}

/* Stack lock held: the error a disconnect left (tcp_disconnect_sock), taken
 * by the next send or receive like Linux's sock_error(). */
static int take_sock_err(struct shim_sock *k)
{
	int e = k->err;

	k->err = 0;
	return e;
}

/* sendmsg()'s control messages, checked as the kernel checks them (err, the
 * error to give once the destination is known), with what they ask of one
 * datagram (o) or one TCP send (a SO_TIMESTAMPING message's TX flags). */
struct tx_cmsgs {
	int err;
	struct udp_tx_opts o;
	bool has_ts;
	uint32_t ts;
};

/*
 * Stack lock held, after a TCP send call queued bytes: its last byte asks
 * for send timestamps (SO_TIMESTAMPING's TX flags, or the call's own
 * SO_TIMESTAMPING control message, Linux's tcp_tx_timestamp) and, with
 * MSG_ZEROCOPY on a SO_ZEROCOPY socket, a completion with the call's id.
 * The data is copied (Linux reports SO_EE_CODE_ZEROCOPY_COPIED then too).
 */
static void tcp_tx_mark(struct shim_sock *k, int flags, const struct tx_cmsgs *cm)
{
	uint32_t rec = cm && cm->has_ts ? cm->ts : k->opts.tsflags;
	unsigned ts = (rec & SOF_TIMESTAMPING_TX_SCHED ? TCP_TS_SCHED : 0u) |
		      (rec & SOF_TIMESTAMPING_TX_SOFTWARE ? TCP_TS_SND : 0u) |
		      (rec & SOF_TIMESTAMPING_TX_ACK ? TCP_TS_ACK : 0u);
	bool zc = (flags & MSG_ZEROCOPY) && k->zerocopy;

	if (!k->tcp || (!ts && !zc))
		return;
	if (tcp_mark_send(k->tcp, ts, zc, k->zc_next, shim_now()) == 0 && zc)
		k->zc_next++;
}

/* Copies n bytes gathered from v into a send queue's lent room. */
static int claim_fill(const struct tcp_ring_claim *cl, const struct sock_iov *v, int cnt, size_t n)
{
	size_t r = 0, at = 0;

	for (int i = 0; i < cnt && n; i++) {
		const char *p = v[i].base;
		size_t left = v[i].len < n ? v[i].len : n;

		n -= left;
		while (left) {
			size_t run = cl->len[r] - at < left ? cl->len[r] - at : left;
			int rc = shim_copy(cl->p[r] + at, p, run);

			if (rc)
				return rc;
			p += run;
			left -= run;
			at += run;
			if (at == cl->len[r]) {
				r++;
				at = 0;
			}
		}
	}
	return 0;
}

/*
 * Stack lock held (let go and taken again). tcp_sendv with the copy made
 * without the stack lock (stack/CONCURRENCY.md, "The send copy"): the room
 * claimed under the lock, the program's bytes copied into it without, and
 * counted and pushed under the lock again. k's send_mu keeps the other
 * senders of the socket out meanwhile (Linux's lock_sock); one that finds
 * it taken without a claim out (a sender waiting for a claim to end, for
 * a moment) copies under the lock as before.
 */
static long tcp_sendv_unlocked(struct shim_sock *k, struct sock_iov *v, int cnt)
{
	struct tcp_conn *c = k->tcp;
	struct tcp_ring_claim cl;
	size_t len = iov_total(v, cnt);
	long n;
	int rc;

	if (pthread_mutex_trylock(&k->send_mu) != 0)
		return tcp_sendv(c, v, cnt, shim_now());
	n = tcp_send_claim(c, len, &cl);
	if (n <= 0) {
		pthread_mutex_unlock(&k->send_mu);
		return n;
	}
	shim_unlock();
	rc = claim_fill(&cl, v, cnt, cl.n);
	shim_lock();
	if (k->tcp != c) {
		/* Closed meanwhile by another thread (tcp_close took the claim
		 * back): only the claim's reference on the memory is ours. */
		tcp_ring_claim_drop(&cl);
		n = rc ? rc : -EBADF;
	} else {
		n = tcp_send_commit(c, &cl, len, rc, shim_now());
	}
	pthread_mutex_unlock(&k->send_mu);
	return n;
}

/* Stack lock held (let go and taken again): waits until the send of another
 * thread that claimed k's send queue has committed. */
static void tcp_wait_claim(struct shim_sock *k)
{
	shim_unlock();
	pthread_mutex_lock(&k->send_mu);
	pthread_mutex_unlock(&k->send_mu);
	shim_lock();
}

/* Stack lock held. -EPIPE: the caller raises SIGPIPE (sock_send). v is the
 * caller's copy, moved on as bytes go. */
static ssize_t tcp_send_iov_raw(struct shim_sock *k, struct sock_iov *v, int cnt, int flags)
{
	bool nonblock = k->nonblock || (flags & MSG_DONTWAIT);
	uint64_t dl = deadline(k->sndtimeo_us);
	struct sock_iov none = { NULL, 0 }, *last;
	size_t total = 0;
	int intr = 0;

	if (!k->tcp)
		return -EPIPE;  /* Linux: sending on a socket that never connected */
	if (!cnt) {
		v = &none;      /* nothing to send still meets the state's checks */
		cnt = 1;
	}
	last = v + cnt - 1;
	while (last > v && !last->len)
		last--;
	if (k->err)
		return take_sock_err(k);
	while (cnt) {
		long n;

		/* Empty buffers are skipped, but a call that sends nothing at
		 * all still goes through the checks (Linux's tcp_sendmsg_locked:
		 * EPIPE after a shutdown or a reset, EAGAIN or the handshake's
		 * wait while connecting), with its last one. */
		if (v->len == 0 && (cnt > 1 || total)) {
			v++;
			cnt--;
			continue;
		}
		if (!k->tcp)
			return total ? (ssize_t)total : -EBADF;
		/* Exposed while a copy ran without the lock: the rest is the
		 * kernel fd's (the relay's writes come after what went in). */
		if (total && shim_exposed(k))
			return (ssize_t)total;
		/* Linux (tcp_sendmsg_locked, do_error): after a partial send the
		 * pending error stays for the next call. */
		if (total && (tcp_poll(k->tcp) & SOCK_POLLERR))
			return (ssize_t)total;
		/* Another thread's send is copying into the queue (Linux's
		 * lock_sock would hold this one until it is done). */
		if (tcp_send_claimed(k->tcp)) {
			tcp_wait_claim(k);
			continue;
		}
		/* MSG_MORE: the partial segment at the end waits (Linux's
		 * TCP_NAGLE_CORK for this call); a call without it sends it. */
		tcp_set_more(k->tcp, (flags & MSG_MORE) != 0);
		/* MSG_OOB: the urgent pointer follows the data queued (Linux's
		 * tcp_mark_urg at each push): the last byte sent is the urgent one.
		 * Linux pushes a call's data at its end, not per iovec: the
		 * buffers before the last go without it. */
		if ((flags & MSG_OOB) && v < last)
			n = tcp_sendv(k->tcp, v, (int)(last - v), shim_now());
		else
			n = flags & MSG_OOB ? tcp_sendv_urg(k->tcp, v, cnt, shim_now()) : tcp_sendv_unlocked(k, v, cnt);
		if (n > 0) {
			total += (size_t)n;
			iov_advance(&v, &cnt, (size_t)n);
			continue;
		}
		if (n == -EAGAIN)
			k->async_nospace = true;   /* sk_stream_wait_memory, or do_error */
		if (n == -ENOTCONN) {
			enum tcp_state st = tcp_get_state(k->tcp);

			if (connecting(st)) {
				n = -EAGAIN;   /* wait for the handshake, like sk_stream_wait_connect */
			} else if (st == TCP_STATE_CLOSED || st == TCP_STATE_LISTEN) {
				n = -EPIPE;
			}
		}
		if (n == -EAGAIN && !nonblock) {
			unsigned dis = k->disconnects;
			/* A signal never restarts a send that has put bytes in:
			 * it ends with their count, SA_RESTART or not
			 * (tcp_sendmsg_locked's do_error: copied wins over
			 * sk_stream_wait_memory's -ERESTARTSYS). */
			int w = shim_wait_sock_intr(k, dl, total == 0, &intr);

			if (w == 0 && shim_exposed(k))
				return total ? (ssize_t)total : SHIM_PASS;  /* the kernel fd's now */
			/* Disconnected meanwhile: sk_stream_wait_memory's EPIPE,
			 * which sk_stream_error trades for the socket's error. */
			if (w == 0 && k->disconnects != dis)
				w = total || !k->err ? -EPIPE : take_sock_err(k);
			else if (w == 0)
				continue;
			n = w;
		}
		/* EFAULT included: the bytes that went before it are the answer. */
		if (total)
			return (ssize_t)total;
		return n;
	}
	/* MSG_EOR: the whole message went into the buffer, it ends a record
	 * (Linux marks the skb only then). */
	if ((flags & MSG_EOR) && total && k->tcp)
		tcp_mark_eor(k->tcp);
	return (ssize_t)total;
}

/* Stack lock held. A control message TCP refuses (cm_err): Linux's
 * tcp_sendmsg_locked reads them only once the connection is there
 * (sk_stream_wait_connect first: EPIPE unless connected or connecting,
 * EAGAIN or the handshake's wait while connecting, the socket's error). */
static ssize_t tcp_cmsg_err(struct shim_sock *k, int flags, int cm_err)
{
	enum tcp_state st = k->tcp ? tcp_get_state(k->tcp) : TCP_STATE_CLOSED;
	ssize_t r;

	if (st == TCP_STATE_ESTABLISHED || st == TCP_STATE_CLOSE_WAIT)
		return cm_err;
	/* Nothing to send meets the same checks (and waits the same way). */
	r = tcp_send_iov_raw(k, NULL, 0, flags);
	return r == 0 ? cm_err : r;
}

static ssize_t tcp_send_iov(struct shim_sock *k, struct sock_iov *v, int cnt, int flags,
			    const struct tx_cmsgs *cm)
{
	ssize_t n = tcp_send_iov_raw(k, v, cnt, flags);

	if (n > 0)
		tcp_tx_mark(k, flags, cm);
	return n;
}

/*
 * Stack lock held. A datagram to dst (NULL: the connected peer; -EPIPE
 * after shutdown(SHUT_WR)). addr_err: what the check of
 * the address the call gave found (0 when none), reported in Linux's order:
 * after the autobind (inet_send_prepare), and after udp_sendmsg's bound on
 * the length and its MSG_OOB refusal, unless addr_v6 says udpv6_sendmsg
 * found it first (an AF_INET6 socket's own address family).
 */
static ssize_t udp_send_iov(struct shim_sock *k, const struct sock_iov *v, int cnt, int flags,
			    const struct ip4_endpoint *dst, int addr_err, bool addr_v6, const struct tx_cmsgs *cm)
{
	bool nonblock = k->nonblock || (flags & MSG_DONTWAIT);
	uint64_t dl = deadline(k->sndtimeo_us);
	size_t len = iov_total(v, cnt);
	const struct udp_tx_opts *po = cm ? &cm->o : NULL;
	struct udp_tx_opts dro;
	const void *buf;
	char *bounce = NULL;
	long n;
	int r, intr = 0;

	/* Linux's inet_send_prepare binds an unbound socket first, whatever
	 * becomes of the send. */
	r = attach(k);
	if (r < 0)
		return r;
	r = udp_send_prepare(k->udp);
	if (r < 0)
		return r;
	k->bound = true;
	if (addr_err && addr_v6)
		return addr_err;
	/* udpv6_sendmsg wants a destination before it hands the datagram to
	 * udp_sendmsg (unless one waits, corked). Connected to port 0 (to
	 * 0.0.0.0:0), it hands over the v4-mapped peer as an address, whose
	 * port 0 udp_sendmsg refuses after its first checks (EINVAL). */
	if (k->family == AF_INET6 && !dst && !addr_err && !udp_corked(k->udp)) {
		struct ip4_endpoint peer;

		if (!udp_connected(k->udp))
			return -EDESTADDRREQ;
		if (udp_peer(k->udp, &peer) != 0)
			addr_err = -EINVAL;
	}
	/* udp_sendmsg's first checks; the address next; the datagram's
	 * bound (65507) only after it (udp_sendmsg in the stack). */
	if (len > 0xFFFF)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	/* A corked datagram takes the bytes before udp_sendmsg looks at
	 * the address (up->pending): not even a refused one counts. */
	if (addr_err && !udp_corked(k->udp))
		return addr_err;
	/* Linux's udp_sendmsg: the control messages after the address, and
	 * not at all when a corked datagram takes the bytes (up->pending:
	 * neither refused nor malformed ones count). */
	if (cm && cm->err && !udp_corked(k->udp)) {
		struct ip4_endpoint peer;

		return !dst && udp_peer(k->udp, &peer) != 0 ? -EDESTADDRREQ : cm->err;
	}
	/* SHUT_WR's EPIPE comes from sock_alloc_send_pskb, after the address,
	 * route and broadcast checks, and a probe (MSG_PROBE) never reaches
	 * it. */
	if (flags & (MSG_DONTROUTE | MSG_PROBE | MSG_MORE) || (k->udp_shut & 2)) {
		dro = cm ? cm->o : (struct udp_tx_opts){ .tos = -1 };
		dro.dontroute |= (flags & MSG_DONTROUTE) != 0;
		dro.probe = (flags & MSG_PROBE) != 0;
		dro.more = (flags & MSG_MORE) != 0;
		dro.shut_wr = (k->udp_shut & 2) != 0;
		po = &dro;
	}
	if (cnt == 1 || (flags & MSG_PROBE)) {
		buf = v[0].base;    /* the stack's copy reads it (shim_copy) */
	} else {
		size_t o = 0;

		bounce = malloc(len ? len : 1);
		if (!bounce)
			return -ENOMEM;
		for (int i = 0; i < cnt; i++) {
			if (shim_copy(bounce + o, v[i].base, v[i].len)) {
				free(bounce);
				return -EFAULT;
			}
			o += v[i].len;
		}
		buf = bounce;
	}
	for (;;) {
		if (!k->udp) {
			n = -EBADF;
			break;
		}
		n = udp_sendmsg(k->udp, buf, len, dst, po, shim_now());
		if (n >= 0 || n != -EAGAIN || nonblock)
			break;
		r = shim_wait_sock_intr(k, dl, true, &intr);
		if (r < 0 || shim_exposed(k)) {
			n = r < 0 ? r : SHIM_PASS;
			break;
		}
	}
	if (n >= 0)
		k->bound = true;
	/* A datagram that left frees its buffer: Linux's sock_wfree calls
	 * sk_write_space, a new EPOLLOUT edge for edge-triggered epoll and
	 * a wake for poll (not for one held back by MSG_MORE or UDP_CORK,
	 * nor a MSG_PROBE). */
	if (n >= 0 && !(flags & (MSG_MORE | MSG_PROBE)) && !k->opts.udp_cork)
		shim_wq_wake(&k->wq);
	/* A datagram to ourselves arrives (or its ICMP error comes back)
	 * before the send returns, as over Linux's loopback. */
	if (n >= 0)
		stack_loop_flush(shim_stack(), shim_now());
	free(bounce);
	return n;
}

/* Moves v (cnt buffers) past its first n bytes; returns the buffers left. */
static int iov_skip(struct sock_iov *v, int cnt, size_t n)
{
	int i = 0;

	while (i < cnt && n >= v[i].len) {
		n -= v[i].len;
		i++;
	}
	if (i < cnt) {
		v[i].base = (char *)v[i].base + n;
		v[i].len -= n;
	}
	if (i)
		memmove(v, v + i, (size_t)(cnt - i) * sizeof(*v));
	return cnt - i;
}

/* What a send with fast open returns: the SYN's bytes and then what the
 * send of the rest gave (its error only when the SYN took nothing, as
 * Linux's tcp_sendmsg_locked adds copied_syn). */
static ssize_t fastopen_result(long taken, ssize_t n)
{
	if (taken <= 0)
		return n;
	return n > 0 ? taken + n : taken;
}

/*
 * Stack lock held. The first write after a connect() that TCP_FASTOPEN_CONNECT
 * left without its SYN (Linux's tcp_sendmsg with DEFER_CONNECT): the SYN
 * goes with the cookie and the start of the data; a blocking call waits
 * for the handshake and sends the rest, a non-blocking one returns what the
 * SYN took.
 */
static ssize_t fastopen_deferred_send(struct shim_sock *k, struct sock_iov *v, int cnt, int flags,
				      const struct tx_cmsgs *cm)
{
	bool nonblock = k->nonblock || (flags & MSG_DONTWAIT);
	long taken = tcp_connect_fastopen(k->tcp, NULL, v, cnt, false, shim_now());
	ssize_t n;
	int r;

	if (taken < 0)
		return taken;
	if (nonblock && tcp_connecting(k->tcp))
		return taken > 0 ? taken : -EINPROGRESS;
	r = tcp_connect_wait(k, -EINPROGRESS);
	/* Linux's tcp_sendmsg_locked after tcp_sendmsg_fastopen: a wait that
	 * ran out (SO_SNDTIMEO, -EINPROGRESS) counts what the SYN took; the
	 * handshake's error (a reset: ECONNREFUSED; the SYNs unanswered:
	 * ETIMEDOUT) or a signal is the call's, whatever the SYN carried
	 * (blocking-connect-bypass-errno.pkt). */
	if (r < 0)
		return r == -EINPROGRESS && taken > 0 ? taken : r;
	cnt = iov_skip(v, cnt, (size_t)taken);
	if (!cnt)
		return taken;
	n = tcp_send_iov(k, v, cnt, flags, cm);
	return fastopen_result(taken, n);
}

/*
 * Sends on k (takes the stack lock). v: the caller's copy of the buffers;
 * sa: sendto's address, already copied in (sa_import), or NULL; cm:
 * sendmsg's control messages (copied in and parsed), or NULL. SHIM_PASS
 * when the destination is loopback and the socket went to the kernel. TCP's
 * EPIPE raises SIGPIPE (unless MSG_NOSIGNAL) once the lock is let go, so that
 * the handler runs without it.
 */
/* v[0..cnt) as the kernel's iovec, after head when one is given: in few
 * (nfew entries) when it fits, else allocated (free it when it is not
 * few). NULL when out of memory. */
static struct iovec *iov_export(const struct sock_iov *v, int cnt, const struct iovec *head, struct iovec *few,
				size_t nfew)
{
	size_t h = head ? 1 : 0, n = (size_t)cnt + h;
	struct iovec *iov = n <= nfew ? few : malloc(n * sizeof(*iov));

	if (!iov)
		return NULL;
	if (head)
		iov[0] = *head;
	for (int i = 0; i < cnt; i++)
		iov[i + h] = (struct iovec){ v[i].base, v[i].len };
	return iov;
}

/* No lock held: a datagram to loopback from a UDP socket's loopback side
 * (lo_udp), as the kernel's socket there sends it. */
static ssize_t lo_udp_send(int lo, const struct sock_iov *v, int cnt, int flags, const struct sockaddr *sa,
			   socklen_t salen)
{
	struct iovec few[8], *iov = few;
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = salen };
	ssize_t r;

	if (cnt < 0 || cnt > UIO_MAXIOV)
		return -EMSGSIZE;
	if (!(iov = iov_export(v, cnt, NULL, few, 8)))
		return -ENOMEM;
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)cnt;
	r = SYSC(SYS_sendmsg, lo, &m, flags);
	if (iov != few)
		free(iov);
	return r;
}

static ssize_t framed_send(struct shim_sock *k, int fd, const struct sock_iov *v, int cnt, int flags,
			   const struct sockaddr *sa, socklen_t salen);

/*
 * No lock held: a joiner's UDP placeholder (shim/join.c) that sends, or
 * connects, anywhere but to localhost is made in the owner's stack first,
 * bound to a port it picks (Linux's inet_send_prepare and
 * inet_dgram_connect autobind before the address is judged). 1 when it is
 * framed now, 0 when it stays the placeholder, or -errno.
 */
static int join_dgram_autobind(struct shim_sock *k, const struct sockaddr *sa, socklen_t salen)
{
	struct ip4_endpoint ep = { 0, 0 };
	int a = ADDR_STACK, r;

	if (k->type != SOCK_DGRAM || !k->join || k->family != AF_INET)
		return 0;
	shim_lock();
	if (k->framed || k->bound || k->moved || k->closed || k->dead)
		a = -1;
	else if (sa)
		a = addr_host(k, sa_in(k, sa, salen, SA_SEND, &ep));
	shim_unlock();
	if (a == ADDR_LOOP || a == -1)
		return 0;
	r = shim_join_dgram(k, NULL);
	return r < 0 ? r : 1;
}

static ssize_t sock_send(struct shim_sock *k, int fd, struct sock_iov *v, int cnt, int flags,
			 const struct sockaddr *sa, socklen_t salen, const struct tx_cmsgs *cm)
{
	struct shim_epitem *moved = NULL;
	ssize_t r;
	int lo = -1, passed = 0;

	if ((r = join_dgram_autobind(k, sa, salen)) != 0)
		return r < 0 ? r : framed_send(k, fd, v, cnt, flags, sa, salen);
	shim_lock();
	if (shim_exposed(k)) {
		r = (passed = pass_error_take(k)) ? passed : SHIM_PASS;  /* exposed since enter_data() */
	} else if (k->closed || k->dead) {
		r = -EBADF;
	} else if (k->type == SOCK_STREAM) {
		/* Linux ignores the address of sendto on a TCP socket. */
		if (cm && cm->err)
			r = tcp_cmsg_err(k, flags, cm->err);
		else if (k->tcp && tcp_fastopen_deferred(k->tcp))
			r = fastopen_deferred_send(k, v, cnt, flags, cm);
		else
			r = tcp_send_iov(k, v, cnt, flags, cm);
	} else if (sa) {
		struct ip4_endpoint ep = { 0, 0 };
		int a = addr_host(k, sa_in(k, sa, salen, SA_SEND, &ep));
		sa_family_t fam = AF_UNSPEC;

		if (salen >= sizeof(fam))
			memcpy(&fam, sa, sizeof(fam));
		if (a == ADDR_LOOP) {
			/* Linux's udp_sendmsg refuses MSG_OOB; udpv6_sendmsg,
			 * which a native IPv6 destination stays with, has no
			 * such check: the kernel's socket answers (its route). */
			if ((flags & MSG_OOB) && !sa_native6(sa, salen))
				r = -EOPNOTSUPP;
			else if (attached(k) && ep.port == 0)
				r = -EINVAL;    /* udp_sendmsg refuses port 0 before it routes */
			else if (attached(k) && ip4_is_loopback(ep.addr) && (lo = atomic_load(&k->lo_fd)) >= 0)
				r = 0;          /* from its loopback side (lo_udp), below */
			else if (attached(k) && !move_to_lo(k, &moved)) {
				/* Deviation, as in connect; inet_send_prepare's
				 * autobind comes first. */
				if (udp_send_prepare(k->udp) == 0)
					k->bound = true;
				r = -ENETUNREACH;
			}
			else {
				if (!k->moved)
					moved = release(k);
				r = SHIM_PASS;
			}
		} else if (a == ADDR_UNSPEC) {
			/* udpv6_sendmsg: AF_UNSPEC is no address, and then
			 * a connected socket's peer goes the IPv6 way (not
			 * udp_sendmsg's), where an IPv4-mapped one has no
			 * route: ENETUNREACH (a socket not connected:
			 * EDESTADDRREQ first). */
			struct ip4_endpoint peer;
			int e = k->family == AF_INET6 && k->udp && !udp_corked(k->udp) &&
				udp_peer(k->udp, &peer) == 0 ? -ENETUNREACH : 0;

			r = udp_send_iov(k, v, cnt, flags, NULL, e, e != 0, cm);
		} else if (a < 0) {
			/* udpv6_sendmsg: a family other than AF_INET6, AF_INET
			 * or AF_UNSPEC is EINVAL; IPV6_V6ONLY refuses an IPv4
			 * destination before udp_sendmsg sees it. */
			bool v6 = k->family == AF_INET6 && (fam != AF_INET || a == -ENETUNREACH);

			if (v6 && a == -EAFNOSUPPORT)
				a = -EINVAL;
			r = udp_send_iov(k, v, cnt, flags, NULL, a, v6, cm);
		} else {
			r = udp_send_iov(k, v, cnt, flags, &ep, 0, false, cm);
		}
	} else {
		r = udp_send_iov(k, v, cnt, flags, NULL, 0, false, cm);
	}
	shim_unlock();
	if (passed)
		pass_mark_clear(k);
	if (lo >= 0 && r == 0)
		r = lo_udp_send(lo, v, cnt, flags, sa, salen);
	if (r == SHIM_PASS) {
		int b = move_to_lo_bind(k, fd);

		if (b < 0)
			r = b;
	}
	shim_epoll_to_kernel(moved, fd);
	/* Linux raises SIGPIPE from TCP's sk_stream_error only: UDP's EPIPE
	 * (after shutdown(SHUT_WR)) comes from its buffer allocation, without. */
	if (r == -EPIPE && k->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return r;
}

/* Stack lock held. MSG_OOB: the urgent byte (tcp_recvv's SOCK_OOB), into the
 * first buffer with room; never blocks. */
static ssize_t tcp_recv_oob(struct shim_sock *k, const struct sock_iov *v, int cnt, int flags, int *msg_flags)
{
	unsigned sflags = SOCK_OOB | ((flags & MSG_PEEK) ? SOCK_PEEK : 0) | ((flags & MSG_TRUNC) ? SOCK_DISCARD : 0);
	bool room = iov_total(v, cnt) != 0;
	long n;

	if (!k->tcp)
		return -EINVAL;     /* never connected: no urgent data (Linux's tcp_recv_urg) */
	n = tcp_recvv(k->tcp, v, cnt, sflags, shim_now());
	if (n >= 0 && msg_flags)
		*msg_flags |= MSG_OOB | (room ? 0 : MSG_TRUNC);
	return n;
}

/* Stack lock held. v: the caller's copy, moved on as bytes come. */
static ssize_t tcp_recv_iov(struct shim_sock *k, struct sock_iov *v, int cnt, int flags, int *msg_flags)
{
	bool nonblock = k->nonblock || (flags & MSG_DONTWAIT);
	unsigned sflags = ((flags & MSG_PEEK) ? SOCK_PEEK : 0) | ((flags & MSG_TRUNC) ? SOCK_DISCARD : 0);
	size_t want = iov_total(v, cnt), total = 0;
	uint64_t dl = deadline(k->rcvtimeo_us);
	int intr = 0;

	if (k->listening)
		return -ENOTCONN;
	if (flags & MSG_OOB)
		return tcp_recv_oob(k, v, cnt, flags, msg_flags);
	if (!k->tcp)
		return -ENOTCONN;
	if (k->err)
		return take_sock_err(k);
	if (want == 0) {
		/*
		 * Linux (tcp_recvmsg_locked wants at least one byte there): a
		 * zero-length recv answers 0 when bytes or the end of the
		 * stream are there, else EAGAIN (non-blocking) or waits once:
		 * data, an error, the timeout or a signal all end that wait
		 * with 0 (the loop ends with no byte left to read).
		 */
		for (;;) {
			long n = tcp_recvv(k->tcp, v, cnt, sflags, shim_now());
			unsigned ev0;
			size_t q0;
			int w;

			if (n != -EAGAIN || nonblock)
				return n;
			unsigned dis = k->disconnects;

			/* What the wait is for (sk_wait_data: the receive queue's
			 * tail moving): bytes or the end of the stream that were not
			 * there before. A peek past the queued bytes (SO_PEEK_OFF)
			 * waits with bytes queued, so readability alone says
			 * nothing. */
			ev0 = tcp_poll(k->tcp) & (SOCK_POLLIN | SOCK_POLLERR | SOCK_POLLHUP);
			q0 = tcp_inq(k->tcp);
			k->rx_waiters++;
			w = shim_wait_sock(k, dl, false);
			k->rx_waiters--;
			if (w == 0 && k->disconnects != dis)
				return -EPIPE;  /* sk_wait_data: disconnected meanwhile */
			if (w == 0 && shim_exposed(k))
				return SHIM_PASS;
			if (w == -EBADF || !k->tcp)
				return -EBADF;
			if (w == 0 && (tcp_poll(k->tcp) & (SOCK_POLLIN | SOCK_POLLERR | SOCK_POLLHUP)) == ev0 &&
			    tcp_inq(k->tcp) == q0)
				continue;   /* woken for something else (or the thread's first wait) */
			return 0;
		}
	}
	while (cnt) {
		long n;

		if (!k->tcp)
			return total ? (ssize_t)total : -EBADF;
		/* Linux (tcp_recvmsg_locked): with bytes copied, an error stays pending. */
		if (total && (tcp_poll(k->tcp) & SOCK_POLLERR))
			break;
		/* A peek goes on past what it saw, as a read does (Linux's
		 * tcp_recvmsg_locked: its own peek_seq), and waits as long:
		 * MSG_PEEK|MSG_WAITALL wants the whole length. */
		n = tcp_recvv_from(k->tcp, v, cnt, sflags, total, shim_now());
		if (n > 0) {
			total += (size_t)n;
			/* Linux's tcp_recvmsg stops at the urgent mark once it has
			 * read anything (the urgent byte starts the next read);
			 * a peek's next pass says 0 there. */
			if (!(sflags & SOCK_PEEK) && tcp_atmark(k->tcp))
				break;
			iov_advance(&v, &cnt, (size_t)n);
			continue;
		}
		if (n == 0)
			break;   /* end of stream */
		/* Linux's sock_rcvlowat: a blocking read waits for
		 * SO_RCVLOWAT bytes (at most the length asked for), all of
		 * it with MSG_WAITALL; its time or a signal ends it with
		 * what it has. */
		if (n == -EAGAIN && !nonblock &&
		    (total == 0 || (flags & MSG_WAITALL) || total < (size_t)tcp_opts(k->tcp)->rcvlowat)) {
			unsigned dis = k->disconnects;
			int w;

			k->rx_waiters++;
			/* A signal never restarts a read that has bytes: it
			 * ends with them, SA_RESTART or not (tcp_recvmsg_locked
			 * breaks on signal_pending once copied). */
			w = shim_wait_sock_intr(k, dl, total == 0, &intr);
			k->rx_waiters--;
			if (w == 0 && shim_exposed(k))
				return total ? (ssize_t)total : SHIM_PASS;
			/* sk_wait_data: disconnected meanwhile (sk_wait_event). */
			if (w == 0 && k->disconnects != dis)
				w = -EPIPE;
			if (w == 0)
				continue;
			n = w;
		}
		/* EFAULT included: nothing of that pass was consumed. */
		if (total)
			break;
		return n;
	}
	return (ssize_t)total;
}

/* What a receive call saw besides the bytes: recvmsg's control messages. */
struct rx_extra {
	unsigned cm;                /* the socket's SHIM_CM_* then */
	bool have_meta;
	struct udp_rx_meta meta;
	uint64_t now;               /* the stack's clock then (SO_TIMESTAMP) */
	uint32_t local;             /* the interface's address (IP_PKTINFO) */
	uint16_t lport;             /* the socket's port (IP_ORIGDSTADDR) */
	bool have_err;              /* MSG_ERRQUEUE: an error was read */
	struct udp_err_info err;
	/* TCP */
	uint32_t tsflags;           /* SO_TIMESTAMPING's flags then */
	uint32_t tskey;             /* and OPT_ID's base */
	bool have_tcp_err;          /* MSG_ERRQUEUE: an entry was read */
	struct tcp_err_info tcp_err;
	bool have_inq;              /* TCP_INQ's hint after the read */
	int inq;
	uint64_t rx_at;             /* the data's arrival (stack time), 0: no timestamp */
};

/* Copies n bytes of bounce over the program's buffers v: 0, or -EFAULT
 * (then the datagram is gone, as in Linux). */
static int scatter(const struct sock_iov *v, int cnt, const char *bounce, size_t n)
{
	size_t o = 0;

	for (int i = 0; i < cnt && o < n; i++) {
		size_t c = v[i].len < n - o ? v[i].len : n - o;

		if (shim_copy(v[i].base, bounce + o, c))
			return -EFAULT;
		o += c;
	}
	return 0;
}

/* Stack lock held. MSG_ERRQUEUE on UDP (Linux's ip_recv_error): the oldest
 * ICMP error, its quoted payload as the data, the original destination as
 * the address. Never blocks. An error whose payload cannot be copied out is
 * dequeued all the same (EFAULT), as in Linux. */
static ssize_t udp_recv_errq(struct shim_sock *k, const struct sock_iov *v, int cnt,
			     struct ip4_endpoint *src, int *msg_flags, struct rx_extra *x)
{
	size_t len = iov_total(v, cnt), full = 0;
	struct udp_err_info ei;
	char *bounce;
	long n;

	if (!k->udp)
		return -EAGAIN;
	bounce = malloc(len ? len : 1);
	if (!bounce)
		return -ENOMEM;
	n = udp_recv_err(k->udp, bounce, len, &full, &ei);
	if (n >= 0 && scatter(v, cnt, bounce, (size_t)n))
		n = -EFAULT;
	if (n >= 0) {
		*src = ei.dst;
		if (msg_flags)
			*msg_flags |= MSG_ERRQUEUE | (full > (size_t)n ? MSG_TRUNC : 0);
		if (x) {
			x->have_err = true;
			x->err = ei;
			x->now = shim_now();
		}
	}
	free(bounce);
	return n;
}

static uint64_t realtime_us(uint64_t now, uint64_t at);

/* Stack lock held. One datagram, scattered over v; *none set when the call
 * ended without one (SHUT_RD: 0, and no source address). */
static ssize_t udp_recv_iov(struct shim_sock *k, const struct sock_iov *v, int cnt, int flags,
			    struct ip4_endpoint *src, int *msg_flags, struct rx_extra *x, bool *none)
{
	bool nonblock = k->nonblock || (flags & MSG_DONTWAIT);
	unsigned sflags = (flags & MSG_PEEK) ? SOCK_PEEK : 0;
	size_t len = iov_total(v, cnt), full = 0, off = 0;
	uint64_t dl = deadline(k->rcvtimeo_us);
	/* SO_PEEK_OFF: a peek from the offset (udp_peek_at), which it moves. */
	bool peek_at = (flags & MSG_PEEK) && k->opts.peek_off >= 0;
	struct udp_rx_meta sm;
	bool have_sm = false;
	char *bounce = NULL;
	void *buf;
	long n;
	int intr = 0, lo;
	bool lo_tried = false;

	/* MSG_OOB: Linux's udp_recvmsg ignores it (a datagram, or EAGAIN). */
	if (cnt == 1) {
		buf = v[0].base;    /* the stack's copy writes it (shim_copy) */
	} else {
		bounce = malloc(len ? len : 1);
		if (!bounce)
			return -ENOMEM;
		buf = bounce;
	}
	for (;;) {
		if (k->moved || k->dead) {     /* closed meanwhile: goes on (sock_last_close) */
			n = -EBADF;
			break;
		}
		if (x && k->udp && x->cm) {
			struct ip4_endpoint le;

			x->have_meta = udp_next_meta(k->udp, &x->meta) == 0;
			x->now = shim_now();
			x->local = stack_config(shim_stack())->addr;
			udp_local(k->udp, &le);
			x->lport = le.port;
		}
		if (peek_at) {
			off = (size_t)k->opts.peek_off;
			n = k->udp ? udp_peek_at(k->udp, buf, len, &off, src, &full, &sm) : -EAGAIN;
			have_sm = n >= 0;
			if (have_sm && x)
				x->meta = sm;
		} else {
			have_sm = k->stamp_on && k->udp && udp_next_meta(k->udp, &sm) == 0;
			n = k->udp ? udp_recvfrom(k->udp, buf, len, src, &full, sflags) : -EAGAIN;
		}
		if (n != -EAGAIN)
			break;
		/* A datagram to localhost (lo_udp): queued as the stack's
		 * own, then read from there. */
		lo = atomic_load(&k->lo_fd);
		if (lo >= 0 && !lo_tried) {
			lo_tried = true;
			if (lo_udp_pull(k, lo))
				continue;
		}
		lo_tried = false;
		/* Linux's __skb_recv_udp: a non-blocking call is EAGAIN
		 * before any look at SHUT_RD; only the wait
		 * (__skb_wait_for_more_packets) ends with 0 for it. */
		if (nonblock)
			break;
		if (k->udp_shut & 1) {
			/* No datagram: Linux's msg_namelen stays 0. */
			*none = true;
			n = 0;
			break;
		}
		if (lo >= 0 && !intr) {
			n = shim_wait_sock_fd(k, dl, true, lo);
			if (n == -EINTR) {
				intr = (int)n;  /* as shim_wait_sock_intr: look once more */
				n = 0;
			}
		} else {
			n = shim_wait_sock_intr(k, dl, true, &intr);
		}
		if (n == 0 && shim_exposed(k))
			n = SHIM_PASS;
		if (n < 0)
			break;
	}
	if (n >= 0 && bounce && scatter(v, cnt, bounce, (size_t)n))
		n = -EFAULT;
	free(bounce);
	/* Linux's udp_recvmsg: MSG_TRUNC when the room is less than the
	 * datagram, unless it holds all from the peek's offset on. */
	if (n >= 0 && full > (size_t)n && !(off && len > full - off)) {
		if (msg_flags)
			*msg_flags |= MSG_TRUNC;
		if (flags & MSG_TRUNC)
			n = (long)full;
	}
	/* sock_recv_cmsgs: SIOCGSTAMP's stamp, unless SO_TIMESTAMP takes
	 * it as a control message; 0 (now, when asked) while SIOCGSTAMP was
	 * never used. */
	if (n >= 0 && !(k->rx_cmsgs & SHIM_CM_TS)) {
		if (k->stamp_on && have_sm)
			k->stamp_us = (int64_t)realtime_us(shim_now(), sm.at);
		else if (k->stamp_us < 0)
			k->stamp_us = 0;
	}
	/* skb_consume_udp: the peek offset moves on by what a peek
	 * returned, back by what a read did (not below 0). */
	if (n >= 0 && k->opts.peek_off >= 0)
		k->opts.peek_off = peek_at ? k->opts.peek_off + (int)n :
				   k->opts.peek_off > n ? k->opts.peek_off - (int)n : 0;
	return n;
}

/* Stack lock held. MSG_ERRQUEUE on TCP (Linux's inet_recv_error): the oldest
 * send timestamp or zerocopy completion, without data (deviation: Linux
 * gives a timestamp without SOF_TIMESTAMPING_OPT_TSONLY the packet's bytes). */
static ssize_t tcp_recv_errq(struct shim_sock *k, int *msg_flags, struct rx_extra *x)
{
	struct tcp_err_info e;

	if (!k->tcp || tcp_recv_err(k->tcp, &e) < 0)
		return -EAGAIN;
	if (msg_flags)
		*msg_flags |= MSG_ERRQUEUE;
	if (x) {
		x->have_tcp_err = true;
		x->tcp_err = e;
		x->now = shim_now();
	}
	return 0;
}

/* Stack lock held, after a TCP read of n bytes: what its control messages say. */
static void tcp_rx_extra(struct shim_sock *k, ssize_t n, struct rx_extra *x)
{
	if (!k->tcp)
		return;
	x->now = shim_now();
	/* Linux's tcp_recvmsg: a timestamp for data read, TCP_CM_INQ for
	 * every read that did not fail (the end of the stream too). */
	if (n > 0)
		x->rx_at = tcp_rx_stamp(k->tcp);
	x->have_inq = true;
	x->inq = (int)tcp_inq_hint(k->tcp);
}

/* Receives on k (takes the stack lock). v: the caller's copy of the
 * buffers. *have_src tells whether src was filled; x (NULL: not wanted)
 * gathers what recvmsg's control messages need. */
static ssize_t sock_recv(struct shim_sock *k, struct sock_iov *v, int cnt, int flags,
			 struct ip4_endpoint *src, bool *have_src, int *msg_flags, struct rx_extra *x)
{
	ssize_t r;
	int passed = 0;

	*have_src = false;
	shim_lock();
	if (x) {
		x->cm = k->rx_cmsgs;
		x->tsflags = k->opts.tsflags;
		x->tskey = k->tskey;
	}
	if (shim_exposed(k))
		r = (passed = pass_error_take(k)) ? passed : SHIM_PASS;  /* exposed since enter_data() */
	else if (k->closed || k->dead)
		r = -EBADF;
	else if ((flags & MSG_ERRQUEUE) && k->type == SOCK_STREAM)
		r = tcp_recv_errq(k, msg_flags, x);
	else if (flags & MSG_ERRQUEUE) {
		r = udp_recv_errq(k, v, cnt, src, msg_flags, x);
		*have_src = r >= 0;
	} else if (k->type == SOCK_STREAM) {
		r = tcp_recv_iov(k, v, cnt, flags, msg_flags);
		if (r >= 0 && x)
			tcp_rx_extra(k, r, x);
	} else {
		bool none = false;

		r = udp_recv_iov(k, v, cnt, flags, src, msg_flags, x, &none);
		*have_src = r >= 0 && k->udp && !none;
	}
	shim_unlock();
	if (passed)
		pass_mark_clear(k);
	return r;
}

/*
 * An exposed UDP socket's receive (no lock held): the kernel fd's datagram,
 * and the address a Unix socket cannot give, the connected peer's (every
 * datagram of a connected socket comes from it). TCP, or no address wanted:
 * SHIM_PASS, the real call.
 */
static ssize_t exposed_udp_recvmsg(struct shim_sock *k, int fd, struct msghdr *msg, int flags)
{
	struct msghdr m;
	socklen_t room;
	ssize_t n;
	int r;

	/* The program's msghdr through copies; one that cannot be read is the
	 * kernel's to refuse (SHIM_PASS: the real call's EFAULT). */
	if (k->type != SOCK_DGRAM || !msg || shim_copy(&m, msg, sizeof(m)) || !m.msg_name)
		return SHIM_PASS;
	room = m.msg_namelen;
	n = SHIM_SAFE_CALL(shim_libc.recvmsg(fd, msg, flags));
	if (n < 0)
		return -errno;
	r = sa_out(k, &k->peer, m.msg_name, &room);
	if (r == 0)
		r = shim_copy(&msg->msg_namelen, &room, sizeof(room));
	return r < 0 ? r : n;
}

static ssize_t exposed_udp_recvfrom(struct shim_sock *k, int fd, void *buf, size_t len, int flags,
				    struct sockaddr *sa, socklen_t *salen)
{
	ssize_t n;
	int r;

	if (k->type != SOCK_DGRAM || !sa || !salen)
		return SHIM_PASS;
	n = SHIM_SAFE_CALL(shim_libc.recvfrom(fd, buf, len, flags, NULL, NULL));
	if (n < 0)
		return -errno;
	r = sa_out(k, &k->peer, sa, salen);
	return r < 0 ? r : n;
}

/*
 * An exposed UDP socket that was not connected (shim/expose.c,
 * shim_expose_dgram: a fork child's copy) reads and writes framed datagrams
 * on its fd (relay.h, struct relay_dgram_hdr): the interposed calls of every
 * process that holds it add the destination and take out the source, and
 * recvmsg makes the control messages of the datagram's destination, TTL
 * and TOS the relay put in the header (x). What differs from Linux's
 * socket: SO_TIMESTAMP tells when the program read the datagram, and what
 * the stack refuses to send (an address it cannot reach) is dropped after
 * the call.
 */
static bool framed(struct shim_sock *k)
{
	/* framed is set before exposed is (release): read after it. */
	return shim_exposed(k) && k->framed;
}

/* The control messages a framed socket's recvmsg makes: the socket's,
 * kept in its relay's share (relay.h, dgram_cmsgs) where other processes
 * hold it too (set by any of them: shim_setsockopt), else this process's. */
static unsigned framed_cmsgs(const struct shim_sock *k)
{
	return k->share ? atomic_load(&k->share->dgram_cmsgs) : k->rx_cmsgs;
}

static ssize_t framed_recv(struct shim_sock *k, int fd, const struct sock_iov *v, int cnt, int flags,
			   struct sockaddr *sa, socklen_t *salen, int *msg_flags, struct rx_extra *x)
{
	struct relay_dgram_hdr h;
	struct iovec few[9], *iov = few;
	struct msghdr m = { 0 };
	struct ip4_endpoint src;
	ssize_t n;
	int r;

	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;         /* no ICMP errors come through the relay */
	if (cnt < 0 || cnt >= UIO_MAXIOV)
		return -EMSGSIZE;
	if (!(iov = iov_export(v, cnt, &(struct iovec){ &h, sizeof(h) }, few, 9)))
		return -ENOMEM;
	for (;;) {
		struct ip4_endpoint peer = framed_peer(k);

		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt + 1;
		m.msg_flags = 0;
		n = SHIM_SAFE_CALL(shim_libc.recvmsg(fd, &m, flags & (MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_WAITALL)));
		r = errno;
		if (n < 0 || (size_t)n < sizeof(h) || !peer.port || (h.addr == peer.addr && h.port == peer.port))
			break;
		/* Connected (framed_connect): Linux's socket hears its peer
		 * only (the datagram would have found no socket); the relay's
		 * other datagrams go, a peeked one too. */
		if (flags & MSG_PEEK)
			(void)SYSC(SYS_recvfrom, fd, NULL, 0, MSG_DONTWAIT | MSG_TRUNC, NULL, NULL);
	}
	if (iov != few)
		free(iov);
	if (n < 0)
		return -r;
	if ((size_t)n < sizeof(h))
		return 0;               /* the relay is gone */
	n -= (ssize_t)sizeof(h);
	if (msg_flags)
		*msg_flags |= m.msg_flags & MSG_TRUNC;
	src = (struct ip4_endpoint){ h.addr, h.port };
	if (x && (h.flags & RELAY_DGRAM_META)) {
		struct shim_iface ifc;

		x->cm = framed_cmsgs(k);
		x->have_meta = true;
		x->meta = (struct udp_rx_meta){ .dst = h.dst, .ttl = h.ttl, .tos = h.tos, .looped = h.looped != 0 };
		if (shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
			x->local = ifc.addr;
		x->lport = k->local.port;
	}
	if (sa && (r = sa_out(k, &src, sa, salen)) < 0)
		return r;
	return n;
}

/* The real sendmsg, with errno (the C library's may be ours). */
static long sendmsg_errno(int fd, const struct msghdr *m, int flags)
{
	long r = sys_sendmsg(fd, m, flags);

	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static ssize_t framed_send(struct shim_sock *k, int fd, const struct sock_iov *v, int cnt, int flags,
			   const struct sockaddr *sa, socklen_t salen)
{
	struct relay_dgram_hdr h;
	struct iovec few[9], *iov = few;
	struct msghdr m = { 0 };
	struct ip4_endpoint ep = { 0, 0 };
	ssize_t n;
	int a;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;     /* Linux's udp_sendmsg */
	a = sa ? addr_host(k, sa_in(k, sa, salen, SA_SEND, &ep)) : ADDR_UNSPEC;
	if (a == ADDR_UNSPEC && framed_peer(k).port) {
		/* Connected (framed_connect): its peer. */
		ep = framed_peer(k);
		a = (ep.addr >> 24) == 127 ? ADDR_LOOP : ADDR_STACK;
	}
	if (a == ADDR_UNSPEC)
		return -EDESTADDRREQ;
	if (a < 0)
		return a;
	if (ep.port == 0)
		return -EINVAL;         /* udp_sendmsg refuses port 0 before it routes */
	/* To 127.0.0.0/8: the relay sends it from the socket's loopback side
	 * (relay.h, relay_listener_lo). Native IPv6 loopback: deviation. */
	if (a != ADDR_STACK && !(a == ADDR_LOOP && (ep.addr >> 24) == 127))
		return -ENETUNREACH;
	if (cnt < 0 || cnt >= UIO_MAXIOV)
		return -EMSGSIZE;
	if (iov_total(v, cnt) > 65507)
		return -EMSGSIZE;       /* IPv4's largest datagram */
	memset(&h, 0, sizeof(h));
	h.addr = ep.addr;
	h.port = ep.port;
	if (flags & MSG_MORE)
		h.flags = RELAY_DGRAM_MORE;     /* the stack's socket holds it (relay.h) */
	if (!(iov = iov_export(v, cnt, &(struct iovec){ &h, sizeof(h) }, few, 9)))
		return -ENOMEM;
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)cnt + 1;
	n = SHIM_SAFE_CALL(sendmsg_errno(fd, &m, (flags & MSG_DONTWAIT) | MSG_NOSIGNAL));
	a = errno;
	if (iov != few)
		free(iov);
	if (n < 0)
		return -a;
	return n < (ssize_t)sizeof(h) ? 0 : n - (ssize_t)sizeof(h);
}

/*
 * connect() on a framed socket: the relay keeps the stack's socket
 * unconnected, and the association is kept beside it, in the relay's
 * share (relay.h, dgram_peer) that every process holding the socket sees
 * (this process's own copy when there is none): sends without an address
 * go to the peer, datagrams from others are dropped on receive
 * (framed_recv), getpeername() answers it, and getsockname() the source
 * address Linux's connect chooses. AF_UNSPEC dissolves it.
 */
static struct ip4_endpoint framed_peer(const struct shim_sock *k)
{
	uint64_t v;

	if (!k->share)
		return k->peer;
	v = atomic_load(&k->share->dgram_peer);
	return (struct ip4_endpoint){ (uint32_t)(v >> 16), (uint16_t)v };
}

/* The source address of a framed socket's association, 0 when none. */
static uint32_t framed_src(const struct shim_sock *k)
{
	return k->share ? atomic_load(&k->share->dgram_src) : k->peer.port ? k->local.addr : 0;
}

static int framed_connect(struct shim_sock *k, const struct sockaddr *sa, socklen_t len)
{
	struct ip4_endpoint ep = { 0, 0 };
	uint32_t src = 0;
	int a;

	shim_lock();
	a = addr_host(k, sa_in(k, sa, len, SA_CONNECT, &ep));
	if (a == ADDR_UNSPEC) {
		ep = (struct ip4_endpoint){ 0, 0 };
		a = 0;
	} else if (a == ADDR_STACK || (a == ADDR_LOOP && (ep.addr >> 24) == 127)) {
		src = a == ADDR_LOOP ? IP4_LOOPBACK : shim_stack_addr();
		a = 0;
	} else if (a >= 0) {
		a = -ENETUNREACH;       /* what the relay cannot reach (native IPv6) */
	}
	if (a == 0 && k->share) {
		atomic_store(&k->share->dgram_src, src);
		atomic_store(&k->share->dgram_peer, (uint64_t)ep.addr << 16 | ep.port);
	} else if (a == 0) {
		k->peer = ep;
		if (!k->addr_locked)
			k->local.addr = src;
	}
	shim_unlock();
	return a;
}

/*
 * Stack lock held: k is a framed socket this process holds without the
 * stack's socket (a fork child's copy, a joiner's or a fork child's own):
 * what Linux keeps on the socket (a membership, IP_TOS...) is asked of
 * its relay (framed_req).
 */
static bool framed_remote(struct shim_sock *k)
{
	return framed(k) && !k->udp;
}

/* How long framed_req waits for the relay's answer (its relay may be
 * gone: the owner killed, its keeper too). */
#define FRAMED_REQ_MS 1000

/* No lock: ppoll for ev on fd until deadline (CLOCK_MONOTONIC, ns); the
 * revents, 0 at the deadline, or -errno (not EINTR). */
static int framed_wait(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		struct timespec now, ts;
		int64_t left;
		long n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		if (left <= 0)
			return 0;
		ts = (struct timespec){ (time_t)(left / 1000000000), (long)(left % 1000000000) };
		n = sys_ppoll(&p, 1, &ts, NULL);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		return n ? p.revents : 0;
	}
}

/*
 * No lock: q asked of k's relay (relay.h, RELAY_DGRAM_REQ) through the
 * socket's fd, in order with the datagrams this process wrote before it,
 * with the write end of a pipe the relay answers on. 0 or -errno (the
 * stack's); -ENETDOWN when the relay is gone or does not answer in
 * FRAMED_REQ_MS. A read (RELAY_REQ_GET_MSFILTER) gets the relay's answer
 * in *out when it is not an error (out NULL: none expected).
 */
static int framed_req_get(struct shim_sock *k, const struct relay_dgram_req *q, struct relay_dgram_req *out)
{
	struct relay_dgram_hdr h;
	struct iovec v[2] = { { &h, sizeof(h) }, { (void *)q, sizeof(*q) } };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb;
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2, .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf) };
	struct cmsghdr *c;
	struct timespec now;
	int64_t deadline;
	struct {
		int32_t res;
		struct relay_dgram_req out;
	} ans;
	int fd = shim_first_fd(&k->obj), p[2], r;
	long n;

	if (fd < 0)
		return -EBADF;
	if (SYSC(SYS_pipe2, p, O_CLOEXEC) < 0)
		return -ENOBUFS;
	memset(&h, 0, sizeof(h));
	h.flags = RELAY_DGRAM_REQ;
	memset(cb.buf, 0, sizeof(cb.buf));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[1], sizeof(int));
	clock_gettime(CLOCK_MONOTONIC, &now);
	deadline = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + (int64_t)FRAMED_REQ_MS * 1000000;
	for (;;) {
		n = sys_sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN || (r = framed_wait(fd, POLLOUT, deadline)) <= 0)
			break;
	}
	sys_close(p[1]);
	r = n == (long)(sizeof(h) + sizeof(*q)) ? 0 : -ENETDOWN;
	if (r == 0 && (r = framed_wait(p[0], POLLIN, deadline)) > 0) {
		do
			n = sys_read(p[0], &ans, sizeof(ans));
		while (n == -EINTR);
		r = n >= (long)sizeof(ans.res) ? ans.res : -ENETDOWN;
		if (out && r >= 0) {
			if (n == (long)sizeof(ans))
				*out = ans.out;
			else
				r = -ENETDOWN;
		}
	} else if (r == 0) {
		r = -ENETDOWN;
	}
	sys_close(p[0]);
	return r;
}

static int framed_req(struct shim_sock *k, const struct relay_dgram_req *q)
{
	return framed_req_get(k, q, NULL);
}

/* enter_data, but a framed socket (framed()) is entered too. */
static struct shim_sock *enter_io(int fd, int *r)
{
	struct shim_sock *k = enter(fd, r);

	if (k && shim_join_pending(k))
		shim_join_settle(k);
	if (k && shim_exposed(k) && !k->framed) {
		int e = exposed_pass_error(k);

		shim_put(&k->obj);
		*r = e ? e : SHIM_PASS;
		return NULL;
	}
	return k;
}

ssize_t shim_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen)
{
	struct sock_iov v = iov_one(buf, len);
	struct ip4_endpoint src = { 0, 0 };
	struct shim_sock *k;
	bool have;
	int r;
	ssize_t n;

	k = enter(fd, &r);
	if (!k)
		return r == SHIM_PASS ? shim_netlink_recvfrom(fd, buf, len, flags, sa, salen) : r;
	if (framed(k)) {
		n = framed_recv(k, fd, &v, 1, flags, sa, salen, NULL, NULL);
		leave(k);
		return n;
	}
	if (shim_exposed(k)) {
		n = exposed_pass_error(k);
		if (!n)
			n = exposed_udp_recvfrom(k, fd, buf, len, flags, sa, salen);
		leave(k);
		return n;
	}
	n = sock_recv(k, &v, 1, flags, &src, &have, NULL, NULL);
	/* Linux: the address is written after the data (TCP: none, length
	 * 0); when it cannot be, the call fails and the data is gone. */
	if (n >= 0 && sa) {
		r = sa_out(k, have ? &src : NULL, sa, salen);
		if (r < 0)
			n = r;
	}
	leave(k);
	return n;
}

/*
 * MSG_FASTOPEN on a TCP socket (Linux's tcp_sendmsg_fastopen): the send
 * connects first, to the address it names, with fast open (RFC 7413): the
 * SYN asks for a cookie when the stack has none for the peer (and carries
 * no data), else carries the cookie and the start of v (*taken bytes).
 * Connected: EISCONN; connecting: EALREADY until the handshake is done,
 * then the send goes on (connect() again); no address: EINVAL; AF_UNSPEC,
 * or the namespace's client side off: EOPNOTSUPP. *kp is left and entered
 * again around the connect (which may hand the socket to the kernel's
 * loopback: then SHIM_PASS, and the real call does the rest). 0: go on
 * with the send of what the SYN did not take (*kp entered); 1: the SYN
 * is on its way and the call is done (non-blocking), *taken its result.
 */
static int fastopen_connect(struct shim_sock **kp, int fd, const struct sockaddr *sa, socklen_t salen,
			    const struct sock_iov *v, int cnt, long *taken)
{
	struct fo_req fo = { v, cnt, 0 };
	struct shim_sock *k = *kp;
	enum shim_ss ss;
	bool deferred, closed;
	int r;

	*taken = 0;
	if (sa && salen >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return -EOPNOTSUPP;
	shim_lock();
	ss = k->ss;
	deferred = k->tcp && tcp_fastopen_deferred(k->tcp);
	closed = !k->tcp || tcp_get_state(k->tcp) == TCP_STATE_CLOSED;
	shim_unlock();
	if (deferred)
		return 0;       /* the send puts its data in the SYN TCP_FASTOPEN_CONNECT held */
	if (ss == SHIM_SS_CONNECTED)
		return -EISCONN;
	if (ss == SHIM_SS_CONNECTING) {
		/* As connect() again, the address unread (Linux's
		 * __inet_stream_connect): EALREADY while the handshake runs
		 * (a blocking call waits for it), else the send goes on. */
		shim_lock();
		r = k->ss != SHIM_SS_CONNECTING ? 0 : k->tcp ? tcp_connect_wait(k, -EALREADY) : -EALREADY;
		shim_unlock();
		return r;
	}
	/* __inet_stream_connect without an address: a listener is not in
	 * CLOSE (EISCONN), tcp_v4_connect refuses the missing one (EINVAL). */
	if (ss == SHIM_SS_UNCONNECTED && !sa && !closed)
		return -EISCONN;
	if (ss != SHIM_SS_UNCONNECTED || !sa)
		return -EINVAL;
	leave(k);
	*kp = NULL;
	r = connect_fo(fd, sa, salen, &fo);
	*taken = fo.taken;
	if (r == -EINPROGRESS && fo.taken > 0)
		return 1;
	if (r != 0)
		return r;       /* SHIM_PASS, EINPROGRESS, the connect's error */
	k = enter_data(fd, &r);
	if (!k)
		return fo.taken > 0 ? 1 : r;
	*kp = k;
	return 0;
}

ssize_t shim_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
		    socklen_t salen)
{
	struct sock_iov v = iov_one(buf, len);
	struct sockaddr_storage ss;
	struct shim_sock *k;
	long taken = 0;
	int r;
	ssize_t n;

	k = enter_io(fd, &r);
	if (!k)
		return r;
	/* Linux copies the address in before anything, TCP's too (which it then ignores). */
	if (sa && (r = sa_import(&ss, sa, salen)) < 0) {
		leave(k);
		return r;
	}
	if (framed(k)) {
		n = framed_send(k, fd, &v, 1, flags, sa ? (struct sockaddr *)&ss : NULL, salen);
		leave(k);
		return n;
	}
	if ((flags & MSG_FASTOPEN) && k->type == SOCK_STREAM) {
		r = fastopen_connect(&k, fd, sa ? (struct sockaddr *)&ss : NULL, salen, &v, 1, &taken);
		if (r) {
			if (k)
				leave(k);
			return r == 1 ? taken : r;
		}
		flags &= ~MSG_FASTOPEN;
		if (taken > 0 && iov_skip(&v, 1, (size_t)taken) == 0) {
			leave(k);
			return taken;
		}
	}
	n = sock_send(k, fd, &v, 1, flags, sa ? (struct sockaddr *)&ss : NULL, salen, NULL);
	leave(k);
	return fastopen_result(taken, n);
}

/*
 * The program's msghdr copied in, as Linux's copy_msghdr_from_user does it
 * (EFAULT, then a negative name length EINVAL, then, for sendmsg (name not
 * NULL), the name copied into *name (EFAULT), then more than IOV_MAX buffers
 * EMSGSIZE, then the buffers: iov_import): m holds the copy (msg_name: name,
 * or NULL, for sendmsg; the program's for recvmsg), *v the buffers
 * (iov_free). A name longer than a sockaddr_storage is cut to it, and a NULL
 * name has length 0.
 */
static int msg_import(struct msghdr *m, const struct msghdr *umsg, struct sockaddr_storage *name,
		      struct sock_iov *fast, struct sock_iov **v)
{
	if (shim_copy(m, umsg, sizeof(*m)))
		return -EFAULT;
	if (!m->msg_name)
		m->msg_namelen = 0;
	if ((int)m->msg_namelen < 0)
		return -EINVAL;
	if (m->msg_namelen > sizeof(struct sockaddr_storage))
		m->msg_namelen = sizeof(struct sockaddr_storage);
	if (name) {
		if (m->msg_namelen && shim_copy(name, m->msg_name, m->msg_namelen))
			return -EFAULT;
		m->msg_name = m->msg_namelen ? name : NULL;
	}
	if (m->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	return iov_import(m->msg_iov, m->msg_iovlen, fast, v);
}

/* Linux's put_cmsg(): one control message at *used in msg's buffer (msg is
 * the shim's copy of the program's msghdr, msg_control the program's), cut
 * short (MSG_CTRUNC) when it does not fit. */
static void put_cmsg(struct msghdr *msg, size_t *used, int level, int type, const void *data, size_t len)
{
	size_t left = msg->msg_controllen - *used, cmlen = CMSG_LEN(len), space = CMSG_SPACE(len);
	struct cmsghdr h;
	char *at;

	if (!msg->msg_control || left < sizeof(struct cmsghdr)) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	at = (char *)msg->msg_control + *used;
	if (left < cmlen) {
		msg->msg_flags |= MSG_CTRUNC;
		cmlen = left;
	}
	memset(&h, 0, sizeof(h));
	h.cmsg_len = cmlen;
	h.cmsg_level = level;
	h.cmsg_type = type;
	/* The program's buffer: a message that cannot be written there is left
	 * out (Linux's put_cmsg answers EFAULT, which its callers ignore). */
	if (shim_copy(at, &h, sizeof(h)) || shim_copy(at + CMSG_LEN(0), data, cmlen - CMSG_LEN(0)))
		return;
	*used += space < left ? space : left;
}

/* A time of the stack's monotonic clock as the wall clock's, in us: its age
 * taken from the time now. */
static uint64_t realtime_us(uint64_t now, uint64_t at)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - (now > at ? now - at : 0);
}

/* SO_TIMESTAMP(NS)(_NEW)'s control message for a time in us (cm: SHIM_CM_*). */
static void put_timestamp(struct msghdr *msg, size_t *used, unsigned cm, uint64_t us)
{
	if (cm & SHIM_CM_TSNS) {
		struct timespec v = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };

		put_cmsg(msg, used, SOL_SOCKET, cm & SHIM_CM_TSNEW ? SO_TIMESTAMPNS_NEW : SO_TIMESTAMPNS_OLD, &v,
			 sizeof(v));
	} else {
		struct timeval v = { (time_t)(us / 1000000u), (suseconds_t)(us % 1000000u) };

		put_cmsg(msg, used, SOL_SOCKET, cm & SHIM_CM_TSNEW ? SO_TIMESTAMP_NEW : SO_TIMESTAMP_OLD, &v,
			 sizeof(v));
	}
}

/* SCM_TIMESTAMPING with the software time in ts[0] (Linux's struct
 * scm_timestamping; the _NEW type when the option was set with it). */
static void put_timestamping(struct msghdr *msg, size_t *used, unsigned cm, uint64_t us)
{
	struct timespec ts[3];

	memset(ts, 0, sizeof(ts));
	ts[0].tv_sec = (time_t)(us / 1000000u);
	ts[0].tv_nsec = (long)(us % 1000000u) * 1000;
	put_cmsg(msg, used, SOL_SOCKET, cm & SHIM_CM_TSING_NEW ? SO_TIMESTAMPING_NEW : SO_TIMESTAMPING_OLD, ts,
		 sizeof(ts));
}

/*
 * A TCP socket's error queue entry as Linux's ip_recv_error (ipv6_recv_error
 * on AF_INET6) gives it: the timestamp (SO_TIMESTAMPING's SOFTWARE
 * reporting) then IP_RECVERR with ENOMSG from SO_EE_ORIGIN_TIMESTAMPING (the
 * kind in ee_info, OPT_ID's key in ee_data), or a zerocopy completion from
 * SO_EE_ORIGIN_ZEROCOPY (the range of ids in ee_info..ee_data, copied); no
 * offender address.
 */
static void tcp_err_cmsgs(const struct shim_sock *k, struct msghdr *msg, size_t *used, const struct rx_extra *x)
{
	const struct tcp_err_info *e = &x->tcp_err;
	struct sock_extended_err ee;
	uint8_t buf[sizeof(ee) + sizeof(struct sockaddr_in6)];

	memset(&ee, 0, sizeof(ee));
	if (e->kind == TCP_ERR_TSTAMP) {
		if (x->tsflags & SOF_TIMESTAMPING_SOFTWARE)
			put_timestamping(msg, used, x->cm, realtime_us(x->now, e->at));
		ee.ee_errno = ENOMSG;
		ee.ee_origin = SO_EE_ORIGIN_TIMESTAMPING;
		ee.ee_info = e->tstype;
		ee.ee_data = x->tsflags & SOF_TIMESTAMPING_OPT_ID ? e->key - x->tskey : 0;
	} else {
		ee.ee_origin = SO_EE_ORIGIN_ZEROCOPY;
		ee.ee_code = SO_EE_CODE_ZEROCOPY_COPIED;
		ee.ee_info = e->lo;
		ee.ee_data = e->hi;
	}
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &ee, sizeof(ee));
	if (k->family == AF_INET6)
		put_cmsg(msg, used, SOL_IPV6, IPV6_RECVERR, buf, sizeof(ee) + sizeof(struct sockaddr_in6));
	else
		put_cmsg(msg, used, SOL_IP, IP_RECVERR, buf, sizeof(ee) + sizeof(struct sockaddr_in));
}

/* The IP header fields a datagram's control messages report. */
struct ip_rx_hdr {
	uint32_t dst, spec_dst;
	uint8_t ttl, tos;
	bool looped;            /* came over Linux's lo (LOOPBACK_IFINDEX, 1) */
	uint16_t lport;         /* IP_ORIGDSTADDR's port ... */
	bool origdst;           /* ... when it has one (a datagram, not an error) */
};

/*
 * udpv6_recvmsg's ip6_datagram_recv_common_ctl (IPV6_PKTINFO, the
 * destination IPv4-mapped, on AF_INET6), then ip_cmsg_recv's IP_PKTINFO,
 * IP_TTL, IP_TOS, IP_ORIGDSTADDR, as the socket asked for them (cm).
 */
static void ip_rx_cmsgs(const struct shim_sock *k, struct msghdr *msg, size_t *used, unsigned cm,
			const struct ip_rx_hdr *h)
{
	struct shim_iface ifc;
	int ifindex = 0;

	if (h->looped)
		ifindex = 1;
	else if ((cm & (SHIM_CM_PKTINFO | SHIM_CM_PKTINFO6)) && shim_host.iface &&
		 shim_host.iface(shim_host.ctx, &ifc) == 0)
		ifindex = (int)ifc.index;
	if ((cm & SHIM_CM_PKTINFO6) && k->family == AF_INET6) {
		struct in6_pktinfo pi6;

		memset(&pi6, 0, sizeof(pi6));
		pi6.ipi6_addr.s6_addr[10] = pi6.ipi6_addr.s6_addr[11] = 0xff;
		pi6.ipi6_addr.s6_addr32[3] = htonl(h->dst);
		pi6.ipi6_ifindex = (unsigned)ifindex;
		put_cmsg(msg, used, SOL_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	}
	if (cm & SHIM_CM_PKTINFO) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = ifindex;
		pi.ipi_addr.s_addr = htonl(h->dst);
		pi.ipi_spec_dst.s_addr = htonl(h->spec_dst);
		put_cmsg(msg, used, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (cm & SHIM_CM_TTL) {
		int ttl = h->ttl;

		put_cmsg(msg, used, SOL_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	if (cm & SHIM_CM_TOS)
		put_cmsg(msg, used, SOL_IP, IP_TOS, &h->tos, 1);
	if ((cm & SHIM_CM_ORIGDST) && h->origdst) {
		/* ip_cmsg_recv_dstaddr: the datagram's destination. */
		struct sockaddr_in d;

		memset(&d, 0, sizeof(d));
		d.sin_family = AF_INET;
		d.sin_port = htons(h->lport);
		d.sin_addr.s_addr = htonl(h->dst);
		put_cmsg(msg, used, SOL_IP, IP_ORIGDSTADDR, &d, sizeof(d));
	}
}

/*
 * recvmsg's control messages, in Linux's order (udp_recvmsg: the timestamp
 * from sock_recv_cmsgs, then ip_cmsg_recv's IP_PKTINFO, IP_TTL, IP_TOS; or
 * ip_recv_error's IP_RECVERR; tcp_recvmsg: the timestamps, then
 * TCP_CM_INQ). msg (the shim's copy) gets the length used in
 * msg_controllen and MSG_CTRUNC in msg_flags.
 */
static void rx_cmsgs_put(const struct shim_sock *k, struct msghdr *msg, const struct rx_extra *x)
{
	size_t used = 0;

	if (x->have_tcp_err) {
		tcp_err_cmsgs(k, msg, &used, x);
	} else if (k->type == SOCK_STREAM) {
		/* Linux's tcp_recv_timestamp: SO_TIMESTAMP*, then SCM_TIMESTAMPING
		 * when RX_SOFTWARE timestamps are made and SOFTWARE reported. */
		if (x->rx_at && (x->cm & SHIM_CM_TS))
			put_timestamp(msg, &used, x->cm, realtime_us(x->now, x->rx_at));
		if (x->rx_at && (x->tsflags & SOF_TIMESTAMPING_SOFTWARE) && (x->tsflags & SOF_TIMESTAMPING_RX_SOFTWARE))
			put_timestamping(msg, &used, x->cm, realtime_us(x->now, x->rx_at));
		if (x->have_inq && (x->cm & SHIM_CM_INQ))
			put_cmsg(msg, &used, SOL_TCP, TCP_CM_INQ, &x->inq, sizeof(x->inq));
	} else if (x->have_err) {
		struct {
			struct sock_extended_err ee;
			struct sockaddr_in offender;
		} e;

		/* ip_recv_error's sock_recv_timestamp comes first. */
		if (x->cm & SHIM_CM_TS)
			put_timestamp(msg, &used, x->cm, realtime_us(x->now, x->err.at));
		memset(&e, 0, sizeof(e));
		e.ee.ee_errno = (uint32_t)-x->err.err;
		e.ee.ee_origin = x->err.local ? SO_EE_ORIGIN_LOCAL : SO_EE_ORIGIN_ICMP;
		e.ee.ee_type = x->err.type;
		e.ee.ee_code = x->err.code;
		e.ee.ee_info = x->err.info;
		/* ip_recv_error: an offender for ICMP errors only, and the IP
		 * control messages the socket asked for, of the ICMP message's
		 * own header (ip_cmsg_recv; ipi_spec_dst 0); ipv6_recv_error
		 * IPV6_PKTINFO first. */
		if (!x->err.local) {
			e.offender.sin_family = AF_INET;
			e.offender.sin_addr.s_addr = htonl(x->err.offender);
			ip_rx_cmsgs(k, msg, &used, x->cm, &(struct ip_rx_hdr){
				.dst = x->err.icmp_dst, .ttl = x->err.icmp_ttl, .tos = x->err.icmp_tos,
				.looped = x->err.icmp_looped });
		}
		if (k->family == AF_INET6) {
			/* ipv6_recv_error reads an AF_INET6 socket's queue, IPv4
			 * errors too: SOL_IPV6's IPV6_RECVERR, the offender
			 * IPv4-mapped in a sockaddr_in6. */
			struct {
				struct sock_extended_err ee;
				struct sockaddr_in6 offender;
			} e6;

			memset(&e6, 0, sizeof(e6));
			e6.ee = e.ee;
			if (!x->err.local) {
				uint8_t *a = e6.offender.sin6_addr.s6_addr;

				e6.offender.sin6_family = AF_INET6;
				a[10] = a[11] = 0xff;
				memcpy(a + 12, &e.offender.sin_addr, 4);
			}
			put_cmsg(msg, &used, SOL_IPV6, IPV6_RECVERR, &e6, sizeof(e6));
		} else {
			put_cmsg(msg, &used, SOL_IP, IP_RECVERR, &e, sizeof(e));
		}
	} else if (k->type == SOCK_DGRAM && x->have_meta) {
		/* Linux's order: sock_recv_cmsgs (the timestamp, the mark, the
		 * priority), then ip_cmsg_recv_offset's by its flags' order. */
		uint32_t zero = 0;

		/* The stack's clock is monotonic: the arrival's age, from now. */
		if (x->cm & SHIM_CM_TS)
			put_timestamp(msg, &used, x->cm, realtime_us(x->now, x->meta.at));
		/* sock_recv_drops, after the timestamp: a datagram queued
		 * after drops, while SO_RXQ_OVFL was on (and still is). */
		if ((x->cm & SHIM_CM_OVFL) && x->meta.dropcount)
			put_cmsg(msg, &used, SOL_SOCKET, SO_RXQ_OVFL, &x->meta.dropcount, sizeof(x->meta.dropcount));
		/* No packet here has a mark or a priority: 0, as Linux's skb. */
		if (x->cm & SHIM_CM_MARK)
			put_cmsg(msg, &used, SOL_SOCKET, SO_MARK, &zero, sizeof(zero));
		if (x->cm & SHIM_CM_PRIO)
			put_cmsg(msg, &used, SOL_SOCKET, SO_PRIORITY, &zero, sizeof(zero));
		/* ipi_spec_dst: the address a reply would come from (the
		 * destination, unless it was a broadcast). */
		ip_rx_cmsgs(k, msg, &used, x->cm, &(struct ip_rx_hdr){
			.dst = x->meta.dst, .spec_dst = x->meta.dst == x->local || x->meta.looped ? x->meta.dst : x->local,
			.ttl = x->meta.ttl, .tos = x->meta.tos, .looped = x->meta.looped, .lport = x->lport,
			.origdst = true });
	}
	msg->msg_controllen = used;
}

ssize_t shim_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct sock_iov fast[SHIM_FASTIOV], *v = fast;
	struct ip4_endpoint src = { 0, 0 };
	struct rx_extra x;
	struct shim_sock *k;
	struct msghdr m;
	int r, mflags = 0;
	bool have;
	ssize_t n;

	k = enter(fd, &r);
	if (!k)
		return r == SHIM_PASS ? shim_netlink_recvmsg(fd, msg, flags) : r;
	if (shim_exposed(k) && !framed(k)) {
		n = exposed_pass_error(k);
		if (!n)
			n = exposed_udp_recvmsg(k, fd, msg, flags);
		leave(k);
		return n;
	}
	n = msg_import(&m, msg, NULL, fast, &v);
	if (n >= 0 && framed(k)) {
		memset(&x, 0, sizeof(x));
		n = framed_recv(k, fd, v, (int)m.msg_iovlen, flags, m.msg_name, &msg->msg_namelen, &mflags, &x);
		iov_free(v, fast);
		m.msg_flags = mflags | (flags & MSG_CMSG_CLOEXEC);
		if (n >= 0 && x.have_meta)
			rx_cmsgs_put(k, &m, &x);
		else
			m.msg_controllen = 0;
		if (n >= 0 && (shim_copy(&msg->msg_flags, &m.msg_flags, sizeof(m.msg_flags)) ||
			       shim_copy(&msg->msg_controllen, &m.msg_controllen, sizeof(m.msg_controllen))))
			n = -EFAULT;
		leave(k);
		return n;
	}
	if (n < 0) {
		leave(k);
		return n;
	}
	memset(&x, 0, sizeof(x));
	n = sock_recv(k, v, (int)m.msg_iovlen, flags, &src, &have, &mflags, &x);
	iov_free(v, fast);
	/* Linux's order: the control messages as the data is taken (each left
	 * out when it cannot be written), then the name (to the program's
	 * msg_name and msg_namelen, whatever length it gave), the flags, the
	 * control length; the first of these three that cannot be written
	 * fails the call. */
	if (n >= 0) {
		/* ____sys_recvmsg starts msg_flags from the call's
		 * MSG_CMSG_CLOEXEC: it shows in the flags written back. */
		m.msg_flags = mflags | (flags & MSG_CMSG_CLOEXEC);
		rx_cmsgs_put(k, &m, &x);
	}
	if (n >= 0 && m.msg_name && (r = sa_out(k, have ? &src : NULL, m.msg_name, &msg->msg_namelen)) < 0)
		n = r;
	if (n >= 0 && (shim_copy(&msg->msg_flags, &m.msg_flags, sizeof(m.msg_flags)) ||
		       shim_copy(&msg->msg_controllen, &m.msg_controllen, sizeof(m.msg_controllen))))
		n = -EFAULT;
	leave(k);
	return n;
}

/* Linux's __udp_cmsg_send: UDP_SEGMENT, a u16, is the only SOL_UDP one. */
static int udp_cmsg(const struct cmsghdr *h, const uint8_t *data, struct udp_tx_opts *o)
{
	if (h->cmsg_type != UDP_SEGMENT || h->cmsg_len != CMSG_LEN(sizeof(uint16_t)))
		return -EINVAL;
	memcpy(&o->gso_size, data, sizeof(o->gso_size));
	o->has_gso = true;
	return 0;
}

/* Linux's __sock_cmsg_send(): the SOL_SOCKET control messages of sendmsg. */
static int sol_socket_cmsg(const struct cmsghdr *h, const uint8_t *data, struct tx_cmsgs *cm)
{
	uint32_t v;

	switch (h->cmsg_type) {
	case SO_MARK:
	case SO_PRIORITY:
		return h->cmsg_len == CMSG_LEN(sizeof(uint32_t)) ? 0 : -EINVAL;
	case SO_TIMESTAMPING_OLD:
	case SO_TIMESTAMPING_NEW:
		if (h->cmsg_len != CMSG_LEN(sizeof(uint32_t)))
			return -EINVAL;
		memcpy(&v, data, sizeof(v));
		/* SOF_TIMESTAMPING_TX_RECORD_MASK: the TX timestamps only. */
		if (v & ~(SOF_TIMESTAMPING_TX_HARDWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED |
			  SOF_TIMESTAMPING_TX_ACK))
			return -EINVAL;
		cm->has_ts = true;      /* this call's TX flags (Linux's __sock_cmsg_send) */
		cm->ts = v;
		return 0;
	case SCM_RIGHTS:
	case SCM_CREDENTIALS:
		return 0;       /* SOL_UNIX's business: ignored on INET sockets */
	default:
		return -EINVAL; /* SCM_TXTIME without SO_TXTIME too */
	}
}

/* Linux's ip_cmsg_send(): IP_PKTINFO, IP_TTL, IP_TOS for one datagram. */
static int sol_ip_cmsg(const struct cmsghdr *h, const uint8_t *data, struct udp_tx_opts *o)
{
	int v;

	switch (h->cmsg_type) {
	case IP_PKTINFO: {
		struct in_pktinfo pi;

		if (h->cmsg_len != CMSG_LEN(sizeof(pi)))
			return -EINVAL;
		memcpy(&pi, data, sizeof(pi));
		o->src = ntohl(pi.ipi_spec_dst.s_addr);
		return 0;
	}
	case IP_TTL:
		if (h->cmsg_len != CMSG_LEN(sizeof(int)))
			return -EINVAL;
		memcpy(&v, data, sizeof(v));
		if (v < 1 || v > 255)
			return -EINVAL;
		o->ttl = v;
		return 0;
	case IP_TOS:
		if (h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&v, data, sizeof(v));
		else if (h->cmsg_len == CMSG_LEN(sizeof(uint8_t)))
			v = data[0];
		else
			return -EINVAL;
		if (v < 0 || v > 255)
			return -EINVAL;
		o->tos = v;
		return 0;
	case IP_PROTOCOL:
		if (h->cmsg_len != CMSG_LEN(sizeof(int)))
			return -EINVAL;
		memcpy(&v, data, sizeof(v));
		return v < 1 || v > 255 ? -EINVAL : 0;
	case IP_RETOPTS:
		return 0;       /* Deviation: IP options are not sent (they are ignored) */
	default:
		return -EINVAL;
	}
}

#define SHIM_OPTMEM_MAX 131072      /* Linux's net.core.optmem_max default */

/*
 * Reads msg's control messages as the kernel does (____sys_sendmsg copies
 * them first: ENOBUFS when too long, EFAULT when unreadable) and checks them
 * as the protocol's sendmsg does: TCP only SOL_SOCKET ones (tcp_sendmsg,
 * any error EINVAL), UDP (AF_INET, or AF_INET6 to an IPv4-mapped peer)
 * also SOL_UDP (none supported) and SOL_IP ones, and on AF_INET6
 * IPV6_PKTINFO (other levels are skipped). Errors that the kernel gives
 * only after checking the destination go in cm->err; the copy's are returned. msg is
 * the shim's copy of the program's msghdr; msg_control is the program's.
 */
static int tx_cmsgs_parse(const struct shim_sock *k, const struct msghdr *msg, struct tx_cmsgs *cm)
{
	uint8_t stackbuf[256], *ctl = stackbuf;
	size_t len = msg->msg_controllen, off = 0;

	cm->err = 0;
	cm->o = (struct udp_tx_opts){ .src = 0, .ttl = 0, .tos = -1 };
	cm->has_ts = false;
	cm->ts = 0;
	if (len > INT_MAX || len > SHIM_OPTMEM_MAX)
		return -ENOBUFS;
	if (len > sizeof(stackbuf) && !(ctl = malloc(len)))
		return -ENOBUFS;
	/* Memory the program does not own gives EFAULT, not a crash. */
	if (shim_copy(ctl, msg->msg_control, len)) {
		if (ctl != stackbuf)
			free(ctl);
		return -EFAULT;
	}
	while (off + sizeof(struct cmsghdr) <= len && !cm->err) {
		struct cmsghdr h;
		const uint8_t *data = ctl + off + CMSG_LEN(0);

		memcpy(&h, ctl + off, sizeof(h));
		/* CMSG_OK: a whole header, and no further than the buffer. */
		if (h.cmsg_len < sizeof(struct cmsghdr) || h.cmsg_len > len - off) {
			cm->err = -EINVAL;
			break;
		}
		/* An AF_INET6 socket's datagram to an IPv4-mapped peer goes
		 * through udp_sendmsg too: ip_cmsg_send with allow_ipv6, which
		 * takes IPV6_PKTINFO's mapped address as the source. */
		if (h.cmsg_level == SOL_SOCKET)
			cm->err = sol_socket_cmsg(&h, data, cm);
		else if (k->type == SOCK_DGRAM && h.cmsg_level == SOL_UDP)
			cm->err = udp_cmsg(&h, data, &cm->o);
		else if (k->type == SOCK_DGRAM && h.cmsg_level == SOL_IP)
			cm->err = sol_ip_cmsg(&h, data, &cm->o);
		else if (k->type == SOCK_DGRAM && k->family == AF_INET6 && h.cmsg_level == SOL_IPV6 &&
			 h.cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi6;

			if (h.cmsg_len < CMSG_LEN(sizeof(pi6))) {
				cm->err = -EINVAL;
			} else {
				memcpy(&pi6, data, sizeof(pi6));
				if (!IN6_IS_ADDR_V4MAPPED(&pi6.ipi6_addr))
					cm->err = -EINVAL;
				else
					cm->o.src = ntohl(pi6.ipi6_addr.s6_addr32[3]);
			}
		}
		off += CMSG_ALIGN(h.cmsg_len);
	}
	if (ctl != stackbuf)
		free(ctl);
	return 0;
}

ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sock_iov fast[SHIM_FASTIOV], *v = fast;
	struct sockaddr_storage ss;
	struct tx_cmsgs cm;
	struct shim_sock *k;
	struct msghdr m;
	long taken = 0;
	int r;
	ssize_t n;

	k = enter_io(fd, &r);
	if (!k)
		return r;
	n = msg_import(&m, msg, &ss, fast, &v);
	if (n < 0) {
		leave(k);
		return n;
	}
	if (framed(k)) {
		n = framed_send(k, fd, v, (int)m.msg_iovlen, flags, m.msg_name, m.msg_namelen);
		iov_free(v, fast);
		leave(k);
		return n;
	}
	if ((flags & MSG_FASTOPEN) && k->type == SOCK_STREAM) {
		n = fastopen_connect(&k, fd, m.msg_name, m.msg_namelen, v, (int)m.msg_iovlen, &taken);
		if (n) {
			iov_free(v, fast);
			if (k)
				leave(k);
			return n == 1 ? taken : n;
		}
		flags &= ~MSG_FASTOPEN;
		if (taken > 0 && (m.msg_iovlen = (size_t)iov_skip(v, (int)m.msg_iovlen, (size_t)taken)) == 0) {
			iov_free(v, fast);
			leave(k);
			return taken;
		}
	}
	if (m.msg_controllen)
		n = tx_cmsgs_parse(k, &m, &cm);
	if (n == 0)
		n = sock_send(k, fd, v, (int)m.msg_iovlen, flags, m.msg_name, m.msg_namelen,
			      m.msg_controllen ? &cm : NULL);
	iov_free(v, fast);
	leave(k);
	return fastopen_result(taken, n);
}

/*
 * Linux's do_recvmmsg: an error after some datagrams were taken (other
 * than EAGAIN) is kept in sk_err, for the next call or SO_ERROR, while the
 * call answers the count. UDP only. Deviation: TCP's is not kept (its
 * recvmsg reads sk_err only once the queue is empty, which the shim's
 * k->err, taken first, does not model).
 */
static void recvmmsg_keep_error(int fd, int err)
{
	struct shim_sock *k;
	int r;

	k = enter(fd, &r);
	if (!k)
		return;
	shim_lock();
	if (k->udp && !shim_exposed(k))
		udp_set_error(k->udp, err);
	shim_unlock();
	leave(k);
}

/* Lock held: the socket's pending error (SO_ERROR's), taken: the shim's
 * own, an exposed connection's handshake error (taken once by whichever
 * process asks first: shim/expose.c), then the stack's. 0 when none. */
static int sock_take_error(struct shim_sock *k)
{
	int v = k->err;

	k->err = 0;
	if (!v && k->share)
		v = atomic_exchange(&k->share->err, 0);
	if (!v && k->tcp)
		v = tcp_take_error(k->tcp);
	else if (!v && k->udp)
		v = udp_take_error(k->udp);
	return v;
}

/* Linux's do_recvmmsg takes the socket's pending error first (sock_error,
 * as SO_ERROR does) and answers it before any datagram, vlen 0 too. 0 when
 * none; an exposed socket's is the kernel's (its recvmmsg answers). */
static int recvmmsg_take_error(int fd)
{
	struct shim_sock *k;
	int r, v = 0;

	k = enter(fd, &r);
	if (!k)
		return r == SHIM_PASS ? 0 : r;
	shim_lock();
	if (!shim_exposed(k) && !framed(k))
		v = sock_take_error(k);
	shim_unlock();
	leave(k);
	return v;
}

int shim_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout)
{
	int f = flags & ~MSG_WAITFORONE;
	unsigned i;

	if (!shim_owns(fd))
		return SHIM_PASS;
	/* Deviation: the timeout is checked like Linux's (EFAULT, EINVAL) but
	 * not applied (Linux only checks it between datagrams anyway, see
	 * recvmmsg(2) BUGS). */
	if (timeout) {
		struct timespec ts;

		if (shim_copy(&ts, timeout, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || (unsigned long)ts.tv_nsec >= 1000000000ul)
			return -EINVAL;
	}
	if (!(flags & MSG_ERRQUEUE)) {
		int e = recvmmsg_take_error(fd);

		if (e)
			return e;
	}
	for (i = 0; i < n; i++) {
		ssize_t r = shim_recvmsg(fd, &v[i].msg_hdr, f);
		unsigned len = (unsigned)r;

		if (r >= 0 && shim_copy(&v[i].msg_len, &len, sizeof(len)))
			r = -EFAULT;
		if (r == SHIM_PASS)
			return SHIM_PASS;
		if (r < 0 && i && r != -EAGAIN)
			recvmmsg_keep_error(fd, (int)r);
		if (r < 0)
			return i ? (int)i : (int)r;
		if (flags & MSG_WAITFORONE)
			f |= MSG_DONTWAIT;
	}
	return (int)i;
}

int shim_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	unsigned i;

	if (!shim_owns(fd))
		return SHIM_PASS;
	/* Linux's __sys_sendmmsg: at most UIO_MAXIOV (1024) at a time. */
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		ssize_t r = shim_sendmsg(fd, &v[i].msg_hdr, flags);
		unsigned len = (unsigned)r;

		if (r >= 0 && shim_copy(&v[i].msg_len, &len, sizeof(len)))
			r = -EFAULT;
		if (r == SHIM_PASS)
			return SHIM_PASS;
		/* Linux: the count sent so far, or the first one's error. */
		if (r < 0)
			return i ? (int)i : (int)r;
	}
	return (int)i;
}

/* read() and readv() on k, with the shim's copy of the buffers. */
static ssize_t sock_read(struct shim_sock *k, struct sock_iov *v, int cnt)
{
	struct ip4_endpoint src;
	bool have;

	if (iov_total(v, cnt) == 0)
		return 0;   /* Linux's sock_read_iter: a zero-length read() is 0 at once, unlike recv() */
	return sock_recv(k, v, cnt, 0, &src, &have, NULL, NULL);
}

ssize_t shim_read(int fd, void *buf, size_t len)
{
	struct sock_iov v = iov_one(buf, len);
	struct shim_sock *k;
	int r;
	ssize_t rc;

	k = enter_io(fd, &r);
	if (!k)
		return r;
	rc = framed(k) ? (len ? framed_recv(k, fd, &v, 1, 0, NULL, NULL, NULL, NULL) : 0) : sock_read(k, &v, 1);
	leave(k);
	return rc;
}

ssize_t shim_readv(int fd, const struct iovec *iov, int n)
{
	struct sock_iov fast[SHIM_FASTIOV], *v = fast;
	struct shim_sock *k;
	int r;
	ssize_t rc;

	k = enter(fd, &r);
	if (!k)
		return r;
	rc = n < 0 || n > IOV_MAX ? -EINVAL : iov_import(iov, (size_t)n, fast, &v);
	if (rc == 0) {
		rc = !framed(k) ? sock_read(k, v, n) : iov_total(v, n) ? framed_recv(k, fd, v, n, 0, NULL, NULL, NULL, NULL) : 0;
		iov_free(v, fast);
	}
	leave(k);
	return rc;
}

ssize_t shim_writev(int fd, const struct iovec *iov, int n)
{
	struct sock_iov fast[SHIM_FASTIOV], *v = fast;
	struct shim_sock *k;
	int r;
	ssize_t rc;

	k = enter_io(fd, &r);
	if (!k)
		return r;
	rc = n < 0 || n > IOV_MAX ? -EINVAL : iov_import(iov, (size_t)n, fast, &v);
	if (rc == 0 && framed(k)) {
		rc = iov_total(v, n) ? framed_send(k, fd, v, n, 0, NULL, 0) : 0;
		iov_free(v, fast);
	} else if (rc == 0) {
		/* Linux's vfs_writev: nothing to write is 0 before the socket
		 * is asked (no EPIPE nor SIGPIPE, no empty datagram); write()
		 * of nothing does go to it. */
		rc = iov_total(v, n) ? sock_send(k, fd, v, n, 0, NULL, 0, NULL) : 0;
		iov_free(v, fast);
	}
	leave(k);
	return rc;
}

/*
 * preadv2 / pwritev2 at offset -1 (the file position: a socket has none,
 * and reads or writes as readv/writev do). Linux's vfs_readv/vfs_writev:
 * the vector first (EINVAL, EFAULT), nothing to move is 0, then the flags
 * (kiocb_set_rw_flags: an unknown one, RWF_ATOMIC or RWF_DONTCACHE on a
 * socket, EOPNOTSUPP); RWF_NOWAIT is MSG_DONTWAIT (sock_read_iter,
 * sock_write_iter), the others change nothing on a socket.
 */
#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x00000020
#endif
#define SHIM_RWF_SOCK (RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND | RWF_NOAPPEND)

ssize_t shim_rwv2(int fd, const struct iovec *iov, int n, int flags, bool write)
{
	struct sock_iov fast[SHIM_FASTIOV], *v = fast;
	struct shim_sock *k;
	int r;
	ssize_t rc;

	k = write ? enter_data(fd, &r) : enter(fd, &r);
	if (!k)
		return r;
	rc = n < 0 || n > IOV_MAX ? -EINVAL : iov_import(iov, (size_t)n, fast, &v);
	if (rc == 0) {
		int mf = (flags & RWF_NOWAIT) ? MSG_DONTWAIT : 0;
		struct ip4_endpoint src;
		bool have;

		if (iov_total(v, n) == 0)
			rc = 0;
		else if ((unsigned)flags & ~(unsigned)SHIM_RWF_SOCK)
			rc = -EOPNOTSUPP;
		else if (write)
			rc = sock_send(k, fd, v, n, mf, NULL, 0, NULL);
		else
			rc = sock_recv(k, v, n, mf, &src, &have, NULL, NULL);
		iov_free(v, fast);
	}
	leave(k);
	return rc;
}

/* ---- splice ---- */

enum { SPLICE_CHUNK = 65536 };

/* The program can read n bytes at p (the kernel's copy_from_user would not
 * fault): splice's offsets are checked, never used. */
static bool readable(const void *p, size_t n)
{
	char tmp[16];

	return shim_copy(tmp, p, n < sizeof(tmp) ? n : sizeof(tmp)) == 0;
}

/* fd is a pipe (splice's other end); -EBADF when it is not open. */
static int is_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -EBADF;
	return S_ISFIFO(st.st_mode);
}

/* The access mode of fd allows reading (want_read) or writing. */
static bool fd_mode_ok(int fd, bool want_read)
{
	int fl = shim_libc.fcntl(fd, F_GETFL);
	int acc = fl & O_ACCMODE;

	return fl >= 0 && (acc == O_RDWR || acc == (want_read ? O_RDONLY : O_WRONLY));
}

/* Waits until pipe fd is ready for ev (POLLIN or POLLOUT): 1 ready, 0 when
 * SPLICE_F_NONBLOCK says not to wait, -EINTR; POLLHUP/POLLERR count as ready. */
static int pipe_wait(int fd, short ev, unsigned flags)
{
	struct pollfd p = { .fd = fd, .events = ev };
	struct timespec zero = { 0, 0 };
	int r = SHIM_SAFE_CALL(shim_libc.ppoll(&p, 1, (flags & SPLICE_F_NONBLOCK) ? &zero : NULL, NULL));

	if (r < 0)
		return -errno;
	return r > 0;
}

/* Bytes a pipe holds, and its room (F_GETPIPE_SZ less what it holds). */
static int pipe_fill(int fd, size_t *held, size_t *room)
{
	int n = 0, cap = shim_libc.fcntl(fd, F_GETPIPE_SZ);

	if (cap < 0 || shim_libc.ioctl(fd, FIONREAD, &n) < 0)
		return -errno;
	*held = (size_t)n;
	*room = cap > n ? (size_t)(cap - n) : 0;
	return 0;
}

/*
 * splice from stack socket k into pipe out (Linux's tcp_splice_read and
 * splice_file_to_pipe): waits for room in the pipe (unless
 * SPLICE_F_NONBLOCK), then for data as a read of the socket would (its
 * O_NONBLOCK, SO_RCVTIMEO, the end of the stream: 0), and moves what is
 * there, at most len and the pipe's room. TCP bytes are peeked, written,
 * then taken as far as the pipe took them: none is lost. A datagram goes
 * whole (cut to the room, like a read).
 */
static ssize_t splice_from_sock(struct shim_sock *k, int out, size_t len, unsigned flags)
{
	struct ip4_endpoint src;
	struct sock_iov iov;
	size_t held, room;
	bool have;
	ssize_t n, w;
	char *buf;
	int r;

	for (;;) {
		r = pipe_fill(out, &held, &room);
		if (r < 0)
			return r;
		if (room)
			break;
		r = pipe_wait(out, POLLOUT, flags);
		if (r < 0)
			return r;
		if (r == 0)
			return -EAGAIN;
	}
	if (k->type == SOCK_STREAM) {
		/* Linux's tcp_read_sock (tcp_splice_read) stops at the urgent
		 * mark: with the urgent byte out of band and next, splice says
		 * 0 rather than skip it as a read does, or wait
		 * (tcp_splice_tcp_splice_loop_test). */
		bool mark;

		shim_lock();
		mark = k->tcp && tcp_atmark(k->tcp) && !tcp_opts(k->tcp)->oobinline;
		shim_unlock();
		if (mark)
			return 0;
	}
	if (len > room)
		len = room;
	if (len > SPLICE_CHUNK)
		len = SPLICE_CHUNK;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	iov = (struct sock_iov){ buf, len };
	n = sock_recv(k, &iov, 1, k->type == SOCK_STREAM ? MSG_PEEK : 0, &src, &have, NULL, NULL);
	if (n > 0) {
		w = shim_libc.write(out, buf, (size_t)n);
		if (w < 0) {
			n = -errno;
		} else if (k->type == SOCK_STREAM) {
			/* What the pipe took leaves the socket (it is there: peeked). */
			iov = (struct sock_iov){ buf, (size_t)w };
			n = w ? sock_recv(k, &iov, 1, MSG_DONTWAIT, &src, &have, NULL, NULL) : 0;
		}
	}
	free(buf);
	return n;
}

/*
 * splice from pipe in to stack socket k (Linux's splice_to_socket): waits
 * for the pipe's data (EAGAIN with SPLICE_F_NONBLOCK, 0 once no writer is
 * left), then sends up to len bytes as a send() would (the socket's
 * O_NONBLOCK; one datagram on UDP). The bytes are copied with tee() into a
 * pipe of our own, sent, and only the bytes the socket took leave the
 * program's pipe.
 */
static ssize_t splice_to_sock(struct shim_sock *k, int fd, int in, size_t len, unsigned flags)
{
	size_t held, room, total = 0;
	ssize_t r = 0;
	int tmp[2];
	char *buf;

	for (;;) {
		r = pipe_fill(in, &held, &room);
		if (r < 0)
			return r;
		if (held)
			break;
		r = pipe_wait(in, POLLIN, flags);
		if (r < 0)
			return r;
		if (r == 0)
			return -EAGAIN;
		r = pipe_fill(in, &held, &room);
		if (r < 0)
			return r;
		if (!held)
			return 0;       /* readable and empty: no writer is left */
	}
	buf = malloc(SPLICE_CHUNK);
	if (!buf)
		return -ENOMEM;
	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(buf);
		return -errno;
	}
	while (total < len) {
		size_t want = len - total < SPLICE_CHUNK ? len - total : SPLICE_CHUNK;
		struct sock_iov iov;
		ssize_t t, s;

		if (k->type == SOCK_DGRAM && total)
			break;      /* one datagram */
		t = tee(in, tmp[1], want, SPLICE_F_NONBLOCK);
		if (t <= 0) {
			if (t < 0 && !total)
				r = errno == EAGAIN ? 0 : -errno;
			break;
		}
		t = shim_libc.read(tmp[0], buf, (size_t)t);
		if (t <= 0)
			break;
		iov = (struct sock_iov){ buf, (size_t)t };
		s = sock_send(k, fd, &iov, 1, MSG_NOSIGNAL, NULL, 0, NULL);
		if (s < 0) {
			if (!total)
				r = s;
			/* Linux's splice raises SIGPIPE like a send. */
			if (s == -EPIPE && k->type == SOCK_STREAM)
				raise(SIGPIPE);
			break;
		}
		/* The bytes sent leave the program's pipe (tee copied them). */
		for (ssize_t left = s; left > 0;) {
			ssize_t d = shim_libc.read(in, buf, (size_t)left);

			if (d <= 0)
				break;
			left -= d;
		}
		total += (size_t)s;
		if (s < t)
			break;
		if (pipe_fill(in, &held, &room) < 0 || !held)
			break;
	}
	shim_libc.close(tmp[0]);
	shim_libc.close(tmp[1]);
	free(buf);
	return total ? (ssize_t)total : r;
}

static ssize_t splice_sock_pipe(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
	bool from_sock = shim_owns(in);
	struct shim_sock *k;
	ssize_t n;
	int r, pipe_end;

	/* Both ends stack sockets, or neither a pipe: the kernel answers
	 * (EINVAL) on the placeholders, which it can splice nothing from. */
	if (shim_owns(in) == shim_owns(out))
		return SHIM_PASS;
	pipe_end = is_pipe(from_sock ? out : in);
	if (pipe_end <= 0)
		return pipe_end < 0 ? pipe_end : SHIM_PASS;
	k = enter_data(from_sock ? in : out, &r);
	if (!k)
		return r;
	/* Linux's __do_splice and do_splice, in their order: an offset for
	 * the pipe (ESPIPE), the other offset read (EFAULT), the ends' access
	 * modes (EBADF), an offset for the socket (EINVAL: no pread/pwrite). */
	if ((from_sock && off_out) || (!from_sock && off_in)) {
		r = -ESPIPE;
	} else if (from_sock ? (off_in && !readable(off_in, sizeof(*off_in))) :
		   (off_out && !readable(off_out, sizeof(*off_out)))) {
		r = -EFAULT;
	} else if (!fd_mode_ok(in, true) || !fd_mode_ok(out, false)) {
		r = -EBADF;
	} else if (off_in || off_out) {
		r = -EINVAL;
	} else if (!from_sock && k->append) {
		r = -EINVAL;    /* do_splice: a destination opened O_APPEND */
	} else if (!len) {
		r = 0;          /* sendfile's (splice's own is 0 before all this) */
	} else {
		n = from_sock ? splice_from_sock(k, out, len, flags) : splice_to_sock(k, out, in, len, flags);
		leave(k);
		return n;
	}
	leave(k);
	return r;
}

ssize_t shim_splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
	/* sys_splice: a length of 0 is 0 before anything is looked at (bad
	 * descriptors included), then unknown flags are EINVAL. */
	if (!len)
		return 0;
	if (flags & ~(unsigned)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
		return -EINVAL;
	return splice_sock_pipe(in, off_in, out, off_out, len, flags);
}

/* ---- sendfile ---- */

/*
 * sendfile's bytes read into a buffer of ours and sent from there: files
 * that cannot be mapped (pipes, sockets, devices, procfs), and what a
 * mapping could not give. pos: the file offset to read at (pread), moved by
 * what was sent; NULL: the file position (read, moved back by what the
 * socket did not take). *total grows by what was sent; 0, or an error
 * when nothing was sent (*total 0: the error is the call's answer).
 */
/*
 * The send flags of sendfile's short read (the file ends before count):
 * Linux's splice_direct_to_actor sets SPLICE_F_MORE then, so the bytes go
 * as MSG_MORE, and the splice's end (splice_eof) pushes them again: TCP's
 * (tcp_splice_eof) and an AF_INET UDP socket's (udp_splice_eof), but an
 * AF_INET6 UDP socket's datagram to a mapped address stays corked
 * (measured on Linux 6.18: SIOCOUTQ 837, and the next send without
 * MSG_MORE ends one datagram of both).
 */
static int sendfile_more(const struct shim_sock *k)
{
	return k->type == SOCK_DGRAM && k->family == AF_INET6 ? MSG_MORE : 0;
}

static ssize_t sendfile_copy(struct shim_sock *k, int out_fd, int in_fd, off_t *pos, size_t count,
			     size_t *total)
{
	enum { CHUNK = 65536 };
	size_t sent = 0;
	ssize_t r = 0;
	char *buf = malloc(count && count < CHUNK ? count : CHUNK);

	if (!buf)
		return *total ? 0 : -ENOMEM;
	while (sent < count) {
		size_t want = count - sent < CHUNK ? count - sent : CHUNK;
		struct sock_iov v;
		ssize_t n, s;

		n = pos ? shim_libc.pread(in_fd, buf, want, *pos) : shim_libc.read(in_fd, buf, want);
		if (n < 0) {
			/* A directory has no splice_read: Linux's sendfile says EINVAL. */
			r = errno == EISDIR ? -EINVAL : -errno;
			break;
		}
		if (n == 0)
			break;
		v = iov_one(buf, (size_t)n);
		s = sock_send(k, out_fd, &v, 1, (size_t)n < want ? sendfile_more(k) : 0, NULL, 0, NULL);
		if (s < 0) {
			if (!pos)
				(void)shim_libc.lseek(in_fd, -(off_t)n, SEEK_CUR);
			r = s;
			break;
		}
		sent += (size_t)s;
		if (pos)
			*pos += s;
		else if (s < n)
			(void)shim_libc.lseek(in_fd, -(off_t)(n - s), SEEK_CUR);
		if (s < n)
			break;
	}
	free(buf);
	*total += sent;
	return *total ? 0 : r;
}

/* in_fd is a regular file that sendfile may read (Linux's FMODE_READ: not
 * O_WRONLY, not O_PATH) with bytes to map; *st its fstat. */
static bool sendfile_mappable(int in_fd, struct stat *st)
{
	int fl;

	if (fstat(in_fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_size <= 0)
		return false;
	fl = shim_libc.fcntl(in_fd, F_GETFL);
	return fl >= 0 && !(fl & O_PATH) && ((fl & O_ACCMODE) == O_RDONLY || (fl & O_ACCMODE) == O_RDWR);
}

/*
 * sendfile from a regular file (st: its fstat) at *pos: each window of the
 * file's mapping (shim/sendfile.c) goes into the send ring by the stack's
 * copy, which is the only copy of the bytes. A copy that faults (the file
 * was cut shorter, or its page could not be read: SIGBUS, EFAULT from the
 * copy) sends none of that pass: the rest is read as any file's
 * (sendfile_copy), which ends where the file now ends, or gives the read's
 * error. Same answers as sendfile_copy.
 */
static ssize_t sendfile_mapped(struct shim_sock *k, int out_fd, int in_fd, const struct stat *st,
			       off_t *pos, size_t count, size_t *total)
{
	while (*total < count && *pos < st->st_size) {
		size_t left = count - *total, len;
		struct shim_fmap *m;
		const char *p;
		struct sock_iov v;
		ssize_t s;

		if (left > (size_t)(st->st_size - *pos))
			left = (size_t)(st->st_size - *pos);
		p = shim_fmap_get(in_fd, st, *pos, left, &len, &m);
		if (!p)
			return sendfile_copy(k, out_fd, in_fd, pos, count - *total, total);
		v = iov_one(p, len);
		/* The last bytes of the file, fewer than count asked for: a
		 * short read, as sendfile_copy's. */
		s = sock_send(k, out_fd, &v, 1,
			      *pos + (off_t)len >= st->st_size && *total + len < count ? sendfile_more(k) : 0,
			      NULL, 0, NULL);
		shim_fmap_put(m, s == -EFAULT);
		if (s == -EFAULT)
			return sendfile_copy(k, out_fd, in_fd, pos, count - *total, total);
		if (s < 0)
			return *total ? 0 : s;
		*total += (size_t)s;
		*pos += s;
		if ((size_t)s < v.len)
			break;
	}
	return 0;
}

ssize_t shim_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct shim_sock *k;
	size_t total = 0;
	struct stat st;
	off_t off = 0;
	ssize_t r;
	int e;

	/* From a stack socket into a pipe: Linux's sendfile is splice then
	 * (do_sendfile); an offset for a socket: ESPIPE. */
	if (!shim_owns(out_fd) && shim_owns(in_fd) && is_pipe(out_fd) > 0) {
		if (offset)
			return -ESPIPE;
		return splice_sock_pipe(in_fd, NULL, out_fd, NULL, count, 0);
	}
	k = enter_data(out_fd, &e);
	if (!k)
		return e;
	/* Linux reads the offset first, and writes it back last. */
	if (offset && shim_copy(&off, offset, sizeof(off))) {
		leave(k);
		return -EFAULT;
	}
	if (shim_owns(in_fd)) {
		leave(k);
		return -EINVAL;
	}
	/* do_splice_direct refuses a destination opened O_APPEND (EINVAL),
	 * once do_sendfile found in_fd open for reading (EBADF). */
	if (k->append) {
		int fl = shim_libc.fcntl(in_fd, F_GETFL);

		leave(k);
		return fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY ? -EBADF : -EINVAL;
	}
	/* A short send from the start of a file (a small file whole) is read
	 * whatever the file is: the read's answers are sendfile's for every
	 * kind of fd (a regular file not readable, a pipe with an offset), and
	 * its one system call replaces the fstat and fcntl that choosing a
	 * mapping takes (two of the nine system calls of a small page's
	 * request served by nginx). The tail of a larger file goes on from the
	 * view its first part mapped (one copy, not a read's two). */
	if (!(count < SHIM_FMAP_MIN && offset && off == 0) && count && sendfile_mappable(in_fd, &st) &&
	    (offset ? off >= 0 : (off = shim_libc.lseek(in_fd, 0, SEEK_CUR)) >= 0)) {
		/* Without an offset, the file position: read here, moved once. */
		r = sendfile_mapped(k, out_fd, in_fd, &st, &off, count, &total);
		if (!offset && total)
			(void)shim_libc.lseek(in_fd, off, SEEK_SET);
	} else {
		r = sendfile_copy(k, out_fd, in_fd, offset ? &off : NULL, count, &total);
	}
	leave(k);
	if (offset && shim_copy(offset, &off, sizeof(off)))
		return -EFAULT;
	return r < 0 ? r : (ssize_t)total;
}

/* ---- options ---- */

/* An int option's value. The placeholder took it already (the kernel's
 * checks, EFAULT included): a failure here is memory another thread took
 * away since. */
static int get_int(const void *val, socklen_t len, int *v)
{
	if (len < sizeof(int))
		return -EINVAL;
	return shim_copy(v, val, sizeof(int));
}

/* Writes an int option like Linux's sock_getsockopt: *len read first
 * (EFAULT), negative EINVAL, the value cut to it, *len written last. */
static int put_int(void *val, socklen_t *len, int v)
{
	int ulen;

	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (ulen < 0)
		return -EINVAL;
	if ((unsigned)ulen > sizeof(int))
		ulen = sizeof(int);
	if (shim_copy(val, &v, (size_t)ulen))
		return -EFAULT;
	return shim_copy(len, &ulen, sizeof(ulen));
}

/* An IPPROTO_IP int as Linux's do_ip_getsockopt gives it: one byte when
 * the caller's room is smaller than an int and the value fits in one. */
static int put_ip_int(void *val, socklen_t *len, int v)
{
	int ulen;
	unsigned char b = (unsigned char)v;

	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (ulen > 0 && (unsigned)ulen < sizeof(int) && v >= 0 && v <= 255) {
		ulen = 1;
		if (shim_copy(len, &ulen, sizeof(ulen)) || shim_copy(val, &b, 1))
			return -EFAULT;
		return 0;
	}
	return put_int(val, len, v);
}

/* The engine's option for an IPPROTO_TCP name that its getopt answers (-1: none). */
static int tcp_opt_of(int name)
{
	switch (name) {
	case TCP_CORK: return TCP_OPT_CORK;
	case TCP_NOTSENT_LOWAT: return TCP_OPT_NOTSENT_LOWAT;
	case TCP_DEFER_ACCEPT: return TCP_OPT_DEFER_ACCEPT;
	case TCP_SYNCNT: return TCP_OPT_SYNCNT;
	case TCP_LINGER2: return TCP_OPT_LINGER2;
	case TCP_KEEPIDLE: return TCP_OPT_KEEPIDLE;
	case TCP_KEEPINTVL: return TCP_OPT_KEEPINTVL;
	case TCP_KEEPCNT: return TCP_OPT_KEEPCNT;
	case TCP_WINDOW_CLAMP: return TCP_OPT_WINDOW_CLAMP;
	case TCP_QUICKACK: return TCP_OPT_QUICKACK;
	case TCP_SAVE_SYN: return TCP_OPT_SAVE_SYN;
	case TCP_RTO_MAX_MS: return TCP_OPT_RTO_MAX;
	default: return -1;
	}
}

/* Whether the value of opt comes from the namespace's sysctls, o leaving
 * it unset (Linux's defaults of TCP_SYNCNT, TCP_LINGER2, the keep-alive
 * timers, TCP_RTO_MAX_MS: tcp_syn_retries, tcp_fin_timeout, tcp_keepalive_*,
 * tcp_rto_max_ms). */
static bool from_sysctl(const struct sock_opts *o, int opt)
{
	switch (opt) {
	case TCP_OPT_SYNCNT: return !o->syncnt;
	case TCP_OPT_LINGER2: return !o->linger2;
	case TCP_OPT_KEEPIDLE: return !o->keepidle;
	case TCP_OPT_KEEPINTVL: return !o->keepintvl;
	case TCP_OPT_KEEPCNT: return !o->keepcnt;
	case TCP_OPT_RTO_MAX: return !o->rto_max_ms;
	default: return false;
	}
}

/* The options an exposed socket's connection has: other processes may
 * have set them through its relay (relay_share). */
static const struct sock_opts *cur_opts(const struct shim_sock *k)
{
	return k->tcp && atomic_load_explicit(&k->exposed, memory_order_acquire) ? tcp_opts(k->tcp) : &k->opts;
}

/*
 * An IPPROTO_TCP option the shim answers, with do_tcp_getsockopt()'s length
 * rule (the length taken as unsigned, at most an int's; TCP_CONGESTION's
 * name at most TCP_CA_NAME_MAX bytes); SHIM_PASS for the others. Values
 * come from the socket's options (an accepted socket's are its listener's,
 * as Linux clones them, not its placeholder's), the connection's when it
 * has one (the window clamp it uses).
 */
static int get_tcp_opt(const struct shim_sock *k, int name, void *val, socklen_t *len)
{
	const struct sock_opts *o = cur_opts(k);
	char cc[16];
	const void *src = &name;
	unsigned n, max = sizeof(int);
	int v, ulen, opt = tcp_opt_of(name);

	switch (name) {
	case TCP_NODELAY: v = o->nodelay; break;
	case TCP_USER_TIMEOUT: v = (int)o->user_timeout_ms; break;
	case TCP_INQ: v = (k->rx_cmsgs & SHIM_CM_INQ) != 0; break;
	case TCP_CONGESTION:
		memset(cc, 0, sizeof(cc));
		strcpy(cc, o->congestion == 1 ? "reno" : "cubic");     /* 1: NewReno (sock.h) */
		src = cc;
		max = sizeof(cc);
		v = 0;
		break;
	default:
		if (opt < 0)
			return SHIM_PASS;
		if (!k->tcp && !shim_stack_locked() && from_sysctl(o, opt))
			return SHIM_PASS;       /* the placeholder reads the namespace's sysctls, as the stack will */
		if ((k->tcp ? tcp_getopt(k->tcp, (enum tcp_option)opt, &v) :
		     tcp_opts_get(shim_stack_locked(), o, (enum tcp_option)opt, &v)) != 0)
			return SHIM_PASS;
		break;
	}
	if (src == &name)
		src = &v;
	/* The program's length and value through copies (EFAULT). */
	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (ulen < 0)
		return -EINVAL;
	n = (unsigned)ulen < max ? (unsigned)ulen : max;
	if (n && shim_copy(val, src, n))
		return -EFAULT;
	return shim_copy(len, &n, sizeof(n));
}

/*
 * Stack lock held: TCP_SAVED_SYN as Linux's do_tcp_getsockopt answers it. The
 * saved SYN's headers (TCP_SAVE_SYN on the listener) once: a buffer too
 * short is EINVAL with the length needed written; read, they are gone.
 * Without any: length 0.
 */
static int saved_syn_opt(struct shim_sock *k, void *val, socklen_t *len)
{
	unsigned n = 0;
	const uint8_t *p = tcp_saved_syn(k->tcp, &n);
	int ulen;

	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (!p) {
		ulen = 0;
		return shim_copy(len, &ulen, sizeof(ulen));
	}
	if (ulen < (int)n) {
		ulen = (int)n;
		return shim_copy(len, &ulen, sizeof(ulen)) ? -EFAULT : -EINVAL;
	}
	ulen = (int)n;
	if (shim_copy(len, &ulen, sizeof(ulen)) || shim_copy(val, p, n))
		return -EFAULT;
	tcp_saved_syn_drop(k->tcp);
	return 0;
}

static uint64_t timeval_us(const void *val, socklen_t len)
{
	struct timeval tv;

	if (len < sizeof(tv) || shim_copy(&tv, val, sizeof(tv)))
		return 0;
	/* Linux's sock_set_timeout: a negative time is no wait at all (a
	 * timeout of 0 jiffies: EAGAIN, or EINPROGRESS for connect(), at
	 * once); here 0 is for ever, so the least wait there is. */
	if (tv.tv_sec < 0)
		return 1;
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Records an option of a TCP socket, and applies it to the connection once
 * that exists. Before, a value the engine refuses is not kept, and not an
 * error (the kernel accepted it on the placeholder, with the same limits). */
static int set_tcp(struct shim_sock *k, enum tcp_option opt, int v)
{
	int r = tcp_opts_set(&k->opts, opt, v);

	if (!k->tcp) {
		/* Served by a relay, maybe in another process: asked through
		 * the shared state (shim_setsockopt waits for it, unlocked). */
		if (!r && k->share && shim_exposed(k))
			relay_share_want(k->share, (int)opt, v);
		return 0;
	}
	return r ? r : tcp_setopt_at(k->tcp, opt, v, shim_now());
}

/*
 * IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP on a UDP socket, answered by the
 * stack (the placeholder would answer for the kernel's side of the TAP,
 * where the stack's address is not local: ENODEV). Linux's order of checks
 * (do_ip_setsockopt, ip_mc_join_group): the length, a multicast group, the
 * interface (by address: the stack's, or any; by index: the stack has one
 * interface, any index is it), joined already, too many.
 */
/* Stack lock held, the stack running: the interface of a multicast call,
 * by address or index, is the stack's (or lo, index 1); else -ENODEV, as
 * Linux's ip_mc_find_dev for an index or address no device has. tap: the
 * stack's device's index. */
static int mc_iface(uint32_t ifaddr, unsigned ifindex, unsigned tap)
{
	if (!ifindex && ifaddr && ifaddr != stack_config(shim_stack())->addr)
		return -ENODEV;
	if (ifindex && ifindex != 1 && ifindex != tap)
		return -ENODEV;
	return 0;
}

/* No lock: whether k is framed_remote (its options go to its relay). */
static bool remote_dgram(struct shim_sock *k)
{
	bool r;

	shim_lock();
	r = k->type == SOCK_DGRAM && framed_remote(k);
	shim_unlock();
	return r;
}

/* mc_iface in a process without the stack (framed_remote): the stack's
 * address as this process learnt it, the device's index as it sees it. */
static int remote_iface(uint32_t ifaddr, unsigned ifindex)
{
	struct shim_iface ifc;
	unsigned tap = 0;

	if (ifindex && shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
		tap = ifc.index;
	if (!ifindex && ifaddr && ifaddr != shim_stack_addr())
		return -ENODEV;
	if (ifindex && ifindex != 1 && ifindex != tap)
		return -ENODEV;
	return 0;
}

/*
 * A joiner's UDP socket (or a fork child's own) before the owner's stack
 * made it (shim/join.c: at bind, or the first send or connect): Linux's
 * socket joins groups and sets source filters before it is bound as well,
 * so they are kept here (k->pend_ms, with the stack's rules: udp.h,
 * struct udp_mships) and given to the stack's socket once it exists
 * (shim_join_dgram calls shim_join_groups). Lock held: k's table (made at
 * the first call), or NULL when k is not such a socket (*r 1), or out of
 * memory (*r -ENOBUFS).
 */
static struct udp_mships *pend_mships(struct shim_sock *k, int *r)
{
	*r = 1;
	if (!k->join || k->type != SOCK_DGRAM || k->family != AF_INET || k->framed || k->dead)
		return NULL;
	if (!k->pend_ms && !(k->pend_ms = calloc(1, sizeof(*k->pend_ms))))
		*r = -ENOBUFS;
	return k->pend_ms;
}

static int pend_membership(struct shim_sock *k, bool join, uint32_t group, uint32_t ifaddr, int ifindex)
{
	int ifr = join ? remote_iface(ifaddr, (unsigned)ifindex) : 0;
	struct udp_mships *m;
	int r;

	shim_lock();
	if ((m = pend_mships(k, &r)) != NULL) {
		/* Linux's ip_mc_join_group: the group, then the device, then
		 * the socket's list. */
		if (!join)
			r = udp_mships_leave(m, group);
		else if (!ip4_is_multicast(group))
			r = -EINVAL;
		else if (ifr < 0)
			r = ifr;
		else
			r = udp_mships_join(m, group);
	}
	shim_unlock();
	return r;
}

void shim_join_groups(struct shim_sock *k)
{
	struct udp_mships *m;

	shim_lock();
	m = k->pend_ms;
	k->pend_ms = NULL;
	shim_unlock();
	if (!m)
		return;
	for (unsigned i = 0; i < m->ngroups; i++) {
		struct relay_dgram_req q = { .op = RELAY_REQ_JOIN, .group = m->groups[i] };

		(void)framed_req(k, &q);
		if (!m->sf[i].n)
			continue;   /* any source: the join's */
		q = (struct relay_dgram_req){ .op = RELAY_REQ_MSFILTER, .group = m->groups[i],
					      .include = m->sf[i].include, .n = m->sf[i].n };
		memcpy(q.src, m->sf[i].src, m->sf[i].n * sizeof(q.src[0]));
		(void)framed_req(k, &q);
	}
	free(m);
}

/* Joins (join) or leaves group on k, the interface by its address or index
 * (mc_iface). */
static int membership(struct shim_sock *k, bool join, uint32_t group, uint32_t ifaddr, int ifindex)
{
	struct shim_iface ifc;
	unsigned tap = 0;
	int r;

	if ((r = pend_membership(k, join, group, ifaddr, ifindex)) != 1)
		return r;
	if (remote_dgram(k)) {
		/* The membership is the socket's, in every process that holds
		 * it: its relay's stack socket joins (Linux's order of checks
		 * as below; udp_join's and udp_leave's answers). */
		struct relay_dgram_req q = { .op = join ? RELAY_REQ_JOIN : RELAY_REQ_LEAVE, .group = group };

		if (join && !ip4_is_multicast(group))
			return -EINVAL;
		if (join && (r = remote_iface(ifaddr, (unsigned)ifindex)) < 0)
			return r;
		return framed_req(k, &q);
	}
	if (ifindex && shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
		tap = ifc.index;
	shim_lock();
	r = attach(k);
	if (r == 0 && join) {
		if (!ip4_is_multicast(group))
			r = -EINVAL;
		else if ((r = mc_iface(ifaddr, (unsigned)ifindex, tap)) == 0)
			r = udp_join(k->udp, group);
	} else if (r == 0) {
		r = udp_leave(k->udp, group);
	}
	shim_unlock();
	return r;
}

static int set_membership(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	struct ip_mreqn m;
	uint32_t group, ifaddr;

	if (len < sizeof(struct ip_mreq))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	if (shim_copy(&m, val, len >= sizeof(m) ? sizeof(m) : sizeof(struct ip_mreq)))
		return -EFAULT;
	group = ntohl(m.imr_multiaddr.s_addr);
	ifaddr = ntohl(m.imr_address.s_addr);
	return membership(k, name == IP_ADD_MEMBERSHIP, group, ifaddr, m.imr_ifindex);
}

/*
 * The source filters (Linux's do_ip_setsockopt, ip_mc_source): an
 * ip_mreq_source of exactly its size; a multicast group (EINVAL), on the
 * stack's interface (by address: ours or any, else ENODEV); then the
 * stack's filter. IP_ADD/DROP_SOURCE_MEMBERSHIP include the sources (the
 * add joins), IP_BLOCK/UNBLOCK_SOURCE exclude them from a group joined.
 */
static int set_source_filter(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	struct ip_mreq_source m;
	struct udp_mships *ms;
	uint32_t group, ifaddr;
	int r, ifr;

	if (len != sizeof(m))
		return -EINVAL;
	if (shim_copy(&m, val, sizeof(m)))
		return -EFAULT;
	group = ntohl(m.imr_multiaddr.s_addr);
	ifaddr = ntohl(m.imr_interface.s_addr);
	if (!ip4_is_multicast(group))
		return -EINVAL;
	ifr = remote_iface(ifaddr, 0);
	shim_lock();
	if ((ms = pend_mships(k, &r)) != NULL)
		r = ifr < 0 ? ifr :
		    udp_mships_source(ms, group, ntohl(m.imr_sourceaddr.s_addr),
				      name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_DROP_SOURCE_MEMBERSHIP,
				      name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_BLOCK_SOURCE);
	shim_unlock();
	if (r != 1)
		return r;       /* kept until the socket is made (pend_mships) */
	if (remote_dgram(k)) {
		struct relay_dgram_req q = {
			.op = RELAY_REQ_SOURCE, .group = group, .n = 1,
			.include = name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_DROP_SOURCE_MEMBERSHIP,
			.add = name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_BLOCK_SOURCE,
		};

		q.src[0] = ntohl(m.imr_sourceaddr.s_addr);
		r = remote_iface(ifaddr, 0);
		return r < 0 ? r : framed_req(k, &q);
	}
	shim_lock();
	r = attach(k);
	if (r == 0 && ifaddr && ifaddr != stack_config(shim_stack())->addr)
		r = -ENODEV;
	if (r == 0)
		r = udp_source_filter(k->udp, group, ntohl(m.imr_sourceaddr.s_addr),
				      name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_DROP_SOURCE_MEMBERSHIP,
				      name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_BLOCK_SOURCE);
	shim_unlock();
	return r;
}

/*
 * The same by a group_source_req (Linux's do_mcast_group_source): exactly
 * its size (EINVAL), AF_INET group and source (EADDRNOTAVAIL), a multicast
 * group (EINVAL), the interface by index (the stack has one).
 */
static int set_group_source_req(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	struct group_source_req g;
	struct sockaddr_in gs, ss;
	struct udp_mships *ms;
	int r;

	if (len != sizeof(g))
		return -EINVAL;
	if (shim_copy(&g, val, sizeof(g)))
		return -EFAULT;
	memcpy(&gs, &g.gsr_group, sizeof(gs));
	memcpy(&ss, &g.gsr_source, sizeof(ss));
	if (gs.sin_family != AF_INET || ss.sin_family != AF_INET)
		return -EADDRNOTAVAIL;
	if (!ip4_is_multicast(ntohl(gs.sin_addr.s_addr)))
		return -EINVAL;
	shim_lock();
	if ((ms = pend_mships(k, &r)) != NULL)
		r = udp_mships_source(ms, ntohl(gs.sin_addr.s_addr), ntohl(ss.sin_addr.s_addr),
				      name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_LEAVE_SOURCE_GROUP,
				      name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_BLOCK_SOURCE);
	shim_unlock();
	if (r != 1)
		return r;       /* kept until the socket is made (pend_mships) */
	if (remote_dgram(k)) {
		struct relay_dgram_req q = {
			.op = RELAY_REQ_SOURCE, .group = ntohl(gs.sin_addr.s_addr), .n = 1,
			.include = name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_LEAVE_SOURCE_GROUP,
			.add = name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_BLOCK_SOURCE,
		};

		q.src[0] = ntohl(ss.sin_addr.s_addr);
		return framed_req(k, &q);
	}
	shim_lock();
	r = attach(k);
	if (r == 0)
		r = udp_source_filter(k->udp, ntohl(gs.sin_addr.s_addr), ntohl(ss.sin_addr.s_addr),
				      name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_LEAVE_SOURCE_GROUP,
				      name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_BLOCK_SOURCE);
	shim_unlock();
	return r;
}

/* The interface of a source filter call, by address or index, as
 * membership() takes it (Linux's ip_mc_find_dev): 0, or -ENODEV. */
static int msf_iface(uint32_t ifaddr, uint32_t ifindex, unsigned *tap)
{
	struct shim_iface ifc;
	int r;

	*tap = 0;
	if (shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
		*tap = ifc.index;
	shim_lock();
	r = shim_need_stack();
	if (r == 0)
		r = mc_iface(ifaddr, ifindex, *tap);
	shim_unlock();
	return r;
}

/*
 * IP_MSFILTER / MCAST_MSFILTER set on a UDP socket: a group's whole source
 * filter (Linux's do_ip_setsockopt, ip_set_mcast_msfilter, ip_mc_msfilter,
 * in their order): the length of the fixed part (EINVAL), the number of
 * sources (ENOBUFS past igmp_max_msf), the length they need (EINVAL), AF_INET
 * addresses (MCAST_MSFILTER: EADDRNOTAVAIL), a multicast group and a mode
 * (EINVAL), the interface (ENODEV), then the stack's filter of a group
 * joined (EINVAL when not; (INCLUDE, none) leaves it).
 */
static int set_msfilter(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	uint32_t src[UDP_MAX_MSF], group, ifaddr = 0, ifindex = 0, fmode, n;
	struct udp_mships *ms;
	unsigned tap;
	int r, ifr;

	if (name == IP_MSFILTER) {
		struct ip_msfilter h;
		struct in_addr a[UDP_MAX_MSF];

		if (len < IP_MSFILTER_SIZE(0))
			return -EINVAL;
		if (shim_copy(&h, val, IP_MSFILTER_SIZE(0)))
			return -EFAULT;
		if (h.imsf_numsrc >= 0x3ffffffcU || h.imsf_numsrc > UDP_MAX_MSF)
			return -ENOBUFS;
		if (IP_MSFILTER_SIZE(h.imsf_numsrc) > len)
			return -EINVAL;
		n = h.imsf_numsrc;
		if (shim_copy(a, (const char *)val + offsetof(struct ip_msfilter, imsf_slist), n * sizeof(a[0])))
			return -EFAULT;
		for (uint32_t i = 0; i < n; i++)
			src[i] = ntohl(a[i].s_addr);
		group = ntohl(h.imsf_multiaddr.s_addr);
		ifaddr = ntohl(h.imsf_interface.s_addr);
		fmode = h.imsf_fmode;
	} else {
		struct group_filter h;
		struct sockaddr_in gs;

		if (len < GROUP_FILTER_SIZE(0))
			return -EINVAL;
		if (shim_copy(&h, val, GROUP_FILTER_SIZE(0)))
			return -EFAULT;
		if (h.gf_numsrc >= 0x1ffffff || h.gf_numsrc > UDP_MAX_MSF)
			return -ENOBUFS;
		if (GROUP_FILTER_SIZE(h.gf_numsrc) > len)
			return -EINVAL;
		n = h.gf_numsrc;
		memcpy(&gs, &h.gf_group, sizeof(gs));
		if (gs.sin_family != AF_INET)
			return -EADDRNOTAVAIL;
		for (uint32_t i = 0; i < n; i++) {
			struct sockaddr_storage ss;
			struct sockaddr_in si;

			if (shim_copy(&ss, (const char *)val + offsetof(struct group_filter, gf_slist) + i * sizeof(ss),
				      sizeof(ss)))
				return -EFAULT;
			memcpy(&si, &ss, sizeof(si));
			if (si.sin_family != AF_INET)
				return -EADDRNOTAVAIL;
			src[i] = ntohl(si.sin_addr.s_addr);
		}
		group = ntohl(gs.sin_addr.s_addr);
		ifindex = h.gf_interface;
		fmode = h.gf_fmode;
	}
	if (!ip4_is_multicast(group) || (fmode != MCAST_INCLUDE && fmode != MCAST_EXCLUDE))
		return -EINVAL;
	ifr = remote_iface(ifaddr, ifindex);
	shim_lock();
	if ((ms = pend_mships(k, &r)) != NULL)
		r = ifr < 0 ? ifr : udp_mships_set_msfilter(ms, group, fmode == MCAST_INCLUDE, src, n);
	shim_unlock();
	if (r != 1)
		return r;       /* kept until the socket is made (pend_mships) */
	if (remote_dgram(k)) {
		struct relay_dgram_req q = { .op = RELAY_REQ_MSFILTER, .group = group, .n = (uint16_t)n,
					     .include = fmode == MCAST_INCLUDE };

		_Static_assert(RELAY_REQ_SRC_MAX == UDP_MAX_MSF, "a request carries a whole filter");
		memcpy(q.src, src, n * sizeof(src[0]));
		r = remote_iface(ifaddr, ifindex);
		return r < 0 ? r : framed_req(k, &q);
	}
	r = msf_iface(ifaddr, ifindex, &tap);
	if (r < 0)
		return r;
	shim_lock();
	r = attach(k);
	if (r == 0)
		r = udp_set_msfilter(k->udp, group, fmode == MCAST_INCLUDE, src, n);
	shim_unlock();
	return r;
}

/*
 * IP_MSFILTER / MCAST_MSFILTER read (Linux's do_ip_getsockopt,
 * ip_mc_msfget, ip_get_mcast_msfilter, ip_mc_gsfget): the fixed part read
 * from the caller, whose source count says how many sources it has room for;
 * the group's mode and number of sources written back, with as many of them
 * as fit, and the length they fill. MCAST_MSFILTER names the interface by
 * the index the group was joined on (the stack's device), else EADDRNOTAVAIL.
 */
static int get_msfilter(struct shim_sock *k, int name, void *val, socklen_t *lenp)
{
	uint32_t src[UDP_MAX_MSF], group, ifaddr = 0, want;
	struct ip_msfilter ih;
	struct group_filter gh;
	bool include = false, remote = remote_dgram(k), pend;
	unsigned tap = 0, copy;
	int len, r;

	/* Not made in the stack yet: its kept table (pend_mships). */
	shim_lock();
	pend = pend_mships(k, &r) != NULL || r < 0;
	shim_unlock();
	remote = remote || pend;

	if (shim_copy(&len, lenp, sizeof(len)))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if (name == IP_MSFILTER) {
		if ((size_t)len < IP_MSFILTER_SIZE(0))
			return -EINVAL;
		if (shim_copy(&ih, val, IP_MSFILTER_SIZE(0)))
			return -EFAULT;
		group = ntohl(ih.imsf_multiaddr.s_addr);
		ifaddr = ntohl(ih.imsf_interface.s_addr);
		want = ih.imsf_numsrc;
		if (!ip4_is_multicast(group))
			return -EINVAL;
		r = remote ? remote_iface(ifaddr, 0) : msf_iface(ifaddr, 0, &tap);
		if (r < 0)
			return r;
	} else {
		struct sockaddr_in gs;

		if ((size_t)len < GROUP_FILTER_SIZE(0))
			return -EINVAL;
		if (shim_copy(&gh, val, GROUP_FILTER_SIZE(0)))
			return -EFAULT;
		memcpy(&gs, &gh.gf_group, sizeof(gs));
		group = ntohl(gs.sin_addr.s_addr);
		want = gh.gf_numsrc;
		if (gs.sin_family != AF_INET || !ip4_is_multicast(group))
			return -EINVAL;
		if (remote) {
			struct shim_iface ifc;

			if (shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
				tap = ifc.index;
		} else {
			(void)msf_iface(0, 0, &tap);
		}
		if (!tap || gh.gf_interface != tap)
			return -EADDRNOTAVAIL;
	}
	if (pend) {
		shim_lock();
		r = k->pend_ms ? udp_mships_get_msfilter(k->pend_ms, group, &include, src, UDP_MAX_MSF) :
				 -EADDRNOTAVAIL;
		shim_unlock();
	} else if (remote) {
		/* The filter is the socket's, which another process's relay
		 * serves (framed_remote): read there. */
		struct relay_dgram_req q = { .op = RELAY_REQ_GET_MSFILTER, .group = group }, a;

		r = framed_req_get(k, &q, &a);
		if (r >= 0) {
			include = a.include != 0;
			memcpy(src, a.src, (a.n < UDP_MAX_MSF ? a.n : UDP_MAX_MSF) * sizeof(src[0]));
		}
	} else {
		shim_lock();
		r = k->udp ? udp_get_msfilter(k->udp, group, &include, src, UDP_MAX_MSF) : -EADDRNOTAVAIL;
		shim_unlock();
	}
	if (r < 0)
		return r;
	copy = (unsigned)r < want ? (unsigned)r : want;
	if (name == IP_MSFILTER) {
		ih.imsf_fmode = include ? MCAST_INCLUDE : MCAST_EXCLUDE;
		ih.imsf_numsrc = (uint32_t)r;
		len = (int)IP_MSFILTER_SIZE(copy);
		if (shim_copy(lenp, &len, sizeof(len)) || shim_copy(val, &ih, IP_MSFILTER_SIZE(0)))
			return -EFAULT;
		for (unsigned i = 0; i < copy; i++) {
			struct in_addr a = { htonl(src[i]) };

			if (shim_copy((char *)val + offsetof(struct ip_msfilter, imsf_slist) + i * sizeof(a), &a,
				      sizeof(a)))
				return -EFAULT;
		}
		return 0;
	}
	for (unsigned i = 0; i < copy; i++) {
		struct sockaddr_storage ss;
		struct sockaddr_in si = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src[i]) };

		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, &si, sizeof(si));
		if (shim_copy((char *)val + offsetof(struct group_filter, gf_slist) + i * sizeof(ss), &ss, sizeof(ss)))
			return -EFAULT;
	}
	gh.gf_fmode = include ? MCAST_INCLUDE : MCAST_EXCLUDE;
	gh.gf_numsrc = (uint32_t)r;
	len = (int)GROUP_FILTER_SIZE(copy);
	if (shim_copy(lenp, &len, sizeof(len)) || shim_copy(val, &gh, GROUP_FILTER_SIZE(0)))
		return -EFAULT;
	return 0;
}

/*
 * MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP (Linux's ip_mcast_join_leave): a
 * group_req, its group an AF_INET address (else EINVAL), then as
 * IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP with that group and interface index.
 */
static int set_group_req(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	struct group_req g;
	struct sockaddr_in gs;
	struct ip_mreqn m;

	if (len < sizeof(g))
		return -EINVAL;
	if (shim_copy(&g, val, sizeof(g)))
		return -EFAULT;
	memcpy(&gs, &g.gr_group, sizeof(gs));
	if (gs.sin_family != AF_INET)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.imr_multiaddr = gs.sin_addr;
	m.imr_ifindex = (int)g.gr_interface;
	return set_membership(k, name == MCAST_JOIN_GROUP ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof(m));
}

/*
 * SO_ATTACH_FILTER / SO_DETACH_FILTER on a UDP socket, once the placeholder
 * took it (the kernel's checks of the program, SO_LOCK_FILTER, and what
 * SO_GET_FILTER reads back): the stack runs the same program on each
 * datagram before it queues it (stack/core/bpf.h). The program is read
 * again from the caller's memory, which the kernel just read.
 */
static int udp_filter_set(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	struct sock_fprog fp = { 0 };
	struct bpf_insn *prog = NULL;
	struct shim_iface ifc;
	uint32_t ifindex = 0;
	int r;

	if (name == SO_ATTACH_FILTER) {
		if (len < sizeof(fp) || shim_copy(&fp, val, sizeof(fp)) || !fp.len || fp.len > BPF_MAXINSNS_CLASSIC)
			return -EINVAL;   /* the kernel took it: changed since */
		prog = malloc(fp.len * sizeof(*prog));
		if (!prog)
			return -ENOMEM;
		if (shim_copy(prog, fp.filter, fp.len * sizeof(*prog))) {
			free(prog);
			return -EFAULT;
		}
	}
	if (shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
		ifindex = ifc.index;
	shim_lock();
	r = attach(k);
	if (r == 0)
		r = udp_set_filter(k->udp, prog, prog ? fp.len : 0, ifindex);
	shim_unlock();
	free(prog);
	return r;
}

/*
 * IP_MULTICAST_IF on a UDP socket (Linux's do_ip_setsockopt): an in_addr,
 * an ip_mreq or an ip_mreqn. By address alone, the kernel looks the address
 * up among its own (ip_dev_find): the stack's is not the namespace's, so the
 * placeholder is given the stack's device by index with it, and keeps the
 * address for getsockopt as Linux does. Any other value: the placeholder's
 * checks as they are (SHIM_PASS).
 */
static int set_multicast_if(struct shim_sock *k, int fd, const void *val, socklen_t len)
{
	struct ip_mreqn m;
	struct shim_iface ifc;

	if (len < sizeof(struct in_addr))
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	if (len >= sizeof(m) ? shim_copy(&m, val, sizeof(m)) :
	    len >= sizeof(struct ip_mreq) ? shim_copy(&m, val, sizeof(struct ip_mreq)) :
	    shim_copy(&m.imr_address, val, sizeof(m.imr_address)))
		return -EFAULT;
	if (m.imr_ifindex || !m.imr_address.s_addr || !shim_host.iface ||
	    shim_host.iface(shim_host.ctx, &ifc) != 0 || !ifc.index || ntohl(m.imr_address.s_addr) != ifc.addr)
		return SHIM_PASS;
	m.imr_ifindex = (int)ifc.index;
	return shim_libc.setsockopt(shim_opt_fd(k, fd), IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m)) < 0 ? -errno : 0;
}

/*
 * MCAST_JOIN_GROUP / MCAST_LEAVE_GROUP on a TCP socket: Linux takes them
 * (ip_mc_join_group has no check of the protocol, where IP_ADD_MEMBERSHIP
 * has: EPROTO) and keeps the membership, which the placeholder does. With
 * no interface given, the kernel picks the device of the route to the
 * group (ip_mc_find_dev): the stack's, where the placeholder's namespace
 * has no route (ENODEV); the placeholder is given the stack's device by
 * index. Any other value: the placeholder's checks as they are.
 */
static int tcp_group_req(struct shim_sock *k, int fd, int name, const void *val, socklen_t len)
{
	struct group_req g;
	struct shim_iface ifc;

	if (len < sizeof(g) || shim_copy(&g, val, sizeof(g)) || g.gr_interface || !shim_host.iface ||
	    shim_host.iface(shim_host.ctx, &ifc) != 0 || !ifc.index)
		return SHIM_PASS;
	g.gr_interface = ifc.index;
	return shim_libc.setsockopt(shim_opt_fd(k, fd), IPPROTO_IP, name, &g, sizeof(g)) < 0 ? -errno : 0;
}

/*
 * TCP_CONGESTION (Linux's do_tcp_setsockopt, tcp_set_congestion_control):
 * EINVAL for an empty name, ENOENT for one the stack does not implement
 * (only CUBIC and NewReno here, whatever the kernel has); the placeholder
 * gets the name too, for a socket that goes to the kernel later.
 */
static int set_congestion(struct shim_sock *k, int fd, const void *val, socklen_t len)
{
	char cc[16] = { 0 };
	int r;

	if ((int)len < 1)
		return -EINVAL;
	if (shim_copy(cc, val, len < sizeof(cc) - 1 ? len : sizeof(cc) - 1))
		return -EFAULT;
	if (strcmp(cc, "reno") != 0 && strcmp(cc, "cubic") != 0)
		return -ENOENT;
	if (shim_libc.setsockopt(shim_opt_fd(k, fd), IPPROTO_TCP, TCP_CONGESTION, val, len) < 0)
		return -errno;
	shim_lock();
	r = set_tcp(k, TCP_OPT_CONGESTION, cc[0] == 'r');     /* 1: NewReno */
	shim_unlock();
	return r;
}

/*
 * SO_TIMESTAMPING on a TCP socket (Linux's sock_set_timestamping): OPT_ID
 * needs a connection (not CLOSE nor LISTEN, which the placeholder always
 * is) and takes SND.UNA, or with OPT_ID_TCP the end of what is queued, as
 * the base of its keys, when it is first turned on. The placeholder checks
 * the rest (its mask, OPT_STATS, BIND_PHC) with OPT_ID left out; the
 * flags are the shim's.
 */
static int set_timestamping(struct shim_sock *k, int fd, int name, const void *val, socklen_t len)
{
	struct so_timestamping st;
	uint32_t flags, base = 0;
	int r = 0;

	if (len < sizeof(int))
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	if (shim_copy(&st, val, len == sizeof(st) ? sizeof(st) : sizeof(int)))
		return -EFAULT;
	flags = (uint32_t)st.flags;
	if ((flags & SOF_TIMESTAMPING_OPT_ID_TCP) && !(flags & SOF_TIMESTAMPING_OPT_ID))
		return -EINVAL;
	shim_lock();
	if ((flags & SOF_TIMESTAMPING_OPT_ID) && !(k->opts.tsflags & SOF_TIMESTAMPING_OPT_ID)) {
		enum tcp_state st_now = k->tcp ? tcp_get_state(k->tcp) : TCP_STATE_CLOSED;

		if (st_now == TCP_STATE_CLOSED || st_now == TCP_STATE_LISTEN)
			r = -EINVAL;
		else
			base = tcp_tskey_base(k->tcp, flags & SOF_TIMESTAMPING_OPT_ID_TCP);
	} else {
		base = k->tskey;
	}
	shim_unlock();
	if (r < 0)
		return r;
	st.flags = (int)(flags & ~(uint32_t)(SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_ID_TCP));
	if (shim_libc.setsockopt(shim_opt_fd(k, fd), SOL_SOCKET, name, &st, len == sizeof(st) ? sizeof(st) : sizeof(int)) < 0)
		return -errno;
	shim_lock();
	k->tskey = base;
	r = set_tcp(k, TCP_OPT_TIMESTAMPING, (int)flags);
	if (name == SO_TIMESTAMPING_NEW)
		k->rx_cmsgs |= SHIM_CM_TSING_NEW;
	else
		k->rx_cmsgs &= ~(unsigned)SHIM_CM_TSING_NEW;
	shim_unlock();
	return r;
}

/*
 * TCP_CORK and TCP_NODELAY on a connection of this process's stack, not
 * exposed: answered here without the placeholder (a server toggles them on
 * every response: nginx's tcp_nopush sets TCP_CORK on and off around each
 * sendfile). Linux's checks for them are the length and the copy
 * (__sys_setsockopt's negative length, do_tcp_setsockopt's int), made here
 * in its order; they take any value, and their getsockopt is answered from
 * the socket's options (get_tcp_opt), never the placeholder's. SHIM_PASS:
 * another case, to the placeholder first.
 */
static int set_tcp_quick(struct shim_sock *k, int level, int name, const void *val, socklen_t len)
{
	enum tcp_option opt = name == TCP_CORK ? TCP_OPT_CORK : TCP_OPT_NODELAY;
	struct relay_share *sh = NULL;
	int r, v;

	if (level != IPPROTO_TCP || (name != TCP_CORK && name != TCP_NODELAY) || k->type != SOCK_STREAM ||
	    (int)len < (int)sizeof(int))
		return SHIM_PASS;
	if (shim_copy(&v, val, sizeof(v)))
		return -EFAULT;
	if (name == TCP_NODELAY)
		v = v != 0;
	shim_lock();
	if (k->tcp && !shim_exposed(k)) {
		r = set_tcp(k, opt, v);
	} else if (!k->tcp && k->share && shim_exposed(k) && !k->listening) {
		/* A connection a relay serves (a fork child's, one handed
		 * over a listener's channel): asked through the shared state
		 * (set_tcp), not waited for (relay_share_nudge). */
		r = set_tcp(k, opt, v);
		sh = r == 0 ? k->share : NULL;
	} else {
		r = SHIM_PASS;
	}
	shim_unlock();
	if (sh)
		relay_share_nudge(sh, (int)opt, v);
	/* A listener's loopback side (lo_listen): its connections inherit it. */
	if ((r == 0 || r == -ENOPROTOOPT) && atomic_load(&k->lo_fd) >= 0)
		(void)shim_libc.setsockopt(atomic_load(&k->lo_fd), level, name, &v, sizeof(v));
	return r == -ENOPROTOOPT ? 0 : r;
}

/*
 * The TCP options Linux's do_tcp_setsockopt refuses in some states, which
 * the placeholder (always CLOSE) would take: once the int is read (EINVAL,
 * EFAULT, as the placeholder gives them), TCP_QUEUE_SEQ out of CLOSE and a
 * listener's TCP_AO_REPAIR (tcp_can_repair_sock) are EPERM, the fast open
 * options past LISTEN (TCP_FASTOPEN_CONNECT past CLOSE) EINVAL. 0 to go on.
 */
static int tcp_state_setopt(struct shim_sock *k, int name, const void *val, socklen_t len)
{
	enum tcp_state st;
	bool fo_client_on;
	int v;

	if (k->type != SOCK_STREAM || (name != TCP_QUEUE_SEQ && name != TCP_FASTOPEN &&
				       name != TCP_FASTOPEN_CONNECT && name != TCP_FASTOPEN_NO_COOKIE &&
				       name != SHIM_TCP_AO_REPAIR))
		return 0;
	if (get_int(val, len, &v))
		return 0;       /* the placeholder answers as Linux does */
	shim_lock();
	/* A connection that ended (TIME_WAIT too) is Linux's socket in CLOSE
	 * (tcp_time_wait, tcp_done). */
	st = k->tcp && !tcp_ended(k->tcp) ? tcp_get_state(k->tcp) : TCP_STATE_CLOSED;
	fo_client_on = tcp_fastopen_client_on(shim_stack_locked());
	shim_unlock();
	switch (name) {
	case TCP_QUEUE_SEQ:
		return st != TCP_STATE_CLOSED ? -EPERM : 0;
	case SHIM_TCP_AO_REPAIR:
		return st == TCP_STATE_LISTEN ? -EPERM : 0;
	case TCP_FASTOPEN:
		return v >= 0 && st != TCP_STATE_CLOSED && st != TCP_STATE_LISTEN ? -EINVAL : 0;
	case TCP_FASTOPEN_CONNECT:
		/* Linux's do_tcp_setsockopt: a value of 0 or 1 is EOPNOTSUPP
		 * while the namespace's client side is off (the placeholder's
		 * kernel reads its own namespace's sysctl, not the stack's). */
		if (v != 0 && v != 1)
			return 0;
		if (!fo_client_on)
			return -EOPNOTSUPP;
		return st != TCP_STATE_CLOSED ? -EINVAL : 0;
	default:        /* TCP_FASTOPEN_NO_COOKIE */
		return (v == 0 || v == 1) && st != TCP_STATE_CLOSED && st != TCP_STATE_LISTEN ? -EINVAL : 0;
	}
}

/*
 * Options Linux's accepted sockets inherit from their listener (sk_clone
 * copies the socket, inet_csk_clone_lock the inet part) that live on the
 * placeholder alone: the stack's own (buffer sizes, keepalive, TCP's) come
 * with the connection's options, their locks (SO_BUF_LOCK, which a size
 * set takes too) with the placeholder's. An accepted socket's placeholder is a
 * socket of its own: those its listener was given are copied to it at
 * accept (a listener given none costs nothing).
 */
static const struct { int level, name; } inherit_tab[] = {
	{ SOL_SOCKET, SO_DEBUG }, { SOL_SOCKET, SO_DONTROUTE }, { SOL_SOCKET, SO_BROADCAST },
	{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_RCVLOWAT },
	{ SOL_SOCKET, SO_MARK }, { SOL_SOCKET, SO_TIMESTAMP_OLD }, { SOL_SOCKET, SO_TIMESTAMPNS_OLD },
	{ SOL_SOCKET, SO_TIMESTAMP_NEW }, { SOL_SOCKET, SO_TIMESTAMPNS_NEW }, { SOL_SOCKET, SO_RXQ_OVFL },
	{ SOL_SOCKET, SO_SELECT_ERR_QUEUE }, { SOL_SOCKET, SO_BUSY_POLL }, { SOL_SOCKET, SO_BINDTODEVICE },
	{ SOL_SOCKET, SO_PASSCRED }, { SOL_SOCKET, SO_PASSSEC }, { SOL_SOCKET, SO_BUF_LOCK },
	{ SOL_SOCKET, SO_TXREHASH }, { SOL_SOCKET, SO_LINGER },
	{ IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_TTL }, { IPPROTO_IP, IP_RECVOPTS }, { IPPROTO_IP, IP_RETOPTS },
	{ IPPROTO_IP, IP_PKTINFO }, { IPPROTO_IP, IP_MTU_DISCOVER }, { IPPROTO_IP, IP_RECVERR },
	{ IPPROTO_IP, IP_RECVTTL }, { IPPROTO_IP, IP_RECVTOS }, { IPPROTO_IP, IP_FREEBIND },
	{ IPPROTO_IP, IP_PASSSEC }, { IPPROTO_IP, IP_TRANSPARENT }, { IPPROTO_IP, IP_NODEFRAG },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT }, { IPPROTO_IP, IP_RECVORIGDSTADDR }, { IPPROTO_IP, IP_CHECKSUM },
	{ IPPROTO_IP, IP_MINTTL }, { IPPROTO_IP, IP_RECVFRAGSIZE }, { IPPROTO_IP, IP_RECVERR_RFC4884 },
	{ IPPROTO_IP, IP_LOCAL_PORT_RANGE },
};

/*
 * The options of a UDP socket that its stack socket keeps (relay.h, enum
 * relay_dgram_opt), by their level and name; their values as struct
 * sock_opts holds them.
 */
static const struct {
	int level, name;
} dgram_opts[RELAY_UDP_NOPTS] = {
	[RELAY_UDP_BROADCAST] = { SOL_SOCKET, SO_BROADCAST },
	[RELAY_UDP_REUSEADDR] = { SOL_SOCKET, SO_REUSEADDR },
	[RELAY_UDP_REUSEPORT] = { SOL_SOCKET, SO_REUSEPORT },
	[RELAY_UDP_DONTROUTE] = { SOL_SOCKET, SO_DONTROUTE },
	[RELAY_UDP_RCVBUF] = { SOL_SOCKET, SO_RCVBUF },
	[RELAY_UDP_TOS] = { IPPROTO_IP, IP_TOS },
	[RELAY_UDP_TTL] = { IPPROTO_IP, IP_TTL },
	[RELAY_UDP_PMTUDISC] = { IPPROTO_IP, IP_MTU_DISCOVER },
	[RELAY_UDP_MC_TTL] = { IPPROTO_IP, IP_MULTICAST_TTL },
	[RELAY_UDP_MC_LOOP] = { IPPROTO_IP, IP_MULTICAST_LOOP },
	[RELAY_UDP_MC_ALL] = { IPPROTO_IP, IP_MULTICAST_ALL },
	[RELAY_UDP_GSO] = { IPPROTO_UDP, UDP_SEGMENT },
	[RELAY_UDP_CORK] = { IPPROTO_UDP, UDP_CORK },
};

/* The enum relay_dgram_opt of level/name, or -1. */
static int dgram_opt_id(int level, int name)
{
	if (level == SOL_SOCKET && name == SO_RCVBUFFORCE)
		name = SO_RCVBUF;
	for (int i = 0; i < RELAY_UDP_NOPTS; i++)
		if (dgram_opts[i].level == level && dgram_opts[i].name == name)
			return i;
	return -1;
}

static int dgram_opt_get(const struct sock_opts *o, int opt)
{
	switch (opt) {
	case RELAY_UDP_BROADCAST: return o->broadcast;
	case RELAY_UDP_REUSEADDR: return o->reuseaddr;
	case RELAY_UDP_REUSEPORT: return o->reuseport;
	case RELAY_UDP_DONTROUTE: return o->dontroute;
	case RELAY_UDP_RCVBUF: return o->rcvbuf;
	case RELAY_UDP_TOS: return o->tos;
	case RELAY_UDP_TTL: return o->ttl;
	case RELAY_UDP_PMTUDISC: return o->pmtudisc;
	case RELAY_UDP_MC_TTL: return o->mc_ttl;
	case RELAY_UDP_MC_LOOP: return o->mc_loop;
	case RELAY_UDP_MC_ALL: return o->mc_all;
	case RELAY_UDP_CORK: return o->udp_cork;
	default: return o->gso_size;
	}
}

/*
 * Stack lock held: the request that carries level/name, as k->opts now
 * holds it (the placeholder took it), to the stack's socket of a framed
 * socket served by another process's relay (framed_remote); false for an
 * option the stack's socket does not keep (the placeholder answers it, or
 * this process's recvmsg makes it: IP_PKTINFO and the like).
 */
static bool dgram_req_of(const struct shim_sock *k, int level, int name, struct relay_dgram_req *q)
{
	int opt = dgram_opt_id(level, name);

	if (opt < 0)
		return false;
	memset(q, 0, sizeof(*q));
	q->op = RELAY_REQ_OPT;
	q->opt = opt;
	q->value = dgram_opt_get(&k->opts, opt);
	return true;
}

/*
 * No lock: getsockopt of level/name on a framed socket that other
 * processes hold too (its share): when another holder set it since (the
 * share's dgram_opt), k->opts takes that value first, so that what it
 * answers (SO_REUSEADDR, SO_REUSEPORT) is the socket's, as Linux's one
 * socket's. The placeholder, which answers the rest, is one kernel socket
 * for a fork child and its parent already; SO_RCVBUF is answered from the
 * share (rcvbuf).
 */
static void dgram_opt_sync(struct shim_sock *k, int level, int name)
{
	int opt = dgram_opt_id(level, name), v;
	struct sock_opts *o = &k->opts;

	if (opt < 0 || opt == RELAY_UDP_RCVBUF)
		return;
	shim_lock();
	if (k->type != SOCK_DGRAM || !framed(k) || !k->share ||
	    !(atomic_load(&k->share->dgram_opt_set) & (1u << opt)) ||
	    (v = atomic_load(&k->share->dgram_opt[opt])) == dgram_opt_get(o, opt)) {
		shim_unlock();
		return;
	}
	switch (opt) {
	case RELAY_UDP_BROADCAST: o->broadcast = v != 0; break;
	case RELAY_UDP_REUSEADDR: o->reuseaddr = v != 0; break;
	case RELAY_UDP_REUSEPORT: o->reuseport = v != 0; break;
	case RELAY_UDP_DONTROUTE: o->dontroute = v != 0; break;
	case RELAY_UDP_TOS: o->tos = (uint8_t)v; break;
	case RELAY_UDP_TTL: o->ttl = (uint8_t)v; break;
	case RELAY_UDP_PMTUDISC: o->pmtudisc = (uint8_t)v; break;
	case RELAY_UDP_MC_TTL: o->mc_ttl = (uint8_t)v; break;
	case RELAY_UDP_MC_LOOP: o->mc_loop = v != 0; break;
	case RELAY_UDP_MC_ALL: o->mc_all = v != 0; break;
	case RELAY_UDP_CORK: o->udp_cork = v != 0; break;
	default: o->gso_size = (uint16_t)v; break;
	}
	shim_unlock();
}

static uint64_t inherit_bit(int level, int name)
{
	for (size_t i = 0; i < sizeof(inherit_tab) / sizeof(inherit_tab[0]); i++)
		if (inherit_tab[i].level == level && inherit_tab[i].name == name)
			return 1ull << i;
	return 0;
}

/* No lock: the options in mask, from the listener's placeholder to the
 * new socket's (what the program could set there, it can set here). The
 * priority is not inherited (sk_priority is not copied: 0 on Linux's
 * accepted socket), which IP_TOS set on the new one would have moved. */
static void inherit_copy(int lfd, int nfd, uint64_t mask)
{
	bool tos = false;

	/* A buffer size the listener's program set is the child's too, with
	 * its lock (sk_clone): the placeholder's own sizes answer what reads
	 * them there (SO_RCVLOWAT's cap, half the locked receive buffer:
	 * tcp_set_rcvlowat). Halved: Linux doubles what setsockopt gives. */
	if (mask & inherit_bit(SOL_SOCKET, SO_BUF_LOCK)) {
		int lock = 0, v;
		socklen_t l = sizeof(lock);

		if (shim_libc.getsockopt(lfd, SOL_SOCKET, SO_BUF_LOCK, &lock, &l) == 0) {
			l = sizeof(v);
			if ((lock & SOCK_RCVBUF_LOCK) &&
			    shim_libc.getsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && (v /= 2) > 0)
				(void)shim_libc.setsockopt(nfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
			l = sizeof(v);
			if ((lock & SOCK_SNDBUF_LOCK) &&
			    shim_libc.getsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && (v /= 2) > 0)
				(void)shim_libc.setsockopt(nfd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
		}
	}
	for (size_t i = 0; i < sizeof(inherit_tab) / sizeof(inherit_tab[0]); i++) {
		unsigned char b[64];
		socklen_t l = sizeof(b);

		if ((mask & (1ull << i)) &&
		    shim_libc.getsockopt(lfd, inherit_tab[i].level, inherit_tab[i].name, b, &l) == 0 &&
		    shim_libc.setsockopt(nfd, inherit_tab[i].level, inherit_tab[i].name, b, l) == 0 &&
		    inherit_tab[i].level == IPPROTO_IP && inherit_tab[i].name == IP_TOS)
			tos = true;
	}
	if (tos) {
		int zero = 0;

		(void)shim_libc.setsockopt(nfd, SOL_SOCKET, SO_PRIORITY, &zero, sizeof(zero));
	}
}

int shim_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct relay_dgram_req dq;
	struct relay_share *sh;
	struct shim_sock *k;
	bool dreq = false;
	int r, v = 0, kbuf = -1, kbuf2 = -1;

	k = enter(fd, &r);
	if (!k)
		return r;
	/* Linux's __sys_setsockopt: a negative length (the kernel's optlen is
	 * an int) is refused once the fd is known a socket, before any level
	 * looks at it. */
	if ((int)len < 0) {
		leave(k);
		return -EINVAL;
	}
	/* AF_INET6 too: ipv6_setsockopt hands SOL_IP to ip_setsockopt, and
	 * the socket hears IPv4 groups as a dual-stack one. */
	if (level == IPPROTO_IP && (name == IP_ADD_MEMBERSHIP || name == IP_DROP_MEMBERSHIP ||
				    name == MCAST_JOIN_GROUP || name == MCAST_LEAVE_GROUP) &&
	    k->type == SOCK_DGRAM) {
		r = name == MCAST_JOIN_GROUP || name == MCAST_LEAVE_GROUP ? set_group_req(k, name, val, len) :
		    set_membership(k, name, val, len);
		leave(k);
		return r;
	}
	if (level == IPPROTO_IP && (name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_DROP_SOURCE_MEMBERSHIP ||
				    name == IP_BLOCK_SOURCE || name == IP_UNBLOCK_SOURCE) &&
	    k->type == SOCK_DGRAM && ip4_level(k)) {
		r = set_source_filter(k, name, val, len);
		leave(k);
		return r;
	}
	if (level == IPPROTO_IP && (name == IP_MSFILTER || name == MCAST_MSFILTER) && k->type == SOCK_DGRAM &&
	    ip4_level(k)) {
		r = set_msfilter(k, name, val, len);
		leave(k);
		return r;
	}
	if (level == IPPROTO_IP && (name == MCAST_JOIN_SOURCE_GROUP || name == MCAST_LEAVE_SOURCE_GROUP ||
				    name == MCAST_BLOCK_SOURCE || name == MCAST_UNBLOCK_SOURCE) &&
	    k->type == SOCK_DGRAM && ip4_level(k)) {
		r = set_group_source_req(k, name, val, len);
		leave(k);
		return r;
	}
	if (level == IPPROTO_IP && (name == MCAST_JOIN_GROUP || name == MCAST_LEAVE_GROUP) &&
	    k->type == SOCK_STREAM && ip4_level(k) && (r = tcp_group_req(k, fd, name, val, len)) != SHIM_PASS) {
		leave(k);
		return r;
	}
	if (level == IPPROTO_IP && name == IP_MULTICAST_IF && k->type == SOCK_DGRAM && ip4_level(k) &&
	    (r = set_multicast_if(k, fd, val, len)) != SHIM_PASS) {
		leave(k);
		return r;
	}
	if (k->type == SOCK_STREAM && ((level == IPPROTO_TCP && name == TCP_CONGESTION) ||
				       (level == SOL_SOCKET && (name == SO_TIMESTAMPING_OLD ||
								name == SO_TIMESTAMPING_NEW)))) {
		r = name == TCP_CONGESTION && level == IPPROTO_TCP ? set_congestion(k, fd, val, len) :
		    set_timestamping(k, fd, name, val, len);
		leave(k);
		return r;
	}
	r = set_tcp_quick(k, level, name, val, len);
	if (r != SHIM_PASS) {
		leave(k);
		return r;
	}
	if (level == IPPROTO_TCP && (r = tcp_state_setopt(k, name, val, len)) < 0) {
		leave(k);
		return r;
	}
	/* Linux's do_ipv6_setsockopt: a bound socket refuses V6ONLY, after
	 * the length and the copy of the value; an AF_INET socket has no
	 * IPv6 level at all (ENOPROTOOPT, from the placeholder). A TCP
	 * connection that ended gave its port back unless bind() named it
	 * (inet_put_port at tcp_done: inet_num 0), and takes it again. */
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && k->family == AF_INET6 && len >= sizeof(int)) {
		bool held;
		int want;

		shim_lock();
		held = k->bound && !(k->tcp && tcp_port_released(k->tcp));
		r = held ? (val && shim_copy(&want, val, sizeof(want)) ? -EFAULT : -EINVAL) : 0;
		shim_unlock();
		if (r < 0) {
			leave(k);
			return r;
		}
	}
	/* IPV6_TCLASS on TCP: the value the placeholder had (below). */
	if (level == IPPROTO_IPV6 && name == IPV6_TCLASS && k->type == SOCK_STREAM) {
		socklen_t kl = sizeof(kbuf);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), IPPROTO_IPV6, IPV6_TCLASS, &kbuf, &kl) < 0)
			kbuf = -1;
	}
	/* The kernel validates (and keeps) every option on the placeholder. */
	if (shim_libc.setsockopt(shim_opt_fd(k, fd), level, name, val, len) < 0) {
		r = -errno;
		leave(k);
		return r;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_TCLASS && k->type == SOCK_STREAM && kbuf >= 0) {
		/* Linux's do_ipv6_setsockopt: a traffic class that changes
		 * drops the route (sk_dst_reset), as IP_TOS does: IP_MTU is
		 * ENOTCONN until the next segment. The placeholder kept the
		 * value as the socket's (its ECN bits put back). */
		socklen_t kl = sizeof(kbuf2);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), IPPROTO_IPV6, IPV6_TCLASS, &kbuf2, &kl) == 0 &&
		    kbuf2 != kbuf) {
			shim_lock();
			if (k->tcp)
				tcp_route_reset(k->tcp);
			shim_unlock();
		}
		kbuf = kbuf2 = -1;
	}
	/* The loopback side (lo_listen, lo_udp) takes what the socket took,
	 * as one socket would: a device bound, the buffer sizes, what the
	 * connections accepted there inherit. */
	{
		int lo = atomic_load(&k->lo_fd);

		if (lo >= 0)
			(void)shim_libc.setsockopt(lo, level, name, val, len);
	}
	/* An exposed socket's data calls are its live fd's (shim/expose.c):
	 * a blocking read or write there waits as long as the socket's
	 * timeouts say. */
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO ||
				    name == SO_SNDTIMEO_NEW) && shim_opt_fd(k, fd) != fd)
		(void)shim_libc.setsockopt(fd, level, name, val, len);
	if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_RCVBUFFORCE || name == SO_SNDBUF ||
				    name == SO_SNDBUFFORCE)) {
		/* The size the kernel made of it (sock_setsockopt: capped at
		 * rmem_max/wmem_max unless forced, a negative one taken as
		 * unsigned, doubled, at least the minimum): the placeholder's,
		 * halved again for the stack, which doubles it. */
		socklen_t kl = sizeof(kbuf);
		int kn = name == SO_RCVBUF || name == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, kn, &kbuf, &kl) < 0 || kbuf < 0)
			kbuf = -1;
	}
	if (level == SOL_SOCKET && name == SO_BUF_LOCK && k->type == SOCK_STREAM) {
		/* The sizes the locks keep (SOCK_SNDBUF_LOCK, SOCK_RCVBUF_LOCK
		 * without a size given: the buffers stop growing where they
		 * are), the placeholder's, as a fresh socket has them. */
		socklen_t kl = sizeof(kbuf);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, SO_SNDBUF, &kbuf, &kl) < 0)
			kbuf = -1;
		kl = sizeof(kbuf2);
		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, SO_RCVBUF, &kbuf2, &kl) < 0)
			kbuf2 = -1;
	}
	if (level == SOL_SOCKET && name == SO_TXREHASH && k->type == SOCK_STREAM) {
		/* What the kernel kept: -1 is net.core.txrehash's value. */
		socklen_t kl = sizeof(kbuf);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, SO_TXREHASH, &kbuf, &kl) < 0)
			kbuf = -1;
	}
	if (level == SOL_SOCKET && name == SO_RCVLOWAT && k->type == SOCK_STREAM) {
		/* The mark the kernel kept (tcp_set_rcvlowat: a negative one
		 * is INT_MAX, capped at half the largest buffer, 0 is 1). */
		socklen_t kl = sizeof(kbuf);

		if (shim_libc.getsockopt(shim_opt_fd(k, fd), SOL_SOCKET, SO_RCVLOWAT, &kbuf, &kl) < 0)
			kbuf = -1;
	}
	if (level == IPPROTO_TCP && name == TCP_FASTOPEN_KEY && k->type == SOCK_STREAM && (len == 16 || len == 32)) {
		/* The placeholder took it: the stack's listener makes its
		 * cookies with it (Linux's per-socket fast open context). */
		uint8_t key[32];

		if (!shim_copy(key, val, len)) {
			shim_lock();
			tcp_opts_fastopen_key(&k->opts, key, len);
			if (k->tcp)
				tcp_set_fastopen_key(k->tcp, key, len);
			shim_unlock();
		}
	}
	if (level == SOL_SOCKET && (name == SO_ATTACH_FILTER || name == SO_DETACH_FILTER) && k->type == SOCK_DGRAM) {
		r = udp_filter_set(k, name, val, len);
		leave(k);
		return r;
	}
	/* The stack's setter takes both (udp_set_multicast): the other one
	 * as another holder may have left it. */
	if (level == IPPROTO_IP && (name == IP_MULTICAST_TTL || name == IP_MULTICAST_LOOP))
		dgram_opt_sync(k, IPPROTO_IP, name == IP_MULTICAST_TTL ? IP_MULTICAST_LOOP : IP_MULTICAST_TTL);
	r = 0;
	shim_lock();
	/* A framed socket's control message flags are its share's: what
	 * another holder set is changed, not this process's copy. */
	if (framed(k) && k->share)
		k->rx_cmsgs = atomic_load(&k->share->dgram_cmsgs);
	if (k->type == SOCK_STREAM)
		k->inherit |= inherit_bit(level, name) |
			      (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_SNDBUFFORCE || name == SO_RCVBUF ||
						       name == SO_RCVBUFFORCE) ? inherit_bit(SOL_SOCKET, SO_BUF_LOCK) : 0);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			if (get_int(val, len, &v) == 0) {
				if (k->type == SOCK_STREAM) {
					r = set_tcp(k, TCP_OPT_REUSEADDR, v);
				} else {
					k->opts.reuseaddr = v != 0;
					if (k->udp)
						udp_set_reuse(k->udp, INPCB_REUSEADDR, v != 0);
				}
			}
			break;
		case SO_REUSEPORT:
			if (get_int(val, len, &v) == 0) {
				if (k->type == SOCK_STREAM) {
					r = set_tcp(k, TCP_OPT_REUSEPORT, v);
				} else {
					k->opts.reuseport = v != 0;
					if (k->udp)
						udp_set_reuse(k->udp, INPCB_REUSEPORT, v != 0);
				}
			}
			break;
		case SO_KEEPALIVE:
			if (get_int(val, len, &v) == 0 && k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_KEEPALIVE, v != 0);
			break;
		case SO_RXQ_OVFL:
			if (get_int(val, len, &v) == 0 && k->type == SOCK_DGRAM) {
				k->opts.rxq_ovfl = v != 0;
				k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_OVFL : k->rx_cmsgs & ~(unsigned)SHIM_CM_OVFL;
				if (k->udp)
					udp_set_rxq_ovfl(k->udp, v != 0);
			}
			break;
		case SO_BROADCAST:
			if (get_int(val, len, &v) == 0) {
				k->opts.broadcast = v != 0;
				if (k->udp)
					udp_set_broadcast(k->udp, k->opts.broadcast);
			}
			break;
		case SO_OOBINLINE:
			if (get_int(val, len, &v) == 0 && k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_OOBINLINE, v != 0);
			break;
		case SO_DONTROUTE:
			if (get_int(val, len, &v) == 0) {
				if (k->type == SOCK_STREAM)
					r = set_tcp(k, TCP_OPT_DONTROUTE, v != 0);
				else {
					k->opts.dontroute = v != 0;
					if (k->udp)
						udp_set_dontroute(k->udp, k->opts.dontroute);
				}
			}
			break;
		case SO_RCVMARK:
		case SO_RCVPRIORITY:
			if (get_int(val, len, &v) == 0) {
				unsigned bit = name == SO_RCVMARK ? SHIM_CM_MARK : SHIM_CM_PRIO;

				k->rx_cmsgs = v ? k->rx_cmsgs | bit : k->rx_cmsgs & ~bit;
			}
			break;
		case SO_TIMESTAMP_OLD:
		case SO_TIMESTAMP_NEW:
		case SO_TIMESTAMPNS_OLD:
		case SO_TIMESTAMPNS_NEW:
			/* Linux's sock_set_timestamp: one kind at a time. */
			if (get_int(val, len, &v) == 0) {
				k->rx_cmsgs &= ~(unsigned)(SHIM_CM_TS | SHIM_CM_TSNS | SHIM_CM_TSNEW);
				if (v)
					k->rx_cmsgs |= SHIM_CM_TS |
						(name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW ? SHIM_CM_TSNS : 0) |
						(name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_NEW ? SHIM_CM_TSNEW : 0);
			}
			break;
		case SO_RCVLOWAT:
			if (k->type == SOCK_STREAM && kbuf > 0)
				r = set_tcp(k, TCP_OPT_RCVLOWAT, kbuf);
			break;
		case SO_TXREHASH:
			if (k->type == SOCK_STREAM && kbuf >= 0)
				r = set_tcp(k, TCP_OPT_TXREHASH, kbuf);
			break;
		case SO_BUF_LOCK:
			/* A lock taken keeps the size the buffer has; the stack
			 * takes sizes before Linux's doubling. Deviation: a lock
			 * let go does not restart the growth here. */
			if (k->type == SOCK_STREAM && get_int(val, len, &v) == 0) {
				if ((v & SOCK_SNDBUF_LOCK) && kbuf > 0 && cur_opts(k)->sndbuf < 0)
					r = set_tcp(k, TCP_OPT_SNDBUF, kbuf / 2);
				if (!r && (v & SOCK_RCVBUF_LOCK) && kbuf2 > 0 && cur_opts(k)->rcvbuf < 0)
					r = set_tcp(k, TCP_OPT_RCVBUF, kbuf2 / 2);
			}
			break;
		case SO_RCVBUF:
		case SO_RCVBUFFORCE:
			if (get_int(val, len, &v) == 0) {
				if (kbuf >= 0)
					v = kbuf / 2;
				if (k->type == SOCK_STREAM)
					r = set_tcp(k, TCP_OPT_RCVBUF, v);
				else {
					k->opts.rcvbuf = v < 0 ? 0 : v;
					if (k->udp)
						udp_set_rcvbuf(k->udp, (size_t)k->opts.rcvbuf * 2);
					/* A framed socket's size as its stack socket
					 * has it now (dgram_req_of takes it there),
					 * for getsockopt in the processes without it. */
					if (framed(k)) {
						k->ex_rcvbuf = k->opts.rcvbuf * 2;
						if (k->share)
							atomic_store(&k->share->rcvbuf, k->ex_rcvbuf);
					}
				}
			}
			break;
		case SO_SNDBUF:
		case SO_SNDBUFFORCE:
			if (get_int(val, len, &v) == 0 && k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_SNDBUF, kbuf >= 0 ? kbuf / 2 : v);
			break;
		case SO_LINGER:
			if (len >= sizeof(struct linger) && k->type == SOCK_STREAM) {
				struct linger l;

				r = shim_copy(&l, val, sizeof(l));
				if (r == 0)
					r = set_tcp(k, TCP_OPT_LINGER, l.l_onoff ? l.l_linger : -1);
			}
			break;
		case SO_RCVTIMEO:
		case SO_RCVTIMEO_NEW:
			k->rcvtimeo_us = timeval_us(val, len);
			break;
		case SO_SNDTIMEO:
		case SO_SNDTIMEO_NEW:
			k->sndtimeo_us = timeval_us(val, len);
			break;
		case SO_ZEROCOPY:
			if (get_int(val, len, &v) == 0 && k->type == SOCK_STREAM)
				k->zerocopy = v != 0;
			break;
		case SO_PEEK_OFF:
			/* The placeholder took it (sk_set_peek_off, udp_set_peek_off:
			 * any int, a negative one turns it off); the reads move it. */
			if (get_int(val, len, &v) == 0) {
				if (k->type == SOCK_STREAM)
					r = set_tcp(k, TCP_OPT_PEEK_OFF, v);
				else
					k->opts.peek_off = v;
			}
			break;
		default:
			break;
		}
	} else if (level == IPPROTO_TCP && k->type == SOCK_STREAM) {
		if (get_int(val, len, &v) == 0) {
			switch (name) {
			case TCP_NODELAY:
				r = set_tcp(k, TCP_OPT_NODELAY, v != 0);
				break;
			case TCP_KEEPIDLE:
				r = set_tcp(k, TCP_OPT_KEEPIDLE, v);
				break;
			case TCP_KEEPINTVL:
				r = set_tcp(k, TCP_OPT_KEEPINTVL, v);
				break;
			case TCP_KEEPCNT:
				r = set_tcp(k, TCP_OPT_KEEPCNT, v);
				break;
			case TCP_MAXSEG:
				r = set_tcp(k, TCP_OPT_MAXSEG, v);
				break;
			case TCP_USER_TIMEOUT:
				r = set_tcp(k, TCP_OPT_USER_TIMEOUT, v);
				break;
			case TCP_CORK:
				r = set_tcp(k, TCP_OPT_CORK, v);
				break;
			case TCP_NOTSENT_LOWAT:
				r = set_tcp(k, TCP_OPT_NOTSENT_LOWAT, v);
				break;
			case TCP_DEFER_ACCEPT:
				r = set_tcp(k, TCP_OPT_DEFER_ACCEPT, v);
				break;
			case TCP_SYNCNT:
				r = set_tcp(k, TCP_OPT_SYNCNT, v);
				break;
			case TCP_LINGER2:
				r = set_tcp(k, TCP_OPT_LINGER2, v);
				break;
			case TCP_WINDOW_CLAMP:
				/* Linux's tcp_set_window_clamp: 0 (no clamp) only
				 * in CLOSE (before the connection, or once it ended:
				 * TIME_WAIT too); the placeholder is never connected
				 * and took it. */
				if (v == 0 && k->tcp && tcp_get_state(k->tcp) != TCP_STATE_CLOSED && !tcp_ended(k->tcp))
					r = -EINVAL;
				else
					r = set_tcp(k, TCP_OPT_WINDOW_CLAMP, v);
				break;
			case TCP_INQ:
				k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_INQ : k->rx_cmsgs & ~(unsigned)SHIM_CM_INQ;
				break;
			case TCP_QUICKACK:
				r = set_tcp(k, TCP_OPT_QUICKACK, v);
				break;
			case TCP_SAVE_SYN:
				r = set_tcp(k, TCP_OPT_SAVE_SYN, v);
				break;
			case TCP_RTO_MAX_MS:
				r = set_tcp(k, TCP_OPT_RTO_MAX, v);
				break;
			case TCP_FASTOPEN:
				/* tcp_state_setopt and the placeholder refused what
				 * Linux refuses (a negative queue, a connection). */
				if (v >= 0)
					r = set_tcp(k, TCP_OPT_FASTOPEN_QLEN, v);
				break;
			case TCP_FASTOPEN_NO_COOKIE:
				if (v == 0 || v == 1)
					r = set_tcp(k, TCP_OPT_FASTOPEN_NO_COOKIE, v);
				break;
			case TCP_FASTOPEN_CONNECT:
				/* tcp_state_setopt and the placeholder refused what
				 * Linux refuses (not 0 or 1, past CLOSE). */
				if (v == 0 || v == 1)
					k->fo_connect = v;
				break;
			default:
				break;
			}
		}
	} else if (level == IPPROTO_IP && name == IP_TOS) {
		/* IP_TOS only: IPV6_TCLASS is the IPv6 header's (np->tclass),
		 * which an IPv4-mapped peer's datagrams and segments never carry
		 * (the placeholder keeps it for getsockopt). */
		/* Any int: Linux keeps its low byte (a negative one too). */
		if (get_int(val, len, &v) == 0) {
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_TOS, v);
			else {
				k->opts.tos = (uint8_t)v;
				if (k->udp)
					udp_set_tos(k->udp, k->opts.tos);
			}
		}
	} else if (level == IPPROTO_IP) {
		/* Linux's do_ip_setsockopt: an int, or a single byte (read by
		 * the placeholder already: a copy that fails now leaves 0). */
		if (len >= sizeof(int)) {
			(void)get_int(val, len, &v);
		} else if (len >= 1) {
			unsigned char b = 0;

			(void)shim_copy(&b, val, 1);
			v = b;
		}
		switch (name) {
		case IP_TTL:
			/* The placeholder took 1..255 or -1 (the default). */
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_TTL, v);
			else {
				k->opts.ttl = (uint8_t)(v < 0 ? 0 : v);
				if (k->udp)
					udp_set_ttl(k->udp, k->opts.ttl);
			}
			break;
		case IP_MINTTL:
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_MINTTL, v);
			break;
		case IP_FREEBIND:
			k->freebind = v != 0;
			break;
		case IP_LOCAL_PORT_RANGE:
			/* The placeholder took it (a u32; a low above the high,
			 * both set, EINVAL) and answers getsockopt; the stack
			 * picks ports within it (inpcb_port_range). */
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_PORT_RANGE, v);
			else {
				k->opts.port_range = (uint32_t)v;
				if (k->udp)
					udp_set_port_range(k->udp, k->opts.port_range);
			}
			break;
		case IP_BIND_ADDRESS_NO_PORT:
			/* The placeholder keeps it for getsockopt; bind() to
			 * port 0 takes the address only (tcp_bind, udp_bind). */
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_BIND_NO_PORT, v);
			else {
				k->opts.bind_no_port = v != 0;
				if (k->udp)
					udp_set_bind_no_port(k->udp, k->opts.bind_no_port);
			}
			break;
		case IP_TRANSPARENT:
			k->transparent = v != 0;
			break;
		case IP_MTU_DISCOVER:
			/* The placeholder took IP_PMTUDISC_DONT..OMIT. */
			if (k->type == SOCK_STREAM)
				r = set_tcp(k, TCP_OPT_PMTUDISC, v);
			else {
				k->opts.pmtudisc = (uint8_t)v;
				if (k->udp)
					udp_set_pmtudisc(k->udp, k->opts.pmtudisc);
			}
			break;
		case IP_PKTINFO:
			k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_PKTINFO : k->rx_cmsgs & ~(unsigned)SHIM_CM_PKTINFO;
			break;
		case IP_RECVTTL:
			k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_TTL : k->rx_cmsgs & ~(unsigned)SHIM_CM_TTL;
			break;
		case IP_RECVTOS:
			k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_TOS : k->rx_cmsgs & ~(unsigned)SHIM_CM_TOS;
			break;
		case IP_RECVORIGDSTADDR:
			k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_ORIGDST : k->rx_cmsgs & ~(unsigned)SHIM_CM_ORIGDST;
			break;
		case IP_RECVERR:
			k->opts.recverr = v != 0;
			if (k->udp)
				udp_set_recverr(k->udp, v != 0);
			break;
		case IP_MULTICAST_TTL:
		case IP_MULTICAST_LOOP:
			if (k->type != SOCK_DGRAM)
				break;
			if (name == IP_MULTICAST_TTL)
				k->opts.mc_ttl = (uint8_t)(v == -1 ? 1 : v);    /* the kernel took 0..255 or -1 */
			else
				k->opts.mc_loop = v != 0;
			if (k->udp)
				udp_set_multicast(k->udp, k->opts.mc_ttl, k->opts.mc_loop);
			break;
		case IP_MULTICAST_ALL:
			if (k->type != SOCK_DGRAM)
				break;
			k->opts.mc_all = v != 0;
			if (k->udp)
				udp_set_mc_all(k->udp, k->opts.mc_all);
			break;
		default:
			break;
		}
	} else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
		if (get_int(val, len, &v) == 0)
			k->v6only = v != 0;
	} else if (level == IPPROTO_UDP && name == UDP_SEGMENT && k->type == SOCK_DGRAM) {
		/* The placeholder took 0..65535. */
		if (get_int(val, len, &v) == 0) {
			k->opts.gso_size = (uint16_t)v;
			if (k->udp)
				udp_set_gso(k->udp, k->opts.gso_size);
		}
	} else if (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO) {
		if (get_int(val, len, &v) == 0)
			k->rx_cmsgs = v ? k->rx_cmsgs | SHIM_CM_PKTINFO6 : k->rx_cmsgs & ~(unsigned)SHIM_CM_PKTINFO6;
	} else if (level == IPPROTO_UDP && name == UDP_CORK && k->type == SOCK_DGRAM) {
		/* The placeholder took it; the stack corks (and sends what
		 * waits when it is turned off). */
		if (get_int(val, len, &v) == 0) {
			k->opts.udp_cork = v != 0;
			if (k->udp)
				udp_set_cork(k->udp, v != 0, shim_now());
		}
	}
	/* An engine that does not implement an option the kernel accepted
	 * keeps it on the placeholder only: not an error for the program. */
	if (r == -ENOPROTOOPT)
		r = 0;
	sh = !k->tcp && shim_exposed(k) ? k->share : NULL;
	if (r == 0 && k->type == SOCK_DGRAM && framed(k) && dgram_req_of(k, level, name, &dq)) {
		/* The socket's value for the other holders' getsockopt
		 * (dgram_opt_sync); the stack's socket takes it here
		 * (the owner's, above) or from its relay. */
		if (k->share) {
			atomic_store(&k->share->dgram_opt[dq.opt], dq.value);
			atomic_fetch_or(&k->share->dgram_opt_set, 1u << dq.opt);
		}
		dreq = framed_remote(k);
	}
	if (framed(k) && k->share)
		atomic_store(&k->share->dgram_cmsgs, k->rx_cmsgs);
	shim_unlock();
	/* Asked of the relay (set_tcp): on the connection when this returns,
	 * as the kernel's setsockopt. */
	if (r == 0 && sh)
		relay_share_sync(sh);
	/* A framed socket's relay in another process applies it to the
	 * stack's socket before the datagrams written after it. Its answer
	 * is not the program's: the placeholder took the value (a relay
	 * gone leaves the socket nothing to send with). */
	if (dreq)
		(void)framed_req(k, &dq);
	leave(k);
	return r;
}

/*
 * SO_PEERNAME as Linux's sk_getsockopt answers it: the length read first
 * (EFAULT, negative EINVAL), ENOTCONN unconnected, EINVAL when asked for
 * more than the address's length, else that many bytes of it.
 */
static int peername_opt(const struct shim_sock *k, int err, const struct ip4_endpoint *ep, void *val,
			socklen_t *len)
{
	struct sockaddr_storage ss;
	int ulen, full;

	if (shim_copy(&ulen, len, sizeof(ulen)))
		return -EFAULT;
	if (ulen < 0)
		return -EINVAL;
	if (err)
		return err;
	full = (int)sa_fill(k, ep, &ss);
	if (ulen > full)
		return -EINVAL;
	if (shim_copy(val, &ss, (size_t)ulen))
		return -EFAULT;
	return shim_copy(len, &ulen, sizeof(ulen));
}

/*
 * Lock held. The IPPROTO_IP options whose answer depends on the connection,
 * which the placeholder (never connected) cannot give: IP_MTU, the route's
 * MTU once connected (Linux: the socket's dst; ENOTCONN without one), and
 * IP_PROTOCOL, which Linux answers with inet_num: for TCP and UDP the local
 * port once bound. SHIM_PASS for the rest.
 */
static int get_ip_opt(struct shim_sock *k, int name, void *val, socklen_t *len)
{
	struct ip4_endpoint ep = { 0, 0 };

	switch (name) {
	case IP_MTU:
		if (k->tcp) {
			struct tcp_conn_info ci;

			/* The route stays with the socket once its connection
			 * ended (a reset, TIME_WAIT), as Linux's dst. */
			if (!tcp_route_kept(k->tcp))
				return -ENOTCONN;
			memset(&ci, 0, sizeof(ci));
			tcp_get_info(k->tcp, &ci, shim_now());
			return put_int(val, len, (int)ci.pmtu);
		}
		/* The route to the peer's: what a fragmentation-needed taught,
		 * lo's for this host's own address. */
		if (k->udp && udp_peer(k->udp, &ep) == 0)
			return put_int(val, len, (int)ip4_pmtu(shim_stack(), ep.addr, shim_now()));
		return SHIM_PASS;
	case IP_PROTOCOL:
		if (k->tcp)
			tcp_local(k->tcp, &ep);
		else if (k->udp)
			udp_local(k->udp, &ep);
		else
			return SHIM_PASS;
		/* After a disconnect inet_num is 0 unless bind() named the
		 * port (getsockname's inet_sport still shows the old one). A
		 * connection that ended gave its port back (Linux's
		 * inet_put_port at tcp_done), unless bind() chose it. */
		if (k->tcp && tcp_port_released(k->tcp))
			ep.port = 0;
		return put_int(val, len, ep.port);
	case IP_PKTOPTIONS: {
		/* TCP's (ip_getsockopt): the control messages of the flags set,
		 * from the socket's address, its multicast interface and TTL
		 * (an accepted socket's: the handshake's segment's, which a TCP
		 * socket cannot change) and received TOS; the length used. */
		struct msghdr m = { .msg_control = val };
		struct shim_iface ifc;
		size_t used = 0;
		int ulen, t;

		if (!k->tcp)
			return SHIM_PASS;
		if (shim_copy(&ulen, len, sizeof(ulen)))
			return -EFAULT;
		if (ulen < 0)
			return -EINVAL;
		m.msg_controllen = (size_t)ulen;
		if (k->rx_cmsgs & SHIM_CM_PKTINFO) {
			struct in_pktinfo pi;

			tcp_local(k->tcp, &ep);
			if (!ep.port)
				ep = k->shown;
			memset(&pi, 0, sizeof(pi));
			pi.ipi_addr.s_addr = pi.ipi_spec_dst.s_addr = htonl(ep.addr);
			if (tcp_handshake_ttl(k->tcp) && shim_host.iface && shim_host.iface(shim_host.ctx, &ifc) == 0)
				pi.ipi_ifindex = (int)ifc.index;
			put_cmsg(&m, &used, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
		}
		if (k->rx_cmsgs & SHIM_CM_TTL) {
			t = tcp_handshake_ttl(k->tcp) ? tcp_handshake_ttl(k->tcp) : 1;
			put_cmsg(&m, &used, SOL_IP, IP_TTL, &t, sizeof(t));
		}
		if (k->rx_cmsgs & SHIM_CM_TOS) {
			t = tcp_handshake_tos(k->tcp);
			put_cmsg(&m, &used, SOL_IP, IP_TOS, &t, sizeof(t));
		}
		ulen = (int)used;
		return shim_copy(len, &ulen, sizeof(ulen)) ? -EFAULT : 0;
	}
	case IP_MULTICAST_TTL: {
		/* An accepted socket's: the TTL of the segment that completed
		 * its handshake (Linux's tcp_v4_syn_recv_sock; a TCP socket
		 * cannot set it); the placeholder, a socket of its own, has
		 * the default. */
		uint8_t ttl = k->tcp ? tcp_handshake_ttl(k->tcp) : 0;

		return ttl ? put_ip_int(val, len, ttl) : SHIM_PASS;
	}
	default:
		return SHIM_PASS;
	}
}

/*
 * Lock held. The same for an AF_INET6 socket (IPv4-mapped addresses only):
 * IPV6_MTU as IP_MTU, and IPV6_ADDRFORM, which Linux answers with the
 * family (AF_INET6) on an ESTABLISHED socket, ENOTCONN otherwise.
 */
static int get_ip6_opt(struct shim_sock *k, int name, void *val, socklen_t *len)
{
	struct ip4_endpoint ep;

	switch (name) {
	case IPV6_MTU:
		return get_ip_opt(k, IP_MTU, val, len);
	case IPV6_MULTICAST_HOPS:
	case IPV6_MULTICAST_IF: {
		/* An accepted socket's (tcp_v6_syn_recv_sock, an IPv4-mapped
		 * child): the TTL and the interface of the segment that made
		 * it; the placeholder's defaults for the others. */
		struct shim_iface ifc;
		uint8_t ttl = k->tcp ? tcp_handshake_ttl(k->tcp) : 0;

		if (!ttl)
			return SHIM_PASS;
		if (name == IPV6_MULTICAST_HOPS)
			return put_int(val, len, ttl);
		if (!shim_host.iface || shim_host.iface(shim_host.ctx, &ifc) != 0)
			return SHIM_PASS;
		return put_int(val, len, (int)ifc.index);
	}
	case IPV6_PATHMTU: {
		/* ipv6_getsockopt: room for a struct ip6_mtuinfo first
		 * (EINVAL), then the route's MTU, no address; the placeholder's
		 * ENOTCONN without a route. */
		struct ip6_mtuinfo mi;
		struct tcp_conn_info ci;
		int ulen, mtu = 0;

		if (shim_copy(&ulen, len, sizeof(ulen)))
			return -EFAULT;
		if (ulen < (int)sizeof(mi))
			return -EINVAL;
		if (k->tcp && tcp_peer_kept(k->tcp, &ep) == 0) {
			memset(&ci, 0, sizeof(ci));
			tcp_get_info(k->tcp, &ci, shim_now());
			mtu = (int)ci.pmtu;
		} else if (k->udp && udp_peer(k->udp, &ep) == 0) {
			mtu = (int)stack_mtu(shim_stack());
		}
		if (!mtu)
			return SHIM_PASS;
		memset(&mi, 0, sizeof(mi));
		mi.ip6m_mtu = (uint32_t)mtu;
		ulen = sizeof(mi);
		if (shim_copy(len, &ulen, sizeof(ulen)))
			return -EFAULT;
		return shim_copy(val, &mi, sizeof(mi)) ? -EFAULT : 0;
	}
	case IPV6_ADDRFORM:
		if (k->tcp)
			return tcp_get_state(k->tcp) == TCP_STATE_ESTABLISHED ? put_int(val, len, AF_INET6) : -ENOTCONN;
		if (k->udp)
			return udp_peer(k->udp, &ep) == 0 ? put_int(val, len, AF_INET6) : -ENOTCONN;
		return SHIM_PASS;
	default:
		return SHIM_PASS;
	}
}

int shim_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct ip4_endpoint peer = { 0, 0 };
	struct tcp_conn_info ci;
	struct relay_share *info_sh = NULL;
	struct shim_sock *k;
	bool info = false, peername = false, zc_eof = false, pass_failed = false;
	int r, v = 0, tsflags = -1, peer_err = 0;

	k = enter(fd, &r);
	if (!k)
		return r;
	/*
	 * Linux's sk_getsockopt, do_ip_getsockopt (past the multicast routing
	 * options, MRT_BASE 200 on) and do_tcp_getsockopt read the length
	 * before they look at the option: EFAULT when it cannot be read,
	 * EINVAL when it is negative, whatever the option and the state
	 * (IP_MTU on a listener, TCP_SAVED_SYN with none saved).
	 */
	if (level == SOL_SOCKET || (level == IPPROTO_IP && name < 200) ||
	    (level == IPPROTO_TCP && k->type == SOCK_STREAM)) {
		int ulen, e = 0;

		if (shim_copy(&ulen, len, sizeof(ulen)))
			e = -EFAULT;
		else if (ulen < 0)
			e = -EINVAL;
		if (e) {
			leave(k);
			return e;
		}
	}
	if (level == IPPROTO_IP && (name == IP_MSFILTER || name == MCAST_MSFILTER) && k->type == SOCK_DGRAM &&
	    ip4_level(k)) {
		r = get_msfilter(k, name, val, len);
		leave(k);
		return r;
	}
	if (shim_join_pending(k))
		shim_join_settle(k);
	dgram_opt_sync(k, level, name);
	r = SHIM_PASS;
	shim_lock();
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			v = sock_take_error(k);
			/* Linux's sock_getsockopt: with none pending, the soft
			 * error (sk_err_soft: an ICMP error about a
			 * synchronized connection, tcp_v4_err), taken too. Only
			 * SO_ERROR does so; recvmmsg takes the pending one
			 * (sock_error) alone. Measured on Linux 6.18: a port
			 * unreachable about an established connection, then
			 * SO_ERROR says ECONNREFUSED, then 0. */
			if (!v && k->tcp && !shim_exposed(k))
				v = tcp_take_soft_error(k->tcp);
			r = put_int(val, len, -v);
			/* A failed connect passed with its error: the pair's
			 * mark goes with it (internal.h), below. */
			pass_failed = atomic_exchange(&k->pass_failed, false);
			break;
		case SO_ACCEPTCONN:
			/* A socket bound here and made a listener by a fork
			 * child (shim_join_listen's fork_bound): the stack's. */
			r = put_int(val, len, k->listening || (k->tcp && tcp_get_state(k->tcp) == TCP_STATE_LISTEN));
			break;
		case SO_PEERNAME:
			/* Linux's inet_getname(peer 2): the address while
			 * connecting too, and once the connection ended. */
			peer_err = k->tcp ? tcp_peer_kept(k->tcp, &peer) : peer_of(k, &peer);
			peername = true;        /* answered below, without the lock */
			r = 0;
			break;
		case SO_REUSEADDR:
			r = put_int(val, len, k->opts.reuseaddr);
			break;
		case SO_REUSEPORT:
			r = put_int(val, len, k->opts.reuseport);
			break;
		case SO_KEEPALIVE:
			if (k->type == SOCK_STREAM)
				r = put_int(val, len, cur_opts(k)->keepalive);
			break;
		case SO_RCVBUF:
			if (k->tcp && tcp_getopt(k->tcp, TCP_OPT_SO_RCVBUF, &v) == 0)
				r = put_int(val, len, v);
			else if (k->udp)
				r = put_int(val, len, (int)udp_get_rcvbuf(k->udp));
			else if (shim_exposed(k) && k->share && atomic_load(&k->share->rcvbuf))
				r = put_int(val, len, atomic_load(&k->share->rcvbuf));
			else if (shim_exposed(k) && k->ex_rcvbuf)
				r = put_int(val, len, k->ex_rcvbuf);
			break;
		case SO_SNDBUF:
			if (k->tcp && tcp_getopt(k->tcp, TCP_OPT_SNDBUF, &v) == 0)
				r = put_int(val, len, v);
			else if (!k->udp && shim_exposed(k) && k->share && atomic_load(&k->share->sndbuf))
				r = put_int(val, len, atomic_load(&k->share->sndbuf));
			else if (!k->udp && shim_exposed(k) && k->ex_sndbuf)
				r = put_int(val, len, k->ex_sndbuf);
			break;
		case SO_ZEROCOPY:
			if (k->type == SOCK_STREAM)
				r = put_int(val, len, k->zerocopy);
			break;
		case SO_PEEK_OFF:
			/* Where the reads left it (the placeholder has the value set). */
			if (k->tcp)
				(void)tcp_getopt(k->tcp, TCP_OPT_PEEK_OFF, &v);
			else
				v = k->opts.peek_off;
			r = put_int(val, len, v);
			break;
		case SO_TIMESTAMPING_OLD:
		case SO_TIMESTAMPING_NEW:
			if (k->type == SOCK_STREAM)
				tsflags = (int)k->opts.tsflags;
			break;
		default:
			break;
		}
	} else if (level == IPPROTO_IP) {
		/* AF_INET6 too: Linux's ipv6_getsockopt hands SOL_IP to ip_getsockopt. */
		r = get_ip_opt(k, name, val, len);
	} else if (level == IPPROTO_IPV6 && k->family == AF_INET6) {
		r = get_ip6_opt(k, name, val, len);
	} else if (level == IPPROTO_TCP && k->type == SOCK_STREAM) {
		if (name == SHIM_TCP_ZEROCOPY_RECEIVE && k->tcp) {
			enum tcp_state st = tcp_get_state(k->tcp);

			zc_eof = tcp_inq(k->tcp) == 0 && (st == TCP_STATE_CLOSE_WAIT || st == TCP_STATE_LAST_ACK ||
							  st == TCP_STATE_CLOSING || st == TCP_STATE_TIME_WAIT);
		}
		r = get_tcp_opt(k, name, val, len);
		if (r == SHIM_PASS && !k->tcp && name == TCP_INFO && k->share && shim_exposed(k) && !k->listening &&
		    k->type == SOCK_STREAM) {
			/* A connection another process's relay serves (a fork
			 * child's, an exec'd image's in the region): the relay
			 * reads it (relay_share_info), without the lock. */
			info_sh = k->share;
		} else if (r != SHIM_PASS || !k->tcp) {
			/* answered from the options, or the placeholder's */
		} else if (name == TCP_INFO) {
			memset(&ci, 0, sizeof(ci));
			tcp_get_info(k->tcp, &ci, shim_now());
			info = true;   /* written below, without the lock */
			r = 0;
		} else if (name == TCP_MAXSEG && tcp_getopt(k->tcp, TCP_OPT_MAXSEG, &v) == 0) {
			r = put_int(val, len, v);
		} else if (name == TCP_SAVED_SYN) {
			r = saved_syn_opt(k, val, len);
		}
	}
	shim_unlock();
	if (pass_failed) {
		int e, fd0 = shim_first_fd(&k->obj);
		socklen_t el = sizeof(e);

		if (fd0 >= 0)
			(void)shim_libc.getsockopt(fd0, SOL_SOCKET, SO_ERROR, &e, &el);
	}
	if (peername)
		r = peername_opt(k, peer_err, &peer, val, len);
	if (info_sh) {
		memset(&ci, 0, sizeof(ci));
		if (relay_share_info(info_sh, &ci)) {
			info = true;
			r = 0;
		}
	}
	if (info) {
		unsigned char ti[SHIM_TCP_INFO_MAX];
		int ulen;

		/* do_tcp_getsockopt: the length read (EFAULT, negative EINVAL), then
		 * the struct cut to it, then the length written back. */
		if (shim_copy(&ulen, len, sizeof(ulen)))
			r = -EFAULT;
		else if (ulen < 0)
			r = -EINVAL;
		else {
			ulen = (int)shim_fill_tcp_info(ti, (socklen_t)ulen, &ci);
			r = shim_copy(val, ti, (size_t)ulen);
			if (r == 0)
				r = shim_copy(len, &ulen, sizeof(ulen));
		}
	}
	if (r == SHIM_PASS) {
		/* Everything else: the placeholder holds the value set (or the
		 * kernel's default, and its errno for unknown options). */
		r = shim_libc.getsockopt(shim_opt_fd(k, fd), level, name, val, len) < 0 ? -errno : 0;
		/* What a listener refuses that the placeholder, never one, took:
		 * Linux's tcp_zerocopy_receive (ENOTCONN, after the copy-in the
		 * placeholder checked) and tcp_can_repair_sock (EPERM, first). */
		if (level == IPPROTO_TCP && k->listening && name == SHIM_TCP_ZEROCOPY_RECEIVE && r == 0)
			r = -ENOTCONN;
		/* tcp_zerocopy_receive: nothing to read after the peer's FIN is EIO. */
		if (level == IPPROTO_TCP && name == SHIM_TCP_ZEROCOPY_RECEIVE && r == 0 && zc_eof)
			r = -EIO;
		if (level == IPPROTO_TCP && k->listening && name == SHIM_TCP_AO_REPAIR)
			r = -EPERM;
		/* SO_TIMESTAMPING of a TCP socket: the placeholder's answer
		 * (length, bound PHC) with the flags it could not take. */
		if (r == 0 && tsflags >= 0) {
			socklen_t n = 0;

			/* The placeholder wrote both: this memory is the program's. */
			if (shim_copy(&n, len, sizeof(n)) == 0 && n)
				r = shim_copy(val, &tsflags, n < sizeof(int) ? n : sizeof(int));
		}
	}
	leave(k);
	return r;
}

/* ---- descriptors ---- */

int shim_close(int fd)
{
	struct shim_obj *o;
	int r;

	if (!shim_owns(fd))
		return SHIM_PASS;
	if (shim_proc_state() == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (shim_is_internal(fd))
		return 0;   /* our eventfd: the program never opened it, pretend */
	o = shim_uninstall(fd);
	if (!o)
		return SHIM_PASS;
	r = shim_libc.close(fd) < 0 ? -errno : 0;
	shim_drop_slot_ref(o);
	/* Linux: close() releases the fd even when it reports EINTR/EIO. */
	return r;
}

struct shim_obj *shim_close_before(int fd)
{
	if (!shim_owns(fd) || shim_proc_state() == SHIM_PROC_VFORKED || shim_is_internal(fd))
		return NULL;
	return shim_uninstall(fd);
}

void shim_close_after(struct shim_obj *o)
{
	if (o)
		shim_drop_slot_ref(o);
}

void shim_close_range(int first, int last, unsigned flags)
{
	if (flags & CLOSE_RANGE_CLOEXEC)
		return;
	if (shim_proc_state() == SHIM_PROC_VFORKED)
		return;
	unsigned high = (unsigned)shim_fd_high();

	for (unsigned fd = (unsigned)first; fd <= (unsigned)last && fd < high; fd++) {
		struct shim_obj *o;

		if (!shim_owns((int)fd) || shim_is_internal((int)fd))
			continue;
		o = shim_uninstall((int)fd);
		if (o)
			shim_drop_slot_ref(o);
	}
}

int shim_dup(int fd)
{
	struct shim_obj *o;
	int nfd, r;

	if (!shim_owns(fd) || shim_proc_state() == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	o = shim_get(fd);
	if (!o)
		return SHIM_PASS;
	nfd = shim_libc.dup(fd);
	if (nfd < 0) {
		r = -errno;
	} else {
		r = shim_install(nfd, o);
		r = r < 0 ? r : nfd;
	}
	shim_put(o);
	return r;
}

int shim_dup3(int oldfd, int newfd, int flags)
{
	struct shim_obj *o, *prev;
	int r;

	if (shim_proc_state() == SHIM_PROC_VFORKED || oldfd == newfd)
		return SHIM_PASS;   /* a vfork child has its own fd table: nothing of ours there to keep */
	if (shim_protected(newfd))
		return -EBUSY;
	if (!shim_owns(oldfd) && !shim_owns(newfd))
		return SHIM_PASS;
	o = shim_get(oldfd);
	/* Onto stdin, stdout or stderr: stdio and exec'd children reach it
	 * without the interposed calls (shim/expose.c). */
	if (o && o->kind == SHIM_OBJ_SOCK && newfd >= 0 && newfd <= 2)
		shim_expose_sock((struct shim_sock *)o);
	r = shim_libc.dup3(oldfd, newfd, flags < 0 ? 0 : flags);
	if (r < 0) {
		r = -errno;
	} else {
		/* The kernel closed newfd's old file: forget what we had there. */
		prev = shim_uninstall(newfd);
		if (prev)
			shim_drop_slot_ref(prev);
		if (o)
			(void)shim_install(newfd, o);
		r = newfd;
	}
	if (o)
		shim_put(o);
	return r;
}

/* After the placeholder took an owner or a signal (fcntl, or the ioctls
 * FIOSETOWN/SIOCSPGRP): the shim's copy, read back from it. */
static void sync_owner(struct shim_sock *k, int fd)
{
	struct f_owner_ex ex = { F_OWNER_PID, 0 };
	int sig;

	if (shim_libc.fcntl(fd, F_GETOWN_EX, (long)&ex) < 0)
		return;
	sig = shim_libc.fcntl(fd, F_GETSIG, 0);
	shim_lock();
	k->own_type = ex.type;
	k->own_pid = ex.pid;
	k->async_sig = sig > 0 ? sig : 0;
	shim_unlock();
}

/* After the placeholder's file flags changed (F_SETFL, FIONBIO, FIOASYNC). */
static void sync_flags(struct shim_sock *k, int fd)
{
	int fl = shim_libc.fcntl(fd, F_GETFL, 0);

	if (fl < 0)
		return;
	shim_lock();
	k->nonblock = (fl & O_NONBLOCK) != 0;
	k->append = (fl & O_APPEND) != 0;
	if ((fl & O_ASYNC) && !k->async) {
		/* Linux's fasync_helper: the fd the flag was set on. Counting
		 * starts now: what is already queued raises no signal. */
		k->async_fd = fd;
		k->async_seen = shim_sock_poll(k);
		k->async_rx = rx_count(k);
		k->async_fin = k->tcp && tcp_fin_received(k->tcp);
	}
	k->async = (fl & O_ASYNC) != 0;
	shim_unlock();
}

int shim_fcntl(int fd, int cmd, long arg)
{
	struct shim_sock *k;
	int r, nfd;

	if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC && cmd != F_SETFL && cmd != F_SETOWN &&
	    cmd != F_SETOWN_EX && cmd != F_SETSIG)
		return SHIM_PASS;
	k = enter(fd, &r);
	if (!k)
		return r;
	if (cmd == F_SETOWN || cmd == F_SETOWN_EX || cmd == F_SETSIG) {
		/* The placeholder keeps the owner and the signal (F_GETOWN and
		 * F_GETSIG answer from it, with the kernel's checks); the shim a
		 * copy, for SIGURG and O_ASYNC's signals. */
		r = shim_libc.fcntl(fd, cmd, arg) < 0 ? -errno : 0;
		if (r == 0)
			sync_owner(k, fd);
		leave(k);
		return r;
	}
	if (cmd == F_SETFL) {
		/* O_NONBLOCK and O_ASYNC live on the file description, shared by
		 * dups, like ours. */
		r = shim_libc.fcntl(fd, F_SETFL, arg);
		if (r < 0)
			r = -errno;
		else
			sync_flags(k, fd);
	} else {
		nfd = shim_libc.fcntl(fd, cmd, arg);
		if (nfd < 0)
			r = -errno;
		else {
			r = shim_install(nfd, &k->obj);
			r = r < 0 ? r : nfd;
		}
	}
	leave(k);
	return r;
}

/* SIOCGSTAMP and SIOCGSTAMPNS on a UDP socket (Linux's sock_gettstamp):
 * ENOENT before any datagram was read, else the last one's arrival once
 * asked (sock_recv_cmsgs stamps the reads after this), or the time of the
 * first call. The _OLD and _NEW forms share one layout on 64-bit. */
static int udp_gettstamp(struct shim_sock *k, unsigned long req, void *arg)
{
	bool ns = req == SIOCGSTAMPNS_OLD || req == SIOCGSTAMPNS_NEW;
	int64_t us;
	long long t[2];

	shim_lock();
	k->stamp_on = true;
	if (k->stamp_us == 0)
		k->stamp_us = (int64_t)realtime_us(0, 0);
	us = k->stamp_us;
	shim_unlock();
	if (us < 0)
		return -ENOENT;
	t[0] = us / 1000000;
	t[1] = ns ? us % 1000000 * 1000 : us % 1000000;
	return shim_copy(arg, t, sizeof(t)) ? -EFAULT : 0;
}

int shim_ioctl(int fd, unsigned long req, void *arg)
{
	struct shim_sock *k;
	bool pass = false, dev_req = false;
	int r, v = 0;

	if (shim_iface_ioctl_req(req)) {
		k = enter(fd, &r);
		if (!k)
			return r;
		r = shim_iface_ioctl(shim_opt_fd(k, fd), req, arg);
		leave(k);
		return r;
	}
	if (req == SIOCGSTAMP_OLD || req == SIOCGSTAMPNS_OLD || req == SIOCGSTAMP_NEW || req == SIOCGSTAMPNS_NEW) {
		k = enter_data(fd, &r);
		if (!k)
			return r;
		/* TCP keeps no stamp of its reads: the placeholder's ENOENT. */
		r = k->type == SOCK_DGRAM ? udp_gettstamp(k, req, arg) : SHIM_PASS;
		leave(k);
		return r;
	}
	if (req != FIONBIO && req != FIONREAD && req != SIOCOUTQ && req != SIOCOUTQNSD && req != SIOCATMARK &&
	    req != FIOASYNC && req != FIOSETOWN && req != SIOCSPGRP)
		return SHIM_PASS;
	k = enter_io(fd, &r);
	if (!k)
		return r;
	if (framed(k)) {
		/* The relay's end: Linux's udp_ioctl answers the next
		 * datagram's payload, the relay's SOCK_SEQPACKET every record
		 * queued with its header (unix_inq_len); the next record's
		 * length, peeked, less its header. The rest is the fd's own. */
		if (req == FIONREAD) {
			long q = SYSC(SYS_recvfrom, fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT, NULL, NULL);
			int v2 = q > (long)sizeof(struct relay_dgram_hdr) ? (int)(q - (long)sizeof(struct relay_dgram_hdr)) : 0;

			r = q < 0 && q != -EAGAIN ? (int)q : shim_copy(arg, &v2, sizeof(v2));
		} else {
			r = SHIM_PASS;
		}
		leave(k);
		return r;
	}
	if (req == FIONBIO || req == FIOASYNC || req == FIOSETOWN || req == SIOCSPGRP) {
		/* The placeholder's, with the kernel's checks; then our copies. */
		r = shim_libc.ioctl(fd, req, arg) < 0 ? -errno : 0;
		if (r == 0 && (req == FIONBIO || req == FIOASYNC))
			sync_flags(k, fd);
		else if (r == 0)
			sync_owner(k, fd);
		leave(k);
		return r;
	}
	shim_lock();
	/* Linux's tcp_ioctl: SIOCATMARK asks nothing of the state (a listener
	 * answers 0), the queues' ioctls refuse a listener (EINVAL);
	 * udp_ioctl knows SIOCINQ/SIOCOUTQ only (ENOIOCTLCMD: ENOTTY). */
	if ((req == SIOCATMARK || req == SIOCOUTQNSD) && k->udp)
		dev_req = true;     /* the placeholder may be another kind of socket now */
	else if ((req == SIOCATMARK || req == SIOCOUTQNSD) && !k->tcp)
		pass = true;        /* never connected: the placeholder answers */
	else if (req == SIOCATMARK)
		v = k->listening ? 0 : tcp_atmark(k->tcp);
	else if (k->type == SOCK_STREAM && k->listening)
		r = -EINVAL;
	else if (req == FIONREAD) {
		int lo = atomic_load(&k->lo_fd);

		/* A datagram to localhost waiting on the loopback side
		 * (lo_udp) is the socket's next. */
		if (k->udp && lo >= 0 && !udp_next_size(k->udp) && !(udp_poll(k->udp) & POLLIN))
			(void)lo_udp_pull(k, lo);
		v = (int)(k->tcp ? tcp_inq(k->tcp) : k->udp ? udp_next_size(k->udp) : 0);
	} else if (req == SIOCOUTQNSD)
		v = (int)tcp_outq_unsent(k->tcp);
	else
		v = (int)(k->tcp ? tcp_outq(k->tcp) : 0);
	shim_unlock();
	if (dev_req) {
		/* Linux's sock_do_ioctl takes a socket ioctl the protocol
		 * does not know for a device's: it reads a struct ifreq
		 * first (EFAULT), then dev_ioctl knows none (ENOTTY). */
		struct ifreq ifr;

		r = shim_copy(&ifr, arg, sizeof(ifr)) ? -EFAULT : -ENOTTY;
	} else if (r == SHIM_PASS && !pass) {
		r = shim_copy(arg, &v, sizeof(v));
	}
	leave(k);
	return r;
}
