/*
 * The runner: a stack instance on a real device, with its background thread
 * (all signals blocked) that reads frames and runs timers. Every call into
 * the stack is serialised by the stack lock (stack/host/lock.h), which the
 * caller owns; the rules are in stack/CONCURRENCY.md.
 */
#ifndef PSTACK_SYS_RUNNER_H
#define PSTACK_SYS_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/core/stack.h"
#include "stack/dev/netdev.h"
#include "stack/host/config.h"

struct runner;
struct stack_lock;

/* CLOCK_MONOTONIC in microseconds: the `now` every stack call takes. */
uint64_t runner_now(void);

/* Opens the log file and the device chain named by cfg (the TAP, with pcap,
 * the fault link and trace as asked), creates the stack, starts the thread,
 * which serialises itself with lock (the caller's: it may hold it during the
 * call, and must keep it until runner_stop has returned). 0, or -errno after
 * printing one clear line. */
int runner_start(const struct host_config *cfg, struct stack_lock *lock, struct runner **out);
struct stack *runner_stack(struct runner *r);
/* The device chain (netdev.h), for diagnostics and tests: with the lock held. */
struct netdev *runner_dev(struct runner *r);
void runner_lock(struct runner *r);
/* Writes the frames made under the lock, lets go of it, and then wakes the
 * thread when the stack's next deadline moved earlier than the one it
 * sleeps towards (e.g. a send armed a timer) or a call below asked for it.
 * Every unlock of a caller that used the stack goes through here. */
void runner_unlock(struct runner *r);
/*
 * Busy-poll (PSTACK_SPIN_US): called with the lock held by an application
 * thread about to wait, reads what frames the device has ready (a batch at
 * most, never blocking, the lock released around each read) and processes
 * them as the thread would. The number of frames processed; 0 when none was
 * waiting or another application thread is polling already. Counted, and
 * the count logged at debug level when the runner stops.
 */
int runner_poll_once(struct runner *r);
/* With the lock held: whether the runner's thread sleeps without the device
 * (an application thread has it: busy-polling or blocked with it). Tests. */
bool runner_parked(struct runner *r);
/* With the lock held: the calling thread stops busy-polling and blocks. While
 * threads poll, the runner's thread leaves the device to them (it looks
 * again PSTACK_SPIN_US after the last poll): this gives it back at once
 * (the thread is kicked by runner_unlock). */
void runner_spin_stop(struct runner *r);
/*
 * An application thread is about to block in ppoll() (lock held, let go
 * before the ppoll): the device's fd to add to that ppoll, when this thread
 * may read the device itself (one thread at a time), else -1. Woken by a
 * frame, it calls runner_drive() with the lock held. Each begin has its end
 * (lock held), with whether it got the fd. While a thread drives, and for a
 * short grace after, the stack thread leaves the device alone (it still
 * runs the timers).
 */
int runner_block_begin(struct runner *r);
/* With the lock held, by the driver: reads a batch of frames without
 * blocking and processes them (as runner_poll_once does). How many. The
 * batch ends at the frame after which *enough (the caller's: set by the
 * wake-up that ends its wait, or true from the start when its other fds
 * ended it already) is true; what the device still holds is read
 * by the next runner_unlock of an application thread that writes a frame,
 * or by the next wait. */
int runner_drive(struct runner *r, const bool *enough);
void runner_block_end(struct runner *r, bool was_driver);
/*
 * Exposed sockets (stack/host/relay.h: relay_open, relay_expose,
 * relay_forget), lock held: the stack thread relays between fd and tcp (or
 * udp), and owns both. NULL when out of memory.
 */
struct tcp_conn;
struct udp_sock;
struct relay_cb;
void *runner_relay_open(struct runner *r, struct tcp_conn *tcp, struct udp_sock *udp, int fd, bool armed,
			const struct relay_cb *cb, void *ctx);
void runner_relay_expose(struct runner *r, void *relay);
void runner_relay_forget(struct runner *r, void *relay);
/* Lock held: a listener's relay owns lo, its loopback side (relay.h,
 * relay_listener_lo). */
void runner_relay_lo(struct runner *r, void *relay, int lo, int family);
/* The program wrote into an exposed socket's fd through an interposed call
 * (relay.h, a push). Lock held: whether this thread takes the relay's bytes
 * (then, without the lock, runner_relay_push_read, and with it again
 * runner_relay_push_send: the relay's bytes leave at runner_unlock). */
