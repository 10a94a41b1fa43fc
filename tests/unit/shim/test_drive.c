/*
 * A blocked thread reads the device itself (no hand-off through
 * the stack thread on the fast path). The shim's waits add the fd the
 * host's block_begin gives them to their ppoll; woken by it, the thread
 * calls the host's drive, which processes what the device holds.
 *
 * The host here stands in for the runner: its "device" is a pipe, and drive
 * reads one byte from it and delivers a datagram to the stack, as a frame
 * read from a TAP would be. No other thread runs, so a blocked recv, poll
 * or epoll_wait can only return that datagram if the waiting thread drove
 * the device itself. Also: a thread the host refuses (another one drives)
 * waits on its own fds only; a frame for another socket does not end the
 * wait; every block_begin has its block_end, told whether it drove; a
 * signal that comes while the thread processes frames ends the wait (EINTR).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "stack/core/config.h"
#include "tests/unit/support/fake_host.h"

static int dev[2];              /* the "device": readable when a frame waits */
static bool refuse;             /* block_begin says another thread drives */
static uint16_t to_port;        /* where a "frame" is delivered */
static int begins, ends, ends_driving, drives, held_lock_drives;
static bool raise_in_drive;     /* drive raises SIGUSR1 (a signal while processing frames) */
static bool raise_in_begin;     /* the next block_begin raises SIGUSR1 (on the way into the ppoll) */
static bool raise_in_start;     /* the host's start raises SIGUSR1 (the call's start of the stack) */
static volatile sig_atomic_t got_usr1;
/* The Nth unlock from now (its step after unlocking) delivers a datagram to
 * port 5000, lets go of its wake-up, then raises SIGUSR1: O_ASYNC's order
 * (data, wake-up, signal) at each point of a wait, in turn. */
static int fire_at_unlock;
static bool raise_first;        /* ... SIGUSR1 first, then the datagram (SIGURG's order) */
/* drive's enough before and after its frame: it turns true when the frame
 * ends the caller's own wait (the batch may stop there). */
static bool enough_before, enough_after;


static int t_block_begin(void *c)
{
	(void)c;
	begins++;
	if (raise_in_begin) {
		raise_in_begin = false;     /* once */
		pthread_kill(pthread_self(), SIGUSR1);
	}
	return refuse ? -1 : dev[0];
}

static int t_start(void *c)
{
	(void)c;
	if (raise_in_start)
		pthread_kill(pthread_self(), SIGUSR1);
	return 0;
}

static int t_drive(void *c, const bool *enough)
{
	char b;

	(void)c;
	enough_before = *enough;
	drives++;
	/* Called with the lock held, like runner_drive. */
	if (pthread_mutex_trylock(&fh.lock.mu) == EBUSY)
		held_lock_drives++;
	else
		pthread_mutex_unlock(&fh.lock.mu);
	if (read(dev[0], &b, 1) != 1)
		return 0;
	if (raise_in_drive)
		pthread_kill(pthread_self(), SIGUSR1);
	fh_deliver_udp(to_port, "frame");
	/* The runner stops its batch here when this is true. */
	enough_after = *enough;
	return 1;
}

static void t_after_unlock(void)
{
	shim_wake_flush();
	if (fire_at_unlock && --fire_at_unlock == 0) {
		if (raise_first)
			pthread_kill(pthread_self(), SIGUSR1);
		stack_lock(&fh.lock);
		fh_deliver_udp(5000, "late");
		stack_unlock(&fh.lock);     /* this again: the wake-up's write */
		if (!raise_first)
			pthread_kill(pthread_self(), SIGUSR1);
	}
}

static void t_block_end(void *c, bool was_driver)
{
	(void)c;
	ends++;
	ends_driving += was_driver;
}

