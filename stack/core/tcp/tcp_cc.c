/*
 * Congestion control: cwnd and ssthresh only. Read first:
 *   RFC 5681 (TCP congestion control), RFC 6582 (NewReno), RFC 6928 (IW10),
 *   RFC 3465 (appropriate byte counting), RFC 9438 (CUBIC), RFC 6937 (PRR).
 *
 * cc->cwnd (bytes) is authoritative: the engine may write it (for example to
 * inflate it during fast recovery), and CUBIC's fractional cwnd_seg is
 * resynchronised from it whenever the two disagree by a whole byte.
 */
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_seq.h"

#include <stdbool.h>

#define CC_IW_SEGS        10u          /* RFC 6928, as Linux */
#define CC_DEFAULT_MSS    536u         /* RFC 9293 §3.7.1 */
/* A ceiling well above any usable window (2^30 with window scaling), below
 * half the sequence space, so cwnd arithmetic in the engine cannot wrap. */
#define CC_CWND_MAX       0x7fffffffu

/* RFC 9438 §4.1, §4.3 */
#define CUBIC_C           0.4
#define CUBIC_BETA        0.7
#define CUBIC_ALPHA       (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

static uint32_t clamp_cwnd(const struct tcp_cc *cc, uint64_t v)
{
	if (v < cc->mss)
		return cc->mss;
	if (v > CC_CWND_MAX)
		return CC_CWND_MAX;
	return (uint32_t)v;
}

static uint32_t iw(const struct tcp_cc *cc)
{
	return clamp_cwnd(cc, (uint64_t)CC_IW_SEGS * cc->mss);
}

/* Cube root for x >= 0 without libm: start from a power of two at or above
 * the root, then Newton's method, which descends monotonically from there. */
static double cc_cbrt(double x)
{
	double g = 1.0, next;

	if (!(x > 0.0))
		return 0.0;
	while (g * g * g < x && g < 1e30)
		g *= 2.0;
	for (int i = 0; i < 200; i++) {
		next = (2.0 * g + x / (g * g)) / 3.0;
		if (!(next < g))
			break;
		g = next;
	}
	return g;
}

static void cubic_reset(struct tcp_cc *cc)
{
	cc->epoch_start_us = 0;
	cc->w_max = 0.0;
	cc->w_last_max = 0.0;
	cc->k = 0.0;
	cc->w_est = 0.0;
	cc->cwnd_seg = (double)cc->cwnd / cc->mss;
}

void tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss)
{
	*cc = (struct tcp_cc){ 0 };
	cc->algo = algo;
	cc->mss = mss ? mss : CC_DEFAULT_MSS;
	cc->cwnd = iw(cc);
	cc->ssthresh = UINT32_MAX;
	cubic_reset(cc);
}

