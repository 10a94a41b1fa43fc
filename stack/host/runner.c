/*
 * The runner: one stack on a TAP device, and the background thread that
 * reads frames and runs timers.
 *
 * The thread sleeps in ppoll() on the TAP fd and an eventfd, with the timeout
 * the stack asks for (stack_poll_at). Other threads call into the stack
 * between runner_lock() and runner_unlock(); runner_unlock() writes the
 * frames they made (the stack's link output hook queues them: txq.h) and
 * kicks the thread when its deadline moved earlier. Application threads
 * read the device too (a blocked driver, busy-poll).
 *
 * The device is a chain (netdev.h): the TAP, wrapped by pcap, the fault link
 * and trace as the settings ask (runner_open_dev). The chain's own timers
 * (the fault link's delayed frames) join the stack's in the thread's wait.
 *
 * Who may do what, the flags below, the device hand-off and grace, and why
 * no system call runs under the lock: stack/CONCURRENCY.md.
 */
#include "stack/host/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/core/tcp/tcp.h"
#include "stack/dev/fault.h"
#include "stack/dev/pcap.h"
#include "stack/dev/tap.h"
#include "stack/dev/trace.h"
#include "stack/dev/sysc.h"
#include "stack/host/ctl.h"
#include "stack/host/lock.h"
#include "stack/host/logsink.h"
#include "stack/host/relay.h"
#include "stack/host/txq.h"
#include "stack/wire/wire.h"

/* Frames read per wakeup before timers get a turn. */
#define RUNNER_RX_BATCH 1024   /* frames read per wakeup at most */
/* Room for the largest frame the device can hand over (64 KiB IP + Ethernet), with spare. */
#define RUNNER_RX_BUF (65536 + 4096)
#define RUNNER_MAX_SLEEP_US 60000000u
/* Frames an application thread reads per busy-poll round (PSTACK_SPIN_US):
 * enough for a burst, small enough that it soon re-checks what it waits for. */
#define RUNNER_SPIN_BATCH 64
/* How long the device stays with application threads after a driver left
 * its wait (see runner_block_begin): a thread that reads a stream is back
 * in its next wait well within this, and the stack thread is not woken in
 * between. Frames that come while no thread waits are read this late at
 * worst. While a driver comes and goes, the stack thread checks on it once
 * per grace; each check that finds it back in a wait doubles the grace, up
 * to the longest (the checks are a context switch each: on one CPU, with
 * a round trip of 7 us, one per millisecond doubled sockperf's p99), and
 * the first that finds it gone sets it back to the shortest. */
#define RUNNER_DRIVE_GRACE_US 1000u
#define RUNNER_DRIVE_GRACE_MAX_US 8000u
/* How long a start waits for a busy TAP (runner_open_dev), in steps; for
 * one held by a stack finishing its program's closes, as long as it says
 * it may still hold it (ctl.h), plus a second for its exit, up to the
 * longest. */
#define RUNNER_BUSY_WAIT_MS 1000u
#define RUNNER_BUSY_WAIT_MAX_MS 60000u
#define RUNNER_BUSY_STEP_MS 10u
/* A stack process that handed its device over ends this long after its
 * answer (runner_proc_entry says why). */
#define RUNNER_HANDED_EXIT_DELAY_US 5000u
/* How long a stack process whose program is gone, with closes still to
 * finish, keeps a handover's asker waiting for its answer (runner_thread). */
#define RUNNER_HAND_SOON_US 250000u
/* The stack thread's stack; the stack process (runner_proc_run) runs on
 * all of it but the top RUNNER_PROC_GAP, which the thread keeps for its
 * own wait. */
#define RUNNER_STACK_SIZE (8u << 20)
#define RUNNER_PROC_GAP (64u << 10)
/* How long the stack process waits for the lock before it asks whether the
 * program died holding it. */
#define RUNNER_LOCK_CHECK_NS 200000000L
/* The glibc clone() itself: the library interposes "clone" (its children
 * share our memory: shim_clone_seen), and the stack process is not one of
 * the program's. */
extern int __clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#if defined(__SANITIZE_THREAD__)
#define RUNNER_NO_TSAN __attribute__((no_sanitize_thread, noinline))
#else
#define RUNNER_NO_TSAN __attribute__((noinline))
#endif
struct runner;
static void runner_free(struct runner *r);
static void runner_end(struct runner *r, bool memory);
static void runner_log_stats(struct runner *r);

#define RUNNER_MAX_GROUPS 256
struct runner_creds {
	uid_t uid[3];               /* real, effective, saved */
	gid_t gid[3];
	int ngroups;                /* -1: more than RUNNER_MAX_GROUPS, left as they are */
	gid_t groups[RUNNER_MAX_GROUPS];
};

struct runner {
	struct stack_lock *lock;    /* the caller's (runner_start) */
	pthread_cond_t progress;    /* broadcast after each wakeup, for runner_stop's wait */
	struct stack *s;
	struct netdev *dev;         /* the device chain, outermost (netdev.h) */
	uint32_t spin_us;           /* PSTACK_SPIN_US */
	int efd;                    /* eventfd: kicks the thread */
	pthread_t thread;
	/* The buffers frames are read into (struct pkb_rx: a receive queue may
	 * keep one, and its reader then reads into a new one; NULL until the
	 * next read allocates it). */
	struct pkb_rx *rxbuf;       /* the thread's own */
	struct pkb_rx *spinbuf;     /* the busy-polling or driving application thread's */

	/* Under lock. */
	struct txq_set txq;         /* frames the stack made, for runner_tx: one queue per device queue */
	uint64_t sleep_until;       /* deadline of the thread's current wait (STACK_NEVER: none) */
	bool stop;
	bool stopping;              /* runner_stop has begun: no more drivers */
	bool dev_dead;
	bool app_reading;           /* an application thread reads into spinbuf (app_read) */
	bool rx_busy;               /* a thread is reading frames (runner_read_frames) */
	uint64_t rx_end_reads;      /* stack_reads() when the last batch ended */
	bool rx_missed;             /* another thread found rx_busy: kick the stack thread after */
	bool rx_yield;              /* the stack thread found rx_busy: it sleeps without the device once */
	/* A driver stopped reading at the frame that ended its own wait, before
	 * the device said it was empty (runner_read_frames): the next
	 * runner_unlock of an application thread that wrote frames reads one
	 * more (rx_owed_fresh: not the driver's own unlock). */
	bool rx_owed;
	bool rx_owed_fresh;
	/* The last batch read to the device's end found one frame or none:
	 * frames come one at a time (requests), and a driver may stop early.
	 * A batch of more (a stream) turns that off until one is single again. */
	bool rx_single;
	bool parked;                /* the thread sleeps without the device (busy-poll) */
	unsigned tx_busy;           /* the queues a thread is writing (bit i: txq.q[i]) */
	bool driver;                /* a blocked application thread polls the device (runner_block_begin) */
	bool kick_pending;          /* the thread must look again: kicked by the next runner_unlock */
	bool relay_woke;            /* an application thread woke relays: it pumps them at runner_unlock */
	struct relay *push_rl;      /* a relay the unlocking thread pushes (runner_relay_push_send) */
	unsigned blocked;           /* application threads inside runner_block_begin/end */
	uint64_t drive_end;         /* when the last driver stopped (0: none yet) */
	uint64_t drive_grace;       /* the grace now (RUNNER_DRIVE_GRACE_US to _MAX_US) */
	uint64_t drive_check;       /* when the thread checks on a driver next (0: no check set) */
	uint64_t drive_frames;      /* frames read by drivers */
	uint64_t drive_checks;      /* the thread's wakeups to check on a driver (logged) */
	uint64_t drive_empty;       /* drivers' reads that found the device empty (logged) */
	uint64_t owed_frames;       /* frames read after a write because a driver stopped early (logged) */
	uint64_t owed_empty;        /* ... and such reads that found the device empty (logged) */
	unsigned stop_waiters;
	uint64_t spin_frames;       /* frames read and processed by application threads */
	/* runner_tx, per device queue: frames written, and the lists they came
	 * in (one lock hand-off each), and the frames the stack thread wrote
	 * (logged when the runner stops). */
	uint64_t tx_frames[TXQ_MAX], tx_lists[TXQ_MAX], tx_bytes[TXQ_MAX], tx_thread_frames;
	uint64_t spin_seen;         /* time of the last runner_poll_once() (0: spinning stopped) */

	/* Threads between letting go of the lock and their kick's write (runner_stop waits for them). */
	atomic_uint kickers;

	/* Exposed sockets' relays (relay.h): served by the thread, their fds
	 * polled next to the TAP. pfds: the thread's wait (the TAP, the
	 * eventfd, then the relays'), grown under the lock. */
	struct relay_set relays;
	struct pollfd *pfds;
	unsigned pfd_cap;

	/* The control socket (ctl.h, pstack stat): its fds follow the relays'. */
	struct ctl *ctl;
	struct ctl_host ctl_host;
	/* A keeper process carries the stack on (runner_keep): its thread ends
	 * when no relay is left and no connection has a close to finish (nor
	 * is in FIN_WAIT_2 or TIME_WAIT), or keep_linger after the last relay
	 * went. */
	bool keeper;
	uint64_t keep_linger;
	uint64_t keep_idle;         /* when the last relay went (0: relays left) */
	/* runner_keeper_request (a signal handler's): 1 asked, 2 done, 3 not done, 4 being asked. */
	atomic_int keeper_req;
	int (*req_fn)(struct runner *r, void *ctx);
	void *req_ctx;

