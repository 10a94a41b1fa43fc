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

/*
 * The blocks buffers are carved from (pkb.h, PKB_RX_SLAB): the first 64
 * bytes hold this, the buffers follow, stride bytes apart. Under the
 * cache's lock. A buffer given back to its block is never handed out
 * again (only the whole block goes, once every buffer is back), so under
 * AddressSanitizer it is poisoned there: a use after that is reported as a
 * use after free() would be.
 */
struct pkb_rx_slab {
	size_t stride;          /* one buffer with its header */
	unsigned nbuf;          /* buffers the block holds */
	unsigned carved;        /* of them, handed out at least once */
	unsigned out;           /* carved and not given back to the block */
	unsigned cached;        /* pkb_rx_trim's count of them in the cache */
	bool doomed;            /* pkb_rx_trim gives it back */
};

#define SLAB_HDR 64
#define SLAB_MIN_BUFS 8         /* a size fewer of which fit in a block is malloc's */
#if defined(__SANITIZE_ADDRESS__)
/* The AddressSanitizer runtime's (sanitizer/asan_interface.h), declared
 * here: the core includes the C library's pure part only. */
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define SLAB_POISON(p, n) __asan_poison_memory_region((p), (n))
#define SLAB_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define SLAB_POISON(p, n) ((void)(p), (void)(n))
#define SLAB_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

static void *slab_alloc_default(size_t size)
{
	return aligned_alloc(size, size);
}

static void slab_release_default(void *p, size_t size)
{
	(void)size;
	free(p);
}

static struct {
	bool busy;              /* __atomic: the lock */
	unsigned n;
	unsigned low;           /* the fewest n held since the last trim */
	uint64_t trim_at;       /* when pkb_rx_trim next looks (0: not set) */
	long fresh;             /* buffers taken from malloc or a block (pkb_rx_fresh), under the lock */
	size_t size;            /* the size cached (the first one given back) */
	size_t slab_size;       /* the size carved from blocks (the first one asked for) */
	struct pkb_rx_slab *cur;        /* the block being carved */
	long slabs;             /* blocks held */
	void *(*slab_alloc)(size_t);
	void (*slab_release)(void *, size_t);
	struct pkb_rx *b[PKB_RX_CACHE];
} rx_cache = { .slab_alloc = slab_alloc_default, .slab_release = slab_release_default };

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

void pkb_rx_slab_ops(void *(*alloc_fn)(size_t size), void (*release_fn)(void *p, size_t size))
{
	rx_cache_lock();
	/* Blocks already held go back through the allocator they came from:
	 * only before the first one. */
	if (!rx_cache.slabs) {
		rx_cache.slab_alloc = alloc_fn ? alloc_fn : slab_alloc_default;
		rx_cache.slab_release = release_fn ? release_fn : slab_release_default;
	}
	rx_cache_unlock();
}

static size_t slab_stride(size_t size)
{
	return (sizeof(struct pkb_rx) + size + _Alignof(struct pkb_rx) - 1) & ~(size_t)(_Alignof(struct pkb_rx) - 1);
}

/* Under the lock: a buffer of size from the block being carved, or NULL. */
static struct pkb_rx *slab_carve(size_t size)
{
	struct pkb_rx_slab *sl = rx_cache.cur;
	struct pkb_rx *b;

	if (!sl || sl->carved == sl->nbuf || size != rx_cache.slab_size)
		return NULL;
	b = (struct pkb_rx *)(void *)((uint8_t *)sl + SLAB_HDR + (size_t)sl->carved * sl->stride);
	sl->carved++;
	sl->out++;
	b->size = size;
	b->slab = sl;
	return b;
}

/* Under the lock: b goes back to its block; the block to give back when
 * that was its last buffer out (NULL otherwise). */
static struct pkb_rx_slab *slab_put(struct pkb_rx *b)
{
	struct pkb_rx_slab *sl = b->slab;

