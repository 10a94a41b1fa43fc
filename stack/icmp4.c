/* Placeholder until ICMP lands. */
#include "stack/icmp4.h"

#include "stack/ip4.h"
#include "stack/stack.h"

int icmp4_init(struct stack *s) { (void)s; return 0; }
void icmp4_fini(struct stack *s) { (void)s; }
void icmp4_input(struct stack *s, const struct ip4_hdr *ih, const uint8_t *p, size_t len, uint64_t now)
{
	(void)ih; (void)p; (void)len; (void)now;
	stack_drop(s, DROP_ICMP_UNHANDLED);
}
void icmp4_send_unreach(struct stack *s, const struct ip4_hdr *orig, uint8_t code, uint64_t now)
{
	(void)s; (void)orig; (void)code; (void)now;
}
