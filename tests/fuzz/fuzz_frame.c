/*
 * libFuzzer target: every input is one Ethernet frame received by the stack.
 *
 * Each input gets a fresh stack on a tiny in-memory link, brought to the
 * same rich state first, so that a finding reproduces from its one file:
 *   - the peer 192.0.2.1 in the ARP cache, a UDP socket bound to port 7 and
 *     a TCP listener on port 80;
 *   - an ESTABLISHED connection 192.0.2.1:40000 -> 80, made by a real
 *     handshake (the harness reads the stack's SYN-ACK to acknowledge it);
 *   - an active open to 192.0.2.1:80 in SYN-SENT.
 * The TCP budget is 64 KiB. Then the input goes in as one frame (stack_input;
 * odd-sized ones inside a receive batch), the sockets are read,
 * and time runs: the timers fire until nothing is left (retransmissions,
 * give-ups, reassembly timeouts, TIME_WAIT), with the sockets closed halfway.
 * Finally the stack is destroyed and no packet buffer may be left. The input
 * is also decoded by the wire printer (stack/wire/print.c), which reads frames
 * as untrusted as the stack does. Everything is deterministic: a fixed clock
 * and secret.
 *
 * The link's capabilities say that no checksum is to be verified (rx_csum
 * 0), so that mutated frames are not all dropped at the first check. The seed
 * corpus (tests/fuzz/corpus) holds valid frames that fit this state, built
 * with the wire emitters by this target itself (FUZZ_FRAME_SEEDS, below):
 * ARP, ICMP echo and an error, UDP to port 7 and to a closed port, TCP to
 * port 80 and to the established connection, IPv4 fragments and options.
 *
 *   build/fuzz/fuzz_frame -max_total_time=60 build/fuzz/corpus-fuzz_frame tests/fuzz/corpus
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/core/arp.h"
#include "stack/core/config.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "tests/fuzz/fuzz_common.h"
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/print.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PEER_IP  IP4(192, 0, 2, 1)
#define FUZZ_STACK_IP IP4(192, 0, 2, 2)
#define FUZZ_PEER_PORT 40000
#define FUZZ_PEER_ISN 1000u
#define FUZZ_T0 1000000ull
#define FUZZ_MAX_TIMER_ROUNDS 256


struct fuzz_state {
	struct stack *s;
	uint64_t now;
	uint8_t last_tx[128];     /* the start of the last frame sent */
	size_t last_tx_len;
	struct udp_sock *udp;
	struct tcp_conn *listener, *established, *active;
	uint32_t isn;             /* the stack's ISN on the established connection */
};

/* The link's output: sent frames are read in full (so sanitizers see a
 * bad length), and the start of the last one is kept for the handshake. */
static int fuzz_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct fuzz_state *f = ctx;

	(void)now;
	f->last_tx_len = pkb->len < sizeof(f->last_tx) ? pkb->len : sizeof(f->last_tx);
	memcpy(f->last_tx, pkb->data, f->last_tx_len);
	fuzz_consume(pkb);
	return 0;
}

/* ---- frames, built with the wire emitters ---- */

/* An Ethernet frame around an IPv4 datagram whose tlen transport bytes are
 * already at buf + ETH_HLEN + IP4_HLEN + olen: writes the IP header (options
 * opts, olen a multiple of 4) and the Ethernet one. Returns the frame length. */
static size_t put_eth_ip4(uint8_t *buf, uint8_t proto, uint16_t id, uint16_t frag_field, const uint8_t *opts,
			  size_t olen, uint32_t src, uint32_t dst, size_t tlen)
{
	struct eth_hdr e = { .type = ETH_TYPE_IP4 };
	struct ip4_hdr h = {
		.ihl = (uint8_t)(IP4_HLEN + olen), .total_len = (uint16_t)(IP4_HLEN + olen + tlen), .id = id,
		.df = (frag_field & 0x4000) != 0, .mf = (frag_field & 0x2000) != 0,
		.frag_off = (uint16_t)((frag_field & 0x1fff) * 8), .ttl = 64, .proto = proto, .src = src, .dst = dst,
	};

	memcpy(e.dst, fuzz_stack_mac, 6);
	memcpy(e.src, fuzz_peer_mac, 6);
	eth_hdr_emit(buf, &e);
	if (olen)
		memcpy(buf + ETH_HLEN + IP4_HLEN, opts, olen);
	ip4_hdr_emit(buf + ETH_HLEN, &h);
	return ETH_HLEN + h.total_len;
}

