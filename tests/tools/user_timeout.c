/*
 * user_timeout: a client with TCP_USER_TIMEOUT whose peer disappears. It shows
 * how a blocked send() or recv() ends when the peer stops answering: with
 * ETIMEDOUT once the data has gone unacknowledged for the configured time
 * (RFC 5482; Linux tcp(7) TCP_USER_TIMEOUT), and never by hanging.
 *
 *   user_timeout [-u MS] [-m send|recv] [-f BYTES] [-T SECONDS] HOST PORT
 *
 *   -u MS       TCP_USER_TIMEOUT in milliseconds, set before connect() and
 *               read back with getsockopt() (default 5000)
 *   -m send     (default) send 64 KiB at a time with blocking send() to a
 *               peer that reads everything, until a send() fails
 *   -m recv     connect, then wait for SIGUSR1 (taking the peer away is the
 *               caller's job); then send 64 KiB (it fits in the send buffer,
 *               so send() returns at once) and block in recv() until it fails
 *   -f BYTES    send mode: print "flowing" once this many bytes were sent
 *               (default 4 MiB), so that a caller knows the transfer runs
 *   -T SECONDS  bound on the whole run (default 120): still blocked then is a
 *               hang, reported as such (exit 3)
 *
 * Plain sockets: it runs on the kernel's stack (the reference) or under the
 * preload (the stack under test), unchanged.
 *
 * Output, one line each, flushed at once:
 *   user_timeout: connected, TCP_USER_TIMEOUT=MS
 *   user_timeout: flowing                      (send mode)
 *   user_timeout: data sent, waiting in recv() (recv mode, after SIGUSR1)
 *   user_timeout: send|recv failed: errno=NAME (text) after BYTES bytes,
 *                 at=EPOCH.SSS, blocked=MS ms, previous send()=N
 * "previous send()" is what the send() before the failing call returned: a
 * short count there means the error came with the next call (as it must: the
 * kernel keeps a pending error for the call after a partial send).
 * "at" is the wall clock (CLOCK_REALTIME) when the call failed, so that a
 * caller can measure from its own event; "blocked" is how long the failing
 * call itself was blocked (CLOCK_MONOTONIC).
 * Exit status: 0 when the call failed with ETIMEDOUT, 1 on any other error
 * (or a recv() that returned data or end of file), 2 on a usage error, 3 when
 * the -T bound ran out first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif

#define CHUNK 65536

static char buf[CHUNK];
static ssize_t prev_send = -1;     /* what the send() before the last one returned */

static void usage(void)
{
	fprintf(stderr, "usage: user_timeout [-u MS] [-m send|recv] [-f BYTES] [-T SECONDS] HOST PORT\n");
	exit(2);
}

static void on_alarm(int sig)
{
	static const char msg[] = "user_timeout: still blocked at the -T bound: a hang\n";
	ssize_t rc;

	(void)sig;
	rc = write(1, msg, sizeof(msg) - 1);
	(void)rc;
	_exit(3);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *errno_name(int e)
{
	switch (e) {
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case EPIPE: return "EPIPE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case ENETDOWN: return "ENETDOWN";
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case ENOTCONN: return "ENOTCONN";
	case EIO: return "EIO";
	case 0: return "none";
	default: return "other";
	}
}

/* failed: reports how CALL ended (errno E, or none for a recv() that
 * returned R >= 0) and returns the exit status. */
static int failed(const char *call, int e, long long total, uint64_t since)
{
	struct timespec now;
	uint64_t blocked = mono_ms() - since;

	clock_gettime(CLOCK_REALTIME, &now);
	printf("user_timeout: %s failed: errno=%s (%s) after %lld bytes, at=%lld.%03ld, blocked=%llu ms, "
	       "previous send()=%zd\n",
	       call, errno_name(e), e ? strerror(e) : "no error", total, (long long)now.tv_sec,
	       now.tv_nsec / 1000000, (unsigned long long)blocked, prev_send);
	fflush(stdout);
	return e == ETIMEDOUT ? 0 : 1;
}

int main(int argc, char **argv)
{
	long user_ms = 5000, bound = 120;
	long long flowing = 4LL << 20, total = 0;
	const char *mode = "send";
	struct sockaddr_in a;
	int opt, fd, v;
	socklen_t vl = sizeof(v);
	uint64_t t;
	ssize_t r;

	while ((opt = getopt(argc, argv, "u:m:f:T:")) != -1) {
		switch (opt) {
		case 'u': user_ms = atol(optarg); break;
		case 'm': mode = optarg; break;
		case 'f': flowing = atoll(optarg); break;
		case 'T': bound = atol(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || user_ms <= 0 || bound <= 0 ||
	    (strcmp(mode, "send") != 0 && strcmp(mode, "recv") != 0))
		usage();
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &a.sin_addr) != 1)
		usage();
	signal(SIGALRM, on_alarm);
	alarm((unsigned)bound);
	memset(buf, 'u', sizeof(buf));

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("user_timeout: socket");
		return 1;
	}
	v = (int)user_ms;
	if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)) != 0) {
		perror("user_timeout: setsockopt TCP_USER_TIMEOUT");
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("user_timeout: connect");
		return 1;
	}
	v = 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &vl) != 0 || v != user_ms) {
		fprintf(stderr, "user_timeout: getsockopt TCP_USER_TIMEOUT gave %d, not %ld\n", v, user_ms);
		return 1;
	}
	printf("user_timeout: connected, TCP_USER_TIMEOUT=%d\n", v);
	fflush(stdout);

	if (strcmp(mode, "send") == 0) {
		for (;;) {
			t = mono_ms();
			r = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				return failed("send", errno, total, t);
			}
			if (total < flowing && total + r >= flowing) {
				printf("user_timeout: flowing\n");
				fflush(stdout);
			}
			total += r;
			prev_send = r;
		}
	}

	/* recv mode: the caller takes the peer away, then says so with SIGUSR1. */
	{
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		printf("user_timeout: waiting for SIGUSR1\n");
		fflush(stdout);
		if (sigwait(&set, &sig) != 0) {
			perror("user_timeout: sigwait");
			return 1;
		}
	}
	r = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
	if (r < 0)
		return failed("send", errno, total, mono_ms());
	total = r;
	prev_send = r;
	printf("user_timeout: data sent, waiting in recv()\n");
	fflush(stdout);
	t = mono_ms();
	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return failed("recv", errno, total, t);
	fprintf(stderr, "user_timeout: recv() returned %zd, not an error\n", r);
	return failed("recv", 0, total, t);
}
