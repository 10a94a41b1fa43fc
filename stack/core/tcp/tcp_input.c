/*
 * TCP input: segment parsing and the state machine of RFC 9293 §3.10.7.
 *
 * CLOSED (no connection), LISTEN and SYN-SENT are handled first; every other
 * state runs the shared steps in order: sequence check (with PAWS, RFC 7323
 * §5), RST, SYN, ACK, text, FIN. Each step is a function returning a verdict.
 * RFC 5961 hardens the RST, SYN and ACK steps against blind attacks.
 *
 * RFCs: 9293 §3.10.7, 7323, 5961, 2018/6675 (SACK), 5681/6582 (fast
 * retransmit, NewReno), 6298 (RTT), 4987 (SYN cookies), 1122 §4.2,
 * 3168 (ECN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/copy.h"
#include "stack/core/ip4.h"
#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/wire.h"

enum tcp_verdict {
	TCP_V_CONTINUE,     /* go on with the next step */
	TCP_V_DROP,         /* silently discard */
	TCP_V_ACK,          /* discard and send an ACK */
	TCP_V_DONE,         /* finished (the connection may be gone) */
};

int tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst, bool csum_ok, struct tcp_seg *g)
{
	/* Options: like Linux, stop at a malformed one and keep what was read. */
	switch (tcp_seg_parse(p, len, src, dst, g)) {
	case WIRE_OK:
		break;
	case WIRE_TRUNCATED:
		return DROP_TCP_TRUNCATED;
	default:
		return DROP_TCP_BAD_OFFSET;
	}
	/* No IPv4 datagram holds it, and the pseudo-header's 16-bit length
	 * cannot say it: not a checksum failure, a reason of its own. */
	if (len > 65535)
		return DROP_TCP_TOO_LONG;
	/* Not when the device verified it, or the segment never left this
	 * host (STACK_RX_CSUM_OK): Linux's CHECKSUM_UNNECESSARY/PARTIAL; nor
	 * on a link that checks none (the fuzzer's). */
	if (!csum_ok && csum_fold(csum_partial(p, len, csum_pseudo4(src, dst, IP_PROTO_TCP, (uint16_t)len))) != 0)
		return DROP_TCP_BAD_CSUM;
	return 0;
}

/* RFC 6298 (2.2), (2.3) as Linux computes them (tcp_rtt_estimator,
 * __tcp_set_rto; Sarolahti and Kuznetsov): mdev is 4 RTTVAR; the variance
 * term of the RTO (rto_var, Linux's rttvar_us) starts at twice the first
 * RTT, 200 ms at least (TCP_RTO_MIN), rises at once with mdev, and falls
 * only once a round trip (when an ACK passes rto_var_seq, what was sent
 * when it was last set), by a quarter of its excess over the round trip's
 * largest mdev (mdev_max, which starts each round trip at TCP_RTO_MIN); a
 * sample below SRTT moves mdev an eighth as much. Deviation from RFC
 * 6298, which lowers RTTVAR with every sample and floors the RTO at 1 s,
 * not its variance term at 200 ms. Measured on Linux 6.18 (rawframes
 * bulk_rto_variance_held: a 0.2 s handshake, five ACKs of 0.2 s
 * samples): the next resend 0.6 s after them; pstack's RFC 6298 estimator
 * had it 0.4 s after. una: what the ACK that gave the sample acknowledges. */
static void tcp_update_rtt(struct tcp_conn *c, uint32_t rtt, uint32_t min_sample, tcp_seq una, uint64_t now)
{
	if (!rtt)
		rtt = 1;
	c->last_rtt = rtt;
	/* The least RTT over the last TCP_MIN_RTT_WLEN_US (Linux's
	 * tcp_update_rtt_min, tcp_min_rtt_wlen), from the newest segment's. */
	c->min_rtt = tcp_minmax_running_min(&c->min_rtt_f, TCP_MIN_RTT_WLEN_US, now, min_sample ? min_sample : 1);
	if (!c->rtt_valid) {
		c->srtt = rtt;
		c->mdev = 2 * rtt;
		c->rto_var = c->mdev > TCP_RTO_MIN_US ? c->mdev : TCP_RTO_MIN_US;
		c->mdev_max = c->rto_var;
		c->rto_var_seq = c->snd_max;
		c->rtt_valid = true;
	} else {
		int64_t m = (int64_t)rtt - c->srtt;

		c->srtt = (7 * c->srtt + rtt) / 8;
		if (m < 0) {
			m = -m - c->mdev / 4;
			if (m > 0)
				m /= 8;
		} else {
			m -= c->mdev / 4;
		}
		c->mdev = (uint32_t)((int64_t)c->mdev + m);
		if (c->mdev > c->mdev_max) {
			c->mdev_max = c->mdev;
			if (c->mdev_max > c->rto_var)
				c->rto_var = c->mdev_max;
		}
		if (seq_gt(una, c->rto_var_seq)) {
			if (c->mdev_max < c->rto_var)
				c->rto_var -= (c->rto_var - c->mdev_max) / 4;
			c->rto_var_seq = c->snd_max;
			c->mdev_max = TCP_RTO_MIN_US;
		}
	}
	c->rttvar = c->mdev / 4;            /* TCP_INFO's (Linux's mdev_us >> 2) */
	c->rto = c->srtt + c->rto_var;
	if (c->rto > tcp_rto_max_us(c))
		c->rto = (uint32_t)tcp_rto_max_us(c);    /* Linux's tcp_bound_rto */
	/* RFC 6298 (5.7) and Karn: the backoff ends with a valid sample, not
	 * with any ACK (Linux's tcp_ack_update_rtt: "only reset backoff on
	 * valid RTT measurement"). */
	c->backoff = 0;
}

/* RFC 7323 §4 (RTTM): the RTT an echoed timestamp gives, in microseconds;
 * 0 (no sample) when the echo lies INT_MAX / 1000 ms or more in the past or
 * in the future, a bogus TSecr whose delta times 1000 would wrap (like
 * Linux's tcp_rtt_tsopt_us()). */
static uint32_t ts_rtt_us(const struct tcp_conn *c, uint32_t tsecr, uint64_t now)
{
	uint32_t delta = tcp_ts_now(c, now) - tsecr;

	return delta < INT32_MAX / 1000 ? delta * 1000 : 0;
}

/* Like Linux's __tcp_oow_rate_limited(): true when c answered an invalid
 * segment less than net.ipv4.tcp_invalid_ratelimit (500 ms) ago; else
 * records now. */
static bool oow_rate_limited(struct tcp_conn *c, uint64_t now)
{
	if (c->last_oow_ack_at && now - c->last_oow_ack_at < (uint64_t)c->s->cfg.tcp_invalid_ratelimit_ms * 1000)
		return true;
	c->last_oow_ack_at = now;
	return false;
}

/*
 * RFC 5961 §7: challenge ACKs are throttled. One stack-wide budget of a fixed
 * size a second is an off-path attacker's side channel (CVE-2016-5696: it
 * exhausts the budget and counts the challenge ACKs it does not see), so, like
 * Linux since 4.7 (tcp_send_challenge_ack()): first a limit per connection,
 * one per tcp_invalid_ratelimit (shared with the ACKs to out-of-window
 * segments), then a budget for the stack drawn each second at random in
 * [limit / 2, limit * 3 / 2) (tcp_challenge_ack_limit), from a keyed hash of
 * the second that an attacker cannot compute. Linux 6.0 went further and
 * leaves the stack-wide budget off by default (tcp_challenge_ack_limit =
 * INT_MAX): so do we (stack_config.tcp_challenge_ack_limit); the
 * per-connection limit is what protects.
 */
static void challenge_ack(struct tcp_conn *c, uint64_t now)
{
	struct tcp_table *t = c->s->tcp;
	uint32_t limit = c->s->cfg.tcp_challenge_ack_limit ? c->s->cfg.tcp_challenge_ack_limit : 1;
	uint64_t sec = now / 1000000;

	if (oow_rate_limited(c, now))
		return;
	/* Linux's tcp_send_challenge_ack(): INT_MAX (its default since 6.0,
	 * measured here: net.ipv4.tcp_challenge_ack_limit = 2147483647) is
	 * no stack-wide budget at all. */
	if (limit == INT32_MAX) {
		tcp_send_ack(c, now);
		return;
	}
	if (!t->challenge_sec || t->challenge_sec != sec + 1) {
		uint32_t half = limit / 2 + (limit & 1);
		uint8_t buf[9];

		memcpy(buf, &sec, 8);
		buf[8] = 'C';
		t->challenge_sec = sec + 1;     /* + 1: 0 stands for "not drawn yet" */
		t->challenge_count = half + (uint32_t)(siphash24(c->s->cfg.secret, buf, sizeof(buf)) % limit);
	}
	if (!t->challenge_count)
		return;
	t->challenge_count--;
	tcp_send_ack(c, now);
}

/* The MSS a SYN's option gives: RFC 9293 §3.7.1's default without one,
 * and with one of 0, which Linux's tcp_parse_options skips ("if
 * (in_mss)"), leaving the default mss_clamp (TCP_MSS_DEFAULT, 536). */
static uint16_t syn_mss(const struct tcp_seg *g)
{
	return g->has_mss && g->mss ? g->mss : TCP_DEFAULT_MSS;
}

static uint16_t clamp_mss(const struct tcp_conn *c, const struct tcp_seg *g)
{
	uint32_t m = syn_mss(g);

	if (m > c->advmss)
		m = c->advmss;
	if (c->opt.maxseg && m > (uint32_t)c->opt.maxseg)
		m = (uint32_t)c->opt.maxseg;
	if (m < TCP_MIN_SND_MSS)
		m = TCP_MIN_SND_MSS;
	return (uint16_t)m;
}

/* Options the peer's SYN offered become the connection's. */
static void take_syn_options(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	c->mss_clamp = clamp_mss(c, g);
	c->ws_ok = g->has_ws;
	if (c->ws_ok) {
		c->snd_wscale = g->ws;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->ts_ok = g->has_ts;
	if (c->ts_ok) {
		c->ts_recent = g->tsval;
		c->ts_recent_ms = (uint32_t)(now / 1000);
	}
	c->sack_ok = g->sack_ok;
	/* Like Linux's mss_cache: the payload per segment after the options
	 * every segment carries (timestamps, 12 bytes), within the path MTU. */
	tcp_sync_mss(c);
	/* Linux's tcp_initialize_rcv_mss(): a guess, at most RFC 9293's default
	 * of 536, until the peer's segments show their size. */
	c->rcv_mss = c->mss < TCP_DEFAULT_MSS ? c->mss : TCP_DEFAULT_MSS;
	tcp_cc_init(&c->cc, c->cc.algo, c->mss);
}

/*
 * Linux's tcp_init_buffer_space(), the receive side: the window clamp is the
 * buffer's space less one segment ("force reservation of one segment"), at
 * least two segments; rcv_ssthresh at most that. 64088 for 64 KiB and a
 * 1448-byte segment, as getsockopt(TCP_WINDOW_CLAMP) and TCP_INFO's
 * tcpi_rcv_ssthresh read on Linux 6.18 right after connect. A clamp the
 * application set stays its own.
 */
static void init_rcv_clamp(struct tcp_conn *c)
{
	uint64_t maxwin = c->rcvq.limit;
	uint32_t adv = tcp_advmss_data(c), clamp;

	c->rcvbuf_hs = c->opt.rcvbuf >= 0 ? c->rcvq.limit : 0;
	if (c->opt.window_clamp)
		return;
	if (maxwin > (65535ull << c->rcv_wscale))
		maxwin = 65535ull << c->rcv_wscale;
	clamp = (uint32_t)maxwin;
	if (clamp > 2u * adv && clamp + adv > maxwin)
		clamp = (uint32_t)maxwin - adv > 2u * adv ? (uint32_t)maxwin - adv : 2u * adv;
	c->rcv_clamp = clamp;
	if (c->rcv_ssthresh > clamp)
		c->rcv_ssthresh = clamp;
}

/*
 * Linux's tcp_init_buffer_space(), autotuning's start: the first
 * measuring interval starts now, and what an interval must exceed to grow
 * the buffer is the least of rcv_ssthresh, the window offered and ten
 * segments (TCP_INIT_CWND advmss: 14480 with timestamps, as TCP_INFO's
 * tcpi_rcv_space reads on Linux 6.18 right after connect).
 */
static void init_rcv_space(struct tcp_conn *c, uint64_t now)
{
	uint32_t space = 10u * tcp_advmss_data(c), wnd = c->rcv_adv - c->rcv_wup;

	if (c->rcv_ssthresh && c->rcv_ssthresh < space)
		space = c->rcv_ssthresh;
	if (seq_gt(c->rcv_adv, c->rcv_wup) && wnd < space)
		space = wnd;
	c->rcv_space = space;
	c->rcv_copied = 0;
	c->rcv_space_at = now;
}

/* A window larger than any the peer offered before (Linux's
 * tcp_ack_update_window, and the handshake's): the MSS is synced again,
 * bounded by half of it (tcp_sync_mss: tcp_bound_to_half_wnd), the
 * congestion window kept in segments. */
static void max_wnd_sync(struct tcp_conn *c)
{
	if (!c->mss_clamp)
		return;
	tcp_sync_mss(c);
	tcp_cc_set_mss(&c->cc, c->mss);
}

static void enter_established(struct tcp_conn *c, uint64_t now)
{
	/* RFC 6298 (5.7): no valid RTT sample from the handshake (its SYN or
	 * SYN-ACK was resent and no timestamp told which copy was answered):
	 * the RTO is 3 s when data transmission begins, not the 1 s that
	 * expired on the SYN. Like Linux's tcp_init_metrics() (srtt 0:
	 * TCP_TIMEOUT_FALLBACK). */
	if (!c->rtt_valid) {
		c->rto = TCP_RTO_FALLBACK_US;
		c->rttvar = TCP_RTO_FALLBACK_US / 4;
		c->mdev = c->mdev_max = c->rto_var = TCP_RTO_FALLBACK_US;
	}
	tcp_set_state(c, TCP_STATE_ESTABLISHED);
	c->was_connected = true;
	tcp_cc_validated(&c->cc, now);     /* Linux's tcp_init_transfer: the transfer starts */
	c->delivered++;         /* Linux counts the SYN (or SYN-ACK) delivered */
	/* Its delivery sample: sent while application-limited (from the start). */
	c->rate_app_limited = c->app_limited != 0;
	if (c->app_limited && (int32_t)(c->delivered - c->app_limited) > 0)
		c->app_limited = 0;
	c->rto_at = STACK_NEVER;
	tcp_rto_done(c, now);
	c->retries = 0;
	c->backoff = 0;
	c->last_rcv_at = now;
	c->last_ack_at = now;
	tcp_sndbuf_expand(c);       /* Linux's tcp_init_buffer_space() */
	init_rcv_clamp(c);
	init_rcv_space(c, now);
	if (c->opt.keepalive)
		tcp_timer_set(c, &c->keep_at, now + (uint64_t)tcp_keepidle_s(c) * 1000000);
}

/*
 * Quick-ACK mode, as Linux runs it (tcp_input.c): at the start of a
 * connection, after an idle period, on duplicate data and on a CE mark,
 * the next ACKs go at once rather than every second segment or after the
 * delayed-ACK timeout, so that a sender in slow start, or recovering, is
 * not held back by the receiver (RFC 5681 §4.2 allows the delay, RFC 1122
 * §4.2.3.2 bounds it; Linux's tcp_incr_quickack() gives as many quick ACKs
 * as half the window holds segments, at most 16). Not while interactive
 * (pingpong): a reply carries the ACK.
 */
static void incr_quickack(struct tcp_conn *c, unsigned max)
{
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_wup) ? c->rcv_adv - c->rcv_wup : 0;
	unsigned q = wnd / (2u * (c->rcv_mss ? c->rcv_mss : TCP_DEFAULT_MSS));

	if (!q)
		q = 2;
	if (q > max)
		q = max;
	if (q > c->quick)
		c->quick = (uint8_t)q;
}

void tcp_enter_quickack_mode(struct tcp_conn *c, unsigned max)
{
	incr_quickack(c, max);
	c->pingpong = false;
	c->ato = TCP_DELACK_US;     /* TCP_ATO_MIN */
}


static bool in_quickack_mode(const struct tcp_conn *c)
{
	return c->quick && !c->pingpong;
}

/*
 * Linux's tcp_grow_window(): each segment received lets the window offer two
 * MSS more (twice the segment for a larger one, a TSO frame from the TAP),
 * up to what the buffer may hold. Linux bounds it by its free space, which
 * its sk_buff overhead keeps above the window while data waits to be read;
 * the ring has no such margin, so the bound is the ring's size (less what
 * TCP_WINDOW_CLAMP allows): what is unread still limits the window offered
 * (tcp_rcv_space_select). Not for a small segment: Linux grows it only when
 * the segment's bytes are worth its buffer (truesize), which a short one is
 * not; measured on Linux 6.18 over a veth pair, 700 bytes did not grow it
 * and 1000 did. pstack takes half an MSS as the line.
 */
