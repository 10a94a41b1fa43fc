/*
 * The fault-injecting link (after smoltcp's FaultInjector and Linux netem):
 * loss, duplication, reordering, corruption and a fixed delay, applied to
 * frames in each direction between the device it wraps and the stack.
 *
 * Decisions come from a private generator per direction, seeded from
 * cfg.faults.seed: the same seed and the same sequence of calls give the same
 * faults, and inbound faults do not depend on how much the stack sends.
 *
 * Per frame, in order: lost? corrupted (one bit flipped beyond the Ethernet
 * header, in a copy, so the IP/TCP/UDP checksums catch it)? duplicated? held
 * back for reordering (released after the next frame of that direction, or
 * FAULT_HOLD_US after its own release time when no frame follows)? Everything
 * that passes is released at now + delay. Frames whose time has come go on
 * at once; the rest wait in a bounded queue: the way out drains into the
 * lower device at poll(), the way in into the next receive() (the host calls
 * it when poll_at() says a frame is due).
 *
 * The way in is pulled: receive() reads the lower device, decides, and hands
 * up one frame per call; a frame that goes on together with another (its
 * duplicate, the frame held back behind it) waits in the queue, due at once,
 * and comes out of the next call, so frames keep the order in which the
 * link releases them.
 */
#include "stack/dev/fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "stack/wire/eth.h"

/* Frames waiting per direction; beyond this a frame is dropped (a real link's queue limit). */
#define FAULT_QUEUE_MAX 4096
/* How long a frame held for reordering waits for a successor before going alone. */
#define FAULT_HOLD_US 5000

struct fault_dir {
	struct pkb *head, *tail;    /* release order, pkb->when ascending */
	size_t queued;
	struct pkb *held;           /* the frame held back for reordering, or NULL */
	uint64_t rng;
};

struct fault_dev {
	struct netdev dev;
	/*
	 * Transmit, receive and poll come from different threads, without the
	 * stack's lock (netdev.h); mu is held across the lower device's I/O,
	 * so that frames leave in the order the link releases them. poll_at
	 * and take_drops come with the stack's lock held: they read atomics
	 * instead, so no holder of the stack's lock waits for mu, nor for the
	 * system call behind it (stack/CONCURRENCY.md).
	 */
	pthread_mutex_t mu;
	struct fault_config cfg;
	struct fault_dir dir[2];    /* indexed by enum frame_dir */
	struct fault_stats stats;
	uint64_t next_at;           /* atomic: poll_at's answer, set as mu is let go */
	uint64_t drops[DROP__COUNT]; /* atomic: not yet taken by the host (take_drops) */
	/* Inside receive: the caller's buffer, and whether a frame is in it. */
	uint8_t *rx_buf;
	size_t rx_len;
};

