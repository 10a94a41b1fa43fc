/*
 * Congestion control behind a small interface: NewReno (RFC 5681, RFC 6582)
 * and CUBIC (RFC 9438, the default as on Linux, in the integer arithmetic
 * of Linux's tcp_cubic.c). The engine owns loss
 * detection and recovery (fast retransmit, SACK recovery, RTO); this module
 * only decides cwnd and ssthresh. All windows in bytes.
 */
#ifndef PSTACK_TCP_CC_H
#define PSTACK_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

enum tcp_cc_algo { TCP_CC_CUBIC = 0, TCP_CC_NEWRENO = 1 };

struct tcp_cc {
	enum tcp_cc_algo algo;
	uint32_t mss;
	uint32_t cwnd;
	uint32_t ssthresh;
	/* CUBIC as Linux's tcp_cubic.c computes it (RFC 9438's curve, in
	 * integers): windows in segments, times in ms (Linux's jiffies at
	 * HZ 1000), K in 1/1024 s. */
	uint32_t cwnd_cnt;           /* segments acknowledged towards the next increment (snd_cwnd_cnt),
				      * NewReno's as CUBIC's */
	uint32_t cnt;                /* segments to acknowledge per increment of one */
	uint32_t last_max_cwnd;      /* W_max, with fast convergence; 0: no loss yet */
	uint32_t last_cwnd;          /* cwnd at the last update of cnt */
	uint32_t last_time_ms;       /* ... and its time */
	uint32_t origin;             /* the curve's plateau (bic_origin_point) */
	uint32_t k;                  /* time from the epoch's start to the plateau, 1/1024 s */
	uint32_t epoch_start_ms;     /* 0: no epoch */
	uint32_t ack_cnt;            /* segments acknowledged in the epoch, for the Reno estimate */
	uint32_t tcp_cwnd;           /* Reno-friendly estimate (W_est) */
	uint32_t min_rtt_us;         /* delay_min: also HyStart's minimum */
	/* HyStart (CUBIC's slow start exit, as Linux's tcp_cubic.c) */
	bool hs_found;               /* the exit was found: no more until an RTO */
	bool hs_round_on;            /* a round is being timed */
	uint32_t hs_end_seq;         /* the round ends once SND.UNA passes this (SND.NXT at its start) */
	uint64_t hs_round_start_us;
	uint64_t hs_last_ack_us;     /* the last ACK of the current train */
	uint32_t hs_curr_rtt_us;     /* the least RTT of the round's first samples */
	uint8_t hs_samples;
	/* How much of cwnd the sender used (Linux's tcp_cwnd_validate, kept
	 * per round: the round ends when SND.UNA reaches usage_seq). */
	bool cwnd_limited;           /* the flight filled cwnd in this round */
	uint32_t max_out;            /* else the most outstanding in it (bytes) */
	uint32_t usage_seq;
	/* RFC 2861's validation as Linux's tcp_cwnd_application_limited:
	 * the most outstanding (bytes) since the window was last in use
	 * (snd_cwnd_used), and when it last was, or cwnd was last set or
	 * grown (snd_cwnd_stamp; 0: not yet). */
	uint32_t used_out;
	uint64_t validated_us;
};

/* What tcp_cc_on_sample found (Linux's TcpExtTCPHystart*Detect). */
enum tcp_cc_hystart { TCP_CC_HS_NONE = 0, TCP_CC_HS_TRAIN, TCP_CC_HS_DELAY };

/* Initial window per RFC 6928 / Linux (10 segments), ssthresh "infinite". */
void tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss);
void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss);
/* New data acknowledged outside recovery: slow start or congestion avoidance.
 * acked: segments newly delivered (acknowledged or SACKed, not SACKed
 * before; Linux's acked_sacked, a TSO frame's segments each); flight: bytes in flight before this ACK (cwnd
 * only grows when the sender was using it: what tcp_cc_on_sent saw of the
 * round, or this flight); rtt_us: latest RTT sample or 0. */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t rtt_us, uint64_t now_us);
/*
 * An ACK that timed what it acknowledged (Linux's pkts_acked): rtt_us from
 * the newest segment it delivered, srtt_us the smoothed RTT, snd_una and
 * snd_nxt after the ACK. CUBIC's HyStart (Ha and Rhee, "Taming the
 * Elephants", as Linux runs it by default, hystart_detect 3) ends slow
 * start, ssthresh = cwnd, when from 16 segments on either the ACKs of a
 * round trip keep coming close together (2 ms apart at most) for longer
 * than half the minimum RTT plus a cushion for TSO (an "ACK train": the
 * window already covers the path), or the least RTT of a round's first 8
 * samples is above the minimum by an eighth of it, clamped to 4..16 ms
 * (the queue grows). Returns which one fired, if one did.
 */
enum tcp_cc_hystart tcp_cc_on_sample(struct tcp_cc *cc, uint32_t rtt_us, uint32_t srtt_us, uint32_t snd_una,
				     uint32_t snd_nxt, uint64_t now_us);
