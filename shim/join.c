/*
 * Joining another process's stack (PSTACK_STACK=NAME, issue 14).
 *
 * Processes that name the same stack share it, its address and its TAP.
 * The first one starts it as any process does and owns it; its stack
 * thread also listens for joiners (stack/host/ctl.h: DIR/NAME.NETNS.stack in
 * the user's 0700 folder, and an abstract name in the network namespace that
 * only tells another user whose the name is). A later process naming NAME
 * opens no TAP: at its first Internet socket it finds the owner (its uid
 * checked: another user's stack is refused with one line and EACCES, and
 * the owner refuses strangers in turn), and from then on:
 *
 *   - its TCP sockets are served by the owner's stack. Until they connect
 *     or listen they are placeholders, as in the owner (bind() and the
 *     options are kept here); listen() and connect() are requests to the
 *     owner (one connection each, with one fd: its end of a socket pair),
 *     and the socket's fd becomes the pair's other end, an exposed socket
 *     (shim/expose.c): the owner's relay moves the data, and reads, writes,
 *     poll and epoll go to the kernel fd. accept() on a joiner's listener
 *     takes connections from the channel as on any exposed listener.
 *   - connect(): the pair is made here, and its program end's send buffer
 *     filled (made small first) before the request goes: the fd is not
 *     writable while the connection is made, as a connecting TCP socket is
 *     not. The owner reads the filler once the connection is made (the fd
 *     becomes writable: a non-blocking connect's EINPROGRESS, then POLLOUT)
 *     and answers on the request's connection, which this process reads
 *     when the program next asks (SO_ERROR, getpeername, connect again, a
 *     data call: shim_join_settle), or at once for a blocking connect.
 *     The answer gives the addresses, and the send buffer is put back.
 *   - its UDP sockets (AF_INET) are placeholders until the program binds
 *     one or sends or connects it to the stack's side: then a request to
 *     the owner (CTL_JOIN_DGRAM, shim_join_dgram) makes the stack's socket
 *     and a framed relay for it, as for a fork child's copy of an
 *     unconnected UDP socket (shim/expose.c), and the fd becomes the pair's
 *     end. To localhost they go to the kernel, as an owner's placeholder
 *     does. AF_INET6 UDP sockets are the kernel's.
 *
 * The rest is an exposed socket's behaviour (README, Limits).
 */
#include "shim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "stack/core/log.h"
#include "stack/dev/sysc.h"
#include "stack/host/ctl.h"

#define sys_connect(fd, sa, len)        SYSC(SYS_connect, (fd), (sa), (len))
#define sys_getsockopt(fd, l, o, v, len) SYSC(SYS_getsockopt, (fd), (l), (o), (v), (len))
#define sys_geteuid()                   SYSC(SYS_geteuid)

/* How long a listen() waits for the owner's answer (it answers at once). */
#define JOIN_ANSWER_MS 5000
/* The filler's writes: chunks, then single bytes until the buffer is full. */
#define JOIN_FILL_CHUNK 512

enum join_state { JOIN_UNKNOWN, JOIN_NONE, JOIN_JOINED, JOIN_FAILED };

static pthread_mutex_t join_mu = PTHREAD_MUTEX_INITIALIZER;
/* Under join_mu; read without it once settled (NONE, JOINED, FAILED never change). */
static _Atomic int join_state = JOIN_UNKNOWN;
static int join_err;                    /* FAILED: what socket() says */
static char join_name[HOST_STACK_NAME_MAX + 1];
static struct sockaddr_un join_sa;      /* JOINED: where the owner listens */
static socklen_t join_salen;
/* JOINED through join_ancestor: the stack's user, root's for a descendant
 * that dropped root (else this process's own: ~0 never matches). */
static uint32_t join_uid = ~0u;

/* A connection to sa: its fd (close-on-exec), or -errno; *uid the
 * listener's user (the kernel's record of who made it listen). */
static int join_dial_pid(const struct sockaddr_un *sa, socklen_t salen, uint32_t *uid, pid_t *pid);

static int join_dial(const struct sockaddr_un *sa, socklen_t salen, uint32_t *uid)
{
	pid_t pid;

	return join_dial_pid(sa, salen, uid, &pid);
}

