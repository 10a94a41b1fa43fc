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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/dev/sysc.h"
#include "stack/host/relay.h"
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
#define sys_connect(fd, sa, len)    SYSC(SYS_connect, (fd), (sa), (len))

/* A request: the stat line with room to spare, or a joiner's request. */
#define CTL_REQ_MAX (sizeof(struct ctl_join_req) > 64 ? sizeof(struct ctl_join_req) : 64)

enum ctl_state {
	CTL_FREE, CTL_READ, CTL_BUILD, CTL_WRITE, CTL_DRAIN,
	CTL_JOIN, CTL_CONNWAIT, CTL_FILL, CTL_RELAY,     /* a joiner's (above) */
	CTL_HANDOVER,               /* a handover asked while the program still exits (ctl.h) */
};

struct ctl_client {
	enum ctl_state st;
	int fd;
	int pidx;                   /* its slot in the wait's pollfds (-1: none) */
	uint32_t uid;               /* the peer's */
	/* A process of another user that descends from a root stack's
	 * program (ctl_child_allowed): it may join; low: it may use ports
	 * below 1024 (CAP_NET_BIND_SERVICE). */
	bool child, child_low;
	uint64_t deadline;
	union {
		char req[CTL_REQ_MAX];
		struct ctl_join_req join;
	};
	size_t req_len;
	char *out;                  /* the answer (malloc'd) */
	size_t out_len, out_off;
	/* A handover's answer: fds that go with its first byte (the device's
	 * queues; the runner's, not closed here). */
	int pass[CTL_HAND_FDS_MAX];
	unsigned npass;
	/* A joiner's: the pair's end that came with the request (-1: none,
	 * or the relay's now), the connection while it is made, the filler
	 * left to read, the connection's callback. */
	int jfd;
	struct tcp_conn *tcp;
	uint32_t fill_left;
	struct sock_wakeup wake;
	struct relay_set *rset;
};

/* The listeners: PID.sock, NAME.stack, the abstract name, the TAP's handover name. */
enum { CTL_L_PID, CTL_L_NAME, CTL_L_ABSTRACT, CTL_L_TAP };

struct ctl {
	int lfd[CTL_NLISTEN];       /* -1: none */
	int lidx[CTL_NLISTEN];      /* the listeners' slots in the wait (-1: none) */
	uint32_t uid;               /* the stack's user: the socket's owner */
	pid_t pid;                  /* the program's, whose descendants may join */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char name_path[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* "" without PSTACK_STACK */
	struct ctl_client cl[CTL_MAX_CLIENTS];
	bool handover;              /* a handover's answer is built (ctl_handing_over) */
	bool handover_fds;          /* and gives the device's queues */
};

/* ---- joiners' requests (ctl.h) ---- */

void ctl_join_req_init(struct ctl_join_req *r, enum ctl_join_op op)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->word, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1);
	r->size = sizeof(*r);
	r->op = op;
}

static bool join_word(const char word[16])
{
	char want[16] = { 0 };

	memcpy(want, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1);
	return memcmp(word, want, sizeof(want)) == 0;
}

int ctl_join_req_check(const struct ctl_join_req *r, size_t len)
{
	if (len != sizeof(*r) || !join_word(r->word) || r->size != sizeof(*r))
		return -EINVAL;
	if (r->op != CTL_JOIN_LISTEN && r->op != CTL_JOIN_CONNECT && r->op != CTL_JOIN_DGRAM)
		return -EINVAL;
	if (r->filler > CTL_JOIN_FILLER_MAX || (r->op != CTL_JOIN_CONNECT && r->filler))
		return -EINVAL;
	if (r->op == CTL_JOIN_CONNECT && (r->raddr == 0 || r->rport == 0))
		return -EINVAL;
	if (r->bound > 1)
		return -EINVAL;
	/* The options are applied as they are (tcp_set_opts): another
	 * process's bytes, checked as the setters would have. */
	if (tcp_opts_check(&r->opts))
		return -EINVAL;
	return 0;
}

int ctl_join_reply_check(const struct ctl_join_reply *r, size_t len)
{
	if (len != sizeof(*r) || !join_word(r->word) || r->err > 0 || r->err < -4095)
		return -EINVAL;
	return 0;
}

int ctl_stack_path(char *buf, size_t n, const char *dir, const char *name, uint64_t netns)
{
	int len = snprintf(buf, n, "%s/%s.%llu.stack", dir, name, (unsigned long long)netns);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

uint64_t ctl_netns(void)
{
	struct stat st;

	return sys_stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

socklen_t ctl_stack_abstract(struct sockaddr_un *sa, const char *name)
{
	int len;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] stays 0: the abstract namespace (unix(7)). */
	len = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "pstack-stack/%s", name);
	if (len < 0 || (size_t)len >= sizeof(sa->sun_path) - 1)
		len = (int)sizeof(sa->sun_path) - 2;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

socklen_t ctl_tap_abstract(struct sockaddr_un *sa, const char *dev)
{
	int len;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	len = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "pstack-tap/%s", dev);
	if (len < 0 || (size_t)len >= sizeof(sa->sun_path) - 1)
		len = (int)sizeof(sa->sun_path) - 2;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
}

bool ctl_join_allowed(uint32_t peer_uid, uint32_t self_uid)
{
	return peer_uid == self_uid;
}

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

/* Reads the user's secret at path: a regular file of the user's, mode
 * 0600 or stricter, of n bytes. 0, -ENOENT, or another -errno. */
static int secret_read(const char *path, uint32_t uid, uint8_t *out, size_t n)
{
	struct stat st;
	size_t got = 0;
	long fd, rc;

	fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	rc = SYSC(SYS_fstat, fd, &st);
	if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) || st.st_size != (off_t)n))
		rc = -EPERM;
	while (rc == 0 && got < n) {
		long r = sys_read((int)fd, out + got, n - got);

		if (r == -EINTR)
			continue;
		if (r <= 0)
			rc = r < 0 ? r : -EIO;
		else
			got += (size_t)r;
	}
	sys_close((int)fd);
	return (int)rc;
}

