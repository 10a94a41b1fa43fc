/*
 * TCP: the connection table and a connection's life. Demultiplexing (the
 * 4-tuple hash, listeners and bound ports by port), creating and freeing
 * control blocks, the one place states change, the accept and SYN queues,
 * timestamp offsets, the receive-window helpers, the exit path's count and
 * ICMP errors (OpenBSD's tcp_subr.c). The socket-facing calls are in
 * tcp_usrreq.c, the timers in tcp_timer.c, input in tcp_input.c and output
 * in tcp_output.c.
 *
 * RFCs to read first: 9293 (core), 1122 §4.2, 6528 (ISN), 7323, 6191,
 * 5927 and 1191 (ICMP errors).
 */
#include "stack/core/tcp/tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp_cookie.h"
#include "stack/core/tcp/tcp_priv.h"

static const char *const state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *tcp_state_name(enum tcp_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "?";
}

static void tcp_conn_free(struct tcp_conn *c);

int tcp_init(struct stack *s)
{
	s->tcp = calloc(1, sizeof(*s->tcp));
	if (!s->tcp)
		return -ENOMEM;
	inpcb_table_init(&s->tcp->pcbs, s, IP_PROTO_TCP);
	s->tcp->pcbs.port_touch = tcp_tw_pending_port;
	s->tcp->pcbs.tw_reusable = tcp_tw_reusable_pcb;
	s->tcp->mem.limit = s->cfg.tcp_mem ? s->cfg.tcp_mem : TCP_DEFAULT_MEM;
	return 0;
}

void tcp_fini(struct stack *s)
{
	struct tcp_table *t = s->tcp;

	if (!t)
		return;
	/* The stack goes away: forget listeners' queues so that freeing sends nothing. */
	for (struct tcp_conn *c = t->all; c; c = c->all_next) {
		c->parent = NULL;
		c->in_acceptq = false;
		c->acc_head = c->acc_tail = NULL;
		c->syn_count = 0;
		c->acc_count = 0;
		c->fo_listener = NULL;
		c->fo_count = 0;
		if (c->state == TCP_STATE_LISTEN)
			c->state = TCP_STATE_CLOSED;
	}
	while (t->all)
		tcp_conn_free(t->all);
	while (t->tw_head)
		tcp_conn_free(t->tw_head);
	tcp_tw_pending_free(t);
	tcp_timer_fini(t);
	free(t);
	s->tcp = NULL;
}

void tcp_log_stats(const struct stack *s, int level)
{
	const struct tcp_mem *m = &s->tcp->mem;

	log_printf(level, "tcp memory: used %zu peak %zu of %zu bytes (PSTACK_TCP_MEM); refused %llu times",
		   m->used, m->peak, m->limit, (unsigned long long)m->refused);
}

size_t tcp_conn_count(const struct stack *s)
{
	return s->tcp ? s->tcp->live : 0;
}

/* ---- demultiplexing (the shared endpoint table, inpcb.h) ---- */

struct tcp_conn *tcp_lookup(struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct tcp_conn *c = tcp_conn_of(inpcb_lookup(&s->tcp->pcbs, laddr, lport, raddr, rport));

	/* Not in the table: a TIME_WAIT record held for the port joins it. */
	if (!c && s->tcp->tw_pend.live) {
		tcp_tw_pending_port(s, lport);
		c = tcp_conn_of(inpcb_lookup(&s->tcp->pcbs, laddr, lport, raddr, rport));
	}
	return c;
}

struct tcp_conn *tcp_lookup_listener(struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	return tcp_conn_of(inpcb_lookup_listener(&s->tcp->pcbs, laddr, lport, raddr, rport));
}

uint32_t tcp_ts_offset(const struct stack *s, uint32_t laddr, uint32_t raddr)
{
	/* Like Linux's secure_tcp_ts_off(): the addresses only, not the ports,
	 * so that a new connection reusing a 4-tuple the peer holds in
	 * TIME_WAIT carries TS values above the old one's (RFC 6191 §2, the
	 * peer accepts its SYN). The tag keeps this hash apart from the ISN's. */
	uint8_t buf[9];

	memcpy(buf, &laddr, 4);
	memcpy(buf + 4, &raddr, 4);
	buf[8] = 'T';
	return (uint32_t)siphash24(s->cfg.secret, buf, sizeof(buf));
}

/* ---- life cycle ---- */

