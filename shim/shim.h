/*
 * The socket shim: POSIX socket semantics (file descriptors, blocking,
 * readiness, errno values) on top of the stack's UDP and TCP sockets.
 *
 * The shim knows nothing of interposition. Its caller (preload/, or a unit
 * test) gives it:
 *   - struct shim_libc: the real libc functions, for kernel fds and for the
 *     placeholders (every stack socket owns a real kernel socket of the same
 *     kind, so fd numbers never collide and select/dup2/close/exec behave;
 *     it also validates setsockopt values, and answers the options the
 *     stack does not model). An exposed socket's fd is live instead (below);
 *     its placeholder is kept, hidden, for the options;
 *   - struct shim_host: how to start, lock, clock and stop the stack (the
 *     runner in the library, an in-memory link in the unit tests). Its lock
 *     is the one lock of the stack and the shim (stack/CONCURRENCY.md).
 *
 * Every shim_X() returns >= 0 or -errno, and never touches errno. SHIM_PASS
 * means "not for the stack": the caller makes the real libc call itself,
 * unchanged. That is the answer for fds that are not stack sockets, and for
 * a socket released to the kernel because it binds or connects to loopback.
 *
 * Documented choices (what a program observes):
 *   - Stack start failure (bad PSTACK_* value, no TAP, no permission): the
 *     call that needed the stack fails with ENETDOWN after one line on
 *     stderr, and so does every later call that needs it (no retry).
 *   - A call blocked on a socket whose last fd is closed by another thread
 *     returns EBADF (Linux would keep it blocked; the field notes require a
 *     wakeup, and EBADF is what the same call made after close() returns).
 *   - Exposure (shim/expose.c): a connected socket reached outside the
 *     interposed calls (dup2/dup3 onto 0-2, fdopen, a posix_spawn file
 *     action, an fd without FD_CLOEXEC at posix_spawn/system/popen, any fd
 *     at fork) gets a live kernel fd: one end of a Unix socket pair (stream
 *     for TCP, seqpacket for UDP and for a listener's channel) that the
 *     host's relay serves. From then on its data, readiness (poll, select,
 *     epoll) and shutdown are the kernel fd's, for the interposed calls too
 *     (what the stack had received comes first);
 *     getsockname/getpeername/getsockopt/setsockopt still answer from the
 *     stack (or what the socket kept) and the hidden placeholder; recvmsg/recvfrom on UDP give the
 *     connected peer's address. A UDP socket connected to a stack address
 *     is armed: its fd is live from connect() on while the stack serves the
 *     interposed calls, and a datagram written through the kernel fd (a raw
 *     system call) exposes it. A reset reads as end of file there (EPIPE
 *     for writes), and the connection closes when the fd's last reference,
 *     in any process, goes (when this process exits or execs first, a
 *     keeper process serves the other holders: stack/host/keeper.h).
 *   - fork(): the child has no stack; the parent keeps serving it. fork()
 *     exposes every connected socket and listener first (close-on-exec or
 *     not): in the child they are served as in the parent after exposure
 *     (data, readiness, shutdown through the live fd; getsockname,
 *     getpeername and the buffer sizes from what the socket kept when it
 *     was exposed; the options on the hidden placeholder; accept() on a
 *     listener takes the next connection from its channel, in the parent
 *     too). The others (connecting) keep their placeholders (exec and
 *     CLOEXEC behave), any other use prints one line and fails with EBADF,
 *     close() closes the placeholder; new Internet sockets in the child are
 *     the kernel's; the child's exit stops nothing. A vfork()/posix_spawn
 *     child (shared memory) changes nothing in the shim: all its calls go
 *     to the kernel.
 *   - exec: an image exec'd under the preload gets its exposed sockets'
 *     entries back (shim_exec_note, shim_exec_adopt).
 *   - Loopback (127.0.0.0/8, ::1, and a connect to 0.0.0.0/::) is the
 *     kernel's: the socket leaves the shim (with its options, and its epoll
 *     registrations, which move to the kernel's epoll). bind to INADDR_ANY
 *     or :: serves the stack (loopback clients cannot reach it). A socket
 *     that already lives in the stack answers ENETUNREACH for loopback.
 *   - IPv6: AF_INET6 sockets are dual-stack through IPv4-mapped addresses;
 *     pure IPv6 destinations are ENETUNREACH, pure IPv6 binds EADDRNOTAVAIL.
 *   - SA_RESTART: a blocking call interrupted by a signal restarts when the
 *     handler that ran has SA_RESTART (handlers are installed wrapped, see
 *     shim_sigaction; for one installed with the raw system call, when every
 *     installed handler has it), never when SO_RCVTIMEO/SO_SNDTIMEO is set;
 *     poll/select/epoll never restart.
 *   - Multicast (UDP, AF_INET): IP_ADD_MEMBERSHIP/IP_DROP_MEMBERSHIP are
 *     answered by the stack, which then takes the group's datagrams (any
 *     interface index names its one interface); it sends no IGMP report
 *     (nothing on a TAP needs one). IP_MULTICAST_TTL and _LOOP are honoured;
 *     source-specific and MCAST_* joins are the placeholder's (no effect).
 *   - Unknown or invalid options: the placeholder kernel socket answers
 *     first, so the errno is exactly Linux's (ENOPROTOOPT, EINVAL...).
 *   - Memory the program does not own: EFAULT (or the kernel's EINVAL), as
 *     from the kernel, in the kernel's order of checks; the shim reads and
 *     writes it only through shim_copy/shim_user_do (below). Arrays, sets,
 *     timeouts and masks of poll/select/epoll that cannot be read are left to
 *     the kernel's call (SHIM_PASS), which answers as it would have.
 *   - Urgent data (MSG_OOB) the Linux way: one byte out of band unless
 *     SO_OOBINLINE, SIOCATMARK, POLLPRI, and SIGURG to the owner F_SETOWN or
 *     F_SETOWN_EX named (sent with kill/tgkill once the lock is let go).
 *   - O_ASYNC (F_SETFL or FIOASYNC) with the owner from F_SETOWN(_EX),
 *     FIOSETOWN or SIOCSPGRP and the signal from F_SETSIG: the signals
 *     Linux's sock_wake_async sends (POLL_IN per arrival unless a thread
 *     waits in a TCP receive, POLL_OUT at a connect's end and for room after
 *     a send found none, POLL_ERR, the FIN's two), told apart by what changed
 *     at each wake-up. Deviation: with F_SETSIG, a signal raised by a thread
 *     other than the process's first carries si_code SI_QUEUE instead of
 *     POLL_* (the kernel lets a process give a positive si_code only from
 *     that thread); si_band and si_fd are Linux's. Without F_SETSIG, SIGIO
 *     comes from kill() (SI_USER; the kernel's says SI_KERNEL).
 *   - Ancillary data: sendmsg's control messages are read (EFAULT when the
 *     program does not own them) and checked as the kernel checks them
 *     (EINVAL); UDP takes IP_PKTINFO's source, IP_TTL and IP_TOS per
 *     datagram (IP_RETOPTS is accepted and not sent). recvmsg on UDP gives
 *     SO_TIMESTAMP(NS)(_NEW), IP_PKTINFO, IP_TTL, IP_TOS (MSG_CTRUNC when
 *     short), and with IP_RECVERR the ICMP errors on the error queue
 *     (MSG_ERRQUEUE, IP_RECVERR with the offender). TCP gives none (Linux
 *     gives SO_TIMESTAMP on TCP too) and keeps no error queue.
 *   - Not supported: an epoll fd nested in another epoll fd sees only its
 *     kernel fds; recvmmsg's timeout (read and checked, not applied).
 */
