/* The TAP driver's offload helper: completing a partial checksum the kernel left to us. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_net.h>

#include "stack/dev/tap.h"
#include "stack/wire/wire.h"

/* An Ethernet + IPv4 + TCP frame with `plen` payload bytes whose TCP checksum
 * field holds only the pseudo-header sum, as the kernel sends with NEEDS_CSUM. */
static size_t partial_frame(uint8_t *f, size_t plen)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint16_t tlen = (uint16_t)(20 + plen);

	memset(f, 0, 14 + 20 + 20 + plen);
	wr16(f + 12, 0x0800);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + tlen));
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, IP4(192, 0, 2, 1));
	wr32(ip + 16, IP4(192, 0, 2, 2));
	wr16(tcp, 5001);
	wr16(tcp + 2, 12345);
	wr32(tcp + 4, 0x01020304);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	wr16(tcp + 14, 512);
	for (size_t i = 0; i < plen; i++)
		tcp[20 + i] = (uint8_t)(i * 31 + 7);
	/* Not complemented: the pseudo-header sum, folded, as Linux leaves it. */
	wr16(tcp + 16, (uint16_t)~csum_fold(csum_pseudo4(IP4(192, 0, 2, 1), IP4(192, 0, 2, 2), 6, tlen)));
	return 14 + 20 + tlen;
}

static int tcp_csum_ok(const uint8_t *f, size_t len)
{
	const uint8_t *tcp = f + 34;
	size_t tlen = len - 34;

	return csum_fold(csum_partial(tcp, tlen, csum_pseudo4(rd32(f + 26), rd32(f + 30), 6, (uint16_t)tlen))) == 0;
}

static void test_partial_checksum_completed(void **state)
{
	static uint8_t f[14 + 40 + 60000];
	size_t sizes[] = { 0, 1, 1460, 1461, 60000 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = partial_frame(f, sizes[i]);

		assert_false(tcp_csum_ok(f, len));
		assert_true(tap_finish_csum(VIRTIO_NET_HDR_F_NEEDS_CSUM, 34, 16, f, len));
		assert_true(tcp_csum_ok(f, len));
	}
}

static void test_complete_frames_untouched(void **state)
{
	uint8_t f[200], copy[200];
	size_t len = partial_frame(f, 100);

	(void)state;
	memcpy(copy, f, len);
	assert_true(tap_finish_csum(0, 34, 16, f, len));
	assert_memory_equal(f, copy, len);
}

static void test_offsets_outside_frame_refused(void **state)
{
	uint8_t f[200];
	size_t len = partial_frame(f, 10);

	(void)state;
	assert_false(tap_finish_csum(VIRTIO_NET_HDR_F_NEEDS_CSUM, (uint16_t)len, 0, f, len));
	assert_false(tap_finish_csum(VIRTIO_NET_HDR_F_NEEDS_CSUM, 34, (uint16_t)(len - 34 - 1), f, len));
	assert_false(tap_finish_csum(VIRTIO_NET_HDR_F_NEEDS_CSUM, 65535, 65535, f, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_checksum_completed),
		cmocka_unit_test(test_complete_frames_untouched),
		cmocka_unit_test(test_offsets_outside_frame_refused),
	};
	return cmocka_run_group_tests_name("tap", tests, NULL, NULL);
}
