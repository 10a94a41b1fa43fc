/* The host's transmit queue (txq.h). */
#include "stack/host/txq.h"

#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/wire.h"

void txq_init(struct txq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->len = 0;
	q->bytes = 0;
}

int txq_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct txq *q = ctx;

	(void)now;
	pkb->next = NULL;
	*q->tail = pkb;
	q->tail = &pkb->next;
	q->len++;
	q->bytes += pkb_frame_len(pkb);
	return 0;
}

struct pkb *txq_take(struct txq *q)
{
	struct pkb *list = q->head;

	txq_init(q);
	return list;
}

/* One frame on queue (multi: through transmit_queue); a frame in pieces
 * (pkb->ext) as it is where the device takes it so, else whole. */
static bool send_one(struct netdev *dev, unsigned queue, bool multi, struct pkb *p, uint64_t now)
{
	int rc;

	if (p->ext && dev->ops->transmit_ext) {
		rc = dev->ops->transmit_ext(dev, queue, p->data, p->len, p->ext, p->gso_size, now);
	} else {
		if (p->ext && !(p = pkb_linearize(p)))
			return false;
		if (multi)
			rc = dev->ops->transmit_queue(dev, queue, p->data, p->len, p->gso_size, now);
		else
			rc = dev->ops->transmit(dev, p->data, p->len, p->gso_size, now);
	}
	pkb_free(p);
	return rc >= 0;
}

unsigned txq_send(struct netdev *dev, struct pkb *list, uint64_t now)
{
	unsigned failed = 0;

	while (list) {
		struct pkb *p = list;

		list = p->next;
		failed += !send_one(dev, 0, false, p, now);
	}
	return failed;
}

void txq_flush(struct txq *q, struct netdev *dev, struct stack *s, uint64_t now)
{
	struct pkb *list;

	while ((list = txq_take(q)))
		stack_count_drops(s, DROP_DEV_TX_ERROR, txq_send(dev, list, now));
}

void txq_clear(struct txq *q)
{
	struct pkb *p = txq_take(q);

	while (p) {
		struct pkb *next = p->next;

		pkb_free(p);
		p = next;
	}
}

unsigned txq_select(const uint8_t *frame, size_t len, unsigned n)
{
	struct eth_hdr e;
	struct ip4_hdr ih;
	uint32_t h, ports = 0;

	/* The headers, as in a quote: a zero-copy frame's bytes at data end
	 * after them (pkb_ext), before the length its IP header says. */
	if (n <= 1 || eth_hdr_parse(frame, len, &e) != WIRE_OK || e.type != ETH_TYPE_IP4 ||
	    ip4_hdr_parse_quote(frame + ETH_HLEN, len - ETH_HLEN, &ih) != WIRE_OK ||
	    (ih.proto != IP_PROTO_TCP && ih.proto != IP_PROTO_UDP))
		return 0;
	/* The ports are in a whole datagram only (neither MF nor an offset). */
	if (!ih.mf && !ih.frag_off && ih.total_len >= ih.ihl + 4u)
		ports = rd32(frame + ETH_HLEN + ih.ihl);
	/* A multiplicative mix (Knuth's golden ratio) of the flow's fields: the
	 * same flow, the same queue. Which queue is nobody else's business: the
	 * kernel answers a flow on the queue where it saw it last. */
	h = ih.src * 0x9e3779b1u;
	h = (h ^ ih.dst) * 0x9e3779b1u;
	h = (h ^ ports ^ ih.proto) * 0x9e3779b1u;
	return (unsigned)(((uint64_t)(h ^ (h >> 16)) * n) >> 32);
}

void txq_set_init(struct txq_set *set, unsigned n)
{
	set->n = n < 1 ? 1 : n > TXQ_MAX ? TXQ_MAX : n;
	set->writing = 0;
	for (unsigned i = 0; i < TXQ_MAX; i++)
		txq_init(&set->q[i]);
}

bool txq_set_full(void *ctx)
{
	const struct txq_set *set = ctx;
	size_t held = set->writing;

	for (unsigned i = 0; i < set->n; i++)
		held += set->q[i].bytes;
	return held >= TXQ_FULL_BYTES;
}

int txq_set_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct txq_set *set = ctx;

	return txq_output(&set->q[txq_select(pkb->data, pkb->len, set->n)], pkb, now);
}

unsigned txq_send_queue(struct netdev *dev, unsigned queue, struct pkb *list, uint64_t now)
{
	unsigned failed = 0;

	if (dev->tx_queues <= 1 || !dev->ops->transmit_queue)
		return txq_send(dev, list, now);
	while (list) {
		struct pkb *p = list;

		list = p->next;
		failed += !send_one(dev, queue, true, p, now);
	}
	return failed;
}

void txq_set_flush(struct txq_set *set, struct netdev *dev, struct stack *s, uint64_t now)
{
	struct pkb *list;

	for (unsigned i = 0; i < set->n; i++)
		while ((list = txq_take(&set->q[i])))
			stack_count_drops(s, DROP_DEV_TX_ERROR, txq_send_queue(dev, i, list, now));
}

void txq_set_clear(struct txq_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		txq_clear(&set->q[i]);
}
