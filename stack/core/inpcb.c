/*
 * The endpoint table TCP and UDP share: demultiplexing and the rules of
 * bind() and of the ephemeral ports (see inpcb.h).
 *
 * RFCs to read first: 6056 (ephemeral ports). Linux's inet_hashtables.c and
 * inet_connection_sock.c (bind conflicts) are the behavioural reference.
 */
#include "stack/core/inpcb.h"

#include <errno.h>
#include <string.h>

#include "stack/core/ip4.h"
#include "stack/core/stack_priv.h"

void inpcb_table_init(struct inpcb_table *t, struct stack *s, uint8_t proto)
{
	t->s = s;
	t->proto = proto;
	memcpy(&t->key, s->cfg.secret, sizeof(t->key));
	if (proto == IP_PROTO_TCP)
		t->port_hint = stack_random(s);
}

/* ---- hashing ---- */

static unsigned hash4(const struct inpcb_table *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uint64_t h = ((uint64_t)(laddr ^ raddr) << 32 | ((uint32_t)lport << 16 | rport)) ^ t->key;

	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(h >> 32) % INPCB_HASH_SIZE;
}

static unsigned hashp(uint16_t port)
{
	return port % INPCB_PORT_HASH;
}

static unsigned hash_of(const struct inpcb_table *t, const struct inpcb *p)
{
	return hash4(t, p->local.addr, p->local.port, p->remote.addr, p->remote.port);
}

void inpcb_hash_insert(struct inpcb_table *t, struct inpcb *p)
{
	unsigned h = hash_of(t, p);

	if (p->in_hash)
		return;
	p->hnext = t->hash[h];
	t->hash[h] = p;
	p->in_hash = true;
}

void inpcb_hash_remove(struct inpcb_table *t, struct inpcb *p)
{
	struct inpcb **pp;

	if (!p->in_hash)
		return;
	pp = &t->hash[hash_of(t, p)];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	p->in_hash = false;
}

void inpcb_bind_insert(struct inpcb_table *t, struct inpcb *p)
{
	unsigned h = hashp(p->local.port);

	if (p->in_bind)
		return;
	/* The port's bind bucket is its holders': p joins it (a port
	 * nobody held keeps what the caller set, or none). */
	if (t->bhash[h])
		p->fast = t->bhash[h]->fast;
	p->bnext = t->bhash[h];
	if (p->bnext)
		p->bnext->bpprev = &p->bnext;
	p->bpprev = &t->bhash[h];
	t->bhash[h] = p;
	p->in_bind = true;
}

/* O(1): a busy server's port chain holds every accepted and TIME_WAIT
 * connection on the listening port (bind() conflicts need them, like
 * Linux's bind bucket owners), so a walk here made each free O(n). */
void inpcb_bind_remove(struct inpcb *p)
{
	if (!p->in_bind)
		return;
	*p->bpprev = p->bnext;
	if (p->bnext)
		p->bnext->bpprev = p->bpprev;
	p->bnext = NULL;
	p->bpprev = NULL;
	p->in_bind = false;
}

void inpcb_listen_insert(struct inpcb_table *t, struct inpcb *p)
{
	unsigned h = hashp(p->local.port);

	if (p->in_lhash)
		return;
	p->lnext = t->lhash[h];
	t->lhash[h] = p;
	p->in_lhash = true;
}

void inpcb_listen_remove(struct inpcb_table *t, struct inpcb *p)
{
	struct inpcb **pp;

	if (!p->in_lhash)
		return;
	pp = &t->lhash[hashp(p->local.port)];
	while (*pp && *pp != p)
		pp = &(*pp)->lnext;
	if (*pp)
		*pp = p->lnext;
	p->in_lhash = false;
}

/* ---- demultiplexing ---- */

struct inpcb *inpcb_lookup(const struct inpcb_table *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
			   uint16_t rport)
{
	struct inpcb *p = t->hash[hash4(t, laddr, lport, raddr, rport)];

	for (; p; p = p->hnext)
		if (p->local.port == lport && p->remote.port == rport && p->remote.addr == raddr &&
		    p->local.addr == laddr)
			return p;
	return NULL;
}

