/*
 * TIME_WAIT records (tcp.h, struct tcp_tw_rec): what a connection waiting
 * out TIME_WAIT (or an orphan's FIN_WAIT_2) needs in order to go on doing
 * so in another stack, which takes over the device from the one that held
 * it (stack/host/ctl.c's handover).
 *
 * RFCs: 9293 §3.10.7.4 (TIME_WAIT: a retransmitted FIN is acknowledged and
 * restarts the 2 MSL wait), 6191 (a new SYN may reopen a 4-tuple in
 * TIME_WAIT by its timestamp), 7323 §5 (PAWS: our TS values must keep
 * growing on the imported connection, so the record carries our TS clock).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/lockcheck.h"
#include "stack/core/tcp/tcp_priv.h"

static bool tw_kind(const struct tcp_conn *c)
{
	return c->state == TCP_STATE_TIME_WAIT || (c->state == TCP_STATE_FIN_WAIT_2 && c->orphan);
}

bool tcp_tw_only(const struct stack *s)
{
	stack_assert_locked();
	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (!tw_kind(c))
			return false;
	for (const struct tcp_conn *c = s->tcp->tw_head; c; c = c->all_next)
		if (!c->orphan)
			return false;   /* a socket the application holds (none once it is gone) */
	return s->tcp->all || s->tcp->tw_head || s->tcp->tw_pend.live;
}

void tcp_tw_record(const struct tcp_conn *c, struct tcp_tw_rec *r, uint64_t now)
{
	memset(r, 0, sizeof(*r));
	r->laddr = c->pcb.local.addr;
	r->raddr = c->pcb.remote.addr;
	r->lport = c->pcb.local.port;
	r->rport = c->pcb.remote.port;
	r->state = (uint8_t)c->state;
	r->ts_ok = c->ts_ok;
	r->snd_wscale = c->snd_wscale;
	r->rcv_wscale = c->rcv_wscale;
	r->snd_nxt = c->snd_nxt;
	r->rcv_nxt = c->rcv_nxt;
	r->ts_val = tcp_ts_now(c, now);
	r->ts_recent = c->ts_recent;
	r->ts_recent_age_ms = (uint32_t)(now / 1000) - c->ts_recent_ms;
	r->left_ms = c->tw_at == STACK_NEVER ? 0 : c->tw_at > now ? (uint32_t)((c->tw_at - now + 999) / 1000) : 0;
	r->snd_wnd = c->snd_wnd;
	r->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	r->reuse = (uint8_t)(c->pcb.reuse & (INPCB_REUSEADDR | INPCB_REUSEPORT | INPCB_CONNECT_BIND));
}

/* ---- a new connection on a waiting one's 4-tuple ---- */

/*
 * Linux's tcp_twsk_unique. Only when the peer used timestamps: a segment
 * of the old connection still in flight then fails PAWS on the new one
 * (RFC 7323 §5), whose TS values carry on from the old ones (the TS
 * offset is per address pair, tcp_ts_offset) and whose ISN lies beyond
 * the old sequence space (tcp_connect). A port bind() named is taken at
 * once; for a port connect() picks, net.ipv4.tcp_tw_reuse decides (1
 * always, 2 with a loopback address, 0 never; never in FIN_WAIT_2), once
 * more than tcp_tw_reuse_delay_ms has passed since TIME_WAIT began
 * (Linux's tw_entry_stamp; millisecond clock).
 */
bool tcp_tw_reusable(const struct tcp_conn *w, bool port_named, uint64_t now)
{
	const struct stack_config *cfg = &w->s->cfg;
	unsigned reuse = cfg->tcp_tw_reuse;

	if (!tw_kind(w) || !w->ts_ok)
		return false;
	if (port_named)
		return true;
	if (w->state != TCP_STATE_TIME_WAIT)
		reuse = 0;
	if (reuse == 2 && w->pcb.local.addr >> 24 != 127 && w->pcb.remote.addr >> 24 != 127)
		reuse = 0;
	return reuse && (int32_t)((uint32_t)(now / 1000) - (uint32_t)(w->tw_since / 1000) - cfg->tcp_tw_reuse_delay_ms) > 0;
}

