/*
 * sendfile from a regular file (shim/sendfile.c, shim_sendfile): the bytes
 * go from a mapping of the file into the send ring, and what the peer gets
 * is the file's, byte for byte, at the offsets asked; the answers are
 * Linux's (offset written back, file position moved without one, a short
 * count or EAGAIN on a full non-blocking socket, 0 at the end, EBADF for a
 * file not open for reading); a file that changes between calls is sent as
 * it is now; a file cut shorter under a send that is copying from its
 * mapping faults (SIGBUS), and the send ends with a short count instead of
 * killing the program.
 *
 * The peer is the scripted one (tests/unit/support/tcp_script.h); this
 * binary installs the library's fault handler, reduced to shim_user_fault()
 * (as test_shim_ucopy.c does).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/shim_libc.h"
#include "tests/unit/support/tcp_script.h"

static struct tscript *T;
static struct stack_lock hmu;
static uint32_t tsval = 200;

static int t_start(void *c) { (void)c; return 0; }
static struct stack *t_stack(void *c) { (void)c; return T->h->s; }
static void t_lock(void *c) { (void)c; stack_lock(&hmu); }
static void t_unlock(void *c) { (void)c; stack_unlock(&hmu); }
static uint64_t t_now(void *c) { (void)c; return T->h->now; }
static void t_stop(void *c, uint64_t l) { (void)c; (void)l; }

/* The library's handler, less the program's: a fault that is not a copy's
 * kills with the default action. Counts the SIGBUSes it sees. */
static atomic_int sigbus_seen;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (sig == SIGBUS)
		atomic_fetch_add(&sigbus_seen, 1);
	(void)shim_user_fault(sig, si, uc);
	signal(sig, SIG_DFL);
}

/* Installed by each test (cmocka puts its own in around every test). */
static void catch_faults(void)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_sigaction = on_fault;
	a.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&a.sa_mask);
	sigaction(SIGSEGV, &a, NULL);
	sigaction(SIGBUS, &a, NULL);
}

static int setup(void **state)
{
	struct shim_libc libc;
	struct shim_host host = {
		.start = t_start, .stack = t_stack, .lock = t_lock, .unlock = t_unlock,
		.now = t_now, .stop = t_stop,
	};

	(void)state;
	stack_lock_init(&hmu, shim_wake_flush);
	T = ts_new(1000);
	stack_lock_check(&hmu);
	h_checked_libc(&libc, &hmu);
	shim_init(&libc, &host);
	catch_faults();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shim_reset_for_test();
	stack_lock_check(NULL);
	h_drain_tx(T->h);
	h_free(T->h);
	free(T);
	return 0;
}

static void inject(const char *spec)
{
	stack_lock(&hmu);
	ts_inject(T, spec);
	stack_unlock(&hmu);
}

static void expect_prefix(const char *prefix)
{
	char line[512];
	bool got;

	stack_lock(&hmu);
	got = ts_next(T, line, sizeof(line));
	stack_unlock(&hmu);
	if (!got)
		fail_msg("no frame sent, expected \"%s...\"", prefix);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fail_msg("sent \"%s\", expected \"%s...\"", line, prefix);
}

/* A TCP connection to the scripted peer, established, TCP_NODELAY, a small
 * send buffer (SO_SNDBUF 16 KiB: the harness's is large, and the tests need
 * short counts and a blocked send), non-blocking unless blocking. */
static int tcp_connected(bool blocking)
{
	int fd = shim_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1, sndbuf = 16384;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(T->local_port) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(T->peer_port),
				    .sin_addr.s_addr = htonl(H_PEER_IP) };

	assert_true(fd >= 0);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(shim_connect(fd, (struct sockaddr *)&peer, sizeof(peer)), -EINPROGRESS);
	expect_prefix("S 0:0(0)");
	inject("S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>");
	expect_prefix(". 1:1(0) ack 1");
	assert_int_equal(shim_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	if (blocking)
		assert_int_equal(shim_fcntl(fd, F_SETFL, 0), 0);
	return fd;
}

/* The byte at offset i of the test files (a period prime to the page size,
 * so that a page or window out of place shows). */
static uint8_t pattern(size_t i, unsigned salt)
{
	return (uint8_t)((i * 7 + i / 251 + salt) % 251);
}