/* Whether p is in the SO_REUSEPORT group of listener g (Linux's
 * sock_reuseport: the sockets that bound the same address and port with
 * SO_REUSEPORT, one family). */
static bool reuseport_peer(const struct inpcb *p, const struct inpcb *g)
{
	return p->listening && (p->reuse & INPCB_REUSEPORT) && p->local.port == g->local.port &&
	       p->local.addr == g->local.addr && p->inet6 == g->inet6;
}

struct inpcb *inpcb_lookup_listener(const struct inpcb_table *t, uint32_t laddr, uint16_t lport, uint32_t raddr,
				    uint16_t rport)
{
	struct inpcb *p, *best = NULL;
	int best_score = 0;
	unsigned n = 0, pick;

	/* Linux's __inet_lookup_listener looks for listeners bound to laddr
	 * first, then for wildcard ones; within each, inet_lhash2_lookup takes
	 * the first of the highest compute_score, where PF_INET scores 2 and
	 * PF_INET6 1 (two listeners of one port share it through SO_REUSEPORT,
	 * and a reuseport group holds one family). */
	for (p = t->lhash[hashp(lport)]; p; p = p->lnext) {
		int sc;

		if (p->local.port != lport)
			continue;
		if (p->local.addr == laddr)
			sc = 4;
		else if (p->local.addr == 0)
			sc = 0;
		else
			continue;
		sc += p->inet6 ? 1 : 2;
		if (sc > best_score) {
			best = p;
			best_score = sc;
		}
	}
	if (!best || !(best->reuse & INPCB_REUSEPORT))
		return best;
	/* lookup_reuseport: the group spreads connections over its listeners
	 * by a hash of the four-tuple (reuseport_select_sock, reciprocal_scale
	 * of inet_ehashfn), so that each of nginx's workers with a listener
	 * of its own (listen ... reuseport) gets some. */
	for (p = t->lhash[hashp(lport)]; p; p = p->lnext)
		n += reuseport_peer(p, best);
	if (n < 2)
		return best;
	pick = (unsigned)(((uint64_t)hash4(t, laddr, lport, raddr, rport) * n) / INPCB_HASH_SIZE);
	for (p = t->lhash[hashp(lport)]; p; p = p->lnext)
		if (reuseport_peer(p, best) && pick-- == 0)
			return p;
	return best;
}

struct inpcb *inpcb_first_bound(const struct inpcb_table *t, uint16_t port)
{
	return t->bhash[hashp(port)];
}

struct inpcb *inpcb_next_bound(const struct inpcb *p)
{
	return p->bnext;
}

/* ---- the rules ---- */

/* Wildcard against anything, or the same address. */
static bool addr_overlap(uint32_t a, uint32_t b)
{
	return !a || !b || a == b;
}

/* Whether p binding (addr, port) with reuse collides with an endpoint already there. */
static void port_touch(const struct inpcb_table *t, uint16_t port)
{
	if (t->port_touch)
		t->port_touch(t->s, port);
}

static bool port_conflict(const struct inpcb_table *t, const struct inpcb *p, uint32_t addr, uint16_t port,
			  unsigned reuse)
{
	port_touch(t, port);
	for (const struct inpcb *x = t->bhash[hashp(port)]; x; x = x->bnext) {
		if (x == p || x->local.port != port || !addr_overlap(x->local.addr, addr))
			continue;
		if (reuse & x->reuse & INPCB_REUSEPORT)
			continue;
		/* A listener's port is not shared through SO_REUSEADDR (Linux's
		 * inet_csk_bind_conflict); the sockets of TIME_WAIT and
		 * established connections' ports are. */
		if ((reuse & x->reuse & INPCB_REUSEADDR) && !x->listening)
			continue;
		return true;
	}
	return false;
}

/* Any endpoint but p on port. */
static bool port_used(const struct inpcb_table *t, const struct inpcb *p, uint16_t port)
{
	port_touch(t, port);
	for (const struct inpcb *x = t->bhash[hashp(port)]; x; x = x->bnext)
		if (x != p && x->local.port == port)
			return true;
	return false;
}

/* Whether bind() for port 0 may take port: a TCP endpoint takes a port
 * its bind() rules allow, a UDP one only a port no socket holds. */
