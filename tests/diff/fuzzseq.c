/*
 * fuzzseq: random socket-call sequences for the differential harness.
 *
 * Where sockdiff (tests/diff/sockdiff.c) runs hand-written cases, fuzzseq
 * builds each case from a seed: 5 to 20 socket calls on 1 to 3 sockets (TCP
 * and UDP, AF_INET and dual-stack AF_INET6), with odd arguments (NULL, short
 * lengths, bad descriptors, wrong families, odd option lengths and values),
 * against the peer of tests/diff/peer.py (192.0.2.1) and against its own
 * sockets. The same seed makes the same calls on the kernel and under the
 * preload; tests/diff/run.sh -x runs both and compares the lines.
 *
 *   fuzzseq [-p PRELOAD] [-s FIRST] [-n COUNT] [-v]
 *     -p  each seed runs in a fresh process with LD_PRELOAD=PRELOAD
 *     -s, -n  the seeds FIRST .. FIRST+COUNT-1 (default 1, 100)
 *     -v  the line also names each call's arguments (for reading a seed)
 *   fuzzseq -r SEED   runs one seed in this process
 *
 * A line is "fzSEED: step step ... sig=SIGNALS", a step "op=result": the
 * return value or the errno name, then the out-parameters that must agree
 * ("fd" for a new descriptor; ports as k0..k2 for the seed's own, the
 * peer's as numbers, "eph" for ephemeral ones). CRASH and HANG as sockdiff.
 *
 * What the peer does takes time; no result may depend on it. The program
 * keeps a model of what it expects (bytes the echo peer or its own other end
 * will send, a FIN, a RST, a connection in a listener's queue, a connect that
 * is under way) and after every call waits, with a bound (WAIT_MS), until the
 * socket shows it (poll, FIONREAD, SIOCOUTQ); UDP is settled by a barrier
 * datagram through the same paths (its own address, the peer's echo). A wait
 * that ran out prints "~T" and what it waited for. Calls that would block
 * for good (accept on an empty queue, recv with nothing coming, connect to
 * the silent port) are made non-blocking by the model, never timed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/diff/diffio.h"

#define WAIT_MS 3000
#define SEED_TIMEOUT_MS 20000


/* ---- output ---- */

static bool verbose;

/* Appends to the current step without a space. */
__attribute__((format(printf, 1, 2)))
static void more(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		out(b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* The step "NAME=RESULT"; returns the call's value (errno stays). */
static long step_r;
static int step_e;
static char tag[16];              /* which descriptor the call is on: s0.., or a bad one (-v) */

static long result(const char *name, long r, int e, bool fd)
{
	step_r = r;
	step_e = e;
	if (r == -1)
		emit("%s%s=%s", verbose ? tag : "", name, ename(e));
	else if (fd)
		emit("%s%s=fd", verbose ? tag : "", name);
	else
		emit("%s%s=%ld", verbose ? tag : "", name, r);
	if (r != -1 && e != 0)
		more("/errno=%s", ename(e));
	errno = e;
	return r;
}

/* The call first, then errno (a function's arguments have no order). */
static long rtmp;
#define R(name, expr)   (errno = 0, rtmp = (long)(expr), result(name, rtmp, errno, false))
#define RFD(name, expr) (errno = 0, rtmp = (long)(expr), result(name, rtmp, errno, true))

static volatile sig_atomic_t sig_seen[65];

static void on_sig(int s)
{
	sig_seen[s] = 1;
}

static void end_line(void)
{
	char b[256] = "";
	size_t n = 0;

	for (int s = 1; s < 65; s++) {
		if (!sig_seen[s])
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

/* ---- the seed's random numbers (splitmix64) ---- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return n ? (uint32_t)(z % n) : 0;
}

static bool chance(int pct)
{
	return (int)rnd(100) < pct;
}

/* ---- the model ---- */

enum pkind { PK_NONE, PK_ECHO, PK_SINK, PK_FIN, PK_RST, PK_HELLO, PK_CLOSED, PK_DROP, PK_LOCAL,
	     PK_UECHO, PK_USINK, PK_UCLOSED };
enum st { ST_NEW, ST_LISTEN, ST_CONNECTING, ST_CONN, ST_DEAD, ST_QUEUED, ST_GONE };

#define MAXM 12
#define MAXF 6
#define NPORTS 3

struct msock {
	enum st st;
	int type, fam;
	bool nonblock, rcvtimeo, linger0, wr_shut, rd_shut, cork;
	bool shut_early;        /* shutdown() before a connection: Linux keeps the bits (hang-ups show at once) */
	int port;               /* own port index bound (0..2), -1 none, 9 ephemeral */
	enum pkind peer;        /* who is at the other end (TCP), or the connected UDP target */
	int other;              /* PK_LOCAL: the msock at the other end, -1 gone */
	int lport;              /* ST_CONNECTING to own port: its index */
	int in_expect;          /* TCP bytes that will be readable */
	bool eof_expect, err_expect;
	int dgrams;             /* UDP datagrams that will be readable */
	int backlog, q[8], qlen; /* a listener's queue: msocks in ST_QUEUED */
	int refs;
};

static struct msock ms[MAXM];
static struct { int fd, m; } fds[MAXF];
static int nfds, nsocks;
static int stale[8], nstale;     /* numbers of closed descriptors */
static int devnull = -1, barrier_fd = -1, ctl_fd = -1;
static int port_base;
static bool udp_dirty;

static int own_port(int i)
{
	return port_base + i;
}

static void port_str(char *b, size_t n, unsigned port)
{
	for (int i = 0; i < NPORTS; i++)
		if ((int)port == own_port(i)) {
			snprintf(b, n, "k%d", i);
			return;
		}
	if (port == 0 || port < 10000)
		snprintf(b, n, "%u", port);
	else
		snprintf(b, n, "eph");
}

static void show_addr(const void *sa, socklen_t len)
{
	const struct sockaddr *s = sa;
	char ip[INET6_ADDRSTRLEN] = "?", port[16] = "?";

	if (len >= sizeof(struct sockaddr_in) && s->sa_family == AF_INET) {
		const struct sockaddr_in *a = sa;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port_str(port, sizeof(port), ntohs(a->sin_port));
		more("/%s:%s", ip, port);
	} else if (len >= sizeof(struct sockaddr_in6) && s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = sa;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port_str(port, sizeof(port), ntohs(a->sin6_port));
		more("/[%s]:%s", ip, port);
	} else if (len >= sizeof(sa_family_t)) {
		more("/fam%d", s->sa_family);
	}
	more("/len%u", (unsigned)len);
}

static int new_msock(int type, int fam)
{
	for (int i = 0; i < MAXM; i++)
		if (ms[i].st == ST_GONE) {
			ms[i] = (struct msock){ .st = ST_NEW, .type = type, .fam = fam, .port = -1,
						.other = -1, .lport = -1 };
			return i;
		}
	return -1;
}

static void add_fd(int fd, int m)
{
	if (nfds == MAXF || m < 0)
		return;
	fds[nfds].fd = fd;
	fds[nfds].m = m;
	nfds++;
	ms[m].refs++;
}

static bool peer_live(enum pkind p)
{
	return p == PK_ECHO || p == PK_SINK || p == PK_HELLO;
}

/* The other end of M's connection goes away: with a RST when RST. */
static void other_gone(int m, bool rst)
{
	int o = ms[m].other;

	if (o < 0 || ms[o].st == ST_GONE)
		return;
	ms[o].other = -1;
	if (rst) {
		ms[o].err_expect = true;
		ms[o].in_expect = 0;
	} else {
		ms[o].eof_expect = true;
	}
}

static void free_msock(int m);

/* The model's close(): the socket's last reference went. */
static void last_close(int m)
{
	struct msock *k = &ms[m];

	if (k->type == SOCK_STREAM) {
		if (k->st == ST_LISTEN) {
			/* Linux's inet_csk_listen_stop: the queued connections are reset. */
			for (int i = 0; i < k->qlen; i++) {
				other_gone(k->q[i], true);
				free_msock(k->q[i]);
			}
			k->qlen = 0;
		} else if (k->peer == PK_LOCAL) {
			/* Unread data or SO_LINGER 0: a RST (tcp_close). */
			other_gone(m, k->in_expect > 0 || k->linger0);
		}
	}
	free_msock(m);
}

static void free_msock(int m)
{
	/* A local peer that pointed here loses its end. */
	for (int i = 0; i < MAXM; i++)
		if (ms[i].st != ST_GONE && ms[i].other == m)
			ms[i].other = -1;
	ms[m].st = ST_GONE;
}

/* ---- the settling waits ---- */

static int poll1(int fd, short ev, int ms_)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	while ((r = poll(&p, 1, ms_)) < 0 && errno == EINTR)
		;
	return r == 1 ? p.revents : 0;
}

enum wcond { W_IN, W_OUT_DONE, W_BYTES, W_BYTES_ONLY, W_EOF, W_EOF_INFO, W_ERR, W_OUTQ };

/* True once FD shows COND (N: bytes). */
static bool holds(int fd, enum wcond c, int n)
{
	int rev = poll1(fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0), v = 0;

	switch (c) {
	case W_IN:
		return rev & (POLLIN | POLLERR | POLLHUP);
	case W_OUT_DONE:
		/* Not POLLHUP: a shutdown() before connect() (ENOTCONN, but
		 * Linux's inet_shutdown keeps the flags) shows it at once,
		 * with the handshake under way. */
		return rev & (POLLOUT | POLLERR);
	case W_BYTES:
		if (rev & (POLLERR | POLLHUP | POLLRDHUP))
			return true;
		/* fall through */
	case W_BYTES_ONLY:
		if (rev & POLLERR)
			return true;
		return ioctl(fd, FIONREAD, &v) == 0 && v >= n;
	case W_EOF:
		return rev & (POLLRDHUP | POLLERR | POLLHUP);
	case W_EOF_INFO: {
		/* The peer's FIN as TCP_INFO's state says it (TIME_WAIT,
		 * CLOSE, CLOSE_WAIT, LAST_ACK, CLOSING), where the hang-ups
		 * show at once. */
		struct tcp_info ti;
		socklen_t l = sizeof(ti);

		if (rev & POLLERR)
			return true;
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) != 0)
			return true;
		return ti.tcpi_state == 6 || ti.tcpi_state == 7 || ti.tcpi_state == 8 ||
		       ti.tcpi_state == 9 || ti.tcpi_state == 11;
	}
	case W_ERR:
		return rev & (POLLERR | POLLHUP);
	case W_OUTQ:
		/* Not POLLHUP: shutdown(SHUT_RDWR) shows it at once, with
		 * its FIN still to be acknowledged. */
		if (rev & POLLERR)
			return true;
		return ioctl(fd, SIOCOUTQ, &v) == 0 && v == 0;
	}
	return true;
}

static bool wait_for(int fd, enum wcond c, int n, const char *what)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!holds(fd, c, n)) {
		if (ms_since(&t0) > WAIT_MS) {
			emit("~T%s", what);
			return false;
		}
		poll1(fd, c == W_IN ? POLLIN : c == W_OUT_DONE ? POLLOUT : c == W_EOF ? POLLRDHUP : 0, 2);
	}
	return true;
}

