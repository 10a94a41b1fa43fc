/*
 * TCP header and options: RFC 9293 §3.1 (header), §3.2 (options: EOL, NOP,
 * MSS), RFC 7323 (window scale, timestamps), RFC 2018 (SACK), RFC 3168 and
 * 3540 (the ECE, CWR and NS bits, carried but not acted on).
 *
 * A received segment is parsed into a struct tcp_seg, the host-order form the
 * state machine works on; a segment to send is a struct tcp_seg emitted into
 * a buffer, options in the layout Linux uses (tcp_opts_emit).
 */
#ifndef PSTACK_WIRE_TCP_H
#define PSTACK_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stack/wire/ip4.h"
#include "stack/wire/wire.h"

#define TCP_HLEN 20             /* without options */
#define TCP_HLEN_MAX 60
#define TCP_CSUM_OFF 16         /* where the checksum field is */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80
#define TCP_NS 0x100

/* Option kinds and the lengths their kind requires. */
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WS 3
#define TCP_OPT_SACK_PERM 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TS 8
#define TCP_OPT_FASTOPEN 34     /* RFC 7413 §4.1.1 */
#define TCP_OPT_EXP 254         /* RFC 6994: experimental, with a 16-bit magic first */
#define TCP_OPT_MD5SIG 19       /* RFC 2385 */
#define TCP_OLEN_MD5SIG 18
#define TCP_FASTOPEN_MAGIC 0xF989   /* fast open's experimental code (before kind 34) */
#define TCP_FASTOPEN_COOKIE_MIN 4
#define TCP_FASTOPEN_COOKIE_MAX 16
#define TCP_OLEN_MSS 4
#define TCP_OLEN_WS 3
#define TCP_OLEN_SACK_PERM 2
#define TCP_OLEN_TS 10

#define TCP_MAX_WSCALE 14       /* RFC 7323 §2.3: a larger shift is taken as 14 */
#define TCP_SACK_BLOCKS 4       /* at most 4 fit in 40 bytes of options (RFC 2018 §3) */

/* A TCP segment in host order. */
struct tcp_seg {
	uint32_t src, dst;      /* IPv4 addresses, from the IP header (the pseudo-header's) */
	uint8_t ecn;            /* a received segment's IP ECN field (RFC 3168 §5), from the IP header */
	uint8_t ttl;            /* its IP TTL, from the IP header */
	uint8_t tos;            /* its IP TOS byte, from the IP header */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t flags;         /* the nine control bits, NS to FIN (TCP_*) */
	uint16_t wnd;           /* unscaled, as on the wire */
	uint16_t csum;          /* as received; the emitters write a zero (tcp_fill_csum fills it) */
	uint16_t urg;
	uint8_t hlen;           /* header length in bytes, options included */
	const uint8_t *data;
	uint32_t len;           /* payload bytes */
	/* options (parsed: the ones the segment may carry, RFC 7323 §2.2, RFC 2018 §2, 3) */
	bool has_mss, has_ws, sack_ok, has_ts;
	uint16_t mss;
	uint8_t ws;             /* at most TCP_MAX_WSCALE */
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[TCP_SACK_BLOCKS][2];
	/* RFC 7413 fast open, on a SYN or SYN-ACK: has_fo with fo_len 0 asks
	 * for a cookie, 4 to 16 (even) carries one; fo_exp: in the
	 * experimental option (kind 254, magic 0xF989) rather than kind 34. */
	bool has_fo, fo_exp;
	/* RFC 2385: a TCP MD5 signature (which no connection here expects). */
	bool has_md5;
	uint8_t fo_len;
	uint8_t fo_cookie[TCP_FASTOPEN_COOKIE_MAX];
	/* Not from the segment's bytes: its IP header as received (NULL when
	 * not at hand), its length, and the link header's bytes right before
	 * it (TCP_SAVE_SYN keeps a SYN's headers; the TCP header follows the
	 * IP header, hlen bytes). */
	const uint8_t *ip_raw;
	uint8_t ip_hlen, mac_len;
};

/* One option, as tcp_opt_next() reads it. */
struct tcp_opt {
	uint8_t kind;
	uint8_t len;            /* the whole option: 1 for EOL and NOP */
	const uint8_t *val;     /* its len - 2 value bytes */
};

enum tcp_opt_read {
	TCP_OPT_READ_END,       /* no bytes left */
	TCP_OPT_READ_OK,        /* *opt filled (EOL too: the list ends after it) */
	TCP_OPT_READ_NO_LEN,    /* a kind whose length byte is missing (opt->kind set) */
	TCP_OPT_READ_BAD_LEN,   /* a length below 2 or past the end (opt->kind, opt->len set) */
};

/*
 * Reads the option at *at of the n option bytes at o and moves *at past it.
 * A malformed option ends the list: like Linux, what was read before it
 * stands.
 */
enum tcp_opt_read tcp_opt_next(const uint8_t *o, size_t n, size_t *at, struct tcp_opt *opt);

