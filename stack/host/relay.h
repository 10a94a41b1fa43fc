/*
 * The relay: the live kernel side of an exposed socket (issue 15).
 *
 * A stack socket that the program can reach outside the interposed calls
 * (stdio on it, a child exec'd with it, a raw system call) is exposed by the
 * shim (shim/expose.c): its fd becomes one end of a Unix socket pair (stream
 * for TCP, seqpacket for UDP, so that message boundaries and the peer's
 * last close are seen), and the relay gets the other end and the stack's
 * connection. From then on the relay alone moves the socket's data between
 * the two, so every path into the fd (the interposed calls, which pass
 * through to the kernel fd, stdio, raw system calls, other processes) meets
 * one byte stream, in order.
 *
 * The relays run in the stack thread (runner.c): it waits for their fds (an
 * epoll of its own: struct relay_set) next to the TAP. As everywhere (stack/CONCURRENCY.md), nothing is read or written
 * under the stack lock: relay_collect() moves bytes between the connections
 * and the relays' buffers under the lock, relay_io() moves them between the
 * buffers and the fds without it. A program thread that made a relay's
 * connection readable (it read the frames in its wait: runner.c's driver)
 * moves the bytes into the fd itself (relay_pump_begin and _end), so that
 * the program's next read finds them without a hand-off to the stack thread
 * and back; only while no other process can hold a relay's program end
 * (relay_solo_end). Each relay is claimed (an atomic flag) by the thread
 * that moves its bytes, the stack thread or a pump; the other leaves it. Buffers are bounded in both directions: a
 * full fd stops the relay reading the connection (its receive window closes,
 * as a kernel socket's would), a connection whose send buffer is full stops
 * it reading the fd (the program's writes block, or say EAGAIN).
 *
 * How the kernel side shows the connection's events:
 *   - the peer's FIN: end of file on the fd once the data before it is read;
 *   - the peer's reset or a timeout: end of file for reads, EPIPE (SIGPIPE)
 *     for writes (a Unix socket cannot carry ECONNRESET);
 *   - the program's shutdown(SHUT_WR) on the fd: a FIN after the data;
 *   - the last reference to the program's end closed (in every process that
 *     had it): the connection is closed like a kernel socket's last close,
 *     a FIN after the data, or a reset when data the program never read was
 *     left (in the pair, in the relay or in the connection).
 *
 * A listener (issue 14: fork children accept on it) is relayed too: its fds
 * become one end of a SOCK_SEQPACKET pair, the channel. The relay takes each
 * connection off the listener's accept queue, gives it a relay of its own
 * (a new stream pair) and sends the program's end of that pair over the
 * channel (SCM_RIGHTS) with a struct relay_accept_note; accept() in any
 * process that holds the listener's fd receives it (shim/sock.c), and the
 * channel's readability is the listener's. Backpressure: while the channel
 * is full (a few messages: the relay's end has the smallest send buffer), no
 * connection is taken off the accept queue, so the listener's backlog
 * applies as on the kernel. When
 * every holder has closed its fd (the relay's end sees POLLHUP), the
 * listener is closed; connections still in the channel then see their
 * relay's end of file, and are closed as a kernel socket's last close.
 */
#ifndef PSTACK_HOST_RELAY_H
#define PSTACK_HOST_RELAY_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/tcp/tcp.h"

struct udp_sock;
struct relay;

/*
 * What a fork child, which has no stack, learns of a connection exposed
 * while it was still being made (a non-blocking connect() in SYN_SENT at
 * fork): memory shared with the children (MAP_SHARED, made before the
 * fork; relay_share_new), the relay's from relay_open on.
 *
 * Until the handshake ends, the program's end of the pair must not be
 * writable, as a connecting kernel socket is not: it is made full first
 * (filler: bytes written into it before it became the program's fd, so
 * the kernel holds its writes), and the relay reads them away when the
 * connection is made or has failed. Then the fd polls writable, in every
 * process, the kernel's way.
 */
#define RELAY_OPTS (TCP_OPT_QUICKACK + 1)
#define RELAY_OPT_NONE INT32_MIN

/* The options of a framed UDP socket (RELAY_DGRAM_REQ's RELAY_REQ_OPT,
 * relay_share's dgram_opt). */