#ifndef PSTACK_SHIM_H
#define PSTACK_SHIM_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct stack;
struct tcp_conn;
struct udp_sock;
struct relay_cb;

/* Variables that every preloaded process writes in the library's
 * constructor, the same ones whether it ever makes a socket or not: kept
 * together in .data, on the page of the GOT that the loader's relocation
 * has written already, where in .bss they were spread over four pages and
 * each first touch was a page fault (a program that never makes a socket
 * pays them too: a shell script's every command), at start and at exit. */
#define SHIM_START_DATA __attribute__((section(".data.pstack_start")))

/* Not an errno: "make the real call". */

#define SHIM_PASS (-100000)

struct shim_libc {
	int (*socket)(int domain, int type, int protocol);
	int (*close)(int fd);
	int (*dup)(int fd);
	int (*dup3)(int oldfd, int newfd, int flags);
	int (*fcntl)(int fd, int cmd, ...);
	int (*ioctl)(int fd, unsigned long req, ...);
	int (*setsockopt)(int fd, int level, int name, const void *val, socklen_t len);
	int (*getsockopt)(int fd, int level, int name, void *val, socklen_t *len);
	int (*ppoll)(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);
	int (*epoll_ctl)(int epfd, int op, int fd, struct epoll_event *ev);
	int (*epoll_pwait)(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	off_t (*lseek)(int fd, off_t off, int whence);
	int (*sigaction)(int sig, const struct sigaction *act, struct sigaction *old);
	/* For the netlink sockets whose answers iface.c rewrites. */
	ssize_t (*recvmsg)(int fd, struct msghdr *msg, int flags);
	ssize_t (*recvfrom)(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen);
	/* A UDP placeholder's disconnect (what the kernel clears there). */
	int (*connect)(int fd, const struct sockaddr *sa, socklen_t len);
	/* An AF_INET6 placeholder's bind to a native IPv6 address (sock.c). */
	int (*bind)(int fd, const struct sockaddr *sa, socklen_t len);
};

/* The stack's interface as programs see it (interface ioctls, getifaddrs,
 * IP_PKTINFO): the TAP's kernel name and index with the stack's address. */
struct shim_iface {
	char name[16];          /* the TAP device's name */
	unsigned index;         /* its kernel interface index, 0 when unknown */
	uint32_t addr;          /* host order */
	uint8_t prefix_len;
	uint8_t mac[6];
	uint32_t mtu;           /* 0: the device's own */
};

struct shim_host {
	void *ctx;
	/* Brings the stack up (called at most once per process, with the lock
	 * held). 0 or -errno; it has printed its one line explaining a failure. */
	int (*start)(void *ctx);
	struct stack *(*stack)(void *ctx);
	/* The stack lock: usable from shim_init on (before start and after
	 * stop too), never taken twice by one thread. start, stack, now, spin,
	 * block_begin, drive and block_end are called with it held; stop
	 * without. */
	void (*lock)(void *ctx);
	/* Lets go of it; once the stack runs, writes the frames made under it
	 * first (no device I/O under the lock). The shim then signals what it
	 * woke; a host that lets go of the lock on its own (its thread, around
	 * its device I/O) calls shim_wake_flush() right after. */
	void (*unlock)(void *ctx);
	uint64_t (*now)(void *ctx);
	/* Drains (bounded by linger_us) and frees the stack; no lock held. */
	void (*stop)(void *ctx, uint64_t linger_us);
	/* Optional (NULL: no busy-poll): with the lock held, reads and processes
	 * the frames the device has ready, without blocking; how many. A thread
	 * about to block calls it for up to PSTACK_SPIN_US first, and once with
	 * stop set when it gives up and blocks after all (nothing is read then). */
	int (*spin)(void *ctx, bool stop);
	/* With spin: the busy-poll budget in microseconds (PSTACK_SPIN_US, the
	 * host's setting), asked once the stack runs. */
	uint32_t (*spin_us)(void *ctx);
	/* Optional (NULL: threads block on their own fds only). A thread about
	 * to block in ppoll() calls block_begin (lock held): an fd to add to
	 * that ppoll when this thread may read the device itself, else -1. When
	 * that fd is readable it calls drive with the lock held (frames read and
	 * processed, how many); block_end ends every block_begin (lock held).
	 * drive may stop after the frame that makes *enough true (the wake-up
	 * of the caller's own wait sets it; true from the start when the
	 * caller's other fds were ready with the device) and leave the rest
	 * for later. */
	int (*block_begin)(void *ctx);
	int (*drive)(void *ctx, const bool *enough);
	void (*block_end)(void *ctx, bool was_driver);
	/* Optional (NULL: the kernel's view stays): the stack's interface, from
	 * the settings, whether the stack runs or not. 0 or -errno. Called
	 * without the lock. */
	int (*iface)(void *ctx, struct shim_iface *out);
	/* Optional (NULL: no socket is ever exposed, shim/expose.c). With the
	 * lock held, once the stack runs: the host's relay (stack/host/relay.h)
	 * owns tcp (or udp) and fd, its end of the socket pair whose other end
	 * the program now holds, and moves the data between them (when armed,
	 * from the program's first write through the fd, or relay_expose, on);
	 * it tells cb (gctx) what happens. NULL when out of memory.
	 * relay_forget: gctx goes away first. */
	void *(*relay_open)(void *ctx, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			    const struct relay_cb *cb, void *gctx);
	void (*relay_expose)(void *ctx, void *relay);
	void (*relay_forget)(void *ctx, void *relay);
	/* Optional (NULL: a listener's loopback side is closed when it is
	 * exposed). Lock held: a listener's relay owns lo from now on, its
	 * loopback side (relay_listener_lo). */
	void (*relay_lo)(void *ctx, void *relay, int lo, int family);
	/* Whether a UDP socket bound to the wildcard address gets a loopback
	 * side (shim/sock.c, lo_udp): a host whose kernel has the program's
	 * loopback (the preload's). A test host keeps its sockets to the
	 * stack. */
	bool udp_lo;
	/* Optional (NULL: the relay moves every byte). The program wrote into
	 * an exposed socket's fd through an interposed call: relay_push_claim
	 * (lock held) says whether this thread moves the bytes itself; if so
	 * relay_push_read (no lock) reads them from the relay's end, and
	 * relay_push_send (lock held) sends them as the lock is let go. */
	bool (*relay_push_claim)(void *ctx, void *relay);
	void (*relay_push_read)(void *ctx, void *relay);
	void (*relay_push_send)(void *ctx, void *relay);
	/* Optional (NULL: what arrives after the program's shutdown(SHUT_RD)
	 * of an exposed TCP socket is never read). Lock held: what the relay
	 * kept of it, up to len into buf (flags: SOCK_PEEK, SOCK_DISCARD);
	 * the count, 0 when none, -EAGAIN when the relay is busy (ask again
	 * without the lock held in between): relay.h, relay_recv_kept. */
	long (*relay_recv_kept)(void *ctx, void *relay, void *buf, size_t len, unsigned flags, uint64_t now);
	/* Optional with it: how many bytes relay_recv_kept would give now
	 * (FIONREAD), or -EAGAIN likewise: relay.h, relay_inq_kept. */
	long (*relay_inq_kept)(void *ctx, void *relay);
	/* Optional (NULL: never joins): PSTACK_STACK's name into out (n bytes;
	 * "" when unset), no lock held. 0, or -EINVAL after one line saying
	 * what is wrong (shim/join.c). */
	int (*stack_name)(void *ctx, char *out, size_t n);
};

/*
 * The program's memory (shim/ucopy.c). Every read and write of it by the
 * shim and the stack goes through shim_copy (or shim_user_do), which answer
 * -EFAULT for memory the program does not own instead of crashing: a fault
 * inside them is caught by the library's SIGSEGV/SIGBUS handler, which asks
 * shim_user_fault() first. shim_copy: 0 or -EFAULT (what it copied of a
 * failed copy counts for nothing). shim_user_do: runs fn(arg), which may
 * touch user[0, n) only; 0, or -EFAULT when that faulted (fn stopped there).
 * shim_user_fault: called by the handler with its arguments; when the fault
 * is such a copy's, it does not return (the copy returns -EFAULT, with the
 * signal mask uc held before the fault), else false.
 */
int shim_copy(void *dst, const void *src, size_t n);
int shim_user_do(void (*fn)(void *arg), void *arg, const void *user, size_t n);
bool shim_user_fault(int sig, const siginfo_t *si, void *uc);
/* Linux's access_ok: [p, p + n) lies below the end of the program's
 * address space (whether it is mapped is the copy's to find out). */
bool shim_user_range_ok(const void *p, size_t n);

/* Once per process, before any other call. Both structs are copied. */
void shim_init(const struct shim_libc *libc, const struct shim_host *host);
/* Signals the eventfds of the threads that the calling thread woke while it
 * held the stack lock (it holds it no more). Wake-ups are collected under
 * the lock and written after it, so no system call runs under it. */
void shim_wake_flush(void);
/* Unit tests: forgets every socket and the stack state, so the next test
 * starts clean (call after closing everything; the host is not stopped). */
void shim_reset_for_test(void);

/* Unit tests: how many threads and epoll items wait on fd's socket, or how
 * many threads wait in epoll_wait on epoll fd fd (so a test can tell that a
 * thread is blocked, without sleeping). */
int shim_test_waiters(int fd);
/* Unit tests: how many items are on epoll fd epfd's ready list (those its
 * next epoll_wait polls), or -EBADF when the shim has no object for it. */
int shim_test_epoll_ready(int epfd);

/* Cheap check for the wrappers' fast path (one or two atomic loads). */
bool shim_owns(int fd);
/*
 * The library's own descriptors (the stack's TAP/eventfd/pcap/log fds, the
 * shim's per-thread eventfds): a program that closes every fd, or dup2()s
 * over one, must not take them away. close() of one answers 0 without
 * closing, dup2/dup3 onto one fail with EBUSY, close_range/closefrom skip
 * them. shim_protected_next: the first protected fd in [from, to], or -1.
 */
bool shim_protected(int fd);
int shim_protected_next(unsigned from, unsigned to);

int shim_socket(int domain, int type, int protocol);
int shim_bind(int fd, const struct sockaddr *sa, socklen_t len);
int shim_listen(int fd, int backlog);
int shim_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int shim_connect(int fd, const struct sockaddr *sa, socklen_t len);
int shim_shutdown(int fd, int how);
int shim_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int shim_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int shim_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int shim_getsockopt(int fd, int level, int name, void *val, socklen_t *len);

ssize_t shim_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen);
ssize_t shim_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
		    socklen_t salen);
