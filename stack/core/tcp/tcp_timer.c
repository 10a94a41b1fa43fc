/*
 * TCP timers (OpenBSD's tcp_timer.c): retransmission (RFC 6298) and the tail
 * loss probe that may stand in for it (RFC 8985 §7), persist (RFC 9293
 * §3.8.6.1), keep-alive (RFC 1122 §4.2.3.6), delayed ACK (RFC 1122
 * §4.2.3.2, RFC 5681 §4.2) and TIME_WAIT; the timer pass that runs what is
 * due, serves the connections waiting their turn to send, and says when it is
 * next needed (tcp_timers_at).
 *
 * Every deadline is an absolute time in a control block (STACK_NEVER when
 * off), armed through tcp_timer_set(). The connections with a timer armed
 * sit in a 4-ary min-heap (the table's tmr_heap) under a key that is at most
 * their earliest deadline: arming an earlier timer moves a connection up
 * (O(log n)), arming a later one (the RTO pushed back by every ACK) costs
 * nothing, and a connection whose key comes due before its deadline goes
 * back in under the deadline. A pass thus costs in the connections due, not
 * in the connections open (1000 bulk connections re-arm their RTO on every
 * ACK; a walk over all of them per pass was the cost of each timer).
 */
#include "stack/core/tcp/tcp.h"

#include <errno.h>
#include <stdlib.h>

#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_priv.h"

/* ---- ACKs owed at the end of a receive batch (delayed ACK) ---- */

void tcp_ackq_add(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->in_ackq)
		return;
	c->in_ackq = true;
	c->ackq_next = t->ackq;
	t->ackq = c;
	/* A backstop, should no timer pass follow the batch. */
	if (c->delack_at == STACK_NEVER)
		tcp_timer_set(c, &c->delack_at, c->s->now + TCP_DELACK_US);
}

void tcp_ackq_remove(struct tcp_conn *c)
{
	struct tcp_conn **pp = &c->s->tcp->ackq;

	if (!c->in_ackq)
		return;
	while (*pp && *pp != c)
		pp = &(*pp)->ackq_next;
	if (*pp)
		*pp = c->ackq_next;
	c->in_ackq = false;
}

/* The ACKs the last batch of frames owes, one per connection, without a
 * walk over every connection. */
static void ackq_flush(struct tcp_table *t, uint64_t now)
{
	struct tcp_conn *c;

	while ((c = t->ackq)) {
		t->ackq = c->ackq_next;
		c->in_ackq = false;
		if (c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_LISTEN && c->rcv_nxt != c->rcv_wup)
			tcp_send_ack(c, now);
	}
}

/* ---- connections waiting their turn to send ---- */

void tcp_txq_add(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->in_txq)
		return;
	c->in_txq = true;
	c->txq_next = NULL;
	if (t->txq_tail)
		t->txq_tail->txq_next = c;
	else
		t->txq_head = c;
	t->txq_tail = c;
}

void tcp_txq_remove(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	struct tcp_conn **pp = &t->txq_head, *prev = NULL;

	if (!c->in_txq)
		return;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->txq_next;
	}
	if (*pp)
		*pp = c->txq_next;
	if (t->txq_tail == c)
		t->txq_tail = prev;
	c->in_txq = false;
}

/* ---- the timer heap ---- */

static void heap_place(struct tcp_table *t, uint32_t i, struct tcp_tmr_ent e)
{
	t->tmr_heap[i] = e;
	e.c->tmr_idx = i;
}

static void heap_up(struct tcp_table *t, uint32_t i)
{
	struct tcp_tmr_ent e = t->tmr_heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / TCP_TMR_ARITY;

		if (t->tmr_heap[parent].key <= e.key)
			break;
		heap_place(t, i, t->tmr_heap[parent]);
		i = parent;
	}
	heap_place(t, i, e);
}

static void heap_down(struct tcp_table *t, uint32_t i)
{
	struct tcp_tmr_ent e = t->tmr_heap[i];

	for (;;) {
		uint32_t first = TCP_TMR_ARITY * i + 1, end = first + TCP_TMR_ARITY, m = i;
		uint64_t key = e.key;

		if (end > t->tmr_n)
			end = t->tmr_n;
		for (uint32_t k = first; k < end; k++) {
			if (t->tmr_heap[k].key < key) {
				m = k;
				key = t->tmr_heap[k].key;
			}
		}
		if (m == i)
			break;
		heap_place(t, i, t->tmr_heap[m]);
		i = m;
	}
	heap_place(t, i, e);
}

/* Takes the entry at i out; its key is left to the caller. */
static void heap_remove(struct tcp_table *t, uint32_t i)
{
	struct tcp_conn *c = t->tmr_heap[i].c;
	struct tcp_tmr_ent last = t->tmr_heap[--t->tmr_n];

	c->tmr_idx = TCP_TMR_NONE;
	if (last.c == c)
		return;
	heap_place(t, i, last);
	if (i > 0 && t->tmr_heap[(i - 1) / TCP_TMR_ARITY].key > last.key)
		heap_up(t, i);
	else
		heap_down(t, i);
}