static void conn_unlink(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else if (c->in_tw)
		t->tw_head = c->all_next;
	else
		t->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	else if (c->in_tw)
		t->tw_tail = c->all_prev;
	c->all_prev = c->all_next = NULL;
	c->in_tw = false;
}

static void link_all(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	c->all_next = t->all;
	if (t->all)
		t->all->all_prev = c;
	t->all = c;
}

static void link_tw(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	c->in_tw = true;
	c->all_prev = t->tw_tail;
	if (t->tw_tail)
		t->tw_tail->all_next = c;
	else
		t->tw_head = c;
	t->tw_tail = c;
}

void tcp_tw_requeue(struct tcp_conn *c)
{
	if (c->s->tcp->tw_tail == c)
		return;
	conn_unlink(c);
	link_tw(c);
}

struct tcp_conn *tcp_conn_new(struct stack *s)
{
	struct tcp_table *t = s->tcp;
	struct tcp_conn *c;

	if (tcp_timer_reserve(t))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->state = TCP_STATE_CLOSED;
	c->rto = TCP_RTO_INIT_US;
	c->rto_at = c->persist_at = c->delack_at = c->keep_at = c->tw_at = c->comp_at = STACK_NEVER;
	c->tmr_key = STACK_NEVER;
	c->tmr_idx = TCP_TMR_NONE;
	c->mss = TCP_DEFAULT_MSS;
	c->pmtu = (uint16_t)(s->mtu < 65535 ? s->mtu : 65535);
	c->advmss = (uint16_t)(s->mtu > 40 + TCP_MIN_MSS ? s->mtu - 40 : TCP_MIN_MSS);
	c->rcv_mss = TCP_DEFAULT_MSS;
	c->app_limited = ~0u;       /* Linux's tcp_init_sock() */
	c->fo_syn_len = -1;         /* no fast open option on a SYN */
	c->opt = sock_opts_default();
	/* PSTACK_TCP_WMEM / PSTACK_TCP_RMEM: the guaranteed minimum and the
	 * size at first (SO_SNDBUF and SO_RCVBUF change the latter). */
	tcp_ring_init(&c->sndq, s->cfg.tcp_wmem[1], &t->mem);
	c->sndq.min = s->cfg.tcp_wmem[0];
	tcp_ring_init(&c->rcvq, s->cfg.tcp_rmem[1], &t->mem);
	c->rcvq.min = s->cfg.tcp_rmem[0];
	tcp_cc_init(&c->cc, TCP_CC_CUBIC, c->mss);
	link_all(c);
	t->live++;
	return c;
}

void tcp_ofo_purge(struct tcp_conn *c)
{
	while (c->ofo) {
		struct tcp_ofo *o = c->ofo;

		c->ofo = o->next;
		tcp_ofo_free(c, o);
	}
	c->ofo_bytes = 0;
	c->ofo_count = 0;
}

void tcp_acceptq_remove(struct tcp_conn *l, struct tcp_conn *c)
{
	struct tcp_conn **pp = &l->acc_head, *prev = NULL;

	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (!*pp)
		return;
	*pp = c->qnext;
	if (l->acc_tail == c)
		l->acc_tail = prev;
	l->acc_count--;
	c->in_acceptq = false;
	c->qnext = NULL;
}

/* Detaches a child from its listener. */
static void unparent(struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;

	if (!l)
		return;
	if (c->in_acceptq)
		tcp_acceptq_remove(l, c);
	else if (l->syn_count)
		l->syn_count--;
	c->parent = NULL;
}

void tcp_fastopen_release(struct tcp_conn *c)
{
	if (c->fo_listener) {
		c->fo_listener->fo_count--;
		c->fo_listener = NULL;
	}
	c->tfo = false;
}

void tcp_child_established(struct tcp_conn *c)
{
	struct tcp_conn *l = c->parent;

	if (!l || c->in_acceptq)
		return;
	if (l->syn_count)
		l->syn_count--;
	c->in_acceptq = true;
	c->qnext = NULL;
	if (l->acc_tail)
		l->acc_tail->qnext = c;
	else
		l->acc_head = c;
	l->acc_tail = c;
	l->acc_count++;
	l->acc_total++;
	c->s->stats.tcp_passive_opens++;
	sock_wake(&l->wake);
	sock_wake(&l->share_wake);
}

