/*
 * bench_cli: the benchmark's load client, plain sockets only, so that it runs
 * unchanged on the kernel's stack and under LD_PRELOAD=libpstack.so.
 *
 *   bench_cli MODE ADDR PORT [-c CONNS] [-t SECONDS] [-m BYTES] [-T TIMEOUT] [-p] [-E]
 *
 * MODE:
 *   probe   connects until a connection succeeds (at most -t seconds, default 5)
 *   http    CONNS workers, each in a loop: connect, send one GET with
 *           "Connection: close", read the answer to EOF, close (a new
 *           connection per request: the connection rate)
 *   echo    CONNS persistent connections, each sending -m bytes (default 64)
 *           and waiting for them to come back (request/response latency)
 *   bulk    CONNS connections that only read (the server is bench_srv source):
 *           bytes received per second, counted after every connection is up
 *
 * One thread, non-blocking sockets, level-triggered epoll (-p: poll).
 * -E: each connection, once up, is also opened as a stdio stream (fdopen of a
 * dup, never read or written), as a program that mixes stdio and socket calls
 * does; under the preload that exposes the socket (issue 15: its data then
 * goes through the live kernel fd's relay), on the kernel's stack it changes
 * nothing. The bench's exposed-socket rows.
 * The -t seconds are counted after every connection is up and a warm-up of
 * min(1 s, t/4) that is not counted. Every phase is bounded in time; a connection that makes no progress for
 * -T seconds (default 5) counts as an error and is replaced.
 * Prints one line of key=value results on stdout; exit 0 when at least one
 * request, round trip or byte went through, 1 otherwise (with the reason).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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

enum cli_mode { MODE_PROBE, MODE_HTTP, MODE_ECHO, MODE_BULK };
enum conn_state { ST_FREE, ST_CONNECTING, ST_SENDING, ST_READING };

#define MAX_CONNS 20000
#define MAX_SAMPLES (8u * 1024 * 1024)
#define IOBUF (256 * 1024)

static const char http_req[] = "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\nUser-Agent: bench_cli\r\n"
			       "Connection: close\r\n\r\n";

struct conn {
	int fd;
	enum conn_state state;
	uint64_t t_start;       /* ns: start of this request / round trip */
	uint64_t t_progress;    /* ns: last progress, for the stall timeout */
	size_t done;            /* bytes of the current request sent / reply read */
	int ok;                 /* http: the reply starts with a 2xx status */
	FILE *stream;           /* -E: the connection's stdio stream */
};

static enum cli_mode mode;
static struct sockaddr_in peer;
static int use_poll;
static int expose;             /* -E */
static int epfd = -1;
static struct conn *conns;
/* Slots closed since the last look, reopened at once after the events that
 * closed them; the walk over every slot (stalls, failed opens) runs at most
 * every SWEEP_NS, so a wakeup costs its events, not the number of slots. */
static int *freed;
static int nfreed;
#define SWEEP_NS 50000000u
static int nconns = 1;
static size_t msg = 64;
static char *sendbuf;
static char iobuf[IOBUF];
static uint32_t *samples;       /* latencies in ns (capped at 4.29 s) */
static size_t nsamples;
static double lat_sum_ns;
static unsigned long long n_done, n_err, n_connect_err, n_stall, bytes;
static char last_err[160];
static struct pollfd *pfds;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_err(const char *what, int err)
{
	snprintf(last_err, sizeof(last_err), "%s: %s", what, strerror(err));
}

static void record(uint64_t ns)
{
	lat_sum_ns += (double)ns;
	if (nsamples < MAX_SAMPLES)
		samples[nsamples++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_us(double p)
{
	if (!nsamples)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(nsamples - 1) + 0.5);
	return samples[i] / 1000.0;
}

static void set_interest(int i, int add, unsigned ev)
{
	struct conn *c = &conns[i];
	if (use_poll) {
		pfds[i].fd = c->fd;
		pfds[i].events = (short)ev;
		return;
	}
	struct epoll_event e = { .events = ev };
	e.data.u32 = (uint32_t)i;
	if (epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &e) < 0) {
		fprintf(stderr, "bench_cli: epoll_ctl: %s\n", strerror(errno));
		exit(1);
	}
}

