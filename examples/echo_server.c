/*
 * echo_server: sends back whatever it receives, over TCP (default) or UDP.
 *
 *   echo_server PORT [udp]
 *
 * Plain POSIX sockets code, nothing pstack-specific: it runs the same with and
 * without LD_PRELOAD=libpstack.so. It binds 0.0.0.0:PORT, prints one line
 * "echo_server: listening on 0.0.0.0:PORT (tcp|udp)" once it is ready (the
 * end-to-end tests wait for that line), and serves any number of TCP clients
 * from one thread with poll(). It stops on SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int open_listener(int type, unsigned short port)
{
	struct sockaddr_in sin;
	int one = 1;
	int fd = socket(AF_INET, type, 0);

	if (fd < 0) {
		perror("echo_server: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("echo_server: bind");
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 16) < 0) {
		perror("echo_server: listen");
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf, or returns -1. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int serve_udp(int fd)
{
	static char buf[65536];

	while (!stopping) {
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("echo_server: recvfrom");
			return 1;
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen) < 0)
			perror("echo_server: sendto");
	}
	return 0;
}

static int serve_tcp(int lfd)
{
	static char buf[65536];
	struct pollfd pfd[1 + MAX_CLIENTS];
	nfds_t n = 1;

	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	while (!stopping) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("echo_server: poll");
			return 1;
		}
		/* Clients first, so that closing one (which moves the last into
		 * its slot) never skips a ready descriptor. */
		for (nfds_t i = n - 1; i >= 1; i--) {
			ssize_t got;

			if (!pfd[i].revents)
				continue;
			got = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0 || write_all(pfd[i].fd, buf, (size_t)got) < 0) {
				close(pfd[i].fd);
				pfd[i] = pfd[--n];
			}
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept(lfd, NULL, NULL);

			if (cfd < 0) {
				if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
					perror("echo_server: accept");
			} else if (n == 1 + MAX_CLIENTS) {
				close(cfd);
			} else {
				pfd[n].fd = cfd;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				n++;
			}
		}
	}
	for (nfds_t i = 1; i < n; i++)
		close(pfd[i].fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int udp, fd, rc;
	char *end;
	long port;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "udp") && strcmp(argv[2], "tcp"))) {
		fprintf(stderr, "usage: %s PORT [udp|tcp]\n", argv[0]);
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "echo_server: bad port '%s'\n", argv[1]);
		return 2;
	}
	udp = argc == 3 && !strcmp(argv[2], "udp");

	/* No SA_RESTART: a signal must end the blocking call so the loop sees `stopping`. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fd = open_listener(udp ? SOCK_DGRAM : SOCK_STREAM, (unsigned short)port);
	if (fd < 0)
		return 1;
	printf("echo_server: listening on 0.0.0.0:%ld (%s)\n", port, udp ? "udp" : "tcp");
	fflush(stdout);
	rc = udp ? serve_udp(fd) : serve_tcp(fd);
	close(fd);
	return rc;
}