/* Whether len is the length option kind requires (any for kinds we do not know). */
static inline bool tcp_opt_len_ok(uint8_t kind, uint8_t len)
{
	switch (kind) {
	case TCP_OPT_MSS:
		return len == TCP_OLEN_MSS;
	case TCP_OPT_WS:
		return len == TCP_OLEN_WS;
	case TCP_OPT_SACK_PERM:
		return len == TCP_OLEN_SACK_PERM;
	case TCP_OPT_TS:
		return len == TCP_OLEN_TS;
	case TCP_OPT_SACK:
		/* Blocks of two sequence numbers (none is well-formed too, and says nothing). */
		return len >= 2 && (len - 2) % 8 == 0;
	default:
		return true;
	}
}

/* Decodes the n option bytes at o into g's option fields: MSS, window scale
 * and SACK-permitted on a SYN only, SACK blocks on anything but a SYN,
 * timestamps on any segment; g->flags must be set. */
void tcp_opts_parse(const uint8_t *o, size_t n, struct tcp_seg *g);

/* The first 8 bytes of a segment (ports and sequence number, all an ICMP
 * error quotes) into g, the rest of g zeroed; p holds at least 8 bytes. */
static inline void tcp_seg_read_quote(const uint8_t *p, uint32_t src, uint32_t dst, struct tcp_seg *g)
{
	*g = (struct tcp_seg){ 0 };
	g->src = src;
	g->dst = dst;
	g->sport = rd16(p);
	g->dport = rd16(p + 2);
	g->seq = rd32(p + 4);
}

/*
 * The segment in the len bytes of an IP payload from src to dst:
 * WIRE_TRUNCATED below TCP_HLEN, WIRE_BAD_HLEN for a data offset below 5,
 * WIRE_HDR_TRUNCATED when the header runs past len. The checksum is the
 * caller's to verify. Options are decoded as tcp_opts_parse() does.
 */
static inline enum wire_err tcp_seg_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
					  struct tcp_seg *g)
{
	if (len < TCP_HLEN) {
		*g = (struct tcp_seg){ 0 };
		return WIRE_TRUNCATED;
	}
	tcp_seg_read_quote(p, src, dst, g);
	g->ack = rd32(p + 8);
	g->hlen = (uint8_t)((p[12] >> 4) * 4);
	g->flags = rd16(p + 12) & 0x1ff;
	g->wnd = rd16(p + 14);
	g->csum = rd16(p + 16);
	g->urg = rd16(p + 18);
	if (g->hlen < TCP_HLEN)
		return WIRE_BAD_HLEN;
	if (g->hlen > len)
		return WIRE_HDR_TRUNCATED;
	g->data = p + g->hlen;
	g->len = (uint32_t)(len - g->hlen);
	if (g->hlen > TCP_HLEN)
		tcp_opts_parse(p + TCP_HLEN, g->hlen - TCP_HLEN, g);
	return WIRE_OK;
}

/*
 * The start of a segment we sent, quoted in an ICMP error: RFC 792 quotes 8
 * bytes, the ports and the sequence number, which is all that is decoded
 * (the rest of g is zero). WIRE_TRUNCATED below 8 bytes.
 */
static inline enum wire_err tcp_seg_parse_quote(const uint8_t *q, size_t qlen, uint32_t src, uint32_t dst,
						struct tcp_seg *g)
{
	if (qlen < 8) {
		*g = (struct tcp_seg){ 0 };
		return WIRE_TRUNCATED;
	}
	tcp_seg_read_quote(q, src, dst, g);
	return WIRE_OK;
}

/* ---- emitting ---- */

/* Single options: each writes one at o and returns its length. */
static inline size_t tcp_opt_put_mss(uint8_t *o, uint16_t mss)
{
	o[0] = TCP_OPT_MSS;
	o[1] = TCP_OLEN_MSS;
	wr16(o + 2, mss);
	return TCP_OLEN_MSS;
}

static inline size_t tcp_opt_put_ws(uint8_t *o, uint8_t shift)
{
	o[0] = TCP_OPT_WS;
	o[1] = TCP_OLEN_WS;
	o[2] = shift;
	return TCP_OLEN_WS;
}

static inline size_t tcp_opt_put_sack_perm(uint8_t *o)
{
	o[0] = TCP_OPT_SACK_PERM;
	o[1] = TCP_OLEN_SACK_PERM;
	return TCP_OLEN_SACK_PERM;
}

static inline size_t tcp_opt_put_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	o[0] = TCP_OPT_TS;
	o[1] = TCP_OLEN_TS;
	wr32(o + 2, val);
	wr32(o + 6, ecr);
	return TCP_OLEN_TS;
}

static inline size_t tcp_opt_put_sack(uint8_t *o, const uint32_t blocks[][2], unsigned n)
{
	o[0] = TCP_OPT_SACK;
	o[1] = (uint8_t)(2 + 8 * n);
	for (unsigned i = 0; i < n; i++) {
		wr32(o + 2 + 8 * i, blocks[i][0]);
		wr32(o + 6 + 8 * i, blocks[i][1]);
	}
	return 2 + 8 * (size_t)n;
}