static void start(void)
{
	struct shim_host host;
	char c = 'f';

	fh_setup(h_new(NULL, false), t_after_unlock);
	h_learn_peer(fh.h);
	fh_host(&host);
	host.block_begin = t_block_begin;
	host.drive = t_drive;
	host.block_end = t_block_end;
	host.start = t_start;
	assert_int_equal(pipe2(dev, O_NONBLOCK), 0);
	/* One frame is waiting on the device before anyone blocks. */
	assert_int_equal(write(dev[1], &c, 1), 1);
	refuse = false;
	raise_in_drive = false;
	raise_in_begin = false;
	raise_in_start = false;
	fire_at_unlock = 0;
	raise_first = false;
	got_usr1 = 0;
	to_port = 5000;
	begins = ends = ends_driving = drives = held_lock_drives = 0;
	enough_before = enough_after = false;
	fh_init_shim(&host, NULL);
}

static void stop(void)
{
	fh_teardown();
	h_free(fh.h);
	close(dev[0]);
	close(dev[1]);
}

static void test_blocking_recv_drives(void **state)
{
	char b[16];
	int fd;

	(void)state;
	start();
	/* Only this thread's own reading of the device can end the wait
	 * before its timeout (a failure then, not a hang). */
	fd = fh_udp_socket(5000, 2000);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), 5);
	assert_memory_equal(b, "frame", 5);
	assert_int_equal(drives, 1);
	assert_false(enough_before);
	assert_true(enough_after);
	assert_int_equal(held_lock_drives, 1);
	assert_int_equal(begins, 1);
	assert_int_equal(ends, 1);
	assert_int_equal(ends_driving, 1);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void test_poll_drives(void **state)
{
	struct pollfd p;
	int fd;

	(void)state;
	start();
	fd = fh_udp_socket(5000, 0);
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	{
		struct timespec ts = { 2, 0 };

		assert_int_equal(shim_ppoll(&p, 1, &ts, NULL), 1);
	}
	assert_int_equal(p.revents, POLLIN);
	assert_int_equal(drives, 1);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void test_epoll_wait_drives(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
	int fd, ep;

	(void)state;
	start();
	fd = fh_udp_socket(5000, 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 2, 2000, NULL), 1);
	assert_int_equal(out[0].data.u64, 42);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(drives, 1);
	assert_true(enough_after);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(ep), 0);
	stop();
}

/* A frame for another socket is processed, but the wait goes on (to its timeout). */
static void test_frame_for_another_socket(void **state)
{
	char b[16];
	int fd, other;

	(void)state;
	start();
	to_port = 6000;
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 50);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	/* It went on waiting after the frame, to its timeout: the frame was
	 * not enough, the driver reads on. */
	assert_int_equal(drives, 1);
	assert_false(enough_after);
	assert_int_equal(begins, ends);
	/* The other socket got its datagram, as from the stack thread. */
	assert_int_equal(shim_recvfrom(other, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 5);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	stop();
}

/*
 * The caller's other fd (a kernel pipe: nc's stdin) is ready along with the
 * device: the wait is over whatever the frame brings, so drive is told so
 * before its first frame (the runner then stops after it, without the read
 * that finds the device empty: one system call per write of nc sending a
 * file). The frame is processed all the same.
 */
static void test_ready_fds_end_the_batch(void **state)
{
	struct pollfd p[2];
	struct timespec ts = { 2, 0 };
	char b[16];
	int fd, other, in[2];

	(void)state;
	start();
	to_port = 6000;
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 0);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(write(in[1], "x", 1), 1);
	p[0].fd = fd;
	p[0].events = POLLIN;
	p[1].fd = in[0];
	p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	assert_int_equal(shim_ppoll(p, 2, &ts, NULL), 1);
	assert_int_equal(p[0].revents, 0);
	assert_int_equal(p[1].revents, POLLIN);
	assert_int_equal(drives, 1);
	assert_true(enough_before);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_recvfrom(other, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 5);
	close(in[0]);
	close(in[1]);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	stop();
}

