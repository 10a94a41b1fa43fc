/* Placeholder until the fault-injecting link lands. */
#include "stack/fault.h"

#include <errno.h>

int fault_init(struct stack *s) { (void)s; return -ENOSYS; }
void fault_fini(struct stack *s) { (void)s; }
void fault_input(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	stack_deliver(s, frame, len, now);
}
int fault_output(struct stack *s, const uint8_t *frame, size_t len, uint64_t now)
{
	(void)now;
	return s->dev->ops->transmit(s->dev, frame, len);
}
void fault_poll(struct stack *s, uint64_t now) { (void)s; (void)now; }
uint64_t fault_poll_at(const struct stack *s) { (void)s; return STACK_NEVER; }
