#include "tests/unit/support/shim_libc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

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
	libc->write = write;
	libc->pread = pread;
	libc->lseek = lseek;
	libc->sigaction = sigaction;
}