static uint64_t fault_rand(struct fault_dir *d)
{
	/* splitmix64: good enough statistics, one word of state. */
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* True with probability ppm / 10^6. Draws nothing when ppm is 0, so a fault
 * that is off does not shift the others' sequence. */
static bool fault_chance(struct fault_dir *d, uint32_t ppm)
{
	if (!ppm)
		return false;
	return fault_rand(d) % 1000000u < ppm;
}

/* A frame that went nowhere: the stack counts it when the host takes the
 * count (take_drops). */
static void fault_drop(struct fault_dev *f, enum drop_reason r)
{
	__atomic_fetch_add(&f->drops[r], 1, __ATOMIC_RELAXED);
	log_debug("drop: %s", drop_reason_text(r));
}

static void free_list(struct pkb *p)
{
	while (p) {
		struct pkb *next = p->next;

		pkb_free(p);
		p = next;
	}
}

static struct pkb *fault_copy(const uint8_t *frame, size_t len)
{
	struct pkb *p = pkb_alloc(len);

	if (p)
		memcpy(pkb_put(p, len), frame, len);
	return p;
}

/* Inserts p in release order (after every frame with the same time). */
static void fault_enqueue(struct fault_dir *d, struct pkb *p)
{
	struct pkb **pp;

	p->next = NULL;
	d->queued++;
	if (!d->tail || d->tail->when <= p->when) {
		if (d->tail)
			d->tail->next = p;
		else
			d->head = p;
		d->tail = p;
		return;
	}
	for (pp = &d->head; *pp && (*pp)->when <= p->when; pp = &(*pp)->next)
		;
	p->next = *pp;
	*pp = p;
}

/* The next frame due at now, unlinked, or NULL. A held frame whose time has
 * come joins the queue first. */
static struct pkb *fault_next_due(struct fault_dir *d, uint64_t now)
{
	struct pkb *p;

	if (d->held && d->held->when <= now) {
		struct pkb *h = d->held;

		d->held = NULL;
		d->queued--;    /* fault_enqueue counts it again */
		fault_enqueue(d, h);
	}
	p = d->head;
	if (!p || p->when > now)
		return NULL;
	d->head = p->next;
	if (!d->head)
		d->tail = NULL;
	d->queued--;
	return p;
}

/* Queues a copy of frame for release at `when`; false when the queue is full. */
static bool fault_queue_copy(struct fault_dev *f, struct fault_dir *d, enum frame_dir dir, const uint8_t *frame,
			     size_t len, uint64_t when)
{
	struct pkb *p;

	if (d->queued >= FAULT_QUEUE_MAX || !(p = fault_copy(frame, len))) {
		f->stats.overflow[dir]++;
		fault_drop(f, DROP_FAULT_INJECTED);
		return false;
	}
	p->when = when;
	fault_enqueue(d, p);
	return true;
}

/* Sends one frame on now: out of the lower device, or up to receive()'s
 * caller. A second frame going up in the same call waits in the queue, due
 * at once, for the next receive(). A frame the lower device refuses is
 * counted here (DROP_DEV_TX_ERROR), whether it goes at once or later. */
static void fault_pass(struct fault_dev *f, enum frame_dir dir, const uint8_t *frame, size_t len, uint64_t now)
{
	struct netdev *lower = f->dev.lower;

	if (dir == FRAME_OUT) {
		f->stats.passed[dir]++;
		if (lower->ops->transmit(lower, frame, len, 0, now) < 0)
			fault_drop(f, DROP_DEV_TX_ERROR);
		return;
	}
	if (f->rx_buf && !f->rx_len) {
		if (frame != f->rx_buf)
			memcpy(f->rx_buf, frame, len);
		f->rx_len = len;
		f->stats.passed[dir]++;
	} else {
		fault_queue_copy(f, &f->dir[dir], dir, frame, len, now);
	}
}

/* Sends every frame due at now out of the lower device, in order. */
static void fault_release_out(struct fault_dev *f, uint64_t now)
{
	struct pkb *p;

	while ((p = fault_next_due(&f->dir[FRAME_OUT], now))) {
		fault_pass(f, FRAME_OUT, p->data, p->len, now);
		pkb_free(p);
	}
}

/* What the link does to one frame (see the top of the file). */
static void fault_frame(struct fault_dev *f, enum frame_dir dir, const uint8_t *frame, size_t len, uint64_t now)
{
	struct fault_dir *d = &f->dir[dir];
	const struct fault_config *c = &f->cfg;
	struct pkb *follow = NULL;
	uint8_t *copy = NULL;
	uint64_t when = now + c->delay_us;
	int copies = 1;

	f->stats.seen[dir]++;
	if (fault_chance(d, c->loss_ppm)) {
		f->stats.lost[dir]++;
		fault_drop(f, DROP_FAULT_INJECTED);
		/* A frame lost on the wire was still sent, as far as the sender knows. */
		return;
	}
	if (len > ETH_HLEN && fault_chance(d, c->corrupt_ppm)) {
		uint64_t bit = ETH_HLEN * 8 + fault_rand(d) % ((len - ETH_HLEN) * 8);

		copy = malloc(len);
		if (copy) {
			memcpy(copy, frame, len);
			copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			frame = copy;
			f->stats.corrupted[dir]++;
		}
	}
	if (fault_chance(d, c->dup_ppm)) {
		copies = 2;
		f->stats.duplicated[dir]++;
	}
	if (d->held) {
		/* The frame held back earlier goes right after this one. */
		follow = d->held;
		d->held = NULL;
		d->queued--;
	} else if (fault_chance(d, c->reorder_ppm)) {
		struct pkb *p = d->queued < FAULT_QUEUE_MAX ? fault_copy(frame, len) : NULL;

		if (p) {
			p->when = when + FAULT_HOLD_US;
			d->held = p;
			d->queued++;
			f->stats.reordered[dir]++;
			copies--;
		}
	}
	if (when <= now && !d->head) {
		/* No delay and nothing waiting: straight on, as without the fault link. */
		while (copies-- > 0)
			fault_pass(f, dir, frame, len, now);
	} else {
		while (copies-- > 0)
			if (fault_queue_copy(f, d, dir, frame, len, when))
				f->stats.delayed[dir]++;
	}
	free(copy);
	if (follow) {
		follow->when = when;
		fault_enqueue(d, follow);
	}
	if (dir == FRAME_OUT)
		fault_release_out(f, now);
}

/* Lets go of mu, leaving behind when the link next needs the host (poll_at). */
static void fault_unlock(struct fault_dev *f)
{
	uint64_t t = STACK_NEVER;

	for (int i = 0; i < 2; i++) {
		const struct fault_dir *d = &f->dir[i];

		if (d->head && d->head->when < t)
			t = d->head->when;
		if (d->held && d->held->when < t)
			t = d->held->when;
	}
	__atomic_store_n(&f->next_at, t, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->mu);
}

/* Always 0: a frame the link loses was sent as far as the sender knows, and
 * one the device below refuses is counted by the link (fault_pass). */
static int fault_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	struct fault_dev *f = dev->priv;

	(void)gso_size;     /* always 0: the link offers no TSO (fault_dev_new) */
	pthread_mutex_lock(&f->mu);
	fault_frame(f, FRAME_OUT, frame, len, now);
	fault_unlock(f);
	return 0;
}

