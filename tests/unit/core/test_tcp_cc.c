/* Congestion control: NewReno (RFC 5681, RFC 6582) and CUBIC (RFC 9438);
 * Proportional Rate Reduction (RFC 6937) for the window in recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp_cc.h"

#define MSS 1460u
#define MS  1000u
#define SEC 1000000ull

static double absd(double x)
{
	return x < 0 ? -x : x;
}

static void assert_near(double got, double want, double tol)
{
	if (!(absd(got - want) <= tol))
		fail_msg("%f is not within %f of %f", got, tol, want);
}

/* One round trip with the pipe kept full: one ACK per MSS of the window
 * at the start of the round, spread evenly over rtt_us. Returns the time at
 * the end of the round. */
static uint64_t round_trip(struct tcp_cc *cc, uint64_t now, uint32_t rtt_us)
{
	uint32_t n = cc->cwnd / cc->mss;

	for (uint32_t i = 0; i < n; i++)
		tcp_cc_on_ack(cc, cc->mss, cc->cwnd, rtt_us, now + (uint64_t)rtt_us * (i + 1) / n);
	return now + rtt_us;
}

static double segs(const struct tcp_cc *cc)
{
	return (double)cc->cwnd / cc->mss;
}

/* A window of w segments in congestion avoidance, as after a loss earlier. */
static void force_window(struct tcp_cc *cc, uint32_t w)
{
	cc->cwnd = w * cc->mss;
	cc->ssthresh = cc->cwnd;
}

/* ---- common ---- */

static void test_init(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	assert_int_equal(cc.algo, TCP_CC_NEWRENO);
	assert_int_equal(cc.cwnd, 10 * MSS);
	assert_int_equal(cc.ssthresh, UINT32_MAX);
	tcp_cc_init(&cc, TCP_CC_CUBIC, 536);
	assert_int_equal(cc.algo, TCP_CC_CUBIC);
	assert_int_equal(cc.cwnd, 5360);
	assert_int_equal(cc.ssthresh, UINT32_MAX);
	assert_int_equal(cc.epoch_start_us, 0);
	/* No MSS yet: the RFC 9293 default. */
	tcp_cc_init(&cc, TCP_CC_CUBIC, 0);
	assert_int_equal(cc.mss, 536);
	assert_int_equal(cc.cwnd, 5360);
}

/* The window set up before the handshake keeps its size in segments. */
static void test_set_mss_rescales(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_CUBIC, 536);
	tcp_cc_set_mss(&cc, MSS);
	assert_int_equal(cc.mss, MSS);
	assert_int_equal(cc.cwnd, 10 * MSS);
	assert_int_equal(cc.ssthresh, UINT32_MAX);
	tcp_cc_on_loss(&cc, 20 * MSS, SEC);
	assert_int_equal(cc.ssthresh, 14 * MSS);
	tcp_cc_set_mss(&cc, 1000);
	assert_int_equal(cc.ssthresh, 14000);
	assert_int_equal(cc.cwnd, 14000);
	tcp_cc_set_mss(&cc, 0); /* ignored */
	assert_int_equal(cc.mss, 1000);
	/* Growth goes on in the new unit. */
	round_trip(&cc, 2 * SEC, 100 * MS);
	assert_true(cc.cwnd > 14000);
	assert_true(isfinite(cc.cwnd_seg) && absd(cc.cwnd_seg - segs(&cc)) < 1.0);
}

/* ---- NewReno ---- */

/* RFC 5681 §3.1: slow start doubles cwnd each round trip. */
static void test_newreno_slow_start_doubles(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 20 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 40 * MSS);
	round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 80 * MSS);
}

/* Linux's tcp_slow_start, without RFC 3465's L: a receiver acking every
 * other segment doubles cwnd per round, and a stretch ACK earns all it
 * covers (Linux's selftest tcp_slow_start_slow-start-ack-per-4pkt). */
static void test_slow_start_delayed_and_stretch_acks(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	for (int i = 0; i < 5; i++)
		tcp_cc_on_ack(&cc, 2 * MSS, cc.cwnd, 0, SEC);
	assert_int_equal(cc.cwnd, 20 * MSS);
	tcp_cc_on_ack(&cc, 20 * MSS, cc.cwnd, 0, SEC);
	assert_int_equal(cc.cwnd, 40 * MSS);
	/* A partial segment counts as acked bytes. */
	tcp_cc_on_ack(&cc, 100, cc.cwnd, 0, SEC);
	assert_int_equal(cc.cwnd, 40 * MSS + 100);
	/* Nothing acked, nothing grows. */
	tcp_cc_on_ack(&cc, 0, cc.cwnd, 0, SEC);
	assert_int_equal(cc.cwnd, 40 * MSS + 100);
}