static int fd_of(int m)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i].m == m)
			return fds[i].fd;
	return -1;
}

static int listener_at(int pi)
{
	for (int i = 0; i < MAXM; i++)
		if (ms[i].st == ST_LISTEN && ms[i].port == pi)
			return i;
	return -1;
}

/* A connection from M reached the listener L: the model's child. */
static void queue_child(int l, int m, enum pkind from)
{
	int c;

	if (l < 0 || ms[l].qlen == 8 || (c = new_msock(SOCK_STREAM, ms[l].fam)) < 0)
		return;
	ms[c].st = ST_QUEUED;
	ms[c].peer = from;
	ms[c].port = ms[l].port;
	if (from == PK_LOCAL) {
		ms[c].other = m;
		ms[m].other = c;
	} else if (from == PK_HELLO) {
		ms[c].in_expect = 12;
	} else if (from == PK_FIN) {
		ms[c].eof_expect = true;
	} else if (from == PK_RST) {
		ms[c].err_expect = true;
	}
	ms[l].q[ms[l].qlen++] = c;
}

/* UDP: a datagram to its own address, then one through the peer's echo;
 * what was sent before either has arrived once they are back. */
static void barrier(void)
{
	struct sockaddr_in me;
	socklen_t l = sizeof(me);
	char b[8];
	struct sockaddr_in pe = { .sin_family = AF_INET, .sin_port = htons(P_UECHO) };

	inet_pton(AF_INET, PEER, &pe.sin_addr);
	if (getsockname(barrier_fd, (struct sockaddr *)&me, &l) == 0 &&
	    sendto(barrier_fd, "b", 1, 0, (struct sockaddr *)&me, l) == 1 &&
	    wait_for(barrier_fd, W_IN, 0, "barrier-self"))
		recv(barrier_fd, b, sizeof(b), MSG_DONTWAIT);
	if (sendto(barrier_fd, "p", 1, 0, (struct sockaddr *)&pe, sizeof(pe)) == 1 &&
	    wait_for(barrier_fd, W_IN, 0, "barrier-peer"))
		recv(barrier_fd, b, sizeof(b), MSG_DONTWAIT);
}

