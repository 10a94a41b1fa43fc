#include "tests/unit/support/shim_libc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/host/lock.h"

void h_real_libc(struct shim_libc *libc)
{
	memset(libc, 0, sizeof(*libc));
	libc->socket = socket;
	libc->close = close;
	libc->dup = dup;
	libc->dup3 = dup3;
	libc->fcntl = fcntl;
	libc->ioctl = (int (*)(int, unsigned long, ...))ioctl;
	libc->setsockopt = setsockopt;
	libc->getsockopt = getsockopt;
	libc->ppoll = ppoll;
	libc->epoll_ctl = epoll_ctl;
	libc->epoll_pwait = epoll_pwait;
	libc->read = read;
	libc->recvmsg = recvmsg;
	libc->recvfrom = recvfrom;
	libc->connect = connect;
	libc->bind = bind;
	libc->write = write;
	libc->pread = pread;
	libc->lseek = lseek;
	libc->sigaction = sigaction;
}

/* ---- the checked table ---- */

static const struct stack_lock *checked_lock;

static void check(const char *name)
{
	if (checked_lock && stack_lock_held(checked_lock)) {
		fprintf(stderr, "%s() called with the stack lock held\n", name);
		abort();
	}
}

static int c_socket(int d, int t, int p) { check("socket"); return socket(d, t, p); }
static int c_close(int fd) { check("close"); return close(fd); }
static int c_dup(int fd) { check("dup"); return dup(fd); }
static int c_dup3(int o, int n, int f) { check("dup3"); return dup3(o, n, f); }
static int c_setsockopt(int fd, int l, int n, const void *v, socklen_t len)
{
	check("setsockopt");
	return setsockopt(fd, l, n, v, len);
}
static int c_getsockopt(int fd, int l, int n, void *v, socklen_t *len)
{
	check("getsockopt");
	return getsockopt(fd, l, n, v, len);
}
static int c_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *m)
{
	check("ppoll");
	return ppoll(fds, n, ts, m);
}
static int c_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	check("epoll_ctl");
	return epoll_ctl(ep, op, fd, ev);
}
static int c_epoll_pwait(int ep, struct epoll_event *ev, int max, int t, const sigset_t *m)
{
	check("epoll_pwait");
	return epoll_pwait(ep, ev, max, t, m);
}
static ssize_t c_read(int fd, void *b, size_t n) { check("read"); return read(fd, b, n); }
static ssize_t c_recvmsg(int fd, struct msghdr *m, int f) { check("recvmsg"); return recvmsg(fd, m, f); }
static ssize_t c_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *sa, socklen_t *l)
{
	check("recvfrom");
	return recvfrom(fd, b, n, f, sa, l);
}
static int c_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	check("connect");
	return connect(fd, sa, len);
}
static int c_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	check("bind");
	return bind(fd, sa, len);
}
static ssize_t c_write(int fd, const void *b, size_t n) { check("write"); return write(fd, b, n); }
static ssize_t c_pread(int fd, void *b, size_t n, off_t o) { check("pread"); return pread(fd, b, n, o); }
static off_t c_lseek(int fd, off_t o, int w) { check("lseek"); return lseek(fd, o, w); }
static int c_sigaction(int s, const struct sigaction *a, struct sigaction *o)
{
	check("sigaction");
	return sigaction(s, a, o);
}

static int c_fcntl(int fd, int cmd, ...)
{
	unsigned long arg = 0;
	va_list ap;

	check("fcntl");
	/* Only the commands that take a third argument read one. */
	if (cmd != F_GETFD && cmd != F_GETFL) {
		va_start(ap, cmd);
		arg = va_arg(ap, unsigned long);
		va_end(ap);
	}
	return fcntl(fd, cmd, arg);
}

static int c_ioctl(int fd, unsigned long req, ...)
{
	void *arg;
	va_list ap;

	check("ioctl");
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return ioctl(fd, req, arg);
}

void h_checked_libc(struct shim_libc *libc, const struct stack_lock *lock)
{
	checked_lock = lock;
	*libc = (struct shim_libc){
		.socket = c_socket, .close = c_close, .dup = c_dup, .dup3 = c_dup3, .fcntl = c_fcntl,
		.ioctl = c_ioctl, .setsockopt = c_setsockopt, .getsockopt = c_getsockopt, .ppoll = c_ppoll,
		.epoll_ctl = c_epoll_ctl, .epoll_pwait = c_epoll_pwait, .read = c_read, .write = c_write,
		.pread = c_pread, .lseek = c_lseek, .sigaction = c_sigaction, .recvmsg = c_recvmsg,
		.recvfrom = c_recvfrom, .connect = c_connect, .bind = c_bind,
	};
}
