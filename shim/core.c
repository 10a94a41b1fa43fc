/*
 * The shim's core: the fd table, object references, the lock and the
 * deferred wake-ups, the stack's lazy start, per-thread wakeup eventfds and
 * blocking, fork and exit. The locking rules: stack/CONCURRENCY.md.
 *
 * The fd table is two levels of atomic pointers (chunks of 1024 slots,
 * allocated on demand up to SHIM_FD_MAX and never freed), so the wrappers'
 * question "is this fd a stack socket?" is two atomic loads, with no lock and
 * no allocation on the path every read() and write() of the program takes.
 */
#include "shim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/dev/sysc.h"

#define SHIM_CHUNK_BITS 10
#define SHIM_CHUNK (1 << SHIM_CHUNK_BITS)
#define SHIM_FD_MAX (1 << 20)   /* Linux's default nr_open: no fd can be larger */

SHIM_START_DATA struct shim_libc shim_libc;
SHIM_START_DATA struct shim_host shim_host;

static _Atomic(_Atomic(struct shim_obj *) *) shim_tab[SHIM_FD_MAX / SHIM_CHUNK];
static atomic_int shim_tab_high;      /* one past the highest fd ever installed */
SHIM_START_DATA static atomic_bool shim_ready;

static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;

/* Under the stack lock. */
SHIM_START_DATA static bool stack_running;
/* The stack's address once it started: a fork child (no stack object of
 * its own) answers with it too (shim_stack_addr). */
static _Atomic uint32_t stack_addr;
static int start_err;               /* -errno once a start failed, or after exit */
SHIM_START_DATA static pid_t init_pid;
SHIM_START_DATA static bool forked; /* this is a fork() child (set by the atfork handler) */
/* A fork child whose parent had no stack, nor a stack it joined: it may
 * become a process with a stack of its own (shim_fork_promote). */
static bool fork_fresh;
static atomic_bool child_warned;
static _Atomic uint32_t spin_us;    /* PSTACK_SPIN_US once the stack runs (0: off) */

/* The thread eventfds are in the table as internal objects, so a program that
 * closes "all" its fds does not close them under us (close() answers 0). */
static struct shim_obj internal_obj = { .kind = SHIM_OBJ_INTERNAL, .refs = 1 << 30, .nfds = 0 };
static pthread_key_t efd_key;
static pthread_once_t efd_once = PTHREAD_ONCE_INIT;

struct shim_efd {
	int fd;
	atomic_int refs;            /* the thread's, and one while queued */
	atomic_bool queued;         /* on some thread's pending list */
	atomic_uint written;        /* writes since the thread last drained it (counted after each) */
	atomic_uint wakes;          /* wake-ups ever (before each write; never drained): shim_sig_wake_arm */
	struct shim_efd *next;      /* on that list (written by the thread that queued it) */
};
static _Thread_local struct shim_efd *t_efd;
/* This thread drives the device in its wait (block_driving), and what it
 * did woke its own eventfd: no write to it, its wait ends as if it had. */
static _Thread_local bool t_driving, t_self_woken;
/* The eventfds this thread woke under the lock, to signal once it lets go. */
static _Thread_local struct shim_efd *t_pending;
/* Signals for sockets' owners (F_SETOWN), raised under the lock by this
 * thread and sent once it lets go (shim_signal_owner, shim_signal_io).
 * Standard signals do not queue: one of each kind per owner is as many as
 * the kernel delivers. Real-time ones (F_SETSIG) queue, each with its
 * siginfo (code > 0), up to the table's size per lock hold. */
#define SHIM_SIG_PENDING 16
struct shim_sig_req {
	int type;
	pid_t pid;
	int sig, code, fd;
	bool urgent;                /* SIGURG: sent before the wake-ups, O_ASYNC's after */
};
static _Thread_local struct shim_sig_req t_sigs[SHIM_SIG_PENDING];
static _Thread_local int t_nsigs;

void shim_init(const struct shim_libc *libc, const struct shim_host *host)
{
	shim_libc = *libc;
	shim_host = *host;
	init_pid = getpid();
	atomic_store(&shim_ready, true);
}

/* ---- the fd table ---- */

static _Atomic(struct shim_obj *) *slot(int fd, bool create)
{
	_Atomic(struct shim_obj *) *chunk;

	if (fd < 0 || fd >= SHIM_FD_MAX)
		return NULL;
	chunk = atomic_load_explicit(&shim_tab[fd >> SHIM_CHUNK_BITS], memory_order_acquire);
	if (!chunk && create) {
		/* Under tab_mu (the only writer of chunk pointers). */
		chunk = calloc(SHIM_CHUNK, sizeof(*chunk));
		if (!chunk)
			return NULL;
		atomic_store_explicit(&shim_tab[fd >> SHIM_CHUNK_BITS], chunk, memory_order_release);
	}
	return chunk ? &chunk[fd & (SHIM_CHUNK - 1)] : NULL;
}

int shim_fd_high(void)
{
	return atomic_load(&shim_tab_high);
}

bool shim_owns(int fd)
{
	_Atomic(struct shim_obj *) *s;

	if (!atomic_load_explicit(&shim_ready, memory_order_acquire))
		return false;
	s = slot(fd, false);
	return s && atomic_load_explicit(s, memory_order_acquire) != NULL;
}

struct shim_obj *shim_get(int fd)
{
	_Atomic(struct shim_obj *) *s = slot(fd, false);
	struct shim_obj *o;

	if (!s || !atomic_load_explicit(s, memory_order_acquire))
		return NULL;
	pthread_mutex_lock(&tab_mu);
	o = atomic_load_explicit(s, memory_order_relaxed);
	if (o && o->kind != SHIM_OBJ_INTERNAL)
		atomic_fetch_add(&o->refs, 1);
	else
		o = NULL;
	pthread_mutex_unlock(&tab_mu);
	return o;
}

struct shim_sock *shim_get_sock(int fd)
{
	struct shim_obj *o = shim_get(fd);

	if (o && o->kind != SHIM_OBJ_SOCK) {
		shim_put(o);
		return NULL;
	}
	return (struct shim_sock *)o;
}

void shim_put(struct shim_obj *o)
{
	if (atomic_fetch_sub(&o->refs, 1) == 1)
		o->ops->free(o);
}

static int install(int fd, struct shim_obj *o, bool only_empty)
{
	_Atomic(struct shim_obj *) *s;
	int high;

	pthread_mutex_lock(&tab_mu);
	s = slot(fd, true);
	if (!s) {
		pthread_mutex_unlock(&tab_mu);
		return -EMFILE;
	}
	if (only_empty && atomic_load_explicit(s, memory_order_relaxed)) {
		pthread_mutex_unlock(&tab_mu);
		return -EEXIST;
	}
	o->nfds++;
	atomic_fetch_add(&o->refs, 1);
	atomic_store_explicit(s, o, memory_order_release);
	high = atomic_load(&shim_tab_high);
	if (fd + 1 > high)
		atomic_store(&shim_tab_high, fd + 1);
	pthread_mutex_unlock(&tab_mu);
	return 0;
}

int shim_install(int fd, struct shim_obj *o)
{
	return install(fd, o, false);
}

int shim_install_new(int fd, struct shim_obj *o)
{
	return install(fd, o, true);
}

int shim_install_fresh(int fd, struct shim_obj *o)
{
	_Atomic(struct shim_obj *) *s = slot(fd, false);
	struct shim_obj *stale;

	if (s && atomic_load_explicit(s, memory_order_acquire) && (stale = shim_uninstall(fd)))
		shim_drop_slot_ref(stale);
	return install(fd, o, true);
}

struct shim_obj *shim_uninstall(int fd)
{
	_Atomic(struct shim_obj *) *s = slot(fd, false);
	struct shim_obj *o;

	if (!s)
		return NULL;
	pthread_mutex_lock(&tab_mu);
	o = atomic_load_explicit(s, memory_order_relaxed);
	if (o && o->kind != SHIM_OBJ_INTERNAL)
		atomic_store_explicit(s, NULL, memory_order_release);
	else
		o = NULL;
	pthread_mutex_unlock(&tab_mu);
	return o;
}

void shim_drop_slot_ref(struct shim_obj *o)
{
	bool last;

	pthread_mutex_lock(&tab_mu);
	last = --o->nfds == 0;
	pthread_mutex_unlock(&tab_mu);
	if (last)
		o->ops->last_close(o);
	shim_put(o);
}

void shim_release_all(struct shim_obj *o)
{
	int high = atomic_load(&shim_tab_high);

	pthread_mutex_lock(&tab_mu);
	for (int fd = 0; fd < high; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);

		if (s && atomic_load_explicit(s, memory_order_relaxed) == o) {
			atomic_store_explicit(s, NULL, memory_order_release);
			o->nfds--;
			/* The caller holds a reference of its own: this never frees. */
			atomic_fetch_sub(&o->refs, 1);
		}
	}
	pthread_mutex_unlock(&tab_mu);
}

int shim_first_fd(struct shim_obj *o)
{
	int high = atomic_load(&shim_tab_high), found = -1;

	pthread_mutex_lock(&tab_mu);
	for (int fd = 0; fd < high && found < 0; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);

		if (s && atomic_load_explicit(s, memory_order_relaxed) == o)
			found = fd;
	}
	pthread_mutex_unlock(&tab_mu);
	return found;
}

