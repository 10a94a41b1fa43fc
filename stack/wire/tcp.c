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

bool tcp_opt_len_ok(uint8_t kind, uint8_t len)
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

void tcp_opts_parse(const uint8_t *o, size_t n, struct tcp_seg *g)
{
	bool syn = (g->flags & TCP_SYN) != 0;
	struct tcp_opt opt;
	size_t at = 0;

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
		default:
			break;
		}
	}
}
