/*
 * The stack lock (stack/host/lock.h) and the core's checks of it
 * (stack/core/lockcheck.h, compiled in: the unit tests are a debug build).
 * What a thread deferred under the lock runs after it lets go, with the
 * lock free; a wait on the lock's condition keeps the owner right; an entry
 * point of the core called without the lock, and device I/O with it, abort.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "stack/core/lockcheck.h"
#include "stack/host/lock.h"
#include "tests/unit/support/harness.h"

static struct stack_lock lk;
static int after_calls;
static bool after_saw_free;

static void after(void)
{
	after_calls++;
	after_saw_free = !stack_lock_held(&lk) && pthread_mutex_trylock(&lk.mu) == 0;
	if (after_saw_free)
		pthread_mutex_unlock(&lk.mu);
}

static void test_after_unlock_runs_with_the_lock_free(void **state)
{
	(void)state;
	after_calls = 0;
	stack_lock_init(&lk, after);
	assert_false(stack_lock_held(&lk));
	stack_lock(&lk);
	assert_true(stack_lock_held(&lk));
	assert_int_equal(after_calls, 0);
	stack_unlock(&lk);
	assert_false(stack_lock_held(&lk));
	assert_int_equal(after_calls, 1);
	assert_true(after_saw_free);
}

static void test_wait_keeps_the_owner(void **state)
{
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec now;

	(void)state;
	stack_lock_init(&lk, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	stack_lock(&lk);
	stack_lock_wait(&lk, &c, &now);     /* times out at once */
	assert_true(stack_lock_held(&lk));
	stack_unlock(&lk);
	pthread_cond_destroy(&c);
}

/* Runs body in a child with the lock's checks registered; its wait status. */
static int in_child(void (*body)(struct harness *h))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct harness *h = h_new(NULL, false);

		stack_lock_init(&lk, NULL);
		stack_lock_check(&lk);
		body(h);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void poll_locked(struct harness *h)
{
	stack_lock(&lk);
	stack_poll(h->s, h->now);
	stack_unlock(&lk);
}

static void poll_unlocked(struct harness *h)
{
	stack_poll(h->s, h->now);
}

static void device_io_locked(struct harness *h)
{
	(void)h;
	stack_lock(&lk);
	stack_assert_unlocked();    /* what the TAP's read and write paths check */
	stack_unlock(&lk);
}

static void device_io_unlocked(struct harness *h)
{
	(void)h;
	stack_assert_unlocked();
}

static void test_core_entry_needs_the_lock(void **state)
{
	int status;

	(void)state;
	assert_int_equal(in_child(poll_locked), 0);
	status = in_child(poll_unlocked);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_device_io_never_under_the_lock(void **state)
{
	int status;

	(void)state;
	assert_int_equal(in_child(device_io_unlocked), 0);
	status = in_child(device_io_locked);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_unlock_runs_with_the_lock_free),
		cmocka_unit_test(test_wait_keeps_the_owner),
		cmocka_unit_test(test_core_entry_needs_the_lock),
		cmocka_unit_test(test_device_io_never_under_the_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
