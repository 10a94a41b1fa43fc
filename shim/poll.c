/*
 * Readiness: poll/ppoll, select/pselect and epoll over any mix of stack
 * sockets and kernel fds.
 *
 * Waiting is one ppoll() on the kernel fds plus the thread's eventfd, which
 * every stack socket polled has on its wait list: the stack's wakeup writes
 * it. Readiness is always re-checked under the stack lock after registering,
 * so no wakeup is lost (stack/CONCURRENCY.md), and the caller's signal mask
 * is in force only during that ppoll (pselect/ppoll/epoll_pwait semantics).
 *
 * epoll: the kernel's epoll fd keeps the program's kernel fds; the stack
 * sockets' registrations live here (struct shim_epoll, found through the
 * epoll fd's table slot), since an epoll_event's data is the program's
 * opaque value and cannot tell us which fd it belongs to. epoll_wait waits on
 * the kernel epoll fd (readable when it has events) and the thread eventfd.
 * As Linux's eventpoll (fs/eventpoll.c), a socket's wake-up puts its items on
 * their epoll's ready list, and epoll_wait polls only the items there: its
 * cost follows the sockets that woke, not the sockets registered (a server
 * with 10000 connections spent a quarter of its time walking them all).
 * An epoll fd given to poll or select is readable when its kernel side is
 * or one of its stack sockets' items has an event (Linux's
 * ep_eventpoll_poll); the waiting thread is on the epoll's wait list. An
 * epoll fd nested in another is readable there the same way (epoll_nest).
 */
#include "shim/internal.h"

#include "stack/dev/sysc.h"
#include "stack/host/relay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define SHIM_POLL_STACK 16
/* Linux's largest RLIMIT_NOFILE (nr_open's ceiling): more fds is EINVAL. */
#define SHIM_POLL_MAX (1u << 30)

static void ts_from_us(struct timespec *ts, uint64_t us)
{
	ts->tv_sec = (time_t)(us / 1000000u);
	ts->tv_nsec = (long)(us % 1000000u) * 1000;
}

