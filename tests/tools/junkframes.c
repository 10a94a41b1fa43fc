/*
 * junkframes: sends malformed Ethernet frames on an interface (AF_PACKET) to a
 * destination MAC: random bytes, truncated Ethernet/ARP/IPv4/TCP/UDP/ICMP
 * headers, contradictory lengths, bad IHL and data offsets, option lengths of
 * 0, 1 and past the end, bad checksums, odd flag combinations, and IPv4
 * fragments that overlap, overflow or never complete.
 *
 *   junkframes -i IFACE -m DSTMAC -d DSTIP [-s SRCIP] [-p PORT] [-n COUNT]
 *              [-T SECONDS] [-R PPS] [-S SEED] [-k KIND[,KIND...]] [-v]
 *
 *   -d DSTIP    destination address of the IP frames: must be inside
 *               192.0.2.0/24 (refused otherwise); so must -s
 *   -s SRCIP    source address (default 192.0.2.123, which nobody has)
 *   -p PORT     TCP/UDP port that the frames aim at part of the time (default 80)
 *   -n COUNT    frames (default 1000, at most 100,000,000); -T bound (default 30 s)
 *   -R PPS      at most this many frames per second (default: no limit)
 *   -k KINDS    only these kinds (names as printed with -v), default all
 *   -v          print the count of each kind at the end
 *
 * Nothing it sends is well-formed enough to be taken as real traffic of an
 * existing connection: sources are unassigned addresses or impossible ones,
 * and no frame is a valid ARP announcement of an address someone owns.
 * Prints "junkframes: sent N frames in S.SSS s (R/s), F refused by the kernel,
 * E send errors" (the kernel refuses frames shorter than an Ethernet header).
 * Exit status 0 when all COUNT were sent or refused, 1 otherwise, 2 on a usage error.
 *
 * Headers are built with the stack's wire emitters (stack/wire, compiled in by
 * the Makefile), then broken on purpose.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/wire.h"

/* The only network this tool will ever address: RFC 5737 TEST-NET-1. */
#define TESTNET      0xc0000200u
#define TESTNET_MASK 0xffffff00u

enum kind {
	K_RANDOM, K_ETH_SHORT, K_ARP_BAD, K_IP_SHORT, K_IP_VERSION, K_IP_IHL, K_IP_TOTLEN, K_IP_CSUM,
	K_IP_OPTS, K_IP_ADDR, K_TCP_SHORT, K_TCP_DOFF, K_TCP_OPTS, K_TCP_FLAGS, K_TCP_CSUM, K_UDP_BAD,
	K_ICMP_BAD, K_FRAG, K_COUNT
};

static const char *const kind_names[K_COUNT] = {
	"random", "eth_short", "arp_bad", "ip_short", "ip_version", "ip_ihl", "ip_totlen", "ip_csum",
	"ip_opts", "ip_addr", "tcp_short", "tcp_doff", "tcp_opts", "tcp_flags", "tcp_csum", "udp_bad",
	"icmp_bad", "frag",
};

#define FRAME_MAX 1514

static uint8_t dmac[6], smac[6];
static uint32_t dst_ip, src_ip = 0xc000027bu; /* 192.0.2.123 */
static uint16_t port = 80;
static uint64_t rng_state = 1;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static unsigned pick(unsigned n)
{
	return rnd() % n;
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
}

static size_t eth(uint8_t *f, uint16_t type)
{
	struct eth_hdr e = { .type = type };

	memcpy(e.dst, dmac, 6);
	memcpy(e.src, smac, 6);
	eth_hdr_emit(f, &e);
	return ETH_HLEN;
}

/* A plain 20-byte IPv4 header at ip with a correct checksum; len is the total length. */
static void ip4(uint8_t *ip, uint8_t proto, size_t len, uint32_t src)
{
	struct ip4_hdr h = {
		.ihl = IP4_HLEN, .total_len = (uint16_t)len, .ttl = 64, .proto = proto, .src = src, .dst = dst_ip,
	};

	h.id = (uint16_t)rnd();
	ip4_hdr_emit(ip, &h);
}

