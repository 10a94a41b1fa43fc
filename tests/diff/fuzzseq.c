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
 *     -g  the generation: 1 (default; what every seed always meant), 2,
 *         which adds epoll, select, sendmsg/recvmsg with odd iovecs and
 *         control messages, sendmmsg/recvmmsg, splice and sendfile (a pipe
 *         and a memfd of the seed's), UDP connect/disconnect, O_ASYNC,
 *         F_SETOWN, FIOASYNC and more options (gen2_op), or 3, which adds
 *         what a hostile program does with odd arguments (gen3_op): dup2,
 *         dup3 and F_DUPFD onto free, live and closed numbers, socket() and
 *         socketpair() with odd types, flags and protocols, accept4 with bad
 *         flags or a negative address length, listen() with backlogs 0 to
 *         huge and connections beyond them, names with odd lengths,
 *         addresses with odd families and lengths, IPV6_V6ONLY after bind,
 *         options set out of range and read back, TCP_CORK around sends,
 *         SO_BROADCAST, odd send/recv flags, ioctls and poll events, or 4,
 *         which brings one socket into a state first (CLOSE_WAIT, FIN_WAIT2,
 *         both FINs, the peer's RST, a refused or a silent connect, a
 *         listener shut down, connect(AF_UNSPEC), ...: g4_setup) and then
 *         makes its calls mostly on that one (gen4_op), or 5, which brings
 *         one into a state as 4 does and adds what the others reach little
 *         (gen5_op): UDP's ICMP errors (IP_RECVERR, MSG_ERRQUEUE, the next
 *         call's ECONNREFUSED), every queue ioctl, many options read and
 *         set in every state, MSG_ flag combinations, odd msghdrs (a NULL
 *         iov with a count, more than IOV_MAX, names too short or long),
 *         dup/dup3/F_DUPFD_CLOEXEC and the flags they share, or 6, which
 *         makes a listener with options and accepts its children (what
 *         each inherits, read back), an SO_REUSEPORT/SO_REUSEADDR group on
 *         one port, or a UDP socket connected, disconnected and sending to
 *         other peer ports, else a state as 4 does, then (gen6_op) shutdown
 *         in every direction followed by poll's and epoll's masks,
 *         sendfile at and past the file's end and the listener changed
 *         between children, or 7, where a second thread makes a call that
 *         blocks and the main thread, the other end or a signal ends it
 *         (op_block7), or a timeout set before does
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
#include <linux/errqueue.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/syscall.h>
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
	     PK_UECHO, PK_USINK, PK_UCLOSED, PK_STALL, PK_REPORT };
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
	bool v6only;            /* IPV6_V6ONLY (-g 3): no IPv4 connection reaches it */
	unsigned report_port;   /* -g 4: its port when it connected to the close report (7015) */
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
	return p == PK_ECHO || p == PK_SINK || p == PK_HELLO || p == PK_REPORT;
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

enum wcond { W_IN, W_OUT_DONE, W_BYTES, W_BYTES_ONLY, W_EOF, W_EOF_INFO, W_ERR, W_OUTQ, W_ERR_INFO };

/* True once FD shows COND (N: bytes). */
/* The socket's state as TCP_INFO gives it (Linux's numbering), or -1. */
static int info_state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 ? ti.tcpi_state : -1;
}

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
		int st = info_state(fd);

		return (rev & POLLERR) || st < 0 || st == 6 || st == 7 || st == 8 || st == 9 || st == 11;
	}
	case W_ERR:
		return rev & (POLLERR | POLLHUP);
	case W_ERR_INFO: {
		/* -g 4: the RST as the error or TCP_INFO's CLOSE, where
		 * shutdown(SHUT_RDWR) shows POLLHUP at once. */
		int st = info_state(fd);

		return (rev & POLLERR) || st < 0 || st == 7;
	}
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
		if (ms[i].st == ST_LISTEN && ms[i].port == pi && !ms[i].v6only)
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
			wait_for(fd, gen >= 4 ? W_ERR_INFO : W_ERR, 0, "rst");
		if (k->eof_expect)
			/* -g 4: after shutdown(SHUT_RD) too, where POLLRDHUP shows at once. */
			wait_for(fd, k->shut_early || (gen >= 4 && k->rd_shut) ? W_EOF_INFO : W_EOF, 0, "fin");
		/* -g 3: after shutdown(SHUT_RD) too, where POLLRDHUP shows at
		 * once and the bytes still come (the first two keep theirs). */
		if (k->in_expect > 0)
			wait_for(fd, k->shut_early || (gen >= 3 && k->rd_shut) ? W_BYTES_ONLY : W_BYTES, k->in_expect,
				 "bytes");
		/* The peer that closed at once (PK_FIN) still acknowledges a FIN. */
		if (k->st == ST_CONN && !k->err_expect &&
		    (peer_live(k->peer) || k->peer == PK_LOCAL || k->peer == PK_FIN || k->peer == PK_STALL))
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
static const struct sockaddr *odd_addr3(struct sockaddr_storage *ss, socklen_t *len, int fam,
					const char *ip, int port, char *name, size_t nn);

static const struct sockaddr *odd_addr(struct sockaddr_storage *ss, socklen_t *len, int fam,
				       const char *ip, int port, char *name, size_t nn)
{
	if (gen == 3 && chance(25))
		return odd_addr3(ss, len, fam, ip, port, name, nn);
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
static int subj = -1;            /* -g 4: the subject's msock */

static int pick_fd(int *m)
{
	*m = -1;
	/* -g 4: mostly the socket whose state the seed made. */
	if (gen >= 4 && subj >= 0 && fd_of(subj) >= 0 && chance(80)) {
		*m = subj;
		snprintf(tag, sizeof(tag), "s%d.", subj);
		return fd_of(subj);
	}
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

/* -g 3 (the first two keep their model): where a UDP datagram to an address
 * of the other kind goes. udpv6_sendmsg sends an AF_INET one (to
 * udp_sendmsg) and takes AF_UNSPEC as no address (the connected peer);
 * udp_sendmsg takes AF_UNSPEC as AF_INET. True when it decided *TO. */
static bool udp_dest_other(int fam, const struct sockaddr_storage *ss, socklen_t len, enum pkind *to,
			   enum pkind peer)
{
	if (fam == AF_INET6 && ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return true;
	if (fam == AF_INET6 && ss->ss_family == AF_UNSPEC && len >= sizeof(sa_family_t)) {
		*to = peer;
		return true;
	}
	return fam == AF_INET && ss->ss_family == AF_UNSPEC && len >= sizeof(struct sockaddr_in);
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
	else if (gen >= 3 && udp_dest_other(fam, &ss, len, &to, m >= 0 ? ms[m].peer : PK_NONE))
		;
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

/* -g 4: Linux's inet_shutdown undoes a listener (SHUT_RD) and a connect
 * under way (any HOW) with the protocol's disconnect: the socket is as new. */
static void shut_undo(int m, int how)
{
	struct msock *k = &ms[m];

	if (k->type != SOCK_STREAM)
		return;
	if (k->st == ST_LISTEN && how != SHUT_WR) {
		for (int i = 0; i < k->qlen; i++) {
			other_gone(k->q[i], true);
			free_msock(k->q[i]);
		}
		k->qlen = 0;
		k->st = ST_NEW;
	} else if (k->st == ST_CONNECTING) {
		k->st = ST_NEW;
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
	if (gen >= 4)
		shut_undo(m, how);
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
#define NOPTS (gen >= 2 ? sizeof(opts) / sizeof(opts[0]) : NOPTS1)

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
		if (gen >= 2 && len >= 8)
			more("/ca%d/opt%x/ws%d,%d", v.ti.tcpi_ca_state, v.ti.tcpi_options,
			     v.ti.tcpi_snd_wscale, v.ti.tcpi_rcv_wscale);
		break;
	default:
		if (o->opt == SO_ERROR && o->level == SOL_SOCKET && m >= 0 && v.i != 0)
			ms[m].err_expect = false;
		/* The buffer sizes follow each stack's accounting: only that one is set. */
		if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF) && gen >= 2 &&
		    m >= 0 && (ms[m].bufset & (o->opt == SO_RCVBUF ? 1 : 2)))
			more("/%d", v.i);       /* Linux doubles what was set (sock_setsockopt) */
		else if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF))
			/* Shorter than an int, the bytes shown are the size's
			 * low ones: each stack's accounting (-g 2). */
			more("/%s", gen >= 2 && len < 4 ? "?" : v.i > 0 ? "+" : "0");
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
	else if (gen >= 3 && udp_dest_other(fam, ss, *len, to, m >= 0 ? ms[m].peer : PK_NONE))
		;
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
/* An operation of a generation's table, by weight; a new socket first when
 * there is none, and now and then while there are fewer than three. */
struct weighted { void (*fn)(void); int w; };

/* A draw over the weights of tab (one rnd() call), and the op it falls on. */
static int weighted_draw(const struct weighted *tab, size_t n)
{
	int total = 0;

	for (size_t i = 0; i < n; i++)
		total += tab[i].w;
	return (int)rnd((uint32_t)total);
}

static void weighted_run(const struct weighted *tab, size_t n, int w)
{
	for (size_t i = 0; i < n; i++) {
		if (w < tab[i].w) {
			tab[i].fn();
			return;
		}
		w -= tab[i].w;
	}
}

static void weighted_op(const struct weighted *tab, size_t n)
{
	int w = weighted_draw(tab, n);

	if (nsocks == 0 || (w < 8 && nsocks < 3)) {
		op_socket();
		return;
	}
	weighted_run(tab, n, w);
}

/* The same without new sockets: the later generations work on the state's. */
static void weighted_op_state(const struct weighted *tab, size_t n)
{
	weighted_run(tab, n, weighted_draw(tab, n));
}

static void gen2_op(void)
{
	static const struct weighted tab[] = {
		{ op_bind, 6 }, { op_listen, 3 }, { op_connect, 8 }, { op_udp_reconnect, 3 },
		{ op_accept, 4 }, { op_send, 6 }, { op_recv, 6 }, { op_shutdown, 3 }, { op_close, 3 },
		{ op_dup, 2 }, { op_fcntl2, 4 }, { op_setsockopt, 6 }, { op_getsockopt, 6 }, { op_ioctl, 2 },
		{ op_poll, 1 }, { op_name, 2 }, { op_peer_connect, 2 }, { op_epoll_create, 2 },
		{ op_epoll_ctl, 6 }, { op_epoll_wait, 4 }, { op_select, 3 }, { op_sendmsg, 6 },
		{ op_recvmsg, 6 }, { op_sendmmsg, 2 }, { op_recvmmsg, 2 }, { op_splice, 3 },
	};

	weighted_op(tab, sizeof(tab) / sizeof(tab[0]));
}

/* ---- generation 3 (-g 3): the hostile program's odd arguments ---- */

/* Addresses as a hostile program builds them (odd_addr's third kind):
 * AF_UNSPEC with a real address (inet_bind takes it for INADDR_ANY only),
 * lengths one past, huge or negative, the other family's layout, a v4-mapped
 * address with flow or scope, a native IPv6 address nobody routes. */
static const struct sockaddr *odd_addr3(struct sockaddr_storage *ss, socklen_t *len, int fam,
					const char *ip, int port, char *name, size_t nn)
{
	int v = (int)rnd(9);
	const char *what = "";

	*len = mkaddr(ss, fam, ip, port);
	switch (v) {
	case 0:
		*len = mkaddr(ss, AF_INET, ip, port);
		ss->ss_family = AF_UNSPEC;
		what = "U4";
		break;
	case 1:
		*len += 1;
		what = "+1";
		break;
	case 2:
		*len = rnd(2) ? 4096 : (socklen_t)-1;
		what = "huge";
		break;
	case 3:
		/* The other family's layout under this family's name; read as
		 * a sockaddr_in, sin6_flowinfo is the address: the one meant
		 * (0.0.0.0 would be this host, whose kernel drops the silent
		 * port in pstack's namespace). */
		*len = mkaddr(ss, fam == AF_INET ? AF_INET6 : AF_INET, ip, port);
		ss->ss_family = (sa_family_t)fam;
		if (fam == AF_INET)
			inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr);
		what = "layout";
		break;
	case 4:
		if (fam == AF_INET6) {
			((struct sockaddr_in6 *)ss)->sin6_flowinfo = htonl(0x12345);
			((struct sockaddr_in6 *)ss)->sin6_scope_id = rnd(2) ? 1 : 999;
		} else {
			memset(((struct sockaddr_in *)ss)->sin_zero, 0xee, 8);
		}
		what = "junk";
		break;
	case 5:
		if (fam == AF_INET6) {
			*len = 24;      /* SIN6_LEN_RFC2133: no scope id */
			what = "rfc2133";
		} else {
			*len = 15;
			what = "15";
		}
		break;
	case 6: {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		memset(ss, 0, sizeof(*ss));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr);
		*len = sizeof(*a);
		what = "v6";
		break;
	}
	case 7:
		ss->ss_family = 0xffff;
		what = "famffff";
		break;
	default:
		*len = sizeof(sa_family_t) + (socklen_t)rnd(3);
		what = "fam";
		break;
	}
	snprintf(name, nn, "%s:%s:%d/%d", what, ip, port, (int)*len);
	return (struct sockaddr *)ss;
}

/* Removes NUM from the closed descriptors (a dup2 made it live again). */
static void unstale(int num)
{
	for (int i = 0; i < nstale; i++)
		if (stale[i] == num)
			stale[i--] = stale[--nstale];
}

/* The model's side of a descriptor number that a dup2/dup3 closed. */
static void fd_replaced(int num)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i].fd == num) {
			int m = fds[i].m;

			fds[i] = fds[--nfds];
			if (--ms[m].refs == 0)
				last_close(m);
			return;
		}
}

/* dup2, dup3 and F_DUPFD(_CLOEXEC) of a socket: onto a free number, onto
 * another of the seed's sockets (which it closes), onto itself, onto a
 * closed one; then what the copy is. */
static void op_dup3(void)
{
	int m, fd = pick_fd(&m), v = (int)rnd(6), tgt, nfd, i;
	const char *how;

	if (nfds == MAXF)
		return;
	switch (rnd(4)) {
	case 0: tgt = 300 + (int)rnd(3); break;
	case 1: tgt = nfds > 0 ? fds[rnd((uint32_t)nfds)].fd : 301; break;
	case 2: tgt = fd; break;
	default: tgt = nstale ? stale[rnd((uint32_t)nstale)] : 302; break;
	}
	if (tgt == devnull || tgt == barrier_fd || tgt == ctl_fd || tgt < 0 ||
	    tgt == epfds[0] || tgt == epfds[1] || tgt == pipefd[0] || tgt == pipefd[1] || tgt == memfd)
		tgt = 303;
	for (i = 0; i < nfds && fds[i].fd != tgt; i++)
		;
	snprintf(tag + strlen(tag), sizeof(tag) - strlen(tag), "%s", tgt == fd ? "" : i < nfds ? ">s" : ">n");
	errno = 0;
	switch (v) {
	case 0: how = "dup2"; nfd = dup2(fd, tgt); break;
	case 1: how = "dup3"; nfd = dup3(fd, tgt, O_CLOEXEC); break;
	case 2: how = "dup3(0)"; nfd = dup3(fd, tgt, 0); break;
	case 3: how = "dup3(bad)"; nfd = dup3(fd, tgt, 0x4000); break;
	case 4: how = "F_DUPFD"; tgt = rnd(2) ? 200 : -1; nfd = fcntl(fd, F_DUPFD, tgt); break;
	default: how = "F_DUPFD_CLOEXEC"; tgt = 250; nfd = fcntl(fd, F_DUPFD_CLOEXEC, tgt); break;
	}
	result(how, nfd, errno, true);
	snprintf(tag, sizeof(tag), "s%d.", m);
	if (nfd < 0)
		return;
	more("/%s/cx%d", nfd == tgt ? "at" : nfd > tgt ? "above" : "below", fcntl(nfd, F_GETFD));
	{
		int ty = -1;
		socklen_t l = sizeof(ty);

		getsockopt(nfd, SOL_SOCKET, SO_TYPE, &ty, &l);
		more("/ty%d", ty);
	}
	if (nfd == fd)
		return;
	/* What the number held before is closed (dup2's implicit close). */
	unstale(nfd);
	fd_replaced(nfd);
	if (m < 0) {
		close(nfd);
		if (nstale < 8)
			stale[nstale++] = nfd;
		return;
	}
	add_fd(nfd, m);
	if (nfds == MAXF)
		return;
	/* A call on each copy, then one of them closed. */
	R("getfl", fcntl(fd, F_GETFL) & O_NONBLOCK);
	R("getfl", fcntl(nfd, F_GETFL) & O_NONBLOCK);
}

/* socket() with the odd types, flags and protocols. */
static void op_socket3(void)
{
	static const struct { int fam, type, proto; } t[] = {
		{ AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0 },
		{ AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP },
		{ AF_INET, SOCK_STREAM, IPPROTO_UDP },
		{ AF_INET6, SOCK_DGRAM, IPPROTO_TCP },
		{ AF_INET, SOCK_STREAM, IPPROTO_RAW },
		{ AF_INET, SOCK_DGRAM, 255 },
		{ AF_INET6, SOCK_STREAM, 255 },
		{ AF_INET, SOCK_STREAM, -1 },
		{ AF_INET, SOCK_STREAM | 0x100000, 0 },
		{ AF_INET, SOCK_DGRAM | O_APPEND, 0 },
		{ AF_INET, 0, 0 },
		{ AF_INET, 11, 0 },
		{ AF_INET, -1, 0 },
		{ AF_INET, SOCK_DGRAM, IPPROTO_ICMP },
		{ AF_INET, SOCK_RAW, IPPROTO_RAW },
		{ AF_INET, SOCK_RAW, 0 },
		{ AF_INET, SOCK_SEQPACKET, 0 },
		{ AF_INET, SOCK_RDM, 0 },
		{ AF_INET, SOCK_PACKET, 0 },
		{ AF_UNSPEC, SOCK_STREAM, 0 },
		{ AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP },
		{ AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0 },
		{ AF_INET, SOCK_STREAM, IPPROTO_MPTCP },
		{ 1000, SOCK_STREAM, 0 },
	};
	int i = (int)rnd(sizeof(t) / sizeof(t[0])), base = t[i].type & 0xf;

	snprintf(nm, sizeof(nm), "socket(%d,%#x,%d)", t[i].fam, t[i].type, t[i].proto);
	int fd = (int)RFD(verbose ? nm : "socket", socket(t[i].fam, t[i].type, t[i].proto));

	if (fd < 0)
		return;
	{
		int ty = -1, pr = -1, dm = -1;
		socklen_t l = sizeof(int);

		getsockopt(fd, SOL_SOCKET, SO_TYPE, &ty, &l);
		getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &pr, &l);
		getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dm, &l);
		more("/t%d,p%d,d%d,nb%d,cx%d", ty, pr, dm, !!(fcntl(fd, F_GETFL) & O_NONBLOCK), fcntl(fd, F_GETFD));
	}
	bool plain = (t[i].fam == AF_INET || t[i].fam == AF_INET6) &&
		(base == SOCK_STREAM ? t[i].proto == 0 || t[i].proto == IPPROTO_TCP
		 : base == SOCK_DGRAM && (t[i].proto == 0 || t[i].proto == IPPROTO_UDP));
	int m = plain && nfds < MAXF ? new_msock(base, t[i].fam) : -1;

	if (m < 0) {
		close(fd);
		return;
	}
	ms[m].nonblock = t[i].type & SOCK_NONBLOCK;
	add_fd(fd, m);
	nsocks++;
}