int tcp_timer_reserve(struct tcp_table *t)
{
	struct tcp_tmr_ent *h;
	uint32_t cap;

	if (t->live < t->tmr_cap)
		return 0;
	if (t->tmr_cap >= UINT32_MAX / 2)
		return -ENOMEM;
	cap = t->tmr_cap ? t->tmr_cap * 2 : 64;
	h = realloc(t->tmr_heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	t->tmr_heap = h;
	t->tmr_cap = cap;
	return 0;
}

void tcp_timer_fini(struct tcp_table *t)
{
	free(t->tmr_heap);
	t->tmr_heap = NULL;
	t->tmr_n = t->tmr_cap = 0;
}

void tcp_timer_sched(struct tcp_conn *c, uint64_t when)
{
	struct tcp_table *t = c->s->tcp;

	/* Key 0: the running pass took c out and puts it back afterwards. */
	if (when >= c->tmr_key || when == STACK_NEVER)
		return;
	c->tmr_key = when;
	if (c->tmr_idx == TCP_TMR_NONE) {
		/* tcp_timer_reserve() made room when c was made. */
		c->tmr_idx = t->tmr_n++;
		t->tmr_heap[c->tmr_idx].c = c;
	}
	t->tmr_heap[c->tmr_idx].key = when;
	heap_up(t, c->tmr_idx);
}

void tcp_timer_unsched(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->tmr_key == 0) {
		/* In the running pass's due list. */
		struct tcp_conn **pp = &t->tmr_due, *prev = NULL;

		while (*pp && *pp != c) {
			prev = *pp;
			pp = &(*pp)->tmr_due_next;
		}
		if (*pp)
			*pp = c->tmr_due_next;
		if (t->tmr_due_tail == c)
			t->tmr_due_tail = prev;
	} else if (c->tmr_idx != TCP_TMR_NONE) {
		heap_remove(t, c->tmr_idx);
	}
	c->tmr_key = STACK_NEVER;
	c->tmr_idx = TCP_TMR_NONE;
}

/* ---- retransmission and tail loss probe ---- */

/* RFC 6298 (5.5): the RTO doubled per expiry in a row, at most
 * tcp_rto_max (TCP_RTO_MAX, 120 s, unless net.ipv4.tcp_rto_max_ms or
 * TCP_RTO_MAX_MS say less: Linux's inet_csk_rto_backoff(icsk,
 * tcp_rto_max(sk))), the SYN's and the SYN-ACK's too. */
uint64_t tcp_backed_off_rto(const struct tcp_conn *c)
{
	uint64_t t = (uint64_t)c->rto << c->backoff, max = tcp_rto_max_us(c);

	return t > max ? max : t;
}

/* RFC 8985 §7.2: a probe is worth it on a synchronized connection with
 * SACK, out of recovery, with an RTT estimate, when no other probe is
 * outstanding. The FIN sent counts the same: Linux's
 * tcp_schedule_loss_probe() looks at no state but a fast open child's
 * handshake, so FIN_WAIT_1, CLOSING and LAST_ACK probe too (packetdrill's
 * shutdown-rdwr-write-queue-close: the FIN resent 2 RTTs after it went). */
static bool tlp_allowed(const struct tcp_conn *c)
{
	/* (Linux's tcp_schedule_loss_probe(): in the Open and CWR states;
	 * not in Disorder, where data is SACKed or was resent) */
	return c->sack_ok && c->rtt_valid && !c->in_recovery &&
	       ((c->ca_state == TCP_CA_OPEN && !c->ca_disorder) || c->ca_state == TCP_CA_CWR) && !c->tlp_out &&
	       c->retries == 0 &&
	       (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_CLOSE_WAIT ||
		c->state == TCP_STATE_FIN_WAIT_1 || c->state == TCP_STATE_CLOSING || c->state == TCP_STATE_LAST_ACK);
}

static uint64_t pto_of(const struct tcp_conn *c)
{
	/* PTO = 2 SRTT, plus (Linux 6.18's tcp_schedule_loss_probe) the
	 * minimum RTO for the peer's delayed ACK when one packet is in flight
	 * (RFC 8985 §7.2's WCDelAckT), else TCP_TIMEOUT_MIN: one or the
	 * other, not both. */
	uint64_t pto = 2ull * c->srtt;

	if (c->snd_max - c->snd_una <= c->mss)
		pto += TCP_RTO_MIN_US;
	else
		pto += TCP_TIMEOUT_MIN_US;
	return pto;
}