static uint64_t us_from_ts(const struct timespec *ts)
{
	if (ts->tv_sec < 0)
		return 0;
	return (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
}

/* poll_core: a socket was exposed during the call; collect them again. */
#define SHIM_REPOLL (-100001)

static struct shim_epoll *epoll_get(int epfd);
static bool epoll_ready_now(const struct shim_epoll *ep);

/* An epoll fd's own readiness from its stack sockets (Linux's
 * ep_eventpoll_poll: EPOLLIN | EPOLLRDNORM while an item has an event);
 * its kernel side is asked with the kernel's fds. */
static short epoll_revents(const struct shim_epoll *ep, const struct pollfd *fd)
{
	return epoll_ready_now(ep) ? (short)((POLLIN | POLLRDNORM) & fd->events) : 0;
}

/* Under the lock: the stack sockets' revents, and the stack's side of the
 * epoll fds' (eps[i]); the count of those set. */
static int poll_socks(struct pollfd *fds, nfds_t n, struct shim_sock **socks, struct shim_epoll **eps)
{
	int ready = 0;

	for (nfds_t i = 0; i < n; i++) {
		if (eps[i]) {
			fds[i].revents = epoll_revents(eps[i], &fds[i]);
			ready += fds[i].revents != 0;
		}
		if (!socks[i])
			continue;
		fds[i].revents = (short)(shim_sock_poll_user(socks[i]) &
					 ((unsigned)(unsigned short)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
		ready += fds[i].revents != 0;
	}
	return ready;
}

/* A stack listener's loopback side (internal.h, lo_fd) is waited on with
 * the kernel's fds, in the listener's entry of kfds: what it reports is
 * the listener's too (a connection to accept). */
static void lo_side(struct pollfd *kfd, const struct pollfd *fd, struct shim_sock *k)
{
	int lo = atomic_load(&k->lo_fd);

	kfd->fd = lo >= 0 && (fd->events & (POLLIN | POLLRDNORM)) ? lo : -1;
	kfd->events = POLLIN;
}

static short lo_revents(const struct pollfd *kfd, const struct pollfd *fd)
{
	short r = kfd->fd >= 0 && (kfd->revents & POLLIN) ? (short)(POLLIN | POLLRDNORM) : 0;

	return (short)(r & fd->events);
}

/* Without the lock: the kernel fds' state now, without waiting, added to
 * the stack sockets' count (ready). The total, or -errno. */
static int poll_kernel_now(struct pollfd *fds, nfds_t n, struct shim_sock **socks, struct shim_epoll **eps,
			   struct pollfd *kfds, int ready)
{
	static const struct timespec zero = { 0, 0 };
	bool any = false;
	int kn;

	/* Only stack sockets (and negative fds, which poll skips): nothing to
	 * ask the kernel, and a select() loop over stack sockets (iperf3's,
	 * nc's) makes no system call per call. */
	for (nfds_t i = 0; i < n; i++)
		any |= kfds[i].fd >= 0;
	if (!any) {
		for (nfds_t i = 0; i < n; i++)
			if (!socks[i])
				fds[i].revents = 0;
		return ready;
	}
	kn = shim_libc.ppoll(kfds, n, &zero, NULL);
	if (kn < 0)
		return -errno;
	for (nfds_t i = 0; i < n; i++) {
		if (eps[i]) {
			/* The stack's side is counted in ready when set. */
			if (fds[i].revents && kfds[i].revents)
				kn--;
			fds[i].revents |= kfds[i].revents;
			continue;
		}
		if (!socks[i]) {
			fds[i].revents = kfds[i].revents;
			continue;
		}
		/* Counted once: in ready when the stack's side was, else here. */
		if (kfds[i].revents)
			kn--;
		if (lo_revents(&kfds[i], &fds[i]) && !fds[i].revents) {
			fds[i].revents = lo_revents(&kfds[i], &fds[i]);
			ready++;
		}
	}
	return ready + kn;
}

/*
 * The poll engine. socks[i] is the stack socket of fds[i] (referenced) or
 * NULL. deadline_us 0 with forever false: do not wait. Returns the count of
 * fds with revents, -errno, or SHIM_REPOLL.
 */
static int poll_core(struct pollfd *fds, nfds_t n, struct shim_sock **socks, struct shim_epoll **eps,
		     bool forever, uint64_t deadline_us, const sigset_t *mask)
{
	struct shim_waiter *w = NULL;
	struct pollfd kstack[SHIM_POLL_STACK + 1], *kfds = kstack;
	struct shim_efd *e;
	nfds_t nsock = 0;
	bool spun = false, was_in_wait;
	int efd = shim_thread_efd(&e), r;

	if (efd < 0)
		return efd;
	was_in_wait = shim_sig_wait_enter();
	/* A waiter on each stack socket's wait list, and on each epoll's
	 * (its items' wake-ups wake it). */
	for (nfds_t i = 0; i < n; i++)
		nsock += (socks[i] != NULL) + (eps[i] != NULL);
	if (n + 1 > SHIM_POLL_STACK + 1)
		kfds = calloc(n + 1, sizeof(*kfds));
	if (!kfds) {
		r = -ENOMEM;
		goto out;
	}
	for (nfds_t i = 0; i < n; i++) {
		kfds[i].fd = socks[i] ? -1 : fds[i].fd;
		kfds[i].events = fds[i].events;
		kfds[i].revents = 0;
		if (socks[i])
			lo_side(&kfds[i], &fds[i], socks[i]);
	}
	kfds[n].fd = efd;
	kfds[n].events = POLLIN;
	kfds[n].revents = 0;

	for (;;) {
		int ready = 0, kn, level = -1;
		nfds_t j = 0;
		bool waiting = forever || deadline_us;
		struct timespec left, *leftp = NULL;

		shim_lock();
		for (nfds_t i = 0; i < n; i++) {
			if (socks[i] && shim_exposed(socks[i])) {
				/* Exposed meanwhile (its waiters were woken): its
				 * kernel fd is the one to wait on now. */
				shim_unlock();
				r = SHIM_REPOLL;
				goto out;
			}
		}
		ready = poll_socks(fds, n, socks, eps);
		if (ready == 0 && waiting && nsock) {
			level = shim_wait_frame_push(__builtin_frame_address(0), nsock, &w);
			if (level < 0) {
				shim_unlock();
				r = level;
				goto out;
			}
		}
		if (ready == 0 && waiting) {
			for (nfds_t i = 0; i < n; i++) {
				if (eps[i]) {
					w[j].kind = SHIM_W_THREAD;
					w[j].efd = e;
					shim_wq_add(&eps[i]->wq, &w[j]);
					j++;
				}
				if (!socks[i])
					continue;
				w[j].kind = SHIM_W_THREAD;
				w[j].efd = e;
				shim_wq_add(&socks[i]->wq, &w[j]);
				j++;
			}
			shim_sig_wake_arm();
		}
		shim_unlock();

		if (ready || !waiting) {
			r = poll_kernel_now(fds, n, socks, eps, kfds, ready);
			goto out;
		}
		if (!forever) {
			uint64_t now = shim_clock_us();

			ts_from_us(&left, deadline_us > now ? deadline_us - now : 0);
			leftp = &left;
		}
		if (shim_sig_wait_ran(mask)) {
			/* A handler ran since the call began, outside the ppoll
			 * (on the way in, between two): as if inside it. */
			kn = -1;
			errno = EINTR;
		} else if (!spun) {
			/* Busy-poll once per call: frames for other sockets do not end the wait. */
			spun = true;
			kn = shim_spin(kfds, n + 1, shim_spin_until(forever ? 0 : deadline_us), mask);
		} else {
			kn = 0;
		}
		if (kn == 0)
			kn = shim_block(kfds, n + 1, leftp, mask);
		r = kn < 0 ? -errno : 0;
		shim_lock();
		shim_wait_frame_pop(level);
		shim_unlock();
		shim_drain_efd(efd);
		if (r == -EINTR) {
			/* Linux's do_poll counts the ready fds before it looks
			 * at signals. A stack socket ready now counts: its
			 * readiness comes from frames, which a handler does not
			 * make (the SIGIO of a connect's end can run before this
			 * thread looks again: sockdiff's fcntl_async_setsig_connect
			 * saw EINTR once in a run of the suite). The kernel fds
			 * count only when this wait was woken before the handler
			 * ran: one the handler made ready itself would have come
			 * after Linux's look. */
			int now;

			shim_lock();
			now = poll_socks(fds, n, socks, eps);
			for (nfds_t i = 0; i < n; i++) {
				/* Closed by the handler: Linux looked before it ran.
				 * Closed before the signal came (another thread's
				 * close, which wakes nobody): that look saw it,
				 * POLLNVAL. */
				if (socks[i] && socks[i]->closed && socks[i]->closed_in_handler && fds[i].revents) {
					fds[i].revents = 0;
					now--;
				}
			}
			shim_unlock();
			if (now > 0 || shim_sig_woken_first()) {
				now = poll_kernel_now(fds, n, socks, eps, kfds, now);
				if (now > 0)
					r = now;
			}
		}
		if (r < 0)
			goto out;   /* EINTR included: poll never restarts (signal(7)) */
		if (kn == 0 && !forever && shim_clock_us() >= deadline_us) {
			/* Linux's do_poll looks once more when the time is up: a
			 * socket closed meanwhile (no wake-up: sock_last_close)
			 * answers POLLNVAL then. */
			int last;

			shim_lock();
			last = poll_socks(fds, n, socks, eps);
			shim_unlock();
			if (last > 0) {
				r = poll_kernel_now(fds, n, socks, eps, kfds, last);
				goto out;
			}
			for (nfds_t i = 0; i < n; i++)
				fds[i].revents = 0;
			r = 0;
			goto out;
		}
		if (kn > (kfds[n].revents ? 1 : 0)) {
			/* Kernel fds are ready: report them with the stack's state now. */
			int count = 0;

			shim_lock();
			for (nfds_t i = 0; i < n; i++) {
				if (socks[i])
					fds[i].revents = (short)((shim_sock_poll_user(socks[i]) &
						((unsigned)(unsigned short)fds[i].events | POLLERR | POLLHUP | POLLNVAL)) |
						(unsigned short)lo_revents(&kfds[i], &fds[i]));
				else if (eps[i])
					fds[i].revents = (short)(kfds[i].revents | epoll_revents(eps[i], &fds[i]));
				else
					fds[i].revents = kfds[i].revents;
				count += fds[i].revents != 0;
			}
			shim_unlock();
			r = count;
			goto out;
		}
		kfds[n].revents = 0;
	}
out:
	shim_sig_wait_leave(was_in_wait);
	if (r > 0)
		shim_settle_signals();
	if (kfds != kstack)
		free(kfds);
	return r;
}

/* References the stack sockets among fds (the shim's copy). 0: none
 * (SHIM_PASS), 1: some. Exposed ones count while the program has made no
 * other process (relay_solo_now): their kernel fds are waited on as the
 * kernel's, but in the shim's wait, which reads the device (shim_block),
 * so that the thread that waits reads their frames and moves their bytes
 * into the fd itself (relay.h, the pump). Otherwise the stack thread would
 * still move them, one hand-off more than if it had read the frames. */
static int collect_socks(struct pollfd *fds, nfds_t n, struct shim_sock **socks, struct shim_epoll **eps)
{
	int any = 0;

	for (nfds_t i = 0; i < n; i++) {
		socks[i] = NULL;
		eps[i] = NULL;
		if (fds[i].fd >= 0 && shim_owns(fds[i].fd)) {
			socks[i] = shim_get_sock(fds[i].fd);
			/* An epoll fd the shim keeps stack sockets' items for. */
			if (!socks[i] && (eps[i] = epoll_get(fds[i].fd)) != NULL)
				any = 1;
			if (socks[i] && (!shim_exposed(socks[i]) || relay_solo_now()))
				any = 1;
			if (socks[i] && shim_exposed(socks[i])) {
				/* Its kernel fd is live (shim/expose.c): the kernel's. */
				shim_put(&socks[i]->obj);
				socks[i] = NULL;
			}
		}
	}
	return any;
}

/* A fork child polls fd: EBADF when it is a stack socket the parent's stack
 * serves (not exposed). */
static bool child_stack_sock(int fd)
{
	struct shim_sock *k = fd >= 0 && shim_owns(fd) ? shim_get_sock(fd) : NULL;
	bool r = k && !shim_exposed(k) && !k->join && !shim_child_release(k);

	if (k)
		shim_put(&k->obj);
	return r;
}

/* A fork child's copy of a socket whose connect failed before the fork
 * (shim/expose.c, share_failed), not connected again: what Linux's poll
 * shows that its placeholder (a kernel socket never connected: CLOSE,
 * writable and hung up) does not. The socket was shut both ways
 * (tcp_done): readable at its end; in error while the error waits (a
 * share both processes see). 0 for any other fd. */
static unsigned child_fail_bits(int fd)
{
	struct shim_sock *k = fd >= 0 && shim_owns(fd) ? shim_get_sock(fd) : NULL;
	unsigned bits = 0;

	if (k && k->fail_share && k->share && !k->tcp && !shim_exposed(k))
		bits = POLLIN | POLLRDNORM | POLLRDHUP | (atomic_load(&k->share->err) ? POLLERR : 0);
	if (k)
		shim_put(&k->obj);
	return bits;
}

/*
 * A fork child's poll() over such a socket: the kernel's poll of them all
 * (the placeholder answers at once), then those bits added, as the program
 * asked for them (POLLERR always).
 */
static int child_poll_err(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	bool any = false;
	long r;

	for (nfds_t i = 0; i < n && !any; i++)
		any = child_fail_bits(fds[i].fd) != 0;
	if (!any)
		return SHIM_PASS;
	r = sys_ppoll(fds, n, ts, mask);
	if (r < 0)
		return (int)r;
	for (nfds_t i = 0; i < n; i++) {
		unsigned bits = child_fail_bits(fds[i].fd) & ((unsigned)(unsigned short)fds[i].events | POLLERR);

		if (!bits)
			continue;
		if (!fds[i].revents)
			r++;
		fds[i].revents |= (short)bits;
	}
	return (int)r;
}

static void put_socks(struct shim_sock **socks, struct shim_epoll **eps, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++) {
		if (socks[i])
			shim_put(&socks[i]->obj);
		if (eps[i])
			shim_put(&eps[i]->obj);
	}
}

/* The signal mask of ppoll/pselect/epoll_pwait: the kernel reads its 8 bytes
 * (_NSIG / 8), so do we. 0 or -EFAULT; *out is NULL when mask is. */
static int mask_import(const sigset_t *mask, sigset_t *copy, const sigset_t **out)
{
	*out = NULL;
	if (!mask)
		return 0;
	sigemptyset(copy);
	if (shim_copy(copy, mask, 8))
		return -EFAULT;
	*out = copy;
	return 0;
}

/* Whether some fd of the program's array is a stack socket, read a chunk
 * at a time: 1, 0, or -EFAULT. */
static int poll_scan(const struct pollfd *ufds, nfds_t n)
{
	struct pollfd chunk[64];

	for (nfds_t at = 0; at < n; at += 64) {
		nfds_t m = n - at < 64 ? n - at : 64;

		if (shim_copy(chunk, ufds + at, m * sizeof(*chunk)))
			return -EFAULT;
		for (nfds_t i = 0; i < m; i++)
			if (chunk[i].fd >= 0 && shim_owns(chunk[i].fd))
				return 1;
	}
	return 0;
}

struct revents_out {
	struct pollfd *ufds;
	const struct pollfd *fds;
	nfds_t n;
};

static void revents_write(void *arg)
{
	const struct revents_out *o = arg;

	for (nfds_t i = 0; i < o->n; i++)
		o->ufds[i].revents = o->fds[i].revents;
}

/*
 * The program's array is copied in and only revents is written back, as
 * the kernel does it. Memory the program does not own (the array, the
 * timeout, the mask) is left to the kernel's poll, which answers exactly as
 * it would have (EFAULT, or EINVAL for an nfds beyond RLIMIT_NOFILE) and
 * polls nothing.
 */
int shim_ppoll(struct pollfd *ufds, nfds_t n, const struct timespec *uts, const sigset_t *umask)
{
	struct shim_sock *sstack[SHIM_POLL_STACK], **socks = sstack;
	struct shim_epoll *estack[SHIM_POLL_STACK], **eps = estack;
	struct pollfd fstack[SHIM_POLL_STACK], *fds = fstack;
	struct revents_out out;
	struct timespec tsc, *ts = NULL;
	const sigset_t *mask;
	sigset_t maskc;
	enum shim_proc ps;
	int r;

	/* More fds than RLIMIT_NOFILE: the kernel's EINVAL. Asked of the kernel
	 * only past the usual soft limit (a system call): below it, only a
	 * program that lowered its own limit under nfds would see a difference. */
	if (n > SHIM_POLL_MAX)
		return SHIM_PASS;
	if (n > 1024) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && n > rl.rlim_cur)
			return SHIM_PASS;
	}
	r = poll_scan(ufds, n);
	if (r <= 0)
		return SHIM_PASS;   /* none of ours, or the kernel's EFAULT */
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (uts) {
		if (shim_copy(&tsc, uts, sizeof(tsc)))
			return SHIM_PASS;
		ts = &tsc;
	}
	if (mask_import(umask, &maskc, &mask))
		return SHIM_PASS;
	if (n > SHIM_POLL_STACK) {
		fds = malloc(n * sizeof(*fds));
		socks = calloc(n, sizeof(*socks));
		eps = calloc(n, sizeof(*eps));
		if (!fds || !socks || !eps) {
			free(fds);
			free(socks);
			free(eps);
			return -ENOMEM;
		}
	}
	if (shim_copy(fds, ufds, n * sizeof(*fds))) {
		r = SHIM_PASS;
	} else if (ps == SHIM_PROC_FORKED) {
		r = SHIM_PASS;
		for (nfds_t i = 0; i < n && r == SHIM_PASS; i++)
			if (child_stack_sock(fds[i].fd))
				r = shim_child_ebadf();
		/* A bad time is the kernel's EINVAL: its own call answers. */
		if (r == SHIM_PASS && !(ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)))
			r = child_poll_err(fds, n, ts, mask);
		if (r != SHIM_PASS && r >= 0) {
			out = (struct revents_out){ ufds, fds, n };
			if (shim_user_do(revents_write, &out, ufds, n * sizeof(*ufds)))
				r = -EFAULT;
		}
	} else if (!collect_socks(fds, n, socks, eps)) {
		put_socks(socks, eps, n);
		r = SHIM_PASS;
	} else {
		if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
			r = -EINVAL;
		else {
			uint64_t t = ts ? us_from_ts(ts) : 0, dl = ts && t ? shim_clock_us() + t : 0;

			r = poll_core(fds, n, socks, eps, ts == NULL, dl, mask);
			while (r == SHIM_REPOLL) {
				put_socks(socks, eps, n);
				(void)collect_socks(fds, n, socks, eps);
				if (ts && t && shim_clock_us() >= dl)
					dl = 0;     /* the time is up: one look without waiting */
				r = poll_core(fds, n, socks, eps, ts == NULL, dl, mask);
			}
		}
		put_socks(socks, eps, n);
		if (r >= 0) {
			out = (struct revents_out){ ufds, fds, n };
			if (shim_user_do(revents_write, &out, ufds, n * sizeof(*ufds)))
				r = -EFAULT;
		}
	}
	if (fds != fstack) {
		free(fds);
		free(socks);
		free(eps);
	}
	return r;
}

