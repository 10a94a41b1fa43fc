/*
 * The wire module's parsers and emitters: what an emitter writes parses back
 * to the same representation, and each malformed input is refused with its
 * reason (short header, bad IHL or data offset, option lengths of 0, 1 or past
 * the end, a total length beyond the bytes...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

#define SRC IP4(192, 0, 2, 1)
#define DST IP4(192, 0, 2, 2)

static const uint8_t mac_a[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_b[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

/* ---- Ethernet, ARP ---- */

static void test_eth_round_trip_and_short(void **state)
{
	struct eth_hdr e = { .type = ETH_TYPE_ARP }, d;
	uint8_t f[ETH_HLEN];

	(void)state;
	memcpy(e.dst, mac_b, 6);
	memcpy(e.src, mac_a, 6);
	eth_hdr_emit(f, &e);
	assert_int_equal(eth_hdr_parse(f, sizeof(f), &d), WIRE_OK);
	assert_memory_equal(d.dst, mac_b, 6);
	assert_memory_equal(d.src, mac_a, 6);
	assert_int_equal(d.type, ETH_TYPE_ARP);
	assert_int_equal(f[12], 0x08);
	assert_int_equal(f[13], 0x06);
	assert_int_equal(eth_hdr_parse(f, ETH_HLEN - 1, &d), WIRE_TRUNCATED);
}

static void test_arp_round_trip_and_rejections(void **state)
{
	struct arp_pkt a = {
		.htype = ARP_HTYPE_ETHER, .ptype = ETH_TYPE_IP4, .hlen = 6, .plen = 4, .op = ARP_OP_REPLY,
		.spa = SRC, .tpa = DST,
	}, d;
	uint8_t p[ARP_PKT_LEN + 18];

	(void)state;
	memcpy(a.sha, mac_a, 6);
	memcpy(a.tha, mac_b, 6);
	memset(p, 0xee, sizeof(p));
	arp_pkt_emit(p, &a);
	/* Padding after the 28 bytes is the link's. */
	assert_int_equal(arp_pkt_parse(p, sizeof(p), &d), WIRE_OK);
	assert_int_equal(d.htype, a.htype);
	assert_int_equal(d.ptype, a.ptype);
	assert_int_equal(d.hlen, 6);
	assert_int_equal(d.plen, 4);
	assert_int_equal(d.op, ARP_OP_REPLY);
	assert_memory_equal(d.sha, mac_a, 6);
	assert_int_equal(d.spa, SRC);
	assert_memory_equal(d.tha, mac_b, 6);
	assert_int_equal(d.tpa, DST);

	assert_int_equal(arp_pkt_parse(p, ARP_FIXED_LEN - 1, &d), WIRE_TRUNCATED);
	/* The fixed part is there, the addresses are cut: the fixed part is decoded. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(arp_pkt_parse(p, ARP_PKT_LEN - 1, &d), WIRE_HDR_TRUNCATED);
	assert_int_equal(d.op, ARP_OP_REPLY);
	a.htype = ARP_HTYPE_IEEE802;    /* taken as Ethernet, as Linux does */
	arp_pkt_emit(p, &a);
	assert_int_equal(arp_pkt_parse(p, ARP_PKT_LEN, &d), WIRE_OK);
	assert_int_equal(d.htype, ARP_HTYPE_IEEE802);
	a.htype = 7;                    /* ARCNET */
	arp_pkt_emit(p, &a);
	assert_int_equal(arp_pkt_parse(p, ARP_PKT_LEN, &d), WIRE_UNSUPPORTED);
	a.htype = ARP_HTYPE_ETHER;
	a.ptype = ETH_TYPE_IP6;
	arp_pkt_emit(p, &a);
	assert_int_equal(arp_pkt_parse(p, ARP_PKT_LEN, &d), WIRE_UNSUPPORTED);
	a.ptype = ETH_TYPE_IP4;
	a.hlen = 0;
	arp_pkt_emit(p, &a);
	assert_int_equal(arp_pkt_parse(p, ARP_PKT_LEN, &d), WIRE_UNSUPPORTED);
}

