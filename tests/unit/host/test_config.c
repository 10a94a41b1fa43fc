/* PSTACK_* parsing: defaults, every variable's good and bad values, the one-line errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "stack/host/config.h"
#include "stack/core/log.h"
#include "stack/wire/wire.h"

/* A fake environment: pairs of name and value, NULL-terminated. */
static const char *const *env_table;

static const char *fake_get(const char *name)
{
	for (const char *const *e = env_table; e && e[0]; e += 2)
		if (strcmp(e[0], name) == 0)
			return e[1];
	return NULL;
}

static int load(struct host_config *cfg, char *err, size_t errlen, const char *const *env)
{
	env_table = env;
	return host_config_from_env(cfg, fake_get, err, errlen);
}

/* One variable set to value: must be refused, with one line naming it, quoting the value and saying what is expected. */
static void expect_bad(const char *name, const char *value, const char *expected)
{
	const char *env[] = { name, value, NULL };
	struct host_config cfg;
	char err[512], head[300];

	memset(err, 'x', sizeof(err));
	assert_int_equal(load(&cfg, err, sizeof(err), env), -EINVAL);
	snprintf(head, sizeof(head), "%s='", name);
	if (strncmp(err, head, strlen(head)) != 0 || !strstr(err, "is not valid: expected") ||
	    !strstr(err, expected) || strchr(err, '\n'))
		fail_msg("%s=%s: error line is \"%s\"", name, value, err);
}

static void expect_good(const char *name, const char *value, struct host_config *cfg)
{
	const char *env[] = { name, value, NULL };
	char err[512];

	if (load(cfg, err, sizeof(err), env) != 0)
		fail_msg("%s=%s refused: %s", name, value, err);
}

static void test_defaults(void **state)
{
	struct host_config cfg;
	char err[256] = "junk";
	static const uint8_t mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	const char *env[] = { "PSTACK_ADDR", "", "PSTACK_TAP", "", NULL };  /* empty = unset */

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(load(&cfg, err, sizeof(err), env), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.tap, "tap0");
	assert_int_equal(cfg.stack.addr, IP4(192, 0, 2, 2));
	assert_int_equal(cfg.stack.prefix_len, 24);
	assert_int_equal(cfg.stack.gateway, IP4(192, 0, 2, 1));
	assert_memory_equal(cfg.stack.mac, mac, 6);
	assert_int_equal(cfg.stack.mtu, 0);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_string_equal(cfg.log_file, "");
	assert_string_equal(cfg.pcap, "");
	assert_int_equal(cfg.faults.enabled, 0);
	assert_int_equal(cfg.stack.tcp_msl_ms, 30000);
}

static void test_everything_set(void **state)
{
	const char *env[] = {
		"PSTACK_TAP", "pst-a.1_b", "PSTACK_ADDR", "10.1.2.3/16", "PSTACK_GATEWAY", "10.1.255.254",
		"PSTACK_MAC", "02:AB:cd:00:00:09", "PSTACK_MTU", "9000", "PSTACK_LOG", "trace",
		"PSTACK_LOG_FILE", "/tmp/p.log", "PSTACK_PCAP", "/tmp/p.pcap",
		"PSTACK_FAULTS", "loss=3%,dup=1%,reorder=10%,corrupt=0.5%,delay=2ms,seed=42",
		"PSTACK_TCP_MSL_MS", "1000", NULL
	};
	static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0, 0, 9 };
	struct host_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(&cfg, err, sizeof(err), env), 0);
	assert_string_equal(cfg.tap, "pst-a.1_b");
	assert_int_equal(cfg.stack.addr, IP4(10, 1, 2, 3));
	assert_int_equal(cfg.stack.prefix_len, 16);
	assert_int_equal(cfg.stack.gateway, IP4(10, 1, 255, 254));
	assert_memory_equal(cfg.stack.mac, mac, 6);
	assert_int_equal(cfg.stack.mtu, 9000);
	assert_int_equal(cfg.log_level, LOG_TRACE);
	assert_string_equal(cfg.log_file, "/tmp/p.log");
	assert_string_equal(cfg.pcap, "/tmp/p.pcap");
	assert_int_equal(cfg.faults.loss_ppm, 30000);
	assert_int_equal(cfg.faults.dup_ppm, 10000);
	assert_int_equal(cfg.faults.reorder_ppm, 100000);
	assert_int_equal(cfg.faults.corrupt_ppm, 5000);
	assert_int_equal(cfg.faults.delay_us, 2000);
	assert_int_equal(cfg.faults.seed, 42);
	assert_int_equal(cfg.faults.enabled, 1);
	assert_int_equal(cfg.stack.tcp_msl_ms, 1000);
}