/* The bytes of an fd_set the kernel reads and writes for n fds (FDS_BYTES). */
static size_t fds_bytes(int n)
{
	return (size_t)(n + 63) / 64 * 8;
}

/* The size of the fd table Linux would give the program without the
 * stack's own fds, which sit high (sys_fd_hide, efd_make) and make the
 * kernel's table large: BITS_PER_LONG (64) fds while all are below, then
 * the power of two above the highest (expand_files, alloc_fdtable). The
 * highest open fd not the stack's, from /proc/self/fd: a high fd the
 * program closed since is not known (its table would still hold it). */
static int prog_fdtable_size(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long high = -1;
	int self, size = 128;

	if (!d)
		return INT_MAX;         /* not known: nothing is past it */
	self = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (end == e->d_name || *end || fd == self || fd > INT_MAX / 2 || shim_protected((int)fd))
			continue;
		if (fd > high)
			high = fd;
	}
	closedir(d);
	if (high < 64)
		return 64;
	while (size <= high)
		size *= 2;
	return size;
}

/*
 * Linux's select looks at the fds of its table only: max_select_fd clamps n
 * to max_fds, so a bit for an fd past it is ignored (and left as it was),
 * one for a closed fd within it is EBADF. The stack's own high fds make the
 * kernel's table larger than the program's would be: n is clamped here to
 * the table the program would have when a bit past it is for an fd the
 * program does not have (closed, or the stack's); one of the stack's within
 * it is EBADF, as a closed fd's. Returns the n to use, or -EBADF.
 */
static int select_table_n(int n, const fd_set *rs, const fd_set *ws, const fd_set *es)
{
	int size = -1;

	for (int fd = 64; fd < n; fd++) {
		bool ours;

		if (!((rs && FD_ISSET(fd, rs)) || (ws && FD_ISSET(fd, ws)) || (es && FD_ISSET(fd, es))))
			continue;
		ours = shim_protected(fd);
		if (!ours && (shim_owns(fd) || shim_libc.fcntl(fd, F_GETFD) >= 0))
			continue;       /* the program's */
		if (size < 0)
			size = prog_fdtable_size();
		if (fd >= size)
			return size;    /* this and every bit above: past the table */
		if (ours)
			return -EBADF;
		/* closed: EBADF from the wait */
	}
	return n;
}

int shim_select_nfds(int n, const fd_set *urs, const fd_set *uws, const fd_set *ues)
{
	fd_set s[3];
	const fd_set *u[3] = { urs, uws, ues };
	size_t nb;

	if (n <= 64)
		return n;
	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
	nb = fds_bytes(n);
	for (int i = 0; i < 3; i++) {
		FD_ZERO(&s[i]);
		if (u[i] && shim_copy(&s[i], u[i], nb))
			return n;       /* the kernel's EFAULT */
	}
	n = select_table_n(n, urs ? &s[0] : NULL, uws ? &s[1] : NULL, ues ? &s[2] : NULL);
	return n < 0 ? 0 : n;
}

/*
 * Like shim_ppoll: the sets are copied in (their first fds_bytes(n) bytes,
 * as the kernel reads them) and written back the same way; memory the
 * program does not own is left to the kernel's select (SHIM_PASS) when it
 * is an input, and is EFAULT when it is where the result goes.
 */
int shim_pselect(int n, fd_set *urs, fd_set *uws, fd_set *ues, const struct timespec *uts,
		 const sigset_t *umask, struct timespec *left)
{
	fd_set rset, wset, eset, *rs = NULL, *ws = NULL, *es = NULL;
	struct timespec tsc, *ts = NULL;
	struct pollfd *fds;
	struct shim_sock **socks;
	struct shim_epoll **eps;
	const sigset_t *mask;
	sigset_t maskc;
	nfds_t m = 0;
	bool any = false;
	uint64_t dl = 0;
	int r, count = 0;
	enum shim_proc ps;
	size_t nb;

	if (n < 0)
		return -EINVAL;
	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
	nb = fds_bytes(n);
	if (urs) {
		FD_ZERO(&rset);
		if (shim_copy(&rset, urs, nb))
			return SHIM_PASS;
		rs = &rset;
	}
	if (uws) {
		FD_ZERO(&wset);
		if (shim_copy(&wset, uws, nb))
			return SHIM_PASS;
		ws = &wset;
	}
	if (ues) {
		FD_ZERO(&eset);
		if (shim_copy(&eset, ues, nb))
			return SHIM_PASS;
		es = &eset;
	}
	r = select_table_n(n, rs, ws, es);
	if (r < 0)
		return r;
	if (r < n) {
		/* Past the program's table: neither read nor written. */
		n = r;
		nb = fds_bytes(n);
	}
	for (int fd = 0; fd < n && !any; fd++)
		if ((rs && FD_ISSET(fd, rs)) || (ws && FD_ISSET(fd, ws)) || (es && FD_ISSET(fd, es)))
			any = shim_owns(fd);
	if (!any)
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (ps == SHIM_PROC_FORKED) {
		for (int fd = 0; fd < n; fd++)
			if (((rs && FD_ISSET(fd, rs)) || (ws && FD_ISSET(fd, ws)) || (es && FD_ISSET(fd, es))) &&
			    child_stack_sock(fd))
				return shim_child_ebadf();
		return SHIM_PASS;
	}
	if (uts) {
		if (shim_copy(&tsc, uts, sizeof(tsc)))
			return SHIM_PASS;
		ts = &tsc;
	}
	if (mask_import(umask, &maskc, &mask))
		return SHIM_PASS;
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return -EINVAL;
	fds = calloc((size_t)n, sizeof(*fds));
	socks = calloc((size_t)n, sizeof(*socks));
	eps = calloc((size_t)n, sizeof(*eps));
	if (!fds || !socks || !eps) {
		free(fds);
		free(socks);
		free(eps);
		return -ENOMEM;
	}
	for (int fd = 0; fd < n; fd++) {
		short ev = 0;

		if (rs && FD_ISSET(fd, rs))
			ev |= POLLIN;
		if (ws && FD_ISSET(fd, ws))
			ev |= POLLOUT;
		if (es && FD_ISSET(fd, es))
			ev |= POLLPRI;
		if (ev) {
			fds[m].fd = fd;
			fds[m].events = ev;
			m++;
		}
	}
	(void)collect_socks(fds, m, socks, eps);
	if (ts && us_from_ts(ts))
		dl = shim_clock_us() + us_from_ts(ts);
	r = poll_core(fds, m, socks, eps, ts == NULL, dl, mask);
	while (r == SHIM_REPOLL) {
		put_socks(socks, eps, m);
		(void)collect_socks(fds, m, socks, eps);
		if (dl && shim_clock_us() >= dl)
			dl = 0;
		r = poll_core(fds, m, socks, eps, ts == NULL, dl, mask);
	}
	/* A stack socket closed while select slept (another thread's close)
	 * is no EBADF: Linux checks the fds at the start (max_select_fd), and
	 * its look after the wake-up finds no file, EPOLLNVAL, which its
	 * POLLIN_SET, POLLOUT_SET and POLLEX_SET all take in. */
	for (nfds_t i = 0; r >= 0 && i < m; i++)
		if (socks[i] && (fds[i].revents & POLLNVAL))
			fds[i].revents = POLLIN | POLLOUT | POLLPRI;
	put_socks(socks, eps, m);
	if (r >= 0) {
		for (nfds_t i = 0; i < m; i++)
			if (fds[i].revents & POLLNVAL)
				r = -EBADF;
	}
	if (r >= 0) {
		if (rs)
			FD_ZERO(rs);
		if (ws)
			FD_ZERO(ws);
		if (es)
			FD_ZERO(es);
		for (nfds_t i = 0; i < m; i++) {
			short rev = fds[i].revents, ev = fds[i].events;

			/* Linux's POLLIN_SET, POLLOUT_SET and POLLEX_SET. */
			if ((ev & POLLIN) && (rev & (POLLIN | POLLRDNORM | POLLHUP | POLLERR))) {
				FD_SET(fds[i].fd, rs);
				count++;
			}
			if ((ev & POLLOUT) && (rev & (POLLOUT | POLLWRNORM | POLLERR))) {
				FD_SET(fds[i].fd, ws);
				count++;
			}
			if ((ev & POLLPRI) && (rev & POLLPRI)) {
				FD_SET(fds[i].fd, es);
				count++;
			}
		}
		r = count;
		if ((rs && shim_copy(urs, rs, nb)) || (ws && shim_copy(uws, ws, nb)) ||
		    (es && shim_copy(ues, es, nb)))
			r = -EFAULT;
	}
	if (left && ts) {
		uint64_t now = shim_clock_us();

		ts_from_us(left, dl > now ? dl - now : 0);
	}
	free(fds);
	free(socks);
	free(eps);
	return r;
}

