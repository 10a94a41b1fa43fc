/*
 * The shim's libc table for unit tests that drive the shim directly: the
 * real functions (nothing is interposed in a test binary).
 */
#ifndef PSTACK_TEST_SHIM_LIBC_H
#define PSTACK_TEST_SHIM_LIBC_H

#include "shim/shim.h"

void h_real_libc(struct shim_libc *libc);

#endif
