/*
 * Interposition only: resolves the real libc functions once, exports the
 * wrappers, and wires the shim to the runner.
 *
 * Every wrapper has the same shape (see shim/shim.h):
 *   not initialised, or re-entered on this thread   -> the real function
 *   fd is not a stack socket (two atomic loads)      -> the real function
 *   else shim_X(): >= 0 or -errno; SHIM_PASS         -> the real function
 * errno is set only on failure and left untouched on success.
 *
 * What cannot be intercepted (documented, not fought): glibc's internal
 * calls (the resolver inside getaddrinfo, stdio on a socket via fdopen),
 * statically linked programs and Go programs (raw system calls). Those
 * sockets stay with the kernel.
 *
 * Memory the program passes that it does not own gives EFAULT, as from the
 * kernel: the shim and the stack touch it only in shim/ucopy.c's copies, and
 * the SIGSEGV/SIGBUS handler installed here sends their faults back to them
 * (the others to the program's own handler or the default action, which
 * sigaction() and signal() record for it: see "faults" below).
 *
 * The stack starts lazily, on the first bind/listen/connect/sendto of an
 * Internet socket to a non-loopback address (shim_need_stack). If the
 * configuration (PSTACK_*) is bad or the TAP device cannot be opened, one
 * line says why and that call, and every later one that needs the stack,
 * fails with ENETDOWN. At exit (destructor, _exit, _Exit) open stack sockets
 * are closed and the stack drains for up to PSTACK_LINGER_MS (default 10000).
 */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <grp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/shim.h"
#include "stack/core/log.h"
#include "stack/host/config.h"
#include "stack/host/keeper.h"
#include "stack/host/lock.h"
#include "stack/host/logsink.h"
#include "stack/host/relay.h"
#include "stack/host/runner.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions ---- */

#define REAL_LIST(X) \
	X(socket, int, (int, int, int)) \
	X(bind, int, (int, const struct sockaddr *, socklen_t)) \
	X(listen, int, (int, int)) \
	X(accept, int, (int, struct sockaddr *, socklen_t *)) \
	X(accept4, int, (int, struct sockaddr *, socklen_t *, int)) \
	X(connect, int, (int, const struct sockaddr *, socklen_t)) \
	X(read, ssize_t, (int, void *, size_t)) \
	X(readv, ssize_t, (int, const struct iovec *, int)) \
	X(write, ssize_t, (int, const void *, size_t)) \
	X(writev, ssize_t, (int, const struct iovec *, int)) \
	X(recv, ssize_t, (int, void *, size_t, int)) \
	X(recvfrom, ssize_t, (int, void *, size_t, int, struct sockaddr *, socklen_t *)) \
	X(recvmsg, ssize_t, (int, struct msghdr *, int)) \
	X(recvmmsg, int, (int, struct mmsghdr *, unsigned int, int, struct timespec *)) \
	X(send, ssize_t, (int, const void *, size_t, int)) \
	X(sendto, ssize_t, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
	X(sendmsg, ssize_t, (int, const struct msghdr *, int)) \
	X(sendmmsg, int, (int, struct mmsghdr *, unsigned int, int)) \
	X(sendfile, ssize_t, (int, int, off_t *, size_t)) \
	X(splice, ssize_t, (int, loff_t *, int, loff_t *, size_t, unsigned int)) \
	X(close, int, (int)) \
	X(close_range, int, (unsigned int, unsigned int, int)) \
	X(closefrom, void, (int)) \
	X(shutdown, int, (int, int)) \
	X(getsockopt, int, (int, int, int, void *, socklen_t *)) \
	X(setsockopt, int, (int, int, int, const void *, socklen_t)) \
	X(getsockname, int, (int, struct sockaddr *, socklen_t *)) \
	X(getpeername, int, (int, struct sockaddr *, socklen_t *)) \
	X(fcntl, int, (int, int, ...)) \
	X(fcntl64, int, (int, int, ...)) \
	X(ioctl, int, (int, unsigned long, ...)) \
	X(poll, int, (struct pollfd *, nfds_t, int)) \
	X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
	X(select, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *)) \
	X(pselect, int, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)) \
	X(epoll_create, int, (int)) \
	X(epoll_create1, int, (int)) \
	X(epoll_ctl, int, (int, int, int, struct epoll_event *)) \
	X(epoll_wait, int, (int, struct epoll_event *, int, int)) \
	X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *)) \
	X(epoll_pwait2, int, (int, struct epoll_event *, int, const struct timespec *, const sigset_t *)) \
	X(preadv2, ssize_t, (int, const struct iovec *, int, off_t, int)) \
	X(preadv64v2, ssize_t, (int, const struct iovec *, int, off64_t, int)) \
	X(pwritev2, ssize_t, (int, const struct iovec *, int, off_t, int)) \
	X(pwritev64v2, ssize_t, (int, const struct iovec *, int, off64_t, int)) \
	X(sockatmark, int, (int)) \
	X(dup, int, (int)) \
	X(dup2, int, (int, int)) \
	X(dup3, int, (int, int, int)) \
	X(fork, pid_t, (void)) \
	X(_Fork, pid_t, (void)) \
	X(clone, int, (int (*)(void *), void *, int, void *, ...)) \
	X(fdopen, FILE *, (int, const char *)) \
	X(fclose, int, (FILE *)) \
	X(posix_spawn, int, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			     const posix_spawnattr_t *, char *const[], char *const[])) \
	X(posix_spawnp, int, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			      const posix_spawnattr_t *, char *const[], char *const[])) \
	X(posix_spawn_file_actions_adddup2, int, (posix_spawn_file_actions_t *, int, int)) \
	X(execve, int, (const char *, char *const[], char *const[])) \
	X(execvpe, int, (const char *, char *const[], char *const[])) \
	X(fexecve, int, (int, char *const[], char *const[])) \
	X(system, int, (const char *)) \
	X(popen, FILE *, (const char *, const char *)) \
	X(_exit, void, (int)) \
	X(_Exit, void, (int)) \
	X(setuid, int, (uid_t)) \
	X(setgid, int, (gid_t)) \
	X(seteuid, int, (uid_t)) \
	X(setegid, int, (gid_t)) \
	X(setreuid, int, (uid_t, uid_t)) \
	X(setregid, int, (gid_t, gid_t)) \
	X(setresuid, int, (uid_t, uid_t, uid_t)) \
	X(setresgid, int, (gid_t, gid_t, gid_t)) \
	X(setgroups, int, (size_t, const gid_t *)) \
	X(__read_chk, ssize_t, (int, void *, size_t, size_t)) \
	X(__recv_chk, ssize_t, (int, void *, size_t, size_t, int)) \
	X(__recvfrom_chk, ssize_t, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)) \
	X(__poll_chk, int, (struct pollfd *, nfds_t, int, size_t)) \
	X(__ppoll_chk, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t)) \
	X(__fdelt_chk, long, (long)) \
	X(getifaddrs, int, (struct ifaddrs **)) \
	X(if_nameindex, struct if_nameindex *, (void))

#define REAL_DECL(name, ret, args) SHIM_START_DATA static ret (*real_##name) args;
REAL_LIST(REAL_DECL)
#undef REAL_DECL
/* Used, not interposed. */
SHIM_START_DATA static ssize_t (*real_pread)(int, void *, size_t, off_t);
SHIM_START_DATA static off_t (*real_lseek)(int, off_t, int);
SHIM_START_DATA static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
SHIM_START_DATA static long (*real_syscall_fn)(long, ...);
SHIM_START_DATA static uintptr_t self_lo, self_hi;      /* this library's code, once init() found it (syscall) */
static int self_range_cb(struct dl_phdr_info *info, size_t size, void *data);

/* Exported wrappers are declared here (our own prototypes for the few that
 * glibc's headers do not declare), and are hidden symbols otherwise. */
int fcntl64(int fd, int cmd, ...);
void closefrom(int lowfd);
int close_range(unsigned int first, unsigned int last, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *sa,
		       socklen_t *salen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		size_t fdslen);
long __fdelt_chk(long d);
ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t bsd_signal(int sig, sighandler_t handler);
sighandler_t __sysv_signal(int sig, sighandler_t handler);
extern void __chk_fail(void) __attribute__((noreturn));
long syscall(long nr, ...);

SHIM_START_DATA static pthread_once_t init_once = PTHREAD_ONCE_INIT;
SHIM_START_DATA static bool enabled;                    /* written once under init_once */
/* This thread's calls into the library: shim_depth (shim.h); the program's
 * own code runs at shim_depth_base (0, or a handler's depth). */
static inline bool outside(void)
{
	return shim_depth == shim_depth_base;
}

/* Out of the library again: a handler deferred meanwhile runs now, as the
 * kernel's would at the return of the system call it came during. */
static inline void depth_leave(void)
{
	shim_depth--;
	if (shim_ndeferred && shim_depth == shim_depth_base)
		shim_deferred_run();
}

/* ---- the host: the runner ---- */

/* The stack lock exists before the stack does (the shim takes it from its
 * first call); the runner is created under it and uses it. The wake-ups the
 * shim collected under it go out after each unlock (stack/CONCURRENCY.md). */
SHIM_START_DATA static struct stack_lock lock;
SHIM_START_DATA static struct runner *runner;       /* under lock; NULL before start, after stop, in a fork child */
/* From the settings read when the stack starts (host_start, under lock); read again at exit. */
static uint32_t spin_us;
SHIM_START_DATA static uint64_t exit_linger_us;

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void exit_guard(int sig);

/* In the stack process, lock held: the program died with the stack running
 * (SIGKILL, _exit): its sockets close as the kernel closes a dead process's,
 * and the process carries the stack on as a keeper (keeper_adopt). */
static void host_orphan(struct runner *r, void *ctx)
{
	(void)ctx;
	shim_orphan();
	__atomic_store_n(&runner, NULL, __ATOMIC_RELEASE);
	keeper_adopt(r);
}

static int host_start(void *ctx)
{
	struct host_config cfg;
	char err[512];
	int r;

	(void)ctx;
	r = host_config_from_env(&cfg, env_get, err, sizeof(err));
	if (r < 0) {
		log_error("%s; Internet sockets fail with ENETDOWN", err);
		return r;
	}
	cfg.kernel_root = "/proc/sys";  /* read by runner_start, alongside a handover */
	spin_us = cfg.spin_us;
	__atomic_store_n(&exit_linger_us, cfg.linger_us, __ATOMIC_RELAXED);
	r = runner_start(&cfg, &lock, &runner);
	if (r == 0) {
		runner_set_orphan(runner, host_orphan, NULL);
		shim_guard_register(exit_guard);
	}
	/* A named stack's relays may be other processes' (PSTACK_STACK's
	 * joiners) before any of this one's is: a default SIGTERM hands them
	 * to a keeper from the start. */
	if (r == 0 && cfg.stack_name[0])
		shim_guard_arm(exit_guard);
	return r;
}