void tcp_close_children(struct tcp_conn *l, uint64_t now)
{
	struct tcp_table *t = l->s->tcp;
	struct tcp_conn *c, *next;

	/* Connections waiting in the accept queue are reset (like Linux's
	 * inet_csk_listen_stop); embryonic ones just go. */
	while ((c = l->acc_head)) {
		tcp_acceptq_remove(l, c);
		c->parent = NULL;
		c->orphan = true;
		if (c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_TIME_WAIT)
			tcp_send_rst(c, now);
		if (c->state == TCP_STATE_TIME_WAIT)
			continue;
		tcp_done(c);
	}
	for (c = t->all; c; c = next) {
		next = c->all_next;
		if (c->fo_listener == l)
			c->fo_listener = NULL;  /* accepted: it lives on */
		if (c->parent == l) {
			c->parent = NULL;
			c->orphan = true;
			tcp_done(c);
			next = t->all;  /* the list changed: start over (rare, bounded by the SYN queue) */
		}
	}
	l->syn_count = 0;
	l->fo_count = 0;
}

static void tcp_conn_free(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->segs_out > 2)
		log_debug("tcp %u -> %u done: segs out %u in %u, retransmits %u, timeouts %u (spurious %u), "
			  "tail probes %u, fast recoveries %u, window probes %u, srtt %u us, cwnd %u, ecn %s (%u reductions)",
			  c->pcb.local.port, c->pcb.remote.port, c->segs_out, c->segs_in, c->total_retrans, c->rto_count,
			  c->spurious_rtos, c->tlp_probes, c->fast_recoveries, c->persist_probes, c->srtt, c->cc.cwnd,
			  c->ecn_ok ? "on" : "off", c->ecn_reductions);
	tcp_txq_remove(c);
	tcp_ackq_remove(c);
	tcp_timer_unsched(c);
	tcp_errq_free(c);
	if (c->state == TCP_STATE_LISTEN || c->acc_head || c->syn_count || c->fo_count)
		tcp_close_children(c, c->s->now);
	tcp_fastopen_release(c);
	unparent(c);
	inpcb_hash_remove(&t->pcbs, &c->pcb);
	inpcb_bind_remove(&c->pcb);
	inpcb_listen_remove(&t->pcbs, &c->pcb);
	conn_unlink(c);
	tcp_set_queue_bound(c, false);
	tcp_ring_free(&c->sndq);
	tcp_ring_free(&c->rcvq);
	tcp_ofo_purge(c);
	tcp_sb_free(&c->sb);
	free(c->eor);
	free(c->saved_syn);
	t->live--;
	free(c);
}

/* The one place state changes, for tracing. */
void tcp_set_state(struct tcp_conn *c, enum tcp_state st)
{
	if (c->state == st)
		return;
	log_debug("tcp %u -> %u: %s -> %s", c->pcb.local.port, c->pcb.remote.port, tcp_state_name(c->state),
		  tcp_state_name(st));
	c->state = st;
	c->pcb.listening = st == TCP_STATE_LISTEN;
	c->pcb.connected = st != TCP_STATE_CLOSED && st != TCP_STATE_LISTEN;
	if ((st == TCP_STATE_TIME_WAIT) != c->in_tw) {
		conn_unlink(c);
		if (st == TCP_STATE_TIME_WAIT)
			link_tw(c);
		else
			link_all(c);
		/* In TIME_WAIT only tw_at counts (conn_deadline): out of it the
		 * other timers count again. */
		tcp_timer_resched(c);
	}
}

void tcp_wake(struct tcp_conn *c)
{
	sock_wake(&c->wake);
	sock_wake(&c->share_wake);
	if (c->parent && c->in_acceptq) {
		sock_wake(&c->parent->wake);
		sock_wake(&c->parent->share_wake);
	}
}