int shim_next_sock_fd(int from)
{
	int high = atomic_load(&shim_tab_high);

	for (int fd = from < 0 ? 0 : from; fd < high; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);
		struct shim_obj *o = s ? atomic_load_explicit(s, memory_order_acquire) : NULL;

		if (o && o->kind == SHIM_OBJ_SOCK)
			return fd;
	}
	return -1;
}

int shim_swap_file(struct shim_obj *o, int file)
{
	int high = atomic_load(&shim_tab_high), n = 0;

	/*
	 * Under tab_mu (a leaf lock; never the stack lock), with the system
	 * calls: a close() of one of these fds empties its slot under tab_mu
	 * before it closes the number, so no dup3 here can bring back an fd
	 * the program closed, nor land on a file it opened since.
	 */
	pthread_mutex_lock(&tab_mu);
	for (int fd = 0; fd < high; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);
		int fl;

		if (!s || atomic_load_explicit(s, memory_order_relaxed) != o)
			continue;
		fl = shim_libc.fcntl(fd, F_GETFD);
		if (shim_libc.dup3(file, fd, fl > 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) == fd)
			n++;
	}
	pthread_mutex_unlock(&tab_mu);
	return n;
}

/* ---- the lock, wait lists and wake-ups ---- */

/* This thread holds the stack's lock (taken through the shim): what exit
 * asks after a handler jumped out of the library (shim_exit). */
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_shim_locked;

void shim_lock(void)
{
	shim_host.lock(shim_host.ctx);
	t_shim_locked = true;
}

void shim_unlock(void)
{
	t_shim_locked = false;
	shim_host.unlock(shim_host.ctx);
	/* The host's unlock delivers them already when its lock calls
	 * shim_wake_flush; then this finds nothing. */
	shim_wake_flush();
}

void shim_wq_init(struct shim_waiter *head)
{
	head->prev = head->next = head;
}

/*
 * Set at exit when the exiting thread left a wait without its end
 * (shim_exit): its waiters were in frames a handler's siglongjmp unwound
 * (iperf3's SIGINT and SIGTERM handlers jump back to its main loop, which
 * then calls exit()), and they are still linked in the sockets' lists, as
 * garbage now. From then on no list is walked or changed: the closes at
 * exit wake nobody, which only the process's own threads could be, and
 * they end with it.
 */
static atomic_bool wq_frozen;

void shim_wq_add(struct shim_waiter *head, struct shim_waiter *w)
{
	if (atomic_load_explicit(&wq_frozen, memory_order_relaxed))
		return;
	w->next = head;
	w->prev = head->prev;
	head->prev->next = w;
	head->prev = w;
}

