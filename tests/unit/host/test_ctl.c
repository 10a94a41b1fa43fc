/*
 * The control socket (stack/host/ctl.c): the snapshot's text for a stack
 * on the in-memory link with connections in known states; the folder's
 * checks (made 0700; another mode, another owner, a symlink or a file
 * refused) and its choice ($XDG_RUNTIME_DIR/pstack or /tmp/pstack-UID);
 * who is answered; and the serving round the stack thread runs
 * (ctl_collect, poll, ctl_io), driven by the test with a real socket: a
 * request answered, garbage answered with an error, a silent client closed
 * at its deadline, a stranger (as root: a child that becomes nobody)
 * closed without a word, the file gone at ctl_close. Joiners (PSTACK_STACK):
 * their requests checked, the names' paths, and a listen request served
 * on the name's path: answered with the port, the channel given to a relay.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "stack/core/tcp/tcp.h"
#include "stack/core/tcp/tcp_cc.h"
#include "stack/core/udp.h"
#include "stack/host/ctl.h"
#include "stack/host/relay.h"
#include "tests/unit/support/harness.h"
#include "tests/unit/support/tcp_script.h"

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want)) {
		print_error("missing: [%s]\nin:\n%s\n", want, text);
		fail();
	}
}

/* A listener, an established connection with 5 bytes unacknowledged, a
 * bound UDP socket: the snapshot shows each as ss and nstat would. */
