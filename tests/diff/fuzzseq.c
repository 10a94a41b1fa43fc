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
 *   fuzzseq [-g GEN] [-p PRELOAD] [-s FIRST] [-n COUNT] [-v]
 *     -g  the generation: 1 (default; what every seed always meant) or 2,
 *         which adds epoll, select, sendmsg/recvmsg with odd iovecs and
 *         control messages, sendmmsg/recvmmsg, splice and sendfile (a pipe
 *         and a memfd of the seed's), UDP connect/disconnect, O_ASYNC,
 *         F_SETOWN, FIOASYNC and more options (gen2_op)
 *     -p  each seed runs in a fresh process with LD_PRELOAD=PRELOAD
 *     -s, -n  the seeds FIRST .. FIRST+COUNT-1 (default 1, 100)
 *     -v  the line also names each call's arguments (for reading a seed)
 *   fuzzseq [-g GEN] -r SEED   runs one seed in this process
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
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
	end_sig_line(sig_seen);
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
	int bufset;             /* SO_RCVBUF (1), SO_SNDBUF (2) set: the size is the program's */
};

static struct msock ms[MAXM];
static struct { int fd, m; } fds[MAXF];
static int nfds, nsocks;
static int stale[8], nstale;     /* numbers of closed descriptors */
static int devnull = -1, barrier_fd = -1, ctl_fd = -1;
static int port_base;
static bool udp_dirty;
/* Generation 2 (-g 2) sent datagrams the model cannot count (splice, sendfile
 * to UDP): its blocking receives on UDP are made non-blocking from then on. */
static bool udp_unsure;
static int gen = 1;

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

static char nm[512];

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

/* Whether a blocking receive of N bytes with FLAGS on K ends by itself. */
static bool recv_comes(const struct msock *k, int flags, int n)
{
	if (k->type == SOCK_STREAM)
		return (flags & MSG_OOB) || k->eof_expect || k->err_expect || k->rd_shut ||
		       k->st == ST_LISTEN || k->st == ST_NEW ||
		       k->in_expect >= ((flags & MSG_WAITALL) ? n : 1) || (n == 0 && k->st == ST_CONN);
	return (k->dgrams > 0 && !udp_unsure) || k->err_expect || (flags & MSG_OOB);
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
	if (m >= 0 && !ms[m].nonblock && !(flags & MSG_DONTWAIT) && !ms[m].rcvtimeo &&
	    !recv_comes(&ms[m], flags, n))
		flags |= MSG_DONTWAIT;
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
	/* Generation 2's: the first generation picks among those above. */
	{ "PKTINFO", IPPROTO_IP, IP_PKTINFO, O_INT },
	{ "RECVTTL", IPPROTO_IP, IP_RECVTTL, O_INT },
	{ "RECVTOS", IPPROTO_IP, IP_RECVTOS, O_INT },
	{ "MTU", IPPROTO_IP, IP_MTU, O_INT },
	{ "MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, O_INT },
	{ "FREEBIND", IPPROTO_IP, IP_FREEBIND, O_INT },
	{ "PEEK_OFF", SOL_SOCKET, SO_PEEK_OFF, O_INT },
	{ "NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, O_INT },
	{ "WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP, O_INT },
	{ "RCVBUF", SOL_SOCKET, SO_RCVBUF, O_INT },
	{ "SNDBUF", SOL_SOCKET, SO_SNDBUF, O_INT },
	{ "INFO", IPPROTO_TCP, TCP_INFO, O_INFO },
};
#define NOPTS1 38
#define NOPTS (gen == 2 ? sizeof(opts) / sizeof(opts[0]) : NOPTS1)

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
	if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF))
		ms[m].bufset |= o->opt == SO_RCVBUF ? 1 : 2;
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
		/* Generation 2: a few fields that do not depend on timing. */
		if (gen == 2 && len >= 8)
			more("/ca%d/opt%x/ws%d,%d", v.ti.tcpi_ca_state, v.ti.tcpi_options,
			     v.ti.tcpi_snd_wscale, v.ti.tcpi_rcv_wscale);
		break;
	default:
		if (o->opt == SO_ERROR && o->level == SOL_SOCKET && m >= 0 && v.i != 0)
			ms[m].err_expect = false;
		/* The buffer sizes follow each stack's accounting: only that one is set. */
		if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF) && gen == 2 &&
		    m >= 0 && (ms[m].bufset & (o->opt == SO_RCVBUF ? 1 : 2)))
			more("/%d", v.i);       /* Linux doubles what was set (sock_setsockopt) */
		else if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF))
			/* Shorter than an int, the bytes shown are the size's
			 * low ones: each stack's accounting (-g 2). */
			more("/%s", gen == 2 && len < 4 ? "?" : v.i > 0 ? "+" : "0");
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

/* ---- generation 2 (-g 2): the calls hostile programs add ---- */

/* epoll instances, the pipe and the file of splice and sendfile. */
static int epfds[2] = { -1, -1 }, nep;
static int pipefd[2] = { -1, -1 }, pipe_bytes, memfd = -1;
static int step_no;             /* the seed's step: epoll's data labels */

