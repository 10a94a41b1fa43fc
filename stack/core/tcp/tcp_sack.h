/*
 * The sender's scoreboard (RFC 6675 §3, RFC 8985 §5.2): one record per
 * transmission still unacknowledged, in sequence order, from SND.UNA to
 * SND.MAX, with its latest transmission time and what is known of it
 * (SACKed, deemed lost, retransmitted). RACK reads the times, the sender's
 * output the marks, and the pipe (RFC 6675's estimate of the data in
 * flight) comes from counters kept in step with the marks.
 */
#ifndef PSTACK_TCP_SACK_H
#define PSTACK_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/core/tcp/tcp_seq.h"

enum {
	TCP_TX_SACKED = 0x01,           /* selectively acknowledged */
	TCP_TX_LOST = 0x02,             /* deemed lost: to be resent */
	TCP_TX_RETRANS = 0x04,          /* a retransmission of it is in flight */
	TCP_TX_EVER_RETRANS = 0x08,     /* sent more than once (RFC 8985 Segment.retransmitted) */
	TCP_TX_APP_LIMITED = 0x10,      /* first sent while the program limited the sending
					 * (Linux's tx.is_app_limited, tcp_rate.c) */
	TCP_TX_PSH = 0x20,              /* its last byte first went with PSH (Linux's skb
					 * tcp_flags: a retransmission carries it again) */
};

/* [start, end) in sequence space (a FIN counts one), sent last at xmit_at (us). */
struct tcp_txseg {
	tcp_seq start, end;
	uint64_t xmit_at;
	uint8_t flags;
	uint16_t mss;           /* the payload per segment it went with: its packets (Linux's tcp_skb_pcount) */
};

struct tcp_sb {
	struct tcp_txseg *seg;          /* seg[head .. head + n), sorted by start, never overlapping */
	uint32_t head, n, cap;
	/* Kept in step with the marks of the records (bytes): */
	uint32_t sacked;                /* SACKed */
	uint32_t lost;                  /* deemed lost and not SACKed (retransmitted or not) */
	uint32_t retrans;               /* retransmitted, not SACKed, not deemed lost again */
	uint32_t to_resend;             /* deemed lost and not resent yet */
	uint32_t out;                   /* every byte recorded */
	/* ... and the same in packets, each record's segments of its mss
	 * (Linux's packets_out, sacked_out, lost_out, retrans_out): */
	uint32_t out_pkts, sacked_pkts, lost_pkts, retrans_pkts;
	tcp_seq high_sacked;            /* end of the highest SACKed record (valid when sacked) */
	uint64_t last_xmit;             /* the latest send time recorded: times never go back */
};

struct tcp_sb_ack {                     /* what one ACK did to the scoreboard */
	uint32_t acked, sacked;         /* bytes newly acknowledged, newly SACKed (not before) */
	/* ... and the segments of mss bytes they make, as Linux counts them
	 * (tcp_skb_pcount: a TSO frame's each; a frame acknowledged in part
	 * counts what its acknowledged part took off its count, tcp_tso_acked,
	 * so a segment of one packet counts when all of it is acknowledged). */
	uint32_t acked_segs, sacked_segs;
};

static inline uint32_t tcp_txseg_len(const struct tcp_txseg *s)
{
	return s->end - s->start;
}

static inline struct tcp_txseg *tcp_sb_at(const struct tcp_sb *sb, uint32_t i)
{
	return &sb->seg[sb->head + i];
}

/* RFC 6675 §4 pipe: what is in the network, by the marks (Linux's
 * packets_in_flight, in bytes): sent, not SACKed, not lost unless resent. */
static inline uint32_t tcp_sb_in_flight(const struct tcp_sb *sb)
{
	uint32_t gone = sb->sacked + sb->lost;

	return sb->out > gone ? sb->out - gone + sb->retrans : sb->retrans;
}

/* The same in packets, Linux's tcp_packets_in_flight: packets out, less
 * those SACKed and those lost, plus those resent. */
static inline uint32_t tcp_sb_in_flight_pkts(const struct tcp_sb *sb)
{
	uint32_t gone = sb->sacked_pkts + sb->lost_pkts;

	return sb->out_pkts > gone ? sb->out_pkts - gone + sb->retrans_pkts : sb->retrans_pkts;
}

void tcp_sb_free(struct tcp_sb *sb);
/* [start, end) went out at now: records the new part, and marks the part
 * already recorded as retransmitted (snd_max: the end of what was sent
 * before); as sent more than once only, for a loss probe (probe). mss: the
 * payload per segment of the new part (its packets). */
void tcp_sb_sent(struct tcp_sb *sb, tcp_seq start, tcp_seq end, tcp_seq snd_max, uint64_t now, uint8_t flags,
		 bool probe, uint32_t mss);
/* Index of the record holding seq, or sb->n. */
uint32_t tcp_sb_find(const struct tcp_sb *sb, tcp_seq seq);
/* Cuts the record holding seq so that a record starts at seq; false when
 * out of memory (the record stays whole). */
bool tcp_sb_split(struct tcp_sb *sb, tcp_seq seq);
/* Sets the marks of record i, keeping the counters. */
void tcp_sb_set_flags(struct tcp_sb *sb, uint32_t i, uint8_t flags);
/* Everything below ack is acknowledged: the records leave (calls each(ctx,
 * record) first for those not SACKed before, the newly delivered ones);
 * segments counted in mss bytes. */
void tcp_sb_ack(struct tcp_sb *sb, tcp_seq ack, uint32_t mss, void (*each)(void *ctx, const struct tcp_txseg *s),
		void *ctx, struct tcp_sb_ack *r);
/* [start, end) is SACKed: marks the records inside it, whole segments of
 * mss bytes from a record's start (and its short tail) only (each(ctx,
 * record) for the newly SACKed). */
void tcp_sb_sack(struct tcp_sb *sb, tcp_seq start, tcp_seq end, uint32_t mss,
		 void (*each)(void *ctx, const struct tcp_txseg *s), void *ctx, struct tcp_sb_ack *r);
/* Every mark but EVER_RETRANS off (a reneging receiver, RFC 2018 §8). */
void tcp_sb_clear_sacked(struct tcp_sb *sb);
/* The records marked lost become in flight again (an undone recovery). */
void tcp_sb_unmark_lost(struct tcp_sb *sb);
/* The first record at or after index from that is lost and not yet resent, or sb->n. */
uint32_t tcp_sb_next_lost(const struct tcp_sb *sb, uint32_t from);

#endif