static void op_socketpair3(void)
{
	static const struct { int fam, type, proto; } t[] = {
		{ AF_INET, SOCK_STREAM, 0 }, { AF_INET, SOCK_DGRAM, 0 }, { AF_INET6, SOCK_STREAM, 0 },
		{ AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP }, { AF_INET, SOCK_STREAM, IPPROTO_UDP },
		{ AF_UNIX, SOCK_STREAM, 0 }, { AF_INET, SOCK_STREAM | 0x100000, 0 },
	};
	int i = (int)rnd(sizeof(t) / sizeof(t[0])), sv[2] = { -1, -1 };
	bool null = chance(20);

	snprintf(nm, sizeof(nm), "socketpair(%d,%#x,%d%s)", t[i].fam, t[i].type, t[i].proto, null ? ",NULL" : "");
	if (R(verbose ? nm : "socketpair", socketpair(t[i].fam, t[i].type, t[i].proto, null ? NULL : sv)) == 0 &&
	    !null) {
		close(sv[0]);
		close(sv[1]);
	}
}

/* accept4 as a hostile program calls it: bad flags, a UDP socket, an
 * unlistened one; a negative or NULL address length on a listener whose
 * connection waits (Linux takes the connection, fails the copy-out, and
 * closes it: do_accept, move_addr_to_user). */
static void op_accept3(void)
{
	static const int bad[] = { 0x1, -1, SOCK_NONBLOCK | 0x10, 0x40000000, O_APPEND };
	int m, fd = pick_fd(&m), flags;
	struct sockaddr_storage ss;
	socklen_t len;
	long r;

	if (m >= 0 && ms[m].st == ST_LISTEN && ms[m].qlen > 0 && chance(50)) {
		bool neg = rnd(2);

		len = (socklen_t)-1;
		snprintf(nm, sizeof(nm), "accept4(sa,%s)", neg ? "-1" : "NULL");
		r = RFD(verbose ? nm : "accept4", accept4(fd, (struct sockaddr *)&ss, neg ? &len : NULL, 0));
		if (r >= 0) {
			close((int)r);
		}
		{
			int c = ms[m].q[0];

			memmove(ms[m].q, ms[m].q + 1, sizeof(int) * (size_t)--ms[m].qlen);
			last_close(c);
		}
		return;
	}
	flags = rnd(4) ? bad[rnd(sizeof(bad) / sizeof(bad[0]))] : SOCK_CLOEXEC;
	/* A good call that would wait: a listener's empty queue, blocking. */
	if (flags == SOCK_CLOEXEC && m >= 0 && ms[m].st == ST_LISTEN && (ms[m].qlen > 0 || !ms[m].nonblock))
		return;
	len = sizeof(ss);
	snprintf(nm, sizeof(nm), "accept4(%#x)", flags);
	r = RFD(verbose ? nm : "accept4", accept4(fd, (struct sockaddr *)&ss, &len, flags));
	if (r >= 0)
		close((int)r);
}

/* listen() with backlog 0, 1, 2, negative or huge, then connections one at
 * a time beyond it (the listener of its own, on a port of the seed's). The
 * queue holds backlog + 1 (Linux's sk_acceptq_is_full is a '>'); a SYN past
 * it is dropped, so its connect stays under way: its wait is short. */
static int listen3_n;

static void op_listen3(void)
{
	static const int bls[] = { 0, 1, 2, -1, INT_MAX, 65536, INT_MIN };
	int b = bls[rnd(7)], cl[6], n, exp, l;
	struct sockaddr_storage ss;
	socklen_t len;
	struct tcp_info ti;
	int one = 1;

	if (listen3_n == 3)
		return;
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (l < 0)
		return;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	len = mkaddr(&ss, AF_INET, SELF, own_port(0) + 10000 + listen3_n++);
	if (bind(l, (struct sockaddr *)&ss, len) != 0) {
		emit("listen3=bind-%s", ename(errno));
		close(l);
		return;
	}
	snprintf(nm, sizeof(nm), "listen3(%d)", b);
	if (R(verbose ? nm : "listen3", listen(l, b)) != 0) {
		close(l);
		return;
	}
	len = sizeof(ti);
	if (getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		more("/max%u", ti.tcpi_sacked);
	/* The queue's room: backlog + 1, at most somaxconn + 1. */
	exp = b < 0 || b > 2 ? 2 : b + 1;
	n = exp + (b >= 0 && b <= 2 ? 1 : 0);
	for (int i = 0; i < n; i++) {
		int e = 0;
		socklen_t el = sizeof(e);
		struct timespec t0;

		cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		len = mkaddr(&ss, AF_INET, SELF, own_port(0) + 10000 + listen3_n - 1);
		errno = 0;
		if (connect(cl[i], (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			while (!(poll1(cl[i], POLLOUT, 0) & (POLLOUT | POLLERR)) &&
			       ms_since(&t0) < (i < exp ? WAIT_MS : 300))
				poll1(cl[i], POLLOUT, 2);
		}
		getsockopt(cl[i], SOL_SOCKET, SO_ERROR, &e, &el);
		more("/%s%s", poll1(cl[i], POLLOUT, 0) & POLLOUT ? "c" : "p", e ? ename(e) : "");
	}
	/* The listener's queue, once the last connection was counted. */
	{
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			len = sizeof(ti);
			if (getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
				break;
			if ((int)ti.tcpi_unacked >= exp)
				break;
			poll1(l, POLLIN, 2);
		} while (ms_since(&t0) < WAIT_MS);
		more("/q%u", ti.tcpi_unacked);
	}
	/* An accept4 whose address cannot be written back (a negative
	 * length, no length): Linux takes the connection, fails the copy-out
	 * and closes it (do_accept, move_addr_to_user): the client sees its
	 * end. The kind follows the backlog (no random number of its own). */
	{
		int v = (int)(((unsigned)b + (unsigned)listen3_n) % 5), fd;
		socklen_t al = v == 1 ? (socklen_t)-1 : v == 3 ? 0 : sizeof(ss);
		struct sockaddr *ap = v == 4 ? NULL : (struct sockaddr *)&ss;

		if (v > 0) {
			errno = 0;
			fd = accept4(l, ap, v == 2 ? NULL : &al, 0);
			result(v == 1 ? "acceptneg" : v == 2 ? "acceptnolen" : v == 3 ? "accept0" : "acceptnosa",
			       fd, errno, true);
			if (fd >= 0) {
				more("/al%u", (unsigned)al);
				close(fd);
			}
			struct timespec t0;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			while (!(poll1(cl[0], POLLRDHUP, 0) & (POLLRDHUP | POLLERR | POLLHUP)) &&
			       ms_since(&t0) < WAIT_MS)
				poll1(cl[0], POLLRDHUP, 2);
			more("/cl0:%x", poll1(cl[0], POLLIN | POLLRDHUP, 0) & (POLLIN | POLLRDHUP | POLLERR | POLLHUP));
		}
	}
	{
		int a = 0, fd;

		while ((fd = accept4(l, NULL, NULL, 0)) >= 0) {
			a++;
			close(fd);
		}
		more("/acc%d,%s", a, ename(errno));
	}
	for (int i = 0; i < n; i++)
		close(cl[i]);
	close(l);
}

/* getsockname/getpeername with the lengths a hostile program passes: the
 * bytes written shown one by one (the port's two masked), 0xa5 where none. */
static void op_name3(void)
{
	static const socklen_t lens[] = { 0, 1, 2, 3, 5, 7, 9, 15, 17, 27, 29, 0x80000000u, (socklen_t)-1, 100000 };
	int m, fd = pick_fd(&m), peer = (int)rnd(2);
	unsigned char b[160];
	socklen_t len = lens[rnd(sizeof(lens) / sizeof(lens[0]))], l0 = len;
	bool null = chance(8);
	char h[80];
	size_t k = 0;

	memset(b, 0xa5, sizeof(b));
	snprintf(nm, sizeof(nm), "%s3(%d%s)", peer ? "getpeername" : "getsockname", (int)len, null ? ",NULL" : "");
	long r = R(verbose ? nm : peer ? "getpeername3" : "getsockname3",
		   peer ? getpeername(fd, null ? NULL : (struct sockaddr *)b, &len)
			: getsockname(fd, null ? NULL : (struct sockaddr *)b, &len));

	if (r != 0)
		return;
	more("/rlen%u/", (unsigned)len);
	for (size_t i = 0; i < 30 && k + 3 < sizeof(h); i++) {
		if (i == 2 || i == 3)
			k += (size_t)snprintf(h + k, sizeof(h) - k, "%s", i < l0 && i < len ? ".." : "__");
		else
			k += (size_t)snprintf(h + k, sizeof(h) - k, "%02x", b[i]);
	}
	more("%s", h);
}

/* IPV6_V6ONLY on an AF_INET6 socket, before or after bind() (Linux: EINVAL
 * once bound, inet_num set). */
static void op_v6only3(void)
{
	int m, fd = pick_fd(&m), v = rnd(3) ? (int)rnd(2) : rnd(2) ? 2 : -1, g = -1;
	socklen_t l = sizeof(g);

	snprintf(nm, sizeof(nm), "setV6ONLY(%d)", v);
	long r = R(verbose ? nm : "V6ONLY", setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)));

	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &g, &l) == 0)
		more("/%d", g);
	if (r == 0 && m >= 0)
		ms[m].v6only = v != 0;
}

/* The options with the values out of range, each set then read back. */
enum o3kind { O3_INT, O3_BYTE, O3_TV, O3_LINGER, O3_STR, O3_INADDR, O3_MREQN, O3_MREQ };

struct opt3 {
	const char *name;
	int level, opt;
	enum o3kind kind;
	int vals[6];
	int nvals;
};