static void test_snapshot_text(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *l = ts_listen(t, 8), *c = ts_accept_one(t, l);
	struct udp_sock *u = udp_open(t->h->s);
	struct ip4_endpoint ep = { 0, 53 };
	struct ctl_host host = { .dev = "tap9", .pid = 4242, .started = t->h->now - 500000, .relays = 2 };
	size_t len = 0;
	char *text;

	(void)state;
	assert_int_equal(tcp_send(c, "hello", 5, t->h->now), 5);
	h_drain_tx(t->h);
	assert_non_null(u);
	assert_int_equal(udp_bind(u, &ep, 0), 0);
	text = ctl_snapshot(t->h->s, &host, t->h->now, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_has(text, "pstack 4242: tap9 192.0.2.2/24 gateway 192.0.2.1 mac 00:00:5e:00:53:01 mtu 1500 up 0.500s\n"
			 "Netid State      Recv-Q   Send-Q   Local Address:Port    Peer Address:Port\n");
	assert_has(text, "\ntcp   LISTEN     0        8        0.0.0.0:8080          0.0.0.0:*\n");
	assert_has(text, "\ntcp   ESTAB      0        5        192.0.2.2:8080        192.0.2.1:40000\n"
			 "\t cubic ts sack wscale:7,7 rto:");
	assert_has(text, " mss:1448 pmtu:1500 ");
	assert_has(text, " cwnd:10 bytes_acked:");
	assert_has(text, " bytes_received:0 ");
	assert_has(text, " retrans:0/0 ");
	assert_has(text, "\nudp   UNCONN     0        0        0.0.0.0:53            0.0.0.0:*\n");
	assert_has(text, "\nCounters\n");
	assert_has(text, "\nTcpActiveOpens                   0\n");
	assert_has(text, "\nTcpPassiveOpens                  1\n");
	assert_has(text, "\nTcpCurrEstab                     1\n");
	assert_has(text, "\nPstackRelays                     2\n");
	assert_null(strstr(text, "SYN-RECV"));
	free(text);

	/* The connection's end: TIME-WAIT is listed, and no longer counted as established. */
	tcp_close(c, t->h->now);
	ts_expect(t, "F. 6:6(0) ack 1 win 510 <nop,nop,TS val * ecr *>");
	ts_inject(t, "F. 1:1(0) ack 7 win 502 <nop,nop,TS val 300 ecr 0>");
	ts_expect(t, ". 7:7(0) ack 2 win 510 <nop,nop,TS val * ecr 300>");
	text = ctl_snapshot(t->h->s, &host, t->h->now, &len);
	assert_non_null(text);
	assert_has(text, "\ntcp   TIME-WAIT  0        0        192.0.2.2:8080        192.0.2.1:40000\n");
	assert_has(text, "\nTcpCurrEstab                     0\n");
	free(text);
	udp_close(u);
	tcp_close(l, t->h->now);
	ts_advance_ms(t, 61000);
	ts_free(t);
}

/* An active open and a retransmission timeout count as Linux counts them. */
static void test_snapshot_counters(void **state)
{
	struct tscript *t = ts_new(100);
	struct tcp_conn *c = ts_connect(t);
	struct ctl_host host = { .dev = "tap0", .pid = 1, .started = t->h->now };
	const struct stack_stats *st = stack_stats(t->h->s);
	size_t len;
	char *text;

	(void)state;
	assert_int_equal(tcp_send(c, "x", 1, t->h->now), 1);
	h_drain_tx(t->h);
	ts_advance_ms(t, 250);          /* the loss probe at the RTO's time (200 ms) */
	h_drain_tx(t->h);
	assert_int_equal(st->tcp_timeouts, 0);
	ts_advance_ms(t, 200);          /* the RTO 200 ms after the probe: the byte goes again */
	h_drain_tx(t->h);
	assert_int_equal(st->tcp_timeouts, 1);
	text = ctl_snapshot(t->h->s, &host, t->h->now, &len);
	assert_non_null(text);
	assert_has(text, "\nTcpActiveOpens                   1\n");
	assert_has(text, "\nTcpExtTCPTimeouts                1\n");
	assert_has(text, "\nTcpRetransSegs                   2\n");
	assert_has(text, "retrans:1/2 lastsnd:");     /* the probe and the timeout's */
	free(text);
	ts_abort(t, c);
	ts_free(t);
}

static void test_default_dir(void **state)
{
	char buf[256], tmpl[] = "/tmp/pstack-unit-XXXXXX", want[300];

	(void)state;
	assert_int_equal(ctl_default_dir(buf, sizeof(buf), NULL, 12345), 0);
	assert_string_equal(buf, "/tmp/pstack-12345");
	/* Not the user's folder (a root shell's, kept by su): ignored. */
	assert_int_equal(ctl_default_dir(buf, sizeof(buf), "/", 12345), 0);
	assert_string_equal(buf, "/tmp/pstack-12345");
	/* Not an absolute path. */
	assert_int_equal(ctl_default_dir(buf, sizeof(buf), "tmp", 0), 0);
	assert_string_equal(buf, "/tmp/pstack-0");
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(ctl_default_dir(buf, sizeof(buf), tmpl, (uint32_t)geteuid()), 0);
	snprintf(want, sizeof(want), "%s/pstack", tmpl);
	assert_string_equal(buf, want);
	assert_int_equal(ctl_default_dir(buf, 8, tmpl, (uint32_t)geteuid()), -ENAMETOOLONG);
	rmdir(tmpl);
}

static void test_prepare_dir(void **state)
{
	char base[] = "/tmp/pstack-unit-XXXXXX", dir[300], link[300], file[300], err[512];
	uid_t me = geteuid();
	struct stat st;
	mode_t old = umask(022);

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/ctl", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(file, sizeof(file), "%s/file", base);
	assert_int_equal(ctl_prepare_dir(dir, (uint32_t)me, err, sizeof(err)), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(ctl_prepare_dir(dir, (uint32_t)me, err, sizeof(err)), 0);        /* there already */
	/* Another owner's (as far as the check knows). */
	assert_int_equal(ctl_prepare_dir(dir, (uint32_t)me + 1, err, sizeof(err)), -EPERM);
	assert_has(err, "belongs to uid");
	/* Another mode. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(ctl_prepare_dir(dir, (uint32_t)me, err, sizeof(err)), -EPERM);
	assert_has(err, "has mode 0755, not 0700");
	/* A symlink, even to a good folder. */
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(ctl_prepare_dir(link, (uint32_t)me, err, sizeof(err)), -ELOOP);
	assert_has(err, "symbolic link");
	/* A file. */
	close(open(file, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(ctl_prepare_dir(file, (uint32_t)me, err, sizeof(err)), -ENOTDIR);
	unlink(file);
	unlink(link);
	rmdir(dir);
	rmdir(base);
	umask(old);
}

/* The user's secret: the first stack writes its fresh bytes, every later
 * one reads them; a file that is not the user's own, or is readable by
 * others, or is a symlink, is refused (the caller keeps its fresh bytes). */
static void test_user_secret(void **state)
{
	char base[] = "/tmp/pstack-unit-XXXXXX", path[300], other[300];
	const uint8_t a[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const uint8_t b[16] = { 0xff };
	uint32_t me = (uint32_t)geteuid();
	uint8_t out[16];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/secret", base);
	snprintf(other, sizeof(other), "%s/other", base);
	assert_int_equal(ctl_user_secret(base, me, out, sizeof(out), a), 0);
	assert_memory_equal(out, a, sizeof(a));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 16);
	/* A later stack, with other fresh bytes, gets the first one's. */
	memset(out, 0, sizeof(out));
	assert_int_equal(ctl_user_secret(base, me, out, sizeof(out), b), 0);
	assert_memory_equal(out, a, sizeof(a));
	/* Another user's, as far as the check knows. */
	assert_int_equal(ctl_user_secret(base, me + 1, out, sizeof(out), b), -EPERM);
	/* Readable by others. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(ctl_user_secret(base, me, out, sizeof(out), b), -EPERM);
	/* Of another length. */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(ctl_user_secret(base, me, out, 8, b), -EPERM);
	/* A symlink to a good file. */
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(ctl_user_secret(base, me, out, sizeof(out), b), -ELOOP);
	/* No temporary file left behind. */
	unlink(path);
	unlink(other);
	assert_int_equal(rmdir(base), 0);
}

static void test_peer_allowed(void **state)
{
	(void)state;
	assert_true(ctl_peer_allowed(1000, 1000));
	assert_true(ctl_peer_allowed(0, 1000));
	assert_true(ctl_peer_allowed(0, 0));
	assert_false(ctl_peer_allowed(1001, 1000));
	assert_false(ctl_peer_allowed(1000, 0));
	assert_false(ctl_peer_allowed(65534, 0));
}

/* ---- the serving round ---- */

struct srv {
	struct harness *h;
	struct ctl *c;
	struct ctl_host host;
	char base[32];
};

static void srv_round(struct srv *v, int timeout_ms)
{
	struct pollfd pfd[CTL_NFDS];
	uint64_t at = UINT64_MAX;
	unsigned n = ctl_collect(v->c, v->h->s, &v->host, pfd, v->h->now, &at);
	int rc;

	assert_true(n >= 1 && n <= CTL_NFDS);
	rc = poll(pfd, n, timeout_ms);
	ctl_io(v->c, pfd, rc > 0 ? n : 0, v->h->now);
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Serves until the client's fd reads to its end; what it read (malloc'd). */

/* Reads the answer to the end: the fds that come with it go to fds (up to
 * 4), their count to *nfds (fds NULL: closed). */
static char *exchange_fds(struct srv *v, int fd, int *fds, unsigned *nfds)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);

	assert_non_null(buf);
	if (nfds)
		*nfds = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 1000; i++) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov = { buf + len, cap - len - 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
		ssize_t r;

		srv_round(v, 10);
		while ((r = recvmsg(fd, &m, 0)) > 0) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
					for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
						int f;

						memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
						if (fds && *nfds < 4)
							fds[(*nfds)++] = f;
						else
							close(f);
					}
			len += (size_t)r;
			if (len + 1 == cap)
				assert_non_null(buf = realloc(buf, cap *= 2));
			iov = (struct iovec){ buf + len, cap - len - 1 };
			m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
					     .msg_controllen = sizeof(u.b) };
		}
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			buf[len] = 0;
			close(fd);
			return buf;
		}
	}
	fail_msg("the control socket never finished its answer");
	return NULL;
}

