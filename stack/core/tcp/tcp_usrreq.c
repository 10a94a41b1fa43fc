/*
 * TCP: the calls the socket shim makes (stack/core/tcp/tcp.h): open, bind,
 * listen, connect, accept, send, receive, shutdown, close, readiness, socket
 * options and TCP_INFO (OpenBSD's tcp_usrreq.c). Each runs under the stack
 * lock and returns 0, a count or a negative errno.
 *
 * RFCs to read first: 9293 §3.10.1-§3.10.6 (the user calls), 1122 §4.2.2
 * and §4.2.3 (window updates, keep-alives), 6056 (ephemeral ports), 6528.
 */
#include "stack/core/tcp/tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/config.h"
#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"

struct tcp_conn *tcp_open(struct stack *s)
{
	stack_assert_locked();
	return tcp_conn_new(s);
}

int tcp_bind(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags)
{
	int r;

	stack_assert_locked();
	if (c->pcb.in_bind || c->state != TCP_STATE_CLOSED)
		return -EINVAL;
	c->pcb.port_range = c->opt.port_range;
	/* IP_BIND_ADDRESS_NO_PORT: the address only (Linux's __inet_bind
	 * skips get_port). The socket holds no port, so bind() may come
	 * again (Linux's double-bind check is on the port); connect()
	 * picks the port by the 4-tuple, listen() and a UDP send as for
	 * an unbound socket, from this address. */
	if (!local->port && c->opt.bind_no_port)
		return inpcb_bind_addr(&c->s->tcp->pcbs, &c->pcb, local->addr, flags);
	r = inpcb_bind(&c->s->tcp->pcbs, &c->pcb, local, flags);
	if (r == 0) {
		c->port_locked = local->port != 0;
		/* Linux's __inet_bind ends by zeroing the peer (inet_dport:
		 * SO_PEERNAME's ENOTCONN) and dropping the route
		 * (sk_dst_reset: IP_MTU's ENOTCONN); __inet6_bind keeps the
		 * route. The address stays here as the route's. */
		c->pcb.remote.port = 0;
		if (!c->opt.inet6)
			c->dst_reset = true;
	} else if ((c->was_connected && r != -EADDRNOTAVAIL) || r == -EADDRINUSE)
		/* Linux's __inet_bind clears the address it tried (inet_reset_saddr
		 * after get_port failed); the port stays shown. An address not
		 * the host's was refused before anything changed (__inet6_bind:
		 * after the state check), the old address stays. */
		c->pcb.local.addr = 0;
	return r;
}

int tcp_bind_kept(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags, bool named)
{
	int r = tcp_bind(c, local, flags);

	if (r == 0)
		c->port_locked = named;
	return r;
}

int tcp_bind_addr_check(const struct tcp_conn *c, uint32_t addr, unsigned flags)
{
	stack_assert_locked();
	return inpcb_bind_addr_check(&c->s->tcp->pcbs, addr, flags);
}

int tcp_autobind(struct tcp_conn *c, unsigned flags)
{
	struct ip4_endpoint local = { c->pcb.local.addr, 0 };
	int r;

	stack_assert_locked();
	if (c->pcb.in_bind || c->state != TCP_STATE_CLOSED)
		return -EINVAL;
	c->pcb.port_range = c->opt.port_range;
	r = inpcb_bind(&c->s->tcp->pcbs, &c->pcb, &local, flags);
	if (r == 0)
		c->port_locked = false;
	return r;
}

int tcp_rebind(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags, uint64_t now)
{
	stack_assert_locked();
	if (c->state == TCP_STATE_TIME_WAIT && !c->orphan && !c->port_locked) {
		/* Linux's tcp_time_wait closes the socket itself at once and
		 * leaves the wait to a timewait record: the socket is free to
		 * bind() again while the record answers the peer. Here the
		 * application's connection waited itself; it hands the wait to
		 * an orphan now (its unread bytes stay with the socket). */
		struct tcp_tw_rec r;

		tcp_tw_record(c, &r, now);
		tcp_done(c);
		(void)tcp_tw_import(c->s, &r, now);   /* -ENOMEM: no wait, as Linux without a timewait record */
	}
	return tcp_bind(c, local, flags);
}

int tcp_listen(struct tcp_conn *c, int backlog)
{
	stack_assert_locked();
	if (c->state == TCP_STATE_LISTEN) {
		c->backlog = backlog < 0 || backlog > 4096 ? 4096 : backlog;
		return 0;
	}
	if (c->state != TCP_STATE_CLOSED || c->was_connected)
		return -EINVAL;
	if (!c->pcb.in_bind) {
		int r = tcp_autobind(c, c->pcb.reuse);

		if (r)
			return r;
	} else {
		/* Linux's inet_csk_listen_start asks get_port for the port
		 * again: a listener shut down and listening anew, bound
		 * without SO_REUSEADDR, meets the connections it accepted
		 * (inet_csk_bind_conflict), unless the bucket's fast path
		 * takes it (sk_reuseport_match); either way the bucket's
		 * fast path is set again, now for a listener. */
		if (!inpcb_listen_fast(&c->s->tcp->pcbs, &c->pcb) &&
		    inpcb_bound_conflict(&c->s->tcp->pcbs, &c->pcb))
			return -EADDRINUSE;
		inpcb_listen_fast_update(&c->s->tcp->pcbs, &c->pcb);
	}
	/* Two listeners on one port only with SO_REUSEPORT on both. */
	if (inpcb_listen_conflict(&c->s->tcp->pcbs, &c->pcb))
		return -EADDRINUSE;
	/* Like Linux: a backlog above somaxconn (or negative) is clamped. */
	c->backlog = backlog < 0 || backlog > 4096 ? 4096 : backlog;
	tcp_set_state(c, TCP_STATE_LISTEN);
	inpcb_listen_insert(&c->s->tcp->pcbs, &c->pcb);
	return 0;
}

static size_t iov_len(const struct sock_iov *v, int cnt)
{
	size_t len = 0;

	for (int i = 0; i < cnt; i++)
		len += v[i].len;
	return len;
}

/* tcp_connect up to the SYN: the endpoints, the sequence space, SYN_SENT.
 * 0, or -errno. */
static int connect_init(struct tcp_conn *c, const struct ip4_endpoint *dst, uint64_t now)
{
	struct stack *s = c->s;
	struct ip4_endpoint to = *dst;
	struct tcp_conn *old;
	uint32_t laddr, clamp, mtu, old_nxt = 0, old_ts_recent = 0;
	bool reuse = false;
	int r;

	stack_assert_locked();
	switch (c->state) {
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
		return -EALREADY;
	case TCP_STATE_CLOSED:
		break;
	default:
		return -EISCONN;
	}
	if (c->was_connected)
		return -EISCONN;
	/* A socket bound to a broadcast or multicast address has no source of
	 * its own (Linux's inet_bind leaves inet_saddr 0 for those). */
	laddr = c->pcb.local.addr;
	if (ip4_is_broadcast(s, laddr) || ip4_is_multicast(laddr))
		laddr = 0;
	/* INADDR_ANY is this host: the socket's own address or 127.0.0.1
	 * (tcp_v4_connect takes the route's destination). */
	if (!to.addr)
		to.addr = ip4_this_host(laddr);
	/* RFC 1122 §4.2.3.10: no connection to a broadcast or multicast
	 * address (Linux's tcp_v4_connect: ENETUNREACH at once). */
	if (ip4_is_broadcast(s, to.addr) || ip4_is_multicast(to.addr))
		return -ENETUNREACH;
	r = inpcb_src_error(&s->tcp->pcbs, &c->pcb);
	if (r)
		return r;
	/* SO_DONTROUTE: a route on the link only (Linux's RTO_ONLINK). */
	if (c->opt.dontroute && !stack_reach_direct(s, to.addr))
		return -ENETUNREACH;
	/* Without one, the interface's, or 127.0.0.1 towards 127.0.0.1. */
	if (!laddr)
		laddr = ip4_local_src(to.addr, s->cfg.addr);
	if (!c->pcb.in_bind) {
		uint32_t off = tcp_port_offset(s->cfg.secret, laddr, to.addr, to.port);
		uint16_t port;

		c->pcb.port_range = c->opt.port_range;
		if (inpcb_connect_port(&s->tcp->pcbs, &c->pcb, laddr, &to, off, &port))
			return -EADDRNOTAVAIL;
		/* The search took the 4-tuple of a connection waiting out
		 * TIME_WAIT only if it may be reused. */
		old = tcp_lookup(s, laddr, port, to.addr, to.port);
		c->pcb.local.port = port;
		c->pcb.local.addr = laddr;
		c->pcb.reuse |= INPCB_CONNECT_BIND;
		inpcb_bind_insert(&s->tcp->pcbs, &c->pcb);
	} else {
		c->pcb.local.addr = laddr;
		old = tcp_lookup(s, laddr, c->pcb.local.port, to.addr, to.port);
		if (old && !tcp_tw_reusable(old, true, now))
			return -EADDRNOTAVAIL;
	}
	if (old) {
		/* Linux's tcp_twsk_unique: the old connection ends here, the
		 * new one starts its sequence space past the old one's. */
		old_nxt = old->snd_nxt;
		old_ts_recent = old->ts_recent;
		reuse = true;
		tcp_done(old);
	}
	c->pcb.remote = to;
	c->active_open = true;
	c->err = 0;
	c->soft_err = 0;
	/* A new attempt after a failed one starts from scratch (RFC 6298 (2.1)). */
	c->retries = 0;
	c->backoff = 0;
	c->rto = TCP_RTO_INIT_US;
	c->rtt_valid = false;
	c->fin_rcvd = false;
	c->fin_queued = false;
	/* PSTACK_TCP_ECN=1: ask for ECN (Linux's tcp_ecn = 1). */
	c->ecn_syn = s->cfg.tcp_ecn == 1;
	c->ecn_ok = c->ecn_seen = c->ecn_demand_cwr = c->ecn_queue_cwr = false;
	c->psh_n = 0;
	c->psh_tail_marked = false;
	c->grow_on = false;
	tcp_ring_consume(&c->sndq, c->sndq.len);
	tcp_ring_consume(&c->rcvq, c->rcvq.len);
	c->iss = tcp_isn(s->cfg.secret, laddr, c->pcb.local.port, to.addr, to.port, now);
	/* On a TIME_WAIT connection's 4-tuple, past its sequence space and
	 * a window more, and the SYN echoes the old connection's last TS
	 * value (Linux's tcp_twsk_unique takes tw_ts_recent over, and
	 * tcp_syn_options echoes ts_recent); else TS ecr 0. */
	c->ts_recent = 0;
	if (reuse) {
		c->iss = old_nxt + 65535 + 2;
		c->ts_recent = old_ts_recent;
	} else if (c->disc_seq_set) {
		c->iss = c->disc_seq;   /* write_seq after a disconnect (tcp_disconnect_counts) */
	}
	c->disc_seq_set = false;
	c->snd_una = c->iss;
	c->snd_nxt = c->iss;
	c->snd_max = c->iss;
	/* tcp_connect_init: snd_una and snd_nxt catch write_seq up. */
	c->dead_outq = c->dead_nsd = 0;
	c->snd_base = c->iss + 1;
	c->snd_sml = c->iss + 1;
	c->psh_pushed = c->iss + 1;
	c->recover = c->iss;
	c->ts_offset = s->cfg.tcp_timestamps == 2 ? 0 : tcp_ts_offset(s, laddr, to.addr);
	/* The path MTU learned for this peer lately, which the MSS our SYN
	 * offers follows: Linux's tcp_connect_init and tcp_advertise_mss take
	 * dst_metric_advmss of the route to the peer (ipv4_default_advmss:
	 * its MTU, the path MTU its exception holds). Measured on Linux 6.18
	 * with a route of MTU 1000 to the peer: SYN mss 960, window 65280. */
	mtu = ip4_pmtu(s, to.addr, now);
	c->pmtu = (uint16_t)(mtu < 65535 ? mtu : 65535);
	c->pmtu_locked = ip4_pmtu_locked(s, to.addr, now);
	/* This host's own address: lo's route, whose advmss is its MTU's
	 * (ipv4_default_advmss: 65495), above the device's. */
	if (c->advmss > c->pmtu - 40u || mtu == IP4_LOCAL_MTU)
		c->advmss = (uint16_t)(c->pmtu - 40u);
	if (c->opt.maxseg && c->advmss > c->opt.maxseg)
		c->advmss = (uint16_t)c->opt.maxseg;
	/* Until the peer's SYN says more, Linux's tcp_connect_init: the MSS
	 * from TCP_MAXSEG or 536, within the path MTU, less the timestamps
	 * our SYN offers (what TCP_MAXSEG answers meanwhile). */
	clamp = c->opt.maxseg ? (uint32_t)c->opt.maxseg : TCP_DEFAULT_MSS;
	c->mss = (uint16_t)((clamp < c->pmtu - 40u ? clamp : c->pmtu - 40u) - (s->cfg.tcp_timestamps ? 12u : 0u));
	c->mss_closed = c->mss;     /* Linux's mss_cache, which a refused attempt leaves */
	c->rcv_wscale = tcp_pick_wscale(c);
	c->rd_shut = (c->shut_closed & 1) != 0;   /* a shutdown() before connect() stays */
	c->wr_shut = false;
	c->rtt_start = now;
	c->fo_syn_len = -1;
	c->fo_asked = c->fo_asked_exp = c->fo_defer = false;
	c->fo_data = 0;
	c->syn_data_acked = false;
	tcp_set_state(c, TCP_STATE_SYN_SENT);
	s->stats.tcp_active_opens++;
	inpcb_hash_insert(&s->tcp->pcbs, &c->pcb);
	return 0;
}