/* ---- epoll ---- */

static bool is_epoll_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventpoll]") == 0;
}

/* Whether the kernel's epoll fd already holds registrations, from its
 * fdinfo ("tfd:" lines); true when that cannot be read. Once, when the
 * shim first sees the epoll fd. */
static bool epoll_has_items(int epfd)
{
	char path[64], buf[512];
	bool found = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	fd = (int)sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return true;
	/* A line may straddle two reads: keep the last few bytes. */
	buf[0] = '\0';
	for (size_t keep = 0; !found && (n = shim_libc.read(fd, buf + keep, sizeof(buf) - 1 - keep)) > 0;) {
		buf[keep + (size_t)n] = '\0';
		found = strstr(buf, "tfd:") != NULL;
		keep = keep + (size_t)n < 3 ? keep + (size_t)n : 3;
		memmove(buf, buf + strlen(buf) - keep, keep);
	}
	if (n < 0)
		found = true;
	shim_libc.close(fd);
	return found;
}

/* No lock held: from now on ep's waits ask the kernel's epoll too; a
 * thread already blocked without it looks again. */
static void epoll_kernel_fds(struct shim_epoll *ep)
{
	if (atomic_exchange(&ep->kernel_fds, true))
		return;
	shim_lock();
	shim_wq_wake(&ep->wq);
	shim_unlock();
}

void shim_epoll_kernel_added(int epfd)
{
	struct shim_obj *o = shim_get(epfd);

	if (o && o->kind == SHIM_OBJ_EPOLL)
		epoll_kernel_fds((struct shim_epoll *)o);
	if (o)
		shim_put(o);
}

static struct shim_epoll *epoll_get(int epfd)
{
	struct shim_obj *o = shim_get(epfd);

	if (o && o->kind != SHIM_OBJ_EPOLL) {
		shim_put(o);
		return NULL;
	}
	return (struct shim_epoll *)o;
}

static struct shim_epitem *rdl_item(struct shim_eplink *l)
{
	return (struct shim_epitem *)(void *)((char *)l - offsetof(struct shim_epitem, rdl));
}

/* Stack lock held: whether an item on ep's ready list has an event now
 * (epoll_collect's test, taking nothing off the list). */
static bool epoll_ready_now(const struct shim_epoll *ep)
{
	for (const struct shim_eplink *l = ep->ready.next; l != &ep->ready; l = l->next) {
		struct shim_epitem *it = rdl_item((struct shim_eplink *)l);

		if (!it->fired &&
		    (shim_sock_poll_user(it->k) & (it->ev.events | EPOLLERR | EPOLLHUP) & ~(unsigned)POLLNVAL))
			return true;
	}
	return false;
}

static bool rdl_empty(const struct shim_eplink *head)
{
	return head->next == head;
}

/* Stack lock held: l goes on a list, after at. */
static void rdl_add_after(struct shim_eplink *at, struct shim_eplink *l)
{
	l->prev = at;
	l->next = at->next;
	at->next->prev = l;
	at->next = l;
}