static char *exchange(struct srv *v, int fd, const void *req, size_t n)
{
	if (n)
		assert_int_equal(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
	return exchange_fds(v, fd, NULL, NULL);
}

static void srv_open(struct srv *v)
{
	char err[512];

	memset(v, 0, sizeof(*v));
	v->h = h_new(NULL, false);
	v->host = (struct ctl_host){ .dev = "tap0", .pid = 4242, .started = v->h->now };
	snprintf(v->base, sizeof(v->base), "/tmp/pstack-unit-XXXXXX");
	assert_non_null(mkdtemp(v->base));
	assert_int_equal(chmod(v->base, 0700), 0);
	assert_int_equal(ctl_open(v->base, &v->host, &v->c, err, sizeof(err)), 0);
}

static void srv_close(struct srv *v)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/4242.sock", v->base);
	ctl_close(v->c);
	assert_int_equal(access(path, F_OK), -1);       /* the file went with it */
	rmdir(v->base);
	h_free(v->h);
}

static void test_serve(void **state)
{
	struct srv v;
	struct stat st;
	char path[64], *got;
	int fd;

	(void)state;
	srv_open(&v);
	snprintf(path, sizeof(path), "%s/4242.sock", v.base);
	assert_string_equal(ctl_path(v.c), path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* The request, answered with the snapshot. */
	got = exchange(&v, client(path), CTL_REQUEST, sizeof(CTL_REQUEST) - 1);
	assert_true(!strncmp(got, "pstack 4242: tap0 192.0.2.2/24 ", 31));
	assert_has(got, "\nCounters\n");
	free(got);
	/* More than the request after it: still one answer, and no reset. */
	got = exchange(&v, client(path), "stat\nstat\nstat\n", 15);
	assert_has(got, "\nCounters\n");
	free(got);
	/* Garbage, and a line longer than any request: an error, no snapshot. */
	got = exchange(&v, client(path), "GET / HTTP/1.0\r\n\r\n", 18);
	assert_string_equal(got, "error: unknown request (expected \"stat\")\n");
	free(got);
	{
		char big[1000];

		memset(big, 'x', sizeof(big));
		got = exchange(&v, client(path), big, sizeof(big));
		assert_has(got, "error: unknown request");
		free(got);
	}
	/* A client that says nothing is closed at its deadline, unanswered. */
	fd = client(path);
	srv_round(&v, 10);
	srv_round(&v, 10);
	v.h->now += CTL_DEADLINE_US;
	got = exchange(&v, fd, NULL, 0);
	assert_string_equal(got, "");
	free(got);
	/* More clients than slots at once: each is answered in turn. */
	{
		int fds[CTL_MAX_CLIENTS + 2];

		for (int i = 0; i < CTL_MAX_CLIENTS + 2; i++) {
			fds[i] = client(path);
			assert_int_equal(send(fds[i], CTL_REQUEST, sizeof(CTL_REQUEST) - 1, 0), 5);
		}
		for (int i = 0; i < CTL_MAX_CLIENTS + 2; i++) {
			got = exchange(&v, fds[i], NULL, 0);
			assert_has(got, "\nCounters\n");
			free(got);
		}
	}
	srv_close(&v);
}

/* As root: a child that becomes nobody reaches the socket (the test opens
 * the folder and the file to it) and is closed without a word. */
static void test_stranger(void **state)
{
	struct srv v;
	char path[64];
	pid_t pid;
	int status = -1;

	(void)state;
	if (geteuid() != 0)
		skip();
	srv_open(&v);
	snprintf(path, sizeof(path), "%s/4242.sock", v.base);
	assert_int_equal(chmod(v.base, 0711), 0);
	assert_int_equal(chmod(path, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[256];
		ssize_t n, total = 0;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(11);
		send(fd, CTL_REQUEST, sizeof(CTL_REQUEST) - 1, MSG_NOSIGNAL);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			total += n;
		_exit(total == 0 ? 0 : 12);
	}
	for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		srv_round(&v, 10);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the stranger was never closed");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	srv_close(&v);
}


/* ---- joiners (PSTACK_STACK) ---- */

static void test_join_req_check(void **state)
{
	struct ctl_join_req q;
	struct ctl_join_reply rep;

	(void)state;
	ctl_join_req_init(&q, CTL_JOIN_LISTEN);
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), 0);
	assert_int_equal(ctl_join_req_check(&q, sizeof(q) - 1), -EINVAL);     /* cut short */
	q.filler = 10;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);         /* a listener has none */
	ctl_join_req_init(&q, CTL_JOIN_CONNECT);
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);         /* no peer */
	q.raddr = 0xc0000201;
	q.rport = 80;
	q.filler = CTL_JOIN_FILLER_MAX;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), 0);
	q.filler = CTL_JOIN_FILLER_MAX + 1;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);
	q.filler = 0;
	q.bound = 2;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);
	q.bound = 1;
	q.size++;                                                              /* another build's layout */
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);
	q.size--;
	q.op = 4;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);
	q.op = CTL_JOIN_DGRAM;
	q.filler = 1;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);         /* a UDP socket has none */
	q.filler = 0;
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), 0);
	q.op = CTL_JOIN_CONNECT;
	q.word[0] = 'P';
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), -EINVAL);

	/* The options are another process's bytes (fuzz_ctl found a bool
	 * holding 255 loaded by tcp_set_opts): what the setters can leave
	 * passes, anything else is refused. */
	ctl_join_req_init(&q, CTL_JOIN_LISTEN);
	q.opts = sock_opts_default();
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_MAXSEG, 88), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_LINGER2, -5), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_WINDOW_CLAMP, 1), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_RTO_MAX, 120000), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_CONGESTION, TCP_CC_NEWRENO), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_SAVE_SYN, 2), 0);
	assert_int_equal(tcp_opts_set(&q.opts, TCP_OPT_PEEK_OFF, -7), 0);
	assert_int_equal(ctl_join_req_check(&q, sizeof(q)), 0);
	{
		struct ctl_join_req b = q;

		memset(&b.opts.nodelay, 255, 1);
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		memset(&b.opts.inet6, 2, 1);
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.congestion = 7;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.pmtudisc = SOCK_PMTUDISC_OMIT + 1;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.keepcnt = -1;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.maxseg = 87;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.rcvbuf = -2;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.fastopen_keys = 3;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.rto_max_ms = 999;
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
		b = q;
		b.opts.linger2 = 121;   /* TCP_LINGER2 keeps at most 120 */
		assert_int_equal(ctl_join_req_check(&b, sizeof(b)), -EINVAL);
	}

	memset(&rep, 0, sizeof(rep));
	memcpy(rep.word, CTL_JOIN_WORD, sizeof(CTL_JOIN_WORD) - 1);
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), 0);
	rep.err = -ECONNREFUSED;
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), 0);
	rep.err = 1;
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), -EINVAL);
	rep.err = -5000;
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), -EINVAL);
	rep.err = 0;
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep) + 1), -EINVAL);
}

