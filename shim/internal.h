/*
 * The shim's private structures, shared by its files (not by anyone else).
 *
 * "Stack lock held" below means shim_lock(): the one lock of the stack and
 * the shim (the host's). What it guards, the table lock under it, the wait
 * lists and the deferred wake-ups: stack/CONCURRENCY.md.
 */
#ifndef PSTACK_SHIM_INTERNAL_H
#define PSTACK_SHIM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "shim/shim.h"
#include "stack/core/sock.h"

struct tcp_conn;
struct udp_sock;
struct tcp_conn_info;

enum shim_kind { SHIM_OBJ_SOCK = 1, SHIM_OBJ_EPOLL, SHIM_OBJ_INTERNAL, SHIM_OBJ_NETLINK };

struct shim_obj;
struct shim_waiter;

/* What the core does with an object, by kind (sock.c and poll.c fill them in). */
struct shim_obj_ops {
	/* Its last fd is gone (no lock held): what the kernel does when a
	 * file's last descriptor closes (blocked callers are woken). */
	void (*last_close)(struct shim_obj *o);
	/* Its last reference is gone (no lock held): frees it. */
	void (*free)(struct shim_obj *o);
	/* Process exit (stack lock held): closed as the kernel closes it at
	 * exit, with its waiters woken; the stack stops next. NULL: nothing. */
	void (*exit)(struct shim_obj *o);
	/* Its wait list's head (shim_test_waiters). */
	struct shim_waiter *(*waiters)(struct shim_obj *o);
};

/* What an fd table slot points to. */
struct shim_obj {
	enum shim_kind kind;
	const struct shim_obj_ops *ops;   /* NULL for SHIM_OBJ_INTERNAL */
	atomic_int refs;        /* table slots + calls in flight */
	int nfds;               /* table slots (under tab_mu) */
	struct shim_obj *limbo_next;    /* in limbo (under the stack lock) */
};

/* A thread's wakeup eventfd, shared with the wakers that have it queued
 * (so it is closed only when the last of them is done with it). */
struct shim_efd;

enum shim_wait_kind { SHIM_W_THREAD, SHIM_W_EPOLL };

/* A node on a wait list (circular, with a dummy head; under the stack lock). */
struct shim_waiter {
	struct shim_waiter *prev, *next;
	enum shim_wait_kind kind;
	struct shim_efd *efd;       /* SHIM_W_THREAD: the waiting thread's */
	struct shim_epitem *item;   /* SHIM_W_EPOLL */
};

/* A TCP socket's connect() state, Linux's struct socket state (not the
 * connection's): connect() answers from it before it looks at the address. */
enum shim_ss {
	SHIM_SS_UNCONNECTED,    /* connect() starts one */
	SHIM_SS_CONNECTING,     /* connect() started one: EALREADY, or 0 once it is done */
	SHIM_SS_CONNECTED,      /* connect() saw it done, or accept() made it: EISCONN */
	SHIM_SS_DISCONNECTING,  /* shut down while connecting: connect() says EINVAL */
};

