/*
 * TCP: the connection table (O(1) demultiplexing by 4-tuple, listeners by
 * port), the socket-facing calls of stack/core/tcp/tcp.h, and the timers.
 * Input processing lives in tcp_in.c, output in tcp_out.c.
 *
 * RFCs to read first: 9293 (core), 1122 §4.2, 6298 (RTO), 6056 (ephemeral
 * ports), 6528 (ISN), 7323, 2018/6675, 5681/6582, 5961, 4987.
 */
#include "stack/core/tcp/tcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/ip4.h"
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

int tcp_init(struct stack *s)
{
	s->tcp = calloc(1, sizeof(*s->tcp));
	if (!s->tcp)
		return -ENOMEM;
	s->tcp->port_hint = stack_random(s);
	s->tcp->timers_at = STACK_NEVER;
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
		if (c->state == TCP_STATE_LISTEN)
			c->state = TCP_STATE_CLOSED;
	}
	while (t->all)
		tcp_conn_free(t->all);
	while (t->tw_head)
		tcp_conn_free(t->tw_head);
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

/* ---- hashing ---- */

static uint32_t mix(const struct stack *s, uint32_t a, uint32_t b)
{
	uint32_t k;
	uint64_t h;

	memcpy(&k, s->cfg.secret, sizeof(k));
	h = ((uint64_t)a << 32 | b) ^ k;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32);
}

static unsigned hash4(const struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	return mix(s, laddr ^ raddr, ((uint32_t)lport << 16) | rport) % TCP_HASH_SIZE;
}

static unsigned hashp(uint16_t port)
{
	return port % TCP_PORT_HASH;
}

void tcp_hash_insert(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	unsigned h = hash4(c->s, c->local.addr, c->local.port, c->remote.addr, c->remote.port);

	if (c->in_hash)
		return;
	c->hnext = t->hash[h];
	t->hash[h] = c;
	c->in_hash = true;
}

void tcp_hash_remove(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	struct tcp_conn **pp;

	if (!c->in_hash)
		return;
	pp = &t->hash[hash4(c->s, c->local.addr, c->local.port, c->remote.addr, c->remote.port)];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->in_hash = false;
}

void tcp_bind_insert(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	unsigned h = hashp(c->local.port);

	if (c->in_bind)
		return;
	c->bnext = t->bhash[h];
	if (c->bnext)
		c->bnext->bpprev = &c->bnext;
	c->bpprev = &t->bhash[h];
	t->bhash[h] = c;
	c->in_bind = true;
}

/* O(1): a busy server's port chain holds every accepted and TIME_WAIT
 * connection on the listening port (bind() conflicts need them, like
 * Linux's bind bucket owners), so a walk here made each free O(n). */
static void bind_remove(struct tcp_conn *c)
{
	if (!c->in_bind)
		return;
	*c->bpprev = c->bnext;
	if (c->bnext)
		c->bnext->bpprev = c->bpprev;
	c->bnext = NULL;
	c->bpprev = NULL;
	c->in_bind = false;
}

static void lhash_insert(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	unsigned h = hashp(c->local.port);

	if (c->in_lhash)
		return;
	c->lnext = t->lhash[h];
	t->lhash[h] = c;
	c->in_lhash = true;
}

static void lhash_remove(struct tcp_conn *c)
{
	struct tcp_conn **pp;

	if (!c->in_lhash)
		return;
	pp = &c->s->tcp->lhash[hashp(c->local.port)];
	while (*pp && *pp != c)
		pp = &(*pp)->lnext;
	if (*pp)
		*pp = c->lnext;
	c->in_lhash = false;
}

struct tcp_conn *tcp_lookup(struct stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct tcp_conn *c = s->tcp->hash[hash4(s, laddr, lport, raddr, rport)];

	for (; c; c = c->hnext)
		if (c->local.port == lport && c->remote.port == rport && c->remote.addr == raddr &&
		    c->local.addr == laddr)
			return c;
	return NULL;
}

struct tcp_conn *tcp_lookup_listener(struct stack *s, uint32_t laddr, uint16_t lport)
{
	struct tcp_conn *c, *any = NULL;

	for (c = s->tcp->lhash[hashp(lport)]; c; c = c->lnext) {
		if (c->local.port != lport)
			continue;
		if (c->local.addr == laddr)
			return c;
		if (c->local.addr == 0 && !any)
			any = c;
	}
	return any;
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

void tcp_ackq_add(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->in_ackq)
		return;
	c->in_ackq = true;
	c->ackq_next = t->ackq;
	t->ackq = c;
	/* A backstop, should no timer pass follow the batch. */
	if (c->delack_at == STACK_NEVER)
		tcp_timer_set(c, &c->delack_at, c->s->now + TCP_DELACK_US);
}

static void ackq_remove(struct tcp_conn *c)
{
	struct tcp_conn **pp = &c->s->tcp->ackq;

	if (!c->in_ackq)
		return;
	while (*pp && *pp != c)
		pp = &(*pp)->ackq_next;
	if (*pp)
		*pp = c->ackq_next;
	c->in_ackq = false;
}

/* The ACKs the last batch of frames owes, one per connection, without a
 * walk over every connection. */
