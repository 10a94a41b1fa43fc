/* TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): reading them. */
#include "stack/wire/tcp.h"

enum tcp_opt_read tcp_opt_next(const uint8_t *o, size_t n, size_t *at, struct tcp_opt *opt)
{
	size_t i = *at;

	if (i >= n)
		return TCP_OPT_READ_END;
	opt->kind = o[i];
	opt->val = o + i + 1;
	if (opt->kind == TCP_OPT_EOL || opt->kind == TCP_OPT_NOP) {
		opt->len = 1;
		*at = i + 1;
		return TCP_OPT_READ_OK;
	}
	if (i + 1 >= n) {
		opt->len = 0;
		*at = n;
		return TCP_OPT_READ_NO_LEN;
	}
	opt->len = o[i + 1];
	if (opt->len < 2 || i + opt->len > n) {
		*at = n;
		return TCP_OPT_READ_BAD_LEN;
	}
	opt->val = o + i + 2;
	*at = i + opt->len;
	return TCP_OPT_READ_OK;
}

/* RFC 7413 §4.1.1: the fast open option is read on a SYN (or SYN-ACK) only,
 * with an even length; a cookie of 4 to 16 bytes, or none (a request). Like
 * Linux's tcp_parse_fastopen_option, any other length counts as no option. */
static void fastopen_opt(struct tcp_seg *g, const uint8_t *v, unsigned len, bool exp)
{
	if (!(g->flags & TCP_SYN) || (len & 1))
		return;
	if (len && (len < TCP_FASTOPEN_COOKIE_MIN || len > TCP_FASTOPEN_COOKIE_MAX))
		return;
	for (unsigned i = 0; i < len; i++)
		g->fo_cookie[i] = v[i];
	g->fo_len = (uint8_t)len;
	g->fo_exp = exp;
	g->has_fo = true;
}

void tcp_opts_parse(const uint8_t *o, size_t n, struct tcp_seg *g)
{
	bool syn = (g->flags & TCP_SYN) != 0;
	struct tcp_opt opt;
	size_t at = 0;

	/* RFC 7323 Appendix A's layout, the one nearly every segment of a
	 * connection with timestamps carries: NOP, NOP, TS. Read at once, as
	 * Linux's tcp_parse_aligned_timestamp does. */
	if (n == 12 && o[0] == TCP_OPT_NOP && o[1] == TCP_OPT_NOP && o[2] == TCP_OPT_TS &&
	    o[3] == TCP_OLEN_TS) {
		g->has_ts = true;
		g->tsval = rd32(o + 4);
		g->tsecr = rd32(o + 8);
		return;
	}
	while (tcp_opt_next(o, n, &at, &opt) == TCP_OPT_READ_OK && opt.kind != TCP_OPT_EOL) {
		if (!tcp_opt_len_ok(opt.kind, opt.len))
			continue;
		switch (opt.kind) {
		case TCP_OPT_MSS:
			if (syn) {
				g->has_mss = true;
				g->mss = rd16(opt.val);
			}
			break;
		case TCP_OPT_WS:
			if (syn) {
				g->has_ws = true;
				g->ws = opt.val[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : opt.val[0];
			}
			break;
		case TCP_OPT_SACK_PERM:
			if (syn)
				g->sack_ok = true;
			break;
		case TCP_OPT_TS:
			g->has_ts = true;
			g->tsval = rd32(opt.val);
			g->tsecr = rd32(opt.val + 4);
			break;
		case TCP_OPT_SACK: {
			unsigned k = (opt.len - 2) / 8u;

			if (syn || !k)
				break;
			if (k > TCP_SACK_BLOCKS)
				k = TCP_SACK_BLOCKS;
			for (unsigned b = 0; b < k; b++) {
				g->sack[b][0] = rd32(opt.val + 8 * b);
				g->sack[b][1] = rd32(opt.val + 8 * b + 4);
			}
			g->nsack = (uint8_t)k;
			break;
		}
		case TCP_OPT_FASTOPEN:
			fastopen_opt(g, opt.val, opt.len - 2u, false);
			break;
		case TCP_OPT_MD5SIG:
			/* Linux's tcp_parse_md5sig_option: of its own length only. */
			if (opt.len == TCP_OLEN_MD5SIG)
				g->has_md5 = true;
			break;
		case TCP_OPT_EXP:
			if (opt.len >= 4 && rd16(opt.val) == TCP_FASTOPEN_MAGIC)
				fastopen_opt(g, opt.val + 2, opt.len - 4u, true);
			break;
		default:
			break;
		}
	}
}