/* The stack's interface from the settings, read once (PSTACK_TAP, _ADDR,
 * _MAC, _MTU): what the interface ioctls, getifaddrs and IP_PKTINFO report,
 * whether the stack runs or not. */
static pthread_once_t iface_once = PTHREAD_ONCE_INIT;
static struct shim_iface iface_cfg;
static int iface_err;

static void iface_load(void)
{
	struct host_config cfg;
	char err[512];

	iface_err = host_config_from_env(&cfg, env_get, err, sizeof(err));
	if (iface_err < 0)
		return;     /* said once by the stack's start, if it ever starts */
	memcpy(iface_cfg.name, cfg.tap, sizeof(iface_cfg.name));
	iface_cfg.name[sizeof(iface_cfg.name) - 1] = 0;
	iface_cfg.addr = cfg.stack.addr;
	iface_cfg.prefix_len = cfg.stack.prefix_len;
	memcpy(iface_cfg.mac, cfg.stack.mac, sizeof(iface_cfg.mac));
	iface_cfg.mtu = cfg.stack.mtu;
	/* glibc's if_nametoindex asks the kernel through its own socket (not
	 * interposed). */
	iface_cfg.index = if_nametoindex(iface_cfg.name);
}

static int host_iface(void *ctx, struct shim_iface *out)
{
	(void)ctx;
	pthread_once(&iface_once, iface_load);
	if (iface_err < 0)
		return iface_err;
	*out = iface_cfg;
	return 0;
}

static struct stack *host_stack(void *ctx) { (void)ctx; return runner_stack(runner); }
static uint32_t host_spin_us(void *ctx) { (void)ctx; return spin_us; }
static void host_lock(void *ctx) { (void)ctx; stack_lock(&lock); }
static void host_unlock(void *ctx)
{
	(void)ctx;
	if (runner)
		runner_unlock(runner);
	else
		stack_unlock(&lock);
}
static uint64_t host_now(void *ctx) { (void)ctx; return runner_now(); }
static int host_spin(void *ctx, bool stop)
{
	(void)ctx;
	if (stop) {
		runner_spin_stop(runner);
		return 0;
	}
	return runner_poll_once(runner);
}
static int host_block_begin(void *ctx) { (void)ctx; return runner_block_begin(runner); }
static int host_drive(void *ctx, const bool *enough) { (void)ctx; return runner_drive(runner, enough); }
static void host_block_end(void *ctx, bool was_driver) { (void)ctx; runner_block_end(runner, was_driver); }
static void *host_relay_open(void *ctx, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			     const struct relay_cb *cb, void *gctx)
{
	(void)ctx;
	return runner ? runner_relay_open(runner, tcp, udp, fd, armed, cb, gctx) : NULL;
}
static void host_relay_lo(void *ctx, void *relay, int lo, int family)
{
	(void)ctx;
	if (runner)
		runner_relay_lo(runner, relay, lo, family);
}
static void host_relay_expose(void *ctx, void *relay)
{
	(void)ctx;
	if (runner)
		runner_relay_expose(runner, relay);
}
static void host_relay_forget(void *ctx, void *relay)
{
	(void)ctx;
	if (runner)
		runner_relay_forget(runner, relay);
}
static bool host_relay_push_claim(void *ctx, void *relay)
{
	(void)ctx;
	return runner && runner_relay_push_claim(runner, relay);
}
static void host_relay_push_read(void *ctx, void *relay)
{
	(void)ctx;
	runner_relay_push_read(relay);
}
/* The runner gone meanwhile (the program's exit): the relay is let go as
 * it is; whoever carries the stack on sends what it holds. */
static void host_relay_push_send(void *ctx, void *relay)
{
	(void)ctx;
	if (runner)
		runner_relay_push_send(runner, relay);
	else
		relay_push_drop(NULL, relay);
}
static long host_relay_recv_kept(void *ctx, void *relay, void *buf, size_t len, unsigned flags, uint64_t now)
{
	(void)ctx;
	return runner ? runner_relay_recv_kept(relay, buf, len, flags, now) : 0;
}
static long host_relay_inq_kept(void *ctx, void *relay)
{
	(void)ctx;
	return runner ? runner_relay_inq_kept(relay) : 0;
}
/* PSTACK_STACK's name, checked (shim/join.c asks at the first socket,
 * and at later ones until the process joins a stack or starts its own).
 * With a name, the rest of the settings are checked as a stack's start
 * checks them (a bad one fails the same way), and the log's are taken:
 * a joiner logs as the owner would. */
static int host_stack_name(void *ctx, char *out, size_t n)
{
	static bool logging;
	struct host_config cfg;
	char name[HOST_STACK_NAME_MAX + 1], err[512];

	(void)ctx;
	/* Without a name, nothing else is read here (as before: a bad
	 * setting is said when the stack starts, if it ever does). */
	if (config_parse_stack_name(getenv("PSTACK_STACK"), name, err, sizeof(err)) == 0 && !name[0]) {
		if (n)
			out[0] = 0;
		return 0;
	}
	if (host_config_from_env(&cfg, env_get, err, sizeof(err)) < 0) {
		log_error("%s; Internet sockets fail with ENETDOWN", err);
		return -EINVAL;
	}
	snprintf(out, n, "%s", cfg.stack_name);
	if (!logging) {
		logging = true;
		log_set_level(cfg.log_level);
		if (cfg.log_file[0])
			logsink_file(cfg.log_file);
	}
	return 0;
}

/* ---- the keeper (stack/host/keeper.h) ---- */

/* This thread forks a keeper, with the locks our atfork handlers take held
 * already: they stand aside. */
static _Thread_local bool t_keeper_fork;

static pid_t keeper_fork(void)
{
	pid_t pid;

	t_keeper_fork = true;
	pid = real_fork();
	t_keeper_fork = false;
	return pid;
}

/* The keeper's middle child (one thread): glibc's _Fork, no handlers; its
 * fork() where the C library has no _Fork (before glibc 2.34). */
static pid_t keeper_fork_bare(void)
{
	pid_t (*f)(void) = real__Fork ? real__Fork : (pid_t (*)(void))dlsym(RTLD_NEXT, "_Fork");

	return f ? f() : real_fork();
}

/* In the keeper, the owner gone: ctx set when it exec'd. */
static void keeper_child(void *ctx)
{
	shim_keeper_child(ctx != NULL);
	runner = NULL;      /* runner_keep runs it; no unlock goes through the host's */
	stack_unlock(&lock);
}

static const struct keeper_hooks keeper_at_exit = { .fork = keeper_fork, .fork_bare = keeper_fork_bare, .child = keeper_child, .ctx = NULL };
/* The owner's image goes without its exit path (exec, a signal): the keeper closes its sockets. */
static const struct keeper_hooks keeper_at_exec = { .fork = keeper_fork, .fork_bare = keeper_fork_bare, .child = keeper_child,
						    .ctx = (void *)&keeper_at_exec };

/* Stack lock held, r's relays open: r paused and handed to a keeper. 0 with
 * the stack lock and the fd table's held; else r runs again (lock held). */
static int keeper_handoff(struct runner *r, uint64_t linger_us, bool at_exec, int *gate)
{
	int rc;

	runner_pause(r);
	shim_keeper_prepare();
	rc = keeper_start(r, linger_us, at_exec, gate, at_exec ? &keeper_at_exec : &keeper_at_exit);
	if (rc) {
		shim_keeper_parent();
		log_warn("cannot fork a keeper for the exposed sockets (%s): they close with this process",
			 strerror(-rc));
		runner_resume(r);
	}
	return rc;
}

static void host_stop(void *ctx, uint64_t linger_us)
{
	struct runner *r;
	int gate;

	(void)ctx;
	/* Forgotten first: no unlock goes through the runner from now on. */
	stack_lock(&lock);
	r = runner;
	runner = NULL;
	/* Relays serve fds that other processes hold (a child, a program this
	 * one exec'd): a keeper carries the stack on. The shim let go of this
	 * process's own copies (shim_exit): a relay nobody else holds shows it. */
	if (r && runner_relays_left(r) && runner_relays_held(r) && keeper_handoff(r, linger_us, false, &gate) == 0) {
		shim_keeper_parent();
		stack_unlock(&lock);
		runner_release(r);
		log_debug("exit: a keeper process carries the exposed sockets on");
		return;
	}
	stack_unlock(&lock);
	runner_stop(r, linger_us);
}

/* In the stack thread, lock held, asked by exit_guard: the keeper is
 * forked from there (the thread the signal interrupted may hold anything). */
static int keeper_from_thread(struct runner *r, void *ctx)
{
	int gate, rc;

	(void)ctx;
	if (!runner_relays_left(r))
		return -ENOENT;
	shim_keeper_prepare();
	rc = keeper_start(r, __atomic_load_n(&exit_linger_us, __ATOMIC_RELAXED), false, &gate, &keeper_at_exec);
	shim_keeper_parent();
	return rc;
}

/*
 * SIGTERM, SIGINT, SIGHUP at their default action (shim_guard_arm, from the
 * first exposed socket on: shim_guard_register): the
 * process dies of it, but first the exposed sockets go to a keeper, as at
 * exit. The stack thread forks it; this handler only asks and waits, at
 * most KEEPER_ASK_US (bounded: the interrupted thread may hold a lock the
 * fork needs), then dies of the signal as the default action would.
 */
#define KEEPER_ASK_US 2000000u

static void exit_guard(int sig)
{
	struct runner *r = __atomic_load_n(&runner, __ATOMIC_ACQUIRE);
	struct sigaction dfl;
	sigset_t one;

	if (r && !shim_vfork_child())
		(void)runner_keeper_request(r, keeper_from_thread, NULL, KEEPER_ASK_US);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
}

/* The relays' fds (relay_fork_prepare) after the shim's locks. The
 * keeper's fork (t_keeper_fork) is made with the stack lock held: the
 * keeper takes every relay fd with it. */
static void fork_prepare(void)
{
	if (t_keeper_fork)
		return;
	shim_fork_prepare();
	relay_fork_prepare();
}

static void fork_parent(void)
{
	if (t_keeper_fork)
		return;
	relay_fork_parent();
	shim_fork_parent();
}

static void fork_child(void)
{
	if (t_keeper_fork)
		return;     /* the keeper: keeper_child does it, once it is one */
	/* The child has no stack thread: its unlocks are plain ones. Under the
	 * lock, which shim_fork_prepare took before fork(). The relays' fds
	 * are the parent's. */
	runner_fork_child(runner);
	runner = NULL;
	shim_fork_child();
}

static void at_exit_drain(void)
{
	if (enabled)
		shim_exit(__atomic_load_n(&exit_linger_us, __ATOMIC_RELAXED));
}