/* join_dial, with the listener's process too. */
static int join_dial_pid(const struct sockaddr_un *sa, socklen_t salen, uint32_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	long fd = sys_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return (int)fd;
	do
		rc = sys_connect(fd, sa, salen);
	while (rc == -EINTR);
	if (rc == 0 && (sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || clen != sizeof(cred)))
		rc = -EPROTO;
	if (rc) {
		sys_close(fd);
		return (int)rc;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	return (int)fd;
}

/*
 * Under join_mu, without PSTACK_STACK: a process whose ancestor's stack
 * holds the TAP (a program run by a preloaded server, shell or script: an
 * ssh session's commands, subprocess.run, system()) joins that stack as a
 * PSTACK_STACK joiner does (the kernel's stack is every process's), where
 * it would fail to attach to the TAP. The stack on the TAP answers on its
 * abstract name (stack/host/ctl.h, ctl_tap_abstract) with its credentials:
 * the same user, and a process this one descends from. Anyone else's (an
 * unrelated program, a stack process that outlived its program) is left to
 * the start's handover or its "cannot attach" as before.
 */
/* join_ancestor found the TAP held by a stack whose program lives (an
 * ancestor's or not). */
static bool tap_taken;

static void join_ancestor(void)
{
	uint32_t self = (uint32_t)sys_geteuid(), uid = 0;
	struct shim_iface ifc;
	struct sockaddr_un sa;
	socklen_t len;
	pid_t pid = 0;
	int fd;

	if (!shim_host.iface || shim_host.iface(shim_host.ctx, &ifc) < 0 || !ifc.name[0])
		return;
	len = ctl_tap_abstract(&sa, ifc.name);
	fd = join_dial_pid(&sa, len, &uid, &pid);
	if (fd < 0)
		return;
	sys_close(fd);
	tap_taken = pid > 1 && SYSC(SYS_kill, pid, 0) != -ESRCH;
	/* A root stack takes its descendants that dropped root too
	 * (ctl_child_allowed): vsftpd's session makes its data connections
	 * after its setuid. */
	if ((uid != self && uid != 0) || pid <= 1)
		return;
	/* A stack whose program is gone (a stack process carrying it on, the
	 * common case at a start: the last program's TIME_WAIT) is nobody's
	 * ancestor: the walk up the process tree (a /proc file per ancestor)
	 * is for a program that lives. */
	if (SYSC(SYS_kill, pid, 0) == -ESRCH || !ctl_descends((pid_t)SYSC(SYS_getppid), pid))
		return;
	join_uid = uid;
	join_sa = sa;
	join_salen = len;
	atomic_store(&join_state, JOIN_JOINED);
	log_debug("joined the stack of process %d (an ancestor) on %s", (int)pid, ifc.name);
}

/*
 * A socket passed to this process over SCM_RIGHTS (shim_adopt_passed) is
 * served by the stack on the TAP: when this process has none of its own
 * and that stack is no ancestor's (haproxy's seamless reload: the new
 * process, started by hand or by a unit with -x, takes the old one's
 * listeners over its stats socket), it joins that stack for its own new
 * sockets as a descendant does, where it could start no stack of its own
 * ("cannot attach": its backend connections failed). Also when the stack's
 * program is gone and its stack process carries it on (the next reload:
 * the listeners come from a joiner). The same user only: a sender of
 * another user hands over its socket, not its stack. Sockets made before
 * (placeholders, since no stack served them) stay as they were.
 */
void shim_join_passed(void)
{
	uint32_t self = (uint32_t)sys_geteuid(), uid = 0;
	struct shim_iface ifc;
	struct sockaddr_un sa;
	socklen_t len;
	pid_t pid = 0;
	int fd;

	/* Before its first Internet socket, the look for an ancestor's stack
	 * comes first, as at that socket. */
	if (shim_join_check() != 0 || shim_stack_started())
		return;
	pthread_mutex_lock(&join_mu);
	if (atomic_load(&join_state) != JOIN_NONE || shim_stack_started() || !shim_host.iface ||
	    shim_host.iface(shim_host.ctx, &ifc) < 0 || !ifc.name[0])
		goto out;
	len = ctl_tap_abstract(&sa, ifc.name);
	fd = join_dial_pid(&sa, len, &uid, &pid);
	if (fd < 0)
		goto out;
	sys_close(fd);
	if (uid != self)
		goto out;
	join_uid = uid;
	join_sa = sa;
	join_salen = len;
	atomic_store(&join_state, JOIN_JOINED);
	log_debug("joined the stack of process %d on %s (it passed this process a socket)", (int)pid, ifc.name);
out:
	pthread_mutex_unlock(&join_mu);
}

/* Under join_mu: looks for the owner of join_name. */
static void join_find(void)
{
	uint32_t self = (uint32_t)sys_geteuid(), uid = 0;
	struct sockaddr_un sa;
	char dir[256], path[sizeof(sa.sun_path)];
	int fd;

	/* The owner's path in this user's folder, for this network namespace:
	 * the owner is this user (the folder is 0700), checked all the same. */
	if (ctl_default_dir(dir, sizeof(dir), secure_getenv("XDG_RUNTIME_DIR"), self) == 0 &&
	    ctl_stack_path(path, sizeof(path), dir, join_name, ctl_netns()) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, path, strlen(path) + 1);
		fd = join_dial(&sa, sizeof(sa), &uid);
		if (fd >= 0) {
			sys_close(fd);
			if (uid == self) {
				join_sa = sa;
				join_salen = sizeof(sa);
				atomic_store(&join_state, JOIN_JOINED);
				log_debug("PSTACK_STACK=%s: joined the stack at %s", join_name, path);
				return;
			}
		}
	}
	/* The name in the network namespace: anyone's stack of this name. */
	join_salen = ctl_stack_abstract(&join_sa, join_name);
	fd = join_dial(&join_sa, join_salen, &uid);
	if (fd < 0)
		return;         /* nobody's: this process may start it (still unknown) */
	sys_close(fd);
	if (uid != self) {
		log_error("PSTACK_STACK=%s belongs to uid %u; this process (uid %u) cannot join it: "
			  "Internet sockets fail with EACCES (choose another name)",
			  join_name, (unsigned)uid, (unsigned)self);
		join_err = -EACCES;
		atomic_store(&join_state, JOIN_FAILED);
		return;
	}
	atomic_store(&join_state, JOIN_JOINED);
	log_debug("PSTACK_STACK=%s: joined the stack at its abstract name", join_name);
}

