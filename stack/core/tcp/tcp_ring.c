#include "stack/core/tcp/tcp_ring.h"

#include "stack/core/copy.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * A ring's memory is a block with a reference count in front of the bytes:
 * the ring holds one, and each frame whose payload is left in the ring
 * (tcp_ring_hold, zero-copy transmit) one more, given back when the frame
 * is freed, by whichever thread wrote it (atomic). A ring that grows,
 * shrinks or is freed lets go of its block; the bytes stay for the frames
 * that still point into them. The bytes start on a 64-byte line (PKB_ALIGN:
 * where the TAP's copy of them is fast), except in a block realloc grew
 * (blk_regrow), which may sit where the C library put it: a segment's bytes
 * lie anywhere in the ring anyway, and the zero-copy transmit aligns each
 * frame's own (tcp_output).
 */
#define RING_BLK_HDR 64
/* A copy chunk's least room (tcp_ring_chunk): later small writes fill it. */
#define RING_CHUNK_ROOM 4096

struct ring_blk {
	unsigned refs;          /* __atomic */
	size_t cap;             /* the bytes' room */
};

/*
 * Blocks of the least size (TCP_RING_MIN: the first block of each of a
 * connection's rings) come back through a small cache of their own rather
 * than the C library: with a connection per request, a ring's block is an
 * aligned_alloc and a free each time, and glibc's memalign path (a larger
 * chunk, split, the pieces freed and coalesced) took about 4% of such a
 * server's CPU. Any thread may let a block go (the release of a frame that
 * pointed into it), so the cache has a lock of its own, a spin held for
 * one push or pop (a try: a thread that finds it taken goes to the C library
 * instead, so that nobody ever waits for it (nor a fork child, whose copy
 * of a lock another thread held stays taken: there the cache is off)). At
 * most RING_CACHE_MAX blocks (about 1 MiB) wait there. Not under
 * AddressSanitizer, whose use-after-free checks a kept block would hide.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RING_CACHE_MAX 0
#else
#define RING_CACHE_MAX 256
#endif

/*
 * Larger blocks wait in a second cache, bounded in bytes: a send ring that
 * an ACK empties gives its block back (tcp_ring_shed), and its next write
 * takes one again. Without the cache each of those would be a fresh
 * allocation, whose pages the C library may have given back to the kernel
 * (a page fault for each on the way back: tens of microseconds each on
 * this VM); with it, the block a drained ring let go is the next one a
 * ring that fills takes, still in the caches. Blocks above
 * RING_CACHE_BLK_MAX go to the C library.
 */
#define RING_CACHE_BYTES (4u << 20)
#define RING_CACHE_BLK_MAX (1u << 20)
#define RING_CACHE_LARGE 64

#if RING_CACHE_MAX
static struct {
	bool lock;              /* __atomic (the compiler's builtins: the core's headers are the pure ones) */
	unsigned n;
	struct ring_blk *blk[RING_CACHE_MAX];
	unsigned nlarge;        /* the larger blocks: the most recent last */
	size_t large_bytes;
	struct ring_blk *large[RING_CACHE_LARGE];
} blk_cache;

static bool cache_trylock(void)
{
	return !__atomic_test_and_set(&blk_cache.lock, __ATOMIC_ACQUIRE);
}

static void cache_unlock(void)
{
	__atomic_clear(&blk_cache.lock, __ATOMIC_RELEASE);
}

/* A block of cap bytes (the most recent). */
static struct ring_blk *cache_pop(size_t cap)
{
	struct ring_blk *b = NULL;

	if (!cache_trylock())
		return NULL;
	if (cap == TCP_RING_MIN) {
		if (blk_cache.n)
			b = blk_cache.blk[--blk_cache.n];
	} else {
		for (unsigned i = blk_cache.nlarge; i-- > 0;) {
			if (blk_cache.large[i]->cap != cap)
				continue;
			b = blk_cache.large[i];
			memmove(&blk_cache.large[i], &blk_cache.large[i + 1],
				(blk_cache.nlarge - i - 1) * sizeof(blk_cache.large[0]));
			blk_cache.nlarge--;
			blk_cache.large_bytes -= b->cap;
			break;
		}
	}
	cache_unlock();
	return b;
}

static bool cache_push(struct ring_blk *b)
{
	struct ring_blk *old[RING_CACHE_LARGE];
	unsigned nold = 0;
	bool kept = false;

	if (b->cap > RING_CACHE_BLK_MAX || !cache_trylock())
		return false;
	if (b->cap == TCP_RING_MIN) {
		if (blk_cache.n < RING_CACHE_MAX) {
			blk_cache.blk[blk_cache.n++] = b;
			kept = true;
		}
	} else if (b->cap > TCP_RING_MIN) {
		/* The oldest make room: a size nobody takes again (a ring's
		 * steps up as it grew) must not keep the cache full. */
		while (blk_cache.nlarge &&
		       (blk_cache.nlarge == RING_CACHE_LARGE || blk_cache.large_bytes + b->cap > RING_CACHE_BYTES)) {
			old[nold] = blk_cache.large[0];
			blk_cache.large_bytes -= old[nold++]->cap;
			memmove(&blk_cache.large[0], &blk_cache.large[1],
				(--blk_cache.nlarge) * sizeof(blk_cache.large[0]));
		}
		blk_cache.large[blk_cache.nlarge++] = b;
		blk_cache.large_bytes += b->cap;
		kept = true;
	}
	cache_unlock();
	while (nold)
		free(old[--nold]);
	return kept;
}
#else
static struct ring_blk *cache_pop(size_t cap)
{
	(void)cap;
	return NULL;
}

static bool cache_push(struct ring_blk *b)
{
	(void)b;
	return false;
}
#endif

static uint8_t *blk_alloc(size_t cap)
{
	struct ring_blk *b = cache_pop(cap);

	if (!b)
		b = aligned_alloc(RING_BLK_HDR, (RING_BLK_HDR + cap + RING_BLK_HDR - 1) & ~(size_t)(RING_BLK_HDR - 1));
	if (!b)
		return NULL;
	__atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
	b->cap = cap;
	return (uint8_t *)b + RING_BLK_HDR;
}

static struct ring_blk *blk_of(const uint8_t *buf)
{
	return (struct ring_blk *)(uintptr_t)(buf - RING_BLK_HDR);
}

void tcp_ring_release(void *owner)
{
	struct ring_blk *b = owner;

	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0 && !cache_push(b))
		free(b);
}