bool runner_relay_push_claim(struct runner *r, void *relay);
void runner_relay_push_read(void *relay);
void runner_relay_push_send(struct runner *r, void *relay);
/* Lock held: the bytes an exposed connection received after the program's
 * shutdown(SHUT_RD) of its fd (relay.h, relay_recv_kept). */
long runner_relay_recv_kept(void *relay, void *buf, size_t len, unsigned flags, uint64_t now);
long runner_relay_inq_kept(void *relay);
/* In a fork child (r the parent's, or NULL): the relays' fds are closed
 * (relay_fork_child; relay_fork_prepare and _parent go around the fork). */
void runner_fork_child(struct runner *r);
/* Waits (lock not held) until no TCP connection has a close to finish (nor
 * a relay its last bytes) or linger_us passed, stops the thread, waits for
 * application threads still inside the runner, and frees everything. The caller makes sure no thread
 * calls in any more (the shim's stack_running, the host's runner pointer).
 * When what is left then is TIME_WAIT or an orphan's FIN_WAIT_2 only, and
 * the loop runs in the stack process, it returns at once instead: that
 * process waits them out after the program's end (bounded by the same
 * linger_us), or hands them and the device over to the next stack on it
 * (stack/host/ctl.h, the handover), and frees everything itself. */
void runner_stop(struct runner *r, uint64_t linger_us);

/*
 * The stack outlives its process (stack/host/keeper.h: when the owner exits
 * or execs while relays serve fds that other processes may hold).
 *
 * runner_relays_left, lock held: relays are open.
 * runner_relays_held, lock held: a relay's program end is open somewhere
 * (relay_set_held: the exiting owner let go of its own copies first).
 * runner_pause, lock held (let go meanwhile, held again on return): stops
 * and joins the thread and waits for application threads inside the runner,
 * as runner_stop does, but drains nothing: the connections and relays stay
 * as they are, for a keeper (a fork of this process) or runner_resume.
 * runner_resume, lock held: a new thread after runner_pause (the exec it was
 * for failed). 0 or -errno.
 * runner_fds: the runner's own fds (the device's, its eventfd, the relays'),
 * up to max into fds; how many there are.
 * runner_release: the owner after the keeper took the stack: closes its
 * copies of runner_fds, nothing else (no frame, no shutdown; r is left).
 * runner_keep, in the keeper, lock not held: runs the thread's loop in the
 * calling thread until no relay is left and no connection has a close to
 * finish or is in FIN_WAIT_2 or TIME_WAIT, bounded by linger_us after the
 * last relay went, or until the device goes away; then frees everything
 * (runner_stop's end) and returns.
 */
bool runner_relays_left(struct runner *r);
bool runner_relays_held(struct runner *r);
void runner_pause(struct runner *r);
int runner_resume(struct runner *r);
unsigned runner_fds(struct runner *r, int *fds, unsigned max);
void runner_release(struct runner *r);
void runner_keep(struct runner *r, uint64_t linger_us);
/*
 * From a signal handler (async-signal-safe: atomics, an eventfd write, a
 * sleep): the process is about to die of a signal, its stack with it. The
 * stack thread calls fn(r, ctx) at its next turn, lock held (fn forks the
 * keeper: keeper_start); when fn returns 0 that thread never lets go of
 * the lock again, so no other thread of the dying process touches the stack
 * the keeper carries on. Waits for it up to wait_us (the handler's thread
 * may hold what fn needs: the stack lock, an allocator's lock). True when
 * fn returned 0 in time.
 */
/*
 * The host's share when the program died with the stack running (the stack
 * process saw it: stack/CONCURRENCY.md "the stack process"): fn(r, ctx)
 * runs there, lock held, before the process carries the stack on as a
 * keeper: the program's sockets closed as at its exit, its fds that are not
 * the stack's closed (keeper_adopt). Set once, after runner_start, lock held.
 */
void runner_set_orphan(struct runner *r, void (*fn)(struct runner *r, void *ctx), void *ctx);
/*
 * Lock not held: the program changed its user, group or supplementary
 * groups (setuid() and the like). The stack process shares the program's
 * memory: it must not keep more rights than the program has (a program that
 * drops root would otherwise share its memory with a root process). It takes
 * the program's current credentials before this returns (waits at most 1 s).
 */
void runner_follow_creds(struct runner *r);
bool runner_keeper_request(struct runner *r, int (*fn)(struct runner *r, void *ctx), void *ctx, uint64_t wait_us);

#endif
