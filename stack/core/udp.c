/*
 * UDP. Read first: RFC 768 (header, checksum), RFC 1122 §4.1.3 (what a host
 * must do: checksums, port unreachable, passing ICMP errors up), RFC 6056
 * (ephemeral port selection). Linux's udp.c is the behavioural reference
 * for socket semantics (demultiplexing scores, errors on connected sockets).
 */
#include "stack/core/udp.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/bpf.h"
#include "stack/core/icmp4.h"
#include "stack/core/inpcb.h"
#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/stack_priv.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

#define UDP_MIN_RCVBUF 2304      /* Linux's SOCK_MIN_RCVBUF */

struct udp_dgram {
	struct udp_dgram *next;
	uint32_t src;
	uint16_t sport;
	uint32_t dst;                /* from the IP header, for the control messages */
	uint8_t ttl, tos;
	bool looped;                 /* delivered by the loop queue (ip4_hdr's looped) */
	bool peeked;                 /* of no bytes, seen by a peek (udp_recv, udp_peek_at) */
	uint64_t at;
	uint32_t dropcount;          /* SO_RXQ_OVFL: u->drops when queued */
	size_t len;
	uint8_t data[];
};

/* An ICMP error on the error queue (IP_RECVERR), with the bytes it quoted
 * after the UDP header. */
struct udp_errq {
	struct udp_errq *next;
	struct udp_err_info ei;
	size_t len;
	uint8_t data[];
};

#define UDP_ERR_QUOTE_MAX 576       /* what an ICMP error quotes at most (RFC 1812 §4.3.2.3) */

struct udp_sock {
	struct stack *s;             /* NULL once the stack is gone */
	struct udp_sock *next;       /* in udp_state.socks */
	/* Endpoints; in the bound-port table once bound (pcb.in_bind). A
	 * connected socket (pcb.connected) has a peer in pcb.remote. */
	struct inpcb pcb;
	bool addr_locked;            /* local address given by bind(), not by connect() */
	bool port_locked;            /* local port given by bind() (Linux's SOCK_BINDPORT_LOCK) */
	bool bind_no_port;           /* IP_BIND_ADDRESS_NO_PORT: bind() to port 0 takes the address only */
	bool broadcast;              /* SO_BROADCAST: broadcast destinations allowed */
	uint8_t mc_ttl;              /* IP_MULTICAST_TTL */
	uint8_t ttl;                 /* IP_TTL, 0 the default */
	uint8_t pmtudisc;            /* IP_MTU_DISCOVER (SOCK_PMTUDISC_*) */
	bool dontroute;              /* SO_DONTROUTE */
	bool mc_loop;                /* IP_MULTICAST_LOOP: our own datagrams to a group we joined */
	bool mc_all;                 /* IP_MULTICAST_ALL: a group's datagrams though not joined here */
	struct udp_mships ms;        /* IP_ADD_MEMBERSHIP, the source filters */
	uint8_t tos;
	int err;                     /* pending error (negative errno), 0 when none */
	bool recverr;                /* IP_RECVERR */
	bool rxq_ovfl;               /* SO_RXQ_OVFL */
	uint32_t drops;              /* datagrams its full buffer refused (Linux's sk_drops) */
	struct udp_errq *eq_head, *eq_tail;
	size_t eq_bytes;             /* charged against rcvbuf with q_bytes */
	struct udp_dgram *q_head, *q_tail;
	size_t q_bytes;              /* charged against rcvbuf */
	uint64_t q_total;            /* datagrams ever queued (udp_rx_count) */
	bool sent;                   /* a datagram ever went out (udp_used) */
	size_t rcvbuf;
	struct sock_wakeup wake;
	struct bpf_insn *filter;     /* SO_ATTACH_FILTER's program, NULL when none */
	unsigned filter_len;
	uint32_t ifindex;            /* the device's, for the filter (SKF_AD_IFINDEX) */
	bool corkflag;               /* UDP_CORK */
	uint16_t gso_size;           /* UDP_SEGMENT, 0 none */
	/* A datagram that MSG_MORE or UDP_CORK holds back (Linux's pending
	 * frames): where it goes, from where, with the first call's options. */
	struct {
		bool pending, has_o;
		struct ip4_endpoint to;
		uint32_t src;
		struct udp_tx_opts o;
		uint16_t gso;           /* the first call's gso_size (Linux's cork->gso_size) */
		uint8_t *buf;
		size_t len, cap;
	} cork;
};

struct udp_state {
	struct udp_sock *socks;      /* every socket, for udp_fini() */
	struct inpcb_table pcbs;     /* bound sockets by port */
};

static struct udp_sock *udp_of(struct inpcb *p)
{
	return (struct udp_sock *)(void *)((char *)p - offsetof(struct udp_sock, pcb));
}

int udp_init(struct stack *s)
{
	s->udp = calloc(1, sizeof(*s->udp));
	if (!s->udp)
		return -ENOMEM;
	inpcb_table_init(&s->udp->pcbs, s, IP_PROTO_UDP);
	return 0;
}

static void udp_flush(struct udp_sock *u)
{
	while (u->q_head) {
		struct udp_dgram *d = u->q_head;

		u->q_head = d->next;
		free(d);
	}
	u->q_tail = NULL;
	u->q_bytes = 0;
	while (u->eq_head) {
		struct udp_errq *e = u->eq_head;

		u->eq_head = e->next;
		free(e);
	}
	u->eq_tail = NULL;
	u->eq_bytes = 0;
}

/* Sockets outlive the stack only in the shim's teardown: they are detached
 * (their queues freed) and udp_close() frees them later. */
void udp_fini(struct stack *s)
{
	if (!s->udp)
		return;
	for (struct udp_sock *u = s->udp->socks; u; u = u->next) {
		udp_flush(u);
		u->s = NULL;
	}
	free(s->udp);
	s->udp = NULL;
}

static size_t dgram_charge(const struct udp_dgram *d)
{
	return sizeof(*d) + d->len;
}

/* ---- receive ---- */

/*
 * The socket's filter on a datagram (Linux's sk_filter_trim_cap from
 * udp_queue_rcv_one_skb): the program sees it from the UDP header on, and
 * answers how many bytes to keep, never fewer than the header. *len: the
 * payload's length, cut to what is kept. False: dropped.
 */
static bool udp_filter(struct stack *s, const struct udp_sock *u, const struct ip4_hdr *ih, const uint8_t *data,
		       size_t *len)
{
	/* The headers before the UDP header only when they are right before
	 * it in the same buffer (the program reads across them). */
	const uint8_t *net = ih->raw && ih->raw + ih->ihl == data - UDP_HLEN ? ih->raw : NULL;
	struct bpf_pkt p = {
		.data = data - UDP_HLEN,
		.len = *len + UDP_HLEN,
		.net = net,
		.mac = net && ih->mac_len ? net - ih->mac_len : NULL,
		/* Linux's pkt_type, from the frame's destination (eth_type_trans);
		 * a looped multicast is PACKET_LOOPBACK (dev_loopback_xmit). */
		.pkttype = ip4_is_multicast(ih->dst) ? (ih->looped ? 5 : 2) :
			   !ih->looped && ip4_is_broadcast(s, ih->dst) ? 1 : 0,
		.ifindex = ih->looped ? 1 : u->ifindex,
		.hatype = ih->looped ? 772 : 1,   /* ARPHRD_LOOPBACK, ARPHRD_ETHER */
		.random = stack_random(s),
	};
	uint32_t keep = bpf_run(u->filter, u->filter_len, &p);

	if (keep == 0)
		return false;
	if (keep < UDP_HLEN)
		keep = UDP_HLEN;
	if (keep - UDP_HLEN < *len)
		*len = keep - UDP_HLEN;
	return true;
}

