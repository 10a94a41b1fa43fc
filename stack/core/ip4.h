/*
 * IPv4 (RFC 791, RFC 1122 §3): validation, routing (on-link or via the
 * gateway), reassembly (RFC 815) with a timeout and a memory bound,
 * fragmentation on output.
 */
#ifndef PSTACK_IP4_H
#define PSTACK_IP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/wire/ip4.h"

struct stack;

#define IP4_DEFAULT_TTL 64
#define IP4_REASS_TIMEOUT_US (30ull * 1000000)  /* like Linux's ipfrag_time */
#define IP4_REASS_MEM_MAX    (4u << 20)         /* bytes held in reassembly at most */
#define IP4_PMTU_EXPIRES_US (600ull * 1000000)  /* like Linux's net.ipv4.route.mtu_expires */
#define IP4_PMTU_MAX_DSTS    16                 /* destinations whose path MTU is remembered */
#define IP4_MIN_PMTU         552                /* like Linux's net.ipv4.route.min_pmtu */

/* What a transport asks of ip4_output(). */
struct ip4_tx {
	uint32_t src;           /* 0: the interface address */
	uint32_t dst;
	uint8_t proto;
	uint8_t tos;
	uint8_t ttl;            /* 0: IP4_DEFAULT_TTL */
	bool df;                /* don't fragment: -EMSGSIZE when too big */
	uint32_t mtu;           /* what it is held to and cut to; 0: the device's MTU */
	const uint8_t *opts;    /* IP options (a multiple of 4 bytes), or NULL */
	uint8_t opts_len;
};

int ip4_init(struct stack *s);
void ip4_fini(struct stack *s);
/* csum (enum stack_csum): the checksums to verify in this datagram; mac_len:
 * the bytes of the link's header right before pkt (the frame's destination
 * MAC first, any VLAN tags included). */
void ip4_input(struct stack *s, const uint8_t *pkt, size_t len, size_t mac_len, unsigned csum, uint64_t now);
/* pkb holds the transport header and payload; prepends the IPv4 header,
 * routes, fragments if needed and sends. Takes pkb. 0 or -errno. */
int ip4_output(struct stack *s, struct pkb *pkb, const struct ip4_tx *tx, uint64_t now);
void ip4_poll(struct stack *s, uint64_t now);
/* The datagrams sent to ourselves (ip4_loopback) that wait for delivery;
 * one round of it (the ones it causes are queued for the next). */
bool ip4_loop_pending(const struct stack *s);
void ip4_loop_deliver(struct stack *s, uint64_t now);
uint64_t ip4_poll_at(const struct stack *s);
/* RFC 1191 §5: the path MTU an ICMP "fragmentation needed" reported for
 * dst (at least IP4_MIN_PMTU), remembered for IP4_PMTU_EXPIRES_US when below the one
 * known, like Linux's route exception (__ip_rt_update_pmtu). */
void ip4_pmtu_learn(struct stack *s, uint32_t dst, uint32_t mtu, uint64_t now);
/* The path MTU to dst: the learned one while it lasts, else the interface's. */
/* The path MTU toward dst: what a fragmentation-needed taught, else the
 * device's; IP4_LOCAL_MTU for this host's own addresses (Linux's lo route,
 * capped at IP_MAX_MTU). */
#define IP4_LOCAL_MTU 65535u
uint32_t ip4_pmtu(const struct stack *s, uint32_t dst, uint64_t now);
/* The path MTU to dst was reported below IP4_MIN_PMTU and is locked there
 * (Linux's ip_mtu_locked): IP_PMTUDISC_WANT sends to it without DF. */
bool ip4_pmtu_locked(const struct stack *s, uint32_t dst, uint64_t now);
/* Parses and validates an IPv4 header (ip4_hdr_parse), verifying its checksum
 * when csum (enum stack_csum) has STACK_CSUM_IP4; h->rx_csum keeps csum for
 * the payload's checks. 0 or a drop reason (enum drop_reason) when invalid. */
int ip4_parse(const uint8_t *pkt, size_t len, unsigned csum, struct ip4_hdr *h);
/* The limited broadcast, or the subnet's directed broadcast for prefixes
 * that have one (RFC 919, RFC 922; RFC 3021: /31 has none). */
bool ip4_is_broadcast(const struct stack *s, uint32_t addr);
/* The options of a reply to the datagram whose header is hdr (Linux's ip_options_echo() and
 * ip_options_build(), after its ip_options_compile() on input): record route
 * and timestamp options come back with this host's address and time added
 * where there is room; others are not. Writes them at out (room for 40
 * bytes), padded to a multiple of 4; returns their length (0: none), or -1
 * when a reply must not be sent (an option too short to add to). */
int ip4_options_echo(const struct stack *s, const uint8_t *hdr, size_t ihl, uint8_t *out, uint64_t now);
/* The received header hdr (ihl bytes) as Linux's ICMP errors quote it: with
 * the changes its ip_options_compile() made on input (our address and time
 * in record route and timestamp options; the checksum left as it was).
 * Writes ihl bytes at out; returns ihl. */
size_t ip4_options_quote(const struct stack *s, const uint8_t *hdr, size_t ihl, uint8_t *out, uint64_t now);

/* Class D, 224.0.0.0/4 (RFC 1112 §4). */
static inline bool ip4_is_multicast(uint32_t addr)
{
	return (addr >> 28) == 0xe;
}

/* The datagram came in a link-layer broadcast or multicast frame (Linux's
 * pkt_type other than PACKET_HOST, from eth_type_trans): the group bit of
 * the frame's destination, right before the IP header when mac_len says
 * the frame's header is there (not for a reassembled or looped datagram). */
static inline bool ip4_link_group(const struct ip4_hdr *h)
{
	return h->mac_len && (h->raw[-(ptrdiff_t)h->mac_len] & 1);
}

#define IP4_LOOPBACK 0x7f000001u         /* 127.0.0.1 */

/* 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)): this host, never on a wire. */
static inline bool ip4_is_loopback(uint32_t addr)
{
	return (addr >> 24) == 127;
}

/* This host as a destination: the stack's own address (own, when it has
 * one) or 127.0.0.0/8. Linux routes both over lo (delivered here, lo's MTU). */
static inline bool ip4_is_local(uint32_t dst, uint32_t own)
{
	return (dst == own && dst != 0) || ip4_is_loopback(dst);
}

/*
 * INADDR_ANY as a destination is this host, as Linux's route lookup makes
 * it (ip_route_output_key_hash: a local route over loopback): the sender's
 * own address, or 127.0.0.1 when it has none (and the sender then sends
 * from 127.0.0.1 too, ip4_local_src). src: the socket's source, 0 if none.
 */
static inline uint32_t ip4_this_host(uint32_t src)
{
	return src ? src : IP4_LOOPBACK;
}

/* The source of a sender that has none, towards dst: a loopback
 * destination is its own source (Linux's RTN_LOCAL route takes the
 * destination), any other the interface's address (ifaddr). */
static inline uint32_t ip4_local_src(uint32_t dst, uint32_t ifaddr)
{
	return ip4_is_loopback(dst) ? dst : ifaddr;
}

#endif
