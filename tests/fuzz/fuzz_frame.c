/*
 * libFuzzer target: every input is one Ethernet frame received by the stack.
 *
 * One stack lives for the whole run, on a tiny in-memory device that throws
 * away what the stack sends, with a fake clock. It has a UDP socket bound to
 * port 7, a TCP listener on port 80 and a TCP connection being opened to
 * 192.0.2.1:80, so that frames built from the seed corpus reach deep into
 * UDP and TCP. The time moves a little with every input and a lot now and
 * then (the first input byte decides), and the timers run, so reassembly
 * timeouts, ARP aging and TCP retransmissions run too. Every input is also
 * fed to the trace decoder, which reads frames as untrusted as the stack does.
 *
 * Built by `make fuzz` with -DPSTACK_FUZZ, which skips checksum verification
 * so that mutated frames are not all dropped at the first check.
 *
 *   build/fuzz/fuzz_frame -max_total_time=60 build/fuzz/corpus-fuzz_frame tests/fuzz/corpus
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/arp.h"
#include "stack/config.h"
#include "stack/log.h"
#include "stack/netdev.h"
#include "stack/sock.h"
#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/trace.h"
#include "stack/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PEER_IP 0xc0000201u /* 192.0.2.1 */

static const uint8_t fuzz_peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x02, 0x01 };

static struct stack *fuzz_stack;
static struct netdev fuzz_dev;
static struct udp_sock *fuzz_udp;
static struct tcp_conn *fuzz_listener;
static uint64_t fuzz_now = 1000000;
static unsigned long fuzz_inputs;
static volatile uint8_t fuzz_sink;

/* The in-memory device: sent frames are read (so sanitizers see any bad
 * length) and dropped; nothing is ever waiting to be received. */
static int memdev_transmit(struct netdev *dev, const uint8_t *frame, size_t len)
{
	uint8_t x = 0;

	(void)dev;
	for (size_t i = 0; i < len; i++)
		x ^= frame[i];
	fuzz_sink = x;
	return 0;
}

static long memdev_receive(struct netdev *dev, uint8_t *buf, size_t cap)
{
	(void)dev;
	(void)buf;
	(void)cap;
	return 0;
}

static int memdev_pollfd(struct netdev *dev)
{
	(void)dev;
	return -1;
}

static void memdev_destroy(struct netdev *dev)
{
	(void)dev;
}

static const struct netdev_ops memdev_ops = {
	.transmit = memdev_transmit,
	.receive = memdev_receive,
	.pollfd = memdev_pollfd,
	.destroy = memdev_destroy,
};

static void fuzz_setup(void)
{
	struct stack_config cfg;
	struct ip4_endpoint udp_ep = { 0, 7 };
	struct ip4_endpoint tcp_ep = { 0, 80 };
	struct ip4_endpoint peer_ep = { FUZZ_PEER_IP, 80 };
	struct tcp_conn *active;

	log_level = LOG_NONE;
	config_defaults(&cfg);
	memset(cfg.secret, 0x5a, sizeof(cfg.secret));
	fuzz_dev.ops = &memdev_ops;
	strcpy(fuzz_dev.name, "fuzz0");
	fuzz_dev.mtu = 1500;
	memcpy(fuzz_dev.hwaddr, cfg.mac, 6);

	fuzz_stack = stack_create(&cfg, &fuzz_dev, fuzz_now);
	if (!fuzz_stack)
		abort();
	arp_insert(fuzz_stack, FUZZ_PEER_IP, fuzz_peer_mac, fuzz_now);

	fuzz_udp = udp_open(fuzz_stack);
	if (fuzz_udp)
		udp_bind(fuzz_udp, &udp_ep, 0);
	fuzz_listener = tcp_open(fuzz_stack);
	if (fuzz_listener && (tcp_bind(fuzz_listener, &tcp_ep, 0) || tcp_listen(fuzz_listener, 8))) {
		tcp_close(fuzz_listener, fuzz_now);
		fuzz_listener = NULL;
	}
	/* An active open, so SYN-SENT sees answers: left to the engine at once
	 * (tcp_close), which finishes or abandons it on its own. */
	active = tcp_open(fuzz_stack);
	if (active) {
		tcp_connect(active, &peer_ep, fuzz_now);
		tcp_close(active, fuzz_now);
	}
}

/* Takes what arrived on the sockets, so that queues stay small and the
 * receive paths' hand-over to the application runs too. */
static void fuzz_drain(void)
{
	uint8_t buf[2048];
	struct ip4_endpoint src;
	size_t full;
	struct tcp_conn *c;
	int err;

	if (fuzz_udp)
		while (udp_recvfrom(fuzz_udp, buf, sizeof(buf), &src, &full, 0) >= 0)
			;
	if (!fuzz_listener)
		return;
	while ((c = tcp_accept(fuzz_listener, &err)) != NULL) {
		(void)tcp_recv(c, buf, sizeof(buf), 0, fuzz_now);
		(void)tcp_send(c, "fuzz", 4, fuzz_now);
		tcp_close(c, fuzz_now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[16384];

	if (!fuzz_stack)
		fuzz_setup();

	trace_format(text, sizeof(text), FRAME_IN, data, size);

	stack_input(fuzz_stack, data, size, fuzz_now);
	fuzz_drain();

	/* Time: 1 ms per input, and every 64th input a jump of up to 255 * 250 ms
	 * (past reassembly, ARP and TIME_WAIT timeouts when it is large). */
	fuzz_now += 1000;
	if ((++fuzz_inputs & 63) == 0)
		fuzz_now += (uint64_t)(size ? data[0] : 1) * 250000;
	if (stack_poll_at(fuzz_stack) <= fuzz_now)
		stack_poll(fuzz_stack, fuzz_now);
	return 0;
}