/* Slow start stops at ssthresh; the rest of the ACK counts towards
 * congestion avoidance. */
static void test_slow_start_stops_at_ssthresh(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	cc.ssthresh = 15 * MSS;
	round_trip(&cc, SEC, 50 * MS);
	assert_int_equal(cc.cwnd, 15 * MSS);
	assert_int_equal(cc.bytes_acked, 5 * MSS);
}

/* RFC 5681 §3.1 with byte counting: one SMSS per window acked. */
static void test_newreno_congestion_avoidance(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	force_window(&cc, 20);
	for (int r = 1; r <= 5; r++) {
		now = round_trip(&cc, now, 50 * MS);
		assert_int_equal(cc.cwnd, (20u + (uint32_t)r) * MSS);
	}
	/* Delayed ACKs: same growth per window of bytes. */
	for (int i = 0; i < 12; i++)
		tcp_cc_on_ack(&cc, 2 * MSS, cc.cwnd, 0, now);
	assert_int_equal(cc.cwnd, 25 * MSS); /* 24 of 25 segments acked */
	tcp_cc_on_ack(&cc, 2 * MSS, cc.cwnd, 0, now);
	assert_int_equal(cc.cwnd, 26 * MSS);
	assert_int_equal(cc.bytes_acked, MSS);
}

/* A sender not using its window does not grow it (RFC 7661's spirit): in
 * slow start only while cwnd is below twice the flight (Linux's
 * tcp_is_cwnd_limited; its selftests slow-start-ack-per-2pkt-send-5pkt
 * and -6pkt). */
static void test_no_growth_when_not_cwnd_limited(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	tcp_cc_on_ack(&cc, MSS, 2 * MSS, 0, SEC);
	assert_int_equal(cc.cwnd, 10 * MSS);
	tcp_cc_on_ack(&cc, MSS, 5 * MSS, 0, SEC); /* half the window in use: not yet */
	assert_int_equal(cc.cwnd, 10 * MSS);
	tcp_cc_on_ack(&cc, MSS, 6 * MSS, 0, SEC); /* more than half: grows */
	assert_int_equal(cc.cwnd, 11 * MSS);
	force_window(&cc, 20);
	for (int i = 0; i < 100; i++)
		tcp_cc_on_ack(&cc, MSS, 18 * MSS, 0, SEC);
	assert_int_equal(cc.cwnd, 20 * MSS);
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	force_window(&cc, 20);
	for (int i = 0; i < 100; i++)
		tcp_cc_on_ack(&cc, MSS, 18 * MSS, 100 * MS, SEC + (uint64_t)i * 100 * MS);
	assert_int_equal(cc.cwnd, 20 * MSS);
}

/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2*SMSS), cwnd = ssthresh. */
static void test_newreno_loss_halves(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	force_window(&cc, 40);
	tcp_cc_on_loss(&cc, 40 * MSS, SEC);
	assert_int_equal(cc.ssthresh, 20 * MSS);
	assert_int_equal(cc.cwnd, 20 * MSS);
	/* From FlightSize, not cwnd. */
	tcp_cc_on_loss(&cc, 10 * MSS + 2, SEC);
	assert_int_equal(cc.ssthresh, 5 * MSS + 1);
	assert_int_equal(cc.cwnd, 5 * MSS + 1);
	tcp_cc_on_loss(&cc, MSS, SEC);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	assert_int_equal(cc.cwnd, 2 * MSS);
}

/* RFC 5681 (4) and §3.1: on RTO, the loss window of one segment, then slow
 * start up to the new ssthresh and linear growth beyond. */
static void test_newreno_rto(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	force_window(&cc, 40);
	tcp_cc_on_rto(&cc, 40 * MSS, now);
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.ssthresh, 20 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 2 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	now = round_trip(&cc, now, 50 * MS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 16 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	/* Capped at ssthresh after 4 of the 16 ACKs; the other 12 segments
	 * count towards congestion avoidance. */
	assert_int_equal(cc.cwnd, 20 * MSS);
	assert_int_equal(cc.bytes_acked, 12 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 21 * MSS);
	now = round_trip(&cc, now, 50 * MS);
	assert_int_equal(cc.cwnd, 22 * MSS);
	/* The timer firing again before any new ACK (the same segment, backed
	 * off): ssthresh is held, RFC 5681 §3.1. */
	{
		uint32_t held;

		tcp_cc_on_rto(&cc, 22 * MSS, now);
		held = cc.ssthresh;
		assert_int_equal(held, 11 * MSS);
		tcp_cc_on_rto(&cc, 22 * MSS, now + SEC);
		tcp_cc_on_rto(&cc, MSS, now + 3 * SEC);
		assert_int_equal(cc.ssthresh, held);
		assert_int_equal(cc.cwnd, MSS);
		now = round_trip(&cc, now + 3 * SEC, 50 * MS);
		assert_int_equal(cc.cwnd, 2 * MSS);
	}
	/* A new timeout after progress, with little in flight: ssthresh
	 * floors at 2 SMSS. */
	tcp_cc_on_rto(&cc, MSS, now);
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.ssthresh, 2 * MSS);
}

