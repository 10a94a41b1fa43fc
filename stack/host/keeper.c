/*
 * The keeper process (keeper.h): made, detached from the program, and run.
 */
#include "stack/host/keeper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/dev/sysc.h"
#include "stack/host/runner.h"

/* fds the keeper keeps besides the library's registered ones: the device,
 * the eventfd, the relays' (runner_fds) and the gate. */
#define KEEPER_MAX_FDS 4096

static bool kept(const int *keep, unsigned n, int fd)
{
	for (unsigned i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return sys_fd_is_internal(fd) != 0;
}

/* fd 2 stays when it cannot hold anyone up: a terminal or /dev/null (a
 * character device) or a file. A pipe or a socket goes, like every other
 * fd of the program's: a reader waiting for its end of file would wait
 * for the keeper. */
static bool harmless(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode));
}

static int cmp_fd(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every fd but keep's, the registered ones and 2 when keep_err, with one
 * close_range() per gap between them: the library's own fds sit near the
 * descriptor limit, so a walk of /proc/self/fd reads a table thousands of
 * entries long, at every program's exit. 0, or -1 when the kernel has no
 * close_range (before Linux 5.9; nothing was closed then). */
static int close_gaps(const int *keep, unsigned n, bool keep_err)
{
	static int all[KEEPER_MAX_FDS + 64 + 1];
	unsigned m = 0;
	unsigned lo = 0;

	for (unsigned i = 0; i < n && m < KEEPER_MAX_FDS; i++)
		if (keep[i] >= 0)
			all[m++] = keep[i];
	m += (unsigned)sys_fd_internal(all + m, 64);
	if (keep_err)
		all[m++] = 2;
	qsort(all, m, sizeof(all[0]), cmp_fd);
	for (unsigned i = 0; i <= m; i++) {
		unsigned hi = i < m ? (unsigned)all[i] : ~0u;

		if (i < m && (unsigned)all[i] < lo)
			continue;       /* listed twice */
		if (hi > lo && SYSC(SYS_close_range, lo, i < m ? hi - 1 : hi, 0) == -ENOSYS)
			return -1;
		if (i < m)
			lo = hi + 1;
	}
	return 0;
}

/* Every fd that is not the stack's is closed; 0, 1 and 2 (unless harmless)
 * become /dev/null, so that nothing the keeper opens lands on them. */
static void keeper_close_fds(const int *keep, unsigned n)
{
	bool keep_err = harmless(2);
	DIR *d = NULL;
	long null;

	if (close_gaps(keep, n, keep_err) == 0) {
		/* Done in a few calls. */
	} else if ((d = opendir("/proc/self/fd"))) {
		struct dirent *e;
		int self = dirfd(d);

		while ((e = readdir(d))) {
			char *end;
			long fd = strtol(e->d_name, &end, 10);

			if (*end || end == e->d_name || fd == self || (fd == 2 && keep_err) || kept(keep, n, (int)fd))
				continue;
			sys_close((int)fd);
		}
		closedir(d);
	} else {
		/* No /proc: every fd up to the limit (the library's sit below it). */
		long max = sysconf(_SC_OPEN_MAX);

		for (long fd = 0; fd < (max > 0 && max < 1048576 ? max : 65536); fd++)
			if (!(fd == 2 && keep_err) && !kept(keep, n, (int)fd))
				sys_close((int)fd);
	}
	null = sys_openat(AT_FDCWD, "/dev/null", O_RDWR, 0);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		if (fd != null && !(fd == 2 && keep_err) && !kept(keep, n, fd))
			(void)SYSC(SYS_dup3, (int)null, fd, 0);
	if (null > 2)
		sys_close((int)null);
}

/* The program's handlers are not the keeper's: every disposition back to
 * its default, the terminal's and a broken pipe's ignored, nothing blocked
 * (SIGTERM ends a keeper). Raw system calls: sigaction() is the library's
 * own wrapper. With a default handler, no flags and an empty mask, the
 * kernel's struct reads the same whatever its layout after the flags. */
static void keeper_signals(void)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ka;
	uint64_t none = 0;

	for (int sig = 1; sig < 65; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33)
			continue;   /* 32, 33: the C library's own (thread cancellation, setxid) */
		memset(&ka, 0, sizeof(ka));
		ka.handler = sig == SIGINT || sig == SIGHUP || sig == SIGPIPE || sig == SIGTTIN || sig == SIGTTOU ||
				     sig == SIGTSTP
				     ? (void *)SIG_IGN
				     : (void *)SIG_DFL;
		(void)SYSC(SYS_rt_sigaction, sig, &ka, NULL, (size_t)8);
	}
	(void)SYSC(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, (size_t)8);
}

