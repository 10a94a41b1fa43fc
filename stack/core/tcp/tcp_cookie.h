/*
 * Keyed functions for TCP: initial sequence numbers (RFC 6528), SYN cookies
 * (RFC 4987 §3.6), ephemeral port choice (RFC 6056 §3.3.3/3.3.4). The key is
 * the stack's 16-byte secret (from getrandom in the runner; fixed in tests).
 */
#ifndef PSTACK_TCP_COOKIE_H
#define PSTACK_TCP_COOKIE_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson & Bernstein). */
uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a 4-microsecond timer. */
uint32_t tcp_isn(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport,
		 uint64_t now_us);

/* A SYN cookie: our ISN for a SYN answered without keeping state. It encodes
 * a coarse time counter and the MSS (rounded down to one of a few values),
 * authenticated by a keyed hash over the 4-tuple and the peer's ISN. */
uint32_t tcp_cookie_make(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
			 uint16_t rport, uint32_t peer_isn, uint16_t mss, uint64_t now_us);
/* Checks the ACK completing a cookie handshake: cookie = ACK - 1,
 * peer_isn = SEG.SEQ - 1. 0 and *mss set when valid and recent (within 2
 * minutes, like Linux), -1 otherwise. */
int tcp_cookie_check(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport,
		     uint32_t peer_isn, uint32_t cookie, uint64_t now_us, uint16_t *mss);

/* RFC 6056 Algorithm 3 offset for an ephemeral port search towards (raddr, rport). */
uint32_t tcp_port_offset(const uint8_t key[16], uint32_t laddr, uint32_t raddr, uint16_t rport);

/* RFC 7413 fast open: the cookie the server gives a client at saddr for its
 * own address daddr (Linux's, for the same key: tcp_fastopen_key). */
#define TCP_FASTOPEN_COOKIE_LEN 8
void tcp_fastopen_cookie(const uint8_t key[16], uint32_t saddr, uint32_t daddr, uint8_t out[TCP_FASTOPEN_COOKIE_LEN]);

#endif
