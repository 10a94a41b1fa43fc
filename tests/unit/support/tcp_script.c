#include "tests/unit/support/tcp_script.h"

#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/eth.h"
#include "stack/core/ip4.h"
#include "stack/core/tcp/tcp_priv.h"
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
	uint8_t opts[40];
	size_t olen;
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
			uint32_t v = num(&p);

			o[n++] = 2; o[n++] = 4; wr16(o + n, (uint16_t)v); n += 2;
		} else if (word(&p, "sackOK")) {
			o[n++] = 4; o[n++] = 2;
		} else if (word(&p, "TS val ")) {
			uint32_t v = num(&p), e;

			p = skip_ws(p);
			if (!word(&p, "ecr "))
				fail_msg("ecr expected");
			e = num(&p);
			if (e || t->ts_known)
				e += t->ts_base;
			o[n++] = 8; o[n++] = 10; wr32(o + n, v); wr32(o + n + 4, e); n += 8;
		} else if (word(&p, "nop")) {
			o[n++] = 1;
		} else if (word(&p, "eol")) {
			o[n++] = 0;
		} else if (word(&p, "wscale ")) {
			uint32_t v = num(&p);

			o[n++] = 3; o[n++] = 3; o[n++] = (uint8_t)v;
		} else if (word(&p, "sack ")) {
			size_t at = n;

			o[n++] = 5; o[n++] = 2;
			while (isdigit((unsigned char)*p)) {
				uint32_t a = num(&p), b;

				if (*p++ != ':')
					fail_msg("sack block a:b expected");
				b = num(&p);
				wr32(o + n, a + t->isn);
				wr32(o + n + 4, b + t->isn);
				n += 8;
				o[at + 1] = (uint8_t)(o[at + 1] + 8);
				p = skip_ws(p);
			}
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
		case '.': sp->flags |= TCP_ACK; break;
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
		} else if (*p == '<') {
			parse_opts(t, &p, sp);
		} else {
			fail_msg("cannot parse '%s' in '%s'", p, s);
		}
	}
}

void ts_inject(struct tscript *t, const char *s)
{
	static uint8_t seg[70000], frame[H_MAX_FRAME];
	struct spec sp;
	size_t hlen, n;
	uint32_t seq;

	parse_spec(t, s, &sp);
	hlen = TCP_HLEN + sp.olen;
	seq = t->peer_isn + sp.start;
	wr16(seg, t->peer_port);
	wr16(seg + 2, t->local_port);
	wr32(seg + 4, seq);
	wr32(seg + 8, sp.has_ack ? t->isn + sp.ack : 0);
	if (sp.has_ack)
		sp.flags |= TCP_ACK;
	seg[12] = (uint8_t)((hlen / 4) << 4);
	seg[13] = sp.flags;
	wr16(seg + 14, (uint16_t)(sp.has_win ? sp.win : 65535));
	wr16(seg + 16, 0);
	wr16(seg + 18, 0);
	memcpy(seg + TCP_HLEN, sp.opts, sp.olen);
	for (uint32_t i = 0; i < sp.len; i++)
		seg[hlen + i] = ts_byte(sp.start + i);
	wr16(seg + 16, csum_fold(csum_partial(seg, hlen + sp.len,
					      csum_pseudo4(H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, (uint16_t)(hlen + sp.len)))));
	n = h_build_ip4(frame, H_PEER_IP, H_STACK_IP, IP_PROTO_TCP, 1, 0x4000, seg, hlen + sp.len);
	h_inject(t->h, frame, n);
}

/* ---- rendering what the stack sent ---- */