static void arm_rto(struct tcp_conn *c, uint64_t now, bool probe_ok)
{
	uint64_t rto = tcp_backed_off_rto(c);

	/* Like Linux's tcp_clamp_rto_to_user_timeout(): once retransmitting,
	 * the timer fires no later than TCP_USER_TIMEOUT's end. */
	if (c->opt.user_timeout_ms && c->first_rexmit_at) {
		uint64_t end = c->first_rexmit_at + (uint64_t)c->opt.user_timeout_ms * 1000;
		uint64_t left = end > now ? end - now : 1000;

		if (rto > left)
			rto = left;
	}
	c->pto_armed = false;
	c->reo_armed = false;
	/* Linux's tcp_schedule_loss_probe (RFC 8985 §7.2): where a probe is
	 * allowed, the timer is the probe's, at the PTO or at the RTO when
	 * that comes first ("if the RTO formula yields an earlier time, then
	 * use that time"): a tail is probed before any timeout, also when one
	 * segment is in flight and the PTO's delayed-ACK allowance puts it
	 * past the RTO. */
	if (probe_ok && tlp_allowed(c)) {
		if (pto_of(c) < rto)
			rto = pto_of(c);
		c->pto_armed = true;
	}
	tcp_timer_set(c, &c->rto_at, now + rto);
	c->persist_at = STACK_NEVER;
	if (c->held_since) {
		c->held_since = 0;      /* data in flight: the link took it */
		c->probes = 0;
	}
}

static void chrono_set(struct tcp_conn *c, enum tcp_chrono type, uint64_t now)
{
	if (c->chrono != TCP_CHRONO_NONE && now > c->chrono_at)
		c->chrono_us[c->chrono - 1] += now - c->chrono_at;
	c->chrono_at = now;
	c->chrono = (uint8_t)type;
}

/* Linux's tcp_chrono_start(): a limit of higher rank takes over; busy
 * starts only from none. */
void tcp_chrono_start(struct tcp_conn *c, enum tcp_chrono type, uint64_t now)
{
	if (type > c->chrono)
		chrono_set(c, type, now);
}

/* Linux's tcp_chrono_stop(): with nothing queued or in flight, no limit;
 * else the limit that ends gives way to busy. */
void tcp_chrono_stop(struct tcp_conn *c, enum tcp_chrono type, uint64_t now)
{
	if (c->chrono == TCP_CHRONO_NONE)
		return;
	if (!c->sndq.len && c->snd_una == c->snd_max)
		chrono_set(c, TCP_CHRONO_NONE, now);
	else if (type == c->chrono)
		chrono_set(c, TCP_CHRONO_BUSY, now);
}

/* Linux's tcp_update_rto_stats(): a retransmission timeout, before the
 * retry count goes up; the first of a run starts one more recovery. A
 * listener's child counts its time from its first SYN-ACK (Linux's
 * tcp_create_openreq_child: since the request's snt_synack; a fast open
 * child's timer is tcp_update_rto_stats' as any). */
void tcp_rto_note(struct tcp_conn *c, uint64_t now)
{
	if (c->retries == 0) {
		c->rto_recoveries++;
		if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open && !c->tfo && c->rtt_start)
			c->rto_stamp = c->rtt_start;
		else
			c->rto_stamp = now ? now : 1;
	}
	c->rto_total++;
}

/* Linux's tcp_update_rto_time(): the run of timeouts is over (an ACK of
 * something new, or the handshake's end). */
void tcp_rto_done(struct tcp_conn *c, uint64_t now)
{
	if (c->rto_stamp) {
		c->rto_time_us += now - c->rto_stamp;
		c->rto_stamp = 0;
	}
}

void tcp_arm_rto(struct tcp_conn *c, uint64_t now)
{
	arm_rto(c, now, true);
}

void tcp_arm_rto_after_probe(struct tcp_conn *c, uint64_t now)
{
	arm_rto(c, now, false);
}

void tcp_rearm_rto_from_head(struct tcp_conn *c, uint64_t now)
{
	uint64_t at;

	arm_rto(c, now, false);
	if (!c->sb.n)
		return;
	/* Linux's tcp_rto_delta_us: the head's latest transmission plus the
	 * RTO, 1 us from now at least ("max_t(int, delta_us, 1)"); never
	 * past what arm_rto set (TCP_USER_TIMEOUT's end). */
	at = tcp_sb_at(&c->sb, 0)->xmit_at + tcp_backed_off_rto(c);
	if (at <= now)
		at = now + 1;
	if (at < c->rto_at)
		tcp_timer_set(c, &c->rto_at, at);
}

/* Linux's tcp_check_sack_reneging: the receiver dropped data it had
 * SACKed (the first unacknowledged segment is marked SACKed); rather than
 * wait a whole RTO, the retransmission timer (not a probe's) fires in half
 * an RTT, 10 ms at least, and the timeout clears the scoreboard
 * (tcp_recovery_on_rto). RFC 2018 §8: the sender must not discard a
 * segment SACKed until it is cumulatively acknowledged. */
void tcp_arm_rto_reneging(struct tcp_conn *c, uint64_t now)
{
	uint64_t delay = c->srtt / 2;

	if (delay < 10000)
		delay = 10000;
	c->pto_armed = false;
	c->reo_armed = false;
	tcp_timer_set(c, &c->rto_at, now + delay);
	c->persist_at = STACK_NEVER;
}

/* Linux's tcp_ack sets the transmit timer (tcp_set_xmit_timer) after
 * tcp_fastretrans_alert: a probe that the ACK armed before its state
 * turned Disorder (or a recovery began) is the RTO instead, and an RTO it
 * armed in Disorder is the probe once the ACK's recovery steps made the
 * state Open again (tcp_schedule_loss_probe, then tcp_rearm_rto; Linux
 * 5.8's "tcp: fix TLP timer not set when CA_STATE changes from DISORDER
 * to OPEN"). RACK's reordering timer stays. */
