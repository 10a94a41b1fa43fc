/*
 * conn_hold: opens N concurrent TCP connections to HOST:PORT, checks that each
 * echoes a payload of its own byte-exact, holds them all open, and reports.
 *
 *   conn_hold [-n N] [-c PENDING] [-l LEN] [-T SECONDS] [-H SECONDS | -w]
 *             [-b SRC[,SRC...]] [-q] HOST PORT
 *
 *   -n N        connections (default 100)
 *   -c PENDING  at most this many connects in flight at once (default 256), so
 *               that the peer's accept queue is not flooded with SYNs
 *   -l LEN      payload bytes per connection and round, 16..65536 (default 64)
 *   -T SECONDS  bound on the whole run, holding included (default 60)
 *   -H SECONDS  once every connection is verified, hold them this long, then
 *               run a second echo round on every one of them and close
 *   -w          once every connection is verified, hold them until a signal:
 *               SIGUSR1 runs a second echo round and closes, SIGTERM/SIGINT
 *               close at once (the -T bound still applies)
 *   -b SRC,...  bind the local side to these addresses, round-robin (with
 *               IP_BIND_ADDRESS_NO_PORT, so each spreads over the whole port range)
 *   -q          no progress lines, only the summary
 *
 * It runs on the kernel's stack (the peer of the stack under test). The
 * RLIMIT_NOFILE soft limit, and the hard one if needed (as root), is raised
 * to N plus a margin, as a real client or server would.
 *
 * Output, one line each, flushed at once so that a test can wait for them:
 *   conn_hold: established=E verified=V failed=F in S.SSS s
 *   conn_hold: holding V connections       (when every one is verified)
 *   conn_hold: reverified=R of V           (after the second round)
 *   conn_hold: failures: connect=.. reset=.. eof=.. mismatch=.. timeout=..
 *   conn_hold: done ok|FAILED
 * Exit status 0 when all N were verified (and re-verified when asked), 1
 * otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum conn_state {
	CS_IDLE,        /* not started */
	CS_CONNECTING,
	CS_SENDING,
	CS_RECEIVING,
	CS_VERIFIED,    /* round done, held open */
	CS_FAILED,
};

enum fail_kind { F_CONNECT, F_RESET, F_EOF, F_MISMATCH, F_TIMEOUT, F_OTHER, F_COUNT };

static const char *const fail_names[F_COUNT] = {
	"connect", "reset", "eof", "mismatch", "timeout", "other",
};

struct conn {
	int fd;
	uint8_t state;
	uint8_t round;
	uint32_t sent;
	uint32_t got;
};

static struct conn *conns;
static unsigned n_conns = 100, max_pending = 256, payload_len = 64;
static double total_timeout = 60, hold_seconds = -1;
static int wait_signal, quiet;
static struct sockaddr_in dst;
static struct in_addr srcs[64];
static unsigned n_srcs;
static int ep;
static unsigned fails[F_COUNT];
static unsigned n_established, n_verified, n_failed, n_pending, n_busy;
static volatile sig_atomic_t got_usr1, got_term;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: the payload of connection i in round r is a pure function of (i, r). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void payload(unsigned i, unsigned r, uint8_t *buf, unsigned len)
{
	uint64_t st = mix(((uint64_t)i << 8) | r);
	int hdr;

	for (unsigned k = 0; k < len; k++) {
		if (k % 8 == 0)
			st = mix(st);
		buf[k] = (uint8_t)(st >> (8 * (k % 8)));
	}
	/* A readable tag first, so that a mix-up between connections shows in a capture. */
	hdr = snprintf((char *)buf, len, "conn %u round %u ", i, r);
	(void)hdr;
	buf[len - 1] = '\n';
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit hard = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return;
		fprintf(stderr, "conn_hold: cannot raise RLIMIT_NOFILE to %llu (hard limit %llu): %s\n",
			(unsigned long long)want, (unsigned long long)rl.rlim_max, strerror(errno));
		want = rl.rlim_max;
		if (rl.rlim_cur >= want)
			return;
	}
	rl.rlim_cur = want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void fail(unsigned i, enum fail_kind k, int err)
{
	struct conn *c = &conns[i];

	if (c->state == CS_FAILED)
		return;
	if (fails[k] < 5 && !quiet)
		fprintf(stderr, "conn_hold: connection %u failed (%s%s%s) in state %u round %u\n", i,
			fail_names[k], err ? ": " : "", err ? strerror(err) : "", c->state, c->round);
	if (c->state == CS_CONNECTING)
		n_pending--;
	if (c->state >= CS_CONNECTING && c->state <= CS_RECEIVING)
		n_busy--;
	if (c->state == CS_VERIFIED)
		n_verified--;
	fails[k]++;
	n_failed++;
	c->state = CS_FAILED;
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void watch(unsigned i, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u32 = i };

	if (epoll_ctl(ep, op, conns[i].fd, &ev) < 0)
		fail(i, F_OTHER, errno);
}