static void grow_window(struct tcp_conn *c, uint32_t len)
{
	uint64_t reach = tcp_ring_reach(&c->rcvq);
	uint32_t room, incr = 2u * c->advmss;

	if (c->opt.window_clamp && reach > c->opt.window_clamp)
		reach = c->opt.window_clamp;
	if (c->rcv_clamp && reach > c->rcv_clamp)
		reach = c->rcv_clamp;       /* Linux: room = window_clamp less rcv_ssthresh */
	room = reach > UINT32_MAX ? UINT32_MAX : (uint32_t)reach;

	if (!c->rcv_ssthresh || c->rcv_ssthresh >= room || len < c->advmss / 2u)
		return;
	if (incr < 2u * len)
		incr = 2u * len;
	c->rcv_ssthresh += incr < room - c->rcv_ssthresh ? incr : room - c->rcv_ssthresh;
}

/* Like Linux's tcp_event_data_recv(): in-sequence data came. The first of
 * the connection, and the first after a silence longer than the RTO (the
 * sender restarts from a small window), start quick-ACK mode. */
/*
 * Linux's tcp_measure_rcv_mss() (from tcp_event_data_recv, and for
 * out-of-order data): the peer's segment size, for the ACK decisions. A frame handed
 * over whole with its segment size (a TAP's GSO frame from the local
 * kernel: s->rx_gso_size) counts as segments of that size, as Linux takes
 * the skb's gso_size; one without (a TAP without IFF_VNET_HDR cannot
 * say) at most our MSS. A segment of rcv_mss or more with PSH ends a write:
 * once the application has read it all, tcp_recv ACKs at once; so does a
 * short one, which also lowers rcv_mss when the next is as short (Linux's
 * last_seg_size: the size without the header and the timestamp option,
 * SACK blocks aside). Measured on Linux 6.18 (a raw peer on a TAP with
 * IFF_VNET_HDR): a 10000-byte GSO frame of gso_size 1000 gave tcpi_rcv_mss
 * 1000; then two 700-byte segments with PSH, 1000 and then 700.
 */
static void measure_rcv_mss(struct tcp_conn *c, const struct tcp_seg *g)
{
	uint32_t lss = c->last_seg_size, len = c->s->rx_gso_size ? c->s->rx_gso_size : g->len;

	c->last_seg_size = 0;
	if (len >= c->rcv_mss) {
		c->rcv_ratio = true;
		c->rcv_mss = (uint16_t)(len < tcp_advmss_data(c) ? len : tcp_advmss_data(c));
		if (g->flags & TCP_PSH)
			c->ack_pushed = true;
		return;
	}
	len += g->hlen;
	if (len >= TCP_DEFAULT_MSS + TCP_HLEN ||
	    (len >= TCP_MIN_MSS + TCP_HLEN && !(g->flags & (TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH)))) {
		len -= TCP_HLEN + (c->ts_ok ? 12u : 0u);
		c->last_seg_size = (uint16_t)len;
		if (len == lss) {
			c->rcv_mss = (uint16_t)len;
			return;
		}
	}
	if (c->ack_pushed)
		c->ack_pushed2 = true;
	c->ack_pushed = true;
}

/*
 * The receiver's round-trip estimate (Linux's rcv_rtt_est, which TCP_INFO
 * reports as tcpi_rcv_rtt), from a sample in microseconds, as Linux 6.18's
 * tcp_rcv_rtt_update: a sample below the estimate (or the first) is taken
 * at once ("always seek for minimal rtt", 6.16); a larger one is smoothed
 * in (an eighth) only when it came from a timestamp (not win_dep) and
 * nothing waits to be read: a reader that lags must not make the estimate
 * grow ("skip big rtt sample if receive queue is not empty", 6.16).
 */
static void rcv_rtt_update(struct tcp_conn *c, uint32_t sample, bool win_dep)
{
	uint64_t m = (uint64_t)sample << 3;

	if (!c->rcv_rtt8 || m < c->rcv_rtt8) {
		c->rcv_rtt8 = m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
		return;
	}
	if (win_dep || c->rcvq.len)
		return;
	c->rcv_rtt8 = c->rcv_rtt8 - (c->rcv_rtt8 >> 3) + sample;
}

/* Without timestamps (Linux's tcp_rcv_rtt_measure, Dynamic Right-Sizing):
 * the time from one in-order arrival until the data reaches the edge of
 * the window offered then (RCV.NXT plus the window last advertised) is at
 * least a round trip; each such span is a sample, and starts the next. */
static void rcv_rtt_measure(struct tcp_conn *c, uint64_t now)
{
	if (c->rcv_rtt_at) {
		if (seq_lt(c->rcv_nxt, c->rcv_rtt_seq))
			return;
		rcv_rtt_update(c, now > c->rcv_rtt_at ? (uint32_t)(now - c->rcv_rtt_at) : 1, true);
	}
	c->rcv_rtt_seq = c->rcv_nxt + (c->rcv_adv - c->rcv_wup);
	c->rcv_rtt_at = now ? now : 1;
}

/* With timestamps (Linux's tcp_rcv_rtt_measure_ts): a segment of at least
 * rcv_mss that echoes a TSval not seen before gives the time since we sent
 * that TSval; an echo of this very millisecond is no sample (6.16: "remove
 * zero TCP TS samples for autotuning"). Every segment of an established
 * connection that passed the ACK checks comes here, pure ACKs too, which
 * only note their echo. */
static void rcv_rtt_measure_ts(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	uint32_t delta;

	if (!c->ts_ok || !g->has_ts || g->tsecr == c->rcv_rtt_last_tsecr)
		return;
	c->rcv_rtt_last_tsecr = g->tsecr;
	if (g->len + ((g->flags & TCP_FIN) ? 1u : 0u) < c->rcv_mss)     /* its sequence space */
		return;
	delta = tcp_ts_now(c, now) - g->tsecr;
	if (delta && delta < INT32_MAX / 1000)
		rcv_rtt_update(c, delta * 1000, false);
}

static void event_data_recv(struct tcp_conn *c, uint64_t now)
{
	c->ack_sched = true;
	rcv_rtt_measure(c, now);
	/* The ato follows the time between the peer's segments (Linux's
	 * tcp_event_data_recv): the first data starts the delayed-ACK engine
	 * in quick-ACK mode; a gap longer than the RTO (the sender idle)
	 * gives quick ACKs again. */
	if (!c->ato) {
		incr_quickack(c, TCP_MAX_QUICKACKS);
		c->ato = TCP_DELACK_US;
	} else {
		uint64_t m = now - c->lrcvtime;

		if (m <= TCP_DELACK_US / 2) {
			c->ato = c->ato / 2 + TCP_DELACK_US / 2;
		} else if (m < c->ato) {
			c->ato = (uint32_t)(c->ato / 2 + m);
			if (c->ato > c->rto)
				c->ato = c->rto;
		} else if (m > c->rto) {
			incr_quickack(c, TCP_MAX_QUICKACKS);
		}
	}
	c->lrcvtime = now;
}

/*
 * Linux's __tcp_select_window(sk) >= tp->rcv_wnd: the application keeps up,
 * so an ACK now offers a window no smaller than the last one. Otherwise the
 * ACK waits for the read (tcp_recv), which offers the room it made in the
 * same ACK: one ACK per read of a receiver that lags, not one at the end of
 * each batch of frames and another for the read's window update. Linux's
 * buffer keeps the overhead of its sk_buffs to spare, so its free space
 * stays above the window while data waits; the ring holds exactly the
 * window, and every byte not yet read takes its room. Deviation: so the
 * test here is against half the window last offered.
 */
static bool window_keeps_up(const struct tcp_conn *c)
{
	uint64_t space = tcp_rcv_space(c), max = 65535ull << c->rcv_wscale;

	if (space > max)
		space = max;
	return space >= (uint32_t)(c->rcv_adv - c->rcv_wup) / 2;
}

/*
 * An ACK is due at once, and goes at once (Linux's __tcp_ack_snd_check
 * from the softirq: every second full segment gets its ACK), unless the
 * segment waited while the program read from the connection. Linux queues
 * what comes while a reader holds the socket in its backlog, and since
 * 6.8 sends one ACK for the whole backlog (TCP_ACK_DEFERRED,
 * net.ipv4.tcp_backlog_ack_defer, on by default). A read here holds the
 * stack's lock, and what comes meanwhile waits in the device: the caller
 * of stack_rx_batch_begin says how many reads there had been when its
 * frames began to wait (the stack thread: when it woke for them; a thread
 * of the program that reads the device itself, busy-polling or blocked in
 * recv: when its last batch ended), and a connection read from since has
 * its ACKs for the batch go as one, in the timer pass right after it.
 * Deviation: frames that came after the read ended count too (a TAP
 * frame carries no arrival time). Before, every batch deferred its ACKs:
 * with plain frames, 8 MiB through a 5 ms path drew about 100 ACKs, the
 * kernel's 1660 to 2160 (pstack's now 800 to 1200).
 */
static void ack_soon(struct tcp_conn *c)
{
	if (c->s->rx_batch && c->read_no > c->s->rx_batch_reads)
		tcp_ackq_add(c);
	else
		c->ack_now = true;
}

/*
 * The duplicate ACK out-of-order data gets (Linux's __tcp_ack_snd_check
 * with data held out of order): at once in quick-ACK mode, without SACK,
 * and for the first three at a RCV.NXT (TCP_FASTRETRANS_THRESH: the
 * sender's fast retransmit needs them); after that, SACK compression:
 * the next ones wait, one ACK going for them after 5% of the RTT, 1 ms at
 * most (net.ipv4.tcp_comp_sack_delay_ns), or once 44 are held
 * (tcp_comp_sack_nr), or with any ACK sent meanwhile. Deviation: Linux
 * takes the smaller of its receiver's RTT estimate and SRTT; pstack has
 * SRTT only.
 */
static void ofo_ack(struct tcp_conn *c, uint64_t now)
{
	uint64_t delay;

	/* What would send an ACK at once anyway: more than a full segment
	 * taken in order and not yet acknowledged, quick-ACK mode. */
	if (c->ack_now || in_quickack_mode(c) || (c->rcv_nxt - c->rcv_wup > c->rcv_mss && window_keeps_up(c)) ||
	    !c->sack_ok || c->comp_acks >= TCP_COMP_SACK_NR) {
		c->ack_now = true;
		return;
	}
	if (c->comp_rcv_nxt != c->rcv_nxt) {
		c->comp_rcv_nxt = c->rcv_nxt;
		c->comp_dups = 0;
	}
	if (c->comp_dups < TCP_DUPTHRESH) {
		c->comp_dups++;
		c->ack_now = true;
		return;
	}
	delay = c->srtt / 20;
	if (delay > TCP_COMP_SACK_DELAY_US)
		delay = TCP_COMP_SACK_DELAY_US;
	if (!delay) {
		/* An RTT under 20 us: the timer would fire at once. */
		c->ack_now = true;
		return;
	}
	c->comp_acks++;
	if (c->comp_at == STACK_NEVER)
		tcp_timer_set(c, &c->comp_at, now + delay);
}

/*
 * Linux's tcp_send_delayed_ack(): the ACK waits the ato, which
 * tcp_event_data_recv adapts to the time between the peer's segments and
 * the delayed-ACK timer doubles each time it has to fire (up to the RTO),
 * bounded by the smoothed RTT (40 ms at least) and by 500 ms, or 200 ms
 * (TCP_DELACK_MAX) when interactive or a write's end came; an ACK already
 * waiting keeps its earlier time, and goes now when that is less than a
 * quarter of the ato away. Measured on Linux 6.18 (100 ms RTT, 100-byte
 * segments 60 ms apart, past quick-ACK mode): the first delayed ACK after
 * 46 ms, then one ACK for every two segments (pstack: each after 40 ms).
 */
static void send_delayed_ack(struct tcp_conn *c, uint64_t now)
{
	uint64_t ato = c->ato, at;

	if (ato > TCP_DELACK_US) {
		uint64_t max_ato = c->pingpong || c->ack_pushed ? TCP_DELACK_MAX_US : TCP_ATO_MAX_US;

		if (c->rtt_valid) {
			uint64_t rtt = c->srtt > TCP_DELACK_US ? c->srtt : TCP_DELACK_US;

			if (rtt < max_ato)
				max_ato = rtt;
		}
		if (ato > max_ato)
			ato = max_ato;
	}
	if (ato > TCP_DELACK_MAX_US)
		ato = TCP_DELACK_MAX_US;    /* icsk_delack_max */
	at = now + ato;
	if (c->delack_at != STACK_NEVER) {
		if (c->delack_at <= now + ato / 4) {
			ack_soon(c);
			return;
		}
		if (at > c->delack_at)
			at = c->delack_at;
	}
	tcp_timer_set(c, &c->delack_at, at);
}

/*
 * RFC 3168 §6.1.3, like Linux's tcp_ecn_accept_cwr() and tcp_ecn_check_ce():
 * a data segment on an ECN connection. Its CWR says the sender reduced its
 * window: no more ECE (and an ACK at once: its window may be one segment).
 * A CE mark: ECE on everything we send until a CWR comes, and quick ACKs so
 * that the echo goes at once. A segment without ECT after ECT ones is
 * probably a retransmission: quick ACKs too. Pure ACKs carry no mark that
 * counts (they are never ECT).
 */
static void ecn_data_recv(struct tcp_conn *c, const struct tcp_seg *g)
{
	if (!c->ecn_ok)
		return;
	if (g->flags & TCP_CWR) {
		c->ecn_demand_cwr = false;
		ack_soon(c);
	}
	switch (g->ecn) {
	case TCP_ECN_NOT_ECT:
		if (c->ecn_seen)
			tcp_enter_quickack_mode(c, 2);
		break;
	case TCP_ECN_CE:
		if (!c->ecn_demand_cwr) {
			tcp_enter_quickack_mode(c, 2);
			c->ecn_demand_cwr = true;
		}
		c->ecn_seen = true;
		break;
	default:
		c->ecn_seen = true;
		break;
	}
}

/* Linux's tcp_ecn_received_counters, which its tcp_rcv_established calls
 * for every segment past tcp_validate_incoming in any ECN mode: a segment
 * with ECT or CE counts its payload (as it came, len) by codepoint, a CE
 * one its segments (AccECN's received_ce; RFC 3168 mode shows them in
 * TCP_INFO too). */
static void ecn_received_counters(struct tcp_conn *c, const struct tcp_seg *g, uint32_t len)
{
	if (g->ecn == TCP_ECN_NOT_ECT)
		return;
	if (g->ecn == TCP_ECN_CE)
		c->received_ce += tcp_pcount(len, c->mss);
	c->received_ecn_bytes[g->ecn - 1] += len;
}

/* RFC 2883: a copy of [seq, end) arrived again; the next ACK reports it in
 * a D-SACK block (first), so that the sender can tell a spurious
 * retransmission (RFC 3708) and how much the path reorders. */
static void dsack_note(struct tcp_conn *c, tcp_seq seq, tcp_seq end)
{
	if (!c->sack_ok || !c->s->cfg.tcp_dsack || !seq_lt(seq, end))
		return;
	c->dsack_on = true;
	c->dsack[0] = seq;
	c->dsack[1] = end;
}

/* Linux's tcp_dsack_extend(): [seq, end) came twice too; the D-SACK block
 * already noted grows over it when the two touch (tcp_sack_extend), else
 * it stays as it is. */
static void dsack_extend(struct tcp_conn *c, tcp_seq seq, tcp_seq end)
{
	if (!c->dsack_on) {
		dsack_note(c, seq, end);
		return;
	}
	if (seq_leq(seq, c->dsack[1]) && seq_geq(end, c->dsack[0])) {
		if (seq_lt(seq, c->dsack[0]))
			c->dsack[0] = seq;
		if (seq_gt(end, c->dsack[1]))
			c->dsack[1] = end;
	}
}

/* ---- out-of-order queue ---- */

/* In-order text just taken covered data held out of order: it came twice.
 * Like Linux's tcp_ofo_queue() (tcp_dsack_extend), the next ACK reports
 * the covered part in its D-SACK block, one block grown over ranges that
 * touch. */
static void dsack_ofo_covered(struct tcp_conn *c)
{
	for (const struct tcp_ofo *o = c->ofo; o && seq_lt(o->seq, c->rcv_nxt); o = o->next)
		dsack_extend(c, o->seq, seq_lt(o->seq + o->len, c->rcv_nxt) ? o->seq + o->len : c->rcv_nxt);
}

/* The latest out-of-order arrival at seq, for the order of the SACK
 * blocks: the most recent first; older entries move down, the oldest goes. */
static void ofo_note_last(struct tcp_conn *c, tcp_seq seq)
{
	if (c->ofo_nlast < TCP_SACK_BLOCKS)
		c->ofo_nlast++;
	memmove(&c->ofo_last[1], &c->ofo_last[0], (c->ofo_nlast - 1u) * sizeof(c->ofo_last[0]));
	c->ofo_last[0] = seq;
}

