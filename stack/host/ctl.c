/*
 * The control socket that `pstack stat` reads: what it is, who may use it
 * and what it costs are in ctl.h; the locking rules in stack/CONCURRENCY.md.
 *
 * A client's life: accepted (its credentials checked at once, SO_PEERCRED;
 * a stranger is closed unanswered), then CTL_READ until its request line is
 * in (at most CTL_REQ_MAX bytes), CTL_BUILD until the serving thread has
 * the lock again (ctl_collect builds the snapshot), CTL_WRITE until the
 * answer is out, CTL_DRAIN (our side shut down) until the client closes:
 * a Unix socket closed with bytes unread resets the peer, which would lose
 * the answer of a client that sent more than its request. Closed when
 * done, on any error, or at its deadline. Every fd is non-blocking: a
 * wakeup does one read or one write per client.
 */
#include "stack/host/ctl.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/dev/sysc.h"
#include "stack/wire/wire.h"

/* The system calls only this file makes (sysc.h has the shared ones). */
#define sys_listen(fd, n)           SYSC(SYS_listen, (fd), (n))
#define sys_accept4(fd, flags)      SYSC(SYS_accept4, (fd), NULL, NULL, (flags))
#define sys_getsockopt(fd, l, o, v, len) SYSC(SYS_getsockopt, (fd), (l), (o), (v), (len))
#define sys_mkdir(path, mode)       SYSC(SYS_mkdirat, AT_FDCWD, (path), (mode))
#define sys_lstat(path, st)         SYSC(SYS_newfstatat, AT_FDCWD, (path), (st), AT_SYMLINK_NOFOLLOW)
#define sys_stat(path, st)          SYSC(SYS_newfstatat, AT_FDCWD, (path), (st), 0)
#define sys_chmod(path, mode)       SYSC(SYS_fchmodat, AT_FDCWD, (path), (mode))
#define sys_unlink(path)            SYSC(SYS_unlinkat, AT_FDCWD, (path), 0)
#define sys_geteuid()               SYSC(SYS_geteuid)
#define sys_getpid()                SYSC(SYS_getpid)

/* A request line: the fixed word and its newline, with room to spare. */
#define CTL_REQ_MAX 64

enum ctl_state { CTL_FREE, CTL_READ, CTL_BUILD, CTL_WRITE, CTL_DRAIN };

struct ctl_client {
	enum ctl_state st;
	int fd;
	int pidx;                   /* its slot in the wait's pollfds (-1: none) */
	uint64_t deadline;
	char req[CTL_REQ_MAX];
	size_t req_len;
	char *out;                  /* the answer (malloc'd) */
	size_t out_len, out_off;
};

struct ctl {
	int lfd;
	int lidx;                   /* the listener's slot in the wait (-1: none) */
	uint32_t uid;               /* the stack's user: the socket's owner */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client cl[CTL_MAX_CLIENTS];
};

