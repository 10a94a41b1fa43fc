/*
 * The debug checks of stack/core/lockcheck.h. The registered check is read
 * by every thread that enters the core: an atomic pointer, so that a host
 * may register it while other threads run (the unit tests start and stop
 * several runners in one process). The compiler's builtins, not
 * <stdatomic.h>: the core uses the C library's pure headers only
 * (tests/check-layers.sh).
 */
#include "stack/core/lockcheck.h"

#include <stddef.h>

static const struct stack_lockcheck *check;

void stack_lockcheck_register(const struct stack_lockcheck *lc)
{
	__atomic_store_n(&check, lc, __ATOMIC_RELEASE);
}

#ifdef PSTACK_DEBUG
void stack_lockcheck(bool want_held, const char *func)
{
	const struct stack_lockcheck *lc = __atomic_load_n(&check, __ATOMIC_ACQUIRE);

	if (lc && lc->held(lc->ctx) != want_held)
		lc->fail(lc->ctx, func, want_held);
}
#endif