/* The length of g's options as tcp_opts_emit() writes them (a multiple of 4). */
static inline size_t tcp_opts_len(const struct tcp_seg *g)
{
	return (g->has_mss ? 4 : 0) + (g->has_ts ? 12 : g->sack_ok ? 4 : 0) + (g->has_ws ? 4 : 0) +
	       (g->nsack ? 4 + 8 * (size_t)g->nsack : 0) +
	       (g->has_fo ? ((g->fo_exp ? 4u : 2u) + g->fo_len + 3) / 4 * 4 : 0);
}

/*
 * Writes g's options at o, padded with NOPs in the layout Linux sends:
 * MSS; SACK-permitted (or NOP NOP) then timestamps, or NOP NOP
 * SACK-permitted alone; NOP window scale; NOP NOP SACK blocks. Returns
 * tcp_opts_len(g).
 */
static inline size_t tcp_opts_emit(uint8_t *o, const struct tcp_seg *g)
{
	size_t n = 0;

	if (g->has_mss)
		n += tcp_opt_put_mss(o + n, g->mss);
	if (g->has_ts) {
		if (g->sack_ok) {
			n += tcp_opt_put_sack_perm(o + n);
		} else {
			o[n++] = TCP_OPT_NOP;
			o[n++] = TCP_OPT_NOP;
		}
		n += tcp_opt_put_ts(o + n, g->tsval, g->tsecr);
	} else if (g->sack_ok) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
		n += tcp_opt_put_sack_perm(o + n);
	}
	if (g->has_ws) {
		o[n++] = TCP_OPT_NOP;
		n += tcp_opt_put_ws(o + n, g->ws);
	}
	if (g->nsack) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
		n += tcp_opt_put_sack(o + n, (const uint32_t (*)[2])g->sack, g->nsack);
	}
	if (g->has_fo) {
		/* Last, as Linux's tcp_options_write puts it, NOP-padded. */
		size_t start = n;

		if (g->fo_exp) {
			o[n++] = TCP_OPT_EXP;
			o[n++] = (uint8_t)(4 + g->fo_len);
			wr16(o + n, TCP_FASTOPEN_MAGIC);
			n += 2;
		} else {
			o[n++] = TCP_OPT_FASTOPEN;
			o[n++] = (uint8_t)(2 + g->fo_len);
		}
		for (unsigned i = 0; i < g->fo_len; i++)
			o[n++] = g->fo_cookie[i];
		while ((n - start) % 4)
			o[n++] = TCP_OPT_NOP;
	}
	return n;
}

/* Writes the fixed header of g at buf with a data offset of hlen bytes (the
 * options, when any, are the caller's), and a zero checksum. g->hlen is not read. */
static inline void tcp_hdr_emit(uint8_t *buf, const struct tcp_seg *g, size_t hlen)
{
	/* Every field is read before the first byte is written (wire.h). */
	uint16_t sport = g->sport, dport = g->dport, flags = g->flags, wnd = g->wnd, urg = g->urg;
	uint32_t seq = g->seq, ack = g->ack;

	wr16(buf, sport);
	wr16(buf + 2, dport);
	wr32(buf + 4, seq);
	wr32(buf + 8, ack);
	buf[12] = (uint8_t)(((hlen / 4) << 4) | ((flags >> 8) & 1));
	buf[13] = (uint8_t)flags;
	wr16(buf + 14, wnd);
	wr16(buf + 16, 0);
	wr16(buf + 18, urg);
}

/* Writes g's header and options (tcp_opts_emit) at buf, g->hlen aside; returns
 * the header length. The payload goes after it. */
static inline size_t tcp_seg_emit(uint8_t *buf, const struct tcp_seg *g)
{
	size_t hlen = TCP_HLEN + tcp_opts_emit(buf + TCP_HLEN, g);

	tcp_hdr_emit(buf, g, hlen);
	return hlen;
}

/* Fills the checksum of the len-byte segment at buf (payload in place) sent from src to dst. */
static inline void tcp_fill_csum(uint8_t *buf, size_t len, uint32_t src, uint32_t dst)
{
	wr16(buf + TCP_CSUM_OFF, 0);
	wr16(buf + TCP_CSUM_OFF,
	     csum_fold(csum_partial(buf, len, csum_pseudo4(src, dst, IP_PROTO_TCP, (uint16_t)len))));
}

/* For checksum offload (TSO): the field holds the pseudo-header sum over the
 * length, for the device to complete over the bytes (CHECKSUM_PARTIAL). */
static inline void tcp_fill_csum_partial(uint8_t *buf, size_t len, uint32_t src, uint32_t dst)
{
	wr16(buf + TCP_CSUM_OFF, (uint16_t)~csum_fold(csum_pseudo4(src, dst, IP_PROTO_TCP, (uint16_t)len)));
}

#endif