/* ---- faults: SIGSEGV and SIGBUS ----
 *
 * The library's handler is installed at start, for good. A fault inside one
 * of the shim's copies of the program's memory goes back to that copy
 * (shim_user_fault: EFAULT); every other one, and every SIGSEGV/SIGBUS that
 * a process sends, is the program's: its handler runs as the kernel would
 * have run it (its sa_mask, SA_NODEFER, SA_RESETHAND, SA_SIGINFO), and with
 * SIG_DFL the default action happens (the fault runs again without our
 * handler: killed by that signal, with a core). The program's dispositions
 * are kept here: sigaction(), signal() & co. on these two signals record
 * them and answer with them, so the program sees what it set.
 *
 * Ours is installed with SA_NODEFER and an empty sa_mask (the kernel changes
 * no mask to run it; a copy's jump back puts the interrupted mask back in any
 * case, shim/ucopy.c); SA_ONSTACK and SA_RESTART follow the program's.
 *
 * A disposition is an immutable record, published by an atomic pointer
 * (the handler reads it without a lock); the records are kept, one per
 * distinct disposition ever set, so a program that switches between two
 * handlers uses two. Setting one is async-signal-safe, as sigaction() is (a
 * crash handler often resets SIG_DFL before it re-raises): the records come
 * from a static pool (malloc only past FAULT_POOL distinct ones), and the
 * writers' lock is a spin lock held with every signal blocked.
 */
struct fault_disp {
	struct sigaction act;
	struct fault_disp *next;        /* every record (under fault_lock) */
};

#define FAULT_POOL 64

#ifdef __x86_64__
#define FAULT_SA_RESTORER 0x04000000    /* what glibc adds to every action it sets */
#else
#define FAULT_SA_RESTORER 0
#endif

SHIM_START_DATA static atomic_flag fault_lock = ATOMIC_FLAG_INIT;
static struct fault_disp fault_pool[FAULT_POOL];      /* under fault_lock */
SHIM_START_DATA static unsigned fault_pool_used;                       /* under fault_lock */
SHIM_START_DATA static struct fault_disp *fault_disps;                 /* under fault_lock */
SHIM_START_DATA static _Atomic(const struct fault_disp *) fault_prog[2];   /* SIGSEGV, SIGBUS */
static const struct fault_disp fault_dfl = { .act = { .sa_handler = SIG_DFL } };
SHIM_START_DATA static atomic_bool fault_on;                           /* our handler is installed */

static int fault_index(int sig)
{
	return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1;
}

static void fault_handler(int sig, siginfo_t *si, void *uc);

/* Installs ours with the program's SA_ONSTACK and SA_RESTART. */
static int fault_install(int sig, const struct sigaction *prog, struct sigaction *old)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_sigaction = fault_handler;
	sigemptyset(&a.sa_mask);
	a.sa_flags = SA_SIGINFO | SA_NODEFER | (prog->sa_flags & (SA_ONSTACK | SA_RESTART));
	return real_sigaction(sig, &a, old);
}

/* Takes the writers' lock with every signal blocked (*old: the mask to give back). */
static void fault_lock_take(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	while (atomic_flag_test_and_set_explicit(&fault_lock, memory_order_acquire))
		;
}

static void fault_lock_give(const sigset_t *old)
{
	atomic_flag_clear_explicit(&fault_lock, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* fault_lock held: the record for act, made if it is new. */
static const struct fault_disp *fault_record(const struct sigaction *act)
{
	struct fault_disp *d;

	for (d = fault_disps; d; d = d->next)
		if (d->act.sa_handler == act->sa_handler && d->act.sa_flags == act->sa_flags &&
		    memcmp(&d->act.sa_mask, &act->sa_mask, sizeof(act->sa_mask)) == 0)
			return d;
	d = fault_pool_used < FAULT_POOL ? &fault_pool[fault_pool_used++] : calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->act = *act;
	d->next = fault_disps;
	fault_disps = d;
	return d;
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	int i = fault_index(sig);
	const struct fault_disp *d;
	void (*fn)(int);
	sigset_t m;

	(void)shim_user_fault(sig, si, uc);     /* returns only when the fault is not a copy's */
	if (i < 0)
		return;
	d = atomic_load_explicit(&fault_prog[i], memory_order_acquire);
	fn = d->act.sa_handler;
	/* A fault with the signal ignored kills, like the kernel's
	 * force_sig_fault; a signal sent while ignored is nothing. */
	if (fn == SIG_IGN && si && si->si_code <= 0)
		return;
	if (fn == SIG_DFL || fn == SIG_IGN) {
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		atomic_store(&fault_on, false);
		real_sigaction(sig, &dfl, NULL);
		/* A fault happens again on return, now with the default
		 * action; a sent signal is sent again. */
		if (!si || si->si_code <= 0)
			raise(sig);
		return;
	}
	m = d->act.sa_mask;
	if (!(d->act.sa_flags & SA_NODEFER))
		sigaddset(&m, sig);
	/* The mask the kernel would have set; the return from this handler
	 * restores the one before (ucontext's). */
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	if (d->act.sa_flags & SA_RESETHAND)
		atomic_store_explicit(&fault_prog[i], &fault_dfl, memory_order_release);
	if (d->act.sa_flags & SA_SIGINFO)
		d->act.sa_sigaction(sig, si, uc);
	else
		fn(sig);
	/* A socket call this signal interrupted restarts as its handler says. */
	shim_signal_ran(sig, d->act.sa_flags);
}

static const int fault_sigs[2] = { SIGSEGV, SIGBUS };

/* Installs the handler (init), keeping what was there as the program's. */
static void fault_start(void)
{
	struct sigaction old[2];
	const struct fault_disp *d[2];
	sigset_t mask;

	for (int i = 0; i < 2; i++)
		if (real_sigaction(fault_sigs[i], NULL, &old[i]) < 0)
			return;
	/* One hold of the lock for both records: each take and give is a
	 * signal mask change, a system call of every program's start. */
	fault_lock_take(&mask);
	for (int i = 0; i < 2; i++)
		d[i] = fault_record(&old[i]);
	fault_lock_give(&mask);
	for (int i = 0; i < 2; i++) {
		if (!d[i])
			return;
		atomic_store(&fault_prog[i], d[i]);
	}
	for (int i = 0; i < 2; i++)
		if (fault_install(fault_sigs[i], &atomic_load(&fault_prog[i])->act, NULL) < 0)
			return;
	atomic_store(&fault_on, true);
}

/* sigaction() on SIGSEGV/SIGBUS while our handler is in: the program's
 * disposition is recorded and reported. act and old are the library's
 * copies (do_sigaction). 0 or -errno. */
static int fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = fault_index(sig);
	const struct fault_disp *cur, *d;
	struct sigaction a;
	sigset_t mask;
	int r = 0;

	if (!act) {
		if (old)
			*old = atomic_load_explicit(&fault_prog[i], memory_order_acquire)->act;
		return 0;
	}
	a = *act;
	a.sa_flags |= FAULT_SA_RESTORER;
	fault_lock_take(&mask);
	cur = atomic_load(&fault_prog[i]);
	d = fault_record(&a);
	if (!d)
		r = -ENOMEM;
	else if ((d->act.sa_flags ^ cur->act.sa_flags) & (SA_ONSTACK | SA_RESTART))
		r = fault_install(sig, &d->act, NULL) < 0 ? -errno : 0;
	if (r == 0)
		atomic_store_explicit(&fault_prog[i], d, memory_order_release);
	fault_lock_give(&mask);
	if (r == 0 && old)
		*old = cur->act;
	return r;
}

/* Whether this sigaction-like call is ours to answer. A vfork() child
 * shares our memory but not our handlers: its calls are its own. */
static bool fault_mine(int sig)
{
	return fault_index(sig) >= 0 && atomic_load(&fault_on) && !shim_vfork_child();
}

/* The shim's view of the dispositions (its restart and signal checks): the
 * program's for these two signals. */
static int prog_sigaction_query(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (fault_mine(sig)) {
		int r = fault_sigaction(sig, act, old);

		if (r < 0) {
			errno = -r;
			return -1;
		}
		return 0;
	}
	return real_sigaction(sig, act, old);
}

/* ---- initialisation ---- */

static void *resolve(const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p && p == self) {
		/* Loaded in a way where "next" is ourselves: refuse to start (one
		 * line, from init) and pass everything to libc's own function. */
		void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

		p = libc ? dlsym(libc, name) : NULL;
		if (p == self)
			p = NULL;
		enabled = false;
	}
	return p;
}

/* The note of the exposed sockets an exec'd image keeps (shim_exec_note). */
#define EXPOSED_VAR "PSTACK_EXPOSED"
/* "LD_PRELOAD=" and this process's value at start ("" when none or too long). */
static char preload_var[4096];

static void init(void)
{
	const char *note;
	struct shim_libc libc;
	struct shim_host host = {
		.ctx = NULL, .start = host_start, .stack = host_stack, .lock = host_lock,
		.unlock = host_unlock, .now = host_now, .stop = host_stop, .spin = host_spin,
		.block_begin = host_block_begin, .drive = host_drive, .block_end = host_block_end,
		.spin_us = host_spin_us, .iface = host_iface,
		.relay_open = host_relay_open, .relay_expose = host_relay_expose, .relay_lo = host_relay_lo, .udp_lo = true,
		.relay_forget = host_relay_forget, .relay_push_claim = host_relay_push_claim,
		.relay_push_read = host_relay_push_read, .relay_push_send = host_relay_push_send,
		.relay_recv_kept = host_relay_recv_kept, .relay_inq_kept = host_relay_inq_kept,
		.stack_name = host_stack_name,
	};

	enabled = true;
#if !defined(__x86_64__)
	/* No vfork stub here (it is assembly): ask for the pid on every call. */
	__atomic_store_n(&shim_clone_seen, 1, __ATOMIC_SEQ_CST);
#endif
#define REAL_RESOLVE(name, ret, args) \
	real_##name = (ret (*) args)resolve(#name, (void *)name);
	REAL_LIST(REAL_RESOLVE)
#undef REAL_RESOLVE
	real_pread = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
	__atomic_store_n(&real_syscall_fn, (long (*)(long, ...))resolve("syscall", (void *)syscall), __ATOMIC_RELEASE);
	/* Where this library's code lies: its own syscall() calls pass through. */
	dl_iterate_phdr(self_range_cb, (void *)(uintptr_t)init);
	real_lseek = (off_t (*)(int, off_t, int))dlsym(RTLD_NEXT, "lseek");
	real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
	/* Functions absent from an older libc are simply not interposed. */
	if (!real_socket || !real_close || !real_read || !real_write || !real_ppoll || !real_fcntl ||
	    !real_dup3 || !real_epoll_ctl || !real_epoll_pwait || !real_sigaction || !real_syscall_fn)
		enabled = false;
	if (!enabled) {
		fprintf(stderr, "pstack: the C library's functions resolve to pstack itself (or are "
			"missing); the stack is disabled and every call goes to the kernel\n");
		return;
	}
	libc = (struct shim_libc){
		.socket = real_socket, .close = real_close, .dup = real_dup, .dup3 = real_dup3,
		.fcntl = real_fcntl, .ioctl = real_ioctl, .setsockopt = real_setsockopt,
		.getsockopt = real_getsockopt, .ppoll = real_ppoll, .epoll_ctl = real_epoll_ctl,
		.epoll_pwait = real_epoll_pwait, .read = real_read, .write = real_write,
		.pread = real_pread, .lseek = real_lseek, .sigaction = prog_sigaction_query,
		.recvmsg = real_recvmsg, .recvfrom = real_recvfrom, .connect = real_connect,
		.bind = real_bind,
	};
	stack_lock_init(&lock, shim_wake_flush);
	/* The core's log lines go to stderr until the settings say otherwise. */
	logsink_stderr();
	shim_init(&libc, &host);
	/* An image exec'd with exposed sockets: their entries again. */
	{
		/* Ours, for an exec that drops it (exec_env). */
		const char *lp = getenv("LD_PRELOAD");
		size_t n = lp ? strlen(lp) : 0;

		/* Not snprintf: its first call in a process faults in the
		 * pages of stdio's formatting code, a start's cost for every
		 * program the preload runs. */
		if (lp && n + sizeof("LD_PRELOAD=") <= sizeof(preload_var)) {
			memcpy(preload_var, "LD_PRELOAD=", sizeof("LD_PRELOAD=") - 1);
			memcpy(preload_var + sizeof("LD_PRELOAD=") - 1, lp, n + 1);
		}
	}
	note = getenv(EXPOSED_VAR);
	if (note) {
		shim_exec_adopt(note);
		unsetenv(EXPOSED_VAR);
	}
	fault_start();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) static void preload_ctor(void)
{
	pthread_once(&init_once, init);
}

