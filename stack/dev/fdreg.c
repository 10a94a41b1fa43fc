/* The stack's own descriptors: kept high and out of the application's reach. */
#include <fcntl.h>
#include <sys/resource.h>

#include "stack/dev/sysc.h"

/* The TAP, eventfd, pcap and log file, and two per exposed socket (its
 * relay's end and its original placeholder: shim/expose.c). */
#define FDREG_MAX 64

static int internal_fds[FDREG_MAX];
static int internal_count;

static void fd_record(int fd)
{
	for (int i = 0; i < FDREG_MAX; i++) {
		int expect = 0;

		/* Slots hold fd+1 so that zero means free. */
		if (__atomic_compare_exchange_n(&internal_fds[i], &expect, fd + 1, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_add_fetch(&internal_count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

int sys_fd_hide(int fd)
{
	struct rlimit rl;
	long nfd;
	long min;

	if (fd < 0)
		return fd;
	if (SYSC(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) < 0 || rl.rlim_cur < 256) {
		fd_record(fd);
		return fd;
	}
	/* Below the soft limit, leaving room for a few of ours. */
	min = (long)(rl.rlim_cur > 65536 ? 65536 : rl.rlim_cur) - 64;
	nfd = sys_fcntl(fd, F_DUPFD_CLOEXEC, min);
	if (nfd < 0) {
		fd_record(fd);
		return fd;
	}
	sys_close(fd);
	fd_record((int)nfd);
	return (int)nfd;
}

void sys_fd_forget(int fd)
{
	for (int i = 0; i < FDREG_MAX; i++) {
		int expect = fd + 1;

		if (__atomic_compare_exchange_n(&internal_fds[i], &expect, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_sub_fetch(&internal_count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

int sys_fd_internal(int *fds, int max)
{
	int n = 0;

	for (int i = 0; i < FDREG_MAX; i++) {
		int v = __atomic_load_n(&internal_fds[i], __ATOMIC_ACQUIRE);

		if (v > 0 && n < max)
			fds[n++] = v - 1;
	}
	return n;
}

int sys_fd_is_internal(int fd)
{
	if (fd < 0 || __atomic_load_n(&internal_count, __ATOMIC_RELAXED) == 0)
		return 0;
	for (int i = 0; i < FDREG_MAX; i++)
		if (__atomic_load_n(&internal_fds[i], __ATOMIC_ACQUIRE) == fd + 1)
			return 1;
	return 0;
}