bool tcp_done(struct tcp_conn *c)
{
	tcp_fastopen_release(c);
	tcp_set_state(c, TCP_STATE_CLOSED);
	c->rto_at = c->persist_at = c->delack_at = c->keep_at = c->tw_at = c->comp_at = STACK_NEVER;
	inpcb_hash_remove(&c->s->tcp->pcbs, &c->pcb);
	inpcb_listen_remove(&c->s->tcp->pcbs, &c->pcb);
	c->rd_shut = c->wr_shut = true;
	tcp_ofo_purge(c);
	tcp_errq_done(c);
	tcp_set_queue_bound(c, false);
	tcp_ring_free(&c->sndq);
	if (!c->rcvq.len)
		tcp_ring_free(&c->rcvq);
	if (c->orphan || (c->parent && !c->in_acceptq)) {
		tcp_conn_free(c);
		return true;
	}
	/* The application still holds it. Like Linux's inet_put_port at
	 * TCP_CLOSE, the port goes back unless bind() named it: another socket
	 * may take it, and this one may bind() again (tcp_rebind). Its
	 * endpoints stay as getsockname() shows them. */
	if (!c->port_locked)
		inpcb_bind_remove(&c->pcb);
	tcp_wake(c);
	return false;
}

bool tcp_abort(struct tcp_conn *c, int err)
{
	if (err)
		c->err = err;
	/* The bytes never acknowledged (and never sent) stay counted: Linux's
	 * tcp_done moves neither write_seq nor snd_una. A refused SYN is
	 * syn_unacked's (tcp_usrreq.c). */
	if (err && c->was_connected && c->state != TCP_STATE_CLOSED) {
		c->dead_outq = (uint32_t)tcp_outq(c);
		c->dead_nsd = (uint32_t)tcp_outq_unsent(c);
	}
	return tcp_done(c);
}

/*
 * Like Linux's tcp_sync_mss() with tcp_mtu_to_mss(): the payload one segment
 * carries is the path MTU less the IP and TCP headers, at most the MSS the
 * peer announced (mss_clamp), less the options every segment carries (12
 * bytes of timestamps when in use). SACK blocks, on some segments only, are
 * taken off per segment (tcp_output.c's seg_mss()). RFC 1191 §6.2, RFC 6691 §2.
 */
void tcp_sync_mss(struct tcp_conn *c)
{
	uint32_t m = c->pmtu > 40 ? c->pmtu - 40u : 0;

	if (m > c->mss_clamp)
		m = c->mss_clamp;
	/* Linux's floor (tcp_min_snd_mss, 48) before the options come off:
	 * a peer that announces MSS 40 gets 48-byte segments, 36 with
	 * timestamps. */
	if (m < TCP_MIN_SND_MSS)
		m = TCP_MIN_SND_MSS;
	if (c->ts_ok)
		m -= 12;
	m -= c->ip_opts_len;        /* Linux's icsk_ext_hdr_len */
	/* tcp_bound_to_half_wnd(): at most half the largest window the peer
	 * offered (all of it, when that is below 536), never below 68 bytes
	 * of segment. Only a path wider than half a window meets it: this
	 * host's own address, over Linux's lo (MTU 65535, a first window of
	 * 65483 or 65536: 32741 and 32768 bytes a segment). */
	if (c->max_snd_wnd) {
		uint32_t cut = c->max_snd_wnd > TCP_DEFAULT_MSS ? c->max_snd_wnd / 2 : c->max_snd_wnd,
			 floor = 68u - 20u - (c->ts_ok ? 12u : 0u);

		if (m > cut)
			m = cut > floor ? cut : floor;
	}
	c->mss = (uint16_t)m;
}

/*
 * RFC 7323 §2.3: the shift covers the largest window the connection may
 * offer. Like Linux's tcp_select_initial_window(): the larger of the
 * receive buffer, tcp_rmem[2] (PSTACK_TCP_RMEM's max, where autotuning
 * may take the buffer) and rmem_scale (the host's reading of the
 * namespace's net.ipv4.tcp_rmem max and net.core.rmem_max, as the kernel
 * takes them), log2 of it less 15, from 0 to 14: 7 with 6 MiB, 8 with
 * 15 MB, 10 with 32 MiB (Linux 6.18's default). With SO_RCVBUF set the
 * buffer alone (the buffer no longer grows: Linux's SOCK_RCVBUF_LOCK clamps
 * the window to it, tcp_connect_init() and tcp_openreq_init_rwin()), the
 * space Linux sees in it (tcp_rcvbuf_full_space): 4 for 1000000.
 */
