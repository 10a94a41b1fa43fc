/* The protocol's documented defaults (stack/host/config.c reads the PSTACK_* variables). */
#include "stack/core/config.h"

#include <string.h>

#include "stack/wire/wire.h"

void config_defaults(struct stack_config *cfg)
{
	static const uint8_t mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->addr = IP4(192, 0, 2, 2);
	cfg->prefix_len = 24;
	cfg->gateway = IP4(192, 0, 2, 1);
	memcpy(cfg->mac, mac, 6);
	cfg->tcp_msl_ms = 30000;
	cfg->tcp_mem = 256u << 20;
	cfg->tcp_recovery = 1;
	cfg->tcp_dsack = 1;
	cfg->tcp_challenge_ack_limit = INT32_MAX;
	cfg->tcp_rmem[0] = 4096;
	cfg->tcp_rmem[1] = 64u << 10;
	cfg->tcp_rmem[2] = 6u << 20;
	cfg->tcp_wmem[0] = 4096;
	cfg->tcp_wmem[1] = 16u << 10;
	/* Deviation: Linux's max is 4 MiB (counted with each buffer's
	 * overhead, ours is payload). Every byte sent is copied into the ring
	 * and out of it; a ring larger than the CPU's cache doubled the CPU
	 * per GB sent here (iperf3 -R: 0.33 s/GB with 1 MiB, 0.63 to 0.81 with
	 * 2 MiB, 0.57 to 0.69 with 4 MiB). 1 MiB is about 30 Gbit/s at 280 us
	 * of round trip; PSTACK_TCP_WMEM raises it for longer paths. */
	cfg->tcp_wmem[2] = 1u << 20;
	cfg->tcp_ecn = 2;
	cfg->tcp_syn_retries = 6;
	cfg->tcp_syn_linear_timeouts = 4;
	cfg->tcp_rto_max_ms = 120000;
	cfg->tcp_invalid_ratelimit_ms = 500;
	cfg->tcp_frto = 2;
	cfg->tcp_timestamps = 1;
	cfg->tcp_sack = 1;
	cfg->tcp_window_scaling = 1;
	cfg->tcp_slow_start_after_idle = 1;
	cfg->txrehash = 1;
	cfg->tcp_synack_retries = 5;
	cfg->tcp_retries2 = 15;
	cfg->tcp_orphan_retries = 0;
	cfg->tcp_fin_timeout_s = 60;
	cfg->tcp_keepalive_time_s = 7200;
	cfg->tcp_keepalive_intvl_s = 75;
	cfg->tcp_keepalive_probes = 9;
	cfg->tcp_tw_reuse = 2;
	cfg->tcp_tw_reuse_delay_ms = 1000;
	cfg->ip_local_port_lo = 32768;
	cfg->ip_local_port_hi = 60999;
	cfg->tcp_fastopen = TFO_CLIENT_ENABLE;
}