static const struct opt3 opts3[] = {
	{ "RCVBUF", SOL_SOCKET, SO_RCVBUF, O3_INT, { -1, INT_MAX, INT_MIN, 1 << 20, 100000 }, 5 },
	{ "SNDBUF", SOL_SOCKET, SO_SNDBUF, O3_INT, { 0, -1, INT_MAX, 1 << 20 }, 4 },
	{ "MAXSEG", IPPROTO_TCP, TCP_MAXSEG, O3_INT, { 0, 1, 65536, 536, 88, 87 }, 6 },
	{ "KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, O3_INT, { 0, 32767, 32768, -1, 1 }, 5 },
	{ "KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, O3_INT, { 0, 32767, 32768 }, 3 },
	{ "KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, O3_INT, { 0, 127, 128, 255 }, 4 },
	{ "USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, O3_INT, { -1, 0, INT_MAX }, 3 },
	{ "TTL", IPPROTO_IP, IP_TTL, O3_INT, { 0, 256, -1, 255, -2 }, 5 },
	{ "TOS", IPPROTO_IP, IP_TOS, O3_INT, { 0xff, 0x03, 0x1c, 0x100, -1 }, 5 },
	{ "LINGER", SOL_SOCKET, SO_LINGER, O3_LINGER, { 2, -1, 1 }, 3 },
	{ "RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, O3_TV, { 1000000, -1, 1, 999999, 0 }, 5 },
	/* Not a short one: a blocking connect's result would be a race. */
	{ "SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, O3_TV, { 1000000, -1, 999999, 0 }, 4 },
	{ "CONGESTION", IPPROTO_TCP, TCP_CONGESTION, O3_STR, { 0, 1, 2, 3 }, 4 },
	{ "REUSEPORT", SOL_SOCKET, SO_REUSEPORT, O3_INT, { 1, 0, 2 }, 3 },
	{ "PEEK_OFF", SOL_SOCKET, SO_PEEK_OFF, O3_INT, { -1, 0, 5, -2 }, 4 },
	{ "BROADCAST", SOL_SOCKET, SO_BROADCAST, O3_INT, { 1, 0, 7 }, 3 },
	{ "MCTTL", IPPROTO_IP, IP_MULTICAST_TTL, O3_INT, { -1, 256, 0, 255, -2 }, 5 },
	{ "MCTTL1", IPPROTO_IP, IP_MULTICAST_TTL, O3_BYTE, { 0, 7, 255 }, 3 },
	{ "MCLOOP", IPPROTO_IP, IP_MULTICAST_LOOP, O3_INT, { 2, 0, -1 }, 3 },
	{ "MCIF", IPPROTO_IP, IP_MULTICAST_IF, O3_INADDR, { 0, 1, 2 }, 3 },
	{ "MCIFN", IPPROTO_IP, IP_MULTICAST_IF, O3_MREQN, { 0, 1, 2 }, 3 },
	{ "ADDMEMB", IPPROTO_IP, IP_ADD_MEMBERSHIP, O3_MREQ, { 0, 1, 2, 3 }, 4 },
	{ "DROPMEMB", IPPROTO_IP, IP_DROP_MEMBERSHIP, O3_MREQ, { 0, 1, 2 }, 3 },
	{ "CORK", IPPROTO_TCP, TCP_CORK, O3_INT, { 1, 0, 2 }, 3 },
	{ "NODELAY", IPPROTO_TCP, TCP_NODELAY, O3_INT, { 1, 0, -1 }, 3 },
	{ "DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, O3_INT, { -1, 0, 5, INT_MAX, 1 }, 5 },
	{ "QUICKACK", IPPROTO_TCP, TCP_QUICKACK, O3_INT, { 0, 1, 2, -1 }, 4 },
	{ "WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP, O3_INT, { 0, 1, 100, INT_MAX, -1 }, 5 },
	{ "NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT, O3_INT, { -1, 0, 1, INT_MAX }, 4 },
	{ "SYNCNT", IPPROTO_TCP, TCP_SYNCNT, O3_INT, { 0, 127, 128, -1 }, 4 },
	{ "LINGER2", IPPROTO_TCP, TCP_LINGER2, O3_INT, { -1, 0, 1, 100000 }, 4 },
	{ "PRIORITY", SOL_SOCKET, SO_PRIORITY, O3_INT, { 7, 6, -1, 8 }, 4 },
	{ "MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, O3_INT, { 5, 6, -1 }, 3 },
	{ "UHOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, O3_INT, { -1, 0, 255, 256, -2 }, 5 },
	{ "TCLASS", IPPROTO_IPV6, IPV6_TCLASS, O3_INT, { -1, 0xff, 0x100, -2 }, 4 },
};

static void op_setsockopt3(void)
{
	static const char *const cc[] = { "nosuch", "reno", "cubic", "" };
	int m, fd = pick_fd(&m);
	const struct opt3 *o = &opts3[rnd(sizeof(opts3) / sizeof(opts3[0]))];
	int val = o->vals[rnd((uint32_t)o->nvals)];
	union { int i; unsigned char c; struct timeval tv; struct linger l; char s[16]; struct in_addr a;
		struct ip_mreqn mn; struct ip_mreq mq; } v, g;
	socklen_t len = sizeof(int), gl;
	bool shortlen = chance(8);

	memset(&v, 0, sizeof(v));
	switch (o->kind) {
	case O3_INT: v.i = val; break;
	case O3_BYTE: v.c = (unsigned char)val; len = 1; break;
	case O3_TV:
		if (val == -1) {
			v.tv.tv_sec = 0;
			v.tv.tv_usec = -1;
		} else if (val == 0) {
			v.tv.tv_sec = LONG_MAX;
		} else {
			v.tv.tv_usec = val;
		}
		len = sizeof(v.tv);
		break;
	case O3_LINGER: v.l.l_onoff = val; v.l.l_linger = (int)rnd(2); len = sizeof(v.l); break;
	case O3_STR:
		snprintf(v.s, sizeof(v.s), "%s", cc[val]);
		len = (socklen_t)strlen(v.s) + (rnd(2) ? 1 : 0);
		break;
	case O3_INADDR:
		inet_pton(AF_INET, val == 0 ? SELF : val == 1 ? "192.0.2.99" : "0.0.0.0", &v.a);
		len = sizeof(v.a);
		break;
	case O3_MREQN:
		inet_pton(AF_INET, val == 1 ? "192.0.2.99" : SELF, &v.mn.imr_address);
		v.mn.imr_ifindex = val == 2 ? 999 : 0;
		len = sizeof(v.mn);
		break;
	case O3_MREQ:
		inet_pton(AF_INET, val == 1 ? PEER : val == 2 ? "0.0.0.0" : "224.1.2.3", &v.mq.imr_multiaddr);
		inet_pton(AF_INET, val == 3 ? "192.0.2.99" : rnd(2) ? SELF : "0.0.0.0", &v.mq.imr_interface);
		len = sizeof(v.mq);
		break;
	}
	if (shortlen)
		len = len > 1 ? len - 1 : 0;
	snprintf(nm, sizeof(nm), "set%s(%d,%u)", o->name, val, (unsigned)len);
	long r = R(verbose ? nm : o->name, setsockopt(fd, o->level, o->opt, &v, len));

	if (m >= 0 && r == 0) {
		if (o->opt == SO_RCVTIMEO && o->level == SOL_SOCKET)
			ms[m].rcvtimeo = v.tv.tv_sec == 0 && v.tv.tv_usec > 0;
		if (o->opt == SO_LINGER && o->level == SOL_SOCKET && len >= sizeof(v.l))
			ms[m].linger0 = v.l.l_onoff && v.l.l_linger == 0;
		if (o->level == SOL_SOCKET && (o->opt == SO_RCVBUF || o->opt == SO_SNDBUF))
			ms[m].bufset |= o->opt == SO_RCVBUF ? 1 : 2;
		if (o->opt == TCP_CORK && o->level == IPPROTO_TCP)
			ms[m].cork = val != 0;
	}
	if (o->kind == O3_MREQ)
		return;
	memset(&g, 0, sizeof(g));
	gl = o->kind == O3_TV ? sizeof(g.tv) : o->kind == O3_LINGER ? sizeof(g.l) :
		o->kind == O3_STR ? sizeof(g.s) : o->kind == O3_MREQN ? sizeof(g.a) : sizeof(int);
	if (getsockopt(fd, o->level, o->opt, &g, &gl) != 0) {
		more("/g%s", ename(errno));
		return;
	}
	switch (o->kind) {
	case O3_TV: more("/%ld.%06ld", (long)g.tv.tv_sec, (long)g.tv.tv_usec); break;
	case O3_LINGER: more("/%d,%d", g.l.l_onoff, g.l.l_linger); break;
	case O3_STR:
		/* The default is the namespace's (bbr on one host, cubic on
		 * another; pstack runs CUBIC: README's deviations). */
		more("/%s", strcmp(g.s, "reno") == 0 || (strcmp(g.s, "cubic") == 0 && r == 0) ? g.s : "dflt");
		break;
	case O3_INADDR: case O3_MREQN: {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &g.a, a, sizeof(a));
		more("/%s,%u", a, (unsigned)gl);
		break;
	}
	default:
		/* A connection's segment size is its path's (each stack's
		 * option accounting): only before one. */
		if (o->level == IPPROTO_TCP && o->opt == TCP_MAXSEG && m >= 0 && ms[m].st != ST_NEW)
			more("/%s", g.i > 0 ? "+" : "0");
		else
			more("/%d,%u", g.i, (unsigned)gl);
		break;
	}
}

/* TCP_CORK and TCP_NODELAY toggled around sends on a connection. */
static void op_cork3(void)
{
	int m, fd = pick_fd(&m), one = 1, zero = 0;

	if (m < 0 || ms[m].type != SOCK_STREAM || ms[m].st != ST_CONN || !peer_live(ms[m].peer))
		return;
	int fl = send_guard(m, MSG_NOSIGNAL, 200);

	R("CORK", setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)));
	sent(m, R("send", send(fd, "corked-bytes", 12, fl)), fl, ms[m].peer, -1);
	if (rnd(2))
		R("NODELAY", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	sent(m, R("send", send(fd, "more", 4, fl | (rnd(2) ? MSG_MORE : 0))), fl, ms[m].peer, -1);
	R("CORK", setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)));
	if (rnd(2))
		R("NODELAY", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof(zero)));
	ms[m].cork = false;
}

/* SO_BROADCAST (or not), then a datagram to the subnet's broadcast
 * address (the peer's sink: nobody answers a broadcast). */
static void op_broadcast3(void)
{
	int m, fd = pick_fd(&m), v = (int)rnd(2);
	struct sockaddr_storage ss;
	socklen_t len;
	const char *ip = rnd(3) ? "192.0.2.255" : "255.255.255.255";

	if (rnd(2)) {
		snprintf(nm, sizeof(nm), "setBROADCAST(%d)", v);
		R(verbose ? nm : "BROADCAST", setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)));
	}
	len = mkaddr(&ss, m >= 0 ? ms[m].fam : AF_INET, ip, P_USINK);
	snprintf(nm, sizeof(nm), "sendto(%s)", ip);
	long r = R(verbose ? nm : "sendto", sendto(fd, "bcast", 5, MSG_DONTWAIT | MSG_NOSIGNAL,
						  (struct sockaddr *)&ss, len));

	if (r < 0 || m < 0)
		return;
	if (ms[m].type == SOCK_STREAM) {
		sent(m, r, 0, ms[m].peer, -1);  /* TCP ignores the address */
		return;
	}
	udp_dirty = true;
	if (ms[m].port < 0)
		ms[m].port = 9;
}

/* send() with the flags a hostile program sets: MSG_CONFIRM, MSG_MORE,
 * MSG_OOB on UDP, MSG_ERRQUEUE, MSG_EOR, MSG_PROXY, MSG_FASTOPEN on a
 * connection, unknown bits. */
static void op_send3(void)
{
	static const int fl[] = { MSG_CONFIRM, MSG_MORE, MSG_OOB, MSG_ERRQUEUE, MSG_EOR, MSG_PROXY,
				  MSG_FASTOPEN, 0x00800000, 0x10000000, MSG_CMSG_CLOEXEC, MSG_TRUNC,
				  MSG_WAITALL, MSG_PEEK, MSG_ZEROCOPY, MSG_DONTROUTE, MSG_BATCH };
	int m, fd = pick_fd(&m), f = fl[rnd(sizeof(fl) / sizeof(fl[0]))], n = send_lens[1 + rnd(4)];
	char buf[1500];

	if (f == MSG_FASTOPEN && (m < 0 || ms[m].st != ST_CONN))
		return;         /* an unconnected one would connect */
	for (int i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 3 + n) % 26);
	int flags = send_guard(m, f | MSG_NOSIGNAL | (rnd(2) ? MSG_DONTWAIT : 0), (size_t)n);

	snprintf(nm, sizeof(nm), "send3(%d,%#x)", n, flags);
	long r = R(verbose ? nm : "send3", send(fd, buf, (size_t)n, flags));

	/* MSG_PROBE (glibc: MSG_PROXY) on UDP sends nothing (udp_sendmsg: do_confirm). */
	if (m >= 0 && !(f == MSG_PROXY && ms[m].type == SOCK_DGRAM))
		sent(m, r, flags, ms[m].peer, -1);
}

/* recv() with the flags: MSG_TRUNC on TCP (the bytes dropped), MSG_ERRQUEUE
 * on TCP, MSG_OOB without urgent data, unknown bits, MSG_WAITALL under a
 * short SO_RCVTIMEO. */
static void op_recv3(void)
{
	static const int fl[] = { MSG_TRUNC, MSG_TRUNC | MSG_PEEK, MSG_ERRQUEUE, MSG_OOB, 0x00800000,
				  MSG_CMSG_CLOEXEC, MSG_CONFIRM, MSG_MORE, MSG_EOR, MSG_WAITFORONE, -1 };
	static const int lens[] = { 0, 1, 5, 100, 4096 };
	static char buf[4096];
	int m, fd = pick_fd(&m), n = lens[rnd(5)], f, flags;

	if (m >= 0 && ms[m].type == SOCK_STREAM && ms[m].st == ST_CONN && !ms[m].eof_expect &&
	    !ms[m].err_expect && chance(25)) {
		/* MSG_WAITALL for more than will come, under a 30 ms timeout:
		 * what there is (or EAGAIN), after the timeout. */
		struct timeval tv = { 0, 30000 }, z = { 0, 0 };

		n = ms[m].in_expect + 100;
		if (n > (int)sizeof(buf))
			n = sizeof(buf);
		R("RCVTIMEO", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
		snprintf(nm, sizeof(nm), "recv(%d,WAITALL)", n);
		long r = R(verbose ? nm : "recvwaitall", recv(fd, buf, (size_t)n, MSG_WAITALL));

		if (r > 0)
			more("/%04x", sum(buf, r));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &z, sizeof(z));
		ms[m].rcvtimeo = false;
		received(m, r, 0, 1);
		return;
	}
	f = fl[rnd(sizeof(fl) / sizeof(fl[0]))];
	/* Every bit: what Linux ignores and what it refuses. */
	flags = f == -1 ? (int)(0x7fffffff & ~(MSG_WAITALL | MSG_PEEK | MSG_ERRQUEUE)) : f;
	if (m < 0 || ms[m].nonblock || (flags & MSG_ERRQUEUE) || !recv_comes(&ms[m], flags, n) || rnd(2))
		flags |= MSG_DONTWAIT;
	snprintf(nm, sizeof(nm), "recv3(%d,%#x)", n, flags);
	long r = R(verbose ? nm : "recv3", recv(fd, buf, (size_t)n, flags));

	if (r > 0 && !(flags & MSG_TRUNC))
		more("/%04x", sum(buf, r < n ? r : n));
	received(m, r, flags, 1);
}

static void op_ioctl3(void)
{
	int m, fd = pick_fd(&m), v = -7;
	struct timeval tv = { 0 };
	struct timespec ts = { 0 };

	switch (rnd(9)) {
	case 0:
		if (R("ATMARK", ioctl(fd, SIOCATMARK, &v)) == 0)
			more("/%d", v);
		break;
	case 1:
		if (R("GSTAMP", ioctl(fd, SIOCGSTAMP, &tv)) == 0)
			more("/%s", tv.tv_sec > 0 ? "t" : "0");
		break;
	case 2:
		if (R("GSTAMPNS", ioctl(fd, SIOCGSTAMPNS, &ts)) == 0)
			more("/%s", ts.tv_sec > 0 ? "t" : "0");
		break;
	case 3:
		if (R("FIONREAD", ioctl(fd, FIONREAD, &v)) == 0)
			more("/%d", v);
		break;
	case 4:
		if (R("OUTQNSD", ioctl(fd, SIOCOUTQNSD, &v)) == 0)
			more("/%d", v);
		break;
	case 5:
		R("ioctl89ff", ioctl(fd, 0x89ff, &v));
		break;
	case 6:
		if (R("GPGRP", ioctl(fd, SIOCGPGRP, &v)) == 0)
			more("/%s", v == 0 ? "0" : "x");
		break;
	case 7:
		R(rnd(2) ? "FIOCLEX" : "FIONCLEX", ioctl(fd, rnd(2) ? FIOCLEX : FIONCLEX));
		more("/cx%d", fcntl(fd, F_GETFD));
		break;
	default:
		if (R("OUTQ", ioctl(fd, SIOCOUTQ, &v)) == 0)
			more("/%d", v);
		break;
	}
}

static void op_poll3(void)
{
	static const short bits[] = { POLLIN, POLLPRI, POLLOUT, POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND,
				      POLLMSG, POLLRDHUP, POLLERR, POLLHUP, POLLNVAL, 0x4000 };
	int m, fd = pick_fd(&m);
	struct pollfd p = { .fd = fd };

	for (int i = 0; i < 3; i++)
		p.events |= bits[rnd(sizeof(bits) / sizeof(bits[0]))];
	snprintf(nm, sizeof(nm), "poll3(%#x)", (unsigned)p.events & 0xffff);
	if (R(verbose ? nm : "poll3", poll(&p, 1, 0)) >= 0)
		more("/%x", (unsigned)p.revents & 0xffff);
}

/* Buffers a hostile program passes: NULL, an address nothing maps, the end
 * of a page whose next page is not mapped. Linux copies what it can and
 * answers EFAULT when the copy fails: TCP keeps the bytes it could not hand
 * over (tcp_recvmsg: the sequence moves only after a copy), UDP drops the
 * datagram (udp_recvmsg frees it). */
static char *guard_end;         /* 16 bytes before an unmapped page */

static void *bad_buf(int v)
{
	if (!guard_end) {
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		munmap(p + 4096, 4096);
		memset(p, 'g', 4096);
		guard_end = p + 4096 - 16;
	}
	return v == 0 ? NULL : v == 1 ? (void *)16 : guard_end;
}

static void op_badbuf3(void)
{
	static const size_t lens[] = { 0, 1, 16, 100 };
	int m, fd = pick_fd(&m), v = (int)rnd(3), how = (int)rnd(6);
	size_t n = lens[rnd(4)];
	void *b = bad_buf(v);
	static const char *const bn[] = { "NULL", "low", "guard" };
	long r;

	snprintf(nm, sizeof(nm), "%s(%s,%zu)", how == 0 ? "recvB" : how == 1 ? "sendB" : how == 2 ? "readB" :
		 how == 3 ? "writeB" : how == 4 ? "getsockoptB" : "getsocknameB", bn[v], n);
	switch (how) {
	case 0: case 2:
		/* Never blocks: a receive into nowhere of what is there. */
		r = how == 0 ? R(verbose ? nm : "recvB", recv(fd, b, n, MSG_DONTWAIT))
			: R(verbose ? nm : "readB", recv(fd, b, n, MSG_DONTWAIT | MSG_PEEK));
		if (m < 0)
			return;
		if (r == -1 && step_e == EFAULT && how == 0 && ms[m].type == SOCK_DGRAM && ms[m].dgrams > 0)
			ms[m].dgrams--;
		else if (how == 0)
			received(m, r, 0, 1);
		break;
	case 1: case 3: {
		int fl = send_guard(m, MSG_NOSIGNAL | MSG_DONTWAIT, n);

		r = R(verbose ? nm : how == 1 ? "sendB" : "writeB", how == 1 ? send(fd, b, n, fl) : write(fd, b, n));
		if (m >= 0)
			sent(m, r, fl, ms[m].peer, -1);
		break;
	}
	case 4: {
		socklen_t l = (socklen_t)(n ? 4 : 0);

		R(verbose ? nm : "getsockoptB", getsockopt(fd, SOL_SOCKET, SO_TYPE, b, &l));
		more("/l%u", (unsigned)l);
		break;
	}
	default: {
		socklen_t l = (socklen_t)n;

		R(verbose ? nm : "getsocknameB", getsockname(fd, b, &l));
		more("/l%u", (unsigned)l);
		break;
	}
	}
}

/* Generation 3's mix: generation 2's calls, fewer of each, and the new ones. */
static void gen3_op(void)
{
	static const struct weighted tab[] = {
		{ op_bind, 5 }, { op_listen, 2 }, { op_connect, 7 }, { op_udp_reconnect, 2 },
		{ op_accept, 3 }, { op_send, 5 }, { op_recv, 5 }, { op_shutdown, 3 }, { op_close, 3 },
		{ op_fcntl2, 2 }, { op_setsockopt, 2 }, { op_getsockopt, 2 }, { op_ioctl, 1 },
		{ op_name, 1 }, { op_peer_connect, 2 }, { op_epoll_ctl, 1 }, { op_sendmsg, 2 },
		{ op_recvmsg, 2 },
		{ op_dup3, 4 }, { op_socket3, 3 }, { op_socketpair3, 1 }, { op_accept3, 3 }, { op_listen3, 1 },
		{ op_name3, 3 }, { op_v6only3, 2 }, { op_setsockopt3, 12 }, { op_cork3, 2 },
		{ op_broadcast3, 2 }, { op_send3, 5 }, { op_recv3, 5 }, { op_ioctl3, 4 }, { op_poll3, 3 },
		{ op_badbuf3, 4 },
	};

	weighted_op(tab, sizeof(tab) / sizeof(tab[0]));
}

/* ---- generation 4 (-g 4): the calls across a connection's states ---- */

/*
 * Each seed first brings one socket, the subject, into a state a test can
 * reach for sure (g4_setup: CLOSE_WAIT, FIN_WAIT2, both FINs, CLOSE after
 * LAST_ACK, the peer's RST, a refused connect, a connect to the silent port
 * under way, a listener shut down, a connection undone by connect(AF_UNSPEC),
 * bytes in several segments, an accepted connection, connected UDP with
 * datagrams, a local pair, a connection to the close report), then makes
 * calls on it, mostly (pick_fd), each settled as in the generations before.
 * The calls: generation 1's (send, recv with each flag, shutdown, connect,
 * listen, bind, names, ioctl, poll) and those of gen4_op: the state's
 * options, SO_PEEK_OFF peeks across segments, MSG_WAITALL up to a FIN,
 * readv into many small iovecs, MSG_TRUNC, select and epoll (EPOLLET,
 * EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLL_CTL_MOD, an epoll in an epoll), a
 * blocked accept or recv that shutdown(SHUT_RD) wakes, and close with
 * SO_LINGER whose end the peer reports (peer.py's 7015).
 */
/* The control connection's answer to LINE, without its newline. */
static bool ctl_ask(const char *line, char *ans, size_t n)
{
	size_t got = 0, len = strlen(line);

	if (write(ctl_fd, line, len) != (ssize_t)len)
		return false;
	while (got < n - 1 && wait_for(ctl_fd, W_IN, 0, "ctl")) {
		ssize_t r = recv(ctl_fd, ans + got, n - 1 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(ans, '\n', got))
			break;
	}
	ans[got] = 0;
	char *nl = strchr(ans, '\n');

	if (nl)
		*nl = 0;
	return got > 0;
}

/* A new TCP or UDP socket of either family; its msock (-1: none). */
static int sock4(int type, bool nonblock)
{
	int fam = rnd(2) ? AF_INET6 : AF_INET;

	snprintf(nm, sizeof(nm), "socket(%s,%s%s)", fam == AF_INET ? "in" : "in6",
		 type == SOCK_STREAM ? "tcp" : "udp", nonblock ? "|nb" : "");
	int fd = (int)RFD(verbose ? nm : "socket", socket(fam, type | (nonblock ? SOCK_NONBLOCK : 0), 0));

	if (fd < 0)
		return -1;
	int m = new_msock(type, fam);

	if (m < 0 || nfds == MAXF) {
		close(fd);
		return -1;
	}
	ms[m].nonblock = nonblock;
	add_fd(fd, m);
	nsocks++;
	return m;
}

/* bind M to own port PI. */
static bool bind4(int m, int pi)
{
	struct sockaddr_storage ss;
	socklen_t l = mkaddr(&ss, ms[m].fam, rnd(2) ? SELF : "0.0.0.0", own_port(pi));

	snprintf(tag, sizeof(tag), "s%d.", m);
	if (R("bind", bind(fd_of(m), (struct sockaddr *)&ss, l)) != 0)
		return false;
	ms[m].port = pi;
	return true;
}

/* connect M to IP:PORT, a peer of kind KIND (PI: own port index, -1) as
 * op_connect's model has it; settle() follows it. */
static long connect4(int m, const char *ip, int port, enum pkind kind, int pi)
{
	struct sockaddr_storage ss;
	socklen_t l = mkaddr(&ss, ms[m].fam, ip, port);
	struct msock *k = &ms[m];

	snprintf(tag, sizeof(tag), "s%d.", m);
	snprintf(nm, sizeof(nm), "connect(%s:%d)", ip, port);
	long r = R(verbose ? nm : "connect", connect(fd_of(m), (struct sockaddr *)&ss, l));
	int e = errno;

	if (k->type == SOCK_DGRAM) {
		if (r == 0) {
			k->peer = kind;
			k->lport = pi;
			if (k->port < 0)
				k->port = 9;
		}
		return r;
	}
	if (r == 0 || e == EINPROGRESS) {
		k->peer = kind;
		k->lport = pi;
		k->st = ST_CONNECTING;
		if (k->port < 0)
			k->port = 9;
	}
	return r;
}

/* M's send of N bytes (model: sent()). */
static void send4(int m, int n, int flags)
{
	static char buf[200000];

	for (int i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 7 + n) % 26);
	snprintf(tag, sizeof(tag), "s%d.", m);
	snprintf(nm, sizeof(nm), "send(%d,%#x)", n, flags);
	sent(m, R(verbose ? nm : "send", send(fd_of(m), buf, (size_t)n, flags | MSG_NOSIGNAL)), flags,
	     ms[m].peer, -1);
}

static void shut_model(int m, int how);

static void shut4(int m, int how)
{
	snprintf(tag, sizeof(tag), "s%d.", m);
	snprintf(nm, sizeof(nm), "shutdown(%d)", how);
	if (R(verbose ? nm : "shutdown", shutdown(fd_of(m), how)) != 0)
		return;
	shut_model(m, how);
}

/* The model's part of a shutdown(HOW) that succeeded on M. */
static void shut_model(int m, int how)
{
	struct msock *k = &ms[m];

	if (how != SHUT_WR)
		k->rd_shut = true;
	shut_undo(m, how);
	if (how == SHUT_RD || k->st != ST_CONN || k->wr_shut)
		return;
	k->wr_shut = true;
	if (k->peer == PK_LOCAL && k->other >= 0 && k->other != m)
		ms[k->other].eof_expect = true;
	else if (peer_live(k->peer))
		k->eof_expect = true;
	else if (k->peer == PK_RST)
		k->err_expect = true;
}

/* accept on listener L (its queue not empty): the child's msock. */
static int accept4_(int l)
{
	snprintf(tag, sizeof(tag), "s%d.", l);
	int nfd = (int)RFD("accept", accept(fd_of(l), NULL, NULL));

	if (nfd < 0 || ms[l].qlen == 0) {
		if (nfd >= 0)
			close(nfd);
		return -1;
	}
	int c = ms[l].q[0];

	memmove(ms[l].q, ms[l].q + 1, sizeof(int) * (size_t)--ms[l].qlen);
	ms[c].st = ST_CONN;
	add_fd(nfd, c);
	return c;
}

/* A listener on own port 0 of type TCP: its msock. */
static int listener4(int backlog)
{
	int l = sock4(SOCK_STREAM, rnd(2));

	if (l < 0 || !bind4(l, 0))
		return -1;
	snprintf(nm, sizeof(nm), "listen(%d)", backlog);
	if (R(verbose ? nm : "listen", listen(fd_of(l), backlog)) != 0)
		return -1;
	ms[l].st = ST_LISTEN;
	ms[l].backlog = backlog;
	return l;
}

/* The peer connects to own port 0 in MODE (peer.py's control). */
static void peer_connect4(int l, int md)
{
	static const char *const modes[] = { "hold", "hello", "fin", "rst" };
	static const enum pkind kinds[] = { PK_SINK, PK_HELLO, PK_FIN, PK_RST };
	char line[64], ans[64];

	snprintf(line, sizeof(line), "connect %d %s\n", own_port(0), modes[md]);
	bool ok = ctl_ask(line, ans, sizeof(ans)) && strncmp(ans, "ok", 2) == 0;

	emit("peer(k0,%s)=%s", modes[md], ok ? "ok" : "fail");
	if (ok)
		queue_child(l, -1, kinds[md]);
}

enum scen { SC_CLOSE_WAIT, SC_FIN_WAIT2, SC_BOTH_FIN, SC_LAST_ACK, SC_PEER_RST, SC_REFUSED, SC_SILENT,
	    SC_LISTEN_SHUT, SC_DISCONNECTED, SC_SEGMENTS, SC_ACCEPTED, SC_UDP, SC_LOCAL, SC_REPORT,
	    SC_TW_REBIND, N_SCEN };
static const char *const scen_name[] = { "closewait", "finwait2", "bothfin", "lastack", "peerrst",
					 "refused", "silent", "listenshut", "disconnected", "segments",
					 "accepted", "udp", "local", "report", "twrebind" };

/* The connected subject: a TCP socket to the peer's PORT (KIND), settled. */
static int conn4(int port, enum pkind kind, bool own_port0)
{
	int m = sock4(SOCK_STREAM, rnd(3) == 0);

	if (m < 0)
		return -1;
	if (own_port0 && !bind4(m, 0))
		return m;
	connect4(m, PEER, port, kind, -1);
	settle();
	if (kind == PK_REPORT) {
		struct sockaddr_storage ss;
		socklen_t l = sizeof(ss);

		/* Read now: Linux lets an ephemeral port go with the connection. */
		if (getsockname(fd_of(m), (struct sockaddr *)&ss, &l) == 0)
			ms[m].report_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						  ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return m;
}

static void g4_setup(void)
{
	enum scen s = (enum scen)rnd(N_SCEN);
	int m = -1, l;

	emit("scen=%s", scen_name[s]);
	switch (s) {
	case SC_CLOSE_WAIT:
		m = conn4(P_FIN, PK_FIN, false);
		break;
	case SC_FIN_WAIT2:
		/* The stalled peer acknowledges the FIN and never closes. */
		if ((m = conn4(P_STALL, PK_STALL, false)) >= 0) {
			if (chance(50))
				send4(m, 100, 0);
			settle();
			shut4(m, SHUT_WR);
		}
		break;
	case SC_BOTH_FIN:
		/* The echo sends back, then closes at our FIN. */
		if ((m = conn4(P_ECHO, PK_ECHO, chance(30))) >= 0) {
			for (int i = (int)rnd(3); i > 0; i--) {
				send4(m, 1 + (int)rnd(2000), 0);
				settle();
			}
			shut4(m, rnd(4) ? SHUT_WR : SHUT_RDWR);
		}
		break;
	case SC_LAST_ACK:
		if ((m = conn4(P_FIN, PK_FIN, false)) >= 0)
			shut4(m, SHUT_WR);
		break;
	case SC_PEER_RST:
		if (chance(50)) {
			if ((m = conn4(P_RST, PK_RST, false)) >= 0)
				send4(m, 1 + (int)rnd(3) * 100, 0);
		} else if ((l = listener4(4)) >= 0) {
			peer_connect4(l, 3);
			settle();
			m = accept4_(l);
		}
		break;
	case SC_REFUSED:
		m = conn4(P_CLOSED, PK_CLOSED, chance(30));
		break;
	case SC_SILENT:
		if ((m = sock4(SOCK_STREAM, true)) >= 0) {
			if (chance(30))
				bind4(m, 0);
			connect4(m, PEER, P_DROP, PK_DROP, -1);
		}
		break;
	case SC_LISTEN_SHUT:
		if ((m = listener4((int)rnd(4))) >= 0) {
			for (int i = (int)rnd(3); i > 0 && ms[m].qlen < ms[m].backlog; i--)
				peer_connect4(m, (int)rnd(4));
			settle();
			if (chance(60))
				shut4(m, rnd(3) ? SHUT_RD : SHUT_RDWR);
			else
				shut4(m, SHUT_WR);
		}
		break;
	case SC_DISCONNECTED:
		if ((m = rnd(2) ? conn4(P_ECHO, PK_ECHO, chance(40)) : conn4(P_HELLO, PK_HELLO, chance(40))) >= 0) {
			if (ms[m].peer == PK_ECHO && chance(50)) {
				send4(m, 10, 0);
				settle();
			}
			struct sockaddr sa = { .sa_family = AF_UNSPEC };

			snprintf(tag, sizeof(tag), "s%d.", m);
			if (R("connect(UNSPEC)", connect(fd_of(m), &sa, sizeof(sa))) == 0) {
				ms[m].st = ST_NEW;
				ms[m].in_expect = 0;
				ms[m].eof_expect = ms[m].err_expect = false;
			}
		}
		break;
	case SC_SEGMENTS:
		/* Bytes in segments of their own: the echo answers each send
		 * before the next. */
		if ((m = conn4(P_ECHO, PK_ECHO, false)) >= 0) {
			for (int i = 1 + (int)rnd(4); i > 0; i--) {
				send4(m, 1 + (int)rnd(30), 0);
				settle();
			}
		}
		break;
	case SC_ACCEPTED:
		if ((l = listener4(4)) >= 0) {
			peer_connect4(l, (int)rnd(3));
			settle();
			m = accept4_(l);
		}
		break;
	case SC_UDP:
		if ((m = sock4(SOCK_DGRAM, rnd(3) == 0)) >= 0) {
			connect4(m, PEER, P_UECHO, PK_UECHO, -1);
			for (int i = (int)rnd(4); i > 0; i--) {
				static const int lens[] = { 0, 1, 7, 100, 1500 };

				send4(m, lens[rnd(5)], 0);
			}
		}
		break;
	case SC_LOCAL:
		if ((l = listener4(4)) >= 0) {
			int c = sock4(SOCK_STREAM, rnd(2));

			if (c < 0)
				break;
			connect4(c, SELF, own_port(0), PK_LOCAL, 0);
			settle();
			int a = accept4_(l);

			if (a < 0)
				break;
			/* The subject is either end; the other sends in pieces. */
			int o = rnd(2) ? a : c;

			m = o == a ? c : a;
			for (int i = (int)rnd(4); i > 0; i--) {
				send4(o, 1 + (int)rnd(20), 0);
				settle();
			}
			if (chance(40))
				shut4(o, SHUT_WR);
		}
		break;
	case SC_REPORT:
		if ((m = conn4(P_REPORT, PK_REPORT, chance(30))) >= 0 && chance(60)) {
			send4(m, 1 + (int)rnd(3000), 0);
		}
		break;
	case SC_TW_REBIND:
		/* Both FINs, then close: the port in TIME_WAIT; a new socket
		 * takes it (bind, SO_REUSEADDR). */
		if ((m = conn4(P_ECHO, PK_ECHO, true)) >= 0) {
			shut4(m, SHUT_WR);
			settle();
			int i;

			for (i = 0; i < nfds && fds[i].m != m; i++)
				;
			if (i < nfds) {
				snprintf(tag, sizeof(tag), "s%d.", m);
				R("close", close(fds[i].fd));
				fds[i] = fds[--nfds];
				last_close(m);
			}
			m = sock4(SOCK_STREAM, true);
			if (m >= 0 && chance(50)) {
				int one = 1;

				R("REUSEADDR", setsockopt(fd_of(m), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
			}
			if (m >= 0)
				bind4(m, 0);
		}
		break;
	case N_SCEN:
		break;
	}
	settle();
	subj = m;
}

/* The state's options: read them all, or set one of those a program sets. */
static void op_opt4(void)
{
	int m, fd = pick_fd(&m), v = 0;
	socklen_t l = sizeof(v);

	switch (rnd(9)) {
	case 0:
		if (R("ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l)) == 0) {
			more("/%s", ename(v));
			/* The error read: the connection is over (no SIOCOUTQ
			 * to wait for: Linux keeps the bytes unacknowledged). */
			if (m >= 0 && v) {
				ms[m].err_expect = false;
				if (ms[m].type == SOCK_STREAM && ms[m].st == ST_CONN)
					ms[m].st = ST_DEAD;
			}
		}
		break;
	case 1: {
		struct tcp_info ti;

		l = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (R("INFO", getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l)) == 0)
			more("/state%d", ti.tcpi_state);
		break;
	}
	case 2:
		if (R("ACCEPTCONN", getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l)) == 0)
			more("/%d", v);
		break;
	case 3: {
		static const int segs[] = { 0, 88, 536, 1400, 65536 };

		v = segs[rnd(5)];
		snprintf(nm, sizeof(nm), "setMAXSEG(%d)", v);
		R(verbose ? nm : "setMAXSEG", setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)));
		break;
	}
	case 4:
		if (R("MAXSEG", getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &l)) == 0)
			more("/%s", v > 0 ? "+" : "0");
		break;
	case 5:
		v = (int)rnd(2);
		snprintf(nm, sizeof(nm), "setNODELAY(%d)", v);
		R(verbose ? nm : "setNODELAY", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
		break;
	case 6: {
		struct linger lg = { (int)rnd(2), (int)rnd(3) };

		snprintf(nm, sizeof(nm), "setLINGER(%d,%d)", lg.l_onoff, lg.l_linger);
		if (R(verbose ? nm : "setLINGER", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) == 0 &&
		    m >= 0)
			ms[m].linger0 = lg.l_onoff && lg.l_linger == 0;
		break;
	}
	case 7:
		if (R("TYPE", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l)) == 0)
			more("/%d", v);
		break;
	default:
		if (R("NODELAY", getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l)) == 0)
			more("/%d", v);
		break;
	}
}