__attribute__((destructor)) static void preload_dtor(void)
{
	at_exit_drain();
}

/* True when the library is initialised and enabled. */
static inline bool on(void)
{
	pthread_once(&init_once, init);
	return enabled;
}

/* May this call go to the shim? The fd check (two atomic loads) comes
 * before the thread-local re-entry check, so the path every read() and
 * write() on a file takes touches neither TLS nor a lock. */
static inline bool mine(int fd)
{
	return on() && shim_owns(fd) && outside();
}

/* For calls without one fd (socket, poll, select, dup2). */
static inline bool any(void)
{
	return on() && outside();
}

static inline long ret(long r, int saved)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = saved;
	return r;
}

/* Runs a shim call with the re-entry guard; SHIM_PASS falls to the real call. */
#define SHIM_CALL(call, real_call) do { \
		int saved_ = errno; \
		long r_; \
		shim_depth++; \
		r_ = (long)(call); \
		depth_leave(); \
		if (r_ == SHIM_PASS) { \
			errno = saved_; \
			return real_call; \
		} \
		return ret(r_, saved_); \
	} while (0)

/* For the calls that write, around the real call (SHIM_CALL_OUT): after
 * one on an exposed socket's kernel fd, the bytes may leave from this
 * thread (shim_exposed_wrote). */
static long wrote(int fd, long r)
{
	if (r > 0) {
		int saved = errno;

		shim_depth++;
		shim_exposed_wrote(fd);
		depth_leave();
		errno = saved;
	}
	return r;
}
#define SHIM_CALL_OUT(fd, call, real_call) SHIM_CALL(call, wrote((fd), (long)(real_call)))

/* For the calls that read, around the real call (SHIM_CALL_IN): one that
 * found the end of file on an exposed TCP socket's kernel fd may still have
 * bytes to return, those that arrived after the program's shutdown(SHUT_RD)
 * (shim_exposed_read_end). */
static long read_end(int fd, const struct iovec *iov, int cnt, int flags, long r)
{
	int saved = errno;
	ssize_t n;

	if (r != 0)
		return r;
	shim_depth++;
	n = shim_exposed_read_end(fd, iov, cnt, flags);
	depth_leave();
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	errno = saved;
	return n;
}

static long read_end_buf(int fd, void *buf, size_t len, int flags, long r)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };

	return r == 0 ? read_end(fd, &v, 1, flags, r) : r;
}

/* The message was just read by the kernel: a copy of it, as shim_copy
 * reads the program's memory. */
static long read_end_msg(int fd, const struct msghdr *msg, int flags, long r)
{
	struct msghdr m;

	if (r != 0 || !msg || shim_copy(&m, msg, sizeof(m)) || m.msg_iovlen > IOV_MAX)
		return r;
	return read_end(fd, m.msg_iov, (int)m.msg_iovlen, flags, r);
}
/* And FIONREAD counts those bytes (shim_exposed_inq). */
static int inq_end(int fd, unsigned long req, void *arg, int r)
{
	int saved = errno, e;

	if (r != 0 || req != FIONREAD)
		return r;
	shim_depth++;
	e = shim_exposed_inq(fd, arg);
	depth_leave();
	if (e < 0) {
		errno = -e;
		return -1;
	}
	errno = saved;
	return r;
}
#define SHIM_CALL_IN(fd, buf, n, flags, call, real_call) \
	SHIM_CALL(call, read_end_buf((fd), (buf), (n), (flags), (long)(real_call)))

/* ---- sockets ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	if (!any())
		return real_socket(domain, type, protocol);
	SHIM_CALL(shim_socket(domain, type, protocol), real_socket(domain, type, protocol));
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!mine(fd))
		return real_bind(fd, sa, len);
	SHIM_CALL(shim_bind(fd, sa, len), real_bind(fd, sa, len));
}

EXPORT int listen(int fd, int backlog)
{
	if (!mine(fd))
		return real_listen(fd, backlog);
	SHIM_CALL(shim_listen(fd, backlog), real_listen(fd, backlog));
}

EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (!mine(fd))
		return real_accept(fd, sa, len);
	SHIM_CALL(shim_accept4(fd, sa, len, 0), real_accept(fd, sa, len));
}

EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	if (!mine(fd))
		return real_accept4(fd, sa, len, flags);
	SHIM_CALL(shim_accept4(fd, sa, len, flags), real_accept4(fd, sa, len, flags));
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!mine(fd))
		return real_connect(fd, sa, len);
	SHIM_CALL(shim_connect(fd, sa, len), real_connect(fd, sa, len));
}

EXPORT int shutdown(int fd, int how)
{
	if (!mine(fd))
		return real_shutdown(fd, how);
	SHIM_CALL(shim_shutdown(fd, how), real_shutdown(fd, how));
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	if (!mine(fd))
		return real_getsockopt(fd, level, name, val, len);
	/* The value read straight into errno (dante's connectstatus:
	 * getsockopt(s, SOL_SOCKET, SO_ERROR, &errno, ...)): the kernel
	 * writes it there and the C library leaves errno alone on success,
	 * where SHIM_CALL would put the errno from before the call back. */
	if (val == (void *)&errno && len && *len == sizeof(int)) {
		int v = errno, r = getsockopt(fd, level, name, &v, len);

		if (r == 0)
			errno = v;
		return r;
	}
	SHIM_CALL(shim_getsockopt(fd, level, name, val, len), real_getsockopt(fd, level, name, val, len));
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (!mine(fd))
		return real_setsockopt(fd, level, name, val, len);
	SHIM_CALL(shim_setsockopt(fd, level, name, val, len), real_setsockopt(fd, level, name, val, len));
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (!mine(fd))
		return real_getsockname(fd, sa, len);
	SHIM_CALL(shim_getsockname(fd, sa, len), real_getsockname(fd, sa, len));
}

EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	if (!mine(fd))
		return real_getpeername(fd, sa, len);
	SHIM_CALL(shim_getpeername(fd, sa, len), real_getpeername(fd, sa, len));
}

/* ---- data ---- */

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (!mine(fd))
		return real_read(fd, buf, n);
	SHIM_CALL_IN(fd, buf, n, 0, shim_read(fd, buf, n), real_read(fd, buf, n));
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (!mine(fd))
		return real___read_chk(fd, buf, n, buflen);
	if (n > buflen)
		__chk_fail();
	SHIM_CALL_IN(fd, buf, n, 0, shim_read(fd, buf, n), real___read_chk(fd, buf, n, buflen));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	if (!mine(fd))
		return real_readv(fd, iov, n);
	SHIM_CALL(shim_readv(fd, iov, n), read_end(fd, iov, n, 0, (long)real_readv(fd, iov, n)));
}

/* preadv2/pwritev2 at offset -1 read and write a socket (at any other
 * offset the placeholder answers as the kernel does: ESPIPE, EINVAL). */
EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	if (!mine(fd) || off != -1)
		return real_preadv2(fd, iov, n, off, flags);
	SHIM_CALL(shim_rwv2(fd, iov, n, flags, false), real_preadv2(fd, iov, n, off, flags));
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags)
{
	if (!mine(fd) || off != -1)
		return real_preadv64v2(fd, iov, n, off, flags);
	SHIM_CALL(shim_rwv2(fd, iov, n, flags, false), real_preadv64v2(fd, iov, n, off, flags));
}

EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	if (!mine(fd) || off != -1)
		return real_pwritev2(fd, iov, n, off, flags);
	SHIM_CALL_OUT(fd, shim_rwv2(fd, iov, n, flags, true), real_pwritev2(fd, iov, n, off, flags));
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags)
{
	if (!mine(fd) || off != -1)
		return real_pwritev64v2(fd, iov, n, off, flags);
	SHIM_CALL_OUT(fd, shim_rwv2(fd, iov, n, flags, true), real_pwritev64v2(fd, iov, n, off, flags));
}

