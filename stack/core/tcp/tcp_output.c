/*
 * TCP output: building segments (header, options, payload from the send
 * ring), the sender's decisions (windows, congestion window, Nagle, sender
 * SWS avoidance), retransmissions and probes.
 *
 * RFCs: 9293 §3.8.6 (window management), 1122 §4.2.3.4 (Nagle, sender SWS),
 * 7323 (window scale, timestamps), 2018 (SACK blocks), 6675 (SACK recovery
 * transmission rules), 5681/6582 (dupacks and fast recovery), 3042, 3168 (ECN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"

uint32_t tcp_ts_now(const struct tcp_conn *c, uint64_t now)
{
	return (uint32_t)(now / 1000) + c->ts_offset;
}

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/*
 * PSH, as Linux sets it. Linux's tcp_sendmsg() copies a write into send
 * buffers (skbs) of at most a size goal (64 KiB less headers, a multiple
 * of the MSS, at most half the peer's largest window: tcp_xmit_size_goal()),
 * appending to the last one while it is unsent and not full, and at the end
 * of the write marks the last one PSH (tcp_push() -> tcp_mark_push()). The
 * buffer keeps its mark as it grows, and when it goes out cut in segments
 * (or is split to fit the windows, tso_fragment()) the mark is on its last
 * segment. So PSH ends each write that finds the queue sent, and in a bulk
 * transfer that keeps the queue full, every buffer into which a write
 * ended: about one segment in 45. Within one long write, a buffer that
 * the write fills up to more than half the peer's largest window past the
 * last mark is marked too (forced_push(), which tcp_sendmsg_locked() asks
 * each time a copy leaves the buffer full, and tcp_push() at the write's
 * end; the mark moves to the end of the data written, pushed_seq =
 * write_seq).
 */
uint32_t tcp_size_goal(const struct tcp_conn *c)
{
	uint32_t goal = TCP_PSH_GOAL, mss = c->mss ? c->mss : TCP_DEFAULT_MSS;

	/* tcp_bound_to_half_wnd(): half the peer's largest window, all of it
	 * when that is not above 536 (as the MSS, tcp_sync_mss). */
	if (c->max_snd_wnd) {
		uint32_t cut = c->max_snd_wnd > TCP_DEFAULT_MSS ? c->max_snd_wnd / 2 : c->max_snd_wnd;

		if (goal > cut)
			goal = cut;
	}
	goal -= goal % mss;
	return goal > mss ? goal : mss;
}

/* forced_push(): a write has filled the send buffers up to hi; true (and
 * the last mark moved there, tcp_mark_push()) when that is more than half
 * the peer's largest window past the last mark. Measured on Linux 6.18
 * (rawframes bulk_psh_forced_push: a 4000-byte write to a peer whose
 * window is 1000, buffers of 500): PSH on every second segment, where
 * counting to the byte (pstack before) marked every one after the first. */
static bool psh_forced(struct tcp_conn *c, tcp_seq hi)
{
	if (!seq_gt(hi, c->psh_pushed + c->max_snd_wnd / 2))
		return false;
	c->psh_pushed = hi;
	return true;
}

/* A buffer ending at seq carries PSH; the oldest mark goes when they are full. */
static void psh_mark_add(struct tcp_conn *c, tcp_seq seq)
{
	if (c->psh_n == TCP_PSH_MARKS) {
		c->psh_head = (uint8_t)((c->psh_head + 1) % TCP_PSH_MARKS);
		c->psh_n--;
	}
	c->psh_marks[(c->psh_head + c->psh_n) % TCP_PSH_MARKS] = seq;
	c->psh_n++;
}

void tcp_psh_note_write(struct tcp_conn *c, tcp_seq start, tcp_seq end)
{
	uint32_t goal = tcp_size_goal(c);
	tcp_seq tail = start;

	/* Unsent data before this write: its last buffer (what is left of it
	 * when part went out) takes the write's first bytes. */
	if (seq_lt(c->snd_max, start))
		tail = seq_max(c->psh_tail, c->snd_max);
	else
		c->psh_tail_marked = false;
	while (seq_gt(end, tail) && end - tail > goal) {
		if (psh_forced(c, tail + goal))
			c->psh_tail_marked = true;
		/* A full buffer: it keeps the mark a write ending in it gave it. */
		if (c->psh_tail_marked)
			psh_mark_add(c, tail + goal);
		tail += goal;
		c->psh_tail_marked = false;
	}
	c->psh_tail = tail;
	/* tcp_push(): the last buffer is marked unless the write had
	 * MSG_MORE and is not forced_push()'s; a buffer marked before keeps
	 * its mark as a MSG_MORE write fills it further. */
	if (!c->more || psh_forced(c, end)) {
		c->psh_tail_marked = true;
		c->psh_pushed = end;
	}
}

/* A buffer ending at seq carries PSH, among the marks kept in order (a
 * mark after the others only ever came from writes). */
static void psh_mark_insert(struct tcp_conn *c, tcp_seq seq)
{
	unsigned i = c->psh_n;

	if (c->psh_n == TCP_PSH_MARKS) {
		if (!seq_gt(seq, c->psh_marks[c->psh_head]))
			return;         /* the oldest would go: it is the oldest */
		c->psh_head = (uint8_t)((c->psh_head + 1) % TCP_PSH_MARKS);
		c->psh_n--;
		i--;
	}
	for (; i > 0; i--) {
		tcp_seq prev = c->psh_marks[(c->psh_head + i - 1) % TCP_PSH_MARKS];

		if (seq_leq(prev, seq)) {
			if (prev == seq)
				return;
			break;
		}
		c->psh_marks[(c->psh_head + i) % TCP_PSH_MARKS] = prev;
	}
	c->psh_marks[(c->psh_head + i) % TCP_PSH_MARKS] = seq;
	c->psh_n++;
}

/* The end of the send buffer that holds the byte at seq, on the grid
 * psh_tail and goal draw (tcp_psh_note_write): a mark (a record's end, a
 * buffer a probe cut) ends one too; the last one ends at the data's end. */
static tcp_seq buf_edge_after(const struct tcp_conn *c, tcp_seq seq, uint32_t goal)
{
	tcp_seq edge = tcp_snd_end(c);

	if (seq_lt(seq, c->psh_tail) && goal)
		edge = c->psh_tail - ((c->psh_tail - seq - 1) / goal) * goal;
	for (unsigned i = 0; i < c->psh_n; i++) {
		tcp_seq m = c->psh_marks[(c->psh_head + i) % TCP_PSH_MARKS];

		if (seq_gt(m, seq)) {
			if (seq_lt(m, edge))
				edge = m;
			break;
		}
	}
	return edge;
}

/*
 * Linux's tcp_write_wakeup(): the probe timer found the head buffer
 * larger than the window's room and sent the piece that fits, up to cut;
 * it marks that buffer PSH before cutting it (tcp_fragment() leaves the
 * mark on what is left), so the segment that takes the buffer's end
 * carries PSH too, and pushed_seq moves to that end. The buffers' edges
 * are found from the last one's start in steps of the size goal, as
 * tcp_psh_note_write() cut them (the same while the goal has not changed
 * since the write).
 */
static void psh_probe_cut(struct tcp_conn *c, tcp_seq cut)
{
	uint32_t goal = tcp_size_goal(c);
	tcp_seq end;

	if (c->grow_on && seq_lt(cut, c->grow_head)) {
		/* The head buffer is one the grid does not show (a cut or
		 * grown one before): it is the one cut. */
		end = c->grow_head;
		goal = c->grow_goal;
		psh_mark_insert(c, end);
	} else if (!seq_lt(cut, c->psh_tail)) {
		c->psh_tail_marked = true;      /* the last buffer */
		end = tcp_snd_end(c);
		c->grow_on = false;
	} else {
		/* A marked buffer that ends there or before (a record's end)
		 * is the one cut. */
		end = buf_edge_after(c, cut, goal);
		psh_mark_insert(c, end);
	}
	/* What is left of the buffer is the head now, off the grid:
	 * grow_head_limit() takes it from here. */
	if (seq_lt(end, tcp_snd_end(c))) {
		c->grow_on = true;
		c->grow_head = end;
		c->grow_goal = goal;
	}
	if (seq_gt(end, c->psh_pushed))
		c->psh_pushed = end;
}

static uint32_t eor_room(struct tcp_conn *c, tcp_seq seq);

/*
 * Linux's tcp_grow_skb() (6.10+, "tcp: try to send bigger TSO packets"):
 * before it sends the head buffer, tcp_write_xmit() moves into it from the
 * next buffer, one buffer only, what it lacks of quota segments (cwnd's
 * room, at most the TSO frame's). A buffer the probe timer cut
 * (tcp_write_wakeup) is short and off the grid of size goals: its rest
 * takes the next buffer and goes as one segment below the MSS (measured on
 * Linux 6.18, rawframes bulk_window_probe_grow: 720 + 730 = 1450 bytes,
 * where cutting at the MSS sent 1460 across the buffers' edge). The send
 * from seq may go up to the limit returned; grow_head_note() moves the
 * head buffer on after it. Grown only for a send: pstack's passes that
 * send nothing (the probe's) are no tcp_write_xmit of Linux's, and the
 * kernel grew nothing before its probe either (1450 above, not 1460); nor
 * for the probe timer's send (tcp_write_wakeup sends from the head buffer
 * as it is: quota 0). Only while the head is off the grid: on it,
 * buffers are whole size goals, multiples of the MSS when written, and
 * growing them cuts where the MSS does.
 */