static void start(unsigned i)
{
	struct conn *c = &conns[i];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	c->fd = fd;
	c->round = 0;
	if (fd < 0) {
		c->state = CS_IDLE;
		fail(i, F_OTHER, errno);
		return;
	}
	if (n_srcs) {
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = srcs[i % n_srcs] };
		int one = 1;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			c->state = CS_IDLE;
			fail(i, F_OTHER, errno);
			return;
		}
	}
	c->state = CS_CONNECTING;
	n_pending++;
	n_busy++;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
		fail(i, F_CONNECT, errno);
		return;
	}
	watch(i, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Starts round r on a connected socket: send the payload, then expect it back. */
static void begin_round(unsigned i, unsigned r)
{
	conns[i].round = (uint8_t)r;
	conns[i].sent = 0;
	conns[i].got = 0;
	conns[i].state = CS_SENDING;
	watch(i, EPOLLOUT | EPOLLIN, EPOLL_CTL_MOD);
}

static void handle(unsigned i, uint32_t events)
{
	struct conn *c = &conns[i];
	uint8_t want[65536], buf[65536];

	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			fail(i, F_CONNECT, err);
			return;
		}
		n_pending--;
		n_established++;
		begin_round(i, 0);
		return;
	}
	if (c->state != CS_SENDING && c->state != CS_RECEIVING && c->state != CS_VERIFIED)
		return;
	payload(i, c->round, want, payload_len);
	if (c->state == CS_SENDING && (events & EPOLLOUT)) {
		ssize_t n = send(c->fd, want + c->sent, payload_len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fail(i, errno == ECONNRESET || errno == EPIPE ? F_RESET : F_OTHER, errno);
			return;
		}
		if (n > 0)
			c->sent += (uint32_t)n;
		if (c->sent == payload_len) {
			c->state = CS_RECEIVING;
			watch(i, EPOLLIN, EPOLL_CTL_MOD);
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fail(i, errno == ECONNRESET ? F_RESET : F_OTHER, errno);
			return;
		}
		if (n == 0) {
			fail(i, F_EOF, 0);
			return;
		}
		if (c->state == CS_VERIFIED || c->got + (size_t)n > c->sent ||
		    memcmp(buf, want + c->got, (size_t)n) != 0) {
			/* Bytes nobody sent, or not the ones sent. */
			fail(i, F_MISMATCH, 0);
			return;
		}
		c->got += (uint32_t)n;
		if (c->got == payload_len) {
			c->state = CS_VERIFIED;
			n_verified++;
			n_busy--;
			/* Keep watching input: anything arriving now is an error. */
			watch(i, EPOLLIN, EPOLL_CTL_MOD);
		}
	}
}

/* Runs the event loop until no connection is in progress, or the deadline. */
static int run_until_settled(double deadline, unsigned *next, int starting)
{
	struct epoll_event evs[256];

	for (;;) {
		while (starting && *next < n_conns && n_pending < max_pending)
			start((*next)++);
		if (!n_busy && (!starting || *next == n_conns))
			return 0;
		double left = deadline - now_s();
		if (left <= 0 || got_term)
			return -1;
		int n = epoll_wait(ep, evs, 256, left > 0.2 ? 200 : (int)(left * 1000) + 1);

		if (n < 0 && errno != EINTR) {
			perror("conn_hold: epoll_wait");
			return -1;
		}
		for (int k = 0; k < n; k++)
			handle(evs[k].data.u32, evs[k].events);
	}
}

static void timeout_rest(void)
{
	for (unsigned i = 0; i < n_conns; i++)
		if (conns[i].state >= CS_CONNECTING && conns[i].state <= CS_RECEIVING)
			fail(i, F_TIMEOUT, 0);
		else if (conns[i].state == CS_IDLE) {
			conns[i].state = CS_FAILED;
			fails[F_TIMEOUT]++;
			n_failed++;
		}
}