/* SO_PEEK_OFF, then peeks that move it, then a read (which moves it back). */
static void op_peekoff4(void)
{
	static const int offs[] = { 0, 1, 3, -1, 7 };
	int m, fd = pick_fd(&m), off = offs[rnd(5)];
	char buf[64];

	snprintf(nm, sizeof(nm), "setPEEK_OFF(%d)", off);
	if (R(verbose ? nm : "setPEEK_OFF", setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off))) != 0)
		return;
	for (int i = 1 + (int)rnd(3); i > 0; i--) {
		int n = 1 + (int)rnd(8);

		snprintf(nm, sizeof(nm), "peek(%d)", n);
		long r = R(verbose ? nm : "peek", recv(fd, buf, (size_t)n, MSG_PEEK | MSG_DONTWAIT));

		if (r > 0)
			more("/%04x", sum(buf, r));
	}
	socklen_t l = sizeof(off);

	if (R("PEEK_OFF", getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &l)) == 0)
		more("/%d", off);
	if (chance(50)) {
		int n = 1 + (int)rnd(6);

		snprintf(nm, sizeof(nm), "recv(%d)", n);
		long r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_DONTWAIT));

		if (r > 0)
			more("/%04x", sum(buf, r));
		received(m, r, 0, 1);
		l = sizeof(off);
		if (R("PEEK_OFF", getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &l)) == 0)
			more("/%d", off);
	}
}

/* A blocking receive that ends by itself: MSG_WAITALL for more than will
 * come before the FIN, or readv/recvmsg into many small iovecs. */
static void op_waitall4(void)
{
	int m, fd = pick_fd(&m), n = 1 + (int)rnd(40);
	static char buf[4096];
	bool waitall = chance(50);
	int flags = waitall ? MSG_WAITALL : 0;

	if (m >= 0 && ms[m].type == SOCK_STREAM && ms[m].eof_expect)
		n = ms[m].in_expect + 1 + (int)rnd(10);
	if (m < 0 || ms[m].nonblock || !recv_comes(&ms[m], flags, n))
		flags |= MSG_DONTWAIT;
	int niov = 1 + (int)rnd(24), each = (n + niov - 1) / niov;
	struct iovec iv[24];

	for (int i = 0; i < niov; i++) {
		iv[i].iov_base = buf + i * each;
		iv[i].iov_len = (size_t)(i * each + each <= n ? each : n > i * each ? n - i * each : 0);
	}
	long r;

	if (!waitall && !(flags & MSG_DONTWAIT) && chance(50)) {
		snprintf(nm, sizeof(nm), "readv(%d,%d)", niov, n);
		r = R(verbose ? nm : "readv", readv(fd, iv, niov));
	} else {
		struct msghdr h = { .msg_iov = iv, .msg_iovlen = (size_t)niov };

		snprintf(nm, sizeof(nm), "recvmsg(%d,%d,%#x)", niov, n, flags);
		r = R(verbose ? nm : "recvmsg", recvmsg(fd, &h, flags));
		if (r >= 0)
			more("/f%x", h.msg_flags);
	}
	if (r > 0)
		more("/%04x", sum(buf, r));
	received(m, r, 0, 1);
}

/* A short buffer on a datagram: MSG_TRUNC says its length. */
static void op_trunc4(void)
{
	int m, fd = pick_fd(&m), n = (int)rnd(4), flags = MSG_TRUNC | MSG_DONTWAIT;
	char buf[8];

	if (chance(30))
		flags |= MSG_PEEK;
	if (chance(50)) {
		struct iovec iv = { buf, (size_t)n };
		struct msghdr h = { .msg_iov = &iv, .msg_iovlen = 1 };

		snprintf(nm, sizeof(nm), "recvmsg(%d,%#x)", n, flags & ~MSG_TRUNC);
		long r = R(verbose ? nm : "recvmsgT", recvmsg(fd, &h, flags & ~MSG_TRUNC));

		if (r >= 0)
			more("/f%x", h.msg_flags);
		received(m, r, flags, 1);
		return;
	}
	snprintf(nm, sizeof(nm), "recv(%d,%#x)", n, flags);
	received(m, R(verbose ? nm : "recvT", recv(fd, buf, (size_t)n, flags)), flags, 1);
}

static void op_select4(void)
{
	int m, fd = pick_fd(&m);
	fd_set rs, ws, es;
	struct timeval tv = { 0, 0 };

	/* Not the made-up numbers (999, 1000): Linux ignores an fd above its
	 * table, whose size the stack's own fds (kept high) change. */
	if (fd < 0 || fd >= 999)
		return;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	FD_SET(fd, &es);
	if (R("select", select(fd + 1, &rs, &ws, &es, &tv)) >= 0)
		more("/%d%d%d", FD_ISSET(fd, &rs), FD_ISSET(fd, &ws), FD_ISSET(fd, &es));
}

/* epoll: the subject with a mode, two waits (the second shows EPOLLET's and
 * EPOLLONESHOT's), a re-arm, an epoll inside an epoll. */