/* A TCP segment from the peer, in IPv4 and Ethernet, with correct checksums
 * (this link checks none, but the frames are then valid anywhere); g's
 * options in tcp_opts_emit's layout, or the raw bytes opts.
 * Returns the frame length. */
static size_t build_tcp_seg(uint8_t *buf, uint16_t frag_field, const struct tcp_seg *g, const uint8_t *opts,
			    size_t olen, const void *payload, size_t plen)
{
	uint8_t *tcp = buf + ETH_HLEN + IP4_HLEN;
	size_t hlen;

	if (opts) {
		hlen = TCP_HLEN + olen;
		tcp_hdr_emit(tcp, g, hlen);
		memcpy(tcp + TCP_HLEN, opts, olen);
	} else {
		hlen = tcp_seg_emit(tcp, g);
	}
	if (plen)
		memcpy(tcp + hlen, payload, plen);
	tcp_fill_csum(tcp, hlen + plen, FUZZ_PEER_IP, FUZZ_STACK_IP);
	return put_eth_ip4(buf, IP_PROTO_TCP, 1, frag_field, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, hlen + plen);
}

/* A segment from the peer's port 40000 to port 80, window wnd, DF; on a SYN,
 * the options mss 1460, sackOK, nop, nop. */
static size_t build_tcp_wnd(uint8_t *buf, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
			    bool syn_options, const void *payload, size_t plen)
{
	struct tcp_seg g = {
		.sport = FUZZ_PEER_PORT, .dport = 80, .seq = seq, .ack = ack, .flags = flags, .wnd = wnd,
	};
	uint8_t opts[8];
	size_t olen = 0;

	if (syn_options) {
		olen += tcp_opt_put_mss(opts, 1460);
		olen += tcp_opt_put_sack_perm(opts + olen);
		opts[olen++] = TCP_OPT_NOP;
		opts[olen++] = TCP_OPT_NOP;
	}
	return build_tcp_seg(buf, 0x4000, &g, opts, olen, payload, plen);
}

static size_t build_tcp(uint8_t *buf, uint32_t seq, uint32_t ack, uint8_t flags, bool syn_options,
			const void *payload, size_t plen)
{
	return build_tcp_wnd(buf, seq, ack, flags, 64240, syn_options, payload, plen);
}

/* The sequence number of the SYN-ACK the stack just sent, or 0 when the last
 * frame is not one (a SYN-ACK fits whole in last_tx). */
static uint32_t synack_seq(const struct fuzz_state *f)
{
	struct eth_hdr e;
	struct ip4_hdr ih;
	struct tcp_seg g;

	if (eth_hdr_parse(f->last_tx, f->last_tx_len, &e) != WIRE_OK || e.type != ETH_TYPE_IP4 ||
	    ip4_hdr_parse(f->last_tx + ETH_HLEN, f->last_tx_len - ETH_HLEN, &ih) != WIRE_OK ||
	    ih.proto != IP_PROTO_TCP ||
	    tcp_seg_parse(ih.raw + ih.ihl, (size_t)ih.total_len - ih.ihl, ih.src, ih.dst, &g) != WIRE_OK)
		return 0;
	if ((g.flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK))
		return 0;
	return g.seq;
}

static void fuzz_setup(struct fuzz_state *f)
{
	struct stack_config cfg;
	struct stack_link link;
	struct ip4_endpoint udp_ep = { 0, 7 };
	struct ip4_endpoint tcp_ep = { 0, 80 };
	struct ip4_endpoint peer_ep = { FUZZ_PEER_IP, 80 };
	uint8_t frame[128];
	uint32_t isn;
	int err;

	memset(f, 0, sizeof(*f));
	config_defaults(&cfg);
	memset(cfg.secret, 0x5a, sizeof(cfg.secret));
	/* A small TCP budget (the minimum the environment allows is 1M; here
	 * 64 KiB), so that its refusals are on the paths the inputs reach. */
	cfg.tcp_mem = 64 * 1024;
	memset(&link, 0, sizeof(link));
	strcpy(link.name, "fuzz0");
	link.mtu = 1500;
	link.rx_csum = 0;       /* no checksum verified: inputs reach past the checks */
	link.output = fuzz_output;
	link.ctx = f;
	f->now = FUZZ_T0;

	f->s = stack_create(&cfg, &link, f->now);
	if (!f->s)
		abort();
	arp_insert(f->s, FUZZ_PEER_IP, fuzz_peer_mac, f->now);

	f->udp = udp_open(f->s);
	if (f->udp && udp_bind(f->udp, &udp_ep, 0) < 0) {
		udp_close(f->udp);
		f->udp = NULL;
	}
	f->listener = tcp_open(f->s);
	if (f->listener && (tcp_bind(f->listener, &tcp_ep, 0) < 0 || tcp_listen(f->listener, 8) < 0)) {
		tcp_close(f->listener, f->now);
		f->listener = NULL;
	}

	/* The handshake of the established connection. */
	if (f->listener) {
		stack_input(f->s, frame, build_tcp(frame, FUZZ_PEER_ISN, 0, 0x02, true, NULL, 0), 0, f->now);
		isn = synack_seq(f);
		f->isn = isn;
		if (isn) {
			f->now += 1000;
			stack_input(f->s, frame, build_tcp(frame, FUZZ_PEER_ISN + 1, isn + 1, 0x10, false, NULL, 0),
				    0, f->now);
			f->established = tcp_accept(f->listener, &err);
		}
	}

	f->active = tcp_open(f->s);
	if (f->active && tcp_connect(f->active, &peer_ep, f->now) != -EINPROGRESS) {
		tcp_close(f->active, f->now);
		f->active = NULL;
	}
}