static void test_tap(void **state)
{
	struct host_config cfg;

	(void)state;
	expect_good("PSTACK_TAP", "a", &cfg);
	assert_string_equal(cfg.tap, "a");
	expect_good("PSTACK_TAP", "abcdefghijklmno", &cfg);   /* 15: IFNAMSIZ - 1 */
	assert_string_equal(cfg.tap, "abcdefghijklmno");
	expect_bad("PSTACK_TAP", "abcdefghijklmnop", "interface name of 1 to 15");
	expect_bad("PSTACK_TAP", "tap/0", "interface name");
	expect_bad("PSTACK_TAP", "tap 0", "interface name");
	expect_bad("PSTACK_TAP", "tap%d", "interface name");
	expect_bad("PSTACK_TAP", "..", "interface name");
	expect_bad("PSTACK_TAP", "tap0\nX", "interface name");
}

static void test_addr(void **state)
{
	struct host_config cfg;
	static const char *const bad[] = {
		"banana", "192.0.2", "192.0.2.2.", "192.0.2.256/24", "192.0.2.2/", "192.0.2.2/0", "192.0.2.2/31",
		"192.0.2.2/32", "192.0.2.2/24x", " 192.0.2.2", "+192.0.2.2", "192.0.2.-2", "192.0.02.2",
		"192.0.2.2/024", "192.0.2.2 /24", "1.2.3.4/+8", "0x1.0.2.2",
	};

	(void)state;
	expect_good("PSTACK_ADDR", "192.0.2.7", &cfg);
	assert_int_equal(cfg.stack.addr, IP4(192, 0, 2, 7));
	assert_int_equal(cfg.stack.prefix_len, 24);          /* without /N: /24 */
	assert_int_equal(cfg.stack.gateway, IP4(192, 0, 2, 1));
	expect_good("PSTACK_ADDR", "198.51.100.9/30", &cfg);
	assert_int_equal(cfg.stack.addr, IP4(198, 51, 100, 9));
	assert_int_equal(cfg.stack.prefix_len, 30);
	assert_int_equal(cfg.stack.gateway, IP4(198, 51, 100, 10)); /* the first host is ours: the second */
	expect_good("PSTACK_ADDR", "10.0.0.1/8", &cfg);
	assert_int_equal(cfg.stack.gateway, IP4(10, 0, 0, 2));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad("PSTACK_ADDR", bad[i], "IPv4 address with prefix length");
	/* Syntactically fine, but not a host address of its subnet. */
	expect_bad("PSTACK_ADDR", "192.0.2.0/24", "network or broadcast");
	expect_bad("PSTACK_ADDR", "192.0.2.255", "network or broadcast");
	expect_bad("PSTACK_ADDR", "224.0.0.5/24", "unicast host address");
	expect_bad("PSTACK_ADDR", "127.0.0.2/8", "unicast host address");

	/* The example in config.h's comment, word for word. */
	{
		const char *env[] = { "PSTACK_ADDR", "banana", NULL };
		char err[256];

		assert_int_equal(load(&cfg, err, sizeof(err), env), -EINVAL);
		assert_string_equal(err, "PSTACK_ADDR='banana' is not valid: expected an IPv4 address with prefix "
				    "length /1 to /30, e.g. 192.0.2.2/24");
	}
}

static void test_gateway(void **state)
{
	struct host_config cfg;

	(void)state;
	expect_good("PSTACK_GATEWAY", "none", &cfg);
	assert_int_equal(cfg.stack.gateway, 0);
	expect_good("PSTACK_GATEWAY", "192.0.2.254", &cfg);
	assert_int_equal(cfg.stack.gateway, IP4(192, 0, 2, 254));
	expect_bad("PSTACK_GATEWAY", "gw", "IPv4 address on the stack's subnet, or none");
	expect_bad("PSTACK_GATEWAY", "192.0.2.1/24", "IPv4 address");
	expect_bad("PSTACK_GATEWAY", "192.0.2.300", "IPv4 address");
	expect_bad("PSTACK_GATEWAY", "192.0.3.1", "on the subnet 192.0.2.0/24");
	expect_bad("PSTACK_GATEWAY", "192.0.2.2", "other than the stack's own");  /* our own address */
	expect_bad("PSTACK_GATEWAY", "192.0.2.255", "on the subnet");
	expect_bad("PSTACK_GATEWAY", "NONE", "or none");

	/* Checked against PSTACK_ADDR's subnet, not the default one. */
	{
		const char *env[] = { "PSTACK_ADDR", "10.9.0.2/16", "PSTACK_GATEWAY", "10.9.200.1", NULL };
		const char *env2[] = { "PSTACK_ADDR", "10.9.0.2/24", "PSTACK_GATEWAY", "10.9.200.1", NULL };
		char err[256];

		assert_int_equal(load(&cfg, err, sizeof(err), env), 0);
		assert_int_equal(cfg.stack.gateway, IP4(10, 9, 200, 1));
		assert_int_equal(load(&cfg, err, sizeof(err), env2), -EINVAL);
		assert_non_null(strstr(err, "PSTACK_GATEWAY='10.9.200.1'"));
		assert_non_null(strstr(err, "10.9.0.0/24"));
	}
}

