/*
 * IPv4. Read first: RFC 791 (header, fragmentation), RFC 1122 §3.2.1 (what a
 * host must check on receive), §3.3.1 (routing for a host), §3.3.2
 * (reassembly). RFC 815 for the reassembly algorithm (stack/core/ip4_frag.c).
 */
#include "stack/core/ip4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4_frag.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/wire/eth.h"
#include "stack/wire/wire.h"

/* Datagrams to our own address waiting for the next stack_poll(). */
#define IP4_LOOP_MAX 256

/* A path MTU learned from ICMP (RFC 1191 §5), until expires. */
struct ip4_pmtu_ent {
	uint32_t dst;
	uint32_t mtu;
	uint64_t expires;
	bool locked;            /* set at IP4_MIN_PMTU for a report below it */
};

struct ip4_state {
	uint16_t next_id;
	/* Bounded: a full table gives up the entry that expires first. */
	struct ip4_pmtu_ent pmtu[IP4_PMTU_MAX_DSTS];
	struct ip4_reass *reass;
	struct pkb *loop_head, *loop_tail;
	unsigned loop_len;
};

int ip4_init(struct stack *s)
{
	s->ip4 = calloc(1, sizeof(*s->ip4));
	if (!s->ip4)
		return -ENOMEM;
	s->ip4->reass = ip4_reass_new();
	if (!s->ip4->reass) {
		free(s->ip4);
		s->ip4 = NULL;
		return -ENOMEM;
	}
	s->ip4->next_id = (uint16_t)stack_random(s);
	return 0;
}

void ip4_fini(struct stack *s)
{
	if (!s->ip4)
		return;
	while (s->ip4->loop_head) {
		struct pkb *p = s->ip4->loop_head;

		s->ip4->loop_head = p->next;
		pkb_free(p);
	}
	ip4_reass_free(s->ip4->reass);
	free(s->ip4);
	s->ip4 = NULL;
}

static struct ip4_pmtu_ent *pmtu_find(const struct stack *s, uint32_t dst, uint64_t now)
{
	struct ip4_pmtu_ent *e = s->ip4->pmtu;

	for (size_t i = 0; i < IP4_PMTU_MAX_DSTS; i++)
		if (e[i].mtu && e[i].dst == dst && now < e[i].expires)
			return &e[i];
	return NULL;
}

void ip4_pmtu_learn(struct stack *s, uint32_t dst, uint32_t mtu, uint64_t now)
{
	struct ip4_pmtu_ent *e = pmtu_find(s, dst, now), *slot;
	uint32_t cur = e ? e->mtu : s->mtu;
	bool lock = false;

	/* Like Linux's __ip_rt_update_pmtu: a locked path MTU stays as it is
	 * until it expires; nothing below net.ipv4.route.min_pmtu (552) is
	 * kept for the destination (one forged report cannot bring every
	 * later connection to tiny segments for ten minutes): such a report
	 * sets 552 and locks it, and what goes to that path then goes without
	 * DF (ip_dont_fragment, ip4_pmtu_locked) for routers to fragment. */
	if (e && e->locked)
		return;
	if (mtu > cur)
		return;
	if (mtu < IP4_MIN_PMTU) {
		lock = true;
		mtu = cur < IP4_MIN_PMTU ? cur : IP4_MIN_PMTU;
	}
	if (mtu == cur && !e && !lock)
		return;         /* the same again only restarts the entry's time */
	if (!e) {
		slot = &s->ip4->pmtu[0];
		for (size_t i = 0; i < IP4_PMTU_MAX_DSTS; i++) {
			e = &s->ip4->pmtu[i];
			if (!e->mtu || now >= e->expires || e->dst == dst) {
				slot = e;
				break;
			}
			if (e->expires < slot->expires)
				slot = e;
		}
		e = slot;
	}
	e->dst = dst;
	e->mtu = mtu;
	e->locked = lock;
	e->expires = now + IP4_PMTU_EXPIRES_US;
}

bool ip4_pmtu_locked(const struct stack *s, uint32_t dst, uint64_t now)
{
	const struct ip4_pmtu_ent *e = pmtu_find(s, dst, now);

	return e && e->locked;
}