static void settle(void)
{
	/* Connects first: their completion queues children on listeners. */
	for (int m = 0; m < MAXM; m++) {
		struct msock *k = &ms[m];
		int fd = fd_of(m);

		if (k->st != ST_CONNECTING || fd < 0)
			continue;
		if (k->peer == PK_DROP)
			continue;       /* never completes */
		wait_for(fd, W_OUT_DONE, 0, "connect");
		if (k->peer == PK_CLOSED) {
			k->st = ST_DEAD;
			k->err_expect = true;
		} else if (k->peer == PK_LOCAL) {
			int l = listener_at(k->lport);

			if (k->lport == k->port && l < 0) {
				k->st = ST_CONN;        /* itself */
				k->other = m;
			} else if (l >= 0) {
				k->st = ST_CONN;
				queue_child(l, m, PK_LOCAL);
			} else {
				k->st = ST_DEAD;
				k->err_expect = true;
			}
		} else {
			k->st = ST_CONN;
			if (k->peer == PK_HELLO)
				k->in_expect += 12;
			if (k->peer == PK_FIN)
				k->eof_expect = true;
		}
	}
	for (int m = 0; m < MAXM; m++) {
		struct msock *k = &ms[m];
		int fd = fd_of(m);

		if (fd < 0 || k->type != SOCK_STREAM)
			continue;
		if (k->st == ST_LISTEN && k->qlen > 0)
			wait_for(fd, W_IN, 0, "accept-queue");
		if (k->st != ST_CONN && k->st != ST_DEAD)
			continue;
		if (k->err_expect)
			wait_for(fd, W_ERR, 0, "rst");
		if (k->eof_expect)
			wait_for(fd, k->shut_early ? W_EOF_INFO : W_EOF, 0, "fin");
		if (k->in_expect > 0)
			wait_for(fd, k->shut_early ? W_BYTES_ONLY : W_BYTES, k->in_expect, "bytes");
		/* The peer that closed at once (PK_FIN) still acknowledges a FIN. */
		if (k->st == ST_CONN && !k->err_expect &&
		    (peer_live(k->peer) || k->peer == PK_LOCAL || k->peer == PK_FIN))
			wait_for(fd, W_OUTQ, 0, "outq");
	}
	if (udp_dirty) {
		barrier();
		udp_dirty = false;
	}
}

/* ---- addresses ---- */

enum tgt { T_ECHO, T_SINK, T_FIN, T_RST, T_HELLO, T_CLOSED, T_DROP, T_UECHO, T_USINK, T_UCLOSED,
	   T_OWN0, T_OWN1, T_OWN2, T_SELFADDR, T_ANY0, T_NOBODY, N_TGT };
static const int tgt_port[] = { P_ECHO, P_SINK, P_FIN, P_RST, P_HELLO, P_CLOSED, P_DROP, P_UECHO,
				P_USINK, P_UCLOSED };
static const enum pkind tgt_kind[] = { PK_ECHO, PK_SINK, PK_FIN, PK_RST, PK_HELLO, PK_CLOSED,
				       PK_DROP, PK_UECHO, PK_USINK, PK_UCLOSED };

/* Builds the address FAM's socket would use for IP:PORT (v4-mapped for AF_INET6). */
static socklen_t mkaddr(struct sockaddr_storage *ss, int fam, const char *ip, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		char m[64];

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (strcmp(ip, "0.0.0.0") == 0)
			snprintf(m, sizeof(m), "::");
		else
			snprintf(m, sizeof(m), "::ffff:%s", ip);
		inet_pton(AF_INET6, m, &a->sin6_addr);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return sizeof(*a);
}

/* An address argument with the oddities: the family of the other kind, a
 * short or long length, NULL. Says what it built in NAME. */
static const struct sockaddr *odd_addr(struct sockaddr_storage *ss, socklen_t *len, int fam,
				       const char *ip, int port, char *name, size_t nn)
{
	int v = (int)rnd(100), f = fam;

	if (v < 6) {
		*len = (socklen_t)rnd(2) * 16;
		snprintf(name, nn, "NULL/%u", (unsigned)*len);
		return NULL;
	}
	if (v < 14)
		f = fam == AF_INET ? AF_INET6 : AF_INET;
	*len = mkaddr(ss, f, ip, port);
	if (v >= 14 && v < 22) {
		static const socklen_t odd[] = { 0, 1, 2, 8, 15, 16, 23, 27, 29, 128, 200 };

		*len = odd[rnd(sizeof(odd) / sizeof(odd[0]))];
	} else if (v >= 22 && v < 25) {
		ss->ss_family = (sa_family_t)(rnd(2) ? AF_UNSPEC : AF_UNIX);
	}
	snprintf(name, nn, "%s%s:%d/%u", ss->ss_family == AF_INET ? "" : ss->ss_family == AF_INET6 ? "6" :
		 ss->ss_family == AF_UNSPEC ? "U" : "X", ip, port, (unsigned)*len);
	return (struct sockaddr *)ss;
}

/* ---- the calls ---- */

/* A descriptor to call on: mostly one of ours, sometimes a bad one. M gets
 * the model's socket (-1 for a bad one). */
static int pick_fd(int *m)
{
	*m = -1;
	if (nfds > 0 && !chance(12)) {
		int i = (int)rnd((uint32_t)nfds);

		*m = fds[i].m;
		snprintf(tag, sizeof(tag), "s%d.", *m);
		return fds[i].fd;
	}
	switch (rnd(4)) {
	case 0: snprintf(tag, sizeof(tag), "neg."); return -1;
	case 1: snprintf(tag, sizeof(tag), "unused."); return 1000;
	case 2: snprintf(tag, sizeof(tag), "file."); return devnull;
	default:
		snprintf(tag, sizeof(tag), "stale.");
		return nstale ? stale[rnd((uint32_t)nstale)] : 999;
	}
}

static char nm[128];

static void op_socket(void)
{
	int fam = rnd(2) ? AF_INET6 : AF_INET, type = rnd(2) ? SOCK_STREAM : SOCK_DGRAM, proto = 0;
	int flags = 0, v = (int)rnd(100);

	if (rnd(3) == 0)
		flags |= SOCK_NONBLOCK;
	if (rnd(4) == 0)
		flags |= SOCK_CLOEXEC;
	if (v < 20)
		proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	else if (v < 24)
		proto = type == SOCK_STREAM ? IPPROTO_UDP : IPPROTO_TCP;
	else if (v < 26)
		type = SOCK_SEQPACKET;
	else if (v < 28)
		type = SOCK_RAW;
	else if (v < 30)
		flags |= 0x4000;        /* an unknown type flag */
	snprintf(nm, sizeof(nm), "socket(%s,%s%s%s,%d)", fam == AF_INET ? "in" : "in6",
		 type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : type == SOCK_RAW ? "raw" : "seq",
		 flags & SOCK_NONBLOCK ? "|nb" : "", flags & SOCK_CLOEXEC ? "|ce" : "", proto);
	int fd = (int)RFD(verbose ? nm : "socket", socket(fam, type | flags, proto));

	if (fd < 0)
		return;
	if (type == SOCK_RAW || nfds == MAXF) {
		close(fd);
		return;
	}
	int m = new_msock(type, fam);

	if (m < 0) {
		close(fd);
		return;
	}
	ms[m].nonblock = flags & SOCK_NONBLOCK;
	add_fd(fd, m);
	nsocks++;
}