bool tcp_tw_reusable_pcb(struct stack *s, const struct inpcb *p)
{
	const struct tcp_conn *w = (const struct tcp_conn *)(const void *)((const char *)p - offsetof(struct tcp_conn, pcb));

	return tcp_tw_reusable(w, false, s->now);
}

/* ---- records held until something looks at their ports ---- */

static void tcp_tw_pending_free_held(struct tcp_tw_pending *p)
{
	free(p->v);
	free(p->ports);
	memset(p, 0, sizeof(*p));
}

/* e's record as of now: the TS clock and the age of ts_recent moved on as
 * they would have in a connection made when e was taken (so that a later
 * tcp_tw_import() gives it the same ts_offset to the millisecond: our TS
 * values never step back), and what is left of the wait. */
static void held_rec(const struct tcp_tw_held *e, uint64_t now, struct tcp_tw_rec *r)
{
	uint32_t d = now > e->at ? (uint32_t)(now / 1000 - e->at / 1000) : 0;

	*r = e->rec;
	r->ts_val += d;
	r->ts_recent_age_ms += d;
	r->left_ms = e->until > now ? (uint32_t)((e->until - now + 999) / 1000) : 0;
}

static size_t held_export(const struct tcp_tw_pending *p, struct tcp_tw_rec *out, size_t max, uint64_t now)
{
	size_t n = 0;

	for (uint32_t i = p->head; p->live && i < p->n; i++) {
		const struct tcp_tw_held *e = &p->v[i];

		if (e->gone || e->until <= now)
			continue;
		if (n < max)
			held_rec(e, now, &out[n]);
		n++;
	}
	return n;
}

static bool port_held(const struct tcp_tw_pending *p, uint16_t port)
{
	return p->ports && (p->ports[port / 64] >> (port % 64) & 1);
}

static void held_skip(struct tcp_tw_pending *p)
{
	while (p->head < p->n && p->v[p->head].gone)
		p->head++;
	if (!p->live)
		tcp_tw_pending_free_held(p);
}

void tcp_tw_pending_free(struct tcp_table *t)
{
	tcp_tw_pending_free_held(&t->tw_pend);
}

/* e leaves the records: a connection when its wait is not over (now: the
 * stack's latest, never before e was taken). */
static void held_take(struct stack *s, struct tcp_tw_held *e, uint64_t now)
{
	struct tcp_tw_rec r;

	if (now < e->at)
		now = e->at;
	e->gone = true;
	s->tcp->tw_pend.live--;
	if (e->until <= now)
		return;
	held_rec(e, now, &r);
	(void)tcp_tw_import(s, &r, now);
}

void tcp_tw_pending_port(struct stack *s, uint16_t port)
{
	struct tcp_tw_pending *p = &s->tcp->tw_pend;
	uint64_t now = s->now;

	if (!p->live || !port_held(p, port))
		return;
	/* Cleared first: the imports look the 4-tuples up, and must not come
	 * back here. */
	p->ports[port / 64] &= ~(1ull << (port % 64));
	for (uint32_t i = p->head; i < p->n; i++) {
		struct tcp_tw_held *e = &p->v[i];

		if (!e->gone && e->rec.lport == port)
			held_take(s, e, now);
	}
	held_skip(p);
}

void tcp_tw_pending_expire(struct stack *s, uint64_t now)
{
	struct tcp_tw_pending *p = &s->tcp->tw_pend;

	/* In deadline order: the ones over are at the head. */
	while (p->live && p->head < p->n && (p->v[p->head].gone || p->v[p->head].until <= now)) {
		if (!p->v[p->head].gone) {
			p->v[p->head].gone = true;
			p->live--;
		}
		p->head++;
	}
	held_skip(p);
}