/* ---- IPv4 ---- */

static struct ip4_hdr sample_ip4(void)
{
	struct ip4_hdr h = {
		.ihl = IP4_HLEN, .tos = 0xb8, .total_len = 48, .id = 0xbeef, .df = true, .mf = true,
		.frag_off = 1480, .ttl = 17, .proto = IP_PROTO_UDP, .src = SRC, .dst = DST,
	};
	return h;
}

static void assert_ip4_equal(const struct ip4_hdr *a, const struct ip4_hdr *b)
{
	assert_int_equal(a->ihl, b->ihl);
	assert_int_equal(a->tos, b->tos);
	assert_int_equal(a->total_len, b->total_len);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->rf, b->rf);
	assert_int_equal(a->df, b->df);
	assert_int_equal(a->mf, b->mf);
	assert_int_equal(a->frag_off, b->frag_off);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->dst, b->dst);
}

static void test_ip4_round_trip(void **state)
{
	struct ip4_hdr h = sample_ip4(), d;
	uint8_t p[64] = { 0 };
	static const uint8_t opts[4] = { 1, 1, 1, 0 };   /* nop, nop, nop, eol */

	(void)state;
	ip4_hdr_emit(p, &h);
	assert_int_equal(ip4_hdr_parse(p, h.total_len, &d), WIRE_OK);
	assert_ip4_equal(&d, &h);
	assert_int_equal(d.version, 4);
	assert_ptr_equal(d.raw, p);
	assert_int_equal(d.raw_len, h.total_len);
	assert_int_equal(d.rx_csum, 0);
	/* RFC 1122 §3.2.1.2: the checksum it wrote verifies. */
	assert_int_equal(csum_fold(csum_partial(p, IP4_HLEN, 0)), 0);
	assert_int_equal(d.csum, rd16(p + 10));
	assert_int_equal(p[0], 0x45);
	assert_int_equal(rd16(p + 6), 0x4000 | 0x2000 | 1480 / 8);

	/* Options are the caller's, and the checksum covers them. */
	h.ihl = IP4_HLEN + 4;
	h.rf = true;
	memcpy(p + IP4_HLEN, opts, 4);
	ip4_hdr_emit(p, &h);
	assert_int_equal(ip4_hdr_parse(p, h.total_len, &d), WIRE_OK);
	assert_ip4_equal(&d, &h);
	assert_memory_equal(p + IP4_HLEN, opts, 4);
	assert_int_equal(csum_fold(csum_partial(p, h.ihl, 0)), 0);

	/* Bytes past the total length are padding: accepted, payload ends at total_len. */
	assert_int_equal(ip4_hdr_parse(p, sizeof(p), &d), WIRE_OK);
	assert_int_equal(d.raw_len, h.total_len);
}

static void test_ip4_rejections(void **state)
{
	struct ip4_hdr h = sample_ip4(), d;
	uint8_t p[64] = { 0 };

	(void)state;
	ip4_hdr_emit(p, &h);
	assert_int_equal(ip4_hdr_parse(p, IP4_HLEN - 1, &d), WIRE_TRUNCATED);
	/* The total length says 48, 47 bytes are there. */
	assert_int_equal(ip4_hdr_parse(p, 47, &d), WIRE_BAD_LENGTH);
	p[0] = 0x65;
	assert_int_equal(ip4_hdr_parse(p, 48, &d), WIRE_BAD_VERSION);
	assert_int_equal(d.version, 6);
	p[0] = 0x44;                            /* IHL 16 bytes */
	assert_int_equal(ip4_hdr_parse(p, 48, &d), WIRE_BAD_HLEN);
	p[0] = 0x40;
	assert_int_equal(ip4_hdr_parse(p, 48, &d), WIRE_BAD_HLEN);
	p[0] = 0x46;                            /* IHL 24 bytes, 20 present */
	assert_int_equal(ip4_hdr_parse(p, IP4_HLEN, &d), WIRE_HDR_TRUNCATED);
	assert_int_equal(d.ihl, 24);
	p[0] = 0x4f;                            /* IHL 60 bytes above a total length of 48 */
	assert_int_equal(ip4_hdr_parse(p, sizeof(p), &d), WIRE_BAD_LENGTH);
	p[0] = 0x45;
	wr16(p + 2, 19);                        /* total length below the header */
	assert_int_equal(ip4_hdr_parse(p, sizeof(p), &d), WIRE_BAD_LENGTH);
	wr16(p + 2, 65535);                     /* beyond the buffer */
	assert_int_equal(ip4_hdr_parse(p, sizeof(p), &d), WIRE_BAD_LENGTH);
}

