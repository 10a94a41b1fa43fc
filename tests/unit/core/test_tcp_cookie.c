/* SipHash-2-4, RFC 6528 ISNs, SYN cookies, RFC 6056 port offsets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp_cookie.h"

static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

#define LADDR 0xc0000202u /* 192.0.2.2 */
#define RADDR 0xc0000201u /* 192.0.2.1 */
#define LPORT 80
#define RPORT 40000
#define PISN  0x12345678u
#define SEC   1000000ull

/* The SipHash paper's Appendix A vectors (reference implementation's
 * vectors.h): key 00..0f, message i = bytes 00..i-1, output as a
 * little-endian 64-bit word. */
static const uint64_t sip_vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};

static void test_siphash_reference_vectors(void **state)
{
	uint8_t msg[64];

	(void)state;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 64; len++)
		assert_int_equal(siphash24(key, msg, len), sip_vectors[len]);
}

/* The paper's worked example (Appendix A): 15-byte message 00..0e. */
static void test_siphash_paper_example(void **state)
{
	uint8_t msg[15];

	(void)state;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(siphash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ull);
}

static void test_siphash_depends_on_key(void **state)
{
	uint8_t k2[16];
	uint8_t msg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	memcpy(k2, key, 16);
	k2[15] ^= 0x80;
	assert_true(siphash24(key, msg, 8) != siphash24(k2, msg, 8));
}

static void test_isn_deterministic(void **state)
{
	uint64_t now = 123 * SEC;

	(void)state;
	assert_int_equal(tcp_isn(key, LADDR, LPORT, RADDR, RPORT, now),
			 tcp_isn(key, LADDR, LPORT, RADDR, RPORT, now));
}

/* RFC 6528 §3: F covers each element of the 4-tuple and the key. */
static void test_isn_depends_on_tuple_and_key(void **state)
{
	uint64_t now = 123 * SEC;
	uint32_t base = tcp_isn(key, LADDR, LPORT, RADDR, RPORT, now);
	uint8_t k2[16];

	(void)state;
	memcpy(k2, key, 16);
	k2[0] ^= 1;
	assert_true(tcp_isn(key, LADDR + 1, LPORT, RADDR, RPORT, now) != base);
	assert_true(tcp_isn(key, LADDR, LPORT + 1, RADDR, RPORT, now) != base);
	assert_true(tcp_isn(key, LADDR, LPORT, RADDR + 1, RPORT, now) != base);
	assert_true(tcp_isn(key, LADDR, LPORT, RADDR, RPORT + 1, now) != base);
	/* Swapping the ends gives another connection's ISN. */
	assert_true(tcp_isn(key, RADDR, RPORT, LADDR, LPORT, now) != base);
	assert_true(tcp_isn(k2, LADDR, LPORT, RADDR, RPORT, now) != base);
}

/* RFC 6528 §3: M ticks every 4 microseconds, so for one tuple the ISN
 * advances by exactly elapsed/4 (mod 2^32). */
static void test_isn_clock(void **state)
{
	uint64_t t0 = 1000 * SEC; /* a multiple of 4 */
	uint32_t base = tcp_isn(key, LADDR, LPORT, RADDR, RPORT, t0);

	(void)state;
	assert_int_equal(tcp_isn(key, LADDR, LPORT, RADDR, RPORT, t0 + 3), base);
	assert_int_equal(tcp_isn(key, LADDR, LPORT, RADDR, RPORT, t0 + 4), base + 1);
	assert_int_equal(tcp_isn(key, LADDR, LPORT, RADDR, RPORT, t0 + SEC), base + 250000);
	/* After 4 * 2^32 us (about 4.77 hours) M has wrapped once. */
	assert_int_equal(tcp_isn(key, LADDR, LPORT, RADDR, RPORT, t0 + (4ull << 32)), base);
}

static uint32_t make(uint16_t mss, uint64_t now)
{
	return tcp_cookie_make(key, LADDR, LPORT, RADDR, RPORT, PISN, mss, now);
}