enum relay_dgram_opt {
	RELAY_UDP_BROADCAST,            /* SO_BROADCAST */
	RELAY_UDP_REUSEADDR,            /* SO_REUSEADDR */
	RELAY_UDP_REUSEPORT,            /* SO_REUSEPORT */
	RELAY_UDP_DONTROUTE,            /* SO_DONTROUTE */
	RELAY_UDP_RCVBUF,               /* SO_RCVBUF: the size before Linux's doubling */
	RELAY_UDP_TOS,                  /* IP_TOS */
	RELAY_UDP_TTL,                  /* IP_TTL: 0 the default */
	RELAY_UDP_PMTUDISC,             /* IP_MTU_DISCOVER */
	RELAY_UDP_MC_TTL,               /* IP_MULTICAST_TTL */
	RELAY_UDP_MC_LOOP,              /* IP_MULTICAST_LOOP */
	RELAY_UDP_MC_ALL,               /* IP_MULTICAST_ALL */
	RELAY_UDP_GSO,                  /* UDP_SEGMENT */
	RELAY_UDP_CORK,                 /* UDP_CORK: turned off, what waits is sent */
	RELAY_UDP_NOPTS
};

struct relay_share {
	size_t filler;          /* set before relay_open, read-only after */
	_Atomic int conn;       /* 0 connecting, 1 connected, -errno failed */
	_Atomic int err;        /* the error SO_ERROR takes (-errno), once; 0 none */
	/*
	 * Socket options a process without the connection (a fork child, or
	 * any process for a connection handed over a listener's channel) sets
	 * on it: it writes want[opt] (enum tcp_option, RELAY_OPT_NONE: none),
	 * bumps req and wakes the relays (relay_share_sync); the relay applies
	 * them (tcp_setopt), reads back the buffer sizes, and sets done to the
	 * req it saw (a futex the asker waits on).
	 */
	_Atomic int want[RELAY_OPTS];
	_Atomic unsigned req, done;
	_Atomic int waiters;            /* askers in relay_share_sync: done's futex is woken for them only */
	/* Options whose value lets data go (TCP_CORK off, TCP_NODELAY on),
	 * asked and replaced by one that holds before the relay took it
	 * (relay_share_want), one bit per option: the relay applies that
	 * value before whatever was asked after it, so that what was written
	 * before it is pushed, as Linux's uncork. */
	_Atomic unsigned push;
	_Atomic int sndbuf, rcvbuf;     /* the connection's, as last applied */
	/* A framed UDP socket's association (connect() in any process that
	 * holds it; the relay keeps the stack's socket unconnected): the peer
	 * as addr << 16 | port (host order; 0: none), and the source address
	 * Linux's connect would have chosen (0: none). */
	_Atomic uint64_t dgram_peer;
	_Atomic uint32_t dgram_src;
	/* A framed UDP socket's receive control messages asked for
	 * (IP_PKTINFO, IP_RECVTTL, SO_TIMESTAMP...: the shim's SHIM_CM_*
	 * bits, opaque here), socket flags on Linux that every holder's
	 * recvmsg honours, whoever set them. */
	_Atomic unsigned dgram_cmsgs;
	/* A framed UDP socket's options (enum relay_dgram_opt) as the last
	 * holder that set one left them (a bit in dgram_opt_set for each
	 * set since the socket was framed): getsockopt in another holder
	 * answers the socket's value (shim/sock.c, dgram_opt_sync). */
	_Atomic int dgram_opt[RELAY_UDP_NOPTS];
	_Atomic uint32_t dgram_opt_set;
	/* TCP_INFO for a process without the connection (relay_share_info):
	 * it sets info_want and asks as for an option; the relay writes info
	 * between two steps of info_seq (odd while it writes). */
	_Atomic int info_want;
	_Atomic unsigned info_seq;
	struct tcp_conn_info info;
};

/*
 * The relay_shares live in one region mapped shared when the first is made
 * (before the first fork that exposes anything), so that every process
 * forked from then on, the keeper included, sees each of them at the same
 * address: also those made later for connections a listener's relay hands
 * over (by their index, struct relay_accept_note). With the region comes
 * an eventfd every such process inherits: relay_share_sync wakes the
 * serving thread through it.
 */