/* Queues a copy for u; false when its buffer is full or its filter refused
 * it. data: the payload, right after the UDP header. */
static bool udp_enqueue(struct stack *s, struct udp_sock *u, const struct ip4_hdr *ih, uint16_t sport,
			const uint8_t *data, size_t len, uint64_t now)
{
	struct udp_dgram *d;

	/* The filter first, then the buffer (udp_queue_rcv_one_skb): a
	 * datagram it drops counts as dropped (sk_drops). */
	if (u->filter && !udp_filter(s, u, ih, data, &len)) {
		stack_drop(s, DROP_UDP_FILTERED);
		u->drops++;
		return false;
	}

	/* Like Linux, a datagram is refused once the buffer is full, but an
	 * empty queue takes one of any size (a tiny rcvbuf still works). */
	if (u->q_head && u->q_bytes + sizeof(*d) + len > u->rcvbuf) {
		stack_drop(s, DROP_UDP_RCVBUF_FULL);
		u->drops++;
		return false;
	}
	d = malloc(sizeof(*d) + len);
	if (!d) {
		stack_drop(s, DROP_UDP_RCVBUF_FULL);
		u->drops++;
		return false;
	}
	d->next = NULL;
	d->src = ih->src;
	d->sport = sport;
	d->dst = ih->dst;
	d->ttl = ih->ttl;
	d->tos = ih->tos;
	d->looped = ih->looped;
	d->peeked = false;
	d->at = now;
	d->dropcount = u->rxq_ovfl ? u->drops : 0;
	d->len = len;
	memcpy(d->data, data, len);
	if (u->q_tail)
		u->q_tail->next = d;
	else
		u->q_head = d;
	u->q_tail = d;
	u->q_bytes += dgram_charge(d);
	u->q_total++;
	sock_wake(&u->wake);
	return true;
}

/* How well u matches a datagram, -1 when it does not (Linux's compute_score:
 * a connected socket beats an unconnected one, an exact local address beats
 * the wildcard, and where all else is equal an AF_INET socket beats an
 * AF_INET6 one: PF_INET scores 2, PF_INET6 1). */
static int udp_score(const struct udp_sock *u, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	int score;

	if (!u->pcb.in_bind || u->pcb.local.port != dport)
		return -1;
	score = u->pcb.inet6 ? 1 : 2;
	if (u->pcb.local.addr) {
		if (u->pcb.local.addr != dst)
			return -1;
		score += 4;
	}
	if (u->pcb.connected) {
		/* Connected to port 0, any source port matches (Linux's
		 * compute_score looks at inet_dport only when set). */
		if (u->pcb.remote.addr != src || (u->pcb.remote.port && u->pcb.remote.port != sport))
			return -1;
		score += 8;
	}
	return score;
}

/* Linux's ip_mc_sf_allow: a group's datagram for a socket that did not join
 * it only with IP_MULTICAST_ALL (on by default). */
static bool mc_allowed(const struct udp_sock *u, uint32_t dst, uint32_t src)
{
	if (!ip4_is_multicast(dst))
		return true;
	for (unsigned i = 0; i < u->ms.ngroups; i++) {
		bool listed = false;

		if (u->ms.groups[i] != dst)
			continue;
		for (unsigned j = 0; j < u->ms.sf[i].n; j++)
			listed = listed || u->ms.sf[i].src[j] == src;
		return u->ms.sf[i].include ? listed : !listed;
	}
	return u->mc_all;
}

/* A datagram to a broadcast or multicast address: a copy for every socket
 * that matches (Linux's __udp4_lib_mcast_deliver). False when none did. */
static bool udp_deliver_all(struct stack *s, const struct ip4_hdr *ih, uint16_t sport, uint16_t dport,
			    const uint8_t *data, size_t len, uint64_t now)
{
	bool any = false;

	for (struct inpcb *x = inpcb_first_bound(&s->udp->pcbs, dport); x; x = inpcb_next_bound(x))
		if (udp_score(udp_of(x), ih->src, sport, ih->dst, dport) >= 0 && mc_allowed(udp_of(x), ih->dst, ih->src)) {
			udp_enqueue(s, udp_of(x), ih, sport, data, len, now);
			any = true;
		}
	return any;
}

void udp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	struct udp_hdr uh;
	uint16_t sport, dport, ulen, csum;
	struct udp_sock *best = NULL;
	int best_score = -1;

	/* RFC 768: the length covers header and data. Bytes past it in the IP
	 * payload are ignored (Linux trims them). */
	switch (udp_hdr_parse(p, len, &uh)) {
	case WIRE_OK:
		break;
	case WIRE_TRUNCATED:
		stack_drop(s, DROP_UDP_TRUNCATED);
		return;
	default:
		stack_drop(s, DROP_UDP_BAD_LENGTH);
		return;
	}
	sport = uh.sport;
	dport = uh.dport;
	ulen = uh.len;
	csum = uh.csum;
	/* RFC 768 / RFC 1122 §4.1.3.4: a zero checksum means none was sent;
	 * otherwise it MUST be verified and a bad datagram silently discarded
	 * (unless the device verified it, or the datagram never left this host:
	 * see STACK_RX_CSUM_OK). */
	if (csum != 0 && (ih->rx_csum & STACK_CSUM_UDP) &&
	    csum_fold(csum_partial(p, ulen, csum_pseudo4(ih->src, ih->dst, IP_PROTO_UDP, ulen))) != 0) {
		stack_drop(s, DROP_UDP_BAD_CSUM);
		return;
	}
	s->stats.udp_in++;

	if (ip4_is_broadcast(s, ih->dst) || ip4_is_multicast(ih->dst)) {
		/* Broadcasts and multicasts go to every socket that matches
		 * (ip4_input took a multicast only for a group joined). */
		if (!udp_deliver_all(s, ih, sport, dport, p + UDP_HLEN, ulen - UDP_HLEN, now))
			stack_drop(s, DROP_UDP_NO_SOCKET);
		return;
	}
	for (struct inpcb *x = inpcb_first_bound(&s->udp->pcbs, dport); x; x = inpcb_next_bound(x)) {
		struct udp_sock *u = udp_of(x);
		int sc = udp_score(u, ih->src, sport, ih->dst, dport);

		if (sc > best_score) {
			best = u;
			best_score = sc;
		}
	}
	if (!best) {
		stack_drop(s, DROP_UDP_NO_SOCKET);
		/* RFC 1122 §4.1.3.1: SHOULD send port unreachable. */
		icmp4_send_unreach(s, ih, ICMP_UNREACH_PORT, now);
		return;
	}
	udp_enqueue(s, best, ih, sport, p + UDP_HLEN, ulen - UDP_HLEN, now);
}