/* Stack lock held: l leaves its list (and is marked off every list). */
static void rdl_del(struct shim_eplink *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

/* Stack lock held: the whole of from goes to the head of to (from ends empty). */
static void rdl_splice_head(struct shim_eplink *from, struct shim_eplink *to)
{
	if (rdl_empty(from))
		return;
	from->prev->next = to->next;
	to->next->prev = from->prev;
	to->next = from->next;
	from->next->prev = to;
	from->next = from->prev = from;
}

/* Stack lock held: it may be ready; its epoll's waiters look (Linux's
 * ep_poll_callback, without the wake-up's key: the socket's wake-up does
 * not say which events it is for, so every one queues the item and the
 * wait's poll decides). */
static void child_kick(struct shim_epoll *ep);

static void item_ready(struct shim_epitem *it)
{
	if (!it->rdl.next)
		rdl_add_after(it->ep->ready.prev, &it->rdl);
	shim_wq_wake(&it->ep->wq);
	if (it->ep->ckick_fd >= 0)
		child_kick(it->ep);
}

void shim_epoll_item_wake(struct shim_epitem *it)
{
	/* A one-shot item that reported is disabled until EPOLL_CTL_MOD
	 * (Linux: its events are only EP_PRIVATE_BITS then, and the callback
	 * neither queues it nor wakes anyone). */
	if (it->fired)
		return;
	item_ready(it);
}

/* Stack lock held: takes an item off its socket's wait list and its epoll's lists. */
static void lo_items_del(struct shim_epoll *ep, struct shim_epitem *it);

static void item_unlink(struct shim_epitem *it)
{
	if (it->lo_reg)
		lo_items_del(it->ep, it);
	shim_wq_del(&it->w);
	it->prev->next = it->next;
	it->next->prev = it->prev;
	if (it->rdl.next)
		rdl_del(&it->rdl);
}

/* Stack lock held: k's first epoll item, or NULL. */
static struct shim_epitem *sock_item(struct shim_sock *k)
{
	for (struct shim_waiter *w = k->wq.next; w != &k->wq; w = w->next)
		if (w->kind == SHIM_W_EPOLL)
			return w->item;
	return NULL;
}

void shim_epoll_forget_sock(struct shim_sock *k)
{
	struct shim_epitem *it;

	while ((it = sock_item(k))) {
		item_unlink(it);
		free(it);
	}
}

struct shim_epitem *shim_epoll_take_sock(struct shim_sock *k)
{
	struct shim_epitem *taken = NULL, *it;

	while ((it = sock_item(k))) {
		item_unlink(it);
		/* Its epoll object lives until shim_epoll_to_kernel is done. */
		atomic_fetch_add(&it->ep->obj.refs, 1);
		it->next = taken;
		taken = it;
	}
	return taken;
}

void shim_epoll_to_kernel(struct shim_epitem *taken, int fd)
{
	while (taken) {
		struct shim_epitem *it = taken;

		taken = it->next;
		/* The socket went to the kernel: so does its registration. */
		(void)shim_libc.epoll_ctl(it->ep->epfd, EPOLL_CTL_ADD, it->fd >= 0 ? it->fd : fd, &it->ev);
		epoll_kernel_fds(it->ep);
		shim_put(&it->ep->obj);
		free(it);
	}
}

/* The epoll fd's last close: its registrations go. */
static void epoll_last_close(struct shim_obj *o)
{
	struct shim_epoll *ep = (struct shim_epoll *)o;

	shim_lock();
	while (ep->items.next != &ep->items) {
		struct shim_epitem *it = ep->items.next;

		item_unlink(it);
		free(it);
	}
	if (ep->nest) {
		shim_wq_del(&ep->nest_w);
		atomic_store(&ep->nest_fd, -1);
	}
	shim_unlock();
	if (ep->nest) {
		shim_efd_drop(ep->nest);
		ep->nest = NULL;
	}
	if (ep->kick) {
		atomic_store(&ep->kick_fd, -1);
		shim_efd_drop(ep->kick);
		ep->kick = NULL;
	}
	if (ep->ckick && ep->ckick_pid == getpid()) {
		ep->ckick_fd = -1;
		shim_efd_drop(ep->ckick);
		ep->ckick = NULL;
	}
}

static void epoll_free(struct shim_obj *o)
{
	free(((struct shim_epoll *)o)->lo_items);
	free(o);
}

static struct shim_waiter *epoll_waiters(struct shim_obj *o)
{
	return &((struct shim_epoll *)o)->wq;
}

const struct shim_obj_ops shim_epoll_ops = {
	.last_close = epoll_last_close,
	.free = epoll_free,
	.exit = NULL,   /* its items go with their sockets */
	.waiters = epoll_waiters,
};

/* A new object for epfd (one reference, the caller's), not installed. */
static struct shim_epoll *epoll_new(int epfd, bool kernel_fds)
{
	struct shim_epoll *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	ep->obj.kind = SHIM_OBJ_EPOLL;
	ep->obj.ops = &shim_epoll_ops;
	ep->epfd = epfd;
	atomic_init(&ep->kernel_fds, kernel_fds);
	atomic_init(&ep->nest_fd, -1);
	atomic_init(&ep->kick_fd, -1);
	ep->ckick_fd = -1;
	ep->items.prev = ep->items.next = &ep->items;
	ep->ready.prev = ep->ready.next = &ep->ready;
	shim_wq_init(&ep->wq);
	atomic_store(&ep->obj.refs, 1);
	return ep;
}

void shim_epoll_created(int epfd)
{
	struct shim_epoll *ep = epoll_new(epfd, false);

	if (!ep)
		return;     /* made at its first stack socket, as before */
	if (shim_install_new(epfd, &ep->obj) != 0) {
		free(ep);
		return;
	}
	shim_put(&ep->obj);     /* the table's reference stays */
}

/*
 * The shim's object for epfd, created at its first EPOLL_CTL_ADD of a stack
 * socket (referenced), or NULL with *err set. Two threads may make that
 * first ADD at once: one installs, the other frees its own and uses it.
 */
static struct shim_epoll *epoll_get_or_make(int epfd, int op, int *err)
{
	for (int tries = 0; tries < 2; tries++) {
		struct shim_epoll *ep = epoll_get(epfd);
		int r;

		if (ep)
			return ep;
		if (shim_libc.fcntl(epfd, F_GETFD) < 0) {
			*err = -EBADF;
			return NULL;
		}
		if (!is_epoll_fd(epfd)) {
			*err = -EINVAL;
			return NULL;
		}
		if (op != EPOLL_CTL_ADD) {
			*err = -ENOENT;
			return NULL;
		}
		/* Kernel fds added before the first stack socket. */
		ep = epoll_new(epfd, epoll_has_items(epfd));
		if (!ep) {
			*err = -ENOMEM;
			return NULL;
		}
		r = shim_install_new(epfd, &ep->obj);
		if (r == 0)
			return ep;
		free(ep);
		if (r != -EEXIST) {
			*err = -ENOMEM;
			return NULL;
		}
		/* Another thread's first ADD won: use its object. */
	}
	/* The slot holds something else: epfd was closed and reused meanwhile. */
	*err = -EBADF;
	return NULL;
}

/*
 * A socket's loopback side (internal.h, lo_fd) is in the kernel's epoll
 * under a tag of its item, not the program's data: what the kernel reports
 * there is taken out of the answer (lo_translate) and becomes the socket's
 * (shim_lo_pull), so that the stack's epoll reports the socket once, with
 * all its events, as Linux's. The tag is the item's address with LO_TAG in
 * its top bits, which no address has; ep->lo_items says which are live.
 */
#define LO_TAG 0xfeedull
#define LO_TAG_SHIFT 48

static uint64_t lo_tag(const struct shim_epitem *it)
{
	return (uint64_t)(uintptr_t)it | LO_TAG << LO_TAG_SHIFT;
}

/* Stack lock held. */
static void lo_items_add(struct shim_epoll *ep, struct shim_epitem *it)
{
	if (it->lo_reg)
		return;
	if (ep->nlo == ep->lo_cap) {
		unsigned cap = ep->lo_cap ? ep->lo_cap * 2 : 4;
		struct shim_epitem **n = realloc(ep->lo_items, cap * sizeof(*n));

		if (!n)
			return;     /* its events then pass as the kernel gives them */
		ep->lo_items = n;
		ep->lo_cap = cap;
	}
	ep->lo_items[ep->nlo++] = it;
	it->lo_reg = true;
	atomic_store(&ep->has_lo, true);
}

/* Stack lock held. */
static void lo_items_del(struct shim_epoll *ep, struct shim_epitem *it)
{
	for (unsigned i = 0; i < ep->nlo; i++)
		if (ep->lo_items[i] == it) {
			ep->lo_items[i] = ep->lo_items[--ep->nlo];
			break;
		}
	it->lo_reg = false;
	if (!ep->nlo && !ep->nest)
		atomic_store(&ep->has_lo, false);
}

/* No lock held: the kernel's side of a registration, under tag (0: DEL). */
static void lo_epoll_ctl(struct shim_epoll *ep, int op, int lo, const struct epoll_event *ev, uint64_t tag)
{
	struct epoll_event kev;

	if (op == EPOLL_CTL_DEL) {
		(void)shim_libc.epoll_ctl(ep->epfd, EPOLL_CTL_DEL, lo, NULL);
		return;
	}
	/* Only what it has to read is the socket's: a UDP socket's loopback
	 * side is always writable, as the stack's socket is already. */
	kev.events = ev->events & ~(uint32_t)(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
	kev.data.u64 = tag;
	if (shim_libc.epoll_ctl(ep->epfd, op, lo, &kev) < 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
		kev.events &= ~(uint32_t)EPOLLEXCLUSIVE;
		op = EPOLL_CTL_ADD;
		if (shim_libc.epoll_ctl(ep->epfd, op, lo, &kev) < 0)
			return;
	}
	epoll_kernel_fds(ep);
}

/*
 * No lock held: the kernel's answer ev[0..n) without the loopback sides'
 * events, each of which has made its socket's (shim_lo_pull). The count
 * left. A tag no live item has (a registration that outlived its item) is
 * dropped too.
 */
static int lo_translate(struct shim_epoll *ep, struct epoll_event *ev, int n)
{
	int out = 0, i;

	for (i = 0; i < n && ev[i].data.u64 >> LO_TAG_SHIFT != LO_TAG; i++)
		;
	if (i >= n)
		return n;
	shim_lock();
	for (i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		struct shim_epitem *it = NULL;

		if (d >> LO_TAG_SHIFT != LO_TAG) {
			ev[out++] = ev[i];
			continue;
		}
		for (unsigned j = 0; j < ep->nlo; j++)
			if (lo_tag(ep->lo_items[j]) == d) {
				it = ep->lo_items[j];
				break;
			}
		if (it) {
			struct shim_sock *k = it->k;

			/* The pull lets go of the lock: the socket stays, the
			 * item may not. */
			atomic_fetch_add(&k->obj.refs, 1);
			shim_lo_pull(k);
			shim_unlock();
			shim_put(&k->obj);
			shim_lock();
		}
	}
	shim_unlock();
	return out;
}

void shim_epoll_lo_added(struct shim_sock *k, int lo)
{
	struct shim_epoll *eps[8];
	struct epoll_event evs[8];
	uint64_t tags[8];
	int n = 0;

	shim_lock();
	for (struct shim_waiter *w = k->wq.next; w != &k->wq && n < 8; w = w->next) {
		if (w->kind != SHIM_W_EPOLL)
			continue;
		atomic_fetch_add(&w->item->ep->obj.refs, 1);
		eps[n] = w->item->ep;
		evs[n] = w->item->ev;
		lo_items_add(eps[n], w->item);
		tags[n] = lo_tag(w->item);
		n++;
	}
	shim_unlock();
	for (int i = 0; i < n; i++) {
		lo_epoll_ctl(eps[i], EPOLL_CTL_ADD, lo, &evs[i], tags[i]);
		shim_put(&eps[i]->obj);
	}
}

void shim_epoll_lo_removed(struct shim_sock *k, int lo)
{
	struct shim_epoll *eps[8];
	int n = 0;

	shim_lock();
	for (struct shim_waiter *w = k->wq.next; w != &k->wq && n < 8; w = w->next) {
		if (w->kind != SHIM_W_EPOLL)
			continue;
		atomic_fetch_add(&w->item->ep->obj.refs, 1);
		eps[n++] = w->item->ep;
		if (w->item->lo_reg)
			lo_items_del(w->item->ep, w->item);
	}
	k->lo_ready = false;
	shim_unlock();
	for (int i = 0; i < n; i++) {
		lo_epoll_ctl(eps[i], EPOLL_CTL_DEL, lo, NULL, 0);
		shim_put(&eps[i]->obj);
	}
}

/*
 * An epoll nested in another (Linux: the outer one polls the inner one's
 * file, ep_eventpoll_poll, readable while an item has an event). The
 * kernel's outer epoll holds the inner one's kernel epoll, which sees the
 * inner's kernel fds only; the inner's stack sockets are made visible
 * there by an eventfd (ep->nest) in its kernel epoll under a tag of the
 * epoll's own (lo_translate drops its events: no item has it), on the
 * inner's wait list for good: a stack socket's wake-up that readies one of
 * its items writes it. It stays readable only while one has an event:
 * epoll_nest_sync drains it and writes it again if so, at the end of each
 * of the inner's waits and before each of the outer's (which keeps the
 * inner ones' fds: a wake-up written after the outer's waiter saw its own
 * is not missed).
 */
static uint64_t nest_tag(const struct shim_epoll *ep)
{
	return (uint64_t)(uintptr_t)ep | LO_TAG << LO_TAG_SHIFT;
}

/* No lock held: ep made readable in the kernel exactly while a stack
 * socket's item has an event (drained first: a wake-up after the look
 * writes it again). */
static void epoll_nest_sync(struct shim_epoll *ep)
{
	int fd = atomic_load(&ep->nest_fd);
	uint64_t v = 1;
	bool ready;

	if (fd < 0)
		return;
	(void)!shim_libc.read(fd, &v, sizeof(v));
	shim_lock();
	ready = epoll_ready_now(ep);
	shim_unlock();
	v = 1;
	if (ready)
		(void)!shim_libc.write(fd, &v, sizeof(v));
}

/* No lock held: the epolls nested in outer, made readable as they are. */
static void epoll_nested_sync(struct shim_epoll *outer)
{
	int fds[8];
	unsigned n;

	shim_lock();
	n = atomic_load(&outer->nnested);
	memcpy(fds, outer->nested, n * sizeof(fds[0]));
	shim_unlock();
	for (unsigned i = 0; i < n; i++) {
		struct shim_epoll *in = epoll_get(fds[i]);

		if (in) {
			epoll_nest_sync(in);
			shim_put(&in->obj);
		}
	}
}

/*
 * An epoll without stack items waits in the kernel's epoll_wait alone
 * (epoll_kernel_wait). A thread may be blocked there when another adds
 * the first stack socket (Java's AsynchronousSocketChannel: its poller
 * thread waits on the epoll before the first channel is registered):
 * Linux's ep_insert wakes it when the socket is ready, and here its
 * socket's wake-ups reach only the shim's waiters. So the first ADD
 * (stack_items set) kicks the threads in the kernel's wait: an eventfd in
 * the kernel epoll under a tag no item has (lo_translate drops its
 * events), written once; they leave, the last one out drains it, and
 * their next look is the shim's. Ordered by the two counters: the kicker
 * stores kick_fd, writes, then reads kwaiters (0: it drains itself); a
 * waiter counts itself, reads stack_items, and on leaving reads kick_fd.
 */
static uint64_t kick_tag(void)
{
	return LO_TAG << LO_TAG_SHIFT;     /* no item is at address 0 */
}

static void kick_drain(int fd)
{
	uint64_t v;

	(void)!shim_libc.read(fd, &v, sizeof(v));
}

/* No lock held: after a stack socket's ADD to ep. */
static void epoll_kick(struct shim_epoll *ep)
{
	struct epoll_event kev = { .events = EPOLLIN, .data.u64 = kick_tag() };
	struct shim_efd *e;
	uint64_t v = 1;
	int fd;

	/* A fork child's threads wait otherwise (child_epoll_wait); the
	 * counter here is the parent's copy. */
	if (shim_proc_state() != SHIM_PROC_OWNER)
		return;
	if (!atomic_load(&ep->kwaiters) || atomic_load(&ep->kick_fd) >= 0)
		return;
	fd = shim_efd_new(&e);
	if (fd < 0)
		return;
	if (shim_libc.epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &kev) != 0) {
		shim_efd_drop(e);
		return;
	}
	shim_lock();
	if (!ep->kick) {
		ep->kick = e;
		atomic_store(&ep->kick_fd, fd);
		e = NULL;
	}
	shim_unlock();
	if (e) {
		/* Another thread's kick is there already. */
		(void)shim_libc.epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL);
		shim_efd_drop(e);
		return;
	}
	epoll_kernel_fds(ep);
	(void)!shim_libc.write(fd, &v, sizeof(v));
	if (!atomic_load(&ep->kwaiters))
		kick_drain(fd);
}