/* The stack process of a program that died (runner_set_orphan): the
 * program's fds that are not the stack's closed, the keeper's session,
 * signals and name. Its signals were all blocked: those pending (a SIGTERM
 * to the program's process group, a terminal's SIGINT) were the program's,
 * and go unseen. */
void keeper_adopt(struct runner *r)
{
	static int keep[KEEPER_MAX_FDS];
	unsigned n = runner_fds(r, keep, KEEPER_MAX_FDS);
	struct timespec zero = { 0, 0 };
	uint64_t all = ~(uint64_t)0;

	if (n > KEEPER_MAX_FDS)
		n = KEEPER_MAX_FDS;
	keeper_close_fds(keep, n);
	(void)SYSC(SYS_setsid);
	while (SYSC(SYS_rt_sigtimedwait, &all, NULL, &zero, (size_t)8) > 0)
		;
	keeper_signals();
	(void)prctl(PR_SET_NAME, "pstack-keeper", 0, 0, 0);
	if (chdir("/") != 0) {
		/* The program's directory stays busy while the keeper runs. */
	}
}

static __attribute__((noreturn)) void keeper_exit(int status)
{
	/* Nothing of the program's may run here: no atexit handler, no
	 * destructor (the library's own would stop the stack again). */
	for (;;)
		(void)SYSC(SYS_exit_group, status);
}

/* The keeper's life, in the grandchild. */
static __attribute__((noreturn)) void keeper_main(struct runner *r, uint64_t linger_us, int gate,
						   const struct keeper_hooks *h)
{
	static int keep[KEEPER_MAX_FDS];
	unsigned n = runner_fds(r, keep, KEEPER_MAX_FDS - 1);

	if (n > KEEPER_MAX_FDS - 1)
		n = KEEPER_MAX_FDS - 1;    /* the rest are registered (sys_fd_hide) but for huge counts */
	keep[n++] = gate;
	keeper_close_fds(keep, n);
	(void)SYSC(SYS_setsid);
	keeper_signals();
	(void)prctl(PR_SET_NAME, "pstack-keeper", 0, 0, 0);
	if (chdir("/") != 0) {
		/* The program's directory stays busy while the keeper runs. */
	}
	if (gate >= 0) {
		char c;
		long rc;

		do
			rc = sys_read(gate, &c, 1);
		while (rc == -EINTR);
		if (rc != 0)
			keeper_exit(0);     /* the exec failed: the owner carries on */
		sys_close(gate);
	}
	h->child(h->ctx);
	runner_keep(r, linger_us);
	keeper_exit(0);
}

int keeper_start(struct runner *r, uint64_t linger_us, bool gated, int *gate, const struct keeper_hooks *h)
{
	int p[2] = { -1, -1 }, status = 0;
	pid_t pid;
	long rc;

	*gate = -1;
	if (gated) {
		rc = SYSC(SYS_pipe2, p, O_CLOEXEC);
		if (rc < 0)
			return (int)rc;
	}
	pid = h->fork();
	if (pid < 0) {
		rc = -errno;
		sys_close(p[0]);
		sys_close(p[1]);
		return (int)rc;
	}
	if (pid == 0) {
		/* The middle child: one thread, so the second fork needs no
		 * handlers; its exit leaves the keeper to init (or the
		 * subreaper), never a child of the program's. */
		pid_t k = h->fork_bare();

		if (k != 0)
			keeper_exit(k < 0 ? 1 : 0);
		if (p[1] >= 0)
			sys_close(p[1]);
		keeper_main(r, linger_us, p[0], h);
	}
	if (p[0] >= 0)
		sys_close(p[0]);
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	/* ECHILD: the program reaps its children itself (SIGCHLD ignored or a
	 * handler of its own); the middle child's status is unknown, and the
	 * keeper presumed made. */
	if (rc == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		sys_close(p[1]);
		return -EAGAIN;
	}
	*gate = p[1];
	return 0;
}

void keeper_cancel(int gate)
{
	char c = 1;

	if (gate < 0)
		return;
	(void)sys_write(gate, &c, 1);
	sys_close(gate);
}