/* IP_RECVERR: queues the error on u (Linux's ip_icmp_error; refused, like
 * its sock_queue_err_skb, when the receive buffer is full). */
static void errq_add(struct stack *s, struct udp_sock *u, const struct ip4_hdr *q, uint16_t dport,
		     const uint8_t *qp, size_t qlen, int err, const struct udp_icmp_info *ii)
{
	size_t n = qlen > UDP_HLEN ? qlen - UDP_HLEN : 0;
	struct udp_errq *e;

	if (n > UDP_ERR_QUOTE_MAX)
		n = UDP_ERR_QUOTE_MAX;
	if (u->q_bytes + u->eq_bytes + sizeof(*e) + n > u->rcvbuf || !(e = malloc(sizeof(*e) + n))) {
		stack_drop(s, DROP_UDP_RCVBUF_FULL);
		return;
	}
	e->next = NULL;
	e->ei.err = err;
	e->ei.type = ii->type;
	e->ei.code = ii->code;
	e->ei.info = ii->info;
	e->ei.offender = ii->from;
	e->ei.icmp_dst = ii->to;
	e->ei.icmp_ttl = ii->ttl;
	e->ei.icmp_tos = ii->tos;
	e->ei.icmp_looped = ii->looped;
	e->ei.at = ii->at;
	e->ei.dst.addr = q->dst;
	e->ei.dst.port = dport;
	e->len = n;
	if (n)
		memcpy(e->data, qp + UDP_HLEN, n);
	if (u->eq_tail)
		u->eq_tail->next = e;
	else
		u->eq_head = e;
	u->eq_tail = e;
	u->eq_bytes += sizeof(*e) + n;
}

/* IP_RECVERR: an error this host found in what u sends (Linux's
 * ip_local_error): queued, no data, no offender; not the pending error. Its
 * address is the datagram's destination with the port u is connected to, 0
 * when it is not (ip_local_error is handed inet_dport, not the datagram's
 * port: tracepath, which finds its probe by that port, prints no time for
 * the local error, as on Linux). */
static void errq_local(struct stack *s, struct udp_sock *u, const struct ip4_endpoint *dst, int err, uint32_t info)
{
	struct udp_errq *e;

	if (u->q_bytes + u->eq_bytes + sizeof(*e) > u->rcvbuf || !(e = calloc(1, sizeof(*e)))) {
		stack_drop(s, DROP_UDP_RCVBUF_FULL);
		return;
	}
	e->ei.err = err;
	e->ei.local = true;
	e->ei.at = s->now;
	e->ei.info = info;
	e->ei.dst.addr = dst->addr;
	e->ei.dst.port = u->pcb.connected ? u->pcb.remote.port : 0;
	if (u->eq_tail)
		u->eq_tail->next = e;
	else
		u->eq_head = e;
	u->eq_tail = e;
	u->eq_bytes += sizeof(*e);
}

/* Whether an ICMP error is a hard one, which a connected socket without
 * IP_RECVERR reports (Linux's __udp4_lib_err): a parameter problem
 * (EPROTO); fragmentation needed (EMSGSIZE) unless the socket does no path
 * MTU discovery; of the other unreachables those icmp_err_convert marks
 * fatal: protocol and port (2, 3), unknown or isolated or prohibited net
 * and host (6 to 10), and the administrative ones (13 to 15). Time
 * exceeded, source quench and the rest are soft. */
static bool udp_icmp_hard(const struct udp_sock *u, const struct udp_icmp_info *ii)
{
	switch (ii->type) {
	case ICMP_PARAM_PROBLEM:
		return true;
	case ICMP_DEST_UNREACH:
		if (ii->code == ICMP_UNREACH_NEEDFRAG)
			return u->pmtudisc != SOCK_PMTUDISC_DONT;
		return ii->code == 2 || ii->code == ICMP_UNREACH_PORT || (ii->code >= 6 && ii->code <= 10) ||
		       (ii->code >= 13 && ii->code <= 15);
	default:
		return false;
	}
}

void udp_icmp_error(struct stack *s, const struct ip4_hdr *q, const uint8_t *qp, size_t qlen, int err,
		    const struct udp_icmp_info *ii)
{
	struct udp_sock *best = NULL;
	struct udp_hdr qu;
	uint16_t sport, dport;
	int best_score = -1;

	/* The quote ends 8 bytes into the datagram: its length describes the original. */
	if (udp_hdr_parse(qp, qlen, &qu) == WIRE_TRUNCATED)
		return;
	sport = qu.sport;
	dport = qu.dport;
	/* The socket that sent it, as Linux's __udp4_lib_err finds it (the
	 * lookup of an answer to it): with IP_RECVERR, every error is queued and
	 * becomes the pending one, connected or not, hard or soft. */
	for (struct inpcb *x = inpcb_first_bound(&s->udp->pcbs, sport); x; x = inpcb_next_bound(x)) {
		int sc = udp_score(udp_of(x), q->dst, dport, q->src, sport);

		if (sc > best_score) {
			best = udp_of(x);
			best_score = sc;
		}
	}
	/* Like Linux's __udp4_lib_err (ipv4_sk_update_pmtu): fragmentation
	 * needed about a datagram a socket here sent is the destination's path
	 * MTU, for every later datagram and connection there (the route
	 * exception), unless the socket ignores path MTUs (IP_PMTUDISC_
	 * INTERFACE, OMIT: ip_sk_accept_pmtu). Measured on Linux 6.18
	 * (rawframes udp_connected_frag_needed, MTU 1000, then a SYN from the
	 * same address): the SYN-ACK offered MSS 960 (pstack: 1460). */
	if (best && ii->type == ICMP_DEST_UNREACH && ii->code == ICMP_UNREACH_NEEDFRAG &&
	    best->pmtudisc != SOCK_PMTUDISC_INTERFACE && best->pmtudisc != SOCK_PMTUDISC_OMIT)
		ip4_pmtu_learn(s, q->dst, ii->info, s->now);
	if (best && best->recverr) {
		errq_add(s, best, q, dport, qp, qlen, err, ii);
		best->err = err;
		sock_wake(&best->wake);
		return;
	}
	/* Like Linux without IP_RECVERR: only a connected socket hears of it,
	 * and only of hard errors (udp_icmp_hard). */
	for (struct inpcb *x = inpcb_first_bound(&s->udp->pcbs, sport); x; x = inpcb_next_bound(x)) {
		struct udp_sock *u = udp_of(x);

		if (!x->connected || x->local.port != sport || x->remote.addr != q->dst || x->remote.port != dport)
			continue;
		if (x->local.addr && x->local.addr != q->src)
			continue;
		if (!udp_icmp_hard(u, ii))
			return;
		u->err = err;
		sock_wake(&u->wake);
		return;
	}
}

/* ---- sockets ---- */

struct udp_sock *udp_open(struct stack *s)
{
	struct udp_sock *u = calloc(1, sizeof(*u));