uint8_t tcp_pick_wscale(const struct tcp_conn *c)
{
	uint64_t space = c->rcvq.limit, most = c->s->cfg.rmem_scale;
	int ws = -15;

	if (c->opt.rcvbuf >= 0)
		space = tcp_rcvbuf_full_space(c->rcvq.limit);

	if (!c->s->cfg.tcp_window_scaling)
		return 0;       /* none offered (the namespace's tcp_window_scaling 0) */

	if (most < c->s->cfg.tcp_rmem[2])
		most = c->s->cfg.tcp_rmem[2];
	if (c->opt.rcvbuf < 0 && space < most)
		space = most;
	/* TCP_WINDOW_CLAMP bounds it (Linux's tcp_select_initial_window:
	 * the space taken no larger than the clamp). */
	if (c->opt.window_clamp && space > c->opt.window_clamp)
		space = c->opt.window_clamp;
	for (; space > 1; space >>= 1)
		ws++;
	return (uint8_t)(ws < 0 ? 0 : ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws);
}

/*
 * Like Linux's tcp_sndbuf_expand() (from tcp_new_space(), once ACKs free
 * room, and at the end of the handshake, tcp_init_buffer_space()): the send
 * buffer holds at least two congestion windows (CUBIC's fast recovery
 * needs 1.7, "rounded to 2 to include extra cushion"), and at least two
 * initial windows, up to tcp_wmem[2] (PSTACK_TCP_WMEM's max). Not when the
 * application set SO_SNDBUF (SOCK_SNDBUF_LOCK), once the budget is half
 * spent (Linux stops at tcp_mem[0], its low mark, half its hard limit by
 * default), or while the congestion window is full (tcp_should_expand_sndbuf()).
 * Deviation: Linux counts the buffers' overhead too (a segment costs
 * several times its payload); the ring holds payload only.
 *
 * Deviation, a window that is mostly queue: when the smoothed RTT is more
 * than twice the connection's least (min_rtt), the window holds more than
 * the path (cwnd * min_rtt / srtt is the part of it that is not waiting in
 * a queue: the delivery rate times the RTT without the queue, BBR's
 * bandwidth-delay product). Two windows of that only feed the queue: the
 * buffer is sized on twice that part instead (never more than Linux's two
 * windows), and comes down to it, allocation included. It keeps at least
 * an equal share of TCP_SNDBUF_QUEUE_SHARE among the connections in that
 * state with data queued, and at least TCP_SNDBUF_QUEUE_FLOOR. On a TAP
 * the queue is the peer kernel's backlog, filled by our own sending:
 * iperf3 -P 4 grew four 1 MiB rings (cwnd ~800 segments, srtt ~1 ms for a
 * min_rtt under 0.1 ms) whose copies missed the caches (the copy into the
 * rings was 18% of the sender's CPU); at 256 KiB each it sent 1.6x the
 * bytes for 0.56x the CPU per GB. One stream alone keeps its 1 MiB (a
 * smaller buffer drained whenever the sender lost its CPU). Where no
 * queue of our own builds (srtt near min_rtt, as on most paths and in
 * packetdrill scripts), the rule changes nothing.
 */
uint32_t tcp_minmax_running_min(struct tcp_minmax *m, uint64_t win, uint64_t t, uint32_t v)
{
	uint64_t dt;

	/* A new least, an empty filter, or nothing left in the window:
	 * the sample is the best of all three thirds. */
	if (!m->s[0].v || v <= m->s[0].v || t - m->s[2].t > win) {
		for (int i = 0; i < 3; i++) {
			m->s[i].t = t;
			m->s[i].v = v;
		}
		return v;
	}
	if (v <= m->s[1].v) {
		m->s[1].t = m->s[2].t = t;
		m->s[1].v = m->s[2].v = v;
	} else if (v <= m->s[2].v) {
		m->s[2].t = t;
		m->s[2].v = v;
	}
	/* The best sample aged out of the window: the next ones move up,
	 * twice if the second aged out too. */
	dt = t - m->s[0].t;
	if (dt > win) {
		m->s[0] = m->s[1];
		m->s[1] = m->s[2];
		m->s[2].t = t;
		m->s[2].v = v;
		if (t - m->s[0].t > win) {
			m->s[0] = m->s[1];
			m->s[1] = m->s[2];
		}
	} else if (m->s[1].t == m->s[0].t && dt > win / 4) {
		/* A quarter of the window with one best: take a second. */
		m->s[1].t = m->s[2].t = t;
		m->s[1].v = m->s[2].v = v;
	} else if (m->s[2].t == m->s[1].t && dt > win / 2) {
		/* Half the window with two: take a third. */
		m->s[2].t = t;
		m->s[2].v = v;
	}
	return m->s[0].v;
}