static uint32_t scale(uint32_t v, uint32_t from, uint32_t to)
{
	uint64_t r = (uint64_t)v * to / from;

	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* Windows keep their size in segments across an MSS change, as Linux keeps
 * cwnd in packets: the IW set before the handshake becomes 10 real segments. */
void tcp_cc_set_mss(struct tcp_cc *cc, uint32_t mss)
{
	uint32_t old = cc->mss ? cc->mss : mss;

	if (mss == 0 || mss == cc->mss)
		return;
	cc->mss = mss;
	cc->cwnd = clamp_cwnd(cc, (uint64_t)cc->cwnd * mss / old);
	if (cc->ssthresh != UINT32_MAX)
		cc->ssthresh = scale(cc->ssthresh, old, mss);
	cc->bytes_acked = scale(cc->bytes_acked, old, mss);
	cc->cwnd_seg = (double)cc->cwnd / cc->mss;
}

static bool in_slow_start(const struct tcp_cc *cc)
{
	return cc->cwnd < cc->ssthresh;
}

/* RFC 5681 §3.1 slow start as Linux has it (tcp_slow_start): cwnd grows by
 * every byte an ACK covers. Deviation from RFC 3465's limit L = 2*SMSS per
 * ACK: Linux has none, so that a receiver that ACKs every fourth segment
 * (or a stretch ACK after a GRO batch) doubles cwnd per round trip too.
 * Never above ssthresh; returns the bytes left over for congestion
 * avoidance. */
static uint32_t slow_start(struct tcp_cc *cc, uint32_t acked)
{
	uint64_t inc = acked;
	uint64_t room = (uint64_t)cc->ssthresh - cc->cwnd;

	if (inc > room)
		inc = room;
	cc->cwnd = clamp_cwnd(cc, (uint64_t)cc->cwnd + inc);
	return acked > inc ? acked - (uint32_t)inc : 0;
}

/* RFC 5681 §3.1 congestion avoidance with appropriate byte counting: one
 * SMSS per cwnd of acknowledged bytes. */
static void reno_ca(struct tcp_cc *cc, uint32_t acked)
{
	uint64_t b = (uint64_t)cc->bytes_acked + acked;

	if (b >= cc->cwnd) {
		b -= cc->cwnd;
		cc->cwnd = clamp_cwnd(cc, (uint64_t)cc->cwnd + cc->mss);
		if (b >= cc->cwnd)
			b = 0; /* a stretch ACK larger than a window earns one SMSS */
	}
	cc->bytes_acked = (uint32_t)b;
}

/* W_cubic(t) of RFC 9438 §4.2, in segments. */
static double w_cubic(const struct tcp_cc *cc, double t)
{
	double d = t - cc->k;

	return CUBIC_C * d * d * d + cc->w_max;
}

/* RFC 9438 §4.2-§4.5: congestion avoidance for one ACK of `acked` bytes. */
static void cubic_ca(struct tcp_cc *cc, uint32_t acked, uint64_t now_us)
{
	double segs = (double)acked / cc->mss;
	double cwnd = cc->cwnd_seg, t, target, rtt, w;

	/* One ACK cannot cover more than a window: this bounds the per-ACK
	 * steps below to W_est + 1 and to the target. */
	if (segs > cwnd)
		segs = cwnd;
	if (cc->epoch_start_us == 0) {
		/* §4.2: a new congestion-avoidance stage. K from the distance to
		 * W_max; above W_max (or with none, or after an RTO, §4.8), the
		 * curve starts here with K = 0. */
		cc->epoch_start_us = now_us ? now_us : 1;
		if (cc->w_max > cwnd) {
			cc->k = cc_cbrt((cc->w_max - cwnd) / CUBIC_C);
		} else {
			cc->k = 0.0;
			cc->w_max = cwnd;
		}
		cc->w_est = cwnd; /* §4.3: W_est starts at cwnd_epoch */
	}
	t = now_us > cc->epoch_start_us ? (double)(now_us - cc->epoch_start_us) / 1e6 : 0.0;
	/* Deviation: §4.4 says the smoothed RTT; like Linux (delay_min) we
	 * use the minimum, which queueing does not inflate. */
	rtt = (double)cc->min_rtt_us / 1e6;

	/* §4.3 Reno-friendly estimate; alpha becomes 1 once W_est reaches the
	 * window before the last reduction. Deviation: W_max stands in for
	 * cwnd_prior, so after a fast-convergence reduction (§4.7) alpha
	 * becomes 1 a little earlier. */
	cc->w_est += (cc->w_est >= cc->w_max ? 1.0 : CUBIC_ALPHA) * segs / cwnd;

	w = w_cubic(cc, t);
	if (w < cc->w_est) {
		/* §4.3: Reno-friendly region. */
		if (cc->w_est > cwnd)
			cwnd = cc->w_est;
	} else {
		/* §4.4 concave / §4.5 convex: grow towards W_cubic(t + RTT),
		 * bounded to [cwnd, 1.5 * cwnd]. */
		target = w_cubic(cc, t + rtt);
		if (target < cwnd)
			target = cwnd;
		if (target > 1.5 * cwnd)
			target = 1.5 * cwnd;
		cwnd += (target - cwnd) / cwnd * segs;
	}
	if (cwnd * cc->mss > (double)CC_CWND_MAX)
		cwnd = (double)CC_CWND_MAX / cc->mss;
	cc->cwnd_seg = cwnd;
	cc->cwnd = clamp_cwnd(cc, (uint64_t)(cwnd * cc->mss));
}

/* Keeps the fractional CUBIC window in step with cc->cwnd when something
 * other than this module changed the latter. */
static void sync_seg(struct tcp_cc *cc)
{
	double d;

	if (cc->mss == 0)
		cc->mss = CC_DEFAULT_MSS;
	cc->cwnd = clamp_cwnd(cc, cc->cwnd);
	d = cc->cwnd_seg * cc->mss - (double)cc->cwnd;
	if (!(cc->cwnd_seg >= 1.0) || d >= 1.0 || d <= -1.0)
		cc->cwnd_seg = (double)cc->cwnd / cc->mss;
}

/* Growth only while the window was in use (RFC 7661's spirit, and Linux's
 * tcp_is_cwnd_limited): always when the flight filled cwnd in the round;
 * else in slow start while cwnd is below twice the most outstanding in the
 * round, in congestion avoidance while less than one SMSS of it was idle.
 * Deviation: outstanding counted in bytes, Linux's in packets. */
static bool cwnd_limited(const struct tcp_cc *cc, uint32_t flight)
{
	uint32_t most = flight > cc->max_out ? flight : cc->max_out;

	if (cc->cwnd_limited)
		return true;
	if (in_slow_start(cc))
		return cc->cwnd < 2ull * most;
	return (uint64_t)flight + cc->mss > cc->cwnd;
}

bool tcp_cc_window_used(const struct tcp_cc *cc)
{
	if (cc->cwnd_limited)
		return true;
	return in_slow_start(cc) && cc->cwnd < 2ull * cc->max_out;
}

void tcp_cc_on_sent(struct tcp_cc *cc, bool limited, uint32_t out, uint32_t snd_una, uint32_t snd_nxt)
{
	if (!seq_lt(snd_una, cc->usage_seq) || limited || (!cc->cwnd_limited && out > cc->max_out)) {
		cc->cwnd_limited = limited;
		cc->max_out = out;
		cc->usage_seq = snd_nxt;
	}
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t rtt_us, uint64_t now_us)
{
	sync_seg(cc);
	if (rtt_us && (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us))
		cc->min_rtt_us = rtt_us;
	if (acked == 0 || !cwnd_limited(cc, flight))
		return;
	if (in_slow_start(cc)) {
		acked = slow_start(cc, acked);
		cc->cwnd_seg = (double)cc->cwnd / cc->mss;
		if (acked == 0 || in_slow_start(cc))
			return;
	}
	if (cc->algo == TCP_CC_CUBIC)
		cubic_ca(cc, acked, now_us);
	else
		reno_ca(cc, acked);
}

/* HyStart's constants, Linux's (tcp_cubic.c) */
#define HS_LOW_WINDOW     16u          /* segments: no exit below this window */
#define HS_ACK_DELTA_US   2000u        /* ACKs this close belong to one train */
#define HS_MIN_SAMPLES    8u
#define HS_DELAY_MIN_US   4000u
#define HS_DELAY_MAX_US   16000u
#define HS_GSO_MAX        65536u       /* the cushion covers 4 TSO frames of this, at most 1 ms */

/* Linux's hystart_ack_delay(): the time four 64 KB TSO frames take at the
 * pacing rate Linux derives in slow start (twice cwnd per SRTT), at most
 * 1 ms: a short path's ACKs come in bursts of whole TSO frames. */
static uint32_t hs_ack_delay(const struct tcp_cc *cc, uint32_t srtt_us)
{
	uint64_t rate = (uint64_t)cc->cwnd * 2 * 1000000 / (srtt_us ? srtt_us : 1); /* bytes/s */
	uint64_t d;

	if (!rate)
		return 0;
	d = (uint64_t)HS_GSO_MAX * 4 * 1000000 / rate;
	return d > 1000 ? 1000 : (uint32_t)d;
}

enum tcp_cc_hystart tcp_cc_on_sample(struct tcp_cc *cc, uint32_t rtt_us, uint32_t srtt_us, uint32_t snd_una,
				     uint32_t snd_nxt, uint64_t now_us)
{
	uint32_t thresh;

	if (cc->algo != TCP_CC_CUBIC || !rtt_us)
		return TCP_CC_HS_NONE;
	/* Linux leaves out the samples of the second after a reduction. */
	if (cc->epoch_start_us && now_us - cc->epoch_start_us < 1000000)
		return TCP_CC_HS_NONE;
	if (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us)
		cc->min_rtt_us = rtt_us;
	/* Below the low window HyStart does not look at all, and its rounds
	 * do not advance either (Linux's cubictcp_acked calls hystart_update,
	 * which starts the rounds, only from hystart_low_window on): the
	 * first round is the one under way when cwnd reaches 16 segments,
	 * not one that started earlier at a smaller window. */
	if (cc->hs_found || !in_slow_start(cc) || cc->cwnd < HS_LOW_WINDOW * cc->mss)
		return TCP_CC_HS_NONE;
	if (!cc->hs_round_on || seq_gt(snd_una, cc->hs_end_seq)) {
		cc->hs_round_on = true;
		cc->hs_round_start_us = cc->hs_last_ack_us = now_us;
		cc->hs_end_seq = snd_nxt;
		cc->hs_curr_rtt_us = UINT32_MAX;
		cc->hs_samples = 0;
	}
	if (now_us - cc->hs_last_ack_us <= HS_ACK_DELTA_US) {
		cc->hs_last_ack_us = now_us;
		/* Halved: no pacing spreads the round's segments (Linux's
		 * SK_PACING_NONE without the fq qdisc). */
		thresh = (cc->min_rtt_us + hs_ack_delay(cc, srtt_us)) / 2;
		if (now_us - cc->hs_round_start_us > thresh) {
			cc->hs_found = true;
			cc->ssthresh = cc->cwnd;
			return TCP_CC_HS_TRAIN;
		}
	}
	if (rtt_us < cc->hs_curr_rtt_us)
		cc->hs_curr_rtt_us = rtt_us;
	if (cc->hs_samples < HS_MIN_SAMPLES) {
		cc->hs_samples++;
	} else {
		uint32_t d = cc->min_rtt_us / 8;

		d = d < HS_DELAY_MIN_US ? HS_DELAY_MIN_US : d > HS_DELAY_MAX_US ? HS_DELAY_MAX_US : d;
		if (cc->hs_curr_rtt_us > cc->min_rtt_us + d) {
			cc->hs_found = true;
			cc->ssthresh = cc->cwnd;
			return TCP_CC_HS_DELAY;
		}
	}
	return TCP_CC_HS_NONE;
}

/* RFC 5681 (4) for NewReno; RFC 9438 §4.6 (beta 0.7) with §4.7 fast
 * convergence for CUBIC. Both floor at 2 SMSS. */
static uint32_t loss_ssthresh(struct tcp_cc *cc, uint32_t flight)
{
	uint64_t s;

	if (cc->algo == TCP_CC_CUBIC) {
		double cwnd = cc->cwnd_seg;

		/* §4.7: a loss before regaining the previous W_max means a
		 * new flow is competing: release more bandwidth. */
		cc->w_last_max = cc->w_max;
		if (cwnd < cc->w_max)
			cc->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
		else
			cc->w_max = cwnd;
		cc->epoch_start_us = 0; /* §4.8: a new epoch after each reduction */
		s = (uint64_t)flight * 7 / 10; /* beta_cubic, exactly */
	} else {
		s = flight / 2;
	}
	if (s < 2ull * cc->mss)
		s = 2ull * cc->mss;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

void tcp_cc_on_loss(struct tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	sync_seg(cc);
	cc->ssthresh = loss_ssthresh(cc, flight);
	cc->cwnd = clamp_cwnd(cc, cc->ssthresh);
	cc->cwnd_seg = (double)cc->cwnd / cc->mss;
	cc->bytes_acked = 0;
}

void tcp_cc_on_recovery_exit(struct tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	/* Linux's tcp_end_cwnd_reduction: cwnd is ssthresh when the reduction
	 * ends, whatever is in flight (PRR brought it there meanwhile). Not RFC
	 * 6582's min(ssthresh, FlightSize + SMSS), which pstack had: after a
	 * recovery that ended with nothing in flight it sent two segments
	 * where Linux sends ssthresh's seven (tcp_fast_recovery_prr-ss-30pkt-lost1_4). */
	(void)now_us;
	(void)flight;
	sync_seg(cc);
	cc->cwnd = clamp_cwnd(cc, cc->ssthresh);
	cc->cwnd_seg = (double)cc->cwnd / cc->mss;
	cc->bytes_acked = 0;
}

void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	sync_seg(cc);
	/* RFC 5681 §3.1: when the timer fires again for a segment it already
	 * retransmitted, ssthresh is held. cwnd still at the loss window (no
	 * ACK of new data since the last timeout) is how that shows here. */
	if (cc->cwnd > cc->mss || cc->ssthresh == UINT32_MAX)
		cc->ssthresh = loss_ssthresh(cc, flight);
	if (cc->algo == TCP_CC_CUBIC) {
		/* §4.8: the first congestion-avoidance stage after a timeout
		 * starts its curve at that stage's cwnd with K = 0. */
		cc->w_max = 0.0;
		cc->k = 0.0;
		cc->epoch_start_us = 0;
		/* Linux (cubictcp_state, TCP_CA_Loss): HyStart looks again. */
		cc->hs_found = false;
		cc->hs_round_on = false;
	}
	/* RFC 5681 §3.1: the loss window is one segment. */
	cc->cwnd = cc->mss;
	cc->cwnd_seg = 1.0;
	cc->bytes_acked = 0;
}

void tcp_cc_on_idle(struct tcp_cc *cc, uint64_t idle_us, uint32_t rto_us, bool reducing)
{
	/*
	 * Linux's tcp_cwnd_restart (RFC 2861's decay rather than RFC 5681
	 * §4.1's drop to the restart window at once): cwnd halves for each
	 * RTO the sender was idle beyond the first, down to min(IW, cwnd) at
	 * the lowest; ssthresh keeps at least 3/4 of the old cwnd (Linux's
	 * tcp_current_ssthresh, unless a reduction is under way), so that
	 * slow start climbs back to near where the sender was.
	 */
	uint32_t segs, restart;
	int64_t left = (int64_t)idle_us;

	sync_seg(cc);
	segs = cc->cwnd / cc->mss;
	restart = iw(cc) / cc->mss;
	if (restart > segs)
		restart = segs;
	if (!reducing) {
		uint64_t floor = (uint64_t)((segs >> 1) + (segs >> 2)) * cc->mss;

		if (cc->ssthresh < floor)
			cc->ssthresh = (uint32_t)floor;
	}
	while (rto_us && (left -= rto_us) > 0 && segs > restart)
		segs >>= 1;
	if (segs < restart)
		segs = restart;
	cc->cwnd = clamp_cwnd(cc, (uint64_t)segs * cc->mss);
	cc->cwnd_seg = (double)cc->cwnd / cc->mss;
	cc->bytes_acked = 0;
	/* RFC 9438 §4.2's t counts time spent sending; start a new epoch
	 * rather than jump along the curve by the idle time. */
	cc->epoch_start_us = 0;
}

void tcp_prr_init(struct tcp_prr *p, uint32_t flight)
{
	p->recover_fs = flight;
	p->delivered = 0;
	p->out = 0;
}

uint32_t tcp_prr_sndcnt(struct tcp_prr *p, uint32_t ssthresh, uint32_t pipe, uint32_t delivered, uint32_t mss,
			bool una_advanced_no_loss)
{
	int64_t sndcnt;

	p->delivered += delivered;
	if (pipe > ssthresh) {
		/* Proportional Rate Reduction: ssthresh/RecoverFS of what was
		 * delivered, rounded up, less what was already sent. */
		uint64_t fs = p->recover_fs ? p->recover_fs : 1;

		sndcnt = (int64_t)(((uint64_t)p->delivered * ssthresh + fs - 1) / fs) - p->out;
	} else {
		/* Slow start reduction bound (PRR-SSRB): catch up towards
		 * ssthresh, at most what was delivered (or the rest of what
		 * PRR owes) plus one segment, like Linux only when SND.UNA
		 * advanced without a new loss. */
		int64_t limit = (int64_t)p->delivered - p->out;

		if (limit < (int64_t)delivered)
			limit = delivered;
		if (una_advanced_no_loss)
			limit += mss;
		sndcnt = (int64_t)ssthresh - pipe;
		if (sndcnt > limit)
			sndcnt = limit;
	}
	/* The fast retransmission goes out on entry whatever the numbers say
	 * (Linux: "force a fast retransmit upon entering fast recovery"). */
	if (!p->out && sndcnt < (int64_t)mss)
		sndcnt = mss;
	return sndcnt > 0 ? (uint32_t)sndcnt : 0;
}
