/*
 * A byte ring for TCP's send and receive queues: data is copied in once and
 * out once, never moved per segment. The ring grows (doubling; in place
 * while no frame holds its block, else relinearised into a new one) up to a
 * limit so that idle connections do not hold megabytes; a limit that moves
 * up (autotuning) is grown past by half, so that its small steps are not
 * each a growth (ring_grow).
 *
 * Every ring of a stack draws its allocation from one shared budget
 * (struct tcp_mem, PSTACK_TCP_MEM), like Linux's tcp_mem: a ring may always
 * hold its minimum (TCP_RING_MIN unless set: PSTACK_TCP_RMEM's and
 * PSTACK_TCP_WMEM's first number), so every connection can make progress,
 * like Linux's tcp_rmem[0]/tcp_wmem[0] guarantee, and grows past that only while
 * the budget has room. The room a ring reports (tcp_ring_space) already
 * accounts for the budget, so the receive window and POLLOUT shrink with it.
 *
 * A receive ring also holds a reservation (tcp_ring_reserve): the bytes it
 * has promised the peer (held + advertised window) are charged when the
 * window is advertised, not when the data comes, so data inside a window we
 * advertised always finds room: a window is never a promise the budget
 * cannot keep (otherwise a peer that was offered 1 MiB on each of many
 * connections sends into drops and backs its timer off for minutes).
 */
#ifndef PSTACK_TCP_RING_H
#define PSTACK_TCP_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"
#include "stack/core/sock.h"

#define TCP_RING_MIN 4096

/* A stack-wide budget in bytes; shared by the rings and out-of-order data. */
struct tcp_mem {
	size_t used;
	size_t limit;
	size_t peak;
	uint64_t refused;       /* growths or charges refused for lack of budget */
};

/* Charges n bytes; false (nothing charged) when that would pass the limit. */
bool tcp_mem_charge(struct tcp_mem *m, size_t n);
/* Charges n bytes whatever the limit says (the guaranteed minimum). */
void tcp_mem_force(struct tcp_mem *m, size_t n);
void tcp_mem_uncharge(struct tcp_mem *m, size_t n);
/* Above three quarters of the budget: empty rings give their memory back. */
bool tcp_mem_pressure(const struct tcp_mem *m);
/* Half the budget spent: send buffers stop growing (Linux's tcp_mem[0],
 * "low", is half its tcp_mem[2] by default). */
bool tcp_mem_above_low(const struct tcp_mem *m);

/*
 * Zero-copy receive: bytes held outside the ring, after all of its own, in
 * order: a large frame's payload left in the buffer it was read into
 * (tcp_ring_adopt: rx holds a reference on it), or bytes copied into the
 * chunk itself (data: what comes while adopted bytes are queued, which
 * must stay behind them).
 */
struct tcp_ring_chunk {
	struct tcp_ring_chunk *next;
	const uint8_t *p;       /* the first byte held */
	size_t len;             /* bytes held from p */
	size_t room;            /* a copy chunk: bytes data has; 0: adopted */
	size_t truesize;        /* the memory it costs (charged with the ring's) */
	struct pkb_rx *rx;      /* adopted: the frame's buffer */
	uint8_t data[];
};

struct tcp_ring {
	uint8_t *buf;
	size_t cap;     /* bytes allocated */
	size_t head;    /* index of the first byte */
	size_t len;     /* bytes held: blen in buf, then the chunks' */
	size_t blen;    /* bytes held in buf */
	size_t limit;   /* len never passes this; cap only while it moves (ring_grow) */
	size_t grown_at; /* the limit when the allocation last grew (0: never) */
	size_t shed_cap; /* the allocation tcp_ring_shed let go (0: none since) */
	size_t grow_copied; /* bytes growths copied into a new block (ring_grow; none when it grows in place) */
	size_t min;     /* what it may always hold, budget or not (tcp_rmem[0]/tcp_wmem[0]; TCP_RING_MIN by default) */
	size_t resv;    /* bytes reserved in the budget beyond cap (receive window promises) */
	struct tcp_mem *mem; /* budget the allocation is charged to; NULL: none */
	struct tcp_ring_chunk *chunks, *last;  /* bytes held outside buf, after blen (NULL: none) */
	size_t chunk_mem;       /* their truesizes */
	size_t claimed; /* bytes after blen a writer copies into without the lock (tcp_ring_claim); 0: none */
};

/* Room after a ring's bytes lent to a writer that copies into it without
 * the stack lock (tcp_ring_claim), until tcp_ring_commit. */
struct tcp_ring_claim {
	uint8_t *p[2];
	size_t len[2];
	size_t n;
	void *owner;            /* a reference on the ring's block */
};