ssize_t shim_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags);
int shim_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout);
int shim_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags);
/* read() and readv(): recv() without flags, except that a zero-length
 * read is 0 at once (recv() of zero bytes waits for data, or says EAGAIN). */
ssize_t shim_read(int fd, void *buf, size_t len);
ssize_t shim_readv(int fd, const struct iovec *iov, int n);
ssize_t shim_writev(int fd, const struct iovec *iov, int n);
/* preadv2 (write false) / pwritev2 (write true) at offset -1, with RWF_* flags. */
ssize_t shim_rwv2(int fd, const struct iovec *iov, int n, int flags, bool write);
/* out_fd is a stack socket and in_fd anything readable, or in_fd a stack
 * socket and out_fd a pipe. */
ssize_t shim_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);
/* splice between a stack socket and a pipe (either way); SHIM_PASS when
 * neither or both ends are stack sockets, or the other end is no pipe (the
 * kernel answers on the placeholders). tee() needs no shim: it wants two
 * pipes, and a placeholder is a socket (EINVAL, as Linux). */
ssize_t shim_splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags);

/* close: SHIM_PASS when fd is not ours (then the caller closes it). */
int shim_close(int fd);
/* A close the C library makes itself (fclose of an fdopen()ed stream): the
 * table forgets fd before it (shim_close_before: what fd held, NULL when not
 * ours), and what fd held is let go after it (shim_close_after). */
