/*
 * A byte ring for TCP's send and receive queues: data is copied in once and
 * out once, never moved per segment. The ring grows (doubling, relinearised)
 * up to a limit so that idle connections do not hold megabytes.
 */
#ifndef PSTACK_TCP_RING_H
#define PSTACK_TCP_RING_H

#include <stddef.h>
#include <stdint.h>

struct tcp_ring {
	uint8_t *buf;
	size_t cap;     /* bytes allocated */
	size_t head;    /* index of the first byte */
	size_t len;     /* bytes held */
	size_t limit;   /* cap never grows past this */
};

void tcp_ring_init(struct tcp_ring *r, size_t limit);
void tcp_ring_free(struct tcp_ring *r);
/* Room left before the limit. */
size_t tcp_ring_space(const struct tcp_ring *r);
/* Appends up to n bytes (fewer when the limit or memory is reached); returns how many. */
size_t tcp_ring_write(struct tcp_ring *r, const void *src, size_t n);
/* Copies n bytes starting at off (off + n <= len) into dst. */
void tcp_ring_peek(const struct tcp_ring *r, size_t off, void *dst, size_t n);
/* Drops n bytes from the front (n <= len). */
void tcp_ring_consume(struct tcp_ring *r, size_t n);

#endif
