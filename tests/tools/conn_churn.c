/*
 * conn_churn: M short TCP connections to HOST:PORT, one after another or a few
 * at a time: connect, send a request, read the reply, close. Counts successes
 * and failures by kind.
 *
 *   conn_churn [-n M] [-c CONC] [-l LEN | -r REQUEST [-e MINBYTES] [-x PREFIX]]
 *              [-t SECONDS] [-T SECONDS] [-b SRC[,SRC...]] [-R] [-q] HOST PORT
 *
 *   -n M        connections in all (default 1000)
 *   -c CONC     at most this many at a time (default 1)
 *   -l LEN      echo mode (the default, LEN 32): send LEN bytes of its own on
 *               each connection, expect exactly them back, then close first
 *   -r REQUEST  request mode: send REQUEST (\r and \n escapes understood), read
 *               the reply until the peer closes; it succeeds with at least
 *               MINBYTES (-e, default 1) that start with PREFIX (-x) if given
 *   -t SECONDS  bound on each connection (default 10)
 *   -T SECONDS  bound on the whole run (default 120)
 *   -b SRC,...  bind to these local addresses, round-robin (IP_BIND_ADDRESS_NO_PORT)
 *   -R          close with RST (SO_LINGER 0) instead of FIN: no TIME_WAIT here
 *   -q          no per-failure lines
 *
 * Runs on the kernel's stack. Output:
 *   conn_churn: ok=K failed=F of M in S.SSS s (R conn/s)
 *   conn_churn: failures: connect=.. noport=.. reset=.. eof=.. mismatch=.. short=.. timeout=.. other=..
 * Exit status 0 when all M succeeded, 1 otherwise, 2 on a usage error.
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

enum fail_kind { F_CONNECT, F_NOPORT, F_RESET, F_EOF, F_MISMATCH, F_SHORT, F_TIMEOUT, F_OTHER, F_COUNT };

static const char *const fail_names[F_COUNT] = {
	"connect", "noport", "reset", "eof", "mismatch", "short", "timeout", "other",
};

enum slot_state { S_FREE, S_CONNECTING, S_SENDING, S_RECEIVING };

struct slot {
	int fd;
	enum slot_state state;
	unsigned id;            /* connection number, 0..M-1 */
	size_t sent, got;
	double deadline;
	uint8_t head[256];      /* request mode: the first bytes of the reply */
};

static unsigned n_total = 1000, conc = 1, echo_len = 32, min_reply = 1;
static double conn_timeout = 10, total_timeout = 120;
static char *request;
static size_t request_len;
static char *prefix;
static int use_rst, quiet;
static struct sockaddr_in dst;
static struct in_addr srcs[64];
static unsigned n_srcs;
static int ep;
static unsigned fails[F_COUNT], n_ok, n_failed;
static struct slot *slots;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Echo mode's payload of connection id: a pure function of id. */
static void payload(unsigned id, uint8_t *buf, size_t len)
{
	uint64_t st = mix(id);

	for (size_t k = 0; k < len; k++) {
		if (k % 8 == 0)
			st = mix(st);
		buf[k] = (uint8_t)(st >> (8 * (k % 8)));
	}
	snprintf((char *)buf, len, "churn %u ", id);
}

static void finish(struct slot *sl, int ok, enum fail_kind k, int err)
{
	if (ok) {
		n_ok++;
	} else {
		if (fails[k] < 5 && !quiet)
			fprintf(stderr, "conn_churn: connection %u failed (%s%s%s)\n", sl->id, fail_names[k],
				err ? ": " : "", err ? strerror(err) : "");
		fails[k]++;
		n_failed++;
	}
	if (sl->fd >= 0) {
		if (use_rst) {
			struct linger lg = { 1, 0 };

			setsockopt(sl->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		epoll_ctl(ep, EPOLL_CTL_DEL, sl->fd, NULL);
		close(sl->fd);
	}
	sl->fd = -1;
	sl->state = S_FREE;
}

static void watch(struct slot *sl, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = sl };

	if (epoll_ctl(ep, op, sl->fd, &ev) < 0)
		finish(sl, 0, F_OTHER, errno);
}

static void start(struct slot *sl, unsigned id)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sl->fd = fd;
	sl->id = id;
	sl->sent = sl->got = 0;
	sl->state = S_CONNECTING;
	sl->deadline = now_s() + conn_timeout;
	if (fd < 0) {
		finish(sl, 0, F_OTHER, errno);
		return;
	}
	if (n_srcs) {
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr = srcs[id % n_srcs] };
		int one = 1;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			finish(sl, 0, errno == EADDRINUSE ? F_NOPORT : F_OTHER, errno);
			return;
		}
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
		finish(sl, 0, errno == EADDRNOTAVAIL ? F_NOPORT : F_CONNECT, errno);
		return;
	}
	watch(sl, EPOLLOUT, EPOLL_CTL_ADD);
}