uint64_t tcp_tw_pending_at(const struct stack *s)
{
	const struct tcp_tw_pending *p = &s->tcp->tw_pend;

	for (uint32_t i = p->head; p->live && i < p->n; i++)
		if (!p->v[i].gone)
			return p->v[i].until;
	return STACK_NEVER;
}

void tcp_tw_take_all(struct stack *s, uint64_t now)
{
	struct tcp_tw_pending *p = &s->tcp->tw_pend;

	stack_assert_locked();
	for (uint32_t i = p->head; p->live && i < p->n; i++)
		if (!p->v[i].gone)
			held_take(s, &p->v[i], now);
	held_skip(p);
}

static bool rec_ok(const struct tcp_tw_rec *r)
{
	return (r->state == TCP_STATE_TIME_WAIT || r->state == TCP_STATE_FIN_WAIT_2) && r->lport && r->rport &&
	       r->raddr && r->snd_wscale <= 14 && r->rcv_wscale <= 14;
}

/* In deadline order, stable (a merge sort: what a handover brings is mostly
 * in order already, runs of it at worst). */
static void held_sort(struct tcp_tw_held *v, size_t n)
{
	struct tcp_tw_held *tmp = malloc(n * sizeof(*v)), *a = v, *b = tmp, *x;

	if (!tmp) {
		/* No room: in place, one at a time. */
		for (size_t i = 1; i < n; i++) {
			struct tcp_tw_held e = v[i];
			size_t j = i;

			for (; j && v[j - 1].until > e.until; j--)
				v[j] = v[j - 1];
			v[j] = e;
		}
		return;
	}
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				b[k++] = a[j].until < a[i].until ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		x = a;
		a = b;
		b = x;
	}
	if (a != v)
		memcpy(v, a, n * sizeof(*v));
	free(tmp);
}

size_t tcp_tw_adopt(struct stack *s, const struct tcp_tw_rec *recs, size_t n, uint64_t now)
{
	struct tcp_tw_pending *p = &s->tcp->tw_pend;
	bool sorted = true;
	size_t k = 0;

	stack_assert_locked();
	if (p->v || !n || n > UINT32_MAX)
		return 0;
	p->v = malloc(n * sizeof(*p->v));
	p->ports = calloc(65536 / 64, sizeof(*p->ports));
	if (!p->v || !p->ports) {
		/* No room for the records: connections at once, as many as fit. */
		tcp_tw_pending_free_held(p);
		for (size_t i = 0; i < n; i++)
			if (recs[i].laddr == s->cfg.addr && tcp_tw_import(s, &recs[i], now) == 0)
				k++;
		return k;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tcp_tw_rec *r = &recs[i];
		struct tcp_tw_held *e = &p->v[k];

		/* A stack that just started has no connection to collide with
		 * (and a lookup per record would touch the hash table's pages). */
		if (r->laddr != s->cfg.addr || !rec_ok(r) ||
		    (s->tcp->live && tcp_conn_of(inpcb_lookup(&s->tcp->pcbs, r->laddr, r->lport, r->raddr, r->rport))))
			continue;
		e->rec = *r;
		e->at = now;
		e->until = now + (uint64_t)r->left_ms * 1000;
		e->gone = false;
		if (k && e->until < p->v[k - 1].until)
			sorted = false;
		p->ports[r->lport / 64] |= 1ull << (r->lport % 64);
		k++;
	}
	if (!sorted)
		held_sort(p->v, k);
	p->n = p->live = (uint32_t)k;
	p->head = 0;
	if (!k)
		tcp_tw_pending_free_held(p);
	return k;
}