static void op_epoll4(void)
{
	static const uint32_t modes[] = { 0, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLET | EPOLLONESHOT };
	int m, fd = pick_fd(&m);
	uint32_t md = modes[rnd(5)], evs = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI;
	struct epoll_event ev = { .events = evs | md, .data.u64 = 1 }, got[4];
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = -1;
	if (ep < 0)
		return;
	if (chance(20)) {
		R("epoll_mod_unadded", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
	}
	snprintf(nm, sizeof(nm), "epoll_ctl(ADD,%#x)", ev.events);
	if (R(verbose ? nm : "epoll_add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) != 0) {
		close(ep);
		return;
	}
	if (chance(30)) {
		struct epoll_event e2 = { .events = EPOLLIN | (chance(50) ? EPOLLET : 0), .data.u64 = 2 };

		ep2 = epoll_create1(EPOLL_CLOEXEC);
		R("epoll_nest", epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &e2));
	}
	for (int i = 0; i < 3; i++) {
		int w = ep2 >= 0 && i == 0 ? ep2 : ep;

		if (R(w == ep2 ? "epoll_wait2" : "epoll_wait", epoll_wait(w, got, 4, 0)) > 0)
			more("/%x", got[0].events);
		if (i == 1) {
			/* Re-arm (EPOLLEXCLUSIVE: Linux refuses a MOD). */
			ev.events = evs | (chance(50) ? md : 0);
			snprintf(nm, sizeof(nm), "epoll_ctl(MOD,%#x)", ev.events);
			R(verbose ? nm : "epoll_mod", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
		}
	}
	if (ep2 >= 0)
		close(ep2);
	close(ep);
}

/* A blocked accept (listener) or recv that shutdown(SHUT_RD) from this
 * thread wakes: the outcome is the same whichever comes first. */
struct waker { int fd; bool acc; long r; int e; };

static void *wake_thread(void *a)
{
	struct waker *w = a;
	char b[16];

	errno = 0;
	w->r = w->acc ? accept(w->fd, NULL, NULL) : recv(w->fd, b, sizeof(b), 0);
	w->e = errno;
	return NULL;
}

static void op_wake4(void)
{
	int m, fd = pick_fd(&m);
	static struct waker w;
	pthread_t th;
	struct timespec dl;

	if (m < 0 || ms[m].type != SOCK_STREAM || ms[m].nonblock)
		return;
	/* Only where nothing else ends the call: an empty queue, no bytes,
	 * no peer that answers our FIN with a RST (recv: ECONNRESET if it
	 * comes before the wake-up). */
	if (ms[m].st == ST_LISTEN ? ms[m].qlen > 0 :
	    ms[m].st != ST_CONN || ms[m].in_expect > 0 || ms[m].eof_expect || ms[m].err_expect || ms[m].rd_shut ||
	    ms[m].peer == PK_RST)
		return;
	w = (struct waker){ .fd = fd, .acc = ms[m].st == ST_LISTEN };
	if (pthread_create(&th, NULL, wake_thread, &w) != 0)
		return;
	int how = rnd(2) ? SHUT_RD : SHUT_RDWR;

	snprintf(nm, sizeof(nm), "shutdown(%d)", how);
	bool shut_ok = R(verbose ? nm : "shutdown", shutdown(fd, how)) == 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	if (pthread_timedjoin_np(th, NULL, &dl) != 0) {
		emit("~Twake");
		pthread_detach(th);
		if (shut_ok)
			shut_model(m, how);
		return;
	}
	result(w.acc ? "woken-accept" : "woken-recv", w.r, w.e, w.acc);
	if (w.acc && w.r >= 0)
		close((int)w.r);
	if (shut_ok)
		shut_model(m, how);
}

/* close with SO_LINGER ({1,0}: a RST), perhaps bytes not yet sent; what the
 * close report peer (7015) saw. */
static void op_close4(void)
{
	int m, fd = pick_fd(&m), i;
	unsigned port;

	if (m < 0)
		return;
	for (i = 0; i < nfds && fds[i].m != m; i++)
		;
	if (i == nfds || ms[m].refs != 1)
		return;
	port = ms[m].report_port;
	int v = (int)rnd(4);
	struct linger lg = { v > 0, v == 1 ? 0 : v == 2 ? 2 : 0 };

	if (v == 3)
		lg.l_onoff = 0;
	else {
		snprintf(nm, sizeof(nm), "setLINGER(%d,%d)", lg.l_onoff, lg.l_linger);
		if (R(verbose ? nm : "setLINGER", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) == 0)
			ms[m].linger0 = lg.l_onoff && lg.l_linger == 0;
	}
	/* Bytes still to send at close, to the report only (a closed peer
	 * resets the send half-way): not under {1,0} (how much went before
	 * the RST is the timing's). */
	if (!(lg.l_onoff && lg.l_linger == 0) && ms[m].st == ST_CONN && !ms[m].wr_shut && chance(60) &&
	    ms[m].peer == PK_REPORT && !ms[m].err_expect)
		send4(m, rnd(2) || ms[m].nonblock ? 100 : 150000, 0);
	snprintf(tag, sizeof(tag), "s%d.", m);
	R("close", close(fd));
	if (nstale < 8)
		stale[nstale++] = fd;
	fds[i] = fds[--nfds];
	ms[m].refs--;
	last_close(m);
	if (port) {
		char line[64], ans[64];

		snprintf(line, sizeof(line), "seen %u\n", port);
		emit("seen=%s", ctl_ask(line, ans, sizeof(ans)) ? ans : "?");
	}
}

/* Generation 4's mix: generation 1's calls and the states' own. */
static void gen4_op(void)
{
	static const struct weighted tab[] = {
		{ op_send, 6 }, { op_recv, 8 }, { op_shutdown, 4 }, { op_connect, 4 }, { op_listen, 2 },
		{ op_bind, 2 }, { op_name, 3 }, { op_ioctl, 5 }, { op_poll, 5 }, { op_accept, 2 },
		{ op_peer_connect, 1 }, { op_opt4, 10 }, { op_peekoff4, 4 }, { op_waitall4, 4 },
		{ op_trunc4, 2 }, { op_select4, 2 }, { op_epoll4, 4 }, { op_wake4, 2 }, { op_close4, 3 },
	};

	weighted_op_state(tab, sizeof(tab) / sizeof(tab[0]));
}


/* ---- generation 5 (-g 5): what the others reach little ---- */

/*
 * A subject brought into a state as generation 4 does (g4_setup), then,
 * beside generation 4's calls: UDP's ICMP errors (a datagram to the peer's
 * closed port, IP_RECVERR or IPV6_RECVERR or neither, connected or not, and
 * what follows: the error queue's sock_extended_err and offender, the next
 * send or receive, SO_ERROR, turning IP_RECVERR off), every queue ioctl in
 * a row, many options read in every state and some set and read back,
 * MSG_ flag combinations (MSG_PEEK|MSG_TRUNC, MSG_WAITALL under a short
 * SO_RCVTIMEO, MSG_OOB, MSG_ERRQUEUE, zero-byte sends with MSG_MORE and
 * MSG_OOB), sendmsg and recvmsg with an odd msghdr (a NULL iov with a
 * count, more than IOV_MAX iovecs, names too short or too long, a NULL
 * control with a length), and dup, dup3, F_DUPFD_CLOEXEC and the status
 * flags they share.
 */

/* The error queue's first entry, as recvmsg(MSG_ERRQUEUE) gives it. */
static void errqueue5(int fd, int flags)
{
	char data[64], ctl[256];
	struct sockaddr_storage from;
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

	snprintf(nm, sizeof(nm), "errq(%#x)", (unsigned)flags);
	if (R(verbose ? nm : "errq", recvmsg(fd, &mh, MSG_ERRQUEUE | flags)) < 0)
		return;
	more("/f%x/n%u", (unsigned)mh.msg_flags, (unsigned)mh.msg_namelen);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		more("/c%d.%d", c->cmsg_level, c->cmsg_type);
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			struct sock_extended_err ee;
			const struct sockaddr *off;

			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			off = SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(c));
			more("/e%s.o%u.t%u.c%u.i%u.off%d", ename((int)ee.ee_errno), ee.ee_origin, ee.ee_type, ee.ee_code,
			     ee.ee_info, off->sa_family);
		}
	}
}

static void op_udperr5(void)
{
	int fam = rnd(2) ? AF_INET6 : AF_INET, on = 1, v = 0, fd;
	bool recverr = chance(60), conn = !recverr || chance(60), iperr = false;
	struct sockaddr_storage ss;
	socklen_t l = mkaddr(&ss, fam, PEER, P_UCLOSED);
	char b[64];

	snprintf(tag, sizeof(tag), "u.");
	fd = (int)RFD(fam == AF_INET ? "usock" : "usock6", socket(fam, SOCK_DGRAM, 0));
	if (fd < 0)
		return;
	if (recverr) {
		bool v6 = fam == AF_INET6 && rnd(2);

		iperr = !v6;

		R(v6 ? "setRECVERR6" : "setRECVERR",
		  setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof(on)));
	}
	if (conn) {
		R("connect", connect(fd, (struct sockaddr *)&ss, l));
		R("send", send(fd, "abc", 3, 0));
	} else {
		R("sendto", sendto(fd, "abc", 3, 0, (struct sockaddr *)&ss, l));
	}
	/* Linux sets sk_err for a connected socket, or with IP_RECVERR (a
	 * v4-mapped peer's ICMP error goes by IP_RECVERR, not IPV6_RECVERR). */
	if (conn || iperr)
		wait_for(fd, W_ERR, 0, "icmp");
	for (int i = 1 + (int)rnd(4); i > 0; i--) {
		socklen_t vl = sizeof(v);
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		long r;

		switch (rnd(8)) {
		case 0:
		case 1:
			errqueue5(fd, rnd(2) ? MSG_DONTWAIT : MSG_DONTWAIT | MSG_PEEK);
			break;
		case 2:
			r = conn && rnd(2) ? R("send", send(fd, "d", 1, 0)) :
					     R("sendto", sendto(fd, "d", 1, 0, (struct sockaddr *)&ss, l));
			if (r > 0)
				barrier();     /* its ICMP error is back before anything else */
			break;
		case 3:
			if (R("recv", recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0)
				more("/%04x", sum(b, step_r));
			break;
		case 4:
			if (R("ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl)) == 0)
				more("/%s", ename(v));
			break;
		case 5:
			R("poll", poll(&p, 1, 0));
			more("/%x", (unsigned)p.revents);
			break;
		case 6:
			v = 0;
			R("setRECVERR(0)", setsockopt(fd, IPPROTO_IP, IP_RECVERR, &v, sizeof(v)));
			break;
		default:
			if (R("FIONREAD", ioctl(fd, FIONREAD, &v)) == 0)
				more("/%d", v);
			if (R("OUTQ", ioctl(fd, SIOCOUTQ, &v)) == 0)
				more("/%d", v);
			break;
		}
	}
	close(fd);
}

/* Every queue ioctl in a row, then FIONBIO and what F_GETFL says of it. */
static void op_ioctl5(void)
{
	static const struct { unsigned long req; const char *name; } io[] = {
		{ FIONREAD, "FIONREAD" }, { SIOCOUTQ, "OUTQ" }, { SIOCOUTQNSD, "OUTQNSD" }, { SIOCATMARK, "ATMARK" },
	};
	int m, fd = pick_fd(&m), v;

	for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		v = -7;
		if (R(io[i].name, ioctl(fd, io[i].req, &v)) == 0)
			more("/%d", v);
	}
	if (chance(40)) {
		v = (int)rnd(2);
		if (R(v ? "FIONBIO(1)" : "FIONBIO(0)", ioctl(fd, FIONBIO, &v)) == 0 && m >= 0)
			ms[m].nonblock = v;
		if (R("GETFL", fcntl(fd, F_GETFL)) >= 0)
			more("/%lx", step_r & (O_NONBLOCK | O_ACCMODE | O_APPEND | O_ASYNC));
	}
}

/* Options read in any state: each an int unless said. */
static const struct opt5 { int lvl, opt; const char *name; char kind; } opts5[] = {
	{ SOL_SOCKET, SO_TYPE, "TYPE", 'i' }, { SOL_SOCKET, SO_ACCEPTCONN, "ACCEPTCONN", 'i' },
	{ SOL_SOCKET, SO_RCVLOWAT, "RCVLOWAT", 'i' }, { SOL_SOCKET, SO_SNDLOWAT, "SNDLOWAT", 'i' },
	{ SOL_SOCKET, SO_KEEPALIVE, "KEEPALIVE", 'i' }, { SOL_SOCKET, SO_REUSEADDR, "REUSEADDR", 'i' },
	{ SOL_SOCKET, SO_OOBINLINE, "OOBINLINE", 'i' }, { SOL_SOCKET, SO_DOMAIN, "DOMAIN", 'i' },
	{ SOL_SOCKET, SO_PROTOCOL, "PROTOCOL", 'i' }, { SOL_SOCKET, SO_BROADCAST, "BROADCAST", 'i' },
	{ SOL_SOCKET, SO_PEEK_OFF, "PEEK_OFF", 'i' }, { SOL_SOCKET, SO_LINGER, "LINGER", 'l' },
	{ SOL_SOCKET, SO_RCVBUF, "RCVBUF", 'b' }, { SOL_SOCKET, SO_SNDBUF, "SNDBUF", 'b' },
	{ SOL_SOCKET, SO_RCVTIMEO, "RCVTIMEO", 't' }, { SOL_SOCKET, SO_PRIORITY, "PRIORITY", 'i' },
	{ IPPROTO_IP, IP_TOS, "TOS", 'i' }, { IPPROTO_IP, IP_TTL, "TTL", 'i' },
	{ IPPROTO_IP, IP_RECVERR, "RECVERR", 'i' }, { IPPROTO_IP, IP_MTU_DISCOVER, "MTU_DISCOVER", 'i' },
	{ IPPROTO_IP, IP_MTU, "MTU", 'i' }, { IPPROTO_IP, IP_OPTIONS, "IPOPTIONS", 'o' },
	{ IPPROTO_TCP, TCP_NODELAY, "NODELAY", 'i' }, { IPPROTO_TCP, TCP_USER_TIMEOUT, "USER_TIMEOUT", 'i' },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "KEEPIDLE", 'i' }, { IPPROTO_TCP, TCP_KEEPINTVL, "KEEPINTVL", 'i' },
	{ IPPROTO_TCP, TCP_KEEPCNT, "KEEPCNT", 'i' }, { IPPROTO_TCP, TCP_CORK, "CORK", 'i' },
	{ IPPROTO_TCP, TCP_SYNCNT, "SYNCNT", 'i' }, { IPPROTO_TCP, TCP_LINGER2, "LINGER2", 'i' },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, "DEFER_ACCEPT", 'i' }, { IPPROTO_TCP, TCP_MAXSEG, "MAXSEG", '+' },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "NOTSENT_LOWAT", 'i' }, { IPPROTO_TCP, TCP_INFO, "INFO", 'I' },
	{ IPPROTO_TCP, TCP_CONGESTION, "CONGESTION", 'o' }, { IPPROTO_IPV6, IPV6_V6ONLY, "V6ONLY", 'i' },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "HOPS", 'i' }, { IPPROTO_IPV6, IPV6_TCLASS, "TCLASS", 'i' },
	{ IPPROTO_IPV6, IPV6_RECVERR, "RECVERR6", 'i' }, { SOL_UDP, UDP_CORK, "UDP_CORK", 'i' },
};

static void get5(int fd, int m, const struct opt5 *o)
{
	union { int i; struct linger lg; struct timeval tv; struct tcp_info ti; char s[64]; } v;
	socklen_t l = o->kind == 'l' ? sizeof(v.lg) : o->kind == 't' ? sizeof(v.tv) : o->kind == 'I' ? sizeof(v.ti) :
		      o->kind == 's' || o->kind == 'o' ? sizeof(v.s) : sizeof(int);

	memset(&v, 0, sizeof(v));
	if (R(o->name, getsockopt(fd, o->lvl, o->opt, &v, &l)) != 0)
		return;
	switch (o->kind) {
	case 'l': more("/%d,%d/%u", v.lg.l_onoff, v.lg.l_linger, (unsigned)l); break;
	case 't': more("/%ld.%06ld/%u", (long)v.tv.tv_sec, (long)v.tv.tv_usec, (unsigned)l); break;
	case 's': more("/%.16s", v.s); break;
	case 'o': more("/len%u", (unsigned)l); break;
	case '+': more("/%s", v.i > 0 ? "+" : v.i == 0 ? "0" : "-"); break;
	case 'I':
		more("/st%u/o%x/ws%u,%u/ca%u", v.ti.tcpi_state, v.ti.tcpi_options, v.ti.tcpi_snd_wscale,
		     v.ti.tcpi_rcv_wscale, v.ti.tcpi_ca_state);
		break;
	case 'b':
		/* A size the stack chose is its own; one the program set is Linux's rule. */
		if (m >= 0 && (ms[m].bufset & (o->opt == SO_RCVBUF ? 1 : 2)))
			more("/%d", v.i);
		else
			more("/%s", v.i > 0 ? "+" : "0");
		break;
	default: more("/%d/%u", v.i, (unsigned)l); break;
	}
}

static void op_getopts5(void)
{
	int m, fd = pick_fd(&m);

	for (int i = 2 + (int)rnd(5); i > 0; i--)
		get5(fd, m, &opts5[rnd(sizeof(opts5) / sizeof(opts5[0]))]);
}

/* An option set to a value in or out of range, then read back. */
static void op_setget5(void)
{
	static const struct { int lvl, opt; const char *name; int vals[5]; } so[] = {
		{ SOL_SOCKET, SO_RCVBUF, "RCVBUF", { 4096, 65536, 100000, 2304, 8192 } },
		{ SOL_SOCKET, SO_SNDBUF, "SNDBUF", { 4096, 65536, 100000, 4608, 8192 } },
		{ SOL_SOCKET, SO_RCVLOWAT, "RCVLOWAT", { 0, 1, -1, INT_MAX, 1 << 30 } },
		{ SOL_SOCKET, SO_PRIORITY, "PRIORITY", { 0, 6, 7, -1, 100 } },
		{ IPPROTO_IP, IP_TOS, "TOS", { 0x10, 0xff, 3, 0x100, -1 } },
		{ IPPROTO_IP, IP_TTL, "TTL", { -1, 0, 1, 255, 256 } },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, "USER_TIMEOUT", { -1, 0, 1000, INT_MAX, 1 } },
		{ IPPROTO_TCP, TCP_KEEPIDLE, "KEEPIDLE", { 0, 1, 32767, 32768, -1 } },
		{ IPPROTO_TCP, TCP_KEEPCNT, "KEEPCNT", { 0, 1, 127, 128, -1 } },
		{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "NOTSENT_LOWAT", { 0, 1, 16384, -1, INT_MAX } },
		{ IPPROTO_TCP, TCP_LINGER2, "LINGER2", { -1, 0, 1, 120, 10000 } },
		{ IPPROTO_TCP, TCP_SYNCNT, "SYNCNT", { 0, 1, 127, 128, -1 } },
		{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, "HOPS", { -1, 0, 255, 256, -2 } },
		{ IPPROTO_IPV6, IPV6_TCLASS, "TCLASS", { -1, 0, 0xff, 0x100, 0x2d } },
	};
	int m, fd = pick_fd(&m), i = (int)rnd(sizeof(so) / sizeof(so[0])), v = so[i].vals[rnd(5)], g = 0;
	socklen_t l = sizeof(g);

	snprintf(nm, sizeof(nm), "set%s(%d)", so[i].name, v);
	if (R(verbose ? nm : "set", setsockopt(fd, so[i].lvl, so[i].opt, &v, sizeof(v))) == 0 && m >= 0 &&
	    so[i].lvl == SOL_SOCKET && (so[i].opt == SO_RCVBUF || so[i].opt == SO_SNDBUF))
		ms[m].bufset |= so[i].opt == SO_RCVBUF ? 1 : 2;
	if (R(so[i].name, getsockopt(fd, so[i].lvl, so[i].opt, &g, &l)) == 0)
		more("/%d", g);
	/* A receive low-water mark above what comes would keep a blocking
	 * receive (and poll's POLLIN) waiting: back to 1. */
	if (so[i].opt == SO_RCVLOWAT && so[i].lvl == SOL_SOCKET) {
		v = 1;
		setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v));
	}
}

