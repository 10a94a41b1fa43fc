/*
 * The program's memory: every read or write of it by the shim and the stack
 * goes through here, so that memory the program does not own gives EFAULT,
 * as the kernel's copy_from_user/copy_to_user do, instead of a crash inside
 * the library (with the stack's lock held, that would take every socket of
 * the process with it).
 *
 * The design is gVisor's safecopy and Linux's exception tables: a copy
 * marks itself in a thread-local (the addresses it may fault on and where to
 * go back to, taken with sigsetjmp), and the library's SIGSEGV/SIGBUS
 * handler (preload/preload.c) asks shim_user_fault() whether a fault is
 * one of ours. If it is, it jumps back into the copy, which returns -EFAULT
 * to its caller; the caller unwinds as from any error (unlocks, returns it).
 * Anything else is the program's fault and goes to its own handler or the
 * default action. SIGBUS is also what a copy from a file's mapping gets past
 * the end of a file cut shorter since it was mapped (sendfile's source,
 * shim/sendfile.c): the same EFAULT, and the caller reads the file instead.
 *
 * Cost: a sigsetjmp that saves no signal mask (registers only: no system
 * call) and two thread-local stores per copy. The mask is not saved there
 * because the jump back puts the interrupted one back itself, from the
 * handler's ucontext (one system call, on a fault only): whatever mask the
 * handler ran under (ours adds none, SA_NODEFER with an empty sa_mask, but a
 * sanitizer's wrapper around it blocks every signal), the copy returns with
 * the thread's mask as it was before the fault.
 *
 * What cannot be caught: memory that is mapped but is not what the program
 * meant (a wild pointer into its own heap is copied like any buffer), memory
 * another thread unmaps between our checks and a use outside these routines
 * (none of the shim's accesses is outside them), and faults while the
 * program's own SIGSEGV handler is installed with a raw system call
 * (rt_sigaction) in place of sigaction()/signal().
 */
#include "shim/internal.h"
#include "stack/core/copy.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

struct ucopy {
	sigjmp_buf jb;
	uintptr_t a, alen;          /* the two ranges a fault may hit */
	uintptr_t b, blen;
	struct ucopy *prev;         /* a copy this one interrupted (a signal handler's call) */
};

/* The copy this thread is inside, or NULL. initial-exec: the library is
 * preloaded (static TLS), and the handler reads it without a call. */
static _Thread_local struct ucopy *t_uc __attribute__((tls_model("initial-exec")));

static bool in_range(uintptr_t x, uintptr_t lo, uintptr_t len)
{
	return x - lo < len;
}

bool shim_user_fault(int sig, const siginfo_t *si, void *uc)
{
	struct ucopy *u = t_uc;
	uintptr_t addr;

	if (!u || (sig != SIGSEGV && sig != SIGBUS) || !si)
		return false;
	/* Sent by a process (kill, tgkill, sigqueue: si_code <= 0) is no fault. */
	if (si->si_code <= 0)
		return false;
	addr = (uintptr_t)si->si_addr;
	/* A non-canonical address faults with a general protection fault,
	 * which the kernel reports as SI_KERNEL without an address. */
	if (!in_range(addr, u->a, u->alen) && !in_range(addr, u->b, u->blen) &&
	    !(si->si_code == SI_KERNEL && addr == 0))
		return false;
	t_uc = u->prev;
	if (uc)
		pthread_sigmask(SIG_SETMASK, &((ucontext_t *)uc)->uc_sigmask, NULL);
	siglongjmp(u->jb, 1);
}

/* Whether [p, p + n) could be a buffer at all: not NULL (memcpy's arguments
 * must not be, and page 0 is never mapped) and not wrapping around. */
static bool plausible(const void *p, size_t n)
{
	return p && n <= UINTPTR_MAX - (uintptr_t)p;
}

/*
 * The end of the program's address space (Linux's TASK_SIZE_MAX): on x86-64
 * 2^47 less a page, or 2^56 less a page when the kernel runs five-level
 * page tables, which it shows by honouring a hint above 2^47 (the only way
 * a process gets such an address). Measured once; elsewhere no limit.
 */
static uintptr_t user_top(void)
{
#if defined(__x86_64__)
	static _Atomic uintptr_t top;
	uintptr_t t = atomic_load_explicit(&top, memory_order_relaxed);

	if (!t) {
		void *p = mmap((void *)(1UL << 50), 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		t = p != MAP_FAILED && (uintptr_t)p >= (1UL << 47) ? (1UL << 56) - 4096 : (1UL << 47) - 4096;
		if (p != MAP_FAILED)
			munmap(p, 4096);
		atomic_store_explicit(&top, t, memory_order_relaxed);
	}
	return t;
#else
	return UINTPTR_MAX;
#endif
}

bool shim_user_range_ok(const void *p, size_t n)
{
	return n <= UINTPTR_MAX - (uintptr_t)p && (uintptr_t)p + n <= user_top();
}

/* Out of line: shim_copy's own locals must not live across its sigsetjmp. */
__attribute__((noinline)) static void copy_out_of_line(void *dst, const void *src, size_t n)
{
	stack_copy_bytes(dst, src, n);
}

int shim_copy(void *dst, const void *src, size_t n)
{
	struct ucopy u;

	if (n == 0)
		return 0;
	if (!plausible(dst, n) || !plausible(src, n))
		return -EFAULT;
	u.a = (uintptr_t)dst;
	u.alen = n;
	u.b = (uintptr_t)src;
	u.blen = n;
	u.prev = t_uc;
	if (sigsetjmp(u.jb, 0))
		return -EFAULT;     /* the handler restored t_uc */
	t_uc = &u;
	/* The marker is in place before the first access, and stays until the
	 * last (a compiler may not move memory accesses across these). */
	atomic_signal_fence(memory_order_seq_cst);
	copy_out_of_line(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	t_uc = u.prev;
	return 0;
}

int shim_user_do(void (*fn)(void *arg), void *arg, const void *user, size_t n)
{
	struct ucopy u;

	if (n == 0) {
		fn(arg);
		return 0;
	}
	if (!plausible(user, n))
		return -EFAULT;
	u.a = (uintptr_t)user;
	u.alen = n;
	u.b = 0;
	u.blen = 0;
	u.prev = t_uc;
	if (sigsetjmp(u.jb, 0))
		return -EFAULT;
	t_uc = &u;
	atomic_signal_fence(memory_order_seq_cst);
	fn(arg);
	atomic_signal_fence(memory_order_seq_cst);
	t_uc = u.prev;
	return 0;
}