static int check(uint32_t cookie, uint64_t now, uint16_t *mss)
{
	return tcp_cookie_check(key, LADDR, LPORT, RADDR, RPORT, PISN, cookie, now, mss);
}

/* A valid cookie returns the largest table MSS not above the offered one. */
static void test_cookie_round_trip_mss(void **state)
{
	static const struct { uint16_t offered, expect; } cases[] = {
		{ 1460, 1460 }, { 65495, 1460 }, { 8960, 1460 }, { 1459, 1440 }, { 1452, 1440 },
		{ 1440, 1440 }, { 1400, 1300 }, { 1300, 1300 }, { 1299, 536 }, { 1000, 536 },
		{ 536, 536 }, { 535, 48 }, { 48, 48 },
	};
	uint64_t now = 5000 * SEC;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t mss = 0;

		assert_int_equal(check(make(cases[i].offered, now), now, &mss), 0);
		assert_int_equal(mss, cases[i].expect);
	}
}

static void test_cookie_bound_to_tuple_and_isn(void **state)
{
	uint64_t now = 5000 * SEC;
	uint32_t c = make(1460, now);
	uint16_t mss = 7;

	(void)state;
	assert_int_equal(tcp_cookie_check(key, LADDR + 1, LPORT, RADDR, RPORT, PISN, c, now, &mss), -1);
	assert_int_equal(tcp_cookie_check(key, LADDR, LPORT + 1, RADDR, RPORT, PISN, c, now, &mss), -1);
	assert_int_equal(tcp_cookie_check(key, LADDR, LPORT, RADDR + 1, RPORT, PISN, c, now, &mss), -1);
	assert_int_equal(tcp_cookie_check(key, LADDR, LPORT, RADDR, RPORT + 1, PISN, c, now, &mss), -1);
	assert_int_equal(tcp_cookie_check(key, LADDR, LPORT, RADDR, RPORT, PISN + 1, c, now, &mss), -1);
	assert_int_equal(mss, 7); /* untouched on failure */
	assert_int_equal(tcp_cookie_check(key, LADDR, LPORT, RADDR, RPORT, PISN, c, now, &mss), 0);
}

static void test_cookie_other_key_rejected(void **state)
{
	uint64_t now = 5000 * SEC;
	uint8_t k2[16];
	uint16_t mss;

	(void)state;
	memcpy(k2, key, 16);
	k2[7] ^= 4;
	assert_int_equal(tcp_cookie_check(k2, LADDR, LPORT, RADDR, RPORT, PISN, make(1460, now), now, &mss), -1);
}

/* Every single-bit change is refused: the hash bits, the MSS index (bound
 * by the hash) and the time counter alike. */
static void test_cookie_bit_flips_rejected(void **state)
{
	uint64_t now = 5000 * SEC;
	uint32_t c = make(1460, now);
	uint16_t mss;

	(void)state;
	for (int bit = 0; bit < 32; bit++)
		assert_int_equal(check(c ^ (1u << bit), now, &mss), -1);
	/* A forged MSS: the same cookie with each other index. */
	for (uint32_t idx = 0; idx < 8; idx++) {
		uint32_t forged = (c & ~(7u << 24)) | (idx << 24);

		if (forged != c)
			assert_int_equal(check(forged, now, &mss), -1);
	}
}

/* Accepted in the tick it was made and the next (64-second ticks), as Linux
 * accepts two counter values; refused after that. */
static void test_cookie_age_window(void **state)
{
	uint64_t tick_start = 6400 * SEC; /* a tick boundary */
	uint32_t early = make(1460, tick_start);
	uint32_t late = make(1460, tick_start + 63 * SEC);
	uint16_t mss;

	(void)state;
	assert_int_equal(check(early, tick_start + 30 * SEC, &mss), 0);
	assert_int_equal(check(early, tick_start + 100 * SEC, &mss), 0);
	assert_int_equal(check(early, tick_start + 127 * SEC, &mss), 0);
	assert_int_equal(check(early, tick_start + 128 * SEC, &mss), -1);
	assert_int_equal(check(early, tick_start + 600 * SEC, &mss), -1);
	assert_int_equal(check(late, tick_start + 65 * SEC, &mss), 0);
	assert_int_equal(check(late, tick_start + 129 * SEC, &mss), -1);
	/* From before it was made (clock went back a tick): refused. */
	assert_int_equal(check(early, tick_start - 1, &mss), -1);
}

