/* Placeholder until configuration parsing lands: defaults only. */
#include "stack/config.h"

#include <errno.h>
#include <string.h>

#include "stack/log.h"
#include "stack/wire.h"

void config_defaults(struct stack_config *cfg)
{
	static const uint8_t mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->tap, "tap0");
	cfg->addr = IP4(192, 0, 2, 2);
	cfg->prefix_len = 24;
	cfg->gateway = IP4(192, 0, 2, 1);
	memcpy(cfg->mac, mac, 6);
	cfg->log_level = LOG_WARN;
	cfg->tcp_msl_ms = 30000;
}

int config_from_env(struct stack_config *cfg, const char *(*get)(const char *name), char *err, size_t errlen)
{
	(void)get; (void)err; (void)errlen;
	config_defaults(cfg);
	return 0;
}
int config_parse_ip4(const char *t, uint32_t *a) { (void)t; (void)a; return -EINVAL; }
int config_parse_ip4_prefix(const char *t, uint32_t *a, uint8_t *p) { (void)t; (void)a; (void)p; return -EINVAL; }
int config_parse_mac(const char *t, uint8_t m[6]) { (void)t; (void)m; return -EINVAL; }
int config_parse_faults(const char *t, struct fault_config *f) { (void)t; (void)f; return -EINVAL; }