static void test_mac(void **state)
{
	struct host_config cfg;
	static const uint8_t m[6] = { 0x02, 0, 0, 0, 0, 0xff };

	(void)state;
	expect_good("PSTACK_MAC", "02:00:00:00:00:fF", &cfg);
	assert_memory_equal(cfg.stack.mac, m, 6);
	expect_bad("PSTACK_MAC", "01:00:5e:00:00:01", "unicast MAC address xx:xx:xx:xx:xx:xx");  /* multicast */
	expect_bad("PSTACK_MAC", "ff:ff:ff:ff:ff:ff", "unicast MAC");
	expect_bad("PSTACK_MAC", "00:00:00:00:00:00", "unicast MAC");
	expect_bad("PSTACK_MAC", "02:00:00:00:00", "unicast MAC");
	expect_bad("PSTACK_MAC", "02:00:00:00:00:001", "unicast MAC");
	expect_bad("PSTACK_MAC", "02-00-00-00-00-01", "unicast MAC");
	expect_bad("PSTACK_MAC", "2:0:0:0:0:1", "unicast MAC");
	expect_bad("PSTACK_MAC", "02:00:00:00:00:0g", "unicast MAC");
}

static void test_mtu(void **state)
{
	struct host_config cfg;

	(void)state;
	expect_good("PSTACK_MTU", "68", &cfg);
	assert_int_equal(cfg.stack.mtu, 68);
	expect_good("PSTACK_MTU", "65535", &cfg);
	assert_int_equal(cfg.stack.mtu, 65535);
	expect_bad("PSTACK_MTU", "67", "a number from 68 to 65535");
	expect_bad("PSTACK_MTU", "65536", "68 to 65535");
	expect_bad("PSTACK_MTU", "1500x", "68 to 65535");
	expect_bad("PSTACK_MTU", "+1500", "68 to 65535");
	expect_bad("PSTACK_MTU", "-1", "68 to 65535");
	expect_bad("PSTACK_MTU", "01500", "68 to 65535");
	expect_bad("PSTACK_MTU", "99999999999999999999999", "68 to 65535");
}

static void test_log(void **state)
{
	static const char *const names[] = { "error", "warn", "info", "debug", "trace" };
	struct host_config cfg;
	char path[300];

	(void)state;
	for (int i = 0; i < 5; i++) {
		expect_good("PSTACK_LOG", names[i], &cfg);
		assert_int_equal(cfg.log_level, i);
	}
	expect_bad("PSTACK_LOG", "verbose", "one of error, warn, info, debug, trace");
	expect_bad("PSTACK_LOG", "DEBUG", "one of error");
	expect_good("PSTACK_LOG_FILE", "/var/log/x.log", &cfg);
	assert_string_equal(cfg.log_file, "/var/log/x.log");
	memset(path, 'a', sizeof(path));
	path[299] = 0;
	expect_bad("PSTACK_LOG_FILE", path, "file path shorter than 256 bytes");
	expect_good("PSTACK_PCAP", "/tmp/x.pcap", &cfg);
	assert_string_equal(cfg.pcap, "/tmp/x.pcap");
	expect_bad("PSTACK_PCAP", path, "file path shorter than 256");
}

static void test_faults(void **state)
{
	struct host_config cfg;
	static const char *const bad[] = {
		"loss", "loss=", "loss=3", "loss=3 %", "loss=101%", "loss=100.0001%", "loss=0.00001%",
		"loss=-1%", "loss=+1%", "loss=1%,", ",loss=1%", "loss=1%,,dup=1%", "loss=1%,loss=2%",
		"drop=1%", "delay=2", "delay=2m", "delay=2msx", "delay=61s", "delay=0.5us", "seed=x",
		"seed=18446744073709551616", "Loss=1%", "loss=1%;dup=1%",
	};

	(void)state;
	expect_good("PSTACK_FAULTS", "loss=0.0001%", &cfg);
	assert_int_equal(cfg.faults.loss_ppm, 1);
	assert_int_equal(cfg.faults.seed, 1);      /* the fixed default seed */
	assert_int_equal(cfg.faults.enabled, 1);
	expect_good("PSTACK_FAULTS", "loss=100%", &cfg);
	assert_int_equal(cfg.faults.loss_ppm, 1000000);
	expect_good("PSTACK_FAULTS", "reorder=12.5%", &cfg);
	assert_int_equal(cfg.faults.reorder_ppm, 125000);
	expect_good("PSTACK_FAULTS", "delay=500us", &cfg);
	assert_int_equal(cfg.faults.delay_us, 500);
	expect_good("PSTACK_FAULTS", "delay=1.5ms", &cfg);
	assert_int_equal(cfg.faults.delay_us, 1500);
	expect_good("PSTACK_FAULTS", "delay=2s", &cfg);
	assert_int_equal(cfg.faults.delay_us, 2000000);
	expect_good("PSTACK_FAULTS", "seed=18446744073709551615,dup=0%", &cfg);
	assert_true(cfg.faults.seed == UINT64_MAX);
	assert_int_equal(cfg.faults.enabled, 0);   /* nothing to inject */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad("PSTACK_FAULTS", bad[i], "e.g. loss=3%,delay=2ms,seed=42");
	/* The error points at the item that failed. */
	{
		const char *env[] = { "PSTACK_FAULTS", "loss=1%,dup=lots,delay=1ms", NULL };
		char err[512];

		assert_int_equal(load(&cfg, err, sizeof(err), env), -EINVAL);
		assert_non_null(strstr(err, "(problem at 'dup=lots')"));
	}
}