void tcp_recheck_tlp(struct tcp_conn *c, uint64_t now)
{
	if (c->reo_armed || c->rto_at == STACK_NEVER)
		return;
	if (c->pto_armed && !tlp_allowed(c))
		arm_rto(c, now, false);
	else if (!c->pto_armed && tlp_allowed(c))
		arm_rto(c, now, true);
}

/* After new data went out: the probe timer restarts from the latest
 * transmission (like Linux's tcp_schedule_loss_probe), never past the
 * RTO, which counts from the first unacknowledged segment's latest
 * transmission (tcp_rto_delta_us); a probe at the RTO's time rather than
 * a timeout. */
void tcp_schedule_tlp(struct tcp_conn *c, uint64_t now)
{
	uint64_t at, due;

	if (!tlp_allowed(c) || c->reo_armed)
		return;                 /* RACK's timer first: it may start a recovery */
	at = now + pto_of(c);
	due = (c->sb.n ? tcp_sb_at(&c->sb, 0)->xmit_at : now) + tcp_backed_off_rto(c);
	if (due > now && due < at)
		at = due;
	c->pto_armed = true;
	tcp_timer_set(c, &c->rto_at, at);
}

/* RFC 8985 §6.2 step 5 and §8: the reordering timer takes the RTO's place
 * (like Linux's ICSK_TIME_REO_TIMEOUT); when it fires, RACK looks again and
 * the RTO is armed anew. */
void tcp_arm_reo(struct tcp_conn *c, uint64_t now, uint32_t us)
{
	uint64_t rto = tcp_backed_off_rto(c);

	/* Linux's tcp_rack_mark_lost: what the segment still waits, plus
	 * TCP_TIMEOUT_MIN ("usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US)"),
	 * at most the RTO (the timer's max_when). */
	us += TCP_TIMEOUT_MIN_US;
	if (us > rto)
		us = (uint32_t)rto;
	c->pto_armed = false;
	c->reo_armed = true;
	tcp_timer_set(c, &c->rto_at, now + us);
	c->persist_at = STACK_NEVER;
}

/* ---- persist ---- */

void tcp_arm_persist(struct tcp_conn *c, uint64_t now)
{
	uint64_t when = tcp_backed_off_rto(c);

	/* Like Linux's tcp_clamp_probe0_to_user_timeout(): while probing, the
	 * timer fires no later than TCP_USER_TIMEOUT's end. */
	if (c->opt.user_timeout_ms && c->probes_since) {
		uint64_t end = c->probes_since + (uint64_t)c->opt.user_timeout_ms * 1000;
		uint64_t left = end > now ? end - now : 0;

		if (left < TCP_TIMEOUT_MIN_US)
			left = TCP_TIMEOUT_MIN_US;
		if (left < when)
			when = left;
	}
	tcp_timer_set(c, &c->persist_at, now + when);
}

/*
 * Like Linux's probe timer when the device refuses what it sends (local
 * congestion): tcp_check_probe_timer arms it at the RTO when data waits
 * with nothing in flight; tcp_send_probe0 then retries every
 * TCP_RESOURCE_PROBE_INTERVAL, clamped to TCP_USER_TIMEOUT's end
 * (tcp_clamp_probe0_to_user_timeout), which counts from the first expiry.
 */
void tcp_arm_held(struct tcp_conn *c, uint64_t now)
{
	uint64_t when = c->held_since ? TCP_RESOURCE_PROBE_US : tcp_backed_off_rto(c);

	if (c->held_since) {
		uint64_t end = c->held_since + (uint64_t)c->opt.user_timeout_ms * 1000;
		uint64_t left = end > now ? end - now : 0;

		if (left < TCP_TIMEOUT_MIN_US)
			left = TCP_TIMEOUT_MIN_US;
		if (left < when)
			when = left;
	}
	tcp_timer_set(c, &c->persist_at, now + when);
}

/* ---- expiry, and the timer pass ---- */

/* c's earliest deadline; in TIME_WAIT only tw_at runs (what was armed
 * before stays, unrun, as it always has). */
static uint64_t conn_deadline(const struct tcp_conn *c)
{
	uint64_t t = c->rto_at;

	if (c->in_tw)
		return c->tw_at;
	if (c->persist_at < t)
		t = c->persist_at;
	if (c->delack_at < t)
		t = c->delack_at;
	if (c->comp_at < t)
		t = c->comp_at;
	if (c->keep_at < t)
		t = c->keep_at;
	if (c->tw_at < t)
		t = c->tw_at;
	return t;
}