static void conn_close(int i)
{
	struct conn *c = &conns[i];
	if (c->stream) {
		fclose(c->stream);
		c->stream = NULL;
	}
	if (c->fd >= 0) {
		if (!use_poll)
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (use_poll)
		pfds[i].fd = -1;
	c->fd = -1;
	if (c->state != ST_FREE && freed && nfreed < nconns)
		freed[nfreed++] = i;
	c->state = ST_FREE;
}

/* Starts a non-blocking connect on slot i; 0 or -1 (counted as an error). */
static int conn_open(int i, uint64_t now)
{
	struct conn *c = &conns[i];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note_err("socket", errno);
		n_err++;
		return -1;
	}
	int one = 1;
	if (mode != MODE_BULK)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->t_start = c->t_progress = now;
	c->done = 0;
	c->ok = 0;
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) < 0 && errno != EINPROGRESS) {
		note_err("connect", errno);
		n_connect_err++;
		n_err++;
		c->state = ST_FREE;
		close(fd);
		c->fd = -1;
		return -1;
	}
	c->state = ST_CONNECTING;
	set_interest(i, 1, EPOLLOUT);
	return 0;
}

/* Sends what is left of the current request or message. */
static int conn_send(int i, uint64_t now)
{
	struct conn *c = &conns[i];
	const char *src = mode == MODE_HTTP ? http_req : sendbuf;
	size_t len = mode == MODE_HTTP ? sizeof(http_req) - 1 : msg;
	while (c->done < len) {
		ssize_t n = write(c->fd, src + c->done, len - c->done);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_interest(i, 0, EPOLLOUT);
				return 0;
			}
			if (errno == EINTR)
				continue;
			note_err("write", errno);
			return -1;
		}
		c->done += (size_t)n;
		c->t_progress = now;
	}
	c->state = ST_READING;
	c->done = 0;
	set_interest(i, 0, EPOLLIN);
	return 0;
}

/* Readiness on slot i; 0 to go on, -1 for an error (the caller replaces it). */
static int conn_event(int i, unsigned ev, uint64_t now, int measuring)
{
	struct conn *c = &conns[i];
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err) {
			note_err("connect", err);
			n_connect_err++;
			return -1;
		}
		if (!(ev & (EPOLLOUT | EPOLLIN)))
			return 0;
		c->t_progress = now;
		if (expose && !c->stream) {
			int d = dup(c->fd);

			c->stream = d < 0 ? NULL : fdopen(d, "r+");
			if (!c->stream) {
				note_err("fdopen", errno);
				if (d >= 0)
					close(d);
				return -1;
			}
		}
		if (mode == MODE_PROBE) {
			n_done++;
			return 0;
		}
		if (mode == MODE_BULK) {
			c->state = ST_READING;
			set_interest(i, 0, EPOLLIN);
			return 0;
		}
		c->state = ST_SENDING;
		c->done = 0;
		if (mode == MODE_ECHO)
			c->t_start = now;
		return conn_send(i, now);
	}
	if (c->state == ST_SENDING)
		return conn_send(i, now);
	if (c->state != ST_READING)
		return 0;
	for (int rounds = 0; rounds < 8; rounds++) {
		ssize_t n = read(c->fd, iobuf, sizeof(iobuf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			note_err("read", errno);
			return -1;
		}
		c->t_progress = now;
		if (n == 0) {
			if (mode == MODE_HTTP && c->ok) {
				if (measuring) {
					n_done++;
					record(now - c->t_start);
				}
				conn_close(i);
				return 0;
			}
			snprintf(last_err, sizeof(last_err), "%s", mode == MODE_HTTP ?
				 "connection closed before a 2xx reply" : "connection closed by the server");
			return -1;
		}
		if (mode == MODE_BULK) {
			if (measuring)
				bytes += (unsigned long long)n;
		} else if (mode == MODE_HTTP) {
			if (c->done == 0 && n >= 12 && !memcmp(iobuf, "HTTP/1.", 7) && iobuf[9] == '2')
				c->ok = 1;
			c->done += (size_t)n;
		} else {
			c->done += (size_t)n;
			if (c->done >= msg) {
				if (measuring) {
					n_done++;
					record(now - c->t_start);
				}
				c->t_start = now;
				c->state = ST_SENDING;
				c->done = 0;
				return conn_send(i, now);
			}
		}
		if ((size_t)n < sizeof(iobuf))
			return 0;
	}
	return 0;
}

