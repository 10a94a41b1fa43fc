/*
 * Loss detection and recovery. Read first:
 *   RFC 8985 (RACK-TLP), RFC 6675 (SACK loss recovery), RFC 6582 (NewReno),
 *   RFC 6937 (PRR), RFC 2883 (D-SACK), RFC 3708 (spurious retransmissions
 *   seen by D-SACK), RFC 5681 §3.2, RFC 3042.
 *
 * What is lost is decided on the scoreboard (tcp_sack.c), on every ACK:
 *   - with SACK, by RACK (RFC 8985 §6.2): a segment is lost once a segment
 *     sent after it was delivered, and a reordering window has passed since
 *     (RACK's timer waits for that window); like Linux's tcp_recovery.c,
 *     the window is zero while no reordering was seen and DupThresh
 *     segments are SACKed (RFC 8985 §6.2 step 4), which keeps the classic
 *     fast retransmit;
 *   - with SACK and PSTACK_TCP_RECOVERY=0, by RFC 6675's IsLost (DupThresh
 *     segments SACKed above);
 *   - without SACK, by NewReno (RFC 6582): the first unacknowledged segment
 *     on the third duplicate ACK and on each partial ACK.
 * A loss in the Open state starts a recovery (cwnd and ssthresh from the
 * congestion control, then PRR, RFC 6937, on each ACK); it ends when
 * everything sent before it is acknowledged (RFC 6582 §3.2 step 3), or when
 * D-SACK shows every retransmission of it was spurious (RFC 3708; the window
 * comes back, like Linux's tcp_try_undo_dsack). What to send is the output's
 * business (tcp_output.c): the segments marked lost first, then new data.
 * An ECN echo (RFC 3168 §6.1.2) brings the window down as a loss would, once
 * per window of data and without resending anything: Linux's CWR state.
 */
#include "stack/core/tcp/tcp_rack.h"

#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_priv.h"

#define RACK_REO_WND_PERSIST 16         /* RFC 8985 §6.2 step 4: DSACK-free recoveries before the window resets */

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static bool rack_on(const struct tcp_conn *c)
{
	return c->sack_ok && c->s->cfg.tcp_recovery;
}

