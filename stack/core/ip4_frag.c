/*
 * IPv4 reassembly. Read first: RFC 791 §3.2 (fragmentation and reassembly),
 * RFC 815 (reassembly algorithm), RFC 1122 §3.3.2 (timeout), RFC 5722 (the
 * IPv6 rule, followed here too as Linux does: a fragment that overlaps
 * another kills the whole datagram).
 */
#include "stack/core/ip4_frag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/stack_priv.h"
#include "stack/wire/ip4.h"

struct ip4_frag {
	struct ip4_frag *next;    /* sorted by off, never overlapping */
	uint32_t off, len;        /* payload bytes [off, off + len) */
	bool run_head;            /* starts a run (frag_fit) */
	uint8_t data[];
};

struct ip4_dgram {
	struct ip4_dgram *next;   /* oldest first */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool end_known;           /* the last fragment (MF=0) arrived */
	uint32_t end;             /* payload length, when end_known */
	uint32_t max_end;         /* the furthest end any fragment claimed */
	uint32_t have;            /* payload bytes held */
	uint64_t deadline;
	size_t mem;               /* charged against the bound */
	uint8_t hlen;             /* 0 until the first fragment arrived */
	uint8_t hdr[IP4_HLEN_MAX]; /* the first fragment's header */
	struct ip4_frag *frags;
};

struct ip4_reass {
	struct ip4_dgram *head;
	size_t mem;
	size_t count;
};

struct ip4_reass *ip4_reass_new(void)
{
	return calloc(1, sizeof(struct ip4_reass));
}

static void dgram_unlink_free(struct ip4_reass *r, struct ip4_dgram *d)
{
	struct ip4_dgram **pp = &r->head;

	while (*pp && *pp != d)
		pp = &(*pp)->next;
	if (*pp)
		*pp = d->next;
	while (d->frags) {
		struct ip4_frag *f = d->frags;

		d->frags = f->next;
		free(f);
	}
	r->mem -= d->mem;
	r->count--;
	free(d);
}

void ip4_reass_free(struct ip4_reass *r)
{
	if (!r)
		return;
	while (r->head)
		dgram_unlink_free(r, r->head);
	free(r);
}

static void dgram_kill(struct stack *s, struct ip4_reass *r, struct ip4_dgram *d, enum drop_reason why)
{
	stack_drop(s, why);
	dgram_unlink_free(r, d);
}

/* Evicts the oldest datagrams other than keep until `need` more bytes fit.
 * Like Linux's inet_frag_evictor: a flood of incomplete datagrams must not
 * block reassembly of new ones for the whole timeout. */
static bool make_room(struct stack *s, struct ip4_reass *r, size_t need, const struct ip4_dgram *keep)
{
	struct ip4_dgram *d = r->head;

	while (r->mem + need > IP4_REASS_MEM_MAX && d) {
		struct ip4_dgram *next = d->next;

		if (d != keep)
			dgram_kill(s, r, d, DROP_IP_FRAG_NO_MEMORY);
		d = next;
	}
	return r->mem + need <= IP4_REASS_MEM_MAX;
}

static struct ip4_dgram *dgram_find(struct ip4_reass *r, const struct ip4_hdr *h)
{
	for (struct ip4_dgram *d = r->head; d; d = d->next)
		if (d->src == h->src && d->dst == h->dst && d->id == h->id && d->proto == h->proto)
			return d;
	return NULL;
}

static int dgram_complete(struct stack *s, struct ip4_reass *r, struct ip4_dgram *d,
			  uint8_t **out, size_t *out_len)
{
	size_t total = (size_t)d->hlen + d->end;
	struct ip4_hdr h;
	uint8_t *buf, *p;

	if (total > 65535) {
		dgram_kill(s, r, d, DROP_IP_FRAG_TOO_BIG);
		return 0;
	}
	buf = malloc(total);
	if (!buf) {
		dgram_kill(s, r, d, DROP_IP_FRAG_NO_MEMORY);
		return 0;
	}
	/* The copy describes the whole datagram: the first fragment's header
	 * (options included) without its fragment fields (DF stays), the full
	 * length, a valid checksum (it may be quoted in an ICMP error). */
	memcpy(buf, d->hdr, d->hlen);
	ip4_hdr_decode(d->hdr, &h);
	h.total_len = (uint16_t)total;
	h.rf = h.mf = false;
	h.frag_off = 0;
	ip4_hdr_emit(buf, &h);
	p = buf + d->hlen;
	for (struct ip4_frag *f = d->frags; f; f = f->next)
		memcpy(p + f->off, f->data, f->len);
	*out = buf;
	*out_len = total;
	s->stats.ip_reassembled++;
	dgram_unlink_free(r, d);
	return 1;
}