static void ackq_flush(struct tcp_table *t, uint64_t now)
{
	struct tcp_conn *c;

	while ((c = t->ackq)) {
		t->ackq = c->ackq_next;
		c->in_ackq = false;
		if (c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_LISTEN && c->rcv_nxt != c->rcv_wup)
			tcp_send_ack(c, now);
	}
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
	struct tcp_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s = s;
	c->state = TCP_STATE_CLOSED;
	c->rto = TCP_RTO_INIT_US;
	c->rto_at = c->persist_at = c->delack_at = c->keep_at = c->tw_at = STACK_NEVER;
	c->mss = TCP_DEFAULT_MSS;
	c->advmss = (uint16_t)(s->mtu > 40 + TCP_MIN_MSS ? s->mtu - 40 : TCP_MIN_MSS);
	c->rcv_mss = TCP_DEFAULT_MSS;
	c->linger = -1;
	c->keepidle = TCP_KEEPIDLE_S;
	c->keepintvl = TCP_KEEPINTVL_S;
	c->keepcnt = TCP_KEEPCNT;
	tcp_ring_init(&c->sndq, TCP_DEFAULT_SNDBUF, &t->mem);
	tcp_ring_init(&c->rcvq, TCP_DEFAULT_RCVBUF, &t->mem);
	tcp_cc_init(&c->cc, TCP_CC_CUBIC, c->mss);
	link_all(c);
	t->live++;
	return c;
}

struct tcp_conn *tcp_open(struct stack *s)
{
	return tcp_conn_new(s);
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

static void acceptq_remove(struct tcp_conn *l, struct tcp_conn *c)
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
		acceptq_remove(l, c);
	else if (l->syn_count)
		l->syn_count--;
	c->parent = NULL;
}

static void close_children(struct tcp_conn *l, uint64_t now);

void tcp_txq_add(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->in_txq)
		return;
	c->in_txq = true;
	c->txq_next = NULL;
	if (t->txq_tail)
		t->txq_tail->txq_next = c;
	else
		t->txq_head = c;
	t->txq_tail = c;
	t->timers_at = 0;
}

static void txq_remove(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;
	struct tcp_conn **pp = &t->txq_head, *prev = NULL;

	if (!c->in_txq)
		return;
	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->txq_next;
	}
	if (*pp)
		*pp = c->txq_next;
	if (t->txq_tail == c)
		t->txq_tail = prev;
	c->in_txq = false;
}

void tcp_conn_free(struct tcp_conn *c)
{
	struct tcp_table *t = c->s->tcp;

	if (c->segs_out > 2)
		log_debug("tcp %u -> %u done: segs out %u in %u, retransmits %u, timeouts %u (spurious %u), "
			  "tail probes %u, fast recoveries %u, window probes %u, srtt %u us, cwnd %u",
			  c->local.port, c->remote.port, c->segs_out, c->segs_in, c->total_retrans, c->rto_count,
			  c->spurious_rtos, c->tlp_probes, c->fast_recoveries, c->persist_probes, c->srtt, c->cc.cwnd);
	txq_remove(c);
	ackq_remove(c);
	if (c->state == TCP_STATE_LISTEN || c->acc_head || c->syn_count)
		close_children(c, c->s->now);
	unparent(c);
	tcp_hash_remove(c);
	bind_remove(c);
	lhash_remove(c);
	conn_unlink(c);
	tcp_ring_free(&c->sndq);
	tcp_ring_free(&c->rcvq);
	tcp_ofo_purge(c);
	t->live--;
	free(c);
}

/* The one place state changes, for tracing. */
void tcp_set_state(struct tcp_conn *c, enum tcp_state st)
{
	if (c->state == st)
		return;
	log_debug("tcp %u -> %u: %s -> %s", c->local.port, c->remote.port, tcp_state_name(c->state),
		  tcp_state_name(st));
	c->state = st;
	if ((st == TCP_STATE_TIME_WAIT) != c->in_tw) {
		conn_unlink(c);
		if (st == TCP_STATE_TIME_WAIT)
			link_tw(c);
		else
			link_all(c);
	}
}

void tcp_wake(struct tcp_conn *c)
{
	sock_wake(&c->wake);
	if (c->parent && c->in_acceptq)
		sock_wake(&c->parent->wake);
}

bool tcp_done(struct tcp_conn *c)
{
	tcp_set_state(c, TCP_STATE_CLOSED);
	c->rto_at = c->persist_at = c->delack_at = c->keep_at = c->tw_at = STACK_NEVER;
	tcp_hash_remove(c);
	lhash_remove(c);
	c->rd_shut = c->wr_shut = true;
	tcp_ofo_purge(c);
	tcp_ring_free(&c->sndq);
	if (!c->rcvq.len)
		tcp_ring_free(&c->rcvq);
	if (c->orphan || (c->parent && !c->in_acceptq)) {
		tcp_conn_free(c);
		return true;
	}
	/* The application still holds it: keep the port bound until it closes. */
	tcp_wake(c);
	return false;
}

bool tcp_abort(struct tcp_conn *c, int err)
{
	if (err)
		c->err = err;
	return tcp_done(c);
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
	sock_wake(&l->wake);
}

static void close_children(struct tcp_conn *l, uint64_t now)
{
	struct tcp_table *t = l->s->tcp;
	struct tcp_conn *c, *next;

	/* Connections waiting in the accept queue are reset (like Linux's
	 * inet_csk_listen_stop); embryonic ones just go. */
	while ((c = l->acc_head)) {
		acceptq_remove(l, c);
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
		if (c->parent == l) {
			c->parent = NULL;
			c->orphan = true;
			tcp_done(c);
			next = t->all;  /* the list changed: start over (rare, bounded by the SYN queue) */
		}
	}
	l->syn_count = 0;
}