struct shim_obj *shim_close_before(int fd);
void shim_close_after(struct shim_obj *o);
/* Forgets the stack sockets in [first, last] (the caller then makes the real
 * close_range call); never SHIM_PASS. */
void shim_close_range(int first, int last, unsigned flags);
int shim_dup(int fd);
/* dup2 (flags -1) and dup3. SHIM_PASS when neither fd is ours. */
int shim_dup3(int oldfd, int newfd, int flags);
int shim_fcntl(int fd, int cmd, long arg);
int shim_ioctl(int fd, unsigned long req, void *arg);

/* ppoll semantics (ts NULL: forever). SHIM_PASS when no fd is a stack socket. */
int shim_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);
/* pselect semantics; when tv_update is set, the time left is written back
 * there (select's Linux behaviour). SHIM_PASS when no fd is a stack socket. */
int shim_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		 const sigset_t *mask, struct timespec *left);
/* The n the kernel's select is to get in its place (SHIM_PASS): clamped to
 * the fd table the program would have without the stack's own high fds. */
int shim_select_nfds(int n, const fd_set *r, const fd_set *w, const fd_set *e);
/* SHIM_PASS when fd is not a stack socket (the kernel's epoll then serves it). */
int shim_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* SHIM_PASS when epfd watches no stack socket. */
int shim_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask);
int shim_epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask);