static tcp_seq grow_head_limit(struct tcp_conn *c, tcp_seq seq, uint32_t quota)
{
	tcp_seq head = c->grow_head, next;
	uint32_t have;

	if (!c->grow_on || !seq_lt(seq, head) || seq_gt(head, tcp_snd_end(c))) {
		c->grow_on = false;
		return tcp_snd_end(c);
	}
	have = head - seq;
	if (have >= quota || eor_room(c, seq) <= have)
		return head;    /* tcp_skb_can_collapse: not past a record's end */
	next = buf_edge_after(c, head, c->grow_goal);
	return head + min32(quota - have, next - head);
}

/* After a send from the off-grid head up to sent, the head grown to lim:
 * what is left of it stays the head; once it is gone, the rest of the
 * buffer it took from is the head (still off the grid), or, if it took
 * all of it, the next buffer is a whole one on the grid. */
static void grow_head_note(struct tcp_conn *c, tcp_seq sent, tcp_seq lim)
{
	tcp_seq next;

	if (!c->grow_on)
		return;
	if (seq_lt(sent, lim)) {
		c->grow_head = lim;
		return;
	}
	next = buf_edge_after(c, lim - 1, c->grow_goal);
	if (seq_gt(next, lim) && seq_lt(next, tcp_snd_end(c)))
		c->grow_head = next;
	else
		c->grow_on = false;
}

/* Whether new data [seq, seq + len) carries PSH: a mark falls in it, or it
 * empties the send queue and the last buffer is marked (the last write
 * had no MSG_MORE, or one before it into the same buffer). Marks behind
 * it go. */
static bool psh_due(struct tcp_conn *c, tcp_seq seq, uint32_t len)
{
	tcp_seq end = seq + len;
	bool psh = len && end == tcp_snd_end(c) && c->psh_tail_marked;

	while (c->psh_n && seq_leq(c->psh_marks[c->psh_head], end)) {
		if (len && seq_gt(c->psh_marks[c->psh_head], seq))
			psh = true;
		c->psh_head = (uint8_t)((c->psh_head + 1) % TCP_PSH_MARKS);
		c->psh_n--;
	}
	return psh;
}

/* Whether resent data [seq, seq + len) carries PSH: it ends the data
 * queued, or it ends what our fast open SYN carried (Linux keeps that data
 * as an skb of its own marked ACK|PSH, tcp_send_syn_data, and resends it
 * with that mark whenever the SYN-ACK leaves it or it is lost after), or
 * it ends where a segment that went with PSH ended (the skb keeps its
 * flags: a loss probe's or a timeout's copy of a segment sent with PSH
 * has it again, __tcp_retransmit_skb). */
static bool psh_resent(const struct tcp_conn *c, tcp_seq seq, uint32_t len)
{
	tcp_seq syn_end = c->iss + 1 + c->fo_data;
	uint32_t i;

	if (!len)
		return false;
	if (seq + len == tcp_snd_end(c) || (c->fo_data && seq_gt(syn_end, seq) && seq_leq(syn_end, seq + len)))
		return true;
	i = tcp_sb_find(&c->sb, seq + len - 1);
	return i < c->sb.n && tcp_sb_at(&c->sb, i)->end == seq + len && (tcp_sb_at(&c->sb, i)->flags & TCP_TX_PSH);
}

/*
 * MSG_EOR: the write [.., snd end) ends a record; nothing written after it
 * joins a segment with it (Linux's tcp_sendmsg sets the skb's eor bit, and
 * tcp_skb_can_collapse_to() refuses to append to such an skb, which is
 * then sent, and resent, as a segment of its own or a TSO frame ending
 * there). The end also carries PSH, as the tail skb at the end of each
 * write does. A record written whole only: Linux marks the skb once the
 * whole message is copied. Beyond TCP_EOR_MARKS record ends not yet
 * acknowledged the newest are not kept (Deviation: Linux keeps every skb).
 */
void tcp_mark_eor(struct tcp_conn *c)
{
	tcp_seq end = tcp_snd_end(c);
	struct tcp_eor *e = c->eor;

	stack_assert_locked();
	if (c->sndq.len == 0 || c->fin_queued)
		return;
	if (!e) {
		e = c->eor = calloc(1, sizeof(*e));
		if (!e)
			return;
	}
	if (e->n && e->end[(e->head + e->n - 1) % TCP_EOR_MARKS] == end)
		return;
	if (e->n == TCP_EOR_MARKS)
		return;
	e->end[(e->head + e->n) % TCP_EOR_MARKS] = end;
	e->n++;
	/* The next write starts a buffer of its own (tcp_psh_note_write):
	 * this one keeps its PSH mark. */
	psh_mark_add(c, end);
	c->psh_tail = end;
	c->psh_tail_marked = false;
}

/* How much from seq on stays within its record: the distance to the first
 * record end beyond seq (UINT32_MAX: none). Ends acknowledged go. */
static uint32_t eor_room(struct tcp_conn *c, tcp_seq seq)
{
	struct tcp_eor *e = c->eor;

	if (!e)
		return UINT32_MAX;
	while (e->n && seq_leq(e->end[e->head], c->snd_una)) {
		e->head = (uint8_t)((e->head + 1) % TCP_EOR_MARKS);
		e->n--;
	}
	for (unsigned i = 0; i < e->n; i++) {
		tcp_seq m = e->end[(e->head + i) % TCP_EOR_MARKS];

		if (seq_gt(m, seq))
			return m - seq;
	}
	return UINT32_MAX;
}

/* Payload room in one segment: SACK blocks take option space (RFC 2018 §3). */
static uint32_t seg_mss(const struct tcp_conn *c)
{
	uint32_t m = c->mss;

	if (c->sack_ok && (c->ofo || c->dsack_on)) {
		unsigned max = c->ts_ok ? 3u : 4u;
		unsigned n = c->ofo_count + (c->dsack_on ? 1u : 0u);

		m -= 4 + 8 * (n < max ? n : max);
	}
	return m;
}

/* Urgent mode (sending): until SND.UNA passes the urgent pointer (Linux's
 * tcp_urg_mode). */
static bool urg_mode(struct tcp_conn *c)
{
	if (c->urg_mode && seq_geq(c->snd_una, c->snd_up))
		c->urg_mode = false;
	return c->urg_mode;
}

static uint16_t tcp_window_to_advertise(struct tcp_conn *c)
{
	uint32_t room = tcp_rcv_space_offer(c), space = tcp_rcv_space_select(c);
	uint32_t thresh = min32((uint32_t)(c->rcvq.limit / 2), c->advmss);
	tcp_seq right = c->rcv_nxt + space;
	uint32_t wnd;

	/* Linux's tcp_select_window() after text was dropped for want of
	 * memory (ICSK_ACK_NOMEM): a zero window, from RCV.NXT (its rcv_wnd
	 * 0, rcv_wup RCV.NXT), the right edge moved back (RFC 9293
	 * §3.8.6.2.2 allows it when the buffer cannot keep the promise). */
	if (c->ack_nomem) {
		c->ack_nomem = false;
		c->rcv_adv = c->rcv_nxt;
		return 0;
	}

	/* A scaled window, as Linux's __tcp_select_window() offers it: the
	 * room (at most rcv_ssthresh) rounded up to the scale's unit, so that
	 * it is not scaled away; no rounding up past the ring's room, which
	 * holds exactly what it offers (Linux's buffer has the overhead of
	 * its sk_buffs to spare). Unscaled: RFC 1122 §4.2.3.3, move the right
	 * edge only by a useful amount (receiver SWS avoidance). Both: RFC
	 * 9293 §3.8.6.2.2, never move it back. */
	if (c->rcv_wscale) {
		uint32_t unit = 1u << c->rcv_wscale, w = space;

		if (w <= UINT32_MAX - (unit - 1) && ((w + unit - 1) & ~(unit - 1)) <= room)
			w = (w + unit - 1) & ~(unit - 1);
		if (w > (65535u << c->rcv_wscale))
			w = 65535u << c->rcv_wscale;
		if (seq_gt(c->rcv_nxt + w, c->rcv_adv))
			c->rcv_adv = c->rcv_nxt + w;
	} else if (seq_gt(right, c->rcv_adv) && right - c->rcv_adv >= thresh) {
		wnd = (right - c->rcv_nxt) >> c->rcv_wscale;
		if (wnd > 65535)
			wnd = 65535;
		c->rcv_adv = c->rcv_nxt + (wnd << c->rcv_wscale);
	}
	if (seq_lt(c->rcv_adv, c->rcv_nxt))
		c->rcv_adv = c->rcv_nxt;
	/* Round the kept window up to the scale's unit when there is room for
	 * it; when there is not, round down: the right edge then moves back by
	 * less than one unit. Always rounding up (Linux's default) lets every
	 * ACK push the edge past the room a little more, so that the promise
	 * grows past the buffer and the stack's budget (RFC 7323 Appendix F;
	 * Linux's net.ipv4.tcp_shrink_window=1 does what we do). */
	wnd = (c->rcv_adv - c->rcv_nxt + (1u << c->rcv_wscale) - 1) >> c->rcv_wscale;
	if (wnd > 65535)
		wnd = 65535;
	if ((wnd << c->rcv_wscale) <= room)
		c->rcv_adv = c->rcv_nxt + (wnd << c->rcv_wscale);
	else
		wnd = (c->rcv_adv - c->rcv_nxt) >> c->rcv_wscale;   /* no room to round up */
	return (uint16_t)wnd;
}

