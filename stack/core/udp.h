/* UDP (RFC 768, RFC 1122 §4.1): sockets, demultiplexing, checksums. */
#ifndef PSTACK_UDP_H
#define PSTACK_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/inpcb.h"
#include "stack/core/sock.h"
#include "stack/wire/udp.h"

struct stack;
struct ip4_hdr;
struct udp_sock;
struct bpf_insn;

#define UDP_MAX_PAYLOAD 65507
#define UDP_MAX_MEMBERSHIPS 20   /* groups per socket, Linux's igmp_max_memberships */
#define UDP_MAX_MSF 10           /* sources per group's filter, Linux's igmp_max_msf */
#define UDP_DEFAULT_RCVBUF (208u * 1024)   /* like Linux's rmem_default */
#define UDP_BIND_REUSEADDR INPCB_REUSEADDR   /* SO_REUSEADDR */
#define UDP_BIND_REUSEPORT INPCB_REUSEPORT   /* SO_REUSEPORT */

int udp_init(struct stack *s);
void udp_fini(struct stack *s);
void udp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now);
/* What an ICMP error says besides its errno (IP_RECVERR's sock_extended_err). */
struct udp_icmp_info {
	uint8_t type, code;
	uint32_t info;              /* the next-hop MTU of "fragmentation needed", else 0 */
	uint32_t from;              /* who sent it: the offender */
	/* The ICMP message's own header (IP_PKTINFO, IP_TTL, IP_TOS on the
	 * error queue: ip_cmsg_recv of the ICMP skb). */
	uint32_t to;
	uint8_t ttl, tos;
	bool looped;
	uint64_t at;                /* when it arrived (SO_TIMESTAMP) */
};
/* An ICMP error about a datagram we sent: quoted->raw is the whole quote, qp/qlen
 * the quoted transport bytes after its IP header (at least 8); err a negative errno. */
void udp_icmp_error(struct stack *s, const struct ip4_hdr *quoted, const uint8_t *qp, size_t qlen, int err,
		    const struct udp_icmp_info *ii);

struct udp_sock *udp_open(struct stack *s);
/* Frees the socket and everything queued on it. */
void udp_close(struct udp_sock *u);
/* port 0 picks an ephemeral port (with IP_BIND_ADDRESS_NO_PORT: none,
 * udp_set_bind_no_port). -EINVAL if bound, -EADDRINUSE, -EADDRNOTAVAIL. */
int udp_bind(struct udp_sock *u, const struct ip4_endpoint *local, unsigned flags);
/* Whether bind() may take addr at all (inpcb_bind_addr_check), whatever
 * u holds: 0 or -EADDRNOTAVAIL (-ENETDOWN without a stack). */
int udp_bind_addr_check(const struct udp_sock *u, uint32_t addr, unsigned flags);
/* Fixes the peer (binds first if needed); addr 0 is this host (Linux's
 * route: the socket's own address, else 127.0.0.1, whose datagrams stay in
 * the stack). -EACCES for a broadcast peer without SO_BROADCAST, -ENETUNREACH
 * (also from an address not ours without IP_TRANSPARENT). */
int udp_connect(struct udp_sock *u, const struct ip4_endpoint *peer);
/* connect() with AF_UNSPEC: no peer, no local address unless bind() gave
 * it, no port unless bind() named it (udp_local then shows 0). */
void udp_disconnect(struct udp_sock *u);
/* dst NULL: the connected peer (-EDESTADDRREQ when none); addr 0 is this
 * host, as in udp_connect. Returns len or -errno: -EINVAL for port 0 in dst,
 * -EACCES for a broadcast dst without SO_BROADCAST, -EFAULT when the stack's
 * copy of buf failed (nothing sent). */
long udp_sendto(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *dst, uint64_t now);
/* sendmsg()'s control messages for one datagram (IP_PKTINFO, IP_TTL, IP_TOS). */
struct udp_tx_opts {
	uint32_t src;               /* IP_PKTINFO's ipi_spec_dst: 0, or our address */
	int ttl;                    /* 0: the default */
	int tos;                    /* -1: the socket's */
	bool dontroute;             /* MSG_DONTROUTE: no destination beyond the link */
	bool probe;                 /* MSG_PROBE: every check, then nothing sent */
	bool more;                  /* MSG_MORE: the datagram waits for more (corked) */
	bool has_gso;               /* a UDP_SEGMENT cmsg gave gso_size (0 too): ... */
	uint16_t gso_size;          /* ... instead of the socket's */
	bool shut_wr;               /* the socket was shut for writing: EPIPE after the checks */
};
/* Linux's inet_send_prepare: an unbound socket takes an ephemeral port
 * before udp_sendmsg looks at the call (a send that fails leaves it
 * bound). 0 or -errno. */