/* glibc's sockatmark asks its own ioctl, which no preload sees: ours. */
EXPORT int sockatmark(int fd)
{
	int answ;

	if (!mine(fd))
		return real_sockatmark(fd);
	return ioctl(fd, SIOCATMARK, &answ) == -1 ? -1 : answ;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (!mine(fd))
		return real_write(fd, buf, n);
	SHIM_CALL_OUT(fd, shim_sendto(fd, buf, n, 0, NULL, 0), real_write(fd, buf, n));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (!mine(fd))
		return real_writev(fd, iov, n);
	SHIM_CALL_OUT(fd, shim_writev(fd, iov, n), real_writev(fd, iov, n));
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (!mine(fd))
		return real_recv(fd, buf, n, flags);
	SHIM_CALL_IN(fd, buf, n, flags, shim_recvfrom(fd, buf, n, flags, NULL, NULL), real_recv(fd, buf, n, flags));
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (!mine(fd))
		return real___recv_chk(fd, buf, n, buflen, flags);
	if (n > buflen)
		__chk_fail();
	SHIM_CALL_IN(fd, buf, n, flags, shim_recvfrom(fd, buf, n, flags, NULL, NULL),
		     real___recv_chk(fd, buf, n, buflen, flags));
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *salen)
{
	if (!mine(fd))
		return real_recvfrom(fd, buf, n, flags, sa, salen);
	SHIM_CALL_IN(fd, buf, n, flags, shim_recvfrom(fd, buf, n, flags, sa, salen),
		     real_recvfrom(fd, buf, n, flags, sa, salen));
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *sa,
			      socklen_t *salen)
{
	if (!mine(fd))
		return real___recvfrom_chk(fd, buf, n, buflen, flags, sa, salen);
	if (n > buflen)
		__chk_fail();
	SHIM_CALL_IN(fd, buf, n, flags, shim_recvfrom(fd, buf, n, flags, sa, salen),
		     real___recvfrom_chk(fd, buf, n, buflen, flags, sa, salen));
}

/*
 * The other side of expose_passed: stack sockets that came in a message on
 * a Unix socket get their entries back from the names their senders gave
 * them (shim_adopt_passed), so that getpeername() and the options answer
 * for the connection, not for the Unix socket. The message was just written
 * by the kernel: readable.
 */
static void adopt_passed(const struct msghdr *m)
{
	int saved;

	if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr) || !any())
		return;
	saved = errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR((struct msghdr *)m, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(pfd));
			shim_depth++;
			shim_adopt_passed(pfd);
			depth_leave();
		}
	}
	errno = saved;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!mine(fd)) {
		ssize_t r = real_recvmsg(fd, msg, flags);

		if (r >= 0)
			adopt_passed(msg);
		return r;
	}
	SHIM_CALL(shim_recvmsg(fd, msg, flags), read_end_msg(fd, msg, flags, (long)real_recvmsg(fd, msg, flags)));
}

EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout)
{
	if (!mine(fd)) {
		int r = real_recvmmsg(fd, v, n, flags, timeout);

		for (int i = 0; i < r; i++)
			adopt_passed(&v[i].msg_hdr);
		return r;
	}
	SHIM_CALL(shim_recvmmsg(fd, v, n, flags, timeout), real_recvmmsg(fd, v, n, flags, timeout));
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (!mine(fd))
		return real_send(fd, buf, n, flags);
	SHIM_CALL_OUT(fd, shim_sendto(fd, buf, n, flags, NULL, 0), real_send(fd, buf, n, flags));
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t salen)
{
	if (!mine(fd))
		return real_sendto(fd, buf, n, flags, sa, salen);
	SHIM_CALL_OUT(fd, shim_sendto(fd, buf, n, flags, sa, salen), real_sendto(fd, buf, n, flags, sa, salen));
}

/* Reads n bytes at the program's p into buf, false where it cannot be
 * read: what the kernel would answer EFAULT for must not fault here
 * (shim_copy: no system call, which every sendmsg() on another fd would
 * otherwise pay). */
static bool user_read(void *buf, const void *p, size_t n)
{
	return shim_copy(buf, p, n) == 0;
}

/*
 * Stack sockets passed to another process over a Unix socket (SCM_RIGHTS:
 * Node's cluster primary hands each connection it accepts to a worker this
 * way): the receiver gets the fd's kernel file, which must then be live
 * (shim/expose.c), as for a child that inherits it; and from then on
 * another process may hold a relay's program end (relay_solo_end). The
 * message and its control data are read as the kernel reads them (a copy;
 * one it cannot read is its EFAULT, not looked at here).
 */
static void expose_passed(const struct msghdr *msg)
{
	union {
		struct cmsghdr align;
		char buf[1024];
	} ctl;
	struct msghdr m;
	int saved;

	if (!msg || !any())
		return;
	saved = errno;
	if (!user_read(&m, msg, sizeof(m)) || !m.msg_control || m.msg_controllen < sizeof(struct cmsghdr))
		goto out;
	/* Larger than this: the first 1024 bytes (253 fds); the kernel
	 * takes at most SCM_MAX_FD, 253, in one message. */
	if (m.msg_controllen > sizeof(ctl.buf))
		m.msg_controllen = sizeof(ctl.buf);
	if (!user_read(ctl.buf, m.msg_control, m.msg_controllen))
		goto out;
	m.msg_control = ctl.buf;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0) ||
		    (char *)cm + cm->cmsg_len > ctl.buf + m.msg_controllen)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(pfd));
			if (!mine(pfd))
				continue;
			relay_solo_end();
			shim_depth++;
			shim_expose(pfd);
			/* An unconnected UDP socket: framed, as a fork
			 * child's copy (the receiver's datagrams carry their
			 * addresses through the relay). */
			shim_expose_dgram(pfd);
			shim_name_passed(pfd);
			depth_leave();
		}
	}
out:
	errno = saved;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!mine(fd)) {
		expose_passed(msg);
		return real_sendmsg(fd, msg, flags);
	}
	SHIM_CALL_OUT(fd, shim_sendmsg(fd, msg, flags), real_sendmsg(fd, msg, flags));
}

EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	if (!mine(fd)) {
		for (unsigned int i = 0; v && i < n && i < UIO_MAXIOV; i++)
			expose_passed(&v[i].msg_hdr);
		return real_sendmmsg(fd, v, n, flags);
	}
	SHIM_CALL(shim_sendmmsg(fd, v, n, flags), real_sendmmsg(fd, v, n, flags));
}

EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	if (!mine(out_fd) && !mine(in_fd))
		return real_sendfile(out_fd, in_fd, offset, count);
	SHIM_CALL(shim_sendfile(out_fd, in_fd, offset, count), real_sendfile(out_fd, in_fd, offset, count));
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return sendfile(out_fd, in_fd, offset, count);
}

/* Between a stack socket and a pipe (the placeholder would answer ENOTCONN).
 * tee() is not interposed: it takes two pipes, and the kernel's EINVAL for
 * a placeholder is Linux's answer for a socket. */
EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned int flags)
{
	if (!mine(in) && !mine(out))
		return real_splice(in, off_in, out, off_out, len, flags);
	SHIM_CALL(shim_splice(in, off_in, out, off_out, len, flags), real_splice(in, off_in, out, off_out, len, flags));
}

/* ---- descriptors ---- */

EXPORT int close(int fd)
{
	if (!mine(fd)) {
		if (on() && shim_protected(fd))
			return 0;   /* one of ours: the program never opened it */
		return real_close(fd);
	}
	SHIM_CALL(shim_close(fd), real_close(fd));
}

/*
 * syscall(SYS_close, fd): libuv (Node.js, BIND 9) closes every fd this way,
 * not with close(), to skip the cancellation point. On the kernel it is
 * close(); here an fd closed so stayed in the library's table, its
 * connection open until the exit (a Node server's closed connections in
 * TIME_WAIT never became orphans: killed by SIGTERM, its stack then held
 * the TAP for PSTACK_LINGER_MS instead of handing it over), and a file that
 * later got the number was taken for the socket. So it goes through
 * close(). The library's own system calls (stack/dev/sysc.h calls the C
 * library's syscall() too, and so reaches this function) and every other
 * number pass straight through.
 *
 * syscall(SYS_recvmmsg) and syscall(SYS_sendmmsg): libuv 1.44 (Debian 12's,
 * under BIND 9's named and Node.js) reads and sends its UDP datagrams this
 * way, not with recvmmsg() and sendmmsg(). On the kernel they are those
 * calls; here the raw call met the placeholder, which has no datagram: the
 * socket's epoll said readable, recvmmsg answered EAGAIN, and named, its
 * UDP listeners made this way, never answered a query over UDP. So a stack
 * socket's goes through the interposed functions, as close() does above.
 */
static int self_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t me = (uintptr_t)data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < hi) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

static bool syscall_forks(long nr, const long *a);
static long syscall_fork(long (*f)(long, ...), long nr, const long *a);

EXPORT long syscall(long nr, ...)
{
	long (*f)(long, ...) = __atomic_load_n(&real_syscall_fn, __ATOMIC_ACQUIRE);
	uintptr_t from = (uintptr_t)__builtin_return_address(0);
	long a[6];
	va_list ap;

	/* As the C library's syscall() does: six arguments, whatever the number. */
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_close && self_hi && (from < self_lo || from >= self_hi) && a[0] >= 0 && a[0] <= INT_MAX &&
	    (mine((int)a[0]) || (on() && shim_protected((int)a[0]))))
		return close((int)a[0]);
	if ((nr == SYS_recvmmsg || nr == SYS_sendmmsg) && self_hi && (from < self_lo || from >= self_hi) &&
	    a[0] >= 0 && a[0] <= INT_MAX && mine((int)a[0])) {
		if (nr == SYS_sendmmsg)
			return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3],
				(struct timespec *)a[4]);
	}
	if (!f) {
		/* Before init(): a constructor that ran before ours. */
		f = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real_syscall_fn, f, __ATOMIC_RELEASE);
	}
	if (syscall_forks(nr, a))
		return syscall_fork(f, nr, a);
	return f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* close_range without our own descriptors: the real call on the pieces around them. */
static int close_range_around(unsigned int first, unsigned int last, int flags)
{
	unsigned int lo = first;

	while (lo <= last) {
		int p = shim_protected_next(lo, last);
		unsigned int hi = p < 0 ? last : (unsigned int)p - 1;

		if ((p < 0 || (unsigned int)p > lo) && real_close_range(lo, hi, flags) < 0)
			return -1;
		if (p < 0 || (unsigned int)p == last)
			break;
		lo = (unsigned int)p + 1;
	}
	return 0;
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int saved = errno, r;

	if (!any() || first > last)
		return real_close_range(first, last, flags);
	shim_depth++;
	shim_close_range((int)(first > INT32_MAX ? INT32_MAX : first),
			 last > (unsigned)INT32_MAX ? INT32_MAX : (int)last, (unsigned)flags);
	r = (flags & CLOSE_RANGE_CLOEXEC) ? real_close_range(first, last, flags)
					  : close_range_around(first, last, flags);
	depth_leave();
	if (r == 0)
		errno = saved;
	return r;
}

EXPORT void closefrom(int lowfd)
{
	if (!any() || lowfd < 0) {
		real_closefrom(lowfd);
		return;
	}
	/* glibc's closefrom is close_range(lowfd, ~0U, 0) with a fallback. */
	if (close_range((unsigned int)lowfd, ~0U, 0) < 0)
		real_closefrom(lowfd);
}