/* The out-of-order queue as contiguous ranges, in sequence order: the
 * range from o on (blocks that touch are one range); *next the block after
 * it. A FIN held out of order is the last byte of the range it ends, as
 * Linux's tcp_data_queue_ofo queues it with the data (end_seq counts it). */
static void ofo_range(const struct tcp_conn *c, const struct tcp_ofo *o, tcp_seq r[2],
		      const struct tcp_ofo **next)
{
	r[0] = o->seq;
	r[1] = o->seq + o->len;
	for (o = o->next; o && o->seq == r[1]; o = o->next)
		r[1] = o->seq + o->len;
	if (c->ofo_fin && r[1] == c->ofo_fin_seq)
		r[1]++;
	*next = o;
}

/* A FIN held out of order with no data before it in the queue: a block of
 * its own (a bare FIN beyond a hole, queued by Linux all the same). */
static bool ofo_fin_alone(const struct tcp_conn *c)
{
	if (!c->ofo_fin)
		return false;
	for (const struct tcp_ofo *o = c->ofo; o; o = o->next)
		if (o->seq + o->len == c->ofo_fin_seq)
			return false;
	return true;
}

/* Whether the range starting at r0 is among the first k of out. */
static bool sack_listed(tcp_seq out[TCP_SACK_BLOCKS][2], unsigned k, tcp_seq r0)
{
	for (unsigned i = 0; i < k; i++)
		if (out[i][0] == r0)
			return true;
	return false;
}

/* The SACK blocks to send (RFC 2018 §4): first the block holding the
 * segment that triggered the ACK (the latest out-of-order arrival), then
 * the blocks of the arrivals before it, the most recent first ("repeating
 * the most recently reported SACK blocks", as Linux's selective_acks
 * keep them); blocks that grew together are one, reported where the more
 * recent stood. Any other ranges follow in sequence order. */
static unsigned sack_blocks(const struct tcp_conn *c, tcp_seq out[TCP_SACK_BLOCKS][2], unsigned max)
{
	const struct tcp_ofo *o, *next;
	tcp_seq r[2];
	unsigned k = 0;
	bool fin_alone = ofo_fin_alone(c);

	if ((!c->ofo && !fin_alone) || !max)
		return 0;
	for (unsigned i = 0; i < c->ofo_nlast && k < max; i++) {
		if (fin_alone && c->ofo_last[i] == c->ofo_fin_seq) {
			r[0] = c->ofo_fin_seq;
			r[1] = c->ofo_fin_seq + 1;
		} else {
			for (o = c->ofo; o; o = next) {
				ofo_range(c, o, r, &next);
				if (seq_geq(c->ofo_last[i], r[0]) && seq_lt(c->ofo_last[i], r[1]))
					break;
			}
			if (!o)
				continue;
		}
		if (sack_listed(out, k, r[0]))
			continue;
		out[k][0] = r[0];
		out[k][1] = r[1];
		k++;
	}
	for (o = c->ofo; o && k < max; o = next) {
		ofo_range(c, o, r, &next);
		if (sack_listed(out, k, r[0]))
			continue;
		out[k][0] = r[0];
		out[k][1] = r[1];
		k++;
	}
	/* The FIN is past every byte held: its block comes last in order. */
	if (fin_alone && k < max && !sack_listed(out, k, c->ofo_fin_seq)) {
		out[k][0] = c->ofo_fin_seq;
		out[k][1] = c->ofo_fin_seq + 1;
		k++;
	}
	return k;
}

/* Where [seq, end), arriving out of order, stands among the SACK blocks
 * the next ACK would report (before it is queued): the index of the block
 * it touches (overlaps or adjoins: Linux's tcp_sack_extend), or the number
 * of blocks when it would start one of its own. */
unsigned tcp_sack_block_of(const struct tcp_conn *c, tcp_seq seq, tcp_seq end)
{
	tcp_seq out[TCP_SACK_BLOCKS][2];
	unsigned k = sack_blocks(c, out, TCP_SACK_BLOCKS);

	for (unsigned i = 0; i < k; i++)
		if (seq_leq(out[i][0], end) && seq_leq(seq, out[i][1]))
			return i;
	return k;
}

/* Our options on a segment with these flags (emitted by tcp_opts_emit). */
static void our_options(struct tcp_conn *c, struct tcp_seg *g, uint8_t flags, uint64_t now)
{
	bool syn = flags & TCP_SYN;
	/* Our SYN offers everything; so does the SYN-ACK of an active open
	 * (a simultaneous open): Linux's tcp_send_synack sends the SYN's skb
	 * again with ACK set, its options from tcp_syn_options (the
	 * namespace's settings, TS ecr the peer's TSval if any), whatever the
	 * peer's SYN offered. What the connection then uses is what both
	 * offered. */
	bool offer = syn && (!(flags & TCP_ACK) || c->active_open);

	g->has_mss = syn;
	g->mss = c->advmss;
	g->has_ts = (offer && c->s->cfg.tcp_timestamps) || c->ts_ok;
	if (g->has_ts) {
		/*
		 * RFC 7323 §5.4: TSvals must be monotone non-decreasing. The
		 * time a segment is built with may be a little older than one
		 * another thread built a segment with just before (it was read
		 * before the lock); a TSval one tick lower is dropped by the
		 * peer as an old duplicate (PAWS, Linux's PAWSEstab), and the
		 * segment waits for the RTO: 200 ms on 1 MiB nginx responses.
		 */
		uint32_t v = tcp_ts_now(c, now);

		if (c->ts_sent && (int32_t)(v - c->ts_last) < 0)
			v = c->ts_last;
		c->ts_last = v;
		c->ts_sent = true;
		g->tsval = v;
		/* A SYN echoes ts_recent too: 0 but on a TIME_WAIT 4-tuple reused. */
		g->tsecr = (flags & TCP_ACK) || syn ? c->ts_recent : 0;
	}
	g->sack_ok = syn && ((offer && c->s->cfg.tcp_sack) || c->sack_ok);
	g->has_ws = syn && ((offer && c->s->cfg.tcp_window_scaling) || c->ws_ok);
	g->ws = c->rcv_wscale;
	/* The simultaneous open's SYN-ACK offers our SYN's scale, also when
	 * the peer's SYN offered none (which set ours to 0). Deviation:
	 * Linux then goes on scaling its windows by it (rx_opt.rcv_wscale
	 * stays), which the peer does not know of; pstack does not scale. */
	if (offer && (flags & TCP_ACK) && !c->ws_ok)
		g->ws = tcp_pick_wscale(c);
	if (offer && c->fo_syn_len >= 0) {
		/* RFC 7413 §4.1.2: our first SYN asks for a cookie (an empty
		 * option) or carries the one the server gave. */
		g->has_fo = true;
		g->fo_exp = c->fo_syn_exp;
		g->fo_len = (uint8_t)c->fo_syn_len;
		memcpy(g->fo_cookie, c->fo_syn, g->fo_len);
		c->fo_asked = true;
		c->fo_asked_exp = c->fo_syn_exp;
	}
	if (syn && (flags & TCP_ACK) && c->fo_send_len) {
		/* RFC 7413 §4.2.1: the client's cookie, on the first SYN-ACK only. */
		g->has_fo = true;
		g->fo_exp = c->fo_exp;
		g->fo_len = c->fo_send_len;
		memcpy(g->fo_cookie, c->fo_send, c->fo_send_len);
		c->fo_send_len = 0;
	}
	if (!syn && c->sack_ok && (c->ofo || c->ofo_fin || c->dsack_on) && (flags & TCP_ACK)) {
		unsigned max = g->has_ts ? 3 : 4, n = 0;

		/* RFC 2883 §4: a D-SACK block first, once. */
		if (c->dsack_on) {
			g->sack[0][0] = c->dsack[0];
			g->sack[0][1] = c->dsack[1];
			c->dsack_on = false;
			n = 1;
		}
		n += sack_blocks(c, g->sack + n, max - n);
		g->nsack = (uint8_t)n;
	}
}

/*
 * The TOS of a segment that answers g without a full socket: g's, without
 * its ECN field. Linux's resets (tcp_v4_send_reset) and a connection
 * request's ACKs (tcp_v4_reqsk_send_ack) take the segment's TOS, which
 * ip_send_unicast_reply clears the ECN bits of; a TIME-WAIT connection's
 * ACKs keep the socket's (tw_tos), a SYN-ACK the listener's. Measured on
 * Linux 6.18 (rawframes tcp_closed_tos, syn_tos_listener, est_tos_reset):
 * a SYN with TOS 0xb9 to a closed port drew a reset with 0xb8, an ACK
 * with 0x23 one with 0x20, text out of a request's window with 0xb8 an
 * ACK with 0xb8 (pstack: 0 in each).
 */
