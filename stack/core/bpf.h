/*
 * Classic BPF socket filters (SO_ATTACH_FILTER): the program a socket was
 * given, run on each datagram before it is queued (Linux's sk_filter_trim_cap,
 * net/core/filter.c). The checks a program must pass are the kernel's own:
 * the shim attaches it to the socket's placeholder first, and gives the stack
 * only a program the kernel took; the interpreter still never reads or jumps
 * outside what it was given, whatever the program says.
 */
#ifndef PSTACK_CORE_BPF_H
#define PSTACK_CORE_BPF_H

#include <stddef.h>
#include <stdint.h>

#define BPF_MAXINSNS_CLASSIC 4096   /* Linux's BPF_MAXINSNS */

/* One instruction, as struct sock_filter lays it out. */
struct bpf_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

/* What a program sees of a packet: the bytes from the transport header on
 * (offsets >= 0), the network and link headers before them (SKF_NET_OFF,
 * SKF_LL_OFF), and the ancillary values (SKF_AD_*). */
struct bpf_pkt {
	const uint8_t *data;        /* the transport header */
	size_t len;                 /* to the end of the packet */
	const uint8_t *net;         /* the IP header, NULL when not there */
	const uint8_t *mac;         /* the link header, NULL when not there */
	uint32_t pkttype;           /* PACKET_HOST, _BROADCAST, _MULTICAST, ... */
	uint32_t ifindex;
	uint32_t hatype;            /* ARPHRD_ETHER, ARPHRD_LOOPBACK */
	uint32_t random;            /* SKF_AD_RANDOM's value */
};

/* Runs prog (n instructions) on p: the number of bytes to keep, 0 to drop. */
uint32_t bpf_run(const struct bpf_insn *prog, unsigned n, const struct bpf_pkt *p);

#endif
