/* Receive checksum offload: a frame the device vouches for
 * (NETDEV_RX_CSUM_OK: verified by the kernel, or the local kernel's frame with
 * a partial checksum) skips the TCP/UDP checksum check; every other frame is
 * checked, including through the fault link and after reassembly. Also the
 * TAP driver's test for which partial checksums it may leave as they are. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/config.h"
#include "stack/core/ip4.h"
#include "stack/dev/netdev.h"
#include "stack/core/stack.h"
#include "stack/dev/tap.h"
#include "stack/core/udp.h"
#include "stack/wire/wire.h"
#include "tests/unit/support/harness.h"

static uint8_t buf[H_MAX_FRAME];

#define IP_OFF 14
#define L4_OFF (14 + 20)

static struct udp_sock *bound(struct harness *h, uint16_t port)
{
	struct udp_sock *u = udp_open(h->s);
	struct ip4_endpoint ep = { 0, port };

	assert_non_null(u);
	assert_int_equal(udp_bind(u, &ep, 0), 0);
	return u;
}

/* A UDP datagram to port 7 whose checksum is wrong (one bit of it flipped). */
static size_t bad_udp(const char *text)
{
	size_t n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)text, strlen(text));

	wr16(buf + L4_OFF + 6, rd16(buf + L4_OFF + 6) ^ 0x0100);
	return n;
}

/* A SYN to a closed port with a wrong TCP checksum (only the pseudo-header
 * sum, as the kernel leaves it with NEEDS_CSUM, minus one). */
static size_t bad_syn(void)
{
	uint8_t t[20];

	memset(t, 0, sizeof(t));
	wr16(t, 40000);
	wr16(t + 2, 9);
	wr32(t + 4, 12345);
	t[12] = 5 << 4;
	t[13] = 0x02;
	wr16(t + 14, 65535);
	wr16(t + 16, (uint16_t)(csum_pseudo4(H_PEER_IP, H_STACK_IP, 6, 20) - 1));
	return h_build_ip4(buf, H_PEER_IP, H_STACK_IP, 6, 1, 0, t, sizeof(t));
}

static long recv_text(struct udp_sock *u, char *out, size_t cap)
{
	size_t full = 0;

	return udp_recvfrom(u, out, cap, NULL, &full, 0);
}

static void test_udp_trusted_frame_skips_checksum(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 7);
	char out[64];
	size_t n;

	(void)state;
	n = bad_udp("trusted");
	h_inject_flags(h, buf, n, NETDEV_RX_CSUM_OK);
	assert_int_equal(recv_text(u, out, sizeof(out)), 7);
	assert_memory_equal(out, "trusted", 7);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 0);
	/* The flag is the frame's only: the next one is checked again. */
	n = bad_udp("checked");
	h_inject(h, buf, n);
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 1);
	udp_close(u);
	h_free(h);
}

static void test_udp_unflagged_bad_checksum_dropped(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 7);
	char out[64];
	size_t n;

	(void)state;
	n = bad_udp("checked");
	h_inject_flags(h, buf, n, 0);
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 1);
	n = bad_udp("checked");
	h_inject(h, buf, n);    /* no flags */
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 2);
	udp_close(u);
	h_free(h);
}

static void test_tcp_trusted_frame_skips_checksum(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct h_frame *f;
	size_t n;

	(void)state;
	h_learn_peer(h);
	/* Without the flag: dropped for its checksum, no answer. */
	n = bad_syn();
	h_inject_flags(h, buf, n, 0);
	assert_int_equal(stack_stats(h->s)->drops[DROP_TCP_BAD_CSUM], 1);
	assert_null(h_pop_tx(h));
	/* With it: processed (a SYN to a closed port is answered with RST|ACK). */
	n = bad_syn();
	h_inject_flags(h, buf, n, NETDEV_RX_CSUM_OK);
	assert_int_equal(stack_stats(h->s)->drops[DROP_TCP_BAD_CSUM], 1);
	assert_int_equal(stack_stats(h->s)->drops[DROP_TCP_NO_SOCKET], 1);
	f = h_pop_tx(h);
	assert_non_null(f);
	assert_true(f->len >= L4_OFF + 20);
	assert_int_equal(f->data[IP_OFF + 9], 6);
	assert_int_equal(f->data[L4_OFF + 13] & 0x14, 0x14);
	free(f);
	h_free(h);
}