int ctl_user_secret(const char *dir, uint32_t uid, uint8_t *out, size_t n, const uint8_t *fresh)
{
	char path[300], tmp[320];
	long fd, w;
	int rc;

	if (snprintf(path, sizeof(path), "%s/secret", dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/secret.%ld", dir, (long)sys_getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	rc = secret_read(path, uid, out, n);
	if (rc != -ENOENT)
		return rc;
	/* The first: written whole under a name of its own, then linked in
	 * (a link never replaces: of two firsts, the later reads the
	 * earlier's). */
	sys_unlink(tmp);
	fd = sys_openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return (int)fd;
	w = sys_write((int)fd, fresh, n);
	sys_close((int)fd);
	rc = w == (long)n ? (int)SYSC(SYS_linkat, AT_FDCWD, tmp, AT_FDCWD, path, 0) : (w < 0 ? (int)w : -EIO);
	sys_unlink(tmp);
	if (rc && rc != -EEXIST)
		return rc;
	return secret_read(path, uid, out, n);
}

bool ctl_peer_allowed(uint32_t peer_uid, uint32_t self_uid)
{
	return peer_uid == self_uid || peer_uid == 0;
}

/* One line of /proc/PID/FILE that starts with key: its rest, or false. */
static bool proc_field(pid_t pid, const char *file, const char *key, char *out, size_t n)
{
	char path[64], buf[4096], *p;
	long fd, len;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	len = sys_read((int)fd, buf, sizeof(buf) - 1);
	sys_close((int)fd);
	if (len <= 0)
		return false;
	buf[len] = 0;
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, strlen(key))) {
			snprintf(out, n, "%s", p + strlen(key));
			return true;
		}
	}
	return false;
}

bool ctl_descends(pid_t pid, pid_t ancestor)
{
	char v[64];
	long pp;

	if (ancestor <= 1)
		return false;
	for (int i = 0; i < 64 && pid > 1; i++) {
		if (pid == ancestor)
			return true;
		if (!proc_field(pid, "status", "PPid:", v, sizeof(v)) || sscanf(v, "%ld", &pp) != 1)
			return false;
		pid = (pid_t)pp;
	}
	return false;
}

bool ctl_child_allowed(pid_t peer, pid_t program, uint32_t self_uid)
{
	return self_uid == 0 && ctl_descends(peer, program);
}

bool ctl_cap_bind_low(pid_t pid)
{
	char v[64];
	unsigned long long caps;

	return proc_field(pid, "status", "CapEff:", v, sizeof(v)) && sscanf(v, "%llx", &caps) == 1 &&
	       (caps >> 10 & 1);        /* CAP_NET_BIND_SERVICE */
}

/* A listening Unix socket at sa, hidden among the library's fds: its fd,
 * or -errno. A filesystem path is made 0600. */
static long ctl_listen(const struct sockaddr_un *sa, socklen_t salen, const char *path)
{
	long rc, fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	/* The folder keeps everyone else out already; 0600 says it twice.
	 * The backlog holds more than every client slot: the next ones wait
	 * there until a slot frees (a joiner's connects come in bursts). */
	if ((rc = sys_bind(fd, sa, salen)) || (path && (rc = sys_chmod(path, 0600))) || (rc = sys_listen(fd, 64))) {
		sys_close(fd);
		if (path && rc != -EADDRINUSE)
			sys_unlink(path);
		return rc;
	}
	return sys_fd_hide((int)fd);
}