int udp_send_prepare(struct udp_sock *u);
/* udp_sendto() with them (o NULL: none); -ENETUNREACH for a source that is not ours. */
long udp_sendmsg(struct udp_sock *u, const void *buf, size_t len, const struct ip4_endpoint *dst,
		 const struct udp_tx_opts *o, uint64_t now);
/* Copies one datagram; *full_len gets its real size (for MSG_TRUNC). -EAGAIN
 * when none is queued; a pending ICMP error is returned (and cleared) first;
 * -EFAULT when the stack's copy into buf failed (the datagram is dropped
 * unless peeked, like Linux's). */
long udp_recvfrom(struct udp_sock *u, void *buf, size_t len, struct ip4_endpoint *src,
		  size_t *full_len, unsigned flags);
/* MSG_PEEK with SO_PEEK_OFF: the datagram *off bytes into the queue (the
 * whole ones before it skipped, Linux's __skb_try_recv_from_queue), copied
 * from that offset within it, which *off becomes; *full_len its size, m
 * (when not NULL) what its IP header said. -EAGAIN when the offset is past
 * every datagram; a pending error first, as udp_recvfrom(). */
struct udp_rx_meta;
long udp_peek_at(struct udp_sock *u, void *buf, size_t len, size_t *off, struct ip4_endpoint *src,
		 size_t *full_len, struct udp_rx_meta *m);
/* What the IP header said of the datagram udp_recvfrom() returns next (the
 * control messages IP_PKTINFO, IP_TTL, IP_TOS, SO_TIMESTAMP). -EAGAIN when none. */
struct udp_rx_meta {
	uint32_t dst;               /* the destination address */
	uint8_t ttl, tos;
	bool looped;                /* sent by this stack to itself: Linux's loopback device */
	uint64_t at;                /* when it arrived (the stack's clock) */
	uint32_t dropcount;         /* SO_RXQ_OVFL: the socket's drops when it was queued (0: none, or off) */
};
int udp_next_meta(const struct udp_sock *u, struct udp_rx_meta *m);
/* IP_RECVERR (Linux's ip_icmp_error): every ICMP error about what the
 * socket sent is queued (and becomes its pending error) for MSG_ERRQUEUE. */
void udp_set_recverr(struct udp_sock *u, bool on);
/* SO_RXQ_OVFL (Linux's sock_skb_set_dropcount): the datagrams queued while
 * it is on carry the count of datagrams the socket dropped until then. */
void udp_set_rxq_ovfl(struct udp_sock *u, bool on);
/* UDP_SEGMENT (Linux's UDP GSO): a send longer than gso_size leaves as
 * datagrams of gso_size bytes (the last one shorter), at most
 * UDP_MAX_SEGMENTS of them; 0 turns it off. */
#define UDP_MAX_SEGMENTS 128        /* Linux 6.x's (1 << 7) */
void udp_set_gso(struct udp_sock *u, uint16_t gso_size);
struct udp_err_info {
	int err;                    /* negative errno */
	uint8_t type, code;         /* of the ICMP message (origin: ICMP) */
	bool local;                 /* SO_EE_ORIGIN_LOCAL: found by this host (EMSGSIZE), no offender */
	uint32_t info;
	uint32_t offender;          /* the ICMP message's source */
	uint32_t icmp_dst;          /* and its destination, TTL, TOS (udp_icmp_info) */
	uint8_t icmp_ttl, icmp_tos;
	bool icmp_looped;
	uint64_t at;                /* when it was queued (the stack's clock) */
	struct ip4_endpoint dst;    /* where the datagram went */
};
/* Dequeues the oldest error: its quoted payload into buf (up to len; *full
 * its size; the stack's copy), its details into ei. The pending error
 * becomes the next one's. -EAGAIN when none; -EFAULT when the copy failed
 * (the error is dequeued all the same, like Linux's). */