static void ofo_insert(struct tcp_conn *c, tcp_seq seq, const uint8_t *data, uint32_t len)
{
	struct tcp_ofo **pp = &c->ofo, *o;
	bool charged;
	tcp_seq end = seq + len;

	ofo_note_last(c, seq);
	while (*pp && seq_leq((*pp)->seq + (*pp)->len, seq))
		pp = &(*pp)->next;
	if (*pp && seq_leq((*pp)->seq, seq)) {
		tcp_seq bend = (*pp)->seq + (*pp)->len;

		if (seq_geq(bend, end)) {
			dsack_note(c, seq, end);        /* all of it held already */
			return;
		}
		/* Linux's tcp_data_queue_ofo: a partial overlap sets the D-SACK
		 * block; a segment that starts with the block and covers it
		 * replaces it, extending the block. */
		if (seq == (*pp)->seq)
			dsack_extend(c, seq, bend);
		else
			dsack_note(c, seq, bend);
		data += bend - seq;
		len -= bend - seq;
		seq = bend;
		pp = &(*pp)->next;
	}
	/* What it covers of the blocks after it came twice (Linux's
	 * tcp_data_queue_ofo, merge_right: tcp_dsack_extend for each block
	 * covered whole, then for the start of one it overlaps). */
	while (*pp && seq_leq((*pp)->seq + (*pp)->len, end)) {
		o = *pp;
		dsack_extend(c, o->seq, o->seq + o->len);
		*pp = o->next;
		c->ofo_bytes -= o->len;
		c->ofo_count--;
		tcp_ofo_free(c, o);
	}
	if (*pp && seq_lt((*pp)->seq, end)) {
		dsack_extend(c, (*pp)->seq, end);
		len = (*pp)->seq - seq;
	}
	if (!len)
		return;
	if (c->ofo_count >= TCP_OFO_MAX_BLOCKS || c->ofo_bytes + len > c->rcvq.limit) {
		stack_drop(c->s, DROP_TCP_OFO_FULL);
		return;
	}
	/* Out-of-order data inside the window lives on the receive ring's
	 * reservation while the ring has not grown into it; beyond that it
	 * is charged, and it is the first thing to go when the stack-wide
	 * budget runs short (like Linux's tcp_prune_ofo_queue): the peer
	 * still has it and sends it again. */
	charged = tcp_ring_mem(&c->rcvq) + c->ofo_bytes + len > c->rcvq.resv;
	if (charged && !tcp_mem_charge(&c->s->tcp->mem, len)) {
		stack_drop(c->s, DROP_TCP_MEM);
		return;
	}
	o = malloc(sizeof(*o) + len);
	if (!o) {
		if (charged)
			tcp_mem_uncharge(&c->s->tcp->mem, len);
		stack_drop(c->s, DROP_TCP_NO_MEMORY);
		return;
	}
	o->charged = charged;
	o->seq = seq;
	o->len = len;
	stack_copy_bytes(o->data, data, len);
	o->next = *pp;
	*pp = o;
	c->ofo_bytes += len;
	c->ofo_count++;
	/* Linux 6.16's "adjust rcvbuf in presence of reorders"
	 * (tcp_data_queue_ofo): the buffer grows to take the out-of-order
	 * data's span too, as the last interval's reads would; not for a
	 * connection not yet accepted, or orphaned. */
	if (!c->parent && !c->orphan)
		tcp_rcvbuf_grow(c, c->rcv_space);
}

/* Moves out-of-order data that has become in order into the ring, as far
 * as the ring takes it. */
static void tcp_ofo_pull(struct tcp_conn *c)
{
	struct tcp_ofo *o;

	while ((o = c->ofo) && seq_leq(o->seq, c->rcv_nxt)) {
		tcp_seq oend = o->seq + o->len;

		/* A charged block's charge pays for the ring's growth: let it go first. */
		if (o->charged)
			tcp_mem_uncharge(&c->s->tcp->mem, o->len);
		if (seq_gt(oend, c->rcv_nxt)) {
			uint32_t off = c->rcv_nxt - o->seq;
			size_t n = tcp_ring_write(&c->rcvq, o->data + off, o->len - off);

			c->rcv_nxt += (uint32_t)n;
			c->bytes_received += n;
			if (n < o->len - off) {
				if (o->charged)
					tcp_mem_force(&c->s->tcp->mem, o->len);     /* still held */
				break;
			}
		}
		c->ofo = o->next;
		c->ofo_bytes -= o->len;
		c->ofo_count--;
		free(o);
	}
}

void tcp_ofo_free(struct tcp_conn *c, struct tcp_ofo *o)
{
	if (o->charged)
		tcp_mem_uncharge(&c->s->tcp->mem, o->len);
	free(o);
}

/* ---- the synchronized states' steps (RFC 9293 §3.10.7.4) ---- */

/*
 * Whether the segment may update the send window (RFC 9293 §3.10.7.4,
 * SND.WL1/SND.WL2), as Linux's tcp_may_update_window() takes it; una is
 * SND.UNA before the segment's ACK moved it. Deviation: a segment at
 * SND.WL1 that acknowledges nothing new (a duplicate ACK, or data at the
 * SEQ of the last ACK) updates the window only when it grows it or closes
 * it (the zero window since 6.5), where the RFC takes a smaller one too
 * (SND.WL2 =< SEG.ACK): Linux does, and a window that shrinks on a
 * reordered duplicate would cut what we resend. An ACK below SND.UNA
 * updates nothing (Linux's tcp_ack leaves at old_ack), whatever its SEQ.
 * The answer also tells a duplicate ACK (Linux's FLAG_WIN_UPDATE is one
 * of FLAG_NOT_DUP). Measured on Linux 6.18 (rawframes
 * bulk_window_dupack_shrink: a duplicate ACK offering 100 bytes of 2920,
 * then the timeout's resend is the whole segment; bulk_window_old_ack_new_seq).
 */
static bool may_update_window(const struct tcp_conn *c, const struct tcp_seg *g, tcp_seq una, uint32_t wnd)
{
	if (seq_lt(g->ack, una))
		return false;
	return seq_gt(g->ack, una) || seq_gt(g->seq, c->snd_wl1) ||
	       (g->seq == c->snd_wl1 && (wnd > c->snd_wnd || wnd == 0));
}

/*
 * Linux's tcp_disordered_ack_check: a segment that fails PAWS is taken all
 * the same when it is a pure duplicate ACK (the expected sequence number,
 * SND.UNA acknowledged again, no window to update) whose TSval lies within
 * a replay window of an RTO's worth of ticks of a 1200 Hz clock
 * (tcp_tsval_replay): ACKs the network reordered, whose SACK blocks loss
 * recovery needs. It can only repeat what the ACK field already says.
 */
static bool disordered_ack(const struct tcp_conn *c, const struct tcp_seg *g)
{
	uint32_t nwnd = (uint32_t)g->wnd << c->snd_wscale;
	uint64_t replay = tcp_backed_off_rto(c) * 1200 / 1000000;

	if (!(g->flags & TCP_ACK) || tcp_seg_len(g) || g->seq != c->rcv_nxt || g->ack != c->snd_una)
		return false;
	if (may_update_window(c, g, c->snd_una, nwnd))
		return false;
	return (int32_t)(c->ts_recent - g->tsval) <= (int64_t)replay;
}

/*
 * Linux's tcp_send_dupack(): the duplicate ACK for a segment that occupies
 * sequence space below RCV.NXT (not a SYN or RST) reports that part as a
 * D-SACK (RFC 2883 §4), and quick ACKs follow: our ACK was probably lost.
 */
static void dupack_note(struct tcp_conn *c, const struct tcp_seg *g, uint32_t slen)
{
	if (!slen || (g->flags & (TCP_RST | TCP_SYN)) || !seq_lt(g->seq, c->rcv_nxt))
		return;
	dsack_note(c, g->seq, seq_lt(g->seq + slen, c->rcv_nxt) ? g->seq + slen : c->rcv_nxt);
	tcp_enter_quickack_mode(c, TCP_MAX_QUICKACKS);
}

/* First: sequence number check, with PAWS and trimming to the window. */
static enum tcp_verdict step_seq(struct tcp_conn *c, struct tcp_seg *g, uint64_t now)
{
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t slen = tcp_seg_len(g);
	bool ok;