static void test_join_names(void **state)
{
	struct sockaddr_un sa;
	char buf[108], small[20];
	socklen_t len;

	(void)state;
	assert_int_equal(ctl_stack_path(buf, sizeof(buf), "/tmp/pstack-0", "shared", 4026531840ull), 0);
	assert_string_equal(buf, "/tmp/pstack-0/shared.4026531840.stack");
	assert_int_equal(ctl_stack_path(small, sizeof(small), "/tmp/pstack-0", "shared", 1), -ENAMETOOLONG);
	assert_true(ctl_netns() > 0);
	len = ctl_stack_abstract(&sa, "shared");
	assert_int_equal(sa.sun_family, AF_UNIX);
	assert_int_equal(sa.sun_path[0], 0);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 1 + strlen("pstack-stack/shared"));
	assert_memory_equal(sa.sun_path + 1, "pstack-stack/shared", strlen("pstack-stack/shared"));
	/* Joiners: the stack's own user only, root included only for its own. */
	assert_true(ctl_join_allowed(1000, 1000));
	assert_true(ctl_join_allowed(0, 0));
	assert_false(ctl_join_allowed(0, 1000));
	assert_false(ctl_join_allowed(1000, 0));
	/* Another user's process joins a root stack when it descends from
	 * the stack's program (a fork child that dropped root), not else. */
	assert_true(ctl_child_allowed(getpid(), getppid(), 0));
	assert_true(ctl_child_allowed(getpid(), getpid(), 0));
	assert_false(ctl_child_allowed(getpid(), getppid(), 1000));
	assert_false(ctl_child_allowed(getppid(), getpid(), 0));
	assert_false(ctl_child_allowed(1, getpid(), 0));
}

