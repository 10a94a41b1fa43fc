/*
 * ARP for IPv4 over Ethernet. Read first: RFC 826 (packet format and the
 * "merge" receive algorithm), RFC 1122 §2.3.2 (cache timeout, flooding limit,
 * queueing while resolving), RFC 5227 §3 (gratuitous ARP / announcements).
 *
 * The cache is a small fixed array searched linearly (ARP_CACHE_SIZE entries):
 * one interface talks to a handful of neighbours, and a bound on memory is
 * worth more here than O(1) look-ups.
 */
#include "stack/core/arp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/eth.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/log.h"
#include "stack/core/stack_priv.h"
#include "stack/wire/arp.h"
#include "stack/wire/wire.h"

/* How long before an entry in use expires we start confirming it with a
 * unicast request, so that a busy flow never stalls behind a broadcast
 * resolution (Linux's DELAY/PROBE states; RFC 1122 §2.3.2.1 "unicast poll").
 * Like Linux's delay_first_probe_time. */
#define ARP_REFRESH_US (5ull * 1000000)

struct arp_entry {
	bool used;
	bool resolved;
	uint32_t ip;
	uint8_t mac[6];
	uint64_t updated;       /* resolved: last confirmation; else: first request */
	uint64_t next_request;  /* unresolved: when to ask again (or give up);
				 * resolved: earliest next unicast poll */
	unsigned requests;      /* unresolved: requests sent so far */
	struct pkb *q_head, *q_tail;
	size_t q_bytes;
};

struct arp_state {
	struct arp_entry e[ARP_CACHE_SIZE];
	/* arp_poll_at() runs each time a thread lets go of the stack: it reads
	 * poll_at, which each call that changes an entry's timing (dirty)
	 * computes again before it returns (arp_settle). */
	bool dirty;
	uint64_t poll_at;
};

/* The earliest time an entry needs arp_poll(), kept in poll_at. */
static void arp_settle(struct stack *s)
{
	uint64_t t = STACK_NEVER;

	if (!s->arp->dirty)
		return;
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		const struct arp_entry *e = &s->arp->e[i];
		uint64_t at;

		if (!e->used)
			continue;
		at = e->resolved ? e->updated + ARP_REACHABLE_US : e->next_request;
		if (at < t)
			t = at;
	}
	s->arp->poll_at = t;
	s->arp->dirty = false;
}

int arp_init(struct stack *s)
{
	s->arp = calloc(1, sizeof(*s->arp));
	if (!s->arp)
		return -ENOMEM;
	s->arp->poll_at = STACK_NEVER;
	return 0;
}

static void entry_drop_queue(struct stack *s, struct arp_entry *e, enum drop_reason why)
{
	struct pkb *p = e->q_head;

	while (p) {
		struct pkb *next = p->next;

		stack_drop(s, why);
		pkb_free(p);
		p = next;
	}
	e->q_head = e->q_tail = NULL;
	e->q_bytes = 0;
}

static void entry_clear(struct stack *s, struct arp_entry *e, enum drop_reason why)
{
	entry_drop_queue(s, e, why);
	memset(e, 0, sizeof(*e));
	s->arp->dirty = true;
}

void arp_fini(struct stack *s)
{
	if (!s->arp)
		return;
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		struct pkb *p = s->arp->e[i].q_head;

		while (p) {
			struct pkb *next = p->next;

			pkb_free(p);
			p = next;
		}
	}
	free(s->arp);
	s->arp = NULL;
}

static bool entry_expired(const struct arp_entry *e, uint64_t now)
{
	return e->resolved && now >= e->updated + ARP_REACHABLE_US;
}

static struct arp_entry *entry_find(const struct stack *s, uint32_t ip)
{
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		const struct arp_entry *e = &s->arp->e[i];

		if (e->used && e->ip == ip)
			return (struct arp_entry *)e;
	}
	return NULL;
}

/* A free slot, or the oldest entry evicted to make one (its waiting packets
 * are dropped as unresolved). */
static struct arp_entry *entry_new(struct stack *s, uint32_t ip, uint64_t now)
{
	struct arp_entry *oldest = NULL, *e = NULL;

	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *c = &s->arp->e[i];

