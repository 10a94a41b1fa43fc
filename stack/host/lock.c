/*
 * The stack lock (stack/host/lock.h). In debug builds each thread remembers
 * the stack lock it holds (one at most: the lock is never taken twice), so
 * the core's checks can ask without touching the mutex.
 */
#include "stack/host/lock.h"

#include <stddef.h>
#include <stdlib.h>

#include "stack/core/log.h"

#ifdef PSTACK_DEBUG
static _Thread_local const struct stack_lock *t_held;

void stack_lock_note(const struct stack_lock *l, bool held)
{
	t_held = held ? l : NULL;
}
#endif

static bool check_held(void *ctx)
{
	return stack_lock_held(ctx);
}

/* A broken locking rule is a bug: say where, and stop at once. */
static void check_fail(void *ctx, const char *func, bool want_held)
{
	(void)ctx;
	log_printf(LOG_ERROR, "%s: called %s the stack lock (stack/CONCURRENCY.md)", func,
		   want_held ? "without" : "with");
	abort();
}

void stack_lock_init(struct stack_lock *l, void (*after_unlock)(void))
{
	pthread_mutex_init(&l->mu, NULL);
	l->after_unlock = after_unlock;
	l->check.held = check_held;
	l->check.fail = check_fail;
	l->check.ctx = l;
}

void stack_lock_break(struct stack_lock *l)
{
	pthread_mutex_init(&l->mu, NULL);
	stack_lock(l);
}

void stack_lock_wait(struct stack_lock *l, pthread_cond_t *cond, const struct timespec *abstime)
{
	stack_lock_note(l, false);
	pthread_cond_timedwait(cond, &l->mu, abstime);
	stack_lock_note(l, true);
}

bool stack_lock_held(const struct stack_lock *l)
{
#ifdef PSTACK_DEBUG
	return t_held == l;
#else
	(void)l;
	return true;
#endif
}

void stack_lock_check(struct stack_lock *l)
{
#ifdef PSTACK_DEBUG
	stack_lockcheck_register(l ? &l->check : NULL);
#else
	(void)l;
#endif
}
