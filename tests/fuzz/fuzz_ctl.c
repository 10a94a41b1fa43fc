/*
 * libFuzzer target: the control socket's requests (stack/host/ctl.c), which
 * `pstack stat`, a new stack asking for the TAP (the handover) and
 * PSTACK_STACK's joiners (shim/join.c) send. Any process of the stack's
 * user may connect and send anything; the stack thread serves it.
 *
 * Each input gets a fresh stack on an in-memory link, a relay set, and the
 * control socket of a named stack (ctl_open: PID.sock and NAME.NETNS.stack
 * in a private folder, the name's and the handover's abstract sockets in
 * this network namespace, named for this process), served the way the stack thread does
 * (ctl_collect, poll, ctl_io, the relays' rounds and the stack's timers on
 * a fake clock). One client connects and sends the input's request:
 *
 *   byte 0   flags: 1 the name's path (else PID.sock); 2 an fd comes with
 *            the first bytes (a socket pair's end, as a joiner's request
 *            brings); 4 that pair is SOCK_STREAM (else SOCK_SEQPACKET);
 *            8 the stack may hand over, 16 it will soon (ctl_host);
 *            32 the client shuts its side down after the request
 *   byte 1   where the request is cut in two sends (modulo its length + 1):
 *            the server reads the first part before the second is sent
 *   then     the request's bytes
 *
 * What must hold (besides no crash, no undefined behaviour, no leak under
 * ASan+UBSan):
 *   - the answer is one of the documented ones, whole: the snapshot (to a
 *     request that starts "stat\n"), "busy\n", "busy N\n" or a handover's
 *     header (to "handover\n"), one or two struct ctl_join_reply that pass
 *     ctl_join_reply_check (to a joiner's request that passes
 *     ctl_join_req_check and brought its fd; two only when the first says
 *     CTL_JOIN_PROGRESS), the error line (to anything else), or nothing
 *     (a client that never finished a request);
 *   - "stat\n", a valid joiner's request with its fd, and a line that is
 *     none of the requests always get their answer;
 *   - when everything is closed, the process has the fds it had before
 *     (the fd a request brought is closed or given to a relay that is
 *     then closed), and no packet buffer is left.
 *
 *   build/fuzz/fuzz_ctl -max_total_time=60 build/fuzz/corpus-fuzz_ctl tests/fuzz/corpus-fuzz_ctl
 *
 * The seeds (FUZZ_CTL_SEEDS=DIR build/fuzz/fuzz_ctl writes them) are the
 * requests the project's clients send: stat (whole and cut), handover,
 * and joiners' LISTEN, CONNECT and DGRAM requests made by
 * ctl_join_req_init as shim/join.c makes them, and a garbage line.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stack/core/arp.h"
#include "stack/core/config.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "tests/fuzz/fuzz_common.h"
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/host/ctl.h"
#include "stack/host/relay.h"
#include "stack/wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_PEER_IP IP4(192, 0, 2, 1)
#define FUZZ_ROUNDS 48
#define FUZZ_ANSWER_MAX (CTL_REPLY_MAX + 4096)

enum {
	F_NAME = 1, F_FD = 2, F_STREAM = 4, F_MAY_HAND = 8, F_HAND_SOON = 16, F_SHUT = 32,
};

static char base[64];
static char dev[32];            /* the handover's name: this process's own */
struct srv {
	struct stack *s;
	struct relay_set set;
	struct ctl_host host;
	struct ctl *c;
	uint64_t now;
};

/* One round of the stack thread's: the control socket's and the relays'
 * fds, a wait that does not wait, their I/O, the stack's timers. */
static void srv_round(struct srv *v)
{
	struct pollfd pfd[CTL_NFDS + 8];
	uint64_t at = UINT64_MAX;
	unsigned n = ctl_collect(v->c, v->s, &v->host, pfd, v->now, &at), m = 0;
	bool busy = false;
	int rc;

	if (relay_pollfds(&v->set) <= 8)
		m = relay_collect(&v->set, pfd + n, &busy, v->now);
	rc = poll(pfd, n + m, 0);
	ctl_io(v->c, pfd, rc > 0 ? n : 0, v->now);
	relay_io(&v->set, pfd + n, rc > 0 ? m : 0);
	stack_poll(v->s, v->now);
}