/* No lock: makes the region (once); false when it cannot be. */
bool relay_share_init(void);
/* No lock: a fresh relay_share (want[] empty), NULL when none is left, and
 * its end (only when no relay took it). */
struct relay_share *relay_share_new(void);
void relay_share_free(struct relay_share *sh);
/* No lock: the region's mark, random, made with it (0: no region), the
 * same in every process that maps it: a share's index that travels with a
 * socket (shim/expose.c, a name passed over SCM_RIGHTS) is this region's
 * only when it comes with this mark. */
uint64_t relay_share_tag(void);
/* Index (1 on) of a share for another process of the region; 0 for NULL. */
int32_t relay_share_index(const struct relay_share *sh);
struct relay_share *relay_share_at(int32_t index);
/* No lock, any process: asks for opt = value on the connection. */
void relay_share_want(struct relay_share *sh, int opt, int value);
/* No lock, any process: wakes the serving thread and waits (bounded) until
 * what was asked is applied. */
void relay_share_sync(struct relay_share *sh);
/* No lock, any process: the connection's TCP_INFO as the serving thread
 * reads it now, into *ci; false when it did not answer in time (gone). */
bool relay_share_info(struct relay_share *sh, struct tcp_conn_info *ci);
/*
 * No lock, any process: TCP_CORK and TCP_NODELAY (relay_share_want'ed), not
 * waited for. A server toggles them around every response (nginx's
 * tcp_nopush), and a wait is a round trip to the serving thread each time.
 * What they change is when segments leave, never the bytes: a value that
 * holds data back (cork on, Nagle on) is applied before the relay sends any
 * byte the program writes after it (share_apply runs before the relay's
 * bytes go to the connection), without a wake-up; one that lets data go
 * wakes the serving thread, which pushes what waits once the bytes written
 * before it are in the connection (share_when: it reads the pair empty
 * first, holding them meanwhile when the release is a cork's). What
 * differs from a kernel socket: getsockopt of the asker answers the value
 * at once; bytes the relay already sent before it saw a cork are not held
 * back; bytes written after a release and read with those before it go
 * with them.
 */
void relay_share_nudge(struct relay_share *sh, int opt, int value);

/* The relay's owner (the shim's socket), told under the stack lock unless
 * said otherwise. */
struct relay_cb {
	/* The relay has closed the connection: the owner must not use it. */
	void (*gone)(void *ctx);
	/* An armed relay saw the program write through the fd (a raw system
	 * call): from now on the fd owns the socket's data. What it returns is
	 * handed to after(), called by the same thread without the lock. */
	void *(*exposed)(void *ctx);
	void (*after)(void *taken);
	/* At relay_open: the connection's shared state for fork children
	 * (relay_share; NULL: none), the relay's from then on. */
	struct relay_share *(*share)(void *ctx);
};

struct relay_set {
	/* Under the stack lock: opened, not yet taken by the serving thread. */
	struct relay *incoming;
	/* The serving thread's: changed only by it, under the lock; walked by it
	 * without the lock too (relay_io). */
	struct relay *active;
	unsigned nactive;
	/* The serving thread's: finished, their fds to close without the lock. */
	struct relay *dead;
	/*
	 * The relays' fds wait in an epoll of the serving thread's (ep, made at
	 * its first relay_io; -1 before), so that a round costs what the relays
	 * that had something to do cost, not one poll entry and one look per
	 * relay: relay_collect looks at the relays that were woken (woke_list:
	 * their connection had an event, under the lock), that the last io
	 * served (visit: the serving thread's) and the new ones, and sets what
	 * each wants of its fd; relay_io registers that, takes what the epoll
	 * reports, and serves those relays and the ones collect left work to
	 * (io). Everything is looked at when the process stops, when another
	 * process asked for options (only the shares are read) and when a pump
	 * let go of relays (look_all).
	 */
	int ep;
	struct relay *woke_list;
	struct relay *visit, *io;
	bool share_look;            /* the serving thread's: the share eventfd was read */
	bool ep_changed;            /* the serving thread's: a registration was changed */
	atomic_bool look_all;       /* any thread: look at every relay next round */
	/* The serving thread's: the entries of the epoll and of the share
	 * region's eventfd in the last relay_collect's pfd, or -1. */
	int ep_pidx, kick_pidx;
	/* Under the lock: the process is exiting (relay_set_stop). */
	bool stopping;
	/* Lock held, from whatever thread saw a connection's event: the serving
	 * thread must look at the relays again (the runner kicks its thread
	 * when another thread calls it). */
	void (*kick)(void *ctx);
	/* Lock held: a relay's connection had an event (data, room, its end):
	 * the thread that saw it may pump the relay (relay_pump_begin) on its
	 * way out of the lock, else it kicks. NULL: kick. */
	void (*woke)(void *ctx);
	void *kick_ctx;
	/* A pump held a relay the serving thread wanted: the pump kicks it
	 * when it lets go (relay_pump_end). */
	atomic_int missed;
	bool skipped;               /* the serving thread's: it left a relay this round */
	unsigned nlo;               /* under the lock: listeners' loopback sides not dead yet */
	uint64_t pumped;            /* under the lock: relays pumped by program threads (logged) */
};

