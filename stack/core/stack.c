/*
 * The stack instance: creation, the receive entry point and the one exit to
 * the link, timers and counters.
 */
#include "stack/core/stack_priv.h"

#include <stdlib.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/copy.h"
#include "stack/core/eth.h"
#include "stack/core/icmp4.h"
#include "stack/core/ip4.h"
#include "stack/core/lockcheck.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "stack/core/tcp/tcp.h"
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

void stack_count_drops(struct stack *s, enum drop_reason r, uint64_t n)
{
	stack_assert_locked();
	if ((unsigned)r < DROP__COUNT)
		s->stats.drops[r] += n;
}

/* The default copy: the caller's memory is trusted. */
static int copy_trusted(void *dst, const void *src, size_t n)
{
	if (n)
		stack_copy_bytes(dst, src, n);
	return 0;
}

void stack_set_copy(struct stack *s, sock_copy_fn copy)
{
	s->copy = copy ? copy : copy_trusted;
}

sock_copy_fn stack_copier(const struct stack *s)
{
	return s->copy;
}

void stack_set_wall_clock(struct stack *s, uint64_t wall_us, uint64_t now)
{
	s->wall_offset = wall_us - now;
}

uint32_t stack_ms_of_day(const struct stack *s, uint64_t now)
{
	return (uint32_t)(((now + s->wall_offset) / 1000) % 86400000u);
}

struct stack *stack_create(const struct stack_config *cfg, const struct stack_link *link, uint64_t now)
{
	struct stack *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->link = *link;
	s->now = now;
	s->mtu = cfg->mtu ? cfg->mtu : (link->mtu ? link->mtu : 1500);
	s->netmask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
	s->tso_max = link->tso_max;
	s->copy = copy_trusted;
	/* Seed the fast generator from the secret and the stack's own seed
	 * (splitmix64 below spreads it): stacks that share the secret draw
	 * apart. */
	{
		uint64_t seed;

		memcpy(&s->rng, cfg->secret, sizeof(s->rng));
		memcpy(&seed, cfg->seed, sizeof(seed));
		s->rng ^= seed ^ now;
	}

	if (arp_init(s) || ip4_init(s) || icmp4_init(s) || udp_init(s) || tcp_init(s)) {
		stack_destroy(s);
		return NULL;
	}
	log_debug("interface %s attached: %u.%u.%u.%u/%u mtu %u", link->name, cfg->addr >> 24,
		  (cfg->addr >> 16) & 255, (cfg->addr >> 8) & 255, cfg->addr & 255, cfg->prefix_len, s->mtu);
	return s;
}

void stack_up(struct stack *s, uint64_t now)
{
	s->now = now;
	arp_announce(s, now);
}

void stack_resolve_gateway(struct stack *s, uint64_t now)
{
	s->now = now;
	arp_resolve_gateway(s, now);
}

uint32_t stack_address(const struct stack *s)
{
	return s->cfg.addr;
}

void stack_mac(const struct stack *s, uint8_t mac[6])
{
	memcpy(mac, s->cfg.mac, 6);
}

size_t stack_arp_export(struct stack *s, struct stack_arp_rec *out, size_t max, uint64_t now)
{
	stack_assert_locked();
	return arp_export(s, out, max, now);
}

void stack_arp_import(struct stack *s, const struct stack_arp_rec *r, size_t n, uint64_t now)
{
	stack_assert_locked();
	s->now = now;
	arp_import(s, r, n, now);
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
	free(s);
}

void stack_input(struct stack *s, const uint8_t *frame, size_t len, unsigned rx_flags, uint64_t now)
{
	/* What to verify: the link's capability, less what the device vouches
	 * for in this one frame. Passed down with the frame, never kept. */
	unsigned csum = s->link.rx_csum;

	stack_assert_locked();
	if (rx_flags & STACK_RX_CSUM_OK)
		csum &= ~(unsigned)(STACK_CSUM_TCP | STACK_CSUM_UDP);
	s->now = now;
	s->stats.frames_in++;
	s->rx_gso_size = (uint16_t)(rx_flags >> STACK_RX_GSO_SHIFT);
	eth_input(s, frame, len, csum, now);
	s->rx_gso_size = 0;
}