static void test_msl(void **state)
{
	struct host_config cfg;

	(void)state;
	expect_good("PSTACK_TCP_MSL_MS", "1", &cfg);
	assert_int_equal(cfg.stack.tcp_msl_ms, 1);
	expect_good("PSTACK_TCP_MSL_MS", "600000", &cfg);
	assert_int_equal(cfg.stack.tcp_msl_ms, 600000);
	expect_bad("PSTACK_TCP_MSL_MS", "0", "milliseconds from 1 to 600000");
	expect_bad("PSTACK_TCP_MSL_MS", "600001", "milliseconds from 1 to 600000");
	expect_bad("PSTACK_TCP_MSL_MS", "1e3", "milliseconds");
}

/* PSTACK_LINGER_MS: like every other variable, a bad value is one line (it
 * used to mean the default, silently). */
static void test_linger(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.linger_us, 10000ull * 1000);
	expect_good("PSTACK_LINGER_MS", "0", &cfg);
	assert_int_equal(cfg.linger_us, 0);
	expect_good("PSTACK_LINGER_MS", "3600000", &cfg);
	assert_int_equal(cfg.linger_us, 3600000ull * 1000);
	expect_bad("PSTACK_LINGER_MS", "3600001", "milliseconds from 0 to 3600000");
	expect_bad("PSTACK_LINGER_MS", "10s", "milliseconds from 0 to 3600000");
	expect_bad("PSTACK_LINGER_MS", "-1", "e.g. 10000");
}

/* PSTACK_STACK: a name of letters, digits, '-', '_', '.', at most 32;
 * also a file name in the user's folder. */
static void test_stack_name(void **state)
{
	struct host_config cfg;
	char name[HOST_STACK_NAME_MAX + 1], err[256];

	(void)state;
	host_config_defaults(&cfg);
	assert_string_equal(cfg.stack_name, "");
	expect_good("PSTACK_STACK", "shared", &cfg);
	assert_string_equal(cfg.stack_name, "shared");
	expect_good("PSTACK_STACK", "a-b_c.1", &cfg);
	assert_string_equal(cfg.stack_name, "a-b_c.1");
	expect_good("PSTACK_STACK", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &cfg);   /* 32 */
	expect_bad("PSTACK_STACK", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "1 to 32 letters");
	expect_bad("PSTACK_STACK", "a/b", "letters, digits, '-', '_' or '.'");
	expect_bad("PSTACK_STACK", "..", "e.g. shared");
	expect_bad("PSTACK_STACK", ".", "e.g. shared");
	expect_bad("PSTACK_STACK", "sp ace", "e.g. shared");
	expect_bad("PSTACK_STACK", "caf\xc3\xa9", "e.g. shared");
	/* The parser alone: unset and empty are no name. */
	assert_int_equal(config_parse_stack_name(NULL, name, err, sizeof(err)), 0);
	assert_string_equal(name, "");
	assert_int_equal(config_parse_stack_name("", name, err, sizeof(err)), 0);
	assert_string_equal(name, "");
	assert_int_equal(config_parse_stack_name("a:b", name, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "PSTACK_STACK='a:b' is not valid: expected a name of 1 to 32 letters, digits, "
			    "'-', '_' or '.', e.g. shared");
}

/* PSTACK_QUEUES: 0 (unset) means one per CPU, decided at start; 1 to
 * HOST_QUEUES_MAX; anything else is one line naming the variable. */
static void test_queues(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.queues, 0);
	expect_good("PSTACK_QUEUES", "1", &cfg);
	assert_int_equal(cfg.queues, 1);
	expect_good("PSTACK_QUEUES", "16", &cfg);
	assert_int_equal(cfg.queues, 16);
	expect_bad("PSTACK_QUEUES", "0", "PSTACK_QUEUES='0' is not valid: expected a number of TAP queues from 1 to 16");
	expect_bad("PSTACK_QUEUES", "17", "from 1 to 16");
	expect_bad("PSTACK_QUEUES", "two", "e.g. 2");
	expect_bad("PSTACK_QUEUES", "-1", "e.g. 2");
}

/* PSTACK_TCP_RECOVERY and PSTACK_TCP_DSACK: Linux's tcp_recovery and
 * tcp_dsack, on by default. */
static void test_tcp_recovery_dsack(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.tcp_recovery, 1);
	assert_int_equal(cfg.stack.tcp_dsack, 1);
	expect_good("PSTACK_TCP_RECOVERY", "0", &cfg);
	assert_int_equal(cfg.stack.tcp_recovery, 0);
	expect_good("PSTACK_TCP_DSACK", "0", &cfg);
	assert_int_equal(cfg.stack.tcp_dsack, 0);
	expect_bad("PSTACK_TCP_RECOVERY", "2", "RACK-TLP");
	expect_bad("PSTACK_TCP_DSACK", "yes", "D-SACK");
}