static bool port_free(const struct inpcb_table *t, const struct inpcb *p, uint32_t addr, uint16_t port,
		      unsigned reuse)
{
	if (t->proto == IP_PROTO_UDP)
		return !port_used(t, p, port);
	return !port_conflict(t, p, addr, port, reuse);
}

bool inpcb_src_refused(const struct inpcb_table *t, const struct inpcb *p)
{
	uint32_t a = p->local.addr;

	/* 127.0.0.1: a connect() to this host set it (ip4_this_host). */
	return a && a != t->s->cfg.addr && !ip4_is_loopback(a) && !ip4_is_broadcast(t->s, a) &&
	       !ip4_is_multicast(a) && !(p->reuse & INPCB_ANYSRC);
}

int inpcb_src_error(const struct inpcb_table *t, const struct inpcb *p)
{
	uint32_t a = p->local.addr;

	if (p->reuse & INPCB_SRC_AS_BOUND) {
		if (ip4_is_multicast(a) || a == 0xffffffffu)
			return -EINVAL;
		if (ip4_is_broadcast(t->s, a) && !(p->reuse & INPCB_ANYSRC))
			return -ENETUNREACH;
	}
	return inpcb_src_refused(t, p) ? -ENETUNREACH : 0;
}

bool inpcb_port_range(const struct inpcb_table *t, const struct inpcb *p, uint16_t *lo, uint16_t *hi)
{
	uint16_t l = t->s->cfg.ip_local_port_lo, h = t->s->cfg.ip_local_port_hi;
	uint16_t pl = (uint16_t)p->port_range, ph = (uint16_t)(p->port_range >> 16);

	/* A configuration without a valid range gets Linux's default. */
	if (!l || l > h) {
		l = 32768;
		h = 60999;
	}
	/* Linux checks the high bound against the low one already narrowed. */
	if (pl >= l && pl <= h)
		l = pl;
	if (ph >= l && ph <= h)
		h = ph;
	*lo = l;
	*hi = h;
	return p->port_range != 0;
}

/* Linux's inet_bind: a local, broadcast or multicast address (a socket
 * bound to a group hears that group only), any with IP_FREEBIND or
 * IP_TRANSPARENT, or in a namespace whose ip_nonlocal_bind is set
 * (inet_addr_valid_or_nonlocal). The reuse flags that go with it, or
 * -EADDRNOTAVAIL. */
static int bind_addr_check(const struct inpcb_table *t, uint32_t addr, unsigned *reuse)
{
	const struct stack *s = t->s;

	if (!addr || addr == s->cfg.addr || ip4_is_broadcast(s, addr) || ip4_is_multicast(addr))
		return 0;
	if (s->cfg.ip_nonlocal_bind)
		*reuse |= INPCB_NONLOCAL;
	return *reuse & INPCB_NONLOCAL ? 0 : -EADDRNOTAVAIL;
}

int inpcb_bind_addr_check(const struct inpcb_table *t, uint32_t addr, unsigned reuse)
{
	return bind_addr_check(t, addr, &reuse);
}

int inpcb_bind_addr(struct inpcb_table *t, struct inpcb *p, uint32_t addr, unsigned reuse)
{
	int r = bind_addr_check(t, addr, &reuse);

	if (r)
		return r;
	p->reuse = reuse;
	p->local.addr = addr;
	p->local.port = 0;
	return 0;
}

/*
 * bind() with port 0 on a TCP endpoint, as Linux's inet_csk_find_open_port:
 * a random start made odd relative to the range's low end (connect()
 * favours the other parity, inpcb_connect_port), every port of that parity,
 * then the others; with SO_REUSEADDR the range's lower half first, then
 * the upper (attempt_half). 0 when none is free.
 */