static int ctl_path_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	if (len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
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
	c->pid = (pid_t)sys_getpid();
	for (int i = 0; i < CTL_NLISTEN; i++)
		c->lfd[i] = c->lidx[i] = -1;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c->cl[i].fd = c->cl[i].jfd = -1;
	rc = ctl_prepare_dir(dir, c->uid, err, errlen);
	if (rc)
		goto fail;
	len = snprintf(c->path, sizeof(c->path), "%s/%ld.sock", dir, host->pid);
	if (len < 0 || (size_t)len >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: the path is too long for a Unix socket", dir);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	(void)ctl_path_addr(&sa, c->path);
	/* A file of this name is a dead process's: live PIDs are unique (within
	 * a PID namespace; programs in another one that share this folder
	 * could collide, and the later one takes the name). */
	sys_unlink(c->path);
	fd = ctl_listen(&sa, sizeof(sa), c->path);
	if (fd < 0) {
		rc = fd;
		snprintf(err, errlen, "%s: %s", c->path, strerror((int)-rc));
		goto fail;
	}
	c->lfd[CTL_L_PID] = (int)fd;
	if (host->stack_name[0]) {
		/* The joiners' path. A file left there is a dead owner's: the
		 * process that starts a named stack asked it first (shim/join.c)
		 * and found nobody answering. */
		if (ctl_stack_path(c->name_path, sizeof(c->name_path), dir, host->stack_name, ctl_netns()) ||
		    ctl_path_addr(&sa, c->name_path)) {
			c->name_path[0] = 0;
			log_warn("PSTACK_STACK=%s: %s: the path is too long for a Unix socket; no process can join",
				 host->stack_name, dir);
		} else {
			sys_unlink(c->name_path);
			fd = ctl_listen(&sa, sizeof(sa), c->name_path);
			if (fd < 0) {
				log_warn("PSTACK_STACK=%s: %s: %s; no process can join", host->stack_name,
					 c->name_path, strerror((int)-fd));
				c->name_path[0] = 0;
			} else {
				c->lfd[CTL_L_NAME] = (int)fd;
			}
		}
		fd = ctl_listen(&sa, ctl_stack_abstract(&sa, host->stack_name), NULL);
		if (fd < 0)
			log_warn("PSTACK_STACK=%s: the name's abstract socket: %s (another stack of this name in "
				 "this network namespace?)", host->stack_name, strerror((int)-fd));
		else
			c->lfd[CTL_L_ABSTRACT] = (int)fd;
	}
	/* The handover's name (ctl.h): the device is this stack's alone, and
	 * so is the name; a stack that handed the device over closed it
	 * before its answer. */
	if (host->dev && host->dev[0]) {
		fd = ctl_listen(&sa, ctl_tap_abstract(&sa, host->dev), NULL);
		if (fd < 0)
			log_debug("%s: the handover's abstract socket: %s; a program started while this stack "
				  "outlives its own waits for the device", host->dev, strerror((int)-fd));
		else
			c->lfd[CTL_L_TAP] = (int)fd;
	}
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

/* No lock, or the lock held with cl->tcp NULL. */
static void ctl_drop(struct ctl_client *cl)
{
	sys_close(cl->fd);
	if (cl->jfd >= 0) {
		sys_fd_forget(cl->jfd);
		sys_close(cl->jfd);
	}
	free(cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	cl->jfd = -1;
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
	char rate[24], ssthresh[24] = "", ato[24] = "", unacked[24] = "", limits[160] = "", reord[64] = "";
	int algo = 0, n = 0;

	tcp_get_info(c, &i, now);
	tcp_getopt(c, TCP_OPT_CONGESTION, &algo);
	/* In segments, as ss shows it: not while "infinite" (until the first loss). */
	if (i.snd_ssthresh < 0xffff)
		snprintf(ssthresh, sizeof(ssthresh), " ssthresh:%u", i.snd_ssthresh);
	/* ss shows these only when they are not zero. */
	if (i.ato_us)
		snprintf(ato, sizeof(ato), " ato:%.0f", i.ato_us / 1000.0);
	if (i.unacked)
		snprintf(unacked, sizeof(unacked), " unacked:%u", i.unacked);
	/* ss -i's busy, rwnd_limited and sndbuf_limited (ms, the share of busy). */
	if (i.busy_us) {
		n = snprintf(limits, sizeof(limits), " busy:%llums", (unsigned long long)(i.busy_us / 1000));
		if (i.rwnd_limited_us && n > 0 && (size_t)n < sizeof(limits))
			n += snprintf(limits + n, sizeof(limits) - (size_t)n, " rwnd_limited:%llums(%.1f%%)",
				      (unsigned long long)(i.rwnd_limited_us / 1000),
				      100.0 * (double)i.rwnd_limited_us / (double)i.busy_us);
		if (i.sndbuf_limited_us && n > 0 && (size_t)n < sizeof(limits))
			snprintf(limits + n, sizeof(limits) - (size_t)n, " sndbuf_limited:%llums(%.1f%%)",
				 (unsigned long long)(i.sndbuf_limited_us / 1000),
				 100.0 * (double)i.sndbuf_limited_us / (double)i.busy_us);
	}
	if (i.reord_seen)
		snprintf(reord, sizeof(reord), " reordering:%u reord_seen:%u", i.reordering, i.reord_seen);
	rate_text(i.delivery_rate, rate, sizeof(rate));
	buf_printf(b,
		   "\t %s%s%s%s wscale:%u,%u rto:%.0f rtt:%.3f/%.3f%s mss:%u pmtu:%u rcvmss:%u advmss:%u cwnd:%u%s"
		   " bytes_acked:%llu bytes_received:%llu segs_out:%u segs_in:%u%s retrans:%u/%u"
		   " lastsnd:%u lastrcv:%u lastack:%u delivery_rate %s delivered:%u%s%s rcv_space:%u rcv_ssthresh:%u"
		   " minrtt:%.3f snd_wnd:%u rcv_wnd:%u skmem:(r%llu,rb%llu,tb%llu,w%llu)\n",
		   algo ? "reno" : "cubic", i.options & 1 ? " ts" : "", i.options & 2 ? " sack" : "",
		   i.options & 8 ? " ecn" : "", i.snd_wscale, i.rcv_wscale, i.rto_us / 1000.0, i.rtt_us / 1000.0,
		   i.rttvar_us / 1000.0, ato, i.snd_mss, i.pmtu, i.rcv_mss, i.advmss, i.snd_cwnd, ssthresh,
		   (unsigned long long)i.bytes_acked, (unsigned long long)i.bytes_received, i.segs_out, i.segs_in,
		   unacked, i.retrans, i.total_retrans, i.last_data_sent_ms, i.last_data_recv_ms, i.last_ack_recv_ms,
		   rate, i.delivered, limits, reord, i.rcv_space, i.rcv_ssthresh, i.min_rtt_us / 1000.0, i.snd_wnd,
		   i.rcv_wnd, (unsigned long long)i.rmem, (unsigned long long)i.rcvbuf, (unsigned long long)i.sndbuf,
		   (unsigned long long)i.wmem);
}

/* Sockets are listed while the text is below this; the rest are counted. */
#define CTL_SOCKS_MAX (CTL_REPLY_MAX - 65536)

static void sockets(struct ctl_buf *b, struct stack *s, uint64_t now, unsigned *estab)
{
	unsigned more = 0;

	*estab = 0;
	/* The TIME_WAIT records a handover brought are listed as connections. */
	tcp_tw_take_all(s, now);
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
	counter(b, "IpInHdrErrors", DROPS(st, DROP_IP_TRUNCATED, DROP_IP_BAD_VERSION, DROP_IP_BAD_IHL, DROP_IP_BAD_CSUM,
					       DROP_IP_BAD_OPTIONS));
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
	counter(b, "TcpExtTCPHystartTrainDetect", st->tcp_hystart_train);
	counter(b, "TcpExtTCPHystartTrainCwnd", st->tcp_hystart_train_cwnd);
	counter(b, "TcpExtTCPHystartDelayDetect", st->tcp_hystart_delay);
	counter(b, "TcpExtTCPHystartDelayCwnd", st->tcp_hystart_delay_cwnd);
	counter(b, "TcpExtTCPFullUndo", st->tcp_full_undo);
	counter(b, "TcpExtTCPPartialUndo", st->tcp_partial_undo);
	counter(b, "TcpExtTCPDSACKUndo", st->tcp_dsack_undo);
	counter(b, "TcpExtTCPLossUndo", st->tcp_loss_undo);
	counter(b, "TcpExtTCPSpuriousRTOs", st->tcp_spurious_rtos);
	counter(b, "TcpExtListenOverflows", st->drops[DROP_TCP_LISTEN_OVERFLOW]);
	counter(b, "TcpExtPAWSEstab", st->drops[DROP_TCP_PAWS]);
	counter(b, "TcpExtPAWSActive", st->drops[DROP_TCP_PAWS_ACTIVE]);
	counter(b, "TcpExtPAWSOldAck", st->drops[DROP_TCP_PAWS_OLD_ACK]);
	counter(b, "UdpInDatagrams", st->udp_in);
	counter(b, "UdpNoPorts", st->drops[DROP_UDP_NO_SOCKET]);
	counter(b, "UdpInErrors", DROPS(st, DROP_UDP_TRUNCATED, DROP_UDP_BAD_LENGTH, DROP_UDP_BAD_CSUM,
					DROP_UDP_RCVBUF_FULL, DROP_UDP_FILTERED));
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
	counter(b, "PstackTcpRxKept", st->tcp_rx_kept);
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

/* A joiner's connection's callback (lock held, any thread): the serving
 * thread looks at it again (the relays' kick wakes it). */
void ctl_join_err_name(int fd, int err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int n;

	if (fd < 0 || err >= 0 || sys_fstat(fd, &st) < 0)
		return;
	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, CTL_JOIN_ERR_FMT, (unsigned long long)st.st_ino, -err);
	/* Not named (the name taken, which an inode of a live socket never
	 * is): the receiver says refused, the usual error. */
	if (n > 0 && (size_t)n < sizeof(a.sun_path) - 1)
		(void)sys_bind(fd, &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n));
}

int ctl_join_err_of(int fd)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	char name[sizeof(a.sun_path) + 1];
	unsigned long long ino;
	size_t l;
	int err, used = 0;

	if (sys_getpeername(fd, &a, &len) < 0 || a.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path) + 1 || len > sizeof(a) || a.sun_path[0] != '\0')
		return 0;
	l = len - offsetof(struct sockaddr_un, sun_path) - 1;
	memcpy(name, a.sun_path + 1, l);
	name[l] = '\0';
	if (sscanf(name, CTL_JOIN_ERR_FMT "%n", &ino, &err, &used) != 2 || used <= 0 || name[used] != '\0' || err <= 0 ||
	    err > 4095)
		return 0;
	return -err;
}