/* RFC 8985 §6.2: t1 later than t2, the sequence breaking ties (a burst sent at once). */
static bool sent_after(uint64_t t1, tcp_seq seq1, uint64_t t2, tcp_seq seq2)
{
	return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

uint32_t tcp_pipe(const struct tcp_conn *c)
{
	uint32_t pipe = tcp_sb_in_flight(&c->sb);

	if (!c->sack_ok && c->dupacks) {
		/* Each duplicate ACK is a segment that left the network; outside
		 * recovery only the first two count (limited transmit, RFC 3042),
		 * so that duplicate ACKs that cannot start a recovery do not each
		 * send a new segment. */
		unsigned n = c->in_recovery || c->dupacks < TCP_DUPTHRESH ? c->dupacks : TCP_DUPTHRESH - 1;
		uint32_t d = n * (uint32_t)c->mss;

		pipe = pipe > d ? pipe - d : 0;
	}
	return pipe;
}

uint32_t tcp_pipe_pkts(const struct tcp_conn *c)
{
	uint32_t pipe = tcp_sb_in_flight_pkts(&c->sb);

	if (!c->sack_ok && c->dupacks) {
		/* As tcp_pipe: each duplicate ACK a packet that left (Linux's
		 * tcp_add_reno_sack counts them in sacked_out). */
		unsigned n = c->in_recovery || c->dupacks < TCP_DUPTHRESH ? c->dupacks : TCP_DUPTHRESH - 1;

		pipe = pipe > n ? pipe - n : 0;
	}
	return pipe;
}

/* ---- RACK (RFC 8985 §6.2) ---- */

/* Steps 2 and 3 for segment s, newly delivered (ACKed or SACKed); true when
 * it shows reordering. */
static bool rack_delivered(struct tcp_conn *c, const struct tcp_txseg *s, uint32_t tsecr, uint64_t now,
			   const struct tcp_ack_info *ai, bool sack)
{
	struct tcp_rack *r = &c->rack;
	uint32_t rtt = now > s->xmit_at ? (uint32_t)(now - s->xmit_at) : 0;
	bool reordered = false, known = r->xmit_ts != 0;
	tcp_seq fack = r->fack;

	/* Step 3: a segment never resent, delivered below the highest one
	 * delivered so far, was reordered. A cumulatively acknowledged one
	 * is compared with the highest delivered before this ACK's SACK
	 * blocks (Linux's tcp_clean_rtx_queue: "before(reord, prior_fack)"):
	 * the hole an ACK fills below the blocks it SACKs at once is not
	 * reordering, and must not open RACK's reordering window. */
	if (!sack && ai->prior_fack_set) {
		known = true;
		fack = ai->prior_fack;
	}
	if (!r->xmit_ts || seq_gt(s->end, r->fack))
		r->fack = s->end;
	if (known && seq_lt(s->end, fack) && !(s->flags & TCP_TX_EVER_RETRANS))
		r->reord = reordered = true;
	/* Step 2: a resent segment may be the delivery of an earlier copy:
	 * not a sample when the timestamp echoed is older than the last
	 * transmission, or the time since it is below the minimum RTT. */
	if (s->flags & TCP_TX_EVER_RETRANS) {
		if (tsecr && (int32_t)(tsecr - tcp_ts_now(c, s->xmit_at)) < 0)
			return reordered;
		if (rtt < c->min_rtt)
			return reordered;
	}
	r->rtt = rtt;
	r->advanced = true;
	if (!r->xmit_ts || sent_after(s->xmit_at, s->end, r->xmit_ts, r->end_seq)) {
		r->xmit_ts = s->xmit_at ? s->xmit_at : 1;
		r->end_seq = s->end;
	}
	return reordered;
}

struct delivery {
	struct tcp_conn *c;
	uint32_t tsecr;
	uint64_t now;
	struct tcp_ack_info *ai;
	bool sack;                      /* SACKed, not cumulatively acknowledged */
	bool ece;                       /* the ACK echoes a CE mark (TCP_INFO's delivered_ce) */
	bool reord;                     /* a segment delivered showed reordering ... */
	tcp_seq reord_low;              /* ... the lowest such */
	uint64_t sample_xmit;           /* the latest send among those delivered (0: none) ... */
	bool sample_app_limited;        /* ... and whether the program limited it */
};

/* Linux's tcp_rate_gen(), the part TCP_INFO shows: the delivery sample is
 * the most recently sent segment this ACK delivered, and it says whether
 * the program limited the sending (tcpi_delivery_rate_app_limited). Once
 * the deliveries pass the mark tcp_rate_check_app_limited set, the
 * connection is no longer application-limited. */
static void note_rate_sample(struct delivery *d)
{
	struct tcp_conn *c = d->c;

	if (d->sample_xmit)
		c->rate_app_limited = d->sample_app_limited;
	if (c->app_limited && (int32_t)(c->delivered - c->app_limited) > 0)
		c->app_limited = 0;
}

/* Linux's tcp_check_sack_reordering(), once per ACK that showed reordering:
 * TCP_INFO's reord_seen, and reordering as the distance in segments from
 * the highest delivered to the lowest reordered (at most Linux's
 * tcp_max_reordering, 300). */
static void note_reordering(struct delivery *d)
{
	struct tcp_conn *c = d->c;
	uint32_t mss = c->mss ? c->mss : 1, segs;

	if (!d->reord)
		return;
	c->reord_seen++;
	if (seq_gt(c->rack.fack, d->reord_low)) {
		segs = (c->rack.fack - d->reord_low + mss - 1) / mss;
		if (segs > 300)
			segs = 300;
		if (segs > c->reordering)
			c->reordering = segs;
	}
}

/* The send times an RTT sample comes from (Linux's tcp_clean_rtx_queue()
 * and tcp_sacktag_one()): only segments sent once say when their copy left. */
static void note_sent_at(struct delivery *d, const struct tcp_txseg *s)
{
	uint64_t *first = d->sack ? &d->ai->first_sackt : &d->ai->first_ackt;
	uint64_t *last = d->sack ? &d->ai->last_sackt : &d->ai->last_ackt;

	if (s->flags & TCP_TX_EVER_RETRANS) {
		if (!d->sack)
			d->ai->retrans_acked = true;
		return;
	}
	if (!s->xmit_at)
		return;
	if (!*first || s->xmit_at < *first)
		*first = s->xmit_at;
	if (s->xmit_at > *last)
		*last = s->xmit_at;
}

static void each_delivered(void *ctx, const struct tcp_txseg *s)
{
	struct delivery *d = ctx;
	uint32_t segs = tcp_pcount(tcp_txseg_len(s), d->c->mss);

	/* Linux's tcp_count_delivered(): segments, a TSO frame's each. */
	d->c->delivered += segs;
	if (d->ece)
		d->c->delivered_ce += segs;
	if (s->xmit_at >= d->sample_xmit) {
		d->sample_xmit = s->xmit_at ? s->xmit_at : 1;
		d->sample_app_limited = (s->flags & TCP_TX_APP_LIMITED) != 0;
	}
	note_sent_at(d, s);
	/* Linux's FLAG_ORIG_SACK_ACKED (tcp_clean_rtx_queue, tcp_sacktag_one):
	 * a segment never resent, at or below high_seq, was delivered. */
	if (d->c->ca_state == TCP_CA_LOSS && !(s->flags & TCP_TX_EVER_RETRANS) &&
	    seq_leq(s->end, d->c->recover + 1))
		d->ai->orig_acked = true;
	if (rack_on(d->c) && rack_delivered(d->c, s, d->tsecr, d->now, d->ai, d->sack)) {
		if (!d->reord || seq_lt(s->start, d->reord_low))
			d->reord_low = s->start;
		d->reord = true;
	}
}

uint32_t tcp_rack_reo_wnd(const struct tcp_conn *c)
{
	const struct tcp_rack *r = &c->rack;
	uint32_t mult = r->reo_wnd_mult ? r->reo_wnd_mult : 1, w;

	/* Step 4: without reordering seen, no window in recovery nor once
	 * DupThresh segments are SACKed (the classic fast retransmit). */
	if (!r->reord) {
		if (c->ca_state == TCP_CA_RECOVERY || c->ca_state == TCP_CA_LOSS)
			return 0;
		if (c->sb.sacked > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss)
			return 0;
	}
	/* min_RTT / 4 per step, at most SRTT. Deviation: min_RTT is the
	 * connection's minimum, not a windowed one. */
	w = (c->min_rtt / 4) * mult;
	return c->rtt_valid ? min32(w, c->srtt) : w;
}

/* Step 4, the D-SACK part: one step wider per round trip with D-SACKs. */
static void rack_dsack(struct tcp_conn *c)
{
	struct tcp_rack *r = &c->rack;

	if (r->dsack_round_on && seq_geq(c->snd_una, r->dsack_round))
		r->dsack_round_on = false;
	if (r->dsack_round_on)
		return;
	r->dsack_round_on = true;
	r->dsack_round = c->snd_max;
	if (r->reo_wnd_mult < 255)
		r->reo_wnd_mult = (uint8_t)(r->reo_wnd_mult ? r->reo_wnd_mult + 1 : 2);
	r->reo_wnd_persist = RACK_REO_WND_PERSIST;
}

/* Step 4: a recovery ended; after 16 without D-SACK, the window resets. */
static void rack_recovery_end(struct tcp_conn *c)
{
	struct tcp_rack *r = &c->rack;

	if (r->reo_wnd_persist && --r->reo_wnd_persist == 0)
		r->reo_wnd_mult = 1;
}

static void mark_lost(struct tcp_conn *c, uint32_t i)
{
	struct tcp_txseg *s = tcp_sb_at(&c->sb, i);

	/* A retransmission lost again leaves the pipe, to be resent. */
	tcp_sb_set_flags(&c->sb, i, (uint8_t)((s->flags | TCP_TX_LOST) & ~TCP_TX_RETRANS));
}

/* Step 5: marks what is lost; returns how long until the next segment
 * may be (us, 0: none waits). */
static uint32_t rack_detect_loss(struct tcp_conn *c, uint64_t now)
{
	struct tcp_rack *r = &c->rack;
	uint32_t reo_wnd = tcp_rack_reo_wnd(c), timeout = 0;

	r->advanced = false;
	if (!r->xmit_ts)
		return 0;
	for (uint32_t i = 0; i < c->sb.n; i++) {
		struct tcp_txseg *s = tcp_sb_at(&c->sb, i);
		uint64_t deadline;

		if (s->flags & TCP_TX_SACKED)
			continue;
		if ((s->flags & (TCP_TX_LOST | TCP_TX_RETRANS)) == TCP_TX_LOST)
			continue;       /* known lost, waiting to be resent */
		if (!sent_after(r->xmit_ts, r->end_seq, s->xmit_at, s->end)) {
			/* New data goes out in sequence order: past the first one
			 * sent after RACK.segment, only resent ones can be older. */
			if (!(s->flags & TCP_TX_EVER_RETRANS) && !c->sb.retrans)
				break;
			continue;
		}
		deadline = s->xmit_at + r->rtt + reo_wnd;
		if (deadline <= now) {
			mark_lost(c, i);
		} else if (deadline - now > timeout) {
			timeout = (uint32_t)(deadline - now);
		}
	}
	return timeout;
}

/* RFC 6675 IsLost, for PSTACK_TCP_RECOVERY=0: an unSACKed segment with more
 * than (DupThresh - 1) * SMSS bytes SACKed above it is lost. */
static void dupthresh_detect_loss(struct tcp_conn *c)
{
	uint32_t above = 0, i = c->sb.n;

	while (i-- > 0) {
		struct tcp_txseg *s = tcp_sb_at(&c->sb, i);

		if (s->flags & TCP_TX_SACKED) {
			above += tcp_txseg_len(s);
		} else if (above > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss) {
			if (!(s->flags & (TCP_TX_LOST | TCP_TX_RETRANS)))
				mark_lost(c, i);
		}
	}
}

/* Without SACK, the duplicate ACKs that mark the head lost (Linux's
 * tcp_newreno_mark_lost: sacked_out >= tp->reordering), 3 until more
 * duplicate ACKs came than segments were in flight (reno_limit_dupacks). */
static unsigned reno_dupthresh(const struct tcp_conn *c)
{
	return c->reordering ? c->reordering : TCP_DUPTHRESH;
}

/* RFC 6582: the first unacknowledged segment (one of them) is lost. */
static void newreno_mark_head(struct tcp_conn *c)
{
	struct tcp_txseg *s;

	if (!c->sb.n)
		return;
	s = tcp_sb_at(&c->sb, 0);
	if (s->flags & TCP_TX_LOST)
		return;
	/* One segment, not a whole TSO frame (Linux's tcp_newreno_mark_lost). */
	if (tcp_txseg_len(s) > c->mss)
		tcp_sb_split(&c->sb, s->start + c->mss);
	mark_lost(c, 0);
}

/* ---- the scoreboard from the ACK ---- */

/* RFC 2883 §4: the first block is a D-SACK when it lies below the
 * cumulative ACK, or inside the second block. */
static bool is_dsack(const struct tcp_seg *g)
{
	if (!g->nsack)
		return false;
	if (seq_lt(g->sack[0][0], g->ack))
		return true;
	return g->nsack > 1 && seq_geq(g->sack[0][0], g->sack[1][0]) && seq_leq(g->sack[0][1], g->sack[1][1]);
}

/* Segments of [st, en) on the scoreboard that were resent (Linux's pcount
 * of each TCPCB_RETRANS skb the D-SACK covers, ending above undo_marker). */
static uint32_t dsack_resent_segs(const struct tcp_conn *c, tcp_seq st, tcp_seq en)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->sb.n; i++) {
		const struct tcp_txseg *s = tcp_sb_at(&c->sb, i);
		tcp_seq lo, hi;

		if (!seq_lt(s->start, en))
			break;
		if (!seq_gt(s->end, st) || !(s->flags & TCP_TX_EVER_RETRANS) || !seq_gt(s->end, c->undo_marker))
			continue;
		lo = seq_max(s->start, st);
		hi = seq_min(s->end, en);
		n += (hi - lo + c->mss - 1) / c->mss;
	}
	return n;
}

