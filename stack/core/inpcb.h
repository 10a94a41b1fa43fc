/*
 * The endpoint table TCP and UDP share (OpenBSD's in_pcb.c; "inpcb", an
 * Internet protocol control block, is its name). Each socket embeds a struct
 * inpcb: its local and remote endpoints, the reuse options bind() saw, and
 * its links in the table's hashes. The table demultiplexes in O(1) (by
 * 4-tuple, listeners and bound sockets by port) and holds the rules of
 * bind(): ephemeral ports (RFC 6056), SO_REUSEADDR, SO_REUSEPORT, wildcard
 * against specific addresses, EADDRINUSE and EADDRNOTAVAIL. Each protocol
 * has a table of its own (their port spaces are separate).
 *
 * RFCs to read first: 6056 (ephemeral ports), 1122 §4.1.3.5 and §4.2.2.13.
 */
#ifndef PSTACK_INPCB_H
#define PSTACK_INPCB_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/core/sock.h"

struct stack;

/* bind()'s options (SO_REUSEADDR, SO_REUSEPORT). */
#define INPCB_REUSEADDR 0x1
#define INPCB_REUSEPORT 0x2
#define INPCB_NONLOCAL 0x4          /* IP_FREEBIND, IP_TRANSPARENT: bind() may take an address not ours */
#define INPCB_ANYSRC 0x8            /* IP_TRANSPARENT: and send from it (Linux's FLOWI_FLAG_ANYSRC) */
/* Not bind()'s: the port is one connect() picked (Linux 6.18's SOCK_CONNECT_BIND,
 * a TIME_WAIT record's tw_connect_bind). Only such ports are shared by
 * connect()'s search (inpcb_connect_port); the caller sets it. */
#define INPCB_CONNECT_BIND 0x10
/* Not a reuse flag either: bind() named the address even though it is
 * INADDR_ANY, as an AF_INET6 socket's ::ffff:0.0.0.0 does (Linux's
 * SOCK_BINDADDR_LOCK, set for any IPv6 address but ::): a disconnect
 * keeps the source address connect() chose. */
#define INPCB_ADDR_LOCK 0x20
/* Not a reuse flag: an AF_INET6 socket's endpoint, whose IPv4-mapped
 * broadcast or multicast address stays its source (Linux's __inet6_bind
 * sets inet_saddr to it, where __inet_bind clears it to use the device's):
 * nothing routes from it (inpcb_src_error). */
#define INPCB_SRC_AS_BOUND 0x40

/* Sized for a busy server: one closing first holds a TIME_WAIT block per
 * connection of the last minute (~60k at 1k connections/s). The port tables
 * have a bucket per port, so a chain holds only that port's endpoints.
 * calloc'd with their owner: untouched buckets cost no memory. */
#define INPCB_HASH_SIZE 65536
#define INPCB_PORT_HASH 65536

/*
 * TCP: Linux's bind bucket's fast path for SO_REUSEPORT (inet_bind_bucket:
 * fastreuseport, FASTREUSEPORT_STRICT, and the address it was last set
 * for), the same in every endpoint that holds the port; a port nobody
 * holds has none. bind() and listen() of a SO_REUSEPORT socket whose
 * address matches take the port without looking at its holders
 * (inet_csk_get_port: sk_reuseport_match), and each taker sets it after
 * (inet_csk_update_fastreuse). Linux 6.18 links the address's bucket into
 * the port's before that update, so a new bucket is never "empty" there:
 * its fastreuse stays 0 (SO_REUSEADDR has no fast path: the second bind of
 * reuse_after_bind_tcp_addr_off meets the first's cleared option) and the
 * first SO_REUSEPORT socket sets the strict kind, not FASTREUSEPORT_ANY.
 */
struct inpcb_fast {
	bool reuseport;                     /* FASTREUSEPORT_STRICT for the address below */
	bool inet6;                         /* the address's socket was an AF_INET6 one */
	bool any6;                          /* and bound to :: (not ::ffff:0.0.0.0) */
	uint32_t addr;
};

