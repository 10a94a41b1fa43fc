/*
 * The stack instance: creation, the receive entry point, timers and counters.
 */
#include "stack/core/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/eth.h"
#include "stack/dev/fault.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/log.h"
#include "stack/dev/pcap.h"
#include "stack/core/tcp/tcp.h"
#include "stack/dev/trace.h"
#include "stack/core/udp.h"

static const char *const drop_texts[] = {
#define DROP_TEXT(name, text) text,
	DROP_REASONS(DROP_TEXT)
#undef DROP_TEXT
};
static const char *const drop_names[] = {
#define DROP_NAME(name, text) #name,
	DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

const char *drop_reason_text(enum drop_reason r)
{
	return (unsigned)r < DROP__COUNT ? drop_texts[r] : "unknown";
}

const char *drop_reason_name(enum drop_reason r)
{
	return (unsigned)r < DROP__COUNT ? drop_names[r] : "UNKNOWN";
}

void stack_drop(struct stack *s, enum drop_reason r)
{
	if ((unsigned)r >= DROP__COUNT)
		return;
	s->stats.drops[r]++;
	log_debug("drop: %s", drop_texts[r]);
}

struct stack *stack_create(const struct stack_config *cfg, struct netdev *dev, uint64_t now)
{
	struct stack *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->dev = dev;
	s->now = now;
	s->mtu = cfg->mtu ? cfg->mtu : (dev->mtu ? dev->mtu : 1500);
	s->netmask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
	/* TSO only where the device offers it, and not through the fault link,
	 * which must see (and lose, corrupt, reorder) frames as they are on the wire. */
	if (dev->ops->transmit_gso && dev->tso_max && !cfg->faults.enabled)
		s->tso_max = dev->tso_max;
	/* Seed the fast generator from the secret (splitmix64 below spreads it). */
	memcpy(&s->rng, cfg->secret, sizeof(s->rng));
	s->rng ^= now;

	if (arp_init(s) || ip4_init(s) || icmp4_init(s) || udp_init(s) || tcp_init(s) ||
	    (cfg->faults.enabled && fault_init(s))) {
		stack_destroy(s);
		return NULL;
	}
	log_debug("interface %s attached: %u.%u.%u.%u/%u mtu %u", dev->name, cfg->addr >> 24,
		  (cfg->addr >> 16) & 255, (cfg->addr >> 8) & 255, cfg->addr & 255, cfg->prefix_len, s->mtu);
	return s;
}

void stack_up(struct stack *s, uint64_t now)
{
	s->now = now;
	arp_announce(s, now);
}

void stack_destroy(struct stack *s)
{
	if (!s)
		return;
	if (s->tcp)
		tcp_fini(s);
	if (s->udp)
		udp_fini(s);
	if (s->icmp4)
		icmp4_fini(s);
	if (s->ip4)
		ip4_fini(s);
	if (s->arp)
		arp_fini(s);
	if (s->fault)
		fault_fini(s);
	while (s->txq_head) {
		struct pkb *p = s->txq_head;

		s->txq_head = p->next;
		pkb_free(p);
	}
	free(s);
}

void stack_deliver(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	eth_input(s, frame, len, now);
}

void stack_input(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	stack_input_flags(s, frame, len, 0, now);
}

void stack_input_flags(struct stack *s, const uint8_t *frame, size_t len, unsigned rx_flags, uint64_t now)
{
	stack_assert_locked();
	s->now = now;
	s->stats.frames_in++;
	if (s->pcap)
		pcap_write(s->pcap, frame, len, now);
	if (LOG_ON(LOG_TRACE))
		trace_frame(FRAME_IN, frame, len);
	if (s->fault) {
		/* The fault link may corrupt the frame (or hold it for later): the
		 * device's word about the bytes it read no longer holds. */
		fault_input(s, frame, len, now);
	} else {
		s->rx_flags = rx_flags;
		stack_deliver(s, frame, len, now);
		s->rx_flags = 0;
	}
}

/* Every frame the stack makes passes here once: counted and traced. */
static void tx_account(struct stack *s, const uint8_t *frame, size_t len)
{
	s->stats.frames_out++;
	if (LOG_ON(LOG_TRACE))
		trace_frame(FRAME_OUT, frame, len);
}

/* Queues a finished frame for the caller to write once it lets go of the stack. */
static void txq_append(struct stack *s, struct pkb *pkb)
{
	pkb->next = NULL;
	if (!s->txq_head)
		s->txq_tail = &s->txq_head;
	*s->txq_tail = pkb;
	s->txq_tail = &pkb->next;
	s->txq_len++;
}

int stack_transmit(struct stack *s, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	tx_account(s, frame, len);
	/* No TSO frame meets the fault link: s->tso_max is 0 when it is on. */
	if (s->fault)
		return fault_output(s, frame, len, now);
	return stack_dev_transmit(s, frame, len, gso_size, now);
}

int stack_output(struct stack *s, struct pkb *pkb, uint64_t now)
{
	int rc;

	/* Deferred (struct stack's tx_defer): queued, and written when the
	 * caller lets go of the stack; a device error is counted then. The
	 * fault link keeps frames of its own and sends them at once. */
	if (!s->tx_defer || s->fault) {
		rc = stack_transmit(s, pkb->data, pkb->len, pkb->gso_size, now);
		pkb_free(pkb);
		return rc;
	}
	tx_account(s, pkb->data, pkb->len);
	/* The capture keeps the stack's order, which is the order they leave in. */
	if (s->pcap)
		pcap_write(s->pcap, pkb->data, pkb->len, now);
	txq_append(s, pkb);
	return 0;
}

struct pkb *stack_tx_take(struct stack *s)
{
	struct pkb *list = s->txq_head;

	stack_assert_locked();
	s->txq_head = NULL;
	s->txq_tail = &s->txq_head;
	s->txq_len = 0;
	return list;
}

unsigned stack_tx_send(struct netdev *dev, struct pkb *list)
{
	unsigned failed = 0;

	while (list) {
		struct pkb *p = list;
		int rc;

		list = p->next;
		if (p->gso_size)
			rc = dev->ops->transmit_gso(dev, p->data, p->len, p->gso_size);
		else
			rc = dev->ops->transmit(dev, p->data, p->len);
		if (rc < 0)
			failed++;
		pkb_free(p);
	}
	return failed;
}

void stack_tx_failed(struct stack *s, unsigned n)
{
	while (n--)
		stack_drop(s, DROP_DEV_TX_ERROR);
}

void stack_tx_flush(struct stack *s)
{
	struct pkb *list;

	while ((list = stack_tx_take(s)))
		stack_tx_failed(s, stack_tx_send(s->dev, list));
}

int stack_dev_transmit(struct stack *s, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	int rc;

	/* The capture shows what the device was given, after the fault link. */
	if (s->pcap)
		pcap_write(s->pcap, frame, len, now);
	if (s->tx_defer) {
		/* The fault link's frames leave outside the lock too (a copy: the
		 * link keeps or frees its own). Lost when out of memory, as the
		 * device would lose them. */
		struct pkb *p = pkb_alloc(len);

		if (!p) {
			stack_drop(s, DROP_DEV_TX_ERROR);
			return -ENOMEM;
		}
		memcpy(pkb_put(p, len), frame, len);
		p->gso_size = gso_size;
		txq_append(s, p);
		return 0;
	}
	if (gso_size)
		rc = s->dev->ops->transmit_gso(s->dev, frame, len, gso_size);
	else
		rc = s->dev->ops->transmit(s->dev, frame, len);
	if (rc < 0)
		stack_drop(s, DROP_DEV_TX_ERROR);
	return rc;
}

void stack_poll(struct stack *s, uint64_t now)
{
	stack_assert_locked();
	s->now = now;
	if (s->fault)
		fault_poll(s, now);
	arp_poll(s, now);
	ip4_poll(s, now);
	tcp_timers(s, now);
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t stack_poll_at(const struct stack *s)
{
	uint64_t t = min64(arp_poll_at(s), ip4_poll_at(s));

	stack_assert_locked();
	t = min64(t, tcp_timers_at(s));
	if (s->fault)
		t = min64(t, fault_poll_at(s));
	return t;
}

uint32_t stack_random(struct stack *s)
{
	/* splitmix64 */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 16);
}

bool stack_on_link(const struct stack *s, uint32_t addr)
{
	return (addr & s->netmask) == (s->cfg.addr & s->netmask);
}

void stack_log_stats(const struct stack *s, int level)
{
	const struct stack_stats *st = &s->stats;

	if (!LOG_ON(level))
		return;
	log_printf(level, "counters: frames in %llu out %llu; arp in %llu out %llu; ip in %llu out %llu "
		   "(fragments out %llu, reassembled %llu); icmp in %llu out %llu; udp in %llu out %llu; "
		   "tcp in %llu out %llu retransmits %llu",
		   (unsigned long long)st->frames_in, (unsigned long long)st->frames_out,
		   (unsigned long long)st->arp_in, (unsigned long long)st->arp_out,
		   (unsigned long long)st->ip_in, (unsigned long long)st->ip_out,
		   (unsigned long long)st->ip_frag_out, (unsigned long long)st->ip_reassembled,
		   (unsigned long long)st->icmp_in, (unsigned long long)st->icmp_out,
		   (unsigned long long)st->udp_in, (unsigned long long)st->udp_out,
		   (unsigned long long)st->tcp_in, (unsigned long long)st->tcp_out,
		   (unsigned long long)st->tcp_retransmits);
	tcp_log_stats(s, level);
	for (int r = 0; r < DROP__COUNT; r++)
		if (st->drops[r])
			log_printf(level, "drops: %s (%s): %llu", drop_names[r], drop_texts[r],
				   (unsigned long long)st->drops[r]);
}
