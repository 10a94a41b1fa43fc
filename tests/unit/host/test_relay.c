/*
 * The relay of an exposed socket (stack/host/relay.c): two stacks back to
 * back on in-memory links (a is the one whose connection is exposed, b the
 * peer), a real Unix socket pair between the relay and the "program", and
 * the serving thread's round (relay_collect, a poll without waiting,
 * relay_io) run by the test. Checked: bytes both ways in order, the peer's
 * FIN as end of file, the program's shutdown as a FIN, backpressure both
 * ways (a program that does not read closes the window; a peer that does not
 * read stops the program's writes), the last close as FIN (or RST with data
 * left unread), the owner told, process exit draining what the program wrote;
 * a listener's connections handed over its channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "stack/core/arp.h"
#include "stack/core/config.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/host/relay.h"
#include "tests/unit/support/harness.h"

struct pair {
	struct harness *a, *b;      /* a: the exposed side; b: its peer */
	struct tcp_conn *ca, *cb;
	struct relay_set set;
	struct relay *rl;
	int app;                    /* the program's end of the socket pair */
	int kicks, gone, woke;
};

static void kick(void *ctx)
{
	((struct pair *)ctx)->kicks++;
}

static void woke(void *ctx)
{
	((struct pair *)ctx)->woke++;
}

static void gone(void *ctx)
{
	((struct pair *)ctx)->gone++;
}

static int exposed_calls, after_calls;

static void *exposed(void *ctx)
{
	exposed_calls++;
	return ctx;
}

static void after(void *taken)
{
	assert_non_null(taken);
	after_calls++;
}

static const struct relay_cb cb = { .gone = gone, .exposed = exposed, .after = after };
/* The callbacks pair_open's relay gets. */
static const struct relay_cb *open_cb = &cb;

static void shuttle(struct harness *from, struct harness *to)
{
	struct h_frame *f;

	while ((f = h_pop_tx(from))) {
		h_inject(to, f->data, f->len);
		free(f);
	}
}

/* One round: the link both ways, the timers, and the relay's collect and io
 * (the fds polled without waiting, as the stack thread would find them). */
static void round_trip(struct pair *p)
{
	struct pollfd pfd[64];
	bool busy;
	unsigned n;

	shuttle(p->a, p->b);
	shuttle(p->b, p->a);
	h_advance(p->a, 1000);
	h_advance(p->b, 1000);
	assert_true(relay_count(&p->set) <= sizeof(pfd) / sizeof(pfd[0]));
	n = relay_collect(&p->set, pfd, &busy, p->a->now);
	assert_true(n <= relay_pollfds(&p->set));
	if (n)
		assert_true(poll(pfd, n, 0) >= 0);
	relay_io(&p->set, pfd, n);
}

static void rounds(struct pair *p, int n)
{
	for (int i = 0; i < n; i++)
		round_trip(p);
}

static void pair_open(struct pair *p, bool seqpacket)
{
	struct stack_config cfg;
	struct ip4_endpoint ep = { 0, 9000 }, peer = { H_PEER_IP, 9000 };
	struct tcp_conn *lis;
	int sv[2], err;

	memset(p, 0, sizeof(*p));
	p->app = -1;
	config_defaults(&cfg);
	p->a = h_new(&cfg, false);
	config_defaults(&cfg);
	cfg.addr = H_PEER_IP;
	cfg.gateway = 0;
	memcpy(cfg.mac, h_peer_mac, 6);
	p->b = h_new(&cfg, false);
	arp_insert(p->a->s, H_PEER_IP, h_peer_mac, p->a->now);
	arp_insert(p->b->s, H_STACK_IP, h_stack_mac, p->b->now);
	relay_set_init(&p->set, kick, NULL, p);
	if (seqpacket)
		return;
	lis = tcp_open(p->b->s);
	assert_int_equal(tcp_bind(lis, &ep, 0), 0);
	assert_int_equal(tcp_listen(lis, 4), 0);
	p->ca = tcp_open(p->a->s);
	assert_int_equal(tcp_connect(p->ca, &peer, p->a->now), -EINPROGRESS);
	for (int i = 0; i < 20 && !p->cb; i++) {
		round_trip(p);
		p->cb = tcp_accept(lis, &err);
	}
	assert_non_null(p->cb);
	tcp_close(lis, p->b->now);
	assert_int_equal(tcp_get_state(p->ca), TCP_STATE_ESTABLISHED);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p->app = sv[0];
	p->rl = relay_open(&p->set, p->ca, NULL, sv[1], false, open_cb, p);
	assert_non_null(p->rl);
	assert_true(p->kicks > 0);
}

static void pair_free(struct pair *p)
{
	if (p->app >= 0)
		close(p->app);
	relay_set_destroy(&p->set);
	if (p->cb)
		tcp_close(p->cb, p->b->now);
	h_free(p->a);
	h_free(p->b);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 11);
}