/* Our own header at ip, changed: decoded, then emitted again (checksum included). */
static void ip4_set_src(uint8_t *ip, uint32_t src)
{
	struct ip4_hdr h;

	ip4_hdr_decode(ip, &h);
	h.src = src;
	ip4_hdr_emit(ip, &h);
}

/* A header checksum over hlen bytes of a header broken on purpose. */
static void ip4_recsum(uint8_t *ip, size_t hlen)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, csum_fold(csum_partial(ip, hlen, 0)));
}

/* A TCP header with a correct checksum over the len bytes of the segment at t,
 * its data offset already in t[12] (options, when any, in place). */
static void tcp(uint8_t *ip, uint8_t *t, size_t len, uint8_t flags)
{
	struct tcp_seg g = { .flags = flags };

	g.sport = (uint16_t)(1024 + pick(64512));
	g.dport = pick(2) ? port : (uint16_t)(1 + pick(65535));
	g.seq = rnd();
	g.ack = rnd();
	g.wnd = (uint16_t)rnd();
	tcp_hdr_emit(t, &g, (size_t)(t[12] >> 4) * 4);
	tcp_fill_csum(t, len, rd32(ip + 12), rd32(ip + 16));
}

/* An ARP packet of random bytes at a, with some fields set (decoded, changed, emitted). */
static void arp_fields(uint8_t *a, uint16_t htype, uint16_t ptype, int hlen, int plen, int op)
{
	struct arp_pkt p;

	arp_pkt_parse(a, ARP_PKT_LEN, &p);
	p.htype = htype;
	p.ptype = ptype;
	if (hlen >= 0)
		p.hlen = (uint8_t)hlen;
	if (plen >= 0)
		p.plen = (uint8_t)plen;
	if (op >= 0)
		p.op = (uint16_t)op;
	arp_pkt_emit(a, &p);
}