/* A quoted header: its length fields describe the original, 8 bytes of data follow. */
static void test_ip4_quote(void **state)
{
	struct ip4_hdr h = sample_ip4(), d;
	uint8_t q[IP4_HLEN + 8] = { 0 };

	(void)state;
	h.total_len = 1500;
	ip4_hdr_emit(q, &h);
	assert_int_equal(ip4_hdr_parse_quote(q, sizeof(q), &d), WIRE_OK);
	assert_ip4_equal(&d, &h);
	assert_int_equal(d.raw_len, sizeof(q));
	assert_int_equal(ip4_hdr_parse_quote(q, sizeof(q) - 1, &d), WIRE_HDR_TRUNCATED);
	assert_int_equal(ip4_hdr_parse_quote(q, IP4_HLEN - 1, &d), WIRE_TRUNCATED);
	q[0] = 0x46;                            /* options that eat the 8 bytes */
	assert_int_equal(ip4_hdr_parse_quote(q, sizeof(q), &d), WIRE_HDR_TRUNCATED);
	q[0] = 0x43;
	assert_int_equal(ip4_hdr_parse_quote(q, sizeof(q), &d), WIRE_BAD_HLEN);
	q[0] = 0x55;
	assert_int_equal(ip4_hdr_parse_quote(q, sizeof(q), &d), WIRE_BAD_VERSION);
}

/* ---- ICMP, UDP ---- */

static void test_icmp4_round_trip(void **state)
{
	struct icmp4_hdr m = { .type = ICMP_ECHO_REQUEST, .code = 0, .rest = 0x12340007 }, d;
	uint8_t p[ICMP_HLEN + 5];

	(void)state;
	icmp4_hdr_emit(p, &m);
	memcpy(p + ICMP_HLEN, "hello", 5);
	icmp4_fill_csum(p, sizeof(p));
	assert_int_equal(icmp4_hdr_parse(p, sizeof(p), &d), WIRE_OK);
	assert_int_equal(d.type, m.type);
	assert_int_equal(d.code, m.code);
	assert_int_equal(d.rest, m.rest);
	assert_int_equal(icmp4_echo_id(&d), 0x1234);
	assert_int_equal(icmp4_echo_seq(&d), 7);
	/* RFC 792: over the whole message, odd length included. */
	assert_int_equal(csum_fold(csum_partial(p, sizeof(p), 0)), 0);
	assert_int_equal(icmp4_hdr_parse(p, ICMP_HLEN - 1, &d), WIRE_TRUNCATED);

	m = (struct icmp4_hdr){ .type = ICMP_DEST_UNREACH, .code = ICMP_UNREACH_NEEDFRAG, .rest = 1400 };
	icmp4_hdr_emit(p, &m);
	assert_int_equal(icmp4_hdr_parse(p, ICMP_HLEN, &d), WIRE_OK);
	assert_int_equal(icmp4_next_mtu(&d), 1400);
}

