/*
 * The data path's copy (copy.h: stack_copy_bytes) and transmit buffers
 * placed where the TAP's write copies fast (pkb.h: pkb_alloc_aligned).
 * The copy goes in pieces when source and destination are not aligned
 * alike: every byte must still land once, in order, and nothing around it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/copy.h"
#include "stack/core/pkb.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"

#define GUARD 64

static void check_copy(size_t n, size_t soff, size_t doff)
{
	/* aligned_alloc's size: a multiple of the alignment (C11) */
	size_t size = (n + 2 * GUARD + 64 + 63) & ~(size_t)63;
	uint8_t *src = aligned_alloc(64, size);
	uint8_t *dst = aligned_alloc(64, size);
	uint8_t *s = src + GUARD + soff, *d = dst + GUARD + doff;

	assert_non_null(src);
	assert_non_null(dst);
	for (size_t i = 0; i < n + 2 * GUARD + 64; i++) {
		src[i] = (uint8_t)(i * 131 + 7);
		dst[i] = 0xA5;
	}
	stack_copy_bytes(d, s, n);
	if (n)
		assert_memory_equal(d, s, n);
	for (uint8_t *p = dst; p < d; p++)
		assert_int_equal(*p, 0xA5);
	for (uint8_t *p = d + n; p < dst + n + 2 * GUARD + 64; p++)
		assert_int_equal(*p, 0xA5);
	free(src);
	free(dst);
}

/* Sizes around the piece and far beyond it, at every relative alignment. */
static void test_copy_every_alignment(void **state)
{
	static const size_t sizes[] = { 0, 1, 63, STACK_COPY_PIECE - 1, STACK_COPY_PIECE,
					STACK_COPY_PIECE + 1, 2 * STACK_COPY_PIECE + 17, 65536 + 33 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t soff = 0; soff < 64; soff += 7)
			for (size_t doff = 0; doff < 64; doff++)
				check_copy(sizes[i], soff, doff);
}

/* data + at is a multiple of PKB_ALIGN; the headroom and the room asked
 * for are all there, and a clone keeps the bytes. */
static void test_pkb_alloc_aligned(void **state)
{
	static const size_t ats[] = { 0, 1, 30, 32, 63, 64, 66, 200 };

	(void)state;
	for (size_t i = 0; i < sizeof(ats) / sizeof(ats[0]); i++) {
		for (size_t size = 0; size < 3000; size += 997) {
			struct pkb *p = pkb_alloc_aligned(size, ats[i]);
			struct pkb *c;
			uint8_t *body;

			assert_non_null(p);
			assert_int_equal(((uintptr_t)p->data + ats[i]) % PKB_ALIGN, 0);
			body = pkb_put(p, size);
			assert_non_null(body);
			memset(body, 0x5A, size);
			assert_null(pkb_put(p, PKB_ALIGN));  /* no more than the slack's worth beyond */
			assert_non_null(pkb_push(p, PKB_HEADROOM));
			c = pkb_clone(p);
			assert_non_null(c);
			assert_int_equal(c->len, size + PKB_HEADROOM);
			if (size)
				assert_memory_equal(c->data + PKB_HEADROOM, body, size);
			pkb_free(c);
			pkb_free(p);
		}
	}
	/* A frame's IP payload: the frame starts aligned once IPv4 and Ethernet are in front. */
	for (size_t size = 0; size < 3000; size += 997) {
		struct pkb *p = pkb_alloc_frame(size);

		assert_non_null(p);
		assert_non_null(pkb_put(p, size));
		assert_non_null(pkb_push(p, IP4_HLEN + ETH_HLEN));
		assert_int_equal((uintptr_t)p->data % PKB_ALIGN, 0);
		pkb_free(p);
	}
	assert_int_equal(pkb_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_every_alignment),
		cmocka_unit_test(test_pkb_alloc_aligned),
	};
	return cmocka_run_group_tests_name("copy", tests, NULL, NULL);
}