/* Builds one frame of kind k into f; returns its length. */
static size_t build(enum kind k, uint8_t *f)
{
	uint8_t *ip = f + ETH_HLEN, *l4 = ip + IP4_HLEN;
	size_t n, plen;

	switch (k) {
	case K_RANDOM:
		n = 1 + pick(FRAME_MAX);
		fill_random(f, n);
		if (pick(2))
			memcpy(f, dmac, n < 6 ? n : 6);
		if (n >= ETH_HLEN && pick(2))
			wr16(f + 12, pick(2) ? ETH_TYPE_IP4 : ETH_TYPE_ARP);
		return n;
	case K_ETH_SHORT:
		n = 1 + pick(13);
		eth(f, 0x0800);
		return n;
	case K_ARP_BAD:
		eth(f, 0x0806);
		fill_random(ip, 28);
		switch (pick(4)) {
		case 0: /* truncated */
			return ETH_HLEN + pick(ARP_PKT_LEN);
		case 1: { /* hardware/protocol sizes that lie */
			int hl = pick(2) ? 0 : 255;

			arp_fields(ip, ARP_HTYPE_ETHER, ETH_TYPE_IP4, hl, pick(2) ? 0 : 255, ARP_OP_REQUEST);
			return ETH_HLEN + ARP_PKT_LEN;
		}
		case 2: { /* unknown opcode, from a nobody */
			struct arp_pkt a;

			arp_fields(ip, ARP_HTYPE_ETHER, ETH_TYPE_IP4, 6, 4, (int)(3 + pick(65000)));
			arp_pkt_parse(ip, ARP_PKT_LEN, &a);
			a.spa = src_ip;
			a.tpa = dst_ip;
			arp_pkt_emit(ip, &a);
			return ETH_HLEN + ARP_PKT_LEN;
		}
		default: { /* wrong hardware or protocol type */
			uint16_t ht = (uint16_t)(2 + pick(100));

			arp_fields(ip, ht, pick(2) ? ETH_TYPE_IP6 : ETH_TYPE_ARP, -1, -1, -1);
			return ETH_HLEN + ARP_PKT_LEN;
		}
		}
	case K_IP_SHORT:
		eth(f, 0x0800);
		n = pick(20);
		ip4(ip, IPPROTO_TCP, 20, src_ip);
		return ETH_HLEN + n;
	case K_IP_VERSION:
		eth(f, 0x0800);
		ip4(ip, IPPROTO_TCP, 40, src_ip);
		fill_random(l4, 20);
		ip[0] = (uint8_t)(((const uint8_t[]){ 0, 1, 5, 6, 7, 15 })[pick(6)] << 4 | 5);
		ip4_recsum(ip, 20);
		return ETH_HLEN + IP4_HLEN + TCP_HLEN;
	case K_IP_IHL:
		eth(f, 0x0800);
		plen = 20 + pick(60);
		ip4(ip, IPPROTO_TCP, plen, src_ip);
		fill_random(l4, plen - 20);
		switch (pick(3)) {
		case 0: /* below the minimum */
			ip[0] = (uint8_t)(0x40 | pick(5));
			ip4_recsum(ip, 20);
			break;
		case 1: /* longer than the total length */
			wr16(ip + 2, (uint16_t)(20 + pick(20)));
			ip[0] = 0x4f;
			ip4_recsum(ip, plen < 60 ? plen : 60);
			break;
		default: /* longer than the frame */
			plen = 20 + pick(20);
			wr16(ip + 2, (uint16_t)plen);
			ip[0] = 0x4f;
			ip4_recsum(ip, plen);
			break;
		}
		return ETH_HLEN + plen;
	case K_IP_TOTLEN:
		eth(f, 0x0800);
		plen = 40 + pick(200);
		ip4(ip, IPPROTO_UDP, plen, src_ip);
		fill_random(l4, plen - 20);
		switch (pick(3)) {
		case 0: wr16(ip + 2, (uint16_t)(plen + 1 + pick(65535 - (uint32_t)plen))); break;
		case 1: wr16(ip + 2, (uint16_t)pick(20)); break;
		default: wr16(ip + 2, 0); break;
		}
		ip4_recsum(ip, 20);
		return ETH_HLEN + plen;
	case K_IP_CSUM:
		eth(f, 0x0800);
		ip4(ip, IPPROTO_TCP, 40, src_ip);
		l4[12] = 0x50;
		tcp(ip, l4, 20, 0x02);
		wr16(ip + 10, (uint16_t)(rnd() | 1) ^ 0x5a5a);
		return ETH_HLEN + IP4_HLEN + TCP_HLEN;
	case K_IP_OPTS: {
		size_t hl = 24 + 4 * pick(10);
		uint8_t *o = ip + 20;
		struct ip4_hdr h = { .ihl = (uint8_t)hl, .ttl = 64, .proto = IPPROTO_UDP, .src = src_ip, .dst = dst_ip };

		eth(f, 0x0800);
		plen = hl + 8;
		memset(ip, 0, hl);
		fill_random(o, hl - 20);
		switch (pick(5)) {
		case 0: o[0] = 7; o[1] = 0; break;                  /* record route, length 0 */
		case 1: o[0] = 7; o[1] = 1; break;                  /* length 1 */
		case 2: o[0] = 7; o[1] = (uint8_t)(hl - 20 + 1 + pick(200)); break; /* past the header */
		case 3: o[0] = 0x44; o[1] = 12; o[2] = (uint8_t)pick(256); o[3] = 0xff; break; /* timestamp, bad pointer */
		default: o[0] = 0x83; o[1] = 3; o[2] = 0; break;    /* loose source route, too short */
		}
		h.total_len = (uint16_t)plen;
		h.id = (uint16_t)rnd();
		ip4_hdr_emit(ip, &h);
		fill_random(ip + hl, 8);
		return ETH_HLEN + plen;
	}
	case K_IP_ADDR: {
		static const uint32_t odd_src[] = { 0, 0xffffffffu, 0xc00002ffu, 0xc0000200u, 0 };

		eth(f, 0x0800);
		ip4(ip, IPPROTO_TCP, 40, 0);
		/* The last slot: the destination itself (a "land" segment). */
		uint32_t s = pick(5);

		ip4_set_src(ip, s == 4 ? dst_ip : odd_src[s]);
		memset(l4, 0, 20);
		l4[12] = 0x50;
		tcp(ip, l4, 20, 0x02);
		if (s == 4) {
			struct tcp_seg g;

			tcp_seg_parse(l4, 20, 0, 0, &g);
			g.sport = g.dport = port;
			tcp_hdr_emit(l4, &g, TCP_HLEN);
			tcp_fill_csum(l4, TCP_HLEN, dst_ip, dst_ip);
		}
		return ETH_HLEN + IP4_HLEN + TCP_HLEN;
	}
	case K_TCP_SHORT:
		eth(f, 0x0800);
		n = pick(20);
		ip4(ip, IPPROTO_TCP, 20 + n, src_ip);
		fill_random(l4, n);
		if (n >= 4)
			wr16(l4 + 2, port);
		return ETH_HLEN + IP4_HLEN + n;
	case K_TCP_DOFF:
		eth(f, 0x0800);
		n = 20 + pick(40);
		ip4(ip, IPPROTO_TCP, 20 + n, src_ip);
		fill_random(l4 + 20, n - 20);
		switch (pick(3)) {
		case 0: l4[12] = (uint8_t)(pick(5) << 4); break;                  /* below 5 */
		case 1: l4[12] = (uint8_t)((n / 4 + 1 + pick(15 - n / 4)) << 4); break; /* past the segment */
		default: l4[12] = 0xf0; break;
		}
		if ((l4[12] >> 4) * 4u > 60)
			l4[12] = 0xf0;
		tcp(ip, l4, n, (uint8_t)(pick(2) ? 0x02 : 0x10));
		return ETH_HLEN + IP4_HLEN + n;
	case K_TCP_OPTS: {
		size_t ol = 4 * (1 + pick(10));
		uint8_t *o = l4 + 20;

		eth(f, 0x0800);
		n = 20 + ol;
		ip4(ip, IPPROTO_TCP, 20 + n, src_ip);
		memset(o, 1, ol);                                 /* NOPs */
		switch (pick(9)) {
		case 0: o[0] = (uint8_t)(2 + pick(30)); o[1] = 0; break;  /* length 0 */
		case 1: o[0] = (uint8_t)(2 + pick(30)); o[1] = 1; break;  /* length 1 */
		case 2: o[ol - 2] = 8; o[ol - 1] = (uint8_t)(3 + pick(250)); break; /* past the end */
		case 3: o[0] = 2; o[1] = 3; o[2] = 5; break;          /* MSS of length 3 */
		case 4: o[0] = 3; o[1] = 2; break;                    /* window scale of length 2 */
		case 5: o[0] = 3; o[1] = 3; o[2] = (uint8_t)(15 + pick(240)); break; /* huge shift */
		case 6: if (ol >= 8) { o[0] = 5; o[1] = 7; fill_random(o + 2, 5); } break; /* SACK, odd length */
		case 7: if (ol >= 12) { o[0] = 8; o[1] = 9; fill_random(o + 2, 7); } break; /* timestamps of 9 */
		default: o[0] = 0; fill_random(o + 1, ol - 1); break; /* EOL, then garbage */
		}
		if (pick(4) == 0)
			tcp_opt_put_mss(o, (uint16_t)pick(2));              /* MSS 0 or 1 */
		l4[12] = (uint8_t)((n / 4) << 4);
		tcp(ip, l4, n, (uint8_t)(pick(3) ? 0x02 : 0x12));
		return ETH_HLEN + IP4_HLEN + n;
	}
	case K_TCP_FLAGS: {
		static const uint8_t odd[] = { 0x03, 0x06, 0x00, 0xff, 0x3f, 0x01, 0x29, 0x22, 0x07, 0x20 };

		eth(f, 0x0800);
		n = 20 + pick(64);
		ip4(ip, IPPROTO_TCP, 20 + n, src_ip);
		fill_random(l4 + 20, n - 20);
		l4[12] = 0x50;
		tcp(ip, l4, n, odd[pick(sizeof(odd))]);
		/* An urgent pointer past the data. */
		wr16(l4 + 18, (uint16_t)(n + pick(60000)));
		tcp_fill_csum(l4, n, src_ip, dst_ip);
		return ETH_HLEN + IP4_HLEN + n;
	}
	case K_TCP_CSUM:
		eth(f, 0x0800);
		n = 20 + pick(100);
		ip4(ip, IPPROTO_TCP, 20 + n, src_ip);
		fill_random(l4 + 20, n - 20);
		l4[12] = 0x50;
		tcp(ip, l4, n, (uint8_t)(pick(2) ? 0x02 : 0x18));
		l4[16] ^= (uint8_t)(1 + pick(255));
		return ETH_HLEN + IP4_HLEN + n;
	case K_UDP_BAD:
		eth(f, 0x0800);
		n = pick(64);
		ip4(ip, IPPROTO_UDP, 20 + n, src_ip);
		fill_random(l4, n);
		if (n >= 8) {
			wr16(l4 + 2, pick(2) ? port : (uint16_t)rnd());
			switch (pick(4)) {
			case 0: wr16(l4 + 4, (uint16_t)(n + 1 + pick(1000))); break; /* longer than the datagram */
			case 1: wr16(l4 + 4, (uint16_t)pick(8)); break;            /* below the header */
			case 2: wr16(l4 + 4, (uint16_t)n); break;                  /* fine, bad checksum */
			default: wr16(l4 + 4, (uint16_t)(8 + pick((uint32_t)n - 7))); wr16(l4 + 6, 0); break; /* shorter, no checksum */
			}
		}
		return ETH_HLEN + IP4_HLEN + n;
	case K_ICMP_BAD:
		eth(f, 0x0800);
		switch (pick(4)) {
		case 0: /* truncated */
			n = pick(8);
			ip4(ip, IPPROTO_ICMP, 20 + n, src_ip);
			fill_random(l4, n);
			break;
		case 1: /* echo request, bad checksum */
			n = 8 + pick(64);
			ip4(ip, IPPROTO_ICMP, 20 + n, src_ip);
			fill_random(l4, n);
			l4[0] = 8;
			l4[1] = 0;
			break;
		default: { /* an error whose quoted header is short or bogus, valid checksum */
			uint8_t *in = l4 + 8;

			n = 8 + pick(48);
			ip4(ip, IPPROTO_ICMP, 20 + n, src_ip);
			fill_random(l4, n);
			l4[0] = (uint8_t)(pick(2) ? 3 : 11);
			l4[1] = (uint8_t)pick(16);
			if (n >= 8 + 20) {
				/* Quoted datagram "from" the destination, with a bad IHL or protocol. */
				in[0] = (uint8_t)(0x40 | pick(16));
				in[9] = (uint8_t)(pick(2) ? IPPROTO_TCP : IPPROTO_UDP);
				wr32(in + 12, dst_ip);
				wr32(in + 16, src_ip);
			}
			icmp4_fill_csum(l4, n);
			break;
		}
		}
		return ETH_HLEN + IP4_HLEN + n;
	case K_FRAG: {
		/* Fragments of datagrams that never complete or contradict themselves. */
		uint16_t off, flags = 0;

		eth(f, 0x0800);
		n = 8 * (1 + pick(40));
		switch (pick(6)) {
		case 0: off = 0; flags = 0x2000; break;                           /* first, never the rest */
		case 1: off = (uint16_t)pick(8192); flags = 0x2000; break;          /* somewhere */
		case 2: off = 8191; flags = 0; break;                             /* ends past 65535 */
		case 3: off = (uint16_t)pick(4); flags = 0x2000; n += 1 + pick(7); break; /* MF, not a multiple of 8 */
		case 4: off = (uint16_t)pick(2); flags = 0x2000; n = 0; break;        /* empty fragment */
		default: off = 0; flags = 0x6000; break;                           /* DF and MF together */
		}
		ip4(ip, (uint8_t)(pick(2) ? IPPROTO_UDP : IPPROTO_TCP), 20 + n, src_ip);
		/* A handful of IDs only, so that fragments of one datagram overlap each other. */
		{
			struct ip4_hdr h;

			ip4_hdr_decode(ip, &h);
			h.id = (uint16_t)(0x7000 + pick(8));
			h.df = (flags & 0x4000) != 0;
			h.mf = (flags & 0x2000) != 0;
			h.frag_off = (uint16_t)(off * 8);
			ip4_hdr_emit(ip, &h);
		}
		fill_random(l4, n);
		return ETH_HLEN + IP4_HLEN + n;
	}
	case K_COUNT:
		break;
	}
	return 0;
}