static void usage(void)
{
	fprintf(stderr, "usage: conn_hold [-n N] [-c PENDING] [-l LEN] [-T SECONDS] [-H SECONDS | -w] "
			"[-b SRC[,SRC...]] [-q] HOST PORT\n");
	exit(2);
}

static void parse_srcs(char *arg)
{
	for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		if (n_srcs == 64 || inet_pton(AF_INET, tok, &srcs[n_srcs]) != 1) {
			fprintf(stderr, "conn_hold: bad source address '%s'\n", tok);
			exit(2);
		}
		n_srcs++;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	double t0, deadline;
	unsigned next = 0, reverified = 0;
	int opt, ok, second_round = 0;
	long port;

	while ((opt = getopt(argc, argv, "n:c:l:T:H:wb:q")) != -1) {
		switch (opt) {
		case 'n': n_conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': max_pending = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': payload_len = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': total_timeout = strtod(optarg, NULL); break;
		case 'H': hold_seconds = strtod(optarg, NULL); break;
		case 'w': wait_signal = 1; break;
		case 'b': parse_srcs(optarg); break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || n_conns < 1 || n_conns > 1000000 || max_pending < 1 ||
	    payload_len < 16 || payload_len > 65536 || total_timeout <= 0 || (wait_signal && hold_seconds >= 0))
		usage();
	port = strtol(argv[optind + 1], NULL, 10);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1) {
		fprintf(stderr, "conn_hold: bad HOST or PORT\n");
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile((rlim_t)n_conns + 64);

	conns = calloc(n_conns, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0) {
		perror("conn_hold: setup");
		return 1;
	}
	for (unsigned i = 0; i < n_conns; i++)
		conns[i].fd = -1;

	t0 = now_s();
	deadline = t0 + total_timeout;
	if (run_until_settled(deadline, &next, 1) < 0)
		timeout_rest();
	printf("conn_hold: established=%u verified=%u failed=%u in %.3f s\n", n_established, n_verified,
	       n_failed, now_s() - t0);
	fflush(stdout);

	if (n_verified == n_conns && (hold_seconds >= 0 || wait_signal)) {
		printf("conn_hold: holding %u connections\n", n_verified);
		fflush(stdout);
		if (wait_signal) {
			sigset_t mask, old;

			sigemptyset(&mask);
			sigaddset(&mask, SIGUSR1);
			sigaddset(&mask, SIGTERM);
			sigaddset(&mask, SIGINT);
			sigprocmask(SIG_BLOCK, &mask, &old);
			while (!got_usr1 && !got_term && now_s() < deadline) {
				struct timespec ts = { 0, 200 * 1000 * 1000 };
				sigset_t none;

				sigemptyset(&none);
				/* Wait for a signal with it unblocked, at most 200 ms at a time. */
				pselect(0, NULL, NULL, NULL, &ts, &none);
			}
			sigprocmask(SIG_SETMASK, &old, NULL);
			second_round = got_usr1 && !got_term;
			if (!got_usr1 && !got_term)
				fprintf(stderr, "conn_hold: no signal before the -T bound\n");
		} else {
			double until = now_s() + hold_seconds;
			struct epoll_event evs[64];

			/* Hold, still watching: data or a close from the peer now is a failure. */
			while (!got_term && now_s() < until && now_s() < deadline) {
				int n = epoll_wait(ep, evs, 64, 200);

				for (int k = 0; k < n; k++)
					handle(evs[k].data.u32, evs[k].events);
			}
			second_round = !got_term && now_s() < deadline;
		}
	}
	if (second_round) {
		unsigned held = n_verified;

		n_verified = 0;
		for (unsigned i = 0; i < n_conns; i++)
			if (conns[i].state == CS_VERIFIED) {
				n_busy++;
				begin_round(i, 1);
			}
		if (run_until_settled(deadline, &next, 0) < 0)
			timeout_rest();
		reverified = n_verified;
		printf("conn_hold: reverified=%u of %u\n", reverified, held);
	}
	for (unsigned i = 0; i < n_conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	printf("conn_hold: failures:");
	for (int k = 0; k < F_COUNT; k++)
		printf(" %s=%u", fail_names[k], fails[k]);
	printf("\n");
	ok = n_failed == 0 && (second_round ? reverified == n_conns : n_verified == n_conns);
	if ((hold_seconds >= 0 || wait_signal) && !second_round && !got_term)
		ok = 0;
	printf("conn_hold: done %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