void shim_wq_del(struct shim_waiter *w)
{
	if (!w->next || atomic_load_explicit(&wq_frozen, memory_order_relaxed))
		return;
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

/* The last reference to a thread's eventfd is gone (its thread exited, and
 * no waker has it queued): no write can come into the fd number now. */
static void efd_put(struct shim_efd *e)
{
	_Atomic(struct shim_obj *) *s;

	if (atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	s = slot(e->fd, false);
	if (s) {
		pthread_mutex_lock(&tab_mu);
		atomic_store_explicit(s, NULL, memory_order_release);
		pthread_mutex_unlock(&tab_mu);
	}
	shim_libc.close(e->fd);
	free(e);
}

/*
 * Stack lock held: e is signalled when this thread lets go of the lock. Once
 * per eventfd however many wake it: a thread that finds it queued by another
 * leaves it to that one, whose write comes after it let go of the lock, so
 * after whatever this thread changes under it.
 */
static void wake_queue(struct shim_efd *e)
{
	if (e == t_efd && t_driving) {
		t_self_woken = true;    /* block_driving ends the wait: no write, no drain */
		return;
	}
	if (atomic_exchange(&e->queued, true))
		return;
	atomic_fetch_add(&e->refs, 1);
	e->next = t_pending;
	t_pending = e;
}

/* O_ASYNC's signals queued and not sent yet (shim_settle_signals), and
 * whether this thread's are counted there. */
static atomic_int sigs_inflight;
static _Thread_local bool t_sigs_counted;

static void signal_queue(int type, pid_t pid, int sig, int code, int fd, bool urgent)
{
	bool queues = sig >= SIGRTMIN && code > 0;

	for (int i = 0; i < t_nsigs && !queues; i++)
		if (t_sigs[i].type == type && t_sigs[i].pid == pid && t_sigs[i].sig == sig)
			return;
	if (t_nsigs == SHIM_SIG_PENDING || pid <= 0)
		return;
	t_sigs[t_nsigs] = (struct shim_sig_req){ type, pid, sig, code, fd, urgent };
	t_nsigs++;
	if (!urgent && !t_sigs_counted) {
		t_sigs_counted = true;
		atomic_fetch_add_explicit(&sigs_inflight, 1, memory_order_acq_rel);
	}
}

void shim_signal_io(int type, pid_t pid, int sig, int code, int fd)
{
	signal_queue(type, pid, sig, code, fd, false);
}

void shim_signal_owner(int type, pid_t pid, int sig)
{
	signal_queue(type, pid, sig, 0, -1, true);
}

/* Linux's band_table (fs/fcntl.c): the poll bits each POLL_* code stands for. */
static long io_band(int code)
{
	switch (code) {
	case POLL_IN: return POLLIN | POLLRDNORM;
	case POLL_OUT: return POLLOUT | POLLWRNORM | POLLWRBAND;
	case POLL_MSG: return POLLIN | POLLRDNORM | POLLMSG;
	case POLL_ERR: return POLLERR;
	case POLL_PRI: return POLLPRI | POLLRDBAND;
	case POLL_HUP: return POLLHUP | POLLERR;
	default: return -1;
	}
}

/* F_OWNER_TID names a thread of the program (init_pid): the thread group
 * tgkill and rt_tgsigqueueinfo are given is the program's, not the caller's,
 * which is another process when the stack process (CLONE_VM, a pid of its
 * own) processed the frame (getpid() there made them fail with ESRCH: a
 * SIGURG for a thread was lost whenever the stack thread, not the waiting
 * thread, read the urgent data's frame). */

/* A signal with siginfo as Linux's send_sigio_to_task fills it. The kernel
 * lets a process give a positive si_code only to itself, from the thread
 * whose id is the process id; from any other thread the same siginfo goes
 * with SI_QUEUE (the band and fd still there). */
static int send_io(int type, pid_t pid, int sig, int code, int fd)
{
	siginfo_t si;
	long r;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = code;
	si.si_band = io_band(code);
	si.si_fd = fd;
	for (int tries = 0; tries < 2; tries++) {
		if (type == F_OWNER_TID)
			r = SYSC(SYS_rt_tgsigqueueinfo, init_pid, pid, sig, &si);
		else
			r = SYSC(SYS_rt_sigqueueinfo, pid, sig, &si);
		if (r == 0 || r != -EPERM || si.si_code == SI_QUEUE)
			break;
		si.si_code = SI_QUEUE;
	}
	if (r < 0) {
		errno = (int)-r;
		r = -1;
	}
	return (int)r;
}

/* Like the kernel's send_sigurg(): to the thread, the process or the
 * process group F_SETOWN(_EX) named. The queued signals that are urgent
 * (or not) go; the others stay queued. */
static void signals_flush(bool urgent)
{
	struct shim_sig_req todo[SHIM_SIG_PENDING];
	int n = 0, kept = 0;

	/* Taken off the queue first: a handler run by one of these sends may
	 * make socket calls of its own, which queue and flush again. */
	for (int i = 0; i < t_nsigs; i++) {
		if (t_sigs[i].urgent == urgent)
			todo[n++] = t_sigs[i];
		else
			t_sigs[kept++] = t_sigs[i];
	}
	t_nsigs = kept;
	for (int i = 0; i < n; i++) {
		int saved = errno;

		if (todo[i].code > 0 && todo[i].type != F_OWNER_PGRP)
			(void)send_io(todo[i].type, todo[i].pid, todo[i].sig, todo[i].code, todo[i].fd);
		else if (todo[i].type == F_OWNER_TID)
			(void)SYSC(SYS_tgkill, init_pid, todo[i].pid, todo[i].sig);
		else
			(void)kill(todo[i].type == F_OWNER_PGRP ? -todo[i].pid : todo[i].pid, todo[i].sig);
		errno = saved;
	}
}

/*
 * O_ASYNC's signals that are queued to be sent after their wake-ups
 * (shim_wake_flush). Linux sends them in the same pass that queues the
 * data and wakes the waiters, so a call that finds the data, woken or not,
 * finds the signal pending when it returns and its handler runs first
 * (sockdiff's fcntl_async_*: a poll for the data a SIGIO announces returns
 * with the handler run). Here the signal is one more system call, from
 * another thread or process, after the lock is let go: counted from when it
 * is queued (under the lock, with the data) until it is sent, a call that
 * answers ready lets it land before it returns (shim_settle_signals).
 */
void shim_settle_signals(void)
{
	if (!atomic_load_explicit(&sigs_inflight, memory_order_acquire))
		return;
	/* Bounded: the sender may be preempted (by this very thread, woken on
	 * its CPU): yielding lets it run. */
	for (int i = 0; i < 1000 && atomic_load_explicit(&sigs_inflight, memory_order_acquire); i++)
		(void)SYSC(SYS_sched_yield);
	/* Sent: pending on this thread, unless another takes it; the return
	 * from a system call delivers it (the sender's kick may still be on
	 * its way to this CPU). */
	(void)SYSC(SYS_sched_yield);
}

void shim_wake_flush(void)
{
	struct shim_efd *e = t_pending;
	bool late = t_sigs_counted;

	/* Uncounted first: a handler run by a send below may queue anew. */
	t_sigs_counted = false;
	/*
	 * Linux's order: SIGURG when the urgent pointer is seen (tcp_check_urg),
	 * before the data wakes anyone; O_ASYNC's signals after the wake-ups
	 * (sock_def_readable wakes the waiters, then sk_wake_async). A thread
	 * waiting in poll for the data that a SIGIO announces is woken by its
	 * eventfd first, and answers ready, not EINTR.
	 */
	t_pending = NULL;
	if (t_nsigs)
		signals_flush(true);
	while (e) {
		struct shim_efd *next = e->next;
		uint64_t one = 1;

		/* Cleared before the write: a wake queued from now on writes again. */
		atomic_store(&e->queued, false);
		atomic_fetch_add(&e->wakes, 1);
		/* EAGAIN (counter full) cannot matter: the waiter is woken already. */
		(void)!shim_libc.write(e->fd, &one, sizeof(one));
		/* After the write: a drain that finds none skips its read; one
		 * that comes between the write and this leaves the count in the
		 * eventfd, and the next wait returns at once and drains it. */
		atomic_fetch_add(&e->written, 1);
		efd_put(e);
		e = next;
	}
	if (t_nsigs)
		signals_flush(false);
	if (late)
		atomic_fetch_sub_explicit(&sigs_inflight, 1, memory_order_acq_rel);
}

void shim_wq_wake(struct shim_waiter *head)
{
	if (atomic_load_explicit(&wq_frozen, memory_order_relaxed))
		return;
	for (struct shim_waiter *w = head->next; w != head; w = w->next) {
		if (w->kind == SHIM_W_THREAD) {
			wake_queue(w->efd);
		} else {
			shim_epoll_item_wake(w->item);
		}
	}
}

/* Since this thread's wait began (shim_wait_sock): how many wrapped
 * handlers ran, and whether one of them had no SA_RESTART. Initial-exec:
 * no allocation can happen on a first access from a handler. */
static _Thread_local __attribute__((tls_model("initial-exec"))) unsigned t_sig_ran;
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_sig_norestart;
/* ... and for which signals (bit sig - 1; all bits: not known). */
static _Thread_local __attribute__((tls_model("initial-exec"))) uint64_t t_sig_ran_set;
/* This thread is in shim_wait_sock's wait, on its eventfd (t_efd). */
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_in_wait;
/* Handlers run on this thread, ever; and whether one ran while it started
 * the stack (shim_need_stack), with or without SA_RESTART. */
static _Thread_local __attribute__((tls_model("initial-exec"))) unsigned t_sig_count;
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_sig_in_start;
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_sig_in_start_norestart;
static _Thread_local __attribute__((tls_model("initial-exec"))) uint64_t t_sig_in_start_set;
/* shim_sig_wake_arm's mark (the eventfd's wake count then), whether it is
 * still to be compared (by the wait's first handler), and the answer. */
static _Thread_local __attribute__((tls_model("initial-exec"))) unsigned t_wake_mark;
static _Thread_local __attribute__((tls_model("initial-exec"))) volatile bool t_wake_armed, t_woken_first;

/* ---- the stack ---- */

int shim_need_stack(void)
{
	int r;

	if (stack_running)
		return 0;
	if (start_err)
		return start_err;
	if (shim_proc_state() != SHIM_PROC_OWNER)
		return -ENETDOWN;
	/* Under the lock, once per process (stack/CONCURRENCY.md). The start
	 * may wait (a lingering stack's handover of the TAP): a handler that
	 * runs meanwhile ran inside the call that needs the stack, and its
	 * wait, if it has one, is interrupted (sig_wait_begins). */
	{
		unsigned count = t_sig_count;
		bool norestart = t_sig_norestart;
		uint64_t set = t_sig_ran_set;

		t_sig_norestart = false;
		t_sig_ran_set = 0;
		r = shim_host.start(shim_host.ctx);
		if (t_sig_count != count) {
			t_sig_in_start = true;
			t_sig_in_start_norestart = t_sig_norestart;
			t_sig_in_start_set = t_sig_ran_set;
		}
		t_sig_norestart = norestart;
		t_sig_ran_set = set;
	}
	if (r < 0) {
		/* Documented: every start failure (bad PSTACK_* value, no TAP
		 * device, no permission) is ENETDOWN, now and for every later
		 * call that needs the stack; the host printed why, once. */
		start_err = -ENETDOWN;
		return start_err;
	}
	/* The socket calls' data is the program's memory: the stack copies it
	 * with ours, so that a bad buffer is EFAULT (shim/ucopy.c). */
	stack_set_copy(shim_stack(), shim_copy);
	atomic_store(&stack_addr, stack_config(shim_stack())->addr);
	stack_running = true;
	atomic_store(&spin_us, shim_host.spin ? shim_host.spin_us(shim_host.ctx) : 0);
	return 0;
}

bool shim_fork_promote(void)
{
	bool r;

	if (shim_proc_state() == SHIM_PROC_OWNER)
		return true;
	if (!__atomic_load_n(&fork_fresh, __ATOMIC_RELAXED) || shim_proc_state() != SHIM_PROC_FORKED)
		return false;
	/* An ancestor's stack (its parent started one since) serves it
	 * rather (join.c): a process family shares one stack. A stack that
	 * is no ancestor's holds the TAP (a sibling promoted first: pool
	 * workers forked before any socket): its sockets stay the kernel's,
	 * as before, rather than fail to start a stack of their own. */
	if (shim_join_check() != 0 || shim_join_tap_taken())
		return false;
	shim_lock();
	r = fork_fresh && forked;
	if (r) {
		fork_fresh = false;
		forked = false;
		init_pid = getpid();
		start_err = 0;
		log_debug("a fork child of a process without a stack: process %d starts its own at its first socket",
			  (int)init_pid);
	}
	shim_unlock();
	return r || !forked;
}

void shim_creds_prestart(void)
{
	struct shim_iface ifc;

	if (shim_proc_state() != SHIM_PROC_OWNER || __atomic_load_n(&stack_running, __ATOMIC_RELAXED) || start_err)
		return;
	if (!shim_host.iface || shim_host.iface(shim_host.ctx, &ifc) < 0 || !ifc.index)
		return;
	if (shim_join_check() != 0)
		return;
	shim_lock();
	(void)shim_need_stack();
	shim_unlock();
}

uint32_t shim_stack_addr(void)
{
	return atomic_load(&stack_addr);
}

void shim_stack_addr_learn(uint32_t addr)
{
	uint32_t none = 0;

	/* A joiner has no stack of its own to ask. */
	atomic_compare_exchange_strong(&stack_addr, &none, addr);
}

bool shim_stack_started(void)
{
	bool r;

	shim_lock();
	r = stack_running;
	shim_unlock();
	return r;
}

struct stack *shim_stack(void)
{
	return shim_host.stack(shim_host.ctx);
}

struct stack *shim_stack_locked(void)
{
	return stack_running ? shim_host.stack(shim_host.ctx) : NULL;
}

uint64_t shim_now(void)
{
	return shim_host.now(shim_host.ctx);
}

uint64_t shim_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- signal handlers: which one ran, and its SA_RESTART ---- */

/*
 * Linux restarts a socket call a signal interrupted when the handler that
 * ran has SA_RESTART. The shim's waits end in ppoll(), which never restarts,
 * so the shim must know which handler ran: every handler the program
 * installs (shim_sigaction, from the interposed sigaction and signal) is
 * installed wrapped in sig_tramp, which notes on its thread that a handler
 * ran and whether it had SA_RESTART. The program's handler and flags, per
 * signal, are interned (one immutable entry per handler and flags, never
 * freed: a program switches between a few), so the wrapper reads them with
 * one atomic load, whatever another thread installs meanwhile.
 */
struct sig_entry {
	struct sig_entry *next;     /* this signal's entries (under sig_mu) */
	void *fn;                   /* sa_handler or sa_sigaction */
	int flags;                  /* the program's sa_flags */
};
static _Atomic(struct sig_entry *) sig_cur[NSIG];
static struct sig_entry *sig_all[NSIG];
static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
/* Per signal, a count that an install of a handler (the only change that
 * puts sig_tramp in the kernel) makes odd before it stores sig_cur and
 * even again once the kernel has the action: shim_sigaction's plain path
 * reads sig_cur without sig_mu and tells from it whether an install came
 * in between. */
static _Atomic unsigned sig_seq[NSIG];

/* Handlers of this thread running now (sig_tramp): _Fork() and clone()
 * take no lock of ours inside one (preload.c). */
static _Thread_local __attribute__((tls_model("initial-exec"))) unsigned t_in_handler;

_Thread_local unsigned shim_depth __attribute__((tls_model("initial-exec")));
_Thread_local unsigned shim_depth_base __attribute__((tls_model("initial-exec")));
_Thread_local volatile unsigned shim_ndeferred __attribute__((tls_model("initial-exec")));
/* This thread is in a blocking system call of the library's that holds none
 * of its locks (shim_safe_enter): a handler may run there, as inside the
 * kernel's wait. */
static _Thread_local __attribute__((tls_model("initial-exec"))) bool t_safe;

/* Handlers deferred (sig_tramp): what the kernel gave the wrapper, and the
 * mask it set for the handler. A few: a signal already waiting is not
 * queued twice (below SIGRTMIN, as the kernel's pending set). */
#define SIG_DEFER_MAX 8
struct sig_deferred {
	const struct sig_entry *e;
	int sig;
	siginfo_t si;
	sigset_t mask;
};
static _Thread_local __attribute__((tls_model("initial-exec"))) struct sig_deferred t_def[SIG_DEFER_MAX];

/* serve: the handler's socket calls are the library's (it runs where the
 * program's code or a wait was); else they go to the kernel, as they did. */
static void sig_run(const struct sig_entry *e, int sig, siginfo_t *si, void *uc, bool serve)
{
	unsigned base = shim_depth_base;
	bool first, woken = false, safe = t_safe;

	first = t_wake_armed;
	if (first) {
		/* The wait's first handler: did a wake-up come before it? */
		t_wake_armed = false;
		woken = t_efd && atomic_load(&t_efd->wakes) != t_wake_mark;
	}
	if (serve)
		shim_depth_base = shim_depth;
	t_safe = false;
	t_in_handler++;
	if (e->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))e->fn)(sig, si, uc);
	else
		((void (*)(int))e->fn)(sig);
	t_in_handler--;
	t_safe = safe;
	shim_depth_base = base;
	if (first)
		t_woken_first = woken;   /* after it: a wait of its own resets it */
	shim_signal_ran(sig, e->flags);
}