/* The relays one pump holds. */
#define RELAY_PUMP_MAX 8
struct relay_pump {
	struct relay *rl[RELAY_PUMP_MAX];
	int ev[RELAY_PUMP_MAX];     /* each one's wait as the stack thread last set it */
	unsigned n;
	bool look;                  /* the stack thread must look again (kick it) */
};

/*
 * An unconnected UDP socket's relay (a fork child's copy of a bound UDP
 * socket: issue 14) frames each datagram: this header, then the bytes.
 * From the relay, addr:port is the sender; to it, the destination. The
 * shim's interposed calls in every process add and strip it
 * (shim/sock.c, framed_recv and framed_send); a program that reads the fd
 * by raw system call sees it.
 */
struct relay_dgram_hdr {
	uint32_t addr;          /* host order */
	uint16_t port;
	uint16_t flags;         /* RELAY_DGRAM_META: the fields below are the datagram's */
	/* From the relay: what recvmsg's IP_PKTINFO, IP_TTL, IP_TOS and
	 * IP_ORIGDSTADDR tell (dnsmasq's wildcard socket answers no query
	 * without IP_PKTINFO); 0 to it. */
	uint32_t dst;           /* host order: the datagram's destination */
	uint8_t ttl, tos;
	uint8_t looped;         /* came over the loopback (ifindex 1) */
	uint8_t pad;
};
#define RELAY_DGRAM_META 1
/* To the relay: the datagram was sent with MSG_MORE (the stack's socket
 * holds it for what comes next, as Linux's corked one: udp_tx_opts.more). */
#define RELAY_DGRAM_MORE 4
/*
 * A request, not a datagram (flags RELAY_DGRAM_REQ, addr and port 0, a
 * struct relay_dgram_req after the header): a socket option set by a
 * process that holds the socket without its stack object (a fork child's
 * copy, a joiner's or a fork child's own: shim/sock.c, framed_req). A
 * membership, a source filter and the IP and SOL_SOCKET options belong to
 * the socket on Linux, in every process that holds it: the relay applies
 * them to the stack's socket, in order with the datagrams written before
 * and after. With it comes (SCM_RIGHTS) the write end of a pipe, on which
 * the relay writes the result (an int32_t: 0 or -errno) and which it then
 * closes; a request without one is dropped.
 */
#define RELAY_DGRAM_REQ 2

enum relay_dgram_op {
	RELAY_REQ_JOIN = 1,             /* group (udp_join) */
	RELAY_REQ_LEAVE,                /* group (udp_leave) */
	RELAY_REQ_SOURCE,               /* group, src[0], include, add (udp_source_filter) */
	RELAY_REQ_MSFILTER,             /* group, include, n sources in src (udp_set_msfilter) */
	RELAY_REQ_OPT,                  /* opt (enum relay_dgram_opt) = value */
	/* group's source filter read (udp_get_msfilter): the result is the
	 * number of sources (or -errno), and after it on the pipe comes a
	 * struct relay_dgram_req with include, n and the first n sources. */
	RELAY_REQ_GET_MSFILTER,
};