	/*
	 * The stack process (runner_proc_run, stack/CONCURRENCY.md "the stack
	 * process"): the thread's loop runs in a process of its own that
	 * shares the program's memory and fd table, so that the stack outlives
	 * the program's death without an exit path (SIGKILL, _exit): it then
	 * closes the program's sockets as the kernel would and carries the
	 * stack on as a keeper (orphan).
	 */
	pid_t owner;                /* the program (runner_start's caller) */
	uint64_t linger_us;         /* PSTACK_LINGER_MS: how long an orphan runs at most */
	volatile pid_t proc_tid;    /* the stack process's id while it runs (the kernel clears it at its exit) */
	/* Under lock. */
	int owner_fd;               /* pidfd of owner, in the stack process's wait (-1: none) */
	bool in_proc;               /* the loop runs in the stack process */
	bool orphan;                /* the owner died without stopping the stack */
	/* runner_stop left the stack to the stack process: only TIME_WAIT or
	 * an orphan's FIN_WAIT_2 was left, which it waits out after the
	 * program is gone (runner_orphaned), until linger_end, or hands over
	 * to the next program on the device (ctl.h). */
	bool lingering;
	uint64_t linger_end;
	/* An orphan's handover answer waits for its closes until then (runner_thread). */
	uint64_t soon_until;
	/* The exit left closes or relays to it: the counters are logged at its end too. */
	bool closes_at_exit;
	/* A handover's records (ctl_handover_ask), imported once the stack exists. */
	struct tcp_tw_rec *tw_recs;
	/* And its ARP cache, taken before the gateway is resolved. */
	struct ctl_hand_arp arp;
	long tw_n;
	void (*orphan_fn)(struct runner *r, void *ctx);
	void *orphan_ctx;
	/* The program changed its credentials (runner_follow_creds): the
	 * stack process takes the same at the top of its loop and clears
	 * creds_pending (set under lock). */
	atomic_int creds_pending;
	struct runner_creds creds;
	/* runner_spawn's wait: 0 until the thread made the stack process (1)
	 * or could not (-1: the thread runs the loop). Not under lock: the
	 * thread sets it, futex-woken. */
	volatile int spawned;
	/* The program's CPUs, when runner_spawn started the thread on the
	 * creating thread's CPU alone: the thread takes them back before it
	 * makes the process. */
	cpu_set_t spawn_cpus;
	bool spawn_pinned;
};

uint64_t runner_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct stack *runner_stack(struct runner *r)
{
	return r->s;
}

struct netdev *runner_dev(struct runner *r)
{
	return r->dev;
}

void runner_lock(struct runner *r)
{
	stack_lock(r->lock);
}

/* The relays' kick (lock held): a change for the relays, seen by another
 * thread than the stack thread, which serves them. */
static void runner_relay_kick(void *ctx)
{
	struct runner *r = ctx;

	if (!pthread_equal(pthread_self(), r->thread))
		r->kick_pending = true;
}

/* A relay's connection had an event (lock held): an application thread
 * pumps it on its way out (runner_unlock); the stack thread looks at every
 * relay in its next round anyway. */
static void runner_relay_woke(void *ctx)
{
	struct runner *r = ctx;

	if (!pthread_equal(pthread_self(), r->thread))
		r->relay_woke = true;
}

void *runner_relay_open(struct runner *r, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			const struct relay_cb *cb, void *ctx)
{
	return relay_open(&r->relays, tcp, udp, fd, armed, cb, ctx);
}

void runner_relay_lo(struct runner *r, void *relay, int lo, int family)
{
	(void)r;
	relay_listener_lo(relay, lo, family);
}

void runner_relay_expose(struct runner *r, void *relay)
{
	(void)r;
	relay_expose(relay);
}

void runner_relay_forget(struct runner *r, void *relay)
{
	(void)r;
	relay_forget(relay);
}

bool runner_relay_push_claim(struct runner *r, void *relay)
{
	return !r->stopping && !r->push_rl && relay_push_claim(&r->relays, relay);
}

void runner_relay_push_read(void *relay)
{
	relay_push_read(relay);
}

void runner_relay_push_send(struct runner *r, void *relay)
{
	r->push_rl = relay;     /* runner_unlock, next, puts it in its pump */
}

long runner_relay_recv_kept(void *relay, void *buf, size_t len, unsigned flags, uint64_t now)
{
	return relay_recv_kept(relay, buf, len, flags, now);
}

long runner_relay_inq_kept(void *relay)
{
	return relay_inq_kept(relay);
}

void runner_fork_child(struct runner *r)
{
	relay_fork_child(r ? &r->relays : NULL);
	ctl_fork_child(r ? r->ctl : NULL);
	if (r && r->owner_fd >= 0) {
		/* The child's copy of the stack process's pidfd. */
		sys_fd_forget(r->owner_fd);
		sys_close(r->owner_fd);
		r->owner_fd = -1;
	}
}

/* With the lock held, by the stack thread: the relays' share of its wait,
 * after the wait's first two fds. How many fds; *busy when a relay has
 * work that must not wait. */
static unsigned runner_relays_collect(struct runner *r, bool *busy, uint64_t now)
{
	unsigned want = 3 + relay_pollfds(&r->relays) + CTL_NFDS;   /* the owner's pidfd last */

	*busy = false;
	if (want > r->pfd_cap) {
		struct pollfd *p = realloc(r->pfds, want * sizeof(*p));

		if (!p)
			return 0;       /* the relays wait for memory; the TAP does not */
		r->pfds = p;
		r->pfd_cap = want;
	}
	return relay_collect(&r->relays, r->pfds + 2, busy, now);
}

static void runner_kick(struct runner *r)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already huge: the thread is woken anyway. */
	sys_write(r->efd, &one, sizeof(one));
}

/* With the lock held: frames the device chain dropped on purpose (the fault
 * link) go into the stack's counters. */
static void runner_dev_drops(struct runner *r)
{
	netdev_count_drops(r->dev, r->s);
}

/*
 * With the lock held: writes the frames the stack queued (txq.h), the lock
 * released around the writes, and returns with it held.
 * One thread writes a queue at a time, so its frames leave in the order the
 * stack made them; a thread that finds another writing a queue leaves its
 * frames to it, since that one takes the queue again (under the lock) until
 * it is empty, and goes on to the next queue. With a multi-queue TAP, two
 * threads write two queues at once: the peer kernel's receive path, which
 * runs inside each write, then runs on two CPUs. An application thread
 * that finds frames on another queue than the one it is about to write
 * while the stack thread sleeps wakes that thread, which writes them
 * meanwhile (a program with one thread, iperf3's streams or nginx's
 * worker, would otherwise write every queue itself, one after the other);
 * frames of one queue only (one connection) are never handed over: leaving
 * bulk to the stack thread whenever several queues carried it was measured
 * (iperf3 -P 4, pstack sending, two queues) at 0.30 to 0.37 of the kernel
 * against 0.38 to 0.62 without: each write then waits for a wake-up, and
 * the delay fires tail loss probes.
 */
static bool runner_tx_other(struct runner *r, unsigned mine)
{
	for (unsigned j = 0; j < r->txq.n; j++)
		if (j != mine && r->txq.q[j].head && !(r->tx_busy & (1u << j)))
			return true;
	return false;
}

static bool runner_tx(struct runner *r)
{
	bool app = !pthread_equal(pthread_self(), r->thread);
	struct pkb *list;
	bool wrote = false;
	size_t n, bytes;

	for (unsigned i = 0; i < r->txq.n; i++) {
		if ((r->tx_busy & (1u << i)) || !r->txq.q[i].head)
			continue;
		r->tx_busy |= 1u << i;
		while ((n = r->txq.q[i].len, bytes = r->txq.q[i].bytes, list = txq_take(&r->txq.q[i]))) {
			/* sleep_until: the stack thread is in its wait (0: awake, it
			 * looks at the queues before it waits again). */
			bool kick = app && r->sleep_until && !r->stopping && runner_tx_other(r, i);
			unsigned failed;

			if (kick)
				r->sleep_until = 0;     /* one kick is enough */
			/* Still the link's until written (txq_set_full). */
			r->txq.writing += bytes;
			stack_unlock(r->lock);
			/* After the lock, as every kick: runner_stop waits for
			 * tx_busy to clear before it closes the eventfd. */
			if (kick)
				runner_kick(r);
			failed = txq_send_queue(r->dev, i, list, runner_now());
			stack_lock(r->lock);
			r->txq.writing -= bytes;
			stack_count_drops(r->s, DROP_DEV_TX_ERROR, failed);
			runner_dev_drops(r);
			r->tx_frames[i] += n;
			r->tx_lists[i]++;
			r->tx_bytes[i] += bytes;
			if (!app)
				r->tx_thread_frames += n;
		}
		r->tx_busy &= ~(1u << i);
		wrote = true;
	}
	if (wrote && r->stop_waiters)
		pthread_cond_broadcast(&r->progress);
	return wrote;
}

/* When the thread must next run: the stack's timers and the device chain's. */
static uint64_t runner_deadline(struct runner *r)
{
	uint64_t at = stack_poll_at(r->s), dev_at = netdev_poll_at(r->dev);

	return dev_at < at ? dev_at : at;
}

static int app_read(struct runner *r, uint64_t *count, int max, const bool *enough, uint64_t *empty);

void runner_unlock(struct runner *r)
{
	struct relay_pump pump;
	uint64_t at;
	bool kick, out;

	/*
	 * A driver left frames owed (runner_read_frames): an application
	 * thread that just wrote (a reply, on its way out) reads one now. Not
	 * in the driver's own unlock, which returns to the program with its
	 * frame, nor while another thread reads (it would only be kicked).
	 */
	if (runner_tx(r) && r->rx_owed && !r->rx_owed_fresh && !r->rx_busy && !r->keeper &&
	    !pthread_equal(pthread_self(), r->thread) && app_read(r, &r->owed_frames, 1, NULL, &r->owed_empty) > 0) {
		/* As a driver that just left: the stack thread leaves the
		 * device to the application for a grace from now. */
		r->drive_end = runner_now();
		runner_tx(r);
	}
	r->rx_owed_fresh = false;
	pump.n = 0;
	pump.look = false;
	if (r->push_rl) {
		/* The program's bytes, read from the fd by this thread. */
		relay_pump_add(&r->relays, &pump, r->push_rl, runner_now());
		r->push_rl = NULL;
	}
	if (r->relay_woke) {
		/* This thread's frames made exposed sockets readable (or
		 * writable): it moves their bytes itself (relay.h), one
		 * hand-off to the stack thread and one back fewer. */
		r->relay_woke = false;
		relay_pump_begin(&r->relays, &pump, runner_now());
	}
	if (pump.look)
		r->kick_pending = true;
	if (pump.n)
		runner_tx(r);   /* what the pump made: its window's ACK, the program's bytes */
	at = runner_deadline(r);
	kick = at < r->sleep_until;
	if (kick)
		r->sleep_until = at;    /* one kick per earlier deadline is enough */
	kick |= r->kick_pending;
	r->kick_pending = false;
	/* The write (and the pump's) comes after the lock is let go:
	 * runner_stop must not free r (and close the eventfd) before it is
	 * done. */
	out = kick || pump.n;
	if (out)
		atomic_fetch_add_explicit(&r->kickers, 1, memory_order_relaxed);
	stack_unlock(r->lock);
	if (pump.n && relay_pump_end(&r->relays, &pump))
		kick = true;
	if (kick)
		runner_kick(r);
	if (out)
		atomic_fetch_sub_explicit(&r->kickers, 1, memory_order_release);
}

