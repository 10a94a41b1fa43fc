/*
 * libFuzzer target: classic BPF socket filters (SO_ATTACH_FILTER), a
 * program the user wrote, then run on the datagrams that arrive.
 *
 * The shim hands the stack a program the kernel's checks took, but reads it
 * again from the program's memory after the kernel did (shim/sock.c,
 * udp_filter_set): the bytes may have changed in between, so the
 * interpreter (stack/core/bpf.c) must be safe for any program at all. Each
 * input is a program and a packet:
 *
 *   byte 0..1   the instruction count (little-endian, modulo 4097; cut to
 *               the whole instructions that follow)
 *   then        the instructions, 8 bytes each as struct sock_filter
 *               (code le16, jt, jf, k le32)
 *   then        one byte of layout (below), then the packet's bytes
 *
 * Run twice:
 *   - bpf_run directly on the packet in a buffer of its exact size (heap:
 *     ASan sees a read past either end), with the link and network
 *     headers before the transport header as the layout byte says (none,
 *     one or both, at the offsets it gives); the answer must be the same
 *     on a second run (the interpreter keeps no state);
 *   - the stack's own path: a UDP socket on port 7 with the program
 *     attached (udp_set_filter), a datagram to it whose payload is the
 *     packet's bytes, from the link (with or without an 802.1Q tag, to
 *     the stack's address, the subnet's broadcast or a multicast group:
 *     the link header's length and the packet type the program sees
 *     change with them) or sent by the stack to itself (looped: no link
 *     header); what recvfrom gives must be a prefix of the payload, never
 *     longer, and no packet buffer may be left once the stack is gone.
 *
 *   build/fuzz/fuzz_bpf -max_total_time=60 build/fuzz/corpus-fuzz_bpf tests/fuzz/corpus-fuzz_bpf
 *
 * The seeds (FUZZ_BPF_SEEDS=DIR build/fuzz/fuzz_bpf writes them) are
 * programs as tcpdump -dd and the kernel's selftests write them: accept
 * all, drop all, "udp port 53" over the network header, a length cut, the
 * ancillary loads, a scratch-memory round trip, a division by X.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/bpf.h"
#include "stack/core/config.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "tests/fuzz/fuzz_common.h"
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/core/udp.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PEER_IP  IP4(192, 0, 2, 1)
#define FUZZ_STACK_IP IP4(192, 0, 2, 2)
#define FUZZ_BCAST_IP IP4(192, 0, 2, 255)
#define FUZZ_GROUP_IP IP4(239, 1, 2, 3)
#define FUZZ_PAYLOAD_MAX 1400


/* The program in the input: its instruction count, and *used its bytes. */
static struct bpf_insn *read_prog(const uint8_t *data, size_t size, unsigned *n, size_t *used)
{
	struct bpf_insn *prog;
	unsigned want;

	*n = 0;
	*used = size < 2 ? size : 2;
	if (size < 2)
		return NULL;
	want = (unsigned)(data[0] | data[1] << 8) % (BPF_MAXINSNS_CLASSIC + 1);
	if (want > (size - 2) / 8)
		want = (unsigned)((size - 2) / 8);
	*used = 2 + (size_t)want * 8;
	if (!want)
		return NULL;
	/* Exactly n instructions on the heap: a read past the last one is seen. */
	prog = malloc(want * sizeof(*prog));
	if (!prog)
		abort();
	for (unsigned i = 0; i < want; i++) {
		const uint8_t *p = data + 2 + (size_t)i * 8;

		prog[i].code = (uint16_t)(p[0] | p[1] << 8);
		prog[i].jt = p[2];
		prog[i].jf = p[3];
		prog[i].k = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	}
	*n = want;
	return prog;
}

/*
 * bpf_run on the packet alone. The layout byte: bits 0-1 which headers are
 * there (0 none, 1 the network header, 2 both, 3 the link header alone,
 * which bpf_run must not take for a network one), bits 2-7 the headers'
 * length before the transport header (the network one from the middle).
 */
