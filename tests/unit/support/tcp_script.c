#include "tests/unit/support/tcp_script.h"

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp_priv.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/wire.h"

struct tscript *ts_new(uint32_t peer_isn)
{
	struct tscript *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->h = h_new(NULL, false);
	h_learn_peer(t->h);
	t->local_port = TS_LOCAL_PORT;
	t->peer_port = TS_PEER_PORT;
	t->peer_isn = peer_isn;
	return t;
}

void ts_free(struct tscript *t)
{
	char line[512];

	if (ts_next(t, line, sizeof(line)))
		fail_msg("unexpected frame at the end: %s", line);
	assert_int_equal(tcp_conn_count(t->h->s), 0);
	/* every byte of the stack-wide TCP budget came back */
	assert_int_equal(t->h->s->tcp->mem.used, 0);
	h_free(t->h);
	free(t);
}

uint8_t ts_byte(uint32_t rel)
{
	return (uint8_t)(rel * 31u + 7u);
}

void ts_check_bytes(const uint8_t *buf, size_t n, uint32_t rel)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != ts_byte(rel + (uint32_t)i))
			fail_msg("byte %zu (seq %u) is %u, expected %u", i, rel + (uint32_t)i, buf[i],
				 ts_byte(rel + (uint32_t)i));
}

void ts_advance_us(struct tscript *t, uint64_t us)
{
	/* In steps shorter than an ARP entry's life, refreshing the peer's
	 * entry, so that long waits see TCP's frames and no ARP requests. */
	while (us) {
		uint64_t step = us < 10000000 ? us : 10000000;

		h_learn_peer(t->h);
		h_advance(t->h, step);
		us -= step;
	}
}

void ts_advance_ms(struct tscript *t, uint64_t ms)
{
	ts_advance_us(t, ms * 1000);
}

/* ---- parsing a spec ---- */

struct spec {
	uint8_t flags;
	uint32_t start, end, len;
	bool has_ack;
	uint32_t ack;
	bool has_win;
	uint32_t win;
	uint32_t urg;           /* "urg N": the urgent pointer (with the U flag) */
	uint8_t opts[40];
	size_t olen;
	uint8_t ecn;            /* the IP ECN field */
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

static uint32_t num(const char **pp)
{
	char *e;
	unsigned long v = strtoul(*pp, &e, 10);

	if (e == *pp)
		fail_msg("number expected at '%s'", *pp);
	*pp = e;
	return (uint32_t)v;
}

static bool word(const char **pp, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(*pp, w, n))
		return false;
	*pp += n;
	return true;
}