/*
 * sigaction() as the program calls it (the preload routes signal(),
 * sysv_signal(), sigset() and siginterrupt() here too). A handler is
 * installed wrapped: the wrapper notes which handler ran on its thread, so a
 * blocking socket call it interrupts restarts exactly when that handler has
 * SA_RESTART, as in Linux. old reports what the program installed. SHIM_PASS
 * for a bad signal number (the real call answers EINVAL) and in a vfork()
 * child.
 */
int shim_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
/* A handler the host runs itself (the library's SIGSEGV/SIGBUS handler runs
 * the program's) has run, with these sa_flags: the same note as a wrapped
 * handler's, for the restart of the call it interrupted. Async-signal-safe. */
void shim_signal_ran(int sig, int sa_flags);
/* Whether this thread is inside a handler the shim wrapped (a handler that
 * left by longjmp counts as still running: the careful answer). */
bool shim_in_signal_handler(void);
/*
 * A program's handler runs where the kernel would run it: at the end of a
 * call into the library, or inside one of its blocking waits, never in the
 * middle of the library's work (holding its lock, say), where the socket
 * calls the handler makes could not be served. shim_depth counts this
 * thread's calls into the library (the interposing layer's, preload.c);
 * shim_depth_base is the depth the program's code runs at (more than 0 in
 * a handler that interrupted a wait: its socket calls are the library's
 * again). A handler for a signal that comes deeper is deferred, and the
 * layer runs it (shim_deferred_run) once its call is back at the base.
 */
