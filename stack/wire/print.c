/*
 * The frame printer: Ethernet (IEEE 802.3), ARP (RFC 826), IPv4 (RFC 791),
 * ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 9293, options from RFC 7323 and
 * RFC 2018), one line per layer, then a hex dump of whatever was not decoded.
 *
 * The input is untrusted: it is read through the wire parsers only, and a
 * header they refuse is shown as far as they decoded it, with the reason
 * ("truncated", "invalid") instead of the rest.
 */
#include "stack/wire/print.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

/* Hex dumps stop here so one frame stays within one log line buffer. */
#define PRINT_HEX_MAX 64

struct tbuf {
	char *out;
	size_t cap;
	size_t pos;     /* would-be length: may exceed cap when output was cut */
};

static void tb_add(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_add(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (b->pos < b->cap)
		n = vsnprintf(b->out + b->pos, b->cap - b->pos, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->pos += (size_t)n;
}

static void tb_hex(struct tbuf *b, const char *what, const uint8_t *p, size_t len)
{
	size_t n = len < PRINT_HEX_MAX ? len : PRINT_HEX_MAX;

	if (!len)
		return;
	tb_add(b, "\n  %s %zu bytes:", what, len);
	for (size_t i = 0; i < n; i++)
		tb_add(b, "%s%02x", (i % 16) == 0 ? "\n    " : " ", p[i]);
	if (n < len)
		tb_add(b, " ...");
}

static void tb_ip(struct tbuf *b, uint32_t a)
{
	tb_add(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void tb_mac(struct tbuf *b, const uint8_t *p)
{
	tb_add(b, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

static void print_arp(struct tbuf *b, const uint8_t *p, size_t len)
{
	struct arp_pkt a;
	enum wire_err rc = arp_pkt_parse(p, len, &a);

	if (rc == WIRE_TRUNCATED) {
		tb_add(b, "\n  arp truncated (%zu bytes, header needs %u)", len, ARP_FIXED_LEN);
		tb_hex(b, "data", p, len);
		return;
	}
	tb_add(b, "\n  arp htype %u ptype 0x%04x hlen %u plen %u op %u (%s)", a.htype, a.ptype, a.hlen, a.plen,
	       a.op, a.op == ARP_OP_REQUEST ? "request" : a.op == ARP_OP_REPLY ? "reply" : "unknown");
	if (a.hlen != 6 || a.plen != 4) {
		tb_hex(b, "addresses", p + ARP_FIXED_LEN, len - ARP_FIXED_LEN);
		return;
	}
	if (rc == WIRE_HDR_TRUNCATED) {
		tb_add(b, "\n  arp addresses truncated (%zu bytes, need %u)", len, ARP_PKT_LEN);
		return;
	}
	tb_add(b, "\n  arp sha ");
	tb_mac(b, a.sha);
	tb_add(b, " spa ");
	tb_ip(b, a.spa);
	tb_add(b, " tha ");
	tb_mac(b, a.tha);
	tb_add(b, " tpa ");
	tb_ip(b, a.tpa);
	if (len > ARP_PKT_LEN)
		tb_add(b, "\n  padding %zu bytes", len - ARP_PKT_LEN);
}

static const char *icmp_error_name(uint8_t type)
{
	switch (type) {
	case ICMP_DEST_UNREACH: return "unreachable";
	case ICMP_TIME_EXCEEDED: return "time exceeded";
	case ICMP_PARAM_PROBLEM: return "parameter problem";
	case ICMP_REDIRECT: return "redirect";
	case ICMP_SOURCE_QUENCH: return "source quench";
	default: return NULL;
	}
}

static void print_icmp(struct tbuf *b, const uint8_t *p, size_t len)
{
	struct icmp4_hdr m;
	struct ip4_hdr q;
	enum wire_err qrc;

	if (icmp4_hdr_parse(p, len, &m) != WIRE_OK) {
		tb_add(b, "\n  icmp truncated (%zu bytes, header needs %u)", len, ICMP_HLEN);
		tb_hex(b, "data", p, len);
		return;
	}
	tb_add(b, "\n  icmp type %u code %u csum 0x%04x", m.type, m.code, m.csum);
	if (m.type == ICMP_ECHO_REQUEST || m.type == ICMP_ECHO_REPLY) {
		tb_add(b, " (echo %s) id %u seq %u", m.type == ICMP_ECHO_REQUEST ? "request" : "reply",
		       icmp4_echo_id(&m), icmp4_echo_seq(&m));
		tb_hex(b, "data", p + ICMP_HLEN, len - ICMP_HLEN);
		return;
	}
	if (!icmp_error_name(m.type)) {
		tb_add(b, " rest 0x%08x", m.rest);
		tb_hex(b, "data", p + ICMP_HLEN, len - ICMP_HLEN);
		return;
	}
	tb_add(b, " (%s) rest 0x%08x", icmp_error_name(m.type), m.rest);
	if (m.type == ICMP_DEST_UNREACH && m.code == ICMP_UNREACH_NEEDFRAG)
		tb_add(b, " next-hop mtu %u", icmp4_next_mtu(&m));
	/* RFC 792: the quoted IP header and the first 8 bytes of its payload;
	 * shown as soon as an IPv4 header is there, whatever its lengths say. */
	qrc = ip4_hdr_parse_quote(p + ICMP_HLEN, len - ICMP_HLEN, &q);
	if (qrc != WIRE_TRUNCATED && qrc != WIRE_BAD_VERSION) {
		tb_add(b, "\n  quoted ip ");
		tb_ip(b, q.src);
		tb_add(b, " > ");
		tb_ip(b, q.dst);
		tb_add(b, " proto %u len %u", q.proto, q.total_len);
	}
	tb_hex(b, "quoted", p + ICMP_HLEN, len - ICMP_HLEN);
}

static void print_udp(struct tbuf *b, const uint8_t *p, size_t len)
{
	struct udp_hdr u;

	if (udp_hdr_parse(p, len, &u) == WIRE_TRUNCATED) {
		tb_add(b, "\n  udp truncated (%zu bytes, header needs %u)", len, UDP_HLEN);
		tb_hex(b, "data", p, len);
		return;
	}
	/* A length that contradicts the datagram is shown as it is. */
	tb_add(b, "\n  udp %u > %u len %u csum 0x%04x", u.sport, u.dport, u.len, u.csum);
	tb_hex(b, "payload", p + UDP_HLEN, len - UDP_HLEN);
}

static void print_tcp_option(struct tbuf *b, const struct tcp_opt *o)
{
	bool ok = tcp_opt_len_ok(o->kind, o->len);

	switch (o->kind) {
	case TCP_OPT_MSS:
		if (ok)
			tb_add(b, "mss %u", rd16(o->val));
		else
			tb_add(b, "mss bad length %u", o->len);
		break;
	case TCP_OPT_WS:
		if (ok)
			tb_add(b, "wscale %u", o->val[0]);
		else
			tb_add(b, "wscale bad length %u", o->len);
		break;
	case TCP_OPT_SACK_PERM:
		if (ok)
			tb_add(b, "sackOK");
		else
			tb_add(b, "sackOK bad length %u", o->len);
		break;
	case TCP_OPT_SACK:
		if (!ok) {
			tb_add(b, "sack bad length %u", o->len);
			break;
		}
		tb_add(b, "sack");
		for (size_t k = 0; k + 8 <= (size_t)o->len - 2; k += 8)
			tb_add(b, " %u:%u", rd32(o->val + k), rd32(o->val + k + 4));
		break;
	case TCP_OPT_TS:
		if (ok)
			tb_add(b, "ts val %u ecr %u", rd32(o->val), rd32(o->val + 4));
		else
			tb_add(b, "ts bad length %u", o->len);
		break;
	case TCP_OPT_FASTOPEN:
	case TCP_OPT_EXP: {
		/* RFC 7413: a cookie, or none (a request); the experimental
		 * option only with fast open's magic. */
		const uint8_t *v = o->val;
		size_t n = (size_t)o->len - 2;

		if (o->kind == TCP_OPT_EXP) {
			if (n < 2 || rd16(v) != TCP_FASTOPEN_MAGIC) {
				tb_add(b, "unknown kind %u len %u", o->kind, o->len);
				break;
			}
			v += 2;
			n -= 2;
		}
		tb_add(b, o->kind == TCP_OPT_EXP ? "tfo-exp" : "tfo");
		if (!n)
			tb_add(b, " cookie-request");
		else
			tb_add(b, " cookie ");
		for (size_t k = 0; k < n; k++)
			tb_add(b, "%02x", v[k]);
		break;
	}
	default:
		tb_add(b, "unknown kind %u len %u", o->kind, o->len);
	}
}

static void print_tcp_options(struct tbuf *b, const uint8_t *o, size_t len)
{
	struct tcp_opt opt;
	enum tcp_opt_read r;
	size_t at = 0;
	bool first = true;

	tb_add(b, "\n  tcp options [");
	while ((r = tcp_opt_next(o, len, &at, &opt)) != TCP_OPT_READ_END) {
		if (!first)
			tb_add(b, ",");
		first = false;
		if (r == TCP_OPT_READ_NO_LEN) {
			tb_add(b, "kind %u truncated", opt.kind);
			break;
		}
		if (r == TCP_OPT_READ_BAD_LEN) {
			tb_add(b, "kind %u bad length %u", opt.kind, opt.len);
			break;
		}
		if (opt.kind == TCP_OPT_EOL) {
			tb_add(b, "eol");
			break;
		}
		if (opt.kind == TCP_OPT_NOP)
			tb_add(b, "nop");
		else
			print_tcp_option(b, &opt);
	}
	tb_add(b, "]");
}

static void print_tcp(struct tbuf *b, const uint8_t *p, size_t len)
{
	static const char letters[] = "NCEUAPRSF";
	struct tcp_seg g;
	enum wire_err rc = tcp_seg_parse(p, len, 0, 0, &g);
	char flags[10];

	if (rc == WIRE_TRUNCATED) {
		tb_add(b, "\n  tcp truncated (%zu bytes, header needs %u)", len, TCP_HLEN);
		tb_hex(b, "data", p, len);
		return;
	}
	for (int i = 0; i < 9; i++)
		flags[i] = (g.flags & (1u << (8 - i))) ? letters[i] : '-';
	flags[9] = 0;
	tb_add(b, "\n  tcp %u > %u seq %u ack %u off %u flags %s win %u csum 0x%04x urg %u", g.sport, g.dport,
	       g.seq, g.ack, g.hlen / 4u, flags, g.wnd, g.csum, g.urg);
	if (rc == WIRE_BAD_HLEN) {
		tb_add(b, "\n  tcp data offset %u bytes is below %u", g.hlen, TCP_HLEN);
		tb_hex(b, "data", p + TCP_HLEN, len - TCP_HLEN);
		return;
	}
	if (rc == WIRE_HDR_TRUNCATED) {
		tb_add(b, "\n  tcp options truncated (header %u bytes, have %zu)", g.hlen, len);
		return;
	}
	if (g.hlen > TCP_HLEN)
		print_tcp_options(b, p + TCP_HLEN, g.hlen - TCP_HLEN);
	tb_hex(b, "payload", g.data, g.len);
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IP_PROTO_ICMP: return "ICMP";
	case IP_PROTO_TCP: return "TCP";
	case IP_PROTO_UDP: return "UDP";
	default: return "?";
	}
}

static void print_ip4(struct tbuf *b, const uint8_t *p, size_t len)
{
	struct ip4_hdr h;
	enum wire_err rc = ip4_hdr_parse(p, len, &h);
	size_t avail;

	if (rc == WIRE_TRUNCATED) {
		tb_add(b, "\n  ip4 truncated (%zu bytes, header needs %u)", len, IP4_HLEN);
		tb_hex(b, "data", p, len);
		return;
	}
	tb_add(b, "\n  ip4 ");
	tb_ip(b, h.src);
	tb_add(b, " > ");
	tb_ip(b, h.dst);
	tb_add(b, " version %u ihl %u tos 0x%02x len %u id %u flags %s%s%s%s frag %u ttl %u proto %u (%s) csum 0x%04x",
	       h.version, h.ihl / 4u, h.tos, h.total_len, h.id, h.rf ? "RES+" : "", h.df ? "DF" : "",
	       h.df && h.mf ? "+" : "", h.mf ? "MF" : h.df ? "" : "none", h.frag_off, h.ttl, h.proto,
	       proto_name(h.proto), h.csum);
	if (rc == WIRE_BAD_VERSION || rc == WIRE_BAD_HLEN) {
		tb_add(b, "\n  ip4 header invalid (version %u, ihl %u bytes)", h.version, h.ihl);
		tb_hex(b, "data", p + IP4_HLEN, len - IP4_HLEN);
		return;
	}
	if (rc == WIRE_HDR_TRUNCATED) {
		tb_add(b, "\n  ip4 options truncated (header %u bytes, have %zu)", h.ihl, len);
		return;
	}
	if (h.ihl > IP4_HLEN)
		tb_add(b, "\n  ip4 options %u bytes", h.ihl - IP4_HLEN);
	/* Decode only what the total length covers and the frame holds. */
	avail = len;
	if (rc == WIRE_BAD_LENGTH && h.total_len < h.ihl) {
		tb_add(b, "\n  ip4 total length %u below the header length", h.total_len);
	} else if (rc == WIRE_BAD_LENGTH) {
		tb_add(b, "\n  ip4 truncated: total length %u, frame holds %zu", h.total_len, len);
	} else {
		avail = h.total_len;
		if (len > avail)
			tb_add(b, "\n  padding %zu bytes", len - avail);
	}
	if (h.frag_off) {
		tb_hex(b, "fragment", p + h.ihl, avail - h.ihl);
		return;
	}
	switch (h.proto) {
	case IP_PROTO_ICMP: print_icmp(b, p + h.ihl, avail - h.ihl); break;
	case IP_PROTO_TCP: print_tcp(b, p + h.ihl, avail - h.ihl); break;
	case IP_PROTO_UDP: print_udp(b, p + h.ihl, avail - h.ihl); break;
	default: tb_hex(b, "payload", p + h.ihl, avail - h.ihl);
	}
}

static const char *eth_type_name(uint16_t type)
{
	switch (type) {
	case ETH_TYPE_IP4: return "IPv4";
	case ETH_TYPE_ARP: return "ARP";
	case ETH_TYPE_IP6: return "IPv6";
	default: return type < ETH_TYPE_MIN ? "802.3 length" : "unknown";
	}
}

size_t wire_print_frame(char *out, size_t cap, const char *dir, const uint8_t *frame, size_t len)
{
	struct tbuf b = { out, cap, 0 };
	struct eth_hdr e;

	if (!cap)
		return 0;
	out[0] = 0;
	tb_add(&b, "%s %zu bytes", dir, len);
	if (eth_hdr_parse(frame, len, &e) != WIRE_OK) {
		tb_add(&b, "\n  eth truncated (%zu bytes, header needs %u)", len, ETH_HLEN);
		tb_hex(&b, "data", frame, len);
	} else {
		tb_add(&b, "\n  eth ");
		tb_mac(&b, e.src);
		tb_add(&b, " > ");
		tb_mac(&b, e.dst);
		tb_add(&b, " type 0x%04x (%s)", e.type, eth_type_name(e.type));
		if (e.type == ETH_TYPE_ARP)
			print_arp(&b, frame + ETH_HLEN, len - ETH_HLEN);
		else if (e.type == ETH_TYPE_IP4)
			print_ip4(&b, frame + ETH_HLEN, len - ETH_HLEN);
		else
			tb_hex(&b, "payload", frame + ETH_HLEN, len - ETH_HLEN);
	}
	return b.pos < cap ? b.pos : cap - 1;
}
