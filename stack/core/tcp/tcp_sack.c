/*
 * The sender's scoreboard. Read first: RFC 6675 §3 (the scoreboard, pipe),
 * RFC 2018 §8 (reneging), RFC 8985 §5.2 (per-segment transmit times).
 *
 * Like Linux's retransmission queue, one record per transmission (a TSO
 * frame is one record), cut where SACK blocks or retransmissions start and
 * end. The records sit in an array, oldest first; acknowledged ones leave
 * at the front by moving `head`, and the array is compacted when it grows.
 * Without memory for a cut, a record stays whole: its marks are then less
 * precise (a SACK block covering part of it is not taken), never wrong.
 */
#include "stack/core/tcp/tcp_sack.h"

#include <stdlib.h>
#include <string.h>

void tcp_sb_free(struct tcp_sb *sb)
{
	free(sb->seg);
	memset(sb, 0, sizeof(*sb));
}

/* Linux's tcp_skb_pcount(): the segments of mss bytes len makes, one at
 * least. */
static uint32_t pcount(uint32_t len, uint32_t mss)
{
	return mss && len > mss ? (len + mss - 1) / mss : 1;
}

/* Record s's packets: its segments of the size it went with. */
static uint32_t pkts(const struct tcp_txseg *s)
{
	return pcount(tcp_txseg_len(s), s->mss);
}

/* The bytes and packets record s adds to the counters sacked, lost, retrans. */
static void count(struct tcp_sb *sb, const struct tcp_txseg *s, int sign)
{
	uint32_t len = tcp_txseg_len(s), n = pkts(s);

	if (s->flags & TCP_TX_SACKED) {
		sb->sacked += (uint32_t)sign * len;
		sb->sacked_pkts += (uint32_t)sign * n;
		return;
	}
	if (s->flags & TCP_TX_LOST) {
		sb->lost += (uint32_t)sign * len;
		sb->lost_pkts += (uint32_t)sign * n;
	}
	if (s->flags & TCP_TX_RETRANS) {
		sb->retrans += (uint32_t)sign * len;
		sb->retrans_pkts += (uint32_t)sign * n;
	}
	if ((s->flags & (TCP_TX_LOST | TCP_TX_RETRANS)) == TCP_TX_LOST)
		sb->to_resend += (uint32_t)sign * len;
}

void tcp_sb_set_flags(struct tcp_sb *sb, uint32_t i, uint8_t flags)
{
	struct tcp_txseg *s = tcp_sb_at(sb, i);

	if (flags & TCP_TX_SACKED)
		flags &= (uint8_t)~(TCP_TX_LOST | TCP_TX_RETRANS);
	count(sb, s, -1);
	s->flags = flags;
	count(sb, s, 1);
	if ((flags & TCP_TX_SACKED) && (!sb->sacked || seq_gt(s->end, sb->high_sacked)))
		sb->high_sacked = s->end;
}

/* Room for one more record at the end (false when out of memory). */
static bool reserve(struct tcp_sb *sb)
{
	struct tcp_txseg *p;
	uint32_t cap;

	if (sb->head + sb->n < sb->cap)
		return true;
	if (sb->head > 0 && sb->head >= sb->cap / 4) {
		memmove(sb->seg, sb->seg + sb->head, sb->n * sizeof(sb->seg[0]));
		sb->head = 0;
		return true;
	}
	cap = sb->cap ? 2 * sb->cap : 64;
	p = realloc(sb->seg, cap * sizeof(*p));
	if (!p)
		return false;
	sb->seg = p;
	sb->cap = cap;
	return true;
}

uint32_t tcp_sb_find(const struct tcp_sb *sb, tcp_seq seq)
{
	uint32_t lo = 0, hi = sb->n;

	/* The last record that starts at or below seq. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seq_leq(tcp_sb_at(sb, mid)->start, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || !seq_lt(seq, tcp_sb_at(sb, lo - 1)->end))
		return sb->n;
	return lo - 1;
}

bool tcp_sb_split(struct tcp_sb *sb, tcp_seq seq)
{
	uint32_t i = tcp_sb_find(sb, seq);
	struct tcp_txseg *s;

	if (i == sb->n || tcp_sb_at(sb, i)->start == seq)
		return true;
	if (!reserve(sb))
		return false;
	s = tcp_sb_at(sb, i);
	count(sb, s, -1);
	sb->out_pkts -= pkts(s);
	memmove(s + 1, s, (sb->n - i) * sizeof(*s));
	sb->n++;
	/* s and s + 1 are the same record now: cut between them. PSH stays
	 * with the end (Linux's tcp_fragment clears it on the first part).
	 * The parts count their own packets (Linux's tcp_fragment sets each
	 * one's tso_segs and adjusts packets_out): a frame cut off its
	 * segment grid has one more. */
	s->end = seq;
	s->flags &= (uint8_t)~TCP_TX_PSH;
	(s + 1)->start = seq;
	count(sb, s, 1);
	count(sb, s + 1, 1);
	sb->out_pkts += pkts(s) + pkts(s + 1);
	return true;
}

