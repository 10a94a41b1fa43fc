/*
 * A stack instance: one interface (a link + an address), its protocol state
 * and counters. This is the protocol core's whole entry surface; struct stack
 * itself is private to stack/core (stack_priv.h).
 *
 * Sans-IO: the core never touches a device, a file or a clock. Frames come in
 * through stack_input() and leave through the link's output hook
 * (struct stack_link), which the caller supplies: the host queues them for
 * the device, a unit test keeps them in memory.
 *
 * Time: every entry point takes `now` in microseconds on a monotonic clock;
 * stack_poll_at() says when the stack next needs to run. The caller (the
 * runner thread, or a unit test with a fake clock) turns that into its wait
 * timeout.
 *
 * Locking: the stack has none inside. The caller serialises every call on
 * one instance with the stack lock (stack/CONCURRENCY.md; checked in debug
 * builds by stack/core/lockcheck.h).
 */
#ifndef PSTACK_STACK_H
#define PSTACK_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/core/config.h"
#include "stack/core/pkb.h"
#include "stack/core/sock.h"
#include "stack/core/stats.h"

#define STACK_NEVER UINT64_MAX

struct stack;

/* The two directions of a frame, seen from the stack (trace, fault link). */
enum frame_dir { FRAME_IN, FRAME_OUT };

/*
 * The checksums the core verifies on receive (a link capability, like
 * smoltcp's ChecksumCapabilities): STACK_CSUM_ALL on any real link; a link
 * whose frames cannot be wrong (the fuzzer's, whose inputs would otherwise
 * all stop at the first checksum) leaves bits out.
 */
enum stack_csum {
	STACK_CSUM_IP4 = 1u << 0,       /* the IPv4 header checksum */
	STACK_CSUM_ICMP4 = 1u << 1,
	STACK_CSUM_UDP = 1u << 2,
	STACK_CSUM_TCP = 1u << 3,
	STACK_CSUM_ALL = STACK_CSUM_IP4 | STACK_CSUM_ICMP4 | STACK_CSUM_UDP | STACK_CSUM_TCP,
};

/* What the device says of one received frame (stack_input's rx_flags). */
enum stack_rx_flag {
	/* The transport (TCP/UDP) checksum needs no check: the device verified
	 * it, or the frame never crossed a wire (the local kernel's frame with
	 * the checksum left to "hardware", Linux's CHECKSUM_UNNECESSARY and
	 * CHECKSUM_PARTIAL), so the field may even hold only a partial sum. It
	 * covers that frame only: a datagram reassembled from fragments is
	 * checked. */
	STACK_RX_CSUM_OK = 1u << 0,
};

/* The high 16 bits of rx_flags: the segment size of a TCP frame the device
 * hands over whole, made of several segments (a GRO'd frame, or the local
 * kernel's TSO on a TAP: virtio-net's gso_size); 0 for any other frame.
 * TCP takes it as the peer's segment size, as Linux's tcp_measure_rcv_mss
 * takes the skb's gso_size. */
#define STACK_RX_GSO_SHIFT 16
static inline unsigned stack_rx_gso(uint16_t gso_size)
{
	return (unsigned)gso_size << STACK_RX_GSO_SHIFT;
}

/* The core's view of its link: what it may send, and where frames go. */
struct stack_link {
	char name[16];          /* for the log */
	uint32_t mtu;           /* IP MTU: largest IPv4 datagram without fragmenting (0: 1500);
				 * struct stack_config's mtu, when set, overrides it */
	uint32_t tso_max;       /* largest TCP payload per frame the link cuts into segments
				 * for us (TSO); 0: none */
	bool tx_ext;            /* output takes TSO frames whose payload stays in the send
				 * ring (pkb->ext, zero-copy transmit); false: frames whole */
	unsigned rx_csum;       /* enum stack_csum: the checksums the core verifies */
	/*
	 * Takes every finished frame, in the order the stack made them: a whole
	 * Ethernet frame in pkb, with pkb->gso_size set for a TSO frame (only
	 * when tso_max). Ownership passes with the call, whatever the result.
	 * 0 or -errno; a frame the device refuses is counted by the link's owner
	 * (DROP_DEV_TX_ERROR). Called inside stack calls, under the caller's
	 * serialisation: the hook must not call back into the stack's entry
	 * points (it may count drops).
	 */
	int (*output)(void *ctx, struct pkb *pkb, uint64_t now);
	void *ctx;
	/*
	 * Optional (NULL: never): whether the frames output has taken and the
	 * device has not yet been written with are as many as the link wants
	 * queued. While they are, TCP sends no more data (its ACKs still go):
	 * a connection with more to send waits its turn (Linux's TCP small
	 * queues, for the queue between the stack and the device). The owner
	 * runs the stack again (stack_poll_at says now) once it wrote them.
	 * Called under the caller's serialisation, like output.
	 */
	bool (*tx_full)(void *ctx);
};

/* Creates the stack on link (copied). NULL when out of memory. */
struct stack *stack_create(const struct stack_config *cfg, const struct stack_link *link, uint64_t now);
/* The time of day: wall_us (µs since the Unix epoch, UTC) is the time at
 * `now` on the stack's clock. The core reads no clock: the host tells it
 * this once; ICMP timestamp replies (RFC 792) carry it. Unset, the day
 * starts at the stack's time 0. */
void stack_set_wall_clock(struct stack *s, uint64_t wall_us, uint64_t now);
/* Milliseconds since midnight UT at `now` (RFC 792's timestamps). */
uint32_t stack_ms_of_day(const struct stack *s, uint64_t now);
/* The interface comes up: announces our address (gratuitous ARP). */
void stack_up(struct stack *s, uint64_t now);
/* Resolves the gateway now (ARP), so that the kernel learns our address
 * before its first packet to us (arp_resolve_gateway). */