/* The device's word covers the frame it read: a reassembled datagram is checked. */
static void test_reassembled_datagram_checked_despite_flag(void **state)
{
	struct harness *h = h_new(NULL, false);
	struct udp_sock *u = bound(h, 7);
	uint8_t whole[8 + 24], frame[200];
	char out[64];
	size_t n;

	(void)state;
	n = bad_udp("0123456789abcdefghijklmn");
	assert_int_equal(n, L4_OFF + sizeof(whole));
	memcpy(whole, buf + L4_OFF, sizeof(whole));
	/* Two fragments: 16 bytes (offset 0, MF), then the remaining 16. */
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 17, 77, 0x2000, whole, 16);
	h_inject_flags(h, frame, n, NETDEV_RX_CSUM_OK);
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, 17, 77, 16 / 8, whole + 16, sizeof(whole) - 16);
	h_inject_flags(h, frame, n, NETDEV_RX_CSUM_OK);
	assert_int_equal(stack_stats(h->s)->ip_reassembled, 1);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 1);
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	udp_close(u);
	h_free(h);
}

/* Through the fault link the flag is ignored: a frame it corrupts is caught. */
static void test_fault_link_ignores_flag(void **state)
{
	struct fault_config faults;
	struct harness *h;
	struct udp_sock *u;
	char out[64];
	uint64_t caught;
	size_t n;

	(void)state;
	memset(&faults, 0, sizeof(faults));
	faults.enabled = 1;             /* the link, with no fault: the frame passes as it is */
	faults.seed = 1;
	h = h_new_faulty(NULL, &faults, false);
	u = bound(h, 7);
	n = bad_udp("x");
	h_inject_flags(h, buf, n, NETDEV_RX_CSUM_OK);
	h_advance(h, 1000);
	assert_int_equal(stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM], 1);
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	udp_close(u);
	h_free(h);

	/* Every frame corrupted (one bit each): none gets through, flag or not. */
	memset(&faults, 0, sizeof(faults));
	faults.enabled = 1;
	faults.corrupt_ppm = 1000000;
	faults.seed = 7;
	h = h_new_faulty(NULL, &faults, false);
	u = bound(h, 7);
	for (int i = 0; i < 200; i++) {
		n = h_build_udp(buf, H_PEER_IP, 1000, H_STACK_IP, 7, (const uint8_t *)"payload!", 8);
		h_inject_flags(h, buf, n, NETDEV_RX_CSUM_OK);
		h_advance(h, 10);
	}
	assert_int_equal(recv_text(u, out, sizeof(out)), -EAGAIN);
	caught = stack_stats(h->s)->drops[DROP_UDP_BAD_CSUM] + stack_stats(h->s)->drops[DROP_IP_BAD_CSUM];
	/* Flips in the length fields are dropped for their lengths; most hit a checksum. */
	assert_true(caught > 100);
	assert_int_equal(stack_stats(h->s)->udp_in, 0);
	udp_close(u);
	h_free(h);
}

/* ---- the TAP driver: which partial checksums are left partial ---- */

static size_t tap_frame(uint8_t proto, uint16_t frag_field, size_t l4len)
{
	uint8_t l4[64];

	memset(l4, 0, sizeof(l4));
	return h_build_ip4(buf, H_PEER_IP, H_STACK_IP, proto, 1, frag_field, l4, l4len);
}

static void test_tap_partial_is_transport(void **state)
{
	size_t n;

	(void)state;
	n = tap_frame(6, 0x4000, 32);   /* DF is not a fragment */
	assert_true(tap_partial_is_transport(L4_OFF, 16, buf, n));
	assert_false(tap_partial_is_transport(L4_OFF, 6, buf, n));
	assert_false(tap_partial_is_transport(L4_OFF + 4, 16, buf, n));
	n = tap_frame(17, 0, 16);
	assert_true(tap_partial_is_transport(L4_OFF, 6, buf, n));
	assert_false(tap_partial_is_transport(L4_OFF, 16, buf, n));
	/* Truncated transport header, a fragment, another protocol, not IPv4. */
	n = tap_frame(6, 0, 10);
	assert_false(tap_partial_is_transport(L4_OFF, 16, buf, n));
	n = tap_frame(17, 0x2000, 16);
	assert_false(tap_partial_is_transport(L4_OFF, 6, buf, n));
	n = tap_frame(1, 0, 16);
	assert_false(tap_partial_is_transport(L4_OFF, 2, buf, n));
	n = tap_frame(17, 0, 16);
	wr16(buf + 12, 0x86dd);
	assert_false(tap_partial_is_transport(L4_OFF, 6, buf, n));
	assert_false(tap_partial_is_transport(L4_OFF, 6, buf, 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_trusted_frame_skips_checksum),
		cmocka_unit_test(test_udp_unflagged_bad_checksum_dropped),
		cmocka_unit_test(test_tcp_trusted_frame_skips_checksum),
		cmocka_unit_test(test_reassembled_datagram_checked_despite_flag),
		cmocka_unit_test(test_fault_link_ignores_flag),
		cmocka_unit_test(test_tap_partial_is_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
