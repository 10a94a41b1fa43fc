/*
 * The TAP driver and the runner on real TAP devices. Each test runs in a
 * forked child inside a network namespace of its own (unshare(CLONE_NEWNET)),
 * so nothing touches the host's namespace; without root or /dev/net/tun the
 * tests are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "stack/dev/fault.h"
#include "stack/core/log.h"
#include "stack/core/tcp/tcp.h"
#include "stack/host/lock.h"
#include "stack/host/runner.h"
#include "stack/dev/tap.h"
#include "stack/wire/wire.h"

#define SKIP_CODE 77

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); _exit(1); } } while (0)

static char tmpdir[64];

/* The stack lock a runner takes (the library's host owns one per process;
 * each test runs in a child of its own). */
static struct stack_lock *new_lock(void)
{
	static struct stack_lock lock;

	stack_lock_init(&lock, NULL);
	return &lock;
}

/* Runs body in a child in a fresh network namespace; skips when that is impossible. */
static void in_netns(void (*body)(void))
{
	pid_t pid;
	int status;

	if (geteuid() != 0 || access("/dev/net/tun", F_OK) != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(SKIP_CODE);
		body();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == SKIP_CODE)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int ctl_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	CHECK(fd >= 0);
	return fd;
}

static short if_flags(const char *name)
{
	struct ifreq ifr;
	int fd = ctl_socket();

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
	close(fd);
	return ifr.ifr_flags;
}

/* The interface's IPv4 address (0 when it has none) and netmask. */
static uint32_t if_addr(const char *name, uint32_t *mask)
{
	struct ifreq ifr;
	struct sockaddr_in sin;
	int fd = ctl_socket();
	uint32_t a = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
		memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
		a = ntohl(sin.sin_addr.s_addr);
		CHECK(ioctl(fd, SIOCGIFNETMASK, &ifr) == 0);
		memcpy(&sin, &ifr.ifr_netmask, sizeof(sin));
		*mask = ntohl(sin.sin_addr.s_addr);
	}
	close(fd);
	return a;
}

/* A tun fd attached to name (persistent when asked). */
static int tap_fd(const char *name, int persist)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	if (persist)
		CHECK(ioctl(fd, TUNSETPERSIST, 1) == 0);
	return fd;
}