static void run_direct(const struct bpf_insn *prog, unsigned n, uint8_t layout, const uint8_t *pkt, size_t len)
{
	size_t before = (size_t)(layout >> 2);
	uint8_t *buf;
	struct bpf_pkt p;
	uint32_t r1, r2;

	if (before > len)
		before = len;
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	memcpy(buf, pkt, len);
	memset(&p, 0, sizeof(p));
	p.data = buf + before;
	p.len = len - before;
	p.pkttype = 0;
	p.ifindex = 2;
	p.hatype = 1;
	p.random = 0x12345678u;
	switch (layout & 3) {
	case 1:
		p.net = buf;
		break;
	case 2:
		p.mac = buf;
		p.net = buf + before / 2;
		break;
	case 3:
		p.mac = buf;
		break;
	}
	r1 = bpf_run(prog, n, &p);
	r2 = bpf_run(prog, n, &p);
	if (r1 != r2)
		abort();
	free(buf);
}

/* ---- the stack's path ---- */

/* A UDP datagram from the peer to dst:7 with the payload, in IPv4 and
 * Ethernet (an 802.1Q tag when vlan); its length. */
static size_t build_frame(uint8_t *f, uint32_t dst, bool vlan, const uint8_t *payload, size_t plen)
{
	struct eth_hdr e = { .type = vlan ? ETH_TYPE_VLAN : ETH_TYPE_IP4 };
	size_t l2 = ETH_HLEN + (vlan ? ETH_VLAN_HLEN : 0);
	struct ip4_hdr h = {
		.ihl = IP4_HLEN, .total_len = (uint16_t)(IP4_HLEN + UDP_HLEN + plen), .id = 1, .ttl = 64,
		.proto = IP_PROTO_UDP, .src = FUZZ_PEER_IP, .dst = dst,
	};
	struct udp_hdr u = { .sport = 40000, .dport = 7, .len = (uint16_t)(UDP_HLEN + plen) };

	if (dst == FUZZ_GROUP_IP) {
		static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };

		memcpy(e.dst, mc, 6);
	} else if (dst == FUZZ_BCAST_IP) {
		memset(e.dst, 0xff, 6);
	} else {
		memcpy(e.dst, fuzz_stack_mac, 6);
	}
	memcpy(e.src, fuzz_peer_mac, 6);
	eth_hdr_emit(f, &e);
	if (vlan) {
		f[14] = 0x00;           /* priority 0, VLAN 0: a priority tag */
		f[15] = 0x00;
		f[16] = ETH_TYPE_IP4 >> 8;
		f[17] = ETH_TYPE_IP4 & 0xff;
	}
	memcpy(f + l2 + IP4_HLEN + UDP_HLEN, payload, plen);
	udp_hdr_emit(f + l2 + IP4_HLEN, &u);
	udp_fill_csum(f + l2 + IP4_HLEN, UDP_HLEN + plen, FUZZ_PEER_IP, dst);
	ip4_hdr_emit(f + l2, &h);
	return l2 + h.total_len;
}

/*
 * The layout byte's bits 0-2 choose the way in: 0-1 from the link to the
 * stack's address (1: with an 802.1Q priority tag), 2 to the broadcast,
 * 3 to a multicast group the socket joined, 4+ sent by the stack to
 * itself (looped).
 */