/* A descriptor for epoll_wait/epoll_ctl's first argument. */
static int pick_epfd(void)
{
	int m;

	if (nep > 0 && !chance(15)) {
		int i = (int)rnd((uint32_t)nep);

		snprintf(tag, sizeof(tag), "ep%d.", i);
		return epfds[i];
	}
	return pick_fd(&m);
}

static void op_epoll_create(void)
{
	int fd, v = (int)rnd(6);

	if (nep == 2)
		return;
	if (v < 4) {
		int fl = v == 3 ? 1 : v == 2 ? EPOLL_CLOEXEC : 0;

		snprintf(nm, sizeof(nm), "epoll_create1(%#x)", fl);
		fd = (int)RFD(verbose ? nm : "epoll_create1", epoll_create1(fl));
	} else {
		int sz = v == 4 ? 0 : 1;

		snprintf(nm, sizeof(nm), "epoll_create(%d)", sz);
		fd = (int)RFD(verbose ? nm : "epoll_create", epoll_create(sz));
	}
	if (fd >= 0)
		epfds[nep++] = fd;
}

static void op_epoll_ctl(void)
{
	static const uint32_t bits[] = { EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP, EPOLLERR, EPOLLHUP,
					 EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLRDNORM,
					 EPOLLWRNORM, EPOLLMSG };
	static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_ADD, EPOLL_CTL_ADD, EPOLL_CTL_MOD,
				   EPOLL_CTL_MOD, EPOLL_CTL_DEL, 0, 4 };
	int ep = pick_epfd(), op = ops[rnd(8)], m, fd;
	struct epoll_event ev = { 0 }, *evp = &ev;
	char t[16];

	memcpy(t, tag, sizeof(t));
	if (chance(8) && nep > 0) {
		fd = epfds[rnd((uint32_t)nep)];
		snprintf(tag, sizeof(tag), "ep");
	} else {
		fd = pick_fd(&m);
	}
	switch (rnd(6)) {
	case 0: ev.events = EPOLLIN; break;
	case 1: ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP; break;
	case 2: ev.events = 0; break;
	case 3: ev.events = 0xffffffffu; break;
	default:
		for (int i = 0; i < 4; i++)
			ev.events |= bits[rnd(sizeof(bits) / sizeof(bits[0]))];
		break;
	}
	ev.data.u64 = (uint64_t)step_no;
	if (chance(4))
		evp = NULL;
	snprintf(nm, sizeof(nm), "epoll_ctl(%s,%d,%s%s,%#x)", t, op, tag, evp ? "" : "NULL", ev.events);
	tag[0] = 0;
	R(verbose ? nm : "epoll_ctl", epoll_ctl(ep, op, fd, evp));
}

static int cmp_ev(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;

	return x->data.u64 < y->data.u64 ? -1 : x->data.u64 > y->data.u64;
}

static void op_epoll_wait(void)
{
	static const int maxs[] = { 16, 16, 16, 16, 0, -1 };
	struct epoll_event ev[16];
	int ep = pick_epfd(), mx = maxs[rnd(6)];
	void *evp = chance(4) ? NULL : ev;

	snprintf(nm, sizeof(nm), "epoll_wait(%d%s)", mx, evp ? "" : ",NULL");
	long r = R(verbose ? nm : "epoll_wait", epoll_wait(ep, evp, mx, 0));

	if (r <= 0)
		return;
	qsort(ev, (size_t)r, sizeof(ev[0]), cmp_ev);
	for (long i = 0; i < r; i++)
		more("/L%u:%x", (unsigned)ev[i].data.u64, ev[i].events);
}

static void op_select(void)
{
	fd_set rs, ws, es;
	int maxfd = -1, n, v = (int)rnd(10);
	struct timeval tv = { 0, 0 };
	char what[8] = "";

	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	for (int i = 0; i < nfds; i++) {
		int fd = fds[i].fd, b = 1 + (int)rnd(7);

		if (b & 1)
			FD_SET(fd, &rs);
		if (b & 2)
			FD_SET(fd, &ws);
		if (b & 4)
			FD_SET(fd, &es);
		if (fd > maxfd)
			maxfd = fd;
	}
	n = maxfd + 1;
	if (v == 0) {
		n = maxfd;              /* leaves the highest out */
		snprintf(what, sizeof(what), "-1");
	} else if (v == 1 && nstale > 0 && stale[0] < FD_SETSIZE) {
		FD_SET(stale[0], &rs);  /* a closed descriptor: EBADF */
		if (stale[0] >= n)
			n = stale[0] + 1;
		snprintf(what, sizeof(what), "stale");
	} else if (v == 2) {
		n = -1;
		snprintf(what, sizeof(what), "neg");
	}
	snprintf(nm, sizeof(nm), "select(%s)", what);
	if (R(verbose ? nm : "select", select(n, &rs, &ws, &es, &tv)) < 0)
		return;
	for (int i = 0; i < nfds; i++) {
		int fd = fds[i].fd;

		if (fd >= n)
			continue;
		more("/%d:%s%s%s", fds[i].m, FD_ISSET(fd, &rs) ? "r" : "", FD_ISSET(fd, &ws) ? "w" : "",
		     FD_ISSET(fd, &es) ? "e" : "");
	}
}

