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
 * Limits: an epoll fd nested in another epoll fd only reports its kernel fds.
 */
#include "shim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIM_POLL_STACK 16

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

/*
 * The poll engine. socks[i] is the stack socket of fds[i] (referenced) or
 * NULL. deadline_us 0 with forever false: do not wait. Returns the count of
 * fds with revents, -errno, or SHIM_REPOLL.
 */
static int poll_core(struct pollfd *fds, nfds_t n, struct shim_sock **socks, bool forever,
		     uint64_t deadline_us, const sigset_t *mask)
{
	struct shim_waiter wstack[SHIM_POLL_STACK], *w = wstack;
	struct pollfd kstack[SHIM_POLL_STACK + 1], *kfds = kstack;
	struct timespec zero = { 0, 0 };
	struct shim_efd *e;
	nfds_t nsock = 0;
	bool spun = false;
	int efd = shim_thread_efd(&e), r;

	if (efd < 0)
		return efd;
	for (nfds_t i = 0; i < n; i++)
		nsock += socks[i] != NULL;
	if (nsock > SHIM_POLL_STACK)
		w = calloc(nsock, sizeof(*w));
	if (n + 1 > SHIM_POLL_STACK + 1)
		kfds = calloc(n + 1, sizeof(*kfds));
	if (!w || !kfds) {
		r = -ENOMEM;
		goto out;
	}
	for (nfds_t i = 0; i < n; i++) {
		kfds[i].fd = socks[i] ? -1 : fds[i].fd;
		kfds[i].events = fds[i].events;
		kfds[i].revents = 0;
	}
	kfds[n].fd = efd;
	kfds[n].events = POLLIN;
	kfds[n].revents = 0;

	for (;;) {
		int ready = 0, kn;
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
		for (nfds_t i = 0; i < n; i++) {
			if (!socks[i])
				continue;
			fds[i].revents = (short)(shim_sock_poll_user(socks[i]) &
						 ((unsigned)(unsigned short)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
			ready += fds[i].revents != 0;
		}
		if (ready == 0 && waiting) {
			for (nfds_t i = 0; i < n; i++) {
				if (!socks[i])
					continue;
				w[j].kind = SHIM_W_THREAD;
				w[j].efd = e;
				shim_wq_add(&socks[i]->wq, &w[j]);
				j++;
			}
		}
		shim_unlock();

		if (ready || !waiting) {
			/* The kernel fds' state now, without waiting. */
			kn = shim_libc.ppoll(kfds, n, &zero, NULL);
			if (kn < 0) {
				r = -errno;
				goto out;
			}
			for (nfds_t i = 0; i < n; i++)
				if (!socks[i])
					fds[i].revents = kfds[i].revents;
			r = ready + kn;
			goto out;
		}
		if (!forever) {
			uint64_t now = shim_clock_us();

			ts_from_us(&left, deadline_us > now ? deadline_us - now : 0);
			leftp = &left;
		}
		if (!spun) {
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
		for (nfds_t i = 0; i < j; i++)
			shim_wq_del(&w[i]);
		shim_unlock();
		shim_drain_efd(efd);
		if (r < 0)
			goto out;   /* EINTR included: poll never restarts (signal(7)) */
		if (kn == 0 && !forever && shim_clock_us() >= deadline_us) {
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
					fds[i].revents = (short)(shim_sock_poll_user(socks[i]) &
						((unsigned)(unsigned short)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
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
	if (w != wstack)
		free(w);
	if (kfds != kstack)
		free(kfds);
	return r;
}

/* References the stack sockets among fds. 0: none (SHIM_PASS), 1: some, or
 * -EBADF in a fork child, SHIM_PASS in a vfork child. */
static int collect_socks(struct pollfd *fds, nfds_t n, struct shim_sock **socks)
{
	int any = 0;

	for (nfds_t i = 0; i < n; i++) {
		socks[i] = NULL;
		if (fds[i].fd >= 0 && shim_owns(fds[i].fd)) {
			socks[i] = shim_get_sock(fds[i].fd);
			if (socks[i] && shim_exposed(socks[i])) {
				/* Its kernel fd is live (shim/expose.c): the kernel's. */
				shim_put(&socks[i]->obj);
				socks[i] = NULL;
			}
			any |= socks[i] != NULL;
		}
	}
	return any;
}

/* A fork child polls fd: EBADF when it is a stack socket the parent's stack
 * serves (not exposed). */
static bool child_stack_sock(int fd)
{
	struct shim_sock *k = fd >= 0 && shim_owns(fd) ? shim_get_sock(fd) : NULL;
	bool r = k && !shim_exposed(k);

	if (k)
		shim_put(&k->obj);
	return r;
}

static void put_socks(struct shim_sock **socks, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (socks[i])
			shim_put(&socks[i]->obj);
}

int shim_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	struct shim_sock *sstack[SHIM_POLL_STACK], **socks = sstack;
	enum shim_proc ps;
	bool any = false;
	int r;

	for (nfds_t i = 0; i < n && !any; i++)
		any = fds[i].fd >= 0 && shim_owns(fds[i].fd);
	if (!any)
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (ps == SHIM_PROC_FORKED) {
		for (nfds_t i = 0; i < n; i++)
			if (child_stack_sock(fds[i].fd))
				return shim_child_ebadf();
		return SHIM_PASS;
	}
	if (n > SHIM_POLL_STACK && !(socks = calloc(n, sizeof(*socks))))
		return -ENOMEM;
	if (!collect_socks(fds, n, socks)) {
		r = SHIM_PASS;
	} else {
		if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
			r = -EINVAL;
		else {
			uint64_t t = ts ? us_from_ts(ts) : 0, dl = ts && t ? shim_clock_us() + t : 0;

			r = poll_core(fds, n, socks, ts == NULL, dl, mask);
			while (r == SHIM_REPOLL) {
				put_socks(socks, n);
				(void)collect_socks(fds, n, socks);
				if (ts && t && shim_clock_us() >= dl)
					dl = 0;     /* the time is up: one look without waiting */
				r = poll_core(fds, n, socks, ts == NULL, dl, mask);
			}
		}
		put_socks(socks, n);
	}
	if (socks != sstack)
		free(socks);
	return r;
}

int shim_pselect(int n, fd_set *rs, fd_set *ws, fd_set *es, const struct timespec *ts,
		 const sigset_t *mask, struct timespec *left)
{
	struct pollfd *fds;
	struct shim_sock **socks;
	nfds_t m = 0;
	bool any = false;
	uint64_t dl = 0;
	int r, count = 0;
	enum shim_proc ps;

	if (n < 0)
		return -EINVAL;
	if (n > FD_SETSIZE)
		n = FD_SETSIZE;
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
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return -EINVAL;
	fds = calloc((size_t)n, sizeof(*fds));
	socks = calloc((size_t)n, sizeof(*socks));
	if (!fds || !socks) {
		free(fds);
		free(socks);
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
	(void)collect_socks(fds, m, socks);
	if (ts && us_from_ts(ts))
		dl = shim_clock_us() + us_from_ts(ts);
	r = poll_core(fds, m, socks, ts == NULL, dl, mask);
	while (r == SHIM_REPOLL) {
		put_socks(socks, m);
		(void)collect_socks(fds, m, socks);
		if (dl && shim_clock_us() >= dl)
			dl = 0;
		r = poll_core(fds, m, socks, ts == NULL, dl, mask);
	}
	put_socks(socks, m);
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
	}
	if (left && ts) {
		uint64_t now = shim_clock_us();

		ts_from_us(left, dl > now ? dl - now : 0);
	}
	free(fds);
	free(socks);
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

static struct shim_epoll *epoll_get(int epfd)
{
	struct shim_obj *o = shim_get(epfd);

	if (o && o->kind != SHIM_OBJ_EPOLL) {
		shim_put(o);
		return NULL;
	}
	return (struct shim_epoll *)o;
}

/* Stack lock held: takes an item off its socket's wait list and its epoll's list. */
static void item_unlink(struct shim_epitem *it)
{
	shim_wq_del(&it->w);
	it->prev->next = it->next;
	it->next->prev = it->prev;
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
	shim_unlock();
}

static void epoll_free(struct shim_obj *o)
{
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
		ep = calloc(1, sizeof(*ep));
		if (!ep) {
			*err = -ENOMEM;
			return NULL;
		}
		ep->obj.kind = SHIM_OBJ_EPOLL;
		ep->obj.ops = &shim_epoll_ops;
		ep->epfd = epfd;
		ep->items.prev = ep->items.next = &ep->items;
		shim_wq_init(&ep->wq);
		atomic_store(&ep->obj.refs, 1);   /* the caller's */
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

int shim_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct shim_sock *k;
	struct shim_epoll *ep;
	struct shim_epitem *it;
	enum shim_proc ps;
	int r = 0;

	if (!shim_owns(fd))
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	k = shim_get_sock(fd);
	if (!k)
		return SHIM_PASS;
	if (shim_exposed(k)) {
		/* A live kernel fd (shim/expose.c): the kernel's epoll serves it. */
		shim_put(&k->obj);
		return SHIM_PASS;
	}
	if (ps == SHIM_PROC_FORKED) {
		shim_put(&k->obj);
		return shim_child_ebadf();
	}
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) {
		shim_put(&k->obj);
		return -EINVAL;
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
	if (ev == NULL && op != EPOLL_CTL_DEL) {
		r = -EFAULT;
		goto out;
	}
	shim_lock();
	if (shim_exposed(k)) {
		/* Exposed since the check above (shim/expose.c took its items
		 * under this lock): the kernel's epoll serves it. */
		shim_unlock();
		r = SHIM_PASS;
		goto out;
	}
	for (it = ep->items.next; it != &ep->items; it = it->next)
		if (it->k == k && it->fd == fd)
			break;
	if (it == &ep->items)
		it = NULL;
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
		it->dirty = true;
		shim_wq_add(&k->wq, &it->w);
		shim_wq_wake(&ep->wq);
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
		it->dirty = true;
		shim_wq_wake(&ep->wq);
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
	shim_unlock();
out:
	shim_put(&ep->obj);
	shim_put(&k->obj);
	return r;
}

/* Stack lock held: the stack sockets' events, up to max. Reported items move
 * to the end of the list, so a busy socket cannot starve the others. */
static int epoll_collect(struct shim_epoll *ep, struct epoll_event *out, int max)
{
	struct shim_epitem *it = ep->items.next, *tail = ep->items.prev;
	int count = 0;

	if (it == &ep->items)
		return 0;
	for (;;) {
		struct shim_epitem *next = it->next;
		bool last = it == tail;
		unsigned bits, want;

		if (!it->fired) {
			want = it->ev.events | EPOLLERR | EPOLLHUP;
			bits = shim_sock_poll_user(it->k) & want & ~(unsigned)POLLNVAL;
			if (bits) {
				bool report = !(it->ev.events & EPOLLET) || it->dirty;

				it->dirty = false;
				if (report) {
					out[count].events = bits;
					out[count].data = it->ev.data;
					count++;
					if (it->ev.events & EPOLLONESHOT)
						it->fired = true;
					if (!last) {
						it->prev->next = it->next;
						it->next->prev = it->prev;
						it->next = &ep->items;
						it->prev = ep->items.prev;
						ep->items.prev->next = it;
						ep->items.prev = it;
					}
				}
			}
		}
		if (last || count == max)
			break;
		it = next;
	}
	return count;
}

int shim_epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	struct shim_waiter w = { .kind = SHIM_W_THREAD };
	struct shim_epoll *ep;
	uint64_t dl = 0, spin_until;
	enum shim_proc ps;
	int efd, r;

	if (!shim_owns(epfd))
		return SHIM_PASS;
	ps = shim_proc_state();
	if (ps != SHIM_PROC_OWNER)
		return SHIM_PASS;
	ep = epoll_get(epfd);
	if (!ep)
		return SHIM_PASS;
	if (max <= 0 || max > INT_MAX / (int)sizeof(*ev)) {
		shim_put(&ep->obj);
		return -EINVAL;
	}
	efd = shim_thread_efd(&w.efd);
	if (efd < 0) {
		shim_put(&ep->obj);
		return efd;
	}
	if (timeout > 0)
		dl = shim_clock_us() + (uint64_t)timeout * 1000u;
	spin_until = timeout != 0 ? shim_spin_until(dl) : 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = epfd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
		struct timespec left, *leftp = NULL;
		int count, kn, pn;

		shim_lock();
		count = epoll_collect(ep, ev, max);
		if (count == 0 && timeout != 0)
			shim_wq_add(&ep->wq, &w);
		shim_unlock();
		if (count > 0 || timeout == 0) {
			kn = count < max ? shim_libc.epoll_pwait(epfd, ev + count, max - count, 0, NULL) : 0;
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
		pn = spin_until ? shim_spin(p, 2, spin_until, mask) : 0;
		if (pn == 0)
			pn = shim_block(p, 2, leftp, mask);
		r = pn < 0 ? -errno : 0;
		shim_lock();
		shim_wq_del(&w);
		shim_unlock();
		shim_drain_efd(efd);
		if (r < 0)
			break;   /* EINTR: epoll_wait never restarts */
		if (p[0].revents & POLLIN) {
			kn = shim_libc.epoll_pwait(epfd, ev, max, 0, NULL);
			if (kn > 0) {
				shim_lock();
				count = kn < max ? epoll_collect(ep, ev + kn, max - kn) : 0;
				shim_unlock();
				r = kn + count;
				break;
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
	shim_put(&ep->obj);
	return r;
}
