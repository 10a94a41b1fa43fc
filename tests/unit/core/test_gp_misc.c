/*
 * Against more of Google's packetdrill scripts for Linux's TCP (repo
 * google/packetdrill, gtests/net/tcp/): a connect() on the 4-tuple of a
 * connection waiting out TIME_WAIT (ts_recent/tw_reuse/), the blocking
 * calls' scripts not in Linux's selftests (blocking/), and more. Each test
 * names the script it follows. pstack keeps Linux's real defaults where the
 * scripts' defaults.sh differs (wscale 7, not 8); a script that sets a
 * sysctl pstack also has gets the same stack_config field.
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
#include "tests/unit/support/tcp_script.h"

/* ---- TIME_WAIT reuse (ts_recent/tw_reuse/) ---- */

/* The waits run out (2 MSL), then the script ends. */
static void end_waits(struct tscript *t)
{
	ts_advance_ms(t, 61000);
	ts_free(t);
}

/* A new socket to the peer from port (0: connect() picks one) with the
 * bind() flags reuse; connect()'s result in *err. */
static struct tcp_conn *open_from(struct tscript *t, uint16_t port, unsigned reuse, int *err)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, port }, peer = { H_PEER_IP, t->peer_port };

	assert_non_null(c);
	if (port)
		assert_int_equal(tcp_bind(c, &local, reuse), 0);
	*err = tcp_connect(c, &peer, t->h->now);
	if (*err == -EINPROGRESS)
		t->local_port = c->pcb.local.port;
	return c;
}

/* The handshake of a connection whose SYN carries sequence number iss
 * (relative to the first connection's), with timestamps or not; then
 * close() first and the peer's FIN: c waits out TIME_WAIT, an orphan. */
static void handshake_and_close(struct tscript *t, struct tcp_conn *c, uint32_t iss, bool ts)
{
	char spec[160];

	snprintf(spec, sizeof(spec), "S %u:%u(0) win 64240 <mss 1460,sackOK,TS val * ecr 0,nop,wscale 7>", iss, iss);
	ts_expect(t, spec);
	ts_advance_ms(t, 1);
	if (ts) {
		ts_injectf(t, "S. 0:0(0) ack %u win 65535 <mss 1460,sackOK,TS val 3001 ecr 1,nop,wscale 8>", iss + 1);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 1 win 502 <nop,nop,TS val * ecr 3001>", iss + 1, iss + 1);
	} else {
		ts_injectf(t, "S. 0:0(0) ack %u win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 8>", iss + 1);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 1 win 502", iss + 1, iss + 1);
	}
	ts_expect(t, spec);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	tcp_close(c, t->h->now);
	snprintf(spec, sizeof(spec), "F. %u:%u(0) ack 1 win 502%s", iss + 1, iss + 1,
		 ts ? " <nop,nop,TS val * ecr 3001>" : "");
	ts_expect(t, spec);
	ts_advance_ms(t, 1);
	if (ts) {
		ts_injectf(t, "F. 1:1(0) ack %u win 8 <nop,nop,TS val 3002 ecr 1>", iss + 2);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win 502 <nop,nop,TS val * ecr 3002>", iss + 2, iss + 2);
	} else {
		ts_injectf(t, "F. 1:1(0) ack %u win 8", iss + 2);
		snprintf(spec, sizeof(spec), ". %u:%u(0) ack 2 win 502", iss + 2, iss + 2);
	}
	ts_expect(t, spec);
	assert_non_null(tcp_lookup(t->h->s, t->h->s->cfg.addr, t->local_port, H_PEER_IP, t->peer_port));
}

/* Where the reused connection's SYN starts: past the old one's sequence
 * space (its ISN, SYN and FIN: 2) and a window of 65535 more. */
#define REUSED_ISS (2u + 65535u + 2u)

/* tw_reuse_ok_after_0sec_with_portlock: a port bind() named (with
 * SO_REUSEADDR, as the old socket had) goes to a new connection with the
 * same peer at once, whatever tcp_tw_reuse says, when the peer used
 * timestamps; the old connection's wait ends. */
static void test_tw_reuse_bound_port_at_once(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int err;

	(void)state;
	c = open_from(t, 57005, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, 0, true);

	c = open_from(t, 57005, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, REUSED_ISS, true);
	end_waits(t);
}

/* tw_reuse_fail_after_1sec_without_tsopt, for a port bind() named: without
 * timestamps nothing tells the old connection's segments from the new
 * one's; connect() fails with EADDRNOTAVAIL and the wait goes on. */