/* Linux's inet_frag_queue_insert: fragments that arrive in order, each
 * starting where the last one ended, grow one run; any other fragment starts
 * a run of its own. A fragment wholly inside one run is a duplicate, dropped
 * alone (a retransmitted fragment is harmless); any other overlap kills the
 * datagram (RFC 5722's rule). The runs are what Linux compares against: a
 * fragment that spans two adjacent runs counts as an overlap. */
enum frag_fit { FRAG_FITS, FRAG_DUP, FRAG_OVERLAP };

static enum frag_fit frag_fit(const struct ip4_dgram *d, uint32_t off, uint32_t end,
			      struct ip4_frag **prevp, bool *run_head)
{
	struct ip4_frag *last = NULL, *prev = NULL;

	for (struct ip4_frag *f = d->frags; f; f = f->next)
		last = f;
	if (!last) {
		*prevp = NULL;
		*run_head = true;
		return FRAG_FITS;
	}
	if (last->off + last->len < end) {
		/* Past the last fragment's end: the common case. */
		if (off < last->off + last->len)
			return FRAG_OVERLAP;
		*prevp = last;
		*run_head = off != last->off + last->len;
		return FRAG_FITS;
	}
	for (struct ip4_frag *f = d->frags; f;) {
		uint32_t rstart = f->off, rend;
		struct ip4_frag *rlast = f;

		while (rlast->next && !rlast->next->run_head)
			rlast = rlast->next;
		rend = rlast->off + rlast->len;
		if (end <= rstart)
			break;
		if (off < rend)
			return off >= rstart && end <= rend ? FRAG_DUP : FRAG_OVERLAP;
		prev = rlast;
		f = rlast->next;
	}
	*prevp = prev;
	*run_head = true;
	return FRAG_FITS;
}

