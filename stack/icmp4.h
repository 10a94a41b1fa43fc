/* ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): echo, destination unreachable. */
#ifndef PSTACK_ICMP4_H
#define PSTACK_ICMP4_H

#include <stddef.h>
#include <stdint.h>

struct stack;
struct ip4_hdr;

#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_UNREACH_PROTOCOL 2
#define ICMP_UNREACH_PORT 3
#define ICMP_UNREACH_NEEDFRAG 4

/* Error messages sent per second at most (token bucket, like Linux's icmp_ratelimit). */
#define ICMP_ERRORS_PER_SEC 100
#define ICMP_ERRORS_BURST 50

int icmp4_init(struct stack *s);
void icmp4_fini(struct stack *s);
void icmp4_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now);
/* Sends destination unreachable quoting the offending datagram (rate-limited). */
void icmp4_send_unreach(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now);

#endif
