/*
 * Keyed functions for TCP. Read first:
 *   SipHash: Aumasson & Bernstein, "SipHash: a fast short-input PRF" (2012).
 *   RFC 6528 (initial sequence numbers), RFC 4987 §3.6 (SYN cookies),
 *   RFC 6056 §3.3.3 (ephemeral port selection, Algorithm 3).
 *
 * Every hash input starts with a one-byte domain tag, so the ISN, cookie and
 * port functions are independent PRFs even though they share one key.
 */
#include "stack/core/tcp/tcp_cookie.h"

enum {
	TAG_ISN = 1,
	TAG_COOKIE = 2,
	TAG_PORT = 3,
};

/* ---- SipHash-2-4 ---- */

static uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl64(v[2], 32);
}

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ull,
		k1 ^ 0x646f72616e646f6dull,
		k0 ^ 0x6c7967656e657261ull,
		k1 ^ 0x7465646279746573ull,
	};
	size_t full = len - (len % 8);
	uint64_t m;

	for (size_t off = 0; off < full; off += 8) {
		m = le64(in + off);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	/* The last block: the remaining bytes, then len mod 256 in the top byte. */
	m = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < len % 8; i++)
		m |= (uint64_t)in[full + i] << (8 * i);
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;

	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- hash inputs ---- */

static size_t put32(uint8_t *p, size_t off, uint32_t v)
{
	p[off] = (uint8_t)(v >> 24);
	p[off + 1] = (uint8_t)(v >> 16);
	p[off + 2] = (uint8_t)(v >> 8);
	p[off + 3] = (uint8_t)v;
	return off + 4;
}

static size_t put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)(v >> 8);
	p[off + 1] = (uint8_t)v;
	return off + 2;
}

/* tag, laddr, lport, raddr, rport: 13 bytes; returns the length used. */
static size_t put_tuple(uint8_t *buf, uint8_t tag, uint32_t laddr, uint16_t lport, uint32_t raddr,
			uint16_t rport)
{
	size_t n = 0;

	buf[n++] = tag;
	n = put32(buf, n, laddr);
	n = put16(buf, n, lport);
	n = put32(buf, n, raddr);
	n = put16(buf, n, rport);
	return n;
}

/* ---- RFC 6528 initial sequence numbers ---- */

uint32_t tcp_isn(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport,
		 uint64_t now_us)
{
	uint8_t buf[16];
	size_t n = put_tuple(buf, TAG_ISN, laddr, lport, raddr, rport);
	/* RFC 6528 §3: M is a timer that ticks every 4 microseconds (wrapping). */
	uint32_t m = (uint32_t)(now_us / 4);

	return m + (uint32_t)siphash24(key, buf, n);
}

/* ---- RFC 4987 §3.6 SYN cookies ---- */

/*
 * Layout, as in RFC 4987 §3.6 (and Bernstein's original):
 *   bits 31..27  t mod 32, t a counter of 64-second ticks
 *   bits 26..24  index into cookie_mss[]
 *   bits 23..0   SipHash(key; tuple, peer ISN, full t, index), truncated
 * The hash binds the cookie to the 4-tuple and to the peer's ISN, so an ACK
 * for a different connection, or one with a forged index or tick, fails.
 * Like Linux, a cookie is accepted during the tick it was made in and the
 * next one (between 64 and 128 seconds of life), then refused.
 */
#define COOKIE_TICK_US   (64ull * 1000 * 1000)
#define COOKIE_MAX_AGE   1u          /* ticks after the one it was made in */
#define COOKIE_HASH_MASK 0x00ffffffu