/* Linux's tcp_is_sackblock_valid for a D-SACK block that ends above the
 * old SND.UNA, judged against una, the SND.UNA this ACK makes (Linux's
 * tcp_ack moves snd_una before tcp_sacktag_write_queue): in the window
 * above it, or below it completely, at or after undo_marker or within a
 * window of its end. One that starts at or below una and ends above it
 * is refused. */
static bool dsack_block_valid(const struct tcp_conn *c, tcp_seq st, tcp_seq en, tcp_seq una)
{
	if (seq_gt(en, c->snd_max) || !seq_lt(st, en))
		return false;
	if (seq_gt(st, una))
		return true;
	if (!c->undo_recovery || seq_gt(en, una))
		return false;
	if (seq_geq(st, c->undo_marker))
		return true;
	return seq_gt(en, c->undo_marker) && seq_geq(st, en - c->max_snd_wnd);
}

/* A D-SACK for [st, en): a copy arrived twice. ack is the ACK that
 * carries it; c->snd_una is still the SND.UNA before it. */
static void on_dsack(struct tcp_conn *c, tcp_seq st, tcp_seq en, tcp_seq ack, struct tcp_ack_info *ai)
{
	uint32_t len = en - st, segs;

	/* Like Linux's tcp_dsack_seen: a dubious D-SACK (larger than any
	 * window, or more duplicates than retransmissions) is ignored. */
	if (!seq_lt(st, en) || len > c->max_snd_wnd)
		return;
	segs = (len + c->mss - 1) / c->mss;
	c->dsack_dups += segs;
	if (c->dsack_dups > c->total_retrans)
		return;
	ai->dsack = true;
	ai->dsack_segs = segs;          /* a spurious retransmission is delivered */
	if (c->tlp_out && c->tlp_is_retrans && en == c->tlp_end_seq) {
		ai->dsack_tlp = true;   /* the probe was not needed (RFC 8985 §7.4) */
		return;
	}
	/* RFC 3708: a retransmission of this recovery arrived beside its
	 * original. Like Linux: below the old SND.UNA, where the scoreboard
	 * has forgotten what was resent, every duplicate counts
	 * (tcp_check_dsack's "dumb counting"); above it only the segments
	 * that were resent (tcp_sacktag_one's TCPCB_RETRANS), in a block
	 * valid against the SND.UNA this ACK makes: so a D-SACK of the
	 * resent first segment on the ACK that covers it counts (the
	 * segment is still on the scoreboard), and a duplicate the network
	 * made of a segment sent once says nothing of the recovery. */
	if (c->undo_recovery && c->undo_retrans > 0) {
		tcp_seq una = seq_gt(ack, c->snd_una) ? ack : c->snd_una;
		uint32_t n = seq_leq(en, c->snd_una) ? (seq_gt(en, c->undo_marker) ? segs : 0)
			     : dsack_block_valid(c, st, en, una) ? dsack_resent_segs(c, st, en) : 0;

		c->undo_retrans = c->undo_retrans > (int32_t)n ? c->undo_retrans - (int32_t)n : 0;
	}
	/* RFC 8985 §6.2 step 4: widen the reordering window. The duplicate
	 * also shows that what was taken for a loss was reordering (like
	 * Linux, which counts a D-SACKed retransmission as reordering). */
	if (rack_on(c)) {
		c->rack.reord = true;
		rack_dsack(c);
	}
}