/* Reads what is there of the answer; true at its end (or an error). */
static bool client_read(int fd, char *buf, size_t *len)
{
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int) * 16)];
		struct iovec iov = { buf + *len, FUZZ_ANSWER_MAX - *len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		ssize_t r;

		if (*len == FUZZ_ANSWER_MAX)
			abort();        /* longer than any answer */
		r = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r > 0)
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
					for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
						int f;

						memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(f));
						close(f);
					}
		if (r > 0) {
			*len += (size_t)r;
			continue;
		}
		return r == 0 || errno != EAGAIN;
	}
}

static bool starts(const uint8_t *req, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && !memcmp(req, word, w);
}

static const char bad_line[] = "error: unknown request (expected \"stat\")\n";

/* The answer's form, checked against the request (above). */
static void check_answer(const uint8_t *req, size_t n, bool fd_sent, const char *ans, size_t len)
{
	struct ctl_join_req q;
	bool join_ok = false;

	memset(&q, 0, sizeof(q));
	if (n >= sizeof(q)) {
		memcpy(&q, req, sizeof(q));
		join_ok = fd_sent && ctl_join_req_check(&q, sizeof(q)) == 0;
	}
	if (len == 0) {
		const uint8_t *nl = memchr(req, '\n', n < sizeof(CTL_REQUEST) + 64 ? n : sizeof(CTL_REQUEST) + 64);

		/* Unanswered: only a request that never ended. A joiner's
		 * word starts one that ends at its size. */
		if (starts(req, n, "stat\n") || join_ok)
			abort();
		if (nl && !starts(req, n, CTL_JOIN_WORD) && !starts(req, n, CTL_HANDOVER_REQUEST))
			abort();
		return;
	}
	if (len == sizeof(bad_line) - 1 && !memcmp(ans, bad_line, len)) {
		if (starts(req, n, "stat\n") || join_ok)
			abort();
		return;
	}
	if (starts(req, n, "stat\n")) {
		/* The snapshot: its first line names the stack, its end the counters. */
		if (len < 7 || memcmp(ans, "pstack ", 7) != 0 || !memmem(ans, len, "\nCounters\n", 10))
			abort();
		return;
	}
	if (starts(req, n, CTL_HANDOVER_REQUEST)) {
		struct ctl_handover_hdr h;
		unsigned long long ms;
		char nl;

		if (len == sizeof(CTL_HANDOVER_BUSY) - 1 && !memcmp(ans, CTL_HANDOVER_BUSY, len))
			return;
		if (len < 32 && ans[len - 1] == '\n' && sscanf(ans, "busy %llu%c", &ms, &nl) == 2 && ms > 0)
			return;
		if (len < sizeof(h))
			abort();
		memcpy(&h, ans, sizeof(h));
		if (memcmp(h.word, CTL_HANDOVER_WORD, sizeof(CTL_HANDOVER_WORD) - 1) || h.nfds != 0 ||
		    h.rec_size == 0 || len != sizeof(h) + (size_t)h.count * h.rec_size +
						 (size_t)h.arp_count * sizeof(struct stack_arp_rec))
			abort();
		return;
	}
	if (join_ok) {
		struct ctl_join_reply r;

		if (len != sizeof(r) && len != 2 * sizeof(r))
			abort();
		for (size_t off = 0; off < len; off += sizeof(r)) {
			memcpy(&r, ans + off, sizeof(r));
			if (ctl_join_reply_check(&r, sizeof(r)) != 0)
				abort();
			if (off == 0 && len == 2 * sizeof(r) && r.err != CTL_JOIN_PROGRESS)
				abort();
			if (r.err == CTL_JOIN_PROGRESS && (q.op != CTL_JOIN_CONNECT || off + sizeof(r) == len))
				abort();
		}
		return;
	}
	abort();        /* an answer of no documented form */
}