struct shim_sock {
	struct shim_obj obj;
	int family;             /* AF_INET or AF_INET6 */
	int type;               /* SOCK_STREAM or SOCK_DGRAM */
	/* Held by a TCP send from its claim of the send queue's room to its
	 * commit (tcp_sendv_unlocked), the copy in between made without the
	 * stack lock; taken with trylock under the stack lock, waited for
	 * without it (stack/CONCURRENCY.md, "The send copy"). */
	pthread_mutex_t send_mu;
	/* Below: under the stack lock. */
	struct tcp_conn *tcp;   /* NULL until the stack object exists */
	struct udp_sock *udp;
	bool nonblock;
	bool append;            /* O_APPEND on the file (F_SETFL): splice and sendfile refuse it */
	bool closed;            /* no fd left: new calls and poll see EBADF/POLLNVAL; a call in
				 * progress goes on, as Linux's holds the file (sock_last_close) */
	bool closed_in_handler; /* ... by a close() inside a signal handler: a wait the signal
				 * interrupted had looked at the fds before it (poll's EINTR) */
	bool moved;             /* handed to the kernel's loopback (release): waiters return EBADF */
	bool dead;              /* stack object gone at exit */
	bool bound, listening;
	bool v6only;
	bool mapped_any;        /* AF_INET6 bound to ::ffff:0.0.0.0 (getsockname shows it, not ::) */
	bool freebind, transparent;     /* IP_FREEBIND, IP_TRANSPARENT: bind() to an address not ours */
	uint64_t inherit;       /* TCP: options set on the placeholder that accepted sockets inherit (sock.c, inherit_tab) */
	/* bind() gave a specific address / port (Linux's SOCK_BINDADDR_LOCK,
	 * SOCK_BINDPORT_LOCK): a disconnect keeps them. */
	bool addr_locked, port_locked;
	enum shim_ss ss;        /* TCP */
	/* A connect() sent a SYN, or accept() made the socket: Linux refuses
	 * listen() from then on, whatever became of the connection (refused,
	 * disconnected with AF_UNSPEC). */
	bool syn_sent;
	/* UDP: what SIOCGSTAMP answers (Linux's sk_stamp): -1 nothing read yet
	 * (ENOENT), 0 read but not stamped (the time of the ioctl), else the
	 * last datagram's arrival in wall clock us once stamp_on. */
	int64_t stamp_us;
	bool stamp_on;          /* SIOCGSTAMP asked once: SOCK_TIMESTAMP, reads stamp */
	/* listen() once took it: connect() is EINVAL from then on, once the
	 * listener is shut (SHUT_RD), disconnected (AF_UNSPEC) or listening
	 * again (Linux 6.18, measured side by side). */
	bool listened;
	/* TCP: disconnects so far (Linux's sk_disconnects: connect(AF_UNSPEC),
	 * a connect() that failed). A call that waited through one answers
	 * EPIPE (sk_wait_event). */
	unsigned disconnects;
	/* TCP_FASTOPEN_CONNECT: connect() may leave the SYN to the first
	 * write, which puts data in it (tcp_connect_defer). */
	bool fo_connect;
	/* What getsockname() shows of a TCP socket whose connection was
	 * replaced by a disconnect, until it is bound again: Linux keeps the
	 * old port number there (and the address bind() gave). */
	struct ip4_endpoint shown;
	int udp_shut;           /* SHUT_RD/WR bits seen on a UDP socket: 1 read, 2 write */
	int err;                /* pending error not from the stack, negative: a disconnect's
				 * ECONNRESET (SO_ERROR, and the next send or recv) */
	int own_type;           /* F_SETOWN(_EX): F_OWNER_*, with own_pid (0: no owner) */
	pid_t own_pid;
	/* O_ASYNC (Linux's fasync list and sock_wake_async): the owner gets
	 * SIGIO, or async_sig (F_SETSIG) with the fd O_ASYNC was set on. */
	bool async;
	int async_fd;
	int async_sig;
	bool async_nospace;     /* a send found no room (SOCKWQ_ASYNC_NOSPACE) */
	int rx_waiters;         /* threads blocked in a TCP receive (SOCKWQ_ASYNC_WAITDATA) */
	unsigned async_seen;    /* POLL* bits at the last wake-up */
	uint64_t async_rx;      /* the stack's arrival count then (tcp_rx_count, udp_rx_count) */
	bool async_fin;         /* the peer's FIN had come then (tcp_fin_received) */
	unsigned rx_cmsgs;      /* SHIM_CM_*: the control messages recvmsg gives */
	bool zerocopy;          /* SO_ZEROCOPY: MSG_ZEROCOPY sends are reported (TCP) */
	uint32_t zc_next;       /* the id of the next MSG_ZEROCOPY send (Linux's sk_zckey) */
	uint32_t tskey;         /* SO_TIMESTAMPING's OPT_ID base (Linux's sk_tskey) */
	uint64_t rcvtimeo_us, sndtimeo_us;   /* 0: none */
	/* The options the stack models, as set (kept in step with the stack
	 * object's once it exists, which gets them when it is created). */
	struct sock_opts opts;
	struct sock_wakeup wake;
	struct shim_waiter wq;  /* wait list head */
	/*
	 * Exposed (shim/expose.c): set once, never cleared, read without the
	 * lock. From then on the fd is one end of a socket pair that the host's
	 * relay serves: data, readiness and shutdown pass through to the
	 * kernel; kfd, the original placeholder (hidden), keeps answering the
	 * options; relay is the host's (under the stack lock) until it has
	 * closed the connection (tcp/udp NULL then).
	 */
	atomic_bool exposed;
	atomic_int kfd;         /* -1 while the fd is the placeholder itself */
	/*
	 * A TCP listener on the wildcard address: its loopback side (sock.c,
	 * lo_listen), a kernel listener on 127.0.0.1 (::ffff:127.0.0.1, or ::1
	 * for a v6-only one) and the same port, hidden, -1 when none. Loopback
	 * stays with the kernel, so a connection to localhost is the kernel's:
	 * this listener takes it, and accept() hands the program the kernel's
	 * socket, as it would have on Linux where a listener on 0.0.0.0 hears
	 * 127.0.0.1. Set and cleared under the lock; read without it by poll.
	 * A UDP socket on the wildcard address has one too (sock.c, lo_udp).
	 */
	atomic_int lo_fd;
	/* The kernel's epoll said the listener's loopback side has a
	 * connection (shim_lo_pull): readable until accept() looks there.
	 * Under the lock. */
	bool lo_ready;
	/* Exposed while not connected (a UDP socket a fork child inherits:
	 * expose.c, expose_dgram): its fd carries framed datagrams (relay.h,
	 * struct relay_dgram_hdr). Set before exposed. */
	bool framed;
	/* A joiner's (or a fork child's own) UDP socket not made in the
	 * owner's stack yet (shim/join.c): the groups it joined and their
	 * source filters (stack/core/udp.h, struct udp_mships; NULL: none),
	 * which the stack's socket takes once it is made (sock.c,
	 * pend_mships, shim_join_groups). Under the lock. */
	struct udp_mships *pend_ms;
	/* Moved to the kernel's loopback from the stack (sock.c, move_to_lo):
	 * the placeholder is to be bound to the wildcard address and this
	 * port (0: any) before the kernel connects it. Under the lock. */
	bool lo_bind;
	uint16_t lo_bind_port;
	bool lo_bind_named;     /* bind() named the port: no other will do */
	void *relay;            /* also while armed (shim_arm) */
	/*
	 * What the socket was when the relay came, set before exposed: what a
	 * process without the stack object answers from (a fork child, an
	 * image exec'd with the fd, this process once the relay closed the
	 * connection): getsockname, getpeername (UDP: recvmsg's address too),
	 * the buffer sizes.
	 */
	struct ip4_endpoint local, peer;
	int ex_rcvbuf, ex_sndbuf;
	/* Exposed while connecting (a fork in SYN_SENT): the handshake's end
	 * and its error, shared with fork children (relay.h, relay_share);
	 * under the stack lock in the owner (NULL once the relay is gone),
	 * the inherited mapping in a child. */
	struct relay_share *share;
	/* The share holds the error of a connect that failed before a fork
	 * (shim/expose.c, share_failed), not a relay's: the owner's to free
	 * (sock_free); a fork child's copy is its own to connect again. */
	bool fail_share;
	/*
	 * A joiner's TCP socket (shim/join.c): served by the stack of the
	 * process that owns PSTACK_STACK's stack, never by one of this
	 * process's. Until it listens or connects, local is what bind() gave.
	 * join_fd: the connection the owner answers a connect() on, until
	 * that answer is read (-1: none; hidden); join_sndbuf: the pair end's
	 * SO_SNDBUF before the filler.
	 */
	bool join;
	atomic_int join_fd;
	/* A fork child's socket its parent bound (and did no more with): the
	 * parent's connection as a number, which the owner's stack looks up
	 * when the child listens or connects (tcp_find_bound: one socket in
	 * both processes, as the kernel's); 0 for any other. */
	uint64_t fork_bound;
	int join_sndbuf;
	/*
	 * A joiner's connect under way, passed over SCM_RIGHTS (shim/expose.c,
	 * shim_name_passed): pass_peer is where it goes (in the sender, set
	 * with the request). The receiver has no answer to read (the sender
	 * holds join_fd): pass_connecting says that its own fd tells how it
	 * went (join.c, pass_settle: writable once the owner read the filler,
	 * ended when the connect failed); pass_sndbuf is join_sndbuf's value.
	 */
	_Atomic bool pass_connecting;
	struct ip4_endpoint pass_peer;
	int pass_sndbuf;
	/* A failed connect passed over SCM_RIGHTS with its error (kind 4 in
	 * the pass name, shim/expose.c): its fd is a pair's end whose peer
	 * is gone with bytes unread, which the kernel marks in error
	 * (ECONNRESET: POLLERR, as the failed socket's poll shows while its
	 * error waits). SO_ERROR takes that mark with the error. */
	_Atomic bool pass_failed;
};