static uint8_t answer_tos(const struct tcp_seg *g)
{
	return g->ip_raw ? (uint8_t)(g->ip_raw[1] & ~3u) : 0;
}

/* Linux's IPV4_MIN_MTU: a listener's SYN-ACK this small always has DF. */
#define TCP_SYNACK_DF_MAX 576

/* Builds and sends one segment of the connection. Payload (len bytes) comes
 * from the send ring at seq. */
/* Builds and sends one segment; with gso (the payload per segment) and len
 * above it, one TSO frame that the device cuts (stack.h tso_max). */
/* One segment (a TSO frame when gso is set). answer: the segment it
 * answers as Linux's tcp_v4_send_ack() does (tcp_send_ack_answer), whose IP
 * options it carries back instead of the SYN's; NULL for the rest. */
static int xmit_answer(struct tcp_conn *c, tcp_seq seq, uint8_t flags, uint32_t len, uint16_t gso,
		       const struct tcp_seg *answer, uint64_t now)
{
	struct stack *s = c->s;
	uint32_t nsegs = 1;
	struct tcp_seg g = {
		.src = c->pcb.local.addr, .dst = c->pcb.remote.addr,
		.sport = c->pcb.local.port, .dport = c->pcb.remote.port,
		.seq = seq, .flags = flags,
	};
	size_t hlen;
	struct pkb *pkb;
	struct ip4_tx tx;
	uint8_t *h, ipopts[IP4_HLEN_MAX - IP4_HLEN];
	uint16_t wnd;
	bool ect = false;
	tcp_seq dseq = seq + ((flags & TCP_SYN) ? 1u : 0u);  /* the first data byte (RFC 7413: a SYN's follow it) */
	const uint8_t *zp[2];
	size_t zn[2], zk = 0;
	void *zowner = NULL;
	int nr = 0;

	/* RFC 3168 §6.1.1, §6.1.5, like Linux's tcp_ecn_send(): on an ECN
	 * connection new data goes ECT(0), the first after a reduction of the
	 * window with CWR; retransmissions, probes, pure ACKs, SYNs and RSTs
	 * are not ECN-capable (a CE mark on them could not be answered). ECE
	 * on everything while the peer has to be told of a CE mark. */
	if (c->ecn_ok && !(flags & (TCP_SYN | TCP_RST))) {
		if (len && seq_geq(seq, c->snd_max)) {
			ect = true;
			if (c->ecn_queue_cwr) {
				flags |= TCP_CWR;
				g.flags = flags;
				c->ecn_queue_cwr = false;
			}
		}
		if (c->ecn_demand_cwr) {
			flags |= TCP_ECE;
			g.flags = flags;
		}
	}
	our_options(c, &g, flags, now);
	hlen = TCP_HLEN + tcp_opts_len(&g);
	if (gso && len > gso && len >= TCP_ZC_MIN && s->link.tx_ext &&
	    (nr = tcp_ring_hold(&c->sndq, dseq - c->snd_base, len, zp, zn, &zowner))) {
		/* Zero-copy: the payload stays in the send ring (pkb.h). The
		 * first k bytes go with the headers, so that the rest starts on
		 * a 64-byte line, as the aligned copy below would have it. */
		zk = (PKB_ALIGN - (uintptr_t)zp[0] % PKB_ALIGN) % PKB_ALIGN;
		if (zk >= zn[0]) {
			tcp_ring_release(zowner);
			nr = 0;
		}
	}
	/* Aligned where the TAP's write copies from (pkb.h): a TSO frame's
	 * payload, another frame's first byte. */
	if (nr)
		pkb = pkb_alloc(hlen + zk + PKB_EXT_ROOM);
	else
		pkb = gso && len > gso ? pkb_alloc_aligned(hlen + len, hlen) : pkb_alloc_frame(hlen + len);

	/* Data and FIN go on the scoreboard (and a resent part counts as such). */
	if ((len || (flags & TCP_FIN)) && !(flags & (TCP_SYN | TCP_RST)))
		tcp_recovery_sent(c, seq, seq + len + ((flags & TCP_FIN) ? 1 : 0), (flags & TCP_PSH) != 0, gso,
				  now);
	/* Send timestamps (SO_TIMESTAMPING) of the bytes leaving a first time. */
	if (c->marks && len)
		tcp_errq_sent(c, dseq, len, now);

	if (!pkb) {
		if (nr)
			tcp_ring_release(zowner);
		stack_drop(s, DROP_TCP_NO_MEMORY);
		return -ENOBUFS;
	}
	h = pkb_put(pkb, hlen + (nr ? zk : len));
	if (flags & TCP_SYN)
		wnd = (uint16_t)tcp_syn_window(c, !c->active_open);
	else if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open && !c->tfo)
		/* A listener's embryonic connection is a request socket in
		 * Linux, whose ACKs (tcp_v4_reqsk_send_ack: to a segment that
		 * fails PAWS or lies outside the window) offer the SYN-ACK's
		 * window scaled down, rounded down (tcp_synack_window >>
		 * rcv_wscale). Measured on Linux 6.18 (rawframes synrecv_paws):
		 * 65160 offered, then 63 with scale 10 (pstack: 64). */
		wnd = (uint16_t)(min32(c->rcv_adv - c->rcv_nxt, 65535) >> c->rcv_wscale);
	else
		wnd = tcp_window_to_advertise(c);
	if (flags & TCP_SYN)
		tcp_syn_window_set(c, wnd);
	tcp_rcv_reserve(c);
	g.ack = (flags & TCP_ACK) ? c->rcv_nxt : 0;
	g.wnd = wnd;
	/* RFC 9293 §3.8.5: every segment before the urgent pointer carries it
	 * (as an offset from its sequence number; 0xFFFF while it is farther,
	 * like Linux's __tcp_transmit_skb). */
	if (urg_mode(c) && seq_lt(seq, c->snd_up)) {
		if (seq_lt(c->snd_up, seq + 0x10000)) {
			g.urg = (uint16_t)(c->snd_up - seq);
			g.flags |= TCP_URG;
		} else if (seq_gt(seq + 0xFFFF, c->snd_nxt)) {
			g.urg = 0xFFFF;
			g.flags |= TCP_URG;
		}
	}
	tcp_seg_emit(h, &g);
	if (nr) {
		struct pkb_ext *x = pkb_ext_attach(pkb);

		memcpy(h + hlen, zp[0], zk);
		x->p[0] = zp[0] + zk;
		x->n[0] = zn[0] - zk;
		x->p[1] = zp[1];
		x->n[1] = zn[1];
		x->put = tcp_ring_release;
		x->owner = zowner;
	} else if (len) {
		tcp_ring_peek(&c->sndq, dseq - c->snd_base, h + hlen, len);
	}
	if (gso && len > gso) {
		/* The device finishes the checksum of each segment: the field
		 * holds the pseudo-header sum over the whole length (netdev.h). */
		pkb->gso_size = gso;
		nsegs = (len + gso - 1) / gso;
		tcp_fill_csum_partial(h, hlen + len, g.src, g.dst);
	} else {
		tcp_fill_csum(h, hlen + len, g.src, g.dst);
	}
	if (flags & TCP_ACK) {
		/* Linux's tcp_event_ack_sent(): an ACK of new data is one of
		 * quick-ACK mode's (tcp_dec_quickack_mode()); what was owed is paid. */
		if (c->ack_sched && c->quick)
			c->quick--;
		c->ack_sched = false;
		c->ack_pushed = c->ack_pushed2 = false;
		c->rcv_wup = c->rcv_nxt;
		c->delack_at = STACK_NEVER;
		c->ack_now = false;
		/* ... and the duplicate ACKs SACK compression held back. */
		c->comp_acks = 0;
		c->comp_at = STACK_NEVER;
	}
	/* Linux's tcp_event_data_sent(): data sent within the delayed-ACK
	 * timeout of the peer's is a reply: the connection is interactive
	 * (pingpong, net.ipv4.tcp_pingpong_thresh = 1), and its ACKs wait to
	 * ride on the next reply instead of going at once. */
	if (len && c->lrcvtime && now - c->lrcvtime < c->ato)
		c->pingpong = true;
	memset(&tx, 0, sizeof(tx));
	tx.src = c->pcb.local.addr;
	tx.dst = c->pcb.remote.addr;
	tx.proto = IP_PROTO_TCP;
	/* The ECN field is TCP's (Linux clears it from IP_TOS on stream sockets). */
	tx.tos = (uint8_t)((c->opt.tos & ~3u) | (ect ? TCP_ECN_ECT0 : TCP_ECN_NOT_ECT));
	if (answer && c->state == TCP_STATE_SYN_RECEIVED)
		tx.tos = answer_tos(answer);    /* a request's ACK */
	/* IP_TTL (0: the default). Not on an answer: Linux sends those from
	 * its per-CPU control socket, whose TTL is the default
	 * (ip_send_unicast_reply). Measured on Linux 6.18 (rawframes
	 * synrecv_oow_ttl, closer_ttl_fin_exchange): a listener with IP_TTL
	 * 33 sent its SYN-ACK with 33, the request's ACK to data out of its
	 * window and TIME_WAIT's ACK to a FIN again with 64 (pstack: 33). */
	tx.ttl = answer ? 0 : c->opt.ttl;
	if (answer) {
		int olen = 0;

		if (answer->ip_raw && answer->ip_hlen > IP4_HLEN)
			olen = ip4_options_echo(s, answer->ip_raw, answer->ip_hlen, ipopts, now);
		if (olen > 0) {
			tx.opts = ipopts;
			tx.opts_len = (uint8_t)olen;
		}
	} else if (c->ip_opts_len) {
		int olen = ip4_options_echo(s, c->syn_iph, c->syn_iph_len, ipopts, now);

		if (olen > 0) {
			tx.opts = ipopts;
			tx.opts_len = (uint8_t)olen;
		}
	}
	/* DF as the socket's IP_MTU_DISCOVER says, but for two kinds that
	 * Linux sends otherwise: an answer leaves from its control socket,
	 * which is IP_PMTUDISC_DO (tcp_sk_init); and a listener's SYN-ACK
	 * (ip_build_and_send_pkt) goes with DF whenever it is at most 576
	 * bytes (IPV4_MIN_MTU: no IP ID to pick for a small packet). Measured
	 * on Linux 6.18 (rawframes nodf_synrecv_oow, nodf_closer_fin_exchange:
	 * a listener with IP_PMTUDISC_DONT): its SYN-ACK, the request's ACK
	 * and TIME_WAIT's went with DF, its connection's segments without
	 * (pstack: all without). */
	if (answer || ((flags & TCP_SYN) && (flags & TCP_ACK) && !c->active_open &&
		       IP4_HLEN + tx.opts_len + hlen + len <= TCP_SYNACK_DF_MAX))
		tx.df = true;
	else
		tx.df = sock_pmtu_df_locked(c->opt.pmtudisc, c->pmtu_locked);
	s->stats.tcp_out += nsegs;
	s->tcp->segs_sent += nsegs;
	c->segs_out += nsegs;
	if (len)
		c->data_segs_out += nsegs;
	if (len || (flags & (TCP_SYN | TCP_FIN)))
		c->last_snd_at = now;
	c->dst_reset = false;       /* ip_queue_xmit looked the route up again */
	return ip4_output(s, pkb, &tx, now);
}