/* MSG_ flag combinations on the subject, none of which waits long. */
static void op_msgflags5(void)
{
	int m, fd = pick_fd(&m), n = 1 + (int)rnd(8);
	char buf[256];
	bool tcp = m >= 0 && ms[m].type == SOCK_STREAM;
	long r;

	switch (rnd(8)) {
	case 0:
		/* MSG_TRUNC: TCP copies nothing, UDP says the datagram's length. */
		snprintf(nm, sizeof(nm), "recv(%d,PEEK|TRUNC)", n);
		R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT));
		break;
	case 1: {
		struct iovec iov = { buf, (size_t)n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		snprintf(nm, sizeof(nm), "recvmsg(%d,PEEK)", n);
		r = R(verbose ? nm : "recvmsg", recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | (rnd(2) ? MSG_TRUNC : 0)));
		if (r >= 0)
			more("/f%x", (unsigned)mh.msg_flags);
		break;
	}
	case 2:
		snprintf(nm, sizeof(nm), "recv(%d,OOB%s)", n, rnd(2) ? "|PEEK" : "");
		r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_OOB | MSG_DONTWAIT |
						   (strstr(nm, "PEEK") ? MSG_PEEK : 0)));
		if (r > 0)
			more("/%04x", sum(buf, r));
		received(m, r, MSG_OOB, 0);
		break;
	case 3:
		R("recv(ERRQUEUE)", recv(fd, buf, sizeof(buf), MSG_ERRQUEUE | MSG_DONTWAIT));
		break;
	case 4: {
		/* MSG_WAITALL under a short SO_RCVTIMEO: what came, or EAGAIN
		 * (the model said all that comes is here). */
		struct timeval tv = { 0, 20000 }, t0 = { 0, 0 };

		if (m < 0 || ms[m].nonblock || ms[m].rcvtimeo || ms[m].st == ST_LISTEN)
			return;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
			return;
		n = tcp ? ms[m].in_expect + 1 + (int)rnd(8) : n;
		if (n > (int)sizeof(buf))
			n = sizeof(buf);
		snprintf(nm, sizeof(nm), "recv(%d,WAITALL/timeo)", n);
		r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_WAITALL));
		if (r > 0)
			more("/%04x", sum(buf, r));
		received(m, r, MSG_WAITALL, 1);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t0, sizeof(t0));
		break;
	}
	case 5:
		/* Zero bytes: nothing the peer answers (TCP only: UDP's would
		 * be an empty datagram). */
		if (!tcp)
			return;
		static const int zf[] = { MSG_MORE, MSG_OOB, MSG_MORE | MSG_OOB, MSG_DONTWAIT, MSG_EOR };
		int f = zf[rnd(5)];

		snprintf(nm, sizeof(nm), "send0(%#x)", (unsigned)f);
		R(verbose ? nm : "send0", send(fd, buf, 0, f | MSG_NOSIGNAL));
		break;
	case 6:
		snprintf(nm, sizeof(nm), "recv(%d,DONTWAIT|PEEK|WAITALL)", n);
		r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL));
		if (r > 0)
			more("/%04x", sum(buf, r));
		break;
	default:
		snprintf(nm, sizeof(nm), "recv(%d,DONTWAIT)", n);
		r = R(verbose ? nm : "recv", recv(fd, buf, (size_t)n, MSG_DONTWAIT | (rnd(2) ? MSG_CMSG_CLOEXEC : 0)));
		if (r > 0)
			more("/%04x", sum(buf, r));
		received(m, r, 0, 1);
		break;
	}
}

/* sendmsg and recvmsg with an odd msghdr. The sends are ones that fail
 * before a byte goes (or send none: TCP's empty one); the receives peek. */
static void op_msghdr5(void)
{
	static struct iovec many[IOV_MAX + 2];
	static char one;
	int m, fd = pick_fd(&m), v = (int)rnd(9);
	bool tcp = m >= 0 && ms[m].type == SOCK_STREAM;
	char buf[64];
	struct sockaddr_storage ss;
	struct iovec iov = { buf, sizeof(buf) }, iov0 = { buf, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	for (int i = 0; i < IOV_MAX + 2; i++)
		many[i] = (struct iovec){ &one, 1 };
	switch (v) {
	case 0:
		mh.msg_iov = NULL;
		R("sendmsg(NULLiov)", sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
		break;
	case 1:
		mh.msg_iov = many;
		mh.msg_iovlen = IOV_MAX + 1 + rnd(2);
		R("sendmsg(>IOV_MAX)", sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
		break;
	case 2:
		/* sendmsg clamps a long name to a sockaddr_storage (sendto's
		 * EINVAL); a negative one is EINVAL. */
		mkaddr(&ss, m >= 0 ? ms[m].fam : AF_INET, PEER, P_USINK);
		mh.msg_name = &ss;
		mh.msg_namelen = rnd(2) ? sizeof(ss) + 1 : (socklen_t)-1;
		if (mh.msg_namelen != (socklen_t)-1 && !tcp)
			return;         /* UDP would send it */
		if (tcp)
			mh.msg_iov = &iov0;
		snprintf(nm, sizeof(nm), "sendmsg(namelen%d)", (int)mh.msg_namelen);
		R(verbose ? nm : "sendmsg", sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
		break;
	case 3:
		/* A short name: UDP's EINVAL; TCP ignores it (nothing sent). */
		mkaddr(&ss, m >= 0 ? ms[m].fam : AF_INET, PEER, P_USINK);
		mh.msg_name = &ss;
		mh.msg_namelen = (socklen_t)(1 + rnd(7));
		if (tcp)
			mh.msg_iov = &iov0;
		snprintf(nm, sizeof(nm), "sendmsg(namelen%d)", (int)mh.msg_namelen);
		R(verbose ? nm : "sendmsg", sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
		break;
	case 4:
		/* A control length with no control buffer. */
		mh.msg_control = NULL;
		mh.msg_controllen = 16 + rnd(2) * 100;
		if (tcp)
			mh.msg_iov = &iov0;
		else if (chance(50))
			mh.msg_iov = NULL;      /* and the iov fails too */
		else
			return;
		snprintf(nm, sizeof(nm), "sendmsg(NULLctl%u)", (unsigned)mh.msg_controllen);
		R(verbose ? nm : "sendmsg", sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
		break;
	case 5:
		mh.msg_iov = rnd(2) ? NULL : many;
		mh.msg_iovlen = mh.msg_iov ? IOV_MAX + 1 : 1;
		R(mh.msg_iov ? "recvmsg(>IOV_MAX)" : "recvmsg(NULLiov)", recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT));
		break;
	case 6:
	case 7: {
		/* A name buffer shorter than the address, or none with a length. */
		socklen_t nl = v == 6 ? (socklen_t)rnd(10) : 16;

		memset(&ss, 0xee, sizeof(ss));
		mh.msg_name = v == 6 ? &ss : NULL;
		mh.msg_namelen = nl;
		snprintf(nm, sizeof(nm), "recvmsg(name%s%u)", v == 6 ? "" : "NULL", (unsigned)nl);
		r = R(verbose ? nm : "recvmsg", recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT));
		if (r >= 0)
			more("/n%u/fam%d/f%x", (unsigned)mh.msg_namelen, v == 6 && nl >= 2 ? ss.ss_family : -1,
			     (unsigned)mh.msg_flags);
		break;
	}
	default:
		mh.msg_control = rnd(2) ? NULL : buf;
		mh.msg_controllen = rnd(2) ? 4 : 16;
		iov.iov_len = 8;
		snprintf(nm, sizeof(nm), "recvmsg(ctl%s%u)", mh.msg_control ? "" : "NULL", (unsigned)mh.msg_controllen);
		r = R(verbose ? nm : "recvmsg", recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT));
		if (r >= 0)
			more("/cl%u/f%x", (unsigned)mh.msg_controllen, (unsigned)mh.msg_flags);
		break;
	}
}

/* dup, dup3 and F_DUPFD_CLOEXEC of a socket: the copy's FD_CLOEXEC, the
 * status flags both share, and names read through the copy. */
static void op_fdflags5(void)
{
	int m, fd = pick_fd(&m), d = -1, fl;

	switch (rnd(5)) {
	case 0:
		d = (int)RFD("dup", dup(fd));
		break;
	case 1:
		d = (int)RFD("dup3(CLOEXEC)", dup3(fd, 200, O_CLOEXEC));
		break;
	case 2:
		d = (int)RFD("DUPFD_CLOEXEC", fcntl(fd, F_DUPFD_CLOEXEC, 100));
		break;
	case 3:
		R("dup3(same)", dup3(fd, fd, 0));
		R("dup3(flags)", dup3(fd, 201, 0x1234));
		return;
	default:
		if (R("GETFD", fcntl(fd, F_GETFD)) >= 0 && R("GETFL", fcntl(fd, F_GETFL)) >= 0)
			more("/%lx", step_r & (O_NONBLOCK | O_ACCMODE | O_APPEND | O_ASYNC));
		return;
	}
	if (d < 0)
		return;
	if (R("GETFD", fcntl(d, F_GETFD)) < 0 || (fl = (int)R("GETFL", fcntl(d, F_GETFL))) < 0) {
		close(d);
		return;
	}
	more("/%x", (unsigned)(fl & (O_NONBLOCK | O_ACCMODE | O_APPEND | O_ASYNC)));
	/* O_NONBLOCK set through the copy is the socket's: then back. */
	if (R("SETFL", fcntl(d, F_SETFL, fl ^ O_NONBLOCK)) == 0) {
		if (R("GETFL", fcntl(fd, F_GETFL)) >= 0)
			more("/%lx", step_r & O_NONBLOCK);
		fcntl(d, F_SETFL, fl);
	}
	if (chance(50)) {
		struct sockaddr_storage ss;
		socklen_t l = sizeof(ss);

		if (R("getpeername", getpeername(d, (struct sockaddr *)&ss, &l)) == 0)
			more("/%u", (unsigned)l);
	}
	close(d);
}

/* Generation 5's mix: generation 4's calls, fewer of each, and the new ones. */
static void gen5_op(void)
{
	static const struct weighted tab[] = {
		{ op_send, 4 }, { op_recv, 5 }, { op_shutdown, 3 }, { op_connect, 2 }, { op_listen, 1 },
		{ op_bind, 1 }, { op_name, 2 }, { op_poll, 3 }, { op_accept, 2 }, { op_accept3, 2 },
		{ op_opt4, 4 }, { op_select4, 1 }, { op_close4, 2 },
		{ op_udperr5, 6 }, { op_ioctl5, 6 }, { op_getopts5, 10 }, { op_setget5, 8 },
		{ op_msgflags5, 10 }, { op_msghdr5, 8 }, { op_fdflags5, 5 },
	};

	weighted_op_state(tab, sizeof(tab) / sizeof(tab[0]));
}
/* ---- generation 6 ---- */

/*
 * What generations 1-5 choose from little: a listener and its accepted
 * child under option changes (what the child inherits), SO_REUSEPORT and
 * SO_REUSEADDR groups (bind and listen errors only: which listener takes
 * a connection is not comparable), a UDP socket connected, disconnected
 * and sending to other addresses (whose ICMP errors a connected socket
 * does not hear), shutdown in every direction followed by the poll and
 * epoll masks, and sendfile from offsets at and past the end of the file.
 */
static const struct inh6 { int lvl, opt; const char *name; int vals[3]; } inh6[] = {
	{ SOL_SOCKET, SO_RCVBUF, "RCVBUF", { 4096, 65536, 200000 } },
	{ SOL_SOCKET, SO_SNDBUF, "SNDBUF", { 4608, 65536, 200000 } },
	{ IPPROTO_TCP, TCP_NODELAY, "NODELAY", { 1, 1, 0 } },
	{ IPPROTO_TCP, TCP_MAXSEG, "MAXSEG", { 536, 1000, 88 } },
	{ SOL_SOCKET, SO_KEEPALIVE, "KEEPALIVE", { 1, 1, 0 } },
	{ IPPROTO_TCP, TCP_KEEPIDLE, "KEEPIDLE", { 30, 1, 7200 } },
	{ IPPROTO_TCP, TCP_KEEPINTVL, "KEEPINTVL", { 5, 1, 75 } },
	{ IPPROTO_TCP, TCP_KEEPCNT, "KEEPCNT", { 3, 1, 9 } },
	{ IPPROTO_IP, IP_TOS, "TOS", { 0x10, 0x20, 0x3 } },
	{ IPPROTO_IP, IP_TTL, "TTL", { 33, 1, 255 } },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, "USER_TIMEOUT", { 5000, 1, 0 } },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, "NOTSENT_LOWAT", { 1000, 1, 0 } },
	{ SOL_SOCKET, SO_PRIORITY, "PRIORITY", { 3, 6, 0 } },
	{ IPPROTO_TCP, TCP_WINDOW_CLAMP, "WINDOW_CLAMP", { 20000, 1, 0 } },
	{ SOL_SOCKET, SO_OOBINLINE, "OOBINLINE", { 1, 1, 0 } },
	{ IPPROTO_TCP, TCP_LINGER2, "LINGER2", { 10, -1, 0 } },
	{ IPPROTO_TCP, TCP_SYNCNT, "SYNCNT", { 3, 1, 0 } },
	{ IPPROTO_IP, IP_MTU_DISCOVER, "MTU_DISCOVER", { 0, 2, 3 } },
	{ IPPROTO_TCP, TCP_QUICKACK, "QUICKACK", { 0, 1, 2 } },
	{ SOL_SOCKET, SO_REUSEADDR, "REUSEADDR", { 1, 1, 0 } },
	{ IPPROTO_IP, IP_RECVERR, "RECVERR", { 1, 1, 0 } },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, "DEFER_ACCEPT", { 1, 5, 0 } },
};
#define NINH6 (sizeof(inh6) / sizeof(inh6[0]))
#define INH6_DEFER (NINH6 - 1)

static int g6_listener = -1;
static bool g6_cc_set;          /* TCP_CONGESTION set: else the namespace's default, which pstack may not have */

/* One of inh6 set on FD (M's model kept), its value V. */
static void inh6_set(int fd, int m, size_t i, int v)
{
	snprintf(nm, sizeof(nm), "set%s(%d)", inh6[i].name, v);
	if (R(verbose ? nm : "set", setsockopt(fd, inh6[i].lvl, inh6[i].opt, &v, sizeof(v))) == 0 && m >= 0 &&
	    inh6[i].lvl == SOL_SOCKET && (inh6[i].opt == SO_RCVBUF || inh6[i].opt == SO_SNDBUF))
		ms[m].bufset |= inh6[i].opt == SO_RCVBUF ? 1 : 2;
}

/* Every inh6 option, SO_LINGER and TCP_CONGESTION read on FD. */
static void inh6_show(int fd, int m)
{
	for (size_t i = 0; i < NINH6; i++) {
		int v = -7;
		socklen_t l = sizeof(v);

		if (R(inh6[i].name, getsockopt(fd, inh6[i].lvl, inh6[i].opt, &v, &l)) != 0)
			continue;
		if (inh6[i].lvl == SOL_SOCKET && (inh6[i].opt == SO_RCVBUF || inh6[i].opt == SO_SNDBUF) &&
		    !(m >= 0 && (ms[m].bufset & (inh6[i].opt == SO_RCVBUF ? 1 : 2))))
			more("/%s", v > 0 ? "+" : "0");
		else if (inh6[i].opt == TCP_MAXSEG && inh6[i].lvl == IPPROTO_TCP)
			more("/%s", v > 1000 ? "big" : v > 0 ? "set" : "0");
		else
			more("/%d", v);
	}
	struct linger lg = { -1, -1 };
	socklen_t l = sizeof(lg);

	if (R("LINGER", getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l)) == 0)
		more("/%d,%d", lg.l_onoff, lg.l_linger);
	char cc[16] = "";

	l = sizeof(cc);
	if (R("CONGESTION", getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l)) == 0 && g6_cc_set)
		more("/%.8s", cc);
}

/* The peer connects to the listener (MODE as peer_connect4), the child is
 * accepted and its options shown; -1 when none came. */
static int inh6_child(int l, int md)
{
	peer_connect4(l, md);
	settle();
	if (ms[l].qlen == 0)
		return -1;
	int c = accept4_(l);

	if (c < 0)
		return -1;
	ms[c].bufset = ms[l].bufset;
	snprintf(tag, sizeof(tag), "s%d.", c);
	inh6_show(fd_of(c), c);
	return c;
}

/* A listener given a few options (the child inherits them or not), one
 * connection accepted. TCP_DEFER_ACCEPT only with a peer that sends. */
static int setup6_inherit(void)
{
	int l = listener4(4), md = rnd(3) ? 1 : 0;

	if (l < 0)
		return -1;
	g6_listener = l;
	for (int n = 1 + (int)rnd(6); n > 0; n--) {
		size_t i = rnd(NINH6);

		if (i == INH6_DEFER && md != 1)
			continue;
		inh6_set(fd_of(l), l, i, inh6[i].vals[rnd(3)]);
	}
	if (chance(30)) {
		struct linger lg = { 1, (int)rnd(3) };

		snprintf(tag, sizeof(tag), "s%d.", l);
		snprintf(nm, sizeof(nm), "setLINGER(1,%d)", lg.l_linger);
		if (R(verbose ? nm : "setLINGER", setsockopt(fd_of(l), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) == 0)
			ms[l].linger0 = lg.l_linger == 0;
	}
	if (chance(30)) {
		const char *cc = rnd(2) ? "reno" : "cubic";

		snprintf(tag, sizeof(tag), "s%d.", l);
		if (R(cc[0] == 'r' ? "setCONG(reno)" : "setCONG(cubic)",
		      setsockopt(fd_of(l), IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc))) == 0)
			g6_cc_set = true;
	}
	int c = inh6_child(l, md);

	if (c >= 0)
		ms[c].linger0 = ms[l].linger0;
	return c >= 0 ? c : l;
}

/* Two or three TCP sockets on own port 0 with SO_REUSEPORT, SO_REUSEADDR,
 * both or neither, bound and listening: each call's answer. */