/* The receive control messages a socket asked for (IP_PKTINFO, IP_RECVTTL,
 * IP_RECVTOS, IP_RECVORIGDSTADDR, SO_TIMESTAMP(NS)(_NEW), SO_RCVMARK,
 * SO_RCVPRIORITY). */
enum {
	SHIM_CM_PKTINFO = 1u << 0,
	SHIM_CM_TTL = 1u << 1,
	SHIM_CM_TOS = 1u << 2,
	SHIM_CM_TS = 1u << 3,           /* SO_TIMESTAMP or SO_TIMESTAMPNS ... */
	SHIM_CM_TSNS = 1u << 4,         /* ... the latter */
	SHIM_CM_TSNEW = 1u << 5,        /* set with the _NEW option: the _NEW cmsg type */
	SHIM_CM_INQ = 1u << 6,          /* TCP_INQ: TCP_CM_INQ on every read */
	SHIM_CM_TSING_NEW = 1u << 7,    /* SO_TIMESTAMPING set with the _NEW option */
	SHIM_CM_ORIGDST = 1u << 8,      /* IP_RECVORIGDSTADDR: IP_ORIGDSTADDR (UDP) */
	SHIM_CM_MARK = 1u << 9,         /* SO_RCVMARK: SO_MARK, the packet's mark (UDP) */
	SHIM_CM_PRIO = 1u << 10,        /* SO_RCVPRIORITY: SO_PRIORITY, the packet's priority (UDP) */
	SHIM_CM_PKTINFO6 = 1u << 11,    /* IPV6_RECVPKTINFO: IPV6_PKTINFO, mapped (AF_INET6 UDP) */
	SHIM_CM_OVFL = 1u << 12,        /* SO_RXQ_OVFL: SO_RXQ_OVFL, the drop count (UDP) */
};

