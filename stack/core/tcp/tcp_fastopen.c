/*
 * TCP fast open, the client's side (RFC 7413 §4.1, as Linux does it:
 * tcp_fastopen.c's tcp_fastopen_cookie_check, tcp_metrics.c's
 * tcp_fastopen_cache_get/set, tcp_input.c's tcp_rcv_fastopen_synack).
 *
 * What a server said of fast open is kept per destination: the cookie it
 * gave, the MSS its SYN-ACK announced (the next SYN's data is sized by it),
 * the SYNs with data lost in a row (§4.1.3.1: the network may drop them;
 * kept as Linux keeps them, whose ip tcp_metrics shows them, though today's
 * Linux no longer holds fast open back on them),
 * and whether a cookie request goes in the experimental option (kind 254,
 * 0xF989) next, for servers that only know that one. The table is part of
 * the stack, bounded: the least recently used entry makes room.
 *
 * RFCs to read first: 7413 §4.1 and §4.1.3.
 */
#include <string.h>

#include "stack/core/config.h"
#include "stack/core/tcp/tcp_priv.h"

static struct tcp_fo_entry *fo_find(struct stack *s, uint32_t addr, bool create, uint64_t now)
{
	struct tcp_fo_entry *e = s->tcp->fo_cache, *victim = e;

	for (unsigned i = 0; i < TCP_FO_CACHE_MAX; i++, e++) {
		if (e->addr == addr) {
			e->used = now;
			return e;
		}
		if (!victim->addr)
			continue;
		if (!e->addr || e->used < victim->used)
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->addr = addr;
	victim->used = now;
	return victim;
}

bool tcp_fo_client_check(struct tcp_conn *c, uint16_t *mss, uint64_t now)
{
	struct stack *s = c->s;
	const struct tcp_fo_entry *e;

	c->fo_syn_len = 0;
	c->fo_syn_exp = false;
	e = fo_find(s, c->pcb.remote.addr, false, now);
	if (e) {
		if (e->mss)
			*mss = e->mss;
		c->fo_syn_len = (int8_t)e->len;
		c->fo_syn_exp = e->exp;
		memcpy(c->fo_syn, e->cookie, e->len);
		/* No cookie yet and the last request went unanswered: the
		 * next one in the experimental option (try_exp 1), then back
		 * for good (2). */
		if (!e->len && e->try_exp == 1)
			c->fo_syn_exp = true;
	}
	/* TFO_CLIENT_NO_COOKIE or TCP_FASTOPEN_NO_COOKIE: data in the SYN,
	 * no option at all (Linux's tcp_fastopen_no_cookie), the cached MSS
	 * all the same. */
	if ((s->cfg.tcp_fastopen & TFO_CLIENT_NO_COOKIE) || c->opt.fastopen_no_cookie) {
		c->fo_syn_len = -1;
		return true;
	}
	return c->fo_syn_len > 0;
}

void tcp_fo_synack(struct tcp_conn *c, const struct tcp_seg *g, uint64_t now)
{
	bool cookie = g->has_fo && g->fo_len > 0;
	bool pending = c->fo_data && seq_lt(g->ack, c->iss + 1 + c->fo_data);
	bool syn_lost = false;
	uint8_t try_exp = 0;
	struct tcp_fo_entry *e;

	if (!c->fo_asked) {
		/* A cookie we did not ask for is not kept. */
		cookie = false;
	} else if (c->total_retrans) {
		/* Our SYN was sent again (a timeout, an ICMP saying it was too
		 * big), and this SYN-ACK has no cookie and leaves the data:
		 * the server saw only the plain SYN, the one with data (or its
		 * answer) was lost (Linux's tp->total_retrans test). */
		syn_lost = !g->has_fo && pending;
	} else if (!g->has_fo && !c->fo_data) {
		/* A request unanswered: the other option's form next time. */
		try_exp = c->fo_asked_exp ? 2 : 1;
	}
	e = fo_find(c->s, c->pcb.remote.addr, true, now);
	/* The MSS the SYN-ACK announced, not the one TCP_MAXSEG made of it. */
	if (g->has_mss && g->mss)
		e->mss = g->mss;
	if (cookie) {
		e->len = g->fo_len;
		e->exp = g->fo_exp;
		memcpy(e->cookie, g->fo_cookie, g->fo_len);
	} else if (try_exp > e->try_exp && !e->len && !e->exp) {
		e->try_exp = try_exp;
	}
	if (syn_lost) {
		if (e->syn_loss < UINT8_MAX)
			e->syn_loss++;
		e->last_syn_loss = now;
	} else {
		e->syn_loss = 0;
	}
	/* TCPI_OPT_SYN_DATA: all the SYN's data was taken. */
	c->syn_data_acked = c->fo_data && !pending;
}