static int setup6_reuseport(void)
{
	/* TCP only: which of a UDP group gets a datagram is as little
	 * comparable as which listener gets a connection. */
	int type = SOCK_STREAM, first = -1, one = 1;

	for (int n = 2 + (int)rnd(2); n > 0; n--) {
		int m = sock4(type, true);

		if (m < 0)
			break;
		if (first < 0)
			first = m;
		snprintf(tag, sizeof(tag), "s%d.", m);
		int o = (int)rnd(4);

		if (o & 1)
			R("setREUSEPORT", setsockopt(fd_of(m), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)));
		if (o & 2)
			R("setREUSEADDR", setsockopt(fd_of(m), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
		if (!bind4(m, 0))
			continue;
		if (type == SOCK_STREAM && chance(70)) {
			snprintf(tag, sizeof(tag), "s%d.", m);
			if (R("listen", listen(fd_of(m), 2)) == 0) {
				ms[m].st = ST_LISTEN;
				ms[m].backlog = 2;
			}
		}
	}
	return first;
}

/* A UDP socket connected to the silent port, sending elsewhere too. */
static int setup6_udp(void)
{
	int m = sock4(SOCK_DGRAM, rnd(2));

	if (m < 0)
		return -1;
	if (chance(40))
		bind4(m, 0);
	if (chance(70)) {
		bool echo = chance(50);

		connect4(m, PEER, echo ? P_UECHO : P_USINK, echo ? PK_UECHO : PK_USINK, -1);
	}
	return m;
}

/* An address of the peer's for UDP: the echo, the silent port, the closed one. */
static void udp6_target(int i, int *port, enum pkind *kind)
{
	static const int ports[] = { P_UECHO, P_USINK, P_UCLOSED };
	static const enum pkind kinds[] = { PK_UECHO, PK_USINK, PK_UCLOSED };

	*port = ports[i];
	*kind = kinds[i];
}

/* UDP: connect, disconnect, send to another address than the peer, read. */
static void op_udp6(void)
{
	int m = -1, port;
	enum pkind kind;

	for (int i = 0; i < nfds; i++)
		if (ms[fds[i].m].type == SOCK_DGRAM && (m < 0 || chance(50)))
			m = fds[i].m;
	if (m < 0)
		return;
	int fd = fd_of(m);
	struct msock *k = &ms[m];
	struct sockaddr_storage ss;
	socklen_t l;
	char b[64];

	snprintf(tag, sizeof(tag), "s%d.", m);
	udp6_target((int)rnd(3), &port, &kind);
	switch (rnd(7)) {
	case 0: {
		struct sockaddr un = { .sa_family = AF_UNSPEC };

		if (R("connect(UNSPEC)", connect(fd, &un, sizeof(un))) == 0) {
			k->peer = PK_NONE;
			k->err_expect = false;
		}
		break;
	}
	case 1:
		l = mkaddr(&ss, k->fam, PEER, port);
		snprintf(nm, sizeof(nm), "connect(%d)", port);
		if (R(verbose ? nm : "connect", connect(fd, (struct sockaddr *)&ss, l)) == 0) {
			k->peer = kind;
			if (k->port < 0)
				k->port = 9;
		}
		break;
	case 2:
	case 3: {
		/* sendto: the echo answers only an unconnected socket or one
		 * connected to it; a connected socket hears no ICMP about
		 * another destination (__udp4_lib_err finds no socket). */
		l = mkaddr(&ss, k->fam, PEER, port);
		snprintf(nm, sizeof(nm), "sendto(%d)", port);
		long r = R(verbose ? nm : "sendto", sendto(fd, "u6", 2, MSG_DONTWAIT, (struct sockaddr *)&ss, l));

		if (r >= 0) {
			udp_dirty = true;
			if (k->port < 0)
				k->port = 9;
			if (kind == PK_UECHO && (k->peer == PK_NONE || k->peer == PK_UECHO))
				k->dgrams++;
		}
		break;
	}
	case 4: {
		long r = R("send", send(fd, "u6", 2, MSG_DONTWAIT));

		if (r >= 0) {
			udp_dirty = true;
			if (k->peer == PK_UECHO)
				k->dgrams++;
		}
		break;
	}
	case 5: {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		long r = R("recvfrom", recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&from, &fl));

		if (r >= 0)
			more("/fl%u", (unsigned)fl);
		received(m, r, 0, 1);
		break;
	}
	default: {
		int v = 0;

		l = sizeof(v);
		if (R("ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l)) == 0)
			more("/%s", ename(v));
		break;
	}
	}
}

/* poll's and epoll's view of FD, every event asked for. */
static void masks6(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND |
						POLLWRNORM | POLLWRBAND | POLLMSG };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLRDNORM |
					    EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG };

	if (R("poll", poll(&p, 1, 0)) >= 0)
		more("/%x", (unsigned)p.revents);
	if (ep >= 0 && R("ep_add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) == 0) {
		struct epoll_event out = { 0 };

		if (R("ep_wait", epoll_wait(ep, &out, 1, 0)) > 0)
			more("/%x", (unsigned)out.events);
	}
	if (ep >= 0)
		close(ep);
}

static void op_masks6(void)
{
	int m, fd = pick_fd(&m);

	masks6(fd);
}

/* shutdown in any direction (or a bad one), the masks, then one call. */
static void op_shut6(void)
{
	static const int hows[] = { SHUT_RD, SHUT_WR, SHUT_RDWR, 3, -1 };
	int m, fd = pick_fd(&m), how = hows[rnd(5)];
	char b[64];
	int v = 0;
	socklen_t l = sizeof(v);

	snprintf(nm, sizeof(nm), "shutdown(%d)", how);
	if (R(verbose ? nm : "shutdown", shutdown(fd, how)) == 0 && m >= 0 && how >= 0 && how <= 2)
		shut_model(m, how);
	settle();
	masks6(fd);
	switch (rnd(4)) {
	case 0: {
		int flags = m >= 0 ? send_guard(m, MSG_DONTWAIT, 3) : MSG_DONTWAIT;
		long r = R("send", send(fd, "sh6", 3, flags | MSG_NOSIGNAL));

		if (m >= 0)
			sent(m, r, flags, ms[m].peer, -1);
		break;
	}
	case 1:
		received(m, R("recv", recv(fd, b, sizeof(b), MSG_DONTWAIT)), 0, 1);
		break;
	case 2:
		if (R("ERROR", getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l)) == 0) {
			more("/%s", ename(v));
			if (m >= 0 && v) {
				ms[m].err_expect = false;
				if (ms[m].type == SOCK_STREAM && ms[m].st == ST_CONN)
					ms[m].st = ST_DEAD;
			}
		}
		break;
	default: {
		struct tcp_info ti;

		l = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (R("INFO", getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l)) == 0)
			more("/state%d", ti.tcpi_state);
		break;
	}
	}
}

/* sendfile from the memfd (8192 bytes) at offsets before, at and past its end. */
static void op_sendfile6(void)
{
	static const long offs[] = { 0, 8000, 8191, 8192, 8193, 1L << 20, -1 };
	static const size_t cnts[] = { 0, 1, 100, 500 };
	int m, fd = pick_fd(&m);
	off_t off = (off_t)offs[rnd(7)], *op = &off;
	size_t n = cnts[rnd(4)];

	if (off < 0)
		op = NULL;
	if (memfd < 0)
		return;
	lseek(memfd, rnd(2) ? 0 : 8192, SEEK_SET);
	int flags = m >= 0 ? send_guard(m, 0, n) : 0;

	if (flags & MSG_DONTWAIT)
		return;
	snprintf(nm, sizeof(nm), "sendfile(%ld,%zu)", op ? (long)off : -1L, n);
	long r = R(verbose ? nm : "sendfile", sendfile(fd, memfd, op, n));

	if (r >= 0 && op)
		more("/off%ld", (long)off);
	if (r > 0 && m >= 0 && ms[m].type == SOCK_DGRAM) {
		udp_unsure = true;
		udp_dirty = true;
		return;
	}
	if (m >= 0)
		sent(m, r, 0, ms[m].peer, -1);
}

/* The listener's options changed after a child came, then another child. */
static void op_inherit6(void)
{
	int l = g6_listener;

	if (l < 0 || fd_of(l) < 0 || ms[l].st != ST_LISTEN)
		return;
	snprintf(tag, sizeof(tag), "s%d.", l);
	size_t i = rnd(NINH6);

	if (i == INH6_DEFER)
		i = 0;
	inh6_set(fd_of(l), l, i, inh6[i].vals[rnd(3)]);
	if (nfds < MAXF && chance(50))
		(void)inh6_child(l, chance(50) ? 0 : 1);
	else if (subj >= 0 && subj != l && fd_of(subj) >= 0) {
		snprintf(tag, sizeof(tag), "s%d.", subj);
		inh6_show(fd_of(subj), subj);
	}
}

static void g6_setup(void)
{
	int s = (int)rnd(10);

	if (s >= 4) {
		g4_setup();
		return;
	}
	static const char *const names[] = { "inherit", "inherit", "reuseport", "udp" };

	emit("scen6=%s", names[s]);
	subj = s < 2 ? setup6_inherit() : s == 2 ? setup6_reuseport() : setup6_udp();
	settle();
}

static void gen6_op(void)
{
	static const struct weighted tab[] = {
		{ op_send, 4 }, { op_recv, 4 }, { op_shutdown, 2 }, { op_listen, 1 },
		{ op_bind, 1 }, { op_name, 2 }, { op_poll, 2 }, { op_accept, 2 },
		{ op_opt4, 3 }, { op_close4, 2 }, { op_ioctl5, 3 }, { op_getopts5, 4 }, { op_setget5, 4 },
		{ op_msgflags5, 4 }, { op_udp6, 10 }, { op_masks6, 6 }, { op_shut6, 8 }, { op_sendfile6, 5 },
		{ op_inherit6, 6 },
	};

	weighted_op_state(tab, sizeof(tab) / sizeof(tab[0]));
}
/* ---- generation 7 (-g 7): calls that block, and what ends them ---- */

/*
 * Each seed makes 2 to 4 experiments, each on sockets of its own: a second
 * thread makes one call that blocks (accept on an empty queue, recv,
 * recvmsg with MSG_WAITALL after part of the bytes, connect to the silent
 * port, send into a full buffer, poll or epoll_wait on the socket), and the
 * main thread ends it: shutdown in each direction, close, setsockopt
 * (SO_RCVTIMEO, SO_LINGER), the other end's bytes, FIN or RST (a local
 * pair, the echo peer, the peer that resets), the peer's connection to a
 * listener, or SIGALRM (a handler with or without SA_RESTART, or SIG_IGN;
 * pthread_kill to the thread, or setitimer to the process with the main
 * thread's mask blocking it). A timeout set before (SO_RCVTIMEO,
 * SO_SNDTIMEO, a poll timeout: 0, 1 ms, 50 ms, negative, out of range, odd
 * lengths) or MSG_DONTWAIT may end it first. The main thread acts only
 * once the thread sleeps in a system call that waits (/proc's state and
 * syscall), so the order of events is the program's; an ender that does
 * not end the call on Linux (close, SHUT_WR, a restarted or ignored
 * signal, setsockopt) is followed, once the thread sleeps again, by a
 * signal without SA_RESTART ("rescue"). The seed's last experiment (ext7,
 * on random numbers of its own) may also block in select or UDP's
 * recvfrom, and ends a call left blocked as often by what it waits for.
 * What returned is printed (a send's count as all or part), whether a
 * timeout had passed ("/to"), and how often the handler ran; never how
 * long it took.
 */
enum k7 { K7_ACCEPT, K7_RECV, K7_WAITALL, K7_CONNECT, K7_SEND, K7_POLL, K7_EPOLL, N_K7,
	  K7_SELECT = N_K7, K7_UDP, N_K7X };
static const char *const k7_name[] = { "accept", "recv", "recvmsg", "connect", "send", "poll", "epoll_wait",
				       "select", "recvfrom" };
/* The seed's last experiment (run7): its own random numbers, so that the
 * experiments before it keep their meaning; select and UDP's recvfrom too,
 * and a call an ender left blocked is ended as often by what it waits for
 * (the peer's connection, bytes, the other end's reads) as by the rescue. */
static bool ext7;
enum e7 { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_DATA, E7_FIN, E7_RST,
	  E7_PEERCONN, E7_SIG, E7_DRAIN, E7_NONE, N_E7 };

#define LEN7 64
#define SEND7 (1 << 20)

struct blk7 {
	int kind, fd, epfd, len, flags, timeout_ms;
	struct sockaddr_storage addr;
	socklen_t alen;
	volatile int started, done;
	volatile pid_t tid;
	long r;
	int e, rev;
	long long ns;
};

static volatile sig_atomic_t alrm_n;

static void on_alrm(int s)
{
	(void)s;
	alrm_n++;
}

