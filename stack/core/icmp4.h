/* ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2): echo, destination unreachable. */
#ifndef PSTACK_ICMP4_H
#define PSTACK_ICMP4_H

#include <stddef.h>
#include <stdint.h>

#include "stack/wire/icmp4.h"

struct stack;
struct ip4_hdr;

/* Error messages sent per second at most, all destinations together (token
 * bucket, like Linux's icmp_msgs_per_sec and icmp_msgs_burst)... */
#define ICMP_ERRORS_PER_SEC 1000
#define ICMP_ERRORS_BURST 50
/* ...and to one destination (Linux's icmp_ratelimit, 1000 ms, with
 * inet_peer_xrlim_allow's burst of XRLIM_BURST_FACTOR = 6): one a second
 * after a burst of 6. */
#define ICMP_PEER_INTERVAL_US 1000000ull
#define ICMP_PEER_BURST 6
#define ICMP_PEERS 64           /* destinations remembered (the oldest goes) */
#define ICMP_ERROR_MAX_LEN 576  /* an error's whole datagram at most (RFC 1812 §4.3.2.3) */

int icmp4_init(struct stack *s);
void icmp4_fini(struct stack *s);
void icmp4_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now);
/* Sends destination unreachable quoting the offending datagram (rate-limited). */
void icmp4_send_unreach(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now);
/* Sends time exceeded (code 1: fragment reassembly time exceeded) quoting
 * orig, with the same rules and rate limit as icmp4_send_unreach(). */
void icmp4_send_time_exceeded(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now);
/* RFC 792 parameter problem about orig, pointing at byte ptr of its header,
 * with the same rules and rate limit as icmp4_send_unreach(). */
void icmp4_send_param_problem(struct stack *s, const struct ip4_hdr *orig, uint8_t ptr, uint64_t now);
/*
 * Errors reach the transports as udp_icmp_error()/tcp_icmp_error(quoted, qp,
 * qlen, err, ...): quoted is the decoded quoted IP header (raw = the quote),
 * qp/qlen the quoted transport bytes after it (at least 8), err a negative
 * errno (-ECONNREFUSED, ...).
 *
 * The -errno an ICMP error (type, code) reports, as Linux's icmp_err_convert
 * (-ECONNREFUSED for port unreachable, ...); 0 when the type is no error.
 */
int icmp4_error_errno(uint8_t type, uint8_t code);
/* A datagram we built (IPv4 header first) could not be sent because its next
 * hop did not answer ARP: its transport hears -EHOSTUNREACH, as Linux's
 * neighbour code reports by sending itself host unreachable. */
void icmp4_local_unreach(struct stack *s, const uint8_t *ip, size_t len);

#endif