/* Options in the peer's direction (inject): TS ecr and SACK are relative to the stack. */
static void parse_opts(struct tscript *t, const char **pp, struct spec *sp)
{
	const char *p = *pp;
	uint8_t *o = sp->opts;
	size_t n = 0;

	p++; /* '<' */
	while (*p && *p != '>') {
		p = skip_ws(p);
		if (word(&p, "mss ")) {
			n += tcp_opt_put_mss(o + n, (uint16_t)num(&p));
		} else if (word(&p, "sackOK")) {
			n += tcp_opt_put_sack_perm(o + n);
		} else if (word(&p, "TS val ")) {
			uint32_t v = num(&p), e;

			p = skip_ws(p);
			if (!word(&p, "ecr "))
				fail_msg("ecr expected");
			e = num(&p);
			if (e || t->ts_known)
				e += t->ts_base;
			n += tcp_opt_put_ts(o + n, v, e);
		} else if (word(&p, "nop")) {
			o[n++] = TCP_OPT_NOP;
		} else if (word(&p, "eol")) {
			o[n++] = TCP_OPT_EOL;
		} else if (word(&p, "wscale ")) {
			n += tcp_opt_put_ws(o + n, (uint8_t)num(&p));
		} else if (word(&p, "sack ")) {
			uint32_t blocks[TCP_SACK_BLOCKS][2];
			unsigned k = 0;

			while (isdigit((unsigned char)*p)) {
				if (k == TCP_SACK_BLOCKS)
					fail_msg("at most %d sack blocks", TCP_SACK_BLOCKS);
				blocks[k][0] = num(&p) + t->isn;
				if (*p++ != ':')
					fail_msg("sack block a:b expected");
				blocks[k][1] = num(&p) + t->isn;
				k++;
				p = skip_ws(p);
			}
			n += tcp_opt_put_sack(o + n, (const uint32_t (*)[2])blocks, k);
		} else if (word(&p, "FOEXP") || word(&p, "FO")) {
			/* Fast open, RFC 7413: "FO" asks for a cookie, "FO 0a1b..."
			 * carries one in hex; FOEXP the same in the experimental
			 * option (kind 254, magic 0xF989). */
			bool exp = p[-1] == 'P';
			uint8_t cookie[TCP_FASTOPEN_COOKIE_MAX];
			size_t clen = 0;

			if (*p == ' ' && isxdigit((unsigned char)p[1])) {
				p++;
				while (isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1]) &&
				       clen < sizeof(cookie)) {
					char hx[3] = { p[0], p[1], 0 };

					cookie[clen++] = (uint8_t)strtoul(hx, NULL, 16);
					p += 2;
				}
			}
			if (exp) {
				o[n++] = TCP_OPT_EXP;
				o[n++] = (uint8_t)(4 + clen);
				wr16(o + n, TCP_FASTOPEN_MAGIC);
				n += 2;
			} else {
				o[n++] = TCP_OPT_FASTOPEN;
				o[n++] = (uint8_t)(2 + clen);
			}
			memcpy(o + n, cookie, clen);
			n += clen;
		} else if (word(&p, "raw ")) {
			/* raw bytes in hex, for malformed options: "raw 02 07 ff" */
			while (isxdigit((unsigned char)*p)) {
				o[n++] = (uint8_t)strtoul(p, (char **)&p, 16);
				p = skip_ws(p);
			}
		} else {
			fail_msg("unknown option at '%s'", p);
		}
		p = skip_ws(p);
		if (*p == ',')
			p++;
	}
	if (*p == '>')
		p++;
	while (n % 4)
		o[n++] = 0;
	sp->olen = n;
	*pp = p;
}

static void parse_spec(struct tscript *t, const char *s, struct spec *sp)
{
	const char *p = skip_ws(s);

	memset(sp, 0, sizeof(*sp));
	for (; *p && *p != ' '; p++) {
		switch (*p) {
		case 'F': sp->flags |= TCP_FIN; break;
		case 'S': sp->flags |= TCP_SYN; break;
		case 'R': sp->flags |= TCP_RST; break;
		case 'P': sp->flags |= TCP_PSH; break;
		case 'U': sp->flags |= TCP_URG; break;
		case 'E': sp->flags |= TCP_ECE; break;
		case 'W': sp->flags |= TCP_CWR; break;
		case '.': sp->flags |= TCP_ACK; break;
		case '-': break;         /* packetdrill's: no flag at all */
		default: fail_msg("bad flag '%c' in '%s'", *p, s);
		}
	}
	p = skip_ws(p);
	sp->start = num(&p);
	if (*p++ != ':')
		fail_msg("start:end(len) expected in '%s'", s);
	sp->end = num(&p);
	if (*p++ != '(')
		fail_msg("(len) expected in '%s'", s);
	sp->len = num(&p);
	p++;
	for (;;) {
		p = skip_ws(p);
		if (!*p)
			break;
		if (word(&p, "ack ")) {
			sp->has_ack = true;
			sp->ack = num(&p);
		} else if (word(&p, "win ")) {
			sp->has_win = true;
			sp->win = num(&p);
		} else if (word(&p, "urg ")) {
			sp->urg = num(&p);
		} else if (*p == '<') {
			parse_opts(t, &p, sp);
		} else if (word(&p, "[ect0]")) {
			sp->ecn = 2;
		} else if (word(&p, "[ect1]")) {
			sp->ecn = 1;
		} else if (word(&p, "[ce]")) {
			sp->ecn = 3;
		} else {
			fail_msg("cannot parse '%s' in '%s'", p, s);
		}
	}
}

void ts_inject(struct tscript *t, const char *s)
{
	ts_inject_rx(t, s, 0);
}