static void handle(struct slot *sl, uint32_t events)
{
	uint8_t want[65536], buf[65536];
	const uint8_t *out;
	size_t out_len;

	if (sl->state == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			finish(sl, 0, err == EADDRNOTAVAIL ? F_NOPORT : F_CONNECT, err);
			return;
		}
		sl->state = S_SENDING;
		watch(sl, EPOLLOUT | EPOLLIN, EPOLL_CTL_MOD);
		return;
	}
	if (request) {
		out = (const uint8_t *)request;
		out_len = request_len;
	} else {
		payload(sl->id, want, echo_len);
		out = want;
		out_len = echo_len;
	}
	if (sl->state == S_SENDING && (events & EPOLLOUT)) {
		ssize_t n = send(sl->fd, out + sl->sent, out_len - sl->sent, MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			finish(sl, 0, errno == ECONNRESET || errno == EPIPE ? F_RESET : F_OTHER, errno);
			return;
		}
		if (n > 0)
			sl->sent += (size_t)n;
		if (sl->sent == out_len) {
			sl->state = S_RECEIVING;
			watch(sl, EPOLLIN, EPOLL_CTL_MOD);
			if (sl->state == S_FREE)
				return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	ssize_t n = recv(sl->fd, buf, sizeof(buf), 0);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			finish(sl, 0, errno == ECONNRESET ? F_RESET : F_OTHER, errno);
		return;
	}
	if (request) {
		if (n == 0) {
			/* The reply is complete: the peer closed. */
			size_t plen = prefix ? strlen(prefix) : 0;

			if (sl->got < min_reply)
				finish(sl, 0, F_SHORT, 0);
			else if (plen && (sl->got < plen || memcmp(sl->head, prefix, plen) != 0))
				finish(sl, 0, F_MISMATCH, 0);
			else
				finish(sl, 1, F_OTHER, 0);
			return;
		}
		if (sl->got < sizeof(sl->head)) {
			size_t k = sizeof(sl->head) - sl->got;

			memcpy(sl->head + sl->got, buf, (size_t)n < k ? (size_t)n : k);
		}
		sl->got += (size_t)n;
		return;
	}
	if (n == 0) {
		finish(sl, 0, F_EOF, 0);
		return;
	}
	if (sl->got + (size_t)n > sl->sent || memcmp(buf, want + sl->got, (size_t)n) != 0) {
		finish(sl, 0, F_MISMATCH, 0);
		return;
	}
	sl->got += (size_t)n;
	if (sl->got == echo_len)
		finish(sl, 1, F_OTHER, 0);
}

/* Turns \r, \n, \t and \\ in place into the bytes they name. */
static size_t unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 'r' ? '\r' : *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return (size_t)(w - s);
}

static void usage(void)
{
	fprintf(stderr, "usage: conn_churn [-n M] [-c CONC] [-l LEN | -r REQUEST [-e MINBYTES] [-x PREFIX]] "
			"[-t SECONDS] [-T SECONDS] [-b SRC[,SRC...]] [-R] [-q] HOST PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rlimit rl;
	unsigned next = 0, active = 0;
	double t0, deadline, el;
	int opt;
	long port;

	while ((opt = getopt(argc, argv, "n:c:l:r:e:x:t:T:b:Rq")) != -1) {
		switch (opt) {
		case 'n': n_total = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'l': echo_len = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': request = optarg; break;
		case 'e': min_reply = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': prefix = optarg; break;
		case 't': conn_timeout = strtod(optarg, NULL); break;
		case 'T': total_timeout = strtod(optarg, NULL); break;
		case 'b':
			for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
				if (n_srcs == 64 || inet_pton(AF_INET, tok, &srcs[n_srcs]) != 1) {
					fprintf(stderr, "conn_churn: bad source address '%s'\n", tok);
					return 2;
				}
				n_srcs++;
			}
			break;
		case 'R': use_rst = 1; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || n_total < 1 || conc < 1 || conc > 60000 || echo_len < 16 ||
	    echo_len > 65536 || conn_timeout <= 0 || total_timeout <= 0 ||
	    (prefix && strlen(prefix) > sizeof(slots->head)))
		usage();
	if (request)
		request_len = unescape(request);
	port = strtol(argv[optind + 1], NULL, 10);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1) {
		fprintf(stderr, "conn_churn: bad HOST or PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conc + 64) {
		rl.rlim_cur = conc + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	slots = calloc(conc, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0) {
		perror("conn_churn: setup");
		return 1;
	}
	for (unsigned i = 0; i < conc; i++)
		slots[i].fd = -1;

	t0 = now_s();
	deadline = t0 + total_timeout;
	for (;;) {
		struct epoll_event evs[256];
		double now = now_s();

		active = 0;
		for (unsigned i = 0; i < conc; i++) {
			if (slots[i].state != S_FREE && now >= slots[i].deadline)
				finish(&slots[i], 0, F_TIMEOUT, 0);
			if (slots[i].state == S_FREE && next < n_total && now < deadline && !stopping)
				start(&slots[i], next++);
			active += slots[i].state != S_FREE;
		}
		if (!active && (next == n_total || now >= deadline || stopping))
			break;
		if (now >= deadline || stopping) {
			for (unsigned i = 0; i < conc; i++)
				if (slots[i].state != S_FREE)
					finish(&slots[i], 0, F_TIMEOUT, 0);
			break;
		}
		int n = epoll_wait(ep, evs, 256, 100);

		if (n < 0 && errno != EINTR) {
			perror("conn_churn: epoll_wait");
			break;
		}
		for (int k = 0; k < n; k++)
			handle(evs[k].data.ptr, evs[k].events);
	}
	/* Connections never started because time ran out count as timeouts. */
	fails[F_TIMEOUT] += n_total - next;
	n_failed += n_total - next;
	el = now_s() - t0;
	printf("conn_churn: ok=%u failed=%u of %u in %.3f s (%.0f conn/s)\n", n_ok, n_failed, n_total, el,
	       el > 0 ? n_ok / el : 0.0);
	printf("conn_churn: failures:");
	for (int k = 0; k < F_COUNT; k++)
		printf(" %s=%u", fail_names[k], fails[k]);
	printf("\n");
	return n_ok == n_total ? 0 : 1;
}
