/* Placeholder until ARP lands. */
#include "stack/arp.h"

#include <errno.h>

#include "stack/stack.h"

int arp_init(struct stack *s) { (void)s; return 0; }
void arp_fini(struct stack *s) { (void)s; }
void arp_input(struct stack *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	(void)pkt; (void)len; (void)now;
	stack_drop(s, DROP_ARP_UNSUPPORTED);
}
int arp_output(struct stack *s, struct pkb *pkb, uint32_t next_hop, uint64_t now)
{
	(void)s; (void)next_hop; (void)now;
	pkb_free(pkb);
	return -EHOSTUNREACH;
}
void arp_announce(struct stack *s, uint64_t now) { (void)s; (void)now; }
void arp_poll(struct stack *s, uint64_t now) { (void)s; (void)now; }
uint64_t arp_poll_at(const struct stack *s) { (void)s; return STACK_NEVER; }
int arp_lookup(const struct stack *s, uint32_t ip, uint8_t mac[6]) { (void)s; (void)ip; (void)mac; return -ENOENT; }
void arp_insert(struct stack *s, uint32_t ip, const uint8_t mac[6], uint64_t now)
{
	(void)s; (void)ip; (void)mac; (void)now;
}