static uint16_t tcp_find_open_port(struct inpcb_table *t, const struct inpcb *p, uint32_t addr, unsigned reuse)
{
	uint16_t lo, hi;
	int half = (reuse & INPCB_REUSEADDR) ? 1 : 0;

	(void)inpcb_port_range(t, p, &lo, &hi);
	if ((uint32_t)hi + 1 - lo < 4)
		half = 0;
	for (;;) {
		uint32_t low = lo, high = (uint32_t)hi + 1, remaining, offset;

		if (half) {
			uint32_t mid = low + (((high - low) >> 2) << 1);

			if (half == 1)
				high = mid;
			else
				low = mid;
		}
		remaining = high - low;
		if (remaining > 1)
			remaining &= ~1u;
		offset = (stack_random(t->s) % remaining) | 1u;
		for (int pass = 0; pass < 2; pass++) {
			uint32_t port = low + offset;

			for (uint32_t i = 0; i < remaining; i += 2, port += 2) {
				if (port >= high)
					port -= remaining;
				if (port_free(t, p, addr, (uint16_t)port, reuse))
					return (uint16_t)port;
			}
			offset--;    /* the other parity */
		}
		if (half != 1)
			return 0;
		half = 2;
	}
}

/* An AF_INET6 endpoint bound to :: (not ::ffff:0.0.0.0, INPCB_ADDR_LOCK). */
static bool any6(const struct inpcb *p, uint32_t addr, unsigned reuse)
{
	return p->inet6 && !addr && !(reuse & INPCB_ADDR_LOCK);
}

/* Linux's sk_reuseport_match for p binding addr with reuse (one user: the
 * stack's process): the bucket's address must be p's, its wildcard
 * matching any of p's, p's wildcard only its own (ipv4_rcv_saddr_equal
 * and ipv6_rcv_saddr_equal with the bucket's side wildcard-matching; an
 * AF_INET socket counts as its IPv4-mapped address against an AF_INET6
 * bucket: inet6_rcv_saddr is NULL for it). */
static bool fast_reuseport_match(const struct inpcb_fast *f, const struct inpcb *p, uint32_t addr, unsigned reuse)
{
	if (!f->reuseport || !(reuse & INPCB_REUSEPORT))
		return false;
	if (f->inet6 && f->any6)
		return true;
	if (f->inet6 && any6(p, addr, reuse))
		return false;
	return f->addr == addr || !f->addr;
}

/* Linux's inet_csk_update_fastreuse after p took its port (a new bucket's
 * state is none); every holder keeps the result. */
static void fast_update(struct inpcb_table *t, struct inpcb *p, uint32_t addr, bool owners)
{
	struct inpcb_fast f = owners ? p->fast : (struct inpcb_fast){ 0 };

	if (!(p->reuse & INPCB_REUSEPORT))
		f.reuseport = false;
	else if (!fast_reuseport_match(&f, p, addr, p->reuse))
		f = (struct inpcb_fast){ .reuseport = true, .inet6 = p->inet6, .any6 = any6(p, addr, p->reuse),
					 .addr = addr };
	for (struct inpcb *x = t->bhash[hashp(p->local.port)]; x; x = x->bnext)
		if (x->local.port == p->local.port)
			x->fast = f;
	p->fast = f;
}

/* Whether p taking (addr, port) goes by its bucket's fast path; owners:
 * whether anybody else holds the port. */
static bool fast_path(const struct inpcb_table *t, const struct inpcb *p, uint32_t addr, uint16_t port,
		      unsigned reuse, bool *owners)
{
	const struct inpcb *h = NULL;

	*owners = false;
	if (t->proto != IP_PROTO_TCP)
		return false;
	for (const struct inpcb *x = t->bhash[hashp(port)]; x && !h; x = x->bnext)
		if (x != p && x->local.port == port)
			h = x;
	if (!h)
		return false;
	*owners = true;
	return fast_reuseport_match(&h->fast, p, addr, reuse);
}

bool inpcb_listen_fast(const struct inpcb_table *t, const struct inpcb *p)
{
	bool owners;

	port_touch(t, p->local.port);
	return fast_path(t, p, p->local.addr, p->local.port, p->reuse, &owners);
}

void inpcb_listen_fast_update(struct inpcb_table *t, struct inpcb *p)
{
	fast_update(t, p, p->local.addr, true);
}