static void op_bind(void)
{
	int m, fd = pick_fd(&m), fam = m >= 0 ? ms[m].fam : AF_INET, pi = -1, port;
	const char *ip;
	struct sockaddr_storage ss;
	socklen_t len;
	char an[64];

	switch (rnd(6)) {
	case 0: ip = SELF; pi = (int)rnd(NPORTS); break;
	case 1: ip = "0.0.0.0"; pi = (int)rnd(NPORTS); break;
	case 2: ip = SELF; break;
	case 3: ip = "0.0.0.0"; break;
	case 4: ip = PEER; pi = (int)rnd(NPORTS); break;
	default: ip = rnd(2) ? "192.0.2.255" : "224.0.0.1"; pi = (int)rnd(NPORTS); break;
	}
	port = pi >= 0 ? own_port(pi) : 0;
	const struct sockaddr *sa = odd_addr(&ss, &len, fam, ip, port, an, sizeof(an));

	snprintf(nm, sizeof(nm), "bind(%s)", an);
	if (R(verbose ? nm : "bind", bind(fd, sa, len)) == 0 && m >= 0)
		ms[m].port = pi >= 0 ? pi : 9;
}

static void op_listen(void)
{
	static const int bl[] = { 0, 1, 2, 5, -1, 128 };
	int m, fd = pick_fd(&m), b = bl[rnd(6)];

	snprintf(nm, sizeof(nm), "listen(%d)", b);
	if (R(verbose ? nm : "listen", listen(fd, b)) == 0 && m >= 0) {
		if (ms[m].st != ST_LISTEN) {
			ms[m].st = ST_LISTEN;
			ms[m].qlen = 0;
		}
		ms[m].backlog = b < 0 ? 128 : b;
		if (ms[m].port < 0)
			ms[m].port = 9;
	}
}

static void op_connect(void)
{
	int m, fd = pick_fd(&m), fam = m >= 0 ? ms[m].fam : AF_INET, t, port, pi = -1;
	const char *ip = PEER;
	struct sockaddr_storage ss;
	socklen_t len;
	char an[64];
	enum pkind kind = PK_NONE;
	bool tcp = m >= 0 && ms[m].type == SOCK_STREAM, unspec = chance(6);

	/* Mostly the peer behaviours that fit the socket's kind. */
	if (m >= 0 && chance(70))
		t = tcp ? (int)rnd(7) : T_UECHO + (int)rnd(3);
	else
		t = (int)rnd(N_TGT);
	if (t <= T_UCLOSED) {
		port = tgt_port[t];
		kind = tgt_kind[t];
	} else if (t <= T_OWN2) {
		pi = t - T_OWN0;
		ip = SELF;
		port = own_port(pi);
		kind = PK_LOCAL;
	} else if (t == T_SELFADDR) {
		pi = m >= 0 && ms[m].port >= 0 && ms[m].port < NPORTS ? ms[m].port : 0;
		ip = SELF;
		port = own_port(pi);
		kind = PK_LOCAL;
	} else if (t == T_ANY0) {
		ip = "0.0.0.0";
		port = rnd(2) ? own_port(0) : 0;
		pi = port ? 0 : -1;
		kind = PK_LOCAL;
	} else {
		ip = "192.0.2.99";
		port = P_ECHO;
		kind = PK_DROP;
	}
	const struct sockaddr *sa;

	if (unspec) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_UNSPEC;
		len = rnd(2) ? sizeof(struct sockaddr) : sizeof(sa_family_t);
		sa = (struct sockaddr *)&ss;
		snprintf(an, sizeof(an), "UNSPEC/%u", (unsigned)len);
	} else {
		sa = odd_addr(&ss, &len, fam, ip, port, an, sizeof(an));
		/* An odd address of family AF_UNSPEC is a disconnect too. */
		if (sa && len >= sizeof(sa_family_t) && ss.ss_family == AF_UNSPEC)
			unspec = true;
	}
	/* A blocking connect that would wait for good (the silent peer, a
	 * nobody address, a full queue, one already under way) is made
	 * non-blocking: its result would otherwise be a timeout. */
	if (m >= 0 && tcp && !ms[m].nonblock) {
		int l = pi >= 0 ? listener_at(pi) : -1;

		if (kind == PK_DROP || ms[m].st == ST_CONNECTING ||
		    (l >= 0 && ms[l].qlen >= ms[l].backlog))
			return;
		if (ms[m].st == ST_LISTEN)
			return;
	}
	snprintf(nm, sizeof(nm), "connect(%s)", an);
	long r = R(verbose ? nm : "connect", connect(fd, sa, len));
	int e = errno;

	if (m < 0)
		return;
	struct msock *k = &ms[m];

	if (unspec) {
		if (r == 0) {
			if (tcp && k->st == ST_LISTEN) {
				/* tcp_disconnect stops the listener: its queue is reset. */
				for (int i = 0; i < k->qlen; i++) {
					other_gone(k->q[i], true);
					free_msock(k->q[i]);
				}
				k->qlen = 0;
				k->st = ST_NEW;
			} else if (tcp && (k->st == ST_CONN || k->st == ST_CONNECTING)) {
				if (k->peer == PK_LOCAL)
					other_gone(m, true);
				k->st = ST_NEW;
				k->in_expect = 0;
				k->eof_expect = k->err_expect = false;
			} else if (!tcp) {
				k->peer = PK_NONE;
			}
		}
		return;
	}
	/* Only the kinds the model follows: an AF_INET address as the family's
	 * (an AF_INET6 one from SIN6_LEN_RFC2133, 24 bytes, on). */
	if (sa == NULL || len < (fam == AF_INET ? sizeof(struct sockaddr_in) : 24))
		return;
	/* A connect() again on a connection (under way or made) answers
	 * EALREADY, EISCONN, or 0 once it completed (Linux's
	 * __inet_stream_connect, whatever the address): it stays the same. */
	if (tcp && (k->st == ST_CONN || k->st == ST_CONNECTING))
		return;
	if (!tcp) {
		if (r == 0) {
			k->peer = kind;
			if (k->port < 0)
				k->port = 9;
		}
		return;
	}
	if (r == 0 || (r == -1 && e == EINPROGRESS)) {
		k->peer = kind;
		k->lport = pi;
		k->st = ST_CONNECTING;
		if (k->port < 0)
			k->port = 9;
		if (r == 0 && kind != PK_LOCAL) {
			k->st = ST_CONN;
			if (kind == PK_HELLO)
				k->in_expect += 12;
			if (kind == PK_FIN)
				k->eof_expect = true;
		} else if (r == 0) {
			int l = listener_at(pi);

			k->st = ST_CONN;
			if (l >= 0)
				queue_child(l, m, PK_LOCAL);
			else
				k->other = m;   /* itself: simultaneous open */
		}
	} else if (r == -1 && e == ECONNREFUSED) {
		k->st = ST_NEW;
	}
}