/* Linux's tcp_end_cwnd_reduction: cwnd = ssthresh when recovery ends,
 * whatever is in flight (not RFC 6582's min(ssthresh, FlightSize + SMSS)). */
static void test_recovery_exit(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_NEWRENO, MSS);
	tcp_cc_on_loss(&cc, 40 * MSS, SEC);
	cc.cwnd = 25 * MSS; /* the engine inflated it during recovery */
	tcp_cc_on_recovery_exit(&cc, 5 * MSS, SEC);
	assert_int_equal(cc.cwnd, 20 * MSS);
	cc.cwnd = 3 * MSS;
	tcp_cc_on_recovery_exit(&cc, 30 * MSS, SEC);
	assert_int_equal(cc.cwnd, 20 * MSS);
	tcp_cc_on_recovery_exit(&cc, 0, SEC);
	assert_int_equal(cc.cwnd, 20 * MSS);
	assert_int_equal(cc.ssthresh, 20 * MSS);
	/* Same rule for CUBIC. */
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	tcp_cc_on_loss(&cc, 40 * MSS, SEC);
	tcp_cc_on_recovery_exit(&cc, 10 * MSS, SEC);
	assert_int_equal(cc.cwnd, 28 * MSS);        /* CUBIC's beta 0.7 of 40 */
	assert_int_equal(cc.cwnd, cc.ssthresh);
	assert_near(cc.cwnd_seg, 28.0, 1e-9);
}

/* After idling beyond an RTO, cwnd halves per RTO idle down to min(IW,
 * cwnd) (Linux's tcp_cwnd_restart); ssthresh keeps 3/4 of the old cwnd. */
static void test_idle_restart(void **state)
{
	struct tcp_cc cc;

	(void)state;
	for (int a = 0; a < 2; a++) {
		tcp_cc_init(&cc, a ? TCP_CC_CUBIC : TCP_CC_NEWRENO, MSS);
		force_window(&cc, 40);
		round_trip(&cc, SEC, 50 * MS);
		tcp_cc_on_idle(&cc, 10 * SEC, 300 * MS, false);
		assert_int_equal(cc.cwnd, 10 * MSS);
		assert_int_equal(cc.ssthresh, 40 * MSS);
		assert_int_equal(cc.epoch_start_us, 0);
		cc.cwnd = 4 * MSS;
		tcp_cc_on_idle(&cc, 20 * SEC, 300 * MS, false);
		assert_int_equal(cc.cwnd, 4 * MSS);
		/* idle for two RTOs and a bit: halved twice */
		cc.cwnd = 64 * MSS;
		cc.ssthresh = 20 * MSS;
		tcp_cc_on_idle(&cc, 650 * MS, 300 * MS, false);
		assert_int_equal(cc.cwnd, 16 * MSS);
		assert_int_equal(cc.ssthresh, 48 * MSS);
		/* in a reduction ssthresh stays */
		cc.cwnd = 64 * MSS;
		cc.ssthresh = 20 * MSS;
		tcp_cc_on_idle(&cc, 350 * MS, 300 * MS, true);
		assert_int_equal(cc.cwnd, 32 * MSS);
		assert_int_equal(cc.ssthresh, 20 * MSS);
	}
}

/* ---- CUBIC ---- */

/* A loss at W_max = 100 segments into a CUBIC sender in congestion avoidance. */
static void cubic_after_loss_at(struct tcp_cc *cc, uint32_t w_max, uint64_t now)
{
	tcp_cc_init(cc, TCP_CC_CUBIC, MSS);
	force_window(cc, w_max);
	tcp_cc_on_loss(cc, w_max * MSS, now);
}