/* Faults and traps come from the instruction that runs: never deferred. */
static bool sig_synchronous(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

/* In a handler (async-signal-safe). False: no room, run it now. Every
 * signal is blocked while the queue changes (another handler could come in
 * between and take the same place). */
static bool sig_defer(const struct sig_entry *e, int sig, const siginfo_t *si)
{
	sigset_t all, cur;
	struct sig_deferred *d;
	bool queued = true;
	unsigned n;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &cur);
	n = shim_ndeferred;
	for (unsigned i = 0; i < n && sig < SIGRTMIN; i++)
		if (t_def[i].sig == sig)
			goto out;       /* already waiting: the kernel's pending set holds one */
	if (n == SIG_DEFER_MAX) {
		queued = false;
		goto out;
	}
	d = &t_def[n];
	d->e = e;
	d->sig = sig;
	if (si)
		d->si = *si;
	else
		memset(&d->si, 0, sizeof(d->si));
	d->mask = cur;          /* the handler's mask, as the kernel set it */
	shim_ndeferred = n + 1;
	if (t_in_wait && t_efd) {
		/* A wait about to block (role_ppoll) wakes at once. */
		uint64_t one = 1;

		atomic_fetch_add(&t_efd->written, 1);
		(void)sys_write(t_efd->fd, &one, sizeof(one));
	}
out:
	pthread_sigmask(SIG_SETMASK, &cur, NULL);
	return queued;
}

static void sig_tramp(int sig, siginfo_t *si, void *uc)
{
	struct sig_entry *e = sig > 0 && sig < NSIG ?
			      atomic_load_explicit(&sig_cur[sig], memory_order_acquire) : NULL;
	bool at_base = shim_depth == shim_depth_base || t_safe;

	if (!e)
		return;
	/* Inside the library's work (its lock held, its tables half changed):
	 * the kernel would run the handler at the call's return, or inside
	 * its wait; so does the library (shim_deferred_run). */
	if (!at_base && !sig_synchronous(sig) && sig_defer(e, sig, si))
		return;
	sig_run(e, sig, si, uc, at_base);
}

/* -1: none ran; 0: each had SA_RESTART; 1: one had not. Each is taken off
 * the queue with every signal blocked (a handler that came in between, at
 * the base, could run the queue itself), then runs under the mask the
 * kernel set for it. */
static int deferred_run(void)
{
	int saved = errno;
	volatile int r = -1;
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (shim_ndeferred) {
		struct sig_deferred d = t_def[0];
		volatile bool ran = false;
		sigset_t m;
		ucontext_t uc;

		memmove(&t_def[0], &t_def[1], (shim_ndeferred - 1) * sizeof(t_def[0]));
		shim_ndeferred--;
		sigorset(&m, &old, &d.mask);
		pthread_sigmask(SIG_SETMASK, &m, NULL);
		getcontext(&uc);
		if (!ran) {
			ran = true;
			sig_run(d.e, d.sig, &d.si, &uc, true);
			if (!(d.e->flags & SA_RESTART))
				r = 1;
			else if (r < 0)
				r = 0;
		}
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return r;
}

void shim_deferred_run(void)
{
	(void)deferred_run();
}

int shim_safe_enter(void)
{
	int r;

	t_safe = true;
	if (!shim_ndeferred)
		return 0;
	r = deferred_run();
	return r < 0 ? 0 : r ? -EINTR : 1;
}

/*
 * Wait frames. The waiters a wait links on its sockets' lists live in memory
 * this thread owns, one array per wait level, not in the wait's stack frame:
 * a handler that jumps out of a wait (siglongjmp from SIGALRM, the classic
 * timeout) leaves them linked, and a wake-up that walks the list then reads
 * memory that is still theirs (it wakes this thread's eventfd for nothing)
 * rather than a frame that is gone. The next wait on this thread unlinks
 * those of every wait whose frame is gone: one made at or above its own
 * frame on the same stack (a wait inside a handler, below the one it
 * interrupted, keeps that one), or on the alternate signal stack that this
 * thread has left. A thread's exit unlinks what is left (wait_frames_free).
 */
struct wait_frame {
	uintptr_t sp;               /* the wait's frame */
	bool alt;                   /* made on the alternate signal stack */
	struct shim_waiter *w;
	size_t n, cap;
};
static _Thread_local __attribute__((tls_model("initial-exec"))) struct wait_frame *t_wf;
static _Thread_local __attribute__((tls_model("initial-exec"))) unsigned t_nwf, t_capwf;

static bool on_altstack(void)
{
	stack_t ss;

	return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
}

/* Lock held. Unlinks the waiters of frames from..top and drops them. */
static void wait_frames_cut(unsigned from)
{
	while (t_nwf > from) {
		struct wait_frame *f = &t_wf[--t_nwf];

		for (size_t i = 0; i < f->n; i++)
			shim_wq_del(&f->w[i]);
		f->n = 0;
	}
}

int shim_wait_frame_push(const void *frame, size_t n, struct shim_waiter **out)
{
	uintptr_t sp = (uintptr_t)frame;
	bool alt = t_in_handler && on_altstack();
	struct wait_frame *f;

	for (unsigned i = 0; i < t_nwf; i++) {
		const struct wait_frame *g = &t_wf[i];

		if ((g->alt == alt && g->sp <= sp) || (g->alt && !alt)) {
			wait_frames_cut(i);
			break;
		}
	}
	if (t_nwf == t_capwf) {
		unsigned cap = t_capwf ? t_capwf * 2 : 4;
		struct wait_frame *nf = realloc(t_wf, cap * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		memset(nf + t_capwf, 0, (cap - t_capwf) * sizeof(*nf));
		t_wf = nf;
		t_capwf = cap;
	}
	f = &t_wf[t_nwf];
	if (f->cap < n) {
		/* Not linked (the level is free): it may move. */
		struct shim_waiter *w = realloc(f->w, n * sizeof(*w));

		if (!w)
			return -ENOMEM;
		f->w = w;
		f->cap = n;
	}
	memset(f->w, 0, n * sizeof(*f->w));
	f->sp = sp;
	f->alt = alt;
	f->n = n;
	*out = f->w;
	return (int)t_nwf++;
}

void shim_wait_frame_pop(int level)
{
	if (level >= 0)
		wait_frames_cut((unsigned)level);
}

/* Thread exit (efd_destroy): what a wait a handler jumped out of left. */
static void wait_frames_free(void)
{
	if (t_nwf) {
		shim_lock();
		wait_frames_cut(0);
		shim_unlock();
	}
	for (unsigned i = 0; i < t_capwf; i++)
		free(t_wf[i].w);
	free(t_wf);
	t_wf = NULL;
	t_nwf = t_capwf = 0;
}

/* The library's waits: a handler that ran on the way in ends the wait, as
 * one inside the ppoll would (the wait's own rules restart it or not). */
static int safe_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	int r;

	if (shim_safe_enter() != 0) {
		shim_safe_leave();
		errno = EINTR;
		return -1;
	}
	r = shim_libc.ppoll(fds, n, ts, mask);
	shim_safe_leave();
	return r;
}

/* A wait's ppoll where this thread has a part to play for the stack (it
 * drives the device: block_driving): no handler runs inside (they are
 * deferred, and a deferral wakes the thread's eventfd, which every wait
 * polls); one deferred already ends the wait at once. The wait's caller
 * runs them once the part is given back (shim_block). */
static int role_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (shim_ndeferred) {
		errno = EINTR;
		return -1;
	}
	return shim_libc.ppoll(fds, n, ts, mask);
}