long udp_recv_err(struct udp_sock *u, void *buf, size_t len, size_t *full, struct udp_err_info *ei);
/* POLLERR also while errors are queued. */
unsigned udp_poll(const struct udp_sock *u);
/* Datagrams queued so far, a count that only grows (the shim's O_ASYNC). */
uint64_t udp_rx_count(const struct udp_sock *u);
/* Whether a datagram ever came for it or went from it (or waits, corked). */
bool udp_used(const struct udp_sock *u);
/* A datagram waits, corked (MSG_MORE, UDP_CORK): Linux's up->pending. */
bool udp_corked(const struct udp_sock *u);
/*
 * A datagram from src to dst that reached this host over its loopback by
 * another way than the stack (a caller's kernel socket on 127.0.0.1):
 * queued as one Linux's lo delivered (IP_PKTINFO's interface 1), when u
 * takes it (not connected to another peer) and has room. True when queued.
 */
bool udp_deliver_lo(struct udp_sock *u, const struct ip4_endpoint *src, uint32_t dst, uint8_t ttl, uint8_t tos,
		    const void *data, size_t len, uint64_t now);
/* A pending error (negative errno) for the next call, waking nobody. */
void udp_set_error(struct udp_sock *u, int err);
/* SO_ERROR: the pending error as a negative errno (0 when none), cleared. */
int udp_take_error(struct udp_sock *u);
void udp_local(const struct udp_sock *u, struct ip4_endpoint *ep);
/* -ENOTCONN when not connected (or connected to port 0, like Linux). */
int udp_peer(const struct udp_sock *u, struct ip4_endpoint *ep);
/* Connected (Linux's TCP_ESTABLISHED), to a port 0 too, which udp_peer()
 * does not show: what shutdown() goes by. */
bool udp_connected(const struct udp_sock *u);
void udp_set_wakeup(struct udp_sock *u, const struct sock_wakeup *w);
/* Hands a new socket the options kept before it existed: the receive
 * buffer (SO_RCVBUF, doubled like Linux's) when set, IP_TOS, SO_BROADCAST. */
void udp_set_opts(struct udp_sock *u, const struct sock_opts *o);
/* SO_REUSEADDR (INPCB_REUSEADDR) or SO_REUSEPORT (INPCB_REUSEPORT) now,
 * bound or not. */
void udp_set_reuse(struct udp_sock *u, unsigned flag, bool on);
void udp_set_broadcast(struct udp_sock *u, bool on);
/* IP_MULTICAST_ALL: off, a group's datagrams only when this socket joined it. */
void udp_set_mc_all(struct udp_sock *u, bool on);
/* UDP_CORK: the sends make one datagram until it is turned off, which
 * sends it (as MSG_MORE does until a send without it). */
void udp_set_cork(struct udp_sock *u, bool on, uint64_t now);
/* IP_MULTICAST_TTL and IP_MULTICAST_LOOP. */
void udp_set_multicast(struct udp_sock *u, uint8_t ttl, bool loop);
void udp_get_multicast(const struct udp_sock *u, uint8_t *ttl, bool *loop);

/*
 * Multicast reception (RFC 1112 level 2, without IGMP messages): a socket
 * joins a group on the stack's one interface (IP_ADD_MEMBERSHIP); the stack
 * then takes datagrams to that group, and, like Linux with IP_MULTICAST_ALL
 * on (its default), hands them to every socket bound to their port (the
 * wildcard address or the group). udp_join: -EINVAL (not a multicast
 * address), -EADDRINUSE (joined already), -ENOBUFS (UDP_MAX_MEMBERSHIPS);
 * udp_leave: -EADDRNOTAVAIL (not joined).
 */
int udp_join(struct udp_sock *u, uint32_t group);
int udp_leave(struct udp_sock *u, uint32_t group);
/*
 * A socket's memberships and their source filters as plain data (Linux's
 * ip_mc_socklist: sfmode, sflist), with the rules of the calls below on
 * it: the stack's sockets keep one, and so does a socket the stack has not
 * made yet (a joiner's UDP socket before its bind: shim/sock.c), which
 * hands it over once made. Each group's filter: INCLUDE only the sources
 * listed, or EXCLUDE them (an any-source join: EXCLUDE with none). No lock.
 */