void tcp_set_queue_bound(struct tcp_conn *c, bool on)
{
	if (c->queue_bound == on)
		return;
	c->queue_bound = on;
	if (on)
		c->s->tcp->queue_bound++;
	else
		c->s->tcp->queue_bound--;
}

static uint64_t sndbuf_want(struct tcp_conn *c, bool *queue_bound)
{
	uint64_t win = c->cc.cwnd > 10u * c->mss ? c->cc.cwnd : 10u * c->mss;

	*queue_bound = c->min_rtt && c->srtt > 2ull * c->min_rtt;
	tcp_set_queue_bound(c, *queue_bound && c->sndq.len > 0);
	if (*queue_bound) {
		uint64_t path = 2 * win * c->min_rtt / c->srtt;        /* < win */
		uint64_t share = TCP_SNDBUF_QUEUE_SHARE / (c->s->tcp->queue_bound ? c->s->tcp->queue_bound : 1);
		uint64_t want = TCP_SNDBUF_QUEUE_FLOOR;

		/* Rounded up to a power of two: a size that does not move
		 * with every RTT sample (each move of the allocation copies). */
		while (want < 2 * path)
			want *= 2;
		if (want < share)
			want = share;
		if (want < 2 * win)
			return want;
		*queue_bound = false;
	}
	return 2 * win;
}

void tcp_sndbuf_expand(struct tcp_conn *c)
{
	bool queue_bound;
	uint64_t want;
	tcp_seq end = tcp_snd_end(c);
	uint64_t unsent = seq_gt(end, c->snd_max) ? end - c->snd_max : 0;

	/* Linux asks once the ACK's transmissions are made (tcp_check_space()
	 * after tcp_data_snd_check()): the window is not full when what is in
	 * flight and what waits to go together do not fill it. Called before
	 * ours, the same test counts the unsent bytes; and a connection
	 * waiting its turn to send (t->txq) is held back by the host, not by
	 * its buffer. Without these every ACK grew the buffer, and 1000
	 * connections whose data waited their turn each grew theirs to two
	 * windows of a few hundred KiB that they never used. */
	if (c->opt.sndbuf >= 0) {
		tcp_set_queue_bound(c, false);
		return;
	}
	want = sndbuf_want(c, &queue_bound);
	if (want > c->s->cfg.tcp_wmem[2])
		want = c->s->cfg.tcp_wmem[2];
	if (queue_bound && want < c->sndq.limit) {
		/* Comes down (the bytes already held stay: POLLOUT waits until
		 * they are below it), and the allocation with it once the bytes
		 * held fit: a smaller ring stays in the caches. */
		c->sndq.limit = (size_t)want;
	}
	/*
	 * The allocation follows the limit down once the limit has stayed
	 * below it for TCP_SNDQ_FIT_US (and the bytes held fit). Several
	 * streams sharing TCP_SNDBUF_QUEUE_SHARE move each other's limits
	 * back and forth as they enter and leave the queue-bound state: a ring
	 * that followed at once was cut down and grown back again and again,
	 * each time a copy of what it held into fresh pages (iperf3 -P 4
	 * sending: 600,000 page faults in 4 s, 20 Gbit/s; 35 without).
	 */
	if (!tcp_ring_oversized(&c->sndq))
		c->sndq_over_since = 0;
	else if (!c->sndq_over_since)
		c->sndq_over_since = c->s->now ? c->s->now : 1;
	else if (c->s->now - c->sndq_over_since >= TCP_SNDQ_FIT_US)
		tcp_ring_fit(&c->sndq);
	if (tcp_mem_above_low(&c->s->tcp->mem) || tcp_pipe(c) + unsent >= c->cc.cwnd || c->in_txq)
		return;
	if (want > c->sndq.limit)
		c->sndq.limit = (size_t)want;
}

void tcp_rcv_reserve(struct tcp_conn *c)
{
	size_t promise = 0;

	switch (c->state) {
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_FIN_WAIT_1:
	case TCP_STATE_FIN_WAIT_2:
		if (!c->fin_rcvd && !c->orphan && seq_gt(c->rcv_adv, c->rcv_nxt))
			promise = c->rcv_adv - c->rcv_nxt;
		break;
	default:
		break;          /* no more data can come */
	}
	tcp_ring_reserve(&c->rcvq, c->rcvq.len + promise);
}