static void ctl_conn_wake(void *ctx)
{
	struct relay_set *set = ctx;

	set->kick(set->kick_ctx);
}

/* Lock held: the answer to a joiner, from the connection or listener made
 * (tcp, or NULL with err). */
static void join_answer(struct ctl_client *cl, const struct tcp_conn *tcp, int err, uint64_t now)
{
	struct ctl_join_reply *rep = calloc(1, sizeof(*rep));
	struct ip4_endpoint ep = { 0, 0 };
	int v;

	cl->st = CTL_WRITE;
	cl->deadline = now + CTL_DEADLINE_US;
	cl->out = (char *)rep;
	cl->out_len = rep ? sizeof(*rep) : 0;
	cl->out_off = 0;
	if (!rep)
		return;     /* out of memory: closed unanswered (the joiner says ECONNABORTED) */
	memcpy(rep->word, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1);
	rep->err = err;
	if (!tcp)
		return;
	tcp_local(tcp, &ep);
	rep->laddr = ep.addr;
	rep->lport = ep.port;
	if (tcp_peer(tcp, &ep) == 0) {
		rep->raddr = ep.addr;
		rep->rport = ep.port;
	}
	if (tcp_getopt(tcp, TCP_OPT_SO_RCVBUF, &v) == 0)
		rep->rcvbuf = v;
	if (tcp_getopt(tcp, TCP_OPT_SNDBUF, &v) == 0)
		rep->sndbuf = v;
}

/* Lock held: a connection under way, announced (ctl.h, CTL_JOIN_PROGRESS):
 * one small write to the request's connection, empty until now. Lost (it
 * never is), the joiner learns the address with the answer. */