int tcp_connect(struct tcp_conn *c, const struct ip4_endpoint *peer, uint64_t now)
{
	int err;

	stack_assert_locked();
	if (c->fo_defer)
		return -EALREADY;
	err = connect_init(c, peer, now);
	if (err)
		return err;
	tcp_send_syn(c, now);
	return -EINPROGRESS;
}

/*
 * The bytes of a SYN with data (Linux's tcp_send_syn_data): the segment
 * is sized by the MSS the server announced before (else ours), within
 * TCP_MAXSEG and the path MTU, less the whole option space (40 bytes:
 * middleboxes may add options to a SYN).
 */
static uint32_t syn_data_room(const struct tcp_conn *c, uint16_t cached_mss)
{
	uint32_t clamp = cached_mss ? cached_mss : c->advmss;
	uint32_t mss = c->pmtu - 40u;

	if (c->opt.maxseg && clamp > (uint32_t)c->opt.maxseg)
		clamp = (uint32_t)c->opt.maxseg;
	if (mss > clamp)
		mss = clamp;
	if (mss < 48)           /* Linux's tcp_min_snd_mss */
		mss = 48;
	return mss - 40;
}

/* The SYN of a fast open, with what of v fits (all: the rest queued
 * behind, to go once the handshake is done). */
static long fastopen_start(struct tcp_conn *c, const struct sock_iov *v, int cnt, bool all, uint64_t now)
{
	size_t len = iov_len(v, cnt), put;
	uint16_t cached_mss = 0;
	long n = 0;

	c->fo_defer = false;
	c->rtt_start = now;         /* the SYN goes now (TCP_FASTOPEN_CONNECT's waited) */
	if (tcp_fo_client_check(c, &cached_mss, now)) {
		uint32_t room = syn_data_room(c, cached_mss);

		put = all ? len : (len < room ? len : room);
		if (put)
			n = tcp_ring_writev(&c->sndq, v, cnt, put, stack_copier(c->s));
		if (n < 0) {
			/* The data cannot be read (a bad address): Linux's
			 * tcp_send_syn_data copies nothing and falls back to
			 * "a regular SYN with Fast Open cookie request
			 * option"; the send answers EINPROGRESS, not EFAULT
			 * (tcp_syscall_bad_arg_fastopen-invalid-buf-ptr). */
			n = 0;
			c->fo_syn_len = 0;
		} else if (n > 0) {
			c->fo_data = (uint16_t)((size_t)n < room ? (size_t)n : room);
			tcp_psh_note_write(c, c->snd_base, c->snd_base + (uint32_t)n);
		}
	} else {
		/* No cookie: a request, the data after the handshake. */
		if (c->fo_syn_len > 0)
			c->fo_syn_len = 0;
		if (all && len) {
			n = tcp_ring_writev(&c->sndq, v, cnt, len, stack_copier(c->s));
			if (n < 0) {
				tcp_abort(c, 0);
				return n;
			}
			tcp_psh_note_write(c, c->snd_base, c->snd_base + (uint32_t)n);
		}
	}
	tcp_send_syn(c, now);
	return n;
}

long tcp_connect_fastopen(struct tcp_conn *c, const struct ip4_endpoint *peer, const struct sock_iov *v, int cnt,
			  bool all, uint64_t now)
{
	int err;

	stack_assert_locked();
	if (!(c->s->cfg.tcp_fastopen & TFO_CLIENT_ENABLE))
		return -EOPNOTSUPP;
	if (!c->fo_defer) {
		err = connect_init(c, peer, now);
		if (err)
			return err;
	}
	return fastopen_start(c, v, cnt, all, now);
}

bool tcp_fastopen_client_on(const struct stack *s)
{
	return !s || (s->cfg.tcp_fastopen & TFO_CLIENT_ENABLE);
}

int tcp_connect_defer(struct tcp_conn *c, const struct ip4_endpoint *peer, uint64_t now)
{
	uint16_t mss = 0;
	int err;

	stack_assert_locked();
	if (c->fo_defer)
		return -EALREADY;
	if (!(c->s->cfg.tcp_fastopen & TFO_CLIENT_ENABLE))
		return tcp_connect(c, peer, now);
	err = connect_init(c, peer, now);
	if (err)
		return err;
	if (tcp_fo_client_check(c, &mss, now)) {
		/* Linux's tcp_fastopen_defer_connect: the SYN waits for the
		 * first write, which puts data in it. */
		c->fo_defer = true;
		c->fo_syn_len = -1;
		return 0;
	}
	if (c->fo_syn_len > 0)
		c->fo_syn_len = 0;
	tcp_send_syn(c, now);
	return -EINPROGRESS;
}

