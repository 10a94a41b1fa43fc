/*
 * The classic BPF interpreter (Linux's sk_run_filter before 3.15; today
 * bpf_convert_filter translates to eBPF, with the same results). Read first:
 * Documentation/networking/filter.rst (the instruction set), and
 * net/core/filter.c (bpf_check_classic, what a program may be; the load
 * helpers, what an offset outside the packet gives: the program returns 0).
 */
#include "stack/core/bpf.h"

#include <stdbool.h>

/* The classic BPF ABI (linux/bpf_common.h, linux/filter.h), written out:
 * the core includes no kernel header (tests/check-layers.sh). */
#define BPF_CLASS(code) ((code) & 0x07)
#define BPF_LD 0x00
#define BPF_LDX 0x01
#define BPF_ST 0x02
#define BPF_STX 0x03
#define BPF_ALU 0x04
#define BPF_JMP 0x05
#define BPF_RET 0x06
#define BPF_MISC 0x07
#define BPF_SIZE(code) ((code) & 0x18)
#define BPF_W 0x00
#define BPF_H 0x08
#define BPF_B 0x10
#define BPF_MODE(code) ((code) & 0xe0)
#define BPF_IMM 0x00
#define BPF_ABS 0x20
#define BPF_IND 0x40
#define BPF_MEM 0x60
#define BPF_LEN 0x80
#define BPF_MSH 0xa0
#define BPF_OP(code) ((code) & 0xf0)
#define BPF_ADD 0x00
#define BPF_SUB 0x10
#define BPF_MUL 0x20
#define BPF_DIV 0x30
#define BPF_OR 0x40
#define BPF_AND 0x50
#define BPF_LSH 0x60
#define BPF_RSH 0x70
#define BPF_NEG 0x80
#define BPF_MOD 0x90
#define BPF_XOR 0xa0
#define BPF_JA 0x00
#define BPF_JEQ 0x10
#define BPF_JGT 0x20
#define BPF_JGE 0x30
#define BPF_JSET 0x40
#define BPF_SRC(code) ((code) & 0x08)
#define BPF_K 0x00
#define BPF_X 0x08
#define BPF_RVAL(code) ((code) & 0x18)
#define BPF_A 0x10
#define BPF_MISCOP(code) ((code) & 0xf8)
#define BPF_TAX 0x00
#define BPF_TXA 0x80
#define BPF_MEMWORDS 16
#define SKF_AD_OFF (-0x1000)
#define SKF_AD_PROTOCOL 0
#define SKF_AD_PKTTYPE 4
#define SKF_AD_IFINDEX 8
#define SKF_AD_NLATTR 12
#define SKF_AD_NLATTR_NEST 16
#define SKF_AD_MARK 20
#define SKF_AD_QUEUE 24
#define SKF_AD_HATYPE 28
#define SKF_AD_RXHASH 32
#define SKF_AD_CPU 36
#define SKF_AD_ALU_XOR_X 40
#define SKF_AD_VLAN_TAG 44
#define SKF_AD_VLAN_TAG_PRESENT 48
#define SKF_AD_PAY_OFFSET 52
#define SKF_AD_RANDOM 56
#define SKF_AD_VLAN_TPID 60
#define SKF_NET_OFF (-0x100000)
#define SKF_LL_OFF (-0x200000)

/* The size-byte big-endian value at off in p's bytes (negative offsets:
 * the network or link header, Linux's bpf_internal_load_pointer_neg_helper);
 * false when it is not all there. */
static bool load(const struct bpf_pkt *p, int32_t off, unsigned size, uint32_t *v)
{
	const uint8_t *base = p->data, *b;
	size_t avail;

	if (off >= 0) {
		if ((size_t)off > p->len || p->len - (size_t)off < size)
			return false;
		b = base + off;
	} else {
		const uint8_t *h;
		int64_t o;

		if (off >= SKF_NET_OFF) {
			h = p->net;
			o = (int64_t)off - SKF_NET_OFF;
		} else if (off >= SKF_LL_OFF) {
			h = p->mac;
			o = (int64_t)off - SKF_LL_OFF;
		} else {
			return false;
		}
		/* The header is followed by the rest of the packet up to its
		 * end (the helper checks against the buffer's tail). */
		if (!h || h > base)
			return false;
		avail = (size_t)(base - h) + p->len;
		if (o < 0 || (size_t)o > avail || avail - (size_t)o < size)
			return false;
		b = h + o;
	}
	*v = 0;
	for (unsigned i = 0; i < size; i++)
		*v = *v << 8 | b[i];
	return true;
}