static void test_udp_round_trip_and_rejections(void **state)
{
	struct udp_hdr u = { .sport = 5353, .dport = 53, .len = UDP_HLEN + 3 }, d;
	uint8_t p[UDP_HLEN + 3 + 4];

	(void)state;
	udp_hdr_emit(p, &u);
	memcpy(p + UDP_HLEN, "abc", 3);
	udp_fill_csum(p, u.len, SRC, DST);
	/* Bytes past the UDP length are ignored. */
	assert_int_equal(udp_hdr_parse(p, sizeof(p), &d), WIRE_OK);
	assert_int_equal(d.sport, 5353);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.len, UDP_HLEN + 3);
	assert_int_not_equal(d.csum, 0);
	assert_int_equal(csum_fold(csum_partial(p, u.len, csum_pseudo4(SRC, DST, IP_PROTO_UDP, u.len))), 0);

	assert_int_equal(udp_hdr_parse(p, UDP_HLEN - 1, &d), WIRE_TRUNCATED);
	assert_int_equal(udp_hdr_parse(p, UDP_HLEN + 2, &d), WIRE_BAD_LENGTH);   /* length past the bytes */
	wr16(p + 4, UDP_HLEN - 1);
	assert_int_equal(udp_hdr_parse(p, sizeof(p), &d), WIRE_BAD_LENGTH);     /* below the header */
	assert_int_equal(d.sport, 5353);                                         /* decoded all the same */
}

/* RFC 768: a checksum that computes to zero is sent as all ones. */
static void test_udp_zero_checksum_is_all_ones(void **state)
{
	struct udp_hdr u = { .sport = 1, .dport = 2, .len = UDP_HLEN + 2 };
	uint8_t p[UDP_HLEN + 2];
	uint32_t sum;

	(void)state;
	udp_hdr_emit(p, &u);
	p[8] = p[9] = 0;
	/* Choose the two data bytes so that the sum folds to 0xffff (checksum 0). */
	sum = csum_partial(p, sizeof(p), csum_pseudo4(SRC, DST, IP_PROTO_UDP, u.len));
	wr16(p + 8, csum_fold(sum));
	udp_fill_csum(p, sizeof(p), SRC, DST);
	assert_int_equal(rd16(p + UDP_CSUM_OFF), 0xffff);
}

/* ---- TCP ---- */

static void assert_seg_equal(const struct tcp_seg *a, const struct tcp_seg *b)
{
	assert_int_equal(a->src, b->src);
	assert_int_equal(a->dst, b->dst);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->wnd, b->wnd);
	assert_int_equal(a->urg, b->urg);
	/* An option's value means something only when the option is there. */
	assert_int_equal(a->has_mss, b->has_mss);
	if (a->has_mss)
		assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->has_ws, b->has_ws);
	if (a->has_ws)
		assert_int_equal(a->ws, b->ws);
	assert_int_equal(a->sack_ok, b->sack_ok);
	assert_int_equal(a->has_ts, b->has_ts);
	if (a->has_ts) {
		assert_int_equal(a->tsval, b->tsval);
		assert_int_equal(a->tsecr, b->tsecr);
	}
	assert_int_equal(a->nsack, b->nsack);
	for (unsigned i = 0; i < a->nsack; i++) {
		assert_int_equal(a->sack[i][0], b->sack[i][0]);
		assert_int_equal(a->sack[i][1], b->sack[i][1]);
	}
}

/* Emits g with len payload bytes, parses it back and checks the checksum. */
static void round_trip(const struct tcp_seg *g, uint32_t len)
{
	uint8_t p[TCP_HLEN_MAX + 16];
	struct tcp_seg d;
	size_t hlen = tcp_seg_emit(p, g);

	assert_int_equal(hlen, TCP_HLEN + tcp_opts_len(g));
	assert_int_equal(hlen % 4, 0);
	memset(p + hlen, 0x5a, len);
	tcp_fill_csum(p, hlen + len, g->src, g->dst);
	assert_int_equal(tcp_seg_parse(p, hlen + len, g->src, g->dst, &d), WIRE_OK);
	assert_seg_equal(&d, g);
	assert_int_equal(d.hlen, hlen);
	assert_ptr_equal(d.data, p + hlen);
	assert_int_equal(d.len, len);
	assert_int_equal(d.csum, rd16(p + TCP_CSUM_OFF));
	assert_int_equal(csum_fold(csum_partial(p, hlen + len, csum_pseudo4(g->src, g->dst, IP_PROTO_TCP,
									  (uint16_t)(hlen + len)))), 0);
}

