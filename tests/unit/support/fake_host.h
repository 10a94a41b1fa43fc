/*
 * The host a shim unit test runs the shim on, instead of the library's
 * runner: a harness stack (in-memory link, fake clock) and the stack lock
 * the library's host has (stack/host/lock.h), with the core's lock checks on
 * and a libc table that aborts on a system call made under the lock.
 *
 *   setup:    fh_setup(h_new(...), shim_wake_flush); fh_host(&host);
 *             (add the test's own hooks to host: spin, block_begin...)
 *             fh_init_shim(&host, NULL);
 *   teardown: fh_teardown(); h_free(fh.h);
 */
#ifndef PSTACK_TEST_FAKE_HOST_H
#define PSTACK_TEST_FAKE_HOST_H

#include <stdint.h>

#include "shim/shim.h"
#include "stack/host/lock.h"
#include "tests/unit/support/harness.h"

struct fake_host {
	struct harness *h;          /* the stack the shim runs on */
	struct stack_lock lock;     /* the stack lock */
	int start_rc;               /* what the host's start() answers */
	int start_calls, stop_calls;
	uint64_t stopped_linger;    /* the linger of the last stop() */
};
extern struct fake_host fh;

/* Makes h the shim's stack, with the lock (after_unlock: its step after
 * each unlock, shim_wake_flush as in the library) and the lock checks. */
void fh_setup(struct harness *h, void (*after_unlock)(void));
/* The fake host's calls: start, stack, lock, unlock, now, stop. */
void fh_host(struct shim_host *host);
/* shim_init() with the checked libc table (tweak, when not NULL, may
 * replace some of its functions first) and host. */
void fh_init_shim(const struct shim_host *host, void (*tweak)(struct shim_libc *libc));
/* Forgets every socket and turns the lock checks off (the caller frees fh.h). */
void fh_teardown(void);

/* A UDP datagram from the peer's port 40000 to dport, into the stack (the
 * caller holds the lock, or no other thread runs). */
void fh_deliver_udp(uint16_t dport, const char *text);
/* A UDP socket bound to port (any address), whose receive waits at most
 * rcvtimeo_ms (0: forever). */
int fh_udp_socket(uint16_t port, int rcvtimeo_ms);
/* Memory the program does not own gives EFAULT: the SIGSEGV/SIGBUS handler
 * the library installs, reduced to asking shim_user_fault(). Installed by
 * the test itself (cmocka puts its own in around each setup, test and
 * teardown). */
void fh_catch_faults(void);

/* A TCP script (tests/unit/support/tcp_script.h) on the shim's stack: its
 * steps taken under the stack lock, as the library's host would. */
struct tscript;
void fh_ts_inject(struct tscript *t, const char *spec);
/* The next frame the stack sent must start with prefix (fails the test). */
void fh_ts_expect_prefix(struct tscript *t, const char *prefix);
/* ts_next and ts_expect_none under the lock. */
bool fh_ts_next(struct tscript *t, char *line, size_t cap);
void fh_ts_expect_none(struct tscript *t);

#endif