static size_t render(struct tscript *t, const uint8_t *f, size_t flen, uint16_t gso, char *out, size_t cap)
{
	const uint8_t *ip = f + ETH_HLEN, *tcp;
	size_t ihl, tlen, hlen, plen, k = 0;
	uint8_t flags;
	uint32_t seq, ack;

#define OUT(...) do { int w_ = snprintf(out + k, cap - k, __VA_ARGS__); if (w_ > 0) k += (size_t)w_ < cap - k ? (size_t)w_ : cap - k - 1; } while (0)
	if (flen < ETH_HLEN + 20 || rd16(f + 12) != ETH_TYPE_IP4 || ip[9] != IP_PROTO_TCP) {
		OUT("(not TCP: %zu bytes)", flen);
		return k;
	}
	ihl = (size_t)(ip[0] & 15) * 4;
	tlen = rd16(ip + 2) - ihl;
	tcp = ip + ihl;
	hlen = (size_t)(tcp[12] >> 4) * 4;
	plen = tlen - hlen;
	flags = tcp[13];
	seq = rd32(tcp + 4);
	ack = rd32(tcp + 8);
	if (gso) {
		/* A TSO frame: the field holds the pseudo-header sum for the device to finish. */
		assert_int_equal(rd16(tcp + 16), (uint16_t)~csum_fold(csum_pseudo4(rd32(ip + 12), rd32(ip + 16),
										     IP_PROTO_TCP, (uint16_t)tlen)));
	} else {
		assert_int_equal(csum_fold(csum_partial(tcp, tlen, csum_pseudo4(rd32(ip + 12), rd32(ip + 16),
										 IP_PROTO_TCP, (uint16_t)tlen))), 0);
	}
	t->last_gso = gso;
	assert_int_equal(rd16(tcp), t->local_port);
	assert_int_equal(rd16(tcp + 2), t->peer_port);
	if ((flags & TCP_SYN) && !t->isn_known) {
		t->isn = seq;
		t->isn_known = true;
	}
	if (flags & TCP_FIN) OUT("F");
	if (flags & TCP_SYN) OUT("S");
	if (flags & TCP_RST) OUT("R");
	if (flags & TCP_PSH) OUT("P");
	if (flags & TCP_URG) OUT("U");
	if (flags & TCP_ACK) OUT(".");
	OUT(" %u:%u(%zu)", seq - t->isn, seq - t->isn + (uint32_t)plen, plen);
	if (flags & TCP_ACK)
		OUT(" ack %u", ack - t->peer_isn);
	OUT(" win %u", rd16(tcp + 14));
	if (hlen > TCP_HLEN) {
		const uint8_t *o = tcp + TCP_HLEN;
		size_t n = hlen - TCP_HLEN, i = 0;
		bool first = true;

		OUT(" <");
		while (i < n) {
			if (!first)
				OUT(",");
			first = false;
			if (o[i] == 0) {
				OUT("eol");
				break;
			}
			if (o[i] == 1) {
				OUT("nop");
				i++;
				continue;
			}
			if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
				OUT("bad");
				break;
			}
			switch (o[i]) {
			case 2: OUT("mss %u", rd16(o + i + 2)); break;
			case 3: OUT("wscale %u", o[i + 2]); break;
			case 4: OUT("sackOK"); break;
			case 8: {
				uint32_t v = rd32(o + i + 2);

				if (!t->ts_known) {
					t->ts_base = v;
					t->ts_known = true;
				}
				t->last_tsval = v;
				OUT("TS val %u ecr %u", v - t->ts_base, rd32(o + i + 6));
				break;
			}
			case 5:
				OUT("sack");
				for (size_t b = 0; b + 8 <= (size_t)o[i + 1] - 2; b += 8)
					OUT(" %u:%u", rd32(o + i + 2 + b) - t->peer_isn, rd32(o + i + 6 + b) - t->peer_isn);
				break;
			default: OUT("opt%u", o[i]); break;
			}
			i += o[i + 1];
		}
		OUT(">");
	}
	t->last_len = plen;
	memcpy(t->last_payload, tcp + hlen, plen);
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

void ts_expect(struct tscript *t, const char *spec)
{
	char got[512];

	if (!ts_next(t, got, sizeof(got)))
		fail_msg("expected '%s', nothing was sent", spec);
	if (!match(spec, got))
		fail_msg("expected '%s'\n      got '%s'", spec, got);
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
	ts_expect(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	c = tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(err, 0);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

struct tcp_conn *ts_connect(struct tscript *t)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>");
	ts_inject(t, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, ". 1:1(0) ack 1 win 512 <nop,nop,TS val * ecr 100>");
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

static void wake_count(void *ctx)
{
	((struct ts_wake *)ctx)->count++;
}

void ts_watch(struct tcp_conn *c, struct ts_wake *w)
{
	struct sock_wakeup sw = { wake_count, w };

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

void ts_new_peer(struct tscript *t)
{
	t->peer_port++;
	t->isn = 0;
	t->isn_known = false;
	t->ts_known = false;
}
