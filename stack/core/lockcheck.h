/*
 * Debug checks of the stack's locking rule (stack/CONCURRENCY.md): every
 * entry point of the core runs with the stack lock held, and no device read
 * or write does.
 *
 * The core knows no lock (it includes no thread or host header, and makes
 * no system call): the host registers a function that tells whether the
 * calling thread holds the lock it serialises the stack with, and one that
 * reports a broken rule and ends the process. The checks are compiled in
 * debug builds only (-DPSTACK_DEBUG: the unit tests, make asan, make tsan),
 * and pass when nothing is registered: the core's own unit tests drive a
 * stack from one thread without any lock.
 */
#ifndef PSTACK_LOCKCHECK_H
#define PSTACK_LOCKCHECK_H

#include <stdbool.h>

struct stack_lockcheck {
	bool (*held)(void *ctx);    /* does the calling thread hold the stack lock? */
	/* func was called with the lock (want_held false) or without it; does not return. */
	void (*fail)(void *ctx, const char *func, bool want_held);
	void *ctx;
};

/* lc (kept by the caller until it is replaced), or NULL: no checks. */
void stack_lockcheck_register(const struct stack_lockcheck *lc);

#ifdef PSTACK_DEBUG
/* Reports (lc->fail) when the calling thread's holding of the lock is not want_held. */
void stack_lockcheck(bool want_held, const char *func);
#define stack_assert_locked() stack_lockcheck(true, __func__)
#define stack_assert_unlocked() stack_lockcheck(false, __func__)
#else
#define stack_assert_locked() ((void)0)
#define stack_assert_unlocked() ((void)0)
#endif

#endif