EXPORT int dup(int fd)
{
	if (!mine(fd))
		return real_dup(fd);
	SHIM_CALL(shim_dup(fd), real_dup(fd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	if (!any() || (!shim_owns(oldfd) && !shim_owns(newfd) && !shim_protected(newfd)))
		return real_dup2(oldfd, newfd);
	SHIM_CALL(shim_dup3(oldfd, newfd, -1), real_dup2(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (!any() || (!shim_owns(oldfd) && !shim_owns(newfd) && !shim_protected(newfd)))
		return real_dup3(oldfd, newfd, flags);
	SHIM_CALL(shim_dup3(oldfd, newfd, flags), real_dup3(oldfd, newfd, flags));
}

/*
 * The third argument of fcntl and ioctl is read only when the command takes
 * one: reading an argument that was not passed is undefined behaviour in ISO
 * C. These are the commands that take none (fcntl(2), ioctl_tty(2),
 * ioctl(2)); any other command's argument is read, an unknown one's too, so
 * that it reaches the kernel unchanged. A command without one gets a null
 * pointer, which the kernel ignores.
 */
static bool fcntl_takes_arg(int cmd)
{
	switch (cmd) {
	case F_GETFD:
	case F_GETFL:
	case F_GETOWN:
	case F_GETSIG:
	case F_GETLEASE:
	case F_GETPIPE_SZ:
	case F_GET_SEALS:
		return false;
	default:
		return true;
	}
}

static bool ioctl_takes_arg(unsigned long req)
{
	switch (req) {
	case FIOCLEX:
	case FIONCLEX:
	case TIOCNOTTY:
	case TIOCEXCL:
	case TIOCNXCL:
	case TIOCCONS:
	case TIOCSBRK:
	case TIOCCBRK:
	case TIOCVHANGUP:
		return false;
	default:
		return true;
	}
}

/* In a variadic wrapper whose last named parameter is last: out is its
 * third argument when takes, else NULL. */
#define OPT_ARG(takes, last, out) do { \
		va_list ap_; \
		(out) = NULL; \
		if (takes) { \
			va_start(ap_, last); \
			(out) = va_arg(ap_, void *); \
			va_end(ap_); \
		} \
	} while (0)

EXPORT int fcntl(int fd, int cmd, ...)
{
	void *arg;

	OPT_ARG(fcntl_takes_arg(cmd), cmd, arg);
	if (!mine(fd))
		return real_fcntl(fd, cmd, arg);
	SHIM_CALL(shim_fcntl(fd, cmd, (long)arg), real_fcntl(fd, cmd, arg));
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	void *arg;

	OPT_ARG(fcntl_takes_arg(cmd), cmd, arg);
	if (!real_fcntl64)
		return fcntl(fd, cmd, arg);
	if (!mine(fd))
		return real_fcntl64(fd, cmd, arg);
	SHIM_CALL(shim_fcntl(fd, cmd, (long)arg), real_fcntl64(fd, cmd, arg));
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	void *arg;

	OPT_ARG(ioctl_takes_arg(req), req, arg);
	if (!mine(fd))
		return real_ioctl(fd, req, arg);
	SHIM_CALL(shim_ioctl(fd, req, arg), inq_end(fd, req, arg, real_ioctl(fd, req, arg)));
}

/* ---- interfaces as programs see them (shim/iface.c) ---- */

EXPORT int getifaddrs(struct ifaddrs **ifap)
{
	bool fix = any();   /* first: it resolves the real functions */
	int r;

	if (!real_getifaddrs) {
		errno = ENOSYS;
		return -1;
	}
	r = real_getifaddrs(ifap);
	if (r == 0 && fix) {
		int saved = errno;

		shim_depth++;
		shim_iface_fix_ifaddrs(ifap);
		depth_leave();
		errno = saved;
	}
	return r;
}

EXPORT struct if_nameindex *if_nameindex(void)
{
	bool fix = any();
	struct if_nameindex *v;

	if (!real_if_nameindex) {
		errno = ENOSYS;
		return NULL;
	}
	v = real_if_nameindex();
	if (v && fix) {
		int saved = errno;

		shim_depth++;
		shim_iface_fix_nameindex(v);
		depth_leave();
		errno = saved;
	}
	return v;
}

/* ---- readiness ---- */

static struct timespec *ms_to_ts(int ms, struct timespec *ts)
{
	if (ms < 0)
		return NULL;
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts;

	if (!any())
		return real_poll(fds, n, timeout);
	SHIM_CALL(shim_ppoll(fds, n, ms_to_ts(timeout, &ts), NULL), real_poll(fds, n, timeout));
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	struct timespec ts;

	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	if (!any())
		return real___poll_chk(fds, n, timeout, fdslen);
	SHIM_CALL(shim_ppoll(fds, n, ms_to_ts(timeout, &ts), NULL), real___poll_chk(fds, n, timeout, fdslen));
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!any())
		return real_ppoll(fds, n, ts, mask);
	SHIM_CALL(shim_ppoll(fds, n, ts, mask), real_ppoll(fds, n, ts, mask));
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
		       size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	if (!any())
		return real___ppoll_chk(fds, n, ts, mask, fdslen);
	SHIM_CALL(shim_ppoll(fds, n, ts, mask), real___ppoll_chk(fds, n, ts, mask, fdslen));
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	struct timespec ts, left;
	struct timeval tvc;
	int saved, rc;

	if (!any())
		return real_select(n, r, w, e, tv);
	if (tv) {
		/* A timeout the program does not own: the kernel's EFAULT. */
		if (shim_copy(&tvc, tv, sizeof(tvc)))
			return real_select(n, r, w, e, tv);
		if (tvc.tv_sec < 0 || tvc.tv_usec < 0) {
			errno = EINVAL;
			return -1;
		}
		ts.tv_sec = tvc.tv_sec + tvc.tv_usec / 1000000;
		ts.tv_nsec = (long)(tvc.tv_usec % 1000000) * 1000;
	}
	saved = errno;
	shim_depth++;
	rc = shim_pselect(n, r, w, e, tv ? &ts : NULL, NULL, tv ? &left : NULL);
	if (rc == SHIM_PASS)
		n = shim_select_nfds(n, r, w, e);
	depth_leave();
	if (rc == SHIM_PASS) {
		errno = saved;
		return real_select(n, r, w, e, tv);
	}
	if (tv) {
		/* Linux writes the time left back (and ignores a failure to). */
		tvc.tv_sec = left.tv_sec;
		tvc.tv_usec = left.tv_nsec / 1000;
		(void)shim_copy(tv, &tvc, sizeof(tvc));
	}
	return (int)ret(rc, saved);
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	if (!any())
		return real_pselect(n, r, w, e, ts, mask);
	SHIM_CALL(shim_pselect(n, r, w, e, ts, mask, NULL), real_pselect(shim_select_nfds(n, r, w, e), r, w, e, ts, mask));
}

EXPORT long __fdelt_chk(long d)
{
	/* Placeholders are real fds below FD_SETSIZE: the check is libc's. */
	return real___fdelt_chk(d);
}

/* The shim's object for a new epoll fd, from its creation (an epoll that
 * goes into another before it holds a stack socket is known as one:
 * shim_epoll_created). */
static int epoll_made(int r)
{
	if (r >= 0 && any()) {
		int saved = errno;

		shim_depth++;
		shim_epoll_created(r);
		depth_leave();
		errno = saved;
	}
	return r;
}

EXPORT int epoll_create(int size)
{
	return epoll_made(real_epoll_create(size));
}

EXPORT int epoll_create1(int flags)
{
	return epoll_made(real_epoll_create1(flags));
}

/* A registration the kernel's epoll holds: a shim epoll then asks the
 * kernel's wait too (shim_epoll_kernel_added). */
static int kernel_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int r = real_epoll_ctl(epfd, op, fd, ev);

	if (r == 0 && op == EPOLL_CTL_ADD && mine(epfd)) {
		int saved = errno;

		shim_depth++;
		shim_epoll_kernel_added(epfd);
		depth_leave();
		errno = saved;
	}
	return r;
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!mine(fd))
		return kernel_epoll_ctl(epfd, op, fd, ev);
	SHIM_CALL(shim_epoll_ctl(epfd, op, fd, ev), kernel_epoll_ctl(epfd, op, fd, ev));
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	if (!mine(epfd))
		return real_epoll_wait(epfd, ev, max, timeout);
	SHIM_CALL(shim_epoll_pwait(epfd, ev, max, timeout, NULL), real_epoll_wait(epfd, ev, max, timeout));
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask)
{
	if (!mine(epfd))
		return real_epoll_pwait2(epfd, ev, max, ts, mask);
	SHIM_CALL(shim_epoll_pwait2(epfd, ev, max, ts, mask), real_epoll_pwait2(epfd, ev, max, ts, mask));
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	if (!mine(epfd))
		return real_epoll_pwait(epfd, ev, max, timeout, mask);
	SHIM_CALL(shim_epoll_pwait(epfd, ev, max, timeout, mask), real_epoll_pwait(epfd, ev, max, timeout, mask));
}

/* ---- signal handlers ---- */

/*
 * Every way a program installs a handler comes to do_sigaction: SIGSEGV and
 * SIGBUS to the library's record of the program's dispositions (see
 * "faults"), every other signal to shim_sigaction, which installs the
 * handler wrapped (so that a socket call the signal interrupts restarts
 * exactly when its handler has SA_RESTART). glibc's signal(), sysv_signal(),
 * sigset() and siginterrupt() call its internal sigaction, which we cannot
 * see: they are redone here with glibc's semantics.
 */
static sigset_t sig_intr;   /* siginterrupt(sig, 1) seen: signal() without SA_RESTART */
static pthread_mutex_t sig_intr_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * The actions are the program's memory: the new one is copied in before
 * anything, the old one copied out after the change, each EFAULT when it
 * cannot be, as the kernel's rt_sigaction answers (glibc's own wrapper
 * reads and writes them itself, where a bad pointer is a SIGSEGV; here it
 * would be one with signals blocked, or the stack's handlers half-changed).
 * A bad signal number is glibc's EINVAL, before the pointers are looked at.
 */
static int do_sigaction(int sig, const struct sigaction *uact, struct sigaction *uold)
{
	struct sigaction act, old, *oldp = uold ? &old : NULL;
	const struct sigaction *actp = uact ? &act : NULL;
	int saved = errno, r;

	if (!on() || sig <= 0 || sig >= NSIG)
		return real_sigaction(sig, uact, uold);
	if (uact && shim_copy(&act, uact, sizeof(act)))
		return (int)ret(-EFAULT, saved);
	r = fault_mine(sig) ? fault_sigaction(sig, actp, oldp) : shim_sigaction(sig, actp, oldp);
	if (r == SHIM_PASS)
		r = real_sigaction(sig, actp, oldp) < 0 ? -errno : 0;
	if (r == 0 && uold && shim_copy(uold, &old, sizeof(old)))
		r = -EFAULT;
	return (int)ret(r, saved);
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return do_sigaction(sig, act, old);
}

