/*
 * The program's memory (shim/ucopy.c): every buffer, address, length, array
 * and option value a socket call is given that the program does not own
 * gives EFAULT (or the kernel's EINVAL), never a crash, and leaves the
 * socket as it was: nothing sent, nothing consumed (a datagram excepted, as
 * in Linux), no lock held. The fault is real: the memory is a page mapped
 * PROT_NONE (or read-only) right after a good one, and this binary installs
 * the handler the library installs, reduced to asking shim_user_fault().
 * A fault outside the copies is not caught (a child dies of it).
 *
 * The stack is the scripted TCP peer's (tests/unit/support/tcp_script.h);
 * UDP frames go through the same harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/shim_libc.h"
#include "tests/unit/support/tcp_script.h"

static struct tscript *T;
static struct stack_lock hmu;

static int t_start(void *c) { (void)c; return 0; }
static struct stack *t_stack(void *c) { (void)c; return T->h->s; }
static void t_lock(void *c) { (void)c; stack_lock(&hmu); }
static void t_unlock(void *c) { (void)c; stack_unlock(&hmu); }
static uint64_t t_now(void *c) { (void)c; return T->h->now; }
static void t_stop(void *c, uint64_t l) { (void)c; (void)l; }

/* The library's handler, less the program's: a fault that is not a copy's
 * kills with the default action. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)shim_user_fault(sig, si);
	signal(sig, SIG_DFL);
}

/* Installed by each test itself: cmocka puts its own SIGSEGV/SIGBUS
 * handlers in around every setup, test and teardown (and takes them away
 * after). Installed as the library installs its own (preload/preload.c). */
static void catch_faults(void)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_sigaction = on_fault;
	a.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&a.sa_mask);
	sigaction(SIGSEGV, &a, NULL);
	sigaction(SIGBUS, &a, NULL);
}

/* A page the program owns, followed by one it does not. */
static char *good;
#define PAGE 4096
#define BAD_AT (good + PAGE)   /* the first byte of the PROT_NONE page */

static int setup(void **state)
{
	struct shim_libc libc;
	struct shim_host host = {
		.start = t_start, .stack = t_stack, .lock = t_lock, .unlock = t_unlock,
		.now = t_now, .stop = t_stop,
	};

	(void)state;
	good = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(good != MAP_FAILED);
	assert_int_equal(mprotect(BAD_AT, PAGE, PROT_NONE), 0);
	memset(good, 'g', PAGE);
	stack_lock_init(&hmu, shim_wake_flush);
	T = ts_new(1000);
	stack_lock_check(&hmu);
	h_checked_libc(&libc, &hmu);
	shim_init(&libc, &host);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shim_reset_for_test();
	stack_lock_check(NULL);
	h_drain_tx(T->h);
	h_free(T->h);
	free(T);
	munmap(good, 2 * PAGE);
	return 0;
}

/* ---- the copy routines ---- */

struct touch {
	char *at;
};

static void touch_fn(void *arg)
{
	struct touch *t = arg;

	t->at[0] = 'x';
}

static void test_copy_routines(void **state)
{
	char buf[64];
	struct touch t;

	(void)state;
	catch_faults();
	assert_int_equal(shim_copy(buf, good, sizeof(buf)), 0);
	assert_memory_equal(buf, good, sizeof(buf));
	assert_int_equal(shim_copy(buf, NULL, 0), 0);
	assert_int_equal(shim_copy(buf, NULL, 1), -EFAULT);
	assert_int_equal(shim_copy(NULL, buf, 1), -EFAULT);
	assert_int_equal(shim_copy(buf, (void *)(UINTPTR_MAX - 4), 8), -EFAULT);
	/* Reading and writing the page the program does not own. */
	assert_int_equal(shim_copy(buf, BAD_AT, 8), -EFAULT);
	assert_int_equal(shim_copy(BAD_AT, buf, 8), -EFAULT);
	/* A buffer that runs off the end of the good page. */
	assert_int_equal(shim_copy(buf, BAD_AT - 8, 16), -EFAULT);
	assert_int_equal(shim_copy(BAD_AT - 8, buf, 16), -EFAULT);
	/* A non-canonical address: a general protection fault, reported without an address. */
	assert_int_equal(shim_copy(buf, (void *)0x8000000000000000ull, 8), -EFAULT);
	/* Read-only memory cannot be written. */
	assert_int_equal(mprotect(good, PAGE, PROT_READ), 0);
	assert_int_equal(shim_copy(good, buf, 8), -EFAULT);
	assert_int_equal(shim_copy(buf, good, 8), 0);
	assert_int_equal(mprotect(good, PAGE, PROT_READ | PROT_WRITE), 0);
	/* The marker is gone after a fault: good copies go on working. */
	assert_int_equal(shim_copy(good, "ok", 2), 0);
	assert_memory_equal(good, "ok", 2);
	t.at = BAD_AT;
	assert_int_equal(shim_user_do(touch_fn, &t, BAD_AT, 1), -EFAULT);
	t.at = good;
	assert_int_equal(shim_user_do(touch_fn, &t, good, 1), 0);
	assert_int_equal(good[0], 'x');
}

/* A fault outside a copy, or outside the memory a guarded function was
 * given, is not the shim's to catch. */
static void test_other_faults_not_caught(void **state)
{
	siginfo_t si;

	(void)state;
	catch_faults();
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGSEGV;
	si.si_code = SEGV_MAPERR;
	si.si_addr = BAD_AT;
	assert_false(shim_user_fault(SIGSEGV, &si));
	for (int which = 0; which < 2; which++) {
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			struct touch t = { BAD_AT };

			if (which == 0)
				*(volatile char *)BAD_AT = 1;
			else
				(void)shim_user_do(touch_fn, &t, good, PAGE);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGSEGV);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_routines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_faults_not_caught, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