/*
 * No lock held: the kernel's wait on ep, which has no stack items (yet),
 * as the program asked it. *kicked when a stack socket's item came before
 * or during it and it found nothing else: the shim's wait goes on.
 */
static int epoll_kernel_wait(struct shim_epoll *ep, struct epoll_event *ev, int max, int timeout,
			     const sigset_t *umask, bool *kicked)
{
	int n = 0, err = 0, fd;

	atomic_fetch_add(&ep->kwaiters, 1);
	if (!atomic_load(&ep->stack_items)) {
		n = (int)SHIM_SAFE_CALL(shim_libc.epoll_pwait(ep->epfd, ev, max, timeout, umask));
		err = errno;
	} else {
		*kicked = true;
	}
	if (atomic_fetch_sub(&ep->kwaiters, 1) == 1 && (fd = atomic_load(&ep->kick_fd)) >= 0)
		kick_drain(fd);
	if (n < 0)
		return -err;
	if (n > 0) {
		n = lo_translate(ep, ev, n);
		*kicked = n == 0;
	}
	return n;
}

/* No lock held: inner_fd added to (or taken out of) the epoll epfd. */
static void epoll_nest(int epfd, int inner_fd, int op)
{
	struct shim_epoll *in = epoll_get(inner_fd), *out;
	struct epoll_event kev;
	struct shim_efd *e;
	int fd, r;

	if (!in)
		return;
	out = epoll_get(epfd);
	if (out) {
		/* The outer one remembers it (no reference: looked up by fd). */
		shim_lock();
		if (op == EPOLL_CTL_ADD) {
			unsigned n = atomic_load(&out->nnested);
			bool have = false;

			for (unsigned i = 0; i < n; i++)
				have |= out->nested[i] == inner_fd;
			if (!have && n < 8) {
				out->nested[n] = inner_fd;
				atomic_store(&out->nnested, n + 1);
			}
		} else {
			unsigned n = atomic_load(&out->nnested);

			for (unsigned i = 0; i < n; i++)
				if (out->nested[i] == inner_fd) {
					out->nested[i] = out->nested[n - 1];
					atomic_store(&out->nnested, n - 1);
					break;
				}
		}
		shim_unlock();
		shim_put(&out->obj);
	}
	if (op != EPOLL_CTL_ADD || atomic_load(&in->nest_fd) >= 0) {
		shim_put(&in->obj);
		return;
	}
	fd = shim_efd_new(&e);
	if (fd < 0) {
		shim_put(&in->obj);
		return;
	}
	kev.events = EPOLLIN;
	kev.data.u64 = nest_tag(in);
	r = shim_libc.epoll_ctl(in->epfd, EPOLL_CTL_ADD, fd, &kev);
	shim_lock();
	if (r == 0 && !in->nest) {
		in->nest = e;
		in->nest_w.kind = SHIM_W_THREAD;
		in->nest_w.efd = e;
		shim_wq_add(&in->wq, &in->nest_w);
		atomic_store(&in->nest_fd, fd);
		/* Its waits ask the kernel's epoll first (lo_translate). */
		atomic_store(&in->has_lo, true);
		e = NULL;
	}
	shim_unlock();
	if (e)
		shim_efd_drop(e);       /* another thread's won, or the kernel refused */
	else
		epoll_kernel_fds(in);
	epoll_nest_sync(in);
	shim_put(&in->obj);
}