/* Takes what arrived on the sockets and answers a little, so that the
 * receive paths' hand-over to the application runs and queues stay small. */
static void fuzz_drain(struct fuzz_state *f)
{
	uint8_t buf[2048];
	struct ip4_endpoint src;
	size_t full;
	struct tcp_conn *c;
	int err;

	if (f->udp)
		while (udp_recvfrom(f->udp, buf, sizeof(buf), &src, &full, 0) >= 0)
			;
	if (f->established && tcp_recv(f->established, buf, sizeof(buf), 0, f->now) > 0)
		(void)tcp_send(f->established, "pong", 4, f->now);
	if (f->listener)
		while ((c = tcp_accept(f->listener, &err)) != NULL) {
			(void)tcp_recv(c, buf, sizeof(buf), 0, f->now);
			tcp_close(c, f->now);
		}
}

/* Runs the timers in order until none is left, or for a bounded number of rounds. */
static void fuzz_run_timers(struct fuzz_state *f, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		uint64_t at = stack_poll_at(f->s);

		if (at == STACK_NEVER)
			return;
		if (at > f->now)
			f->now = at;
		stack_poll(f->s, f->now);
		fuzz_drain(f);
	}
}

static void fuzz_teardown(struct fuzz_state *f)
{
	if (f->established)
		tcp_close(f->established, f->now);
	if (f->active)
		tcp_close(f->active, f->now);
	if (f->listener)
		tcp_close(f->listener, f->now);
	if (f->udp)
		udp_close(f->udp);
	f->established = f->active = f->listener = NULL;
	f->udp = NULL;
	/* Let closing connections finish (FIN retransmissions, TIME_WAIT). */
	fuzz_run_timers(f, FUZZ_MAX_TIMER_ROUNDS);
	stack_destroy(f->s);
	if (pkb_live() != 0) {
		fprintf(stderr, "fuzz_frame: %ld packet buffers leaked\n", pkb_live());
		abort();
	}
}