/* PSTACK_TCP_MEM: bytes with a K, M or G suffix, 1M to 64G. */
static void test_tcp_mem(void **state)
{
	struct host_config cfg;

	(void)state;
	/* Unset: Linux's tcp_mem[2] for this machine's memory, 3/32 of it. */
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.tcp_mem,
			 config_tcp_mem_for((uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE)));
	/* 24 GiB (this kind of machine): 2.25 GiB, as Linux's 575778 pages of
	 * 4 KiB there; 2 GiB: 192 MiB; bounded by the variable's range. */
	assert_int_equal(config_tcp_mem_for(24ull << 30), 2304ull << 20);
	assert_int_equal(config_tcp_mem_for(2ull << 30), 192u << 20);
	assert_int_equal(config_tcp_mem_for(8u << 20), 1u << 20);
	assert_int_equal(config_tcp_mem_for(1ull << 40), 64ull << 30);
	expect_good("PSTACK_TCP_MEM", "64M", &cfg);
	assert_int_equal(cfg.stack.tcp_mem, 64u << 20);
	expect_good("PSTACK_TCP_MEM", "2g", &cfg);
	assert_int_equal(cfg.stack.tcp_mem, 2ull << 30);
	expect_good("PSTACK_TCP_MEM", "1048576", &cfg);
	assert_int_equal(cfg.stack.tcp_mem, 1u << 20);
	expect_good("PSTACK_TCP_MEM", "4096K", &cfg);
	assert_int_equal(cfg.stack.tcp_mem, 4u << 20);
	expect_bad("PSTACK_TCP_MEM", "1048575", "bytes from 1M to 64G");
	expect_bad("PSTACK_TCP_MEM", "65G", "bytes from 1M to 64G");
	expect_bad("PSTACK_TCP_MEM", "256MB", "e.g. 256M");
	expect_bad("PSTACK_TCP_MEM", "-1M", "K, M or G suffix");
	expect_bad("PSTACK_TCP_MEM", "M", "PSTACK_TCP_MEM");
}