extern _Thread_local unsigned shim_depth __attribute__((tls_model("initial-exec")));
extern _Thread_local unsigned shim_depth_base __attribute__((tls_model("initial-exec")));
extern _Thread_local volatile unsigned shim_ndeferred __attribute__((tls_model("initial-exec")));
/* Runs the handlers deferred on this thread, oldest first, each under the
 * mask the kernel set for it. errno kept. */
void shim_deferred_run(void);
/* Whether this process is a vfork() child (shares our memory, not our
 * signal handlers). */
bool shim_vfork_child(void);
/* The program, root, is about to take another effective user (setuid() and
 * the like): the stack it would start at its first socket's bind or
 * connect needs root for the TAP, and is started now (squid drops root
 * before it opens its listening socket; the kernel's stack needs nothing
 * of the user). Not in a fork child, nor where another process's stack
 * serves this one's, nor without the device or a configuration. */
void shim_creds_prestart(void);

/* Interfaces as programs see them (shim/iface.c): the lists the real
 * getifaddrs() and if_nameindex() returned, rewritten in place: the TAP's
 * entries carry the stack's address, netmask, broadcast and MAC, and only
 * the TAP and the loopback remain (the host's iface callback says which; a
 * list without either is left alone when it has none). */
struct ifaddrs;
struct if_nameindex;
void shim_iface_fix_ifaddrs(struct ifaddrs **list);
void shim_iface_fix_nameindex(struct if_nameindex *v);

/*
 * Exposure (shim/expose.c): a stack socket reached outside the interposed
 * calls gets a live kernel fd, served by the host's relay. shim_expose: fd's
 * socket, when it is one that can be (connected), before fdopen() or a
 * posix_spawn file action that hands it to a child; shim_dup3 does it itself
 * for a dup2/dup3 onto 0, 1 or 2. shim_expose_inherited: every such socket
 * a child gets, before fork() (all: the child uses its copies itself) or
 * posix_spawn() (only those with an fd without FD_CLOEXEC, which the child
 * keeps across exec). Both without the lock; nothing in a child process.
 */
void shim_expose(int fd);
void shim_expose_inherited(bool all, bool dgrams);
/* No lock: fd's socket, when it is a bound UDP socket without a peer, gets
 * a framed relay (shim/expose.c), as for a fork child that inherits it:
 * before it is passed over SCM_RIGHTS. Nothing in a child process. */
void shim_expose_dgram(int fd);
/* No lock: the program wrote through an interposed call into fd, an exposed
 * socket's kernel fd (the real call, after SHIM_PASS, said > 0): the bytes
 * may leave from this thread (the relay's push, shim/expose.c). */
void shim_exposed_wrote(int fd);
/* No lock: a read of fd, an exposed TCP socket's kernel fd, through an
 * interposed call (the real call, after SHIM_PASS, said 0: the end of
 * file) into iov (the program's, cnt of them) with flags: the bytes that
 * arrived after the program's shutdown(SHUT_RD), which the fd never gets
 * (shim/expose.c). Their count, 0 (none: the end of file stands), or
 * -errno. */