/* A link of an epoll's ready list (circular, with a dummy head). */
struct shim_eplink {
	struct shim_eplink *prev, *next;
};

/* Under the stack lock, like everything it points to. */
struct shim_epitem {
	struct shim_waiter w;       /* on the socket's wait list */
	struct shim_epitem *prev, *next;  /* on the epoll's item list */
	/* On the epoll's ready list (next NULL: not on it). Linux's rdllink:
	 * the socket's wake-up puts it there; epoll_wait polls only what is
	 * there, and keeps a level-triggered item that it reported. */
	struct shim_eplink rdl;
	struct shim_epoll *ep;
	struct shim_sock *k;        /* no reference: the socket's last close removes the item */
	int fd;
	struct epoll_event ev;
	bool fired;                 /* EPOLLONESHOT reported: disabled until MOD */
	bool lo_reg;                /* its socket's loopback side is in the kernel's epoll (poll.c, lo_tag) */
};

struct shim_epoll {
	struct shim_obj obj;
	int epfd;
	struct shim_epitem items;   /* list head (under the stack lock) */
	/* The items that may be ready, oldest first (Linux's rdllist; under
	 * the stack lock): woken since they were last polled, added or
	 * modified, or level-triggered and ready when last reported. */
	struct shim_eplink ready;
	struct shim_waiter wq;      /* threads in epoll_wait (under the stack lock) */
	/* The kernel's epoll behind epfd may hold registrations (kernel fds,
	 * exposed or released sockets): its wait is asked too. Set once, never
	 * cleared (a closed fd leaves it without a DEL). */
	atomic_bool kernel_fds;
	/* The items whose sockets' loopback sides are in the kernel's epoll,
	 * under their tags (poll.c, lo_tag; under the stack lock), and
	 * whether there are any (read without the lock). */
	struct shim_epitem **lo_items;
	unsigned nlo, lo_cap;
	atomic_bool has_lo;
	/* A stack socket's item was ever added: until then its waits are
	 * the kernel's alone (an epoll made under the preload has this
	 * object from its creation). */
	atomic_bool stack_items;
	/* Threads in the kernel's wait of an epoll without stack items, and
	 * the eventfd in its kernel epoll that ends their waits when a stack
	 * socket's item comes (poll.c, epoll_kick; -1: none yet). */
	atomic_int kwaiters;
	atomic_int kick_fd;
	struct shim_efd *kick;      /* under the stack lock */
	/* A fork child's threads in the kernel's wait (poll.c,
	 * child_epoll_wait), and the eventfd of the child's own in the kernel
	 * epoll that ends their waits when an item of the child's has an
	 * event (child_kick). Under the stack lock; the copies a fork leaves
	 * are another process's: valid only where ckick_pid is this one. */
	pid_t ckick_pid;
	int ckick_fd;               /* -1: none */
	struct shim_efd *ckick;
	int ckwaiters;
	bool ckicked;               /* written since the last drain */
	/* Nested in another epoll (added to one: poll.c, epoll_nest): an
	 * eventfd in its kernel epoll, on its wait list for good, readable
	 * while a stack socket's item has an event, so that the kernel's
	 * outer epoll sees this one readable (Linux's ep_eventpoll_poll). */
	struct shim_efd *nest;
	struct shim_waiter nest_w;
	atomic_int nest_fd;         /* -1: not nested */
	/* The epolls nested in this one, by fd (made readable before each
	 * wait: epoll_nest_sync), and how many. */
	int nested[8];
	atomic_uint nnested;
};


/* Process-wide state (shim/core.c). */
extern struct shim_libc shim_libc;
extern struct shim_host shim_host;

/* ---- core.c ---- */
struct shim_obj *shim_get(int fd);        /* a reference, or NULL */
int shim_fd_high(void);                   /* one past the highest fd ever installed */
void shim_put(struct shim_obj *o);
struct shim_sock *shim_get_sock(int fd);  /* NULL when fd is not a stack socket */
/* Puts o in slot fd (which must be empty in the table). 0 or -EMFILE. */
int shim_install(int fd, struct shim_obj *o);
/* The same, when another thread may install in slot fd at the same time:
 * -EEXIST (o not installed) when the slot is taken. */
