/*
 * Loss detection and recovery: RACK-TLP (RFC 8985) on SACK connections by
 * default, RFC 6675's DupThresh when PSTACK_TCP_RECOVERY=0, NewReno (RFC
 * 6582) for peers without SACK; D-SACK (RFC 2883) to see spurious
 * retransmissions (RFC 3708); entering and leaving recovery, with PRR (RFC
 * 6937) for what is sent in it; no RFC 6675 rescue retransmission (nor
 * in Linux).
 */
#ifndef PSTACK_TCP_RACK_H
#define PSTACK_TCP_RACK_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/core/tcp/tcp_seq.h"

struct tcp_conn;
struct tcp_seg;

/* RFC 8985 §5.3, the per-connection RACK variables. */
struct tcp_rack {
	uint64_t xmit_ts;               /* RACK.xmit_ts (0: nothing delivered yet) */
	tcp_seq end_seq;                /* RACK.end_seq */
	uint32_t rtt;                   /* RACK.rtt, us */
	tcp_seq fack;                   /* RACK.fack (valid once xmit_ts is set) */
	bool reord;                     /* RACK.reord */
	bool advanced;                  /* RACK.xmit_ts moved since the last detection */
	uint8_t reo_wnd_mult;           /* RACK.reo_wnd_mult (0 counts as 1) */
	uint8_t reo_wnd_persist;        /* RACK.reo_wnd_persist */
	bool dsack_round_on;            /* RACK.dsack_round is not None */
	tcp_seq dsack_round;            /* RACK.dsack_round */
};

/* What one ACK brought (step_ack fills it as it goes). */
struct tcp_ack_info {
	uint32_t acked;                 /* bytes cumulatively acknowledged, not SACKed before */
	uint32_t sacked;                /* bytes newly SACKed */
	/* ... in segments as Linux counts its packets (tcp_sb_ack): what
	 * congestion control grows cwnd by (Linux's acked_sacked, the
	 * packets newly delivered). */
	uint32_t acked_segs, sacked_segs;
	uint32_t lost_before;           /* the scoreboard's lost bytes before the ACK */
	uint32_t tsecr;                 /* the ACK's TSecr (0: none) */
	bool una_advanced;
	bool dupack;                    /* a duplicate ACK (RFC 5681 §2) */
	bool dsack;                     /* a valid D-SACK (RFC 2883 §4) */
	bool dsack_tlp;                 /* ... for the tail loss probe (RFC 8985 §7.4) */
	uint32_t dsack_segs;            /* the segments it reports twice (Linux's sack_delivered) */
	bool ece;                       /* an ECN echo on an ECN connection (RFC 3168 §6.1.2) */
	bool reneging;                  /* SND.UNA reached a segment SACKed before: the timer is set */
	/* When the segments it delivered were sent (Linux's first_ackt,
	 * last_ackt, first_sackt, last_sackt), for the RTT: the oldest and the
	 * newest of those never resent; 0: none. */
	uint64_t first_ackt, last_ackt;
	uint64_t first_sackt, last_sackt;
	bool retrans_acked;             /* a resent segment was acknowledged (Karn) */
	/* In the Loss state, data sent once and below the state's recovery
	 * point was (S)ACKed (Linux's FLAG_ORIG_SACK_ACKED): F-RTO's sign
	 * that the timeout was spurious (RFC 5682 §3.1 step 3.b). */
	bool orig_acked;
	/* cwnd before this ACK grew it (0: it did not): a reduction the ACK
	 * starts takes ssthresh from that, as Linux decides on the reduction
	 * (tcp_fastretrans_alert) before the growth (tcp_cong_control), which
	 * a reduction replaces. */
	uint32_t cwnd_before;
	uint32_t flight_before;         /* SND.MAX - SND.UNA before a cumulative ACK moved SND.UNA */
	/* RACK.fack before this ACK's SACK blocks were read (Linux's
	 * prior_fack), when there was one: what the cumulatively
	 * acknowledged segments are compared with for reordering. */
	bool prior_fack_set;
	tcp_seq prior_fack;
};

/* Reads g's SACK blocks: a D-SACK first (RFC 2883 §4), then marks the
 * scoreboard; each newly SACKed segment is a delivery for RACK. */
void tcp_rack_sack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now);
/* The cumulative ACK g->ack: the segments below it leave the scoreboard. */
void tcp_rack_cum_ack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now);
/* After the ACK was processed: the probe's answer, undo, loss detection,
 * entering or leaving recovery, and PRR's window for the ACK. */
void tcp_recovery_on_ack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now);
/* Without SACK, the Loss state held at its recovery point (Linux's
 * tcp_is_non_sack_preventing_reopen): duplicate ACKs count for nothing. */
bool tcp_recovery_loss_held(const struct tcp_conn *c);
/* Whether a retransmission timeout starts a new congestion episode
 * (Linux's tcp_enter_loss): ssthresh comes down, and what an undo would
 * restore is noted; not inside a recovery or CWR state under way, nor on
 * a timeout that repeats with no progress since. */
bool tcp_recovery_rto_new_episode(const struct tcp_conn *c);
/* A timeout that starts a new episode, before its reduction: what an
 * undo restores (Linux's tcp_enter_loss). */
void tcp_recovery_rto_undo_init(struct tcp_conn *c);
/* The retransmission timer fired (RFC 8985 §6.3): what is deemed lost. */
void tcp_recovery_on_rto(struct tcp_conn *c, uint64_t now);
/* RACK's reordering timer fired (RFC 8985 §6.2 step 5). */
void tcp_rack_reo_timeout(struct tcp_conn *c, uint64_t now);
/* The MSS fell from old_mss (ICMP fragmentation needed): the segments in
 * flight that no longer fit are resent at the new size, in the Loss
 * state with cwnd as it was (Linux's tcp_simple_retransmit). */
void tcp_recovery_mss_fell(struct tcp_conn *c, uint32_t old_mss);
/* A SYN-ACK took the SYN but not its data [start, end), sent with the
 * SYN at sent_at (Linux's tcp_rcv_fastopen_synack): the data is lost, to
 * be resent by the retransmission path (the Loss state, counted in
 * tcpi_retrans and tcpi_total_retrans). */
void tcp_recovery_syn_data_lost(struct tcp_conn *c, tcp_seq start, tcp_seq end, uint64_t sent_at);
/* Data [seq, end) went out now (called for every transmission of data or FIN),
 * in segments of gso bytes (0: one segment). */
void tcp_recovery_sent(struct tcp_conn *c, tcp_seq seq, tcp_seq end, bool psh, uint32_t gso, uint64_t now);
/* The reordering window (RFC 8985 §6.2 step 4), us. */
uint32_t tcp_rack_reo_wnd(const struct tcp_conn *c);
/* What is in flight (RFC 6675 pipe), bytes; without SACK the duplicate
 * ACKs count as segments that left (RFC 3042, RFC 6582). */
uint32_t tcp_pipe(const struct tcp_conn *c);
/* The same in packets (Linux's tcp_packets_in_flight): what the congestion
 * window is compared with outside a reduction. */
uint32_t tcp_pipe_pkts(const struct tcp_conn *c);

#endif
