/* The frame printer: hand-built frames decode to the right fields; short frames say truncated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/print.h"
#include "stack/wire/wire.h"

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

static char text[8192];

static void fmt(const char *dir, const uint8_t *f, size_t len)
{
	size_t n = wire_print_frame(text, sizeof(text), dir, f, len);

	assert_int_equal(n, strlen(text));
}

static void has(const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, text);
}

static size_t eth(uint8_t *f, uint16_t type)
{
	struct eth_hdr e = { .type = type };

	memcpy(e.dst, mac_b, 6);
	memcpy(e.src, mac_a, 6);
	eth_hdr_emit(f, &e);
	return ETH_HLEN;
}

/* IPv4 header at f+14 (frag: the 16-bit flags and offset field); returns its length. */
static size_t ip4(uint8_t *f, uint8_t proto, size_t payload, uint16_t frag)
{
	struct ip4_hdr h = {
		.ihl = IP4_HLEN, .tos = 0x10, .total_len = (uint16_t)(IP4_HLEN + payload), .id = 0x1234,
		.rf = (frag & 0x8000) != 0, .df = (frag & 0x4000) != 0, .mf = (frag & 0x2000) != 0,
		.frag_off = (uint16_t)((frag & 0x1fff) * 8), .ttl = 64, .proto = proto,
		.src = IP4(192, 0, 2, 1), .dst = IP4(192, 0, 2, 2),
	};

	ip4_hdr_emit(f + ETH_HLEN, &h);
	return IP4_HLEN;
}

static void test_arp_request(void **state)
{
	uint8_t f[60] = { 0 };
	struct arp_pkt a = {
		.htype = ARP_HTYPE_ETHER, .ptype = ETH_TYPE_IP4, .hlen = 6, .plen = 4, .op = ARP_OP_REQUEST,
		.spa = IP4(192, 0, 2, 1), .tpa = IP4(192, 0, 2, 2),
	};

	(void)state;
	eth(f, 0x0806);
	memset(f, 0xff, 6);
	memcpy(a.sha, mac_a, 6);
	arp_pkt_emit(f + ETH_HLEN, &a);
	fmt("in", f, 42);
	has("in 42 bytes");
	has("eth 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff type 0x0806 (ARP)");
	has("arp htype 1 ptype 0x0800 hlen 6 plen 4 op 1 (request)");
	has("sha 02:00:00:00:00:01 spa 192.0.2.1 tha 00:00:00:00:00:00 tpa 192.0.2.2");
	/* Cut inside the addresses, and inside the fixed part. */
	fmt("in", f, 30);
	has("arp addresses truncated");
	fmt("in", f, 18);
	has("arp truncated");
}

/* Fast open's option (RFC 7413): a request, a cookie, the experimental kind. */
static void test_tcp_fastopen_options(void **state)
{
	uint8_t f[100] = { 0 };
	uint8_t *t;
	static const uint8_t opts[] = { 34, 2,                    /* a cookie request */
					254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 0xab,
					254, 4, 0x12, 0x34,        /* another experiment */
					1, 1 };
	size_t hl = 20 + sizeof(opts);

	(void)state;
	assert_int_equal(hl % 4, 0);
	eth(f, 0x0800);
	ip4(f, 6, hl, 0x4000);
	t = f + 34;
	wr16(t, 40000);
	wr16(t + 2, 80);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = 0x02;             /* SYN */
	memcpy(t + 20, opts, sizeof(opts));
	fmt("in", f, 34 + hl);
	has("tfo cookie-request");
	has("tfo-exp cookie 01020304050607ab");
	has("unknown kind 254 len 4");
}

