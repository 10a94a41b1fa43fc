/* The host's transmit queue (txq.h). */
#include "stack/host/txq.h"

void txq_init(struct txq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->len = 0;
}

int txq_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct txq *q = ctx;

	(void)now;
	pkb->next = NULL;
	*q->tail = pkb;
	q->tail = &pkb->next;
	q->len++;
	return 0;
}

struct pkb *txq_take(struct txq *q)
{
	struct pkb *list = q->head;

	txq_init(q);
	return list;
}

unsigned txq_send(struct netdev *dev, struct pkb *list, uint64_t now)
{
	unsigned failed = 0;

	while (list) {
		struct pkb *p = list;

		list = p->next;
		if (dev->ops->transmit(dev, p->data, p->len, p->gso_size, now) < 0)
			failed++;
		pkb_free(p);
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