static long fault_receive(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now)
{
	struct fault_dev *f = dev->priv;
	struct netdev *lower = dev->lower;
	long n;

	/* The link may corrupt a frame: the device's word about the bytes it
	 * read no longer holds, and every checksum is checked. */
	*rx_flags = 0;
	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct pkb *p = fault_next_due(&f->dir[FRAME_IN], now);
		unsigned lower_flags;

		if (p) {
			n = (long)p->len;
			memcpy(buf, p->data, p->len < cap ? p->len : cap);
			f->stats.passed[FRAME_IN]++;
			pkb_free(p);
			break;
		}
		n = lower->ops->receive(lower, buf, cap, &lower_flags, now);
		/* Nothing, an error, or a frame too long to be whole: as it is. */
		if (n <= 0 || (size_t)n >= cap)
			break;
		f->rx_buf = buf;
		f->rx_len = 0;
		fault_frame(f, FRAME_IN, buf, (size_t)n, now);
		f->rx_buf = NULL;
		if (f->rx_len)
			break;
	}
	fault_unlock(f);
	return n;
}

static void fault_poll(struct netdev *dev, uint64_t now)
{
	struct fault_dev *f = dev->priv;

	pthread_mutex_lock(&f->mu);
	fault_release_out(f, now);
	fault_unlock(f);
}

static uint64_t fault_poll_at(struct netdev *dev)
{
	struct fault_dev *f = dev->priv;

	return __atomic_load_n(&f->next_at, __ATOMIC_RELAXED);
}

static void fault_take_drops(struct netdev *dev, uint64_t drops[DROP__COUNT])
{
	struct fault_dev *f = dev->priv;

	for (int r = 0; r < DROP__COUNT; r++)
		drops[r] += __atomic_exchange_n(&f->drops[r], 0, __ATOMIC_RELAXED);
}

static void fault_destroy(struct netdev *dev)
{
	struct fault_dev *f = dev->priv;

	for (int i = 0; i < 2; i++)
		log_debug("fault link %s: seen %llu passed %llu lost %llu duplicated %llu reordered %llu "
			  "corrupted %llu delayed %llu overflow %llu", i == FRAME_IN ? "in" : "out",
			  (unsigned long long)f->stats.seen[i], (unsigned long long)f->stats.passed[i],
			  (unsigned long long)f->stats.lost[i], (unsigned long long)f->stats.duplicated[i],
			  (unsigned long long)f->stats.reordered[i], (unsigned long long)f->stats.corrupted[i],
			  (unsigned long long)f->stats.delayed[i], (unsigned long long)f->stats.overflow[i]);
	for (int i = 0; i < 2; i++) {
		free_list(f->dir[i].head);
		pkb_free(f->dir[i].held);
	}
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static const struct netdev_ops fault_ops = {
	.transmit = fault_transmit,
	.receive = fault_receive,
	.poll_at = fault_poll_at,
	.poll = fault_poll,
	.take_drops = fault_take_drops,
	.destroy = fault_destroy,
};

struct netdev *fault_dev_new(struct netdev *lower, const struct fault_config *cfg)
{
	struct fault_dev *f = calloc(1, sizeof(*f));
	const struct fault_config *c = cfg;

	if (!f)
		return NULL;
	netdev_wrap(&f->dev, &fault_ops, lower, f);
	/* Frames must meet the link as they would be on a wire: no TSO. */
	f->dev.tso_max = 0;
	pthread_mutex_init(&f->mu, NULL);
	f->next_at = STACK_NEVER;
	f->cfg = *cfg;
	f->dir[FRAME_IN].rng = c->seed ^ 0x696e626f756e6421ull;   /* distinct streams per direction */
	f->dir[FRAME_OUT].rng = c->seed ^ 0x6f7574626f756e64ull;
	log_info("fault link: loss %u.%04u%% dup %u.%04u%% reorder %u.%04u%% corrupt %u.%04u%% delay %u us seed %llu",
		 c->loss_ppm / 10000, c->loss_ppm % 10000, c->dup_ppm / 10000, c->dup_ppm % 10000,
		 c->reorder_ppm / 10000, c->reorder_ppm % 10000, c->corrupt_ppm / 10000,
		 c->corrupt_ppm % 10000, c->delay_us, (unsigned long long)c->seed);
	return &f->dev;
}

bool fault_get_stats(const struct netdev *chain, struct fault_stats *out)
{
	struct netdev *dev = netdev_find(chain, &fault_ops);
	struct fault_dev *f;

	if (!dev)
		return false;
	f = dev->priv;
	pthread_mutex_lock(&f->mu);
	*out = f->stats;
	pthread_mutex_unlock(&f->mu);
	return true;
}