/*
 * Reads up to max frames from the device into buf and feeds each to the
 * stack: the one receive path, for the thread and for application threads
 * (busy-polling or blocked with the device) alike. Called with the lock
 * held; each read (a non-blocking system call) happens without it, so
 * application threads sending or receiving are never held up behind the
 * device. Returns the number of frames processed, or -1 when another thread
 * is reading (rx_busy). A read that finds the device empty counts in
 * *empty (when not NULL).
 *
 * enough (a driver's, else NULL) turns true when a frame ended the reader's
 * own wait: the batch stops there, without the read that would find the
 * device empty, unless frames were owed already (rx_owed). That read was a
 * system call between the frame and the program in every round trip of a
 * ping-pong (the kernel's recvfrom has none: the frame is in the socket
 * already); it comes after the program's next write instead (runner_unlock),
 * off that path, and on one CPU it often finds the next request there, which
 * then needs no wait at all. Only while frames come one at a time
 * (rx_single): a stream's receiver that stopped at each frame would ACK each
 * frame alone and read the rest a frame per write (iperf3 received 3.6 / 4.2
 * / 3.3 -> 2.8 / 2.7 Gbit/s that way); its batches of several frames turn
 * the early stop off.
 */
static int runner_read_frames(struct runner *r, struct pkb_rx **bufp, int max, uint64_t reads,
			      const bool *enough, uint64_t *empty)
{
	bool owed = r->rx_owed;
	int done = 0;

	/*
	 * One reader at a time. Each read happens without the lock, and a
	 * frame goes to the stack when its reader has the lock again: two
	 * readers would hand the stack the device's frames out of their order
	 * (an old ACK behind newer segments then fails PAWS, data looks
	 * reordered). A thread that finds another reading leaves the frames to
	 * it; the reader kicks the stack thread when it is done, in case the
	 * one that found it busy was that thread (which then slept without the
	 * device).
	 */
	if (r->rx_busy) {
		r->rx_missed = true;
		return -1;
	}
	r->rx_busy = true;
	/* Both callers run the due timers right after: the ACKs the batch
	 * defers (reads since reads) go then. */
	stack_rx_batch_begin(r->s, reads);
	for (int i = 0; i < max && !r->dev_dead; i++) {
		unsigned rx_flags = 0;
		long n;

		/*
		 * What the first frame brought (a request's answer) goes before
		 * the next read, as does anything queued before the batch; in a
		 * burst, the frames made wait for its end, or for the link's
		 * queue to fill (TXQ_FULL_BYTES). Writing after each read kept
		 * a standing queue of ACKs in the TAP: every frame written
		 * brings one, so one read per write never drained what a burst
		 * had queued, and that queue was the round trip (30-40 ms at
		 * 100 bulk connections) and the send buffers' memory.
		 */
		if (done <= 1 || stack_tx_full(r->s))
			runner_tx(r);
		stack_unlock(r->lock);
		/* The last frame's buffer kept by a receive queue: a new one,
		 * allocated here, without the lock. */
		if (!*bufp)
			*bufp = pkb_rx_alloc(RUNNER_RX_BUF);
		n = *bufp ? r->dev->ops->receive(r->dev, (*bufp)->data, RUNNER_RX_BUF, &rx_flags, runner_now()) : 0;
		stack_lock(r->lock);

		if (n == 0) {
			r->rx_owed = false;
			r->rx_single = done <= 1;
			if (empty)
				(*empty)++;
			break;
		}
		if (n < 0) {
			/* EBADFD, EIO: the device was deleted under us. Nothing more will come. */
			log_error("device %s: receive failed: %s; no more frames are read", r->dev->name,
				  strerror((int)-n));
			r->dev_dead = true;
			break;
		}
		done++;
		if ((size_t)n >= RUNNER_RX_BUF) {
			stack_drop(r->s, DROP_FRAME_TOO_LONG);
			continue;
		}
		/* Each frame's own time: RTT samples stay exact. */
		stack_input_rx(r->s, *bufp, (size_t)n, rx_flags, runner_now());
		if (pkb_rx_kept(*bufp)) {
			pkb_rx_put(*bufp);      /* the queue's now */
			*bufp = NULL;
		}
		if (enough && *enough && !owed && r->rx_single) {
			r->rx_owed = true;
			r->rx_owed_fresh = true;
			break;
		}
	}
	if (done > 1)
		r->rx_single = false;
	stack_rx_batch_end(r->s);
	r->rx_end_reads = stack_reads(r->s);
	runner_dev_drops(r);
	r->rx_busy = false;
	if (r->rx_missed) {
		r->rx_missed = false;
		r->kick_pending = true;
	}
	return done;
}

/*
 * Drains the device, up to a batch of frames per wakeup. The batch is
 * large because the kernel drops what overflows the TAP's queue (txqueuelen
 * 1000): under a burst from many connections at once, 64 frames per wakeup
 * lost tens of thousands of frames in a minute of nginx load, 1024 about none.
 */
static void runner_receive(struct runner *r, uint64_t reads)
{
	if (runner_read_frames(r, &r->rxbuf, RUNNER_RX_BATCH, reads, NULL, NULL) < 0)
		r->rx_yield = true;
}

/*
 * With the lock held, by the thread: the device chain's timers are due (the
 * fault link's delayed frames). What is due on the way out goes to the
 * device (lock released: it writes); what is due on the way in comes out of
 * the chain's receive, read like any frame.
 */
static void runner_dev_poll(struct runner *r, uint64_t now)
{
	stack_unlock(r->lock);
	netdev_poll(r->dev, now);
	stack_lock(r->lock);
	runner_dev_drops(r);
	runner_receive(r, stack_reads(r->s));
}

/*
 * An application thread reads a batch from the device with the lock held
 * (busy-poll or a blocked driver), into spinbuf: one such reader at a time
 * (app_reading); the others only re-check their own readiness, which that
 * one's frames update. Then the timers the batch left due (its ACK), as the
 * stack thread runs them after its own batch. Adds the frames to *count.
 */
static int app_read(struct runner *r, uint64_t *count, int max, const bool *enough, uint64_t *empty)
{
	/* This thread's frames may have come while it read (between its
	 * batches: a busy-poller, a driver that blocked again after its
	 * read), which Linux would hold in the socket's backlog. */
	uint64_t reads = r->rx_end_reads;
	int n;

	if (r->app_reading || r->stopping || r->dev_dead)
		return 0;
	r->app_reading = true;
	n = runner_read_frames(r, &r->spinbuf, max, reads, enough, empty);
	r->app_reading = false;
	if (n < 0)
		n = 0;      /* the stack thread is reading: its frames wake us */
	if (r->stop_waiters)
		pthread_cond_broadcast(&r->progress);
	*count += (uint64_t)n;
	if (n > 0) {
		uint64_t now = runner_now();

		if (stack_poll_at(r->s) <= now)
			stack_poll(r->s, now);
	}
	return n;
}

bool runner_parked(struct runner *r)
{
	return r->parked;
}

int runner_poll_once(struct runner *r)
{
	r->spin_seen = runner_now();
	return app_read(r, &r->spin_frames, RUNNER_SPIN_BATCH, NULL, NULL);
}

void runner_spin_stop(struct runner *r)
{
	r->spin_seen = 0;
	if (r->parked) {
		r->parked = false;
		r->kick_pending = true;
	}
}

int runner_block_begin(struct runner *r)
{
	int fd = -1;

	r->blocked++;
	if (!r->driver && !r->app_reading && !r->stopping && !r->dev_dead) {
		r->driver = true;
		fd = netdev_pollfd(r->dev);
	}
	return fd;
}

int runner_drive(struct runner *r, const bool *enough)
{
	return r->driver ? app_read(r, &r->drive_frames, RUNNER_SPIN_BATCH, enough, &r->drive_empty) : 0;
}

void runner_block_end(struct runner *r, bool was_driver)
{
	r->blocked--;
	if (was_driver) {
		uint64_t now = runner_now();

		r->driver = false;
		r->drive_end = now;
		/* The stack thread sleeps without the device: it must look again
		 * by the end of the grace period, or at once when other threads
		 * still wait (no driver is left to read their frames). */
		if (r->parked && (r->blocked > 0 || r->sleep_until > now + r->drive_grace)) {
			r->sleep_until = now;
			r->kick_pending = true;
		}
	}
}

/*
 * With the lock held, by a keeper's thread: whether its work is done. The
 * relays first (the processes that hold their other ends are the reason it
 * exists), then the closes they and the program left, bounded as at exit.
 */
static bool runner_keeper_done(struct runner *r, uint64_t now)
{
	if (r->dev_dead)
		return true;    /* the device is gone (its namespace deleted): nobody to talk to */
	if (relay_set_busy(&r->relays)) {
		r->keep_idle = 0;
		return false;
	}
	if (!r->keep_idle)
		r->keep_idle = now;
	/* FIN_WAIT_2 and TIME_WAIT are waited out, as the kernel does after a
	 * process's end; a program started on the device meanwhile does not
	 * wait for them: it takes them over (the handover, ctl.h). */
	if (tcp_pending_close(r->s) == 0 && tcp_after_fin(r->s) == 0)
		return true;
	return now >= r->keep_idle + r->keep_linger;
}

/* With the lock held, by the stack thread: a signal handler asked for a
 * keeper (runner_keeper_request). Once it exists, this process's copy of
 * the stack must never run again: the thread keeps the lock until the
 * process is gone. */
static void runner_keeper_asked(struct runner *r)
{
	int rc;

	/* A pump under way finishes first (the keeper must not inherit a
	 * relay halfway through its writes), bounded: the thread the signal
	 * interrupted may be one, waiting for us (its relays are only its
	 * own process's: relay_solo_end). */
	for (int i = 0; i < 50 && relay_pumping(); i++) {
		uint64_t until = runner_now() + 1000;
		struct timespec ts = { (time_t)(until / 1000000u), (long)(until % 1000000u) * 1000 };

		stack_lock_wait(r->lock, &r->progress, &ts);
	}
	rc = r->req_fn(r, r->req_ctx);

	atomic_store_explicit(&r->keeper_req, rc == 0 ? 2 : 3, memory_order_release);
	while (rc == 0) {
		/* The stack process outlives the program: it leaves when the
		 * program is gone, touching nothing (the keeper has the stack). */
		struct pollfd p = { .fd = r->owner_fd, .events = POLLIN };

		if (r->in_proc && r->owner_fd >= 0 && sys_ppoll(&p, 1, NULL, NULL) > 0 && p.revents)
			for (;;)
				(void)SYSC(SYS_exit_group, 0);
		(void)sys_ppoll(NULL, 0, NULL, NULL);   /* every signal is blocked here */
	}
}