int ip4_reass_add(struct stack *s, struct ip4_reass *r, const struct ip4_hdr *h, uint64_t now,
		  uint8_t **out, size_t *out_len)
{
	uint32_t off = h->frag_off, len = (uint32_t)h->total_len - h->ihl, end = off + len;
	struct ip4_dgram *d = dgram_find(r, h);
	struct ip4_frag *prev = NULL, *f;
	size_t charge;
	bool run_head;

	/* RFC 791: the reassembled datagram cannot exceed 65535 octets. Like
	 * Linux, which queues such a fragment (ip_frag_queue) and refuses the
	 * datagram only once it is whole (ip_frag_reasm: out_oversize), that
	 * is dgram_complete's check: a queue with one never completes, and
	 * holding fragment zero, it times out with a time exceeded. Measured
	 * on Linux 6.18 (net.ipv4.ipfrag_time 2): 104 bytes at 0 with MF, 100
	 * at 65440 without, then time exceeded quoting the first (pstack
	 * dropped the queue at once, silently). */
	/* RFC 791 §3.2: every fragment but the last carries a multiple of 8
	 * bytes. Like Linux's ip_frag_queue, a middle fragment that does not is
	 * cut down to one rather than refused. */
	if (h->mf)
		end &= ~7u;
	if (!d) {
		/* An empty fragment starts nothing (below, it ends what it
		 * belongs to). */
		if (end == off) {
			stack_drop(s, DROP_IP_FRAG_EMPTY);
			return 0;
		}
		if (!make_room(s, r, sizeof(*d) + sizeof(struct ip4_frag) + (end - off), NULL)) {
			stack_drop(s, DROP_IP_FRAG_NO_MEMORY);
			return 0;
		}
		d = calloc(1, sizeof(*d));
		if (!d) {
			stack_drop(s, DROP_IP_FRAG_NO_MEMORY);
			return 0;
		}
		d->src = h->src;
		d->dst = h->dst;
		d->id = h->id;
		d->proto = h->proto;
		/* RFC 1122 §3.3.2: the timer starts with the first fragment to arrive. */
		d->deadline = now + IP4_REASS_TIMEOUT_US;
		d->mem = sizeof(*d);
		r->mem += d->mem;
		r->count++;
		/* Append: the list stays oldest first for eviction. */
		struct ip4_dgram **pp = &r->head;

		while (*pp)
			pp = &(*pp)->next;
		*pp = d;
	}

	/* Fragments that disagree on where the datagram ends are inconsistent
	 * in the same way as overlapping ones (ip_frag_queue checks this
	 * first, on the untrimmed end of a last fragment). */
	if (!h->mf) {
		if ((d->end_known && d->end != end) || d->max_end > end) {
			dgram_kill(s, r, d, DROP_IP_FRAG_OVERLAP);
			return 0;
		}
	} else if (d->end_known && end > d->end) {
		dgram_kill(s, r, d, DROP_IP_FRAG_OVERLAP);
		return 0;
	}
	if (end > d->max_end)
		d->max_end = end;
	/* ip_frag_queue: a fragment with no data (after the cut) is taken for
	 * a corrupt datagram, and the whole of it goes. */
	if (end == off) {
		dgram_kill(s, r, d, DROP_IP_FRAG_EMPTY);
		return 0;
	}
	len = end - off;
	charge = sizeof(struct ip4_frag) + len;

	switch (frag_fit(d, off, end, &prev, &run_head)) {
	case FRAG_DUP:
		stack_drop(s, DROP_IP_FRAG_DUP);
		return 0;
	case FRAG_OVERLAP:
		dgram_kill(s, r, d, DROP_IP_FRAG_OVERLAP);
		return 0;
	case FRAG_FITS:
		break;
	}

	if (!make_room(s, r, charge, d)) {
		stack_drop(s, DROP_IP_FRAG_NO_MEMORY);
		return 0;
	}
	f = malloc(charge);
	if (!f) {
		stack_drop(s, DROP_IP_FRAG_NO_MEMORY);
		return 0;
	}
	f->off = off;
	f->len = len;
	f->run_head = run_head;
	memcpy(f->data, h->raw + h->ihl, len);
	if (prev) {
		f->next = prev->next;
		prev->next = f;
	} else {
		f->next = d->frags;
		d->frags = f;
	}
	d->mem += charge;
	r->mem += charge;
	d->have += len;
	if (!h->mf) {
		d->end_known = true;
		d->end = end;
	}
	if (off == 0) {
		d->hlen = h->ihl;
		memcpy(d->hdr, h->raw, h->ihl);
	}
	/* No overlaps and nothing past the end: holding `end` bytes means no holes. */
	if (d->end_known && d->hlen && d->have == d->end)
		return dgram_complete(s, r, d, out, out_len);
	return 0;
}

void ip4_reass_poll(struct stack *s, struct ip4_reass *r, uint64_t now)
{
	struct ip4_dgram *d = r->head;

	while (d) {
		struct ip4_dgram *next = d->next;

		if (now >= d->deadline) {
			/* RFC 1122 §3.3.2 / RFC 792: with fragment zero in hand,
			 * SHOULD send time exceeded (code 1) quoting it. Like
			 * Linux's ip_expire (icmp_send of the first fragment as it
			 * came), as much of it as the error holds (576 bytes in
			 * all, icmp4_send_error), not only its first 8 bytes.
			 * Measured on Linux 6.18: a first fragment of 124 bytes
			 * quoted whole (rawframes, frag_too_big's queue timing out
			 * in a longer run; pstack quoted 28). */
			if (d->hlen && d->frags && d->frags->off == 0) {
				uint8_t q[ICMP_ERROR_MAX_LEN];
				size_t n = d->frags->len < sizeof(q) - d->hlen ? d->frags->len : sizeof(q) - d->hlen;
				struct ip4_hdr oh;

				memcpy(q, d->hdr, d->hlen);
				memcpy(q + d->hlen, d->frags->data, n);
				ip4_hdr_decode(q, &oh);
				oh.raw_len = d->hlen + n;
				icmp4_send_time_exceeded(s, &oh, 1, now);
			}
			dgram_kill(s, r, d, DROP_IP_FRAG_TIMEOUT);
		}
		d = next;
	}
}

uint64_t ip4_reass_poll_at(const struct ip4_reass *r)
{
	uint64_t t = STACK_NEVER;

	for (const struct ip4_dgram *d = r->head; d; d = d->next)
		if (d->deadline < t)
			t = d->deadline;
	return t;
}

size_t ip4_reass_mem(const struct ip4_reass *r)
{
	return r->mem;
}

size_t ip4_reass_count(const struct ip4_reass *r)
{
	return r->count;
}