uint32_t tcp_rcv_space(const struct tcp_conn *c)
{
	size_t space = tcp_ring_space(&c->rcvq);    /* within the stack-wide budget too */

	/* TCP_WINDOW_CLAMP: no window beyond it (Linux's window_clamp). */
	if (c->opt.window_clamp && space > c->opt.window_clamp)
		space = c->opt.window_clamp;
	return space > UINT32_MAX ? UINT32_MAX : (uint32_t)space;
}

/*
 * Linux's tcp_select_initial_window() offers the receive space rounded down
 * to a multiple of the MSS, then at most 65535 (a SYN's window is not
 * scaled): 64240 (44 x 1460) for its 65536 bytes by default, 65535 once the
 * space passes 65535 + MSS. The MSS is the one we announce in a SYN
 * (tcp_connect_init), in a SYN-ACK that less the timestamp option when the
 * peer asked for timestamps (tcp_openreq_init_rwin): 65160 = 45 x 1448.
 */
uint32_t tcp_initial_window(uint32_t space, uint32_t mss)
{
	if (mss && space > mss)
		space -= space % mss;
	return space < 65535 ? space : 65535;
}

uint32_t tcp_syn_window(const struct tcp_conn *c, bool synack)
{
	uint32_t mss = c->advmss, space = tcp_rcv_space(c);

	if (synack && c->ts_ok && mss > 12)
		mss -= 12;
	if (c->opt.rcvbuf >= 0 && space > tcp_rcvbuf_full_space(c->rcvq.limit))
		space = tcp_rcvbuf_full_space(c->rcvq.limit);
	return tcp_initial_window(space, mss);
}

/*
 * The room a new right edge may offer, like Linux's __tcp_select_window:
 * once the buffer is more than half full, room below a sixteenth of it, or
 * below a segment, is offered as none (the edge stays where it is). A reader
 * that lags behind its peer then reopens the window in large steps, not by
 * what each read freed: one update per read would let the peer send one
 * read's worth at a time, a frame and an ACK for every read. The buffer is
 * what it may hold now: while the stack-wide budget is spent, that is its
 * own charge (Linux shrinks sk_rcvbuf under memory pressure likewise), so
 * a connection being read still opens its window.
 */
uint32_t tcp_rcv_space_offer(const struct tcp_conn *c)
{
	uint32_t space = tcp_rcv_space(c);
	uint64_t full = tcp_ring_reach(&c->rcvq);   /* less while the stack's budget is spent */

	if (c->opt.window_clamp && full > c->opt.window_clamp)
		full = c->opt.window_clamp;
	if (full > (65535ull << c->rcv_wscale))
		full = 65535ull << c->rcv_wscale;
	if (space < full / 2) {
		space &= ~((1u << c->rcv_wscale) - 1);
		if (space < full / 16 || space < c->rcv_mss)
			return 0;
	}
	return space;
}

uint32_t tcp_rcv_space_select(const struct tcp_conn *c)
{
	uint32_t space = tcp_rcv_space_offer(c);

	return c->rcv_ssthresh && space > c->rcv_ssthresh ? c->rcv_ssthresh : space;
}

size_t tcp_pending_close(const struct stack *s)
{
	size_t n = 0;

	stack_assert_locked();
	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (c->orphan && c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_TIME_WAIT &&
		    c->state != TCP_STATE_FIN_WAIT_2)
			n++;
	return n;
}

size_t tcp_after_fin(const struct stack *s)
{
	size_t n = 0;

	stack_assert_locked();
	/* Most sit on the TIME_WAIT list (in_tw); count both lists, and the
	 * records held (tcp_tw_adopt). */
	n = s->tcp->tw_pend.live;
	for (const struct tcp_conn *c = s->tcp->tw_head; c; c = c->all_next)
		n++;
	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (c->state == TCP_STATE_TIME_WAIT || c->state == TCP_STATE_FIN_WAIT_2)
			n++;
	return n;
}