/* The iovecs of a sendmsg/recvmsg: a plain one, odd counts and lengths,
 * NULL bases of length 0, none, or more than IOV_MAX. Returns the count and
 * the bytes they hold in *TOTAL; names them in NAME. */
static struct iovec iovs[IOV_MAX + 1];

static int odd_iov(char *buf, int n, size_t *total, char *name, size_t nn)
{
	static const size_t lens[] = { 0, 1, 7, 100, 1400 };
	int v = (int)rnd(100), c;

	*total = 0;
	if (v < 45) {
		iovs[0] = (struct iovec){ buf, (size_t)n };
		*total = (size_t)n;
		snprintf(name, nn, "%d", n);
		return 1;
	}
	if (v < 75) {
		size_t off = 0;
		int l = 0;

		c = 2 + (int)rnd(3);
		for (int i = 0; i < c; i++) {
			size_t len = lens[rnd(5)];

			if (len == 0 && rnd(2))
				iovs[i] = (struct iovec){ NULL, 0 };
			else
				iovs[i] = (struct iovec){ buf + off, len };
			off += len;
			l += snprintf(name + l, nn - (size_t)l, "%s%s%zu", i ? "+" : "", iovs[i].iov_base ? "" : "N",
				      len);
		}
		*total = off;
		return c;
	}
	if (v < 83) {
		snprintf(name, nn, "none");
		return 0;
	}
	if (v < 90) {
		/* IOV_MAX exactly: all empty but the last. */
		for (int i = 0; i < IOV_MAX; i++)
			iovs[i] = (struct iovec){ buf, 0 };
		iovs[IOV_MAX - 1].iov_len = 5;
		*total = 5;
		snprintf(name, nn, "max");
		return IOV_MAX;
	}
	for (int i = 0; i <= IOV_MAX; i++)
		iovs[i] = (struct iovec){ buf, 1 };
	*total = IOV_MAX + 1;
	snprintf(name, nn, "max+1");
	return IOV_MAX + 1;
}

/* A control buffer for sendmsg: good and malformed IP_PKTINFO, IP_TOS,
 * IP_TTL, SCM_RIGHTS. */
static size_t send_control(char *cb, size_t cbn, char *name, size_t nn)
{
	struct cmsghdr *c = (struct cmsghdr *)cb;
	int v = (int)rnd(11), iv;

	memset(cb, 0, cbn);
	switch (v) {
	case 0: {
		struct in_pktinfo pi = { 0 };

		if (rnd(2))
			inet_pton(AF_INET, SELF, &pi.ipi_spec_dst);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		snprintf(name, nn, "pktinfo%s", pi.ipi_spec_dst.s_addr ? "-self" : "");
		return CMSG_SPACE(sizeof(pi));
	}
	case 1: case 2: {
		static const int vals[] = { 1, 64, 255, 0, 256, -1 };

		iv = vals[rnd(6)];
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = v == 1 ? IP_TTL : IP_TOS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &iv, sizeof(iv));
		snprintf(name, nn, "%s=%d", v == 1 ? "ttl" : "tos", iv);
		return CMSG_SPACE(sizeof(int));
	}
	case 3: {
		unsigned char b = (unsigned char)(rnd(2) ? 0x10 : 3);

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TOS;
		c->cmsg_len = CMSG_LEN(1);
		*CMSG_DATA(c) = b;
		snprintf(name, nn, "tos1=%u", b);
		return CMSG_SPACE(1);
	}
	case 4:
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &devnull, sizeof(int));
		snprintf(name, nn, "rights");
		return CMSG_SPACE(sizeof(int));
	case 5:
		/* A length shorter than the header. */
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TTL;
		c->cmsg_len = sizeof(struct cmsghdr) - 4;
		snprintf(name, nn, "shorthdr");
		return CMSG_SPACE(sizeof(int));
	case 6:
		/* A length past the buffer. */
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TTL;
		c->cmsg_len = CMSG_LEN(sizeof(int)) + 64;
		iv = 64;
		memcpy(CMSG_DATA(c), &iv, sizeof(iv));
		snprintf(name, nn, "longlen");
		return CMSG_SPACE(sizeof(int));
	case 7:
		/* A buffer shorter than a header: no message at all. */
		snprintf(name, nn, "tiny");
		return 5;
	case 8:
		/* An unknown type at IPPROTO_IP, and one at another level. */
		c->cmsg_level = rnd(2) ? IPPROTO_IP : 12345;
		c->cmsg_type = 99;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		snprintf(name, nn, "unknown%d", c->cmsg_level);
		return CMSG_SPACE(sizeof(int));
	case 9: {
		/* Two: a TTL and a TOS. */
		struct cmsghdr *d;

		iv = 33;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_TTL;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &iv, sizeof(iv));
		d = (struct cmsghdr *)(cb + CMSG_SPACE(sizeof(int)));
		d->cmsg_level = IPPROTO_IP;
		d->cmsg_type = IP_TOS;
		d->cmsg_len = CMSG_LEN(sizeof(int));
		iv = 0x20;
		memcpy(CMSG_DATA(d), &iv, sizeof(iv));
		snprintf(name, nn, "ttl+tos");
		return 2 * CMSG_SPACE(sizeof(int));
	}
	default:
		/* A short IP_PKTINFO. */
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(4);
		snprintf(name, nn, "shortpkt");
		return CMSG_SPACE(sizeof(struct in_pktinfo));
	}
}