/* RFC 9438 §4.6: beta 0.7; §4.2: K = cbrt(W_max (1 - beta) / C). */
static void test_cubic_loss_and_k(void **state)
{
	struct tcp_cc cc;

	(void)state;
	cubic_after_loss_at(&cc, 100, SEC);
	assert_int_equal(cc.cwnd, 70 * MSS);
	assert_int_equal(cc.ssthresh, 70 * MSS);
	assert_near(cc.w_max, 100.0, 1e-9);
	assert_int_equal(cc.epoch_start_us, 0);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 100 * MS, 2 * SEC);
	assert_int_equal(cc.epoch_start_us, 2 * SEC);
	assert_near(cc.k, 4.2171633, 1e-5); /* cbrt(75) */
	/* Floor of 2 segments. */
	tcp_cc_on_loss(&cc, MSS, 3 * SEC);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	assert_int_equal(cc.cwnd, 2 * MSS);
}

/* RFC 9438 §4.4, §4.5: concave growth up to W_max, reached near t = K, a
 * plateau, then convex growth beyond. */
static void test_cubic_curve_shape(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC, start;
	double at[200];
	int n = 0;

	(void)state;
	cubic_after_loss_at(&cc, 100, now);
	start = now;
	while (n < 60) {
		now = round_trip(&cc, now, 100 * MS);
		at[n++] = cc.cwnd_seg;          /* at t = n * 100 ms */
		assert_true(cc.cwnd_seg <= 100.0 + 0.5 || now - start > 4200 * MS);
		assert_near(cc.cwnd_seg, segs(&cc), 1.0);
	}
	/* Concave: the first second gains far more than the second before K. */
	assert_true(at[9] - at[0] > 4 * (at[41] - at[31]));
	assert_true(at[9] < 95.0);
	/* Aiming one RTT ahead (§4.4: W_cubic(t + RTT)) keeps cwnd close to
	 * the curve: W_cubic(1.0 s) = 86.7; aiming at W_cubic(t) would lag
	 * about a segment further behind. */
	assert_true(at[9] > 86.0 && at[9] < 87.9);
	/* Near W_max around t = K = 4.2 s. */
	assert_near(at[41], 100.0, 1.5);
	assert_near(at[43], 100.0, 1.0);
	/* Convex: growth speeds up after K (before Reno-friendliness takes over). */
	assert_true(at[56] - at[51] > 4 * (at[46] - at[41]));
	assert_true(at[56] > 100.5);
}

/* The same on a larger window, where the cubic curve stays above the
 * Reno-friendly estimate for long after K. */
static void test_cubic_convex_large_window(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC;
	double k, at[200];
	int n = 0;

	(void)state;
	cubic_after_loss_at(&cc, 1000, now);
	while (n < 160) {
		now = round_trip(&cc, now, 100 * MS);
		at[n++] = cc.cwnd_seg;
	}
	k = cc.k; /* cbrt(750) = 9.086 s */
	assert_near(k, 9.0856, 1e-3);
	assert_near(at[90], 1000.0, 3.0);
	/* Symmetric around K: W(K + d) - W_max ~ W_max - W(K - d). */
	assert_near(at[90 + 40] - 1000.0, 1000.0 - at[90 - 40], 8.0);
	assert_true(at[150] - at[140] > at[130] - at[120]);
	assert_true(at[150] - 1000.0 > 0.4 * 5.0 * 5.0 * 5.0 * 0.8);
	/* Growth per round never beyond 1.5x (§4.4's target bound). */
	for (int i = 1; i < n; i++)
		assert_true(at[i] <= 1.5 * at[i - 1] + 1e-9);
}

/* RFC 9438 §4.3: on a short RTT the Reno-friendly estimate (alpha_cubic per
 * RTT, then 1 per RTT above the previous W_max) leads. */
static void test_cubic_reno_friendly_short_rtt(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC, start;
	double alpha = 3.0 * (1.0 - 0.7) / (1.0 + 0.7), t, d, w_cubic;

	(void)state;
	cubic_after_loss_at(&cc, 20, now);
	start = now;
	for (int r = 0; r < 10; r++)
		now = round_trip(&cc, now, 1 * MS);
	t = (double)(now - start) / 1e6;
	d = t + 0.001 - cc.k;
	w_cubic = 0.4 * d * d * d + cc.w_max;
	assert_near(w_cubic, 14.0, 0.5);
	/* Ten rounds: ~14 + 10 alpha; the rounding of window to whole ACKs
	 * makes it a little less exact. */
	assert_near(cc.cwnd_seg, 14.0 + 10 * alpha, 0.6);
	assert_true(cc.cwnd_seg > w_cubic + 4.0);
	assert_near(cc.w_est, cc.cwnd_seg, 1e-9);
	/* Past the old W_max the estimate grows by one segment per RTT. */
	for (int r = 0; r < 20; r++)
		now = round_trip(&cc, now, 1 * MS);
	{
		double before = cc.cwnd_seg;

		for (int r = 0; r < 10; r++)
			now = round_trip(&cc, now, 1 * MS);
		assert_near(cc.cwnd_seg - before, 10.0, 1.0);
	}
}