uint8_t tcp_pick_wscale(const struct tcp_conn *c)
{
	uint8_t ws = TCP_RCV_WSCALE;

	/* Like Linux: at least 7, more when the buffer could use a larger window. */
	while (ws < TCP_MAX_WSCALE && (65535ull << ws) < c->rcvq.limit)
		ws++;
	return ws;
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

	return space > UINT32_MAX ? UINT32_MAX : (uint32_t)space;
}

/* ---- ports ---- */

static bool port_conflict(struct stack *s, const struct tcp_conn *c, uint32_t addr, uint16_t port)
{
	struct tcp_conn *x;

	for (x = s->tcp->bhash[hashp(port)]; x; x = x->bnext) {
		if (x == c || x->local.port != port)
			continue;
		if (x->local.addr && addr && x->local.addr != addr)
			continue;
		if (c->reuseport && x->reuseport)
			continue;
		if (c->reuseaddr && x->reuseaddr && x->state != TCP_STATE_LISTEN)
			continue;
		return true;
	}
	return false;
}

/* For connect(): a port is usable when the 4-tuple is new and no listener
 * or bind()-only socket holds it. */
static bool port_usable_for(struct stack *s, uint16_t port, uint32_t laddr, const struct ip4_endpoint *peer)
{
	struct tcp_conn *x;

	for (x = s->tcp->bhash[hashp(port)]; x; x = x->bnext) {
		if (x->local.port != port)
			continue;
		if (x->state == TCP_STATE_LISTEN || x->state == TCP_STATE_CLOSED)
			return false;
		if (x->remote.addr == peer->addr && x->remote.port == peer->port &&
		    (x->local.addr == laddr || !x->local.addr))
			return false;
	}
	return true;
}

int tcp_bind(struct tcp_conn *c, const struct ip4_endpoint *local, unsigned flags)
{
	struct stack *s = c->s;
	uint16_t port = local->port;

	if (c->in_bind || c->state != TCP_STATE_CLOSED)
		return -EINVAL;
	if (local->addr && local->addr != s->cfg.addr)
		return -EADDRNOTAVAIL;
	c->reuseaddr = flags & TCP_BIND_REUSEADDR;
	c->reuseport = flags & TCP_BIND_REUSEPORT;
	if (!port) {
		uint32_t n = TCP_EPHEMERAL_HI - TCP_EPHEMERAL_LO + 1, start = stack_random(s);

		for (uint32_t i = 0; i < n; i++) {
			uint16_t p = (uint16_t)(TCP_EPHEMERAL_LO + (start + i) % n);

			if (!port_conflict(s, c, local->addr, p)) {
				port = p;
				break;
			}
		}
		if (!port)
			return -EADDRINUSE;
	} else if (port_conflict(s, c, local->addr, port)) {
		return -EADDRINUSE;
	}
	c->local.addr = local->addr;
	c->local.port = port;
	tcp_bind_insert(c);
	return 0;
}

int tcp_listen(struct tcp_conn *c, int backlog)
{
	if (c->state == TCP_STATE_LISTEN) {
		c->backlog = backlog < 0 || backlog > 4096 ? 4096 : backlog;
		return 0;
	}
	if (c->state != TCP_STATE_CLOSED || c->was_connected)
		return -EINVAL;
	if (!c->in_bind) {
		struct ip4_endpoint any = { 0, 0 };
		int r = tcp_bind(c, &any, 0);

		if (r)
			return r;
	}
	/* Two listeners on one port only with SO_REUSEPORT on both. */
	for (struct tcp_conn *x = c->s->tcp->lhash[hashp(c->local.port)]; x; x = x->lnext)
		if (x->local.port == c->local.port && (!x->local.addr || !c->local.addr || x->local.addr == c->local.addr) &&
		    !(x->reuseport && c->reuseport))
			return -EADDRINUSE;
	/* Like Linux: a backlog above somaxconn (or negative) is clamped. */
	c->backlog = backlog < 0 || backlog > 4096 ? 4096 : backlog;
	tcp_set_state(c, TCP_STATE_LISTEN);
	lhash_insert(c);
	return 0;
}