static void op_accept(void)
{
	int m, fd = pick_fd(&m), flags = 0;
	struct sockaddr_storage ss;
	socklen_t len = 0, *lp = NULL;
	struct sockaddr *sa = NULL;
	static const socklen_t lens[] = { 0, 2, 4, 8, 16, 27, 28, 128 };

	if (m >= 0 && !ms[m].nonblock && !(ms[m].st == ST_LISTEN && ms[m].qlen > 0) &&
	    (ms[m].st == ST_LISTEN || ms[m].type == SOCK_STREAM))
		return;         /* would wait for good */
	if (rnd(3))
		flags |= rnd(2) ? SOCK_NONBLOCK : 0;
	if (rnd(4) == 0)
		flags |= SOCK_CLOEXEC;
	if (rnd(20) == 0)
		flags |= 0x10;
	switch (rnd(5)) {
	case 0: break;
	case 1: lp = &len; len = 0; sa = (struct sockaddr *)&ss; break;
	default:
		len = lens[rnd(8)];
		lp = &len;
		sa = (struct sockaddr *)&ss;
		if (rnd(12) == 0)
			sa = NULL;
		break;
	}
	memset(&ss, 0xa5, sizeof(ss));
	snprintf(nm, sizeof(nm), "accept4(%s,%u,%#x)", sa ? "sa" : "NULL", lp ? (unsigned)len : 0u, flags);
	int nfd = (int)RFD(verbose ? nm : "accept4", accept4(fd, sa, lp, flags));

	if (nfd < 0)
		return;
	if (sa && lp)
		show_addr(sa, len < sizeof(ss) ? len : sizeof(ss));
	if (m < 0 || ms[m].qlen == 0) {
		if (nfds < MAXF) {
			int c = new_msock(SOCK_STREAM, m >= 0 ? ms[m].fam : AF_INET);

			if (c >= 0) {
				ms[c].st = ST_DEAD;
				add_fd(nfd, c);
				return;
			}
		}
		close(nfd);
		return;
	}
	int c = ms[m].q[0];

	memmove(ms[m].q, ms[m].q + 1, sizeof(int) * (size_t)--ms[m].qlen);
	ms[c].st = ST_CONN;
	ms[c].nonblock = flags & SOCK_NONBLOCK;
	if (nfds < MAXF) {
		add_fd(nfd, c);
	} else {
		close(nfd);
		last_close(c);
	}
}

static const int send_lens[] = { 0, 1, 5, 100, 1400, 3000 };

static void sent(int m, long r, int flags, enum pkind to, int tm)
{
	struct msock *k = &ms[m];

	if (r < 0)
		return;
	if (k->type == SOCK_DGRAM) {
		udp_dirty = true;
		if (flags & MSG_MORE) {
			k->cork = true;
			return;
		}
		k->cork = false;
		if (to == PK_UECHO)
			k->dgrams++;
		else if (to == PK_UCLOSED && k->peer == PK_UCLOSED)
			k->err_expect = true;
		else if (to == PK_LOCAL && tm >= 0)
			ms[tm].dgrams++;
		return;
	}
	if (r == 0)
		return;
	if (k->peer == PK_ECHO)
		k->in_expect += (int)r - ((flags & MSG_OOB) ? 1 : 0);
	else if (k->peer == PK_FIN || k->peer == PK_RST)
		k->err_expect = true;
	else if (k->peer == PK_LOCAL && k->other >= 0)
		ms[k->other].in_expect += (int)r;
}

/* The UDP socket bound to own port PI, if any. */
static int udp_at(int pi)
{
	for (int i = 0; i < MAXM; i++)
		if (ms[i].st != ST_GONE && ms[i].type == SOCK_DGRAM && ms[i].port == pi)
			return i;
	return -1;
}

static void op_send(void)
{
	int m, fd = pick_fd(&m), flags = 0, n = send_lens[rnd(6)], how = (int)rnd(3);
	char buf[70000];
	enum pkind to = m >= 0 ? ms[m].peer : PK_NONE;
	int tm = -1;

	if (rnd(3) == 0)
		flags |= MSG_DONTWAIT;
	if (rnd(6) == 0)
		flags |= MSG_OOB;
	if (rnd(6) == 0)
		flags |= MSG_MORE;
	if (rnd(2))
		flags |= MSG_NOSIGNAL;
	if (m >= 0 && ms[m].type == SOCK_DGRAM && rnd(15) == 0)
		n = 65508 + (int)rnd(3);
	for (int i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 7 + n) % 26);
	if (m >= 0 && ms[m].type == SOCK_DGRAM && ms[m].peer == PK_LOCAL && ms[m].lport >= 0)
		tm = udp_at(ms[m].lport);
	/* A TCP send that could fill its own peer's window and wait. */
	if (m >= 0 && ms[m].type == SOCK_STREAM && !ms[m].nonblock && !(flags & MSG_DONTWAIT) &&
	    (ms[m].st == ST_CONNECTING || (ms[m].peer == PK_LOCAL && ms[m].other >= 0 &&
					   ms[ms[m].other].in_expect + n > 20000)))
		flags |= MSG_DONTWAIT;
	if (how == 0) {
		snprintf(nm, sizeof(nm), "send(%d,%#x)", n, flags);
		sent(m, R(verbose ? nm : "send", send(fd, buf, (size_t)n, flags)), flags, to, tm);
		return;
	}
	if (how == 1 && m >= 0) {
		snprintf(nm, sizeof(nm), "write(%d)", n);
		sent(m, R(verbose ? nm : "write", write(fd, buf, (size_t)n)), 0, to, tm);
		return;
	}
	/* sendto: to the peer's UDP ports, to an own port, or NULL. */
	int fam = m >= 0 ? ms[m].fam : AF_INET, t = (int)rnd(5), port, pi = -1;
	const char *ip = PEER;
	struct sockaddr_storage ss;
	socklen_t len;
	char an[64];

	switch (t) {
	case 0: port = P_UECHO; to = PK_UECHO; break;
	case 1: port = P_UCLOSED; to = PK_UCLOSED; break;
	case 2: port = P_USINK; to = PK_USINK; break;
	case 3: pi = (int)rnd(NPORTS); port = own_port(pi); ip = SELF; to = PK_LOCAL; break;
	default: port = P_ECHO; break;
	}
	const struct sockaddr *sa = odd_addr(&ss, &len, fam, ip, port, an, sizeof(an));

	if (m >= 0 && ms[m].type == SOCK_STREAM)
		to = ms[m].peer;        /* TCP ignores the address or refuses */
	else if (sa == NULL)
		to = m >= 0 ? ms[m].peer : PK_NONE;
	else if (len < (fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
		 ss.ss_family != fam)
		to = PK_NONE;
	if (to == PK_LOCAL && pi >= 0)
		tm = udp_at(pi);
	snprintf(nm, sizeof(nm), "sendto(%d,%#x,%s)", n, flags, an);
	sent(m, R(verbose ? nm : "sendto", sendto(fd, buf, (size_t)n, flags, sa, len)), flags, to, tm);
}

static unsigned sum(const char *b, long n)
{
	unsigned s = 0;

	for (long i = 0; i < n; i++)
		s = s * 31 + (unsigned char)b[i];
	return s & 0xffff;
}

