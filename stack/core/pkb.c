#include "stack/core/pkb.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"

static long live_count;

static struct pkb *alloc(size_t size, size_t slack, size_t at)
{
	size_t cap = PKB_HEADROOM + slack + size;
	struct pkb *pkb = malloc(sizeof(*pkb) + cap);
	size_t pad = 0;

	if (!pkb)
		return NULL;
	if (slack)
		pad = (PKB_ALIGN - ((uintptr_t)(pkb->buf + PKB_HEADROOM + at) % PKB_ALIGN)) % PKB_ALIGN;
	pkb->next = NULL;
	pkb->cap = cap;
	pkb->data = pkb->buf + PKB_HEADROOM + pad;
	pkb->len = 0;
	pkb->when = 0;
	pkb->next_hop = 0;
	pkb->gso_size = 0;
	pkb->ext = NULL;
	__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	return pkb;
}

struct pkb *pkb_alloc(size_t size)
{
	return alloc(size, 0, 0);
}

struct pkb *pkb_alloc_aligned(size_t size, size_t at)
{
	return alloc(size, PKB_ALIGN - 1, at % PKB_ALIGN);
}

struct pkb *pkb_alloc_frame(size_t size)
{
	return pkb_alloc_aligned(size, PKB_ALIGN - (IP4_HLEN + ETH_HLEN) % PKB_ALIGN);
}

void pkb_free(struct pkb *pkb)
{
	if (!pkb)
		return;
	__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
	if (pkb->ext && pkb->ext->put)
		pkb->ext->put(pkb->ext->owner);
	free(pkb);
}

struct pkb_ext *pkb_ext_attach(struct pkb *pkb)
{
	uintptr_t end = (uintptr_t)(pkb->buf + pkb->cap), at;

	at = (uintptr_t)(pkb->data + pkb->len);
	at = (at + _Alignof(struct pkb_ext) - 1) & ~(uintptr_t)(_Alignof(struct pkb_ext) - 1);
	if (pkb->ext || at + sizeof(struct pkb_ext) > end)
		return NULL;
	pkb->ext = (struct pkb_ext *)at;
	memset(pkb->ext, 0, sizeof(*pkb->ext));
	/* The tail is the ext's now: nothing more is put after data. */
	pkb->cap = (size_t)((uint8_t *)pkb->ext - pkb->buf);
	return pkb->ext;
}

/* A new buffer with every byte of src's frame, its bookkeeping copied
 * (not next: the copy is on no queue); NULL when out of memory. */
static struct pkb *copy_whole(const struct pkb *src)
{
	size_t n = pkb_frame_len(src);
	struct pkb *pkb = pkb_alloc(n);
	uint8_t *p;

	if (!pkb)
		return NULL;
	p = pkb_put(pkb, n);
	memcpy(p, src->data, src->len);
	if (src->ext) {
		memcpy(p + src->len, src->ext->p[0], src->ext->n[0]);
		if (src->ext->n[1])
			memcpy(p + src->len + src->ext->n[0], src->ext->p[1], src->ext->n[1]);
	}
	pkb->when = src->when;
	pkb->next_hop = src->next_hop;
	pkb->gso_size = src->gso_size;
	return pkb;
}

struct pkb *pkb_linearize(struct pkb *pkb)
{
	struct pkb *n;

	if (!pkb->ext)
		return pkb;
	n = copy_whole(pkb);
	if (n)
		n->next = pkb->next;
	pkb_free(pkb);
	return n;
}

uint8_t *pkb_push(struct pkb *pkb, size_t n)
{
	if ((size_t)(pkb->data - pkb->buf) < n)
		return NULL;
	pkb->data -= n;
	pkb->len += n;
	return pkb->data;
}

uint8_t *pkb_put(struct pkb *pkb, size_t n)
{
	size_t used = (size_t)(pkb->data - pkb->buf) + pkb->len;
	uint8_t *p;

	if (pkb->cap - used < n)
		return NULL;
	p = pkb->data + pkb->len;
	pkb->len += n;
	return p;
}

struct pkb *pkb_clone(const struct pkb *src)
{
	struct pkb *pkb;

	if (src->ext)
		return copy_whole(src);
	pkb = malloc(sizeof(*pkb) + src->cap);
	if (!pkb)
		return NULL;
	memcpy(pkb, src, sizeof(*pkb) + src->cap);
	pkb->next = NULL;
	pkb->data = pkb->buf + (src->data - src->buf);
	__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	return pkb;
}

long pkb_live(void)
{
	return __atomic_load_n(&live_count, __ATOMIC_RELAXED);
}