static int xmit_gso(struct tcp_conn *c, tcp_seq seq, uint8_t flags, uint32_t len, uint16_t gso, uint64_t now)
{
	return xmit_answer(c, seq, flags, len, gso, NULL, now);
}

static int xmit(struct tcp_conn *c, tcp_seq seq, uint8_t flags, uint32_t len, uint64_t now)
{
	return xmit_gso(c, seq, flags, len, 0, now);
}

/*
 * The sequence number of a segment without data, like Linux's
 * tcp_acceptable_seq(): the highest sent (SND.MAX: our SND.NXT may have been
 * rewound by a timeout or an ICMP error to resend from SND.UNA, and a peer
 * that holds the bytes up to SND.MAX would drop an ACK or RST below its
 * RCV.NXT as out of window, RFC 9293 §3.10.7.4), or the right edge of the
 * peer's window when that is below it (a window that shrank: the peer then
 * accepts nothing beyond it), with Linux's tolerance of one unit of scale.
 */
static tcp_seq acceptable_seq(const struct tcp_conn *c)
{
	tcp_seq wnd_end = c->snd_una + c->snd_wnd;

	if (seq_geq(wnd_end, c->snd_max) || (c->ws_ok && c->snd_max - wnd_end < (1u << c->rcv_wscale)))
		return c->snd_max;
	return wnd_end;
}

void tcp_send_ack(struct tcp_conn *c, uint64_t now)
{
	xmit(c, acceptable_seq(c), TCP_ACK, 0, now);
}

/*
 * The ACK that answers g from a TIME_WAIT connection (and an orphan in
 * FIN_WAIT_2: Linux's FIN_WAIT2 substate) or a connection request, which
 * Linux sends without a full socket (tcp_v4_timewait_ack,
 * tcp_v4_reqsk_send_ack: tcp_v4_send_ack): ip_send_unicast_reply carries
 * g's record route and timestamp IP options back (ip_options_echo), and
 * none when g had none, whatever the SYN had; its TTL is the default, not
 * the socket's IP_TTL (xmit_answer). Measured on Linux 6.18
 * (rawframes tw_fin_opt_rr, synrecv_oow_opt_rr): record route with two
 * empty slots on our FIN again in TIME-WAIT, and on data out of a
 * request's window: each ACK came back with the option, the subject's
 * address in both slots (pstack: without options).
 */
void tcp_send_ack_answer(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	xmit_answer(c, acceptable_seq(c), TCP_ACK, 0, 0, g, now);
}

void tcp_send_syn(struct tcp_conn *c, uint64_t now)
{
	uint8_t flags = TCP_SYN;
	uint32_t len = 0;

	/* RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR, the SYN-ACK
	 * that accepts ECE alone. Like Linux (tcp_ecn_fallback), a SYN sent
	 * again goes without: a middlebox may drop ECN-setup SYNs. */
	if (c->state == TCP_STATE_SYN_RECEIVED) {
		flags |= TCP_ACK;
		if (c->ecn_ok)
			flags |= TCP_ECE;
	} else if (c->ecn_syn) {
		if (c->retries)
			c->ecn_syn = false;
		else
			flags |= TCP_ECE | TCP_CWR;
	}
	/* RFC 7413 §4.1.2: a fast open SYN's data goes with the first SYN
	 * only; one sent again is a plain SYN, without the option either (a
	 * middlebox may have dropped it for them; Linux's tcp_send_syn_data). */
	if (c->state == TCP_STATE_SYN_SENT && c->snd_max == c->iss)
		len = c->fo_data;
	xmit(c, c->iss, flags, len, now);
	c->fo_syn_len = -1;
	if (seq_lt(c->snd_max, c->iss + 1 + len))
		c->snd_max = c->iss + 1 + len;
	c->snd_nxt = c->iss + 1 + len;
	if (c->rto_at == STACK_NEVER)
		tcp_timer_set(c, &c->rto_at, now + c->rto);
}

void tcp_send_rst(struct tcp_conn *c, uint64_t now)
{
	/* Linux's tcp_send_active_reset(): <SEQ=tcp_acceptable_seq()><CTL=RST,ACK>. */
	xmit(c, acceptable_seq(c), TCP_RST | TCP_ACK, 0, now);
}

void tcp_send_probe(struct tcp_conn *c, uint64_t now)
{
	xmit(c, c->snd_una - 1, TCP_ACK, 0, now);
}

/* Sends r, a segment that answers g without a control block (its header
 * and options by tcp_seg_emit, no payload). Like Linux's
 * ip_send_unicast_reply() and its SYN-ACK of a request, the reply carries
 * g's record route and timestamp IP options back (ip_options_echo; none
 * sent when they cannot be); ttl 0 is the default. false when out of
 * memory. */
static bool send_stateless(struct stack *s, const struct tcp_seg *r, const struct tcp_seg *g, uint8_t tos,
			   uint8_t ttl, uint64_t now)
{
	size_t hlen = TCP_HLEN + tcp_opts_len(r);
	uint8_t opts[IP4_HLEN_MAX - IP4_HLEN];
	struct pkb *pkb;
	struct ip4_tx tx;
	int olen = 0;
	uint8_t *h;

	if (g->ip_raw && g->ip_hlen > IP4_HLEN && (olen = ip4_options_echo(s, g->ip_raw, g->ip_hlen, opts, now)) < 0)
		return false;
	pkb = pkb_alloc_frame(hlen);

	if (!pkb) {
		stack_drop(s, DROP_TCP_NO_MEMORY);
		return false;
	}
	h = pkb_put(pkb, hlen);
	tcp_seg_emit(h, r);
	tcp_fill_csum(h, hlen, r->src, r->dst);
	memset(&tx, 0, sizeof(tx));
	tx.src = r->src;
	tx.dst = r->dst;
	tx.proto = IP_PROTO_TCP;
	tx.tos = tos;
	tx.ttl = ttl;
	tx.df = true;
	tx.opts = opts;
	tx.opts_len = (uint8_t)olen;
	s->stats.tcp_out++;
	ip4_output(s, pkb, &tx, now);
	return true;
}

void tcp_send_rst_reply(struct stack *s, const struct tcp_seg *g, uint64_t now)
{
	struct tcp_seg r = { .src = g->dst, .dst = g->src, .sport = g->dport, .dport = g->sport };

	if (g->flags & TCP_RST)
		return;
	if (g->flags & TCP_ACK) {
		/* <SEQ=SEG.ACK><CTL=RST> */
		r.seq = g->ack;
		r.flags = TCP_RST;
	} else {
		/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
		r.ack = g->seq + tcp_seg_len(g);
		r.flags = TCP_RST | TCP_ACK;
	}
	send_stateless(s, &r, g, answer_tos(g), 0, now);
}