/* A file of n pattern bytes (unlinked: only the fd names it). */
static int make_file(size_t n, unsigned salt)
{
	char path[] = "/tmp/pstack-sendfile-XXXXXX";
	uint8_t *b = malloc(n ? n : 1);
	int fd = mkstemp(path);

	assert_non_null(b);
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < n; i++)
		b[i] = pattern(i, salt);
	assert_int_equal(pwrite(fd, b, n, 0), (ssize_t)n);
	free(b);
	return fd;
}

/* The peer's view: every frame the stack sent since the last call, in
 * order, its payload appended to got (*have bytes so far, at most cap);
 * then an ACK of all of it with a wide window. */
static void take_and_ack(uint8_t *got, size_t cap, size_t *have)
{
	char line[512], spec[128];

	stack_lock(&hmu);
	while (ts_next(T, line, sizeof(line))) {
		if (!T->last_len)
			continue;
		assert_true(*have + T->last_len <= cap);
		memcpy(got + *have, T->last_payload, T->last_len);
		*have += T->last_len;
	}
	stack_unlock(&hmu);
	snprintf(spec, sizeof(spec), ". 1:1(0) ack %zu win 65535 <nop,nop,TS val %u ecr 0>", *have + 1,
		 tsval++);
	inject(spec);
}

/* take_and_ack until the peer has want bytes (the congestion window lets
 * a few segments go per ACK). */
static void take_all(uint8_t *got, size_t cap, size_t *have, size_t want)
{
	for (int i = 0; i < 1000 && *have < want; i++)
		take_and_ack(got, cap, have);
	assert_int_equal(*have, want);
}

static void check_pattern(const uint8_t *got, size_t n, size_t from, unsigned salt)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != pattern(from + i, salt))
			fail_msg("byte %zu (file offset %zu): %u, expected %u", i, from + i, got[i],
				 pattern(from + i, salt));
}

/* A non-blocking socket: each call sends what the ring takes (a short
 * count), EAGAIN when it takes nothing; the offset moves by what went, the
 * file position not at all; the peer gets the file's bytes from the offset. */
static void test_offsets_nonblocking(void **state)
{
	enum { SIZE = 600 * 1000 + 123, FROM = 4097, COUNT = 500 * 1000 };
	uint8_t *got = malloc(COUNT);
	int fd, file = make_file(SIZE, 1), calls = 0, eagain = 0;
	size_t have = 0;
	off_t off = FROM;

	(void)state;
	assert_non_null(got);
	fd = tcp_connected(false);
	assert_int_equal(lseek(file, 10, SEEK_SET), 10);
	while ((size_t)(off - FROM) < COUNT) {
		ssize_t n = shim_sendfile(fd, file, &off, COUNT - (size_t)(off - FROM));

		if (n == -EAGAIN) {
			eagain++;
		} else {
			assert_true(n > 0);
			calls++;
		}
		take_and_ack(got, COUNT, &have);
		assert_true(calls + eagain < 10000);
	}
	assert_int_equal(off, FROM + COUNT);
	assert_int_equal(lseek(file, 0, SEEK_CUR), 10);
	/* What the ring held at the last call is still to go. */
	take_all(got, COUNT, &have, COUNT);
	check_pattern(got, COUNT, FROM, 1);
	/* More than once: a short count (the ring is smaller than the file). */
	assert_true(calls > 1);
	/* A full ring, nothing sent: EAGAIN, the offset as it was. */
	off = 0;
	while (shim_sendfile(fd, file, &off, SIZE) > 0)
		;
	{
		off_t before = off;

		assert_int_equal(shim_sendfile(fd, file, &off, SIZE), -EAGAIN);
		assert_int_equal(off, before);
	}
	close(file);
	free(got);
	assert_int_equal(shim_close(fd), 0);
}

/* sendfile of count bytes (from *off, or the file position when off is
 * NULL) on non-blocking fd, the peer taking and ACKing as it goes, until
 * count went or a call says 0 (the end); what went, all of it at the peer
 * (got, *have) on return. */
static size_t send_all(int fd, int file, off_t *off, size_t count, uint8_t *got, size_t cap, size_t *have)
{
	size_t sent = 0, start = *have;

	for (int i = 0; i < 10000 && sent < count; i++) {
		ssize_t n = shim_sendfile(fd, file, off, count - sent);

		if (n == 0)
			break;
		if (n != -EAGAIN) {
			assert_true(n > 0);
			sent += (size_t)n;
		}
		take_and_ack(got, cap, have);
	}
	take_all(got, cap, have, start + sent);
	return sent;
}