/* signal()'s families: handler installed with flags (and sig itself
 * masked while it runs when mask_self); the previous handler, or SIG_ERR. */
static sighandler_t install_handler(int sig, sighandler_t handler, int flags, bool mask_self)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (do_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* glibc's __bsd_signal: BSD semantics, SA_RESTART unless siginterrupt() said otherwise. */
static sighandler_t bsd_signal_impl(int sig, sighandler_t handler)
{
	bool intr;

	if (handler == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	pthread_mutex_lock(&sig_intr_mu);
	intr = sigismember(&sig_intr, sig) == 1;
	pthread_mutex_unlock(&sig_intr_mu);
	return install_handler(sig, handler, intr ? 0 : SA_RESTART, true);
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return bsd_signal_impl(sig, handler);
}

EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return bsd_signal_impl(sig, handler);
}

/* glibc's __sysv_signal: one shot, not masked during the handler, no restart. */
static sighandler_t sysv_signal_impl(int sig, sighandler_t handler)
{
	if (handler == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return install_handler(sig, handler, SA_RESETHAND | SA_NODEFER, false);
}

EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal_impl(sig, handler);
}

EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal_impl(sig, handler);
}

/* glibc's sigset (System V): SIG_HOLD blocks the signal; any other
 * disposition is installed (no flags) and unblocks it. */
EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	struct sigaction act, old;
	sigset_t set, prev;

	if (sig < 1 || sig >= NSIG || disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &prev) < 0 || do_sigaction(sig, NULL, &old) < 0)
			return SIG_ERR;
		return sigismember(&prev, sig) ? SIG_HOLD : old.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (do_sigaction(sig, &act, &old) < 0 || sigprocmask(SIG_UNBLOCK, &set, &prev) < 0)
		return SIG_ERR;
	return sigismember(&prev, sig) ? SIG_HOLD : old.sa_handler;
}

/* glibc's siginterrupt: SA_RESTART off (flag) or on, now and for later signal() calls. */
EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;

	if (sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (do_sigaction(sig, NULL, &act) < 0)
		return -1;
	pthread_mutex_lock(&sig_intr_mu);
	if (flag) {
		sigaddset(&sig_intr, sig);
		act.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&sig_intr, sig);
		act.sa_flags |= SA_RESTART;
	}
	pthread_mutex_unlock(&sig_intr_mu);
	return do_sigaction(sig, &act, NULL);
}

/* ---- exec ----
 *
 * The new image's library rebuilds the entries of the exposed sockets it
 * keeps from a note in its environment (shim_exec_note, EXPOSED_VAR). The
 * environment is built on the caller's stack: a vfork() child may exec, and
 * must not allocate. At most EXEC_ENV_MAX variables (beyond: no note).
 */
#define EXEC_NOTE_MAX 8192
#define EXEC_ENV_MAX 16384

static size_t env_len(char *const *envp)
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

/* envp with the note in place of any inherited one, in out (n + 3 slots),
 * or envp itself when there is nothing to note. An environment the caller
 * built without LD_PRELOAD gets this process's back whenever a socket is
 * noted: without the library the image meets the relay's end where the
 * kernel's socket would be. A listener's fd is a channel of connections
 * (dovecot's master execs its imap-login with the variables it chose:
 * accept() there was EINVAL), a framed UDP socket's datagrams carry a
 * header, and a connection's fd is a Unix socket to the socket calls
 * (systemd-socket-activate --accept execs its service with LISTEN_FDS and
 * LISTEN_PID alone: its getpeername() answered an AF_UNIX address,
 * TCP_NODELAY EOPNOTSUPP). An environment that names LD_PRELOAD, empty
 * too (env -i LD_PRELOAD= prog), is the caller's choice and kept. */
static char *const *exec_env(char *const *envp, size_t n, char *var, char **out)
{
	size_t k = 0, pre = strlen(EXPOSED_VAR "=");
	bool has_preload = false;

	if (!on() || !outside() || n > EXEC_ENV_MAX)
		return envp;
	memcpy(var, EXPOSED_VAR "=", pre);
	if (shim_exec_note(var + pre, EXEC_NOTE_MAX - pre) == 0)
		return envp;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], EXPOSED_VAR "=", pre) == 0)
			continue;
		has_preload |= strncmp(envp[i], "LD_PRELOAD=", 11) == 0;
		out[k++] = envp[i];
	}
	if (!has_preload && preload_var[0])
		out[k++] = preload_var;
	out[k++] = var;
	out[k] = NULL;
	return out;
}

#define EXEC_ENV(envp, newenv) \
	size_t n_##newenv = env_len(envp); \
	char var_##newenv[EXEC_NOTE_MAX]; \
	char *out_##newenv[n_##newenv <= EXEC_ENV_MAX ? n_##newenv + 3 : 1]; \
	char *const *newenv = exec_env(envp, n_##newenv, var_##newenv, out_##newenv)

/*
 * Before a child is made or an image exec'd: the sockets it inherits get a
 * live kernel fd (shim/expose.c); all of them for a fork child, which uses
 * its copies itself, else those without FD_CLOEXEC. Not in a vfork() child,
 * which shares our memory and must not touch the stack.
 */
static void expose_for_child_dgrams(bool all, bool dgrams)
{
	int saved = errno;

	/* From now on a relay's program end may be another process's too:
	 * only the stack thread moves relays' bytes (relay.h). In a vfork()
	 * child too: it may exec with them. */
	relay_solo_end();
	if (!any() || shim_vfork_child())
		return;
	shim_depth++;
	shim_expose_inherited(all, dgrams);
	depth_leave();
	errno = saved;
}

static void expose_for_child(bool all)
{
	expose_for_child_dgrams(all, false);
}

/* glibc's system() and popen() spawn their shell with its internal
 * posix_spawn: the inherited sockets are exposed here first (the shell's
 * environment is the process's own: no note). */
EXPORT int system(const char *cmd)
{
	if (cmd)
		expose_for_child(false);
	return real_system(cmd);
}

EXPORT FILE *popen(const char *cmd, const char *mode)
{
	expose_for_child(false);
	return real_popen(cmd, mode);
}

/* ---- processes ---- */

/*
 * A fork child may use any socket it inherits (and keeps those without
 * FD_CLOEXEC across exec): they get a live kernel fd first (shim/expose.c),
 * served by this process's stack. Then the atfork handlers (registered at
 * init) do the shim's part.
 */
#if defined(__SANITIZE_THREAD__)
/*
 * ThreadSanitizer cannot follow a fork of a multi-threaded process: in such
 * a child it ignores every interceptor from then on (after_multithreaded_fork,
 * "in the hope that we will exec soon"), and a signal that arrives outside
 * an intercepted blocking call waits for an interceptor that never
 * delivers it. A child whose handlers never run misses SIGQUIT in
 * sigsuspend() (nginx's master after `daemon on`: `nginx -s quit` never
 * ends it). Only the stack thread makes a single-threaded program a
 * multi-threaded one: a TSan build forks with it stopped (runner_pause,
 * then runner_resume in the parent, as a failed exec does), so the child
 * is a fork TSan checks and delivers signals in. Other builds fork with the
 * thread running: the kernel has no such limit.
 */
static struct runner *fork_pause(void)
{
	struct runner *r;

	if (!any() || shim_vfork_child())
		return NULL;
	stack_lock(&lock);
	r = runner;
	if (r)
		runner_pause(r);
	stack_unlock(&lock);
	return r;
}

static void fork_resume(struct runner *r)
{
	stack_lock(&lock);
	if (r == runner)
		(void)runner_resume(r);
	stack_unlock(&lock);
}
#endif

/* ---- credentials ----
 *
 * The stack process (stack/CONCURRENCY.md) is a process of its own: the C
 * library changes the credentials of the program's threads, not its. After
 * each change that succeeded it takes the program's (runner_follow_creds).
 */
static void creds_changed(void)
{
	struct runner *r;
	int saved = errno;

	if (shim_vfork_child())
		return;
	r = __atomic_load_n(&runner, __ATOMIC_ACQUIRE);
	if (r)
		runner_follow_creds(r);
	errno = saved;
}

/* Before a call that may take root's effective user away (euid e): a stack
 * not started yet starts now, while it may open the TAP (shim_creds_prestart). */
static void creds_leaving_root(uid_t e)
{
	int saved = errno;

	if (e != (uid_t)-1 && e != 0 && !shim_vfork_child() && geteuid() == 0)
		shim_creds_prestart();
	errno = saved;
}

#define CRED_WRAPPER(name, params, args, euid)               \
	EXPORT int name params                               \
	{                                                    \
		int rc;                                      \
		creds_leaving_root(euid);                    \
		rc = real_##name args;                       \
		if (rc == 0)                                 \
			creds_changed();                     \
		return rc;                                   \
	}
CRED_WRAPPER(setuid, (uid_t u), (u), u)
CRED_WRAPPER(setgid, (gid_t g), (g), (uid_t)-1)
CRED_WRAPPER(seteuid, (uid_t u), (u), u)
CRED_WRAPPER(setegid, (gid_t g), (g), (uid_t)-1)
CRED_WRAPPER(setreuid, (uid_t r, uid_t e), (r, e), e)
CRED_WRAPPER(setregid, (gid_t r, gid_t e), (r, e), (uid_t)-1)
CRED_WRAPPER(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s), e)
CRED_WRAPPER(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s), (uid_t)-1)
CRED_WRAPPER(setgroups, (size_t n, const gid_t *g), (n, g), (uid_t)-1)
#undef CRED_WRAPPER

EXPORT pid_t fork(void)
{
	/* A child of this image: it uses its copies of unconnected UDP
	 * sockets too (shim/expose.c, expose_dgram). */
	expose_for_child_dgrams(true, true);
#if defined(__SANITIZE_THREAD__)
	{
		struct runner *r = fork_pause();
		pid_t pid = real_fork();
		int saved = errno;

		if (r && pid != 0)
			fork_resume(r);
		errno = saved;
		return pid;
	}
#else
	return real_fork();
#endif
}

/*
 * Children our atfork handlers do not see: a vfork() child shares our
 * memory, _Fork() and clone() run no handlers. The shim then asks the
 * kernel for the pid on each call from the first one on (shim_clone_seen).
 * vfork is a jump, not a call: its child returns into the caller's frame
 * and then runs on the parent's stack, where a frame of ours would be
 * overwritten under the parent. Before the jump, a call that returns:
 * the sockets the child may hand to the program it execs get a live kernel
 * fd (pstack_before_vfork). All of them, as at fork(): the child may
 * dup2() a close-on-exec one onto 0, 1 or 2 or clear its FD_CLOEXEC
 * (Python's subprocess with stdout=sock or pass_fds, made with vfork), and
 * it cannot expose anything itself (it runs on our memory, not our fds).
 */
void pstack_before_vfork(void);