/* A destination for sendmsg/sendmmsg (as op_send's sendto): sets *TO, *TM. */
static const struct sockaddr *send_dest(int m, struct sockaddr_storage *ss, socklen_t *len, enum pkind *to,
					int *tm, char *an, size_t nn)
{
	int fam = m >= 0 ? ms[m].fam : AF_INET, t = (int)rnd(6), port, pi = -1;
	const char *ip = PEER;
	const struct sockaddr *sa;

	*to = m >= 0 ? ms[m].peer : PK_NONE;
	*tm = -1;
	if (m >= 0 && ms[m].type == SOCK_DGRAM && ms[m].peer == PK_LOCAL && ms[m].lport >= 0)
		*tm = udp_at(ms[m].lport);
	if (t >= 4) {
		*len = 0;
		snprintf(an, nn, "none");
		return NULL;
	}
	switch (t) {
	case 0: port = P_UECHO; *to = PK_UECHO; break;
	case 1: port = P_USINK; *to = PK_USINK; break;
	case 2: port = P_UCLOSED; *to = PK_UCLOSED; break;
	default: pi = (int)rnd(NPORTS); port = own_port(pi); ip = SELF; *to = PK_LOCAL; break;
	}
	sa = odd_addr(ss, len, fam, ip, port, an, nn);
	if (m >= 0 && ms[m].type == SOCK_STREAM)
		*to = ms[m].peer;
	else if (sa == NULL || *len == 0)
		*to = m >= 0 ? ms[m].peer : PK_NONE;
	else if (*len < (fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
		 ss->ss_family != fam)
		*to = PK_NONE;
	if (*to == PK_LOCAL && pi >= 0)
		*tm = udp_at(pi);
	return sa;
}

/* A TCP send that could wait for good is made non-blocking (as op_send). */
static int send_guard(int m, int flags, size_t n)
{
	if (m >= 0 && ms[m].type == SOCK_STREAM && !ms[m].nonblock && !(flags & MSG_DONTWAIT) &&
	    (ms[m].st == ST_CONNECTING || (ms[m].peer == PK_LOCAL && ms[m].other >= 0 &&
					   ms[ms[m].other].in_expect + (int)n > 20000)))
		flags |= MSG_DONTWAIT;
	return flags;
}

static void op_sendmsg(void)
{
	static char buf[IOV_MAX + 8000];
	char cb[128], an[64], in[64], cn[32] = "";
	int m, fd = pick_fd(&m), flags = 0, tm;
	size_t total;
	enum pkind to;
	struct sockaddr_storage ss;
	struct msghdr h = { 0 };

	for (size_t i = 0; i < 8000; i++)
		buf[i] = (char)('a' + (i * 7) % 26);
	h.msg_iovlen = (size_t)odd_iov(buf, send_lens[rnd(5)], &total, in, sizeof(in));
	h.msg_iov = iovs;
	if (h.msg_iovlen > 0 && chance(4))
		h.msg_iov = NULL;
	h.msg_name = (void *)send_dest(m, &ss, &h.msg_namelen, &to, &tm, an, sizeof(an));
	if (chance(35))
		h.msg_controllen = send_control(cb, sizeof(cb), cn, sizeof(cn)), h.msg_control = cb;
	if (rnd(3) == 0)
		flags |= MSG_DONTWAIT;
	if (rnd(8) == 0)
		flags |= MSG_MORE;
	if (rnd(2))
		flags |= MSG_NOSIGNAL;
	if (rnd(12) == 0)
		flags |= MSG_OOB;
	if (rnd(12) == 0)
		flags |= MSG_CONFIRM;
	flags = send_guard(m, flags, total);
	snprintf(nm, sizeof(nm), "sendmsg(%s%s,%s,%s,%#x)", in, h.msg_iov ? "" : "/NULL", an, cn, flags);
	sent(m, R(verbose ? nm : "sendmsg", sendmsg(fd, &h, flags)), flags, to, tm);
}

/* What a received control buffer holds: each message's level, type and
 * length, and its value for the kinds that do not vary (ifindex does). */
static void show_cmsgs(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		more("/c%d.%d.%zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
		if (c->cmsg_level != IPPROTO_IP)
			continue;
		if (c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof(a));
			inet_ntop(AF_INET, &pi.ipi_addr, b, sizeof(b));
			more("=%s,%s,%s", pi.ipi_ifindex > 0 ? "if" : "if0", a, b);
		} else if ((c->cmsg_type == IP_TTL || c->cmsg_type == IP_TOS) &&
			   c->cmsg_len >= CMSG_LEN(1)) {
			int v = 0;

			memcpy(&v, CMSG_DATA(c), c->cmsg_len >= CMSG_LEN(sizeof(int)) ? sizeof(int) : 1);
			more("=%d", v);
		}
	}
}