/* The program's threads are gone (a keeper's fork, an orphan): none of
 * their marks on the runner holds any more. */
static void runner_forget_apps(struct runner *r)
{
	relay_set_unclaim(&r->relays);
	r->relay_woke = false;
	r->blocked = 0;
	r->driver = false;
	r->drive_end = 0;
	r->drive_grace = RUNNER_DRIVE_GRACE_US;
	r->drive_check = 0;
	r->app_reading = false;
	r->rx_busy = false;
	r->rx_missed = false;
	r->tx_busy = false;
	r->spin_seen = 0;
	r->parked = false;
	r->rx_yield = false;
	r->sleep_until = 0;
	atomic_store(&r->kickers, 0);
	atomic_store(&r->keeper_req, 0);
}

/* In the stack process, lock not held: the program's credentials, for this
 * process alone (raw system calls: the C library's would change every
 * thread of the program's, which has them already). Groups first, the
 * user last: a user that is not root may change nothing after.
 *
 * The program may have gone from an effective user that is not root back
 * to root through a real or saved uid 0 (seteuid(0) after seteuid(x), as
 * varnishd's manager does around each privileged step): root is taken
 * back first when it can be, since the groups and the gid need it (this
 * process is where the program was before its call, and with a euid that
 * is not root, setgroups fails with EPERM). Groups and gids that do not
 * change are left alone: a program that is not root may change its gids
 * among its own, never its groups. */
static void runner_apply_creds(const struct runner_creds *c)
{
	gid_t cur[RUNNER_MAX_GROUPS], g[3];
	long rc = 0, n;

	(void)SYSC(SYS_setresuid, (uid_t)-1, (uid_t)0, (uid_t)-1);  /* EPERM without a uid 0 */
	n = SYSC(SYS_getgroups, RUNNER_MAX_GROUPS, cur);
	if (c->ngroups >= 0 &&
	    (n != c->ngroups || memcmp(cur, c->groups, (size_t)c->ngroups * sizeof(gid_t)) != 0))
		rc = SYSC(SYS_setgroups, (size_t)c->ngroups, c->groups);
	if (rc == 0 && (SYSC(SYS_getresgid, &g[0], &g[1], &g[2]) != 0 || g[0] != c->gid[0] ||
			g[1] != c->gid[1] || g[2] != c->gid[2]))
		rc = SYSC(SYS_setresgid, c->gid[0], c->gid[1], c->gid[2]);
	if (rc == 0)
		rc = SYSC(SYS_setresuid, c->uid[0], c->uid[1], c->uid[2]);
	if (rc < 0)
		log_warn("stack process: cannot take the program's credentials (uid %u gid %u): %s",
			 (unsigned)c->uid[1], (unsigned)c->gid[1], strerror((int)-rc));
	else
		log_debug("stack process: credentials now uid %u/%u/%u gid %u/%u/%u", (unsigned)c->uid[0],
			  (unsigned)c->uid[1], (unsigned)c->uid[2], (unsigned)c->gid[0], (unsigned)c->gid[1],
			  (unsigned)c->gid[2]);
}

/* Whether the program the stack process serves has died (its pidfd readable). */
static bool runner_owner_gone(struct runner *r)
{
	struct pollfd p = { .fd = r->owner_fd, .events = POLLIN };
	struct timespec zero = { 0, 0 };

	return r->owner_fd >= 0 && sys_ppoll(&p, 1, &zero, NULL) > 0 && (p.revents & POLLIN);
}

/*
 * The stack thread's lock. In the stack process, a program that dies
 * holding the lock (SIGKILL in the middle of a socket call) would leave it
 * held for ever: the wait is cut into slices, and between them the process
 * asks whether the program is still there; when it is not, the lock is
 * taken over as it is (the connections may be in the middle of a change:
 * the stack carries on with them, as the kernel's own would not have to).
 */
static void runner_relock(struct runner *r)
{
	while (r->in_proc) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += RUNNER_LOCK_CHECK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (stack_lock_timed(r->lock, &ts) == 0)
			return;
		if (runner_owner_gone(r)) {
			stack_lock_break(r->lock);
			log_warn("stack process: the program died holding the stack lock; the stack carries on");
			return;
		}
	}
	stack_lock(r->lock);
}

/*
 * Lock held, in the stack process: the program died without stopping the
 * stack (SIGKILL, _exit, a signal's default action without the library's
 * guard). Like the kernel at a process's death, its sockets are closed
 * (queued data then FIN, or RST where data was left unread: the host's
 * orphan_fn, with the fds that are not the stack's); the process then
 * carries the stack on as a keeper does (runner_keeper_done), relays
 * included: the program's children may hold their ends.
 */
static void runner_orphaned(struct runner *r)
{
	sys_fd_forget(r->owner_fd);
	sys_close(r->owner_fd);
	r->owner_fd = -1;
	r->orphan = true;
	runner_forget_apps(r);
	r->stop = false;
	r->stopping = false;
	if (r->lingering)
		log_debug("stack process (pid %d): waits out %zu connection(s) in FIN_WAIT_2 or TIME_WAIT after the "
			  "program's exit (pid %d), and finishes %zu close(s) first", (int)SYSC(SYS_getpid),
			  tcp_after_fin(r->s), (int)r->owner, tcp_pending_close(r->s));
	else
		log_debug("keeper (pid %d): carries the stack on for %u relay(s): the program (pid %d) died with it running",
			  (int)SYSC(SYS_getpid), relay_count(&r->relays), (int)r->owner);
	if (r->orphan_fn)
		r->orphan_fn(r, r->orphan_ctx);
	r->keeper = true;
	r->keep_linger = r->linger_us;
	r->keep_idle = 0;
	if (r->lingering) {
		uint64_t now = runner_now();

		/* What the program's exit left of PSTACK_LINGER_MS (runner_stop). */
		r->keep_idle = now;
		r->soon_until = now + RUNNER_HAND_SOON_US;
		r->keep_linger = r->linger_end > now ? r->linger_end - now : 0;
		/* The program's other threads ended wherever they were, an
		 * allocator's lock held maybe: a process that would wait for it
		 * for ever holds the device for ever. The kernel ends it 2 s
		 * after its bound instead (SIGALRM's default action). */
		(void)SYSC(SYS_alarm, (unsigned)(r->keep_linger / 1000000u) + 2u);
	}
}