/* Where this thread holds no lock and no part: the handlers deferred run. */
static void deferred_here(void)
{
	if (shim_ndeferred) {
		t_safe = true;
		(void)deferred_run();
		t_safe = false;
	}
}

void shim_safe_leave(void)
{
	t_safe = false;
}

bool shim_in_signal_handler(void)
{
	return t_in_handler != 0;
}

void shim_signal_ran(int sig, int sa_flags)
{
	/* After the handler: a socket call it made began a wait of its own. */
	t_sig_ran++;
	t_sig_count++;
	t_sig_ran_set |= sig > 0 && sig <= 64 ? (uint64_t)1 << (sig - 1) : ~(uint64_t)0;
	if (!(sa_flags & SA_RESTART))
		t_sig_norestart = true;
	if (t_in_wait && t_efd) {
		/*
		 * The handler ran on its way into the wait's ppoll, or between
		 * two of them (block_driving between frames), not inside one:
		 * nothing would end that wait (an unanswered connect() waited
		 * its two minutes; tests/diff's connect_eintr cases, now and
		 * then). The thread's own eventfd wakes it, and the wait sees
		 * the handler ran. The raw write: async-signal-safe, errno
		 * kept, and allowed where the handler interrupted code that
		 * holds the stack's lock (block_begin).
		 */
		uint64_t one = 1;

		atomic_fetch_add(&t_efd->written, 1);
		(void)sys_write(t_efd->fd, &one, sizeof(one));
	}
}

/* Under sig_mu: the entry for fn and flags on sig, made once. */
static struct sig_entry *sig_intern(int sig, void *fn, int flags)
{
	struct sig_entry *e;

	for (e = sig_all[sig]; e; e = e->next)
		if (e->fn == fn && e->flags == flags)
			return e;
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	e->fn = fn;
	e->flags = flags;
	e->next = sig_all[sig];
	sig_all[sig] = e;
	return e;
}

/*
 * The exit guard (shim_guard_arm): SIGTERM, SIGINT and SIGHUP at their
 * default action kill the process without its exit path; the guard, in the
 * kernel in their place, lets the host hand the exposed sockets on first.
 * The program keeps seeing SIG_DFL.
 */
static _Atomic(void (*)(int)) sig_guard;

static void (*guard_for(int sig))(int)
{
	if (sig != SIGTERM && sig != SIGINT && sig != SIGHUP)
		return NULL;
	return atomic_load_explicit(&sig_guard, memory_order_acquire);
}

static void guard_action(struct sigaction *a, void (*fn)(int))
{
	memset(a, 0, sizeof(*a));
	a->sa_handler = fn;
	a->sa_flags = SA_RESTART;   /* it never returns; shim_signals_restart stays as it was */
	sigemptyset(&a->sa_mask);
}

/* The host's guard, armed at the first exposure (shim_guard_arm_registered):
 * a process that never exposes a socket never needs a keeper, and keeps
 * the kernel's default actions untouched. */
static _Atomic(void (*)(int)) guard_registered;

void shim_guard_register(void (*fn)(int))
{
	atomic_store(&guard_registered, fn);
}

void shim_guard_arm_registered(void)
{
	void (*fn)(int) = atomic_load(&guard_registered);

	if (fn && !atomic_load(&sig_guard))
		shim_guard_arm(fn);
}

void shim_guard_arm(void (*fn)(int))
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t all, mask;

	if (shim_proc_state() != SHIM_PROC_OWNER)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &mask);
	pthread_mutex_lock(&sig_mu);
	if (!atomic_load(&sig_guard)) {
		atomic_store_explicit(&sig_guard, fn, memory_order_release);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct sigaction cur, a;

			if (shim_libc.sigaction(sigs[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL ||
			    (cur.sa_flags & SA_SIGINFO))
				continue;
			guard_action(&a, fn);
			(void)shim_libc.sigaction(sigs[i], &a, NULL);
		}
	}
	pthread_mutex_unlock(&sig_mu);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

/* What the program sees of kold, the action the kernel held: its own
 * handler e for our wrapper, SIG_DFL for the exit guard. */
static void sig_old_view(int sig, const struct sigaction *kold, const struct sig_entry *e, struct sigaction *old)
{
	void (*guard)(int);

	*old = *kold;
	if (kold->sa_sigaction == sig_tramp && e) {
		old->sa_handler = (void (*)(int))e->fn;
		old->sa_flags = (kold->sa_flags & ~SA_SIGINFO) | (e->flags & SA_SIGINFO);
	} else if ((guard = guard_for(sig)) && kold->sa_handler == guard) {
		old->sa_handler = SIG_DFL;
		old->sa_flags = kold->sa_flags & ~SA_RESTART;
	}
}

/*
 * A call that changes neither the table nor the action it passes on: a
 * query, or SIG_DFL or SIG_IGN on a signal that never had a handler of
 * the program's (so the kernel cannot hold our wrapper for it), outside
 * the exit guard's signals (shim_guard_arm reads, then sets, theirs under
 * sig_mu). One system call, without sig_mu and without blocking signals:
 * most programs' calls (curl ignores SIGPIPE around every transfer, a
 * query and an install each time) took three. False: not such a call, or
 * an install of a handler came in between (sig_seq) where a query's answer
 * would not be exact; shim_sigaction's locked path then answers.
 */
static bool sig_plain(int sig, const struct sigaction *act, struct sigaction *old, int *res)
{
	bool guarded = sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
	struct sig_entry *e;
	struct sigaction kold;
	unsigned s1, s2;

	if (act && (guarded || (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN)))
		return false;
	s1 = atomic_load(&sig_seq[sig]);
	if ((s1 & 1) || (act && atomic_load(&sig_cur[sig])))
		return false;
	if (shim_libc.sigaction(sig, act, old ? &kold : NULL) < 0) {
		*res = -errno;
		return true;
	}
	*res = 0;
	if (!old)
		return true;
	e = atomic_load(&sig_cur[sig]);
	s2 = atomic_load(&sig_seq[sig]);
	if (s2 != s1 && !act)
		return false;   /* a query changed nothing: ask again, locked */
	/*
	 * An install: no handler was in at s1, so our wrapper in kold is an
	 * install's from after s1, whose entry it stored before its kernel
	 * call and so before ours: e, when at most one install began by s2.
	 * Deviation: with two or more on this one signal inside those few
	 * microseconds (other threads or handlers), e is the last one's.
	 */
	sig_old_view(sig, &kold, e, old);
	return true;
}

int shim_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction kact, kold;
	void (*guard)(int);
	struct sig_entry *prev, *e = NULL;
	sigset_t all, mask;
	bool bumped = false;
	int r;

	/* A vfork() child shares our memory but not our handlers: hands off. */
	if (sig <= 0 || sig >= NSIG || shim_proc_state() == SHIM_PROC_VFORKED)
		return SHIM_PASS;
	if (sig_plain(sig, act, old, &r))
		return r;
	/* Every signal blocked: no handler of this thread runs with the table
	 * and the kernel out of step; sig_mu orders them between threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &mask);
	pthread_mutex_lock(&sig_mu);
	prev = atomic_load_explicit(&sig_cur[sig], memory_order_relaxed);
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN && sig != SIGKILL &&
	    sig != SIGSTOP) {
		/* sa_handler and sa_sigaction share their storage. */
		e = sig_intern(sig, (void *)act->sa_handler, act->sa_flags);
		if (!e) {
			r = -ENOMEM;
			goto out;
		}
		kact = *act;
		kact.sa_sigaction = sig_tramp;
		kact.sa_flags |= SA_SIGINFO;
		act = &kact;
		atomic_fetch_add(&sig_seq[sig], 1);
		bumped = true;
		atomic_store(&sig_cur[sig], e);
	} else if (act && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO) && (guard = guard_for(sig))) {
		guard_action(&kact, guard);
		act = &kact;
	}
	r = shim_libc.sigaction(sig, act, &kold) < 0 ? -errno : 0;
	if (r < 0)
		atomic_store_explicit(&sig_cur[sig], prev, memory_order_release);
	else if (old)
		sig_old_view(sig, &kold, prev, old);
	if (bumped)
		atomic_fetch_add(&sig_seq[sig], 1);
out:
	pthread_mutex_unlock(&sig_mu);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	return r;
}

/*
 * A wait was interrupted (EINTR): does Linux restart the call? Yes when the
 * handlers that ran during it (one, nearly always) all have SA_RESTART.
 * When none of ours ran (a handler installed behind the shim's back, with
 * the raw system call), the approximation: every installed handler has it.
 */
static bool sig_restarts(void)
{
	if (t_sig_ran)
		return !t_sig_norestart;
	return shim_signals_restart();
}

static void sig_wait_begins(void)
{
	if (t_sig_in_start) {
		/* The handler ran inside this call (its start of the stack),
		 * as it would have inside the kernel's wait: the wait ends at
		 * once (its ppoll finds the signal gone). */
		t_sig_in_start = false;
		t_sig_ran = 1;
		t_sig_norestart = t_sig_in_start_norestart;
		t_sig_ran_set = t_sig_in_start_set;
		return;
	}
	t_sig_ran = 0;
	t_sig_norestart = false;
	t_sig_ran_set = 0;
	t_wake_armed = false;
	t_woken_first = false;
}