static void test_tcp_round_trips(void **state)
{
	struct tcp_seg syn = {
		.src = SRC, .dst = DST, .sport = 40000, .dport = 80, .seq = 1000, .flags = TCP_SYN, .wnd = 64240,
		.has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true, .tsval = 7, .has_ws = true, .ws = 7,
	};
	struct tcp_seg ack = {
		.src = DST, .dst = SRC, .sport = 80, .dport = 40000, .seq = 1, .ack = 2, .wnd = 502,
		.flags = TCP_ACK | TCP_PSH | TCP_ECE | TCP_CWR | TCP_NS, .urg = 3,
		.has_ts = true, .tsval = 100, .tsecr = 7, .nsack = 3,
		.sack = { { 10, 20 }, { 30, 40 }, { 50, 60 } },
	};
	struct tcp_seg bare = { .src = SRC, .dst = DST, .sport = 1, .dport = 2, .flags = TCP_RST };

	(void)state;
	round_trip(&syn, 0);
	syn.has_ts = false;             /* SACK-permitted alone, after two NOPs */
	round_trip(&syn, 0);
	syn.sack_ok = false;
	syn.has_ws = false;
	round_trip(&syn, 0);
	round_trip(&ack, 16);
	ack.has_ts = false;
	ack.nsack = 4;
	ack.sack[3][0] = 70;
	ack.sack[3][1] = 80;
	round_trip(&ack, 1);
	round_trip(&bare, 0);
}

/* The options are laid out as Linux sends them (what the unit tests' scripts expect). */
static void test_tcp_option_layout(void **state)
{
	static const uint8_t want[] = {
		2, 4, 0x05, 0xb4,                               /* mss 1460 */
		4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0,            /* sackOK, TS val 7 ecr 0 */
		1, 3, 3, 7,                                     /* nop, wscale 7 */
	};
	struct tcp_seg syn = {
		.flags = TCP_SYN, .has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true, .tsval = 7,
		.has_ws = true, .ws = 7,
	};
	uint8_t p[TCP_HLEN_MAX];

	(void)state;
	assert_int_equal(tcp_seg_emit(p, &syn), TCP_HLEN + sizeof(want));
	assert_memory_equal(p + TCP_HLEN, want, sizeof(want));
	assert_int_equal(p[12], (TCP_HLEN + sizeof(want)) / 4 << 4);
	assert_int_equal(p[13], TCP_SYN);
}

/* Builds a segment of TCP_HLEN + n bytes with options o, then parses it. */
static enum wire_err parse_opts(const uint8_t *o, size_t n, uint16_t flags, struct tcp_seg *d)
{
	struct tcp_seg g = { .flags = flags };
	uint8_t p[TCP_HLEN_MAX];

	assert_true(n % 4 == 0 && n <= 40);
	tcp_hdr_emit(p, &g, TCP_HLEN + n);
	memcpy(p + TCP_HLEN, o, n);
	return tcp_seg_parse(p, TCP_HLEN + n, SRC, DST, d);
}

static void test_tcp_header_rejections(void **state)
{
	struct tcp_seg g = { .sport = 1, .dport = 2 }, d;
	uint8_t p[TCP_HLEN + 8];

	(void)state;
	tcp_hdr_emit(p, &g, TCP_HLEN);
	assert_int_equal(tcp_seg_parse(p, TCP_HLEN - 1, SRC, DST, &d), WIRE_TRUNCATED);
	tcp_hdr_emit(p, &g, 16);                /* data offset 4 */
	assert_int_equal(tcp_seg_parse(p, sizeof(p), SRC, DST, &d), WIRE_BAD_HLEN);
	assert_int_equal(d.hlen, 16);
	tcp_hdr_emit(p, &g, 0);
	assert_int_equal(tcp_seg_parse(p, sizeof(p), SRC, DST, &d), WIRE_BAD_HLEN);
	tcp_hdr_emit(p, &g, TCP_HLEN + 12);     /* options past the segment */
	assert_int_equal(tcp_seg_parse(p, sizeof(p), SRC, DST, &d), WIRE_HDR_TRUNCATED);
	assert_int_equal(d.sport, 1);
}