static void *runner_thread(void *arg)
{
	struct runner *r = arg;
	int tapfd = netdev_pollfd(r->dev);
	bool unwatched = true;  /* the last sleep left the device out (parked) */

	runner_relock(r);
	for (;;) {
		if (atomic_load_explicit(&r->keeper_req, memory_order_acquire) == 1)
			runner_keeper_asked(r);
		if (atomic_load_explicit(&r->creds_pending, memory_order_acquire)) {
			struct runner_creds c = r->creds;

			stack_unlock(r->lock);
			runner_apply_creds(&c);
			runner_relock(r);
			atomic_store_explicit(&r->creds_pending, 0, memory_order_release);
		}
		struct pollfd *fds = r->pfds;
		struct timespec ts, *tsp = NULL;
		uint64_t now = runner_now(), at, trim_at;
		unsigned nrelay = 0, nctl, nown = 0;
		bool relays = false, relay_busy = false;
		uint64_t woke_reads;
		long rc;

		if (netdev_poll_at(r->dev) <= now)
			runner_dev_poll(r, now);
		if (stack_poll_at(r->s) <= now) {
			/*
			 * Woken by a timer after a sleep without the device
			 * (parked: an application thread had it, or this is
			 * the first pass): what the device holds came before
			 * the timer and goes first. The other way round, an
			 * ACK that had waited in the TAP's queue met the loss
			 * probe it made needless (a resend the peer answered
			 * with a D-SACK: the kernel takes each ACK as it comes).
			 */
			if (unwatched && !r->dev_dead) {
				runner_receive(r, stack_reads(r->s));
				now = runner_now();
			}
			stack_poll(r->s, now);
		}
		if (relay_set_busy(&r->relays)) {
			/* Exposed sockets: bytes between connections and relays. */
			relays = true;
			nrelay = runner_relays_collect(r, &relay_busy, now);
			fds = r->pfds;
		}
		if (r->stop_waiters)
			pthread_cond_broadcast(&r->progress);
		if (r->stop || (r->keeper && runner_keeper_done(r, now)))
			break;
		/* The frames the pass made go to the device chain before the
		 * deadline is read: a wrapper that holds them (the fault link's
		 * delay) sets its own deadline as it takes them, and a sleep
		 * computed before would miss it (a retransmission held 50 ms was
		 * seen leave 500 ms late, at the next timer). */
		runner_tx(r);
		at = runner_deadline(r);
		if (relay_busy)
			at = now;
		/* Buffers a burst left cached and nobody used since (stack.h). */
		trim_at = stack_trim_caches(now);
		if (trim_at < at)
			at = trim_at;
		r->ctl_host.relays = relay_count(&r->relays);
		/* The handover (ctl.h): once the program is gone, with only
		 * TIME_WAIT and an orphan's FIN_WAIT_2 left. Asked while the
		 * program still exits, or while the closes its exit left are
		 * finishing (a round trip, most often: the next program on the
		 * device, started meanwhile, waits for the answer rather than
		 * for a "busy"), for at most RUNNER_HAND_SOON_US after it. */
		r->ctl_host.hand_over_soon = r->lingering &&
					     (!r->orphan || (!relays && tcp_pending_close(r->s) > 0 && now < r->soon_until));
		r->ctl_host.may_hand_over = (r->orphan || (r->keeper && !r->in_proc)) && !r->dev_dead && !relays &&
					    tcp_pending_close(r->s) == 0 && tcp_tw_only(r->s);
		/* A keeper's bound (runner_keeper_done), for a "busy" answer. */
		r->ctl_host.hold_until = r->keeper && r->keep_idle ? r->keep_idle + r->keep_linger : 0;
		r->ctl_host.hand_nfds = r->ctl_host.may_hand_over ?
					tap_queue_fds(r->dev, r->ctl_host.hand_fds, CTL_HAND_FDS_MAX) : 0;
		nctl = ctl_collect(r->ctl, r->s, &r->ctl_host, fds + 2 + nrelay, now, &at);
		if (r->ctl_host.hand_over_soon && r->orphan && r->soon_until < at)
			at = r->soon_until;     /* then "busy" to an asker still waiting */
		if (ctl_handing_over(r->ctl))
			break;      /* runner_free lets go of the device, then answers */
		if (r->keeper && r->keep_idle && r->keep_idle + r->keep_linger < at)
			at = r->keep_idle + r->keep_linger;
		/*
		 * While application threads busy-poll (PSTACK_SPIN_US), the
		 * device is theirs: woken for every frame, this thread would
		 * only take a core from them (and from the peer) to find the
		 * frame gone. It looks again when PSTACK_SPIN_US passes without
		 * a poll, or when a spinner gives up and blocks (runner_spin_stop).
		 */
		if (r->spin_seen && r->spin_seen + r->spin_us > now) {
			r->parked = true;
			if (r->spin_seen + r->spin_us < at)
				at = r->spin_seen + r->spin_us;
		}
		/*
		 * The same while an application thread blocks with the device in
		 * its own ppoll (runner_block_begin): it is woken by the frame
		 * itself, one hand-off instead of two. After it leaves, the device
		 * stays with the application for a grace period (it is usually
		 * back in a wait by then), unless other threads wait without it.
		 */
		if (r->driver) {
			/* A driver that comes and goes (a stream) is checked on
			 * every grace period, longer each time it is found back
			 * in a wait; one that stays blocked (an idle server)
			 * costs no wakeup: its leaving kicks us. */
			r->parked = true;
			if (r->drive_end + r->drive_grace > now) {
				if (r->drive_check && now >= r->drive_check) {
					r->drive_checks++;
					if (r->drive_grace < RUNNER_DRIVE_GRACE_MAX_US)
						r->drive_grace *= 2;
				}
				if (!r->drive_check || now >= r->drive_check)
					r->drive_check = now + r->drive_grace;
				if (r->drive_check < at)
					at = r->drive_check;
			}
		} else if (r->drive_end + r->drive_grace > now && r->blocked == 0) {
			/* The application reads between its waits, or without
			 * waiting at all (a ping-pong on one CPU finds each
			 * request after writing its answer: runner_unlock):
			 * found still at it, it is checked on half as often
			 * too. */
			r->parked = true;
			if (r->drive_check && now >= r->drive_check) {
				r->drive_checks++;
				if (r->drive_grace < RUNNER_DRIVE_GRACE_MAX_US)
					r->drive_grace *= 2;
			}
			r->drive_check = r->drive_end + r->drive_grace;
			if (r->drive_check < at)
				at = r->drive_check;
		} else {
			/* No driver, or gone past its grace: the device is ours. */
			r->drive_grace = RUNNER_DRIVE_GRACE_US;
			r->drive_check = 0;
		}
		/* Another thread is reading the device: it kicks us when done
		 * (rx_missed); polling the device meanwhile would spin. */
		if (r->rx_yield) {
			r->rx_yield = false;
			r->parked = true;
		}
		r->sleep_until = at;
		if (at != STACK_NEVER) {
			uint64_t d = at > now ? at - now : 0;

			/* ppoll refuses absurd timeouts: wake at least once a minute. */
			if (d > RUNNER_MAX_SLEEP_US)
				d = RUNNER_MAX_SLEEP_US;

			ts.tv_sec = (time_t)(d / 1000000u);
			ts.tv_nsec = (long)(d % 1000000u) * 1000;
			tsp = &ts;
		}
		fds[0].fd = r->dev_dead || r->parked ? -1 : tapfd;
		fds[0].events = POLLIN;
		fds[0].revents = 0;
		fds[1].fd = r->efd;
		fds[1].events = POLLIN;
		fds[1].revents = 0;
		if (r->in_proc && r->owner_fd >= 0) {
			fds[2 + nrelay + nctl] = (struct pollfd){ .fd = r->owner_fd, .events = POLLIN };
			nown = 1;
		}
		stack_unlock(r->lock);

		unwatched = fds[0].fd < 0;
		rc = sys_ppoll(fds, 2 + nrelay + nctl + nown, tsp, NULL);
		/* Reads from now on, while this thread waits for the lock,
		 * hold up the frames it woke for. */
		woke_reads = stack_reads(r->s);
		if (rc > 0 && (fds[1].revents & POLLIN)) {
			uint64_t v;

			/* Before the lock: a kick asks for the look below, which follows. */
			sys_read(r->efd, &v, sizeof(v));
		}
		if (relays)
			relay_io(&r->relays, fds + 2, rc > 0 ? nrelay : 0);
		ctl_io(r->ctl, fds + 2 + nrelay, rc > 0 ? nctl : 0, runner_now());

		runner_relock(r);
		r->sleep_until = 0;     /* awake: a kick now would be redundant but harmless */
		r->parked = false;
		if (nown && rc > 0 && fds[2 + nrelay + nctl].revents && r->owner_fd >= 0)
			runner_orphaned(r);
		if (rc < 0 && rc != -EINTR) {
			log_error("stack thread: ppoll failed: %s", strerror((int)-rc));
			break;
		}
		if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL) && !(fds[0].revents & POLLIN)) {
			log_error("device %s went away; no more frames are read", r->dev->name);
			r->dev_dead = true;
		}
		if (fds[0].revents & POLLIN)
			runner_receive(r, woke_reads);
	}
	stack_unlock(r->lock);
	return NULL;
}