struct inpcb {
	struct ip4_endpoint local, remote;  /* host order; 0 for a wildcard or no peer */
	unsigned reuse;                     /* INPCB_REUSE*, as bind() recorded them */
	struct inpcb_fast fast;             /* TCP: the port's bind bucket's (above) */
	uint32_t port_range;                /* IP_LOCAL_PORT_RANGE: high << 16 | low, 0 none (the owner sets it) */
	bool listening;                     /* a TCP listener */
	/* An AF_INET6 socket (dual-stack; sock_opts.inet6): where an AF_INET
	 * one matches a segment as well, the AF_INET one takes it (Linux's
	 * compute_score, 2 for PF_INET and 1 for PF_INET6, in the UDP and the
	 * listener lookups alike). */
	bool inet6;
	bool connected;                     /* has a peer (TCP: SYN_SENT to TIME_WAIT; UDP: connect()) */
	struct inpcb *hnext;                /* 4-tuple hash chain */
	struct inpcb *bnext;                /* bound-port chain */
	struct inpcb **bpprev;              /* what points at it there (O(1) removal) */
	struct inpcb *lnext;                /* listener chain */
	bool in_hash, in_bind, in_lhash;
};

struct inpcb_table {
	struct stack *s;
	uint8_t proto;                      /* IP_PROTO_TCP or IP_PROTO_UDP: its bind() rules */
	uint32_t key;                       /* keys the 4-tuple hash (from the stack's secret) */
	uint32_t port_hint;                 /* RFC 6056 Algorithm 3's counter (connect) */
	/* Called before the endpoints bound to a port are looked at for bind()
	 * or connect()'s rules (NULL: none): endpoints kept out of the table
	 * (TCP's TIME_WAIT records taken over lazily, tcp_tw.c) join it first. */
	void (*port_touch)(struct stack *s, uint16_t port);
	/* For connect()'s port search (NULL: never): may a new connection
	 * take over p's 4-tuple (TCP's TIME_WAIT reuse)? */
	bool (*tw_reusable)(struct stack *s, const struct inpcb *p);
	struct inpcb *hash[INPCB_HASH_SIZE];
	struct inpcb *bhash[INPCB_PORT_HASH];
	struct inpcb *lhash[INPCB_PORT_HASH];
};

/* t lies in zeroed memory (calloc). TCP's table draws its port hint from
 * stack_random(). */
void inpcb_table_init(struct inpcb_table *t, struct stack *s, uint8_t proto);

/* ---- demultiplexing ---- */
struct inpcb *inpcb_lookup(const struct inpcb_table *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
			   uint16_t rport);
/* The listener for a segment to laddr:lport from raddr:rport: one bound to
 * laddr, else a wildcard one; an AF_INET one before an AF_INET6 one
 * (inpcb.inet6); in a SO_REUSEPORT group, the one a hash of the four picks. */
struct inpcb *inpcb_lookup_listener(const struct inpcb_table *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
				    uint16_t rport);
/* The endpoints bound to port: the first, then each one's next (NULL at the end). */
struct inpcb *inpcb_first_bound(const struct inpcb_table *t, uint16_t port);
struct inpcb *inpcb_next_bound(const struct inpcb *p);

/* ---- membership ---- */
void inpcb_hash_insert(struct inpcb_table *t, struct inpcb *p);
void inpcb_hash_remove(struct inpcb_table *t, struct inpcb *p);
/* Holds p->local.port (bind, or a connection's own port). */
void inpcb_bind_insert(struct inpcb_table *t, struct inpcb *p);
void inpcb_bind_remove(struct inpcb *p);
void inpcb_listen_insert(struct inpcb_table *t, struct inpcb *p);
void inpcb_listen_remove(struct inpcb_table *t, struct inpcb *p);

/* ---- the rules ---- */
/*
 * The ports p picks from (Linux's inet_sk_get_local_port_range): the
 * namespace's ip_local_port_range (stack_config), each end narrowed by p's
 * IP_LOCAL_PORT_RANGE when that bound lies within it (a bound outside, or
 * 0, leaves the namespace's). True when p has a range of its own set.
 */