static void test_tcp_malformed_options(void **state)
{
	struct tcp_seg d;

	(void)state;
	/* Length 0, 1 and past the end stop the walk; what came before stands. */
	{
		static const uint8_t o[] = { 2, 4, 0x05, 0xb4, 3, 0, 7, 1 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_true(d.has_mss);
		assert_int_equal(d.mss, 1460);
		assert_false(d.has_ws);
	}
	{
		static const uint8_t o[] = { 3, 1, 7, 2, 4, 5, 0xb4, 1 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_false(d.has_ws);
		assert_false(d.has_mss);
	}
	{
		static const uint8_t o[] = { 1, 1, 8, 10, 0, 0, 0, 1 };   /* timestamps running 4 bytes past the end */

		assert_int_equal(parse_opts(o, sizeof(o), TCP_ACK, &d), WIRE_OK);
		assert_false(d.has_ts);
	}
	{
		static const uint8_t o[] = { 1, 1, 1, 8 };                /* a kind without its length byte */

		assert_int_equal(parse_opts(o, sizeof(o), TCP_ACK, &d), WIRE_OK);
		assert_false(d.has_ts);
	}
	/* A known kind with the wrong length is skipped; the walk goes on. */
	{
		static const uint8_t o[] = { 2, 3, 5, 3, 3, 7, 1, 1 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_false(d.has_mss);
		assert_true(d.has_ws);
		assert_int_equal(d.ws, 7);
	}
	/* Nothing after EOL is read. */
	{
		static const uint8_t o[] = { 0, 3, 3, 7 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_false(d.has_ws);
	}
	/* RFC 7323 §2.3: a shift above 14 is taken as 14. */
	{
		static const uint8_t o[] = { 3, 3, 200, 0 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_int_equal(d.ws, TCP_MAX_WSCALE);
	}
	/* SYN-only options are ignored elsewhere; SACK blocks on a SYN too; an odd SACK length. */
	{
		static const uint8_t o[] = { 2, 4, 5, 0xb4, 3, 3, 7, 4, 2, 0, 0, 0 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_ACK, &d), WIRE_OK);
		assert_false(d.has_mss || d.has_ws || d.sack_ok);
	}
	{
		static const uint8_t o[] = { 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_SYN, &d), WIRE_OK);
		assert_int_equal(d.nsack, 0);
		assert_int_equal(parse_opts(o, sizeof(o), TCP_ACK, &d), WIRE_OK);
		assert_int_equal(d.nsack, 1);
		assert_int_equal(d.sack[0][0], 1);
		assert_int_equal(d.sack[0][1], 2);
	}
	{
		static const uint8_t o[] = { 1, 5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1 };

		assert_int_equal(parse_opts(o, sizeof(o), TCP_ACK, &d), WIRE_OK);
		assert_int_equal(d.nsack, 0);
	}
}

/* The option reader says where and why it stopped. */
static void test_tcp_option_reader(void **state)
{
	static const uint8_t o[] = { 1, 2, 4, 0x05, 0xb4, 99, 2, 8, 0 };
	struct tcp_opt opt;
	size_t at = 0;

	(void)state;
	assert_int_equal(tcp_opt_next(o, sizeof(o), &at, &opt), TCP_OPT_READ_OK);
	assert_int_equal(opt.kind, TCP_OPT_NOP);
	assert_int_equal(opt.len, 1);
	assert_int_equal(tcp_opt_next(o, sizeof(o), &at, &opt), TCP_OPT_READ_OK);
	assert_int_equal(opt.kind, TCP_OPT_MSS);
	assert_int_equal(opt.len, 4);
	assert_int_equal(rd16(opt.val), 1460);
	assert_int_equal(tcp_opt_next(o, sizeof(o), &at, &opt), TCP_OPT_READ_OK);
	assert_int_equal(opt.kind, 99);
	assert_int_equal(opt.len, 2);
	/* Kind 8 with a length of 0. */
	assert_int_equal(tcp_opt_next(o, sizeof(o), &at, &opt), TCP_OPT_READ_BAD_LEN);
	assert_int_equal(opt.kind, TCP_OPT_TS);
	assert_int_equal(opt.len, 0);
	assert_int_equal(tcp_opt_next(o, sizeof(o), &at, &opt), TCP_OPT_READ_END);
	at = 7;
	assert_int_equal(tcp_opt_next(o, 8, &at, &opt), TCP_OPT_READ_NO_LEN);
	assert_int_equal(opt.kind, TCP_OPT_TS);
	at = 2;
	assert_int_equal(tcp_opt_next(o, 5 - 1, &at, &opt), TCP_OPT_READ_BAD_LEN);   /* past the end */

	assert_true(tcp_opt_len_ok(TCP_OPT_MSS, 4));
	assert_false(tcp_opt_len_ok(TCP_OPT_MSS, 3));
	assert_true(tcp_opt_len_ok(TCP_OPT_TS, 10));
	assert_false(tcp_opt_len_ok(TCP_OPT_TS, 9));
	assert_true(tcp_opt_len_ok(TCP_OPT_SACK, 34));
	assert_false(tcp_opt_len_ok(TCP_OPT_SACK, 9));
	assert_true(tcp_opt_len_ok(77, 5));
}

/* An ICMP error quotes 8 bytes of our segment: the ports and the sequence number. */
static void test_tcp_quote(void **state)
{
	struct tcp_seg g = { .sport = 40000, .dport = 80, .seq = 123456789, .ack = 5, .flags = TCP_ACK }, d;
	uint8_t p[TCP_HLEN];

	(void)state;
	tcp_hdr_emit(p, &g, TCP_HLEN);
	assert_int_equal(tcp_seg_parse_quote(p, 8, SRC, DST, &d), WIRE_OK);
	assert_int_equal(d.src, SRC);
	assert_int_equal(d.dst, DST);
	assert_int_equal(d.sport, 40000);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.seq, 123456789);
	assert_int_equal(d.ack, 0);
	assert_int_equal(tcp_seg_parse_quote(p, 7, SRC, DST, &d), WIRE_TRUNCATED);
}

/* For TSO, the checksum field holds the pseudo-header sum the device completes. */
static void test_tcp_partial_checksum(void **state)
{
	struct tcp_seg g = { .sport = 80, .dport = 40000, .seq = 9, .flags = TCP_ACK, .wnd = 100 };
	uint8_t p[TCP_HLEN + 100];
	uint32_t sum;

	(void)state;
	tcp_seg_emit(p, &g);
	memset(p + TCP_HLEN, 0x33, 100);
	tcp_fill_csum_partial(p, sizeof(p), SRC, DST);
	/* Completing it the way a device does gives the full checksum. */
	sum = csum_partial(p, sizeof(p), 0);
	wr16(p + TCP_CSUM_OFF, csum_fold(sum));
	assert_int_equal(csum_fold(csum_partial(p, sizeof(p), csum_pseudo4(SRC, DST, IP_PROTO_TCP, sizeof(p)))), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_round_trip_and_short),
		cmocka_unit_test(test_arp_round_trip_and_rejections),
		cmocka_unit_test(test_ip4_round_trip),
		cmocka_unit_test(test_ip4_rejections),
		cmocka_unit_test(test_ip4_quote),
		cmocka_unit_test(test_icmp4_round_trip),
		cmocka_unit_test(test_udp_round_trip_and_rejections),
		cmocka_unit_test(test_udp_zero_checksum_is_all_ones),
		cmocka_unit_test(test_tcp_round_trips),
		cmocka_unit_test(test_tcp_option_layout),
		cmocka_unit_test(test_tcp_header_rejections),
		cmocka_unit_test(test_tcp_malformed_options),
		cmocka_unit_test(test_tcp_option_reader),
		cmocka_unit_test(test_tcp_quote),
		cmocka_unit_test(test_tcp_partial_checksum),
	};
	return cmocka_run_group_tests_name("wire headers", tests, NULL, NULL);
}
