#include "stack/core/tcp/tcp_ring.h"

#include "stack/core/copy.h"

#include <stdlib.h>
#include <string.h>

/*
 * A ring's memory is a block with a reference count in front of the bytes:
 * the ring holds one, and each frame whose payload is left in the ring
 * (tcp_ring_hold, zero-copy transmit) one more, given back when the frame
 * is freed, by whichever thread wrote it (atomic). A ring that grows,
 * shrinks or is freed lets go of its block; the bytes stay for the frames
 * that still point into them. The bytes start on a 64-byte line (PKB_ALIGN:
 * where the TAP's copy of them is fast).
 */
#define RING_BLK_HDR 64

struct ring_blk {
	unsigned refs;          /* __atomic */
};

static uint8_t *blk_alloc(size_t cap)
{
	struct ring_blk *b = aligned_alloc(RING_BLK_HDR, (RING_BLK_HDR + cap + RING_BLK_HDR - 1) &
					   ~(size_t)(RING_BLK_HDR - 1));

	if (!b)
		return NULL;
	__atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
	return (uint8_t *)b + RING_BLK_HDR;
}

static struct ring_blk *blk_of(const uint8_t *buf)
{
	return (struct ring_blk *)(uintptr_t)(buf - RING_BLK_HDR);
}

static void blk_put(uint8_t *buf)
{
	struct ring_blk *b;

	if (!buf)
		return;
	b = blk_of(buf);
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

void tcp_ring_release(void *owner)
{
	struct ring_blk *b = owner;

	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

int tcp_ring_hold(const struct tcp_ring *r, size_t off, size_t n, const uint8_t *p[2], size_t len[2],
		  void **owner)
{
	size_t start, first;

	if (!n || !r->buf || off + n > r->len)
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
	r->cap = r->head = r->len = r->resv = 0;
	r->limit = limit;
	r->min = TCP_RING_MIN;
	r->mem = mem;
}

/* What the budget is charged for this ring. */
static size_t ring_charged(const struct tcp_ring *r)
{
	return r->cap > r->resv ? r->cap : r->resv;
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

void tcp_ring_free(struct tcp_ring *r)
{
	size_t old = ring_charged(r);

	blk_put(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = r->resv = 0;
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
	size_t need = ncap > r->resv ? ncap : r->resv;

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

/* Grows the allocation to hold at least need bytes; keeps the data in order. */
static void ring_grow(struct tcp_ring *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : TCP_RING_MIN;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	if (ncap > r->limit && need <= r->limit)
		ncap = r->limit;
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
	nb = blk_alloc(ncap);
	if (!nb) {
		if (r->mem) {
			size_t was = ncap > r->resv ? ncap : r->resv;

			tcp_mem_uncharge(r->mem, was - ring_charged(r));
		}
		return;
	}
	tcp_ring_peek(r, 0, nb, r->len);
	blk_put(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
}

size_t tcp_ring_write(struct tcp_ring *r, const void *src, size_t n)
{
	const uint8_t *p = src;
	size_t tail, first;

	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (r->len + n > r->cap)
		ring_grow(r, r->len + n);
	if (r->len + n > r->cap)
		n = r->cap - r->len;
	if (!n)
		return 0;
	tail = (r->head + r->len) % r->cap;
	first = r->cap - tail < n ? r->cap - tail : n;
	stack_copy_bytes(r->buf + tail, p, first);
	if (n > first)
		stack_copy_bytes(r->buf, p + first, n - first);
	r->len += n;
	return n;
}

void tcp_ring_peek(const struct tcp_ring *r, size_t off, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t start, first;

	if (!n)
		return;
	start = (r->head + off) % r->cap;
	first = r->cap - start < n ? r->cap - start : n;
	stack_copy_bytes(d, r->buf + start, first);
	if (n > first)
		stack_copy_bytes(d + first, r->buf, n - first);
}

/*
 * Copies n bytes between the ring's bytes from index at (wrapping) and the
 * buffers v, in the direction out says; 0 or the copy's -EFAULT.
 */
static int ring_copyv(uint8_t *buf, size_t cap, size_t at, const struct sock_iov *v, int cnt, size_t n,
		      bool out, sock_copy_fn copy)
{
	for (int i = 0; i < cnt && n; i++) {
		uint8_t *p = v[i].base;
		size_t left = v[i].len < n ? v[i].len : n;

		n -= left;
		while (left) {
			size_t run = cap - at < left ? cap - at : left;
			int rc = out ? copy(p, buf + at, run) : copy(buf + at, p, run);

			if (rc)
				return rc;
			p += run;
			left -= run;
			at = (at + run) % cap;
		}
	}
	return 0;
}

long tcp_ring_writev(struct tcp_ring *r, const struct sock_iov *v, int cnt, size_t n, sock_copy_fn copy)
{
	int rc;

	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (r->len + n > r->cap)
		ring_grow(r, r->len + n);
	if (r->len + n > r->cap)
		n = r->cap - r->len;
	if (!n)
		return 0;
	/* The length moves only once every byte is in: a copy that fails
	 * leaves the ring as it was. */
	rc = ring_copyv(r->buf, r->cap, (r->head + r->len) % r->cap, v, cnt, n, false, copy);
	if (rc)
		return rc;
	r->len += n;
	return (long)n;
}

int tcp_ring_peekv(const struct tcp_ring *r, size_t off, const struct sock_iov *v, int cnt, size_t n,
		   sock_copy_fn copy)
{
	if (!n)
		return 0;
	return ring_copyv(r->buf, r->cap, (r->head + off) % r->cap, v, cnt, n, true, copy);
}

void tcp_ring_consume(struct tcp_ring *r, size_t n)
{
	if (n >= r->len) {
		r->head = 0;
		r->len = 0;
		return;
	}
	r->head = (r->head + n) % r->cap;
	r->len -= n;
}

void tcp_ring_reclaim(struct tcp_ring *r)
{
	size_t old = ring_charged(r);

	if (r->len || r->cap <= r->min || !r->mem || !tcp_mem_pressure(r->mem))
		return;
	/* The reservation stays: it is a promise made to the peer. */
	blk_put(r->buf);
	r->buf = NULL;
	r->cap = r->head = 0;
	ring_recharge(r, old);
}

void tcp_ring_fit(struct tcp_ring *r)
{
	size_t ncap = TCP_RING_MIN, old;
	uint8_t *nb;

	while (ncap < r->limit)
		ncap *= 2;
	if (r->cap <= ncap || r->len > ncap || ncap < r->min)
		return;
	nb = blk_alloc(ncap);
	if (!nb)
		return;
	old = ring_charged(r);
	tcp_ring_peek(r, 0, nb, r->len);
	blk_put(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
	ring_recharge(r, old);
}