void shim_join_fork_child(void)
{
	/* The parent's thread may have held it at the fork. */
	pthread_mutex_init(&join_mu, NULL);
	tap_taken = false;
	if (atomic_load(&join_state) == JOIN_NONE)
		atomic_store(&join_state, JOIN_UNKNOWN);
}

bool shim_join_tap_taken(void)
{
	return tap_taken;
}

bool shim_join_joined(void)
{
	return atomic_load(&join_state) == JOIN_JOINED;
}

int shim_join_check(void)
{
	int st = atomic_load(&join_state);

	if (st == JOIN_JOINED)
		return 1;
	if (st == JOIN_NONE)
		return 0;
	if (st == JOIN_FAILED)
		return join_err;
	pthread_mutex_lock(&join_mu);
	st = atomic_load(&join_state);
	if (st == JOIN_UNKNOWN) {
		if (!shim_host.stack_name) {
			atomic_store(&join_state, JOIN_NONE);
		} else {
			int r = shim_host.stack_name(shim_host.ctx, join_name, sizeof(join_name));

			if (r < 0) {
				/* The host said why, once; as any bad PSTACK_ value. */
				join_err = -ENETDOWN;
				atomic_store(&join_state, JOIN_FAILED);
			} else if (shim_stack_started()) {
				/* This process started the stack (it owns it). */
				atomic_store(&join_state, JOIN_NONE);
			} else if (!join_name[0]) {
				/* No name: an ancestor's stack, or this process's own. */
				join_ancestor();
				if (atomic_load(&join_state) == JOIN_UNKNOWN)
					atomic_store(&join_state, JOIN_NONE);
			} else {
				/* Nobody answering leaves it unknown: the next socket asks
				 * again, until this process starts the stack itself. */
				join_find();
			}
		}
	}
	st = atomic_load(&join_state);
	pthread_mutex_unlock(&join_mu);
	return st == JOIN_JOINED ? 1 : st == JOIN_FAILED ? join_err : 0;
}

/* One request to the owner, with fd (its end of the pair): the
 * connection the answer comes on (close-on-exec, hidden), or -errno. */