int shim_install_new(int fd, struct shim_obj *o);
/* fd was just made by the kernel (received over a channel): an entry
 * still there is stale, its fd closed behind the shim's back (glibc's own
 * close inside fclose()), and goes as close() would drop it. No lock held. */
int shim_install_fresh(int fd, struct shim_obj *o);
/* Empties slot fd; returns the object it held (its table reference is the caller's), or NULL. */
struct shim_obj *shim_uninstall(int fd);
/* Drops a table reference: the last one closes the object. */
void shim_drop_slot_ref(struct shim_obj *o);
/* Removes every slot pointing to o (the socket goes to the kernel). */
void shim_release_all(struct shim_obj *o);
/* One fd of o in the table, or -1. */
int shim_first_fd(struct shim_obj *o);
/* The first fd >= from whose slot holds a socket (SHIM_OBJ_SOCK), or -1. */
int shim_next_sock_fd(int from);
/* Exposure: every fd of o in the table gets file's open file (dup3 over it,
 * its close-on-exec flag kept), under the table lock so that no close or
 * install of one of them runs meanwhile. How many. No stack lock held. */
int shim_swap_file(struct shim_obj *o, int file);
/* Stack lock held: o, not (yet) in the table, is closed by exit like the
 * objects in it (an accepted connection before its fd is installed). */
void shim_limbo_add(struct shim_obj *o);
void shim_limbo_del(struct shim_obj *o);

void shim_lock(void);
/* Lets go of the lock, then signals the eventfds woken under it. */
void shim_unlock(void);
/* Wait lists: stack lock held. */
/* Around a blocking system call made with none of the library's locks held:
 * handlers may run inside it (sig_tramp), and those deferred until now run
 * first. 0: none ran; 1: one ran, with SA_RESTART (go on with the call);
 * -EINTR: one without. */
int shim_safe_enter(void);
void shim_safe_leave(void);
/* A blocking system call as one of those: expr once shim_safe_enter() let it
 * run (-1 with EINTR when a handler without SA_RESTART ran first). */
#define SHIM_SAFE_CALL(expr) __extension__({ \
		long safe_r_ = shim_safe_enter() < 0 ? (errno = EINTR, -1L) : (long)(expr); \
		shim_safe_leave(); \
		safe_r_; \
	})
/* Lock held. n waiters for a wait whose frame is `frame`
 * (__builtin_frame_address(0)), in memory this thread owns (shim/core.c,
 * wait frames); the level to give shim_wait_frame_pop, which unlinks them
 * (lock held), or -ENOMEM. */
int shim_wait_frame_push(const void *frame, size_t n, struct shim_waiter **out);
void shim_wait_frame_pop(int level);
void shim_wq_init(struct shim_waiter *head);
void shim_wq_add(struct shim_waiter *head, struct shim_waiter *w);
void shim_wq_del(struct shim_waiter *w);
/* Wakes every waiter on head: their eventfds are signalled by this thread
 * right after it lets go of the lock (shim_wake_flush). */
void shim_wq_wake(struct shim_waiter *head);
/* Stack lock held: sig goes to an owner (F_OWNER_TID, _PID or _PGRP, as
 * F_SETOWN_EX names it) once this thread lets go of the lock. */
void shim_signal_owner(int type, pid_t pid, int sig);
/* The same for O_ASYNC's signal: code is POLL_IN/OUT/ERR/HUP; with a
 * signal set by F_SETSIG, the receiver's siginfo carries code, the band
 * and fd (Linux's send_sigio_to_task). Real-time signals queue. */
void shim_signal_io(int type, pid_t pid, int sig, int code, int fd);
/* Starts the stack if it is not running (stack lock held). 0 or -errno. */
int shim_need_stack(void);
/* No lock held: this process's stack runs (it started it). */
bool shim_stack_started(void);
/* The stack's IPv4 address (host order) since it started in this process
 * or the one it forked from; 0 before. No lock needed. */
uint32_t shim_stack_addr(void);
/* A joiner learns it from the owner's answer (shim/join.c); set once. */
void shim_stack_addr_learn(uint32_t addr);
struct stack *shim_stack(void);
/* The same under shim_lock, NULL while the stack has not started. */
struct stack *shim_stack_locked(void);
uint64_t shim_now(void);
/* The calling thread's eventfd (no lock held: it may be created now): its
 * number, with *e set for wait lists, or -errno. */
int shim_thread_efd(struct shim_efd **e);
void shim_drain_efd(int efd);
/* An eventfd of no thread's, for a wait list that outlives threads (an
 * epoll nested in another: poll.c, epoll_nest); its number, or -errno.
 * shim_efd_drop lets go of it (closed once no waker holds it). */