void tcp_rack_sack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now)
{
	struct delivery d = { c, g->has_ts ? g->tsecr : 0, now, ai, true, c->ecn_ok && (g->flags & TCP_ECE), false, 0, 0, false };
	struct tcp_sb_ack r = { 0 };
	tcp_seq blk[TCP_SACK_BLOCKS][2];
	unsigned b = 0, n = 0;

	if (c->rack.xmit_ts) {
		ai->prior_fack_set = true;
		ai->prior_fack = c->rack.fack;
	}
	if (is_dsack(g)) {
		on_dsack(c, g->sack[0][0], g->sack[0][1], g->ack, ai);
		b = 1;
	}
	for (; b < g->nsack; b++) {
		tcp_seq st = g->sack[b][0], en = g->sack[b][1];
		unsigned j;

		/* RFC 2018 §4: only blocks within the data outstanding. */
		if (!seq_lt(st, en) || seq_leq(st, g->ack) || seq_gt(en, c->snd_max) || seq_lt(st, c->snd_una))
			continue;
		/* In ascending order, as Linux walks its queue
		 * (tcp_sacktag_write_queue sorts the blocks): a receiver
		 * sends the newest block first, and a lower block taken
		 * after a higher one of the same ACK would look reordered. */
		for (j = n; j > 0 && seq_lt(st, blk[j - 1][0]); j--) {
			blk[j][0] = blk[j - 1][0];
			blk[j][1] = blk[j - 1][1];
		}
		blk[j][0] = st;
		blk[j][1] = en;
		n++;
	}
	for (unsigned i = 0; i < n; i++)
		tcp_sb_sack(&c->sb, blk[i][0], blk[i][1], c->mss, each_delivered, &d, &r);
	note_reordering(&d);
	note_rate_sample(&d);
	ai->sacked += r.sacked;
	ai->sacked_segs += r.sacked_segs;
}

void tcp_rack_cum_ack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now)
{
	struct delivery d = { c, g->has_ts ? g->tsecr : 0, now, ai, false, c->ecn_ok && (g->flags & TCP_ECE), false, 0, 0, false };
	struct tcp_sb_ack r = { 0 };

	ai->flight_before = c->snd_max - c->snd_una;
	tcp_sb_ack(&c->sb, g->ack, c->mss, each_delivered, &d, &r);
	note_reordering(&d);
	note_rate_sample(&d);
	ai->acked += r.acked;
	ai->acked_segs += r.acked_segs;
	ai->una_advanced = true;
}

/* ---- recovery ---- */

/* Linux's tcp_current_ssthresh in the Open state: ssthresh, or 3/4 of
 * cwnd when more (what an undo may give back). */
static uint32_t current_ssthresh(const struct tcp_conn *c)
{
	uint32_t segs = c->cc.cwnd / c->mss;
	uint32_t q = ((segs >> 1) + (segs >> 2)) * c->mss;

	return c->cc.ssthresh > q ? c->cc.ssthresh : q;
}

static void enter_recovery(struct tcp_conn *c, uint64_t now)
{
	bool reducing = c->ca_state == TCP_CA_CWR;

	c->in_recovery = true;
	c->ca_state = TCP_CA_RECOVERY;
	c->fast_recoveries++;
	/* The recovery takes an outstanding probe over (Linux's
	 * tcp_init_cwnd_reduction clears tlp_high_seq): its repair is this
	 * reduction, not one more when the probe's end is ACKed, and the
	 * next tail may be probed once the recovery is over. */
	c->tlp_out = false;
	/* RFC 6582 §3.2 step 2: "the highest sequence number transmitted",
	 * the last byte sent, not the next one: a recovery whose full ACK is
	 * exactly the old SND.MAX has ended, and a loss of the segment sent
	 * first during it can start the next one (step 1's test). */
	c->recover = c->snd_max - 1;
	/* Already coming down after an ECN echo: one reduction, which PRR
	 * carries on (Linux's tcp_enter_recovery() when tcp_in_cwnd_reduction()),
	 * and nothing to undo (the echo was no mistake). */
	c->undo_recovery = !reducing;
	if (reducing)
		return;
	/* What to restore if the recovery proves spurious (Linux's
	 * tcp_init_undo: retransmissions still out may be D-SACKed later;
	 * prior_cwnd, and prior_ssthresh from tcp_current_ssthresh). */
	c->undo_marker = c->snd_una;
	c->undo_retrans = c->sb.retrans ? (int32_t)((c->sb.retrans + c->mss - 1) / c->mss) : -1;
	c->undo_cwnd = c->cc.cwnd;
	c->undo_ssthresh = current_ssthresh(c);
	tcp_prr_init(&c->prr, c->cc.cwnd);
	tcp_cc_on_loss(&c->cc, now);
	c->ecn_queue_cwr = c->ecn_ok;       /* RFC 3168 §6.1.2: CWR after any reduction */
}

/* RFC 3168 §6.1.2: the receiver saw a CE mark. The window comes down as
 * for a loss (the congestion control's ssthresh, then PRR, RFC 6937, for
 * what each ACK lets out), once per window: later echoes of the same are
 * ignored until what was sent before is acknowledged (Linux's
 * tcp_enter_cwr() and the CWR state). The next new data carries CWR. */
static void enter_cwr(struct tcp_conn *c, uint64_t now)
{
	c->ca_state = TCP_CA_CWR;
	c->tlp_out = false;                 /* tcp_init_cwnd_reduction, as enter_recovery */
	c->cwr_high = c->snd_max;
	c->undo_recovery = false;           /* congestion is proven: nothing to undo */
	c->ecn_reductions++;
	tcp_prr_init(&c->prr, c->cc.cwnd);
	tcp_cc_on_loss(&c->cc, now);
	c->ecn_queue_cwr = true;
}

static void exit_recovery(struct tcp_conn *c, uint64_t now)
{
	c->in_recovery = false;
	c->ca_state = TCP_CA_OPEN;
	if (!c->sack_ok)
		c->dupacks = 0;
	/* RFC 6582 §3.2 step 3 (1), also what PRR hands over (RFC 6937 §3):
	 * at most ssthresh, no burst when little is in flight. */
	tcp_cc_on_recovery_exit(&c->cc, c->snd_max - c->snd_una, now);
	rack_recovery_end(c);
}

/* Linux's tcp_packet_delayed: the ACK echoes a timestamp older than the
 * first retransmission, so the original arrived (RFC 3522); or nothing
 * was resent yet. Not the latter without SACK once SND.UNA reached the
 * recovery point (where Linux forgets retrans_stamp while it holds the
 * state, tcp_is_non_sack_preventing_reopen). */
static bool packet_delayed(const struct tcp_conn *c, const struct tcp_ack_info *ai)
{
	if (c->retrans_stamped)
		return ai->tsecr && (int32_t)(ai->tsecr - c->retrans_tsval) < 0;
	return c->sack_ok || !seq_gt(c->snd_una, c->recover);
}

/* Linux's tcp_may_undo: the recovery was spurious, by D-SACKs or by the
 * timestamp echo. */