int inpcb_bind(struct inpcb_table *t, struct inpcb *p, const struct ip4_endpoint *local, unsigned reuse)
{
	bool owners = false;

	struct stack *s = t->s;
	uint16_t port = local->port;
	int r = bind_addr_check(t, local->addr, &reuse);

	if (r)
		return r;
	p->reuse = reuse;
	if (!port && t->proto == IP_PROTO_TCP) {
		port = tcp_find_open_port(t, p, local->addr, reuse);
		if (!port)
			return -EADDRINUSE;
	} else if (!port) {
		/* RFC 6056 §3.3.1 (Algorithm 1): a random start, then the first free port. */
		uint16_t lo, hi;
		uint32_t n, start;

		(void)inpcb_port_range(t, p, &lo, &hi);
		n = (uint32_t)hi - lo + 1;
		start = stack_random(s) % n;
		for (uint32_t i = 0; i < n; i++) {
			uint16_t q = (uint16_t)(lo + (start + i) % n);

			if (port_free(t, p, local->addr, q, reuse)) {
				port = q;
				break;
			}
		}
		if (!port)
			return -EADDRINUSE;
	} else {
		port_touch(t, port);
		if (!fast_path(t, p, local->addr, port, reuse, &owners) &&
		    port_conflict(t, p, local->addr, port, reuse))
			return -EADDRINUSE;
	}
	if (t->proto == IP_PROTO_TCP && local->port == 0) {
		const struct inpcb *x = t->bhash[hashp(port)];

		owners = x != NULL;
	}
	p->local.addr = local->addr;
	p->local.port = port;
	inpcb_bind_insert(t, p);
	if (t->proto == IP_PROTO_TCP)
		fast_update(t, p, local->addr, owners);
	return 0;
}

/* For connect(): a port is usable when the 4-tuple is new and every
 * holder of the port got it from connect() (Linux's __inet_hash_connect
 * skips a bind bucket whose fastreuse or fastreuseport is set, as bind(),
 * listen() and an accepted connection leave it; 6.18 puts it back to
 * unset once only connect()'s holders remain, inet_bind2_bucket_destroy).
 * The holders' addresses do not matter: the 4-tuple decides. */
static bool port_usable_for(const struct inpcb_table *t, uint16_t port, uint32_t laddr,
			    const struct ip4_endpoint *peer)
{
	port_touch(t, port);
	for (const struct inpcb *x = t->bhash[hashp(port)]; x; x = x->bnext) {
		if (x->local.port != port)
			continue;
		if (x->listening || !x->connected || !(x->reuse & INPCB_CONNECT_BIND))
			return false;
		if (x->remote.addr == peer->addr && x->remote.port == peer->port &&
		    (x->local.addr == laddr || !x->local.addr) && !(t->tw_reusable && t->tw_reusable(t->s, x)))
			return false;
	}
	return true;
}

int inpcb_connect_port(struct inpcb_table *t, const struct inpcb *p, uint32_t laddr,
		       const struct ip4_endpoint *peer, uint32_t off, uint16_t *port)
{
	/* RFC 6056 §3.3.3 (Algorithm 3): a keyed offset per destination plus
	 * a counter, within the socket's range. Linux's __inet_hash_connect
	 * makes the offset even (ports of the range's low end's parity, bind()
	 * takes the others first) and steps by 2, then tries the other parity;
	 * a socket's own IP_LOCAL_PORT_RANGE steps by 1. */
	uint16_t lo, hi;
	bool own = inpcb_port_range(t, p, &lo, &hi);
	uint32_t n = (uint32_t)hi - lo + 1, step = own || n < 2 ? 1 : 2, start = (off + t->port_hint) % n;

	if (step == 2)
		start &= ~1u;
	for (uint32_t pass = 0; pass < step; pass++) {
		for (uint32_t i = 0; i < n; i += step) {
			uint16_t q = (uint16_t)(lo + (start + i) % n);

			if (port_usable_for(t, q, laddr, peer)) {
				*port = q;
				t->port_hint += i + step;
				return 0;
			}
		}
		start++;
	}
	return -EADDRNOTAVAIL;
}

bool inpcb_bound_conflict(const struct inpcb_table *t, const struct inpcb *p)
{
	return port_conflict(t, p, p->local.addr, p->local.port, p->reuse);
}

bool inpcb_listen_conflict(const struct inpcb_table *t, const struct inpcb *p)
{
	for (const struct inpcb *x = t->lhash[hashp(p->local.port)]; x; x = x->lnext)
		if (x->local.port == p->local.port && addr_overlap(x->local.addr, p->local.addr) &&
		    !(x->reuse & p->reuse & INPCB_REUSEPORT))
			return true;
	return false;
}
