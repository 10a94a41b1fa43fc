/*
 * echo_epoll: a TCP echo server for many connections (epoll, non-blocking),
 * written the way a real server is: plain POSIX sockets, RLIMIT_NOFILE raised,
 * a large listen backlog. It is the server that the load tests run under the
 * preload (examples/echo_server is small on purpose: poll, at most 64 clients).
 *
 *   echo_epoll [-b BACKLOG] [-C BYTES] [-n NOFILE] PORT
 *
 *   -b BACKLOG  listen backlog (default 4096)
 *   -C BYTES    close a connection (server side first) once it has echoed
 *               this many bytes, so that TIME_WAIT lands on the server
 *   -n NOFILE   raise RLIMIT_NOFILE to this (default 65536)
 *
 * Prints "echo_epoll: listening on 0.0.0.0:PORT" when ready, and on SIGTERM
 * or SIGINT "echo_epoll: accepted=A closed=C open=O peak=P" before it exits.
 * On SIGUSR1 it prints the same line and goes on.
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
#include <unistd.h>

struct client {
	int fd;
	size_t echoed;          /* bytes sent back so far */
	uint8_t *pending;       /* bytes read but not yet sent back */
	size_t pend_off, pend_len;
};

static volatile sig_atomic_t stopping, report;
static unsigned long accepted, closed_n, open_n, peak;
static size_t close_after;
static int ep;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stopping = 1;
}

static void drop(struct client *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pending);
	free(c);
	closed_n++;
	open_n--;
}

static void set_events(struct client *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is pending; 0 when all sent, 1 when blocked, -1 on error. */
static int flush(struct client *c)
{
	while (c->pend_off < c->pend_len) {
		ssize_t n = send(c->fd, c->pending + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return -1;
		c->pend_off += (size_t)n;
		c->echoed += (size_t)n;
	}
	free(c->pending);
	c->pending = NULL;
	c->pend_off = c->pend_len = 0;
	return 0;
}

static void serve(struct client *c, uint32_t events)
{
	static uint8_t buf[65536];

	if (c->pending) {
		int r = flush(c);

		if (r < 0) {
			drop(c);
			return;
		}
		if (r > 0)
			return;
		/* Drained: read again. */
		set_events(c, EPOLLIN);
	}
	if (close_after && c->echoed >= close_after) {
		drop(c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(c);
			return;
		}
		c->pending = malloc((size_t)n);
		if (!c->pending) {
			drop(c);
			return;
		}
		memcpy(c->pending, buf, (size_t)n);
		c->pend_len = (size_t)n;
		int r = flush(c);

		if (r < 0) {
			drop(c);
			return;
		}
		if (r > 0) {
			/* The peer is slow to read: stop reading until it catches up. */
			set_events(c, EPOLLOUT);
			return;
		}
		if (close_after && c->echoed >= close_after) {
			drop(c);
			return;
		}
	}
}

static void stats(void)
{
	printf("echo_epoll: accepted=%lu closed=%lu open=%lu peak=%lu\n", accepted, closed_n, open_n, peak);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct sigaction sa;
	struct rlimit rl;
	int backlog = 4096, opt, one = 1, lfd;
	rlim_t nofile = 65536;
	long port;

	while ((opt = getopt(argc, argv, "b:C:n:")) != -1) {
		switch (opt) {
		case 'b': backlog = atoi(optarg); break;
		case 'C': close_after = (size_t)strtoul(optarg, NULL, 10); break;
		case 'n': nofile = (rlim_t)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: echo_epoll [-b BACKLOG] [-C BYTES] [-n NOFILE] PORT\n");
			return 2;
		}
	}
	if (argc - optind != 1 || (port = strtol(argv[optind], NULL, 10)) < 1 || port > 65535) {
		fprintf(stderr, "usage: echo_epoll [-b BACKLOG] [-C BYTES] [-n NOFILE] PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nofile) {
		rl.rlim_cur = nofile;
		if (rl.rlim_max < nofile)
			rl.rlim_max = nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			/* No CAP_SYS_RESOURCE: as far as the hard limit goes. */
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0) {
		perror("echo_epoll: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, backlog) < 0) {
		perror("echo_epoll: bind/listen");
		return 1;
	}
	ep = epoll_create1(0);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("echo_epoll: epoll");
		return 1;
	}
	printf("echo_epoll: listening on 0.0.0.0:%ld\n", port);
	fflush(stdout);

	while (!stopping) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);

		if (report) {
			report = 0;
			stats();
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("echo_epoll: epoll_wait");
			return 1;
		}
		for (int k = 0; k < n; k++) {
			if (evs[k].data.ptr) {
				serve(evs[k].data.ptr, evs[k].events);
				continue;
			}
			/* The listener: take everything queued. */
			for (;;) {
				int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (cfd < 0) {
					if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
						perror("echo_epoll: accept4");
					/* EMFILE and friends: try again on the next wakeup. */
					break;
				}
				struct client *c = calloc(1, sizeof(*c));
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

				if (!c || (c->fd = cfd, epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) < 0)) {
					perror("echo_epoll: client");
					close(cfd);
					free(c);
					continue;
				}
				accepted++;
				if (++open_n > peak)
					peak = open_n;
			}
		}
	}
	stats();
	close(lfd);
	return 0;
}