uint32_t ip4_pmtu(const struct stack *s, uint32_t dst, uint64_t now)
{
	const struct ip4_pmtu_ent *e;

	/* This host (ip4_output delivers it here): Linux routes it over lo,
	 * whose MTU the route caps at IP_MAX_MTU. */
	if (ip4_is_local(dst, s->cfg.addr))
		return IP4_LOCAL_MTU;
	e = pmtu_find(s, dst, now);

	return e ? e->mtu : s->mtu;
}

const struct ip4_reass *ip4_reass_of(const struct stack *s)
{
	return s->ip4->reass;
}

int ip4_parse(const uint8_t *pkt, size_t len, unsigned csum, struct ip4_hdr *h)
{
	/* Bytes past total_len are the link's padding (Ethernet's 60-byte minimum). */
	switch (ip4_hdr_parse(pkt, len, h)) {
	case WIRE_OK:
		break;
	case WIRE_TRUNCATED:
		return DROP_IP_TRUNCATED;
	case WIRE_BAD_VERSION:
		return DROP_IP_BAD_VERSION;
	case WIRE_BAD_HLEN:
	case WIRE_HDR_TRUNCATED:
		return DROP_IP_BAD_IHL;
	default:
		return DROP_IP_BAD_LENGTH;
	}
	/* RFC 1122 §3.2.1.2: MUST verify and silently discard on mismatch. */
	if ((csum & STACK_CSUM_IP4) && csum_fold(csum_partial(pkt, h->ihl, 0)) != 0)
		return DROP_IP_BAD_CSUM;
	h->rx_csum = csum;
	/* Options (RFC 791 §3.1) are checked by ip4_input (ip4_options_check),
	 * for datagrams that are ours. */
	return 0;
}

/* RFC 791 §3.1 option types. */
#define IPOPT_END 0
#define IPOPT_NOP 1
#define IPOPT_RR 7
#define IPOPT_TS 68
#define IPOPT_LSRR 131
#define IPOPT_CIPSO 134
#define IPOPT_SSRR 137
#define IPOPT_RA 148
#define IPOPT_TS_TSONLY 0
#define IPOPT_TS_TSANDADDR 1
#define IPOPT_TS_PRESPEC 3

/*
 * The options of a datagram for us, checked as Linux's ip_options_compile()
 * checks a received one: 0 when they are well formed, else the offset in
 * the header of the byte a parameter problem points at (RFC 792; at least
 * IP4_HLEN), with *at the offset of the option it is in. *srr says a source
 * route is there. Unknown options, and the basic security one, pass
 * unchecked. A CIPSO option (RFC 1108's successor, FIPS 188) is always
 * refused: Linux built with NetLabel, as distributions ship it, validates
 * it (cipso_v4_validate) against the domains of interpretation configured,
 * and with none configured (the default; pstack has no labelled
 * networking) it points at the length when the option is shorter than
 * its 8-byte minimum, else at the DOI, which is unknown.
 */
static unsigned ip4_options_check(const uint8_t *hdr, size_t ihl, bool *srr, size_t *at)
{
	bool rr = false, ts = false;
	size_t i = IP4_HLEN;

	*srr = false;
	while (i < ihl) {
		*at = i;
		uint8_t type = hdr[i], len, ptr;

		if (type == IPOPT_END)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		len = i + 1 < ihl ? hdr[i + 1] : 0;
		if (len < 2 || len > ihl - i)
			return (unsigned)i;
		ptr = len >= 3 ? hdr[i + 2] : 0;
		switch (type) {
		case IPOPT_SSRR:
		case IPOPT_LSRR:
			if (len < 3)
				return (unsigned)i + 1;
			if (ptr < 4)
				return (unsigned)i + 2;
			if (*srr)       /* RFC 1812 §5.2.4.1: one source route */
				return (unsigned)i;
			*srr = true;
			break;
		case IPOPT_RR:
			if (rr)
				return (unsigned)i;
			if (len < 3)
				return (unsigned)i + 1;
			if (ptr < 4 || (ptr <= len && ptr + 3 > len))
				return (unsigned)i + 2;
			rr = true;
			break;
		case IPOPT_TS:
			if (ts)
				return (unsigned)i;
			if (len < 4)
				return (unsigned)i + 1;
			if (ptr < 5)
				return (unsigned)i + 2;
			if (ptr <= len) {
				uint8_t flag = hdr[i + 3] & 0xf;

				if (ptr + 3 > len)
					return (unsigned)i + 2;
				if ((flag == IPOPT_TS_TSANDADDR || flag == IPOPT_TS_PRESPEC) && ptr + 7 > len)
					return (unsigned)i + 2;
			} else if ((hdr[i + 3] >> 4) == 15) {
				return (unsigned)i + 3;      /* the overflow count would wrap */
			}
			ts = true;
			break;
		case IPOPT_RA:
			if (len < 4)
				return (unsigned)i + 1;
			break;
		case IPOPT_CIPSO:
			return (unsigned)i + (len < 8 ? 1 : 2);
		default:
			break;
		}
		i += len;
	}
	return 0;
}

