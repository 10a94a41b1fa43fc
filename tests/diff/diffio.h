/*
 * What the differential programs (sockdiff.c, fuzzseq.c) share: the
 * addresses and the ports of tests/diff/peer.py, and the way a result line
 * is written (each step at once with write(2), so that what a case printed
 * survives its crash; errno by its name, as on both sides of run.sh's
 * comparison). Included once per program: its functions are static.
 */
#ifndef PSTACK_TESTS_DIFF_DIFFIO_H
#define PSTACK_TESTS_DIFF_DIFFIO_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PEER     "192.0.2.1"
#define SELF     "192.0.2.2"

/* peer.py's services (its ports: one of each, on PEER). */
enum {
	P_CTL = 7000, P_ECHO = 7001, P_SINK = 7002, P_FIN = 7003, P_RST = 7004, P_STALL = 7005,
	P_OOB = 7006, P_UECHO = 7007, P_USINK = 7008, P_CLOSED = 7009, P_DROP = 7010,
	P_HELLO = 7011, P_URGENT = 7012, P_TTL = 7013, P_UTTL = 7014, P_UCLOSED = 7019,
};

static void out(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One step of the line: a space, then the text. Written at once, so that
 * what a case printed survives its crash. */
__attribute__((format(printf, 1, 2)))
static void emit(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	b[0] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(b + 1, sizeof(b) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(b) - 2)
		n = (int)sizeof(b) - 2;
	out(b, (size_t)n + 1);
}

/* errno's name ("0" for none, "E<n>" for one glibc does not name). */
static const char *ename(int e)
{
	static char b[16];
	const char *s = e ? strerrorname_np(e) : "0";

	if (s)
		return s;
	snprintf(b, sizeof(b), "E%d", e);
	return b;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

#endif
