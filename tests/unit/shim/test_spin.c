/*
 * Busy-poll (PSTACK_SPIN_US): its setting, and the shim's spinning.
 *
 * The host's spin hook stands in for the runner's runner_poll_once(): it is
 * called with the lock held and, on its third call, delivers a datagram to
 * the stack, as a frame read from the device would be. No other thread runs:
 * a blocked recv/poll/epoll_wait can only return that datagram if the
 * waiting thread itself spun (with spinning off, it would wait until its
 * timeout). Also: the budget runs out into the ordinary blocking wait (and
 * the host hears that the thread stopped spinning), and a signal arriving
 * while spinning interrupts the call as it would the wait.
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
#include "stack/host/config.h"
#include "stack/host/lock.h"
#include "tests/unit/support/fake_host.h"

static int spin_calls, spin_stops;
static int deliver_at;          /* the spin call that delivers (0: never) */
static uint32_t spin_budget;    /* the host's PSTACK_SPIN_US */
static bool raise_instead;      /* that call raises SIGUSR1 instead */
static volatile sig_atomic_t got_usr1;

static uint32_t t_spin_us(void *c) { (void)c; return spin_budget; }
static int t_spin(void *c, bool stop)
{
	(void)c;
	if (stop) {
		spin_stops++;
		return 0;
	}
	if (++spin_calls != deliver_at)
		return 0;
	if (raise_instead) {
		pthread_kill(pthread_self(), SIGUSR1);
		return 0;
	}
	fh_deliver_udp(5000, "spun");
	return 1;
}

static void start(uint32_t spin_us)
{
	struct shim_host host;
	struct stack_config cfg;

	config_defaults(&cfg);
	spin_budget = spin_us;
	fh_setup(h_new(&cfg, false), shim_wake_flush);
	h_learn_peer(fh.h);
	fh_host(&host);
	host.spin = t_spin;
	host.spin_us = t_spin_us;
	spin_calls = spin_stops = 0;
	deliver_at = 3;
	raise_instead = false;
	fh_init_shim(&host, NULL);
}

static void stop(void)
{
	fh_teardown();
	h_free(fh.h);
}

/* ---- the setting ---- */

static const char *const *env_table;

static const char *env_get(const char *name)
{
	for (const char *const *e = env_table; e && e[0]; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static int load(const char *value, struct host_config *cfg, char *err, size_t errlen)
{
	const char *env[] = { "PSTACK_SPIN_US", value, NULL };

	env_table = env;
	return host_config_from_env(cfg, env_get, err, errlen);
}

static void test_spin_setting(void **state)
{
	static const char *const bad[] = { "1000001", "-1", "50us", "fast", "0x10" };
	struct host_config cfg;
	char err[512];

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.spin_us, 0);
	assert_int_equal(load("", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.spin_us, 0);
	assert_int_equal(load("50", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.spin_us, 50);
	assert_int_equal(load("1000000", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.spin_us, 1000000);
	assert_int_equal(load("0", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.spin_us, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i], &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "PSTACK_SPIN_US='"));
		assert_non_null(strstr(err, "microseconds from 0 (off, the default) to 1000000"));
		assert_null(strchr(err, '\n'));
	}
}

/* ---- spinning ---- */

static void test_blocking_recv_spins(void **state)
{
	char b[16];
	int fd;

	(void)state;
	start(10 * 1000 * 1000);
	fd = fh_udp_socket(5000, 5000);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), 4);
	assert_memory_equal(b, "spun", 4);
	assert_int_equal(spin_calls, 3);
	assert_int_equal(spin_stops, 0);     /* it got what it waited for: no hand-back */
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void test_poll_spins(void **state)
{
	struct pollfd p;
	int fd;

	(void)state;
	start(10 * 1000 * 1000);
	fd = fh_udp_socket(5000, 0);
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	assert_int_equal(shim_ppoll(&p, 1, NULL, NULL), 1);
	assert_int_equal(p.revents, POLLIN);
	assert_int_equal(spin_calls, 3);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void test_poll_spin_sees_kernel_fd(void **state)
{
	struct pollfd p[2];
	int fd, pp[2];
	char c = 'k';

	(void)state;
	start(10 * 1000 * 1000);
	deliver_at = 0;
	fd = fh_udp_socket(5000, 0);
	assert_int_equal(pipe(pp), 0);
	assert_int_equal(write(pp[1], &c, 1), 1);
	p[0].fd = fd;
	p[0].events = POLLIN;
	p[1].fd = pp[0];
	p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	/* The stack socket stays idle: the kernel fd's readiness ends the spin. */
	{
		struct timespec ts = { 10, 0 };

		assert_int_equal(shim_ppoll(p, 2, &ts, NULL), 1);
	}
	assert_int_equal(p[0].revents, 0);
	assert_int_equal(p[1].revents, POLLIN);
	close(pp[0]);
	close(pp[1]);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void test_epoll_wait_spins(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
	int fd, ep;

	(void)state;
	start(10 * 1000 * 1000);
	fd = fh_udp_socket(5000, 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(shim_epoll_pwait(ep, out, 2, 10000, NULL), 1);
	assert_int_equal(out[0].data.u64, 42);
	assert_true(out[0].events & EPOLLIN);
	assert_int_equal(spin_calls, 3);
	assert_int_equal(shim_close(fd), 0);
	close(ep);
	stop();
}

/* Off (the default): the hook is never called, the wait times out. */
static void test_spin_off(void **state)
{
	char b[16];
	int fd;

	(void)state;
	start(0);
	fd = fh_udp_socket(5000, 20);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_int_equal(spin_calls, 0);
	assert_int_equal(spin_stops, 0);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

/* The budget runs out into the ordinary wait (here ended by its timeout). */
static void test_spin_budget_then_blocks(void **state)
{
	char b[16];
	int fd;

	(void)state;
	start(2000);
	deliver_at = 0;
	fd = fh_udp_socket(5000, 300);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EAGAIN);
	assert_true(spin_calls > 0);
	/* It told the host it stopped spinning before it blocked. */
	assert_int_equal(spin_stops, 1);
	assert_int_equal(shim_close(fd), 0);
	stop();
}

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

/* A signal while spinning: its handler runs and the call fails with EINTR. */
static void test_signal_while_spinning(void **state)
{
	struct sigaction sa, old;
	sigset_t mask;
	char b[16];
	int fd;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;   /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, &old);
	start(10 * 1000 * 1000);
	raise_instead = true;
	got_usr1 = 0;
	fd = fh_udp_socket(5000, 0);
	assert_int_equal(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL), -EINTR);
	assert_int_equal(got_usr1, 1);
	/* Signals are looked at every fourth round without frames. */
	assert_true(spin_calls >= 3 && spin_calls <= 4);
	assert_int_equal(spin_stops, 1);
	/* The thread's mask is as it was. */
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	assert_int_equal(sigismember(&mask, SIGUSR1), 0);
	assert_int_equal(shim_close(fd), 0);
	sigaction(SIGUSR1, &old, NULL);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spin_setting),
		cmocka_unit_test(test_blocking_recv_spins),
		cmocka_unit_test(test_poll_spins),
		cmocka_unit_test(test_poll_spin_sees_kernel_fd),
		cmocka_unit_test(test_epoll_wait_spins),
		cmocka_unit_test(test_spin_off),
		cmocka_unit_test(test_spin_budget_then_blocks),
		cmocka_unit_test(test_signal_while_spinning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