	SLAB_POISON(b, sl->stride);
	if (--sl->out)
		return NULL;
	if (sl == rx_cache.cur)
		rx_cache.cur = NULL;
	rx_cache.slabs--;
	return sl;
}

/* Under the lock: the allocator's release, for slab_free after it. */
static void (*slab_releaser(void))(void *, size_t)
{
	return rx_cache.slab_release;
}

static void slab_free(void (*release)(void *, size_t), struct pkb_rx_slab *sl)
{
	if (!sl)
		return;
	/* Unmapped memory must not keep its poison for the next mapping there. */
	SLAB_UNPOISON(sl, PKB_RX_SLAB);
	release(sl, PKB_RX_SLAB);
}

/* A new block for buffers of size (or NULL: the size is not carved). */
static struct pkb_rx *slab_new(size_t size, void *(*alloc_fn)(size_t), void (*release_fn)(void *, size_t))
{
	size_t stride = slab_stride(size);
	struct pkb_rx_slab *sl, *spare = NULL;
	struct pkb_rx *b;

	if ((PKB_RX_SLAB - SLAB_HDR) / stride < SLAB_MIN_BUFS)
		return NULL;
	sl = alloc_fn(PKB_RX_SLAB);
	if (!sl)
		return NULL;
	*sl = (struct pkb_rx_slab){ .stride = stride, .nbuf = (unsigned)((PKB_RX_SLAB - SLAB_HDR) / stride) };
	rx_cache_lock();
	if (!rx_cache.slab_size)
		rx_cache.slab_size = size;
	b = slab_carve(size);
	if (b) {
		spare = sl;     /* another thread made one meanwhile */
	} else if (size == rx_cache.slab_size) {
		/* The full one stays until its buffers are back (slab_put). */
		rx_cache.cur = sl;
		rx_cache.slabs++;
		b = slab_carve(size);
	} else {
		spare = sl;
	}
	rx_cache_unlock();
	slab_free(release_fn, spare);
	return b;
}

struct pkb_rx *pkb_rx_alloc(size_t size)
{
	struct pkb_rx *b = NULL;
	void *(*alloc_fn)(size_t) = NULL;
	void (*release_fn)(void *, size_t) = NULL;

	rx_cache_lock();
	if (rx_cache.n && rx_cache.size == size) {
		b = rx_cache.b[--rx_cache.n];
		if (rx_cache.n < rx_cache.low)
			rx_cache.low = rx_cache.n;
	} else {
		rx_cache.fresh++;
		b = slab_carve(size);
		if (!b && (!rx_cache.slab_size || rx_cache.slab_size == size)) {
			alloc_fn = rx_cache.slab_alloc;
			release_fn = rx_cache.slab_release;
		}
	}
	rx_cache_unlock();
	if (!b && alloc_fn)
		b = slab_new(size, alloc_fn, release_fn);
	if (!b) {
		b = aligned_alloc(_Alignof(struct pkb_rx), slab_stride(size));
		if (!b)
			return NULL;
		b->size = size;
		b->slab = NULL;
	}
	__atomic_store_n(&b->refs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
	return b;
}

/* One of the cache's counts, read under its lock. */
static long rx_cache_count(int which)
{
	long n;

	rx_cache_lock();
	n = which == 0 ? rx_cache.fresh : which == 1 ? (long)rx_cache.n : rx_cache.slabs;
	rx_cache_unlock();
	return n;
}

long pkb_rx_fresh(void)
{
	return rx_cache_count(0);
}

long pkb_rx_slabs(void)
{
	return rx_cache_count(2);
}

/*
 * Under the lock: takes up to budget idle buffers out of the cache into
 * spare (malloc's, each on its own) and slabs (blocks every buffer out of
 * which is in the cache, taken whole, all their buffers out of the cache).
 * Returns how many of each through *nspare and *nslabs.
 */
static void trim_take(unsigned budget, struct pkb_rx **spare, unsigned *nspare,
		      struct pkb_rx_slab **slabs, unsigned *nslabs)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < rx_cache.n; i++) {
		if (rx_cache.b[i]->slab) {
			rx_cache.b[i]->slab->cached = 0;
			rx_cache.b[i]->slab->doomed = false;
		}
	}
	for (unsigned i = 0; i < rx_cache.n; i++)
		if (rx_cache.b[i]->slab)
			rx_cache.b[i]->slab->cached++;
	/* The most recent last: the oldest go first. */
	for (unsigned i = 0; i < rx_cache.n && budget; i++) {
		struct pkb_rx_slab *sl = rx_cache.b[i]->slab;

		if (!sl) {
			budget--;
			spare[(*nspare)++] = rx_cache.b[i];
			rx_cache.b[i] = NULL;
		} else if (!sl->doomed && sl->cached == sl->out && sl->cached <= budget) {
			sl->doomed = true;
			budget -= sl->cached;
			slabs[(*nslabs)++] = sl;
			if (sl == rx_cache.cur)
				rx_cache.cur = NULL;
			rx_cache.slabs--;
		}
	}
	for (unsigned i = 0; i < rx_cache.n; i++)
		if (rx_cache.b[i] && !(rx_cache.b[i]->slab && rx_cache.b[i]->slab->doomed))
			rx_cache.b[keep++] = rx_cache.b[i];
	rx_cache.n = keep;
}

