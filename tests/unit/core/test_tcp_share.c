/*
 * One socket held twice (tcp_share): a process bound it, and the child it
 * forked listened on it through a relay (varnishd's manager and child).
 * The kernel's socket is one object with two references: either process's
 * close lets go of its reference only, and both see its events. Here the
 * parent's wake-up stays beside the relay's, the first close is absorbed,
 * and the socket ends with the second. tcp_find_bound is how the owner's
 * stack finds the parent's socket from the number the child has.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/harness.h"
#include "tests/unit/support/tcp_script.h"

static uint64_t id_of(const struct tcp_conn *c)
{
	return (uint64_t)(uintptr_t)c;
}

/* Found by its number while bound and CLOSED, and while a listener nobody
 * shares; not by another number, another address or port, nor shared. */
static void test_find_bound(void **state)
{
	struct tscript *t = ts_new(0);
	struct ip4_endpoint ep = { H_STACK_IP, TS_LOCAL_PORT }, other = { H_STACK_IP, TS_LOCAL_PORT + 1 };
	struct ip4_endpoint any = { 0, TS_LOCAL_PORT };
	struct tcp_conn *c = tcp_open(t->h->s), *d = tcp_open(t->h->s);

	(void)state;
	assert_int_equal(tcp_bind(c, &ep, 0), 0);
	assert_int_equal(tcp_bind(d, &other, 0), 0);
	assert_ptr_equal(tcp_find_bound(t->h->s, &ep, id_of(c)), c);
	assert_null(tcp_find_bound(t->h->s, &ep, id_of(d)));
	assert_null(tcp_find_bound(t->h->s, &other, id_of(c)));
	assert_null(tcp_find_bound(t->h->s, &any, id_of(c)));
	assert_null(tcp_find_bound(t->h->s, &ep, 0));
	assert_int_equal(tcp_listen(c, 8), 0);
	assert_ptr_equal(tcp_find_bound(t->h->s, &ep, id_of(c)), c);
	tcp_share(c);
	assert_true(tcp_shared(c));
	assert_null(tcp_find_bound(t->h->s, &ep, id_of(c)));
	tcp_close(c, t->h->now);
	assert_false(tcp_shared(c));
	tcp_close(c, t->h->now);
	tcp_close(d, t->h->now);
	ts_free(t);
}

/* Shared, both holders hear of a connection to accept; the relay's close
 * (its wake-up cleared first) is absorbed and the parent's wake-up is the
 * socket's again; the parent's close then ends the listener: a SYN gets a
 * reset. */
static void test_share_relay_closes_first(void **state)
{
	static const struct sock_wakeup none = { 0 };
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 8), *a;
	struct ts_wake parent, relay;
	int err;

	(void)state;
	ts_watch(l, &parent);
	tcp_share(l);
	ts_watch(l, &relay);
	a = ts_accept_one(t, l);
	assert_true(parent.count > 0);
	assert_true(relay.count > 0);
	ts_abort(t, a);
	/* The relay goes. */
	tcp_set_wakeup(l, &none);
	tcp_close(l, t->h->now);
	assert_int_equal(tcp_get_state(l), TCP_STATE_LISTEN);
	parent.count = relay.count = 0;
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val * ecr 100,nop,wscale 7>");
	ts_inject(t, ". 1:1(0) ack 1 win 502 <nop,nop,TS val 100 ecr 0>");
	assert_true(parent.count > 0);
	assert_int_equal(relay.count, 0);
	a = tcp_accept(l, &err);
	assert_non_null(a);
	ts_abort(t, a);
	/* The parent's close is the last: no listener any more. */
	tcp_close(l, t->h->now);
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "R. 0:0(0) ack 1 win 0");
	ts_free(t);
}

/* The parent closes first (its wake-up left as it is: the relay's is the
 * socket's): absorbed, the relay alone hears of the next connection, and
 * the relay's close ends the listener. */
static void test_share_parent_closes_first(void **state)
{
	static const struct sock_wakeup none = { 0 };
	struct tscript *t = ts_new(0);
	struct tcp_conn *l = ts_listen(t, 8), *a;
	struct ts_wake parent, relay;

	(void)state;
	ts_watch(l, &parent);
	tcp_share(l);
	ts_watch(l, &relay);
	tcp_close(l, t->h->now);
	assert_false(tcp_shared(l));
	a = ts_accept_one(t, l);
	assert_int_equal(parent.count, 0);
	assert_true(relay.count > 0);
	ts_abort(t, a);
	tcp_set_wakeup(l, &none);
	tcp_close(l, t->h->now);
	ts_new_peer(t);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "R. 0:0(0) ack 1 win 0");
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_bound),
		cmocka_unit_test(test_share_relay_closes_first),
		cmocka_unit_test(test_share_parent_closes_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