/* RFC 9438 §4.7: a loss before regaining the previous W_max lowers W_max
 * further, to cwnd (1 + beta) / 2. */
static void test_cubic_fast_convergence(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC;
	double before;

	(void)state;
	cubic_after_loss_at(&cc, 100, now);
	for (int r = 0; r < 5; r++)
		now = round_trip(&cc, now, 100 * MS);
	before = cc.cwnd_seg;
	assert_true(before > 72.0 && before < 95.0);
	tcp_cc_on_loss(&cc, cc.cwnd, now);
	assert_near(cc.w_last_max, 100.0, 1e-9);
	assert_near(cc.w_max, before * 0.85, 1e-6);
	assert_near(segs(&cc), before * 0.7, 0.01);
	assert_int_equal(cc.epoch_start_us, 0);
	/* The next epoch aims at the lowered W_max. */
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 100 * MS, now + 1);
	assert_near(0.4 * cc.k * cc.k * cc.k, cc.w_max - segs(&cc), 0.01);
	/* A loss above the old W_max just records the window. */
	cubic_after_loss_at(&cc, 100, now);
	force_window(&cc, 120);
	tcp_cc_on_loss(&cc, 120 * MSS, now);
	assert_near(cc.w_max, 120.0, 1e-9);
}

/* RFC 9438 §4.8: after a timeout, one segment, slow start to ssthresh
 * (beta 0.7), then a curve with K = 0 starting at that cwnd. */
static void test_cubic_rto(void **state)
{
	struct tcp_cc cc;
	uint64_t now = SEC, ca_start = 0;

	(void)state;
	tcp_cc_init(&cc, TCP_CC_CUBIC, MSS);
	force_window(&cc, 100);
	tcp_cc_on_rto(&cc, 100 * MSS, now);
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.ssthresh, 70 * MSS);
	assert_int_equal(cc.epoch_start_us, 0);
	for (int r = 0; r < 6; r++)
		now = round_trip(&cc, now, 100 * MS);
	assert_int_equal(cc.cwnd, 64 * MSS);
	assert_int_equal(cc.epoch_start_us, 0);
	/* The round that crosses ssthresh starts the congestion-avoidance epoch. */
	now = round_trip(&cc, now, 100 * MS);
	ca_start = cc.epoch_start_us;
	assert_true(ca_start != 0);
	assert_near(cc.k, 0.0, 1e-12);
	assert_near(cc.w_max, 70.0, 1e-9);
	assert_true(segs(&cc) >= 70.0);
	for (int r = 0; r < 30; r++)
		now = round_trip(&cc, now, 100 * MS);
	assert_true(segs(&cc) > 75.0);
}

/* A stretch ACK (or one the engine over-reports) counts for at most one
 * window: CUBIC moves at most to its target, W_est by at most one segment. */
static void test_cubic_stretch_ack_bounded(void **state)
{
	struct tcp_cc cc;
	double w_est;

	(void)state;
	cubic_after_loss_at(&cc, 100, SEC);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 100 * MS, 2 * SEC);
	w_est = cc.w_est;
	tcp_cc_on_ack(&cc, 1000 * MSS, cc.cwnd, 100 * MS, 2 * SEC + 200 * MS);
	assert_true(cc.w_est <= w_est + 1.0);
	assert_true(segs(&cc) <= 100.0);
	assert_true(segs(&cc) > 70.0);
}

/* No NaN or infinity from zero RTTs, zero clocks, clocks going backwards
 * or enormous gaps; windows stay within [1 MSS, 2^31). */
