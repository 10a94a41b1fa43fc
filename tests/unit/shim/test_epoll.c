/*
 * epoll's ready list (shim/poll.c, Linux's fs/eventpoll.c): a socket's
 * wake-up puts its items on their epoll's ready list and epoll_wait polls
 * only those. Edge-triggered items report once per wake-up that finds them
 * ready, level-triggered ones while ready, one-shot ones once until
 * EPOLL_CTL_MOD; with fewer slots than ready items, the items reported go
 * behind the others (no starvation); a socket closed while ready is gone
 * from the list, unless another fd still holds its file (Linux keeps the
 * item while the file lives); idle sockets are never on the list; a thread
 * blocked in epoll_wait is woken by the arrival.
 *
 * UDP sockets on the harness's stack: a datagram delivered under the stack
 * lock is what a frame read from the device would be.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/fake_host.h"

static int setup(void **state)
{
	struct shim_host host;

	(void)state;
	fh_setup(h_new(NULL, false), shim_wake_flush);
	h_learn_peer(fh.h);
	fh_host(&host);
	fh_init_shim(&host, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fh_teardown();
	h_free(fh.h);
	return 0;
}

/* A datagram for port, as the device would bring it. */
static void deliver(uint16_t port, const char *text)
{
	stack_lock(&fh.lock);
	fh_deliver_udp(port, text);
	stack_unlock(&fh.lock);
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
}

static int wait0(int ep, struct epoll_event *out, int max)
{
	return shim_epoll_pwait(ep, out, max, 0, NULL);
}

/* One datagram read from fd. */
static void drain1(int fd)
{
	char b[32];

	assert_true(shim_recvfrom(fd, b, sizeof(b), 0, NULL, NULL) > 0);
}

static void test_et_once_per_edge(void **state)
{
	int u = fh_udp_socket(5001, 0), ep = epoll_create1(0);
	struct epoll_event out[4];

	(void)state;
	assert_true(ep >= 0);
	add(ep, u, EPOLLIN | EPOLLET, 7);
	assert_int_equal(wait0(ep, out, 4), 0);
	deliver(5001, "one");
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(out[0].data.u64, 7);
	assert_int_equal(out[0].events, EPOLLIN);
	/* Still readable, but no new edge: nothing, and nothing on the list. */
	assert_int_equal(wait0(ep, out, 4), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	/* The next arrival is the next edge, whatever was left unread. */
	deliver(5001, "two");
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(wait0(ep, out, 4), 0);
	drain1(u);
	drain1(u);
	assert_int_equal(wait0(ep, out, 4), 0);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(ep), 0);
}

static void test_lt_keeps_reporting(void **state)
{
	int u = fh_udp_socket(5001, 0), ep = epoll_create1(0);
	struct epoll_event out[4];

	(void)state;
	add(ep, u, EPOLLIN, 8);
	deliver(5001, "one");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(wait0(ep, out, 4), 1);
		assert_int_equal(out[0].data.u64, 8);
		assert_int_equal(shim_test_epoll_ready(ep), 1);
	}
	/* Read: the next wait finds it not ready and leaves it off the list. */
	drain1(u);
	assert_int_equal(wait0(ep, out, 4), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	deliver(5001, "two");
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(ep), 0);
}

static void test_oneshot_until_mod(void **state)
{
	int u = fh_udp_socket(5001, 0), ep = epoll_create1(0);
	struct epoll_event out[4], ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 9 };

	(void)state;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	deliver(5001, "one");
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(out[0].data.u64, 9);
	assert_int_equal(wait0(ep, out, 4), 0);
	/* Disabled: an arrival neither reports nor queues it. */
	deliver(5001, "two");
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	assert_int_equal(wait0(ep, out, 4), 0);
	/* Re-armed: reported once more. */
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(wait0(ep, out, 4), 0);
	/* Re-armed level-triggered: reported while readable. */
	ev.events = EPOLLIN;
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(ep), 0);
}

/* maxevents 1 and three ready sockets: each in turn, in the order they
 * woke, and a socket that gets more data meanwhile keeps its turn. */
