/*
 * ICMP for IPv4. Read first: RFC 792 (message formats), RFC 1122 §3.2.2
 * (what a host must send, must not send, and how it passes errors up),
 * RFC 1191 §4 (fragmentation needed carries the next-hop MTU), RFC 6633
 * (source quench is ignored).
 */
#include "stack/core/icmp4.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/ip4.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"

#define TOKEN 1000000ull   /* one token, in micro-tokens (refill is per microsecond) */

/* A destination's bucket (Linux's inet_peer rate_tokens/rate_last): its
 * tokens in microseconds of credit, ICMP_PEER_INTERVAL_US an error. */
struct icmp4_peer {
	uint32_t addr;      /* 0: a free slot */
	uint64_t tokens;
	uint64_t last;      /* when tokens was last refilled */
};

struct icmp4_state {
	uint64_t tokens;    /* micro-tokens */
	uint64_t last;      /* when tokens was last refilled */
	struct icmp4_peer peers[ICMP_PEERS];
};

int icmp4_init(struct stack *s)
{
	s->icmp4 = calloc(1, sizeof(*s->icmp4));
	if (!s->icmp4)
		return -ENOMEM;
	s->icmp4->tokens = ICMP_ERRORS_BURST * TOKEN;
	s->icmp4->last = s->now;
	return 0;
}

void icmp4_fini(struct stack *s)
{
	free(s->icmp4);
	s->icmp4 = NULL;
}

/* Token bucket: ICMP_ERRORS_PER_SEC tokens a second, ICMP_ERRORS_BURST at
 * most; whether one is there (Linux's icmp_global_allow: spent only when
 * the error goes, icmp_global_consume). */
static bool icmp4_rate_allow(struct stack *s, uint64_t now)
{
	struct icmp4_state *st = s->icmp4;
	uint64_t cap = ICMP_ERRORS_BURST * TOKEN;

	if (now > st->last) {
		uint64_t add = (now - st->last) * ICMP_ERRORS_PER_SEC;

		st->tokens = add >= cap - st->tokens ? cap : st->tokens + add;
		st->last = now;
	}
	return st->tokens >= TOKEN;
}

/* Spends the token icmp4_rate_allow found. */
static void icmp4_rate_spend(struct stack *s)
{
	s->icmp4->tokens -= TOKEN;
}

/* Like Linux's icmpv4_xrlim_allow() (inet_peer_xrlim_allow): a bucket per
 * destination, refilled a microsecond a microsecond up to ICMP_PEER_BURST
 * errors' worth, ICMP_PEER_INTERVAL_US an error. A destination not seen
 * (or forgotten) starts full, as Linux's new inet_peer does (its
 * rate_last 60 s in the past). */
static struct icmp4_peer *icmp4_peer_get(struct stack *s, uint32_t addr, uint64_t now)
{
	struct icmp4_peer *p, *oldest = NULL;

	for (unsigned i = 0; i < ICMP_PEERS; i++) {
		p = &s->icmp4->peers[i];
		if (p->addr == addr)
			return p;
		if (!oldest || !p->addr || (oldest->addr && p->last < oldest->last))
			oldest = p;
	}
	oldest->addr = addr;
	oldest->tokens = ICMP_PEER_BURST * ICMP_PEER_INTERVAL_US;
	oldest->last = now;
	return oldest;
}

static bool icmp4_peer_allow(struct stack *s, uint32_t addr, uint64_t now)
{
	struct icmp4_peer *p = icmp4_peer_get(s, addr, now);
	uint64_t cap = ICMP_PEER_BURST * ICMP_PEER_INTERVAL_US;

	if (now > p->last) {
		p->tokens = now - p->last >= cap - p->tokens ? cap : p->tokens + (now - p->last);
		p->last = now;
	}
	if (p->tokens < ICMP_PEER_INTERVAL_US)
		return false;
	p->tokens -= ICMP_PEER_INTERVAL_US;
	return true;
}

