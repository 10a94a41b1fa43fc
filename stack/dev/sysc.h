/*
 * Raw system calls for the stack's OS-facing code.
 *
 * Inside libpstack.so, a call to read(), write(), poll(), close(), ioctl() or
 * socket() would resolve to the library's own interposed wrappers, and so
 * would the C library's syscall(), which the preload interposes too (libuv
 * closes its fds with it). The OS side of the stack (TAP driver, runner,
 * pcap) goes straight to the kernel instead, with the system call
 * instruction itself, so it can never recurse into the shim. Each returns
 * -errno on failure and leaves errno untouched.
 */
#ifndef PSTACK_SYS_SYSC_H
#define PSTACK_SYS_SYSC_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
/* The kernel's answer as it gives it: -errno on failure. */
static inline long sysc_raw(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long sysc_raw(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;

	__asm__ __volatile__("svc 0"
			     : "+r"(x0)
			     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			     : "memory");
	return x0;
}
#else
/* Elsewhere the C library's syscall() (which the preload's own wrapper
 * passes through for calls from the library's code). */
static inline long sysc_raw(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	int saved = errno;
	long r = syscall(n, a1, a2, a3, a4, a5, a6);

	if (r < 0)
		r = -errno;
	errno = saved;
	return r;
}
#endif

#define SYSC_7_(n, a1, a2, a3, a4, a5, a6, ...) \
	sysc_raw((long)(n), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))
#define SYSC(...) SYSC_7_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

#define sys_read(fd, buf, n)        SYSC(SYS_read, (fd), (buf), (n))
#define sys_write(fd, buf, n)       SYSC(SYS_write, (fd), (buf), (n))
#define sys_close(fd)               SYSC(SYS_close, (fd))
#define sys_ioctl(fd, req, arg)     SYSC(SYS_ioctl, (fd), (req), (arg))
#define sys_socket(d, t, p)         SYSC(SYS_socket, (d), (t), (p))
#define sys_bind(fd, sa, len)       SYSC(SYS_bind, (fd), (sa), (len))
#define sys_getsockname(fd, sa, len) SYSC(SYS_getsockname, (fd), (sa), (len))
#define sys_getpeername(fd, sa, len) SYSC(SYS_getpeername, (fd), (sa), (len))
#define sys_ppoll(fds, n, ts, mask) SYSC(SYS_ppoll, (fds), (n), (ts), (mask), (size_t)8)
#define sys_openat(dir, path, flags, mode) SYSC(SYS_openat, (dir), (path), (flags), (mode))
#define sys_fcntl(fd, cmd, arg)     SYSC(SYS_fcntl, (fd), (cmd), (arg))
#define sys_writev(fd, iov, n)      SYSC(SYS_writev, (fd), (iov), (n))
#define sys_eventfd2(init, flags)   SYSC(SYS_eventfd2, (init), (flags))
#define sys_getrandom(buf, n, flags) SYSC(SYS_getrandom, (buf), (n), (flags))
/* The relays of exposed sockets (stack/host/relay.c, shim/expose.c). */
#define sys_socketpair(d, t, p, sv) SYSC(SYS_socketpair, (d), (t), (p), (sv))
#define sys_shutdown(fd, how)       SYSC(SYS_shutdown, (fd), (how))
#define sys_sendto(fd, buf, n, flags, sa, salen) SYSC(SYS_sendto, (fd), (buf), (n), (flags), (sa), (salen))
#define sys_recvfrom(fd, buf, n, flags, sa, salen) SYSC(SYS_recvfrom, (fd), (buf), (n), (flags), (sa), (salen))
/* Listeners across fork (relay.c hands connections over with SCM_RIGHTS)
 * and exec (shim/expose.c checks that an fd is still the same file). */
#define sys_sendmsg(fd, msg, flags) SYSC(SYS_sendmsg, (fd), (msg), (flags))
#define sys_recvmsg(fd, msg, flags) SYSC(SYS_recvmsg, (fd), (msg), (flags))
#define sys_fstat(fd, st)           SYSC(SYS_fstat, (fd), (st))


/*
 * The stack's own descriptors (TAP, eventfd, pcap, log file) are moved up near
 * the descriptor limit, so the application gets the same fd numbers it would
 * get from the kernel alone, and recorded, so the shim can keep the
 * application from closing them (a daemon closing every fd, dup2 over one).
 */
/* Moves fd above the low range (close-on-exec kept); returns the new fd, or fd unchanged on failure. */
int sys_fd_hide(int fd);
/* Forgets an internal fd (before closing it). */
void sys_fd_forget(int fd);
/* True when fd is one of the stack's own descriptors. */
int sys_fd_is_internal(int fd);
/* The stack's own descriptors, up to max of them into fds; how many. */
int sys_fd_internal(int *fds, int max);

#endif