/* An address Linux's inet_addr_type() does not call unicast: ours, a
 * broadcast, a multicast group, 0 or loopback. */
static bool ip4_not_unicast(const struct stack *s, uint32_t a)
{
	return a == s->cfg.addr || a == 0 || ip4_is_broadcast(s, a) || ip4_is_multicast(a) || ip4_is_loopback(a);
}

/* What ip4_options_input() found: where the record route and timestamp
 * options are (0: none), and the entries a reply of ours adds to them
 * (Linux's struct ip_options). */
struct ip4_opts {
	size_t rr, ts;
	bool rr_needaddr, ts_needaddr, ts_needtime;
};

/*
 * The options of hdr (a copy of a received header, ihl bytes, checked by
 * ip4_options_check up to limit) as Linux's ip_options_compile() leaves
 * them in the received datagram: our address and time recorded where
 * record route and timestamp options have room, the timestamp's overflow
 * count raised where not, and whatever follows an end-of-list option
 * cleared to end-of-list (RFC 791 §3.1: it ends the options; Linux
 * rewrites the bytes after it, is_changed). Linux's ICMP errors quote the
 * datagram so changed (without fixing its checksum), and its replies start
 * from it.
 */
static void ip4_options_input(const struct stack *s, uint8_t *hdr, size_t limit, uint32_t ms,
			      struct ip4_opts *o)
{
	size_t i = IP4_HLEN;

	memset(o, 0, sizeof(*o));
	while (i < limit) {
		uint8_t *d = hdr + i, len, ptr;

		if (d[0] == IPOPT_END) {
			memset(d + 1, IPOPT_END, limit - i - 1);
			break;
		}
		if (d[0] == IPOPT_NOP) {
			i++;
			continue;
		}
		len = d[1];
		ptr = len >= 3 ? d[2] : 0;
		if (d[0] == IPOPT_RR && !o->rr) {
			o->rr = i;
			if (ptr <= len) {
				wr32(d + ptr - 1, s->cfg.addr);
				d[2] = (uint8_t)(ptr + 4);
				o->rr_needaddr = true;
			}
		} else if (d[0] == IPOPT_TS && !o->ts) {
			o->ts = i;
			if (ptr > len) {
				/* Full: the overflow count goes up (RFC 791). */
				d[3] = (uint8_t)((d[3] & 0xf) | (((d[3] >> 4) + 1) << 4));
			} else {
				switch (d[3] & 0xf) {
				case IPOPT_TS_TSONLY:
					wr32(d + ptr - 1, ms);
					d[2] = (uint8_t)(ptr + 4);
					o->ts_needtime = true;
					break;
				case IPOPT_TS_TSANDADDR:
					wr32(d + ptr - 1, s->cfg.addr);
					wr32(d + ptr + 3, ms);
					d[2] = (uint8_t)(ptr + 8);
					o->ts_needaddr = o->ts_needtime = true;
					break;
				case IPOPT_TS_PRESPEC:
					if (!ip4_not_unicast(s, rd32(d + ptr - 1)))
						break;
					wr32(d + ptr + 3, ms);
					d[2] = (uint8_t)(ptr + 8);
					o->ts_needtime = true;
					break;
				default:
					break;
				}
			}
		}
		i += len;
	}
}

/* Where ip4_options_input stops: at the malformed option (Linux's
 * ip_options_compile() took the ones before it), or the header's end. */
static size_t ip4_options_limit(const uint8_t *hdr, size_t ihl)
{
	bool srr;
	size_t at;

	return ip4_options_check(hdr, ihl, &srr, &at) ? at : ihl;
}