/* The key for ISNs, SYN cookies and port choice: from getrandom(), else /dev/urandom. */
static int fill_secret(uint8_t *buf, size_t n)
{
	size_t got = 0;
	long rc, fd;

	while (got < n) {
		rc = sys_getrandom(buf + got, n - got, 0);
		if (rc == -EINTR)
			continue;
		if (rc <= 0)
			break;
		got += (size_t)rc;
	}
	if (got == n)
		return 0;
	fd = sys_openat(AT_FDCWD, "/dev/urandom", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	while (got < n) {
		rc = sys_read((int)fd, buf + got, n - got);
		if (rc == -EINTR)
			continue;
		if (rc <= 0)
			break;
		got += (size_t)rc;
	}
	sys_close((int)fd);
	return got == n ? 0 : -EIO;
}

/*
 * The device chain from the settings (netdev.h): the TAP, then pcap next to
 * it, the fault link, and trace next to the stack. 0, or -errno after
 * logging one line.
 */
/* ctl_handover_ask's meanwhile: the namespace's sysctls, read while the
 * old stack builds its answer (some 25 files under /proc/sys, about as
 * long as that answer takes). */
static void runner_read_kernel(void *arg)
{
	struct host_config *c = arg;

	if (c->kernel_root) {
		host_config_kernel(c, c->kernel_root);
		c->kernel_root = NULL;
	}
}

static int runner_open_dev(struct runner *r, struct host_config *c)
{
	struct tap_config tc;
	struct netdev *d;
	char err[512];
	int rc;

	memset(&tc, 0, sizeof(tc));
	snprintf(tc.name, sizeof(tc.name), "%s", c->tap);
	/* Offloads join and cut segments in the kernel: with the fault link on,
	 * frames stay MTU-sized so faults hit them as they would be on a wire. */
	tc.offload = c->offload && !c->faults.enabled;
	tc.complete_partial = c->pcap[0] != 0;
	tc.addr = c->stack.addr;
	tc.prefix_len = c->stack.prefix_len;
	tc.gateway = c->stack.gateway;
	/* PSTACK_QUEUES, by default one queue per CPU (at most 4), but one on
	 * two CPUs or fewer: there a second queue's writer finds no idle CPU
	 * (the peer's kernel keeps the other one busy) and measured no gain
	 * (README Performance). A wrapper (pcap, the fault link, trace) writes
	 * through one queue: one. */
	tc.queues_asked = c->queues != 0;
	if (c->pcap[0] || c->faults.enabled || c->log_level >= LOG_TRACE)
		tc.queues = 1;
	else if (c->queues)
		tc.queues = c->queues;
	else {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		tc.queues = cpus <= 2 ? 1 : cpus > HOST_QUEUES_DEFAULT_MAX ? HOST_QUEUES_DEFAULT_MAX : (unsigned)cpus;
	}
	/* A stack that outlived its program (a keeper, the stack process of a
	 * program killed a moment ago) lets go of the device once its closes
	 * are done: a program started right after waits for that, a while. */
	/* Counted in real time: a handover's answer is waited for within it. */
	uint64_t start = runner_now();
	unsigned limit = RUNNER_BUSY_WAIT_MS, told = 0;
	bool said = false;

	for (unsigned waited = 0;; waited = (unsigned)((runner_now() - start) / 1000u)) {
		struct timespec step = { 0, RUNNER_BUSY_STEP_MS * 1000000L };
		unsigned hold_ms = 0;

		if (!r->tw_recs) {
			/* A stack that outlived its program with only TIME_WAIT
			 * left hands the device over at once, and its
			 * connections with it (ctl.h). Asked before trying the
			 * device: a probe of a multi-queue device attaches a
			 * queue and detaches it again, half a millisecond. */
			uint64_t t0 = runner_now();
			int qfds[CTL_HAND_FDS_MAX];
			unsigned nq = 0;
			long n = ctl_handover_ask(tc.name, runner_read_kernel, c, &r->tw_recs, qfds, &nq, &r->arp,
						  waited < limit ? limit - waited : 0, &hold_ms);

			if (n >= 0) {
				r->tw_n = n;
				log_debug("%s: handed over by the stack that held it, with %ld connection(s) in "
					  "TIME_WAIT or FIN_WAIT_2%s, in %llu us", tc.name, n,
					  nq ? " and its queues" : "", (unsigned long long)(runner_now() - t0));
			}
			/* Its queues, when they are what this stack's settings
			 * want; else they are closed, and the device opened. */
			if (nq && tap_adopt(&tc, qfds, nq, &r->dev) == 0) {
				rc = 0;
				break;
			}
		}
		if (hold_ms) {
			/* A stack of ours finishing its program's closes: it
			 * lets go by then at the latest (a second more for its
			 * exit), or hands over once only TIME_WAIT is left. */
			uint64_t until = (uint64_t)waited + hold_ms + 1000u;

			if (until > RUNNER_BUSY_WAIT_MAX_MS)
				until = RUNNER_BUSY_WAIT_MAX_MS;
			if (until > limit)
				limit = (unsigned)until;
			if (!told)
				log_debug("%s: held by a stack that finishes its closes within %u ms; waiting for it",
					  tc.name, hold_ms);
			told = hold_ms;
		}
		rc = tap_open(&tc, &r->dev, err, sizeof(err));
		if (rc != -EBUSY || waited >= limit)
			break;
		if (!said)
			log_debug("%s: busy; waiting up to %u ms for its holder to let go", tc.name, limit);
		said = true;
		(void)SYSC(SYS_nanosleep, &step, NULL);
	}
	if (rc) {
		log_error("%s", err);
		return rc;
	}
	if (c->pcap[0]) {
		d = pcap_dev_new(r->dev, c->pcap);
		if (d)
			r->dev = d;
		else
			log_warn("cannot open PSTACK_PCAP '%s': %s; continuing without a capture", c->pcap,
				 strerror(errno));
	}
	if (c->faults.enabled) {
		if (!(d = fault_dev_new(r->dev, &c->faults)))
			goto nomem;
		r->dev = d;
	}
	if (c->log_level >= LOG_TRACE) {
		if (!(d = trace_dev_new(r->dev)))
			goto nomem;
		r->dev = d;
	}
	return 0;
nomem:
	log_error("cannot create the stack on %s: out of memory", r->dev->name);
	return -ENOMEM;
}

/* The stack process's life (runner_proc_run): the thread's loop; then,
 * stopped, back to the thread; orphaned, to its end here. */
static int runner_proc_entry(void *arg)
{
	struct runner *r = arg;
	bool handed;

	(void)prctl(PR_SET_NAME, "pstack", 0, 0, 0);
	/* The C library's allocator state for this thread pointer (an arena
	 * of its own: an mmap, munmaps and an mprotect) made now, alongside
	 * the program: left to the first malloc, under the lock, it held the
	 * program's first connection up behind it. */
	{
		void *volatile warm = malloc(1);

		free(warm);
	}
	stack_lock(r->lock);
	r->in_proc = true;
	log_debug("stack process (pid %d) runs the stack", (int)SYSC(SYS_getpid));
	stack_unlock(r->lock);
	runner_thread(r);
	if (r->orphan) {
		stack_lock(r->lock);
		log_debug("%s (pid %d): done: %u relay(s) left, %zu connection(s) closing, %zu in FIN_WAIT_2 or TIME_WAIT%s",
			  r->lingering ? "stack process" : "keeper", (int)SYSC(SYS_getpid), relay_count(&r->relays),
			  tcp_pending_close(r->s), tcp_after_fin(r->s),
			  r->dev_dead ? "; the device is gone" : ctl_handing_over(r->ctl) ? "; handed over" : "");
		stack_unlock(r->lock);
		/* The program's threads are gone (its pidfd said so), a kick of
		 * theirs perhaps midway (runner_unlock's kickers: a thread
		 * killed between the count's two steps leaves it above 0).
		 * Everything is closed and flushed; the memory goes with the
		 * process, now, r included: freeing r here, TSan took for a race
		 * with the program's last steps, whose end it cannot see (an
		 * acquire of kickers did not order them for it). */
		handed = ctl_handing_over(r->ctl);
		runner_end(r, false);
		if (handed) {
			/* The exit tears down the program's address space, the
			 * last user of which this process is: about a millisecond
			 * in the kernel, where (PREEMPT_NONE kernels) even
			 * SCHED_IDLE is not preempted between its resched points,
			 * so that the next program's start, a few hundred µs
			 * behind the answer, waited behind it on its CPU (its
			 * stack thread's first run 0.6 ms late, measured). Later,
			 * at SCHED_IDLE, it finds the next program past its start.
			 * A choice of when, not a wait for anything. */
			struct timespec d = { 0, RUNNER_HANDED_EXIT_DELAY_US * 1000L };

			(void)SYSC(SYS_nanosleep, &d, NULL);
		}
		for (;;)
			(void)SYSC(SYS_exit_group, 0);
	}
	stack_lock(r->lock);
	r->in_proc = false;
	stack_unlock(r->lock);
	return 0;
}

/*
 * In the stack thread: the loop goes to a process of its own that shares
 * everything with the program but its death (CLONE_VM and CLONE_FILES
 * without CLONE_THREAD: a SIGKILL of the program ends its threads, not this
 * process), on this thread's stack below the part the thread keeps, with
 * its thread pointer (the C library's thread state: this thread only waits
 * meanwhile, touching none of it: no sanitizer instrumentation here). The
 * thread waits for the process's end and reaps it; a process that died of
 * a signal (a crash in the stack) takes the program with it, as a crash in
 * the stack thread does. 0, or -1 when no process could be made (the
 * thread runs the loop itself).
 */
static RUNNER_NO_TSAN int runner_proc_run(struct runner *r)
{
	char here;
	uintptr_t top = ((uintptr_t)&here - RUNNER_PROC_GAP) & ~(uintptr_t)63;
	siginfo_t si;
	pid_t v;
	int pid;

	/* Started on its creator's CPU alone (runner_spawn): the program's
	 * CPUs again, for the thread and the process it makes, which the
	 * kernel then places where it likes (not behind the program). */
	if (r->spawn_pinned)
		(void)SYSC(SYS_sched_setaffinity, 0, sizeof(r->spawn_cpus), &r->spawn_cpus);
	pid = __clone(runner_proc_entry, (void *)top,
		      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
		      r, &r->proc_tid, NULL, &r->proc_tid);
	r->spawned = pid < 0 ? -1 : 1;
	(void)SYSC(SYS_futex, &r->spawned, FUTEX_WAKE, 1, NULL, NULL, 0);
	if (pid < 0)
		return -1;
	/* The kernel clears proc_tid and wakes it (a shared futex) as the process ends. */
	while ((v = r->proc_tid) != 0)
		(void)SYSC(SYS_futex, &r->proc_tid, FUTEX_WAIT, v, NULL, NULL, 0);
	memset(&si, 0, sizeof(si));
	while (SYSC(SYS_waitid, P_PID, pid, &si, WEXITED | __WALL, NULL) == -EINTR)
		;
	if (si.si_pid == pid && (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED))
		(void)SYSC(SYS_kill, r->owner, si.si_status);
	return 0;
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;

	if (runner_proc_run(r) < 0)
		runner_thread(r);
	return NULL;
}

/* The stack thread, with every signal blocked (it inherits its creator's
 * mask: blocked around the creation). 0 or -errno. */
static int runner_spawn(struct runner *r)
{
	sigset_t all, old;
	pthread_attr_t a;
	int rc;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, RUNNER_STACK_SIZE);
	/*
	 * The thread starts on this thread's CPU, which the wait below leaves
	 * to it at once. Placed by the kernel (on the idlest CPU), its first
	 * run waited for that CPU to wake or to be free, and the program with
	 * it: the spawn took 0.48 to 0.79 ms (median 0.70) for a curl with a
	 * loaded machine, 0.29 to 0.63 ms (median 0.48) so (PSTACK_LOG=debug
	 * timings, 12 runs each). It takes the program's CPUs back before it
	 * makes the process (runner_proc_run).
	 */
	r->spawn_pinned = false;
	{
		int cpu = sched_getcpu();
		cpu_set_t here;

		if (cpu >= 0 && sched_getaffinity(0, sizeof(r->spawn_cpus), &r->spawn_cpus) == 0 &&
		    CPU_COUNT(&r->spawn_cpus) > 1 && CPU_ISSET(cpu, &r->spawn_cpus)) {
			CPU_ZERO(&here);
			CPU_SET(cpu, &here);
			r->spawn_pinned = pthread_attr_setaffinity_np(&a, sizeof(here), &here) == 0;
		}
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r->spawned = 0;
	rc = pthread_create(&r->thread, &a, runner_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	/* The stack process exists before the program goes on: a program
	 * killed a moment after its first socket call still has its stack
	 * carried on (the process may not have run yet: it polls the pidfd
	 * opened here, which sees the death whenever it looks). */
	while (rc == 0 && r->spawned == 0)
		(void)SYSC(SYS_futex, &r->spawned, FUTEX_WAIT, 0, NULL, NULL, 0);
	return -rc;
}

void runner_follow_creds(struct runner *r)
{
	struct runner_creds c;
	long n;

	/* Read before the lock: system calls. */
	(void)getresuid(&c.uid[0], &c.uid[1], &c.uid[2]);
	(void)getresgid(&c.gid[0], &c.gid[1], &c.gid[2]);
	n = getgroups(RUNNER_MAX_GROUPS, c.groups);
	c.ngroups = n < 0 ? -1 : (int)n;
	stack_lock(r->lock);
	/* The process may exist and not have run yet (in_proc unset): its
	 * loop takes pending credentials before anything else. */
	if (r->spawned != 1 || r->proc_tid == 0) {
		stack_unlock(r->lock);
		return;
	}
	r->creds = c;
	atomic_store_explicit(&r->creds_pending, 1, memory_order_release);
	r->kick_pending = true;
	runner_unlock(r);
	/* Until the stack process has them: bounded (it may be busy). */
	for (unsigned i = 0; i < 10000 && atomic_load_explicit(&r->creds_pending, memory_order_acquire); i++) {
		struct timespec t = { 0, 100000 };

		(void)SYSC(SYS_nanosleep, &t, NULL);
	}
}

void runner_set_orphan(struct runner *r, void (*fn)(struct runner *r, void *ctx), void *ctx)
{
	r->orphan_fn = fn;
	r->orphan_ctx = ctx;
}

/* The user's secret (ctl_user_secret), or else one of the stack's own
 * (its random seed): ISNs and timestamps then start afresh. */
static void runner_load_secret(struct host_config *c)
{
	uint32_t uid = (uint32_t)SYSC(SYS_geteuid);
	char dir[256], err[512];
	int rc;

	rc = ctl_default_dir(dir, sizeof(dir), secure_getenv("XDG_RUNTIME_DIR"), uid);
	if (!rc)
		rc = ctl_prepare_dir(dir, uid, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "XDG_RUNTIME_DIR is too long");
	if (!rc) {
		rc = ctl_user_secret(dir, uid, c->stack.secret, sizeof(c->stack.secret), c->stack.seed);
		if (rc)
			snprintf(err, sizeof(err), "%s/secret: %s", dir, strerror(-rc));
	}
	if (rc) {
		log_debug("the stack's secret is its own (%s): a peer's TIME_WAIT may refuse its first SYNs", err);
		memcpy(c->stack.secret, c->stack.seed, sizeof(c->stack.secret));
	}
}

/*
 * The blocks receive buffers are carved from (pkb.h, PKB_RX_SLAB): mapped
 * at their own size's alignment and marked for transparent huge pages, so
 * that where the kernel gives them (THP "always" or "madvise") a block is
 * one page fault, not 512. A fresh process's receive queue is fresh memory:
 * curl downloading 64 MiB from python's http.server had its queue reach 6.6
 * MiB, 1,100 to 1,800 page faults more than curl on the kernel's stack, at
 * 40 to 60 us each on this VM (a trap to the hypervisor). Where the kernel
 * has no huge page to give, the block is ordinary pages, touched as its
 * buffers are. The process's first block is ordinary pages too: it holds
 * the reader's buffer for good, and as a huge page it added 2 MiB to the
 * RSS of every preloaded program (a listening python: 14.8 -> 16.9 MiB).
 */
static void *runner_slab_map(size_t size)
{
	static atomic_uint maps;
	uint8_t *p = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + size - 1) & ~(uintptr_t)(size - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + size, (size_t)(p + 2 * size - (a + size)));
	/* Not the process's first block, which holds the reader's own buffer
	 * for good: a program that never queues much (every short-lived one)
	 * would carry a whole huge page, 2 MiB of RSS, for a few buffers. */
	if (atomic_fetch_add_explicit(&maps, 1, memory_order_relaxed))
		(void)madvise(a, size, MADV_HUGEPAGE);   /* EINVAL without THP: ordinary pages */
	return a;
}

static void runner_slab_unmap(void *p, size_t size)
{
	munmap(p, size);
}

int runner_start(const struct host_config *cfg, struct stack_lock *lock, struct runner **out)
{
	struct host_config c = *cfg;
	struct stack_link link;
	char n[16], g[16];
	struct runner *r;
	pthread_condattr_t ca;
	uint32_t mask;
	int rc;

	*out = NULL;
	log_set_level(c.log_level);
	logsink_stderr();
	if (c.log_file[0])
		logsink_file(c.log_file);

	rc = fill_secret(c.stack.seed, sizeof(c.stack.seed));
	if (rc) {
		log_error("cannot read random bytes for the stack's secret: %s", strerror(-rc));
		return rc;
	}
	runner_load_secret(&c);

	pkb_rx_slab_ops(runner_slab_map, runner_slab_unmap);
	r = calloc(1, sizeof(*r));
	if (!r || !(r->rxbuf = pkb_rx_alloc(RUNNER_RX_BUF)) || !(r->pfds = calloc(3 + CTL_NFDS, sizeof(*r->pfds)))) {
		log_error("cannot start the stack: out of memory");
		if (r)
			pkb_rx_put(r->rxbuf);
		free(r);
		return -ENOMEM;
	}
	r->efd = -1;
	r->spin_us = c.spin_us;
	txq_set_init(&r->txq, 1);
	relay_set_init(&r->relays, runner_relay_kick, runner_relay_woke, r);
	r->drive_grace = RUNNER_DRIVE_GRACE_US;
	r->pfd_cap = 3 + CTL_NFDS;
	r->lock = lock;
	r->owner = (pid_t)SYSC(SYS_getpid);
	r->owner_fd = -1;
	rc = (int)SYSC(SYS_pidfd_open, r->owner, 0);
	if (rc >= 0)
		r->owner_fd = sys_fd_hide(rc);
	r->linger_us = c.linger_us;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->progress, &ca);
	pthread_condattr_destroy(&ca);

	rc = runner_open_dev(r, &c);
	if (rc)
		goto fail;
	runner_read_kernel(&c);     /* no handover: now */
	memset(&link, 0, sizeof(link));
	memcpy(link.name, r->dev->name, sizeof(link.name));
	link.mtu = r->dev->mtu;
	link.tso_max = r->dev->tso_max;
	/* Zero-copy transmit where the outermost device takes frames in
	 * pieces (the TAP itself: no wrapper in the chain). */
	link.tx_ext = r->dev->tso_max && r->dev->ops->transmit_ext;
	link.rx_csum = STACK_CSUM_ALL;
	txq_set_init(&r->txq, r->dev->tx_queues);
	link.output = txq_set_output;
	link.ctx = &r->txq;
	r->s = stack_create(&c.stack, &link, runner_now());
	if (r->s) {
		struct timespec wall;

		/* The time of day, for ICMP timestamp replies. */
		clock_gettime(CLOCK_REALTIME, &wall);
		stack_set_wall_clock(r->s, (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000u,
				     runner_now());
	}
	if (!r->s) {
		log_error("cannot create the stack on %s: out of memory", r->dev->name);
		rc = -ENOMEM;
		goto fail;
	}
	/* Kept as records until something looks at their ports: a program
	 * started right after many others pays for none it does not touch. */
	if (r->tw_recs)
		(void)tcp_tw_adopt(r->s, r->tw_recs, (size_t)r->tw_n, runner_now());
	free(r->tw_recs);
	r->tw_recs = NULL;
	mask = c.stack.prefix_len ? ~0u << (32 - c.stack.prefix_len) : 0;
	ip4_ntoa(c.stack.addr & mask, n);
	if (c.stack.gateway)
		log_debug("route registered: %s/%u on %s, default via %s", n, c.stack.prefix_len, r->dev->name,
			  ip4_ntoa(c.stack.gateway, g));
	else
		log_debug("route registered: %s/%u on %s, no default route", n, c.stack.prefix_len, r->dev->name);
	/* The announcement waits in the queue for the first unlock: the caller
	 * may hold the lock, and no device write runs under it. */
	stack_up(r->s, runner_now());
	/* The old stack's ARP cache, when it had this address and MAC: the
	 * kernel's side knows us then, and the gateway's request (which
	 * teaches it our address) is not needed. */
	if (r->arp.n && r->arp.addr == c.stack.addr && memcmp(r->arp.mac, c.stack.mac, 6) == 0)
		stack_arp_import(r->s, r->arp.rec, r->arp.n, runner_now());
	stack_resolve_gateway(r->s, runner_now());

	rc = (int)sys_eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rc < 0) {
		log_error("cannot start the stack: eventfd: %s", strerror(-rc));
		goto fail;
	}
	r->efd = sys_fd_hide(rc);
	r->sleep_until = STACK_NEVER;
	r->ctl_host.dev = r->dev->name;
	r->ctl_host.started = runner_now();
	/* PSTACK_STACK: processes that join get relays (ctl.h). */
	memcpy(r->ctl_host.stack_name, c.stack_name, sizeof(r->ctl_host.stack_name));
	r->ctl_host.rset = &r->relays;
	ctl_start(&r->ctl_host, &r->ctl);

	rc = runner_spawn(r);
	if (rc) {
		log_error("cannot start the stack thread: %s", strerror(-rc));
		goto fail;
	}
	log_debug("stack thread started");
	stack_lock_check(lock);
	*out = r;
	return 0;

fail:
	if (r->owner_fd >= 0) {
		sys_fd_forget(r->owner_fd);
		sys_close(r->owner_fd);
	}
	ctl_close(r->ctl);
	stack_destroy(r->s);
	txq_set_clear(&r->txq);
	netdev_destroy(r->dev);
	if (r->efd >= 0) {
		sys_fd_forget(r->efd);
		sys_close(r->efd);
	}
	pthread_cond_destroy(&r->progress);
	free(r->tw_recs);
	pkb_rx_put(r->rxbuf);
	free(r->pfds);
	free(r);
	return rc;
}