/* Without an offset: the file position, moved by what was sent; 0 at the
 * end (position unchanged); an offset past the end: 0; a negative one:
 * EINVAL; a file not open for reading (O_WRONLY, O_PATH): EBADF. A large
 * file (mapped) and a small one (read: FMAP_MIN). */
static void test_position_and_errors(void **state)
{
	enum { SIZE = 300000 };
	uint8_t *got = malloc(SIZE + 8192);
	int fd, file = make_file(SIZE, 2), small = make_file(5000, 7), wr, path_fd;
	char name[64];
	size_t have = 0;
	off_t off;

	(void)state;
	assert_non_null(got);
	fd = tcp_connected(false);
	assert_int_equal(lseek(file, 700, SEEK_SET), 700);
	assert_int_equal(send_all(fd, file, NULL, 200000, got, SIZE + 8192, &have), 200000);
	assert_int_equal(lseek(file, 0, SEEK_CUR), 200700);
	assert_int_equal(send_all(fd, file, NULL, 200000, got, SIZE + 8192, &have), SIZE - 200700);
	assert_int_equal(lseek(file, 0, SEEK_CUR), SIZE);
	assert_int_equal(shim_sendfile(fd, file, NULL, 3000), 0);
	assert_int_equal(lseek(file, 0, SEEK_CUR), SIZE);
	check_pattern(got, have, 700, 2);
	/* The small file, its bytes read and sent as before. */
	assert_int_equal(have, SIZE - 700);
	assert_int_equal(lseek(small, 700, SEEK_SET), 700);
	assert_int_equal(shim_sendfile(fd, small, NULL, 3000), 3000);
	assert_int_equal(lseek(small, 0, SEEK_CUR), 3700);
	assert_int_equal(shim_sendfile(fd, small, NULL, 3000), 1300);
	assert_int_equal(lseek(small, 0, SEEK_CUR), 5000);
	assert_int_equal(shim_sendfile(fd, small, NULL, 3000), 0);
	assert_int_equal(lseek(small, 0, SEEK_CUR), 5000);
	take_all(got, SIZE + 8192, &have, SIZE - 700 + 4300);
	check_pattern(got + SIZE - 700, 4300, 700, 7);
	off = SIZE + 1000;
	assert_int_equal(shim_sendfile(fd, file, &off, 10), 0);
	assert_int_equal(off, SIZE + 1000);
	off = -1;
	assert_int_equal(shim_sendfile(fd, file, &off, 100000), -EINVAL);
	snprintf(name, sizeof(name), "/proc/self/fd/%d", file);
	wr = open(name, O_WRONLY);
	assert_true(wr >= 0);
	off = 0;
	assert_int_equal(shim_sendfile(fd, wr, &off, 100000), -EBADF);
	path_fd = open(name, O_PATH);
	assert_true(path_fd >= 0);
	assert_int_equal(shim_sendfile(fd, path_fd, &off, 100000), -EBADF);
	assert_int_equal(off, 0);
	close(wr);
	close(path_fd);
	close(small);
	close(file);
	free(got);
	assert_int_equal(shim_close(fd), 0);
}

/* A file rewritten between two calls (longer, then the same size with
 * other bytes): each call sends what the file holds then. */
static void test_file_changes(void **state)
{
	enum { SIZE = 200000, LONGER = 300000 };
	uint8_t *got = malloc(3 * LONGER), *b = malloc(LONGER);
	int fd, file = make_file(SIZE, 3);
	size_t have = 0;
	off_t off = 0;

	(void)state;
	assert_non_null(got);
	assert_non_null(b);
	fd = tcp_connected(false);
	assert_int_equal(send_all(fd, file, &off, 100000, got, 3 * LONGER, &have), 100000);
	check_pattern(got, 100000, 0, 3);
	/* Longer, other bytes. */
	for (size_t i = 0; i < LONGER; i++)
		b[i] = pattern(i, 4);
	assert_int_equal(pwrite(file, b, LONGER, 0), LONGER);
	assert_int_equal(send_all(fd, file, &off, LONGER, got, 3 * LONGER, &have), LONGER - 100000);
	check_pattern(got + 100000, LONGER - 100000, 100000, 4);
	/* Same size, other bytes (and a new modification time: a new view). */
	for (size_t i = 0; i < LONGER; i++)
		b[i] = pattern(i, 5);
	assert_int_equal(pwrite(file, b, LONGER, 0), LONGER);
	off = 0;
	assert_int_equal(send_all(fd, file, &off, LONGER, got, 3 * LONGER, &have), LONGER);
	check_pattern(got + LONGER, LONGER, 0, 5);
	free(b);
	free(got);
	close(file);
	assert_int_equal(shim_close(fd), 0);
}