/* After a receive of R bytes (or datagrams' bytes) on M: the model's part. */
static void received(int m, long r, int flags, int ndgrams)
{
	struct msock *k;

	if (m < 0)
		return;
	k = &ms[m];
	if (r < 0) {
		if (step_e == ECONNRESET || step_e == ECONNREFUSED || step_e == ETIMEDOUT) {
			k->err_expect = false;
			if (k->type == SOCK_STREAM)
				k->st = ST_DEAD;
		}
		return;
	}
	if (flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE))
		return;
	if (k->type == SOCK_DGRAM) {
		k->dgrams -= ndgrams;
		if (k->dgrams < 0)
			k->dgrams = 0;
	} else {
		k->in_expect -= (int)r;
		if (k->in_expect < 0)
			k->in_expect = 0;
	}
}

static void op_recvmsg(void)
{
	static const int lens[] = { 0, 1, 4, 100, 4096, 70000 };
	static const size_t cls[] = { 0, 8, 16, 20, 24, 32, 64, 256 };
	static const socklen_t nls[] = { 0, 4, 8, 16, 28, 128 };
	static char buf[IOV_MAX + 70000];
	char cb[256], in[64];
	int m, fd = pick_fd(&m), flags = 0, n = lens[rnd(6)];
	size_t total;
	struct sockaddr_storage ss;
	struct msghdr h = { 0 };

	h.msg_iovlen = (size_t)odd_iov(buf, n, &total, in, sizeof(in));
	h.msg_iov = iovs;
	if (rnd(3)) {
		h.msg_name = &ss;
		h.msg_namelen = rnd(2) ? sizeof(ss) : nls[rnd(6)];
	}
	if (rnd(2)) {
		h.msg_control = cb;
		h.msg_controllen = cls[rnd(8)];
	}
	if (rnd(3) == 0)
		flags |= MSG_PEEK;
	if (rnd(2) == 0)
		flags |= MSG_DONTWAIT;
	if (rnd(6) == 0)
		flags |= MSG_TRUNC;
	if (rnd(8) == 0)
		flags |= MSG_WAITALL;
	if (rnd(10) == 0)
		flags |= MSG_ERRQUEUE;
	if (rnd(12) == 0)
		flags |= MSG_OOB;
	if (rnd(12) == 0)
		flags |= MSG_CMSG_CLOEXEC;
	if (m >= 0 && !ms[m].nonblock && !(flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) && !ms[m].rcvtimeo &&
	    !recv_comes(&ms[m], flags, (int)total))
		flags |= MSG_DONTWAIT;
	memset(&ss, 0, sizeof(ss));
	memset(cb, 0, sizeof(cb));
	snprintf(nm, sizeof(nm), "recvmsg(%s,%u,%zu,%#x)", in, (unsigned)h.msg_namelen, h.msg_controllen, flags);
	long r = R(verbose ? nm : "recvmsg", recvmsg(fd, &h, flags));

	if (r >= 0) {
		more("/f%x/nl%u", h.msg_flags, (unsigned)h.msg_namelen);
		if (h.msg_name && h.msg_namelen > 0)
			show_addr(&ss, h.msg_namelen < sizeof(ss) ? h.msg_namelen : sizeof(ss));
		more("/cl%zu", h.msg_controllen);
		if (h.msg_control && !(flags & MSG_ERRQUEUE))
			show_cmsgs(&h);
		if (r > 0 && h.msg_iovlen == 1)
			more("/%04x", sum(buf, r < n ? r : n));
	}
	received(m, r, flags, 1);
}