/* The CIPSO option that stopped ip4_options_check (its offset; 0 if none):
 * Linux's ip_options_compile records it (opt->cipso) before it fails to
 * validate it, and ip_options_echo copies it into the parameter problem,
 * after the record route and timestamp options. An option whose length
 * does not fit is not one. */
static size_t ip4_options_cipso(const uint8_t *hdr, size_t ihl)
{
	size_t at = ip4_options_limit(hdr, ihl);

	if (at + 1 < ihl && hdr[at] == IPOPT_CIPSO && hdr[at + 1] >= 2 && hdr[at + 1] <= ihl - at)
		return at;
	return 0;
}

size_t ip4_options_quote(const struct stack *s, const uint8_t *hdr, size_t ihl, uint8_t *out, uint64_t now)
{
	struct ip4_opts o;

	memcpy(out, hdr, ihl);
	if (ihl > IP4_HLEN)
		ip4_options_input(s, out, ip4_options_limit(hdr, ihl), stack_ms_of_day(s, now), &o);
	return ihl;
}

int ip4_options_echo(const struct stack *s, const uint8_t *raw, size_t ihl, uint8_t *out, uint64_t now)
{
	uint8_t hdr[IP4_HLEN_MAX];
	uint32_t me = s->cfg.addr, ms = stack_ms_of_day(s, now);
	struct ip4_opts o;
	size_t n = 0, cipso;

	if (ihl <= IP4_HLEN)
		return 0;
	memcpy(hdr, raw, ihl);
	ip4_options_input(s, hdr, ip4_options_limit(raw, ihl), ms, &o);
	/* Linux's ip_options_echo() then ip_options_build(): record route
	 * first, then the timestamp, each with the reply's own entry where
	 * there is room (so that an echo records us twice), and a CIPSO
	 * option that drew a parameter problem; source routes never get here
	 * (dropped on input), other options are not echoed. */
	if (o.rr) {
		uint8_t len = hdr[o.rr + 1], ptr = hdr[o.rr + 2], *d = out + n;

		memcpy(d, hdr + o.rr, len);
		if (o.rr_needaddr && ptr <= len) {
			if (ptr + 3 > len)
				return -1;
			wr32(d + ptr - 1, me);
			d[2] = (uint8_t)(ptr + 4);
		}
		n += len;
	}
	if (o.ts) {
		uint8_t len = hdr[o.ts + 1], ptr = hdr[o.ts + 2], *d = out + n;

		memcpy(d, hdr + o.ts, len);
		if (ptr <= len) {
			if (o.ts_needaddr) {
				if (ptr + 3 > len)
					return -1;
				wr32(d + ptr - 1, me);
				ptr += 4;
			}
			if (o.ts_needtime) {
				if (ptr + 3 > len)
					return -1;
				if ((d[3] & 0xf) != IPOPT_TS_PRESPEC) {
					wr32(d + ptr - 1, ms);
					ptr += 4;
				} else if (ptr + 7 <= len && ip4_not_unicast(s, rd32(d + ptr - 1))) {
					wr32(d + ptr + 3, ms);
					ptr += 8;
				}
			}
			d[2] = ptr;
		}
		n += len;
	}
	if ((cipso = ip4_options_cipso(raw, ihl))) {
		memcpy(out + n, raw + cipso, raw[cipso + 1]);
		n += raw[cipso + 1];
	}
	while (n & 3)
		out[n++] = IPOPT_END;
	return (int)n;
}

bool ip4_is_broadcast(const struct stack *s, uint32_t a)
{
	return a == 0xffffffffu ||
	       (s->cfg.prefix_len && s->cfg.prefix_len < 31 && a == (s->cfg.addr | ~s->netmask));
}