static bool may_undo(const struct tcp_conn *c, const struct tcp_ack_info *ai)
{
	return c->undo_recovery && (!c->undo_retrans || packet_delayed(c, ai));
}

/* Linux's tcp_check_sack_reordering(sk, prior_snd_una, 1) in
 * tcp_try_undo_partial: an ACK that filled the hole with the original,
 * not the retransmission, shows reordering at least from the old SND.UNA
 * to the highest SACKed segment (tcp_highest_sack_seq: the start of that
 * SACKed run, Linux's SACKed skbs being merged; SND.UNA when nothing is
 * SACKed any more). RACK sees none there: the segment it delivered was
 * resent, and those above it were SACKed before. */
static void partial_undo_reordering(struct tcp_conn *c, tcp_seq low)
{
	uint32_t mss = c->mss ? c->mss : 1, have = c->reordering > TCP_DUPTHRESH ? c->reordering : TCP_DUPTHRESH;
	tcp_seq fack = c->snd_una;
	uint32_t i = c->sb.n;

	if (c->sb.sacked) {
		while (i > 0 && !(tcp_sb_at(&c->sb, i - 1)->flags & TCP_TX_SACKED))
			i--;
		while (i > 1 && (tcp_sb_at(&c->sb, i - 2)->flags & TCP_TX_SACKED))
			i--;
		if (i > 0)
			fack = tcp_sb_at(&c->sb, i - 1)->start;
	}
	if (!seq_lt(low, fack))
		return;
	if (fack - low > have * mss) {
		uint32_t segs = (fack - low + mss - 1) / mss;

		c->reordering = segs < 300 ? segs : 300;
	}
	c->reord_seen++;
}

/* Linux's tcp_any_retrans_done: a retransmission in flight, or the first
 * unacknowledged segment was resent. */
static bool any_retrans_done(const struct tcp_conn *c)
{
	return c->sb.retrans || (c->sb.n && (tcp_sb_at(&c->sb, 0)->flags & TCP_TX_EVER_RETRANS));
}

/* Linux's tcp_undo_cwnd_reduction: the window and ssthresh come back
 * (CUBIC's and Reno's undo_cwnd: the larger of cwnd and cwnd before the
 * reduction; ssthresh only up), and with unmark_loss what was deemed lost
 * is in flight again. The recovery is over: a loss still marked may start
 * the next one at once, as Linux's tcp_time_to_recover after an undo. */
static void undo_cwnd_reduction(struct tcp_conn *c, bool unmark_loss, uint64_t now)
{
	if (unmark_loss)
		tcp_sb_unmark_lost(&c->sb);
	if (c->cc.cwnd < c->undo_cwnd)
		c->cc.cwnd = c->undo_cwnd;
	if (c->cc.ssthresh < c->undo_ssthresh) {
		c->cc.ssthresh = c->undo_ssthresh;
		c->ecn_queue_cwr = false;       /* tcp_ecn_withdraw_cwr */
	}
	tcp_cc_validated(&c->cc, now);
	c->undo_recovery = false;
	c->frto_new = false;
	c->rack.advanced = true;            /* RACK looks at the losses again */
	c->in_recovery = false;
	c->ca_state = TCP_CA_OPEN;
	if (seq_gt(c->recover + 1, c->snd_una))
		c->recover = c->snd_una - 1;
	if (!c->sack_ok)
		c->dupacks = 0;
}

/* A timeout undone (tcp_try_undo_loss): cwnd and ssthresh back, and what
 * it deemed lost in flight again. Linux undoes (tcp_fastretrans_alert)
 * before it grows the window on the ACK (tcp_cong_control): the growth
 * this ACK gave the Loss state's window is taken back and given to the
 * window the undo restores, as the Open state's (if the window is in use:
 * after a spurious timeout in slow start, 10 back and 11 with the ACK). */
static void undo_loss(struct tcp_conn *c, const struct tcp_ack_info *ai, uint64_t now)
{
	if (ai->cwnd_before)
		c->cc.cwnd = ai->cwnd_before;
	undo_cwnd_reduction(c, true, now);
	if (ai->cwnd_before)
		tcp_cc_on_ack(&c->cc, ai->acked_segs + ai->sacked_segs, ai->flight_before, 0, now);
}

/* A recovery undone on an ACK that moved SND.UNA: Linux undoes in
 * tcp_fastretrans_alert and only then grows the window (tcp_cong_control,
 * tcp_may_raise_cwnd: FLAG_DATA_ACKED), now that the state is Open again,
 * by what the ACK delivered, the segments it D-SACKs included
 * (tcp_dsack_seen: "a spurious retransmission is delivered"). pstack's
 * ACK had not grown it, being in recovery. A loss that starts the next
 * recovery on this ACK takes the growth back (ai->cwnd_before). */
static void undo_recovery_grow(struct tcp_conn *c, struct tcp_ack_info *ai, uint64_t now)
{
	if (!ai->una_advanced)
		return;
	ai->cwnd_before = c->cc.cwnd;
	tcp_cc_on_ack(&c->cc, ai->acked_segs + ai->sacked_segs + ai->dsack_segs, ai->flight_before, 0, now);
}

/* RFC 8985 §7.4: what the ACK says of the probe. */
static void tlp_on_ack(struct tcp_conn *c, const struct tcp_seg *g, const struct tcp_ack_info *ai, uint64_t now)
{
	if (!c->tlp_out || seq_lt(g->ack, c->tlp_end_seq))
		return;
	if (!c->tlp_is_retrans || ai->dsack_tlp) {
		c->tlp_out = false;     /* new data delivered, or the probe was redundant */
	} else if (seq_gt(g->ack, c->tlp_end_seq)) {
		/* The probe repaired a loss: one reduction of the window, like
		 * Linux's CWR (from cwnd, the flight being gone by now). */
		c->tlp_out = false;
		if (c->ca_state == TCP_CA_OPEN)
			tcp_cc_on_loss(&c->cc, now);
	}
}

/* True when data not sent yet waits: new data, or a FIN (Linux's
 * !tcp_write_queue_empty). */
static bool unsent_waits(const struct tcp_conn *c)
{
	tcp_seq end = tcp_snd_end(c);

	return seq_lt(c->snd_max, end) || (c->fin_queued && !seq_gt(c->snd_max, end));
}