	stack_assert_locked();
	if (!u)
		return NULL;
	u->s = s;
	u->rcvbuf = UDP_DEFAULT_RCVBUF;
	u->mc_ttl = 1;
	u->pmtudisc = SOCK_PMTUDISC_WANT;
	u->mc_loop = true;
	u->mc_all = true;
	u->next = s->udp->socks;
	s->udp->socks = u;
	return u;
}

void udp_close(struct udp_sock *u)
{
	stack_assert_locked();
	if (!u)
		return;
	if (u->s) {
		struct udp_sock **pp = &u->s->udp->socks;

		while (*pp && *pp != u)
			pp = &(*pp)->next;
		if (*pp)
			*pp = u->next;
		inpcb_bind_remove(&u->pcb);
	}
	udp_flush(u);
	free(u->cork.buf);
	free(u->filter);
	free(u);
}

int udp_bind(struct udp_sock *u, const struct ip4_endpoint *local, unsigned flags)
{
	int rc;

	stack_assert_locked();
	if (!u->s)
		return -ENETDOWN;
	if (u->pcb.in_bind)
		return -EINVAL;
	/* IP_BIND_ADDRESS_NO_PORT: the address only, as for TCP (Linux's
	 * __inet_bind); the first send or connect() picks the port. */
	if (!local->port && u->bind_no_port)
		rc = inpcb_bind_addr(&u->s->udp->pcbs, &u->pcb, local->addr, flags);
	else
		rc = inpcb_bind(&u->s->udp->pcbs, &u->pcb, local, flags);
	if (rc) {
		if (rc == -EADDRINUSE)
			u->pcb.local.addr = 0;  /* Linux's __inet_bind clears the address it tried */
		return rc;
	}
	u->addr_locked = local->addr != 0 || (flags & INPCB_ADDR_LOCK);
	u->port_locked = local->port != 0;
	return 0;
}

int udp_bind_addr_check(const struct udp_sock *u, uint32_t addr, unsigned flags)
{
	stack_assert_locked();
	if (!u->s)
		return -ENETDOWN;
	return inpcb_bind_addr_check(&u->s->udp->pcbs, addr, flags);
}

/* Linux's inet_autobind: an ephemeral port, on the address bind() gave
 * with IP_BIND_ADDRESS_NO_PORT (and the flags it recorded), else any. */
static int udp_autobind(struct udp_sock *u)
{
	struct ip4_endpoint local = { u->pcb.local.addr, 0 };

	return u->pcb.in_bind ? 0 : inpcb_bind(&u->s->udp->pcbs, &u->pcb, &local, u->pcb.reuse);
}

int udp_send_prepare(struct udp_sock *u)
{
	stack_assert_locked();
	if (!u->s)
		return -ENETDOWN;
	return udp_autobind(u);
}

/* The source u's own address gives (0: none, the route chooses): a
 * broadcast or multicast address it is bound to is none (Linux's inet_bind
 * leaves inet_saddr 0 for those; RFC 1122 §3.2.1.3: never a source). */
static uint32_t udp_own_src(const struct udp_sock *u)
{
	uint32_t a = u->pcb.local.addr;

	return a && !ip4_is_broadcast(u->s, a) && !ip4_is_multicast(a) ? a : 0;
}

void udp_disconnect(struct udp_sock *u)
{
	stack_assert_locked();
	/* Linux's __udp_disconnect: forget the peer, the local address
	 * unless bind() chose it, and the port unless bind() named it
	 * (unhashed: datagrams to it are no longer this socket's; the next
	 * send or connect() picks one again, bind() may come). */
	u->pcb.connected = false;
	u->pcb.remote.addr = 0;
	u->pcb.remote.port = 0;
	if (!u->addr_locked)
		u->pcb.local.addr = 0;
	if (!u->port_locked && u->pcb.in_bind) {
		inpcb_bind_remove(&u->pcb);
		u->pcb.local.port = 0;
	}
}

int udp_connect(struct udp_sock *u, const struct ip4_endpoint *peer)
{
	struct stack *s = u->s;
	struct ip4_endpoint to = *peer;
	int rc;

	stack_assert_locked();
	if (!s)
		return -ENETDOWN;
	/* Linux's inet_dgram_connect binds an unbound socket before
	 * ip4_datagram_connect looks at the peer: a refused connect() leaves
	 * the port taken. */
	rc = udp_autobind(u);
	if (rc)
		return rc;
	/* Bound to an address not ours (IP_FREEBIND, ip_nonlocal_bind): no
	 * route from it, as for a send (ip4_datagram_connect's route lookup
	 * fails; the socket stays as it was). */
	rc = inpcb_src_error(&s->udp->pcbs, &u->pcb);
	if (rc)
		return rc;
	if (!to.addr)
		to.addr = ip4_this_host(udp_own_src(u));
	if (to.addr != s->cfg.addr && !ip4_is_loopback(to.addr) && !ip4_is_broadcast(s, to.addr) &&
	    !stack_on_link(s, to.addr) && !s->cfg.gateway)
		return -ENETUNREACH;
	if (u->dontroute && !stack_reach_direct(s, to.addr))
		return -ENETUNREACH;    /* ip4_datagram_connect's route: RTO_ONLINK */
	/* Linux's ip4_datagram_connect: a broadcast peer needs SO_BROADCAST. */
	if (ip4_is_broadcast(s, to.addr) && !u->broadcast)
		return -EACCES;
	rc = udp_autobind(u);
	if (rc)
		return rc;
	u->pcb.remote = to;
	u->pcb.connected = true;
	/* Like Linux, a connected socket's wildcard local address becomes the
	 * route's source (getsockname() shows it). */
	if (!u->pcb.local.addr)
		u->pcb.local.addr = ip4_local_src(to.addr, s->cfg.addr);
	/* Linux's __ip4_datagram_connect routes with the cork's own flow
	 * (inet->cork.fl): a datagram corked (MSG_MORE, UDP_CORK) for
	 * another peer leaves for this one, from this route's source. */
	if (u->cork.pending) {
		uint32_t src = udp_own_src(u);

		u->cork.to = to;
		u->cork.src = src ? src : ip4_local_src(to.addr, s->cfg.addr);
	}
	return 0;
}

/* Linux's WRITE_ONCE(sk->sk_err, ...) without sk_error_report: a pending
 * error for the next call, nobody woken (do_recvmmsg's). */
void udp_set_error(struct udp_sock *u, int err)
{
	stack_assert_locked();
	u->err = err;
}

/* SO_ERROR: the pending error as a negative errno (0 when none), cleared. */
int udp_take_error(struct udp_sock *u)
{
	int e = u->err;

	stack_assert_locked();
	u->err = 0;
	return e;
}

long udp_sendto(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *dst,
		uint64_t now)
{
	return udp_sendmsg(u, buf, len, dst, NULL, now);
}

/* Sends one datagram of len bytes from buf (the program's memory: the
 * stack's copier reads it) to *to from src. */
/* The MTU of the route to dst, what a datagram that must not be fragmented
 * is held to: lo's for this host's own addresses (Linux routes them over
 * lo, whose 65536 the route caps at IP_MAX_MTU: no datagram is too large),
 * else the device's. */