static unsigned kicks;

static void count_kick(void *ctx)
{
	(void)ctx;
	kicks++;
}

/* Sends a joiner's request with fd over a new client of path. */
static int join_client(const char *path, const struct ctl_join_req *q, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)q, sizeof(*q) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int c = client(path);

	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(c, &m, MSG_NOSIGNAL), (ssize_t)sizeof(*q));
	return c;
}

static void test_serve_join(void **state)
{
	struct relay_set set;
	struct srv v;
	struct stat st;
	struct ctl_join_req q;
	struct ctl_join_reply rep;
	char path[96], *got;
	int sv[2];

	(void)state;
	memset(&v, 0, sizeof(v));
	v.h = h_new(NULL, false);
	relay_set_init(&set, count_kick, NULL, NULL);
	v.host = (struct ctl_host){ .dev = "tap0", .pid = 4242, .started = v.h->now, .rset = &set };
	snprintf(v.host.stack_name, sizeof(v.host.stack_name), "unit-%d", (int)getpid());
	snprintf(v.base, sizeof(v.base), "/tmp/pstack-unit-XXXXXX");
	assert_non_null(mkdtemp(v.base));
	assert_int_equal(chmod(v.base, 0700), 0);
	{
		char err[512];

		assert_int_equal(ctl_open(v.base, &v.host, &v.c, err, sizeof(err)), 0);
	}
	snprintf(path, sizeof(path), "%s/unit-%d.%llu.stack", v.base, (int)getpid(), (unsigned long long)ctl_netns());
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* listen on 8080: answered with the port, the channel taken by a relay. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ctl_join_req_init(&q, CTL_JOIN_LISTEN);
	q.lport = 8080;
	q.bound = 1;
	q.backlog = 4;
	q.opts = sock_opts_default();
	kicks = 0;
	got = exchange(&v, join_client(path, &q, sv[1]), NULL, 0);
	close(sv[1]);
	memcpy(&rep, got, sizeof(rep));
	assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), 0);
	assert_int_equal(rep.err, 0);
	assert_int_equal(rep.lport, 8080);
	assert_int_equal(relay_count(&set), 1);
	assert_true(kicks > 0);
	free(got);
	/* The same port again: the stack's answer (in use), no relay. */
	{
		int p2[2];
		char one;

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p2), 0);
		got = exchange(&v, join_client(path, &q, p2[1]), NULL, 0);
		close(p2[1]);
		memcpy(&rep, got, sizeof(rep));
		assert_int_equal(rep.err, -EADDRINUSE);
		assert_int_equal(relay_count(&set), 1);
		free(got);
		/* Its pair was closed by the stack. */
		assert_int_equal(recv(p2[0], &one, 1, MSG_DONTWAIT), 0);
		close(p2[0]);
	}
	/* A UDP socket (CTL_JOIN_DGRAM): bound as asked, answered with the
	 * port and the stack's address, served by a framed relay; the same
	 * port again is in use; unbound, a port the stack picks. */
	{
		int d1[2], d2[2], d3[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d1), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d2), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d3), 0);
		ctl_join_req_init(&q, CTL_JOIN_DGRAM);
		q.lport = 5353;
		q.bound = 1;
		q.opts = sock_opts_default();
		got = exchange(&v, join_client(path, &q, d1[1]), NULL, 0);
		memcpy(&rep, got, sizeof(rep));
		free(got);
		assert_int_equal(ctl_join_reply_check(&rep, sizeof(rep)), 0);
		assert_int_equal(rep.err, 0);
		assert_int_equal(rep.lport, 5353);
		assert_int_equal(rep.stack_addr, stack_config(v.h->s)->addr);
		assert_int_equal(relay_count(&set), 2);
		got = exchange(&v, join_client(path, &q, d2[1]), NULL, 0);
		memcpy(&rep, got, sizeof(rep));
		free(got);
		assert_int_equal(rep.err, -EADDRINUSE);
		assert_int_equal(relay_count(&set), 2);
		q.lport = 0;
		q.bound = 0;
		got = exchange(&v, join_client(path, &q, d3[1]), NULL, 0);
		memcpy(&rep, got, sizeof(rep));
		free(got);
		assert_int_equal(rep.err, 0);
		assert_true(rep.lport != 0 && rep.lport != 5353);
		assert_int_equal(relay_count(&set), 3);
		for (int i = 0; i < 2; i++) {
			close(d1[i]);
			close(d2[i]);
			close(d3[i]);
		}
		/* The program's ends closed: the relays close their sockets
		 * (the serving thread's rounds, run here), the listener's stays. */
		for (int round = 0; round < 4; round++) {
			struct pollfd pfd[16];
			bool busy = false;
			unsigned n = relay_collect(&set, pfd, &busy, v.h->now);

			if (n)
				assert_true(poll(pfd, n, 0) >= 0);
			relay_io(&set, pfd, n);
		}
		assert_int_equal(relay_count(&set), 1);
	}
	/* A request without its fd, and a stat on the name's path. */
	got = exchange(&v, client(path), &q, sizeof(q));
	assert_string_equal(got, "error: unknown request (expected \"stat\")\n");
	free(got);
	got = exchange(&v, client(path), CTL_REQUEST, sizeof(CTL_REQUEST) - 1);
	assert_has(got, "\nCounters\n");
	free(got);

	ctl_close(v.c);
	assert_int_equal(access(path, F_OK), -1);       /* the name's file went with it */
	relay_set_destroy(&set);
	close(sv[0]);
	rmdir(v.base);
	h_free(v.h);
}