/* RFC 792: the message types that are errors (never answered with an error). */
static bool icmp4_type_is_query(uint8_t type)
{
	switch (type) {
	case ICMP_ECHO_REPLY:
	case ICMP_ECHO_REQUEST:
	case 13: case 14:       /* timestamp, timestamp reply */
	case 15: case 16:       /* information request, reply */
	case 17: case 18:       /* address mask request, reply */
		return true;
	default:
		/* Unknown types count as errors, as in Linux's icmp_pointers. */
		return false;
	}
}

/* Sends the ICMP message hdr, body (the checksum is filled in), with the
 * IP options opts (opts_len bytes, a multiple of 4; none when 0). Cut at
 * the path's MTU, without DF: Linux's ICMP socket is IP_PMTUDISC_DONT,
 * whose fragment size is the path's (ip_setup_cork, ip_sk_use_pmtu).
 * Measured on Linux 6.18 (rawframes icmp_echo_frag_needed_path, path MTU
 * 1000): an echo of 1300 bytes drew fragments of 996 and 352 bytes
 * (pstack: one reply of 1328). */
static int icmp4_send_opts(struct stack *s, uint32_t src, uint32_t dst, uint8_t tos, const struct icmp4_hdr *hdr,
			   const uint8_t *body, size_t body_len, const uint8_t *opts, size_t opts_len, uint64_t now)
{
	struct pkb *p = pkb_alloc_frame(ICMP_HLEN + body_len);
	struct ip4_tx tx = { .src = src, .dst = dst, .proto = IP_PROTO_ICMP, .tos = tos,
			     .opts = opts, .opts_len = (uint8_t)opts_len, .mtu = ip4_pmtu(s, dst, now) };
	uint8_t *m;

	if (!p)
		return -ENOBUFS;
	m = pkb_put(p, ICMP_HLEN + body_len);
	icmp4_hdr_emit(m, hdr);
	memcpy(m + ICMP_HLEN, body, body_len);
	icmp4_fill_csum(m, ICMP_HLEN + body_len);
	s->stats.icmp_out++;
	return ip4_output(s, p, &tx, now);
}

/* Sends an error of type/code about orig (RFC 792 formats). */
static void icmp4_send_error(struct stack *s, const struct ip4_hdr *orig, uint8_t type, uint8_t code,
			     uint32_t rest, uint64_t now)
{
	struct icmp4_hdr hdr = { .type = type, .code = code, .rest = rest }, om;
	uint8_t opts[IP4_HLEN_MAX - IP4_HLEN], q[ICMP_ERROR_MAX_LEN];
	const uint8_t *body;
	size_t quote, room;
	int olen;

	/* RFC 1122 §3.2.2: never about a non-first fragment, a datagram to a
	 * broadcast or multicast address, one whose source is not a single
	 * host, or an ICMP error message. */
	if (orig->frag_off)
		return;
	if (ip4_is_broadcast(s, orig->dst) || ip4_is_multicast(orig->dst))
		return;
	if (orig->src == 0 || ip4_is_broadcast(s, orig->src) || ip4_is_multicast(orig->src))
		return;
	/* Nor, as Linux's __icmp_send ("no replies to physical multicast/
	 * broadcast": pkt_type != PACKET_HOST), about one that came in a
	 * link-layer broadcast or multicast frame, whatever its IP destination. */
	if (ip4_link_group(orig))
		return;
	if (orig->proto == IP_PROTO_ICMP &&
	    (icmp4_hdr_parse(orig->raw + orig->ihl, orig->raw_len - orig->ihl, &om) != WIRE_OK ||
	     !icmp4_type_is_query(om.type)))
		return;
	/* RFC 1122 §3.2.2: the rate of error messages SHOULD be limited: as
	 * Linux's __icmp_send, for all destinations together, then for this
	 * one (a token of the first is not spent when the second refuses). */
	if (!icmp4_rate_allow(s, now) || !icmp4_peer_allow(s, orig->src, now)) {
		stack_drop(s, DROP_ICMP_RATE_LIMITED);
		return;
	}
	icmp4_rate_spend(s);
	/* Like Linux's __icmp_send(): the error carries the datagram's record
	 * route and timestamp options back (__ip_options_echo; no error when
	 * they cannot be). */
	olen = ip4_options_echo(s, orig->raw, orig->ihl, opts, now);
	if (olen < 0)
		return;
	/* RFC 792 asks for the internet header plus the first 64 bits of the
	 * data; RFC 1812 §4.3.2.3 for as much as fits in 576 bytes, which is
	 * what Linux quotes (__icmp_send: room = 576 less the IP header, its
	 * options and the ICMP header), the whole datagram when it is shorter. */
	room = ICMP_ERROR_MAX_LEN - IP4_HLEN - (size_t)olen - ICMP_HLEN;
	quote = orig->raw_len < room ? orig->raw_len : room;
	body = orig->raw;
	if (orig->ihl > IP4_HLEN) {
		/* Linux quotes the datagram as its option processing changed it. */
		ip4_options_quote(s, orig->raw, orig->ihl, q, now);
		memcpy(q + orig->ihl, orig->raw + orig->ihl, quote - orig->ihl);
		body = q;
	}
	/* Precedence 6 (internetwork control) with the datagram's TOS bits, as
	 * Linux marks its errors (__icmp_send: RT_TOS(iph->tos) |
	 * IPTOS_PREC_INTERNETCONTROL). */
	icmp4_send_opts(s, orig->dst, orig->src, (orig->tos & 0x1e) | 0xc0, &hdr, body, quote, opts, (size_t)olen,
			now);
}