/* Like Linux's tcp_write_err(): a recent ICMP error explains the failure better. */
static bool give_up(struct tcp_conn *c)
{
	return tcp_abort(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
}

/* Linux's tcp_model_timeout(): how long `boundary` retransmissions take,
 * backed off from base (TCP_RTO_MIN for data, the SYN's 1 s) up to
 * tcp_rto_max. */
static uint64_t model_timeout_from(const struct tcp_conn *c, unsigned boundary, uint64_t base)
{
	uint64_t max = tcp_rto_max_us(c);
	unsigned linear = 0;                /* ilog2(tcp_rto_max / base): 9 from TCP_RTO_MIN, 6 from 1 s */

	while ((max / base) >> (linear + 1))
		linear++;
	if (boundary <= linear)
		return ((2ull << boundary) - 1) * base;
	return ((2ull << linear) - 1) * base + (uint64_t)(boundary - linear) * max;
}

static uint64_t model_timeout(const struct tcp_conn *c, unsigned boundary)
{
	return model_timeout_from(c, boundary, TCP_RTO_MIN_US);
}

/* Like Linux's tcp_orphan_retries(): the namespace's tcp_orphan_retries,
 * whose default 0 gives an orphan 8 tries while its backed-off timer is
 * below TCP_RTO_MAX ("alive"), none after; none either once not alive
 * with an ICMP error seen. A hostile or dead peer must not hold its
 * memory for long. */
static unsigned orphan_retries(const struct tcp_conn *c)
{
	bool alive = tcp_backed_off_rto(c) < tcp_rto_max_us(c);
	unsigned n = c->s->cfg.tcp_orphan_retries;

	if (c->soft_err && !alive)
		return 0;
	return n == 0 && alive ? TCP_ORPHAN_RETRIES : n;
}

static bool timed_out(const struct tcp_conn *c, uint64_t now)
{
	if (c->opt.user_timeout_ms && c->first_rexmit_at &&
	    now - c->first_rexmit_at >= (uint64_t)c->opt.user_timeout_ms * 1000)
		return true;
	/* Like Linux's tcp_write_timeout() for a dead socket: its bound is the
	 * time tcp_orphan_retries retransmissions take (retransmits_timed_out()). */
	if (c->orphan && c->retries && now - c->first_rexmit_at >= model_timeout(c, orphan_retries(c)))
		return true;
	return c->retries >= c->s->cfg.tcp_retries2;
}

/*
 * Like Linux's tcp_rtx_probe0_timed_out(): while the retransmissions probe a
 * window that shrank to zero, the connection lives as long as the peer
 * answers; it ends once no ACK came for 2 tcp_rto_max and the probes ran
 * that long, or TCP_USER_TIMEOUT passed since the first retransmission
 * (the peer's zero windows do not restart that count).
 */
static bool zero_window_timed_out(const struct tcp_conn *c, uint64_t now)
{
	uint64_t timeout = 2 * tcp_rto_max_us(c), rtx = now - c->first_rexmit_at;

	if (c->opt.user_timeout_ms) {
		uint64_t ut = (uint64_t)c->opt.user_timeout_ms * 1000;

		if (rtx > ut)
			return true;
		if (ut < timeout)
			timeout = ut;
	}
	if (now - c->last_ack_at <= timeout)
		return false;
	return rtx > timeout;
}

/* SYN (or SYN-ACK) retransmissions before giving up: TCP_SYNCNT or the
 * default; for a child of a listener with TCP_DEFER_ACCEPT, that many
 * (Linux's reqsk_timer_handler). An active open's SYN, or its SYN-ACK
 * after a simultaneous open, goes tcp_syn_retries times (tcp_write_timeout
 * in SYN-SENT and SYN-RECV); a listener's child's SYN-ACK
 * tcp_synack_retries, a fast open child's once more
 * (tcp_fastopen_synack_timer). */
static unsigned syn_retries(const struct tcp_conn *c)
{
	if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open && c->opt.defer_accept)
		return c->opt.defer_accept;
	if (c->opt.syncnt)
		return c->opt.syncnt;
	if (c->active_open)
		return c->s->cfg.tcp_syn_retries;
	return c->s->cfg.tcp_synack_retries + (c->tfo ? 1u : 0u);
}

uint64_t tcp_fin_time(const struct tcp_conn *c)
{
	uint64_t t = (uint64_t)(c->opt.linger2 > 0 ? (uint32_t)c->opt.linger2 : c->s->cfg.tcp_fin_timeout_s) * 1000000;
	uint64_t min = 4ull * c->rto - c->rto / 2;

	return t > min ? t : min;
}

/* The end of Linux's tcp_write_timeout: a timeout that leaves the
 * connection alive rethinks its path (sk_rethink_txhash) unless
 * SO_TXREHASH, or net.core.txrehash for a socket that did not set it,
 * says not, and counts it (tcpi_rehash). */
static void timeout_rehash(struct tcp_conn *c)
{
	if (c->opt.txrehash < 0 ? c->s->cfg.txrehash : c->opt.txrehash)
		c->timeout_rehash++;
}

/*
 * Linux's tcp_write_timeout for a handshake. A listener's child gives up
 * after its SYN-ACKs (reqsk_timer_handler's count). An active open's SYN
 * goes syn_retries times and, in SYN-SENT, tcp_syn_linear_timeouts times
 * more (the timeouts that do not back off), but no longer than those
 * syn_retries would take backed off from the first SYN's 1 s
 * (retransmits_timed_out's tcp_model_timeout, from the first SYN): with
 * TCP_SYNCNT 2, six SYNs and ETIMEDOUT at 7 s (measured on Linux 6.18).
 */