int tcp_connect(struct tcp_conn *c, const struct ip4_endpoint *peer, uint64_t now)
{
	struct stack *s = c->s;
	uint32_t laddr;

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
	if (!peer->addr || peer->addr == 0xffffffffu)
		return -ENETUNREACH;
	laddr = c->local.addr ? c->local.addr : s->cfg.addr;
	if (!c->in_bind) {
		/* RFC 6056 §3.3.3 (Algorithm 3): a keyed offset per destination plus a counter. */
		uint32_t n = TCP_EPHEMERAL_HI - TCP_EPHEMERAL_LO + 1;
		uint32_t off = tcp_port_offset(s->cfg.secret, laddr, peer->addr, peer->port);
		uint16_t port = 0;

		for (uint32_t i = 0; i < n; i++) {
			uint16_t p = (uint16_t)(TCP_EPHEMERAL_LO + (off + s->tcp->port_hint + i) % n);

			if (port_usable_for(s, p, laddr, peer)) {
				port = p;
				s->tcp->port_hint += i + 1;
				break;
			}
		}
		if (!port)
			return -EADDRNOTAVAIL;
		c->local.port = port;
		c->local.addr = laddr;
		tcp_bind_insert(c);
	} else {
		c->local.addr = laddr;
		if (tcp_lookup(s, laddr, c->local.port, peer->addr, peer->port))
			return -EADDRNOTAVAIL;
	}
	c->remote = *peer;
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
	tcp_ring_consume(&c->sndq, c->sndq.len);
	tcp_ring_consume(&c->rcvq, c->rcvq.len);
	c->iss = tcp_isn(s->cfg.secret, laddr, c->local.port, peer->addr, peer->port, now);
	c->snd_una = c->iss;
	c->snd_nxt = c->iss;
	c->snd_max = c->iss;
	c->snd_base = c->iss + 1;
	c->recover = c->iss;
	c->high_rxt = c->iss;
	c->ts_offset = tcp_ts_offset(s, laddr, peer->addr);
	if (c->maxseg && c->advmss > c->maxseg)
		c->advmss = (uint16_t)c->maxseg;
	c->rcv_wscale = tcp_pick_wscale(c);
	c->rd_shut = c->wr_shut = false;
	c->rtt_start = now;
	tcp_set_state(c, TCP_STATE_SYN_SENT);
	tcp_hash_insert(c);
	tcp_send_syn(c, now);
	return -EINPROGRESS;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l, int *err)
{
	struct tcp_conn *c;

	if (l->state != TCP_STATE_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	c = l->acc_head;
	if (!c) {
		*err = -EAGAIN;
		return NULL;
	}
	acceptq_remove(l, c);
	c->parent = NULL;
	*err = 0;
	return c;
}

long tcp_send(struct tcp_conn *c, const void *buf, size_t len, uint64_t now)
{
	size_t n;

	if (c->err) {
		int e = c->err;

		c->err = 0;
		return e;
	}
	if (c->wr_shut)
		return -EPIPE;
	switch (c->state) {
	case TCP_STATE_ESTABLISHED:
	case TCP_STATE_CLOSE_WAIT:
		break;
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
		return -EAGAIN;
	case TCP_STATE_CLOSED:
		return c->was_connected ? -EPIPE : -ENOTCONN;
	case TCP_STATE_LISTEN:
		return -ENOTCONN;
	default:
		return -EPIPE;
	}
	if (!len)
		return 0;
	n = tcp_ring_write(&c->sndq, buf, len);
	if (!n)
		return -EAGAIN;
	tcp_output_burst(c, now, TCP_APP_BURST);
	return (long)n;
}

/*
 * Receive buffer autotuning, like Linux's dynamic right-sizing
 * (tcp_rcv_space_adjust): a connection starts with 64 KiB (what Linux
 * offers at first); once per round trip (at least 1 ms), when the
 * application read more than half the buffer in it, the buffer doubles, up
 * to 6 MiB (tcp_rmem[2]), so that a fast reader's peer is not held back by
 * the window, and sends fewer window updates. Not when the application set
 * SO_RCVBUF itself (SOCK_RCVBUF_LOCK). The window scale (7, like Linux's)
 * covers 8 MiB. The ring grows only as data comes, and the window only as
 * far as the stack's budget allows.
 */
static void rcv_space_adjust(struct tcp_conn *c, size_t n, uint64_t now)
{
	uint64_t interval = c->srtt > TCP_RCV_SPACE_MIN_US ? c->srtt : TCP_RCV_SPACE_MIN_US;

	c->rcv_copied += (uint32_t)n;
	if (now - c->rcv_space_at < interval)
		return;
	if (!c->rcvbuf_opt && c->rcv_copied > c->rcvq.limit / 2 && c->rcvq.limit < TCP_RCVBUF_AUTO_MAX) {
		size_t grown = c->rcvq.limit * 2 > TCP_RCVBUF_AUTO_MAX ? TCP_RCVBUF_AUTO_MAX : c->rcvq.limit * 2;

		if ((65535ull << c->rcv_wscale) >= grown)
			c->rcvq.limit = grown;
	}
	c->rcv_copied = 0;
	c->rcv_space_at = now;
}

/* After the application reads: tell the peer when the window opened enough
 * (RFC 1122 §4.2.3.3; like Linux, when it at least doubles). */
static void maybe_window_update(struct tcp_conn *c, uint64_t now)
{
	uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t space = tcp_rcv_space(c);
	uint32_t thresh = (uint32_t)(c->rcvq.limit / 2) < c->advmss ? (uint32_t)(c->rcvq.limit / 2) : c->advmss;

	if (c->state != TCP_STATE_ESTABLISHED && c->state != TCP_STATE_FIN_WAIT_1 &&
	    c->state != TCP_STATE_FIN_WAIT_2)
		return;
	if (space > (65535u << c->rcv_wscale))
		space = 65535u << c->rcv_wscale;    /* what the window field can say */
	if (space >= cur + thresh && space >= 2 * cur)
		tcp_send_ack(c, now);
}

long tcp_recv(struct tcp_conn *c, void *buf, size_t len, unsigned flags, uint64_t now)
{
	if (c->state == TCP_STATE_LISTEN)
		return -ENOTCONN;
	if (c->rcvq.len && len) {
		size_t n = len < c->rcvq.len ? len : c->rcvq.len;

		tcp_ring_peek(&c->rcvq, 0, buf, n);
		if (!(flags & SOCK_PEEK)) {
			tcp_ring_consume(&c->rcvq, n);
			/* Out-of-order data the full ring could not take when its
			 * hole filled: it is in order now, and the peer counts it as
			 * delivered (SACKed), so nothing else would move it. */
			if (c->ofo && seq_leq(c->ofo->seq, c->rcv_nxt))
				tcp_ofo_deliver(c, now);
			tcp_ring_reclaim(&c->rcvq);
			rcv_space_adjust(c, n, now);
			tcp_rcv_reserve(c);
			maybe_window_update(c, now);
		}
		return (long)n;
	}
	if (c->err) {
		int e = c->err;

		c->err = 0;
		return e;
	}
	if (c->fin_rcvd || c->rd_shut)
		return 0;
	if (c->state == TCP_STATE_CLOSED)
		return c->was_connected ? 0 : -ENOTCONN;
	if (!len)
		return 0;
	return -EAGAIN;
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
	if (how < 0 || how > 2)
		return -EINVAL;
	switch (c->state) {
	case TCP_STATE_CLOSED:
		return -ENOTCONN;
	case TCP_STATE_LISTEN:
		if (how == 1)
			return 0;
		close_children(c, now);
		lhash_remove(c);
		tcp_set_state(c, TCP_STATE_CLOSED);
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

void tcp_close(struct tcp_conn *c, uint64_t now)
{
	c->orphan = true;
	c->wake.fn = NULL;
	c->wake.ctx = NULL;
	switch (c->state) {
	case TCP_STATE_CLOSED:
	case TCP_STATE_LISTEN:
	case TCP_STATE_SYN_SENT:
		tcp_done(c);
		return;
	case TCP_STATE_TIME_WAIT:
		if (c->linger == 0)
			tcp_done(c);
		return;
	default:
		break;
	}
	if (c->rcvq.len || c->linger == 0) {
		/* RFC 2525 §2.17 and Linux: unread data or SO_LINGER 0 aborts with a reset. */
		tcp_send_rst(c, now);
		tcp_done(c);
		return;
	}
	c->rd_shut = true;
	if (!c->wr_shut) {
		c->wr_shut = true;
		queue_fin(c, now);
	}
	if (c->state == TCP_STATE_FIN_WAIT_2)
		tcp_timer_set(c, &c->tw_at, now + TCP_FIN_TIMEOUT_US);
}

unsigned tcp_poll(const struct tcp_conn *c)
{
	unsigned m = 0;

	if (c->state == TCP_STATE_LISTEN)
		return c->acc_head ? SOCK_POLLIN : 0;
	/* Like Linux's tcp_poll(): rd_shut/wr_shut stand for its sk_shutdown
	 * bits (a reset or the end of the connection sets both). */
	if ((c->rd_shut && c->wr_shut) || c->state == TCP_STATE_CLOSED)
		m |= SOCK_POLLHUP;
	if (c->rd_shut || c->fin_rcvd)
		m |= SOCK_POLLIN | SOCK_POLLRDHUP;
	if (c->state != TCP_STATE_SYN_SENT && c->state != TCP_STATE_SYN_RECEIVED) {
		size_t space = tcp_ring_space(&c->sndq);

		if (c->rcvq.len)
			m |= SOCK_POLLIN;
		/* sk_stream_is_writeable(): free space at least half the queued bytes. */
		if (c->wr_shut || (space > 0 && space >= c->sndq.len / 2))
			m |= SOCK_POLLOUT;
	}
	if (c->err)
		m |= SOCK_POLLERR;
	return m;
}

int tcp_take_error(struct tcp_conn *c)
{
	int e = c->err;

	c->err = 0;
	return e;
}

enum tcp_state tcp_get_state(const struct tcp_conn *c)
{
	return c->state;
}

void tcp_local(const struct tcp_conn *c, struct ip4_endpoint *ep)
{
	*ep = c->local;
}

int tcp_peer(const struct tcp_conn *c, struct ip4_endpoint *ep)
{
	if (c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_LISTEN || c->state == TCP_STATE_SYN_SENT)
		return -ENOTCONN;
	*ep = c->remote;
	return 0;
}

void tcp_set_wakeup(struct tcp_conn *c, const struct sock_wakeup *w)
{
	c->wake = *w;
}

size_t tcp_inq(const struct tcp_conn *c)
{
	return c->rcvq.len;
}

size_t tcp_outq(const struct tcp_conn *c)
{
	return c->sndq.len;
}

int tcp_setopt(struct tcp_conn *c, enum tcp_option opt, int v)
{
	switch (opt) {
	case TCP_OPT_NODELAY:
		c->nodelay = v != 0;
		if (c->nodelay)
			tcp_output(c, c->s->now);
		return 0;
	case TCP_OPT_KEEPALIVE:
		c->keepalive = v != 0;
		if (c->keepalive && c->keep_at == STACK_NEVER &&
		    (c->state == TCP_STATE_ESTABLISHED || c->state == TCP_STATE_CLOSE_WAIT))
			tcp_timer_set(c, &c->keep_at, c->s->now + (uint64_t)c->keepidle * 1000000);
		if (!c->keepalive)
			c->keep_at = STACK_NEVER;
		return 0;
	case TCP_OPT_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		c->keepidle = v;
		if (c->keepalive && c->keep_at != STACK_NEVER)
			tcp_timer_set(c, &c->keep_at, c->s->now + (uint64_t)v * 1000000);
		return 0;
	case TCP_OPT_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		c->keepintvl = v;
		return 0;
	case TCP_OPT_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		c->keepcnt = v;
		return 0;
	case TCP_OPT_SNDBUF:
		if (v < 0)
			v = 0;
		c->sndbuf_opt = v;
		c->sndq.limit = (size_t)v * 2 < TCP_MIN_SNDBUF ? TCP_MIN_SNDBUF :
				(size_t)v * 2 > TCP_MAX_BUF ? TCP_MAX_BUF : (size_t)v * 2;
		return 0;
	case TCP_OPT_RCVBUF:
		if (v < 0)
			v = 0;
		c->rcvbuf_opt = v;
		c->rcvq.limit = (size_t)v * 2 < TCP_MIN_RCVBUF ? TCP_MIN_RCVBUF :
				(size_t)v * 2 > TCP_MAX_BUF ? TCP_MAX_BUF : (size_t)v * 2;
		return 0;
	case TCP_OPT_LINGER:
		c->linger = v < 0 ? -1 : v;
		return 0;
	case TCP_OPT_TOS:
		if (v < 0 || v > 255)
			return -EINVAL;
		c->tos = (uint8_t)v;
		return 0;
	case TCP_OPT_MAXSEG:
		if (v && (v < TCP_MIN_MSS || v > 65535))
			return -EINVAL;
		c->maxseg = v;
		return 0;
	case TCP_OPT_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		c->user_timeout_ms = (uint32_t)v;
		return 0;
	case TCP_OPT_CONGESTION:
		if (v != TCP_CC_CUBIC && v != TCP_CC_NEWRENO)
			return -EINVAL;
		c->cc.algo = (enum tcp_cc_algo)v;
		return 0;
	}
	return -ENOPROTOOPT;
}

int tcp_getopt(const struct tcp_conn *c, enum tcp_option opt, int *v)
{
	switch (opt) {
	case TCP_OPT_NODELAY: *v = c->nodelay; return 0;
	case TCP_OPT_KEEPALIVE: *v = c->keepalive; return 0;
	case TCP_OPT_KEEPIDLE: *v = c->keepidle; return 0;
	case TCP_OPT_KEEPINTVL: *v = c->keepintvl; return 0;
	case TCP_OPT_KEEPCNT: *v = c->keepcnt; return 0;
	case TCP_OPT_SNDBUF: *v = (int)c->sndq.limit; return 0;
	case TCP_OPT_RCVBUF: *v = (int)c->rcvq.limit; return 0;
	case TCP_OPT_LINGER: *v = c->linger; return 0;
	case TCP_OPT_TOS: *v = c->tos; return 0;
	case TCP_OPT_MAXSEG:
		*v = c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_LISTEN ?
		     (c->maxseg ? c->maxseg : TCP_DEFAULT_MSS) : c->mss;
		return 0;
	case TCP_OPT_USER_TIMEOUT: *v = (int)c->user_timeout_ms; return 0;
	case TCP_OPT_CONGESTION: *v = c->cc.algo; return 0;
	}
	return -ENOPROTOOPT;
}

static uint32_t ms_since(uint64_t now, uint64_t t)
{
	return t && now > t ? (uint32_t)((now - t) / 1000) : 0;
}

void tcp_get_info(const struct tcp_conn *c, struct tcp_conn_info *i, uint64_t now)
{
	memset(i, 0, sizeof(*i));
	i->state = (uint8_t)c->state;
	i->ca_state = c->ca_state;
	i->retransmits = c->retries;
	i->backoff = c->backoff;
	i->options = (uint8_t)((c->ts_ok ? 1 : 0) | (c->sack_ok ? 2 : 0) | (c->ws_ok ? 4 : 0));
	i->snd_wscale = c->snd_wscale;
	i->rcv_wscale = c->rcv_wscale;
	i->rto_us = c->rto;
	i->ato_us = TCP_DELACK_US;
	i->snd_mss = c->mss;
	i->rcv_mss = c->rcv_mss;
	i->unacked = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;
	i->sacked = c->sacked_bytes / c->mss;
	i->last_data_sent_ms = ms_since(now, c->last_snd_at);
	i->last_ack_recv_ms = ms_since(now, c->last_ack_at);
	i->last_data_recv_ms = ms_since(now, c->last_rcv_at);
	i->pmtu = c->s->mtu;
	i->rcv_ssthresh = (uint32_t)c->rcvq.limit;
	i->rtt_us = c->srtt;
	i->rttvar_us = c->rttvar;
	i->snd_ssthresh = c->cc.ssthresh;
	i->snd_cwnd = c->cc.cwnd / c->mss;
	i->advmss = c->advmss;
	i->reordering = TCP_DUPTHRESH;
	i->rcv_space = (uint32_t)c->rcvq.limit;
	i->total_retrans = c->total_retrans;
	i->bytes_acked = c->bytes_acked;
	i->bytes_received = c->bytes_received;
	i->segs_out = c->segs_out;
	i->segs_in = c->segs_in;
	i->snd_wnd = c->snd_wnd;
	i->min_rtt_us = c->min_rtt;
	if (c->srtt)
		i->delivery_rate = (uint64_t)c->cc.cwnd * 1000000 / c->srtt;
}

/* ---- timers ---- */

static uint64_t conn_deadline(const struct tcp_conn *c)
{
	uint64_t t = c->rto_at;

	if (c->persist_at < t)
		t = c->persist_at;
	if (c->delack_at < t)
		t = c->delack_at;
	if (c->keep_at < t)
		t = c->keep_at;
	if (c->tw_at < t)
		t = c->tw_at;
	return t;
}

static bool timed_out(const struct tcp_conn *c, uint64_t now)
{
	if (c->user_timeout_ms && c->first_rexmit_at &&
	    now - c->first_rexmit_at >= (uint64_t)c->user_timeout_ms * 1000)
		return true;
	return c->retries >= TCP_RETRIES2;
}

/* Each timer handler returns true when the connection was freed. */
static bool rto_expired(struct tcp_conn *c, uint64_t now)
{
	c->rto_at = STACK_NEVER;
	switch (c->state) {
	case TCP_STATE_SYN_SENT:
	case TCP_STATE_SYN_RECEIVED:
		if (c->retries >= (c->state == TCP_STATE_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES) ||
		    (c->user_timeout_ms && now - c->rtt_start >= (uint64_t)c->user_timeout_ms * 1000)) {
			return tcp_abort(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
		}
		c->retries++;
		c->backoff++;
		c->s->stats.tcp_retransmits++;
		c->total_retrans++;
		tcp_send_syn(c, now);
		tcp_arm_rto(c, now);
		return false;
	case TCP_STATE_CLOSED:
	case TCP_STATE_LISTEN:
	case TCP_STATE_TIME_WAIT:
		return false;
	default:
		break;
	}
	if (c->snd_una == c->snd_max)
		return false;
	if (c->pto_armed) {
		c->pto_armed = false;
		tcp_send_tlp(c, now);
		return false;
	}
	/* Linux's retrans_stamp: the time the oldest unacknowledged data went out. */
	if (!c->first_rexmit_at)
		c->first_rexmit_at = c->flight_start ? c->flight_start : now;
	c->rto_count++;
	if (timed_out(c, now)) {
		/* Like Linux's tcp_write_err(): a recent ICMP error explains the failure better. */
		return tcp_abort(c, c->soft_err ? c->soft_err : -ETIMEDOUT);
	}
	/* RFC 5681 (4): ssthresh from the flight size on the first timeout only;
	 * RFC 6298 (5.5)-(5.6): back off and retransmit the earliest segment. */
	if (c->retries == 0) {
		/* Remember what to restore if this timeout proves spurious (RFC 3522). */
		c->undo_pending = c->ts_ok;
		c->undo_tsval = tcp_ts_now(c, now);
		c->undo_cwnd = c->cc.cwnd;
		c->undo_ssthresh = c->cc.ssthresh;
		tcp_cc_on_rto(&c->cc, c->snd_max - c->snd_una, now);
	} else {
		c->undo_pending = false;
		c->cc.cwnd = c->mss;
	}
	c->retries++;
	if (c->backoff < 15)
		c->backoff++;
	c->in_recovery = false;
	c->ca_state = 4;                    /* TCP_CA_Loss */
	c->dupacks = 0;
	c->recover = c->snd_max;
	/* Deviation: RFC 2018 §8 has the sender forget SACK information at a
	 * timeout. Like Linux, it survives the first one (what the receiver
	 * holds is not sent again); a second timeout in a row discards it, in
	 * case the receiver reneged. */
	if (c->retries > 1) {
		c->nsacked = 0;
		c->sacked_bytes = 0;
	}
	c->high_rxt = c->snd_una;
	c->rtt_timing = false;
	c->snd_nxt = c->snd_una;
	tcp_output(c, now);
	if (c->rto_at == STACK_NEVER)
		tcp_arm_rto(c, now);
	return false;
}

static bool persist_expired(struct tcp_conn *c, uint64_t now)
{
	uint64_t t;

	c->persist_at = STACK_NEVER;
	if (c->state == TCP_STATE_CLOSED || c->state == TCP_STATE_TIME_WAIT)
		return false;
	if (c->snd_wnd == 0 && c->probes >= TCP_RETRIES2)
		return tcp_abort(c, -ETIMEDOUT);
	if (c->snd_wnd == 0) {
		/* RFC 9293 §3.8.6.1: a zero-window probe (like Linux, no data, SEQ = SND.UNA - 1). */
		tcp_send_probe(c, now);
		c->probes++;
		c->persist_probes++;
		if (c->backoff < 15)
			c->backoff++;
		t = (uint64_t)c->rto << c->backoff;
		tcp_timer_set(c, &c->persist_at, now + (t > TCP_RTO_MAX_US ? TCP_RTO_MAX_US : t));
		return false;
	}
	/* RFC 1122 §4.2.3.4: the override timeout sends what the window allows. */
	c->sws_override = true;
	tcp_output(c, now);
	c->sws_override = false;
	return false;
}

static bool keepalive_expired(struct tcp_conn *c, uint64_t now)
{
	uint64_t idle_until = c->last_rcv_at + (uint64_t)c->keepidle * 1000000;

	c->keep_at = STACK_NEVER;
	if (!c->keepalive || (c->state != TCP_STATE_ESTABLISHED && c->state != TCP_STATE_CLOSE_WAIT &&
			      c->state != TCP_STATE_FIN_WAIT_2))
		return false;
	if (c->snd_una != c->snd_max || c->sndq.len) {
		/* Data in flight: the retransmission timer is watching. */
		tcp_timer_set(c, &c->keep_at, now + (uint64_t)c->keepidle * 1000000);
		return false;
	}
	if (now < idle_until && c->probes == 0) {
		tcp_timer_set(c, &c->keep_at, idle_until);
		return false;
	}
	if (c->probes >= c->keepcnt) {
		/* Like Linux's keepalive timer: a reset, then the error. */
		tcp_send_rst(c, now);
		return tcp_abort(c, -ETIMEDOUT);
	}
	/* RFC 1122 §4.2.3.6: a keep-alive is SEG.SEQ = SND.NXT - 1 with no data. */
	tcp_send_probe(c, now);
	c->probes++;
	tcp_timer_set(c, &c->keep_at, now + (uint64_t)c->keepintvl * 1000000);
	return false;
}

bool tcp_timer_tw(struct tcp_conn *c, uint64_t now)
{
	(void)now;
	c->tw_at = STACK_NEVER;
	if (c->state == TCP_STATE_TIME_WAIT || (c->state == TCP_STATE_FIN_WAIT_2 && c->orphan))
		return tcp_done(c);
	return false;
}

/* Runs c's due timers. A handler that frees c (tcp_done() on an orphan or
 * an embryonic child) returns true and nothing after it may touch c; one
 * that only closes it (the application still holds c) leaves CLOSED, with
 * every timer off. */
static void conn_timers(struct tcp_conn *c, uint64_t now)
{
	if (c->tw_at <= now && tcp_timer_tw(c, now))
		return;
	if (c->delack_at <= now) {
		c->delack_at = STACK_NEVER;
		if (c->state != TCP_STATE_CLOSED)
			tcp_send_ack(c, now);
	}
	if (c->state == TCP_STATE_CLOSED)
		return;
	if (c->rto_at <= now) {
		if (rto_expired(c, now))
			return;         /* freed */
		if (c->state == TCP_STATE_CLOSED)
			return;
	}
	if (c->persist_at <= now) {
		if (persist_expired(c, now))
			return;         /* freed */
		if (c->state == TCP_STATE_CLOSED)
			return;
	}
	if (c->keep_at <= now && keepalive_expired(c, now))
		return;                 /* freed: nothing may follow this either */
}

void tcp_timers(struct stack *s, uint64_t now)
{
	struct tcp_table *t = s->tcp;
	struct tcp_conn *c, *next;
	uint64_t at = STACK_NEVER;

	/* timers_at is a lower bound kept by tcp_timer_set(): the walks over
	 * every connection happen only when some timer may be due, not per
	 * segment or per poll. */
	/* Any pass sends the ACKs owed (tcp_timers_at() says one is due at
	 * once): at worst, mid-batch for another reader, a little early. */
	if (t->ackq)
		ackq_flush(t, now);
	if (now < t->timers_at)
		return;
	t->timers_at = STACK_NEVER;
	/* Connections waiting their turn to send, up to a round's budget. */
	for (uint64_t start = t->segs_sent; t->txq_head && t->segs_sent - start < TCP_TX_ROUND;) {
		c = t->txq_head;
		t->txq_head = c->txq_next;
		if (!t->txq_head)
			t->txq_tail = NULL;
		c->in_txq = false;
		tcp_output(c, now);
	}
	/* A connection's timers free at most that connection (listeners have
	 * no timers), so the next one, taken first, stays valid. */
	for (c = t->all; c; c = next) {
		next = c->all_next;
		if (conn_deadline(c) <= now)
			conn_timers(c, now);
	}
	for (c = t->all; c; c = c->all_next) {
		uint64_t d = conn_deadline(c);

		if (d < at)
			at = d;
	}
	/* TIME_WAIT: oldest first; the only timer they run is tw_at. Each one
	 * due is freed, or (an application still holds it) closed and moved
	 * to t->all. */
	while ((c = t->tw_head) && c->tw_at <= now) {
		conn_timers(c, now);
		if (t->tw_head == c)
			break;          /* cannot happen: never spin on it */
	}
	if (t->tw_head && t->tw_head->tw_at < at)
		at = t->tw_head->tw_at;
	if (t->txq_head)
		at = now;
	if (at < t->timers_at)
		t->timers_at = at;
}

uint64_t tcp_timers_at(const struct stack *s)
{
	return s->tcp->ackq ? 0 : s->tcp->timers_at;     /* ACKs owed: due now */
}

size_t tcp_pending_close(const struct stack *s)
{
	size_t n = 0;

	for (const struct tcp_conn *c = s->tcp->all; c; c = c->all_next)
		if (c->orphan && c->state != TCP_STATE_CLOSED && c->state != TCP_STATE_TIME_WAIT &&
		    c->state != TCP_STATE_FIN_WAIT_2)
			n++;
	return n;
}

void tcp_icmp_error(struct stack *s, const struct ip4_hdr *quoted, const uint8_t *qp, size_t qlen, int err,
		    uint32_t mtu)
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
	/* RFC 5927 §4.1: only for a sequence number in flight. */
	if (!seq_in(seq, c->snd_una, c->snd_max + 1))
		return;
	if (err == -EMSGSIZE && mtu >= 68 + 40) {
		/* RFC 1191: lower the MSS and resend at once. */
		uint32_t m = mtu - 40;

		if (m < c->mss) {
			c->mss = (uint16_t)(m < TCP_MIN_MSS ? TCP_MIN_MSS : m);
			tcp_cc_set_mss(&c->cc, c->mss);
			c->snd_nxt = c->snd_una;
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
	if (err)
		c->soft_err = err;
}