/* Refused (another thread drives): the wait does not watch the device. */
static void test_refused_waits_on_its_own(void **state)
{
	char b[16];
	int fd;

	(void)state;
	start();
	refuse = true;
	fd = fh_udp_socket(5000, 50);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_int_equal(drives, 0);
	assert_true(begins >= 1);
	assert_int_equal(begins, ends);
	assert_int_equal(ends_driving, 0);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

/* on_usr1 on SIGUSR1, without SA_RESTART, through the shim (the interposed
 * sigaction, as a program installs it); *old to put back. */
static void install_usr1(struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	assert_int_equal(shim_sigaction(SIGUSR1, &sa, old), 0);
}

/*
 * A signal that comes while the thread processes frames (not in ppoll) ends
 * the wait with EINTR after its handler ran, as the kernel's wait would end:
 * a server that leaves its event loop on SIGTERM must see it. The handler is
 * installed as the program's are, through the shim (the interposed
 * sigaction): its wrapper tells the wait that it ran.
 */
static void test_signal_while_driving(void **state)
{
	struct sigaction old;
	sigset_t mask;
	char b[16];
	int fd, other;

	(void)state;
	install_usr1(&old);
	start();
	raise_in_drive = true;
	to_port = 6000;            /* the frame does not end the wait by itself */
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 2000);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(drives, 1);
	assert_int_equal(begins, ends);
	/* The thread's mask is as it was. */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	assert_int_equal(sigismember(&mask, SIGUSR1), 0);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

/*
 * A handler that runs outside every ppoll of the wait, on its way in (here
 * in block_begin), ends the wait as one inside it would: nothing else would
 * (the socket's 2 s timeout would, with EAGAIN). The handler's wrapper
 * wakes the thread's own eventfd.
 */
static void test_signal_on_the_way_into_the_wait(void **state)
{
	struct sigaction old;
	char b[16];
	int fd;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;            /* the waiting frame is not for fd */
	fd = fh_udp_socket(5000, 2000);
	raise_in_begin = true;
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

/*
 * The same for poll and epoll_wait: the handler runs on the way into the
 * ppoll (block_begin raises the signal), the frame that comes is for
 * another socket: the wait ends with EINTR, not at its timeout. With a
 * ppoll mask that blocks the signal, the kernel's ppoll would have held it
 * pending through the wait: the wait goes on to its timeout.
 */
static void test_signal_on_the_way_into_poll(void **state)
{
	struct timespec ts = { 2, 0 }, short_ts = { 0, 100 * 1000 * 1000 };
	struct sigaction old;
	struct pollfd p;
	sigset_t mask;
	int fd, other;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;            /* the waiting frame is not for fd */
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 0);
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	raise_in_begin = true;
	assert_int_equal(shim_ppoll(&p, 1, &ts, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(begins, ends);
	got_usr1 = 0;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	raise_in_begin = true;
	assert_int_equal(shim_ppoll(&p, 1, &short_ts, &mask), 0);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

static void test_signal_on_the_way_into_epoll_wait(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
	struct sigaction old;
	int fd, other, ep;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	raise_in_begin = true;
	assert_int_equal(shim_epoll_pwait(ep, out, 2, 2000, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_close(ep), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

/*
 * O_ASYNC's signal comes after the wake-up of the data it announces. Linux's
 * poll, woken, looks at its fds before it looks at signals: it answers the
 * data, never EINTR (sockdiff's fcntl_async_* waits, now and then). Here the
 * handler may run anywhere on the way into the ppoll; at each unlock of the
 * call in turn, the datagram comes, its wake-up is written, and SIGUSR1 is
 * raised: the answer is the datagram, the handler ran. (With the signal
 * and nothing ready, the answer is EINTR: the tests above.)
 */
static void test_wake_then_signal_poll(void **state)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	struct sigaction old;
	struct pollfd p;
	char b[16];
	int fd, other, n, r;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;            /* the frame on the device is for the other socket */
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 0);
	/* Each unlock of the call in turn, until one after its timeout. */
	for (n = 1;; n++) {
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		got_usr1 = 0;
		fire_at_unlock = n;
		r = shim_ppoll(&p, 1, &ts, NULL);
		if (r == 0) {
			/* Past the call's unlocks before its timeout: no datagram
			 * came, or after the wait had ended (then it is read). */
			if (!fire_at_unlock)
				assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 4);
			fire_at_unlock = 0;
			break;
		}
		assert_int_equal(r, 1);
		assert_int_equal(p.revents, POLLIN);
		assert_int_equal(got_usr1, 1);
		assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 4);
		assert_memory_equal(b, "late", 4);
	}
	assert_true(n > 2);        /* the scan's unlock, block_begin's */
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

static void test_wake_then_signal_epoll_wait(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
	struct sigaction old;
	char b[16];
	int fd, other, ep, n, r;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	for (n = 1;; n++) {
		got_usr1 = 0;
		fire_at_unlock = n;
		r = shim_epoll_pwait(ep, out, 2, 300, NULL);
		if (r == 0) {
			/* Past the call's unlocks before its timeout: no datagram
			 * came, or after the wait had ended (then it is read). */
			if (!fire_at_unlock)
				assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 4);
			fire_at_unlock = 0;
			break;
		}
		assert_int_equal(r, 1);
		assert_int_equal(out[0].data.u64, 42);
		assert_true(out[0].events & EPOLLIN);
		assert_int_equal(got_usr1, 1);
		assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 4);
	}
	assert_true(n > 2);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_close(ep), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

/*
 * A handler that runs just before the data comes (SIGURG goes before the
 * wake-up of the data that carries the urgent pointer; a SIGURG right
 * behind the SYN-ACK of a connect): Linux's socket waits look at their
 * condition before signals, and the call answers the data, not EINTR.
 * Here the wait ends with EINTR, and the call looks once more. At each
 * unlock of the call in turn, as above; the handler has no SA_RESTART.
 */
static void test_signal_then_data_recv(void **state)
{
	struct sigaction old;
	char b[16];
	int fd, other, n;
	ssize_t r;

	(void)state;
	install_usr1(&old);
	start();
	to_port = 6000;
	other = fh_udp_socket(6000, 0);
	fd = fh_udp_socket(5000, 300);
	raise_first = true;
	for (n = 1;; n++) {
		got_usr1 = 0;
		fire_at_unlock = n;
		r = shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL);
		if (r == -EAGAIN) {
			/* Past the call's unlocks: its timeout. */
			if (!fire_at_unlock)
				assert_int_equal(shim_recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, NULL, NULL), 4);
			fire_at_unlock = 0;
			break;
		}
		assert_int_equal(r, 4);
		assert_memory_equal(b, "late", 4);
		assert_int_equal(got_usr1, 1);
	}
	assert_true(n > 2);
	/* The signal alone (nothing comes): EINTR. */
	got_usr1 = 0;
	raise_in_begin = true;
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(begins, ends);
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_close(other), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

/*
 * A handler that runs while the call starts the stack (the start may wait:
 * a lingering stack's handover of the TAP) ran inside that call: its wait
 * ends with EINTR, as the kernel's connect() would (the SYN went; the
 * connection goes on, and a second connect() finds it in progress).
 */
static void test_signal_during_the_stack_start(void **state)
{
	struct sigaction old;
	struct sockaddr_in a;
	struct timeval tv = { 2, 0 };
	int fd;

	(void)state;
	install_usr1(&old);
	start();
	fd = shim_socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7010);
	a.sin_addr.s_addr = htonl(H_PEER_IP);
	raise_in_start = true;
	assert_int_equal(shim_connect(fd, (struct sockaddr *)&a, sizeof(a)), -EINTR);
	raise_in_start = false;
	assert_int_equal(got_usr1, 1);
	assert_true(fh.h->tx_count > 0);        /* the SYN went */
	assert_int_equal(shim_close(fd), 0);
	assert_int_equal(shim_sigaction(SIGUSR1, &old, NULL), 0);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_recv_drives),
		cmocka_unit_test(test_signal_on_the_way_into_the_wait),
		cmocka_unit_test(test_signal_during_the_stack_start),
		cmocka_unit_test(test_signal_on_the_way_into_poll),
		cmocka_unit_test(test_signal_on_the_way_into_epoll_wait),
		cmocka_unit_test(test_poll_drives),
		cmocka_unit_test(test_epoll_wait_drives),
		cmocka_unit_test(test_frame_for_another_socket),
		cmocka_unit_test(test_ready_fds_end_the_batch),
		cmocka_unit_test(test_refused_waits_on_its_own),
		cmocka_unit_test(test_signal_while_driving),
		cmocka_unit_test(test_wake_then_signal_poll),
		cmocka_unit_test(test_wake_then_signal_epoll_wait),
		cmocka_unit_test(test_signal_then_data_recv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