	/* RFC 7323 §5.3: PAWS, as Linux applies it (tcp_validate_incoming):
	 * a TSval one tick behind TS.Recent still passes (TCP_PAWS_WINDOW),
	 * and so does a reordered duplicate ACK (disordered_ack). */
	if (c->ts_ok && g->has_ts && !(g->flags & TCP_RST) && (int32_t)(c->ts_recent - g->tsval) > TCP_PAWS_WINDOW &&
	    (uint32_t)(now / 1000) - c->ts_recent_ms < TCP_PAWS_24DAYS_MS && !disordered_ack(c, g)) {
		/* A pure ACK from before RCV.NXT is an old ACK, common when
		 * the peer's ACKs and data leave by different queues: dropped
		 * without the duplicate ACK (Linux's tcp_disordered_ack_check,
		 * TCP_RFC7323_PAWS_ACK, TcpExtPAWSOldAck; since 6.14). */
		if ((g->flags & TCP_ACK) && !slen && seq_lt(g->seq, c->rcv_nxt)) {
			stack_drop(c->s, DROP_TCP_PAWS_OLD_ACK);
			return TCP_V_DROP;
		}
		stack_drop(c->s, DROP_TCP_PAWS);
		/* Its duplicate ACK (a SYN's challenge ACK) is limited as an
		 * out-of-window segment's is (tcp_validate_incoming:
		 * tcp_oow_rate_limited), but for text or a FIN. */
		if ((!slen || (g->flags & TCP_SYN)) && oow_rate_limited(c, now))
			return TCP_V_DROP;
		/* Its duplicate ACK is tcp_send_dupack's: a FIN or text below
		 * RCV.NXT is D-SACKed. Measured on Linux 6.18 (rawframes
		 * est_ts_wrap): a FIN again with a TSval 2^31 + 16 past
		 * TS.Recent drew an ACK with sack:1000001-1000002 (pstack:
		 * no SACK option). */
		dupack_note(c, g, slen);
		return TCP_V_ACK;
	}
	if (slen == 0)
		ok = wnd == 0 ? g->seq == c->rcv_nxt : seq_in(g->seq, c->rcv_nxt, c->rcv_nxt + wnd);
	else if (wnd == 0)
		ok = false;
	else
		ok = seq_in(g->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
		     seq_in(g->seq + slen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
	/* Like Linux's tcp_sequence() (since 6.17): text that starts in the
	 * window but ends beyond it is taken only while nothing waits to be
	 * read (the application may be slow; the segment it left room for
	 * must not overrun what it has not read); else the segment is
	 * dropped whole, its ACK field too, and answered with a duplicate
	 * ACK. A FIN alone beyond the window does not count (some stacks
	 * send one into a zero window). */
	if (g->len && c->rcvq.len && !(g->flags & (TCP_RST | TCP_SYN)) &&
	    seq_gt(g->seq + g->len, c->rcv_nxt + wnd))
		ok = false;
	if (!ok && wnd == 0 && g->seq == c->rcv_nxt && !(g->flags & TCP_SYN) && !(g->len && c->rcvq.len)) {
		/* A zero window still takes ACKs and RSTs (RFC 9293 §3.10.7.4):
		 * process the segment without its text. A bare FIN takes no
		 * buffer and is kept, as Linux's tcp_data_queue() does ("some
		 * stacks are known to send bare FIN packets in a loop even if we
		 * send RWIN 0"). */
		if (g->len) {
			c->ack_now = true;
			g->len = 0;
			g->flags &= (uint16_t)~TCP_FIN;
		}
		return TCP_V_CONTINUE;
	}
	if (!ok) {
		/* Data (or a FIN: it occupies a sequence number) that starts
		 * below RCV.NXT: a duplicate (RFC 2883 §4), its part below
		 * RCV.NXT D-SACKed though the rest runs past the window; our
		 * ACK was probably lost: quick ACKs (Linux's tcp_send_dupack(),
		 * tcp_data_queue()). */
		if (slen && !(g->flags & (TCP_RST | TCP_SYN)) && seq_lt(g->seq, c->rcv_nxt)) {
			dupack_note(c, g, slen);
			/* One that reaches Last.ACK.sent passes Linux's
			 * tcp_sequence() and its tcp_ack() takes its timestamp
			 * (tcp_replace_ts_recent), which the ACK then echoes. */
			if (c->ts_ok && g->has_ts && (g->flags & TCP_ACK) && seq_geq(g->seq + slen, c->rcv_wup) &&
			    seq_leq(g->seq, c->rcv_wup) && seq_geq(g->tsval, c->ts_recent) &&
			    !seq_gt(g->ack, c->snd_max) && !tcp_ack_too_old(c, g->ack)) {
				c->ts_recent = g->tsval;
				c->ts_recent_ms = (uint32_t)(now / 1000);
			}
		}
		stack_drop(c->s, DROP_TCP_OUT_OF_WINDOW);
		if (g->flags & TCP_RST)
			return TCP_V_DROP;
		/* Like Linux (tcp_oow_rate_limited): answer a segment that
		 * occupies no sequence space (or a SYN) at most every 500 ms, so
		 * that two confused ends cannot loop. A FIN occupies sequence
		 * space: its retransmission is always acknowledged. */
		if ((!slen || (g->flags & TCP_SYN)) && oow_rate_limited(c, now))
			return TCP_V_DROP;
		return TCP_V_ACK;
	}
	/* Trim what lies before RCV.NXT. (A SYN is left alone: the SYN step
	 * drops the segment with a challenge ACK.) What lies beyond the window
	 * stays, as in Linux, whose tcp_data_queue and tcp_data_queue_ofo
	 * queue a segment tcp_sequence let in whole (RFC 9293 §3.10.7.4 allows
	 * either; the check above let such a segment by only while nothing
	 * is unread): in order, it is taken whole, past the buffer too
	 * (sk_forced_mem_schedule; step_text_fin); out of order, it is held
	 * and SACKed whole. Measured on Linux 6.18
	 * (rawframes est_data_past_right_edge): 1000 bytes at RCV.NXT + 64000
	 * of a 64240-byte window, SACKed 64000-65000 (pstack trimmed it to
	 * 64000-64240). */
	if (seq_lt(g->seq, c->rcv_nxt) && !(g->flags & (TCP_RST | TCP_SYN))) {
		uint32_t d = c->rcv_nxt - g->seq;

		if (d > g->len)
			d = g->len;
		dsack_note(c, g->seq, g->seq + d);     /* the part already received */
		g->data += d;
		g->len -= d;
		g->seq += d;
		c->ack_now = true;          /* duplicate data: tell the peer where we are */
		tcp_enter_quickack_mode(c, TCP_MAX_QUICKACKS);
	}
	return TCP_V_CONTINUE;
}

/* Second: RST (RFC 5961 §3.2: only exactly at RCV.NXT resets; else a challenge ACK). */
static enum tcp_verdict step_rst(struct tcp_conn *c, const struct tcp_seg *g, tcp_seq orig_seq, uint64_t now)
{
	if (!(g->flags & TCP_RST))
		return TCP_V_CONTINUE;
	if (orig_seq != c->rcv_nxt) {
		challenge_ack(c, now);
		return TCP_V_DROP;
	}
	switch (c->state) {
	case TCP_STATE_SYN_RECEIVED:
		if (c->active_open) {
			tcp_abort(c, -ECONNREFUSED);
		} else if (c->tfo) {
			/* A fast open child is a socket already (Linux's tcp_reset
			 * in SYN_RECV): accepted or still in the accept queue, it
			 * stays, closed, its data readable, then ECONNRESET. */
			tcp_abort(c, -ECONNRESET);
		} else {
			/* A passive open returns to LISTEN: the embryonic child just goes. */
			tcp_abort(c, 0);
		}
		break;
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_FIN_WAIT_2:
		tcp_abort(c, -ECONNRESET);
		break;
	case TCP_STATE_CLOSE_WAIT:
		/* Linux (tcp_reset): the peer had closed, so the write it
		 * answered with a reset meets a broken pipe: EPIPE, not
		 * ECONNRESET (send raises SIGPIPE; SO_ERROR says EPIPE). */
		tcp_abort(c, -EPIPE);
		break;
	default:
		tcp_abort(c, 0);
		break;
	}
	return TCP_V_DONE;
}

/* Fourth: SYN in a synchronized state (RFC 5961 §4.2: challenge ACK). */
static enum tcp_verdict step_syn(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	if (!(g->flags & TCP_SYN))
		return TCP_V_CONTINUE;
	/* Like Linux's tcp_check_req() ("fourth, check the SYN bit"): an
	 * embryonic connection of a listener (a request socket there) that
	 * gets an in-window SYN other than its own SYN again answers with a
	 * reset and goes (embryonic_reset); RFC 5961's challenge ACK is for
	 * full sockets only. (A fast open child is a full socket in Linux.) */
	if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open && !c->tfo) {
		tcp_send_rst_reply(c->s, g, now);
		tcp_abort(c, 0);
		return TCP_V_DONE;
	}
	challenge_ack(c, now);
	return TCP_V_DROP;
}

static void enter_time_wait(struct tcp_conn *c, uint64_t now)
{
	tcp_set_state(c, TCP_STATE_TIME_WAIT);
	c->tw_since = now;
	/* Only tw_at runs in TIME_WAIT (the timer pass looks at nothing else). */
	c->rto_at = c->persist_at = c->keep_at = c->delack_at = c->comp_at = STACK_NEVER;
	/* Everything sent was acknowledged: a connection waiting out 2 MSL keeps
	 * no buffers (many of them pile up on a busy server that closes first). */
	tcp_set_queue_bound(c, false);
	tcp_ring_free(&c->sndq);
	if (!c->rcvq.len)
		tcp_ring_free(&c->rcvq);
	tcp_ofo_purge(c);
	tcp_sb_free(&c->sb);
	tcp_timer_set(c, &c->tw_at, now + 2ull * c->s->cfg.tcp_msl_ms * 1000);
}

/*
 * The RTT an ACK gives, as Linux's tcp_clean_rtx_queue() and
 * tcp_ack_update_rtt() take it: the time since the oldest segment it
 * delivered was sent, when that segment was sent once (RFC 6298 §3, Karn:
 * none when it acknowledges a resent one), else since the oldest segment
 * it newly SACKed; else, for an ACK of new data, the timestamp echo (RFC
 * 7323 §4; a tick at least, as Linux's tcp_rtt_tsopt_us()). That sample
 * feeds SRTT and the RTO; the newest segment's (Linux's ca_rtt) feeds the
 * minimum RTT and is returned for the congestion control: 0 when the ACK
 * gives none. Before, the one segment timed per round trip was precise and
 * every other ACK was timed by the millisecond timestamp echo, which on a
 * path of 100 us read 0 (no sample) or 1 ms: SRTT sat near 1 ms.
 */
static uint32_t ack_rtt(struct tcp_conn *c, const struct tcp_seg *g, const struct tcp_ack_info *ai,
			bool acked_new, uint64_t now)
{
	uint64_t seq_rtt = 0, ca_rtt = 0;
	bool have = false;

	if (acked_new && ai->first_ackt && !ai->retrans_acked) {
		seq_rtt = now > ai->first_ackt ? now - ai->first_ackt : 0;
		ca_rtt = now > ai->last_ackt ? now - ai->last_ackt : 0;
		have = true;
	}
	if (ai->first_sackt) {
		ca_rtt = now > ai->last_sackt ? now - ai->last_sackt : 0;
		if (!have)
			seq_rtt = now > ai->first_sackt ? now - ai->first_sackt : 0;
		have = true;
	}
	if (!have && acked_new && c->rtt_timing && seq_geq(g->ack, c->rtt_seq) && !ai->retrans_acked) {
		/* No record of the send (the scoreboard had no memory): the
		 * segment timed in this round trip. */
		seq_rtt = ca_rtt = now - c->rtt_start;
		have = true;
	}
	if (!have && acked_new && c->ts_ok && g->has_ts && g->tsecr) {
		uint32_t ts = ts_rtt_us(c, g->tsecr, now);

		if (ts || tcp_ts_now(c, now) == g->tsecr) {
			seq_rtt = ca_rtt = ts ? ts : 1000;
			have = true;
		}
	}
	if (!have || seq_rtt >= 60000000u)
		return 0;
	tcp_update_rtt(c, (uint32_t)seq_rtt, (uint32_t)ca_rtt, g->ack, now);
	return ca_rtt ? (uint32_t)ca_rtt : 1;
}

/* The congestion control's look at a sample (its minimum, HyStart). */
static void hystart_sample(struct tcp_conn *c, uint32_t rtt, uint64_t now)
{
	switch (tcp_cc_on_sample(&c->cc, rtt, c->srtt, c->snd_una, c->snd_max, now)) {
	case TCP_CC_HS_TRAIN:
		c->s->stats.tcp_hystart_train++;
		c->s->stats.tcp_hystart_train_cwnd += c->cc.cwnd / c->mss;
		break;
	case TCP_CC_HS_DELAY:
		c->s->stats.tcp_hystart_delay++;
		c->s->stats.tcp_hystart_delay_cwnd += c->cc.cwnd / c->mss;
		break;
	case TCP_CC_HS_NONE:
		break;
	}
}

static void reno_limit_dupacks(struct tcp_conn *c, uint32_t acked);

/*
 * Whether the ACK covers a whole segment (Linux's FLAG_ACKED: an skb
 * acknowledged to its end, or a TSO skb's first segments, tcp_tso_acked).
 * One that covers only part of the first segment moves SND.UNA but times
 * nothing (tcp_ack_update_rtt takes neither the send time nor the
 * timestamp echo without FLAG_ACKED, so the backoff stays) and leaves the
 * retransmission timer as it was (FLAG_SET_XMIT_TIMER comes with
 * FLAG_ACKED). Measured on 6.18: a timeout's resend acknowledged 12 bytes
 * in, its own TSval echoed: the next resend 413 ms after that ACK, the
 * doubled RTO; pstack took the echo for a sample and resent 215 ms after.
 */
static bool acks_whole_segment(const struct tcp_conn *c, tcp_seq ack)
{
	const struct tcp_txseg *s;

	if (!c->sb.n)
		return true;
	s = tcp_sb_at(&c->sb, 0);
	return !seq_lt(ack, s->end) || ack - s->start >= c->mss;
}

static void on_new_ack(struct tcp_conn *c, const struct tcp_seg *g, struct tcp_ack_info *ai, uint64_t now)
{
	uint32_t flight = c->snd_max - c->snd_una;
	uint32_t rtt = 0;
	bool whole = acks_whole_segment(c, g->ack);

	/* Data bytes acknowledged leave the send ring (the FIN is not in it). */
	if (seq_gt(g->ack, c->snd_base)) {
		uint32_t n = g->ack - c->snd_base;

		if (n > c->sndq.len)
			n = (uint32_t)c->sndq.len;
		tcp_ring_consume(&c->sndq, n);
		/* All of it acknowledged: the ring's block goes back, as
		 * Linux frees each buffer its ACK covers (tcp_clean_rtx_queue):
		 * a connection that waits for the program holds no send memory
		 * (1000 bulk connections each kept a block of 113 KiB while
		 * they waited their turn, 110 MiB in all).
		 * Deviation: not a block of TCP_SNDBUF_QUEUE_FLOOR or more (a
		 * bulk sender's, which drains and fills again at once): iperf3
		 * -P 4 sending, its rings 256 KiB to 1 MiB, took 1.6 to 1.9
		 * times the CPU per GB when they shed (a large block taken
		 * again is a copy's worth of cold pages); below it, as under
		 * the budget's pressure before. */
		if (c->sndq.cap < TCP_SNDBUF_QUEUE_FLOOR)
			tcp_ring_shed(&c->sndq);
		else
			tcp_ring_reclaim(&c->sndq);
		c->snd_base += n;
		c->bytes_acked += n;
	}
	/* The segments acknowledged leave the scoreboard (RACK's deliveries,
	 * and the send times of the RTT sample). */
	tcp_rack_cum_ack(c, g, ai, now);
	rtt = ack_rtt(c, g, ai, whole, now);
	if (c->rtt_timing && seq_geq(g->ack, c->rtt_seq))
		c->rtt_timing = false;
	tcp_rto_done(c, now);
	/* The backoff stays unless the ACK timed something (tcp_update_rtt):
	 * without timestamps, an ACK of retransmitted data keeps the doubled
	 * RTO for what is sent next (Linux keeps icsk_rto and icsk_backoff). */
	c->retries = 0;
	c->first_rexmit_at = 0;
	c->snd_una = g->ack;
	/* MSG_MORE held the tail for the call that had it: what pushes next is
	 * the plain rule (Linux's tcp_data_snd_check with tp->nonagle). */
	c->more = false;
	if (c->marks)
		tcp_errq_acked(c, now);
	if (seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	if (!c->sack_ok && c->dupacks) {
		/* Without SACK, duplicate ACKs stood for segments delivered
		 * (RFC 6937's estimate): those this ACK covers are not new,
		 * but for the hole it fills (Linux's tcp_remove_reno_sacks:
		 * one segment at least). In recovery, one of the segments it
		 * covers is the hole and each of the others took a duplicate
		 * ACK's place; what stays is held to what can be out past the
		 * holes (tcp_check_reno_reordering); out of recovery none
		 * stays (tcp_reset_reno_sack). So in bytes (PRR's) and in
		 * segments (cwnd's); an ACK that delivered no whole segment
		 * delivered none. */
		uint32_t segs = (ai->acked + c->mss - 1) / c->mss;
		uint32_t before = c->dupacks;

		if (c->in_recovery) {
			c->dupacks = segs > before ? 0 : before - (segs ? segs - 1 : 0);
			reno_limit_dupacks(c, segs);
		} else {
			c->dupacks = 0;
		}
		ai->acked = ai->acked > before * c->mss ? ai->acked - before * c->mss
							: (ai->acked < c->mss ? ai->acked : c->mss);
		if (ai->acked_segs)
			ai->acked_segs = ai->acked_segs > before ? ai->acked_segs - before : 1;
	}
	if (rtt)
		hystart_sample(c, rtt, now);
	if (!c->in_recovery && c->ca_state != TCP_CA_CWR) {
		/* cwnd grows by what the ACK delivered (Linux's acked_sacked):
		 * what it acknowledged that was not SACKed before, and what it
		 * SACKed; not by the bytes SND.UNA moved over. In segments, as
		 * Linux counts packets (tcp_newly_delivered): measured on 6.18,
		 * the ACK of a timeout's resend cut to 100 bytes by the window
		 * let two segments go (cwnd 1 + 1), pstack's byte count (1460
		 * + 100) one (rawframes bulk_rto_small_resend_acked). */
		ai->cwnd_before = c->cc.cwnd;
		tcp_cc_on_ack(&c->cc, ai->acked_segs + ai->sacked_segs, flight, rtt, now);
		/* Keep "recover" just behind SND.UNA so that the RFC 6582 §4.1 test
		 * stays meaningful however far the sequence numbers travel; not
		 * in the Loss state, whose end it marks (Linux's high_seq:
		 * tcp_recovery_loss_held compares SND.UNA with it). */
		if (c->ca_state != TCP_CA_LOSS && seq_gt(c->snd_una, c->recover + 1))
			c->recover = c->snd_una - 1;
	}
	tcp_sndbuf_expand(c);       /* room freed: Linux's tcp_new_space() */
	/* Linux's tcp_check_space(): a writer that found no room is woken
	 * when it may go on (which ends the send buffer's limit), and only
	 * then: an ACK is no wake-up of its own, so that an edge-triggered
	 * EPOLLOUT comes once per time the buffer was full. What the ACK lets
	 * out may make room under TCP_NOTSENT_LOWAT: tcp_output checks again.
	 * Linux's tcp_clean_rtx_queue(): an empty queue ends busy. */
	tcp_check_space(c, now);
	tcp_chrono_stop(c, TCP_CHRONO_BUSY, now);
	/* RFC 6298 (5.2), (5.3); an ACK of part of a segment leaves the
	 * timer (acks_whole_segment). */
	if (c->snd_una == c->snd_max)
		c->rto_at = STACK_NEVER;
	else if (whole || c->rto_at == STACK_NEVER)
		tcp_arm_rto(c, now);
}

/* Without SACK, no more duplicate ACKs can stand for delivered segments
 * than there are segments in flight past the holes (Linux's
 * tcp_limit_reno_sacked: sacked_out + max(lost_out, 1) <= packets_out).
 * More are taken for reordering, not loss: the count is held there and
 * the reordering degree, the fast retransmit's threshold, becomes the
 * segments in flight and the acked the ACK just acknowledged
 * (tcp_check_reno_reordering: packets_out + addend, at most
 * net.ipv4.tcp_max_reordering, 300). So three duplicate ACKs with three
 * segments out resend nothing. */
static void reno_limit_dupacks(struct tcp_conn *c, uint32_t acked)
{
	uint32_t packets = 0, lost = 0, holes;

	for (uint32_t i = 0; i < c->sb.n; i++) {
		const struct tcp_txseg *s = tcp_sb_at(&c->sb, i);
		uint32_t n = tcp_pcount(tcp_txseg_len(s), c->mss);

		packets += n;
		if (s->flags & TCP_TX_LOST)
			lost += n;
	}
	holes = lost > 1 ? lost : 1;
	if (holes > packets)
		holes = packets;
	if (c->dupacks + holes <= packets)
		return;
	c->dupacks = packets - holes;
	c->reordering = packets + acked < 300 ? packets + acked : 300;
	c->reord_seen++;
}

/* Fifth: ACK. seq is the segment's sequence number before step_seq trimmed
 * it, wnd its window in bytes (scaled unless the segment carried a SYN). */
static enum tcp_verdict step_ack(struct tcp_conn *c, const struct tcp_seg *g, tcp_seq seq, uint32_t wnd,
				 uint64_t now)
{
	struct tcp_ack_info ai = { 0 };
	bool fin_was_acked, fin_acked, idle;
	bool win_update;

	if (!(g->flags & TCP_ACK))
		return TCP_V_DROP;
	if (c->state == TCP_STATE_SYN_RECEIVED) {
		if (!(seq_lt(c->snd_una, g->ack) && seq_leq(g->ack, c->snd_max))) {
			tcp_send_rst_reply(c->s, g, now);
			return TCP_V_DROP;
		}
		/* TCP_DEFER_ACCEPT (Linux's tcp_check_req): the handshake's bare
		 * ACK is dropped until data comes or the SYN-ACK was resent as
		 * often as the option says (tcp_timer.c resends it then). */
		if (c->parent && !c->tfo && c->retries < c->opt.defer_accept && !g->len && !(g->flags & TCP_FIN)) {
			c->defer_acked = true;
			return TCP_V_DROP;
		}
		if (c->parent && !c->in_acceptq && c->parent->acc_count > (unsigned)c->parent->backlog) {
			/* Accept queue full: like Linux, ignore the ACK; the SYN-ACK is retransmitted. */
			stack_drop(c->s, DROP_TCP_LISTEN_OVERFLOW);
			return TCP_V_DROP;
		}
		/* RFC 6298 (2.2): the SYN-ACK's round trip is the first RTT
		 * sample. Karn: not timed when the SYN-ACK was resent (or never
		 * timed: a SYN cookie); the timestamp echo then tells which copy
		 * was answered (RFC 7323 §4), as Linux's tcp_synack_rtt_meas() and
		 * tcp_ack_update_rtt() take it. (Before enter_established(), which
		 * clears the count of retransmissions.) */
		if (c->retries == 0 && c->total_retrans == 0 && c->rtt_start) {
			tcp_update_rtt(c, (uint32_t)(now - c->rtt_start), (uint32_t)(now - c->rtt_start), g->ack, now);
		} else if (c->ts_ok && g->has_ts && g->tsecr) {
			uint32_t rtt = ts_rtt_us(c, g->tsecr, now);

			if (rtt || tcp_ts_now(c, now) == g->tsecr)     /* an echo of this very ms counts */
				tcp_update_rtt(c, rtt, rtt, g->ack, now);
		}
		/* Linux makes a listener's child from the segment that
		 * completes the handshake (tcp_check_req, tcp_v4_syn_recv_sock:
		 * its mc_ttl is that segment's TTL); a fast open child was made
		 * from its SYN. */
		if (c->parent && !c->tfo) {
			c->handshake_ttl = g->ttl ? g->ttl : 1;
			c->handshake_tos = g->tos;
		}
		enter_established(c, now);
		c->snd_wnd = wnd;
		c->max_snd_wnd = c->snd_wnd;
		max_wnd_sync(c);
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		/* A fast open child may have sent data already, and our SYN
		 * carried some in a simultaneous open: the ACK's share of it
		 * is taken below like any other. */
		c->snd_una = c->iss + 1;
		tcp_fastopen_release(c);
		if (c->parent)
			tcp_child_established(c);
		tcp_wake(c);
		/* Linux's tcp_rcv_state_process (TCP_SYN_RECV): a child whose
		 * listener was shut for writing before listen() (sk_shutdown
		 * cloned) sends its FIN now. */
		if ((c->shut_closed & 2) && !c->wr_shut)
			(void)tcp_shutdown(c, 1, now);
	}
	/* RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]
	 * (MAX.SND.WND at most what was ever acknowledged: tcp_ack_too_old). */
	if (seq_gt(g->ack, c->snd_max) || tcp_ack_too_old(c, g->ack)) {
		stack_drop(c->s, DROP_TCP_BAD_ACK);
		challenge_ack(c, now);
		return TCP_V_DROP;
	}
	win_update = may_update_window(c, g, c->snd_una, wnd);
	/* RFC 7323 §4.3, §5.3 (R3): remember the timestamp of an in-sequence
	 * segment (SEG.SEQ <= Last.ACK.sent), once it has passed every check up
	 * to the ACK's: like Linux's tcp_replace_ts_recent() in tcp_ack(), so
	 * that a spoofed segment the checks reject (no ACK bit, an ACK of data
	 * never sent, a SYN) cannot move TS.Recent and make every later
	 * legitimate segment fail PAWS. Before anything here may send. */
	if (c->ts_ok && g->has_ts && seq_leq(seq, c->rcv_wup) && seq_geq(g->tsval, c->ts_recent)) {
		c->ts_recent = g->tsval;
		c->ts_recent_ms = (uint32_t)(now / 1000);
	}
	/* Like Linux's rcv_tstamp: when an acceptable ACK last came (not an
	 * old one), duplicates included; a zero window's probes time out on it. */
	if (seq_geq(g->ack, c->snd_una))
		c->last_ack_at = now;
	fin_was_acked = c->fin_queued && seq_gt(c->snd_una, tcp_snd_end(c));
	idle = c->snd_una == c->snd_max;
	ai.lost_before = c->sb.lost;
	ai.tsecr = g->has_ts ? g->tsecr : 0;
	/* RFC 3168 §6.1.2: an ECN echo (never the one of a SYN-ACK). */
	ai.ece = c->ecn_ok && (g->flags & TCP_ECE) && !(g->flags & TCP_SYN);
	/* The peer's CWR ends our echo, on a pure ACK too (Linux's tcp_ack
	 * calls tcp_ecn_accept_cwr since 5.8, "to be more robust with
	 * widely-deployed TCP implementations" that set it there; RFC 3168
	 * §6.1.2 has it on data only). Data with it is ACKed at once
	 * (ecn_data_recv). An old ACK (below SND.UNA) does not count: Linux
	 * leaves tcp_ack before. */
	if (c->ecn_ok && (g->flags & TCP_CWR) && seq_geq(g->ack, c->snd_una))
		c->ecn_demand_cwr = false;
	if (c->sack_ok && g->nsack)
		tcp_rack_sack(c, g, &ai, now);
	if (seq_gt(g->ack, c->snd_una)) {
		on_new_ack(c, g, &ai, now);
		c->probes = 0;
	} else {
		/* New SACKs alone time the segments they cover (Linux's sack_rtt_us). */
		uint32_t rtt = ai.first_sackt ? ack_rtt(c, g, &ai, false, now) : 0;

		if (rtt)
			hystart_sample(c, rtt, now);
		/* An ACK that only SACKs grows cwnd too once reordering was
		 * seen beyond the duplicate-ACK threshold (Linux's
		 * tcp_may_raise_cwnd: FLAG_FORWARD_PROGRESS when reordering
		 * exceeds tcp_reordering, else FLAG_DATA_ACKED only): the
		 * holes below may be reordering, not loss. */
		if (ai.sacked && c->reordering > TCP_DUPTHRESH && !c->in_recovery && c->ca_state != TCP_CA_CWR) {
			ai.cwnd_before = c->cc.cwnd;
			tcp_cc_on_ack(&c->cc, ai.sacked_segs, c->snd_max - c->snd_una, rtt, now);
		}
		if (g->ack == c->snd_una && c->snd_una != c->snd_max && !g->len &&
		    !(g->flags & (TCP_SYN | TCP_FIN)) && !win_update) {
			/* A duplicate ACK (RFC 5681 §2): NewReno's signal without SACK.
			 * Deviation: as Linux's (tcp_ack: no FLAG_NOT_DUP), one
			 * that is no window update, not one whose window is the
			 * same: a smaller window at SND.WL1 is not taken, so it
			 * counts; any window on a SEQ past SND.WL1 is taken, so it
			 * does not. Measured on Linux 6.18 (rawframes
			 * bulk_dupacks_shrinking_window, three duplicates a unit
			 * smaller each: the fast retransmit; bulk_dupacks_after_data:
			 * the first ACK after the peer's data is not one).
			 * In the Loss state it counts only once new data went out
			 * after the timeout (F-RTO's step 2b: SND.NXT past the
			 * state's high_seq), as Linux's tcp_process_loss adds a
			 * reno SACK: before, what it stands for is deemed lost
			 * already, and it sends nothing; nor while the state
			 * holds at its recovery point (tcp_recovery_loss_held:
			 * tcp_process_loss returns before it counts). */
			ai.dupack = true;
			if (c->ca_state != TCP_CA_LOSS ||
			    (seq_gt(c->snd_max, c->recover + 1) && !tcp_recovery_loss_held(c))) {
				c->dupacks++;
				if (!c->sack_ok)
					reno_limit_dupacks(c, 0);
			}
		}
	}
	/* Loss detection and recovery decide on every ACK, whatever else it
	 * carries (data, a new window): with SACK on the scoreboard (RFC 8985,
	 * RFC 6675 §5), like Linux's tcp_fastretrans_alert. */
	tcp_recovery_on_ack(c, g, &ai, now);
	if (ai.una_advanced && !ai.reneging)
		tcp_recheck_tlp(c, now);
	if (g->ack == c->snd_una || seq_gt(g->ack, c->snd_una))
		c->probes = 0;
	/* Window update (may_update_window). */
	if (win_update) {
		c->snd_wnd = wnd;
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if (c->snd_wnd > c->max_snd_wnd) {
			c->max_snd_wnd = c->snd_wnd;
			max_wnd_sync(c);
		}
		if (c->snd_wnd) {
			/* Linux's tcp_ack_probe(): a window opened on data that
			 * waited with nothing in flight; the backoff timed the
			 * probes. Not on any ACK of an idle connection: a
			 * backoff that no RTT sample ended stays. */
			if (c->persist_at != STACK_NEVER && c->rto_at == STACK_NEVER)
				c->backoff = 0;
			c->persist_at = STACK_NEVER;
			c->probes_since = 0;
		}
	}
	/* Linux's tcp_ack_probe (tcp_ack with nothing in flight): an ACK
	 * that leaves the window closed to the data that waits restarts the
	 * probe timer from now, the backoff kept (tcp_probe0_when). Measured
	 * on Linux 6.18, a peer answering each zero-window probe 100 ms
	 * later with a zero window: the next probe came 444, 827, 1656 and
	 * 3515 ms after each answer (RTO 206 ms << backoff), not that long
	 * after the probe. Not for an orphan whose probes already back off:
	 * the fix posted with tcp_fin_wait1_zero_window.pkt keeps its
	 * schedule, so that tcp_orphan_retries can end it (6.18 restarts
	 * it too, and a peer that answers keeps it forever). */
	if (idle && c->snd_una == c->snd_max && c->rto_at == STACK_NEVER &&
	    !seq_gt(c->snd_una + c->snd_wnd, c->snd_nxt) &&
	    seq_lt(c->snd_nxt, tcp_snd_end(c) + (c->fin_queued ? 1 : 0)) && !(c->orphan && c->backoff))
		tcp_arm_persist(c, now);
	fin_acked = c->fin_queued && seq_gt(c->snd_una, tcp_snd_end(c));
	if (fin_acked && !fin_was_acked) {
		switch (c->state) {
		case TCP_STATE_FIN_WAIT_1:
			tcp_set_state(c, TCP_STATE_FIN_WAIT_2);
			if (c->orphan && c->opt.linger2 < 0) {
				/* Linux: an orphan with TCP_LINGER2 -1 is done here. */
				tcp_abort(c, 0);
				return TCP_V_DONE;
			}
			if (c->orphan)
				tcp_timer_set(c, &c->tw_at, now + tcp_fin_time(c));
			break;
		case TCP_STATE_CLOSING:
			enter_time_wait(c, now);
			break;
		case TCP_STATE_LAST_ACK:
			tcp_abort(c, 0);
			return TCP_V_DONE;
		default:
			break;
		}
		tcp_wake(c);
	}
	return TCP_V_CONTINUE;
}

static void process_fin(struct tcp_conn *c, uint64_t now)
{
	c->rcv_nxt++;
	c->fin_rcvd = true;
	switch (c->state) {
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_ESTABLISHED:
		tcp_set_state(c, TCP_STATE_CLOSE_WAIT);
		/* Linux's tcp_fin(): the connection turns interactive (the
		 * program's answer, or its FIN, should carry the ACK) and the ACK
		 * goes by the delayed-ACK rules, __tcp_ack_snd_check(): at the
		 * next tick while no data ever came (its ato is still 0: the
		 * timer is set for now, and fires at the tick), else within the
		 * delayed-ACK timeout; a program that closes meanwhile sends its
		 * FIN with the ACK. Measured on Linux 6.18: the FIN after a reply
		 * was ACKed 42 ms later, or by the program's FIN when it closed
		 * first; a FIN on a connection that had no data, after 1 ms; the
		 * FIN on the handshake's ACK to a server that accepts and closes
		 * at once, by its FIN,ACK (rawframes lastack_*; pstack sent the
		 * ACK, then the FIN). Data a fast open SYN carried does not count
		 * (it did not go through tcp_event_data_recv, which sets the
		 * ato). */
		c->pingpong = true;
		c->ack_sched = true;
		if (c->bytes_received == c->syn_data)
			tcp_timer_set(c, &c->delack_at, now + TCP_TICK_US);
		else
			send_delayed_ack(c, now);
		break;
	case TCP_STATE_FIN_WAIT_1:
		c->ack_now = true;      /* Linux: tcp_send_ack() at once */
		tcp_set_state(c, TCP_STATE_CLOSING);
		break;
	case TCP_STATE_FIN_WAIT_2:
		c->ack_now = true;
		enter_time_wait(c, now);
		break;
	default:
		c->ack_now = true;
		break;
	}
	/* Linux's tcp_fin(): what is held beyond the FIN cannot come in order
	 * any more and goes, and the SACK state with it: the ACK of the FIN
	 * reports no SACK block, not even the D-SACK of a copy the segment
	 * carried (tcp_sack_reset). */
	tcp_ofo_purge(c);
	c->dsack_on = false;
	tcp_wake(c);
}

void tcp_ofo_deliver(struct tcp_conn *c, uint64_t now)
{
	tcp_seq before = c->rcv_nxt;

	tcp_ofo_pull(c);
	if (c->rcv_nxt == before)
		return;
	if (c->ofo_fin && c->ofo_fin_seq == c->rcv_nxt && !c->fin_rcvd) {
		c->ofo_fin = false;
		process_fin(c, now);
	}
	tcp_send_ack(c, now);
	tcp_wake(c);
}

/*
 * Sixth, URG (RFC 9293 §3.8.5 and §3.10.7.4, RFC 6093), the Linux way
 * (tcp_check_urg, tcp_urg): the pointer names one byte, the last urgent
 * one (BSD's reading: the pointer minus one, Linux's tcp_stdurg=0); only
 * the latest is kept; the owner hears of a new one at once (SIGURG), and
 * the byte is taken when it arrives. It also stays in the receive ring, and
 * the read calls skip it unless SO_OOBINLINE (tcp_recv). orig_seq: the
 * segment's sequence number before any trimming (the pointer counts from it).
 */
static void check_urg(struct tcp_conn *c, tcp_seq ptr)
{
	tcp_seq copied = tcp_copied_seq(c);

	if (seq_gt(copied, ptr))
		return;     /* already read */
	if (seq_lt(ptr, c->rcv_nxt))
		return;     /* already here: never replayed */
	if (c->urg_data && !seq_gt(ptr, c->urg_seq))
		return;     /* the same pointer again, or an older one */
	if (c->wake.urgent)
		c->wake.urgent(c->wake.ctx);
	/* The previous urgent byte sits at the read position, unread: it goes
	 * now, or it would be read as data once urg_seq moves on. */
	if (c->urg_data && c->urg_seq == copied && !c->opt.oobinline && c->rcvq.len)
		tcp_ring_consume(&c->rcvq, 1);
	c->urg_data = TCP_URG_NOTYET;
	c->urg_seq = ptr;
}

static void step_urg(struct tcp_conn *c, const struct tcp_seg *g, tcp_seq orig_seq)
{
	if (c->orphan || (c->state != TCP_STATE_ESTABLISHED && c->state != TCP_STATE_FIN_WAIT_1 &&
			  c->state != TCP_STATE_FIN_WAIT_2))
		return;     /* RFC 9293 §3.10.7.4: ignored once the peer's FIN is in */
	if (g->flags & TCP_URG)
		check_urg(c, orig_seq + (g->urg ? g->urg - 1u : 0u));
	if (c->urg_data == TCP_URG_NOTYET) {
		uint32_t off = c->urg_seq - g->seq;

		if (off < g->len) {
			c->urg_data = (uint16_t)(TCP_URG_VALID | g->data[off]);
			tcp_wake(c);
		}
	}
}

/*
 * In-order text into the receive queue. A large frame read into a buffer
 * the stack may keep (stack_input_rx) stays where it is: the queue takes a
 * reference on the buffer, and the program's read is the payload's only
 * copy after the device's (zero-copy receive). Only frames whose payload
 * is at least half their buffer are kept, so that what the queue holds
 * costs at most about twice its bytes (a TSO frame of 64 KiB from the TAP
 * fills its buffer); the rest is copied. Returns the bytes queued.
 */
static size_t rcv_queue(struct tcp_conn *c, const uint8_t *p, size_t n)
{
	struct pkb_rx *b = c->s->rx_blk;

	if (b && n >= TCP_RX_KEEP_MIN && n * 2 >= b->size && p >= b->data && p + n <= b->data + b->size) {
		size_t kept = tcp_ring_adopt(&c->rcvq, p, n, b);

		if (kept)
			c->s->stats.tcp_rx_kept++;
		return kept;
	}
	return tcp_ring_write(&c->rcvq, p, n);
}

/*
 * Text nobody will read, as Linux's tcp_rcv_state_process finds it in its
 * seventh step (TCPABORTONDATA), after RCV_SHUTDOWN: in FIN_WAIT_1 and
 * FIN_WAIT_2 once reading was shut (a closed socket, shutdown(SHUT_RD) or
 * SHUT_RDWR, or a close() waiting for its FIN's ACK), a segment that runs
 * past RCV.NXT: text there, or a FIN beyond it (after(SEG.SEQ + SEG.LEN -
 * FIN, RCV.NXT)); in CLOSE_WAIT, CLOSING and LAST_ACK (the peer's FIN in,
 * so RCV_SHUTDOWN too), a segment that starts below RCV.NXT and runs past
 * it, text beyond the peer's own FIN (one that starts at or past RCV.NXT
 * is ignored there). By now step_seq has trimmed what lay below RCV.NXT,
 * so any text left starts at RCV.NXT. RFC 1122 §4.2.2.13 for data after a
 * close. Measured on Linux 6.18 (rawframes.py): a FIN at RCV.NXT + 99 to
 * the closer on 7003 in FIN-WAIT-1, acknowledging its FIN or not, and 5
 * bytes from RCV.NXT - 1 in CLOSE-WAIT, each reset (pstack: a SACK of
 * the FIN; a D-SACK of the byte below RCV.NXT).
 */
static bool abort_on_data(const struct tcp_conn *c, const struct tcp_seg *g, tcp_seq orig_seq)
{
	switch (c->state) {
	case TCP_STATE_ESTABLISHED:
		return c->orphan && g->len;
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_FIN_WAIT_2:
		return (c->orphan || c->rd_shut) && (g->len || ((g->flags & TCP_FIN) && seq_gt(g->seq, c->rcv_nxt)));
	case TCP_STATE_CLOSE_WAIT:
	case TCP_STATE_CLOSING:
	case TCP_STATE_LAST_ACK:
		return g->len && seq_lt(orig_seq, c->rcv_nxt);
	default:
		return false;
	}
}

/* Seventh and eighth: segment text, then FIN. */
static enum tcp_verdict step_text_fin(struct tcp_conn *c, const struct tcp_seg *g, tcp_seq orig_seq, uint64_t now)
{
	bool had_ofo = c->ofo != NULL;

	if (abort_on_data(c, g, orig_seq)) {
		/* A socket still held reads ECONNRESET, EPIPE in CLOSE_WAIT
		 * (Linux's tcp_reset). Linux's reset answers the segment
		 * (tcp_rcv_state_process returns nonzero, tcp_v4_do_rcv sends
		 * tcp_v4_send_reset): <SEQ=SEG.ACK><CTL=RST>, not the
		 * connection's own RST,ACK. */
		tcp_send_rst_reply(c->s, g, now);
		tcp_abort(c, c->orphan ? 0 : c->state == TCP_STATE_CLOSE_WAIT ? -EPIPE : -ECONNRESET);
		return TCP_V_DONE;
	}
	if (g->len && (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_FIN_WAIT_1 ||
		       c->state == TCP_STATE_FIN_WAIT_2)) {
		ecn_data_recv(c, g);
		if (g->seq == c->rcv_nxt) {
			size_t n, limit = c->rcvq.limit;

			/* Nothing unread: Linux charges the segment whatever it
			 * costs (tcp_data_queue's sk_forced_mem_schedule), so that
			 * a buffer smaller than a segment still makes progress; the
			 * ring takes it past its limit, within the stack's budget,
			 * and offers no window until it is read below the limit. */
			if (!c->rcvq.len && g->len > limit)
				c->rcvq.limit = g->len;
			n = rcv_queue(c, g->data, g->len);
			c->rcvq.limit = limit;

			if (n < g->len) {
				/* No room (the ring's limit, or the stack's budget): the
				 * rest comes again; tell the peer at once where we are
				 * (Linux: tcp_data_queue()'s drop path, quick ACK). */
				stack_drop(c->s, c->rcvq.len < c->rcvq.limit ? DROP_TCP_MEM : DROP_TCP_RCVBUF_FULL);
				c->ack_now = true;
				/* Linux (since 6.0) also offers a zero window then
				 * (ICSK_ACK_NOMEM), rather than the old right edge that
				 * the buffer, shrunk by SO_RCVBUF or the stack's budget,
				 * can no longer hold: the peer probes instead of
				 * retransmitting into drops until it times out. */
				c->ack_nomem = true;
			}
			c->rcv_nxt += (uint32_t)n;
			c->bytes_received += n;
			if (n)
				c->rx_data_at = now;    /* the receive timestamp */
			grow_window(c, (uint32_t)n);
			measure_rcv_mss(c, g);
			event_data_recv(c, now);
			if (n == g->len && (g->flags & TCP_FIN) && !c->fin_rcvd)
				process_fin(c, now);
			if (had_ofo) {
				dsack_ofo_covered(c);
				tcp_ofo_pull(c);
				c->ack_now = true;  /* a hole filled: ACK at once (RFC 5681 §4.2) */
			}
			/* Like Linux's __tcp_ack_snd_check(): at once in quick-ACK
			 * mode, or once more than one full segment is unacknowledged
			 * (RFC 1122 §4.2.3.2, RFC 5681 §4.2: every second one) and the
			 * application keeps up (else the read sends it, with the room
			 * it made); otherwise within the delayed-ACK timeout. */
			if (in_quickack_mode(c) || (c->rcv_nxt - c->rcv_wup > c->rcv_mss && window_keeps_up(c)))
				ack_soon(c);
			else
				send_delayed_ack(c, now);
		} else {
			/* Linux 6.18 measures an out-of-order segment too
			 * (selftest tcp_ooo_rcv_mss.pkt). */
			measure_rcv_mss(c, g);
			/* Linux's rcv_ooopack: each segment of it, queued or not. */
			c->rcv_ooopack += tcp_pcount(g->len, c->mss);
			/* Held duplicate ACKs go before a block is pushed down
			 * the list past the first two (the ones every ACK has
			 * room for) or out of it: the sender hears of every block
			 * (Linux's tcp_sack_new_ofo_skb, TCP_SACK_BLOCKS_EXPECTED). */
			if (c->comp_acks && tcp_sack_block_of(c, g->seq, g->seq + g->len) >= TCP_SACK_BLOCKS_EXPECTED)
				tcp_send_ack(c, now);
			ofo_insert(c, g->seq, g->data, g->len);
			grow_window(c, g->len);
			if (g->flags & TCP_FIN) {
				c->ofo_fin = true;
				c->ofo_fin_seq = g->seq + g->len;
			}
			c->ack_sched = true;
			ofo_ack(c, now);
		}
		if (c->ofo_fin && c->ofo_fin_seq == c->rcv_nxt && !c->fin_rcvd) {
			c->ofo_fin = false;
			process_fin(c, now);
		}
		tcp_wake(c);
		return TCP_V_CONTINUE;
	}
	if ((g->flags & TCP_FIN) && !c->fin_rcvd) {
		if (g->seq + g->len == c->rcv_nxt) {
			process_fin(c, now);
		} else if (seq_gt(g->seq, c->rcv_nxt)) {
			/* A bare FIN beyond a hole: held, and SACKed as Linux's
			 * tcp_data_queue_ofo queues it (sack_blocks). */
			c->ofo_fin = true;
			c->ofo_fin_seq = g->seq + g->len;
			ofo_note_last(c, c->ofo_fin_seq);
			c->ack_now = true;
		}
	} else if ((g->flags & TCP_FIN) && c->fin_rcvd && seq_lt(g->seq, c->rcv_nxt)) {
		/* The peer's FIN again: acknowledged. A FIN at or past RCV.NXT
		 * after the peer's own is nothing (Linux's tcp_rcv_state_process
		 * in CLOSE-WAIT, CLOSING, LAST-ACK queues nothing from RCV.NXT
		 * on, and sends nothing for it). */
		c->ack_now = true;
	}
	return TCP_V_CONTINUE;
}

/*
 * May a new SYN reopen this connection in TIME_WAIT? RFC 6191 §2: when both
 * the old connection and the SYN carry timestamps, a newer TSval says the SYN
 * is new (the same TSval needs a higher sequence number too); otherwise RFC
 * 1122 §4.2.2.13's rule, a sequence number above RCV.NXT. This is what lets a
 * client that reuses a 4-tuple quickly (as Linux does, with timestamps
 * monotonic per address pair) connect again at once.
 */
static bool time_wait_reopens(const struct tcp_conn *c, const struct tcp_seg *g)
{
	if (c->ts_ok && g->has_ts) {
		if ((int32_t)(g->tsval - c->ts_recent) > 0)
			return true;
		return g->tsval == c->ts_recent && seq_gt(g->seq, c->rcv_nxt);
	}
	return seq_gt(g->seq, c->rcv_nxt);
}

/*
 * TIME_WAIT as Linux's tcp_timewait_state_process() runs it, rather than
 * RFC 9293's steps (a SYN that reopens the connection was taken before,
 * in tcp_input). A segment exactly at RCV.NXT that takes no sequence
 * space, or a RST there, is in the window: the RST ends the wait (TIME_WAIT
 * assassination, net.ipv4.tcp_rfc1337 = 0), anything else restarts it,
 * silently. Every other segment but a RST is answered with an ACK (no SACK
 * blocks, D-SACK included: tcp_v4_timewait_ack), at most every 500 ms
 * unless it carries data or a FIN (tcp_oow_rate_limited); one with ACK or
 * failing PAWS restarts the wait. A RST elsewhere is ignored (no RFC 5961
 * challenge ACK). PAWS here has no tick of slack, and a RST passes it
 * only once TS.Recent is 60 s old (tcp_paws_reject: a peer that rebooted
 * and lost its clock can still reset a half-open connection; a fresh old
 * TSval cannot assassinate TIME_WAIT). Measured on Linux 6.18 (raw
 * peer on a TAP): 5 bytes at RCV.NXT, and again at once, each ACKed; a
 * byte below, ACKed without a D-SACK; a bare ACK of data never sent, and a
 * RST out of the window, not answered (pstack: nothing to the data, a
 * D-SACK, a challenge ACK to each of the last two).
 */
static bool time_wait_paws_reject(const struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	uint32_t age = (uint32_t)(now / 1000) - c->ts_recent_ms;

	if (!c->ts_ok || !g->has_ts || !c->ts_recent)
		return false;
	return (int32_t)(c->ts_recent - g->tsval) > 0 && age < TCP_PAWS_24DAYS_MS &&
	       !((g->flags & TCP_RST) && age >= TCP_PAWS_MSL_MS);
}

static void time_wait_input(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	uint32_t now_ms = (uint32_t)(now / 1000);
	uint64_t tw_len = 2ull * c->s->cfg.tcp_msl_ms * 1000;
	bool paws_reject = time_wait_paws_reject(c, g, now), rst = g->flags & TCP_RST;

	if (!paws_reject && g->seq == c->rcv_nxt && (!tcp_seg_len(g) || rst)) {
		if (rst) {
			tcp_abort(c, 0);
			return;
		}
		tcp_timer_set(c, &c->tw_at, now + tw_len);
		if (c->ts_ok && g->has_ts) {
			c->ts_recent = g->tsval;
			c->ts_recent_ms = now_ms;
		}
		return;
	}
	if (paws_reject)
		stack_drop(c->s, DROP_TCP_PAWS);
	if (rst)
		return;
	if (paws_reject || (g->flags & TCP_ACK))
		tcp_timer_set(c, &c->tw_at, now + tw_len);
	/* A SYN that would reopen the connection, which no listener takes,
	 * is ACKed without the rate limit (TCP_TW_SYN falls through to the
	 * ACK in tcp_v4_rcv). */
	if (!((g->flags & TCP_SYN) && !(g->flags & TCP_ACK) && !paws_reject && time_wait_reopens(c, g)) &&
	    (!tcp_seg_len(g) || (g->flags & TCP_SYN)) && oow_rate_limited(c, now))
		return;
	tcp_send_ack_answer(c, g, now);
}

/*
 * An orphan in FIN_WAIT_2 (closed, its FIN acknowledged) as Linux runs it:
 * tcp_rcv_state_process hands such a socket to tcp_time_wait(sk,
 * TCP_FIN_WAIT2, tmo) whenever tcp_fin_timeout is no longer than
 * TIME_WAIT (the default, 60 s), and tcp_timewait_state_process's
 * FIN_WAIT2 substate answers what comes next, not RFC 5961. A segment
 * failing PAWS, or outside the window (tcp_in_window: at RCV.NXT, or
 * overlapping [RCV.NXT, RCV.NXT + RCV.WND)), gets an ACK, a RST too
 * (tcp_timewait_check_oow_rate_limit: every 500 ms at most unless it
 * carries text or a FIN); in the window, a RST ends the connection
 * whatever its sequence number and a SYN at or past RCV.NXT gets a reset
 * and ends it (TCP_TW_RST); a segment without ACK, or taking nothing new,
 * is dropped; new text, or a FIN anywhere but at RCV.NXT, gets a reset
 * and ends it (TCP_TW_RST); the FIN at RCV.NXT leads to TIME_WAIT and is
 * ACKed, the ACK field never looked at (the common steps would answer an
 * ACK of unsent data, or hold a FIN beyond a hole). Measured on
 * Linux 6.18 (rawframes.py, the closer on 7003): a RST at RCV.NXT + 99 and
 * a SYN at RCV.NXT each ended it (the SYN with
 * <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>), a RST out of the window drew an
 * ACK (pstack: a challenge ACK to the first two, nothing to the third);
 * a FIN at RCV.NXT + 99 was reset, and so was the FIN at RCV.NXT after
 * it (pstack: SACKed, then TIME_WAIT); a FIN acknowledging 999 bytes
 * never sent was ACKed (TIME_WAIT; pstack: an ACK of the ACK, the FIN
 * not taken).
 */
static void fin_wait2_orphan_input(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0, slen = tcp_seg_len(g);
	tcp_seq end = g->seq + slen;
	bool in_window = g->seq == c->rcv_nxt || (seq_gt(end, c->rcv_nxt) && seq_lt(g->seq, c->rcv_nxt + wnd)) ||
			 (g->seq == c->rcv_nxt + wnd && g->seq == end);

	if (time_wait_paws_reject(c, g, now) || !in_window) {
		stack_drop(c->s, in_window ? DROP_TCP_PAWS : DROP_TCP_OUT_OF_WINDOW);
		if ((!slen || (g->flags & TCP_SYN)) && oow_rate_limited(c, now))
			return;
		tcp_send_ack_answer(c, g, now);
		return;
	}
	if (g->flags & TCP_RST) {
		tcp_abort(c, 0);
		return;
	}
	if ((g->flags & TCP_SYN) && seq_geq(g->seq, c->rcv_nxt)) {
		tcp_send_rst_reply(c->s, g, now);
		tcp_abort(c, 0);
		return;
	}
	if (!(g->flags & TCP_ACK) || !seq_gt(end, c->rcv_nxt) || !slen)
		return;
	/* "New data or FIN. If new data arrive after half-duplex close,
	 * reset": anything but a FIN that ends at RCV.NXT + 1. */
	if (!(g->flags & TCP_FIN) || end != c->rcv_nxt + 1) {
		tcp_send_rst_reply(c->s, g, now);
		tcp_abort(c, 0);
		return;
	}
	/* The FIN: TIME_WAIT, and its ACK, whatever the ACK field says (the
	 * substate looks at none), its TSval the one to echo. The window
	 * stays what it was when the substate began (tw_rcv_wnd, which the
	 * FIN does not change): the right edge moves on with RCV.NXT.
	 * Measured on Linux 6.18 (rawframes closer_ttl_finwait2_fin_exact,
	 * no window scaling): its ACKs offered 64240 (pstack: 64239). */
	if (c->ts_ok && g->has_ts) {
		c->ts_recent = g->tsval;
		c->ts_recent_ms = (uint32_t)(now / 1000);
	}
	if (seq_geq(c->rcv_adv, c->rcv_nxt))
		c->rcv_adv++;
	process_fin(c, now);
	tcp_send_ack_answer(c, g, now);
}

static void synchronized_input(struct tcp_conn *c, struct tcp_seg *g, uint64_t now)
{
	tcp_seq orig_seq = g->seq;
	uint32_t wnd = (uint32_t)g->wnd << c->snd_wscale, len = g->len;
	bool established = c->state == TCP_STATE_ESTABLISHED, dup_syn = false;
	enum tcp_verdict v;

	/* A retransmitted SYN for an embryonic connection (of the RST, SYN and
	 * ACK bits the SYN alone, at the SYN's sequence number): answer it
	 * again, as Linux's tcp_check_req, at most once per
	 * tcp_invalid_ratelimit (tcp_oow_rate_limited on the request's
	 * last_oow_ack_time, which its ACKs to out-of-window segments share),
	 * and a listener's child starts its SYN-ACK timer again from there
	 * (mod_timer_pending: now + the timeout backed off so far). After a
	 * simultaneous open the connection is no request but a full socket
	 * in SYN-RECV: the copy goes through the common steps, whose SYN
	 * check challenges it (tcp_validate_incoming, syn_challenge). */
	if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open &&
	    (g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && g->seq == c->irs) {
		if (oow_rate_limited(c, now))
			return;
		/* A retransmission (inet_rtx_syn_ack: req->num_retrans, which
		 * the child's total_retrans starts from, and Karn's rule in
		 * tcp_synack_rtt_meas: no sample from the SYN-ACK's time). */
		c->s->stats.tcp_retransmits++;
		c->total_retrans++;
		tcp_send_syn(c, now);
		if (!c->tfo)
			tcp_arm_rto(c, now);
		return;
	}
	/* Like Linux's tcp_check_req: an embryonic connection of a listener (a
	 * request socket there) meets an ACK of anything but its SYN-ACK before
	 * the sequence number is looked at: the listener answers with a reset
	 * (RFC 9293 §3.10.7.4, "an unacceptable ACK"; nothing to a reset) and
	 * the embryonic connection stays. A SYN-ACK or an out-of-window ACK
	 * gets the reset, not the duplicate ACK of an unacceptable segment. */
	if (c->state == TCP_STATE_SYN_RECEIVED && !c->active_open && !c->tfo && (g->flags & TCP_ACK) &&
	    g->ack != c->iss + 1) {
		if (!(g->flags & TCP_RST))
			tcp_send_rst_reply(c->s, g, now);
		return;
	}
	if (c->state == TCP_STATE_TIME_WAIT) {
		time_wait_input(c, g, now);
		return;
	}
	if (c->state == TCP_STATE_FIN_WAIT_2 && c->orphan) {
		fin_wait2_orphan_input(c, g, now);
		return;
	}
	/* Simultaneous open: the peer's SYN-ACK in SYN_RECEIVED (as Linux's
	 * tcp_validate_incoming lets it pass): its SYN is the one already seen,
	 * its ACK Linux's SND.NXT, which is past the data our SYN carried
	 * (our SYN-ACK, like a SYN sent again, goes without it): SND.MAX. */
	if (c->state == TCP_STATE_SYN_RECEIVED && c->active_open && (g->flags & TCP_SYN) &&
	    (g->flags & TCP_ACK) && g->seq + 1 == c->rcv_nxt && g->ack == c->snd_max) {
		g->flags &= (uint16_t)~TCP_SYN;
		g->seq++;
		orig_seq = g->seq;
		dup_syn = true;
		/* RFC 7323 §2.2: the window of a segment with SYN is never scaled.
		 * (Linux's SYN-RECV branch of tcp_rcv_state_process() scales it
		 * here; its tcp_ack_update_window() does not for a SYN.) */
		wnd = g->wnd;
	}
	v = step_seq(c, g, now);
	if (v == TCP_V_CONTINUE)
		v = step_rst(c, g, orig_seq, now);
	if (v == TCP_V_CONTINUE)
		v = step_syn(c, g, now);
	/* (Linux counts in tcp_rcv_established only, before tcp_ack.) */
	if (v == TCP_V_CONTINUE && established)
		ecn_received_counters(c, g, len);
	if (v == TCP_V_CONTINUE)
		v = step_ack(c, g, orig_seq, wnd, now);
	/* (Linux's tcp_rcv_established only, after tcp_ack.) */
	if (v == TCP_V_CONTINUE && established)
		rcv_rtt_measure_ts(c, g, now);
	if (v == TCP_V_CONTINUE)
		step_urg(c, g, orig_seq);
	if (v == TCP_V_CONTINUE) {
		/* An acceptable segment: the peer is alive. Only these restart
		 * the keep-alive count (RFC 1122 §4.2.3.6; Linux's lrcvtime and
		 * rcv_tstamp move only for accepted data and ACKs): a dropped
		 * segment, such as an out-of-window RST every few seconds, must
		 * not keep a connection to a dead peer open for ever. */
		c->last_rcv_at = now;
		if (c->opt.keepalive && c->keep_at != STACK_NEVER)
			tcp_timer_set(c, &c->keep_at, now + (uint64_t)tcp_keepidle_s(c) * 1000000);
		v = step_text_fin(c, g, orig_seq, now);
		if (dup_syn && v != TCP_V_DONE) {
			/* Linux's tcp_data_queue then finds the SYN-ACK's SYN
			 * below RCV.NXT: a retransmission, answered at once
			 * with a D-SACK of it, in quick-ACK mode (since 6.11,
			 * "tcp: process the 3rd ACK with sk_socket for
			 * TFO/MPTCP": "an ACK should still be sent in reaction
			 * to the second SYN+ACK"). Measured on
			 * Linux 6.18 (rawframes synsent_simultaneous_open): the
			 * ACK "ack PEER_ISN+1 <nop,nop,sack PEER_ISN-PEER_ISN+1>"
			 * (pstack: nothing). */
			dsack_note(c, orig_seq - 1, orig_seq);
			tcp_enter_quickack_mode(c, TCP_MAX_QUICKACKS);
			c->ack_now = true;
		}
	}
	if (v == TCP_V_DONE)
		return;
	/* A connection request's ACK to an unacceptable segment is Linux's
	 * tcp_v4_reqsk_send_ack (tcp_send_ack_answer). */
	if (v == TCP_V_ACK && c->state == TCP_STATE_SYN_RECEIVED && c->parent && !c->in_acceptq &&
	    !c->active_open && !c->tfo) {
		tcp_send_ack_answer(c, g, now);
		return;
	}
	if (v == TCP_V_ACK)
		c->ack_now = true;
	tcp_output(c, now);
}

static void syn_sent_input(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	bool ack_ok = false, defer;

	if (g->flags & TCP_ACK) {
		if (seq_leq(g->ack, c->iss) || seq_gt(g->ack, c->snd_max)) {
			stack_drop(c->s, DROP_TCP_BAD_ACK);
			/* Linux's tcp_rcv_synsent_state_process ("previous
			 * FIN/ACK or RST/ACK might be ignored": the peer may
			 * answer an old connection of these ports): before any
			 * retransmission, the SYN goes again almost at once
			 * (TCP_TIMEOUT_MIN), a RST with that ACK too. Measured on
			 * Linux 6.18 (rawframes synsent_ack_no_syn): the reset
			 * from the ACK, then the SYN again within milliseconds
			 * (pstack: after the 1 s RTO). */
			if (c->retries == 0)
				tcp_timer_set(c, &c->rto_at, now + TCP_TIMEOUT_MIN_US);
			if (!(g->flags & TCP_RST))
				tcp_send_rst_reply(c->s, g, now);
			return;
		}
		/* RFC 7323 §5.2 for the handshake, as Linux's
		 * tcp_rcv_synsent_state_process (PAWSActiveRejected): an echo
		 * that is none of our SYNs' times, from the first one to now,
		 * answers some other SYN: a reset from its ACK. */
		if (g->has_ts && g->tsecr && c->ts_sent &&
		    !(seq_geq(g->tsecr, tcp_ts_now(c, c->rtt_start)) && seq_leq(g->tsecr, tcp_ts_now(c, now)))) {
			stack_drop(c->s, DROP_TCP_PAWS_ACTIVE);
			if (!(g->flags & TCP_RST))
				tcp_send_rst_reply(c->s, g, now);
			return;
		}
		ack_ok = true;
	}
	if (g->flags & TCP_RST) {
		if (ack_ok)
			tcp_abort(c, -ECONNREFUSED);
		else
			stack_drop(c->s, DROP_TCP_BAD_FLAGS);
		return;
	}
	if (!(g->flags & TCP_SYN)) {
		stack_drop(c->s, DROP_TCP_BAD_FLAGS);
		return;
	}
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->rcv_wup = c->rcv_nxt;
	take_syn_options(c, g, now);
	/* RFC 3168 §6.1.1: our ECN-setup SYN is accepted by a SYN-ACK with ECE
	 * and not CWR (Linux's tcp_ecn_rcv_synack()); in a simultaneous open,
	 * by the peer's SYN asking too (tcp_ecn_rcv_syn()). */
	if (ack_ok)
		c->ecn_ok = c->ecn_syn && (g->flags & TCP_ECE) && !(g->flags & TCP_CWR);
	else
		c->ecn_ok = c->ecn_syn && (g->flags & TCP_ECE) && (g->flags & TCP_CWR);
	if (ack_ok) {
		bool fo_resend = false;

		c->snd_una = g->ack;
		/* RFC 7413: the SYN's data it took leaves the send ring. */
		if (seq_gt(g->ack, c->snd_base)) {
			uint32_t n = g->ack - c->snd_base;

			tcp_ring_consume(&c->sndq, n);
			c->snd_base += n;
			c->bytes_acked += n;
		}
		if (c->fo_asked || c->fo_data) {
			tcp_fo_synack(c, g, now);
			/* Linux's tcp_rcv_fastopen_synack: what of the SYN's data
			 * the server did not take is marked lost and resent at
			 * once as retransmissions (tcp_xmit_retransmit_queue),
			 * the first carrying the handshake's ACK. A plain SYN
			 * sent again after a timeout left SND.NXT behind it. */
			if (seq_lt(c->snd_una, c->snd_max)) {
				c->snd_nxt = c->snd_max;
				tcp_recovery_syn_data_lost(c, c->snd_una, c->snd_max, c->rtt_start);
				fo_resend = true;
			}
		}
		c->snd_wnd = g->wnd;        /* RFC 7323 §2.2: the window in a SYN is never scaled */
		c->max_snd_wnd = c->snd_wnd;
		max_wnd_sync(c);
		c->snd_wl1 = g->seq;
		c->snd_wl2 = g->ack;
		if (c->total_retrans == 0)     /* Karn: the SYN went once (no timeout, no ICMP) */
			tcp_update_rtt(c, (uint32_t)(now - c->rtt_start), (uint32_t)(now - c->rtt_start), g->ack, now);
		else if (c->ts_ok && g->tsecr) {
			uint32_t rtt = ts_rtt_us(c, g->tsecr, now);

			if (rtt || tcp_ts_now(c, now) == g->tsecr)     /* an echo of this very ms counts */
				tcp_update_rtt(c, rtt, rtt, g->ack, now);
		}
		/* The window our SYN offered stands (Linux's rcv_wnd, from
		 * tcp_select_initial_window): the handshake's ACK offers it
		 * rounded up to the scale's unit, 502 x 128 for 64240. */
		tcp_syn_window_set(c, tcp_syn_window(c, false));
		enter_established(c, now);
		/* Whether the handshake's ACK may wait: decided before a FIN on
		 * the SYN-ACK makes the connection interactive (process_fin). */
		defer = c->opt.defer_accept || c->pingpong;
		if (g->len || (g->flags & TCP_FIN)) {
			/* RFC 9293 §3.10.7.3: "if there are other controls or text
			 * in the segment, then continue processing at the sixth
			 * step" (URG, then text and FIN), within the window our SYN
			 * offered. (Linux frees such a segment after its URG bit:
			 * the peer sends the data again.) */
			struct tcp_seg d = *g;
			uint32_t room = tcp_syn_window(c, false);

			d.flags &= (uint16_t)~TCP_SYN;
			d.seq = c->rcv_nxt;
			if (d.len > room) {
				d.len = room;
				d.flags &= (uint16_t)~TCP_FIN;
			}
			if (step_text_fin(c, &d, d.seq, now) == TCP_V_DONE)
				return;
		}
		if (fo_resend || seq_lt(c->snd_nxt, tcp_snd_end(c))) {
			/* Data waits (the SYN's not taken, or a blocking fast
			 * open's rest): it carries the ACK (Linux's
			 * sk_write_pending saves the pure one). */
			c->ack_now = true;
			if (seq_gt(tcp_snd_end(c), c->iss + 1 + c->fo_data)) {
				/* A blocking fast open send whose data the SYN
				 * did not all take waits for this SYN-ACK (Linux's
				 * inet_wait_for_connect with writebias: its
				 * fastopen_req->data stays set): Linux enters
				 * quick-ACK mode, which starts the delayed-ACK
				 * engine, and tcp_finish_connect notes the
				 * arrival (lrcvtime); the rest, sent at once, is
				 * then a reply (tcp_event_data_sent): the
				 * connection is interactive and the peer's next
				 * data waits for a delayed ACK. */
				c->lrcvtime = now;
				tcp_enter_quickack_mode(c, TCP_MAX_QUICKACKS);
			}
		} else if (defer && !c->ack_now) {
			/* Linux's tcp_rcv_synsent_state_process: with
			 * TCP_DEFER_ACCEPT, or interactive (TCP_QUICKACK 0), the
			 * handshake's ACK is a delayed ACK of at most
			 * TCP_DELACK_MAX, for data to ride on, and quick-ACK mode
			 * starts (which ends the interactive mode). Meanwhile the
			 * window offered is our SYN's, and the connection's end
			 * counts as the last arrival (tcp_finish_connect's
			 * lrcvtime): data sent within the delayed-ACK timeout of
			 * it is a reply, as Linux counts it. */
			c->lrcvtime = now;
			c->ack_sched = true;
			tcp_enter_quickack_mode(c, TCP_MAX_QUICKACKS);
			tcp_timer_set(c, &c->delack_at, now + TCP_DELACK_MAX_US);
		} else {
			tcp_send_ack(c, now);
		}
		tcp_wake(c);
		tcp_output(c, now);
		return;
	}
	/* Simultaneous open (RFC 9293 §3.5, figure 8). */
	tcp_set_state(c, TCP_STATE_SYN_RECEIVED);
	c->snd_wnd = g->wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = c->iss;
	c->rto_at = STACK_NEVER;
	tcp_send_syn(c, now);
}

/* What fast open makes of a SYN on a listener (RFC 7413 §4.2). */
enum fo_verdict {
	FO_NONE,        /* an ordinary handshake, no cookie in the SYN-ACK */
	FO_COOKIE,      /* an ordinary handshake; the SYN-ACK gives the client its cookie */
	FO_ACCEPT,      /* a fast open child: the SYN's data taken, accepted before the handshake ends */
	FO_ACCEPT_BACKUP, /* the same for the backup key's cookie: the SYN-ACK gives the primary's (Linux: ret 2) */
};

/* Key i of listener l's cookies: its own (TCP_FASTOPEN_KEY) when it was
 * given one, else the namespace's (Linux's tcp_fastopen_get_ctx). */
static void fastopen_key(const struct tcp_conn *l, int i, uint8_t key[16])
{
	const struct stack *s = l->s;

	if (l->opt.fastopen_keys) {
		memcpy(key, l->opt.fastopen_key[i < l->opt.fastopen_keys ? i : 0], 16);
	} else if (i < s->cfg.tcp_fastopen_keys) {
		memcpy(key, s->cfg.tcp_fastopen_key[i], 16);
	} else {
		/* No key in the namespace (Linux draws one at random when a
		 * listener first needs it): one from the stack's secret. */
		uint64_t a = siphash24(s->cfg.secret, "fastopen-key-0", 14);
		uint64_t b = siphash24(s->cfg.secret, "fastopen-key-1", 14);

		for (int k = 0; k < 8; k++) {
			key[k] = (uint8_t)(a >> (8 * k));
			key[8 + k] = (uint8_t)(b >> (8 * k));
		}
	}
}

/*
 * Linux's tcp_try_fastopen for a SYN on listener l, with the namespace's
 * net.ipv4.tcp_fastopen: the server side on, the listener given a fast open
 * queue (TCP_FASTOPEN, or every listener with 0x400) with room, and the SYN
 * carrying data or the option. Without a cookie needed (0x200, or
 * TFO_SERVER_COOKIE_NOT_REQD) the data is taken; a request gets the cookie; a
 * valid cookie (the primary key's or the backup's) has its data taken; an
 * invalid one gets the valid cookie and its data is not taken (the client
 * sends it again after the handshake). cookie: what the SYN-ACK gives.
 */
static enum fo_verdict fastopen_syn(const struct tcp_conn *l, const struct tcp_seg *g,
				    uint8_t cookie[TCP_FASTOPEN_COOKIE_LEN])
{
	const struct stack *s = l->s;
	uint16_t mode = s->cfg.tcp_fastopen;
	uint32_t qlen = l->opt.fastopen_qlen;
	uint8_t key[16];

	if ((mode & TFO_SERVER_WO_SOCKOPT) && !qlen && l->backlog > 0)
		qlen = (uint32_t)l->backlog;
	if (!(mode & TFO_SERVER_ENABLE) || !(g->len || g->has_fo) || !qlen || l->fo_count >= qlen)
		return FO_NONE;
	if ((mode & TFO_SERVER_COOKIE_NOT_REQD) || l->opt.fastopen_no_cookie)
		return FO_ACCEPT;
	if (!g->has_fo)
		return FO_NONE;
	fastopen_key(l, 0, key);
	tcp_fastopen_cookie(key, g->src, g->dst, cookie);
	if (g->fo_len == TCP_FASTOPEN_COOKIE_LEN) {
		uint8_t other[TCP_FASTOPEN_COOKIE_LEN];

		if (!memcmp(g->fo_cookie, cookie, TCP_FASTOPEN_COOKIE_LEN))
			return FO_ACCEPT;
		if (l->opt.fastopen_keys ? l->opt.fastopen_keys > 1 : s->cfg.tcp_fastopen_keys > 1) {
			fastopen_key(l, 1, key);
			tcp_fastopen_cookie(key, g->src, g->dst, other);
			if (!memcmp(g->fo_cookie, other, TCP_FASTOPEN_COOKIE_LEN))
				return FO_ACCEPT_BACKUP;
		}
	}
	return FO_COOKIE;
}

/* A fast open child takes its SYN's data (Linux's tcp_fastopen_add_skb) and
 * counts in l's fast open queue. A FIN on the SYN is not taken: the client
 * sends it again. */
static void fastopen_take(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_seg *g)
{
	c->tfo = true;
	c->fo_listener = l;
	l->fo_count++;
	/* The SYN-ACK in flight is no short segment for Nagle (Minshall's
	 * check): Linux's child has no SYN-ACK in its own queue. */
	c->snd_sml = c->iss;
	if (g->len) {
		size_t n = tcp_ring_write(&c->rcvq, g->data, g->len);

		c->rcv_nxt += (uint32_t)n;
		c->rcv_wup = c->rcv_nxt;
		c->bytes_received += n;
		c->syn_data = (uint16_t)n;
		c->syn_data_acked = n > 0;
		c->rx_data_at = l->s->now;
	}
}

/* An embryonic connection for a SYN on listener l. iss: our ISN (a cookie),
 * or 0 to draw one; send: whether to answer with a SYN-ACK now. fo: what
 * fast open made of the SYN (FO_NONE for a cookie's), cookie the one to give. */
/*
 * TCP_SAVE_SYN on the listener: the child keeps the headers of the SYN that
 * made it, the IP header and the TCP header with its options, and with 2
 * the link's header before them (Linux's tcp_reqsk_record_syn). Not for a
 * SYN cookie's child (Linux records only the SYNs it keeps state for), nor
 * without memory.
 */
static void keep_syn_ip_options(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	uint8_t opts[IP4_HLEN_MAX - IP4_HLEN];
	int olen;

	if (!g->ip_raw || g->ip_hlen <= IP4_HLEN)
		return;
	/* Linux's tcp_v4_save_options(): none when they cannot be echoed. */
	olen = ip4_options_echo(c->s, g->ip_raw, g->ip_hlen, opts, now);
	if (olen <= 0)
		return;
	memcpy(c->syn_iph, g->ip_raw, g->ip_hlen);
	c->syn_iph_len = g->ip_hlen;
	c->ip_opts_len = (uint8_t)olen;
}

static void save_syn(const struct tcp_conn *l, struct tcp_conn *c, const struct tcp_seg *g)
{
	unsigned mac = l->opt.save_syn == 2 ? g->mac_len : 0, n;

	if (!l->opt.save_syn || !g->ip_raw)
		return;
	n = mac + g->ip_hlen + g->hlen;
	c->saved_syn = malloc(n);
	if (!c->saved_syn)
		return;
	memcpy(c->saved_syn, g->ip_raw - mac, n);
	c->saved_syn_len = (uint16_t)n;
}

static struct tcp_conn *new_child_fo(struct tcp_conn *l, const struct tcp_seg *g, tcp_seq iss, bool send,
				     enum fo_verdict fo, const uint8_t *cookie, uint64_t now)
{
	struct stack *s = l->s;
	struct tcp_conn *c = tcp_conn_new(s);
	uint32_t mtu;

	if (!c) {
		stack_drop(s, DROP_TCP_NO_MEMORY);
		return NULL;
	}
	c->pcb.local.addr = g->dst;
	c->pcb.local.port = g->dport;
	c->pcb.remote.addr = g->src;
	c->pcb.remote.port = g->sport;
	c->parent = l;
	/* Like Linux's sk_clone_lock(): the listener's options and bind() flags. */
	tcp_set_opts(c, &l->opt);
	c->pcb.reuse = l->pcb.reuse;
	/* sk_clone_lock copies sk_userlocks but SOCK_BINDPORT_LOCK: the
	 * port is the listener's, not the child's bind()'s, so the child's
	 * tcp_done lets it go (inet_put_port) and bind() works again. */
	c->port_locked = false;
	c->shut_closed = l->shut_closed;    /* and sk_shutdown (listen() kept it) */
	c->rd_shut = (c->shut_closed & 1) != 0;
	/* Linux's tcp_v4_syn_recv_sock: the child's IP_MULTICAST_TTL is the
	 * TTL of the segment that made it (a fast open child's, or one of a
	 * SYN cookie's ACK, is made here; the others by the segment that
	 * completes the handshake, step_ack). */
	c->handshake_ttl = g->ttl ? g->ttl : 1;
	c->handshake_tos = g->tos;          /* and its rcv_tos, that segment's TOS */
	save_syn(l, c, g);
	keep_syn_ip_options(c, g, now);
	if (c->opt.maxseg && c->advmss > c->opt.maxseg)
		c->advmss = (uint16_t)c->opt.maxseg;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->rcv_wup = c->rcv_nxt;
	c->iss = iss ? iss : tcp_isn(s->cfg.secret, g->dst, g->dport, g->src, g->sport, now);
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->snd_max = c->iss + 1;
	c->snd_base = c->iss + 1;
	c->snd_sml = c->iss + 1;
	c->psh_pushed = c->iss + 1;
	c->recover = c->iss;
	c->ts_offset = s->cfg.tcp_timestamps == 2 ? 0 : tcp_ts_offset(s, g->dst, g->src);
	/* The path MTU learned for this peer lately, which the SYN-ACK's MSS
	 * follows: Linux's tcp_openreq_init_rwin and tcp_make_synack take
	 * dst_metric_advmss of the route to the peer, whose MTU
	 * (ipv4_default_advmss: ipv4_mtu) is the path MTU its exception
	 * holds. Measured on Linux 6.18 (rawframes udp_frag_needed_then_syn,
	 * and a SYN after tcp_frag_needed): MSS 960 and window 65280 after an
	 * MTU of 1000 (pstack: 1460 and 64240). */
	mtu = ip4_pmtu(s, g->src, now);
	c->pmtu = (uint16_t)(mtu < 65535 ? mtu : 65535);
	c->pmtu_locked = ip4_pmtu_locked(s, g->src, now);
	/* This host's own address: lo's route, whose advmss is its MTU's
	 * (ipv4_default_advmss: 65495), above the device's. */
	if (c->advmss > c->pmtu - 40u || mtu == IP4_LOCAL_MTU)
		c->advmss = (uint16_t)(c->pmtu - 40u);
	if (c->opt.maxseg && c->advmss > c->opt.maxseg)
		c->advmss = (uint16_t)c->opt.maxseg;
	c->rcv_wscale = tcp_pick_wscale(c);
	take_syn_options(c, g, now);
	/* RFC 3168 §6.1.1: a SYN with ECE and CWR asks for ECN; accepted unless
	 * PSTACK_TCP_ECN=0 (Linux's tcp_ecn 1 and 2 both accept), and, like
	 * Linux's tcp_ecn_create_request(), not when the SYN itself came ECT
	 * (a network that marks SYNs cannot be trusted with ECN). */
	c->ecn_ok = s->cfg.tcp_ecn && (g->flags & TCP_ECE) && (g->flags & TCP_CWR) && g->ecn == TCP_ECN_NOT_ECT;
	c->snd_wnd = g->wnd;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = g->seq;
	c->snd_wl2 = c->iss;
	c->rtt_start = send ? now : 0;
	tcp_set_state(c, TCP_STATE_SYN_RECEIVED);
	inpcb_hash_insert(&s->tcp->pcbs, &c->pcb);
	inpcb_bind_insert(&s->tcp->pcbs, &c->pcb);
	l->syn_count++;
	if (fo == FO_ACCEPT || fo == FO_ACCEPT_BACKUP)
		fastopen_take(l, c, g);
	if (fo == FO_COOKIE || fo == FO_ACCEPT_BACKUP) {
		/* Only the first SYN-ACK carries it (Linux's tcp_rtx_synack
		 * sends none). */
		memcpy(c->fo_send, cookie, TCP_FASTOPEN_COOKIE_LEN);
		c->fo_send_len = TCP_FASTOPEN_COOKIE_LEN;
		c->fo_exp = g->fo_exp;
	}
	if (send)
		tcp_send_syn(c, now);
	else
		tcp_syn_window_set(c, tcp_syn_window(c, true));
	if (c->tfo) {
		/* Linux's inet_csk_reqsk_queue_add at once: accept() returns
		 * it, and it may read and write, before the handshake ends. */
		tcp_child_established(c);
	}
	return c;
}

static struct tcp_conn *new_child(struct tcp_conn *l, const struct tcp_seg *g, tcp_seq iss, bool send,
				  uint64_t now)
{
	return new_child_fo(l, g, iss, send, FO_NONE, NULL, now);
}

/*
 * Linux's cookie_init_timestamp and cookie_timestamp_decode: a SYN with
 * timestamps gets a SYN-ACK with the options an ordinary one carries
 * (SACK, window scaling), and the low six bits of its TSval, before the
 * timestamp offset is added, say what was agreed: the peer's window scale
 * (15: none), SACK, ECN. The value is the clock rounded down to them, so
 * the TSvals that follow do not go back; the ACK's echo brings them back.
 * Measured on Linux 6.18 (tcp_syncookies 2): a cookie SYN-ACK
 * <mss 1460,sackOK,TS val ... ecr ...,nop,wscale 10>, window 65160, and
 * the connection then timestamped and window-scaled (pstack: <mss 1460>
 * alone, window 64240, a connection with neither).
 */
#define COOKIE_TS_BITS  6
#define COOKIE_TS_WS    0x0fu   /* the peer's window scale; all ones: none */
#define COOKIE_TS_SACK  0x10u
#define COOKIE_TS_ECN   0x20u

static uint32_t cookie_ts_offset(const struct stack *s, const struct tcp_seg *g)
{
	return s->cfg.tcp_timestamps == 2 ? 0 : tcp_ts_offset(s, g->dst, g->src);
}

/* The options of the SYN-ACK that answers SYN g of listener l with a cookie. */
static void cookie_synack_opts(const struct tcp_conn *l, const struct tcp_seg *g, struct tcp_seg *r, uint64_t now)
{
	const struct stack *s = l->s;
	uint32_t bits = COOKIE_TS_WS, clock = (uint32_t)(now / 1000), ts;

	memset(r, 0, sizeof(*r));
	if (!g->has_ts || !s->cfg.tcp_timestamps)
		return;         /* tcp_conn_request: tcp_clear_options, MSS alone */
	r->sack_ok = g->sack_ok && s->cfg.tcp_sack;
	if (r->sack_ok)
		bits |= COOKIE_TS_SACK;
	if (g->has_ws && s->cfg.tcp_window_scaling) {
		r->has_ws = true;
		r->ws = tcp_pick_wscale(l);
		bits = (bits & ~COOKIE_TS_WS) | g->ws;
	}
	/* Like new_child's ecn_ok (tcp_ecn_create_request). */
	if (s->cfg.tcp_ecn && (g->flags & TCP_ECE) && (g->flags & TCP_CWR) && g->ecn == TCP_ECN_NOT_ECT) {
		r->flags = TCP_ECE;
		bits |= COOKIE_TS_ECN;
	}
	ts = (clock >> COOKIE_TS_BITS) << COOKIE_TS_BITS | bits;
	if ((int32_t)(ts - clock) > 0)
		ts -= 1u << COOKIE_TS_BITS;
	r->has_ts = true;
	r->tsval = ts + cookie_ts_offset(s, g);
	r->tsecr = g->tsval;
}

/* A SYN-ACK carrying a cookie instead of keeping state (RFC 4987 §3.6). */
static void send_cookie_synack(struct tcp_conn *l, const struct tcp_seg *g, uint64_t now)
{
	struct stack *s = l->s;
	uint16_t mss = syn_mss(g);
	tcp_seq cookie = tcp_cookie_make(s->cfg.secret, g->dst, g->dport, g->src, g->sport, g->seq, mss, now);
	struct tcp_seg opts;

	cookie_synack_opts(l, g, &opts, now);
	tcp_send_cookie_synack(s, g, cookie, l->opt.rcvbuf >= 0 ? tcp_rcvbuf_full_space(l->rcvq.limit) : l->rcvq.limit,
			       &opts, (uint8_t)(l->opt.tos & ~3u), l->opt.ttl, now);
	s->tcp->cookie_at = now;
}

/* The ACK that completes a cookie handshake (RFC 4987 §3.6). */
static bool cookie_ack(struct tcp_conn *l, struct tcp_seg *g, uint64_t now)
{
	struct stack *s = l->s;
	struct tcp_table *t = s->tcp;
	struct tcp_seg syn;
	struct tcp_conn *c;
	uint16_t mss;

	if (!t->cookie_at || now - t->cookie_at > 120000000ull ||
	    tcp_cookie_check(s->cfg.secret, g->dst, g->dport, g->src, g->sport, g->seq - 1, g->ack - 1, now, &mss))
		return false;
	if (l->acc_count > (unsigned)l->backlog) {
		stack_drop(s, DROP_TCP_LISTEN_OVERFLOW);
		return true;
	}
	memset(&syn, 0, sizeof(syn));
	syn.src = g->src;
	syn.dst = g->dst;
	syn.sport = g->sport;
	syn.dport = g->dport;
	syn.seq = g->seq - 1;
	syn.flags = TCP_SYN;
	syn.has_mss = true;
	syn.mss = mss;
	syn.wnd = g->wnd;
	/* The options the SYN-ACK's TSval kept, from the ACK's echo
	 * (cookie_timestamp_decode); an ACK without timestamps: none. */
	if (g->has_ts && s->cfg.tcp_timestamps) {
		uint32_t bits = g->tsecr - cookie_ts_offset(s, g);

		syn.has_ts = true;
		syn.tsval = g->tsval;
		syn.sack_ok = (bits & COOKIE_TS_SACK) && s->cfg.tcp_sack;
		if ((bits & COOKIE_TS_WS) != COOKIE_TS_WS && s->cfg.tcp_window_scaling) {
			syn.has_ws = true;
			syn.ws = (uint8_t)(bits & COOKIE_TS_WS);
			if (syn.ws > TCP_MAX_WSCALE)
				syn.ws = TCP_MAX_WSCALE;
		}
		if (bits & COOKIE_TS_ECN)
			syn.flags |= TCP_ECE | TCP_CWR;
	}
	c = new_child(l, &syn, g->ack - 1, false, now);
	if (c)
		synchronized_input(c, g, now);
	return true;
}

/* RFC 9293 §3.10.7.2: LISTEN. */
/* A SYN on listener l. tw_isn: the ISN a SYN that ended a TIME_WAIT
 * gets (0: none). */
static void listen_input(struct tcp_conn *l, struct tcp_seg *g, tcp_seq tw_isn, uint64_t now)
{
	struct stack *s = l->s;
	unsigned syn_limit = l->backlog > 0 ? (unsigned)l->backlog : 0;

	if (g->flags & TCP_RST) {
		stack_drop(s, DROP_TCP_BAD_FLAGS);
		return;
	}
	if (g->flags & TCP_ACK) {
		if ((g->flags & TCP_SYN) || !cookie_ack(l, g, now)) {
			stack_drop(s, s->tcp->cookie_at && !(g->flags & TCP_SYN) ? DROP_TCP_BAD_COOKIE : DROP_TCP_BAD_ACK);
			tcp_send_rst_reply(s, g, now);
		}
		return;
	}
	if (!(g->flags & TCP_SYN) || (g->flags & TCP_FIN)) {
		stack_drop(s, DROP_TCP_BAD_FLAGS);
		return;
	}
	if (l->acc_count > (unsigned)l->backlog) {
		stack_drop(s, DROP_TCP_LISTEN_OVERFLOW);
		return;
	}
	if (l->syn_count > syn_limit && !tw_isn) {
		/* SYN queue full: answer statelessly (RFC 4987 §3.6). Not a
		 * SYN that ended a TIME_WAIT (Linux's tcp_conn_request looks
		 * at the queue only without a tw_isn). Full is more requests
		 * than the backlog, as the accept queue's test (Linux's
		 * inet_csk_reqsk_queue_is_full since 6.14, "tcp/dccp: allow a
		 * connection when sk_max_ack_backlog is zero"; measured on
		 * Linux 6.18: backlog 0, 1 and 2 keep 1, 2 and 3 requests,
		 * TCPReqQFullDoCookies counts the rest). */
		send_cookie_synack(l, g, now);
		return;
	}
	{
		uint8_t cookie[TCP_FASTOPEN_COOKIE_LEN];

		new_child_fo(l, g, tw_isn, true, fastopen_syn(l, g, cookie), cookie, now);
	}
}

void tcp_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	struct tcp_seg g;
	struct tcp_conn *c;
	tcp_seq tw_isn = 0;
	int r;

	s->stats.tcp_in++;
	r = tcp_parse(p, len, ih->src, ih->dst, !(ih->rx_csum & STACK_CSUM_TCP), &g);
	if (r) {
		stack_drop(s, (enum drop_reason)r);
		return;
	}
	g.ecn = ih->tos & 3;
	g.ttl = ih->ttl;
	g.tos = ih->tos;
	g.ip_raw = ih->raw;
	g.ip_hlen = ih->ihl;
	g.mac_len = ih->mac_len;
	/* A SYN's options the namespace switched off are not seen (Linux's
	 * tcp_parse_options reads them on a SYN only with the sysctl on). */
	if (g.flags & TCP_SYN) {
		g.has_ts = g.has_ts && s->cfg.tcp_timestamps;
		g.sack_ok = g.sack_ok && s->cfg.tcp_sack;
		g.has_ws = g.has_ws && s->cfg.tcp_window_scaling;
	}
	c = tcp_lookup(s, g.dst, g.dport, g.src, g.sport);
	if (c && c->state == TCP_STATE_TIME_WAIT && (g.flags & TCP_SYN) && !(g.flags & (TCP_ACK | TCP_RST)) &&
	    time_wait_reopens(c, &g) && tcp_lookup_listener(s, g.dst, g.dport, g.src, g.sport)) {
		/* Linux's tcp_timewait_state_process (TCP_TW_SYN): the new
		 * connection's ISN lies a window beyond what the old one sent,
		 * SND.NXT + 65535 + 2, whatever the ISN clock says, so that
		 * no old segment falls in its window (RFC 1122 §4.2.2.13). */
		tw_isn = c->snd_nxt + 65535 + 2;
		if (!tw_isn)
			tw_isn = 1;
		tcp_abort(c, 0);
		c = NULL;
	}
	/* RFC 2385: a segment signed with TCP MD5. No socket here has a key,
	 * and Linux (CONFIG_TCP_MD5SIG, as distributions build it) drops a
	 * signed segment for a socket without one (tcp_inbound_hash:
	 * TCPMD5UNEXPECTED), a listener's too, all but a TIME_WAIT one's
	 * (tcp_v4_rcv checks after do_time_wait); for no socket its
	 * tcp_v4_send_reset finds no key and sends no reset. Measured on
	 * Linux 6.18 (rawframes tcp_syn_md5, est_data_md5): no SYN-ACK, no
	 * RST, the data not acknowledged. */
	if (g.has_md5 && !(c && c->state == TCP_STATE_TIME_WAIT)) {
		stack_drop(s, DROP_TCP_MD5_UNEXPECTED);
		return;
	}
	if (!c) {
		struct tcp_conn *l = tcp_lookup_listener(s, g.dst, g.dport, g.src, g.sport);

		if (l) {
			if (ih->ttl < l->opt.minttl) {
				stack_drop(s, DROP_TCP_MINTTL);
				return;
			}
			listen_input(l, &g, tw_isn, now);
			return;
		}
		/* RFC 9293 §3.10.7.1: CLOSED. */
		stack_drop(s, DROP_TCP_NO_SOCKET);
		tcp_send_rst_reply(s, &g, now);
		return;
	}
	/* IP_MINTTL (RFC 5082): Linux's tcp_v4_rcv drops what comes with a
	 * lower TTL, silently, on any socket but a TIME_WAIT one. */
	if (ih->ttl < c->opt.minttl && c->state != TCP_STATE_TIME_WAIT) {
		stack_drop(s, DROP_TCP_MINTTL);
		return;
	}
	{
		/* Linux's tcp_segs_in(): a TSO frame counts its segments. */
		uint32_t n = tcp_pcount(g.len, c->mss);

		c->segs_in += n;
		if (g.len)
			c->data_segs_in += n;
	}
	if (c->state == TCP_STATE_SYN_SENT)
		syn_sent_input(c, &g, now);
	else
		synchronized_input(c, &g, now);
}