/*
 * With the lock held, the stack thread stopped: waits for application
 * threads that entered the runner before the host forgot it (or before
 * stopping was set) and may still be inside with the lock let go: reading
 * the device (app_reading: none starts once stopping is set), writing
 * frames (tx_busy), or about to kick (kickers).
 */
static void runner_wait_apps(struct runner *r)
{
	while (r->app_reading || r->tx_busy) {
		uint64_t until = runner_now() + 1000;
		struct timespec ts = { (time_t)(until / 1000000u), (long)(until % 1000000u) * 1000 };

		r->stop_waiters++;
		stack_lock_wait(r->lock, &r->progress, &ts);
		r->stop_waiters--;
	}
	/* A pump holds relays while it waits for the lock (its runner_tx):
	 * waited for with the lock let go. */
	while (relay_pumping()) {
		uint64_t until = runner_now() + 1000;
		struct timespec ts = { (time_t)(until / 1000000u), (long)(until % 1000000u) * 1000 };

		r->stop_waiters++;
		stack_lock_wait(r->lock, &r->progress, &ts);
		r->stop_waiters--;
	}
	while (atomic_load_explicit(&r->kickers, memory_order_acquire))
		sched_yield();      /* one eventfd write (or a pump's writes) away; they need no lock */
}

void runner_stop(struct runner *r, uint64_t linger_us)
{
	uint64_t deadline = runner_now() + linger_us;
	bool proc;

	if (!r)
		return;
	/* Let the thread finish what connections still owe their peers (FIN, queued data). */
	stack_lock(r->lock);
	/* The device goes back to the thread: a thread still blocked in a
	 * wait (the shim has stopped letting it drive) must not keep it. */
	r->stopping = true;
	relay_set_stop(&r->relays);
	r->driver = false;
	r->drive_end = 0;
	r->drive_grace = RUNNER_DRIVE_GRACE_US;
	r->drive_check = 0;
	r->sleep_until = 0;
	stack_unlock(r->lock);
	runner_kick(r);
	stack_lock(r->lock);
	/*
	 * The stack process, once it exists (it may not have run yet: the
	 * program drove every frame of a short life itself), finishes what
	 * the connections owe after the program is gone, as the kernel does
	 * after a process's exit (which never waits for a close): queued data
	 * then FIN, the peer's ACK of it, a relay's last bytes; then TIME_WAIT.
	 * An exit waited for them here, up to PSTACK_LINGER_MS when the peer
	 * stopped answering (10 s, where the kernel's program exits at once).
	 * Without it (clone refused), as before: the program waits for them.
	 */
	proc = r->owner_fd >= 0 && (r->in_proc || (r->spawned == 1 && r->proc_tid != 0));
	while (!proc && !r->dev_dead && (tcp_pending_close(r->s) > 0 || relay_set_busy(&r->relays))) {
		uint64_t now = runner_now(), until;
		struct timespec ts;

		if (now >= deadline)
			break;
		/* Wake at least every 10 ms, in case a state change came without a wakeup. */
		until = deadline - now > 10000 ? now + 10000 : deadline;
		ts.tv_sec = (time_t)(until / 1000000u);
		ts.tv_nsec = (long)(until % 1000000u) * 1000;
		r->stop_waiters++;
		stack_lock_wait(r->lock, &r->progress, &ts);
		r->stop_waiters--;
	}
	/*
	 * What is left (closes to finish, then FIN_WAIT_2 or TIME_WAIT: this
	 * side closed first, as curl and most clients do) the program does not
	 * wait for. The stack process carries the stack on once the program
	 * is gone (runner_orphaned: as a keeper, until linger_end), answering
	 * as the kernel's TIME_WAIT does, and hands it over to the next
	 * program that needs the device once only TIME_WAIT is left (ctl.h).
	 * With nothing left, or without a stack process, the stack stops now.
	 */
	if (proc && !r->dev_dead && runner_now() < deadline &&
	    (tcp_pending_close(r->s) > 0 || relay_set_busy(&r->relays) || tcp_tw_only(r->s))) {
		r->lingering = true;
		r->linger_end = deadline;
		r->closes_at_exit = tcp_pending_close(r->s) > 0 || relay_set_busy(&r->relays);
		runner_log_stats(r);
		log_debug("exit: the stack process finishes %zu close(s) and %u relay(s), and waits out %zu "
			  "connection(s) in FIN_WAIT_2 or TIME_WAIT",
			  tcp_pending_close(r->s), relay_count(&r->relays), tcp_after_fin(r->s));
		/* Counted as runner_unlock's kicks are: the stack process
		 * frees r once the program is gone, after this count's last
		 * release (runner_proc_entry). */
		atomic_fetch_add_explicit(&r->kickers, 1, memory_order_relaxed);
		stack_unlock(r->lock);
		runner_kick(r);
		atomic_fetch_sub_explicit(&r->kickers, 1, memory_order_release);
		return;
	}
	if (tcp_pending_close(r->s) > 0)
		log_debug("stopping with %zu connection(s) still closing", tcp_pending_close(r->s));
	r->stop = true;
	stack_unlock(r->lock);
	runner_kick(r);
	pthread_join(r->thread, NULL);

	stack_lock(r->lock);
	runner_wait_apps(r);
	stack_unlock(r->lock);
	runner_free(r);
}