int ctl_default_dir(char *buf, size_t n, const char *xdg, uint32_t uid)
{
	struct stat st;
	int len;

	/* XDG's rule: the folder is the user's, mode 0700; one that is not
	 * (a root shell's XDG_RUNTIME_DIR kept by su or sudo) is ignored. */
	if (xdg && xdg[0] == '/' && sys_stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
		len = snprintf(buf, n, "%s/pstack", xdg);
	else
		len = snprintf(buf, n, "/tmp/pstack-%u", (unsigned)uid);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int ctl_prepare_dir(const char *dir, uint32_t uid, char *err, size_t errlen)
{
	struct stat st;
	long rc;

	rc = sys_mkdir(dir, 0700);
	if (rc == 0)
		sys_chmod(dir, 0700);       /* whatever the umask took away */
	else if (rc != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror((int)-rc));
		return (int)rc;
	}
	rc = sys_lstat(dir, &st);
	if (rc) {
		snprintf(err, errlen, "cannot check %s: %s", dir, strerror((int)-rc));
		return (int)rc;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s is a symbolic link, not a folder of the user's own", dir);
		return -ELOOP;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a folder", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != uid) {
		snprintf(err, errlen, "%s belongs to uid %u, not to uid %u", dir, (unsigned)st.st_uid, (unsigned)uid);
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700) {
		snprintf(err, errlen, "%s has mode %04o, not 0700", dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

bool ctl_peer_allowed(uint32_t peer_uid, uint32_t self_uid)
{
	return peer_uid == self_uid || peer_uid == 0;
}

int ctl_open(const char *dir, const struct ctl_host *host, struct ctl **out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct ctl *c;
	long rc, fd;
	int len;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->uid = (uint32_t)sys_geteuid();
	c->lidx = -1;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c->cl[i].fd = -1;
	rc = ctl_prepare_dir(dir, c->uid, err, errlen);
	if (rc)
		goto fail;
	len = snprintf(c->path, sizeof(c->path), "%s/%ld.sock", dir, host->pid);
	if (len < 0 || (size_t)len >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: the path is too long for a Unix socket", dir);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, (size_t)len + 1);
	/* A file of this name is a dead process's: live PIDs are unique (within
	 * a PID namespace; programs in another one that share this folder
	 * could collide, and the later one takes the name). */
	sys_unlink(c->path);
	fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "socket: %s", strerror((int)-rc));
		goto fail;
	}
	c->lfd = (int)fd;
	/* The folder keeps everyone else out already; 0600 says it twice. */
	if ((rc = sys_bind(c->lfd, &sa, sizeof(sa))) || (rc = sys_chmod(c->path, 0600)) ||
	    (rc = sys_listen(c->lfd, 16))) {
		snprintf(err, errlen, "%s: %s", c->path, strerror((int)-rc));
		sys_close(c->lfd);
		sys_unlink(c->path);
		goto fail;
	}
	c->lfd = sys_fd_hide(c->lfd);
	*out = c;
	return 0;
fail:
	free(c);
	return (int)rc;
}

void ctl_start(struct ctl_host *host, struct ctl **out)
{
	char dir[256], err[512];

	host->pid = sys_getpid();
	*out = NULL;
	if (ctl_default_dir(dir, sizeof(dir), secure_getenv("XDG_RUNTIME_DIR"), (uint32_t)sys_geteuid())) {
		log_warn("no control socket (pstack stat will not see this stack): XDG_RUNTIME_DIR is too long");
		return;
	}
	if (ctl_open(dir, host, out, err, sizeof(err)))
		log_warn("no control socket (pstack stat will not see this stack): %s", err);
	else
		log_debug("control socket %s", (*out)->path);
}

const char *ctl_path(const struct ctl *c)
{
	return c ? c->path : "";
}

static void ctl_drop(struct ctl_client *cl)
{
	sys_close(cl->fd);
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	cl->pidx = -1;
	cl->st = CTL_FREE;
}

/* ---- the snapshot: text built under the lock, no system call ---- */

struct ctl_buf {
	char *p;
	size_t len, cap;
	bool full;                  /* CTL_REPLY_MAX reached: the rest is left out */
	bool nomem;
};

static void buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full || b->nomem)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (b->cap >= CTL_REPLY_MAX) {
			b->full = true;
			return;
		}
		size_t cap = b->cap * 2 > CTL_REPLY_MAX ? CTL_REPLY_MAX : b->cap * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->nomem = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* ss's names for the states (misc/ss.c's sstate_name). */
static const char *ss_state(enum tcp_state st)
{
	static const char *const names[] = {
		[TCP_STATE_CLOSED] = "CLOSE", [TCP_STATE_LISTEN] = "LISTEN", [TCP_STATE_SYN_SENT] = "SYN-SENT",
		[TCP_STATE_SYN_RECEIVED] = "SYN-RECV", [TCP_STATE_ESTABLISHED] = "ESTAB",
		[TCP_STATE_FIN_WAIT_1] = "FIN-WAIT-1", [TCP_STATE_FIN_WAIT_2] = "FIN-WAIT-2",
		[TCP_STATE_CLOSE_WAIT] = "CLOSE-WAIT", [TCP_STATE_CLOSING] = "CLOSING",
		[TCP_STATE_LAST_ACK] = "LAST-ACK", [TCP_STATE_TIME_WAIT] = "TIME-WAIT",
	};

	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "UNKNOWN";
}

static const char *ep_text(const struct ip4_endpoint *ep, char *buf, size_t n)
{
	char a[16];

	if (ep->port)
		snprintf(buf, n, "%s:%u", ip4_ntoa(ep->addr, a), (unsigned)ep->port);
	else
		snprintf(buf, n, "%s:*", ip4_ntoa(ep->addr, a));
	return buf;
}

static void sock_line(struct ctl_buf *b, const char *proto, const char *state, size_t rq, size_t sq,
		      const struct ip4_endpoint *local, const struct ip4_endpoint *peer)
{
	char l[32], p[32];

	buf_printf(b, "%-5s %-10s %-8zu %-8zu %-21s %s\n", proto, state, rq, sq, ep_text(local, l, sizeof(l)),
		   ep_text(peer, p, sizeof(p)));
}

/* A rate in ss's way: bits per second with a unit. */
static void rate_text(uint64_t bytes_per_s, char *buf, size_t n)
{
	double bps = (double)bytes_per_s * 8;

	if (bps >= 1e9)
		snprintf(buf, n, "%.1fGbps", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(buf, n, "%.1fMbps", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(buf, n, "%.1fKbps", bps / 1e3);
	else
		snprintf(buf, n, "%.0fbps", bps);
}

/* The line under a connection, with ss -i's names and units (ms for times). */
static void tcp_info_line(struct ctl_buf *b, const struct tcp_conn *c, uint64_t now)
{
	struct tcp_conn_info i;
	char rate[24], ssthresh[24] = "";
	int algo = 0;

	tcp_get_info(c, &i, now);
	tcp_getopt(c, TCP_OPT_CONGESTION, &algo);
	/* The core keeps ssthresh in bytes ("infinite" until the first loss). */
	if (i.snd_ssthresh != UINT32_MAX)
		snprintf(ssthresh, sizeof(ssthresh), " ssthresh:%u", i.snd_ssthresh / (i.snd_mss ? i.snd_mss : 1));
	rate_text(i.delivery_rate, rate, sizeof(rate));
	buf_printf(b,
		   "\t %s%s%s%s wscale:%u,%u rto:%.0f rtt:%.3f/%.3f mss:%u pmtu:%u rcvmss:%u advmss:%u cwnd:%u%s"
		   " bytes_acked:%llu bytes_received:%llu segs_out:%u segs_in:%u retrans:%u/%u"
		   " lastsnd:%u lastrcv:%u lastack:%u delivery_rate %s\n",
		   algo ? "reno" : "cubic", i.options & 1 ? " ts" : "", i.options & 2 ? " sack" : "",
		   i.options & 8 ? " ecn" : "", i.snd_wscale, i.rcv_wscale, i.rto_us / 1000.0, i.rtt_us / 1000.0,
		   i.rttvar_us / 1000.0, i.snd_mss, i.pmtu, i.rcv_mss, i.advmss, i.snd_cwnd, ssthresh,
		   (unsigned long long)i.bytes_acked, (unsigned long long)i.bytes_received, i.segs_out, i.segs_in,
		   i.retrans, i.total_retrans, i.last_data_sent_ms, i.last_data_recv_ms, i.last_ack_recv_ms, rate);
}

/* Sockets are listed while the text is below this; the rest are counted. */
#define CTL_SOCKS_MAX (CTL_REPLY_MAX - 65536)

static void sockets(struct ctl_buf *b, struct stack *s, uint64_t now, unsigned *estab)
{
	unsigned more = 0;

	*estab = 0;
	buf_printf(b, "%-5s %-10s %-8s %-8s %-21s %s\n", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
		   "Peer Address:Port");
	for (const struct tcp_conn *c = tcp_conn_first(s); c; c = tcp_conn_next(s, c)) {
		enum tcp_state st = tcp_get_state(c);
		struct ip4_endpoint l, p = { 0, 0 };

		if (st == TCP_STATE_ESTABLISHED || st == TCP_STATE_CLOSE_WAIT)
			(*estab)++;      /* Linux's TcpCurrEstab */
		/* A socket that never connected, or whose connection is over. */
		if (st == TCP_STATE_CLOSED)
			continue;
		if (b->len > CTL_SOCKS_MAX) {
			more++;
			continue;
		}
		tcp_local(c, &l);
		if (st == TCP_STATE_LISTEN) {
			int backlog;
			unsigned q = tcp_acceptq_len(c, &backlog);

			sock_line(b, "tcp", "LISTEN", q, backlog > 0 ? (size_t)backlog : 0, &l, &p);
			continue;
		}
		tcp_peer(c, &p);
		sock_line(b, "tcp", ss_state(st), tcp_inq(c), tcp_outq(c), &l, &p);
		tcp_info_line(b, c, now);
	}
	for (const struct udp_sock *u = udp_sock_first(s); u; u = udp_sock_next(u)) {
		struct ip4_endpoint l, p = { 0, 0 };
		bool connected = udp_peer(u, &p) == 0;

		udp_local(u, &l);
		if (!connected && !l.port)
			continue;       /* neither bound nor connected: ss does not list it */
		if (b->len > CTL_SOCKS_MAX) {
			more++;
			continue;
		}
		sock_line(b, "udp", connected ? "ESTAB" : "UNCONN", udp_inq(u), 0, &l, &p);
	}
	if (more)
		buf_printf(b, "... and %u more sockets, not shown (the snapshot's limit)\n", more);
}

static uint64_t drops_of(const struct stack_stats *st, const enum drop_reason *r, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += st->drops[r[i]];
	return sum;
}

#define DROPS(st, ...) \
	drops_of((st), (const enum drop_reason[]){ __VA_ARGS__ }, \
		 sizeof((const enum drop_reason[]){ __VA_ARGS__ }) / sizeof(enum drop_reason))

static void counter(struct ctl_buf *b, const char *name, uint64_t v)
{
	buf_printf(b, "%-32s %llu\n", name, (unsigned long long)v);
}

/* "IP_BAD_CSUM" as "PstackDropIpBadCsum": nstat's style for pstack's own. */
static void drop_counter(struct ctl_buf *b, enum drop_reason r, uint64_t v)
{
	const char *n = drop_reason_name(r);
	char name[64] = "PstackDrop";
	size_t k = strlen(name);
	bool up = true;

	for (; *n && k + 1 < sizeof(name); n++) {
		if (*n == '_') {
			up = true;
			continue;
		}
		name[k++] = up ? *n : (char)(*n >= 'A' && *n <= 'Z' ? *n - 'A' + 'a' : *n);
		up = false;
	}
	name[k] = 0;
	counter(b, name, v);
}

/*
 * The counters, with Linux's SNMP and netstat names (nstat -a) where the
 * counter is the same thing, pstack's own (Pstack...) for the rest.
 */
static void counters(struct ctl_buf *b, const struct stack *s, const struct ctl_host *host, unsigned estab)
{
	const struct stack_stats *st = stack_stats(s);
	uint64_t dropped = 0, malformed;

	for (int r = 0; r < DROP__COUNT; r++)
		dropped += st->drops[r];
	malformed = DROPS(st, DROP_ETH_TRUNCATED, DROP_ARP_TRUNCATED, DROP_IP_TRUNCATED, DROP_IP_BAD_VERSION,
			  DROP_IP_BAD_IHL, DROP_IP_BAD_LENGTH, DROP_IP_BAD_CSUM, DROP_ICMP_TRUNCATED, DROP_ICMP_BAD_CSUM,
			  DROP_UDP_TRUNCATED, DROP_UDP_BAD_LENGTH, DROP_UDP_BAD_CSUM, DROP_TCP_TRUNCATED,
			  DROP_TCP_BAD_OFFSET, DROP_TCP_BAD_CSUM, DROP_TCP_TOO_LONG, DROP_TCP_BAD_OPTIONS,
			  DROP_FRAME_TOO_LONG);
	buf_printf(b, "Counters\n");
	counter(b, "IpInReceives", st->ip_in);
	counter(b, "IpInHdrErrors", DROPS(st, DROP_IP_TRUNCATED, DROP_IP_BAD_VERSION, DROP_IP_BAD_IHL, DROP_IP_BAD_CSUM));
	counter(b, "IpInAddrErrors", DROPS(st, DROP_IP_NOT_FOR_US, DROP_IP_BAD_SOURCE));
	counter(b, "IpInUnknownProtos", st->drops[DROP_IP_UNKNOWN_PROTO]);
	counter(b, "IpOutRequests", st->ip_out);
	counter(b, "IpOutNoRoutes", st->drops[DROP_IP_NO_ROUTE]);
	counter(b, "IpReasmOKs", st->ip_reassembled);
	counter(b, "IpFragCreates", st->ip_frag_out);
	counter(b, "IpExtInTruncatedPkts", st->drops[DROP_IP_BAD_LENGTH]);
	counter(b, "IcmpInMsgs", st->icmp_in);
	counter(b, "IcmpInCsumErrors", st->drops[DROP_ICMP_BAD_CSUM]);
	counter(b, "IcmpOutMsgs", st->icmp_out);
	counter(b, "TcpActiveOpens", st->tcp_active_opens);
	counter(b, "TcpPassiveOpens", st->tcp_passive_opens);
	counter(b, "TcpCurrEstab", estab);
	counter(b, "TcpInSegs", st->tcp_in);
	/* Linux's OutSegs leaves retransmissions out (RFC 1213's tcpOutSegs). */
	counter(b, "TcpOutSegs", st->tcp_out > st->tcp_retransmits ? st->tcp_out - st->tcp_retransmits : 0);
	counter(b, "TcpRetransSegs", st->tcp_retransmits);
	counter(b, "TcpInErrs", DROPS(st, DROP_TCP_TRUNCATED, DROP_TCP_BAD_OFFSET, DROP_TCP_BAD_CSUM,
				      DROP_TCP_BAD_OPTIONS));
	counter(b, "TcpInCsumErrors", st->drops[DROP_TCP_BAD_CSUM]);
	counter(b, "TcpExtTCPTimeouts", st->tcp_timeouts);
	counter(b, "TcpExtListenOverflows", st->drops[DROP_TCP_LISTEN_OVERFLOW]);
	counter(b, "TcpExtPAWSEstab", st->drops[DROP_TCP_PAWS]);
	counter(b, "UdpInDatagrams", st->udp_in);
	counter(b, "UdpNoPorts", st->drops[DROP_UDP_NO_SOCKET]);
	counter(b, "UdpInErrors", DROPS(st, DROP_UDP_TRUNCATED, DROP_UDP_BAD_LENGTH, DROP_UDP_BAD_CSUM,
					DROP_UDP_RCVBUF_FULL));
	counter(b, "UdpOutDatagrams", st->udp_out);
	counter(b, "UdpRcvbufErrors", st->drops[DROP_UDP_RCVBUF_FULL]);
	counter(b, "UdpInCsumErrors", st->drops[DROP_UDP_BAD_CSUM]);
	counter(b, "PstackTapRxFrames", st->frames_in);
	counter(b, "PstackTapTxFrames", st->frames_out);
	counter(b, "PstackArpIn", st->arp_in);
	counter(b, "PstackArpOut", st->arp_out);
	counter(b, "PstackFramesDropped", dropped);
	counter(b, "PstackMalformedFrames", malformed);
	counter(b, "PstackRelays", host->relays);
	for (int r = 0; r < DROP__COUNT; r++)
		if (st->drops[r])
			drop_counter(b, (enum drop_reason)r, st->drops[r]);
}

char *ctl_snapshot(struct stack *s, const struct ctl_host *host, uint64_t now, size_t *len)
{
	const struct stack_config *cfg = stack_config(s);
	struct ctl_buf b = { .cap = 16384 };
	char a[16], g[16];
	uint64_t up = now > host->started ? now - host->started : 0;
	unsigned estab;

	if (!(b.p = malloc(b.cap)))
		return NULL;
	buf_printf(&b, "pstack %ld: %s %s/%u gateway %s mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u up %llu.%03us\n",
		   host->pid, host->dev, ip4_ntoa(cfg->addr, a), cfg->prefix_len,
		   cfg->gateway ? ip4_ntoa(cfg->gateway, g) : "none", cfg->mac[0], cfg->mac[1], cfg->mac[2],
		   cfg->mac[3], cfg->mac[4], cfg->mac[5], stack_mtu(s), (unsigned long long)(up / 1000000),
		   (unsigned)(up % 1000000 / 1000));
	sockets(&b, s, now, &estab);
	counters(&b, s, host, estab);
	if (b.full) {
		/* The end of the text says it was cut, within the cap. */
		static const char cut[] = "... (cut: the snapshot is larger than its limit)\n";

		b.len = b.len + sizeof(cut) - 1 <= b.cap ? b.len : b.cap - (sizeof(cut) - 1);
		memcpy(b.p + b.len, cut, sizeof(cut) - 1);
		b.len += sizeof(cut) - 1;
	}
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- serving the clients ---- */

unsigned ctl_collect(struct ctl *c, struct stack *s, const struct ctl_host *host, struct pollfd *pfd,
		     uint64_t now, uint64_t *at)
{
	unsigned n = 0;
	bool room = false, built = false;

	if (!c)
		return 0;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];

		cl->pidx = -1;
		if (cl->st == CTL_FREE) {
			room = true;
			continue;
		}
		/* One snapshot per wakeup: the lock is held while it is built. */
		if (cl->st == CTL_BUILD && built) {
			*at = now;          /* the next one at the next pass, without a wait */
			continue;
		}
		if (cl->st == CTL_BUILD) {
			cl->out = ctl_snapshot(s, host, now, &cl->out_len);
			cl->out_off = 0;
			cl->st = CTL_WRITE;
			if (!cl->out)
				cl->out_len = 0;     /* out of memory: closed unanswered */
			built = true;
		}
		if (cl->deadline < *at)
			*at = cl->deadline;
		cl->pidx = (int)n;
		pfd[n].fd = cl->fd;
		pfd[n].events = cl->st == CTL_WRITE ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	/* Full: the kernel's backlog keeps the next ones until a slot frees. */
	c->lidx = room ? (int)n : -1;
	if (room) {
		pfd[n].fd = c->lfd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* The request line is in: the one word, or an answer that says what is wrong. */
static void ctl_request(struct ctl_client *cl)
{
	static const char bad[] = "error: unknown request (expected \"stat\")\n";

	if (cl->req_len == sizeof(CTL_REQUEST) - 1 && !memcmp(cl->req, CTL_REQUEST, cl->req_len)) {
		cl->st = CTL_BUILD;
		return;
	}
	cl->out = malloc(sizeof(bad) - 1);
	cl->out_len = cl->out ? sizeof(bad) - 1 : 0;
	if (cl->out)
		memcpy(cl->out, bad, sizeof(bad) - 1);
	cl->out_off = 0;
	cl->st = CTL_WRITE;
}

/* One read: true while the client stays. */
static bool ctl_read(struct ctl_client *cl)
{
	long n = sys_read(cl->fd, cl->req + cl->req_len, sizeof(cl->req) - cl->req_len);
	char *nl;

	if (n == -EAGAIN || n == -EINTR)
		return true;
	if (n <= 0)
		return false;           /* gone before its request */
	nl = memchr(cl->req + cl->req_len, '\n', (size_t)n);
	cl->req_len += (size_t)n;
	if (nl)
		cl->req_len = (size_t)(nl - cl->req) + 1;   /* one request: what follows is ignored */
	else if (cl->req_len < sizeof(cl->req))
		return true;
	ctl_request(cl);
	return true;
}

/* One write: true while there is more to write. */
static bool ctl_write(struct ctl_client *cl)
{
	long n;

	if (cl->out_off >= cl->out_len)
		return false;
	n = sys_sendto(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL | MSG_DONTWAIT, NULL,
		       0);
	if (n == -EAGAIN || n == -EINTR)
		return true;
	if (n <= 0)
		return false;
	cl->out_off += (size_t)n;
	if (cl->out_off < cl->out_len)
		return true;
	sys_shutdown(cl->fd, SHUT_WR);
	cl->st = CTL_DRAIN;
	return true;
}

/* One read of what the client sent beyond its request, thrown away: true until it closes. */
static bool ctl_drain(struct ctl_client *cl)
{
	char junk[4096];
	long n = sys_read(cl->fd, junk, sizeof(junk));

	return n > 0 || n == -EAGAIN || n == -EINTR;
}

static void ctl_accept(struct ctl *c, uint64_t now)
{
	unsigned refused = 0;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		long fd;

		if (cl->st != CTL_FREE)
			continue;
		fd = sys_accept4(c->lfd, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;             /* EAGAIN: no more; others: the next wakeup tries again */
		if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || clen != sizeof(cred) ||
		    !ctl_peer_allowed(cred.uid, c->uid)) {
			log_debug("control socket: closed a connection from uid %u (pid %d) without an answer: "
				  "not the stack's user (uid %u) nor root",
				  clen == sizeof(cred) ? (unsigned)cred.uid : ~0u, clen == sizeof(cred) ? cred.pid : 0,
				  (unsigned)c->uid);
			sys_close(fd);
			if (++refused < 16)
				i--;        /* the slot is still free; the next wakeup takes the rest */
			continue;
		}
		cl->fd = (int)fd;
		cl->st = CTL_READ;
		cl->deadline = now + CTL_DEADLINE_US;
		cl->req_len = 0;
		cl->out = NULL;
		cl->out_len = cl->out_off = 0;
	}
}

void ctl_io(struct ctl *c, struct pollfd *pfd, unsigned n, uint64_t now)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];
		short rev = cl->pidx >= 0 && (unsigned)cl->pidx < n ? pfd[cl->pidx].revents : 0;
		bool keep = true;

		if (cl->st == CTL_FREE)
			continue;
		if (cl->st == CTL_READ && (rev & (POLLIN | POLLHUP | POLLERR)))
			keep = ctl_read(cl);
		else if (cl->st == CTL_WRITE && (rev & (POLLOUT | POLLHUP | POLLERR)))
			keep = ctl_write(cl);
		else if (cl->st == CTL_WRITE && cl->out_off >= cl->out_len)
			keep = false;       /* nothing to say (out of memory) */
		else if (cl->st == CTL_DRAIN && (rev & (POLLIN | POLLHUP | POLLERR)))
			keep = ctl_drain(cl);
		if (keep && now >= cl->deadline) {
			log_debug("control socket: a client took longer than %u ms; closed",
				  CTL_DEADLINE_US / 1000);
			keep = false;
		}
		if (!keep)
			ctl_drop(cl);
	}
	if (c->lidx >= 0 && (unsigned)c->lidx < n && (pfd[c->lidx].revents & POLLIN))
		ctl_accept(c, now);
}

void ctl_fork_child(struct ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i].st != CTL_FREE)
			sys_close(c->cl[i].fd);
	sys_fd_forget(c->lfd);
	sys_close(c->lfd);
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i].st != CTL_FREE)
			ctl_drop(&c->cl[i]);
	sys_fd_forget(c->lfd);
	sys_close(c->lfd);
	sys_unlink(c->path);
	free(c);
}