/*
 * Freed receive buffers wait here for the next pkb_rx_alloc of their size
 * (the reader's next buffer, once a queue kept its last one): a buffer
 * given back to malloc and taken again is fresh memory often enough (an
 * arena trimmed in between) that each frame paid for a page fault per
 * page of it, more than the copy it saved. A spin lock over a few
 * instructions: the allocating reader and the freeing reader (a program's
 * recv) are different threads.
 *
 * How many: as many as were in use at once lately. The receive queues
 * of iperf3's four streams (peer -> pstack) held 300 to 400 frames
 * between two reads of the program and gave them back together: a fixed
 * 64 buffers took most of those fresh from malloc again, 17,000 to 27,000
 * page faults in 2 s, each a trap to the hypervisor here, the largest
 * single cost of the receive path (9% of its CPU); with the cache as deep
 * as the burst, 100 to 2,400. What stayed unused for a whole trim period
 * (pkb_rx_trim: the lowest count the cache fell to during it) goes back
 * to malloc, down to PKB_RX_CACHE_KEEP, so that a program that received
 * one burst does not keep its memory: the receive queues' memory is
 * bounded by PSTACK_TCP_MEM, and so is the cache's, by PKB_RX_CACHE.
 */
#define PKB_RX_CACHE 1024
#define PKB_RX_CACHE_KEEP 64
#define PKB_RX_TRIM_US 1000000u

static struct {
	bool busy;              /* __atomic: the lock */
	unsigned n;
	unsigned low;           /* the fewest n held since the last trim */
	uint64_t trim_at;       /* when pkb_rx_trim next looks (0: not set) */
	long fresh;             /* buffers taken from malloc (pkb_rx_fresh), under the lock */
	size_t size;            /* the size cached (the first one given back) */
	struct pkb_rx *b[PKB_RX_CACHE];
} rx_cache;

static void rx_cache_lock(void)
{
	while (__atomic_test_and_set(&rx_cache.busy, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&rx_cache.busy, __ATOMIC_RELAXED))
			;
}

static void rx_cache_unlock(void)
{
	__atomic_clear(&rx_cache.busy, __ATOMIC_RELEASE);
}

struct pkb_rx *pkb_rx_alloc(size_t size)
{
	struct pkb_rx *b = NULL;

	rx_cache_lock();
	if (rx_cache.n && rx_cache.size == size) {
		b = rx_cache.b[--rx_cache.n];
		if (rx_cache.n < rx_cache.low)
			rx_cache.low = rx_cache.n;
	} else {
		rx_cache.fresh++;
	}
	rx_cache_unlock();
	if (!b) {
		b = aligned_alloc(_Alignof(struct pkb_rx), (sizeof(*b) + size + _Alignof(struct pkb_rx) - 1) &
			~(size_t)(_Alignof(struct pkb_rx) - 1));
		if (!b)
			return NULL;
		b->size = size;
	}
	__atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	return b;
}

/* One of the cache's counts, read under its lock. */
static long rx_cache_count(bool fresh)
{
	long n;

	rx_cache_lock();
	n = fresh ? rx_cache.fresh : (long)rx_cache.n;
	rx_cache_unlock();
	return n;
}

long pkb_rx_fresh(void)
{
	return rx_cache_count(true);
}

uint64_t pkb_rx_trim(uint64_t now)
{
	struct pkb_rx *spare[PKB_RX_CACHE];
	unsigned nspare = 0;
	uint64_t at;

	rx_cache_lock();
	if (!rx_cache.trim_at) {
		rx_cache.trim_at = now + PKB_RX_TRIM_US;
		rx_cache.low = rx_cache.n;
	} else if (now >= rx_cache.trim_at) {
		/* Buffers the cache held all period long: nobody needed them. */
		unsigned idle = rx_cache.low < rx_cache.n ? rx_cache.low : rx_cache.n;

		while (idle > PKB_RX_CACHE_KEEP && rx_cache.n > PKB_RX_CACHE_KEEP) {
			spare[nspare++] = rx_cache.b[--rx_cache.n];
			idle--;
		}
		rx_cache.low = rx_cache.n;
		rx_cache.trim_at = now + PKB_RX_TRIM_US;
	}
	at = rx_cache.n > PKB_RX_CACHE_KEEP ? rx_cache.trim_at : UINT64_MAX;
	rx_cache_unlock();
	while (nspare)
		free(spare[--nspare]);
	return at;
}

long pkb_rx_cached(void)
{
	return rx_cache_count(false);
}

void pkb_rx_hold(struct pkb_rx *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void pkb_rx_put(struct pkb_rx *b)
{
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
	rx_cache_lock();
	if (!rx_cache.n && !rx_cache.size)
		rx_cache.size = b->size;
	if (rx_cache.n < PKB_RX_CACHE && rx_cache.size == b->size) {
		rx_cache.b[rx_cache.n++] = b;
		b = NULL;
	}
	rx_cache_unlock();
	free(b);
}