void stack_input_rx(struct stack *s, struct pkb_rx *b, size_t len, unsigned rx_flags, uint64_t now)
{
	struct pkb_rx *was = s->rx_blk;

	s->rx_blk = b;
	stack_input(s, b->data, len, rx_flags, now);
	s->rx_blk = was;
}

uint64_t stack_reads(const struct stack *s)
{
	return __atomic_load_n(&s->reads, __ATOMIC_RELAXED);
}

void stack_rx_batch_begin(struct stack *s, uint64_t reads)
{
	stack_assert_locked();
	if (!s->rx_batch++ || reads < s->rx_batch_reads)
		s->rx_batch_reads = reads;
}

void stack_rx_batch_end(struct stack *s)
{
	stack_assert_locked();
	s->rx_batch--;
}

bool stack_tx_full(const struct stack *s)
{
	return s->link.tx_full && s->link.tx_full(s->link.ctx);
}

int stack_output(struct stack *s, struct pkb *pkb, uint64_t now)
{
	s->stats.frames_out++;
	return s->link.output(s->link.ctx, pkb, now);
}

void stack_poll(struct stack *s, uint64_t now)
{
	stack_assert_locked();
	s->now = now;
	arp_poll(s, now);
	ip4_poll(s, now);
	tcp_timers(s, now);
}

void stack_loop_flush(struct stack *s, uint64_t now)
{
	stack_assert_locked();
	s->now = now;
	/* A datagram and the ICMP error it causes: two rounds; a bound in
	 * case one ever answers the other. */
	for (int i = 0; i < 4 && ip4_loop_pending(s); i++)
		ip4_loop_deliver(s, now);
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t stack_poll_at(const struct stack *s)
{
	stack_assert_locked();
	return min64(min64(arp_poll_at(s), ip4_poll_at(s)), tcp_timers_at(s));
}

uint64_t stack_trim_caches(uint64_t now)
{
	return pkb_rx_trim(now);
}

const struct stack_stats *stack_stats(const struct stack *s)
{
	return &s->stats;
}

const struct stack_config *stack_config(const struct stack *s)
{
	return &s->cfg;
}

uint32_t stack_mtu(const struct stack *s)
{
	return s->mtu;
}

void stack_set_tso_max(struct stack *s, uint32_t tso_max)
{
	s->link.tso_max = tso_max;
	s->tso_max = tso_max;
}

void stack_set_tx_ext(struct stack *s, bool on)
{
	s->link.tx_ext = on;
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

bool stack_reach_direct(const struct stack *s, uint32_t addr)
{
	return stack_on_link(s, addr) || addr == s->cfg.addr || ip4_is_loopback(addr) || ip4_is_broadcast(s, addr) ||
	       ip4_is_multicast(addr);
}

void stack_log_stats(const struct stack *s, int level)
{
	const struct stack_stats *st = &s->stats;

	if (!LOG_ON(level))
		return;
	log_printf(level, "counters: frames in %llu out %llu; arp in %llu out %llu; ip in %llu out %llu "
		   "(fragments out %llu, reassembled %llu); icmp in %llu out %llu; udp in %llu out %llu; "
		   "tcp in %llu out %llu retransmits %llu; undone: full %llu partial %llu dsack %llu loss %llu "
		   "(spurious rtos %llu)",
		   (unsigned long long)st->frames_in, (unsigned long long)st->frames_out,
		   (unsigned long long)st->arp_in, (unsigned long long)st->arp_out,
		   (unsigned long long)st->ip_in, (unsigned long long)st->ip_out,
		   (unsigned long long)st->ip_frag_out, (unsigned long long)st->ip_reassembled,
		   (unsigned long long)st->icmp_in, (unsigned long long)st->icmp_out,
		   (unsigned long long)st->udp_in, (unsigned long long)st->udp_out,
		   (unsigned long long)st->tcp_in, (unsigned long long)st->tcp_out,
		   (unsigned long long)st->tcp_retransmits, (unsigned long long)st->tcp_full_undo,
		   (unsigned long long)st->tcp_partial_undo, (unsigned long long)st->tcp_dsack_undo,
		   (unsigned long long)st->tcp_loss_undo, (unsigned long long)st->tcp_spurious_rtos);
	tcp_log_stats(s, level);
	for (int r = 0; r < DROP__COUNT; r++)
		if (st->drops[r])
			log_printf(level, "drops: %s (%s): %llu", drop_names[r], drop_texts[r],
				   (unsigned long long)st->drops[r]);
}
