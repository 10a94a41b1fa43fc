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
	return s->tcp->all || s->tcp->tw_head;
}

static void tw_fill(const struct tcp_conn *c, struct tcp_tw_rec *r, uint64_t now)
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
}

size_t tcp_tw_export(const struct stack *s, struct tcp_tw_rec *out, size_t max, uint64_t now)
{
	size_t n = 0;

	stack_assert_locked();
	/* The TIME_WAIT list is in deadline order: the importer appends in
	 * the same order and keeps it so. */
	for (const struct tcp_conn *c = s->tcp->tw_head; c; c = c->all_next, n++)
		if (n < max)
			tw_fill(c, &out[n], now);
	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (tw_kind(c)) {
			if (n < max)
				tw_fill(c, &out[n], now);
			n++;
		}
	return n;
}

int tcp_tw_import(struct stack *s, const struct tcp_tw_rec *r, uint64_t now)
{
	struct tcp_conn *c;

	stack_assert_locked();
	if ((r->state != TCP_STATE_TIME_WAIT && r->state != TCP_STATE_FIN_WAIT_2) || !r->lport || !r->rport ||
	    !r->raddr || r->snd_wscale > 14 || r->rcv_wscale > 14)
		return -EINVAL;
	if (tcp_lookup(s, r->laddr, r->lport, r->raddr, r->rport))
		return -EEXIST;
	if (!(c = tcp_conn_new(s)))
		return -ENOMEM;
	c->pcb.local.addr = r->laddr;
	c->pcb.local.port = r->lport;
	c->pcb.remote.addr = r->raddr;
	c->pcb.remote.port = r->rport;
	/* Nobody holds it: it goes when its wait ends (tw_expired). */
	c->orphan = true;
	c->was_connected = true;
	/* Everything we sent, our FIN included, was acknowledged (FIN_WAIT_2
	 * and TIME_WAIT both come after that ACK). */
	c->iss = c->snd_una = c->snd_nxt = c->snd_max = c->snd_base = r->snd_nxt;
	c->snd_wl2 = c->psh_pushed = c->psh_tail = c->recover = r->snd_nxt;
	c->fin_queued = true;
	c->wr_shut = true;
	c->rcv_nxt = c->rcv_wup = r->rcv_nxt;
	c->rcv_adv = r->rcv_nxt + r->rcv_wnd;
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
	return 0;
}
