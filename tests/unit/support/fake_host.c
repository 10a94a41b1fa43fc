/* The fake host of the shim unit tests (fake_host.h). */
#include "tests/unit/support/fake_host.h"
#include "tests/unit/support/tcp_script.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "stack/core/lockcheck.h"
#include "tests/unit/support/shim_libc.h"

struct fake_host fh;

static int fh_start(void *c) { (void)c; fh.start_calls++; return fh.start_rc; }
static struct stack *fh_stack(void *c) { (void)c; return fh.h->s; }
static void fh_lock(void *c) { (void)c; stack_lock(&fh.lock); }
static void fh_unlock(void *c) { (void)c; stack_unlock(&fh.lock); }
static uint64_t fh_now(void *c) { (void)c; return fh.h->now; }
static void fh_stop(void *c, uint64_t linger) { (void)c; fh.stopped_linger = linger; fh.stop_calls++; }

void fh_setup(struct harness *h, void (*after_unlock)(void))
{
	memset(&fh, 0, sizeof(fh));
	fh.h = h;
	stack_lock_init(&fh.lock, after_unlock);
	/* The core's entry points check that they run under it. */
	stack_lock_check(&fh.lock);
}

void fh_host(struct shim_host *host)
{
	memset(host, 0, sizeof(*host));
	host->start = fh_start;
	host->stack = fh_stack;
	host->lock = fh_lock;
	host->unlock = fh_unlock;
	host->now = fh_now;
	host->stop = fh_stop;
}

void fh_init_shim(const struct shim_host *host, void (*tweak)(struct shim_libc *libc))
{
	struct shim_libc libc;

	h_checked_libc(&libc, &fh.lock);
	if (tweak)
		tweak(&libc);
	shim_init(&libc, host);
}

void fh_teardown(void)
{
	shim_reset_for_test();
	stack_lock_check(NULL);
}

void fh_deliver_udp(uint16_t dport, const char *text)
{
	static uint8_t buf[H_MAX_FRAME];
	size_t n = h_build_udp(buf, H_PEER_IP, 40000, H_STACK_IP, dport, (const uint8_t *)text, strlen(text));

	h_inject(fh.h, buf, n);
}

int fh_udp_socket(uint16_t port, int rcvtimeo_ms)
{
	int fd = shim_socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a;
	struct timeval tv = { rcvtimeo_ms / 1000, (rcvtimeo_ms % 1000) * 1000 };

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	assert_true(fd >= 0);
	assert_int_equal(shim_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (rcvtimeo_ms)
		assert_int_equal(shim_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* The library's handler, less the program's: a fault that is not a copy's
 * kills with the default action. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)shim_user_fault(sig, si, uc);
	signal(sig, SIG_DFL);
}

void fh_catch_faults(void)
{
	struct sigaction a;

	memset(&a, 0, sizeof(a));
	a.sa_sigaction = on_fault;
	a.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&a.sa_mask);
	sigaction(SIGSEGV, &a, NULL);
	sigaction(SIGBUS, &a, NULL);
}

void fh_ts_inject(struct tscript *t, const char *spec)
{
	stack_lock(&fh.lock);
	ts_inject(t, spec);
	stack_unlock(&fh.lock);
}

bool fh_ts_next(struct tscript *t, char *line, size_t cap)
{
	bool got;

	stack_lock(&fh.lock);
	got = ts_next(t, line, cap);
	stack_unlock(&fh.lock);
	return got;
}

void fh_ts_expect_none(struct tscript *t)
{
	stack_lock(&fh.lock);
	ts_expect_none(t);
	stack_unlock(&fh.lock);
}

void fh_ts_expect_prefix(struct tscript *t, const char *prefix)
{
	char line[512];
	bool got;

	stack_lock(&fh.lock);
	got = ts_next(t, line, sizeof(line));
	stack_unlock(&fh.lock);
	if (!got)
		fail_msg("no frame sent, expected \"%s...\"", prefix);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		fail_msg("sent \"%s\", expected \"%s...\"", line, prefix);
}
