/*
 * bench_srv: the benchmark's small TCP server, plain sockets only, so that it
 * runs unchanged on the kernel's stack and under LD_PRELOAD=libpstack.so.
 *
 *   bench_srv MODE ADDR PORT [poll|epoll]
 *
 * MODE:
 *   http    answers every request (a header block ending in an empty line)
 *           with a 13-byte "200 OK" page; closes after the answer when the
 *           request says "Connection: close" or is HTTP/1.0, like a web server
 *   echo    sends back every byte it reads (request/response latency)
 *   source  writes as fast as the peer takes it, discards what it reads
 *   sink    reads and discards
 *
 * One thread, non-blocking sockets, level-triggered epoll (or poll, to test
 * the other readiness path). Prints "ready ADDR:PORT" on stdout once it
 * listens, then serves until SIGTERM or SIGINT, and prints one line of
 * counters on the way out. The benchmark reads its RSS and CPU time from the
 * outside (/proc and wait4), so the server itself measures nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum srv_mode { MODE_HTTP, MODE_ECHO, MODE_SOURCE, MODE_SINK };

#define MAX_FDS 65536
#define IOBUF (64 * 1024)
#define REQ_MAX 4096

static const char http_reply_close[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n"
	"Connection: close\r\n\r\nhello, world\n";
static const char http_reply_keep[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n";

struct conn {
	int open;
	int close_after;        /* http: close once out is flushed */
	size_t req_len;         /* http: bytes of the request seen so far */
	char *req;              /* http: the request so far (REQ_MAX) */
	char *out;              /* pending output (echo: IOBUF, http: a reply) */
	size_t out_len, out_off;
};

static struct conn *conns;
static enum srv_mode mode;
static int use_poll;
static int epfd = -1;
static struct pollfd *pfds;     /* poll mode: pfds[slot], slot_of[fd] */
static int *slot_of;
static int npfds;
static volatile sig_atomic_t stopping;
static char iobuf[IOBUF];
static unsigned long long n_accepted, n_requests, bytes_in, bytes_out;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_srv: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Interest: read always (except echo while output is pending), write when
 * there is output pending or in source mode. */
static unsigned want_events(int fd)
{
	struct conn *c = &conns[fd];
	unsigned ev = 0;
	int pending = c->out && c->out_off < c->out_len;
	if (!(mode == MODE_ECHO && pending))
		ev |= 1;
	if (pending || mode == MODE_SOURCE)
		ev |= 2;
	return ev;
}

