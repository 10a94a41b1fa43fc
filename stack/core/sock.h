/*
 * What the stack's sockets (UDP and TCP) share with the layer above.
 */
#ifndef PSTACK_SOCK_H
#define PSTACK_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host-order IPv4 address and port. */
struct ip4_endpoint {
	uint32_t addr;
	uint16_t port;
};

/*
 * Called by the stack, with the stack lock held, whenever a socket's readiness
 * may have changed (data or a connection arrived, buffer space freed, an error
 * or end of stream). The callee must not call back into the stack, nor make a
 * system call; the shim queues wake-ups for its waiters, who then re-check
 * the socket under the lock (stack/CONCURRENCY.md).
 */
struct sock_wakeup {
	void (*fn)(void *ctx);
	void *ctx;
	/* Optional: a new urgent pointer came in (TCP, RFC 9293 §3.8.5): the
	 * socket's owner gets SIGURG (Linux's sk_send_sigurg). Same rules as fn. */
	void (*urgent)(void *ctx);
};

static inline void sock_wake(const struct sock_wakeup *w)
{
	if (w->fn)
		w->fn(w->ctx);
}

/*
 * The socket options the stack models, in one struct: the shim keeps one per
 * socket from socket() on (the stack object is created later, on the first
 * call that needs the stack), hands it over when it creates the object
 * (tcp_set_opts, udp_set_opts), and a TCP connection inherits its listener's
 * in one assignment, like Linux's sk_clone_lock(). Values are as setsockopt()
 * took them (after its checks: tcp_opts_set); what the engine derives from
 * them (buffer sizes, the MSS it uses) lives in the engine.
 */
struct sock_opts {
	bool reuseaddr, reuseport;      /* SO_REUSEADDR, SO_REUSEPORT */
	bool broadcast;                 /* SO_BROADCAST (UDP) */
	uint8_t mc_ttl;                 /* IP_MULTICAST_TTL (UDP): Linux's default 1 */
	bool mc_loop;                   /* IP_MULTICAST_LOOP (UDP): Linux's default on */
	bool mc_all;                    /* IP_MULTICAST_ALL (UDP): any group joined on the host, not only
					 * the socket's own; Linux's default on */
	bool keepalive;                 /* SO_KEEPALIVE */
	bool nodelay;                   /* TCP_NODELAY */
	int keepidle, keepintvl;        /* TCP_KEEPIDLE, TCP_KEEPINTVL: seconds; 0: the stack's default */
	int keepcnt;                    /* TCP_KEEPCNT; 0: the stack's default */
	int sndbuf, rcvbuf;             /* SO_SNDBUF, SO_RCVBUF before Linux's doubling; -1: never set */
	int linger;                     /* SO_LINGER: seconds, -1 off */
	uint8_t tos;                    /* IP_TOS */
	uint8_t ttl;                    /* IP_TTL: 0 the default (IP4_DEFAULT_TTL; Linux's -1) */
	uint8_t pmtudisc;               /* IP_MTU_DISCOVER: SOCK_PMTUDISC_*, Linux's IP_PMTUDISC_* numbers */
	int rcvlowat;                   /* SO_RCVLOWAT (TCP): bytes a blocking read waits for, poll's POLLIN mark; 1 */
	uint32_t rcvbuf_lowat;          /* the bytes SO_RCVLOWAT grew an unlocked receive buffer to hold
					 * (tcp_set_rcvlowat), the largest mark set; 0: none */
	uint8_t minttl;                 /* IP_MINTTL (TCP, RFC 5082 GTSM): segments with a lower TTL dropped; 0 none */
	bool dontroute;                 /* SO_DONTROUTE: no destination beyond the link (ENETUNREACH) */
	int maxseg;                     /* TCP_MAXSEG, 0: none */
	uint32_t user_timeout_ms;       /* TCP_USER_TIMEOUT, 0: none */
	uint32_t rto_max_ms;            /* TCP_RTO_MAX_MS (Linux 6.15), 1000..120000; 0: the stack's
					 * net.ipv4.tcp_rto_max_ms */
	int congestion;                 /* TCP_CONGESTION: 0 CUBIC, 1 NewReno (enum tcp_cc_algo) */
	bool oobinline;                 /* SO_OOBINLINE: urgent data stays in the stream */
	bool recverr;                   /* IP_RECVERR (UDP): ICMP errors on the error queue */
	bool rxq_ovfl;                  /* SO_RXQ_OVFL (UDP): each datagram carries the socket's drop count */
	uint16_t gso_size;              /* UDP_SEGMENT (UDP): a send cut into datagrams of this size, 0 none */
	bool cork;                      /* TCP_CORK: whole segments only until uncorked */
	uint32_t notsent_lowat;         /* TCP_NOTSENT_LOWAT: 0 none (Linux's sysctl default, no limit) */
	uint8_t defer_accept;           /* TCP_DEFER_ACCEPT, as SYN-ACK retransmissions (Linux's secs_to_retrans) */
	uint8_t syncnt;                 /* TCP_SYNCNT: SYN (and SYN-ACK) retransmissions, 0 the default */
	int linger2;                    /* TCP_LINGER2: seconds, 0 the default, -1 orphans leave FIN_WAIT_2 at once */
	uint32_t window_clamp;          /* TCP_WINDOW_CLAMP: bytes, 0 none */
	uint32_t tsflags;               /* SO_TIMESTAMPING's SOF_TIMESTAMPING_* (TCP: send timestamps) */
	bool pingpong;                  /* TCP_QUICKACK 0: a connection starts interactive (Linux's pingpong) */
	uint32_t fastopen_qlen;         /* TCP_FASTOPEN: a listener's fast open children not yet established, at most */
	bool fastopen_no_cookie;        /* TCP_FASTOPEN_NO_COOKIE: data in a SYN taken without a cookie */
	uint8_t fastopen_keys;          /* TCP_FASTOPEN_KEY: the socket's own cookie keys (0: the stack's) */
	uint8_t fastopen_key[2][16];    /* the primary, then a backup, as the option's bytes give them */
	uint32_t port_range;            /* IP_LOCAL_PORT_RANGE as Linux keeps it: high << 16 | low; 0 none */
	bool bind_no_port;              /* IP_BIND_ADDRESS_NO_PORT: bind() to port 0 takes the address only */
	int8_t txrehash;                /* SO_TXREHASH: 1 a timeout rethinks the path (Linux's sk_txrehash), 0 not,
					 * -1 as the stack's net.core.txrehash says */
	bool udp_cork;                  /* UDP_CORK (UDP): the sends make one datagram until it is off */
	uint8_t save_syn;               /* TCP_SAVE_SYN: 0, 1 a listener's children keep their SYN's IP
					 * and TCP headers, 2 the link's header too */
	int peek_off;                   /* SO_PEEK_OFF: where MSG_PEEK starts, past what was read; -1 off
					 * (Linux's sk_peek_off: peeks move it on, reads back) */
	bool inet6;                     /* not an option: the socket is AF_INET6 (dual-stack), which the
					 * lookups rank below an AF_INET one (inpcb.inet6) */
};

