/*
 * Congestion control: cwnd and ssthresh only. Read first:
 *   RFC 5681 (TCP congestion control), RFC 6582 (NewReno), RFC 6928 (IW10),
 *   RFC 3465 (appropriate byte counting), RFC 9438 (CUBIC), RFC 6937 (PRR).
 *
 * cc->cwnd (bytes) is authoritative: the engine may write it (PRR during
 * recovery, an undo). Growth counts segments acknowledged, as Linux counts
 * packets (its acked_sacked), not bytes: slow start adds one MSS per
 * segment, congestion avoidance one MSS per window of segments (Reno) or
 * per CUBIC's cnt of them, CUBIC on cwnd / MSS as Linux's tcp_cubic.c.
 */
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/tcp/tcp_seq.h"

#include <stdbool.h>

#define CC_IW_SEGS        10u          /* RFC 6928, as Linux */
#define CC_DEFAULT_MSS    536u         /* RFC 9293 §3.7.1 */
/* A ceiling well above any usable window (2^30 with window scaling), below
 * half the sequence space, so cwnd arithmetic in the engine cannot wrap. */
#define CC_CWND_MAX       0x7fffffffu

/*
 * CUBIC's constants as Linux has them (tcp_cubic.c): beta 717/1024 (about
 * 0.7, RFC 9438 §4.6); C = 0.4 as bic_scale 41/1024 times 10, the curve's
 * time unit 1/1024 s (2^10); the Reno-friendly estimate grows by one per
 * 8 * (1 + beta) / 3 / (1 - beta) / 8 windows of ACKs, alpha about 0.53
 * (§4.3); K for a distance d below W_max is cbrt(d * cube_factor), where
 * cube_factor is 2^40 / (C * 1024) (K in 1/1024 s from a distance in
 * segments).
 */
#define CUBIC_BETA        717u
#define CUBIC_BETA_SCALE  1024u
#define CUBIC_HZ_SHIFT    10
#define CUBIC_BIC_SCALE   41u
#define CUBIC_RTT_SCALE   (CUBIC_BIC_SCALE * 10u)
#define CUBIC_FRIENDLY    (8u * (CUBIC_BETA_SCALE + CUBIC_BETA) / 3u / (CUBIC_BETA_SCALE - CUBIC_BETA))
#define CUBIC_CUBE_FACTOR ((1ull << (10 + 3 * CUBIC_HZ_SHIFT)) / (CUBIC_BIC_SCALE * 10u))
#define CUBIC_HZ          1000u        /* the clock in ms: Linux's jiffies at HZ 1000 */

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

static uint32_t cwnd_segs(const struct tcp_cc *cc)
{
	uint32_t n = cc->cwnd / cc->mss;

	return n ? n : 1;
}

/* Linux's clock for CUBIC: ms, never 0 (0 means "no epoch"). */
static uint32_t cubic_ms(uint64_t now_us)
{
	uint32_t ms = (uint32_t)(now_us / 1000);

	return ms ? ms : 1;
}

/*
 * The cube root as Linux's cubic_root() takes it, within about 0.2%: an
 * estimate from the top six bits of a (a table of cbrt(i << 18) - 1 for i
 * in 0..63, tuned by hand in Linux), then one Newton-Raphson step
 * (x' = (2x + a/x^2) / 3, with x(x - 1) for x^2 and * 341 / 1024 for / 3).
 * Kept exactly, since K decides where the window goes.
 */
static uint32_t cubic_root(uint64_t a)
{
	static const uint8_t est[64] = {
		0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156,
		157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199,
		200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229,
		231, 232, 234, 236, 237, 239, 240, 242, 244, 245, 246, 248, 250, 251, 252, 254,
	};
	uint32_t bits = a ? 64u - (uint32_t)__builtin_clzll(a) : 0, x, top;

	if (bits < 7)
		return ((uint32_t)est[a] + 35) >> 6;
	bits = ((bits * 84) >> 8) - 1;
	top = (uint32_t)(a >> (bits * 3));
	x = ((uint32_t)(((uint32_t)est[top] + 10) << bits)) >> 6;
	x = 2 * x + (uint32_t)(a / ((uint64_t)x * (uint64_t)(x - 1)));
	return (uint32_t)(((uint64_t)x * 341) >> 10);
}