/* RFC 4987 §3.6: the SYN-ACK that answers a SYN with a cookie for our ISN
 * and keeps no state. Our MSS (the cookie encodes the peer's), and the
 * options of opts: with timestamps, the ones a SYN-ACK carries, whose
 * TSval holds what the cookie has no room for (Linux's
 * cookie_init_timestamp); without, none. The window is the listener's
 * buffer, at most 65535, a multiple of the segment the options leave.
 * Its TOS is the listener's, as every SYN-ACK's (Linux sends the cookie's
 * from tcp_v4_send_synack too, with the listener's inet->tos); measured on
 * Linux 6.18 (rawframes syn_cookie_listener_tos): a listener with IP_TOS
 * 0x28 sent its cookie SYN-ACK with 0x28, pstack with 0. Its TTL is the
 * listener's IP_TTL likewise (ip_build_and_send_pkt: ip_select_ttl of the
 * listener); measured (syn_cookie_listener_tos, the listener with IP_TTL
 * 33 too): 33, pstack 64. */
void tcp_send_cookie_synack(struct stack *s, const struct tcp_seg *g, tcp_seq cookie, size_t rcvbuf,
			    const struct tcp_seg *opts, uint8_t tos, uint8_t ttl, uint64_t now)
{
	uint32_t mss = s->mtu - 40u - (opts->has_ts ? 12u : 0u);
	struct tcp_seg r = {
		.src = g->dst, .dst = g->src, .sport = g->dport, .dport = g->sport,
		.seq = cookie, .ack = g->seq + 1, .flags = (uint16_t)(TCP_SYN | TCP_ACK | (opts->flags & TCP_ECE)),
		.wnd = (uint16_t)tcp_initial_window(rcvbuf > UINT32_MAX ? UINT32_MAX : (uint32_t)rcvbuf, mss),
		.has_mss = true, .mss = (uint16_t)(s->mtu - 40),
		.has_ts = opts->has_ts, .tsval = opts->tsval, .tsecr = opts->tsecr,
		.sack_ok = opts->sack_ok, .has_ws = opts->has_ws, .ws = opts->ws,
	};

	if (send_stateless(s, &r, g, tos, ttl, now))
		s->tcp->segs_sent++;
}

void tcp_send_tlp(struct tcp_conn *c, uint64_t now)
{
	tcp_seq end = tcp_snd_end(c);
	tcp_seq wnd_edge = c->snd_una + c->snd_wnd;
	bool fin_sent = c->fin_queued && seq_gt(c->snd_max, end);
	bool sent;

	c->tlp_probes++;
	c->rto_at = STACK_NEVER;
	/* RFC 8985 §7.3: new data if the window allows, else the last segment
	 * again. A FIN queued behind a full cwnd is new data too (Linux's
	 * tcp_send_loss_probe sends the send head, the FIN's skb: measured on
	 * 6.18, SHUT_RDWR right after a write that filled cwnd sends its FIN
	 * as the probe, 2 SRTT + 2 ms after the data). */
	if (c->snd_nxt == c->snd_max && !fin_sent &&
	    (seq_lt(c->snd_nxt, end) || c->fin_queued) && seq_lt(c->snd_nxt, wnd_edge)) {
		uint32_t len = min32(min32(end - c->snd_nxt, seg_mss(c)), wnd_edge - c->snd_nxt);
		uint8_t flags = TCP_ACK;

		len = min32(len, eor_room(c, c->snd_nxt));     /* not across a record's end */

		if (psh_due(c, c->snd_nxt, len))
			flags |= TCP_PSH;
		/* The FIN rides on the end of the data, where the window takes its sequence number. */
		if (c->fin_queued && c->snd_nxt + len == end && seq_lt(end, wnd_edge))
			flags |= TCP_FIN;
		xmit(c, c->snd_nxt, flags, len, now);
		c->snd_nxt += len + ((flags & TCP_FIN) ? 1 : 0);
		c->snd_max = c->snd_nxt;
		c->tlp_is_retrans = false;
		sent = true;
	} else {
		tcp_seq data_end = fin_sent ? c->snd_max - 1 : c->snd_max;
		tcp_seq from = seq_max(c->snd_base, c->snd_una);
		uint32_t smss = seg_mss(c);

		/* The last segment as it went on the wire: Linux cuts the last
		 * frame it sent (its last skb) after its first pcount - 1
		 * segments (tcp_send_loss_probe) and resends what follows, not
		 * the last MSS of the data, which would straddle two. */
		if (c->sb.n && seq_gt(tcp_sb_at(&c->sb, c->sb.n - 1)->start, from))
			from = tcp_sb_at(&c->sb, c->sb.n - 1)->start;
		if (seq_gt(data_end, from) && data_end - from > smss)
			from += (data_end - from - 1) / smss * smss;
		else if (!seq_gt(data_end, from))
			from = data_end;
		c->sending_tlp = true;
		sent = tcp_retransmit_at(c, from, now);
		c->sending_tlp = false;
		c->tlp_is_retrans = true;
	}
	/* §7.4: one probe outstanding, until an ACK says what became of it. */
	c->tlp_out = sent;
	c->tlp_end_seq = c->snd_max;
	c->rto_at = STACK_NEVER;
	tcp_arm_rto_after_probe(c, now);
}

/* tcp_retransmit_at, the segment ending at limit at the latest: a record
 * deemed lost is resent as it was sent (Linux resends an skb, not an MSS
 * from its start). A short segment lost mid-stream (the end of a write,
 * sent at once by Minshall's rule) resent as a full MSS would take along
 * bytes of the next one, which may well have arrived. */
static bool retransmit_upto(struct tcp_conn *c, tcp_seq seq, tcp_seq limit, uint32_t segs, uint64_t now);

/* One segment from seq, not past the end of the record that holds it: a
 * record an ACK cut in the middle goes again from the ACK to its end,
 * as Linux's __tcp_retransmit_skb sends what tcp_trim_head left of a
 * partly acknowledged skb (measured on 6.18: a timeout's resend, acked
 * 12 bytes in, then the next timeout's resend, 1436 bytes to the
 * segment's end where pstack sent a full 1448). */
bool tcp_retransmit_at(struct tcp_conn *c, tcp_seq seq, uint64_t now)
{
	uint32_t i = tcp_sb_find(&c->sb, seq);
	tcp_seq limit = i < c->sb.n ? tcp_sb_at(&c->sb, i)->end : c->snd_max;

	return retransmit_upto(c, seq, limit, 1, now);
}

static uint32_t tso_cap(const struct tcp_conn *c, uint32_t smss, bool one);

/* At most segs segments from seq, up to limit: with TSO one frame of
 * them, as Linux's __tcp_retransmit_skb resends up to "segs" (what cwnd
 * leaves) of an skb deemed lost at once, cutting the rest off with
 * tcp_fragment. */
static bool retransmit_upto(struct tcp_conn *c, tcp_seq seq, tcp_seq limit, uint32_t segs, uint64_t now)
{
	tcp_seq end = tcp_snd_end(c);
	tcp_seq wnd_edge = c->snd_una + c->snd_wnd;
	uint32_t len = 0, smss = seg_mss(c);
	uint32_t most = segs > 1 ? tso_cap(c, smss, urg_mode(c) && seq_lt(seq, c->snd_up)) : smss;
	uint8_t flags = TCP_ACK;

	if (c->state == TCP_STATE_SYN_SENT || c->state == TCP_STATE_SYN_RECEIVED) {
		tcp_send_syn(c, now);
		return true;
	}
	if (seq_lt(seq, c->snd_base))
		seq = c->snd_base;
	/* What was sent before, never beyond SND.MAX: new data goes out as
	 * such (an ACK for bytes past SND.MAX would be refused). */
	if (segs > 1 && most > segs * smss)
		most = segs * smss;
	if (seq_lt(seq, seq_min(end, c->snd_max)))
		len = min32(seq_min(end, c->snd_max) - seq, most);
	if (seq_lt(seq, limit))
		len = min32(len, limit - seq);
	len = min32(len, eor_room(c, seq));
	/* Within the peer's window, like Linux's tcp_retransmit_skb (whole
	 * segments when the window holds one): only the first unacknowledged
	 * segment goes whatever the window, RFC 6298 (5.4). */
	if (len && seq != c->snd_una) {
		uint32_t room = seq_lt(seq, wnd_edge) ? wnd_edge - seq : 0;

		if (!room)
			return false;
		if (len > room)
			len = room > smss ? room - room % smss : room;
	} else if (len && seq_lt(seq, wnd_edge) && wnd_edge - seq < len) {
		len = wnd_edge - seq;
	}
	if (c->fin_queued && seq + len == end && seq_gt(c->snd_max, end))
		flags |= TCP_FIN;
	if (!len && !(flags & TCP_FIN))
		return false;
	if (psh_resent(c, seq, len) || (len && eor_room(c, seq) == len))
		flags |= TCP_PSH;
	/* A resent TSO frame of more than one segment carries PSH, as new
	 * ones do (this machine's Linux 6.18 over a TAP with vnet headers:
	 * the two-segment resend 17521:20441 of
	 * tcp_sack_sack-route-refresh-ip-tos has it, one-segment resends
	 * in the middle of the data do not). */
	if (len > smss)
		flags |= TCP_PSH;
	c->rtt_timing = false;              /* Karn's algorithm */
	c->s->stats.tcp_retransmits++;
	c->total_retrans++;
	xmit_gso(c, seq, flags, len, len > smss ? (uint16_t)smss : 0, now);
	if (c->rto_at == STACK_NEVER)
		tcp_arm_rto(c, now);
	return true;
}