static void op_recv(void)
{
	static const int lens[] = { 0, 1, 4, 100, 4096, 70000 };
	int m, fd = pick_fd(&m), flags = 0, n = lens[rnd(6)], how = (int)rnd(3);
	static char buf[70000];

	if (rnd(3) == 0)
		flags |= MSG_PEEK;
	if (rnd(2) == 0)
		flags |= MSG_DONTWAIT;
	if (rnd(6) == 0)
		flags |= MSG_TRUNC;
	if (rnd(6) == 0)
		flags |= MSG_WAITALL;
	if (rnd(8) == 0)
		flags |= MSG_OOB;
	/* A receive that would wait for good is made non-blocking. */
	if (m >= 0 && !ms[m].nonblock && !(flags & MSG_DONTWAIT) && !ms[m].rcvtimeo) {
		const struct msock *k = &ms[m];
		bool comes;

		if (k->type == SOCK_STREAM)
			comes = (flags & MSG_OOB) || k->eof_expect || k->err_expect || k->rd_shut ||
				k->st == ST_LISTEN || k->st == ST_NEW ||
				k->in_expect >= ((flags & MSG_WAITALL) ? n : 1) || (n == 0 && k->st == ST_CONN);
		else
			comes = k->dgrams > 0 || k->err_expect || (flags & MSG_OOB);
		if (!comes)
			flags |= MSG_DONTWAIT;
	}
	struct sockaddr_storage ss;
	socklen_t sl = how == 2 ? (socklen_t)(rnd(2) ? sizeof(ss) : rnd(20)) : 0;
	long r;

	if (how == 0) {
		snprintf(nm, sizeof(nm), "recv(%d,%#x)", n, flags);
		r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, flags));
	} else if (how == 1 && !(flags & MSG_PEEK)) {
		if (m >= 0 && !ms[m].nonblock && (flags & MSG_DONTWAIT))
			return;
		snprintf(nm, sizeof(nm), "read(%d)", n);
		r = R(verbose ? nm : "read", read(fd, buf, (size_t)n));
		flags = 0;
	} else {
		memset(&ss, 0, sizeof(ss));
		snprintf(nm, sizeof(nm), "recvfrom(%d,%#x,%u)", n, flags, (unsigned)sl);
		r = R(verbose ? nm : "recvfrom", recvfrom(fd, buf, (size_t)n, flags, (struct sockaddr *)&ss, &sl));
		if (r >= 0)
			show_addr(&ss, sl < sizeof(ss) ? sl : sizeof(ss));
	}
	if (r > 0)
		more("/%04x", sum(buf, r < n ? r : n));
	if (m < 0)
		return;
	struct msock *k = &ms[m];

	if (r < 0) {
		if (step_e == ECONNRESET || step_e == ECONNREFUSED || step_e == ETIMEDOUT) {
			k->err_expect = false;
			if (k->type == SOCK_STREAM)
				k->st = ST_DEAD;
		}
		return;
	}
	if (flags & (MSG_PEEK | MSG_OOB))
		return;
	if (k->type == SOCK_DGRAM) {
		if (k->dgrams > 0)
			k->dgrams--;
	} else {
		k->in_expect -= (int)r;
		if (k->in_expect < 0)
			k->in_expect = 0;
	}
}

static void op_shutdown(void)
{
	static const int hows[] = { SHUT_RD, SHUT_WR, SHUT_RDWR, SHUT_WR, SHUT_RDWR, 3, -1 };
	int m, fd = pick_fd(&m), how = hows[rnd(7)];

	snprintf(nm, sizeof(nm), "shutdown(%d)", how);
	if (R(verbose ? nm : "shutdown", shutdown(fd, how)) != 0 || m < 0) {
		if (m >= 0 && step_e == ENOTCONN && ms[m].type == SOCK_STREAM && how >= SHUT_RD && how <= SHUT_RDWR)
			ms[m].shut_early = true;
		return;
	}
	struct msock *k = &ms[m];

	if (how != SHUT_WR)
		k->rd_shut = true;
	if (how == SHUT_RD || k->type != SOCK_STREAM || k->st != ST_CONN || k->wr_shut)
		return;
	k->wr_shut = true;
	if (k->peer == PK_LOCAL && k->other >= 0 && k->other != m)
		ms[k->other].eof_expect = true;
	else if (k->peer == PK_LOCAL && k->other == m)
		k->eof_expect = true;
	else if (peer_live(k->peer))
		k->eof_expect = true;   /* the peer reads until EOF, then closes */
	else if (k->peer == PK_RST)
		k->err_expect = true;   /* its first read ends: it resets */
}

static void op_close(void)
{
	int i = nfds > 0 && !chance(10) ? (int)rnd((uint32_t)nfds) : -1;

	if (i < 0) {
		int m, fd = pick_fd(&m);

		if (m >= 0)
			return;
		R("close", close(fd));
		return;
	}
	int fd = fds[i].fd, m = fds[i].m;

	snprintf(tag, sizeof(tag), "s%d.", m);
	R("close", close(fd));
	if (nstale < 8)
		stale[nstale++] = fd;
	fds[i] = fds[--nfds];
	if (--ms[m].refs == 0)
		last_close(m);
}

static void op_dup(void)
{
	int m, fd = pick_fd(&m);

	if (nfds == MAXF)
		return;
	int nfd = (int)RFD("dup", rnd(3) ? dup(fd) : fcntl(fd, F_DUPFD_CLOEXEC, 0));

	if (nfd < 0)
		return;
	if (m >= 0)
		add_fd(nfd, m);
	else
		close(nfd);
}

static void op_fcntl(void)
{
	int m, fd = pick_fd(&m);

	switch (rnd(4)) {
	case 0: {
		long r = R("getfl", fcntl(fd, F_GETFL));

		if (r >= 0)
			more("/%lx", r & (O_NONBLOCK | O_ACCMODE | O_APPEND));
		break;
	}
	case 1: {
		bool nb = rnd(2);

		if (R(nb ? "setfl(nb)" : "setfl(0)", fcntl(fd, F_SETFL, nb ? O_NONBLOCK : 0)) == 0 && m >= 0)
			ms[m].nonblock = nb;
		break;
	}
	case 2:
		R("getfd", fcntl(fd, F_GETFD));
		break;
	default:
		R("setfd", fcntl(fd, F_SETFD, (int)rnd(2)));
		break;
	}
}

/* ---- options ---- */

enum okind { O_INT, O_TV, O_LINGER, O_INFO, O_BYTE };

struct opt {
	const char *name;
	int level, opt;
	enum okind kind;
};