/*
 * F-RTO, RFC 5682 §3.1 with SACK (Linux's tcp_process_loss while tp->frto),
 * on an ACK in the Loss state after the timeout's retransmission went:
 *  - step 3.b: data sent once and never resent, at or below the recovery
 *    point, is (S)ACKed: the timeout was spurious, undone as Linux's
 *    tcp_try_undo_loss(sk, true) (cwnd, ssthresh and the losses back,
 *    TcpExtTCPLossUndo and TcpExtTCPSpuriousRTOs, the Open state);
 *  - step 3.a: after new data went, a SACK or a duplicate ACK: the loss was
 *    real, and the conventional recovery goes on;
 *  - step 2.b: the first ACK that moves SND.UNA (and does not end the
 *    state) sends new data rather than retransmissions, if some waits
 *    (the window is the output's business: when nothing new can go, it
 *    resends as without F-RTO, Linux's tcp_xmit_recovery). The recovery
 *    point moves to SND.MAX, so that what the next ACK covers below it
 *    is the original data.
 * Without SACK, a cumulative ACK that covers a resent segment says nothing
 * of the others (Linux clears FLAG_ORIG_SACK_ACKED then).
 */
static void frto_on_ack(struct tcp_conn *c, const struct tcp_ack_info *ai, uint64_t now)
{
	if (ai->orig_acked && (c->sack_ok || !ai->retrans_acked)) {
		undo_loss(c, ai, now);
		c->retries = 0;                 /* icsk_retransmits */
		c->spurious_rtos++;
		c->s->stats.tcp_loss_undo++;
		c->s->stats.tcp_spurious_rtos++;
		return;
	}
	if (seq_gt(c->snd_max, c->recover + 1)) {
		if (ai->sacked || (ai->dupack && !ai->dsack))
			c->frto = false;
	} else if (ai->una_advanced && !seq_gt(c->snd_una, c->recover)) {
		c->recover = c->snd_max - 1;
		if (unsent_waits(c))
			c->frto_new = true;
		else
			c->frto = false;
	}
}

/*
 * Without SACK, the Loss state holds while SND.UNA is the recovery point
 * itself, until an ACK covers data above it (Linux's
 * tcp_is_non_sack_preventing_reopen, RFC 6582 §3.2 step 1's recover):
 * duplicate ACKs of what was sent before the timeout, or of a copy it
 * resent, say nothing of what went after, and start no fast retransmit.
 */
bool tcp_recovery_loss_held(const struct tcp_conn *c)
{
	return c->ca_state == TCP_CA_LOSS && !c->sack_ok && c->snd_una == c->recover + 1;
}

void tcp_recovery_on_ack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now)
{
	uint32_t delivered = ai->acked + ai->sacked, newly_lost;
	bool no_loss_marking = false;
	/* Linux's tcp_ack_is_dubious: only such an ACK runs
	 * tcp_fastretrans_alert, where the state may turn Disorder or Open
	 * again; a clean ACK in the Open state leaves it Open (after a loss
	 * probe's retransmission, say). */
	bool dubious = ai->dupack || ai->sacked || ai->ece || ai->dsack || c->ca_state != TCP_CA_OPEN ||
		       c->ca_disorder;

	/* An ECN echo proves the congestion: an undo gives no window back
	 * (Linux's fastretrans_alert clears prior_ssthresh on ECE, and
	 * tcp_enter_recovery takes none on an echoing ACK). */
	if (ai->ece)
		c->undo_cwnd = c->undo_ssthresh = 0;
	tlp_on_ack(c, g, ai, now);
	/* An ACK that moves SND.UNA to a segment SACKed before: the
	 * receiver reneged. Linux's tcp_fastretrans_alert (B., its
	 * tcp_check_sack_reneging, since 6.7 without the transmit timer
	 * set again after it) rearms the retransmission timer for half an
	 * RTT and does nothing more with the ACK: no undo, no loss marked,
	 * no state changed, no PRR. */
	if (dubious && ai->una_advanced && c->sb.n && (tcp_sb_at(&c->sb, 0)->flags & TCP_TX_SACKED)) {
		tcp_arm_rto_reneging(c, now);
		ai->reneging = true;
		return;
	}
	if (!c->sack_ok && ai->dupack && c->snd_una != c->snd_max)
		delivered += c->mss;    /* RFC 6937 §3: a duplicate ACK delivered one segment */

	/* Linux's retrans_stamp is forgotten in the Open state. */
	if (c->ca_state == TCP_CA_OPEN)
		c->retrans_stamped = false;
	/* Everything sent before the recovery began is acknowledged: the
	 * recovery ends, undone if it proves spurious (Linux's
	 * tcp_try_undo_recovery, TCPFullUndo). */
	if (c->in_recovery && seq_gt(c->snd_una, c->recover)) {
		if (may_undo(c, ai)) {
			undo_cwnd_reduction(c, false, now);
			undo_recovery_grow(c, ai, now);
			c->spurious_recoveries++;
			c->s->stats.tcp_full_undo++;
		} else {
			exit_recovery(c, now);
		}
	} else if (c->in_recovery && ai->una_advanced && c->undo_recovery && packet_delayed(c, ai)) {
		/* A partial ACK for the original, not the retransmission
		 * (Linux's tcp_try_undo_partial): reordering, not loss. With
		 * retransmissions still out nothing more is deemed lost on
		 * this ACK; without, the reduction is undone (TCPPartialUndo). */
		partial_undo_reordering(c, c->snd_max - ai->flight_before);
		if (c->sb.retrans) {
			no_loss_marking = true;
		} else {
			if (!any_retrans_done(c))
				c->retrans_stamped = false;
			undo_cwnd_reduction(c, true, now);
			undo_recovery_grow(c, ai, now);
			c->spurious_recoveries++;
			c->s->stats.tcp_partial_undo++;
		}
	}
	/* Every retransmission of the recovery was D-SACKed: spurious too,
	 * also once it is over (Linux's tcp_try_undo_dsack in the Recovery,
	 * Open and Disorder states; TCPDSACKUndo). */
	if ((c->in_recovery || c->ca_state == TCP_CA_OPEN) && c->undo_recovery && ai->dsack && !c->undo_retrans) {
		bool was_recovery = c->in_recovery;

		undo_cwnd_reduction(c, false, now);
		if (was_recovery)
			undo_recovery_grow(c, ai, now);
		c->spurious_recoveries++;
		c->s->stats.tcp_dsack_undo++;
	}
	/* After a timeout, an ACK that moves SND.UNA and shows the timeout
	 * spurious (the original arrived: RFC 3522; or every retransmission
	 * D-SACKed) undoes its reduction and what it deemed lost, after
	 * several timeouts too (Linux's tcp_try_undo_loss, TcpExtTCPLossUndo;
	 * RFC 4015's response). Deviation: the state is Open at once without
	 * SACK too, where Linux holds Loss until SND.UNA passes its high_seq. */
	if (c->ca_state == TCP_CA_LOSS && ai->una_advanced && may_undo(c, ai)) {
		undo_loss(c, ai, now);
		c->spurious_rtos++;
		c->s->stats.tcp_loss_undo++;
	}
	if (c->ca_state == TCP_CA_LOSS && c->frto)
		frto_on_ack(c, ai, now);
	if (c->ca_state == TCP_CA_LOSS && seq_gt(c->snd_una, c->recover) && !tcp_recovery_loss_held(c)) {
		/* The timeout's recovery is over (Linux's tcp_try_undo_recovery
		 * from TCP_CA_Loss): Open again, and tail loss probes with it. */
		c->ca_state = TCP_CA_OPEN;
		rack_recovery_end(c);
	}
	/* The CWR state ends once data sent after the reduction (the CWR bit
	 * with it) is acknowledged: the window is ssthresh (Linux's
	 * tcp_end_cwnd_reduction()). */
	if (c->ca_state == TCP_CA_CWR && seq_gt(c->snd_una, c->cwr_high)) {
		c->ca_state = TCP_CA_OPEN;
		c->cc.cwnd = c->cc.ssthresh;
		tcp_cc_validated(&c->cc, now);
	}

	/* Loss detection. */
	if (c->snd_una != c->snd_max && !no_loss_marking) {
		if (rack_on(c)) {
			if (c->rack.advanced) {
				uint32_t timeout = rack_detect_loss(c, now);

				if (timeout)
					tcp_arm_reo(c, now, timeout);
			}
		} else if (c->sack_ok) {
			if (ai->sacked || ai->acked)
				dupthresh_detect_loss(c);
		} else if ((c->ca_state == TCP_CA_OPEN && c->dupacks >= reno_dupthresh(c)) ||
			   (c->in_recovery && ai->una_advanced)) {
			newreno_mark_head(c);
		}
	}
	newly_lost = c->sb.lost > ai->lost_before ? c->sb.lost - ai->lost_before : 0;
	/* Linux's tcp_try_keep_open, where an ACK leaves the state Open:
	 * Disorder while tcp_left_out, whose sacked_out counts the duplicate
	 * ACKs without SACK (tcp_add_reno_sack). */
	if (dubious)
		c->ca_disorder = c->sb.sacked || c->sb.lost || (!c->sack_ok && c->dupacks) || any_retrans_done(c);

	/* RFC 6582 §3.2 step 1 / RFC 6675 §5: a loss starts a recovery, once
	 * the previous one is over. */
	if (!c->in_recovery && (c->ca_state == TCP_CA_OPEN || c->ca_state == TCP_CA_CWR) && c->sb.lost &&
	    seq_gt(c->snd_una, c->recover)) {
		/* What the ACK that starts the recovery delivered counts
		 * (RFC 6937 §3.1: "on every ACK starting or during fast
		 * recovery"; Linux's tcp_cwnd_reduction takes its
		 * acked_sacked): an ACK that SACKs three segments at once
		 * lets the lost two go together. */
		if (ai->cwnd_before)
			c->cc.cwnd = ai->cwnd_before;
		enter_recovery(c, now);
	} else if (ai->ece && c->ca_state == TCP_CA_OPEN) {
		/* Like Linux's tcp_try_to_open(): an ECN echo without a loss.
		 * What the echoing ACK delivered counts in PRR as for a
		 * recovery (Linux's tcp_cwnd_reduction runs on it right
		 * after tcp_enter_cwr); pstack did not count it, and let one
		 * segment less go. */
		if (ai->cwnd_before)
			c->cc.cwnd = ai->cwnd_before;
		enter_cwr(c, now);
	}
	if (ai->ece)
		c->undo_cwnd = c->undo_ssthresh = 0;
	/* RFC 6937: what this ACK lets recovery (or the CWR state) send. */
	if (c->in_recovery || c->ca_state == TCP_CA_CWR) {
		uint32_t pipe = tcp_pipe(c);
		uint32_t sndcnt = tcp_prr_sndcnt(&c->prr, c->cc.ssthresh, pipe, delivered, c->mss,
						 ai->una_advanced && !newly_lost);

		c->cc.cwnd = pipe + sndcnt;
		if (c->cc.cwnd < c->mss)
			c->cc.cwnd = c->mss;
	}
}