static void test_tw_reuse_bound_port_needs_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	int err;

	(void)state;
	c = open_from(t, 57005, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, 0, false);

	ts_advance_ms(t, 1000);
	c = open_from(t, 57005, INPCB_REUSEADDR, &err);
	assert_int_equal(err, -EADDRNOTAVAIL);
	tcp_close(c, t->h->now);
	ts_expect_none(t);
	assert_non_null(tcp_lookup(t->h->s, t->h->s->cfg.addr, 57005, H_PEER_IP, t->peer_port));
	end_waits(t);
}

/* The port search's counter before the first connection picked its port. */
static uint32_t first_hint;

/* A connection from a port connect() picks, closed first: into TIME_WAIT.
 * Returns its port. */
static uint16_t ephemeral_into_time_wait(struct tscript *t, bool ts)
{
	struct tcp_conn *c;
	int err;

	first_hint = t->h->s->tcp->pcbs.port_hint;
	c = open_from(t, 0, 0, &err);
	assert_int_equal(err, -EINPROGRESS);
	handshake_and_close(t, c, 0, ts);
	return t->local_port;
}

/* connect() from a port it picks itself, its search starting at old's (as
 * with the scripts' one-port IP_LOCAL_PORT_RANGE): whether it took old. */
static bool reconnect_takes(struct tscript *t, uint16_t old)
{
	struct tcp_conn *c;
	char line[512];
	int err;

	t->h->s->tcp->pcbs.port_hint = first_hint;
	c = open_from(t, 0, 0, &err);
	assert_int_equal(err, -EINPROGRESS);
	if (c->pcb.local.port != old) {
		/* Another port: its SYN, then close() in SYN_SENT (nothing sent). */
		assert_true(ts_next(t, line, sizeof(line)));
		assert_int_equal(line[0], 'S');
		tcp_close(c, t->h->now);
		ts_expect_none(t);
		t->local_port = old;
		return false;
	}
	handshake_and_close(t, c, REUSED_ISS, true);
	return true;
}

/* tw_reuse_ok_after_1sec, tw_reuse_fail_after_0sec and
 * tw_reuse_fail_after_990msec: with tcp_tw_reuse 1 and a delay of 1000 ms
 * a port connect() picks, whose 4-tuple waits in TIME_WAIT, is taken only
 * once more than the delay has passed since the wait began (Linux's
 * time_after32 on a millisecond clock: 1000 ms is not enough). */
static void test_tw_reuse_picked_port_after_delay(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	old = ephemeral_into_time_wait(t, true);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 990);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 10);
	assert_false(reconnect_takes(t, old));
	ts_advance_ms(t, 1);
	assert_true(reconnect_takes(t, old));
	end_waits(t);
}

/* fast_tw_reuse_ok_after_1msec and fast_tw_reuse_fail_after_500usec: with
 * tcp_tw_reuse_delay 1 ms, half a millisecond is not enough, two are. */
static void test_tw_reuse_picked_port_short_delay(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	t->h->s->cfg.tcp_tw_reuse_delay_ms = 1;
	old = ephemeral_into_time_wait(t, true);
	ts_advance_us(t, 500);
	assert_false(reconnect_takes(t, old));
	ts_advance_us(t, 1500);
	assert_true(reconnect_takes(t, old));
	end_waits(t);
}

/* tw_reuse_fail_after_1sec_without_tsopt: no timestamps, no reuse, however
 * long the wait has run. */
static void test_tw_reuse_picked_port_needs_timestamps(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	t->h->s->cfg.tcp_tw_reuse = 1;
	old = ephemeral_into_time_wait(t, false);
	ts_advance_ms(t, 5000);
	assert_false(reconnect_takes(t, old));
	end_waits(t);
}

/* Linux's default, tcp_tw_reuse 2: loopback only. The stack's peers are
 * not on loopback: a port connect() picks is never reused before the
 * wait ends. */
static void test_tw_reuse_default_is_loopback_only(void **state)
{
	struct tscript *t = ts_new(100);
	uint16_t old;

	(void)state;
	assert_int_equal(t->h->s->cfg.tcp_tw_reuse, 2);
	assert_int_equal(t->h->s->cfg.tcp_tw_reuse_delay_ms, 1000);
	old = ephemeral_into_time_wait(t, true);
	ts_advance_ms(t, 5000);
	assert_false(reconnect_takes(t, old));
	end_waits(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tw_reuse_bound_port_at_once),
		cmocka_unit_test(test_tw_reuse_bound_port_needs_timestamps),
		cmocka_unit_test(test_tw_reuse_picked_port_after_delay),
		cmocka_unit_test(test_tw_reuse_picked_port_short_delay),
		cmocka_unit_test(test_tw_reuse_picked_port_needs_timestamps),
		cmocka_unit_test(test_tw_reuse_default_is_loopback_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
