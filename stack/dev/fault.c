/*
 * The fault-injecting link (after smoltcp's FaultInjector and Linux netem):
 * loss, duplication, reordering, corruption and a fixed delay, applied to
 * frames in each direction between the device and the stack.
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
 * synchronously; the rest wait in a bounded queue that fault_poll() drains.
 */
#include "stack/dev/fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/log.h"
#include "stack/core/pkb.h"

/* Frames waiting per direction; beyond this a frame is dropped (a real link's queue limit). */
#define FAULT_QUEUE_MAX 4096
/* How long a frame held for reordering waits for a successor before going alone. */
#define FAULT_HOLD_US 5000
#define FAULT_ETH_HLEN 14

struct fault_dir {
	struct pkb *head, *tail;    /* release order, pkb->when ascending */
	size_t queued;
	struct pkb *held;           /* the frame held back for reordering, or NULL */
	uint64_t rng;
};

struct fault_state {
	struct fault_dir dir[2];    /* indexed by enum frame_dir */
	struct fault_stats stats;
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

int fault_init(struct stack *s)
{
	struct fault_state *f = calloc(1, sizeof(*f));
	const struct fault_config *c = &s->cfg.faults;

	if (!f)
		return -ENOMEM;
	f->dir[FRAME_IN].rng = c->seed ^ 0x696e626f756e6421ull;   /* distinct streams per direction */
	f->dir[FRAME_OUT].rng = c->seed ^ 0x6f7574626f756e64ull;
	s->fault = f;
	log_info("fault link: loss %u.%04u%% dup %u.%04u%% reorder %u.%04u%% corrupt %u.%04u%% delay %u us seed %llu",
		 c->loss_ppm / 10000, c->loss_ppm % 10000, c->dup_ppm / 10000, c->dup_ppm % 10000,
		 c->reorder_ppm / 10000, c->reorder_ppm % 10000, c->corrupt_ppm / 10000,
		 c->corrupt_ppm % 10000, c->delay_us, (unsigned long long)c->seed);
	return 0;
}

static void free_list(struct pkb *p)
{
	while (p) {
		struct pkb *next = p->next;

		pkb_free(p);
		p = next;
	}
}

void fault_fini(struct stack *s)
{
	struct fault_state *f = s->fault;

	if (!f)
		return;
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
	free(f);
	s->fault = NULL;
}

const struct fault_stats *fault_get_stats(const struct stack *s)
{
	return s->fault ? &s->fault->stats : NULL;
}

/* Sends one frame on: up the stack, or out of the device. */
static int fault_pass(struct stack *s, enum frame_dir dir, const uint8_t *frame, size_t len, uint64_t now)
{
	s->fault->stats.passed[dir]++;
	if (dir == FRAME_IN) {
		stack_deliver(s, frame, len, now);
		return 0;
	}
	return stack_dev_transmit(s, frame, len, 0, now);
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

/* Releases every queued frame due at now, in order. A frame is unlinked
 * before it goes on, since delivering it may make the stack transmit. */
static void fault_release(struct stack *s, enum frame_dir dir, uint64_t now)
{
	struct fault_dir *d = &s->fault->dir[dir];

	if (d->held && d->held->when <= now) {
		struct pkb *h = d->held;

		d->held = NULL;
		d->queued--;    /* fault_enqueue counts it again */
		fault_enqueue(d, h);
	}
	while (d->head && d->head->when <= now) {
		struct pkb *p = d->head;

		d->head = p->next;
		if (!d->head)
			d->tail = NULL;
		d->queued--;
		fault_pass(s, dir, p->data, p->len, now);
		pkb_free(p);
	}
}

/* Queues a copy of frame for release at `when`; false when the queue is full. */
static bool fault_queue_copy(struct stack *s, struct fault_dir *d, enum frame_dir dir, const uint8_t *frame,
			     size_t len, uint64_t when)
{
	struct pkb *p;

	if (d->queued >= FAULT_QUEUE_MAX || !(p = fault_copy(frame, len))) {
		s->fault->stats.overflow[dir]++;
		stack_drop(s, DROP_FAULT_INJECTED);
		return false;
	}
	p->when = when;
	fault_enqueue(d, p);
	return true;
}

static int fault_frame(struct stack *s, enum frame_dir dir, const uint8_t *frame, size_t len, uint64_t now)
{
	struct fault_state *f = s->fault;
	struct fault_dir *d = &f->dir[dir];
	const struct fault_config *c = &s->cfg.faults;
	struct pkb *follow = NULL;
	uint8_t *copy = NULL;
	uint64_t when = now + c->delay_us;
	int copies = 1, rc = 0;

	f->stats.seen[dir]++;
	if (fault_chance(d, c->loss_ppm)) {
		f->stats.lost[dir]++;
		stack_drop(s, DROP_FAULT_INJECTED);
		/* A frame lost on the wire was still sent, as far as the sender knows. */
		return 0;
	}
	if (len > FAULT_ETH_HLEN && fault_chance(d, c->corrupt_ppm)) {
		uint64_t bit = FAULT_ETH_HLEN * 8 + fault_rand(d) % ((len - FAULT_ETH_HLEN) * 8);

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
			rc = fault_pass(s, dir, frame, len, now);
	} else {
		while (copies-- > 0)
			if (fault_queue_copy(s, d, dir, frame, len, when))
				f->stats.delayed[dir]++;
	}
	free(copy);
	if (follow) {
		follow->when = when;
		fault_enqueue(d, follow);
	}
	fault_release(s, dir, now);
	return rc;
}

void fault_input(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	fault_frame(s, FRAME_IN, frame, len, now);
}

int fault_output(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	return fault_frame(s, FRAME_OUT, frame, len, now);
}

void fault_poll(struct stack *s, uint64_t now)
{
	fault_release(s, FRAME_IN, now);
	fault_release(s, FRAME_OUT, now);
}

uint64_t fault_poll_at(const struct stack *s)
{
	uint64_t t = STACK_NEVER;

	for (int i = 0; i < 2; i++) {
		const struct fault_dir *d = &s->fault->dir[i];

		if (d->head && d->head->when < t)
			t = d->head->when;
		if (d->held && d->held->when < t)
			t = d->held->when;
	}
	return t;
}