/* The counter travels in 5 bits; 32 ticks later the same bits come round,
 * but the hash covers the full counter. */
static void test_cookie_counter_wrap_rejected(void **state)
{
	uint64_t tick_start = 6400 * SEC;
	uint32_t c = make(1460, tick_start);
	uint16_t mss;

	(void)state;
	assert_int_equal(check(c, tick_start + 32 * 64 * SEC, &mss), -1);
	assert_int_equal(check(c, tick_start + 33 * 64 * SEC, &mss), -1);
}

/* Near time zero a cookie claiming the previous tick must not underflow. */
static void test_cookie_at_start_of_time(void **state)
{
	uint16_t mss;
	uint32_t c = make(1460, 10 * SEC);

	(void)state;
	assert_int_equal(check(c, 10 * SEC, &mss), 0);
	assert_int_equal(mss, 1460);
	assert_int_equal(check(c | (31u << 27), 10 * SEC, &mss), -1);
}

/* Different peers' SYNs get different cookies (so they are not guessable
 * from one another). */
static void test_cookie_varies(void **state)
{
	uint64_t now = 5000 * SEC;

	(void)state;
	assert_true(make(1460, now) != tcp_cookie_make(key, LADDR, LPORT, RADDR, RPORT, PISN + 1, 1460, now));
	assert_true(make(1460, now) !=
		    tcp_cookie_make(key, LADDR, LPORT, RADDR, RPORT + 1, PISN, 1460, now));
}

/* RFC 6056 §3.3.3: the offset depends on the destination, so port use
 * towards one peer says nothing about the sequence towards another. */
static void test_port_offset(void **state)
{
	uint32_t base = tcp_port_offset(key, LADDR, RADDR, 80);
	uint8_t k2[16];

	(void)state;
	memcpy(k2, key, 16);
	k2[3] ^= 0x10;
	assert_int_equal(tcp_port_offset(key, LADDR, RADDR, 80), base);
	assert_true(tcp_port_offset(key, LADDR, RADDR, 443) != base);
	assert_true(tcp_port_offset(key, LADDR, RADDR + 1, 80) != base);
	assert_true(tcp_port_offset(key, LADDR + 1, RADDR, 80) != base);
	assert_true(tcp_port_offset(k2, LADDR, RADDR, 80) != base);
	/* Spread over the port range: 64 destinations rarely collide mod 16384. */
	{
		unsigned distinct = 0;
		uint8_t seen[16384 / 8] = { 0 };

		for (uint16_t p = 1; p <= 64; p++) {
			uint32_t v = tcp_port_offset(key, LADDR, RADDR, p) % 16384;

			if (!(seen[v / 8] & (1u << (v % 8))))
				distinct++;
			seen[v / 8] |= (uint8_t)(1u << (v % 8));
		}
		assert_true(distinct >= 60);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_reference_vectors),
		cmocka_unit_test(test_siphash_paper_example),
		cmocka_unit_test(test_siphash_depends_on_key),
		cmocka_unit_test(test_isn_deterministic),
		cmocka_unit_test(test_isn_depends_on_tuple_and_key),
		cmocka_unit_test(test_isn_clock),
		cmocka_unit_test(test_cookie_round_trip_mss),
		cmocka_unit_test(test_cookie_bound_to_tuple_and_isn),
		cmocka_unit_test(test_cookie_other_key_rejected),
		cmocka_unit_test(test_cookie_bit_flips_rejected),
		cmocka_unit_test(test_cookie_age_window),
		cmocka_unit_test(test_cookie_counter_wrap_rejected),
		cmocka_unit_test(test_cookie_at_start_of_time),
		cmocka_unit_test(test_cookie_varies),
		cmocka_unit_test(test_port_offset),
	};
	return cmocka_run_group_tests_name("tcp_cookie", tests, NULL, NULL);
}