void icmp4_send_unreach(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now)
{
	icmp4_send_error(s, orig, ICMP_DEST_UNREACH, code, 0, now);
}

void icmp4_send_time_exceeded(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now)
{
	icmp4_send_error(s, orig, ICMP_TIME_EXCEEDED, code, 0, now);
}

void icmp4_send_param_problem(struct stack *s, const struct ip4_hdr *orig, uint8_t ptr, uint64_t now)
{
	/* RFC 792: the pointer is the first byte of the second word. */
	icmp4_send_error(s, orig, ICMP_PARAM_PROBLEM, 0, (uint32_t)ptr << 24, now);
}

/* The -errno for a destination unreachable code (RFC 1122 §3.2.2.1), as
 * Linux's icmp_err_convert table. */
static int icmp4_unreach_errno(uint8_t code)
{
	switch (code) {
	case 0: case 6: case 9: case 11:
		return -ENETUNREACH;
	case 2:
		return -ENOPROTOOPT;
	case ICMP_UNREACH_PORT:
		return -ECONNREFUSED;
	case ICMP_UNREACH_NEEDFRAG:
		return -EMSGSIZE;
	case 5:
		return -EOPNOTSUPP;
	case 7:
		return -EHOSTDOWN;
	case 8:
		return -ENONET;
	default:        /* 1, 10, 12..15 */
		return -EHOSTUNREACH;
	}
}

int icmp4_error_errno(uint8_t type, uint8_t code)
{
	switch (type) {
	case ICMP_DEST_UNREACH:
		return icmp4_unreach_errno(code);
	case ICMP_TIME_EXCEEDED:
		return -EHOSTUNREACH;
	case ICMP_PARAM_PROBLEM:
		return -EPROTO;
	default:
		return 0;
	}
}

/* Hands an error about our datagram qh to the transport that sent it
 * (RFC 1122 §3.2.2: MUST pass it up). false when no transport takes it. */
static bool icmp4_dispatch(struct stack *s, const struct ip4_hdr *qh, int err, uint32_t mtu,
			   const struct udp_icmp_info *ii)
{
	const uint8_t *tp = qh->raw + qh->ihl;
	size_t tlen = qh->raw_len - qh->ihl;

	switch (qh->proto) {
	case IP_PROTO_UDP:
		udp_icmp_error(s, qh, tp, tlen, err, ii);
		return true;
	case IP_PROTO_TCP:
		/* Linux's tcp_v4_err ignores an unreachable of a code past the
		 * ones it knows (NR_ICMP_UNREACH): it does not end a connection
		 * attempt. Measured on Linux 6.18 (code 20 about the SYN): no
		 * error, the SYN-ACK then completes the connection (pstack:
		 * EHOSTUNREACH, and a RST for the SYN-ACK). UDP takes it as a
		 * soft error (__udp4_lib_err), unreported as before. */
		if (ii->type == ICMP_DEST_UNREACH && ii->code > ICMP_UNREACH_LAST)
			return false;
		tcp_icmp_error(s, qh, tp, tlen, err, mtu,
			       ii->type == ICMP_TIME_EXCEEDED || ii->type == ICMP_PARAM_PROBLEM ||
			       (ii->type == ICMP_DEST_UNREACH && ii->code <= 1));
		return true;
	default:
		return false;
	}
}