/* Writes text to dir/path (the directories made). */
static void put_file(const char *dir, const char *path, const char *text)
{
	char name[512], sub[512];
	FILE *f;

	snprintf(sub, sizeof(sub), "%s/net", dir);
	(void)mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/net/ipv4", dir);
	(void)mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/net/core", dir);
	(void)mkdir(sub, 0700);
	snprintf(name, sizeof(name), "%s/%s", dir, path);
	f = fopen(name, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The window scale's space from the namespace's sysctls, as the kernel
 * takes it: the larger of net.ipv4.tcp_rmem's max (unless PSTACK_TCP_RMEM
 * gave one) and net.core.rmem_max; pstack's own max at least. */
static void test_kernel_sysctls(void **state)
{
	struct host_config cfg;
	char dir[] = "/tmp/pstack-sysctl-XXXXXX";
	char name[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Nothing to read: pstack's own max. */
	host_config_defaults(&cfg);
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.rmem_scale, 6291456);
	/* Linux 6.18's defaults, as sysctl files print them (tabs). */
	put_file(dir, "net/ipv4/tcp_rmem", "4096\t131072\t33554432\n");
	put_file(dir, "net/core/rmem_max", "4194304\n");
	host_config_defaults(&cfg);
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.rmem_scale, 33554432);
	assert_false(cfg.stack.ip_nonlocal_bind);
	put_file(dir, "net/ipv4/ip_nonlocal_bind", "1\n");
	host_config_kernel(&cfg, dir);
	assert_true(cfg.stack.ip_nonlocal_bind);
	put_file(dir, "net/ipv4/ip_nonlocal_bind", "0\n");
	host_config_kernel(&cfg, dir);
	assert_false(cfg.stack.ip_nonlocal_bind);
	/* Fast open: Linux's default 1 (the server side off); the mode and
	 * keys as the kernel prints them, each word little-endian in memory;
	 * a key of zeros (none set yet) is none. */
	assert_int_equal(cfg.stack.tcp_fastopen, 1);
	put_file(dir, "net/ipv4/tcp_fastopen", "515\n");
	put_file(dir, "net/ipv4/tcp_fastopen_key", "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4,01020304-05060708-090a0b0c-0d0e0f10\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.tcp_fastopen, 0x203);
	assert_int_equal(cfg.stack.tcp_fastopen_keys, 2);
	assert_int_equal(cfg.stack.tcp_fastopen_key[0][0], 0xa1);
	assert_int_equal(cfg.stack.tcp_fastopen_key[0][4], 0xb2);
	assert_int_equal(cfg.stack.tcp_fastopen_key[1][0], 0x04);
	assert_int_equal(cfg.stack.tcp_fastopen_key[1][15], 0x0d);
	host_config_defaults(&cfg);
	put_file(dir, "net/ipv4/tcp_fastopen_key", "00000000-00000000-00000000-00000000\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.tcp_fastopen_keys, 0);
	put_file(dir, "net/ipv4/tcp_fastopen_key", "a1a1a1a1-b2b2\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.tcp_fastopen_keys, 0);
	snprintf(name, sizeof(name), "%s/net/ipv4/tcp_fastopen", dir);
	unlink(name);
	snprintf(name, sizeof(name), "%s/net/ipv4/tcp_fastopen_key", dir);
	unlink(name);
	/* TIME_WAIT reuse: Linux's defaults (2, 1000 ms), then the namespace's. */
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.tcp_tw_reuse, 2);
	assert_int_equal(cfg.stack.tcp_tw_reuse_delay_ms, 1000);
	put_file(dir, "net/ipv4/tcp_tw_reuse", "1\n");
	put_file(dir, "net/ipv4/tcp_tw_reuse_delay", "5\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.tcp_tw_reuse, 1);
	assert_int_equal(cfg.stack.tcp_tw_reuse_delay_ms, 5);
	snprintf(name, sizeof(name), "%s/net/ipv4/tcp_tw_reuse", dir);
	unlink(name);
	snprintf(name, sizeof(name), "%s/net/ipv4/tcp_tw_reuse_delay", dir);
	unlink(name);
	/* The ephemeral ports: Linux's default, then the namespace's (tab
	 * separated, as the file reads); a range the kernel would refuse
	 * changes nothing. */
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.ip_local_port_lo, 32768);
	assert_int_equal(cfg.stack.ip_local_port_hi, 60999);
	put_file(dir, "net/ipv4/ip_local_port_range", "57005\t57005\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.ip_local_port_lo, 57005);
	assert_int_equal(cfg.stack.ip_local_port_hi, 57005);
	put_file(dir, "net/ipv4/ip_local_port_range", "2000\t1000\n");
	host_config_defaults(&cfg);
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.ip_local_port_lo, 32768);
	assert_int_equal(cfg.stack.ip_local_port_hi, 60999);
	snprintf(name, sizeof(name), "%s/net/ipv4/ip_local_port_range", dir);
	unlink(name);
	host_config_defaults(&cfg);
	host_config_kernel(&cfg, dir);
	/* The TCP timers and retry counts: Linux's defaults, then the
	 * namespace's, a value out of the sysctl's range left alone. */
	assert_int_equal(cfg.stack.tcp_syn_retries, 6);
	assert_int_equal(cfg.stack.tcp_synack_retries, 5);
	assert_int_equal(cfg.stack.tcp_retries2, 15);
	assert_int_equal(cfg.stack.tcp_orphan_retries, 0);
	assert_int_equal(cfg.stack.tcp_fin_timeout_s, 60);
	assert_int_equal(cfg.stack.tcp_keepalive_time_s, 7200);
	assert_int_equal(cfg.stack.tcp_keepalive_intvl_s, 75);
	assert_int_equal(cfg.stack.tcp_keepalive_probes, 9);
	assert_int_equal(cfg.stack.tcp_rto_max_ms, 120000);
	assert_int_equal(cfg.stack.tcp_invalid_ratelimit_ms, 500);
	{
		static const char *const files[][2] = {
			{ "net/ipv4/tcp_syn_retries", "2\n" }, { "net/ipv4/tcp_synack_retries", "3\n" },
			{ "net/ipv4/tcp_retries2", "4\n" }, { "net/ipv4/tcp_orphan_retries", "1\n" },
			{ "net/ipv4/tcp_fin_timeout", "7\n" }, { "net/ipv4/tcp_keepalive_time", "30\n" },
			{ "net/ipv4/tcp_keepalive_intvl", "5\n" }, { "net/ipv4/tcp_keepalive_probes", "200\n" },
			{ "net/ipv4/tcp_rto_max_ms", "1000\n" }, { "net/ipv4/tcp_invalid_ratelimit", "0\n" },
		};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			put_file(dir, files[i][0], files[i][1]);
		host_config_kernel(&cfg, dir);
		assert_int_equal(cfg.stack.tcp_syn_retries, 2);
		assert_int_equal(cfg.stack.tcp_synack_retries, 3);
		assert_int_equal(cfg.stack.tcp_retries2, 4);
		assert_int_equal(cfg.stack.tcp_orphan_retries, 1);
		assert_int_equal(cfg.stack.tcp_fin_timeout_s, 7);
		assert_int_equal(cfg.stack.tcp_keepalive_time_s, 30);
		assert_int_equal(cfg.stack.tcp_keepalive_intvl_s, 5);
		assert_int_equal(cfg.stack.tcp_keepalive_probes, 9);      /* 200: beyond 127 */
		assert_int_equal(cfg.stack.tcp_rto_max_ms, 1000);
		assert_int_equal(cfg.stack.tcp_invalid_ratelimit_ms, 0);
		/* The option switches; tcp_ecn, _dsack, _recovery only where
		 * PSTACK_TCP_ECN, _DSACK, _RECOVERY did not speak. */
		put_file(dir, "net/ipv4/tcp_timestamps", "2\n");
		put_file(dir, "net/ipv4/tcp_sack", "0\n");
		put_file(dir, "net/ipv4/tcp_window_scaling", "0\n");
		put_file(dir, "net/ipv4/tcp_slow_start_after_idle", "0\n");
		put_file(dir, "net/ipv4/tcp_notsent_lowat", "4294967295\n");
		put_file(dir, "net/ipv4/tcp_ecn", "0\n");
		put_file(dir, "net/ipv4/tcp_dsack", "0\n");
		put_file(dir, "net/ipv4/tcp_recovery", "4\n");
		assert_int_equal(cfg.stack.tcp_frto, 2);        /* Linux's default */
		put_file(dir, "net/ipv4/tcp_frto", "0\n");
		host_config_kernel(&cfg, dir);
		assert_int_equal(cfg.stack.tcp_frto, 0);
		assert_int_equal(cfg.stack.tcp_timestamps, 2);
		assert_int_equal(cfg.stack.tcp_sack, 0);
		assert_int_equal(cfg.stack.tcp_window_scaling, 0);
		assert_int_equal(cfg.stack.tcp_slow_start_after_idle, 0);
		assert_int_equal(cfg.stack.tcp_notsent_lowat, 0);
		assert_int_equal(cfg.stack.tcp_ecn, 0);
		assert_int_equal(cfg.stack.tcp_dsack, 0);
		assert_int_equal(cfg.stack.tcp_recovery, 0);     /* bit 1 (RACK) off */
		put_file(dir, "net/ipv4/tcp_notsent_lowat", "131072\n");
		host_config_defaults(&cfg);
		expect_good("PSTACK_TCP_ECN", "1", &cfg);
		host_config_kernel(&cfg, dir);
		assert_int_equal(cfg.stack.tcp_ecn, 1);
		assert_int_equal(cfg.stack.tcp_notsent_lowat, 131072);
		{
			static const char *const sw[] = { "tcp_timestamps", "tcp_sack", "tcp_window_scaling",
							  "tcp_slow_start_after_idle", "tcp_notsent_lowat", "tcp_ecn",
							  "tcp_dsack", "tcp_recovery", "tcp_frto" };

			for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
				snprintf(name, sizeof(name), "%s/net/ipv4/%s", dir, sw[i]);
				unlink(name);
			}
		}
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(name, sizeof(name), "%s/%s", dir, files[i][0]);
			unlink(name);
		}
		host_config_defaults(&cfg);
		host_config_kernel(&cfg, dir);
	}
	/* PSTACK_TCP_RMEM's max replaces the sysctl's; rmem_max still counts. */
	expect_good("PSTACK_TCP_RMEM", "4096 131072 6291456", &cfg);
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.rmem_scale, 6291456);
	put_file(dir, "net/core/rmem_max", "16777216\n");
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.rmem_scale, 16777216);
	/* A file that does not parse changes nothing. */
	put_file(dir, "net/ipv4/tcp_rmem", "banana\n");
	put_file(dir, "net/core/rmem_max", "\n");
	host_config_defaults(&cfg);
	host_config_kernel(&cfg, dir);
	assert_int_equal(cfg.stack.rmem_scale, 6291456);
	snprintf(name, sizeof(name), "%s/net/ipv4/tcp_rmem", dir);
	unlink(name);
	snprintf(name, sizeof(name), "%s/net/ipv4/ip_nonlocal_bind", dir);
	unlink(name);
	snprintf(name, sizeof(name), "%s/net/core/rmem_max", dir);
	unlink(name);
	snprintf(name, sizeof(name), "%s/net/ipv4", dir);
	rmdir(name);
	snprintf(name, sizeof(name), "%s/net/core", dir);
	rmdir(name);
	snprintf(name, sizeof(name), "%s/net", dir);
	rmdir(name);
	rmdir(dir);
}