static uint32_t route_mtu(const struct stack *s, uint32_t dst)
{
	return ip4_is_local(dst, s->cfg.addr) ? IP4_LOCAL_MTU : s->mtu;
}

/* The size a datagram to dst is held to and cut to, as Linux's
 * ip_setup_cork: the path's MTU (what a fragmentation needed taught) with
 * IP_PMTUDISC_DONT, WANT and DO (ip_sk_use_pmtu), the route's (the
 * device's) with PROBE, INTERFACE and OMIT. Measured on Linux 6.18
 * (rawframes udp_connected_frag_needed_modes, path MTU 1200, 1300 bytes):
 * DONT and WANT sent fragments of 1196 and 152 bytes, DO failed with
 * EMSGSIZE, the others sent 1328 bytes whole. */
static uint32_t udp_fragsize(const struct udp_sock *u, uint32_t dst, uint64_t now)
{
	return u->pmtudisc < SOCK_PMTUDISC_PROBE ? ip4_pmtu(u->s, dst, now) : route_mtu(u->s, dst);
}

/* IP_MTU_DISCOVER DO, PROBE and INTERFACE never fragment (Linux's
 * ip_sk_ignore_df false): what does not fit udp_fragsize is EMSGSIZE. */
static bool udp_never_fragments(const struct udp_sock *u)
{
	return u->pmtudisc >= SOCK_PMTUDISC_DO && u->pmtudisc != SOCK_PMTUDISC_OMIT;
}

static long emit_dgram(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *dst,
		       uint32_t src, const struct udp_tx_opts *o, uint64_t now)
{
	struct stack *s = u->s;
	struct ip4_endpoint to = *dst;
	struct ip4_tx tx;
	struct udp_hdr uh;
	struct pkb *p;
	uint32_t mtu;
	uint8_t *h;
	int rc;

	u->sent = true;

	/* A datagram that must not be fragmented and is larger than its
	 * fragment size is EMSGSIZE (Linux's __ip_append_data), and with
	 * IP_RECVERR a local error saying that size (ip_local_error). */
	mtu = udp_fragsize(u, to.addr, now);
	if (IP4_HLEN + UDP_HLEN + len > mtu && udp_never_fragments(u)) {
		if (u->recverr)
			errq_local(s, u, &to, -EMSGSIZE, mtu);
		return -EMSGSIZE;
	}
	p = pkb_alloc_frame(UDP_HLEN + len);
	if (!p)
		return -ENOBUFS;
	h = pkb_put(p, UDP_HLEN + len);
	uh.sport = u->pcb.local.port;
	uh.dport = to.port;
	uh.len = (uint16_t)(UDP_HLEN + len);
	udp_hdr_emit(h, &uh);
	if (len && s->copy(h + UDP_HLEN, buf, len)) {
		pkb_free(p);
		return -EFAULT;
	}
	/* RFC 768: a computed zero is sent as all ones (zero means "none"). */
	udp_fill_csum(h, UDP_HLEN + len, src, to.addr);

	memset(&tx, 0, sizeof(tx));
	tx.src = src;
	tx.dst = to.addr;
	tx.proto = IP_PROTO_UDP;
	tx.tos = o && o->tos >= 0 ? (uint8_t)o->tos : u->tos;
	tx.ttl = o ? (uint8_t)o->ttl : 0;
	/* IP_TTL given with the datagram wins, then IP_MULTICAST_TTL for a
	 * group, then the socket's IP_TTL, as in Linux's __ip_make_skb. */
	if (!tx.ttl && ip4_is_multicast(to.addr))
		tx.ttl = u->mc_ttl ? u->mc_ttl : 1;   /* Deviation: TTL 0 (this host only) goes out as 1 */
	else if (!tx.ttl)
		tx.ttl = u->ttl;
	/* Linux's __ip_make_skb: DF with IP_PMTUDISC_DO and PROBE; with WANT
	 * (the default) on datagrams that fit the path, unless its MTU is
	 * locked (ip_dont_fragment), the others fragmented here; never with
	 * DONT, INTERFACE and OMIT. */
	tx.df = u->pmtudisc == SOCK_PMTUDISC_DO || u->pmtudisc == SOCK_PMTUDISC_PROBE ||
		(IP4_HLEN + UDP_HLEN + len <= ip4_pmtu(s, to.addr, now) &&
		 sock_pmtu_df_locked(u->pmtudisc, ip4_pmtu_locked(s, to.addr, now)));
	tx.mtu = mtu;

	/* IP_MULTICAST_LOOP: a datagram to a group this host joined is also
	 * delivered here, as Linux loops it back (with the header it is sent
	 * with, for the receiver's control messages). */
	if (ip4_is_multicast(to.addr) && u->mc_loop && udp_group_joined(s, to.addr)) {
		struct ip4_hdr lh;

		memset(&lh, 0, sizeof(lh));
		lh.src = src;
		lh.dst = to.addr;
		lh.ttl = tx.ttl;
		lh.tos = tx.tos;
		(void)udp_deliver_all(s, &lh, u->pcb.local.port, to.port, h + UDP_HLEN, len, now);
	}
	rc = ip4_output(s, p, &tx, now);
	/* A datagram lost to a full ARP queue is lost like on the wire; Linux
	 * reports success too. */
	if (rc < 0 && rc != -ENOBUFS)
		return rc;
	s->stats.udp_out++;
	return (long)len;
}

/*
 * A send with a gso_size (UDP_SEGMENT), as Linux's udp_send_skb: the whole
 * may exceed the MTU (__ip_append_data's is IP_MAX_MTU then) but one
 * segment must fit the path (EMSGSIZE, no local error), and there are
 * UDP_MAX_SEGMENTS at most (EINVAL); a longer send leaves as datagrams of
 * gso bytes, the last one shorter, as the device's segmentation makes
 * them. Without gso, one datagram.
 */
static long gso_dgrams(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *to,
		       uint32_t src, const struct udp_tx_opts *o, uint16_t gso, uint64_t now)
{
	if (!gso)
		return emit_dgram(u, buf, len, to, src, o, now);
	if (IP4_HLEN + UDP_HLEN + (len < gso ? len : gso) > udp_fragsize(u, to->addr, now))
		return -EMSGSIZE;
	if (len > (size_t)gso * UDP_MAX_SEGMENTS)
		return -EINVAL;
	if (len <= gso)
		return emit_dgram(u, buf, len, to, src, o, now);
	for (size_t off = 0; off < len; off += gso) {
		size_t n = len - off < gso ? len - off : gso;
		long r = emit_dgram(u, (const uint8_t *)buf + off, n, to, src, o, now);

		if (r < 0)
			return off ? (long)off : r;
	}
	return (long)len;
}

void udp_set_gso(struct udp_sock *u, uint16_t gso_size)
{
	stack_assert_locked();
	u->gso_size = gso_size;
}

/* The corked datagram is dropped (an error while it was built). */
static void cork_flush(struct udp_sock *u)
{
	free(u->cork.buf);
	u->cork.buf = NULL;
	u->cork.cap = 0;
	u->cork.len = 0;
	u->cork.pending = false;
}