void ts_inject_rx(struct tscript *t, const char *s, unsigned rx_flags)
{
	static uint8_t seg[70000], frame[H_MAX_FRAME];
	struct tcp_seg g = { .sport = t->peer_port, .dport = t->local_port };
	struct spec sp;
	size_t hlen, n;

	parse_spec(t, s, &sp);
	hlen = TCP_HLEN + sp.olen;
	g.seq = t->peer_isn + sp.start;
	g.ack = sp.has_ack ? t->isn + sp.ack : 0;
	if (sp.has_ack)
		sp.flags |= TCP_ACK;
	g.flags = sp.flags;
	g.wnd = (uint16_t)(sp.has_win ? sp.win : 65535);
	g.urg = (uint16_t)sp.urg;
	/* Options as written in the spec, malformed ones included. */
	tcp_hdr_emit(seg, &g, hlen);
	memcpy(seg + TCP_HLEN, sp.opts, sp.olen);
	for (uint32_t i = 0; i < sp.len; i++)
		seg[hlen + i] = ts_byte(sp.start + i);
	tcp_fill_csum(seg, hlen + sp.len, H_PEER_IP, H_STACK_IP);
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 1, 0x4000, seg, hlen + sp.len);
	if (sp.ecn) {
		uint8_t *ip = frame + ETH_HLEN;

		ip[1] = (uint8_t)((ip[1] & ~3u) | sp.ecn);
		wr16(ip + 10, 0);
		wr16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	}
	h_inject_flags(t->h, frame, n, rx_flags);
}

/* ---- rendering what the stack sent ---- */

static size_t render(struct tscript *t, const uint8_t *f, size_t flen, uint16_t gso, char *out, size_t cap)
{
	const uint8_t *ip = f + ETH_HLEN, *tcp;
	struct eth_hdr e;
	struct ip4_hdr ih;
	struct tcp_seg g;
	size_t tlen, k = 0;

#define OUT(...) do { int w_ = snprintf(out + k, cap - k, __VA_ARGS__); if (w_ > 0) k += (size_t)w_ < cap - k ? (size_t)w_ : cap - k - 1; } while (0)
	if (eth_hdr_parse(f, flen, &e) != WIRE_OK || e.type != ETH_TYPE_IP4 ||
	    ip4_hdr_parse(ip, flen - ETH_HLEN, &ih) != WIRE_OK || ih.proto != IP_PROTO_TCP) {
		OUT("(not TCP: %zu bytes)", flen);
		return k;
	}
	tcp = ip + ih.ihl;
	tlen = (size_t)ih.total_len - ih.ihl;
	if (tcp_seg_parse(tcp, tlen, ih.src, ih.dst, &g) != WIRE_OK)
		fail_msg("the stack sent a malformed TCP header (%zu bytes)", tlen);
	if (gso) {
		/* A TSO frame: the field holds the pseudo-header sum for the device to finish. */
		assert_int_equal(g.csum, (uint16_t)~csum_fold(csum_pseudo4(ih.src, ih.dst, IP_PROTO_TCP, (uint16_t)tlen)));
	} else {
		assert_int_equal(csum_fold(csum_partial(tcp, tlen, csum_pseudo4(ih.src, ih.dst, IP_PROTO_TCP,
										 (uint16_t)tlen))), 0);
	}
	t->last_gso = gso;
	assert_int_equal(g.sport, t->local_port);
	assert_int_equal(g.dport, t->peer_port);
	if ((g.flags & TCP_SYN) && !t->isn_known) {
		t->isn = g.seq;
		t->isn_known = true;
	}
	if (g.flags & TCP_FIN) OUT("F");
	if (g.flags & TCP_SYN) OUT("S");
	if (g.flags & TCP_RST) OUT("R");
	if (g.flags & TCP_PSH) OUT("P");
	if (g.flags & TCP_URG) OUT("U");
	if (g.flags & TCP_ECE) OUT("E");
	if (g.flags & TCP_CWR) OUT("W");
	if (g.flags & TCP_ACK) OUT(".");
	OUT(" %u:%u(%u)", g.seq - t->isn, g.seq - t->isn + g.len, g.len);
	if (g.flags & TCP_ACK)
		OUT(" ack %u", g.ack - t->peer_isn);
	OUT(" win %u", g.wnd);
	if (g.flags & TCP_URG)
		OUT(" urg %u", g.urg);
	if (g.hlen > TCP_HLEN) {
		struct tcp_opt o;
		enum tcp_opt_read r;
		size_t at = 0;
		bool first = true;

		OUT(" <");
		while ((r = tcp_opt_next(tcp + TCP_HLEN, g.hlen - TCP_HLEN, &at, &o)) != TCP_OPT_READ_END) {
			if (!first)
				OUT(",");
			first = false;
			if (r != TCP_OPT_READ_OK) {
				OUT("bad");
				break;
			}
			if (o.kind == TCP_OPT_EOL) {
				OUT("eol");
				break;
			}
			switch (o.kind) {
			case TCP_OPT_NOP: OUT("nop"); break;
			case TCP_OPT_MSS: OUT("mss %u", rd16(o.val)); break;
			case TCP_OPT_WS: OUT("wscale %u", o.val[0]); break;
			case TCP_OPT_SACK_PERM: OUT("sackOK"); break;
			case TCP_OPT_TS: {
				uint32_t v = rd32(o.val);

				if (!t->ts_known) {
					t->ts_base = v;
					t->ts_known = true;
				}
				t->last_tsval = v;
				OUT("TS val %u ecr %u", v - t->ts_base, rd32(o.val + 4));
				break;
			}
			case TCP_OPT_SACK:
				OUT("sack");
				for (size_t b = 0; b + 8 <= (size_t)o.len - 2; b += 8)
					OUT(" %u:%u", rd32(o.val + b) - t->peer_isn, rd32(o.val + b + 4) - t->peer_isn);
				break;
			case TCP_OPT_FASTOPEN:
			case TCP_OPT_EXP: {
				const uint8_t *v = o.val;
				size_t vlen = (size_t)o.len - 2;

				if (o.kind == TCP_OPT_EXP) {
					if (vlen < 2 || rd16(v) != TCP_FASTOPEN_MAGIC) {
						OUT("opt%u", o.kind);
						break;
					}
					v += 2;
					vlen -= 2;
				}
				OUT(o.kind == TCP_OPT_EXP ? "FOEXP" : "FO");
				if (vlen)
					OUT(" ");
				for (size_t b = 0; b < vlen; b++)
					OUT("%02x", v[b]);
				break;
			}
			default: OUT("opt%u", o.kind); break;
			}
		}
		OUT(">");
	}
	switch (ih.tos & 3) {
	case 1: OUT(" [ect1]"); break;
	case 2: OUT(" [ect0]"); break;
	case 3: OUT(" [ce]"); break;
	default: break;
	}
	t->last_len = g.len;
	memcpy(t->last_payload, g.data, g.len);
	t->last_ip_len = flen - ETH_HLEN < sizeof(t->last_ip) ? flen - ETH_HLEN : sizeof(t->last_ip);
	memcpy(t->last_ip, ip, t->last_ip_len);
	return k;
#undef OUT
}