static void write_seed(const char *dir, const char *name, const uint8_t *frame, size_t len)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (!out || fwrite(frame, 1, len, out) != len || fclose(out) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- the seed corpus: valid frames from the peer that fit fuzz_setup's state ---- */

/* A UDP datagram from src to dst at p (checksum filled); returns its length. */
static size_t put_udp(uint8_t *p, uint16_t sport, uint16_t dport, const void *data, size_t n, uint32_t src,
		      uint32_t dst)
{
	struct udp_hdr u = { .sport = sport, .dport = dport, .len = (uint16_t)(UDP_HLEN + n) };

	udp_hdr_emit(p, &u);
	memcpy(p + UDP_HLEN, data, n);
	udp_fill_csum(p, UDP_HLEN + n, src, dst);
	return UDP_HLEN + n;
}

/* An ICMP message at p (checksum filled); returns its length. */
static size_t put_icmp(uint8_t *p, uint8_t type, uint8_t code, uint32_t rest, const void *body, size_t n)
{
	struct icmp4_hdr m = { .type = type, .code = code, .rest = rest };

	icmp4_hdr_emit(p, &m);
	memcpy(p + ICMP_HLEN, body, n);
	icmp4_fill_csum(p, ICMP_HLEN + n);
	return ICMP_HLEN + n;
}

static size_t put_arp(uint8_t *buf, const uint8_t eth_dst[6], uint16_t op, const uint8_t tha[6])
{
	struct eth_hdr e = { .type = ETH_TYPE_ARP };
	struct arp_pkt a = {
		.htype = ARP_HTYPE_ETHER, .ptype = ETH_TYPE_IP4, .hlen = 6, .plen = 4, .op = op,
		.spa = FUZZ_PEER_IP, .tpa = FUZZ_STACK_IP,
	};

	memcpy(e.dst, eth_dst, 6);
	memcpy(e.src, fuzz_peer_mac, 6);
	memcpy(a.sha, fuzz_peer_mac, 6);
	memcpy(a.tha, tha, 6);
	eth_hdr_emit(buf, &e);
	arp_pkt_emit(buf + ETH_HLEN, &a);
	return ETH_HLEN + ARP_PKT_LEN;
}

/* The seeds that need no state: ARP, ICMP, UDP, TCP to the listener and a
 * stray SYN-ACK, a UDP datagram in three fragments, IPv4 options. */
static void write_stateless_seeds(const char *dir)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero[6];
	/* Record route with room for one address, then a NOP. */
	static const uint8_t ip_opts[] = { 7, 7, 4, 0, 0, 0, 0, 1 };
	/* What Linux offers on a SYN: MSS, SACK permitted, timestamps, window scale. */
	const struct tcp_seg linux_syn = {
		.sport = FUZZ_PEER_PORT, .dport = 80, .seq = 1000, .flags = TCP_SYN, .wnd = 64240,
		.has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true, .tsval = 12345,
		.has_ws = true, .ws = 7,
	};
	static uint8_t f[3200], body[3000];
	uint8_t *l4 = f + ETH_HLEN + IP4_HLEN;
	struct tcp_seg g;
	size_t n;

	write_seed(dir, "arp_request", f, put_arp(f, bcast, ARP_OP_REQUEST, zero));
	write_seed(dir, "arp_reply", f, put_arp(f, fuzz_stack_mac, ARP_OP_REPLY, fuzz_stack_mac));

	for (n = 0; n < 56; n++)
		body[n] = (uint8_t)n;
	n = put_icmp(l4, ICMP_ECHO_REQUEST, 0, 0x1234u << 16 | 1, body, 56);
	write_seed(dir, "icmp_echo", f, put_eth_ip4(f, IP_PROTO_ICMP, 1, 0, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, n));
	/* Port unreachable quoting a datagram we sent: its header and 8 bytes. */
	{
		struct ip4_hdr q = {
			.ihl = IP4_HLEN, .total_len = IP4_HLEN + UDP_HLEN + 1, .id = 1, .ttl = 64,
			.proto = IP_PROTO_UDP, .src = FUZZ_STACK_IP, .dst = FUZZ_PEER_IP,
		};

		put_udp(body + IP4_HLEN, 7, 9999, "x", 1, FUZZ_STACK_IP, FUZZ_PEER_IP);
		ip4_hdr_emit(body, &q);
		n = put_icmp(l4, ICMP_DEST_UNREACH, ICMP_UNREACH_PORT, 0, body, IP4_HLEN + 8);
		write_seed(dir, "icmp_port_unreach", f,
			   put_eth_ip4(f, IP_PROTO_ICMP, 1, 0, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, n));
	}
	n = put_udp(l4, 40000, 7, "hello fuzz", 10, FUZZ_PEER_IP, FUZZ_STACK_IP);
	write_seed(dir, "udp_port7", f, put_eth_ip4(f, IP_PROTO_UDP, 1, 0, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, n));
	n = put_udp(l4, 40000, 9, "nobody home", 11, FUZZ_PEER_IP, FUZZ_STACK_IP);
	write_seed(dir, "udp_closed_port", f,
		   put_eth_ip4(f, IP_PROTO_UDP, 1, 0, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, n));
	/* RFC 768: a zero checksum means none was computed. */
	udp_hdr_emit(l4, &(struct udp_hdr){ .sport = 40000, .dport = 7, .len = UDP_HLEN + 4 });
	memcpy(l4 + UDP_HLEN, "zero", 4);
	write_seed(dir, "udp_zero_csum", f,
		   put_eth_ip4(f, IP_PROTO_UDP, 1, 0, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, UDP_HLEN + 4));

	write_seed(dir, "tcp_syn_port80", f, build_tcp_seg(f, 0, &linux_syn, NULL, 0, NULL, 0));
	g = (struct tcp_seg){ .sport = FUZZ_PEER_PORT, .dport = 80, .seq = 1001, .ack = 1, .wnd = 64240,
			      .flags = TCP_ACK | TCP_PSH };
	write_seed(dir, "tcp_ack_data", f, build_tcp_seg(f, 0, &g, NULL, 0, "GET / HTTP/1.0\r\n\r\n", 18));
	g.seq = 1019;
	g.flags = TCP_ACK | TCP_FIN;
	write_seed(dir, "tcp_fin", f, build_tcp_seg(f, 0, &g, NULL, 0, NULL, 0));
	g.seq = 1001;
	g.ack = 0;
	g.flags = TCP_RST;
	write_seed(dir, "tcp_rst", f, build_tcp_seg(f, 0, &g, NULL, 0, NULL, 0));
	g = linux_syn;
	g.sport = 80;
	g.dport = 49152;
	g.seq = 5000;
	g.ack = 1;
	g.flags = TCP_SYN | TCP_ACK;
	write_seed(dir, "tcp_synack", f, build_tcp_seg(f, 0, &g, NULL, 0, NULL, 0));

	/* A UDP datagram of 3000 bytes in three fragments (offsets in 8-byte units). */
	for (n = 0; n < 2992; n++)
		f[n] = (uint8_t)n;
	put_udp(body, 40001, 7, f, 2992, FUZZ_PEER_IP, FUZZ_STACK_IP);
	memcpy(l4, body, 1480);
	write_seed(dir, "ip_frag_first", f,
		   put_eth_ip4(f, IP_PROTO_UDP, 77, 0x2000, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, 1480));
	memcpy(l4, body + 1480, 1480);
	write_seed(dir, "ip_frag_middle", f,
		   put_eth_ip4(f, IP_PROTO_UDP, 77, 0x2000 | 185, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, 1480));
	memcpy(l4, body + 2960, 40);
	write_seed(dir, "ip_frag_last", f,
		   put_eth_ip4(f, IP_PROTO_UDP, 77, 370, NULL, 0, FUZZ_PEER_IP, FUZZ_STACK_IP, 40));

	n = put_icmp(l4 + sizeof(ip_opts), ICMP_ECHO_REQUEST, 0, 7u << 16 | 7, "opts", 4);
	write_seed(dir, "ip_options", f, put_eth_ip4(f, IP_PROTO_ICMP, 1, 0, ip_opts, sizeof(ip_opts), FUZZ_PEER_IP,
						     FUZZ_STACK_IP, n));
}

