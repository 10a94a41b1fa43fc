#include "stack/tcp_ring.h"

#include <stdlib.h>
#include <string.h>

#define TCP_RING_MIN 4096

void tcp_ring_init(struct tcp_ring *r, size_t limit)
{
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
	r->limit = limit;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
}

size_t tcp_ring_space(const struct tcp_ring *r)
{
	return r->len >= r->limit ? 0 : r->limit - r->len;
}

/* Grows the allocation to hold at least need bytes; keeps the data in order. */
static void ring_grow(struct tcp_ring *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : TCP_RING_MIN;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	if (ncap > r->limit && need <= r->limit)
		ncap = r->limit;
	if (ncap < need)
		return;
	nb = malloc(ncap);
	if (!nb)
		return;
	tcp_ring_peek(r, 0, nb, r->len);
	free(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
}

size_t tcp_ring_write(struct tcp_ring *r, const void *src, size_t n)
{
	const uint8_t *p = src;
	size_t tail, first;

	if (n > tcp_ring_space(r))
		n = tcp_ring_space(r);
	if (r->len + n > r->cap)
		ring_grow(r, r->len + n);
	if (r->len + n > r->cap)
		n = r->cap - r->len;
	if (!n)
		return 0;
	tail = (r->head + r->len) % r->cap;
	first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->buf + tail, p, first);
	if (n > first)
		memcpy(r->buf, p + first, n - first);
	r->len += n;
	return n;
}

void tcp_ring_peek(const struct tcp_ring *r, size_t off, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t start, first;

	if (!n)
		return;
	start = (r->head + off) % r->cap;
	first = r->cap - start < n ? r->cap - start : n;
	memcpy(d, r->buf + start, first);
	if (n > first)
		memcpy(d + first, r->buf, n - first);
}

void tcp_ring_consume(struct tcp_ring *r, size_t n)
{
	if (n >= r->len) {
		r->head = 0;
		r->len = 0;
		return;
	}
	r->head = (r->head + n) % r->cap;
	r->len -= n;
}