static const struct opt opts[] = {
	{ "REUSEADDR", SOL_SOCKET, SO_REUSEADDR, O_INT },
	{ "REUSEPORT", SOL_SOCKET, SO_REUSEPORT, O_INT },
	{ "KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, O_INT },
	{ "BROADCAST", SOL_SOCKET, SO_BROADCAST, O_INT },
	{ "OOBINLINE", SOL_SOCKET, SO_OOBINLINE, O_INT },
	{ "ERROR", SOL_SOCKET, SO_ERROR, O_INT },
	{ "TYPE", SOL_SOCKET, SO_TYPE, O_INT },
	{ "DOMAIN", SOL_SOCKET, SO_DOMAIN, O_INT },
	{ "PROTOCOL", SOL_SOCKET, SO_PROTOCOL, O_INT },
	{ "ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, O_INT },
	{ "RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, O_INT },
	{ "SNDLOWAT", SOL_SOCKET, SO_SNDLOWAT, O_INT },
	{ "RCVBUF", SOL_SOCKET, SO_RCVBUF, O_INT },
	{ "SNDBUF", SOL_SOCKET, SO_SNDBUF, O_INT },
	{ "RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, O_TV },
	{ "SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, O_TV },
	{ "LINGER", SOL_SOCKET, SO_LINGER, O_LINGER },
	{ "PRIORITY", SOL_SOCKET, SO_PRIORITY, O_INT },
	{ "NODELAY", IPPROTO_TCP, TCP_NODELAY, O_INT },
	{ "MAXSEG", IPPROTO_TCP, TCP_MAXSEG, O_INT },
	{ "CORK", IPPROTO_TCP, TCP_CORK, O_INT },
	{ "KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, O_INT },
	{ "KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, O_INT },
	{ "KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, O_INT },
	{ "USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, O_INT },
	{ "DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, O_INT },
	{ "QUICKACK", IPPROTO_TCP, TCP_QUICKACK, O_INT },
	{ "SYNCNT", IPPROTO_TCP, TCP_SYNCNT, O_INT },
	{ "LINGER2", IPPROTO_TCP, TCP_LINGER2, O_INT },
	{ "INFO", IPPROTO_TCP, TCP_INFO, O_INFO },
	{ "TTL", IPPROTO_IP, IP_TTL, O_INT },
	{ "TOS", IPPROTO_IP, IP_TOS, O_INT },
	{ "MCTTL", IPPROTO_IP, IP_MULTICAST_TTL, O_BYTE },
	{ "MCLOOP", IPPROTO_IP, IP_MULTICAST_LOOP, O_BYTE },
	{ "RECVERR", IPPROTO_IP, IP_RECVERR, O_INT },
	{ "V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, O_INT },
	{ "UHOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, O_INT },
	{ "TCLASS", IPPROTO_IPV6, IPV6_TCLASS, O_INT },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void op_setsockopt(void)
{
	static const int vals[] = { 0, 1, -1, 2, 7, 255, 256, 1000, 65535, INT_MAX, INT_MIN, 88 };
	static const socklen_t lens[] = { 0, 1, 2, 3, 4, 4, 4, 4, 7, 8, 12, 16, 17, 100 };
	int m, fd = pick_fd(&m);
	const struct opt *o = &opts[rnd(NOPTS)];
	union { int i; struct timeval tv; struct linger l; char b[128]; } v;
	socklen_t len = 4;
	const void *p = &v;

	memset(&v, 0, sizeof(v));
	switch (o->kind) {
	case O_TV:
		v.tv.tv_sec = rnd(4) == 0 ? -1 : 0;
		v.tv.tv_usec = rnd(5) == 0 ? 1000000 : rnd(2) ? 20000 : 0;
		len = sizeof(v.tv);
		break;
	case O_LINGER:
		v.l.l_onoff = (int)rnd(2);
		v.l.l_linger = rnd(3) ? 0 : (int)rnd(3);
		len = sizeof(v.l);
		break;
	default:
		v.i = vals[rnd(sizeof(vals) / sizeof(vals[0]))];
		break;
	}
	if (rnd(4) == 0)
		len = lens[rnd(sizeof(lens) / sizeof(lens[0]))];
	if (rnd(25) == 0)
		p = NULL;
	snprintf(nm, sizeof(nm), "set%s(%d/%d,%u%s)", o->name, v.i, o->kind == O_TV ? (int)v.tv.tv_usec :
		 o->kind == O_LINGER ? v.l.l_linger : 0, (unsigned)len, p ? "" : ",NULL");
	if (R(verbose ? nm : o->name, setsockopt(fd, o->level, o->opt, p, len)) != 0 || m < 0)
		return;
	if (o->opt == SO_RCVTIMEO && o->level == SOL_SOCKET)
		ms[m].rcvtimeo = v.tv.tv_sec != 0 || v.tv.tv_usec != 0;
	if (o->opt == SO_LINGER && o->level == SOL_SOCKET && len >= sizeof(v.l))
		ms[m].linger0 = v.l.l_onoff && v.l.l_linger == 0;
}

static void op_getsockopt(void)
{
	static const socklen_t lens[] = { 0, 1, 2, 3, 4, 8, 16, 100, 300 };
	int m, fd = pick_fd(&m);
	const struct opt *o = &opts[rnd(NOPTS)];
	union { int i; struct timeval tv; struct linger l; struct tcp_info ti; char b[300]; } v;
	socklen_t len = o->kind == O_TV ? sizeof(v.tv) : o->kind == O_LINGER ? sizeof(v.l) :
		o->kind == O_INFO ? sizeof(v.ti) : 4, *lp = &len;

	memset(&v, 0, sizeof(v));
	if (rnd(3) == 0)
		len = lens[rnd(sizeof(lens) / sizeof(lens[0]))];
	if (rnd(25) == 0)
		lp = NULL;
	if (rnd(25) == 0)
		len = (socklen_t)-1;
	snprintf(nm, sizeof(nm), "get%s(%d)", o->name, lp ? (int)len : -2);
	if (R(verbose ? nm : o->name, getsockopt(fd, o->level, o->opt, &v, lp)) != 0)
		return;
	more("/len%u", (unsigned)len);
	switch (o->kind) {
	case O_TV:
		more("/%ld.%06ld", (long)v.tv.tv_sec, (long)v.tv.tv_usec);
		break;
	case O_LINGER:
		more("/%d,%d", v.l.l_onoff, v.l.l_linger);
		break;
	case O_INFO:
		if (len >= 1)
			more("/state%d", v.ti.tcpi_state);
		break;
	default:
		if (o->opt == SO_ERROR && o->level == SOL_SOCKET && m >= 0 && v.i != 0)
			ms[m].err_expect = false;
		/* The buffer sizes follow each stack's accounting: only that one is set. */
		if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF))
			more("/%s", v.i > 0 ? "+" : "0");
		else if (o->level == IPPROTO_TCP && o->opt == TCP_MAXSEG)
			more("/%s", v.i > 0 ? "+" : "0");
		else
			more("/%d", len >= 4 ? v.i : len >= 1 ? v.b[0] : 0);
		break;
	}
}

static void op_ioctl(void)
{
	int m, fd = pick_fd(&m), v = -7;
	void *p = rnd(20) ? (void *)&v : NULL;

	switch (rnd(5)) {
	case 0:
		if (R("FIONREAD", ioctl(fd, FIONREAD, p)) == 0)
			more("/%d", v);
		break;
	case 1:
		if (R("OUTQ", ioctl(fd, SIOCOUTQ, p)) == 0)
			more("/%d", v);
		break;
	case 2:
		if (R("ATMARK", ioctl(fd, SIOCATMARK, p)) == 0)
			more("/%d", v);
		break;
	case 3:
		if (R("OUTQNSD", ioctl(fd, SIOCOUTQNSD, p)) == 0)
			more("/%d", v);
		break;
	default:
		v = (int)rnd(2);
		if (R("FIONBIO", ioctl(fd, FIONBIO, p)) == 0 && m >= 0)
			ms[m].nonblock = v;
		break;
	}
}

static void op_poll(void)
{
	int m, fd = pick_fd(&m);
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };

	if (R("poll", poll(&p, 1, 0)) >= 0)
		more("/%x", p.revents);
}

static void op_name(void)
{
	int m, fd = pick_fd(&m), peer = (int)rnd(2);
	static const socklen_t lens[] = { 0, 2, 4, 8, 15, 16, 24, 28, 128 };
	struct sockaddr_storage ss;
	socklen_t len = lens[rnd(9)], *lp = &len;

	if (rnd(20) == 0)
		lp = NULL;
	else if (rnd(20) == 0)
		len = (socklen_t)-1;
	memset(&ss, 0, sizeof(ss));
	snprintf(nm, sizeof(nm), "%s(%d)", peer ? "getpeername" : "getsockname", lp ? (int)len : -2);
	struct sockaddr *sa = rnd(25) ? (struct sockaddr *)&ss : NULL;
	long r = R(verbose ? nm : peer ? "getpeername" : "getsockname",
		   peer ? getpeername(fd, sa, lp) : getsockname(fd, sa, lp));

	if (r == 0) {
		more("/rlen%u", (unsigned)len);
		show_addr(&ss, len < sizeof(ss) ? len : sizeof(ss));
	}
}

/* The peer connects to one of our ports (peer.py's control connection). */
static void op_peer_connect(void)
{
	static const char *const modes[] = { "hold", "hello", "fin", "rst" };
	static const enum pkind kinds[] = { PK_SINK, PK_HELLO, PK_FIN, PK_RST };
	int pi = (int)rnd(NPORTS), md = (int)rnd(4), l = listener_at(pi);
	char line[64], ans[64];
	int n;

	if (l >= 0 && ms[l].qlen >= ms[l].backlog)
		return;         /* a full queue: the peer's connect would time out */
	n = snprintf(line, sizeof(line), "connect %d %s\n", own_port(pi), modes[md]);
	if (write(ctl_fd, line, (size_t)n) != n) {
		emit("peer=%s", ename(errno));
		return;
	}
	/* The answer ends with a newline. */
	size_t got = 0;

	while (got < sizeof(ans) - 1 && wait_for(ctl_fd, W_IN, 0, "ctl")) {
		ssize_t r = recv(ctl_fd, ans + got, sizeof(ans) - 1 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(ans, '\n', got))
			break;
	}
	ans[got] = 0;
	emit("peer(k%d,%s)=%s", pi, modes[md], strncmp(ans, "ok", 2) == 0 ? "ok" : "fail");
	if (strncmp(ans, "ok", 2) == 0 && l >= 0)
		queue_child(l, -1, kinds[md]);
}

/* ---- one seed ---- */

static void run_seed(unsigned long seed)
{
	int nops;
	struct sigaction sa = { .sa_handler = on_sig };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	rng = seed * 0x2545f4914f6cdd1dull + 1;
	/* Own ports unique to the seed within a run (a kernel's TIME_WAIT
	 * outlives the seed's process; pstack's does not). */
	port_base = 10000 + (int)(seed % 3000) * 3;
	for (int i = 0; i < MAXM; i++)
		ms[i].st = ST_GONE;
	printf("fz%lu:", seed);
	fflush(stdout);
	devnull = open("/dev/null", O_RDWR);
	barrier_fd = socket(AF_INET, SOCK_DGRAM, 0);
	ctl_fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_storage ss;
		socklen_t l = mkaddr(&ss, AF_INET, SELF, 0);

		if (bind(barrier_fd, (struct sockaddr *)&ss, l) != 0) {
			emit("SETUP barrier %s", ename(errno));
			end_line();
			exit(0);
		}
		l = mkaddr(&ss, AF_INET, PEER, P_CTL);
		if (connect(ctl_fd, (struct sockaddr *)&ss, l) != 0) {
			emit("SETUP control %s", ename(errno));
			end_line();
			exit(0);
		}
	}
	nops = 5 + (int)rnd(16);
	for (int i = 0; i < nops; i++) {
		int w = (int)rnd(100);

		tag[0] = 0;
		if (nsocks == 0 || (w < 10 && nsocks < 3))
			op_socket();
		else if (w < 18)
			op_bind();
		else if (w < 23)
			op_listen();
		else if (w < 33)
			op_connect();
		else if (w < 39)
			op_accept();
		else if (w < 51)
			op_send();
		else if (w < 61)
			op_recv();
		else if (w < 64)
			op_shutdown();
		else if (w < 67)
			op_close();
		else if (w < 69)
			op_dup();
		else if (w < 72)
			op_fcntl();
		else if (w < 79)
			op_setsockopt();
		else if (w < 86)
			op_getsockopt();
		else if (w < 90)
			op_ioctl();
		else if (w < 93)
			op_poll();
		else if (w < 97)
			op_name();
		else
			op_peer_connect();
		settle();
	}
	end_line();
	exit(0);
}

/* ---- the driver (as sockdiff's) ---- */

static void drive(unsigned long seed, const char *self, const char *preload)
{
	static char buf[65536];
	char tail[64] = "", arg[32];
	size_t got = 0;
	int p[2], status;
	pid_t pid;
	struct timespec t0;
	bool done = false, killed = false;

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	snprintf(arg, sizeof(arg), "%lu", seed);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		if (verbose)
			execl(self, self, "-v", "-r", arg, (char *)NULL);
		else
			execl(self, self, "-r", arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!done) {
		long left = SEED_TIMEOUT_MS - ms_since(&t0);
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			kill(pid, SIGKILL);
			killed = true;
			snprintf(tail, sizeof(tail), " HANG");
			break;
		}
		ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		done = memchr(buf, '\n', got) != NULL || got == sizeof(buf) - 1;
	}
	close(p[0]);
	buf[got] = 0;
	if (got && buf[got - 1] == '\n')
		buf[--got] = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (ms_since(&t0) > SEED_TIMEOUT_MS + 10000 && !killed) {
			kill(pid, SIGKILL);
			killed = true;
			snprintf(tail, sizeof(tail), " EXIT-HANG");
		}
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	if (!killed && WIFSIGNALED(status)) {
		const char *a = sigabbrev_np(WTERMSIG(status));

		snprintf(tail, sizeof(tail), " %sCRASH SIG%s", done ? "EXIT-" : "", a ? a : "?");
	} else if (!killed && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(tail, sizeof(tail), " EXIT %d", WEXITSTATUS(status));
	}
	/* A line that never started (crash at load) still names its seed. */
	if (strncmp(buf, "fz", 2) != 0)
		printf("fz%lu:%s%s\n", seed, buf, tail);
	else
		printf("%s%s\n", buf, tail);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *preload = NULL;
	unsigned long first = 1, count = 100;
	char self[4096];
	ssize_t n;
	int opt;

	while ((opt = getopt(argc, argv, "p:s:n:vr:")) != -1) {
		switch (opt) {
		case 'p': preload = optarg; break;
		case 's': first = strtoul(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		case 'r': run_seed(strtoul(optarg, NULL, 0)); break;
		default:
			fprintf(stderr, "usage: fuzzseq [-p PRELOAD] [-s FIRST] [-n COUNT] [-v] | -r SEED\n");
			return 2;
		}
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self[n] = 0;
	for (unsigned long s = first; s < first + count; s++)
		drive(s, self, preload);
	return 0;
}