bool ts_next(struct tscript *t, char *out, size_t cap)
{
	struct h_frame *f = h_pop_tx(t->h);

	out[0] = 0;
	if (!f)
		return false;
	render(t, f->data, f->len, f->gso_size, out, cap);
	free(f);
	return true;
}

/* '*' in the pattern matches a run of digits. */
static bool match(const char *pat, const char *s)
{
	while (*pat) {
		if (*pat == '*') {
			if (!isdigit((unsigned char)*s))
				return false;
			while (isdigit((unsigned char)*s))
				s++;
			pat++;
			continue;
		}
		if (*pat != *s)
			return false;
		pat++;
		s++;
	}
	return *s == 0;
}

bool ts_match(const char *spec, const char *line)
{
	return match(spec, line);
}

void ts_expect(struct tscript *t, const char *spec)
{
	char got[512];

	if (!ts_next(t, got, sizeof(got)))
		fail_msg("expected '%s', nothing was sent", spec);
	if (!match(spec, got))
		fail_msg("expected '%s'\n      got '%s'", spec, got);
}

void ts_injectf(struct tscript *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ts_inject(t, line);
}

bool ts_expect_data(struct tscript *t, unsigned start, unsigned end)
{
	char line[512];
	unsigned s, e, n;
	const char *sp;

	if (!ts_next(t, line, sizeof(line)))
		fail_msg("nothing sent, expected data %u:%u", start, end);
	if (getenv("TS_VERBOSE"))
		printf("  sent %s\n", line);
	sp = strchr(line, ' ');
	assert_non_null(sp);
	assert_int_equal(sscanf(sp + 1, "%u:%u(%u)", &s, &e, &n), 3);
	if (s != start || e != end)
		fail_msg("sent %s, expected data %u:%u", line, start, end);
	return line[0] == 'P';
}