/* PSTACK_TCP_RMEM and PSTACK_TCP_WMEM: "min default max" like the sysctls. */
static void test_tcp_rmem_wmem(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.tcp_rmem[0], 4096);
	assert_int_equal(cfg.stack.tcp_rmem[1], 65536);
	assert_int_equal(cfg.stack.tcp_rmem[2], 6291456);
	assert_int_equal(cfg.stack.tcp_wmem[0], 4096);
	assert_int_equal(cfg.stack.tcp_wmem[1], 16384);
	assert_int_equal(cfg.stack.tcp_wmem[2], 1048576);
	expect_good("PSTACK_TCP_RMEM", "4096 131072 15000000", &cfg);
	assert_int_equal(cfg.stack.tcp_rmem[1], 131072);
	assert_int_equal(cfg.stack.tcp_rmem[2], 15000000);
	/* as sysctl prints it: tabs */
	expect_good("PSTACK_TCP_WMEM", "8192\t16384\t4194304", &cfg);
	assert_int_equal(cfg.stack.tcp_wmem[0], 8192);
	assert_int_equal(cfg.stack.tcp_wmem[1], 16384);
	assert_int_equal(cfg.stack.tcp_wmem[2], 4194304);
	expect_good("PSTACK_TCP_RMEM", " 4096  4096 1073741824 ", &cfg);
	assert_int_equal(cfg.stack.tcp_rmem[2], 1u << 30);
	expect_bad("PSTACK_TCP_RMEM", "4096 131072", "min default max");
	expect_bad("PSTACK_TCP_RMEM", "4096 131072 6291456 7", "like net.ipv4.tcp_rmem");
	expect_bad("PSTACK_TCP_RMEM", "4096 8192 4096", "min <= default <= max");
	expect_bad("PSTACK_TCP_RMEM", "1024 8192 65536", "4096 <= min");
	expect_bad("PSTACK_TCP_RMEM", "4096 8192 1073741825", "<= 1073741824");
	expect_bad("PSTACK_TCP_RMEM", "4096,8192,65536", "e.g. '4096 131072 6291456'");
	expect_bad("PSTACK_TCP_WMEM", "4k 16k 4M", "e.g. '4096 16384 4194304'");
	expect_bad("PSTACK_TCP_WMEM", "4096 -1 4194304", "PSTACK_TCP_WMEM");
}