		if (!c->used) {
			e = c;
			break;
		}
		if (!oldest || c->updated < oldest->updated)
			oldest = c;
	}
	if (!e) {
		e = oldest;
		entry_clear(s, e, DROP_ARP_UNRESOLVED);
	}
	e->used = true;
	e->ip = ip;
	e->updated = now;
	s->arp->dirty = true;
	return e;
}

static void arp_send(struct stack *s, uint16_t op, const uint8_t eth_dst[6], const uint8_t tha[6],
		     uint32_t tpa, uint32_t spa, uint64_t now)
{
	struct pkb *p = pkb_alloc(ARP_PKT_LEN);
	struct arp_pkt a = {
		.htype = ARP_HTYPE_ETHER, .ptype = ETH_TYPE_IP4, .hlen = 6, .plen = 4, .op = op,
		.spa = spa, .tpa = tpa,
	};

	if (!p)
		return;
	memcpy(a.sha, s->cfg.mac, 6);
	memcpy(a.tha, tha, 6);
	arp_pkt_emit(pkb_put(p, ARP_PKT_LEN), &a);
	s->stats.arp_out++;
	eth_output(s, p, eth_dst, ETH_TYPE_ARP, now);
}

static void arp_request(struct stack *s, uint32_t tpa, uint64_t now)
{
	static const uint8_t zero[6];

	arp_send(s, ARP_OP_REQUEST, eth_broadcast, zero, tpa, s->cfg.addr, now);
}

/* Marks e resolved at mac and sends what waited for it, in order. */
static void entry_resolve(struct stack *s, struct arp_entry *e, const uint8_t mac[6], uint64_t now)
{
	struct pkb *p;

	memcpy(e->mac, mac, 6);
	e->resolved = true;
	e->updated = now;
	e->requests = 0;
	e->next_request = 0;
	s->arp->dirty = true;
	p = e->q_head;
	e->q_head = e->q_tail = NULL;
	e->q_bytes = 0;
	while (p) {
		struct pkb *next = p->next;

		p->next = NULL;
		eth_output(s, p, e->mac, ETH_TYPE_IP4, now);
		p = next;
	}
}

void arp_insert(struct stack *s, uint32_t ip, const uint8_t mac[6], uint64_t now)
{
	struct arp_entry *e = entry_find(s, ip);

	if (!e)
		e = entry_new(s, ip, now);
	entry_resolve(s, e, mac, now);
	arp_settle(s);
}

static bool mac_is_group(const uint8_t mac[6])
{
	return mac[0] & 1;   /* broadcast and multicast */
}

size_t arp_export(const struct stack *s, struct stack_arp_rec *out, size_t max, uint64_t now)
{
	size_t n = 0;

	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		const struct arp_entry *e = &s->arp->e[i];

		if (!e->used || !e->resolved || entry_expired(e, now))
			continue;
		if (n < max) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].ip = e->ip;
			memcpy(out[n].mac, e->mac, 6);
			out[n].age_ms = now > e->updated ? (uint32_t)((now - e->updated) / 1000) : 0;
		}
		n++;
	}
	return n;
}

void arp_import(struct stack *s, const struct stack_arp_rec *r, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t age = (uint64_t)r[i].age_ms * 1000;
		struct arp_entry *e;

		if (!r[i].ip || r[i].ip == s->cfg.addr || mac_is_group(r[i].mac) || !stack_on_link(s, r[i].ip) ||
		    age >= ARP_REACHABLE_US || entry_find(s, r[i].ip))
			continue;
		/* Confirmed when it was in the old stack: it ages as it would have. */
		e = entry_new(s, r[i].ip, now);
		entry_resolve(s, e, r[i].mac, now > age ? now - age : 0);
	}
	arp_settle(s);
}