/* Linux's bictcp_reset: everything CUBIC learnt, its delay minimum too. */
static void cubic_reset(struct tcp_cc *cc)
{
	cc->cnt = 0;
	cc->last_max_cwnd = 0;
	cc->last_cwnd = 0;
	cc->last_time_ms = 0;
	cc->origin = 0;
	cc->k = 0;
	cc->min_rtt_us = 0;
	cc->epoch_start_ms = 0;
	cc->ack_cnt = 0;
	cc->tcp_cwnd = 0;
}

void tcp_cc_init(struct tcp_cc *cc, enum tcp_cc_algo algo, uint32_t mss)
{
	*cc = (struct tcp_cc){ 0 };
	cc->algo = algo;
	cc->mss = mss ? mss : CC_DEFAULT_MSS;
	cc->cwnd = iw(cc);
	cc->ssthresh = UINT32_MAX;
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
}

static bool in_slow_start(const struct tcp_cc *cc)
{
	return cc->cwnd < cc->ssthresh;
}

/* RFC 5681 §3.1 slow start as Linux has it (tcp_slow_start): cwnd grows by
 * one SMSS per segment an ACK delivered. Deviation from RFC 3465's byte
 * counting: Linux counts packets, so that the ACK of a segment shorter
 * than SMSS (Nagle off, a resend cut by the peer's window) grows cwnd as
 * much as a full one's; and from its limit L = 2*SMSS per ACK: Linux has
 * none, so that a receiver that ACKs every fourth segment (or a stretch
 * ACK after a GRO batch) doubles cwnd per round trip too. Never above
 * ssthresh; returns the segments left over for congestion avoidance
 * (those the room up to ssthresh, rounded up to segments, did not take). */
static uint32_t slow_start(struct tcp_cc *cc, uint32_t segs)
{
	uint64_t inc = (uint64_t)segs * cc->mss;
	uint64_t room = (uint64_t)cc->ssthresh - cc->cwnd;
	uint64_t used;

	if (inc <= room) {
		cc->cwnd = clamp_cwnd(cc, (uint64_t)cc->cwnd + inc);
		return 0;
	}
	cc->cwnd = clamp_cwnd(cc, (uint64_t)cc->cwnd + room);
	used = (room + cc->mss - 1) / cc->mss;
	return segs - (uint32_t)used;
}

/* Linux's tcp_cong_avoid_ai: one segment more per w acknowledged (credit
 * earned at a larger w is spent first). */
static void cong_avoid_ai(struct tcp_cc *cc, uint32_t w, uint32_t acked)
{
	uint64_t cwnd = cc->cwnd, n;

	if (w == 0)
		w = 1;
	if (cc->cwnd_cnt >= w) {
		cc->cwnd_cnt = 0;
		cwnd += cc->mss;
	}
	n = (uint64_t)cc->cwnd_cnt + acked;
	if (n >= w) {
		uint64_t d = n / w;

		n -= d * w;
		cwnd += d * cc->mss;
	}
	cc->cwnd_cnt = (uint32_t)n;
	cc->cwnd = clamp_cwnd(cc, cwnd);
}

/* RFC 5681 §3.1 congestion avoidance as Linux's tcp_reno_cong_avoid: one
 * SMSS per window of segments acknowledged (a stretch ACK of several
 * windows earns as many). Deviation from RFC 3465's byte counting, as
 * for slow start. */
static void reno_ca(struct tcp_cc *cc, uint32_t segs)
{
	cong_avoid_ai(cc, cwnd_segs(cc), segs);
}

/*
 * Linux's bictcp_update: how many segments must be acknowledged for cwnd
 * (w segments) to grow by one, so that it follows the cubic curve one
 * minimum RTT ahead (RFC 9438 §4.4, §4.5; Linux counts the delay in t
 * rather than evaluating W(t + RTT)), or the Reno-friendly estimate when
 * that is ahead (§4.3). acked: segments this ACK acknowledged.
 */
