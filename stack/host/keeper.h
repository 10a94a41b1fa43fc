/*
 * The keeper: a process that carries the stack on after the process that
 * owned it exits or execs (issue 14, "the stack outlives its processes").
 *
 * Exposed sockets (relay.h) have fds that other processes hold: a fork
 * child, or the program the owner exec'd (bash's `exec cat <&3`). Their
 * relays run in the owner's stack thread, which dies with the owner's
 * image. So when the owner goes while relays are open, it forks a keeper
 * first: a copy of the process (the whole stack, connections and relays
 * with it), detached (double fork, setsid: nobody waits for it; no fd of the
 * program's: a pipe it held would keep a shell pipeline waiting; its signal
 * dispositions reset, SIGINT, SIGHUP and SIGPIPE ignored), named
 * pstack-keeper, which runs the stack thread's loop in its one thread
 * (runner_keep) until the last relay is gone and the connections' closes
 * are done, bounded by PSTACK_LINGER_MS after the last relay; then it
 * releases the TAP and exits.
 *
 * At exec the owner may not be gone yet: execve can fail. The keeper then
 * waits on a gate, a close-on-exec pipe: end of file (the exec replaced the
 * owner's image, or the owner died) opens it; a byte written by the owner
 * (the exec failed: the owner resumes its stack) sends it away without
 * touching anything.
 *
 * The fork happens with the runner paused (runner_pause), the stack lock
 * held by the caller, and the C library's fork(): the program's atfork
 * handlers run (they keep allocators consistent in the child), the
 * library's own stand aside (the caller holds what they would take). See
 * stack/CONCURRENCY.md, "exit".
 */
#ifndef PSTACK_HOST_KEEPER_H
#define PSTACK_HOST_KEEPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct runner;

struct keeper_hooks {
	/* The C library's fork() (the library's interposed one exposes sockets). */
	pid_t (*fork)(void);
	/* The C library's _Fork(), for the one-thread middle child: no atfork
	 * handlers; the host gives it (the preload interposes the symbol). */
	pid_t (*fork_bare)(void);
	/* In the keeper, once it is one (the gate opened): the caller's share,
	 * e.g. the shim's sockets closed as at exit and the stack lock let go
	 * (the keeper's loop takes it). */
	void (*child)(void *ctx);
	void *ctx;
};

/*
 * Stack lock held, r paused (runner_pause). Forks the keeper, which carries
 * r on (never returns in it). In the owner: 0 once the keeper exists, with
 * *gate the gate's write end when gated (close-on-exec; keeper_cancel
 * closes the door on the keeper), or -errno when none could be made (the
 * caller resumes r or stops it as without a keeper).
 */
int keeper_start(struct runner *r, uint64_t linger_us, bool gated, int *gate, const struct keeper_hooks *h);
/* In the stack process of a program that died (runner_set_orphan), lock
 * held: it becomes a keeper (fds, session, signals, name) in place. */
void keeper_adopt(struct runner *r);
/* The exec failed: the gated keeper exits without touching anything. */
void keeper_cancel(int gate);

#endif
