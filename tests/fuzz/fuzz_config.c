/*
 * libFuzzer target: the settings a stack starts from, as untrusted text.
 *
 * Every input is split at newlines into fields. The first ones are the
 * values of the PSTACK_* variables, in the order of env_names below (an
 * empty field leaves that variable unset); the fields after them are the
 * contents of the namespace's sysctl files the host reads at start
 * (sysctl_names), written under a private directory that stands for
 * /proc/sys (host_config_kernel's root). Both parsers must take any bytes:
 *   - host_config_from_env answers 0, or -EINVAL with one line that names
 *     the variable and holds no control character (README: "bad
 *     configuration gets one clear line naming the variable");
 *   - what it accepts is in the documented ranges (checked below);
 *   - host_config_kernel takes any file contents without harm.
 * Then a stack is built from the result and used a little, so that values
 * the parsers let through reach the protocol under the sanitizers: a TCP
 * connect (the SYN's window, scale and MSS come from the buffers and the
 * MTU), a send, a UDP datagram, the timers for a while, and the teardown
 * (no packet buffer may be left).
 *
 *   build/fuzz/fuzz_config -max_total_time=60 build/fuzz/corpus-fuzz_config tests/fuzz/corpus-fuzz_config
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/core/arp.h"
#include "stack/core/config.h"
#include "stack/core/log.h"
#include "stack/core/pkb.h"
#include "tests/fuzz/fuzz_common.h"
#include "stack/core/sock.h"
#include "stack/core/stack.h"
#include "stack/core/tcp/tcp.h"
#include "stack/core/udp.h"
#include "stack/host/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const env_names[] = {
	"PSTACK_ADDR", "PSTACK_GATEWAY", "PSTACK_MAC", "PSTACK_MTU", "PSTACK_TCP_RMEM", "PSTACK_TCP_WMEM",
	"PSTACK_TCP_MEM", "PSTACK_TCP_MSL_MS", "PSTACK_TCP_ECN", "PSTACK_TCP_DSACK", "PSTACK_TCP_RECOVERY",
	"PSTACK_FAULTS", "PSTACK_TAP", "PSTACK_LOG", "PSTACK_OFFLOAD", "PSTACK_SPIN_US", "PSTACK_QUEUES",
	"PSTACK_LINGER_MS", "PSTACK_STACK", "PSTACK_LOG_FILE", "PSTACK_PCAP",
};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

static const char *const sysctl_names[] = {
	"net/ipv4/tcp_rmem", "net/core/rmem_max", "net/ipv4/ip_nonlocal_bind", "net/core/txrehash",
	"net/ipv4/tcp_fastopen", "net/ipv4/tcp_fastopen_key", "net/ipv4/tcp_tw_reuse",
	"net/ipv4/tcp_tw_reuse_delay", "net/ipv4/tcp_syn_retries", "net/ipv4/tcp_syn_linear_timeouts",
	"net/ipv4/tcp_synack_retries", "net/ipv4/tcp_rto_max_ms", "net/ipv4/tcp_invalid_ratelimit",
	"net/ipv4/tcp_retries2", "net/ipv4/tcp_orphan_retries", "net/ipv4/tcp_fin_timeout",
	"net/ipv4/tcp_keepalive_time", "net/ipv4/tcp_keepalive_intvl", "net/ipv4/tcp_keepalive_probes",
	"net/ipv4/tcp_timestamps", "net/ipv4/tcp_sack", "net/ipv4/tcp_window_scaling",
	"net/ipv4/tcp_slow_start_after_idle", "net/ipv4/tcp_ecn", "net/ipv4/tcp_dsack", "net/ipv4/tcp_recovery",
	"net/ipv4/tcp_frto", "net/ipv4/tcp_notsent_lowat", "net/ipv4/ip_local_port_range",
};
#define N_SYSCTL (sizeof(sysctl_names) / sizeof(sysctl_names[0]))

#define FIELD_MAX 512

static char env_vals[N_ENV][FIELD_MAX];
static bool env_set[N_ENV];
static char root[256];

static const char *fuzz_getenv(const char *name)
{
	for (size_t i = 0; i < N_ENV; i++) {
		if (!strcmp(name, env_names[i]))
			return env_set[i] ? env_vals[i] : NULL;
	}
	return NULL;
}

static void mkdirs(const char *base)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/net", base);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/net/ipv4", base);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/net/core", base);
	mkdir(p, 0700);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "/tmp/pstack-fuzz-config.%ld", (long)getpid());
	mkdir(root, 0700);
	mkdirs(root);
	log_level = LOG_NONE;
	return 0;
}

/* The next field of the input: [*pos, the next newline or the end). */
static size_t next_field(const uint8_t *data, size_t size, size_t *pos, const uint8_t **start)
{
	size_t b = *pos, e = b;

	while (e < size && data[e] != '\n')
		e++;
	*start = data + b;
	*pos = e < size ? e + 1 : e;
	return e - b;
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (!(f = fopen(path, "w")))
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static void check_err(const char *err)
{
	size_t n = strlen(err);

	/* One line naming the variable, control characters escaped. */
	if (n == 0 || strncmp(err, "PSTACK_", 7) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)err[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
}

static void check_accepted(const struct host_config *cfg)
{
	const struct stack_config *s = &cfg->stack;

	if (s->prefix_len < 1 || s->prefix_len > 30)
		abort();
	if (s->mtu && (s->mtu < 68 || s->mtu > 65535))
		abort();
	if (cfg->queues > HOST_QUEUES_MAX)
		abort();
	if (memchr(cfg->tap, 0, sizeof(cfg->tap)) == NULL || memchr(cfg->stack_name, 0, sizeof(cfg->stack_name)) == NULL ||
	    memchr(cfg->log_file, 0, sizeof(cfg->log_file)) == NULL || memchr(cfg->pcap, 0, sizeof(cfg->pcap)) == NULL)
		abort();
	if (s->tcp_rmem[0] > s->tcp_rmem[1] || s->tcp_rmem[1] > s->tcp_rmem[2] ||
	    s->tcp_wmem[0] > s->tcp_wmem[1] || s->tcp_wmem[1] > s->tcp_wmem[2])
		abort();
}

/* A stack from the accepted settings, used a little. */
static void exercise(struct host_config *cfg)
{
	static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0x02, 0x01 };
	static const char text[3000] = "x";
	struct stack_link link;
	struct stack *s;
	struct tcp_conn *c;
	struct udp_sock *u;
	uint64_t now = 1000000;
	uint32_t peer = (cfg->stack.addr & ~1u) ^ 1u;   /* a neighbour on the subnet, not the stack */
	struct ip4_endpoint pe = { peer, 80 };

	memset(cfg->stack.secret, 0x5a, sizeof(cfg->stack.secret));
	/* The budget as PSTACK_TCP_MEM says, but not gigabytes for one input. */
	if (cfg->stack.tcp_mem > (64u << 20))
		cfg->stack.tcp_mem = 64u << 20;
	memset(&link, 0, sizeof(link));
	strcpy(link.name, "fuzz0");
	link.mtu = cfg->stack.mtu ? cfg->stack.mtu : 1500;
	link.output = fuzz_output_drop;
	s = stack_create(&cfg->stack, &link, now);
	if (!s)
		return;
	if (peer != cfg->stack.addr)
		arp_insert(s, peer, peer_mac, now);
	c = tcp_open(s);
	if (c && tcp_connect(c, &pe, now) < 0) {
		tcp_close(c, now);
		c = NULL;
	}
	u = udp_open(s);
	if (u)
		udp_sendto(u, text, sizeof(text), &pe, now);
	for (int i = 0; i < 32; i++) {
		uint64_t at = stack_poll_at(s);

		if (at == STACK_NEVER)
			break;
		now = at > now ? at : now + 1;
		stack_poll(s, now);
		if (i == 4 && c) {
			tcp_close(c, now);
			c = NULL;
		}
	}
	if (c)
		tcp_close(c, now);
	if (u)
		udp_close(u);
	stack_destroy(s);
	if (pkb_live() != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_config cfg;
	char err[512];
	size_t pos = 0;
	int rc;

	for (size_t i = 0; i < N_ENV; i++) {
		const uint8_t *p;
		size_t n = pos < size ? next_field(data, size, &pos, &p) : 0;

		if (n >= FIELD_MAX)
			n = FIELD_MAX - 1;
		env_set[i] = n > 0;
		if (n)
			memcpy(env_vals[i], p, n);
		env_vals[i][n] = 0;
	}
	host_config_defaults(&cfg);
	err[0] = 0;
	rc = host_config_from_env(&cfg, fuzz_getenv, err, sizeof(err));
	if (rc != 0) {
		if (rc != -EINVAL)
			abort();
		check_err(err);
		return 0;
	}
	check_accepted(&cfg);
	for (size_t i = 0; i < N_SYSCTL; i++) {
		const uint8_t *p = NULL;
		size_t n = pos < size ? next_field(data, size, &pos, &p) : 0;

		write_file(sysctl_names[i], p, n);
	}
	host_config_kernel(&cfg, root);
	exercise(&cfg);
	return 0;
}