/* The handover (ctl.h): on the TAP's abstract name, "busy" from a stack
 * that may not hand over (with how long it may still hold the device when
 * it knows); a request that comes while the program exits
 * waits for it; then the header and the records, and the stack marks the
 * handover. The device's name is this test's own (the abstract names are
 * the namespace's, shared with whatever else runs here). */
static int tap_client(const char *dev)
{
	struct sockaddr_un sa;
	socklen_t len = ctl_tap_abstract(&sa, dev);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void test_serve_handover(void **state)
{
	struct tcp_tw_rec rec = {
		.laddr = 0xc0000202, .raddr = 0xc0000201, .lport = 40000, .rport = 9000,
		.state = TCP_STATE_TIME_WAIT, .ts_ok = 1, .snd_nxt = 1000, .rcv_nxt = 2000,
		.ts_val = 5000, .ts_recent = 77, .left_ms = 30000,
	};
	const struct ctl_handover_hdr *h;
	const struct tcp_tw_rec *got_rec;
	const struct stack_arp_rec *got_arp;
	char dev[16], *got, buf[64];
	struct srv v;
	int fd, qpipe[2], qfds[4];
	unsigned nq;

	(void)state;
	srv_open(&v);
	ctl_close(v.c);
	snprintf(dev, sizeof(dev), "tw%d", (int)getpid());
	v.host.dev = dev;
	assert_int_equal(ctl_open(v.base, &v.host, &v.c, buf, sizeof(buf)), 0);

	/* A stack that may not hand over: busy. */
	got = exchange(&v, tap_client(dev), CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1);
	assert_string_equal(got, CTL_HANDOVER_BUSY);
	free(got);
	assert_false(ctl_handing_over(v.c));
	/* One that finishes its closes first says how long it may still
	 * hold the device, rounded up to the ms. */
	v.host.hold_until = v.h->now + 2500001;
	got = exchange(&v, tap_client(dev), CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1);
	assert_string_equal(got, "busy 2501\n");
	free(got);
	v.host.hold_until = 0;

	/* Its program still exits: the request waits, unanswered. */
	assert_int_equal(tcp_tw_import(v.h->s, &rec, v.h->now), 0);
	v.host.hand_over_soon = true;
	fd = tap_client(dev);
	assert_int_equal(send(fd, CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1, 0),
			 (ssize_t)sizeof(CTL_HANDOVER_REQUEST) - 1);
	for (int i = 0; i < 5; i++)
		srv_round(&v, 5);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);

	/* The program is gone: the records, and with them the device's
	 * queues (here a pipe's end stands for one): the same open file. */
	v.host.may_hand_over = true;
	h_learn_peer(v.h);                              /* an ARP entry to hand over */
	assert_int_equal(pipe(qpipe), 0);
	v.host.hand_fds[0] = qpipe[0];
	v.host.hand_nfds = 1;
	got = exchange_fds(&v, fd, qfds, &nq);
	h = (const struct ctl_handover_hdr *)(const void *)got;
	assert_memory_equal(h->word, CTL_HANDOVER_WORD, sizeof(CTL_HANDOVER_WORD) - 1);
	assert_int_equal(h->rec_size, sizeof(struct tcp_tw_rec));
	assert_int_equal(h->count, 1);
	assert_int_equal(h->nfds, 1);
	assert_int_equal(nq, 1);
	/* After the records, the ARP cache, with the old stack's address. */
	assert_int_equal(h->arp_count, 1);
	assert_int_equal(h->addr, H_STACK_IP);
	assert_memory_equal(h->mac, h_stack_mac, 6);
	got_arp = (const struct stack_arp_rec *)(const void *)(got + sizeof(*h) + sizeof(struct tcp_tw_rec));
	assert_int_equal(got_arp->ip, H_PEER_IP);
	assert_memory_equal(got_arp->mac, h_peer_mac, 6);
	assert_true(ctl_handover_gives_fds(v.c));
	close(qpipe[0]);                                /* the runner's own copy goes */
	assert_int_equal(write(qpipe[1], "q", 1), 1);
	assert_int_equal(read(qfds[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'q');
	close(qfds[0]);
	close(qpipe[1]);
	got_rec = (const struct tcp_tw_rec *)(const void *)(got + sizeof(*h));
	assert_int_equal(got_rec->lport, 40000);
	assert_int_equal(got_rec->rport, 9000);
	assert_int_equal(got_rec->snd_nxt, 1000);
	assert_int_equal(got_rec->rcv_nxt, 2000);
	assert_int_equal(got_rec->ts_val, 5000);
	assert_int_equal(got_rec->left_ms, 30000);
	free(got);
	assert_true(ctl_handing_over(v.c));
	/* One handover: a second asker hears busy. */
	got = exchange(&v, tap_client(dev), CTL_HANDOVER_REQUEST, sizeof(CTL_HANDOVER_REQUEST) - 1);
	assert_string_equal(got, CTL_HANDOVER_BUSY);
	free(got);
	srv_close(&v);
}

/* The asking side (ctl_handover_ask): its meanwhile runs once the request
 * is out and before the wait for the answer (here it is the old stack
 * serving the request: the answer is there when the wait begins); none
 * when nobody holds the device. */
static int meanwhile_calls;

static void meanwhile_serve(void *arg)
{
	struct srv *v = arg;

	meanwhile_calls++;
	for (int i = 0; i < 20; i++)
		srv_round(v, 5);
}

static void test_handover_ask_meanwhile(void **state)
{
	struct tcp_tw_rec rec = {
		.laddr = 0xc0000202, .raddr = 0xc0000201, .lport = 40001, .rport = 9000,
		.state = TCP_STATE_TIME_WAIT, .ts_ok = 1, .snd_nxt = 1000, .rcv_nxt = 2000,
		.ts_val = 5000, .ts_recent = 77, .left_ms = 30000,
	};
	struct tcp_tw_rec *recs = NULL;
	struct ctl_hand_arp arp;
	char dev[16], other[16], buf[64];
	struct srv v;
	int qfds[CTL_HAND_FDS_MAX];
	unsigned nq, hold;
	long n;

	(void)state;
	srv_open(&v);
	ctl_close(v.c);
	snprintf(dev, sizeof(dev), "tm%d", (int)getpid());
	snprintf(other, sizeof(other), "tn%d", (int)getpid());
	v.host.dev = dev;
	assert_int_equal(ctl_open(v.base, &v.host, &v.c, buf, sizeof(buf)), 0);
	assert_int_equal(tcp_tw_import(v.h->s, &rec, v.h->now), 0);
	v.host.may_hand_over = true;

	meanwhile_calls = 0;
	n = ctl_handover_ask(dev, meanwhile_serve, &v, &recs, qfds, &nq, &arp, 2000, &hold);
	assert_int_equal(meanwhile_calls, 1);
	assert_int_equal(n, 1);
	assert_non_null(recs);
	assert_int_equal(recs[0].lport, 40001);
	assert_int_equal(nq, 0);
	free(recs);

	n = ctl_handover_ask(other, meanwhile_serve, &v, &recs, qfds, &nq, &arp, 100, &hold);
	assert_int_equal(n, -EBUSY);
	assert_int_equal(meanwhile_calls, 1);
	srv_close(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_text),
		cmocka_unit_test(test_snapshot_counters),
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_prepare_dir),
		cmocka_unit_test(test_user_secret),
		cmocka_unit_test(test_peer_allowed),
		cmocka_unit_test(test_serve),
		cmocka_unit_test(test_stranger),
		cmocka_unit_test(test_join_req_check),
		cmocka_unit_test(test_join_names),
		cmocka_unit_test(test_serve_join),
		cmocka_unit_test(test_handover_ask_meanwhile),
		cmocka_unit_test(test_serve_handover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
