/*
 * Stack configuration, parsed from PSTACK_* variables.
 *
 * Names are a contract with users: PSTACK_TAP, PSTACK_ADDR, PSTACK_GATEWAY,
 * PSTACK_MAC, PSTACK_MTU, PSTACK_LOG, PSTACK_LOG_FILE, PSTACK_PCAP, PSTACK_FAULTS,
 * PSTACK_TCP_MSL_MS, PSTACK_TCP_MEM, PSTACK_OFFLOAD, PSTACK_SPIN_US. An empty variable counts as unset.
 */
#ifndef PSTACK_CONFIG_H
#define PSTACK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct fault_config {
	uint32_t loss_ppm;      /* each direction: parts per million */
	uint32_t dup_ppm;
	uint32_t reorder_ppm;
	uint32_t corrupt_ppm;
	uint32_t delay_us;      /* added to every frame, each direction */
	uint64_t seed;
	int enabled;
};

struct stack_config {
	char tap[16];           /* PSTACK_TAP, default "tap0" */
	uint32_t addr;          /* PSTACK_ADDR, default 192.0.2.2 */
	uint8_t prefix_len;     /* from PSTACK_ADDR, default 24 */
	uint32_t gateway;       /* PSTACK_GATEWAY, default 192.0.2.1, or with PSTACK_ADDR the
				 * subnet's first host (second when the first is ours); 0: none */
	uint8_t mac[6];         /* PSTACK_MAC, default 00:00:5e:00:53:01 */
	uint32_t mtu;           /* PSTACK_MTU, 0: the device's */
	int log_level;          /* PSTACK_LOG, default warn */
	char log_file[256];     /* PSTACK_LOG_FILE, "" for stderr */
	char pcap[256];         /* PSTACK_PCAP, "" for none */
	struct fault_config faults; /* PSTACK_FAULTS */
	uint32_t tcp_msl_ms;    /* PSTACK_TCP_MSL_MS, default 30000 (TIME_WAIT is 2*MSL = 60 s) */
	size_t tcp_mem;         /* PSTACK_TCP_MEM, default 256 MiB: all TCP buffers of the stack together */
	uint8_t offload;        /* PSTACK_OFFLOAD, 1 (default): ask the TAP for checksum and TSO offloads */
	uint32_t spin_us;       /* PSTACK_SPIN_US, 0 (default): a thread about to block first polls the
				 * device itself for up to this many microseconds (busy-poll) */
	uint8_t secret[16];     /* key for ISNs, SYN cookies, ephemeral ports; filled by the runner */
};

/* The documented defaults. */
void config_defaults(struct stack_config *cfg);

/*
 * Reads every PSTACK_* variable through get (getenv, or a test's table).
 * 0 on success; on a bad value -EINVAL, with one line in err naming the
 * variable, what it holds and the expected form, e.g.
 * "PSTACK_ADDR='banana' is not valid: expected an IPv4 address with prefix length
 * /1 to /30, e.g. 192.0.2.2/24". The value is shown with control characters escaped.
 */
int config_from_env(struct stack_config *cfg, const char *(*get)(const char *name),
		    char *err, size_t errlen);

/* Individual parsers, also used by the launcher's tests. 0 or -EINVAL. */
int config_parse_ip4(const char *text, uint32_t *addr);
int config_parse_ip4_prefix(const char *text, uint32_t *addr, uint8_t *prefix_len);
int config_parse_mac(const char *text, uint8_t mac[6]);
/* "loss=3%,dup=1%,reorder=10%,corrupt=0.5%,delay=2ms,seed=N", each key optional
 * and at most once; percentages with up to 4 decimals; delay in us, ms or s;
 * seed defaults to 1. enabled is set when any fault is non-zero. */
int config_parse_faults(const char *text, struct fault_config *f);

#endif