static void test_fairness_maxevents_1(void **state)
{
	int s[3], ep = epoll_create1(0);
	struct epoll_event out[4];
	static const uint64_t order[] = { 3, 1, 2, 3, 1, 2 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		s[i] = fh_udp_socket((uint16_t)(5001 + i), 0);
		add(ep, s[i], EPOLLIN, (uint64_t)(i + 1));
	}
	assert_int_equal(wait0(ep, out, 4), 0);
	deliver(5003, "c");
	deliver(5001, "a");
	deliver(5002, "b");
	assert_int_equal(wait0(ep, out, 1), 1);
	assert_int_equal(out[0].data.u64, 3);
	/* More for the one just reported: it stays behind the others. */
	deliver(5003, "c2");
	for (int i = 1; i < 6; i++) {
		assert_int_equal(wait0(ep, out, 1), 1);
		assert_int_equal(out[0].data.u64, order[i]);
	}
	/* With two slots: the next two, then the third and the first again. */
	assert_int_equal(wait0(ep, out, 2), 2);
	assert_int_equal(out[0].data.u64, 3);
	assert_int_equal(out[1].data.u64, 1);
	assert_int_equal(wait0(ep, out, 2), 2);
	assert_int_equal(out[0].data.u64, 2);
	assert_int_equal(out[1].data.u64, 3);
	/* A socket read dry drops out of the turn. */
	drain1(s[0]);
	assert_int_equal(wait0(ep, out, 4), 2);
	assert_int_equal(out[0].data.u64, 2);
	assert_int_equal(out[1].data.u64, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(shim_close(s[i]), 0);
	assert_int_equal(shim_close(ep), 0);
}

static void test_close_while_ready(void **state)
{
	int a = fh_udp_socket(5001, 0), b = fh_udp_socket(5002, 0), ep = epoll_create1(0), d;
	struct epoll_event out[4];

	(void)state;
	add(ep, a, EPOLLIN, 1);
	add(ep, b, EPOLLIN | EPOLLET, 2);
	deliver(5001, "a");
	deliver(5002, "b");
	assert_int_equal(shim_test_epoll_ready(ep), 2);
	/* The last fd of a goes: so does its item, ready or not. */
	assert_int_equal(shim_close(a), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 1);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(out[0].data.u64, 2);
	/* Another fd holds b's file: closing the registered one leaves the
	 * item (Linux removes it when the file's last reference goes). */
	deliver(5002, "b2");
	d = shim_dup(b);
	assert_true(d >= 0);
	assert_int_equal(shim_close(b), 0);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(out[0].data.u64, 2);
	deliver(5002, "b3");
	assert_int_equal(shim_close(d), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	assert_int_equal(wait0(ep, out, 4), 0);
	assert_int_equal(shim_close(ep), 0);
}

/* Registered but idle sockets are not on the list: a wait looks at the one
 * that woke. */
static void test_only_woken_items(void **state)
{
	enum { N = 64 };
	int s[N], ep = epoll_create1(0);
	struct epoll_event out[4];

	(void)state;
	for (int i = 0; i < N; i++) {
		s[i] = fh_udp_socket((uint16_t)(6000 + i), 0);
		add(ep, s[i], EPOLLIN, (uint64_t)i);
	}
	/* ADD queues each item to be polled once (Linux's ep_insert polls). */
	assert_int_equal(shim_test_epoll_ready(ep), N);
	assert_int_equal(wait0(ep, out, 4), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	deliver(6040, "x");
	assert_int_equal(shim_test_epoll_ready(ep), 1);
	assert_int_equal(wait0(ep, out, 4), 1);
	assert_int_equal(out[0].data.u64, 40);
	/* EPOLL_CTL_DEL takes it off the list too. */
	assert_int_equal(shim_epoll_ctl(ep, EPOLL_CTL_DEL, s[40], NULL), 0);
	assert_int_equal(shim_test_epoll_ready(ep), 0);
	assert_int_equal(wait0(ep, out, 4), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(shim_close(s[i]), 0);
	assert_int_equal(shim_close(ep), 0);
}

struct waiter_arg {
	int ep;
	int r;
	struct epoll_event out[2];
};

static void *wait_forever(void *p)
{
	struct waiter_arg *w = p;

	w->r = shim_epoll_pwait(w->ep, w->out, 2, -1, NULL);
	return NULL;
}

/* A thread blocked in epoll_wait: the arrival's wake-up ends its wait. */
static void test_wakes_blocked_waiter(void **state)
{
	int u = fh_udp_socket(5001, 0);
	struct waiter_arg w = { .ep = epoll_create1(0), .r = -1 };
	pthread_t t;

	(void)state;
	add(w.ep, u, EPOLLIN | EPOLLET, 5);
	assert_int_equal(pthread_create(&t, NULL, wait_forever, &w), 0);
	for (long i = 0; shim_test_waiters(w.ep) < 1; i++) {
		assert_true(i < 100000000L);
		sched_yield();
	}
	deliver(5001, "x");
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.r, 1);
	assert_int_equal(w.out[0].data.u64, 5);
	assert_int_equal(shim_close(u), 0);
	assert_int_equal(shim_close(w.ep), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_et_once_per_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lt_keeps_reporting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oneshot_until_mod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fairness_maxevents_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_woken_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakes_blocked_waiter, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
