/* A fourth sweep of Linux's wire-level TCP tests: scripts of Linux's
 * packetdrill selftests (tools/testing/selftests/net/packetdrill) and of
 * google/packetdrill's gtests/net/tcp (as google/bbr carries them) that no
 * other test follows. Each test names its script; the script is the
 * oracle (where it leaves a figure open, the Linux function the test
 * follows says why). As there, the peer announces an MSS of 1000, and
 * packetdrill's tun cooks its large segments as GSO frames of 1000-byte
 * segments (--mss=1000). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/stack.h"
#include "stack/core/stack_priv.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_priv.h"
#include "tests/unit/support/tcp_script.h"

static uint8_t buf[1 << 21];

/* A passive open on a listener given SO_RCVBUF rcvbuf (0: none). */
static struct tcp_conn *accept_with(struct tscript *t, int rcvbuf, const char *syn, const char *synack,
				    const char *ack)
{
	struct tcp_conn *l = tcp_open(t->h->s), *c;
	struct ip4_endpoint ep = { 0, t->local_port };
	int err;

	assert_non_null(l);
	if (rcvbuf)
		assert_int_equal(tcp_setopt(l, TCP_OPT_RCVBUF, rcvbuf), 0);
	assert_int_equal(tcp_bind(l, &ep, 0), 0);
	assert_int_equal(tcp_listen(l, 1), 0);
	ts_inject(t, syn);
	ts_expect(t, synack);
	ts_inject(t, ack);
	c = tcp_accept(l, &err);
	assert_non_null(c);
	tcp_close(l, t->h->now);
	assert_int_equal(tcp_get_state(c), TCP_STATE_ESTABLISHED);
	return c;
}

/* The peer's segment [start, end) with PSH, as one GSO frame of 1000-byte segments. */
static void inject_gso(struct tscript *t, unsigned start, unsigned end, unsigned ack)
{
	char spec[128];

	snprintf(spec, sizeof(spec), "P. %u:%u(%u) ack %u win 257", start, end, end - start, ack);
	ts_inject_rx(t, spec, stack_rx_gso(1000));
}

/* The ACKs that follow (packetdrill's '*': at some time), the last of which
 * must ACK ack; returns its window field. */
static unsigned expect_acked(struct tscript *t, unsigned una, unsigned ack)
{
	char line[512], last[512] = "", want[96];
	unsigned w = 0;

	ts_advance_ms(t, 200);
	while (ts_next(t, line, sizeof(line)))
		memcpy(last, line, sizeof(last));
	snprintf(want, sizeof(want), ". %u:%u(0) ack %u win *", una, una, ack);
	if (!ts_match(want, last))
		fail_msg("expected '%s', the last frame was '%s'", want, last);
	assert_int_equal(sscanf(strstr(last, "win"), "win %u", &w), 1);
	return w;
}

/* ---- receive side ---- */

/* gro/gro-mss-option.pkt (google/packetdrill, as google/bbr carries it):
 * the peer's SYN announces MSS 1100, but its 10000 bytes come as one GRO
 * frame of 1000-byte segments: ACKed at once (quick-ACK mode), and the
 * largest segment ever received is 1000 (tcpi_rcv_mss: the frame's
 * gso_size, Linux's tcp_measure_rcv_mss), not the frame's length nor the
 * MSS the peer announced. */
