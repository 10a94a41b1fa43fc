/*
 * The debug checks of stack/core/lockcheck.h. The registered check is read
 * by every thread that enters the core: an atomic pointer, so that a host
 * may register it while other threads run (the unit tests start and stop
 * several runners in one process).
 */
#include "stack/core/lockcheck.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "stack/core/log.h"

static _Atomic(const struct stack_lockcheck *) check;

void stack_lockcheck_register(const struct stack_lockcheck *lc)
{
	atomic_store_explicit(&check, lc, memory_order_release);
}

#ifdef PSTACK_DEBUG
void stack_lockcheck(bool want_held, const char *func)
{
	const struct stack_lockcheck *lc = atomic_load_explicit(&check, memory_order_acquire);

	if (!lc || lc->held(lc->ctx) == want_held)
		return;
	log_printf(LOG_ERROR, "%s: called %s the stack lock (stack/CONCURRENCY.md)", func,
		   want_held ? "without" : "with");
	abort();
}
#endif