/* After a rewind of SND.NXT (none happens today but after an undo): moves it
 * past what the receiver SACKed; returns the room before the next SACKed
 * record (UINT32_MAX: none). */
static uint32_t skip_sacked(struct tcp_conn *c)
{
	uint32_t i = tcp_sb_find(&c->sb, c->snd_nxt);

	for (; i < c->sb.n; i++) {
		const struct tcp_txseg *s = tcp_sb_at(&c->sb, i);

		if (!(s->flags & TCP_TX_SACKED))
			continue;
		if (seq_leq(s->start, c->snd_nxt)) {
			c->snd_nxt = seq_max(c->snd_nxt, s->end);
			continue;
		}
		return s->start - c->snd_nxt;
	}
	return UINT32_MAX;
}

/* RFC 6675 NextSeg rule 1 with the scoreboard's marks (RACK's, or
 * IsLost's): the first segment deemed lost and not yet resent, one MSS of
 * it. false when there is none, or the window keeps it back. */
static bool resend_lost(struct tcp_conn *c, uint32_t room_segs, uint64_t now)
{
	uint32_t i = tcp_sb_next_lost(&c->sb, 0);

	while (i < c->sb.n) {
		/* The segment's edges, not a pointer to it: the resend splits
		 * the scoreboard (tcp_sb_sent), which may move its array. */
		const struct tcp_txseg *s = tcp_sb_at(&c->sb, i);
		tcp_seq start = s->start, end = s->end;

		if (retransmit_upto(c, start, end, room_segs, now)) {
			/* Linux's tcp_xmit_retransmit_queue: the first
			 * unacknowledged segment resent (a fast retransmit,
			 * NewReno's or RACK's, or a partial ACK's) restarts the
			 * retransmission timer from now; before, the timeout
			 * came an RTO after the original went (or the loss
			 * probe), soon after the fast retransmission (rawframes
			 * bulk_sack_fast_retransmit_rearms_rto). Not while
			 * RACK's reordering timer is pending; its expiry clears
			 * it before this pass, and tcp_rack_reo_timeout then
			 * rearms the RTO from the head's latest transmission
			 * (Linux's tcp_rearm_rto), which is now when this pass
			 * resent it. */
			if (start == c->snd_una && !c->reo_armed)
				tcp_arm_rto_after_probe(c, now);
			return true;
		}
		/* Beyond the window: so is everything after it. */
		if (start != c->snd_una)
			return false;
		i = tcp_sb_next_lost(&c->sb, i + 1);
	}
	return false;
}

/* The payload one transmission may carry: one segment, or with TSO many
 * (one: a single segment whatever the device takes). */
static uint32_t tso_cap(const struct tcp_conn *c, uint32_t smss, bool one)
{
	uint32_t cap = c->s->tso_max;

	if (!cap || one)
		return smss;
	if (cap > 65535 - 20 - 60)
		cap = 65535 - 20 - 60;          /* IPv4 total length, with headers and options */
	cap -= cap % smss;
	return cap > smss ? cap : smss;
}