static char *read_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	CHECK(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static uint64_t frames_in(struct runner *r)
{
	uint64_t n;

	runner_lock(r);
	n = stack_stats(runner_stack(r))->frames_in;
	runner_unlock(r);
	return n;
}

/* Waits (bounded, 5 s) until cond(r) holds; the stack thread makes it true. */
static int wait_for(struct runner *r, int (*cond)(struct runner *r))
{
	struct timespec ten_ms = { 0, 10000000 };

	for (int i = 0; i < 500; i++) {
		if (cond(r))
			return 1;
		nanosleep(&ten_ms, NULL);
	}
	return 0;
}

static int got_a_frame(struct runner *r) { return frames_in(r) > 0; }

/* Creating a transient device: up, host side addressed, frames read by the thread, logs and pcap. */
static void body_transient(void)
{
	struct host_config cfg;
	struct runner *r;
	struct sockaddr_in to;
	char logp[128], pcapp[128];
	uint32_t mask = 0;
	char *log;
	int u;

	host_config_defaults(&cfg);
	strcpy(cfg.tap, "pst0");
	cfg.log_level = LOG_DEBUG;
	snprintf(logp, sizeof(logp), "%s/log", tmpdir);
	snprintf(pcapp, sizeof(pcapp), "%s/cap.pcap", tmpdir);
	strcpy(cfg.log_file, logp);
	strcpy(cfg.pcap, pcapp);
	CHECK(if_nametoindex("pst0") == 0);
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	CHECK(if_nametoindex("pst0") != 0);
	CHECK(if_flags("pst0") & IFF_UP);
	CHECK(if_addr("pst0", &mask) == IP4(192, 0, 2, 1));
	CHECK(mask == 0xffffff00u);
	CHECK(runner_dev(r)->mtu == 1500);
	CHECK(stack_mtu(runner_stack(r)) == 1500);

	/* The kernel resolves 192.0.2.2 with ARP on pst0: the thread reads the request. */
	u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(9);
	to.sin_addr.s_addr = htonl(IP4(192, 0, 2, 2));
	CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
	CHECK(wait_for(r, got_a_frame));
	close(u);

	runner_stop(r, 1000000);
	CHECK(if_nametoindex("pst0") == 0);  /* transient: gone with our fd */
	log = read_file(logp);
	CHECK(strstr(log, "pstack debug: device pst0 registered"));
	CHECK(strstr(log, "interface pst0 attached"));
	CHECK(strstr(log, "pstack debug: route registered: 192.0.2.0/24 on pst0, default via 192.0.2.1"));
	CHECK(strstr(log, "pstack debug: stack thread started"));
	CHECK(strstr(log, "pstack debug: counters: frames in "));
	/* The capture holds at least the ARP request: a header and one record. */
	{
		FILE *f = fopen(pcapp, "rb");
		long n;

		CHECK(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fclose(f);
		CHECK(n >= 24 + 16 + 42);
	}
}

static void test_transient_device(void **state)
{
	(void)state;
	in_netns(body_transient);
}

/* An existing (persistent, down) device: attached to, brought up, its addresses left alone. */
static void body_existing(void)
{
	struct host_config cfg;
	struct runner *r;
	struct ifreq ifr;
	uint32_t mask;
	int fd;

	fd = tap_fd("pst1", 1);
	close(fd);
	CHECK(!(if_flags("pst1") & IFF_UP));
	host_config_defaults(&cfg);
	strcpy(cfg.tap, "pst1");
	cfg.log_level = LOG_ERROR;
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	CHECK(if_flags("pst1") & IFF_UP);
	CHECK(if_addr("pst1", &mask) == 0);
	runner_stop(r, 0);
	CHECK(if_nametoindex("pst1") != 0);   /* still there: not ours to delete */

	/* Set the MTU on the host side: the driver reads it. */
	fd = ctl_socket();
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "pst1");
	ifr.ifr_mtu = 1400;
	CHECK(ioctl(fd, SIOCSIFMTU, &ifr) == 0);
	close(fd);
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	CHECK(stack_mtu(runner_stack(r)) == 1400);
	runner_stop(r, 0);

	fd = tap_fd("pst1", 0);
	CHECK(ioctl(fd, TUNSETPERSIST, 0) == 0);
	close(fd);
	CHECK(if_nametoindex("pst1") == 0);
}

static void test_existing_device(void **state)
{
	(void)state;
	in_netns(body_existing);
}

/* Failures: one line saying what failed and what to do. */
static void body_errors(void)
{
	struct tap_config cfg;
	struct netdev *dev;
	char err[512];
	pid_t pid;
	int status, fd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.addr = IP4(192, 0, 2, 2);
	cfg.prefix_len = 24;
	cfg.gateway = IP4(192, 0, 2, 1);
	cfg.offload = true;
	strcpy(cfg.name, "pst2");
	fd = tap_fd("pst2", 0);    /* someone else holds it */
	CHECK(tap_open(&cfg, &dev, err, sizeof(err)) == -EBUSY);
	CHECK(dev == NULL);
	CHECK(strncmp(err, "cannot attach to TAP device 'pst2': Device or resource busy;", 60) == 0);
	CHECK(!strchr(err, '\n'));
	close(fd);

	/* Without privileges (nobody). */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int rc;

		strcpy(cfg.name, "pst3");
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		rc = tap_open(&cfg, &dev, err, sizeof(err));
		if ((rc != -EPERM && rc != -EACCES) ||
		    strncmp(err, "cannot attach to TAP device 'pst3': ", 36) != 0 ||
		    !strstr(err, "pstack tap add pst3 --user ") ||
		    !strstr(err, "ip tuntap add dev pst3 mode tap user ") ||
		    !strstr(err, "ip addr add 192.0.2.1/24 dev pst3") || strchr(err, '\n')) {
			fprintf(stderr, "rc %d, err: %s\n", rc, err);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* cfg.kernel_root: runner_start reads the namespace's sysctls from there
 * (here no stack holds the device: after it is open) into the stack's
 * settings; without it, the defaults stay. */
static void body_kernel_root(void)
{
	struct host_config cfg;
	struct runner *r;
	char root[128], path[192];
	FILE *f;

	snprintf(root, sizeof(root), "%s/sys", tmpdir);
	snprintf(path, sizeof(path), "mkdir -p %s/net/ipv4", root);
	CHECK(system(path) == 0);
	snprintf(path, sizeof(path), "%s/net/ipv4/tcp_syn_retries", root);
	f = fopen(path, "w");
	CHECK(f);
	fputs("3\n", f);
	fclose(f);
	host_config_defaults(&cfg);
	strcpy(cfg.tap, "pst4");
	cfg.log_level = LOG_ERROR;
	CHECK(cfg.stack.tcp_syn_retries != 3);
	cfg.kernel_root = root;
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	CHECK(stack_config(runner_stack(r))->tcp_syn_retries == 3);
	runner_stop(r, 0);
	cfg.kernel_root = NULL;
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	CHECK(stack_config(runner_stack(r))->tcp_syn_retries != 3);
	runner_stop(r, 0);
}

static void test_kernel_root(void **state)
{
	(void)state;
	in_netns(body_kernel_root);
}

static void test_errors(void **state)
{
	(void)state;
	in_netns(body_errors);
}

static uint64_t passed_out(struct runner *r)
{
	struct fault_stats st;
	struct netdev *dev;

	runner_lock(r);
	dev = runner_dev(r);
	runner_unlock(r);
	/* The fault link's own lock, never taken under the stack's (stack/CONCURRENCY.md). */
	CHECK(fault_get_stats(dev, &st));
	return st.passed[FRAME_OUT];
}

static uint64_t passed_before;

static void write_sysctl(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;   /* a kernel without IPv6 has nothing to disable */
	fputs(value, f);
	fclose(f);
}

static int delayed_frames_out(struct runner *r) { return passed_out(r) >= passed_before + 2; }

/* A call that arms an earlier deadline wakes the sleeping thread (runner_unlock's kick):
 * a frame delayed 1 ms by the fault link (the device chain's deadline) goes out
 * although nothing else happens. */
static void body_kick(void)
{
	struct host_config cfg;
	struct runner *r;
	uint8_t f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x88, 0xb5 };

	/* No IPv6 on the new device: no router solicitation or MLD frame may wake the thread instead. */
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	host_config_defaults(&cfg);
	strcpy(cfg.tap, "pst4");
	cfg.log_level = LOG_ERROR;
	CHECK(config_parse_faults("delay=1ms", &cfg.faults) == 0);
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	/* Let the thread go through one wakeup (a frame from a packet socket) first: once we see
	 * the frame counted under the lock, it has computed its deadline and sleeps towards it. */
	{
		struct sockaddr_ll ll;
		int p = socket(AF_PACKET, SOCK_RAW, 0);

		CHECK(p >= 0);
		memset(&ll, 0, sizeof(ll));
		ll.sll_family = AF_PACKET;
		ll.sll_ifindex = (int)if_nametoindex("pst4");
		ll.sll_halen = 6;
		memset(ll.sll_addr, 0xff, 6);
		CHECK(sendto(p, f, sizeof(f), 0, (struct sockaddr *)&ll, sizeof(ll)) == (ssize_t)sizeof(f));
		close(p);
		CHECK(wait_for(r, got_a_frame));
	}
	{
		struct netdev *dev;
		struct fault_stats st;

		runner_lock(r);
		dev = runner_dev(r);
		runner_unlock(r);
		/* As runner_unlock writes the stack's frames: the lock let go, then
		 * the deadline looked at again by the next unlock, which kicks. */
		CHECK(fault_get_stats(dev, &st));
		passed_before = st.passed[FRAME_OUT];
		CHECK(dev->ops->transmit(dev, f, sizeof(f), 0, runner_now()) == 0);
		CHECK(dev->ops->transmit(dev, f, sizeof(f), 0, runner_now()) == 0);
		runner_lock(r);
		runner_unlock(r);
	}
	CHECK(wait_for(r, delayed_frames_out));
	runner_stop(r, 0);
}

static void test_kick(void **state)
{
	(void)state;
	in_netns(body_kick);
}

/*
 * A timer that comes due while the runner's thread sleeps without the
 * device (an application thread busy-polls, PSTACK_SPIN_US) must not act
 * before the frames the device holds: the thread wakes for the timer,
 * reads what waits first, then runs it. The stack sends a byte while the
 * thread sleeps so; the kernel's ACK waits in the TAP's queue; the loss
 * probe's timer (about 200 ms for a single segment) wakes the thread long
 * before the polling's grace ends (2 s). Before, it ran the timer first and
 * resent the byte (a retransmission, which the peer answered with a D-SACK).
 */
static struct tcp_conn *tf_conn;

static int tf_established(struct runner *r)
{
	int st;

	runner_lock(r);
	st = tcp_get_state(tf_conn);
	runner_unlock(r);
	return st == TCP_STATE_ESTABLISHED;
}

static int tf_parked(struct runner *r)
{
	int p;

	runner_lock(r);
	p = runner_parked(r);
	runner_unlock(r);
	return p;
}

static int tf_acked(struct runner *r)
{
	size_t n;

	runner_lock(r);
	n = tcp_outq(tf_conn);
	runner_unlock(r);
	return n == 0;
}

static void body_timer_after_frames(void)
{
	struct host_config cfg;
	struct runner *r;
	struct sockaddr_in a;
	struct ip4_endpoint peer = { IP4(192, 0, 2, 1), 7001 };
	uint64_t retrans;
	int l, one = 1;

	host_config_defaults(&cfg);
	strcpy(cfg.tap, "pst0");
	cfg.spin_us = 2000000;
	CHECK(runner_start(&cfg, new_lock(), &r) == 0);
	l = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0);
	CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(7001);
	a.sin_addr.s_addr = htonl(IP4(192, 0, 2, 1));
	CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(l, 4) == 0);

	runner_lock(r);
	tf_conn = tcp_open(runner_stack(r));
	CHECK(tf_conn);
	CHECK(tcp_connect(tf_conn, &peer, runner_now()) == -EINPROGRESS);
	runner_unlock(r);
	CHECK(wait_for(r, tf_established));

	/* This thread busy-polls once and arms a far timer: the kick makes the
	 * runner's thread look again, and it parks for PSTACK_SPIN_US. */
	runner_lock(r);
	runner_poll_once(r);
	CHECK(tcp_setopt(tf_conn, TCP_OPT_KEEPIDLE, 30) == 0);
	CHECK(tcp_setopt(tf_conn, TCP_OPT_KEEPALIVE, 1) == 0);
	runner_unlock(r);
	CHECK(wait_for(r, tf_parked));

	/* The byte leaves in this thread's unlock; its ACK waits in the TAP. */
	runner_lock(r);
	CHECK(tcp_send(tf_conn, "x", 1, runner_now()) == 1);
	runner_unlock(r);
	CHECK(wait_for(r, tf_acked));
	runner_lock(r);
	retrans = stack_stats(runner_stack(r))->tcp_retransmits;
	tcp_close(tf_conn, runner_now());
	runner_unlock(r);
	CHECK(retrans == 0);
	close(l);
	runner_stop(r, 1000000);
}

static void test_timer_after_frames(void **state)
{
	(void)state;
	in_netns(body_timer_after_frames);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/pstack-runner-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transient_device),
		cmocka_unit_test(test_existing_device),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_kernel_root),
		cmocka_unit_test(test_kick),
		cmocka_unit_test(test_timer_after_frames),
	};
	return cmocka_run_group_tests_name("runner", tests, setup, teardown);
}