struct udp_mships {
	uint32_t groups[UDP_MAX_MEMBERSHIPS];
	struct {
		bool include;
		uint8_t n;
		uint32_t src[UDP_MAX_MSF];
	} sf[UDP_MAX_MEMBERSHIPS];
	unsigned ngroups;
};
int udp_mships_join(struct udp_mships *m, uint32_t group);
int udp_mships_leave(struct udp_mships *m, uint32_t group);
int udp_mships_source(struct udp_mships *m, uint32_t group, uint32_t src, bool include, bool add);
int udp_mships_set_msfilter(struct udp_mships *m, uint32_t group, bool include, const uint32_t *src, unsigned n);
int udp_mships_get_msfilter(const struct udp_mships *m, uint32_t group, bool *include, uint32_t *src,
			    unsigned max);
/* A source of a group's filter (Linux's ip_mc_source): include true for
 * IP_ADD/DROP_SOURCE_MEMBERSHIP (the add joins the group first), false
 * for IP_BLOCK/UNBLOCK_SOURCE; add or drop. -EINVAL (no such group, or
 * the filter has sources of the other mode), -EADDRNOTAVAIL (a source not
 * listed, or listed already), -ENOBUFS (UDP_MAX_MSF sources). */
int udp_source_filter(struct udp_sock *u, uint32_t group, uint32_t src, bool include, bool add);
/* A group's whole source filter (IP_MSFILTER, MCAST_MSFILTER: Linux's
 * ip_mc_msfilter, ip_mc_msfget). Set: the mode and the n sources in place of
 * what was there; (INCLUDE, none) leaves the group; -EINVAL when not joined,
 * -ENOBUFS for more than UDP_MAX_MSF. Get: the mode and up to max sources;
 * the number the filter has, or -EADDRNOTAVAIL when not joined. */
int udp_set_msfilter(struct udp_sock *u, uint32_t group, bool include, const uint32_t *src, unsigned n);
int udp_get_msfilter(const struct udp_sock *u, uint32_t group, bool *include, uint32_t *src, unsigned max);
/* Whether the stack takes datagrams to group: a socket joined it, or it is
 * 224.0.0.1 (all hosts, RFC 1112 §4). */
bool udp_group_joined(const struct stack *s, uint32_t group);
void udp_set_rcvbuf(struct udp_sock *u, size_t bytes);
size_t udp_get_rcvbuf(const struct udp_sock *u);
/* Size of the next datagram (FIONREAD), 0 when none. */
size_t udp_next_size(const struct udp_sock *u);
void udp_set_tos(struct udp_sock *u, uint8_t tos);
/* IP_TTL for unicast datagrams: 0 the default. */
void udp_set_ttl(struct udp_sock *u, uint8_t ttl);
/* SO_DONTROUTE: destinations beyond the link are -ENETUNREACH. */
void udp_set_dontroute(struct udp_sock *u, bool on);
/* IP_MTU_DISCOVER (SOCK_PMTUDISC_*): DF, and EMSGSIZE for what does not fit. */
void udp_set_pmtudisc(struct udp_sock *u, uint8_t mode);
/* IP_LOCAL_PORT_RANGE (Linux's u32, high << 16 | low; 0 none): narrows
 * the ports bind() to port 0 and the first send pick from (inpcb_port_range). */
void udp_set_port_range(struct udp_sock *u, uint32_t range);
/* IP_BIND_ADDRESS_NO_PORT: udp_bind() to port 0 takes the address only,
 * holding no port (bind() may come again); the first send or connect()
 * picks one for that address. */
void udp_set_bind_no_port(struct udp_sock *u, bool on);
/* Read-only walk of every socket, for diagnostics (pstack stat): the first
 * (NULL: none), then the one after u. Lock held throughout. */
const struct udp_sock *udp_sock_first(const struct stack *s);
const struct udp_sock *udp_sock_next(const struct udp_sock *u);
/* Bytes of the datagrams queued for reading (ss's Recv-Q). */
size_t udp_inq(const struct udp_sock *u);

/* SO_ATTACH_FILTER (n instructions, copied) or SO_DETACH_FILTER (n 0): the
 * classic BPF program run on each datagram before it is queued; a program
 * the kernel's checks took (stack/core/bpf.h). ifindex: the device's index,
 * as the program reads it. */
int udp_set_filter(struct udp_sock *u, const struct bpf_insn *prog, unsigned n, uint32_t ifindex);

#endif
