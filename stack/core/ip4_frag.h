/*
 * IPv4 reassembly (internal to ip4.c; exposed for its unit tests).
 *
 * RFC 791 §3.2 and RFC 815. Fragments of one datagram, keyed by
 * (src, dst, proto, id), are kept as copies in a list sorted by offset that
 * never holds two overlapping ranges. With that invariant the datagram is
 * complete exactly when the last fragment's end is known and the bytes held
 * add up to it, which is RFC 815's "no holes left" without the hole list.
 */
#ifndef PSTACK_IP4_FRAG_H
#define PSTACK_IP4_FRAG_H

#include <stddef.h>
#include <stdint.h>

struct stack;
struct ip4_hdr;
struct ip4_reass;

struct ip4_reass *ip4_reass_new(void);
void ip4_reass_free(struct ip4_reass *r);
/*
 * Adds one validated fragment (h as from ip4_parse, payload at h->raw + h->ihl).
 * Returns 1 and a malloc'd contiguous datagram in *out (the first fragment's
 * header, patched to describe the whole datagram, then the whole payload)
 * when this fragment completed it; 0 when it is held or was dropped (the drop
 * is counted here).
 */
int ip4_reass_add(struct stack *s, struct ip4_reass *r, const struct ip4_hdr *h, uint64_t now,
		  uint8_t **out, size_t *out_len);
/* Frees datagrams whose time ran out (DROP_IP_FRAG_TIMEOUT). */
void ip4_reass_poll(struct stack *s, struct ip4_reass *r, uint64_t now);
uint64_t ip4_reass_poll_at(const struct ip4_reass *r);
/* Bytes charged against IP4_REASS_MEM_MAX, and datagrams in progress. */
size_t ip4_reass_mem(const struct ip4_reass *r);
size_t ip4_reass_count(const struct ip4_reass *r);
/* The stack's reassembly state (implemented in ip4.c). */
const struct ip4_reass *ip4_reass_of(const struct stack *s);

#endif