static void run_stack(const struct bpf_insn *prog, unsigned n, uint8_t layout, const uint8_t *payload, size_t plen)
{
	static uint8_t frame[ETH_HLEN + ETH_VLAN_HLEN + IP4_HLEN + UDP_HLEN + FUZZ_PAYLOAD_MAX];
	static uint8_t got[FUZZ_PAYLOAD_MAX + 16];
	struct stack_config cfg;
	struct stack_link link;
	struct stack *s;
	struct udp_sock *u, *tx = NULL;
	struct ip4_endpoint ep = { 0, 7 }, src;
	uint64_t now = 1000000;
	size_t full;
	long r;
	unsigned way = layout & 7;

	if (plen > FUZZ_PAYLOAD_MAX)
		plen = FUZZ_PAYLOAD_MAX;
	config_defaults(&cfg);
	memset(cfg.secret, 0x5a, sizeof(cfg.secret));
	memset(&link, 0, sizeof(link));
	strcpy(link.name, "fuzz0");
	link.mtu = 1500;
	link.output = fuzz_output_drop;
	s = stack_create(&cfg, &link, now);
	if (!s)
		abort();
	arp_insert(s, FUZZ_PEER_IP, fuzz_peer_mac, now);
	u = udp_open(s);
	if (!u || udp_bind(u, &ep, 0) < 0)
		abort();
	if (udp_set_filter(u, prog, n, 2) != 0)
		abort();
	if (way == 3 && udp_join(u, FUZZ_GROUP_IP) != 0)
		abort();
	if (way >= 4) {
		struct ip4_endpoint to = { FUZZ_STACK_IP, 7 };

		tx = udp_open(s);
		if (!tx)
			abort();
		(void)udp_sendto(tx, payload, plen, &to, now);
	} else {
		uint32_t dst = way == 2 ? FUZZ_BCAST_IP : way == 3 ? FUZZ_GROUP_IP : FUZZ_STACK_IP;

		stack_input(s, frame, build_frame(frame, dst, way == 1, payload, plen), 0, now);
	}
	stack_poll(s, now);
	while ((r = udp_recvfrom(u, got, sizeof(got), &src, &full, 0)) >= 0) {
		/* What the filter kept: a prefix of the payload, no longer. */
		if ((size_t)r != full || full > plen || memcmp(got, payload, full) != 0)
			abort();
	}
	if (tx)
		udp_close(tx);
	udp_close(u);
	stack_destroy(s);
	if (pkb_live() != 0) {
		fprintf(stderr, "fuzz_bpf: %ld packet buffers leaked\n", pkb_live());
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned n;
	size_t used;
	struct bpf_insn *prog;
	uint8_t layout;

	log_level = LOG_NONE;
	prog = read_prog(data, size, &n, &used);
	layout = used < size ? data[used++] : 0;
	run_direct(prog, n, layout, data + used, size - used);
	run_stack(prog, n, layout, data + used, size - used);
	free(prog);
	return 0;
}

/* ---- the seeds ---- */

struct seed_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

static void write_seed(const char *dir, const char *name, const struct seed_insn *prog, unsigned n, uint8_t layout,
		       const char *payload)
{
	char path[4096];
	uint8_t buf[2 + 64 * 8 + 1 + 256];
	size_t len = 0, plen = strlen(payload);
	FILE *out;

	buf[len++] = (uint8_t)n;
	buf[len++] = (uint8_t)(n >> 8);
	for (unsigned i = 0; i < n; i++) {
		buf[len++] = (uint8_t)prog[i].code;
		buf[len++] = (uint8_t)(prog[i].code >> 8);
		buf[len++] = prog[i].jt;
		buf[len++] = prog[i].jf;
		for (int b = 0; b < 4; b++)
			buf[len++] = (uint8_t)(prog[i].k >> (8 * b));
	}
	buf[len++] = layout;
	memcpy(buf + len, payload, plen);
	len += plen;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (!out || fwrite(buf, 1, len, out) != len || fclose(out) != 0) {
		perror(path);
		exit(1);
	}
}

/* The instruction set's numbers (linux/bpf_common.h, linux/filter.h). */
enum {
	LD_W_ABS = 0x20, LD_H_ABS = 0x28, LD_B_ABS = 0x30, LD_W_IND = 0x40, LD_W_LEN = 0x80, LD_IMM = 0x00,
	LD_MEM = 0x60, LDX_IMM = 0x01, LDX_B_MSH = 0xb1, ST = 0x02, STX = 0x03, ALU_ADD_K = 0x04,
	ALU_DIV_X = 0x3c, ALU_AND_K = 0x54, JEQ_K = 0x15, JGT_K = 0x25, JSET_K = 0x45, JA = 0x05, RET_K = 0x06,
	RET_A = 0x16, TAX = 0x07, TXA = 0x87,
};
#define AD(x) ((uint32_t)(-0x1000 + (x)))
#define NET(x) ((uint32_t)(-0x100000 + (x)))
#define LL(x) ((uint32_t)(-0x200000 + (x)))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_BPF_SEEDS");
	static const struct seed_insn all[] = { { RET_K, 0, 0, 0xffffffffu } };
	static const struct seed_insn none[] = { { RET_K, 0, 0, 0 } };
	/* "udp dst port 53" over the network header (tcpdump -dd, as a socket
	 * filter sees it: SKF_NET_OFF), the first 64 bytes kept. */
	static const struct seed_insn port53[] = {
		{ LD_B_ABS, 0, 0, NET(9) },  { JEQ_K, 0, 6, 17 },       { LD_H_ABS, 0, 0, NET(6) },
		{ JSET_K, 4, 0, 0x1fff },    { LDX_B_MSH, 0, 0, NET(0) }, { LD_H_ABS, 0, 0, 2 },
		{ JEQ_K, 0, 1, 53 },         { RET_K, 0, 0, 64 },       { RET_K, 0, 0, 0 },
	};
	/* Cut every datagram to its UDP header and 4 bytes, when longer than 20. */
	static const struct seed_insn cut[] = {
		{ LD_W_LEN, 0, 0, 0 }, { JGT_K, 0, 1, 20 }, { RET_K, 0, 0, 12 }, { RET_A, 0, 0, 0 },
	};
	/* The ancillary loads, summed, and the link header's type field. */
	static const struct seed_insn anc[] = {
		{ LD_W_ABS, 0, 0, AD(0) },  { TAX, 0, 0, 0 },           { LD_W_ABS, 0, 0, AD(4) },
		{ LD_W_ABS, 0, 0, AD(8) },  { LD_W_ABS, 0, 0, AD(28) }, { LD_W_ABS, 0, 0, AD(40) },
		{ LD_W_ABS, 0, 0, AD(56) }, { LD_H_ABS, 0, 0, LL(12) }, { JEQ_K, 1, 0, 0x0800 },
		{ RET_K, 0, 0, 0 },         { RET_K, 0, 0, 0xffff },
	};
	/* Scratch memory, an indexed load past the UDP header, a division by X. */
	static const struct seed_insn mem[] = {
		{ LD_IMM, 0, 0, 8 },         { ST, 0, 0, 3 },       { LDX_IMM, 0, 0, 0 }, { LD_MEM, 0, 0, 3 },
		{ TAX, 0, 0, 0 },            { LD_W_IND, 0, 0, 0 }, { STX, 0, 0, 15 },    { ALU_AND_K, 0, 0, 0xff },
		{ ALU_ADD_K, 0, 0, 1 },      { ALU_DIV_X, 0, 0, 0 }, { TXA, 0, 0, 0 },    { JA, 0, 0, 0 },
		{ RET_A, 0, 0, 0 },
	};

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	write_seed(dir, "accept_all", all, 1, 0, "hello filter");
	write_seed(dir, "drop_all", none, 1, 2, "dropped");
	write_seed(dir, "udp_port53", port53, sizeof(port53) / sizeof(port53[0]), 0, "a question");
	write_seed(dir, "udp_port53_vlan", port53, sizeof(port53) / sizeof(port53[0]), 1, "a question");
	write_seed(dir, "cut_len", cut, sizeof(cut) / sizeof(cut[0]), 4, "a datagram longer than twenty bytes");
	write_seed(dir, "ancillary_mcast", anc, sizeof(anc) / sizeof(anc[0]), 3 | 14 << 2, "to the group");
	write_seed(dir, "ancillary_bcast", anc, sizeof(anc) / sizeof(anc[0]), 2 | 34 << 2, "to everyone");
	write_seed(dir, "memory_div", mem, sizeof(mem) / sizeof(mem[0]), 4, "scratch words");
	exit(0);
}