ssize_t shim_exposed_read_end(int fd, const struct iovec *iov, int cnt, int flags);
/* No lock: after ioctl(fd, FIONREAD, arg) on an exposed TCP socket's kernel
 * fd (the real call, after SHIM_PASS, succeeded): the bytes the fd never
 * gets after the program's shutdown(SHUT_RD) are added to *arg, as Linux
 * counts what is queued. 0 or -errno. */
int shim_exposed_inq(int fd, int *arg);
/*
 * exec: shim_exec_note writes into buf (len bytes, NUL-terminated) a note of
 * the exposed sockets whose fds survive exec (no FD_CLOEXEC); the length, 0
 * when there is none. Only reads (a vfork child may call it). At the new
 * image's start, shim_exec_adopt rebuilds their entries from the note, for
 * the fds that are still the same files.
 */
size_t shim_exec_note(char *buf, size_t len);
void shim_exec_adopt(const char *note);
/*
 * SCM_RIGHTS: shim_name_passed names fd's kernel file (an exposed socket's
 * pair end) with what a receiver's entry needs, before the sender's
 * sendmsg() hands it over; shim_adopt_passed, on an fd the receiver's
 * recvmsg() got, rebuilds the entry from that name (nothing for another
 * kind of file). Both without the lock.
 */
void shim_name_passed(int fd);
void shim_adopt_passed(int fd);

/*
 * Children the atfork handlers do not see (vfork(), _Fork(), clone()):
 * until the first is made, every process running this code is the one that
 * started the library or a fork() child the handler marked, and the shim
 * does not ask the kernel for its pid on each call (shim_proc_state). The
 * host's interposed vfork/_Fork/clone set it before the child exists. An
 * int for the host's vfork stub, which cannot call a function (the child
 * would return through the caller's frame).
 */
extern int shim_clone_seen;

/* The kernel's epoll behind epfd now holds a registration (a kernel fd
 * added through the interposed epoll_ctl): the shim's epoll_wait on it asks
 * the kernel's too from then on. No lock held. */
void shim_epoll_kernel_added(int epfd);
/* An epoll fd made through the interposed epoll_create/epoll_create1: the
 * shim's object for it (an epoll nested in another before it holds a stack
 * socket is known as one). No lock held. */
void shim_epoll_created(int epfd);

/* fork: call prepare/parent/child around it (pthread_atfork). */
void shim_fork_prepare(void);
void shim_fork_parent(void);
void shim_fork_child(void);
/*
 * The keeper (stack/host/keeper.h), forked by the host with the stack lock
 * held and the library's atfork handlers standing aside: prepare takes the
 * fd table's lock too (the fork copies a consistent table), parent lets go
 * of it again in the owner. child, in the keeper once the owner's image is
 * gone: lets go of the table's lock, closes every socket as at exit when
 * the owner exec'd (shim_exit did it when it exited), and leaves the shim
 * as a fork child's; the stack lock stays held (the host lets go of it).
 */
/*
 * The exit guard: SIGTERM, SIGINT and SIGHUP, while at their default action,
 * run fn instead (installed now and whenever the program sets SIG_DFL
 * again; the program still sees SIG_DFL). fn must end the process with the
 * signal, as the default action would. In the process that started the
 * stack only (a fork child inherits it; fn sees it is not the owner).
 */
void shim_guard_arm(void (*fn)(int));
/* The same, from the first socket exposure on (shim/expose.c): what the
 * host calls at start. */
void shim_guard_register(void (*fn)(int));
void shim_keeper_prepare(void);
void shim_keeper_parent(void);
void shim_keeper_child(bool close_all);
/* In the stack process of a program that died with the stack running
 * (runner_set_orphan), stack lock held: the shim's sockets close as at exit
 * and the process is the stack's owner from now on, as a keeper is; the
 * table's lock, if a thread of the dead program held it, is made anew. */
void shim_orphan(void);
/* Process exit: closes every stack socket like the kernel does at exit,
 * then stops the stack (drain bounded by linger_us). Idempotent; does
 * nothing in a process that did not start the stack. */
void shim_exit(uint64_t linger_us);

#endif