static bool can_send_data(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_STATE_SYN_RECEIVED:
		return c->tfo;      /* a fast open child sends before the handshake ends */
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_CLOSE_WAIT:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_CLOSING:
	case TCP_STATE_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/*
 * Minshall's variant of Nagle's algorithm (draft-minshall-nagle, Linux's
 * tcp_minshall_check): a short segment waits only while a short segment
 * sent before it is unacknowledged, not while any data is. A response whose
 * last bytes make a short segment goes at once behind the full ones; with
 * the classic rule it waited for the ACK of everything before it, which a
 * peer that ACKs every second segment can delay by its delayed-ACK timer.
 */
static bool minshall_holds(const struct tcp_conn *c)
{
	return seq_gt(c->snd_sml, c->snd_una) && seq_leq(c->snd_sml, c->snd_nxt);
}

void tcp_output(struct tcp_conn *c, uint64_t now)
{
	tcp_output_burst(c, now, TCP_TX_BURST);
}

void tcp_output_burst(struct tcp_conn *c, uint64_t now, int budget)
{
	/* A bounded burst per call: the rest goes from the timer pass right
	 * after, so that the stack thread reads its input (ACKs) in between and
	 * connections take turns (Linux's TCP small queues serve the same end). */
	bool sent_new = false, sent_any = false, link_full = false;
	/* F-RTO's step 2.b (RFC 5682 §3.1; Linux's tcp_xmit_recovery with
	 * REXMIT_NEW): what the ACK just taken lets go is new data, Nagle
	 * off, not the segments the timeout deemed lost; if none can go (no
	 * window), F-RTO ends and they are resent as without it. */
	bool frto_new = c->frto_new && c->ca_state == TCP_CA_LOSS;
	tcp_seq frto_from = c->snd_max;

	c->frto_new = false;

	/* A caller's time older than this connection's last send (read
	 * before the lock, or the stack's last time): what goes now goes
	 * after that send, timers included. */
	if (now < c->last_snd_at)
		now = c->last_snd_at;
	if (!can_send_data(c)) {
		if (c->ack_now && c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_LISTEN &&
		    c->state != TCP_STATE_SYN_SENT)
			tcp_send_ack(c, now);
		return;
	}
	/* After an idle period longer than the RTO, a restart towards the
	 * initial window (RFC 2861, as Linux's tcp_cwnd_restart). */
	if (c->snd_una == c->snd_max && c->last_snd_at && seq_lt(c->snd_nxt, tcp_snd_end(c))) {
		if (now - c->last_snd_at > c->rto && c->s->cfg.tcp_slow_start_after_idle)
			tcp_cc_on_idle(&c->cc, now - c->last_snd_at, c->rto,
				       c->ca_state == TCP_CA_CWR || c->ca_state == TCP_CA_RECOVERY, now);
		tcp_cc_on_tx_start(&c->cc, now - c->last_snd_at, now);
	}
	while (budget-- > 0) {
		tcp_seq end = tcp_snd_end(c);
		uint32_t pipe = tcp_pipe(c);
		uint32_t smss = seg_mss(c);
		uint32_t room_segs, cwnd_room;
		tcp_seq wnd_edge = c->snd_una + c->snd_wnd;
		uint32_t wnd_room, avail, rec, len, gap, cap;
		bool fin_now, retrans, grow;
		uint8_t flags = TCP_ACK;
		tcp_seq seq, grow_lim = 0;

		if (stack_tx_full(c->s)) {
			/* The queue to the device holds enough: this
			 * connection's turn comes again once it was written
			 * (struct stack_link's tx_full), after the others
			 * waiting. Without this, one pass over a batch of ACKs
			 * for many connections queued every window's worth,
			 * tens of megabytes, that the RTT then measured. */
			budget = -1;
			link_full = true;
			break;
		}
		if (c->in_recovery || c->ca_state == TCP_CA_CWR) {
			/* PRR set cwnd to pipe + sndcnt in bytes (RFC 6937 §3):
			 * the room is sndcnt, in segments of the size sent now
			 * (below the MSS when SACK blocks ride along), not a
			 * whole MSS beyond a pipe rounded up in MSS units. */
			room_segs = c->cc.cwnd > pipe ? (c->cc.cwnd - pipe) / smss : 0;
		} else {
			/* Like Linux (tcp_cwnd_test), the congestion window
			 * counts packets: those in flight (a TSO frame's each,
			 * a short segment one), not their bytes rounded up in
			 * MSS units, and what it leaves is a number of whole
			 * segments (never a runt mid-stream, RFC 1122
			 * §4.2.3.4's sender SWS avoidance). Ten 100-byte
			 * segments with TCP_NODELAY fill a cwnd of 10: Linux
			 * 6.18 sends ten of twenty such writes before an ACK. */
			uint32_t cwnd_segs = c->cc.cwnd / c->mss;
			uint32_t pipe_segs = tcp_pipe_pkts(c);

			room_segs = cwnd_segs > pipe_segs ? cwnd_segs - pipe_segs : 0;
		}
		cwnd_room = room_segs * smss;
		/* The segments deemed lost go before new data (RFC 6675 NextSeg
		 * rule 1, RFC 8985 §6.2), in recovery and after a timeout. */
		if (room_segs && c->sb.to_resend && !frto_new && resend_lost(c, room_segs, now)) {
			sent_any = true;
			continue;
		}
		gap = skip_sacked(c);
		if (seq_lt(c->snd_nxt, c->snd_base))
			c->snd_nxt = c->snd_base;
		seq = c->snd_nxt;
		avail = seq_lt(seq, end) ? end - seq : 0;
		/* What a segment may take: up to the end of a record
		 * (MSG_EOR). Cork and Nagle hold only the last one's end. */
		rec = min32(avail, eor_room(c, seq));
		wnd_room = seq_lt(seq, wnd_edge) ? wnd_edge - seq : 0;
		retrans = seq_lt(seq, c->snd_max);
		/* Urgent data goes one segment at a time: a TSO frame's
		 * segments would all carry the first one's urgent pointer. */
		cap = tso_cap(c, smss, retrans || (urg_mode(c) && seq_lt(seq, c->snd_up)));
		/* An off-grid head buffer goes as Linux grows it, to its end
		 * (a segment below the MSS too: not the data's end, so no
		 * Nagle, tcp_write_xmit's TCP_NAGLE_PUSH for all but the last). */
		grow = !retrans && (cwnd_room || c->sws_override) && c->grow_on && rec;
		if (grow) {
			grow_lim = grow_head_limit(c, seq, c->sws_override ? 0 : min32(cwnd_room, cap));
			if (seq_lt(grow_lim, seq + rec))
				rec = grow_lim - seq;
		}
		len = min32(min32(rec, cap), min32(wnd_room, cwnd_room));
		len = min32(len, gap);
		if (len > smss && len < rec)
			len -= len % smss;      /* a TSO frame of whole segments but at the end of the data or record */
		/* The FIN takes a sequence number of the peer's window too
		 * (Linux's tcp_snd_wnd_test counts it in end_seq): into a
		 * window that has no room left for it, it waits, and the
		 * persist timer probes (measured on Linux 6.18: close() on a
		 * zero window sends "5:5(0)" probes, no FIN). */
		fin_now = c->fin_queued && seq + len == end && seq_leq(c->snd_nxt, end) &&
			  (cwnd_room > 0 || retrans || pipe == 0) && (retrans || seq_lt(seq + len, wnd_edge));
		/* Nothing new may go (none left, or no window): nothing more.
		 * Deviation: no RFC 6675 rescue retransmission (NextSeg rule
		 * 4), as Linux has none (tcp_xmit_retransmit_queue resends
		 * only what is marked lost): a lost tail is found by RACK
		 * once a later retransmission is delivered, or by the RTO. */
		if (rec && len < rec && len < smss) {
			/* Sender SWS avoidance as Linux has it (tcp_snd_wnd_test in
			 * tcp_write_xmit): new data goes only when its first segment,
			 * a whole one or all there is, fits in the peer's window;
			 * what the window cuts short waits for the probe timer
			 * (persist_expired(), Linux's tcp_write_wakeup), unless the
			 * congestion window is what limits it. Deviation: RFC 1122
			 * §4.2.3.4 lets a segment of half the largest window go; the
			 * MSS is at most that half already (tcp_sync_mss), but all
			 * of a window not above 536: to a peer whose window is 1,
			 * Linux holds "hello" for the probe timer, 1 byte at a
			 * time. Not for data sent before: a retransmission goes out
			 * whatever the window's size (RFC 6298 (5.4)); held back, a
			 * timeout after the peer's window updates were lost would
			 * resend nothing, ever. */
			if (!len || (len == wnd_room && !c->sws_override && !retrans))
				break;
		}
		if (avail && len == avail && len % smss && (c->opt.cork || c->more) && !c->fin_queued && !retrans &&
		    !c->sws_override && !c->nagle_push && !urg_mode(c)) {
			/* TCP_CORK and MSG_MORE (Linux's TCP_NAGLE_CORK): the
			 * partial segment at the end waits for more data, the
			 * uncork, the FIN, or the probe timer armed below (Linux's
			 * tcp_check_probe_timer: the RTO, 200 ms at least, after
			 * which persist_expired() sends it). Not while urgent data
			 * is unacknowledged: tcp_nagle_test lets any segment go in
			 * urgent mode, and tcp_write_xmit does not look for a
			 * split point then. */
			len -= len % smss;
			if (!len)
				break;
		}
		if (avail && len == avail && len < smss && !c->opt.nodelay && !c->fin_queued && !retrans &&
		    c->snd_max != c->snd_una && minshall_holds(c) && !urg_mode(c) && !frto_new) {
			/* Nagle (RFC 1122 §4.2.3.4) as Linux has it (tcp_nagle_check,
			 * Minshall's variant): hold a small segment while a small
			 * one sent before is unacknowledged; not urgent data. */
			break;
		}
		if (!len && !fin_now)
			break;
		if (fin_now)
			flags |= TCP_FIN;
		if (retrans ? psh_resent(c, seq, len) : psh_due(c, seq, len))
			flags |= TCP_PSH;
		/* What the probe timer sends of new data carries PSH, marked
		 * or not (Linux's tcp_write_wakeup sets it on the skb), and so
		 * does the end of the buffer it cut. */
		if (c->sws_override && !retrans && len) {
			flags |= TCP_PSH;
			if (len < rec)
				psh_probe_cut(c, seq + len);
		}
		/* A TSO frame of new data with more than one segment carries PSH
		 * wherever it was cut from the send buffer (Linux 6.18 on a veth
		 * with TSO: a 20000-byte write, or one with MSG_MORE, leaves in
		 * frames of five segments that all have it; a one-segment frame
		 * has it only where the buffer ends with it). The device that
		 * cuts the frame keeps PSH on its last segment only. */
		if (!retrans && len > smss)
			flags |= TCP_PSH;
		if (retrans) {
			c->s->stats.tcp_retransmits++;
			c->total_retrans++;
		} else {
			sent_new = true;
			if (!c->rtt_timing && len) {
				c->rtt_timing = true;
				c->rtt_seq = seq + len;
				c->rtt_start = now;
			}
		}
		xmit_gso(c, seq, flags, len, (uint16_t)smss, now);
		sent_any = true;
		if (!retrans && len % smss)
			c->snd_sml = seq + len;     /* Linux's tcp_minshall_update */
		if (grow)
			grow_head_note(c, seq + len, grow_lim);
		c->sws_override = false;
		c->snd_nxt = seq + len + (fin_now ? 1 : 0);
		if (seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (c->rto_at == STACK_NEVER)
			tcp_arm_rto(c, now);
		if (fin_now)
			break;
	}
	if (frto_new && !seq_gt(c->snd_max, frto_from)) {
		/* Nothing new went: the conventional recovery's pass instead. */
		c->frto = false;
		if (!sent_any && budget > 0 && !link_full) {
			tcp_output_burst(c, now, budget);
			return;
		}
	}
	if (budget < 0)
		tcp_txq_add(c);
	/* Linux's tcp_write_xmit(): the next segment does not fit in the
	 * peer's window (TCP_INFO's rwnd_limited), or it does; Linux tests
	 * cwnd first, so a full cwnd is not the peer's window's doing. */
	{
		tcp_seq end = tcp_snd_end(c), edge = c->snd_una + c->snd_wnd;
		uint32_t avail = seq_lt(c->snd_nxt, end) ? end - c->snd_nxt : 0;
		uint32_t room = seq_lt(c->snd_nxt, edge) ? edge - c->snd_nxt : 0;
		/* Its cwnd validation: whether the flight fills cwnd now (in
		 * packets, as Linux's tcp_packets_in_flight), after a pass
		 * that sent, or that cwnd held back. */
		uint32_t pipe_segs = tcp_pipe_pkts(c);
		bool limited = pipe_segs >= c->cc.cwnd / c->mss;

		if (avail && !limited && room < min32(avail, seg_mss(c)))
			tcp_chrono_start(c, TCP_CHRONO_RWND, now);
		else if (c->chrono == TCP_CHRONO_RWND)
			tcp_chrono_stop(c, TCP_CHRONO_RWND, now);
		/* The moderation of a window not in use (Linux's
		 * tcp_cwnd_application_limited) only in the Open state (not
		 * Linux's Disorder either, which pstack's Open includes:
		 * SACKed, lost or duplicate-ACKed data), not while the
		 * program finds the buffer full, nor after it closed. */
		bool may_moderate = c->ca_state == TCP_CA_OPEN && !c->sb.sacked && !c->sb.lost && !c->dupacks &&
				    !c->nospace && !c->orphan;

		if (sent_any || (limited && avail))
			tcp_cc_on_sent(&c->cc, limited, c->snd_max - c->snd_una, c->snd_una, c->snd_nxt, now, c->rto,
				       may_moderate);
		/* Linux's tcp_cwnd_validate(): new data went, all of it, the
		 * window was not in use (tcp_is_cwnd_limited) and the program
		 * found the buffer full: the send buffer limits. */
		if (sent_new && !avail && c->nospace && !tcp_cc_window_used(&c->cc) &&
		    (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_CLOSE_WAIT))
			tcp_chrono_start(c, TCP_CHRONO_SNDBUF, now);
	}

	if (sent_new) {
		tcp_schedule_tlp(c, now);
		/* Linux's tcp_event_new_data_sent (since 4bfe744ff164, "tcp:
		 * fix potential xmit stalls caused by TCP_NOTSENT_LOWAT"): what
		 * went out is no longer unsent, which may let a writer held by
		 * the mark go on. */
		tcp_check_space(c, now);
	}
	/* Data waits behind a zero window and nothing is in flight to bring an
	 * update: the persist timer probes (RFC 9293 §3.8.6.1). Not data held
	 * back by a full link: its turn comes. */
	if (c->snd_una == c->snd_max && seq_lt(c->snd_nxt, tcp_snd_end(c) + (c->fin_queued ? 1 : 0)) &&
	    c->persist_at == STACK_NEVER && c->rto_at == STACK_NEVER) {
		if (!link_full)
			tcp_arm_persist(c, now);
		else if (c->opt.user_timeout_ms && c->snd_wnd)
			tcp_arm_held(c, now);
	}
	if (c->ack_now)
		tcp_send_ack(c, now);
}
