/*
 * What the differential programs (sockdiff.c, fuzzseq.c) share: the
 * addresses and the ports of tests/diff/peer.py, and the way a result line
 * is written (each step at once with write(2), so that what a case printed
 * survives its crash; errno by its name, as on both sides of run.sh's
 * comparison), and the driver's collection of a child's line. Included
 * once per program: its functions are static.
 */
#ifndef PSTACK_TESTS_DIFF_DIFFIO_H
#define PSTACK_TESTS_DIFF_DIFFIO_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PEER     "192.0.2.1"
#define SELF     "192.0.2.2"

/* peer.py's services (its ports: one of each, on PEER). */
enum {
	P_CTL = 7000, P_ECHO = 7001, P_SINK = 7002, P_FIN = 7003, P_RST = 7004, P_STALL = 7005,
	P_OOB = 7006, P_UECHO = 7007, P_USINK = 7008, P_CLOSED = 7009, P_DROP = 7010,
	P_HELLO = 7011, P_URGENT = 7012, P_TTL = 7013, P_UTTL = 7014, P_REPORT = 7015, P_UCLOSED = 7019,
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

/* Ends a result line: the signals seen (seen[s] set by the program's
 * handler), by their names, then the newline. */
static void end_sig_line(const volatile sig_atomic_t *seen)
{
	char b[256] = "";
	size_t n = 0;

	for (int s = 1; s < 65; s++) {
		if (!seen[s])
			continue;
		const char *a = sigabbrev_np(s);

		n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%s", n ? "," : "", a ? a : "?");
		if (n >= sizeof(b))
			break;
	}
	if (n)
		emit("sig=%s", b);
	out("\n", 1);
}

/*
 * The driver's side: the line child pid writes on rd (its stdout, the
 * write end already closed here) within timeout_ms, into buf without its
 * newline; then 10 s more for the child to exit (pstack lingers to finish
 * its connections). tail gets what went wrong: " HANG" (no line in time),
 * " EXIT-HANG", " CRASH SIGx" (" EXIT-CRASH" after the line), " EXIT n";
 * empty when nothing did. rd is closed.
 */
static void collect_line(pid_t pid, int rd, long timeout_ms, char *buf, size_t cap, char *tail, size_t tcap)
{
	struct timespec t0;
	bool done = false, killed = false;
	size_t got = 0;
	int status;

	tail[0] = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The line ends with "\n": until then the child's own time runs. */
	while (!done) {
		long left = timeout_ms - ms_since(&t0);
		struct pollfd pf = { .fd = rd, .events = POLLIN };

		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			kill(pid, SIGKILL);
			killed = true;
			snprintf(tail, tcap, " HANG");
			break;
		}
		ssize_t n = read(rd, buf + got, cap - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		done = memchr(buf, '\n', got) != NULL || got == cap - 1;
	}
	close(rd);
	buf[got] = 0;
	if (got && buf[got - 1] == '\n')
		buf[--got] = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (ms_since(&t0) > timeout_ms + 10000 && !killed) {
			kill(pid, SIGKILL);
			killed = true;
			snprintf(tail, tcap, " EXIT-HANG");
		}
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	if (!killed && WIFSIGNALED(status)) {
		const char *a = sigabbrev_np(WTERMSIG(status));

		snprintf(tail, tcap, " %sCRASH SIG%s", done ? "EXIT-" : "", a ? a : "?");
	} else if (!killed && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(tail, tcap, " EXIT %d", WEXITSTATUS(status));
	}
}

#endif
