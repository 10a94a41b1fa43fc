/*
 * The namespace's TCP option switches as the stack's configuration carries
 * them (the host reads net.ipv4.tcp_timestamps, tcp_sack,
 * tcp_window_scaling, tcp_slow_start_after_idle, tcp_notsent_lowat):
 * what the SYNs offer and take, the restart after idleness, the unsent
 * bytes a socket without TCP_NOTSENT_LOWAT holds. Linux's behaviour: its
 * tcp_syn_options and tcp_parse_options (a SYN's option read only with the
 * sysctl on), tcp_cwnd_restart's caller (tcp_slow_start_after_idle),
 * tcp_notsent_lowat(); packetdrill's defaults.sh sets several of them.
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

static uint8_t big[40000];

/* A connect() from the script's port; its SYN must match syn. */
static struct tcp_conn *connect_expect(struct tscript *t, const char *syn)
{
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };

	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	ts_expect(t, syn);
	return c;
}

/* tcp_timestamps 0: the SYN offers no timestamps (and its MSS stands
 * whole, 1460); a listener answers a SYN that offers them without. */
static void test_timestamps_off(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c, *l;
	int v;

	(void)state;
	t->h->s->cfg.tcp_timestamps = 0;
	c = connect_expect(t, "S 0:0(0) win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	assert_int_equal(tcp_getopt(c, TCP_OPT_MAXSEG, &v), 0);
	assert_int_equal(v, 536);
	tcp_close(c, t->h->now);

	ts_new_peer(t);
	l = ts_listen(t, 4);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* tcp_timestamps 2: timestamps without the random offset: the SYN's TS
 * val is the stack's millisecond clock. */
static void test_timestamps_without_offset(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = tcp_open(t->h->s);
	struct ip4_endpoint local = { 0, t->local_port }, peer = { H_PEER_IP, t->peer_port };
	char line[256];

	(void)state;
	t->h->s->cfg.tcp_timestamps = 2;
	ts_advance_ms(t, 1234);
	assert_int_equal(tcp_bind(c, &local, 0), 0);
	assert_int_equal(tcp_connect(c, &peer, t->h->now), -EINPROGRESS);
	assert_true(ts_next(t, line, sizeof(line)));
	assert_non_null(strstr(line, "TS val"));
	/* (the script shows the stack's TS vals from its first on: ask the clock) */
	assert_int_equal(tcp_ts_now(c, t->h->now), (uint32_t)(t->h->now / 1000));
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* tcp_sack 0 and tcp_window_scaling 0: neither offered on the SYN, nor
 * taken from the peer's: the SYN-ACK to a SYN offering both has neither. */
static void test_sack_and_window_scaling_off(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c, *l;

	(void)state;
	t->h->s->cfg.tcp_sack = 0;
	t->h->s->cfg.tcp_window_scaling = 0;
	c = connect_expect(t, "S 0:0(0) win 64240 <mss 1460,nop,nop,TS val 0 ecr 0>");
	tcp_close(c, t->h->now);

	ts_new_peer(t);
	l = ts_listen(t, 4);
	ts_inject(t, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	ts_expect(t, "S. 0:0(0) ack 1 win 65160 <mss 1460,nop,nop,TS val 0 ecr 100>");
	tcp_close(l, t->h->now);
	ts_free(t);
}

/* tcp_slow_start_after_idle 0 (packetdrill's default): after two seconds
 * idle the sender goes on with the window it had (36 segments), where
 * Linux's default restarts it from 10. */
static void test_no_restart_after_idle(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;
	char line[256];
	unsigned next = 1, segs = 0;

	(void)state;
	t->h->s->cfg.tcp_slow_start_after_idle = 0;
	c = ts_accept_mss1000(t, 100, 511, true);
	assert_int_equal(tcp_send(c, big, 26000, t->h->now), 26000);
	ts_expect_data(t, 1, 10001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 10001 win 511");
	ts_expect_data(t, 10001, 26001);
	ts_advance_ms(t, 100);
	ts_inject(t, ". 1:1(0) ack 26001 win 511");
	assert_int_equal(c->cc.cwnd / c->mss, 36);
	ts_advance_ms(t, 2000);
	assert_int_equal(tcp_send(c, big, 40000, t->h->now), 40000);
	next = 26001;
	while (ts_next(t, line, sizeof(line))) {
		unsigned s, e;

		assert_int_equal(sscanf(strchr(line, ' ') + 1, "%u:%u", &s, &e), 2);
		assert_int_equal(s, next);
		segs += (e - s + 999) / 1000;
		next = e;
	}
	assert_int_equal(segs, 36);
	assert_int_equal(c->cc.cwnd / c->mss, 36);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_notsent_lowat: a socket without TCP_NOTSENT_LOWAT is writable only
 * while fewer than half the namespace's mark are unsent, as with the
 * option; 0 here (Linux's UINT_MAX) is no limit. */
static void test_notsent_lowat_default(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c;

	(void)state;
	c = ts_accept_mss1000(t, 100, 0, true);    /* a window of 0: nothing leaves */
	assert_int_equal(tcp_send(c, big, 3000, t->h->now), 3000);
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	t->h->s->cfg.tcp_notsent_lowat = 4000;
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	t->h->s->cfg.tcp_notsent_lowat = 8000;
	assert_true(tcp_poll(c) & SOCK_POLLOUT);
	assert_int_equal(tcp_setopt(c, TCP_OPT_NOTSENT_LOWAT, 2000), 0);
	assert_false(tcp_poll(c) & SOCK_POLLOUT);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamps_off),
		cmocka_unit_test(test_timestamps_without_offset),
		cmocka_unit_test(test_sack_and_window_scaling_off),
		cmocka_unit_test(test_no_restart_after_idle),
		cmocka_unit_test(test_notsent_lowat_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
