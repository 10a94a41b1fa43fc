/* Placeholder until IPv4 lands. */
#include "stack/ip4.h"

#include <errno.h>

#include "stack/stack.h"

int ip4_init(struct stack *s) { (void)s; return 0; }
void ip4_fini(struct stack *s) { (void)s; }
void ip4_input(struct stack *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	(void)pkt; (void)len; (void)now;
	stack_drop(s, DROP_IP_UNKNOWN_PROTO);
}
int ip4_output(struct stack *s, struct pkb *pkb, const struct ip4_tx *tx, uint64_t now)
{
	(void)s; (void)tx; (void)now;
	pkb_free(pkb);
	return -ENETUNREACH;
}
void ip4_poll(struct stack *s, uint64_t now) { (void)s; (void)now; }
uint64_t ip4_poll_at(const struct stack *s) { (void)s; return STACK_NEVER; }
int ip4_parse(const uint8_t *pkt, size_t len, struct ip4_hdr *h) { (void)pkt; (void)len; (void)h; return DROP_IP_TRUNCATED; }