/* The ring's own reference on its block (buf NULL: none). */
static void blk_put(uint8_t *buf)
{
	if (buf)
		tcp_ring_release(blk_of(buf));
}

int tcp_ring_hold(const struct tcp_ring *r, size_t off, size_t n, const uint8_t *p[2], size_t len[2],
		  void **owner)
{
	size_t start, first;

	if (!n || !r->buf || off + n > r->blen)
		return 0;
	start = (r->head + off) % r->cap;
	first = r->cap - start < n ? r->cap - start : n;
	p[0] = r->buf + start;
	len[0] = first;
	p[1] = r->buf;
	len[1] = n - first;
	__atomic_add_fetch(&blk_of(r->buf)->refs, 1, __ATOMIC_RELAXED);
	*owner = blk_of(r->buf);
	return len[1] ? 2 : 1;
}

bool tcp_mem_charge(struct tcp_mem *m, size_t n)
{
	if (n > m->limit || m->used > m->limit - n) {
		m->refused++;
		return false;
	}
	tcp_mem_force(m, n);
	return true;
}

void tcp_mem_force(struct tcp_mem *m, size_t n)
{
	m->used += n;
	if (m->used > m->peak)
		m->peak = m->used;
}

void tcp_mem_uncharge(struct tcp_mem *m, size_t n)
{
	m->used = n > m->used ? 0 : m->used - n;
}

bool tcp_mem_pressure(const struct tcp_mem *m)
{
	return m->used > m->limit / 4 * 3;
}

bool tcp_mem_above_low(const struct tcp_mem *m)
{
	return m->used >= m->limit / 2;
}