static void arp_input_pkt(struct stack *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct arp_pkt a;
	uint16_t op;
	uint32_t spa, tpa;
	const uint8_t *sha;
	bool merged = false;
	struct arp_entry *e;

	s->stats.arp_in++;
	/* Anything after the 28 bytes is Ethernet padding. */
	switch (arp_pkt_parse(pkt, len, &a)) {
	case WIRE_OK:
		break;
	case WIRE_UNSUPPORTED:
		stack_drop(s, DROP_ARP_UNSUPPORTED);
		return;
	default:
		stack_drop(s, DROP_ARP_TRUNCATED);
		return;
	}
	op = a.op;
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
		stack_drop(s, DROP_ARP_BAD_OP);
		return;
	}
	sha = a.sha;
	spa = a.spa;
	tpa = a.tpa;

	/* Never learn from a probe (sender 0.0.0.0, RFC 5227 §2.1.1), from
	 * someone claiming our own address, a group MAC, or an address that is
	 * not on our link (it could only fill the cache). */
	bool learnable = spa != 0 && spa != s->cfg.addr && !mac_is_group(sha) && stack_on_link(s, spa);

	/* RFC 826, "Packet Reception": if the sender is already in the table,
	 * update its hardware address (merge_flag). */
	if (learnable && (e = entry_find(s, spa))) {
		entry_resolve(s, e, sha, now);
		merged = true;
	}
	if (tpa != s->cfg.addr) {
		if (!merged)
			stack_drop(s, DROP_ARP_NOT_FOR_US);
		return;
	}
	/* "Am I the target protocol address? If merge_flag is false, add the
	 * triplet to the table." Deviation: only for a request. Like Linux's
	 * arp_process with arp_accept=0 (neigh_event_ns for a request to us;
	 * a reply only updates an entry that exists), a reply nobody asked
	 * for makes no entry: it is how a spoofer plants one. Our own
	 * requests make their entry before they are sent (arp_output_pkt), so
	 * the replies to them merge above. Measured on Linux 6.18: after an
	 * unsolicited reply from 192.0.2.12, an echo from it is answered
	 * after an ARP request for it (pstack: at once). */
	if (learnable && !merged && op == ARP_OP_REQUEST)
		arp_insert(s, spa, sha, now);
	/* "Is the opcode ares_op$REQUEST? Swap fields, put the local addresses
	 * in the sender fields, set the opcode to reply and send it." Like
	 * Linux's arp_process, only when a packet from the sender would be
	 * taken in (ip_route_input_noref): not from a martian source, our own
	 * address (another station claiming it), loopback, a group. A
	 * probe's 0.0.0.0 (RFC 5227 §2.1.1) is answered, and so, on this
	 * machine's Linux (rp_filter 0), is the subnet's broadcast. */
	if (op == ARP_OP_REQUEST && spa &&
	    (spa == s->cfg.addr || ip4_is_loopback(spa) || ip4_is_multicast(spa) || spa == 0xffffffffu)) {
		stack_drop(s, DROP_ARP_BAD_SENDER);
		return;
	}
	if (op == ARP_OP_REQUEST)
		arp_send(s, ARP_OP_REPLY, sha, sha, spa, s->cfg.addr, now);
}

void arp_input(struct stack *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	arp_input_pkt(s, pkt, len, now);
	arp_settle(s);
}

static int arp_output_pkt(struct stack *s, struct pkb *pkb, uint32_t next_hop, uint64_t now)
{
	struct arp_entry *e;

	if (ip4_is_broadcast(s, next_hop))
		return eth_output(s, pkb, eth_broadcast, ETH_TYPE_IP4, now);
	if (ip4_is_multicast(next_hop)) {
		/* RFC 1112 §6.4: multicast maps to 01:00:5e + the low 23 bits. */
		uint8_t mac[6] = { 0x01, 0x00, 0x5e, (uint8_t)((next_hop >> 16) & 0x7f),
				   (uint8_t)(next_hop >> 8), (uint8_t)next_hop };

		return eth_output(s, pkb, mac, ETH_TYPE_IP4, now);
	}
	e = entry_find(s, next_hop);
	if (e && entry_expired(e, now)) {
		entry_clear(s, e, DROP_ARP_UNRESOLVED);
		e = NULL;
	}
	if (e && e->resolved) {
		if (now + ARP_REFRESH_US >= e->updated + ARP_REACHABLE_US && now >= e->next_request) {
			static const uint8_t zero[6];

			/* At most one unicast poll per ARP_RETRY_US; the reply
			 * refreshes the entry through the merge rule. */
			e->next_request = now + ARP_RETRY_US;
			s->arp->dirty = true;
			arp_send(s, ARP_OP_REQUEST, e->mac, zero, e->ip, s->cfg.addr, now);
		}
		return eth_output(s, pkb, e->mac, ETH_TYPE_IP4, now);
	}
	if (!e) {
		e = entry_new(s, next_hop, now);
		e->requests = 1;
		e->next_request = now + ARP_RETRY_US;
		s->arp->dirty = true;
		arp_request(s, next_hop, now);
	}
	/* RFC 1122 §2.3.2.2: SHOULD keep at least one packet per unresolved
	 * address. Like Linux (neigh's unres_qlen_bytes), the queue is bounded
	 * in bytes, so that a large datagram's fragments wait together, and the
	 * oldest packets make room for a new one; it is sent in order. */
	while (e->q_head && e->q_bytes + pkb_frame_len(pkb) > ARP_QUEUE_BYTES) {
		struct pkb *old = e->q_head;

		e->q_head = old->next;
		if (!e->q_head)
			e->q_tail = NULL;
		e->q_bytes -= pkb_frame_len(old);
		stack_drop(s, DROP_ARP_QUEUE_FULL);
		pkb_free(old);
	}
	pkb->next = NULL;
	pkb->next_hop = next_hop;
	if (e->q_tail)
		e->q_tail->next = pkb;
	else
		e->q_head = pkb;
	e->q_tail = pkb;
	e->q_bytes += pkb_frame_len(pkb);
	return 0;
}