uint64_t pkb_rx_trim(uint64_t now)
{
	struct pkb_rx *spare[PKB_RX_CACHE];
	struct pkb_rx_slab *slabs[PKB_RX_CACHE];
	unsigned nspare = 0, nslabs = 0, room;
	void (*release_fn)(void *, size_t);
	uint64_t at;

	rx_cache_lock();
	release_fn = slab_releaser();
	if (!rx_cache.trim_at) {
		rx_cache.trim_at = now + PKB_RX_TRIM_US;
		rx_cache.low = rx_cache.n;
	} else if (now >= rx_cache.trim_at) {
		/* Buffers the cache held all period long: nobody needed them. */
		unsigned idle = rx_cache.low < rx_cache.n ? rx_cache.low : rx_cache.n;

		if (idle > PKB_RX_CACHE_KEEP)
			trim_take(idle - PKB_RX_CACHE_KEEP, spare, &nspare, slabs, &nslabs);
		rx_cache.low = rx_cache.n;
		rx_cache.trim_at = now + PKB_RX_TRIM_US;
	}
	/* Past the floor by less than a block: nothing a trim could give
	 * back, unless buffers come and go meanwhile (which wakes the thread). */
	room = rx_cache.slabs ? (unsigned)((PKB_RX_SLAB - SLAB_HDR) / slab_stride(rx_cache.slab_size)) - 1 : 0;
	at = rx_cache.n > PKB_RX_CACHE_KEEP + room ? rx_cache.trim_at : UINT64_MAX;
	rx_cache_unlock();
	while (nspare)
		free(spare[--nspare]);
	while (nslabs)
		slab_free(release_fn, slabs[--nslabs]);
	return at;
}

long pkb_rx_cached(void)
{
	return rx_cache_count(1);
}

void pkb_rx_hold(struct pkb_rx *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

void pkb_rx_put(struct pkb_rx *b)
{
	struct pkb_rx_slab *sl = NULL;
	void (*release_fn)(void *, size_t);

	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
	rx_cache_lock();
	release_fn = slab_releaser();
	if (!rx_cache.n && !rx_cache.size)
		rx_cache.size = b->size;
	if (rx_cache.n < PKB_RX_CACHE && rx_cache.size == b->size) {
		rx_cache.b[rx_cache.n++] = b;
		b = NULL;
	} else if (b->slab) {
		sl = slab_put(b);
		b = NULL;
	}
	rx_cache_unlock();
	slab_free(release_fn, sl);
	free(b);
}