bool inpcb_port_range(const struct inpcb_table *t, const struct inpcb *p, uint16_t *lo, uint16_t *hi);
/*
 * bind(): local->addr must be 0, the interface's, a broadcast or a
 * multicast address, else -EADDRNOTAVAIL. Port 0 picks an ephemeral port (RFC 6056
 * §3.3.1, Algorithm 1) in inpcb_port_range's bounds, -EADDRINUSE when none is free; a given port is
 * -EADDRINUSE when another endpoint holds it for an overlapping address and
 * the two did not both set SO_REUSEPORT, or both SO_REUSEADDR (not for a TCP
 * listener's port). On success p holds local and is in the bound-port table.
 */
/* p is bound to an address that is not ours (IP_FREEBIND): nothing goes
 * out from it but with IP_TRANSPARENT (Linux's route lookup without
 * FLOWI_FLAG_ANYSRC: ENETUNREACH). */
bool inpcb_src_refused(const struct inpcb_table *t, const struct inpcb *p);
/* What the route lookup from p's source answers: 0, -ENETUNREACH
 * (inpcb_src_refused, or an INPCB_SRC_AS_BOUND endpoint on a subnet
 * broadcast address: no device has it, __ip_dev_find) or -EINVAL (an
 * INPCB_SRC_AS_BOUND one on a multicast or the limited broadcast address:
 * ip_route_output_key_hash_rcu refuses such a source). */
int inpcb_src_error(const struct inpcb_table *t, const struct inpcb *p);
int inpcb_bind(struct inpcb_table *t, struct inpcb *p, const struct ip4_endpoint *local, unsigned reuse);
/* bind()'s judgement of addr alone (inpcb_bind's first step): 0 or
 * -EADDRNOTAVAIL, whatever the endpoint holds already. */
int inpcb_bind_addr_check(const struct inpcb_table *t, uint32_t addr, unsigned reuse);
/* bind() to port 0 with IP_BIND_ADDRESS_NO_PORT (Linux's __inet_bind without
 * get_port): addr checked as inpcb_bind checks it, then p holds it and the
 * reuse flags, with port 0 and outside the bound-port table: no port is
 * taken until connect(), listen() or a UDP send picks one for that address. */
int inpcb_bind_addr(struct inpcb_table *t, struct inpcb *p, uint32_t addr, unsigned reuse);
/* connect() of p, an endpoint without a port (unbound, or bound to an
 * address only: IP_BIND_ADDRESS_NO_PORT): RFC 6056 §3.3.3 (Algorithm 3)
 * in inpcb_port_range's bounds, a port whose 4-tuple with peer is new (or
 * held by an endpoint the table's tw_reusable gives up) and whose every
 * holder got it from connect() (INPCB_CONNECT_BIND: not a listener's, nor
 * one bind() took, nor a connection accepted on it), from the keyed
 * offset off. 0 or -EADDRNOTAVAIL (a one-port range: that port or nothing). */
int inpcb_connect_port(struct inpcb_table *t, const struct inpcb *p, uint32_t laddr,
		       const struct ip4_endpoint *peer, uint32_t off, uint16_t *port);
/* listen() on a socket bound already, its bind bucket's fast path: true
 * when get_port takes the port again without looking at its holders
 * (sk_reuseport_match); inpcb_listen_fast_update after it took it (also
 * after listen()'s own bind of port 0). */
bool inpcb_listen_fast(const struct inpcb_table *t, const struct inpcb *p);
void inpcb_listen_fast_update(struct inpcb_table *t, struct inpcb *p);
/* listen(): another listener holds p's port for an overlapping address and
 * the two did not both set SO_REUSEPORT. */
bool inpcb_listen_conflict(const struct inpcb_table *t, const struct inpcb *p);
/* listen() on a socket bound already: bind()'s rules again for its port,
 * against the endpoints that share it now (its accepted connections once
 * it stopped listening, sockets that bound it with SO_REUSEADDR). */
bool inpcb_bound_conflict(const struct inpcb_table *t, const struct inpcb *p);

#endif