static void test_gro_frame_rcv_mss_is_gso_size(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	struct tcp_conn_info i;

	(void)state;
	t->h->s->cfg.tcp_rmem[2] = 15 * 1024 * 1024;    /* common/defaults.sh: window scale 8 */
	c = accept_with(t, 0, "S 0:0(0) win 32792 <mss 1100,sackOK,nop,nop,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale 8>",
			". 1:1(0) ack 1 win 320");
	ts_inject_rx(t, ". 1:10001(10000) ack 1 win 320", stack_rx_gso(1000));
	ts_expect(t, ". 1:1(0) ack 10001 win *");
	tcp_get_info(c, &i, t->h->now);
	assert_int_equal(i.rcv_mss, 1000);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_rcv_toobig_default.pkt (net.ipv4.tcp_moderate_rcvbuf=0): on the
 * default receive buffer, 16 segments of 65000 bytes each read at once,
 * then 62000 left queued and another 65000 that still fits the window
 * already offered: taken (Linux grows sk_rcvbuf to honour the window it
 * exposed rather than drop), and both read. */
static void test_rcv_default_buffer_honours_offered_window(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	unsigned seq = 1;

	(void)state;
	c = accept_with(t, 0, "S 0:0(0) win 65535 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win * <mss 1460,nop,nop,sackOK,nop,wscale *>",
			". 1:1(0) ack 1 win 257");
	for (int k = 0; k < 16; k++) {
		inject_gso(t, seq, seq + 65000, 1);
		seq += 65000;
		expect_acked(t, 1, seq);
		assert_int_equal(tcp_recv(c, buf, 65000, 0, t->h->now), 65000);
		ts_check_bytes(buf, 65000, seq - 65000);
	}
	h_drain_tx(t->h);
	inject_gso(t, seq, seq + 62000, 1);
	seq += 62000;
	expect_acked(t, 1, seq);
	inject_gso(t, seq, seq + 65000, 1);
	seq += 65000;
	expect_acked(t, 1, seq);
	assert_int_equal(tcp_recv(c, buf, 127000, 0, t->h->now), 127000);
	ts_check_bytes(buf, 127000, seq - 127000);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_rcv_toobig.pkt as Linux 7.0's selftests have it: SO_RCVBUF 20000
 * (a window of 18980), 20000 bytes taken; SO_RCVBUF 12000, then 60000
 * bytes that end past the window while those wait: dropped whole, the
 * duplicate ACK keeping the window (no memory was asked for). Once they
 * are read, the same 60000 come into an empty queue: taken whole, past the
 * window and the smaller buffer alike (Linux's sk_forced_mem_schedule),
 * and no window is left; the buffer is not zeroed on the way. */
static void test_rcv_too_big_into_empty_queue_forced(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	unsigned w;
	int v = 0;

	(void)state;
	c = accept_with(t, 20000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 18980 <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	inject_gso(t, 1, 20001, 1);
	w = expect_acked(t, 1, 20001);
	assert_true(w > 0);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 12000), 0);
	inject_gso(t, 20001, 80001, 1);
	ts_expect(t, ". 1:1(0) ack 20001 win *");
	assert_int_equal(tcp_inq(c), 20000);
	assert_int_equal(tcp_recv(c, buf, 20000, 0, t->h->now), 20000);
	ts_check_bytes(buf, 20000, 1);
	h_drain_tx(t->h);
	inject_gso(t, 20001, 80001, 1);
	ts_expect(t, ". 1:1(0) ack 80001 win 0");
	assert_int_equal(tcp_inq(c), 60000);
	assert_int_equal(tcp_getopt(c, TCP_OPT_SO_RCVBUF, &v), 0);
	assert_true(v > 0);
	assert_int_equal(tcp_recv(c, buf, 60000, 0, t->h->now), 60000);
	ts_check_bytes(buf, 60000, 20001);
	h_drain_tx(t->h);
	ts_abort(t, c);
	ts_free(t);
}

/* tcp_rcv_toobig_back_to_back.pkt (Linux 7.0's selftests): SO_RCVBUF
 * 20000, a window of 18980 offered, and a segment of 20000 that ends
 * beyond it: taken whole, the receive queue being empty. A reset right at
 * its end then is at RCV.NXT and ends the connection (had the segment been
 * cut at the window, the reset would lie beyond RCV.NXT and only draw a
 * challenge ACK). */
static void test_rcv_too_big_then_reset_at_its_end(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;

	(void)state;
	c = accept_with(t, 20000, "S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 18980 <mss 1460,nop,wscale 0>", ". 1:1(0) ack 1 win 257");
	inject_gso(t, 1, 20001, 1);
	assert_int_equal(tcp_inq(c), 20000);
	h_drain_tx(t->h);
	ts_inject(t, "R. 20001:20001(0) ack 1 win 257");
	ts_expect_none(t);
	assert_int_equal(tcp_get_state(c), TCP_STATE_CLOSED);
	tcp_close(c, t->h->now);
	ts_free(t);
}

/* tcp_rcv_wnd_shrink_nomem.pkt (Linux 7.0's selftests), its first half:
 * 1040000 bytes unread in a buffer of SO_RCVBUF 1000000, then SO_RCVBUF
 * 16000: the next segment finds no room, is dropped and answered at once
 * with a zero window (Linux's tcp_select_window with ICSK_ACK_NOMEM, since
 * 6.0), and the data we send then says the same. In order text is then
 * dropped (zero window), a segment partly below RCV.NXT too, its old part
 * D-SACKed (tcp_send_dupack), and so are segments beyond, each answered.
 * Once all is read, a window again.
 *
 * The script's pure ACK at 1105001, inside the largest window offered
 * but beyond the zero one, is taken by Linux 7.0 (rcv_mwnd_seq); Linux
 * 6.18, this machine's kernel, answers it with a duplicate ACK and ignores
 * its ACK field, as pstack does: the test sends it at RCV.NXT. */
static void test_rcv_nomem_zero_window(void **state)
{
	struct tscript *t = ts_new(0);
	struct tcp_conn *c;
	unsigned seq = 1;

	(void)state;
	c = accept_with(t, 1000000, "S 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>",
			"S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 4>",
			". 1:1(0) ack 1 win 257");
	for (int k = 0; k < 16; k++) {
		inject_gso(t, seq, seq + 65000, 1);
		seq += 65000;
		expect_acked(t, 1, seq);
	}
	assert_int_equal(tcp_inq(c), 1040000);
	assert_int_equal(tcp_setopt(c, TCP_OPT_RCVBUF, 16000), 0);
	inject_gso(t, 1040001, 1105001, 1);
	ts_expect(t, ". 1:1(0) ack 1040001 win 0");
	ts_expect_none(t);
	assert_int_equal(tcp_inq(c), 1040000);
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1:1001(1000) ack 1040001 win 0");
	ts_inject(t, ". 1040001:1040001(0) ack 1001 win 257");
	ts_expect_none(t);
	ts_inject(t, "P. 1040001:1041001(1000) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 1040001 win 0");
	ts_inject(t, "P. 1039001:1041001(2000) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 1040001 win 0 <nop,nop,sack 1039001:1040001>");
	ts_inject(t, "P. 1105001:1106001(1000) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 1040001 win 0");
	ts_inject(t, "P. 2000001:2001001(1000) ack 1001 win 257");
	ts_expect(t, ". 1001:1001(0) ack 1040001 win 0");
	assert_null(c->ofo);
	assert_int_equal(tcp_recv(c, buf, 2000000, 0, t->h->now), 1040000);
	ts_check_bytes(buf, 1040000, 1);
	ts_expect(t, ". 1001:1001(0) ack 1040001 win *");
	/* The second half, a window open again but smaller than the largest
	 * offered: in order text is taken, a segment partly old too (its old
	 * part D-SACKed), one past the window is dropped and answered, as is
	 * one past anything ever offered; 20000 more fit the window. (The
	 * script's pure ACK past the window and its last 20000 bytes past it
	 * are taken by Linux 7.0's rcv_mwnd_seq checks; 6.18 and pstack answer
	 * and drop them.) */
	assert_int_equal(tcp_send(c, buf, 1000, t->h->now), 1000);
	ts_expect(t, "P. 1001:2001(1000) ack 1040001 win *");
	ts_inject(t, ". 1040001:1040001(0) ack 2001 win 257");
	ts_inject(t, "P. 1040001:1041001(1000) ack 2001 win 257");
	expect_acked(t, 2001, 1041001);         /* the script's '*': a delayed ACK */
	ts_inject(t, "P. 1040001:1042001(2000) ack 2001 win 257");
	ts_expect(t, ". 2001:2001(0) ack 1042001 win * <nop,nop,sack 1040001:1041001>");
	ts_inject(t, "P. 1105001:1106001(1000) ack 2001 win 257");
	ts_expect(t, ". 2001:2001(0) ack 1042001 win *");
	ts_inject(t, "P. 2000001:2001001(1000) ack 2001 win 257");
	ts_expect(t, ". 2001:2001(0) ack 1042001 win *");
	assert_null(c->ofo);
	inject_gso(t, 1042001, 1062001, 2001);
	expect_acked(t, 2001, 1062001);
	assert_int_equal(tcp_inq(c), 22000);
	ts_abort(t, c);
	ts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gro_frame_rcv_mss_is_gso_size),
		cmocka_unit_test(test_rcv_default_buffer_honours_offered_window),
		cmocka_unit_test(test_rcv_too_big_into_empty_queue_forced),
		cmocka_unit_test(test_rcv_too_big_then_reset_at_its_end),
		cmocka_unit_test(test_rcv_nomem_zero_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