/* Hands a whole (not fragmented) datagram to its transport. */
static void ip4_deliver(struct stack *s, const struct ip4_hdr *h, uint64_t now)
{
	const uint8_t *p = h->raw + h->ihl;
	size_t n = (size_t)h->total_len - h->ihl;

	switch (h->proto) {
	case IP_PROTO_ICMP:
		icmp4_input(s, h, p, n, now);
		break;
	case IP_PROTO_UDP:
		udp_input(s, h, p, n, now);
		break;
	case IP_PROTO_TCP:
		/* RFC 1122 §4.2.3.10: TCP is for one host: a segment to a
		 * broadcast or multicast address is dropped, never answered
		 * (Linux: only PACKET_HOST frames reach tcp_v4_rcv), even
		 * where a socket is bound to that address; so is one that came
		 * in a link-layer broadcast or multicast frame, whatever its IP
		 * destination. */
		if (ip4_is_broadcast(s, h->dst) || ip4_is_multicast(h->dst) || ip4_link_group(h)) {
			stack_drop(s, DROP_IP_NOT_FOR_US);
			break;
		}
		tcp_input(s, h, p, n, now);
		break;
	default:
		stack_drop(s, DROP_IP_UNKNOWN_PROTO);
		/* RFC 1122 §3.2.2.1: SHOULD send protocol unreachable (rate-limited
		 * and suppressed for broadcasts inside icmp4_send_unreach). */
		icmp4_send_unreach(s, h, ICMP_UNREACH_PROTOCOL, now);
		break;
	}
}

void ip4_input(struct stack *s, const uint8_t *pkt, size_t len, size_t mac_len, unsigned csum, uint64_t now)
{
	struct ip4_hdr h;
	int rc;

	s->stats.ip_in++;
	rc = ip4_parse(pkt, len, csum, &h);
	if (rc) {
		stack_drop(s, (enum drop_reason)rc);
		return;
	}
	/* RFC 1122 §3.2.1.3: accept our address, the broadcasts, and the
	 * multicast groups a socket joined (RFC 1112 §7.2). */
	if (h.dst != s->cfg.addr && !ip4_is_broadcast(s, h.dst) &&
	    !(ip4_is_multicast(h.dst) && udp_group_joined(s, h.dst))) {
		stack_drop(s, DROP_IP_NOT_FOR_US);
		return;
	}
	/* RFC 1122 §3.2.1.3: silently discard a source that is not a single
	 * host (broadcast, multicast, loopback), and our own address coming
	 * from the wire (a loop or a spoof). */
	if (h.src == s->cfg.addr || ip4_is_broadcast(s, h.src) || ip4_is_multicast(h.src) || (h.src >> 24) == 127) {
		stack_drop(s, DROP_IP_BAD_SOURCE);
		return;
	}
	h.mac_len = (uint8_t)mac_len;  /* eth_input's frame, pkt past its header */
	/* Like Linux's ip_rcv_options(): malformed options draw a parameter
	 * problem and the datagram goes; a source-routed one goes silently
	 * (accept_source_route=0, Linux's default). */
	if (h.ihl > IP4_HLEN) {
		bool srr;
		size_t at;
		unsigned bad = ip4_options_check(h.raw, h.ihl, &srr, &at);

		if (bad) {
			stack_drop(s, DROP_IP_BAD_OPTIONS);
			icmp4_send_param_problem(s, &h, (uint8_t)bad, now);
			return;
		}
		if (srr) {
			stack_drop(s, DROP_IP_SOURCE_ROUTE);
			return;
		}
	}
	if (h.mf || h.frag_off) {
		uint8_t *whole = NULL;
		size_t whole_len = 0;
		struct ip4_hdr wh;

		if (!ip4_reass_add(s, s->ip4->reass, &h, now, &whole, &whole_len))
			return;
		/* Our own copy, header patched and checksummed by the reassembler.
		 * The device's verdict covered each fragment, not the datagram:
		 * everything the link's capability asks for is checked. */
		if (ip4_parse(whole, whole_len, s->link.rx_csum, &wh) == 0)
			ip4_deliver(s, &wh, now);
		else
			stack_drop(s, DROP_IP_BAD_LENGTH);
		free(whole);
		return;
	}
	ip4_deliver(s, &h, now);
}

/* Our header: 20 bytes, and tx's options when opts (ip points at room for
 * them); frag_off in bytes. */
static void ip4_write_hdr(uint8_t *ip, const struct ip4_tx *tx, uint32_t src, uint16_t id, size_t total,
			  bool df, bool mf, size_t frag_off, bool opts)
{
	struct ip4_hdr h = {
		.ihl = (uint8_t)(IP4_HLEN + (opts ? tx->opts_len : 0)),
		.tos = tx->tos,
		.total_len = (uint16_t)total,
		.id = id,
		.df = df,
		.mf = mf,
		.frag_off = (uint16_t)frag_off,
		.ttl = tx->ttl ? tx->ttl : IP4_DEFAULT_TTL,
		.proto = tx->proto,
		.src = src,
		.dst = tx->dst,
	};

	if (opts && tx->opts_len)
		memcpy(ip + IP4_HLEN, tx->opts, tx->opts_len);
	ip4_hdr_emit(ip, &h);
}