static void op_sendmmsg(void)
{
	static char buf[2000];
	struct mmsghdr mv[3];
	struct sockaddr_storage ss[3];
	struct iovec iv[3];
	enum pkind to[3];
	int tm[3], m, fd = pick_fd(&m), vlen = (int)rnd(4), flags = 0;
	char an[3][64], all[200] = "";
	size_t l = 0, tot = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('A' + (i * 5) % 26);
	memset(mv, 0, sizeof(mv));
	for (int i = 0; i < 3; i++) {
		iv[i] = (struct iovec){ buf, (size_t)send_lens[rnd(5)] };
		tot += iv[i].iov_len;
		mv[i].msg_hdr.msg_iov = &iv[i];
		mv[i].msg_hdr.msg_iovlen = 1;
		mv[i].msg_hdr.msg_name = (void *)send_dest(m, &ss[i], &mv[i].msg_hdr.msg_namelen, &to[i], &tm[i],
							    an[i], sizeof(an[i]));
	}
	if (rnd(3) == 0)
		flags |= MSG_DONTWAIT;
	if (rnd(2))
		flags |= MSG_NOSIGNAL;
	flags = send_guard(m, flags, tot);
	/* What a message makes the peer answer with an error (an ICMP, a RST)
	 * reaches the kernel's socket within the call over the veth pair, and
	 * pstack's a moment later over the TAP: no message goes after one
	 * that the peer refuses. */
	for (int i = 0; m >= 0 && i + 1 < vlen; i++) {
		bool refused = ms[m].type == SOCK_STREAM
			? iv[i].iov_len > 0 && (ms[m].peer == PK_FIN || ms[m].peer == PK_RST ||
						ms[m].peer == PK_CLOSED)
			: to[i] == PK_UCLOSED;

		if (refused)
			vlen = i + 1;
	}
	for (int i = 0; i < vlen; i++)
		l += (size_t)snprintf(all + l, sizeof(all) - l, "%s%zu>%s", i ? ";" : "", iv[i].iov_len, an[i]);
	snprintf(nm, sizeof(nm), "sendmmsg(%d,%s,%#x)", vlen, all, flags);
	long r = R(verbose ? nm : "sendmmsg", sendmmsg(fd, chance(5) ? NULL : mv, (unsigned)vlen, flags));

	for (long i = 0; i < r && i < 3; i++) {
		more("/%u", mv[i].msg_len);
		if (m >= 0)
			sent(m, mv[i].msg_len, flags, to[i], tm[i]);
	}
}

static void op_recvmmsg(void)
{
	static char buf[3][4096];
	struct mmsghdr mv[3];
	struct sockaddr_storage ss[3];
	struct iovec iv[3];
	static const int lens[] = { 0, 1, 100, 4096 };
	int m, fd = pick_fd(&m), vlen = (int)rnd(4), flags, n = lens[rnd(4)];

	switch (rnd(3)) {
	case 0: flags = MSG_DONTWAIT; break;
	case 1: flags = MSG_WAITFORONE; break;
	default: flags = 0; break;
	}
	if (rnd(6) == 0)
		flags |= MSG_PEEK;
	if (rnd(6) == 0)
		flags |= MSG_TRUNC;
	/* Without MSG_DONTWAIT a blocking socket waits for VLEN messages
	 * (MSG_WAITFORONE: for one). */
	if (m >= 0 && !ms[m].nonblock && !(flags & MSG_DONTWAIT) && !ms[m].rcvtimeo) {
		const struct msock *k = &ms[m];
		bool ok = (flags & MSG_WAITFORONE) || vlen <= 1 ? recv_comes(k, flags, n)
			: k->type == SOCK_DGRAM ? k->dgrams >= vlen && !udp_unsure && !(flags & MSG_PEEK)
			: false;

		if (!ok)
			flags |= MSG_DONTWAIT;
	}
	memset(mv, 0, sizeof(mv));
	memset(ss, 0, sizeof(ss));
	for (int i = 0; i < 3; i++) {
		iv[i] = (struct iovec){ buf[i], (size_t)n };
		mv[i].msg_hdr.msg_iov = &iv[i];
		mv[i].msg_hdr.msg_iovlen = 1;
		mv[i].msg_hdr.msg_name = &ss[i];
		mv[i].msg_hdr.msg_namelen = sizeof(ss[i]);
	}
	snprintf(nm, sizeof(nm), "recvmmsg(%d,%d,%#x)", vlen, n, flags);
	long r = R(verbose ? nm : "recvmmsg", recvmmsg(fd, mv, (unsigned)vlen, flags, NULL));
	long bytes = 0;

	for (long i = 0; i < r && i < 3; i++) {
		more("/%u,f%x", mv[i].msg_len, mv[i].msg_hdr.msg_flags);
		show_addr(&ss[i], mv[i].msg_hdr.msg_namelen < sizeof(ss[i]) ? mv[i].msg_hdr.msg_namelen
			  : sizeof(ss[i]));
		bytes += mv[i].msg_len;
	}
	received(m, r < 0 ? -1 : bytes, flags, r < 0 ? 0 : (int)r);
}

/* Keeps the pipe from filling (a splice into a full pipe would wait). */
static void pipe_drain(void)
{
	char b[4096];

	while (pipe_bytes > 0 && read(pipefd[0], b, sizeof(b)) > 0)
		;
	pipe_bytes = 0;
}