bool tcp_fastopen_deferred(const struct tcp_conn *c)
{
	return c->fo_defer && c->state == TCP_STATE_SYN_SENT;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l, int *err)
{
	struct tcp_conn *c;

	stack_assert_locked();
	if (l->state != TCP_STATE_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	c = l->acc_head;
	if (!c) {
		*err = -EAGAIN;
		return NULL;
	}
	tcp_acceptq_remove(l, c);
	c->parent = NULL;
	*err = 0;
	return c;
}

/* Bytes queued and not sent yet (Linux's write_seq - snd_nxt); in CLOSE
 * the gap a reset or a disconnect left between them (tcp_outq_unsent). */
static uint32_t notsent(const struct tcp_conn *c)
{
	tcp_seq end = tcp_snd_end(c);

	if (c->state == TCP_STATE_CLOSED)
		return (uint32_t)c->sndq.len + c->dead_nsd;

	return seq_gt(end, c->snd_nxt) ? end - c->snd_nxt : 0;
}

/* The new data the congestion window and the peer's window let go at once
 * (whole segments of cwnd less the packets in flight, as tcp_output counts
 * them); none out of the Open state, where PRR or the loss's recovery
 * decide. */
static uint32_t send_room(const struct tcp_conn *c)
{
	uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS, cwnd_segs = c->cc.cwnd / mss;
	uint32_t pipe_segs = tcp_pipe_pkts(c), room, wnd;
	tcp_seq edge = c->snd_una + c->snd_wnd;

	if (c->in_recovery || c->ca_state != TCP_CA_OPEN || c->sb.to_resend)
		return 0;
	room = cwnd_segs > pipe_segs ? (cwnd_segs - pipe_segs) * mss : 0;
	wnd = seq_gt(edge, c->snd_nxt) ? edge - c->snd_nxt : 0;
	return room < wnd ? room : wnd;
}

/*
 * How much of a write of len bytes goes in under TCP_NOTSENT_LOWAT (Linux's
 * tcp_sendmsg_locked with tcp_stream_memory_free): the unsent bytes sit in
 * buffers of a size goal; the one at the tail takes bytes whatever the mark,
 * a new one only while fewer than the mark are unsent. Each buffer that
 * fills is pushed at once (tcp_push_one), which sends what the windows
 * allow from the head and leaves the tail's unsent rest a buffer with room
 * again: measured on Linux 6.18, a non-blocking write of 59000 with the
 * mark at 4000 and cwnd's 10 segments free takes 26000 (10000 sent, one
 * 16000 buffer unsent), where counting nothing sent took 16000.
 */
static size_t lowat_room(const struct tcp_conn *c, size_t len)
{
	uint32_t lowat = tcp_notsent_lowat(c), goal, unsent = notsent(c), tail, room;
	size_t n = 0;

	if (!lowat)
		return len;
	goal = tcp_size_goal(c);
	room = send_room(c);
	tail = unsent % goal ? unsent % goal : (unsent ? goal : 0);
	while (n < len) {
		size_t k;

		if (tail && tail < goal) {
			k = len - n < goal - tail ? len - n : goal - tail;  /* the tail takes more */
		} else {
			if (unsent >= lowat)
				break;          /* sk_stream_memory_free: no new buffer */
			k = len - n < goal ? len - n : goal;
			tail = 0;
		}
		tail += (uint32_t)k;
		unsent += (uint32_t)k;
		n += k;
		if (tail == goal) {
			/* The push of a full buffer: what the windows let go leaves from the head. */
			uint32_t sent = room < unsent ? room : unsent;

			room -= sent;
			unsent -= sent;
			if (unsent < tail)
				tail = unsent;
		}
	}
	return n;
}

/*
 * Linux's tcp_rate_check_app_limited(), at each send: less than a segment
 * waiting, the window not full, nothing lost waiting to be resent: a gap
 * the program left. The segments sent until the deliveries pass what is
 * in flight now are marked application-limited.
 */
static void rate_check_app_limited(struct tcp_conn *c)
{
	uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS;
	uint32_t inflight = tcp_pipe_pkts(c);      /* Linux's tcp_packets_in_flight */

	if (notsent(c) < mss && inflight < c->cc.cwnd / mss && c->sb.lost <= c->sb.retrans)
		c->app_limited = c->delivered + inflight ? c->delivered + inflight : 1;
}

/* What a send finds before it queues anything: 0, or its error. */
static long send_check(struct tcp_conn *c)
{
	if (c->err) {
		int e = c->err;

		c->err = 0;
		return e;
	}
	/* Linux's tcp_sendmsg_locked waits for the handshake first
	 * (sk_stream_wait_connect) and looks at SEND_SHUTDOWN after it: a
	 * shutdown() made before connect() answers EAGAIN while the SYN is
	 * out, EPIPE once the connection is made. */
	if ((c->wr_shut || (c->shut_closed & 2)) && c->state != TCP_STATE_SYN_SENT &&
	    !(c->state == TCP_STATE_SYN_RECEIVED && !c->tfo))
		return -EPIPE;
	switch (c->state) {
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_CLOSE_WAIT:
		return 0;
	case TCP_STATE_SYN_RECEIVED:
		if (c->tfo)
			return 0;  /* Linux's tcp_passive_fastopen: no wait for the handshake */
		return -EAGAIN;
	case TCP_STATE_SYN_SENT:
		return -EAGAIN;
	case TCP_STATE_CLOSED:
		return c->was_connected ? -EPIPE : -ENOTCONN;
	case TCP_STATE_LISTEN:
		return -ENOTCONN;
	default:
		return -EPIPE;
	}
}

/* After n bytes (> 0) of a write of len went into the send queue. */
static void send_queued(struct tcp_conn *c, size_t n, size_t len, uint64_t now)
{
	/* Linux's tcp_sendmsg_locked sets SOCK_NOSPACE when it stops for
	 * room, before it pushes what it copied: a short write too. */
	if (n < len)
		c->nospace = true;
	tcp_chrono_start(c, TCP_CHRONO_BUSY, now);  /* Linux's tcp_add_write_queue_tail */
	tcp_psh_note_write(c, tcp_snd_end(c) - (uint32_t)n, tcp_snd_end(c));
	tcp_output_burst(c, now, TCP_APP_BURST);
}

long tcp_sendv(struct tcp_conn *c, const struct sock_iov *v, int cnt, uint64_t now)
{
	size_t len = iov_len(v, cnt);
	long n;

	stack_assert_locked();
	rate_check_app_limited(c);
	if ((n = send_check(c)) != 0)
		return n;
	if (!len)
		return 0;
	len = lowat_room(c, len);
	/* One chunk, copied whole or not at all (Linux copies a segment's
	 * worth at a time, and a fault in it sends none of it). */
	n = len ? tcp_ring_writev(&c->sndq, v, cnt, len, stack_copier(c->s)) : 0;
	if (n < 0)
		return n;
	if (!n) {
		c->nospace = true;      /* Linux's SOCK_NOSPACE */
		return -EAGAIN;
	}
	send_queued(c, (size_t)n, iov_len(v, cnt), now);
	return n;
}

long tcp_send_claim(struct tcp_conn *c, size_t len, struct tcp_ring_claim *cl)
{
	long n;

	stack_assert_locked();
	cl->n = 0;
	rate_check_app_limited(c);
	if ((n = send_check(c)) != 0)
		return n;
	if (!len)
		return 0;
	len = lowat_room(c, len);
	n = len ? (long)tcp_ring_claim(&c->sndq, len, cl) : 0;
	if (!n) {
		c->nospace = true;      /* Linux's SOCK_NOSPACE */
		return -EAGAIN;
	}
	return n;
}

bool tcp_send_claimed(const struct tcp_conn *c)
{
	return c->sndq.claimed != 0;
}

long tcp_send_commit(struct tcp_conn *c, struct tcp_ring_claim *cl, size_t len, int copy_err, uint64_t now)
{
	size_t claimed = cl->n, n;
	long e;

	stack_assert_locked();
	/* A reset, a shutdown or an error meanwhile: the bytes are not the
	 * connection's (Linux's lock_sock would have kept them out until
	 * the copy was in). */
	e = copy_err ? copy_err : send_check(c);
	n = tcp_ring_commit(&c->sndq, cl, e ? 0 : claimed);
	if (e)
		return e;
	if (!n)
		return -EPIPE;
	send_queued(c, n, len, now);
	return (long)n;
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t len, uint64_t now)
{
	struct sock_iov v = { (void *)buf, len };

	return tcp_sendv(c, &v, 1, now);
}

long tcp_send_urg(struct tcp_conn *c, const void *buf, size_t len, uint64_t now)
{
	struct sock_iov v = { (void *)buf, len };

	return tcp_sendv_urg(c, &v, 1, now);
}

long tcp_sendv_urg(struct tcp_conn *c, const struct sock_iov *v, int cnt, uint64_t now)
{
	tcp_seq end = tcp_snd_end(c), old_up = c->snd_up;
	bool old_mode = c->urg_mode;
	size_t room = tcp_ring_space(&c->sndq), len = iov_len(v, cnt);
	long n;

	stack_assert_locked();
	/* Linux's tcp_mark_urg: the pointer goes one past the last byte queued
	 * (so the segments tcp_send() sends at once carry it already). */
	if (len > room && room)
		len = room;
	if (len) {
		c->snd_up = end + (uint32_t)len;
		c->urg_mode = true;
	}
	n = tcp_sendv(c, v, cnt, now);     /* takes at most room (tcp_ring_writev) */
	if (n <= 0) {
		c->snd_up = old_up;
		c->urg_mode = old_mode;
	} else if ((size_t)n < len) {
		c->snd_up = end + (uint32_t)n;     /* the ring took less (the stack's budget) */
	}
	return n;
}

/*
 * Linux 6.18's tcp_rcvbuf_grow(): the application read newval bytes in the
 * last interval (rcv_space before, rcv_space now, as TCP_INFO's
 * tcpi_rcv_space reports). The sender may send twice that in the next
 * one ("DRS is always one RTT late"), and the growth over the last
 * interval, twice (slow start: "allow the sender to double its rate");
 * out-of-order data waiting adds its span. The buffer grows to that, up
 * to tcp_rmem[2] and what the window scale can say, never shrinks, and
 * the window clamp follows ("Make the window clamp follow along"). Not
 * when the application set SO_RCVBUF itself (SOCK_RCVBUF_LOCK), which
 * still records newval. Deviation: pstack's buffer is the window's room
 * itself (its ring holds payload), so Linux's truesize ratio
 * (tcp_space_from_win, tcp_win_from_space) is not applied.
 */
void tcp_rcvbuf_grow(struct tcp_conn *c, uint32_t newval)
{
	uint64_t max = c->s->cfg.tcp_rmem[2], rcvwin;
	uint32_t oldval = c->rcv_space;

	c->rcv_space = newval;
	if (c->opt.rcvbuf > 0)
		return;
	if ((65535ull << c->rcv_wscale) < max)
		max = 65535ull << c->rcv_wscale;
	rcvwin = (uint64_t)newval << 1;
	if (oldval && newval > oldval && rcvwin < max)     /* (below 2^32: no overflow) */
		rcvwin += (rcvwin * (newval - oldval) / oldval) << 1;
	for (const struct tcp_ofo *o = c->ofo; o; o = o->next)
		if (!o->next && seq_gt(o->seq + o->len, c->rcv_nxt))
			rcvwin += o->seq + o->len - c->rcv_nxt;   /* the list is in order */
	if (rcvwin > max)
		rcvwin = max;
	if (rcvwin > c->rcvq.limit) {
		c->rcvq.limit = (size_t)rcvwin;
		if (c->rcv_clamp)
			c->rcv_clamp = (uint32_t)rcvwin;
	}
}

/*
 * Receive buffer autotuning, Linux 6.18's tcp_rcv_space_adjust() (dynamic
 * right-sizing), after each read: once per receiver's round trip
 * (tcpi_rcv_rtt; none until there is an estimate), the bytes the
 * application read in it, less what still waits to be read ("receive
 * queue awareness", 6.16), grow the buffer (tcp_rcvbuf_grow) when they are
 * more than the interval before's. A connection starts with tcp_rmem[1]
 * (PSTACK_TCP_RMEM's default, 64 KiB: the window Linux offers at first)
 * and rcv_space from tcp_init_buffer_space (init_rcv_clamp). The ring
 * grows only as data comes, and the window only as far as the stack's
 * budget allows.
 */
static void rcv_space_adjust(struct tcp_conn *c, size_t n, uint64_t now)
{
	uint64_t copied;

	c->rcv_copied += (uint32_t)n;
	if (!c->rcv_rtt8 || now - c->rcv_space_at < c->rcv_rtt8 >> 3)
		return;
	copied = c->rcv_copied > c->rcvq.len ? c->rcv_copied - c->rcvq.len : 0;
	if (copied > c->rcv_space)
		tcp_rcvbuf_grow(c, (uint32_t)copied);
	c->rcv_copied = 0;
	c->rcv_space_at = now;
}

/*
 * After the application read, like Linux's tcp_cleanup_rbuf(): the ACK that
 * input left for the read (more than one full segment unacknowledged while
 * the application lagged, tcp_input.c) goes now, as does one owed for a
 * short segment (the end of a message) once the read emptied the buffer,
 * unless the connection is interactive (the reply carries it). Else a
 * window update when the window opened enough: at least doubled (Linux),
 * and by at least an MSS or half the buffer (RFC 1122 §4.2.3.3, receiver
 * SWS avoidance), counting only the room a window may offer: none while a
 * buffer more than half full has less than a sixteenth free
 * (tcp_rcv_space_offer).
 */
static void cleanup_rbuf(struct tcp_conn *c, size_t copied, uint64_t now)
{
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t space = tcp_rcv_space_select(c);
	uint32_t thresh = (uint32_t)(c->rcvq.limit / 2) < c->advmss ? (uint32_t)(c->rcvq.limit / 2) : c->advmss;

	if (c->state != TCP_STATE_ESTABLISHED && c->state != TCP_STATE_FIN_WAIT_1 &&
	    c->state != TCP_STATE_FIN_WAIT_2)
		return;
	if (c->ack_sched && (c->rcv_nxt - c->rcv_wup > c->rcv_mss ||
			     (copied && !c->rcvq.len && (c->ack_pushed2 || (c->ack_pushed && !c->pingpong))))) {
		tcp_send_ack(c, now);
		return;
	}
	if (space > (65535u << c->rcv_wscale))
		space = 65535u << c->rcv_wscale;    /* what the window field can say */
	if (space >= cur + thresh && space >= 2 * cur)
		tcp_send_ack(c, now);
}

/* Linux's tcp_recv_urg(): the urgent byte, out of band, to the first
 * buffer with room. Never blocks. Like Linux, the byte counts as read before
 * it is copied: a copy that fails loses it (-EFAULT). */
static long recv_urg(struct tcp_conn *c, const struct sock_iov *v, int cnt, size_t len, unsigned flags)
{
	if (c->opt.oobinline || !c->urg_data || c->urg_data == TCP_URG_READ)
		return -EINVAL;     /* "Yes this is right!" (Linux) */
	if (c->state == TCP_STATE_CLOSED && !c->fin_rcvd)
		return -ENOTCONN;
	if (c->urg_data & TCP_URG_VALID) {
		uint8_t byte = (uint8_t)c->urg_data;

		if (!(flags & SOCK_PEEK))
			c->urg_data = TCP_URG_READ;
		if (!len)
			return 0;   /* the caller reports MSG_TRUNC */
		for (int i = 0; i < cnt && !(flags & SOCK_DISCARD); i++) {
			if (!v[i].len)
				continue;
			if (stack_copier(c->s)(v[i].base, &byte, 1))
				return -EFAULT;
			break;
		}
		return 1;
	}
	if (c->state == TCP_STATE_CLOSED || c->rd_shut || c->fin_rcvd)
		return 0;
	return -EAGAIN;
}

bool tcp_atmark(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->urg_data && c->urg_seq == tcp_copied_seq(c);
}

long tcp_recvv(struct tcp_conn *c, const struct sock_iov *v, int cnt, unsigned flags, uint64_t now)
{
	return tcp_recvv_from(c, v, cnt, flags, 0, now);
}

long tcp_recvv_from(struct tcp_conn *c, const struct sock_iov *v, int cnt, unsigned flags, size_t from,
		    uint64_t now)
{
	size_t len = iov_len(v, cnt), skip = 0;

	stack_assert_locked();
	if (c->state == TCP_STATE_LISTEN)
		return -ENOTCONN;
	if (flags & SOCK_OOB)
		return recv_urg(c, v, cnt, len, flags);
	/* A peek that goes on (Linux's tcp_recvmsg_locked walks on from its
	 * peek_seq, which SO_PEEK_OFF's offset already follows): it starts
	 * past what the call peeked, and stops at the urgent mark (Linux
	 * breaks there once it copied, SO_OOBINLINE or not). */
	if ((flags & SOCK_PEEK) && from) {
		if (c->opt.peek_off < 0)
			skip = from;
		if (c->urg_data && c->urg_seq - tcp_copied_seq(c) ==
		    (uint32_t)(skip + (c->opt.peek_off > 0 ? (size_t)c->opt.peek_off : 0)))
			return 0;
	}
	/* A zero-length read of a socket with data where it reads: at once
	 * (Linux's found_ok_skb, nothing to copy). Past the data (a peek at
	 * SO_PEEK_OFF's offset) it is a read of an empty queue, as for one
	 * byte (sock_rcvlowat's target of 1): EAGAIN, or a wait. */
	if (!len && c->rcvq.len > ((flags & SOCK_PEEK) && c->opt.peek_off > 0 ? (size_t)c->opt.peek_off : 0))
		return 0;
	/* At the urgent byte: skipped unless SO_OOBINLINE (Linux's urg_hole). */
	if (len && c->rcvq.len && tcp_atmark(c) && !c->opt.oobinline)
		skip += 1;
	/* SO_PEEK_OFF: a peek starts that far past the bytes read (Linux's
	 * tcp_recvmsg_locked, peek_seq = copied_seq + sk_peek_off); beyond
	 * what is queued it is a read of an empty queue. */
	if ((flags & SOCK_PEEK) && c->opt.peek_off > 0)
		skip += (size_t)c->opt.peek_off;
	if (c->rcvq.len > skip && len) {
		size_t n = len < c->rcvq.len - skip ? len : c->rcvq.len - skip;

		/* A read stops before the urgent byte (the caller stops there too). */
		if (c->urg_data) {
			uint32_t u = c->urg_seq - tcp_copied_seq(c);

			if (u > skip && u - skip < n)
				n = u - skip;
		}
		/* Nothing is consumed unless every byte was copied (like a
		 * segment's copy in Linux's tcp_recvmsg). */
		if (!(flags & SOCK_DISCARD) && tcp_ring_peekv(&c->rcvq, skip, v, cnt, n, stack_copier(c->s)))
			return -EFAULT;
		/* sk_peek_offset_fwd after a peek, sk_peek_offset_bwd (not
		 * below 0) after a read. */
		if (c->opt.peek_off >= 0)
			c->opt.peek_off = (flags & SOCK_PEEK) ? c->opt.peek_off + (int)n :
					  c->opt.peek_off > (int)n ? c->opt.peek_off - (int)n : 0;
		if (!(flags & SOCK_PEEK)) {
			tcp_ring_consume(&c->rcvq, skip + n);
			if (c->urg_data && seq_gt(tcp_copied_seq(c), c->urg_seq))
				c->urg_data = 0;
			/* Out-of-order data the full ring could not take when its
			 * hole filled: it is in order now, and the peer counts it as
			 * delivered (SACKed), so nothing else would move it. */
			if (c->ofo && seq_leq(c->ofo->seq, c->rcv_nxt))
				tcp_ofo_deliver(c, now);
			tcp_ring_reclaim(&c->rcvq);
			c->read_no = __atomic_add_fetch(&c->s->reads, 1, __ATOMIC_RELAXED);
			rcv_space_adjust(c, n, now);
			tcp_rcv_reserve(c);
			cleanup_rbuf(c, n, now);
		}
		return (long)n;
	}
	if (skip && !(flags & SOCK_PEEK)) {
		/* Nothing but the urgent byte: it goes, and the read goes on as
		 * on an empty ring. */
		tcp_ring_consume(&c->rcvq, 1);
		c->urg_data = 0;
		tcp_ring_reclaim(&c->rcvq);
		tcp_rcv_reserve(c);
	}
	/* Linux's order (tcp_recvmsg_locked): the end of the stream, once
	 * the peer's FIN came, before a pending error, which then stays for
	 * send and SO_ERROR (a reset in CLOSE_WAIT: recv says 0, send EPIPE). */
	if (c->fin_rcvd)
		return 0;
	if (c->err) {
		int e = c->err;

		c->err = 0;
		return e;
	}
	if (c->rd_shut)
		return 0;
	if (c->state == TCP_STATE_CLOSED)
		return c->was_connected ? 0 : -ENOTCONN;
	return -EAGAIN;
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t len, unsigned flags, uint64_t now)
{
	struct sock_iov v = { buf, len };

	return tcp_recvv(c, &v, 1, flags, now);
}

static void queue_fin(struct tcp_conn *c, uint64_t now)
{
	switch (c->state) {
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_SYN_RECEIVED:
		tcp_set_state(c, TCP_STATE_FIN_WAIT_1);
		break;
	case TCP_STATE_CLOSE_WAIT:
		tcp_set_state(c, TCP_STATE_LAST_ACK);
		break;
	default:
		return;
	}
	c->fin_queued = true;
	tcp_output(c, now);
}

int tcp_shutdown(struct tcp_conn *c, int how, uint64_t now)
{
	stack_assert_locked();
	if (how < 0 || how > 2)
		return -EINVAL;
	switch (c->state) {
	case TCP_STATE_CLOSED:
		/* Linux's inet_shutdown: ENOTCONN, the bits taken anyway. */
		c->shut_closed |= (uint8_t)(how + 1);
		if (how != 1)
			c->rd_shut = true;
		tcp_wake(c);
		return -ENOTCONN;
	case TCP_STATE_LISTEN:
		if (how == 1)
			return 0;
		tcp_close_children(c, now);
		inpcb_listen_remove(&c->s->tcp->pcbs, &c->pcb);
		tcp_set_state(c, TCP_STATE_CLOSED);
		/* Linux's tcp_disconnect: the port goes back at TCP_CLOSE
		 * unless bind() named it (inet_put_port); getsockname() still
		 * shows it, and bind() or listen() takes another. */
		if (!c->port_locked)
			inpcb_bind_remove(&c->pcb);
		/* And it clears sk_shutdown: the bits a shutdown() in CLOSE
		 * left before listen() go (recv ENOTCONN, not 0). */
		c->shut_closed = 0;
		c->rd_shut = false;
		/* And moves write_seq on by the largest window plus 2, as any
		 * disconnect (tcp_disconnect_counts): SIOCOUTQ and SIOCOUTQNSD
		 * count it in CLOSE. */
		c->dead_outq += c->disc_wnd + 2;
		c->dead_nsd += c->disc_wnd + 2;
		tcp_wake(c);
		return 0;
	case TCP_STATE_SYN_SENT:
		tcp_done(c);
		return 0;
	default:
		break;
	}
	if (how != 1)
		c->rd_shut = true;
	if (how != 0 && !c->wr_shut) {
		c->wr_shut = true;
		queue_fin(c, now);
	}
	tcp_wake(c);
	return 0;
}

/* A close's shutdown (tcp_close, tcp_close_linger): nothing more to read,
 * and the FIN queued after the data, once. */
static void shut_both(struct tcp_conn *c, uint64_t now)
{
	c->rd_shut = true;
	if (!c->wr_shut) {
		c->wr_shut = true;
		queue_fin(c, now);
	}
}

void tcp_share(struct tcp_conn *c)
{
	stack_assert_locked();
	if (!c->shares)
		c->share_wake = c->wake;
	c->shares++;
}

bool tcp_shared(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->shares != 0;
}

struct tcp_conn *tcp_find_bound(struct stack *s, const struct ip4_endpoint *local, uint64_t id)
{
	stack_assert_locked();
	for (struct inpcb *p = inpcb_first_bound(&s->tcp->pcbs, local->port); p; p = inpcb_next_bound(p)) {
		struct tcp_conn *c = tcp_conn_of(p);

		/* A listener too when nobody shares it any more: the one a
		 * child that is gone had made (varnishd forks its child
		 * again after a crash, and that one listens on it again). */
		if ((uint64_t)(uintptr_t)c == id && !c->orphan &&
		    (c->state == TCP_STATE_CLOSED || (c->state == TCP_STATE_LISTEN && !c->shares)) &&
		    p->local.addr == local->addr && p->local.port == local->port)
			return c;
	}
	return NULL;
}

void tcp_close(struct tcp_conn *c, uint64_t now)
{
	stack_assert_locked();
	/* A send of this socket copying without the lock (tcp_send_claim)
	 * does not come back to this connection: its room is not lent any more. */
	c->sndq.claimed = 0;
	if (c->shares) {
		/* Another holder keeps it (tcp_share), with its events: the
		 * first holder's again when the new one's were cleared (it
		 * closed), the new one's when they were not (the first one
		 * closed). */
		if (!c->wake.fn)
			c->wake = c->share_wake;
		c->share_wake = (struct sock_wakeup){ 0 };
		c->shares--;
		return;
	}
	c->orphan = true;
	c->wake = (struct sock_wakeup){ 0 };
	switch (c->state) {
	case TCP_STATE_CLOSED:
	case TCP_STATE_LISTEN:
	case TCP_STATE_SYN_SENT:
		tcp_done(c);
		return;
	case TCP_STATE_TIME_WAIT:
		if (c->opt.linger == 0)
			tcp_done(c);
		return;
	default:
		break;
	}
	if (c->rcvq.len || c->opt.linger == 0) {
		/* RFC 2525 §2.17 and Linux: unread data or SO_LINGER 0 aborts with a reset. */
		tcp_send_rst(c, now);
		tcp_done(c);
		return;
	}
	shut_both(c, now);
	if (c->state == TCP_STATE_FIN_WAIT_2) {
		if (c->opt.linger2 < 0) {
			/* Linux's tcp_close: TCP_LINGER2 -1 does not wait for the
			 * peer's FIN, it resets. */
			tcp_send_rst(c, now);
			tcp_done(c);
			return;
		}
		tcp_timer_set(c, &c->tw_at, now + tcp_fin_time(c));
	}
}

bool tcp_closing(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state == TCP_STATE_FIN_WAIT_1 || c->state == TCP_STATE_CLOSING || c->state == TCP_STATE_LAST_ACK;
}

bool tcp_close_linger(struct tcp_conn *c, uint64_t now)
{
	stack_assert_locked();
	if (c->opt.linger <= 0 || c->rcvq.len || c->shares)
		return false;   /* (shared: the close is absorbed, nothing to wait for) */
	switch (c->state) {
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_CLOSE_WAIT:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_CLOSING:
	case TCP_STATE_LAST_ACK:
		break;
	default:
		return false;
	}
	shut_both(c, now);
	return tcp_closing(c);
}

/* sk_stream_is_writeable(): free space at least half the queued bytes, and
 * (TCP_NOTSENT_LOWAT, tcp_stream_memory_free() as poll and the wake-up ask
 * it) twice the unsent bytes below the mark. */
bool tcp_sndbuf_writable(const struct tcp_conn *c)
{
	size_t space = tcp_ring_space(&c->sndq);

	return space > 0 && space >= c->sndq.len / 2 &&
	       (!tcp_notsent_lowat(c) || 2ull * notsent(c) < tcp_notsent_lowat(c));
}

void tcp_check_space(struct tcp_conn *c, uint64_t now)
{
	if (!c->nospace || !tcp_sndbuf_writable(c))
		return;
	c->nospace = false;
	tcp_chrono_stop(c, TCP_CHRONO_SNDBUF, now);
	tcp_wake(c);
}

void tcp_note_nospace(struct tcp_conn *c)
{
	stack_assert_locked();
	if (!c->wr_shut && !tcp_sndbuf_writable(c))
		c->nospace = true;
}

unsigned tcp_poll(const struct tcp_conn *c)
{
	unsigned m = 0;

	stack_assert_locked();
	if (c->state == TCP_STATE_LISTEN)
		return c->acc_head ? SOCK_POLLIN : 0;
	/* Like Linux's tcp_poll(): rd_shut (or the peer's FIN) and wr_shut
	 * stand for its sk_shutdown bits (a reset or the end of the
	 * connection sets both). */
	if (((c->rd_shut || c->fin_rcvd) && (c->wr_shut || (c->shut_closed & 2))) || c->state == TCP_STATE_CLOSED)
		m |= SOCK_POLLHUP;
	if (c->rd_shut || c->fin_rcvd)
		m |= SOCK_POLLIN | SOCK_POLLRDHUP;
	if (c->state != TCP_STATE_SYN_SENT && (c->state != TCP_STATE_SYN_RECEIVED || c->tfo)) {
		/* Readable from SO_RCVLOWAT bytes on (one more at the urgent
		 * byte kept out of band: Linux's tcp_poll, target + 1), or any
		 * once the window the peer may still fill is below a segment
		 * (tcp_epollin_ready: a reader waiting for more would wait for
		 * ever). */
		size_t target = (size_t)(c->opt.rcvlowat > 1 ? c->opt.rcvlowat : 1) +
				(tcp_atmark(c) && !c->opt.oobinline ? 1u : 0u);

		if (c->rcvq.len >= target ||
		    (c->rcvq.len && c->opt.rcvlowat > 1 && seq_leq(c->rcv_adv, c->rcv_nxt + (c->rcv_mss ? c->rcv_mss : c->mss))))
			m |= SOCK_POLLIN;
		if (c->urg_data & TCP_URG_VALID)
			m |= SOCK_POLLPRI;
		/* SEND_SHUTDOWN, also taken in CLOSE (shut_closed): writable
		 * whatever TCP_NOTSENT_LOWAT says of a disconnect's gap. */
		if (c->wr_shut || (c->shut_closed & 2) || tcp_sndbuf_writable(c))
			m |= SOCK_POLLOUT;
	}
	/* A SYN TCP_FASTOPEN_CONNECT left for the first write: writable, so
	 * that the program writes it (Linux's tcp_poll with DEFER_CONNECT). */
	if (c->state == TCP_STATE_SYN_SENT && c->fo_defer)
		m |= SOCK_POLLOUT;
	if (c->err)
		m |= SOCK_POLLERR;
	return m;
}

int tcp_take_error(struct tcp_conn *c)
{
	int e = c->err;

	stack_assert_locked();
	c->err = 0;
	return e;
}

int tcp_take_soft_error(struct tcp_conn *c)
{
	int e = c->soft_err;

	stack_assert_locked();
	c->soft_err = 0;
	return e;
}

enum tcp_state tcp_get_state(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state;
}

bool tcp_connecting(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state == TCP_STATE_SYN_SENT || (c->state == TCP_STATE_SYN_RECEIVED && !c->tfo);
}

void tcp_local(const struct tcp_conn *c, struct ip4_endpoint *ep)
{
	stack_assert_locked();
	*ep = c->pcb.local;
}

int tcp_peer(const struct tcp_conn *c, struct ip4_endpoint *ep)
{
	stack_assert_locked();
	if (c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_LISTEN || c->state == TCP_STATE_SYN_SENT)
		return -ENOTCONN;
	*ep = c->pcb.remote;
	return 0;
}

int tcp_peer_kept(const struct tcp_conn *c, struct ip4_endpoint *ep)
{
	stack_assert_locked();
	/* A connect() that failed (refused, timed out) keeps it too, as
	 * tcp_done leaves inet_dport: only tcp_disconnect (a new tcp_conn
	 * here) and a bind() clear it. */
	if (c->state == TCP_STATE_LISTEN || !c->pcb.remote.port)
		return -ENOTCONN;
	*ep = c->pcb.remote;
	return 0;
}

bool tcp_route_kept(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state != TCP_STATE_LISTEN && c->pcb.remote.addr && !c->dst_reset;
}

void tcp_route_reset(struct tcp_conn *c)
{
	stack_assert_locked();
	c->dst_reset = true;
}

bool tcp_ended(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state == TCP_STATE_TIME_WAIT || (c->state == TCP_STATE_CLOSED && c->was_connected);
}

bool tcp_fin_received(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->fin_rcvd;
}

unsigned tcp_shut_how(const struct tcp_conn *c)
{
	stack_assert_locked();
	return (c->rd_shut ? 1u : 0u) | (c->wr_shut ? 2u : 0u);
}

uint8_t tcp_handshake_tos(const struct tcp_conn *c)
{
	return c->handshake_tos;
}

uint8_t tcp_handshake_ttl(const struct tcp_conn *c)
{
	return c->handshake_ttl;
}

bool tcp_port_released(const struct tcp_conn *c)
{
	stack_assert_locked();
	if (c->state == TCP_STATE_TIME_WAIT)
		return !c->port_locked;         /* Linux's socket closed, its timewait record holds the port */
	/* Shown but not held: a connection that ended, a listener shut
	 * down, a bind() that failed (inet_num 0, inet_sport kept). */
	return c->state == TCP_STATE_CLOSED && !c->pcb.in_bind && c->pcb.local.port;
}

void tcp_set_wakeup(struct tcp_conn *c, const struct sock_wakeup *w)
{
	stack_assert_locked();
	c->wake = *w;
}

uint64_t tcp_rx_count(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->state == TCP_STATE_LISTEN ? c->acc_total : c->bytes_received;
}

size_t tcp_inq(const struct tcp_conn *c)
{
	tcp_seq copied = tcp_copied_seq(c);

	stack_assert_locked();
	/* Linux's tcp_inq(): with an urgent byte kept out of band ahead, the
	 * bytes up to it. */
	if (c->urg_data && !c->opt.oobinline && seq_geq(c->urg_seq, copied) &&
	    seq_lt(c->urg_seq, copied + (uint32_t)c->rcvq.len))
		return c->urg_seq - copied;
	return c->rcvq.len;
}

/* The FIN a shutdown or close queued, not acknowledged yet: Linux's
 * write_seq counts it (tcp_send_fin), so SIOCOUTQ (write_seq - snd_una),
 * SIOCOUTQNSD and tcpi_notsent_bytes (write_seq - snd_nxt) do. */
static size_t fin_unacked(const struct tcp_conn *c)
{
	return c->fin_queued && (c->state == TCP_STATE_FIN_WAIT_1 || c->state == TCP_STATE_CLOSING ||
				 c->state == TCP_STATE_LAST_ACK);
}

/* A SYN refused or timed out: Linux's tcp_done leaves write_seq past it
 * (tcp_connect's write_seq++) and snd_una before it, so SIOCOUTQ counts it
 * in CLOSE (not in SYN_SENT: tcp_ioctl answers 0 there). A disconnect
 * makes a fresh connection (not active_open). */
static size_t syn_unacked(const struct tcp_conn *c)
{
	return c->state == TCP_STATE_CLOSED && c->active_open && !c->was_connected;
}

size_t tcp_outq(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->sndq.len + fin_unacked(c) + syn_unacked(c) + (c->state == TCP_STATE_CLOSED ? c->dead_outq : 0);
}

size_t tcp_outq_unsent(const struct tcp_conn *c)
{
	size_t queued = c->sndq.len + fin_unacked(c);
	uint32_t sent;

	stack_assert_locked();
	if (c->state == TCP_STATE_CLOSED)
		return c->sndq.len + c->dead_nsd;
	if (c->state == TCP_STATE_LISTEN || c->state == TCP_STATE_SYN_SENT)
		return c->sndq.len;
	/* Sent once at least (snd_max), a FIN's place included: that one
	 * comes only after all the data. */
	sent = c->snd_max - c->snd_una;
	return sent >= queued ? 0 : queued - sent;
}

void tcp_set_more(struct tcp_conn *c, bool more)
{
	stack_assert_locked();
	c->more = more;
}

size_t tcp_inq_hint(const struct tcp_conn *c)
{
	/* Linux: rcv_nxt - copied_seq, where the FIN counts until a read
	 * reaches it; 1 once the connection is over (SOCK_DONE). */
	size_t n = c->rcvq.len + (c->fin_rcvd ? 1u : 0u);

	stack_assert_locked();
	if (!n && c->state == TCP_STATE_CLOSED && c->was_connected)
		n = 1;
	return n;
}

uint64_t tcp_rx_stamp(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->rx_data_at;
}

uint32_t tcp_tskey_base(const struct tcp_conn *c, bool write_seq)
{
	stack_assert_locked();
	return write_seq ? tcp_snd_end(c) : c->snd_una;
}

bool tcp_err_pending(const struct tcp_conn *c)
{
	stack_assert_locked();
	return c->errq != NULL;
}

/* ---- options ---- */

static size_t buf_limit(int v, size_t min)
{
	/* Like Linux, the size asked for is doubled (for bookkeeping overhead). */
	size_t n = (size_t)v * 2;

	return n < min ? min : n > TCP_MAX_BUF ? TCP_MAX_BUF : n;
}

/* TCP_DEFER_ACCEPT's seconds as SYN-ACK retransmissions and back, backed
 * off from 1 s up to TCP_RTO_MAX (Linux's secs_to_retrans, retrans_to_secs). */
static uint8_t secs_to_retrans(int secs)
{
	int period = 1, timeout = 1;
	uint8_t n;

	if (secs <= 0)
		return 0;
	for (n = 1; secs > period && n < 255; n++) {
		timeout = timeout * 2 > (int)(TCP_RTO_MAX_US / 1000000) ? (int)(TCP_RTO_MAX_US / 1000000) : timeout * 2;
		period += timeout;
	}
	return n;
}

static int retrans_to_secs(uint8_t n)
{
	int period = 0, timeout = 1;

	if (n) {
		period = 1;
		while (--n) {
			timeout = timeout * 2 > (int)(TCP_RTO_MAX_US / 1000000) ? (int)(TCP_RTO_MAX_US / 1000000) :
			          timeout * 2;
			period += timeout;
		}
	}
	return period;
}

/* What the engine derives from the options: the rings' limits and the
 * congestion control (the rest is read where it is used). */
static void opts_apply(struct tcp_conn *c)
{
	const struct stack_config *cfg = &c->s->cfg;

	c->sndq.limit = c->opt.sndbuf < 0 ? cfg->tcp_wmem[1] : buf_limit(c->opt.sndbuf, TCP_MIN_SNDBUF);
	c->rcvq.limit = c->opt.rcvbuf < 0 ? cfg->tcp_rmem[1] : buf_limit(c->opt.rcvbuf, TCP_MIN_RCVBUF);
	if (c->opt.rcvbuf < 0 && c->opt.rcvbuf_lowat > c->rcvq.limit)
		c->rcvq.limit = c->opt.rcvbuf_lowat < TCP_MAX_BUF ? c->opt.rcvbuf_lowat : TCP_MAX_BUF;
	c->cc.algo = (enum tcp_cc_algo)c->opt.congestion;
}

int tcp_opts_set(struct sock_opts *o, enum tcp_option opt, int v)
{
	switch (opt) {
	case TCP_OPT_REUSEADDR:
		o->reuseaddr = v != 0;
		return 0;
	case TCP_OPT_REUSEPORT:
		o->reuseport = v != 0;
		return 0;
	case TCP_OPT_NODELAY:
		o->nodelay = v != 0;
		return 0;
	case TCP_OPT_KEEPALIVE:
		o->keepalive = v != 0;
		return 0;
	case TCP_OPT_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		o->keepidle = v;
		return 0;
	case TCP_OPT_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		o->keepintvl = v;
		return 0;
	case TCP_OPT_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		o->keepcnt = v;
		return 0;
	case TCP_OPT_SNDBUF:
		o->sndbuf = v < 0 ? 0 : v;
		return 0;
	case TCP_OPT_RCVBUF:
		o->rcvbuf = v < 0 ? 0 : v;
		return 0;
	case TCP_OPT_LINGER:
		o->linger = v < 0 ? -1 : v;
		return 0;
	case TCP_OPT_TOS:
		o->tos = (uint8_t)v;    /* IP_TOS takes any int, keeps its low byte */
		return 0;
	case TCP_OPT_TTL:
		if (v < -1 || v > 255)
			return -EINVAL;
		o->ttl = (uint8_t)(v < 0 ? 0 : v);
		return 0;
	case TCP_OPT_PMTUDISC:
		if (v < SOCK_PMTUDISC_DONT || v > SOCK_PMTUDISC_OMIT)
			return -EINVAL;
		o->pmtudisc = (uint8_t)v;
		return 0;
	case TCP_OPT_RCVLOWAT:
		o->rcvlowat = v < 1 ? 1 : v;
		/* Linux's tcp_set_rcvlowat: an unlocked buffer grows to the
		 * space the mark needs, which the ring holds as the mark's
		 * bytes (sk_rcvbuf twice them at the default scaling ratio,
		 * as TCP_OPT_SO_RCVBUF reads it); sk_clone_lock gives a
		 * listener's children that buffer, a connect keeps it. */
		if (o->rcvbuf < 0 && (uint32_t)o->rcvlowat > o->rcvbuf_lowat)
			o->rcvbuf_lowat = (uint32_t)o->rcvlowat;
		return 0;
	case TCP_OPT_MINTTL:
		if (v < 0 || v > 255)
			return -EINVAL;
		o->minttl = (uint8_t)v;
		return 0;
	case TCP_OPT_DONTROUTE:
		o->dontroute = v != 0;
		return 0;
	case TCP_OPT_MAXSEG:
		if (v && (v < TCP_MIN_MSS || v > TCP_MAX_USER_MSS))
			return -EINVAL;
		o->maxseg = v;
		return 0;
	case TCP_OPT_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		o->user_timeout_ms = (uint32_t)v;
		return 0;
	case TCP_OPT_CONGESTION:
		if (v != TCP_CC_CUBIC && v != TCP_CC_NEWRENO)
			return -EINVAL;
		o->congestion = v;
		return 0;
	case TCP_OPT_OOBINLINE:
		o->oobinline = v != 0;
		return 0;
	case TCP_OPT_CORK:
		o->cork = v != 0;
		return 0;
	case TCP_OPT_NOTSENT_LOWAT:
		o->notsent_lowat = (uint32_t)v;
		return 0;
	case TCP_OPT_DEFER_ACCEPT:
		o->defer_accept = secs_to_retrans(v);
		return 0;
	case TCP_OPT_SYNCNT:
		if (v < 1 || v > 127)       /* Linux's MAX_TCP_SYNCNT */
			return -EINVAL;
		o->syncnt = (uint8_t)v;
		return 0;
	case TCP_OPT_LINGER2:
		o->linger2 = v < 0 ? -1 : v > TCP_FIN_TIMEOUT_MAX ? TCP_FIN_TIMEOUT_MAX : v;
		return 0;
	case TCP_OPT_WINDOW_CLAMP:
		/* Linux's tcp_set_window_clamp: at least SOCK_MIN_RCVBUF / 2. */
		o->window_clamp = v == 0 ? 0 : v < TCP_MIN_RCVBUF / 2 ? TCP_MIN_RCVBUF / 2 : (uint32_t)v;
		return 0;
	case TCP_OPT_TIMESTAMPING:
		o->tsflags = (uint32_t)v;
		return 0;
	case TCP_OPT_QUICKACK:
		/* Before a connection: what it starts with (Linux keeps the
		 * mode in the socket, and a listener's children clone it). */
		o->pingpong = v == 0;
		return 0;
	case TCP_OPT_FASTOPEN_QLEN:
		/* Linux's fastopen_queue_tune: at most net.core.somaxconn. */
		if (v < 0)
			return -EINVAL;
		o->fastopen_qlen = v > 4096 ? 4096 : (uint32_t)v;
		return 0;
	case TCP_OPT_FASTOPEN_NO_COOKIE:
		o->fastopen_no_cookie = v != 0;
		return 0;
	case TCP_OPT_PORT_RANGE:
		o->port_range = (uint32_t)v;
		return 0;
	case TCP_OPT_BIND_NO_PORT:
		o->bind_no_port = v != 0;
		return 0;
	case TCP_OPT_TXREHASH:
		if (v < -1 || v > 1)
			return -EINVAL;
		o->txrehash = (int8_t)v;
		return 0;
	case TCP_OPT_PEEK_OFF:
		o->peek_off = v;
		return 0;
	case TCP_OPT_SAVE_SYN:
		if (v < 0 || v > 2)
			return -EINVAL;
		o->save_syn = (uint8_t)v;
		return 0;
	case TCP_OPT_RTO_MAX:
		/* Linux's do_tcp_setsockopt: a second up to TCP_RTO_MAX. */
		if (v < 1000 || v > (int)(TCP_RTO_MAX_US / 1000))
			return -EINVAL;
		o->rto_max_ms = (uint32_t)v;
		return 0;
	case TCP_OPT_SO_RCVBUF:
		break;          /* read only */
	}
	return -ENOPROTOOPT;
}

/* A bool's byte as it is in memory: loading a bool that holds anything but
 * 0 or 1 is undefined behaviour. */
static bool bool_byte_ok(const bool *b)
{
	return *(const unsigned char *)b <= 1;
}

int tcp_opts_check(const struct sock_opts *o)
{
	const bool *bools[] = {
		&o->reuseaddr, &o->reuseport, &o->broadcast, &o->mc_loop, &o->mc_all, &o->keepalive,
		&o->nodelay, &o->dontroute, &o->oobinline, &o->recverr, &o->rxq_ovfl, &o->cork, &o->pingpong,
		&o->fastopen_no_cookie, &o->bind_no_port, &o->udp_cork, &o->inet6,
	};

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (!bool_byte_ok(bools[i]))
			return -EINVAL;
	/* 0 in the ranges below: the stack's default, or a request made
	 * with ctl_join_req_init's zeroes. */
	if (o->keepidle < 0 || o->keepidle > 32767 || o->keepintvl < 0 || o->keepintvl > 32767 ||
	    o->keepcnt < 0 || o->keepcnt > 127)
		return -EINVAL;
	if (o->sndbuf < -1 || o->rcvbuf < -1 || o->linger < -1 || o->rcvlowat < 0)
		return -EINVAL;
	if (o->pmtudisc > SOCK_PMTUDISC_OMIT || o->save_syn > 2 || o->fastopen_keys > 2 || o->txrehash < -1 ||
	    o->txrehash > 1)
		return -EINVAL;
	if (o->congestion != TCP_CC_CUBIC && o->congestion != TCP_CC_NEWRENO)
		return -EINVAL;
	if (o->maxseg && (o->maxseg < TCP_MIN_MSS || o->maxseg > TCP_MAX_USER_MSS))
		return -EINVAL;
	if (o->user_timeout_ms > INT32_MAX || o->fastopen_qlen > 4096 || o->syncnt > 127)
		return -EINVAL;
	if (o->rto_max_ms && (o->rto_max_ms < 1000 || o->rto_max_ms > TCP_RTO_MAX_US / 1000))
		return -EINVAL;
	if (o->linger2 < -1 || o->linger2 > TCP_FIN_TIMEOUT_MAX)
		return -EINVAL;
	if (o->window_clamp && o->window_clamp < TCP_MIN_RCVBUF / 2)
		return -EINVAL;
	return 0;
}

void tcp_opts_fastopen_key(struct sock_opts *o, const uint8_t *key, size_t len)
{
	if (len != 16 && len != 32)
		return;
	memcpy(o->fastopen_key[0], key, 16);
	if (len == 32)
		memcpy(o->fastopen_key[1], key + 16, 16);
	o->fastopen_keys = (uint8_t)(len / 16);
}

void tcp_set_fastopen_key(struct tcp_conn *c, const uint8_t *key, size_t len)
{
	stack_assert_locked();
	tcp_opts_fastopen_key(&c->opt, key, len);
}

int tcp_opts_get(const struct stack *s, const struct sock_opts *o, enum tcp_option opt, int *v)
{
	struct stack_config d;
	const struct stack_config *cfg = s ? &s->cfg : &d;

	if (!s)
		config_defaults(&d);
	switch (opt) {
	case TCP_OPT_CORK: *v = o->cork; return 0;
	case TCP_OPT_NOTSENT_LOWAT: *v = (int)o->notsent_lowat; return 0;
	case TCP_OPT_DEFER_ACCEPT: *v = retrans_to_secs(o->defer_accept); return 0;
	case TCP_OPT_SYNCNT: *v = o->syncnt ? o->syncnt : cfg->tcp_syn_retries; return 0;
	case TCP_OPT_LINGER2: *v = o->linger2 ? o->linger2 : (int)cfg->tcp_fin_timeout_s; return 0;
	case TCP_OPT_KEEPIDLE: *v = o->keepidle ? o->keepidle : (int)cfg->tcp_keepalive_time_s; return 0;
	case TCP_OPT_KEEPINTVL: *v = o->keepintvl ? o->keepintvl : (int)cfg->tcp_keepalive_intvl_s; return 0;
	case TCP_OPT_KEEPCNT: *v = o->keepcnt ? o->keepcnt : (int)cfg->tcp_keepalive_probes; return 0;
	case TCP_OPT_WINDOW_CLAMP: *v = (int)o->window_clamp; return 0;
	case TCP_OPT_TIMESTAMPING: *v = (int)o->tsflags; return 0;
	case TCP_OPT_QUICKACK: *v = !o->pingpong; return 0;
	case TCP_OPT_PORT_RANGE: *v = (int)o->port_range; return 0;
	case TCP_OPT_BIND_NO_PORT: *v = o->bind_no_port; return 0;
	case TCP_OPT_TXREHASH: *v = o->txrehash < 0 ? cfg->txrehash : o->txrehash; return 0;
	case TCP_OPT_PEEK_OFF: *v = o->peek_off; return 0;
	case TCP_OPT_SAVE_SYN: *v = o->save_syn; return 0;
	case TCP_OPT_RTO_MAX: *v = (int)(o->rto_max_ms ? o->rto_max_ms : cfg->tcp_rto_max_ms); return 0;
	default: return -ENOPROTOOPT;
	}
}

void tcp_set_opts(struct tcp_conn *c, const struct sock_opts *o)
{
	stack_assert_locked();
	c->opt = *o;
	c->pingpong = o->pingpong;
	c->pcb.inet6 = o->inet6;
	opts_apply(c);
}

const struct sock_opts *tcp_opts(const struct tcp_conn *c)
{
	stack_assert_locked();
	return &c->opt;
}

int tcp_setopt_at(struct tcp_conn *c, enum tcp_option opt, int v, uint64_t now)
{
	int r;

	stack_assert_locked();
	/* Linux's tcp_set_window_clamp: no clamp is a socket in CLOSE's only
	 * (one whose connection went to TIME_WAIT is, tcp_time_wait). */
	if (opt == TCP_OPT_WINDOW_CLAMP && v == 0 && c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_TIME_WAIT)
		return -EINVAL;
	if (opt == TCP_OPT_TOS) {
		/* Any int, its low byte kept: __ip_sock_set_tos compares the
		 * int with the ECN bits put back (256 differs from 0) and
		 * drops the route when they differ. */
		if (((v & ~3) | (c->opt.tos & 3)) != c->opt.tos)
			c->dst_reset = true;
		v &= 0xff;
	}
	r = tcp_opts_set(&c->opt, opt, v);
	if (r)
		return r;
	/* What the change does to a live connection. */
	switch (opt) {
	case TCP_OPT_REUSEADDR:
		/* inet_csk_bind_conflict reads the bound socket's sk_reuse as
		 * it is now (measured: bound, then SO_REUSEADDR set or cleared,
		 * another's bind with it went, or got EADDRINUSE). */
		c->pcb.reuse = c->opt.reuseaddr ? c->pcb.reuse | INPCB_REUSEADDR : c->pcb.reuse & ~INPCB_REUSEADDR;
		break;
	case TCP_OPT_REUSEPORT:
		/* Set: the same (sk_reuseport as it is now). Cleared: the port's
		 * bind bucket keeps the fastreuseport bind() gave it, and
		 * sk_reuseport_match lets the next SO_REUSEPORT bind in. */
		if (c->opt.reuseport)
			c->pcb.reuse |= INPCB_REUSEPORT;
		break;
	case TCP_OPT_NODELAY:
		/* Linux's __tcp_sock_set_nodelay (TCP_NAGLE_PUSH): what waits
		 * goes now, once, though TCP_CORK or MSG_MORE holds it (measured
		 * on Linux 6.18: corked, 100 bytes went when TCP_NODELAY was set;
		 * 100 more written after, still corked, waited 200 ms). */
		if (c->opt.nodelay) {
			c->nagle_push = true;
			tcp_output(c, now);
			c->nagle_push = false;
		}
		break;
	case TCP_OPT_KEEPALIVE:
		if (c->opt.keepalive && c->keep_at == STACK_NEVER &&
		    (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_CLOSE_WAIT))
			tcp_timer_set(c, &c->keep_at, now + (uint64_t)tcp_keepidle_s(c) * 1000000);
		if (!c->opt.keepalive)
			c->keep_at = STACK_NEVER;
		break;
	case TCP_OPT_KEEPIDLE:
		if (c->opt.keepalive && c->keep_at != STACK_NEVER)
			tcp_timer_set(c, &c->keep_at, now + (uint64_t)v * 1000000);
		break;
	case TCP_OPT_SNDBUF:
		c->sndq.limit = buf_limit(c->opt.sndbuf, TCP_MIN_SNDBUF);
		tcp_wake(c);        /* more room: writers re-check (Linux's sk_write_space) */
		break;
	case TCP_OPT_RCVBUF:
		c->rcvq.limit = buf_limit(c->opt.rcvbuf, TCP_MIN_RCVBUF);
		break;
	case TCP_OPT_RCVLOWAT:
		tcp_wake(c);        /* a lower mark may make it readable (Linux's tcp_set_rcvlowat) */
		/* Linux's tcp_set_rcvlowat: a mark past what an unlocked buffer
		 * holds (autotuning may have grown it past the mark) grows the
		 * buffer, and raises a window clamp below the mark to it; no
		 * clamp yet (a socket before its handshake, a listener) stays
		 * none: the handshake's tcp_init_buffer_space takes the grown
		 * buffer's space less a segment (measured on Linux 6.18). */
		if (c->opt.rcvbuf < 0 && (size_t)c->opt.rcvlowat > c->rcvq.limit) {
			uint32_t mark = (uint32_t)c->opt.rcvlowat;

			c->rcvq.limit = mark < TCP_MAX_BUF ? mark : TCP_MAX_BUF;
			if (c->opt.window_clamp && c->opt.window_clamp < mark)
				c->opt.window_clamp = mark;
			else if (!c->opt.window_clamp && c->rcv_clamp && c->rcv_clamp < mark)
				c->rcv_clamp = mark;
		}
		break;
	case TCP_OPT_CONGESTION:
		c->cc.algo = (enum tcp_cc_algo)c->opt.congestion;
		break;
	case TCP_OPT_CORK:
		/* Linux's __tcp_sock_set_cork: uncorking pushes what waits. */
		if (!c->opt.cork)
			tcp_output(c, now);
		break;
	case TCP_OPT_NOTSENT_LOWAT:
		tcp_wake(c);        /* writers re-check (Linux's sk_write_space) */
		break;
	case TCP_OPT_QUICKACK:
		/* Linux's __tcp_sock_set_quickack: 0 makes the connection
		 * interactive (its ACKs wait for a reply to carry them); any
		 * other value ends that, and an ACK owed goes as if a short
		 * segment had been read (ICSK_ACK_PUSHED, tcp_cleanup_rbuf:
		 * once the receive queue is empty, or more than a segment is
		 * owed); an even value makes it interactive again then. */
		c->pingpong = v == 0;
		if (v && (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_CLOSE_WAIT) && c->ack_sched) {
			c->ack_pushed = true;
			cleanup_rbuf(c, 1, now);
			if (!(v & 1))
				c->pingpong = true;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* With the stack's last time: for callers that have none of their own (the
 * shim gives its own, tcp_setopt_at: a time older than a segment sent since
 * made the one an uncork pushes look sent before it, to RACK and the peer). */
int tcp_setopt(struct tcp_conn *c, enum tcp_option opt, int v)
{
	return tcp_setopt_at(c, opt, v, c->s->now);
}

const uint8_t *tcp_saved_syn(const struct tcp_conn *c, unsigned *len)
{
	stack_assert_locked();
	*len = c->saved_syn_len;
	return c->saved_syn;
}

void tcp_saved_syn_drop(struct tcp_conn *c)
{
	stack_assert_locked();
	free(c->saved_syn);
	c->saved_syn = NULL;
	c->saved_syn_len = 0;
}

/*
 * The window clamp Linux's tcp_init_buffer_space leaves under SO_RCVBUF
 * (the buffer locked when the handshake ended: rcvbuf_hs):
 * from tcp_full_space, the space it sees in the buffer at its default
 * scaling ratio (tcp_rcvbuf_full_space: the size set, not the ring's
 * doubled one), less a segment, at least two (198552 for SO_RCVBUF 200000,
 * on a connection as on an accepted one). The first data segment of
 * rcv_mss or more (not a 12-byte hello) makes Linux measure its ratio and
 * set the clamp again (tcp_measure_rcv_mss),
 * which the stack's own clamp (rcv_clamp, the ring less a segment) stands
 * for from then on, as the window it offers always did.
 */
static uint32_t rcvbuf_clamp(const struct tcp_conn *c)
{
	uint64_t maxwin = tcp_rcvbuf_full_space(c->rcvbuf_hs);
	uint32_t adv = tcp_advmss_data(c), clamp;

	if (maxwin > (65535ull << c->rcv_wscale))
		maxwin = 65535ull << c->rcv_wscale;
	clamp = (uint32_t)maxwin;
	if (clamp > 2u * adv && clamp + adv > maxwin)
		clamp = (uint32_t)maxwin - adv > 2u * adv ? (uint32_t)maxwin - adv : 2u * adv;
	return clamp;
}

int tcp_getopt(const struct tcp_conn *c, enum tcp_option opt, int *v)
{
	stack_assert_locked();
	switch (opt) {
	case TCP_OPT_REUSEADDR: *v = c->opt.reuseaddr; return 0;
	case TCP_OPT_REUSEPORT: *v = c->opt.reuseport; return 0;
	case TCP_OPT_NODELAY: *v = c->opt.nodelay; return 0;
	case TCP_OPT_KEEPALIVE: *v = c->opt.keepalive; return 0;
	case TCP_OPT_KEEPIDLE: *v = (int)tcp_keepidle_s(c); return 0;
	case TCP_OPT_KEEPINTVL: *v = (int)tcp_keepintvl_s(c); return 0;
	case TCP_OPT_KEEPCNT: *v = (int)tcp_keepcnt(c); return 0;
	case TCP_OPT_SNDBUF: *v = (int)c->sndq.limit; return 0;
	case TCP_OPT_RCVBUF: *v = (int)c->rcvq.limit; return 0;
	case TCP_OPT_SO_RCVBUF:
		/* Linux's sk_rcvbuf counts the buffers' overhead too: about
		 * twice the data it holds (tcp_rmem[1] 131072 for a 64 KiB
		 * window). The ring holds data only, so a size the program did
		 * not set reads doubled, at most tcp_rmem[2], as Linux's grows
		 * (tcp_rcv_space_adjust); a size it set reads as it was set. */
		if (c->opt.rcvbuf >= 0)
			*v = (int)c->rcvq.limit;
		else if (c->rcvq.limit >= c->s->cfg.tcp_rmem[2] / 2)
			*v = (int)c->s->cfg.tcp_rmem[2];
		else
			*v = (int)c->rcvq.limit * 2;
		return 0;
	case TCP_OPT_LINGER: *v = c->opt.linger; return 0;
	case TCP_OPT_TOS: *v = c->opt.tos; return 0;
	case TCP_OPT_TTL: *v = c->opt.ttl; return 0;
	case TCP_OPT_PMTUDISC: *v = c->opt.pmtudisc; return 0;
	case TCP_OPT_RCVLOWAT: *v = c->opt.rcvlowat; return 0;
	case TCP_OPT_PEEK_OFF: *v = c->opt.peek_off; return 0;
	case TCP_OPT_SAVE_SYN: *v = c->opt.save_syn; return 0;
	case TCP_OPT_RTO_MAX: *v = (int)(tcp_rto_max_us(c) / 1000); return 0;
	case TCP_OPT_MINTTL: *v = c->opt.minttl; return 0;
	case TCP_OPT_DONTROUTE: *v = c->opt.dontroute; return 0;
	case TCP_OPT_MAXSEG:
		/* Linux's mss_cache: the connection's MSS stays once it ended,
		 * unless TCP_MAXSEG was set: in CLOSE (TIME_WAIT is CLOSE to the
		 * program) and LISTEN, do_tcp_getsockopt answers user_mss. */
		*v = (c->state == TCP_STATE_CLOSED && !c->was_connected) || c->state == TCP_STATE_LISTEN ?
		     (c->opt.maxseg ? c->opt.maxseg : c->mss_closed ? c->mss_closed : TCP_DEFAULT_MSS) :
		     c->opt.maxseg && (c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_TIME_WAIT) ?
		     c->opt.maxseg : c->mss;
		return 0;
	case TCP_OPT_USER_TIMEOUT: *v = (int)c->opt.user_timeout_ms; return 0;
	case TCP_OPT_CONGESTION: *v = c->cc.algo; return 0;
	case TCP_OPT_OOBINLINE: *v = c->opt.oobinline; return 0;
	case TCP_OPT_QUICKACK: *v = !c->pingpong; return 0;     /* Linux: !inet_csk_in_pingpong_mode */
	case TCP_OPT_FASTOPEN_QLEN: *v = (int)c->opt.fastopen_qlen; return 0;
	case TCP_OPT_FASTOPEN_NO_COOKIE: *v = c->opt.fastopen_no_cookie; return 0;
	case TCP_OPT_WINDOW_CLAMP:
		/* Unset on a connection: the largest window it may offer (Linux
		 * answers its window_clamp, from the buffer it accounts: the
		 * buffer less a segment once established, init_rcv_clamp, and
		 * still after a reset; a disconnect makes a fresh one). */
		if (c->opt.window_clamp && c->state != TCP_STATE_LISTEN && c->was_connected && !c->rcv_ratio &&
		    c->rcvbuf_hs && c->opt.window_clamp >= tcp_rcvbuf_full_space(c->rcvbuf_hs))
			/* Linux's tcp_init_buffer_space at the handshake's end:
			 * a clamp at or past the space a locked buffer gives
			 * (tcp_full_space; an accepted socket's request was
			 * clamped so already, tcp_openreq_init_rwin) becomes
			 * that space's, less a segment: as if unset (fuzzseq
			 * -g 6 seed 1079: a listener's SO_RCVBUF 4096 and
			 * TCP_WINDOW_CLAMP 20000, the child's 2896). */
			*v = (int)rcvbuf_clamp(c);
		else if (c->opt.window_clamp || c->state == TCP_STATE_LISTEN)
			*v = (int)c->opt.window_clamp;
		else if (c->rcv_clamp && c->rcvbuf_hs && !c->rcv_ratio)
			/* From the buffer locked at the handshake's end: one
			 * set later changes nothing until a full segment
			 * (fuzzseq -g 6 seed 20059: SO_RCVBUF 100000 on an
			 * accepted child read 98552, Linux 64088). */
			*v = (int)rcvbuf_clamp(c);
		else if (c->rcv_clamp)
			*v = (int)c->rcv_clamp;
		else if (c->state == TCP_STATE_CLOSED && !(c->active_open && !c->was_connected))
			*v = 0;
		else if ((c->state == TCP_STATE_SYN_SENT || c->state == TCP_STATE_CLOSED) && c->opt.rcvbuf < 0)
			/* tcp_connect_init: tcp_select_initial_window leaves the
			 * largest window the scale can say, 65535 << wscale
			 * (the buffer bounds it only under SO_RCVBUF); a SYN
			 * refused or timed out leaves it (tcp_done, where a
			 * disconnect makes a fresh connection). */
			*v = (int)(65535u << c->rcv_wscale);
		else
			*v = (int)(c->rcvq.limit < (65535u << c->rcv_wscale) ? c->rcvq.limit : 65535u << c->rcv_wscale);
		return 0;
	default:
		return tcp_opts_get(c->s, &c->opt, opt, v);
	}
}

static uint32_t ms_since(uint64_t now, uint64_t t)
{
	return t && now > t ? (uint32_t)((now - t) / 1000) : 0;
}

/* Linux's tcp_update_pacing_rate() for a congestion control that sets none
 * of its own: twice the rate cwnd per SRTT gives in slow start (below half
 * ssthresh), 1.2 times after (tcp_pacing_ss_ratio, tcp_pacing_ca_ratio);
 * none before an RTT sample. pstack does not pace: this is the rate the
 * kernel would report for the same window and RTT. */
static uint64_t pacing_rate(const struct tcp_conn *c)
{
	uint64_t cwnd = c->cc.cwnd / c->mss, out = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;

	if (!c->srtt)
		return UINT64_MAX;
	if (out > cwnd)
		cwnd = out;
	return (uint64_t)c->mss * cwnd * 10000u * (c->cc.cwnd < c->cc.ssthresh / 2 ? 200u : 120u) / c->srtt;
}

void tcp_disconnect_counts(struct tcp_conn *c, const struct tcp_conn *old)
{
	stack_assert_locked();
	c->retries = old->retries;
	c->timeout_rehash = old->timeout_rehash;
	/* tcp_disconnect leaves mss_cache: TCP_MAXSEG still says the last
	 * connection's MSS (524 after a SYN that offered timestamps, 1448
	 * after a connection with them). */
	c->mss_closed = (old->state == TCP_STATE_CLOSED && !old->was_connected) || old->state == TCP_STATE_LISTEN ?
			old->mss_closed : old->mss;
	/* tcp_disconnect moves write_seq on by the largest window the peer
	 * offered plus 2 and leaves snd_una and snd_nxt: SIOCOUTQ,
	 * SIOCOUTQNSD, tcpi_notsent_bytes and TCP_NOTSENT_LOWAT's writability
	 * count that gap in CLOSE, until a connect() catches up (2 on a socket
	 * that never connected). Linux keeps max_window: a second disconnect
	 * adds it again. A listener moved no write_seq since its last gap. */
	c->disc_wnd = old->max_snd_wnd > old->disc_wnd ? old->max_snd_wnd : old->disc_wnd;
	if (old->state == TCP_STATE_LISTEN) {
		c->dead_outq = old->dead_outq + c->disc_wnd + 2;
		c->dead_nsd = old->dead_nsd + c->disc_wnd + 2;
	} else {
		c->dead_outq = (uint32_t)tcp_outq(old) + (old->state == TCP_STATE_SYN_SENT) + c->disc_wnd + 2;
		c->dead_nsd = (uint32_t)tcp_outq_unsent(old) + c->disc_wnd + 2;
	}
	/* The next connect's SYN starts at write_seq: measured on 6.18 (veth,
	 * tcpdump -S), seq 2 from a socket that never connected, and ISN + 1
	 * + 3 + 65536 + 2 after a connection that sent 3 bytes, all acked,
	 * the peer's window at 65536 (0 becomes 1, as Linux's). */
	c->disc_una = old->active_open || old->was_connected ? old->snd_una : old->disc_una;
	c->disc_seq = c->disc_una + c->dead_outq;
	if (!c->disc_seq)
		c->disc_seq = 1;
	c->disc_seq_set = true;
}

void tcp_get_info(const struct tcp_conn *c, struct tcp_conn_info *i, uint64_t now)
{
	bool req_timer;

	stack_assert_locked();
	memset(i, 0, sizeof(*i));
	i->state = (uint8_t)c->state;
	i->max_pacing_rate = UINT64_MAX;
	i->reordering = TCP_DUPTHRESH;
	if (c->state == TCP_STATE_LISTEN) {
		/* Linux's tcp_get_info() for a listener: the accept queue and
		 * its limit in unacked and sacked, the defaults of a window. */
		i->pacing_rate = UINT64_MAX;
		i->snd_cwnd = c->cc.cwnd / (c->cc.mss ? c->cc.mss : 1);
		i->unacked = c->acc_count;
		i->sacked = (uint32_t)c->backlog;
		return;
	}
	i->ca_state = c->ca_state;
	if (c->ca_state == TCP_CA_OPEN && c->ca_disorder)
		i->ca_state = TCP_CA_DISORDER;
	i->retransmits = c->retries;
	/* A fast open child's SYN-ACK timeouts are its request's
	 * (tcp_fastopen_synack_timer): they back off that timer, not the
	 * socket's icsk_backoff and icsk_rto. */
	req_timer = c->tfo && c->state == TCP_STATE_SYN_RECEIVED;
	i->backoff = req_timer ? 0 : c->backoff;
	i->probes = c->probes;
	i->options = (uint8_t)((c->ts_ok ? 1 : 0) | (c->sack_ok ? 2 : 0) | (c->ws_ok ? 4 : 0) |
			       (c->ecn_ok ? 8 : 0) | (c->ecn_seen ? 16 : 0) |
			       (c->syn_data_acked ? 32 : 0));
	/* Linux's tcp_get_info: both scales only once the peer's SYN offered
	 * window scaling (rx_opt.wscale_ok); a SYN_SENT or refused connect
	 * shows 0 for the scale its own SYN offered. */
	i->snd_wscale = c->ws_ok ? c->snd_wscale : 0;
	i->rcv_wscale = c->ws_ok ? c->rcv_wscale : 0;
	/* Linux's icsk_rto: doubled by each retransmission timeout that backs
	 * off (a SYN's first ones do not), not by a zero window's probes,
	 * whose backoff is the probe timer's (tcp_send_probe0). */
	i->rto_us = (uint32_t)(c->persist_at == STACK_NEVER && !req_timer ? tcp_backed_off_rto(c) : c->rto);
	/* Linux's icsk_ack.ato: none until data (or a FIN) came in order. */
	i->ato_us = c->ato ? c->ato : c->fin_rcvd ? TCP_DELACK_US : 0;
	i->snd_mss = c->mss;
	i->rcv_mss = c->rcv_mss;
	i->unacked = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;
	/* Linux counts segments: a short one is one. Without SACK, its
	 * sacked_out counts the duplicate ACKs, each a segment that arrived
	 * (tcp_add_reno_sack). */
	i->sacked = c->sack_ok ? (c->sb.sacked + c->mss - 1) / c->mss : c->dupacks;
	i->lost = (c->sb.lost + c->mss - 1) / c->mss;
	i->retrans = (c->sb.retrans + c->mss - 1) / c->mss;
	i->last_data_sent_ms = ms_since(now, c->last_snd_at);
	i->last_ack_recv_ms = ms_since(now, c->last_ack_at);
	i->last_data_recv_ms = ms_since(now, c->last_rcv_at);
	i->pmtu = c->pmtu;
	i->rcv_ssthresh = c->rcv_ssthresh ? c->rcv_ssthresh : (uint32_t)c->rcvq.limit;
	i->rtt_us = c->srtt;
	i->rttvar_us = c->rttvar;
	/* In segments, as Linux's; its TCP_INFINITE_SSTHRESH until a loss sets one. */
	i->snd_ssthresh = c->cc.ssthresh == UINT32_MAX ? 0x7fffffffu : c->cc.ssthresh / c->mss;
	i->snd_cwnd = c->cc.cwnd / c->mss;
	i->advmss = c->was_connected ? tcp_advmss_data(c) : c->advmss;
	i->rcv_space = c->rcv_space;
	i->rcv_rtt_us = c->rcv_rtt8 >> 3;
	i->total_retrans = c->total_retrans;
	/* Linux counts sequence space: our SYN (not a SYN-ACK: a child's
	 * count starts after it) and FIN acknowledged (the FIN is, once
	 * SND.UNA is past the data), the FIN received. */
	i->bytes_acked = tcp_seq_acked(c);
	i->bytes_received = c->bytes_received + (c->fin_rcvd ? 1 : 0);
	i->segs_out = c->segs_out;
	/* A child counts the SYN its listener took (Linux's request sock's). */
	i->segs_in = c->segs_in + (c->was_connected && !c->active_open ? 1 : 0);
	i->snd_wnd = c->snd_wnd;
	i->min_rtt_us = c->min_rtt;
	if (c->srtt)
		i->delivery_rate = (uint64_t)c->cc.cwnd * 1000000 / c->srtt;
	i->delivery_rate_app_limited = c->rate_app_limited;
	i->pacing_rate = pacing_rate(c);
	i->notsent_bytes = (uint32_t)tcp_outq_unsent(c);
	i->data_segs_in = c->data_segs_in;
	i->data_segs_out = c->data_segs_out;
	i->bytes_sent = c->bytes_sent;
	i->bytes_retrans = c->bytes_retrans;
	i->dsack_dups = c->dsack_dups;
	i->delivered = c->delivered;
	i->delivered_ce = c->delivered_ce;
	if (c->reordering > i->reordering)
		i->reordering = c->reordering;
	i->reord_seen = c->reord_seen;
	i->rcv_ooopack = c->rcv_ooopack;
	{
		/* Linux's tcp_get_info_chrono_stats(): the running one included. */
		uint64_t t[3] = { c->chrono_us[0], c->chrono_us[1], c->chrono_us[2] };

		if (c->chrono != TCP_CHRONO_NONE && now > c->chrono_at)
			t[c->chrono - 1] += now - c->chrono_at;
		i->busy_us = t[0] + t[1] + t[2];
		i->rwnd_limited_us = t[1];
		i->sndbuf_limited_us = t[2];
	}
	i->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_wup) ? c->rcv_adv - c->rcv_wup : 0;
	i->rmem = tcp_ring_mem(&c->rcvq);
	i->rcvbuf = c->rcvq.limit;
	i->wmem = tcp_ring_mem(&c->sndq);
	i->sndbuf = c->sndq.limit;
	i->rehash = c->timeout_rehash;
	i->received_ce = c->received_ce;
	i->received_e1_bytes = c->received_ecn_bytes[TCP_ECN_ECT1 - 1];
	i->received_e0_bytes = c->received_ecn_bytes[TCP_ECN_ECT0 - 1];
	i->received_ce_bytes = c->received_ecn_bytes[TCP_ECN_CE - 1];
	i->total_rto = c->rto_total;
	i->total_rto_recoveries = c->rto_recoveries;
	i->total_rto_time_ms = (uint32_t)((c->rto_time_us + (c->rto_stamp ? now - c->rto_stamp : 0)) / 1000);
}

const struct tcp_conn *tcp_conn_first(const struct stack *s)
{
	stack_assert_locked();
	return s->tcp->all ? s->tcp->all : s->tcp->tw_head;
}

const struct tcp_conn *tcp_conn_next(const struct stack *s, const struct tcp_conn *c)
{
	stack_assert_locked();
	/* t->all first, then the TIME_WAIT list (tcp_set_state moves c between them). */
	if (c->all_next)
		return c->all_next;
	return c->in_tw ? NULL : s->tcp->tw_head;
}

unsigned tcp_acceptq_len(const struct tcp_conn *l, int *backlog)
{
	stack_assert_locked();
	*backlog = l->backlog;
	return l->acc_count;
}