int shim_epoll_ctl(int epfd, int op, int fd, struct epoll_event *uev)
{
	struct epoll_event evc, *ev = NULL;
	struct shim_sock *k;
	struct shim_epoll *ep;
	struct shim_epitem *it;
	enum shim_proc ps;
	uint64_t tag = 0;
	int r = 0, lo;

	if (!shim_owns(fd))
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	k = shim_get_sock(fd);
	if (!k) {
		/* An epoll fd goes into another: the kernel's registration,
		 * with its checks (ELOOP, EEXIST...); the stack's side of it
		 * made visible there (epoll_nest). */
		if (ps == SHIM_PROC_OWNER && epfd != fd && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_DEL))
			epoll_nest(epfd, fd, op);
		return SHIM_PASS;
	}
	if (shim_exposed(k)) {
		/* A live kernel fd (shim/expose.c): the kernel's epoll serves it. */
		shim_put(&k->obj);
		return SHIM_PASS;
	}
	/* A fork child's own new socket (k->join: shim/join.c) is a
	 * placeholder until it connects or listens, and is the child's to
	 * use: its item waits on the lists here, as a joiner's does, and
	 * goes to the kernel's epoll with it (join_swap). nginx's workers add
	 * an upstream's socket before they connect it (ngx_event_connect_peer). */
	if (ps == SHIM_PROC_FORKED && !k->join) {
		r = shim_child_release(k) ? SHIM_PASS : shim_child_ebadf();
		shim_put(&k->obj);
		return r;
	}
	/* Linux copies the event in first, for every op but DEL. */
	if (op != EPOLL_CTL_DEL) {
		if (shim_copy(&evc, uev, sizeof(evc))) {
			shim_put(&k->obj);
			return -EFAULT;
		}
		ev = &evc;
	}
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) {
		/* Linux's do_epoll_ctl looks the descriptors up first (EBADF
		 * for epfd) and the op last (its switch's default): what is
		 * not an epoll, or an unknown op, is EINVAL alike. */
		shim_put(&k->obj);
		return shim_libc.fcntl(epfd, F_GETFD) < 0 ? -EBADF : -EINVAL;
	}
	if (epfd == fd) {
		shim_put(&k->obj);
		return -EINVAL;
	}
	ep = epoll_get_or_make(epfd, op, &r);
	if (!ep) {
		shim_put(&k->obj);
		return r;
	}
	/* Linux's do_epoll_ctl: EPOLLEXCLUSIVE only on an add, and only with
	 * the events it allows (EPOLLEXCLUSIVE_OK_BITS: no EPOLLONESHOT,
	 * EPOLLRDHUP, EPOLLPRI...), before it looks for the item. */
	if (op != EPOLL_CTL_DEL && (ev->events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD ||
	     (ev->events & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET |
				       EPOLLEXCLUSIVE)))) {
		r = -EINVAL;
		shim_put(&k->obj);
		shim_put(&ep->obj);
		return r;
	}
	shim_lock();
	if (shim_exposed(k)) {
		/* Exposed since the check above (shim/expose.c took its items
		 * under this lock): the kernel's epoll serves it. */
		shim_unlock();
		r = SHIM_PASS;
		goto out;
	}
	/* The item, from the socket's wait list (an item or two and the
	 * threads blocked on it), not the epoll's list of every item: a
	 * server that changes its interest on each message (EPOLL_CTL_MOD) on
	 * one of 1000 connections spent a quarter of its time in that walk. */
	it = NULL;
	for (struct shim_waiter *w = k->wq.next; w != &k->wq; w = w->next)
		if (w->kind == SHIM_W_EPOLL && w->item->ep == ep && w->item->fd == fd) {
			it = w->item;
			break;
		}
	switch (op) {
	case EPOLL_CTL_ADD:
		if (k->closed || k->dead) {
			r = -EBADF;   /* closed by another thread meanwhile */
			break;
		}
		if (it) {
			r = -EEXIST;
			break;
		}
		it = calloc(1, sizeof(*it));
		if (!it) {
			r = -ENOMEM;
			break;
		}
		it->ep = ep;
		it->k = k;
		it->fd = fd;
		it->ev = *ev;
		it->w.kind = SHIM_W_EPOLL;
		it->w.item = it;
		it->next = &ep->items;
		it->prev = ep->items.prev;
		ep->items.prev->next = it;
		ep->items.prev = it;
		shim_wq_add(&k->wq, &it->w);
		atomic_store(&ep->stack_items, true);
		/* Linux's ep_insert polls the new item at once: the next wait does. */
		item_ready(it);
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			r = -ENOENT;
			break;
		}
		if (ev->events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
			break;
		}
		it->ev = *ev;
		it->fired = false;
		/* Linux's ep_modify polls it with its new events: so does the next wait. */
		item_ready(it);
		break;
	default:
		if (!it) {
			r = -ENOENT;
		} else {
			item_unlink(it);
			free(it);
		}
		break;
	}
	lo = r == 0 ? atomic_load(&k->lo_fd) : -1;
	if (lo >= 0 && op != EPOLL_CTL_DEL) {
		lo_items_add(ep, it);
		tag = lo_tag(it);
	}
	shim_unlock();
	if (lo >= 0)
		lo_epoll_ctl(ep, op, lo, ev, tag);
	if (r == 0 && op == EPOLL_CTL_ADD)
		epoll_kick(ep);
out:
	shim_put(&ep->obj);
	shim_put(&k->obj);
	return r;
}

/*
 * Stack lock held: the stack sockets' events, up to max, written to the
 * program's out, from the items on the ready list (Linux's ep_send_events).
 * Each is taken off and polled: one not ready stays off (its socket's next
 * wake-up brings it back), one reported stays off when edge-triggered (until
 * its socket wakes again) or one-shot (until EPOLL_CTL_MOD), and goes to the
 * tail when level-triggered, behind the items this call did not reach: a busy
 * socket cannot starve the others. An event that cannot be written sets
 * *fault and ends the walk with its item back where it was (Linux puts it
 * back on the ready list): the count before it is the answer, or EFAULT when
 * it is 0.
 */
static int epoll_collect(struct shim_epoll *ep, struct epoll_event *out, int max, bool *fault)
{
	struct shim_eplink scan;
	int count = 0;

	if (rdl_empty(&ep->ready))
		return 0;
	/* The scan takes the whole list (Linux's ep_start_scan): what it puts
	 * back on ep->ready lands behind what it has not looked at yet. */
	scan.next = scan.prev = &scan;
	rdl_splice_head(&ep->ready, &scan);
	while (count < max && !rdl_empty(&scan)) {
		struct shim_epitem *it = rdl_item(scan.next);
		struct epoll_event e;
		unsigned bits;

		rdl_del(&it->rdl);
		if (it->fired)
			continue;
		bits = shim_sock_poll_user(it->k) & (it->ev.events | EPOLLERR | EPOLLHUP) & ~(unsigned)POLLNVAL;
		if (!bits)
			continue;
		e = (struct epoll_event){ .events = bits, .data = it->ev.data };
		if (shim_copy(&out[count], &e, sizeof(e))) {
			rdl_add_after(&scan, &it->rdl);
			*fault = true;
			break;
		}
		count++;
		if (it->ev.events & EPOLLONESHOT)
			it->fired = true;
		else if (!(it->ev.events & EPOLLET) && !it->rdl.next)
			rdl_add_after(ep->ready.prev, &it->rdl);
	}
	/* What the scan did not reach goes back ahead of what it kept
	 * (Linux's ep_done_scan). */
	rdl_splice_head(&scan, &ep->ready);
	return count;
}

/*
 * Stack lock held, in a fork child: ep's kick state is this process's from
 * now on (a fork's copy is the parent's: its eventfd is registered in the
 * kernel epoll the two share, and its waiters are not here).
 */
static void child_kick_own(struct shim_epoll *ep)
{
	pid_t me = getpid();

	if (ep->ckick_pid == me)
		return;
	ep->ckick_pid = me;
	ep->ckick_fd = -1;
	ep->ckick = NULL;
	ep->ckwaiters = 0;
	ep->ckicked = false;
}

/* Stack lock held: an item of ep had an event; a fork child's threads in
 * the kernel's wait (child_epoll_wait) leave it to look. */
static void child_kick(struct shim_epoll *ep)
{
	uint64_t v = 1;

	if (ep->ckick_pid != getpid() || !ep->ckwaiters || ep->ckicked)
		return;
	ep->ckicked = true;
	(void)!shim_libc.write(ep->ckick_fd, &v, sizeof(v));
}

/* No lock held: the kick eventfd of this process in ep's kernel epoll, made
 * at its first wait; false when it cannot be (the wait is then the
 * kernel's alone, as before). */
static bool child_kick_make(struct shim_epoll *ep)
{
	struct epoll_event kev = { .events = EPOLLIN, .data.u64 = kick_tag() };
	struct shim_efd *e;
	bool have;
	int fd;

	shim_lock();
	child_kick_own(ep);
	have = ep->ckick_fd >= 0;
	shim_unlock();
	if (have)
		return true;
	fd = shim_efd_new(&e);
	if (fd < 0)
		return false;
	if (shim_libc.epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &kev) != 0) {
		shim_efd_drop(e);
		return false;
	}
	shim_lock();
	if (ep->ckick_fd < 0) {
		ep->ckick = e;
		ep->ckick_fd = fd;
		e = NULL;
	}
	shim_unlock();
	if (e) {
		/* Another thread's is there already. */
		(void)shim_libc.epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL);
		shim_efd_drop(e);
	}
	atomic_store(&ep->kernel_fds, true);
	return true;
}

/*
 * A fork child's epoll_wait. The sockets it has items for here are its own
 * placeholders not connected or listening yet (a new socket, or its copy of
 * one whose connect failed before the fork: shim/join.c, expose.c's
 * share_failed): Linux's CLOSE, writable and hung up, and in error while a
 * failed connect's error waits. Only the child's own calls change that (a
 * connect moves the item to the kernel's epoll: join_swap), so what is
 * ready is reported at once, with what the kernel's epoll has at that
 * moment; with nothing ready, the kernel's wait. Another thread of the
 * child may add an item, or change its socket (shutdown), while one
 * waits there: Linux's ep_insert and the socket's wake-up end that wait
 * with its event, and here the item's wake-up writes the child's kick
 * eventfd (child_kick), in the kernel epoll under a tag no item has
 * (lo_translate drops it), and the wait looks again.
 */