static int join_send(const struct ctl_join_req *q, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)q, sizeof(*q) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	uint32_t uid = 0;
	long rc;
	int c;

	c = join_dial(&join_sa, join_salen, &uid);
	if (c < 0)
		return c == -ENOENT || c == -ECONNREFUSED ? -ENETDOWN : c;  /* the owner is gone */
	if (uid != (uint32_t)sys_geteuid() && uid != join_uid) {
		/* Another user took the name since (the owner and its keeper gone). */
		sys_close(c);
		return -EACCES;
	}
	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do
		rc = sys_sendmsg(c, &m, MSG_NOSIGNAL);
	while (rc == -EINTR);
	if (rc != (long)sizeof(*q)) {
		sys_close(c);
		return rc < 0 ? (int)rc : -EPROTO;
	}
	return sys_fd_hide(c);
}

/* The owner's answer on c: 0 with *rep, -EAGAIN (not yet, when wait_ms is
 * 0), -EINTR, or -errno. wait_ms -1: no limit. A connection's announcement
 * (ctl.h, CTL_JOIN_PROGRESS) met first is passed over, its local address
 * in *local when the caller gives it. */
static int join_answer_local(int c, struct ctl_join_reply *rep, int wait_ms, struct ip4_endpoint *local)
{
	size_t got = 0;

	while (got < sizeof(*rep)) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000 };
		long n;

		n = sys_ppoll(&p, 1, wait_ms < 0 ? NULL : &ts, NULL);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return got ? -EPROTO : wait_ms ? -ETIMEDOUT : -EAGAIN;
		n = sys_recvfrom(c, (char *)rep + got, sizeof(*rep) - got, MSG_DONTWAIT, NULL, NULL);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNABORTED : (int)n;     /* the owner went, or closed unanswered */
		got += (size_t)n;
		if (got == sizeof(*rep) && rep->err == CTL_JOIN_PROGRESS && !ctl_join_reply_check(rep, sizeof(*rep))) {
			if (local)
				*local = (struct ip4_endpoint){ rep->laddr, rep->lport };
			got = 0;
		}
	}
	return ctl_join_reply_check(rep, sizeof(*rep)) ? -EPROTO : 0;
}

static int join_answer(int c, struct ctl_join_reply *rep, int wait_ms)
{
	return join_answer_local(c, rep, wait_ms, NULL);
}

/* A connect's announcement (ctl.h, CTL_JOIN_PROGRESS), awaited on c, the
 * request's connection: the local address and port the owner's stack
 * chose, which getsockname() shows from the connect() on, as Linux's
 * (and the name of the socket passed meanwhile: shim/expose.c). Left
 * unread when the answer came first (join_settle's). */
static void join_progress(struct shim_sock *k, int c)
{
	struct ctl_join_reply rep;
	struct pollfd p = { .fd = c, .events = POLLIN };
	struct timespec ts = { JOIN_ANSWER_MS / 1000, (long)(JOIN_ANSWER_MS % 1000) * 1000000 };
	long n;

	do
		n = sys_ppoll(&p, 1, &ts, NULL);
	while (n == -EINTR);
	if (n != 1)
		return;
	n = sys_recvfrom(c, &rep, sizeof(rep), MSG_PEEK | MSG_DONTWAIT, NULL, NULL);
	if (n != (long)sizeof(rep) || ctl_join_reply_check(&rep, sizeof(rep)) || rep.err != CTL_JOIN_PROGRESS)
		return;
	if (sys_recvfrom(c, &rep, sizeof(rep), MSG_DONTWAIT, NULL, NULL) != (long)sizeof(rep))
		return;
	shim_lock();
	if (k->ss == SHIM_SS_CONNECTING)
		k->local = (struct ip4_endpoint){ rep.laddr, rep.lport };
	shim_unlock();
}

static void join_close(int fd)
{
	sys_fd_forget(fd);
	sys_close(fd);
}

/* No lock held: every fd of k becomes file (its end of the pair), k is
 * exposed from now on (its epoll registrations go to the kernel's), the
 * placeholder kept for the options. The caller has set what k is under
 * the lock before (set()). true when done. */
static bool join_swap(struct shim_sock *k, int file)
{
	struct shim_epitem *moved;
	int fd0 = shim_first_fd(&k->obj);

	if (fd0 < 0)
		return false;
	if (atomic_load(&k->kfd) < 0) {
		int kfd = shim_libc.fcntl(fd0, F_DUPFD_CLOEXEC, 0);

		if (kfd < 0)
			return false;
		atomic_store(&k->kfd, sys_fd_hide(kfd));
	}
	if (shim_swap_file(&k->obj, file) == 0)
		return false;   /* every fd closed meanwhile */
	shim_lock();
	atomic_store_explicit(&k->exposed, true, memory_order_release);
	shim_wq_wake(&k->wq);
	moved = shim_epoll_take_sock(k);
	shim_unlock();
	shim_epoll_to_kernel(moved, -1);
	return true;
}