#define RELAY_REQ_SRC_MAX 10            /* UDP_MAX_MSF */
struct relay_dgram_req {
	uint32_t op;                    /* enum relay_dgram_op */
	uint32_t group;                 /* host order */
	int32_t opt, value;
	uint8_t include, add;
	uint16_t n;                     /* sources in src */
	uint32_t src[RELAY_REQ_SRC_MAX];        /* host order */
};

/* What a listener's relay sends with each connection's fd (host order). */
struct relay_accept_note {
	uint32_t laddr, paddr;
	uint16_t lport, pport;
	int32_t rcvbuf, sndbuf;
	int32_t share;          /* relay_share_index of the connection's, 0: none */
	uint32_t flags;         /* RELAY_NOTE_* */
};
/* The fd is a kernel socket, accepted on the listener's loopback side
 * (relay_listener_lo): the program's as it is, the rest of the note 0. */
#define RELAY_NOTE_KERNEL 1u

void relay_set_init(struct relay_set *set, void (*kick)(void *ctx), void (*woke)(void *ctx), void *ctx);
/*
 * Lock held: a relay between fd (non-blocking; the relay owns it from now
 * on) and tcp or udp (one of them; the relay owns it from now on and closes
 * it when the program's end is gone). cb->gone(ctx) when it has closed the
 * connection, unless relay_forget came first. NULL when out of memory
 * (nothing taken).
 *
 * A listening tcp makes a listener's relay: fd is its end of the channel
 * (SOCK_SEQPACKET), and cb->gone is told when the listener is closed.
 *
 * Armed (UDP): the owner still serves the socket's data through the
 * interposed calls; the relay only watches the fd, and the first datagram
 * the program writes into it through the kernel (a raw sendmmsg) exposes
 * the socket: the relay sends it, tells cb->exposed, and serves the socket
 * from then on. relay_expose does the same on the owner's word.
 */
struct relay *relay_open(struct relay_set *set, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			 const struct relay_cb *cb, void *ctx);
/*
 * A framed UDP relay takes its socket's loopback side the same way (a
 * kernel UDP socket of family on 127.0.0.1 and the port): what localhost
 * sends there reaches the program framed with its source, and what the
 * program sends to 127.0.0.0/8 leaves from there.
 *
 * Lock held: a listener's relay takes lo (a non-blocking kernel listener on
 * loopback and the listener's port: the loopback side shim/sock.c made,
 * lo_listen) and owns it from now on: each connection it accepts there is
 * handed over the channel as the stack's are, as a kernel socket
 * (RELAY_NOTE_KERNEL), and lo is closed with the listener. So a listener
 * shared with fork children or exec'd images still hears localhost.
 */
void relay_listener_lo(struct relay *rl, int lo, int family);
/* Lock held: an armed relay serves its socket from now on (no callback). */
void relay_expose(struct relay *rl);
/* Lock held: the owner of rl goes away; no callback is made any more. */
void relay_forget(struct relay *rl);
/* Lock held: how many relays there are, and how many fds the next
 * relay_collect() may fill in at most (the epoll's and the share region's
 * eventfd's: 2). */
unsigned relay_count(const struct relay_set *set);
unsigned relay_pollfds(const struct relay_set *set);
/*
 * Lock held, by the serving thread: moves what can be moved between the
 * connections and the relays' buffers (of the relays that may have
 * something to do: struct relay_set), closes the connections that are
 * done, and fills pfd with the fds to wait on (the count returned, at most
 * relay_pollfds()). *busy is set when a relay has work that needs no wait,
 * or its fd's registration is to change (relay_io does it).
 */
unsigned relay_collect(struct relay_set *set, struct pollfd *pfd, bool *busy, uint64_t now);
/* No lock, by the serving thread, after its wait: reads and writes the fds
 * as pfd (relay_collect's, with revents) allows; closes the finished ones. */
void relay_io(struct relay_set *set, const struct pollfd *pfd, unsigned n);
/* Lock held: the process is exiting. Each relay takes what the program
 * wrote (up to now) into its connection, then closes it; the connections
 * finish as runner_stop lets them. */
void relay_set_stop(struct relay_set *set);
/* Lock held: relays are still open (runner_stop waits for them, bounded). */
bool relay_set_busy(const struct relay_set *set);
/* Lock held, the serving thread stopped or the caller: whether a relay's
 * program end is still open somewhere (its fd shows no hang-up). The
 * owner's exit asks after letting go of its own copies: when nobody else
 * holds them, no keeper is needed (stack/host/keeper.h). A system call per
 * relay (a poll that does not wait). */