static void cubic_update(struct tcp_cc *cc, uint32_t w, uint32_t acked, uint32_t now)
{
	uint32_t delta, target, max_cnt;
	uint64_t offs, t;

	cc->ack_cnt += acked;
	/* At most every 1/32 s for an unchanged window. */
	if (cc->last_cwnd == w && (int32_t)(now - cc->last_time_ms) <= (int32_t)(CUBIC_HZ / 32))
		return;
	/* The curve at most once per clock tick; a reduction (epoch 0)
	 * recomputes it at once. */
	if (cc->epoch_start_ms && now == cc->last_time_ms)
		goto friendly;
	cc->last_cwnd = w;
	cc->last_time_ms = now;
	if (cc->epoch_start_ms == 0) {
		cc->epoch_start_ms = now;
		cc->ack_cnt = acked;
		cc->tcp_cwnd = w;
		if (cc->last_max_cwnd <= w) {
			cc->k = 0;
			cc->origin = w;
		} else {
			cc->k = cubic_root(CUBIC_CUBE_FACTOR * (cc->last_max_cwnd - w));
			cc->origin = cc->last_max_cwnd;
		}
	}
	/* t: time into the epoch plus the minimum RTT (rounded up to a
	 * tick), in 1/1024 s. */
	t = (uint64_t)(int64_t)(int32_t)(now - cc->epoch_start_ms);
	t += (cc->min_rtt_us + (1000000u / CUBIC_HZ) - 1) / (1000000u / CUBIC_HZ);
	t = (t << CUBIC_HZ_SHIFT) / CUBIC_HZ;
	offs = t < cc->k ? cc->k - t : t - cc->k;
	delta = (uint32_t)((CUBIC_RTT_SCALE * offs * offs * offs) >> (10 + 3 * CUBIC_HZ_SHIFT));
	target = t < cc->k ? cc->origin - delta : cc->origin + delta;
	cc->cnt = target > w ? w / (target - w) : 100 * w;
	/* No loss yet: the bandwidth is unknown, grow at least 5% per RTT. */
	if (cc->last_max_cwnd == 0 && cc->cnt > 20)
		cc->cnt = 20;
friendly:
	/* The Reno-friendly estimate: one more per (w * CUBIC_FRIENDLY / 8)
	 * segments acknowledged; where it is ahead, catch up to it within an
	 * RTT. */
	delta = (uint32_t)(((uint64_t)w * CUBIC_FRIENDLY) >> 3);
	if (delta == 0)
		delta = 1;
	while (cc->ack_cnt > delta) {
		cc->ack_cnt -= delta;
		cc->tcp_cwnd++;
	}
	if (cc->tcp_cwnd > w) {
		max_cnt = w / (cc->tcp_cwnd - w);
		if (cc->cnt > max_cnt)
			cc->cnt = max_cnt;
	}
	/* At most one per two segments: 1.5 times per RTT (RFC 9438 §4.4's bound). */
	if (cc->cnt < 2)
		cc->cnt = 2;
}

/* CUBIC's congestion avoidance (Linux's bictcp_cong_avoid) for an ACK
 * that delivered segs segments. */
static void cubic_ca(struct tcp_cc *cc, uint32_t segs, uint64_t now_us)
{
	cubic_update(cc, cwnd_segs(cc), segs, cubic_ms(now_us));
	cong_avoid_ai(cc, cc->cnt, segs);
}

/* The engine may have written cwnd (PRR, undo): keep it in bounds. */
static void sanitize(struct tcp_cc *cc)
{
	if (cc->mss == 0)
		cc->mss = CC_DEFAULT_MSS;
	cc->cwnd = clamp_cwnd(cc, cc->cwnd);
}

/* Linux's cubictcp_acked: the minimum RTT, but not from the samples of
 * the second after an epoch began (right after a reduction). Returns
 * whether the sample counted. */
