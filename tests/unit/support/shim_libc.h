/*
 * The shim's libc table for unit tests that drive the shim directly: the
 * real functions (nothing is interposed in a test binary).
 */
#ifndef PSTACK_TEST_SHIM_LIBC_H
#define PSTACK_TEST_SHIM_LIBC_H

#include "shim/shim.h"

struct stack_lock;

void h_real_libc(struct shim_libc *libc);
/* The same, each function first checking that the calling thread does not
 * hold lock (the stack lock: no system call runs under it, stack/
 * CONCURRENCY.md); a call made under it prints its name and aborts. Debug
 * builds (the unit tests) only know who holds the lock. */
void h_checked_libc(struct shim_libc *libc, const struct stack_lock *lock);

#endif