int shim_efd_new(struct shim_efd **e);
void shim_efd_drop(struct shim_efd *e);
/* Which process runs this code: the one that owns the stack, a fork()
 * child (own copy of the shim's memory: may forget sockets, never use the
 * stack), or a vfork()/posix_spawn child (shares the parent's memory: must
 * change nothing at all, every call goes to the kernel). */
enum shim_proc { SHIM_PROC_OWNER, SHIM_PROC_FORKED, SHIM_PROC_VFORKED };
enum shim_proc shim_proc_state(void);
/* Arms the exit guard the host registered (shim_guard_register), once. No
 * lock held. */
void shim_guard_arm_registered(void);
/* Logs once that an inherited stack socket was used in a child; -EBADF. */
int shim_child_ebadf(void);
/* fd is one of the shim's own eventfds. */
bool shim_is_internal(int fd);
/* Monotonic microseconds (the shim's own timeouts). */
uint64_t shim_clock_us(void);
/* When every installed signal handler has SA_RESTART: what decides a
 * restart when the handler that ran is not known (shim_sigaction). */
bool shim_signals_restart(void);
/*
 * Blocks the calling thread until k may be ready for events (or closed), the
 * deadline passes (0: none), or a signal. Called and returns with the stack
 * lock held (let go meanwhile). 0: re-check; -EAGAIN: timed out; -EINTR;
 * -EBADF: closed.
 */
int shim_wait_sock(struct shim_sock *k, uint64_t deadline_us, bool restart);
/* The same, also woken when the kernel fd xfd (-1: none) is readable. */
int shim_wait_sock_fd(struct shim_sock *k, uint64_t deadline_us, bool restart, int xfd);
/* Closes a listener's loopback side (lo_fd; -1: nothing), no lock held. */
void shim_lo_close(int lo);
/* No lock held: a listener's new loopback side joins the kernel's epolls
 * that hold the listener (its first eight). */
void shim_epoll_lo_added(struct shim_sock *k, int lo);
/* No lock held: the loopback side leaves them (the listener is exposed:
 * its relay takes it, shim/expose.c). */
void shim_epoll_lo_removed(struct shim_sock *k, int lo);
/* Stack lock held (let go and taken again): the kernel's epoll says k's
 * loopback side has something. A UDP socket's datagrams are queued in the
 * stack's socket; a listener is readable until accept() looks there. Its
 * wait list is woken either way, so that the stack's epoll reports it,
 * once, with its other events. */
void shim_lo_pull(struct shim_sock *k);
/* No lock held, at fork: an IPv4 UDP socket never bound, connected or used,
 * bound to a port as Linux's first sendto() would (inet_autobind), so that
 * the processes holding it share one socket (shim/expose.c, expose_dgram).
 * True when it was. Only while the stack runs: a process that has not
 * used the stack (a socket made for its ioctls) does not start it at fork;
 * the child's copy is then its placeholder, the kernel's
 * (shim_child_release), one socket for every child as on Linux. */
bool shim_dgram_autobind(struct shim_sock *k);
/* In a fork child: a socket the parent's stack never held (never bound,
 * connected or listening) leaves the shim's table, its placeholder the
 * child's kernel socket from then on (as the sockets a child makes are).
 * True when it did. */
bool shim_child_release(struct shim_sock *k);
/*
 * The same for a call that looks again at what it waits for after each
 * wait. Linux's socket waits look at their condition before they look at
 * signals (sk_wait_event, inet_wait_for_connect, tcp_recvmsg): a handler
 * that runs once the connection is up, or the data is there (a SIGURG for
 * urgent data right behind the SYN-ACK), does not make the call fail. So
 * the first EINTR comes back as 0 (look again), noted in *intr (0 at the
 * call's start); the next wait of the call answers it at once: what it
 * waited for was still not there.
 */
int shim_wait_sock_intr(struct shim_sock *k, uint64_t deadline_us, bool restart, int *intr);
/*
 * The blocking ppoll() of every wait, called without the stack lock: the same
 * result and errno, but a thread the host lets poll the device (one at a
 * time) adds the device's fd and processes the frames that wake it, so
 * the frame it waits for is not handed through the stack thread. After
 * frames, returns the readiness of fds then (0 when none: wait again).
 */
int shim_block(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask);
/*
 * A poll, select or epoll_wait that is about to wait (shim_sig_wait_enter,
 * its answer to shim_sig_wait_leave): from then a handler that runs on this
 * thread, wherever (on the way into the ppoll, between two, while the
 * thread processes frames), wakes the wait as one inside the ppoll would,
 * and shim_sig_wait_ran says whether one ran for a signal that mask (the
 * call's, NULL: none) does not block: the wait then ends with EINTR, as the
 * kernel's ends when a signal comes while the thread is in the call.
 */