static bool cubic_delay_sample(struct tcp_cc *cc, uint32_t rtt_us, uint64_t now_us)
{
	if (cc->epoch_start_ms && (int32_t)(cubic_ms(now_us) - cc->epoch_start_ms) < (int32_t)CUBIC_HZ)
		return false;
	if (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us)
		cc->min_rtt_us = rtt_us;
	return true;
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

/*
 * RFC 2861's slow part as Linux's tcp_cwnd_application_limited: the window
 * was not in use for an RTO. cwnd comes halfway down to what was used (in
 * whole segments, as Linux counts packets; the initial window at the
 * least, so that this never takes cwnd below it), and ssthresh keeps 3/4
 * of the old cwnd (Linux's tcp_current_ssthresh in the Open state), so
 * that slow start climbs back to near it when the application wants more.
 * Deviation from RFC 2861 §3's (cwnd + used) / 2 every RTO: as Linux, the
 * time counts from when the window was last in use, or cwnd last grew or
 * was set, and the ACKs of a sender that keeps data in flight reset it.
 */
static void app_limited(struct tcp_cc *cc, bool may_moderate, uint64_t now_us)
{
	if (may_moderate) {
		uint32_t segs = cwnd_segs(cc);
		uint32_t used = (cc->used_out + cc->mss - 1) / cc->mss;
		uint32_t init = iw(cc) / cc->mss;

		if (used < init)
			used = init;
		if (used < segs) {
			uint64_t floor = (uint64_t)((segs >> 1) + (segs >> 2)) * cc->mss;

			if (cc->ssthresh < floor)
				cc->ssthresh = (uint32_t)floor;
			cc->cwnd = clamp_cwnd(cc, (uint64_t)((segs + used) >> 1) * cc->mss);
		}
		cc->used_out = 0;
	}
	cc->validated_us = now_us;
}

void tcp_cc_on_sent(struct tcp_cc *cc, bool limited, uint32_t out, uint32_t snd_una, uint32_t snd_nxt,
		    uint64_t now_us, uint32_t rto_us, bool may_moderate)
{
	if (!seq_lt(snd_una, cc->usage_seq) || limited || (!cc->cwnd_limited && out > cc->max_out)) {
		cc->cwnd_limited = limited;
		cc->max_out = out;
		cc->usage_seq = snd_nxt;
	}
	if (tcp_cc_window_used(cc)) {
		cc->used_out = 0;
		cc->validated_us = now_us;
		return;
	}
	if (out > cc->used_out)
		cc->used_out = out;
	if ((int64_t)(now_us - cc->validated_us) >= (int64_t)rto_us)
		app_limited(cc, may_moderate, now_us);
}

void tcp_cc_validated(struct tcp_cc *cc, uint64_t now_us)
{
	cc->validated_us = now_us;
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t rtt_us, uint64_t now_us)
{
	sanitize(cc);
	/* Bounded so that segment counts cannot wrap (a window of 2^30 bytes
	 * is far fewer segments). */
	if (acked > UINT32_MAX / 2)
		acked = UINT32_MAX / 2;
	if (rtt_us && cc->algo == TCP_CC_CUBIC)
		cubic_delay_sample(cc, rtt_us, now_us);
	if (acked == 0)
		return;
	/* Linux's tcp_cong_avoid: an ACK of new data outside a reduction
	 * validates cwnd, whether or not it may grow it. */
	cc->validated_us = now_us;
	if (!cwnd_limited(cc, flight))
		return;
	if (in_slow_start(cc)) {
		acked = slow_start(cc, acked);
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
	if (!cubic_delay_sample(cc, rtt_us, now_us))
		return TCP_CC_HS_NONE;
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

/*
 * ssthresh from cwnd, as Linux: NewReno's tcp_reno_ssthresh, half of it;
 * CUBIC's cubictcp_recalc_ssthresh, beta 717/1024 of it, with fast
 * convergence (RFC 9438 §4.6, §4.7). Both at least 2 segments. Not RFC
 * 5681's half the flight: an application-limited sender does not grow
 * cwnd beyond what it uses (tcp_cc_window_used), so cwnd stands for the
 * window in use.
 */
static uint32_t loss_ssthresh(struct tcp_cc *cc)
{
	uint32_t w = cwnd_segs(cc), s;

	if (cc->algo == TCP_CC_CUBIC) {
		cc->epoch_start_ms = 0;
		/* A loss before regaining the previous W_max means a new flow
		 * is competing: release more bandwidth. */
		if (w < cc->last_max_cwnd)
			cc->last_max_cwnd = w * (CUBIC_BETA_SCALE + CUBIC_BETA) / (2 * CUBIC_BETA_SCALE);
		else
			cc->last_max_cwnd = w;
		s = (uint32_t)((uint64_t)w * CUBIC_BETA / CUBIC_BETA_SCALE);
	} else {
		s = w >> 1;
	}
	if (s < 2)
		s = 2;
	return clamp_cwnd(cc, (uint64_t)s * cc->mss);
}

void tcp_cc_on_loss(struct tcp_cc *cc, uint64_t now_us)
{
	(void)now_us;
	sanitize(cc);
	cc->ssthresh = loss_ssthresh(cc);
	cc->cwnd = clamp_cwnd(cc, cc->ssthresh);
	cc->cwnd_cnt = 0;
}

void tcp_cc_on_recovery_exit(struct tcp_cc *cc, uint32_t flight, uint64_t now_us)
{
	/* Linux's tcp_end_cwnd_reduction: cwnd is ssthresh when the reduction
	 * ends, whatever is in flight (PRR brought it there meanwhile). Not RFC
	 * 6582's min(ssthresh, FlightSize + SMSS), which pstack had: after a
	 * recovery that ended with nothing in flight it sent two segments
	 * where Linux sends ssthresh's seven (tcp_fast_recovery_prr-ss-30pkt-lost1_4). */
	(void)flight;
	sanitize(cc);
	cc->cwnd = clamp_cwnd(cc, cc->ssthresh);
	cc->validated_us = now_us;
}

void tcp_cc_on_rto(struct tcp_cc *cc, bool reduce, uint64_t now_us)
{
	sanitize(cc);
	cc->validated_us = now_us;      /* Linux's tcp_enter_loss */
	/* RFC 5681 §3.1: when the timer fires again for a segment it already
	 * retransmitted, ssthresh is held; like Linux, also on a timeout in
	 * a recovery whose reduction stands (the engine decides). */
	if (reduce)
		cc->ssthresh = loss_ssthresh(cc);
	if (cc->algo == TCP_CC_CUBIC) {
		/* Linux (cubictcp_state, TCP_CA_Loss, on every entry to the
		 * Loss state, whether or not ssthresh came down; its
		 * CA_EVENT_LOSS is nothing to CUBIC): CUBIC starts over, its
		 * W_max and delay minimum forgotten, and HyStart looks again. */
		cubic_reset(cc);
		cc->hs_found = false;
		cc->hs_round_on = false;
	}
	/* RFC 5681 §3.1: the loss window is one segment (the engine adds
	 * what is still in flight, as Linux's tcp_enter_loss). */
	cc->cwnd = cc->mss;
	cc->cwnd_cnt = 0;
}

void tcp_cc_on_idle(struct tcp_cc *cc, uint64_t idle_us, uint32_t rto_us, bool reducing, uint64_t now_us)
{
	/*
	 * Linux's tcp_cwnd_restart (RFC 2861's decay rather than RFC 5681
	 * §4.1's drop to the restart window at once): cwnd halves for each
	 * RTO the sender was idle beyond the first, down to min(IW, cwnd) at
	 * the lowest; ssthresh keeps at least 3/4 of the old cwnd (Linux's
	 * tcp_current_ssthresh, unless a reduction is under way), so that
	 * slow start climbs back to near where the sender was. CUBIC's epoch
	 * is not touched here: tcp_cc_on_tx_start moves it.
	 */
	uint32_t segs, restart;
	int64_t left = (int64_t)idle_us;

	sanitize(cc);
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
	cc->used_out = 0;
	cc->validated_us = now_us;
}

void tcp_cc_on_tx_start(struct tcp_cc *cc, uint64_t idle_us, uint64_t now_us)
{
	/* Linux's cubictcp_cwnd_event(CA_EVENT_TX_START): sending again
	 * with nothing in flight, idle_us after the last send: the epoch
	 * moves on by that time (to now at most), so that the curve does not
	 * count time spent with nothing to send. */
	uint32_t now = cubic_ms(now_us), idle = (uint32_t)(idle_us / 1000);

	if (cc->algo != TCP_CC_CUBIC || !cc->epoch_start_ms || !idle)
		return;
	cc->epoch_start_ms += idle;
	if ((int32_t)(cc->epoch_start_ms - now) > 0)
		cc->epoch_start_ms = now;
}

void tcp_prr_init(struct tcp_prr *p, uint32_t prior_cwnd)
{
	p->recover_fs = prior_cwnd;
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