void tcp_sb_sent(struct tcp_sb *sb, tcp_seq start, tcp_seq end, tcp_seq snd_max, uint64_t now, uint8_t flags,
		 bool probe, uint32_t mss)
{
	tcp_seq old_end = seq_min(end, snd_max);

	/*
	 * A send is never recorded as older than one before it. Threads take
	 * the time before they get the lock, or once for a pass of work (the
	 * stack thread), so a send may come with a time earlier than one
	 * another thread recorded just before. RACK (RFC 8985) takes the
	 * order of the times for the order of the sends: a response's last
	 * segment recorded 10 to 50 us "before" the one it follows was deemed
	 * lost as soon as that one was acknowledged (a retransmission and a
	 * recovery for most 1 MiB responses nginx sent).
	 */
	if (now < sb->last_xmit)
		now = sb->last_xmit;
	sb->last_xmit = now;
	if (mss > UINT16_MAX)
		mss = UINT16_MAX;

	/* The part sent before: a retransmission of every record in it. A
	 * loss probe's copy is not counted in flight as a retransmission
	 * (Linux's tcp_send_loss_probe sends it with __tcp_retransmit_skb:
	 * TCPCB_EVER_RETRANS, but neither TCPCB_SACKED_RETRANS nor
	 * retrans_out; measured on 6.18: tcpi_retrans 0 after the probe). */
	if (seq_lt(start, old_end) && sb->n) {
		uint32_t i;

		tcp_sb_split(sb, start);
		tcp_sb_split(sb, old_end);
		for (i = tcp_sb_find(sb, start); i < sb->n && seq_lt(tcp_sb_at(sb, i)->start, old_end); i++) {
			struct tcp_txseg *s = tcp_sb_at(sb, i);

			if (s->flags & TCP_TX_SACKED)
				continue;       /* the receiver has it: this copy is not in the pipe */
			/* Its packets now: the segments of the size resent
			 * (Linux's __tcp_retransmit_skb sets tso_segs from the
			 * current MSS, after a path MTU fall too). */
			count(sb, s, -1);
			sb->out_pkts -= pkts(s);
			s->mss = (uint16_t)mss;
			count(sb, s, 1);
			sb->out_pkts += pkts(s);
			s->xmit_at = now;
			tcp_sb_set_flags(sb, i, s->flags | (probe ? 0 : TCP_TX_RETRANS) | TCP_TX_EVER_RETRANS);
		}
	}
	/* The new part. */
	start = seq_max(start, snd_max);
	if (!seq_lt(start, end))
		return;
	if (sb->n && seq_lt(start, tcp_sb_at(sb, sb->n - 1)->end))
		return;                 /* cannot be: never overlap */
	if (!reserve(sb)) {
		/* No memory: an unmarked last record grows to cover it (a less
		 * precise time); else the bytes stay out of the pipe's count. */
		if (sb->n && tcp_sb_at(sb, sb->n - 1)->end == start &&
		    !(tcp_sb_at(sb, sb->n - 1)->flags & (uint8_t)~(TCP_TX_APP_LIMITED | TCP_TX_PSH))) {
			struct tcp_txseg *last = tcp_sb_at(sb, sb->n - 1);

			sb->out_pkts -= pkts(last);
			last->end = end;
			sb->out_pkts += pkts(last);
			sb->out += end - start;
		}
		return;
	}
	sb->seg[sb->head + sb->n] =
		(struct tcp_txseg){ .start = start, .end = end, .xmit_at = now, .flags = flags, .mss = (uint16_t)mss };
	sb->n++;
	sb->out += end - start;
	sb->out_pkts += pkts(tcp_sb_at(sb, sb->n - 1));
}

