/*
 * Packet buffers for the transmit path.
 *
 * The receive path never needs one: it parses the received frame in place as a
 * const byte range and copies payload where it is kept (receive queues,
 * reassembly), or keeps the frame's buffer itself (struct pkb_rx, below). A transmit packet is built back to front: the transport writes
 * its header and payload after PKB_HEADROOM bytes, then each lower layer
 * prepends its own header with pkb_push().
 */
#ifndef PSTACK_PKB_H
#define PSTACK_PKB_H

#include <stddef.h>
#include <stdint.h>

/* Room for Ethernet (14) + IPv4 with options (60) + TCP with options (60), rounded. */
#define PKB_HEADROOM 160

struct pkb {
	struct pkb *next;   /* for the queue that owns it (ARP pending, fault delay line) */
	uint8_t *data;      /* first valid byte */
	size_t len;         /* valid bytes from data */
	size_t cap;         /* bytes allocated at buf */
	uint64_t when;      /* free for the owner's use (e.g. release time) */
	uint32_t next_hop;  /* IPv4 next hop, while waiting for ARP */
	uint16_t gso_size;  /* TSO: a TCP segment larger than the MTU, to be cut by the
			     * device into segments of this payload size (0: none) */
	struct pkb_ext *ext; /* the frame's tail outside buf (NULL: none): pkb_ext */
	uint8_t buf[];
};

/*
 * Zero-copy transmit: a TSO frame's payload left where it is (the send
 * ring), in up to two ranges after the len bytes at data, kept alive by a
 * reference on their owner that pkb_free gives back (put). The frame is
 * data[0..len) then ext->p[0..n[0]) then ext->p[1]..n[1]); its length is
 * pkb_frame_len. A device that takes the pieces (netdev's transmit_ext)
 * writes them as they are; every other consumer of the frame's bytes asks
 * pkb_linearize first.
 */
struct pkb_ext {
	const uint8_t *p[2];
	size_t n[2];
	void (*put)(void *owner);
	void *owner;
};

static inline size_t pkb_ext_len(const struct pkb *pkb)
{
	return pkb->ext ? pkb->ext->n[0] + pkb->ext->n[1] : 0;
}

/* The whole frame's length: the bytes at data and the tail outside. */
static inline size_t pkb_frame_len(const struct pkb *pkb)
{
	return pkb->len + pkb_ext_len(pkb);
}

/* Room for an ext in the buffer itself (no allocation of its own): taken
 * from the tailroom of a buffer allocated with PKB_EXT_ROOM more bytes.
 * Returns the ext, zeroed, or NULL when the buffer has no room. */
#define PKB_EXT_ROOM (sizeof(struct pkb_ext) + _Alignof(struct pkb_ext))
struct pkb_ext *pkb_ext_attach(struct pkb *pkb);
/* The frame in one buffer: pkb itself when it has no ext, else a new pkb
 * holding every byte (pkb is freed). NULL when out of memory (pkb freed). */
struct pkb *pkb_linearize(struct pkb *pkb);

/* A buffer with PKB_HEADROOM bytes of headroom and room for `size` bytes after
 * it; data points after the headroom and len is 0. NULL when out of memory. */
struct pkb *pkb_alloc(size_t size);
void pkb_free(struct pkb *pkb);
/*
 * The same, with data placed so that (data + at) is a multiple of
 * PKB_ALIGN: the frame's bytes then sit where the kernel copies them fast.
 * The TAP's write copies a frame into kernel buffers whose bytes are
 * 64-byte aligned (a small frame whole from its first byte; a TSO frame's
 * payload, after the vnet header's hdr_len bytes, into pages), with
 * `rep movsb`, which on AMD's Zen 3 runs 15 times slower when the
 * destination is 1 to 31 bytes past the source modulo 64 (copy.h).
 */
#define PKB_ALIGN 64
struct pkb *pkb_alloc_aligned(size_t size, size_t at);
/* The same for the IP payload of a frame the stack sends: once IPv4 (its
 * 20 bytes without options) and Ethernet are pushed, the frame's first
 * byte is on PKB_ALIGN. */
struct pkb *pkb_alloc_frame(size_t size);
/* Prepends n bytes and returns a pointer to them (NULL if no headroom). */
uint8_t *pkb_push(struct pkb *pkb, size_t n);
/* Appends n bytes and returns a pointer to them (NULL if no tailroom). */
uint8_t *pkb_put(struct pkb *pkb, size_t n);
/* A copy of pkb with the same headroom (its ext copied into it: linear). */
struct pkb *pkb_clone(const struct pkb *pkb);
/* Live buffers in this process, for leak checks in tests. */
long pkb_live(void);

/*
 * Zero-copy receive: the buffer a frame is read into, with a reference
 * count, so that a receive queue may keep a large frame's payload where it
 * is rather than copy it (tcp_ring_adopt). Its reader holds one reference
 * and each queue that keeps a part of the frame one more; a reader that
 * finds its buffer kept once the stack has taken the frame (pkb_rx_kept)
 * lets go of it and reads the next frame into a new one. Counted by
 * pkb_live as the transmit buffers are.
 */
struct pkb_rx_slab;
struct pkb_rx {
	unsigned refs;          /* __atomic: the last put frees */
	size_t size;            /* bytes at data */
	struct pkb_rx_slab *slab;       /* the block it was carved from (NULL: malloc's) */
	uint8_t data[] __attribute__((aligned(64)));
};

/*
 * Receive buffers of the size the cache keeps are carved from blocks of
 * PKB_RX_SLAB bytes, aligned to that size, that the host maps (its
 * allocator: pkb_rx_slab_ops; without one, aligned_alloc). A block goes
 * back only whole, when every buffer carved from it is idle in the cache
 * (pkb_rx_trim) or given back. The host's blocks are transparent huge
 * pages where the kernel has them: a fresh process's receive queue (6 MiB
 * and more, a few MiB for every fast download) then costs a page fault per
 * 2 MiB rather than per 4 KiB.
 */
#define PKB_RX_SLAB (2u << 20)
void pkb_rx_slab_ops(void *(*alloc)(size_t size), void (*release)(void *p, size_t size));
/* Blocks taken from the allocator and not given back yet. */
long pkb_rx_slabs(void);

struct pkb_rx *pkb_rx_alloc(size_t size);
void pkb_rx_hold(struct pkb_rx *b);
void pkb_rx_put(struct pkb_rx *b);
/* Receive buffers pkb_rx_alloc took from malloc rather than from its cache of
 * freed ones, since the process started. */
long pkb_rx_fresh(void);
/*
 * Gives back the cached buffers that stayed unused since the last trim
 * (down to a floor), at most once a period: the stack thread calls it on
 * its passes. A buffer from malloc goes back on its own; one carved from
 * a block only with the whole block (a block some of whose buffers are in
 * use, or would take the cache below its floor, stays). Returns when it
 * should be called next (UINT64_MAX: the cache holds no more than a block
 * above its floor).
 */
uint64_t pkb_rx_trim(uint64_t now);
/* Freed receive buffers the cache holds now. */
long pkb_rx_cached(void);
/* Whether anyone but the reader holds b. */
static inline int pkb_rx_kept(const struct pkb_rx *b)
{
	return __atomic_load_n(&b->refs, __ATOMIC_ACQUIRE) > 1;
}
/* What keeping b costs in memory (a receive queue's charge for it). */
static inline size_t pkb_rx_truesize(const struct pkb_rx *b)
{
	return sizeof(*b) + b->size;
}

#endif