void tcp_ring_init(struct tcp_ring *r, size_t limit, struct tcp_mem *mem)
{
	r->buf = NULL;
	r->cap = r->head = r->len = r->blen = r->resv = 0;
	r->limit = limit;
	r->grown_at = 0;
	r->shed_cap = 0;
	r->grow_copied = 0;
	r->min = TCP_RING_MIN;
	r->mem = mem;
	r->chunks = r->last = NULL;
	r->chunk_mem = 0;
	r->claimed = 0;
}

size_t tcp_ring_mem(const struct tcp_ring *r)
{
	return r->cap + r->chunk_mem;
}

/* What the budget is charged for this ring. */
static size_t ring_charged(const struct tcp_ring *r)
{
	size_t m = tcp_ring_mem(r);

	return m > r->resv ? m : r->resv;
}

/* Moves the ring's charge from old to what it is now. */
static void ring_recharge(struct tcp_ring *r, size_t old)
{
	size_t now = ring_charged(r);

	if (!r->mem)
		return;
	if (now > old)
		tcp_mem_force(r->mem, now - old);
	else
		tcp_mem_uncharge(r->mem, old - now);
}

static void chunk_free(struct tcp_ring_chunk *k)
{
	if (k->rx)
		pkb_rx_put(k->rx);
	free(k);
}

/* Appends chunk k after the others (its bytes counted by the caller). */
static void chunk_link(struct tcp_ring *r, struct tcp_ring_chunk *k)
{
	if (r->last)
		r->last->next = k;
	else
		r->chunks = k;
	r->last = k;
	r->chunk_mem += k->truesize;
}

/*
 * Room after the chunks for up to *n bytes (*n cut to what it has): the
 * last chunk's when it is a copy chunk with room left, else a new copy
 * chunk's (charged now). NULL when out of memory. chunk_grew counts what
 * was written there.
 */
static uint8_t *chunk_tail(struct tcp_ring *r, size_t *n)
{
	struct tcp_ring_chunk *k = r->last;
	size_t used, room, old;

	if (k && k->room) {
		used = (size_t)(k->p - k->data) + k->len;
		if (used < k->room) {
			if (*n > k->room - used)
				*n = k->room - used;
			return k->data + used;
		}
	}
	room = *n > RING_CHUNK_ROOM ? *n : RING_CHUNK_ROOM;
	k = malloc(sizeof(*k) + room);
	if (!k)
		return NULL;
	k->next = NULL;
	k->p = k->data;
	k->len = 0;
	k->room = room;
	k->truesize = sizeof(*k) + room;
	k->rx = NULL;
	old = ring_charged(r);
	chunk_link(r, k);
	ring_recharge(r, old);
	return k->data;
}

static void chunk_grew(struct tcp_ring *r, size_t n)
{
	r->last->len += n;
	r->len += n;
}

