/*
 * The host's settings and the protocol's configuration, parsed from the
 * PSTACK_* variables.
 *
 * Names are a contract with users: PSTACK_TAP, PSTACK_ADDR, PSTACK_GATEWAY,
 * PSTACK_MAC, PSTACK_MTU, PSTACK_LOG, PSTACK_LOG_FILE, PSTACK_PCAP, PSTACK_FAULTS,
 * PSTACK_TCP_MSL_MS, PSTACK_TCP_MEM, PSTACK_TCP_RMEM, PSTACK_TCP_WMEM, PSTACK_TCP_ECN,
 * PSTACK_OFFLOAD, PSTACK_SPIN_US, PSTACK_LINGER_MS, PSTACK_STACK, PSTACK_QUEUES.
 * An empty variable counts as unset.
 */
#ifndef PSTACK_HOST_CONFIG_H
#define PSTACK_HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "stack/core/config.h"
#include "stack/dev/fault.h"

/* PSTACK_STACK: letters, digits, '-', '_' and '.', at most this many. */
#define HOST_STACK_NAME_MAX 32

/* The host's settings, with the protocol's configuration inside. */
struct host_config {
	struct stack_config stack;  /* the protocol's part (PSTACK_ADDR, _GATEWAY, _MAC, _MTU, _TCP_*) */
	char tap[16];           /* PSTACK_TAP, default "tap0" */
	uint8_t offload;        /* PSTACK_OFFLOAD, 1 (default): ask the TAP for checksum and TSO offloads */
	int log_level;          /* PSTACK_LOG, default warn */
	char log_file[256];     /* PSTACK_LOG_FILE, "" for stderr */
	char pcap[256];         /* PSTACK_PCAP, "" for none */
	struct fault_config faults; /* PSTACK_FAULTS */
	uint32_t spin_us;       /* PSTACK_SPIN_US, 0 (default): a thread about to block first polls the
				 * device itself for up to this many microseconds (busy-poll) */
	uint64_t linger_us;     /* PSTACK_LINGER_MS, default 10 s: how long the exit waits for
				 * connections to finish closing (a value that is not a number of
				 * milliseconds up to an hour counts as unset) */
	char stack_name[HOST_STACK_NAME_MAX + 1];   /* PSTACK_STACK, "" (default): a stack of
				 * this process's own; else the name processes share it by */
	uint8_t queues;         /* PSTACK_QUEUES, 1 to HOST_QUEUES_MAX TAP queues; 0 (default): one
				 * per online CPU, at most HOST_QUEUES_DEFAULT_MAX, decided at start */
	bool rmem_set;          /* PSTACK_TCP_RMEM was given */
	bool ecn_set, dsack_set, recovery_set;  /* PSTACK_TCP_ECN, _DSACK, _RECOVERY were given */
	/* Where runner_start reads the namespace's sysctls (host_config_kernel),
	 * while a handover's answer is on its way when there is one; NULL: not
	 * at start (read already, or not wanted). */
	const char *kernel_root;
};

/*
 * What the kernel of this network namespace would take from its sysctls,
 * read under root (normally "/proc/sys"): the window scale covers the
 * larger of net.ipv4.tcp_rmem's max (unless PSTACK_TCP_RMEM gave one) and
 * net.core.rmem_max, as Linux's tcp_select_initial_window; so pstack's SYN
 * offers the scale a kernel socket beside it would; and
 * net.ipv4.ip_nonlocal_bind (binds to addresses not the stack's). A file
 * that cannot be read or parsed changes nothing.
 */
void host_config_kernel(struct host_config *cfg, const char *root);

/* PSTACK_QUEUES: the most one may ask for, and the most the default takes. */
#define HOST_QUEUES_MAX 16
#define HOST_QUEUES_DEFAULT_MAX 4

/* The documented defaults. */
void host_config_defaults(struct host_config *cfg);

/* PSTACK_TCP_MEM: its range, and its default on a machine with ram bytes of
 * memory (Linux's tcp_mem[2] there, 3/32 of it, within the range). */
#define CONFIG_TCP_MEM_MIN (1ull << 20)
#define CONFIG_TCP_MEM_MAX (64ull << 30)
size_t config_tcp_mem_for(uint64_t ram);

/*
 * Reads every PSTACK_* variable through get (getenv, or a test's table).
 * 0 on success; on a bad value -EINVAL, with one line in err naming the
 * variable, what it holds and the expected form, e.g.
 * "PSTACK_ADDR='banana' is not valid: expected an IPv4 address with prefix length
 * /1 to /30, e.g. 192.0.2.2/24". The value is shown with control characters escaped.
 */
int host_config_from_env(struct host_config *cfg, const char *(*get)(const char *name),
			 char *err, size_t errlen);

/* Individual parsers, also used by the launcher's tests. 0 or -EINVAL. */
int config_parse_ip4(const char *text, uint32_t *addr);
int config_parse_ip4_prefix(const char *text, uint32_t *addr, uint8_t *prefix_len);
int config_parse_mac(const char *text, uint8_t mac[6]);
/*
 * PSTACK_STACK's value (NULL or "" for unset: 0 with out ""): 0, or -EINVAL
 * with the one line in err. out has room for HOST_STACK_NAME_MAX + 1.
 */
int config_parse_stack_name(const char *value, char *out, char *err, size_t errlen);
/* "loss=3%,dup=1%,reorder=10%,corrupt=0.5%,delay=2ms,seed=N", each key optional
 * and at most once; percentages with up to 4 decimals; delay in us, ms or s;
 * seed defaults to 1. enabled is set when any fault is non-zero. */
int config_parse_faults(const char *text, struct fault_config *f);

#endif