void ts_expect_none(struct tscript *t)
{
	char got[512];

	if (ts_next(t, got, sizeof(got)))
		fail_msg("expected nothing, got '%s'", got);
}

#define LINUX_SYN_OPTS "<mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>"

struct tcp_conn *ts_listen(struct tscript *t, int backlog)
{
	struct tcp_conn *l = tcp_open(t->h->s);
	struct ip4_endpoint ep = { 0, t->local_port };

	assert_non_null(l);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, backlog), 0);
	return l;
}

struct tcp_conn *ts_accept_one(struct tscript *t, struct tcp_conn *l)
{
	struct tcp_conn *c;
	int err;

	ts_inject(t, "S 0:0(0) win 65535 " LINUX_SYN_OPTS);
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(err, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

struct tcp_conn *ts_accept_mss1000(struct tscript *t, unsigned rtt_ms, unsigned win, bool sack)
{
	struct tcp_conn *l, *c;
	int err;

	h_enable_tso(t->h, 65535 - 20 - 60);
	l = ts_listen(t, 1);
	if (sack) {
		ts_inject(t, "S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	} else {
		ts_inject(t, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>");
		ts_expect(t, "S. 0:0(0) ack 1 win * <mss 1460,nop,wscale 7>");
	}
	ts_advance_ms(t, rtt_ms);
	ts_injectf(t, ". 1:1(0) ack 1 win %u", win);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

struct tcp_conn *ts_syn_sent(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	return c;
}

struct tcp_conn *ts_connect(struct tscript *t)
{
	struct tcp_conn *c = ts_syn_sent(t);

	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val * ecr 100>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

static void wake_count(void *ctx)
{
	((struct ts_wake *)ctx)->count++;
}

void ts_watch(struct tcp_conn *c, struct ts_wake *w)
{
	struct sock_wakeup sw = { .fn = wake_count, .ctx = w };

	w->count = 0;
	tcp_set_wakeup(c, &sw);
}

void ts_abort(struct tscript *t, struct tcp_conn *c)
{
	char got[512];

	tcp_setopt(c, TCP_OPT_LINGER, 0);
	tcp_close(c, t->h->now);
	if (!ts_next(t, got, sizeof(got)))
		fail_msg("expected a reset, nothing was sent");
	if (strncmp(got, "R", 1))
		fail_msg("expected a reset, got '%s'", got);
}

void ts_drop(struct tscript *t, struct tcp_conn *c)
{
	if (tcp_get_state(c) == TCP_STATE_SYN_SENT) {
		tcp_close(c, t->h->now);
		ts_expect_none(t);
	} else {
		ts_abort(t, c);
	}
}

struct tcp_conn *ts_socket_next(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, 0 };

	ts_new_peer(t);
	t->local_port++;
	local.port = t->local_port;
	assert_non_null(c);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	return c;
}

void ts_past_quickack(struct tcp_conn *c)
{
	c->quick = 0;
	if (!c->lrcvtime)
		c->lrcvtime = c->s->now;    /* data seen: the next is not the first */
	if (!c->ato)
		c->ato = TCP_DELACK_US;     /* the delayed-ACK engine started (Linux's ato) */
}

void ts_new_peer(struct tscript *t)
{
	t->peer_port++;
	t->isn = 0;
	t->isn_known = false;
	t->ts_known = false;
}

void ts_inject_frag_needed(struct tscript *t, uint16_t mtu)
{
	uint8_t icmp[8 + 28], frame[200];
	size_t n;

	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 3;                /* destination unreachable */
	icmp[1] = 4;                /* fragmentation needed and DF set */
	wr16(icmp + 6, mtu);        /* next-hop MTU (RFC 1191 §4); 0 from an old router */
	memcpy(icmp + 8, t->last_ip, 28);
	wr16(icmp + 2, csum_fold(csum_partial(icmp, sizeof(icmp), 0)));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_ICMP, 9, 0, icmp, sizeof(icmp));
	h_inject(t->h, frame, n);
}

uint32_t ts_cwnd(struct tscript *t, struct tcp_conn *c)
{
	struct tcp_conn_info i;

	tcp_get_info(c, &i, t->h->now);
	return i.snd_cwnd;
}