static void *blk7_thread(void *a)
{
	struct blk7 *b = a;
	static char buf[SEND7];
	struct timespec t0, t1;
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
	b->tid = (pid_t)syscall(SYS_gettid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	__atomic_store_n(&b->started, 1, __ATOMIC_SEQ_CST);
	errno = 0;
	switch (b->kind) {
	case K7_ACCEPT:
		b->r = accept(b->fd, NULL, NULL);
		break;
	case K7_RECV:
		b->r = recv(b->fd, buf, (size_t)b->len, b->flags);
		break;
	case K7_WAITALL: {
		struct iovec iv = { buf, (size_t)b->len };
		struct msghdr h = { .msg_iov = &iv, .msg_iovlen = 1 };

		b->r = recvmsg(b->fd, &h, b->flags | MSG_WAITALL);
		break;
	}
	case K7_CONNECT:
		b->r = connect(b->fd, (struct sockaddr *)&b->addr, b->alen);
		break;
	case K7_SEND:
		memset(buf, 'x', sizeof(buf));
		b->r = send(b->fd, buf, (size_t)b->len, b->flags | MSG_NOSIGNAL);
		break;
	case K7_POLL: {
		struct pollfd p = { .fd = b->fd, .events = POLLIN | POLLRDHUP };

		b->r = poll(&p, 1, b->timeout_ms);
		b->rev = p.revents;
		break;
	}
	case K7_EPOLL: {
		struct epoll_event ev = { 0 };

		b->r = epoll_wait(b->epfd, &ev, 1, b->timeout_ms);
		b->rev = (int)ev.events;
		break;
	}
	case K7_SELECT: {
		fd_set rd;
		struct timeval tv = { b->timeout_ms / 1000, (b->timeout_ms % 1000) * 1000 };

		FD_ZERO(&rd);
		FD_SET(b->fd, &rd);
		b->r = select(b->fd + 1, &rd, NULL, NULL, b->timeout_ms < 0 ? NULL : &tv);
		b->rev = b->r > 0 && FD_ISSET(b->fd, &rd);
		break;
	}
	case K7_UDP:
		b->r = recvfrom(b->fd, buf, (size_t)b->len, b->flags, NULL, NULL);
		break;
	}
	b->e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	b->ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool blk7_done(struct blk7 *b)
{
	return __atomic_load_n(&b->done, __ATOMIC_SEQ_CST);
}

/* True while thread TID sleeps in a system call that waits (not a lock's
 * futex): the call's own on the kernel, the shim's ppoll under pstack. */
/* The first line or so of /proc/self/task/TID/WHAT, NUL-ended, in b. */
static bool task_file(pid_t tid, const char *what, char *b, size_t cap)
{
	char path[64];
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, what);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(f, b, cap - 1);
	close(f);
	if (n <= 0)
		return false;
	b[n] = 0;
	return true;
}

static bool tid_waits(pid_t tid)
{
	static const long waits[] = { 0, 1, 7, 23, 42, 43, 44, 45, 46, 47, 232, 270, 271, 281, 288, 441 };
	char b[512], *p, *end;
	long nr;

	if (!task_file(tid, "stat", b, sizeof(b)))
		return false;
	p = strrchr(b, ')');
	if (!p || p[1] != ' ' || p[2] != 'S')
		return false;
	if (!task_file(tid, "syscall", b, sizeof(b)))
		return false;
	nr = strtol(b, &end, 10);
	if (end == b)
		return false;
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (waits[i] == nr)
			return true;
	return false;
}

/* Waits (bounded) until the call returned or its thread sleeps in a wait:
 * true if it returned. */
static bool blk7_settle(struct blk7 *b)
{
	struct timespec t0, d = { 0, 500000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!__atomic_load_n(&b->started, __ATOMIC_SEQ_CST) && ms_since(&t0) < WAIT_MS)
		nanosleep(&d, NULL);
	while (!blk7_done(b) && ms_since(&t0) < WAIT_MS) {
		if (tid_waits(b->tid))
			return blk7_done(b);
		nanosleep(&d, NULL);
	}
	return blk7_done(b);
}

/* Waits (bounded) until the call returned. */
static bool blk7_join(struct blk7 *b)
{
	struct timespec t0, d = { 0, 500000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!blk7_done(b) && ms_since(&t0) < WAIT_MS)
		nanosleep(&d, NULL);
	return blk7_done(b);
}

static void alrm_mode(int mode)
{
	struct sigaction sa = { .sa_handler = mode == 2 ? SIG_IGN : on_alrm,
				.sa_flags = mode == 1 ? SA_RESTART : 0 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

/* FD's readable bytes reach N (bounded). */
static void wait_inq7(int fd, int n)
{
	struct timespec t0, d = { 0, 500000 };
	int v = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ioctl(fd, FIONREAD, &v) == 0 && v < n) {
		if (ms_since(&t0) > WAIT_MS) {
			emit("~Tinq");
			return;
		}
		nanosleep(&d, NULL);
	}
}

static int fd7[4] = { -1, -1, -1, -1 };     /* subject, other end, listener, epoll */

static void close7(void)
{
	for (int i = 0; i < 4; i++)
		if (fd7[i] >= 0) {
			close(fd7[i]);
			fd7[i] = -1;
		}
}

static int sock7(int fam)
{
	return socket(fam, SOCK_STREAM, 0);
}

/* A connection from the program to itself: *C the client, *A accepted. */
static bool pair7(int fam, bool small, int *c, int *a)
{
	struct sockaddr_storage ss;
	socklen_t l;
	int lfd = sock7(fam), one = 1, sz = 4096;

	*c = *a = -1;
	if (lfd < 0)
		return false;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (small)
		setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	l = mkaddr(&ss, fam, SELF, own_port(1));
	if (bind(lfd, (struct sockaddr *)&ss, l) != 0 || listen(lfd, 1) != 0) {
		emit("pair=%s", ename(errno));
		close(lfd);
		return false;
	}
	*c = sock7(fam);
	if (small)
		setsockopt(*c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(*c, (struct sockaddr *)&ss, l) != 0 || (*a = accept(lfd, NULL, NULL)) < 0) {
		emit("pair=%s", ename(errno));
		close(lfd);
		return false;
	}
	close(lfd);
	return true;
}

static int conn7(int fam, int port, bool small)
{
	struct sockaddr_storage ss;
	socklen_t l = mkaddr(&ss, fam, PEER, port);
	int fd = sock7(fam), sz = 4096;

	if (fd < 0)
		return -1;
	if (small)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(fd, (struct sockaddr *)&ss, l) != 0) {
		emit("conn=%s", ename(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* SO_RCVTIMEO or SO_SNDTIMEO on FD, one of the odd values: its time in ms
 * if the call should end by it (0: no wait at all), -1 if none. */
static int timeo7(int fd, int opt)
{
	static const struct { long s, us; int len, ms; } tv[] = {
		{ 0, 0, 16, -1 }, { 0, 1000, 16, 1 }, { 0, 50000, 16, 50 }, { -1, 0, 16, 0 },
		{ 0, 1000000, 16, -1 }, { 0, 1000, 8, -1 }, { 0, 50000, 24, 50 }, { 0, 999, 16, 1 },
	};
	int i = (int)rnd(sizeof(tv) / sizeof(tv[0]));
	struct timeval t = { tv[i].s, tv[i].us };
	char b[32] = { 0 };

	memcpy(b, &t, sizeof(t));
	snprintf(nm, sizeof(nm), "set%s(%ld,%ld,%d)", opt == SO_RCVTIMEO ? "RCVTIMEO" : "SNDTIMEO", tv[i].s,
		 tv[i].us, tv[i].len);
	if (R(nm, setsockopt(fd, SOL_SOCKET, opt, b, (socklen_t)tv[i].len)) != 0)
		return -1;
	return tv[i].ms;
}

static void blk7_result(struct blk7 *b, int to_ms)
{
	if (b->kind == K7_SEND && b->r > 0)
		emit("ret-send=%s", b->r == b->len ? "all" : "part");
	else
		result(b->kind == K7_ACCEPT ? "ret-accept" : b->kind == K7_RECV ? "ret-recv" :
		       b->kind == K7_WAITALL ? "ret-recvmsg" : b->kind == K7_CONNECT ? "ret-connect" :
		       b->kind == K7_SEND ? "ret-send" : b->kind == K7_POLL ? "ret-poll" :
		       b->kind == K7_EPOLL ? "ret-epoll_wait" : b->kind == K7_SELECT ? "ret-select" : "ret-recvfrom",
		       b->r, b->e, b->kind == K7_ACCEPT);
	if ((b->kind == K7_POLL || b->kind == K7_EPOLL || b->kind == K7_SELECT) && b->r > 0)
		more("/rev=%#x", b->rev);
	if (b->kind == K7_ACCEPT && b->r >= 0)
		close((int)b->r);
	if (to_ms > 0 && b->ns >= (long long)to_ms * 1000000)
		more("/to");
	if (alrm_n)
		more("/alrm=%d", (int)alrm_n);
}

/* Whether ender E ends the call on Linux (else the thread sleeps on and the
 * rescue follows): END7 as op_block7's, TIMEO a timeout set on the socket. */
static bool ender_ends(int kind, int end7, int e, int sigmode, bool timeo, int data_left, int ndata)
{
	bool reads = kind == K7_RECV || kind == K7_WAITALL || kind == K7_POLL || kind == K7_EPOLL ||
		     kind == K7_SELECT;
	bool waits = kind == K7_POLL || kind == K7_EPOLL || kind == K7_SELECT;

	switch (e) {
	case E7_SHUT_RD:
		return kind != K7_SEND;
	case E7_SHUT_RDWR:
		return true;
	case E7_SHUT_WR:
		/* The echo answers the FIN with its own; the resetting peer
		 * resets. */
		return kind == K7_CONNECT || kind == K7_SEND || (reads && end7 > 0);
	case E7_CLOSE:
	case E7_SETOPT:
	case E7_NONE:
		return false;
	case E7_DATA:
		return kind != K7_WAITALL || end7 == 2 || ndata >= data_left;
	case E7_SIG:
		if (waits)
			return sigmode != 2;
		return sigmode == 0 || (sigmode == 1 && timeo);
	default:
		return true;
	}
}

/* A datagram of N bytes to the subject (own port 2): from our other socket
 * (END7 0) or from the peer (1). */
static void udp7(int end7, int n)
{
	static const char x[16];

	if (end7 == 0) {
		struct sockaddr_storage a;
		socklen_t l = mkaddr(&a, AF_INET, SELF, own_port(2));

		snprintf(nm, sizeof(nm), "dgram(%d)", n);
		R(nm, sendto(fd7[1], x, (size_t)n, 0, (struct sockaddr *)&a, l));
	} else {
		char line[64], ans[64];

		snprintf(line, sizeof(line), "udp %d %.*s\n", own_port(2), n, "abcdefghijklmno");
		emit("peer-dgram(%d)=%s", n, ctl_ask(line, ans, sizeof(ans)) ? ans : "?");
	}
}

/* ext7: what the call waits for, after an ender that left it blocked (the
 * subject may be closed: Linux's call holds the file and goes on; poll's
 * wait holds it too, epoll's and select's not, so those are left to the
 * rescue). LEFT: the bytes a MSG_WAITALL still wants. */
static void follow7(struct blk7 *b, int kind, int end7, int e, int other, int left)
{
	static const char x[LEN7];
	bool closed = e == E7_CLOSE;

	switch (kind) {
	case K7_ACCEPT: {
		char line[64], ans[64];

		snprintf(line, sizeof(line), "connect %d hold\n", own_port(0));
		emit("then-peer=%s", ctl_ask(line, ans, sizeof(ans)) ? ans : "?");
		break;
	}
	case K7_UDP:
		emit("then");
		udp7(end7, 3);
		break;
	case K7_RECV:
	case K7_WAITALL:
	case K7_POLL:
		if (end7 == 0 && other >= 0) {
			R("then-data", send(other, x, (size_t)(kind == K7_WAITALL ? left : 3), MSG_NOSIGNAL));
		} else if (end7 == 1 && !closed) {
			R("then-data", send(b->fd, x, (size_t)(kind == K7_WAITALL ? left : 3), MSG_NOSIGNAL));
		} else {
			return;
		}
		break;
	case K7_SEND:
		if (end7 != 0 || other < 0)
			return;
		emit("then-shut");
		shutdown(other, SHUT_RD);   /* not read: its window stays shut; a RST ends it */
		{
			struct linger lg = { 1, 0 };

			setsockopt(other, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			R("then-rst", close(other));
			fd7[1] = -1;
		}
		break;
	default:
		return;
	}
	if (!blk7_join(b))
		emit("~Tthen");
}

static void op_block7(void)
{
	static struct blk7 b;
	int kind = (int)rnd(ext7 ? N_K7X : N_K7), fam = rnd(2) ? AF_INET6 : AF_INET;
	int end7 = (int)rnd(3);     /* connected kinds: 0 local pair, 1 echo, 2 the peer that resets */
	int other = -1, to_ms = -1, pre = 0, e, sigmode = (int)rnd(3), data_left = LEN7;
	bool timeo = false;
	pthread_t th;
	sigset_t ss;

	close7();
	b = (struct blk7){ .kind = kind, .fd = -1, .epfd = -1, .len = LEN7, .timeout_ms = -1 };
	if (kind == K7_SEND)
		end7 = rnd(2) ? 0 : 3;      /* 3: the stalled peer, which never reads */
	if (kind == K7_ACCEPT || kind == K7_CONNECT)
		end7 = 0;                   /* no other end */
	emit("blk=%s/%s/%s", k7_name[kind], fam == AF_INET ? "in" : "in6",
	     kind == K7_ACCEPT ? "listen" : kind == K7_CONNECT ? "drop" : kind == K7_UDP ? "udp" :
	     end7 == 0 ? "local" : end7 == 1 ? "echo" : end7 == 2 ? "rst" : "stall");
	switch (kind) {
	case K7_ACCEPT: {
		struct sockaddr_storage a;
		socklen_t l = mkaddr(&a, fam, rnd(2) ? SELF : "0.0.0.0", own_port(0));
		int one = 1;

		if ((fd7[0] = sock7(fam)) < 0)
			return;
		setsockopt(fd7[0], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (R("bind", bind(fd7[0], (struct sockaddr *)&a, l)) != 0 ||
		    R("listen", listen(fd7[0], (int)rnd(3))) != 0)
			return;
		if (chance(35))
			timeo = (to_ms = timeo7(fd7[0], SO_RCVTIMEO)) >= 0;
		break;
	}
	case K7_CONNECT:
		if ((fd7[0] = sock7(fam)) < 0)
			return;
		b.alen = mkaddr(&b.addr, fam, PEER, P_DROP);
		if (chance(40))
			timeo = (to_ms = timeo7(fd7[0], SO_SNDTIMEO)) >= 0;
		break;
	case K7_UDP: {
		/* Datagrams from a socket of ours (end7 0) or the peer's. */
		struct sockaddr_storage a;
		socklen_t l = mkaddr(&a, fam, rnd(2) ? SELF : "0.0.0.0", own_port(2));

		if ((fd7[0] = socket(fam, SOCK_DGRAM, 0)) < 0 || (fd7[1] = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
			return;
		other = fd7[1];
		if (end7 == 2)
			end7 = 0;
		if (R("bind", bind(fd7[0], (struct sockaddr *)&a, l)) != 0)
			return;
		if (chance(35))
			timeo = (to_ms = timeo7(fd7[0], SO_RCVTIMEO)) >= 0;
		if (chance(10))
			b.flags = MSG_DONTWAIT;
		break;
	}
	case K7_SEND:
		if (end7 == 0) {
			if (!pair7(fam, true, &fd7[0], &fd7[1]))
				return;
			other = fd7[1];
		} else if ((fd7[0] = conn7(fam, P_STALL, true)) < 0) {
			return;
		}
		b.len = SEND7;
		if (chance(40))
			timeo = (to_ms = timeo7(fd7[0], SO_SNDTIMEO)) >= 0;
		if (chance(10))
			b.flags = MSG_DONTWAIT;
		break;
	default:
		if (end7 == 0) {
			if (!pair7(fam, false, &fd7[0], &fd7[1]))
				return;
			other = fd7[1];
		} else if ((fd7[0] = conn7(fam, end7 == 1 ? P_ECHO : P_RST, false)) < 0) {
			return;
		}
		/* Bytes there before the call: a recv returns them at once, a
		 * MSG_WAITALL takes them and waits for the rest. */
		if (end7 != 2 && (kind == K7_WAITALL ? chance(70) : chance(10))) {
			static const char x[LEN7];

			pre = kind == K7_WAITALL ? 1 + (int)rnd(LEN7 - 1) : 5;
			send(end7 == 0 ? other : fd7[0], x, (size_t)pre, MSG_NOSIGNAL);
			wait_inq7(fd7[0], pre);
			emit("pre=%d", pre);
			data_left = LEN7 - pre;
		}
		if (kind == K7_POLL || kind == K7_EPOLL || kind == K7_SELECT) {
			static const int pto[] = { -1, -1, -1, 0, 1, 50 };

			b.timeout_ms = pto[rnd(6)];
			to_ms = b.timeout_ms;
			timeo = to_ms >= 0;
			if (timeo)
				emit("timeout=%d", to_ms);
		} else if (chance(35)) {
			timeo = (to_ms = timeo7(fd7[0], SO_RCVTIMEO)) >= 0;
		}
		if (kind == K7_RECV && chance(10))
			b.flags = MSG_DONTWAIT;
		if (kind == K7_EPOLL) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (chance(30) ? EPOLLET : 0) };

			fd7[3] = b.epfd = epoll_create1(0);
			if (R("epoll_ctl", epoll_ctl(b.epfd, EPOLL_CTL_ADD, fd7[0], &ev)) != 0)
				return;
		}
		break;
	}
	if (b.flags)
		emit("flags=%#x", b.flags);
	b.fd = fd7[0];
	/* The thread takes SIGALRM; the main thread blocks it. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	alrm_n = 0;
	alrm_mode(sigmode);
	if (pthread_create(&th, NULL, blk7_thread, &b) != 0) {
		pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
		return;
	}
	/* What the call does by itself: returned at once, or its timeout. */
	if (timeo && to_ms >= 0) {
		if (!blk7_join(&b))
			emit("~Tto");
	} else {
		blk7_settle(&b);
	}
	if (blk7_done(&b))
		goto out;
	/* The ender. */
	static const int enders[N_K7X][8] = {
		[K7_ACCEPT] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_PEERCONN, E7_SIG, E7_SIG },
		[K7_RECV] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_DATA, E7_FIN, E7_SIG },
		[K7_WAITALL] = { E7_SHUT_RD, E7_RST, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_DATA, E7_FIN, E7_SIG },
		[K7_CONNECT] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_SIG, E7_SIG, E7_SIG },
		[K7_SEND] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_DRAIN, E7_RST, E7_SIG },
		[K7_POLL] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_RST, E7_DATA, E7_FIN, E7_SIG },
		[K7_EPOLL] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_RST, E7_DATA, E7_FIN, E7_SIG },
		[K7_SELECT] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_RST, E7_DATA, E7_FIN, E7_SIG },
		[K7_UDP] = { E7_SHUT_RD, E7_SHUT_WR, E7_SHUT_RDWR, E7_CLOSE, E7_SETOPT, E7_DATA, E7_FIN, E7_SIG },
	};
	e = enders[kind][rnd(8)];
	if (e == E7_RST && end7 == 1)
		e = E7_FIN;
	if ((e == E7_DRAIN || e == E7_RST) && end7 == 3)
		e = E7_SIG;
	/* The resetting peer: a byte brings its RST; so does our FIN, which
	 * would race with what the shutdown itself wakes. */
	if (end7 == 2 && (e == E7_FIN || e == E7_SHUT_WR || e == E7_SHUT_RDWR || e == E7_RST))
		e = E7_DATA;
	int ndata = 0;

	switch (e) {
	case E7_SHUT_RD:
	case E7_SHUT_WR:
	case E7_SHUT_RDWR: {
		int how = e == E7_SHUT_RD ? SHUT_RD : e == E7_SHUT_WR ? SHUT_WR : SHUT_RDWR;

		snprintf(nm, sizeof(nm), "shutdown(%d)", how);
		R(nm, shutdown(fd7[0], how));
		break;
	}
	case E7_CLOSE:
		R("close", close(fd7[0]));
		fd7[0] = -1;
		break;
	case E7_SETOPT:
		if (rnd(2)) {
			struct timeval t = { 0, 1000 };

			R("setRCVTIMEO(0,1000)", setsockopt(b.fd, SOL_SOCKET, kind == K7_SEND || kind == K7_CONNECT ?
							    SO_SNDTIMEO : SO_RCVTIMEO, &t, sizeof(t)));
		} else {
			struct linger lg = { 1, 0 };

			R("setLINGER(1,0)", setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
		}
		break;
	case E7_DATA:
		if (kind == K7_UDP) {
			udp7(end7, 5);
			break;
		}
		{
		static const char x[LEN7 * 2];
		static const int ns[] = { 5, 1, LEN7 * 2 };

		ndata = end7 == 2 ? 1 : ns[rnd(3)];
		if (kind == K7_WAITALL && (rnd(2) || end7 == 1))
			ndata = data_left;  /* the echo's bytes come when they come: all of them */
		snprintf(nm, sizeof(nm), "data(%d)", ndata);
		R(nm, send(end7 == 0 ? other : b.fd, x, (size_t)ndata, MSG_NOSIGNAL));
		if (kind == K7_WAITALL && end7 == 0 && ndata < data_left) {
			/* Too few to end the call: the rescue comes once the
			 * thread took them (acknowledged, and none queued). */
			struct timespec t0, d = { 0, 500000 };
			int oq = 1, iq = 1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			while ((ioctl(other, SIOCOUTQ, &oq) == 0 && oq > 0) ||
			       (ioctl(b.fd, FIONREAD, &iq) == 0 && iq > 0)) {
				if (ms_since(&t0) > WAIT_MS) {
					emit("~Ttaken");
					break;
				}
				nanosleep(&d, NULL);
			}
		}
		break;
	}
	case E7_FIN:
		if (kind == K7_UDP) {
			udp7(1, 7);
			break;
		}
		R("fin", shutdown(end7 == 0 ? other : b.fd, SHUT_WR));
		break;
	case E7_RST: {
		struct linger lg = { 1, 0 };

		setsockopt(other, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		R("rst", close(other));
		fd7[1] = -1;
		break;
	}
	case E7_PEERCONN: {
		static const char *const modes[] = { "hold", "hello", "fin", "rst" };
		char line[64], ans[64];
		int md = (int)rnd(4);

		snprintf(line, sizeof(line), "connect %d %s\n", own_port(0), modes[md]);
		emit("peer(%s)=%s", modes[md], ctl_ask(line, ans, sizeof(ans)) ? ans : "?");
		break;
	}
	case E7_DRAIN: {
		/* The other end reads until the send returned and all is in. */
		static char sink7[65536];
		long got = 0;
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ms_since(&t0) < WAIT_MS) {
			ssize_t n = recv(other, sink7, sizeof(sink7), MSG_DONTWAIT);

			if (n > 0)
				got += n;
			else if (blk7_done(&b) && b.r >= 0 && got >= b.r)
				break;
			else if (blk7_done(&b) && b.r < 0)
				break;
			else
				poll1(other, POLLIN, 2);
		}
		emit("drain=%s", blk7_done(&b) && b.r >= 0 && got == b.r ? "all" : "?");
		break;
	}
	case E7_SIG:
		if (rnd(2) || sigmode == 2) {
			emit("kill(%d)", sigmode);
			pthread_kill(th, SIGALRM);
		} else {
			struct itimerval it = { { 0, 0 }, { 0, 1000 } };
			struct timespec t0, d = { 0, 500000 };

			emit("itimer(%d)", sigmode);
			setitimer(ITIMER_REAL, &it, NULL);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			while (alrm_n == 0 && ms_since(&t0) < WAIT_MS)
				nanosleep(&d, NULL);
		}
		break;
	}
	if (ender_ends(kind, end7, e, sigmode, timeo, data_left, ndata)) {
		if (!blk7_join(&b))
			emit("~Tend");
	} else {
		blk7_settle(&b);
	}
	if (!blk7_done(&b) && ext7 && rnd(2))
		follow7(&b, kind, end7, e, other, data_left - ndata);
	if (!blk7_done(&b)) {
		emit("rescue");
		alrm_mode(0);
		pthread_kill(th, SIGALRM);
		if (!blk7_join(&b)) {
			emit("~Thang");
			end_line();
			_exit(0);
		}
	}
out:
	pthread_join(th, NULL);
	blk7_result(&b, timeo ? to_ms : -1);
	pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
	alrm_mode(2);
	close7();
}

static void run7(unsigned long seed)
{
	for (int i = (int)rnd(3) + 2; i > 0; i--)
		op_block7();
	rng = seed * 0x9e3779b97f4a7c15ull + 77;
	ext7 = true;
	op_block7();
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
	if (gen == 7) {
		run7(seed);
		end_line();
		exit(0);
	}
	if (gen >= 2)
		gen2_setup();
	if (gen == 6)
		g6_setup();
	else if (gen >= 4)
		g4_setup();
	nops = 5 + (int)rnd(16);
	for (int i = 0; i < nops; i++) {
		int w;

		tag[0] = 0;
		step_no = i;
		if (gen >= 4 && nfds == 0)
			break;
		if (gen >= 2) {
			if (gen == 6)
				gen6_op();
			else if (gen == 5)
				gen5_op();
			else if (gen == 4)
				gen4_op();
			else if (gen == 3)
				gen3_op();
			else
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
			if (gen < 1 || gen > 7) {
				fprintf(stderr, "fuzzseq: -g 1 to 7\n");
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