size_t tcp_tw_export(const struct stack *s, struct tcp_tw_rec *out, size_t max, uint64_t now)
{
	size_t n = 0;

	stack_assert_locked();
	/* The records still held came before any connection of this stack
	 * entered TIME_WAIT; the TIME_WAIT list is in deadline order. The
	 * importer sorts what is not in order (tcp_tw_adopt). */
	n = held_export(&s->tcp->tw_pend, out, max, now);
	for (const struct tcp_conn *c = s->tcp->tw_head; c; c = c->all_next, n++)
		if (n < max)
			tcp_tw_record(c, &out[n], now);
	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (tw_kind(c)) {
			if (n < max)
				tcp_tw_record(c, &out[n], now);
			n++;
		}
	return n;
}

int tcp_tw_import(struct stack *s, const struct tcp_tw_rec *r, uint64_t now)
{
	uint64_t wait = 2ull * s->cfg.tcp_msl_ms * 1000, end = now + (uint64_t)r->left_ms * 1000;
	struct tcp_conn *c;

	stack_assert_locked();
	if (!rec_ok(r))
		return -EINVAL;
	/* The table itself: a record held for this 4-tuple is the caller's. */
	if (tcp_conn_of(inpcb_lookup(&s->tcp->pcbs, r->laddr, r->lport, r->raddr, r->rport)))
		return -EEXIST;
	if (!(c = tcp_conn_new(s)))
		return -ENOMEM;
	c->pcb.local.addr = r->laddr;
	c->pcb.local.port = r->lport;
	c->pcb.remote.addr = r->raddr;
	c->pcb.remote.port = r->rport;
	c->pcb.reuse = r->reuse & (INPCB_REUSEADDR | INPCB_REUSEPORT | INPCB_CONNECT_BIND);
	/* Nobody holds it: it goes when its wait ends (tw_expired). */
	c->orphan = true;
	c->was_connected = true;
	/* Everything we sent, our FIN included, was acknowledged (FIN_WAIT_2
	 * and TIME_WAIT both come after that ACK). */
	c->iss = c->snd_una = c->snd_nxt = c->snd_max = c->snd_base = r->snd_nxt;
	c->snd_wl2 = c->psh_pushed = c->psh_tail = c->recover = c->snd_sml = r->snd_nxt;
	c->fin_queued = true;
	c->wr_shut = true;
	c->rcv_nxt = c->rcv_wup = r->rcv_nxt;
	c->rcv_adv = r->rcv_nxt + r->rcv_wnd;
	c->rcv_ssthresh = r->rcv_wnd;
	c->snd_wl1 = r->rcv_nxt;
	c->irs = r->rcv_nxt - 1;
	c->fin_rcvd = r->state == TCP_STATE_TIME_WAIT;
	c->rd_shut = true;
	c->snd_wnd = c->max_snd_wnd = r->snd_wnd;
	c->snd_wscale = r->snd_wscale;
	c->rcv_wscale = r->rcv_wscale;
	c->ws_ok = r->snd_wscale || r->rcv_wscale;
	c->ts_ok = r->ts_ok != 0;
	/* Our TS clock goes on from where the other stack's was: a peer that
	 * checks PAWS on our ACK (RFC 7323 §5) takes it. */
	c->ts_offset = r->ts_val - (uint32_t)(now / 1000);
	c->ts_recent = r->ts_recent;
	c->ts_recent_ms = (uint32_t)(now / 1000) - r->ts_recent_age_ms;
	tcp_set_state(c, (enum tcp_state)r->state);
	inpcb_hash_insert(&s->tcp->pcbs, &c->pcb);
	inpcb_bind_insert(&s->tcp->pcbs, &c->pcb);
	if (c->state == TCP_STATE_TIME_WAIT) {
		/* As enter_time_wait() leaves it: no buffers, only tw_at. */
		tcp_ring_free(&c->sndq);
		tcp_ring_free(&c->rcvq);
	}
	tcp_timer_set(c, &c->tw_at, now + (uint64_t)r->left_ms * 1000);
	/* When the wait began, from what is left of it (a FIN retransmitted
	 * meanwhile restarted it: later, never earlier, than it was). */
	c->tw_since = end > wait ? end - wait : 0;
	return 0;
}
