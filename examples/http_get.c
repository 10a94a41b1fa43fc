/*
 * http_get: a minimal HTTP/1.0 client.
 *
 *   http_get HOST PORT PATH
 *
 * Sends "GET PATH HTTP/1.0", writes the response body to stdout byte for byte
 * and the status line to stderr. Exit status: 0 for a 2xx answer, 1 for any
 * other answer or a network error, 2 for bad arguments.
 *
 * Plain POSIX sockets code, nothing pstack-specific: it runs the same with and
 * without LD_PRELOAD=libpstack.so. HOST may be a name; note that glibc's own
 * DNS resolver is not intercepted by the preload (see README.md), so names
 * are resolved by the kernel's network.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 16384

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "http_get: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		fprintf(stderr, "http_get: connect to %s port %s: %s\n", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	char head[HEAD_MAX + 1];
	size_t headlen = 0;
	int fd, status = 0, in_body = 0;
	char *req;
	int reqlen;

	if (argc != 4 || argv[3][0] != '/') {
		fprintf(stderr, "usage: %s HOST PORT /PATH\n", argv[0]);
		return 2;
	}
	fd = dial(argv[1], argv[2]);
	if (fd < 0)
		return 1;
	reqlen = asprintf(&req, "GET %s HTTP/1.0\r\nHost: %s:%s\r\nUser-Agent: pstack-http_get\r\n"
			  "Connection: close\r\n\r\n", argv[3], argv[1], argv[2]);
	if (reqlen < 0 || write_all(fd, req, (size_t)reqlen) < 0) {
		perror("http_get: send");
		return 1;
	}
	free(req);

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("http_get: read");
			return 1;
		}
		if (n == 0)
			break;
		if (in_body) {
			if (write_all(1, buf, (size_t)n) < 0)
				return 1;
			continue;
		}
		/* Still in the header: collect it until the blank line. */
		size_t take = (size_t)n < HEAD_MAX - headlen ? (size_t)n : HEAD_MAX - headlen;
		memcpy(head + headlen, buf, take);
		headlen += take;
		head[headlen] = 0;
		char *blank = strstr(head, "\r\n\r\n");
		if (!blank) {
			if (headlen == HEAD_MAX) {
				fprintf(stderr, "http_get: response header too long\n");
				return 1;
			}
			continue;
		}
		size_t body_off = (size_t)(blank + 4 - head);
		size_t early = headlen - body_off; /* body bytes already in head */

		*strstr(head, "\r\n") = 0;
		fprintf(stderr, "http_get: %s\n", head);
		if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1) {
			fprintf(stderr, "http_get: not an HTTP response\n");
			return 1;
		}
		in_body = 1;
		if (write_all(1, head + body_off, early) < 0 ||
		    write_all(1, buf + take, (size_t)n - take) < 0)
			return 1;
	}
	close(fd);
	if (!in_body) {
		fprintf(stderr, "http_get: connection closed before the response header ended\n");
		return 1;
	}
	return status >= 200 && status < 300 ? 0 : 1;
}