static void test_cubic_degenerate_inputs(void **state)
{
	struct tcp_cc cc;

	(void)state;
	cubic_after_loss_at(&cc, 100, 0);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 0);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 0);
	assert_true(isfinite(cc.cwnd_seg) && isfinite(cc.k) && isfinite(cc.w_est));
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 5 * SEC);
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, 0, 1 * SEC); /* backwards */
	tcp_cc_on_ack(&cc, MSS, cc.cwnd, UINT32_MAX, UINT64_MAX / 2);
	assert_true(isfinite(cc.cwnd_seg) && isfinite(cc.k) && isfinite(cc.w_est));
	for (int i = 0; i < 1000; i++)
		tcp_cc_on_ack(&cc, UINT32_MAX, UINT32_MAX, 0, UINT64_MAX - 1000 + (uint64_t)i);
	assert_true(isfinite(cc.cwnd_seg) && isfinite(cc.k) && isfinite(cc.w_est));
	assert_true(cc.cwnd >= MSS && cc.cwnd <= 0x7fffffffu);
	/* The engine zeroing cwnd is repaired, not divided by. */
	cc.cwnd = 0;
	tcp_cc_on_ack(&cc, MSS, UINT32_MAX, 100 * MS, UINT64_MAX - 1);
	assert_true(cc.cwnd >= MSS);
	assert_true(isfinite(cc.cwnd_seg));
	tcp_cc_on_loss(&cc, 0, 0);
	tcp_cc_on_rto(&cc, 0, 0);
	tcp_cc_on_recovery_exit(&cc, 0, 0);
	tcp_cc_on_idle(&cc, 0, 0, false);
	assert_true(cc.cwnd >= MSS && cc.ssthresh >= 2 * MSS);
	assert_true(isfinite(cc.cwnd_seg) && isfinite(cc.w_max) && isfinite(cc.k));
}

/* Both algorithms: cwnd never below 1 MSS, never wrapping, under any
 * sequence of events; growth is monotonic while ACKs arrive. */
static void test_bounds_both_algorithms(void **state)
{
	(void)state;
	for (int a = 0; a < 2; a++) {
		struct tcp_cc cc;
		uint64_t now = SEC;
		uint32_t prev;

		tcp_cc_init(&cc, a ? TCP_CC_CUBIC : TCP_CC_NEWRENO, MSS);
		for (int i = 0; i < 5; i++) {
			tcp_cc_on_rto(&cc, 0, now);
			tcp_cc_on_loss(&cc, 0, now);
			assert_true(cc.cwnd >= MSS);
			assert_true(cc.ssthresh >= 2 * MSS);
		}
		/* Near the ceiling, in slow start and in congestion avoidance. */
		for (int ca = 0; ca < 2; ca++) {
			cc.cwnd = 0x7fffffffu - 50 * MSS;
			cc.ssthresh = ca ? cc.cwnd : UINT32_MAX;
			prev = cc.cwnd;
			for (int i = 0; i < 20000; i++) {
				now += 10 * MS;
				tcp_cc_on_ack(&cc, UINT32_MAX / 2, UINT32_MAX, 10 * MS, now);
				assert_true(cc.cwnd >= prev);
				assert_true(cc.cwnd <= 0x7fffffffu);
				prev = cc.cwnd;
			}
			assert_int_equal(cc.cwnd, 0x7fffffffu);
		}
		tcp_cc_on_loss(&cc, UINT32_MAX, now);
		assert_true(cc.cwnd >= MSS && cc.cwnd <= 0x7fffffffu);
		assert_true(isfinite(cc.cwnd_seg));
		/* Tiny MSS, tiny windows. */
		tcp_cc_init(&cc, a ? TCP_CC_CUBIC : TCP_CC_NEWRENO, 1);
		assert_int_equal(cc.cwnd, 10);
		tcp_cc_on_rto(&cc, 1, now);
		assert_int_equal(cc.cwnd, 1);
		assert_int_equal(cc.ssthresh, 2);
	}
}

/* ---- PRR (RFC 6937) ---- */

/* A loss of one segment out of 20 in flight, CUBIC's ssthresh 14 segments:
 * while the pipe is above ssthresh, PRR sends ssthresh/RecoverFS of what
 * each ACK delivered, so that over the round trip (19 ACKs, one per
 * segment delivered) the sender sends 14 segments, evenly spread, the
 * first of them (the fast retransmission) at once. */
static void test_prr_proportional_reduction(void **state)
{
	struct tcp_prr p;
	uint32_t ssthresh = 14 * MSS, pipe = 19 * MSS, sent = 0, burst = 0;

	(void)state;
	tcp_prr_init(&p, 20 * MSS);
	/* entering recovery: the fast retransmission goes whatever the numbers */
	assert_int_equal(tcp_prr_sndcnt(&p, ssthresh, pipe, 0, MSS, false), MSS);
	tcp_prr_sent(&p, MSS);
	sent += MSS;
	pipe += MSS;
	for (int i = 0; i < 19; i++) {
		uint32_t n;

		pipe -= MSS;                    /* a segment delivered */
		n = tcp_prr_sndcnt(&p, ssthresh, pipe, MSS, MSS, false);
		n -= n % MSS;                   /* the sender sends whole segments */
		assert_true(n <= MSS);          /* never a burst */
		if (n) {
			tcp_prr_sent(&p, n);
			sent += n;
			pipe += n;
			burst = 0;
		} else {
			assert_true(++burst < 3);  /* and never a long pause */
		}
		/* sent so far: ceil(delivered * ssthresh / RecoverFS) */
		assert_true(sent <= ((uint64_t)p.delivered * ssthresh + 20 * MSS - 1) / (20 * MSS) + MSS);
	}
	/* one round trip: the window came down to ssthresh */
	assert_true(sent >= 13 * MSS && sent <= 14 * MSS);
	assert_true(pipe <= ssthresh);
}