static void test_tcp_syn_ack_with_options(void **state)
{
	uint8_t f[100] = { 0 };
	uint8_t *t;
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4,          /* mss 1460 */
					4, 2,                      /* sackOK */
					8, 10, 0, 0, 0, 7, 0, 0, 0, 9,  /* ts 7 9 */
					1,                         /* nop */
					3, 3, 7,                   /* wscale 7 */
					5, 10, 0, 0, 0, 100, 0, 0, 0, 200, /* sack 100:200 */
					99, 2,                     /* unknown kind */
					0, 0, 0, 0 };              /* eol, padding */
	size_t hl = 20 + sizeof(opts), n;

	(void)state;
	assert_int_equal(hl % 4, 0);
	eth(f, 0x0800);
	ip4(f, 6, hl + 3, 0x4000);
	t = f + 34;
	wr16(t, 80);
	wr16(t + 2, 40000);
	wr32(t + 4, 1000);
	wr32(t + 8, 2001);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = 0x12;             /* SYN+ACK */
	wr16(t + 14, 65535);
	wr16(t + 16, 0xbeef);
	memcpy(t + 20, opts, sizeof(opts));
	memcpy(t + hl, "abc", 3);
	n = 34 + hl + 3;
	fmt("out", f, n);
	has("out ");
	has("ip4 192.0.2.1 > 192.0.2.2 version 4 ihl 5 tos 0x10 len 79 id 4660 flags DF frag 0 ttl 64 proto 6 (TCP)");
	has("tcp 80 > 40000 seq 1000 ack 2001 off 14 flags ----A--S- win 65535 csum 0xbeef urg 0");
	has("mss 1460");
	has("sackOK");
	has("ts val 7 ecr 9");
	has("nop");
	has("wscale 7");
	has("sack 100:200");
	has("unknown kind 99 len 2");
	has("eol");
	has("payload 3 bytes:\n    61 62 63");

	/* All nine flags, NS through FIN. */
	t[12] |= 1;
	t[13] = 0xff;
	fmt("out", f, n);
	has("flags NCEUAPRSF");
	t[12] &= 0xf0;
	t[13] = 0x11;
	fmt("out", f, n);
	has("flags ----A---F");

	/* Options that run past the header, and a header cut inside the options. */
	fmt("out", f, 34 + 30);
	has("ip4 truncated");
	has("tcp options truncated (header 56 bytes, have 30)");
	fmt("out", f, 34 + 10);
	has("tcp truncated (10 bytes, header needs 20)");
}

static void test_tcp_bad_options(void **state)
{
	uint8_t f[80] = { 0 };
	uint8_t *t = f + 34;

	(void)state;
	eth(f, 0x0800);
	ip4(f, 6, 24, 0);
	t[12] = 6 << 4;
	t[13] = 0x02;
	t[20] = 2;
	t[21] = 40;               /* mss with a length running off the header */
	fmt("in", f, 34 + 24);
	has("flags -------S-");
	has("kind 2 bad length 40");
	t[20] = 1;
	t[21] = 1;
	t[22] = 1;
	t[23] = 8;                /* kind 8 with its length byte missing */
	fmt("in", f, 34 + 24);
	has("kind 8 truncated");
	t[12] = 4 << 4;           /* data offset 16 bytes: invalid */
	fmt("in", f, 34 + 24);
	has("below 20");
}

static void test_udp_and_icmp(void **state)
{
	uint8_t f[120] = { 0 };
	uint8_t *u = f + 34;

	(void)state;
	eth(f, 0x0800);
	ip4(f, 17, 12, 0);
	wr16(u, 5353);
	wr16(u + 2, 53);
	wr16(u + 4, 12);
	wr16(u + 6, 0x1111);
	memcpy(u + 8, "\xde\xad\xbe\xef", 4);
	fmt("in", f, 34 + 12);
	has("proto 17 (UDP)");
	has("udp 5353 > 53 len 12 csum 0x1111");
	has("payload 4 bytes:\n    de ad be ef");
	fmt("in", f, 34 + 5);
	has("udp truncated");

	ip4(f, 1, 12, 0);
	memset(u, 0, 12);
	u[0] = 8;
	wr16(u + 2, 0xabcd);
	wr16(u + 4, 77);
	wr16(u + 6, 3);
	fmt("in", f, 34 + 12);
	has("icmp type 8 code 0 csum 0xabcd (echo request) id 77 seq 3");
	fmt("in", f, 34 + 4);
	has("icmp truncated");

	/* Destination unreachable, fragmentation needed, quoting our packet. */
	ip4(f, 1, 8 + 28, 0);
	memset(u, 0, 36);
	u[0] = 3;
	u[1] = 4;
	wr16(u + 6, 1400);
	u[8] = 0x45;
	wr16(u + 8 + 2, 1500);
	u[8 + 9] = 6;
	wr32(u + 8 + 12, IP4(192, 0, 2, 2));
	wr32(u + 8 + 16, IP4(198, 51, 100, 7));
	fmt("in", f, 34 + 36);
	has("icmp type 3 code 4");
	has("next-hop mtu 1400");
	has("quoted ip 192.0.2.2 > 198.51.100.7 proto 6 len 1500");
}