/*
 * A request answered at once (LISTEN, DGRAM), with a SOCK_SEQPACKET pair:
 * sv[1] goes to the owner, sv[0] is the program's end (non-blocking when the
 * program's fd is, fl its F_GETFL). 0 with *rep, or -errno (the owner's
 * answer's too); the caller closes both ends either way (join_pair_close).
 */
/* Our ends of a join_seqpacket pair, once the program's fd took its own
 * copy (join_swap) or the request failed. */
static void join_pair_close(const int sv[2])
{
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			sys_close(sv[i]);
}

static int join_seqpacket(const struct ctl_join_req *q, int fl, int sv[2], struct ctl_join_reply *rep)
{
	int c, r;

	sv[0] = sv[1] = -1;
	if (sys_socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sv[0] = sv[1] = -1;
		return -ENOBUFS;
	}
	if (sys_fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0 ||
	    (fl >= 0 && (fl & O_NONBLOCK) && sys_fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0))
		return -ENOBUFS;
	c = join_send(q, sv[1]);
	if (c < 0)
		return c;
	r = join_answer(c, rep, JOIN_ANSWER_MS);
	join_close(c);
	return r ? r : rep->err;
}

int shim_join_listen(struct shim_sock *k, int fd, int backlog)
{
	struct ctl_join_req q;
	struct ctl_join_reply rep;
	int sv[2], r, fl;

	(void)fd;
	if (k->fork_bound && shim_join_check() != 1)
		return shim_child_ebadf();      /* no parent's stack to ask */
	shim_lock();
	if (k->type != SOCK_STREAM)
		r = -EOPNOTSUPP;
	else if (k->listening)
		r = 1;          /* listening already: Linux changes the backlog; the owner's stays */
	else if (k->ss != SHIM_SS_UNCONNECTED)
		r = -EINVAL;
	else
		r = 0;
	ctl_join_req_init(&q, CTL_JOIN_LISTEN);
	q.laddr = k->local.addr;
	q.lport = k->local.port;
	q.bound = k->bound;
	q.backlog = backlog;
	q.opts = k->opts;
	q.inherit = k->fork_bound;
	fl = shim_libc.fcntl(shim_first_fd(&k->obj), F_GETFL);
	shim_unlock();
	if (r)
		return r > 0 ? 0 : r;
	/* A channel, as an exposed listener's (relay.h). */
	r = join_seqpacket(&q, fl, sv, &rep);
	if (r == 0) {
		shim_lock();
		k->local = (struct ip4_endpoint){ rep.laddr, rep.lport };
		k->ex_rcvbuf = rep.rcvbuf;
		k->ex_sndbuf = rep.sndbuf;
		k->bound = true;
		k->listening = true;
		shim_unlock();
		if (!join_swap(k, sv[0]))
			r = -EBADF;
	}
	join_pair_close(sv);
	return r;
}

int shim_join_dgram(struct shim_sock *k, const struct ip4_endpoint *ep)
{
	struct ctl_join_req q;
	struct ctl_join_reply rep;
	int sv[2], r, fl;

	shim_lock();
	r = k->type != SOCK_DGRAM || k->family != AF_INET || !k->join ? -EOPNOTSUPP :
	    k->framed || k->bound ? -EINVAL : 0;
	ctl_join_req_init(&q, CTL_JOIN_DGRAM);
	if (ep) {
		q.laddr = ep->addr;
		q.lport = ep->port;
		q.bound = 1;
	}
	q.opts = k->opts;
	fl = shim_libc.fcntl(shim_first_fd(&k->obj), F_GETFL);
	shim_unlock();
	if (r)
		return r;
	/* Datagrams keep their bounds, and the last holder's close is seen,
	 * as on a fork child's framed socket (shim/expose.c). */
	r = join_seqpacket(&q, fl, sv, &rep);
	if (r == 0) {
		shim_lock();
		k->local = (struct ip4_endpoint){ rep.laddr, rep.lport };
		k->bound = true;
		k->addr_locked = rep.laddr != 0;
		k->port_locked = ep && ep->port;
		k->framed = true;       /* before exposed (join_swap): framed() */
		shim_unlock();
		shim_stack_addr_learn(rep.stack_addr);
		if (!join_swap(k, sv[0]))
			r = -EBADF;
		else
			shim_join_groups(k);    /* the groups it joined before */
	}
	join_pair_close(sv);
	return r;
}