/* Sending to ourselves: like Linux's loopback, the datagram never reaches
 * the wire. It is queued and delivered by the next stack_poll(), never from
 * inside the sender's call: a transport must not be re-entered while it is
 * in the middle of sending (TCP answering itself). */
static int ip4_loopback(struct stack *s, struct pkb *pkb, const struct ip4_tx *tx, uint32_t src)
{
	uint8_t *ip;

	/* Delivered from its bytes: in one buffer. */
	pkb = pkb_linearize(pkb);
	if (!pkb) {
		stack_drop(s, DROP_IP_NO_MEMORY);
		return -ENOBUFS;
	}
	if (s->ip4->loop_len >= IP4_LOOP_MAX) {
		stack_drop(s, DROP_IP_NO_MEMORY);
		pkb_free(pkb);
		return -ENOBUFS;
	}
	ip = pkb_push(pkb, IP4_HLEN + tx->opts_len);
	if (!ip) {
		stack_drop(s, DROP_IP_NO_MEMORY);
		pkb_free(pkb);
		return -ENOBUFS;
	}
	ip4_write_hdr(ip, tx, src, s->ip4->next_id++, pkb->len, false, false, 0, true);
	s->stats.ip_out++;
	pkb->next = NULL;
	if (s->ip4->loop_tail)
		s->ip4->loop_tail->next = pkb;
	else
		s->ip4->loop_head = pkb;
	s->ip4->loop_tail = pkb;
	s->ip4->loop_len++;
	return 0;
}

/*
 * The options of the fragments after the first: Linux's ip_options_fragment()
 * turns each option without the copied flag (RFC 791 §3.1: record route and
 * timestamp) into no-operations and leaves the rest (a CIPSO option echoed,
 * the padding after an end of list), so that every fragment's header is as
 * long as the first's. RFC 791 §3.2 would leave them out; measured on Linux
 * 6.18 (rawframes frag_echo_reply_rr): the second fragment of an echo reply
 * with record route was 576 bytes with 11 NOPs and an end of list in its
 * header, pstack's 564 with none.
 */