bool shim_sig_wait_enter(void)
{
	bool was = t_in_wait;

	sig_wait_begins();
	t_in_wait = true;
	return was;
}

bool shim_sig_wait_ran(const sigset_t *mask)
{
	uint64_t set = t_sig_ran_set;

	if (!t_sig_ran)
		return false;
	if (!mask || set == ~(uint64_t)0)
		return true;
	for (int sig = 1; sig <= 64 && set; sig++, set >>= 1)
		if ((set & 1) && sig < NSIG && !sigismember(mask, sig))
			return true;
	return false;
}

void shim_sig_wait_leave(bool was)
{
	t_in_wait = was;
	t_wake_armed = false;
}

void shim_sig_wake_arm(void)
{
	if (!t_efd || t_sig_ran)
		return;
	t_wake_mark = atomic_load(&t_efd->wakes);
	atomic_signal_fence(memory_order_seq_cst);
	t_woken_first = false;
	t_wake_armed = true;
}

bool shim_sig_woken_first(void)
{
	return t_woken_first;
}

bool shim_signals_restart(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (shim_libc.sigaction(sig, NULL, &sa) != 0)
			continue;
		if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/* ---- per-thread eventfds ---- */

/* Thread exit: the thread's reference goes; a waker may still hold one. */
static void efd_destroy(void *v)
{
	wait_frames_free();
	efd_put(v);
}

static void efd_key_init(void)
{
	pthread_key_create(&efd_key, efd_destroy);
}

/* Where the eventfds go: out of the program's numbers, as the stack's own
 * fds are (sys_fd_hide). Linux gives a program the lowest free fd, and an
 * eventfd of ours there moved every later socket(), accept() and open() one
 * up per thread that had waited (ncat --chat names its users by the fd).
 * Below the stack's own 64 under the soft limit, with room for a quarter of
 * it; 0 when the limit is too low to spare any. */
static int efd_floor(void)
{
	struct rlimit rl;
	long cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 256)
		return 0;
	cap = rl.rlim_cur > 65536 ? 65536 : (long)rl.rlim_cur;
	return (int)(cap - 64 - cap / 4);
}

/* A new eventfd that wake-ups can write (wake_queue), high (efd_floor) or
 * else never 0-2, marked internal in the table; one reference, the caller's. */
static int efd_make(struct shim_efd **out)
{
	struct shim_efd *e;
	int efd, at = efd_floor();

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		free(e);
		return -errno;
	}
	if (at > efd) {
		/* None free up there (a thread for each): stays where it is. */
		int high = shim_libc.fcntl(efd, F_DUPFD_CLOEXEC, at);

		if (high >= 0) {
			shim_libc.close(efd);
			efd = high;
		}
	}
	if (efd < 3) {
		/* Never 0-2: a daemon that closed stdio dup2()s /dev/null there. */
		int high = shim_libc.fcntl(efd, F_DUPFD_CLOEXEC, 3);

		shim_libc.close(efd);
		if (high < 0) {
			int err = -errno;

			free(e);
			return err;
		}
		efd = high;
	}
	e->fd = efd;
	atomic_init(&e->refs, 1);
	atomic_init(&e->queued, false);
	atomic_init(&e->written, 0);
	atomic_init(&e->wakes, 0);
	pthread_mutex_lock(&tab_mu);
	{
		_Atomic(struct shim_obj *) *s = slot(efd, true);

		if (s)
			atomic_store_explicit(s, &internal_obj, memory_order_release);
	}
	pthread_mutex_unlock(&tab_mu);
	*out = e;
	return efd;
}

int shim_thread_efd(struct shim_efd **out)
{
	struct shim_efd *e;
	int efd;

	if (t_efd) {
		*out = t_efd;
		return t_efd->fd;
	}
	efd = efd_make(&e);
	if (efd < 0)
		return efd;
	pthread_once(&efd_once, efd_key_init);
	pthread_setspecific(efd_key, e);
	t_efd = e;
	*out = e;
	return efd;
}

int shim_efd_new(struct shim_efd **out)
{
	return efd_make(out);
}

void shim_efd_drop(struct shim_efd *e)
{
	efd_put(e);
}

void shim_drain_efd(int efd)
{
	uint64_t v;

	/* This thread's own: nothing to read unless a waker wrote it. */
	if (t_efd && t_efd->fd == efd && !atomic_exchange(&t_efd->written, 0))
		return;
	(void)!shim_libc.read(efd, &v, sizeof(v));
}

int shim_clone_seen;

enum shim_proc shim_proc_state(void)
{
	if (forked)
		return SHIM_PROC_FORKED;
	/* No child has shared our memory yet: no system call on each call. */
	if (!__atomic_load_n(&shim_clone_seen, __ATOMIC_RELAXED))
		return SHIM_PROC_OWNER;
	return getpid() == init_pid ? SHIM_PROC_OWNER : SHIM_PROC_VFORKED;
}

bool shim_vfork_child(void)
{
	return shim_proc_state() == SHIM_PROC_VFORKED;
}

int shim_child_ebadf(void)
{
	if (!atomic_exchange(&child_warned, true))
		log_error("a socket served by pstack was used in a child process after fork(); "
			  "the stack lives in the parent only: the call fails with EBADF");
	return -EBADF;
}

bool shim_protected(int fd)
{
	return shim_is_internal(fd) || sys_fd_is_internal(fd);
}

int shim_protected_next(unsigned from, unsigned to)
{
	/* The stack's fds sit below min(RLIMIT_NOFILE, 65536) (sys_fd_hide);
	 * ours are in the table: nothing above both can be protected. */
	unsigned high = (unsigned)atomic_load(&shim_tab_high);
	unsigned bound = high > 65536u ? high : 65536u;

	if (to >= bound)
		to = bound - 1;
	for (unsigned fd = from; fd <= to && fd < bound; fd++)
		if (shim_protected((int)fd))
			return (int)fd;
	return -1;
}

bool shim_is_internal(int fd)
{
	_Atomic(struct shim_obj *) *s = slot(fd, false);

	return s && atomic_load_explicit(s, memory_order_acquire) == &internal_obj;
}

int shim_wait_sock(struct shim_sock *k, uint64_t deadline_us, bool restart)
{
	return shim_wait_sock_fd(k, deadline_us, restart, -1);
}

int shim_wait_sock_fd(struct shim_sock *k, uint64_t deadline_us, bool restart, int xfd)
{
	struct shim_waiter *w;
	struct shim_efd *e;
	uint64_t spin_until;
	bool was_in_wait;
	int efd, r, level;

	if (k->moved || k->dead)
		return -EBADF;
	if (!t_efd) {
		/* The thread's first wait: its eventfd is made without the lock,
		 * and the caller re-checks (the socket may have changed). */
		shim_unlock();
		efd = shim_thread_efd(&e);
		shim_lock();
		if (efd < 0)
			return efd;
		return k->moved || k->dead ? -EBADF : 0;
	}
	efd = shim_thread_efd(&e);
	level = shim_wait_frame_push(__builtin_frame_address(0), 1, &w);
	if (level < 0)
		return level;
	w->kind = SHIM_W_THREAD;
	w->efd = e;
	shim_wq_add(&k->wq, w);
	shim_unlock();
	spin_until = shim_spin_until(deadline_us);
	was_in_wait = shim_sig_wait_enter();
	for (;;) {
		struct pollfd p[2] = { { .fd = efd, .events = POLLIN }, { .fd = xfd, .events = POLLIN } };
		nfds_t np = xfd >= 0 ? 2 : 1;
		struct timespec ts, *tsp = NULL;
		int n;

		if (deadline_us) {
			uint64_t now = shim_clock_us();

			if (now >= deadline_us) {
				r = -EAGAIN;
				break;
			}
			ts.tv_sec = (time_t)((deadline_us - now) / 1000000u);
			ts.tv_nsec = (long)((deadline_us - now) % 1000000u) * 1000;
			tsp = &ts;
		}
		if (t_sig_ran) {
			/* A handler ran before the wait (sig_wait_begins) or
			 * between its ppolls: as if inside one. */
			n = -1;
			errno = EINTR;
		} else {
			n = shim_spin(p, np, spin_until, NULL);
			if (n == 0)
				n = shim_block(p, np, tsp, NULL);
		}
		if (n > 0 && !t_sig_ran) {
			r = 0;
			break;
		}
		if (n == 0)
			continue;   /* the deadline check above decides */
		if (n > 0 || errno == EINTR) {
			/* Woken by a handler that ran outside the ppoll (see
			 * shim_signal_ran) as by one inside it. */
			/* signal(7): socket calls with a timeout set never restart;
			 * the others when the handler that ran has SA_RESTART. */
			if (restart && !deadline_us && sig_restarts()) {
				bool gone;

				/* The restarted call looks the fd up again: a
				 * handler that closed it made that EBADF. */
				shim_lock();
				gone = k->closed;
				shim_unlock();
				if (gone) {
					r = -EBADF;
					break;
				}
				sig_wait_begins();
				continue;
			}
			r = -EINTR;
			break;
		}
		r = -errno;
		break;
	}
	shim_sig_wait_leave(was_in_wait);
	/* Before the lock (no system call under it): a wake that comes after
	 * this makes the next wait return at once, and its caller re-check. */
	shim_drain_efd(efd);
	shim_lock();
	shim_wait_frame_pop(level);
	/* Closed meanwhile, by another thread or a handler: the call goes on
	 * (sock_last_close); moved to the kernel's loopback or gone at exit:
	 * EBADF. */
	if (k->moved || k->dead)
		return -EBADF;
	return r;
}