void tcp_sb_ack(struct tcp_sb *sb, tcp_seq ack, uint32_t mss, void (*each)(void *ctx, const struct tcp_txseg *s),
		void *ctx, struct tcp_sb_ack *r)
{
	while (sb->n) {
		struct tcp_txseg *s = tcp_sb_at(sb, 0);
		uint32_t segs;

		if (!seq_gt(ack, s->start))
			break;
		segs = pcount(tcp_txseg_len(s), mss);
		if (seq_lt(ack, s->end)) {
			/* A part of it: what it takes off the record's count
			 * (Linux's tcp_tso_acked), nothing of a record of one
			 * segment. */
			uint32_t d = ack - s->start;

			segs -= pcount(tcp_txseg_len(s) - d, mss);
			/* Cut (or, without memory, trim the record). */
			if (!tcp_sb_split(sb, ack)) {
				count(sb, s, -1);
				sb->out_pkts -= pkts(s);
				s->start = ack;
				count(sb, s, 1);
				sb->out_pkts += pkts(s);
				sb->out -= d;
				if (!(s->flags & TCP_TX_SACKED)) {
					r->acked += d;
					r->acked_segs += segs;
				}
				break;
			}
			s = tcp_sb_at(sb, 0);
		}
		if (!(s->flags & TCP_TX_SACKED)) {
			r->acked += tcp_txseg_len(s);
			r->acked_segs += segs;
			if (each)
				each(ctx, s);
		}
		count(sb, s, -1);
		sb->out -= tcp_txseg_len(s);
		sb->out_pkts -= pkts(s);
		sb->head++;
		sb->n--;
	}
	if (!sb->n)
		sb->head = 0;
}

/* An edge of a SACK block inside a record moves to a segment boundary of
 * that record, counted from its start: up for the block's start (to the
 * record's end at most), down for its end. */
static tcp_seq segment_edge(const struct tcp_sb *sb, tcp_seq seq, uint32_t mss, bool up)
{
	uint32_t i = tcp_sb_find(sb, seq), off, len;
	const struct tcp_txseg *s;

	if (i == sb->n || mss == 0)
		return seq;
	s = tcp_sb_at(sb, i);
	off = seq - s->start;
	len = tcp_txseg_len(s);
	if (off == 0)
		return seq;
	off = up ? (off + mss - 1) / mss * mss : off / mss * mss;
	return off >= len ? s->end : s->start + off;
}

void tcp_sb_sack(struct tcp_sb *sb, tcp_seq start, tcp_seq end, uint32_t mss,
		 void (*each)(void *ctx, const struct tcp_txseg *s), void *ctx, struct tcp_sb_ack *r)
{
	uint32_t i;

	if (!sb->n || !seq_lt(start, end))
		return;
	/* A block marks whole segments only, as Linux's
	 * tcp_match_skb_to_sack cuts a TSO frame at MSS multiples and marks
	 * nothing of a segment it covers in part: a receiver that has a part
	 * of a segment has not delivered it (RACK must not take it for a
	 * segment that arrived, nor the pipe leave it out). */
	start = segment_edge(sb, start, mss, true);
	end = segment_edge(sb, end, mss, false);
	if (!seq_lt(start, end))
		return;
	tcp_sb_split(sb, start);
	tcp_sb_split(sb, end);
	i = tcp_sb_find(sb, start);
	if (i == sb->n && seq_lt(start, tcp_sb_at(sb, 0)->start))
		i = 0;
	for (; i < sb->n; i++) {
		struct tcp_txseg *s = tcp_sb_at(sb, i);

		if (!seq_leq(s->end, end))
			break;
		if (seq_lt(s->start, start) || (s->flags & TCP_TX_SACKED))
			continue;       /* partly outside (no memory for the cut), or known */
		r->sacked += tcp_txseg_len(s);
		r->sacked_segs += pcount(tcp_txseg_len(s), mss);
		if (each)
			each(ctx, s);
		tcp_sb_set_flags(sb, i, s->flags | TCP_TX_SACKED);
	}
}

void tcp_sb_clear_sacked(struct tcp_sb *sb)
{
	for (uint32_t i = 0; i < sb->n; i++)
		tcp_sb_set_flags(sb, i, tcp_sb_at(sb, i)->flags & TCP_TX_EVER_RETRANS);
}

void tcp_sb_unmark_lost(struct tcp_sb *sb)
{
	for (uint32_t i = 0; i < sb->n; i++)
		if (tcp_sb_at(sb, i)->flags & TCP_TX_LOST)
			tcp_sb_set_flags(sb, i, tcp_sb_at(sb, i)->flags & (uint8_t)~TCP_TX_LOST);
}

uint32_t tcp_sb_next_lost(const struct tcp_sb *sb, uint32_t from)
{
	if (!sb->to_resend)
		return sb->n;
	for (uint32_t i = from; i < sb->n; i++) {
		uint8_t f = tcp_sb_at(sb, i)->flags;

		if ((f & TCP_TX_LOST) && !(f & TCP_TX_RETRANS))
			return i;
	}
	return sb->n;
}
