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
 * is also decoded by the trace formatter, which reads frames as untrusted as
 * the stack does. Everything is deterministic: a fixed clock and secret.
 *
 * The link's capabilities say that no checksum is to be verified (rx_csum
 * 0), so that mutated frames are not all dropped at the first check. The seed
 * corpus (tests/fuzz/corpus, written by make_corpus.py) holds valid frames
 * that fit this state: ARP, ICMP echo, UDP to port 7 and to a closed port,
 * TCP to port 80 and to the established connection, IPv4 fragments.
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
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/dev/trace.h"
#include "stack/core/udp.h"
#include "stack/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PEER_IP  IP4(192, 0, 2, 1)
#define FUZZ_STACK_IP IP4(192, 0, 2, 2)
#define FUZZ_PEER_PORT 40000
#define FUZZ_PEER_ISN 1000u
#define FUZZ_T0 1000000ull
#define FUZZ_MAX_TIMER_ROUNDS 256

static const uint8_t fuzz_peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };
static const uint8_t fuzz_stack_mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

struct fuzz_state {
	struct stack *s;
	uint64_t now;
	uint8_t last_tx[128];     /* the start of the last frame sent */
	size_t last_tx_len;
	struct udp_sock *udp;
	struct tcp_conn *listener, *established, *active;
	uint32_t isn;             /* the stack's ISN on the established connection */
};

static volatile uint8_t fuzz_sink;

/* The link's output: sent frames are read in full (so sanitizers see a
 * bad length), and the start of the last one is kept for the handshake. */
static int fuzz_output(void *ctx, struct pkb *pkb, uint64_t now)
{
	struct fuzz_state *f = ctx;
	uint8_t x = 0;

	(void)now;
	for (size_t i = 0; i < pkb->len; i++)
		x ^= pkb->data[i];
	fuzz_sink = x;
	f->last_tx_len = pkb->len < sizeof(f->last_tx) ? pkb->len : sizeof(f->last_tx);
	memcpy(f->last_tx, pkb->data, f->last_tx_len);
	pkb_free(pkb);
	return 0;
}

/* A TCP segment from the peer's port 40000 to port 80, in IPv4 and Ethernet,
 * with correct checksums (this link checks none, but the frames are then
 * valid anywhere). Returns the frame length. */
static size_t build_tcp(uint8_t *buf, uint32_t seq, uint32_t ack, uint8_t flags, bool syn_options,
			const void *payload, size_t plen)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 1 }; /* mss 1460, sackOK, nop, nop */
	size_t optlen = syn_options ? sizeof(opts) : 0;
	size_t tcplen = 20 + optlen + plen;
	uint8_t *ip = buf + 14, *tcp = ip + 20;

	memcpy(buf, fuzz_stack_mac, 6);
	memcpy(buf + 6, fuzz_peer_mac, 6);
	wr16(buf + 12, 0x0800);

	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + tcplen));
	wr16(ip + 4, 1);
	wr16(ip + 6, 0x4000);   /* DF */
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, FUZZ_PEER_IP);
	wr32(ip + 16, FUZZ_STACK_IP);
	wr16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));

	memset(tcp, 0, tcplen);
	wr16(tcp, FUZZ_PEER_PORT);
	wr16(tcp + 2, 80);
	wr32(tcp + 4, seq);
	wr32(tcp + 8, ack);
	tcp[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	tcp[13] = flags;
	wr16(tcp + 14, 64240);
	memcpy(tcp + 20, opts, optlen);
	if (plen)
		memcpy(tcp + 20 + optlen, payload, plen);
	wr16(tcp + 16, csum_fold(csum_partial(tcp, tcplen,
					      csum_pseudo4(FUZZ_PEER_IP, FUZZ_STACK_IP, 6, (uint16_t)tcplen))));
	return 14 + 20 + tcplen;
}

/* The sequence number of the SYN-ACK the stack just sent, or 0 when the last
 * frame is not one. */
static uint32_t synack_seq(const struct fuzz_state *f)
{
	const uint8_t *p = f->last_tx;
	size_t ihl;

	if (f->last_tx_len < 14 + 20 || rd16(p + 12) != 0x0800)
		return 0;
	ihl = (size_t)(p[14] & 15) * 4;
	if (p[23] != 6 || f->last_tx_len < 14 + ihl + 20)
		return 0;
	p += 14 + ihl;
	if ((p[13] & 0x12) != 0x12)
		return 0;
	return rd32(p + 4);
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

/*
 * FUZZ_FRAME_SEEDS=DIR build/fuzz/fuzz_frame: writes the seeds that need the
 * harness's own state (segments for the established connection, whose
 * numbers depend on the stack's ISN) into DIR, and exits. make_corpus.py
 * writes the others.
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
	build_tcp(frame, seq, ack, 0x10, false, NULL, 0);
	wr16(frame + 14 + 20 + 14, 0);
	wr16(frame + 14 + 20 + 16, 0);
	wr16(frame + 14 + 20 + 16, csum_fold(csum_partial(frame + 14 + 20, 20,
							  csum_pseudo4(FUZZ_PEER_IP, FUZZ_STACK_IP, 6, 20))));
	write_seed(dir, "est_zero_window", frame, 14 + 20 + 20);
	fuzz_teardown(&f);
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[16384];
	struct fuzz_state f;

	log_level = LOG_NONE;
	trace_format(text, sizeof(text), FRAME_IN, data, size);

	fuzz_setup(&f);
	f.now += 1000;
	/* Odd-sized inputs arrive as part of a receive batch (ACKs deferred to
	 * the timer pass right after, as the runner does), even-sized alone. */
	if (size & 1)
		stack_rx_batch_begin(f.s);
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