bool tcp_recovery_rto_new_episode(const struct tcp_conn *c)
{
	/* Linux's tcp_enter_loss ("reduce ssthresh if it has not yet been
	 * made inside this window"): in the Open state; or once SND.UNA
	 * reached the high_seq of the state under way (a recovery's or a
	 * timeout's recovery point, a CWR state's SND.NXT at its start); or
	 * in the Loss state after an ACK that moved SND.UNA (which ends
	 * icsk_retransmits, pstack's retries). */
	tcp_seq high_seq;

	switch (c->ca_state) {
	case TCP_CA_OPEN:
		return true;
	case TCP_CA_CWR:
		high_seq = c->cwr_high;
		break;
	case TCP_CA_LOSS:
		if (c->retries == 0)
			return true;
		high_seq = c->recover + 1;
		break;
	default:
		high_seq = c->recover + 1;
		break;
	}
	return !seq_gt(high_seq, c->snd_una);
}

void tcp_recovery_rto_undo_init(struct tcp_conn *c)
{
	/* Linux's tcp_init_undo and prior_cwnd, prior_ssthresh in
	 * tcp_enter_loss. Inside a recovery or a CWR state the engine does
	 * not call this: the recovery's undo holds (none is possible after
	 * an ECN echo). */
	c->undo_recovery = true;
	c->undo_marker = c->snd_una;
	c->undo_retrans = c->sb.retrans ? (int32_t)((c->sb.retrans + c->mss - 1) / c->mss) : -1;
	c->undo_cwnd = c->cc.cwnd;
	c->undo_ssthresh = current_ssthresh(c);
}

void tcp_recovery_on_rto(struct tcp_conn *c, uint64_t now)
{
	struct tcp_rack *r = &c->rack;
	bool reneged = c->sb.n && (tcp_sb_at(&c->sb, 0)->flags & TCP_TX_SACKED);

	/* Linux's tcp_enter_loss: F-RTO (RFC 5682 §3.1 step 1) unless a
	 * recovery was under way, but for a timeout that follows a timeout
	 * with no ACK of new data between (§3.2: icsk_retransmits, the
	 * timeouts before this one; a window probe's is not counted). */
	unsigned before = c->snd_wnd == 0 && !c->orphan ? c->retries : (c->retries ? c->retries - 1u : 0u);

	c->frto = c->s->cfg.tcp_frto && (c->ca_state < TCP_CA_RECOVERY || before > 0);
	c->frto_new = false;
	c->tlp_out = false;
	c->reo_armed = false;
	c->in_recovery = false;
	c->ca_state = TCP_CA_LOSS;
	c->dupacks = 0;
	c->ecn_queue_cwr = c->ecn_ok;       /* RFC 3168 §6.1.2, Linux's tcp_enter_loss() */
	/* Deviation: RFC 2018 §8 has the sender forget SACK information at a
	 * timeout. Like Linux (tcp_timeout_mark_lost), it survives every
	 * timeout, a repeated one too, unless the first unacknowledged
	 * segment is SACKed (the receiver reneged). */
	if (reneged)
		tcp_sb_clear_sacked(&c->sb);
	for (uint32_t i = 0; i < c->sb.n; i++) {
		struct tcp_txseg *s = tcp_sb_at(&c->sb, i);

		if (s->flags & TCP_TX_SACKED)
			continue;
		/* RFC 8985 §6.3: the first one, and those RACK's time says are
		 * lost (all of them without RACK, like Linux), with no
		 * reordering window (Linux's tcp_timeout_mark_lost:
		 * tcp_rack_skb_timeout(tp, skb, 0)). */
		if (i == 0 || !rack_on(c) || !r->xmit_ts || s->xmit_at + r->rtt <= now)
			mark_lost(c, i);
	}
}

