/*
 * The stack lock: the one lock that serialises a process's stack and the
 * socket layer above it (stack/CONCURRENCY.md). The host creates it before
 * the stack exists (the shim uses it from the first socket call); the runner
 * takes it at runner_start.
 *
 * Nothing that makes a system call runs under it. What a thread defers
 * while it holds the lock (the shim's eventfd wake-ups) is done by that same
 * thread right after it lets go: stack_unlock() runs the lock's after_unlock
 * function, with no lock held.
 *
 * In debug builds (-DPSTACK_DEBUG) the lock knows which thread holds it,
 * for stack_assert_locked() and stack_assert_unlocked() (stack/core/lockcheck.h).
 */
#ifndef PSTACK_HOST_LOCK_H
#define PSTACK_HOST_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "stack/core/lockcheck.h"

struct stack_lock {
	pthread_mutex_t mu;
	void (*after_unlock)(void);     /* NULL: nothing deferred */
	struct stack_lockcheck check;   /* asks stack_lock_held() about this lock */
};

void stack_lock_init(struct stack_lock *l, void (*after_unlock)(void));

#ifdef PSTACK_DEBUG
void stack_lock_note(const struct stack_lock *l, bool held);
#else
static inline void stack_lock_note(const struct stack_lock *l, bool held) { (void)l; (void)held; }
#endif

static inline void stack_lock(struct stack_lock *l)
{
	pthread_mutex_lock(&l->mu);
	stack_lock_note(l, true);
}

/* pthread_mutex_timedlock (CLOCK_REALTIME): 0 with the lock held, or its error. */
static inline int stack_lock_timed(struct stack_lock *l, const struct timespec *abstime)
{
	int rc = pthread_mutex_timedlock(&l->mu, abstime);

	if (rc == 0)
		stack_lock_note(l, true);
	return rc;
}

/* The lock's holder is dead (its process killed: the stack process's
 * runner_relock): the lock is made anew and taken. */
void stack_lock_break(struct stack_lock *l);

/* Lets go of the lock, then does what this thread deferred under it. */
static inline void stack_unlock(struct stack_lock *l)
{
	void (*after)(void) = l->after_unlock;

	stack_lock_note(l, false);
	pthread_mutex_unlock(&l->mu);
	if (after)
		after();
}

/* pthread_cond_timedwait on the lock (held), keeping the debug owner right. */
void stack_lock_wait(struct stack_lock *l, pthread_cond_t *cond, const struct timespec *abstime);

/* Debug builds: whether the calling thread holds l. Other builds: true. */
bool stack_lock_held(const struct stack_lock *l);

/* Debug builds: the core's checks (stack_assert_locked) ask about l from now
 * on (NULL: no checks). Other builds: nothing. */
void stack_lock_check(struct stack_lock *l);

#endif