void tcp_ring_init(struct tcp_ring *r, size_t limit, struct tcp_mem *mem);
void tcp_ring_free(struct tcp_ring *r);
/* Room left before the limit, and before the budget (see above). */
/* What the ring may hold now: its limit, or less while the budget is spent
 * (its charge and the guaranteed minimum, and what the budget has left). */
size_t tcp_ring_reach(const struct tcp_ring *r);
size_t tcp_ring_space(const struct tcp_ring *r);
/* Appends up to n bytes (fewer when the limit, the budget or memory is reached); returns how many. */
size_t tcp_ring_write(struct tcp_ring *r, const void *src, size_t n);
/*
 * Zero-copy receive: appends up to n bytes at p, which lie in b's data,
 * by keeping them there (a reference on b) instead of copying them: as
 * many as tcp_ring_write would take. Returns how many.
 */
size_t tcp_ring_adopt(struct tcp_ring *r, const uint8_t *p, size_t n, struct pkb_rx *b);
/* The memory the ring holds: its allocation and its chunks'. */
size_t tcp_ring_mem(const struct tcp_ring *r);
/* Copies n bytes starting at off (off + n <= len) into dst. */
void tcp_ring_peek(const struct tcp_ring *r, size_t off, void *dst, size_t n);
/*
 * The same for a socket call's buffers, whose memory may fail to copy
 * (sock_copy_fn): tcp_ring_writev appends up to n bytes gathered from v
 * (fewer as tcp_ring_write) and returns how many, or -EFAULT with nothing
 * appended; tcp_ring_peekv scatters the n bytes from off (off + n <= len)
 * over v: 0, or -EFAULT. The buffers hold at least n bytes.
 */
long tcp_ring_writev(struct tcp_ring *r, const struct sock_iov *v, int cnt, size_t n, sock_copy_fn copy);
int tcp_ring_peekv(const struct tcp_ring *r, size_t off, const struct sock_iov *v, int cnt, size_t n,
		   sock_copy_fn copy);
/*
 * Zero-copy transmit: the n bytes from off (off + n <= len) where they are,
 * in one or two ranges (p[0], len[0]; p[1], len[1] when they wrap), and a
 * reference on the ring's memory (*owner) that keeps them readable after
 * the ring lets go of it (grows, shrinks, is freed), until
 * tcp_ring_release(*owner), from any thread. Returns the count of ranges,
 * 0 (nothing held) for none. The bytes stay the ring's: once consumed,
 * later writes may reuse their room.
 */
int tcp_ring_hold(const struct tcp_ring *r, size_t off, size_t n, const uint8_t *p[2], size_t len[2],
		  void **owner);
void tcp_ring_release(void *owner);
/*
 * Lends the room for up to n bytes after the ring's own (fewer as
 * tcp_ring_write) to a writer that fills it without the stack lock: the
 * ring's memory does not move until tcp_ring_commit (no growth, fit,
 * reclaim, nor a consume that moves head), and a reference on its block
 * keeps the room writable if the ring is freed meanwhile. Returns the bytes
 * lent (0: none, nothing held). One claim at a time, on a ring without
 * chunks (a send ring).
 */
size_t tcp_ring_claim(struct tcp_ring *r, size_t n, struct tcp_ring_claim *cl);
/* Ends a claim: the first n of its bytes (n <= cl->n) become the ring's,
 * unless the ring let go of the claim meanwhile (freed): returns the bytes
 * added. Drops the claim's reference. */
size_t tcp_ring_commit(struct tcp_ring *r, struct tcp_ring_claim *cl, size_t n);
/* Ends a claim whose ring is gone: drops its reference only. */
void tcp_ring_claim_drop(struct tcp_ring_claim *cl);
/* Drops n bytes from the front (n <= len). */
void tcp_ring_consume(struct tcp_ring *r, size_t n);
/* Sets the reservation to bytes (at most the limit): what the ring must be
 * able to hold without asking the budget again. Charged whatever the
 * budget says: the caller sized it from tcp_ring_space(). */
void tcp_ring_reserve(struct tcp_ring *r, size_t bytes);
/* Gives an empty ring's allocation back to the budget when it is under
 * pressure and the ring holds more than the minimum (Linux's sk_mem_reclaim). */
void tcp_ring_reclaim(struct tcp_ring *r);
/* Gives an empty ring's allocation back whatever the budget says, when it
 * holds more than the minimum: a send ring whose bytes were all
 * acknowledged (Linux frees a send queue's buffers as the ACKs come,
 * tcp_clean_rtx_queue). The block goes to a cache the next growth takes
 * from. */
void tcp_ring_shed(struct tcp_ring *r);
/* Brings an allocation larger than the limit down to it (the power of two
 * at or above it), once the bytes held fit; keeps the data in order. */
void tcp_ring_fit(struct tcp_ring *r);
/* Whether the allocation is larger than tcp_ring_fit would leave it. */
bool tcp_ring_oversized(const struct tcp_ring *r);

#endif