void tcp_icmp_error(struct stack *s, const struct ip4_hdr *quoted, const uint8_t *qp, size_t qlen, int err,
		    uint32_t mtu, bool ends_request)
{
	struct tcp_conn *c;
	struct tcp_seg q;
	tcp_seq seq;

	if (tcp_seg_parse_quote(qp, qlen, quoted->src, quoted->dst, &q) != WIRE_OK)
		return;
	c = tcp_lookup(s, q.src, q.sport, q.dst, q.dport);
	if (!c)
		return;
	seq = q.seq;
	/* Like Linux's tcp_v4_err(): a TIME_WAIT socket (and an orphan in
	 * FIN_WAIT_2, one there too: its FIN_WAIT2 substate) takes no error,
	 * and a connection request takes only one that ends it (tcp_req_err),
	 * neither a path MTU: both return before the MTU is looked at, so the
	 * destination's path stays as it was for the connections after them.
	 * Measured on Linux 6.18 (rawframes synrecv_frag_needed_mtu_zero,
	 * tw_frag_needed): fragmentation needed without a next-hop MTU about
	 * the SYN-ACK, or about the ACK of the peer's FIN in TIME-WAIT, left
	 * the next SYN-ACK to that peer at MSS 1460 with DF (pstack: 552,
	 * locked: MSS 512 without DF, the request's own ACK without DF). */
	if (c->state == TCP_STATE_TIME_WAIT || (c->state == TCP_STATE_FIN_WAIT_2 && c->orphan))
		return;
	if (c->state == TCP_STATE_SYN_RECEIVED && c->parent && !c->in_acceptq && !c->active_open && !c->tfo) {
		/* Linux's tcp_req_err drops the request without a word for
		 * an error about its SYN-ACK (the sequence number our ISN)
		 * that says the peer cannot be reached; others leave it be. */
		if (ends_request && seq == c->iss)
			tcp_done(c);
		return;
	}
	/* RFC 5927 §4.1: only for a sequence number in flight. */
	if (!seq_in(seq, c->snd_una, c->snd_max + 1))
		return;
	if (err == -EMSGSIZE) {
		/* RFC 1191 §6.2, like Linux's tcp_v4_mtu_reduced(): a path MTU
		 * below the one in use lowers the MSS
		 * and what is in flight is sent again at once in segments that
		 * fit. Never an error for the application, in any state. */
		uint16_t old = c->mss;

		/* The path is the destination's, for the connections after
		 * this one too (Linux's route exception); the connection takes
		 * the MTU the route then has: at least net.ipv4.route.min_pmtu,
		 * locked, and so without DF, for a report below it. */
		ip4_pmtu_learn(s, c->pcb.remote.addr, mtu, s->now);
		mtu = ip4_pmtu(s, c->pcb.remote.addr, s->now);
		c->pmtu_locked = ip4_pmtu_locked(s, c->pcb.remote.addr, s->now);
		if (mtu >= c->pmtu)
			return;
		c->pmtu = (uint16_t)mtu;
		if (c->state == TCP_STATE_SYN_SENT && c->fo_data) {
			/* A SYN with data too big for the path (Linux's
			 * tcp_simple_retransmit, since 5.19, marks a fast open
			 * SYN and its data lost): the SYN goes again at once,
			 * plain like one the timer resends, offering the MSS
			 * the route now gives (tcp_advertise_mss); the data
			 * follows the handshake. The timer restarts. */
			if (c->advmss > mtu - 40)
				c->advmss = (uint16_t)(mtu - 40);
			c->ecn_syn = false;
			c->s->stats.tcp_retransmits++;
			c->total_retrans++;
			c->rto_at = STACK_NEVER;
			tcp_send_syn(c, s->now);
			return;
		}
		if (!c->mss_clamp)
			return;         /* before the peer's SYN: its options will use the new MTU */
		tcp_sync_mss(c);
		if (c->mss < old) {
			tcp_cc_set_mss(&c->cc, c->mss);
			tcp_recovery_mss_fell(c, old);
			tcp_output(c, s->now);
		}
		return;
	}
	/* Like Linux's tcp_v4_err(): an error while connecting ends the attempt;
	 * on a synchronized connection it is soft (RFC 1122 §4.2.3.9), kept to
	 * explain a later timeout. */
	if (c->state == TCP_STATE_SYN_SENT && err) {
		tcp_abort(c, err);
		return;
	}
	/* The same for a fast open child not accepted yet (Linux: while the
	 * request still holds it, tcp_done_with_error): it stays in the
	 * accept queue, closed. Once accepted it counts as synchronized. */
	if (c->state == TCP_STATE_SYN_RECEIVED && c->tfo && c->parent && err) {
		tcp_abort(c, err);
		return;
	}
	if (err)
		c->soft_err = err;
}