void pstack_before_vfork(void)
{
	expose_for_child(true);
}

#if defined(__x86_64__)
__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"\tsubq $8, %rsp\n"                   /* the call's 16-byte alignment */
	"\tcall pstack_before_vfork\n"
	"\taddq $8, %rsp\n"
	"\tmovl $1, shim_clone_seen(%rip)\n"
	"\tjmp __vfork@PLT\n"
	".size vfork, .-vfork\n");
#endif

/*
 * _Fork() and clone() without CLONE_VM make a process of its own, which may
 * use every socket it inherits, as after fork(); but they run no atfork
 * handler. Where it is safe to take our locks here, we do fork()'s part
 * ourselves: the exposure, then our own atfork steps (not the program's:
 * _Fork runs none). Not inside a signal handler (_Fork is async-signal-
 * safe: the thread the handler interrupted may hold our locks or malloc's),
 * not from inside the library: such a child is treated as a vfork() child
 * (its inherited stack sockets are placeholders), as before.
 */
static bool child_steps_safe(void)
{
	return any() && !shim_in_signal_handler() && !shim_vfork_child();
}

/* A process made by one call that runs no atfork handler (_Fork, a raw
 * fork or clone through syscall()): make(arg) makes it, with fork()'s
 * part of ours around it where child_steps_safe() allows. */
static long fork_steps(long (*make)(const void *arg), const void *arg)
{
	long pid;
	int saved;

	__atomic_store_n(&shim_clone_seen, 1, __ATOMIC_SEQ_CST);
	relay_solo_end();       /* another process, with our fds (expose_for_child) */
	if (!child_steps_safe())
		return make(arg);
	expose_for_child_dgrams(true, true);
	fork_prepare();
	pid = make(arg);
	saved = errno;
	if (pid == 0)
		fork_child();
	else
		fork_parent();
	errno = saved;
	return pid;
}

struct libc_fork {
	pid_t (*f)(void);
};

static long make_by_fork(const void *arg)
{
	return ((const struct libc_fork *)arg)->f();
}

EXPORT pid_t _Fork(void)
{
	pid_t (*f)(void) = real__Fork ? real__Fork : (pid_t (*)(void))dlsym(RTLD_NEXT, "_Fork");

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return (pid_t)fork_steps(make_by_fork, &(struct libc_fork){ f });
}

/*
 * A process of its own made by a raw system call through syscall():
 * vsftpd makes each session's processes with
 * syscall(__NR_clone, CLONE_NEWIPC | SIGCHLD, NULL) and its unprivileged
 * one with CLONE_NEWNET (sysutil.c, vsf_sysutil_fork_isolate_failok and
 * vsf_sysutil_fork_newnet). No stack given: the child returns through this
 * call on its copy of ours, as from fork(), so _Fork's steps serve it. A
 * clone that shares memory or the fd table, or starts on a stack of its
 * own, is a vfork-like one, as in clone() above; vfork itself, whose child
 * would return into a frame the parent then reuses, is passed on.
 */
static bool syscall_forks(long nr, const long *a)
{
	if (nr == SYS_fork)
		return true;
	return nr == SYS_clone && !(a[0] & (CLONE_VM | CLONE_FILES | CLONE_VFORK)) && a[1] == 0;
}

struct raw_fork {
	long (*f)(long, ...);
	long nr;
	const long *a;
};

static long make_by_syscall(const void *arg)
{
	const struct raw_fork *r = arg;

	return r->f(r->nr, r->a[0], r->a[1], r->a[2], r->a[3], r->a[4], r->a[5]);
}

static long syscall_fork(long (*f)(long, ...), long nr, const long *a)
{
	struct raw_fork r = { f, nr, a };

	return fork_steps(make_by_syscall, &r);
}

/* A clone() child's start: our atfork child steps, then the program's. */
struct clone_start {
	int (*fn)(void *);
	void *arg;
};

static int clone_child(void *p)
{
	struct clone_start *cs = p;

	fork_child();
	return cs->fn(cs->arg);
}

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	pid_t *ptid;
	void *tls;
	pid_t *ctid;

	/* The optional arguments, read whether given or not (glibc reads them
	 * by the flags that say they are there). */
	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	int (*f)(int (*)(void *), void *, int, void *, ...) =
		real_clone ? real_clone : (int (*)(int (*)(void *), void *, int, void *, ...))dlsym(RTLD_NEXT, "clone");

	__atomic_store_n(&shim_clone_seen, 1, __ATOMIC_SEQ_CST);
	if (!(flags & CLONE_THREAD))
		relay_solo_end();       /* another process, maybe with our fds (expose_for_child) */
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	/* A process of its own (no shared memory or fd table): as _Fork. Its
	 * start (in the child's copy of our memory) is on our stack. */
	if (!(flags & (CLONE_VM | CLONE_FILES)) && fn && child_steps_safe()) {
		struct clone_start cs = { fn, arg };
		int pid, saved;

		expose_for_child_dgrams(true, true);
		fork_prepare();
		pid = f(clone_child, stack, flags, &cs, ptid, tls, ctid);
		saved = errno;
		fork_parent();
		errno = saved;
		return pid;
	}
	return f(fn, stack, flags, arg, ptid, tls, ctid);
}

/* The same for the children posix_spawn() makes (glibc's own system() and
 * popen() call its internal one: their wrappers above do it). */
EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	expose_for_child(false);
	EXEC_ENV(envp, env);
	return real_posix_spawn(pid, path, fa, attr, argv, env);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	expose_for_child(false);
	EXEC_ENV(envp, env);
	return real_posix_spawnp(pid, file, fa, attr, argv, env);
}

/* A socket a spawned child gets as one of its fds (subprocess's stdin=sock). */
EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	if (mine(fd)) {
		int saved = errno;

		shim_depth++;
		shim_expose(fd);
		depth_leave();
		errno = saved;
	}
	return real_posix_spawn_file_actions_adddup2(fa, fd, newfd);
}

/* stdio on a socket: glibc's streams call its internal read/write, never
 * the interposed ones, so the fd must be live in the kernel. */
EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (mine(fd)) {
		int saved = errno;

		shim_depth++;
		shim_expose(fd);
		depth_leave();
		errno = saved;
	}
	return real_fdopen(fd, mode);
}

/* fclose closes the stream's fd with the C library's own close, which the
 * interposed close() never sees: the table lets the fd go around it, or a
 * file opened next under the same number would be taken for the socket
 * (its reads served by the stack). The stream's last bytes are flushed
 * through the fd first (the socket's live fd, or its placeholder). */
EXPORT int fclose(FILE *fp)
{
	struct shim_obj *o = NULL;
	int fd = fp ? fileno(fp) : -1, r, saved;

	if (fd >= 0 && mine(fd)) {
		shim_depth++;
		o = shim_close_before(fd);
		depth_leave();
	}
	r = real_fclose(fp);
	if (o) {
		saved = errno;
		shim_depth++;
		shim_close_after(o);
		depth_leave();
		errno = saved;
	}
	return r;
}

/* ---- exec ----
 *
 * The exec'd image keeps the fds without FD_CLOEXEC: their sockets get a
 * live kernel fd first, as at fork. When relays serve fds (those, or a
 * child's), a keeper carries the stack on past this image (keeper.h): forked
 * before the exec, it waits at its gate until the exec has replaced this
 * image; the stack lock is held across the exec, so nothing changes in
 * between. When the exec fails, the keeper goes and the stack runs on here.
 */
struct exec_keeper {
	struct runner *r;
	int gate;
	bool paused;        /* no keeper: the stack only paused across the exec */
};

static bool exec_begin(struct exec_keeper *k)
{
	int saved = errno;

	if (!any() || shim_vfork_child())
		return false;
	stack_lock(&lock);
	k->r = runner;
	if (k->r && runner_relays_left(k->r) &&
	    keeper_handoff(k->r, __atomic_load_n(&exit_linger_us, __ATOMIC_RELAXED), true, &k->gate) == 0) {
		k->paused = false;
		errno = saved;
		return true;
	}
	if (k->r) {
		/* No keeper: the stack goes with the image. Its process shares
		 * this image's memory, not its fate: an exec would leave it
		 * running with the old memory, holding the TAP. So it ends first
		 * (the lock held across the exec: nothing changes meanwhile). */
		runner_pause(k->r);
		k->paused = true;
		k->gate = -1;
		errno = saved;
		return true;
	}
	host_unlock(NULL);
	errno = saved;
	return false;
}

static void exec_failed(struct exec_keeper *k)
{
	int saved = errno;

	if (!k->paused) {
		keeper_cancel(k->gate);
		shim_keeper_parent();
	}
	runner_resume(k->r);
	host_unlock(NULL);
	errno = saved;
}

/* execve, execvpe and fexecve: the sockets exposed and noted, the keeper
 * at its gate, the exec; back here only when it failed. */
enum exec_how { EXEC_PATH, EXEC_SEARCH, EXEC_FD };

static int exec_common(enum exec_how how, const char *name, int fd, char *const argv[], char *const envp[])
{
	struct exec_keeper k;
	int saved = errno, rc;
	bool kept;

	/* Before the note of them (exec_env) and exec_begin, which holds the
	 * shim's locks across the exec. */
	expose_for_child(false);
	EXEC_ENV(envp, env);
	kept = exec_begin(&k);
	errno = saved;
	if (how == EXEC_PATH)
		rc = real_execve(name, argv, env);
	else if (how == EXEC_SEARCH)
		rc = real_execvpe(name, argv, env);
	else
		rc = real_fexecve(fd, argv, env);
	if (kept)
		exec_failed(&k);
	return rc;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_common(EXEC_PATH, path, -1, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_common(EXEC_SEARCH, file, -1, argv, envp);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return exec_common(EXEC_FD, NULL, fd, argv, envp);
}

/* execl, execle, execlp: their arguments as an array (on the stack). */
#define LIST_ARGV(arg, ap, argv) \
	size_t argc_ = 1; \
	va_start(ap, arg); \
	while (va_arg(ap, char *)) \
		argc_++; \
	va_end(ap); \
	char *argv[argc_ + 1]; \
	argv[0] = (char *)arg; \
	va_start(ap, arg); \
	for (size_t i_ = 1; i_ <= argc_; i_++) \
		argv[i_] = va_arg(ap, char *)

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	LIST_ARGV(arg, ap, argv);

	va_end(ap);
	return execve(path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	LIST_ARGV(arg, ap, argv);

	va_end(ap);
	return execvpe(file, argv, environ);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	LIST_ARGV(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);

	va_end(ap);
	return execve(path, argv, envp);
}

EXPORT void _exit(int status)
{
	if (on())
		at_exit_drain();
	real__exit(status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status)
{
	if (on())
		at_exit_drain();
	real__Exit(status);
	__builtin_unreachable();
}