int shim_wait_sock_intr(struct shim_sock *k, uint64_t deadline_us, bool restart, int *intr)
{
	int w;

	if (*intr)
		return *intr;
	w = shim_wait_sock(k, deadline_us, restart);
	if (w == -EINTR) {
		*intr = w;
		return 0;
	}
	return w;
}

/* ---- blocking with the device ---- */

/*
 * The blocking ppoll of every wait. When the host lets it, the waiting thread
 * also polls the device and, woken by a frame, processes it itself: the
 * frame that ends its wait then needs no hand-off through the stack thread
 * (which would be woken first, and would then wake this thread). Frames for
 * other threads are processed too, and wake them as the stack thread would.
 */
static bool spin_signalled(const sigset_t *wait_mask);

/* The device's fd in a thread's own wait (shim_block, the driver's side). */
static int block_driving(struct pollfd *fds, nfds_t n, int dfd, const struct timespec *ts, const sigset_t *mask)
{
	static const struct timespec zero = { 0, 0 };
	static const bool wait_over = true;
	struct pollfd small[8], *all = small;
	uint64_t deadline = 0;
	unsigned ran = t_sig_ran;
	int r, own = -1, others = 0;

	if (n + 1 > sizeof(small) / sizeof(small[0]) && !(all = calloc(n + 1, sizeof(*all))))
		return role_ppoll(fds, n, ts, mask);   /* no room to add it: wait as the others do */
	/*
	 * A signal that comes while this thread processes frames runs its
	 * handler there (the thread's own mask applies outside the ppoll) and
	 * ends the wait with EINTR, as it would have ended the kernel's wait:
	 * the handlers are the shim's wrappers, which count on the thread
	 * (t_sig_ran). Delivered there, a handler that ended nothing would
	 * leave the wait going on: a server that exits on SIGTERM from its
	 * event loop (nginx) would never see it.
	 */
	if (ts)
		deadline = shim_clock_us() + (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
	memcpy(all, fds, n * sizeof(*fds));
	all[n].fd = dfd;
	all[n].events = POLLIN;
	for (nfds_t i = 0; i < n; i++) {
		if (t_efd && fds[i].fd == t_efd->fd)
			own = (int)i;
		else if (fds[i].fd >= 0)
			others++;
	}
	for (;;) {
		struct timespec left;

		for (nfds_t i = 0; i <= n; i++)
			all[i].revents = 0;
		if (ts) {
			uint64_t now = shim_clock_us(), d = deadline > now ? deadline - now : 0;

			left.tv_sec = (time_t)(d / 1000000u);
			left.tv_nsec = (long)(d % 1000000u) * 1000;
		}
		r = role_ppoll(all, n + 1, ts ? &left : NULL, mask);
		for (nfds_t i = 0; i < n; i++)
			fds[i].revents = all[i].revents;
		if (r <= 0 || !all[n].revents)
			break;      /* a signal, the timeout, or only the caller's fds */
		r--;
		shim_lock();
		t_driving = own >= 0;
		/*
		 * The caller's own fds are ready already (nc's stdin, with its
		 * socket's ACK on the device): the wait is over whatever the
		 * frames bring, so the batch may stop after the first frame, as
		 * after the frame that ends the wait. The read that would find
		 * the device empty was one more system call per write of nc
		 * sending a file (the kernel's ACK is in the socket already);
		 * what the device still holds is read after the next write, or
		 * by the next wait, which sees the fd readable.
		 */
		if (stack_running)
			shim_host.drive(shim_host.ctx, r > 0 ? &wait_over : &t_self_woken);
		else
			all[n].fd = -1;     /* stopped: the fd may be closed, or another file's now */
		t_driving = false;
		shim_unlock();
		if (t_self_woken) {
			/* What the frames did woke this wait itself: its eventfd counts
			 * as ready without a write (and its drain finds nothing to read). */
			t_self_woken = false;
			if (others && r == 0)
				r = shim_libc.ppoll(fds, n, &zero, NULL);   /* the caller's other fds */
			if (r < 0)
				r = 0;
			if (!fds[own].revents)
				r++;
			fds[own].revents |= POLLIN;
			break;
		}
		if (t_sig_ran != ran || shim_ndeferred) {
			r = -1;
			errno = EINTR;
			break;
		}
		if (r > 0)
			break;
		/* What the frames made ready (another thread's wake among them). */
		r = shim_libc.ppoll(fds, n, &zero, NULL);
		if (r != 0)
			break;
		if (mask && spin_signalled(mask)) {
			/* Pending, blocked outside the wait but not by its mask: its
			 * handler runs now, under the wait's mask. */
			sigset_t cur;

			pthread_sigmask(SIG_SETMASK, mask, &cur);
			pthread_sigmask(SIG_SETMASK, &cur, NULL);
			r = -1;
			errno = EINTR;
			break;
		}
		if (ts && shim_clock_us() >= deadline)
			break;
	}
	if (all != small) {
		int saved = errno;

		free(all);
		errno = saved;
	}
	return r;
}

int shim_block(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	int dfd, r, saved;

	if (!shim_host.block_begin)
		return safe_ppoll(fds, n, ts, mask);
	shim_lock();
	dfd = stack_running ? shim_host.block_begin(shim_host.ctx) : -2;
	shim_unlock();
	if (dfd == -2)
		return safe_ppoll(fds, n, ts, mask);
	if (dfd < 0)
		r = safe_ppoll(fds, n, ts, mask);
	else
		r = block_driving(fds, n, dfd, ts, mask);
	saved = errno;
	shim_lock();
	if (stack_running)
		shim_host.block_end(shim_host.ctx, dfd >= 0);
	shim_unlock();
	deferred_here();
	if (r > 0)
		shim_settle_signals();
	errno = saved;
	return r;
}

/* ---- busy-poll ---- */

uint64_t shim_spin_until(uint64_t deadline_us)
{
	uint32_t us = atomic_load_explicit(&spin_us, memory_order_relaxed);
	uint64_t until;

	if (!us)
		return 0;
	until = shim_clock_us() + us;
	return deadline_us && deadline_us < until ? deadline_us : until;
}

/*
 * A signal is pending that would have interrupted the wait: one its mask
 * lets through, with a handler. (Blocked, even an ignored signal stays
 * pending; unblocked, it would never have woken the wait. A default action
 * that ends the process takes effect when the mask is restored.)
 */
static bool spin_signalled(const sigset_t *wait_mask)
{
	sigset_t pend;

	if (sigpending(&pend) < 0 || sigisemptyset(&pend))
		return false;
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigismember(&pend, sig) != 1 || sigismember(wait_mask, sig) != 0)
			continue;
		if (shim_libc.sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN)
			return true;
	}
	return false;
}

/*
 * Like Onload's EF_POLL_USEC and Linux's SO_BUSY_POLL: the waiting thread
 * reads the device itself, so the frame it waits for is processed and seen
 * by it at once, without two hand-offs (device to stack thread, stack thread
 * to this thread's eventfd). The stack thread keeps running: both read the
 * device (without blocking; the kernel gives each frame to one), and the
 * lock, released between rounds, serialises what the stack does with them.
 *
 * Signals are blocked while spinning and the pending set is checked each
 * round, so that a signal arriving now interrupts the call (EINTR) exactly
 * as it would interrupt the blocking wait: its handler runs (under the
 * wait's own mask) before we return.
 */
int shim_spin(struct pollfd *fds, nfds_t n, uint64_t spin_until, const sigset_t *wait_mask)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t all, old;
	int r = 0;

	if (!spin_until || shim_clock_us() >= spin_until)
		return 0;
	sigfillset(&all);
	if (pthread_sigmask(SIG_BLOCK, &all, &old))
		return 0;
	if (!wait_mask)
		wait_mask = &old;
	for (unsigned round = 1;; round++) {
		int got = 0;

		shim_lock();
		if (stack_running)
			got = shim_host.spin(shim_host.ctx, false);
		shim_unlock();
		/* Each round reads the device; fds and signals (two more system
		 * calls) are looked at when frames came in, else every fourth round. */
		if (got <= 0 && round % 4) {
			if (shim_clock_us() >= spin_until)
				break;
			continue;
		}
		r = shim_libc.ppoll(fds, n, &zero, NULL);
		if (r != 0)
			break;      /* ready, or an error the blocking call would meet too */
		if (spin_signalled(wait_mask)) {
			/* Let the handler run under the mask the wait would have had
			 * (deferred: this thread drives the device; it runs once the
			 * device is given back, below). */
			pthread_sigmask(SIG_SETMASK, wait_mask, NULL);
			r = -1;
			break;
		}
		if (shim_clock_us() >= spin_until)
			break;
	}
	if (r <= 0) {
		/* Giving up: the device goes back to the stack thread before we block. */
		shim_lock();
		if (stack_running)
			shim_host.spin(shim_host.ctx, true);
		shim_unlock();
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	deferred_here();
	if (r < 0)
		errno = EINTR;
	return r;
}

