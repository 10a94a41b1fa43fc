/*
 * ARP (RFC 826) for IPv4 over Ethernet: a bounded cache with aging, answers
 * for our address, resolution with retries, a bounded queue of packets that
 * wait for resolution, and a gratuitous ARP when the interface comes up.
 */
#ifndef PSTACK_ARP_H
#define PSTACK_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/pkb.h"

struct stack;

#define ARP_CACHE_SIZE      256      /* entries at most */
/* Bytes of packets waiting per unresolved address (Linux's unres_qlen_bytes,
 * SK_WMEM_MAX): a 64 KiB UDP datagram's 45 fragments fit. When more come,
 * the oldest are dropped. */
#define ARP_QUEUE_BYTES     212992
#define ARP_REACHABLE_US    (60ull * 1000000)   /* entry lifetime after last confirmation */
#define ARP_RETRY_US        (1000000ull)        /* between requests */
#define ARP_MAX_REQUESTS    3

int arp_init(struct stack *s);
void arp_fini(struct stack *s);
void arp_input(struct stack *s, const uint8_t *pkt, size_t len, uint64_t now);
/* Sends the IPv4 packet in pkb to next_hop: at once when resolved, else it
 * queues it (dropping the oldest ones beyond ARP_QUEUE_BYTES) and asks.
 * Takes pkb. 0, or -errno. */
int arp_output(struct stack *s, struct pkb *pkb, uint32_t next_hop, uint64_t now);
/* Broadcasts a gratuitous ARP for our address. */
void arp_announce(struct stack *s, uint64_t now);
/* Asks for the gateway's address now (a pending entry), unless known or asked. */
void arp_resolve_gateway(struct stack *s, uint64_t now);
void arp_poll(struct stack *s, uint64_t now);
uint64_t arp_poll_at(const struct stack *s);
/* Cache look-up: 0 and mac filled when resolved, -ENOENT otherwise. */
int arp_lookup(const struct stack *s, uint32_t ip, uint8_t mac[6]);
/* Adds or refreshes a resolved entry (tests; static entries). */
void arp_insert(struct stack *s, uint32_t ip, const uint8_t mac[6], uint64_t now);
/* stack_arp_export / stack_arp_import (stack.h). */
struct stack_arp_rec;
size_t arp_export(const struct stack *s, struct stack_arp_rec *out, size_t max, uint64_t now);
void arp_import(struct stack *s, const struct stack_arp_rec *r, size_t n, uint64_t now);

#endif