static void ip4_options_fragment(const uint8_t *opts, size_t len, uint8_t *out)
{
	size_t i = 0;

	memcpy(out, opts, len);
	while (i < len && out[i] != IPOPT_END) {
		size_t n;

		if (out[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		n = i + 1 < len ? out[i + 1] : 0;
		if (n < 2 || n > len - i)
			return;
		if (!(out[i] & 0x80))
			memset(out + i, IPOPT_NOP, n);
		i += n;
	}
}

int ip4_output(struct stack *s, struct pkb *pkb, const struct ip4_tx *tx, uint64_t now)
{
	uint32_t src = tx->src ? tx->src : s->cfg.addr, dst = tx->dst, next_hop;
	uint32_t mtu = tx->mtu && tx->mtu < s->mtu ? tx->mtu : s->mtu;
	size_t plen = pkb_frame_len(pkb), maxdata, hlen = IP4_HLEN + tx->opts_len;
	uint8_t later_opts[IP4_HLEN_MAX - IP4_HLEN], *ip;
	struct ip4_tx later;
	uint16_t id;

	if (plen + hlen > 65535 || tx->opts_len > sizeof(later_opts)) {
		pkb_free(pkb);
		return -EMSGSIZE;
	}
	/* Our address and 127.0.0.0/8 (a transport reaches those only as
	 * this host: ip4_this_host) are delivered here. */
	if (ip4_is_local(dst, s->cfg.addr))
		return ip4_loopback(s, pkb, tx, src);
	/* RFC 1122 §3.3.1.1: on-link destinations directly, others through the
	 * gateway. Broadcast and multicast go out on the link as they are. */
	if (dst == 0 || (dst >> 24) == 0) {
		next_hop = 0;
	} else if (ip4_is_broadcast(s, dst) || ip4_is_multicast(dst) || stack_on_link(s, dst)) {
		next_hop = dst;
	} else {
		next_hop = s->cfg.gateway;
	}
	if (!next_hop) {
		stack_drop(s, DROP_IP_NO_ROUTE);
		pkb_free(pkb);
		return -ENETUNREACH;
	}

	id = s->ip4->next_id++;
	if (pkb->gso_size) {
		/* The device cuts a TSO frame into segments with consecutive
		 * IDs from this one (as Linux's GSO does): keep them unique. */
		s->ip4->next_id = (uint16_t)(s->ip4->next_id + plen / pkb->gso_size);
	}
	if (plen + hlen <= mtu || pkb->gso_size) {
		ip = pkb_push(pkb, hlen);
		if (!ip) {
			stack_drop(s, DROP_IP_NO_MEMORY);
			pkb_free(pkb);
			return -ENOBUFS;
		}
		ip4_write_hdr(ip, tx, src, id, pkb_frame_len(pkb), tx->df, false, 0, true);
		s->stats.ip_out++;
		return arp_output(s, pkb, next_hop, now);
	}
	if (tx->df || mtu < hlen + 8) {
		pkb_free(pkb);
		return -EMSGSIZE;
	}
	/* Cut from its bytes: in one buffer. */
	pkb = pkb_linearize(pkb);
	if (!pkb) {
		stack_drop(s, DROP_IP_NO_MEMORY);
		return -ENOBUFS;
	}

	/* RFC 791 §3.2 fragmentation: every fragment but the last carries a
	 * multiple of 8 bytes; offsets count 8-byte units. The options of the
	 * later ones as ip4_options_fragment leaves them. */
	maxdata = (mtu - hlen) & ~(size_t)7;
	later = *tx;
	if (tx->opts_len) {
		ip4_options_fragment(tx->opts, tx->opts_len, later_opts);
		later.opts = later_opts;
	}
	s->stats.ip_out++;
	for (size_t off = 0; off < plen; off += maxdata) {
		size_t n = plen - off < maxdata ? plen - off : maxdata;
		bool more = off + n < plen;
		struct pkb *f = pkb_alloc_frame(n);
		int rc;

		if (!f) {
			stack_drop(s, DROP_IP_NO_MEMORY);
			pkb_free(pkb);
			return -ENOBUFS;
		}
		memcpy(pkb_put(f, n), pkb->data + off, n);
		ip = pkb_push(f, hlen);
		ip4_write_hdr(ip, off ? &later : tx, src, id, hlen + n, false, more, off, true);
		s->stats.ip_frag_out++;
		rc = arp_output(s, f, next_hop, now);
		if (rc < 0) {
			pkb_free(pkb);
			return rc;
		}
	}
	pkb_free(pkb);
	return 0;
}

void ip4_poll(struct stack *s, uint64_t now)
{
	ip4_reass_poll(s, s->ip4->reass, now);
	/* Deliver the looped datagrams present now; ones they cause wait for
	 * the next poll (stack_poll_at() says it is due at once). */
	ip4_loop_deliver(s, now);
}

bool ip4_loop_pending(const struct stack *s)
{
	return s->ip4->loop_head != NULL;
}

void ip4_loop_deliver(struct stack *s, uint64_t now)
{
	struct pkb *p;

	p = s->ip4->loop_head;
	s->ip4->loop_head = s->ip4->loop_tail = NULL;
	s->ip4->loop_len = 0;
	while (p) {
		struct pkb *next = p->next;
		struct ip4_hdr h;

		s->stats.ip_in++;
		/* Never on a wire: the transport's checksum is not checked (a
		 * TSO segment's holds only the pseudo-header's sum, left for a
		 * device to finish), as Linux's loopback marks its packets
		 * CHECKSUM_UNNECESSARY (STACK_RX_CSUM_OK). */
		if (ip4_parse(p->data, p->len, s->link.rx_csum & ~(unsigned)(STACK_CSUM_TCP | STACK_CSUM_UDP), &h) == 0) {
			h.looped = true;
			ip4_deliver(s, &h, now);
		}
		pkb_free(p);
		p = next;
	}
}

uint64_t ip4_poll_at(const struct stack *s)
{
	if (s->ip4->loop_head)
		return s->now;
	return ip4_reass_poll_at(s->ip4->reass);
}