struct sf_call {
	int fd, file;
	off_t off;
	size_t count;
	ssize_t r;
};

static void *sendfile_thread(void *arg)
{
	struct sf_call *c = arg;

	catch_faults();
	c->r = shim_sendfile(c->fd, c->file, &c->off, c->count);
	return NULL;
}

/* The file cut shorter while a blocking sendfile waits for room with the
 * rest of its mapping still to copy: the copy past the new end faults
 * (SIGBUS), the call returns what went before (a short count, no crash),
 * and the next call ends at the new end (0 there). What the peer got is a
 * prefix of the file. */
static void test_truncated_under_send(void **state)
{
	enum { SIZE = 1 << 20, CUT = 3 * 4096 + 100 };
	uint8_t *got = malloc(SIZE);
	struct sf_call c = { .file = make_file(SIZE, 6), .count = SIZE };
	size_t have = 0;
	pthread_t th;
	int queued = -1;
	long i;

	(void)state;
	assert_non_null(got);
	c.fd = tcp_connected(true);
	assert_int_equal(pthread_create(&th, NULL, sendfile_thread, &c), 0);
	for (i = 0; i < 100000000L && shim_test_waiters(c.fd) < 1; i++)
		sched_yield();
	assert_int_equal(shim_test_waiters(c.fd), 1);
	assert_int_equal(shim_ioctl(c.fd, SIOCOUTQ, &queued), 0);
	assert_true(queued > 0 && queued < SIZE);
	assert_int_equal(ftruncate(c.file, CUT), 0);
	atomic_store(&sigbus_seen, 0);
	take_and_ack(got, SIZE, &have);
	pthread_join(th, NULL);
	assert_true(atomic_load(&sigbus_seen) >= 1);    /* the mapping's copy faulted, and was caught */
	assert_int_equal(c.r, queued);
	assert_int_equal(c.off, queued);
	/* From there to the new end, then nothing. */
	if (queued < CUT) {
		assert_int_equal(shim_sendfile(c.fd, c.file, &c.off, SIZE), CUT - queued);
		queued = CUT;
	}
	assert_int_equal(shim_sendfile(c.fd, c.file, &c.off, SIZE), 0);
	take_all(got, SIZE, &have, (size_t)queued);
	check_pattern(got, have, 0, 6);
	close(c.file);
	free(got);
	assert_int_equal(shim_close(c.fd), 0);
}

/* Linux's selftest tcp_sendfile_sendfile-simple.pkt: on an accepted
 * connection, sendfile of a 5-byte file (zeroes) from offset 0 returns 5,
 * moves the offset to 5 and sends "P. 1:6(5)" with the file's bytes. */
static void test_sendfile_simple(void **state)
{
	int l = shim_socket(AF_INET, SOCK_STREAM, 0), fd, file, one = 1;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(T->local_port) };
	char path[] = "/tmp/pstack-sendfile-XXXXXX";
	static const uint8_t zeroes[5];
	off_t off = 0;

	(void)state;
	assert_true(l >= 0);
	assert_int_equal(shim_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(shim_bind(l, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(shim_listen(l, 1), 0);
	inject("S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 10>");
	expect_prefix("S. 0:0(0) ack 1 ");
	inject(". 1:1(0) ack 1 win 514");
	fd = shim_accept4(l, NULL, NULL, 0);
	assert_true(fd >= 0);
	file = mkstemp(path);
	assert_true(file >= 0);
	assert_int_equal(write(file, zeroes, sizeof(zeroes)), 5);
	close(file);
	file = open(path, O_RDONLY);
	unlink(path);
	assert_true(file >= 0);
	assert_int_equal(shim_sendfile(fd, file, &off, 5), 5);
	assert_int_equal(off, 5);
	expect_prefix("P. 1:6(5) ack 1 ");
	stack_lock(&hmu);
	assert_int_equal(T->last_len, 5);
	assert_memory_equal(T->last_payload, zeroes, 5);
	stack_unlock(&hmu);
	close(file);
	assert_int_equal(shim_close(fd), 0);
	expect_prefix("F. 6:6(0) ack 1 ");
	assert_int_equal(shim_close(l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offsets_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sendfile_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_position_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_under_send, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