static void watch(int fd, int add)
{
	unsigned w = want_events(fd);
	if (use_poll) {
		if (add) {
			slot_of[fd] = npfds;
			pfds[npfds].fd = fd;
			npfds++;
		}
		pfds[slot_of[fd]].events = (short)(((w & 1) ? POLLIN : 0) | ((w & 2) ? POLLOUT : 0));
		return;
	}
	struct epoll_event ev = { .events = ((w & 1) ? EPOLLIN : 0u) | ((w & 2) ? EPOLLOUT : 0u) };
	ev.data.fd = fd;
	if (epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void drop(int fd)
{
	struct conn *c = &conns[fd];
	if (use_poll) {
		int slot = slot_of[fd];
		npfds--;
		if (slot != npfds) {
			pfds[slot] = pfds[npfds];
			slot_of[pfds[slot].fd] = slot;
		}
	} else {
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	free(c->req);
	if (mode == MODE_ECHO)
		free(c->out);
	memset(c, 0, sizeof(*c));
	close(fd);
}

/* Writes pending output; 0 to keep the connection, -1 to drop it. */
static int flush_out(int fd)
{
	struct conn *c = &conns[fd];
	while (c->out_off < c->out_len) {
		ssize_t n = write(fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		bytes_out += (unsigned long long)n;
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (mode == MODE_HTTP) {
		c->out = NULL;
		if (c->close_after)
			return -1;
	}
	return 0;
}

/* http: looks for complete requests in c->req and queues the replies. */
static void http_parse(struct conn *c)
{
	char *end;
	while (!c->out && (end = memmem(c->req, c->req_len, "\r\n\r\n", 4)) != NULL) {
		size_t used = (size_t)(end - c->req) + 4;
		int close_it = 0;
		if (c->req_len >= 8 && memmem(c->req, used, "HTTP/1.0", 8))
			close_it = 1;
		for (size_t i = 0; i + 17 <= used; i++) {
			if (strncasecmp(c->req + i, "connection: close", 17) == 0) {
				close_it = 1;
				break;
			}
		}
		n_requests++;
		c->close_after = close_it;
		c->out = (char *)(close_it ? http_reply_close : http_reply_keep);
		c->out_len = close_it ? sizeof(http_reply_close) - 1 : sizeof(http_reply_keep) - 1;
		c->out_off = 0;
		memmove(c->req, c->req + used, c->req_len - used);
		c->req_len -= used;
	}
}

/* Handles readiness on a connection; 0 to keep it, -1 to drop it. */
static int serve(int fd, int readable, int writable, int hup)
{
	struct conn *c = &conns[fd];
	if (writable || (c->out && c->out_off < c->out_len)) {
		if (mode == MODE_SOURCE && !(c->out && c->out_off < c->out_len)) {
			c->out = iobuf;
			c->out_len = IOBUF;
			c->out_off = 0;
		}
		if (flush_out(fd) < 0)
			return -1;
	}
	if (readable || hup) {
		for (int rounds = 0; rounds < 16; rounds++) {
			char *dst = iobuf;
			size_t room = IOBUF;
			if (mode == MODE_HTTP) {
				if (c->req_len >= REQ_MAX)
					return -1;      /* a request this long is not ours */
				dst = c->req + c->req_len;
				room = REQ_MAX - c->req_len;
			} else if (mode == MODE_ECHO) {
				if (c->out_off < c->out_len)
					break;
				dst = c->out;
			}
			ssize_t n = read(fd, dst, room);
			if (n == 0)
				return -1;
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (errno == EINTR)
					continue;
				return -1;
			}
			bytes_in += (unsigned long long)n;
			if (mode == MODE_HTTP) {
				c->req_len += (size_t)n;
				http_parse(c);
				if (c->out && flush_out(fd) < 0)
					return -1;
			} else if (mode == MODE_ECHO) {
				c->out_len = (size_t)n;
				c->out_off = 0;
				if (flush_out(fd) < 0)
					return -1;
			}
			if ((size_t)n < room)
				break;
		}
	}
	watch(fd, 0);
	return 0;
}

static void accept_all(int lfd)
{
	for (int i = 0; i < 256; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fprintf(stderr, "bench_srv: accept: %s\n", strerror(errno));
			return;
		}
		if (fd >= MAX_FDS) {
			close(fd);
			continue;
		}
		int one = 1;
		if (mode == MODE_HTTP || mode == MODE_ECHO)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = &conns[fd];
		memset(c, 0, sizeof(*c));
		c->open = 1;
		if (mode == MODE_HTTP && !(c->req = malloc(REQ_MAX)))
			die("malloc");
		if (mode == MODE_ECHO && !(c->out = malloc(IOBUF)))
			die("malloc");
		n_accepted++;
		watch(fd, 1);
	}
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: bench_srv http|echo|source|sink ADDR PORT [poll|epoll]\n");
		return 2;
	}
	if (!strcmp(argv[1], "http"))
		mode = MODE_HTTP;
	else if (!strcmp(argv[1], "echo"))
		mode = MODE_ECHO;
	else if (!strcmp(argv[1], "source"))
		mode = MODE_SOURCE;
	else if (!strcmp(argv[1], "sink"))
		mode = MODE_SINK;
	else {
		fprintf(stderr, "bench_srv: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	use_poll = argc == 5 && !strcmp(argv[4], "poll");

	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
	if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1) {
		fprintf(stderr, "bench_srv: bad address '%s'\n", argv[2]);
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(iobuf, 'x', sizeof(iobuf));

	conns = calloc(MAX_FDS, sizeof(*conns));
	pfds = calloc(MAX_FDS, sizeof(*pfds));
	slot_of = calloc(MAX_FDS, sizeof(*slot_of));
	if (!conns || !pfds || !slot_of)
		die("calloc");

	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("bind");
	if (listen(lfd, 4096) < 0)
		die("listen");
	if (set_nonblock(lfd) < 0)
		die("fcntl");
	if (use_poll) {
		pfds[0].fd = lfd;
		pfds[0].events = POLLIN;
		npfds = 1;
		slot_of[lfd] = 0;
	} else {
		if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
			die("epoll_create1");
		struct epoll_event ev = { .events = EPOLLIN };
		ev.data.fd = lfd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
			die("epoll_ctl");
	}
	printf("ready %s:%s %s %s\n", argv[2], argv[3], argv[1], use_poll ? "poll" : "epoll");
	fflush(stdout);

	static struct epoll_event evs[512];
	static struct pollfd snap[MAX_FDS];
	while (!stopping) {
		if (use_poll) {
			/* Serve from a copy: serve() and accept_all() reorder pfds. */
			int n = npfds;
			memcpy(snap, pfds, (size_t)n * sizeof(*snap));
			int r = poll(snap, (nfds_t)n, 200);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die("poll");
			}
			for (int i = 0; i < n && r > 0; i++) {
				short re = snap[i].revents;
				if (!re)
					continue;
				r--;
				int fd = snap[i].fd;
				if (fd == lfd) {
					accept_all(lfd);
					continue;
				}
				if (!conns[fd].open)
					continue;
				if (serve(fd, re & POLLIN, re & POLLOUT, re & (POLLHUP | POLLERR)) < 0)
					drop(fd);
			}
		} else {
			int r = epoll_wait(epfd, evs, 512, 200);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die("epoll_wait");
			}
			for (int i = 0; i < r; i++) {
				int fd = evs[i].data.fd;
				unsigned re = evs[i].events;
				if (fd == lfd) {
					accept_all(lfd);
					continue;
				}
				if (!conns[fd].open)
					continue;
				if (serve(fd, re & EPOLLIN, re & EPOLLOUT, re & (EPOLLHUP | EPOLLERR)) < 0)
					drop(fd);
			}
		}
	}
	printf("stats accepted=%llu requests=%llu bytes_in=%llu bytes_out=%llu\n", n_accepted,
	       n_requests, bytes_in, bytes_out);
	fflush(stdout);
	return 0;
}
