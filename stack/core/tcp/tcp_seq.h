/*
 * Sequence-number arithmetic (RFC 9293 §3.4; OpenBSD tcp_seq.h, Linux before()/after()).
 * These are the only comparisons of sequence numbers anywhere: a plain `<`
 * breaks at wraparound.
 */
#ifndef PSTACK_TCP_SEQ_H
#define PSTACK_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t tcp_seq;

static inline bool seq_lt(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) >= 0; }
/* lo <= a < hi, in sequence space. */
static inline bool seq_in(tcp_seq a, tcp_seq lo, tcp_seq hi) { return seq_geq(a, lo) && seq_lt(a, hi); }
static inline tcp_seq seq_max(tcp_seq a, tcp_seq b) { return seq_gt(a, b) ? a : b; }
static inline tcp_seq seq_min(tcp_seq a, tcp_seq b) { return seq_lt(a, b) ? a : b; }

#endif