int arp_output(struct stack *s, struct pkb *pkb, uint32_t next_hop, uint64_t now)
{
	int r = arp_output_pkt(s, pkb, next_hop, now);

	arp_settle(s);
	return r;
}

void arp_announce(struct stack *s, uint64_t now)
{
	static const uint8_t zero[6];

	/* RFC 5227 §3: an ARP request with sender and target both our address. */
	if (s->cfg.addr)
		arp_send(s, ARP_OP_REQUEST, eth_broadcast, zero, s->cfg.addr, s->cfg.addr, now);
}

/*
 * The gateway resolved at once, as a host that comes up does. The
 * announcement teaches Linux nothing (arp_accept=0: a gratuitous ARP makes
 * no entry), but a request for its own address does (arp_process:
 * neigh_event_ns, a STALE entry for us). Without one, the kernel's first
 * packets to us waited for its own resolution, and its queue for an
 * unresolved neighbour holds unres_qlen_bytes (about 150 SYNs): 1000
 * connect()s at once lost the rest (unresolved_discards) and waited a
 * second for the SYN's retransmission.
 */
void arp_resolve_gateway(struct stack *s, uint64_t now)
{
	struct arp_entry *e;

	if (!s->cfg.addr || !s->cfg.gateway || !stack_on_link(s, s->cfg.gateway) || entry_find(s, s->cfg.gateway))
		return;
	e = entry_new(s, s->cfg.gateway, now);
	e->requests = 1;
	e->next_request = now + ARP_RETRY_US;
	s->arp->dirty = true;
	arp_request(s, s->cfg.gateway, now);
	arp_settle(s);
}

void arp_poll(struct stack *s, uint64_t now)
{
	for (int i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *e = &s->arp->e[i];

		if (!e->used)
			continue;
		if (e->resolved) {
			/* RFC 1122 §2.3.2.1: entries time out; the next packet asks again. */
			if (entry_expired(e, now))
				entry_clear(s, e, DROP_ARP_UNRESOLVED);
			continue;
		}
		if (now < e->next_request)
			continue;
		if (e->requests >= ARP_MAX_REQUESTS) {
			char buf[16];
			struct pkb *p = e->q_head;

			log_debug("arp: %s did not answer", ip4_ntoa(e->ip, buf));
			/* The entry goes first: a transport told of the failure may
			 * send again (and start a new resolution). */
			e->q_head = e->q_tail = NULL;
			entry_clear(s, e, DROP_ARP_UNRESOLVED);
			while (p) {
				struct pkb *next = p->next;

				stack_drop(s, DROP_ARP_UNRESOLVED);
				icmp4_local_unreach(s, p->data, p->len);
				pkb_free(p);
				p = next;
			}
			continue;
		}
		/* RFC 1122 §2.3.2.1: at most one request per second per address. */
		e->requests++;
		e->next_request = now + ARP_RETRY_US;
		s->arp->dirty = true;
		arp_request(s, e->ip, now);
	}
	arp_settle(s);
}

uint64_t arp_poll_at(const struct stack *s)
{
	return s->arp->poll_at;
}

int arp_lookup(const struct stack *s, uint32_t ip, uint8_t mac[6])
{
	const struct arp_entry *e = entry_find(s, ip);

	if (!e || !e->resolved || entry_expired(e, s->now))
		return -ENOENT;
	memcpy(mac, e->mac, 6);
	return 0;
}