/* What the program reads, appended to got (non-blocking). */
static size_t app_read(struct pair *p, uint8_t *got, size_t off, size_t cap, bool *eof)
{
	for (;;) {
		ssize_t n = read(p->app, got + off, cap - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			*eof = true;
		return off;
	}
}

static void test_bytes_both_ways_then_fins(void **state)
{
	enum { N = 3 * 1024 * 1024 };
	static uint8_t out[N], got[N];
	size_t sent = 0, recvd = 0, app_sent = 0, b_got = 0;
	bool eof = false, b_eof = false, app_shut = false;
	struct pair p;

	(void)state;
	for (size_t i = 0; i < N; i++)
		out[i] = pattern(i);
	pair_open(&p, false);
	/* Bytes the stack received before the exposure come out first. */
	assert_int_equal(tcp_send(p.cb, out, 1000, p.b->now), 1000);
	sent = 1000;
	for (int i = 0; i < 20000 && !(eof && b_eof); i++) {
		long r;

		if (sent < N && (r = tcp_send(p.cb, out + sent, N - sent, p.b->now)) > 0)
			sent += (size_t)r;
		if (sent == N && tcp_get_state(p.cb) == TCP_STATE_ESTABLISHED)
			assert_int_equal(tcp_shutdown(p.cb, SHUT_WR, p.b->now), 0);
		if (app_sent < N) {
			ssize_t w = write(p.app, out + app_sent, N - app_sent);

			if (w > 0)
				app_sent += (size_t)w;
		}
		round_trip(&p);
		recvd = app_read(&p, got, recvd, N, &eof);
		if (app_sent == N && eof && !app_shut) {
			/* The connection's FIN is in and one way is still open:
			 * the relay stays. (Once the program has shut its way
			 * too, the pair's end is shut both ways, which poll()
			 * cannot tell from a close: POLLHUP either way; the relay
			 * lets the connection go then, both ways being done.) */
			assert_int_equal(p.gone, 0);
			assert_int_equal(shutdown(p.app, SHUT_WR), 0);
			app_shut = true;
		}
		while (!b_eof) {
			static uint8_t buf[65536];

			r = tcp_recv(p.cb, buf, sizeof(buf), 0, p.b->now);
			if (r == 0)
				b_eof = true;
			if (r <= 0)
				break;
			for (long k = 0; k < r; k++)
				assert_int_equal(buf[k], pattern(b_got + (size_t)k));
			b_got += (size_t)r;
		}
	}
	assert_true(eof);
	assert_true(b_eof);
	assert_int_equal(recvd, N);
	assert_int_equal(b_got, N);
	assert_memory_equal(got, out, N);
	close(p.app);
	p.app = -1;
	rounds(&p, 20);
	assert_int_equal(p.gone, 1);
	assert_false(relay_set_busy(&p.set));
	pair_free(&p);
}

static void test_a_program_that_does_not_read_closes_the_window(void **state)
{
	static uint8_t buf[1 << 20];
	size_t sent = 0;
	struct pair p;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	pair_open(&p, false);
	for (int i = 0; i < 3000; i++) {
		long r = tcp_send(p.cb, buf, sizeof(buf), p.b->now);

		if (r > 0)
			sent += (size_t)r;
		round_trip(&p);
	}
	/* The pair's buffers, the relay's and the connection's window: bounded,
	 * far below what the peer would send (it stops: zero window). */
	assert_true(sent < 16u * 1024 * 1024);
	assert_true(tcp_inq(p.ca) > 0);
	{
		size_t before = sent;

		for (int i = 0; i < 200; i++) {
			long r = tcp_send(p.cb, buf, sizeof(buf), p.b->now);

			if (r > 0)
				sent += (size_t)r;
			round_trip(&p);
		}
		/* No progress while nobody reads (the peer's own send buffer is full). */
		assert_int_equal(tcp_outq(p.cb) > 0, true);
		assert_true(sent - before <= sizeof(buf));
	}
	/* The program closes with data unread: a reset, as a kernel socket's close. */
	close(p.app);
	p.app = -1;
	rounds(&p, 20);
	assert_int_equal(p.gone, 1);
	assert_int_equal(tcp_get_state(p.cb), TCP_STATE_CLOSED);
	assert_int_equal(tcp_take_error(p.cb), -ECONNRESET);
	pair_free(&p);
}

static void test_a_peer_that_does_not_read_stops_the_program(void **state)
{
	static uint8_t buf[1 << 16];
	size_t app_sent = 0, before;
	struct pair p;

	(void)state;
	memset(buf, 'y', sizeof(buf));
	pair_open(&p, false);
	for (int i = 0; i < 3000; i++) {
		ssize_t w = write(p.app, buf, sizeof(buf));

		if (w > 0)
			app_sent += (size_t)w;
		round_trip(&p);
	}
	before = app_sent;
	for (int i = 0; i < 200; i++) {
		ssize_t w = write(p.app, buf, sizeof(buf));

		if (w > 0)
			app_sent += (size_t)w;
		else
			assert_int_equal(errno, EAGAIN);
		round_trip(&p);
	}
	assert_int_equal(app_sent, before);    /* the program's writes stopped */
	assert_true(app_sent < 16u * 1024 * 1024);
	/* The peer reads everything: it was all kept, in order. */
	{
		size_t got = 0;
		long r;

		for (int i = 0; i < 20000 && got < app_sent; i++) {
			while ((r = tcp_recv(p.cb, buf, sizeof(buf), 0, p.b->now)) > 0) {
				for (long k = 0; k < r; k++)
					assert_int_equal(buf[k], 'y');
				got += (size_t)r;
			}
			round_trip(&p);
		}
		assert_int_equal(got, app_sent);
	}
	pair_free(&p);
}

static void test_a_reset_reads_as_end_of_file_and_writes_fail(void **state)
{
	struct pair p;
	char c;
	bool eof = false;

	(void)state;
	pair_open(&p, false);
	assert_int_equal(tcp_setopt(p.cb, TCP_OPT_LINGER, 0), 0);
	tcp_close(p.cb, p.b->now);      /* RST */
	p.cb = NULL;
	rounds(&p, 10);
	(void)app_read(&p, (uint8_t *)&c, 0, 1, &eof);
	assert_true(eof);
	assert_int_equal(send(p.app, "z", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	close(p.app);
	p.app = -1;
	rounds(&p, 10);
	assert_int_equal(p.gone, 1);
	pair_free(&p);
}

static void test_exit_sends_what_the_program_wrote(void **state)
{
	static uint8_t buf[65536];
	size_t got = 0;
	bool eof = false;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	relay_forget(p.rl);     /* the socket's owner is gone at exit */
	assert_int_equal(write(p.app, "last words", 10), 10);
	relay_set_stop(&p.set);
	for (int i = 0; i < 100 && relay_set_busy(&p.set); i++)
		round_trip(&p);
	assert_false(relay_set_busy(&p.set));
	for (int i = 0; i < 100 && !eof; i++) {
		long r = tcp_recv(p.cb, buf + got, sizeof(buf) - got, 0, p.b->now);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			eof = true;
		round_trip(&p);
	}
	assert_true(eof);
	assert_int_equal(got, 10);
	assert_memory_equal(buf, "last words", 10);
	assert_int_equal(p.gone, 0);
	pair_free(&p);
}

/*
 * The keeper's view (stack/host/keeper.h): the program's end is held by
 * another process too (a dup here: a child's copy, or the program the owner
 * exec'd). The owner's copy goes and its socket is forgotten (exit); the
 * relay serves the other holder on, without relay_set_stop, and its fd is
 * among those a keeper keeps (relay_set_fds). When the last holder closes,
 * the connection closes with a FIN, and the keeper's wait sees it through
 * FIN_WAIT_2 and TIME_WAIT (tcp_after_fin) after the close itself is done
 * (tcp_pending_close).
 */
static void test_a_relay_serves_the_other_holder_after_the_owner_went(void **state)
{
	static uint8_t buf[65536];
	int fds[4], holder;
	size_t got = 0;
	bool eof = false;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	assert_int_equal(relay_set_fds(&p.set, fds, 4), 2);   /* the relays' epoll, and the relay's fd */
	holder = dup(p.app);
	assert_true(holder >= 0);
	relay_forget(p.rl);
	close(p.app);
	p.app = holder;
	rounds(&p, 5);
	assert_true(relay_set_busy(&p.set));
	assert_int_equal(tcp_get_state(p.ca), TCP_STATE_ESTABLISHED);
	/* Both ways still. */
	assert_int_equal(tcp_send(p.cb, "from the peer", 13, p.b->now), 13);
	assert_int_equal(write(p.app, "from the child", 14), 14);
	rounds(&p, 10);
	assert_int_equal(read(p.app, buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "from the peer", 13);
	assert_int_equal(tcp_recv(p.cb, buf, sizeof(buf), 0, p.b->now), 14);
	assert_memory_equal(buf, "from the child", 14);
	/* The last holder goes: FIN after the data. */
	close(p.app);
	p.app = -1;
	rounds(&p, 20);
	assert_false(relay_set_busy(&p.set));
	assert_int_equal(relay_set_fds(&p.set, fds, 4), 1);   /* the epoll alone */
	for (int i = 0; i < 100 && !eof; i++) {
		long r = tcp_recv(p.cb, buf + got, sizeof(buf) - got, 0, p.b->now);

		if (r == 0)
			eof = true;
		round_trip(&p);
	}
	assert_true(eof);
	/* the peer's ACK of that FIN is a delayed one (Linux's tcp_fin) */
	rounds(&p, 50);
	assert_int_equal(tcp_pending_close(p.a->s), 0);
	assert_int_equal(tcp_get_state(p.ca), TCP_STATE_FIN_WAIT_2);
	assert_int_equal(tcp_after_fin(p.a->s), 1);
	assert_int_equal(tcp_shutdown(p.cb, SHUT_WR, p.b->now), 0);
	rounds(&p, 5);
	assert_int_equal(tcp_after_fin(p.a->s), 1);    /* TIME_WAIT */
	assert_int_equal(tcp_pending_close(p.a->s), 0);
	assert_int_equal(p.gone, 0);    /* forgotten: no callback */
	pair_free(&p);
}

static void test_udp_datagrams_keep_their_boundaries(void **state)
{
	struct ip4_endpoint la = { 0, 5300 }, lb = { 0, 53 };
	struct ip4_endpoint to_b = { H_PEER_IP, 53 }, to_a = { H_STACK_IP, 5300 }, src;
	struct udp_sock *ua, *ub;
	char buf[2000];
	size_t full;
	struct pair p;
	int sv[2];
	long r;

	(void)state;
	pair_open(&p, true);
	ua = udp_open(p.a->s);
	ub = udp_open(p.b->s);
	assert_int_equal(udp_bind(ua, &la, 0), 0);
	assert_int_equal(udp_connect(ua, &to_b), 0);
	assert_int_equal(udp_bind(ub, &lb, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.app = sv[0];
	p.rl = relay_open(&p.set, NULL, ua, sv[1], false, &cb, &p);
	assert_non_null(p.rl);
	assert_int_equal(write(p.app, "query-1", 7), 7);
	assert_int_equal(write(p.app, "q2", 2), 2);
	rounds(&p, 5);
	r = udp_recvfrom(ub, buf, sizeof(buf), &src, &full, 0);
	assert_int_equal(r, 7);
	assert_memory_equal(buf, "query-1", 7);
	assert_int_equal(src.port, 5300);
	assert_int_equal(udp_recvfrom(ub, buf, sizeof(buf), &src, &full, 0), 2);
	assert_int_equal(udp_sendto(ub, "answer", 6, &to_a, p.b->now), 6);
	assert_int_equal(udp_sendto(ub, "", 0, &to_a, p.b->now), 0);
	rounds(&p, 5);
	assert_int_equal(read(p.app, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "answer", 6);
	assert_int_equal(read(p.app, buf, sizeof(buf)), 0);   /* the empty datagram */
	close(p.app);
	p.app = -1;
	rounds(&p, 5);
	assert_int_equal(p.gone, 1);
	udp_close(ub);
	pair_free(&p);
}

/* Many relays wait in one epoll: the round's wait has two entries however
 * many there are, and what one fd has reaches that fd's relay alone (a
 * datagram written into the 30th of 40 UDP relays leaves from its socket;
 * the TCP relay beside them still moves its bytes both ways). */
static void test_many_relays_wait_in_one_epoll(void **state)
{
	enum { N = 40 };
	struct ip4_endpoint lb = { 0, 53 }, to_b = { H_PEER_IP, 53 }, src;
	struct udp_sock *u[N], *ub;
	struct relay *rl[N];
	int app[N], sv[2];
	struct pollfd pfd[8];
	char buf[64];
	size_t full;
	bool busy;
	unsigned n;
	struct pair p;

	(void)state;
	pair_open(&p, false);
	ub = udp_open(p.b->s);
	assert_int_equal(udp_bind(ub, &lb, 0), 0);
	for (int i = 0; i < N; i++) {
		struct ip4_endpoint la = { 0, (uint16_t)(6000 + i) };

		u[i] = udp_open(p.a->s);
		assert_int_equal(udp_bind(u[i], &la, 0), 0);
		assert_int_equal(udp_connect(u[i], &to_b), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
		app[i] = sv[0];
		rl[i] = relay_open(&p.set, NULL, u[i], sv[1], false, &cb, &p);
		assert_non_null(rl[i]);
	}
	rounds(&p, 3);
	n = relay_collect(&p.set, pfd, &busy, p.a->now);
	assert_true(n <= 2);
	relay_io(&p.set, pfd, n);
	assert_int_equal(write(app[29], "to-29", 5), 5);
	assert_int_equal(write(p.app, "tcp", 3), 3);
	rounds(&p, 5);
	assert_int_equal(udp_recvfrom(ub, buf, sizeof(buf), &src, &full, 0), 5);
	assert_memory_equal(buf, "to-29", 5);
	assert_int_equal(src.port, 6029);
	assert_int_equal(udp_recvfrom(ub, buf, sizeof(buf), &src, &full, 0), -EAGAIN);
	assert_int_equal(tcp_recv(p.cb, buf, sizeof(buf), 0, p.b->now), 3);
	assert_int_equal(tcp_send(p.cb, "back", 4, p.b->now), 4);
	rounds(&p, 5);
	assert_int_equal(read(p.app, buf, sizeof(buf)), 4);
	for (int i = 0; i < N; i++)
		close(app[i]);
	rounds(&p, 5);
	assert_int_equal(p.gone, N);
	udp_close(ub);
	pair_free(&p);
}

/* Armed: the owner serves the socket; the relay watches the fd only, and the
 * first datagram written through it exposes the socket (callbacks), goes
 * out, and from then on the answers come through the fd. */
static void test_an_armed_udp_relay_is_exposed_by_a_write_through_the_fd(void **state)
{
	struct ip4_endpoint la = { 0, 5300 }, lb = { 0, 53 };
	struct ip4_endpoint to_b = { H_PEER_IP, 53 }, to_a = { H_STACK_IP, 5300 }, src;
	struct udp_sock *ua, *ub;
	char buf[2000];
	size_t full;
	struct pair p;
	int sv[2];

	(void)state;
	exposed_calls = after_calls = 0;
	pair_open(&p, true);
	ua = udp_open(p.a->s);
	ub = udp_open(p.b->s);
	assert_int_equal(udp_bind(ua, &la, 0), 0);
	assert_int_equal(udp_connect(ua, &to_b), 0);
	assert_int_equal(udp_bind(ub, &lb, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.app = sv[0];
	p.rl = relay_open(&p.set, NULL, ua, sv[1], true, &cb, &p);
	assert_non_null(p.rl);
	/* Armed: what arrives stays in the socket, for its owner. */
	assert_int_equal(udp_sendto(ub, "early", 5, &to_a, p.b->now), 5);
	rounds(&p, 5);
	assert_int_equal(read(p.app, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(udp_recvfrom(ua, buf, sizeof(buf), &src, &full, 0), 5);
	assert_int_equal(exposed_calls, 0);
	/* A write through the fd: exposed, sent, and the answer comes back through it. */
	assert_int_equal(write(p.app, "query", 5), 5);
	rounds(&p, 5);
	assert_int_equal(exposed_calls, 1);
	assert_int_equal(after_calls, 1);
	assert_int_equal(udp_recvfrom(ub, buf, sizeof(buf), &src, &full, 0), 5);
	assert_memory_equal(buf, "query", 5);
	assert_int_equal(udp_sendto(ub, "answer", 6, &to_a, p.b->now), 6);
	rounds(&p, 5);
	assert_int_equal(read(p.app, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "answer", 6);
	close(p.app);
	p.app = -1;
	rounds(&p, 5);
	assert_int_equal(p.gone, 1);
	udp_close(ub);
	pair_free(&p);
}

/* The program's next connection off a listener's channel: its fd (-1 when
 * none waits) and the note that came with it. */
static int chan_recv(int chan, struct relay_accept_note *note)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { note, sizeof(*note) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(chan, &m, MSG_DONTWAIT) != (ssize_t)sizeof(*note))
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/*
 * A listener's relay (fork children accept on it): each connection comes
 * over the channel with its addresses, as a connected fd of its own whose
 * bytes go both ways; while the program takes none, the channel fills (the
 * rest wait in the listener's accept queue) and nothing is lost; when the
 * program's end of the channel is gone, the listener is closed.
 */
static void test_a_listener_hands_connections_over_its_channel(void **state)
{
	enum { CONNS = 24 };
	struct ip4_endpoint any = { 0, 9000 }, srv = { H_STACK_IP, 9000 };
	struct tcp_conn *lis, *cl[CONNS];
	struct relay_accept_note note;
	int sv[2], fds[CONNS], got = 0, queued = 0;
	struct pair p;
	char buf[16];

	(void)state;
	pair_open(&p, true);
	lis = tcp_open(p.a->s);
	assert_int_equal(tcp_bind(lis, &any, 0), 0);
	assert_int_equal(tcp_listen(lis, 64), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.app = sv[0];
	p.rl = relay_open(&p.set, lis, NULL, sv[1], false, &cb, &p);
	assert_non_null(p.rl);
	for (int i = 0; i < CONNS; i++) {
		cl[i] = tcp_open(p.b->s);
		assert_int_equal(tcp_connect(cl[i], &srv, p.b->now), -EINPROGRESS);
	}
	rounds(&p, 50);
	/* Nobody accepts yet: the channel holds a few (its send buffer is
	 * the smallest), the rest wait in the listener's accept queue: fewer
	 * relays than connections. */
	assert_true(relay_count(&p.set) - 1 < CONNS);
	while ((fds[queued] = chan_recv(p.app, &note)) >= 0) {
		assert_int_equal(note.lport, 9000);
		assert_int_equal(note.laddr, H_STACK_IP);
		assert_int_equal(note.paddr, H_PEER_IP);
		queued++;
		if (queued == 1)
			break;      /* read one: the rest below, after more rounds */
	}
	got = queued;
	for (int r = 0; r < 200 && got < CONNS; r++) {
		int fd;

		round_trip(&p);
		while (got < CONNS && (fd = chan_recv(p.app, &note)) >= 0)
			fds[got++] = fd;
	}
	assert_int_equal(got, CONNS);
	/* Each is its peer's connection: a byte each way. */
	for (int i = 0; i < CONNS; i++) {
		struct ip4_endpoint local;

		tcp_local(cl[i], &local);
		assert_int_equal(write(fds[i], "x", 1), 1);
		assert_int_equal(tcp_send(cl[i], "y", 1, p.b->now), 1);
		rounds(&p, 5);
		assert_int_equal(tcp_recv(cl[i], buf, sizeof(buf), 0, p.b->now), 1);
		assert_int_equal(buf[0], 'x');
		assert_int_equal(read(fds[i], buf, sizeof(buf)), 1);
		assert_int_equal(buf[0], 'y');
		close(fds[i]);
	}
	rounds(&p, 5);
	for (int i = 0; i < CONNS; i++) {
		assert_int_equal(tcp_recv(cl[i], buf, sizeof(buf), 0, p.b->now), 0);    /* FIN */
		tcp_close(cl[i], p.b->now);
	}
	/* The last holder of the listener closes its fd: the listener goes. */
	assert_int_equal(p.gone, 0);
	close(p.app);
	p.app = -1;
	rounds(&p, 3);
	assert_int_equal(p.gone, 1);
	cl[0] = tcp_open(p.b->s);
	assert_int_equal(tcp_connect(cl[0], &srv, p.b->now), -EINPROGRESS);
	rounds(&p, 5);
	assert_int_equal(tcp_get_state(cl[0]), TCP_STATE_CLOSED);      /* refused */
	tcp_close(cl[0], p.b->now);
	pair_free(&p);
}

/* A pump starts empty (relay.h). */
static void pump_begin(struct pair *p, struct relay_pump *pump)
{
	memset(pump, 0, sizeof(*pump));
	relay_pump_begin(&p->set, pump, p->a->now);
}

/* A pump (relay.h): a program thread that processed the frames moves the
 * bytes into the fd itself; the serving thread is not asked. */
static void test_a_pump_moves_the_bytes_without_the_serving_thread(void **state)
{
	struct relay_pump pump;
	struct pair p;
	char msg[64], got[64];
	int kicks;

	(void)state;
	pair_open(&p, false);
	p.set.woke = woke;
	rounds(&p, 2);      /* the relay is the serving thread's (and has its buffers) */
	kicks = p.kicks;
	for (int i = 0; i < 200; i++) {
		int w = p.woke;

		memset(msg, 'a' + i % 26, sizeof(msg));
		assert_int_equal(tcp_send(p.cb, msg, sizeof(msg), p.b->now), (long)sizeof(msg));
		shuttle(p.b, p.a);
		assert_true(p.woke > w);
		pump_begin(&p, &pump);
		assert_int_equal(pump.n, 1);
		assert_false(pump.look);
		assert_false(relay_pump_end(&p.set, &pump));
		/* In the fd at once, without a round of the serving thread. */
		assert_int_equal(read(p.app, got, sizeof(got)), (ssize_t)sizeof(got));
		assert_memory_equal(got, msg, sizeof(msg));
		/* The answer goes the serving thread's way (a round reads it
		 * from the fd, the next sends it). */
		assert_int_equal(write(p.app, got, sizeof(got)), (ssize_t)sizeof(got));
		rounds(&p, 2);
		shuttle(p.a, p.b);
		assert_int_equal(tcp_recv(p.cb, got, sizeof(got), 0, p.b->now), (long)sizeof(got));
		assert_memory_equal(got, msg, sizeof(msg));
	}
	assert_int_equal(p.kicks, kicks);
	assert_true(p.set.pumped >= 200);
	pair_free(&p);
}

/* A relay a pump holds is left by the serving thread, which the pump's end
 * then asks to look again; bytes larger than the relay's buffer leave the
 * rest to the serving thread; every byte arrives once, in order. */
static void test_a_pumped_relay_is_left_by_the_serving_thread(void **state)
{
	enum { N = 2 * 1024 * 1024 };
	static uint8_t out[N], got[N];
	struct relay_pump pump;
	struct pollfd pfd[8];
	size_t sent = 0, recvd = 0;
	bool busy, eof = false;
	struct pair p;
	unsigned n;

	(void)state;
	for (size_t i = 0; i < N; i++)
		out[i] = pattern(i);
	pair_open(&p, false);
	p.set.woke = woke;
	rounds(&p, 2);
	assert_int_equal(tcp_send(p.cb, out, 1000, p.b->now), 1000);
	sent = 1000;
	shuttle(p.b, p.a);
	pump_begin(&p, &pump);
	assert_int_equal(pump.n, 1);
	/* The serving thread's round meanwhile: the relay is not its. */
	n = relay_collect(&p.set, pfd, &busy, p.a->now);
	for (unsigned i = 0; i < n; i++)
		assert_true(pfd[i].fd != p.app);
	assert_true(n <= 2);    /* the relays' epoll, and the share region's eventfd at most */
	relay_io(&p.set, pfd, n);
	assert_true(relay_pump_end(&p.set, &pump));     /* it must look again */
	recvd = app_read(&p, got, recvd, N, &eof);
	assert_int_equal(recvd, 1000);
	/* Then a stream far larger than the relay's buffer, pumps and rounds
	 * taking turns, some rounds while a pump holds the relay. */
	for (int i = 0; i < 20000 && recvd < N; i++) {
		long r;

		if (sent < N && (r = tcp_send(p.cb, out + sent, N - sent, p.b->now)) > 0)
			sent += (size_t)r;
		shuttle(p.b, p.a);
		pump_begin(&p, &pump);
		if (i % 3 == 0)
			round_trip(&p);
		relay_pump_end(&p.set, &pump);
		if (i % 2 == 0)
			round_trip(&p);
		recvd = app_read(&p, got, recvd, N, &eof);
	}
	assert_int_equal(recvd, N);
	assert_memory_equal(got, out, N);
	assert_false(relay_pumping());
	pair_free(&p);
}

/* A push (relay.h): the thread that wrote into the fd takes the bytes out
 * of the relay's end and sends them itself; a relay another thread holds is
 * left alone. */
static void test_a_push_sends_what_the_program_wrote(void **state)
{
	struct relay_pump pump;
	struct pair p;
	char msg[64], got[64];

	(void)state;
	pair_open(&p, false);
	p.set.woke = woke;
	rounds(&p, 2);
	/* Each message alone, its ACK brought back before the next: the
	 * congestion window counts packets (ten 64-byte segments fill the
	 * initial window, as on Linux), not bytes. */
	assert_int_equal(tcp_setopt(p.ca, TCP_OPT_NODELAY, 1), 0);
	for (int i = 0; i < 200; i++) {
		memset(msg, 'A' + i % 26, sizeof(msg));
		assert_int_equal(write(p.app, msg, sizeof(msg)), (ssize_t)sizeof(msg));
		assert_true(relay_push_claim(&p.set, p.rl));
		assert_true(relay_pumping());
		/* Held: neither the serving thread nor another push takes it. */
		assert_false(relay_push_claim(&p.set, p.rl));
		relay_push_read(p.rl);
		memset(&pump, 0, sizeof(pump));
		relay_pump_add(&p.set, &pump, p.rl, p.a->now);
		assert_int_equal(pump.n, 1);
		assert_false(relay_pump_end(&p.set, &pump));
		assert_false(relay_pumping());
		/* Sent: the peer has it without a round of the serving thread. */
		shuttle(p.a, p.b);
		assert_int_equal(tcp_recv(p.cb, got, sizeof(got), 0, p.b->now), (long)sizeof(got));
		assert_memory_equal(got, msg, sizeof(msg));
		shuttle(p.b, p.a);
	}
	pair_free(&p);
}

/* A share given back and taken again (the next exposed socket gets the
 * same slot) starts empty: a framed UDP socket's association, an option
 * asked, a wait counted, a push, none of them the earlier socket's. (After
 * the others: the region, once made, adds its eventfd to every round's
 * wait, which pair's rounds do not count.) */
static void test_a_share_taken_again_starts_empty(void **state)
{
	struct relay_share *a, *b;

	(void)state;
	a = relay_share_new();
	assert_non_null(a);
	atomic_store(&a->dgram_peer, (uint64_t)0xc0000201u << 16 | 7007);
	atomic_store(&a->dgram_src, 0xc0000202u);
	atomic_store(&a->push, 1u << TCP_OPT_CORK);
	atomic_store(&a->waiters, 1);
	relay_share_want(a, TCP_OPT_CORK, 1);
	relay_share_free(a);
	b = relay_share_new();
	assert_ptr_equal(b, a);
	assert_int_equal(atomic_load(&b->dgram_peer), 0);
	assert_int_equal(atomic_load(&b->dgram_src), 0);
	assert_int_equal(atomic_load(&b->push), 0);
	assert_int_equal(atomic_load(&b->waiters), 0);
	assert_int_equal(atomic_load(&b->want[TCP_OPT_CORK]), RELAY_OPT_NONE);
	assert_int_equal(atomic_load(&b->req), 0);
	relay_share_free(b);
}

static struct relay_share *cork_share;

static struct relay_share *share_of(void *ctx)
{
	(void)ctx;
	return cork_share;
}

/* One round as round_trip, the data segments a sends counted into segs
 * (their payload sizes, at most cap). */
static size_t round_segs(struct pair *p, size_t *segs, size_t n, size_t cap)
{
	struct h_frame *f;

	while ((f = h_pop_tx(p->a))) {
		if (f->len >= 14 + 20 && f->data[12] == 0x08 && f->data[13] == 0x00 && f->data[14 + 9] == 6) {
			size_t ihl = (size_t)(f->data[14] & 15) * 4;
			size_t tot = (size_t)f->data[16] << 8 | f->data[17];
			size_t doff = (size_t)(f->data[14 + ihl + 12] >> 4) * 4;

			if (tot > ihl + doff && n < cap)
				segs[n++] = tot - ihl - doff;
		}
		h_inject(p->b, f->data, f->len);
		free(f);
	}
	round_trip(p);
	return n;
}

/* A pair whose relay shares its options through cork_share (a fork
 * child's TCP_CORK), past its first rounds. */
static void cork_pair_open(struct pair *p)
{
	static const struct relay_cb cb_share = { .gone = gone, .exposed = exposed, .after = after, .share = share_of };

	cork_share = relay_share_new();
	assert_non_null(cork_share);
	open_cb = &cb_share;
	pair_open(p, false);
	open_cb = &cb;
	rounds(p, 2);
}

/* The child's release (TCP_CORK 0) after it wrote body: the connection
 * sends head and body as one segment, as Linux's uncork does. */
static void cork_release_sends_one(struct pair *p, const char *head, size_t hlen, const char *body, size_t blen)
{
	size_t segs[8], n = 0;
	char got[512];

	relay_share_want(cork_share, TCP_OPT_CORK, 0);
	relay_share_nudge(cork_share, TCP_OPT_CORK, 0);
	for (int i = 0; i < 5; i++)
		n = round_segs(p, segs, n, 8);
	assert_int_equal(n, 1);
	assert_int_equal(segs[0], hlen + blen);
	assert_int_equal(tcp_recv(p->cb, got, sizeof(got), 0, p->b->now), (long)(hlen + blen));
	assert_memory_equal(got, head, hlen);
	assert_memory_equal(got + hlen, body, blen);
	pair_free(p);   /* the share is the relay's, freed with it */
	cork_share = NULL;
}

/*
 * nginx's worker with tcp_nopush (a fork child: the relay serves its
 * connection): TCP_CORK on, the response's head, its body, TCP_CORK off,
 * the release asked without a wait (relay_share_nudge). Linux's uncork
 * sends head and body in one segment; the release must not reach the
 * connection before the body does, or the head leaves alone and the body
 * waits for the peer's ACK of it (Nagle: a delayed ACK, 40 ms).
 */
static void test_a_release_comes_after_the_bytes_written_before_it(void **state)
{
	static const char head[236] = "HTTP/1.1 200 OK", body[33] = "<html><body>hello</body></html>";
	size_t segs[8], n = 0;
	struct pair p;

	(void)state;
	cork_pair_open(&p);
	/* The child: cork, head (the relay takes it into the corked connection). */
	relay_share_want(cork_share, TCP_OPT_CORK, 1);
	relay_share_nudge(cork_share, TCP_OPT_CORK, 1);
	rounds(&p, 2);
	assert_int_equal(write(p.app, head, sizeof(head)), (ssize_t)sizeof(head));
	for (int i = 0; i < 3; i++)
		n = round_segs(&p, segs, n, 8);
	assert_int_equal(n, 0);         /* corked */
	/* Its body, then the uncork, before the relay's next round. */
	assert_int_equal(write(p.app, body, sizeof(body)), (ssize_t)sizeof(body));
	cork_release_sends_one(&p, head, sizeof(head), body, sizeof(body));
}

/*
 * The same, where the relay never sees the cork: TCP_CORK 1, the head (read
 * by the relay), then the body and TCP_CORK 0, all between two looks of its
 * collect at the options (the value it finds is the release alone). The head
 * must not leave before the release: Linux holds it under the cork.
 */
static void test_a_cork_the_relay_did_not_see_holds_the_bytes_before_its_release(void **state)
{
	static const char head[236] = "HTTP/1.1 200 OK", body[33] = "<html><body>hello</body></html>";
	struct pollfd pfd[64];
	struct pair p;
	unsigned np;
	bool busy;

	(void)state;
	cork_pair_open(&p);
	/* The relay's collect, then the child's cork and head, then its io
	 * (which reads the head), then the body and the release. */
	np = relay_collect(&p.set, pfd, &busy, p.a->now);
	relay_share_want(cork_share, TCP_OPT_CORK, 1);
	relay_share_nudge(cork_share, TCP_OPT_CORK, 1);
	assert_int_equal(write(p.app, head, sizeof(head)), (ssize_t)sizeof(head));
	assert_true(poll(pfd, np, 0) >= 0);
	relay_io(&p.set, pfd, np);
	assert_int_equal(write(p.app, body, sizeof(body)), (ssize_t)sizeof(body));
	cork_release_sends_one(&p, head, sizeof(head), body, sizeof(body));
}

/* Once the program has made another process (relay_solo_end), nothing is
 * pumped: the serving thread moves every byte. (Last: it is for good.) */
static void test_no_pump_once_another_process_may_hold_the_fd(void **state)
{
	struct relay_pump pump;
	struct pair p;
	char msg[64] = "after a fork", got[64];

	(void)state;
	pair_open(&p, false);
	p.set.woke = woke;
	rounds(&p, 2);
	relay_solo_end();
	assert_false(relay_push_claim(&p.set, p.rl));
	assert_int_equal(tcp_send(p.cb, msg, sizeof(msg), p.b->now), (long)sizeof(msg));
	shuttle(p.b, p.a);
	pump_begin(&p, &pump);
	assert_int_equal(pump.n, 0);
	assert_true(pump.look);
	assert_true(relay_pump_end(&p.set, &pump));
	assert_int_equal(read(p.app, got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	round_trip(&p);
	assert_int_equal(read(p.app, got, sizeof(got)), (ssize_t)sizeof(got));
	assert_memory_equal(got, msg, sizeof(msg));
	pair_free(&p);
}

/* A framed message into the program's end: hdr, then len bytes of body,
 * with fd (SCM_RIGHTS) unless it is -1. */
static void framed_write(int app, const struct relay_dgram_hdr *h, const void *body, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec v[2] = { { (void *)h, sizeof(*h) }, { (void *)body, len } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cm.buf, 0, sizeof(cm.buf));
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(app, &m, 0), (ssize_t)(sizeof(*h) + len));
}

/*
 * A framed relay (an unconnected UDP socket another process holds) takes
 * a membership asked on its fd (RELAY_DGRAM_REQ, the answer on the pipe
 * that came with it: 0, then EADDRINUSE for the same group again), and its
 * own datagram to the group comes back to it (IP_MULTICAST_LOOP): looped
 * inside the round that sent it, it leaves the serving thread busy (no
 * wait for another event first), and reaches the program framed with its
 * source.
 */
static void test_a_framed_relay_joins_on_request_and_hears_its_own_group(void **state)
{
	struct ip4_endpoint la = { 0, 5300 };
	struct relay_dgram_hdr h = { 0 };
	struct relay_dgram_req q = { .op = RELAY_REQ_JOIN, .group = 0xef010203u };
	struct udp_sock *ua;
	struct pollfd pfd[8];
	char buf[64];
	int32_t res;
	int sv[2], pp[2];
	bool busy = false;
	struct pair p;
	unsigned n;

	(void)state;
	pair_open(&p, true);
	ua = udp_open(p.a->s);
	assert_int_equal(udp_bind(ua, &la, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.app = sv[0];
	p.rl = relay_open(&p.set, NULL, ua, sv[1], false, &cb, &p);
	assert_non_null(p.rl);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipe(pp), 0);
		h.flags = RELAY_DGRAM_REQ;
		framed_write(p.app, &h, &q, sizeof(q), pp[1]);
		close(pp[1]);
		rounds(&p, 3);
		assert_int_equal(read(pp[0], &res, sizeof(res)), (ssize_t)sizeof(res));
		assert_int_equal(res, i == 0 ? 0 : -EADDRINUSE);
		assert_int_equal(read(pp[0], &res, sizeof(res)), 0);    /* closed after the answer */
		close(pp[0]);
	}
	/* A request without its pipe is dropped, the relay goes on. */
	framed_write(p.app, &h, &q, sizeof(q), -1);
	rounds(&p, 2);
	h = (struct relay_dgram_hdr){ .addr = 0xef010203u, .port = 5300 };
	framed_write(p.app, &h, "self", 4, -1);
	rounds(&p, 1);          /* io took it from the fd */
	n = relay_collect(&p.set, pfd, &busy, p.a->now);     /* sent, and looped back */
	assert_true(busy);
	if (n)
		assert_true(poll(pfd, n, 0) >= 0);
	relay_io(&p.set, pfd, n);
	rounds(&p, 2);
	assert_int_equal(read(p.app, buf, sizeof(buf)), (ssize_t)(sizeof(h) + 4));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.addr, H_STACK_IP);
	assert_int_equal(h.port, 5300);
	assert_memory_equal(buf + sizeof(h), "self", 4);
	/* The program's end closed: the relay closes its socket (the stack's
	 * UDP socket is the relay's, not pair_free's). */
	close(p.app);
	p.app = -1;
	rounds(&p, 5);
	assert_int_equal(p.gone, 1);
	pair_free(&p);
}

/*
 * An fd that comes with an empty message (a datagram of no bytes, which
 * the relay sends on as one) is closed like any other that comes with
 * something not a request: the stack process keeps none of them (fuzz_relay
 * found them kept, one more fd per message). The relay goes on.
 */
static void test_a_framed_relay_closes_the_fd_of_an_empty_message(void **state)
{
	struct ip4_endpoint la = { 0, 5301 };
	struct relay_dgram_hdr h = { .flags = RELAY_DGRAM_REQ };
	struct relay_dgram_req q = { .op = RELAY_REQ_JOIN, .group = 0xef010204u };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec v = { NULL, 0 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	struct udp_sock *ua;
	struct pair p;
	int32_t res;
	int sv[2], pp[2];

	(void)state;
	pair_open(&p, true);
	ua = udp_open(p.a->s);
	assert_int_equal(udp_bind(ua, &la, 0), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	p.app = sv[0];
	p.rl = relay_open(&p.set, NULL, ua, sv[1], false, &cb, &p);
	assert_non_null(p.rl);
	assert_int_equal(pipe2(pp, O_NONBLOCK), 0);
	memset(cm.buf, 0, sizeof(cm.buf));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pp[1], sizeof(int));
	assert_int_equal(sendmsg(p.app, &m, 0), 0);
	close(pp[1]);
	rounds(&p, 3);
	/* The relay's copy closed too: end of file, not EAGAIN. */
	assert_int_equal(read(pp[0], &res, sizeof(res)), 0);
	close(pp[0]);
	/* The relay goes on: a request is answered. */
	assert_int_equal(pipe(pp), 0);
	framed_write(p.app, &h, &q, sizeof(q), pp[1]);
	close(pp[1]);
	rounds(&p, 3);
	assert_int_equal(read(pp[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	assert_int_equal(res, 0);
	close(pp[0]);
	close(p.app);
	p.app = -1;
	rounds(&p, 5);
	assert_int_equal(p.gone, 1);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_both_ways_then_fins),
		cmocka_unit_test(test_a_program_that_does_not_read_closes_the_window),
		cmocka_unit_test(test_a_peer_that_does_not_read_stops_the_program),
		cmocka_unit_test(test_a_reset_reads_as_end_of_file_and_writes_fail),
		cmocka_unit_test(test_exit_sends_what_the_program_wrote),
		cmocka_unit_test(test_a_relay_serves_the_other_holder_after_the_owner_went),
		cmocka_unit_test(test_udp_datagrams_keep_their_boundaries),
		cmocka_unit_test(test_many_relays_wait_in_one_epoll),
		cmocka_unit_test(test_an_armed_udp_relay_is_exposed_by_a_write_through_the_fd),
		cmocka_unit_test(test_a_listener_hands_connections_over_its_channel),
		cmocka_unit_test(test_a_pump_moves_the_bytes_without_the_serving_thread),
		cmocka_unit_test(test_a_pumped_relay_is_left_by_the_serving_thread),
		cmocka_unit_test(test_a_push_sends_what_the_program_wrote),
		cmocka_unit_test(test_no_pump_once_another_process_may_hold_the_fd),
		cmocka_unit_test(test_a_share_taken_again_starts_empty),
		cmocka_unit_test(test_a_release_comes_after_the_bytes_written_before_it),
		cmocka_unit_test(test_a_cork_the_relay_did_not_see_holds_the_bytes_before_its_release),
		cmocka_unit_test(test_a_framed_relay_joins_on_request_and_hears_its_own_group),
		cmocka_unit_test(test_a_framed_relay_closes_the_fd_of_an_empty_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