bool relay_set_held(const struct relay_set *set);
/* Lock held, or by the serving thread: the relays' fds (up to max of them
 * into fds), and how many there are. A keeper process that carries the
 * stack on keeps these open and closes the rest of what it inherited. */
unsigned relay_set_fds(const struct relay_set *set, int *fds, unsigned max);
/* The serving thread is gone, the stack about to be freed: closes every fd
 * and frees every relay (their connections go with the stack). */
void relay_set_destroy(struct relay_set *set);
/*
 * Lock held, by a program thread after the connections' events it caused
 * (set->woke): claims the woken relays that only have bytes to move (up to
 * RELAY_PUMP_MAX in p, which the caller started empty: n 0, look false),
 * and moves what their connections hold into their buffers (the frames
 * that makes are the caller's to write). p->look: the stack thread must
 * look (a relay it could not take, or more to do).
 */
void relay_pump_begin(struct relay_set *set, struct relay_pump *p, uint64_t now);
/* No lock: writes what relay_pump_begin took into the fds and lets the
 * relays go. True when the stack thread must look again (kick it). */
bool relay_pump_end(struct relay_set *set, struct relay_pump *p);
/*
 * The other way (a push): a program thread that has just written into a
 * relay's fd through an interposed call. Lock held: claims rl when it only
 * has bytes to move (true); then, without the lock, relay_push_read reads
 * what the program wrote into the relay's buffer, and with the lock again
 * relay_pump_add puts rl into a pump, which sends them (relay_pump_end lets
 * go of it), or relay_push_drop lets go of it as it is (the stack thread
 * sends them).
 */
bool relay_push_claim(struct relay_set *set, struct relay *rl);
void relay_push_read(struct relay *rl);
void relay_pump_add(struct relay_set *set, struct relay_pump *p, struct relay *rl, uint64_t now);
void relay_push_drop(struct relay_set *set, struct relay *rl);
/*
 * Lock held, a program thread of the process that serves rl (a TCP
 * connection's relay): its read of the fd found the end of file, which the
 * program's shutdown(SHUT_RD) of its end makes (the relay's own end of
 * stream is rx_shut: nothing follows it). Linux's tcp_recvmsg after
 * SHUT_RD still returns what is queued, also what arrives after it
 * (tcp_data_queue does not look at RCV_SHUTDOWN), and 0 only when nothing
 * is. Those bytes never reach the fd (the relay keeps them: io_rx's
 * EPIPE), so they are taken here: what the relay's buffer holds first,
 * then the connection's, up to len into buf (flags: SOCK_PEEK leaves them,
 * SOCK_DISCARD copies nothing). The count; 0 when there is none, or the
 * stream ended (a reset too: an exposed socket reads it as the end);
 * -EAGAIN while another thread holds the relay (the stack thread moving
 * its bytes, a pump): ask again after letting the lock go.
 */
long relay_recv_kept(struct relay *rl, void *buf, size_t len, unsigned flags, uint64_t now);
/* Lock held, as relay_recv_kept, for FIONREAD on a fd whose program end
 * is shut for reading: how many bytes relay_recv_kept would give now (the
 * relay's buffer and the connection's); -EAGAIN as there. */
long relay_inq_kept(struct relay *rl);
/* Any thread, no lock: the program makes another process, which may hold
 * relays' program ends (fork, exec, spawn): no more pumps, for good; the
 * pumps under way finish first (waited for 10 ms at most). */
void relay_solo_end(void);
/* Whether pumps may run (no relay_solo_end yet). */
bool relay_solo_now(void);
/* Whether a pump is under way (a fork and a keeper wait for none). */
bool relay_pumping(void);
/* Lock held, the program's threads gone (a keeper, an orphan): their
 * claims with them. */
void relay_set_unclaim(struct relay_set *set);
/* fork(): prepare and parent around it (after the stack lock is taken);
 * in the child, with set the parent's (or NULL), closes the child's copies
 * of the relays' fds (the relays are the parent's). */
void relay_fork_prepare(void);
void relay_fork_parent(void);
void relay_fork_child(struct relay_set *set);

#endif