/* The pair's program end: its send buffer made small and filled, so that
 * it is not writable until the owner reads what is in it. How many bytes. */
static uint32_t join_fill(int fd)
{
	static const char zeros[JOIN_FILL_CHUNK];
	int one = 1;
	uint32_t n = 0;
	long w;

	(void)shim_libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	while (n < CTL_JOIN_FILLER_MAX && (w = sys_sendto(fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL,
							NULL, 0)) > 0)
		n += (uint32_t)w;
	while (n < CTL_JOIN_FILLER_MAX && (w = sys_sendto(fd, zeros, 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0)) > 0)
		n += (uint32_t)w;
	return n;
}

/* Takes in the owner's answer to k's connect when it is there (wait_ms
 * as join_answer's). 0 once settled (or nothing pending), -EAGAIN when
 * still connecting, -EINTR. */
/* join_settle for a connecting socket that came over SCM_RIGHTS: the
 * answer went to its sender; the fd shows how it went. */
static int pass_settle(struct shim_sock *k, int wait_ms)
{
	struct pollfd p = { .fd = shim_first_fd(&k->obj), .events = POLLOUT };
	struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000 };
	bool ok;
	long n;
	int err;

	if (p.fd < 0)
		return 0;
	n = sys_ppoll(&p, 1, wait_ms < 0 ? NULL : &ts, NULL);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EAGAIN;
	if (!atomic_exchange(&k->pass_connecting, false))
		return 0;       /* another thread took it */
	/* The owner closes a failed connect's pair; its answer went to the
	 * sender, and the error is the name it gave its end (ctl.h,
	 * ctl_join_err_of); without one, refused, the usual error. */
	ok = !(p.revents & (POLLHUP | POLLERR));
	err = ok ? 0 : ctl_join_err_of(p.fd);
	shim_lock();
	if (ok) {
		k->peer = k->pass_peer;
		k->ss = SHIM_SS_CONNECTED;
	} else {
		k->err = err ? err : -ECONNREFUSED;
		k->ss = SHIM_SS_UNCONNECTED;
	}
	shim_unlock();
	if (ok && k->pass_sndbuf > 0) {
		int v = k->pass_sndbuf / 2;

		(void)shim_libc.setsockopt(p.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	return 0;
}

static int join_settle(struct shim_sock *k, int wait_ms)
{
	struct ip4_endpoint local = { 0, 0 };
	struct ctl_join_reply rep;
	int c = atomic_exchange(&k->join_fd, -1), r, fd0;

	if (c < 0)      /* nothing pending, or another thread takes it */
		return atomic_load(&k->pass_connecting) ? pass_settle(k, wait_ms) : 0;
	r = join_answer_local(c, &rep, wait_ms, &local);
	if (r == -EAGAIN || r == -EINTR) {
		/* The program's fd writable means the filler was read: the
		 * answer follows at once. */
		struct pollfd p = { .fd = shim_first_fd(&k->obj), .events = POLLOUT };
		struct timespec zero = { 0, 0 };

		if (r == -EAGAIN && p.fd >= 0 && sys_ppoll(&p, 1, &zero, NULL) == 1 && (p.revents & POLLOUT))
			r = join_answer_local(c, &rep, JOIN_ANSWER_MS, &local);
		if (r == -EAGAIN || r == -EINTR) {
			if (local.port) {
				shim_lock();
				if (k->ss == SHIM_SS_CONNECTING)
					k->local = local;
				shim_unlock();
			}
			atomic_store(&k->join_fd, c);
			return r;
		}
	}
	join_close(c);
	if (r == 0)
		r = rep.err;
	fd0 = shim_first_fd(&k->obj);
	shim_lock();
	if (r == 0) {
		k->local = (struct ip4_endpoint){ rep.laddr, rep.lport };
		k->peer = (struct ip4_endpoint){ rep.raddr, rep.rport };
		k->ex_rcvbuf = rep.rcvbuf;
		k->ex_sndbuf = rep.sndbuf;
		k->bound = true;
		k->ss = SHIM_SS_CONNECTED;
	} else {
		/* SO_ERROR's, as for a connection that failed (Linux: the
		 * socket may connect again). */
		k->err = r;
		k->ss = SHIM_SS_UNCONNECTED;
	}
	shim_unlock();
	if (r == 0 && fd0 >= 0 && k->join_sndbuf > 0) {
		/* The send buffer the pair had before the filler (Linux doubles
		 * what is set). */
		int v = k->join_sndbuf / 2;

		(void)shim_libc.setsockopt(fd0, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	return 0;
}

void shim_join_settle(struct shim_sock *k)
{
	(void)join_settle(k, 0);
}

/* A blocking connect's end: the owner's answer awaited (join_settle), then
 * how it went, taken once (0, or the error). */
static int join_connect_wait(struct shim_sock *k)
{
	int r = join_settle(k, -1);

	if (r == 0) {
		shim_lock();
		r = k->ss == SHIM_SS_CONNECTED ? 0 : k->err;
		k->err = 0;
		shim_unlock();
	}
	return r;
}

int shim_join_connect(struct shim_sock *k, int fd, const struct ip4_endpoint *ep)
{
	struct ctl_join_req q;
	int sv[2] = { -1, -1 }, c, r, fl, v;
	socklen_t vl = sizeof(v);
	bool nonblock;

	/* A fork child's inherited socket (bound, or whose connect failed
	 * before the fork: shim/expose.c, share_failed) finds the parent's
	 * stack first. */
	if ((k->fork_bound || shim_proc_state() == SHIM_PROC_FORKED) && shim_join_check() != 1)
		return shim_child_ebadf();      /* no parent's stack to ask */
	r = join_settle(k, 0);
	shim_lock();
	nonblock = k->nonblock;
	switch (k->ss) {
	case SHIM_SS_CONNECTED:
		r = -EISCONN;
		break;
	case SHIM_SS_CONNECTING:
		r = -EALREADY;
		break;
	case SHIM_SS_DISCONNECTING:
		r = -EINVAL;
		break;
	case SHIM_SS_UNCONNECTED:
		r = k->listening ? -EISCONN : 0;
		break;
	}
	if (r == 0) {
		ctl_join_req_init(&q, CTL_JOIN_CONNECT);
		q.laddr = k->local.addr;
		q.lport = k->local.port;
		q.bound = k->bound;
		q.raddr = ep->addr;
		q.rport = ep->port;
		q.opts = k->opts;
		q.inherit = k->fork_bound;
		k->pass_peer = *ep;
		k->err = 0;
		k->ss = SHIM_SS_CONNECTING;
	}
	shim_unlock();
	fl = shim_libc.fcntl(fd, F_GETFL);
	nonblock = fl >= 0 ? (fl & O_NONBLOCK) != 0 : nonblock;
	if (r == -EALREADY && !nonblock) {
		/* Linux: a blocking connect() again waits for the first. */
		return join_connect_wait(k);
	}
	if (r)
		return r;
	if (sys_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -ENOBUFS;
		goto fail;
	}
	if (shim_libc.getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl) == 0)
		k->join_sndbuf = v;
	if (sys_fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0) {
		r = -ENOBUFS;
		goto fail;
	}
	q.filler = join_fill(sv[0]);
	if (nonblock && sys_fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -ENOBUFS;
		goto fail;
	}
	c = join_send(&q, sv[1]);
	if (c < 0) {
		r = c;
		goto fail;
	}
	sys_close(sv[1]);
	sv[1] = -1;
	join_progress(k, c);
	atomic_store(&k->join_fd, c);
	if (!join_swap(k, sv[0])) {
		r = -EBADF;
		goto fail;
	}
	sys_close(sv[0]);
	sv[0] = -1;
	if (nonblock)
		return -EINPROGRESS;
	return join_connect_wait(k);
fail:
	c = atomic_exchange(&k->join_fd, -1);
	if (c >= 0)
		join_close(c);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			sys_close(sv[i]);
	shim_lock();
	k->ss = SHIM_SS_UNCONNECTED;
	shim_unlock();
	return r;
}

void shim_join_forget(struct shim_sock *k)
{
	int c = atomic_exchange(&k->join_fd, -1);

	if (c >= 0)
		join_close(c);
}