/* RFC 6937 §3, PRR-SSRB: after heavy losses the pipe is below ssthresh;
 * each ACK lets out what it delivered plus one segment (slow start), when
 * SND.UNA advanced without a new loss, and at most up to ssthresh. */
static void test_prr_slow_start_reduction_bound(void **state)
{
	struct tcp_prr p;
	uint32_t ssthresh = 14 * MSS, pipe = 4 * MSS;

	(void)state;
	tcp_prr_init(&p, 20 * MSS);
	tcp_prr_sent(&p, MSS);  /* the fast retransmission */
	/* an ACK delivering one segment: two may go */
	assert_int_equal(tcp_prr_sndcnt(&p, ssthresh, pipe, MSS, MSS, true), 2 * MSS);
	tcp_prr_sent(&p, 2 * MSS);
	pipe += MSS;
	/* with a new loss seen on it, only what was delivered */
	assert_int_equal(tcp_prr_sndcnt(&p, ssthresh, pipe, MSS, MSS, false), MSS);
	tcp_prr_sent(&p, MSS);
	/* never beyond ssthresh */
	assert_int_equal(tcp_prr_sndcnt(&p, ssthresh, 13 * MSS + 100, 5 * MSS, MSS, true), MSS - 100);
	/* nothing delivered, nothing owed: nothing */
	assert_int_equal(tcp_prr_sndcnt(&p, ssthresh, ssthresh, 0, MSS, false), 0);
}

/* ---- HyStart (CUBIC's slow start exit, Linux's tcp_cubic.c) ---- */

/*
 * A sender whose ACKs come one per segment, gap_us apart while the window
 * keeps the path busy, each RTT sample rtt_us(i) for the i-th ACK; after
 * each ACK the sender fills its window again. Runs until HyStart fires or
 * `acks` ACKs came; returns what fired, with the window it fired at in
 * *at (bytes) and the time of the first ACK in the round it fired in.
 */
struct hs_run {
	struct tcp_cc cc;
	uint32_t una, nxt;
	uint64_t now;
};

static void hs_start(struct hs_run *r, enum tcp_cc_algo algo)
{
	tcp_cc_init(&r->cc, algo, MSS);
	r->una = 1000;
	r->nxt = r->una + r->cc.cwnd;
	r->now = SEC;
}

static enum tcp_cc_hystart hs_acks(struct hs_run *r, int acks, uint32_t gap_us, uint32_t rtt_us, uint32_t *at)
{
	for (int i = 0; i < acks; i++) {
		uint32_t flight = r->nxt - r->una;
		enum tcp_cc_hystart h;

		r->now += gap_us;
		r->una += MSS;
		h = tcp_cc_on_sample(&r->cc, rtt_us, rtt_us, r->una, r->nxt, r->now);
		if (h != TCP_CC_HS_NONE) {
			*at = r->cc.cwnd;
			return h;
		}
		tcp_cc_on_ack(&r->cc, MSS, flight, rtt_us, r->now);
		if (r->nxt - r->una < r->cc.cwnd)
			r->nxt = r->una + r->cc.cwnd;
	}
	return TCP_CC_HS_NONE;
}

/* A round trip of 1 ms whose ACKs come 50 us apart: once the window's ACK
 * train lasts longer than half the RTT plus the TSO cushion (1 ms at these
 * rates: 1 ms in all), the window covers the path. Slow start ends there,
 * ssthresh = cwnd, and the window then grows as congestion avoidance says
 * (less than a segment per ACK), where without HyStart it kept doubling. */
static void test_hystart_ack_train(void **state)
{
	struct hs_run r;
	uint32_t at = 0, before;

	(void)state;
	hs_start(&r, TCP_CC_CUBIC);
	assert_int_equal(hs_acks(&r, 2000, 50, 1000, &at), TCP_CC_HS_TRAIN);
	/* 1 ms of ACKs 50 us apart is 20 segments past the round's first:
	 * not before the window passed 20 + 16 */
	assert_true(at >= 36 * MSS && at <= 80 * MSS);
	assert_int_equal(r.cc.ssthresh, at);
	assert_int_equal(r.cc.cwnd, at);
	before = r.cc.cwnd;
	assert_int_equal(hs_acks(&r, 50, 50, 1000, &at), TCP_CC_HS_NONE);
	assert_true(r.cc.cwnd < before + 10 * MSS);
	/* NewReno has no HyStart (Linux's reno): it doubles on */
	hs_start(&r, TCP_CC_NEWRENO);
	assert_int_equal(hs_acks(&r, 300, 50, 1000, &at), TCP_CC_HS_NONE);
	assert_true(r.cc.cwnd >= 300 * MSS);
}