/* The corked datagram goes (Linux's udp_push_pending_frames). */
static long cork_push(struct udp_sock *u, uint64_t now)
{
	long r;

	if (!u->cork.pending)
		return 0;
	r = gso_dgrams(u, u->cork.buf, u->cork.len, &u->cork.to, u->cork.src, u->cork.has_o ? &u->cork.o : NULL,
		       u->cork.gso, now);
	cork_flush(u);
	return r < 0 ? r : 0;
}

/* Linux's ip_append_data onto the corked datagram: past one datagram's
 * limit (or, never fragmenting, past the MTU) EMSGSIZE, a copy that
 * faults EFAULT, and what was corked is dropped; without more to come it
 * goes. len, or the error. */
static long cork_append(struct udp_sock *u, const void *buf, size_t len, bool more, uint64_t now)
{
	struct stack *s = u->s;
	size_t total = u->cork.len + len;
	long r;

	if (total > UDP_MAX_PAYLOAD) {
		cork_flush(u);
		return -EMSGSIZE;
	}
	if (!u->cork.gso && IP4_HLEN + UDP_HLEN + total > udp_fragsize(u, u->cork.to.addr, now) &&
	    udp_never_fragments(u)) {
		if (u->recverr)
			errq_local(s, u, &u->cork.to, -EMSGSIZE, udp_fragsize(u, u->cork.to.addr, now));
		cork_flush(u);
		return -EMSGSIZE;
	}
	if (total > u->cork.cap) {
		size_t cap = total < 256 ? 256 : total;
		uint8_t *b = realloc(u->cork.buf, cap);

		if (!b) {
			cork_flush(u);
			return -ENOBUFS;
		}
		u->cork.buf = b;
		u->cork.cap = cap;
	}
	if (len && s->copy(u->cork.buf + u->cork.len, buf, len)) {
		cork_flush(u);
		return -EFAULT;
	}
	u->cork.len = total;
	if (more)
		return (long)len;
	r = cork_push(u, now);
	return r < 0 ? r : (long)len;
}

void udp_set_cork(struct udp_sock *u, bool on, uint64_t now)
{
	stack_assert_locked();
	u->corkflag = on;
	/* Linux's udp_lib_setsockopt: turning it off sends what waits. */
	if (!on && u->s)
		(void)cork_push(u, now);
}

long udp_sendmsg(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *dst,
		 const struct udp_tx_opts *o, uint64_t now)
{
	struct stack *s = u->s;
	struct ip4_endpoint to;
	uint32_t src;
	uint16_t gso;
	int rc;

	stack_assert_locked();
	if (!s)
		return -ENETDOWN;
	/* A corked datagram takes the bytes: nothing of the call is looked
	 * at, not even the address it gives (Linux's udp_sendmsg, pending). */
	if (u->cork.pending)
		return cork_append(u, buf, len, u->corkflag || (o && o->more), now);
	if (dst) {
		/* Linux's udp_sendmsg refuses port 0 in an address given with
		 * the call, but sends to a peer connect() gave port 0. */
		if (dst->port == 0)
			return -EINVAL;
		if (ip4_is_broadcast(s, dst->addr) && !u->broadcast)
			return -EACCES;     /* without SO_BROADCAST (Linux: RTCF_BROADCAST) */
		to = *dst;
		/* From IP_PKTINFO's source, else the socket's. */
		if (!to.addr)
			to.addr = ip4_this_host(o && o->src ? o->src : udp_own_src(u));
	} else {
		if (!u->pcb.connected)
			return -EDESTADDRREQ;
		to = u->pcb.remote;
	}
	/* Bound to an address not ours (IP_FREEBIND), or an AF_INET6
	 * socket to a broadcast or multicast one: no route from it. */
	if (!(o && o->src) && (rc = inpcb_src_error(&s->udp->pcbs, &u->pcb)) != 0)
		return rc;
	/* SO_DONTROUTE, MSG_DONTROUTE: udp_sendmsg's route on the link only. */
	if ((u->dontroute || (o && o->dontroute)) && !stack_reach_direct(s, to.addr))
		return -ENETUNREACH;
	/* The datagram's size after its address and its route (Linux:
	 * ip_append_data's EMSGSIZE, past udp_sendmsg's checks). */
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	/* Linux reports a pending error (ECONNREFUSED after a port
	 * unreachable) on the next send as well as on the next receive
	 * (sock_alloc_send_skb, after the route and the size). */
	if (u->err)
		return udp_take_error(u);
	rc = udp_autobind(u);
	if (rc)
		return rc;
	src = udp_own_src(u);
	if (!src)
		src = ip4_local_src(to.addr, s->cfg.addr);
	if (o && o->src) {
		/* IP_PKTINFO's source: one of ours, or there is no route from
		 * it (what Linux answers a connected socket). */
		if (o->src != s->cfg.addr)
			return -ENETUNREACH;
		src = o->src;
	}
	gso = o && o->has_gso ? o->gso_size : u->gso_size;
	/* MSG_PROBE: Linux's ip_make_skb returns before it builds anything
	 * (so before the MTU's check and the copy of the bytes), and
	 * udp_sendmsg reports the length as sent. */
	if (o && o->probe)
		return (long)len;
	/* SHUT_WR: sock_alloc_send_pskb's EPIPE, once every check passed. */
	if (o && o->shut_wr)
		return -EPIPE;
	/* MSG_MORE or UDP_CORK: the datagram waits for more (the cork keeps
	 * the first call's destination, source and options). */
	if (u->corkflag || (o && o->more)) {
		u->cork.pending = true;
		u->cork.to = to;
		u->cork.src = src;
		u->cork.has_o = o != NULL;
		if (o)
			u->cork.o = *o;
		u->cork.gso = gso;
		u->cork.len = 0;
		return cork_append(u, buf, len, true, now);
	}
	return gso_dgrams(u, buf, len, &to, src, o, gso, now);
}
/* Takes the first datagram off u's queue and frees it. */
static void dgram_drop_head(struct udp_sock *u)
{
	struct udp_dgram *d = u->q_head;

	u->q_head = d->next;
	if (!u->q_head)
		u->q_tail = NULL;
	u->q_bytes -= dgram_charge(d);
	free(d);
}

long udp_recvfrom(struct udp_sock *u, void *buf, size_t len, struct ip4_endpoint *src,
		  size_t *full_len, unsigned flags)
{
	struct udp_dgram *d;
	size_t n;

	stack_assert_locked();
	if (u->err)
		return udp_take_error(u);
	d = u->q_head;
	if (!d)
		return -EAGAIN;
	n = d->len < len ? d->len : len;
	/* Linux (udp_recvmsg): a datagram that cannot be copied is dropped,
	 * unless peeked. */
	if (n && u->s->copy(buf, d->data, n)) {
		if (!(flags & SOCK_PEEK)) {
			dgram_drop_head(u);
			stack_drop(u->s, DROP_UDP_COPY_FAULT);
		}
		return -EFAULT;
	}
	if (src) {
		src->addr = d->src;
		src->port = d->sport;
	}
	if (full_len)
		*full_len = d->len;
	if (!(flags & SOCK_PEEK))
		dgram_drop_head(u);
	else if (!d->len)
		/* Linux's __skb_try_recv_from_queue marks a datagram of no
		 * bytes peeked on any peek, SO_PEEK_OFF or not: a peek at an
		 * offset passes it from then on (udp_peek_at). */
		d->peeked = true;
	return (long)n;
}