/* Loss detected by duplicate ACKs or SACK, or an ECN echo: a reduction.
 * ssthresh from cwnd as Linux's (NewReno: max(cwnd/2, 2 segments), its
 * tcp_reno_ssthresh; CUBIC: cwnd * 717/1024, at least 2, its
 * cubictcp_recalc_ssthresh) and cwnd = ssthresh (the engine's PRR then
 * sets cwnd on each ACK of the recovery). */
void tcp_cc_on_loss(struct tcp_cc *cc, uint64_t now_us);
/* Fast recovery ends (RFC 6582 §3.2 step 3): cwnd = min(ssthresh, flight + MSS). */
void tcp_cc_on_recovery_exit(struct tcp_cc *cc, uint32_t flight, uint64_t now_us);
/* Retransmission timeout (Linux's tcp_enter_loss): cwnd = 1 MSS, CUBIC
 * starts over; when reduce (the timeout starts a new congestion episode,
 * the engine's call), ssthresh from cwnd as for a loss, else it is held. */
void tcp_cc_on_rto(struct tcp_cc *cc, bool reduce, uint64_t now_us);
/*
 * After a transmission pass that sent (or was held back by cwnd), Linux's
 * tcp_cwnd_validate: limited, the flight filled cwnd; out, SND.MAX -
 * SND.UNA. A round (from SND.NXT now until SND.UNA reaches it) keeps that
 * cwnd was full in it, else the most that was outstanding. cwnd grows in
 * slow start while below twice that most (Linux's tcp_is_cwnd_limited), so
 * that an application-limited sender ends the round with twice its flight.
 *
 * A window not in use for an RTO (rto_us) since it last was, or since cwnd
 * last grew or was set, is moderated (RFC 2861's slow part, Linux's
 * tcp_cwnd_application_limited) when may_moderate: the sender is in the
 * Open state, not held by a full send buffer, and the application has not
 * closed it. cwnd comes halfway down to the most that was outstanding in
 * that time (the initial window at the least), ssthresh keeps 3/4 of the
 * old cwnd.
 */
void tcp_cc_on_sent(struct tcp_cc *cc, bool limited, uint32_t out, uint32_t snd_una, uint32_t snd_nxt,
		    uint64_t now_us, uint32_t rto_us, bool may_moderate);
/* cwnd was set by the engine (the end of the CWR state, an undo): it
 * counts as validated now (Linux's snd_cwnd_stamp). */
void tcp_cc_validated(struct tcp_cc *cc, uint64_t now_us);
/* Whether the round used the window (Linux's tcp_is_cwnd_limited, on what
 * tcp_cc_on_sent recorded): cwnd was full in it, or in slow start cwnd is
 * below twice the most outstanding. */
bool tcp_cc_window_used(const struct tcp_cc *cc);
/* Restart after an idle period (idle_us) longer than the RTO (rto_us), as
 * Linux's tcp_cwnd_restart: cwnd halved per RTO idle, to min(IW, cwnd) at
 * the lowest. reducing: in a reduction (CWR or recovery), ssthresh is kept. */
void tcp_cc_on_idle(struct tcp_cc *cc, uint64_t idle_us, uint32_t rto_us, bool reducing, uint64_t now_us);
/* Data goes out with nothing in flight, idle_us after the last send
 * (Linux's CA_EVENT_TX_START): CUBIC's epoch moves on by the idle time. */
void tcp_cc_on_tx_start(struct tcp_cc *cc, uint64_t idle_us, uint64_t now_us);

/*
 * Proportional Rate Reduction (RFC 6937): how much may be sent during a
 * recovery, so that the window comes down to ssthresh smoothly (spread over
 * the ACKs of one round trip) rather than all at once or not at all. In
 * bytes; the engine sets cwnd = pipe + sndcnt on each ACK in recovery, as
 * Linux's tcp_cwnd_reduction does.
 */
struct tcp_prr {
	uint32_t recover_fs;    /* RecoverFS: as Linux, cwnd when the reduction started (prior_cwnd) */
	uint32_t delivered;     /* prr_delivered: bytes delivered to the receiver since */
	uint32_t out;           /* prr_out: bytes sent since */
};

/* RFC 6937 §3, on entering recovery. RecoverFS is the window before the
 * reduction, as Linux's tcp_init_cwnd_reduction takes it (prior_cwnd),
 * not the flight: ssthresh comes from cwnd, and the proportion
 * ssthresh/RecoverFS stays beta. */
void tcp_prr_init(struct tcp_prr *p, uint32_t prior_cwnd);
/* Data sent (or resent) during recovery. */
static inline void tcp_prr_sent(struct tcp_prr *p, uint32_t bytes)
{
	p->out += bytes;
}
/* RFC 6937 §3, on an ACK during recovery that delivered `delivered` bytes
 * (acknowledged or newly SACKed): what may be sent now, in bytes, with pipe
 * the data in flight after it. una_advanced_no_loss: the ACK moved SND.UNA
 * and showed no new loss (Linux's extra segment of slow start then). */
uint32_t tcp_prr_sndcnt(struct tcp_prr *p, uint32_t ssthresh, uint32_t pipe, uint32_t delivered, uint32_t mss,
			bool una_advanced_no_loss);

#endif