static void test_ip_fragments_and_lengths(void **state)
{
	uint8_t f[120] = { 0 };

	(void)state;
	eth(f, 0x0800);
	ip4(f, 17, 40, 0x2000 | 10);   /* MF, offset 80 */
	fmt("in", f, 34 + 40);
	has("flags MF frag 80");
	has("fragment 40 bytes");
	assert_null(strstr(text, "udp "));

	ip4(f, 17, 40, 0);
	fmt("in", f, 34 + 60);     /* Ethernet padding after the datagram */
	has("flags none frag 0");
	has("padding 20 bytes");
	fmt("in", f, 34 + 30);
	has("ip4 truncated: total length 60, frame holds 50");

	f[14] = 0x46;                  /* IHL 24 with only 20 bytes present */
	fmt("in", f, 34);
	has("ip4 options truncated");
	f[14] = 0x65;                  /* version 6 in an IPv4 frame */
	fmt("in", f, 34 + 40);
	has("ip4 header invalid (version 6");
	fmt("in", f, 20);
	has("ip4 truncated (6 bytes");
}

static void test_ethernet_only(void **state)
{
	uint8_t f[64];

	(void)state;
	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)i;
	eth(f, 0x88cc);                /* LLDP: not decoded, dumped */
	fmt("in", f, sizeof(f));
	has("type 0x88cc (unknown)");
	has("payload 50 bytes:\n    0e 0f 10");
	fmt("in", f, 13);
	has("eth truncated (13 bytes, header needs 14)");
	fmt("in", f, 0);
	has("in 0 bytes");
}

/* Every prefix of a big frame decodes inside a small buffer without reading past len
 * (ASan sees a read past the exact-size heap copy) and always NUL-terminates. */
static void test_every_prefix_and_small_buffers(void **state)
{
	uint8_t f[200] = { 0 };
	char small[40];

	(void)state;
	eth(f, 0x0800);
	ip4(f, 6, 160, 0);
	f[34 + 12] = 15 << 4;          /* 60-byte header full of options */
	for (int i = 20; i < 60; i++)
		f[34 + i] = (uint8_t)(i * 37);
	for (size_t len = 0; len <= sizeof(f); len++) {
		uint8_t *copy = malloc(len ? len : 1);
		size_t n;

		assert_non_null(copy);
		memcpy(copy, f, len);
		fmt("in", copy, len);
		n = wire_print_frame(small, sizeof(small), "in", copy, len);
		assert_int_equal(n, sizeof(small) - 1);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		free(copy);
	}
	assert_int_equal(wire_print_frame(small, 1, "in", f, 60), 0);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_request),
		cmocka_unit_test(test_tcp_syn_ack_with_options),
		cmocka_unit_test(test_tcp_fastopen_options),
		cmocka_unit_test(test_tcp_bad_options),
		cmocka_unit_test(test_udp_and_icmp),
		cmocka_unit_test(test_ip_fragments_and_lengths),
		cmocka_unit_test(test_ethernet_only),
		cmocka_unit_test(test_every_prefix_and_small_buffers),
	};
	return cmocka_run_group_tests_name("print", tests, NULL, NULL);
}