/* The counters (PSTACK_LOG=debug), at the program's exit. */
static void runner_log_stats(struct runner *r)
{
	runner_dev_drops(r);
	stack_log_stats(r->s, LOG_DEBUG);
	log_debug("busy-poll: %llu frames read by waiting application threads (PSTACK_SPIN_US=%u)",
		  (unsigned long long)r->spin_frames, r->spin_us);
	log_debug("%llu frames read by application threads blocked in a wait; %llu checks on them by the stack thread",
		  (unsigned long long)r->drive_frames, (unsigned long long)r->drive_checks);
	log_debug("%llu reads of an empty device by threads woken from a wait; %llu frames and %llu empty reads after a write",
		  (unsigned long long)r->drive_empty, (unsigned long long)r->owed_frames,
		  (unsigned long long)r->owed_empty);
	log_debug("relays: %llu times pumped by application threads", (unsigned long long)r->relays.pumped);
	for (unsigned i = 0; i < r->txq.n; i++)
		log_debug("device queue %u: %llu frames written in %llu lists, %llu bytes", i,
			  (unsigned long long)r->tx_frames[i], (unsigned long long)r->tx_lists[i],
			  (unsigned long long)r->tx_bytes[i]);
	log_debug("%llu frames written by the stack thread", (unsigned long long)r->tx_thread_frames);
}

/* The thread is gone and no application thread is inside: what is left is
 * the caller's alone. Sends what is queued and frees everything. */
static void runner_free(struct runner *r)
{
	runner_end(r, true);
}

/* Closes, flushes and frees what r holds; memory: r's own allocations too
 * (false: a process that ends at once). */
static void runner_end(struct runner *r, bool memory)
{
	bool handover = ctl_handing_over(r->ctl);

	stack_lock_check(NULL);
	relay_set_destroy(&r->relays);
	if (!handover)
		ctl_close(r->ctl);
	txq_set_flush(&r->txq, r->dev, r->s, runner_now());
	/* A stack that outlived its program's exit logged them then, and
	 * again now when it had closes to finish (their memory is freed now). */
	if (!r->lingering || r->closes_at_exit)
		runner_log_stats(r);
	if (handover) {
		/* The next stack waits for the device: it goes first, then the
		 * answer that says it is free, and the rest after; or the answer
		 * gives the device's queues, and they are closed after it (the
		 * device stays attached through the answer's fds). */
		struct sched_param idle = { 0 };

		if (!ctl_handover_gives_fds(r->ctl)) {
			netdev_destroy(r->dev);
			r->dev = NULL;
		}
		/* The answer first, at this process's own priority: at
		 * SCHED_IDLE it waited for a moment when nothing else wanted
		 * the CPU (under load, 0.9 ms at the median and up to 24 ms
		 * for the next program's start, measured). */
		ctl_flush(r->ctl);
		/* What is left of this process is its end: the exit tears down
		 * the program's whole address space (a millisecond and more,
		 * measured), and the next program, woken by the answer on this
		 * CPU, waited behind it. It goes first now. */
		(void)SYSC(SYS_sched_setscheduler, 0, SCHED_IDLE, &idle);
		/* A lower policy of its own does not make the kernel switch
		 * (until the next tick, milliseconds): the next program,
		 * runnable since the answer woke it, runs now. */
		(void)SYSC(SYS_sched_yield);
		ctl_close(r->ctl);
	}
	stack_destroy(r->s);
	netdev_destroy(r->dev);
	sys_fd_forget(r->efd);
	sys_close(r->efd);
	if (r->owner_fd >= 0) {
		sys_fd_forget(r->owner_fd);
		sys_close(r->owner_fd);
	}
	if (memory) {
		pthread_cond_destroy(&r->progress);
		pkb_rx_put(r->rxbuf);
		pkb_rx_put(r->spinbuf);
		free(r->pfds);
		free(r);
	}
	log_debug("stack stopped");
}

/* ---- the keeper (stack/host/keeper.h) ---- */

bool runner_relays_left(struct runner *r)
{
	return relay_set_busy(&r->relays);
}

bool runner_relays_held(struct runner *r)
{
	return relay_set_held(&r->relays);
}

void runner_pause(struct runner *r)
{
	/* As runner_stop's first steps, without the drain: the relays keep
	 * serving and the connections stay as they are. */
	r->stop = true;
	r->stopping = true;
	r->driver = false;
	r->drive_end = 0;
	r->drive_grace = RUNNER_DRIVE_GRACE_US;
	r->drive_check = 0;
	r->sleep_until = 0;
	stack_unlock(r->lock);
	runner_kick(r);
	pthread_join(r->thread, NULL);
	stack_lock(r->lock);
	runner_wait_apps(r);
}

int runner_resume(struct runner *r)
{
	int rc;

	r->stop = false;
	r->stopping = false;
	rc = runner_spawn(r);
	if (rc)
		log_error("cannot restart the stack thread: %s; the stack's connections stop", strerror(-rc));
	return rc;
}

unsigned runner_fds(struct runner *r, int *fds, unsigned max)
{
	struct netdev *tap = r->dev;
	int qfds[TAP_QUEUES_MAX + 1], pollfd = netdev_pollfd(r->dev);
	unsigned n = 0, nq;

	while (tap->lower)
		tap = tap->lower;
	if (n < max)
		fds[n] = pollfd;
	n++;
	if (n < max)
		fds[n] = r->efd;
	n++;
	n += relay_set_fds(&r->relays, max > n ? fds + n : NULL, max > n ? max - n : 0);
	/* A multi-queue TAP's queues, after the relays (the first is the
	 * pollfd's epoll fd, listed above). */
	nq = tap_fds(tap, qfds, TAP_QUEUES_MAX + 1);
	for (unsigned i = 0; i < nq && i < TAP_QUEUES_MAX + 1; i++)
		if (qfds[i] != pollfd) {
			if (n < max)
				fds[n] = qfds[i];
			n++;
		}
	return n;
}

void runner_release(struct runner *r)
{
	int fds[256];
	unsigned n = runner_fds(r, fds, 256);

	/* Only this process's copies go: no shutdown, no frame, nothing the
	 * keeper's copies would notice. */
	for (unsigned i = 0; i < n && i < 256; i++) {
		sys_fd_forget(fds[i]);
		sys_close(fds[i]);
	}
}

void runner_keep(struct runner *r, uint64_t linger_us)
{
	/* The process is the keeper's: one thread (this one), no application. */
	r->keeper = true;
	r->keep_linger = linger_us;
	r->keep_idle = 0;
	r->stop = false;
	r->thread = pthread_self();
	/* Whatever application threads were doing when the stack was forked
	 * (runner_keeper_request comes without runner_pause), none is here. */
	runner_forget_apps(r);
	/* Forked by a stack process (runner_keeper_asked): its wait on the
	 * program is not the keeper's. */
	if (r->owner_fd >= 0) {
		sys_fd_forget(r->owner_fd);
		sys_close(r->owner_fd);
		r->owner_fd = -1;
	}
	r->in_proc = false;
	log_debug("keeper (pid %d): carries the stack on for %u relay(s)", (int)getpid(),
		  relay_count(&r->relays));
	runner_thread(r);
	stack_lock(r->lock);
	log_debug("keeper (pid %d): done: %u relay(s) left, %zu connection(s) closing, %zu in FIN_WAIT_2 or TIME_WAIT%s",
		  (int)getpid(), relay_count(&r->relays), tcp_pending_close(r->s), tcp_after_fin(r->s),
		  r->dev_dead ? "; the device is gone" : ctl_handing_over(r->ctl) ? "; handed over" : "");
	stack_unlock(r->lock);
	runner_free(r);
}

bool runner_keeper_request(struct runner *r, int (*fn)(struct runner *r, void *ctx), void *ctx, uint64_t wait_us)
{
	int expect = 0;

	/* 4: taken, fn not set yet (the stack thread acts on 1 only). */
	if (!atomic_compare_exchange_strong(&r->keeper_req, &expect, 4))
		return false;   /* asked already (another thread's signal) */
	r->req_fn = fn;
	r->req_ctx = ctx;
	atomic_store_explicit(&r->keeper_req, 1, memory_order_release);
	runner_kick(r);
	for (uint64_t waited = 0; waited < wait_us; waited += 1000) {
		struct timespec ms = { 0, 1000000 };
		int v = atomic_load_explicit(&r->keeper_req, memory_order_acquire);

		if (v == 2 || v == 3)
			return v == 2;
		(void)SYSC(SYS_nanosleep, &ms, NULL);
	}
	return false;
}