/* An error about a datagram we sent: decode the quoted header and pass it up. */
static void icmp4_error_input(struct stack *s, const struct ip4_hdr *ih, const struct icmp4_hdr *m,
			      const uint8_t *p, size_t len)
{
	struct udp_icmp_info ii = { .type = m->type, .code = m->code, .from = ih->src, .to = ih->dst,
				    .ttl = ih->ttl, .tos = ih->tos, .looped = ih->looped, .at = s->now };
	uint32_t from = ih->src;
	struct ip4_hdr qh;
	uint32_t mtu = 0;

	/* The quote is the original header and at least 8 bytes of its data. */
	if (ip4_hdr_parse_quote(p + ICMP_HLEN, len - ICMP_HLEN, &qh) != WIRE_OK) {
		stack_drop(s, DROP_ICMP_TRUNCATED);
		return;
	}
	/* Only about what we sent (from our address, or over loopback from
	 * 127.0.0.0/8: ip4_this_host; ip4_input keeps such sources off the
	 * wire), and only a first fragment names the ports. */
	if ((qh.src != s->cfg.addr && !(ip4_is_loopback(qh.src) && ip4_is_loopback(from))) || qh.frag_off) {
		stack_drop(s, DROP_ICMP_UNHANDLED);
		return;
	}
	if (m->type == ICMP_DEST_UNREACH && m->code == ICMP_UNREACH_NEEDFRAG) {
		/* RFC 1191 §4: the next-hop MTU is in the low 16 bits of the
		 * second word; old routers leave it 0. Like Linux's
		 * icmp_unreach, it is taken as it is (RFC 1191 §7's plateau
		 * guess is not made): below net.ipv4.route.min_pmtu, it makes
		 * the path 552, locked (ip4_pmtu_learn). Measured on Linux 6.18
		 * (the bulk sender, fragmentation needed with MTU 0): its data
		 * sent again in segments of 512 without DF (pstack: 1452, the
		 * plateau below 1500). */
		mtu = icmp4_next_mtu(m);
	}
	ii.info = mtu;
	/* Linux's icmp_unreach: a parameter problem's info is its pointer,
	 * the first byte of the second word (RFC 792), which IP_RECVERR
	 * reports as ee_info. Measured on Linux 6.18 (rawframes
	 * udp_unconn_param_problem_recverr, pointer 1): ee_info 1 (pstack: 0). */
	if (m->type == ICMP_PARAM_PROBLEM)
		ii.info = m->rest >> 24;
	if (!icmp4_dispatch(s, &qh, icmp4_error_errno(m->type, m->code), mtu, &ii))
		stack_drop(s, DROP_ICMP_UNHANDLED);
}

void icmp4_local_unreach(struct stack *s, const uint8_t *ip, size_t len)
{
	/* Linux sends itself host unreachable (ipv4_link_failure): from itself,
	 * over lo, as icmp_send makes it (TOS 0xc0, the default TTL). */
	struct udp_icmp_info ii = { .type = ICMP_DEST_UNREACH, .code = 1, .from = s->cfg.addr, .to = s->cfg.addr,
				    .ttl = IP4_DEFAULT_TTL, .tos = 0xc0, .looped = true, .at = s->now };
	struct ip4_hdr qh;

	if (ip4_hdr_parse_quote(ip, len, &qh) == WIRE_OK && !qh.frag_off)
		icmp4_dispatch(s, &qh, -EHOSTUNREACH, 0, &ii);
}