/* splice and sendfile between the seed's sockets, its pipe and a file. */
static void op_splice(void)
{
	static const size_t lens[] = { 0, 1, 100, 1400, 5000 };
	int m, fd = pick_fd(&m), v = (int)rnd(5);
	size_t n = lens[rnd(5)];
	long r;

	if (pipe_bytes > 32768)
		pipe_drain();
	if (v == 0 || v == 1) {
		/* socket -> pipe: a receive. */
		if (m >= 0 && !ms[m].nonblock && !ms[m].rcvtimeo && !recv_comes(&ms[m], 0, (int)n))
			return;
		if (v == 0) {
			snprintf(nm, sizeof(nm), "splice(s>p,%zu)", n);
			r = R(verbose ? nm : "splice", splice(fd, NULL, pipefd[1], NULL, n, SPLICE_F_NONBLOCK));
		} else {
			snprintf(nm, sizeof(nm), "sendfile(p<s,%zu)", n);
			r = R(verbose ? nm : "sendfile", sendfile(pipefd[1], fd, NULL, n));
		}
		if (r > 0) {
			pipe_bytes += (int)r;
			if (m >= 0 && ms[m].type == SOCK_DGRAM)
				udp_unsure = true;
		}
		received(m, r, 0, 1);
		return;
	}
	enum pkind to = m >= 0 ? ms[m].peer : PK_NONE;
	int tm = -1;

	if (m >= 0 && ms[m].type == SOCK_DGRAM && ms[m].peer == PK_LOCAL && ms[m].lport >= 0)
		tm = udp_at(ms[m].lport);
	int flags = send_guard(m, 0, n);

	if (flags & MSG_DONTWAIT)
		return;         /* splice and sendfile have no MSG_DONTWAIT */
	if (v == 2) {
		/* pipe -> socket: a send of what the pipe holds. */
		snprintf(nm, sizeof(nm), "splice(p>s,%zu)", n);
		r = R(verbose ? nm : "splice", splice(pipefd[0], NULL, fd, NULL, n, SPLICE_F_NONBLOCK));
		if (r > 0)
			pipe_bytes -= (int)r;
	} else {
		/* file -> socket: sendfile with the file's offset or one of its own. */
		off_t off = v == 3 ? 0 : 9000, *op = &off;

		if (rnd(2))
			op = NULL;
		snprintf(nm, sizeof(nm), "sendfile(s<f,%s%ld,%zu)", op ? "" : "pos", op ? (long)off : 0L, n);
		r = R(verbose ? nm : "sendfile", sendfile(fd, memfd, op, n));
		if (r >= 0 && op)
			more("/off%ld", (long)off);
	}
	if (r > 0 && m >= 0 && ms[m].type == SOCK_DGRAM) {
		udp_unsure = true;
		udp_dirty = true;
		return;
	}
	if (m >= 0)
		sent(m, r, 0, to, tm);
}

/* fcntl and ioctl with the flags of generation 2: O_ASYNC, F_SETOWN. */
static void op_fcntl2(void)
{
	int m, fd = pick_fd(&m), v = (int)rnd(8);

	switch (v) {
	case 0: case 1: {
		static const int fl[] = { 0, O_NONBLOCK, O_ASYNC, O_NONBLOCK | O_ASYNC, O_APPEND | O_NONBLOCK,
					  O_RDONLY | O_NONBLOCK | O_DIRECT };
		int f = fl[rnd(6)];

		snprintf(nm, sizeof(nm), "setfl(%#x)", f);
		if (R(verbose ? nm : "setfl", fcntl(fd, F_SETFL, f)) == 0 && m >= 0)
			ms[m].nonblock = f & O_NONBLOCK;
		break;
	}
	case 2: {
		long r = R("getfl", fcntl(fd, F_GETFL));

		if (r >= 0)
			more("/%lx", r & (O_NONBLOCK | O_ACCMODE | O_APPEND | O_ASYNC | O_DIRECT));
		break;
	}
	case 3: {
		int who = rnd(3) == 0 ? 0 : rnd(2) ? getpid() : -getpgrp();

		snprintf(nm, sizeof(nm), "setown(%s)", who == 0 ? "0" : who > 0 ? "pid" : "pgrp");
		R(verbose ? nm : "setown", fcntl(fd, F_SETOWN, who));
		break;
	}
	case 4: {
		/* The owner by what it is (the pids differ between the runs). */
		long r;

		errno = 0;
		r = fcntl(fd, F_GETOWN);
		result("getown", r == -1 ? -1 : r == 0 ? 0 : r == getpid() ? 1 : r == -getpgrp() ? 2 : 3, errno,
		       false);
		break;
	}
	case 5:
		R("getfd", fcntl(fd, F_GETFD));
		break;
	case 6: {
		int a = (int)rnd(2);

		snprintf(nm, sizeof(nm), "FIOASYNC(%d)", a);
		R(verbose ? nm : "FIOASYNC", ioctl(fd, FIOASYNC, &a));
		break;
	}
	default: {
		int a = (int)rnd(2);

		snprintf(nm, sizeof(nm), "FIONBIO(%d)", a);
		if (R(verbose ? nm : "FIONBIO", ioctl(fd, FIONBIO, &a)) == 0 && m >= 0)
			ms[m].nonblock = a;
		break;
	}
	}
}

