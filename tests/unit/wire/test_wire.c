/* Checksums and packet buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/pkb.h"
#include "stack/wire/wire.h"

/* RFC 1071 §3's worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
static void test_csum_rfc1071_example(void **state)
{
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(csum_fold(csum_partial(data, sizeof(data), 0)), (uint16_t)~0xddf2);
}

/* A received header whose checksum field is right folds to zero. */
static void test_csum_verifies_to_zero(void **state)
{
	uint8_t ip[20] = { 0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2 };

	(void)state;
	wr16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	assert_int_equal(csum_fold(csum_partial(ip, 20, 0)), 0);
}

/* An odd length pads the last byte with zero, and chaining pieces equals one pass. */
static void test_csum_odd_and_chained(void **state)
{
	uint8_t d[7] = { 1, 2, 3, 4, 5, 6, 7 };
	uint32_t whole = csum_partial(d, 7, 0);
	uint32_t parts = csum_partial(d + 4, 3, csum_partial(d, 4, 0));

	(void)state;
	assert_int_equal(csum_fold(whole), csum_fold(parts));
	assert_int_equal(csum_fold(whole), (uint16_t)~(0x0102 + 0x0304 + 0x0506 + 0x0700));
}

static void test_pkb_push_put_limits(void **state)
{
	struct pkb *p = pkb_alloc(100);

	(void)state;
	assert_non_null(p);
	assert_non_null(pkb_put(p, 100));
	assert_null(pkb_put(p, 1));
	assert_non_null(pkb_push(p, PKB_HEADROOM));
	assert_null(pkb_push(p, 1));
	assert_int_equal(p->len, 100 + PKB_HEADROOM);
	assert_int_equal(pkb_live(), 1);
	pkb_free(p);
	assert_int_equal(pkb_live(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_verifies_to_zero),
		cmocka_unit_test(test_csum_odd_and_chained),
		cmocka_unit_test(test_pkb_push_put_limits),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