static void dgram_meta(const struct udp_dgram *d, struct udp_rx_meta *m)
{
	m->dst = d->dst;
	m->ttl = d->ttl;
	m->tos = d->tos;
	m->looped = d->looped;
	m->at = d->at;
	m->dropcount = d->dropcount;
}

long udp_peek_at(struct udp_sock *u, void *buf, size_t len, size_t *off, struct ip4_endpoint *src,
		 size_t *full_len, struct udp_rx_meta *m)
{
	struct udp_dgram *d;
	size_t o = *off, n;

	stack_assert_locked();
	if (u->err)
		return udp_take_error(u);
	/* Linux's __skb_try_recv_from_queue: a datagram the offset reaches
	 * past is skipped, one of no bytes only once a peek saw it. */
	for (d = u->q_head; d && o >= d->len && (o || d->peeked); d = d->next)
		o -= d->len;
	if (!d)
		return -EAGAIN;
	if (!d->len)
		d->peeked = true;
	n = d->len - o < len ? d->len - o : len;
	if (n && u->s->copy(buf, d->data + o, n))
		return -EFAULT;
	if (src) {
		src->addr = d->src;
		src->port = d->sport;
	}
	*off = o;
	*full_len = d->len;
	if (m)
		dgram_meta(d, m);
	return (long)n;
}

uint64_t udp_rx_count(const struct udp_sock *u)
{
	return u->q_total;
}

bool udp_deliver_lo(struct udp_sock *u, const struct ip4_endpoint *src, uint32_t dst, uint8_t ttl, uint8_t tos,
		    const void *data, size_t len, uint64_t now)
{
	struct ip4_hdr ih;

	stack_assert_locked();
	if (!u->s || udp_score(u, src->addr, src->port, dst, u->pcb.local.port) < 0)
		return false;   /* connected elsewhere since: Linux's would not take it */
	memset(&ih, 0, sizeof(ih));
	ih.src = src->addr;
	ih.dst = dst;
	ih.ttl = ttl;
	ih.tos = tos;
	ih.looped = true;
	return udp_enqueue(u->s, u, &ih, src->port, data, len, now);
}

bool udp_used(const struct udp_sock *u)
{
	return u->q_total || u->sent || u->cork.pending;
}

bool udp_corked(const struct udp_sock *u)
{
	return u->cork.pending;
}

unsigned udp_poll(const struct udp_sock *u)
{
	unsigned ev = SOCK_POLLOUT;

	stack_assert_locked();
	if (u->q_head)
		ev |= SOCK_POLLIN;
	if (u->err || u->eq_head)
		ev |= SOCK_POLLERR;
	return ev;
}

int udp_next_meta(const struct udp_sock *u, struct udp_rx_meta *m)
{
	const struct udp_dgram *d = u->q_head;

	stack_assert_locked();
	if (!d)
		return -EAGAIN;
	dgram_meta(d, m);
	return 0;
}

void udp_set_rxq_ovfl(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->rxq_ovfl = on;
}

void udp_set_recverr(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->recverr = on;
	if (!on) {
		/* Linux purges the queue when IP_RECVERR is turned off. */
		while (u->eq_head) {
			struct udp_errq *e = u->eq_head;

			u->eq_head = e->next;
			free(e);
		}
		u->eq_tail = NULL;
		u->eq_bytes = 0;
	}
}

long udp_recv_err(struct udp_sock *u, void *buf, size_t len, size_t *full, struct udp_err_info *ei)
{
	struct udp_errq *e = u->eq_head;
	long rc = 0;
	size_t n;

	stack_assert_locked();
	if (!e)
		return -EAGAIN;
	n = e->len < len ? e->len : len;
	/* Linux's ip_recv_error dequeues the error first: one that cannot be
	 * copied out is gone (EFAULT). */
	if (n && u->s->copy(buf, e->data, n))
		rc = -EFAULT;
	*full = e->len;
	*ei = e->ei;
	u->eq_head = e->next;
	if (!u->eq_head)
		u->eq_tail = NULL;
	u->eq_bytes -= sizeof(*e) + e->len;
	free(e);
	/* Linux's ip_recv_error: the pending error is the next queued one's. */
	u->err = u->eq_head ? u->eq_head->ei.err : 0;
	return rc ? rc : (long)n;
}

void udp_local(const struct udp_sock *u, struct ip4_endpoint *ep)
{
	stack_assert_locked();
	*ep = u->pcb.local;
}

int udp_peer(const struct udp_sock *u, struct ip4_endpoint *ep)
{
	stack_assert_locked();
	/* Linux's inet_getname: a peer of port 0 is no peer. */
	if (!u->pcb.connected || !u->pcb.remote.port)
		return -ENOTCONN;
	*ep = u->pcb.remote;
	return 0;
}

bool udp_connected(const struct udp_sock *u)
{
	stack_assert_locked();
	return u->pcb.connected;
}

void udp_set_wakeup(struct udp_sock *u, const struct sock_wakeup *w)
{
	stack_assert_locked();
	u->wake = *w;
}

void udp_set_opts(struct udp_sock *u, const struct sock_opts *o)
{
	stack_assert_locked();
	u->pcb.inet6 = o->inet6;
	if (o->rcvbuf >= 0)
		udp_set_rcvbuf(u, (size_t)o->rcvbuf * 2);
	udp_set_tos(u, o->tos);
	udp_set_ttl(u, o->ttl);
	udp_set_pmtudisc(u, o->pmtudisc);
	udp_set_dontroute(u, o->dontroute);
	udp_set_broadcast(u, o->broadcast);
	udp_set_multicast(u, o->mc_ttl, o->mc_loop);
	u->mc_all = o->mc_all;
	u->gso_size = o->gso_size;
	u->recverr = o->recverr;
	u->rxq_ovfl = o->rxq_ovfl;
	udp_set_port_range(u, o->port_range);
	udp_set_bind_no_port(u, o->bind_no_port);
	u->corkflag = o->udp_cork;
}

void udp_set_mc_all(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->mc_all = on;
}

void udp_set_reuse(struct udp_sock *u, unsigned flag, bool on)
{
	stack_assert_locked();
	/* udp_lib_lport_inuse reads the bound socket's sk_reuse and
	 * sk_reuseport as they are now, not as bind() saw them. */
	u->pcb.reuse = on ? u->pcb.reuse | flag : u->pcb.reuse & ~flag;
}

void udp_set_broadcast(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->broadcast = on;
}

void udp_set_multicast(struct udp_sock *u, uint8_t ttl, bool loop)
{
	stack_assert_locked();
	u->mc_ttl = ttl;
	u->mc_loop = loop;
}

void udp_get_multicast(const struct udp_sock *u, uint8_t *ttl, bool *loop)
{
	stack_assert_locked();
	*ttl = u->mc_ttl;
	*loop = u->mc_loop;
}