void icmp4_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	uint8_t opts[IP4_HLEN_MAX - IP4_HLEN];
	struct icmp4_hdr m;
	int olen;

	s->stats.icmp_in++;
	if (icmp4_hdr_parse(p, len, &m) != WIRE_OK) {
		stack_drop(s, DROP_ICMP_TRUNCATED);
		return;
	}
	/* RFC 792: the checksum covers the whole ICMP message. */
	if ((ih->rx_csum & STACK_CSUM_ICMP4) && csum_fold(csum_partial(p, len, 0)) != 0) {
		stack_drop(s, DROP_ICMP_BAD_CSUM);
		return;
	}
	/* RFC 1122 §3.2.2: an error about our datagram comes to our own
	 * address. Linux's icmp_rcv takes only echo, timestamp and address
	 * mask (request and reply) sent to a broadcast or multicast address
	 * (RTCF_BROADCAST | RTCF_MULTICAST; the other queries are dropped
	 * below in any case): an unreachable sent to the
	 * subnet's broadcast must not break every connection to that peer.
	 * Measured on Linux 6.18 (a port unreachable about a connected UDP
	 * socket's datagram, to 192.0.2.255): the next recv says EAGAIN. */
	if ((ip4_is_broadcast(s, ih->dst) || ip4_is_multicast(ih->dst)) && !icmp4_type_is_query(m.type)) {
		stack_drop(s, DROP_ICMP_TO_GROUP);
		return;
	}
	switch (m.type) {
	case ICMP_ECHO_REQUEST: {
		/* Linux's icmp_echo() keeps the request's code (RFC 792 says
		 * 0; a request with another code gets it back). */
		struct icmp4_hdr reply = { .type = ICMP_ECHO_REPLY, .code = m.code, .rest = m.rest };

		/* Deviation: RFC 1122 §3.2.2.6 allows answering a broadcast echo;
		 * like Linux (icmp_echo_ignore_broadcasts=1) we do not (smurf). */
		if (ih->dst != s->cfg.addr) {
			stack_drop(s, DROP_ICMP_UNHANDLED);
			return;
		}
		/* RFC 792: same identifier, sequence number and data; RFC 1122
		 * §3.2.2.6: the reply's source is the request's destination, and
		 * §3.2.2.6 / RFC 791: its record route and timestamp options come
		 * back (ip4_options_echo; none when they cannot, as Linux's
		 * icmp_reply() sends nothing then). */
		if ((olen = ip4_options_echo(s, ih->raw, ih->ihl, opts, now)) < 0) {
			stack_drop(s, DROP_ICMP_UNHANDLED);
			return;
		}
		icmp4_send_opts(s, ih->dst, ih->src, ih->tos, &reply, p + ICMP_HLEN, len - ICMP_HLEN, opts,
				(size_t)olen, now);
		break;
	}
	case ICMP_TIMESTAMP: {
		struct icmp4_hdr reply = { .type = ICMP_TIMESTAMP_REPLY, .rest = m.rest };
		uint8_t times[12];
		uint32_t ms;

		/* Not to a broadcast, like Linux (icmp_echo_ignore_broadcasts
		 * covers timestamps too). */
		if (ih->dst != s->cfg.addr) {
			stack_drop(s, DROP_ICMP_UNHANDLED);
			return;
		}
		/* Like Linux's icmp_timestamp(): 4 bytes (the originate
		 * timestamp) are enough, the rest is not looked at. */
		if (len < ICMP_HLEN + 4) {
			stack_drop(s, DROP_ICMP_TRUNCATED);
			return;
		}
		/* RFC 792: the originate timestamp back, then the receive and
		 * transmit timestamps, milliseconds since midnight UT (Linux's
		 * inet_current_timestamp(): both the same). */
		ms = stack_ms_of_day(s, now);
		memcpy(times, p + ICMP_HLEN, 4);
		wr32(times + 4, ms);
		wr32(times + 8, ms);
		if ((olen = ip4_options_echo(s, ih->raw, ih->ihl, opts, now)) < 0) {
			stack_drop(s, DROP_ICMP_UNHANDLED);
			return;
		}
		icmp4_send_opts(s, ih->dst, ih->src, ih->tos, &reply, times, sizeof(times), opts, (size_t)olen, now);
		break;
	}
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAM_PROBLEM:
		icmp4_error_input(s, ih, &m, p, len);
		break;
	default:
		/* Echo replies (no ping sockets), source quench (RFC 6633),
		 * redirects, timestamp replies: not handled. */
		stack_drop(s, DROP_ICMP_UNHANDLED);
		break;
	}
}