static void join_progress(struct ctl_client *cl, const struct tcp_conn *tcp)
{
	struct ctl_join_reply rep;
	struct ip4_endpoint ep = { 0, 0 };

	memset(&rep, 0, sizeof(rep));
	memcpy(rep.word, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1);
	rep.err = CTL_JOIN_PROGRESS;
	tcp_local(tcp, &ep);
	rep.laddr = ep.addr;
	rep.lport = ep.port;
	(void)sys_sendto(cl->fd, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
}

/*
 * Lock held: a joiner's UDP socket (CTL_JOIN_DGRAM): bound as it asks, or
 * to a port of the stack's choosing, and served by a framed relay on the
 * pair's end that came with the request. The answer gives the address.
 */
static void join_dgram(struct ctl_client *cl, struct stack *s, const struct ctl_host *host, unsigned flags,
		       uint64_t now)
{
	const struct ctl_join_req *q = &cl->join;
	struct ip4_endpoint local = { q->bound ? q->laddr : 0, q->bound ? q->lport : 0 };
	struct ctl_join_reply *rep;
	struct udp_sock *u;
	int r;

	/* inet_bind's rule for ports below 1024, as for TCP (join_start). */
	if (cl->child && !cl->child_low && local.port && local.port < 1024) {
		join_answer(cl, NULL, -EACCES, now);
		return;
	}
	u = udp_open(s);
	if (!u) {
		join_answer(cl, NULL, -ENOBUFS, now);
		return;
	}
	udp_set_opts(u, &q->opts);
	r = udp_bind(u, &local, flags);
	if (r == 0 && !relay_open(host->rset, NULL, u, cl->jfd, false, NULL, NULL))
		r = -ENOMEM;
	if (r) {
		udp_close(u);
		join_answer(cl, NULL, r, now);
		return;
	}
	cl->jfd = -1;       /* the relay's, with the socket */
	join_answer(cl, NULL, 0, now);
	rep = (struct ctl_join_reply *)cl->out;
	if (rep) {
		udp_local(u, &local);
		rep->laddr = local.addr;
		rep->lport = local.port;
		rep->stack_addr = stack_config(s)->addr;
	}
	log_debug("control socket: a joiner (uid %u) has UDP port %u", (unsigned)cl->uid, (unsigned)local.port);
}

/* Lock held: the stack's part of a joiner's request. */
static void join_start(struct ctl_client *cl, struct stack *s, const struct ctl_host *host, uint64_t now)
{
	const struct ctl_join_req *q = &cl->join;
	struct ip4_endpoint local = { q->laddr, q->lport }, peer = { q->raddr, q->rport };
	struct sock_opts opts = q->opts;
	unsigned flags;
	struct tcp_conn *c = NULL;
	int r = 0;

	/* Linux shares a port through SO_REUSEPORT between sockets of one
	 * user only (inet_csk_bind_conflict's uid_eq): another user's child
	 * (ctl_child_allowed) shares none, so that it cannot take connections
	 * from the stack user's listeners, nor they from its. */
	if (cl->child)
		opts.reuseport = false;
	flags = (opts.reuseaddr ? TCP_BIND_REUSEADDR : 0) | (opts.reuseport ? TCP_BIND_REUSEPORT : 0);

	if (!host->rset) {
		join_answer(cl, NULL, -ENOTSUP, now);
		return;
	}
	if (q->op == CTL_JOIN_DGRAM) {
		join_dgram(cl, s, host, flags, now);
		return;
	}
	/* A socket the child's parent bound before the fork, still bound and
	 * untouched: the child listens on it or connects from it, and both
	 * processes hold it (tcp_share), as the kernel's one socket. Its port
	 * was bound by the parent (root's below 1024 too). Gone or changed
	 * since (the parent closed it): a socket of the child's own, bound
	 * as it asks. */
	if (q->inherit && q->bound && (c = tcp_find_bound(s, &local, q->inherit)) != NULL) {
		tcp_share(c);
		tcp_set_opts(c, &opts);
	}
	/* Linux's inet_bind: a port below ip_unprivileged_port_start (1024)
	 * needs CAP_NET_BIND_SERVICE. The stack's own user is root; a child
	 * that dropped root is held to the rule here, where it cannot skip it. */
	if (!c && cl->child && !cl->child_low && q->lport && q->lport < 1024 &&
	    (q->bound || q->op == CTL_JOIN_LISTEN)) {
		join_answer(cl, NULL, -EACCES, now);
		return;
	}
	if (!c) {
		c = tcp_open(s);
		if (!c) {
			join_answer(cl, NULL, -ENOBUFS, now);
			return;
		}
		tcp_set_opts(c, &opts);
		if (q->bound || q->op == CTL_JOIN_LISTEN)
			r = tcp_bind(c, &local, flags);
	}
	if (r == 0 && q->op == CTL_JOIN_LISTEN) {
		r = tcp_listen(c, q->backlog < 0 ? 0 : q->backlog);
		/* The channel is the relay's from here on. */
		if (r == 0 && !relay_open(host->rset, c, NULL, cl->jfd, false, NULL, NULL))
			r = -ENOMEM;
		if (r == 0) {
			cl->jfd = -1;
			join_answer(cl, c, 0, now);
			log_debug("control socket: a joiner (uid %u) listens on port %u", (unsigned)cl->uid,
				  (unsigned)q->lport);
			return;
		}
	} else if (r == 0) {
		r = tcp_connect(c, &peer, now);
		if (r == -EINPROGRESS || r == 0) {
			join_progress(cl, c);
			cl->tcp = c;
			cl->fill_left = q->filler;
			cl->wake.fn = ctl_conn_wake;
			cl->wake.ctx = host->rset;
			tcp_set_wakeup(c, &cl->wake);
			cl->st = CTL_CONNWAIT;
			cl->deadline = UINT64_MAX;  /* the connection's own timers end the wait */
			return;
		}
	}
	tcp_close(c, now);
	join_answer(cl, NULL, r, now);
}

/* Lock held: a joiner's connection being made; *at lowered when the next
 * step needs no wait. */
static void join_step(struct ctl_client *cl, const struct ctl_host *host, uint64_t now, uint64_t *at)
{
	static const struct sock_wakeup none = { 0 };
	enum tcp_state st = tcp_get_state(cl->tcp);
	int err;

	if (cl->st == CTL_CONNWAIT) {
		if (st == TCP_STATE_SYN_SENT || st == TCP_STATE_SYN_RECEIVED)
			return;
		if (st != TCP_STATE_CLOSED) {
			cl->st = CTL_FILL;      /* the filler goes first, without the lock */
			*at = now;
			return;
		}
	}
	if (cl->st == CTL_RELAY && st != TCP_STATE_CLOSED) {
		/* The relay takes the connection (and its callback) and the pair. */
		if (relay_open(host->rset, cl->tcp, NULL, cl->jfd, false, NULL, NULL)) {
			cl->jfd = -1;
			join_answer(cl, cl->tcp, 0, now);
			cl->tcp = NULL;
			return;
		}
		(void)tcp_setopt(cl->tcp, TCP_OPT_LINGER, 0);
		err = -ENOMEM;
	} else {
		err = tcp_take_error(cl->tcp);
		if (!err)
			err = -ECONNREFUSED;
	}
	/* For a process the program's socket was passed to (ctl.h). */
	ctl_join_err_name(cl->jfd, err);
	tcp_set_wakeup(cl->tcp, &none);
	tcp_close(cl->tcp, now);
	cl->tcp = NULL;
	join_answer(cl, NULL, err, now);
}

#define CTL_BUSY_MAX 32             /* "busy 18446744073709551615\n" */

/* Lock held: a handover's answer, when the stack may give the device up;
 * "busy" when it will not; nothing yet while its program still exits. */
static void handover_step(struct ctl *c, struct ctl_client *cl, struct stack *s, const struct ctl_host *host,
			  uint64_t now)
{
	static const char busy[] = CTL_HANDOVER_BUSY;
	struct ctl_handover_hdr *h;
	size_t n, na, max = (CTL_REPLY_MAX - sizeof(*h) - CTL_HAND_ARP_MAX * sizeof(struct stack_arp_rec)) /
			    sizeof(struct tcp_tw_rec);

	if (host->may_hand_over && !c->handover) {
		n = tcp_tw_export(s, NULL, 0, now);
		if (n > max)
			n = max;    /* beyond what one answer holds: the newest are not handed over */
		na = stack_arp_export(s, NULL, 0, now);
		if (na > CTL_HAND_ARP_MAX)
			na = CTL_HAND_ARP_MAX;
		cl->out = malloc(sizeof(*h) + n * sizeof(struct tcp_tw_rec) + na * sizeof(struct stack_arp_rec));
		if (cl->out) {
			h = (struct ctl_handover_hdr *)(void *)cl->out;
			memset(h, 0, sizeof(*h));
			memcpy(h->word, CTL_HANDOVER_WORD, sizeof(CTL_HANDOVER_WORD) - 1);
			h->rec_size = sizeof(struct tcp_tw_rec);
			h->count = (uint32_t)n;
			cl->npass = host->hand_nfds <= CTL_HAND_FDS_MAX ? host->hand_nfds : 0;
			memcpy(cl->pass, host->hand_fds, cl->npass * sizeof(int));
			h->nfds = cl->npass;
			c->handover_fds = cl->npass != 0;
			tcp_tw_export(s, (struct tcp_tw_rec *)(void *)(cl->out + sizeof(*h)), n, now);
			h->arp_count = (uint32_t)stack_arp_export(
				s, (struct stack_arp_rec *)(void *)(cl->out + sizeof(*h) + n * sizeof(struct tcp_tw_rec)),
				na, now);
			if (h->arp_count > na)
				h->arp_count = (uint32_t)na;
			h->addr = stack_address(s);
			stack_mac(s, h->mac);
			cl->out_len = sizeof(*h) + n * sizeof(struct tcp_tw_rec) +
				      h->arp_count * sizeof(struct stack_arp_rec);
			cl->out_off = 0;
			cl->st = CTL_WRITE;
			c->handover = true;
			log_debug("handover: %zu connection(s) in TIME_WAIT or FIN_WAIT_2 go to the next stack on %s",
				  n, host->dev);
			return;
		}
	} else if (host->hand_over_soon && !c->handover) {
		return;     /* asked again at the next pass */
	}
	cl->out = malloc(CTL_BUSY_MAX);
	cl->out_len = 0;
	if (cl->out && host->hold_until > now) {
		/* How long it may still hold the device, rounded up (ctl.h). */
		uint64_t ms = (host->hold_until - now + 999) / 1000;

		cl->out_len = (size_t)snprintf(cl->out, CTL_BUSY_MAX, "busy %llu\n", (unsigned long long)ms);
	} else if (cl->out) {
		memcpy(cl->out, busy, sizeof(busy) - 1);
		cl->out_len = sizeof(busy) - 1;
	}
	cl->out_off = 0;
	cl->st = CTL_WRITE;
}

bool ctl_handing_over(const struct ctl *c)
{
	return c && c->handover;
}

bool ctl_handover_gives_fds(const struct ctl *c)
{
	return c && c->handover && c->handover_fds;
}

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
		if (cl->st == CTL_JOIN) {
			join_start(cl, s, host, now);
			/* What the stack did (a SYN in the transmit queue or in
			 * its own loop queue, a reset) is due now: the thread
			 * read its deadline and wrote its frames before this. */
			*at = now;
		}
		if (cl->st == CTL_CONNWAIT || cl->st == CTL_RELAY) {
			enum ctl_state was = cl->st;

			join_step(cl, host, now, at);
			if (cl->st != was)
				*at = now;      /* the same for a close's frames, a relay's start */
		}
		if (cl->st == CTL_HANDOVER) {
			handover_step(c, cl, s, host, now);
			if (cl->st == CTL_HANDOVER) {
				/* No fd: the program's end wakes the thread (its pidfd). */
				if (cl->deadline < *at)
					*at = cl->deadline;
				continue;
			}
		}
		if (cl->st == CTL_CONNWAIT)
			continue;           /* no fd: woken by the connection */
		if (cl->st == CTL_FILL) {
			*at = now;          /* ctl_io reads the filler after this wait, which does not wait */
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
	for (int l = 0; l < CTL_NLISTEN; l++) {
		c->lidx[l] = -1;
		if (!room || c->lfd[l] < 0)
			continue;
		c->lidx[l] = (int)n;
		pfd[n].fd = c->lfd[l];
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* The request is in: the stat line, a joiner's request, or an answer that
 * says what is wrong. */
static void ctl_request(struct ctl_client *cl, uint32_t self_uid)
{
	static const char bad[] = "error: unknown request (expected \"stat\")\n";

	if (cl->req_len == sizeof(CTL_REQUEST) - 1 && !memcmp(cl->req, CTL_REQUEST, cl->req_len)) {
		cl->st = CTL_BUILD;
		return;
	}
	if (cl->req_len == sizeof(CTL_HANDOVER_REQUEST) - 1 && !memcmp(cl->req, CTL_HANDOVER_REQUEST, cl->req_len) &&
	    ctl_join_allowed(cl->uid, self_uid)) {
		cl->st = CTL_HANDOVER;
		return;
	}
	if (ctl_join_req_check(&cl->join, cl->req_len) == 0 && cl->jfd >= 0 &&
	    (ctl_join_allowed(cl->uid, self_uid) || cl->child)) {
		cl->st = CTL_JOIN;
		return;
	}
	if (cl->jfd >= 0) {
		sys_fd_forget(cl->jfd);
		sys_close(cl->jfd);
		cl->jfd = -1;
	}
	cl->out = malloc(sizeof(bad) - 1);
	cl->out_len = cl->out ? sizeof(bad) - 1 : 0;
	if (cl->out)
		memcpy(cl->out, bad, sizeof(bad) - 1);
	cl->out_off = 0;
	cl->st = CTL_WRITE;
}

/* A joiner's request is this long and starts with its word. */
static bool join_partial(const struct ctl_client *cl)
{
	size_t k = cl->req_len < sizeof(CTL_JOIN_WORD) - 1 ? cl->req_len : sizeof(CTL_JOIN_WORD) - 1;

	return cl->req_len < sizeof(struct ctl_join_req) && !memcmp(cl->req, CTL_JOIN_WORD, k);
}

/* One read (with the fd a joiner's request brings): true while the client stays. */
static bool ctl_read(struct ctl_client *cl, uint32_t self_uid)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { cl->req + cl->req_len, sizeof(cl->req) - cl->req_len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	long n = sys_recvmsg(cl->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	char *nl;

	if (n == -EAGAIN || n == -EINTR)
		return true;
	for (cm = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; cm; cm = CMSG_NXTHDR(&m, cm)) {
		int fds[8], k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)(k > 8 ? 8 : k) * sizeof(int));
		for (int j = 0; j < k && j < 8; j++) {
			/* One fd per request; any other is closed. */
			if (cl->jfd < 0)
				cl->jfd = sys_fd_hide(fds[j]);
			else
				sys_close(fds[j]);
		}
	}
	if (n <= 0)
		return false;           /* gone before its request */
	cl->req_len += (size_t)n;
	if (join_partial(cl))
		return true;            /* more of a joiner's request to come */
	nl = memchr(cl->req, '\n', cl->req_len);
	if (cl->req_len >= sizeof(CTL_JOIN_WORD) - 1 && !memcmp(cl->req, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1))
		nl = NULL;              /* a whole joiner's request */
	else if (nl)
		cl->req_len = (size_t)(nl - cl->req) + 1;   /* one request: what follows is ignored */
	else if (cl->req_len < sizeof(CTL_REQUEST) + 64)
		return true;
	/* A descendant of another user (ctl_child_allowed) may join, and
	 * nothing else: anything else closes it unanswered, as a stranger. */
	if (cl->child && ctl_join_req_check(&cl->join, cl->req_len) != 0)
		return false;
	ctl_request(cl, self_uid);
	return true;
}

/* One write: true while there is more to write. */
static bool ctl_write(struct ctl_client *cl)
{
	long n;

	if (cl->out_off >= cl->out_len)
		return false;
	if (cl->npass) {
		/* The fds ride on the first byte; the kernel holds them from
		 * here on (the runner closes its own after). */
		union {
			char buf[CMSG_SPACE(sizeof(int) * CTL_HAND_FDS_MAX)];
			struct cmsghdr align;
		} u;
		struct iovec iov = { cl->out, cl->out_len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = CMSG_SPACE(sizeof(int) * cl->npass) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		memset(u.buf, 0, sizeof(u.buf));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * cl->npass);
		memcpy(CMSG_DATA(cm), cl->pass, sizeof(int) * cl->npass);
		n = sys_sendmsg(cl->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			cl->npass = 0;
	} else {
		n = sys_sendto(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL | MSG_DONTWAIT,
			       NULL, 0);
	}
	if (n == -EAGAIN || n == -EINTR)
		return true;
	if (n <= 0)
		return false;
	cl->out_off += (size_t)n;
	if (cl->out_off < cl->out_len)
		return true;
	/* A joiner's failed connect: its pair goes now (its fd shows the end,
	 * and the answer is there to read). */
	if (cl->jfd >= 0) {
		sys_fd_forget(cl->jfd);
		sys_close(cl->jfd);
		cl->jfd = -1;
	}
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

/* A joiner's filler, read from its pair without the lock (all of it is
 * there: written before the request). True while the client stays. */
static bool ctl_fill(struct ctl_client *cl)
{
	char junk[4096];

	while (cl->fill_left) {
		long n = sys_recvfrom(cl->jfd, junk, cl->fill_left < sizeof(junk) ? cl->fill_left : sizeof(junk),
				      MSG_DONTWAIT, NULL, NULL);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;      /* the joiner's end is gone, or sent less: the relay sees what is left */
		cl->fill_left -= (uint32_t)n;
	}
	cl->st = CTL_RELAY;
	return true;
}

static void ctl_accept(struct ctl *c, int lfd, uint64_t now)
{
	unsigned refused = 0;

	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		bool child;
		long fd;

		if (cl->st != CTL_FREE)
			continue;
		fd = sys_accept4(lfd, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;             /* EAGAIN: no more; others: the next wakeup tries again */
		child = false;
		if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || clen != sizeof(cred) ||
		    (!ctl_peer_allowed(cred.uid, c->uid) &&
		     !(child = ctl_child_allowed(cred.pid, c->pid, c->uid)))) {
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
		cl->jfd = -1;
		cl->uid = cred.uid;
		cl->child = child;
		cl->child_low = child && ctl_cap_bind_low(cred.pid);
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

		if (cl->st == CTL_FREE || cl->st == CTL_CONNWAIT || cl->st == CTL_RELAY || cl->st == CTL_JOIN)
			continue;           /* the stack's turn (the lock) */
		if (cl->st == CTL_FILL)
			keep = ctl_fill(cl);
		else if (cl->st == CTL_READ && (rev & (POLLIN | POLLHUP | POLLERR)))
			keep = ctl_read(cl, c->uid);
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
	for (int l = 0; l < CTL_NLISTEN; l++)
		if (c->lidx[l] >= 0 && (unsigned)c->lidx[l] < n && (pfd[c->lidx[l]].revents & POLLIN))
			ctl_accept(c, c->lfd[l], now);
}

void ctl_flush(struct ctl *c)
{
	if (!c)
		return;
	/* The next stack binds the name as it starts, which may be before
	 * this one is gone. */
	if (c->lfd[CTL_L_TAP] >= 0) {
		sys_fd_forget(c->lfd[CTL_L_TAP]);
		sys_close(c->lfd[CTL_L_TAP]);
		c->lfd[CTL_L_TAP] = -1;
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *cl = &c->cl[i];

		/* Each answer within 200 ms: the asker reads it at once. */
		for (int tries = 0; cl->st == CTL_WRITE && tries < 20; tries++) {
			struct pollfd p = { .fd = cl->fd, .events = POLLOUT };
			struct timespec ts = { 0, 10000000L };

			if (sys_ppoll(&p, 1, &ts, NULL) < 0 || !ctl_write(cl))
				break;
		}
	}
}

/* The asker's side: waits until fd is readable, by deadline (runner_now's
 * clock is not this file's: CLOCK_MONOTONIC, read here): 0, -ETIMEDOUT or
 * another -errno. */
static long wait_readable(int fd, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		struct timespec now, left;
		long rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline->tv_sec - now.tv_sec;
		left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return -ETIMEDOUT;
		rc = sys_ppoll(&p, 1, &left, NULL);
		if (rc == -EINTR)
			continue;
		return rc > 0 ? 0 : rc ? rc : -ETIMEDOUT;
	}
}

/* Reads exactly n bytes by deadline. */
static long read_full(int fd, void *buf, size_t n, const struct timespec *deadline)
{
	size_t got = 0;

	while (got < n) {
		long rc = wait_readable(fd, deadline);

		if (rc < 0)
			return rc;
		rc = sys_read(fd, (char *)buf + got, n - got);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc <= 0)
			return got ? (long)got : rc;
		got += (size_t)rc;
	}
	return (long)got;
}

/* The first part of the answer, with the fds that come with its first byte
 * (*nfds of them, into fds; none when the control data was cut). Like
 * read_full's first read: the bytes read, or -errno. */
static long read_first(int fd, void *buf, size_t n, int *fds, unsigned *nfds, const struct timespec *deadline)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * CTL_HAND_FDS_MAX)];
		struct cmsghdr align;
	} u;

	*nfds = 0;
	for (;;) {
		struct iovec iov = { buf, n };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
				    .msg_controllen = sizeof(u.b) };
		long rc = wait_readable(fd, deadline);

		if (rc < 0)
			return rc;
		rc = sys_recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); rc > 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
			unsigned k;

			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (unsigned i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*nfds < CTL_HAND_FDS_MAX && !(m.msg_flags & MSG_CTRUNC))
					fds[(*nfds)++] = f;
				else
					sys_close(f);
			}
		}
		if (m.msg_flags & MSG_CTRUNC) {
			for (unsigned i = 0; i < *nfds; i++)
				sys_close(fds[i]);
			*nfds = 0;
		}
		return rc;
	}
}