bool shim_sig_wait_enter(void);
bool shim_sig_wait_ran(const sigset_t *mask);
void shim_sig_wait_leave(bool was);
/*
 * Linux's poll and epoll_wait look at the fds again when a signal wakes
 * them, and return what is ready rather than EINTR: O_ASYNC's signal, sent
 * after the wake-up of the data it announces, never makes the wait for that
 * data fail. Here the handler may run before the woken thread looks again
 * (on its way into the ppoll). With its waiters queued (under the lock), a
 * wait arms (shim_sig_wake_arm) and the first handler that runs notes
 * whether a wake-up reached the thread's eventfd before it;
 * shim_sig_woken_first then says the wait is to look again, and answer
 * EINTR only if nothing is ready. A handler that makes an fd ready itself
 * comes before that readiness, and the wait still answers EINTR as Linux's
 * (whose handler runs after it).
 */
void shim_sig_wake_arm(void);
bool shim_sig_woken_first(void);
/* A call that answers ready: O_ASYNC's signals for what it found, queued
 * with the data and not sent yet by the thread that queued them, land
 * first (their handlers run before it returns, as on Linux). */
void shim_settle_signals(void);

/*
 * Busy-poll (PSTACK_SPIN_US). shim_spin_until: when a wait starting now
 * should stop spinning (0: no spinning; never past deadline_us, 0: none).
 * shim_spin: a drop-in for the blocking ppoll(fds, n, timeout, wait_mask) of
 * a waiting thread, called without the stack lock: until spin_until, polls the
 * device itself (the host's spin) and fds without waiting. Like ppoll: the
 * count of fds with revents, -1 with errno EINTR when a signal came, or 0
 * when spin_until passed (or is 0): then make the blocking call.
 */
uint64_t shim_spin_until(uint64_t deadline_us);
int shim_spin(struct pollfd *fds, nfds_t n, uint64_t spin_until, const sigset_t *wait_mask);

/* ---- expose.c ---- */
/* No lock held: k gets a live kernel fd, when it can be served by a relay. */
void shim_expose_sock(struct shim_sock *k);
/* No lock held: a UDP socket just connected to a stack address gets its
 * live fd, the relay armed (exposed by the program's first raw write). */
void shim_arm(struct shim_sock *k);
/* What an exposed socket made elsewhere is (shim_adopt). */
struct shim_exposed_note {
	int family, type;
	bool listening;
	bool framed;                    /* an unconnected UDP socket's framed fd */
	bool connecting;                /* a joiner's connect under way: peer is where to */
	int err;                        /* a joiner's connect that failed: SO_ERROR's (-errno); 0 none */
	struct ip4_endpoint local, peer;
	int rcvbuf, sndbuf;
	const struct sock_opts *opts;   /* NULL: the defaults */
	struct relay_share *share;      /* the connection's options, shared (relay.h); NULL: none */
};
/* No lock held: fd, a live kernel fd of a socket made elsewhere (before
 * exec, or handed over a listener's channel), gets an exposed entry with a
 * new placeholder. 0 or -errno (-EEXIST: the slot was taken). */
int shim_adopt(int fd, const struct shim_exposed_note *n);
/* No lock held: accept() on an exposed listener whose channel ended (the
 * stack that served it is gone). What Linux shows for a listener that is
 * still open and gets no connection: -EAGAIN when nonblock, -EAGAIN after
 * SO_RCVTIMEO (rcvtimeo_us, 0: none), else a wait only a signal ends. */
int shim_accept_orphan(int fd, bool nonblock, uint64_t rcvtimeo_us);
static inline bool shim_exposed(struct shim_sock *k)
{
	return atomic_load_explicit(&k->exposed, memory_order_acquire);
}
/* The fd the kernel's option calls go to: the placeholder (fd itself, or
 * the hidden one once exposed). */
static inline int shim_opt_fd(struct shim_sock *k, int fd)
{
	int kfd = atomic_load_explicit(&k->kfd, memory_order_acquire);

	return kfd >= 0 ? kfd : fd;
}

/* ---- join.c ---- */
/* No lock held, at socket(): 1 when this process joined another's stack
 * (PSTACK_STACK: its TCP and AF_INET UDP sockets are the owner's to serve), 0 when not (no name, this process owns the stack, or nobody
 * does yet), or -errno for socket() to return (a bad name: -ENETDOWN; the
 * name is another user's: -EACCES, after one line). */
int shim_join_check(void);
/* No lock held: listen() and connect() on a joiner's socket k (fd one of
 * its fds; ep: the stack's address sa_in gave). As the calls answer. */