void tcp_rack_reo_timeout(struct tcp_conn *c, uint64_t now)
{
	uint32_t lost = c->sb.lost, timeout;

	c->reo_armed = false;
	timeout = rack_detect_loss(c, now);
	if (c->sb.lost > lost && !c->in_recovery && (c->ca_state == TCP_CA_OPEN || c->ca_state == TCP_CA_CWR) &&
	    seq_gt(c->snd_una, c->recover)) {
		enter_recovery(c, now);
		/* PRR's first ACK: the fast retransmission goes now. */
		c->cc.cwnd = tcp_pipe(c) + tcp_prr_sndcnt(&c->prr, c->cc.ssthresh, tcp_pipe(c), 0, c->mss, false);
	}
	tcp_output(c, now);
	/* Linux's tcp_rack_reo_timeout: the RTO (no probe) counts from the
	 * first unacknowledged segment's latest transmission (tcp_rearm_rto
	 * while the pending timer is still the reordering one), whatever
	 * this pass resent; a resend of that segment makes it now. Measured
	 * on Linux 6.18 (the timer resent the fourth of eight segments, the
	 * third SACKed and first unacknowledged): the timeout resent the
	 * third an RTO after the flight, 0.16 s after the timer; pstack an
	 * RTO after the timer (test_pd_send2's
	 * test_rack_reo_timer_rto_from_head). */
	if (timeout)
		tcp_arm_reo(c, now, timeout);
	else if (!c->reo_armed && c->snd_una != c->snd_max)
		tcp_rearm_rto_from_head(c, now);
}

void tcp_recovery_syn_data_lost(struct tcp_conn *c, tcp_seq start, tcp_seq end, uint64_t sent_at)
{
	/* The SYN's data joins the scoreboard as it went, with the SYN, and
	 * is deemed lost (tcp_mark_skb_lost). Like an RTO's Loss state, but
	 * no congestion: cwnd and ssthresh stay, nothing to undo
	 * (tcp_non_congestion_loss_retransmit; tcp_current_ssthresh in the
	 * Open state is ssthresh, the initial one or the one kept). */
	tcp_sb_sent(&c->sb, start, end, start, sent_at, 0, false, c->mss);
	for (uint32_t i = 0; i < c->sb.n; i++)
		if (!(tcp_sb_at(&c->sb, i)->flags & TCP_TX_SACKED))
			mark_lost(c, i);
	if (c->ca_state != TCP_CA_LOSS) {
		c->ca_state = TCP_CA_LOSS;
		c->recover = c->snd_max - 1;        /* Linux's high_seq = snd_nxt */
		c->undo_recovery = false;
	}
}

void tcp_recovery_mss_fell(struct tcp_conn *c, uint32_t old_mss)
{
	/* Linux's tcp_simple_retransmit marks lost only the segments longer
	 * than the new MSS (tcp_skb_seglen > tcp_current_mss): one that fits
	 * the path, a short tail for one, is not sent again. A record is a
	 * segment, or a TSO burst of segments of the MSS it went with. */
	for (uint32_t i = 0; i < c->sb.n; i++) {
		const struct tcp_txseg *t = tcp_sb_at(&c->sb, i);
		uint32_t seglen = t->end - t->start;

		if (seglen > old_mss)
			seglen = old_mss;
		if (!(t->flags & TCP_TX_SACKED) && seglen > c->mss)
			mark_lost(c, i);
	}
	/* And it enters the Loss state, cwnd left alone ("we do not
	 * increase amount of data in network, but units changed"): ssthresh
	 * is tcp_current_ssthresh, nothing to undo, and the Loss state ends
	 * when what was sent before it is acknowledged. Without this the next
	 * ACK began a fast recovery on the segments marked lost: CUBIC's
	 * ssthresh and PRR, one segment per ACK where Linux's slow start in
	 * Loss sends two. */
	if (c->sb.lost && c->ca_state != TCP_CA_LOSS) {
		if (!c->in_recovery && c->ca_state != TCP_CA_CWR)
			c->cc.ssthresh = current_ssthresh(c);
		c->in_recovery = false;
		c->ca_state = TCP_CA_LOSS;
		c->recover = c->snd_max - 1;        /* Linux's high_seq = snd_nxt */
		c->undo_recovery = false;
	}
}

void tcp_recovery_sent(struct tcp_conn *c, tcp_seq seq, tcp_seq end, bool psh, uint32_t gso, uint64_t now)
{
	uint32_t len = end - seq;
	uint32_t resent = seq_lt(seq, c->snd_max) ? seq_min(end, c->snd_max) - seq : 0;

	/* Linux's bytes_sent and bytes_retrans count data: not the FIN,
	 * which follows the last byte of the send queue. */
	tcp_seq fin = c->snd_base + (uint32_t)c->sndq.len;
	uint32_t data = c->fin_queued && seq_gt(end, fin) ? fin - seq : len;

	tcp_sb_sent(&c->sb, seq, end, c->snd_max, now,
		    (c->app_limited ? TCP_TX_APP_LIMITED : 0) | (psh ? TCP_TX_PSH : 0), c->sending_tlp,
		    gso ? gso : c->mss);
	c->bytes_sent += data;
	if (c->in_recovery)
		tcp_prr_sent(&c->prr, len);
	if (resent) {
		c->bytes_retrans += resent < data ? resent : data;
		/* Linux's tcp_retransmit_skb (not the probe's
		 * __tcp_retransmit_skb): the first retransmission's timestamp,
		 * and one more for D-SACKs to account for. */
		if (!c->sending_tlp) {
			if (!c->retrans_stamped) {
				c->retrans_stamped = true;
				c->retrans_tsval = tcp_ts_now(c, now);
			}
			if (c->undo_retrans < 0)
				c->undo_retrans = 0;
			c->undo_retrans += (int32_t)((resent + c->mss - 1) / c->mss);
		}
	}
}
