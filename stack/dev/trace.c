/*
 * The frame decoder behind PSTACK_LOG=trace: Ethernet (IEEE 802.3), ARP
 * (RFC 826), IPv4 (RFC 791), ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 9293,
 * options from RFC 7323 and RFC 2018), one line per layer, then a hex dump of
 * whatever was not decoded.
 *
 * The input is untrusted: every field is read with rd16/rd32 after a length
 * check against the bytes actually present, and a header cut short says
 * "truncated" instead of being decoded.
 */
#include "stack/dev/trace.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/log.h"
#include "stack/wire/wire.h"

/* Hex dumps stop here so one frame stays within one log line buffer. */
#define TRACE_HEX_MAX 64

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
	size_t n = len < TRACE_HEX_MAX ? len : TRACE_HEX_MAX;

	if (!len)
		return;
	tb_add(b, "\n  %s %zu bytes:", what, len);
	for (size_t i = 0; i < n; i++)
		tb_add(b, "%s%02x", (i % 16) == 0 ? "\n    " : " ", p[i]);
	if (n < len)
		tb_add(b, " ...");
}

static void tb_ip(struct tbuf *b, const uint8_t *p)
{
	tb_add(b, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
}

static void tb_mac(struct tbuf *b, const uint8_t *p)
{
	tb_add(b, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

static void decode_arp(struct tbuf *b, const uint8_t *p, size_t len)
{
	uint16_t htype, ptype, op;
	uint8_t hlen, plen;

	if (len < 8) {
		tb_add(b, "\n  arp truncated (%zu bytes, header needs 8)", len);
		tb_hex(b, "data", p, len);
		return;
	}
	htype = rd16(p);
	ptype = rd16(p + 2);
	hlen = p[4];
	plen = p[5];
	op = rd16(p + 6);
	tb_add(b, "\n  arp htype %u ptype 0x%04x hlen %u plen %u op %u (%s)", htype, ptype, hlen, plen, op,
	       op == 1 ? "request" : op == 2 ? "reply" : "unknown");
	if (hlen != 6 || plen != 4) {
		tb_hex(b, "addresses", p + 8, len - 8);
		return;
	}
	if (len < 28) {
		tb_add(b, "\n  arp addresses truncated (%zu bytes, need 28)", len);
		return;
	}
	tb_add(b, "\n  arp sha ");
	tb_mac(b, p + 8);
	tb_add(b, " spa ");
	tb_ip(b, p + 14);
	tb_add(b, " tha ");
	tb_mac(b, p + 18);
	tb_add(b, " tpa ");
	tb_ip(b, p + 24);
	if (len > 28)
		tb_add(b, "\n  padding %zu bytes", len - 28);
}

static void decode_icmp(struct tbuf *b, const uint8_t *p, size_t len)
{
	uint8_t type, code;

	if (len < 8) {
		tb_add(b, "\n  icmp truncated (%zu bytes, header needs 8)", len);
		tb_hex(b, "data", p, len);
		return;
	}
	type = p[0];
	code = p[1];
	tb_add(b, "\n  icmp type %u code %u csum 0x%04x", type, code, rd16(p + 2));
	switch (type) {
	case 0:
	case 8:
		tb_add(b, " (echo %s) id %u seq %u", type == 8 ? "request" : "reply", rd16(p + 4), rd16(p + 6));
		tb_hex(b, "data", p + 8, len - 8);
		return;
	case 3:
	case 4:
	case 5:
	case 11:
	case 12:
		tb_add(b, " (%s) rest 0x%08x", type == 3 ? "unreachable" : type == 11 ? "time exceeded" :
		       type == 12 ? "parameter problem" : type == 5 ? "redirect" : "source quench", rd32(p + 4));
		if (type == 3 && code == 4)
			tb_add(b, " next-hop mtu %u", rd16(p + 6));
		/* RFC 792: the quoted IP header and the first 8 bytes of its payload. */
		if (len >= 8 + 20 && (p[8] >> 4) == 4) {
			tb_add(b, "\n  quoted ip ");
			tb_ip(b, p + 8 + 12);
			tb_add(b, " > ");
			tb_ip(b, p + 8 + 16);
			tb_add(b, " proto %u len %u", p[8 + 9], rd16(p + 8 + 2));
		}
		tb_hex(b, "quoted", p + 8, len - 8);
		return;
	default:
		tb_add(b, " rest 0x%08x", rd32(p + 4));
		tb_hex(b, "data", p + 8, len - 8);
	}
}

static void decode_udp(struct tbuf *b, const uint8_t *p, size_t len)
{
	if (len < 8) {
		tb_add(b, "\n  udp truncated (%zu bytes, header needs 8)", len);
		tb_hex(b, "data", p, len);
		return;
	}
	tb_add(b, "\n  udp %u > %u len %u csum 0x%04x", rd16(p), rd16(p + 2), rd16(p + 4), rd16(p + 6));
	tb_hex(b, "payload", p + 8, len - 8);
}

static void decode_tcp_options(struct tbuf *b, const uint8_t *o, size_t len)
{
	size_t i = 0;
	bool first = true;

	tb_add(b, "\n  tcp options [");
	while (i < len) {
		uint8_t kind = o[i];
		uint8_t olen;

		if (!first)
			tb_add(b, ",");
		first = false;
		if (kind == 0) {
			tb_add(b, "eol");
			break;
		}
		if (kind == 1) {
			tb_add(b, "nop");
			i++;
			continue;
		}
		if (i + 2 > len) {
			tb_add(b, "kind %u truncated", kind);
			break;
		}
		olen = o[i + 1];
		if (olen < 2 || i + olen > len) {
			tb_add(b, "kind %u bad length %u", kind, olen);
			break;
		}
		switch (kind) {
		case 2:
			if (olen == 4)
				tb_add(b, "mss %u", rd16(o + i + 2));
			else
				tb_add(b, "mss bad length %u", olen);
			break;
		case 3:
			if (olen == 3)
				tb_add(b, "wscale %u", o[i + 2]);
			else
				tb_add(b, "wscale bad length %u", olen);
			break;
		case 4:
			tb_add(b, olen == 2 ? "sackOK" : "sackOK bad length %u", olen);
			break;
		case 5:
			if ((olen - 2) % 8) {
				tb_add(b, "sack bad length %u", olen);
				break;
			}
			tb_add(b, "sack");
			for (size_t k = i + 2; k + 8 <= (size_t)i + olen; k += 8)
				tb_add(b, " %u:%u", rd32(o + k), rd32(o + k + 4));
			break;
		case 8:
			if (olen == 10)
				tb_add(b, "ts val %u ecr %u", rd32(o + i + 2), rd32(o + i + 6));
			else
				tb_add(b, "ts bad length %u", olen);
			break;
		default:
			tb_add(b, "unknown kind %u len %u", kind, olen);
		}
		i += olen;
	}
	tb_add(b, "]");
}

static void decode_tcp(struct tbuf *b, const uint8_t *p, size_t len)
{
	static const char letters[] = "NCEUAPRSF";
	char flags[10];
	size_t off;
	uint16_t f;

	if (len < 20) {
		tb_add(b, "\n  tcp truncated (%zu bytes, header needs 20)", len);
		tb_hex(b, "data", p, len);
		return;
	}
	/* Bit 8 of the 16-bit word at offset 12 is NS (RFC 3540), then CWR..FIN. */
	f = rd16(p + 12) & 0x1ff;
	for (int i = 0; i < 9; i++)
		flags[i] = (f & (1u << (8 - i))) ? letters[i] : '-';
	flags[9] = 0;
	off = (size_t)(p[12] >> 4) * 4;
	tb_add(b, "\n  tcp %u > %u seq %u ack %u off %zu flags %s win %u csum 0x%04x urg %u", rd16(p),
	       rd16(p + 2), rd32(p + 4), rd32(p + 8), off / 4, flags, rd16(p + 14), rd16(p + 16), rd16(p + 18));
	if (off < 20) {
		tb_add(b, "\n  tcp data offset %zu bytes is below 20", off);
		tb_hex(b, "data", p + 20, len - 20);
		return;
	}
	if (off > len) {
		tb_add(b, "\n  tcp options truncated (header %zu bytes, have %zu)", off, len);
		return;
	}
	if (off > 20)
		decode_tcp_options(b, p + 20, off - 20);
	tb_hex(b, "payload", p + off, len - off);
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	default: return "?";
	}
}

static void decode_ip4(struct tbuf *b, const uint8_t *p, size_t len)
{
	size_t ihl, tot, avail;
	uint16_t frag;

	if (len < 20) {
		tb_add(b, "\n  ip4 truncated (%zu bytes, header needs 20)", len);
		tb_hex(b, "data", p, len);
		return;
	}
	ihl = (size_t)(p[0] & 15) * 4;
	tot = rd16(p + 2);
	frag = rd16(p + 6);
	tb_add(b, "\n  ip4 ");
	tb_ip(b, p + 12);
	tb_add(b, " > ");
	tb_ip(b, p + 16);
	tb_add(b, " version %u ihl %zu tos 0x%02x len %zu id %u flags %s%s%s%s frag %u ttl %u proto %u (%s) csum 0x%04x",
	       p[0] >> 4, ihl / 4, p[1], tot, rd16(p + 4), (frag & 0x8000) ? "RES+" : "",
	       (frag & 0x4000) ? "DF" : "", (frag & 0x6000) == 0x6000 ? "+" : "",
	       (frag & 0x2000) ? "MF" : (frag & 0x4000) ? "" : "none",
	       (unsigned)(frag & 0x1fff) * 8, p[8], p[9], proto_name(p[9]), rd16(p + 10));
	if ((p[0] >> 4) != 4 || ihl < 20) {
		tb_add(b, "\n  ip4 header invalid (version %u, ihl %zu bytes)", p[0] >> 4, ihl);
		tb_hex(b, "data", p + 20, len - 20);
		return;
	}
	if (ihl > len) {
		tb_add(b, "\n  ip4 options truncated (header %zu bytes, have %zu)", ihl, len);
		return;
	}
	if (ihl > 20)
		tb_add(b, "\n  ip4 options %zu bytes", ihl - 20);
	/* Decode only what the total length covers and the frame holds. */
	avail = len;
	if (tot < ihl) {
		tb_add(b, "\n  ip4 total length %zu below the header length", tot);
	} else if (tot > len) {
		tb_add(b, "\n  ip4 truncated: total length %zu, frame holds %zu", tot, len);
	} else {
		avail = tot;
		if (len > tot)
			tb_add(b, "\n  padding %zu bytes", len - tot);
	}
	if (frag & 0x1fff) {
		tb_hex(b, "fragment", p + ihl, avail - ihl);
		return;
	}
	switch (p[9]) {
	case 1: decode_icmp(b, p + ihl, avail - ihl); break;
	case 6: decode_tcp(b, p + ihl, avail - ihl); break;
	case 17: decode_udp(b, p + ihl, avail - ihl); break;
	default: tb_hex(b, "payload", p + ihl, avail - ihl);
	}
}

size_t trace_format(char *out, size_t cap, enum frame_dir dir, const uint8_t *frame, size_t len)
{
	struct tbuf b = { out, cap, 0 };
	uint16_t type;

	if (!cap)
		return 0;
	out[0] = 0;
	tb_add(&b, "%s %zu bytes", dir == FRAME_IN ? "in" : "out", len);
	if (len < 14) {
		tb_add(&b, "\n  eth truncated (%zu bytes, header needs 14)", len);
		tb_hex(&b, "data", frame, len);
	} else {
		type = rd16(frame + 12);
		tb_add(&b, "\n  eth ");
		tb_mac(&b, frame + 6);
		tb_add(&b, " > ");
		tb_mac(&b, frame);
		tb_add(&b, " type 0x%04x (%s)", type,
		       type == 0x0800 ? "IPv4" : type == 0x0806 ? "ARP" : type == 0x86dd ? "IPv6" :
		       type < 0x0600 ? "802.3 length" : "unknown");
		if (type == 0x0806)
			decode_arp(&b, frame + 14, len - 14);
		else if (type == 0x0800)
			decode_ip4(&b, frame + 14, len - 14);
		else
			tb_hex(&b, "payload", frame + 14, len - 14);
	}
	return b.pos < cap ? b.pos : cap - 1;
}

void trace_frame(enum frame_dir dir, const uint8_t *frame, size_t len)
{
	/* log_printf keeps 2048 bytes per message: stay below it with its prefix. */
	char text[1900];

	if (!LOG_ON(LOG_TRACE))
		return;
	trace_format(text, sizeof(text), dir, frame, len);
	log_printf(LOG_TRACE, "%s", text);
}

/* ---- the device wrapper ---- */

static int trace_dev_transmit(struct netdev *dev, const uint8_t *frame, size_t len, uint16_t gso_size, uint64_t now)
{
	if (LOG_ON(LOG_TRACE))
		trace_frame(FRAME_OUT, frame, len);
	return dev->lower->ops->transmit(dev->lower, frame, len, gso_size, now);
}

/* Whole frames only: one of cap bytes or more is dropped by the caller. */
static long trace_dev_receive(struct netdev *dev, uint8_t *buf, size_t cap, unsigned *rx_flags, uint64_t now)
{
	long n = dev->lower->ops->receive(dev->lower, buf, cap, rx_flags, now);

	if (n > 0 && (size_t)n < cap && LOG_ON(LOG_TRACE))
		trace_frame(FRAME_IN, buf, (size_t)n);
	return n;
}

static void trace_dev_destroy(struct netdev *dev)
{
	free(dev);
}

static const struct netdev_ops trace_dev_ops = {
	.transmit = trace_dev_transmit,
	.receive = trace_dev_receive,
	.destroy = trace_dev_destroy,
};

struct netdev *trace_dev_new(struct netdev *lower)
{
	struct netdev *dev = calloc(1, sizeof(*dev));

	if (dev)
		netdev_wrap(dev, &trace_dev_ops, lower, NULL);
	return dev;
}