void stack_resolve_gateway(struct stack *s, uint64_t now);
/*
 * The ARP cache handed from one stack to the next with the device (the
 * handover, stack/host/ctl.h): the resolved entries, each with how long
 * ago it was last confirmed, so that the next stack's first frames need
 * no request and its entries age as they would have. Export fills up to
 * max, returns how many there are; import takes those that are still
 * fresh, on this stack's link, and not our address or a group MAC. Import
 * before stack_resolve_gateway(), which then has nothing to ask.
 */
struct stack_arp_rec {
	uint32_t ip;                /* host order */
	uint8_t mac[6];
	uint16_t pad;
	uint32_t age_ms;
};
/* The stack's IPv4 address (host order) and its MAC. */
uint32_t stack_address(const struct stack *s);
void stack_mac(const struct stack *s, uint8_t mac[6]);
size_t stack_arp_export(struct stack *s, struct stack_arp_rec *out, size_t max, uint64_t now);
void stack_arp_import(struct stack *s, const struct stack_arp_rec *r, size_t n, uint64_t now);
void stack_destroy(struct stack *s);

/* For the device side (the host's receive loop, a test's link). */

/* One received Ethernet frame, with the device's enum stack_rx_flag bits.
 * Never fails: bad frames are counted and dropped. */
void stack_input(struct stack *s, const uint8_t *frame, size_t len, unsigned rx_flags, uint64_t now);
/* The same for a frame of len bytes read into b->data: the stack may keep a
 * large frame's payload there, with a reference on b (zero-copy receive);
 * when pkb_rx_kept(b) says so after the call, the caller reads its next
 * frame into another buffer. */
void stack_input_rx(struct stack *s, struct pkb_rx *b, size_t len, unsigned rx_flags, uint64_t now);
/*
 * Frames fed between begin and end form a batch that the caller follows at
 * once with stack_poll(). reads is stack_reads() when the frames began to
 * wait (the caller woke for them), taken before the lock: a connection a
 * program read from since then held them up, as a Linux socket's owner
 * holds what comes meanwhile in its backlog, and its ACKs for the batch's
 * frames wait for that pass (one, Linux's deferred ACK of the backlog).
 * Batches nest (a count: the stack thread and a busy-polling thread may
 * both be in one).
 */
/* How many reads took data from a connection so far; without the lock. */
uint64_t stack_reads(const struct stack *s);
void stack_rx_batch_begin(struct stack *s, uint64_t reads);
void stack_rx_batch_end(struct stack *s);
/* Runs every timer due at now. */
void stack_poll(struct stack *s, uint64_t now);
/* Delivers what the stack sent to itself (its own address, loopback) and
 * what that causes, at once: Linux's loopback does it within the sending
 * call (net_rx_action as the sender's local_bh_enable runs the softirq),
 * so a datagram to a closed own port has its ICMP error queued, and one to
 * an own socket is readable, before send() returns. Not from inside a
 * transport's own sending (TCP answering itself): the caller's, after. */
void stack_loop_flush(struct stack *s, uint64_t now);
/* The earliest time stack_poll() has work, or STACK_NEVER. */
uint64_t stack_poll_at(const struct stack *s);
/*
 * The process-wide caches of freed buffers (receive buffers, pkb.h) give
 * back what stayed unused through a whole period;
 * called on the stack thread's passes, with or without the lock. Returns
 * when to call it next, or STACK_NEVER.
 */
uint64_t stack_trim_caches(uint64_t now);
/* The link's tx_full: its queue to the device holds enough. */
bool stack_tx_full(const struct stack *s);

/* Counters. */

/* Counts a drop (and logs it at debug level). */
void stack_drop(struct stack *s, enum drop_reason r);
/* Counts n drops at once, for what the link's owner dropped outside the
 * stack (a device error, the fault link). Not logged one by one. */
void stack_count_drops(struct stack *s, enum drop_reason r, uint64_t n);
const struct stack_stats *stack_stats(const struct stack *s);
/* Writes every non-zero counter and drop reason to the log at `level`. */
void stack_log_stats(const struct stack *s, int level);

/* Read-only views, for the host, the shim and tests. */
const struct stack_config *stack_config(const struct stack *s);
/* The IP MTU in use (the configuration's, or the link's). */
uint32_t stack_mtu(const struct stack *s);
/* The link's TSO limit changed (a test's link gains TSO after start). */
void stack_set_tso_max(struct stack *s, uint32_t tso_max);
/* The link's tx_ext changed (a test's link takes frames in pieces). */
void stack_set_tx_ext(struct stack *s, bool on);

/* How the socket calls' data is copied (sock.h: sock_copy_fn; NULL: memcpy),
 * and the copy in use (never NULL), for the core's socket code. */
void stack_set_copy(struct stack *s, sock_copy_fn copy);
sock_copy_fn stack_copier(const struct stack *s);

/* A fast non-cryptographic random number (ports, jitter; fault injection is separate). */
uint32_t stack_random(struct stack *s);
/* True when addr is on our subnet. */
bool stack_on_link(const struct stack *s, uint32_t addr);
/* SO_DONTROUTE, MSG_DONTROUTE (Linux's RTO_ONLINK): addr is reached
 * without the gateway (on the link, ours, loopback, a broadcast or a group). */
bool stack_reach_direct(const struct stack *s, uint32_t addr);

#endif