void tcp_ring_free(struct tcp_ring *r)
{
	size_t old = ring_charged(r);

	blk_put(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = r->blen = r->resv = r->claimed = 0;
	while (r->chunks) {
		struct tcp_ring_chunk *k = r->chunks;

		r->chunks = k->next;
		chunk_free(k);
	}
	r->last = NULL;
	r->chunk_mem = 0;
	ring_recharge(r, old);
}

void tcp_ring_reserve(struct tcp_ring *r, size_t bytes)
{
	size_t old = ring_charged(r);

	r->resv = bytes < r->limit ? bytes : r->limit;
	ring_recharge(r, old);
}

/* What the ring may always hold, budget or not: its charge, at least the minimum. */
static size_t ring_floor(const struct tcp_ring *r)
{
	size_t f = r->limit < r->min ? r->limit : r->min;
	size_t c = ring_charged(r);

	return c > f ? c : f;
}

size_t tcp_ring_reach(const struct tcp_ring *r)
{
	size_t reach = r->limit;

	if (r->mem) {
		const struct tcp_mem *m = r->mem;
		size_t can = ring_floor(r) + (m->used < m->limit ? m->limit - m->used : 0);

		if (can < reach)
			reach = can;
	}
	return reach;
}

size_t tcp_ring_space(const struct tcp_ring *r)
{
	size_t reach = tcp_ring_reach(r);

	return r->len >= reach ? 0 : reach - r->len;
}

/* Charges the growth of the allocation to ncap: free within the ring's
 * charge and the guaranteed minimum, asked of the budget beyond. */
static bool ring_charge(struct tcp_ring *r, size_t ncap)
{
	size_t old = ring_charged(r), floor = ring_floor(r);
	size_t need = ncap + r->chunk_mem > r->resv ? ncap + r->chunk_mem : r->resv;

	if (!r->mem || need <= old)
		return true;
	if (need <= floor) {
		tcp_mem_force(r->mem, need - old);
		return true;
	}
	if (!tcp_mem_charge(r->mem, need - floor))
		return false;
	tcp_mem_force(r->mem, floor - old);
	return true;
}

/* Copies n bytes of the ring's own from off (off + n <= blen) into dst. */
static void buf_peek(const struct tcp_ring *r, size_t off, uint8_t *dst, size_t n)
{
	size_t start, first;

	if (!n)
		return;
	start = (r->head + off) % r->cap;
	first = r->cap - start < n ? r->cap - start : n;
	stack_copy_bytes(dst, r->buf + start, first);
	if (n > first)
		stack_copy_bytes(dst + first, r->buf, n - first);
}

/* The allocation tcp_ring_fit leaves: the power of two at or above the limit. */
static size_t fit_cap(const struct tcp_ring *r)
{
	size_t ncap = TCP_RING_MIN;

	while (ncap < r->limit)
		ncap *= 2;
	return ncap;
}

/*
 * The ring's block grown to ncap bytes where it lies, when nothing but the
 * ring holds it (no frame points into it: the stack lock keeps it so, as
 * every hold is taken under it): realloc, which for a large block moves
 * its pages (glibc: mremap) instead of copying them, so the pages the ring
 * has written stay as they are, and only the new ones are ever touched (a
 * small block it extends where it lies, or copies as the ring would), as
 * Linux's send queue grows by adding buffers, never by moving what it
 * holds. Growing to each step through a fresh block copied what the ring
 * held and faulted in every page of it: nc sending 64 MiB took about 360
 * of its 640 page faults there. Bytes that wrapped to the block's start
 * move to just after the old end, where they continue the rest. NULL (the
 * ring untouched: the caller copies into a new block) when the block is
 * shared, the wrapped bytes would not fit there, or realloc fails.
 */
static uint8_t *blk_regrow(struct tcp_ring *r, size_t ncap)
{
	size_t size = (RING_BLK_HDR + ncap + RING_BLK_HDR - 1) & ~(size_t)(RING_BLK_HDR - 1);
	struct ring_blk *b, *nb;
	size_t wrap;

	if (!r->buf || ncap <= r->cap)
		return NULL;
	b = blk_of(r->buf);
	if (__atomic_load_n(&b->refs, __ATOMIC_ACQUIRE) != 1)
		return NULL;
	wrap = r->head + r->blen > r->cap ? r->head + r->blen - r->cap : 0;
	if (r->cap + wrap > ncap)
		return NULL;
	nb = realloc(b, size);
	if (!nb)
		return NULL;
	nb->cap = ncap;
	if (wrap)
		memmove((uint8_t *)nb + RING_BLK_HDR + r->cap, (uint8_t *)nb + RING_BLK_HDR, wrap);
	return (uint8_t *)nb + RING_BLK_HDR;
}

/*
 * Grows the allocation to hold at least need bytes; keeps the data in order.
 * Up to the limit, or past it while the limit moves: a send buffer's limit
 * follows the congestion window up in small steps (tcp_sndbuf_expand), and
 * a ring that grew to each step copied what it held into fresh pages each
 * time (64 MiB sent through a relay: 68 growths, a page fault for every
 * page of each). Half the limit more, then, but no more than the power of
 * two tcp_ring_fit leaves (never "oversized"); a limit that stays put
 * (SO_SNDBUF, SO_RCVBUF) gets the exact size.
 */
static void ring_grow(struct tcp_ring *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : TCP_RING_MIN;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	if (ncap > r->limit && need <= r->limit) {
		size_t room = r->limit;

		if (r->grown_at && r->limit > r->grown_at) {
			size_t fit = fit_cap(r);

			room = (r->limit + r->limit / 2 + 4095) & ~(size_t)4095;
			if (room > fit)
				room = fit;
		}
		if (ncap > room)
			ncap = room;
	}
	/* A ring that shed its block takes one of that size again (the one
	 * the cache just got, as a rule), not a smaller one to grow again
	 * step by step, a copy each time: while the limit allows it, and
	 * not under the budget's pressure (a reclaimed ring starts small). */
	if (!r->cap && r->shed_cap > ncap && r->shed_cap <= fit_cap(r) && !(r->mem && tcp_mem_pressure(r->mem)))
		ncap = r->shed_cap;
	if (ncap < need)
		return;
	if (!ring_charge(r, ncap)) {
		/* Short of budget: try just what is needed, in whole pages. */
		size_t exact = (need + 4095) & ~(size_t)4095;

		ncap = exact < ncap ? exact : ncap;
		if (ncap > need && !ring_charge(r, ncap))
			ncap = need;
		if (ncap == need && !ring_charge(r, ncap))
			return;
	}
	nb = blk_regrow(r, ncap);
	if (nb) {
		r->buf = nb;
		r->cap = ncap;
		r->grown_at = r->limit;
		return;
	}
	nb = blk_alloc(ncap);
	if (!nb) {
		if (r->mem) {
			size_t was = ncap + r->chunk_mem > r->resv ? ncap + r->chunk_mem : r->resv;

			tcp_mem_uncharge(r->mem, was - ring_charged(r));
		}
		return;
	}
	buf_peek(r, 0, nb, r->blen);
	r->grow_copied += r->blen;
	blk_put(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
	r->grown_at = r->limit;
}

/* Room for n bytes after the ring's own (growing it first when it may):
 * how many fit, at most n, and where they go: from *tail, *first of them
 * before the end of the allocation, the rest from its start. */
static size_t ring_tail_room(struct tcp_ring *r, size_t n, size_t *tail, size_t *first)
{
	if (r->blen + n > r->cap)
		ring_grow(r, r->blen + n);
	if (r->blen + n > r->cap)
		n = r->cap - r->blen;
	if (!n)
		return 0;
	*tail = (r->head + r->blen) % r->cap;
	*first = r->cap - *tail < n ? r->cap - *tail : n;
	return n;
}

size_t tcp_ring_write(struct tcp_ring *r, const void *src, size_t n)
{
	const uint8_t *p = src;
	size_t tail, first;

	if (r->claimed)
		return 0;       /* a writer's room is lent (tcp_ring_claim): none for others */
	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (r->chunks) {
		/* Behind bytes held outside: a chunk of copies after them. */
		size_t done = 0;

		while (done < n) {
			size_t k = n - done;
			uint8_t *dst = chunk_tail(r, &k);

			if (!dst)
				break;
			stack_copy_bytes(dst, p + done, k);
			chunk_grew(r, k);
			done += k;
		}
		return done;
	}
	if (!(n = ring_tail_room(r, n, &tail, &first)))
		return 0;
	stack_copy_bytes(r->buf + tail, p, first);
	if (n > first)
		stack_copy_bytes(r->buf, p + first, n - first);
	r->blen += n;
	r->len += n;
	return n;
}

size_t tcp_ring_adopt(struct tcp_ring *r, const uint8_t *p, size_t n, struct pkb_rx *b)
{
	struct tcp_ring_chunk *k;
	size_t old, space = tcp_ring_space(r);

	if (n > space)
		n = space;
	if (!n)
		return 0;
	k = malloc(sizeof(*k));
	if (!k)
		return tcp_ring_write(r, p, n);
	k->next = NULL;
	k->p = p;
	k->len = n;
	k->room = 0;
	k->truesize = sizeof(*k) + pkb_rx_truesize(b);
	k->rx = b;
	pkb_rx_hold(b);
	old = ring_charged(r);
	chunk_link(r, k);
	r->len += n;
	ring_recharge(r, old);
	return n;
}

/* Calls fn on each piece of the n bytes held from off (off + n <= len), in
 * order: the ring's (one or two ranges), then the chunks'. Stops at the
 * first non-zero answer, which it returns. */
static int ring_walk(const struct tcp_ring *r, size_t off, size_t n,
		     int (*fn)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
	const struct tcp_ring_chunk *k;
	int rc;

	if (off < r->blen) {
		size_t take = r->blen - off < n ? r->blen - off : n;
		size_t start = (r->head + off) % r->cap;
		size_t first = r->cap - start < take ? r->cap - start : take;

		if ((rc = fn(ctx, r->buf + start, first)) != 0)
			return rc;
		if (take > first && (rc = fn(ctx, r->buf, take - first)) != 0)
			return rc;
		n -= take;
		off = 0;
	} else {
		off -= r->blen;
	}
	for (k = r->chunks; k && n; k = k->next) {
		size_t take;

		if (off >= k->len) {
			off -= k->len;
			continue;
		}
		take = k->len - off < n ? k->len - off : n;
		if ((rc = fn(ctx, k->p + off, take)) != 0)
			return rc;
		n -= take;
		off = 0;
	}
	return 0;
}

static int piece_to_bytes(void *ctx, const uint8_t *p, size_t n)
{
	uint8_t **d = ctx;

	stack_copy_bytes(*d, p, n);
	*d += n;
	return 0;
}

void tcp_ring_peek(const struct tcp_ring *r, size_t off, void *dst, size_t n)
{
	uint8_t *d = dst;

	if (n)
		(void)ring_walk(r, off, n, piece_to_bytes, &d);
}

/*
 * Copies n bytes from the buffers v into the ring's bytes from index at
 * (wrapping); 0 or the copy's -EFAULT.
 */
static int ring_copyv(uint8_t *buf, size_t cap, size_t at, const struct sock_iov *v, int cnt, size_t n,
		      sock_copy_fn copy)
{
	for (int i = 0; i < cnt && n; i++) {
		uint8_t *p = v[i].base;
		size_t left = v[i].len < n ? v[i].len : n;

		n -= left;
		while (left) {
			size_t run = cap - at < left ? cap - at : left;
			int rc = copy(buf + at, p, run);

			if (rc)
				return rc;
			p += run;
			left -= run;
			at = (at + run) % cap;
		}
	}
	return 0;
}

/* Gathers n bytes from the buffers v into dst; 0 or the copy's -EFAULT. */
static int ring_gatherv(uint8_t *dst, const struct sock_iov *v, int cnt, size_t n, sock_copy_fn copy)
{
	for (int i = 0; i < cnt && n; i++) {
		size_t run = v[i].len < n ? v[i].len : n;
		int rc = copy(dst, v[i].base, run);

		if (rc)
			return rc;
		dst += run;
		n -= run;
	}
	return 0;
}

long tcp_ring_writev(struct tcp_ring *r, const struct sock_iov *v, int cnt, size_t n, sock_copy_fn copy)
{
	size_t tail, first;
	int rc;

	if (r->claimed)
		return 0;       /* as tcp_ring_write */
	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (r->chunks) {
		/* Behind bytes held outside (a receive ring's; a send ring
		 * has none): gathered into a copy, then appended. */
		uint8_t *tmp;
		size_t done;

		if (!n)
			return 0;
		tmp = malloc(n);
		if (!tmp)
			return 0;
		rc = ring_gatherv(tmp, v, cnt, n, copy);
		done = rc ? 0 : tcp_ring_write(r, tmp, n);
		free(tmp);
		return rc ? rc : (long)done;
	}
	if (!(n = ring_tail_room(r, n, &tail, &first)))
		return 0;
	/* The length moves only once every byte is in: a copy that fails
	 * leaves the ring as it was. */
	rc = ring_copyv(r->buf, r->cap, tail, v, cnt, n, copy);
	if (rc)
		return rc;
	r->blen += n;
	r->len += n;
	return (long)n;
}

/* Scatters pieces over a socket call's buffers (tcp_ring_peekv). */
struct scatter {
	const struct sock_iov *v;
	int cnt, i;
	size_t at;              /* bytes of v[i] filled */
	sock_copy_fn copy;
};

static int piece_to_iov(void *ctx, const uint8_t *p, size_t n)
{
	struct scatter *sc = ctx;

	while (n) {
		size_t run;
		int rc;

		while (sc->i < sc->cnt && sc->at == sc->v[sc->i].len) {
			sc->i++;
			sc->at = 0;
		}
		if (sc->i == sc->cnt)
			return 0;       /* no room left (the caller's n is within it) */
		run = sc->v[sc->i].len - sc->at < n ? sc->v[sc->i].len - sc->at : n;
		rc = sc->copy((uint8_t *)sc->v[sc->i].base + sc->at, p, run);
		if (rc)
			return rc;
		p += run;
		n -= run;
		sc->at += run;
	}
	return 0;
}

int tcp_ring_peekv(const struct tcp_ring *r, size_t off, const struct sock_iov *v, int cnt, size_t n,
		   sock_copy_fn copy)
{
	struct scatter sc = { .v = v, .cnt = cnt, .copy = copy };

	if (!n)
		return 0;
	return ring_walk(r, off, n, piece_to_iov, &sc);
}

void tcp_ring_consume(struct tcp_ring *r, size_t n)
{
	size_t take = n < r->blen ? n : r->blen, old;

	if (take == r->blen && !r->claimed) {
		r->head = 0;
		r->blen = 0;
	} else {
		r->head = (r->head + take) % r->cap;
		r->blen -= take;
	}
	r->len -= take;
	n -= take;
	if (!r->chunks)
		return;
	old = ring_charged(r);
	while (r->chunks && n) {
		struct tcp_ring_chunk *k = r->chunks;

		if (n < k->len) {
			k->p += n;
			k->len -= n;
			r->len -= n;
			break;
		}
		n -= k->len;
		r->len -= k->len;
		r->chunks = k->next;
		r->chunk_mem -= k->truesize;
		chunk_free(k);
	}
	if (!r->chunks)
		r->last = NULL;
	ring_recharge(r, old);
}

void tcp_ring_shed(struct tcp_ring *r)
{
	size_t old = ring_charged(r);

	if (r->blen || r->claimed || r->cap <= r->min)
		return;
	/* The reservation stays: it is a promise made to the peer. */
	blk_put(r->buf);
	r->buf = NULL;
	r->shed_cap = r->cap;
	r->cap = r->head = 0;
	ring_recharge(r, old);
}

void tcp_ring_reclaim(struct tcp_ring *r)
{
	if (r->mem && tcp_mem_pressure(r->mem))
		tcp_ring_shed(r);
}

bool tcp_ring_oversized(const struct tcp_ring *r)
{
	size_t ncap = fit_cap(r);

	return r->cap > ncap && ncap >= r->min;
}

void tcp_ring_fit(struct tcp_ring *r)
{
	size_t ncap = fit_cap(r), old;
	uint8_t *nb;

	if (r->cap <= ncap || r->blen > ncap || ncap < r->min || r->claimed)
		return;
	nb = blk_alloc(ncap);
	if (!nb)
		return;
	old = ring_charged(r);
	buf_peek(r, 0, nb, r->blen);
	blk_put(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
	ring_recharge(r, old);
}

size_t tcp_ring_claim(struct tcp_ring *r, size_t n, struct tcp_ring_claim *cl)
{
	size_t tail, first;

	cl->n = 0;
	if (r->chunks || r->claimed)
		return 0;
	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (!(n = ring_tail_room(r, n, &tail, &first)))
		return 0;
	cl->p[0] = r->buf + tail;
	cl->len[0] = first;
	cl->p[1] = r->buf;
	cl->len[1] = n - first;
	cl->n = n;
	__atomic_add_fetch(&blk_of(r->buf)->refs, 1, __ATOMIC_RELAXED);
	cl->owner = blk_of(r->buf);
	r->claimed = n;
	return n;
}

size_t tcp_ring_commit(struct tcp_ring *r, struct tcp_ring_claim *cl, size_t n)
{
	if (!cl->n)
		return 0;
	if (!r->claimed || !r->buf || blk_of(r->buf) != cl->owner)
		n = 0;          /* the ring was freed meanwhile */
	r->claimed = 0;
	r->blen += n;
	r->len += n;
	tcp_ring_release(cl->owner);
	cl->n = 0;
	return n;
}

void tcp_ring_claim_drop(struct tcp_ring_claim *cl)
{
	if (cl->n)
		tcp_ring_release(cl->owner);
	cl->n = 0;
}