/* PSTACK_TCP_ECN: Linux's tcp_ecn, 2 (accept when asked) by default. */
static void test_tcp_ecn(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.stack.tcp_ecn, 2);
	expect_good("PSTACK_TCP_ECN", "1", &cfg);
	assert_int_equal(cfg.stack.tcp_ecn, 1);
	expect_good("PSTACK_TCP_ECN", "0", &cfg);
	assert_int_equal(cfg.stack.tcp_ecn, 0);
	expect_bad("PSTACK_TCP_ECN", "3", "expected 0 (no ECN)");
	expect_bad("PSTACK_TCP_ECN", "on", "PSTACK_TCP_ECN");
}

/* An unprintable or huge value stays one bounded line, and a failed load leaves cfg untouched. */
static void test_offload(void **state)
{
	struct host_config cfg;

	(void)state;
	host_config_defaults(&cfg);
	assert_int_equal(cfg.offload, 1);
	expect_good("PSTACK_OFFLOAD", "0", &cfg);
	assert_int_equal(cfg.offload, 0);
	expect_good("PSTACK_OFFLOAD", "1", &cfg);
	assert_int_equal(cfg.offload, 1);
	expect_bad("PSTACK_OFFLOAD", "yes", "expected 1");
	expect_bad("PSTACK_OFFLOAD", "2", "or 0 (plain frames)");
}

static void test_error_line_is_safe(void **state)
{
	char value[1000], err[400];
	const char *env[] = { "PSTACK_ADDR", value, NULL };
	const char *env2[] = { "PSTACK_MTU", "9000", "PSTACK_LOG", "loud", NULL };
	struct host_config cfg, before;

	(void)state;
	memset(value, 'z', sizeof(value));
	value[3] = '\n';
	value[4] = '\'';
	value[sizeof(value) - 1] = 0;
	assert_int_equal(load(&cfg, err, sizeof(err), env), -EINVAL);
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, "zzz\\x0a\\x27zz"));
	assert_non_null(strstr(err, "...' is not valid"));
	assert_true(strlen(err) < sizeof(err));

	memset(&cfg, 0x5a, sizeof(cfg));
	before = cfg;
	assert_int_equal(load(&cfg, err, sizeof(err), env2), -EINVAL);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	/* A tiny buffer is still NUL-terminated. */
	assert_int_equal(load(&cfg, err, 8, env2), -EINVAL);
	assert_string_equal(err, "PSTACK_");
}

static void test_parsers_direct(void **state)
{
	uint32_t a;
	uint8_t p, m[6];
	struct fault_config f;

	(void)state;
	assert_int_equal(config_parse_ip4("0.0.0.0", &a), 0);
	assert_int_equal(a, 0);
	assert_int_equal(config_parse_ip4("255.255.255.255", &a), 0);
	assert_int_equal(a, 0xffffffffu);
	assert_int_equal(config_parse_ip4("1.2.3.4 ", &a), -EINVAL);
	assert_int_equal(config_parse_ip4("", &a), -EINVAL);
	assert_int_equal(config_parse_ip4("1..3.4", &a), -EINVAL);
	assert_int_equal(config_parse_ip4("1.2.3.4/24", &a), -EINVAL);
	assert_int_equal(config_parse_ip4_prefix("192.0.2.9/1", &a, &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(config_parse_mac("0a:0b:0c:0d:0e:0f", m), 0);
	assert_int_equal(m[5], 0x0f);
	assert_int_equal(config_parse_faults("corrupt=0.5%,seed=7", &f), 0);
	assert_int_equal(f.corrupt_ppm, 5000);
	assert_int_equal(f.seed, 7);
	assert_int_equal(config_parse_faults("", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_everything_set),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_gateway),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_mtu),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_msl),
		cmocka_unit_test(test_tcp_recovery_dsack),
		cmocka_unit_test(test_tcp_mem),
		cmocka_unit_test(test_tcp_rmem_wmem),
		cmocka_unit_test(test_kernel_sysctls),
		cmocka_unit_test(test_tcp_ecn),
		cmocka_unit_test(test_linger),
		cmocka_unit_test(test_stack_name),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_offload),
		cmocka_unit_test(test_error_line_is_safe),
		cmocka_unit_test(test_parsers_direct),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