static int parse_ip(const char *s, uint32_t *host_order)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*host_order = ntohl(a.s_addr);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: junkframes -i IFACE -m DSTMAC -d DSTIP [-s SRCIP] [-p PORT] [-n COUNT] "
			"[-T SECONDS] [-R PPS] [-S SEED] [-k KIND[,KIND...]] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dst_arg = NULL;
	unsigned long count = 1000, sent = 0, refused = 0, errors = 0, per_kind[K_COUNT] = { 0 };
	double max_time = 30, pps = 0, t0, el;
	enum kind kinds[K_COUNT];
	unsigned n_kinds = 0;
	int have_mac = 0, verbose = 0, opt, fd;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	uint8_t frame[2048];

	while ((opt = getopt(argc, argv, "i:m:d:s:p:n:T:R:S:k:v")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': {
			unsigned v[6];

			if (sscanf(optarg, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
				fprintf(stderr, "junkframes: bad MAC '%s'\n", optarg);
				return 2;
			}
			for (int i = 0; i < 6; i++)
				dmac[i] = (uint8_t)v[i];
			have_mac = 1;
			break;
		}
		case 'd': dst_arg = optarg; break;
		case 's':
			if (parse_ip(optarg, &src_ip)) {
				fprintf(stderr, "junkframes: bad source '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p': port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'T': max_time = strtod(optarg, NULL); break;
		case 'R': pps = strtod(optarg, NULL); break;
		case 'S': rng_state = strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ull + 1; break;
		case 'k':
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				unsigned k;

				for (k = 0; k < K_COUNT && strcmp(tok, kind_names[k]); k++)
					;
				if (k == K_COUNT || n_kinds == K_COUNT) {
					fprintf(stderr, "junkframes: unknown kind '%s'\n", tok);
					return 2;
				}
				kinds[n_kinds++] = (enum kind)k;
			}
			break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || !ifname || !have_mac || !dst_arg || count < 1 || count > 100000000 ||
	    max_time <= 0 || max_time > 3600)
		usage();
	if (parse_ip(dst_arg, &dst_ip)) {
		fprintf(stderr, "junkframes: bad destination '%s'\n", dst_arg);
		return 2;
	}
	/* Hard limit: IP frames only ever go to, and come from, TEST-NET-1. */
	if ((dst_ip & TESTNET_MASK) != TESTNET || (src_ip & TESTNET_MASK) != TESTNET) {
		fprintf(stderr, "junkframes: refused: -d and -s must be inside 192.0.2.0/24\n");
		return 2;
	}
	if (!n_kinds)
		for (unsigned k = 0; k < K_COUNT; k++)
			kinds[n_kinds++] = (enum kind)k;

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("junkframes: socket(AF_PACKET)");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		fprintf(stderr, "junkframes: no interface %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifr.ifr_ifindex;
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, dmac, 6);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);

	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	t0 = now_s();
	while (sent + refused < count && !stopping) {
		double el_now = now_s() - t0;

		if (el_now >= max_time)
			break;
		if (pps > 0 && sent >= (unsigned long)(el_now * pps) + 1) {
			usleep(200);
			continue;
		}
		enum kind k = kinds[pick(n_kinds)];
		size_t len;

		memset(frame, 0, sizeof(frame));
		len = build(k, frame);
		if (len == 0 || len > FRAME_MAX)
			continue;
		if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)len) {
			sent++;
			per_kind[k]++;
			continue;
		}
		errors++;
		if (errno == ENOBUFS || errno == EAGAIN) {
			usleep(100);
			continue;
		}
		/* The kernel refuses some frames outright (e.g. shorter than its header): counted apart. */
		if (errno == EINVAL) {
			refused++;
			continue;
		}
		if (errors > 1000) {
			perror("junkframes: sendto");
			break;
		}
	}
	el = now_s() - t0;
	printf("junkframes: sent %lu frames in %.3f s (%.0f/s), %lu refused by the kernel, %lu send errors\n",
	       sent, el, el > 0 ? sent / el : 0.0, refused, errors - refused);
	if (verbose) {
		for (unsigned k = 0; k < K_COUNT; k++)
			printf("junkframes: %s=%lu\n", kind_names[k], per_kind[k]);
	}
	close(fd);
	return sent + refused == count ? 0 : 1;
}