/*
 * FUZZ_FRAME_SEEDS=DIR build/fuzz/fuzz_frame: writes the seed corpus into DIR
 * (tests/fuzz/corpus: the files named for what they are), and exits. Besides
 * the stateless seeds, segments for the established connection, whose
 * numbers depend on the stack's ISN.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_FRAME_SEEDS");
	struct fuzz_state f;
	uint8_t frame[256];
	uint32_t seq = FUZZ_PEER_ISN + 1, ack;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	log_level = LOG_NONE;
	write_stateless_seeds(dir);
	fuzz_setup(&f);
	if (!f.established) {
		fprintf(stderr, "fuzz_frame: the handshake did not complete\n");
		exit(1);
	}
	ack = f.isn + 1;
	write_seed(dir, "est_data", frame, build_tcp(frame, seq, ack, 0x18, false, "ping ping ping", 14));
	write_seed(dir, "est_data_ooo", frame, build_tcp(frame, seq + 1000, ack, 0x18, false, "later", 5));
	write_seed(dir, "est_fin", frame, build_tcp(frame, seq, ack, 0x11, false, NULL, 0));
	write_seed(dir, "est_rst", frame, build_tcp(frame, seq, 0, 0x04, false, NULL, 0));
	write_seed(dir, "est_syn_again", frame, build_tcp(frame, seq, 0, 0x02, true, NULL, 0));
	/* The same ACK announcing a zero window (the persist timer's path). */
	write_seed(dir, "est_zero_window", frame, build_tcp_wnd(frame, seq, ack, 0x10, 0, false, NULL, 0));
	fuzz_teardown(&f);
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[16384];
	struct fuzz_state f;

	log_level = LOG_NONE;
	wire_print_frame(text, sizeof(text), "in", data, size);

	fuzz_setup(&f);
	f.now += 1000;
	/* Odd-sized inputs arrive as part of a receive batch (ACKs deferred to
	 * the timer pass right after, as the runner does), even-sized alone. */
	if (size & 1)
		stack_rx_batch_begin(f.s, stack_reads(f.s));
	stack_input(f.s, data, size, 0, f.now);
	if (size & 1)
		stack_rx_batch_end(f.s);
	stack_poll(f.s, f.now);
	fuzz_drain(&f);
	/* Some timers with the sockets open, then the rest after closing them. */
	fuzz_run_timers(&f, 8);
	fuzz_teardown(&f);
	return 0;
}