/* ACKs 3 ms apart (no train) on a 10 ms path: slow start goes on while the
 * RTT stays within the minimum plus 4 ms (an eighth of it, clamped to 4 to
 * 16 ms); once a round's first 8 samples are all above that, it ends. */
static void test_hystart_delay(void **state)
{
	struct hs_run r;
	uint32_t at = 0;

	(void)state;
	hs_start(&r, TCP_CC_CUBIC);
	assert_int_equal(hs_acks(&r, 40, 3000, 10000, &at), TCP_CC_HS_NONE);
	assert_int_equal(hs_acks(&r, 200, 3000, 13900, &at), TCP_CC_HS_NONE);
	assert_int_equal(r.cc.ssthresh, UINT32_MAX);
	assert_int_equal(hs_acks(&r, 200, 3000, 14100, &at), TCP_CC_HS_DELAY);
	assert_int_equal(r.cc.ssthresh, at);
	/* once found, no more until a timeout; after one it looks again */
	assert_int_equal(hs_acks(&r, 50, 3000, 20000, &at), TCP_CC_HS_NONE);
	tcp_cc_on_rto(&r.cc, r.nxt - r.una, r.now);
	r.cc.ssthresh = UINT32_MAX;
	assert_int_equal(hs_acks(&r, 400, 3000, 20000, &at), TCP_CC_HS_DELAY);
}

/* Below 16 segments nothing ends slow start, however long the train, and
 * HyStart's round does not start either (Linux's cubictcp_acked looks only
 * from hystart_low_window on): ACKs 200 us apart on a 100 us path; the
 * first ACK that finds 16 starts the round, and the train fires once it
 * lasts half the path plus the TSO cushion (about 300 us here): at the
 * second ACK after, at 18. */
static void test_hystart_low_window(void **state)
{
	struct hs_run r;
	uint32_t at = 0;

	(void)state;
	hs_start(&r, TCP_CC_CUBIC);
	assert_int_equal(hs_acks(&r, 6, 200, 100, &at), TCP_CC_HS_NONE);
	assert_int_equal(r.cc.cwnd, 16 * MSS);
	assert_int_equal(r.cc.ssthresh, UINT32_MAX);
	assert_int_equal(hs_acks(&r, 1, 200, 100, &at), TCP_CC_HS_NONE);
	assert_int_equal(r.cc.cwnd, 17 * MSS);
	assert_int_equal(hs_acks(&r, 10, 200, 100, &at), TCP_CC_HS_TRAIN);
	assert_int_equal(at, 18 * MSS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_set_mss_rescales),
		cmocka_unit_test(test_newreno_slow_start_doubles),
		cmocka_unit_test(test_slow_start_delayed_and_stretch_acks),
		cmocka_unit_test(test_slow_start_stops_at_ssthresh),
		cmocka_unit_test(test_newreno_congestion_avoidance),
		cmocka_unit_test(test_no_growth_when_not_cwnd_limited),
		cmocka_unit_test(test_newreno_loss_halves),
		cmocka_unit_test(test_newreno_rto),
		cmocka_unit_test(test_recovery_exit),
		cmocka_unit_test(test_idle_restart),
		cmocka_unit_test(test_cubic_loss_and_k),
		cmocka_unit_test(test_cubic_curve_shape),
		cmocka_unit_test(test_cubic_convex_large_window),
		cmocka_unit_test(test_cubic_reno_friendly_short_rtt),
		cmocka_unit_test(test_cubic_fast_convergence),
		cmocka_unit_test(test_cubic_rto),
		cmocka_unit_test(test_cubic_stretch_ack_bounded),
		cmocka_unit_test(test_cubic_degenerate_inputs),
		cmocka_unit_test(test_bounds_both_algorithms),
		cmocka_unit_test(test_prr_proportional_reduction),
		cmocka_unit_test(test_prr_slow_start_reduction_bound),
		cmocka_unit_test(test_hystart_ack_train),
		cmocka_unit_test(test_hystart_delay),
		cmocka_unit_test(test_hystart_low_window),
	};
	return cmocka_run_group_tests_name("tcp_cc", tests, NULL, NULL);
}