int udp_mships_join(struct udp_mships *m, uint32_t group)
{
	if (!ip4_is_multicast(group))
		return -EINVAL;
	for (unsigned i = 0; i < m->ngroups; i++)
		if (m->groups[i] == group)
			return -EADDRINUSE;
	if (m->ngroups == UDP_MAX_MEMBERSHIPS)
		return -ENOBUFS;
	m->sf[m->ngroups].include = false;
	m->sf[m->ngroups].n = 0;
	m->groups[m->ngroups++] = group;
	return 0;
}

int udp_mships_leave(struct udp_mships *m, uint32_t group)
{
	for (unsigned i = 0; i < m->ngroups; i++)
		if (m->groups[i] == group) {
			m->ngroups--;
			m->groups[i] = m->groups[m->ngroups];
			m->sf[i] = m->sf[m->ngroups];
			return 0;
		}
	return -EADDRNOTAVAIL;
}

int udp_mships_source(struct udp_mships *m, uint32_t group, uint32_t src, bool include, bool add)
{
	unsigned i, j;
	int r;

	/* IP_ADD_SOURCE_MEMBERSHIP joins first (ip_mc_join_group_ssm:
	 * joined already is no error). */
	if (include && add && (r = udp_mships_join(m, group)) < 0 && r != -EADDRINUSE)
		return r;
	for (i = 0; i < m->ngroups && m->groups[i] != group; i++)
		;
	if (i == m->ngroups)
		return -EINVAL;     /* "must have a prior join" */
	/* Linux's ip_mc_source: a filter with sources keeps its mode; an
	 * empty one takes the call's. */
	if (m->sf[i].n && m->sf[i].include != include)
		return -EINVAL;
	m->sf[i].include = include;
	for (j = 0; j < m->sf[i].n && m->sf[i].src[j] != src; j++)
		;
	if (!add) {
		if (j == m->sf[i].n)
			return -EADDRNOTAVAIL;
		/* (INCLUDE, no source left) is a leave. */
		if (include && m->sf[i].n == 1)
			return udp_mships_leave(m, group);
		m->sf[i].src[j] = m->sf[i].src[--m->sf[i].n];
		return 0;
	}
	if (j < m->sf[i].n)
		return -EADDRNOTAVAIL;      /* listed already */
	if (m->sf[i].n == UDP_MAX_MSF)
		return -ENOBUFS;
	m->sf[i].src[m->sf[i].n++] = src;
	return 0;
}

int udp_mships_set_msfilter(struct udp_mships *m, uint32_t group, bool include, const uint32_t *src, unsigned n)
{
	unsigned i;

	/* Linux's ip_mc_msfilter: (INCLUDE, no source) is a leave. */
	if (include && n == 0)
		return udp_mships_leave(m, group);
	for (i = 0; i < m->ngroups && m->groups[i] != group; i++)
		;
	if (i == m->ngroups)
		return -EINVAL;
	if (n > UDP_MAX_MSF)
		return -ENOBUFS;
	m->sf[i].include = include;
	m->sf[i].n = (uint8_t)n;
	memcpy(m->sf[i].src, src, n * sizeof(*src));
	return 0;
}

int udp_mships_get_msfilter(const struct udp_mships *m, uint32_t group, bool *include, uint32_t *src,
			    unsigned max)
{
	unsigned i;

	for (i = 0; i < m->ngroups && m->groups[i] != group; i++)
		;
	if (i == m->ngroups)
		return -EADDRNOTAVAIL;
	*include = m->sf[i].include;
	memcpy(src, m->sf[i].src, (m->sf[i].n < max ? m->sf[i].n : max) * sizeof(*src));
	return m->sf[i].n;
}

int udp_join(struct udp_sock *u, uint32_t group)
{
	stack_assert_locked();
	return udp_mships_join(&u->ms, group);
}

int udp_leave(struct udp_sock *u, uint32_t group)
{
	stack_assert_locked();
	return udp_mships_leave(&u->ms, group);
}

int udp_source_filter(struct udp_sock *u, uint32_t group, uint32_t src, bool include, bool add)
{
	stack_assert_locked();
	return udp_mships_source(&u->ms, group, src, include, add);
}

int udp_set_msfilter(struct udp_sock *u, uint32_t group, bool include, const uint32_t *src, unsigned n)
{
	stack_assert_locked();
	return udp_mships_set_msfilter(&u->ms, group, include, src, n);
}

int udp_get_msfilter(const struct udp_sock *u, uint32_t group, bool *include, uint32_t *src, unsigned max)
{
	stack_assert_locked();
	return udp_mships_get_msfilter(&u->ms, group, include, src, max);
}

bool udp_group_joined(const struct stack *s, uint32_t group)
{
	if (group == 0xe0000001u)
		return true;
	for (const struct udp_sock *u = s->udp->socks; u; u = u->next)
		for (unsigned i = 0; i < u->ms.ngroups; i++)
			if (u->ms.groups[i] == group)
				return true;
	return false;
}

void udp_set_rcvbuf(struct udp_sock *u, size_t bytes)
{
	stack_assert_locked();
	u->rcvbuf = bytes < UDP_MIN_RCVBUF ? UDP_MIN_RCVBUF : bytes;
}

size_t udp_get_rcvbuf(const struct udp_sock *u)
{
	stack_assert_locked();
	return u->rcvbuf;
}

size_t udp_next_size(const struct udp_sock *u)
{
	stack_assert_locked();
	return u->q_head ? u->q_head->len : 0;
}

const struct udp_sock *udp_sock_first(const struct stack *s)
{
	stack_assert_locked();
	return s->udp->socks;
}

const struct udp_sock *udp_sock_next(const struct udp_sock *u)
{
	stack_assert_locked();
	return u->next;
}

size_t udp_inq(const struct udp_sock *u)
{
	stack_assert_locked();
	return u->q_bytes;
}

int udp_set_filter(struct udp_sock *u, const struct bpf_insn *prog, unsigned n, uint32_t ifindex)
{
	struct bpf_insn *f = NULL;

	stack_assert_locked();
	if (n > BPF_MAXINSNS_CLASSIC)
		return -EINVAL;
	if (n) {
		f = malloc(n * sizeof(*f));
		if (!f)
			return -ENOMEM;
		memcpy(f, prog, n * sizeof(*f));
	}
	free(u->filter);
	u->filter = f;
	u->filter_len = n;
	u->ifindex = ifindex;
	return 0;
}

void udp_set_tos(struct udp_sock *u, uint8_t tos)
{
	stack_assert_locked();
	u->tos = tos;
}

void udp_set_ttl(struct udp_sock *u, uint8_t ttl)
{
	stack_assert_locked();
	u->ttl = ttl;
}

void udp_set_port_range(struct udp_sock *u, uint32_t range)
{
	stack_assert_locked();
	u->pcb.port_range = range;
}

void udp_set_bind_no_port(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->bind_no_port = on;
}

void udp_set_dontroute(struct udp_sock *u, bool on)
{
	stack_assert_locked();
	u->dontroute = on;
}

void udp_set_pmtudisc(struct udp_sock *u, uint8_t mode)
{
	stack_assert_locked();
	u->pmtudisc = mode;
}