/* A UDP socket connected and disconnected (AF_UNSPEC), as a resolver does. */
static void op_udp_reconnect(void)
{
	int m, fd = pick_fd(&m);
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = m >= 0 ? ms[m].fam : AF_INET;

	if (m < 0 || ms[m].type != SOCK_DGRAM)
		return;
	if (rnd(2)) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_UNSPEC;
		len = rnd(2) ? sizeof(struct sockaddr) : sizeof(sa_family_t);
		snprintf(nm, sizeof(nm), "connect(UNSPEC/%u)", (unsigned)len);
		if (R(verbose ? nm : "connect", connect(fd, (struct sockaddr *)&ss, len)) == 0)
			ms[m].peer = PK_NONE;
		return;
	}
	int t = (int)rnd(3);

	len = mkaddr(&ss, fam, PEER, tgt_port[T_UECHO + t]);
	snprintf(nm, sizeof(nm), "connect(%s:%d)", PEER, tgt_port[T_UECHO + t]);
	if (R(verbose ? nm : "connect", connect(fd, (struct sockaddr *)&ss, len)) == 0) {
		ms[m].peer = tgt_kind[T_UECHO + t];
		if (ms[m].port < 0)
			ms[m].port = 9;
	}
}

static void gen2_setup(void)
{
	static char b[8192];
	struct sigaction sa = { .sa_handler = on_sig };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGIO, &sa, NULL);
	if (pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) != 0 || (memfd = memfd_create("fz", MFD_CLOEXEC)) < 0) {
		emit("SETUP pipe %s", ename(errno));
		end_line();
		exit(0);
	}
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (char)('0' + (i * 3) % 10);
	if (write(memfd, b, sizeof(b)) != (ssize_t)sizeof(b) || lseek(memfd, 0, SEEK_SET) != 0) {
		emit("SETUP memfd %s", ename(errno));
		end_line();
		exit(0);
	}
}

/* Generation 2's mix: the first generation's calls, fewer of each, and the new ones. */
static void gen2_op(void)
{
	static const struct { void (*fn)(void); int w; } tab[] = {
		{ op_bind, 6 }, { op_listen, 3 }, { op_connect, 8 }, { op_udp_reconnect, 3 },
		{ op_accept, 4 }, { op_send, 6 }, { op_recv, 6 }, { op_shutdown, 3 }, { op_close, 3 },
		{ op_dup, 2 }, { op_fcntl2, 4 }, { op_setsockopt, 6 }, { op_getsockopt, 6 }, { op_ioctl, 2 },
		{ op_poll, 1 }, { op_name, 2 }, { op_peer_connect, 2 }, { op_epoll_create, 2 },
		{ op_epoll_ctl, 6 }, { op_epoll_wait, 4 }, { op_select, 3 }, { op_sendmsg, 6 },
		{ op_recvmsg, 6 }, { op_sendmmsg, 2 }, { op_recvmmsg, 2 }, { op_splice, 3 },
	};
	int total = 0, w;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		total += tab[i].w;
	w = (int)rnd((uint32_t)total);
	if (nsocks == 0 || (w < 8 && nsocks < 3)) {
		op_socket();
		return;
	}
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (w < tab[i].w) {
			tab[i].fn();
			return;
		}
		w -= tab[i].w;
	}
}

/* ---- one seed ---- */

static void run_seed(unsigned long seed)
{
	int nops;
	struct sigaction sa = { .sa_handler = on_sig };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	rng = seed * 0x2545f4914f6cdd1dull + (uint64_t)gen * gen;
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
	if (gen == 2)
		gen2_setup();
	nops = 5 + (int)rnd(16);
	for (int i = 0; i < nops; i++) {
		int w;

		tag[0] = 0;
		step_no = i;
		if (gen == 2) {
			gen2_op();
			settle();
			continue;
		}
		w = (int)rnd(100);
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
	char tail[64], arg[32];
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(1);
	}
	snprintf(arg, sizeof(arg), "%lu", seed);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* A group of its own: F_SETOWN to the process group (-g 2)
		 * sends SIGIO and SIGURG to the seed alone, not to this driver
		 * and the timeout(1) around it. */
		setpgid(0, 0);
		dup2(p[1], 1);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		char g[16];

		snprintf(g, sizeof(g), "%d", gen);
		if (verbose)
			execl(self, self, "-g", g, "-v", "-r", arg, (char *)NULL);
		else
			execl(self, self, "-g", g, "-r", arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	collect_line(pid, p[0], SEED_TIMEOUT_MS, buf, sizeof(buf), tail, sizeof(tail));
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

	while ((opt = getopt(argc, argv, "p:s:n:vr:g:")) != -1) {
		switch (opt) {
		case 'g':
			gen = atoi(optarg);
			if (gen != 1 && gen != 2) {
				fprintf(stderr, "fuzzseq: -g 1 or -g 2\n");
				return 2;
			}
			break;
		case 'p': preload = optarg; break;
		case 's': first = strtoul(optarg, NULL, 0); break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'v': verbose = true; break;
		case 'r': run_seed(strtoul(optarg, NULL, 0)); break;
		default:
			fprintf(stderr, "usage: fuzzseq [-g GEN] [-p PRELOAD] [-s FIRST] [-n COUNT] [-v] | [-g GEN] -r SEED\n");
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