static void close_fds(int *fds, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++)
		sys_close(fds[i]);
	*n = 0;
}

/* "busy MS\n" (the first n bytes of an answer, more to read up to the
 * newline): MS, at least 1, or 0 for a plain "busy" or anything else. */
static unsigned busy_ms(int fd, char *got, long n, const struct timespec *deadline)
{
	char b[CTL_BUSY_MAX];
	unsigned long long ms = 0;
	long len = n < (long)sizeof(b) - 1 ? n : (long)sizeof(b) - 1;
	char *end;

	memcpy(b, got, (size_t)len);
	while (len < (long)sizeof(b) - 1 && !memchr(b, '\n', (size_t)len)) {
		long rc = read_full(fd, b + len, 1, deadline);

		if (rc != 1)
			break;
		len++;
	}
	b[len] = 0;
	if (strncmp(b, "busy ", 5) || b[5] < '0' || b[5] > '9')
		return 0;
	ms = strtoull(b + 5, &end, 10);
	if (*end != '\n')
		return 0;
	return ms == 0 ? 1 : ms > UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}

long ctl_handover_ask(const char *dev, void (*meanwhile)(void *arg), void *arg, struct tcp_tw_rec **recs,
		      int *fds, unsigned *nfds, struct ctl_hand_arp *arp, unsigned wait_ms, unsigned *hold_ms)
{
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ctl_handover_hdr h;
	struct timespec deadline;
	size_t size;
	long fd, rc;

	*recs = NULL;
	*nfds = 0;
	*hold_ms = 0;
	arp->n = 0;
	arp->addr = 0;
	/* Non-blocking: a holder whose backlog is full (a wedged one) makes
	 * connect() fail at once instead of waiting. */
	fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	rc = sys_connect(fd, &sa, ctl_tap_abstract(&sa, dev));
	if (rc) {
		sys_close(fd);
		return -EBUSY;      /* nobody listens: a stack of another build, or none */
	}
	/* The stack of another user keeps its device (and its connections'
	 * state is none of ours). */
	if (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || clen != sizeof(cred) ||
	    !ctl_join_allowed(cred.uid, (uint32_t)sys_geteuid())) {
		sys_close(fd);
		return -EBUSY;
	}
	rc = sys_sendto(fd, CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1, MSG_NOSIGNAL, NULL, 0);
	if (meanwhile && rc == (long)sizeof(CTL_HANDOVER_REQUEST) - 1)
		meanwhile(arg);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (rc == (long)sizeof(CTL_HANDOVER_REQUEST) - 1) {
		rc = read_first((int)fd, &h, sizeof(h), fds, nfds, &deadline);
		if (rc > 0 && rc < (long)sizeof(h)) {
			long more = read_full((int)fd, (char *)&h + rc, sizeof(h) - (size_t)rc, &deadline);

			rc = more < 0 ? more : rc + more;
		}
	}
	if (rc > 0 && rc < (long)sizeof(h) && !memcmp(&h, "busy", 4))
		*hold_ms = busy_ms((int)fd, (char *)&h, rc, &deadline);
	if (rc != (long)sizeof(h) || memcmp(h.word, CTL_HANDOVER_WORD, sizeof(CTL_HANDOVER_WORD) - 1) ||
	    h.rec_size != sizeof(struct tcp_tw_rec) || h.nfds != *nfds || h.arp_count > CTL_HAND_ARP_MAX ||
	    h.count > (CTL_REPLY_MAX - sizeof(h)) / sizeof(struct tcp_tw_rec)) {
		close_fds(fds, nfds);
		sys_close(fd);
		return rc < 0 && rc != -ETIMEDOUT ? rc : -EBUSY;    /* "busy", or not an answer of ours */
	}
	size = (size_t)h.count * sizeof(struct tcp_tw_rec);
	if (size && !(*recs = malloc(size))) {
		close_fds(fds, nfds);
		sys_close(fd);
		return -ENOMEM;
	}
	/* The device is free from here on (the answer came after the old
	 * stack let go of it), or ours (its queues came with the answer). */
	rc = size ? read_full((int)fd, *recs, size, &deadline) : 0;
	if (rc == (long)size && h.arp_count &&
	    read_full((int)fd, arp->rec, h.arp_count * sizeof(arp->rec[0]), &deadline) ==
		    (long)(h.arp_count * sizeof(arp->rec[0]))) {
		arp->n = h.arp_count;
		arp->addr = h.addr;
		memcpy(arp->mac, h.mac, 6);
	}
	sys_close(fd);
	if (rc != (long)size) {
		free(*recs);
		*recs = NULL;
		return 0;           /* the device is free all the same; the records are lost */
	}
	return (long)h.count;
}

void ctl_fork_child(struct ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i].st != CTL_FREE) {
			int fds[2] = { c->cl[i].fd, c->cl[i].jfd };

			for (int j = 0; j < 2; j++)
				if (fds[j] >= 0) {
					sys_fd_forget(fds[j]);
					sys_close(fds[j]);
				}
		}
	for (int l = 0; l < CTL_NLISTEN; l++)
		if (c->lfd[l] >= 0) {
			sys_fd_forget(c->lfd[l]);
			sys_close(c->lfd[l]);
		}
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	/* A joiner's connection still being made stays the stack's, which
	 * goes next (its callback is not called again: the thread is gone). */
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (c->cl[i].st != CTL_FREE) {
			ctl_drop(&c->cl[i]);
		}
	for (int l = 0; l < CTL_NLISTEN; l++)
		if (c->lfd[l] >= 0) {
			sys_fd_forget(c->lfd[l]);
			sys_close(c->lfd[l]);
		}
	sys_unlink(c->path);
	if (c->name_path[0])
		sys_unlink(c->name_path);
	free(c);
}