/* The MSS values a cookie can carry: Linux's msstab (syncookies.c, from
 * Alcock and Nelson's 2011 survey of the MSS values peers announce: 1460
 * the most common, 1300-1349 the next, 1440 and 1452 under PPPoE), so that
 * a connection made from a cookie sends the segments Linux's would: a peer
 * offering 1400 is sent 1300 bytes a segment.
 * Deviation: below 536 Linux's floor is 536 itself, more than such a peer
 * asked for; RFC 9293 §3.7.1 says the effective send MSS MUST NOT exceed
 * the peer's, so ours is 48, Linux's smallest sending MSS (tcp_min_snd_mss). */
static const uint16_t cookie_mss[] = { 48, 536, 1300, 1440, 1460 };

#define COOKIE_MSS_COUNT (sizeof(cookie_mss) / sizeof(cookie_mss[0]))

static uint32_t cookie_hash(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
			    uint16_t rport, uint32_t peer_isn, uint64_t tick, unsigned idx)
{
	uint8_t buf[32];
	size_t n = put_tuple(buf, TAG_COOKIE, laddr, lport, raddr, rport);

	n = put32(buf, n, peer_isn);
	n = put32(buf, n, (uint32_t)(tick >> 32));
	n = put32(buf, n, (uint32_t)tick);
	buf[n++] = (uint8_t)idx;
	return (uint32_t)siphash24(key, buf, n) & COOKIE_HASH_MASK;
}

uint32_t tcp_cookie_make(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr,
			 uint16_t rport, uint32_t peer_isn, uint16_t mss, uint64_t now_us)
{
	uint64_t tick = now_us / COOKIE_TICK_US;
	unsigned idx = 0;

	/* The largest table value not above the offered MSS (index 0 as the floor). */
	for (unsigned i = 1; i < COOKIE_MSS_COUNT; i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	return ((uint32_t)(tick & 0x1f) << 27) | ((uint32_t)idx << 24) |
	       cookie_hash(key, laddr, lport, raddr, rport, peer_isn, tick, idx);
}

int tcp_cookie_check(const uint8_t key[16], uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport,
		     uint32_t peer_isn, uint32_t cookie, uint64_t now_us, uint16_t *mss)
{
	uint64_t now_tick = now_us / COOKIE_TICK_US;
	uint32_t age = (uint32_t)((now_tick - (cookie >> 27)) & 0x1f);
	unsigned idx = (cookie >> 24) & 0x7;
	uint64_t tick;

	if (age > COOKIE_MAX_AGE || age > now_tick || idx >= COOKIE_MSS_COUNT)
		return -1;
	tick = now_tick - age;
	if ((cookie & COOKIE_HASH_MASK) != cookie_hash(key, laddr, lport, raddr, rport, peer_isn, tick, idx))
		return -1;
	if (mss)
		*mss = cookie_mss[idx];
	return 0;
}

/* ---- RFC 6056 §3.3.3 ephemeral ports ---- */

/* Algorithm 3: offset = F(local_IP, remote_IP, remote_port, secret_key). The
 * caller adds its own counter and searches from there. */
uint32_t tcp_port_offset(const uint8_t key[16], uint32_t laddr, uint32_t raddr, uint16_t rport)
{
	uint8_t buf[16];
	size_t n = put_tuple(buf, TAG_PORT, laddr, 0, raddr, rport);

	return (uint32_t)siphash24(key, buf, n);
}

/* RFC 7413 §4.1.2: the server's cookie is a MAC of the client's address.
 * Linux's __tcp_fastopen_cookie_gen_cipher, for IPv4: SipHash of the SYN's
 * source then destination address (network order), the 64-bit result
 * little-endian. The same key gives the kernel's own cookies. */
void tcp_fastopen_cookie(const uint8_t key[16], uint32_t saddr, uint32_t daddr, uint8_t out[TCP_FASTOPEN_COOKIE_LEN])
{
	uint8_t in[8];
	uint64_t h;

	put32(in, 0, saddr);
	put32(in, 4, daddr);
	h = siphash24(key, in, sizeof(in));
	for (int i = 0; i < TCP_FASTOPEN_COOKIE_LEN; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}
