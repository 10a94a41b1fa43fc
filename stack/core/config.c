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
	cfg->tcp_rmem[0] = 4096;
	cfg->tcp_rmem[1] = 64u << 10;
	cfg->tcp_rmem[2] = 6u << 20;
	cfg->tcp_wmem[0] = 4096;
	cfg->tcp_wmem[1] = 1u << 20;
	cfg->tcp_wmem[2] = 4u << 20;
	cfg->tcp_ecn = 2;
}