static int child_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *umask)
{
	struct shim_epoll *ep = epoll_get(epfd);
	const sigset_t *mask;
	sigset_t maskc;
	bool fault = false;
	uint64_t dl = 0;
	int count, kn, err;

	if (!ep)
		return SHIM_PASS;
	if (max <= 0 || max > INT_MAX / (int)sizeof(*ev) || mask_import(umask, &maskc, &mask) ||
	    !child_kick_make(ep)) {
		shim_put(&ep->obj);
		return SHIM_PASS;   /* the kernel's answer (EINVAL, EFAULT) too */
	}
	if (timeout > 0)
		dl = shim_clock_us() + (uint64_t)timeout * 1000u;
	for (;;) {
		shim_lock();
		child_kick_own(ep);
		count = epoll_collect(ep, ev, max, &fault);
		if (!count && !fault)
			ep->ckwaiters++;    /* an item's event from now on kicks */
		shim_unlock();
		if (fault || count) {
			shim_put(&ep->obj);
			if (fault)
				return count ? count : -EFAULT;
			kn = count < max ? shim_libc.epoll_pwait(epfd, ev + count, max - count, 0, mask) : 0;
			return kn > 0 ? count + kn : count;
		}
		kn = (int)SHIM_SAFE_CALL(shim_libc.epoll_pwait(epfd, ev, max, timeout, mask));
		err = errno;
		shim_lock();
		if (--ep->ckwaiters == 0 && ep->ckicked) {
			uint64_t v;

			(void)!shim_libc.read(ep->ckick_fd, &v, sizeof(v));
			ep->ckicked = false;
		}
		shim_unlock();
		if (kn < 0) {
			shim_put(&ep->obj);
			return -err;
		}
		if (kn == 0) {
			shim_put(&ep->obj);
			return 0;
		}
		kn = lo_translate(ep, ev, kn);
		if (kn > 0) {
			shim_put(&ep->obj);
			return kn;
		}
		/* Kicked: look again, for what is left of the time. */
		if (timeout > 0) {
			uint64_t now = shim_clock_us();

			timeout = now >= dl ? 0 : (int)((dl - now + 999) / 1000);
		}
	}
}

int shim_test_epoll_ready(int epfd)
{
	struct shim_epoll *ep = epoll_get(epfd);
	int n = 0;

	if (!ep)
		return -EBADF;
	shim_lock();
	for (struct shim_eplink *l = ep->ready.next; l != &ep->ready; l = l->next)
		n++;
	shim_unlock();
	shim_put(&ep->obj);
	return n;
}

/*
 * epoll_pwait2: the timeout a timespec (Linux's epoll_pwait2 reads and
 * checks it first: EFAULT, EINVAL), kept to the millisecond above it.
 */
int shim_epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *uts, const sigset_t *umask)
{
	struct timespec ts;
	int ms = -1;

	if (!shim_owns(epfd))
		return SHIM_PASS;
	if (uts) {
		if (shim_copy(&ts, uts, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
		ms = ts.tv_sec >= INT_MAX / 1000 ? INT_MAX :
		     (int)ts.tv_sec * 1000 + (int)((ts.tv_nsec + 999999) / 1000000);
	}
	return shim_epoll_pwait(epfd, ev, max, ms, umask);
}

int shim_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *umask)
{
	const sigset_t *mask;
	sigset_t maskc;
	struct shim_waiter *w;
	struct shim_efd *e;
	struct shim_epoll *ep;
	uint64_t dl = 0, spin_until;
	enum shim_proc ps;
	bool was_in_wait;
	int efd, r;

	if (!shim_owns(epfd))
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_FORKED)
		return child_epoll_wait(epfd, ev, max, timeout, umask);
	if (ps != SHIM_PROC_OWNER)
		return SHIM_PASS;
	/* A mask the program does not own: the kernel's EFAULT, first. */
	if (mask_import(umask, &maskc, &mask))
		return SHIM_PASS;
	ep = epoll_get(epfd);
	if (!ep)
		return SHIM_PASS;
	if (!atomic_load(&ep->stack_items) && atomic_load(&ep->nest_fd) < 0 && !atomic_load(&ep->nnested)) {
		/* Kernel fds only, so far: the kernel's wait, unless the first
		 * stack socket comes (epoll_kick). */
		uint64_t t0 = timeout > 0 ? shim_clock_us() : 0;
		bool kicked = false;

		r = epoll_kernel_wait(ep, ev, max, timeout, umask, &kicked);
		if (!kicked) {
			shim_put(&ep->obj);
			return r;
		}
		if (timeout > 0) {
			uint64_t spent = (shim_clock_us() - t0) / 1000u;

			timeout = spent >= (uint64_t)timeout ? 0 : timeout - (int)spent;
		}
	}
	if (max <= 0 || max > INT_MAX / (int)sizeof(*ev)) {
		shim_put(&ep->obj);
		return -EINVAL;
	}
	efd = shim_thread_efd(&e);
	if (efd < 0) {
		shim_put(&ep->obj);
		return efd;
	}
	if (timeout > 0)
		dl = shim_clock_us() + (uint64_t)timeout * 1000u;
	spin_until = timeout != 0 ? shim_spin_until(dl) : 0;
	was_in_wait = shim_sig_wait_enter();
	for (;;) {
		/* The kernel's epoll only when it may hold something. */
		bool kfds = atomic_load(&ep->kernel_fds);
		struct pollfd p[2] = { { .fd = kfds ? epfd : -1, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
		struct timespec left, *leftp = NULL;
		bool fault = false, first = kfds && atomic_load(&ep->has_lo);
		int count, kn, pn, level = -1, pre = 0;

		if (atomic_load(&ep->nnested))
			epoll_nested_sync(ep);

		/* With loopback sides in the kernel's epoll, the kernel is asked
		 * first: what they have becomes their sockets' (lo_translate),
		 * which the stack's answer then reports with their other
		 * events, as Linux's one event per socket. */
		if (first) {
			pre = shim_libc.epoll_pwait(epfd, ev, max, 0, NULL);
			pre = lo_translate(ep, ev, pre < 0 ? 0 : pre);
		}
		shim_lock();
		count = pre < max ? epoll_collect(ep, ev + pre, max - pre, &fault) : 0;
		if (pre > 0 || fault) {
			count += pre;
		} else if (count == 0 && timeout != 0) {
			level = shim_wait_frame_push(__builtin_frame_address(0), 1, &w);
			if (level < 0) {
				shim_unlock();
				r = level;
				break;
			}
			w->kind = SHIM_W_THREAD;
			w->efd = e;
			shim_wq_add(&ep->wq, w);
			shim_sig_wake_arm();
		}
		shim_unlock();
		if (fault) {
			r = count ? count : -EFAULT;
			break;
		}
		if (count > 0 || timeout == 0) {
			/* (Asked already when first: a second look would report a
			 * level-triggered fd twice.) */
			kn = count < max && kfds && !first ? shim_libc.epoll_pwait(epfd, ev + count, max - count, 0, NULL) : 0;
			if (kn > 0)
				kn = lo_translate(ep, ev + count, kn);   /* a kick (epoll_kick) */
			if (kn < 0 && count == 0) {
				r = -errno;
				break;
			}
			r = count + (kn > 0 ? kn : 0);
			break;
		}
		if (timeout > 0) {
			uint64_t now = shim_clock_us();

			ts_from_us(&left, dl > now ? dl - now : 0);
			leftp = &left;
		}
		if (shim_sig_wait_ran(mask)) {
			/* As in poll_core: a handler outside the ppoll ran inside the call. */
			pn = -1;
			errno = EINTR;
		} else {
			pn = spin_until ? shim_spin(p, 2, spin_until, mask) : 0;
		}
		if (pn == 0)
			pn = shim_block(p, 2, leftp, mask);
		r = pn < 0 ? -errno : 0;
		shim_lock();
		shim_wait_frame_pop(level);
		shim_unlock();
		shim_drain_efd(efd);
		if (r == -EINTR && shim_sig_woken_first()) {
			/* As in poll_core: woken before the handler ran, it looks again. */
			shim_lock();
			count = epoll_collect(ep, ev, max, &fault);
			shim_unlock();
			kn = count < max && kfds ? shim_libc.epoll_pwait(epfd, ev + count, max - count, 0, NULL) : 0;
			kn = lo_translate(ep, ev + count, kn);
			if (count + (kn > 0 ? kn : 0) > 0)
				r = count + (kn > 0 ? kn : 0);
		}
		if (r < 0)
			break;   /* EINTR: epoll_wait never restarts */
		if (p[0].revents & POLLIN) {
			kn = shim_libc.epoll_pwait(epfd, ev, max, 0, NULL);
			if (kn > 0) {
				kn = lo_translate(ep, ev, kn);
				shim_lock();
				count = kn < max ? epoll_collect(ep, ev + kn, max - kn, &fault) : 0;
				shim_unlock();
				if (kn + count > 0) {
					r = kn + count;
					break;
				}
			}
		}
		if (p[0].revents & POLLNVAL) {
			r = -EBADF;
			break;
		}
		if (pn == 0 && timeout > 0 && shim_clock_us() >= dl) {
			r = 0;
			break;
		}
	}
	shim_sig_wait_leave(was_in_wait);
	/* What it reported may have been all: nested, it stays readable in
	 * the outer epoll only if an item still has an event. */
	epoll_nest_sync(ep);
	shim_put(&ep->obj);
	if (r > 0)
		shim_settle_signals();
	return r;
}