/* An ancillary load (SKF_AD_OFF + what); false for an offset that is none. */
static bool ancillary(const struct bpf_pkt *p, int32_t off, uint32_t a, uint32_t x, uint32_t *v)
{
	if (off < SKF_AD_OFF || off >= 0)
		return false;
	switch (off - SKF_AD_OFF) {
	case SKF_AD_PROTOCOL:
		*v = 0x0800;            /* ETH_P_IP: the stack has IPv4 only */
		return true;
	case SKF_AD_PKTTYPE:
		*v = p->pkttype;
		return true;
	case SKF_AD_IFINDEX:
		*v = p->ifindex;
		return true;
	case SKF_AD_HATYPE:
		*v = p->hatype;
		return true;
	case SKF_AD_ALU_XOR_X:
		*v = a ^ x;
		return true;
	case SKF_AD_RANDOM:
		*v = p->random;
		return true;
	/* Deviation: what the stack does not have reads 0 (no marks, queues,
	 * VLANs, netlink attributes; the receive hash and the CPU are the
	 * kernel's and mean nothing here). */
	case SKF_AD_NLATTR:
	case SKF_AD_NLATTR_NEST:
	case SKF_AD_MARK:
	case SKF_AD_QUEUE:
	case SKF_AD_RXHASH:
	case SKF_AD_CPU:
	case SKF_AD_VLAN_TAG:
	case SKF_AD_VLAN_TAG_PRESENT:
	case SKF_AD_PAY_OFFSET:
	case SKF_AD_VLAN_TPID:
		*v = 0;
		return true;
	default:
		return false;
	}
}

uint32_t bpf_run(const struct bpf_insn *prog, unsigned n, const struct bpf_pkt *p)
{
	uint32_t a = 0, x = 0, m[BPF_MEMWORDS] = { 0 }, v;
	unsigned pc = 0;

	while (pc < n) {
		const struct bpf_insn *f = &prog[pc++];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;
		unsigned size = BPF_SIZE(f->code) == BPF_W ? 4 : BPF_SIZE(f->code) == BPF_H ? 2 : 1;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			switch (BPF_MODE(f->code)) {
			case BPF_ABS:
			case BPF_IND: {
				int32_t off = (int32_t)f->k;

				if (BPF_MODE(f->code) == BPF_IND)
					off = (int32_t)(x + f->k);
				else if (ancillary(p, off, a, x, &v)) {
					a = v;
					break;
				}
				if (!load(p, off, size, &v))
					return 0;
				a = v;
				break;
			}
			case BPF_MEM:
				if (f->k >= BPF_MEMWORDS)
					return 0;
				a = m[f->k];
				break;
			case BPF_IMM:
				a = f->k;
				break;
			case BPF_LEN:
				a = (uint32_t)p->len;
				break;
			default:
				return 0;
			}
			break;
		case BPF_LDX:
			switch (BPF_MODE(f->code)) {
			case BPF_MEM:
				if (f->k >= BPF_MEMWORDS)
					return 0;
				x = m[f->k];
				break;
			case BPF_IMM:
				x = f->k;
				break;
			case BPF_LEN:
				x = (uint32_t)p->len;
				break;
			case BPF_MSH:
				if (!load(p, (int32_t)f->k, 1, &v))
					return 0;
				x = (v & 0xf) << 2;
				break;
			default:
				return 0;
			}
			break;
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return 0;
			m[f->k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a <<= src & 31; break;
			case BPF_RSH: a >>= src & 31; break;
			case BPF_NEG: a = -a; break;
			case BPF_DIV:
			case BPF_MOD:
				/* A division by X == 0 ends the program with 0. */
				if (src == 0)
					return 0;
				a = BPF_OP(f->code) == BPF_DIV ? a / src : a % src;
				break;
			default:
				return 0;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				if (f->k >= n - pc)
					return 0;
				pc += f->k;
				break;
			}
			{
				bool t;

				switch (BPF_OP(f->code)) {
				case BPF_JEQ: t = a == src; break;
				case BPF_JGT: t = a > src; break;
				case BPF_JGE: t = a >= src; break;
				case BPF_JSET: t = (a & src) != 0; break;
				default: return 0;
				}
				pc += t ? f->jt : f->jf;
			}
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			return 0;
		}
	}
	return 0;   /* ran off the end: the kernel's checks refuse such a program */
}