static bool syn_timed_out(const struct tcp_conn *c, uint64_t now)
{
	unsigned n = syn_retries(c), max = n;

	if (c->opt.user_timeout_ms && now - c->rtt_start >= (uint64_t)c->opt.user_timeout_ms * 1000)
		return true;
	if (!c->active_open)
		return c->retries >= n;
	if (c->state == TCP_STATE_SYN_SENT)
		max += c->s->cfg.tcp_syn_linear_timeouts;
	return c->retries >= max || (c->retries && now - c->rtt_start >= model_timeout_from(c, n, TCP_RTO_INIT_US));
}

/* Each timer handler returns true when the connection was freed. */
static bool rto_expired(struct tcp_conn *c, uint64_t now)
{
	bool zero_wnd, resend, reduce;

	c->rto_at = STACK_NEVER;
	switch (c->state) {
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
		if (syn_timed_out(c, now))
			return tcp_abort(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
		/* Linux's syn_ack_recalc(): a child whose bare ACK TCP_DEFER_ACCEPT
		 * dropped waits for data without resending, until the last
		 * period, whose SYN-ACK gives the peer's ACK a last chance to
		 * complete the connection without data. */
		resend = !c->defer_acked || c->retries + 1 >= c->opt.defer_accept;
		/* A listener's child has no count: its SYN-ACKs are Linux's
		 * request sock's (or, with fast open, tcp_fastopen_synack_timer's). */
		if (c->active_open)
			timeout_rehash(c);
		tcp_rto_note(c, now);
		c->retries++;
		/* Linux's tcp_retransmit_timer: a SYN's first
		 * tcp_syn_linear_timeouts timeouts keep its RTO (no backoff). */
		if (c->state != TCP_STATE_SYN_SENT || c->rto_total > c->s->cfg.tcp_syn_linear_timeouts)
			c->backoff++;
		if (resend) {
			c->s->stats.tcp_timeouts++;
			c->s->stats.tcp_retransmits++;
			c->total_retrans++;
			tcp_send_syn(c, now);
		}
		tcp_arm_rto(c, now);
		return false;
	case TCP_STATE_CLOSED:
	case TCP_STATE_LISTEN:
	case TCP_STATE_TIME_WAIT:
		return false;
	default:
		break;
	}
	if (c->snd_una == c->snd_max)
		return false;
	if (c->reo_armed) {
		tcp_rack_reo_timeout(c, now);
		return false;
	}
	if (c->pto_armed) {
		c->pto_armed = false;
		tcp_send_tlp(c, now);
		return false;
	}
	/* Linux's retrans_stamp: the time of the first retransmission, this
	 * timeout's (tcp_retransmit_skb notes the segment's send time after
	 * resending it; a loss probe's copy does not count). TCP_USER_TIMEOUT
	 * and an orphan's bound count from it, not from the data's first
	 * sending: measured on Linux 6.18, TCP_USER_TIMEOUT 1500 and 1000
	 * bytes the peer never acknowledges, sent at 0.300 s: the probe at
	 * 0.508, resends at 0.716, 1.128 and 1.960, ETIMEDOUT at 2.250. */
	if (!c->first_rexmit_at)
		c->first_rexmit_at = now;
	c->rto_count++;
	c->s->stats.tcp_timeouts++;
	/* RFC 9293 §3.8.6.2.1: a window that shrank to zero with data in
	 * flight is probed (Linux's tcp_retransmit_timer(): "receiver
	 * dastardly shrinks window"); these expiries do not count towards
	 * tcp_retries2, unless nobody holds the socket any more. */
	zero_wnd = c->snd_wnd == 0 && !c->orphan;
	if (zero_wnd ? zero_window_timed_out(c, now) : timed_out(c, now)) {
		/* Like Linux's tcp_write_err(): a recent ICMP error explains the failure better. */
		return tcp_abort(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
	}
	/* A window probe is not a timeout to Linux (tcp_retransmit_timer's
	 * zero window case skips tcp_write_timeout). */
	if (!zero_wnd)
		timeout_rehash(c);
	/* Linux's tcp_enter_loss: the loss window whatever, but ssthresh
	 * comes down (and what an undo would restore is noted) only on a
	 * timeout that starts a new episode: not inside a recovery or a CWR
	 * state still under way, whose reduction stands, nor on a timeout
	 * that repeats with no progress since. RFC 6298 (5.5)-(5.6): back
	 * off and retransmit the earliest segment. */
	reduce = tcp_recovery_rto_new_episode(c);
	if (reduce)
		tcp_recovery_rto_undo_init(c);
	tcp_cc_on_rto(&c->cc, reduce, now);
	if (!zero_wnd) {
		tcp_rto_note(c, now);
		c->retries++;
	}
	if (c->backoff < 15)
		c->backoff++;
	c->recover = c->snd_max - 1;        /* RFC 6582 §3.2 step 2's highest sequence number sent */
	/* RFC 8985 §6.3: what is lost (the state becomes Loss), resent as the
	 * window allows, the first unacknowledged segment at once (RFC 6298
	 * (5.4)), whatever the window says: behind a window that shrank to
	 * zero it is the window probe (RFC 9293 §3.8.6.2.1; Linux's
	 * __tcp_retransmit_skb() makes the same exception for SND.UNA). */
	tcp_recovery_on_rto(c, now);
	/* Linux's tcp_enter_loss: cwnd is what is still in flight once the
	 * timeout marked its losses, plus one segment (tcp_packets_in_flight
	 * + 1): the one being resent. */
	c->cc.cwnd = tcp_pipe(c) + c->mss;
	c->rtt_timing = false;
	tcp_retransmit_at(c, c->snd_una, now);
	tcp_output(c, now);
	if (c->rto_at == STACK_NEVER)
		tcp_arm_rto(c, now);
	return false;
}

static bool persist_expired(struct tcp_conn *c, uint64_t now)
{
	c->persist_at = STACK_NEVER;
	if (c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_TIME_WAIT)
		return false;
	if (c->snd_wnd && c->snd_una == c->snd_max && c->opt.user_timeout_ms && stack_tx_full(c->s)) {
		/* Data held back by a full link (tcp_arm_held): Linux's
		 * tcp_probe_timer ends the connection TCP_USER_TIMEOUT after
		 * its first expiry whatever keeps the data back. Deviation:
		 * without TCP_USER_TIMEOUT Linux gives up after tcp_retries2
		 * refused probes (7.7 s); pstack waits for the link, whose
		 * full queue is its own flow control, not a drop. */
		if (!c->held_since)
			c->held_since = now;
		else if (now - c->held_since >= (uint64_t)c->opt.user_timeout_ms * 1000)
			return give_up(c);
		if (c->probes < UINT8_MAX)
			c->probes++;    /* tcp_send_probe0 counts the refused probe */
		tcp_arm_held(c, now);
		return false;
	}
	if (c->snd_wnd == 0) {
		unsigned max_probes = c->s->cfg.tcp_retries2;

		/* Like Linux's tcp_probe_timer(): RFC 1122 §4.2.2.17 keeps a
		 * connection open as long as the peer answers the probes (each
		 * ACK resets c->probes), but TCP_USER_TIMEOUT counts from the
		 * first probe whatever the peer answers, and an orphan's
		 * probes end once its backed-off timer reaches TCP_RTO_MAX. */
		if (!c->probes_since)
			c->probes_since = now;
		else if (c->opt.user_timeout_ms &&
			 now - c->probes_since >= (uint64_t)c->opt.user_timeout_ms * 1000)
			return give_up(c);
		if (c->orphan)
			max_probes = orphan_retries(c);     /* 0 once the timer reached TCP_RTO_MAX */
		if (c->probes >= max_probes)
			return give_up(c);
		/* RFC 9293 §3.8.6.1: a zero-window probe (like Linux, no data, SEQ = SND.UNA - 1). */
		tcp_send_probe(c, now);
		c->probes++;
		c->persist_probes++;
		if (c->backoff < 15)
			c->backoff++;
		tcp_arm_persist(c, now);
		return false;
	}
	/* RFC 1122 §4.2.3.4: the override timeout sends what the window allows. */
	c->sws_override = true;
	tcp_output(c, now);
	c->sws_override = false;
	return false;
}

static bool keepalive_expired(struct tcp_conn *c, uint64_t now)
{
	uint64_t idle_until = c->last_rcv_at + (uint64_t)tcp_keepidle_s(c) * 1000000;

	c->keep_at = STACK_NEVER;
	if (!c->opt.keepalive || (c->state != TCP_STATE_ESTABLISHED && c->state != TCP_STATE_CLOSE_WAIT &&
			      c->state != TCP_STATE_FIN_WAIT_2))
		return false;
	if (c->snd_una != c->snd_max || c->sndq.len) {
		/* Data in flight: the retransmission timer is watching. */
		tcp_timer_set(c, &c->keep_at, now + (uint64_t)tcp_keepidle_s(c) * 1000000);
		return false;
	}
	if (now < idle_until && c->probes == 0) {
		tcp_timer_set(c, &c->keep_at, idle_until);
		return false;
	}
	/* Linux's tcp_keepalive_timer: with TCP_USER_TIMEOUT, the probes go
	 * on until that long has passed since the peer was last heard
	 * (TCP_KEEPCNT aside), else TCP_KEEPCNT probes. Measured on Linux
	 * 6.18 (idle 1 s, interval 1 s, count 3, TCP_USER_TIMEOUT 5500 ms, a
	 * silent peer): probes at 1 to 5 s, the reset at 6 s (pstack: the
	 * reset at 4 s). */
	if (c->opt.user_timeout_ms ? c->probes > 0 && now - c->last_rcv_at >= (uint64_t)c->opt.user_timeout_ms * 1000
				   : c->probes >= tcp_keepcnt(c)) {
		/* Like Linux's keepalive timer: a reset, then the error. */
		tcp_send_rst(c, now);
		return tcp_abort(c, -ETIMEDOUT);
	}
	/* RFC 1122 §4.2.3.6: a keep-alive is SEG.SEQ = SND.NXT - 1 with no data. */
	tcp_send_probe(c, now);
	c->probes++;
	tcp_timer_set(c, &c->keep_at, now + (uint64_t)tcp_keepintvl_s(c) * 1000000);
	return false;
}

/* TIME_WAIT (or an orphan's FIN_WAIT_2) is over. */
static bool tw_expired(struct tcp_conn *c, uint64_t now)
{
	(void)now;
	c->tw_at = STACK_NEVER;
	if (c->state == TCP_STATE_TIME_WAIT || (c->state == TCP_STATE_FIN_WAIT_2 && c->orphan))
		return tcp_done(c);
	return false;
}

/* Runs c's due timers; true when c was freed. A handler that frees c
 * (tcp_done() on an orphan or an embryonic child) returns true and nothing
 * after it may touch c; one that only closes it (the application still
 * holds c) leaves CLOSED, with every timer off. */
static bool conn_timers(struct tcp_conn *c, uint64_t now)
{
	if (c->tw_at <= now && tw_expired(c, now))
		return true;
	if (c->comp_at <= now) {
		/* Linux's tcp_compressed_ack_kick: one ACK for the duplicates
		 * SACK compression held back. */
		c->comp_at = STACK_NEVER;
		if (c->comp_acks && c->state != TCP_STATE_CLOSED)
			tcp_send_ack(c, now);
	}
	if (c->delack_at <= now) {
		c->delack_at = STACK_NEVER;
		/* Linux's tcp_delack_timer_handler(): a delayed ACK that had to
		 * fire doubles the ato (up to the RTO); when interactive, no
		 * reply carried it: the interactive mode ends, the ato too. */
		if (c->ack_sched && !c->pingpong) {
			c->ato = c->ato * 2 < c->rto ? c->ato * 2 : c->rto;
		} else if (c->ack_sched) {
			c->pingpong = false;
			c->ato = TCP_DELACK_US;
		}
		if (c->state != TCP_STATE_CLOSED)
			tcp_send_ack(c, now);
	}
	if (c->state == TCP_STATE_CLOSED)
		return false;
	if (c->rto_at <= now) {
		if (rto_expired(c, now))
			return true;
		if (c->state == TCP_STATE_CLOSED)
			return false;
	}
	if (c->persist_at <= now) {
		if (persist_expired(c, now))
			return true;
		if (c->state == TCP_STATE_CLOSED)
			return false;
	}
	return c->keep_at <= now && keepalive_expired(c, now);
}

void tcp_timer_resched(struct tcp_conn *c)
{
	tcp_timer_sched(c, conn_deadline(c));
}

void tcp_timers(struct stack *s, uint64_t now)
{
	struct tcp_table *t = s->tcp;
	struct tcp_conn *c;

	if (t->tw_pend.live)
		tcp_tw_pending_expire(s, now);
	/* Any pass sends the ACKs owed (tcp_timers_at() says one is due at
	 * once): at worst, mid-batch for another reader, a little early. */
	if (t->ackq)
		ackq_flush(t, now);
	/* Connections waiting their turn to send, up to a round's budget, while
	 * the link takes more (a connection that finds it full goes back to
	 * the tail). */
	for (uint64_t start = t->segs_sent; t->txq_head && t->segs_sent - start < TCP_TX_ROUND && !stack_tx_full(s);) {
		c = t->txq_head;
		t->txq_head = c->txq_next;
		if (!t->txq_head)
			t->txq_tail = NULL;
		c->in_txq = false;
		tcp_output(c, now);
	}
	/* The connections due leave the heap first, in deadline order, so
	 * that each runs at most once a pass, whatever its handlers arm
	 * (a timer armed at now is the next pass's). */
	while (t->tmr_n && t->tmr_heap[0].key <= now) {
		c = t->tmr_heap[0].c;
		heap_remove(t, 0);
		c->tmr_key = 0;
		c->tmr_due_next = NULL;
		if (t->tmr_due_tail)
			t->tmr_due_tail->tmr_due_next = c;
		else
			t->tmr_due = c;
		t->tmr_due_tail = c;
	}
	/* A connection's timers free at most that connection (listeners have
	 * no timers); one freed while still in the list leaves it
	 * (tcp_timer_unsched). A key that came due before the deadline (a
	 * later timer armed since) only puts the connection back. */
	while ((c = t->tmr_due)) {
		t->tmr_due = c->tmr_due_next;
		if (!t->tmr_due)
			t->tmr_due_tail = NULL;
		c->tmr_key = STACK_NEVER;
		if (conn_deadline(c) <= now) {
			t->tmr_runs++;
			if (conn_timers(c, now))
				continue;       /* freed */
		}
		tcp_timer_resched(c);
	}
}

uint64_t tcp_timers_at(const struct stack *s)
{
	const struct tcp_table *t = s->tcp;

	/* ACKs owed, or connections waiting their turn to send: due now (for
	 * the latter, once the link takes more: its owner runs the stack when
	 * it wrote what it held, stack_link's tx_full). */
	if (t->ackq || (t->txq_head && !stack_tx_full(s)))
		return 0;
	uint64_t at = t->tmr_n ? t->tmr_heap[0].key : STACK_NEVER;
	uint64_t held = t->tw_pend.live ? tcp_tw_pending_at(s) : STACK_NEVER;

	return held < at ? held : at;
}