/* IP_MTU_DISCOVER's modes, with Linux's numbers. */
enum {
	SOCK_PMTUDISC_DONT, SOCK_PMTUDISC_WANT, SOCK_PMTUDISC_DO, SOCK_PMTUDISC_PROBE,
	SOCK_PMTUDISC_INTERFACE, SOCK_PMTUDISC_OMIT,
};

/* Linux's ip_dont_fragment (a route whose MTU is not locked): DF on what
 * is sent, with IP_PMTUDISC_DO and WANT. */
static inline bool sock_pmtu_df(uint8_t mode)
{
	return mode == SOCK_PMTUDISC_DO || mode == SOCK_PMTUDISC_WANT;
}

/* The same towards a path whose MTU is locked (ip4_pmtu_locked): DF with
 * IP_PMTUDISC_DO only. */
static inline bool sock_pmtu_df_locked(uint8_t mode, bool locked)
{
	return locked ? mode == SOCK_PMTUDISC_DO : sock_pmtu_df(mode);
}

/* A new socket's options: Linux's defaults (the keep-alive timers the
 * stack's configuration's, as Linux's come from its sysctls while the
 * socket sets none), CUBIC, multicast TTL 1 with loopback. */
static inline struct sock_opts sock_opts_default(void)
{
	return (struct sock_opts){ .sndbuf = -1, .rcvbuf = -1, .linger = -1, .mc_ttl = 1, .mc_loop = true, .mc_all = true,
				   .pmtudisc = SOCK_PMTUDISC_WANT, .rcvlowat = 1, .txrehash = -1,
				   .peek_off = -1 };
}

/* Readiness bits returned by udp_poll() and tcp_poll(); the same values as poll(2)'s. */
#define SOCK_POLLIN    0x001
#define SOCK_POLLPRI   0x002
#define SOCK_POLLOUT   0x004
#define SOCK_POLLERR   0x008
#define SOCK_POLLHUP   0x010
#define SOCK_POLLRDHUP 0x2000

/* Flags for receive calls. */
#define SOCK_PEEK 0x1
#define SOCK_OOB  0x2   /* tcp_recv: the urgent byte (MSG_OOB) */
/* TCP: the bytes are dropped (or, with SOCK_PEEK, counted), never copied:
 * Linux's MSG_TRUNC on a stream socket. The buffers' lengths count, not
 * their addresses. */
#define SOCK_DISCARD 0x4

/* One of a socket call's buffers (a struct iovec, field for field). */
struct sock_iov {
	void *base;
	size_t len;
};

/*
 * How the core copies a socket call's data between the caller's buffers and
 * its own (tcp_sendv, tcp_recvv, udp_sendto, udp_recvfrom): 0, or -EFAULT
 * when the caller's memory could not be read or written. The caller's
 * memory is the program's: the shim's copy catches the fault (shim/ucopy.c)
 * and the core, which never commits a copy before it succeeded, returns
 * the error with its state as it was. Set per stack (stack_set_copy);
 * without it, memcpy (the caller's memory is trusted).
 */
typedef int (*sock_copy_fn)(void *dst, const void *src, size_t n);

#endif
