/*
 * libFuzzer target: a framed UDP relay's messages (stack/host/relay.c), what
 * another process writes into its end of an unconnected UDP socket's pair:
 * a joiner's socket (PSTACK_STACK), a fork child's copy, a raw sendmsg on
 * an exposed socket. Each message is a struct relay_dgram_hdr and a
 * datagram for the address it names, or (RELAY_DGRAM_REQ) a struct
 * relay_dgram_req that sets an option, a membership or a source filter of
 * the stack's socket, with the write end of a pipe for the answer
 * (relay.h). The bytes are the other process's: anything may come.
 *
 * Each input gets a fresh stack on an in-memory link, a relay set, a UDP
 * socket bound to port 5353 and a framed relay on a SOCK_SEQPACKET pair,
 * served as the stack thread serves it (relay_collect, poll, relay_io, the
 * stack's timers). The input is a list of messages:
 *
 *   byte 0..1  the message's length (little-endian, cut to what is left)
 *   byte 2     1: a pipe's write end comes with it (SCM_RIGHTS)
 *   then       the message's bytes
 *
 * What must hold (besides no crash, no undefined behaviour, no leak under
 * ASan+UBSan):
 *   - each request that came whole with its pipe gets one answer on it,
 *     then end of file: an int32_t, 0 or -errno (1..4095); after a
 *     RELAY_REQ_GET_MSFILTER's that is not negative, a struct
 *     relay_dgram_req with its op and group and n = min(answer, 10);
 *   - a datagram from the link to port 5353 afterwards still reaches the
 *     program's end, framed: its source, RELAY_DGRAM_META, the payload;
 *   - once the program's end is closed and the relays have run, the
 *     process has the fds it had, and no packet buffer is left.
 *
 *   build/fuzz/fuzz_relay -max_total_time=60 build/fuzz/corpus-fuzz_relay tests/fuzz/corpus-fuzz_relay
 *
 * The seeds (FUZZ_RELAY_SEEDS=DIR build/fuzz/fuzz_relay writes them) are
 * what shim/sock.c sends (framed_send, framed_req): datagrams to the peer
 * (one, and two with RELAY_DGRAM_MORE), a join and a leave, options
 * (TTL, multicast TTL and loop, UDP_SEGMENT, UDP_CORK, SO_RCVBUF), a
 * source filter set and read back, a source blocked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/core/arp.h"
#include "stack/core/config.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "tests/fuzz/fuzz_common.h"
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/core/udp.h"
#include "stack/host/relay.h"
#include "stack/wire/eth.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "stack/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PEER_IP  IP4(192, 0, 2, 1)
#define FUZZ_STACK_IP IP4(192, 0, 2, 2)
#define FUZZ_PORT 5353
#define FUZZ_MSG_MAX 32
#define FUZZ_ROUNDS 8

struct srv {
	struct stack *s;
	struct relay_set set;
	uint64_t now;
};

static void srv_round(struct srv *v)
{
	struct pollfd pfd[16];
	bool busy = false;
	unsigned n = 0;
	int rc;

	if (relay_pollfds(&v->set) > 16)
		abort();
	n = relay_collect(&v->set, pfd, &busy, v->now);
	rc = n ? poll(pfd, n, 0) : 0;
	relay_io(&v->set, pfd, rc > 0 ? n : 0);
	v->now += 1000;
	stack_poll(v->s, v->now);
}

/* A message with fd (-1: none) on the program's end; false when it did not go. */
static bool send_msg(int c, const uint8_t *p, size_t n, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)p, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.buf;
		m.msg_controllen = sizeof(cb.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	/* The pair's buffer may be full (the relay reads a message per
	 * round): what does not fit is not sent, as a program's
	 * non-blocking send would fail. */
	return sendmsg(c, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n;
}

/* The answer on a request's pipe (read end rd), checked (above). */
static void check_answer(int rd, const uint8_t *msg, size_t n)
{
	struct relay_dgram_hdr h;
	struct relay_dgram_req q, out;
	uint8_t buf[sizeof(int32_t) + sizeof(out) + 1];
	int32_t res;
	ssize_t r;

	if (n != sizeof(h) + sizeof(q))
		return;         /* not a request: the pipe is closed unanswered */
	memcpy(&h, msg, sizeof(h));
	if (!(h.flags & RELAY_DGRAM_REQ))
		return;
	memcpy(&q, msg + sizeof(h), sizeof(q));
	r = read(rd, buf, sizeof(buf));
	if (r < (ssize_t)sizeof(res))
		abort();        /* a request with its pipe is always answered */
	memcpy(&res, buf, sizeof(res));
	if (res > 0 ? !(q.op == RELAY_REQ_GET_MSFILTER) : res < -4095)
		abort();
	if (q.op == RELAY_REQ_GET_MSFILTER && res >= 0) {
		if (r != (ssize_t)(sizeof(res) + sizeof(out)))
			abort();
		memcpy(&out, buf + sizeof(res), sizeof(out));
		if (out.op != q.op || out.group != q.group ||
		    out.n != (res < RELAY_REQ_SRC_MAX ? res : RELAY_REQ_SRC_MAX))
			abort();
	} else if (r != (ssize_t)sizeof(res)) {
		abort();
	}
	if (read(rd, buf, 1) != 0)
		abort();        /* then the pipe is closed */
}

/* A datagram from the peer to port 5353 arrives framed at the program's end. */
static void check_delivery(struct srv *v, int c)
{
	static const char text[] = "from the peer";
	uint8_t f[128], got[256];
	struct eth_hdr e = { .type = ETH_TYPE_IP4 };
	struct ip4_hdr ih = {
		.ihl = IP4_HLEN, .total_len = IP4_HLEN + UDP_HLEN + sizeof(text), .id = 9, .ttl = 64,
		.proto = IP_PROTO_UDP, .src = FUZZ_PEER_IP, .dst = FUZZ_STACK_IP,
	};
	struct udp_hdr u = { .sport = 40000, .dport = FUZZ_PORT, .len = UDP_HLEN + sizeof(text) };
	struct relay_dgram_hdr h;
	ssize_t r = -1;

	/* What the fuzzed messages left for the program is read first. */
	while (recv(c, got, sizeof(got), MSG_DONTWAIT) > 0)
		;
	memcpy(e.dst, fuzz_stack_mac, 6);
	memcpy(e.src, fuzz_peer_mac, 6);
	eth_hdr_emit(f, &e);
	memcpy(f + ETH_HLEN + IP4_HLEN + UDP_HLEN, text, sizeof(text));
	udp_hdr_emit(f + ETH_HLEN + IP4_HLEN, &u);
	udp_fill_csum(f + ETH_HLEN + IP4_HLEN, UDP_HLEN + sizeof(text), FUZZ_PEER_IP, FUZZ_STACK_IP);
	ip4_hdr_emit(f + ETH_HLEN, &ih);
	stack_input(v->s, f, ETH_HLEN + ih.total_len, 0, v->now);
	for (int i = 0; i < FUZZ_ROUNDS && r < 0; i++) {
		srv_round(v);
		r = recv(c, got, sizeof(got), MSG_DONTWAIT);
	}
	/* The socket's options as the messages left them may refuse it: a
	 * source filter, a receive buffer of nothing. Only what comes is
	 * checked. */
	if (r < 0)
		return;
	if (r != (ssize_t)(sizeof(h) + sizeof(text)))
		abort();
	memcpy(&h, got, sizeof(h));
	if (h.addr != FUZZ_PEER_IP || h.port != 40000 || !(h.flags & RELAY_DGRAM_META) || h.dst != FUZZ_STACK_IP ||
	    memcmp(got + sizeof(h), text, sizeof(text)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stack_config cfg;
	struct stack_link link;
	struct ip4_endpoint ep = { 0, FUZZ_PORT };
	struct srv v;
	struct udp_sock *u;
	int pair[2], pipes[FUZZ_MSG_MAX][2];
	const uint8_t *msgs[FUZZ_MSG_MAX];
	size_t lens[FUZZ_MSG_MAX], pos = 0;
	bool sent[FUZZ_MSG_MAX];
	unsigned nmsg = 0, fds_before;

	log_level = LOG_NONE;
	fds_before = fuzz_count_fds();
	memset(&v, 0, sizeof(v));
	config_defaults(&cfg);
	memset(cfg.secret, 0x5a, sizeof(cfg.secret));
	memset(&link, 0, sizeof(link));
	strcpy(link.name, "fuzz0");
	link.mtu = 1500;
	link.output = fuzz_output_drop;
	v.now = 1000000;
	v.s = stack_create(&cfg, &link, v.now);
	if (!v.s)
		abort();
	arp_insert(v.s, FUZZ_PEER_IP, fuzz_peer_mac, v.now);
	relay_set_init(&v.set, fuzz_nothing, NULL, NULL);
	u = udp_open(v.s);
	if (!u || udp_bind(u, &ep, 0) != 0)
		abort();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
		abort();
	if (fcntl(pair[0], F_SETFL, O_NONBLOCK) != 0 || !relay_open(&v.set, NULL, u, pair[0], false, NULL, NULL))
		abort();

	/* The messages, each sent and served before the next. */
	while (pos + 3 <= size && nmsg < FUZZ_MSG_MAX) {
		size_t n = (size_t)(data[pos] | data[pos + 1] << 8);
		bool with_pipe = data[pos + 2] & 1;

		pos += 3;
		if (n > size - pos)
			n = size - pos;
		msgs[nmsg] = data + pos;
		lens[nmsg] = n;
		pipes[nmsg][0] = pipes[nmsg][1] = -1;
		if (with_pipe && pipe2(pipes[nmsg], O_CLOEXEC) != 0)
			abort();
		sent[nmsg] = send_msg(pair[1], data + pos, n, pipes[nmsg][1]);
		if (pipes[nmsg][1] >= 0) {
			close(pipes[nmsg][1]);
			pipes[nmsg][1] = -1;
		}
		pos += n;
		nmsg++;
		for (int i = 0; i < 3; i++)
			srv_round(&v);
	}
	for (int i = 0; i < FUZZ_ROUNDS; i++)
		srv_round(&v);
	for (unsigned i = 0; i < nmsg; i++) {
		if (pipes[i][0] < 0)
			continue;
		if (sent[i])
			check_answer(pipes[i][0], msgs[i], lens[i]);
		close(pipes[i][0]);
	}
	check_delivery(&v, pair[1]);

	/* The program's end closed: the relay closes the socket. */
	close(pair[1]);
	for (int i = 0; i < FUZZ_ROUNDS && relay_count(&v.set); i++)
		srv_round(&v);
	if (relay_count(&v.set) != 0)
		abort();
	relay_set_destroy(&v.set);
	stack_destroy(v.s);
	if (pkb_live() != 0) {
		fprintf(stderr, "fuzz_relay: %ld packet buffers leaked\n", pkb_live());
		abort();
	}
	if (fuzz_count_fds() != fds_before) {
		fprintf(stderr, "fuzz_relay: %u fds before, %u after\n", fds_before, fuzz_count_fds());
		abort();
	}
	return 0;
}

/* ---- the seeds ---- */

struct seed {
	uint8_t buf[4096];
	size_t len;
};

static void seed_msg(struct seed *s, const void *p, size_t n, bool with_pipe)
{
	s->buf[s->len++] = (uint8_t)n;
	s->buf[s->len++] = (uint8_t)(n >> 8);
	s->buf[s->len++] = with_pipe;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void seed_dgram(struct seed *s, uint32_t addr, uint16_t port, uint16_t flags, const char *text)
{
	uint8_t m[256];
	struct relay_dgram_hdr h = { .addr = addr, .port = port, .flags = flags };

	memcpy(m, &h, sizeof(h));
	memcpy(m + sizeof(h), text, strlen(text));
	seed_msg(s, m, sizeof(h) + strlen(text), false);
}

static void seed_req(struct seed *s, const struct relay_dgram_req *q)
{
	uint8_t m[sizeof(struct relay_dgram_hdr) + sizeof(*q)];
	struct relay_dgram_hdr h = { .flags = RELAY_DGRAM_REQ };

	memcpy(m, &h, sizeof(h));
	memcpy(m + sizeof(h), q, sizeof(*q));
	seed_msg(s, m, sizeof(m), true);
}

static void seed_opt(struct seed *s, int32_t opt, int32_t value)
{
	seed_req(s, &(struct relay_dgram_req){ .op = RELAY_REQ_OPT, .opt = opt, .value = value });
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (!out || fwrite(s->buf, 1, s->len, out) != s->len || fclose(out) != 0) {
		perror(path);
		exit(1);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_RELAY_SEEDS");
	const uint32_t group = IP4(239, 1, 2, 3);
	struct seed s;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	memset(&s, 0, sizeof(s));
	seed_dgram(&s, FUZZ_PEER_IP, 53, 0, "a query");
	write_seed(dir, "dgram", &s);
	memset(&s, 0, sizeof(s));
	seed_dgram(&s, FUZZ_PEER_IP, 53, RELAY_DGRAM_MORE, "first half, ");
	seed_dgram(&s, FUZZ_PEER_IP, 53, 0, "second half");
	write_seed(dir, "dgram_more", &s);
	memset(&s, 0, sizeof(s));
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_JOIN, .group = group });
	seed_dgram(&s, group, 5353, 0, "to the group");
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_LEAVE, .group = group });
	write_seed(dir, "join_leave", &s);
	memset(&s, 0, sizeof(s));
	seed_opt(&s, RELAY_UDP_TTL, 5);
	seed_opt(&s, RELAY_UDP_MC_TTL, 8);
	seed_opt(&s, RELAY_UDP_MC_LOOP, 0);
	seed_opt(&s, RELAY_UDP_RCVBUF, 4096);
	seed_dgram(&s, FUZZ_PEER_IP, 9, 0, "with options");
	write_seed(dir, "options", &s);
	memset(&s, 0, sizeof(s));
	seed_opt(&s, RELAY_UDP_GSO, 100);
	seed_opt(&s, RELAY_UDP_CORK, 1);
	seed_dgram(&s, FUZZ_PEER_IP, 9, 0, "corked and then cut into segments of a hundred bytes by UDP_SEGMENT");
	seed_opt(&s, RELAY_UDP_CORK, 0);
	write_seed(dir, "gso_cork", &s);
	memset(&s, 0, sizeof(s));
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_JOIN, .group = group });
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_MSFILTER, .group = group, .include = 1, .n = 2,
						.src = { FUZZ_PEER_IP, IP4(192, 0, 2, 7) } });
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_GET_MSFILTER, .group = group });
	write_seed(dir, "msfilter", &s);
	memset(&s, 0, sizeof(s));
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_JOIN, .group = group });
	seed_req(&s, &(struct relay_dgram_req){ .op = RELAY_REQ_SOURCE, .group = group, .src = { FUZZ_PEER_IP },
						.include = 0, .add = 1 });
	write_seed(dir, "source_block", &s);
	exit(0);
}