int shim_join_listen(struct shim_sock *k, int fd, int backlog);
int shim_join_connect(struct shim_sock *k, int fd, const struct ip4_endpoint *ep);
/* No lock held: a joiner's UDP socket k (AF_INET, not yet served) made in
 * the owner's stack, bound to *ep (NULL: a port the stack picks), and
 * framed from then on (sock.c, framed()). 0, or -errno for bind(). */
int shim_join_dgram(struct shim_sock *k, const struct ip4_endpoint *ep);
/* No lock: the groups k joined before shim_join_dgram made it, joined by
 * the stack's socket now (shim/sock.c). */
void shim_join_groups(struct shim_sock *k);
/* No lock held: k's connect answer, taken in when it is there. */
void shim_join_settle(struct shim_sock *k);
static inline bool shim_join_pending(struct shim_sock *k)
{
	return atomic_load_explicit(&k->join_fd, memory_order_relaxed) >= 0 ||
	       atomic_load_explicit(&k->pass_connecting, memory_order_relaxed);
}
/* k goes: its pending answer's connection is closed. */
void shim_join_forget(struct shim_sock *k);
/* In a fork child (no stack of its own): its new TCP sockets join the
 * stack its parent holds, as a program its parent runs does (join.c,
 * join_ancestor): what this process found out before the fork is asked
 * again. */
void shim_join_fork_child(void);
/* After a socket passed over SCM_RIGHTS was adopted: this process joins
 * the stack on the TAP when it is the same user's and no ancestor's. */
void shim_join_passed(void);
/* This process's TCP sockets are another process's stack's (JOINED). */
bool shim_join_joined(void);
/* The last look for an ancestor's stack (shim_join_check) found the TAP
 * held by a stack whose program lives, an ancestor's or not. */
bool shim_join_tap_taken(void);
/* In a fork child whose parent had no stack (shim_fork_child: a daemon
 * that forks before it opens any socket, redis-server's daemonize): when
 * no ancestor's stack serves it either, the child becomes a process of its
 * own that starts its stack at its first socket, as the program it was
 * forked from would have. True when it did (or is one already). Called by
 * socket() in a fork child. */
bool shim_fork_promote(void);

/* ---- sock.c ---- */
extern const struct shim_obj_ops shim_sock_ops;
/* A new socket object, in no table yet (NULL: no memory). */
struct shim_sock *shim_sock_new(int family, int type, bool nonblock);
unsigned shim_sock_poll(struct shim_sock *k);   /* stack lock held; POLL* bits */
unsigned shim_sock_poll_user(struct shim_sock *k);   /* the same, for poll/select/epoll */

/* ---- poll.c ---- */
extern const struct shim_obj_ops shim_epoll_ops;
/* Stack lock held: k's epoll registrations are dropped. */
void shim_epoll_forget_sock(struct shim_sock *k);
/* Stack lock held: k's epoll registrations are taken off the stack's lists,
 * for shim_epoll_to_kernel() to hand to the kernel once the lock is let go. */
struct shim_epitem *shim_epoll_take_sock(struct shim_sock *k);
/* No lock held: the socket (now the kernel's, as fd) is registered in the
 * kernel's epoll of each item taken, which are freed. */
void shim_epoll_to_kernel(struct shim_epitem *taken, int fd);
/* Stack lock held: its socket woke its waiters (shim_wq_wake): the item
 * goes on its epoll's ready list and the threads in its epoll_wait are
 * woken (Linux's ep_poll_callback). */
void shim_epoll_item_wake(struct shim_epitem *it);

/* ---- iface.c ---- */
/* The interface ioctls iface.c serves on a stack socket. */
bool shim_iface_ioctl_req(unsigned long req);
/* One of them on stack socket fd (no lock held): the kernel's answer with the
 * stack's interface in place of the TAP's kernel side; SHIM_PASS when the
 * host gives no interface. */
int shim_iface_ioctl(int fd, unsigned long req, void *arg);
/* A NETLINK_ROUTE socket, the kernel's, in the table (SHIM_OBJ_NETLINK) so
 * that its answers can be rewritten; SHIM_PASS when there is nothing to do. */
int shim_netlink_socket(int domain, int type, int protocol);
/* recvmsg/recvfrom on fd when it is such a socket (else SHIM_PASS): the
 * kernel's answer with the TAP's addresses, MAC and MTU the stack's. */
ssize_t shim_netlink_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t shim_netlink_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen);

/* ---- tcpinfo.c ---- */
/* At least sizeof(Linux's struct tcp_info), which glibc's headers do not
 * have (tcpinfo.c checks): what a caller's out buffer may need. */
#define SHIM_TCP_INFO_MAX 512
socklen_t shim_fill_tcp_info(void *out, socklen_t len, const struct tcp_conn_info *ci);

#endif