/* ---- fork and exit ---- */

/* Objects out of the table that exit must close too (shim_limbo_add). */
static struct shim_obj *limbo;

void shim_fork_prepare(void)
{
	shim_lock();
	pthread_mutex_lock(&tab_mu);
}

void shim_fork_parent(void)
{
	pthread_mutex_unlock(&tab_mu);
	shim_unlock();
}

void shim_fork_child(void)
{
	/*
	 * Documented choice: the child has no stack thread and may not touch
	 * the parent's stack. Its inherited stack sockets keep their
	 * placeholders (so exec and CLOEXEC behave), any other use fails with
	 * EBADF after one line, close() closes just the placeholder, and new
	 * TCP sockets in the child join the parent's stack (shim/join.c),
	 * UDP ones are the kernel's; the exposed ones (every
	 * connected socket, exposed by fork()) are live kernel fds, served by
	 * the parent's relay. Its exit stops nothing.
	 */
	/* The parent (or the fresh fork child it was) had no stack and
	 * started none: nothing here is the parent's to serve. */
	fork_fresh = !stack_running && !shim_join_joined() && (forked ? fork_fresh : start_err == 0);
	forked = true;
	/* The stack objects are the parent's (this copy of them is frozen):
	 * the exposed sockets answer from what they kept (internal.h). */
	for (int fd = 0; fd < atomic_load(&shim_tab_high); fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);
		struct shim_obj *o = s ? atomic_load_explicit(s, memory_order_relaxed) : NULL;

		if (o && o->kind == SHIM_OBJ_SOCK) {
			struct shim_sock *k = (struct shim_sock *)o;

			/* A send of another thread may have held it (its copy
			 * without the stack lock): that thread is not here. */
			pthread_mutex_init(&k->send_mu, NULL);
			/* Bound and nothing more (varnishd's manager binds, the
			 * child it forks listens): the child's listen() or
			 * connect() asks the parent's stack, as a joiner's do,
			 * to carry them out on that very socket (shim/join.c). */
			if (k->tcp && k->type == SOCK_STREAM && k->bound && !k->listening && !k->join &&
			    k->ss == SHIM_SS_UNCONNECTED && !k->syn_sent && !k->relay && !shim_exposed(k)) {
				k->fork_bound = (uint64_t)(uintptr_t)k->tcp;
				k->join = true;
				tcp_local(k->tcp, &k->local);   /* what a joiner keeps */
			}
			/* A connect that failed before the fork, its error in a
			 * share (expose.c, share_failed): the child's copy is its
			 * own to ask and to connect again, as a new socket of its
			 * own (shim/join.c). The failure let go of a port the
			 * connect chose (Linux's inet_put_port in tcp_set_state);
			 * one bind() gave stays, and the child's connect() then
			 * asks for that very socket, as for one bound only. A
			 * child's own child (no stack object: k->tcp is NULL
			 * there) keeps what its parent made of it. */
			if (k->fail_share && k->tcp && !shim_exposed(k)) {
				k->join = true;
				k->bound = k->port_locked;
				k->local = (struct ip4_endpoint){ 0, 0 };
				if (k->port_locked) {
					k->fork_bound = (uint64_t)(uintptr_t)k->tcp;
					tcp_local(k->tcp, &k->local);
				}
			}
			k->tcp = NULL;
			k->udp = NULL;
			k->relay = NULL;
		}
	}
	for (struct shim_obj *o = limbo; o; o = o->limbo_next)
		((struct shim_sock *)o)->tcp = NULL;
	stack_running = false;
	atomic_store(&spin_us, 0);
	start_err = -ENETDOWN;
	shim_join_fork_child();
	t_efd = NULL;   /* the eventfd is shared with the parent's thread: never use it */
	t_pending = NULL;
	t_nsigs = 0;
	pthread_mutex_unlock(&tab_mu);
	shim_unlock();  /* the host's plain unlock: it has no stack in the child */
}

void shim_limbo_add(struct shim_obj *o)
{
	o->limbo_next = limbo;
	limbo = o;
}

void shim_limbo_del(struct shim_obj *o)
{
	for (struct shim_obj **p = &limbo; *p; p = &(*p)->limbo_next)
		if (*p == o) {
			*p = o->limbo_next;
			break;
		}
}

/* Stack lock held: every object in the table or in limbo is closed as the
 * kernel closes it at exit. */
static void close_all_at_exit(void)
{
	int high = atomic_load(&shim_tab_high);

	for (int fd = 0; fd < high; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);
		struct shim_obj *o;

		pthread_mutex_lock(&tab_mu);
		o = s ? atomic_load_explicit(s, memory_order_relaxed) : NULL;
		pthread_mutex_unlock(&tab_mu);
		if (o && o->ops && o->ops->exit)
			o->ops->exit(o);
	}
	for (struct shim_obj *o = limbo; o; o = o->limbo_next)
		o->ops->exit(o);
}

/*
 * At exit, after close_all_at_exit, no lock held: this process's own copies
 * of the exposed sockets' fds are let go (/dev/null in their place), so that
 * a relay whose program end nobody else holds (no child, no program this one
 * exec'd) sees it closed at once, and the host stops the stack here as for
 * any socket; one that another process still holds needs a keeper
 * (stack/host/keeper.h). Stdout and stderr stay while their stream still
 * holds bytes for them: the C library writes those after the destructors.
 */
static void drop_exposed_fds(void)
{
	int high = atomic_load(&shim_tab_high);
	long null = -1;

	for (int fd = 0; fd < high; fd++) {
		_Atomic(struct shim_obj *) *s = slot(fd, false);
		struct shim_obj *o = s ? atomic_load_explicit(s, memory_order_acquire) : NULL;

		/* Exposed, or armed (a connected UDP socket): a live kernel fd. */
		if (!o || o->ops != &shim_sock_ops ||
		    (!shim_exposed((struct shim_sock *)o) && atomic_load(&((struct shim_sock *)o)->kfd) < 0))
			continue;
		if ((fd == 1 && __fpending(stdout)) || (fd == 2 && __fpending(stderr)))
			continue;
		if (null < 0 && (null = sys_openat(AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC, 0)) < 0)
			return;
		(void)shim_libc.dup3((int)null, fd, 0);
	}
	if (null >= 0)
		sys_close((int)null);
}

void shim_exit(uint64_t linger_us)
{
	if (!atomic_load(&shim_ready) || forked || getpid() != init_pid)
		return;
	/* A handler interrupted this thread inside the library, with the
	 * stack's lock held, and jumped out of it (or calls exit() there):
	 * what the lock guards may be half changed, and taking it again would
	 * wait forever. The process ends as if killed: the stack's own process
	 * finds the lock's holder gone and carries the connections on. */
	if (t_shim_locked)
		return;
	shim_lock();
	if (!stack_running) {
		shim_unlock();
		return;
	}
	/* This thread's wait never ended (t_in_wait): a handler jumped out of
	 * it, or calls exit() inside it. Its waiters may be gone with their
	 * frames: no wait list is walked from now on (wq_frozen). */
	if (t_in_wait)
		atomic_store(&wq_frozen, true);
	/* Like the kernel at process exit: every socket still open is closed,
	 * so its queued data and FIN go out during the linger below. */
	close_all_at_exit();
	stack_running = false;
	atomic_store(&spin_us, 0);
	start_err = -ENETDOWN;
	shim_unlock();
	drop_exposed_fds();
	shim_host.stop(shim_host.ctx, linger_us);
}

void shim_keeper_prepare(void)
{
	pthread_mutex_lock(&tab_mu);
}

void shim_keeper_parent(void)
{
	pthread_mutex_unlock(&tab_mu);
}

static void become_keeper(bool close_all);

void shim_keeper_child(bool close_all)
{
	pthread_mutex_unlock(&tab_mu);
	become_keeper(close_all);
}

void shim_orphan(void)
{
	struct timespec ts;

	/* A thread of the dead program may have held the table's lock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&tab_mu, &ts) == 0)
		pthread_mutex_unlock(&tab_mu);
	else
		pthread_mutex_init(&tab_mu, NULL);
	become_keeper(true);
}

static void become_keeper(bool close_all)
{
	/* The owner's image is gone (exec, a signal): its sockets close as at
	 * exit, their FINs queued for the keeper's loop. The keeper is the
	 * stack's owner now (the sockets' exit acts only there). */
	init_pid = getpid();
	if (close_all && stack_running)
		close_all_at_exit();
	forked = true;
	stack_running = false;
	atomic_store(&spin_us, 0);
	start_err = -ENETDOWN;
	/* No thread of the owner's is here to wake (their eventfds are closed). */
	t_efd = NULL;
	t_pending = NULL;
	t_nsigs = 0;
}

void shim_reset_for_test(void)
{
	shim_lock();
	close_all_at_exit();
	stack_running = false;
	start_err = 0;
	shim_unlock();
}

int shim_test_waiters(int fd)
{
	struct shim_obj *o = shim_get(fd);
	struct shim_waiter *head;
	int n = 0;

	if (!o)
		return -EBADF;
	shim_lock();
	head = o->ops->waiters(o);
	for (struct shim_waiter *w = head->next; w != head; w = w->next)
		n++;
	shim_unlock();
	shim_put(o);
	return n;
}