/*
 * Runs the event loop until `until` (ns). In http mode a finished or failed
 * slot is reopened at once; in the other modes a failed one is reopened too,
 * so the number of connections stays CONNS.
 */
static void run_until(uint64_t until, int measuring, long long stall_ns)
{
	static struct epoll_event evs[1024];
	uint64_t next_sweep = 0;
	while (1) {
		uint64_t now = now_ns();
		if (now >= until)
			return;
		int timeout_ms = (int)((until - now) / 1000000u) + 1;
		if (timeout_ms > 100)
			timeout_ms = 100;
		int r;
		if (use_poll) {
			r = poll(pfds, (nfds_t)nconns, timeout_ms);
		} else {
			r = epoll_wait(epfd, evs, 1024, timeout_ms);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bench_cli: %s: %s\n", use_poll ? "poll" : "epoll_wait", strerror(errno));
			exit(1);
		}
		now = now_ns();
		if (mode == MODE_PROBE && r == 0)
			continue;
		if (use_poll) {
			for (int i = 0; i < nconns && r > 0; i++) {
				short re = pfds[i].revents;
				if (!re || conns[i].state == ST_FREE)
					continue;
				r--;
				unsigned ev = ((re & POLLIN) ? EPOLLIN : 0u) | ((re & POLLOUT) ? EPOLLOUT : 0u) |
					      ((re & (POLLERR | POLLHUP)) ? EPOLLERR : 0u);
				if (conn_event(i, ev | ((re & (POLLERR | POLLHUP)) ? EPOLLIN : 0u), now,
					       measuring) < 0) {
					n_err++;
					conn_close(i);
				}
			}
		} else {
			for (int k = 0; k < r; k++) {
				int i = (int)evs[k].data.u32;
				if (conns[i].state == ST_FREE)
					continue;
				unsigned ev = evs[k].events;
				if (ev & (EPOLLERR | EPOLLHUP))
					ev |= EPOLLIN;
				if (conn_event(i, ev, now, measuring) < 0) {
					n_err++;
					conn_close(i);
				}
			}
		}
		if (mode == MODE_PROBE) {
			if (n_done || conns[0].state == ST_FREE)
				return;
			continue;
		}
		while (nfreed > 0) {
			int i = freed[--nfreed];
			if (conns[i].state == ST_FREE)
				conn_open(i, now);
		}
		if (now < next_sweep)
			continue;
		next_sweep = now + SWEEP_NS;
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			if (c->state != ST_FREE && stall_ns > 0 &&
			    (long long)(now - c->t_progress) > stall_ns) {
				snprintf(last_err, sizeof(last_err), "no progress for %.1f s (%s)",
					 stall_ns / 1e9, c->state == ST_CONNECTING ? "connecting" : "in transfer");
				n_stall++;
				n_err++;
				conn_close(i);
			}
			if (c->state == ST_FREE)
				conn_open(i, now);
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_cli probe|http|echo|bulk ADDR PORT [-c CONNS] [-t SECONDS] "
			"[-m BYTES] [-T STALL_SECONDS] [-p] [-E]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double seconds = 5, stall = 5;
	if (argc < 4)
		usage();
	if (!strcmp(argv[1], "probe"))
		mode = MODE_PROBE;
	else if (!strcmp(argv[1], "http"))
		mode = MODE_HTTP;
	else if (!strcmp(argv[1], "echo"))
		mode = MODE_ECHO;
	else if (!strcmp(argv[1], "bulk"))
		mode = MODE_BULK;
	else
		usage();
	peer.sin_family = AF_INET;
	peer.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &peer.sin_addr) != 1)
		usage();
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "-p")) {
			use_poll = 1;
			continue;
		}
		if (!strcmp(argv[i], "-E")) {
			expose = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "-c"))
			nconns = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-t"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "-m"))
			msg = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "-T"))
			stall = atof(argv[++i]);
		else
			usage();
	}
	if (nconns < 1 || nconns > MAX_CONNS || seconds <= 0 || msg < 1 || msg > IOBUF)
		usage();
	if (mode == MODE_PROBE)
		nconns = 1;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	conns = calloc((size_t)nconns, sizeof(*conns));
	pfds = calloc((size_t)nconns, sizeof(*pfds));
	freed = calloc((size_t)nconns, sizeof(*freed));
	sendbuf = malloc(msg);
	if (mode == MODE_HTTP || mode == MODE_ECHO)
		samples = malloc(MAX_SAMPLES * sizeof(*samples));
	if (!conns || !pfds || !freed || !sendbuf || ((mode == MODE_HTTP || mode == MODE_ECHO) && !samples)) {
		fprintf(stderr, "bench_cli: out of memory\n");
		return 1;
	}
	memset(sendbuf, 'p', msg);
	for (int i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		pfds[i].fd = -1;
	}
	if (!use_poll && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "bench_cli: epoll_create1: %s\n", strerror(errno));
		return 1;
	}

	uint64_t t0 = now_ns();
	if (mode == MODE_PROBE) {
		/* One attempt per second until one succeeds or the time is up. */
		uint64_t end = t0 + (uint64_t)(seconds * 1e9);
		while (now_ns() < end) {
			uint64_t attempt_end = now_ns() + 1000000000u;
			if (attempt_end > end)
				attempt_end = end;
			if (conn_open(0, now_ns()) == 0)
				run_until(attempt_end, 1, 0);
			if (n_done) {
				printf("probe=ok seconds=%.3f\n", (now_ns() - t0) / 1e9);
				return 0;
			}
			conn_close(0);
			/* Refused or unreachable at once: try again 100 ms later. */
			uint64_t t = now_ns(), next = t + 100000000u;
			if (next > attempt_end)
				next = attempt_end;
			if (t < next) {
				struct timespec ts = { 0, (long)(next - t) };
				nanosleep(&ts, NULL);
			}
		}
		printf("probe=failed error=\"%s\"\n", last_err[0] ? last_err : "no answer");
		return 1;
	}

	/* Open every connection first; echo and bulk wait until all are up (at
	 * most the stall time plus a second), so the timed window measures a
	 * steady state with CONNS connections. */
	uint64_t now = now_ns();
	for (int i = 0; i < nconns; i++)
		conn_open(i, now);
	double setup_s = 0;
	if (mode != MODE_HTTP) {
		uint64_t limit = now + (uint64_t)((stall + 1) * 1e9);
		for (;;) {
			int up = 0;
			for (int i = 0; i < nconns; i++)
				up += conns[i].state != ST_FREE && conns[i].state != ST_CONNECTING;
			if (up == nconns || now_ns() >= limit)
				break;
			run_until(now_ns() + 20000000u, 0, (long long)(stall * 1e9));
		}
		setup_s = (now_ns() - now) / 1e9;
	}
	/* A warm-up that is not counted: data queued while the connections came up
	 * would otherwise be read inside the window and inflate the rate. */
	double warm = seconds / 4 < 1 ? seconds / 4 : 1;
	run_until(now_ns() + (uint64_t)(warm * 1e9), 0, (long long)(stall * 1e9));
	unsigned long long setup_err = n_err;
	uint64_t start = now_ns();
	run_until(start + (uint64_t)(seconds * 1e9), 1, (long long)(stall * 1e9));
	double el = (now_ns() - start) / 1e9;

	qsort(samples, nsamples, sizeof(*samples), cmp_u32);
	double avg_us = n_done ? lat_sum_ns / (double)n_done / 1000.0 : 0;
	printf("mode=%s conns=%d seconds=%.3f setup_s=%.3f done=%llu rate=%.1f gbps=%.4f "
	       "lat_avg_us=%.1f lat_p50_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f "
	       "errors=%llu setup_errors=%llu connect_errors=%llu stalls=%llu last_error=\"%s\"\n",
	       argv[1], nconns, el, setup_s, n_done, n_done / el, bytes * 8.0 / el / 1e9, avg_us,
	       pct_us(50), pct_us(99), nsamples ? samples[nsamples - 1] / 1000.0 : 0.0, n_err,
	       setup_err, n_connect_err, n_stall, last_err);
	fflush(stdout);
	if ((mode == MODE_BULK && bytes == 0) || (mode != MODE_BULK && n_done == 0)) {
		int connecting = 0, waiting = 0;
		for (int i = 0; i < nconns; i++) {
			connecting += conns[i].state == ST_CONNECTING;
			waiting += conns[i].state == ST_SENDING || conns[i].state == ST_READING;
		}
		fprintf(stderr, "bench_cli: nothing went through in %.1f s (at the end %d connections "
			"were still connecting, %d waiting for data)%s%s\n", el, connecting, waiting,
			last_err[0] ? "; last error: " : "", last_err);
		return 1;
	}
	return 0;
}