static void srv_open(struct srv *v)
{
	struct stack_config cfg;
	struct stack_link link;
	char err[512];

	memset(v, 0, sizeof(*v));
	config_defaults(&cfg);
	memset(cfg.secret, 0x5a, sizeof(cfg.secret));
	cfg.tcp_mem = 256 * 1024;
	memset(&link, 0, sizeof(link));
	strcpy(link.name, "fuzz0");
	link.mtu = 1500;
	link.output = fuzz_output_drop;
	v->now = 1000000;
	v->s = stack_create(&cfg, &link, v->now);
	if (!v->s)
		abort();
	arp_insert(v->s, FUZZ_PEER_IP, fuzz_peer_mac, v->now);
	relay_set_init(&v->set, fuzz_nothing, NULL, NULL);
	v->host = (struct ctl_host){ .dev = dev, .pid = getpid(), .started = v->now, .rset = &v->set };
	snprintf(v->host.stack_name, sizeof(v->host.stack_name), "fuzz-%d", (int)getpid());
	if (ctl_open(base, &v->host, &v->c, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_ctl: %s\n", err);
		abort();
	}
}

static void srv_close(struct srv *v)
{
	ctl_close(v->c);
	relay_set_destroy(&v->set);
	stack_destroy(v->s);
	if (pkb_live() != 0) {
		fprintf(stderr, "fuzz_ctl: %ld packet buffers leaked\n", pkb_live());
		abort();
	}
}

static int client(const struct srv *v, bool name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	if (name)
		ctl_stack_path(sa.sun_path, sizeof(sa.sun_path), base, v->host.stack_name, ctl_netns());
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%ld.sock", base, v->host.pid);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	return fd;
}

/* n bytes of the request, with fd (-1: none). */
static void client_send(int c, const uint8_t *p, size_t n, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)p, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (n == 0 && fd < 0)
		return;
	if (n == 0) {
		/* An fd needs a byte to travel with: none sent, none passed. */
		return;
	}
	/* The server may have closed already (a refused request): no SIGPIPE. */
	(void)sendmsg(c, &m, MSG_NOSIGNAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char answer[FUZZ_ANSWER_MAX];
	const uint8_t *req;
	size_t n, cut, len = 0;
	uint8_t flags;
	unsigned fds_before;
	struct srv v;
	int c, pair[2] = { -1, -1 };
	bool done = false;

	if (size < 2)
		return 0;
	log_level = LOG_NONE;
	flags = data[0];
	req = data + 2;
	n = size - 2;
	cut = data[1] % (n + 1);

	fds_before = fuzz_count_fds();
	srv_open(&v);
	v.host.may_hand_over = flags & F_MAY_HAND;
	v.host.hand_over_soon = flags & F_HAND_SOON;
	if ((flags & F_FD) &&
	    socketpair(AF_UNIX, ((flags & F_STREAM) ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, pair) != 0)
		abort();
	c = client(&v, flags & F_NAME);
	/* The first part, read by the server before the rest is sent. */
	client_send(c, req, cut, cut ? pair[1] : -1);
	for (int i = 0; i < 3; i++)
		srv_round(&v);
	client_send(c, req + cut, n - cut, cut ? -1 : pair[1]);
	if (flags & F_SHUT)
		shutdown(c, SHUT_WR);
	if (pair[1] >= 0)
		close(pair[1]);
	/* Served until the answer is whole (the server closes), the clock
	 * running: first in small steps, then to each timer (a joiner's
	 * connect to a silent peer ends in its SYN's give-up), and past the
	 * clients' deadline. */
	for (int i = 0; i < FUZZ_ROUNDS && !done; i++) {
		uint64_t at = stack_poll_at(v.s);

		srv_round(&v);
		done = client_read(c, answer, &len);
		if (i < FUZZ_ROUNDS / 2)
			v.now += 10000;
		else if (at != STACK_NEVER && at > v.now)
			v.now = at;
		else
			v.now += CTL_DEADLINE_US;
	}
	if (!done)
		abort();        /* the deadline and the timers end every exchange */
	close(c);
	/* A joiner's pair: ours closed, the relay sees it and closes its end. */
	if (pair[0] >= 0)
		close(pair[0]);
	for (int i = 0; i < 4; i++)
		srv_round(&v);
	check_answer(req, n, (flags & F_FD) && n > 0, answer, len);
	srv_close(&v);
	if (fuzz_count_fds() != fds_before) {
		fprintf(stderr, "fuzz_ctl: %u fds before, %u after\n", fds_before, fuzz_count_fds());
		abort();
	}
	return 0;
}

/* ---- the seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t flags, uint8_t cut, const void *req, size_t n)
{
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "wb");
	if (!out || fputc(flags, out) == EOF || fputc(cut, out) == EOF || fwrite(req, 1, n, out) != n ||
	    fclose(out) != 0) {
		perror(path);
		exit(1);
	}
}

static void write_seeds(const char *dir)
{
	struct ctl_join_req q;
	static const char garbage[] = "GET / HTTP/1.0\r\n\r\n";

	write_seed(dir, "stat", 0, 0, CTL_REQUEST, sizeof(CTL_REQUEST) - 1);
	write_seed(dir, "stat_cut", F_SHUT, 2, CTL_REQUEST, sizeof(CTL_REQUEST) - 1);
	write_seed(dir, "stat_name", F_NAME, 0, CTL_REQUEST, sizeof(CTL_REQUEST) - 1);
	write_seed(dir, "handover_busy", 0, 0, CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1);
	write_seed(dir, "handover", F_MAY_HAND, 0, CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1);
	write_seed(dir, "garbage", 0, 0, garbage, sizeof(garbage) - 1);

	/* What shim/join.c sends (join_request): a listener on 8080 ... */
	ctl_join_req_init(&q, CTL_JOIN_LISTEN);
	q.lport = 8080;
	q.bound = 1;
	q.backlog = 128;
	q.opts = sock_opts_default();
	q.opts.reuseaddr = true;
	write_seed(dir, "join_listen", F_NAME | F_FD, 0, &q, sizeof(q));
	write_seed(dir, "join_listen_cut", F_NAME | F_FD, 40, &q, sizeof(q));
	/* ... a connect to the peer, with a filler ... */
	ctl_join_req_init(&q, CTL_JOIN_CONNECT);
	q.raddr = FUZZ_PEER_IP;
	q.rport = 80;
	q.filler = 4096;
	q.opts = sock_opts_default();
	q.opts.nodelay = true;
	write_seed(dir, "join_connect", F_NAME | F_FD | F_STREAM, 0, &q, sizeof(q));
	/* ... and a UDP socket bound to 5353. */
	ctl_join_req_init(&q, CTL_JOIN_DGRAM);
	q.lport = 5353;
	q.bound = 1;
	q.opts = sock_opts_default();
	write_seed(dir, "join_dgram", F_NAME | F_FD, 0, &q, sizeof(q));
	/* The same without its fd: the error line. */
	write_seed(dir, "join_no_fd", F_NAME, 0, &q, sizeof(q));
}

static void remove_base(void)
{
	rmdir(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_CTL_SEEDS");

	(void)argc;
	(void)argv;
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	/* The control sockets' folder, this process's own (ctl_prepare_dir
	 * wants it 0700 and the user's). */
	snprintf(base, sizeof(base), "/tmp/pstack-fuzz-ctl.%ld", (long)getpid());
	mkdir(base, 0700);
	snprintf(dev, sizeof(dev), "fuzz%ld", (long)getpid());
	atexit(remove_base);
	log_level = LOG_NONE;
	return 0;
}
